#!/usr/bin/env bash
# test_redis_takeover.sh — webhook deliveries owned by exactly one node,
# and taken over when that node dies: three herald nodes (--engine redis)
# on one real redis-server and one webhook endpoint that first answers 500,
# so the deliveries of the events published on node B stay pending on B,
# retried. Node B is killed with SIGKILL; the endpoint then answers 200:
# exactly one survivor takes B over (after --node-timeout) and every event
# B acknowledged is delivered, each with exactly one successful request,
# and the events published on A are delivered by A, once each. Then the
# same with node C stopped cleanly (SIGTERM): it hands its deliveries over
# at once. Before all that, Redis is stopped and started again after
# longer than the node timeout: once every node has beaten again, none has
# taken another over for that silence. The nodes use Redis
# database 3 (every connection, the heartbeat's included, must select it).
# The receiver is a small Python HTTP server whose answer is read from a
# file.
. "$(dirname "$0")/lib.sh"

redis_setup
redis_start

SCHED=$(python3 -c 'print(",".join(["0.4"] * 60))')
FLAGS=(--engine redis --redis-url "redis://127.0.0.1:$RPORT/3" --redis-prefix "takeover:"
       --node-timeout 3 --webhook-retry-schedule "$SCHED" --webhook-timeout 10 --threads 1)
wait_for() { # what to run, tries of 0.1 s
  for _ in $(seq 1 "${2:-300}"); do eval "$1" && return 0; sleep 0.1; done
  return 1
}

# --- the receiver: answers what $WORK/answer says, logs "<code> <webhook-id>"
echo 500 >"$WORK/answer"
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
wait_for '[ -s "$WORK/recv.port" ]' 100 || { fail "receiver did not start"; finish; exit 1; }
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

# --- Redis away for longer than --node-timeout: no node could beat, so no
# node is taken for dead (each beat after it gives all a fresh timeout)
sleep 0.5
# (stopped and started again, not paused: a paused Redis would still run
# the beats queued on its sockets when it resumes, all at once)
kill -TERM "$REDIS_PID"; wait "$REDIS_PID" 2>/dev/null; sleep 4; redis_start
resumed_ms=$(("$(${R[@]} TIME | head -1)" * 1000))
beat_after() { # node ms: its last heartbeat (Redis's clock) is later
  local score
  score=$("${R[@]}" -n 3 ZSCORE takeover:nodes "$1")
  [ -n "$score" ] && [ "${score%.*}" -gt "$2" ]
}
wait_for 'beat_after node-A $((resumed_ms + 1000)) && beat_after node-B $((resumed_ms + 1000)) &&
  beat_after node-C $((resumed_ms + 1000))' 150 &&
  ok "every node beat again after the pause" || fail "not every node beat after the pause"
expect_eq "a Redis outage longer than the node timeout takes no node over" 0 \
  "$(cat "${NODE_LOG[A]}" "${NODE_LOG[B]}" "${NODE_LOG[C]}" | grep -c "stopped beating")"

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
not_once() { # ids file: those without exactly one 200, with their answers
  while read -r id; do
    [ "$(grep -c "^200 $id\$" "$WORK/recv.log")" -eq 1 ] || echo "$id: $(grep " $id\$" "$WORK/recv.log" | cut -d' ' -f1 | tr '\n' ' ')"
  done <"$1"
}
delivered_once() { # ids file: how many of them have exactly one 200
  local n=0
  while read -r id; do
    [ "$(grep -c "^200 $id\$" "$WORK/recv.log")" -eq 1 ] && n=$((n + 1))
  done <"$1"
  echo "$n"
}
attempted_all() { # ids file: every id got at least one request
  while read -r id; do grep -q " $id\$" "$WORK/recv.log" || return 1; done <"$1"
}

# --- events on B and on A while the endpoint fails: pending, retried
expect_eq "B acknowledged 12 events" 12 "$(publish B 12 b)"
expect_eq "A acknowledged 4 events" 4 "$(publish A 4 a)"
msgs_of b >"$WORK/b.ids"; msgs_of a >"$WORK/a.ids"
expect_eq "history (on A) has B's 12 and A's 4" "12 4" "$(wc -l <"$WORK/b.ids") $(wc -l <"$WORK/a.ids")"
wait_for 'attempted_all "$WORK/b.ids" && attempted_all "$WORK/a.ids"' &&
  ok "every delivery was attempted and failed (500)" || fail "not every delivery was attempted"

# --- B dies holding its deliveries; the endpoint recovers
kill -9 "${NODE_PID[B]}"
echo 200 >"$WORK/answer"
wait_for '[ "$(delivered_once "$WORK/b.ids")" -eq 12 ]' 300 &&
  ok "all 12 of B's deliveries arrived after B was killed" ||
  fail "B's deliveries: $(delivered_once "$WORK/b.ids") of 12 delivered once: $(not_once "$WORK/b.ids" | tr '\n' ';')"
wait_for '[ "$(delivered_once "$WORK/a.ids")" -eq 4 ]' 100 &&
  ok "A's own 4 deliveries arrived" || fail "A's deliveries: $(delivered_once "$WORK/a.ids") of 4"
took=$(cat "${NODE_LOG[A]}" "${NODE_LOG[C]}" | grep -c "node node-B stopped beating; this node took over its 12 unfinished")
expect_eq "exactly one survivor took B's 12 deliveries over" 1 "$took"
pending_of() { curl -s "${URLS[$1]}/v1/webhooks/$EP" "${auth[@]}" | jq -r .pending; }
wait_for '[ "$(pending_of C)" == 0 ]' 100 # nothing left to be sent again
expect_eq "each of B's events has exactly one successful request" 12 "$(delivered_once "$WORK/b.ids")"
[ "$(delivered_once "$WORK/b.ids")" -eq 12 ] || { echo "# not once: $(not_once "$WORK/b.ids" | tr '\n' ';')";
  grep -h "stopped beating\|is now another node" "${NODE_LOG[A]}" "${NODE_LOG[C]}" | sed 's/^/# /'; }
expect_eq "and each of A's" 4 "$(delivered_once "$WORK/a.ids")"
expect_eq "nothing pending for the endpoint" 0 "$(pending_of C)"

# --- C stops cleanly while holding deliveries: A takes them over at once
echo 500 >"$WORK/answer"
expect_eq "C acknowledged 5 events" 5 "$(publish C 5 c)"
msgs_of c >"$WORK/c.ids"
wait_for 'attempted_all "$WORK/c.ids"' && ok "C's deliveries were attempted and failed" ||
  fail "C's deliveries were not attempted"
kill -TERM "${NODE_PID[C]}"; wait "${NODE_PID[C]}" 2>/dev/null
expect_match "C said it left" "node node-C left" "$(cat "${NODE_LOG[C]}")"
echo 200 >"$WORK/answer"
wait_for '[ "$(delivered_once "$WORK/c.ids")" -eq 5 ]' 100 &&
  ok "A delivered C's 5 after C stopped" || fail "C's deliveries: $(delivered_once "$WORK/c.ids") of 5"
expect_match "A took C over" "node node-C stopped beating; this node took over its 5" "$(cat "${NODE_LOG[A]}")"

finish
