#!/usr/bin/env bash
# `make run`: the whole product in the foreground, data under ./var/.
# Reads .env when present (PARLEY_ENV_FILE names another file); variables
# already in the environment win. Ctrl-C (or SIGTERM) stops every process
# cleanly.
#
# With no OPENAI_API_KEY (and no OPENAI_BASE_URL) it starts the project's
# mock model (bin/mockai) on a free loopback port and points Parley at it,
# so the product works out of the box; the mock answers "You said: …",
# a chunk every MOCKAI_DELAY_MS (30) milliseconds.
#
# Once started it prints the URLs of the test pages (/widget-test.html,
# /headless-test.html; not served in production) and of the dashboard
# with its password.
set -euo pipefail
cd "$(dirname "$0")/.."

ENV_FILE=${PARLEY_ENV_FILE:-.env}
# The programs (the tests point this at build/test/bin).
BIN=${PARLEY_RUN_BIN:-bin}

# Load the env file without overriding what the environment already sets.
if [ -f "$ENV_FILE" ]; then
	while IFS= read -r line || [ -n "$line" ]; do
		case "$line" in ''|'#'*) continue ;; esac
		key=${line%%=*}
		val=${line#*=}
		val=${val%\"}; val=${val#\"}
		[[ "$key" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || continue
		[ -z "${!key+x}" ] && export "$key=$val"
	done < "$ENV_FILE"
	echo "run: read settings from $ENV_FILE"
fi

# Keys let a newcomer try the chat and admin APIs (and the dashboard) at
# once. A missing key or DASHBOARD_PASSWORD is generated (40 random
# letters and digits) and kept in the env file (mode 0600) so the next
# run uses the same one. One that is set but too short (24 characters for
# a key, 12 for the password) is left alone: Parley refuses to start with
# it and says which one.
genkey() {
	local k=''
	while [ ${#k} -lt 40 ]; do
		k+=$(head -c 64 /dev/urandom | tr -dc 'A-Za-z0-9')
	done
	printf '%s' "${k:0:40}"
}
generated=()
for name in WIDGET_API_KEY ADMIN_API_KEY DASHBOARD_PASSWORD; do
	[ -n "${!name:-}" ] && continue
	val=$(genkey)
	(umask 077; printf '%s=%s\n' "$name" "$val" >> "$ENV_FILE")
	export "$name=$val"
	generated+=("$name")
done
if [ ${#generated[@]} -gt 0 ]; then
	echo "run: generated ${generated[*]} into $ENV_FILE:"
	for name in "${generated[@]}"; do
		echo "run:   $name=${!name}"
	done
fi

export PORT=${PORT:-4000}
export PARLEY_DATA_DIR=${PARLEY_DATA_DIR:-$PWD/var/data}
export PARLEY_RUN_DIR=${PARLEY_RUN_DIR:-$PWD/var/run}
# A scraper on this machine reads /metrics without the key here; an
# installed service keeps the default (off: the key always).
export PARLEY_METRICS_OPEN=${PARLEY_METRICS_OPEN:-loopback}
# Every setting checked before anything starts: a bad one stops us here,
# with parley-masterd's line naming it, and exit status 1.
if ! "$BIN/parley-masterd" --check; then
	echo "run: fix that setting (in $ENV_FILE or the environment)" >&2
	exit 1
fi
mkdir -p "$PARLEY_DATA_DIR" "$PARLEY_RUN_DIR"

pids=()
stop() {	# [exit status]
	local rc=${1:-0}
	trap - INT TERM
	echo "run: stopping"
	# masterd first, so workers finish with storage (and the model) still
	# there; then storaged; the mock model last.
	for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
		kill -TERM "${pids[i]}" 2>/dev/null || true
		wait "${pids[i]}" 2>/dev/null || true
	done
	echo "run: stopped"
	exit "$rc"
}
trap stop INT TERM

# Each process runs in its own session so that a Ctrl-C reaches only this
# script, which then asks each one once to stop gracefully (a second
# signal would make masterd cut its workers' grace short).

if [ -z "${OPENAI_API_KEY:-}" ] && [ -z "${OPENAI_BASE_URL:-}" ]; then
	portfile=$PARLEY_RUN_DIR/mockai.port
	rm -f "$portfile"
	setsid "$BIN/mockai" --host 127.0.0.1 --port 0 --port-file "$portfile" \
	    --delay-ms "${MOCKAI_DELAY_MS:-30}" &
	pids+=($!)
	for _ in $(seq 1 100); do
		[ -s "$portfile" ] && break
		kill -0 "${pids[0]}" 2>/dev/null || break
		sleep 0.05
	done
	if [ ! -s "$portfile" ]; then
		echo "run: the mock model (bin/mockai) did not start" >&2
		stop 1
	fi
	export OPENAI_BASE_URL="http://127.0.0.1:$(cat "$portfile")/v1"
	echo "run: no OPENAI_API_KEY set: using the LOCAL MOCK MODEL (bin/mockai) at $OPENAI_BASE_URL"
	echo "run:   replies are \"You said: <your message>\"; set OPENAI_API_KEY (in $ENV_FILE) for a real model"
elif [ -z "${OPENAI_API_KEY:-}" ]; then
	echo "run: no OPENAI_API_KEY set: using the model at OPENAI_BASE_URL=$OPENAI_BASE_URL without a key"
fi

setsid "$BIN/parley-storaged" &
pids+=($!)
for _ in $(seq 1 100); do
	[ -S "$PARLEY_RUN_DIR/storaged.sock" ] && break
	sleep 0.05
done

setsid "$BIN/parley-masterd" &
pids+=($!)

# The address a browser on this machine uses.
case "${PARLEY_HOST:-0.0.0.0}" in
0.0.0.0|'') url_host=127.0.0.1 ;;
::|'[::]') url_host='[::1]' ;;
*:*) url_host="[${PARLEY_HOST#[}"; url_host="${url_host%]}]" ;;
*) url_host=$PARLEY_HOST ;;
esac
base="http://$url_host:$PORT"
echo "run: Parley on $base  (health: /health, data: $PARLEY_DATA_DIR) — Ctrl-C stops it"
prod=${PARLEY_ENV:-${NODE_ENV:-}}
if [ "$prod" != production ]; then
	echo "run: dashboard:           $base/dashboard/  (password: $DASHBOARD_PASSWORD)"
else
	echo "run: dashboard:           $base/dashboard/  (password: DASHBOARD_PASSWORD in $ENV_FILE or the environment)"
fi
if [ "$prod" != production ]; then
	echo "run: widget test page:    $base/widget-test.html"
	echo "run: headless test page:  $base/headless-test.html"
	# The data-widget embed needs a widget's public id: the default one's.
	wid=$(PARLEY_URL="$base" node -e '
		const url = process.env.PARLEY_URL, key = process.env.ADMIN_API_KEY;
		(async () => {
			for (let i = 0; i < 100; i++) {
				try {
					const r = await fetch(url + "/v1/admin/widgets", { headers: { "x-admin-api-key": key } });
					if (r.ok) { console.log((await r.json()).widgets[0].widget_id); return; }
				} catch {}
				await new Promise((res) => setTimeout(res, 100));
			}
		})();' 2>/dev/null || true)
	if [ -n "$wid" ]; then
		echo "run: widget embed page:   $base/test-pages/embed-test.html?widget=$wid  (the default widget; manage widgets with /v1/admin/widgets)"
	fi
	# The pages call the API from Parley's own origin, which CORS_ORIGIN
	# must allow when it is a list.
	if [ -n "${CORS_ORIGIN:-}" ] && [[ ",${CORS_ORIGIN// /}," != *",*,"* ]] &&
	    [[ ",${CORS_ORIGIN// /}," != *",$base,"* ]]; then
		echo "run:   note: CORS_ORIGIN=$CORS_ORIGIN does not list $base, so the test pages' chat requests get 403; add it to try them"
	fi
else
	echo "run: production: the test pages are not served"
fi
# If any process exits on its own, stop the others too, and pass on its
# exit status (masterd refusing a setting exits non-zero).
rc=0
wait -n "${pids[@]}" || rc=$?
stop "$rc"
