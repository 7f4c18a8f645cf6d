#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_agent_socket.sh — the agent socket (/socket/agent/websocket, issue 15
# item 3) against raw protobuf clients. Before it existed the path answered
# 404. An agent peer's token in AgentRequest{auth_request} gets
# AgentResponse{authenticated} and the peer counts as connected (peer.connected
# and peer.disconnected with peer_type agent); herald carries no media, so a
# media request closes the socket with 1003 and a reason naming it. Attackers:
# a socket that never authenticates (4003 "authentication timeout" within the
# small --auth-timeout set here), no token, a wrong token, a webrtc peer's
# token (refused, and that peer's own socket is left alone), text, undecodable
# bytes, a media request before auth, a second auth. A second agent socket
# replaces the first (4002) and deleting the agent peer or its room closes it
# (4004, 4005), as on the peer socket. Throughout, a well-behaved peer keeps receiving its room's
# events, and herald survives.
. "$(dirname "$0")/../integration/lib.sh"
herald_start --auth-timeout 1

http POST /room "${auth[@]}" -H 'Content-Type: application/json' -d '{"roomId":"r1"}' >/dev/null
add_peer() {
  http POST /room/r1/peer "${auth[@]}" -H 'Content-Type: application/json' -d "{\"type\":\"$1\"}" |
    cut -d' ' -f2-
}
A1=$(add_peer agent)
export AGENT=$(jq -r .data.token <<<"$A1") AGENT_ID=$(jq -r .data.peer.id <<<"$A1")
export AGENT2=$(add_peer agent | jq -r .data.token)
export WEBRTC=$(add_peer webrtc | jq -r .data.token)
http POST /room "${auth[@]}" -H 'Content-Type: application/json' -d '{"roomId":"r2"}' >/dev/null
export AGENT_R2=$(http POST /room/r2/peer "${auth[@]}" -H 'Content-Type: application/json' -d '{"type":"agent"}' |
  cut -d' ' -f2- | jq -r .data.token)
export PORT TOKEN
expect_match "the agent's peer_websocket_url names the peer socket (the SDK swaps the path)" \
  '/socket/peer/websocket$' "$(jq -r .data.peer_websocket_url <<<"$A1")"

python3 - <<'EOF'
import json, os, sys, urllib.request
import hostile as h

port = int(os.environ["PORT"])
check = h.Checks()
AGENT, AGENT2, WEBRTC = os.environ["AGENT"], os.environ["AGENT2"], os.environ["WEBRTC"]

def ld(field, payload):  # one length-delimited protobuf field
    n, v = len(payload), b""
    while True:
        v += bytes([(n & 0x7F) | (0x80 if n > 0x7F else 0)])
        n >>= 7
        if not n:
            break
    return bytes([(field << 3) | 2]) + v + payload

def auth(token):  # AgentRequest{auth_request(1): AuthRequest{token(1)}}
    return ld(1, ld(1, token.encode()) if token else b"")
ADD_TRACK = ld(2, ld(1, ld(1, b"t-1") + b"\x10\x02" + ld(3, b"{}")) + ld(2, b"\x08\x01\x10\x80\x7d\x18\x01"))
TRACK_DATA = ld(4, ld(1, b"t-1") + ld(2, b"\x00\x01" * 160))
AUTHENTICATED = b"\x0a\x00"  # AgentResponse{authenticated(1): {}}

def api(method, path, body=None):
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path), method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": "Bearer " + os.environ["TOKEN"], "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=h.DEADLINE) as r:
        return r.status, r.read()

def frames_until_close(s, buf=b""):
    out = []
    while True:
        op, payload, buf = h.ws_read_frame(s, buf)
        if op is None:
            return out, buf
        if op == 0x9:  # answer pings like a live client
            s.sendall(h.ws_frame(payload, opcode=0xA))
            continue
        out.append((op, payload))
        if op == 0x8:
            s.sendall(h.ws_frame(payload[:2], opcode=0x8))
            return out, buf

def close_of(got):
    close = [p for op, p in got if op == 0x8]
    return h.close_code(close[0]) if close else (None, "")

def agent(frames=(), path="/socket/agent/websocket"):
    s, buf = h.ws_connect(port, path, frames=b"".join(h.ws_frame(f, opcode=o) for o, f in frames))
    return s, buf

def refused(name, frames, code, reason):
    s, buf = agent(frames)
    check(name + ": upgraded", buf is not None)
    got, _ = frames_until_close(s, buf or b"")
    c = close_of(got)
    check(name + ": closed %d %r" % (code, reason), c == (code, reason), "got %r, frames %r" % (c, got))
    check(name + ": the connection ends", h.closed_by_peer(s))
    s.close()

# A well-behaved webrtc peer, connected throughout.
good = h.peer_socket(port, WEBRTC)
def good_receives(marker):
    api("POST", "/v1/events", {"type": "room.note", "room_id": "r1", "data": {"m": marker}})
    while True:
        op, payload, good[1] = h.ws_read_frame(good[0], good[1])
        if op is None:
            return False
        if op == 0x1 and marker.encode() in payload:
            return True

refused("never authenticates", [], 4003, "authentication timeout")
refused("no token", [(2, auth(""))], 4003, "invalid auth request")
refused("a wrong token", [(2, auth("x" * 43))], 4003, "invalid token")
refused("a webrtc peer's token", [(2, auth(WEBRTC))], 4003, "invalid token: not an agent peer's token")
check("the webrtc peer's own socket was left alone", good_receives("after-webrtc-token"))
refused("a text frame", [(1, json.dumps({"type": "auth", "token": AGENT}).encode())], 1003,
        "the agent socket takes binary AgentRequest frames, not text")
refused("undecodable bytes", [(2, b"\xff\xff\xff")], 1007, "malformed AgentRequest")
refused("add_track before auth", [(2, ADD_TRACK)], 4003, "invalid auth request")

# The agent authenticates (the SDK's double-slash path too).
s, buf = agent([(2, auth(AGENT))], path="//socket/agent/websocket")
op, payload, buf = h.ws_read_frame(s, buf)
check("an agent's token is answered AgentResponse{authenticated}", (op, payload) == (2, AUTHENTICATED),
      repr((op, payload)))
s.sendall(h.ws_frame(auth(AGENT), opcode=2))
got, _ = frames_until_close(s, buf)
check("a second auth: 4003 already authenticated", close_of(got) == (4003, "already authenticated"), repr(got))
s.close()

# Media after auth: refused, named.
for name, req in (("add_track", ADD_TRACK), ("track_data", TRACK_DATA), ("remove_track", ld(3, ld(1, b"t-1"))),
                  ("interrupt_track", ld(5, ld(1, b"t-1"))), ("capture_image", ld(6, ld(1, b"t-1")))):
    s, buf = agent([(2, auth(AGENT)), (2, req)])
    got, _ = frames_until_close(s, buf)
    check("%s after auth: authenticated, then 1003 naming it" % name,
          got[:1] == [(2, AUTHENTICATED)] and close_of(got) == (1003, "herald carries no media: %s is not supported" % name),
          repr(got))
    s.close()

# A second socket replaces the first; deleting the peer closes the second.
s1, b1 = agent([(2, auth(AGENT2))])
op, payload, b1 = h.ws_read_frame(s1, b1)
s2, b2 = agent([(2, auth(AGENT2))])
op2, payload2, b2 = h.ws_read_frame(s2, b2)
check("both agent sockets authenticated", (op, payload, op2, payload2) == (2, AUTHENTICATED, 2, AUTHENTICATED))
got, _ = frames_until_close(s1, b1)
check("the older agent socket is replaced: 4002", close_of(got) == (4002, "replaced by a new connection"), repr(got))
peer2 = json.loads(api("GET", "/room/r1")[1])["data"]["peers"]
pid2 = [p["id"] for p in peer2 if p["type"] == "agent" and p["id"] != os.environ["AGENT_ID"]][0]
check("the agent peer is listed as connected", [p["status"] for p in peer2 if p["id"] == pid2] == ["connected"], repr(peer2))
api("DELETE", "/room/r1/peer/" + pid2)
got, _ = frames_until_close(s2, b2)
check("deleting the agent peer closes its socket: 4004", close_of(got) == (4004, "peer deleted"), repr(got))

check("the well-behaved peer still receives", good_receives("at-the-end"))
# Presence, as a listener sees it (the history keeps what notifiers get).
evs = json.loads(api("GET", "/v1/events?since=0&limit=1000")[1])["events"]
mine = [(e["type"], e["data"].get("peer_type")) for e in evs
        if e["type"].startswith("peer.") and e["data"].get("peer_id") == os.environ["AGENT_ID"]]
check("the agent's presence: peer.connected / peer.disconnected with peer_type agent",
      ("peer.connected", "agent") in mine and ("peer.disconnected", "agent") in mine, repr(mine))
# Deleting the agent's room closes its socket: 4005.
s, buf = agent([(2, auth(os.environ["AGENT_R2"]))])
op, payload, buf = h.ws_read_frame(s, buf)
check("the agent of r2 authenticated", (op, payload) == (2, AUTHENTICATED))
api("DELETE", "/room/r2")
got, _ = frames_until_close(s, buf)
check("deleting the agent's room closes its socket: 4005", close_of(got) == (4005, "room deleted"), repr(got))
sys.exit(1 if check.failed else 0)
EOF
[ $? -eq 0 ] && ok "agent socket checks" || fail "agent socket checks"
expect_match "herald is alive" '^200' "$(http GET /health)"
finish
