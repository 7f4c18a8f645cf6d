#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_publish_socket.sh — GET /v1/events/websocket, the persistent
# publishing connection (issue 16 item 3), driven byte for byte:
# - auth by the Bearer header and by a first {"type":"auth"} frame, each
#   answered {"type":"authenticated"}; a wrong header token gets POST's
#   401 before any upgrade, a wrong first-frame token 4001 "invalid
#   token", anything else first 4001 "authenticate first"; both refusals
#   count toward --auth-fail-limit (the next try from the address is
#   refused 429); no auth within --auth-timeout closes 1008;
# - pipelined frames (one write) answered in frame order, seq 1, 2, ...,
#   with ids GET /v1/events returns; a 400 in the middle carries POST's
#   message for the same body and disturbs neither neighbour;
# - a binary frame closes 1003 after the frames before it are answered;
#   a frame past --max-body closes 1009, and before authentication one
#   past --max-ws-message;
# - --publish-window: 3000 frames written without reading, window 4:
#   herald stops reading at 4 unanswered (its debug log says so), nothing
#   is lost, every frame is answered in order once the client reads;
# - a JSON server notifier gets the published events;
# and herald survives, a well-behaved publisher is still served.
. "$(dirname "$0")/../integration/lib.sh"
herald_start --max-body 65536 --max-ws-message 4096 --publish-window 4 --log-level debug
export PORT TOKEN LOG

python3 - <<'EOF' || fail "publishing socket"
import json, os, sys, urllib.request
import hostile as h
port = int(os.environ["PORT"])
check = h.Checks()
AUTH = {"Authorization": "Bearer " + os.environ["TOKEN"]}

def frame(obj, opcode=1):
    return h.ws_frame(obj if isinstance(obj, (bytes, str)) else json.dumps(obj), opcode)

def texts(s, buf, n):
    """The next n frames' payloads as JSON, then (close code, reason) if a
    close came instead, and the rest of the buffer."""
    out = []
    while len(out) < n:
        op, p, buf = h.ws_read_frame(s, buf)
        if op == 8:
            return out, h.close_code(p), buf
        if op is None:
            return out, None, buf
        if op == 1:
            out.append(json.loads(p))
    return out, None, buf

def post(body):
    req = urllib.request.Request("http://127.0.0.1:%d/v1/events" % port, data=body.encode(),
                                 headers=dict(AUTH, **{"Content-Type": "application/json"}))
    try:
        return json.load(urllib.request.urlopen(req, timeout=h.DEADLINE))
    except urllib.error.HTTPError as e:
        return json.load(e)

def history(since, limit=10000):
    req = urllib.request.Request("http://127.0.0.1:%d/v1/events?since=%d&limit=%d" % (port, since, limit),
                                 headers=AUTH)
    return json.load(urllib.request.urlopen(req, timeout=h.DEADLINE))["events"]

# A JSON server notifier, to see the published events delivered.
note, buf = h.ws_connect(port, "/socket/server/websocket")
note.sendall(frame({"type": "auth", "token": os.environ["TOKEN"]}) +
             frame({"type": "subscribe", "event_type": "server_notification"}))
got, _, note_buf = texts(note, buf, 2)
check("a JSON notifier subscribes", [m.get("type") for m in got] == ["authenticated", "subscribe_response"], repr(got))

# Auth by header; five pipelined frames, a 400 and a bad array among them.
bodies = [{"type": "pub.one", "room_id": "r1", "data": {"n": 1}},
          {"type": "Bad"},
          [{"type": "pub.two"}, {"type": "pub.three", "user_id": "u1"}],
          [{"type": "pub.ok"}, {"type": "pub.bad", "roomId": "r1"}],
          {"type": "pub.four"}]
s, buf = h.ws_connect(port, "/v1/events/websocket", AUTH, b"".join(frame(b) for b in bodies))
got, closed, buf = texts(s, buf, 6)
check("auth by header: answered authenticated", got[:1] == [{"type": "authenticated"}], repr(got[:1]))
ans = got[1:]
check("five pipelined frames: five answers, in frame order", [a.get("seq") for a in ans] == [1, 2, 3, 4, 5],
      repr(ans))
want2, want4 = post(json.dumps(bodies[1]))["errors"], post(json.dumps(bodies[3]))["errors"]
check("the refused frames carry POST /v1/events's status and message",
      [(a.get("status"), a.get("errors")) for a in (ans[1], ans[3])] == [(400, want2), (400, want4)], repr(ans))
ids = ans[0].get("ids", []) + ans[2].get("ids", []) + ans[4].get("ids", [])
check("their neighbours are committed: one id each, two for the array", len(ids) == 4 and
      [len(ans[i].get("ids", [])) for i in (0, 2, 4)] == [1, 2, 1], repr(ans))
hist = {e["id"]: e["type"] for e in history(int(ids[0]) - 1, 10)}
check("GET /v1/events returns those ids with their events",
      [hist.get(i) for i in ids] == ["pub.one", "pub.two", "pub.three", "pub.four"], repr(hist))
seen = []
while len(seen) < 4:
    op, p, note_buf = h.ws_read_frame(note, note_buf)
    if op is None:
        break
    if op == 1 and json.loads(p).get("type", "").startswith("pub."):
        seen.append(json.loads(p)["id"])
check("the notifier gets the published events", seen == ids, repr(seen))

# Auth by the first frame, then publish on the same write.
s2, buf2 = h.ws_connect(port, "/v1/events/websocket", None,
                        frame({"type": "auth", "token": os.environ["TOKEN"]}) + frame({"type": "pub.five"}))
got, closed, buf2 = texts(s2, buf2, 2)
check("auth by first frame: authenticated, then frame 1 answered",
      got[0] == {"type": "authenticated"} and got[1].get("seq") == 1 and len(got[1].get("ids", [])) == 1, repr(got))

# Window: 3000 frames in one write, window 4; nothing read until all is sent.
N = 3000
pauses = lambda: open(os.environ["LOG"]).read().count("unanswered, not reading")
before = pauses()
s2.sendall(b"".join(frame({"type": "pub.flood", "data": {"i": i}}) for i in range(N)))
ok = h.until(lambda: pauses() > before)
check("past --publish-window herald stops reading (debug log)", ok)
got, closed, buf2 = texts(s2, buf2, N)
check("every frame past the window is answered, in order, none lost",
      [a.get("seq") for a in got] == list(range(2, N + 2)) and all(len(a.get("ids", [])) == 1 for a in got),
      "%d answers, close %r, first %r" % (len(got), closed, got[:2]))
flood = [e for e in history(int(got[0]["ids"][0]) - 1) if e["type"] == "pub.flood"] if got else []
check("history holds the flood in order", [e["data"]["i"] for e in flood] == list(range(N)), repr(len(flood)))

# Binary after two good frames: both answered, then 1003.
s3, buf3 = h.ws_connect(port, "/v1/events/websocket", AUTH,
                        frame({"type": "pub.six"}) + frame({"type": "pub.seven"}) + frame(b"\x01\x02", 2))
got, closed, buf3 = texts(s3, buf3, 4)
check("a binary frame closes 1003 after the frames before it are answered",
      [a.get("seq") for a in got[1:]] == [1, 2] and closed == (1003, "publish frames are JSON text"),
      "%r %r" % (got, closed))

# Oversize: a frame header announcing more than --max-body.
s4, buf4 = h.ws_connect(port, "/v1/events/websocket", AUTH, frame({"type": "pub.big", "data": {"x": "y" * 70000}}))
got, closed, buf4 = texts(s4, buf4, 2)
check("a frame past --max-body closes 1009", closed == (1009, "message too big"), "%r %r" % (got, closed))

# Before authentication: anything else first, then a wrong token.
s5, buf5 = h.ws_connect(port, "/v1/events/websocket", None, frame({"type": "pub.eight"}))
got, closed, _ = texts(s5, buf5, 1)
check("a publish before auth closes 4001 authenticate first", closed == (4001, "authenticate first"), repr(closed))

# Before auth a frame is bounded by --max-ws-message (an auth frame is all it may be).
s6, buf6 = h.ws_connect(port, "/v1/events/websocket", None, frame({"type": "auth", "token": "x" * 5000}))
got, closed, _ = texts(s6, buf6, 1)
check("before auth a frame past --max-ws-message closes 1009", closed == (1009, "message too big"), repr(closed))

# A well-behaved publisher is still served, up to --max-body after auth.
s.sendall(frame({"type": "pub.nine", "data": {"x": "y" * 20000}}))
got, closed, buf = texts(s, buf, 1)
check("the first publisher is still served, frames past --max-ws-message too (seq 6)",
      got and got[0].get("seq") == 6 and got[0].get("ids"), repr(got)[:200])
sys.exit(1 if check.failed else 0)
EOF
kill -0 "$HERALD_PID" 2>/dev/null && ok "herald survived" || fail "herald died"

# Refusals counted toward --auth-fail-limit, and the auth deadline.
DATA_DIR=$WORK/data2 herald_start --auth-fail-limit 2 --auth-timeout 0.5
export PORT
python3 - <<'EOF' || fail "publishing socket auth"
import json, os, urllib.request
import hostile as h
port = int(os.environ["PORT"])
check = h.Checks()
s, rest = h.ws_connect(port, "/v1/events/websocket")
closes = h.ws_until_close(s, rest)
check("no auth within --auth-timeout closes 1008 authentication timeout",
      closes and h.close_code(closes[-1][1]) == (1008, "authentication timeout"), repr(closes))
s = h.connect(port)
s.sendall(h.ws_upgrade("/v1/events/websocket", {"Authorization": "Bearer wrong"}))
status, head, body = h.read_response(s)
check("a wrong header token gets POST's 401 before any upgrade",
      status == 401 and json.loads(body) == {"errors": "Invalid token"}, "%r %r" % (status, body))
s, rest = h.ws_connect(port, "/v1/events/websocket", None, h.ws_frame(json.dumps({"type": "auth", "token": "wrong"})))
closes = h.ws_until_close(s, rest)
check("a wrong first-frame token closes 4001 invalid token",
      closes and h.close_code(closes[-1][1]) == (4001, "invalid token"), repr(closes))
req = urllib.request.Request("http://127.0.0.1:%d/v1/events" % port, data=b'{"type":"x.y"}',
                             headers={"Authorization": "Bearer " + os.environ["TOKEN"]})
try:
    code = urllib.request.urlopen(req, timeout=h.DEADLINE).status
except urllib.error.HTTPError as e:
    code = e.code
check("both refusals counted: the address now backs off (429)", code == 429, repr(code))
import sys; sys.exit(1 if check.failed else 0)
EOF
kill -0 "$HERALD_PID" 2>/dev/null && ok "herald survived" || fail "herald died"
finish
