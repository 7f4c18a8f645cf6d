#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_webhook_breaker.sh — an endpoint's own retry schedules and its
# circuit breaker (issue 18 items 4 and 3). The server's schedule is 10
# minutes between attempts, so every quick retry seen here comes from the
# endpoint's own schedule; probe waits are made small by flags and every
# step is waited for as a condition, never slept on.
#  1. retry_schedule replaces the server's: 1 + 2 attempts, then failed;
#  2. retry_schedules picks the first matching glob: pay.* 1 + 1, the
#     rest ("*") 1 + 2;
#  3. bad schedules and thresholds get 400 naming the field; a schedule
#     set by PATCH shows in the endpoint, survives a restart, null clears;
#  4. the breaker: after 3 failed requests in a row the endpoint is paused
#     (herald.endpoint_paused in the history, to an alert endpoint and a
#     JSON listener,
#     breaker "open" in the endpoint, herald_webhook_breaker_open 1); then
#     only probes of the first delivery go, none of the events published
#     meanwhile; the receiver fixed, the next probe succeeds,
#     herald.endpoint_resumed follows and every delivery arrives in order.
. "$(dirname "$0")/lib.sh"

REQS=$(python3 -c 'print(",".join(["600"] * 3))')
DATA_DIR=$WORK/data herald_start --webhook-retry-schedule "$REQS" --webhook-max-in-flight 1 \
  --webhook-breaker-probe-min 0.3 --webhook-breaker-probe-max 1

start_receiver() { # label -> sets HOOK, MODE, OUT
  MODE=$WORK/mode.$1 OUT=$WORK/recv.$1.out
  echo "${2:-fail}" >"$MODE"
  python3 "$(dirname "$0")/webhook_switch.py" "$MODE" >"$OUT" 2>"$WORK/recv.$1.err" &
  PIDS+=($!)
  wait_for "$WORK/recv.$1.err" '^listening on ' || fail "$1: receiver did not start"
  HOOK=$(sed -n 's|^listening on \(.*\)$|\1|p' "$WORK/recv.$1.err")
}
add_endpoint() { # json body -> id
  http POST /v1/webhooks "${auth[@]}" -d "$1" | sed 's/^201 //' | jq -r .id
}
publish() { # type i -> id
  local r
  r=$(http POST /v1/events "${auth[@]}" -d "{\"type\":\"$1\",\"data\":{\"i\":$2}}")
  [[ "$r" == 201* ]] || { fail "publish $1: $r"; return; }
  echo "${r#201 }" | jq -r '.id // .ids[0]'
}
attempts_of() { # endpoint event -> "n state-of-newest"
  curl -s "${auth[@]}" "$URL/v1/webhooks/$1/deliveries?limit=100" |
    jq -r --arg e "$2" '[.deliveries[] | select((.event_id | tostring) == $e)] | "\(length) \(.[0].state)"'
}
attempts_are() { [ "$(attempts_of "$1" "$2")" = "$3" ]; }

# --- 1. the endpoint's own schedule replaces the server's
start_receiver sched
EP1=$(add_endpoint "{\"url\":\"$HOOK/a\",\"event_types\":[\"sch.*\"],\"retry_schedule\":[0.2,0.2]}")
expect_match "schedule endpoint added" '^ep_' "$EP1"
expect_eq "its schedule is shown" "[0.2,0.2] null" \
  "$(curl -s "${auth[@]}" "$URL/v1/webhooks/$EP1" | jq -c '.retry_schedule, .retry_schedules' | tr '\n' ' ' | sed 's/ $//')"
E1=$(publish sch.one 1)
eventually attempts_are "$EP1" "$E1" "3 failed" || fail "own schedule: $(attempts_of "$EP1" "$E1") (want 3 failed)"
ok "retry_schedule [0.2,0.2]: three attempts, then failed (the server's would wait 10 min)"

# --- 2. per event type: the first matching glob wins
start_receiver types
EP2=$(add_endpoint "{\"url\":\"$HOOK/b\",\"event_types\":[\"pay.*\",\"oth.*\"],\"retry_schedule\":[600],
  \"retry_schedules\":{\"pay.*\":[0.2],\"*\":\"0.2,0.2\"}}")
expect_match "per-type endpoint added" '^ep_' "$EP2"
EP=$(publish pay.made 1)
EO=$(publish oth.thing 2)
eventually attempts_are "$EP2" "$EP" "2 failed" || fail "pay.*: $(attempts_of "$EP2" "$EP") (want 2 failed)"
eventually attempts_are "$EP2" "$EO" "3 failed" || fail "*: $(attempts_of "$EP2" "$EO") (want 3 failed)"
ok "retry_schedules: pay.* [0.2] gave 2 attempts, \"*\" \"0.2,0.2\" gave 3"

# --- 3. validation, PATCH, restart
bad() { # name body field
  local r
  r=$(http POST /v1/webhooks "${auth[@]}" -d "$2")
  expect_match "$1: 400" '^400 ' "$r"
  expect_match "$1: names $3" "$3" "$r"
}
bad "negative wait" "{\"url\":\"$HOOK/c\",\"retry_schedule\":[1,-1]}" 'retry_schedule\[1\]'
bad "wait over a day" "{\"url\":\"$HOOK/c\",\"retry_schedule\":[86401]}" 'retry_schedule\[0\]'
bad "too many steps" "{\"url\":\"$HOOK/c\",\"retry_schedule\":[$(seq -s, 1 21)]}" 'retry_schedule must be'
bad "bad string" "{\"url\":\"$HOOK/c\",\"retry_schedule\":\"5,x\"}" 'retry_schedule must be'
bad "not a schedule" "{\"url\":\"$HOOK/c\",\"retry_schedule\":{}}" 'retry_schedule must be'
bad "bad glob" "{\"url\":\"$HOOK/c\",\"retry_schedules\":{\"Pay Made\":[1]}}" 'retry_schedules: '
bad "bad per-type wait" "{\"url\":\"$HOOK/c\",\"retry_schedules\":{\"pay.*\":[1,\"2\"]}}" 'retry_schedules\[\\"pay.\*\\"\]\[1\]'
bad "too many globs" "{\"url\":\"$HOOK/c\",\"retry_schedules\":{$(seq -s, 1 17 | sed 's/\([0-9]*\)/"t\1":[1]/g')}}" 'retry_schedules must be'
bad "bad threshold" "{\"url\":\"$HOOK/c\",\"breaker_threshold\":-1}" 'breaker_threshold must be'
bad "threshold not a number" "{\"url\":\"$HOOK/c\",\"breaker_threshold\":\"3\"}" 'breaker_threshold must be'
r=$(http PATCH "/v1/webhooks/$EP1" "${auth[@]}" -d '{"retry_schedule":[1,-2]}')
expect_match "PATCH with a bad schedule: 400" '^400 .*retry_schedule\[1\]' "$r"
expect_eq "and the endpoint kept its schedule" "[0.2,0.2]" "$(curl -s "${auth[@]}" "$URL/v1/webhooks/$EP1" | jq -c .retry_schedule)"
r=$(http PATCH "/v1/webhooks/$EP1" "${auth[@]}" -d '{"retry_schedule":"5, 300,1800.5","retry_schedules":{"x.*":[]},"breaker_threshold":7}')
expect_match "PATCH: 200" '^200 ' "$r"
herald_stop
DATA_DIR=$WORK/data herald_start --webhook-retry-schedule "$REQS" --webhook-max-in-flight 1 \
  --webhook-breaker-probe-min 0.3 --webhook-breaker-probe-max 1
expect_eq "after a restart" '[5,300,1800.5] {"x.*":[]} 7' \
  "$(curl -s "${auth[@]}" "$URL/v1/webhooks/$EP1" | jq -c '.retry_schedule, .retry_schedules, .breaker_threshold' | tr '\n' ' ' | sed 's/ $//')"
expect_match "PATCH null" '^200 ' "$(http PATCH "/v1/webhooks/$EP1" "${auth[@]}" -d '{"retry_schedule":null,"retry_schedules":null,"breaker_threshold":null}')"
expect_eq "null clears them (the server's again)" 'null null null' \
  "$(curl -s "${auth[@]}" "$URL/v1/webhooks/$EP1" | jq -c '.retry_schedule, .retry_schedules, .breaker_threshold' | tr '\n' ' ' | sed 's/ $//')"

# --- 4. the circuit breaker
# a JSON notifier listener (server token) sees herald's own alerts too
"$CLI" --server "$URL" listen >"$WORK/listen.out" 2>"$WORK/listen.err" &
PIDS+=($!)
wait_for "$WORK/listen.err" 'listening' || fail "the listener did not start: $(cat "$WORK/listen.err")"
start_receiver alerts ok
ALERTS=$OUT
EPA=$(add_endpoint "{\"url\":\"$HOOK/alerts\",\"event_types\":[\"herald.*\"]}")
start_receiver brk
BRK=$OUT BRK_MODE=$MODE
EPB=$(add_endpoint "{\"url\":\"$HOOK/brk\",\"event_types\":[\"brk.*\"],\"breaker_threshold\":3,\"retry_schedule\":[0.05,0.05,0.05,0.05,0.05]}")
expect_match "breaker endpoint added" '^ep_' "$EPB"
expect_eq "closed at first" '{"state":"closed","consecutive_failures":0,"next_probe_at":null}' \
  "$(curl -s "${auth[@]}" "$URL/v1/webhooks/$EPB" | jq -c .breaker)"
FIRST=$(publish brk.e 0)
history_has() { # type -> the data of the first such event about EPB
  curl -s "${auth[@]}" "$URL/v1/events?type=$1&limit=100" |
    jq -c --arg ep "$EPB" '[.events[] | select(.data.endpoint_id == $ep)] | .[0].data // empty'
}
paused_seen() { [ -n "$(history_has herald.endpoint_paused)" ]; }
eventually paused_seen || fail "no herald.endpoint_paused in the history"
expect_eq "paused after 3 failures" 3 "$(history_has herald.endpoint_paused | jq .failures)"
expect_match "paused says when it probes" '^"20' "$(history_has herald.endpoint_paused | jq .next_probe_at)"
state=$(curl -s "${auth[@]}" "$URL/v1/webhooks/$EPB" | jq -r '.breaker | "\(.state) \(.consecutive_failures >= 3) \(.next_probe_at | test("^20"))"')
expect_match "breaker open in the endpoint, 3 failures or more, next_probe_at" '^(open|half_open) true true$' "$state"
expect_match "the gauge" '^herald_webhook_breaker_open 1$' "$(curl -s "$URL/metrics" | grep '^herald_webhook_breaker_open ')"
alert_has() { jq -e --arg t "$1" --arg ep "$EPB" 'select(.body.type == $t and .body.data.endpoint_id == $ep)' "$ALERTS" >/dev/null; }
eventually alert_has herald.endpoint_paused || fail "the alert endpoint did not get herald.endpoint_paused"
ok "herald.endpoint_paused reached the alert endpoint"
IDS="msg_${FIRST}_$EPB "
listener_has() { jq -e --arg t "$1" --arg ep "$EPB" 'select(.type == $t and .data.endpoint_id == $ep)' "$WORK/listen.out" >/dev/null 2>&1; }
eventually listener_has herald.endpoint_paused || fail "the JSON listener did not get herald.endpoint_paused"
ok "herald.endpoint_paused reached a JSON listener"
for i in 1 2 3 4; do IDS+="msg_$(publish brk.e "$i")_$EPB "; done
requests() { wc -l <"$BRK"; }
n0=$(requests)
probed() { [ "$(requests)" -ge $((n0 + 2)) ]; }
eventually probed || fail "no probes while paused ($(requests) requests)"
expect_eq "while paused only the first delivery is tried (probes)" "msg_${FIRST}_$EPB" \
  "$(jq -r .webhook_id "$BRK" | sort -u | tr '\n' ' ' | sed 's/ $//')"
echo ok >"$BRK_MODE"
delivered() { [ "$(jq -r 'select(.status == 204) | .webhook_id' "$BRK" | wc -l)" -ge 5 ]; }
eventually delivered || fail "not all delivered after the fix"
expect_eq "every delivery arrived once, in order" "$IDS" \
  "$(jq -r 'select(.status == 204) | .webhook_id' "$BRK" | tr '\n' ' ')"
resumed_seen() { [ -n "$(history_has herald.endpoint_resumed)" ]; }
eventually resumed_seen || fail "no herald.endpoint_resumed in the history"
eventually alert_has herald.endpoint_resumed || fail "the alert endpoint did not get herald.endpoint_resumed"
eventually listener_has herald.endpoint_resumed || fail "the JSON listener did not get herald.endpoint_resumed"
expect_eq "closed again" '{"state":"closed","consecutive_failures":0,"next_probe_at":null}' \
  "$(curl -s "${auth[@]}" "$URL/v1/webhooks/$EPB" | jq -c .breaker)"
expect_match "the gauge is back to 0" '^herald_webhook_breaker_open 0$' "$(curl -s "$URL/metrics" | grep '^herald_webhook_breaker_open ')"
expect_eq "no delivery failed for good" 0 \
  "$(curl -s "${auth[@]}" "$URL/v1/webhooks/$EPB/deliveries?limit=1000" | jq '[.deliveries[] | select(.state == "failed")] | length')"

# --- 5. a breaker switched off while paused (PATCH breaker_threshold 0) resumes, though the
# receiver still fails (so no probe could have closed it): its delivery runs on its schedule again
start_receiver off
EPC=$(add_endpoint "{\"url\":\"$HOOK/off\",\"event_types\":[\"off.*\"],\"breaker_threshold\":1,\"retry_schedule\":[0.05]}")
EPB_SAVED=$EPB EPB=$EPC
EOFF=$(publish off.e 0)
eventually paused_seen || fail "switch-off: not paused"
expect_match "PATCH breaker_threshold 0" '^200 ' "$(http PATCH "/v1/webhooks/$EPC" "${auth[@]}" -d '{"breaker_threshold":0}')"
eventually resumed_seen || fail "switch-off: no herald.endpoint_resumed"
newest_failed() { [ "$(attempts_of "$EPC" "$EOFF" | cut -d' ' -f2)" = failed ]; }
eventually newest_failed || fail "switch-off: the delivery is still held: $(attempts_of "$EPC" "$EOFF")"
ok "a breaker switched off while paused resumes; its delivery ran out of its own schedule"
EPB=$EPB_SAVED
herald_stop
finish
