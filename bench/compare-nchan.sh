#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/compare-nchan.sh — herald side by side with Nchan (issue 7): the
# same load generator (build/bench/loadgen), the same 200-byte payload and
# the same cells, against both servers in one run, then the ratios.
#
#   bash bench/compare-nchan.sh                  cells fanout_flat fanout_one
#                                                fanout_rate rooms_each idle_rss
#   bash bench/compare-nchan.sh idle_rss ...     a subset
#   BENCH_SCALE=0.1 bash bench/compare-nchan.sh  every size scaled (a quick check)
#   BENCH_ROOMS_RATE=2000 ...                   rooms_each paced at 2,000/s, not 20,000/s
#   BENCH_ROOMS_EVENTS=100000 ...               rooms_each publishes 100,000 events (10 per
#                                                room): a 5 s window instead of 0.5 s
#   BENCH_LG_CPUS / BENCH_NO_BUILD / BENCH_DATA_ROOT as in bench/run.sh;
#   BENCH_HERALD=PATH                            another server binary (e.g. one
#                                                built from a clean export of a
#                                                commit); then only the load
#                                                generator is built
#
# How it works:
#   - Installs nginx-light and libnginx-mod-nchan with apt-get when the
#     nchan module is missing (Debian bookworm: nginx 1.22, nchan 1.3.6);
#     nothing when present.
#   - Builds herald and the load generator (bench/run.sh's build), unless
#     BENCH_NO_BUILD is set.
#   - For each cell, herald first then Nchan, so both see the same state of
#     a machine that may be shared:
#       herald: `bench/run.sh CELL` (a fresh herald per cell, see its header);
#       Nchan:  a fresh nginx per cell: a temp dir with a minimal nginx.conf
#               (1 worker, worker_rlimit_nofile = the hard limit,
#               worker_connections 25000, error log in the temp dir, no access
#               log, a free loopback port, load_module of the nchan .so,
#               /pub/<id> = nchan_publisher http, /sub/<id> = nchan_subscriber
#               websocket, /health for readiness), started in the foreground
#               as our child (`-g 'daemon off;' -p DIR -c DIR/nginx.conf`),
#               its one worker found as the master's child, the load generator
#               run with --nchan --server-pid <worker> (the worker's
#               utime+stime is the server CPU, its VmRSS growth the memory),
#               then nginx stopped by the master's PID (SIGQUIT, then
#               SIGTERM, then SIGKILL).
#   - The same loadgen flags for both servers in a cell (run.sh's for
#     herald; the table below repeats them for Nchan: keep the two in step).
#   - Prints one JSON line per (server, cell) — loadgen's line, which carries
#     "server" — and then, per cell, one line of ratios herald/nchan:
#     deliveries per server-CPU-second, p50 and p99 latency, KiB per
#     connection (the goals: ≥ 2.5 for deliveries/CPU-s in fanout_flat,
#     herald ≤ 4 KiB in idle_rss, p99 ≤ 1/3 in fanout_rate). All lines also
#     go to build/bench/compare-nchan.jsonl; progress goes to stderr.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
SCALE=${BENCH_SCALE:-1}
LG=$ROOT/build/bench/loadgen
OUT=$ROOT/build/bench/compare-nchan.jsonl
NCHAN_SO=/usr/lib/nginx/modules/ngx_nchan_module.so
ALL_CELLS=(fanout_flat fanout_one fanout_rate rooms_each idle_rss)
CELLS=("$@")
[ ${#CELLS[@]} -eq 0 ] && CELLS=("${ALL_CELLS[@]}")
for c in "${CELLS[@]}"; do
    [[ " ${ALL_CELLS[*]} " == *" $c "* ]] || { echo "unknown cell: $c (known: ${ALL_CELLS[*]})" >&2; exit 2; }
done

log() { echo "compare-nchan: $*" >&2; }

PKGS=()
{ [ -f "$NCHAN_SO" ] && command -v nginx >/dev/null; } || PKGS+=(nginx-light libnginx-mod-nchan)
command -v jq >/dev/null || PKGS+=(jq) # the ratio lines
if [ ${#PKGS[@]} -gt 0 ]; then
    log "installing ${PKGS[*]}"
    SUDO=()
    [ "$(id -u)" != 0 ] && SUDO=(sudo)
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        "${PKGS[@]}" >&2 || {
        "${SUDO[@]}" apt-get update >&2
        "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
            "${PKGS[@]}" >&2
    }
fi
NGINX=$(command -v nginx)
log "$("$NGINX" -v 2>&1), nchan $(dpkg-query -W -f '${Version}' libnginx-mod-nchan 2>/dev/null || echo '?')"

if [ -z "${BENCH_NO_BUILD:-}" ]; then
    if [ -z "${BENCH_HERALD:-}" ]; then
        log "building herald"
        cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
        cmake --build build -j2 --target herald >/dev/null
    fi
    log "building the load generator"
    make -s -f bench/Makefile >/dev/null
fi
log "herald: ${BENCH_HERALD:-$ROOT/build/herald}"

ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
NOFILE=$(ulimit -n)
PIN=()
[ -n "${BENCH_LG_CPUS:-}" ] && PIN=(taskset -c "$BENCH_LG_CPUS")
scale() { awk -v n="$1" -v s="$SCALE" 'BEGIN { v = int(n * s + 0.5); if (v < 1) v = 1; print v }'; }

# The Nchan side of each cell: the same flags bench/run.sh gives herald.
nchan_args() {
    case $1 in
    fanout_flat) echo --subs "$(scale 10000)" --events "$(scale 1000)" --concurrency 16 --batch 1 ;;
    fanout_one)  echo --subs "$(scale 10000)" --events "$(scale 200)" --concurrency 1 --batch 1 ;;
    fanout_rate) echo --subs "$(scale 10000)" --events "$(scale 100)" --rate 5 --concurrency 4 ;;
    rooms_each)  echo --rooms --subs "$(scale 10000)" --events "$(scale "${BENCH_ROOMS_EVENTS:-10000}")" --rate "${BENCH_ROOMS_RATE:-20000}" --concurrency 128 ;;
    idle_rss)    echo --subs "$(scale 19000)" --idle 10 ;;
    esac
}

NDIR=""
NPID=""
stop_nginx() {
    if [ -n "$NPID" ]; then
        local sig
        for sig in QUIT TERM KILL; do
            kill -0 "$NPID" 2>/dev/null || break
            kill -s "$sig" "$NPID" 2>/dev/null || true
            for _ in $(seq 50); do kill -0 "$NPID" 2>/dev/null || break; sleep 0.1; done
        done
        wait "$NPID" 2>/dev/null || true
        NPID=""
    fi
    [ -n "$NDIR" ] && rm -rf "$NDIR"
    NDIR=""
}
trap stop_nginx EXIT
trap 'exit 130' INT TERM

start_nginx() {
    local port=$1
    NDIR=$(mktemp -d "${TMPDIR:-/tmp}/nchan-bench.XXXXXX")
    chmod 755 "$NDIR"
    cat >"$NDIR/nginx.conf" <<EOF
# written by bench/compare-nchan.sh
load_module $NCHAN_SO;
worker_processes 1;
worker_rlimit_nofile $NOFILE;
pid $NDIR/nginx.pid;
error_log $NDIR/error.log warn;
events { worker_connections 25000; }
http {
    access_log off;
    client_body_temp_path $NDIR/body;
    server {
        listen 127.0.0.1:$port;
        location = /health { return 200 "ok\n"; }
        location ~ /pub/(\w+)$ { nchan_publisher http; nchan_channel_id \$1; }
        location ~ /sub/(\w+)$ { nchan_subscriber websocket; nchan_channel_id \$1; }
    }
}
EOF
    "$NGINX" -g 'daemon off;' -p "$NDIR" -c "$NDIR/nginx.conf" 2>>"$NDIR/error.log" &
    NPID=$!
    if ! "$LG" --server "127.0.0.1:$port" --wait-ready 15; then
        log "nginx did not become ready; its log:"
        tail -20 "$NDIR/error.log" >&2 || true
        exit 1
    fi
    WPID=""
    for _ in $(seq 50); do
        WPID=$(ps -o pid= --ppid "$NPID" | tr -d ' ' | head -1)
        [ -n "$WPID" ] && break
        sleep 0.1
    done
    [ -n "$WPID" ] || { log "no nginx worker under master $NPID"; exit 1; }
}

mkdir -p "$(dirname "$OUT")"
: >"$OUT"
emit() { echo "$1"; echo "$1" >>"$OUT"; }

for cell in "${CELLS[@]}"; do
    log "$cell: herald"
    hline=$(BENCH_NO_BUILD=1 bash bench/run.sh "$cell" | tail -1) || true
    [ -z "$hline" ] && hline="{\"cell\":\"$cell\",\"server\":\"herald\",\"ok\":false,\"error\":\"run.sh printed nothing\"}"
    emit "$hline"

    port=$("$LG" --free-port)
    start_nginx "$port"
    log "$cell: nchan, master $NPID, worker $WPID on 127.0.0.1:$port"
    # shellcheck disable=SC2046
    nline=$("${PIN[@]}" "$LG" --nchan --server "127.0.0.1:$port" --server-pid "$WPID" --cell "$cell" \
        $(nchan_args "$cell")) || true
    if ! kill -0 "$WPID" 2>/dev/null; then
        log "$cell: THE NGINX WORKER DIED; its log:"
        tail -20 "$NDIR/error.log" >&2 || true
    fi
    [ -z "$nline" ] && nline="{\"cell\":\"$cell\",\"server\":\"nchan\",\"ok\":false,\"error\":\"loadgen printed nothing\"}"
    emit "$nline"
    if grep -qiE '\[(alert|crit|emerg|error)\]' "$NDIR/error.log"; then
        log "$cell: nginx logged errors, first ones:"
        grep -iE '\[(alert|crit|emerg|error)\]' "$NDIR/error.log" | head -5 >&2
    fi
    stop_nginx

    # herald / nchan, per cell (null where a side lacks the figure)
    emit "$(jq -cn --argjson h "$hline" --argjson n "$nline" '
        def ratio(f): if ($h[f] != null and $n[f] != null and $n[f] != 0)
                      then (($h[f] / $n[f]) * 1000 | round / 1000) else null end;
        {cell: $h.cell, ratio: "herald/nchan",
         deliveries_per_cpu_s: ratio("deliveries_per_cpu_s"),
         deliveries_per_s: ratio("deliveries_per_s"),
         p50_ms: ratio("p50_ms"), p99_ms: ratio("p99_ms"),
         kib_per_conn: ratio("kib_per_conn"),
         ok: ($h.ok == true and $n.ok == true)}
        | with_entries(select(.value != null))')"
done
