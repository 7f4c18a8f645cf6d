# SPDX-License-Identifier: MIT
"""bench/soak_clients.py — the well-behaved side of the soak run
(bench/soak.py): publishers (every acknowledged id remembered per room),
app clients that churn and resume, resume storms, the notifier subscriber,
and the check that each client got every event of its room after its
resume point, in order, once."""
import http.client
import json
import random
import socket
import threading
import time

import soak_common  # noqa: F401 (puts tests/hostile on the path)
import hostile  # noqa: E402
from soak_common import ROOMS, PAD, log, http_conn, user_token, source_addr, send_pong, leave, ws_frame_or_timeout

def publish(a, st, conn, events):
    """POSTs events (a list); returns the connection to use next."""
    body = json.dumps(events if len(events) > 1 else events[0])
    try:
        conn.request("POST", "/v1/events", body, {"Authorization": "Bearer " + a.token,
                                                  "Content-Type": "application/json"})
        r = conn.getresponse()
        data = r.read()
    except (OSError, http.client.HTTPException) as e:
        conn.close()
        with st.lock:
            st.pub_failed += len(events)
            if len(st.pub_errors) < 5:
                st.pub_errors.append(repr(e))
        return http_conn(a)
    if r.status != 201:
        with st.lock:
            st.pub_failed += len(events)
            if len(st.pub_errors) < 5:
                st.pub_errors.append("%d %s" % (r.status, data[:200]))
        return conn
    ids = [int(x) for x in json.loads(data)["ids"]]
    with st.lock:
        for ev, i in zip(events, ids):
            st.acked[ev["room_id"]].add(i)
            st.all_acked.add(i)
            st.latest[ev["room_id"]] = max(st.latest[ev["room_id"]], i)
    return conn


def room_publisher(a, st, room):
    conn = http_conn(a)
    n = 0
    period = 1.0 / a.rate
    nxt = time.monotonic()
    while not st.load_done.is_set():
        n += 1
        conn = publish(a, st, conn, [{"type": "soak.tick", "room_id": room, "data": {"n": n, "pad": PAD}}])
        nxt += period
        st.load_done.wait(max(0.0, nxt - time.monotonic()))
    conn.close()


def batch_publisher(a, st):
    conn = http_conn(a)
    nxt = time.monotonic()
    while not st.load_done.is_set():
        evs = [{"type": "soak.batch", "room_id": random.choice(ROOMS), "data": {"pad": PAD}}
               for _ in range(a.batch)]
        conn = publish(a, st, conn, evs)
        nxt += 1.0
        st.load_done.wait(max(0.0, nxt - time.monotonic()))
    conn.close()


class Session:
    """One app client: kind ws|sse, its room, its resume point, what it got."""

    def __init__(self, kind, room, since, until_id, hold):
        self.kind, self.room, self.since = kind, room, since
        self.until_id = until_id   # storm: stay at least until this id came
        self.hold = hold           # seconds to stay
        self.ids = []
        self.error = ""
        self.closed_by_server = ""
        self.resume_failed = False
        self.ended = 0.0


def run_session(a, st, sess, idx):
    sub = "soak-u%d" % idx
    tok = user_token(a.jwt_secret, sub, [sess.room])
    q = "?token=" + tok + ("&since=%d" % sess.since if sess.since is not None else "")
    with st.lock:
        st.active += 1
    s = None
    try:
        s = hostile.connect(a.port, source=source_addr(idx))
        if sess.kind == "ws":
            s.sendall(hostile.ws_upgrade("/socket/peer/websocket" + q))
        else:
            s.sendall(hostile.http_request("GET", "/v1/stream" + q, {"Accept": "text/event-stream"}))
        head = hostile.read_until(s, b"\r\n\r\n")
        first = head.split(b"\r\n")[0]
        want = b" 101 " if sess.kind == "ws" else b" 200 "
        if want not in first:
            sess.error = "upgrade/stream refused: %r" % first[:80]
            return
        buf = head.split(b"\r\n\r\n", 1)[1]
        (ws_loop if sess.kind == "ws" else sse_loop)(a, st, s, buf, sess)
    except OSError as e:
        sess.error = "socket error: %r" % e
    finally:
        if s is not None:
            leave(s, random.choice(["close", "plain", "rst"]), sess.kind == "ws")
        sess.ended = time.monotonic()
        with st.lock:
            st.active -= 1
            st.sessions.append(sess)


def session_done(st, sess, start):
    t = time.monotonic()
    if sess.until_id and (not sess.ids or sess.ids[-1] < sess.until_id):
        return t - start > 180 or st.stop.is_set()
    return t - start >= sess.hold or st.stop.is_set()


def got_event(st, sess, obj):
    if "id" in obj and obj.get("type", "").startswith("soak."):
        sess.ids.append(int(obj["id"]))
        if obj.get("room_id") != sess.room:
            sess.error = "event %s of room %s on a client of %s" % (obj["id"], obj.get("room_id"), sess.room)
    elif obj.get("type") == "resume_failed":
        sess.resume_failed = True


def ws_loop(a, st, s, buf, sess):
    start = time.monotonic()
    while not session_done(st, sess, start):
        s.settimeout(1.0)
        op, payload, buf = ws_frame_or_timeout(s, buf)
        if op == "timeout":
            continue
        if op is None:
            sess.closed_by_server = "socket ended"
            return
        if op == 0x9:
            send_pong(s, payload)
        elif op == 0x8:
            code, reason = hostile.close_code(payload)
            sess.closed_by_server = "close %s %s" % (code, reason)
            return
        elif op == 0x1:
            got_event(st, sess, json.loads(payload))


def sse_loop(a, st, s, buf, sess):
    start = time.monotonic()
    data = []
    name = ""
    while not session_done(st, sess, start):
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            if line.startswith(b"data: "):
                data.append(line[6:])
            elif line.startswith(b"event: "):
                name = line[7:].decode()
            elif line == b"":
                if name == "resume_failed":
                    sess.resume_failed = True
                elif data:
                    got_event(st, sess, json.loads(b"\n".join(data)))
                data, name = [], ""
        s.settimeout(1.0)
        try:
            chunk = s.recv(262144)
        except socket.timeout:
            continue
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            sess.closed_by_server = "stream ended"
            return
        buf += chunk


def check_session(st, sess):
    """Every event of the room after `since` up to the last one received,
    in order, once. Runs SETTLE seconds after the session, when every
    publish it could have seen has been acknowledged."""
    problems = []
    if sess.error:
        problems.append(sess.error)
    if sess.resume_failed:
        problems.append("resume_failed")
    if sess.closed_by_server and not sess.error:
        problems.append("closed by herald: " + sess.closed_by_server)
    ids = sess.ids
    if any(b <= x for x, b in zip(ids, ids[1:])):
        problems.append("ids not strictly increasing")
    if ids:
        lo = sess.since if sess.since is not None else ids[0] - 1
        with st.lock:
            want = {i for i in st.acked[sess.room] if lo < i <= ids[-1]}
        missing = want - set(ids)
        if missing:
            problems.append("%d missing, first %d" % (len(missing), min(missing)))
    with st.lock:
        st.checked += 1
        st.events_read += len(ids)
        k = st.session_kinds.setdefault(sess.kind + ("-storm" if sess.until_id else ""), 0)
        st.session_kinds[sess.kind + ("-storm" if sess.until_id else "")] = k + 1
        if sess.until_id and (not ids or ids[-1] < sess.until_id):
            st.incomplete += 1
            problems.append("did not catch up to %d (last %s)" % (sess.until_id, ids[-1] if ids else None))
        if problems:
            st.bad_sessions.append("%s %s since=%s: %s" % (sess.kind, sess.room, sess.since, "; ".join(problems)))


def checker(st, settle):
    while True:
        now = time.monotonic()
        with st.lock:
            ready = [x for x in st.sessions if now - x.ended > settle or st.load_done.is_set()]
            st.sessions = [x for x in st.sessions if x not in ready]
        for x in ready:
            check_session(st, x)
        with st.lock:
            if st.stop.is_set() and not st.sessions and st.active == 0:
                return
        time.sleep(1.0)


def churn(a, st, counter):
    while not st.load_done.is_set():
        room = random.choice(ROOMS)
        with st.lock:
            latest = st.latest[room]
            recent = sorted(st.acked[room])[-200:] if random.random() < 0.7 else []
        since = random.choice(recent) if recent else (latest if random.random() < 0.5 else None)
        sess = Session(random.choice(["ws", "ws", "sse"]), room, since, 0, random.uniform(3, 25))
        counter[0] += 1
        threading.Thread(target=run_session, args=(a, st, sess, counter[0]), daemon=True).start()
        st.load_done.wait(random.expovariate(1.0 / a.churn_every))


def storms(a, st, counter):
    while not st.load_done.wait(a.storm):
        room = random.choice(ROOMS)
        with st.lock:
            ids = sorted(st.acked[room])
        if not ids:
            continue
        target = ids[-1]
        log("storm: %d clients resume on %s (ids up to %d)" % (a.storm_clients, room, target))
        for k in range(a.storm_clients):
            depth = random.randint(a.storm_depth // 4, a.storm_depth)
            since = 0 if k == 0 else ids[max(0, len(ids) - depth)] - 1
            sess = Session("ws" if k % 3 else "sse", room, since, target, 2.0)
            counter[0] += 1
            threading.Thread(target=run_session, args=(a, st, sess, counter[0]), daemon=True).start()


def notifier(a, st, got):
    """The server notifier for the whole run: every event, ids in order."""
    while not st.stop.is_set():
        try:
            frames = hostile.ws_frame(json.dumps({"type": "auth", "token": a.token})) + hostile.ws_frame(
                json.dumps({"type": "subscribe", "event_type": "server_notification"}))
            s = hostile.connect(a.port, source="127.0.1.250")
            s.sendall(hostile.ws_upgrade("/socket/server/websocket") + frames)
            head = hostile.read_until(s, b"\r\n\r\n")
            buf = head.split(b"\r\n\r\n", 1)[1]
            got["spans"].append([])
            while not st.stop.is_set():
                s.settimeout(1.0)
                op, payload, buf = ws_frame_or_timeout(s, buf)
                if op == "timeout":
                    continue
                if op is None or op == 0x8:
                    got["closes"].append(hostile.close_code(payload) if op == 0x8 else "socket ended")
                    break
                if op == 0x9:
                    send_pong(s, payload)
                elif op == 0x1:
                    obj = json.loads(payload)
                    if "id" in obj and obj.get("type", "").startswith("soak."):
                        got["spans"][-1].append(int(obj["id"]))
            leave(s, "close", True)
        except OSError as e:
            got["closes"].append(repr(e))
            time.sleep(1.0)
