#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_room_webhooks_fishjam.sh — room webhooks as Fishjam sends them today
# (issue 15 item 5), checked by a receiver with its own HMAC and protobuf
# reader (fishjam_receiver.py):
#  - with --room-webhook-secret every room webhook request carries
#    x-fishjam-signature-256 = sha256=<hex HMAC-SHA256 of the body>; without
#    it, no such header; the secret is never in the log or /metrics;
#  - a room created with batchWebhookNotifications gets
#    ServerMessage{notification_batch} bodies: the notifications ready when
#    the previous request ends, in order, none nested; an unbatched room
#    gets one bare ServerMessage per request, as before;
#  - a batch that fails is retried as the same batch: every notification is
#    delivered once, in order;
#  - the option is kept with the room: still batched after a restart.
# Batches are formed deterministically: the receiver holds the request in
# flight (room.created) until herald has the next notifications queued.
. "$(dirname "$0")/lib.sh"

SECRET='fj-room-secret-Zq8pL2'
CTL=$WORK/control.json
RECV=$(dirname "$0")/fishjam_receiver.py

start_rx() { # name [secret]: $RX (url) for it, its lines in $WORK/$name.out
  local name=$1; shift
  python3 "$RECV" "$CTL" "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" &
  PIDS+=($!)
  wait_for "$WORK/$name.err" '^listening on http://127.0.0.1:[0-9]+$' || { fail "$name receiver did not start"; finish; exit 1; }
  RX=$(sed -n 's|^listening on \(http://127.0.0.1:[0-9]*\)$|\1/hook|p' "$WORK/$name.err")
}
ctl() { echo "$1" >"$CTL.tmp" && mv "$CTL.tmp" "$CTL"; }
lines() { [ "$(wc -l <"$1")" -ge "$2" ]; }
metric() { curl -s "$URL/metrics" | sed -n "s/^$1 //p"; }
queued_is() { [ "$(metric herald_webhook_queued)" = "$1" ]; }
settled() { [ "$(metric herald_webhook_pending)" = 0 ] && [ "$(metric herald_webhook_in_flight)" = 0 ]; }
room() { # body -> room id
  local out; out=$(http POST /room "${auth[@]}" -H 'Content-Type: application/json' --data "$1")
  [[ "$out" =~ ^201 ]] || { fail "room create: $out"; return 1; }
  echo "${out#201 }" | jq -r .data.room.id
}
peer() { http POST "/room/$1/peer" "${auth[@]}" -H 'Content-Type: application/json' --data '{"type":"webrtc"}' | cut -c5- | jq -r .data.peer.id; }
# The delivered (2xx) requests of a receiver, one line each: "batch|bare member:peer …"
delivered() {
  jq -r 'select(.status == 204) | (if .batch then "batch" else "bare" end) + " " +
    ([.items[] | "\(.[0]):\(.[2] // "-")"] | join(" "))' "$WORK/$1.out"
}
# Holds the receiver, creates a room and 3 peers, waits until herald has the
# 3 peer.added queued behind the held room.created, then applies $2.
burst() { # room body, control after -> $ROOM, $P1..$P3
  ctl '{"hold": true}'
  ROOM=$(room "$1")
  eventually [ "$(metric herald_webhook_in_flight)" = 1 ] || fail "room.created in flight"
  P1=$(peer "$ROOM"); P2=$(peer "$ROOM"); P3=$(peer "$ROOM")
  eventually queued_is 3 || fail "3 notifications queued behind the held request (queued $(metric herald_webhook_queued))"
  ctl "$2"
}

herald_start --room-webhook-secret "$SECRET" --webhook-retry-schedule 0.2,0.2,0.2,0.2,0.2

# ---- 1. an unbatched room: bare bodies, one per request, signed -----------
start_rx plain "$SECRET"
burst "{\"webhookUrl\":\"$RX\"}" '{}'
http DELETE "/room/$ROOM" "${auth[@]}" >/dev/null
eventually lines "$WORK/plain.out" 5 && eventually settled
expect_eq "unbatched room: one bare ServerMessage per request, in order" \
  "bare 10:- bare 20:$P1 bare 20:$P2 bare 20:$P3 bare 11:-" "$(delivered plain | tr '\n' ' ' | sed 's/ $//')"
expect_eq "every request signed with x-fishjam-signature-256 = HMAC-SHA256 of its body" \
  "5 5" "$(jq -r 'select(.sig != null) | .sig' "$WORK/plain.out" | wc -l) $(jq -r 'select(.sig_ok == true) | 1' "$WORK/plain.out" | wc -l)"
expect_match "lowercase hex, sha256= prefix" '^sha256=[0-9a-f]{64}$' "$(jq -r .sig "$WORK/plain.out" | head -1)"
expect_eq "application/x-protobuf" "application/x-protobuf" "$(jq -r .ctype "$WORK/plain.out" | sort -u)"

# ---- 2 and 3. a batched room; its batch fails twice, then goes ------------
start_rx batched "$SECRET"
burst "{\"webhookUrl\":\"$RX\",\"batchWebhookNotifications\":true}" '{"fail_multi": 2}'
expect_eq "the option is echoed with the room" true \
  "$(http GET "/room/$ROOM" "${auth[@]}" | cut -c5- | jq -r .data.config.batchWebhookNotifications)"
eventually lines "$WORK/batched.out" 4 && eventually settled
failed_attempts() { # (the room endpoint goes once the room is deleted)
  http GET "/v1/webhooks/room_$ROOM/deliveries?limit=100" "${auth[@]}" | cut -c5- |
    jq '[.. | objects | select(.status_code? == 503)] | length'
}
eventually [ "$(failed_attempts)" = 6 ]
expect_eq "the attempt log has each notification's own attempt: 2 failures x 3" 6 "$(failed_attempts)"
http DELETE "/room/$ROOM" "${auth[@]}" >/dev/null
eventually lines "$WORK/batched.out" 5 && eventually settled
expect_eq "batched room: notification_batch bodies, the queued ones together, in order" \
  "batch 10:- batch 20:$P1 20:$P2 20:$P3 batch 11:-" "$(delivered batched | tr '\n' ' ' | sed 's/ $//')"
expect_eq "none nested, all decodable" "0" "$(jq -r 'select(.nested or .batch == null) | 1' "$WORK/batched.out" | wc -l)"
expect_eq "the failed batch was retried whole: 2 failures with the same 3 notifications" \
  "2 20:$P1 20:$P2 20:$P3" \
  "$(jq -r 'select(.status == 503) | [.items[] | "\(.[0]):\(.[2])"] | join(" ")' "$WORK/batched.out" | sort | uniq -c | sed 's/^ *//')"
expect_eq "with one webhook-id on every attempt" 1 \
  "$(jq -r 'select(.items | length == 3) | .webhook_id' "$WORK/batched.out" | sort -u | wc -l)"
expect_eq "batched requests signed too" 5 "$(jq -r 'select(.sig_ok == true) | 1' "$WORK/batched.out" | wc -l)"
ctl '{}'

# ---- the option survives a restart -----------------------------------------
start_rx kept "$SECRET"
ROOM=$(room "{\"webhookUrl\":\"$RX\",\"batchWebhookNotifications\":true}")
eventually lines "$WORK/kept.out" 1 && eventually settled
herald_stop
DATA_DIR=$DATA_DIR herald_start
P1=$(peer "$ROOM")
eventually lines "$WORK/kept.out" 2 && eventually settled
expect_eq "after a restart the room's webhook is still batched" "batch 10:- batch 20:$P1" \
  "$(delivered kept | tr '\n' ' ' | sed 's/ $//')"
expect_eq "and without --room-webhook-secret it carries no x-fishjam-signature-256" "null" \
  "$(jq -r .sig "$WORK/kept.out" | tail -1)"
expect_eq "the config is kept" true \
  "$(http GET "/room/$ROOM" "${auth[@]}" | cut -c5- | jq -r .data.config.batchWebhookNotifications)"

# ---- bad values; the secret stays secret -----------------------------------
expect_match "a non-boolean batchWebhookNotifications is a 400" '^400 .*batchWebhookNotifications' \
  "$(http POST /room "${auth[@]}" --data '{"batchWebhookNotifications":"yes"}')"
expect_eq "the secret is in no log" 0 "$(cat "$WORK"/herald.*.log | grep -c -- "$SECRET")"
herald_stop
DATA_DIR=$DATA_DIR herald_start --room-webhook-secret "$SECRET" --open-metrics 1
expect_eq "nor in /metrics" 0 "$(curl -s "$URL/metrics" | grep -c -- "$SECRET")"
out=$(HERALD_ROOM_WEBHOOK_SECRET="$(head -c 600 /dev/zero | tr '\0' x)" "$HERALD" --listen 127.0.0.1:0 \
  --data-dir "$WORK/bad" 2>&1); rc=$?
expect_eq "a secret too long is refused" 1 "$([ "$rc" -ne 0 ] && echo 1)"
expect_match "without echoing it" 'HERALD_ROOM_WEBHOOK_SECRET.*secret not shown' "$out"
herald_stop

finish
