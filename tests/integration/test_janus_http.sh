# SPDX-License-Identifier: MIT
# test_janus_http.sh — POST /janus/events as Janus's HTTP event handler
# uses it, fed with the real captures in tests/data/janus: grouped and
# single bodies in every JSON layout, gzip, Basic and Bearer auth,
# Expect: 100-continue with a 1.2 MB event, a resent batch taken once,
# what a listener and the history show, bad bodies (400, counted) and bad
# credentials (401, counted); then --janus-path and the session room rule.
. "$(dirname "$0")/lib.sh"
herald_start
D=$SRC/tests/data/janus
basic=(-u "evuser:$TOKEN")

metric() { curl -s "$URL/metrics" | sed -n "s/^$1 //p"; }

"$CLI" --server "$URL" listen > "$WORK/listen.out" 2> "$WORK/listen.err" &
PIDS+=($!)
wait_for "$WORK/listen.err" 'listening' || fail "listen did not start: $(cat "$WORK/listen.err")"

post() { # file [curl args…]: POSTs a capture as Janus does (Basic auth)
  local f=$1; shift
  http POST /janus/events "${basic[@]}" -H 'Content-Type: application/json' --data-binary @"$D/$f" "$@"
}
total=0
for f in "$D"/[0-2][0-9]-*.json; do
  n=$(python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(len(j) if isinstance(j,list) else 1)' "$f")
  out=$(post "$(basename "$f")")
  got=$(echo "${out#* }" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["ids"]))')
  [ "${out%% *}" = 200 ] && [ "$got" = "$n" ] || fail "$(basename "$f"): $out"
  total=$((total + n))
done
ok "every capture is taken ($total events)"
expect_match "gzip body (Content-Encoding: gzip)" '^200 \{"ids":\["[0-9]+"\],"duplicates":0\}$' \
  "$(post 12-gzip-handle-attached.json.gz -H 'Content-Encoding: gzip')"
total=$((total + 1))
expect_match "Bearer auth works too" '^200 \{"ids":\[\],"duplicates":1\}$' \
  "$(http POST /janus/events "${auth[@]}" --data-binary @"$D/05-plugin-echotest.json")"

# A resent batch (Janus retries after a dropped connection) is taken once.
expect_eq "a resent batch: all 14 are duplicates" '200 {"ids":[],"duplicates":14}' \
  "$(post 13-batch-14-events-after-retries.json)"
expect_eq "duplicates are counted" 15 "$(metric herald_janus_duplicates_total)"
expect_eq "events taken are counted" "$total" "$(metric herald_janus_events_total)"

# Expect: 100-continue, as libcurl sends it for bodies over 1 MiB.
python3 - "$WORK/big.json" <<'PY'
import json, sys
ev = {"emitter": "big", "type": 4, "timestamp": 1795339867988528,
      "event": {"schema": "big.test", "data": {"blob": "x" * 1200000}}}
open(sys.argv[1], "w").write(json.dumps([ev], indent=3))
PY
out=$(http POST /janus/events "${basic[@]}" -H 'Expect: 100-continue' --data-binary @"$WORK/big.json" -v 2>"$WORK/curl.err")
expect_match "a 1.2 MB event with Expect: 100-continue" '^200 \{"ids":\["[0-9]+"\]' "$out"
grep -q '< HTTP/1.1 100 Continue' "$WORK/curl.err" && ok "100 Continue is sent" || fail "no 100 Continue"
total=$((total + 1))

# What a listener and the history see.
wait_for "$WORK/listen.out" '"schema":"big.test"' || fail "the listener did not get everything"
expect_eq "the listener got each event once" "$total" "$(grep -c '"type":"janus\.' "$WORK/listen.out")"
line=$(grep -m1 '"type":"janus.session"' "$WORK/listen.out")
expect_match "session event: exact 64-bit ids, transport id a string, emitter kept" \
  '"data":\{"emitter":"janus-research","type":1,"timestamp":1795339867854287,"session_id":8230373760211786,"event":\{"name":"created","transport":\{"transport":"janus.transport.http","id":"9211554382759587965"\}\}\}' "$line"
line=$(grep -m1 '"type":"janus.handle"' "$WORK/listen.out")
expect_match "handle event: room from opaque_id" '"room_id":"research-opaque-1"' "$line"
hist=$(http GET "/v1/events?type=janus.session&limit=1000" "${auth[@]}")
expect_match "history has the session events with their data" '"timestamp":1795339868028029,"session_id":8230373760211786,"event":\{"name":"destroyed"\}' "$hist"
n=$(http GET "/v1/events?limit=10000" "${auth[@]}" | python3 -c 'import json,sys; print(sum(e["type"].startswith("janus.") for e in json.loads(sys.stdin.read().split(" ",1)[1])["events"]))')
expect_eq "history holds each event once" "$total" "$n"

# Bad bodies: 400 with a JSON error, counted.
expect_match "invalid JSON: 400" '^400 \{"errors":"body is not valid JSON: ' \
  "$(http POST /janus/events "${basic[@]}" --data-binary '[{"type":1,')"
expect_eq "non-object element: 400" '400 {"errors":"events[1] must be a JSON object (a Janus event)"}' \
  "$(http POST /janus/events "${basic[@]}" --data-binary '[{"type":1},"x"]')"
expect_eq "no type: 400" '400 {"errors":"type must be an integer (the Janus event type)"}' \
  "$(http POST /janus/events "${basic[@]}" --data-binary '{"event":{}}')"
expect_eq "not gzip: 400" '400 {"errors":"request body is not valid gzip"}' \
  "$(http POST /janus/events "${basic[@]}" -H 'Content-Encoding: gzip' --data-binary '[]')"
expect_eq "invalid bodies are counted" 3 "$(metric herald_janus_invalid_total)"

# Bad credentials: 401, counted, nothing stored.
expect_match "wrong Basic password: 401" '^401 ' \
  "$(http POST /janus/events -u evuser:wrong --data-binary @"$D/08-session-destroyed.json")"
expect_match "no credentials: 401" '^401 ' "$(http POST /janus/events --data-binary @"$D/08-session-destroyed.json")"
curl -s -D - -o /dev/null -u evuser:wrong --data-binary '{}' "$URL/janus/events" | grep -qi '^WWW-Authenticate: Basic' \
  && ok "401 names Basic" || fail "no WWW-Authenticate"
expect_eq "refusals are counted" 3 "$(metric herald_janus_auth_failures_total)"
grep -q 'janus: POST /janus/events refused: wrong credentials' "$LOG" && ok "refusals are logged" || fail "not logged"
expect_match "GET is not allowed" '^405 ' "$(http GET /janus/events "${basic[@]}")"
herald_stop

# Another path and rooms from sessions, with a prefix.
DATA_DIR=$WORK/data2 herald_start --janus-path /hooks/janus --janus-room-from session --janus-room-prefix janus-
expect_match "--janus-path" '^200 ' "$(http POST /hooks/janus "${basic[@]}" --data-binary @"$D/04-handle-attached.json")"
expect_match "the default path is gone" '^404 ' "$(http POST /janus/events "${basic[@]}" --data-binary @"$D/04-handle-attached.json")"
expect_match "--janus-room-from session" '"room_id":"janus-8230373760211786"' \
  "$(http GET "/v1/events?room_id=janus-8230373760211786" "${auth[@]}")"
herald_stop
DATA_DIR=$WORK/data3 herald_start --janus-room-from none
http POST /janus/events "${basic[@]}" --data-binary @"$D/04-handle-attached.json" >/dev/null
expect_eq "--janus-room-from none" 0 "$(http GET /v1/events "${auth[@]}" | grep -c room_id)"
HERALD_JANUS_ROOM_FROM=handle "$HERALD" --listen 127.0.0.1:0 --data-dir "$WORK/d4" 2>"$WORK/bad.err"
expect_eq "a bad room rule is refused" 2 "$?"
herald_stop
finish
