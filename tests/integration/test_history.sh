# SPDX-License-Identifier: MIT
# test_history.sh — GET /v1/events filters, limits and bad parameters.
. "$(dirname "$0")/lib.sh"
herald_start

http POST /v1/events "${auth[@]}" -d '[
 {"type":"room.created","room_id":"a","data":{"room_id":"a"}},
 {"type":"chat.message","room_id":"a","user_id":"u1","data":{"text":"hi"}},
 {"type":"chat.message","room_id":"b","user_id":"u2","data":{"text":"yo"}},
 {"type":"user.notice","user_id":"u1","data":{}},
 {"type":"room.created","room_id":"b","data":{"room_id":"b"}}]' >/dev/null

ids() { curl -s "${auth[@]}" "$URL/v1/events?$1" | grep -o '"id":"[0-9]*"' | grep -o '[0-9]*' | tr '\n' ' ' | sed 's/ $//'; }
expect_eq "all events in order" "1 2 3 4 5" "$(ids 'since=0')"
expect_eq "since is exclusive" "4 5" "$(ids 'since=3')"
expect_eq "limit" "1 2" "$(ids 'limit=2')"
expect_eq "room filter" "1 2" "$(ids 'room_id=a')"
expect_eq "user filter" "2 4" "$(ids 'user_id=u1')"
expect_eq "type filter" "2 3" "$(ids 'type=chat.message')"
expect_eq "filters combine" "3" "$(ids 'type=chat.message&room_id=b')"
expect_eq "url-encoded values" "2 3" "$(ids 'type=chat%2Emessage')"

body=$(curl -s "${auth[@]}" "$URL/v1/events?since=1&limit=1")
expect_match "envelope shape" '^\{"events":\[\{"id":"2","type":"chat.message","timestamp":"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]{12}Z","room_id":"a","user_id":"u1","data":\{"text":"hi"\}\}\]\}$' "$body"

expect_match "bad since: 400" '^400 \{"errors":"since' "$(http GET '/v1/events?since=abc' "${auth[@]}")"
# A blank then a sign ("+" is a blank in a query): was read as 2^64-1.
expect_match "since ' -1': 400" '^400 \{"errors":"since' "$(http GET '/v1/events?since=+-1' "${auth[@]}")"
expect_match "since ' 3': 400" '^400 \{"errors":"since' "$(http GET '/v1/events?since=%203' "${auth[@]}")"
expect_match "bad limit: 400" '^400 \{"errors":"limit' "$(http GET '/v1/events?limit=0' "${auth[@]}")"
expect_match "limit too big: 400" '^400 ' "$(http GET '/v1/events?limit=10001' "${auth[@]}")"
expect_match "history needs the token" '^401 ' "$(http GET '/v1/events')"
herald_stop
finish
