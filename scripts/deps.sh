#!/usr/bin/env bash
# Checks what Parley needs and installs what is missing.
#   scripts/deps.sh build   libraries and headers for the daemons; node and
#                           npm for the widget bundle (widget/, esbuild)
#   scripts/deps.sh test    + cmocka, Chromium (the browser
#                           tests), systemd-analyze and systemd-socket-activate
#                           (systemd), iproute2 and haproxy (the cluster
#                           tests), etcd (etcd-server: the failover
#                           tests), clamd (clamav-daemon: the attachment
#                           scanning test), mdb_stat (lmdb-utils: LMDB's
#                           free pages), strace (a disk flush made to
#                           fail), and the tests' npm packages
#                           (tests/package-lock.json)
#   scripts/deps.sh fuzz    the test group's, + clang, lld and libFuzzer
#                           (make fuzz; make test replays the corpora on
#                           the gcc test build)
#   scripts/deps.sh bench   the build's, + curl, wrk, nginx (Debian's nginx-light),
#                           taskset, strace (system calls per turn)
#   scripts/deps.sh deb     the build's, + debhelper, dpkg-dev, fakeroot, lintian
#                           (make deb); the test group has the first three
#                           and man-db (tests/integration/deb.test.mjs)
# Debian packages come through apt-get when we are root; otherwise the
# exact command is printed and the step fails.
set -euo pipefail
cd "$(dirname "$0")/.."

what=${1:-build}
missing=()
# The fuzz group is the test group and more.
tests=0
case $what in test | fuzz) tests=1 ;; esac

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
# zlib's CRC-32 proves a .gz beside a served file current (workerd/site).
need_pkgconfig zlib zlib1g-dev
# The knowledge base: libxml2's HTML and XML parsers read fetched pages and
# sitemaps (workerd/fetch/); libstemmer (Snowball) stems the words storaged
# indexes and searches.
need_pkgconfig libxml-2.0 libxml2-dev
need_file /usr/include/libstemmer.h libstemmer-dev
# poppler-glib reads the PDFs the knowledge base is given
# (workerd/fetch/pdf.c); its dev package brings cairo's, which the PDF
# tests draw their documents with.
need_pkgconfig poppler-glib libpoppler-glib-dev
# poppler-data: the CMaps and CID-to-Unicode maps poppler reads a PDF's
# CJK text with when the file does not embed its fonts (its reader may
# open them alone: workerd/fetch/sandbox.h).
need_file /usr/share/poppler/cMap poppler-data
# libseccomp builds the system-call filter each PDF's reader runs under,
# in its child process (workerd/fetch/sandbox.c).
need_pkgconfig libseccomp libseccomp-dev
# The widget bundle is built with esbuild from npm (widget/package-lock.json).
need_cmd node nodejs
need_cmd npm npm

if [ $tests = 1 ] || [ "$what" = bench ]; then
	need_cmd curl curl
fi
if [ "$what" = fuzz ]; then
	need_cmd clang clang
	# The fuzz targets link with lld (half the CPU of a link; FUZZ_LDFLAGS).
	need_cmd ld.lld lld
	need_file "$(ls -d /usr/lib/llvm-*/lib/clang/*/lib/linux 2>/dev/null | head -n1)/libclang_rt.fuzzer-x86_64.a" libclang-rt-14-dev
fi
if [ $tests = 1 ]; then
	need_pkgconfig cmocka libcmocka-dev
	# The test build links with gold (the Makefile's TEST_LD).
	need_cmd ld.gold binutils
	# tests/integration/systemd.test.mjs checks the units in systemd/ and
	# runs masterd under socket activation (Debian's systemd package).
	need_cmd systemd-analyze systemd
	need_cmd systemd-socket-activate systemd
	# The browser tests drive Debian's Chromium with playwright-core; they
	# never download a browser of their own. Most run its headless shell
	# (the same engine without the desktop windows), widget.test.mjs the
	# desktop build (tests/browser/README.md).
	if [ ! -x /usr/bin/chromium ]; then
		echo "deps: the browser tests need Chromium (/usr/bin/chromium is missing): adding the Debian package chromium"
		missing+=(chromium)
	fi
	if [ ! -x /usr/bin/chromium-headless-shell ]; then
		echo "deps: the browser tests need Chromium's headless shell (/usr/bin/chromium-headless-shell is missing): adding the Debian package chromium-headless-shell"
		missing+=(chromium-headless-shell)
	fi
	# tests/cluster/ (make cluster-test, and its short form in make test)
	# makes its hosts as network namespaces with iproute2's ip, and puts
	# Debian's HAProxy in front of them, started by the test itself (the
	# package's own service, if any, is left as it is).
	need_cmd ip iproute2
	if [ ! -x /usr/sbin/haproxy ]; then
		echo "deps: the cluster tests need HAProxy (/usr/sbin/haproxy is missing): adding the Debian package haproxy"
		missing+=(haproxy)
	fi
	# tests/integration/failover.test.mjs (and the cluster test) run a real
	# etcd, whose lease decides which storaged is primary (Debian's
	# etcd-server: /usr/bin/etcd).
	if [ ! -x /usr/bin/etcd ]; then
		echo "deps: the failover tests need etcd (/usr/bin/etcd is missing): adding the Debian package etcd-server"
		missing+=(etcd-server)
	fi
	# tests/integration/email.test.mjs runs a real SMTP server (STARTTLS,
	# AUTH) with Debian's aiosmtpd (tests/integration/lib/smtpd.py).
	if ! /usr/bin/python3 -c 'import aiosmtpd' >/dev/null 2>&1; then
		echo "deps: the email test needs aiosmtpd (/usr/bin/python3 cannot import it): adding the Debian package python3-aiosmtpd"
		missing+=(python3-aiosmtpd)
	fi
	# tests/unit/workerd/attach/test_clamd.c scans with a real ClamAV
	# daemon (Debian's clamav-daemon: /usr/sbin/clamd), started by the
	# test itself on a socket in a temp folder with a signature database
	# it writes; freshclam comes with the package but is never run (no
	# network), and the package's own service, if any, is left as it is.
	if [ ! -x /usr/sbin/clamd ]; then
		echo "deps: the attachment scanning test needs clamd (/usr/sbin/clamd is missing): adding the Debian package clamav-daemon"
		missing+=(clamav-daemon)
	fi
	# tests/integration/attachments.test.mjs counts LMDB's free pages
	# (mdb_stat -f) to see a deleted conversation's files freed.
	if ! command -v mdb_stat >/dev/null 2>&1; then
		echo "deps: the attachments test reads LMDB's free pages with mdb_stat (missing): adding the Debian package lmdb-utils"
		missing+=(lmdb-utils)
	fi
	# tests/integration/shared-flush.test.mjs makes storaged's fdatasync
	# fail with strace's fault injection (a disk that fails a flush).
	if ! command -v strace >/dev/null 2>&1; then
		echo "deps: the shared flush test fails a flush with strace (missing): adding the Debian package strace"
		missing+=(strace)
	fi
fi
# The Debian package (debian/): debhelper's dh, dpkg-dev's dpkg-gencontrol
# and dpkg-buildpackage, fakeroot; make deb checks it with lintian. The
# test builds it too, installs it in a throwaway root and reads its
# manual pages with man -l.
if [ $tests = 1 ] || [ "$what" = deb ]; then
	need_cmd dh debhelper
	need_cmd dpkg-gencontrol dpkg-dev
	need_cmd fakeroot fakeroot
fi
if [ $tests = 1 ]; then
	need_cmd man man-db
fi
if [ "$what" = deb ]; then
	need_cmd lintian lintian
fi
if [ "$what" = bench ]; then
	# scripts/bench.sh configures and starts nginx itself, in a temp
	# folder; taskset pins the servers and the load client to their CPUs.
	need_cmd wrk wrk
	need_file /usr/sbin/nginx nginx-light
	need_cmd taskset util-linux
	# The chat section counts the system calls of a turn with strace -c.
	need_cmd strace strace
	# The knowledge section's evaluation set is written on the Debian
	# Administrator's Handbook (its HTML pages) and compares Parley's
	# search with SQLite FTS5's BM25 (the sqlite3 shell).
	need_file /usr/share/doc/debian-handbook/html/en-US/index.html debian-handbook
	need_cmd sqlite3 sqlite3
	# tests/bench/kbspeed.c times FTS5 through the library itself.
	need_file /usr/include/sqlite3.h libsqlite3-dev
fi

if [ ${#missing[@]} -gt 0 ]; then
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
fi

# The tests' own npm packages (an OpenAPI validator, a JSON Schema
# validator, playwright-core to drive Chromium, axe-core for the
# accessibility scan), pinned by tests/package-lock.json, into
# tests/node_modules. Installed again only when the lockfile differs from
# the one they were installed from (a copy kept beside them): by content,
# not by time, which a fresh clone sets anew (and npm ci empties first).
if [ $tests = 1 ]; then
	stamp=tests/node_modules/.parley-installed-lock.json
	if ! cmp -s tests/package-lock.json "$stamp"; then
		echo "deps: installing the tests' npm packages (npm ci --prefix tests, from tests/package-lock.json)"
		npm ci --prefix tests --no-audit --no-fund --loglevel=error >/dev/null ||
			{ echo "deps: npm ci --prefix tests failed" >&2; exit 1; }
		cp tests/package-lock.json "$stamp"
		echo "deps: npm packages installed into tests/node_modules"
	fi
fi
exit 0
