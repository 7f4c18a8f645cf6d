#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_janus_basic_auth.sh — Janus's event endpoint takes HTTP Basic
# credentials (the server token as the password) from anyone who can reach
# it, before any other check: malformed Basic values must be refused with
# 401 and a JSON body, never read out of bounds. The regression: "===="
# (all padding) made the decoded length negative and herald read past its
# buffer (SIGSEGV) — issue 13, defect 1. Variants: every mix of padding,
# no colon, an empty password, a value at the length bound and past it,
# bytes outside base64. After them the right password is still accepted
# and a well-behaved client is still served.
. "$(dirname "$0")/../integration/lib.sh"
herald_start

post_basic() { # the Authorization header's Basic value: prints the status
  curl -s -o "$WORK/body" -w '%{http_code}' -X POST "$URL/janus/events" -H "Authorization: Basic $1" \
    -H 'Content-Type: application/json' --data-binary @"$SRC/tests/data/janus/03-session-created.json"
}
long=$(head -c 3072 /dev/zero | tr '\0' 'A') # decodes to 2304 bytes, no colon
for v in '====' '=' '==' '===' 'A===' 'AA==' 'AAA=' '========' "$(printf 'Og==')" \
         "$(printf 'dXNlcg==')" "$(printf 'dXNlcjo=')" "$long" "${long}${long}===" '!!!!' \
         ' ==== ' 'ab=c' '=AAA'; do
  code=$(post_basic "$v")
  if [ "$code" != 401 ] || ! jq -e '.errors | test("credentials")' "$WORK/body" >/dev/null 2>&1; then
    fail "Basic '${v:0:20}': got $code $(head -c 200 "$WORK/body")"
  fi
  kill -0 "$HERALD_PID" 2>/dev/null || { fail "herald died on Basic '${v:0:20}'"; finish; exit 1; }
done
ok "every malformed Basic value is refused with 401 and a JSON reason"
expect_eq "the right password still works" 200 \
  "$(post_basic "$(printf 'janus:%s' "$TOKEN" | base64 -w0)")"
expect_match "a well-behaved client is still served" '^201 ' \
  "$(http POST /v1/events "${auth[@]}" -H 'Content-Type: application/json' -d '{"type":"still.here"}')"
finish
