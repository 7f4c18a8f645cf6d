#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_room_webhooks_fishjam_nodes.sh — a room's batchWebhookNotifications
# is shared by the nodes of one Redis like its webhookUrl (issue 15 item 5):
# a batched room created through node A, a peer added through node B (B
# commits peer.added, so B delivers it): the room's URL gets B's request as
# a ServerMessage{notification_batch}, and B lists the room with the option.
# An unbatched room through the same nodes still gets bare bodies.
. "$(dirname "$0")/lib.sh"

redis_setup
redis_start
FLAGS=(--engine redis --redis-url "redis://127.0.0.1:$RPORT/0" --redis-prefix "fjb:" --node-timeout 20
       --webhook-retry-schedule 0.3,0.3)
CTL=$WORK/control.json
echo '{}' >"$CTL"
python3 "$(dirname "$0")/fishjam_receiver.py" "$CTL" >"$WORK/rx.out" 2>"$WORK/rx.err" &
PIDS+=($!)
wait_for "$WORK/rx.err" '^listening on http://127.0.0.1:[0-9]+$' || { fail "receiver did not start"; finish; exit 1; }
RX=$(sed -n 's|^listening on \(http://127.0.0.1:[0-9]*\)$|\1/hook|p' "$WORK/rx.err")

DATA_DIR=$WORK/a herald_start "${FLAGS[@]}" --node-id A
A=$URL
DATA_DIR=$WORK/b herald_start "${FLAGS[@]}" --node-id B
B=$URL

has() { [ "$(jq -r "$1" "$WORK/rx.out" | grep -c .)" -ge "$2" ]; }
on_b() { curl -s "${auth[@]}" "$B/room/$1" | jq -r .data.config.batchWebhookNotifications; }
add_peer() { # node room -> peer id, once the room is known there
  eventually bash -c "curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer $TOKEN' '$1/room/$2' | grep -q 200"
  curl -s "${auth[@]}" -H 'Content-Type: application/json' --data '{"type":"webrtc"}' "$1/room/$2/peer" |
    jq -r .data.peer.id
}
for kind in true false; do
  ROOM=$(curl -s "${auth[@]}" -H 'Content-Type: application/json' \
    --data "{\"webhookUrl\":\"$RX\",\"batchWebhookNotifications\":$kind}" "$A/room" | jq -r .data.room.id)
  eventually [ "$(on_b "$ROOM")" = "$kind" ]
  expect_eq "B lists the room with batchWebhookNotifications $kind" "$kind" "$(on_b "$ROOM")"
  PEER=$(add_peer "$B" "$ROOM")
  eventually has "select(.items[0][2] == \"$PEER\") | 1" 1
  want=$([ "$kind" = true ] && echo true || echo false)
  expect_eq "peer.added committed on B: batch=$want, as the room asked on A" "$want 20" \
    "$(jq -r "select(.items[0][2] == \"$PEER\") | \"\(.batch) \(.items[0][0])\"" "$WORK/rx.out")"
done

finish
