/* SPDX-License-Identifier: MIT */
/* test_client_rooms.c — unit tests of the client library's room API:
 * herald_peer_parse and herald_room_parse_id (pure parsing of the
 * createPeer / refresh_token / createRoom answers), argument checks that
 * fail before any request, and — against a one-shot fake HTTP server on
 * a loopback socket — the request each call sends (method, escaped path,
 * body, token) and how it maps the answer (data member, status, errors).
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
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "herald/client.h"

static const char CREATE_PEER[] =
    "{\"peer\":{\"id\":\"p-1\",\"type\":\"webrtc\",\"status\":\"disconnected\","
    "\"metadata\":{\"a\":1},\"tracks\":[],\"subscribeMode\":\"auto\","
    "\"subscriptions\":{\"peers\":[],\"tracks\":[]}},\"token\":\"tok_1\","
    "\"peer_websocket_url\":\"localhost:5002/socket/peer/websocket\"}";

static void test_peer_parse(void **state)
{
    (void)state;
    char *id = NULL, *tok = NULL;
    assert_int_equal(herald_peer_parse(CREATE_PEER, &id, &tok), 0);
    assert_string_equal(id, "p-1");
    assert_string_equal(tok, "tok_1");
    free(id);
    free(tok);

    /* the whole body, wrapped in "data" */
    char body[sizeof(CREATE_PEER) + 16];
    snprintf(body, sizeof(body), "{\"data\":%s}", CREATE_PEER);
    assert_int_equal(herald_peer_parse(body, &id, NULL), 0);
    assert_string_equal(id, "p-1");
    free(id);
    assert_int_equal(herald_peer_parse(body, NULL, &tok), 0);
    assert_string_equal(tok, "tok_1");
    free(tok);

    /* a refresh_token answer has a token but no peer */
    assert_int_equal(herald_peer_parse("{\"token\":\"t2\"}", NULL, &tok), 0);
    assert_string_equal(tok, "t2");
    free(tok);
    tok = (char *)1;
    id = (char *)1;
    assert_int_equal(herald_peer_parse("{\"token\":\"t2\"}", &id, &tok), HERALD_EPROTO);
    assert_null(id);
    assert_null(tok);
    assert_int_equal(herald_peer_parse("{\"data\":{\"token\":\"t2\"}}", NULL, NULL), 0);
}

static void test_peer_parse_bad(void **state)
{
    (void)state;
    char *id = (char *)1, *tok = (char *)1;
    assert_int_equal(herald_peer_parse(NULL, &id, &tok), HERALD_EINVAL);
    assert_null(id);
    assert_null(tok);
    assert_int_equal(herald_peer_parse("not json", &id, &tok), HERALD_EINVAL);
    assert_int_equal(herald_peer_parse("[1,2]", &id, &tok), HERALD_EINVAL);
    assert_int_equal(herald_peer_parse("{}", &id, NULL), HERALD_EPROTO);
    assert_int_equal(herald_peer_parse("{\"peer\":{\"id\":7},\"token\":\"t\"}", &id, &tok),
                     HERALD_EPROTO);
    assert_int_equal(herald_peer_parse("{\"peer\":{\"id\":\"\"},\"token\":\"t\"}", &id, &tok),
                     HERALD_EPROTO);
    assert_int_equal(herald_peer_parse("{\"peer\":{\"id\":\"p\"},\"token\":null}", &id, &tok),
                     HERALD_EPROTO);
    assert_null(id);
    assert_null(tok);
}

static void test_room_parse_id(void **state)
{
    (void)state;
    char *id = NULL;
    const char *inputs[] = {
        "{\"room\":{\"id\":\"r1\",\"config\":{},\"peers\":[]},\"fishjam_address\":\"h:1\"}",
        "{\"id\":\"r1\",\"config\":{},\"peers\":[],\"components\":[]}",
        "{\"data\":{\"room\":{\"id\":\"r1\"},\"fishjam_address\":\"h:1\"}}",
        "{\"data\":{\"id\":\"r1\"}}",
    };
    for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
        assert_int_equal(herald_room_parse_id(inputs[i], &id), 0);
        assert_string_equal(id, "r1");
        free(id);
    }
    assert_int_equal(herald_room_parse_id("{\"data\":[]}", &id), HERALD_EPROTO);
    assert_null(id);
    assert_int_equal(herald_room_parse_id("{\"room\":{}}", &id), HERALD_EPROTO);
    assert_int_equal(herald_room_parse_id("", &id), HERALD_EINVAL);
}

static void test_argument_checks(void **state)
{
    (void)state;
    char err[256] = "";
    char *out = (char *)1;
    int status = -1;
    /* nothing listens on port 1: these must fail before connecting */
    const char *srv = "http://127.0.0.1:1";
    assert_int_equal(herald_room_create(srv, NULL, "{bad", &out, &status, err, sizeof(err)),
                     HERALD_EINVAL);
    assert_null(out);
    assert_int_equal(status, 0);
    assert_non_null(strstr(err, "not valid JSON"));
    assert_int_equal(herald_room_create(srv, NULL, "[]", &out, &status, err, sizeof(err)),
                     HERALD_EINVAL);
    assert_int_equal(herald_room_get(srv, NULL, NULL, &out, &status, err, sizeof(err)),
                     HERALD_EINVAL);
    assert_int_equal(herald_room_delete(srv, NULL, "", &status, err, sizeof(err)), HERALD_EINVAL);
    assert_int_equal(herald_peer_add(srv, NULL, "r1", "\"webrtc\"", &out, &status, err,
                                     sizeof(err)),
                     HERALD_EINVAL);
    assert_int_equal(herald_peer_delete(srv, NULL, "r1", NULL, &status, err, sizeof(err)),
                     HERALD_EINVAL);
    assert_int_equal(herald_peer_refresh_token(srv, NULL, NULL, "p1", &out, &status, err,
                                               sizeof(err)),
                     HERALD_EINVAL);
    assert_null(out);
    /* and a network failure has no status */
    assert_int_equal(herald_room_list(srv, NULL, &out, &status, err, sizeof(err)), HERALD_ENET);
    assert_int_equal(status, 0);
    assert_null(out);
}

static void test_peer_client_options(void **state)
{
    (void)state;
    char err[256] = "";
    herald_peer_client_options o = {0};
    assert_null(herald_peer_client_new(&o, err, sizeof(err)));
    assert_non_null(strstr(err, "token"));
    o.token = "a\r\nX-Evil: 1";
    assert_null(herald_peer_client_new(&o, err, sizeof(err)));
    o.token = "tok";
    o.server = "https://example.com";
    assert_null(herald_peer_client_new(&o, err, sizeof(err)));
    o.server = "http://127.0.0.1:1";
    o.auth = HERALD_PEER_AUTH_QUERY;
    herald_peer_client *pc = herald_peer_client_new(&o, err, sizeof(err));
    assert_non_null(pc);
    assert_int_equal(herald_peer_client_wait_ready(pc, 0), HERALD_ESTATE);
    assert_int_equal(herald_peer_client_update_metadata(pc, "{nope"), HERALD_EINVAL);
    assert_int_equal(herald_peer_client_update_metadata(pc, "{\"x\":1}"), 0); /* queued */
    herald_peer_client_free(pc); /* never started: frees the queue too */
}

/* ---- a one-shot fake HTTP server ---- */

typedef struct fake {
    int fd;
    uint16_t port;
    const char *response;  /* the whole HTTP answer */
    char request[8192];    /* what came: head and body */
    pthread_t thread;
} fake;

static void *fake_main(void *arg)
{
    fake *f = arg;
    int c = accept(f->fd, NULL, NULL);
    size_t len = 0;
    if (c < 0)
        return NULL;
    for (;;) { /* head, then Content-Length bytes of body */
        ssize_t n = read(c, f->request + len, sizeof(f->request) - 1 - len);
        if (n <= 0)
            break;
        len += (size_t)n;
        f->request[len] = '\0';
        char *end = strstr(f->request, "\r\n\r\n");
        if (!end)
            continue;
        const char *cl = strcasestr(f->request, "\r\ncontent-length:");
        size_t want = cl && cl < end ? (size_t)strtoul(cl + 17, NULL, 10) : 0;
        if (len >= (size_t)(end + 4 - f->request) + want)
            break;
    }
    ssize_t w = write(c, f->response, strlen(f->response));
    (void)w;
    close(c);
    return NULL;
}

static void fake_start(fake *f, const char *response)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof(a);
    memset(f, 0, sizeof(*f));
    f->response = response;
    f->fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(f->fd >= 0);
    assert_int_equal(bind(f->fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(f->fd, 1), 0);
    assert_int_equal(getsockname(f->fd, (struct sockaddr *)&a, &alen), 0);
    f->port = ntohs(a.sin_port);
    assert_int_equal(pthread_create(&f->thread, NULL, fake_main, f), 0);
}

static void fake_join(fake *f)
{
    pthread_join(f->thread, NULL);
    close(f->fd);
}

/* A whole HTTP answer with a JSON body (one at a time: a static buffer). */
static const char *answer(const char *status, const char *body)
{
    static char buf[4096];
    snprintf(buf, sizeof(buf),
             "HTTP/1.1 %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
             "Connection: close\r\n\r\n%s",
             status, strlen(body), body);
    return buf;
}

static void test_requests(void **state)
{
    (void)state;
    char url[64], err[256];
    char *out = NULL;
    int status = 0;
    fake f;

    const char *created = "{\"data\":{\"peer\":{\"id\":\"p1\"},\"token\":\"T\"}}";
    fake_start(&f, answer("201 Created", created));
    snprintf(url, sizeof(url), "http://127.0.0.1:%u", (unsigned)f.port);
    assert_int_equal(herald_peer_add(url, "srv tok", "r/1 é", "{\"type\":\"agent\"}", &out,
                                     &status, err, sizeof(err)),
                     0);
    fake_join(&f);
    assert_int_equal(status, 201);
    assert_string_equal(out, "{\"peer\":{\"id\":\"p1\"},\"token\":\"T\"}");
    free(out);
    assert_non_null(strstr(f.request, "POST /room/r%2F1%20%C3%A9/peer HTTP/1.1\r\n"));
    assert_non_null(strstr(f.request, "\r\nAuthorization: Bearer srv tok\r\n"));
    assert_non_null(strstr(f.request, "\r\n\r\n{\"type\":\"agent\"}"));

    const char *missing = "{\"errors\":\"Peer p 1 does not exist\"}";
    fake_start(&f, answer("404 Not Found", missing));
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/", (unsigned)f.port);
    assert_int_equal(herald_peer_delete(url, NULL, "r1", "p 1", &status, err, sizeof(err)),
                     HERALD_EHTTP);
    fake_join(&f);
    assert_int_equal(status, 404);
    assert_string_equal(err, "Peer p 1 does not exist (HTTP 404)");
    assert_non_null(strstr(f.request, "DELETE /room/r1/peer/p%201 HTTP/1.1\r\n"));
    assert_non_null(strstr(f.request, "\r\nAuthorization: Bearer development\r\n"));

    fake_start(&f, "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n");
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/api", (unsigned)f.port);
    assert_int_equal(herald_room_delete(url, NULL, "r1", &status, err, sizeof(err)), 0);
    fake_join(&f);
    assert_int_equal(status, 204);
    assert_non_null(strstr(f.request, "DELETE /api/room/r1 HTTP/1.1\r\n"));

    const char *tok = "{\"data\":{\"token\":\"new\"}}";
    fake_start(&f, answer("201 Created", tok));
    snprintf(url, sizeof(url), "http://127.0.0.1:%u", (unsigned)f.port);
    assert_int_equal(herald_peer_refresh_token(url, NULL, "r1", "p1", &out, NULL, err,
                                               sizeof(err)),
                     0);
    fake_join(&f);
    assert_string_equal(out, "{\"token\":\"new\"}");
    free(out);
    assert_non_null(strstr(f.request, "POST /room/r1/peer/p1/refresh_token HTTP/1.1\r\n"));
    assert_non_null(strstr(f.request, "\r\nContent-Length: 0\r\n"));

    const char *nodata = "{\"rooms\":[]}";
    fake_start(&f, answer("200 OK", nodata));
    snprintf(url, sizeof(url), "http://127.0.0.1:%u", (unsigned)f.port);
    out = (char *)1;
    assert_int_equal(herald_room_list(url, NULL, &out, &status, err, sizeof(err)),
                     HERALD_EPROTO);
    fake_join(&f);
    assert_null(out);
    assert_int_equal(status, 200);
    assert_non_null(strstr(f.request, "GET /room HTTP/1.1\r\n"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_peer_parse),      cmocka_unit_test(test_peer_parse_bad),
        cmocka_unit_test(test_room_parse_id),   cmocka_unit_test(test_argument_checks),
        cmocka_unit_test(test_peer_client_options), cmocka_unit_test(test_requests),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
