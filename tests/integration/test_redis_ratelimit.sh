#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_redis_ratelimit.sh — an endpoint's rate_limit holds for the endpoint
# as a whole across two herald nodes sharing one Redis (issue 18 item 2).
# Each node delivers the rows of the events it committed, so half the
# events are published on each node; one receiver sees both nodes'
# requests. With 5/s and a burst of 5, 40 events must take at least
# (40-5)/5 = 7 s by the receiver's own clock (asserted >= 6.3 s; load only
# slows herald down, so this lower bound cannot flake). A bucket kept per
# node would let the two nodes send 10/s together (about 3 s).
. "$(dirname "$0")/lib.sh"

redis_setup
redis_start
FLAGS=(--engine redis --redis-url "redis://127.0.0.1:$RPORT/0" --redis-prefix "rl:" --webhook-max-in-flight 1)
declare -A URLS
for n in A B; do
  DATA_DIR=$WORK/data.$n herald_start "${FLAGS[@]}"
  URLS[$n]=$URL
done

OUT=$WORK/recv.out
echo ok >"$WORK/mode"
python3 "$(dirname "$0")/webhook_switch.py" "$WORK/mode" >"$OUT" 2>"$WORK/recv.err" &
PIDS+=($!)
wait_for "$WORK/recv.err" '^listening on ' || fail "receiver did not start"
HOOK=$(sed -n 's|^listening on \(.*\)$|\1|p' "$WORK/recv.err")

r=$(curl -s -X POST "${URLS[A]}/v1/webhooks" "${auth[@]}" \
  -d "{\"url\":\"$HOOK/rl\",\"event_types\":[\"rl.*\"],\"rate_limit\":{\"per_second\":5,\"burst\":5}}")
EP=$(echo "$r" | jq -r .id)
expect_match "endpoint added on A" '^ep_' "$EP"
on_b() { [ "$(curl -s "${auth[@]}" "${URLS[B]}/v1/webhooks/$EP" | jq -c .rate_limit)" = '{"per_second":5,"burst":5}' ]; }
eventually on_b || fail "node B does not see the endpoint's rate_limit"
ok "node B sees the endpoint and its rate_limit"

publish() { # node n
  local batch
  batch=$(python3 -c "import json; print(json.dumps([{'type':'rl.e','data':{'i':i}} for i in range($2)]))")
  expect_match "$2 events on $1" '^201' "$(curl -s -w '%{http_code}' -o /dev/null -X POST "${URLS[$1]}/v1/events" "${auth[@]}" -d "$batch")"
}
publish A 20
publish B 20
count_ok() { jq -r 'select(.status == 204) | .webhook_id' "$OUT" | sort -u | wc -l; }
all_in() { [ "$(count_ok)" -ge 40 ]; }
eventually all_in || fail "only $(count_ok) of 40 delivered"
s=$(jq -s '[.[] | select(.status == 204) | .t] | (max - min)' "$OUT")
expect_eq "40 deliveries from two nodes at 5/s, burst 5, took >= 6.3 s (bound 7 s): $s s" true "$(jq -n "$s >= 6.3")"
delivered() { curl -s "${URLS[$1]}/metrics" | sed -n 's/^herald_webhook_deliveries_total //p'; }
expect_eq "both nodes delivered (A $(delivered A), B $(delivered B))" true \
  "$([ "$(delivered A)" -ge 1 ] && [ "$(delivered B)" -ge 1 ] && echo true)"
expect_eq "one bucket key in Redis for the endpoint (or expired already)" true \
  "$(n=$("${R[@]}" --scan --pattern 'rl:rl:*' | wc -l); [ "$n" -le 1 ] && echo true)"
finish
