#!/usr/bin/env bash
# Checks what Parley needs and installs what is missing.
#   scripts/deps.sh build   libraries and headers for the daemons
#   scripts/deps.sh test    + clang/libFuzzer, cmocka, node
#   scripts/deps.sh bench   + wrk, nginx
# Debian packages come through apt-get when we are root; otherwise the
# exact command is printed and the step fails.
set -euo pipefail
cd "$(dirname "$0")/.."

what=${1:-build}
missing=()

need_pkgconfig() {	# pkg-config module, Debian package
	pkg-config --exists "$1" 2>/dev/null || missing+=("$2")
}
need_file() {		# file, Debian package
	[ -e "$1" ] || missing+=("$2")
}
need_cmd() {		# command, Debian package
	command -v "$1" >/dev/null 2>&1 || missing+=("$2")
}

need_cmd cc gcc
need_cmd make make
need_cmd pkg-config pkg-config
need_pkgconfig libcurl libcurl4-openssl-dev
need_pkgconfig lmdb liblmdb-dev
need_pkgconfig libbsd-overlay libbsd-dev
need_pkgconfig openssl libssl-dev
need_pkgconfig jansson libjansson-dev
need_file /usr/include/http_parser.h libhttp-parser-dev
need_file /usr/include/wslay/wslay.h libwslay-dev

if [ "$what" = test ] || [ "$what" = bench ]; then
	need_pkgconfig cmocka libcmocka-dev
	need_cmd clang clang
	need_file "$(ls -d /usr/lib/llvm-*/lib/clang/*/lib/linux 2>/dev/null | head -n1)/libclang_rt.fuzzer-x86_64.a" libclang-rt-14-dev
	need_cmd node nodejs
	need_cmd curl curl
fi
if [ "$what" = bench ]; then
	need_cmd wrk wrk
	need_file /usr/sbin/nginx nginx-light
fi

[ ${#missing[@]} -eq 0 ] && exit 0

# One package may stand for several checks.
mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
echo "deps: missing Debian packages: ${missing[*]}"
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
	echo "deps: run as root:  apt-get update && apt-get install -y ${missing[*]}" >&2
	exit 1
fi
echo "deps: installing them with apt-get (this happens once)"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "deps: installed ${missing[*]}"
