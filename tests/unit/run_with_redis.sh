#!/usr/bin/env bash
# run_with_redis.sh — runs a store unit test against the Redis engine:
# starts a throwaway redis-server on a free loopback port (no RDB, an
# append-only file fsynced on every write, in a temporary folder), runs the
# test binary given as $1 with HERALD_TEST_ENGINE=redis and
# HERALD_TEST_REDIS_URL, stops redis-server by its PID and exits with the
# test's status. Used by CTest (unit.test_store.redis, unit.test_outbox.redis).
set -u
command -v redis-server >/dev/null || { echo "redis-server not installed (scripts/deps.sh)"; exit 1; }
dir=$(mktemp -d /tmp/herald-unit-redis.XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
redis-server --port "$port" --bind 127.0.0.1 --dir "$dir" --save '' --appendonly yes \
  --appendfsync always --daemonize no >"$dir/redis.log" 2>&1 &
rpid=$!
cleanup() { kill "$rpid" 2>/dev/null; wait "$rpid" 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT
for _ in $(seq 1 100); do
  [ "$(redis-cli -p "$port" ping 2>/dev/null)" == PONG ] && break
  sleep 0.05
done
[ "$(redis-cli -p "$port" ping 2>/dev/null)" == PONG ] || { cat "$dir/redis.log"; echo "redis-server did not start"; exit 1; }
HERALD_TEST_ENGINE=redis HERALD_TEST_REDIS_URL="redis://127.0.0.1:$port" "$@"
