#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/capacity.sh — the small measurements behind the capacity model in
# docs/scale-out.md that the cells of run.sh and nodes.sh do not report.
# One JSON line each on stdout (and appended to build/bench/capacity.jsonl):
#
#   conn_cost    one node (SQLite), 19,000 server-notifier WebSockets
#                connected and held 20 s: server CPU per new connection
#                (upgrade, auth, subscribe; the idle tick over the connect
#                time is included), RSS per connection, and the kernel's
#                slab growth per socket (/proc/meminfo Slab while held;
#                both ends are on this host, so it is halved). The slab
#                figure counts the whole machine: other work moves it.
#   redis_idle   two idle redis-engine nodes on one redis-server for 30 s:
#                Redis CPU and commands per second that nodes cost with
#                nothing published (follower polls, heartbeats, retention)
#   commit_cost  one redis-engine node, 300 single-event POSTs one after
#                another with Redis's SLOWLOG at 0 µs: Redis's own time for
#                the commit script and for one follower read (median, p90)
#   log_bytes    100,000 events published in batches of 100 with 200- and
#                with 1,000-byte data: MEMORY USAGE of the log / XLEN
#   webhook_bytes  one endpoint, 20,000 deliveries (loadgen's webhook cell):
#                Redis memory added per delivery besides the log (outbox
#                row, attempt, their indexes; kept for --retention-age)
#
#   bash bench/capacity.sh                    all
#   bash bench/capacity.sh commit_cost ...    a subset
#   BENCH_HERALD, BENCH_LG, BENCH_OUT, BENCH_DATA_ROOT, BENCH_NO_BUILD  as in
#   bench/nodes.sh (Redis runs with appendonly yes, appendfsync always)
# Every process it starts is stopped by PID; temp dirs are removed.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
HERALD=${BENCH_HERALD:-$ROOT/build/herald}
LG=${BENCH_LG:-$ROOT/build/bench/loadgen}
OUT=${BENCH_OUT:-$ROOT/build/bench/capacity.jsonl}
DATA_ROOT=${BENCH_DATA_ROOT:-${TMPDIR:-/tmp}}
ALL=(conn_cost redis_idle commit_cost log_bytes webhook_bytes)
WHAT=("$@")
[ ${#WHAT[@]} -eq 0 ] && WHAT=("${ALL[@]}")
for w in "${WHAT[@]}"; do
    [[ " ${ALL[*]} " == *" $w "* ]] || { echo "unknown: $w (known: ${ALL[*]})" >&2; exit 2; }
done
log() { echo "bench/capacity: $*" >&2; }
command -v redis-server >/dev/null || { log "redis-server is not installed"; exit 2; }
if [ -z "${BENCH_NO_BUILD:-}" ]; then
    cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
    cmake --build build -j2 --target herald >/dev/null
    make -s -f bench/Makefile >/dev/null
fi
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
mkdir -p "$(dirname "$OUT")"
log "$(uptime)"

W=""
PIDS=()
stop_all() {
    local p
    for p in "${PIDS[@]}"; do
        kill "$p" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
    PIDS=()
    [ -n "$W" ] && rm -rf "$W"
    W=""
}
trap stop_all EXIT
trap 'exit 130' INT TERM

emit() { echo "$1"; echo "$1" >>"$OUT"; }
cpu_s() { awk '{ printf "%.2f", ($14 + $15) / 100 }' "/proc/$1/stat"; }
calc() { awk "BEGIN { printf \"%.${2:-1}f\", $1 }"; }
slab_kib() { awk '$1 == "Slab:" { print $2 }' /proc/meminfo; }
rcli() { redis-cli -p "$RPORT" "$@"; }

start_redis() {
    RPORT=$("$LG" --free-port)
    redis-server --port "$RPORT" --bind 127.0.0.1 --dir "$W" --save '' --appendonly yes \
        --appendfsync always --daemonize no >"$W/redis.log" 2>&1 &
    RPID=$!
    PIDS+=("$RPID")
    for _ in $(seq 100); do [ "$(rcli ping 2>/dev/null)" == PONG ] && return 0; sleep 0.05; done
    log "redis-server did not start"; exit 1
}

start_node() { # name [flags…]: sets NPORT and NPID
    local name=$1; shift
    NPORT=$("$LG" --free-port)
    "$HERALD" --listen "127.0.0.1:$NPORT" --data-dir "$W/$name" --log-level warn \
        --max-unauthenticated-per-address 0 "$@" >"$W/$name.log" 2>&1 &
    NPID=$!
    PIDS+=("$NPID")
    "$LG" --server "127.0.0.1:$NPORT" --wait-ready 15 || { log "$name did not start"; tail "$W/$name.log" >&2; exit 1; }
}
redis_node() { # name
    start_node "$1" --engine redis --redis-url "redis://127.0.0.1:$RPORT/0" --redis-prefix "$1:" --node-id "$1"
}

conn_cost() {
    local n=19000 c0 c1 s0 s1 line
    start_node n1
    c0=$(cpu_s "$NPID")
    s0=$(slab_kib)
    "$LG" --server "127.0.0.1:$NPORT" --server-pid "$NPID" --cell idle_rss --subs "$n" --idle 20 >"$W/line" &
    local lpid=$!
    sleep 17 # connecting takes ~12 s here; read while every socket is held
    s1=$(slab_kib)
    wait "$lpid"
    c1=$(cpu_s "$NPID")
    line=$(cat "$W/line")
    local idle conns
    idle=$(sed -n 's/.*"server_cpu_s":\([0-9.]*\).*/\1/p' <<<"$line")
    conns=$(sed -n 's/.*"conns":\([0-9]*\).*/\1/p' <<<"$line")
    emit "{\"what\":\"conn_cost\",\"conns\":$conns,\"server_cpu_s_total\":$(calc "$c1 - $c0" 2),\"server_cpu_s_held_20s\":$idle,\"connect_us_per_conn\":$(calc "($c1 - $c0 - $idle) * 1e6 / $conns"),\"held_us_per_conn_s\":$(calc "$idle * 1e6 / $conns / 20" 2),\"kib_per_conn\":$(sed -n 's/.*"kib_per_conn":\([0-9.]*\).*/\1/p' <<<"$line"),\"slab_kib_per_socket\":$(calc "($s1 - $s0) / 2 / $conns" 2)}"
}

redis_idle() {
    start_redis
    local a b r0 r1 c0 c1
    redis_node n1; a=$NPID
    redis_node n2; b=$NPID
    sleep 2
    r0=$(cpu_s "$RPID"); c0=$(rcli INFO stats | tr -d '\r' | awk -F: '$1 == "total_commands_processed" { print $2 }')
    local a0 b0; a0=$(cpu_s "$a"); b0=$(cpu_s "$b")
    sleep 30
    r1=$(cpu_s "$RPID"); c1=$(rcli INFO stats | tr -d '\r' | awk -F: '$1 == "total_commands_processed" { print $2 }')
    emit "{\"what\":\"redis_idle\",\"nodes\":2,\"seconds\":30,\"redis_cpu_ms_per_s\":$(calc "($r1 - $r0) * 1000 / 30" 2),\"redis_commands_per_s\":$(calc "($c1 - $c0) / 30"),\"node_cpu_ms_per_s\":[$(calc "($(cpu_s "$a") - $a0) * 1000 / 30" 2),$(calc "($(cpu_s "$b") - $b0) * 1000 / 30" 2)]}"
}

commit_cost() {
    start_redis
    redis_node n1
    rcli CONFIG SET slowlog-log-slower-than 0 >/dev/null
    rcli CONFIG SET slowlog-max-len 100000 >/dev/null
    rcli SLOWLOG RESET >/dev/null
    local pad i
    pad=$(printf 'x%.0s' $(seq 200))
    for i in $(seq 300); do
        curl -s -o /dev/null -X POST -H 'Authorization: Bearer development' -H 'Content-Type: application/json' \
            -d "{\"type\":\"bench.tick\",\"room_id\":\"r$i\",\"data\":{\"pad\":\"$pad\"}}" \
            "http://127.0.0.1:$NPORT/v1/events"
    done
    rcli --json SLOWLOG GET 100000 >"$W/slow.json"
    emit "$(python3 - "$W/slow.json" <<'EOF'
import json, statistics, sys
by = {}
for e in json.load(open(sys.argv[1])):
    args, us = e[3], e[2]
    # the commit script carries the event's data; XREAD is the follower's read
    if args[0] == "EVALSHA" and any("pad" in a for a in args):
        by.setdefault("commit", []).append(us)
    elif args[0] == "XREAD":
        by.setdefault("xread", []).append(us)
out = {"what": "commit_cost", "posts": 300}
for k, v in by.items():
    v.sort()
    out[k + "_us_median"] = statistics.median(v)
    out[k + "_us_p90"] = v[int(0.9 * len(v))]
    out[k + "_n"] = len(v)
print(json.dumps(out, separators=(",", ":")))
EOF
)"
}

log_bytes() {
    start_redis
    local pl
    for pl in 200 1000; do
        redis_node "p$pl"
        "$LG" --server "127.0.0.1:$NPORT" --publish-only --events 100000 --batch 100 --concurrency 8 \
            --payload "$pl" >/dev/null
        local n b
        n=$(rcli XLEN "p$pl:log"); b=$(rcli MEMORY USAGE "p$pl:log" SAMPLES 0)
        emit "{\"what\":\"log_bytes\",\"payload\":$pl,\"entries\":$n,\"bytes\":$b,\"bytes_per_event\":$(calc "$b / $n")}"
    done
}

webhook_bytes() {
    start_redis
    local u0 u1 lb
    u0=$(rcli INFO memory | tr -d '\r' | awk -F: '$1 == "used_memory" { print $2 }')
    start_node wh --engine redis --redis-url "redis://127.0.0.1:$RPORT/0" --redis-prefix wh: --node-id wh \
        --webhook-max-in-flight 64
    "$LG" --server "127.0.0.1:$NPORT" --server-pid "$NPID" --cell webhook_throughput --webhooks 1 \
        --events 20000 --batch 1000 --concurrency 2 >"$W/line"
    u1=$(rcli INFO memory | tr -d '\r' | awk -F: '$1 == "used_memory" { print $2 }')
    lb=$(rcli MEMORY USAGE wh:log SAMPLES 0)
    local d
    d=$(sed -n 's/.*"deliveries":\([0-9]*\).*/\1/p' "$W/line")
    local ok
    ok=$(sed -n 's/.*"ok":\(true\|false\).*/\1/p' "$W/line")
    emit "{\"what\":\"webhook_bytes\",\"ok\":${ok:-false},\"deliveries\":$d,\"used_memory_added\":$((u1 - u0)),\"log_bytes\":$lb,\"bytes_per_delivery\":$(calc "($u1 - $u0 - $lb) / $d")}"
}

for w in "${WHAT[@]}"; do
    W=$(mktemp -d "$DATA_ROOT/herald-capacity.XXXXXX")
    log "$w"
    "$w"
    stop_all
done
