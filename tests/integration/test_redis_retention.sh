#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_redis_retention.sh — retention with several nodes on one Redis: two
# herald nodes (--engine redis, --retention-events 5) sharing a real
# redis-server. History on both nodes keeps the newest 5 events, pruned by
# one node only (the holder of the "retention" lease: its pruned-events
# counter moves, the other's stays 0); when that node is killed, the other
# takes the lease over (it expires after 3 s) and keeps pruning. Waits are
# for conditions (deadlines of 60 s): the pruned counters move just after
# history changes, so they are waited for too.
. "$(dirname "$0")/lib.sh"

redis_setup
redis_start

FLAGS=(--engine redis --redis-url "redis://127.0.0.1:$RPORT/0" --redis-prefix "ret:"
       --retention-events 5 --node-timeout 1.5)
DATA_DIR=$WORK/data.A; herald_start "${FLAGS[@]}" --node-id node-A; URL_A=$URL; PID_A=$HERALD_PID
DATA_DIR=$WORK/data.B; herald_start "${FLAGS[@]}" --node-id node-B; URL_B=$URL

publish() { # url n
  local body="[" i
  for i in $(seq 1 "$2"); do body+="{\"type\":\"r.ev\",\"data\":{\"i\":$i}},"; done
  curl -s -o /dev/null -w '%{http_code}' -X POST "$1/v1/events" "${auth[@]}" -d "${body%,}]"
}
ids() { curl -s "$1/v1/events?since=0" "${auth[@]}" | jq -r '.events[].id' | tr '\n' ' ' | sed 's/ $//'; }
pruned() { curl -s "$1/metrics" | sed -n 's/^herald_events_pruned_total //p'; }
wait_ids() { # url expected
  local end=$((SECONDS + 60))
  while [ $SECONDS -lt $end ]; do [ "$(ids "$1")" == "$2" ] && return 0; sleep 0.1; done
  return 1
}
pruned_total() { local a b; a=$(pruned "$URL_A"); b=$(pruned "$URL_B"); echo $((${a:-0} + ${b:-0})); }

expect_eq "12 events published on A" 201 "$(publish "$URL_A" 12)"
wait_ids "$URL_B" "8 9 10 11 12" && ok "history on B keeps the newest 5" || fail "B has [$(ids "$URL_B")]"
expect_eq "and on A" "8 9 10 11 12" "$(ids "$URL_A")"
end=$((SECONDS + 60))
while [ $SECONDS -lt $end ] && [ "$(pruned_total)" != 7 ]; do sleep 0.1; done
holder=$("${R[@]}" GET ret:lease:retention)
expect_match "one node holds the retention lease" '^node-[AB]$' "$holder"
if [ "$holder" == node-A ]; then URL_H=$URL_A URL_O=$URL_B; else URL_H=$URL_B URL_O=$URL_A; fi
expect_eq "the holder pruned the 7" 7 "$(pruned "$URL_H")"
expect_eq "the other pruned nothing" 0 "$(pruned "$URL_O")"

# --- the holder dies: the other node takes the lease and goes on pruning
if [ "$holder" == node-A ]; then kill -9 "$PID_A"; URL_S=$URL_B; else kill -9 "$HERALD_PID"; URL_S=$URL_A; fi
expect_eq "8 more events published on the survivor" 201 "$(publish "$URL_S" 8)"
wait_ids "$URL_S" "16 17 18 19 20" && ok "the survivor prunes after the holder died" ||
  fail "survivor has [$(ids "$URL_S")]"
expect_match "it holds the lease now" '^node-[AB]$' "$("${R[@]}" GET ret:lease:retention)"
[ "$("${R[@]}" GET ret:lease:retention)" != "$holder" ] && ok "a different node than before" ||
  fail "the lease is still the dead node's"

finish
