# SPDX-License-Identifier: MIT
"""bench/soak_hostile.py — the hostile clients mixed into the soak run
(bench/soak.py), one attack at a time from the tests/hostile repertoire
(hostile.py): each is tallied "expected" when herald refused it clearly
(an HTTP status with a JSON body, a WebSocket close) or cut it off, and
"unexpected" otherwise. They come from 127.0.2.x, apart from the
well-behaved clients, as an attacker's address would be. A 429 (the
back-off after --auth-fail-limit failures from one address) is a clear
refusal too."""
import json
import os
import random
import select
import struct
import threading
import time

import soak_common  # noqa: F401 (puts tests/hostile on the path)
import hostile  # noqa: E402
from soak_common import ROOMS, user_token, leave

def hsrc():
    return "127.0.2.%d" % random.randint(1, 50)


def expect_refusal(st, name, s, buf=b""):
    """A WebSocket attack: herald must send a close frame (with a code) or
    end the socket; a close code is the clear refusal."""
    frames = hostile.ws_until_close(s, buf)
    closes = [hostile.close_code(p) for op, p in frames if op == 0x8]
    st.tally(name, bool(closes) or hostile.closed_by_peer(s),
             "no close within %ss: %r" % (hostile.DEADLINE, frames[-3:]))
    return closes


def atk_unauth_ws(a, st):
    s = hostile.connect(a.port, source=hsrc())
    s.sendall(hostile.ws_upgrade("/socket/server/websocket"))
    head = hostile.read_until(s, b"\r\n\r\n")
    if b" 101 " not in head.split(b"\r\n")[0]:
        st.tally("unauth_ws", hostile.status_of(head) in (503,), repr(head[:60]))
        return
    closes = expect_refusal(st, "unauth_ws", s, head.split(b"\r\n\r\n", 1)[1])
    s.close()
    return closes


def atk_pipeline(a, st):
    """Pipelined requests, never reading the replies: herald must stop
    reading (the kernel buffers fill, send blocks) well before 32 MB."""
    s = hostile.connect_small(a.port, host="127.0.0.1")
    unit = b"GET /no/such/path HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" * 1000
    s.setblocking(False)
    sent, end, blocked_since = 0, time.monotonic() + 20, None
    while time.monotonic() < end and sent < (32 << 20):
        try:
            sent += s.send(unit)
            blocked_since = None
        except BlockingIOError:
            blocked_since = blocked_since or time.monotonic()
            if time.monotonic() - blocked_since > 2:
                break
            select.select([], [s], [], 0.1)
        except (ConnectionResetError, BrokenPipeError):
            break
    st.tally("pipeline_unread", sent < (32 << 20), "sent %d bytes unchecked" % sent)
    leave(s, "rst", False)


def atk_oversized(a, st):
    tok = user_token(a.jwt_secret, "soak-h%d" % random.randint(0, 99), [ROOMS[0]])
    s, buf = hostile.ws_connect(a.port, "/socket/peer/websocket?token=" + tok)
    if buf is None:
        st.tally("oversized_frame", False, "upgrade refused")
        return
    n = 2 << 20
    head = bytes([0x81, 0x80 | 127]) + struct.pack(">Q", n) + b"\0\0\0\0"  # mask 0
    try:
        s.sendall(head + b"a" * n)
    except OSError:
        pass
    closes = expect_refusal(st, "oversized_frame", s, buf)
    if closes and closes[-1][0] != 1009:
        st.tally("oversized_frame", False, "close %r, not 1009" % (closes[-1],))
    s.close()


def atk_bad_token_ws(a, st):
    s = hostile.connect(a.port, source=hsrc())
    s.sendall(hostile.ws_upgrade("/socket/server/websocket") +
              hostile.ws_frame(json.dumps({"type": "auth", "token": "x" * 48})))
    head = hostile.read_until(s, b"\r\n\r\n")
    if b" 101 " in head.split(b"\r\n")[0]:
        expect_refusal(st, "bad_token_ws", s, head.split(b"\r\n\r\n", 1)[1])
    else:
        st.tally("bad_token_ws", hostile.status_of(head) in (401, 403, 429, 503), repr(head[:60]))
    s.close()


def http_attack(a, st, name, data, ok_status):
    s = hostile.connect(a.port, source=hsrc())
    s.sendall(data)
    status, head, body = hostile.read_response(s)
    st.tally(name, status in ok_status and (not body or body.startswith(b"{")),
             "%d %r" % (status, body[:80]))
    s.close()


def atk_bad_bearer(a, st):
    http_attack(a, st, "bad_bearer", hostile.http_request(
        "POST", "/v1/events", {"Authorization": "Bearer " + "y" * 43, "Content-Type": "application/json"},
        b'{"type":"x.y"}'), (401, 429, 503))


def atk_janus_basic(a, st):
    http_attack(a, st, "janus_basic", hostile.http_request(
        "POST", "/janus/events", {"Authorization": "Basic " + random.choice(["====", "=" * 40, "Og==", "%%%"]),
                                  "Content-Type": "application/json"}, b"[]"), (400, 401, 429, 503))


def atk_origin(a, st):
    http_attack(a, st, "evil_origin", hostile.ws_upgrade(
        "/socket/server/websocket", {"Origin": "http://evil.example"}), (403, 503))


def atk_slowloris(a, st):
    s = hostile.connect(a.port, source=hsrc())
    s.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
    st.tally("slowloris", hostile.closed_by_peer(s), "head never finished, still open")
    s.close()


def atk_msg_flood(a, st):
    tok = user_token(a.jwt_secret, "soak-h%d" % random.randint(0, 99), [ROOMS[1]])
    s, buf = hostile.ws_connect(a.port, "/socket/peer/websocket?token=" + tok)
    if buf is None:
        st.tally("msg_flood", False, "upgrade refused")
        return
    try:
        s.sendall(hostile.ws_frame(json.dumps({"type": "noop"})) * 200)
    except OSError:
        pass
    expect_refusal(st, "msg_flood", s, buf)
    s.close()


def atk_garbage(a, st):
    s = hostile.connect(a.port, source=hsrc())
    try:
        s.sendall(os.urandom(random.randint(1, 4096)) + b"\r\n\r\n")
    except OSError:
        pass
    reply = hostile.read_until(s, b"\r\n\r\n")
    st.tally("garbage", hostile.status_of(reply) >= 400 or hostile.closed_by_peer(s), repr(reply[:60]))
    s.close()


ATTACKS = [atk_unauth_ws, atk_pipeline, atk_oversized, atk_bad_token_ws, atk_bad_bearer,
           atk_janus_basic, atk_origin, atk_slowloris, atk_msg_flood, atk_garbage]


def hostile_mix(a, st):
    while not st.load_done.wait(random.expovariate(1.0 / a.hostile)):
        atk = random.choice(ATTACKS)

        def run(atk=atk):
            try:
                atk(a, st)
            except OSError as e:
                st.tally(atk.__name__[4:], False, "socket error %r" % e)
        threading.Thread(target=run, daemon=True).start()
