#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_console_token.sh — short-lived console tokens (issue 17, item 1)
# from an attacker's side. POST /v1/console/token mints one with the server
# token; it then works on the HTTP API (/validate, /v1/sinks) and the
# server notifier socket. Refused, with a clear message and herald alive:
# a token with a wrong MAC, one signed with another server token, other
# spellings of a real one (upper-case hex, a leading zero), oversize and
# malformed ones, a console token minting another, console tokens on the
# machine channels (publishing socket, Janus), ttl_s out of bounds. Expiry
# without sleeping: a token expired an hour ago is forged here with the
# documented key derivation (the same bytes herald would mint), and gets
# 401 "Console token expired" (its socket: close "console token expired"),
# not counted toward the auth back-off. Restarting with another --token
# revokes every console token. A well-behaved client is served throughout.
. "$(dirname "$0")/../integration/lib.sh"
herald_start --auth-fail-limit 5

minted=$(http POST /v1/console/token "${auth[@]}" -d '{"ttl_s": 600}')
expect_match "the server token mints one: 201 {token, expires_at}" \
  '^201 \{"token":"hct_[1-9][0-9]*_[0-9a-f]{64}","expires_at":"20[0-9-]+T[0-9:.]+Z"\}$' "$minted"
CT=$(echo "${minted#201 }" | jq -r .token)
exp=$(echo "$CT" | cut -d_ -f2)
now=$(date +%s)
[ "$exp" -gt $((now + 500)) ] && [ "$exp" -le $((now + 700)) ] && ok "it expires after ttl_s" ||
  fail "expiry $exp, now $now"
expect_eq "it is accepted by GET /validate" "200 {}" "$(http GET /validate -H "Authorization: Bearer $CT")"
expect_match "and by the API" '^200 \{"sinks":' "$(http GET /v1/sinks -H "Authorization: Bearer $CT")"
expect_match "the default ttl is 3600 s" '^201 ' "$(http POST /v1/console/token "${auth[@]}")"
for bad in '{"ttl_s":0}' '{"ttl_s":86401}' '{"ttl_s":-5}' '{"ttl_s":1.5}' '{"ttl_s":"60"}' \
           '{"ttl_s":60,"x":1}' '[60]' 'not json' '{"ttl_s":99999999999999999999}'; do
  got=$(http POST /v1/console/token "${auth[@]}" -d "$bad")
  [[ "$got" == '400 {"errors":"ttl_s must be an integer number of seconds from 1 to 86400'* ]] ||
    fail "body $bad: $got"
done
ok "a ttl_s out of bounds or not an integer: 400 naming ttl_s"
expect_match "86400 s is the longest" '^201 ' "$(http POST /v1/console/token "${auth[@]}" -d '{"ttl_s":86400}')"
expect_eq "a console token cannot mint another (no endless renewal)" \
  '401 {"errors":"Console tokens are not accepted here: use the server token"}' \
  "$(http POST /v1/console/token -H "Authorization: Bearer $CT")"

# The CLI: the token alone on stdout, the URL hint on stderr without it.
out=$("$CLI" --server "$URL" console-token --ttl 120 2>"$WORK/cli.err")
expect_match "herald-cli console-token prints a console token" '^hct_[0-9]+_[0-9a-f]{64}$' "$out"
expect_match "and on stderr when it expires and where to sign in" \
  "^expires at 20.*Z; sign in at $URL/console/ and paste" "$(cat "$WORK/cli.err")"
grep -q hct_ "$WORK/cli.err" && fail "the token is in the hint" || ok "the hint carries no token"
expect_eq "the CLI's --ttl bound is the server's" 1 \
  "$("$CLI" --server "$URL" console-token --ttl 86401 >/dev/null 2>&1; echo $?)"

export PORT TOKEN CT HERALD_PID
PYTHONPATH=$SRC/tests/hostile${PYTHONPATH:+:$PYTHONPATH} python3 - <<'PY'
import hashlib, hmac, json, os, sys, time
import hostile as h

port, server_token, ct = int(os.environ["PORT"]), os.environ["TOKEN"], os.environ["CT"]
check = h.Checks()

def forge(exp, key_token=server_token, hexcase=str.lower, digits=None):
    """A console token as docs/security.md describes it."""
    key = hmac.new(key_token.encode(), b"herald console token v1", hashlib.sha256).digest()
    part = "hct_" + (digits if digits is not None else str(exp))
    return part + "_" + hexcase(hmac.new(key, part.encode(), hashlib.sha256).hexdigest())

def get(path, token, source=None):
    """(status, parsed body) of GET path with the token; from source (a
    127.x address) so that refusals counted toward --auth-fail-limit (5)
    from one address do not stop the next check."""
    s = h.connect(port, source=source)
    s.sendall(h.http_request("GET", path, {"Authorization": "Bearer " + token, "Connection": "close"}))
    status, _, body = h.read_response(s)
    s.close()
    try:
        return status, json.loads(body or b"{}")
    except ValueError:
        return status, body

def notifier(token):
    """The server notifier's answer to an auth frame: 'authenticated' or
    (close code, reason)."""
    s, rest = h.ws_connect(port, "/socket/server/websocket",
                           frames=h.ws_frame(json.dumps({"type": "auth", "token": token}).encode()))
    if rest is None:
        return "no upgrade"
    op, payload, _ = h.ws_read_frame(s, rest)
    s.close()
    if op == 0x1:
        return json.loads(payload).get("type")
    return h.close_code(payload) if op == 0x8 else op

check("the forged format is herald's (a future expiry works)", get("/validate", forge(int(time.time()) + 60))[0] == 200)
expired = forge(int(time.time()) - 3600)
check("an expired console token: 401 Console token expired",
      get("/v1/sinks", expired) == (401, {"errors": "Console token expired"}), str(get("/v1/sinks", expired)))
check("GET /validate says the same (the sign-in form shows it)",
      get("/validate", expired) == (401, {"errors": "Console token expired"}))
check("the notifier socket takes a console token", notifier(ct) == "authenticated", str(notifier(ct)))
check("and closes on an expired one with its reason", notifier(expired) == (1000, "console token expired"),
      str(notifier(expired)))
# --auth-fail-limit is 5: twelve expired ones would have set off the back-off
for _ in range(12):
    get("/validate", expired)
check("expired tokens are not counted as guesses (no 429 after 12)", get("/validate", server_token)[0] == 200)

exp = int(time.time()) + 600
good = forge(exp)
flipped = good[:-1] + ("0" if good[-1] != "0" else "1")
bad = {
    "a wrong MAC": flipped,
    "signed with another server token": forge(exp, key_token="another-token"),
    "upper-case hex": forge(exp, hexcase=str.upper),
    "a leading zero": forge(exp, digits="0" + str(exp)),
    "a later expiry with the old MAC": "hct_%d_%s" % (exp + 86400 * 365, good.split("_")[2]),
    "oversize": "hct_" + "1" * 10000,
    "truncated": good[:-2],
    "prefix only": "hct_",
    "no digits": "hct__" + "0" * 64,
    "13 digits": forge(0, digits="1" * 13),
}
for i, (name, tok) in enumerate(bad.items()):
    got = get("/validate", tok, source="127.0.9.%d" % (i + 1))
    check("refused: " + name, got == (401, {"errors": "Invalid token"}), str(got))
check("a wrong-MAC console token on the notifier: invalid token", notifier(flipped) == (1000, "invalid token"),
      str(notifier(flipped)))
# Machine channels keep the server token: the publishing socket and Janus.
s, rest = h.ws_connect(port, "/v1/events/websocket", headers={"Authorization": "Bearer " + ct})
check("the publishing socket refuses a console token in its header", rest is None)
s.close()
s, rest = h.ws_connect(port, "/v1/events/websocket",
                       frames=h.ws_frame(json.dumps({"type": "auth", "token": ct}).encode()))
frames = h.ws_until_close(s, rest or b"")
check("and in its auth frame (a close)", frames and frames[-1][0] == 0x8, str(frames))
s.close()
# A notifier socket a console token opened closes when the token expires.
# Minted for 2 s; should the auth frame come after that on a loaded
# machine, it is refused with the same reason: tried again with a new one.
def mint(ttl):
    s = h.connect(port)
    body = json.dumps({"ttl_s": ttl}).encode()
    s.sendall(h.http_request("POST", "/v1/console/token", {"Authorization": "Bearer " + server_token,
                                                           "Connection": "close"}, body))
    status, _, answer = h.read_response(s)
    s.close()
    return json.loads(answer)["token"]
seen = None
for _ in range(10):
    s, rest = h.ws_connect(port, "/socket/server/websocket",
                           frames=h.ws_frame(json.dumps({"type": "auth", "token": mint(2)}).encode()) +
                           h.ws_frame(json.dumps({"type": "subscribe", "event_type": "server_notification"}).encode()))
    frames = h.ws_until_close(s, rest or b"")
    s.close()
    texts = [json.loads(p)["type"] for op, p in frames if op == 0x1]
    if texts[:1] == ["authenticated"]:
        seen = (texts, h.close_code(frames[-1][1]) if frames and frames[-1][0] == 0x8 else None)
        break
check("a notifier socket opened by a console token is closed when it expires",
      seen is not None and seen[0][:2] == ["authenticated", "subscribe_response"] and
      seen[1] == (1000, "console token expired"), str(seen))
check("herald is alive", os.path.exists("/proc/%s" % os.environ["HERALD_PID"]))
sys.exit(1 if check.failed else 0)
PY
[ $? -eq 0 ] && ok "the python checks passed" || fail "python checks"
janus=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$URL/janus/events" -H "Authorization: Basic $(printf 'janus:%s' "$CT" | base64 -w0)" \
  -H 'Content-Type: application/json' --data-binary @"$SRC/tests/data/janus/03-session-created.json")
expect_eq "Janus's event handler refuses a console token" 401 "$janus"
expect_match "a well-behaved client is served" '^201 ' \
  "$(http POST /v1/events "${auth[@]}" -H 'Content-Type: application/json' -d '{"type":"still.here"}')"

# Another --token revokes every console token (its key is derived from it).
herald_stop
herald_start --token another-server-token-0123
expect_eq "after --token changes, the console token is refused" '401 {"errors":"Invalid token"}' \
  "$(http GET /validate -H "Authorization: Bearer $CT")"
expect_eq "the new server token works" "200 {}" "$(http GET /validate -H "Authorization: Bearer another-server-token-0123")"
finish
