# SPDX-License-Identifier: MIT
# lib.sh — helpers for integration tests: start a real herald on a free
# loopback port, talk to it with curl, stop it by PID, and check results.
#
# Usage in a test:  . "$(dirname "$0")/lib.sh"; herald_start [flags…]
# then $URL, $PORT, $HERALD_PID, $DATA_DIR, $LOG are set. Everything is
# cleaned up on exit. `ok`, `fail`, `expect_eq`, `expect_match` report
# results; the script exits non-zero if any check failed.
#
# Waiting: `eventually CMD…` reruns a command until it succeeds and
# `wait_for FILE REGEX` until a line matches; both give up after $WAIT_S
# seconds (default 90), which only bounds a failure: they return as soon as
# the condition holds, so the deadline is generous enough for a loaded
# machine running the ASan build.
set -u
BUILD=${BUILD:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../../build" && pwd)}
HERALD=$BUILD/herald
CLI=$BUILD/herald-cli
TOKEN=development
PASSED=0
FAILED=0
WAIT_S=${WAIT_S:-90}
WORK=$(mktemp -d /tmp/herald-it.XXXXXX)
PIDS=()

cleanup() {
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
  rm -rf "$WORK"
}
trap cleanup EXIT

ok()   { PASSED=$((PASSED + 1)); echo "ok - $*"; }
fail() { FAILED=$((FAILED + 1)); echo "not ok - $*"; }

expect_eq() { # name expected actual
  if [ "$2" == "$3" ]; then ok "$1"; else fail "$1: expected [$2], got [$3]"; fi
}
expect_match() { # name regex actual
  if [[ "$3" =~ $2 ]]; then ok "$1"; else fail "$1: [$3] does not match /$2/"; fi
}

# Reruns a command (its output shown) every 0.05 s until it succeeds: 0,
# or 1 after $WAIT_S seconds.
eventually() { # cmd…
  local end=$((SECONDS + WAIT_S))
  until "$@"; do
    [ "$SECONDS" -lt "$end" ] || return 1
    sleep 0.05
  done
}

# Starts herald with a fresh data dir (or $DATA_DIR if set) and extra flags.
herald_start() {
  DATA_DIR=${DATA_DIR:-$WORK/data}
  LOG=$WORK/herald.$((${#PIDS[@]})).log
  : >"$LOG" # exists before the first read below (the redirect comes later)
  "$HERALD" --listen 127.0.0.1:0 --data-dir "$DATA_DIR" "$@" 2>"$LOG" &
  HERALD_PID=$!
  PIDS+=("$HERALD_PID")
  PORT=""
  local end=$((SECONDS + WAIT_S))
  while :; do
    PORT=$(sed -n 's/.*listening on [^ ]*:\([0-9]*\) .*/\1/p' "$LOG" | head -1)
    [ -n "$PORT" ] && break
    kill -0 "$HERALD_PID" 2>/dev/null || { cat "$LOG"; echo "herald died at start"; exit 1; }
    [ "$SECONDS" -lt "$end" ] || { cat "$LOG"; echo "herald did not start in ${WAIT_S}s"; exit 1; }
    sleep 0.05
  done
  URL=http://127.0.0.1:$PORT
}

# A real redis-server for a test: redis_setup picks a free port and a data
# dir ($RPORT, $RDIR; redis-cli as "${R[@]}"), redis_start starts it
# (append-only, fsync always: what Redis acknowledged survives its own
# kill -9; restartable on the same port and data) with $REDIS_PID set.
# Whether file has at least n lines matching the regex (for eventually).
has_lines() { [ "$(grep -cE "$2" "$1" 2>/dev/null)" -ge "$3" ]; } # file regex n
# Several nodes on one store: starts herald once per name with
# "${FLAGS[@]}" and --node-id <name>, each with its own data directory;
# URLS[<name>] is its URL, and `on <name> ARGS...` runs herald-cli on it.
declare -A URLS
nodes_start() { # name...
  local n
  for n; do
    DATA_DIR=$WORK/data.$n herald_start "${FLAGS[@]}" --node-id "$n"
    URLS[$n]=$URL
  done
}
on() { local n=$1; shift; "$CLI" --server "${URLS[$n]}" "$@"; }
# A receiver that verifies with $SECRET: `herald-cli webhook-listen` on a
# free port, its requests as JSON lines in $WORK/<name>.out; sets
# LISTEN_PORT.
webhook_listen() { # name
  "$CLI" webhook-listen --secret "$SECRET" --port 0 >"$WORK/$1.out" 2>"$WORK/$1.err" &
  PIDS+=($!)
  wait_for "$WORK/$1.err" '^listening on http://127.0.0.1:[0-9]+$' || { cat "$WORK/$1.err"; exit 1; }
  LISTEN_PORT=$(sed -n 's|^listening on http://127.0.0.1:\([0-9]*\)$|\1|p' "$WORK/$1.err")
}
redis_setup() {
  command -v redis-server >/dev/null || { echo "redis-server not installed (scripts/deps.sh)"; exit 1; }
  RPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  RDIR=$WORK/redis
  mkdir -p "$RDIR"
  R=(redis-cli -p "$RPORT")
}
redis_start() {
  local end=$((SECONDS + WAIT_S))
  local from
  while :; do
    from=$(cat "$WORK/redis.log" 2>/dev/null | wc -l)
    redis-server --port "$RPORT" --bind 127.0.0.1 --dir "$RDIR" --save '' --appendonly yes \
      --appendfsync always --daemonize no >>"$WORK/redis.log" 2>&1 &
    REDIS_PID=$!
    PIDS+=("$REDIS_PID")
    while kill -0 "$REDIS_PID" 2>/dev/null; do
      # answered by this redis-server (not another one on a port taken meanwhile)
      "${R[@]}" info server 2>/dev/null | grep -qE "^process_id:$REDIS_PID[^0-9]" &&
        { REDIS_STARTED=1; return 0; }
      [ "$SECONDS" -lt "$end" ] || { cat "$WORK/redis.log"; echo "redis-server did not start in ${WAIT_S}s"; exit 1; }
      sleep 0.05
    done
    # It exited: at the first start its port may have been taken since
    # redis_setup picked it (nothing knows the port yet: pick another);
    # later, herald nodes are configured with it, so that is fatal.
    if [ -n "${REDIS_STARTED:-}" ] || ! tail -n +$((from + 1)) "$WORK/redis.log" | grep -q 'Address already in use' ||
       [ "$SECONDS" -ge "$end" ]; then
      cat "$WORK/redis.log"; echo "redis-server did not start"; exit 1
    fi
    redis_setup
  done
}

# Waits for a line matching regex in file: up to $WAIT_S seconds, or, with
# tries, that many tries of 0.05 s. 0 when it came, else 1.
wait_for() { # file regex [tries]
  if [ -n "${3:-}" ]; then
    for _ in $(seq 1 "$3"); do grep -qE "$2" "$1" 2>/dev/null && return 0; sleep 0.05; done
    return 1
  fi
  eventually grep -qE "$2" "$1" 2>/dev/null
}
# Each sink's module is created on the sink's own thread once herald
# listens: until then /v1/sinks says "starting". Waits until none does.
sinks_settled() {
  eventually sinks_none_starting ||
    fail "a sink is still starting: $(curl -s "$URL/v1/sinks" "${auth[@]}")"
}
sinks_none_starting() {
  curl -s "$URL/v1/sinks" "${auth[@]}" |
    python3 -c 'import json,sys; sys.exit(any(s["state"] == "starting" for s in json.load(sys.stdin)["sinks"]))'
}
# The ids of the JSON event lines of file, space-separated.
ids_in() {
  python3 -c 'import json,sys; print(" ".join(json.loads(l)["id"] for l in open(sys.argv[1]) if l.startswith("{")))' "$1"
}

# Stops herald with SIGTERM and returns its exit code.
herald_stop() {
  kill -TERM "$HERALD_PID" 2>/dev/null
  wait "$HERALD_PID"
}

# curl wrapper: prints "<status> <body>".
http() { # method path [curl args…]
  local m=$1 p=$2; shift 2
  curl -s -o "$WORK/body" -w '%{http_code}' -X "$m" "$URL$p" "$@" > "$WORK/status"
  echo "$(cat "$WORK/status") $(cat "$WORK/body")"
}
auth=(-H "Authorization: Bearer $TOKEN")

# Fails the test if the server log shows a sanitizer report.
check_log_clean() {
  if grep -qE "ERROR: AddressSanitizer|runtime error:|LeakSanitizer" "$WORK"/herald.*.log 2>/dev/null; then
    fail "sanitizer report in the server log"; grep -h -A20 -E "ERROR: AddressSanitizer|runtime error:|LeakSanitizer" "$WORK"/herald.*.log | head -40
  else ok "server log has no sanitizer report"; fi
}

finish() {
  check_log_clean
  echo "$PASSED passed, $FAILED failed"
  [ "$FAILED" -eq 0 ]
}
