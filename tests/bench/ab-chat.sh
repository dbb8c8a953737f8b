#!/usr/bin/env bash
# Two builds' chat figures side by side, to say whether a change made a
# turn slower: `make bench`'s chat section (scripts/bench.sh) run in each
# checkout in turn, N times (a noisy machine hits both alike), then the
# medians over every round of added time to first token at c=1 (p50,
# p99), server CPU per turn and turns/s at c=32, and for each thinking model
# (BENCH_THINK_MS, default 5) its added TTFT p50 and CPU per turn beside
# nginx's. The two take turns going first. Each checkout must be built
# (`make`) and have tests/node_modules; their paths may hold no spaces.
# Prints, never asserts.
#
#   tests/bench/ab-chat.sh /path/to/old-checkout /path/to/new-checkout [N]
set -euo pipefail
a=$(cd "$1" && pwd); b=$(cd "$2" && pwd); n=${3:-7}
out=$(mktemp); trap 'rm -f "$out"' EXIT
for i in $(seq 1 "$n"); do
  # Each goes first every other time: the second of a pair runs on a
  # machine the first has warmed or loaded (seen to tilt every figure).
  order="$a $b"; [ $((i % 2)) -eq 0 ] && order="$b $a"
  for d in $order; do
    echo "ab-chat: $i/$n: $d" >&2
    (cd "$d" && BENCH_ONLY=chat BENCH_ROUNDS=${BENCH_ROUNDS:-3} \
      BENCH_TTFT_TURNS=${BENCH_TTFT_TURNS:-500} BENCH_TURN_SECONDS=${BENCH_TURN_SECONDS:-2} \
      BENCH_THINK_MS=${BENCH_THINK_MS:-5} scripts/bench.sh >/dev/null)
    node -e '
const j = require(process.argv[1] + "/build/bench/latest.json");
for (const r of j.chat.rounds) console.log(JSON.stringify({ d: process.argv[1],
  p50: r.ttft.parley.added.p50, p99: r.ttft.parley.added.p99,
  cpu: r.loop.parley.cpuUsPerTurn, rate: r.loop.parley.rate }));
for (const t of j.chat.thinking || []) for (const r of t.rounds || [t])
  console.log(JSON.stringify({ d: process.argv[1], think: t.firstMs,
    p50: r.ttft.parley.added.p50, cpu: r.loop.parley.cpuUsPerTurn,
    nginxP50: r.ttft.nginx.added.p50, nginxCpu: r.loop.nginx.cpuUsPerTurn }));
' "$d" >> "$out"
  done
done
node -e '
const L = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map(JSON.parse);
const med = (a) => { a = [...a].sort((x, y) => x - y); const k = a.length; return k % 2 ? a[(k - 1) / 2] : (a[k / 2 - 1] + a[k / 2]) / 2; };
for (const d of process.argv.slice(2)) {
  const r = L.filter((x) => x.d === d && x.think === undefined);
  console.log(`${d}: ${r.length} rounds, medians: added TTFT p50 ${med(r.map((x) => x.p50)).toFixed(3)} ms, p99 ${med(r.map((x) => x.p99)).toFixed(3)} ms (c=1); CPU ${med(r.map((x) => x.cpu)).toFixed(1)} us/turn, ${med(r.map((x) => x.rate)).toFixed(0)} turns/s (c=32)`);
  for (const ms of [...new Set(L.filter((x) => x.think !== undefined).map((x) => x.think))]) {
    const t = L.filter((x) => x.d === d && x.think === ms);
    console.log(`  model ${ms} ms, ${t.length} rounds, medians: added TTFT p50 ${med(t.map((x) => x.p50)).toFixed(3)} ms (nginx ${med(t.map((x) => x.nginxP50)).toFixed(3)}); CPU ${med(t.map((x) => x.cpu)).toFixed(1)} us/turn (nginx ${med(t.map((x) => x.nginxCpu)).toFixed(1)}) (c=32)`);
  }
}' "$out" "$a" "$b"
