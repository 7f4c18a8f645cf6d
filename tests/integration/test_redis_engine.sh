#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_redis_engine.sh — herald with the Redis store engine (--engine redis)
# against a real redis-server started here on a free loopback port (no RDB,
# append-only file fsynced on every write): publish and history through the
# CLI, the stream entries in Redis, rooms and a webhook endpoint (a delivery
# reaching `herald-cli webhook-listen`), refused settings and an unreachable
# Redis; then herald killed with SIGKILL under four concurrent publishers
# and restarted: every acknowledged event is in history, rooms and
# endpoints are still there; last, a second herald node on the same Redis
# reads the same history and both nodes continue one id sequence. (Events
# reaching every node's subscribers: test_redis_nodes.sh.)
. "$(dirname "$0")/lib.sh"

redis_setup
redis_start

P="it:"
FLAGS=(--engine redis --redis-url "redis://127.0.0.1:$RPORT/0" --redis-prefix "$P" --threads 1)
ids_of() { python3 -c 'import json,sys; print(" ".join(json.loads(l)["id"] for l in sys.stdin if l.strip()))'; }
history_ids() { # url : every id in history, one per line
  curl -s "${auth[@]}" "$1/v1/events?since=0&limit=10000" |
    python3 -c 'import json,sys; print("\n".join(e["id"] for e in json.load(sys.stdin)["events"]))'
}

# --- settings herald refuses, and a Redis that is not there
out=$("$HERALD" --engine nosuch 2>&1); rc=$?
expect_eq "an unknown engine is refused" "2 herald: --engine must be sqlite or redis" "$rc $out"
"$HERALD" --listen 127.0.0.1:0 --engine redis --redis-url "redis://127.0.0.1:1" 2>"$WORK/down.log"
rc=$?
[ "$rc" -ne 0 ] && grep -q "cannot connect to Redis at 127.0.0.1:1" "$WORK/down.log" \
  && ok "with no Redis, herald stops at start and says why" || fail "rc $rc: $(cat "$WORK/down.log")"

# --- a Redis that would lose acknowledged events: refused by default,
# taken with a warning under --sync-full 0 (then set back to always)
"${R[@]}" CONFIG SET appendfsync everysec >/dev/null
"$HERALD" --listen 127.0.0.1:0 --data-dir "$WORK/weak" "${FLAGS[@]}" 2>"$WORK/weak.log"
rc=$?
expect_eq "appendfsync everysec: herald refuses to start (exit 1)" 1 "$rc"
expect_match "and says why and what to do" "Redis runs with appendfsync everysec: .*--sync-full 0" "$(cat "$WORK/weak.log")"
DATA_DIR=$WORK/weak herald_start "${FLAGS[@]}" --sync-full 0
expect_match "with --sync-full 0 it runs and warns" "store: Redis runs with appendfsync everysec: .*may be lost" "$(cat "$LOG")"
herald_stop
"${R[@]}" CONFIG SET appendfsync always >/dev/null
"${R[@]}" FLUSHDB >/dev/null

# --- one node: publish, history, the stream
herald_start "${FLAGS[@]}"
export HERALD_SERVER=$URL
expect_match "the store is Redis" "store: redis 127.0.0.1:$RPORT db 0 prefix 'it:'" "$(cat "$LOG")"
grep -q "appendfsync" "$LOG" && fail "durability warning with appendfsync always" || ok "no durability warning"
ids=$(printf '%s\n' '{"type":"chat.message","room_id":"lobby","data":{"n":1}}' \
  '{"type":"note.x","user_id":"u1","data":{"n":2}}' '{"type":"note.y"}' | "$CLI" publish | tr '\n' ' ')
expect_eq "publish through the CLI gets ids 1 2 3" "1 2 3 " "$ids"
expect_eq "history through the CLI" "1 2 3" "$("$CLI" history --limit 10 | ids_of)"
expect_eq "history filtered by room" "1" "$("$CLI" history --room lobby | ids_of)"
expect_eq "history filtered by user" "2" "$("$CLI" history --user u1 | ids_of)"
expect_eq "history since an id" "3" "$("$CLI" history --since 2 | ids_of)"
expect_eq "the log is the stream ${P}log, entry ids <id>-0" "1-0 2-0 3-0" \
  "$("${R[@]}" xrange "${P}log" - + | grep -E '^[0-9]+-0$' | tr '\n' ' ' | sed 's/ $//')"
expect_eq "an entry's fields" "t chat.message ms d {\"n\":1} r lobby" \
  "$("${R[@]}" xrange "${P}log" 1-0 1-0 | sed -n '2,9p' | sed '4s/.*/ms/;3d' | tr '\n' ' ' | sed 's/ $//')"

# --- rooms and a webhook endpoint
"$CLI" room create --room-id lobby >/dev/null && ok "room created" || fail "room create"
expect_match "room list" '"lobby"' "$("$CLI" room list)"
SECRET="whsec_$(head -c 32 /dev/urandom | base64 -w0)"
"$CLI" webhook-listen --secret "$SECRET" --port 0 >"$WORK/hook.out" 2>"$WORK/hook.err" &
PIDS+=($!)
wait_for "$WORK/hook.err" "listening on" || { cat "$WORK/hook.err"; exit 1; }
LPORT=$(sed -n 's|^listening on http://127.0.0.1:\([0-9]*\)$|\1|p' "$WORK/hook.err")
EP=$("$CLI" webhooks add --url "http://127.0.0.1:$LPORT/hook" --event-types 'vote.*' --secret "$SECRET" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
vote=$("$CLI" publish vote.cast '{"choice":"b"}' --room lobby)
wait_for "$WORK/hook.out" '"vote.cast"' && ok "the webhook was delivered" || fail "no delivery"
expect_eq "verified, with webhook-id msg_<event id>_<endpoint>" "true msg_${vote}_$EP" \
  "$(head -1 "$WORK/hook.out" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(str(d["verified"]).lower(), d["webhook_id"])')"
pending() { "$CLI" webhooks get "$EP" | python3 -c 'import json,sys; print(json.load(sys.stdin)["pending"])'; }
settled() { [ "$(pending)" == 0 ]; }
eventually settled
expect_eq "nothing pending for the endpoint" 0 "$(pending)"
expect_match "its deliveries show the attempt" '"state": ?"delivered"' "$("$CLI" webhooks deliveries "$EP")"

# --- kill -9 under concurrent publishers: every acknowledged event survives
publisher() { # n
  local n=$1 i=0 out
  while :; do
    out=$(curl -s -w ' %{http_code}' -X POST "$URL/v1/events" "${auth[@]}" \
          -d "{\"type\":\"durable.test\",\"data\":{\"pub\":$n,\"i\":$i}}") || break
    [[ "$out" == *" 201" ]] || break
    echo "$out" | grep -o '"[0-9]*"' | tr -d '"' >> "$WORK/acked.$n"
    i=$((i + 1))
  done
}
PUBS=()
for n in 1 2 3 4; do publisher $n & PUBS+=($!); done
acks_reach() { [ "$(cat "$WORK"/acked.* 2>/dev/null | wc -l)" -ge "$1" ]; }
eventually acks_reach 200
kill -9 "$HERALD_PID"
wait "$HERALD_PID" 2>/dev/null
wait "${PUBS[@]}" 2>/dev/null
acked=$(cat "$WORK"/acked.* | sort -n | uniq)
count=$(echo "$acked" | wc -l)
[ "$count" -ge 50 ] && ok "publishers got $count acknowledgements before the kill" || fail "only $count acks"

herald_start "${FLAGS[@]}"
URL1=$URL
hist=$(history_ids "$URL1" | sort -n)
expect_eq "every acknowledged event is in history after kill -9" 0 \
  "$(comm -23 <(echo "$acked" | sort) <(echo "$hist" | sort) | wc -l)"
expect_match "the room is still there" '"lobby"' "$("$CLI" --server "$URL1" room list)"
expect_match "and the endpoint" "$EP" "$("$CLI" --server "$URL1" webhooks list)"
last=$(echo "$hist" | tail -1)
expect_eq "the history has no holes" "$last" "$(echo "$hist" | wc -l)"

# --- a second node on the same Redis
herald_start "${FLAGS[@]}"
URL2=$URL
expect_eq "node 2 reads the same history" "$(history_ids "$URL1")" "$(history_ids "$URL2")"
id2=$("$CLI" --server "$URL2" publish node.two)
expect_eq "node 2 continues the id sequence" "$((last + 1))" "$id2"
id1=$("$CLI" --server "$URL1" publish node.one)
expect_eq "and node 1 after it" "$((last + 2))" "$id1"
expect_eq "node 1's history has both" "node.two node.one" \
  "$("$CLI" --server "$URL1" history --since "$last" | python3 -c 'import json,sys; print(" ".join(json.loads(l)["type"] for l in sys.stdin))')"
expect_eq "the stream holds every event once" "$id1" "$("${R[@]}" xlen "${P}log")"
herald_stop
finish
