#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_redis_nodes.sh — three herald nodes (--engine redis) sharing one real
# redis-server (append-only file fsynced on every write), each fanning out
# every node's events to its own subscribers through its log follower
# (src/hub/follower.c): server-notifier listeners on nodes B and C get every
# event published on A exactly once and in id order; a user subscriber on
# C gets the room events published on A and on B; a subscriber that stops
# on B and resumes on C with --since gets exactly what it missed; Redis
# stopped and restarted under the running nodes: each node logs the outage
# once, and afterwards every acknowledged event reaches every listener,
# still once each and in order, and is in history.
. "$(dirname "$0")/lib.sh"

redis_setup
redis_start

SECRET=n0des
FLAGS=(--engine redis --redis-url "redis://127.0.0.1:$RPORT/0" --redis-prefix "nodes:" --threads 2
       --jwt-secret "$SECRET")
count_in() { # file regex
  grep -cE "$2" "$1" 2>/dev/null || true
}

declare -A URLS NODE_PID NODE_LOG
for n in A B C; do
  DATA_DIR=$WORK/data.$n
  herald_start "${FLAGS[@]}"
  URLS[$n]=$URL
  NODE_PID[$n]=$HERALD_PID
  NODE_LOG[$n]=$LOG
done

# --- listeners on every node, a user subscriber on C
for n in A B C; do
  "$CLI" --server "${URLS[$n]}" listen >"$WORK/listen.$n.out" 2>"$WORK/listen.$n.err" &
  PIDS+=($!)
done
for n in A B C; do
  wait_for "$WORK/listen.$n.err" listening || { fail "listener on $n: $(cat "$WORK/listen.$n.err")"; finish; exit 1; }
done
UTOKEN=$("$CLI" token --user u1 --rooms r1 --secret "$SECRET")
"$CLI" --server "${URLS[C]}" subscribe --token "$UTOKEN" >"$WORK/subC.out" 2>"$WORK/subC.err" &
SUBC=$!; PIDS+=("$SUBC")
wait_for "$WORK/subC.err" subscribed || fail "subscriber on C: $(cat "$WORK/subC.err")"

# --- 30 events published on A (room r1, user u1, other), one room event on B
ACKED=()
ACKED+=($(for i in $(seq 1 30); do
  case $((i % 3)) in
    0) echo "{\"type\":\"chat.message\",\"room_id\":\"r1\",\"data\":{\"i\":$i}}" ;;
    1) echo "{\"type\":\"note.user\",\"user_id\":\"u1\",\"data\":{\"i\":$i}}" ;;
    2) echo "{\"type\":\"other.event\",\"room_id\":\"r2\",\"data\":{\"i\":$i}}" ;;
  esac
done | "$CLI" --server "${URLS[A]}" publish))
expect_eq "30 events acknowledged on A" 30 "${#ACKED[@]}"
fromB=$("$CLI" --server "${URLS[B]}" publish chat.message '{"from":"B"}' --room r1)
ACKED+=("$fromB")
want="${ACKED[*]}"
for n in A B C; do
  wait_for "$WORK/listen.$n.out" "\"id\":\"$fromB\"" || true
  expect_eq "the listener on $n got every event once, in id order" "$want" "$(ids_in "$WORK/listen.$n.out")"
done
wait_for "$WORK/subC.out" '"from":"B"' || true
expect_eq "the user subscriber on C got A's r1 and u1 events and B's r1 event" \
  "$(for i in $(seq 1 30); do [ $((i % 3)) -ne 2 ] && printf '%s ' "$i"; done)B" \
  "$(python3 -c 'import json,sys; print(" ".join(str(json.loads(l)["data"].get("i", json.loads(l)["data"].get("from"))) for l in open(sys.argv[1]) if l.startswith("{")))' "$WORK/subC.out")"
expect_eq "node C's history shows A's and B's events" "$want" \
  "$(curl -s "${auth[@]}" "${URLS[C]}/v1/events?since=0&limit=1000" |
     python3 -c 'import json,sys; print(" ".join(e["id"] for e in json.load(sys.stdin)["events"]))')"

# --- resume on another node: subscribe on B, stop, publish on A, --since on C
"$CLI" --server "${URLS[B]}" subscribe --token "$UTOKEN" --no-reconnect >"$WORK/subB.out" 2>"$WORK/subB.err" &
SUBB=$!; PIDS+=("$SUBB")
wait_for "$WORK/subB.err" subscribed || fail "subscriber on B: $(cat "$WORK/subB.err")"
seen=$("$CLI" --server "${URLS[A]}" publish chat.message '{"r":0}' --room r1)
wait_for "$WORK/subB.out" "\"id\":\"$seen\"" && ok "the subscriber on B got A's event live" || fail "$(cat "$WORK/subB.out")"
kill -TERM "$SUBB"; wait "$SUBB"
missed=()
for k in 1 2 3; do missed+=("$("$CLI" --server "${URLS[A]}" publish chat.message "{\"r\":$k}" --room r1)"); done
"$CLI" --server "${URLS[A]}" publish chat.message '{"r":9}' --room elsewhere >/dev/null
"$CLI" --server "${URLS[C]}" subscribe --token "$UTOKEN" --since "$seen" >"$WORK/resC.out" 2>"$WORK/resC.err" &
RES=$!; PIDS+=("$RES")
wait_for "$WORK/resC.out" "\"id\":\"${missed[2]}\"" || true
# a marker published after: anything sent twice would come before it
marker=$("$CLI" --server "${URLS[A]}" publish chat.message '{"r":"marker"}' --room r1)
wait_for "$WORK/resC.out" "\"id\":\"$marker\"" || true
expect_eq "resuming on C after B's last id gets exactly the missed events" "${missed[*]} $marker" \
  "$(ids_in "$WORK/resC.out")"
kill -TERM "$RES"; wait "$RES"

# --- Redis stopped and restarted under the running nodes
kill -TERM "$REDIS_PID"; wait "$REDIS_PID" 2>/dev/null
for n in A B C; do
  wait_for "${NODE_LOG[$n]}" "cannot read the shared event log" || fail "node $n did not notice the outage"
done
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "${URLS[A]}/v1/events" "${auth[@]}" -d '{"type":"lost.event"}')
[ "$code" != 201 ] && ok "a publish while Redis is down is not acknowledged ($code)" || fail "acknowledged: $code"
redis_start
after=()
publish_after() { # k: on A or B; until acknowledged (the first use of a dead connection may fail)
  id=$("$CLI" --server "${URLS[$([ $(($1 % 2)) -eq 0 ] && echo A || echo B)]}" publish after.restart "{\"k\":$1}" 2>/dev/null)
}
for k in 1 2 3 4 5; do
  id=""
  eventually publish_after "$k"
  after+=("$id")
done
expect_eq "five publishes acknowledged after Redis returned" 5 "$(printf '%s\n' "${after[@]}" | grep -c '^[0-9]\+$')"
for n in A B C; do
  wait_for "$WORK/listen.$n.out" "\"id\":\"${after[4]}\"" || true
  got=$(ids_in "$WORK/listen.$n.out")
  expect_eq "the listener on $n: every acknowledged event once, in order, across the outage" \
    "$(echo "$got" | tr ' ' '\n' | sort -n | uniq | tr '\n' ' ' | sed 's/ $//')" "$got"
  missing=0
  for id in "${ACKED[@]}" "$seen" "${missed[@]}" "${after[@]}"; do [[ " $got " == *" $id "* ]] || missing=$((missing + 1)); done
  expect_eq "nothing acknowledged is missing on $n" 0 "$missing"
  expect_eq "node $n logged the outage once" 1 "$(count_in "${NODE_LOG[$n]}" 'cannot read the shared event log')"
  expect_match "and its recovery" "reading the shared event log again" "$(cat "${NODE_LOG[$n]}")"
done
live=$("$CLI" --server "${URLS[A]}" publish chat.message '{"live":1}' --room r1)
wait_for "$WORK/subC.out" "\"id\":\"$live\"" && ok "the subscriber on C still gets A's room events" ||
  fail "$(tail -3 "$WORK/subC.out")"

for n in A B C; do
  kill -TERM "${NODE_PID[$n]}"; wait "${NODE_PID[$n]}"
  expect_eq "node $n stops cleanly" 0 $?
done
finish
