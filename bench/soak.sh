#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/soak.sh — herald's soak run: does it stay flat under a long mixed
# load? Starts build/herald (release build) on a free loopback port with a
# fresh temp data dir, a real server token (48 random hex characters, so
# the production defaults apply: no loopback development shortcuts) and a
# JWT secret, then runs bench/soak.py against it for SOAK_SECONDS:
# publishers, app clients churning and resuming, resume storms, two webhook
# endpoints whose receiver cycles through healthy / 503 / down / hanging,
# a notifier subscriber, and hostile clients (tests/hostile/hostile.py).
# herald's RSS, descriptors, threads and /metrics gauges are sampled every
# SOAK_SAMPLE seconds into a CSV; the summary compares the first and the
# last quarter after the warm-up (see soak.py for the tolerances) and
# checks what every client and endpoint got. At the end herald gets
# SIGTERM: it must exit 0, and its log must hold no sanitizer report and
# no error line. Exit status 0 = PASS.
#
#   bash bench/soak.sh                     30 minutes (or: make -C bench soak)
#   SOAK_SECONDS=120 bash bench/soak.sh    a quick check
#   SOAK_NICE=5 ...                        niceness of herald and the load (default 5)
#   SOAK_HERALD=PATH ...                   another server binary (e.g. build-asan/herald)
#   SOAK_NO_BUILD=1 ...                    skip building
#   SOAK_OUT=DIR ...                       where the CSV, herald's log and the summary
#                                          are kept (default build/soak)
#   SOAK_SAMPLE=S ...                      seconds between samples (default 10)
#   SOAK_ARGS="--storm 60 ..."             more soak.py flags (rates, storm size…)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
SECONDS_RUN=${SOAK_SECONDS:-1800}
NICE=${SOAK_NICE:-5}
HERALD=${SOAK_HERALD:-$ROOT/build/herald}
OUT=${SOAK_OUT:-$ROOT/build/soak}
log() { echo "soak.sh: $*" >&2; }

if [ -z "${SOAK_NO_BUILD:-}" ] && [ -z "${SOAK_HERALD:-}" ]; then
    log "building herald (RelWithDebInfo)"
    cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
    nice -n 15 cmake --build build -j2 --target herald >/dev/null
fi
mkdir -p "$OUT"
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
PORT=$(free_port)
RECV_PORT=$(free_port)
DATA=$(mktemp -d "${TMPDIR:-/tmp}/herald-soak.XXXXXX")
TOKEN=$(openssl rand -hex 24)
JWT_SECRET=$(openssl rand -hex 32)
HLOG=$OUT/herald.log
CSV=$OUT/samples.csv
SUMMARY=$OUT/summary.txt

# Retries come back within seconds (not Svix's hours) so that recovery
# happens many times in the run; loopback webhooks need an allow entry
# with a real token.
# The secrets go through the environment, not the command line (ps shows it).
HERALD_TOKEN=$TOKEN HERALD_JWT_SECRET=$JWT_SECRET \
nice -n "$NICE" "$HERALD" --listen "127.0.0.1:$PORT" --data-dir "$DATA" --log-level warn --webhook-allow 127.0.0.1/32 \
    --webhook-retry-schedule 1,2,5,10,20,30,30,30,30,30,30,30,30,30,30,30,30,30,30,30 \
    --webhook-timeout 5 --webhook-window 500 >"$HLOG" 2>&1 &
SPID=$!
# shellcheck disable=SC2317  # run by the trap
cleanup() {
    kill -0 "$SPID" 2>/dev/null && { kill -9 "$SPID" 2>/dev/null || true; }
    rm -rf "$DATA"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for _ in $(seq 150); do
    curl -fs "http://127.0.0.1:$PORT/health" >/dev/null 2>&1 && break
    sleep 0.1
done
curl -fs "http://127.0.0.1:$PORT/health" >/dev/null || { log "herald did not start:"; tail -20 "$HLOG" >&2; exit 1; }
COMMIT=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
DIRTY=$(git -C "$ROOT" status --porcelain --untracked-files=no -- src 2>/dev/null | head -1)
log "herald pid $SPID on 127.0.0.1:$PORT, commit $COMMIT${DIRTY:+ (src modified)}, $SECONDS_RUN s, data $DATA"

rc=0
# shellcheck disable=SC2086
nice -n "$NICE" python3 "$ROOT/bench/soak.py" --port "$PORT" --pid "$SPID" --token "$TOKEN" \
    --jwt-secret "$JWT_SECRET" --seconds "$SECONDS_RUN" --csv "$CSV" --recv-port "$RECV_PORT" \
    --sample "${SOAK_SAMPLE:-10}" ${SOAK_ARGS:-} | tee "$SUMMARY" || rc=$?

# herald must exit 0 on SIGTERM and have logged no error or sanitizer report.
if kill -0 "$SPID" 2>/dev/null; then
    kill "$SPID"
    for _ in $(seq 100); do kill -0 "$SPID" 2>/dev/null || break; sleep 0.1; done
fi
src=0
wait "$SPID" || src=$?
{
    echo "commit $COMMIT${DIRTY:+ (src modified)}; herald exit status on SIGTERM: $src"
    echo "herald log: $(wc -l <"$HLOG") lines, by level: $(grep -oE '\b(debug|info|warn|warning|error|fatal)\b' "$HLOG" | sort | uniq -c | tr -s ' ' | tr '\n' ',')"
} | tee -a "$SUMMARY"
if [ "$src" != 0 ]; then rc=1; fi
if grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:|ThreadSanitizer' "$HLOG"; then
    log "sanitizer report in $HLOG"; rc=1
fi
if grep -qiE '\berror\b|\bfatal\b' "$HLOG"; then
    log "error lines in herald's log:"; grep -iE '\berror\b|\bfatal\b' "$HLOG" | head -10 >&2; rc=1
fi
echo "soak: $([ $rc = 0 ] && echo PASS || echo FAIL) (summary $SUMMARY, samples $CSV, log $HLOG)" | tee -a "$SUMMARY"
exit $rc
