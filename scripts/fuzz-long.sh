#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# fuzz-long.sh — what `make fuzz-long` runs: every libFuzzer target of
# ./build-fuzz (or those named in FUZZ_TARGETS) for FUZZ_SECONDS each (600
# by default), one after the other, then a table of each target's result,
# executions and coverage.
#
# `make test` runs each target for 15 s from its seeds; this is the long
# run that finds what 15 s does not (issue 13: the closing note gives each
# target's executions and coverage after at least 10 minutes).
#
# Corpus: the seeds in fuzz/corpus/<target>/ are read but never written;
# what a run finds goes to build-fuzz/fuzz-long/corpus/<target>/, which is
# kept and read again by the next run, so runs build on each other without
# touching the repository. To keep findings in the repository, merge them
# (only inputs that add coverage are copied):
#   build-fuzz/fuzz/<target> -merge=1 fuzz/corpus/<target> build-fuzz/fuzz-long/corpus/<target>
# A crash, leak, UB report or hang (an input running past 60 s) stops that
# target; its input is saved in build-fuzz/fuzz-long/artifacts/<target>/
# (reproduce: build-fuzz/fuzz/<target> <file>) and the script exits 1.
# Logs: build-fuzz/fuzz-long/<target>.log.
#
# Usage: FUZZ_SECONDS=600 FUZZ_TARGETS="fuzz_conn fuzz_auth" scripts/fuzz-long.sh
set -u
cd "$(dirname "$0")/.."

SECONDS_EACH=${FUZZ_SECONDS:-600}
BIN=build-fuzz/fuzz
OUT=build-fuzz/fuzz-long
[[ "$SECONDS_EACH" =~ ^[0-9]+$ ]] && [ "$SECONDS_EACH" -gt 0 ] ||
  { echo "fuzz-long: FUZZ_SECONDS must be a positive number of seconds"; exit 2; }

targets=(${FUZZ_TARGETS:-})
if [ ${#targets[@]} -eq 0 ]; then
  for f in fuzz/fuzz_*.c; do targets+=("$(basename "$f" .c)"); done
fi
for t in "${targets[@]}"; do
  [ -x "$BIN/$t" ] || { echo "fuzz-long: no target $t in $BIN (make build-fuzz; names: fuzz/fuzz_*.c)"; exit 2; }
done
mkdir -p "$OUT"
echo "fuzz-long: ${#targets[@]} target(s), ${SECONDS_EACH} s each (about $(( (${#targets[@]} * SECONDS_EACH + 59) / 60 )) min)"

# One row per target: name, result, executions, exec/s, cov, ft, corpus, new, rss.
rows=()
failed=0
for t in "${targets[@]}"; do
  corpus="$OUT/corpus/$t" artifacts="$OUT/artifacts/$t" log="$OUT/$t.log"
  mkdir -p "$corpus" "$artifacts"
  seeds=()
  [ -d "fuzz/corpus/$t" ] && seeds=("fuzz/corpus/$t")
  echo "fuzz-long: $t ($(date +%H:%M:%S))"
  # -timeout: one input running 60 s is a hang. The first corpus directory
  # is the one libFuzzer writes to.
  "$BIN/$t" -max_total_time="$SECONDS_EACH" -print_final_stats=1 -timeout=60 \
    -artifact_prefix="$artifacts/" "$corpus" "${seeds[@]}" >"$log" 2>&1
  rc=$?
  # The last status line ("#N DONE cov: C ft: F corp: K/…") and the final stats.
  status=$(grep -aE '^#[0-9]+[[:space:]]+(DONE|pulse|NEW|REDUCE|INITED)' "$log" | tail -1)
  stat() { grep -a "^stat::$1:" "$log" | tail -1 | awk '{print $2}'; }
  cov=$(sed -nE 's/.* cov: ([0-9]+).*/\1/p' <<<"$status")
  ft=$(sed -nE 's/.* ft: ([0-9]+).*/\1/p' <<<"$status")
  corp=$(sed -nE 's/.* corp: ([0-9]+)\/([^ ]+).*/\1 (\2)/p' <<<"$status")
  result=ok
  if [ "$rc" -ne 0 ]; then
    result="FAILED (exit $rc)"
    failed=1
    grep -aE 'ERROR: |SUMMARY: |runtime error|Test unit written to' "$log" | head -5 | sed 's/^/    /'
  fi
  row=$(printf '%-28s %-18s %12s %8s %7s %8s %-16s %6s %6s' "$t" "$result" "$(stat number_of_executed_units)" \
    "$(stat average_exec_per_sec)" "${cov:-?}" "${ft:-?}" "${corp:-?}" "$(stat new_units_added)" "$(stat peak_rss_mb)")
  echo "$row"
  rows+=("$row")
done

echo
echo "=== fuzz-long: ${SECONDS_EACH} s per target (libFuzzer final stats; cov = covered edges, ft = features)"
printf '%-28s %-18s %12s %8s %7s %8s %-16s %6s %6s\n' target result executions exec/s cov ft corpus new rss_mb
printf '%s\n' "${rows[@]}"
echo "corpus kept in $OUT/corpus/, logs in $OUT/*.log"
exit $failed
