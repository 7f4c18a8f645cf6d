#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The "sqlite-cdr" sink module: events published through the API and the
# room API become rows (id, type, room, user, time, data) of a table,
# checked with the sqlite3 CLI; the schema, indexes and WAL mode; a filter
# and a table name of one's own; another process holding the write lock
# (waited for within the busy timeout, a batch failed and retried past it);
# a database folder that appears later; kill -9 mid-stream and a sink
# re-reading the whole history into the same table: no duplicate and no
# missing row; bad settings leave the sink "failed" with a clear error
# while herald keeps serving. Waits are for conditions (deadlines of 60 s);
# the lock is held until the test has seen what it waits for.
. "$(dirname "$0")/lib.sh"
DB=$WORK/cdr.db
CALLS=$WORK/calls.db

cat > "$WORK/herald.json" <<EOF
{"threads": 1,
 "sinks": [
  {"name": "cdr", "module": "sqlite-cdr", "batch": {"max_events": 5, "max_delay_ms": 10},
   "config": {"path": "$DB", "busy_timeout_ms": 120000}},
  {"name": "calls", "module": "sqlite-cdr", "events": ["room.*", "peer.*"], "retry": {"initial_ms": 50, "max_ms": 200},
   "config": {"path": "$CALLS", "table": "calls", "sync": "normal", "busy_timeout_ms": 100}},
  {"name": "later", "module": "sqlite-cdr", "retry": {"initial_ms": 50, "max_ms": 200},
   "config": {"path": "$WORK/not-yet/later.db"}},
  {"name": "badtable", "module": "sqlite-cdr", "config": {"path": "$WORK/x.db", "table": "ev\"; DROP TABLE t; --"}},
  {"name": "nopath", "module": "sqlite-cdr", "config": {"table": "t"}},
  {"name": "badsync", "module": "sqlite-cdr", "config": {"path": "$WORK/x.db", "sync": "sometimes"}}
 ]}
EOF

sink_field() { # sink field
  curl -s "$URL/v1/sinks" "${auth[@]}" | python3 -c "import json,sys; print(next(s for s in json.load(sys.stdin)['sinks'] if s['name']=='$1')['$2'])"
}
wait_field() { # sink field value: waits up to 60 s until the field is value
  local end=$((SECONDS + 60))
  while [ $SECONDS -lt $end ]; do [ "$(sink_field "$1" "$2")" == "$3" ] && return 0; sleep 0.05; done
  return 1
}
wait_match() { # sink field regex: waits up to 60 s until the field matches
  local end=$((SECONDS + 60))
  while [ $SECONDS -lt $end ]; do [[ "$(sink_field "$1" "$2")" =~ $3 ]] && return 0; sleep 0.05; done
  return 1
}
stored_ids() { # [python filter on e]
  curl -s "$URL/v1/events?limit=1000" "${auth[@]}" |
    python3 -c "import json,sys; print(' '.join(e['id'] for e in json.load(sys.stdin)['events'] if ${1:-True}))"
}
q() { sqlite3 -bail "$@"; }
rows() { q "$1" "SELECT group_concat(event_id, ' ') FROM (SELECT event_id FROM ${2:-herald_events} ORDER BY event_id)"; }

herald_start --config "$WORK/herald.json"
sinks_settled

# --- bad settings: failed, with the module's reason, herald serving
expect_eq "a table name with a quote: the sink is failed" failed "$(sink_field badtable state)"
expect_match "saying what a table name may be" '"table" must be a plain name' "$(sink_field badtable last_error)"
expect_eq "no path: failed" '"path" (the database file) is required' "$(sink_field nopath last_error)"
expect_eq "a bad sync: failed" '"sync" must be "full" or "normal"' "$(sink_field badsync last_error)"
[ ! -e "$WORK/x.db" ] && ok "a refused config creates no database" || fail "x.db was created"
expect_eq "herald keeps serving" 200 "$(http GET /health | cut -d' ' -f1)"

# --- events become rows
python3 - > "$WORK/events.jsonl" <<'EOF'
import json
for i in range(1, 31):
    e = {"type": ["call.started", "call.ended", "chat.message"][i % 3],
         "data": {"n": i, "big": 8230373760211786 + i, "text": "h\u00e9llo '%d' \"q\"" % i}}
    if i % 4: e["room_id"] = "room-%d" % (i % 3)
    if i % 5 == 0: e["user_id"] = "user-%d" % i
    print(json.dumps(e, ensure_ascii=False))
EOF
"$CLI" --server "$URL" publish < "$WORK/events.jsonl" > "$WORK/ids"
room=$(http POST /room "${auth[@]}" -H 'Content-Type: application/json' -d '{"roomId":"cdr-room","maxPeers":3}')
expect_match "a room created through the room API" '^201 ' "$room"
peer=$(http POST /room/cdr-room/peer "${auth[@]}" -H 'Content-Type: application/json' -d '{"type":"webrtc"}')
expect_match "and a peer in it" '^201 ' "$peer"
last=$(stored_ids | awk '{print $NF}')
wait_field cdr position "$last" && ok "the sink caught up" || fail "cdr: position $(sink_field cdr position), want $last"
expect_eq "one row per event, keyed by the event id" "$(stored_ids)" "$(rows "$DB")"
same=$(python3 - "$DB" "$WORK/events.jsonl" "$WORK/ids" <<'EOF'
import json, sqlite3, sys, datetime
db = sqlite3.connect(sys.argv[1])
sent = [json.loads(l) for l in open(sys.argv[2], encoding="utf-8")]
ids = [int(i) for i in open(sys.argv[3]).read().split()]
bad = []
for want, i in zip(sent, ids):
    r = db.execute("SELECT type, room_id, user_id, time_ms, time, data FROM herald_events WHERE event_id = ?", (i,)).fetchone()
    if r is None:
        bad.append((i, r)); continue
    iso = datetime.datetime.fromtimestamp(r[3] // 1000, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (r[3] % 1000)
    if r[0] != want["type"] or r[1] != want.get("room_id") or r[2] != want.get("user_id") \
            or json.loads(r[5]) != want["data"] or r[4] != iso:
        bad.append((i, r))
print("ok" if not bad else "bad: %r" % bad[:1])
EOF
)
expect_eq "each row is the event as published: type, room_id, user_id (NULL when absent), data, time" ok "$same"
expect_eq "the room API's events are rows too" "room.created|cdr-room peer.added|cdr-room" \
  "$(q "$DB" "SELECT group_concat(type || '|' || room_id, ' ') FROM (SELECT * FROM herald_events WHERE type LIKE 'room.%' OR type LIKE 'peer.%' ORDER BY event_id)")"
expect_eq "data is queryable JSON, 64-bit ints exact" "8230373760211787" \
  "$(q "$DB" "SELECT json_extract(data, '\$.big') FROM herald_events WHERE event_id = $(head -1 "$WORK/ids")")"
expect_eq "a query by type" 10 "$(q "$DB" "SELECT count(*) FROM herald_events WHERE type = 'call.ended'")"
schema=$(q "$DB" .schema)
expect_match "the table's columns" 'event_id INTEGER PRIMARY KEY, type TEXT NOT NULL, room_id TEXT, user_id TEXT, time_ms INTEGER NOT NULL, time TEXT NOT NULL, data TEXT NOT NULL' "$schema"
expect_match "the (room_id, time_ms) index" 'INDEX "herald_events_room_time" ON "herald_events" \(room_id, time_ms\)' "$schema"
expect_match "the type index" 'INDEX "herald_events_type" ON "herald_events" \(type\)' "$schema"
expect_eq "WAL mode" wal "$(q "$DB" "PRAGMA journal_mode")"
expect_match "a query by room uses its index" 'USING INDEX herald_events_room_time' \
  "$(q "$DB" "EXPLAIN QUERY PLAN SELECT * FROM herald_events WHERE room_id = 'room-1' AND time_ms > 0")"

wait_field calls position "$last" || fail "calls position"
expect_eq "a filtered sink with its own table keeps only its types" "room.created peer.added" \
  "$(q "$CALLS" "SELECT group_concat(type, ' ') FROM (SELECT type FROM calls ORDER BY event_id)")"

# --- a database folder that appears later: failed batches, then every row
wait_match later last_error 'cannot open .*not-yet/later.db' && ok "a missing folder fails batches" ||
  fail "a missing folder fails batches: [$(sink_field later last_error)]"
mkdir -p "$WORK/not-yet"
wait_field later position "$last" && ok "the sink catches up once the folder exists" || fail "later did not catch up"
expect_eq "nothing lost while it failed" "$(stored_ids)" "$(rows "$WORK/not-yet/later.db")"

# --- another process holding the write lock
# Both databases stay locked until the test has seen "calls" (busy timeout
# 100 ms) fail its batch and "cdr" (busy timeout 120 s) waiting in its own;
# then the holders let go (they wait for a file, not a timer).
lock() { # db: holds a write transaction until $WORK/unlock exists
  python3 -c "
import os, sqlite3, sys, time
c = sqlite3.connect(sys.argv[1], isolation_level=None); c.execute('BEGIN IMMEDIATE')
print('locked', flush=True)
while not os.path.exists(sys.argv[2]): time.sleep(0.01)
c.execute('ROLLBACK')" "$1" "$WORK/unlock"
}
lock "$DB" > "$WORK/lock1" &
lockpid=$!; PIDS+=("$lockpid")
lock "$CALLS" > "$WORK/lock2" &
lockpid2=$!; PIDS+=("$lockpid2")
wait_for "$WORK/lock1" locked 1200 && wait_for "$WORK/lock2" locked 1200 || fail "the lock holders did not lock"
fails_before=$(sink_field cdr failures)
"$CLI" --server "$URL" publish room.deleted '{"room_id":"r-locked"}' --room r-locked > "$WORK/ids2"
wait_match calls last_error 'database is locked' && ok "past its busy timeout a locked database fails the batch" ||
  fail "past its busy timeout a locked database fails the batch: [$(sink_field calls last_error)]"
wait_field cdr attempt 1 && ok "the other sink's batch is under way while its database is locked" ||
  fail "cdr: attempt $(sink_field cdr attempt)"
expect_eq "and has written nothing yet" 0 "$(q "$DB" "SELECT count(*) FROM herald_events WHERE room_id = 'r-locked'")"
touch "$WORK/unlock"
wait "$lockpid" "$lockpid2"
last=$(tail -1 "$WORK/ids2")
wait_field cdr position "$last" || fail "cdr after the lock"
expect_eq "within the busy timeout the writer waits: no failure" "$fails_before" "$(sink_field cdr failures)"
wait_field calls position "$last" && ok "the locked-out sink retries and catches up" || fail "calls after the lock"
expect_eq "with the row" 1 "$(q "$CALLS" "SELECT count(*) FROM calls WHERE room_id = 'r-locked'")"

# --- kill -9 mid-stream: no duplicate, no missing row
# A watcher reads the table (WAL: readers never block the writer) and
# kills herald once the sink is part way through the 300 new events.
python3 - "$DB" "$HERALD_PID" > "$WORK/at_kill" <<'EOF' &
import os, signal, sqlite3, sys, time
db = sqlite3.connect(sys.argv[1])
db.execute("SELECT count(*) FROM herald_events").fetchone()
print("ready", flush=True)
end = time.time() + 120
n = 0
while time.time() < end:
    n = db.execute("SELECT count(*) FROM herald_events WHERE type = 'load.tick'").fetchone()[0]
    if n >= 40:
        break
os.kill(int(sys.argv[2]), signal.SIGKILL)
print(n)
EOF
watcher=$!
wait_for "$WORK/at_kill" ready 1200 || fail "the watcher did not start"
seq 1 300 | sed 's/.*/{"type":"load.tick","room_id":"load","data":{"i":&}}/' | "$CLI" --server "$URL" publish > "$WORK/ids3"
wait "$watcher"
at_kill=$(tail -1 "$WORK/at_kill")
wait "$HERALD_PID" 2>/dev/null
expect_match "herald was killed mid-stream ($at_kill of 300 rows written)" '^([4-9][0-9]|[1-2][0-9][0-9])$' "$at_kill"
python3 - "$WORK/herald.json" "$DB" <<'EOF'
import json, sys
c = json.load(open(sys.argv[1]))
# A second sink on the same table that starts from the oldest event: every
# event is delivered to the table again.
c["sinks"].append({"name": "again", "module": "sqlite-cdr", "start": "beginning", "batch": {"max_events": 50},
                   "config": {"path": sys.argv[2]}})
json.dump(c, open(sys.argv[1], "w"))
EOF
herald_start --config "$WORK/herald.json"
want=$(stored_ids)
last=$(echo "$want" | awk '{print $NF}')
wait_field cdr position "$last" && ok "after kill -9 the sink resumes and catches up" || fail "cdr after kill -9"
wait_field again position "$last" && ok "the re-reading sink went through the whole history" || fail "again position"
expect_eq "every stored event is one row: no duplicate, no missing row" "$want" "$(rows "$DB")"
expect_eq "row count equals event count" "$(echo "$want" | wc -w)" "$(q "$DB" "SELECT count(*) FROM herald_events")"
expect_eq "the re-read failed nothing" 0 "$(sink_field again failures)"

herald_stop
expect_eq "herald stops cleanly with sqlite-cdr sinks" 0 "$?"
expect_eq "the database is consistent" ok "$(q "$DB" "PRAGMA integrity_check")"

finish
