#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_publish_socket_stop.sh — SIGTERM while a publisher has frames in
# flight on GET /v1/events/websocket (issue 16 item 3). A publisher
# pipelines 20,000 frames (window 4: they go to the hub four by four, so
# the stop certainly finds frames at the hub); herald gets SIGTERM once
# the first answer came. The frames herald took are committed and
# answered, in order (an id, or 503 "server is shutting down" for one it
# could no longer hand to the hub), THEN the socket closes 1001: after a
# restart on the same data, the history holds exactly the ids that were
# answered. (Closed at once with 1001, as the other sockets are, frames at
# the hub would be stored without an answer.) Herald exits 0.
. "$(dirname "$0")/../integration/lib.sh"
herald_start --publish-window 4
export PORT TOKEN HERALD_PID WORK

python3 - <<'EOF' || fail "publisher during shutdown"
import json, os, signal, sys, threading
import hostile as h
port, N = int(os.environ["PORT"]), 20000
check = h.Checks()
frames = b"".join(h.ws_frame(json.dumps({"type": "stop.flood", "data": {"i": i}})) for i in range(N))
s, buf = h.ws_connect(port, "/v1/events/websocket", {"Authorization": "Bearer " + os.environ["TOKEN"]})
op, p, buf = h.ws_read_frame(s, buf)
def send():
    try:
        s.sendall(frames)
    except OSError:
        pass  # herald closed while the rest was unsent: expected
threading.Thread(target=send, daemon=True).start()
answers, close = [], None
while True:
    op, p, buf = h.ws_read_frame(s, buf)
    if op is None:
        break
    if op == 8:
        close = h.close_code(p)
        break
    if op == 1:
        answers.append(json.loads(p))
        if len(answers) == 1:
            os.kill(int(os.environ["HERALD_PID"]), signal.SIGTERM)
check("answers in frame order, seq 1..%d" % len(answers),
      [a.get("seq") for a in answers] == list(range(1, len(answers) + 1)), repr(answers[:3]))
check("frames were still in flight at the SIGTERM (fewer than %d answered)" % N, 0 < len(answers) < N,
      repr(len(answers)))
odd = [a for a in answers if not a.get("ids") and (a.get("status"), a.get("errors")) != (503, "server is shutting down")]
check("each answer is an id or 503 server is shutting down", not odd, repr(odd[:3]))
check("then close 1001 server shutting down", close == (1001, "server shutting down"), repr(close))
with open(os.environ["WORK"] + "/answered", "w") as f:
    f.writelines(i + "\n" for a in answers for i in a.get("ids", []))
sys.exit(1 if check.failed else 0)
EOF
wait "$HERALD_PID"
expect_eq "herald exits 0 after SIGTERM" 0 $?
ANSWERED=$(grep -E '^[0-9]+$' "$WORK/answered" | tr '\n' ' ')
herald_start
STORED=$(curl -s "${auth[@]}" "$URL/v1/events?type=stop.flood&limit=10000" | jq -r '.events[].id' | tr '\n' ' ')
expect_eq "after a restart the history holds exactly the answered ids" "$ANSWERED" "$STORED"
[ -n "$ANSWERED" ] && ok "some frames were committed and answered" || fail "no id was answered"
finish
