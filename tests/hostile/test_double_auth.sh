#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_double_auth.sh — a socket authenticates once. A second authentication
# on any socket kind is refused with a close code and a reason, and leaves
# nothing behind. The regression (issue 13, defect 2): a peer token in the
# upgrade's header (or ?token=) plus an auth frame in the same TCP write as
# the upgrade ran the peer socket's authentication twice; the first
# subscription stayed linked to the connection after it was freed and the
# next room event touched freed memory (ASan: heap-use-after-free in
# deliver/channels.c).
# Each attack is sent as ONE write (upgrade + frames), so herald reads it in
# one go; afterwards a room event is published (it would walk a stale
# subscription), and a well-behaved peer of the same room must still get it.
# Socket kinds: the peer socket (peer token, user token), the access socket
# (/subscribe_to_events) and the server notifier (JSON and protobuf; Fishjam
# answers anything but a subscribe after auth with 1003 "operation not
# allowed", herald keeps that). Janus's WebSocket authenticates only on the
# upgrade (Basic / Bearer), so it has no second authentication to refuse.
. "$(dirname "$0")/../integration/lib.sh"
SECRET=d0uble-auth-secret
herald_start --jwt-secret "$SECRET"

http POST /room "${auth[@]}" -H 'Content-Type: application/json' -d '{"roomId":"r1"}' >/dev/null
peer_token() {
  http POST /room/r1/peer "${auth[@]}" -H 'Content-Type: application/json' -d '{"type":"webrtc"}' |
    cut -d' ' -f2- | jq -r .data.token
}
export PORT TOKEN HERALD_PID
export GOOD=$(peer_token) A1=$(peer_token) A2=$(peer_token) A3=$(peer_token) A4=$(peer_token)
export UTOKEN=$("$CLI" token --user mallory --rooms r1 --secret "$SECRET")
export ATOKEN=$("$CLI" token --user acc1 --secret "$SECRET")

python3 - <<'EOF'
import json, os, struct, sys, urllib.request
import hostile as h

port, failed = int(os.environ["PORT"]), []
check = h.Checks()
failed = check.failed

def frames_until_close(s, buf=b""):
    """Every frame up to and including the close: [(opcode, payload)]."""
    out = []
    while True:
        op, payload, buf = h.ws_read_frame(s, buf)
        if op is None:
            return out
        out.append((op, payload))
        if op == 0x8:
            return out

def attack(path, headers, frames):
    """The upgrade and the frames in one write; the frames herald sent until
    its close, and whether it then closed the TCP connection."""
    s = h.connect(port)
    s.sendall(h.ws_upgrade(path, headers) + b"".join(frames))
    head = h.read_until(s, b"\r\n\r\n")
    if b" 101 " not in head.split(b"\r\n")[0]:
        return head, [], False
    got = frames_until_close(s, head.split(b"\r\n\r\n", 1)[1])
    if got and got[-1][0] == 0x8:
        s.sendall(h.ws_frame(got[-1][1][:2], opcode=0x8))  # answer the close
    closed = h.closed_by_peer(s)
    s.close()
    return head, got, closed

def publish(marker):
    req = urllib.request.Request("http://127.0.0.1:%d/v1/events" % port, method="POST",
        data=json.dumps({"type": "room.note", "room_id": "r1", "data": {"m": marker}}).encode(),
        headers={"Authorization": "Bearer " + os.environ["TOKEN"], "Content-Type": "application/json"})
    return urllib.request.urlopen(req, timeout=h.DEADLINE).status

# The well-behaved peer, connected for the whole test.
good = h.connect(port)
good.sendall(h.ws_upgrade("/socket/peer/websocket", {"Authorization": "Bearer " + os.environ["GOOD"]}))
head = h.read_until(good, b"\r\n\r\n")
good_buf = head.split(b"\r\n\r\n", 1)[1] if b"\r\n\r\n" in head else b""
def good_receives(marker):
    global good_buf
    while True:
        op, payload, good_buf = h.ws_read_frame(good, good_buf)
        if op is None:
            return False
        if op == 0x1 and marker.encode() in payload:
            return True

def auth_json(token, **extra):
    return h.ws_frame(json.dumps(dict(type="auth", token=token, **extra)))

def pb_auth(token):  # ServerMessage{auth_request(7): AuthRequest{token(1)}}
    inner = b"\x0a" + bytes([len(token)]) + token.encode()
    return h.ws_frame(b"\x3a" + bytes([len(inner)]) + inner, opcode=0x2)

def expect_refused(name, result, code, reason, first=None):
    head, got, closed = result
    close = [p for op, p in got if op == 0x8]
    texts = [p.decode("utf-8", "replace") for op, p in got if op in (0x1, 0x2)]
    c, r = h.close_code(close[0]) if close else (None, "")
    if first:
        check(name + ": the first authentication succeeds", any(first in t for t in texts), repr(texts))
    check(name + ": the second is refused with %d %r" % (code, reason), (c, r) == (code, reason),
          "got %r %r, frames %r" % (c, r, texts))
    check(name + ": the connection is closed after the close frame", closed)

P = "/socket/peer/websocket"
cases = [
    ("peer socket: Bearer header + auth frame in the upgrade's write",
     P, {"Authorization": "Bearer " + os.environ["A1"]}, [auth_json(os.environ["A1"])],
     4003, "already authenticated", '"authenticated"'),
    ("peer socket: ?token= + auth frame in the upgrade's write",
     P + "?token=" + os.environ["A2"], {}, [auth_json(os.environ["A2"])],
     4003, "already authenticated", '"authenticated"'),
    ("peer socket: two auth frames in one write",
     P, {}, [auth_json(os.environ["A3"]), auth_json(os.environ["A3"])],
     4003, "already authenticated", '"authenticated"'),
    ("peer socket: header + auth frame with another peer's token",
     P, {"Authorization": "Bearer " + os.environ["A4"]}, [auth_json(os.environ["A1"])],
     4003, "already authenticated", '"authenticated"'),
    ("peer socket, user token: Bearer header + auth frame",
     P, {"Authorization": "Bearer " + os.environ["UTOKEN"]}, [auth_json(os.environ["UTOKEN"])],
     4003, "already authenticated", '"authenticated"'),
    ("peer socket, user token: two auth frames",
     P, {}, [auth_json(os.environ["UTOKEN"]), auth_json(os.environ["UTOKEN"], since="0")],
     4003, "already authenticated", '"authenticated"'),
    ("access socket: two first messages in one write",
     "/subscribe_to_events", {},
     [h.ws_frame(json.dumps({"access_id": "acc1", "token": os.environ["ATOKEN"]}))] * 2,
     4003, "already authenticated", None),
    ("access socket: Bearer header + two first messages",
     "/subscribe_to_events", {"Authorization": "Bearer " + os.environ["ATOKEN"]},
     [h.ws_frame(json.dumps({"access_id": "acc1"}))] * 2,
     4003, "already authenticated", None),
    ("server notifier (JSON): two auth frames in one write",
     "/socket/server/websocket", {}, [auth_json(os.environ["TOKEN"])] * 2,
     1003, "operation not allowed", '"authenticated"'),
    ("server notifier (protobuf): two AuthRequests in one write",
     "/socket/server/websocket", {}, [pb_auth(os.environ["TOKEN"])] * 2,
     1003, "operation not allowed", "2\x00"),
]
for i, (name, path, headers, frames, code, reason, first) in enumerate(cases):
    expect_refused(name, attack(path, headers, frames), code, reason, first)
    # A room event after the attacker is gone: a subscription left linked
    # to its freed connection would be walked here.
    marker = "after-%d" % i
    check(name + ": a room event is still published", publish(marker) == 201)
    check(name + ": the well-behaved peer still receives room events", good_receives(marker))
    try:
        os.kill(int(os.environ["HERALD_PID"]), 0)
        alive = True
    except OSError:
        alive = False
    check(name + ": herald is alive", alive)
    if not alive:
        break
sys.exit(1 if failed else 0)
EOF
[ $? -eq 0 ] && ok "every double authentication is refused" || fail "a double authentication was not refused cleanly"
kill -0 "$HERALD_PID" 2>/dev/null && ok "herald survived" || fail "herald died"
finish
