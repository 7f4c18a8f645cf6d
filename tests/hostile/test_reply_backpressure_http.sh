#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_reply_backpressure_http.sh — one connection pipelines
# `GET /no/such/path` and never reads the replies. herald used to parse
# every request it received and queue every 404 without bound (RSS +655 MB
# in 12 s) — issue 13, defect 3. Now past --outbound-pause unsent bytes it
# stops reading the connection and parsing what it already read, so the
# attacker's writes block (its socket buffer fills); herald's RSS stays
# bounded, other clients are served meanwhile, and a paused client that
# takes none of its replies for --send-timeout is closed. A client that
# pipelines as much but does read gets every reply, in order.
#
# The RSS bound: herald holds at most --outbound-pause (256 KiB) of
# replies and one read (64 KiB) of unparsed requests for the attacker; the
# rest sits in kernel socket buffers, which are not herald's RSS. 48 MiB
# over the idle process leaves room for allocator and sanitizer slack (the
# ASan quarantine is capped for the test so freed blocks are reused);
# without the fix the queue passes it within seconds.
. "$(dirname "$0")/../integration/lib.sh"
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=8"

attack() { # what the python attacker prints, then the phase: paused|closed
  python3 - "$PORT" "$HERALD_PID" "$1" <<'PY'
import sys, hostile
port, pid, phase = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
get = hostile.http_request("GET", "/no/such/path")
hostile.metric(port, "herald_read_pauses_total")         # warm up: allocator, /metrics code
base = hostile.rss_kb(pid)
limit = base + 48 * 1024
before = hostile.metric(port, "herald_read_pauses_total")
s = hostile.connect_small(port)
why, sent = hostile.flood(s, get, port, pid, limit, 1 << 30, before)
rss = hostile.rss_kb(pid)
print("flood: %s after %d bytes (%d requests); rss %d kB, idle %d kB, bound %d kB"
      % (why, sent, sent // len(get), rss, base, limit))
if why != "paused" or rss > limit:
    print("FAIL: herald did not stop reading within the RSS bound"); sys.exit(1)
if phase == "paused":
    # Meanwhile: the attacker is held, others are served.
    w = hostile.connect(port)
    w.sendall(hostile.http_request("GET", "/health", {"Connection": "close"}))
    r = hostile.read_until(w, b"\0")
    print("health while paused: %d" % hostile.status_of(r))
    if hostile.status_of(r) != 200: sys.exit(1)
    # What the attacker sent is not all parsed: the rest waits, unread,
    # in the socket buffers (the last send found them full).
    parsed = hostile.metric(port, "herald_http_requests_total")
    print("parsed %d of %d requests sent" % (parsed, sent // len(get)))
    if parsed < sent // len(get): print("held back")
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
expect_match "a never-reading pipeliner is stopped within the RSS bound" 'flood: paused' "$out"
expect_match "other clients are served while it is paused" 'health while paused: 200' "$out"
expect_match "requests it sent wait unparsed, not as queued replies" 'held back' "$out"
expect_match "a well-behaved client can still publish" '^201 ' \
  "$(http POST /v1/events "${auth[@]}" -H 'Content-Type: application/json' -d '{"type":"still.here"}')"

out=$(python3 - "$PORT" <<'PY'
import sys, threading, hostile
port, n = int(sys.argv[1]), 20000
s = hostile.connect(port)
reqs = b"".join(hostile.http_request("GET", "/no/such/path%d" % i) for i in range(n))
threading.Thread(target=s.sendall, args=(reqs,), daemon=True).start()
buf, got, i = b"", 0, 0
while got < n:
    chunk = hostile.read_until(s, b"\r\n\r\n", limit=1)  # whatever came, within the deadline
    if not chunk: break
    buf += chunk
    while True:  # count complete replies, check their order
        head_end = buf.find(b"\r\n\r\n")
        if head_end < 0: break
        length = int(buf.split(b"Content-Length: ", 1)[1].split(b"\r\n", 1)[0])
        if len(buf) < head_end + 4 + length: break
        body = buf[head_end + 4:head_end + 4 + length]
        if b"/no/such/path%d\"" % got not in body: print("out of order at %d: %r" % (got, body)); sys.exit(1)
        buf = buf[head_end + 4 + length:]
        got += 1
print("replies %d of %d" % (got, n))
PY
)
echo "$out"
expect_eq "a pipelining client that reads gets every reply in order" "replies 20000 of 20000" "$out"
pauses=$(curl -s "$URL/metrics" | awk '$1=="herald_read_pauses_total"{print $2}')
expect_match "the pauses are counted" '^[1-9]' "$pauses"
kill -0 "$HERALD_PID" && ok "herald is alive" || fail "herald died"

# --send-timeout: a paused client that takes nothing is closed.
herald_start --send-timeout 1
out=$(attack closed); echo "$out"
expect_match "a never-reading pipeliner is stopped, then closed by --send-timeout" 'closed by herald' "$out"
expect_match "the close is counted" '^[1-9]' \
  "$(curl -s "$URL/metrics" | awk '$1=="herald_send_timeouts_total"{print $2}')"
expect_match "a well-behaved client is still served" '^201 ' \
  "$(http POST /v1/events "${auth[@]}" -H 'Content-Type: application/json' -d '{"type":"still.here"}')"
finish
