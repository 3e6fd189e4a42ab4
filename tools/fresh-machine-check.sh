#!/usr/bin/env bash
# The README's promise on a bare machine: a fresh clone of this repository, on a bare
# Debian with only the README's prerequisites, runs `make demo` then `make test`.
# docs/fresh-machine.md says what it checks, how long it takes and what it found.
#
# Builds a bare Debian (debootstrap --variant=minbase, the release of this machine
# unless --release) in a chroot, installs only the README's prerequisites
# (Python 3 with venv, pip, gcc, make, git), clones this repository's HEAD into it and:
#
#   1. as an unprivileged user without sudo: `make test` must stop at once (before the
#      virtualenv is built), printing the exact command that installs the programs the
#      tests start;
#   2. as root: `make demo`, then `make test` (which installs those programs itself).
#
# Each step's time is printed, and the lines also go to WORKDIR/timings.txt.
# Needs root (debootstrap, chroot, mount), debootstrap, and the network (Debian's
# mirror and PyPI). Takes 15-30 minutes; not run by `make test`.
#
#   sudo tools/fresh-machine-check.sh [--release bookworm] [--mirror URL]
#                                      [--workdir DIR] [--keep]
#
# --keep leaves the chroot (WORKDIR/root) for a look inside: chroot WORKDIR/root bash.
# The host's own CA certificates in /usr/local/share/ca-certificates (a proxy's, where
# HTTPS is intercepted) are copied in, so HTTPS works in the chroot as it does here.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
release=$( . /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-}")
mirror=http://deb.debian.org/debian
workdir=/var/tmp/reconcile-fresh-machine
keep=false
while [ $# -gt 0 ]; do
    case $1 in
        --release) release=$2; shift 2 ;;
        --mirror) mirror=$2; shift 2 ;;
        --workdir) workdir=$2; shift 2 ;;
        --keep) keep=true; shift ;;
        -h|--help) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "fresh-machine-check: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done
[ -n "$release" ] || { echo "fresh-machine-check: name the Debian release: --release bookworm" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "fresh-machine-check: needs root (debootstrap, chroot): sudo $0 $*" >&2; exit 2; }
command -v debootstrap >/dev/null || {
    echo "fresh-machine-check: needs debootstrap: apt-get install debootstrap" >&2; exit 2; }

# The README's prerequisites, its Debian line word for word: Python 3 with venv and pip,
# gcc and Python's headers (durable-rules compiles from source), make, and git to clone.
# Installed the way a user types it (apt-get install, recommended packages too).
PREREQUISITES=(python3 python3-venv python3-pip python3-dev gcc make git)

root=$workdir/root
timings=$workdir/timings.txt
mounted=()
cleanup() {
    local i
    for (( i=${#mounted[@]}-1; i>=0; i-- )); do
        umount -R "${mounted[$i]}" 2>/dev/null || umount -lR "${mounted[$i]}" 2>/dev/null || true
    done
    if ! $keep && [ -d "$root" ]; then
        rm -rf --one-file-system "$root"
    fi
}
trap cleanup EXIT

step() {  # step NAME LOG COMMAND...: runs it (its output into LOG), records its seconds
    local name=$1 log=$2 start end status=0
    shift 2
    echo "=== $name (log: $log)" >&2
    start=$(date +%s)
    "$@" >"$log" 2>&1 || status=$?
    end=$(date +%s)
    printf '%-58s %5ds  exit %d\n' "$name" $(( end - start )) "$status" | tee -a "$timings" >&2
    return "$status"
}

in_root() {  # a clean environment: nothing of this shell's (PIP_*, proxies' CAs) leaks in
    chroot "$root" /usr/bin/env -i HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        LANG=C.UTF-8 TERM=dumb DEBIAN_FRONTEND=noninteractive "$@"
}
as_user() {
    chroot --userspec=learner:learner "$root" /usr/bin/env -i HOME=/home/learner \
        PATH=/usr/local/bin:/usr/bin:/bin LANG=C.UTF-8 TERM=dumb "$@"
}

mkdir -p "$workdir"
[ -e "$root" ] && rm -rf --one-file-system "$root"
: > "$timings"
echo "fresh-machine-check: $(git -C "$repo" log -1 --format='%h %s' | cut -c1-80)" | tee -a "$timings" >&2
echo "debian $release, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u '+%F %H:%M') UTC" \
    | tee -a "$timings" >&2

step "debootstrap --variant=minbase $release" "$workdir/debootstrap.log" \
    debootstrap --variant=minbase "$release" "$root" "$mirror"

for target in proc sys dev; do
    case $target in
        proc) mount -t proc proc "$root/proc" ;;
        sys) mount --rbind /sys "$root/sys"; mount --make-rslave "$root/sys" ;;
        dev) mount --rbind /dev "$root/dev"; mount --make-rslave "$root/dev" ;;
    esac
    mounted+=("$root/$target")
done
cp -L /etc/resolv.conf "$root/etc/resolv.conf"
if compgen -G '/usr/local/share/ca-certificates/*.crt' >/dev/null; then
    # the host's own CAs (a proxy's): pip checks PyPI's certificate against its own list
    # unless told to use the machine's, which will hold these once ca-certificates is in
    mkdir -p "$root/usr/local/share/ca-certificates"
    cp /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/"
    printf '[global]\ncert = /etc/ssl/certs/ca-certificates.crt\n' > "$root/etc/pip.conf"
    echo "(the host's CAs in /usr/local/share/ca-certificates copied in, pip told to use them)" \
        | tee -a "$timings" >&2
fi

step "apt-get install ${PREREQUISITES[*]}" "$workdir/prerequisites.log" in_root bash -c \
    "apt-get update -qq && apt-get install -y -qq ${PREREQUISITES[*]} ca-certificates >/dev/null \
     && update-ca-certificates >/dev/null 2>&1; python3 --version"

# the clone: this repository's HEAD (committed work only), as `git clone` makes it
git clone -q --no-hardlinks "$repo" "$root/root/reconcile"
in_root useradd --create-home --shell /bin/bash learner
git clone -q --no-hardlinks "$repo" "$root/home/learner/reconcile"
in_root chown -R learner:learner /home/learner/reconcile

# 1. unprivileged, no sudo: make test stops before the suite with the command to run
set +e
step "as a user without sudo: make test (must fail, saying what to run)" \
    "$workdir/user-make-test.log" as_user bash -c 'cd ~/reconcile && make test'
user_status=$?
set -e
tail -n 5 "$workdir/user-make-test.log" >&2
if [ "$user_status" = 0 ]; then
    echo "fresh-machine-check: FAILED: make test passed as a user who cannot install the programs" >&2
    exit 1
fi
# the command (su: a bare Debian has no sudo), and nothing built or run before it
if ! grep -q -F "su -c 'apt-get update && apt-get install" "$workdir/user-make-test.log" \
        || grep -q -E 'creating \.venv|pytest' "$workdir/user-make-test.log"; then
    echo "fresh-machine-check: FAILED: as a user, make test did not stop early with the command" \
         "to run (see $workdir/user-make-test.log)" >&2
    exit 1
fi

# 2. root: the README's two commands
step "as root: make demo" "$workdir/make-demo.log" \
    in_root bash -c 'cd /root/reconcile && make demo' \
    || { tail -n 30 "$workdir/make-demo.log" >&2; exit 1; }
(cd "$root/root/reconcile/out" && sha256sum -- *) | tee -a "$timings" >&2
step "as root: make test" "$workdir/make-test.log" \
    in_root bash -c 'cd /root/reconcile && make test' \
    || { tail -n 40 "$workdir/make-test.log" >&2; exit 1; }
grep -E 'system-setup: installed|(passed|failed).* in [0-9.]+s' "$workdir/make-test.log" \
    | tee -a "$timings" >&2

echo "fresh-machine-check: passed; timings in $timings, logs in $workdir" >&2
