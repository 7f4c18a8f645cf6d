# SPDX-License-Identifier: MIT
"""hostile.py — raw-socket clients for tests/hostile/: what an attacker
sends, byte for byte, with no client library smoothing it over.

Each hostile test (test_*.sh) starts a real herald with
tests/integration/lib.sh, then runs `python3 -c` or a heredoc that imports
this module (PYTHONPATH is the folder of this file). The helpers never
sleep to wait: reads have a deadline (DEADLINE seconds, generous: it only
bounds a failure on a loaded machine running the sanitizer build) and
return as soon as the bytes they wait for came or the peer closed.
"""
import base64
import os
import socket
import struct
import time

DEADLINE = float(os.environ.get("HOSTILE_DEADLINE", "60"))


def connect(port, host="127.0.0.1", source=None):
    """source: the local address to connect from (any 127.x.y.z works on
    loopback), for tests of per-address limits."""
    s = socket.create_connection((host, port), timeout=DEADLINE,
                                 source_address=(source, 0) if source else None)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def read_until(s, marker, limit=1 << 20):
    """Bytes read until `marker` is among them, the peer closed, or the
    deadline passed (then whatever came)."""
    buf = b""
    end = time.monotonic() + DEADLINE
    while marker not in buf and len(buf) < limit:
        s.settimeout(max(0.01, end - time.monotonic()))
        try:
            chunk = s.recv(65536)
        except (socket.timeout, ConnectionResetError):
            break
        if not chunk:
            break
        buf += chunk
    return buf


def closed_by_peer(s):
    """True once the server closed the socket (EOF or reset) within the
    deadline; the bytes it sent before are discarded."""
    end = time.monotonic() + DEADLINE
    while time.monotonic() < end:
        s.settimeout(max(0.01, end - time.monotonic()))
        try:
            if not s.recv(65536):
                return True
        except socket.timeout:
            return False
        except (ConnectionResetError, BrokenPipeError):
            return True
    return False


def http_request(method, path, headers=None, body=b""):
    """The request's bytes; Host is 127.0.0.1 unless headers give one."""
    lines = ["%s %s HTTP/1.1" % (method, path)]
    if not any(k.lower() == "host" for k in (headers or {})):
        lines.append("Host: 127.0.0.1")
    for k, v in (headers or {}).items():
        lines.append("%s: %s" % (k, v))
    if body:
        lines.append("Content-Length: %d" % len(body))
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def read_response(s):
    """(status, head, body) of one HTTP response with a Content-Length;
    status 0 when none came within the deadline."""
    buf = read_until(s, b"\r\n\r\n")
    head, _, body = buf.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    end = time.monotonic() + DEADLINE
    while len(body) < length and time.monotonic() < end:
        s.settimeout(max(0.01, end - time.monotonic()))
        try:
            chunk = s.recv(65536)
        except (socket.timeout, ConnectionResetError):
            break
        if not chunk:
            break
        body += chunk
    return status_of(head), head, body[:length]


def status_of(reply):
    """The status code of the first HTTP response in reply (0: none)."""
    try:
        return int(reply.split(b" ", 2)[1])
    except (IndexError, ValueError):
        return 0


def ws_upgrade(path, headers=None):
    key = base64.b64encode(os.urandom(16)).decode()
    h = {"Upgrade": "websocket", "Connection": "Upgrade",
         "Sec-WebSocket-Key": key, "Sec-WebSocket-Version": "13"}
    h.update(headers or {})
    return http_request("GET", path, h)


def ws_frame(payload, opcode=0x1, fin=True, mask=True):
    """One client frame (masked, as RFC 6455 requires of clients)."""
    if isinstance(payload, str):
        payload = payload.encode()
    head = bytes([(0x80 if fin else 0) | opcode])
    n = len(payload)
    mbit = 0x80 if mask else 0
    if n < 126:
        head += bytes([mbit | n])
    elif n < 65536:
        head += bytes([mbit | 126]) + struct.pack(">H", n)
    else:
        head += bytes([mbit | 127]) + struct.pack(">Q", n)
    if not mask:
        return head + payload
    key = os.urandom(4)
    return head + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


def ws_take_frame(buf):
    """(opcode, payload, rest) of the first whole (unmasked) server frame
    in buf, or None while buf holds less than one."""
    if len(buf) < 2:
        return None
    n, off = buf[1] & 0x7F, 2
    if n == 126:
        if len(buf) < 4:
            return None
        n, off = struct.unpack(">H", buf[2:4])[0], 4
    elif n == 127:
        if len(buf) < 10:
            return None
        n, off = struct.unpack(">Q", buf[2:10])[0], 10
    if len(buf) < off + n:
        return None
    return buf[0] & 0x0F, buf[off:off + n], buf[off + n:]


def ws_read_frame(s, buf=b""):
    """(opcode, payload, rest) of the next server frame, or (None, b"", buf)
    when the socket closed or the deadline passed first."""
    end = time.monotonic() + DEADLINE
    while True:
        frame = ws_take_frame(buf)
        if frame:
            return frame
        left = end - time.monotonic()
        if left <= 0:
            return None, b"", buf
        s.settimeout(left)
        try:
            chunk = s.recv(65536)
        except (socket.timeout, ConnectionResetError):
            return None, b"", buf
        if not chunk:
            return None, b"", buf
        buf += chunk


def close_code(payload):
    """(code, reason) of a close frame's payload."""
    if len(payload) < 2:
        return None, ""
    return struct.unpack(">H", payload[:2])[0], payload[2:].decode("utf-8", "replace")


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def ws_connect(port, path, headers=None, frames=b""):
    """A WebSocket opened with the upgrade and any frames in one write:
    (socket, bytes after the 101's head) — or (socket, None) when the
    answer was not 101."""
    s = connect(port)
    s.sendall(ws_upgrade(path, headers) + frames)
    head = read_until(s, b"\r\n\r\n")
    if b" 101 " not in head.split(b"\r\n")[0]:
        return s, None
    return s, head.split(b"\r\n\r\n", 1)[1]


def ws_until_close(s, buf=b""):
    """Every frame the server sends up to and including its close frame (or
    until the socket ends): [(opcode, payload)]."""
    out = []
    while True:
        op, payload, buf = ws_read_frame(s, buf)
        if op is None:
            return out
        out.append((op, payload))
        if op == 0x8:
            return out


def connect_small(port, host="127.0.0.1", bufsize=4096):
    """A connection with small kernel buffers (set before connecting, so
    the window is small from the start): an attacker that never reads
    fills the server's side sooner."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, bufsize)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, bufsize)
    s.settimeout(DEADLINE)
    s.connect((host, port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def metric(port, name, source=None):
    """The value of a counter or gauge on /metrics (0 when absent)."""
    s = connect(port, source=source)
    try:
        s.sendall(http_request("GET", "/metrics", {"Connection": "close"}))
        body = read_until(s, b"\0", limit=1 << 24)  # read to the close
    finally:
        s.close()
    for line in body.decode("utf-8", "replace").splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] == name:
            return float(parts[1])
    return 0.0


def flood(s, unit, port, pid, rss_limit_kb, max_bytes, pauses_before):
    """Writes unit over and over on s, never reading, until the server
    stops reading it: a non-blocking send finds the socket full (EAGAIN)
    and /metrics counts a read pause beyond pauses_before. Returns
    ("paused", bytes sent), or why it stopped first: ("rss", …) herald's
    RSS passed rss_limit_kb, ("bytes", …) max_bytes went out without the
    server pushing back, ("closed", …) the server closed the socket,
    ("deadline", …)."""
    import select
    buf = unit * max(1, 65536 // len(unit))
    off = sent = rounds = 0
    end = time.monotonic() + DEADLINE
    s.setblocking(False)
    try:
        while time.monotonic() < end:
            rounds += 1
            if rounds % 32 == 0 and rss_kb(pid) > rss_limit_kb:
                return "rss", sent
            try:
                n = s.send(buf[off:])
            except BlockingIOError:
                if metric(port, "herald_read_pauses_total") > pauses_before:
                    return "paused", sent
                select.select([], [s], [], 0.05)  # until the kernel takes more
                continue
            except (ConnectionResetError, BrokenPipeError):
                return "closed", sent
            sent += n
            off = (off + n) % len(buf)
            if sent > max_bytes:
                return "bytes", sent
        return "deadline", sent
    finally:
        s.setblocking(True)
        s.settimeout(DEADLINE)


def until(fn):
    """fn()'s value once it is truthy (tried every 0.05 s: the sleep only
    paces the tries), or its last value at the deadline."""
    end = time.monotonic() + DEADLINE
    while True:
        v = fn()
        if v or time.monotonic() > end:
            return v
        time.sleep(0.05)


def wait_metric(port, name, at_least):
    """True once /metrics shows name >= at_least, False at the deadline."""
    return until(lambda: metric(port, name) >= at_least)


class Checks:
    """TAP-like checks inside a test's Python part: check(name, cond,
    detail) prints "ok - name" or "not ok - name: detail"; `failed` lists
    the names that failed (exit with 1 if any)."""

    def __init__(self):
        self.failed = []

    def __call__(self, name, cond, detail=""):
        print(("ok - " if cond else "not ok - ") + name + ("" if cond else ": " + detail))
        if not cond:
            self.failed.append(name)


def peer_socket(port, token):
    """A peer socket authenticated with token on the upgrade: [socket,
    bytes after the "authenticated" frame]."""
    s, buf = ws_connect(port, "/socket/peer/websocket", {"Authorization": "Bearer " + token})
    op, payload, buf = ws_read_frame(s, buf)
    assert op == 1 and b'"authenticated"' in payload, (op, payload)
    return [s, buf]
