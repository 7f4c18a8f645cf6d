# SPDX-License-Identifier: MIT
# test_cli.sh — the README's tour, as a user runs it: herald-cli listen in
# one "terminal", herald-cli publish in another; history; the example
# programs of the C client library; what a wrong token, Ctrl-C and a
# server stop look like to a listener.
. "$(dirname "$0")/lib.sh"
herald_start
export HERALD_SERVER=$URL


"$CLI" listen > "$WORK/listen.out" 2> "$WORK/listen.err" &
LISTEN=$!; PIDS+=("$LISTEN")
wait_for "$WORK/listen.err" 'listening' && ok "listen connects and subscribes" || fail "listen did not start: $(cat "$WORK/listen.err")"

id=$("$CLI" publish room.created '{"room_id":"r1"}')
expect_match "publish prints the new id" '^[0-9]+$' "$id"
wait_for "$WORK/listen.out" '"type":"room.created"' && ok "the event reaches the listener" || fail "listener saw nothing"
line=$(grep '"type":"room.created"' "$WORK/listen.out" | head -1)
expect_match "listener prints the native envelope as one JSON line" "^\{\"id\":\"$id\",\"type\":\"room.created\",\"timestamp\":\"[^\"]+Z\",\"data\":\{\"room_id\":\"r1\"\}\}$" "$line"

ids=$(printf '%s\n' '{"type":"chat.message","room_id":"r1","data":{"n":1}}' \
        '{"type":"chat.message","room_id":"r1","data":{"n":2}}' '{"type":"chat.message","data":{"n":3}}' | "$CLI" publish)
expect_eq "publish from stdin prints one id per line" 3 "$(echo "$ids" | wc -l)"
wait_for "$WORK/listen.out" '"n":3' && ok "stdin events reach the listener" || fail "stdin events missing"
expect_eq "in order" '"n":1 "n":2 "n":3' "$(grep -o '"n":[0-9]' "$WORK/listen.out" | tr '\n' ' ' | sed 's/ $//')"

hist=$("$CLI" history --type chat.message --room r1)
expect_eq "history with filters prints matching events" 2 "$(echo "$hist" | grep -c '"type":"chat.message"')"

out=$("$CLI" publish 'Not A Type' 2>&1); rc=$?
expect_eq "a rejected publish exits 1" 1 "$rc"
expect_match "and prints the server's reason" 'type' "$out"

"$CLI" --token wrong listen > /dev/null 2> "$WORK/bad.err"; rc=$?
[ "$rc" -ne 0 ] && ok "listen with a wrong token exits non-zero" || fail "exit $rc"
expect_match "and reports the close" '1000.*invalid token' "$(cat "$WORK/bad.err")"

# The C library's example programs.
EX=$BUILD/examples
HERALD_TOKEN=development "$EX/example_listen" > "$WORK/ex.out" 2> "$WORK/ex.err" &
EXL=$!; PIDS+=("$EXL")
wait_for "$WORK/ex.err" 'listening' && ok "example_listen subscribes" || fail "example_listen: $(cat "$WORK/ex.err")"
HERALD_TOKEN=development "$EX/example_publish" > "$WORK/expub.out" 2>&1
expect_eq "example_publish exits 0" 0 $?
wait_for "$WORK/ex.out" '^#[0-9]+ ' && ok "example_listen prints what example_publish sent" || fail "$(cat "$WORK/ex.out" "$WORK/expub.out")"
kill -INT "$EXL"; wait "$EXL"; expect_eq "example_listen exits 0 on Ctrl-C" 0 $?

# Ctrl-C and SIGTERM end herald-cli listen cleanly: exit 0, no close reported.
# (A file per run: the shell truncates it only once the child has started.)
for sig in INT TERM; do
  err=$WORK/sig-$sig.err
  "$CLI" listen > /dev/null 2> "$err" &
  SIGL=$!; PIDS+=("$SIGL")
  wait_for "$err" 'listening' || fail "listen did not start: $(cat "$err")"
  kill -"$sig" "$SIGL"; wait "$SIGL"; expect_eq "herald-cli listen exits 0 on SIG$sig" 0 $?
  expect_eq "and reports no close" "" "$(grep 'connection closed' "$err")"
done

printf '\x52\x04\x0a\x02\x72\x31' > "$WORK/hook.bin"
dec=$("$EX/example_webhook_decode" "$WORK/hook.bin" 2>&1)
expect_match "example_webhook_decode decodes a protobuf webhook body" 'roomCreated.*r1' "$dec"

# Server stop: the listener is told (1001) and exits.
herald_stop; expect_eq "herald exits 0 on SIGTERM" 0 $?
wait "$LISTEN"; rc=$?
[ "$rc" -ne 0 ] && ok "listen exits when the server goes away" || fail "listen exit $rc"
expect_match "with the close code 1001" '1001' "$(cat "$WORK/listen.err")"
finish
