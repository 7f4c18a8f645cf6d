#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test.sh — the whole suite, what `make test` runs: three stages, each built
# and then tested by CTest, and every stage runs even when an earlier one
# failed, so one broken test never hides the sanitizer or fuzz findings:
#
#   normal     ./build       the project's build (RelWithDebInfo, gcc)
#   sanitizer  ./build-asan  ASan+UBSan (Debug), the same tests
#   fuzz       ./build-fuzz  each libFuzzer target for a short run (clang)
#
# Each stage writes CTest's JUnit report to build-results/<stage>.xml; the
# last lines list the failed tests of each stage and a closing
# "test: N passed, N failed" line. Exits non-zero if anything failed.
#
# Usage: scripts/test.sh [stage…]   (default: all three)
set -u
cd "$(dirname "$0")/.."

CTEST_FLAGS=${CTEST_FLAGS:---output-on-failure -j2 --timeout 600}
RESULTS=${HERALD_TEST_RESULTS:-$PWD/build-results}
mkdir -p "$RESULTS"
stages=("$@")
[ ${#stages[@]} -gt 0 ] || stages=(normal sanitizer fuzz)

bash scripts/deps.sh || { echo "test: dependencies could not be installed"; exit 2; }

declare -A DIR=([normal]=build [sanitizer]=build-asan [fuzz]=build-fuzz)
declare -A TARGET=([normal]=build [sanitizer]=build-asan [fuzz]=build-fuzz)
declare -A LABEL=([normal]="" [sanitizer]="" [fuzz]="-L fuzz")
declare -A OUTCOME
start=$(date +%s)

for stage in "${stages[@]}"; do
  [ -n "${DIR[$stage]:-}" ] || { echo "test: no stage '$stage' (normal, sanitizer, fuzz)"; exit 2; }
  echo "=== test: stage $stage (${DIR[$stage]})"
  rm -f "$RESULTS/$stage.xml"
  t0=$(date +%s)
  if ! make --no-print-directory -s "${TARGET[$stage]}"; then
    OUTCOME[$stage]="build failed"
    continue
  fi
  # shellcheck disable=SC2086 # the flags are words
  (cd "${DIR[$stage]}" && ctest $CTEST_FLAGS ${LABEL[$stage]} --output-junit "$RESULTS/$stage.xml")
  OUTCOME[$stage]="ctest exit $? in $(($(date +%s) - t0)) s"
done

# The summary: read back each stage's JUnit report.
python3 - "$RESULTS" "$(($(date +%s) - start))" "${stages[@]}" <<'PY'
import sys, os, xml.etree.ElementTree as ET
results, seconds, stages = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
passed = failed = 0
print("\n=== test: summary (%d s)" % seconds)
for stage in stages:
    path = os.path.join(results, stage + ".xml")
    if not os.path.exists(path):
        print("%-10s no results (its build failed)" % stage)
        failed += 1
        continue
    bad = []
    for case in ET.parse(path).getroot().iter("testcase"):
        if case.find("failure") is not None or case.find("error") is not None:
            bad.append(case.get("name"))
        elif case.get("status") in ("fail", "failed", "notrun"):
            bad.append(case.get("name"))
        elif case.find("skipped") is not None:
            bad.append(case.get("name") + " (not run)")
        else:
            passed += 1
    failed += len(bad)
    print("%-10s %s" % (stage, "all passed" if not bad else "FAILED: " + " ".join(bad)))
print("test: %d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)
PY
