# SPDX-License-Identifier: MIT
"""bench/soak_webhooks.py — the soak run's webhook receiver (bench/soak.py):
two endpoints point at it; it checks each request's Standard Webhooks
signature, remembers which event ids each endpoint got, and is switched
through healthy, 503, down (connection refused) and hanging periods so
herald has to retry, back up and recover, over and over."""
import base64
import hashlib
import hmac
import http.server
import json
import threading
import time

from soak_common import T0, log, metrics, req

class Receiver:
    """Webhook receiver that herald's endpoints point at; its mode (ok,
    5xx, down, hang) is switched by the cycle thread."""

    def __init__(self, port):
        self.port = port
        self.mode = "ok"
        self.secrets = {}
        self.got = {}            # path -> set of event ids answered 2xx
        self.dups = 0
        self.bad_sig = 0
        self.requests = 0
        self.lock = threading.Lock()
        self.mode_lock = threading.Lock()  # the cycle and main both switch it at the end
        self.httpd = None
        self.up()

    def handler(rcv):
        class H(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                mode = rcv.mode
                if mode == "hang":
                    end = time.monotonic() + 120
                    while rcv.mode == "hang" and time.monotonic() < end:
                        time.sleep(0.2)
                    self.close_connection = True
                    return
                if mode != "ok":
                    self.send_response(503)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                rcv.take(self.path, self.headers, body)
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()
        return H

    def take(self, path, headers, body):
        wid, ts = headers.get("webhook-id", ""), headers.get("webhook-timestamp", "")
        key = base64.b64decode(self.secrets.get(path, "whsec_").split("_", 1)[1])
        want = base64.b64encode(hmac.new(key, ("%s.%s." % (wid, ts)).encode() + body,
                                         hashlib.sha256).digest()).decode()
        sigs = [x.split(",", 1)[1] for x in headers.get("webhook-signature", "").split() if "," in x]
        eid = int(json.loads(body)["id"])
        with self.lock:
            self.requests += 1
            if want not in sigs:
                self.bad_sig += 1
            s = self.got.setdefault(path, set())
            if eid in s:
                self.dups += 1
            s.add(eid)

    def up(self):
        http.server.ThreadingHTTPServer.allow_reuse_address = True
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), self.handler())
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def down(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.httpd = None

    def set_mode(self, mode):
        with self.mode_lock:
            if mode == "down" and self.httpd:
                self.down()
            elif mode != "down" and not self.httpd:
                self.up()
            self.mode = mode


CYCLE = [("ok", 90), ("5xx", 60), ("ok", 60), ("down", 60), ("ok", 60), ("hang", 40)]


def webhook_cycle(a, st, rcv, pending_at_ok_end):
    k = 0
    while not st.load_done.is_set():
        mode, secs = CYCLE[k % len(CYCLE)]
        rcv.set_mode(mode)
        log("webhooks: %s for %d s" % (mode, secs * a.cycle_scale))
        if st.load_done.wait(secs * a.cycle_scale):
            break
        if mode == "ok":
            pending_at_ok_end.append((time.monotonic() - T0, metrics(a).get("herald_webhook_pending", -1)))
        k += 1
    rcv.set_mode("ok")


def add_endpoint(a, rcv, path, extra):
    body = dict({"url": "http://127.0.0.1:%d%s" % (rcv.port, path)}, **extra)
    st, out = req(a, "POST", "/v1/webhooks", body)
    if st != 201:
        raise SystemExit("soak: creating the webhook endpoint: %s %s" % (st, out))
    rcv.secrets[path] = json.loads(out)["secret"]
