/* SPDX-License-Identifier: MIT */
/* fuzz_conn.c — structure-aware libFuzzer target: one whole client
 * connection, through the real loop, for each socket kind a client can open
 * without credentials: the server notifier (/socket/server/websocket), the
 * peer socket (/socket/peer/websocket), the access socket
 * (/subscribe_to_events), the Janus WebSocket (/janus/ws) and SSE
 * (/v1/stream).
 *
 * The input decodes into (socket kind, request bytes, list of frames), so
 * a mutation changes one header or one frame instead of breaking the
 * framing of everything after it:
 *   byte 0      kind (modulo 5)
 *   byte 1      flags: 1 = the client ends with EOF (else herald closes
 *               the socket, as a deadline would); 2 = the first frames go
 *               in the same write as the request (one read: upgrade and
 *               frames together)
 *   bytes 2-3   length L (little endian) of the request tail, then L bytes:
 *               the request is "GET <path of kind>" + tail
 *   then frames, each: b0 (FIN, RSV and opcode, sent as is), ctl, a 2-byte
 *               little-endian payload length, the payload. ctl bits: 0-1
 *               length form (0 shortest, 1 16-bit, 2 64-bit, 3 no header:
 *               the payload goes raw into the stream), 4 unmasked, 8 starts
 *               a new write (a new read for herald), 16 mask key 0.
 * In the request tail and payloads, \x01 + a letter stands for a value
 * known only at run time: S the server token, P the peer token, U a user
 * token (JWT, sub fuzz-user, room fuzz-room), B Basic credentials with the
 * server token, K a WebSocket key, H the upgrade headers. The seeds in
 * fuzz/corpus/fuzz_conn/ are made by fuzz/seeds_conn.py.
 *
 * Each write is followed by a settle: the loop runs until no thread-pool
 * work or write is pending, then an event is committed through the hub
 * and the loop runs until its commit answer arrives, so every commit the
 * connection caused (peer.connected, a Janus batch) has been answered and
 * fanned out before the next write: runs are repeatable. Everything herald
 * writes back is checked: an HTTP response first; after a 101, only
 * well-formed unmasked server frames (control frames final and short, text
 * frames JSON, close codes valid, nothing after a close). The connection
 * is always closed and released before the next input (LeakSanitizer
 * watches). The loop's tick timer is not running, so deadlines and pings
 * (timing) are not fuzzed here.
 */
#include <errno.h>
#include <ftw.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/log.h"
#include "fixture.h"
#include "deliver/endpoints.h"
#include "hub/hub.h"
#include "net/conn.h"
#include "net/server.h"
#include "net/ws.h"
#include "rooms/registry.h"

#define TOKEN "fuzz-server-token"
#define JWT_SECRET "fuzz-secret"
/* HS256 under JWT_SECRET of {"sub":"fuzz-user","exp":4102444800,"rooms":["fuzz-room"]}. */
#define USER_JWT                                                                                     \
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJmdXp6LXVzZXIiLCJleHAiOjQxMDI0NDQ4MDAsInJvb21zIj" \
    "pbImZ1enotcm9vbSJdfQ.ZrzNOOD0MChfvRGPSO6QC04r22Mw-w6YpEp5humtcyc"
#define WS_KEY "dGhlIHNhbXBsZSBub25jZQ=="
#define UPGRADE_HEADERS                                                                              \
    "Host: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n" \
    "Sec-WebSocket-Key: " WS_KEY "\r\n"
#define SETTLE_LIMIT_MS 60000 /* a connection that keeps herald busy longer is a hang */
#define OUT_CAP (1 << 20)

static const char *const paths[] = {"/socket/server/websocket", "/socket/peer/websocket",
                                    "/subscribe_to_events", "/janus/ws", "/v1/stream"};
#define NKINDS (sizeof(paths) / sizeof(paths[0]))

static hv_server srv;
static hv_loop *loop;
static char peer_token[64];
static char basic[128];
static int debug; /* FUZZ_CONN_DEBUG=1: print what herald answered (to check a seed) */

/* ---- growing byte buffers ------------------------------------------------ */

typedef struct bytes {
    uint8_t *d;
    size_t len, cap;
} bytes;

static void put(bytes *b, const void *p, size_t n)
{
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n)
            cap *= 2;
        b->d = realloc(b->d, cap);
        if (!b->d)
            abort();
        b->cap = cap;
    }
    memcpy(b->d + b->len, p, n);
    b->len += n;
}

static void put_str(bytes *b, const char *s)
{
    put(b, s, strlen(s));
}

/* Appends p[0..n) with the \x01 placeholders replaced. */
static void put_subst(bytes *b, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const char *v = NULL;
        if (p[i] == 1 && i + 1 < n) {
            switch (p[i + 1]) {
            case 'S': v = TOKEN; break;
            case 'P': v = peer_token; break;
            case 'U': v = USER_JWT; break;
            case 'B': v = basic; break;
            case 'K': v = WS_KEY; break;
            case 'H': v = UPGRADE_HEADERS; break;
            }
        }
        if (v) {
            put_str(b, v);
            i++;
        } else {
            put(b, p + i, 1);
        }
    }
}

/* ---- driving the loop ------------------------------------------------------- */

/* Reads what herald wrote (kept up to OUT_CAP bytes). */
static void drain(int fd, bytes *out)
{
    uint8_t buf[16384];
    ssize_t n;
    while ((n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
        if (out && out->len < OUT_CAP)
            put(out, buf, (size_t)n);
}

static void wait_loop(void)
{
    struct pollfd p = {uv_backend_fd(&loop->uv), POLLIN, 0};
    poll(&p, 1, 1);
}

static void committed(hv_loop *l, void *arg, int status, hv_event **evs, size_t n)
{
    (void)l, (void)status, (void)evs, (void)n;
    *(int *)arg = 1;
}

static void check_deadline(uint64_t start)
{
    if (uv_hrtime() / 1000000 - start > SETTLE_LIMIT_MS) {
        fprintf(stderr, "fuzz_conn: herald still busy after %d ms\n", SETTLE_LIMIT_MS);
        abort();
    }
}

/* Runs the loop until the connection's work is done (see the top). */
static void settle(int fd, bytes *out)
{
    uint64_t start = uv_hrtime() / 1000000;
    for (;;) {
        for (;;) {
            drain(fd, out);
            hv_loop_flush(loop);
            uv_run(&loop->uv, UV_RUN_NOWAIT);
            drain(fd, out);
            if (loop->uv.active_reqs.count == 0)
                break;
            check_deadline(start);
            wait_loop();
        }
        int done = 0;
        hv_event **evs = malloc(sizeof(*evs));
        evs[0] = hv_event_new("fuzz.settle", NULL, NULL, "{}", 2);
        if (hv_hub_publish(srv.hub, evs, 1, loop, committed, &done) != 0)
            abort();
        while (!done) {
            drain(fd, out);
            uv_run(&loop->uv, UV_RUN_NOWAIT);
            if (!done) {
                check_deadline(start);
                wait_loop();
            }
        }
        hv_loop_flush(loop);
        uv_run(&loop->uv, UV_RUN_NOWAIT);
        drain(fd, out);
        if (loop->uv.active_reqs.count == 0)
            return;
    }
}

static void send_all(int fd, const uint8_t *p, size_t n, bytes *out)
{
    uint64_t start = uv_hrtime() / 1000000;
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
            return; /* herald closed the socket */
        if (w > 0) {
            p += w;
            n -= (size_t)w;
            continue;
        }
        /* Full: herald is not reading (it paused this connection). */
        drain(fd, out);
        uv_run(&loop->uv, UV_RUN_NOWAIT);
        if (uv_hrtime() / 1000000 - start > 100)
            return;
        wait_loop();
    }
}

/* ---- what herald answers ---------------------------------------------------- */

static int close_code_ok(unsigned code)
{
    return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
}

static void check_frame(int op, const uint8_t *p, size_t len)
{
    if (op == 1) {
        json_t *j = json_loadb((const char *)p, len, 0, NULL);
        if (!j || !hv_utf8_valid(p, len))
            abort(); /* herald's text frames are JSON */
        json_decref(j);
    } else if (op == 8) {
        if (len == 1 || (len >= 2 && !close_code_ok((unsigned)(p[0] << 8 | p[1]))) ||
            (len > 2 && !hv_utf8_valid(p + 2, len - 2)))
            abort();
    }
}

/* Server frames after a 101: a frame cut short at the very end is allowed
 * (the socket closed with it queued). */
static void check_frames(const uint8_t *p, size_t n)
{
    int closed = 0;
    while (n >= 2) {
        if (closed)
            abort(); /* nothing after a close frame */
        int fin = p[0] & 0x80, op = p[0] & 0x0f;
        uint64_t len = p[1] & 0x7f;
        size_t hdr = 2;
        if ((p[0] & 0x70) || (p[1] & 0x80) || (op > 2 && op < 8) || op > 10)
            abort(); /* no RSV bits, never masked, known opcodes */
        if (len == 126) {
            if (n < 4)
                return;
            len = (uint64_t)p[2] << 8 | p[3];
            hdr = 4;
        } else if (len == 127) {
            if (n < 10)
                return;
            len = 0;
            for (int i = 2; i < 10; i++)
                len = len << 8 | p[i];
            hdr = 10;
        }
        if (op >= 8 && (!fin || len > 125))
            abort();
        if (op == 0 || !fin)
            abort(); /* herald never fragments */
        if (n - hdr < len)
            return;
        check_frame(op, p + hdr, (size_t)len);
        closed = op == 8;
        p += hdr + len;
        n -= hdr + len;
    }
}

static void check_output(const bytes *out)
{
    if (out->len == 0)
        return;
    if (out->len < 13 || memcmp(out->d, "HTTP/1.1 ", 9) != 0)
        abort();
    if (memcmp(out->d + 9, "101 ", 4) != 0)
        return;
    const uint8_t *end = memmem(out->d, out->len, "\r\n\r\n", 4);
    if (!end)
        abort();
    check_frames(end + 4, out->len - (size_t)(end + 4 - out->d));
}

/* Herald's answer, readable: the HTTP head, then one line per frame. */
static void print_output(int kind, const bytes *out)
{
    fprintf(stderr, "---- %s: %zu bytes\n", paths[kind], out->len);
    const uint8_t *end = memmem(out->d, out->len, "\r\n\r\n", 4);
    size_t head = end ? (size_t)(end - out->d) + 4 : out->len;
    fwrite(out->d, 1, head, stderr);
    if (out->len < 13 || memcmp(out->d + 9, "101 ", 4) != 0) { /* not WebSocket frames */
        fwrite(out->d + head, 1, out->len - head, stderr);
        fputc('\n', stderr);
        return;
    }
    for (size_t i = head; i + 2 <= out->len;) {
        size_t len = out->d[i + 1] & 0x7f, hdr = len == 126 ? 4 : len == 127 ? 10 : 2;
        if (len == 126 && i + 4 <= out->len)
            len = (size_t)out->d[i + 2] << 8 | out->d[i + 3];
        if (len > 125 && hdr == 10) /* herald sends nothing that large here */
            break;
        if (i + hdr + len > out->len) {
            fwrite(out->d + i, 1, out->len - i, stderr);
            break;
        }
        fprintf(stderr, "frame op %d: %.*s\n", out->d[i] & 0x0f, (int)len, (const char *)out->d + i + hdr);
        i += hdr + len;
    }
    fputc('\n', stderr);
}

/* ---- the input ---------------------------------------------------------------- */

static void put_frame(bytes *b, uint8_t b0, uint8_t ctl, const uint8_t *payload, size_t plen)
{
    bytes pl = {0};
    put_subst(&pl, payload, plen);
    int form = ctl & 3;
    if (form == 3) {
        if (pl.len)
            put(b, pl.d, pl.len);
        free(pl.d);
        return;
    }
    uint8_t hdr[14];
    size_t h = 0;
    int masked = !(ctl & 4);
    hdr[h++] = b0;
    uint8_t m = masked ? 0x80 : 0;
    if (form == 0 && pl.len < 126) {
        hdr[h++] = m | (uint8_t)pl.len;
    } else if (form != 2 && pl.len < 65536) {
        hdr[h++] = m | 126;
        hdr[h++] = (uint8_t)(pl.len >> 8);
        hdr[h++] = (uint8_t)pl.len;
    } else {
        hdr[h++] = m | 127;
        for (int i = 7; i >= 0; i--)
            hdr[h++] = (uint8_t)((uint64_t)pl.len >> (8 * i));
    }
    uint8_t key[4] = {0x37, 0xfa, 0x21, 0x3d};
    if (ctl & 16)
        memset(key, 0, sizeof(key));
    if (masked) {
        memcpy(hdr + h, key, 4);
        h += 4;
        for (size_t i = 0; i < pl.len; i++)
            pl.d[i] ^= key[i % 4];
    }
    put(b, hdr, h);
    if (pl.len)
        put(b, pl.d, pl.len);
    free(pl.d);
}

typedef struct plan {
    int kind, client_eof;
    bytes seg[64]; /* the writes, in order */
    size_t nseg;
} plan;

static void decode(const uint8_t *d, size_t n, plan *pl)
{
    memset(pl, 0, sizeof(*pl));
    pl->kind = d[0] % NKINDS;
    pl->client_eof = d[1] & 1;
    int join = d[1] & 2;
    size_t l = (size_t)(d[2] | d[3] << 8);
    d += 4, n -= 4;
    l = l < n ? l : n;
    bytes *cur = &pl->seg[0];
    pl->nseg = 1;
    put_str(cur, "GET ");
    put_str(cur, paths[pl->kind]);
    put_subst(cur, d, l);
    d += l, n -= l;
    if (!join && n >= 4) {
        cur = &pl->seg[1];
        pl->nseg = 2;
    }
    while (n >= 4) {
        uint8_t b0 = d[0], ctl = d[1];
        size_t plen = (size_t)(d[2] | d[3] << 8);
        d += 4, n -= 4;
        plen = plen < n ? plen : n;
        if ((ctl & 8) && cur->len && pl->nseg < sizeof(pl->seg) / sizeof(pl->seg[0]))
            cur = &pl->seg[pl->nseg++];
        put_frame(cur, b0, ctl, d, plen);
        d += plen, n -= plen;
    }
}

/* One connection: the plan's writes, each settled, then the end. */
static void run(const plan *pl, bytes *out)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) != 0)
        abort();
    hv_conn *c = hv_conn_open_fd(loop, sv[0]);
    if (!c)
        abort();
    hv_conn_hold(c);
    for (size_t i = 0; i < pl->nseg && !c->closing; i++) {
        send_all(sv[1], pl->seg[i].d, pl->seg[i].len, out);
        settle(sv[1], out);
    }
    if (pl->client_eof && !c->closing) {
        shutdown(sv[1], SHUT_WR);
        settle(sv[1], out);
    }
    if (!c->closing)
        hv_conn_close(c);
    settle(sv[1], out);
    close(sv[1]);
    hv_conn_release(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4)
        return 0;
    plan *pl = malloc(sizeof(*pl));
    decode(data, size, pl);
    bytes out = {0};
    run(pl, &out);
    if (debug)
        print_output(pl->kind, &out);
    check_output(&out);
    for (size_t i = 0; i < pl->nseg; i++)
        free(pl->seg[i].d);
    free(pl);
    free(out.d);
    return 0;
}

/* ---- set-up ---------------------------------------------------------------- */

/* One request through a fresh connection; the body of the answer. */
static json_t *request(const char *req)
{
    plan pl;
    memset(&pl, 0, sizeof(pl));
    put_str(&pl.seg[0], req);
    pl.nseg = 1;
    bytes out = {0};
    run(&pl, &out);
    free(pl.seg[0].d);
    put(&out, "", 1);
    const char *body = out.len > 1 ? strstr((const char *)out.d, "\r\n\r\n") : NULL;
    json_t *j = body ? json_loads(body + 4, 0, NULL) : NULL;
    if (!j) {
        fprintf(stderr, "fuzz_conn: set-up request failed: %s\n", out.len > 1 ? (char *)out.d : "(no answer)");
        abort();
    }
    free(out.d);
    return j;
}

/* The room fuzz-room and one peer in it, whose token inputs use. */
static void make_peer(void)
{
    json_decref(request("POST /room HTTP/1.1\r\nAuthorization: Bearer " TOKEN "\r\nContent-Length: 22\r\n"
                        "\r\n{\"roomId\":\"fuzz-room\"}"));
    json_t *j = request("POST /room/fuzz-room/peer HTTP/1.1\r\nAuthorization: Bearer " TOKEN
                        "\r\nContent-Length: 17\r\n\r\n{\"type\":\"webrtc\"}");
    const char *tok = json_string_value(json_object_get(json_object_get(j, "data"), "token"));
    if (!tok || strlen(tok) >= sizeof(peer_token))
        abort();
    strcpy(peer_token, tok);
    json_decref(j);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    char *args[] = {(*argv)[0], NULL};
    hv_config_load(&srv.cfg, 1, args);
    hv_log_level = -1; /* silent */
    debug = getenv("FUZZ_CONN_DEBUG") != NULL;
    snprintf(srv.cfg.token, sizeof(srv.cfg.token), "%s", TOKEN);
    snprintf(srv.cfg.jwt_secret, sizeof(srv.cfg.jwt_secret), "%s", JWT_SECRET);
    srv.cfg.max_body = 1 << 16;
    srv.cfg.max_ws_message = 1 << 16;
    srv.cfg.sync_full = 0;
    srv.cfg.retention_events = 10000; /* each settle stores an event: keep the store small */
    static const char cred[] = "janus:" TOKEN;
    EVP_EncodeBlock((unsigned char *)basic, (const unsigned char *)cred, sizeof(cred) - 1);
    fuzz_fixture_store(&srv, "conn");
    loop = fuzz_fixture_loop(&srv);
    /* No Janus dedup set: it would remember bodies across inputs. */
    make_peer();
    return 0;
}
