#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_resume_bound.sh — resumes replaying at once from one client address
# are bounded (issue 13, defect 6): each resume reads history page by page
# on the thread pool and holds a page and its unsent output, and nothing
# limited how many one client could run. Now at most
# --max-resumes-per-address (default 32; 2 here) replay at once from one
# address: past it a socket that asks to resume (peer socket, access
# socket) is closed with 1013 "too many resumes from this address, try
# again later" and a stream (SSE) gets 429 with a JSON reason. A replay
# also waits for its client to take each page (the next one is read only
# once the output is below --outbound-pause), so an attacker that never
# reads holds its slot, a page and at most that output, until
# --send-timeout closes it.
#
# The attacker: two resumes from 127.0.0.1 of a 10 MB history (more than
# the kernel's socket buffers) that never read past the first event, then
# more resumes from 127.0.0.1. A client from another address resumes all
# of it; a live client (no resume) from 127.0.0.1 is served; once an
# attacker's socket closes, 127.0.0.1 may resume again.
. "$(dirname "$0")/../integration/lib.sh"
SECRET=resume-bound-secret
EVENTS=5000

herald_start --jwt-secret "$SECRET" --max-resumes-per-address 2 --outbound-pause 65536 --send-timeout 600
# user u1's history: 5000 events of 2 KB, in batches of 1000
for b in 0 1 2 3 4; do
  python3 -c '
import json, sys
print(json.dumps([{"type": "bulk", "user_id": "u1", "data": {"i": i, "pad": "x" * 2048}}
                  for i in range(int(sys.argv[1]) * 1000, (int(sys.argv[1]) + 1) * 1000)]))' "$b" >"$WORK/batch.json"
  http POST /v1/events "${auth[@]}" -H 'Content-Type: application/json' --data-binary @"$WORK/batch.json" |
    grep -q '^201 ' || fail "publish batch $b"
done
export UTOKEN=$("$CLI" token --user u1 --secret "$SECRET") PORT EVENTS

python3 - <<'EOF' || fail "resume bound"
import json, os, sys
import hostile as h
port, token, events = int(os.environ["PORT"]), os.environ["UTOKEN"], int(os.environ["EVENTS"])
check = h.Checks()

def resume(source="127.0.0.1", small=False, path="/socket/peer/websocket", first=None):
    """A socket from source that authenticates and resumes from 0: (socket,
    buffered bytes, the first frame after "authenticated": (op, payload))."""
    if small:
        s = h.connect_small(port)
    else:
        s = h.connect(port, source=source)
    s.sendall(h.ws_upgrade(path))
    rest = h.read_until(s, b"\r\n\r\n").split(b"\r\n\r\n", 1)[1]
    s.sendall(h.ws_frame(json.dumps(first or {"type": "auth", "token": token, "since": "0"})))
    op, p, rest = h.ws_read_frame(s, rest)
    if op == 1 and b'"authenticated"' in p:
        op, p, rest = h.ws_read_frame(s, rest)
    return s, rest, (op, p)

# Two attackers from 127.0.0.1 that read one event and then nothing.
attackers = []
for _ in range(2):
    s, rest, (op, p) = resume(small=True)
    check("an attacker's resume starts", op == 1 and b'"bulk"' in p, repr((op, p[:80])))
    attackers.append(s)

# A third resume from 127.0.0.1, on each kind of socket.
s, rest, (op, p) = resume()
c = h.close_code(p) if op == 8 else None
check("a third resume from the address: closed 1013 with a reason",
      c == (1013, "too many resumes from this address, try again later"), repr((op, p[:80])))
s, rest, (op, p) = resume(path="/subscribe_to_events", first={"access_id": "u1", "token": token, "since": "0"})
c = h.close_code(p) if op == 8 else None
check("the same on the access socket",
      c == (1013, "too many resumes from this address, try again later"), repr((op, p[:80])))
s = h.connect(port)
s.sendall(h.http_request("GET", "/v1/stream?since=0&token=" + token))
r = h.read_until(s, b"}")
check("a stream that resumes: 429 with a JSON reason",
      h.status_of(r) == 429 and r.endswith(b'{"errors":"too many resumes from this address, try again later"}'),
      repr(r[-200:]))

check("the three refusals are counted", h.metric(port, "herald_resumes_refused_total") == 3,
      repr(h.metric(port, "herald_resumes_refused_total")))

# A live client (no resume) from the same address is served.
s, rest = h.ws_connect(port, "/socket/peer/websocket")
s.sendall(h.ws_frame(json.dumps({"type": "auth", "token": token})))
op, p, rest = h.ws_read_frame(s, rest)
check("a client that does not resume is served", op == 1 and b'"authenticated"' in p, repr((op, p[:80])))

# A client from another address resumes the whole history.
s, rest, (op, p) = resume(source="127.0.0.2")
last = json.loads(p).get("id") if op == 1 else None
while op == 1 and last != str(events):
    op, p, rest = h.ws_read_frame(s, rest)
    last = json.loads(p).get("id") if op == 1 else last
check("another address resumes every event", last == str(events), repr((op, last)))

# Once an attacker's socket closes, 127.0.0.1 may resume again.
attackers.pop().close()
def resumed():
    s, rest, (op, p) = resume()
    s.close()
    return op == 1 and b'"bulk"' in p
check("a freed slot is usable again", h.until(resumed))
sys.exit(1 if check.failed else 0)
EOF
kill -0 "$HERALD_PID" 2>/dev/null && ok "herald survived" || fail "herald died"
finish
