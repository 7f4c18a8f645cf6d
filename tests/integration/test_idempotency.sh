# SPDX-License-Identifier: MIT
# test_idempotency.sh — idempotent publish (issue 18 item 1).
#
# POST /v1/events (and POST /push_events) with an Idempotency-Key header,
# and batches with an idempotency_key per event: a repeat within the window stores nothing
# and answers the first ids (201, Idempotent-Replayed: true); a key reused
# with another body is a 409; keys survive a clean restart and kill -9;
# many requests with one key at once store one event; a key past its
# window (a small --idempotency-window) publishes again.
. "$(dirname "$0")/lib.sh"
herald_start

# "<status> <ids> <replayed header>" of a publish with key $1 and body $2.
pub() { # key body [extra curl args]
  local key=$1 body=$2; shift 2
  local hdr=()
  [ -n "$key" ] && hdr=(-H "Idempotency-Key: $key")
  curl -s -D "$WORK/h" -o "$WORK/b" -w '%{http_code}' -X POST "$URL/v1/events" "${auth[@]}" \
    "${hdr[@]}" -d "$body" "$@" > "$WORK/s"
  local rep
  rep=$(tr -d '\r' < "$WORK/h" | sed -n 's/^[Ii]dempotent-[Rr]eplayed: *//p')
  echo "$(cat "$WORK/s") $(tr -d '\n' < "$WORK/b") ${rep:-fresh}"
}
count_type() { # type: events of that type in history
  curl -s "${auth[@]}" "$URL/v1/events?since=0&limit=10000&type=$1" | grep -o '"id":"[0-9]*"' | wc -l
}

# --- the header key ---
a=$(pub k-one '{"type":"idem.one","data":{"n":1}}')
expect_match "first publish with a key is stored" '^201 \{"ids":\["[0-9]+"\]\} fresh$' "$a"
b=$(pub k-one '{"type":"idem.one","data":{"n":1}}')
expect_eq "the same key and body again answers the first ids, replayed" \
  "${a% fresh} true" "$b"
expect_eq "one event in history" 1 "$(count_type idem.one)"
c=$(pub k-one '{"type":"idem.one","data":{"n":2}}')
expect_eq "the key with another body is a 409 naming it" \
  '409 {"errors":"Idempotency-Key k-one was used with a different body"} fresh' "$c"
expect_eq "still one event after the 409" 1 "$(count_type idem.one)"
d=$(pub k-two '{"type":"idem.one","data":{"n":1}}')
[ "${d% fresh}" != "${a% fresh}" ] && [[ "$d" == 201* ]] && ok "another key publishes anew" ||
  fail "another key: $d"

# a batch under one header key
ba=$(pub k-batch '[{"type":"idem.batch"},{"type":"idem.batch","room_id":"r"}]')
bb=$(pub k-batch '[{"type":"idem.batch"},{"type":"idem.batch","room_id":"r"}]')
expect_match "a batch under a key gets two ids" '^201 \{"ids":\["[0-9]+","[0-9]+"\]\} fresh$' "$ba"
expect_eq "the batch repeated answers both first ids" "${ba% fresh} true" "$bb"
expect_eq "two events of the batch in history" 2 "$(count_type idem.batch)"

# --- per-event keys ---
e1=$(pub "" '[{"type":"idem.ev","idempotency_key":"e-1"},{"type":"idem.ev","idempotency_key":"e-2"}]')
e2=$(pub "" '[{"type":"idem.ev","idempotency_key":"e-2"},{"type":"idem.ev","idempotency_key":"e-3"},{"type":"idem.ev"}]')
id1=$(echo "$e1" | grep -o '"[0-9]*"' | sed -n 2p)
first2=$(echo "$e2" | grep -o '"[0-9]*"' | sed -n 1p)
expect_eq "a per-event key seen before answers that event's first id" "$id1" "$first2"
expect_match "the other events of the batch are new, replayed marked" '^201 .* true$' "$e2"
expect_eq "four idem.ev events stored (e-1, e-2, e-3, unkeyed)" 4 "$(count_type idem.ev)"
e3=$(pub "" '[{"type":"idem.ev","data":{"x":1},"idempotency_key":"e-3"},{"type":"idem.ev"}]')
expect_eq "a per-event key with another event is a 409 and stores nothing" \
  '409 {"errors":"events[0].idempotency_key e-3 was used with a different event"} fresh' "$e3"
expect_eq "still four idem.ev events" 4 "$(count_type idem.ev)"
e4=$(pub k-mix '[{"type":"idem.ev","idempotency_key":"e-9"}]')
expect_match "header and per-event keys together are a 400" '^400 .*not both' "$e4"

# --- /push_events items ---
push() { # body: "<status> <body> <replayed>"
  curl -s -D "$WORK/h" -o "$WORK/b" -w '%{http_code}' -X POST "$URL/push_events" "${auth[@]}" \
    -d "$1" > "$WORK/s"
  local rep
  rep=$(tr -d '\r' < "$WORK/h" | sed -n 's/^[Ii]dempotent-[Rr]eplayed: *//p')
  echo "$(cat "$WORK/s") $(cat "$WORK/b") ${rep:-fresh}"
}
access_count() { # user: access events stored for that accessid
  curl -s "${auth[@]}" "$URL/v1/events?since=0&limit=10000&user_id=$1" | grep -o '"id":"[0-9]*"' | wc -l
}
p1=$(push '[{"accessid":"acc1","payload":{"v":1},"idempotency_key":"push-1"}]')
expect_eq "/push_events with an item key is stored" "200 true fresh" "$p1"
p2=$(push '[{"accessid":"acc1","payload":{"v":1},"idempotency_key":"push-1"},{"accessid":"acc1","payload":{"v":2}}]')
expect_eq "/push_events: the keyed item again is replayed, the other stored" "200 true true" "$p2"
expect_eq "/push_events: two access events stored" 2 "$(access_count acc1)"
p3=$(push '[{"accessid":"acc1","payload":{"v":3},"idempotency_key":"push-1"}]')
expect_match "/push_events: the key with another item is a 409" '^409 .*events\[0\]\.idempotency_key push-1 was used with a different event' "$p3"
long=$(printf 'k%.0s' $(seq 1 256))
p4=$(push "[{\"accessid\":\"acc1\",\"payload\":{},\"idempotency_key\":\"$long\"}]")
expect_match "/push_events: a 256-character key is a 400 naming the field" '^400 .*events\[0\]\.idempotency_key must be 1 to 255' "$p4"
expect_eq "/push_events: still two access events" 2 "$(access_count acc1)"
hpush() { # key body: push with the Idempotency-Key header
  curl -s -D "$WORK/h" -o "$WORK/b" -w '%{http_code}' -X POST "$URL/push_events" "${auth[@]}" \
    -H "Idempotency-Key: $1" -d "$2" > "$WORK/s"
  local rep
  rep=$(tr -d '\r' < "$WORK/h" | sed -n 's/^[Ii]dempotent-[Rr]eplayed: *//p')
  echo "$(cat "$WORK/s") $(cat "$WORK/b") ${rep:-fresh}"
}
expect_eq "/push_events with the Idempotency-Key header is stored" "200 true fresh" \
  "$(hpush push-h '[{"accessid":"acc2","payload":{"v":1}},{"accessid":"acc2","payload":{"v":2}}]')"
expect_eq "/push_events: the header key and body again are replayed" "200 true true" \
  "$(hpush push-h '[{"accessid":"acc2","payload":{"v":1}},{"accessid":"acc2","payload":{"v":2}}]')"
expect_eq "/push_events: the header key with another body is a 409 naming it" \
  '409 {"errors":"Idempotency-Key push-h was used with a different body"} fresh' \
  "$(hpush push-h '[{"accessid":"acc2","payload":{"v":3}}]')"
expect_match "/push_events: the header and an item key together are a 400" '^400 .*events\[0\]\.idempotency_key: .*not both' \
  "$(hpush push-h2 '[{"accessid":"acc2","payload":{"v":4},"idempotency_key":"i"}]')"
expect_match "/push_events: a bad header key is a 400 naming the header" '^400 .*Idempotency-Key must be 1 to 255' \
  "$(hpush 'a b' '[{"accessid":"acc2","payload":{"v":5}}]')"
expect_eq "/push_events: two access events of acc2" 2 "$(access_count acc2)"

# --- bad keys ---
h1=$(pub "$long" '{"type":"idem.bad"}')
expect_match "a 256-character Idempotency-Key is a 400 naming the header" '^400 .*Idempotency-Key must be 1 to 255' "$h1"
h2=$(pub "" '[{"type":"idem.bad","idempotency_key":"a b"}]')
expect_match "a per-event key with a space is a 400 naming the field" '^400 .*events\[0\]\.idempotency_key must be' "$h2"
h3=$(pub "" '[{"type":"idem.bad","idempotency_key":"d"},{"type":"idem.bad","idempotency_key":"d"}]')
expect_match "a key repeated within one batch is a 400" '^400 .*events\[1\]\.idempotency_key repeats the key of events\[0\]' "$h3"
expect_eq "no idem.bad event stored" 0 "$(count_type idem.bad)"
k255=$(printf 'k%.0s' $(seq 1 255))
h4=$(pub "$k255" '{"type":"idem.max"}')
expect_match "a 255-character key is taken" '^201 ' "$h4"

# --- the CLI (and through it the C client's herald_publish_json_idem) ---
c1=$("$CLI" --server "$URL" publish idem.cli '{"n":1}' --idempotency-key cli-1 2>"$WORK/cli.err")
c2=$("$CLI" --server "$URL" publish idem.cli '{"n":1}' --idempotency-key cli-1 2>"$WORK/cli.err")
expect_eq "herald-cli publish --idempotency-key twice prints the same id" "$c1" "$c2"
expect_match "and says on stderr that the second was replayed" "replayed: idempotency key 'cli-1'" "$(cat "$WORK/cli.err")"
expect_eq "one idem.cli event" 1 "$(count_type idem.cli)"
"$CLI" --server "$URL" publish idem.cli '{"n":2}' --idempotency-key cli-1 >/dev/null 2>"$WORK/cli.err"
rc=$?
[ "$rc" -ne 0 ] && grep -q "Idempotency-Key cli-1 was used with a different body (HTTP 409)" "$WORK/cli.err" &&
  ok "herald-cli: the key with another event fails naming the 409" || fail "rc $rc: $(cat "$WORK/cli.err")"
"$CLI" --server "$URL" publish idem.cli --idempotency-key 'a b' >/dev/null 2>"$WORK/cli.err"
rc=$?
[ "$rc" -ne 0 ] && grep -q "printable ASCII" "$WORK/cli.err" &&
  ok "herald-cli: a key with a space is refused before sending" || fail "rc $rc: $(cat "$WORK/cli.err")"

l1=$(printf '{"type":"idem.lines","idempotency_key":"line-1"}\n{"type":"idem.lines"}\n' |
  "$CLI" --server "$URL" publish 2>"$WORK/cli.err" | head -1)
l2=$(printf '{"type":"idem.lines","idempotency_key":"line-1"}\n' | "$CLI" --server "$URL" publish 2>"$WORK/cli.err")
expect_eq "herald-cli publish from stdin: a line's own idempotency_key replays its first id" "$l1" "$l2"
expect_match "and stderr says some events were replayed" "replayed: some events' idempotency_key" "$(cat "$WORK/cli.err")"

# --- survives restart and kill -9 ---
herald_stop
herald_start
r1=$(pub k-one '{"type":"idem.one","data":{"n":1}}')
expect_eq "after a restart the key still replays" "${a% fresh} true" "$r1"
k9=$(pub k-nine '{"type":"idem.nine"}')
kill -9 "$HERALD_PID"; wait "$HERALD_PID" 2>/dev/null
herald_start
r2=$(pub k-nine '{"type":"idem.nine"}')
expect_eq "after kill -9 the key still replays" "${k9% fresh} true" "$r2"
expect_eq "one idem.nine event after kill -9" 1 "$(count_type idem.nine)"

# --- one key in flight many times at once on one node, in one group commit ---
for round in 1 2 3 4 5; do
  out=$(python3 "$(dirname "$0")/idem_burst.py" "$PORT" "race-$round" "idem.race$round" 16)
  expect_eq "round $round: sixteen requests with one key at once get one answer, all 201" "1 201" "$out"
  expect_eq "round $round: and store one event" 1 "$(count_type idem.race$round)"
done
herald_stop

# --- the window: a small one, then the key publishes anew ---
DATA_DIR=$WORK/data-window herald_start --idempotency-window 0.3
w1=$(pub k-win '{"type":"idem.win"}')
expect_match "published under a key with a 0.3 s window" '^201 ' "$w1"
anew() { # a fresh 201 with another id than the first
  local r
  r=$(pub k-win '{"type":"idem.win"}')
  [[ "$r" == 201*fresh ]] && [ "${r% fresh}" != "${w1% fresh}" ]
}
eventually anew && ok "past the window the same key publishes a new event" ||
  fail "the key was still replayed after the window"
expect_eq "two idem.win events once the window passed" 2 "$(count_type idem.win)"
herald_stop
finish
