# SPDX-License-Identifier: MIT
# test_webhooks_cli.sh — webhook endpoints driven through herald-cli as a
# user would, delivered to `herald-cli webhook-listen` (which verifies
# each request with herald_webhook_verify): add with filters, delivery
# verified, list/get/deliveries, disable/enable (no deliveries while
# disabled, a replay catches up), replay by id and by time, retry, a receiver holding another
# secret answering 401 (recorded as failed attempts), protobuf bodies
# decoded, the server's 400 for bad input, delete.
. "$(dirname "$0")/lib.sh"
# A request times out after 60 s: a slow receiver is not a failed one here.
herald_start --webhook-retry-schedule 0.3,0.3 --webhook-timeout 60
export HERALD_SERVER=$URL

wait_lines() { # file regex [count]: until count lines match (up to WAIT_S)
  eventually has_lines "$1" "$2" "${3:-1}"
}
jf() { jq -r "$1"; } # a field of the JSON on stdin
new_secret() { echo "whsec_$(head -c 32 /dev/urandom | base64 -w0)"; }
LISTENERS=()
listen() { # name secret: starts webhook-listen, sets LPORT
  "$CLI" webhook-listen --secret "$2" --port 0 > "$WORK/$1.out" 2> "$WORK/$1.err" &
  local pid=$!; PIDS+=("$pid"); LISTENERS+=("$pid:$1")
  wait_lines "$WORK/$1.err" '^listening on http://127.0.0.1:[0-9]+$' ||
    { cat "$WORK/$1.err"; echo "webhook-listen did not start"; exit 1; }
  LPORT=$(sed -n 's|^listening on http://127.0.0.1:\([0-9]*\)$|\1|p' "$WORK/$1.err")
}

S1=$(new_secret); S2=$(new_secret)
listen good "$S1"; GOOD=$LPORT
listen wrong "$S2"; WRONG=$LPORT

# --- add, with filters; the secret is shown on creation only
ep=$("$CLI" webhooks add --url "http://127.0.0.1:$GOOD/hook" --event-types 'chat.*,vote.cast' \
     --room-ids lobby --secret "$S1" --description 'dev receiver')
A=$(echo "$ep" | jf .id)
expect_match "webhooks add prints the new endpoint id" '^ep_[A-Za-z0-9_-]+$' "$A"
expect_eq "with the secret given" "$S1" "$(echo "$ep" | jf .secret)"
expect_eq "and its filters" 'chat.*,vote.cast lobby json dev receiver' \
  "$(echo "$ep" | jf '[(.event_types|join(",")), (.room_ids|join(",")), .format, .description]|join(" ")')"

# --- deliveries reach webhook-listen, verified; filtered events do not
"$CLI" publish chat.message '{"text":"hello"}' --room lobby >/dev/null
"$CLI" publish chat.message '{"text":"elsewhere"}' --room other >/dev/null
"$CLI" publish room.note '{"text":"not a chat type"}' --room lobby >/dev/null
"$CLI" publish vote.cast '{"choice":"b"}' --room lobby >/dev/null
wait_lines "$WORK/good.out" '"vote.cast"' && ok "webhook-listen received the deliveries" \
  || fail "no deliveries: $(cat "$WORK/good.out" "$WORK/good.err")"
first=$(head -1 "$WORK/good.out")
expect_eq "the first is verified, answered 204, JSON" "true 204 application/json" \
  "$(echo "$first" | jf '[.verified, .status, .content_type]|join(" ")')"
expect_eq "its body is the event envelope" "chat.message lobby hello" \
  "$(echo "$first" | jf '[.body.type, .body.room_id, .body.data.text]|join(" ")')"
expect_match "webhook-id is msg_<event id>_<endpoint id>" "^msg_[0-9]+_${A}\$" "$(echo "$first" | jf .webhook_id)"
expect_eq "only the two matching events came" "chat.message vote.cast " \
  "$(jq -r '.body.type' "$WORK/good.out" | tr '\n' ' ')"

# --- list, get, deliveries (webhook-listen prints a request before it
# answers, and herald records the answer: wait until it has)
settled() { [ "$("$CLI" webhooks get "$A" | jf .pending)" == 0 ]; }
eventually settled
list=$("$CLI" webhooks list)
expect_eq "webhooks list shows it, one line" 1 "$(echo "$list" | grep -c "\"id\":\"$A\"")"
expect_eq "without the secret" 0 "$(echo "$list" | grep -c whsec_)"
expect_eq "--json prints the server's answer" "$A" "$("$CLI" webhooks list --json | jf ".webhooks[]|select(.id==\"$A\")|.id")"
got=$("$CLI" webhooks get "$A")
expect_eq "webhooks get: enabled, nothing pending" "true 0" "$(echo "$got" | jf '[.enabled, .pending]|join(" ")')"
dl=$("$CLI" webhooks deliveries "$A")
expect_eq "webhooks deliveries: two attempts, delivered with 204" "204 delivered|204 delivered|" \
  "$(echo "$dl" | jq -r '"\(.status_code) \(.state)"' | tr '\n' '|')"
expect_eq "--limit 1 gives the newest only" 1 "$("$CLI" webhooks deliveries "$A" --limit 1 | wc -l)"
DID=$(echo "$dl" | tail -1 | jf .delivery_id)

# --- disable stops deliveries (none are even made, issue 13 defect 8);
# after enable, a replay catches up on the gap
off=$("$CLI" webhooks disable "$A")
expect_eq "webhooks disable" "false" "$(echo "$off" | jf .enabled)"
expect_eq "it says why" "disabled through the API" "$(echo "$off" | jf .disabled_reason)"
expect_match "and since when" '^20[0-9][0-9]-[0-9][0-9]-[0-9][0-9]T' "$(echo "$off" | jf .disabled_at)"
expect_eq "the list says it too" "disabled through the API" \
  "$("$CLI" webhooks list --json | jf ".webhooks[]|select(.id==\"$A\")|.disabled_reason")"
GAP=$("$CLI" publish chat.message '{"text":"while disabled"}' --room lobby)
# A marker after it, through an endpoint of its own to the same receiver:
# when it has come, A's turn for the event before it has passed.
M=$("$CLI" webhooks add --url "http://127.0.0.1:$GOOD/marker" --event-types 'marker.*' --secret "$S1" | jf .id)
"$CLI" publish marker.sent '{}' >/dev/null
wait_lines "$WORK/good.out" '"marker.sent"' || fail "the marker did not come: $(cat "$WORK/good.out")"
expect_eq "nothing is delivered while disabled" 0 "$(grep -c 'while disabled' "$WORK/good.out")"
expect_eq "no delivery is made while disabled (pending 0)" 0 "$("$CLI" webhooks get "$A" | jf .pending)"
on=$("$CLI" webhooks enable "$A")
expect_eq "webhooks enable" "true" "$(echo "$on" | jf .enabled)"
expect_eq "enabled: no reason, no time" "null null" "$(echo "$on" | jf '[.disabled_reason, .disabled_at]|map(tostring)|join(" ")')"
expect_eq "replay of the gap" '{"replayed":1}' "$("$CLI" webhooks replay "$A" --since-id $((GAP - 1)))"
wait_lines "$WORK/good.out" 'while disabled' && ok "the replay delivers the gap" || fail "nothing after enable"

# --- replay by id and by time; retry one delivery
before=$(wc -l < "$WORK/good.out")
expect_eq "replay --since-id 0" '{"replayed":3}' "$("$CLI" webhooks replay "$A" --since-id 0)"
wait_lines "$WORK/good.out" '"verified":true' $((before + 3)) && ok "the three events came again" \
  || fail "replay: $(cat "$WORK/good.out")"
expect_eq "with the same webhook-ids (receivers deduplicate)" 3 \
  "$(jq -r .webhook_id "$WORK/good.out" | sort | uniq -d | wc -l)"
expect_eq "replay --since a time before them" '{"replayed":3}' \
  "$("$CLI" webhooks replay "$A" --since 2020-01-01T00:00:00Z)"
expect_eq "replay --since a future time" '{"replayed":0}' \
  "$("$CLI" webhooks replay "$A" --since 2999-01-01T00:00:00Z)"
wait_lines "$WORK/good.out" '"verified":true' $((before + 6)) || fail "replay --since did not deliver"
before=$(wc -l < "$WORK/good.out")
expect_eq "webhooks retry" "$DID queued" "$("$CLI" webhooks retry "$A" "$DID" | jf '[.delivery_id, .status]|join(" ")')"
wait_lines "$WORK/good.out" '"verified":true' $((before + 1)) && ok "the retried delivery came" || fail "no retry"
expect_match "it is the first event again" "\"webhook_id\":\"msg_[0-9]+_$A\".*\"hello\"" "$(tail -1 "$WORK/good.out")"

# --- a receiver with another secret: 401, recorded as failed attempts
B=$("$CLI" webhooks add --url "http://127.0.0.1:$WRONG/hook" --event-types 'chat.*' --secret "$S1" | jf .id)
"$CLI" publish chat.message '{"text":"signed for someone else"}' --room lobby >/dev/null
wait_lines "$WORK/wrong.out" 'signed for someone else' 3 && ok "the wrong-secret receiver got the request and its 2 retries" \
  || fail "wrong receiver: $(cat "$WORK/wrong.out")"
bad=$(head -1 "$WORK/wrong.out")
expect_eq "printed unverified, answered 401" "false 401" "$(echo "$bad" | jf '[.verified, .status]|join(" ")')"
expect_match "with the reason" 'no signature in webhook-signature matches' "$(echo "$bad" | jf .error)"
bdl=""
b_failed() { bdl=$("$CLI" webhooks deliveries "$B"); [ "$(echo "$bdl" | head -1 | jf .state)" == failed ]; }
eventually b_failed
expect_eq "webhooks deliveries shows three 401 attempts, the last failed" "401 failed|401 pending|401 pending|" \
  "$(echo "$bdl" | jq -r '"\(.status_code) \(.state)"' | tr '\n' '|')"
expect_match "with the receiver's answer" 'no signature' "$(echo "$bdl" | head -1 | jf .response)"

# --- webhook-listen itself: a POST without signature headers, a GET
code=$(curl -s -o "$WORK/lb" -w '%{http_code}' -X POST -H 'Content-Type: application/json' -d '{"x":1}' "http://127.0.0.1:$GOOD/")
expect_eq "an unsigned POST gets 401" 401 "$code"
expect_eq "with a JSON error" "missing webhook-id header" "$(jf .errors < "$WORK/lb")"
expect_eq "and is printed unverified" "false {\"x\":1}" "$(tail -1 "$WORK/good.out" | jq -c '[.verified, .body]|"\(.[0]) \(.[1])"' -r)"
expect_eq "a GET gets 405" 405 "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$GOOD/")"

# --- protobuf bodies are decoded
P=$("$CLI" webhooks add --url "http://127.0.0.1:$GOOD/pb" --format protobuf --event-types 'room.*' --secret "$S1" | jf .id)
"$CLI" room create --room-id pbroom >/dev/null
wait_lines "$WORK/good.out" 'roomCreated' && ok "a protobuf delivery came" || fail "no protobuf delivery"
pb=$(grep roomCreated "$WORK/good.out" | head -1)
expect_eq "verified, protobuf, decoded" "true application/x-protobuf roomCreated pbroom" \
  "$(echo "$pb" | jf '[.verified, .content_type, .body.name, .body.data.roomId]|join(" ")')"

# --- bad input: the server's 400, usage errors, 404s
out=$("$CLI" webhooks add --url "http://127.0.0.1:$GOOD/x" --format xml 2>&1); rc=$?
expect_eq "an unknown format: exit 1" 1 "$rc"
expect_match "with the server's 400 message" 'format must be "json", "protobuf" or "jellyfish-json" \(HTTP 400\)' "$out"
out=$("$CLI" webhooks add --url 'ftp://x' 2>&1); rc=$?
expect_match "a bad URL: exit 1 and the reason" '^1 .*url must be an http:// or https:// URL \(HTTP 400\)' "$rc $out"
out=$("$CLI" webhooks add --url "http://127.0.0.1:$GOOD/x" --secret nope 2>&1)
expect_match "a bad secret" 'secret must be' "$out"
out=$("$CLI" webhooks add --format json 2>&1); rc=$?
expect_match "add without --url: usage, exit 2" '^2 .*needs --url' "$rc $out"
out=$("$CLI" webhooks replay "$A" 2>&1); rc=$?
expect_match "replay without a starting point: exit 2" '^2 .*--since-id N or --since TIME' "$rc $out"
out=$("$CLI" webhooks replay "$A" --since yesterday 2>&1); rc=$?
expect_match "replay with a bad time: the server's 400" '^1 .*since.*\(HTTP 400\)' "$rc $out"
out=$("$CLI" webhooks frobnicate 2>&1); rc=$?
expect_match "an unknown subcommand: exit 2" '^2 .*unknown webhooks command' "$rc $out"
out=$("$CLI" webhooks get "$A" --url x 2>&1); rc=$?
expect_match "an option the subcommand does not take: exit 2" "^2 .*does not take --url" "$rc $out"
out=$("$CLI" webhooks retry "$A" 999999 2>&1); rc=$?
expect_match "retry of a missing delivery: 404" '^1 .*Delivery 999999 does not exist' "$rc $out"
out=$("$CLI" webhook-listen --port 0 2>&1); rc=$?
expect_match "webhook-listen without a secret: exit 2" '^2 .*needs --secret' "$rc $out"
out=$("$CLI" --token wrong webhooks list 2>&1); rc=$?
expect_match "a wrong server token: exit 1" '^1 .*Invalid token' "$rc $out"

# --- update, delete
expect_eq "webhooks update" "a new description" \
  "$("$CLI" webhooks update "$A" --description 'a new description' | jf .description)"
expect_match "rotating shows the new secret" '^whsec_' "$("$CLI" webhooks update "$A" --rotate-secret | jf .secret)"
# --- the endpoint's own retry schedules and breaker threshold (issue 18 items 4 and 3)
R=$("$CLI" webhooks add --url "http://127.0.0.1:$GOOD/r" --retry-schedule '1, 2.5' \
  --retry-schedules '{"pay.*":[1,5,30],"*":"60"}' --breaker-threshold 4 | jq -c '[.id, .retry_schedule, .retry_schedules, .breaker_threshold]')
expect_match "webhooks add --retry-schedule/--retry-schedules/--breaker-threshold" \
  '^\["ep_[A-Za-z0-9]+",\[1,2.5\],\{"pay.\*":\[1,5,30\],"\*":\[60\]\},4\]$' "$R"
R=$(echo "$R" | jq -r '.[0]')
expect_eq "webhooks update --retry-schedule default (the server's again), --breaker-threshold 0" 'null {"pay.*":[1,5,30],"*":[60]} 0' \
  "$("$CLI" webhooks update "$R" --retry-schedule default --breaker-threshold 0 | jq -c '.retry_schedule, .retry_schedules, .breaker_threshold' | tr '\n' ' ' | sed 's/ $//')"
expect_eq "webhooks update --retry-schedules default" 'null null' \
  "$("$CLI" webhooks update "$R" --retry-schedules default --breaker-threshold default | jq -c '.retry_schedules, .breaker_threshold' | tr '\n' ' ' | sed 's/ $//')"
out=$("$CLI" webhooks update "$R" --retry-schedule '5,-1' 2>&1); rc=$?
expect_match "a bad schedule: exit 1, the server's 400 naming the field" '^1 .*retry_schedule must be.*\(HTTP 400\)' "$rc $out"
out=$("$CLI" webhooks add --url "http://127.0.0.1:$GOOD/r" --retry-schedules '{"pay.*":[99999]}' 2>&1); rc=$?
expect_match "a bad per-type schedule: exit 1, named" '^1 .*retry_schedules\["pay.\*"\]\[0\].*\(HTTP 400\)' "$rc $out"
out=$("$CLI" webhooks add --url "http://127.0.0.1:$GOOD/r" --retry-schedules 'nope' 2>&1); rc=$?
expect_match "--retry-schedules not JSON: usage, exit 2" '^2 .*--retry-schedules needs a JSON object' "$rc $out"
out=$("$CLI" webhooks add --url "http://127.0.0.1:$GOOD/r" --breaker-threshold lots 2>&1); rc=$?
expect_match "--breaker-threshold not a number: usage, exit 2" '^2 .*--breaker-threshold needs a number' "$rc $out"
"$CLI" webhooks delete "$R" || fail "delete $R"
for id in "$A" "$B" "$P" "$M"; do "$CLI" webhooks delete "$id" || fail "delete $id"; done
out=$("$CLI" webhooks get "$A" 2>&1); rc=$?
expect_match "a deleted endpoint is gone: exit 1, 404 message" "^1 .*Webhook $A does not exist \\(HTTP 404\\)" "$rc $out"

# --- webhook-listen stops cleanly on SIGTERM
for entry in "${LISTENERS[@]}"; do
  pid=${entry%%:*}; name=${entry#*:}
  kill -TERM "$pid"; wait "$pid"; expect_eq "webhook-listen ($name) exits 0 on SIGTERM" 0 $?
  if grep -qE "AddressSanitizer|runtime error:|LeakSanitizer" "$WORK/$name.err"; then
    fail "sanitizer report from webhook-listen ($name)"; head -40 "$WORK/$name.err"
  fi
done
herald_stop
finish
