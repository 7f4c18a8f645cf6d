#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_webhook_ratelimit.sh — an endpoint's rate_limit and its receiver's
# back-pressure (issue 18 item 2), against real receivers
# (webhook_switch.py, which stamps each request with its arrival time).
#  1. rate_limit in bodies: 400s naming the field, a bare number gets its
#     default burst, PATCH changes it, a restart keeps it, null removes it;
#  2. 5/s with a burst of 5: 40 events take at least (40-5)/5 = 7 s by the
#     receiver's own clock (asserted >= 6.3 s: load only slows herald down,
#     so the bound cannot flake), herald_webhook_rate_limited_total counts;
#  3. a replay honours the limit too (10/s, burst 2: 30 again >= 2.8 s);
#  4. back-pressure: the receiver answers 429 with Retry-After, then 429
#     without, then 200. The endpoint has NO retries (retry_schedule []) and
#     breaker_threshold 1, so a 429 counted as a failure would fail the
#     delivery for good and open the breaker: instead every delivery
#     arrives, in order, the attempt log shows the 429s, the endpoint shows
#     throttled_until while paused, herald_webhook_throttled_total counts,
#     and the breaker stayed closed.
. "$(dirname "$0")/lib.sh"

FLAGS=(--webhook-max-in-flight 1)
DATA_DIR=$WORK/data herald_start "${FLAGS[@]}"

start_receiver() { # label [mode] -> sets HOOK, MODE, OUT
  MODE=$WORK/mode.$1 OUT=$WORK/recv.$1.out
  echo "${2:-ok}" >"$MODE"
  python3 "$(dirname "$0")/webhook_switch.py" "$MODE" >"$OUT" 2>"$WORK/recv.$1.err" &
  PIDS+=($!)
  wait_for "$WORK/recv.$1.err" '^listening on ' || fail "$1: receiver did not start"
  HOOK=$(sed -n 's|^listening on \(.*\)$|\1|p' "$WORK/recv.$1.err")
}
add_endpoint() { http POST /v1/webhooks "${auth[@]}" -d "$1" | sed 's/^201 //' | jq -r .id; }
publish_n() { # type n -> publishes n events of type in one batch
  local batch
  batch=$(python3 -c "import json; print(json.dumps([{'type':'$1','data':{'i':i}} for i in range($2)]))")
  expect_match "$2 $1 acknowledged" '^201 ' "$(http POST /v1/events "${auth[@]}" -d "$batch")"
}
ep_json() { curl -s "${auth[@]}" "$URL/v1/webhooks/$1"; }
count_ok() { jq -r 'select(.status == 204) | .webhook_id' "$1" | wc -l; }
has_ok() { [ "$(count_ok "$1")" -ge "$2" ]; }
span() { # file -> seconds between the first and the last 2xx arrival
  jq -s '[.[] | select(.status == 204) | .t] | (max - min)' "$1"
}

# --- 1. the field
start_receiver one
bad() { # name body field-regex
  local r
  r=$(http POST /v1/webhooks "${auth[@]}" -d "$2")
  expect_match "$1: 400 naming the field" "^400 .*$3" "$r"
}
bad "rate too low" "{\"url\":\"$HOOK/x\",\"rate_limit\":{\"per_second\":0.001}}" 'rate_limit.per_second must be'
bad "rate too high" "{\"url\":\"$HOOK/x\",\"rate_limit\":100001}" 'rate_limit must be'
bad "burst 0" "{\"url\":\"$HOOK/x\",\"rate_limit\":{\"per_second\":5,\"burst\":0}}" 'rate_limit.burst must be'
bad "burst too big" "{\"url\":\"$HOOK/x\",\"rate_limit\":{\"per_second\":5,\"burst\":10001}}" 'rate_limit.burst must be'
bad "burst not an integer" "{\"url\":\"$HOOK/x\",\"rate_limit\":{\"per_second\":5,\"burst\":2.5}}" 'rate_limit.burst must be'
bad "a string" "{\"url\":\"$HOOK/x\",\"rate_limit\":\"10/s\"}" 'rate_limit must be'
bad "no per_second" "{\"url\":\"$HOOK/x\",\"rate_limit\":{\"burst\":3}}" 'rate_limit.per_second must be'
bad "unknown field" "{\"url\":\"$HOOK/x\",\"rate_limit\":{\"per_second\":1,\"duration\":60}}" 'rate_limit has an unknown field'
EP1=$(add_endpoint "{\"url\":\"$HOOK/one\",\"event_types\":[\"one.*\"],\"rate_limit\":2.5}")
expect_match "endpoint with a bare rate added" '^ep_' "$EP1"
expect_eq "a bare number: per_second, burst one second's worth" '{"per_second":2.5,"burst":3}' "$(ep_json "$EP1" | jq -c .rate_limit)"
expect_eq "not throttled" null "$(ep_json "$EP1" | jq -c .throttled_until)"
r=$(http PATCH "/v1/webhooks/$EP1" "${auth[@]}" -d '{"rate_limit":{"per_second":-1}}')
expect_match "PATCH with a bad rate: 400" '^400 .*rate_limit' "$r"
expect_match "PATCH rate_limit" '^200 ' "$(http PATCH "/v1/webhooks/$EP1" "${auth[@]}" -d '{"rate_limit":{"per_second":7,"burst":20}}')"
herald_stop
DATA_DIR=$WORK/data herald_start "${FLAGS[@]}"
expect_eq "after a restart" '{"per_second":7,"burst":20}' "$(ep_json "$EP1" | jq -c .rate_limit)"
expect_match "PATCH null" '^200 ' "$(http PATCH "/v1/webhooks/$EP1" "${auth[@]}" -d '{"rate_limit":null}')"
expect_eq "null removes it" null "$(ep_json "$EP1" | jq -c .rate_limit)"
expect_eq "listed too" null "$(curl -s "${auth[@]}" "$URL/v1/webhooks" | jq -c --arg id "$EP1" '.webhooks[] | select(.id == $id) | .rate_limit')"
# herald-cli (the C client library's herald_webhook_create_ex and herald_webhook_set_rate_limit)
cli() { "$CLI" --server "$URL" --token "$TOKEN" "$@"; }
EPC=$(cli webhooks add --url "$HOOK/cli" --event-types cli.x --rate-limit 4:8 | jq -r .id)
expect_match "herald-cli webhooks add --rate-limit 4:8" '^ep_' "$EPC"
expect_eq "its rate_limit" '{"per_second":4,"burst":8}' "$(ep_json "$EPC" | jq -c .rate_limit)"
expect_eq "herald-cli webhooks update --rate-limit 0.5" '{"per_second":0.5,"burst":1}' \
  "$(cli webhooks update "$EPC" --rate-limit 0.5 | jq -c .rate_limit)"
expect_eq "herald-cli webhooks update --rate-limit none" null "$(cli webhooks update "$EPC" --rate-limit none | jq -c .rate_limit)"
cli webhooks update "$EPC" --rate-limit 5:x >/dev/null 2>&1
expect_eq "--rate-limit 5:x is a usage error" 2 "$?"
out=$(cli webhooks update "$EPC" --rate-limit 200000 2>&1)
expect_match "--rate-limit 200000: the server's 400 naming the field" 'rate_limit' "$out"

# --- 2. the limit holds: 5/s, burst 5, 40 events
start_receiver rate
RATE=$OUT
EP2=$(add_endpoint "{\"url\":\"$HOOK/rate\",\"event_types\":[\"rate.*\"],\"rate_limit\":{\"per_second\":5,\"burst\":5}}")
expect_match "rate-limited endpoint added" '^ep_' "$EP2"
publish_n rate.e 40
eventually has_ok "$RATE" 40 || fail "rate: only $(count_ok "$RATE") of 40 delivered"
s=$(span "$RATE")
expect_eq "40 deliveries at 5/s with a burst of 5 took >= 6.3 s (bound 7 s): $s s" true "$(jq -n "$s >= 6.3")"
expect_eq "each event delivered once" 40 "$(jq -r 'select(.status == 204) | .webhook_id' "$RATE" | sort -u | wc -l)"
limited=$(curl -s "$URL/metrics" | sed -n 's/^herald_webhook_rate_limited_total //p')
expect_eq "herald_webhook_rate_limited_total counts the waits ($limited)" true "$([ "${limited:-0}" -ge 30 ] && echo true)"

# --- 3. a replay honours it
expect_match "PATCH to 10/s, burst 2" '^200 ' "$(http PATCH "/v1/webhooks/$EP2" "${auth[@]}" -d '{"rate_limit":{"per_second":10,"burst":2}}')"
first=$(jq -r 'select(.status == 204) | .body.id' "$RATE" | sort -n | head -1)
: >"$RATE.before"; cp "$RATE" "$RATE.before"
n0=$(count_ok "$RATE")
expect_match "replay" '^202 ' "$(http POST "/v1/webhooks/$EP2/replay" "${auth[@]}" -d "{\"since_id\": $((first - 1))}")"
eventually has_ok "$RATE" $((n0 + 30)) || fail "replay: $(count_ok "$RATE") delivered (want $((n0 + 30)))"
tail -n +$((n0 + 1)) "$RATE" | jq -c 'select(.status == 204)' | head -30 >"$WORK/replay.out"
s=$(span "$WORK/replay.out")
expect_eq "30 replayed at 10/s, burst 2, took >= 2.5 s (bound 2.8 s): $s s" true "$(jq -n "$s >= 2.5")"

# --- 4. back-pressure: 429 with Retry-After, 429 without, then 200
start_receiver bp "429 1"
BP=$OUT BP_MODE=$MODE
EP3=$(add_endpoint "{\"url\":\"$HOOK/bp\",\"event_types\":[\"bp.*\"],\"retry_schedule\":[],\"breaker_threshold\":1}")
expect_match "back-pressure endpoint added" '^ep_' "$EP3"
IDS=""
for i in 0 1 2; do
  r=$(http POST /v1/events "${auth[@]}" -d "{\"type\":\"bp.e\",\"data\":{\"i\":$i}}")
  IDS+="msg_$(echo "${r#201 }" | jq -r '.id // .ids[0]')_$EP3 "
done
n429() { jq -r 'select(.status == 429) | .webhook_id' "$BP" | wc -l; }
at_least_429() { [ "$(n429)" -ge "$1" ]; }
eventually at_least_429 2 || fail "no second 429 (Retry-After: 1 s)"
expect_eq "while paused only the first delivery is tried" "${IDS%% *}" "$(jq -r .webhook_id "$BP" | sort -u | tr '\n' ' ' | sed 's/ $//')"
throttled() { [ "$(ep_json "$EP3" | jq -r .throttled_until)" != null ]; }
eventually throttled || fail "throttled_until never shown"
ok "throttled_until shown while paused: $(ep_json "$EP3" | jq -r .throttled_until)"
echo 429 >"$BP_MODE" # no Retry-After: the endpoint's own backoff (1 s, 2 s, ...)
n=$(n429)
eventually at_least_429 $((n + 2)) || fail "no 429s without Retry-After"
echo ok >"$BP_MODE"
eventually has_ok "$BP" 3 || fail "back-pressure: $(count_ok "$BP") of 3 delivered"
expect_eq "every delivery arrived once, in order" "$IDS" "$(jq -r 'select(.status == 204) | .webhook_id' "$BP" | tr '\n' ' ')"
expect_eq "none failed" 0 "$(curl -s "${auth[@]}" "$URL/v1/webhooks/$EP3/deliveries?limit=1000" | jq '[.deliveries[] | select(.state == "failed")] | length')"
expect_eq "the attempt log shows the 429s" true \
  "$(curl -s "${auth[@]}" "$URL/v1/webhooks/$EP3/deliveries?limit=1000" | jq "[.deliveries[] | select(.status_code == 429)] | length >= $((n + 2))")"
expect_eq "the breaker (threshold 1) never opened" closed "$(ep_json "$EP3" | jq -r .breaker.state)"
paused=$(curl -s "${auth[@]}" "$URL/v1/events?type=herald.endpoint_paused&limit=100" | jq --arg ep "$EP3" '[.events[] | select(.data.endpoint_id == $ep)] | length')
expect_eq "no herald.endpoint_paused" 0 "$paused"
throttled_total=$(curl -s "$URL/metrics" | sed -n 's/^herald_webhook_throttled_total //p')
expect_eq "herald_webhook_throttled_total counts them ($throttled_total)" true "$([ "${throttled_total:-0}" -ge $((n + 2)) ] && echo true)"
expect_eq "not throttled any more" null "$(ep_json "$EP3" | jq -c .throttled_until)"
herald_stop
finish
