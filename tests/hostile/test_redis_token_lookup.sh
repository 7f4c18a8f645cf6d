#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_redis_token_lookup.sh — unknown 43-character tokens with several
# nodes on one Redis (issue 13, defect 11). A token a node does not know
# may be another node's new peer, so the node catches up with the other
# nodes' changes before refusing it. That catch-up was a Redis read on the
# I/O thread, under the replica's mutex: with Redis stopped (SIGSTOP of the
# redis-server this test started), each random token held the loop for
# the command timeout (5 s, twice per socket), so 20 of them kept a
# one-thread node from answering anything, GET /health included, for
# minutes. Now the socket waits and its loop does not (src/hub/catchup.c).
#  1. node A (one I/O thread): peers made on B connect on A at once (the
#     reason catch-ups exist); Redis stopped, 20 random tokens arrive: A
#     still answers GET /health and an authenticated socket's ping, and
#     each random token gets 1013 "event store unavailable"; once Redis is
#     back, B's new peer connects on A at once, a random token gets 4003.
#  2. node C (--catch-up-interval 1): 40 random tokens at once cost at most
#     one catch-up per second (herald_replica_catchups_total), each refused
#     with 4003; SSE with B's new peer token is served, a random one 401.
#  3. node D (--catch-up-interval 600, --max-token-lookups 4): after the
#     first catch-up, 10 random tokens: 4 wait, 6 are refused at once with
#     1013 "too many unknown tokens…", SSE too (503); a known peer still
#     connects; the 4 are closed at their --auth-timeout (4003).
. "$(dirname "$0")/../integration/lib.sh"

redis_setup
redis_start
trap 'kill -CONT "$REDIS_PID" 2>/dev/null; cleanup' EXIT
# --auth-fail-limit 0: the random tokens are failed authentications from
# one address, which the back-off (test_auth_backoff) would refuse unchecked
# past 20; this test is about what checking them costs.
FLAGS=(--engine redis --redis-url "redis://127.0.0.1:$RPORT/0" --redis-prefix "tl:" --node-timeout 60
  --auth-fail-limit 0)
node() { # name port-variable flags…: starts a node, its port in the variable
  local name=$1 var=$2; shift 2
  DATA_DIR=$WORK/data.$name herald_start "${FLAGS[@]}" --node-id "$name" "$@"
  printf -v "$var" '%s' "$PORT"
}
# The Python parts' helpers: a module in this test's work dir.
cat >"$WORK/tlib.py" <<'PY'
import json, urllib.request
import hostile as h
check = h.Checks()

def rest(port, method, path, body=None):
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path), method=method,
                                 data=None if body is None else json.dumps(body).encode(),
                                 headers={"Authorization": "Bearer development", "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=h.DEADLINE) as r:
        return json.load(r)

def new_peer(port):
    """A new peer of room lobby, made on the node of port: its token."""
    return rest(port, "POST", "/room/lobby/peer", {"type": "webrtc"})["data"]["token"]

def first_answer(s, buf):
    """A peer socket's first answer: "authenticated", or "<code> <reason>" of its close."""
    op, p, buf = h.ws_read_frame(s, buf)
    if op == 1:
        return json.loads(p)["type"]
    if op == 8:
        return "%s %s" % h.close_code(p)
    return "nothing (opcode %r)" % op

def peer_open(port, token):
    s, buf = h.ws_connect(port, "/socket/peer/websocket", {"Authorization": "Bearer " + token})
    return s, ("no 101" if buf is None else first_answer(s, buf))

def answer_of(s):
    """The first answer on a peer socket whose upgrade was sent already."""
    head = h.read_until(s, b"\r\n\r\n")
    if b" 101 " not in head.split(b"\r\n")[0]:
        return "no 101: %r" % head[:80]
    return first_answer(s, head.split(b"\r\n\r\n", 1)[1])

def server_socket(port):
    """A server notifier socket, authenticated: [socket, unread bytes]."""
    s, buf = h.ws_connect(port, "/socket/server/websocket")
    s.sendall(h.ws_frame(json.dumps({"type": "auth", "token": "development"})))
    op, p, buf = h.ws_read_frame(s, buf)
    assert op == 1 and b"authenticated" in p, (op, p)
    return [s, buf]

def ping(sock):
    """True when the socket answers a ping with its pong."""
    sock[0].sendall(h.ws_frame(b"still there?", opcode=0x9))
    while True:
        op, p, sock[1] = h.ws_read_frame(sock[0], sock[1])
        if op is None or op == 8:
            return False
        if op == 0xA:
            return p == b"still there?"

def health(port):
    """(status, JSON body) of GET /health; status 0 when none came within the deadline."""
    s = h.connect(port)
    s.sendall(h.http_request("GET", "/health", {"Connection": "close"}))
    status, head, body = h.read_response(s)
    s.close()
    try:
        return status, json.loads(body)
    except ValueError:
        return status, {}

def sse(port, token):
    """(status, body) of GET /v1/stream with token (a 200's body is not read)."""
    s = h.connect(port)
    s.sendall(h.http_request("GET", "/v1/stream?token=" + token))
    status, head, body = h.read_response(s)
    s.close()
    return status, body
PY
export PYTHONPATH=$WORK:${PYTHONPATH:-$(cd "$(dirname "$0")" && pwd)}

node B PORT_B --threads 1
node A PORT_A --threads 1 --auth-timeout 120
export PORT_A PORT_B REDIS_PID

python3 - <<'EOF' || fail "part 1: a stalled Redis"
import os, signal, secrets, sys
from tlib import *
pa, pb = int(os.environ["PORT_A"]), int(os.environ["PORT_B"])
rest(pb, "POST", "/room", {"roomId": "lobby"})
got = [peer_open(pa, new_peer(pb))[1] for _ in range(5)]
check("5 peers made on B connect on A at once", got == ["authenticated"] * 5, repr(got))
notifier = server_socket(pa)

rpid = int(os.environ["REDIS_PID"])
os.kill(rpid, signal.SIGSTOP)
check("Redis is stopped", h.until(lambda: open("/proc/%d/stat" % rpid).read().rsplit(")", 1)[1].split()[0] == "T"))
flood = []
for _ in range(20):
    s = h.connect(pa)
    s.sendall(h.ws_upgrade("/socket/peer/websocket", {"Authorization": "Bearer " + secrets.token_urlsafe(32)}))
    flood.append(s)
status = health(pa)[0]
check("Redis stopped, 20 random tokens sent: A still answers GET /health", status == 200, "status %d" % status)
check("and the notifier socket authenticated before gets its pong", ping(notifier), "no pong")
check("and GET /metrics is answered", h.metric(pa, "herald_connections{kind=\"ws_server\"}") == 1)
got = sorted(set(answer_of(s) for s in flood))
check("each random token: 1013 event store unavailable", got == ["1013 event store unavailable, try again later"],
      repr(got))

os.kill(rpid, signal.SIGCONT)
check("A's store is up again", h.until(lambda: health(pa)[1].get("store") == "up"))
check("then a peer made on B connects on A at once", peer_open(pa, new_peer(pb))[1] == "authenticated")
got = peer_open(pa, secrets.token_urlsafe(32))[1]
check("and a random token gets 4003 invalid token", got == "4003 invalid token", got)
sys.exit(1 if check.failed else 0)
EOF

node C PORT_C --threads 2 --catch-up-interval 1
node D PORT_D --threads 2 --catch-up-interval 600 --max-token-lookups 4 --auth-timeout 20
export PORT_C PORT_D

python3 - <<'EOF' || fail "part 2: coalesced and rate-limited catch-ups"
import os, secrets, sys, time
from tlib import *
pb, pc = int(os.environ["PORT_B"]), int(os.environ["PORT_C"])
N = 40
t0 = time.monotonic()
before = h.metric(pc, "herald_replica_catchups_total")
socks = []
for _ in range(N):
    s = h.connect(pc)
    s.sendall(h.ws_upgrade("/socket/peer/websocket", {"Authorization": "Bearer " + secrets.token_urlsafe(32)}))
    socks.append(s)
got = sorted(set(answer_of(s) for s in socks))
ran = h.metric(pc, "herald_replica_catchups_total") - before
took = time.monotonic() - t0
print("# %d random tokens in %.2f s: %d catch-ups" % (N, took, ran))
check("each of %d random tokens gets 4003 invalid token" % N, got == ["4003 invalid token"], repr(got))
check("they cost at least one catch-up, at most one per --catch-up-interval (1 s)",
      1 <= ran <= 2 + took and ran < N, "%d catch-ups in %.2f s" % (ran, took))
status, body = sse(pc, new_peer(pb))
check("SSE on C with a peer token made on B a moment ago: 200", status == 200, "%d %s" % (status, body))
status, body = sse(pc, secrets.token_urlsafe(32))
check("SSE with a random token: 401 Invalid token", status == 401 and b"Invalid token" in body, "%d %s" % (status, body))
sys.exit(1 if check.failed else 0)
EOF

python3 - <<'EOF' || fail "part 3: bounded waiting"
import os, secrets, sys
from tlib import *
pd = int(os.environ["PORT_D"])
got = peer_open(pd, secrets.token_urlsafe(32))[1]
check("D's first random token: one catch-up, then 4003 invalid token", got == "4003 invalid token", got)
socks = []
for _ in range(10):
    s = h.connect(pd)
    s.sendall(h.ws_upgrade("/socket/peer/websocket", {"Authorization": "Bearer " + secrets.token_urlsafe(32)}))
    socks.append(s)
check("10 more: 4 wait for the next catch-up, 6 are refused",
      h.until(lambda: h.metric(pd, "herald_token_lookups_waiting") == 4 and
              h.metric(pd, "herald_token_lookups_refused_total") == 6),
      "waiting %d, refused %d" % (h.metric(pd, "herald_token_lookups_waiting"),
                                  h.metric(pd, "herald_token_lookups_refused_total")))
status, body = sse(pd, secrets.token_urlsafe(32))
check("SSE with a random token meanwhile: 503 too many", status == 503 and b"too many unknown tokens" in body,
      "%d %s" % (status, body))
rest(pd, "POST", "/room", {"roomId": "d"})
tok = rest(pd, "POST", "/room/d/peer", {"type": "webrtc"})["data"]["token"]
check("a known peer token still connects at once", peer_open(pd, tok)[1] == "authenticated")
check("GET /health is served", health(pd)[0] == 200)
got = sorted(answer_of(s) for s in socks)
want = sorted(["1013 too many unknown tokens are being looked up, try again later"] * 6 +
              ["4003 authentication timeout"] * 4)
check("6 refused at once with 1013, the 4 waiting closed at their --auth-timeout with 4003", got == want, repr(got))
check("no lookup waits any more", h.until(lambda: h.metric(pd, "herald_token_lookups_waiting") == 0))
sys.exit(1 if check.failed else 0)
EOF

for n in "${PIDS[@]:1}"; do kill -0 "$n" 2>/dev/null || fail "herald $n died"; done
ok "every node is alive"
finish
