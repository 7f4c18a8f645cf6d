# SPDX-License-Identifier: MIT
# test_webhook_filters.sh — payload filters on webhook endpoints (issue 18
# item 5), driven through herald-cli (the C client library) and delivered
# to `herald-cli webhook-listen` (which verifies every request): only the
# events whose data match the filter are delivered, in order, and no
# delivery is even made for the others; the endpoint shows its filter;
# PATCH replaces and removes it; it survives a restart; replay honours it;
# a bad filter is a 400 naming what and where.
. "$(dirname "$0")/lib.sh"
herald_start --webhook-retry-schedule 0.3,0.3 --webhook-timeout 60
export HERALD_SERVER=$URL

jf() { jq -r "$1"; }
SECRET="whsec_$(head -c 32 /dev/urandom | base64 -w0)"
webhook_listen rx
LPORT=$LISTEN_PORT
# The n of every delivered event, in arrival order, each verified.
received() { jq -r 'select(.verified == true) | .body.data.n' "$WORK/rx.out" | tr '\n' ' '; }
wait_n() { eventually has_lines "$WORK/rx.out" "\"n\":$1[,}]" 1 || fail "event n=$1 never came: $(received)"; }
pub() { "$CLI" publish "$1" "$2" --room shop >/dev/null || fail "publish $2"; }

FILTER='{"data.amount":{"$gte":100},"$or":[{"data.kind":{"$prefix":"invoice."}},{"data.vip":{"$exists":true}}]}'
ep=$("$CLI" webhooks add --url "http://127.0.0.1:$LPORT/hook" --event-types 'pay.*' --secret "$SECRET" \
     --filter "$FILTER")
A=$(echo "$ep" | jf .id)
expect_match "webhooks add --filter creates the endpoint" '^ep_' "$A"
expect_eq "the view shows the filter as given" "$(echo "$FILTER" | jq -c .)" "$(echo "$ep" | jq -c .filter)"
expect_eq "webhooks get shows it too" "$(echo "$FILTER" | jq -c .)" "$("$CLI" webhooks get "$A" | jq -c .filter)"

# --- only the matching events are delivered, in order
pub pay.done '{"n":1,"amount":150,"kind":"invoice.paid"}'     # yes
pub pay.done '{"n":2,"amount":50,"kind":"invoice.paid"}'      # amount too small
pub pay.done '{"n":3,"amount":"500","kind":"invoice.paid"}'   # a string is not a number
pub pay.done '{"n":4,"amount":100,"vip":false}'               # yes: vip is there
pub pay.done '{"n":5,"amount":900,"kind":"refund"}'           # neither kind nor vip
pub other.done '{"n":6,"amount":900,"kind":"invoice.paid"}'   # not a pay.* type
pub pay.done '{"n":7,"amount":1e3,"kind":"invoice.x"}'        # yes
wait_n 7
settled() { [ "$("$CLI" webhooks get "$A" | jf .pending)" == 0 ]; }
eventually settled
expect_eq "only the matching events came, in order" "1 4 7 " "$(received)"
expect_eq "and no delivery was made for the others" 3 "$("$CLI" webhooks deliveries "$A" | wc -l)"

# --- replay honours the filter
rp=$("$CLI" webhooks replay "$A" --since-id 0)
expect_eq "a replay from the start takes the three matching events only" 3 "$(echo "$rp" | jf .replayed)"
eventually has_lines "$WORK/rx.out" '"n":7[,}]' 2 || fail "the replay did not come: $(received)"
expect_eq "they came again, in order" "1 4 7 1 4 7 " "$(received)"
eventually settled

# --- PATCH replaces it
up=$("$CLI" webhooks update "$A" --description refunds --filter '{"data.kind":"refund","room_id":"shop"}')
expect_eq "webhooks update --filter replaces it (with another field: one PATCH)" \
  '{"data.kind":"refund","room_id":"shop"} refunds' "$(echo "$up" | jq -j '.filter|tojson' ; echo " $(echo "$up" | jq -r .description)")"
pub pay.done '{"n":8,"amount":900,"kind":"invoice.paid"}'     # no more
pub pay.done '{"n":9,"kind":"refund"}'                        # yes now
wait_n 9
expect_eq "the new filter applies" "1 4 7 1 4 7 9 " "$(received)"
eventually settled

# --- a bad filter: 400 naming what and where; nothing changes
bad=$(http POST /v1/webhooks "${auth[@]}" -d "{\"url\":\"http://127.0.0.1:$LPORT/x\",\"filter\":{\"data.amount\":{\"\$gte\":\"100\"}}}")
expect_eq "a bad filter on create is a 400" '400 {"errors":"filter: $gte takes a number, at data.amount.$gte"}' "$bad"
bad=$(http PATCH "/v1/webhooks/$A" "${auth[@]}" -d '{"filter":{"$or":[{"amount":1}]}}')
expect_match "a bad path on update is a 400 that says where" '^400 \{"errors":"filter: unknown path \\"amount\\".*, at \$or\[0\]\.amount"\}$' "$bad"
out=$("$CLI" webhooks update "$A" --filter '{"data.a":{"$regex":"x"}}' 2>&1); rc=$?
expect_eq "herald-cli exits 1 on it" 1 "$rc"
expect_match "with the server's message" 'unknown operator \\?"\$regex' "$out"
deep=$(python3 -c 'print("{\"$or\":[" * 9 + "{\"data.a\":1}" + "]}" * 9)')
bad=$(http PATCH "/v1/webhooks/$A" "${auth[@]}" -d "{\"filter\":$deep}")
expect_match "past the depth bound: 400" '^400 \{"errors":"filter: \$and/\$or nested deeper than 8' "$bad"
expect_eq "the endpoint keeps its filter" '{"data.kind":"refund","room_id":"shop"}' "$("$CLI" webhooks get "$A" | jq -c .filter)"
expect_eq "the list shows no endpoint made by the bad create" 1 "$("$CLI" webhooks list | wc -l)"

# --- a restart keeps it
herald_stop
herald_start --webhook-retry-schedule 0.3,0.3 --webhook-timeout 60
export HERALD_SERVER=$URL
expect_eq "after a restart the endpoint still has its filter" '{"data.kind":"refund","room_id":"shop"}' \
  "$("$CLI" webhooks get "$A" | jq -c .filter)"
pub pay.done '{"n":10,"kind":"invoice.paid"}'                 # no
pub pay.done '{"n":11,"kind":"refund"}'                       # yes
wait_n 11
expect_eq "and applies it" "1 4 7 1 4 7 9 11 " "$(received)"
eventually settled

# --- null removes it (only --filter: herald_webhook_set_filter): everything of its types comes again
up=$("$CLI" webhooks update "$A" --filter null)
expect_eq "webhooks update --filter null removes it" null "$(echo "$up" | jq -c .filter)"
pub pay.done '{"n":12}'
wait_n 12
expect_eq "without a filter every pay.* event comes" "1 4 7 1 4 7 9 11 12 " "$(received)"
finish
