#!/usr/bin/env bash
# Fetch a Debian program for the tests WITHOUT installing it system-wide (a server package's postinst
# would start its daemon on a public address): `apt-get download` its packages into a cache folder and
# unpack them there with `dpkg -x`, plus any shared library the machine lacks (checked with ldd).
# Idempotent; one run at a time per cache (flock). Used by ops/sshd-cache.sh and ops/nginx-cache.sh.
#
#   ops/deb-cache.sh <name> <cache> <binary path under root> <package>...
#       -> prints <cache>/root/<binary> (stdout carries only that path)
#
# Libraries unpacked there are found through LD_LIBRARY_PATH=<cache>/root/usr/lib/<triplet>:<cache>/root/lib/<triplet>.
# Exit 3 = cannot be obtained here (no apt-get/dpkg, or the download failed): the tests skip, saying so.
set -euo pipefail

NAME="$1"; CACHE="$2"; REL="$3"; shift 3
PACKAGES=("$@")
ROOT="$CACHE/root"
DEBS="$CACHE/debs"
BIN="$ROOT/$REL"

log() { printf '%s-cache: %s\n' "$NAME" "$*" >&2; }
unavailable() { printf '%s-cache: unavailable: %s\n' "$NAME" "$*" >&2; exit 3; }

mkdir -p "$CACHE" || unavailable "cannot create $CACHE"
if command -v flock >/dev/null 2>&1; then
    exec 9>"$CACHE/.lock"
    flock -w 300 9 || unavailable "timed out waiting for the lock $CACHE/.lock"
fi

triplet="$(gcc -dumpmachine 2>/dev/null || dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo x86_64-linux-gnu)"
libpath="$ROOT/usr/lib/$triplet:$ROOT/lib/$triplet"

missing_libs() {
    LD_LIBRARY_PATH="$libpath" ldd "$BIN" 2>/dev/null | awk '/not found/ {print $1}'
}

ready() {
    [ -x "$BIN" ] && [ -f "$CACHE/.complete" ] && [ -z "$(missing_libs)" ]
}

if ready; then
    echo "$BIN"
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

if [ ! -x "$BIN" ]; then
    log "downloading ${PACKAGES[*]} (not installed: unpacked into $ROOT)"
    fetch "${PACKAGES[@]}" || unavailable "apt-get download ${PACKAGES[*]} failed (no network or no apt sources?)"
fi

# Shared libraries the program needs that this machine lacks: libfoo.so.N comes from package libfooN
# (libfoo-N when the name ends in a digit, e.g. libpcre2-8-0); zlib is zlib1g.
for _ in 1 2 3; do
    libs="$(missing_libs)"
    [ -z "$libs" ] && break
    for lib in $libs; do
        base="${lib%%.so*}"
        ver="${lib##*.so.}"
        ver="${ver%%.*}"
        case "$base" in
            libz) pkg="zlib1g" ;;
            *[0-9]) pkg="${base}-${ver}" ;;
            *) pkg="${base}${ver}" ;;
        esac
        log "$NAME needs $lib: fetching $pkg"
        fetch "$pkg" || unavailable "cannot fetch $pkg for $lib"
    done
done
[ -z "$(missing_libs)" ] || unavailable "$NAME still lacks: $(missing_libs | tr '\n' ' ')"
touch "$CACHE/.complete"
echo "$BIN"
