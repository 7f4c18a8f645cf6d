#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/run.sh — herald's benchmark: builds the server and the load
# generator (bench/Makefile -> build/bench/loadgen), then runs each cell
# against its own freshly started build/herald (a free loopback port, a
# fresh temp data dir, --log-level warn; stopped by PID after the cell and
# on any exit), and prints one JSON line per cell on stdout. The lines are
# also kept in build/bench/results.jsonl; the progress goes to stderr.
#
#   bash bench/run.sh                 all cells
#   bash bench/run.sh fanout_rate ... a subset
#   BENCH_SCALE=0.1 bash bench/run.sh every size scaled (a quick check)
#   BENCH_LG_CPUS=1 bash bench/run.sh pin the load generator (taskset -c)
#   BENCH_NO_BUILD=1 ...              skip building
#   BENCH_HERALD=PATH ...             another server binary (e.g. a sanitizer
#                                     build); implies nothing about building
#   BENCH_LG=PATH ...                 another load generator binary
#   BENCH_OUT=FILE ...                where the lines are appended too
#                                     (default build/bench/results.jsonl)
#   BENCH_DATA_ROOT=DIR ...           where the temp data dirs go (default
#                                     $TMPDIR or /tmp; must be a real disk,
#                                     not tmpfs, for the fsync to mean anything)
#
# Cells (sizes at BENCH_SCALE=1):
#   fanout_flat     10,000 subscribers x 1,000 events, single-event POSTs
#                   from 16 concurrent publishers, flat out
#   fanout_serial   the same with 1 publisher waiting for each ack (worst
#                   case for the server's write coalescing)
#   fanout_one      10,000 subscribers of one channel x 200 events from one
#                   publisher posting the next as soon as the last is
#                   answered (issue 16's "one publisher, one big channel")
#   fanout_rate     10,000 subscribers x 100 events at 5 events/s (latency)
#   rooms_each      10,000 subscribers each on its own room (app clients on
#                   /socket/peer/websocket with a user token naming that
#                   room; server --jwt-secret), one event each: 10,000
#                   single-event POSTs to room k % 10,000 paced at 20,000/s
#                   (128 keep-alive connections; publish_per_s is the rate
#                   achieved), publish->receipt latency, deliveries per
#                   server-CPU-second (BENCH_ROOMS_RATE=R paces at R/s instead;
#                   BENCH_ROOMS_EVENTS=N publishes N events, room k % 10,000,
#                   for a longer window than the cell's half second)
#   idle_rss        19,000 idle subscribers on a fresh server: RSS growth
#                   per connection after holding them 10 s
#   publish_single  100,000 single-event POSTs, 64 keep-alive connections
#   publish_single_idem  the same, each POST with a fresh Idempotency-Key
#                   (issue 18 item 1: the key's lookup and record per publish)
#   publish_batch   1,000,000 events in POSTs of 100, 8 connections
#   publish_ws      1,000,000 single-event frames over one publishing socket
#                   (GET /v1/events/websocket), 1024 unanswered at a time;
#                   publish_per_s and publish_per_cpu_s as publish_single,
#                   plus the send->answer time of each frame (ack_p50_ms…)
#   publish_ws_4    the same over 4 sockets x 250,000 frames
#   publish_ws_idem publish_ws with a fresh idempotency_key on every event
#                   (issue 18 item 1: keyed frames go one commit at a time)
#   webhook_receiver      no server: the load generator's webhook receiver
#                   alone against a libcurl-multi client (64 keep-alive
#                   connections, 200,000 signed POSTs), to show it is not
#                   the limit of the cells below
#   webhook_throughput    one webhook endpoint (a local keep-alive receiver,
#                   libuv + http-parser, in the load generator) x 100,000
#                   events published in POSTs of 1,000; signed deliveries/s
#                   from the first POST to the last delivery received
#                   (server: --webhook-max-in-flight 64)
#   webhook_throughput_4  the same with 4 endpoints x 25,000 events
#   webhook_throughput_filter  webhook_throughput with a payload filter on the
#                   endpoint that every event passes ({"data.t":{"$gt":0},
#                   "data.pad":{"$prefix":"x"}}): the filter's whole cost
#                   (the data parsed and matched at commit) on every event
#   webhook_throughput_batch  webhook_throughput with "batch":
#                   {"max_events":100,"max_wait_ms":0} on the endpoint
#                   (issue 18 item 6): a JSON array of up to 100 events
#                   per request, one request in flight at a time
#   webhook_throughput_ratelimit  one endpoint with "rate_limit":
#                   {"per_second":2000,"burst":100}, 20,000 events: the
#                   delivered rate must track the limit (about 2,000/s)
#   webhook_throughput_ratelimit_high  webhook_throughput with a limit that
#                   never binds (100,000/s, burst 10,000): the gate's cost
#   webhook_throughput_controls  one endpoint with a payload filter passing
#                   every other event ({"data.odd":1}, the publisher's
#                   --wh-half), "batch": {"max_events":100,"max_wait_ms":0}
#                   and "rate_limit": {"per_second":100,"burst":10}: a
#                   limit that binds (<= 10,000 events/s delivered);
#                   100,000 events published, 50,000 delivered
#   webhook_recovery      100,000 deliveries left pending in the outbox (the
#                   receiver hangs), SIGTERM, restart on the same data dir:
#                   time from the restart to the last delivery (the load
#                   generator runs the server itself for this cell)
#   janus_ingest    500,000 Janus events (the real 100-event capture
#                   tests/data/janus/14-batch-100-events.json, every event
#                   re-stamped so none is a duplicate) in POSTs of 100 to
#                   /janus/events, Basic auth, 8 keep-alive connections;
#                   events/s, per server-CPU-s, request latency
#   janus_ingest_gzip     the same, 300,000 events, gzip bodies (level 6)
#   janus_ingest_newconn  100,000 events, one POST at a time on a new TCP
#                   connection each (what Janus's sample handler does)
#   (bench/nodes.sh runs the fan-out and publish cells on several nodes of
#   the redis engine sharing one redis-server)
#   sink_throughput one line per sink module (file, sqlite-cdr, http to the
#                   load generator's receiver, and redis / mqtt when
#                   redis-server / mosquitto are installed, started here on
#                   free loopback ports): 200,000 events in POSTs of 1,000,
#                   events/s from the first POST until GET /v1/sinks shows
#                   the sink at the last id (sink batch max_events 1000,
#                   max_delay_ms 5). BENCH_SINKS="file http" picks modules.
# The exit status is 1 if any cell reports "ok":false, the server died, or
# it did not exit 0 on SIGTERM.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
SCALE=${BENCH_SCALE:-1}
HERALD=${BENCH_HERALD:-$ROOT/build/herald}
LG=${BENCH_LG:-$ROOT/build/bench/loadgen}
OUT=${BENCH_OUT:-$ROOT/build/bench/results.jsonl}
ALL_CELLS=(fanout_flat fanout_serial fanout_one fanout_rate rooms_each idle_rss publish_single publish_single_idem publish_batch
           publish_ws publish_ws_4 publish_ws_idem
           webhook_receiver webhook_throughput webhook_throughput_4 webhook_throughput_filter webhook_throughput_batch
           webhook_throughput_ratelimit webhook_throughput_ratelimit_high webhook_throughput_controls webhook_recovery
           janus_ingest janus_ingest_gzip janus_ingest_newconn sink_throughput)
JANUS_SAMPLE=$ROOT/tests/data/janus/14-batch-100-events.json
CELLS=("$@")
[ ${#CELLS[@]} -eq 0 ] && CELLS=("${ALL_CELLS[@]}")
for c in "${CELLS[@]}"; do
    [[ " ${ALL_CELLS[*]} " == *" $c "* ]] || { echo "unknown cell: $c (known: ${ALL_CELLS[*]})" >&2; exit 2; }
done

log() { echo "bench: $*" >&2; }

if [ -z "${BENCH_NO_BUILD:-}" ]; then
    log "building herald and the load generator"
    cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
    # herald and every sink module this checkout defines (sink_throughput)
    SINK_TARGETS=$(cmake --build build --target help | awk '/herald-sink-/ { print $2 }' | tr '\n' ' ')
    # shellcheck disable=SC2086
    cmake --build build -j2 --target herald $SINK_TARGETS >/dev/null
    make -s -f bench/Makefile >/dev/null
fi

# Both processes need ~19,000 descriptors for idle_rss.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
log "ulimit -n $(ulimit -n), nproc $(nproc), BENCH_SCALE=$SCALE"

DATA_ROOT=${BENCH_DATA_ROOT:-${TMPDIR:-/tmp}}
log "data dirs under $DATA_ROOT ($(df -T "$DATA_ROOT" | awk 'NR == 2 { print $2 }'))"

PIN=()
[ -n "${BENCH_LG_CPUS:-}" ] && PIN=(taskset -c "$BENCH_LG_CPUS")

scale() { awk -v n="$1" -v s="$SCALE" 'BEGIN { v = int(n * s + 0.5); if (v < 1) v = 1; print v }'; }

SPID=""
DATA=""
PORT=""
FAILED=0

# SIGTERM, 5 s grace, then SIGKILL. herald must exit 0 on SIGTERM: any
# other status (a crash on shutdown is 139) fails the run.
stop_server() {
    if [ -n "$SPID" ]; then
        if kill -0 "$SPID" 2>/dev/null; then
            kill "$SPID" 2>/dev/null || true
            for _ in $(seq 50); do kill -0 "$SPID" 2>/dev/null || break; sleep 0.1; done
            kill -9 "$SPID" 2>/dev/null || true
        fi
        local rc=0
        wait "$SPID" 2>/dev/null || rc=$?
        if [ "$rc" != 0 ]; then
            log "herald (pid $SPID) exited with status $rc after SIGTERM (139 = SIGSEGV, 137 = SIGKILL); its log:"
            [ -n "$DATA" ] && tail -20 "$DATA/herald.log" >&2
            FAILED=1
        fi
        SPID=""
    fi
    [ -n "$DATA" ] && rm -rf "$DATA"
    DATA=""
}
# Helper servers of the sink cell (redis-server, mosquitto), by PID.
AUX_PIDS=()
stop_aux() {
    local p
    for p in "${AUX_PIDS[@]}"; do
        kill "$p" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
    AUX_PIDS=()
}
SINK_DIR=""
cleanup() {
    stop_server
    stop_aux
    [ -n "$SINK_DIR" ] && rm -rf "$SINK_DIR"
    SINK_DIR=""
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Extra server flags for the next cell (set and cleared around run_cell).
SERVER_EXTRA=()

start_server() {
    PORT=$("$LG" --free-port)
    DATA=$(mktemp -d "$DATA_ROOT/herald-bench.XXXXXX")
    "$HERALD" --listen "127.0.0.1:$PORT" --data-dir "$DATA" --log-level warn --max-unauthenticated-per-address 0 "${SERVER_EXTRA[@]}" \
        >"$DATA/herald.log" 2>&1 &
    SPID=$!
    if ! "$LG" --server "127.0.0.1:$PORT" --wait-ready 15; then
        log "herald did not become ready; its log:"
        tail -20 "$DATA/herald.log" >&2 || true
        exit 1
    fi
}

run_cell() {
    local cell=$1; shift
    start_server
    log "$cell: herald pid $SPID on 127.0.0.1:$PORT"
    local line
    line=$("${PIN[@]}" "$LG" --server "127.0.0.1:$PORT" --server-pid "$SPID" --cell "$cell" "$@") || true
    if ! kill -0 "$SPID" 2>/dev/null; then
        log "$cell: HERALD DIED during the cell; its log:"
        tail -20 "$DATA/herald.log" >&2 || true
        FAILED=1
    fi
    if [ -z "$line" ]; then
        line="{\"cell\":\"$cell\",\"ok\":false,\"error\":\"loadgen printed nothing\"}"
    fi
    echo "$line"
    echo "$line" >>"$OUT"
    [[ "$line" == *'"ok":false'* ]] && FAILED=1
    local warns
    warns=$(grep -ciE 'warn|error' "$DATA/herald.log" || true)
    [ "$warns" != "0" ] && { log "$cell: herald logged $warns warning/error lines, first ones:"; grep -iE 'warn|error' "$DATA/herald.log" | head -5 >&2; }
    stop_server
}

# A cell whose load generator runs the server itself (webhook_recovery: two
# server lifetimes on one data dir). The server's output goes to
# $DATA/herald.log; the load generator stops it and reports how it exited.
run_spawn_cell() {
    local cell=$1; shift
    PORT=$("$LG" --free-port)
    DATA=$(mktemp -d "$DATA_ROOT/herald-bench.XXXXXX")
    log "$cell: the load generator runs herald on 127.0.0.1:$PORT itself"
    local line
    line=$("${PIN[@]}" "$LG" --server "127.0.0.1:$PORT" --cell "$cell" --server-log "$DATA/herald.log" "$@" \
        -- "$HERALD" --listen "127.0.0.1:$PORT" --data-dir "$DATA" --log-level warn --max-unauthenticated-per-address 0) || true
    if [ -z "$line" ]; then
        line="{\"cell\":\"$cell\",\"ok\":false,\"error\":\"loadgen printed nothing\"}"
    fi
    echo "$line"
    echo "$line" >>"$OUT"
    [[ "$line" == *'"ok":false'* ]] && FAILED=1
    local warns
    warns=$(grep -ciE 'warn|error' "$DATA/herald.log" || true)
    [ "$warns" != "0" ] && { log "$cell: herald logged $warns warning/error lines, first ones:"; grep -iE 'warn|error' "$DATA/herald.log" | head -5 >&2; }
    stop_server
}

emit_line() { # a line the load generator did not print (a skipped module)
    echo "$1"
    echo "$1" >>"$OUT"
}

# One sink module: a config file with one sink "bench" of that module, its
# target (started here when it is a server), herald with --config, the
# load generator's sink cell, then everything stopped.
sink_cell() {
    local m=$1 events=$2 cfg verify="" extra=()
    local so="$(dirname "$HERALD")/sinks/herald-sink-$m.so"
    if [ ! -f "$so" ]; then
        emit_line "{\"cell\":\"sink_throughput\",\"module\":\"$m\",\"skipped\":\"$so not built\"}"
        return
    fi
    SINK_DIR=$(mktemp -d "$DATA_ROOT/herald-sink.XXXXXX")
    case $m in
    file)
        cfg="{\"path\":\"$SINK_DIR/events.jsonl\",\"max_bytes\":0}"
        verify="wc -l < $SINK_DIR/events.jsonl" ;;
    sqlite-cdr)
        cfg="{\"path\":\"$SINK_DIR/cdr.db\"}"
        if command -v sqlite3 >/dev/null; then
            verify="sqlite3 $SINK_DIR/cdr.db 'SELECT count(*) FROM herald_events'"
        fi ;;
    http)
        local rp
        rp=$("$LG" --free-port)
        cfg="{\"url\":\"http://127.0.0.1:$rp/sink\"}"
        extra=(--recv-port "$rp") ;;
    redis)
        if ! command -v redis-server >/dev/null; then
            emit_line "{\"cell\":\"sink_throughput\",\"module\":\"redis\",\"skipped\":\"redis-server not installed\"}"
            rm -rf "$SINK_DIR"; SINK_DIR=""; return
        fi
        local rp
        rp=$("$LG" --free-port)
        redis-server --port "$rp" --bind 127.0.0.1 --dir "$SINK_DIR" --save '' --appendonly yes \
            --appendfsync everysec --daemonize no >"$SINK_DIR/redis.log" 2>&1 &
        AUX_PIDS+=($!)
        for _ in $(seq 100); do [ "$(redis-cli -p "$rp" ping 2>/dev/null)" == PONG ] && break; sleep 0.05; done
        cfg="{\"url\":\"redis://127.0.0.1:$rp/0\",\"stream\":\"herald:events\"}"
        verify="redis-cli -p $rp XLEN herald:events" ;;
    mqtt)
        if ! command -v mosquitto >/dev/null; then
            emit_line "{\"cell\":\"sink_throughput\",\"module\":\"mqtt\",\"skipped\":\"mosquitto not installed\"}"
            rm -rf "$SINK_DIR"; SINK_DIR=""; return
        fi
        local mp
        mp=$("$LG" --free-port)
        printf 'listener %s 127.0.0.1\nallow_anonymous true\nuser %s\npersistence false\nmax_queued_messages 0\n' \
            "$mp" "$(id -un)" >"$SINK_DIR/mosquitto.conf"
        mosquitto -c "$SINK_DIR/mosquitto.conf" >"$SINK_DIR/mosquitto.log" 2>&1 &
        AUX_PIDS+=($!)
        for _ in $(seq 100); do mosquitto_pub -p "$mp" -t probe -n 2>/dev/null && break; sleep 0.05; done
        # a QoS 1 subscriber takes every event (the broker forwards them)
        mosquitto_sub -p "$mp" -t 'herald/#' -q 1 -C "$events" >"$SINK_DIR/sub.out" 2>/dev/null &
        AUX_PIDS+=($!)
        sleep 0.2
        cfg="{\"host\":\"127.0.0.1\",\"port\":$mp,\"qos\":1,\"topic\":\"herald/{type}/{room_id}\"}"
        verify="for i in \$(seq 100); do [ \$(wc -l < $SINK_DIR/sub.out) -ge $events ] && break; sleep 0.05; done; wc -l < $SINK_DIR/sub.out" ;;
    esac
    printf '{"sinks":[{"name":"bench","module":"%s","batch":{"max_events":1000,"max_delay_ms":5},"config":%s}]}\n' \
        "$m" "$cfg" >"$SINK_DIR/herald.json"
    SERVER_EXTRA=(--config "$SINK_DIR/herald.json")
    [ -n "$verify" ] && extra+=(--verify-cmd "$verify")
    run_cell sink_throughput --sink bench --sink-module "$m" --events "$events" --batch 1000 \
        --concurrency 2 "${extra[@]}"
    SERVER_EXTRA=()
    stop_aux
    rm -rf "$SINK_DIR"
    SINK_DIR=""
}

mkdir -p "$(dirname "$OUT")"
log "results also go to $OUT"
for cell in "${CELLS[@]}"; do
    case $cell in
    fanout_flat)
        run_cell "$cell" --subs "$(scale 10000)" --events "$(scale 1000)" --concurrency 16 --batch 1 ;;
    fanout_serial)
        run_cell "$cell" --subs "$(scale 10000)" --events "$(scale 1000)" --concurrency 1 --batch 1 ;;
    fanout_one)
        run_cell "$cell" --subs "$(scale 10000)" --events "$(scale 200)" --concurrency 1 --batch 1 ;;
    fanout_rate)
        run_cell "$cell" --subs "$(scale 10000)" --events "$(scale 100)" --rate 5 --concurrency 4 ;;
    rooms_each)
        SERVER_EXTRA=(--jwt-secret bench-rooms-secret)
        run_cell "$cell" --rooms --jwt-secret bench-rooms-secret --subs "$(scale 10000)" \
            --events "$(scale "${BENCH_ROOMS_EVENTS:-10000}")" --rate "${BENCH_ROOMS_RATE:-20000}" --concurrency 128
        SERVER_EXTRA=() ;;
    idle_rss)
        run_cell "$cell" --subs "$(scale 19000)" --idle 10 ;;
    publish_single)
        run_cell "$cell" --publish-only --events "$(scale 100000)" --concurrency 64 --batch 1 --max-seconds 60 ;;
    publish_single_idem)
        run_cell "$cell" --publish-only --idempotency-keys --events "$(scale 100000)" --concurrency 64 --batch 1 --max-seconds 60 ;;
    publish_batch)
        run_cell "$cell" --publish-only --events "$(scale 1000000)" --concurrency 8 --batch 100 --max-seconds 60 ;;
    publish_ws)
        run_cell "$cell" --ws-publish --events "$(scale 1000000)" --concurrency 1 --window 1024 --max-seconds 60 ;;
    publish_ws_4)
        run_cell "$cell" --ws-publish --events "$(scale 1000000)" --concurrency 4 --window 1024 --max-seconds 60 ;;
    publish_ws_idem)
        run_cell "$cell" --ws-publish --idempotency-keys --events "$(scale 1000000)" --concurrency 1 --window 1024 --max-seconds 60 ;;
    webhook_receiver)
        line=$("${PIN[@]}" "$LG" --cell "$cell" --recv-selftest --events "$(scale 200000)" --concurrency 64) || true
        [ -z "$line" ] && line="{\"cell\":\"$cell\",\"ok\":false,\"error\":\"loadgen printed nothing\"}"
        echo "$line"
        echo "$line" >>"$OUT"
        [[ "$line" == *'"ok":false'* ]] && FAILED=1 ;;
    webhook_throughput)
        SERVER_EXTRA=(--webhook-max-in-flight 64)
        run_cell "$cell" --webhooks 1 --events "$(scale 100000)" --batch 1000 --concurrency 2
        SERVER_EXTRA=() ;;
    webhook_throughput_filter)
        SERVER_EXTRA=(--webhook-max-in-flight 64)
        run_cell "$cell" --webhooks 1 --events "$(scale 100000)" --batch 1000 --concurrency 2 \
          --wh-filter '{"data.t":{"$gt":0},"data.pad":{"$prefix":"x"}}'
        SERVER_EXTRA=() ;;
    webhook_throughput_batch)
        SERVER_EXTRA=(--webhook-max-in-flight 64)
        run_cell "$cell" --webhooks 1 --events "$(scale 100000)" --batch 1000 --concurrency 2 \
          --wh-batch '{"max_events":100,"max_wait_ms":0}'
        SERVER_EXTRA=() ;;
    webhook_throughput_ratelimit)
        SERVER_EXTRA=(--webhook-max-in-flight 64)
        run_cell "$cell" --webhooks 1 --events "$(scale 20000)" --batch 1000 --concurrency 2 \
          --wh-rate-limit '{"per_second":2000,"burst":100}'
        SERVER_EXTRA=() ;;
    webhook_throughput_ratelimit_high)
        SERVER_EXTRA=(--webhook-max-in-flight 64)
        run_cell "$cell" --webhooks 1 --events "$(scale 100000)" --batch 1000 --concurrency 2 \
          --wh-rate-limit '{"per_second":100000,"burst":10000}'
        SERVER_EXTRA=() ;;
    webhook_throughput_controls)
        SERVER_EXTRA=(--webhook-max-in-flight 64)
        run_cell "$cell" --webhooks 1 --events "$(scale 100000)" --batch 1000 --concurrency 2 --wh-half \
          --wh-filter '{"data.odd":1}' --wh-batch '{"max_events":100,"max_wait_ms":0}' \
          --wh-rate-limit '{"per_second":100,"burst":10}'
        SERVER_EXTRA=() ;;
    webhook_throughput_4)
        SERVER_EXTRA=(--webhook-max-in-flight 64)
        run_cell "$cell" --webhooks 4 --events "$(scale 25000)" --batch 1000 --concurrency 2
        SERVER_EXTRA=() ;;
    webhook_recovery)
        run_spawn_cell "$cell" --webhook-recovery --recv-port "$("$LG" --free-port)" --max-in-flight 64 \
            --events "$(scale 100000)" --batch 1000 --concurrency 2 ;;
    janus_ingest)
        run_cell "$cell" --janus "$JANUS_SAMPLE" --events "$(scale 500000)" --batch 100 --concurrency 8 \
            --max-seconds 60 ;;
    janus_ingest_gzip)
        run_cell "$cell" --janus "$JANUS_SAMPLE" --events "$(scale 300000)" --batch 100 --concurrency 8 \
            --gzip 6 --max-seconds 60 ;;
    janus_ingest_newconn)
        run_cell "$cell" --janus "$JANUS_SAMPLE" --events "$(scale 100000)" --batch 100 --concurrency 1 \
            --new-conn --max-seconds 60 ;;
    sink_throughput)
        for m in ${BENCH_SINKS:-file sqlite-cdr http redis mqtt}; do
            sink_cell "$m" "$(scale 200000)"
        done ;;
    esac
done
exit $FAILED
