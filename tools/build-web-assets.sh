#!/usr/bin/env bash
# Rebuild the page's vendored front-end files in reconcile/serve/static/ from the npm
# registry: GOV.UK Frontend (the Design System's CSS and JavaScript) and Dart Sass to
# compile reconcile/serve/scss/app.scss with it. The results are committed, so that
# `pip install` and a fresh machine need no npm and the page never loads anything
# from another site; run this only to change app.scss or move to a newer GOV.UK
# Frontend (keep it matched to govuk-frontend-jinja's macros: see setup.cfg).
#
#   tools/build-web-assets.sh            needs node and npm
#
# Writes: static/app.css (its first line records the SHA-256 of app.scss and the
# versions used: tests/serve/test_assets.py fails when app.scss changed and the CSS
# was not rebuilt), static/govuk-frontend.min.js, static/LICENSE-govuk-frontend.txt.
set -euo pipefail

GOVUK_FRONTEND=6.3.0   # what govuk-frontend-jinja 4.1 ports (its README's table)
SASS=1.108.2

here=$(cd "$(dirname "$0")/.." && pwd)
src=$here/reconcile/serve/scss/app.scss
out=$here/reconcile/serve/static
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cd "$work"
npm init -y >/dev/null
npm install --no-audit --no-fund --silent "govuk-frontend@$GOVUK_FRONTEND" "sass@$SASS"
node node_modules/sass/sass.js --no-source-map --no-charset --style=compressed --quiet-deps \
    --load-path=node_modules "$src" app.css
digest=$(sha256sum "$src" | cut -d' ' -f1)
{
    echo "/*! reconcile app.css: built by tools/build-web-assets.sh from app.scss sha256=$digest" \
         "with govuk-frontend $GOVUK_FRONTEND (MIT, see LICENSE-govuk-frontend.txt) and sass $SASS */"
    cat app.css
} > "$out/app.css"
cp node_modules/govuk-frontend/dist/govuk/govuk-frontend.min.js "$out/govuk-frontend.min.js"
# the map file is not shipped: drop the comment that points to it
sed -i 's|//# sourceMappingURL=.*$||' "$out/govuk-frontend.min.js"
{
    echo "GOV.UK Frontend $GOVUK_FRONTEND (npm package govuk-frontend), files app.css (compiled"
    echo "with reconcile's own styles) and govuk-frontend.min.js. Its README says:"
    echo
    sed -n '/^## Licence/,/^## /p' node_modules/govuk-frontend/README.md | sed '$d'
    echo "The MIT License (MIT)"
    echo
    echo "Copyright (c) 2018 Crown Copyright (Government Digital Service)"
    echo
    cat <<'MIT'
Permission is hereby granted, free of charge, to any person obtaining a copy of
this software and associated documentation files (the "Software"), to deal in
the Software without restriction, including without limitation the rights to
use, copy, modify, merge, publish, distribute, sublicense, and/or sell copies of
the Software, and to permit persons to whom the Software is furnished to do so,
subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS
FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR
COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER
IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN
CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.
MIT
} > "$out/LICENSE-govuk-frontend.txt"
echo "build-web-assets: wrote $out/app.css ($(wc -c < "$out/app.css") bytes)," \
     "govuk-frontend.min.js, LICENSE-govuk-frontend.txt"
