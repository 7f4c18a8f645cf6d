#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_origin.sh — a web page the user opens must not reach herald through
# the user's browser (issue 13, defect 10). The regression: a WebSocket
# upgrade with `Origin: http://evil.example` to the server notifier was
# accepted, so any page could read every event of a local herald running
# on the well-known development token; and a page whose name is re-pointed
# at 127.0.0.1 (DNS rebinding) is even same-origin with it.
# The attacker, a browser on a foreign page: upgrades to the server
# notifier and the peer socket, an SSE stream and a plain API GET, each
# with a foreign Origin (and "null") → 403 with a JSON body naming the
# origin, before any upgrade. With the development default, a foreign Host
# (DNS rebinding) → 403 even when the Origin matches it. Served: requests
# without Origin (SDKs, curl), a loopback origin on the development
# default, the request's own origin and --allowed-origins with a real
# token. Well-behaved clients are still served and herald survives.
. "$(dirname "$0")/../integration/lib.sh"

# The development default (token 'development' on loopback).
herald_start
http POST /room "${auth[@]}" -H 'Content-Type: application/json' -d '{"roomId":"r1"}' >/dev/null
export DEV_PORT=$PORT DEV_PEER
DEV_PEER=$(http POST /room/r1/peer "${auth[@]}" -H 'Content-Type: application/json' -d '{"type":"webrtc"}' |
  cut -d' ' -f2- | jq -r .data.token)
DEV_URL=$URL DEV_PID=$HERALD_PID

# A real token, with an allow list.
export REAL_TOKEN=origin-test-real-token REAL_PORT REAL_PEER
DATA_DIR=$WORK/real herald_start --token "$REAL_TOKEN" \
  --allowed-origins 'https://app.example, http://localhost:3000/'
REAL_PORT=$PORT
curl -s -o /dev/null -X POST "$URL/room" -H "Authorization: Bearer $REAL_TOKEN" \
  -H 'Content-Type: application/json' -d '{"roomId":"r1"}'
REAL_PEER=$(curl -s -X POST "$URL/room/r1/peer" -H "Authorization: Bearer $REAL_TOKEN" \
  -H 'Content-Type: application/json' -d '{"type":"webrtc"}' | jq -r .data.token)
[ -n "$DEV_PEER" ] && [ "$DEV_PEER" != null ] && [ -n "$REAL_PEER" ] && [ "$REAL_PEER" != null ] ||
  { fail "no peer tokens"; finish; exit 1; }

python3 - <<'EOF' || FAILED=$((FAILED + 1))
import json, os, sys
import hostile as h

failed = []
check = h.Checks()
failed = check.failed

def request(port, raw):
    """(status, head, body) of herald's answer to one request's bytes."""
    s = h.connect(port)
    s.sendall(raw)
    out = h.read_response(s)
    s.close()
    return out

# What a browser page can make: WebSocket upgrades, an EventSource, a fetch.
def kinds(token, peer):
    return [
        ("server notifier upgrade", lambda hd: h.ws_upgrade("/socket/server/websocket", hd), 101),
        ("peer socket upgrade", lambda hd: h.ws_upgrade("/socket/peer/websocket?token=" + peer, hd), 101),
        ("SSE stream", lambda hd: h.http_request("GET", "/v1/stream?token=" + peer,
                                                 dict(hd, Accept="text/event-stream")), 200),
        ("API GET", lambda hd: h.http_request("GET", "/v1/events?limit=1",
                                              dict(hd, Authorization="Bearer " + token)), 200),
    ]

def refused(port, name, make, headers, must_name):
    status, head, body = request(port, make(headers))
    try:
        err = json.loads(body)["errors"]
    except (ValueError, KeyError, TypeError):
        err = None
    check("%s with %s: 403 with a JSON reason" % (name, headers), status == 403 and err is not None
          and must_name in err, "%d %r" % (status, body[:300]))

def served(port, name, make, headers, want):
    status, head, body = request(port, make(headers))
    check("%s with %s: served (%d)" % (name, headers or "no Origin", want), status == want,
          "%d %r" % (status, (head + body)[:300]))

dev, real = int(os.environ["DEV_PORT"]), int(os.environ["REAL_PORT"])
dev_kinds = kinds("development", os.environ["DEV_PEER"])
real_kinds = kinds(os.environ["REAL_TOKEN"], os.environ["REAL_PEER"])

# The development default: foreign origins and foreign Hosts are refused.
for name, make, ok in dev_kinds:
    refused(dev, name, make, {"Origin": "http://evil.example"}, "origin http://evil.example is not allowed")
    refused(dev, name, make, {"Origin": "null"}, "origin null is not allowed")
    # DNS rebinding: evil.example re-pointed at 127.0.0.1 is same-origin with itself.
    refused(dev, name, make, {"Host": "evil.example:%d" % dev, "Origin": "http://evil.example:%d" % dev},
            "Host evil.example:%d is not a loopback name" % dev)
    refused(dev, name, make, {"Host": "evil.example"}, "DNS rebinding")
    served(dev, name, make, {}, ok)
    served(dev, name, make, {"Origin": "http://localhost:3000"}, ok)
    served(dev, name, make, {"Host": "localhost:%d" % dev, "Origin": "http://localhost:%d" % dev}, ok)
    served(dev, name, make, {"Host": "[::1]:%d" % dev, "Origin": "http://[::1]:%d" % dev}, ok)
refused(dev, "health", lambda hd: h.http_request("GET", "/health", hd), {"Origin": "https://evil.example"},
        "https://evil.example")
# A header value with bytes that are not printable ASCII is shown masked.
refused(dev, "health", lambda hd: h.http_request("GET", "/health", hd), {"Origin": "http://\xe9\"x"},
        "origin http://???x is")

# A real token: no Host check; same origin, listed origins and no Origin served.
for name, make, ok in real_kinds:
    refused(real, name, make, {"Origin": "http://evil.example"}, "http://evil.example")
    refused(real, name, make, {"Origin": "http://localhost:%d" % real}, "localhost")  # not the request's own
    refused(real, name, make, {"Origin": "https://app.example.evil"}, "app.example.evil")
    served(real, name, make, {}, ok)
    served(real, name, make, {"Origin": "https://app.example"}, ok)
    served(real, name, make, {"Origin": "HTTPS://APP.EXAMPLE/"}, ok)
    served(real, name, make, {"Origin": "http://localhost:3000"}, ok)
    served(real, name, make, {"Host": "herald.example:%d" % real, "Origin": "http://herald.example:%d" % real}, ok)
    served(real, name, make, {"Host": "herald.example", "Origin": "https://herald.example"}, ok)
    served(real, name, make, {"Host": "evil.example"}, ok)
sys.exit(1 if failed else 0)
EOF

# Well-behaved clients are still served, and both heralds are alive.
for pid in "$DEV_PID" "$HERALD_PID"; do
  kill -0 "$pid" 2>/dev/null || fail "herald $pid died"
done
URL=$DEV_URL
expect_match "a publish without Origin is served" '^201 ' \
  "$(http POST /v1/events "${auth[@]}" -H 'Content-Type: application/json' -d '{"type":"still.here"}')"
out=$("$CLI" --server "$DEV_URL" publish still.cli '{}' 2>&1)
expect_match "herald-cli is served" '^[0-9]+' "$out"
finish
