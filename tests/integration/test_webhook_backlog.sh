#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_webhook_backlog.sh — a backlog deeper than the delivery engine keeps
# events for in memory (256 per endpoint; the others are read back from
# the store in pages when their turn comes, webhook_queue.c load_event):
# 700 events published at once to one endpoint reach `herald-cli
# webhook-listen`, verified, each exactly once and with its own body
# (the webhook-id's event id, the body's id and its data all agree), on the
# embedded store and on the redis engine.
. "$(dirname "$0")/lib.sh"

redis_setup
redis_start

N=700
has_lines() { [ "$(wc -l <"$1")" -ge "$2" ]; }
check_backlog() { # label, then herald flags
  local label=$1; shift
  DATA_DIR=$WORK/data.$label herald_start "$@"
  local out=$WORK/recv.$label
  local secret="whsec_$(head -c 32 /dev/urandom | base64 -w0)"
  "$CLI" webhook-listen --secret "$secret" --port 0 >"$out.out" 2>"$out.err" &
  PIDS+=($!)
  local lport=""
  wait_for "$out.err" '^listening on http://127.0.0.1:[0-9]+$' || fail "$label: webhook-listen did not start"
  lport=$(sed -n 's|^listening on http://127.0.0.1:\([0-9]*\)$|\1|p' "$out.err")
  local ep
  ep=$("$CLI" --server "$URL" webhooks add --url "http://127.0.0.1:$lport/hook" --secret "$secret" | jq -r .id)
  expect_match "$label: endpoint added" '^ep_' "$ep"
  for part in 0 1; do # two batches of 350, at once
    python3 -c "import json,sys; p=int(sys.argv[1]); print(json.dumps([{'type':'backlog.item','data':{'i':p*350+i}} for i in range(350)]))" \
      "$part" >"$WORK/batch.json"
    expect_match "$label: batch $part acknowledged" '^201 ' "$(http POST /v1/events "${auth[@]}" --data-binary @"$WORK/batch.json")"
  done
  eventually has_lines "$out.out" "$N"
  expect_eq "$label: $N deliveries received" "$N" "$(wc -l <"$out.out")"
  expect_eq "$label: all verified" "$N" "$(jq -r 'select(.verified == true) | .webhook_id' "$out.out" | sort -u | wc -l)"
  # the event id in the webhook-id, the body's id and the order of data.i agree
  local first
  first=$(jq -r 'select(.body.data.i == 0) | .body.id' "$out.out")
  expect_eq "$label: each body is its own event's" 0 "$(jq -r --arg ep "$ep" --argjson f "$first" \
    'select(.webhook_id != "msg_\(.body.id)_\($ep)" or (.body.id | tonumber) - $f != .body.data.i) | .webhook_id' \
    "$out.out" | wc -l)"
  herald_stop
}

check_backlog sqlite
check_backlog redis --engine redis --redis-url "redis://127.0.0.1:$RPORT/0" --redis-prefix "backlog:"

finish
