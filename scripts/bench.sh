#!/usr/bin/env bash
# Benchmark (run by `make bench` after `make`). A figure is printed, never
# asserted. Sections, in this order (BENCH_ONLY picks some):
#
#  health   Parley's GET /health against nginx serving a static file of the
#           same size, both with two worker processes, unpinned, the same
#           wrk run, side by side;
#  widget   the widget bundle's size as Parley serves it, raw and gzipped
#           (budget: 12 KiB gzipped);
#  chat     the issue 14 side by side, pinned: CPU 1 runs the server under
#           test, CPU 0 the load client (node) and the mock model
#           (bin/mockai). nginx = ONE worker process as a plain streaming
#           proxy to the mock (proxy_buffering off, HTTP/1.1 keep-alive
#           upstream), configured here in the temp folder; Parley =
#           storaged + masterd + 1 worker, PARLEY_SYNC=full; the mock
#           called directly is the baseline for "added" time.
#           BENCH_ROUNDS interleaved rounds (direct, nginx, Parley, ...):
#           added time to first token p50/p99 at c=1, turns/s and server
#           CPU us per turn at c=32 (tests/bench/chat-side.mjs); every
#           Parley turn checked stored;
#  rollups  the reports' rollups' cost to a turn: Parley as built and
#           Parley with a storaged built without them (make bench builds
#           build/release/bench/parley-storaged-norollups), both pinned as
#           chat, side by side; added time to first token p50/p99 at c=1
#           in BENCH_ROLLUP_ROUNDS [3] interleaved rounds of
#           BENCH_ROLLUP_TURNS [1000] turns (tests/bench/rollups-side.mjs);
#  hooks    Parley pinned as chat, with two webhook receivers of the
#           bench's: added nothing is the claim (issue 23): first token
#           p50/p99 at c=1 and a fast receiver's delivery delay, with a
#           slow receiver (10 s an answer) beside it and without
#           (tests/bench/hook-side.mjs);
#  tools    Parley pinned as chat (PARLEY_ACTIONS_ALLOW_PRIVATE=on), with
#           an API of the bench's answering 5 ms later: a turn's first
#           token without a tool call and with one, the mock's tool round
#           and the API called directly; Parley's own time per tool round
#           (goal: at most 1 ms) (tests/bench/tool-side.mjs);
#  streams  pinned as chat, each round on freshly started servers (a
#           process keeps what an earlier run grew): 1,000 and 4,000
#           streams held (model: 300 ms to the first chunk, then 60 chunks
#           200 ms apart), BENCH_STREAM_ROUNDS interleaved rounds: RSS
#           per open stream summed over the server's processes, TTFT
#           p50/p90/p99, errors; then 10,000 streams on 2 workers each
#           (a Parley worker holds 2 descriptors per stream, nginx 2 per
#           stream too, and a process may open 20,000) (streams.mjs);
#  dbsize   added TTFT p50/p99 at c=1 on a fresh data directory, then after
#           loading 100k and 1M conversations straight through storaged's
#           protocol (dbload.mjs, storaged with PARLEY_SYNC=interval for the
#           load, restarted with full for the measure; pinned as for chat)
#           (dbsize.mjs);
#  dash     the dashboard's conversation list and search with 100,000
#           conversations (loaded through storaged first), and the inbox's
#           first page and a thread as a signed-in user (dash-bench.mjs);
#  abuse    the admin API while 4 clients loop WebSocket resumes of a 3 MB
#           conversation (abuse-resume.mjs, on the dash stack), and /health
#           on every worker during a login flood (abuse-login.mjs, a stack
#           of its own);
#  attach   attachments, a stack of its own on the mock: 100 clients
#           (BENCH_ATTACH_CLIENTS), each from its own loopback address,
#           upload 10 MiB (BENCH_ATTACH_MB) at once: MiB/s, and each
#           worker's and storaged's peak resident memory; the first token
#           of a turn with one 200 KiB image against one without, for an
#           agent with vision, BENCH_ATTACH_TURNS [30] turns each
#           (tests/bench/attach-bench.mjs);
#  knowledge the knowledge base on the Debian Administrator's Handbook
#           (tests/bench/knowledge/README.md), each driver pinned to the
#           server's CPU: the evaluation set's recall@1/5/10 and MRR@10,
#           SQLite FTS5's BM25 and Parley's index side by side on the
#           same chunks (search-eval.mjs, kbeval), and Parley's hybrid
#           search with the mock's embeddings (plumbing, not quality);
#           search p50/p99, Parley, FTS5 and Parley's hybrid (synthetic
#           1,536-dimension embeddings) on the same chunks and the set's
#           81 questions (kbspeed.c), at 10,000 and 100,000 chunks: the handbook's 26
#           languages (47,159 chunks, English first) read again, copy c
#           of a chunk without its text's first c words, to reach the
#           size; storaged's commit p99 and chat's first token with and
#           without 50 searches a second on 10,000 chunks (kb-side.mjs,
#           Parley pinned, the mock model), and again with the mock's
#           embeddings (each retrieving turn hybrid); vector top-20 search p50/p99 and recall@20 against
#           exact search at the same sizes, 1,536 dimensions, synthetic
#           clustered vectors (kbvecbench.c); ingest, HTML pages a second
#           through extraction,
#           chunking and indexing, a page a committed batch, flushed and
#           not (kbingest.c on the 127 en-US pages).
#  lists    one organisation's records as the install holds more
#           organisations (orglists.c, pinned, a store of its own): 20
#           webhooks and 20 knowledge sources each for 10, 300 and 900
#           organisations, with 1,000, 100 and 20 contacts each; an
#           organisation's webhooks listed, a source added to it and the
#           first page of its contacts read, p50 and the records each
#           decoded.
# Then one table of the chat, streams and dbsize figures, nginx's and
# Parley's side by side with the issue's goals (report.mjs), and each
# section's time. The raw figures of every round go to
# build/bench/bench-<UTC time>.json (and build/bench/latest.json), the
# servers' logs (level warn) in build/bench/bench-<UTC time>.logs/.
#
# Knobs (environment; defaults in brackets; the whole run takes about 10
# minutes on 2 cores, a third of it loading 1M conversations):
#   PARLEY_BIN [bin]             the build to measure (release: `make`)
#   NGINX [/usr/sbin/nginx]      nginx binary (scripts/deps.sh bench: nginx-light)
#   BENCH_ONLY [health,widget,chat,rollups,hooks,tools,streams,dbsize,dash,abuse,attach,knowledge,lists]  sections to run
#   BENCH_OUT [build/bench]      where the JSON goes
#   BENCH_SYNC [full]            storaged's PARLEY_SYNC while measuring (the
#                                goals are for full; interval to compare)
#   health:  BENCH_DURATION [10s] BENCH_CONNECTIONS [64] BENCH_THREADS [2]
#   chat:    BENCH_ROUNDS [3] rounds; BENCH_TTFT_TURNS [1000] turns at c=1
#            each way a round; BENCH_THINK_MS [5,20] the thinking models'
#            first-token delays, BENCH_THINK_TURNS [300] their c=1 turns;
#            BENCH_CONC [32] and BENCH_TURN_SECONDS [5]
#            for the loop; BENCH_PERF [none] a folder: each c=32 run of
#            nginx and Parley profiled (perf record -g on their
#            processes), the hottest programs, libraries and symbols in
#            <folder>/parley-r0.txt, parley-k20-r0.txt... (perf slows the
#            servers: a profiled run's rate and CPU are no figures)
#   streams: BENCH_STREAMS [1000,4000] held on 1 worker each;
#            BENCH_HOLD_STREAMS [10000] held on BENCH_HOLD_WORKERS [2]
#            workers each (0: skip); BENCH_STREAM_RATE [2000] streams
#            started a second; BENCH_STREAM_ROUNDS [3] interleaved rounds of
#            BENCH_STREAMS (the hold: one)
#   dbsize:  BENCH_DB_SIZES [100000,1000000] conversations loaded, measured
#            after each (and fresh first); BENCH_DB_ROUNDS [3] rounds of
#            BENCH_DB_TTFT_TURNS [1000] turns each way; BENCH_LOAD_WINDOW
#            [2048] conversations in flight while loading; BENCH_DB_DIR
#            [a temp folder] a data directory to use and keep, so a rerun
#            skips the loads (the "fresh" figure is then left out)
#   hooks:   BENCH_HOOK_ROUNDS [3] rounds of BENCH_HOOK_TURNS [300] turns at
#            c=1 each half (fast receiver; fast and slow receivers)
#   dash:    BENCH_DASH_CONVERSATIONS [100000] BENCH_DASH_PAGES [500]
#            BENCH_DASH_SEARCHES [50]
#   abuse:   BENCH_RESUME_SAMPLES [500] BENCH_RESUME_SECONDS [5]
#            BENCH_LOGIN_SECONDS [5] BENCH_LOGIN_CONCURRENCY [32]
#   knowledge: BENCH_KB_SIZES [10000,100000] chunks; BENCH_KB_REPEAT [3]
#            times each question is searched; BENCH_KB_BIN
#            [build/release/bench] the drivers (make bench builds them);
#            BENCH_KB_SIDE_ROUNDS [3], BENCH_KB_SIDE_SECONDS [10] and
#            BENCH_KB_SIDE_CHUNKS [10000]: the knowledge side rounds
# e.g. a quick look at a shared machine:
#   BENCH_ONLY=chat,streams,dbsize BENCH_ROUNDS=1 BENCH_STREAMS=200 \
#     BENCH_HOLD_STREAMS=0 BENCH_DB_SIZES=10000 nice -n 19 scripts/bench.sh
#
# Only loopback. Everything it starts is stopped on exit, Ctrl-C or failure
# (trap); the temp folder is removed.
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${PARLEY_BIN:-bin}
NGINX=${NGINX:-/usr/sbin/nginx}
SECTIONS=${BENCH_ONLY:-health,widget,chat,rollups,hooks,tools,streams,dbsize,dash,abuse,attach,knowledge,lists}
NOROLLUPS=${BENCH_NOROLLUPS:-build/release/bench/parley-storaged-norollups}
OUTDIR=${BENCH_OUT:-build/bench}
DURATION=${BENCH_DURATION:-10s}
CONNS=${BENCH_CONNECTIONS:-64}
THREADS=${BENCH_THREADS:-2}
STREAMS=${BENCH_STREAMS:-1000,4000}
HOLD=${BENCH_HOLD_STREAMS:-10000}
HOLD_WORKERS=${BENCH_HOLD_WORKERS:-2}
DB_SIZES=${BENCH_DB_SIZES:-100000,1000000}
SYNC=${BENCH_SYNC:-full}
SERVER_CPU=1	# the server under test
CLIENT_CPU=0	# the load client and the mock model
PENV_EXTRA=()	# more of Parley's environment, for one start_parley

die() { echo "bench: $*" >&2; exit 1; }
want() { [[ ",$SECTIONS," == *",$1,"* ]]; }

for s in ${SECTIONS//,/ }; do
	case $s in health | widget | chat | rollups | hooks | tools | streams | dbsize | dash | abuse | attach | knowledge | lists) ;;
	*) die "BENCH_ONLY: no section '$s' (health, widget, chat, rollups, hooks, tools, streams, dbsize, dash, abuse, attach, knowledge, lists)" ;;
	esac
done
for b in parley-masterd parley-workerd parley-fetch parley-storaged mockai; do
	[ -x "$BIN/$b" ] || die "$BIN/$b is missing: run 'make' first"
done
for c in curl node taskset; do
	command -v $c >/dev/null || die "$c is missing (scripts/deps.sh bench)"
done
command -v wrk >/dev/null || ! want health || die "wrk is missing (scripts/deps.sh bench)"
[ -x "$NGINX" ] || die "$NGINX is missing (scripts/deps.sh bench installs nginx-light)"
[ "$(nproc)" -ge 2 ] || die "the pinned sections need 2 CPUs (0 and 1)"

# Streams held need descriptors: the client and the mock hold one per
# stream, a server's worker two (client + upstream) per stream it serves.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
need_fds=8192
if want streams; then
	for n in ${STREAMS//,/ }; do [ $((2 * n + 1000)) -le "$need_fds" ] || need_fds=$((2 * n + 1000)); done
	n=$((2 * HOLD / HOLD_WORKERS))
	[ "$HOLD" -gt "$n" ] && n=$HOLD
	[ $((n + 1000)) -le "$need_fds" ] || need_fds=$((n + 1000))
fi
[ "$(ulimit -n)" = unlimited ] || [ "$(ulimit -n)" -ge "$need_fds" ] ||
	die "open files limit $(ulimit -n) is too low (need $need_fds: raise ulimit -n, or lower BENCH_HOLD_STREAMS)"

tmp=$(mktemp -d /tmp/parley-bench.XXXXXX)
chmod 755 "$tmp"	# nginx's workers run as nobody
mkdir -p "$OUTDIR"
OUT="$OUTDIR/bench-$(date -u +%Y%m%dT%H%M%SZ).json"
pids=()
cleanup() {
	local rc=$?
	set +e
	# Stop in reverse order of start: servers before the mock.
	for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
		kill -TERM "${pids[$i]}" 2>/dev/null
	done
	for p in "${pids[@]}"; do
		for _ in $(seq 1 100); do
			kill -0 "$p" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	if [ "$rc" -ne 0 ]; then
		echo "bench: failed; last lines of the logs:" >&2
		tail -n 20 "$tmp"/*.log >&2 2>/dev/null
	fi
	# The servers' logs (warnings and errors) beside the figures.
	mkdir -p "${OUT%.json}.logs" && cp "$tmp"/*.log "${OUT%.json}.logs/" 2>/dev/null
	rm -rf "$tmp"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The CPU list for taskset: any = every CPU.
cpus() { if [ "$1" = any ]; then echo "0-$(($(nproc) - 1))"; else echo "$1"; fi; }

# spawn LOG CPU|any command...: starts the command in the background on
# that CPU, its output appended to LOG; PID is its pid (taskset and env
# exec, so it is the program's own), remembered for the cleanup.
spawn() {
	local log=$1 cpu
	cpu=$(cpus "$2")
	shift 2
	taskset -c "$cpu" "$@" >>"$log" 2>&1 &
	PID=$!
	pids+=("$PID")
}

# Forgets a process that has ended (waited for).
forget_pid() {
	local i keep=()
	for i in "${pids[@]}"; do [ "$i" = "$1" ] || keep+=("$i"); done
	pids=("${keep[@]}")
}
# Stops one process we started (TERM, then KILL after 10 s) and forgets it.
stop_pid() {
	kill -TERM "$1" 2>/dev/null || true
	for _ in $(seq 1 100); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
	forget_pid "$1"
}

# A free loopback port: bind port 0 and read what the kernel chose.
free_port() {
	node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

# Waits (at most 10 s) until url answers 200.
wait_http() {
	for _ in $(seq 1 100); do
		if [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$1" 2>/dev/null)" = 200 ]; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# run CPU|any command...: runs the command on that CPU and waits for it,
# in the background so that a signal to this script stops it at once (the
# cleanup stops it with the rest); returns its status.
run() {
	local cpu p rc=0
	cpu=$(cpus "$1")
	shift
	taskset -c "$cpu" "$@" &
	p=$!
	pids+=("$p")
	wait "$p" || rc=$?
	forget_pid "$p"
	return "$rc"
}
# Runs a node script of tests/bench on the client's CPU.
bench_node() {
	run "$CLIENT_CPU" node "$@"
}

declare -A took=()
section_start() { t_section=$(date +%s); echo; echo "bench: == $1 =="; }
section_end() {
	took[$1]=$(($(date +%s) - t_section))
	echo "bench: section $1 took ${took[$1]} s"
}

# ---- the mock model (release build): SSE straight from one epoll loop
start_mock() {	# cpu
	rm -f "$tmp/mockai.port"
	spawn "$tmp/mockai.log" "$1" "$BIN/mockai" --host 127.0.0.1 --port 0 --port-file "$tmp/mockai.port"
	for _ in $(seq 1 100); do [ -s "$tmp/mockai.port" ] && break; sleep 0.05; done
	[ -s "$tmp/mockai.port" ] || die "mockai did not start"
	MPORT=$(cat "$tmp/mockai.port")
}

# ---- Parley (release build), pointed at the mock
# Random hex of n bytes (2n digits: always that long, never short).
hex() { head -c "$1" /dev/urandom | od -An -tx1 | tr -d ' \n'; }
WKEY=$(hex 16)
AKEY=$(hex 16)
DPASS="bench $(hex 12)"	# the dashboard owner (the inbox figures)
unset LISTEN_FDS LISTEN_PID NOTIFY_SOCKET OPENAI_API_KEY PARLEY_ENV NODE_ENV TRUST_PROXY MAX_HISTORY_MESSAGES \
	PARLEY_SYNC PARLEY_SYNC_INTERVAL_MS PARLEY_WORKERS PARLEY_DATA_DIR PARLEY_RUN_DIR PORT
# Parley's environment, in PENV (for env): every client here is 127.0.0.1,
# so no per-client cap or rate limit, nor a widget's new sessions a minute
# (most turns are a new session); a map large enough for 1M
# conversations (~2 GB; the default is 1 GiB).
parley_env() {	# data-dir workers; the run folder (sockets) is in $tmp
	RUNDIR="$tmp/$(basename "$1").run"
	mkdir -p "$1" "$RUNDIR"
	PENV=(PARLEY_DATA_DIR="$1" PARLEY_RUN_DIR="$RUNDIR" PARLEY_HOST=127.0.0.1
		PORT="${PPORT:-0}" PARLEY_WORKERS="$2" PARLEY_LOG_LEVEL=warn
		OPENAI_BASE_URL="http://127.0.0.1:$MPORT/v1" WIDGET_API_KEY="$WKEY" ADMIN_API_KEY="$AKEY"
		RATE_LIMIT_MAX_REQUESTS=0 PARLEY_MAX_CONNS_PER_CLIENT=0 PARLEY_MAP_SIZE_MB=16384
		WIDGET_NEW_SESSIONS_PER_MINUTE=0
		CORS_ORIGIN='*' PARLEY_WEBHOOK_ALLOW_PRIVATE=on DASHBOARD_PASSWORD="$DPASS"
		"${PENV_EXTRA[@]}")
}
start_storaged() {	# data-dir sync cpu; STORAGED: another storaged binary
	parley_env "$1" 1
	rm -f "$RUNDIR/storaged.sock"
	spawn "$tmp/storaged.log" "$3" env "${PENV[@]}" PARLEY_SYNC="$2" PARLEY_SYNC_INTERVAL_MS=100 \
		"${STORAGED:-$BIN/parley-storaged}"
	SPID=$PID
	SOCK="$RUNDIR/storaged.sock"
	for _ in $(seq 1 300); do [ -S "$SOCK" ] && break; sleep 0.1; done
	[ -S "$SOCK" ] || die "parley-storaged did not start"
}
start_parley() {	# data-dir workers cpu: storaged (PARLEY_SYNC=$SYNC) + masterd
	PPORT=$(free_port)
	start_storaged "$1" "$SYNC" "$3"
	parley_env "$1" "$2"
	spawn "$tmp/masterd.log" "$3" env "${PENV[@]}" "$BIN/parley-masterd"
	MPID=$PID
	wait_http "http://127.0.0.1:$PPORT/health" || die "parley did not answer /health"
}
stop_parley() {
	stop_pid "$MPID"
	stop_pid "$SPID"
}

# ---- nginx, configured here: a static file (health) or a streaming proxy
# to the mock (the side by side)
start_nginx() {	# name workers cpu static|proxy
	local d="$tmp/$1" listen_opts=''
	NPORT=$(free_port)
	mkdir -p "$d/logs" "$d/tmp"
	[ "$2" -gt 1 ] && listen_opts=' reuseport'
	if [ "$4" = static ]; then
		loc="root $tmp/www; default_type application/json;"
	else
		loc="proxy_pass http://mock; proxy_http_version 1.1; proxy_set_header Connection \"\";
			proxy_buffering off; proxy_request_buffering off; proxy_read_timeout 120s;"
	fi
	cat >"$d/nginx.conf" <<EOF
worker_processes $2;
worker_rlimit_nofile 20000;
pid $d/nginx.pid;
error_log $tmp/$1.log warn;
events { worker_connections 19000; }
http {
	access_log off;
	client_body_temp_path $d/tmp/body;
	proxy_temp_path $d/tmp/proxy;
	fastcgi_temp_path $d/tmp/fastcgi;
	uwsgi_temp_path $d/tmp/uwsgi;
	scgi_temp_path $d/tmp/scgi;
	keepalive_requests 1000000;
	upstream mock {
		server 127.0.0.1:${MPORT:-1};
		keepalive 256;
		keepalive_requests 1000000;
	}
	server {
		listen 127.0.0.1:$NPORT$listen_opts;
		location / { $loc }
	}
}
EOF
	spawn "$tmp/$1.log" "$3" "$NGINX" -p "$d" -c "$d/nginx.conf" -g 'daemon off;'
	NPID=$PID
	for _ in $(seq 1 100); do
		[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "http://127.0.0.1:$NPORT/" 2>/dev/null)" != 000 ] && return 0
		sleep 0.1
	done
	die "nginx did not answer"
}

# Fills a stopped Parley's data directory to n conversations through
# storaged alone (PARLEY_SYNC=interval), saved in the JSON under key.
load_db() {	# data-dir n key
	start_storaged "$1" interval "$SERVER_CPU"
	bench_node tests/bench/dbload.mjs --storaged "$SOCK" --to "$2" --out "$OUT" --key "$3" ||
		die "loading $2 conversations failed"
	stop_pid "$SPID"
}

printf '{"started": "%s", "sections": "%s", "sync": "%s", "bin": "%s", "fuzzers": %s}\n' \
	"$(date -u +%FT%TZ)" "$SECTIONS" "$SYNC" "$BIN" \
	"$([ -n "$(pgrep -f build/fuzz/bin/fuzz_ || true)" ] && echo true || echo false)" >"$OUT"
echo "bench: $(nproc) CPUs; sections: $SECTIONS; storaged with PARLEY_SYNC=$SYNC; raw figures: $OUT"
[ -z "$(pgrep -f build/fuzz/bin/fuzz_ || true)" ] ||
	echo "bench: NOTE: fuzzers are running on this machine: the figures are only indicative"
# The knowledge section alone starts no server.
[ "$SECTIONS" = knowledge ] || start_mock "$CLIENT_CPU"

# ================================================================ health
if want health; then
	section_start health
	start_parley "$tmp/health-data" 2 any
	mkdir -p "$tmp/www"
	curl -s "http://127.0.0.1:$PPORT/health" >"$tmp/www/health.json"
	body_bytes=$(wc -c <"$tmp/www/health.json")
	chmod 755 "$tmp/www"
	chmod 644 "$tmp/www/health.json"
	start_nginx nginx-static 2 any static
	wait_http "http://127.0.0.1:$NPORT/health.json" || die "nginx did not serve the file"

	run_wrk() {	# name url
		echo "bench: wrk -t$THREADS -c$CONNS -d$DURATION --latency $2"
		run any timeout 120 wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency "$2" >"$tmp/$1.wrk" 2>&1 ||
			die "wrk failed against $1: $(cat "$tmp/$1.wrk")"
	}
	field() {	# file -> "rps p50 p99 errors total"
		awk '
			/^Requests\/sec:/ { rps = $2 }
			/^ +50%/ { p50 = $2 }
			/^ +99%/ { p99 = $2 }
			/Non-2xx or 3xx responses:/ { non2xx = $NF }
			/Socket errors:/ { sub(/.*Socket errors: /, ""); gsub(/,/, ""); serr = $2 + $4 + $6 + $8 }
			/requests in/ { total = $1 }
			END { printf "%s %s %s %d %s\n", rps, p50, p99, non2xx + serr, total }
		' "$1"
	}
	# a short warm-up for each, then the measured runs
	timeout 30 wrk -t1 -c8 -d1s "http://127.0.0.1:$PPORT/health" >/dev/null 2>&1 || true
	timeout 30 wrk -t1 -c8 -d1s "http://127.0.0.1:$NPORT/health.json" >/dev/null 2>&1 || true
	run_wrk parley "http://127.0.0.1:$PPORT/health"
	run_wrk nginx "http://127.0.0.1:$NPORT/health.json"
	read -r p_rps p_50 p_99 p_err p_total < <(field "$tmp/parley.wrk")
	read -r n_rps n_50 n_99 n_err n_total < <(field "$tmp/nginx.wrk")
	[ -n "$p_rps" ] && [ -n "$n_rps" ] || die "could not read wrk's output"
	ratio=$(awk -v a="$p_rps" -v b="$n_rps" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')
	echo
	echo "Parley GET /health vs nginx static file ($body_bytes-byte body), loopback,"
	echo "2 workers each, unpinned, wrk -t$THREADS -c$CONNS -d$DURATION on $(nproc) cores (wrk shares them)."
	echo
	printf '%-28s %16s %16s\n' "" "Parley" "nginx"
	printf '%-28s %16s %16s\n' "requests/s" "$p_rps" "$n_rps"
	printf '%-28s %16s %16s\n' "latency p50" "$p_50" "$n_50"
	printf '%-28s %16s %16s\n' "latency p99" "$p_99" "$n_99"
	printf '%-28s %16s %16s\n' "requests in run" "$p_total" "$n_total"
	printf '%-28s %16s %16s\n' "errors (non-2xx + socket)" "$p_err" "$n_err"
	printf '%-28s %16s\n' "Parley / nginx throughput" "$ratio"
	stop_pid "$NPID"
	want widget || stop_parley
	section_end health
fi

# ================================================================ widget
if want widget; then
	section_start widget
	want health || start_parley "$tmp/health-data" 2 any
	bundle_url="http://127.0.0.1:$PPORT/widget/chat-widget.js"
	raw_size=$(curl -s -o /dev/null -w '%{http_code} %{size_download}' "$bundle_url")
	gz_size=$(curl -s -o /dev/null -H 'Accept-Encoding: gzip' -w '%{http_code} %{size_download}' "$bundle_url")
	[ "${raw_size%% *}" = 200 ] && [ "${gz_size%% *}" = 200 ] ||
		die "GET /widget/chat-widget.js answered ${raw_size%% *} (is widget/dist/chat-widget.js built? make widget)"
	raw_size=${raw_size#* }
	gz_size=${gz_size#* }
	printf 'widget core (GET /widget/chat-widget.js): %d bytes raw (%.1f KiB), %d bytes gzipped (%.1f KiB; budget 12288 bytes)\n' \
		"$raw_size" "$(awk -v n="$raw_size" 'BEGIN { print n / 1024 }')" \
		"$gz_size" "$(awk -v n="$gz_size" 'BEGIN { print n / 1024 }')"
	# The parts and languages the core imports when it needs one, as served.
	for f in widget/dist/parts/*.js widget/dist/lang/*.js; do
		[ -e "$f" ] || continue
		u="/widget/${f#widget/dist/}"
		sizes=$(curl -s -o /dev/null -w '%{http_code} %{size_download}' "http://127.0.0.1:$PPORT$u")
		gzs=$(curl -s -o /dev/null -H 'Accept-Encoding: gzip' -w '%{http_code} %{size_download}' "http://127.0.0.1:$PPORT$u")
		[ "${sizes%% *}" = 200 ] && [ "${gzs%% *}" = 200 ] || die "GET $u answered ${sizes%% *}"
		printf '  %-28s %6d bytes raw, %5d bytes gzipped\n' "$u" "${sizes#* }" "${gzs#* }"
	done
	stop_parley
	section_end widget
fi

# ================================================================ chat, streams
# The side-by-side stacks: both servers on the server's CPU, loaded in turn.
side_args() {
	echo --mock "$MPORT" --nginx "$NPORT" --nginx-pids "$NPID" --parley "$PPORT" \
		--parley-pids "$SPID,$MPID" --key "$WKEY" --admin "$AKEY" --out "$OUT"
}
if want chat; then
	section_start chat
	start_nginx nginx-proxy 1 "$SERVER_CPU" proxy
	start_parley "$tmp/chat-data" 1 "$SERVER_CPU"
	# shellcheck disable=SC2046
	bench_node tests/bench/chat-side.mjs $(side_args) || die "the chat rounds failed"
	stop_pid "$NPID"
	stop_parley
	section_end chat
fi
# ================================================================ rollups
# The reports' rollups' cost to a turn: two Parleys, with and without
# them, side by side on the server's CPU (rollups-side.mjs).
if want rollups; then
	section_start rollups
	[ -x "$NOROLLUPS" ] || die "$NOROLLUPS is missing: make bench builds it"
	start_parley "$tmp/rollups-on" 1 "$SERVER_CPU"
	on_port=$PPORT on_spid=$SPID on_mpid=$MPID
	STORAGED=$NOROLLUPS start_parley "$tmp/rollups-off" 1 "$SERVER_CPU"
	run "$CLIENT_CPU" timeout 900 node tests/bench/rollups-side.mjs --mock "$MPORT" --parley "$on_port" \
		--off "$PPORT" --parley-pids "$on_spid,$on_mpid" --key "$WKEY" --admin "$AKEY" --out "$OUT" ||
		die "the rollups rounds failed"
	stop_parley
	MPID=$on_mpid SPID=$on_spid stop_parley
	section_end rollups
fi
# ================================================================ hooks
# Chat's first token and a fast webhook receiver's delivery delay, with a
# slow receiver (10 s an answer) beside it and without (hook-side.mjs).
if want hooks; then
	section_start hooks
	start_parley "$tmp/hooks-data" 1 "$SERVER_CPU"
	run "$CLIENT_CPU" timeout 600 node tests/bench/hook-side.mjs --parley "$PPORT" --key "$WKEY" \
		--admin "$AKEY" --out "$OUT" || die "the webhooks rounds failed"
	stop_parley
	section_end hooks
fi
# ================================================================ tools
# What a tool round adds to the first token, and Parley's share of it.
if want tools; then
	section_start tools
	[ -n "${MPORT:-}" ] || start_mock "$CLIENT_CPU"
	PENV_EXTRA=(PARLEY_ACTIONS_ALLOW_PRIVATE=on)
	start_parley "$tmp/tools-data" 1 "$SERVER_CPU"
	PENV_EXTRA=()
	run "$CLIENT_CPU" timeout 600 node tests/bench/tool-side.mjs --parley "$PPORT" --mock "$MPORT" \
		--key "$WKEY" --admin "$AKEY" --out "$OUT" || die "the tools rounds failed"
	stop_parley
	section_end tools
fi
# Each round of streams on freshly started servers (and a fresh data
# directory): a process keeps the memory an earlier run grew.
streams_round() {	# n workers rounds
	local r
	for ((r = 1; r <= $3; r++)); do
		start_nginx "nginx-$1-$r" "$2" "$SERVER_CPU" proxy
		start_parley "$tmp/streams-$1-$r" "$2" "$SERVER_CPU"
		# shellcheck disable=SC2046
		bench_node tests/bench/streams.mjs --n "$1" --workers "$2" $(side_args) ||
			die "$1 streams failed"
		stop_pid "$NPID"
		stop_parley
		rm -rf "$tmp/streams-$1-$r"
	done
}
if want streams; then
	section_start streams
	for n in ${STREAMS//,/ }; do
		streams_round "$n" 1 "${BENCH_STREAM_ROUNDS:-3}"
	done
	[ "$HOLD" -gt 0 ] && streams_round "$HOLD" "$HOLD_WORKERS" 1
	section_end streams
fi

# ================================================================ dbsize
if want dbsize; then
	section_start dbsize
	db=${BENCH_DB_DIR:-$tmp/db-data}
	db_measure() {	# label
		start_parley "$db" 1 "$SERVER_CPU"
		bench_node tests/bench/dbsize.mjs --label "$1" --mock "$MPORT" --parley "$PPORT" \
			--parley-pids "$SPID,$MPID" --key "$WKEY" --admin "$AKEY" --out "$OUT" ||
			die "the first token at database $1 failed"
		stop_parley
	}
	if [ -n "$(ls -A "$db" 2>/dev/null)" ]; then
		echo "bench: BENCH_DB_DIR $db holds data already: no fresh measure; loads top it up"
	else
		db_measure fresh
	fi
	for n in ${DB_SIZES//,/ }; do
		label=$n
		[ $((n % 1000000)) = 0 ] && label=$((n / 1000000))M
		[ $((n % 1000000)) != 0 ] && [ $((n % 1000)) = 0 ] && label=$((n / 1000))k
		load_db "$db" "$n" "load-$label"
		db_measure "$label"
	done
	echo "bench: data directory after the dbsize section: $(du -sh "$db" | cut -f1)"
	section_end dbsize
fi

# ================================================================ dash, abuse
if want dash || want abuse; then
	n=${BENCH_DASH_CONVERSATIONS:-100000}
	if want dash; then
		section_start dash
		load_db "$tmp/dash-data" "$n" load-dash
	fi
	start_parley "$tmp/dash-data" 2 any
	if want dash; then
		run any timeout 400 node tests/bench/dash-bench.mjs --parley "$PPORT" --key "$WKEY" \
			--admin "$AKEY" --target "$n" --password "$DPASS" ||
			die "the dashboard benchmark failed"
		section_end dash
	fi
	if want abuse; then
		section_start abuse
		run any timeout 200 node tests/bench/abuse-resume.mjs --parley "$PPORT" --admin "$AKEY" \
			--storaged "$SOCK" || die "the resume benchmark failed"
		stop_parley
		run any env PARLEY_BIN="$(cd "$BIN" && pwd)" timeout 120 node tests/bench/abuse-login.mjs ||
			die "the login flood benchmark failed"
		section_end abuse
	else
		stop_parley
	fi
fi

# ================================================================ attach
if want attach; then
	section_start attach
	run any env PARLEY_BIN="$(cd "$BIN" && pwd)" timeout 900 node tests/bench/attach-bench.mjs --out "$OUT" ||
		die "the attachments benchmark failed"
	section_end attach
fi

# ================================================================ knowledge
if want knowledge; then
	section_start knowledge
	kbin=${BENCH_KB_BIN:-build/release/bench}
	hb=/usr/share/doc/debian-handbook/html
	kbq=tests/bench/knowledge/handbook-questions.json
	for b in kbeval kbspeed kbingest kbvecbench; do
		[ -x "$kbin/$b" ] || die "$kbin/$b is missing: run 'make bench' (it builds it)"
	done
	[ -d "$hb/en-US" ] || die "$hb/en-US is missing (scripts/deps.sh bench installs debian-handbook)"
	echo "bench: quality on the handbook's evaluation set (FTS5 and Parley on the same chunks;"
	echo "       parley hybrid: with the mock's embeddings, which test the plumbing, not the quality)"
	node tests/bench/knowledge/handbook-chunks.mjs --out "$tmp/kb-en-US.jsonl"
	[ -n "${MPORT:-}" ] || start_mock "$CLIENT_CPU"
	run "$SERVER_CPU" node tests/bench/knowledge/search-eval.mjs --chunks "$tmp/kb-en-US.jsonl" \
		--questions "$kbq" --kbeval "$kbin/kbeval" --embed "http://127.0.0.1:$MPORT/v1" \
		--out "${OUT%.json}.knowledge.json" || die "the knowledge evaluation failed"
	for d in "$hb"/*/; do
		l=$(basename "$d")
		[ "$l" = en-US ] || node tests/bench/knowledge/handbook-chunks.mjs --dir "$d" \
			--out "$tmp/kb-$l.jsonl" >/dev/null 2>&1 || die "chunking $d failed"
	done
	cat "$tmp/kb-en-US.jsonl" $(ls "$tmp"/kb-*.jsonl | grep -v /kb-en-US.jsonl) >"$tmp/kb-all.jsonl"
	node -e 'for (const q of JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).questions)
		console.log(q.q.replace(/\s+/g, " "))' "$kbq" >"$tmp/kb-queries.txt"
	echo "bench: search speed on CPU $SERVER_CPU, $(wc -l <"$tmp/kb-all.jsonl") chunks of the handbook's $(ls -d "$hb"/*/ | wc -l) languages, read again to reach a size"
	kb_sizes=${BENCH_KB_SIZES:-10000,100000}
	for n in ${kb_sizes//,/ }; do
		run "$SERVER_CPU" "$kbin/kbspeed" "$tmp/kb-all.jsonl" "$n" "${BENCH_KB_REPEAT:-3}" \
			"$tmp/kb-queries.txt" hybrid || die "kbspeed at $n chunks failed"
	done
	echo "bench: ingest on CPU $SERVER_CPU (goal: 100 pages/s)"
	run "$SERVER_CPU" "$kbin/kbingest" "$hb/en-US" 3 || die "kbingest failed"
	run "$SERVER_CPU" "$kbin/kbingest" "$hb/en-US" 3 nosync || die "kbingest failed"
	echo "bench: vector search on CPU $SERVER_CPU, 1,536 dimensions (goal: top-20 p99 <= 10 ms at 100,000, recall@20 >= 0.95)"
	run "$SERVER_CPU" "$kbin/kbvecbench" 1536 ${kb_sizes//,/ } || die "kbvecbench failed"
	echo "bench: knowledge side: storaged's commits and chat's first token, with and without 50 searches a second"
	[ -n "${MPORT:-}" ] || start_mock "$CLIENT_CPU"
	start_parley "$tmp/kb-side-data" 1 "$SERVER_CPU"
	run "$CLIENT_CPU" timeout 900 node tests/bench/kb-side.mjs --parley "$PPORT" --key "$WKEY" --admin "$AKEY" \
		--chunks "$tmp/kb-all.jsonl" --questions "$kbq" --out "$OUT" || die "the knowledge side rounds failed"
	stop_parley
	echo "bench: knowledge side with the mock's embeddings: each retrieving turn embeds its question and searches by words and meaning"
	PENV_EXTRA=(PARLEY_EMBED_MODEL=mock-embed)
	start_parley "$tmp/kb-side-hybrid-data" 1 "$SERVER_CPU"
	PENV_EXTRA=()
	run "$CLIENT_CPU" timeout 900 node tests/bench/kb-side.mjs --parley "$PPORT" --key "$WKEY" --admin "$AKEY" \
		--chunks "$tmp/kb-all.jsonl" --questions "$kbq" --out "$OUT" --embedded 1 ||
		die "the knowledge side rounds with embeddings failed"
	stop_parley
	section_end knowledge
fi

# ================================================================ lists
if want lists; then
	section_start lists
	ol=${BENCH_ORGLISTS:-build/release/bench/orglists}
	[ -x "$ol" ] || die "$ol is missing: run 'make bench' (it builds it)"
	for oc in 10:1000 300:100 900:20; do
		run "$SERVER_CPU" "$ol" "${oc%:*}" 20 200 "${oc#*:}" ||
			die "orglists at ${oc%:*} organisations failed"
	done
	section_end lists
fi

# ================================================================ the table
if [ -s "$OUT" ]; then
	node tests/bench/report.mjs --in "$OUT"
	cp "$OUT" "$OUTDIR/latest.json"
fi
for s in ${SECTIONS//,/ }; do printf 'bench: %-8s %5s s\n' "$s" "${took[$s]:-}"; done
echo "bench: raw figures in $OUT"
exit 0
