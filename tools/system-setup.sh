#!/usr/bin/env bash
# Install the Debian packages of every program in tools/system-packages.txt that is
# missing from PATH (`make system`; `make test` runs it first).
#
# Nothing missing: exits 0 at once, touching nothing. Something missing: installs it
# with apt-get when it can (running as root, or with passwordless sudo); otherwise
# exits 1 printing the exact command to run (through sudo, or su where there is no sudo). Not Debian/Ubuntu (no apt-get): exits 1
# naming the programs and their Debian package names.
#
#   tools/system-setup.sh            install what is missing
#   tools/system-setup.sh --check    only say what is missing (exit 1 if anything)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
list=${SYSTEM_PACKAGES:-$here/system-packages.txt}
check_only=false
[ "${1:-}" = "--check" ] && check_only=true

missing_programs=()
packages=()
while read -r line; do
    line=${line%%#*}                      # drop comments
    read -r -a words <<< "$line" || true
    [ "${#words[@]}" -ge 2 ] || continue
    if ! command -v "${words[0]}" >/dev/null 2>&1; then
        missing_programs+=("${words[0]}")
        packages+=("${words[@]:1}")
    fi
done < "$list"

if [ "${#missing_programs[@]}" -eq 0 ]; then
    exit 0
fi

install=(apt-get install -y -qq --no-install-recommends "${packages[@]}")
echo "system-setup: missing ${missing_programs[*]}; Debian packages: ${packages[*]}" >&2
if ! command -v apt-get >/dev/null 2>&1; then
    echo "system-setup: no apt-get here: install ${missing_programs[*]} with your system's" \
         "package manager (Debian's packages: ${packages[*]}), then run make again" >&2
    exit 1
fi
if [ "$(id -u)" = "0" ]; then
    sudo=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo=(sudo -n)
else
    echo "system-setup: installing needs root. Run this once, then make again:" >&2
    if command -v sudo >/dev/null 2>&1; then
        echo "    sudo apt-get update && sudo ${install[*]}" >&2
    else  # no sudo on the machine (a bare Debian): root's password, through su
        echo "    su -c 'apt-get update && ${install[*]}'" >&2
    fi
    exit 1
fi
if $check_only; then
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
start=$(date +%s)
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" "${install[@]}" >/dev/null
for program in "${missing_programs[@]}"; do
    command -v "$program" >/dev/null 2>&1 || {
        echo "system-setup: $program is still missing after installing ${packages[*]}" >&2
        exit 1
    }
done
echo "system-setup: installed ${packages[*]} in $(( $(date +%s) - start ))s" >&2
