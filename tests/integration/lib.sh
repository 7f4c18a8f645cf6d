# lib.sh — helpers for integration tests: start a real herald on a free
# loopback port, talk to it with curl, stop it by PID, and check results.
#
# Usage in a test:  . "$(dirname "$0")/lib.sh"; herald_start [flags…]
# then $URL, $PORT, $HERALD_PID, $DATA_DIR, $LOG are set. Everything is
# cleaned up on exit. `ok`, `fail`, `expect_eq`, `expect_match` report
# results; the script exits non-zero if any check failed.
set -u
BUILD=${BUILD:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../../build" && pwd)}
HERALD=$BUILD/herald
CLI=$BUILD/herald-cli
TOKEN=development
PASSED=0
FAILED=0
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

# Starts herald with a fresh data dir (or $DATA_DIR if set) and extra flags.
herald_start() {
  DATA_DIR=${DATA_DIR:-$WORK/data}
  LOG=$WORK/herald.$((${#PIDS[@]})).log
  "$HERALD" --listen 127.0.0.1:0 --data-dir "$DATA_DIR" "$@" 2>"$LOG" &
  HERALD_PID=$!
  PIDS+=("$HERALD_PID")
  for _ in $(seq 1 200); do
    PORT=$(sed -n 's/.*listening on [^ ]*:\([0-9]*\) .*/\1/p' "$LOG" | head -1)
    [ -n "$PORT" ] && break
    kill -0 "$HERALD_PID" 2>/dev/null || { cat "$LOG"; echo "herald died at start"; exit 1; }
    sleep 0.05
  done
  [ -n "$PORT" ] || { cat "$LOG"; echo "herald did not start"; exit 1; }
  URL=http://127.0.0.1:$PORT
}

# A real redis-server for a test: redis_setup picks a free port and a data
# dir ($RPORT, $RDIR; redis-cli as "${R[@]}"), redis_start starts it
# (append-only, fsync always: what Redis acknowledged survives its own
# kill -9; restartable on the same port and data) with $REDIS_PID set.
redis_setup() {
  command -v redis-server >/dev/null || { echo "redis-server not installed (scripts/deps.sh)"; exit 1; }
  RPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  RDIR=$WORK/redis
  mkdir -p "$RDIR"
  R=(redis-cli -p "$RPORT")
}
redis_start() {
  redis-server --port "$RPORT" --bind 127.0.0.1 --dir "$RDIR" --save '' --appendonly yes \
    --appendfsync always --daemonize no >>"$WORK/redis.log" 2>&1 &
  REDIS_PID=$!
  PIDS+=("$REDIS_PID")
  for _ in $(seq 1 100); do [ "$("${R[@]}" ping 2>/dev/null)" == PONG ] && return 0; sleep 0.05; done
  cat "$WORK/redis.log"; echo "redis-server did not start"; exit 1
}

# Waits for a line matching regex in file (tries of 0.05 s, default 200);
# tests that need another kind of wait define their own wait_for.
wait_for() { # file regex [tries]
  for _ in $(seq 1 "${3:-200}"); do grep -qE "$2" "$1" 2>/dev/null && return 0; sleep 0.05; done
  return 1
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
