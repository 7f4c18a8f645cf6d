#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_webhook_window.sh — bounds on what webhook endpoints cost herald
# (issue 13, defect 8), on both engines:
#  1. a failing endpoint with a large backlog keeps at most --webhook-window
#     rows in memory (the gauge herald_webhook_queued; before the fix it
#     held the whole backlog), and once it recovers every event is
#     delivered exactly once, those never attempted before in row order
#     (one request at a time: --webhook-max-in-flight 1);
#  2. a disabled endpoint gets no rows (they would pin their events
#     against retention), its pending rows are closed (failed, "endpoint
#     disabled") without an attempt; once enabled it gets the events from
#     then on, and a replay brings the gap.
. "$(dirname "$0")/lib.sh"

redis_setup
redis_start

WINDOW=100
SCHEDULE=$(python3 -c 'print(",".join(["2"] * 40))') # retried every ~2 s for 80 s
queued() { curl -s "$URL/metrics" | sed -n 's/^herald_webhook_queued \([0-9]*\)$/\1/p'; }
pending() { curl -s "${auth[@]}" "$URL/v1/webhooks/$1" | jq -r .pending; }
pending_is() { [ "$(pending "$1")" = "$2" ]; }
lines_with() { jq -r --argjson s "$2" 'select(.status == $s) | .webhook_id' "$1" | sort -u | wc -l; }
has_ok() { [ "$(lines_with "$1" 204)" -ge "$2" ]; }
failed_seen() { [ "$(lines_with "$1" 503)" -ge "$2" ]; }

start_receiver() { # label -> sets HOOK, MODE, OUT
  MODE=$WORK/mode.$1 OUT=$WORK/recv.$1
  echo fail >"$MODE"
  python3 "$(dirname "$0")/webhook_switch.py" "$MODE" >"$OUT.out" 2>"$OUT.err" &
  PIDS+=($!)
  wait_for "$OUT.err" '^listening on ' || fail "$1: receiver did not start"
  HOOK=$(sed -n 's|^listening on \(.*\)$|\1|p' "$OUT.err")
}
add_endpoint() { # types
  http POST /v1/webhooks "${auth[@]}" -d "{\"url\":\"$HOOK/h\",\"event_types\":[\"$1\"]}" | sed 's/^201 //' | jq -r .id
}
publish() { # type from count -> prints the first id
  python3 -c 'import json,sys; t,f,n=sys.argv[1],int(sys.argv[2]),int(sys.argv[3]); print(json.dumps([{"type":t,"data":{"i":f+i}} for i in range(n)]))' \
    "$1" "$2" "$3" >"$WORK/batch.json"
  local r
  r=$(http POST /v1/events "${auth[@]}" --data-binary @"$WORK/batch.json")
  [[ "$r" == 201* ]] || { fail "publish $1: $r"; return; }
  echo "${r#201 }" | jq -r '.ids[0]'
}

check_window() { # label count, then herald flags
  local label=$1 n=$2; shift 2
  DATA_DIR=$WORK/data.$label herald_start --webhook-window $WINDOW --webhook-max-in-flight 1 \
    --webhook-retry-schedule "$SCHEDULE" "$@"
  start_receiver "$label"
  local ep
  ep=$(add_endpoint 'win.*')
  expect_match "$label: endpoint added" '^ep_' "$ep"
  local max=0 q first="" f
  for ((k = 0; k < n; k += 1000)); do
    f=$(publish win.item "$k" 1000)
    [ -n "$first" ] || first=$f
    q=$(queued); [ "${q:-0}" -gt "$max" ] && max=$q
  done
  eventually pending_is "$ep" "$n" || fail "$label: not all $n deliveries pending: $(pending "$ep")"
  eventually failed_seen "$OUT.out" "$WINDOW" || fail "$label: the window's rows were not attempted"
  q=$(queued); [ "${q:-0}" -gt "$max" ] && max=$q
  local rss
  rss=$(awk '/^VmRSS/ {print $2}' "/proc/$HERALD_PID/status")
  echo "# $label: $n pending, at most $max in memory, RSS ${rss} kB"
  expect_eq "$label: rows in memory stay within the window" yes "$([ "$max" -le "$WINDOW" ] && echo yes || echo "no ($max)")"
  expect_eq "$label: the rest were never attempted" "$WINDOW" "$(lines_with "$OUT.out" 503)"

  echo ok >"$MODE"
  WAIT_S=600 eventually has_ok "$OUT.out" "$n" || fail "$label: not all delivered: $(lines_with "$OUT.out" 204)"
  expect_eq "$label: each of the $n events delivered once" "$n $n" \
    "$(jq -r 'select(.status == 204) | .webhook_id' "$OUT.out" | wc -l) $(lines_with "$OUT.out" 204)"
  expect_eq "$label: each body is its own event's" 0 "$(jq -r --arg ep "$ep" --argjson f "$first" \
    'select(.status == 204 and (.webhook_id != "msg_\(.body.id)_\($ep)" or (.body.id | tonumber) - $f != .body.data.i)) | .webhook_id' \
    "$OUT.out" | wc -l)"
  # the events not attempted while it failed arrive in row order
  expect_eq "$label: in order" ok "$(python3 - "$OUT.out" <<'PY'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
tried = {l["webhook_id"] for l in lines if l["status"] == 503}
ids = [int(l["body"]["id"]) for l in lines if l["status"] == 204 and l["webhook_id"] not in tried]
print("ok" if ids == sorted(ids) else "out of order: %s" % [(a, b) for a, b in zip(ids, ids[1:]) if b < a][:5])
PY
)"
  eventually pending_is "$ep" 0 || fail "$label: still pending: $(pending "$ep")"
  eventually [ "$(queued)" = 0 ] || fail "$label: rows left in memory: $(queued)"
  herald_stop
}

check_disabled() { # label, then herald flags
  local label=$1; shift
  DATA_DIR=$WORK/data.dis.$label herald_start --webhook-retry-schedule "$SCHEDULE" "$@"
  start_receiver "dis.$label"
  local ep
  ep=$(add_endpoint 'dis.*')
  expect_match "$label: endpoint added" '^ep_' "$ep"
  publish dis.before 0 10 >/dev/null
  expect_eq "$label: 10 deliveries pending" 10 "$(pending "$ep")"
  eventually failed_seen "$OUT.out" 10 || fail "$label: not attempted"
  expect_match "$label: disabled" '^200 ' "$(http POST "/v1/webhooks/$ep/disable" "${auth[@]}")"
  eventually pending_is "$ep" 0 || fail "$label: its pending rows were not closed: $(pending "$ep")"
  local d
  d=$(curl -s "${auth[@]}" "$URL/v1/webhooks/$ep/deliveries?limit=100")
  expect_eq "$label: each closed as \"endpoint disabled\"" 10 \
    "$(echo "$d" | jq '[.deliveries[] | select(.state == "failed" and .error == "endpoint disabled")] | length')"
  local gap
  gap=$(publish dis.gap 10 5)
  expect_eq "$label: no rows while disabled" 0 "$(pending "$ep")"

  echo ok >"$MODE"
  expect_match "$label: enabled" '^200 ' "$(http POST "/v1/webhooks/$ep/enable" "${auth[@]}")"
  local after
  after=$(publish dis.after 15 1)
  eventually has_ok "$OUT.out" 1 || fail "$label: the event after enabling was not delivered"
  expect_eq "$label: only the event after enabling" "msg_${after}_$ep" \
    "$(jq -r 'select(.status == 204) | .webhook_id' "$OUT.out")"
  expect_match "$label: replay of the gap" '^202 ' \
    "$(http POST "/v1/webhooks/$ep/replay" "${auth[@]}" -d "{\"since_id\": $((gap - 1))}")"
  eventually has_ok "$OUT.out" 6 || fail "$label: the gap was not replayed"
  expect_eq "$label: the gap and the event after it" "$(seq "$gap" "$after" | sed "s/.*/msg_&_$ep/" | sort | tr '\n' ' ')" \
    "$(jq -r 'select(.status == 204) | .webhook_id' "$OUT.out" | sort -u | tr '\n' ' ')"
  herald_stop
}

check_disabled sqlite
check_disabled redis --engine redis --redis-url "redis://127.0.0.1:$RPORT/0" --redis-prefix "dis:"
check_window sqlite 20000
check_window redis 5000 --engine redis --redis-url "redis://127.0.0.1:$RPORT/0" --redis-prefix "win:"

finish
