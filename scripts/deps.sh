#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs every Debian package herald needs to build, test and benchmark,
# plus the npm test clients. Idempotent: a second run installs nothing.
# Runs apt through sudo when not root. With --stress it also installs
# stress-ng, the CPU hog of `make test-loop STRESS=1` (and nothing else needs it).
set -euo pipefail
cd "$(dirname "$0")/.."

PKGS=(build-essential cmake pkg-config clang libclang-rt-14-dev
      libuv1-dev libhttp-parser-dev libwslay-dev libcurl4-openssl-dev
      libssl-dev libjansson-dev libsqlite3-dev libprotobuf-c-dev
      protobuf-c-compiler libcmocka-dev zlib1g-dev libjwt-dev curl netcat-openbsd sqlite3
      libjemalloc-dev libhiredis-dev libmosquitto-dev redis-server mosquitto mosquitto-clients
      python3 janus  # python3: test scripts read JSON; janus: the real Janus of tests/integration/test_janus_real.sh
      debhelper      # debhelper: make deb / test-deb build the Debian packages (debian/); it brings
                     # man-db, whose man renders the pages in tests/integration/test_install.sh
      chromium)      # the web console's browser tests (tests/console), driven by playwright-core

[ "${1:-}" == "--stress" ] && PKGS+=(stress-ng)

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node.js and npm run the interop test clients. A machine may already have
# them from another source (whose nodejs bundles npm and conflicts with
# Debian's npm package): only install what is missing as a command.
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The web console's packages (console/package.json: Preact, uPlot, esbuild,
# playwright-core for its tests) are installed by the build itself (npm ci
# in scripts/console-build.sh, only when console/package-lock.json changed).

# Test clients from npm (interop tests only), plus the vendored ones the
# registry does not serve (tests/interop/vendor/README.md): each tarball's
# sha256 is checked first, so a corrupt or replaced file stops here instead
# of being installed. npm installs again whenever package.json, the lock
# file or a vendored tarball is newer than the install, or a vendored
# package is missing from it.
vendor_sha256=(
  "47209010e9fdde83fdf3d45893eb8179778c822b2f2ff8ec879613a0ee6cbd82  tests/interop/vendor/fishjam-cloud-js-server-sdk-0.29.0.tgz"
)
for line in "${vendor_sha256[@]}"; do
  if ! echo "$line" | sha256sum --check --quiet --strict -; then
    echo "deps: ${line##* } does not match its sha256 (tests/interop/vendor/README.md)" >&2
    exit 1
  fi
done
stamp=tests/interop/node_modules/.package-lock.json
need_npm=0
if [ -f tests/interop/package.json ]; then
  if [ ! -f "$stamp" ] || [ tests/interop/package.json -nt "$stamp" ] ||
     [ tests/interop/package-lock.json -nt "$stamp" ] ||
     [ ! -f tests/interop/node_modules/fishjam-sdk-029/package.json ]; then
    need_npm=1
  fi
  for line in "${vendor_sha256[@]}"; do
    if [ "${line##* }" -nt "$stamp" ]; then need_npm=1; fi
  done
fi
if [ "$need_npm" -eq 1 ]; then
  echo "deps: npm install (tests/interop)"
  (cd tests/interop && npm install --no-audit --no-fund --loglevel=error)
fi
