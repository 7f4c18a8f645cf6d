# SPDX-License-Identifier: MIT
# test_http_api.sh — the HTTP layer as a client sees it: auth, limits,
# errors as JSON, gzip and 100-continue bodies, slash collapsing,
# keep-alive, the head-read timeout.
. "$(dirname "$0")/lib.sh"
herald_start --max-body 65536

r=$(http GET /health)
expect_match "health answers 200 ok" '^200 .*"status":"ok"' "$r"

r=$(http POST /v1/events -d '{"type":"a.b"}')
expect_eq "no token: 401 Missing token" '401 {"errors":"Missing token"}' "$r"
r=$(http POST /v1/events -H 'Authorization: Bearer wrong' -d '{"type":"a.b"}')
expect_eq "wrong token: 401 Invalid token" '401 {"errors":"Invalid token"}' "$r"
r=$(http GET /v1/events -H 'Authorization: Basic ZGV2ZWxvcG1lbnQ=')
expect_eq "non-Bearer auth: 401" '401 {"errors":"Missing token"}' "$r"

r=$(http POST /v1/events "${auth[@]}" -d '{"type":"room.created","data":{"room_id":"r1"}}')
expect_match "publish one: 201 with its id" '^201 \{"ids":\["[0-9]+"\]\}$' "$r"
r=$(http POST //v1//events "${auth[@]}" -d '[{"type":"x.one"},{"type":"x.two","room_id":"r2"}]')
expect_match "repeated slashes collapse; a batch gets two ids" '^201 \{"ids":\["[0-9]+","[0-9]+"\]\}$' "$r"

r=$(http POST /v1/events "${auth[@]}" -d '{"type":')
expect_match "malformed JSON: 400 with a message" '^400 \{"errors":"body is not valid JSON' "$r"
r=$(http POST /v1/events "${auth[@]}" -d '{"type":"Bad Type"}')
expect_match "bad type name: 400" '^400 \{"errors":".*type' "$r"
r=$(http POST /v1/events "${auth[@]}" -d '{"type":"a.b","roomId":"x"}')
expect_match "unknown field: 400 naming it" '^400 .*roomId' "$r"

head -c 70000 /dev/zero | tr '\0' 'a' > "$WORK/big"
r=$(http POST /v1/events "${auth[@]}" --data-binary @"$WORK/big")
expect_match "oversize body: 413 with JSON" '^413 \{"errors":' "$r"

printf '{"type":"gz.event","data":{"n":1}}' | gzip > "$WORK/gz"
r=$(http POST /v1/events "${auth[@]}" -H 'Content-Encoding: gzip' --data-binary @"$WORK/gz")
expect_match "gzip body accepted" '^201 ' "$r"
printf 'not gzip at all' > "$WORK/notgz"
r=$(http POST /v1/events "${auth[@]}" -H 'Content-Encoding: gzip' --data-binary @"$WORK/notgz")
expect_match "corrupt gzip: 400" '^400 \{"errors":".*gzip' "$r"
head -c 200000 /dev/zero | gzip > "$WORK/bomb"
r=$(http POST /v1/events "${auth[@]}" -H 'Content-Encoding: gzip' --data-binary @"$WORK/bomb")
expect_match "gzip inflating past the limit: 413" '^413 ' "$r"
r=$(http POST /v1/events "${auth[@]}" -H 'Content-Encoding: br' -d '{}')
expect_match "unknown encoding: 415" '^415 ' "$r"

r=$(curl -s -v -o /dev/null -w '%{http_code}' -X POST "$URL/v1/events" "${auth[@]}" -H 'Expect: 100-continue' \
    --data-binary '{"type":"cont.test"}' 2>&1)
expect_match "Expect: 100-continue gets 100 then 201" 'HTTP/1.1 100 Continue(.|\n)*201$' "$r"

r=$(http GET /nowhere)
expect_eq "unknown path: 404 JSON" '404 {"errors":"no such endpoint: /nowhere"}' "$r"
r=$(http DELETE /v1/events "${auth[@]}")
expect_match "wrong method: 405" '^405 ' "$r"

# Keep-alive: two requests on one connection (curl reuses it).
n=$(curl -s -v "$URL/health" "$URL/health" 2>&1 | grep -c 'Re-using existing connection\|Reusing existing connection')
expect_eq "keep-alive reuses the connection" 1 "$n"

# A head bigger than the limit.
r=$(http GET /health -H "X-Big: $(head -c 20000 /dev/zero | tr '\0' 'b')")
expect_match "oversize head: 431" '^431 ' "$r"

# Garbage instead of HTTP.
reply=$(exec 3<>/dev/tcp/127.0.0.1/"$PORT"; printf 'NOT HTTP AT ALL\r\n\r\n' >&3; timeout 60 cat <&3)
expect_match "garbage request: 400 JSON" '^HTTP/1.1 400 (.|\n)*"errors"' "$reply"

# HEAD: the GET's headers, no body (the next pipelined response follows
# the head at once; a body would be read as the start of the next one).
reply=$(exec 3<>/dev/tcp/127.0.0.1/"$PORT"
  printf 'HEAD /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\nGET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' >&3
  timeout 60 cat <&3)
expect_match "HEAD /health: 200 with the GET's Content-Length, no body, then the next response" \
  '^HTTP/1.1 200 [^'$'\r'']*'$'\r\n''Content-Length: [1-9][0-9]*'$'\r\n''([^'$'\r'']+'$'\r\n'')*'$'\r\n''HTTP/1.1 200 ' "$reply"

r=$(http GET /health)
expect_match "still healthy after all that" '^200 ' "$r"
herald_stop; expect_eq "SIGTERM exits 0" 0 $?

# Slowloris: a request head that never finishes gets 408 and a close. A
# server of its own with a 1 s head timeout, so that no other request of
# this test, sent by a client the machine is slow to run, meets it.
DATA_DIR=$WORK/data2 herald_start --header-timeout 1
exec 3<>/dev/tcp/127.0.0.1/"$PORT"
printf 'GET /health HTTP/1.1\r\nHost: x\r\n' >&3
reply=$(timeout 60 cat <&3)
exec 3<&-
expect_match "unfinished head: 408 after the header timeout" '^HTTP/1.1 408 ' "$reply"
herald_stop; expect_eq "SIGTERM exits 0" 0 $?
finish
