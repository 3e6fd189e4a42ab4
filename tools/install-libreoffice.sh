#!/usr/bin/env bash
# Install LibreOffice Calc (headless) and poppler-utils for the workbook
# recalculation test (tests/report/test_libreoffice.py) and the Summary
# screenshot (docs/summary.png). Debian/Ubuntu only; needs root (or sudo).
#
# Idempotent: exits at once when `soffice` and `pdftoppm` are already on PATH.
# CI runs it before `make test`; locally run it once: `sudo tools/install-libreoffice.sh`.
set -euo pipefail

if command -v soffice >/dev/null 2>&1 && command -v pdftoppm >/dev/null 2>&1; then
    echo "install-libreoffice: soffice and pdftoppm already installed"
    exit 0
fi

SUDO=""
if [ "$(id -u)" != "0" ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
        echo "install-libreoffice: run as root (apt-get needs it)" >&2; exit 1
    fi
fi

export DEBIAN_FRONTEND=noninteractive
start=$(date +%s)
$SUDO apt-get update -qq
# libreoffice-calc-nogui: Calc without the GUI toolkits (the smallest package that
# converts and recalculates xlsx headless); poppler-utils: pdftoppm for PNGs.
$SUDO apt-get install -y -qq --no-install-recommends libreoffice-calc-nogui poppler-utils >/dev/null
echo "install-libreoffice: installed in $(( $(date +%s) - start ))s: $(command -v soffice)"
