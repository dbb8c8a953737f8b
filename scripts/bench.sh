#!/usr/bin/env bash
# Benchmark (run by `make bench` after `make`), in one run:
#  1. Parley's GET /health against nginx serving a static file of the same
#     size, both on loopback, both with two worker processes, measured with
#     the same wrk run, printed side by side;
#  2. the widget bundle's size as Parley serves it, raw and gzipped (the
#     issue's budget: at most 12 KiB gzipped);
#  3. chat turns direct to the mock model (bin/mockai, SSE) against the same
#     turns through Parley (NDJSON): added time to first token, turns per
#     second with every turn checked stored, RSS per open stream, with the
#     targets beside the figures (tests/bench/chat-bench.mjs), with
#     storaged's default durability (PARLEY_SYNC=full); then storaged is
#     restarted with PARLEY_SYNC=nometa, then =interval, and each time the
#     time to first token and turns per second through Parley are measured
#     again, printed as extra labelled rows. The first table is always the
#     default's;
#  4. the dashboard's conversation list: the server time of the first page
#     and of a search with 100,000 conversations stored
#     (tests/bench/dash-bench.mjs);
#  5. GET /health on every worker, idle and during a flood of wrong
#     dashboard logins from many IPv6 /64s (tests/bench/abuse-login.mjs);
#  6. the admin API's conversation list alone and while 4 clients loop
#     WebSocket resumes of a 3 MB conversation, p50 and p99, and how many
#     resumes were let through (tests/bench/abuse-resume.mjs).
# A figure is printed, never asserted.
#
#   scripts/bench.sh                 uses bin/ (the release build)
#   PARLEY_BIN=dir scripts/bench.sh  another build
#   BENCH_DURATION=10s BENCH_CONNECTIONS=64 BENCH_THREADS=2 (defaults, /health)
#   BENCH_TTFT_TURNS=2000 BENCH_TURN_SECONDS=8 BENCH_STREAMS=2000 (defaults, chat)
#   BENCH_DASH_CONVERSATIONS=100000 BENCH_DASH_PAGES=500 BENCH_DASH_SEARCHES=50 (dashboard)
#   BENCH_LOGIN_SECONDS=5 BENCH_LOGIN_CONCURRENCY=32 (login flood)
#   BENCH_RESUME_SAMPLES=500 BENCH_RESUME_SECONDS=5 (resume loop)
#
# Everything it starts is stopped on exit (trap); temp files are removed.
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${PARLEY_BIN:-bin}
DURATION=${BENCH_DURATION:-10s}
CONNS=${BENCH_CONNECTIONS:-64}
THREADS=${BENCH_THREADS:-2}
NGINX=${NGINX:-/usr/sbin/nginx}

die() { echo "bench: $*" >&2; exit 1; }

for b in parley-masterd parley-workerd parley-storaged mockai; do
	[ -x "$BIN/$b" ] || die "$BIN/$b is missing: run 'make' first"
done
command -v wrk >/dev/null || die "wrk is missing (scripts/deps.sh bench)"
command -v curl >/dev/null || die "curl is missing (scripts/deps.sh bench)"
command -v node >/dev/null || die "node is missing (scripts/deps.sh bench)"
[ -x "$NGINX" ] || die "$NGINX is missing (scripts/deps.sh bench)"

tmp=$(mktemp -d /tmp/parley-bench.XXXXXX)
pids=()
cleanup() {
	local rc=$?
	set +e
	# Stop in reverse order: nginx, masterd (its workers follow), storaged, mockai.
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
	rm -rf "$tmp"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A free loopback port: bind port 0 and read what the kernel chose.
free_port() {
	if command -v python3 >/dev/null; then
		python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
	else
		node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
	fi
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

PPORT=$(free_port)
NPORT=$(free_port)
while [ "$NPORT" = "$PPORT" ]; do NPORT=$(free_port); done

# 2,000 streams held need about 3 descriptors each across the processes.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
[ "$(ulimit -n)" = unlimited ] || [ "$(ulimit -n)" -ge 8192 ] ||
	die "open files limit $(ulimit -n) is too low for 2,000 streams (raise ulimit -n to 8192 or more)"

# ---- the mock model (release build): SSE straight from one epoll loop
"$BIN/mockai" --host 127.0.0.1 --port 0 --port-file "$tmp/mockai.port" >"$tmp/mockai.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do [ -s "$tmp/mockai.port" ] && break; sleep 0.05; done
[ -s "$tmp/mockai.port" ] || die "mockai did not start"
MPORT=$(cat "$tmp/mockai.port")

# ---- Parley (release build), two workers, pointed at the mock
WKEY=$(head -c 64 /dev/urandom | tr -dc 'A-Za-z0-9' | head -c 32)
AKEY=$(head -c 64 /dev/urandom | tr -dc 'A-Za-z0-9' | head -c 32)
while [ ${#WKEY} -lt 32 ]; do WKEY+=x; done
while [ ${#AKEY} -lt 32 ]; do AKEY+=y; done
mkdir -p "$tmp/data" "$tmp/run"
export PARLEY_DATA_DIR="$tmp/data" PARLEY_RUN_DIR="$tmp/run" PARLEY_HOST=127.0.0.1 \
	PORT="$PPORT" PARLEY_WORKERS=2 PARLEY_LOG_LEVEL=warn \
	OPENAI_BASE_URL="http://127.0.0.1:$MPORT/v1" WIDGET_API_KEY="$WKEY" ADMIN_API_KEY="$AKEY" \
	RATE_LIMIT_MAX_REQUESTS=0 CORS_ORIGIN='*'
unset LISTEN_FDS LISTEN_PID NOTIFY_SOCKET OPENAI_API_KEY PARLEY_ENV NODE_ENV TRUST_PROXY MAX_HISTORY_MESSAGES \
	PARLEY_SYNC PARLEY_SYNC_INTERVAL_MS
"$BIN/parley-storaged" >"$tmp/storaged.log" 2>&1 &
SPID=$!
pids+=($!)
for _ in $(seq 1 100); do [ -S "$tmp/run/storaged.sock" ] && break; sleep 0.1; done
[ -S "$tmp/run/storaged.sock" ] || die "parley-storaged did not start"
"$BIN/parley-masterd" >"$tmp/masterd.log" 2>&1 &
MPID=$!
pids+=($!)
wait_http "http://127.0.0.1:$PPORT/health" || die "parley did not answer /health"

# ---- nginx, two workers, serving a file the size of Parley's /health body
mkdir -p "$tmp/www" "$tmp/nginx/logs" "$tmp/nginx/tmp"
curl -s "http://127.0.0.1:$PPORT/health" >"$tmp/www/health.json"
body_bytes=$(wc -c <"$tmp/www/health.json")
chmod 755 "$tmp" "$tmp/www"
chmod 644 "$tmp/www/health.json"
cat >"$tmp/nginx/nginx.conf" <<EOF
worker_processes 2;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx.log warn;
events { worker_connections 4096; }
http {
	access_log off;
	client_body_temp_path $tmp/nginx/tmp/body;
	proxy_temp_path $tmp/nginx/tmp/proxy;
	fastcgi_temp_path $tmp/nginx/tmp/fastcgi;
	uwsgi_temp_path $tmp/nginx/tmp/uwsgi;
	scgi_temp_path $tmp/nginx/tmp/scgi;
	keepalive_requests 1000000;
	server {
		listen 127.0.0.1:$NPORT;
		root $tmp/www;
		default_type application/json;
		location / { }
	}
}
EOF
"$NGINX" -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf" -g 'daemon off;' >>"$tmp/nginx.log" 2>&1 &
pids+=($!)
wait_http "http://127.0.0.1:$NPORT/health.json" || die "nginx did not answer"

# ---- measure
run_wrk() {	# name url
	echo "bench: wrk -t$THREADS -c$CONNS -d$DURATION --latency $2"
	timeout 120 wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency "$2" >"$tmp/$1.wrk" 2>&1 ||
		die "wrk failed against $1: $(cat "$tmp/$1.wrk")"
}
field() {	# file -> "rps p50 p99 errors"
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
echo "2 workers each, wrk -t$THREADS -c$CONNS -d$DURATION on $(nproc) cores (wrk shares them)."
echo
printf '%-28s %16s %16s\n' "" "Parley" "nginx"
printf '%-28s %16s %16s\n' "requests/s" "$p_rps" "$n_rps"
printf '%-28s %16s %16s\n' "latency p50" "$p_50" "$n_50"
printf '%-28s %16s %16s\n' "latency p99" "$p_99" "$n_99"
printf '%-28s %16s %16s\n' "requests in run" "$p_total" "$n_total"
printf '%-28s %16s %16s\n' "errors (non-2xx + socket)" "$p_err" "$n_err"
printf '%-28s %16s\n' "Parley / nginx throughput" "$ratio"
echo

# ---- the widget bundle, as served (make builds widget/dist/)
bundle_url="http://127.0.0.1:$PPORT/widget/chat-widget.js"
raw_size=$(curl -s -o /dev/null -w '%{http_code} %{size_download}' "$bundle_url")
gz_size=$(curl -s -o /dev/null -H 'Accept-Encoding: gzip' -w '%{http_code} %{size_download}' "$bundle_url")
[ "${raw_size%% *}" = 200 ] && [ "${gz_size%% *}" = 200 ] ||
	die "GET /widget/chat-widget.js answered ${raw_size%% *} (is widget/dist/chat-widget.js built? make widget)"
raw_size=${raw_size#* }
gz_size=${gz_size#* }
printf 'widget bundle (GET /widget/chat-widget.js): %d bytes raw (%.1f KiB), %d bytes gzipped (%.1f KiB; budget 12288 bytes)\n' \
	"$raw_size" "$(awk -v n="$raw_size" 'BEGIN { print n / 1024 }')" \
	"$gz_size" "$(awk -v n="$gz_size" 'BEGIN { print n / 1024 }')"
echo

# ---- chat: direct to the mock vs through Parley (stop nginx first: it
# would only take CPU)
kill -TERM "${pids[${#pids[@]} - 1]}" 2>/dev/null || true
timeout 300 node tests/bench/chat-bench.mjs --parley "$PPORT" --mock "$MPORT" \
	--master "$MPID" --storaged "$SPID" --key "$WKEY" --admin "$AKEY" \
	--mode "storaged with PARLEY_SYNC=full (the default)" --save "$tmp/direct.json" ||
	die "the chat benchmark failed"

# ---- the faster durability settings, as extra rows: storaged restarted
# on the same data with another PARLEY_SYNC (the workers reconnect by
# themselves), then the chat parts 1 and 2 again through Parley.
restart_storaged() {	# PARLEY_SYNC value
	kill -TERM "$SPID" 2>/dev/null || true
	for _ in $(seq 1 100); do kill -0 "$SPID" 2>/dev/null || break; sleep 0.1; done
	kill -0 "$SPID" 2>/dev/null && die "parley-storaged did not stop"
	wait "$SPID" 2>/dev/null || true
	PARLEY_SYNC=$1 PARLEY_SYNC_INTERVAL_MS=100 "$BIN/parley-storaged" >>"$tmp/storaged.log" 2>&1 &
	SPID=$!
	pids+=($!)
	# The last part may have left the mock slow (streams held): make it answer at once.
	curl -s -o /dev/null -X POST -d '{"chunks":10,"delay_ms":0,"first_delay_ms":0}' \
		"http://127.0.0.1:$MPORT/_mock/config" || die "mock config failed"
	for _ in $(seq 1 100); do
		if [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 -H "x-api-key: $WKEY" \
		    -H 'Content-Type: application/json' -d '{"sessionId":"bench-ready","message":"ready?"}' \
		    "http://127.0.0.1:$PPORT/v1/chat" 2>/dev/null)" = 200 ]; then
			return 0
		fi
		sleep 0.1
	done
	die "Parley did not answer a chat turn after storaged restarted with PARLEY_SYNC=$1"
}
for mode in nometa interval; do
	case $mode in
	nometa) note="one disk flush per commit instead of two; a power loss may undo the last commit" ;;
	interval) note="a turn is acknowledged before it is on disk; synced every 100 ms" ;;
	esac
	restart_storaged "$mode"
	timeout 300 node tests/bench/chat-bench.mjs --parley "$PPORT" --mock "$MPORT" \
		--master "$MPID" --storaged "$SPID" --key "$WKEY" --admin "$AKEY" \
		--extra "PARLEY_SYNC=$mode" --note "$note" --direct "$tmp/direct.json" ||
		die "the chat benchmark (PARLEY_SYNC=$mode) failed"
done

# ---- the dashboard's conversation list and search with 100,000
# conversations stored, storaged back on its default durability
restart_storaged full
timeout 400 node tests/bench/dash-bench.mjs --parley "$PPORT" --key "$WKEY" \
	--admin "$AKEY" --target "${BENCH_DASH_CONVERSATIONS:-100000}" ||
	die "the dashboard benchmark failed"

# ---- the admin API while 4 clients loop resumes of a 3 MB conversation
timeout 200 node tests/bench/abuse-resume.mjs --parley "$PPORT" --admin "$AKEY" \
	--storaged "$tmp/run/storaged.sock" || die "the resume benchmark failed"

# ---- /health on every worker during a login flood, on a stack of its own
# (the harness's, from the same build)
PARLEY_BIN="$(cd "$BIN" && pwd)" timeout 120 node tests/bench/abuse-login.mjs ||
	die "the login flood benchmark failed"
exit 0
