#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_janus_ws_pause.sh — a Janus WebSocket's every frame is a publish (a
# durable commit); herald stops reading the socket until the frame's events
# are stored and answered, so one client with the Janus credentials cannot
# queue commits in the hub without bound by pipelining frames (issue 13,
# low: the hub queue behind a Janus WebSocket). Seen from the client: with
# [batch 1, bad frame, batch 2, bad frame] in ONE write the answers come as
# ids 1, error, ids 2, error — in that order. Before the fix herald answered
# both bad frames at once, while batch 1 was still being committed. Then a
# pipelined flood of 300 batches (larger than one read, so input is kept
# across pauses): each answered in order, every event stored once, and a
# server notifier listener (the well-behaved client) gets all of them.
. "$(dirname "$0")/../integration/lib.sh"
herald_start
export PORT TOKEN

python3 - <<'EOF' || fail "janus ws pause"
import json, os, sys, urllib.request
import hostile as h
port, token = int(os.environ["PORT"]), os.environ["TOKEN"]
check = h.Checks()

def batch(n):
    """One Janus event (a hangup) made unique by n, so none is a duplicate."""
    return h.ws_frame(json.dumps([{"emitter": "hostile", "type": 16, "subtype": 6, "timestamp": 1000 + n,
                                   "session_id": 7, "handle_id": n, "opaque_id": "pause-test",
                                   "event": {"connection": "hangup", "reason": "n%d" % n}}]))

def answers(s, n):
    """The next n answers of the Janus socket, as short labels."""
    out = []
    while len(out) < n:
        op, payload, s[1] = h.ws_read_frame(s[0], s[1])
        if op != 1:
            return out + ["closed %r" % payload]
        j = json.loads(payload)
        out.append("ids %d" % len(j["ids"]) if "ids" in j else "error")
    return out

def janus():
    s, buf = h.ws_connect(port, "/janus/ws?token=" + token)
    assert buf is not None, "the Janus upgrade was refused"
    return [s, buf]

# The well-behaved client: a JSON server notifier subscribed to everything.
lis, buf = h.ws_connect(port, "/socket/server/websocket",
                        frames=h.ws_frame(json.dumps({"type": "auth", "token": token})) +
                        h.ws_frame(json.dumps({"type": "subscribe", "event_type": "server_notification"})))
listener = [lis, buf]
while True:  # subscribed before anything is published
    op, payload, listener[1] = h.ws_read_frame(listener[0], listener[1])
    assert op == 1, (op, payload)
    if json.loads(payload)["type"] == "subscribe_response":
        break

a = janus()
a[0].sendall(batch(1) + h.ws_frame("[{") + batch(2) + h.ws_frame("[{"))
got = answers(a, 4)
check("the frames after a publish wait for its commit: ids, error, ids, error",
      got == ["ids 1", "error", "ids 1", "error"], repr(got))

b = janus()
b[0].sendall(b"".join(batch(i) for i in range(100, 400)))
got = answers(b, 300)
check("a pipelined flood of 300 batches: each answered, in order",
      got == ["ids 1"] * 300, repr(got[:5]) + "…" + repr(got[-5:]))
req = urllib.request.Request("http://127.0.0.1:%d/v1/events?type=janus.webrtc&limit=1000" % port,
                             headers={"Authorization": "Bearer " + token})
hist = [e["data"]["handle_id"] for e in json.load(urllib.request.urlopen(req, timeout=h.DEADLINE))["events"]]
check("history holds every event once, in order", hist == [1, 2] + list(range(100, 400)), repr(hist[:6]))

seen = []
while len(seen) < 302:
    op, payload, listener[1] = h.ws_read_frame(listener[0], listener[1])
    if op != 1:
        seen.append("closed %r" % payload)
        break
    j = json.loads(payload)
    if j.get("type") == "janus.webrtc":
        seen.append(j["data"]["handle_id"])
check("the listener gets every event, in order, and stays open",
      seen == [1, 2] + list(range(100, 400)), repr(seen[-3:]))
sys.exit(1 if check.failed else 0)
EOF
kill -0 "$HERALD_PID" 2>/dev/null && ok "herald survived" || fail "herald died"
finish
