#!/usr/bin/env bash
# Fetch an OpenSSH server for the `gateway probe --ssh` tests WITHOUT installing it system-wide
# (the Debian package's postinst would start an sshd on 0.0.0.0:22): `apt-get download` the .deb
# files into a cache folder and unpack them there with `dpkg -x`, plus any shared library the
# machine lacks (checked with ldd; e.g. libwrap0). Idempotent; one run at a time (flock).
#
#   ops/sshd-cache.sh      -> prints <cache>/root/usr/sbin/sshd (stdout carries only that path)
#
# Cache folder: $OPENCLAW_SSHD_CACHE, default <repo>/.cache/sshd. Libraries unpacked there are
# found through LD_LIBRARY_PATH=<cache>/root/usr/lib/<triplet>:<cache>/root/lib/<triplet> (tests/sshd.py).
# Exit 3 = cannot be obtained here (no apt-get/dpkg, or the download failed): the tests skip, saying so.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${OPENCLAW_SSHD_CACHE:-$REPO/.cache/sshd}"
ROOT="$CACHE/root"
DEBS="$CACHE/debs"
SSHD="$ROOT/usr/sbin/sshd"
PACKAGES=(openssh-server openssh-sftp-server)

log() { printf 'sshd-cache: %s\n' "$*" >&2; }
unavailable() { printf 'sshd-cache: unavailable: %s\n' "$*" >&2; exit 3; }

mkdir -p "$CACHE" || unavailable "cannot create $CACHE"
if command -v flock >/dev/null 2>&1; then
    exec 9>"$CACHE/.lock"
    flock -w 300 9 || unavailable "timed out waiting for the lock $CACHE/.lock"
fi

triplet="$(gcc -dumpmachine 2>/dev/null || dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo x86_64-linux-gnu)"
libpath="$ROOT/usr/lib/$triplet:$ROOT/lib/$triplet"

missing_libs() {
    LD_LIBRARY_PATH="$libpath" ldd "$SSHD" 2>/dev/null | awk '/not found/ {print $1}'
}

ready() {
    [ -x "$SSHD" ] && [ -f "$CACHE/.complete" ] && [ -z "$(missing_libs)" ]
}

if ready; then
    echo "$SSHD"
    exit 0
fi

command -v apt-get >/dev/null 2>&1 || unavailable "apt-get not found (not a Debian-like system)"
command -v dpkg >/dev/null 2>&1 || unavailable "dpkg not found"
mkdir -p "$DEBS" "$ROOT"

sandbox=()
[ "$(id -u)" = 0 ] && sandbox=(-o APT::Sandbox::User=root)  # root downloads into a folder _apt cannot write

fetch() {  # apt-get download <pkg>... into $DEBS and unpack into $ROOT
    (cd "$DEBS" && apt-get "${sandbox[@]}" download "$@" >&2) || return 1
    local pkg deb
    for pkg in "$@"; do
        deb="$(ls -t "$DEBS"/"${pkg}"_*.deb 2>/dev/null | head -n1)"
        [ -n "$deb" ] || return 1
        dpkg -x "$deb" "$ROOT" || return 1
    done
}

if [ ! -x "$SSHD" ]; then
    log "downloading ${PACKAGES[*]} (not installed: unpacked into $ROOT)"
    fetch "${PACKAGES[@]}" || unavailable "apt-get download ${PACKAGES[*]} failed (no network or no apt sources?)"
fi

# Shared libraries sshd needs that this machine lacks: libfoo.so.N comes from package libfooN.
for _ in 1 2 3; do
    libs="$(missing_libs)"
    [ -z "$libs" ] && break
    for lib in $libs; do
        base="${lib%%.so*}"
        ver="${lib##*.so.}"
        pkg="${base}${ver%%.*}"
        log "sshd needs $lib: fetching $pkg"
        fetch "$pkg" || unavailable "cannot fetch $pkg for $lib"
    done
done
[ -z "$(missing_libs)" ] || unavailable "sshd still lacks: $(missing_libs | tr '\n' ' ')"
touch "$CACHE/.complete"
echo "$SSHD"
