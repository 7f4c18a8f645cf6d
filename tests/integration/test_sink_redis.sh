#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The "redis" sink module against a real redis-server (started here on a
# free loopback port, append-only file fsynced on every write, so what it
# acknowledged survives its kill -9): stream entries (ids, types, fields),
# PUBLISH on templated channels to a psubscribe listener, a config the
# module refuses, then redis killed and restarted mid-stream and herald
# stopped (SIGTERM and kill -9) mid-stream, after which the stream must hold
# every event exactly once; last, a new sink replaying the whole log into
# the same stream adds nothing (idempotent entry ids). "Mid-stream" is
# forced: Redis holds the sink's writes (CLIENT PAUSE WRITE) until the
# sink has a batch under way, and then it is killed or herald is stopped.
# Waits are for conditions, with deadlines of 60 s or more.
. "$(dirname "$0")/lib.sh"

redis_setup

sink_field() { # sink field
  curl -s "${auth[@]}" "$URL/v1/sinks" |
    python3 -c "import json,sys; print(next(s for s in json.load(sys.stdin)['sinks'] if s['name']=='$1')['$2'])"
}
field_is() { [ "$(sink_field "$1" "$2")" == "$3" ]; } # sink field value
mid_stream() { # how: the stream lacks acknowledged events
  local n want; n=$(xlen); want=$(sort -u "$WORK/ids" | wc -l)
  [ "$n" -lt "$want" ] && ok "$1: herald was stopped mid-stream ($n of $want events in the stream)" ||
    fail "$1: the stream was complete ($n of $want) when herald stopped"
}
under_way() { [ "$(sink_field rs attempt)" -ge 1 ]; } # the sink has a batch in flight
hold_writes() { # Redis takes no write until released; then waits for a batch to be held
  "${R[@]}" client pause 600000 write >/dev/null
  publish "$@"
  eventually under_way || fail "the sink has no batch under way"
}
xlen() { "${R[@]}" xlen herald:events; }
xlen_is() { [ "$(xlen)" == "$1" ]; }
stream_ids() { "${R[@]}" xrange herald:events - + | sed -n 's/^\([0-9]*\)-0$/\1/p'; }
history_ids() { curl -s "${auth[@]}" "$URL/v1/events?limit=10000" |
  python3 -c 'import json,sys; print("\n".join(e["id"] for e in json.load(sys.stdin)["events"]))'; }
entry() { # id : the entry's fields, name=value …
  "${R[@]}" --csv xrange herald:events "$1" "$1" | python3 -c '
import csv,json,sys
row = next(csv.reader(sys.stdin, escapechar="\\"))
print(" ".join(k + "=" + v for k, v in zip(row[1::2], row[2::2])))'; }
publish() { # count type : publishes count events, ids appended to $WORK/ids
  for i in $(seq 1 "$1"); do
    if [ $((i % 3)) -eq 0 ]; then echo "{\"type\":\"$2\",\"data\":{\"n\":$i}}"
    else echo "{\"type\":\"$2\",\"room_id\":\"r$((i % 3))\",\"data\":{\"n\":$i}}"; fi
  done | "$CLI" --server "$URL" publish >> "$WORK/ids"
}

redis_start
cat > "$WORK/herald.json" <<EOF
{"threads": 1,
 "sinks": [
  {"name": "rs", "module": "redis", "batch": {"max_events": 20, "max_delay_ms": 10},
   "retry": {"initial_ms": 50, "max_ms": 300},
   "config": {"url": "redis://127.0.0.1:$RPORT/0", "stream": "herald:events",
              "publish": "herald:{type}:{room_id}", "command_timeout_ms": 10000}},
  {"name": "nothing", "module": "redis", "config": {"url": "redis://127.0.0.1:$RPORT"}},
  {"name": "typo", "module": "redis", "config": {"stream": "s", "publish": "x:{room}"}}
 ]}
EOF
"${R[@]}" --csv psubscribe 'herald:*' > "$WORK/sub.csv" 2>/dev/null &
PIDS+=($!)
eventually grep -q psubscribe "$WORK/sub.csv" || fail "the psubscribe listener did not start"

herald_start --config "$WORK/herald.json"
sinks_settled

# --- refused configs: failed with a clear reason, herald keeps serving
expect_eq "a redis sink with neither stream nor publish is failed" "failed" "$(sink_field nothing state)"
expect_match "and says what to set" 'set "stream".*"publish"' "$(sink_field nothing last_error)"
expect_match "an unknown placeholder is refused" 'unknown placeholder at "\{room\}' "$(sink_field typo last_error)"
expect_eq "herald keeps serving" "200" "$(http GET /health | cut -d' ' -f1)"
expect_eq "the good sink runs" "running" "$(sink_field rs state)"

# --- events reach the stream with their fields, and the channels
echo '{"type":"peer.connected","room_id":"room-1","user_id":"u7","data":{"peer_id":"p1","n":1}}' |
  "$CLI" --server "$URL" publish > "$WORK/ids"
publish 29 chat.message
eventually xlen_is 30 || fail "the stream did not reach 30 entries"
expect_eq "30 stream entries" 30 "$(xlen)"
expect_eq "entry ids are the herald ids" "$(cat "$WORK/ids" | tr '\n' ' ')" "$(stream_ids | tr '\n' ' ')"
first=$(head -1 "$WORK/ids")
expect_eq "an entry's fields" "id=$first type=peer.connected room_id=room-1 user_id=u7 time=T "'data={"peer_id":"p1","n":1}' \
  "$(entry "$first" | sed 's/time=[0-9]\{13\} /time=T /')"
messages_are() { [ "$(grep -c pmessage "$WORK/sub.csv")" -ge "$1" ]; }
eventually messages_are 30
expect_eq "every event was published once" 30 "$(grep -c pmessage "$WORK/sub.csv")"
expect_eq "on its templated channel" 1 "$(grep -c '"herald:peer.connected:room-1"' "$WORK/sub.csv")"
expect_eq "an event without a room has - in its channel" 9 "$(grep -c '"herald:chat.message:-"' "$WORK/sub.csv")"
msg=$(grep '"herald:peer.connected:room-1"' "$WORK/sub.csv" | python3 -c '
import csv,json,sys
e = json.loads(next(csv.reader(sys.stdin, escapechar="\\"))[3])
print(e["id"], e["type"], e["room_id"], e["data"]["peer_id"])')
expect_eq "the message is the native envelope" "$first peer.connected room-1 p1" "$msg"

# --- redis killed -9 mid-stream, then back: nothing lost, nothing twice
hold_writes 100 load.before
kill -9 "$REDIS_PID"; wait "$REDIS_PID" 2>/dev/null
publish 100 load.during
eventually field_is rs state retrying || fail "the sink did not report retrying"
expect_match "failures are counted" '^[1-9][0-9]*$' "$(sink_field rs failures)"
expect_match "last_error names redis" "redis at 127.0.0.1:$RPORT|cannot connect to redis" "$(sink_field rs last_error)"
expect_match "lag grows while redis is down" '^[1-9][0-9]*$' "$(sink_field rs lag)"
redis_start
publish 50 load.after
WAIT_S=120 eventually xlen_is 280 || fail "the stream did not reach 280 entries after redis came back: $(xlen)"
expect_eq "every event in the stream exactly once, in order" "$(sort -n "$WORK/ids" | tr '\n' ' ')" "$(stream_ids | tr '\n' ' ')"
eventually field_is rs state running
expect_eq "the sink runs again" "running" "$(sink_field rs state)"
expect_eq "no lag" 0 "$(sink_field rs lag)"

# --- herald stopped mid-stream (SIGTERM, then kill -9) resumes without duplicates
# (a SIGTERM waits for the held batch's command timeout, 10 s)
hold_writes 200 load.sigterm
herald_stop
mid_stream SIGTERM
"${R[@]}" client unpause >/dev/null
herald_start --config "$WORK/herald.json"
hold_writes 100 load.kill
kill -9 "$HERALD_PID"; wait "$HERALD_PID" 2>/dev/null
mid_stream SIGKILL
"${R[@]}" client unpause >/dev/null
herald_start --config "$WORK/herald.json"
publish 20 load.end
total=$(history_ids | wc -l)
WAIT_S=120 eventually xlen_is "$total" || fail "the stream did not reach $total entries after the restarts: $(xlen)"
expect_eq "after SIGTERM and kill -9 of herald: every stored event exactly once" \
  "$(history_ids | tr '\n' ' ')" "$(stream_ids | tr '\n' ' ')"
missing=$(comm -23 <(sort "$WORK/ids") <(stream_ids | sort))
expect_eq "every acknowledged event is in the stream" "" "$missing"
herald_stop

# --- a second sink replaying the whole log into the same stream adds nothing
sed -i 's/"name": "rs"/"name": "replay", "start": "beginning"/' "$WORK/herald.json"
herald_start --config "$WORK/herald.json"
WAIT_S=120 eventually field_is replay lag 0 || fail "the replaying sink did not catch up"
expect_eq "a full replay adds no entry (ids already in the stream are refused)" "$total" "$(xlen)"
expect_match "and says so in the log" "were already in stream herald:events: skipped" "$(cat "$LOG")"
expect_eq "the replaying sink reports success" "running" "$(sink_field replay state)"
herald_stop
finish
