#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_redis_webhook_jsonbatch.sh — batched JSON delivery (issue 18 item 6)
# across two herald nodes on one real redis-server, driven by herald-cli:
# `webhooks add --batch 3:60000:gzip` on A reaches B with the endpoint
# (the stored record carries it), three events published on B arrive at
# `herald-cli webhook-listen` (the client library's verifier, which
# inflates a gzip batch before checking its signature) as ONE verified
# request, a JSON array in id order; `webhooks update --batch off` on B
# reaches A, and A then sends one event per request again. The wait of a
# minute can only be ended by a full batch, so the first request proves
# batching without timing anything.
. "$(dirname "$0")/lib.sh"

redis_setup
redis_start
FLAGS=(--engine redis --redis-url "redis://127.0.0.1:$RPORT/0" --redis-prefix "jb:" --threads 1
       --node-timeout 20 --webhook-retry-schedule 0.3,0.3 --webhook-timeout 60)
nodes_start A B
batch_on() { on "$1" webhooks get "$EP" 2>/dev/null | jq -c .batch; }
has_batch() { [ "$(batch_on "$1")" == "$2" ]; }

SECRET="whsec_$(head -c 32 /dev/urandom | base64 -w0)"
webhook_listen rx
HPORT=$LISTEN_PORT

r=$(on A webhooks add --url "http://127.0.0.1:$HPORT/hook" --batch 3:x 2>&1) && fail "--batch 3:x accepted: $r"
expect_match "a malformed --batch is a usage error" 'needs N\[:T_ms\]\[:gzip\]' "$r"
r=$(on A webhooks add --url "http://127.0.0.1:$HPORT/hook" --batch 1001 2>&1) && fail "--batch 1001 accepted: $r"
expect_match "max_events over 1000: the server's 400 names the field" 'batch.max_events' "$r"

WANT='{"max_events":3,"max_wait_ms":60000,"gzip":true}'
EP=$(on A webhooks add --url "http://127.0.0.1:$HPORT/hook" --event-types 'jb.*' --secret "$SECRET" \
     --batch 3:60000:gzip | jq -r .id)
expect_match "endpoint added" '^ep_' "$EP"
eventually has_batch B "$WANT" && ok "the batch setting made on A reached B" || fail "B: $(batch_on B)"

IDS=()
for i in 1 2 3; do IDS+=("$(on B publish jb.x "{\"n\":$i}" | jq -r 'if type == "object" then (.id // .ids[0]) else . end')"); done
eventually has_lines "$WORK/rx.out" '"webhook_id"' 1 || fail "no request came"
LINE=$(head -n 1 "$WORK/rx.out")
expect_eq "one verified request" "true" "$(jq -r .verified <<<"$LINE")"
expect_eq "sent gzip, inflated by the client library" "gzip" "$(jq -r .content_encoding <<<"$LINE")"
expect_eq "a JSON array of the three events in id order" "${IDS[*]}" "$(jq -r '[.body[].id] | join(" ")' <<<"$LINE")"
expect_eq "webhook-id names the batch" "msg_${IDS[0]}-${IDS[2]}x3_$EP" "$(jq -r .webhook_id <<<"$LINE")"

on B webhooks update "$EP" --batch off >/dev/null
eventually has_batch A null && ok "--batch off on B reached A" || fail "A: $(batch_on A)"
for i in 4 5; do on A publish jb.x "{\"n\":$i}" >/dev/null; done
eventually has_lines "$WORK/rx.out" '"webhook_id"' 3 || fail "the unbatched events did not come: $(cat "$WORK/rx.out")"
expect_eq "unbatched again: one event object per request, verified" "4 5 true true" \
  "$(tail -n 2 "$WORK/rx.out" | jq -rs '[.[].body.data.n] + [.[].verified] | map(tostring) | join(" ")')"
expect_eq "nothing more came" 3 "$(grep -c '"webhook_id"' "$WORK/rx.out")"
finish
