# SPDX-License-Identifier: MIT
# test_fishjam_newer_rest.sh — the room API calls Fishjam SDK 0.26-0.29 add
# (issue 15): GET /validate (also as the SDK's "//validate"), the vapi peer
# type (REST, notifier, history, CLI, a restart), and the 501s of the
# media features herald has not (track forwardings, MoQ, recordings).
. "$(dirname "$0")/lib.sh"
herald_start
export HERALD_SERVER=$URL HERALD_TOKEN=$TOKEN
json=(-H 'Content-Type: application/json')
jget() { python3 -c "import json,sys; d=json.load(sys.stdin); print(eval('d'+sys.argv[1]))" "$1"; }

# ---- GET /validate -------------------------------------------------------
expect_eq "validate: the server token is 200" "200 {}" "$(http GET /validate "${auth[@]}")"
st=$(curl -s --path-as-is -o /dev/null -w '%{http_code}' "$URL//validate" "${auth[@]}")
expect_eq "validate: as the SDK asks it, //validate" 200 "$st"
expect_eq "validate: a wrong token is 401" '401 {"errors":"Invalid token"}' \
  "$(http GET /validate -H 'Authorization: Bearer not-the-token')"
expect_eq "validate: no token is 401" '401 {"errors":"Missing token"}' "$(http GET /validate)"
expect_eq "validate: not Bearer is 401" '401 {"errors":"Missing token"}' \
  "$(http GET /validate -H "Authorization: Basic $TOKEN")"
expect_match "validate: POST is 405, not 404" '^405 \{"errors":' "$(http POST /validate "${auth[@]}")"

# ---- the vapi peer type --------------------------------------------------
"$CLI" listen > "$WORK/listen.out" 2> "$WORK/listen.err" &
PIDS+=($!)
wait_for "$WORK/listen.err" 'listening' || fail "listen did not subscribe: $(cat "$WORK/listen.err")"
# A protobuf notifier client, as the Fishjam SDKs are: prints
# "subscribed", then "peer_added <peer_id> <peer_type number>" per PeerAdded.
PYTHONPATH=$(dirname "$0")/../hostile python3 - "$PORT" "$TOKEN" > "$WORK/pb.out" 2>&1 <<'PY' &
import sys
import hostile as h

def varint(b, i):
    v = shift = 0
    while True:
        v |= (b[i] & 0x7F) << shift
        shift += 7
        i += 1
        if not b[i - 1] & 0x80:
            return v, i

def fields(b):  # {number: [value]} of one message (varints and bytes)
    out, i = {}, 0
    while i < len(b):
        key, i = varint(b, i)
        if key & 7 == 0:
            v, i = varint(b, i)
        else:
            n, i = varint(b, i)
            v, i = b[i:i + n], i + n
        out.setdefault(key >> 3, []).append(v)
    return out

port, token = int(sys.argv[1]), sys.argv[2].encode()
auth = b"\x0a" + bytes([len(token)]) + token  # AuthRequest{token}
s, buf = h.ws_connect(port, "/socket/server/websocket",
                      frames=h.ws_frame(b"\x3a" + bytes([len(auth)]) + auth, opcode=0x2) +
                      h.ws_frame(b"\x42\x02\x08\x01", opcode=0x2))  # SubscribeRequest{SERVER_NOTIFICATION}
while buf is not None:
    op, payload, buf = h.ws_read_frame(s, buf)
    if op != 0x2:
        break
    msg = fields(payload)
    if 9 in msg:  # SubscribeResponse
        print("subscribed", flush=True)
    for added in msg.get(20, []):  # PeerAdded{room_id=1, peer_id=2, peer_type=3}
        f = fields(added)
        print("peer_added", f[2][0].decode(), f.get(3, [0])[0], flush=True)
PY
PIDS+=($!)
wait_for "$WORK/pb.out" '^subscribed' || fail "the protobuf notifier did not subscribe: $(cat "$WORK/pb.out")"
http POST /room "${auth[@]}" "${json[@]}" -d '{"roomId":"v1"}' >/dev/null
out=$(http POST /room/v1/peer "${auth[@]}" "${json[@]}" \
  -d '{"type":"vapi","options":{"apiKey":"vapi-secret-key","callId":"call-1","subscribeMode":"manual"}}')
expect_match "vapi: created (201)" '^201 ' "$out"
body=${out#201 }
vpid=$(echo "$body" | jget "['data']['peer']['id']")
expect_eq "vapi: the peer says type vapi, subscribeMode manual, disconnected" "vapi manual disconnected" \
  "$(echo "$body" | jget "['data']['peer']['type']") $(echo "$body" | jget "['data']['peer']['subscribeMode']") $(echo "$body" | jget "['data']['peer']['status']")"
expect_match "vapi: a token and the socket URL, as for agent peers" \
  '"token":"[A-Za-z0-9_-]{43}".*"peer_websocket_url":"[^"]*/socket/peer/websocket"' "$body"
expect_eq "vapi: the API key is not echoed" "" "$(echo "$body" | grep -o vapi-secret-key)"
expect_match "peer_websocket_url has no scheme by default (as Fishjam's; --peer-url-scheme adds one)" \
  '"peer_websocket_url":"[^":/]+:[0-9]+/socket/peer/websocket"' "$body"
expect_eq "vapi: GET /room/:id lists it as vapi" "vapi" \
  "$(http GET /room/v1 "${auth[@]}" | sed 's/^200 //' | jget "['data']['peers'][0]['type']")"
expect_match "vapi: peer.added carries peer_type vapi in the history" "\"peer_id\":\"$vpid\",\"peer_type\":\"vapi\"" \
  "$("$CLI" history --type peer.added --room v1)"
wait_for "$WORK/listen.out" "$vpid" && ok "vapi: the notifier announced it" || fail "no peer.added on the notifier"
expect_match "vapi: the JSON notifier says peer_type vapi" '"peer_type":"vapi"' "$(grep "$vpid" "$WORK/listen.out")"
wait_for "$WORK/pb.out" "^peer_added $vpid " || fail "no PeerAdded on the protobuf notifier: $(cat "$WORK/pb.out")"
expect_eq "vapi: the protobuf notifier says PEER_TYPE_VAPI (3)" "peer_added $vpid 3" "$(grep "$vpid" "$WORK/pb.out")"

bad() { # name body expected-message
  local got
  got=$(http POST /room/v1/peer "${auth[@]}" "${json[@]}" -d "$2")
  expect_eq "vapi: $1 is 400" "400 {\"errors\":\"$3\"}" "$got"
}
bad "no options" '{"type":"vapi"}' 'Missing apiKey in vapi peer options'
bad "no apiKey" '{"type":"vapi","options":{"callId":"c"}}' 'Missing apiKey in vapi peer options'
bad "no callId" '{"type":"vapi","options":{"apiKey":"k"}}' 'Missing callId in vapi peer options'
bad "a null callId" '{"type":"vapi","options":{"apiKey":"k","callId":null}}' 'Missing callId in vapi peer options'
bad "a number apiKey" '{"type":"vapi","options":{"apiKey":42,"callId":"c"}}' 'Expected apiKey to be a non-empty string, got: 42'
bad "an object callId" '{"type":"vapi","options":{"apiKey":"k","callId":{"a":1}}}' \
  'Expected callId to be a non-empty string, got: {\"a\":1}'
bad "an empty apiKey" '{"type":"vapi","options":{"apiKey":"","callId":"c"}}' \
  'Expected apiKey to be a non-empty string, got: \"\"'
bad "a bad subscribeMode" '{"type":"vapi","options":{"apiKey":"k","callId":"c","subscribeMode":"x"}}' \
  "Expected subscribeMode to be 'auto' or 'manual'"
bad "options not an object" '{"type":"vapi","options":"k"}' 'Invalid request body structure'
expect_eq "vapi: none of the refused ones was added" 1 \
  "$(http GET /room/v1 "${auth[@]}" | sed 's/^200 //' | jget "['data']['peers'].__len__()")"

# ---- the CLI -------------------------------------------------------------
added=$("$CLI" peer add v1 --type vapi --vapi-api-key k2 --vapi-call-id call-2)
expect_eq "cli: peer add --type vapi prints a vapi peer" vapi "$(echo "$added" | jget "['peer']['type']")"
expect_eq "cli: room get lists both vapi peers" "vapi vapi" \
  "$("$CLI" room get v1 | python3 -c 'import json,sys; print(" ".join(p["type"] for p in json.load(sys.stdin)["peers"]))')"
expect_match "cli: room list too" '"type":"vapi".*"type":"vapi"' "$("$CLI" room list)"
out=$("$CLI" peer add v1 --type vapi --vapi-api-key k2 2>&1); rc=$?
expect_eq "cli: a vapi peer without a call id: exit 1" 1 "$rc"
expect_match "cli: with the server's reason" 'Missing callId in vapi peer options' "$out"
out=$("$CLI" peer add v1 --vapi-call-id c 2>&1); rc=$?
expect_eq "cli: --vapi-* without --type vapi: usage error (exit 2)" 2 "$rc"
expect_match "cli: says so" 'go with --type vapi' "$out"

# ---- 501: what herald does not do ----------------------------------------
nyi() { # name method path what
  expect_eq "$1: 501 naming it" "501 {\"errors\":\"herald carries no media: $4 not implemented\"}" \
    "$(http "$2" "$3" "${auth[@]}" "${json[@]}" -d '{}')"
}
nyi "track_forwardings" POST /room/v1/track_forwardings 'track forwarding to a composition is'
nyi "moq access" POST /moq/access 'MoQ access is'
nyi "GET /recordings" GET /recordings 'recordings are'
nyi "GET /recordings/:id" GET /recordings/rec1 'recordings are'
nyi "DELETE /recordings/:id" DELETE /recordings/rec1 'recordings are'
nyi "POST deeper under /recordings" POST /recordings/rec1/a/b 'recordings are'
expect_eq "501s: no token is 401 first" '401 {"errors":"Missing token"}' "$(http POST /moq/access)"
expect_eq "501s: a wrong token too" '401 {"errors":"Invalid token"}' \
  "$(http GET /recordings -H 'Authorization: Bearer nope')"
expect_match "the room JSON has no compositionInfo (no forwardings)" '^200 ' "$(http GET /room/v1 "${auth[@]}")"
expect_eq "  (absent, which the 0.29 decoder reads as undefined)" "" "$(http GET /room/v1 "${auth[@]}" | grep -o compositionInfo)"

# ---- a restart keeps the type --------------------------------------------
herald_stop
herald_start
export HERALD_SERVER=$URL
expect_eq "restart: both peers are still vapi" "vapi vapi" \
  "$("$CLI" room get v1 | python3 -c 'import json,sys; print(" ".join(p["type"] for p in json.load(sys.stdin)["peers"]))')"
finish
