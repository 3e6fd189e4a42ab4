"""The page's vendored front-end files: built from the committed source, licensed, local."""

from __future__ import annotations

import hashlib
import re
from importlib.metadata import version
from pathlib import Path

SERVE = Path(__file__).resolve().parents[2] / "reconcile" / "serve"
STATIC = SERVE / "static"


def test_the_css_was_built_from_the_committed_scss():
    first = (STATIC / "app.css").read_text(encoding="utf-8").splitlines()[0]
    digest = hashlib.sha256((SERVE / "scss" / "app.scss").read_bytes()).hexdigest()
    assert f"sha256={digest}" in first, "app.scss changed: run tools/build-web-assets.sh"


def test_govuk_frontend_matches_the_jinja_macros():
    """govuk-frontend-jinja 4.x ports GOV.UK Frontend 6.x: the CSS and JS must be 6.x."""
    css = (STATIC / "app.css").read_text(encoding="utf-8")
    built = re.search(r"govuk-frontend (\d+)\.(\d+)\.(\d+)", css.splitlines()[0])
    assert built and built.group(1) == "6"
    assert version("govuk-frontend-jinja").split(".")[0] == "4"
    assert f'--govuk-frontend-version:"{".".join(built.groups())}"' in css.replace(" ", "")
    script = (STATIC / "govuk-frontend.min.js").read_text(encoding="utf-8")
    assert f'"{".".join(built.groups())}"' in script
    assert "sourceMappingURL" not in script  # no map file is shipped


def test_the_licence_travels_with_the_files():
    text = (STATIC / "LICENSE-govuk-frontend.txt").read_text(encoding="utf-8")
    assert "MIT License" in text and "Crown Copyright" in text


def test_every_asset_a_template_names_exists():
    named = set()
    for template in (SERVE / "templates").glob("*.html"):
        named |= set(re.findall(r'"/assets/([^"]+)"', template.read_text(encoding="utf-8")))
    named |= set(re.findall(r'"/assets/([^"]+)"', (STATIC / "app.js").read_text()))
    assert named and all((STATIC / name).is_file() for name in named), named
