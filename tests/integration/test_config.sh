# SPDX-License-Identifier: MIT
# test_config.sh — flags, HERALD_* variables, and the rules on the token.
. "$(dirname "$0")/lib.sh"

out=$("$HERALD" --help); expect_eq "--help exits 0" 0 $?
expect_match "--help lists --listen with its env twin" 'HERALD_LISTEN' "$out"
# docs/configuration.md is where the flags are documented: a table row
# (`--flag ...` in its first cell) for every flag --help lists.
missing=$(sed -n 's/^  \(--[a-z0-9-]*\).*/\1/p' <<<"$out" | while read -r flag; do
  grep -qE -- "^\| \`$flag[ \`]" "$SRC/docs/configuration.md" || echo "$flag"; done)
expect_eq "docs/configuration.md has a row for every flag of --help" "" "$missing"
expect_match "--version prints the version" '^herald [0-9]+\.[0-9]+\.[0-9]+' "$("$HERALD" --version)"

"$HERALD" --no-such-flag 2>"$WORK/err"; expect_eq "unknown flag exits 2" 2 $?
expect_match "unknown flag is named" "unknown option '--no-such-flag'" "$(cat "$WORK/err")"
"$HERALD" --listen nonsense 2>"$WORK/err"; expect_eq "bad --listen exits 2" 2 $?

"$HERALD" --listen 0.0.0.0:0 --data-dir "$WORK/d0" 2>"$WORK/err"; expect_eq "public address without a token exits 2" 2 $?
expect_match "and says why" 'needs an explicit --token' "$(cat "$WORK/err")"

"$HERALD" --peer-url-scheme ftp 2>"$WORK/err"; expect_eq "bad --peer-url-scheme exits 2" 2 $?
expect_match "and names the values" 'must be none, ws or wss' "$(cat "$WORK/err")"
"$HERALD" --publish-window 0 2>"$WORK/err"; expect_eq "--publish-window 0 exits 2" 2 $?
expect_match "it says why" "publish-window must be at least 1" "$(cat "$WORK/err")"
HERALD_LOG_LEVEL=bogus "$HERALD" 2>"$WORK/err"; expect_eq "bad env value exits 2" 2 $?
expect_match "names the variable" 'HERALD_LOG_LEVEL' "$(cat "$WORK/err")"

# The environment sets the token; a flag would win over it.
HERALD_TOKEN=s3cret herald_start
expect_match "HERALD_TOKEN is the server token" '^201 ' "$(http POST /v1/events -H 'Authorization: Bearer s3cret' -d '{"type":"a.b"}')"
expect_match "development is no longer accepted" '^401 ' "$(http POST /v1/events "${auth[@]}" -d '{"type":"a.b"}')"
herald_stop; expect_eq "SIGTERM exits 0" 0 $?

DATA_DIR=$WORK/d1 HERALD_TOKEN=fromenv herald_start --token fromflag
expect_match "--token wins over HERALD_TOKEN" '^201 ' "$(http POST /v1/events -H 'Authorization: Bearer fromflag' -d '{"type":"a.b"}')"
herald_stop

# An existing world-readable data directory and a permissive umask: the
# store's files are still owner-only.
mkdir -m 0755 "$WORK/open"
old_umask=$(umask); umask 022
DATA_DIR=$WORK/open herald_start
umask "$old_umask"
expect_match "publish into the existing directory" '^201 ' "$(http POST /v1/events "${auth[@]}" -d '{"type":"a.b"}')"
expect_eq "herald.db, -wal and -shm are 0600" "600 600 600" \
  "$(stat -c %a "$WORK/open/herald.db" "$WORK/open/herald.db-wal" "$WORK/open/herald.db-shm" | tr '\n' ' ' | sed 's/ $//')"
herald_stop

"$HERALD" --listen 127.0.0.1:0 --data-dir /proc/forbidden 2>"$WORK/err"; expect_eq "unusable data dir exits 1" 1 $?
expect_match "and says which" '/proc/forbidden' "$(cat "$WORK/err")"
finish
