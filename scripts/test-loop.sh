#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test-loop.sh — the whole suite (scripts/test.sh: normal, sanitizer and
# fuzz stages) N times in a row, each time from clean build directories,
# to find the tests that fail only sometimes. A test that fails once in N
# runs is a defect: this is how it is found before CI finds it.
#
# Usage: scripts/test-loop.sh [--stress | --stress-first K | --stress-last K] N
#   --stress          run `stress-ng --cpu 2` beside every run (a busy machine)
#   --stress-first K  beside the first K runs only
#   --stress-last K   beside the last K runs only
# Prints a line per run and at the end a table: test, runs, failures (the
# tests that failed first). Each run's output is kept in
# build-loop/run-<i>.log and its JUnit reports in build-loop/run-<i>/.
# Exits non-zero if any run had a failure. No retries: a run counts as it is.
set -u
cd "$(dirname "$0")/.."

stress_from=0 # the first run (1-based) with the CPU hog beside it; 0: none
stress_to=0   # the last one; 0: to the end
n=""
while [ $# -gt 0 ]; do
  case "$1" in
    --stress) stress_from=1 ;;
    --stress-last) shift; stress_last=${1:?--stress-last takes a count} ;;
    --stress-first) shift; stress_from=1; stress_to=${1:?--stress-first takes a count} ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) n=$1 ;;
  esac
  shift
done
[[ "$n" =~ ^[1-9][0-9]*$ ]] || { echo "usage: scripts/test-loop.sh [--stress | --stress-first K | --stress-last K] N" >&2; exit 2; }
[ -n "${stress_last:-}" ] && stress_from=$((n - stress_last + 1)) && [ "$stress_from" -lt 1 ] && stress_from=1

if [ "$stress_from" -gt 0 ]; then
  bash scripts/deps.sh --stress || exit 2
fi

OUT=$PWD/build-loop
rm -rf "$OUT"; mkdir -p "$OUT"
HOG=""
stop_hog() { [ -n "$HOG" ] && kill "$HOG" 2>/dev/null && wait "$HOG" 2>/dev/null; HOG=""; }
trap stop_hog EXIT

bad_runs=0
for i in $(seq 1 "$n"); do
  rm -rf build build-asan build-fuzz
  stressed=no
  if [ "$stress_to" -gt 0 ] && [ "$i" -gt "$stress_to" ]; then stop_hog; fi
  if [ "$stress_from" -gt 0 ] && [ "$i" -ge "$stress_from" ] && [ -z "$HOG" ] &&
     { [ "$stress_to" -eq 0 ] || [ "$i" -le "$stress_to" ]; }; then
    stress-ng --cpu 2 --timeout 0 --quiet & HOG=$!
  fi
  [ -n "$HOG" ] && stressed=yes
  t0=$(date +%s)
  HERALD_TEST_RESULTS=$OUT/run-$i bash scripts/test.sh >"$OUT/run-$i.log" 2>&1
  rc=$?
  [ $rc -eq 0 ] || bad_runs=$((bad_runs + 1))
  echo "run $i/$n: $(tail -1 "$OUT/run-$i.log") in $(($(date +%s) - t0)) s (stress-ng beside it: $stressed)"
  echo "$i $stressed $(($(date +%s) - t0)) $rc" >>"$OUT/runs.txt"
done
stop_hog

python3 - "$OUT" "$n" <<'PY'
import sys, os, glob, collections, xml.etree.ElementTree as ET
out, n = sys.argv[1], int(sys.argv[2])
runs, fails = collections.Counter(), collections.Counter()
for i in range(1, n + 1):
    for stage in ("normal", "sanitizer", "fuzz"):
        path = os.path.join(out, "run-%d" % i, stage + ".xml")
        if not os.path.exists(path):
            runs["%s (build)" % stage] += 1; fails["%s (build)" % stage] += 1
            continue
        for case in ET.parse(path).getroot().iter("testcase"):
            name = "%s/%s" % (stage, case.get("name"))
            runs[name] += 1
            if (case.find("failure") is not None or case.find("error") is not None
                    or case.find("skipped") is not None or case.get("status") in ("fail", "failed", "notrun")):
                fails[name] += 1
width = max(len(k) for k in runs) if runs else 10
print("\n%-*s %5s %9s" % (width, "test", "runs", "failures"))
for name in sorted(runs, key=lambda k: (-fails[k], k)):
    print("%-*s %5d %9d" % (width, name, runs[name], fails[name]))
print("\nloop: %d runs of %d tests, %d test failures" % (n, len(runs), sum(fails.values())))
PY
[ "$bad_runs" -eq 0 ]
