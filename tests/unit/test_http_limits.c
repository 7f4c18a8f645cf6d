/* SPDX-License-Identifier: MIT */
/* test_http_limits.c — the small parsers of the HTTP layer: path
 * normalisation, query parameters, gzip bodies under a cap, UTF-8
 * validation of text frames, shared WebSocket frame headers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "codec/ws_frame.h"
#include "net/http.h"
#include "net/http_body.h"
#include "net/ws.h"

static void check_path(const char *in, const char *want)
{
    char out[256];
    hv_http_normalize_path(in, strlen(in), out);
    assert_string_equal(out, want);
}

static void paths_are_normalised(void **state)
{
    (void)state;
    check_path("//room", "/room");
    check_path("//socket/server/websocket", "/socket/server/websocket");
    check_path("/api//room///r1/", "/api/room/r1");
    check_path("/", "/");
    check_path("", "/");
    check_path("///", "/");
}

static void query_parameters(void **state)
{
    (void)state;
    hv_http_req r = {.query = "since=42&room_id=a%20b&type=chat%2Emessage&flag&user_id=u+1&x="};
    char v[32];
    assert_int_equal(hv_http_query(&r, "since", v, sizeof(v)), 1);
    assert_string_equal(v, "42");
    assert_int_equal(hv_http_query(&r, "room_id", v, sizeof(v)), 1);
    assert_string_equal(v, "a b");
    assert_int_equal(hv_http_query(&r, "type", v, sizeof(v)), 1);
    assert_string_equal(v, "chat.message");
    assert_int_equal(hv_http_query(&r, "user_id", v, sizeof(v)), 1);
    assert_string_equal(v, "u 1");
    assert_int_equal(hv_http_query(&r, "flag", v, sizeof(v)), 1);
    assert_string_equal(v, "");
    assert_int_equal(hv_http_query(&r, "x", v, sizeof(v)), 1);
    assert_int_equal(hv_http_query(&r, "missing", v, sizeof(v)), 0);
    assert_int_equal(hv_http_query(&r, "sinc", v, sizeof(v)), 0); /* no prefix match */
    char tiny[2] = "?";
    assert_int_equal(hv_http_query(&r, "room_id", tiny, sizeof(tiny)), -1);
    assert_string_equal(tiny, ""); /* terminated, not a truncated value */
    char none[1] = {'?'};
    assert_int_equal(hv_http_query(&r, "flag", none, 0), -1); /* no room even for "" */
    assert_int_equal(none[0], '?');
}

static size_t gzip_bytes(const char *in, size_t len, unsigned char *out, size_t cap)
{
    z_stream zs = {0};
    deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
    zs.next_in = (Bytef *)in;
    zs.avail_in = (uInt)len;
    zs.next_out = out;
    zs.avail_out = (uInt)cap;
    deflate(&zs, Z_FINISH);
    size_t n = cap - zs.avail_out;
    deflateEnd(&zs);
    return n;
}

static void gzip_bodies(void **state)
{
    (void)state;
    unsigned char gz[4096];
    const char *text = "{\"type\":\"room.created\"}";
    size_t n = gzip_bytes(text, strlen(text), gz, sizeof(gz));
    char *out;
    size_t out_len;
    assert_int_equal(hv_gunzip((char *)gz, n, 1024, &out, &out_len), 0);
    assert_int_equal(out_len, strlen(text));
    assert_string_equal(out, text);
    free(out);
    /* exactly at the cap is fine, one byte less is 413 */
    assert_int_equal(hv_gunzip((char *)gz, n, strlen(text), &out, &out_len), 0);
    free(out);
    assert_int_equal(hv_gunzip((char *)gz, n, strlen(text) - 1, &out, &out_len), 413);
    /* a bomb: 1 MiB of zeros under a 64 KiB cap */
    char *zeros = calloc(1, 1 << 20);
    n = gzip_bytes(zeros, 1 << 20, gz, sizeof(gz));
    free(zeros);
    assert_int_equal(hv_gunzip((char *)gz, n, 65536, &out, &out_len), 413);
    /* garbage and truncation */
    assert_int_equal(hv_gunzip("not gzip", 8, 1024, &out, &out_len), 400);
    n = gzip_bytes(text, strlen(text), gz, sizeof(gz));
    assert_int_equal(hv_gunzip((char *)gz, n - 4, 1024, &out, &out_len), 400);
}

static void utf8(void **state)
{
    (void)state;
    assert_true(hv_utf8_valid((const uint8_t *)"plain", 5));
    assert_true(hv_utf8_valid((const uint8_t *)"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9));
    assert_false(hv_utf8_valid((const uint8_t *)"\xc0\xaf", 2));         /* overlong */
    assert_false(hv_utf8_valid((const uint8_t *)"\xed\xa0\x80", 3));     /* surrogate */
    assert_false(hv_utf8_valid((const uint8_t *)"\xe2\x82", 2));         /* truncated */
    assert_false(hv_utf8_valid((const uint8_t *)"\xf4\x90\x80\x80", 4)); /* > U+10FFFF */
    assert_false(hv_utf8_valid((const uint8_t *)"\xff", 1));
}

static void frame_headers(void **state)
{
    (void)state;
    hv_frame f = hv_ws_frame_new(HV_WS_TEXT, "hello", 5);
    assert_int_equal(f.hdr, 2);
    assert_memory_equal(f.buf->data, "\x81\x05hello", 7);
    hv_sbuf_unref(f.buf);

    char big[70000];
    memset(big, 'x', sizeof(big));
    f = hv_ws_frame_new(HV_WS_BINARY, big, 126);
    assert_int_equal(f.hdr, 4);
    assert_memory_equal(f.buf->data, "\x82\x7e\x00\x7e", 4);
    assert_int_equal(hv_frame_payload_len(&f), 126);
    hv_sbuf_unref(f.buf);
    f = hv_ws_frame_new(HV_WS_BINARY, big, sizeof(big));
    assert_int_equal(f.hdr, 10);
    assert_memory_equal(f.buf->data, "\x82\x7f\x00\x00\x00\x00\x00\x01\x11\x70", 10);
    hv_sbuf_unref(f.buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(paths_are_normalised), cmocka_unit_test(query_parameters),
        cmocka_unit_test(gzip_bodies), cmocka_unit_test(utf8), cmocka_unit_test(frame_headers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
