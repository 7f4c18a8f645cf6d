#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_webhook_horizon.sh — a delivery parked for a retry whose event has
# meanwhile fallen below the history horizon is still made, with its own
# body, and its row ends delivered (issue 13, defect 7). Pruning keeps the
# events pending rows owe, but history hides everything below its horizon:
# the engine must read a parked delivery's event by id, not through history.
#
# Forced deterministically: the receiver answers 503 with Retry-After: 3,
# which pauses the endpoint for 3 s (back-pressure, docs/webhooks.md), and
# with --webhook-park-after 1 the engine lets go of the event while it
# waits (more than 1 s; each answer while the receiver fails parks it
# again); then events the endpoint does not want are published past
# --retention-events 5, and the pruner (about once a second) moves the
# horizon past the owed event; then the receiver recovers. Both engines.
. "$(dirname "$0")/lib.sh"

redis_setup
redis_start

hist_first() { curl -s "${auth[@]}" "$URL/v1/events?since=0" | jq -r '.events[0].id // 0' 2>/dev/null || echo 0; }
first_above() { [ "$(hist_first)" -gt "$1" ]; }
failed_once() { jq -e --arg w "$1" 'select(.webhook_id == $w and .status == 503)' "$2" >/dev/null 2>&1; }
delivered() { jq -e --arg w "$1" 'select(.webhook_id == $w and .status == 204)' "$2" >/dev/null 2>&1; }

check_horizon() { # label, then herald flags
  local label=$1; shift
  DATA_DIR=$WORK/data.$label herald_start --retention-events 5 --webhook-park-after 1 "$@"
  local mode=$WORK/mode.$label out=$WORK/recv.$label
  echo "fail 3" >"$mode"
  python3 "$(dirname "$0")/webhook_switch.py" "$mode" >"$out.out" 2>"$out.err" &
  PIDS+=($!)
  wait_for "$out.err" '^listening on ' || fail "$label: receiver did not start"
  local hook
  hook=$(sed -n 's|^listening on \(.*\)$|\1|p' "$out.err")
  local ep
  ep=$(http POST /v1/webhooks "${auth[@]}" -d "{\"url\":\"$hook/h\",\"event_types\":[\"owed.*\"]}" | sed 's/^201 //' | jq -r .id)
  expect_match "$label: endpoint added" '^ep_' "$ep"

  local body ev
  body=$(http POST /v1/events "${auth[@]}" -d '[{"type":"owed.one","data":{"n":7}}]')
  expect_match "$label: owed event acknowledged" '^201 ' "$body"
  ev=$(echo "${body#201 }" | jq -r '.ids[0]')
  expect_match "$label: its id" '^[0-9]+$' "$ev"
  local wid="msg_${ev}_$ep"
  eventually failed_once "$wid" "$out.out" || fail "$label: the first attempt was not made"

  # events the endpoint does not want, past the retention: the horizon moves
  local batch
  batch=$(python3 -c 'import json; print(json.dumps([{"type":"other.x","data":{"i":i}} for i in range(20)]))')
  expect_match "$label: other events acknowledged" '^201 ' "$(http POST /v1/events "${auth[@]}" -d "$batch")"
  eventually first_above "$ev" || fail "$label: the horizon did not pass event $ev"
  ok "$label: history starts above the owed event now ($(hist_first) > $ev)"

  echo ok >"$mode"
  eventually delivered "$wid" "$out.out" || fail "$label: the parked delivery was not made"
  expect_eq "$label: its body is its event's" "$ev owed.one 7" \
    "$(jq -r --arg w "$wid" 'select(.webhook_id == $w and .status == 204) | "\(.body.id) \(.body.type) \(.body.data.n)"' "$out.out" | head -1)"
  local state=""
  row_delivered() {
    state=$(curl -s "${auth[@]}" "$URL/v1/webhooks/$ep/deliveries?limit=1" | jq -r '.deliveries[0].state // .[0].state // empty')
    [ "$state" = delivered ]
  }
  eventually row_delivered
  expect_eq "$label: the row ends delivered" delivered "$state"
  expect_eq "$label: nothing pending" 0 "$(curl -s "${auth[@]}" "$URL/v1/webhooks/$ep" | jq -r .pending)"
  if grep -q "no longer stored" "$LOG"; then fail "$label: a delivery failed for want of its event"; fi
  herald_stop
}

check_horizon sqlite
check_horizon redis --engine redis --redis-url "redis://127.0.0.1:$RPORT/0" --redis-prefix "horizon:"

finish
