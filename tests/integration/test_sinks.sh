#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Sink modules, driven as a user would: a config file naming sinks of the
# built-in "file" module, events published through the API, the files and
# `herald-cli sinks` checked. Covers filters (globs, Janus masks),
# batching, a module that cannot load and a config it refuses (herald keeps
# serving), a failing sink retried, marked crashed with component.crashed,
# and herald.sink_crashed, then recovering with nothing lost, positions kept across SIGTERM and
# kill -9, "start": "beginning", size rotation, and bad config files.
# Waits are for conditions, with deadlines of 60 s.
. "$(dirname "$0")/lib.sh"

S=$WORK/sinks
mkdir -p "$S"
cat > "$WORK/herald.json" <<EOF
{"threads": 1,
 "sinks": [
  {"name": "rooms", "module": "file", "events": ["room.*"], "config": {"path": "$S/rooms.jsonl"}},
  {"name": "all", "module": "file", "batch": {"max_events": 3, "max_delay_ms": 20},
   "config": {"path": "$S/all.jsonl", "fsync": true}},
  {"name": "janus", "module": "file", "events": "sessions,core", "config": {"path": "$S/janus.jsonl"}},
  {"name": "rotating", "module": "file", "config": {"path": "$S/rot.jsonl", "max_bytes": 1500, "keep": 2}},
  {"name": "later", "module": "file", "retry": {"initial_ms": 50, "max_ms": 200}, "crash_after_s": 0.5,
   "config": {"path": "$S/not-yet/later.jsonl"}},
  {"name": "broken", "module": "nosuch"},
  {"name": "refused", "module": "file", "config": {"max_bytes": 5}}
 ]}
EOF

sink_field() { # sink field
  "$CLI" --server "$URL" sinks --json | python3 -c "import json,sys; print(next(s for s in json.load(sys.stdin)['sinks'] if s['name']=='$1')['$2'])"
}
wait_pos() { # sink id: its position reaches id (it may pass it: "later" adds its component.crashed)
  local end=$((SECONDS + 60))
  while [ $SECONDS -lt $end ]; do [ "$(sink_field "$1" position)" -ge "$2" ] && return 0; sleep 0.05; done
  return 1
}
wait_field() { # sink field value
  local end=$((SECONDS + 60))
  while [ $SECONDS -lt $end ]; do [ "$(sink_field "$1" "$2")" == "$3" ] && return 0; sleep 0.05; done
  return 1
}
ids_of() { python3 -c "import json,sys; print(' '.join(json.loads(l)['id'] for l in open(sys.argv[1])))" "$1"; }
types_of() { python3 -c "import json,sys; print(' '.join(json.loads(l)['type'] for l in open(sys.argv[1])))" "$1"; }

herald_start --config "$WORK/herald.json"
sinks_settled

# --- the two that cannot run are reported, the rest run
expect_eq "a module that does not exist is failed" "failed" "$(sink_field broken state)"
expect_match "its error names the missing file" "herald-sink-nosuch.so: cannot open shared object" "$(sink_field broken last_error)"
expect_eq "a config the module refuses is failed" "failed" "$(sink_field refused state)"
expect_eq "with the module's reason" '"path" (the file to append to) is required' "$(sink_field refused last_error)"
expect_eq "a good sink runs" "running" "$(sink_field rooms state)"
table=$("$CLI" --server "$URL" sinks)
expect_match "herald-cli sinks prints a table" "NAME +MODULE +STATE.*"$'\n'"rooms +file +running" "$table"
expect_match "and the failed sink's error under it" "broken +nosuch +failed.*"$'\n'" +last error: cannot load module" "$table"

# --- events flow to every sink, filtered and in order
{
  for i in $(seq 1 6); do
    echo "{\"type\":\"room.created\",\"room_id\":\"r$i\"}"
    echo "{\"type\":\"chat.message\",\"room_id\":\"r$i\",\"data\":{\"n\":$i}}"
  done
  echo '{"type":"janus.session","data":{"session_id":8230373760211786}}'
  echo '{"type":"janus.handle","data":{}}'
  echo '{"type":"janus.core","data":{"status":"started"}}'
} | "$CLI" --server "$URL" publish > "$WORK/ids"
expect_eq "15 events published" 15 "$(wc -l < "$WORK/ids")"
last=$(tail -1 "$WORK/ids")
wait_pos all "$last" && ok "the batched sink caught up" || fail "all: position $(sink_field all position), want $last"
wait_pos rooms "$last" && ok "the filtered sink moved past what it skips" || fail "rooms position"
wait_pos janus "$last" || fail "janus position"
wait_pos rotating "$last" || fail "rotating position"
# (the crashing sink below may add its component.crashed and herald.sink_crashed at any moment)
upto() { tr ' ' '\n' | awk -v m="$1" '$1 <= m' | tr '\n' ' ' | sed 's/ $//'; }
stored=$(curl -s "$URL/v1/events?limit=1000" "${auth[@]}" | python3 -c "import json,sys; print(' '.join(e['id'] for e in json.load(sys.stdin)['events']))")
expect_eq "every event reaches the unfiltered sink, in id order" "$(echo "$stored" | upto "$last")" "$(ids_of "$S/all.jsonl" | upto "$last")"
expect_eq "those are the published ones" "$(tr '\n' ' ' < "$WORK/ids" | sed 's/ $//')" "$(curl -s "$URL/v1/events?limit=1000" "${auth[@]}" | python3 -c "import json,sys; print(' '.join(e['id'] for e in json.load(sys.stdin)['events'] if e['type'] not in ('component.crashed', 'herald.sink_crashed')))" | upto "$last")"
expect_eq "the room.* sink gets room events only" "room.created room.created room.created room.created room.created room.created" "$(types_of "$S/rooms.jsonl")"
expect_eq "a Janus mask picks its janus.* types" "janus.session janus.core" "$(types_of "$S/janus.jsonl")"
expect_match "the line is the native envelope, 64-bit ints exact" '^\{"id":"[0-9]+","type":"janus.session","timestamp":"[0-9T:.-]+Z","data":\{"session_id":8230373760211786\}\}$' "$(head -1 "$S/janus.jsonl")"
expect_eq "batches of at most 3: at least 5 of them for 15 events" 1 "$([ "$(sink_field all batches)" -ge 5 ] && echo 1)"
expect_eq "herald keeps serving next to failed sinks" "200" "$(http GET /health | cut -d' ' -f1)"
ls "$S"/rot.jsonl.1 >/dev/null 2>&1 && ok "the rotating sink rotated" || fail "no rot.jsonl.1"
[ ! -e "$S/rot.jsonl.3" ] && ok "and keeps 2 old files" || fail "rot.jsonl.3 exists"
big=$(find "$S" -name 'rot.jsonl*' -size +1500c | wc -l)
expect_eq "no rotated file over max_bytes" 0 "$big"

# --- a sink that fails: retried, crashed with component.crashed, then recovers
wait_field later state crashed && ok "a sink failing for crash_after_s is crashed" || fail "later: $(sink_field later state)"
expect_match "its error says why" "cannot open .*not-yet/later.jsonl" "$(sink_field later last_error)"
# (the state changes before the event is committed: wait for the event)
end=$((SECONDS + 60))
until crash=$(http GET "/v1/events?type=component.crashed" "${auth[@]}"); [[ "$crash" == *'"component_id":"later"'* ]] ||
  [ $SECONDS -ge $end ]; do sleep 0.05; done
expect_match "herald emitted component.crashed for it" '"component_id":"later","component_type":"sink","reason":"cannot open' "$crash"
expect_eq "once" 1 "$(echo "$crash" | grep -o '"component_id":"later"' | wc -l)"
# herald's own alert for it, in the same commit (SDK 0.27+ ignores component.crashed)
own=$(http GET "/v1/events?type=herald.sink_crashed" "${auth[@]}")
expect_match "herald emitted herald.sink_crashed for it too" '"type":"herald.sink_crashed","timestamp":"[^"]*","data":\{"sink":"later","module":"file","reason":"cannot open' "$own"
expect_eq "once too" 1 "$(echo "$own" | grep -o '"sink":"later"' | wc -l)"
mkdir -p "$S/not-yet"
wait_field later state running && ok "the sink recovers when its file can be written" || fail "later did not recover"
want=$(curl -s "$URL/v1/events?limit=1000" "${auth[@]}" | python3 -c "import json,sys; print(' '.join(e['id'] for e in json.load(sys.stdin)['events']))")
wait_field later position "$(echo "$want" | awk '{print $NF}')" || fail "later position"
expect_eq "nothing was lost while it failed" "$want" "$(ids_of "$S/not-yet/later.jsonl")"
expect_match "its failures were counted on /metrics" 'herald_sink_failures_total\{sink="later"\} [1-9]' "$(curl -s "$URL/metrics")"

# --- SIGTERM: positions kept, no duplicate, no gap
herald_stop
expect_eq "herald stops cleanly" 0 "$?"
herald_start --config "$WORK/herald.json"
for i in 1 2 3; do "$CLI" --server "$URL" publish room.deleted "{\"n\":$i}" --room "r$i" >> "$WORK/ids"; done
last=$(tail -1 "$WORK/ids")
wait_field all position "$last" || fail "all after restart"
expect_eq "after a restart the sink resumes, no duplicate" "$(curl -s "$URL/v1/events?limit=1000" "${auth[@]}" | python3 -c "import json,sys; print(' '.join(e['id'] for e in json.load(sys.stdin)['events']))")" "$(ids_of "$S/all.jsonl")"

# --- kill -9 mid-stream: at least once, nothing lost
# killed once the sink has written some of the new events, while they are
# still being published
seq 1 300 | sed 's/.*/{"type":"load.tick","data":{"i":&}}/' | "$CLI" --server "$URL" publish > "$WORK/ids2" &
pub=$!
wait_for "$S/all.jsonl" '"type":"load.tick"' 1200 || fail "no load.tick written before the kill"
kill -9 "$HERALD_PID"; wait "$HERALD_PID" 2>/dev/null
wait "$pub" 2>/dev/null
herald_start --config "$WORK/herald.json"
stored=$(curl -s "$URL/v1/events?limit=10000" "${auth[@]}" | python3 -c "import json,sys; print(' '.join(e['id'] for e in json.load(sys.stdin)['events']))")
wait_field all position "$(echo "$stored" | awk '{print $NF}')" || fail "all after kill -9"
firsts=$(python3 -c "
import json,sys
seen=[]
for l in open(sys.argv[1]):
    i=json.loads(l)['id']
    if i not in seen: seen.append(i)
print(' '.join(seen))" "$S/all.jsonl")
expect_eq "after kill -9 every stored event is in the file, in order" "$stored" "$firsts"

# --- a new sink that starts at the beginning reads the whole history
herald_stop
python3 - "$WORK/herald.json" "$S" <<'EOF'
import json, sys
c = json.load(open(sys.argv[1]))
c["sinks"].append({"name": "replay", "module": "file", "start": "beginning", "events": ["room.*"],
                   "config": {"path": sys.argv[2] + "/replay.jsonl"}})
json.dump(c, open(sys.argv[1], "w"))
EOF
herald_start --config "$WORK/herald.json"
wait_field replay position "$(echo "$stored" | awk '{print $NF}')" || fail "replay position"
expect_eq "\"start\": \"beginning\" replays the retained history" 9 "$(wc -l < "$S/replay.jsonl")"
herald_stop

# --- bad config files stop herald at start with a clear message
echo '{"sinks": [{"name": "x", "module": "file", "evnets": []}]}' > "$WORK/bad.json"
"$HERALD" --listen 127.0.0.1:0 --data-dir "$WORK/d2" --config "$WORK/bad.json" 2> "$WORK/bad.log"
expect_eq "a bad sink setting: herald exits 1" 1 $?
expect_match "naming the sink and the key" "sink 'x': unknown key \"evnets\"" "$(cat "$WORK/bad.log")"
echo '{"listne": "127.0.0.1:0"}' > "$WORK/bad2.json"
"$HERALD" --config "$WORK/bad2.json" 2> "$WORK/bad2.log"
expect_eq "an unknown setting: herald exits 2" 2 $?
expect_match "naming it" 'unknown setting "listne"' "$(cat "$WORK/bad2.log")"
echo '{"listen": "127.0.0.1:0", "threads": 3, "metrics-interval": 0.5}' > "$WORK/ok.json"
for flags in "" "--threads 2"; do
  oklog=$WORK/ok${flags:+.threads}.log # one per run: a stale line is never read
  "$HERALD" --config "$WORK/ok.json" --data-dir "$WORK/d3" $flags 2> "$oklog" &
  p=$!
  PIDS+=("$p")
  wait_for "$oklog" "listening on .*I/O threads" 1200 || fail "herald did not start with $WORK/ok.json"
  kill -TERM "$p"; wait "$p"
  listening=$(grep -o "listening on 127.0.0.1:[0-9]* ([0-9] I/O threads" "$oklog")
  want=3; [ -n "$flags" ] && want=2
  expect_match "settings come from the file${flags:+, and $flags wins over it}" "\\($want I/O threads" "$listening"
done

finish
