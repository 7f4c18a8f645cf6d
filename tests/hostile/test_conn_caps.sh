#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_conn_caps.sh — connection caps (issue 13, defect 4): there was no
# default cap on connections and nothing per client address, so one
# address could hold every descriptor with sockets that never
# authenticate. Now connections not yet authenticated are capped per
# address (--max-unauthenticated-per-address) and overall
# (--max-unauthenticated), every connection by --max-connections (default
# from the file limit), and past a cap a new connection gets
# `503 {"errors":…}` at once and is counted in /metrics. Connections
# within the budget, other addresses and authenticated clients are served.
# (Loopback answers from any 127.x.y.z, which stand for distinct clients.)
. "$(dirname "$0")/../integration/lib.sh"

# Per-address: 3 unauthenticated connections from 127.0.0.1.
herald_start --max-unauthenticated-per-address 3
out=$(python3 - "$PORT" <<'PY'
import json, sys, hostile
port = int(sys.argv[1])
def admitted(source):  # a keep-alive connection that got a reply: counted, unauthenticated
    s = hostile.connect(port, source=source)
    s.sendall(hostile.http_request("GET", "/health"))
    assert hostile.status_of(hostile.read_until(s, b"}")) == 200
    return s
# An authenticated subscriber from the same address, before the flood.
sub = hostile.connect(port)
sub.sendall(hostile.ws_upgrade("/socket/server/websocket"))
rest = hostile.read_until(sub, b"\r\n\r\n").split(b"\r\n\r\n", 1)[1]
sub.sendall(hostile.ws_frame(json.dumps({"type": "auth", "token": "development"})))
op, p, rest = hostile.ws_read_frame(sub, rest)
sub.sendall(hostile.ws_frame(json.dumps({"type": "subscribe", "event_type": "server_notification"})))
op, p, rest = hostile.ws_read_frame(sub, rest)
budget = [admitted("127.0.0.1") for _ in range(3)]
extra = hostile.connect(port)
r = hostile.read_until(extra, b"}")
print("4th from 127.0.0.1: %d %s" % (hostile.status_of(r), r.split(b"\r\n\r\n", 1)[-1].decode()))
budget[0].sendall(hostile.http_request("GET", "/health"))
print("within the budget: %d" % hostile.status_of(hostile.read_until(budget[0], b"}")))
other = admitted("127.0.0.2")
other.sendall(hostile.http_request("POST", "/v1/events", {"Authorization": "Bearer development",
              "Content-Type": "application/json"}, b'{"type":"still.served"}'))
print("publish from 127.0.0.2: %d" % hostile.status_of(hostile.read_until(other, b"}")))
op, p, rest = hostile.ws_read_frame(sub, rest)
print("subscriber got: %s" % (json.loads(p)["type"] if op == 1 else op))
print("refused counted: %d" % hostile.metric(port,
      'herald_connections_refused_total{limit="max_unauthenticated_per_address"}', source="127.0.0.3"))
# A slot frees when a connection closes: 127.0.0.1 gets in again.
budget.pop().close()
def health():
    s = hostile.connect(port)
    s.sendall(hostile.http_request("GET", "/health"))
    st = hostile.status_of(hostile.read_until(s, b"}"))
    s.close()
    return st
last = [0]
def served():
    last[0] = health()
    return last[0] == 200
hostile.until(served)
print("after a close: %d" % last[0])
PY
)
echo "$out"
expect_match "past the per-address cap: 503 with a JSON reason" \
  '4th from 127.0.0.1: 503 \{"errors":"too many unauthenticated connections from this address"\}' "$out"
expect_match "a connection within the budget is served" 'within the budget: 200' "$out"
expect_match "another address is served" 'publish from 127.0.0.2: 201' "$out"
expect_match "the authenticated subscriber from the capped address keeps receiving" 'subscriber got: still.served' "$out"
expect_match "the refusal is counted in /metrics" 'refused counted: [1-9]' "$out"
expect_match "a freed slot is usable again" 'after a close: 200' "$out"

# Overall: 3 unauthenticated connections from anywhere; --max-connections 5.
herald_start --max-unauthenticated 3 --max-unauthenticated-per-address 0 --max-connections 5
out=$(python3 - "$PORT" <<'PY'
import json, sys, hostile
port = int(sys.argv[1])
def admitted(source):
    s = hostile.connect(port, source=source)
    s.sendall(hostile.http_request("GET", "/health"))
    assert hostile.status_of(hostile.read_until(s, b"}")) == 200
    return s
def authed(source):  # authenticated by a request with the server token
    s = hostile.connect(port, source=source)
    s.sendall(hostile.http_request("GET", "/room", {"Authorization": "Bearer development"}))
    assert hostile.status_of(hostile.read_until(s, b"}")) == 200
    return s
keep = [authed("127.0.0.9")]
keep += [admitted("127.0.0.%d" % i) for i in (1, 2, 3)]
s = hostile.connect(port, source="127.0.0.4")
r = hostile.read_until(s, b"}")
print("4th unauthenticated: %d %s" % (hostile.status_of(r), r.split(b"\r\n\r\n", 1)[-1].decode()))
keep[0].sendall(hostile.http_request("GET", "/room", {"Authorization": "Bearer development"}))
print("authenticated client: %d" % hostile.status_of(hostile.read_until(keep[0], b"}")))
keep[1].close()  # a slot for one more: authenticate it, then the total is 5
def authed_when_freed():
    try:
        return authed("127.0.0.5")
    except AssertionError:  # refused (503): the closed slot is not free yet
        return None
keep.append(hostile.until(authed_when_freed))
keep.append(admitted("127.0.0.6"))
s = hostile.connect(port, source="127.0.0.7")
r = hostile.read_until(s, b"}")
print("past --max-connections: %d %s" % (hostile.status_of(r), r.split(b"\r\n\r\n", 1)[-1].decode()))
PY
)
echo "$out"
expect_match "past the overall cap: 503 with a JSON reason" \
  '4th unauthenticated: 503 \{"errors":"too many unauthenticated connections"\}' "$out"
expect_match "an authenticated client is served" 'authenticated client: 200' "$out"
expect_match "past --max-connections: 503 too busy" 'past --max-connections: 503 \{"errors":"too busy"\}' "$out"

# The default --max-connections comes from the file limit: 256 - (64 + 4).
( ulimit -n 256 && herald_start &&
  { wait_for "$LOG" 'limits: 188 connections, 94 unauthenticated, 128 unauthenticated per address'; r=$?
    herald_stop; exit $r; } ) && ok "--max-connections defaults to the file limit less a reserve" ||
  fail "default limits: $(grep 'limits:' "$WORK"/herald.*.log | tail -1)"
finish
