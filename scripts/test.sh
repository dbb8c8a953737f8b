#!/usr/bin/env bash
# Runs every test on the ASan+UBSan build that `make test-build` made:
# the cmocka unit tests, each fuzz target for a bounded time, the
# integration tests (real processes on loopback, node's test runner), and
# the browser tests (the widget in headless Chromium against the same
# processes, tests/browser/).
# Ends with one line "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."

FUZZ_SECONDS=${FUZZ_SECONDS:-15}
logdir=build/test/logs
mkdir -p "$logdir"
passed=0
failed=0
failures=()

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:halt_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

count() {	# name, passed-in-it, failed-in-it
	passed=$((passed + $2))
	failed=$((failed + $3))
	[ "$3" -gt 0 ] && failures+=("$1")
	return 0
}

echo "== unit tests (cmocka, ASan+UBSan)"
for t in $(find build/test/unit -type f -name 'test_*' | sort); do
	[ -x "$t" ] || continue
	name=${t#build/test/unit/}
	mkdir -p "$(dirname "$logdir/$name.log")"
	if "$t" >"$logdir/$name.log" 2>&1; then st=0; else st=$?; fi
	p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$logdir/$name.log" | tail -n1)
	f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$logdir/$name.log" | tail -n1)
	p=${p:-0}; f=${f:-0}
	# A crash or sanitizer report fails the binary even if cmocka said nothing.
	if [ "$st" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
	printf '   %-28s %3d passed, %d failed\n' "$name" "$p" "$f"
	[ "$f" -gt 0 ] && tail -n 40 "$logdir/$name.log"
	count "$name" "$p" "$f"
done

echo "== fuzz targets (libFuzzer, ${FUZZ_SECONDS}s each)"
for fz in build/fuzz/bin/fuzz_*; do
	[ -x "$fz" ] || continue
	name=$(basename "$fz")
	corpus=build/fuzz/corpus/$name
	mkdir -p "$corpus"
	# Seeds committed next to the target start the search somewhere useful.
	seeds=tests/fuzz/${name#fuzz_}/corpus
	[ -d "$seeds" ] && cp -n "$seeds"/* "$corpus"/ 2>/dev/null
	if (cd build/fuzz && "./bin/$name" -max_total_time="$FUZZ_SECONDS" \
	    -rss_limit_mb=2048 -timeout=10 -max_len=24576 "corpus/$name") \
	    >"$logdir/$name.log" 2>&1; then
		runs=$(grep -o 'Done [0-9]* runs' "$logdir/$name.log" | tail -n1)
		printf '   %-28s passed (%s)\n' "$name" "$runs"
		count "$name" 1 0
	else
		printf '   %-28s FAILED\n' "$name"
		tail -n 40 "$logdir/$name.log"
		count "$name" 0 1
	fi
done

echo "== integration tests (real processes on loopback)"
if ls tests/integration/*.test.mjs >/dev/null 2>&1; then
	PARLEY_BIN=$PWD/build/test/bin node --test --test-concurrency=1 \
	    tests/integration/ 2>&1 | tee "$logdir/integration.log"
	p=$(sed -n 's/^# pass \([0-9]*\)/\1/p' "$logdir/integration.log" | tail -n1)
	f=$(sed -n 's/^# fail \([0-9]*\)/\1/p' "$logdir/integration.log" | tail -n1)
	# A test cancelled (its suite's before hook failed, or it outlived its
	# parent) did not pass either.
	c=$(sed -n 's/^# cancelled \([0-9]*\)/\1/p' "$logdir/integration.log" | tail -n1)
	p=${p:-0}; f=${f:-1}; f=$((f + ${c:-0}))
	count integration "$p" "$f"
fi

echo "== browser tests (headless Chromium, playwright-core, real processes)"
if ls tests/browser/*.test.mjs >/dev/null 2>&1; then
	# Screenshots land in build/test/screenshots/ (the phone-sized one is checked).
	PARLEY_BIN=$PWD/build/test/bin node --test --test-concurrency=1 \
	    tests/browser/ 2>&1 | tee "$logdir/browser.log"
	p=$(sed -n 's/^# pass \([0-9]*\)/\1/p' "$logdir/browser.log" | tail -n1)
	f=$(sed -n 's/^# fail \([0-9]*\)/\1/p' "$logdir/browser.log" | tail -n1)
	c=$(sed -n 's/^# cancelled \([0-9]*\)/\1/p' "$logdir/browser.log" | tail -n1)
	p=${p:-0}; f=${f:-1}; f=$((f + ${c:-0}))
	count browser "$p" "$f"
fi

echo
[ ${#failures[@]} -gt 0 ] && echo "failed: ${failures[*]} (logs in $logdir)"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
