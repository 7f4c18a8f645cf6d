#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_auth_deadline.sh — sockets that never authenticate. The server
# notifier socket had no deadline: 40 sockets that never sent an auth
# frame (and answered pings) were all still open after 40 s — issue 13,
# defect 4. Now every WebSocket kind must authenticate within
# --auth-timeout of its upgrade (set small here; the test waits for the
# close and checks its code and reason): the notifier closes with 1008,
# the peer and access sockets with 4003 (their documented code), all with
# "authentication timeout". Janus's socket and SSE authenticate on the
# upgrade request itself (401 without a token), and a plain HTTP
# connection must send a whole request within --header-timeout. An
# authenticated subscriber keeps receiving throughout.
. "$(dirname "$0")/../integration/lib.sh"
herald_start --auth-timeout 1 --header-timeout 1

out=$(python3 - "$PORT" <<'PY'
import json, sys, hostile
port = int(sys.argv[1])
def upgrade(path):
    s = hostile.connect(port)
    s.sendall(hostile.ws_upgrade(path))
    head = hostile.read_until(s, b"\r\n\r\n")
    return s, head, head.split(b"\r\n\r\n", 1)[1] if b"\r\n\r\n" in head else b""
# A well-behaved subscriber first: authenticated, subscribed.
good, head, rest = upgrade("/socket/server/websocket")
good.sendall(hostile.ws_frame(json.dumps({"type": "auth", "token": "development"})))
op, p, rest = hostile.ws_read_frame(good, rest)
good.sendall(hostile.ws_frame(json.dumps({"type": "subscribe", "event_type": "server_notification"})))
op, p, rest = hostile.ws_read_frame(good, rest)
print("subscriber: %s" % p.decode())
# Sockets that never authenticate; each is read until herald closes it.
for path in ["/socket/server/websocket", "/socket/peer/websocket", "/subscribe_to_events"]:
    s, head, buf = upgrade(path)
    op, payload, buf = hostile.ws_read_frame(s, buf)
    while op is not None and op != 8:  # answer pings like a live client would
        if op == 9: s.sendall(hostile.ws_frame(payload, opcode=0xA))
        op, payload, buf = hostile.ws_read_frame(s, buf)
    code, reason = hostile.close_code(payload) if op == 8 else (None, "")
    print("%s: %s %s" % (path, code, reason))
# Kinds that authenticate on the upgrade request itself.
s, head, _ = upgrade("/janus/ws")
print("/janus/ws without a token: %d" % hostile.status_of(head))
s = hostile.connect(port)
s.sendall(hostile.http_request("GET", "/v1/stream"))
print("/v1/stream without a token: %d" % hostile.status_of(hostile.read_until(s, b"\r\n\r\n")))
# Plain HTTP: nothing at all, then half a request head.
s = hostile.connect(port)
print("silent HTTP connection closed: %s" % hostile.closed_by_peer(s))
s = hostile.connect(port)
s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")
r = hostile.read_until(s, b"}")
print("half a request head: %d %s" % (hostile.status_of(r), r.split(b"\r\n\r\n", 1)[-1].decode()))
# The subscriber is still there and gets a published event.
c = hostile.connect(port)
c.sendall(hostile.http_request("POST", "/v1/events", {"Authorization": "Bearer development",
          "Content-Type": "application/json", "Connection": "close"}, b'{"type":"after.timeouts"}'))
print("publish: %d" % hostile.status_of(hostile.read_until(c, b"\0")))
op, p, rest = hostile.ws_read_frame(good, rest)
print("subscriber got: %s" % (json.loads(p)["type"] if op == 1 else op))
PY
)
echo "$out"
expect_match "the subscriber authenticated" 'subscriber: .*subscribe_response' "$out"
expect_match "the notifier socket closes with 1008 authentication timeout" \
  '/socket/server/websocket: 1008 authentication timeout' "$out"
expect_match "the peer socket closes with 4003 authentication timeout" \
  '/socket/peer/websocket: 4003 authentication timeout' "$out"
expect_match "the access socket closes with 4003 authentication timeout" \
  '/subscribe_to_events: 4003 authentication timeout' "$out"
expect_match "Janus's socket needs its token on the upgrade" '/janus/ws without a token: 401' "$out"
expect_match "SSE needs its token on the request" '/v1/stream without a token: 401' "$out"
expect_match "a silent HTTP connection is closed" 'silent HTTP connection closed: True' "$out"
expect_match "half a request head gets 408 with a JSON reason" 'half a request head: 408 \{"errors":' "$out"
expect_match "a publisher is served" 'publish: 201' "$out"
expect_match "the authenticated subscriber keeps receiving" 'subscriber got: after.timeouts' "$out"
expect_match "the timeouts are counted" '^[3-9]' \
  "$(curl -s "$URL/metrics" | awk '$1=="herald_auth_timeouts_total"{print $2}')"
finish
