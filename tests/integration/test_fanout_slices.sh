#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_fanout_slices.sh — one channel with more subscribers per loop than
# one flush slice (net/loop.c writes HV_FLUSH_SLICE = 256 sockets, then
# reads what arrived, and past HV_FLUSH_WAVES batches finishes the pass
# first), fed by one publisher that posts the next event as soon as the
# last is answered, so events are committed while passes are under way and
# join sockets' queues mid-pass. What a subscriber sees must not change:
# 700 JSON listeners (about 350 per loop, under the 1,024 descriptors a
# default soft limit allows) each get all 80 events, once, in id order,
# and none is closed.
. "$(dirname "$0")/lib.sh"
herald_start --threads 2 --max-unauthenticated-per-address 0

out=$(python3 - "$PORT" "$TOKEN" <<'PY'
import json, os, selectors, socket, sys, time
sys.path.insert(0, os.path.join(os.environ["SRC"], "tests", "hostile"))
import hostile
port, token = int(sys.argv[1]), sys.argv[2]
N, EVENTS = 700, 80
auth = hostile.ws_frame(json.dumps({"type": "auth", "token": token}).encode())
sub = hostile.ws_frame(b'{"type":"subscribe","event_type":"server_notification"}')

socks, bufs, state = [], {}, {}
for i in range(N):
    s, rest = hostile.ws_connect(port, "/socket/server/websocket", frames=auth + sub)
    if rest is None:
        print("upgrade refused for listener", i); sys.exit(0)
    s.setblocking(False)
    socks.append(s); bufs[s] = rest; state[s] = {"ready": 0, "ids": []}

sel = selectors.DefaultSelector()
for s in socks:
    sel.register(s, selectors.EVENT_READ)

def take_frames(s):
    """Handles the whole frames in s's buffer; False on a close or an
    unexpected frame."""
    while True:
        f = hostile.ws_take_frame(bufs[s])
        if not f:
            return True
        op, payload, bufs[s] = f
        if op == 9:  # the server's ping: answer it, as a client must
            s.setblocking(True)
            s.sendall(hostile.ws_frame(payload, opcode=0xA))
            s.setblocking(False)
            continue
        if op != 1:
            print("a listener got opcode", op, hostile.close_code(payload) if op == 8 else "")
            return False
        m = json.loads(payload)
        if m.get("type") in ("authenticated", "subscribe_response"):
            state[s]["ready"] += 1
        elif "id" in m:
            state[s]["ids"].append(int(m["id"]))

def pump(until, deadline, wait=0.5):
    """Reads every socket until until() or the deadline; False on a close."""
    while True:
        if until():
            return True
        for key, _ in sel.select(timeout=wait):
            s = key.fileobj
            try:
                chunk = s.recv(1 << 16)
            except BlockingIOError:
                continue
            if not chunk:
                print("a listener was closed")
                return False
            bufs[s] += chunk
            if not take_frames(s):
                return False
        if time.monotonic() > deadline:
            return True

if not all(take_frames(s) for s in socks):  # frames that came with the 101
    sys.exit(0)
deadline = time.monotonic() + hostile.DEADLINE
if not pump(lambda: all(st["ready"] == 2 for st in state.values()), deadline):
    sys.exit(0)

# one publisher, the next POST as soon as the last is answered
p = hostile.connect(port)
h = {"Authorization": "Bearer " + token, "Content-Type": "application/json"}
ids, pending = [], b""
for k in range(EVENTS):
    p.sendall(hostile.http_request("POST", "/v1/events", h, b'{"type":"slice.test","data":{"k":%d}}' % k))
    status, head, body = hostile.read_response(p)
    if status != 201:
        print("publish", k, "got", status); sys.exit(0)
    ids.append(int(json.loads(body)["ids"][0]))
    pump(lambda: False, time.monotonic(), 0)  # one round: what is there meanwhile, no wait

deadline = time.monotonic() + hostile.DEADLINE
pump(lambda: all(len(st["ids"]) >= EVENTS for st in state.values()), deadline)
complete = sum(1 for st in state.values() if st["ids"] == ids)
wrong = [st["ids"] for st in state.values() if st["ids"] != ids][:1]
print("listeners", N, "complete", complete, "first wrong", wrong[0][:10] if wrong else "-")
PY
)
expect_match "700 listeners of one channel each got the 80 events once, in order, while the publisher ran" \
  '^listeners 700 complete 700 first wrong -$' "$out"
finish
