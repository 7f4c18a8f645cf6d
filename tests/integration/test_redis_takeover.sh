#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_redis_takeover.sh — webhook deliveries owned by one node at a time,
# and taken over when that node dies: three herald nodes (--engine redis)
# on one real redis-server and one webhook endpoint that first answers 500,
# so the deliveries of the events published on node B stay pending on B,
# retried. Node B is killed with SIGKILL; the endpoint then answers 200:
# exactly one survivor takes B over (after --node-timeout) and every event
# B acknowledged is delivered. Delivery is at least once, so the test
# checks what herald promises (docs/storage.md, "Webhooks, sinks and
# retention across nodes") against herald's own record of its attempts (GET
# /v1/webhooks/:id/deliveries) and what the receiver got: every event
# gets a 200; herald records exactly one successful attempt per event and
# none after it; a request the receiver got that herald has no record of
# (the one B had in flight when it died: the receiver may have answered
# it 200, after B's death) happens at most once per event, and only for
# events of the node that went away; the receiver gets a second 200 for
# an event only when herald did not learn the outcome of an earlier
# request (such an unrecorded request, or one recorded without an answer:
# a timeout). The events published on A are A's, never went away, and so
# arrive with exactly one 200 each (unless a request of A's timed out).
# Then the same with node C stopped cleanly (SIGTERM): it hands its
# deliveries over at once (a request it abandoned in flight may be seen
# twice too). Every request carries the webhook-id of its event.
# Before all that, Redis is stopped and started again after longer than
# the node timeout: once every node has beaten again, none has taken
# another over for that silence. The nodes use Redis database 3 (every
# connection, the heartbeat's included, must select it). The receiver is
# a small Python HTTP server whose answer is read from a file.
. "$(dirname "$0")/lib.sh"

redis_setup
redis_start

SCHED=$(python3 -c 'print(",".join(["0.4"] * 60))')
FLAGS=(--engine redis --redis-url "redis://127.0.0.1:$RPORT/3" --redis-prefix "takeover:"
       --node-timeout 3 --webhook-retry-schedule "$SCHED" --webhook-timeout 10 --threads 1)

# --- the receiver: answers what $WORK/answer says, logs "<code> <webhook-id>"
# (the code read when it handles the request, after reading it: a request
# sent before the answer changed may be answered with the new one)
answer() { echo "$1" >"$WORK/answer.new"; mv "$WORK/answer.new" "$WORK/answer"; } # never read half-written
answer 500
python3 - "$WORK/answer" "$WORK/recv.log" "$WORK/recv.port" <<'PY' &
import http.server, sys, threading
answer, log, portfile = sys.argv[1:4]
lock = threading.Lock()
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        code = int(open(answer).read().strip())
        with lock, open(log, "a") as f:
            f.write("%d %s\n" % (code, self.headers.get("webhook-id")))
        self.send_response(code)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *a):
        pass
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
open(portfile, "w").write(str(s.server_address[1]))
s.serve_forever()
PY
PIDS+=($!)
eventually eval '[ -s "$WORK/recv.port" ]' || { fail "receiver did not start"; finish; exit 1; }
HOOK="http://127.0.0.1:$(cat "$WORK/recv.port")/hook"
touch "$WORK/recv.log"

declare -A URLS NODE_PID NODE_LOG
start_node() { # name
  DATA_DIR=$WORK/data.$1
  herald_start "${FLAGS[@]}" --node-id "node-$1"
  URLS[$1]=$URL; NODE_PID[$1]=$HERALD_PID; NODE_LOG[$1]=$LOG
}
# B first, with the endpoint, then A and C (which load it as they start)
start_node B
EP=$("$CLI" --server "${URLS[B]}" webhooks add --url "$HOOK" | jq -r .id)
expect_match "endpoint added on B" '^ep_' "$EP"
start_node A
start_node C

beat_after() { # node ms: its last heartbeat (Redis's clock) is later
  local score
  score=$("${R[@]}" -n 3 ZSCORE takeover:nodes "$1")
  [ -n "$score" ] && [ "${score%.*}" -gt "$2" ]
}

# --- Redis away for longer than --node-timeout: no node could beat, so no
# node is taken for dead (each beat after it gives all a fresh timeout).
# Every node is in the set of nodes first (else the check could not fail).
eventually eval 'beat_after node-A 0 && beat_after node-B 0 && beat_after node-C 0' ||
  fail "not every node beat before the outage"
# (stopped and started again, not paused: a paused Redis would still run
# the beats queued on its sockets when it resumes, all at once)
kill -TERM "$REDIS_PID"; wait "$REDIS_PID" 2>/dev/null
# Redis's clock is this machine's: every beat it stored is older than
# stopped_ms, so once the clock is past stopped_ms + the node timeout (and
# a second), every node's last beat is older than the timeout when Redis
# is back: only the rule for a silent Redis keeps them alive
stopped_ms=$(date +%s%3N)
eventually eval '[ "$(date +%s%3N)" -gt $((stopped_ms + 4000)) ]'
redis_start
resumed_ms=$(("$(${R[@]} TIME | head -1)" * 1000))
eventually eval 'beat_after node-A $((resumed_ms + 1000)) && beat_after node-B $((resumed_ms + 1000)) &&
  beat_after node-C $((resumed_ms + 1000))' &&
  ok "every node beat again after the outage" || fail "not every node beat after the outage"
expect_eq "a Redis outage longer than the node timeout takes no node over" 0 \
  "$(cat "${NODE_LOG[A]}" "${NODE_LOG[B]}" "${NODE_LOG[C]}" | grep -c "stopped beating")"
# Each node takes publishes again once its own probe had a PONG (its
# /health says so); a beat through another connection does not tell that.
store_up_all() {
  for n in A B C; do curl -s --max-time 30 "${URLS[$n]}/health" | grep -q '"store":"up"' || return 1; done
}
eventually store_up_all && ok "every node's store is up again" || fail "a store is still down after the outage"

publish() { # node n prefix: n events, prints nothing; counts the 2xx
  local okc=0
  for i in $(seq 1 "$2"); do
    "$CLI" --server "${URLS[$1]}" publish test.takeover "{\"n\":\"$3$i\"}" >/dev/null && okc=$((okc + 1))
  done
  echo "$okc"
}
msgs_of() { # event ids from the history of node A: the webhook ids of those events
  curl -s "${URLS[A]}/v1/events?limit=1000" "${auth[@]}" |
    jq -r --arg p "$1" --arg ep "$EP" '.events[] | select(.data.n | startswith($p)) | "msg_\(.id)_\($ep)"' | sort
}
attempted_all() { # ids file: every id got at least one request
  while read -r id; do grep -q " $id\$" "$WORK/recv.log" || return 1; done <"$1"
}
pending_of() { curl -s "${URLS[$1]}/v1/webhooks/$EP" "${auth[@]}" | jq -r .pending; }

# The deliveries of the events of an ids file against herald's record.
# `arrived ids`: every one got a 200 (exit status). `check ids max`: what
# breaks the promise, one line each (nothing: kept); max is how many
# requests per event herald may have no record of (1 for the events of a
# node that went away holding them: its request in flight; 0 otherwise).
cat >"$WORK/deliveries.py" <<'PY'
import json, re, sys, urllib.request
def received(log):  # webhook id -> answers, in order
    out = {}
    for line in open(log):
        code, wid = line.split()
        out.setdefault(wid, []).append(int(code))
    return out
def attempts(url, ep, token):  # herald's record: every attempt, all pages
    out, before = [], ""
    while True:
        q = "%s/v1/webhooks/%s/deliveries?limit=1000%s" % (url, ep, before)
        req = urllib.request.Request(q, headers={"Authorization": "Bearer " + token})
        page = json.load(urllib.request.urlopen(req))["deliveries"]
        if not page:
            return out
        out += page
        before = "&before=" + page[-1]["id"]
ids = [l.strip() for l in open(sys.argv[2]) if l.strip()]
got = received(sys.argv[3])
if sys.argv[1] == "arrived":
    sys.exit(0 if all(200 in got.get(i, []) for i in ids) else 1)
url, ep, token, most = sys.argv[4], sys.argv[5], sys.argv[6], int(sys.argv[7])
rec = {}
for a in attempts(url, ep, token):
    rec.setdefault(a["event_id"], []).append(a)
for wid in ids:
    ev = re.match(r"msg_(\d+)_", wid).group(1)
    answers, mine = got.get(wid, []), sorted(rec.get(ev, []), key=lambda a: int(a["id"]))
    oks = [a for a in mine if a["state"] == "delivered"]
    unrecorded = len(answers) - len(mine)
    unanswered = sum(1 for a in mine if a["status_code"] is None)
    said = "%s: received %s; recorded %s" % (wid, " ".join(map(str, answers)),
        " ".join("%s/%s" % (a["status_code"], a["state"]) for a in mine))
    if 200 not in answers:
        print("never answered 200: " + said)
    if len(oks) != 1 or mine[-1] is not oks[0]:
        print("not one recorded success, the last attempt: " + said)
    if unrecorded > most:
        print("more requests than herald recorded (at most %d): %s" % (most, said))
    if answers.count(200) - 1 > max(unrecorded, 0) + unanswered:
        print("a second 200 with no request herald lost track of before it: " + said)
PY
arrived() { python3 "$WORK/deliveries.py" arrived "$1" "$WORK/recv.log"; }
promise_kept() { # ids file, max unrecorded requests per event: the problems found
  python3 "$WORK/deliveries.py" check "$1" "$WORK/recv.log" "${URLS[A]}" "$EP" "$TOKEN" "$2" 2>&1
}

# --- events on B and on A while the endpoint fails: pending, retried
expect_eq "B acknowledged 12 events" 12 "$(publish B 12 b)"
expect_eq "A acknowledged 4 events" 4 "$(publish A 4 a)"
msgs_of b >"$WORK/b.ids"; msgs_of a >"$WORK/a.ids"
expect_eq "history (on A) has B's 12 and A's 4" "12 4" "$(wc -l <"$WORK/b.ids") $(wc -l <"$WORK/a.ids")"
eventually eval 'attempted_all "$WORK/b.ids" && attempted_all "$WORK/a.ids"' &&
  ok "every delivery was attempted and failed (500)" || fail "not every delivery was attempted"

# --- B dies holding its deliveries (maybe with requests in flight); the
# endpoint recovers
kill -9 "${NODE_PID[B]}"
answer 200
eventually eval 'arrived "$WORK/b.ids" && arrived "$WORK/a.ids" && [ "$(pending_of A)" == 0 ]' &&
  ok "every event of B's and of A's got a 200 after B was killed, nothing left pending" ||
  fail "not every delivery arrived: pending $(pending_of A); $(promise_kept "$WORK/b.ids" 1 | tr '\n' ';')"
took=$(cat "${NODE_LOG[A]}" "${NODE_LOG[C]}" | grep -c "node node-B stopped beating; this node took over its 12 unfinished")
expect_eq "exactly one survivor took B's 12 deliveries over" 1 "$took"
expect_eq "B's deliveries: one recorded success each, a 200 again only after a request whose outcome herald did not learn" \
  "" "$(promise_kept "$WORK/b.ids" 1)"
expect_eq "A's deliveries: the same, with no request herald did not record" "" "$(promise_kept "$WORK/a.ids" 0)"

# --- C stops cleanly while holding deliveries: A takes them over at once
answer 500
expect_eq "C acknowledged 5 events" 5 "$(publish C 5 c)"
msgs_of c >"$WORK/c.ids"
eventually eval 'attempted_all "$WORK/c.ids"' && ok "C's deliveries were attempted and failed" ||
  fail "C's deliveries were not attempted"
kill -TERM "${NODE_PID[C]}"; wait "${NODE_PID[C]}" 2>/dev/null
expect_match "C said it left" "node node-C left" "$(cat "${NODE_LOG[C]}")"
answer 200
eventually eval 'arrived "$WORK/c.ids" && [ "$(pending_of A)" == 0 ]' &&
  ok "A delivered C's 5 after C stopped" ||
  fail "C's deliveries: pending $(pending_of A); $(promise_kept "$WORK/c.ids" 1 | tr '\n' ';')"
expect_match "A took C over" "node node-C stopped beating; this node took over its 5" "$(cat "${NODE_LOG[A]}")"
expect_eq "C's deliveries: one recorded success each, a 200 again only after a request whose outcome herald did not learn" \
  "" "$(promise_kept "$WORK/c.ids" 1)"
expect_eq "every request carried the webhook-id of one of the events" "" \
  "$(cut -d' ' -f2 "$WORK/recv.log" | sort -u | grep -vxF -f <(cat "$WORK/a.ids" "$WORK/b.ids" "$WORK/c.ids"))"

finish
