#!/bin/sh
# SPDX-License-Identifier: MIT
# options.sh — writes the OPTIONS section of herald(8) in roff, from the
# output of `herald --help`, so that the man page lists exactly the flags
# (help text, default, environment variable) of the herald it ships with.
#
# Usage: options.sh HERALD_BINARY PAGE_IN PAGE_OUT (man/CMakeLists.txt runs
# it at build time): PAGE_OUT is PAGE_IN with its line
# `.\" OPTIONS FROM HERALD --HELP` replaced by the options. `herald --help` prints, per option:
#     "  --NAME   HELP TEXT"
#     "           (env HERALD_NAME)"
# and last "--help" and "--version" on one line each. Fails (no output, exit
# 1) if the help text has no option in it, so a broken herald cannot ship an
# empty man page.
set -eu
# An empty environment: herald reads HERALD_* variables (and the file
# HERALD_CONFIG names) before its flags, and the builder's must not matter.
help=$(env -i "$1" --help)
options=$(printf '%s\n' "$help" | awk '
  # roff: a backslash is \e, every - is a minus sign \- (flags and paths
  # copied from the page must work), a line must not start with a dot or
  # an apostrophe (it would be read as a request).
  function esc(s) {
    gsub(/\\/, "\\e", s); gsub(/-/, "\\-", s); sub(/^[.\047]/, "\\\\\\&&", s); return s
  }
  function flag(s) { gsub(/-/, "\\-", s); return s }
  /^  --[a-z0-9-]+/ {
    name = $1; sub(/^--/, "", name)
    text = $0; sub(/^  --[a-z0-9-]+ +/, "", text)
    if (name == "help" || name == "version") {
      printf ".TP\n.B \\-\\-%s\n%s\n", flag(name), esc(text)
    } else {
      printf ".TP\n.BI \"\\-\\-%s \" value\n%s\n", flag(name), esc(text)
    }
    n++
    next
  }
  /^ +\(env HERALD_[A-Z0-9_]+\)$/ {
    env = $0; sub(/^ +\(env /, "", env); sub(/\)$/, "", env)
    printf ".br\nEnvironment: \\fB%s\\fR\n", env
  }
  END { if (n < 3) exit 1 }
')
# The page, the marker line replaced (awk -v would expand the backslashes).
grep -qxF '.\" OPTIONS FROM HERALD --HELP' "$2" || { echo "options.sh: no marker line in $2" >&2; exit 1; }
OPTIONS=$options awk '$0 == ".\\\" OPTIONS FROM HERALD --HELP" { print ENVIRON["OPTIONS"]; next } { print }' "$2" > "$3.tmp"
mv "$3.tmp" "$3"
