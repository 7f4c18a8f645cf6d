# SPDX-License-Identifier: MIT
# idem_burst.py — n publishes with one Idempotency-Key sent at once on n
# open connections (test_idempotency.sh). A large batch is sent first on
# its own connection: its commit keeps herald's commit thread busy while
# the keyed requests queue, so they land in ONE group commit, the case the
# hub must split (a key claimed earlier in the group waits for the next).
# Prints the distinct answers' count, then the answers' statuses.
# Usage: idem_burst.py PORT KEY TYPE N
import json
import socket
import sys

port, key, typ, n = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])


def request(body, extra=""):
    return (f"POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer development\r\n"
            f"{extra}Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body


def answer(s):
    data = b""
    while b"\r\n\r\n" not in data or not data.rstrip().endswith(b"}"):
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return head.split(b" ")[1].decode(), body.decode()


keyed = request(json.dumps({"type": typ}).encode(), f"Idempotency-Key: {key}\r\n")
socks = [socket.create_connection(("127.0.0.1", port), timeout=120) for _ in range(n)]
big = json.dumps([{"type": "idem.ballast", "data": {"pad": "x" * 2000}}] * 1000).encode()
ballast = socket.create_connection(("127.0.0.1", port), timeout=120)
ballast.sendall(request(big))
for s in socks:
    s.sendall(keyed)
answers = [answer(s) for s in socks]
answer(ballast)
print(len({a[1] for a in answers}), " ".join(sorted({a[0] for a in answers})))
