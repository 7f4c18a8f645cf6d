#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds herald's Debian packages (debian/) with dpkg-buildpackage, in a
# copy of the source tree under build-deb/ (dpkg-buildpackage writes the
# .deb files into the parent of the tree it builds, and its build folder
# must not mix with ./build). Prints the paths of the .deb files, one per
# line, on stdout; the build's own output goes to build-deb/build.log.
# Needs the packages of scripts/deps.sh (debhelper among them).
set -euo pipefail
cd "$(dirname "$0")/.."
out=$PWD/build-deb
rm -rf "$out"
mkdir -p "$out/src"
# The tracked and new files, not build folders or ignored ones.
git ls-files -z --cached --others --exclude-standard |
  tar --null -T - --ignore-failed-read -cf - 2>/dev/null | tar -C "$out/src" -xf -
# The web console's npm packages (ignored by git) come along, so the
# package build bundles the console without the network (cmake/console.cmake
# runs npm ci only when they are missing or older than the lock file).
if [ -d console/node_modules ]; then cp -a console/node_modules "$out/src/console/"; fi
if ! (cd "$out/src" && nice -n 15 dpkg-buildpackage -us -uc -b -j"${JOBS:-2}") > "$out/build.log" 2>&1; then
  tail -40 "$out/build.log" >&2
  echo "deb: dpkg-buildpackage failed (build-deb/build.log)" >&2
  exit 1
fi
ls "$out"/*.deb
