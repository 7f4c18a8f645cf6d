# SPDX-License-Identifier: MIT
# test_subscriber.sh — herald-cli subscribe (the client library's
# herald_subscriber): a user-token subscriber that outlives a server
# restart on the same port and data dir, resuming without a gap or a
# duplicate; a --since start replays stored events; an invalid token gives
# up with 4003 and exit 1.
. "$(dirname "$0")/lib.sh"
SECRET=s3cret
herald_start --jwt-secret "$SECRET"
export HERALD_SERVER=$URL


# Restarts herald on the same port and data dir (lib.sh's herald_start
# takes a fresh port). The port may still be held for a moment (a client's
# socket): a start that exits is tried again.
herald_restart() {
  LOG=$WORK/herald.$((${#PIDS[@]})).log
  local end=$((SECONDS + WAIT_S))
  while [ "$SECONDS" -lt "$end" ]; do
    "$HERALD" --listen "127.0.0.1:$PORT" --data-dir "$DATA_DIR" --jwt-secret "$SECRET" 2>"$LOG" &
    HERALD_PID=$!
    PIDS+=("$HERALD_PID")
    while kill -0 "$HERALD_PID" 2>/dev/null; do
      grep -q 'listening on' "$LOG" && return 0
      [ "$SECONDS" -lt "$end" ] || { cat "$LOG"; echo "herald did not start in ${WAIT_S}s"; exit 1; }
      sleep 0.05
    done
    wait "$HERALD_PID" 2>/dev/null
    sleep 0.1
  done
  cat "$LOG"; echo "herald did not restart on port $PORT"; exit 1
}

UTOKEN=$("$CLI" token --user u1 --rooms r1 --secret "$SECRET")
expect_match "token mints a user token" '^[^.]+\.[^.]+\.[^.]+$' "$UTOKEN"
expect_match "token refuses a user id in the peers' namespace" "must not begin with" \
  "$("$CLI" token --user peer:x --secret "$SECRET" 2>&1)"

"$CLI" subscribe --token "$UTOKEN" > "$WORK/sub.out" 2> "$WORK/sub.err" &
SUB=$!; PIDS+=("$SUB")
wait_for "$WORK/sub.err" 'subscribed' && ok "subscribe authenticates with the user token" || fail "subscribe: $(cat "$WORK/sub.err")"

ids=()
ids+=("$("$CLI" publish chat.message '{"n":1}' --room r1)")
ids+=("$("$CLI" publish chat.message '{"n":2}' --user u1)")
"$CLI" publish chat.message '{"n":0}' --room other > /dev/null   # not for u1
"$CLI" publish chat.message '{"n":0}' --user u2 > /dev/null      # not for u1
ids+=("$("$CLI" publish chat.message '{"n":3}' --room r1)")
wait_for "$WORK/sub.out" '"n":3' && ok "room and user events reach the subscriber" || fail "$(cat "$WORK/sub.out")"

# Server restart: the subscriber keeps going by itself.
herald_stop; expect_eq "herald exits 0 on SIGTERM" 0 $?
wait_for "$WORK/sub.err" 'reconnecting \(attempt 1\)' && ok "subscriber notices the shutdown and retries" || fail "$(cat "$WORK/sub.err")"
expect_match "the drop was the 1001 shutdown close" '1001' "$(grep -m1 reconnecting "$WORK/sub.err")"
kill -0 "$SUB" 2>/dev/null && ok "the subscriber is still running while herald is down" || fail "subscriber exited: $(cat "$WORK/sub.err")"
# a failed attempt against the closed port, and the next one waiting
wait_for "$WORK/sub.err" 'reconnecting \(attempt 2\)' && ok "it retries while herald is down" || fail "$(cat "$WORK/sub.err")"
herald_restart
# Published at once, most likely while the subscriber still waits out its
# back-off: it then comes through the resume's replay.
ids+=("$("$CLI" publish chat.message '{"n":4}' --room r1)")
wait_for "$WORK/sub.err" "resumed after ${ids[2]}" && ok "subscriber reconnects and resumes after the last id" || fail "$(cat "$WORK/sub.err")"
ids+=("$("$CLI" publish chat.message '{"n":5}' --user u1)")
wait_for "$WORK/sub.out" '"n":5' && ok "events published after the restart arrive" || fail "$(cat "$WORK/sub.out")"

expect_eq "every event exactly once, in order" '"n":1 "n":2 "n":3 "n":4 "n":5' \
  "$(grep -o '"n":[0-9]' "$WORK/sub.out" | tr '\n' ' ' | sed 's/ $//')"
got=$(sed -n 's/^{"id":"\([0-9]*\)".*/\1/p' "$WORK/sub.out" | tr '\n' ' ' | sed 's/ $//')
expect_eq "with the published ids" "${ids[*]}" "$got"
prev=0; inc=1
for i in $got; do [ "$i" -gt "$prev" ] || inc=0; prev=$i; done
expect_eq "ids strictly increasing" 1 "$inc"
expect_eq "one line per event (no duplicate)" 5 "$(wc -l < "$WORK/sub.out")"

kill -INT "$SUB"; wait "$SUB"; expect_eq "subscribe exits 0 on Ctrl-C" 0 $?
[ -n "${VERBOSE:-}" ] && sed "s/^/# /" "$WORK/sub.err"

# --since: a fresh subscriber replays what it missed after that id.
"$CLI" subscribe --token "$UTOKEN" --since "${ids[1]}" > "$WORK/since.out" 2> "$WORK/since.err" &
SINCE=$!; PIDS+=("$SINCE")
wait_for "$WORK/since.out" '"n":5' && ok "--since replays older events" || fail "$(cat "$WORK/since.out" "$WORK/since.err")"
expect_eq "exactly the events after that id" '"n":3 "n":4 "n":5' \
  "$(grep -o '"n":[0-9]' "$WORK/since.out" | tr '\n' ' ' | sed 's/ $//')"
expect_match "and says where it resumed" "resumed after ${ids[1]}" "$(cat "$WORK/since.err")"
kill -TERM "$SINCE"; wait "$SINCE"; expect_eq "subscribe exits 0 on SIGTERM" 0 $?

# A peer token works too (--peer-token), and the library example.
"$CLI" room create --room-id r9 > /dev/null
PTOKEN=$("$CLI" peer add r9 --token-only)
"$CLI" subscribe --peer-token "$PTOKEN" > "$WORK/peer.out" 2> "$WORK/peer.err" &
PS=$!; PIDS+=("$PS")
wait_for "$WORK/peer.err" 'subscribed' && ok "subscribe --peer-token authenticates" || fail "$(cat "$WORK/peer.err")"
"$CLI" publish chat.message '{"n":9}' --room r9 > /dev/null
wait_for "$WORK/peer.out" '"n":9' && ok "the peer's room event arrives" || fail "$(cat "$WORK/peer.out")"
kill -INT "$PS"; wait "$PS"; expect_eq "and exits 0 on Ctrl-C" 0 $?

"$BUILD/examples/example_subscribe" "$UTOKEN" "${ids[3]}" > "$WORK/ex.out" 2> "$WORK/ex.err" &
EX=$!; PIDS+=("$EX")
wait_for "$WORK/ex.out" '^#[0-9]+ chat.message data=\{"n":5\}' && ok "example_subscribe replays from SINCE" || fail "$(cat "$WORK/ex.out" "$WORK/ex.err")"
kill -INT "$EX"; wait "$EX"; expect_eq "example_subscribe exits 0 on Ctrl-C" 0 $?
expect_match "and prints where to resume" "next time: .* ${ids[4]}" "$(cat "$WORK/ex.err")"

# An invalid token: no retry, exit 1 with the close.
"$CLI" subscribe --token not.a.jwt > /dev/null 2> "$WORK/bad.err"; rc=$?
expect_eq "an invalid token exits 1" 1 "$rc"
expect_match "with 4003 on stderr" 'connection closed: 4003 ' "$(cat "$WORK/bad.err")"
expect_eq "without retrying" 0 "$(grep -c reconnecting "$WORK/bad.err")"
BAD=$("$CLI" token --user u1 --rooms r1 --secret wrong)
"$CLI" subscribe --token "$BAD" > /dev/null 2> "$WORK/bad2.err"; rc=$?
expect_match "a token signed with another secret: exit 1, 4003" '^1 .*4003' "$rc $(cat "$WORK/bad2.err")"

# --no-reconnect gives up at the first drop.
"$CLI" subscribe --token "$UTOKEN" --no-reconnect > /dev/null 2> "$WORK/nr.err" &
NR=$!; PIDS+=("$NR")
wait_for "$WORK/nr.err" 'subscribed' && ok "--no-reconnect subscribes" || fail "$(cat "$WORK/nr.err")"
herald_stop
wait "$NR"; rc=$?
expect_eq "--no-reconnect exits 1 when the server goes away" 1 "$rc"
expect_match "with 1001" 'connection closed: 1001' "$(cat "$WORK/nr.err")"

out=$("$CLI" subscribe 2>&1); rc=$?
expect_eq "subscribe without a token is a usage error" 2 "$rc"
if grep -qE "ERROR: AddressSanitizer|runtime error:|LeakSanitizer" "$WORK"/*.err; then
  fail "sanitizer report from herald-cli"; grep -h -A20 -E "AddressSanitizer|runtime error:|LeakSanitizer" "$WORK"/*.err | head -40
else ok "herald-cli has no sanitizer report"; fi
finish
