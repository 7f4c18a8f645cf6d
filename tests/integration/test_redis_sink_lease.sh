#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_redis_sink_lease.sh — a sink runs on one node at a time: two herald
# nodes (--engine redis) on one real redis-server, both configured with the
# same "file" sink writing one file. Events published on either node are
# written once each, in id order, by the node holding the sink's lease
# (the other reports `standby`); events published on the standby node
# reach the sink without any commit on the holder. When the holder is
# killed with SIGKILL, the other node takes the sink over after
# --node-timeout and goes on from the stored position: every event is in
# the file, in id order, and the events written before the kill once
# (A is killed only once it has stored its position past them: delivery is
# at least once, so what A wrote after its stored position would be
# written again). The node timeout (the sink lease's length) is 10 s, so a
# holder slowed down by a busy machine does not lose its lease; waits are
# for conditions, with deadlines of 60 s or more.
. "$(dirname "$0")/lib.sh"

redis_setup
redis_start

OUT=$WORK/sink.jsonl
cat >"$WORK/herald.json" <<EOF
{"threads": 1,
 "sinks": [{"name": "audit", "module": "file", "batch": {"max_events": 5, "max_delay_ms": 10},
            "config": {"path": "$OUT"}}]}
EOF
FLAGS=(--engine redis --redis-url "redis://127.0.0.1:$RPORT/0" --redis-prefix "lease:"
       --node-timeout 10 --config "$WORK/herald.json")
stored_position() { "${R[@]}" hget lease:kv:sink audit; } # the sink's position in the store
sink_state() { # url
  "$CLI" --server "$1" sinks --json | jq -r '.sinks[] | select(.name == "audit") | .state'
}
ids_in_file() { [ -f "$OUT" ] && jq -r .id "$OUT" | tr '\n' ' '; }
ids_in_history() { curl -s "$URLS_A/v1/events?limit=1000" "${auth[@]}" | jq -r '.events[].id' | tr '\n' ' '; }

DATA_DIR=$WORK/data.A; herald_start "${FLAGS[@]}" --node-id node-A
URLS_A=$URL; PID_A=$HERALD_PID; LOG_A=$LOG
eventually eval '[ "$(sink_state "$URLS_A")" == running ]' && ok "node A runs the sink" ||
  fail "node A: sink is $(sink_state "$URLS_A")"
DATA_DIR=$WORK/data.B; herald_start "${FLAGS[@]}" --node-id node-B
URLS_B=$URL; PID_B=$HERALD_PID; LOG_B=$LOG
eventually eval '[ "$(sink_state "$URLS_B")" == standby ]' && ok "node B stands by" ||
  fail "node B: sink is $(sink_state "$URLS_B")"

for i in 1 2 3 4 5 6; do "$CLI" --server "$URLS_A" publish test.sink "{\"i\":$i}" >/dev/null; done
for i in 1 2 3 4 5 6 7; do "$CLI" --server "$URLS_B" publish test.sink "{\"i\":$i}" >/dev/null; done
# (A's history has B's 7 once A's log follower has read them)
eventually eval '[ "$(ids_in_history | wc -w)" == 13 ]' || true
want=$(ids_in_history)
expect_eq "13 events stored (in A's history)" 13 "$(echo "$want" | wc -w)"
eventually eval '[ "$(ids_in_file)" == "$want" ]' &&
  ok "the file has every event once, in id order (B's written by A without a commit on A)" ||
  fail "file ids [$(ids_in_file)] vs history [$want]"
expect_eq "B wrote nothing: still standby" standby "$(sink_state "$URLS_B")"
before=$(ids_in_file)
last=$(echo "$want" | awk '{print $NF}')
eventually eval '[ "$(stored_position)" == "$last" ]' && ok "A stored its position" ||
  fail "the stored position is [$(stored_position)], want $last"

# --- the holder dies; B takes the sink over from the stored position
kill -9 "$PID_A"
for i in 1 2 3 4; do "$CLI" --server "$URLS_B" publish test.sink.after "{\"i\":$i}" >/dev/null; done
WAIT_S=120 eventually eval '[ "$(sink_state "$URLS_B")" == running ]' && ok "B runs the sink after A died" ||
  fail "B: sink is $(sink_state "$URLS_B")"
expect_match "B logged the takeover" "sink audit: this node runs it now" "$(cat "$LOG_B")"
want=$(curl -s "$URLS_B/v1/events?limit=1000" "${auth[@]}" | jq -r '.events[].id' | tr '\n' ' ')
expect_eq "17 events stored" 17 "$(echo "$want" | wc -w)"
uniq_ids() { jq -r .id "$OUT" | sort -n | uniq | tr '\n' ' '; }
eventually eval '[ "$(uniq_ids)" == "$want" ]' && ok "every event is in the file" ||
  fail "file ids [$(ids_in_file)] vs history [$want]"
expect_eq "in id order" "$(jq -r .id "$OUT" | sort -n | tr '\n' ' ')" "$(ids_in_file)"
expect_eq "what A wrote is there once" "$before" "$(jq -r .id "$OUT" | head -13 | tr '\n' ' ')"

finish
