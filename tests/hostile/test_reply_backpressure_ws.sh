#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_reply_backpressure_ws.sh — an authenticated WebSocket floods pings
# and never reads the pongs. herald used to queue every pong without bound
# (only event frames respected --max-outbound) — issue 13, defect 3. Now
# past --outbound-pause unsent bytes it stops reading the socket, so the
# attacker's writes block; RSS stays bounded, a subscriber on the same
# server still gets its events, and with --send-timeout the paused socket
# is closed. RSS bound: see test_reply_backpressure_http.sh (the same
# 256 KiB pause bound and 64 KiB read per connection).
. "$(dirname "$0")/../integration/lib.sh"
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=8"

attack() { # phase: paused|closed
  python3 - "$PORT" "$HERALD_PID" "$1" <<'PY'
import json, sys, hostile
port, pid, phase = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
def notifier():
    s = hostile.connect(port)
    s.sendall(hostile.ws_upgrade("/socket/server/websocket"))
    rest = hostile.read_until(s, b"\r\n\r\n").split(b"\r\n\r\n", 1)[1]
    s.sendall(hostile.ws_frame(json.dumps({"type": "auth", "token": "development"})))
    op, payload, rest = hostile.ws_read_frame(s, rest)
    assert b"authenticated" in payload, payload
    return s, rest
hostile.metric(port, "herald_read_pauses_total")
base = hostile.rss_kb(pid)
limit = base + 48 * 1024
before = hostile.metric(port, "herald_read_pauses_total")
# The attacker: small buffers, authenticated, then pings only.
s = hostile.connect_small(port)
s.sendall(hostile.ws_upgrade("/socket/server/websocket"))
s.sendall(hostile.ws_frame(json.dumps({"type": "auth", "token": "development"})))
ping = hostile.ws_frame(b"p" * 125, opcode=0x9)
why, sent = hostile.flood(s, ping, port, pid, limit, 1 << 30, before)
rss = hostile.rss_kb(pid)
print("flood: %s after %d bytes (%d pings); rss %d kB, idle %d kB, bound %d kB"
      % (why, sent, sent // len(ping), rss, base, limit))
if why != "paused" or rss > limit:
    print("FAIL: herald did not stop reading within the RSS bound"); sys.exit(1)
if phase == "paused":
    # Meanwhile a subscriber gets a published event.
    w, rest = notifier()
    w.sendall(hostile.ws_frame(json.dumps({"type": "subscribe", "event_type": "server_notification"})))
    op, payload, rest = hostile.ws_read_frame(w, rest)
    assert b"subscribe_response" in payload, payload
    c = hostile.connect(port)
    body = json.dumps({"type": "while.flooded"}).encode()
    c.sendall(hostile.http_request("POST", "/v1/events", {"Authorization": "Bearer development",
              "Content-Type": "application/json", "Connection": "close"}, body))
    print("publish: %d" % hostile.status_of(hostile.read_until(c, b"\0")))
    while op is not None and b"while.flooded" not in payload:
        op, payload, rest = hostile.ws_read_frame(w, rest)
    print("subscriber got the event" if op is not None else "FAIL: subscriber got nothing")
    if hostile.rss_kb(pid) > limit: print("FAIL: rss grew past the bound"); sys.exit(1)
else:
    # herald says it closed it; the socket then reads to its end (what
    # it sent first is discarded) and finds the close.
    if not hostile.wait_metric(port, "herald_send_timeouts_total", 1): print("FAIL: no send timeout"); sys.exit(1)
    print("closed by herald" if hostile.closed_by_peer(s) else "FAIL: not closed")
PY
}

herald_start
out=$(attack paused); echo "$out"
expect_match "a never-reading ping flooder is stopped within the RSS bound" 'flood: paused' "$out"
expect_match "a publisher is served meanwhile" 'publish: 201' "$out"
expect_match "a subscriber is served meanwhile" 'subscriber got the event' "$out"
kill -0 "$HERALD_PID" && ok "herald is alive" || fail "herald died"

herald_start --send-timeout 1
out=$(attack closed); echo "$out"
expect_match "a never-reading ping flooder is stopped, then closed by --send-timeout" 'closed by herald' "$out"
expect_match "the close is counted" '^[1-9]' \
  "$(curl -s "$URL/metrics" | awk '$1=="herald_send_timeouts_total"{print $2}')"
expect_match "a well-behaved client is still served" '^201 ' \
  "$(http POST /v1/events "${auth[@]}" -H 'Content-Type: application/json' -d '{"type":"still.here"}')"
finish
