# SPDX-License-Identifier: MIT
"""bench/soak_common.py — what the parts of the soak run (bench/soak.py)
share: the rooms, the shared state and its tallies, user tokens, the HTTP
and WebSocket odds and ends, and herald's /metrics and /proc figures."""
import base64
import hashlib
import hmac
import http.client
import json
import os
import socket
import struct
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "hostile"))
import hostile  # noqa: E402

hostile.DEADLINE = 30.0
ROOMS = ["soak-r%d" % i for i in range(4)]
PAD = "x" * 120


def log(msg):
    print("soak %7.1fs: %s" % (time.monotonic() - T0, msg), file=sys.stderr, flush=True)


T0 = time.monotonic()


class State:
    """What every thread shares: acknowledged ids per room, tallies."""

    def __init__(self):
        self.lock = threading.Lock()
        self.acked = {r: set() for r in ROOMS}
        self.latest = {r: 0 for r in ROOMS}
        self.all_acked = set()
        self.pub_failed = 0
        self.pub_errors = []
        self.sessions = []          # finished sessions awaiting their check
        self.checked = 0
        self.bad_sessions = []      # (kind, detail)
        self.incomplete = 0         # storm clients that never caught up
        self.session_kinds = {}
        self.resume_failed = 0
        self.events_read = 0
        self.active = 0
        self.attacks = {}           # name -> [expected, unexpected]
        self.attack_notes = []
        self.stop = threading.Event()
        self.load_done = threading.Event()

    def tally(self, name, ok, detail=""):
        with self.lock:
            t = self.attacks.setdefault(name, [0, 0])
            t[0 if ok else 1] += 1
            if not ok and len(self.attack_notes) < 20:
                self.attack_notes.append("%s: %s" % (name, detail))


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def user_token(secret, sub, rooms):
    head = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = b64url(json.dumps({"sub": sub, "rooms": rooms, "exp": int(time.time()) + 7200}).encode())
    sig = hmac.new(secret.encode(), (head + "." + body).encode(), hashlib.sha256).digest()
    return head + "." + body + "." + b64url(sig)


def http_conn(a):
    return http.client.HTTPConnection("127.0.0.1", a.port, timeout=30)


def req(a, method, path, body=None):
    c = http_conn(a)
    try:
        c.request(method, path, json.dumps(body) if body is not None else None,
                  {"Authorization": "Bearer " + a.token, "Content-Type": "application/json"})
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()


def source_addr(i):
    """Well-behaved clients come from 127.0.1.x: the per-address limits
    count them apart from the hostile ones (127.0.2.x)."""
    return "127.0.1.%d" % (1 + i % 200)


def send_pong(s, payload):
    try:
        s.sendall(hostile.ws_frame(payload, opcode=0xA))
    except OSError:
        pass


def leave(s, how, ws):
    """Ends a session the way real clients do: a close frame, a plain
    close, or an abortive one (RST)."""
    try:
        if how == "close" and ws:
            s.sendall(hostile.ws_frame(struct.pack(">H", 1000), opcode=0x8))
        elif how == "rst":
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    s.close()


def ws_frame_or_timeout(s, buf):
    """hostile.ws_read_frame with a 1 s wait: ("timeout", b"", buf) when no
    whole frame came in that time (the session checks its clock)."""
    while True:
        frame = hostile.ws_take_frame(buf)
        if frame:
            return frame
        try:
            chunk = s.recv(262144)
        except socket.timeout:
            return "timeout", b"", buf
        except ConnectionResetError:
            return None, b"", buf
        if not chunk:
            return None, b"", buf
        buf += chunk


def metrics(a):
    c = http.client.HTTPConnection("127.0.0.1", a.port, timeout=30)
    try:
        c.request("GET", "/metrics")
        text = c.getresponse().read().decode()
    except (OSError, http.client.HTTPException):
        return {}
    finally:
        c.close()
    out = {}
    for line in text.splitlines():
        if line.startswith("#") or " " not in line:
            continue
        k, v = line.rsplit(" ", 1)
        if k.startswith("herald_connections{kind="):
            k = "conn_" + k.split('"')[1]
        out[k] = float(v)
    return out


def proc_status(pid):
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "RssAnon", "Threads"):
                out[k] = int(v.split()[0])
    out["fds"] = len(os.listdir("/proc/%d/fd" % pid))
    return out
