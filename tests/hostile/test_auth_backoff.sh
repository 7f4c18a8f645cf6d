#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_auth_backoff.sh — back-off on repeated failed authentications
# (issue 13, low: "no back-off on repeated auth failures"). Before, a
# client could guess tokens as fast as herald answered, each guess costing
# a SHA-256 or an HMAC and a log line. Now, after --auth-fail-limit
# failures from one address within --auth-fail-window, every further
# attempt from it, on any auth path, is refused at once and unchecked (a
# good credential included): HTTP 429 with Retry-After and a JSON body,
# WebSocket close 1013 with the reason, until the window ends.
# Each path is attacked from its own loopback address (any 127.x.y.z is a
# distinct client): the HTTP API's server token, Janus Basic, the server
# notifier's auth frame, the peer socket, SSE and /subscribe_to_events.
# Missing credentials are not failures. The well-behaved clients: another
# address, a notifier and a keep-alive HTTP connection that authenticated
# from the attacker's address before the attack — all still served. Then,
# with a 2 s window, the attacker's address is served again once its
# window has passed (waited for, not slept).
. "$(dirname "$0")/../integration/lib.sh"
SECRET=backoff-test-secret-0123456789abcdef
herald_start --auth-fail-limit 3 --auth-fail-window 600 --jwt-secret "$SECRET"
http POST /room "${auth[@]}" -H 'Content-Type: application/json' -d '{"roomId":"r1"}' >/dev/null
PEER=$(http POST /room/r1/peer "${auth[@]}" -H 'Content-Type: application/json' -d '{"type":"webrtc"}' |
  cut -d' ' -f2- | jq -r .data.token)
export PORT TOKEN SECRET PEER

cat >"$WORK/backoff.py" <<'EOF'
"""The attempts of test_auth_backoff.sh, each from a given source address,
each answering a short label: "401", "429 <Retry-After> <errors>",
"200", "close <code> <reason>", "authenticated"."""
import base64, hashlib, hmac, json, os, time
import hostile as h

port, token = int(os.environ["PORT"]), os.environ["TOKEN"]
BAD = "x" * 43


def jwt(sub, secret=None):
    b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
    head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = b64(json.dumps({"sub": sub, "exp": int(time.time()) + 600}).encode())
    key = (secret or os.environ["SECRET"]).encode()
    return head + "." + body + "." + b64(hmac.new(key, (head + "." + body).encode(), hashlib.sha256).digest())


def label_http(st, head, body):
    if st != 429:
        return str(st)
    retry = [l.split(b":", 1)[1].strip().decode() for l in head.split(b"\r\n")
             if l.lower().startswith(b"retry-after:")]
    return "429 %s %s" % (retry[0] if retry else "-", json.loads(body)["errors"])


def http(source, method, path, headers=None, conn=None, body=b""):
    s = conn or h.connect(port, source=source)
    s.sendall(h.http_request(method, path, headers, body))
    out = label_http(*h.read_response(s))
    if not conn:
        s.close()
    return out


def ws(source, path, first=None, headers=None):
    s = h.connect(port, source=source)
    s.sendall(h.ws_upgrade(path, headers) + (h.ws_frame(json.dumps(first)) if first else b""))
    head = h.read_until(s, b"\r\n\r\n")
    if h.status_of(head) != 101:
        return str(h.status_of(head))
    rest = head.split(b"\r\n\r\n", 1)[1]
    op, payload, rest = h.ws_read_frame(s, rest)
    s.close()
    if op == 8:
        return "close %d %s" % h.close_code(payload)
    return "authenticated" if op == 1 and b"authenticated" in payload else "op %r" % op


def api(source, tok, conn=None):
    return http(source, "GET", "/room", {"Authorization": "Bearer " + tok}, conn)


def janus(source, password):
    cred = base64.b64encode(("janus:" + password).encode()).decode()
    s = h.connect(port, source=source)
    s.sendall(h.http_request("POST", "/janus/events", {"Authorization": "Basic " + cred,
              "Content-Type": "application/json"}, b'{"type":1,"timestamp":1,"session_id":1,"event":{"name":"created"}}'))
    out = label_http(*h.read_response(s))
    s.close()
    return out


def notifier(source, tok):
    return ws(source, "/socket/server/websocket", {"type": "auth", "token": tok})


def peer(source, tok):
    return ws(source, "/socket/peer/websocket", {"type": "auth", "token": tok})


def sse(source, tok):
    return http(source, "GET", "/v1/stream?token=" + tok, {"Connection": "close"})


def access(source, tok):
    return ws(source, "/subscribe_to_events", {"access_id": "alice", "timestamp": 0, "token": tok})
EOF

out=$(cd "$WORK" && PYTHONPATH="$WORK:$PYTHONPATH" python3 - <<'EOF'
import json
import hostile as h
from backoff import *

def attack(name, source, bad, good, n=3):
    got = [bad(source) for _ in range(n)]
    print("%s: %s | then a good one: %s" % (name, " / ".join(got), good(source)))

# The well-behaved clients of the attacker's own address, authenticated first.
lis = h.connect(port, source="127.0.0.2")
lis.sendall(h.ws_upgrade("/socket/server/websocket") +
            h.ws_frame(json.dumps({"type": "auth", "token": token})) +
            h.ws_frame(json.dumps({"type": "subscribe", "event_type": "server_notification"})))
rest = h.read_until(lis, b"\r\n\r\n").split(b"\r\n\r\n", 1)[1]
for _ in range(2):  # authenticated, subscribe_response
    op, p, rest = h.ws_read_frame(lis, rest)
keep = h.connect(port, source="127.0.0.2")
print("keep-alive before: %s" % api(None, token, keep))

attack("api", "127.0.0.2", lambda s: api(s, BAD), lambda s: api(s, token))
attack("janus", "127.0.0.3", lambda s: janus(s, "wrong"), lambda s: janus(s, token))
attack("notifier", "127.0.0.4", lambda s: notifier(s, BAD), lambda s: notifier(s, token))
attack("peer", "127.0.0.5", lambda s: peer(s, BAD), lambda s: peer(s, os.environ["PEER"]))
attack("sse", "127.0.0.6", lambda s: sse(s, jwt("alice", "wrong-secret-0123456789abcdef")),
       lambda s: sse(s, jwt("alice")))
attack("access", "127.0.0.7", lambda s: access(s, jwt("alice", "wrong-secret-0123456789abcdef")),
       lambda s: access(s, jwt("alice")))
print("missing credentials: %s | then a good one: %s" % (
    " / ".join(http("127.0.0.8", "GET", "/room") for _ in range(6)), api("127.0.0.8", token)))
print("the blocked api address on a socket: %s" % notifier("127.0.0.2", token))

print("another address: %s" % api("127.0.0.1", token))
print("keep-alive after: %s" % api(None, token, keep))
print("publish from another address: %s" % http("127.0.0.1", "POST", "/v1/events", {
    "Authorization": "Bearer " + token, "Content-Type": "application/json"}, body=b'{"type":"still.served"}'))
op, p, rest = h.ws_read_frame(lis, rest)
print("listener from the blocked address got: %s" % (json.loads(p)["type"] if op == 1 else op))
print("refused unchecked: %d" % h.metric(port, "herald_auth_backoff_total", source="127.0.0.9"))
print("failures: %d" % h.metric(port, "herald_auth_failures_total", source="127.0.0.9"))
EOF
)
echo "$out"
R='too many failed authentications from this address; retry in [0-9]+ s'
expect_match "HTTP API: 3 wrong tokens, then even the right one gets 429, Retry-After, JSON" \
  "api: 401 / 401 / 401 \\| then a good one: 429 ([1-9][0-9]*) $R" "$out"
expect_match "Janus Basic: 3 wrong passwords, then 429" "janus: 401 / 401 / 401 \\| then a good one: 429 [0-9]+ $R" "$out"
expect_match "server notifier: 3 wrong tokens, then close 1013" \
  "notifier: close 1000 invalid token / close 1000 invalid token / close 1000 invalid token \\| then a good one: close 1013 $R" "$out"
expect_match "peer socket: 3 wrong tokens, then close 1013" \
  "peer: close 4003 invalid token / close 4003 invalid token / close 4003 invalid token \\| then a good one: close 1013 $R" "$out"
expect_match "SSE: 3 badly signed JWTs, then 429" "sse: 401 / 401 / 401 \\| then a good one: 429 [0-9]+ $R" "$out"
expect_match "/subscribe_to_events: 3 badly signed JWTs, then close 1013" \
  "access: close 4003 invalid token: bad signature / close 4003 invalid token: bad signature / close 4003 invalid token: bad signature \\| then a good one: close 1013 $R" "$out"
expect_match "missing credentials are not failures" \
  "missing credentials: 401 / 401 / 401 / 401 / 401 / 401 \\| then a good one: 200" "$out"
expect_match "the back-off is per address, on every path" "the blocked api address on a socket: close 1013 $R" "$out"
expect_match "another address is served" "another address: 200" "$out"
expect_match "a keep-alive connection authenticated before is still served" "keep-alive after: 200" "$out"
expect_match "another address publishes" "publish from another address: 201" "$out"
expect_match "a notifier authenticated before, from the blocked address, keeps receiving" \
  "listener from the blocked address got: still.served" "$out"
expect_match "refusals are counted" "refused unchecked: ([7-9]|[1-9][0-9])" "$out"
expect_match "failures are counted" "failures: (1[89]|[2-9][0-9])" "$out"

# The window ends: the same address is served again (a 2 s window; waited for).
DATA_DIR=$WORK/data2 herald_start --auth-fail-limit 2 --auth-fail-window 2
export PORT
out=$(cd "$WORK" && PYTHONPATH="$WORK:$PYTHONPATH" python3 - <<'EOF'
import hostile as h
from backoff import *
last = [""]
def blocked():  # wrong tokens until refused unchecked (a slow machine may start a new window)
    last[0] = api("127.0.0.2", BAD)
    return last[0].startswith("429")
h.until(blocked)
print("blocked: %s" % last[0])
def served():
    last[0] = api("127.0.0.2", token)
    return last[0] == "200"
h.until(served)
print("after the window: %s" % last[0])
EOF
)
echo "$out"
expect_match "with a 2 s window, Retry-After is at most 2" "blocked: 429 [12] $R" "$out"
expect_match "once the window has passed the address is served again" "after the window: 200" "$out"
kill -0 "$HERALD_PID" 2>/dev/null && ok "herald survived" || fail "herald died"
finish
