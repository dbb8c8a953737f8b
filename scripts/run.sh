#!/usr/bin/env bash
# `make run`: the whole product in the foreground, data under ./var/.
# Reads .env when present (PARLEY_ENV_FILE names another file) as
# systemd's EnvironmentFile= reads it (parley-masterd --env,
# docs/configuration.md ".env and parley.env"): a line it cannot read
# stops us here with its number. Variables already set (and not empty)
# in the environment win over the file.
# Ctrl-C (or SIGTERM) stops every process cleanly.
#
# With no OPENAI_API_KEY (and no OPENAI_BASE_URL) it starts the project's
# mock model (bin/mockai) on a free loopback port and points Parley at it,
# so the product works out of the box; the mock answers "You said: …",
# a chunk every MOCKAI_DELAY_MS (30) milliseconds.
#
# It listens on 127.0.0.1 (PARLEY_HOST says otherwise) and refuses to
# start when something already answers on PORT. Once Parley listens it
# prints the URLs of the test pages (/widget-test.html,
# /headless-test.html; not served in production) and of the dashboard
# with its password; never before, so a start that fails prints none.
set -euo pipefail
cd "$(dirname "$0")/.."

ENV_FILE=${PARLEY_ENV_FILE:-.env}
# The programs (the tests point this at build/test/bin).
BIN=${PARLEY_RUN_BIN:-bin}

# The last element of the array named $1 (a status line), or "" for none.
last_status() {
	local -n a=$1
	[ ${#a[@]} -gt 0 ] && printf '%s' "${a[${#a[@]}-1]}" || true
}

# The env file's variables into the environment, unless already set there.
# parley-masterd's exit status rides at the end of its output ("status=N",
# printed by the substitution once it has exited, 137 if killed): read
# there, it needs no `wait` on the process substitution, which inherits
# set -e (so set +e there, or a failure would print no status).
load_env() {
	local pairs kv key rc
	mapfile -d '' pairs < <(set +e; "$BIN/parley-masterd" --env "$ENV_FILE"; printf 'status=%d' "$?")
	rc=$(last_status pairs)
	if [ "$rc" != status=0 ]; then
		echo "run: fix that line of $ENV_FILE (it is read as systemd's EnvironmentFile= reads it: see docs/configuration.md, \".env and parley.env\"; parley-masterd --env: ${rc:-no status})" >&2
		exit 1
	fi
	unset "pairs[${#pairs[@]}-1]"
	for kv in ${pairs[@]+"${pairs[@]}"}; do
		key=${kv%%=*}
		[ -n "${!key:-}" ] || export "$kv"
	done
}
if [ -f "$ENV_FILE" ]; then
	load_env
	echo "run: read settings from $ENV_FILE"
fi

# Keys let a newcomer try the chat and admin APIs (and the dashboard) at
# once. A missing or empty key or DASHBOARD_PASSWORD is generated (40
# random letters and digits) into the env file: into its empty NAME=
# line, or one line appended, every other byte and the file's mode kept
# (a new file is 0600), so the next run finds it and adds nothing. One
# that is set but short (24 characters for a key, 12 for the password)
# is left alone: outside production a short key is taken with a warning,
# and Parley refuses to start with a short password, saying which one.
missing=()
for name in WIDGET_API_KEY ADMIN_API_KEY DASHBOARD_PASSWORD; do
	[ -n "${!name:-}" ] || missing+=("$name")
done
if [ ${#missing[@]} -gt 0 ]; then
	# Its status last, as load_env reads it.
	mapfile -t generated < <(set +e; "$BIN/parley-masterd" --env-fill "$ENV_FILE" "${missing[@]}"; echo "status=$?")
	rc=$(last_status generated)
	if [ "$rc" != status=0 ]; then
		echo "run: could not write the keys into $ENV_FILE (parley-masterd --env-fill: ${rc:-no status})" >&2
		exit 1
	fi
	unset "generated[${#generated[@]}-1]"
	load_env
	echo "run: generated ${generated[*]} into $ENV_FILE:"
	for name in "${generated[@]}"; do
		echo "run:   $name=${!name}"
	done
fi

export PORT=${PORT:-4000}
# A laptop's run: this machine only, unless PARLEY_HOST says otherwise.
export PARLEY_HOST=${PARLEY_HOST:-127.0.0.1}
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
# The address a browser on this machine uses.
case "${PARLEY_HOST:-0.0.0.0}" in
0.0.0.0|'') url_host=127.0.0.1 ;;
::|'[::]') url_host='[::1]' ;;
*:*) url_host="[${PARLEY_HOST#[}"; url_host="${url_host%]}]" ;;
*) url_host=$PARLEY_HOST ;;
esac

# Another instance (or anything) on the port: stop before starting
# anything, rather than print URLs that another server answers.
probe_host=${url_host#[}
probe_host=${probe_host%]}
if timeout 2 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$probe_host" "$PORT" 2>/dev/null; then
	echo "run: port $PORT on $url_host is already in use (another make run or Parley?): stop it, or set PORT" >&2
	exit 1
fi
# Another make run on another port, with this run directory: its
# storaged holds the lock (flock), and its socket would pass for ours.
lock=$PARLEY_RUN_DIR/storaged.lock
if [ -e "$lock" ] && ! flock -n "$lock" true 2>/dev/null; then
	echo "run: another Parley (make run?) uses $PARLEY_RUN_DIR: stop it, or set PARLEY_RUN_DIR and PARLEY_DATA_DIR to others" >&2
	exit 1
fi
if [ ! -e "$PARLEY_DATA_DIR/data.mdb" ]; then
	echo "run: no database in $PARLEY_DATA_DIR yet; a new one will be created"
fi
mkdir -p "$PARLEY_DATA_DIR" "$PARLEY_RUN_DIR"

# Whether process $1 runs and is this script's child: a zombie does not
# run, and once the shell has reaped ours the kernel may give its pid to
# another process (one with workers of its own, under a loaded test run).
alive() {
	local st
	read -r st 2>/dev/null < "/proc/$1/stat" || return 1
	st=${st##*) }
	# shellcheck disable=SC2086
	set -- $st	# state, parent
	[ "$1" != Z ] && [ "$2" = "$$" ]
}
# Whether process $1 has started a worker (a child running parley-workerd).
# Not "a child of another name than its own": its own name, read while the
# forked shell had yet to exec masterd, was bash's or setsid's, and a loaded
# machine let masterd fail its bind and leave a sanitizer's helper (its own
# name) before the children were read: the URLs were printed for a masterd
# that was exiting.
started_worker() {
	local c
	for c in $(cat "/proc/$1/task/$1/children" 2>/dev/null); do
		[ "$(cat "/proc/$c/comm" 2>/dev/null)" = parley-workerd ] && return 0
	done
	return 1
}

pids=()
# Also when the terminal is gone (SIGHUP, a closed window or SSH session):
# its output may then fail, which must not end this script before what it
# started has stopped.
stop() {	# [exit status]
	local rc=${1:-0}
	trap - INT TERM HUP
	trap '' PIPE
	echo "run: stopping" 2>/dev/null || true
	# masterd first, so workers finish with storage (and the model) still
	# there; then storaged; the mock model last.
	for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
		kill -TERM "${pids[i]}" 2>/dev/null || true
		wait "${pids[i]}" 2>/dev/null || true
	done
	echo "run: stopped" 2>/dev/null || true
	exit "$rc"
}
trap stop INT TERM HUP

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
spid=$!
pids+=("$spid")
for _ in $(seq 1 100); do
	[ -S "$PARLEY_RUN_DIR/storaged.sock" ] && break
	alive "$spid" || break
	sleep 0.05
done
if ! alive "$spid" || [ ! -S "$PARLEY_RUN_DIR/storaged.sock" ]; then
	echo "run: parley-storaged could not start (its message is above)" >&2
	stop 1
fi

setsid "$BIN/parley-masterd" &
mpid=$!
pids+=("$mpid")
# masterd binds before it starts its first worker: a worker means it
# listens. If it exits first (the port taken, a bad address), say so and
# stop, printing no URL and no password.
for _ in $(seq 1 400); do
	# Still ours once its child is seen: the pid was not given again.
	started_worker "$mpid" && alive "$mpid" && break
	if ! alive "$mpid"; then
		echo "run: parley-masterd could not start (its message is above; is another Parley on $url_host:$PORT?)" >&2
		stop 1
	fi
	sleep 0.05
done

# Each still up (storaged may end once its store fails to open): a start
# that fails prints no URL and no password.
for p in "${pids[@]}"; do
	if ! alive "$p"; then
		echo "run: $(cat "/proc/$p/comm" 2>/dev/null || echo a process) ended at start (its message is above)" >&2
		stop 1
	fi
done

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
		echo "run: widget embed page:   $base/test-pages/embed-test.html?widget=$wid  (the default widget; its embed code: $base/dashboard/#/widgets/$wid, or the API: /v1/admin/widgets)"
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
# exit status (masterd refusing a setting exits non-zero). Looked at in
# turn: bash's wait -n does not see a child that ended before it is
# called.
rc=0
while :; do
	for p in "${pids[@]}"; do
		alive "$p" && continue
		wait "$p" 2>/dev/null || rc=$?
		stop "$rc"
	done
	sleep 0.2
done
