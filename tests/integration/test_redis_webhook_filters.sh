#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_redis_webhook_filters.sh — a webhook endpoint's payload filter
# (issue 18 item 5) across two herald nodes on one real redis-server: the
# filter set on A reaches B with the endpoint, and the events published on
# B are matched against it there (the delivery rows are made by the node
# that commits the event), so only the matching ones reach the receiver;
# a filter replaced on B then holds for what A publishes; removed on A,
# B delivers everything again.
. "$(dirname "$0")/lib.sh"

redis_setup
redis_start
FLAGS=(--engine redis --redis-url "redis://127.0.0.1:$RPORT/0" --redis-prefix "wf:" --threads 1
       --node-timeout 20 --webhook-retry-schedule 0.3,0.3 --webhook-timeout 60)
nodes_start A B
filter_on() { on "$1" webhooks get "$EP" 2>/dev/null | jq -c .filter; }
has_filter() { [ "$(filter_on "$1")" == "$2" ]; }

SECRET="whsec_$(head -c 32 /dev/urandom | base64 -w0)"
webhook_listen rx
HPORT=$LISTEN_PORT
received() { jq -r 'select(.verified == true) | .body.data.n' "$WORK/rx.out" | tr '\n' ' '; }
wait_n() { eventually has_lines "$WORK/rx.out" "\"n\":$1[,}]" 1 || fail "n=$1 never came: $(received)"; }

F1='{"data.amount":{"$gt":10}}'
EP=$(on A webhooks add --url "http://127.0.0.1:$HPORT/hook" --event-types 'pay.*' --secret "$SECRET" \
     --filter "$F1" | jq -r .id)
eventually has_filter B "$F1" && ok "the filter set on A reached B with the endpoint" || fail "B: $(filter_on B)"
for i in 1 2 3 4; do on B publish pay.done "{\"n\":$i,\"amount\":$((i % 2 ? 50 : 5))}" >/dev/null; done
wait_n 3
on B publish pay.done '{"n":5,"amount":11}' >/dev/null
wait_n 5
expect_eq "B delivered only what A's filter matches, in order" "1 3 5 " "$(received)"

F2='{"data.kind":"refund"}'
on B webhooks update "$EP" --filter "$F2" >/dev/null
eventually has_filter A "$F2" && ok "the filter replaced on B reached A" || fail "A: $(filter_on A)"
on A publish pay.done '{"n":6,"amount":99}' >/dev/null
on A publish pay.done '{"n":7,"kind":"refund"}' >/dev/null
wait_n 7
expect_eq "A applies the new one" "1 3 5 7 " "$(received)"

on A webhooks update "$EP" --filter null >/dev/null
eventually has_filter B null && ok "its removal on A reached B" || fail "B: $(filter_on B)"
on B publish pay.done '{"n":8}' >/dev/null
wait_n 8
expect_eq "B delivers every pay.* event again" "1 3 5 7 8 " "$(received)"
finish
