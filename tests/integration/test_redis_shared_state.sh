#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_redis_shared_state.sh — rooms, peers, peer tokens and webhook
# endpoints shared by three herald nodes (--engine redis) on one real
# redis-server, and presence correct when a peer moves between nodes
# (src/hub/replica.c, src/rooms/nodes.c, store/redis_shared.c):
#  - a room and a peer created through A's API are listed on B and C; the
#    peer's socket connects on B with A's token at once (no waiting);
#  - a server notifier listener on C sees that peer.connected;
#  - a webhook endpoint registered on B gets the events published on C;
#  - the peer connecting again on C with the same token closes B's socket
#    with 4002, with no second peer.connected and no peer.disconnected;
#    its clean close on C then a connect on B: disconnected, connected;
#  - a peer deleted on A while connected on B: peer.disconnected then
#    peer.deleted, its socket on B closed with 4004;
#  - the room deleted on B closes the socket on C with 4005, after
#    room.deleted reached it;
#  - a node that was away while the change feed was trimmed past what it
#    had read reloads the snapshot and sees the changes it missed;
#  - kill -9 of the node holding a peer's socket: a survivor announces
#    peer.crashed once; a node restarted under its name announces the
#    sockets it held before as crashed.
. "$(dirname "$0")/lib.sh"

redis_setup
redis_start

# A node silent for 20 s is dead: long enough that no node of a loaded
# machine (Redis fsyncing every write) is taken for dead by mistake, which
# would end its peers' sessions; kill -9 of B below waits that long.
FLAGS=(--engine redis --redis-url "redis://127.0.0.1:$RPORT/0" --redis-prefix "st:" --threads 2
       --node-timeout 20 --webhook-retry-schedule 0.3,0.3)
wait_lines() { # file regex [count]: until count lines match (up to WAIT_S)
  eventually has_lines "$1" "$2" "${3:-1}"
}
until_ok() { # command…: retries until it succeeds (up to WAIT_S)
  eventually "$@" >/dev/null 2>&1
}
jget() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
on() { local n=$1; shift; "$CLI" --server "${URLS[$n]}" "$@"; }
# The peer.* and room.* events of the listener on C about $PID, as "type type …".
presence() { # [file]
  python3 - "${1:-$WORK/listen.C.out}" "$PID" <<'EOF'
import json, sys
out = []
for line in open(sys.argv[1]):
    if not line.startswith("{"):
        continue
    e = json.loads(line)
    if e["type"].startswith("peer.") and e["type"] != "peer.added" and e["data"].get("peer_id") == sys.argv[2]:
        out.append(e["type"])
print(" ".join(out))
EOF
}
peer_on() { # node name: connects the peer (token $TOK) on node, output in $WORK/name.*
  "$CLI" --server "${URLS[$1]}" peer connect --peer-token "$TOK" >"$WORK/$2.out" 2>"$WORK/$2.err" &
  PEER_PID=$!; PIDS+=("$PEER_PID")
}

declare -A URLS NODE_PID NODE_LOG
start_node() { # name
  DATA_DIR=$WORK/data.$1
  herald_start "${FLAGS[@]}" --node-id "$1"
  URLS[$1]=$URL; NODE_PID[$1]=$HERALD_PID; NODE_LOG[$1]=$LOG
}
for n in A B C; do start_node $n; done

"$CLI" --server "${URLS[C]}" listen >"$WORK/listen.C.out" 2>"$WORK/listen.C.err" &
PIDS+=($!)
wait_lines "$WORK/listen.C.err" listening || { fail "listener on C: $(cat "$WORK/listen.C.err")"; finish; exit 1; }

# --- a room and a peer made on A: usable on B at once, listed on B and C
on A room create --room-id lobby >/dev/null
added=$(on A peer add lobby --metadata '{"name":"ann"}')
PID=$(echo "$added" | jget "['peer']['id']")
TOK=$(echo "$added" | jget "['token']")
peer_on B onB
wait_lines "$WORK/onB.err" 'connected as peer' && ok "A's peer token connects on B at once" \
  || fail "peer on B: $(cat "$WORK/onB.err")"
ONB=$PEER_PID
for n in B C; do
  until_ok bash -c "curl -s -H 'Authorization: Bearer $TOKEN' '${URLS[$n]}/room/lobby' | grep -q '\"status\":\"connected\"'"
  got=$(curl -s "${auth[@]}" "${URLS[$n]}/room/lobby")
  expect_eq "GET /room/lobby on $n shows A's peer, connected" "lobby $PID connected ann" \
    "$(echo "$got" | python3 -c 'import json,sys; d=json.load(sys.stdin)["data"]; p=d["peers"][0]; print(d["id"], p["id"], p["status"], p["metadata"]["name"])')"
done
expect_match "room list on C has lobby" '"id":"lobby"' "$(on C room list)"
wait_lines "$WORK/listen.C.out" '"type":"peer.connected"' || true
expect_eq "the listener on C saw the peer connect on B" "peer.connected" "$(presence)"

# --- a webhook endpoint registered on B gets what is published on C
SECRET="whsec_$(head -c 32 /dev/urandom | base64 -w0)"
"$CLI" webhook-listen --secret "$SECRET" --port 0 >"$WORK/hook.out" 2>"$WORK/hook.err" &
PIDS+=($!)
wait_lines "$WORK/hook.err" '^listening on' || { fail "webhook-listen did not start"; finish; exit 1; }
HPORT=$(sed -n 's|^listening on http://127.0.0.1:\([0-9]*\)$|\1|p' "$WORK/hook.err")
EP=$(on B webhooks add --url "http://127.0.0.1:$HPORT/hook" --event-types 'chat.*' --secret "$SECRET" | jget "['id']")
until_ok on C webhooks get "$EP" && ok "the endpoint made on B is known on C" || fail "C does not know $EP"
on C publish chat.message '{"text":"from C"}' --room lobby >/dev/null
wait_lines "$WORK/hook.out" '"from C"' && ok "an event published on C reached B's endpoint" \
  || fail "no delivery: $(cat "$WORK/hook.out" "$WORK/hook.err")"
expect_eq "verified and delivered once" "true 1" \
  "$(jq -r 'select(.body.data.text == "from C") | .verified' "$WORK/hook.out" | sort | uniq -c | awk '{print $2, $1}')"
# issue 18 items 4 and 3: an endpoint's own retry schedules and breaker threshold reach the other nodes
on B webhooks update "$EP" --retry-schedule '1,2' --retry-schedules '{"chat.*":[0.5]}' --breaker-threshold 5 >/dev/null
ctl_on_c() { [ "$(on C webhooks get "$EP" | jq -c '[.retry_schedule, .retry_schedules, .breaker_threshold]')" = '[[1,2],{"chat.*":[0.5]},5]' ]; }
until_ok ctl_on_c && ok "its retry schedules and breaker threshold set on B reached C" \
  || fail "C has $(on C webhooks get "$EP" | jq -c '[.retry_schedule, .retry_schedules, .breaker_threshold]')"
on B webhooks delete "$EP"
until_ok bash -c "! '$CLI' --server '${URLS[C]}' webhooks get '$EP'" && ok "its deletion on B reached C" || fail "C still has $EP"

# --- the peer moves: connects on C with the same token
peer_on C onC
ONC=$PEER_PID
wait_lines "$WORK/onC.err" 'connected as peer' && ok "the peer connects on C" || fail "on C: $(cat "$WORK/onC.err")"
wait "$ONB"; rc=$?
expect_eq "its socket on B was closed (exit 1)" 1 "$rc"
expect_match "with 4002 replaced" 'closed: 4002' "$(cat "$WORK/onB.err")"
on A publish chat.message '{"mark":1}' --room lobby >/dev/null
wait_lines "$WORK/listen.C.out" '"mark":1' || true
expect_eq "no second peer.connected, no peer.disconnected from B's close" "peer.connected" "$(presence)"
until_ok bash -c "curl -s -H 'Authorization: Bearer $TOKEN' '${URLS[A]}/room/lobby' | grep -q '\"status\":\"connected\"'"
expect_match "A shows the peer connected" '"status":"connected"' "$(curl -s "${auth[@]}" "${URLS[A]}/room/lobby")"

# --- a clean close on C, then a connect on B: disconnected, connected
kill -TERM "$ONC"; wait "$ONC"
wait_lines "$WORK/listen.C.out" '"type":"peer.disconnected"' || true
peer_on B onB2
ONB2=$PEER_PID
wait_lines "$WORK/onB2.err" 'connected as peer' || fail "on B again: $(cat "$WORK/onB2.err")"
wait_lines "$WORK/listen.C.out" '"type":"peer.connected"' 2 || true
expect_eq "closing on C then connecting on B: disconnected then connected" \
  "peer.connected peer.disconnected peer.connected" "$(presence)"

# --- a second peer, connected on B, deleted on A
added=$(on A peer add lobby)
PID2=$(echo "$added" | jget "['peer']['id']"); TOK2=$(echo "$added" | jget "['token']")
"$CLI" --server "${URLS[B]}" peer connect --peer-token "$TOK2" >"$WORK/p2.out" 2>"$WORK/p2.err" &
P2=$!; PIDS+=("$P2")
wait_lines "$WORK/p2.err" 'connected as peer' || fail "peer 2 on B: $(cat "$WORK/p2.err")"
wait_lines "$WORK/listen.C.out" "\"type\":\"peer.connected\".*\"peer_id\":\"$PID2\"|\"peer_id\":\"$PID2\".*\"type\":\"peer.connected\"" || true
on A peer delete lobby "$PID2"
wait "$P2"
expect_match "a peer deleted on A: its socket on B closed with 4004" 'closed: 4004' "$(cat "$WORK/p2.err")"
wait_lines "$WORK/listen.C.out" "peer.deleted" || true
expect_eq "announced peer.disconnected then peer.deleted" "peer.connected peer.disconnected peer.deleted" \
  "$(PID=$PID2 presence)"

# --- back on C, then the room deleted on B closes the socket on C
peer_on C onC2
ONC2=$PEER_PID
wait_lines "$WORK/onC2.err" 'connected as peer' || fail "on C again: $(cat "$WORK/onC2.err")"
wait "$ONB2"
expect_match "B's socket replaced again" 'closed: 4002' "$(cat "$WORK/onB2.err")"
on B room delete lobby
wait "$ONC2"; rc=$?
expect_eq "the room deleted on B closed the socket on C" "1" "$rc"
expect_match "with 4005" 'closed: 4005' "$(cat "$WORK/onC2.err")"
expect_match "after the peer got room.deleted" '"type":"room.deleted"' "$(cat "$WORK/onC2.out")"
for n in A C; do
  until_ok bash -c "! '$CLI' --server '${URLS[$n]}' room get lobby" && ok "lobby is gone on $n" || fail "lobby still on $n"
done
expect_eq "the whole presence of the peer, as the log tells it" \
  "peer.connected peer.disconnected peer.connected" "$(presence)"

# --- C away while the feed was trimmed past what it had read: it reloads
on A room create --room-id gone >/dev/null
until_ok on C room get gone || fail "C never saw room gone"
kill -STOP "${NODE_PID[C]}"
on A room create --room-id later >/dev/null
on B room delete gone
"${R[@]}" XTRIM st:kvlog MAXLEN 0 >/dev/null
on A room create --room-id last >/dev/null
kill -CONT "${NODE_PID[C]}"
until_ok on C room get last && ok "C, back, sees the room made after the trim" || fail "C lacks room last"
expect_match "and the one made while it was stopped" '"id":"later"' "$(on C room get later 2>&1)"
expect_match "but not the one deleted meanwhile" 'Room gone does not exist' "$(on C room get gone 2>&1)"
wait_lines "${NODE_LOG[C]}" 'reloaded rooms, peers and webhook endpoints' && ok "C says it reloaded" ||
  fail "C did not log a reload"

# --- kill -9 of the node holding a peer's socket: peer.crashed, once
"$CLI" --server "${URLS[A]}" listen >"$WORK/listen.A.out" 2>"$WORK/listen.A.err" &
PIDS+=($!)
wait_lines "$WORK/listen.A.err" listening || fail "listener on A: $(cat "$WORK/listen.A.err")"
on A room create --room-id hall >/dev/null
added=$(on A peer add hall)
PID=$(echo "$added" | jget "['peer']['id']"); TOK=$(echo "$added" | jget "['token']")
peer_on B onB3
wait_lines "$WORK/onB3.err" 'connected as peer' || fail "peer on B: $(cat "$WORK/onB3.err")"
wait_lines "$WORK/listen.A.out" "\"peer_id\":\"$PID\"" 2 || true
kill -9 "${NODE_PID[B]}"; wait "${NODE_PID[B]}" 2>/dev/null
wait_lines "$WORK/listen.A.out" '"type":"peer.crashed"' || true
mark=$(on C publish chat.message '{"after":"crash"}' --room hall)
wait_lines "$WORK/listen.A.out" "\"id\":\"$mark\"" || true
expect_eq "a survivor announced the peer of the dead node B: connected, crashed once" \
  "peer.connected peer.crashed" "$(presence "$WORK/listen.A.out")"
expect_match "because B stopped answering" '"reason":"node B stopped answering"' \
  "$(grep '"peer.crashed"' "$WORK/listen.A.out")"
until_ok bash -c "'$CLI' --server '${URLS[A]}' room get hall | grep -q '\"status\":\"disconnected\"'"
expect_match "A shows the peer disconnected" '"status":"disconnected"' "$(on A room get hall)"

# --- a node restarted under its name ends the sessions it held before
DATA_DIR=$WORK/data.E
FLAGS=("${FLAGS[@]/st:/solo:}")
herald_start "${FLAGS[@]}" --node-id E
E=$URL
on_e() { "$CLI" --server "$E" "$@"; }
on_e room create --room-id solo >/dev/null
TOK=$(on_e peer add solo --token-only)
"$CLI" --server "$E" peer connect --peer-token "$TOK" >"$WORK/e.out" 2>"$WORK/e.err" &
PIDS+=($!)
wait_lines "$WORK/e.err" 'connected as peer' || fail "peer on E: $(cat "$WORK/e.err")"
until_ok bash -c "'$CLI' --server '$E' history --type peer.connected | grep -q connected"
kill -9 "$HERALD_PID"; wait "$HERALD_PID" 2>/dev/null
herald_start "${FLAGS[@]}" --node-id E
E=$URL
until_ok bash -c "'$CLI' --server '$E' history --type peer.crashed | grep -q crashed"
expect_match "E restarted alone: its old socket's peer.crashed, once" '^1 .*"reason":"node E restarted"' \
  "$(on_e history --type peer.crashed | wc -l) $(on_e history --type peer.crashed)"

[ "$FAILED" -gt 0 ] && for n in A B C; do echo "== $n"; cat "${NODE_LOG[$n]}"; done && head -v "$WORK"/on*.err
finish
