# SPDX-License-Identifier: MIT
# test_publish_stream.sh — herald-cli publish --stream (the client
# library's herald_publisher over GET /v1/events/websocket) against a real
# herald, as a user runs it: JSON lines on stdin, the ids printed in line
# order and equal to what GET /v1/events then holds; a refused line in the
# middle is named (line number, the server's own message, the same as
# POST /v1/events gives) and the lines before and after it are still
# published; a line that is not UTF-8 is refused without being sent, and
# the connection survives it; a small window keeps many lines flowing; a
# wrong token is refused.
. "$(dirname "$0")/lib.sh"
herald_start
export HERALD_SERVER=$URL

# The ids of the stored events of one type, in id order, one per line.
stored_ids() { # type
  "$CLI" history --type "$1" | python3 -c 'import json,sys; [print(json.loads(l)["id"]) for l in sys.stdin]'
}
# The "n" of the stored events of one type, space-separated.
stored_ns() { # type
  "$CLI" history --type "$1" | python3 -c 'import json,sys; print(" ".join(str(json.loads(l)["data"]["n"]) for l in sys.stdin))'
}

# 1. 300 lines, one of them an array of two: 301 ids, in line order.
python3 -c '
for i in range(1, 301):
    if i == 150:
        print("[{\"type\":\"stream.one\",\"data\":{\"n\":150}},{\"type\":\"stream.one\",\"data\":{\"n\":1500}}]")
    else:
        print("{\"type\":\"stream.one\",\"data\":{\"n\":%d}}" % i)
' > "$WORK/one.jsonl"
"$CLI" publish --stream < "$WORK/one.jsonl" > "$WORK/one.out" 2> "$WORK/one.err"; rc=$?
expect_eq "--stream exits 0 when every line is published" 0 "$rc"
expect_eq "and says nothing on stderr" "" "$(cat "$WORK/one.err")"
expect_eq "it prints one id per event (300 lines, one an array of 2)" 301 "$(wc -l < "$WORK/one.out")"
expect_eq "the ids are those GET /v1/events holds, in the same order" "$(stored_ids stream.one)" "$(cat "$WORK/one.out")"
expected=$(python3 -c 'print(" ".join(str(n) for i in range(1, 301) for n in ([150, 1500] if i == 150 else [i])))')
expect_eq "in line order" "$expected" "$(stored_ns stream.one)"

# 2. A refused line in the middle (and a second one after it).
printf '%s\n' '{"type":"stream.two","data":{"n":1}}' '{"type":"stream.two","data":{"n":2}}' \
  '{"type":"stream.two","data":{"n":3}}' '{"type":"Not A Type","data":{"n":4}}' '' \
  '{"type":"stream.two","data":{"n":6}}' 'not json' '{"type":"stream.two","data":{"n":8}}' \
  > "$WORK/two.jsonl"
"$CLI" publish --stream < "$WORK/two.jsonl" > "$WORK/two.out" 2> "$WORK/two.err"; rc=$?
expect_eq "a refused line makes --stream exit 1" 1 "$rc"
post_msg=$(curl -s -X POST "$URL/v1/events" "${auth[@]}" -d '{"type":"Not A Type","data":{"n":4}}' |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["errors"])')
expect_match "POST /v1/events refuses that body too" 'type' "$post_msg"
expect_eq "the refused line is named with its number and the server's (POST's) message" \
  "herald-cli: stdin line 4: $post_msg (HTTP 400)" "$(grep 'stdin line 4:' "$WORK/two.err" | head -1)"
expect_match "so is the second (not JSON)" '^herald-cli: stdin line 7: .*JSON.* \(HTTP 400\)$' \
  "$(grep 'stdin line 7:' "$WORK/two.err" | head -1)"
expect_match "the last line names the first refused one" \
  "^herald-cli: publish --stream: 2 line\(s\) refused, the first: stdin line 4: " "$(tail -1 "$WORK/two.err")"
expect_eq "the lines before and after it are published (ids printed)" 5 "$(wc -l < "$WORK/two.out")"
expect_eq "and stored, in order" "1 2 3 6 8" "$(stored_ns stream.two)"
expect_eq "the printed ids are the stored ones" "$(stored_ids stream.two)" "$(cat "$WORK/two.out")"

# 3. A line that is not UTF-8: the server would close the connection for
# it (1007); it is refused without being sent and the stream goes on.
printf '{"type":"stream.three","data":{"n":1}}\n{"type":"stream.three","data":{"s":"\xff"}}\n{"type":"stream.three","data":{"n":3}}\n' \
  > "$WORK/three.jsonl"
"$CLI" publish --stream < "$WORK/three.jsonl" > "$WORK/three.out" 2> "$WORK/three.err"; rc=$?
expect_eq "a line that is not UTF-8 makes --stream exit 1" 1 "$rc"
expect_match "it is named" '^herald-cli: stdin line 2: line is not valid UTF-8 \(not sent\)$' \
  "$(grep '^herald-cli: stdin line 2:' "$WORK/three.err")"
expect_eq "the lines around it are published (the connection was not closed for it)" "1 3" "$(stored_ns stream.three)"
expect_eq "their ids printed" "$(stored_ids stream.three)" "$(cat "$WORK/three.out")"

# 4. A window of 8 with 3000 lines: the client waits for answers to send more.
python3 -c '
for i in range(1, 3001): print("{\"type\":\"stream.four\",\"data\":{\"n\":%d}}" % i)' > "$WORK/four.jsonl"
"$CLI" publish --stream --window 8 < "$WORK/four.jsonl" > "$WORK/four.out" 2> "$WORK/four.err"; rc=$?
expect_eq "--window 8: 3000 lines exit 0" 0 "$rc"
expect_eq "3000 ids printed" 3000 "$(wc -l < "$WORK/four.out")"
expect_eq "equal to the stored ones, in order" "$(stored_ids stream.four)" "$(cat "$WORK/four.out")"

# 5. --json prints each answer frame.
echo '{"type":"stream.five"}' | "$CLI" publish --stream --json > "$WORK/five.out"
id=$(stored_ids stream.five)
expect_eq "--json prints the server's answer" "{\"seq\":1,\"ids\":[\"$id\"]}" "$(cat "$WORK/five.out")"

# 6. A wrong token: refused at the upgrade (401), exit 1, nothing published.
echo '{"type":"stream.six"}' | "$CLI" --token wrong publish --stream > "$WORK/six.out" 2> "$WORK/six.err"; rc=$?
expect_eq "a wrong token exits 1" 1 "$rc"
expect_match "naming the refusal" '401' "$(cat "$WORK/six.err")"
expect_eq "and publishes nothing" "" "$(stored_ids stream.six)"

# 7. Usage errors.
"$CLI" publish --stream some.type < /dev/null 2> "$WORK/u.err"; rc=$?
expect_eq "--stream with a TYPE is a usage error" 2 "$rc"
"$CLI" publish --stream --window 0 < /dev/null 2> /dev/null; rc=$?
expect_eq "--window 0 is a usage error" 2 "$rc"

kill -0 "$HERALD_PID" && ok "herald is still up" || fail "herald died"

# 8. The server shuts down mid-stream: the lines it answered are printed,
# the first line after that is named as not published (or unknown), exit 1.
mkfifo "$WORK/eight.fifo"
"$CLI" publish --stream < "$WORK/eight.fifo" > "$WORK/eight.out" 2> "$WORK/eight.err" &
EIGHT=$!; PIDS+=("$EIGHT")
exec 7> "$WORK/eight.fifo"
printf '%s\n' '{"type":"stream.eight","data":{"n":1}}' '{"type":"stream.eight","data":{"n":2}}' >&7
lines_in() { [ "$(wc -l < "$1")" -eq "$2" ]; } # file count
eventually lines_in "$WORK/eight.out" 2 && ok "each line's id is printed before the next line comes" ||
  fail "the first two ids never came"
ids8=$(stored_ids stream.eight)
herald_stop; expect_eq "herald exits 0 on SIGTERM with a publishing socket open" 0 $?
printf '%s\n' '{"type":"stream.eight","data":{"n":3}}' >&7
exec 7>&-
wait "$EIGHT"; rc=$?
expect_eq "--stream exits 1 when the server goes away" 1 "$rc"
expect_eq "the lines answered before were printed" "$ids8" "$(cat "$WORK/eight.out")"
expect_match "the first line after it is named, with the server's close (1001)" \
  'stdin line 3.*1001|1001.*stdin line 3' "$(cat "$WORK/eight.err")"
finish
