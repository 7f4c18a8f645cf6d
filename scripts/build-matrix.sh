#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# build-matrix.sh — builds herald in every configuration a user or packager
# may choose, warnings as errors, so that a warning one compiler or
# optimisation level adds is found here rather than by a packager:
# gcc Debug, RelWithDebInfo and Release, clang Debug and Release. Each in
# build-matrix/<compiler>-<type>; prints one line per configuration and
# exits non-zero if any failed to build. CI runs it before `make test`.
set -u
cd "$(dirname "$0")/.."
bash scripts/deps.sh || exit 2
JOBS=${JOBS:-$(nproc)}
failed=0
for cfg in "gcc Debug" "gcc RelWithDebInfo" "gcc Release" "clang Debug" "clang Release"; do
  set -- $cfg
  dir=build-matrix/$1-$2
  log=build-matrix/$1-$2.log
  mkdir -p "$dir"
  if CC=$1 cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE="$2" -DHERALD_WERROR=ON >"$log" 2>&1 &&
     cmake --build "$dir" -j"$JOBS" >>"$log" 2>&1; then
    echo "build-matrix: $1 $2: built, no warnings"
  else
    failed=$((failed + 1))
    echo "build-matrix: $1 $2: FAILED"; grep -E 'error|warning' "$log" | head -20
  fi
done
[ "$failed" -eq 0 ]
