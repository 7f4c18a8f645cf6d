#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The "mqtt" sink module against a real mosquitto broker (started here on a
# free loopback port, its sessions saved every second) and a mosquitto_sub
# subscriber with a persistent QoS 1 session: every event arrives on its
# templated topic with the native envelope; configs the module refuses show
# the sink failed while herald keeps serving; the broker killed (-9) and
# restarted mid-stream, after which every event id has arrived at least
# once; herald stopped mid-stream resumes. "Mid-stream" is forced: the
# broker is stopped (SIGSTOP: no PUBACK) until the sink has a batch under
# way, then it is killed or herald is stopped. Waits are for conditions,
# with deadlines of 60 s or more.
. "$(dirname "$0")/lib.sh"

command -v mosquitto >/dev/null || { echo "mosquitto not installed (scripts/deps.sh)"; exit 1; }
MPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
MDIR=$WORK/mosquitto
mkdir -p "$MDIR"
cat > "$MDIR/mosquitto.conf" <<EOF
listener $MPORT 127.0.0.1
allow_anonymous true
user $(id -un)
persistence true
persistence_location $MDIR/
autosave_interval 1
max_queued_messages 100000
EOF

broker_start() {
  mosquitto -c "$MDIR/mosquitto.conf" >>"$WORK/mosquitto.log" 2>&1 &
  BROKER_PID=$!
  PIDS+=("$BROKER_PID")
  local end=$((SECONDS + 60))
  while [ $SECONDS -lt $end ]; do
    mosquitto_pub -p "$MPORT" -t probe -n 2>/dev/null && return 0
    sleep 0.05
  done
  cat "$WORK/mosquitto.log"; echo "mosquitto did not start"; exit 1
}
sink_field() { # sink field
  curl -s "${auth[@]}" "$URL/v1/sinks" |
    python3 -c "import json,sys; print(next(s for s in json.load(sys.stdin)['sinks'] if s['name']=='$1')['$2'])"
}
field_is() { [ "$(sink_field "$1" "$2")" == "$3" ]; } # sink field value
under_way() { [ "$(sink_field mq attempt)" -ge 1 ]; } # the sink has a batch in flight
hold_acks() { # count type: the broker stopped, then events published until the sink waits on them
  kill -STOP "$BROKER_PID"
  publish "$@"
  eventually under_way || fail "the sink has no batch under way"
}
mid_stream() { # how: some acknowledged event has not reached the subscriber
  [ -n "$(comm -23 <(sort -u "$WORK/ids") <(received_ids))" ] && ok "$1 mid-stream" ||
    fail "$1: every event had arrived already"
}
publish() { # count type : ids appended to $WORK/ids
  for i in $(seq 1 "$1"); do
    if [ $((i % 4)) -eq 0 ]; then echo "{\"type\":\"$2\",\"data\":{\"n\":$i}}"
    else echo "{\"type\":\"$2\",\"room_id\":\"r$((i % 4))\",\"data\":{\"n\":$i}}"; fi
  done | "$CLI" --server "$URL" publish >> "$WORK/ids"
}
received_ids() { # the envelope ids the subscriber printed, sorted, unique
  sed -n 's/^herald\/[^ ]* {"id":"\([0-9]*\)".*/\1/p' "$WORK/sub.txt" | sort -u
}
all_received() { [ -z "$(comm -23 <(sort -u "$WORK/ids") <(received_ids))" ]; }
history_ids() { curl -s "${auth[@]}" "$URL/v1/events?limit=10000" |
  python3 -c 'import json,sys; print("\n".join(e["id"] for e in json.load(sys.stdin)["events"]))'; }

broker_start
# A persistent session (-c -i), QoS 1: messages published while it
# reconnects are queued for it.
mosquitto_sub -p "$MPORT" -q 1 -c -i herald-test-sub -v -t 'herald/#' -t ready > "$WORK/sub.txt" 2>/dev/null &
PIDS+=($!)
# Subscribed once a probe on its other topic comes through.
eventually sh -c "mosquitto_pub -p $MPORT -t ready -m probe; grep -q '^ready probe' '$WORK/sub.txt'" ||
  fail "the subscriber did not subscribe"
cat > "$WORK/herald.json" <<EOF
{"threads": 1,
 "sinks": [
  {"name": "mq", "module": "mqtt", "batch": {"max_events": 20, "max_delay_ms": 10},
   "retry": {"initial_ms": 50, "max_ms": 300},
   "config": {"host": "127.0.0.1", "port": $MPORT, "qos": 1, "topic": "herald/{type}/{room_id}",
              "connect_timeout_ms": 500, "keepalive": 10}},
  {"name": "wild", "module": "mqtt", "config": {"port": $MPORT, "topic": "herald/#"}},
  {"name": "qos3", "module": "mqtt", "config": {"port": $MPORT, "qos": 3}},
  {"name": "tls", "module": "mqtt", "config": {"port": $MPORT, "tls": {}}}
 ]}
EOF
herald_start --config "$WORK/herald.json"
sinks_settled

# --- refused configs
expect_eq "a wildcard topic is refused" "failed" "$(sink_field wild state)"
expect_match "with a clear reason" '"topic" "herald/#" is not a topic one can publish to' "$(sink_field wild last_error)"
expect_match "qos 3 is refused" '"qos" must be a whole number from 0 to 2' "$(sink_field qos3 last_error)"
expect_match "tls is refused as not supported" 'unknown setting "tls" \(TLS is not supported yet\)' "$(sink_field tls last_error)"
expect_eq "herald keeps serving" "200" "$(http GET /health | cut -d' ' -f1)"
expect_eq "the good sink runs" "running" "$(sink_field mq state)"

# --- events arrive on their topics, as the native envelope
echo '{"type":"peer.connected","room_id":"a/b+c","user_id":"u1","data":{"peer_id":"p1"}}' |
  "$CLI" --server "$URL" publish > "$WORK/ids"
publish 19 chat.message
eventually all_received || fail "the subscriber did not get the first 20 events"
expect_eq "20 messages received" 20 "$(grep -c '^herald/' "$WORK/sub.txt")"
first=$(head -1 "$WORK/ids")
expect_match "topic from the template, / and + in a value made _" \
  "^herald/peer.connected/a_b_c \\{\"id\":\"$first\",\"type\":\"peer.connected\",\"timestamp\":\"[^\"]+\",\"room_id\":\"a/b\\+c\",\"user_id\":\"u1\",\"data\":\\{\"peer_id\":\"p1\"\\}\\}$" \
  "$(grep '^herald/peer.connected/' "$WORK/sub.txt")"
expect_eq "an event without a room has - in its topic" 4 "$(grep -c '^herald/chat.message/- ' "$WORK/sub.txt")"
expect_eq "the others their room" 5 "$(grep -c '^herald/chat.message/r1 ' "$WORK/sub.txt")"
eventually field_is mq lag 0
expect_eq "the sink has no lag" 0 "$(sink_field mq lag)"

# --- the broker killed -9 mid-stream, then back: every event arrives
# The broker saves its persistence file (the subscriber's session) on SIGUSR1.
saved=$(stat -c %y "$MDIR/mosquitto.db" 2>/dev/null)
kill -USR1 "$BROKER_PID"
eventually sh -c "[ -f '$MDIR/mosquitto.db' ] && [ \"\$(stat -c %y '$MDIR/mosquitto.db')\" != '$saved' ]" ||
  fail "the broker did not save its session"
hold_acks 100 load.before
kill -9 "$BROKER_PID"; wait "$BROKER_PID" 2>/dev/null
mid_stream "the broker was killed"
publish 50 load.during
eventually field_is mq state retrying || fail "the sink did not report retrying"
expect_match "failures are counted" '^[1-9][0-9]*$' "$(sink_field mq failures)"
# the lost batch's error first, then each retry's (every 50-300 ms while
# the broker is down) names the broker it cannot reach
expect_match "last_error says the broker is gone" \
  "^(connection to the broker lost|not connected to the MQTT broker at 127.0.0.1:$MPORT)" "$(sink_field mq last_error)"
names_broker() { [[ "$(sink_field mq last_error)" == "not connected to the MQTT broker at 127.0.0.1:$MPORT"* ]]; }
eventually names_broker && ok "its retries name the broker's address" ||
  fail "the retries' last_error: $(sink_field mq last_error)"
broker_start
publish 50 load.after
WAIT_S=120 eventually all_received || {
  fail "missing after the broker restart: $(comm -23 <(sort -u "$WORK/ids") <(received_ids) | head -c 300)"
  echo "# mq: $(sink_field mq state): $(sink_field mq last_error)"; grep -E 'sink mq|mqtt' "$LOG" | tail -20
  tail -20 "$WORK/mosquitto.log"
}
expect_eq "every acknowledged event arrived at least once" "" "$(comm -23 <(sort -u "$WORK/ids") <(received_ids))"
eventually field_is mq state running
expect_eq "the sink runs again" "running" "$(sink_field mq state)"

# --- herald stopped mid-stream (SIGTERM, then kill -9) resumes
# (a SIGTERM waits for the held batch's publish timeout, 10 s)
hold_acks 100 load.sigterm
herald_stop
mid_stream "herald was stopped (SIGTERM)"
kill -CONT "$BROKER_PID"
herald_start --config "$WORK/herald.json"
hold_acks 50 load.kill
kill -9 "$HERALD_PID"; wait "$HERALD_PID" 2>/dev/null
mid_stream "herald was killed (SIGKILL)"
kill -CONT "$BROKER_PID"
herald_start --config "$WORK/herald.json"
publish 10 load.end
history_ids > "$WORK/ids"
WAIT_S=120 eventually all_received || fail "missing after herald restarts: $(comm -23 <(sort -u "$WORK/ids") <(received_ids) | head -c 300)"
expect_eq "after herald's SIGTERM and kill -9: every stored event arrived" "" \
  "$(comm -23 <(sort -u "$WORK/ids") <(received_ids))"
herald_stop
finish
