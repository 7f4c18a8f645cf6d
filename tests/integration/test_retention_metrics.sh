# SPDX-License-Identifier: MIT
# test_retention_metrics.sh — history retention is pruned in the
# background; /metrics reports what happened in Prometheus text.
. "$(dirname "$0")/lib.sh"
herald_start --retention-events 3

http POST /v1/events "${auth[@]}" -d '[{"type":"r.one"},{"type":"r.two"},{"type":"r.three"},{"type":"r.four"},{"type":"r.five"}]' >/dev/null
ids() { curl -s "${auth[@]}" "$URL/v1/events?since=0" | grep -o '"id":"[0-9]*"' | grep -o '[0-9]*' | tr '\n' ' ' | sed 's/ $//'; }
ids_are() { [ "$(ids)" = "$1" ]; }
eventually ids_are "3 4 5" # pruning runs about once a second
expect_eq "retention keeps the newest 3 events" "3 4 5" "$(ids)"

# the prune is counted just after it commits: wait for the count
m=""
pruned_counted() { m=$(curl -s "$URL/metrics"); [[ "$m" == *$'\nherald_events_pruned_total 2\n'* ]]; }
eventually pruned_counted
expect_match "events appended counted" $'\nherald_events_appended_total 5\n' "$m"
expect_match "pruned events counted" $'\nherald_events_pruned_total 2\n' "$m"
expect_match "commit latency histogram" $'\nherald_store_commit_seconds_count [1-9]' "$m"
expect_match "+Inf bucket" 'herald_store_commit_seconds_bucket\{le="\+Inf"\} [1-9]' "$m"
expect_match "connections by kind" 'herald_connections\{kind="http"\} [1-9]' "$m"
expect_match "outbound queue gauge" $'\nherald_outbound_queue_bytes [0-9]+\n' "$m"
expect_match "TYPE lines" '# TYPE herald_deliveries_total counter' "$m"
herald_stop

DATA_DIR=$WORK/closed herald_start --open-metrics 0
expect_match "--open-metrics 0 needs the token" '^401 ' "$(http GET /metrics)"
expect_match "and serves it with the token" '^200 # HELP' "$(http GET /metrics "${auth[@]}")"
herald_stop
finish
