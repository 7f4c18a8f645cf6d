#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The "http" sink module against a local HTTP backend (sink_http_receiver.mjs,
# node:http): batches arrive as JSON arrays in id order, each event exactly
# as published, gzip bodies decode, Basic and Bearer auth and custom headers
# are sent, the batch-id headers match the body, the "data" format, a
# backend answering 503 is retried until it takes the batch, a 302 is not
# followed, a backend that does not answer times out and gets the same
# batch again, a backend killed and restarted mid-stream loses nothing,
# herald stopped mid-stream (SIGTERM, then kill -9) resumes from its stored
# position, and bad settings leave the sink "failed" with a clear error
# while herald serves. The "slow" backend holds its answers (--hold) while
# the test stops something mid-stream, so the stream is always under way
# when it is stopped; waits are for conditions, with deadlines of 60 s.
. "$(dirname "$0")/lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
RX=$WORK/rx.jsonl
RX2=$WORK/rx2.jsonl
HOLD=$WORK/hold # while it exists the second receiver answers nothing

# Starts a receiver; sets RX_PORT and RX_PID.
rx_start() { # port log [options…]
  local port=$1 log=$2 out; shift 2
  out=$(mktemp "$WORK/rxout.XXXXXX")
  node "$HERE/sink_http_receiver.mjs" --port "$port" --log "$log" "$@" > "$out" 2>&1 &
  RX_PID=$!; PIDS+=("$RX_PID")
  wait_for "$out" '^port ' 1200
  RX_PORT=$(sed -n 's/^port //p' "$out")
  [ -n "$RX_PORT" ] || { cat "$out"; echo "receiver did not start"; exit 1; }
}
rx_start 0 "$RX" --answer /flaky:503:3 --answer /redirect:302:1 --answer /hang:hang:1
rx1_port=$RX_PORT
rx_start 0 "$RX2" --delay-ms 25 --hold "$HOLD"
rx2_port=$RX_PORT rx2_pid=$RX_PID
R1=http://127.0.0.1:$rx1_port
R2=http://127.0.0.1:$rx2_port

cat > "$WORK/herald.json" <<EOF
{"threads": 1,
 "sinks": [
  {"name": "plain", "module": "http", "batch": {"max_events": 7, "max_delay_ms": 20},
   "config": {"url": "$R1/plain", "auth": {"basic": {"user": "evuser", "password": "s3cr:et"}}, "timeout_ms": 60000}},
  {"name": "gz", "module": "http", "batch": {"max_events": 50, "max_delay_ms": 20},
   "config": {"url": "$R1/gz", "gzip": true, "format": "data", "auth": {"bearer": "tok-123"},
              "headers": {"X-Herald-Test": "yes"}, "timeout_ms": 60000, "connect_timeout_ms": 30000}},
  {"name": "flaky", "module": "http", "retry": {"initial_ms": 50, "max_ms": 200},
   "config": {"url": "$R1/flaky", "timeout_ms": 60000}},
  {"name": "slow", "module": "http", "batch": {"max_events": 5}, "retry": {"initial_ms": 50, "max_ms": 200},
   "config": {"url": "$R2/slow", "timeout_ms": 2000, "connect_timeout_ms": 500}},
  {"name": "redirect", "module": "http", "retry": {"initial_ms": 50, "max_ms": 200},
   "config": {"url": "$R1/redirect", "timeout_ms": 60000}},
  {"name": "hang", "module": "http", "retry": {"initial_ms": 50, "max_ms": 200},
   "config": {"url": "$R1/hang", "timeout_ms": 400}},
  {"name": "badauth", "module": "http", "config": {"url": "$R1/x", "auth": {"basic": {"user": "u"}}}},
  {"name": "badkey", "module": "http", "config": {"url": "$R1/x", "gzp": true}},
  {"name": "badurl", "module": "http", "config": {"url": "ftp://example.com/x"}},
  {"name": "badheader", "module": "http", "config": {"url": "$R1/x", "headers": {"Content-Length": "5"}}}
 ]}
EOF

sink_field() { # sink field
  curl -s "$URL/v1/sinks" "${auth[@]}" | python3 -c "import json,sys; print(next(s for s in json.load(sys.stdin)['sinks'] if s['name']=='$1')['$2'])"
}
wait_field() { # sink field value: waits up to 60 s until the field is value
  local end=$((SECONDS + 60))
  while [ $SECONDS -lt $end ]; do [ "$(sink_field "$1" "$2")" == "$3" ] && return 0; sleep 0.05; done
  return 1
}
stored_ids() {
  curl -s "$URL/v1/events?limit=1000" "${auth[@]}" | python3 -c "import json,sys; print(' '.join(e['id'] for e in json.load(sys.stdin)['events']))"
}
# What a receiver log holds for one path: "firsts" (ids in order of first
# receipt), "requests", "statuses", a header of the first request, "bodies".
rx() { # log path what [header]
  python3 - "$@" <<'EOF'
import json, sys
log, path, what = sys.argv[1:4]
reqs = [json.loads(l) for l in open(log) if json.loads(l)["path"] == path]
if what == "firsts":
    seen, out = set(), []
    for r in reqs:
        for e in r["body"]:
            if e["id"] not in seen:
                seen.add(e["id"]); out.append(e["id"])
    print(" ".join(out))
elif what == "requests":
    print(len(reqs))
elif what == "statuses":
    print(" ".join(str(r["status"]) for r in reqs))
elif what == "attempts":
    print(" ".join(r["headers"].get("herald-delivery-attempt", "") for r in reqs))
elif what == "nth":  # the batch headers of request N
    h = reqs[int(sys.argv[4])]["headers"]
    print(h.get("herald-batch-first-id"), h.get("herald-batch-last-id"))
elif what == "header":
    print(reqs[0]["headers"].get(sys.argv[4], ""))
elif what == "shape":  # every request a POST of a non-empty array, ids rising within it, headers matching
    bad = [r for r in reqs if r["method"] != "POST" or not isinstance(r["body"], list) or not r["body"]
           or r["headers"].get("content-type") != "application/json"
           or [int(e["id"]) for e in r["body"]] != sorted(int(e["id"]) for e in r["body"])
           or r["headers"].get("herald-batch-first-id") != r["body"][0]["id"]
           or r["headers"].get("herald-batch-last-id") != r["body"][-1]["id"]
           or r["headers"].get("herald-batch-size") != str(len(r["body"]))]
    print("ok" if reqs and not bad else "bad: %s" % json.dumps(bad[:1])[:600])
EOF
}

herald_start --config "$WORK/herald.json"
sinks_settled

# --- bad settings: failed with the module's reason, herald keeps serving
expect_eq "a non-http URL: the sink is failed" failed "$(sink_field badurl state)"
expect_match "saying why" '"url" must be an http:// or https:// URL' "$(sink_field badurl last_error)"
expect_eq "a header the sink sets itself: failed" failed "$(sink_field badheader state)"
expect_match "naming it" '"Content-Length" is set by the sink itself' "$(sink_field badheader last_error)"
expect_match "a basic auth without a password: failed" '"auth" must be \{"basic"' "$(sink_field badauth last_error)"
expect_eq "an unknown setting: failed, naming it" 'unknown setting "gzp"' "$(sink_field badkey last_error)"
expect_eq "herald serves next to them" 200 "$(http GET /health | cut -d' ' -f1)"

# --- events flow: arrays in id order, each as published
python3 - > "$WORK/events.jsonl" <<'EOF'
import json
for i in range(1, 41):
    e = {"type": ["room.created", "peer.connected", "chat.message", "janus.session"][i % 4],
         "data": {"n": i, "big": 8230373760211786 + i, "text": "héllo \"%d\" \u2603" % i, "nested": {"a": [i, None, True]}}}
    if i % 3: e["room_id"] = "room-%d" % (i % 5)
    if i % 7 == 0: e["user_id"] = "user-%d" % i
    print(json.dumps(e, ensure_ascii=False))
EOF
"$CLI" --server "$URL" publish < "$WORK/events.jsonl" > "$WORK/ids"
expect_eq "40 events published" 40 "$(wc -l < "$WORK/ids")"
want=$(tr '\n' ' ' < "$WORK/ids" | sed 's/ $//')
last=$(tail -1 "$WORK/ids")
for s in plain gz flaky redirect hang; do
  wait_field "$s" position "$last" && ok "sink $s caught up" || fail "$s: position $(sink_field "$s" position), want $last"
done
expect_eq "plain: every request a POSTed JSON array, ids rising, batch headers right" ok "$(rx "$RX" /plain shape)"
expect_eq "plain: every event once, in id order" "$want" "$(rx "$RX" /plain firsts)"
expect_eq "plain: batches of at most 7" 1 "$([ "$(rx "$RX" /plain requests)" -ge 6 ] && echo 1)"
same=$(python3 - "$RX" "$WORK/events.jsonl" "$WORK/ids" <<'EOF'
import json, sys
sent = [json.loads(l) for l in open(sys.argv[2], encoding="utf-8")]
ids = open(sys.argv[3]).read().split()
got = [e for l in open(sys.argv[1]) for r in [json.loads(l)] if r["path"] == "/plain" for e in r["body"]]
bad = []
for want, i, e in zip(sent, ids, got):
    if (e["id"], e["type"], e.get("room_id"), e.get("user_id"), e["data"]) != \
       (i, want["type"], want.get("room_id"), want.get("user_id"), want["data"]) or not e["timestamp"].endswith("Z"):
        bad.append(e)
print("ok" if len(got) == len(sent) and not bad else "bad: %s" % json.dumps(bad[:1], ensure_ascii=False))
EOF
)
expect_eq "plain: each envelope is the event as published (type, room, user, data, 64-bit ints, UTF-8)" ok "$same"
expect_eq "plain: Basic auth sent up front" "Basic $(printf 'evuser:s3cr:et' | base64)" "$(rx "$RX" /plain header authorization)"
expect_eq "plain: the first request was answered (no 401 round trip)" 204 "$(rx "$RX" /plain statuses | cut -d' ' -f1)"

expect_eq "gz: Content-Encoding: gzip" gzip "$(rx "$RX" /gz header content-encoding)"
expect_eq "gz: Bearer auth" "Bearer tok-123" "$(rx "$RX" /gz header authorization)"
expect_eq "gz: the custom header" yes "$(rx "$RX" /gz header x-herald-test)"
data_same=$(python3 - "$RX" "$WORK/events.jsonl" <<'EOF'
import json, sys
sent = [json.loads(l)["data"] for l in open(sys.argv[2], encoding="utf-8")]
got = [e for l in open(sys.argv[1]) for r in [json.loads(l)] if r["path"] == "/gz" for e in r["body"]]
print("ok" if got == sent else "bad: %s" % json.dumps(got[:2], ensure_ascii=False))
EOF
)
expect_eq "gz: gunzipped, the body is the array of data objects, in order" ok "$data_same"

expect_eq "flaky: three 503s, then taken" "503 503 503 204" "$(rx "$RX" /flaky statuses | cut -d' ' -f1-4)"
expect_eq "flaky: nothing lost, in order" "$want" "$(rx "$RX" /flaky firsts)"
expect_match "flaky: its failures were counted" '^[3-9]' "$(sink_field flaky failures)"
expect_match "the failure was logged with the status and URL" "HTTP 503 from $R1/flaky: try again later" "$(cat "$LOG")"
expect_eq "a retried batch says its attempt" "1 2 3 4" "$(rx "$RX" /flaky attempts | cut -d' ' -f1-4)"
expect_eq "redirect: a 302 is not followed and fails the batch, then it is sent again" "302 204" "$(rx "$RX" /redirect statuses | cut -d' ' -f1-2)"
expect_match "saying so" "HTTP 302 from $R1/redirect \\(redirects are not followed\\)" "$(cat "$LOG")"
expect_eq "redirect: nothing lost" "$want" "$(rx "$RX" /redirect firsts)"
expect_match "hang: a backend that does not answer times out" "POST $R1/hang: .*[Tt]imed out" "$(cat "$LOG")"
expect_eq "hang: the same batch is sent again (same batch headers)" "$(rx "$RX" /hang nth 0)" "$(rx "$RX" /hang nth 1)"
expect_eq "hang: nothing lost" "$want" "$(rx "$RX" /hang firsts)"

# --- the backend killed and restarted mid-stream: nothing lost
# It is killed while it holds the answer to a request with the new events.
wait_field slow position "$last" || fail "slow: first catch-up"
touch "$HOLD"
seq 1 150 | sed 's/.*/{"type":"load.tick","data":{"i":&}}/' | "$CLI" --server "$URL" publish > "$WORK/ids2"
wait_for "$RX2" '"type":"load.tick"' 1200 || fail "slow: no request with the new events"
kill -9 "$rx2_pid"; wait "$rx2_pid" 2>/dev/null
rm -f "$HOLD"
mid=$(sink_field slow position)
end=$((SECONDS + 60))
while [ $SECONDS -lt $end ] && ! [[ "$(sink_field slow last_error)" =~ refused|Failed\ to\ connect|Couldn ]]; do sleep 0.05; done
expect_match "with the backend down the sink retries" 'refused|Failed to connect|Couldn' "$(sink_field slow last_error)"
rx_start "$rx2_port" "$RX2" --delay-ms 25 --hold "$HOLD"
last=$(tail -1 "$WORK/ids2")
wait_field slow position "$last" && ok "slow: caught up after the backend came back" || fail "slow: position $(sink_field slow position), want $last"
expect_match "it was stopped mid-stream (position $mid)" '^[0-9]+$' "$mid"
[ "$mid" != "$last" ] || fail "the backend was killed after the stream ended: nothing tested"
expect_eq "slow: every stored event received, in order of first receipt" "$(stored_ids)" "$(rx "$RX2" /slow firsts)"
expect_eq "slow: requests well formed" ok "$(rx "$RX2" /slow shape)"

# --- herald stopped mid-stream (SIGTERM, then kill -9): resumes from its position
# herald is stopped while the backend holds the answer to a request with
# the new events, so that batch is never acknowledged before the stop.
for how in TERM KILL; do
  touch "$HOLD"
  seq 1 150 | sed "s/.*/{\"type\":\"load.${how,,}\",\"data\":{\"i\":&}}/" | "$CLI" --server "$URL" publish > "$WORK/ids3"
  wait_for "$RX2" "\"type\":\"load.${how,,}\"" 1200 || fail "SIG$how: no request with the new events"
  before=$(rx "$RX2" /slow requests)
  kill -$how "$HERALD_PID"; wait "$HERALD_PID" 2>/dev/null
  rm -f "$HOLD"
  herald_start --config "$WORK/herald.json"
  last=$(tail -1 "$WORK/ids3")
  wait_field slow position "$last" && ok "SIG$how: the sink caught up after the restart" || fail "SIG$how: position $(sink_field slow position)"
  [ "$(rx "$RX2" /slow requests)" -gt "$before" ] && ok "SIG$how: the held batch is sent again after the restart" ||
    fail "SIG$how: no request after the restart"
  expect_eq "SIG$how: every stored event received, in order" "$(stored_ids)" "$(rx "$RX2" /slow firsts)"
  expect_eq "SIG$how: the plain sink too" "$(stored_ids)" "$(rx "$RX" /plain firsts)"
done
redelivered=$(python3 - "$RX2" <<'EOF'
import json, sys
ids = [e["id"] for l in open(sys.argv[1]) for e in json.loads(l)["body"]]
print(len(ids) - len(set(ids)))
EOF
)
echo "# events received more than once on /slow (at least once): $redelivered"
herald_stop
expect_eq "herald stops cleanly with http sinks" 0 "$?"

finish
