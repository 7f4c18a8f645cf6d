#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/nodes.sh — the fan-out cells of bench/run.sh across several herald
# nodes sharing one redis-server on this machine (the redis engine's
# scale-out, issue 8), beside the same cells on one Redis-backed node.
#
# For each cell and each node count in BENCH_NODES it starts a fresh
# redis-server (free loopback port, temp dir, no RDB, append-only file
# fsynced on every write unless BENCH_REDIS_FSYNC says otherwise), then N
# herald nodes on it (--engine redis, one --redis-prefix, --node-id n1…nN,
# --log-level warn, free loopback ports), and runs build/bench/loadgen:
# subscriber i connects to node i % N (--sub-ports), every event is
# published to node 1, the server CPU is the sum of every node's
# utime+stime over the publish -> last-delivery window (each node's share
# in node_cpu_s) and Redis's CPU over the same window is reported apart
# (redis_cpu_s, redis_cpu_us_per_event). This script adds to the load
# generator's JSON line: engine, redis_fsync, load1 (the 1-minute load
# average when the cell started: the machine may be shared), the Redis
# commands processed during the run (INFO stats, connect phase included;
# Redis counts the commands a Lua script runs too, so redis_cmds splits
# them by name from INFO commandstats: calls and Redis's own µs each),
# and the log stream's size afterwards (XLEN, MEMORY USAGE … SAMPLES 0,
# so log_bytes_per_event is the Redis memory one retained event takes).
# Everything it started is stopped by PID after the cell and on any exit.
#
#   bash bench/nodes.sh                    fanout_flat fanout_serial fanout_rate
#                                          on 1 and on 2 nodes
#   bash bench/nodes.sh fanout_rate        a subset (also: publish_single,
#                                          publish_batch, to node 1)
#   BENCH_NODES="2 3" bash bench/nodes.sh  other node counts (up to 8)
#   BENCH_SCALE, BENCH_LG_CPUS, BENCH_NO_BUILD, BENCH_HERALD,
#   BENCH_DATA_ROOT                        as in bench/run.sh
#   BENCH_LG=PATH                          another load generator binary
#   BENCH_OUT=FILE                         where the lines are appended too
#   BENCH_REDIS_FSYNC=everysec             Redis's appendfsync (default always)
#   BENCH_NODE_THREADS=N                   --threads of every node (default:
#                                          herald's, one per core)
# Lines go to stdout and build/bench/nodes.jsonl. Exit status 1 if any line
# says "ok":false, a node died, or a node did not exit 0 on SIGTERM.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
SCALE=${BENCH_SCALE:-1}
HERALD=${BENCH_HERALD:-$ROOT/build/herald}
LG=${BENCH_LG:-$ROOT/build/bench/loadgen}
OUT=${BENCH_OUT:-$ROOT/build/bench/nodes.jsonl}
read -r -a NODE_COUNTS <<<"${BENCH_NODES:-1 2}"
FSYNC=${BENCH_REDIS_FSYNC:-always}
SYNC=() # herald refuses a Redis weaker than appendfsync always unless told it is accepted
[ "$FSYNC" = always ] || SYNC=(--sync-full 0)
ALL_CELLS=(fanout_flat fanout_serial fanout_rate publish_single publish_batch)
CELLS=("$@")
[ ${#CELLS[@]} -eq 0 ] && CELLS=(fanout_flat fanout_serial fanout_rate)
for c in "${CELLS[@]}"; do
    [[ " ${ALL_CELLS[*]} " == *" $c "* ]] || { echo "unknown cell: $c (known: ${ALL_CELLS[*]})" >&2; exit 2; }
done

log() { echo "bench/nodes: $*" >&2; }
command -v redis-server >/dev/null || { log "redis-server is not installed (scripts/deps.sh)"; exit 2; }

if [ -z "${BENCH_NO_BUILD:-}" ]; then
    log "building herald and the load generator"
    cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
    cmake --build build -j2 --target herald >/dev/null
    make -s -f bench/Makefile >/dev/null
fi

ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
DATA_ROOT=${BENCH_DATA_ROOT:-${TMPDIR:-/tmp}}
log "ulimit -n $(ulimit -n), nproc $(nproc), BENCH_SCALE=$SCALE, redis appendfsync $FSYNC, $(uptime)"

PIN=()
[ -n "${BENCH_LG_CPUS:-}" ] && PIN=(taskset -c "$BENCH_LG_CPUS")
THREADS=()
[ -n "${BENCH_NODE_THREADS:-}" ] && THREADS=(--threads "$BENCH_NODE_THREADS")

scale() { awk -v n="$1" -v s="$SCALE" 'BEGIN { v = int(n * s + 0.5); if (v < 1) v = 1; print v }'; }

WORK=""
REDIS_PID=""
RPORT=""
NODE_PIDS=()
NODE_PORTS=()
FAILED=0
PREFIX="bench:"

# SIGTERM, 5 s grace, then SIGKILL; the exit status in STOP_RC (not
# printed: wait only works in the shell that started the process).
STOP_RC=0
stop_pid() {
    local p=$1
    STOP_RC=0
    if kill -0 "$p" 2>/dev/null; then
        kill "$p" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$p" 2>/dev/null || true
    fi
    wait "$p" 2>/dev/null || STOP_RC=$?
}

# Nodes first (herald must exit 0 on SIGTERM), then Redis, then the files.
stop_all() {
    local i
    for i in "${!NODE_PIDS[@]}"; do
        stop_pid "${NODE_PIDS[$i]}"
        if [ "$STOP_RC" != 0 ]; then
            log "node n$((i + 1)) (pid ${NODE_PIDS[$i]}) exited with status $STOP_RC after SIGTERM; its log:"
            tail -20 "$WORK/n$((i + 1)).log" >&2 || true
            FAILED=1
        fi
    done
    NODE_PIDS=()
    NODE_PORTS=()
    [ -n "$REDIS_PID" ] && stop_pid "$REDIS_PID"
    REDIS_PID=""
    [ -n "$WORK" ] && rm -rf "$WORK"
    WORK=""
}
trap stop_all EXIT
trap 'exit 130' INT TERM

rcli() { redis-cli -p "$RPORT" "$@"; }

start_redis() {
    RPORT=$("$LG" --free-port)
    redis-server --port "$RPORT" --bind 127.0.0.1 --dir "$WORK" --save '' --appendonly yes \
        --appendfsync "$FSYNC" --daemonize no >"$WORK/redis.log" 2>&1 &
    REDIS_PID=$!
    for _ in $(seq 100); do [ "$(rcli ping 2>/dev/null)" == PONG ] && return 0; sleep 0.05; done
    log "redis-server did not start; its log:"
    tail -20 "$WORK/redis.log" >&2
    exit 1
}

start_nodes() { # count
    local i port
    for i in $(seq "$1"); do
        port=$("$LG" --free-port)
        mkdir -p "$WORK/d$i"
        "$HERALD" --listen "127.0.0.1:$port" --data-dir "$WORK/d$i" --log-level warn --max-unauthenticated-per-address 0 \
            --engine redis --redis-url "redis://127.0.0.1:$RPORT/0" --redis-prefix "$PREFIX" \
            --node-id "n$i" "${THREADS[@]}" "${SYNC[@]}" >"$WORK/n$i.log" 2>&1 &
        NODE_PIDS+=($!)
        NODE_PORTS+=("$port")
        if ! "$LG" --server "127.0.0.1:$port" --wait-ready 15; then
            log "node n$i did not become ready; its log:"
            tail -20 "$WORK/n$i.log" >&2 || true
            exit 1
        fi
    done
}

# INFO commandstats as "name calls usec" lines.
cmdstats() {
    rcli INFO commandstats | tr -d '\r' |
        sed -n 's/^cmdstat_\([^:]*\):calls=\([0-9]*\),usec=\([0-9]*\),.*/\1 \2 \3/p'
}
# {"name":{"calls":N,"usec":U},…} of what changed between two cmdstats files.
cmdstats_delta() {
    awk 'BEGIN { printf "{" }
         NR == FNR { c[$1] = $2; u[$1] = $3; next }
         $2 - c[$1] > 0 { printf "%s\"%s\":{\"calls\":%d,\"usec\":%d}", sep, $1, $2 - c[$1], $3 - u[$1]; sep = "," }
         END { printf "}" }' "$1" "$2"
}
info_field() { rcli INFO "$1" | tr -d '\r' | awk -F: -v k="$2" '$1 == k { print $2 }'; }

# One cell on N nodes; the load generator's flags follow.
run_nodes_cell() {
    local cell=$1 n=$2; shift 2
    WORK=$(mktemp -d "$DATA_ROOT/herald-nodes.XXXXXX")
    start_redis
    start_nodes "$n"
    local ports pids load1 cmd0 cmd1 line
    ports=$(IFS=,; echo "${NODE_PORTS[*]}")
    pids=$(IFS=,; echo "${NODE_PIDS[*]}")
    load1=$(cut -d' ' -f1 /proc/loadavg)
    log "$cell on $n node(s): ports $ports, pids $pids, redis pid $REDIS_PID port $RPORT, load $load1"
    cmd0=$(info_field stats total_commands_processed)
    cmdstats >"$WORK/cmdstats.0"
    line=$("${PIN[@]}" "$LG" --server "127.0.0.1:${NODE_PORTS[0]}" --sub-ports "$ports" \
        --server-pid "$pids" --redis-pid "$REDIS_PID" --cell "$cell" "$@") || true
    cmd1=$(info_field stats total_commands_processed)
    cmdstats >"$WORK/cmdstats.1"
    local i
    for i in "${!NODE_PIDS[@]}"; do
        if ! kill -0 "${NODE_PIDS[$i]}" 2>/dev/null; then
            log "$cell: NODE n$((i + 1)) DIED during the cell; its log:"
            tail -20 "$WORK/n$((i + 1)).log" >&2 || true
            FAILED=1
        fi
    done
    [ -z "$line" ] && line="{\"cell\":\"$cell\",\"ok\":false,\"error\":\"loadgen printed nothing\"}"
    local events xlen bytes used
    events=$(sed -n 's/.*"events":\([0-9]*\).*/\1/p' <<<"$line")
    xlen=$(rcli XLEN "${PREFIX}log")
    bytes=$(rcli MEMORY USAGE "${PREFIX}log" SAMPLES 0)
    used=$(info_field memory used_memory)
    line="${line%\}},\"engine\":\"redis\",\"redis_fsync\":\"$FSYNC\",\"load1\":$load1"
    line+=",\"redis_commands\":$((cmd1 - cmd0))"
    [ "${events:-0}" -gt 0 ] && line+=",\"redis_commands_per_event\":$(awk -v c=$((cmd1 - cmd0)) -v e="$events" 'BEGIN { printf "%.2f", c / e }')"
    line+=",\"redis_cmds\":$(cmdstats_delta "$WORK/cmdstats.0" "$WORK/cmdstats.1")"
    line+=",\"log_entries\":${xlen:-0},\"log_bytes\":${bytes:-0},\"redis_used_memory\":${used:-0}"
    [ "${xlen:-0}" -gt 0 ] && line+=",\"log_bytes_per_event\":$(awk -v b="${bytes:-0}" -v e="$xlen" 'BEGIN { printf "%.1f", b / e }')"
    line+="}"
    echo "$line"
    echo "$line" >>"$OUT"
    [[ "$line" == *'"ok":false'* ]] && FAILED=1
    local warns f
    for f in "$WORK"/n*.log; do
        warns=$(grep -ciE 'warn|error' "$f" || true)
        [ "$warns" != "0" ] && { log "$cell: $(basename "$f" .log) logged $warns warning/error lines, first ones:"; grep -iE 'warn|error' "$f" | head -3 >&2; }
    done
    stop_all
}

mkdir -p "$(dirname "$OUT")"
log "results also go to $OUT"
for cell in "${CELLS[@]}"; do
    for n in "${NODE_COUNTS[@]}"; do
        case $cell in
        fanout_flat)
            run_nodes_cell "$cell" "$n" --subs "$(scale 10000)" --events "$(scale 1000)" --concurrency 16 --batch 1 ;;
        fanout_serial)
            run_nodes_cell "$cell" "$n" --subs "$(scale 10000)" --events "$(scale 1000)" --concurrency 1 --batch 1 ;;
        fanout_rate)
            run_nodes_cell "$cell" "$n" --subs "$(scale 10000)" --events "$(scale 100)" --rate 5 --concurrency 4 ;;
        publish_single)
            run_nodes_cell "$cell" "$n" --publish-only --events "$(scale 100000)" --concurrency 64 --batch 1 --max-seconds 60 ;;
        publish_batch)
            run_nodes_cell "$cell" "$n" --publish-only --events "$(scale 1000000)" --concurrency 8 --batch 100 --max-seconds 60 ;;
        esac
    done
done
exit $FAILED
