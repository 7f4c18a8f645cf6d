#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_http_after_close.sh — a response that closes the connection (a 401
# with Connection: close, a 400 for a malformed request) ends the
# requests of that connection: the bytes pipelined after it are not
# parsed. The regression (found by fuzz_conn): after such a response the
# parser's error was answered again and again for the same unparsed bytes,
# 1957 "400 malformed HTTP request" responses for a 35-byte request until
# back-pressure paused it, and the connection never closed. Now the client
# gets its answers and the connection closes; others are still served.
. "$(dirname "$0")/../integration/lib.sh"
herald_start

out=$(python3 - "$PORT" <<'PY'
import sys, hostile
s = hostile.connect(int(sys.argv[1]))
s.sendall(b"GET /v1/stream?\x8d\x96\x91\x9ce=0&token\n\rzU HTTP/1.1\r\n\r\n")
buf = hostile.read_until(s, b"\0never\0")  # everything, until the server closes
print(buf.count(b"HTTP/1.1 "), "closed" if hostile.closed_by_peer(s) else "open")
PY
)
expect_match "a malformed pipelined request after a closing reply: at most two answers, then the close" \
  '^[12] closed$' "$out"
expect_match "a well-behaved client is still served" '^201 ' \
  "$(http POST /v1/events "${auth[@]}" -H 'Content-Type: application/json' -d '{"type":"still.here"}')"
finish
