#!/usr/bin/env bash
# Runs every test on the ASan+UBSan build: the cmocka unit tests, each fuzz
# target's committed corpus replayed (tests/fuzz/replay.c, on the test
# build's objects; `make fuzz` is the fuzzing, scripts/fuzz.sh), the
# integration tests (real processes on loopback, node's test runner) and
# the browser tests (the widget in headless Chromium against the same
# processes, tests/browser/).
#
# `make test` builds only what the node tests run (make test-build-node)
# before it starts this script. The node tests start at once, and the
# unit tests and fuzz replays are built (make test-build-unit, a no-op
# after make test-build) and run in the background meanwhile: they fill
# the moments the node tests wait (on the daemons, fsync, timers) and the
# end, when fewer files are left than lanes. Their results are printed
# after the node tests'. (At nice 19 they were starved while the
# machine was busy and left a minute of their work for after the node
# tests: the same priority as the rest is done with them sooner.)
#
# Fuzz replays run TEST_JOBS at a time (default one per core), unit
# binaries twice and node test files two more than that, as they spend
# much of their time waiting (TEST_JOBS=1: unit 2, node 3). Each phase
# prints its time, the node tests their slowest files and their costliest
# in CPU; the run's wall-clock time (from PARLEY_TEST_T0, which `make
# test` sets before building, else from this script's start) comes next
# to last.
# Ends with one line "N passed, N failed" (CI reads it: keep it last).
set -uo pipefail
cd "$(dirname "$0")/.."

TEST_JOBS=${TEST_JOBS:-$(nproc 2>/dev/null || echo 2)}
UNIT_JOBS=$((TEST_JOBS * 2))
NODE_JOBS=${NODE_JOBS:-$((TEST_JOBS + 2))}
T0=${PARLEY_TEST_T0:-$(date +%s)}
logdir=build/test/logs
mkdir -p "$logdir"
passed=0
failed=0
failures=()
times=()

# clear_shadow_mmap_threshold: memset, not mmap, clears the shadow of large
# blocks (LMDB's 3 MiB a nested transaction): half the CPU, same checks
# (tests/integration/lib/harness.mjs, ASAN_SPEED).
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:halt_on_error=1:clear_shadow_mmap_threshold=1073741824}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

count() {	# name, passed-in-it, failed-in-it
	passed=$((passed + $2))
	failed=$((failed + $3))
	[ "$3" -gt 0 ] && failures+=("$1")
	return 0
}

# "1 min 05 s" from seconds.
dur() {
	if [ "$1" -ge 60 ]; then printf '%d min %02d s' $(($1 / 60)) $(($1 % 60))
	else printf '%d s' "$1"; fi
}

phase_t0=0
phase_start() { echo "== $1"; phase_t0=$(date +%s); }
phase_end() {	# short name
	local s=$(($(date +%s) - phase_t0))
	times+=("$1 $(dur "$s")")
	echo "   ($1: $(dur "$s"))"
}

# Runs one unit binary or fuzz replay ("unit PATH" / "fuzz PATH"), output
# in its log, exit status in the log's .rc; xargs runs TEST_JOBS of them.
if [ "${1:-}" = --one ]; then
	kind=$2 t=$3
	if [ "$kind" = unit ]; then
		log=$logdir/${t#build/test/unit/}.log
		mkdir -p "$(dirname "$log")"
		"$t" >"$log" 2>&1
	else
		name=$(basename "$t")
		log=$logdir/$name.log
		"$t" "tests/fuzz/${name#fuzz_}/corpus" >"$log" 2>&1
	fi
	echo $? >"$log.rc"
	exit 0
fi

find "$logdir" -name '*.rc' -delete
rm -f "$logdir/unit-fuzz.t"

# In the background: build the unit binaries and fuzz replays, then run
# them, the unit binaries (mostly waiting) and the replays (all CPU) at
# the same time; the results are printed once the node tests are done.
unit_fuzz() {
	local t0 units fuzzers
	t0=$(date +%s)
	make --no-print-directory test-build-unit >"$logdir/build-unit.log" 2>&1
	echo $? >"$logdir/build-unit.log.rc"
	units=$(find build/test/unit -type f -name 'test_*' -perm -u+x 2>/dev/null | sort)
	fuzzers=$(find build/test/fuzz -type f -name 'fuzz_*' -perm -u+x 2>/dev/null | sort)
	printf '%s\n' $units | xargs -r -n1 -P "$UNIT_JOBS" "$0" --one unit &
	printf '%s\n' $fuzzers | xargs -r -n1 -P "$TEST_JOBS" "$0" --one fuzz &
	wait
	echo "$t0 $(date +%s)" >"$logdir/unit-fuzz.t"
}
unit_fuzz &
unit_fuzz_pid=$!

# The integration tests (real processes on loopback) and the browser tests
# (headless Chromium, playwright-core, the same processes) run in one node
# --test, NODE_JOBS files at a time: each file starts its own Parley on free
# ports, and half of a file's time is waiting: on 2 cores, three side by
# side left some of it idle (6 min 16-38 s in a working tree), four kept
# both busy (6 min 01 s; /proc/stat 99.5 % busy with five, which took as
# long as four). The files that took longest last time go first (their
# times are in the log's .files), so the run does not end on a long one.
# A fresh clone has no last time: tests/integration/durations.txt (a
# run's .files, committed) stands in.
# TAP goes to stdout and the log.
# (Whether a line is in a list is asked with a here-string, never through a
# pipe: under pipefail, a writer cut off by grep -q's early exit made a
# match read as none.)
node_all() {
	# tests/cluster/ at its short figures (make cluster-test: the full ones).
	ls tests/browser/*.test.mjs tests/integration/*.test.mjs tests/cluster/*.test.mjs 2>/dev/null
}
node_files() {
	local all last ran="" f
	all=$(node_all)
	last=$logdir/node.log.files
	[ -f "$last" ] || last=tests/integration/durations.txt
	[ -f "$last" ] && ran=$(awk '!/^#/ {print $3}' "$last")
	for f in $ran; do
		grep -qxF -- "$f" <<<"$all" && echo "$f"
	done
	for f in $all; do
		grep -qxF -- "$f" <<<"$ran" || echo "$f"
	done
}

# Runs node --test on the files after $1 and $2: TAP to stdout and log
# $2, each file's time to $2.files.new, and counts them as $1. A test
# cancelled (its suite's before hook failed, or it outlived its parent)
# did not pass either.
node_run() {
	local name=$1 log=$2 p f c
	shift 2
	PARLEY_BIN=$PWD/build/test/bin node --test --test-concurrency="$NODE_JOBS" \
	    --test-reporter=tap --test-reporter-destination=stdout \
	    --test-reporter=./tests/integration/lib/durations.mjs \
	    --test-reporter-destination="$log.files.new" \
	    "$@" 2>&1 | tee "$log"
	p=$(sed -n 's/^# pass \([0-9]*\)/\1/p' "$log" | tail -n1)
	f=$(sed -n 's/^# fail \([0-9]*\)/\1/p' "$log" | tail -n1)
	c=$(sed -n 's/^# cancelled \([0-9]*\)/\1/p' "$log" | tail -n1)
	count "$name" "${p:-0}" $((${f:-1} + ${c:-0}))
}

# The test files with no result in $1.files.new. node --test once
# reported nothing of a whole file (no "ok", no "not ok": its tests were
# neither run nor counted); a file not run is not a pass, so each such
# file runs again on its own, and one still without a result fails.
node_missing() {
	local log=$1 missing got f
	# Every test file there is, not only those given to node --test.
	got=$(awk '{print $3}' "$log.files.new" 2>/dev/null)
	missing=$(for f in $(node_all); do
		grep -qxF -- "$f" <<<"$got" || echo "$f"
	done)
	[ -n "$missing" ] || return 0
	echo "-- node --test gave no result for: ${missing//$'\n'/ } - running them again"
	# shellcheck disable=SC2086
	node_run "integration/browser (again)" "$log.again" $missing
	cat "$log.again.files.new" >> "$log.files.new" 2>/dev/null
	got=$(awk '{print $3}' "$log.files.new" 2>/dev/null)
	for f in $missing; do
		grep -qxF -- "$f" <<<"$got" && continue
		echo "-- $f: still no result"
		count "$f" 0 1
	done
}

# Each "not ok" of the TAP logs given, as "file:line  name  error" (at
# most 30 lines), for the summary at the end.
node_failed() {
	cat "$@" 2>/dev/null | awk '
		/^ *not ok / { name = $0; sub(/^ *not ok [0-9]+ - /, "", name); want = 1; where = ""; next }
		want && /^ *location: / { where = $0; sub(/^ *location: .*\/tests\//, "tests/", where); gsub(/\047/, "", where); next }
		want == 2 { err = $0; sub(/^ */, "", err); want = 0; show(); next }
		want && /^ *error: / { err = $0; sub(/^ *error: /, "", err)
			if (err ~ /^[|>]-?$/) { want = 2; next }	# a folded error: its first line follows
			want = 0; show() }
		function show() { print "   not ok: " where "  " name "  " substr(err, 1, 200) }
	' | head -n 30
}

files=$(node_files)
if [ -n "$files" ]; then
	phase_start "integration and browser tests (real processes on loopback; headless Chromium), $NODE_JOBS files at a time"
	# Screenshots land in build/test/screenshots/ (the phone-sized one is checked).
	log=$logdir/node.log
	# Each file's process tree's CPU (tests/integration/lib/cpu.mjs).
	export PARLEY_TEST_CPU_LOG=$PWD/$log.cpu
	rm -f "$PARLEY_TEST_CPU_LOG"
	# shellcheck disable=SC2086
	node_run "integration/browser" "$log" $files
	node_missing "$log"
	[ -s "$log.files.new" ] && mv "$log.files.new" "$log.files"
	echo "   slowest files:"
	head -n 6 "$log.files" 2>/dev/null | sed 's/^/   /'
	# The files share the processors: what each costs in CPU, not its
	# wall time, is what a change to it would give the others.
	if [ -s "$log.cpu" ]; then
		awk '{ all += $1 } END { printf "   costliest files in CPU (user + system, with their daemons and browsers; %.0f s in all):\n", all }' "$log.cpu"
		sort -rn "$log.cpu" | head -n 6 | awk '{ printf "   %7.1f s  %s (user %.1f, system %.1f)\n", $1, $4, $2, $3 }'
	fi
	phase_end "integration+browser"
fi

phase_start "unit tests (cmocka, ASan+UBSan, $UNIT_JOBS at a time) and fuzz targets' corpora replayed ($TEST_JOBS at a time), built and run alongside the node tests"
wait "$unit_fuzz_pid"
if [ "$(cat "$logdir/build-unit.log.rc" 2>/dev/null || echo 1)" -ne 0 ]; then
	echo "-- make test-build-unit FAILED"
	tail -n 40 "$logdir/build-unit.log"
	count "test-build-unit" 0 1
fi
units=$(find build/test/unit -type f -name 'test_*' -perm -u+x 2>/dev/null | sort)
fuzzers=$(find build/test/fuzz -type f -name 'fuzz_*' -perm -u+x 2>/dev/null | sort)
echo "-- unit tests"
for t in $units; do
	name=${t#build/test/unit/}
	log=$logdir/$name.log
	st=$(cat "$log.rc" 2>/dev/null || echo 1)
	p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -n1)
	f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -n1)
	p=${p:-0}; f=${f:-0}
	# A crash or sanitizer report fails the binary even if cmocka said nothing.
	if [ "$st" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
	printf '   %-28s %3d passed, %d failed\n' "$name" "$p" "$f"
	[ "$f" -gt 0 ] && tail -n 40 "$log"
	count "$name" "$p" "$f"
done
echo "-- fuzz targets"
for fz in $fuzzers; do
	name=$(basename "$fz")
	log=$logdir/$name.log
	if [ "$(cat "$log.rc" 2>/dev/null || echo 1)" -eq 0 ]; then
		runs=$(grep -o 'replayed [0-9]* inputs.*' "$log" | tail -n1)
		printf '   %-28s passed (%s)\n' "$name" "$runs"
		count "$name" 1 0
	else
		printf '   %-28s FAILED\n' "$name"
		tail -n 40 "$log"
		count "$name" 0 1
	fi
done
# Its own time, from its start to its end (the node tests ran meanwhile).
read -r uf0 uf1 <"$logdir/unit-fuzz.t" 2>/dev/null || { uf0=0; uf1=0; }
times+=("unit+fuzz $(dur $((uf1 - uf0))) alongside")
echo "   (unit+fuzz: $(dur $((uf1 - uf0))), from the start of the node tests; $(dur $(($(date +%s) - phase_t0))) waited for after them)"

echo
[ ${#failures[@]} -gt 0 ] && echo "failed: ${failures[*]} (logs in $logdir)"
# CI keeps the end of the output alone: each failed node test is named
# again here, with its place and its first error line.
node_failed "$logdir/node.log" "$logdir/node.log.again"
total=$(($(date +%s) - T0))
build=""
[ -n "${PARLEY_TEST_BUILT:-}" ] && build="build $(dur $((PARLEY_TEST_BUILT - T0))), "
echo "time: $(dur "$total") (${build}$(IFS=,; echo "${times[*]}" | sed 's/,/, /g'))"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
