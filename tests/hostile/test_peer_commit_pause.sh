#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_peer_commit_pause.sh — a peer's update_metadata is a commit (an
# fsynced event sent to its room); herald stops reading the peer's socket
# until that commit is done, so one peer cannot queue commits without bound
# by pipelining messages (issue 13, defect 5). Seen from the peer: the
# messages after an update are handled only once the update's event has
# been sent, so with [update 1, bad message, update 2, bad message] in ONE
# write the peer gets event 1, an error, event 2, an error — in that order.
# Before the fix herald answered both bad messages at once, while update 1
# was still being committed. Then a pipelined flood of 300 updates (larger
# than one read of wslay, so input is kept across pauses): every one is
# stored, in order, the well-behaved peer gets all of them and stays open.
. "$(dirname "$0")/../integration/lib.sh"
herald_start --peer-msg-burst 1000
http POST /room "${auth[@]}" -H 'Content-Type: application/json' -d '{"roomId":"r1"}' >/dev/null
for v in GOOD P1 P2; do
  export "$v=$(http POST /room/r1/peer "${auth[@]}" -H 'Content-Type: application/json' \
    -d '{"type":"webrtc"}' | cut -d' ' -f2- | jq -r .data.token)"
done
export PORT TOKEN

python3 - <<'EOF' || fail "commit pause"
import json, os, sys, urllib.request
import hostile as h
port, failed = int(os.environ["PORT"]), []
check = h.Checks()
failed = check.failed

def peer(var):
    return h.peer_socket(port, os.environ[var])

def own_frames(p, n):
    """The next n text frames of p that are its metadata events or errors
    (other peers' presence is skipped), as short labels."""
    out = []
    while len(out) < n:
        op, payload, p[1] = h.ws_read_frame(p[0], p[1])
        if op != 1:
            return out + ["closed %r" % payload]
        j = json.loads(payload)
        if j["type"] == "error":
            out.append("error")
        elif j["type"] == "peer.metadata_updated":
            out.append("event %s" % j["data"]["metadata"]["n"])
    return out

def update(n):
    return h.ws_frame(json.dumps({"type": "update_metadata", "metadata": {"n": n}}))

good = peer("GOOD")
a = peer("P1")
a[0].sendall(update(1) + h.ws_frame('{"type":"bogus"}') + update(2) + h.ws_frame('{"type":"bogus"}'))
got = own_frames(a, 4)
check("the messages after an update wait for its commit: event 1, error, event 2, error",
      got == ["event 1", "error", "event 2", "error"], repr(got))

b = peer("P2")
b[0].sendall(b"".join(update(i) for i in range(100, 400)))
got = own_frames(b, 300)
check("a pipelined flood of 300 updates: each handled, in order",
      got == ["event %d" % i for i in range(100, 400)], repr(got[:5]) + "…" + repr(got[-5:]))
req = urllib.request.Request("http://127.0.0.1:%d/v1/events?type=peer.metadata_updated&limit=1000" % port,
                             headers={"Authorization": "Bearer " + os.environ["TOKEN"]})
hist = [e["data"]["metadata"]["n"] for e in json.load(urllib.request.urlopen(req, timeout=h.DEADLINE))["events"]]
check("history holds every update, in order", hist == [1, 2] + list(range(100, 400)), repr(hist[:6]))
got = own_frames(good, 302)
check("the well-behaved peer gets every update and stays open",
      got == ["event %d" % i for i in [1, 2] + list(range(100, 400))], repr(got[-3:]))
sys.exit(1 if failed else 0)
EOF
kill -0 "$HERALD_PID" 2>/dev/null && ok "herald survived" || fail "herald died"
finish
