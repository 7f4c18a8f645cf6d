#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The sink ABI can grow (issue 14): herald runs modules of its ABI major
# built against another header — an older one whose table is smaller (the
# v1.0 fields only) and a newer minor whose table has a field herald does
# not know — and refuses, naming the module and both versions in its log
# and in `herald-cli sinks`, one of another major, one whose table is too
# small, and one of the layout before struct_size. herald keeps serving.
# The modules are tests/sinks/abi_sink.c, built by CMake in build/test-sinks.
. "$(dirname "$0")/lib.sh"

T=$BUILD/test-sinks
cat > "$WORK/herald.json" <<EOF
{"sinks": [
  {"name": "old", "module": "$T/herald-test-sink-old.so"},
  {"name": "newer", "module": "$T/herald-test-sink-newer.so"},
  {"name": "major2", "module": "$T/herald-test-sink-major2.so"},
  {"name": "small", "module": "$T/herald-test-sink-small.so"},
  {"name": "prerelease", "module": "$T/herald-test-sink-prerelease.so"}
 ]}
EOF

sink_field() { # sink field
  "$CLI" --server "$URL" sinks --json | python3 -c "import json,sys; print(next(s for s in json.load(sys.stdin)['sinks'] if s['name']=='$1')['$2'])"
}

herald_start --config "$WORK/herald.json"
sinks_settled

# --- the refused ones: failed, with both versions, in the log and the status
expect_eq "another major is refused" failed "$(sink_field major2 state)"
expect_match "its error says why, with both versions" \
  "herald-test-sink-major2.so: built for sink ABI 2.0, this herald has sink ABI 1.0 \(it loads 1.x\)" \
  "$(sink_field major2 last_error)"
expect_match "the log names the sink, the module and both versions" \
  "sink major2: .*/herald-test-sink-major2.so: built for sink ABI 2.0, this herald has sink ABI 1.0" "$(cat "$LOG")"
expect_eq "a table smaller than v1.0's is refused" failed "$(sink_field small state)"
expect_match "its error gives the sizes" \
  "herald-test-sink-small.so: built for sink ABI 1.0, but its table is 40 bytes: this herald \(sink ABI 1.0\) needs at least 48" \
  "$(sink_field small last_error)"
expect_eq "the layout before struct_size is refused" failed "$(sink_field prerelease state)"
expect_match "as a version this herald does not load" \
  "herald-test-sink-prerelease.so: built for sink ABI 0.0, this herald has sink ABI 1.0" \
  "$(sink_field prerelease last_error)"

# --- the ones of this major run, older and newer
expect_eq "a module of an older, smaller table runs" running "$(sink_field old state)"
expect_eq "a module of a newer minor runs" running "$(sink_field newer state)"
expect_match "herald logs that it loaded a newer minor" \
  "sink newer: module abi-newer \(.*herald-test-sink-newer.so\) is built for sink ABI 1.7 \(table of [0-9]+ bytes\), this herald has 1.0 \([0-9]+ bytes\): loaded" \
  "$(cat "$LOG")"
id=$("$CLI" --server "$URL" publish room.created '{}' --room r1)
expect_match "an event is published" '^[0-9]+$' "$id"
wait_for "$LOG" "sink old: abi-old: event $id\$" && ok "the older module gets it" || fail "old did not log event $id"
wait_for "$LOG" "sink newer: abi-newer: event $id\$" && ok "the newer module gets it" || fail "newer did not log event $id"
position_past() { [ "$(sink_field "$1" position)" -ge "$2" ]; }
eventually position_past old "$id" && ok "and the older one's position passes it" ||
  fail "old position $(sink_field old position)"
expect_eq "herald keeps serving" 200 "$(http GET /health | cut -d' ' -f1)"
herald_stop
expect_eq "herald stops cleanly" 0 "$?"

finish
