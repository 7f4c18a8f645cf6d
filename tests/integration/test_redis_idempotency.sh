# SPDX-License-Identifier: MIT
# test_redis_idempotency.sh — idempotent publish across two herald nodes
# sharing one Redis (issue 18 item 1): the same Idempotency-Key sent to
# both nodes at the same instant stores one event, and both answers carry
# its id. The instant is forced, not hoped for: with the test hook
# HERALD_TEST_REDIS_COMMIT_GATE (src/store/redis.c) each node's commit
# waits in Redis on a list while it is empty; each round empties it, sends
# the key to both nodes, waits until BOTH commits are blocked there (each
# node has already looked the key up and found nothing), then opens the
# gate: the commit script alone decides which node stores the event. A key
# repeated later on either node, and after both restart, replays; the
# publishing socket shares the key space across nodes.
. "$(dirname "$0")/lib.sh"

redis_setup
redis_start
P="idem:"
GATE=idem:test:gate
"${R[@]}" rpush "$GATE" open >/dev/null
FLAGS=(--engine redis --redis-url "redis://127.0.0.1:$RPORT/0" --redis-prefix "$P" --threads 1)
declare -A URLS
for n in A B; do
  DATA_DIR=$WORK/data.$n HERALD_TEST_REDIS_COMMIT_GATE=$GATE herald_start "${FLAGS[@]}"
  URLS[$n]=$URL
done

in_log() { # type: entries of that type in the shared log (what Redis holds)
  "${R[@]}" xrange "${P}log" - + | grep -cx "$1" || true
}
blocked() { # n: that many commits wait on the gate
  [ "$("${R[@]}" client list | grep -c 'cmd=blmove')" -ge "$1" ]
}
send() { # node key type out
  curl -s -D "$4.h" -o "$4" -w '%{http_code}' -X POST "${URLS[$1]}/v1/events" "${auth[@]}" \
    -H "Idempotency-Key: $2" -d "{\"type\":\"$3\"}" > "$4.s"
}

forced=0
for round in $(seq 1 6); do
  "${R[@]}" del "$GATE" >/dev/null
  send A "race-$round" "idem.race$round" "$WORK/a" & pa=$!
  send B "race-$round" "idem.race$round" "$WORK/b" & pb=$!
  # a commit held longer than the store's 5 s reply timeout would fail:
  # open the gate within 4 s whether or not both came
  if WAIT_S=4 eventually blocked 2; then forced=$((forced + 1)); fi
  "${R[@]}" rpush "$GATE" open >/dev/null
  wait "$pa" "$pb"
  expect_eq "round $round: both nodes answer 201" "201 201" "$(cat "$WORK/a.s") $(cat "$WORK/b.s")"
  expect_eq "round $round: both answers carry the same id" "$(cat "$WORK/a")" "$(cat "$WORK/b")"
  expect_eq "round $round: one event stored in Redis" 1 "$(in_log "idem.race$round")"
  replayed=$(cat "$WORK/a.h" "$WORK/b.h" | tr -d '\r' | grep -ci '^idempotent-replayed: true' || true)
  expect_eq "round $round: exactly one answer is marked replayed" 1 "$replayed"
done
[ "$forced" -ge 1 ] && ok "$forced rounds had both commits in Redis at once" ||
  fail "no round had both commits waiting at once: the race was not exercised"

first=$(cat "$WORK/a")
send B race-6 idem.race6 "$WORK/c"
expect_eq "the key sent again later to the other node replays" "$first" "$(cat "$WORK/c")"
send A race-6 idem.other "$WORK/d"
expect_eq "the key with another body is a 409 on any node" 409 "$(cat "$WORK/d.s")"
ttl=$("${R[@]}" pttl "${P}idem:race-6")
[ "$ttl" -gt 86000000 ] && [ "$ttl" -le 86400000 ] && ok "the key expires in Redis after the window (pttl $ttl)" ||
  fail "pttl of the key: $ttl"

# The publishing socket (herald-cli publish --stream) shares the key space
# across nodes: a per-event key published over HTTP on A replays on B's
# socket, and one first sent on B's socket replays on A's.
ida=$(curl -s -X POST "${URLS[A]}/v1/events" "${auth[@]}" -d '[{"type":"idem.sock","idempotency_key":"sock-1"}]' |
  grep -o '[0-9][0-9]*' | head -1)
sock() { # node line: the --json answer of the line over that node's publishing socket
  echo "$2" | "$CLI" --server "${URLS[$1]}" publish --stream --json
}
expect_eq "a key published over HTTP on A replays on B's publishing socket" \
  "{\"seq\":1,\"ids\":[\"$ida\"],\"replayed\":true}" "$(sock B '{"type":"idem.sock","idempotency_key":"sock-1"}')"
b1=$(sock B '{"type":"idem.sock","data":{"n":2},"idempotency_key":"sock-2"}')
idb=$(echo "$b1" | grep -o '"[0-9][0-9]*"' | head -1)
expect_eq "a key first sent on B's socket replays on A's" "{\"seq\":1,\"ids\":[$idb],\"replayed\":true}" \
  "$(sock A '{"type":"idem.sock","data":{"n":2},"idempotency_key":"sock-2"}')"
expect_eq "two idem.sock events in Redis" 2 "$(in_log idem.sock)"
finish
