# SPDX-License-Identifier: MIT
# test_publish_socket_idempotency.sh — idempotency keys on the publishing
# socket (issue 18 item 1), driven by the real client: herald-cli publish
# --stream (the C library's herald_publisher over GET /v1/events/websocket).
# A frame's events carry "idempotency_key" as a POST /v1/events batch does:
# a repeat (in the same stream, a later stream, after a restart and after
# kill -9, or first sent over HTTP) stores nothing and answers the first
# ids with "replayed":true; a key used with another event is a 409 for that
# line alone, the lines around it are published; bad keys are POST's 400s;
# keyed and unkeyed lines pipelined keep their order; the /metrics
# counters herald_publish_idempotent_replays_total and
# herald_publish_idempotency_conflicts_total count replays and 409s of
# every path (HTTP and socket).
. "$(dirname "$0")/lib.sh"
herald_start
export HERALD_SERVER=$URL

stream() { # [cli args…]: stdin lines over one publishing socket, --json answers
  "$CLI" publish --stream --json "$@" 2>"$WORK/stream.err"
}
count_type() { # type: events of that type in history
  curl -s "${auth[@]}" "$URL/v1/events?since=0&limit=10000&type=$1" | grep -o '"id":"[0-9]*"' | wc -l
}
stored_ids() { # type: ids in history, one per line
  "$CLI" history --type "$1" | python3 -c 'import json,sys; [print(json.loads(l)["id"]) for l in sys.stdin]'
}
idof() { # an answer frame: its ids, space-separated
  python3 -c 'import json,sys; print(" ".join(json.loads(sys.stdin.read())["ids"]))'
}
metric() { # name
  curl -s "$URL/metrics" | sed -n "s/^$1 //p"
}
post() { # body [curl args]: "<status> <body> <replayed header>"
  local body=$1; shift
  curl -s -D "$WORK/h" -o "$WORK/b" -w '%{http_code}' -X POST "$URL/v1/events" "${auth[@]}" \
    -d "$body" "$@" > "$WORK/s"
  local rep
  rep=$(tr -d '\r' < "$WORK/h" | sed -n 's/^[Ii]dempotent-[Rr]eplayed: *//p')
  echo "$(cat "$WORK/s") $(tr -d '\n' < "$WORK/b") ${rep:-fresh}"
}

expect_eq "/metrics starts with no replay" 0 "$(metric herald_publish_idempotent_replays_total)"
expect_eq "/metrics starts with no conflict" 0 "$(metric herald_publish_idempotency_conflicts_total)"

# 1. One stream: a key, the same line again, the key with another event, a
# batch mixing a new key, no key and the first key, then a line without key.
printf '%s\n' '{"type":"ps.one","data":{"n":1},"idempotency_key":"s-1"}' \
  '{"type":"ps.one","data":{"n":1},"idempotency_key":"s-1"}' \
  '{"type":"ps.one","data":{"n":2},"idempotency_key":"s-1"}' \
  '[{"type":"ps.one","idempotency_key":"s-2"},{"type":"ps.one"},{"type":"ps.one","data":{"n":1},"idempotency_key":"s-1"}]' \
  '{"type":"ps.one","data":{"n":5}}' > "$WORK/one.jsonl"
stream < "$WORK/one.jsonl" > "$WORK/one.out"; rc=$?
expect_eq "a line refused for its key makes --stream exit 1" 1 "$rc"
mapfile -t ans < "$WORK/one.out"
first=$(echo "${ans[0]}" | idof)
expect_eq "line 1 is published" "{\"seq\":1,\"ids\":[\"$first\"]}" "${ans[0]}"
expect_eq "line 2, the same key and event, answers line 1's id, replayed" \
  "{\"seq\":2,\"ids\":[\"$first\"],\"replayed\":true}" "${ans[1]}"
expect_match "line 4: the new key and the unkeyed event are new, the key of line 1 answers its id" \
  "^\{\"seq\":4,\"ids\":\[\"[0-9]+\",\"[0-9]+\",\"$first\"\],\"replayed\":true\}$" "${ans[2]}"
expect_match "line 5 is published" '^\{"seq":5,"ids":\["[0-9]+"\]\}$' "${ans[3]}"
expect_eq "line 3, the key with another event, is a 409 naming it; the lines around it are published" \
  "herald-cli: stdin line 3: events[0].idempotency_key s-1 was used with a different event (HTTP 409)" \
  "$(grep 'stdin line 3:' "$WORK/stream.err" | head -1)"
expect_eq "four ps.one events stored (lines 1, 4 twice, 5)" 4 "$(count_type ps.one)"
ids4=$(echo "${ans[2]}" | idof); ids5=$(echo "${ans[3]}" | idof)
expect_eq "the stored ids are those answered, in line order" \
  "$(stored_ids ps.one | tr '\n' ' ')" "$first ${ids4% *} $ids5 "

# 2. A later stream repeats line 1 (plain output): its id, and stderr names the replay.
out=$(printf '%s\n' '{"type":"ps.one","data":{"n":1},"idempotency_key":"s-1"}' | "$CLI" publish --stream 2>"$WORK/two.err")
expect_eq "another connection: the key answers the first id" "$first" "$out"
expect_eq "and herald-cli says the line was replayed" \
  "herald-cli: stdin line 1: replayed: its idempotency_key was used before; the ids are the ones it got then" \
  "$(cat "$WORK/two.err")"
expect_eq "still four ps.one events" 4 "$(count_type ps.one)"

# 3. One key space with HTTP: per-event keys both ways; the header key too.
h1=$(post '[{"type":"ps.x","room_id":"r1","idempotency_key":"x-1"}]')
hid=$(echo "$h1" | grep -o '[0-9][0-9]*' | sed -n 2p)
s1=$(echo '{"type":"ps.x","room_id":"r1","idempotency_key":"x-1"}' | stream)
expect_eq "a key first published over HTTP replays on the socket" \
  "{\"seq\":1,\"ids\":[\"$hid\"],\"replayed\":true}" "$s1"
s2=$(echo '{"type":"ps.x","data":{"k":2},"idempotency_key":"x-2"}' | stream)
sid=$(echo "$s2" | idof)
expect_eq "a key first published on the socket replays over HTTP" \
  "201 {\"ids\":[\"$sid\"]} true" "$(post '[{"type":"ps.x","data":{"k":2},"idempotency_key":"x-2"}]')"
expect_eq "and over HTTP with another event it is a 409" \
  '409 {"errors":"events[0].idempotency_key x-2 was used with a different event"} fresh' \
  "$(post '[{"type":"ps.x","data":{"k":3},"idempotency_key":"x-2"}]')"
post '{"type":"ps.x"}' -H 'Idempotency-Key: x-3' > /dev/null
echo '{"type":"ps.x","idempotency_key":"x-3"}' | stream > /dev/null
expect_eq "an Idempotency-Key header's key on the socket (another content: the body's hash) is a 409" \
  'herald-cli: stdin line 1: events[0].idempotency_key x-3 was used with a different event (HTTP 409)' \
  "$(head -1 "$WORK/stream.err")"
expect_eq "three ps.x events stored" 3 "$(count_type ps.x)"

# 4. Bounds: POST's 400s, frame by frame.
long=$(printf 'k%.0s' $(seq 1 256)); k255=${long:1}
printf '%s\n' "{\"type\":\"ps.bad\",\"idempotency_key\":\"$long\"}" '[{"type":"ps.bad","idempotency_key":"a b"}]' \
  '[{"type":"ps.bad","idempotency_key":"d"},{"type":"ps.bad","idempotency_key":"d"}]' \
  '{"type":"ps.bad","idempotency_key":""}' '{"type":"ps.bad","idempotency_key":7}' \
  "{\"type\":\"ps.max\",\"idempotency_key\":\"$k255\"}" > "$WORK/four.jsonl"
stream < "$WORK/four.jsonl" > "$WORK/four.out"
expect_match "a 256-character key is a 400 naming the field" \
  'line 1: idempotency_key must be 1 to 255 printable ASCII characters \(no spaces\) \(HTTP 400\)' "$(cat "$WORK/stream.err")"
expect_match "a key with a space is a 400" 'line 2: events\[0\]\.idempotency_key must be 1 to 255' "$(cat "$WORK/stream.err")"
expect_match "a key twice in one frame is a 400" 'line 3: events\[1\]\.idempotency_key repeats the key of events\[0\]' "$(cat "$WORK/stream.err")"
expect_match "an empty key is a 400" 'line 4: idempotency_key must be' "$(cat "$WORK/stream.err")"
expect_match "a key that is not a string is a 400" 'line 5: idempotency_key must be' "$(cat "$WORK/stream.err")"
expect_match "a 255-character key is taken" '^\{"seq":6,"ids":\["[0-9]+"\]\}$' "$(cat "$WORK/four.out")"
expect_eq "no ps.bad event stored" 0 "$(count_type ps.bad)"

# 5. Pipelined: 600 lines, every third without a key, every fifth repeating
# an earlier line's key (the same event): in line order, and replayed whole.
python3 -c '
for i in range(1, 601):
    if i % 3 == 0: print("{\"type\":\"ps.pipe\",\"data\":{\"n\":%d}}" % i)
    elif i % 5 == 0: print("{\"type\":\"ps.pipe\",\"data\":{\"n\":%d},\"idempotency_key\":\"p-%d\"}" % (i - 4, i - 4))
    else: print("{\"type\":\"ps.pipe\",\"data\":{\"n\":%d},\"idempotency_key\":\"p-%d\"}" % (i, i))
' > "$WORK/pipe.jsonl"
"$CLI" publish --stream < "$WORK/pipe.jsonl" > "$WORK/pipe.out" 2>"$WORK/pipe.err"; rc=$?
expect_eq "600 pipelined lines with keys exit 0" 0 "$rc"
expect_eq "600 ids printed" 600 "$(wc -l < "$WORK/pipe.out")"
python3 - "$WORK/pipe.jsonl" "$WORK/pipe.out" > "$WORK/pipe.check" <<'PY'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
ids = [int(l) for l in open(sys.argv[2])]
first, new = {}, []
for l, i in zip(lines, ids):
    k = l.get("idempotency_key")
    if k in first:
        print("ok" if first[k] == i else "line key %s: %d, first %d" % (k, i, first[k]))
        continue
    if k:
        first[k] = i
    new.append(i)
print("ordered" if new == sorted(new) and len(set(new)) == len(new) else "not in order")
print("new %d" % len(new))
print(" ".join(map(str, new)))
PY
expect_eq "each repeated key answers its first line's id" "" "$(grep -v '^ok$\|^ordered$\|^new ' "$WORK/pipe.check" | head -n -1)"
expect_eq "the new ids increase in line order" ordered "$(sed -n '/^ordered$\|^not in order$/p' "$WORK/pipe.check")"
expect_eq "they are the stored ones" "$(tail -1 "$WORK/pipe.check")" "$(stored_ids ps.pipe | tr '\n' ' ' | sed 's/ $//')"
"$CLI" publish --stream < "$WORK/pipe.jsonl" > "$WORK/pipe2.out" 2>/dev/null
paste -d' ' "$WORK/pipe.jsonl" "$WORK/pipe.out" "$WORK/pipe2.out" | grep idempotency_key |
  awk '$(NF-1) != $NF' > "$WORK/pipe.diff"
expect_eq "the whole stream again: every keyed line answers its first id" "" "$(head -3 "$WORK/pipe.diff")"
fresh=$(sed -n 's/^new //p' "$WORK/pipe.check")
expect_eq "only the 200 unkeyed lines stored again" $((fresh + 200)) "$(count_type ps.pipe)"

# 6. Restart and kill -9: the keys are durable.
herald_stop
herald_start
export HERALD_SERVER=$URL
expect_eq "after a restart the socket's key still replays" "{\"seq\":1,\"ids\":[\"$first\"],\"replayed\":true}" \
  "$(echo '{"type":"ps.one","data":{"n":1},"idempotency_key":"s-1"}' | stream)"
k9=$(echo '{"type":"ps.nine","idempotency_key":"nine"}' | stream | idof)
kill -9 "$HERALD_PID"; wait "$HERALD_PID" 2>/dev/null
herald_start
export HERALD_SERVER=$URL
expect_eq "after kill -9 the key answers its id" "{\"seq\":1,\"ids\":[\"$k9\"],\"replayed\":true}" \
  "$(echo '{"type":"ps.nine","idempotency_key":"nine"}' | stream)"
expect_eq "one ps.nine event" 1 "$(count_type ps.nine)"

# 7. /metrics counts replays (keys) and 409s (requests, frames) of every path.
r0=$(metric herald_publish_idempotent_replays_total); c0=$(metric herald_publish_idempotency_conflicts_total)
post '[{"type":"ps.nine","idempotency_key":"nine"}]' > /dev/null                 # +1 replay (HTTP)
post '[{"type":"ps.nine","data":{"o":1},"idempotency_key":"nine"}]' > /dev/null  # +1 conflict (HTTP)
printf '%s\n' '[{"type":"ps.nine","idempotency_key":"nine"},{"type":"ps.x","room_id":"r1","idempotency_key":"x-1"}]' \
  '{"type":"ps.nine","data":{"o":2},"idempotency_key":"nine"}' | stream > /dev/null  # +2 replays, +1 conflict
expect_eq "herald_publish_idempotent_replays_total counts each key replayed" $((r0 + 3)) \
  "$(metric herald_publish_idempotent_replays_total)"
expect_eq "herald_publish_idempotency_conflicts_total counts each 409" $((c0 + 2)) \
  "$(metric herald_publish_idempotency_conflicts_total)"
herald_stop
finish
