#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_nodes_api.sh — GET /v1/nodes (src/api/nodes.c), what the console's
# Overview shows as its Nodes panel and `herald-cli nodes` prints:
#  - SQLite: one node, this one, alive, owning webhooks and retention;
#    no token or a wrong one: 401 with a JSON body;
#  - Redis, two nodes: each lists both alive, from either node; B (started
#    first) holds the retention lease and the session of a peer connected
#    to it;
#  - B stopped (SIGSTOP, --node-timeout 5): A lists it not alive (taken
#    over), its peer's session ended (sessions 0) and A holds retention;
#  - Redis stopped: 503 with a JSON body saying the store is unavailable;
#  - `herald-cli nodes` prints the same, one line per node.
. "$(dirname "$0")/lib.sh"

jq_nodes() { # url jq-filter: prints the filter's value over GET /v1/nodes
  curl -s "${auth[@]}" "$1/v1/nodes" | jq -r "$2"
}
# node's field on url's list ("absent" when the node is not listed)
field() { # url node field
  jq_nodes "$1" "(.nodes[] | select(.id == \"$2\") | .$3 | tostring) // \"absent\""
}
is() { [ "$(field "$1" "$2" "$3")" == "$4" ]; }

# --- SQLite: this node alone
herald_start --node-id solo
got=$(http GET /v1/nodes "${auth[@]}")
expect_match "SQLite: 200" '^200 ' "$got"
expect_eq "SQLite: one node, this one, alive, owning webhooks and retention" \
  'sqlite solo 1 solo true ["webhooks","retention"] false' \
  "$(echo "${got#* }" | jq -r '[.store, .self, (.nodes | length), .nodes[0].id, .nodes[0].alive,
     (.nodes[0].owns | tojson), .truncated] | join(" ")')"
expect_eq "no token: 401 with a JSON body" '401 {"errors":"Missing token"}' "$(http GET /v1/nodes)"
expect_eq "a wrong token: 401" '401 {"errors":"Invalid token"}' \
  "$(http GET /v1/nodes -H 'Authorization: Bearer wrong')"
expect_match "herald-cli nodes: the store and this node, alive, owning webhooks and retention" \
  $'^store: sqlite\nNODE .*\nsolo +alive +- +0  webhooks,retention  \\(this node\\)$' \
  "$("$CLI" --server "$URL" nodes)"
herald_stop

# --- Redis: two nodes
redis_setup
redis_start
FLAGS=(--engine redis --redis-url "redis://127.0.0.1:$RPORT/0" --redis-prefix "na:" --threads 1
       --node-timeout 5)
declare -A URLS NODE_PID
start_node() { # name
  DATA_DIR=$WORK/data.$1
  herald_start "${FLAGS[@]}" --node-id "node-$1"
  URLS[$1]=$URL; NODE_PID[$1]=$HERALD_PID
}
# B first, so that it takes the retention lease (renewed every second
# while it runs): its move to A is then something to see.
start_node B
eventually is "${URLS[B]}" node-B owns '["retention"]' && ok "B alone holds retention" \
  || fail "B does not hold retention: $(jq_nodes "${URLS[B]}" .)"
start_node A

# a peer connected to B: its session is B's
"$CLI" --server "${URLS[A]}" room create --room-id lobby >/dev/null
TOK=$("$CLI" --server "${URLS[A]}" peer add lobby | jq -r .token)
"$CLI" --server "${URLS[B]}" peer connect --peer-token "$TOK" >"$WORK/peer.out" 2>"$WORK/peer.err" &
PIDS+=($!)
wait_for "$WORK/peer.err" 'connected as peer' || fail "peer on B: $(cat "$WORK/peer.err")"

both_alive() { # url
  [ "$(jq_nodes "$1" '[.nodes[] | select(.alive) | .id] | sort | join(" ")')" == "node-A node-B" ]
}
for n in A B; do
  eventually both_alive "${URLS[$n]}" && ok "node $n lists node-A and node-B alive" \
    || fail "node $n: $(jq_nodes "${URLS[$n]}" .)"
  expect_eq "node $n's answer: redis, itself as self, not truncated" "redis node-$n false" \
    "$(jq_nodes "${URLS[$n]}" '[.store, .self, .truncated] | join(" ")')"
  eventually is "${URLS[$n]}" node-B sessions 1 && ok "node $n: node-B holds 1 session (the peer)" \
    || fail "node $n: $(jq_nodes "${URLS[$n]}" .)"
  expect_eq "node $n: node-B owns retention, node-A nothing" '["retention"] []' \
    "$(field "${URLS[$n]}" node-B owns) $(field "${URLS[$n]}" node-A owns)"
  expect_match "node $n: node-A's last beat is an ISO 8601 time" \
    '^20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z$' "$(field "${URLS[$n]}" node-A last_beat)"
done

expect_match "herald-cli nodes on A: both alive, B owning retention" \
  $'node-A +alive +[0-9.]+s ago +0  -  \\(this node\\)\nnode-B +alive +[0-9.]+s ago +1  retention$|node-B +alive +[0-9.]+s ago +1  retention\nnode-A +alive +[0-9.]+s ago +0  -  \\(this node\\)$' \
  "$("$CLI" --server "${URLS[A]}" nodes)"

# --- B stops answering: A lists it not alive, then takes its work over
kill -STOP "${NODE_PID[B]}"
eventually is "${URLS[A]}" node-B alive false && ok "A lists node-B not alive once it stopped beating" \
  || fail "A still lists node-B alive: $(jq_nodes "${URLS[A]}" .)"
eventually is "${URLS[A]}" node-A owns '["retention"]' && ok "retention moved to node-A" \
  || fail "retention: $(jq_nodes "${URLS[A]}" .)"
b_sessions_ended() { local s; s=$(field "${URLS[A]}" node-B sessions); [ "$s" == 0 ] || [ "$s" == absent ]; }
eventually b_sessions_ended && ok "node-B's peer session was ended (peer.crashed)" \
  || fail "node-B's sessions: $(jq_nodes "${URLS[A]}" .)"
expect_eq "node-A is still alive" true "$(field "${URLS[A]}" node-A alive)"

# --- Redis stopped: 503 with a JSON body
kill -STOP "$REDIS_PID"
URL=${URLS[A]}
down_503() { [[ "$(http GET /v1/nodes "${auth[@]}")" == "503 {\"errors\":\"event store unavailable: "* ]]; }
eventually down_503 && ok "Redis stopped: 503 event store unavailable" \
  || fail "Redis stopped: $(http GET /v1/nodes "${auth[@]}")"
kill -CONT "$REDIS_PID"
kill -CONT "${NODE_PID[B]}"
finish
