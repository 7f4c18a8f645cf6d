#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""webhook_switch.py — a webhook receiver the test switches between failing
and answering: for the webhook tests of retention and backlogs (issue 13,
defects 7 and 8).

Usage: webhook_switch.py MODE_FILE
MODE_FILE holds "ok" (answer 204), "fail [RETRY_AFTER]" (answer 503,
with Retry-After when given) or "429 [RETRY_AFTER]" (answer 429, the same);
it is read for every request, so the test switches by rewriting it. Prints
"listening on http://127.0.0.1:PORT" on stderr, then one JSON line per
request on stdout: {"status", "webhook_id", "body", "t"} (body parsed as
JSON; t: when it arrived, seconds since the epoch). Keep-alive (HTTP/1.1), one thread per
connection; herald's requests are signed but not verified here (the other
webhook tests verify signatures).
"""
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODE = sys.argv[1]
LOCK = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        t = time.time()
        n = int(self.headers.get("Content-Length", "0"))
        raw = self.rfile.read(n)
        try:
            with open(MODE) as f:
                mode = f.read().split()
        except OSError:
            mode = ["fail"]
        status = 204 if mode and mode[0] == "ok" else 429 if mode and mode[0] == "429" else 503
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        with LOCK:
            print(json.dumps({"status": status, "webhook_id": self.headers.get("webhook-id"),
                              "body": body, "t": t}), flush=True)
        self.send_response(status)
        if status != 204 and len(mode) > 1:
            self.send_header("Retry-After", mode[1])
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
srv.daemon_threads = True
print("listening on http://127.0.0.1:%d" % srv.server_address[1], file=sys.stderr, flush=True)
srv.serve_forever()
