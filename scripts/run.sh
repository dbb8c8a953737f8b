#!/usr/bin/env bash
# `make run`: the whole product in the foreground, data under ./var/.
# Reads .env when present; variables already in the environment win.
# Ctrl-C (or SIGTERM) stops every process cleanly.
set -euo pipefail
cd "$(dirname "$0")/.."

# Load .env without overriding what the environment already sets.
if [ -f .env ]; then
	while IFS= read -r line || [ -n "$line" ]; do
		case "$line" in ''|'#'*) continue ;; esac
		key=${line%%=*}
		val=${line#*=}
		val=${val%\"}; val=${val#\"}
		[[ "$key" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || continue
		[ -z "${!key+x}" ] && export "$key=$val"
	done < .env
	echo "run: read settings from .env"
fi

# An admin key lets a newcomer try the admin API at once; it is kept in
# .env (mode 0600) so the next run uses the same one.
if [ -z "${ADMIN_API_KEY:-}" ]; then
	ADMIN_API_KEY=$(head -c 32 /dev/urandom | base64 | tr -d '/+=' | head -c 40)
	umask 077
	printf 'ADMIN_API_KEY=%s\n' "$ADMIN_API_KEY" >> .env
	export ADMIN_API_KEY
	echo "run: generated ADMIN_API_KEY into .env (read it there)"
fi

export PORT=${PORT:-4000}
export PARLEY_DATA_DIR=${PARLEY_DATA_DIR:-$PWD/var/data}
export PARLEY_RUN_DIR=${PARLEY_RUN_DIR:-$PWD/var/run}
mkdir -p "$PARLEY_DATA_DIR" "$PARLEY_RUN_DIR"

pids=()
stop() {
	trap - INT TERM
	echo "run: stopping"
	# masterd first, so workers finish with storage still there.
	for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
		kill -TERM "${pids[i]}" 2>/dev/null || true
		wait "${pids[i]}" 2>/dev/null || true
	done
	echo "run: stopped"
	exit 0
}
trap stop INT TERM

# Each daemon runs in its own session so that a Ctrl-C reaches only this
# script, which then asks each daemon once to stop gracefully (a second
# signal would make masterd cut its workers' grace short).
setsid bin/parley-storaged &
pids+=($!)
for _ in $(seq 1 100); do
	[ -S "$PARLEY_RUN_DIR/storaged.sock" ] && break
	sleep 0.05
done

setsid bin/parley-masterd &
pids+=($!)

echo "run: Parley on http://127.0.0.1:$PORT  (health: /health, data: $PARLEY_DATA_DIR) — Ctrl-C stops it"
# If either daemon exits on its own, stop the other too.
wait -n "${pids[@]}" || true
stop
