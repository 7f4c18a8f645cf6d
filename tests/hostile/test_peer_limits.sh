#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_peer_limits.sh — what an end user may send on its socket is bounded
# (issue 13, defect 5: a peer sent 20 update_metadata messages of 1 MB, 13
# were stored, each an fsynced 1 MB event sent to the whole room, and the
# other peer of the room was closed as a slow consumer).
#  - metadata: larger than --max-metadata (default 16 KiB of JSON) gets an
#    error frame, nothing is stored, the socket stays and a small update
#    still works;
#  - message size: a message larger than --max-peer-message (default 64 KiB)
#    closes the socket with 1009 "message too big", refused from the frame's
#    header (a frame announcing 1 GiB is refused before any of it is sent),
#    also when fragments add up past it; a message of exactly the bound is
#    taken; the same on the access socket (/subscribe_to_events);
#  - rate: past --peer-msg-burst messages (pings count) at once, beyond
#    --peer-msg-rate per second, the socket is closed with 4008 "rate limit
#    exceeded" (the test uses a rate of 0.001/s so no token comes back).
# Every time, herald stays up and the well-behaved peer of the room keeps
# receiving events and is never closed.
. "$(dirname "$0")/../integration/lib.sh"
SECRET=l1mits-secret
export TOKEN SECRET

setup() { # a room r1 and its peers' tokens in P1…P6 and GOOD; a user token
  http POST /room "${auth[@]}" -H 'Content-Type: application/json' -d '{"roomId":"r1"}' >/dev/null
  for v in GOOD P1 P2 P3 P4 P5 P6; do
    export "$v=$(http POST /room/r1/peer "${auth[@]}" -H 'Content-Type: application/json' \
      -d '{"type":"webrtc"}' | cut -d' ' -f2- | jq -r .data.token)"
  done
  export ATOKEN=$("$CLI" token --user acc1 --secret "$SECRET")
  export PORT HERALD_PID
}

# --- herald with the default bounds -------------------------------------------
herald_start --jwt-secret "$SECRET"
setup
python3 - <<'EOF' || fail "default bounds"
import json, os, sys, urllib.request
import hostile as h
port, failed = int(os.environ["PORT"]), []
check = h.Checks()
failed = check.failed

def peer(var):
    return h.peer_socket(port, os.environ[var])

def text_frames(p, want, only=None):
    """The next text frames of p (those containing only, if given) until one
    contains want: their payloads."""
    out = []
    while True:
        op, payload, p[1] = h.ws_read_frame(p[0], p[1])
        if op is None or op == 0x8:
            return out + [("closed", payload)]
        if op == 1 and (only is None or only in payload.decode()):
            out.append(payload.decode())
            if want in payload.decode():
                return out

def history(type_):
    req = urllib.request.Request("http://127.0.0.1:%d/v1/events?type=%s&limit=1000" % (port, type_),
                                 headers={"Authorization": "Bearer " + os.environ["TOKEN"]})
    return json.load(urllib.request.urlopen(req, timeout=h.DEADLINE))["events"]

good = peer("GOOD")
a = peer("P1")
big = {"blob": "x" * 17000}  # 17 KB of JSON: over 16 KiB, under the 64 KiB message bound
a[0].sendall(h.ws_frame(json.dumps({"type": "update_metadata", "metadata": big})))
got = text_frames(a, '"error"', '"error"')
check("metadata over --max-metadata is refused with an error frame",
      got and '"type":"error"' in got[-1] and "metadata too large" in got[-1], repr(got)[:300])
a[0].sendall(h.ws_frame(json.dumps({"type": "update_metadata", "metadata": {"name": "small"}})))
got = text_frames(a, "peer.metadata_updated", "peer.metadata_updated")
check("the socket stays and a small update is stored", got and '"small"' in got[-1], repr(got)[:300])
got = text_frames(good, "peer.metadata_updated", "peer.metadata_updated")
check("the other peer gets the small update only", len(got) == 1 and '"small"' in got[0], repr(got)[:300])
md = [e for e in history("peer.metadata_updated")]
check("history holds the small update only", len(md) == 1 and md[0]["data"]["metadata"] == {"name": "small"},
      repr(md)[:300])

# The issue's attacker: update_metadata messages of 1 MB.
b = peer("P2")
one_mb = h.ws_frame(json.dumps({"type": "update_metadata", "metadata": {"blob": "y" * (1 << 20)}}))
try:
    for _ in range(20):
        b[0].sendall(one_mb)
except OSError:
    pass  # herald closed it: the rest could not be sent
got = h.ws_until_close(b[0], b[1])
c = h.close_code(got[-1][1]) if got and got[-1][0] == 8 else None
check("1 MB messages close the socket with 1009 'message too big'", c == (1009, "message too big"), repr(c))
check("none of them is stored", len(history("peer.metadata_updated")) == 1)
req = urllib.request.Request("http://127.0.0.1:%d/v1/events" % port, method="POST",
    data=b'{"type":"room.note","room_id":"r1"}',
    headers={"Authorization": "Bearer " + os.environ["TOKEN"], "Content-Type": "application/json"})
urllib.request.urlopen(req, timeout=h.DEADLINE)
got = text_frames(good, "room.note", "room.note")
check("the well-behaved peer was not closed and still receives room events",
      got and "room.note" in got[-1], repr(got)[:300])
sys.exit(1 if failed else 0)
EOF
kill -0 "$HERALD_PID" 2>/dev/null && ok "herald survived (default bounds)" || fail "herald died"

# --- herald with small bounds, to reach each one ------------------------------
herald_start --jwt-secret "$SECRET" --max-peer-message 4096 --peer-msg-rate 0.001 --peer-msg-burst 5
setup
python3 - <<'EOF' || fail "small bounds"
import json, os, struct, sys, urllib.request
import hostile as h
port, failed = int(os.environ["PORT"]), []
check = h.Checks()
failed = check.failed

def peer(var):
    return h.peer_socket(port, os.environ[var])

def closed_with(p, frames, want, name):
    try:
        p[0].sendall(frames)
    except OSError:
        pass
    got = h.ws_until_close(p[0], p[1])
    c = h.close_code(got[-1][1]) if got and got[-1][0] == 8 else None
    check(name, c == want, "close %r after %r" % (c, [x[1][:60] for x in got[:-1]]))
    return got

good = peer("GOOD")

# 1 GiB announced, 16 bytes of it sent: refused from the header (wslay
# reports a frame's start with its first payload byte).
head_1g = bytes([0x81, 0x80 | 127]) + struct.pack(">Q", 1 << 30) + b"\x00\x00\x00\x00" + b"{" * 16
closed_with(peer("P1"), head_1g, (1009, "message too big"),
            "a frame announcing 1 GiB closes 1009 'message too big' at its first bytes")
# Fragments adding up past 4096 bytes.
frags = (h.ws_frame("a" * 2000, opcode=1, fin=False) + h.ws_frame("a" * 2000, opcode=0, fin=False) +
         h.ws_frame("a" * 2000, opcode=0, fin=True))
closed_with(peer("P2"), frags, (1009, "message too big"),
            "fragments adding up past --max-peer-message close 1009")
# Exactly 4096 bytes: taken.
p = peer("P3")
msg = json.dumps({"type": "update_metadata", "metadata": {"pad": ""}})
msg = json.dumps({"type": "update_metadata", "metadata": {"pad": "z" * (4096 - len(msg))}})
assert len(msg) == 4096
p[0].sendall(h.ws_frame(msg))
while True:
    op, payload, p[1] = h.ws_read_frame(p[0], p[1])
    if op != 1 or b"peer.metadata_updated" in payload:  # other peers' presence before it
        break
check("a message of exactly --max-peer-message bytes is taken",
      op == 1 and b"peer.metadata_updated" in payload, repr((op, payload[:100])))
# The access socket has the same bound.
s, buf = h.ws_connect(port, "/subscribe_to_events")
closed_with([s, buf], head_1g, (1009, "message too big"), "the access socket: 1 GiB announced closes 1009")

# Rate: 5 messages at once are answered, the 6th closes the socket.
got = closed_with(peer("P4"), h.ws_frame('{"type":"hello"}') * 6, (4008, "rate limit exceeded"),
                  "a 6th message at once (burst 5) closes 4008 'rate limit exceeded'")
check("the 5 messages within the burst were answered", len([g for g in got if b'"error"' in g[1]]) == 5,
      repr(got))
got = closed_with(peer("P5"), h.ws_frame(b"p", opcode=9) * 6, (4008, "rate limit exceeded"),
                  "pings count: a 6th ping at once closes 4008")
# (wslay queues a ping's pong before herald sees the ping: the 6th may be answered too)
check("the 5 pings within the burst were answered", len([g for g in got if g[0] == 0xA]) >= 5, repr(got))
s, buf = h.ws_connect(port, "/subscribe_to_events", {},
                      h.ws_frame(json.dumps({"access_id": "acc1", "token": os.environ["ATOKEN"]})) +
                      h.ws_frame("{}") * 5)
closed_with([s, buf], b"", (4008, "rate limit exceeded"), "the access socket: a 6th message closes 4008")

req = urllib.request.Request("http://127.0.0.1:%d/v1/events" % port, method="POST",
    data=b'{"type":"room.note","room_id":"r1"}',
    headers={"Authorization": "Bearer " + os.environ["TOKEN"], "Content-Type": "application/json"})
urllib.request.urlopen(req, timeout=h.DEADLINE)
seen = []
while True:
    op, payload, good[1] = h.ws_read_frame(good[0], good[1])
    if op != 1:
        break
    seen.append(payload)
    if b"room.note" in payload:
        break
check("the well-behaved peer was not closed and still receives room events",
      seen and b"room.note" in seen[-1], repr(seen)[:300])
sys.exit(1 if failed else 0)
EOF
kill -0 "$HERALD_PID" 2>/dev/null && ok "herald survived (small bounds)" || fail "herald died"
finish
