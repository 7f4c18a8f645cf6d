#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/profile.sh — where herald's CPU goes in one benchmark cell: a fresh
# build/herald (as bench/run.sh starts it), the cell's load from
# build/bench/loadgen, and `perf record` (cpu-clock samples, DWARF call
# graphs) on the server for a window inside the cell's steady part. Prints
# the cell's JSON line, then one line per stage of an event's path with
# the share of the server's samples spent in it and below it (perf's
# "children" figure, so stages nest: the socket writes of fan-out are part
# of the loop's wake-up). The raw profile stays in build/bench/CELL.perf
# for `perf report -i`.
#
#   bash bench/profile.sh rooms_each        20,000 publishes/s, 10,000 rooms
#   bash bench/profile.sh fanout_one        10,000 subscribers, 1 publisher
#   PROF_DELAY=3.3 PROF_SECS=1.5 ...        the window (s after the server
#                                           is ready; the subscribers take
#                                           ~2.5 s to connect)
#   BENCH_HERALD=PATH ...                   another server binary
#
# Needs perf (Debian's linux-perf) with cpu-clock sampling allowed
# (perf_event_paranoid <= 1, or root).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
HERALD=${BENCH_HERALD:-$ROOT/build/herald}
LG=$ROOT/build/bench/loadgen
CELL=${1:-rooms_each}
OUTP=$ROOT/build/bench/$CELL.perf

SERVER_EXTRA=()
case $CELL in
rooms_each)
    SERVER_EXTRA=(--jwt-secret bench-rooms-secret)
    ARGS=(--rooms --jwt-secret bench-rooms-secret --subs 10000 --events 60000 --rate 20000 --concurrency 128)
    DELAY=${PROF_DELAY:-3.3}; SECS=${PROF_SECS:-1.5} ;;
fanout_one)
    ARGS=(--subs 10000 --events 400 --concurrency 1 --batch 1)
    DELAY=${PROF_DELAY:-3.0}; SECS=${PROF_SECS:-2} ;;
publish_single)
    ARGS=(--publish-only --events 200000 --concurrency 64 --batch 1)
    DELAY=${PROF_DELAY:-1}; SECS=${PROF_SECS:-2} ;;
*) echo "profile.sh: unknown cell $CELL (rooms_each, fanout_one, publish_single)" >&2; exit 2 ;;
esac

command -v perf >/dev/null || { echo "profile.sh: perf is not installed (apt-get install linux-perf)" >&2; exit 1; }
[ -x "$LG" ] || make -s -f bench/Makefile
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
mkdir -p "$(dirname "$OUTP")"
PORT=$("$LG" --free-port)
DATA=$(mktemp -d "${BENCH_DATA_ROOT:-${TMPDIR:-/tmp}}/herald-prof.XXXXXX")
"$HERALD" --listen "127.0.0.1:$PORT" --data-dir "$DATA" --log-level warn \
    --max-unauthenticated-per-address 0 "${SERVER_EXTRA[@]}" >"$DATA/herald.log" 2>&1 &
SPID=$!
PPID_PERF=""
cleanup() {
    [ -n "$PPID_PERF" ] && wait "$PPID_PERF" 2>/dev/null || true
    kill "$SPID" 2>/dev/null || true
    wait "$SPID" 2>/dev/null || true
    rm -rf "$DATA"
}
trap cleanup EXIT
"$LG" --server "127.0.0.1:$PORT" --wait-ready 15
( sleep "$DELAY"; perf record -q -F 1000 -e cpu-clock --call-graph dwarf,16384 -p "$SPID" -o "$OUTP" \
    -- sleep "$SECS" >/dev/null 2>&1 ) &
PPID_PERF=$!
"$LG" --server "127.0.0.1:$PORT" --server-pid "$SPID" --cell "$CELL" "${ARGS[@]}"
wait "$PPID_PERF"
PPID_PERF=""

# The stages of one event's path, in the order they happen (names of
# herald's functions, and the syscalls and libraries under them).
STAGES=(
    on_read "read a request (and everything it causes on that loop)"
    http_parser_execute "  HTTP parsing"
    hv_api_publish "  POST /v1/events: auth, JSON, hand-off"
    hv_auth_token_ok "    server-token check"
    json_loadb "    JSON parse of the body"
    json_dumps "    JSON re-encode of data"
    commit_group "hub: one group commit"
    insert_event "    SQLite inserts"
    sq_commit "  SQLite transaction (inserts, WAL writes, fsync)"
    fdatasync "    its fdatasync"
    hv_event_encode "  encode each event once per format"
    on_wake "loop: commits and answers handed over"
    publish_done "  the 201 answer (its write)"
    hv_loop_flush "  socket writes of fan-out"
    epoll_wait "loop: waiting for I/O (epoll_wait)"
    epoll_ctl "loop: epoll_ctl"
    on_tick "loop: the 100 ms tick"
)
REPORT=$(perf report -i "$OUTP" --children --sort sym --stdio -g none 2>/dev/null | grep '%' || true)
echo "# share of server samples (children), $CELL"
for ((i = 0; i < ${#STAGES[@]}; i += 2)); do
    sym=${STAGES[i]}
    pct=$(awk -v s="$sym" '{ for (f = 3; f <= NF; f++) if ($f == s || $f == "__GI_" s || $f == "__" s) { print $1; exit } }' <<<"$REPORT")
    printf '%-8s %s\n' "${pct:-0%}" "${STAGES[i + 1]}"
done
