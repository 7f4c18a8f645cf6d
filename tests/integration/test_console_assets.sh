#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_console_assets.sh — the web console's files as herald serves them
# (issue 17, src/api/console.c), seen with curl: every answer under
# /console (200, HEAD, 304, 404, 405, the origin guard's 403) carries the strict CSP, nosniff and
# no-referrer; no token is needed for the files; gzip when the client
# takes it (the bytes then gunzip to the identity ones), identity
# otherwise; ETag and If-None-Match give 304 with no body; an unknown
# file is a 404 JSON; index.html is revalidated, hashed assets immutable;
# every asset the page names is served; the API still wants its token.
. "$(dirname "$0")/lib.sh"
herald_start

CSP="Content-Security-Policy: default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
# head METHOD PATH [curl args]: the response head (CR removed) in $WORK/h, the body in $WORK/b
head_of() {
  local m=$1 p=$2; shift 2
  local how=(-X "$m"); [ "$m" == HEAD ] && how=(-I)
  rm -f "$WORK/b"; : > "$WORK/b" # curl writes no file for an empty body
  curl -s --path-as-is "${how[@]}" -D "$WORK/h" -o "$WORK/b" "$URL$p" "$@"
  tr -d '\r' < "$WORK/h" > "$WORK/h2" && mv "$WORK/h2" "$WORK/h"
}
hdr() { grep -i "^$1:" "$WORK/h" | head -1 | sed 's/^[^:]*: //'; }
status() { head -1 "$WORK/h" | cut -d' ' -f2; }
check_security() { # name
  if grep -qxF "$CSP" "$WORK/h" && grep -qix 'X-Content-Type-Options: nosniff' "$WORK/h" &&
     grep -qix 'Referrer-Policy: no-referrer' "$WORK/h"; then ok "$1: CSP, nosniff, no-referrer"
  else fail "$1: a security header is missing:"; cat "$WORK/h"; fi
}

# The page, without any token, identity (curl sends no Accept-Encoding).
head_of GET /console/
expect_eq "GET /console/ without a token: 200" 200 "$(status)"
check_security "GET /console/"
expect_match "index.html is HTML" '^text/html' "$(hdr content-type)"
expect_eq "identity when the client takes no gzip" "" "$(hdr content-encoding)"
expect_eq "index.html is revalidated" "no-cache" "$(hdr cache-control)"
expect_eq "varies by Accept-Encoding" "Accept-Encoding" "$(hdr vary)"
etag=$(hdr etag)
expect_match "index.html has an ETag" '^"[0-9a-f]{20}"$' "$etag"
expect_match "the body is the console's page" '<title>herald console</title>' "$(cat "$WORK/b")"
cp "$WORK/b" "$WORK/index.identity"
assets=$(grep -o '/console/assets/[^"]*' "$WORK/b")
expect_eq "the page names its script and its stylesheet" 2 "$(echo "$assets" | wc -l)"
if grep -qiE '<script>|<style|style=|\son[a-z]+=|https?://' "$WORK/b"; then
  fail "index.html has inline code or an outside URL"; else ok "index.html: no inline script or style, no outside URL"; fi

head_of GET /console
expect_eq "/console (no slash) is the page too" "$etag" "$(hdr etag)"
head_of GET /console/index.html
expect_eq "/console/index.html is the page too" "$etag" "$(hdr etag)"

# gzip when accepted, and it is the same page.
head_of GET /console/ -H 'Accept-Encoding: br, gzip;q=0.8'
expect_eq "Content-Encoding gzip when accepted" gzip "$(hdr content-encoding)"
expect_eq "Content-Length is the gzip body's" "$(stat -c %s "$WORK/b")" "$(hdr content-length)"
if gunzip -c < "$WORK/b" | cmp -s - "$WORK/index.identity"; then ok "the gzip body gunzips to the identity page"
else fail "the gzip body differs from the identity page"; fi
expect_eq "same ETag for both encodings" "$etag" "$(hdr etag)"
head_of GET /console/ -H 'Accept-Encoding: gzip;q=0, deflate'
expect_eq "gzip;q=0 gets identity" "" "$(hdr content-encoding)"

# Every asset: served without a token, right type, immutable, security headers.
for a in $assets; do
  head_of GET "$a" -H 'Accept-Encoding: gzip'
  expect_eq "$a: 200 without a token" 200 "$(status)"
  check_security "$a"
  expect_match "$a: its content type" '^text/(javascript|css); charset=utf-8$' "$(hdr content-type)"
  expect_eq "$a: immutable" "public, max-age=31536000, immutable" "$(hdr cache-control)"
  if gunzip -t < "$WORK/b" 2>/dev/null; then ok "$a: a gzip body"; else fail "$a: not a gzip body"; fi
done

# HEAD: the GET's headers, no body.
head_of HEAD /console/
expect_eq "HEAD /console/: 200" 200 "$(status)"
check_security "HEAD /console/"
expect_eq "HEAD: the GET's Content-Length" "$(stat -c %s "$WORK/index.identity")" "$(hdr content-length)"

# If-None-Match: 304 with no body, the headers kept; a keep-alive
# connection then still answers the next request (no stray body).
head_of GET /console/ -H "If-None-Match: \"other\", $etag"
expect_eq "If-None-Match with the ETag: 304" 304 "$(status)"
check_security "304"
expect_eq "304 has no body" 0 "$(stat -c %s "$WORK/b")"
expect_eq "304 keeps the ETag" "$etag" "$(hdr etag)"
head_of GET /console/ -H "If-None-Match: W/$etag"
expect_eq "a weak tag matches too (If-None-Match compares weakly)" 304 "$(status)"
head_of GET /console/ -H 'If-None-Match: "0000"'
expect_eq "another ETag: 200" 200 "$(status)"
r=$(curl -s -o /dev/null -w '%{http_code} ' -H "If-None-Match: $etag" "$URL/console/" -o /dev/null "$URL/health")
expect_eq "keep-alive: a 304 then the next request on the same connection" "304 200 " "$r"

# Unknown files and other methods: JSON errors, still with the headers.
head_of GET /console/assets/nope.js
expect_eq "unknown asset: 404" 404 "$(status)"
check_security "404"
expect_eq "unknown asset: JSON naming it" '{"errors":"no such console file: /console/assets/nope.js"}' "$(cat "$WORK/b")"
head_of GET /console/../health
expect_eq "no way out of /console with dot segments: 404" 404 "$(status)"
head_of GET '/console/%ff%fe'
expect_eq "a path that is not UTF-8: 404" 404 "$(status)"
expect_match "... as JSON" '^\{"errors":"no such console file: ' "$(cat "$WORK/b")"
head_of POST /console/ -d x
expect_eq "POST /console/: 405" 405 "$(status)"
check_security "405"
expect_eq "405 names the allowed methods" "GET, HEAD" "$(hdr allow)"

# The origin guard answers before the console: its 403 under /console
# carries the headers too; elsewhere its answer is unchanged.
head_of GET /console/ -H 'Origin: http://evil.example'
expect_eq "a foreign Origin under /console: 403" 403 "$(status)"
check_security "the origin guard's 403 under /console"
expect_eq "... naming the origin" '{"errors":"origin http://evil.example is not allowed (see --allowed-origins)"}' "$(cat "$WORK/b")"
head_of GET /console/assets/x.js -H 'Host: evil.example'
expect_eq "a rebinding Host under /console: 403" 403 "$(status)"
check_security "the rebinding guard's 403 under /console"
head_of GET /health -H 'Origin: http://evil.example'
expect_eq "a foreign Origin elsewhere: 403" 403 "$(status)"
grep -qi '^Content-Security-Policy' "$WORK/h" && fail "the API's 403 got the console's CSP" ||
  ok "the API's 403 is as before (no console headers)"

# The console adds no way in: the API still wants the token.
r=$(http GET /v1/sinks)
expect_eq "the API without a token: still 401" '401 {"errors":"Missing token"}' "$r"
r=$(http GET /health)
expect_match "the rest of the server is served" '^200 .*"status":"ok"' "$r"
finish
