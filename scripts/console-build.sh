#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# console-build.sh SRC_DIR OUT_DIR OUT_C — the console's part of the one
# `make` (issue 17), run by the CMake custom command of cmake/console.cmake:
#   1. npm ci into console/node_modules, only when package-lock.json is
#      newer than the last install (npm's own node_modules/.package-lock.json)
#      or none was made: with node_modules present the build needs no
#      network. Under flock: ./build and ./build-asan share node_modules.
#   2. console/build.mjs bundles the pages into OUT_DIR/dist (esbuild);
#   3. scripts/console-embed.py turns OUT_DIR/dist into OUT_C.
set -euo pipefail
src=$1 out=$2 out_c=$3
console=$src/console
(
  flock 9
  stamp=$console/node_modules/.package-lock.json
  if [ ! -f "$stamp" ] || [ "$console/package-lock.json" -nt "$stamp" ]; then
    echo "console: npm ci (console/package-lock.json changed or nothing installed)"
    if ! command -v npm >/dev/null; then
      echo "console: npm is needed to install console/package-lock.json's packages (scripts/deps.sh)" >&2
      exit 1
    fi
    (cd "$console" && npm ci --prefer-offline --no-audit --no-fund --loglevel=error)
  fi
) 9<"$console/package.json"
mkdir -p "$out"
node "$console/build.mjs" "$out/dist"
python3 "$src/scripts/console-embed.py" "$out/dist" "$out_c"
