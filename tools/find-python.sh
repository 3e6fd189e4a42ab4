#!/usr/bin/env bash
# Print the path of a Python 3.10-3.14 on this machine (the versions reconcile
# supports) for the Makefile's virtualenv; exit 1 saying what was tried if none.
#
# A Python 3.10-3.12 is preferred: durable-rules, the default rules engine, imports
# only up to 3.12 (from 3.13 the pure-Python backend of the same rules runs). Among
# each range: python3 (the machine's own) first, then python3.11, 3.12, 3.10, 3.13,
# 3.14 on PATH, then pyenv's versions.
set -uo pipefail

candidates=()
for name in python3 python3.11 python3.12 python3.10 python3.13 python3.14; do
    path=$(command -v "$name" 2>/dev/null) && candidates+=("$path")
done
for path in "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.1[0-4]*/bin/python3; do
    [ -x "$path" ] && candidates+=("$path")
done

for range in "10 12" "13 14"; do
    read -r low high <<< "$range"
    for path in ${candidates[@]+"${candidates[@]}"}; do
        if "$path" -c "import sys, venv; sys.exit(not ($low <= sys.version_info[1] <= $high
                        and sys.version_info[0] == 3))" >/dev/null 2>&1; then
            echo "$path"
            exit 0
        fi
    done
done
echo "find-python: no Python 3.10-3.14 with venv found (tried: python3, python3.10-3.14" \
     "and pyenv's versions). Install one (Debian: apt-get install python3 python3-venv)" \
     "or name it: make PYTHON=/path/to/python3" >&2
exit 1
