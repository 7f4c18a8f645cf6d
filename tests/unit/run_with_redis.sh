#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# run_with_redis.sh — runs a store unit test against the Redis engine:
# starts a throwaway redis-server on a free loopback port (no RDB, an
# append-only file fsynced on every write, in a temporary folder), runs the
# test binary given as $1 with HERALD_TEST_ENGINE=redis and
# HERALD_TEST_REDIS_URL, stops redis-server by its PID and exits with the
# test's status. Used by CTest (unit.test_store.redis, unit.test_outbox.redis).
set -u
command -v redis-server >/dev/null || { echo "redis-server not installed (scripts/deps.sh)"; exit 1; }
dir=$(mktemp -d /tmp/herald-unit-redis.XXXXXX)
rpid=""
cleanup() { [ -n "$rpid" ] && { kill "$rpid" 2>/dev/null; wait "$rpid" 2>/dev/null; }; rm -rf "$dir"; }
trap cleanup EXIT
# Up to 90 s for redis-server to answer (it returns at once when it does);
# a port taken between picking it and redis-server binding it: another.
end=$((SECONDS + 90))
while :; do
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  redis-server --port "$port" --bind 127.0.0.1 --dir "$dir" --save '' --appendonly yes \
    --appendfsync always --daemonize no >"$dir/redis.log" 2>&1 &
  rpid=$!
  up=""
  while kill -0 "$rpid" 2>/dev/null && [ "$SECONDS" -lt "$end" ]; do
    # answered by this redis-server, not another one on that port
    redis-cli -p "$port" info server 2>/dev/null | grep -qE "^process_id:$rpid[^0-9]" && { up=1; break; }
    sleep 0.05
  done
  [ -n "$up" ] && break
  kill "$rpid" 2>/dev/null; wait "$rpid" 2>/dev/null; rpid=""
  grep -q 'Address already in use' "$dir/redis.log" && [ "$SECONDS" -lt "$end" ] ||
    { cat "$dir/redis.log"; echo "redis-server did not start"; exit 1; }
done
HERALD_TEST_ENGINE=redis HERALD_TEST_REDIS_URL="redis://127.0.0.1:$port" "$@"
