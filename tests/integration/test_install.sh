#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_install.sh — herald installed as an admin would get it, then run the
# way its systemd unit runs it. Two sources for the installed tree:
#   - by default `cmake --install $BUILD` into a throw-away root (DESTDIR),
#     as `make install` would install into /usr/local;
#   - with HERALD_DEBS="a.deb b.deb …" (make test-deb) those packages,
#     unpacked with dpkg -x into a throw-away root.
# Checks that every file is where a Debian admin expects it (daemon in
# sbin, CLI in bin, sink modules under the library dir, headers under
# include/herald, the client library with its SONAME and pkg-config file,
# the man pages, the unit and its settings file), that the man pages list
# every flag of `--help`, and that the unit has its user, state dir,
# hardening and SIGTERM stop. Then it starts the installed herald with the
# unit's ExecStart command line (paths moved into the root, a temporary
# state dir, a free loopback port), publishes one event with the installed
# herald-cli and reads it back, with a file sink loaded from the installed
# modules folder, compiles a client example against the installed library
# with pkg-config and runs it, and stops herald with SIGTERM (exit 0).
. "$(dirname "$0")/lib.sh"
SRC=${SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
R=$WORK/root # the throw-away root: an installed path P is $R$P
mkdir -p "$R"
cache() { sed -n "s/^$1:[A-Z]*=//p" "$BUILD/CMakeCache.txt"; }

if [ -n "${HERALD_DEBS:-}" ]; then
  for deb in $HERALD_DEBS; do dpkg -x "$deb" "$R" || { echo "dpkg -x $deb failed"; exit 1; }; done
  PREFIX=/usr
  LIBDIR=lib/$(dpkg-architecture -qDEB_HOST_MULTIARCH)
  SANITIZE=OFF
  ok "packages unpacked: $(for d in $HERALD_DEBS; do basename "$d"; done | tr '\n' ' ')"
else
  PREFIX=$(cache CMAKE_INSTALL_PREFIX)
  LIBDIR=$(cache CMAKE_INSTALL_LIBDIR)
  SANITIZE=$(cache HERALD_SANITIZE)
  DESTDIR=$R cmake --install "$BUILD" > "$WORK/install.log" 2>&1 &&
    ok "cmake --install into a staging root" || { cat "$WORK/install.log"; fail "cmake --install"; finish; exit 1; }
  outside=$(grep -E '^-- (Installing|Up-to-date): ' "$WORK/install.log" | grep -v -- ": $R/" || true)
  expect_eq "nothing is installed outside the staging root" "" "$outside"
fi
P=$R$PREFIX

# --- every file where it belongs
for f in sbin/herald bin/herald-cli; do
  [ -x "$P/$f" ] && ok "$f is installed" || fail "$f missing"
done
for m in file http redis mqtt sqlite-cdr; do
  [ -f "$P/$LIBDIR/herald/sinks/herald-sink-$m.so" ] && ok "sink module $m under $LIBDIR/herald/sinks" ||
    fail "herald-sink-$m.so missing under $P/$LIBDIR/herald/sinks"
done
# Every public header lives in the source tree's include/herald/, and
# exactly those are installed under include/herald.
want=$(cd "$SRC/include/herald" && ls -- *.h | sort | tr '\n' ' ')
got=$(cd "$P/include/herald" 2>/dev/null && ls | sort | tr '\n' ' ')
expect_eq "include/herald holds the headers of the source's include/herald/" "$want" "$got"
for h in client.h client_webhooks.h client_publisher.h sink.h; do
  [ -f "$P/include/herald/$h" ] && ok "include/herald/$h" || fail "include/herald/$h missing"
done
soname=$(readelf -d "$P/$LIBDIR/libherald-client.so" 2>/dev/null | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
expect_eq "the client library's SONAME" "libherald-client.so.0" "$soname"
[ -e "$P/$LIBDIR/$soname" ] && ok "and the file it names" || fail "$P/$LIBDIR/$soname missing"
pc=$P/$LIBDIR/pkgconfig/herald-client.pc
[ -f "$pc" ] && ok "herald-client.pc" || fail "$pc missing"
for page in man8/herald.8 man1/herald-cli.1 man7/herald-sink.7; do
  f=$(ls "$P/share/man/$page"* 2>/dev/null | head -1) # the package gzips them
  if [ -n "$f" ]; then
    warn=$(man --warnings -E UTF-8 -l "$f" 2>&1 >/dev/null)
    expect_eq "man page $page renders without a warning" "" "$warn"
  else fail "man page $page missing"; fi
done
unit=$(find "$R" -path '*/systemd/system/herald.service' | head -1)
[ -n "$unit" ] && ok "herald.service in ${unit#"$R"}" || { fail "no herald.service"; finish; exit 1; }

# --- the man pages describe what is installed
HERALD_BIN=$P/sbin/herald
man8=$(MANWIDTH=1000 man -E UTF-8 -l "$(ls "$P"/share/man/man8/herald.8*)" 2>/dev/null | col -b)
missing=$("$HERALD_BIN" --help | sed -n 's/^  \(--[a-z0-9-]*\).*/\1/p' | while read -r flag; do
  grep -qE -- "(^| )$flag( |$)" <<<"$man8" || echo "$flag"; done)
expect_eq "herald(8) lists every flag of herald --help" "" "$missing"
moddir=$("$HERALD_BIN" --help | sed -n 's/.*sinks\/ beside herald, else \(.*\))$/\1/p')
expect_eq "herald's default modules folder is the installed one" "$PREFIX/$LIBDIR/herald/sinks" "$moddir"
grep -qF "$moddir" <<<"$man8" && ok "herald(8) names it" || fail "herald(8) does not name $moddir"
man1=$(MANWIDTH=1000 man -E UTF-8 -l "$(ls "$P"/share/man/man1/herald-cli.1*)" 2>/dev/null | col -b)
help1=$("$P/bin/herald-cli" --help)
missing=$( { grep -oE -- '--[a-z][a-z-]*' <<<"$help1"; sed -n 's/^  \([a-z][a-z-]*\) .*/\1/p' <<<"$help1"; } |
  sort -u | while read -r w; do grep -qF -- "$w" <<<"$man1" || echo "$w"; done)
expect_eq "herald-cli(1) has every command and option of herald-cli --help" "" "$missing"

# --- the unit: its own user, /var/lib/herald, hardening, SIGTERM
u() { sed -n "s/^$1=//p" "$unit" | tail -1; }
expect_eq "the service runs as the herald user" "herald" "$(u User)"
expect_eq "its state directory is /var/lib/herald" "herald" "$(u StateDirectory)"
expect_eq "it stops with SIGTERM (herald's graceful stop)" "SIGTERM" "$(u KillSignal)"
expect_eq "it restarts on failure" "on-failure" "$(u Restart)"
for d in NoNewPrivileges ProtectSystem ProtectHome PrivateTmp PrivateDevices RestrictAddressFamilies \
         CapabilityBoundingSet LimitNOFILE SystemCallFilter; do
  grep -q "^$d=" "$unit" && ok "unit sets $d" || fail "unit lacks $d"
done
read -r -a cmd <<<"$(u ExecStart)"
expect_eq "ExecStart runs the installed herald" "$PREFIX/sbin/herald" "${cmd[0]}"
expect_match "with the store in /var/lib/herald" ' --data-dir /var/lib/herald( |$)' " ${cmd[*]}"
envfile=$(u EnvironmentFile); envfile=${envfile#-}
[ -f "$R$envfile" ] && ok "its settings file $envfile is installed" || fail "$R$envfile missing"
expect_eq "and readable by its owner only (it may hold the token)" "600" "$(stat -c %a "$R$envfile")"
if [ -n "${HERALD_DEBS:-}" ]; then
  conf=$(for deb in $HERALD_DEBS; do dpkg-deb -f "$deb" Package | grep -qx herald && dpkg-deb -I "$deb" conffiles; done)
  expect_eq "the package keeps it as a conffile (an upgrade keeps the admin's settings)" "$envfile" "$conf"
fi
if command -v systemd-analyze >/dev/null; then
  sed "s|^ExecStart=$PREFIX/|ExecStart=$P/|" "$unit" > "$WORK/herald.service"
  out=$(systemd-analyze verify --man=no "$WORK/herald.service" 2>&1)
  expect_eq "systemd-analyze verify finds nothing wrong in the unit" "" "$out"
fi

# --- start it as the unit does: the ExecStart words, paths moved into the
# root, the settings file's variables; the test's loopback port, state dir
# and a config with a file sink (a module from the installed folder).
cmd[0]=$R${cmd[0]}
for i in "${!cmd[@]}"; do [ "${cmd[$i]}" == /var/lib/herald ] && cmd[$i]=$WORK/state; done
mkdir -p "$WORK/state"
echo "{\"sinks\": [{\"name\": \"audit\", \"module\": \"file\", \"config\": {\"path\": \"$WORK/audit.jsonl\"}}]}" \
  > "$WORK/herald.json"
# The service's environment is the settings file's variables alone.
mapfile -t fileenv < <(env -i bash -c 'set -a; . "$1"; env' _ "$R$envfile" | grep -E '^HERALD_[A-Z0-9_]+=')
LOG=$WORK/herald.0.log
env -i PATH="$PATH" "${fileenv[@]}" HERALD_LISTEN=127.0.0.1:0 HERALD_MODULES_DIR="$R$moddir" \
  HERALD_CONFIG="$WORK/herald.json" "${cmd[@]}" 2>"$LOG" &
HERALD_PID=$!; PIDS+=("$HERALD_PID")
wait_for "$LOG" 'listening on [^ ]*:[0-9]+ ' || { cat "$LOG"; fail "the installed herald did not start"; finish; exit 1; }
PORT=$(sed -n 's/.*listening on [^ ]*:\([0-9]*\) .*/\1/p' "$LOG" | head -1)
URL=http://127.0.0.1:$PORT
ok "the installed herald runs the unit's command line (port $PORT)"

CLI_I=(env -u HERALD_SERVER -u HERALD_TOKEN "$P/bin/herald-cli" --server "$URL")
id=$("${CLI_I[@]}" publish install.check '{"from":"the installed herald-cli"}')
expect_match "the installed herald-cli publishes one event" '^[0-9]+$' "$id"
line=$("${CLI_I[@]}" history --type install.check)
expect_match "and reads it back" "^\{\"id\":\"$id\",\"type\":\"install.check\".*\"from\":\"the installed herald-cli\"" "$line"
[ -n "$(ls -A "$WORK/state")" ] && ok "the store is in the unit's state dir" || fail "nothing in the state dir"
wait_for "$WORK/audit.jsonl" "\"id\":\"$id\"" && ok "a sink module from $moddir got it" ||
  fail "the file sink did not write the event: $(curl -s "$URL/v1/sinks" "${auth[@]}")"

# --- the client library, as a program built against the installed tree
cflags=$(PKG_CONFIG_SYSROOT_DIR=$R PKG_CONFIG_PATH=$P/$LIBDIR/pkgconfig pkg-config --cflags --libs herald-client 2>&1)
expect_match "pkg-config gives the installed include and library dirs" "-I$P/include.*-L$P/$LIBDIR.*-lherald-client" "$cflags"
san=(); [ "$SANITIZE" == ON ] && san=(-fsanitize=address,undefined)
CC=$( [ -z "${HERALD_DEBS:-}" ] && cache CMAKE_C_COMPILER); CC=${CC:-cc} # the build's, for its sanitizer runtime
# shellcheck disable=SC2086
"$CC" -Wall -Werror "${san[@]}" -o "$WORK/publish" "$SRC/examples/publish.c" $cflags -Wl,-rpath,"$P/$LIBDIR" \
  2>"$WORK/cc.err" && ok "examples/publish.c compiles against it" || fail "cc: $(cat "$WORK/cc.err")"
out=$(HERALD_SERVER=$URL HERALD_TOKEN=development "$WORK/publish" install.example '{"n":1}' 2>&1)
expect_match "and, linked to the installed libherald-client.so.0, publishes and reads back" \
  '^published event ([0-9]+).*"type":"install.example"' "$(tr '\n' ' ' <<<"$out")"
ldd "$WORK/publish" | grep -qF "$P/$LIBDIR/libherald-client.so.0" && ok "the installed library is the one loaded" ||
  fail "ldd: $(ldd "$WORK/publish" | grep herald)"

herald_stop; expect_eq "SIGTERM stops it gracefully (exit 0)" 0 $?
grep -q 'stopped' "$LOG" && ok "it logs that it stopped" || fail "no 'stopped' in the log"
finish
