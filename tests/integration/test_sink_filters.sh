# SPDX-License-Identifier: MIT
# test_sink_filters.sh — a sink's payload filter (issue 18 item 5, the
# "filter" key of a sink in the config file; docs/sinks.md): the built-in
# "file" sink with a filter writes only the events whose data match it, in
# order, and moves its position past the others; a sink without one gets
# everything; a bad filter stops herald at start, naming the sink, what and
# where.
. "$(dirname "$0")/lib.sh"

S=$WORK/sinks
mkdir -p "$S"
cat > "$WORK/herald.json" <<EOF
{"sinks": [
  {"name": "big", "module": "file", "events": ["order.*"],
   "filter": {"data.total": {"\$gte": 100}, "\$or": [{"data.region": {"\$in": ["eu", "us"]}}, {"data.rush": true}]},
   "config": {"path": "$S/big.jsonl"}},
  {"name": "all", "module": "file", "config": {"path": "$S/all.jsonl"}}
 ]}
EOF
herald_start --config "$WORK/herald.json"
sinks_settled

{
  echo '{"type":"order.placed","data":{"n":1,"total":150,"region":"eu"}}'   # yes
  echo '{"type":"order.placed","data":{"n":2,"total":99,"region":"eu"}}'    # too small
  echo '{"type":"order.placed","data":{"n":3,"total":500,"region":"ap"}}'   # region, no rush
  echo '{"type":"order.placed","data":{"n":4,"total":500,"region":"ap","rush":true}}' # yes
  echo '{"type":"chat.message","data":{"n":5,"total":900,"region":"us"}}'  # not order.*
  echo '{"type":"order.placed","data":{"n":6,"total":100.0,"region":"us"}}' # yes
  echo '{"type":"order.placed","data":{"n":7}}'                            # nothing there
} | "$CLI" --server "$URL" publish > "$WORK/ids"
expect_eq "7 events published" 7 "$(wc -l < "$WORK/ids")"
last=$(tail -1 "$WORK/ids")
position() {
  "$CLI" --server "$URL" sinks --json | python3 -c "import json,sys; print(next(s for s in json.load(sys.stdin)['sinks'] if s['name']=='$1')['position'])"
}
at_last() { [ "$(position "$1")" -ge "$last" ]; }
eventually at_last big || fail "big: position $(position big), want $last"
eventually at_last all || fail "all: position $(position all), want $last"
ns() { python3 -c "import json,sys; print(' '.join(str(json.loads(l)['data'].get('n')) for l in open(sys.argv[1])))" "$1"; }
expect_eq "the filtered sink wrote only the matching events, in order" "1 4 6" "$(ns "$S/big.jsonl")"
expect_eq "and moved past the others" 1 "$(at_last big && echo 1)"
expect_eq "the sink without a filter wrote every event" "1 2 3 4 5 6 7" "$(ns "$S/all.jsonl")"
herald_stop

# --- a bad filter stops herald at start with a clear message
echo '{"sinks": [{"name": "x", "module": "file", "filter": {"data.total": {"$gte": "100"}}, "config": {"path": "/dev/null"}}]}' \
  > "$WORK/bad.json"
"$HERALD" --listen 127.0.0.1:0 --data-dir "$WORK/d2" --config "$WORK/bad.json" 2> "$WORK/bad.log"
expect_eq "a bad sink filter: herald exits 1" 1 $?
expect_match "naming the sink, what and where" "sink 'x': filter: \\\$gte takes a number, at data.total.\\\$gte" "$(cat "$WORK/bad.log")"
finish
