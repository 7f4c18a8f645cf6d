#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_publish_socket_keys_stop.sh — SIGTERM while a publisher's frames
# with idempotency keys are in flight on GET /v1/events/websocket (issue
# 18 item 1). 6,000 frames, each key used by two frames in a row (so
# herald splits them into requests that go to the hub one at a time, and
# many wait behind a keyed commit when the stop comes); SIGTERM once the
# first answer came. Every frame taken is answered in order (an id, the
# first id again with "replayed":true, or 503 "server is shutting down"
# for one herald could no longer hand to the hub), then close 1001; herald
# exits 0; after a restart the history holds exactly the ids answered, and
# the frames sent again replay the ids answered before.
. "$(dirname "$0")/../integration/lib.sh"
herald_start
export PORT TOKEN HERALD_PID WORK

run_frames() { # mode: "stop" (SIGTERM after the first answer) or "again"
python3 - "$1" <<'EOF'
import json, os, signal, sys, threading
import hostile as h
mode, port, N = sys.argv[1], int(os.environ["PORT"]), 6000
check = h.Checks()
body = lambda i: {"type": "keystop.flood", "data": {"k": i // 2}, "idempotency_key": "ks-%d" % (i // 2)}
frames = b"".join(h.ws_frame(json.dumps(body(i))) for i in range(N))
s, buf = h.ws_connect(port, "/v1/events/websocket", {"Authorization": "Bearer " + os.environ["TOKEN"]})
op, p, buf = h.ws_read_frame(s, buf)
def send():
    try:
        s.sendall(frames)
    except OSError:
        pass  # herald closed while the rest was unsent: expected
threading.Thread(target=send, daemon=True).start()
answers, close = [], None
while len(answers) < N:
    op, p, buf = h.ws_read_frame(s, buf)
    if op is None:
        break
    if op == 8:
        close = h.close_code(p)
        break
    if op == 1:
        answers.append(json.loads(p))
        if len(answers) == 1 and mode == "stop":
            os.kill(int(os.environ["HERALD_PID"]), signal.SIGTERM)
check("answers in frame order, seq 1..%d" % len(answers),
      [a.get("seq") for a in answers] == list(range(1, len(answers) + 1)), repr(answers[:3]))
byk = {}
for i, a in enumerate(answers):
    if a.get("ids"):
        byk.setdefault(i // 2, set()).add(a["ids"][0])
check("a key's frames answer one id", all(len(v) == 1 for v in byk.values()), repr(list(byk.items())[:3]))
if mode == "stop":
    check("frames were still in flight at the SIGTERM (fewer than %d answered)" % N, 0 < len(answers) < N,
          repr(len(answers)))
    odd = [a for a in answers if not a.get("ids") and (a.get("status"), a.get("errors")) != (503, "server is shutting down")]
    check("each answer is an id or 503 server is shutting down", not odd, repr(odd[:3]))
    check("then close 1001 server shutting down", close == (1001, "server shutting down"), repr(close))
    with open(os.environ["WORK"] + "/answered.json", "w") as f:
        json.dump({str(k): sorted(v)[0] for k, v in byk.items()}, f)
else:
    before = json.load(open(os.environ["WORK"] + "/answered.json"))
    check("all %d frames answered with ids" % N, len(answers) == N and all(a.get("ids") for a in answers),
          repr(len(answers)))
    same = [k for k, v in before.items() if byk.get(int(k)) != {v}]
    check("the keys answered before the stop replay their ids", not same, repr(same[:3]))
sys.exit(1 if check.failed else 0)
EOF
}
run_frames stop || fail "keyed publisher during shutdown"
wait "$HERALD_PID"
expect_eq "herald exits 0 after SIGTERM" 0 $?
ANSWERED=$(python3 -c 'import json,os; print(" ".join(sorted(json.load(open(os.environ["WORK"]+"/answered.json")).values(), key=int)))')
herald_start
export PORT
STORED=$(curl -s "${auth[@]}" "$URL/v1/events?type=keystop.flood&limit=10000" | jq -r '.events[].id' | tr '\n' ' ' | sed 's/ $//')
expect_eq "after a restart the history holds exactly the answered ids" "$ANSWERED" "$STORED"
[ -n "$ANSWERED" ] && ok "some frames were committed and answered" || fail "no id was answered"
run_frames again || fail "the frames sent again"
kill -0 "$HERALD_PID" 2>/dev/null && ok "herald survived" || fail "herald died"
finish
