/* SPDX-License-Identifier: MIT */
/* test_client_publisher.c — unit tests of the client library's publisher
 * (herald_publisher, GET /v1/events/websocket):
 *
 *   - the decoding of answer frames (publish_frame.c): ids as strings or
 *     numbers, refusals with their status and message, and every shape
 *     that is not an answer;
 *   - the body check of submit (empty, over the frame limit, bad UTF-8);
 *   - the whole publisher against a fake server on a loopback socket (a
 *     thread speaking just enough RFC 6455): the Bearer header, waiting
 *     for {"type":"authenticated"}, pipelined frames answered in order
 *     (a refused frame among them), the window (HERALD_EFULL), the
 *     blocking publish, the connection ending with frames unanswered, and
 *     the caller's-loop mode with on_answer.
 * Built and registered by client/CMakeLists.txt (cmocka).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include "client_internal.h"
#include "herald/client.h"

#define WAIT_MS 60000

/* ---- answer decoding ---- */

static void decode_ok(const char *text, herald_publish_answer *a)
{
    assert_int_equal(herald__publish_answer_decode(text, strlen(text), a, NULL, 0), 0);
    assert_string_equal(a->response, text);
}

static void test_decode_ids(void **state)
{
    (void)state;
    herald_publish_answer a;
    decode_ok("{\"seq\":3,\"ids\":[\"41\",\"42\"]}", &a);
    assert_int_equal(a.seq, 3);
    assert_int_equal(a.status, 0);
    assert_int_equal(a.count, 2);
    assert_int_equal(a.ids[0], 41);
    assert_int_equal(a.ids[1], 42);
    assert_null(a.errors);
    herald_publish_answer_clear(&a);
    assert_null(a.ids);

    decode_ok("{\"seq\":1,\"ids\":[\"18446744073709551615\",7]}", &a);
    assert_int_equal(a.count, 2);
    assert_true(a.ids[0] == UINT64_MAX);
    assert_int_equal(a.ids[1], 7);
    herald_publish_answer_clear(&a);

    decode_ok("{\"seq\":9,\"ids\":[]}", &a); /* an empty array body */
    assert_int_equal(a.count, 0);
    herald_publish_answer_clear(&a);
}

static void test_decode_refusals(void **state)
{
    (void)state;
    herald_publish_answer a;
    decode_ok("{\"seq\":2,\"status\":400,\"errors\":\"event 0: type is required\"}", &a);
    assert_int_equal(a.seq, 2);
    assert_int_equal(a.status, 400);
    assert_string_equal(a.errors, "event 0: type is required");
    assert_null(a.ids);
    herald_publish_answer_clear(&a);

    decode_ok("{\"seq\":4,\"status\":503,\"errors\":{\"store\":\"down\"}}", &a);
    assert_int_equal(a.status, 503);
    assert_string_equal(a.errors, "{\"store\":\"down\"}");
    herald_publish_answer_clear(&a);

    decode_ok("{\"seq\":5,\"status\":503}", &a);
    assert_string_equal(a.errors, "HTTP 503");
    herald_publish_answer_clear(&a);
}

/* Idempotency keys (issue 18 item 1): "replayed":true on an answer, and a 409. */
static void test_decode_replayed(void **state)
{
    (void)state;
    herald_publish_answer a;
    decode_ok("{\"seq\":2,\"ids\":[\"41\",\"7\"],\"replayed\":true}", &a);
    assert_int_equal(a.count, 2);
    assert_int_equal(a.ids[1], 7);
    assert_int_equal(herald_publish_answer_replayed(&a), 1);
    herald_publish_answer_clear(&a);
    decode_ok("{\"seq\":3,\"ids\":[\"42\"]}", &a);
    assert_int_equal(herald_publish_answer_replayed(&a), 0);
    herald_publish_answer_clear(&a);
    decode_ok("{\"seq\":4,\"ids\":[\"42\"],\"replayed\":false}", &a);
    assert_int_equal(herald_publish_answer_replayed(&a), 0);
    herald_publish_answer_clear(&a);
    decode_ok("{\"seq\":5,\"status\":409,\"errors\":\"events[0].idempotency_key k was used with a different "
              "event\"}", &a);
    assert_int_equal(a.status, 409);
    assert_int_equal(herald_publish_answer_replayed(&a), 0);
    herald_publish_answer_clear(&a);
    assert_int_equal(herald_publish_answer_replayed(NULL), 0);
    assert_int_equal(herald_publish_answer_replayed(&a), 0); /* cleared */
}

static void test_decode_not_answers(void **state)
{
    (void)state;
    static const char *bad[] = {
        "", "not json", "[]", "{\"ids\":[\"1\"]}", "{\"seq\":0,\"ids\":[\"1\"]}",
        "{\"seq\":-1,\"ids\":[]}", "{\"seq\":\"1\",\"ids\":[]}", "{\"seq\":1}",
        "{\"seq\":1,\"ids\":[\"x\"]}", "{\"seq\":1,\"ids\":[-3]}", "{\"seq\":1,\"ids\":\"1\"}",
        "{\"seq\":1,\"ids\":[\"1\"],\"status\":400}", "{\"seq\":1,\"status\":200}",
        "{\"seq\":1,\"status\":\"400\"}", "{\"seq\":1,\"status\":600,\"errors\":\"x\"}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        herald_publish_answer a;
        char err[256] = "";
        int rc = herald__publish_answer_decode(bad[i], strlen(bad[i]), &a, err, sizeof(err));
        if (rc != HERALD_EPROTO)
            fail_msg("'%s' decoded (rc %d)", bad[i], rc);
        assert_non_null(strstr(err, "not a publish answer"));
        assert_null(a.ids);
        assert_null(a.errors);
        assert_null(a.response);
    }
}

/* ---- the body check ---- */

static void test_body_check(void **state)
{
    (void)state;
    char err[256];
    assert_int_equal(herald__publish_body_check("{\"type\":\"a\"}", 12, 100, err, sizeof(err)), 0);
    assert_int_equal(herald__publish_body_check("{\"t\":\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"}",
                                                17, 100, err, sizeof(err)),
                     0);
    assert_int_equal(herald__publish_body_check("", 0, 100, err, sizeof(err)), HERALD_EINVAL);
    assert_int_equal(herald__publish_body_check(NULL, 3, 100, err, sizeof(err)), HERALD_EINVAL);
    assert_int_equal(herald__publish_body_check("{\"type\":\"a\"}", 12, 11, err, sizeof(err)),
                     HERALD_EINVAL);
    assert_non_null(strstr(err, "larger than the frame limit (11)"));
    static const char *bad_utf8[] = {
        "\xff", "\xc0\xaf", "\xe0\x80\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xc3",
        "\xe2\x82", "a\x80",
    };
    for (size_t i = 0; i < sizeof(bad_utf8) / sizeof(bad_utf8[0]); i++) {
        err[0] = '\0';
        assert_int_equal(herald__publish_body_check(bad_utf8[i], strlen(bad_utf8[i]), 100, err,
                                                    sizeof(err)),
                         HERALD_EINVAL);
        assert_string_equal(err, "body is not valid UTF-8");
    }
}

static void test_new_refuses(void **state)
{
    (void)state;
    char err[256] = "";
    herald_publisher_options o = {.token = "a\nb"};
    assert_null(herald_publisher_new(&o, err, sizeof(err)));
    assert_non_null(strstr(err, "control characters"));
    herald_publisher_options w = {.window = HERALD_PUBLISHER_MAX_WINDOW + 1};
    assert_null(herald_publisher_new(&w, err, sizeof(err)));
    assert_non_null(strstr(err, "window"));
    herald_publisher_options u = {.server = "https://127.0.0.1:1"};
    assert_null(herald_publisher_new(&u, err, sizeof(err)));
    herald_publisher *p = herald_publisher_new(NULL, err, sizeof(err));
    assert_non_null(p);
    assert_int_equal(herald_publisher_submit(p, "{}", 2, NULL), HERALD_ESTATE);
    herald_publisher_free(p);
}

/* ---- a fake server ---- */

typedef struct fake {
    int lfd, port;
    pthread_t th;
    int close_after;    /* > 0: after reading that many frames, close without answering */
    char auth[256];     /* the Authorization header it got */
    int frames;         /* frames read */
} fake;

static int read_exact(int fd, void *buf, size_t len)
{
    for (size_t got = 0; got < len;) {
        ssize_t n = read(fd, (char *)buf + got, len - got);
        if (n <= 0)
            return -1;
        got += (size_t)n;
    }
    return 0;
}

static void send_text(int fd, const char *text)
{
    size_t len = strlen(text);
    uint8_t hdr[4] = {0x81, 0, 0, 0};
    size_t hl = 2;
    if (len < 126) {
        hdr[1] = (uint8_t)len;
    } else {
        hdr[1] = 126;
        hdr[2] = (uint8_t)(len >> 8);
        hdr[3] = (uint8_t)len;
        hl = 4;
    }
    assert_true(write(fd, hdr, hl) == (ssize_t)hl);
    assert_true(write(fd, text, len) == (ssize_t)len);
}

/* Reads one client frame (masked, < 64 KiB); its opcode, or -1. */
static int read_frame(int fd, char *payload, size_t cap)
{
    uint8_t h[2], ext[2], mask[4];
    if (read_exact(fd, h, 2) != 0)
        return -1;
    size_t len = h[1] & 0x7f;
    if (len == 126) {
        if (read_exact(fd, ext, 2) != 0)
            return -1;
        len = (size_t)ext[0] << 8 | ext[1];
    }
    if (len >= cap || read_exact(fd, mask, 4) != 0 || read_exact(fd, payload, len) != 0)
        return -1;
    for (size_t i = 0; i < len; i++)
        payload[i] ^= (char)mask[i % 4];
    payload[len] = '\0';
    return h[0] & 0x0f;
}

static void handshake(fake *f, int fd)
{
    char req[4096];
    size_t n = 0;
    while (n < sizeof(req) - 1 && !strstr(req, "\r\n\r\n")) {
        ssize_t r = read(fd, req + n, sizeof(req) - 1 - n);
        assert_true(r > 0);
        n += (size_t)r;
        req[n] = '\0';
    }
    assert_non_null(strstr(req, "GET /v1/events/websocket HTTP/1.1\r\n"));
    const char *a = strcasestr(req, "\r\nAuthorization: ");
    if (a)
        sscanf(a + 17, "%255[^\r]", f->auth);
    const char *k = strcasestr(req, "\r\nSec-WebSocket-Key: ");
    assert_non_null(k);
    char key[128], cat[200], accept[64], resp[256];
    sscanf(k + 21, "%60[^\r]", key);
    snprintf(cat, sizeof(cat), "%s258EAFA5-E914-47DA-95CA-C5AB0DC85B11", key);
    unsigned char sha[SHA_DIGEST_LENGTH];
    SHA1((const unsigned char *)cat, strlen(cat), sha);
    EVP_EncodeBlock((unsigned char *)accept, sha, SHA_DIGEST_LENGTH);
    int rl = snprintf(resp, sizeof(resp),
                      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                      "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
                      accept);
    assert_true(write(fd, resp, (size_t)rl) == rl);
}

/* Answers frame N with ids ["N*10"], or 400 when it contains "bad". */
static void *fake_main(void *arg)
{
    fake *f = arg;
    int fd = accept(f->lfd, NULL, NULL);
    assert_true(fd >= 0);
    handshake(f, fd);
    send_text(fd, "{\"type\":\"authenticated\"}");
    char payload[65536], answer[256];
    for (int op; (op = read_frame(fd, payload, sizeof(payload))) > 0;) {
        if (op == 8) { /* close: reply 1000 */
            static const uint8_t reply[] = {0x88, 2, 0x03, 0xe8};
            assert_true(write(fd, reply, sizeof(reply)) == (ssize_t)sizeof(reply));
            break;
        }
        if (op != 1)
            continue;
        f->frames++;
        if (f->close_after > 0 && f->frames == f->close_after)
            break;
        if (strstr(payload, "bad"))
            snprintf(answer, sizeof(answer),
                     "{\"seq\":%d,\"status\":400,\"errors\":\"event 0: bad event\"}", f->frames);
        else
            snprintf(answer, sizeof(answer), "{\"seq\":%d,\"ids\":[\"%d\"]}", f->frames,
                     f->frames * 10);
        send_text(fd, answer);
    }
    /* no close frame; but read what the client still sends until it goes,
     * or closing with unread bytes would be an RST that can discard the
     * answers already sent before the client reads them */
    shutdown(fd, SHUT_WR);
    while (read(fd, payload, sizeof(payload)) > 0)
        ;
    close(fd);
    return NULL;
}

static void fake_start(fake *f)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof(sa);
    f->lfd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(f->lfd >= 0);
    assert_int_equal(bind(f->lfd, (struct sockaddr *)&sa, sl), 0);
    assert_int_equal(listen(f->lfd, 4), 0);
    assert_int_equal(getsockname(f->lfd, (struct sockaddr *)&sa, &sl), 0);
    f->port = ntohs(sa.sin_port);
    assert_int_equal(pthread_create(&f->th, NULL, fake_main, f), 0);
}

static herald_publisher *connect_to(fake *f, unsigned window)
{
    char url[64], err[256] = "";
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", f->port);
    herald_publisher_options o = {.server = url, .token = "srv-token", .window = window};
    herald_publisher *p = herald_publisher_new(&o, err, sizeof(err));
    assert_non_null(p);
    assert_int_equal(herald_publisher_start_thread(p), 0);
    assert_int_equal(herald_publisher_wait_ready(p, WAIT_MS), 0);
    return p;
}

static void test_pipeline(void **state)
{
    (void)state;
    fake f = {0};
    fake_start(&f);
    herald_publisher *p = connect_to(&f, 4);
    static const char *frames[] = {"{\"type\":\"a\"}", "{\"type\":\"bad\"}", "[{\"type\":\"c\"}]",
                                   "{\"type\":\"d\"}"};
    for (uint64_t i = 0; i < 4; i++) {
        uint64_t seq = 0;
        assert_int_equal(herald_publisher_submit(p, frames[i], strlen(frames[i]), &seq), 0);
        assert_int_equal(seq, i + 1);
    }
    /* the window: a fifth is refused and nothing is queued */
    assert_int_equal(herald_publisher_submit(p, "{\"type\":\"e\"}", 12, NULL), HERALD_EFULL);
    assert_int_equal(herald_publisher_outstanding(p), 4);
    /* a body the server would close the connection for never goes out */
    assert_int_equal(herald_publisher_submit(p, "\xff", 1, NULL), HERALD_EINVAL);
    for (uint64_t i = 1; i <= 4; i++) {
        herald_publish_answer a;
        char err[256] = "";
        assert_int_equal(herald_publisher_next(p, WAIT_MS, &a, err, sizeof(err)), 0);
        assert_int_equal(a.seq, i);
        if (i == 2) {
            assert_int_equal(a.status, 400);
            assert_string_equal(a.errors, "event 0: bad event");
        } else {
            assert_int_equal(a.status, 0);
            assert_int_equal(a.count, 1);
            assert_int_equal(a.ids[0], i * 10);
        }
        herald_publish_answer_clear(&a);
    }
    herald_publish_answer a;
    assert_int_equal(herald_publisher_next(p, 0, &a, NULL, 0), HERALD_ESTATE);

    /* the blocking convenience: frame 5 published, frame 6 refused */
    herald_publish_result r;
    char err[256] = "";
    assert_int_equal(herald_publisher_publish(p, "{\"type\":\"f\"}", 12, WAIT_MS, &r, err,
                                              sizeof(err)),
                     0);
    assert_int_equal(r.count, 1);
    assert_int_equal(r.ids[0], 50);
    assert_string_equal(r.response, "{\"seq\":5,\"ids\":[\"50\"]}");
    herald_publish_result_clear(&r);
    assert_int_equal(herald_publisher_publish(p, "{\"type\":\"bad\"}", 14, WAIT_MS, &r, err,
                                              sizeof(err)),
                     HERALD_EHTTP);
    assert_string_equal(err, "event 0: bad event (HTTP 400)");
    assert_null(r.ids);
    herald_publisher_free(p);
    pthread_join(f.th, NULL);
    close(f.lfd);
    assert_string_equal(f.auth, "Bearer srv-token");
    assert_int_equal(f.frames, 6);
}

static void test_closed_unanswered(void **state)
{
    (void)state;
    fake f = {.close_after = 2};
    fake_start(&f);
    herald_publisher *p = connect_to(&f, 0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(herald_publisher_submit(p, "{\"type\":\"a\"}", 12, NULL), 0);
    herald_publish_answer a;
    char err[256] = "";
    assert_int_equal(herald_publisher_next(p, WAIT_MS, &a, err, sizeof(err)), 0);
    assert_int_equal(a.seq, 1);
    herald_publish_answer_clear(&a);
    assert_int_equal(herald_publisher_next(p, WAIT_MS, &a, err, sizeof(err)), HERALD_ECLOSED);
    assert_non_null(strstr(err, "1006"));
    assert_non_null(strstr(err, "2 frame(s) unanswered"));
    assert_int_equal(herald_publisher_submit(p, "{\"type\":\"a\"}", 12, NULL), HERALD_ECLOSED);
    herald_publisher_free(p);
    pthread_join(f.th, NULL);
    close(f.lfd);
}

/* On the caller's loop: answers go to on_answer (the window counts
 * unanswered frames), on_close follows the stop. */
typedef struct loop_state {
    herald_publisher *p;
    int ready, answers, closes, close_code;
    uint64_t seqs[8], ids[8];
    int statuses[8];
} loop_state;

static void loop_on_ready(void *user)
{
    loop_state *ls = user;
    ls->ready++;
}

static void loop_on_answer(const herald_publish_answer *a, void *user)
{
    loop_state *ls = user;
    ls->seqs[ls->answers] = a->seq;
    ls->statuses[ls->answers] = a->status;
    ls->ids[ls->answers] = a->count ? a->ids[0] : 0;
    if (++ls->answers == 3)
        herald_publisher_stop(ls->p);
}

static void loop_on_close(int code, const char *reason, uint64_t unanswered, void *user)
{
    (void)reason;
    loop_state *ls = user;
    ls->closes++;
    ls->close_code = code;
    assert_int_equal(unanswered, 0);
}

static void test_caller_loop(void **state)
{
    (void)state;
    fake f = {0};
    fake_start(&f);
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    loop_state ls = {0};
    char url[64], err[256] = "";
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", f.port);
    herald_publisher_options o = {.server = url, .window = 2, .on_ready = loop_on_ready,
                                  .on_answer = loop_on_answer, .on_close = loop_on_close,
                                  .user = &ls};
    herald_publisher *p = ls.p = herald_publisher_new(&o, err, sizeof(err));
    assert_non_null(p);
    assert_int_equal(herald_publisher_start(p, &loop), 0);
    /* queued before authentication; the window counts unanswered frames */
    assert_int_equal(herald_publisher_submit(p, "{\"type\":\"a\"}", 12, NULL), 0);
    assert_int_equal(herald_publisher_submit(p, "{\"type\":\"bad\"}", 14, NULL), 0);
    assert_int_equal(herald_publisher_submit(p, "{\"type\":\"c\"}", 12, NULL), HERALD_EFULL);
    herald_publish_answer a;
    assert_int_equal(herald_publisher_next(p, 0, &a, NULL, 0), HERALD_ESTATE);
    while (ls.answers < 2 && uv_run(&loop, UV_RUN_ONCE))
        ;
    assert_int_equal(herald_publisher_submit(p, "{\"type\":\"c\"}", 12, NULL), 0);
    uv_run(&loop, UV_RUN_DEFAULT); /* until the stop after the third answer */
    assert_int_equal(ls.ready, 1);
    assert_int_equal(ls.answers, 3);
    for (int i = 0; i < 3; i++)
        assert_int_equal(ls.seqs[i], (uint64_t)i + 1);
    assert_int_equal(ls.statuses[1], 400);
    assert_int_equal(ls.ids[0], 10);
    assert_int_equal(ls.ids[2], 30);
    assert_int_equal(ls.closes, 1);
    assert_int_equal(ls.close_code, 1000);
    herald_publisher_free(p);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
    pthread_join(f.th, NULL);
    close(f.lfd);
    assert_string_equal(f.auth, "Bearer development");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decode_ids),       cmocka_unit_test(test_decode_refusals),
        cmocka_unit_test(test_decode_replayed),
        cmocka_unit_test(test_decode_not_answers), cmocka_unit_test(test_body_check),
        cmocka_unit_test(test_new_refuses),      cmocka_unit_test(test_pipeline),
        cmocka_unit_test(test_closed_unanswered), cmocka_unit_test(test_caller_loop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
