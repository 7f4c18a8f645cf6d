#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""seeds_conn.py — writes the seed corpus of fuzz_conn.c (fuzz/corpus/fuzz_conn/).

Each seed is one connection in fuzz_conn's input format (see the top of
fuzz_conn.c): socket kind, flags, request tail, then frames. The seeds are
the conversations a real client has with each socket kind (authenticate,
subscribe, send a message, close) plus the hostile ones issue 13 is about
(credentials twice, frames in the same read as the upgrade, bad frames),
so the fuzzer starts deep in each protocol. Run it from anywhere:
    python3 fuzz/seeds_conn.py
"""
import json
import os
import struct

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "fuzz_conn")

NOTIFIER, PEER, ACCESS, JANUS, SSE = range(5)
EOF, JOIN = 1, 2
# placeholders fuzz_conn.c replaces
S, P, U, B, K, H = (b"\x01" + c for c in (b"S", b"P", b"U", b"B", b"K", b"H"))

TEXT, BIN, CONT, CLOSE, PING, PONG = 1, 2, 0, 8, 9, 10
FIN = 0x80
NEW_WRITE, UNMASKED, RAW, LEN16, LEN64, ZERO_KEY = 8, 4, 3, 1, 2, 16


def frame(payload, op=TEXT, fin=True, ctl=0, rsv=0):
    if isinstance(payload, (dict, list)):
        payload = json.dumps(payload).encode()
    b0 = (FIN if fin else 0) | rsv | op
    return bytes([b0, ctl]) + struct.pack("<H", len(payload)) + payload


def conn(kind, tail, frames=(), flags=0):
    return bytes([kind, flags]) + struct.pack("<H", len(tail)) + tail + b"".join(frames)


def upgrade(query=b"", extra=b""):
    return query + b" HTTP/1.1\r\n" + H + extra + b"\r\n"


def close(code=1000, reason=b"bye", **kw):
    return frame(struct.pack(">H", code) + reason, op=CLOSE, **kw)


def pb_auth(token):
    inner = b"\x0a" + bytes([len(token)]) + token
    return b"\x3a" + bytes([len(inner)]) + inner


def text_auth(token):
    return b'{"type":"auth","token":"' + token + b'"}'


SEEDS = {
    # server notifier: JSON and protobuf, then subscribe
    "notifier_json": conn(NOTIFIER, upgrade(), [
        frame(text_auth(S)), frame({"type": "subscribe", "event_type": "server_notification"}),
        frame({"type": "subscribe", "event_type": 2}), close()]),
    "notifier_pb": conn(NOTIFIER, upgrade(), [
        frame(pb_auth(S), op=BIN), frame(b"\x42\x02\x08\x01", op=BIN), frame(b"\x42\x02\x08\x07", op=BIN),
        close()], flags=EOF),
    "notifier_wrong_token": conn(NOTIFIER, upgrade(), [frame(text_auth(b"nope")), close()]),
    "notifier_no_auth_subscribe": conn(NOTIFIER, upgrade(), [frame({"type": "subscribe", "event_type": 1})]),
    "notifier_same_read": conn(NOTIFIER, upgrade(), [frame(text_auth(S)), frame(text_auth(S))], flags=JOIN),
    "notifier_fragmented": conn(NOTIFIER, upgrade(), [
        frame(b'{"type":"au', fin=False), frame(b"", op=PING), frame(b'th","token":"' + S + b'"}', op=CONT),
        frame(b"ping!", op=PING), close()]),
    "notifier_unmasked": conn(NOTIFIER, upgrade(), [frame(text_auth(S), ctl=UNMASKED)]),
    "notifier_rsv": conn(NOTIFIER, upgrade(), [frame(text_auth(S), rsv=0x40)]),
    "notifier_bad_utf8": conn(NOTIFIER, upgrade(), [frame(b"\xff\xfe")]),
    "notifier_big_ping": conn(NOTIFIER, upgrade(), [frame(b"x" * 200, op=PING, ctl=LEN16)]),
    "notifier_fragmented_close": conn(NOTIFIER, upgrade(), [frame(b"\x03\xe8", op=CLOSE, fin=False)]),
    "notifier_close_then_more": conn(NOTIFIER, upgrade(), [close(), frame(text_auth(S)), frame(b"", op=PING)],
                                     flags=JOIN),
    "notifier_len64": conn(NOTIFIER, upgrade(), [frame(text_auth(S), ctl=LEN64 | ZERO_KEY)]),
    "notifier_garbage": conn(NOTIFIER, upgrade(), [frame(b"\x88\xff\xff\xff\xff\xff", ctl=RAW)]),
    "notifier_close_1005": conn(NOTIFIER, upgrade(), [close(1005, b"")]),
    "notifier_post": conn(NOTIFIER, b" HTTP/1.1\r\nHost: x\r\n\r\n", []),
    "notifier_bad_key": conn(NOTIFIER, b" HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                             b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ====\r\n\r\n", []),
    "notifier_origin": conn(NOTIFIER, upgrade(extra=b"Origin: http://evil.example\r\n"), [frame(text_auth(S))]),
    "notifier_pipelined": conn(NOTIFIER, b" HTTP/1.1\r\nHost: x\r\n\r\nGET /health HTTP/1.1\r\n\r\n"
                               b"GET /nope HTTP/1.1\r\n\r\n", []),
    # peer socket: token on the upgrade, in a frame, both (issue 13 defect 2)
    "peer_frame_auth": conn(PEER, upgrade(), [
        frame(text_auth(P)), frame({"type": "update_metadata", "metadata": {"name": "x"}}),
        frame(b"not json"), frame(b"\x00\x01", op=BIN), close()]),
    "peer_query_token": conn(PEER, upgrade(b"?token=" + P + b"&since=0"), [
        frame({"type": "update_metadata", "metadata": [1, 2]}), close(1001, b"")], flags=EOF),
    "peer_bearer": conn(PEER, upgrade(extra=b"Authorization: Bearer " + P + b"\r\n"), [frame({"type": "x"})]),
    "peer_user_jwt": conn(PEER, upgrade(), [
        frame(b'{"type":"auth","token":"' + U + b'","since":"1"}'),
        frame({"type": "update_metadata", "metadata": {}})]),
    # defect 2: the upgrade's token and an auth frame in the same read once
    # authenticated twice (heap-use-after-free on the next room event)
    "peer_double_auth_same_read": conn(PEER, upgrade(b"?token=" + P), [frame(text_auth(P))], flags=JOIN),
    "peer_double_auth_bearer": conn(PEER, upgrade(extra=b"Authorization: Bearer " + P + b"\r\n"), [
        frame(text_auth(P)), frame({"type": "update_metadata", "metadata": 1})], flags=JOIN | EOF),
    "peer_wrong_token": conn(PEER, upgrade(b"?token=abc"), []),
    "peer_bad_since": conn(PEER, upgrade(b"?token=" + P + b"&since=-1"), []),
    "peer_eof": conn(PEER, upgrade(), [frame(text_auth(P))], flags=EOF),
    # access socket: user token and first message
    "access_first_message": conn(ACCESS, upgrade(), [
        frame(b'{"access_id":"fuzz-user","timestamp":0,"token":"' + U + b'"}'), frame(b"hi"), close()]),
    "access_bearer_iso": conn(ACCESS, upgrade(extra=b"Authorization: Bearer " + U + b"\r\n"), [
        frame({"access_id": "fuzz-user", "timestamp": "2024-01-01T00:00:00.5Z"})]),
    "access_query_ms": conn(ACCESS, upgrade(b"?token=" + U), [
        frame({"access_id": "fuzz-user", "timestamp": 1700000000000})], flags=EOF),
    "access_other_user": conn(ACCESS, upgrade(b"?token=" + U), [
        frame({"access_id": "someone-else", "timestamp": 0})]),
    "access_huge_timestamp": conn(ACCESS, upgrade(b"?token=" + U), [
        frame(b'{"access_id":"fuzz-user","timestamp":1e300}')]),
    # Janus WebSocket: each text frame is a body
    "janus_bearer": conn(JANUS, upgrade(extra=b"Authorization: Bearer " + S + b"\r\n"), [
        frame([{"emitter": "j", "type": 1, "timestamp": 1795339867892704, "session_id": 1,
                "event": {"name": "created", "transport": {"transport": "janus.transport.http"}}},
               {"emitter": "j", "type": 2, "timestamp": 1795339867892705, "session_id": 1, "handle_id": 2,
                "opaque_id": "room-1", "event": {"name": "attached", "plugin": "janus.plugin.videoroom"}}]),
        frame({"emitter": "j", "type": 64, "timestamp": 1795339867892706, "session_id": 1, "handle_id": 2,
               "event": {"plugin": "janus.plugin.videoroom", "data": {"event": "joined", "room": 1234}}}),
        frame(b"[]"), frame(b"{"), close()]),
    "janus_basic": conn(JANUS, upgrade(extra=b"Authorization: Basic " + B + b"\r\n"), [
        frame({"emitter": "j", "type": 32, "subtype": 3, "timestamp": 1795340288128543, "session_id": 5,
               "handle_id": 7, "opaque_id": "o", "event": {"media": "audio", "base": 48000, "lost": 0}})],
        flags=EOF),
    "janus_query_token": conn(JANUS, upgrade(b"?token=" + S), [
        frame({"emitter": "j", "type": 256, "timestamp": 1795339867892704, "event": {"status": "started"}})]),
    "janus_no_auth": conn(JANUS, upgrade(), [frame({"type": 1})]),
    "janus_basic_padding": conn(JANUS, upgrade(extra=b"Authorization: Basic ====\r\n"), []),
    # SSE
    "sse_peer": conn(SSE, b"?token=" + P + b" HTTP/1.1\r\nHost: x\r\n\r\n", [frame(b"ignored", ctl=RAW)]),
    "sse_user_resume": conn(SSE, b" HTTP/1.1\r\nAuthorization: Bearer " + U + b"\r\nLast-Event-ID: 1\r\n\r\n", [],
                            flags=EOF),
    "sse_since": conn(SSE, b"?since=0&token=" + U + b" HTTP/1.1\r\n\r\n", []),
    "sse_bad_since": conn(SSE, b"?since=x&token=" + P + b" HTTP/1.1\r\n\r\n", []),
    "sse_no_token": conn(SSE, b" HTTP/1.1\r\n\r\n", []),
}


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, data in SEEDS.items():
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)
    print(f"{len(SEEDS)} seeds in {OUT}")


if __name__ == "__main__":
    main()
