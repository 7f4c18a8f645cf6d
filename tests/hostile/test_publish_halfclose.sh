#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_publish_halfclose.sh — a publisher that half-closes its socket
# (shutdown(SHUT_WR)) right after its request(s) still gets every answer,
# in order, and then the server closes. The publish no longer stops reading
# the socket while its commit is pending (net/http.c keeps what follows and
# remembers an EOF read meanwhile), so the EOF is now read while the
# request is in hand: it must neither drop the answer nor leave the
# connection open after it.
#
# Part 1 (SQLite store): one request, and two pipelined, each followed by a
# half-close. Part 2 forces the branch: with the Redis store's test hook
# (HERALD_TEST_REDIS_COMMIT_GATE) the commit waits while the gate list is
# empty, the test waits for herald's debug line saying it read the EOF with
# the request in hand, then opens the gate: the 201 must come, then the
# close (without the fix the connection stayed open after the answer).
. "$(dirname "$0")/../integration/lib.sh"
herald_start

out=$(python3 - "$PORT" "$TOKEN" <<'PY'
import re, socket, sys, hostile
port, token = int(sys.argv[1]), sys.argv[2]
h = {"Authorization": "Bearer " + token, "Content-Type": "application/json"}

def post(t):
    return hostile.http_request("POST", "/v1/events", h, ('{"type":"%s"}' % t).encode())

# one request, then the half-close
s = hostile.connect(port)
s.sendall(post("half.one"))
s.shutdown(socket.SHUT_WR)
buf = hostile.read_until(s, b"\0never\0")   # everything until the server closes
print("one:", buf.count(b"HTTP/1.1 201"), re.findall(rb'"ids":\["(\d+)"\]', buf) != [],
      "closed" if hostile.closed_by_peer(s) else "open")

# two pipelined requests, then the half-close: both answered, in order
s = hostile.connect(port)
s.sendall(post("half.two") + post("half.three"))
s.shutdown(socket.SHUT_WR)
buf = hostile.read_until(s, b"\0never\0")
ids = [int(x) for x in re.findall(rb'"ids":\["(\d+)"\]', buf)]
print("two:", buf.count(b"HTTP/1.1 201"), len(ids) == 2 and ids[0] < ids[1],
      "closed" if hostile.closed_by_peer(s) else "open")
PY
)
expect_match "one publish then a half-close: its 201 with the id, then the server closes" \
  '^one: 1 True closed$' "$(sed -n 1p <<<"$out")"
expect_match "two pipelined publishes then a half-close: two 201s, ids in order, then the close" \
  '^two: 2 True closed$' "$(sed -n 2p <<<"$out")"
hist=$(http GET "/v1/events?limit=10" "${auth[@]}")
for t in half.one half.two half.three; do
  expect_match "$t is in the history" "\"type\":\"$t\"" "$hist"
done

# --- part 2: the EOF read while the commit is held
redis_setup
redis_start
GATE=halfclose:gate
"${R[@]}" rpush "$GATE" open >/dev/null
DATA_DIR=$WORK/data.redis HERALD_TEST_REDIS_COMMIT_GATE=$GATE herald_start --engine redis --redis-url "redis://127.0.0.1:$RPORT/0" \
  --redis-prefix "halfclose:" --log-level debug
"${R[@]}" del "$GATE" >/dev/null # closed: the next commit waits
python3 - "$PORT" "$TOKEN" >"$WORK/gated.out" <<'PY' &
import re, socket, sys, hostile
port, token = int(sys.argv[1]), sys.argv[2]
s = hostile.connect(port)
s.sendall(hostile.http_request("POST", "/v1/events", {"Authorization": "Bearer " + token,
          "Content-Type": "application/json"}, b'{"type":"half.gated"}'))
s.shutdown(socket.SHUT_WR)
buf = hostile.read_until(s, b"\0never\0")
print("gated:", buf.count(b"HTTP/1.1 201"), "closed" if hostile.closed_by_peer(s) else "open", flush=True)
PY
CLIENT=$!
wait_for "$LOG" 'closed its end while its request is in hand' 1200 ||
  fail "herald did not read the EOF while the commit was held"
[ ! -s "$WORK/gated.out" ] || fail "answered before the gate opened: the commit was not held"
"${R[@]}" rpush "$GATE" open >/dev/null
wait "$CLIENT"
expect_match "EOF read with the request in hand: the 201 comes, then the server closes" \
  '^gated: 1 closed$' "$(cat "$WORK/gated.out")"
finish
