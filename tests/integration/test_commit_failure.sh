#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_commit_failure.sh — a change whose commit fails leaves nothing
# behind (issue 13, defect 12). The store refuses writes while it stays up
# (so the API tries each change and its commit fails, a definite failure):
#  - ENGINE=redis (this file): a real redis-server with
#    min-replicas-to-write 1 and no replica: the first write of every
#    commit script fails with NOREPLICAS while /health says the store is
#    up (maxmemory would not do: Redis checks it only until a script's
#    first write, and a deletion's first write frees memory);
#  - ENGINE=sqlite (test_commit_failure_sqlite.sh): another process holds
#    SQLite's write lock (BEGIN IMMEDIATE), so each commit fails with
#    SQLITE_BUSY after herald's busy timeout (--sqlite-busy-timeout, here
#    0.2 s instead of 5: each refused change waits for it).
# While writes are refused, each change is answered 503 "nothing was
# stored", and afterwards a user sees exactly the state from before:
#  - POST /room (plain and with a webhookUrl), DELETE /room, POST and
#    DELETE /room/:id/peer, refresh_token: GET /room and GET /room/:id
#    unchanged (the peers in their order); no room webhook endpoint left;
#    the old token still connects; the room's peer socket stays open (no
#    4005, no 4004) and gets none of the failed changes' events;
#  - update_metadata from a peer socket: an error frame, the metadata
#    unchanged, no peer.metadata_updated;
#  - POST, PATCH, DELETE, disable of /v1/webhooks: GET /v1/webhooks
#    unchanged;
#  - and the server notifier got no event of any of them.
# Synchronisation: a change made once the store takes writes again
# produces an event; the sockets and listener are read up to it (events
# arrive in log order, so one of a failed change would have come first).
. "$(dirname "$0")/lib.sh"

ENGINE=${ENGINE:-redis}
if [ "$ENGINE" == redis ]; then
  redis_setup
  redis_start
  # The heartbeat is refused too while writes are: a long node timeout.
  herald_start --engine redis --redis-url "redis://127.0.0.1:$RPORT/0" --redis-prefix "cf:" --node-timeout 600
  refuse_writes() { "${R[@]}" config set min-replicas-to-write 1 >/dev/null; }
  take_writes() { "${R[@]}" config set min-replicas-to-write 0 >/dev/null; }
else
  herald_start --sqlite-busy-timeout 0.2
  refuse_writes() { # another process holds the write lock until take_writes
    mkfifo "$WORK/lock.in"
    python3 -u -c '
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=600)
db.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
sys.stdin.readline()
db.execute("COMMIT")
print("released", flush=True)' "$DATA_DIR/herald.db" <"$WORK/lock.in" >"$WORK/lock.out" 2>&1 &
    LOCKER=$!; PIDS+=("$LOCKER")
    exec 8>"$WORK/lock.in"
    wait_for "$WORK/lock.out" '^locked' || fail "the write lock was not taken: $(cat "$WORK/lock.out")"
  }
  take_writes() { echo release >&8; exec 8>&-; wait "$LOCKER"; }
fi

req() { # method path [body]: prints "<status> <body>"
  curl -s --max-time 60 -o "$WORK/req.body" -w '%{http_code}' -X "$1" "$URL$2" "${auth[@]}" \
    -H 'Content-Type: application/json' ${3:+-d "$3"} >"$WORK/req.status"
  echo "$(cat "$WORK/req.status") $(cat "$WORK/req.body")"
}
body() { req "$@" | cut -d' ' -f2-; }
# what a user sees: every room (sorted by id) and every webhook endpoint (by id)
rooms_view() { body GET /room | jq -cS '.data | sort_by(.id)'; }
hooks_view() { body GET /v1/webhooks | jq -cS '.webhooks | sort_by(.id)'; }

# A peer socket (node's ws) that prints each frame it gets as one line and
# "closed CODE REASON" when closed; each line written to its FIFO is sent.
peer_socket() { # name token
  mkfifo "$WORK/$1.in"
  NODE_PATH="$(cd "$(dirname "$0")/../interop" && pwd)/node_modules" node -e '
const WebSocket = require("ws");
const s = new WebSocket(process.argv[1].replace(/^http/, "ws") + "/socket/peer/websocket");
s.on("open", () => s.send(JSON.stringify({ type: "auth", token: process.argv[2] })));
s.on("message", (m) => console.log(m.toString()));
s.on("close", (code, reason) => { console.log("closed " + code + " " + reason); process.exit(0); });
s.on("error", (e) => { console.log("error " + e.message); process.exit(0); });
require("readline").createInterface({ input: require("fs").createReadStream(process.argv[3]) })
  .on("line", (l) => s.send(l));' "$URL" "$2" "$WORK/$1.in" >"$WORK/$1.out" 2>&1 &
  PIDS+=($!)
}

"$CLI" --server "$URL" listen >"$WORK/listen.out" 2>"$WORK/listen.err" &
PIDS+=($!)
wait_for "$WORK/listen.err" listening || { fail "listener: $(cat "$WORK/listen.err")"; finish; exit 1; }

# --- the state before: a room with two peers, one connected; an endpoint
req POST /room '{"roomId":"kept"}' >/dev/null
P1=$(body POST /room/kept/peer '{"type":"webrtc","options":{"metadata":{"name":"one"}}}')
P2=$(body POST /room/kept/peer '{"type":"webrtc","options":{"metadata":{"name":"two"}}}')
T1=$(echo "$P1" | jq -r .data.token)
P2ID=$(echo "$P2" | jq -r .data.peer.id); T2=$(echo "$P2" | jq -r .data.token)
EP=$(body POST /v1/webhooks '{"url":"http://127.0.0.1:9/hook","event_types":["never.*"],"description":"before"}' | jq -r .id)
expect_match "an endpoint made before" '^ep_' "$EP"
peer_socket one "$T1"
exec 7>"$WORK/one.in"
wait_for "$WORK/one.out" '"type":"authenticated"' || fail "peer one: $(cat "$WORK/one.out")"
wait_for "$WORK/listen.out" '"type":"peer.connected"' || fail "no peer.connected: $(cat "$WORK/listen.out")"
ROOMS=$(rooms_view)
HOOKS=$(hooks_view)
expect_eq "one room, two peers, the first connected, with their metadata" "kept 2 connected one two" \
  "$(echo "$ROOMS" | jq -r '"\(.[0].id) \(.[0].peers | length) \(.[0].peers[0].status) \(.[0].peers[0].metadata.name) \(.[0].peers[1].metadata.name)"')"

# --- the store refuses writes; it still answers, so herald tries every change
refuse_writes
NONE='^503 \{"errors":".*nothing was stored'
echo '{"type":"update_metadata","metadata":{"name":"changed"}}' >&7
wait_for "$WORK/one.out" '"type":"error".*metadata not stored' &&
  ok "update_metadata: an error frame, not stored" || fail "peer one: $(cat "$WORK/one.out")"
expect_match "creating a room: 503, nothing stored" "$NONE" "$(req POST /room '{"roomId":"failed"}')"
expect_match "creating a room with a webhookUrl: 503" "$NONE" \
  "$(req POST /room '{"roomId":"hooked","webhookUrl":"http://127.0.0.1:9/room"}')"
expect_match "adding a peer: 503" "$NONE" "$(req POST /room/kept/peer '{"type":"webrtc"}')"
expect_match "refreshing a peer's token: 503" "$NONE" "$(req POST "/room/kept/peer/$P2ID/refresh_token")"
expect_match "deleting a peer: 503" "$NONE" "$(req DELETE "/room/kept/peer/$P2ID")"
expect_match "deleting the room: 503" "$NONE" "$(req DELETE /room/kept)"
expect_match "creating a webhook endpoint: 503" "$NONE" "$(req POST /v1/webhooks '{"url":"http://127.0.0.1:9/new"}')"
expect_match "changing one: 503" "$NONE" "$(req PATCH "/v1/webhooks/$EP" '{"description":"after","rotate_secret":true}')"
expect_match "disabling one: 503" "$NONE" "$(req POST "/v1/webhooks/$EP/disable")"
expect_match "deleting one: 503" "$NONE" "$(req DELETE "/v1/webhooks/$EP")"

# --- what a user sees once the store takes writes again: nothing changed
take_writes
expect_eq "GET /room: the rooms and peers from before (metadata, order, status)" "$ROOMS" "$(rooms_view)"
expect_match "GET /room/failed: 404" '^404 ' "$(req GET /room/failed)"
expect_eq "GET /v1/webhooks: the endpoints from before, no room endpoint left" "$HOOKS" "$(hooks_view)"
peer_socket two "$T2"
wait_for "$WORK/two.out" '"type":"authenticated"|^closed|^error' || true
expect_match "the old token of the failed refresh still connects" '"type":"authenticated"' "$(head -1 "$WORK/two.out")"
# a change that commits: its event comes after any of the failed ones
expect_match "a change after the store takes writes again: 201" '^201 ' "$(req POST /room/kept/peer '{"type":"agent"}')"
wait_for "$WORK/one.out" '"type":"peer.added"' || fail "peer one got no peer.added: $(cat "$WORK/one.out")"
wait_for "$WORK/listen.out" '"type":"peer.added".*"agent"' || fail "listener: no peer.added"
expect_eq "the room's socket got no event of a failed change and was not closed" "" \
  "$(grep -E 'peer\.deleted|room\.deleted|metadata_updated|^closed' "$WORK/one.out")"
# the listener: before the failures, room.created, 2 peer.added, peer.connected; after: two's connect, the agent
expect_eq "the notifier got no event of a failed change" \
  "room.created peer.added peer.added peer.connected" \
  "$(python3 -c 'import json,sys; print(" ".join([json.loads(l)["type"] for l in open(sys.argv[1]) if l.startswith("{")][:4]))' "$WORK/listen.out")"
expect_eq "and nothing else about them" "" \
  "$(grep -E '"(failed|hooked)"|peer\.deleted|room\.deleted|metadata_updated|component\.crashed' "$WORK/listen.out")"

exec 7>&-
finish
