#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_redis_outage.sh — two herald nodes (--engine redis) on one real
# redis-server while Redis hangs and while it is gone (store/redis_health.c):
#  (a) Redis SIGSTOPped with a commit of node A in it: the commit of a
#      publish is held in Redis, sent and unanswered (A runs with the test
#      hook HERALD_TEST_REDIS_COMMIT_GATE, src/store/redis.c: its commits
#      wait on a Redis list, which the test empties), then Redis is
#      stopped; /health says the store is down, and a publish, a batch
#      publish and a room creation are answered 503 with a JSON error
#      naming Redis, without being queued behind the stuck commit
#      (herald_publish_requests_total does not move), while the publish in
#      flight waits in its commit; that one gets a 503 saying it may have
#      been stored (it is not acknowledged);
#      /metrics shows herald_store_up 0; a peer socket authenticating with
#      a peer token is closed with 1013 (seen by the `ws` client and by
#      herald-cli, whose wslay 1.1.1 alone would call it a protocol error);
#      a peer connected before the hang that leaves during it is announced
#      disconnected once Redis answers (its session end is retried);
#      the server listener, the user
#      subscriber (WS) and the SSE stream stay open; after SIGCONT
#      publishes succeed on both nodes with no restart and the listener
#      gets them;
#  (b) Redis killed (-9) and restarted on the same port and append-only
#      file while a publisher keeps publishing: 503 while it is down, then
#      success; every event that was answered 2xx is in history, and the
#      listener got every stored event (those whose 503 was ambiguous
#      included) exactly once, in id order.
# Each node logs each outage and each recovery once.
# Waits are for conditions, with deadlines of a minute or more.
. "$(dirname "$0")/lib.sh"

redis_setup
redis_start
GATE=outage:test:gate # A's commits run while this list holds an element
"${R[@]}" rpush "$GATE" open >/dev/null

SECRET=0utage
FLAGS=(--engine redis --redis-url "redis://127.0.0.1:$RPORT/0" --redis-prefix "outage:" --threads 2
       --jwt-secret "$SECRET")
store_is() { # node up|down: waits (up to 60 s) until the node's /health says so
  local end=$((SECONDS + 60))
  while [ $SECONDS -lt $end ]; do
    curl -s --max-time 30 "${URLS[$1]}/health" | grep -q "\"store\":\"$2\"" && return 0
    sleep 0.05
  done
  return 1
}
publish() { # node body: prints "<status> <body>"
  curl -s --max-time 60 -o "$WORK/pub.body" -w '%{http_code}' -X POST "${URLS[$1]}/v1/events" \
    "${auth[@]}" -H 'Content-Type: application/json' -d "$2" >"$WORK/pub.status"
  echo "$(cat "$WORK/pub.status") $(cat "$WORK/pub.body")"
}
ids_of() { # a 201 publish answer: its ids
  python3 -c 'import json,sys; print(" ".join(json.loads(sys.argv[1].split(" ",1)[1])["ids"]))' "$1"
}
alive() { # name pid
  kill -0 "$2" 2>/dev/null && ok "$1 is still connected" || fail "$1 was closed"
}
accepted() { # node: the publishes its hub has taken (queued for a commit)
  curl -s --max-time 30 "${URLS[$1]}/metrics" | sed -n 's/^herald_publish_requests_total //p'
}

declare -A URLS NODE_PID NODE_LOG
for n in A B; do
  DATA_DIR=$WORK/data.$n
  if [ $n == A ]; then
    HERALD_TEST_REDIS_COMMIT_GATE=$GATE herald_start "${FLAGS[@]}"
  else
    herald_start "${FLAGS[@]}"
  fi
  URLS[$n]=$URL
  NODE_PID[$n]=$HERALD_PID
  NODE_LOG[$n]=$LOG
done

# --- a listener on B, a user subscriber on A (WS), an SSE stream on B
"$CLI" --server "${URLS[B]}" listen >"$WORK/listen.out" 2>"$WORK/listen.err" &
LISTENER=$!; PIDS+=("$LISTENER")
wait_for "$WORK/listen.err" listening 1200 || { fail "listener: $(cat "$WORK/listen.err")"; finish; exit 1; }
UTOKEN=$("$CLI" token --user u1 --secret "$SECRET")
"$CLI" --server "${URLS[A]}" subscribe --token "$UTOKEN" --no-reconnect >"$WORK/sub.out" 2>"$WORK/sub.err" &
SUB=$!; PIDS+=("$SUB")
wait_for "$WORK/sub.err" subscribed 1200 || fail "subscriber: $(cat "$WORK/sub.err")"
curl -sN "${URLS[B]}/v1/stream" -H "Authorization: Bearer $UTOKEN" >"$WORK/sse.out" 2>/dev/null &
SSE=$!; PIDS+=("$SSE")
wait_for "$WORK/sse.out" '^retry:' 1200 || fail "the SSE stream did not open"

peer_close() { # url token: "code reason" of the close of a peer socket that authenticates
  NODE_PATH="$(cd "$(dirname "$0")/../interop" && pwd)/node_modules" timeout 60 node -e '
const WebSocket = require("ws");
const s = new WebSocket(process.argv[1].replace(/^http/, "ws") + "/socket/peer/websocket");
s.on("open", () => s.send(JSON.stringify({ type: "auth", token: process.argv[2] })));
s.on("close", (code, reason) => { console.log(code + " " + reason); process.exit(0); });
s.on("error", (e) => { console.log("error " + e.message); process.exit(0); });' "$1" "$2"
}
# a room and a peer made before the outage (its token is used during it)
curl -s -o /dev/null -X POST "${URLS[A]}/room" "${auth[@]}" -H 'Content-Type: application/json' \
  -d '{"roomId":"outage-room"}'
PTOK=$(curl -s -X POST "${URLS[A]}/room/outage-room/peer" "${auth[@]}" -H 'Content-Type: application/json' \
  -d '{"type":"webrtc"}' | jq -r .data.token)
expect_match "a peer token made before the outage" '^[A-Za-z0-9_-]{20,}$' "$PTOK"
# and a peer connected on B before it, that leaves during it
STEADY=$(curl -s -X POST "${URLS[A]}/room/outage-room/peer" "${auth[@]}" -H 'Content-Type: application/json' \
  -d '{"type":"webrtc"}')
STOK=$(echo "$STEADY" | jq -r .data.token); SPID=$(echo "$STEADY" | jq -r .data.peer.id)
"$CLI" --server "${URLS[B]}" peer connect --peer-token "$STOK" >/dev/null 2>"$WORK/steady.err" &
STEADY_PID=$!; PIDS+=("$STEADY_PID")
wait_for "$WORK/steady.err" 'connected as peer' 1200 || fail "steady peer: $(cat "$WORK/steady.err")"
peer_status() { curl -s "${URLS[A]}/room/outage-room" "${auth[@]}" | jq -r --arg p "$SPID" '.data.peers[] | select(.id == $p) | .status'; }

ACKED=()
r=$(publish A '{"type":"before.outage","user_id":"u1","data":{}}')
expect_match "a publish before the outage is acknowledged" '^201 ' "$r"
ACKED+=($(ids_of "$r"))
wait_for "$WORK/sse.out" '"type":"before.outage"' 1200 || fail "the SSE stream did not get the first event"

# --- (a) Redis hangs with a commit in it
# A publish in flight as Redis stops: with A's gate list emptied its commit
# is written behind a BLMOVE that blocks, so it reaches Redis and is not
# run; Redis is stopped once it holds it (a blocked BLMOVE client with the
# commit in its query buffer). The commit then waits out the 5 s command
# timeout and fails without herald knowing whether Redis ran it. (Racing
# the stop against the publish instead lets the probe, which notices a hang
# within 750 ms, refuse the publish before its commit is sent.)
"${R[@]}" del "$GATE" >/dev/null
curl -s --max-time 120 -o "$WORK/inflight.body" -w '%{http_code}' -X POST "${URLS[A]}/v1/events" \
  "${auth[@]}" -d '{"type":"in.flight","data":{}}' >"$WORK/inflight.status" &
INFLIGHT=$!
# One connection polls CLIENT LIST and stops Redis as soon as it holds the
# commit, well within the commit's 5 s timeout.
python3 - "$RPORT" "$REDIS_PID" <<'PY' && ok "the in-flight commit reached Redis and is held" ||
import os, re, signal, socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
f = s.makefile("rb")
end = time.monotonic() + 60
while time.monotonic() < end:
    s.sendall(b"*2\r\n$6\r\nCLIENT\r\n$4\r\nLIST\r\n")
    n = int(f.readline()[1:])
    text = f.read(n + 2).decode()
    if any(re.search(r" flags=\S*b.* qbuf=[1-9].* cmd=blmove ", l) for l in text.splitlines()):
        os.kill(int(sys.argv[2]), signal.SIGSTOP)
        sys.exit(0)
    time.sleep(0.01)
sys.exit(1)
PY
  { fail "no commit held in Redis: $("${R[@]}" client list)"; kill -STOP "$REDIS_PID"; }
store_is A down && ok "A's /health reports the store down while Redis hangs" || fail "A: $(curl -s "${URLS[A]}/health")"
store_is B down && ok "B's /health reports the store down" || fail "B: $(curl -s "${URLS[B]}/health")"
expect_match "/health names Redis to the server token" "\"store_error\":\"Redis at 127.0.0.1:$RPORT is not answering" \
  "$(curl -s "${auth[@]}" "${URLS[A]}/health")"
expect_match "and says only \"down\" to anyone else" '"store":"down"}$' "$(curl -s "${URLS[A]}/health")"
ERR="^503 \\{\"errors\":\"event store unavailable: Redis at 127.0.0.1:$RPORT is not answering"
ERR_NONE="$ERR.*nothing was (stored|changed), retry later"
taken_a=$(accepted A) taken_b=$(accepted B)
expect_match "/metrics counts the publishes the hubs took" '^[0-9]+ [0-9]+$' "$taken_a $taken_b"
for n in A B; do
  expect_match "a publish on $n while Redis hangs: 503, naming Redis, nothing stored" "$ERR_NONE" \
    "$(publish $n '{"type":"refused.event","data":{}}')"
done
expect_match "a batch publish while Redis hangs: 503" "$ERR_NONE" \
  "$(publish A '[{"type":"refused.batch","data":{}},{"type":"refused.batch","data":{}}]')"
expect_match "creating a room while Redis hangs: 503" "$ERR_NONE" \
  "$(curl -s --max-time 60 -w '%{http_code}' -o "$WORK/room.body" -X POST "${URLS[B]}/room" "${auth[@]}" \
       -H 'Content-Type: application/json' -d '{"roomId":"hang-room"}') $(cat "$WORK/room.body")"
expect_eq "the publishes refused at once, not queued behind A's stuck commit" \
  "$taken_a $taken_b" "$(accepted A) $(accepted B)"
expect_match "/metrics: herald_store_up 0" $'\nherald_store_up 0' "$(curl -s "${URLS[A]}/metrics")"
expect_eq "a peer connecting while Redis hangs is told to come back (1013)" \
  "1013 event store unavailable, try again later" "$(peer_close "${URLS[B]}" "$PTOK")"
timeout 60 "$CLI" --server "${URLS[A]}" peer connect --peer-token "$PTOK" >/dev/null 2>"$WORK/peer.err"
kill -TERM "$STEADY_PID"; wait "$STEADY_PID" 2>/dev/null # it leaves while Redis hangs
expect_eq "and the C client library says so too" \
  "herald-cli: connection closed: 1013 event store unavailable, try again later" "$(cat "$WORK/peer.err")"
wait "$INFLIGHT"
expect_match "the publish in flight when Redis hung: 503, not acknowledged, maybe stored" \
  '^503 \{"errors":"event store unavailable: .*may have been stored' \
  "$(cat "$WORK/inflight.status") $(cat "$WORK/inflight.body")"
alive "the listener on B" "$LISTENER"
alive "the user subscriber on A" "$SUB"
alive "the SSE stream on B" "$SSE"
kill -CONT "$REDIS_PID"
"${R[@]}" rpush "$GATE" open >/dev/null # A's commits run again
store_is A up && ok "A's store is up again after SIGCONT" || fail "A: $(curl -s "${URLS[A]}/health")"
store_is B up && ok "B's store is up again" || fail "B: $(curl -s "${URLS[B]}/health")"
expect_match "/metrics: herald_store_up 1" $'\nherald_store_up 1' "$(curl -s "${URLS[A]}/metrics")"
for n in A B; do
  r=$(publish $n "{\"type\":\"after.hang\",\"user_id\":\"u1\",\"data\":{\"node\":\"$n\"}}")
  expect_match "a publish on $n after SIGCONT is acknowledged, no restart" '^201 ' "$r"
  ACKED+=($(ids_of "$r"))
done
wait_for "$WORK/listen.out" "\"peer.disconnected\".*\"$SPID\"" 1200 &&
  ok "the peer that left during the hang is announced disconnected once Redis answers" ||
  fail "no peer.disconnected for $SPID: $(grep -c peer. "$WORK/listen.out") peer events"
expect_eq "and shown disconnected" disconnected "$(peer_status)"
wait_for "$WORK/listen.out" "\"id\":\"${ACKED[-1]}\"" 1200 && ok "the listener got the events published after the hang" ||
  fail "listener: $(tail -2 "$WORK/listen.out")"
wait_for "$WORK/sub.out" '"node":"B"' 1200 && ok "the user subscriber got them too" || fail "$(tail -2 "$WORK/sub.out")"
wait_for "$WORK/sse.out" '"node":"B"' 1200 && ok "and the SSE stream" || fail "$(tail -2 "$WORK/sse.out")"

# --- (b) Redis killed and restarted under a publisher
(
  i=0
  while [ ! -e "$WORK/stop.pub" ]; do
    i=$((i + 1))
    code=$(curl -s --max-time 60 -o "$WORK/loop.body" -w '%{http_code}' -X POST "${URLS[A]}/v1/events" \
      "${auth[@]}" -d "{\"type\":\"loop.event\",\"data\":{\"i\":$i}}")
    echo "$code $(cat "$WORK/loop.body")" >>"$WORK/loop.log"
    sleep 0.02
  done
) &
LOOP=$!
wait_for "$WORK/loop.log" '^201 ' 1200 || fail "the publisher loop got no 201 before the kill"
kill -9 "$REDIS_PID"; wait "$REDIS_PID" 2>/dev/null
store_is A down && ok "A's store is down while Redis is gone" || fail "A: $(curl -s "${URLS[A]}/health")"
store_is B down && ok "B's store is down" || fail "B: $(curl -s "${URLS[B]}/health")"
taken_b=$(accepted B)
expect_match "a publish while Redis is gone: 503, naming Redis, nothing stored" "$ERR_NONE" \
  "$(publish B '{"type":"refused.event","data":{}}')"
expect_eq "refused at once, not queued" "$taken_b" "$(accepted B)"
wait_for "$WORK/loop.log" '^503 ' 1200 && ok "the publisher loop got 503s while Redis was gone" || fail "no 503 in the loop"
alive "the listener on B" "$LISTENER"
alive "the user subscriber on A" "$SUB"
redis_start
store_is A up && ok "A's store is up again after the restart" || fail "A: $(curl -s "${URLS[A]}/health")"
store_is B up && ok "B's store is up again" || fail "B: $(curl -s "${URLS[B]}/health")"
n201=$(grep -c '^201 ' "$WORK/loop.log")
end=$((SECONDS + 60))
while [ $SECONDS -lt $end ] && [ "$(grep -c '^201 ' "$WORK/loop.log")" -lt $((n201 + 3)) ]; do sleep 0.05; done
touch "$WORK/stop.pub"; wait "$LOOP"
expect_eq "the publisher loop is answered 201 again after the restart" 201 "$(tail -1 "$WORK/loop.log" | cut -d' ' -f1)"
expect_eq "the loop saw only 201 and 503 answers" "" "$(grep -vE '^(201|503) ' "$WORK/loop.log")"
ACKED+=($(grep '^201 ' "$WORK/loop.log" | cut -d' ' -f2- | python3 -c 'import json,sys; print(" ".join(i for l in sys.stdin for i in json.loads(l)["ids"]))'))
for n in A B; do
  r=$(publish $n "{\"type\":\"after.restart\",\"data\":{\"node\":\"$n\"}}")
  expect_match "a publish on $n after the restart is acknowledged" '^201 ' "$r"
  ACKED+=($(ids_of "$r"))
done

# --- nothing acknowledged lost, nothing stored delivered twice
history_a() {
  curl -s "${auth[@]}" "${URLS[A]}/v1/events?since=0&limit=10000" |
    python3 -c 'import json,sys; print(" ".join(e["id"] for e in json.load(sys.stdin)["events"]))'
}
# (the last publish was B's: A serves it once its log follower has read it)
eventually eval '[[ " $(history_a) " == *" ${ACKED[-1]} "* ]]' || true
history=$(history_a)
missing=0
for id in "${ACKED[@]}"; do [[ " $history " == *" $id "* ]] || missing=$((missing + 1)); done
expect_eq "every acknowledged event (${#ACKED[@]}) is in history" 0 "$missing"
wait_for "$WORK/listen.out" "\"id\":\"${ACKED[-1]}\"" 1200 || true
expect_eq "the listener got every stored event exactly once, in id order" "$history" "$(ids_in "$WORK/listen.out")"
echo "# the unacknowledged in-flight event is in the log: $(grep -c '"type":"in.flight"' "$WORK/listen.out") time(s)"
alive "the listener on B" "$LISTENER"
for n in A B; do
  expect_eq "node $n logged each Redis outage once" 2 "$(grep -c 'store: Redis at .* is not answering' "${NODE_LOG[$n]}")"
  expect_eq "and each recovery once" 2 "$(grep -c 'store: Redis at .* answers again (down for' "${NODE_LOG[$n]}")"
done

kill "$SSE" 2>/dev/null
kill -TERM "$SUB"; wait "$SUB"
kill -TERM "$LISTENER"; wait "$LISTENER"
expect_eq "the listener exits on SIGTERM, not on a close" 0 $?
for n in A B; do
  kill -TERM "${NODE_PID[$n]}"; wait "${NODE_PID[$n]}"
  expect_eq "node $n stops cleanly" 0 $?
done
finish
