#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""fishjam_receiver.py — a room webhook receiver for the Fishjam webhook
tests (issue 15 item 5): it checks x-fishjam-signature-256 with its own
HMAC (python's hmac, not herald's code) and decodes the protobuf bodies
with its own small wire reader (no protobuf library is installed here).

Usage: fishjam_receiver.py CONTROL_FILE [SECRET]
CONTROL_FILE holds JSON read for every request:
  {"hold": true}        the request waits (answered once hold is false)
  {"fail_multi": N}     the first N requests carrying a batch of more than
                        one notification get 503 (counted here), the rest 204
Prints "listening on http://127.0.0.1:PORT" on stderr, then one JSON line
per answered request on stdout: {"status", "webhook_id", "sig" (the
x-fishjam-signature-256 header or null), "sig_ok" (matches HMAC-SHA256 of
the body with SECRET, null without SECRET), "batch" (true when the body is
ServerMessage{notification_batch}), "items": [[member number, room_id,
peer_id], ...] (one per notification; a bare body is one item),
"nested" (a batch inside a batch)}.
"""
import hashlib
import hmac
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CONTROL = sys.argv[1]
SECRET = sys.argv[2].encode() if len(sys.argv) > 2 else None
LOCK = threading.Lock()
FAILED_MULTI = [0]


def varint(b, i):
    shift = v = 0
    while True:
        c = b[i]
        i += 1
        v |= (c & 0x7F) << shift
        shift += 7
        if c < 0x80:
            return v, i


def fields(b):
    """(field number, wire type, value) of a message; value is bytes for
    length-delimited fields, an int for varints."""
    i, out = 0, []
    while i < len(b):
        key, i = varint(b, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            v, i = varint(b, i)
        elif wt == 2:
            n, i = varint(b, i)
            v = b[i:i + n]
            i += n
            if len(v) != n:
                raise ValueError("truncated")
        else:
            raise ValueError("wire type %d" % wt)
        out.append((num, wt, v))
    return out


def notification(msg):
    """[member, room_id, peer_id] of a bare ServerMessage (one member)."""
    f = fields(msg)
    if len(f) != 1 or f[0][1] != 2:
        raise ValueError("not one member: %r" % f)
    num, _, body = f[0]
    inner = {n: v for n, wt, v in fields(body) if wt == 2}
    text = lambda k: inner[k].decode() if k in inner else None
    return [num, text(1), text(2)]


def decode(body):
    f = fields(body)
    if len(f) == 1 and f[0][0] == 33:
        items, nested = [], False
        for num, wt, v in fields(f[0][2]):
            if num != 1 or wt != 2:
                raise ValueError("unexpected member %d of NotificationBatch" % num)
            n = notification(v)
            nested |= n[0] == 33
            items.append(n)
        return True, items, nested
    return False, [notification(body)], False


def control():
    try:
        with open(CONTROL) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {"hold": True}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        while control().get("hold"):
            time.sleep(0.02)
        try:
            batch, items, nested = decode(raw)
        except (ValueError, IndexError) as e:
            batch, items, nested = None, [["undecodable", str(e), raw.hex()]], False
        status = 204
        with LOCK:
            if batch and len(items) > 1 and FAILED_MULTI[0] < control().get("fail_multi", 0):
                FAILED_MULTI[0] += 1
                status = 503
            sig = self.headers.get("x-fishjam-signature-256")
            want = "sha256=" + hmac.new(SECRET, raw, hashlib.sha256).hexdigest() if SECRET else None
            print(json.dumps({"status": status, "webhook_id": self.headers.get("webhook-id"), "sig": sig,
                              "sig_ok": (sig == want) if SECRET else None, "batch": batch,
                              "items": items, "nested": nested,
                              "ctype": self.headers.get("Content-Type")}), flush=True)
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
srv.daemon_threads = True
print("listening on http://127.0.0.1:%d" % srv.server_address[1], file=sys.stderr, flush=True)
srv.serve_forever()
