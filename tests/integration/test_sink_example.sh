#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The example sink module of sinks/README.md (sinks/example), loaded by
# name from the build's sinks/ folder as a user would: it logs one line per
# event with the event's time, counts them, and herald moves its position;
# a config it does not take is refused with its reason.
. "$(dirname "$0")/lib.sh"

cat > "$WORK/herald.json" <<EOF
{"sinks": [
  {"name": "demo", "module": "example", "events": ["peer.*"]},
  {"name": "picky", "module": "example", "config": {"path": "/tmp/x"}}
 ]}
EOF
sink_field() { # sink field
  "$CLI" --server "$URL" sinks --json | python3 -c "import json,sys; print(next(s for s in json.load(sys.stdin)['sinks'] if s['name']=='$1')['$2'])"
}

herald_start --config "$WORK/herald.json"
sinks_settled
expect_eq "the example sink runs" running "$(sink_field demo state)"
expect_eq "herald-cli sinks shows its description" "one log line per event (a template for new modules)" \
  "$(sink_field demo description)"
expect_eq "a config it does not take is refused" failed "$(sink_field picky state)"
expect_eq "with its reason" "the example module takes no settings" "$(sink_field picky last_error)"

"$CLI" --server "$URL" publish room.created '{}' --room r1 >/dev/null
a=$("$CLI" --server "$URL" publish peer.connected '{"peer_id":"p1"}' --room r1)
b=$("$CLI" --server "$URL" publish peer.disconnected '{"peer_id":"p1"}' --room r1)
wait_for "$LOG" "sink demo: #$b peer.disconnected room r1 at 20[0-9-]{8}T[0-9:]{8}\.[0-9]{3}Z \(2 seen\)" &&
  ok "it logs each event it gets with its time, counted" || fail "no log line for event $b: $(grep 'sink demo' "$LOG")"
expect_match "the first one too" "sink demo: #$a peer.connected room r1 at [0-9T:.-]+Z \(1 seen\)" "$(cat "$LOG")"
expect_eq "and nothing its filter drops" 2 "$(grep -c 'sink demo: #' "$LOG")"
position_past() { [ "$(sink_field "$1" position)" -ge "$2" ]; }
eventually position_past demo "$b" && ok "its position passes the events" ||
  fail "demo position $(sink_field demo position)"
herald_stop
expect_eq "herald stops cleanly" 0 "$?"

finish
