/* SPDX-License-Identifier: MIT */
/* test_common.c — common/, the code the server and the client library
 * share: hv_parse_u64 (digits only, no sign, no blanks, no overflow), the
 * Sec-WebSocket-Accept value (RFC 6455's own example) and the header
 * token-list test, the wslay recv copy, and the Standard Webhooks key
 * decoding and MAC (the published vector; each side's key bound).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "hv_parse.h"
#include "hv_webhook_mac.h"
#include "hv_ws_shared.h"

static void parse_u64_numbers(void **state)
{
    (void)state;
    uint64_t v = 7;
    assert_int_equal(hv_parse_u64("0", &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(hv_parse_u64("0042", &v), 0);
    assert_int_equal(v, 42);
    assert_int_equal(hv_parse_u64("18446744073709551615", &v), 0);
    assert_true(v == UINT64_MAX);
}

static void parse_u64_refuses(void **state)
{
    (void)state;
    const char *bad[] = {
        "", "+5", " 5", "5 ", "-5", " -5", /* strtoull took " -5" as 2^64-5 */
        "1a", "0x10", "1e3", "18446744073709551616", "99999999999999999999",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        uint64_t v = 7;
        assert_int_equal(hv_parse_u64(bad[i], &v), -1);
        assert_int_equal(v, 7); /* untouched */
    }
    uint64_t v = 7;
    assert_int_equal(hv_parse_u64(NULL, &v), -1);
}

static void ws_accept_rfc_example(void **state)
{
    (void)state;
    char out[HV_WS_ACCEPT_LEN + 1];
    assert_int_equal(hv_ws_accept_value("dGhlIHNhbXBsZSBub25jZQ==", out), 0);
    assert_string_equal(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="); /* RFC 6455 1.3 */
    char key[HV_WS_MAX_KEY + 2];
    memset(key, 'A', sizeof(key) - 1);
    key[sizeof(key) - 1] = '\0';
    assert_int_equal(hv_ws_accept_value(key, out), -1);
    assert_string_equal(out, "");
}

static void header_tokens(void **state)
{
    (void)state;
    assert_true(hv_ws_header_has_token("Upgrade", "upgrade"));
    assert_true(hv_ws_header_has_token("keep-alive, Upgrade", "upgrade"));
    assert_true(hv_ws_header_has_token(" \tupgrade\t ,x", "upgrade"));
    assert_false(hv_ws_header_has_token("upgraded, keep-alive", "upgrade"));
    assert_false(hv_ws_header_has_token("up grade", "upgrade"));
    assert_false(hv_ws_header_has_token("", "upgrade"));
    assert_false(hv_ws_header_has_token(NULL, "upgrade"));
}

typedef struct input {
    const uint8_t *in;
    size_t len;
} input;

static ssize_t take_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags,
                       void *user)
{
    (void)flags;
    input *i = user;
    return hv_ws_wslay_take(ctx, &i->in, &i->len, buf, len);
}

static void wslay_take_pieces(void **state)
{
    (void)state;
    const uint8_t data[5] = {1, 2, 3, 4, 5};
    input i = {data, sizeof(data)};
    uint8_t buf[3];
    assert_int_equal(take_cb(NULL, buf, sizeof(buf), 0, &i), 3);
    assert_memory_equal(buf, data, 3);
    assert_int_equal(take_cb(NULL, buf, sizeof(buf), 0, &i), 2);
    assert_memory_equal(buf, data + 3, 2);
    assert_int_equal(i.len, 0);
    assert_ptr_equal(i.in, data + 5);
    /* As wslay's recv callback: wslay_event_recv takes the two bytes (the
     * start of a masked text frame's header) and stops without an error,
     * waiting for more. */
    struct wslay_event_callbacks cb = {.recv_callback = take_cb};
    wslay_event_context_ptr ctx;
    assert_int_equal(wslay_event_context_server_init(&ctx, &cb, &i), 0);
    const uint8_t head[2] = {0x81, 0x85};
    i = (input){head, sizeof(head)};
    assert_int_equal(wslay_event_recv(ctx), 0);
    assert_int_equal(i.len, 0);
    assert_true(wslay_event_want_read(ctx));
    wslay_event_context_free(ctx);
}

static void webhook_vector(void **state)
{
    (void)state;
    uint8_t key[128];
    int n = hv_webhook_key_decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", key, sizeof(key));
    assert_int_equal(n, 24);
    char mac[HV_WEBHOOK_MAC_B64 + 1];
    const char body[] = "{\"test\": 2432232314}";
    assert_int_equal(hv_webhook_mac(key, (size_t)n, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330,
                                    body, strlen(body), mac), 0);
    assert_string_equal(mac, "g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
}

static void webhook_key_bounds(void **state)
{
    (void)state;
    static uint8_t key[HV_WEBHOOK_MAX_KEY];
    char b64[(HV_WEBHOOK_MAX_KEY + 2) / 3 * 4 + 8];
    /* 129 bytes (172 characters) pass the client's bound, not the server's */
    memset(b64, 'A', 172);
    b64[172] = '\0';
    assert_int_equal(hv_webhook_key_decode(b64, key, HV_WEBHOOK_MAX_KEY), 129);
    assert_int_equal(hv_webhook_key_decode(b64, key, 128), -1);
    memset(b64, 'A', 170); /* 170 characters: 127 bytes, padding restored */
    b64[170] = '\0';
    assert_int_equal(hv_webhook_key_decode(b64, key, 128), 127);
    assert_int_equal(hv_webhook_key_decode(b64, key, HV_WEBHOOK_MAX_KEY + 1), -1);
    const char *bad[] = {"", " QUJD", "QUJD ", "QU JD", "QUJD\n", "QU=D", "Q", "!!!!"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(hv_webhook_key_decode(bad[i], key, 128), -1);
    assert_int_equal(hv_webhook_key_decode(NULL, key, 128), -1);
    assert_int_equal(hv_webhook_key_decode("QUJD", key, 128), 3);
    assert_memory_equal(key, "ABC", 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parse_u64_numbers),   cmocka_unit_test(parse_u64_refuses),
        cmocka_unit_test(ws_accept_rfc_example), cmocka_unit_test(header_tokens),
        cmocka_unit_test(wslay_take_pieces),   cmocka_unit_test(webhook_vector),
        cmocka_unit_test(webhook_key_bounds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
