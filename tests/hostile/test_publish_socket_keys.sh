#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_publish_socket_keys.sh — idempotency keys on the publishing socket
# (issue 18 item 1) from a client with the server token, byte for byte,
# every frame in ONE write (so herald reads them together and must split
# the request itself):
# - a key, the same frame again, the key with another event, a new key in
#   an array, that key again: answered in frame order, the repeats with the
#   first ids and "replayed":true, the conflict a 409 naming the key for
#   that frame alone;
# - 300 frames repeating one key: one event stored, 300 answers with its
#   id, and meanwhile another publisher is served;
# - 12 frames of 1000 events, each event with its own 255-character key
#   (about 3.5 MB, under --max-body and the window), then the same again:
#   every id replayed, nothing stored twice;
# - keys with control or non-ASCII bytes, empty, too long, repeated in a
#   frame: POST's 400 for that frame, nothing stored;
# and herald survives (sanitizer-clean log), a well-behaved client served.
. "$(dirname "$0")/../integration/lib.sh"
herald_start
export PORT TOKEN

python3 - <<'PY' || fail "publishing socket keys"
import json, os, sys, urllib.request
import hostile as h
port = int(os.environ["PORT"])
check = h.Checks()
AUTH = {"Authorization": "Bearer " + os.environ["TOKEN"]}

def frame(obj):
    return h.ws_frame(obj if isinstance(obj, (bytes, str)) else json.dumps(obj))

def answers(s, buf, n):
    out = []
    while len(out) < n:
        op, p, buf = h.ws_read_frame(s, buf)
        if op is None or op == 8:
            break
        if op == 1:
            out.append(json.loads(p))
    return out, buf

def count(type_):
    n, since = 0, 0
    while True:
        req = urllib.request.Request("http://127.0.0.1:%d/v1/events?since=%d&limit=10000&type=%s"
                                     % (port, since, type_), headers=AUTH)
        evs = json.load(urllib.request.urlopen(req, timeout=h.DEADLINE))["events"]
        if not evs:
            return n
        n, since = n + len(evs), int(evs[-1]["id"])

def post(body):
    req = urllib.request.Request("http://127.0.0.1:%d/v1/events" % port, data=json.dumps(body).encode(),
                                 headers=dict(AUTH, **{"Content-Type": "application/json"}))
    return json.load(urllib.request.urlopen(req, timeout=h.DEADLINE))

def open_with(frames):
    s, buf = h.ws_connect(port, "/v1/events/websocket", AUTH, b"".join(frame(f) for f in frames))
    got, buf = answers(s, buf, 1)
    check("authenticated", got == [{"type": "authenticated"}], repr(got))
    return s, buf

# 1. Repeats and a conflict within one read.
fs = [{"type": "hk.a", "idempotency_key": "K"}, {"type": "hk.a", "idempotency_key": "K"},
      {"type": "hk.b", "idempotency_key": "K"}, [{"type": "hk.a", "idempotency_key": "K2"}, {"type": "hk.a"}],
      {"type": "hk.a", "idempotency_key": "K2"}, {"type": "hk.a"}]
s, buf = open_with(fs)
got, buf = answers(s, buf, len(fs))
check("six frames, six answers in frame order", [a.get("seq") for a in got] == [1, 2, 3, 4, 5, 6], repr(got))
if len(got) == 6:
    x, y = got[0]["ids"][0], got[3]["ids"][0]
    check("the repeated frame answers the first id, replayed", got[1] == {"seq": 2, "ids": [x], "replayed": True}, repr(got[1]))
    check("the key with another event: a 409 naming it, for that frame",
          got[2] == {"seq": 3, "status": 409, "errors": "events[0].idempotency_key K was used with a different event"},
          repr(got[2]))
    check("the array's new key and its unkeyed event are new", len(got[3]["ids"]) == 2 and "replayed" not in got[3], repr(got[3]))
    check("the array's key again answers its id", got[4] == {"seq": 5, "ids": [y], "replayed": True}, repr(got[4]))
    check("the last frame is new, after the others", "replayed" not in got[5] and
          int(got[5]["ids"][0]) > int(got[3]["ids"][1]) > int(x), repr(got[5]))
check("four hk.a events stored, no hk.b", (count("hk.a"), count("hk.b")) == (4, 0))
s.close()

# 2. 300 frames repeating one key, one write; a second publisher meanwhile.
s, buf = open_with([{"type": "hk.rep", "idempotency_key": "same"}] * 300)
other = post({"type": "hk.other"})
check("another publisher is served meanwhile", len(other.get("ids", [])) == 1, repr(other))
got, buf = answers(s, buf, 300)
ids = {a.get("ids", [None])[0] for a in got}
check("300 frames with one key: 300 answers, all with one id", len(got) == 300 and len(ids) == 1, repr(len(got)))
check("all but the first marked replayed", [bool(a.get("replayed")) for a in got] == [False] + [True] * 299)
check("one hk.rep event stored", count("hk.rep") == 1)
s.close()

# 3. Twelve frames of 1000 maximal keys, twice (the second all replays).
def big(f):
    return [{"type": "hk.big", "idempotency_key": ("%d-%d-" % (f, i)).ljust(255, "k")} for i in range(1000)]
frames = [big(f) for f in range(12)]
s, buf = open_with(frames)
first, buf = answers(s, buf, 12)
check("12 frames of 1000 keyed events answered", [len(a.get("ids", [])) for a in first] == [1000] * 12,
      repr([a.get("status") or len(a.get("ids", [])) for a in first]))
s.sendall(b"".join(frame(f) for f in frames))
again, buf = answers(s, buf, 12)
check("the same frames again answer the same ids, replayed",
      [a.get("ids") for a in again] == [a.get("ids") for a in first] and all(a.get("replayed") for a in again))
check("12000 hk.big events stored, once", count("hk.big") == 12000, repr(count("hk.big")))
s.close()

# 4. Bad keys: POST's 400 each, nothing stored.
bad = [{"type": "hk.bad", "idempotency_key": "a\u0001b"}, {"type": "hk.bad", "idempotency_key": "caf\u00e9"},
       {"type": "hk.bad", "idempotency_key": ""}, {"type": "hk.bad", "idempotency_key": "k" * 256},
       [{"type": "hk.bad", "idempotency_key": "d"}, {"type": "hk.bad", "idempotency_key": "d"}],
       {"type": "hk.bad", "idempotency_key": None}]
s, buf = open_with(bad)
got, buf = answers(s, buf, len(bad))
check("bad keys: 400s naming idempotency_key", [a.get("status") for a in got[:5]] == [400] * 5 and
      all("idempotency_key" in a.get("errors", "") for a in got[:5]), repr(got))
check("a null key is no key", len(got) == 6 and len(got[5].get("ids", [])) == 1 and "replayed" not in got[5], repr(got[-1:]))
check("only that event stored", count("hk.bad") == 1)
s.close()
sys.exit(1 if check.failed else 0)
PY
out=$(curl -s -X POST "$URL/v1/events" "${auth[@]}" -d '{"type":"hk.after"}')
expect_match "a well-behaved publisher is still served" '^\{"ids":\["[0-9]+"\]\}$' "$out"
kill -0 "$HERALD_PID" 2>/dev/null && ok "herald survived" || fail "herald died"
finish
