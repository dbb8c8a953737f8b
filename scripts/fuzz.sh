#!/usr/bin/env bash
# `make fuzz`: runs each libFuzzer target long (FUZZ_TIME seconds each,
# default 300; FUZZ_TARGETS="http ws" for some only; FUZZ_RUNS=10000000
# runs each target that many executions instead, however long it takes),
# FUZZ_JOBS targets at a time (default one per core), then merges what it
# found back into the committed corpus tests/fuzz/<target>/corpus/ with
# libFuzzer's -merge=1 (only inputs that add coverage are kept).
# `make test` replays those corpora for a few seconds per target
# (scripts/test.sh).
#
# kill -INT of a fuzz_<target> process ends that target early: its corpus
# is merged and its runs reported, so runs add up over several sittings
# (docs/fuzzing.md keeps the totals). Never SIGSTOP a fuzzer: its
# per-input timeout counts wall time. A crash stops that target: its
# input is left in build/fuzz/ (crash-*, leak-*, timeout-*) and the run
# fails. Commit the grown corpora in a
# commit of their own.
set -uo pipefail
cd "$(dirname "$0")/.."

FUZZ_TIME=${FUZZ_TIME:-300}
FUZZ_RUNS=${FUZZ_RUNS:-}
if [ -n "$FUZZ_RUNS" ]; then
	LIMIT="-runs=$FUZZ_RUNS" EACH="$FUZZ_RUNS runs"
else
	LIMIT="-max_total_time=$FUZZ_TIME" EACH="${FUZZ_TIME}s"
fi
FUZZ_JOBS=${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 2)}
OPTS="-rss_limit_mb=2048 -timeout=10 -max_len=24576"
logdir=build/fuzz/logs
mkdir -p "$logdir"

# One target: fuzz in build/fuzz/corpus/fuzz_<t> (seeded from the
# committed corpus), then merge into the committed corpus.
if [ "${1:-}" = --one ]; then
	t=$2
	bin=build/fuzz/bin/fuzz_$t
	work=build/fuzz/corpus/fuzz_$t
	seeds=tests/fuzz/$t/corpus
	log=$logdir/fuzz_$t.log
	mkdir -p "$work" "$seeds"
	cp -n "$seeds"/* "$work"/ 2>/dev/null
	before=$(ls "$seeds" | wc -l)
	# shellcheck disable=SC2086
	(cd build/fuzz && "../../$bin" "$LIMIT" -interrupted_exitcode=72 \
	    -print_final_stats=1 $OPTS "../../$work") >"$log" 2>&1
	rc=$?
	# Stopped with SIGINT (kill -INT): what it found is kept, its runs count.
	if [ "$rc" -ne 0 ] && [ "$rc" -ne 72 ]; then
		echo "   fuzz_$t FAILED after $(grep -o 'Done [0-9]* runs\|#[0-9]*' "$log" | tail -n1) (log $log):"
		grep -m1 -A3 'ERROR:\|runtime error' "$log" | sed 's/^/      /'
		exit 1
	fi
	# shellcheck disable=SC2086
	if ! "$bin" -merge=1 $OPTS "$seeds" "$work" >>"$log" 2>&1; then
		echo "   fuzz_$t: merge FAILED (log $log)"
		exit 1
	fi
	runs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | tail -n1 | grep -o '[0-9]*$')
	secs=$(grep -o 'Done [0-9]* runs in [0-9]* second' "$log" | tail -n1 | grep -o '[0-9]* second')
	echo "   fuzz_$t: ${runs:-?} runs$([ "$rc" -eq 72 ] && echo ' (interrupted)')${secs:+ in ${secs}s}, $(grep -o 'cov: [0-9]* ft: [0-9]*' "$log" | tail -n1), corpus $before -> $(ls "$seeds" | wc -l) files"
	exit 0
fi

# Every target is a folder of tests/fuzz (its files are shared parts).
targets=${FUZZ_TARGETS:-$(cd tests/fuzz && for d in */; do printf '%s ' "${d%/}"; done)}
for t in $targets; do
	if [ ! -x "build/fuzz/bin/fuzz_$t" ]; then
		echo "fuzz: build/fuzz/bin/fuzz_$t is missing (make test-build)"
		exit 1
	fi
done
echo "== fuzzing $EACH per target, $FUZZ_JOBS at a time: $(echo $targets)"
if printf '%s\n' $targets | xargs -n1 -P "$FUZZ_JOBS" "$0" --one; then
	echo "fuzz: done; new corpus files (git status tests/fuzz) go in a commit of their own"
else
	echo "fuzz: a target failed (see above)"
	exit 1
fi
