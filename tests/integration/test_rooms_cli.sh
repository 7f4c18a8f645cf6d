# SPDX-License-Identifier: MIT
# test_rooms_cli.sh — every room and peer endpoint and its error paths,
# driven through herald-cli (the C client library) as a user would; a
# peer connecting with its token; presence in history; abrupt TCP loss
# giving peer.crashed; rooms and peers kept across a restart.
. "$(dirname "$0")/lib.sh"
herald_start
export HERALD_SERVER=$URL

jget() { python3 -c "import json,sys; d=json.load(sys.stdin); print(eval('d'+sys.argv[1]))" "$1"; }

room=$("$CLI" room create --room-id lobby --max-peers 2 --webhook-url http://127.0.0.1:1/hook --video-codec vp8)
expect_eq "room create prints the room" "lobby" "$(echo "$room" | jget "['id']")"
expect_eq "with its config" "2 vp8" "$(echo "$room" | jget "['config']['maxPeers']") $(echo "$room" | jget "['config']['videoCodec']")"
out=$("$CLI" room create --room-id lobby 2>&1); rc=$?
expect_eq "an existing room id: exit 1" 1 "$rc"
expect_match "with the server's reason" 'already exists' "$out"
out=$("$CLI" room create --webhook-url 'not a url' 2>&1); rc=$?
expect_eq "a bad webhook URL: exit 1" 1 "$rc"
expect_match "says which value" 'Expected webhookUrl to be valid URL' "$out"
out=$("$CLI" room create --video-codec av1 2>&1)
expect_match "a bad codec is refused" 'videoCodec' "$out"
expect_eq "room list shows it" 1 "$("$CLI" room list | grep -c '"id":"lobby"')"
expect_match "room get" '"id":"lobby"' "$("$CLI" room get lobby)"
out=$("$CLI" room get nowhere 2>&1); rc=$?
expect_eq "room get of a missing room: exit 1" 1 "$rc"
expect_match "Room nowhere does not exist" 'Room nowhere does not exist' "$out"

added=$("$CLI" peer add lobby --metadata '{"name":"ann"}')
pid=$(echo "$added" | jget "['peer']['id']")
tok=$(echo "$added" | jget "['token']")
expect_match "peer add prints the peer and a token" '^[0-9a-f-]{36} [A-Za-z0-9_-]{43}$' "$pid $tok"
expect_match "and the socket URL" 'socket/peer/websocket' "$added"
"$CLI" peer add lobby --type agent >/dev/null
out=$("$CLI" peer add lobby 2>&1); rc=$?
expect_eq "maxPeers reached: exit 1" 1 "$rc"
expect_match "503 peer limit" 'Reached peer limit in room lobby' "$out"
expect_match "a bad peer type" 'Invalid peer type' "$("$CLI" peer add lobby --type robot 2>&1)"
expect_match "a peer in a missing room" 'Room nowhere does not exist' "$("$CLI" peer add nowhere 2>&1)"

new=$("$CLI" peer refresh-token lobby "$pid" --token-only)
expect_match "refresh-token prints a new token" '^[A-Za-z0-9_-]{43}$' "$new"
out=$("$CLI" peer connect --peer-token "$tok" 2>&1); rc=$?
expect_eq "the old token is refused: exit 1" 1 "$rc"
expect_match "with 4003 invalid token" '4003 invalid token' "$out"
expect_match "refresh-token of a missing peer" 'Peer nobody does not exist' "$("$CLI" peer refresh-token lobby nobody 2>&1)"

"$CLI" peer connect --peer-token "$new" --metadata '{"name":"ann2"}' > "$WORK/peer.out" 2> "$WORK/peer.err" &
PEER=$!; PIDS+=("$PEER")
wait_for "$WORK/peer.err" 'connected as peer' && ok "peer connect authenticates" || fail "peer connect: $(cat "$WORK/peer.err")"
wait_for "$WORK/peer.out" 'peer.metadata_updated' && ok "the peer receives its room's events" || fail "no events: $(cat "$WORK/peer.out")"
expect_match "status is connected" '"status":"connected"' "$("$CLI" room get lobby)"
expect_match "metadata was updated" '"name":"ann2"' "$("$CLI" room get lobby)"
"$CLI" publish chat.message '{"text":"hello room"}' --room lobby >/dev/null
wait_for "$WORK/peer.out" 'hello room' && ok "a published room event reaches the peer" || fail "room event missing"

# Abrupt loss: kill -9 the peer client (no close frame) → peer.crashed.
kill -9 "$PEER"; wait "$PEER" 2>/dev/null
crashed=""
crash_seen() { crashed=$("$CLI" history --type peer.crashed --room lobby); [ -n "$crashed" ]; }
eventually crash_seen
expect_match "kill -9 of the peer gives peer.crashed" "\"peer_id\":\"$pid\".*\"reason\":\"connection lost\"" "$crashed"

"$CLI" peer delete lobby "$pid"; expect_eq "peer delete exits 0" 0 $?
out=$("$CLI" peer delete lobby "$pid" 2>&1); rc=$?
expect_eq "deleting it again: exit 1" 1 "$rc"
expect_match "Peer … does not exist" "Peer $pid does not exist" "$out"

types=$("$CLI" history --room lobby | grep -o '"type":"[a-z_.]*"' | cut -d'"' -f4 | tr '\n' ' ')
expect_eq "presence in history, in order" "room.created peer.added peer.added peer.connected peer.metadata_updated chat.message peer.crashed peer.deleted " "$types"

# A restart keeps the room and its remaining peer.
herald_stop
herald_start
export HERALD_SERVER=$URL
kept=$("$CLI" room get lobby)
expect_match "after a restart the room is back" '"id":"lobby"' "$kept"
expect_eq "with its one remaining peer, disconnected" 1 "$(echo "$kept" | grep -o '"status":"disconnected"' | wc -l)"
"$CLI" room delete lobby; expect_eq "room delete exits 0" 0 $?
out=$("$CLI" room delete lobby 2>&1); rc=$?
expect_eq "deleting it again: exit 1" 1 "$rc"
expect_match "Room lobby does not exist" 'Room lobby does not exist' "$out"
out=$("$CLI" --token wrong room list 2>&1); rc=$?
expect_eq "a wrong server token: exit 1" 1 "$rc"
expect_match "Invalid token (401)" 'Invalid token' "$out"
herald_stop
finish
