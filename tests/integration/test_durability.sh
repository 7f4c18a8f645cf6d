# SPDX-License-Identifier: MIT
# test_durability.sh — an acknowledged event survives kill -9.
#
# Four publishers post events concurrently while herald is killed with
# SIGKILL mid-stream; after a restart on the same data directory, every id
# that was acknowledged with 201 must be in history, and new ids continue
# above the old ones.
. "$(dirname "$0")/lib.sh"
herald_start

publisher() { # n: posts events until the server dies, logging acked ids
  local n=$1 i=0
  while :; do
    out=$(curl -s -w ' %{http_code}' -X POST "$URL/v1/events" "${auth[@]}" \
          -d "{\"type\":\"durable.test\",\"data\":{\"pub\":$n,\"i\":$i}}") || break
    [[ "$out" == *" 201" ]] || break
    echo "$out" | grep -o '"[0-9]*"' | tr -d '"' >> "$WORK/acked.$n"
    i=$((i + 1))
  done
}
for n in 1 2 3 4; do publisher $n & done
# Let a few hundred publishes land, then pull the plug.
acks_reach() { [ "$(cat "$WORK"/acked.* 2>/dev/null | wc -l)" -ge "$1" ]; }
eventually acks_reach 200
kill -9 "$HERALD_PID"
wait "$HERALD_PID" 2>/dev/null
wait
acked=$(cat "$WORK"/acked.* | sort -n | uniq)
count=$(echo "$acked" | wc -l)
[ "$count" -ge 50 ] && ok "publishers got $count acknowledgements before the kill" || fail "only $count acks"

herald_start
hist=$(curl -s "${auth[@]}" "$URL/v1/events?since=0&limit=10000&type=durable.test" | grep -o '"id":"[0-9]*"' | grep -o '[0-9]*' | sort -n)
missing=$(comm -23 <(echo "$acked") <(echo "$hist") | wc -l)
expect_eq "every acknowledged event is in history after kill -9" 0 "$missing"

last=$(echo "$hist" | tail -1)
r=$(http POST /v1/events "${auth[@]}" -d '{"type":"after.restart"}')
new=$(echo "$r" | grep -o '"[0-9]*"' | tr -d '"')
[ -n "$new" ] && [ "$new" -gt "$last" ] && ok "ids continue after the restart ($new > $last)" || fail "new id $new not above $last"
herald_stop
finish
