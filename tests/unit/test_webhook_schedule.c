/* SPDX-License-Identifier: MIT */
/* test_webhook_schedule.c — the pure retry rules of webhook delivery
 * (deliver/webhook_policy.c).
 *
 * The retry schedule parser (decimals, spaces, the default schedule, bad
 * entries), what an answer means (2xx, 410, the rest), the jitter band
 * and the Retry-After clamp, the Jellyfish JSON body (UTF-8 text as it
 * is, other bytes as code points), and the cleaning of response excerpts.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "deliver/webhook_policy.h"
#include "fishjam.pb-c.h"

static void test_schedule(void **state)
{
    (void)state;
    int64_t s[HV_WH_MAX_RETRIES];
    assert_int_equal(hv_wh_schedule_parse("5,300,1800,7200,18000,36000,36000", s, HV_WH_MAX_RETRIES), 7);
    assert_int_equal(s[0], 5000);
    assert_int_equal(s[1], 300000);
    assert_int_equal(s[6], 36000000);
    assert_int_equal(hv_wh_schedule_parse("0.2,0.5", s, HV_WH_MAX_RETRIES), 2);
    assert_int_equal(s[0], 200);
    assert_int_equal(s[1], 500);
    assert_int_equal(hv_wh_schedule_parse(" 0 , 1.25 ,.5", s, HV_WH_MAX_RETRIES), 3);
    assert_int_equal(s[0], 0);
    assert_int_equal(s[1], 1250);
    assert_int_equal(s[2], 500);
    assert_int_equal(hv_wh_schedule_parse("", s, HV_WH_MAX_RETRIES), 0);
    assert_int_equal(hv_wh_schedule_parse("  ", s, HV_WH_MAX_RETRIES), 0);
    assert_int_equal(hv_wh_schedule_parse(NULL, s, HV_WH_MAX_RETRIES), 0);
    assert_int_equal(hv_wh_schedule_parse("0.0005", s, HV_WH_MAX_RETRIES), 1);
    assert_int_equal(s[0], 1); /* rounded to the ms */
}

static void test_schedule_bad(void **state)
{
    (void)state;
    int64_t s[4];
    const char *bad[] = {"5,", ",5", "5,,6", "-1", "abc", "5s", "1e3", "0x10", "nan", "inf",
                         "99999999999", "5;6", "1 2"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(hv_wh_schedule_parse(bad[i], s, 4), -1);
    assert_int_equal(hv_wh_schedule_parse("1,2,3,4", s, 4), 4);
    assert_int_equal(hv_wh_schedule_parse("1,2,3,4,5", s, 4), -1); /* too many */
}

static void test_classify(void **state)
{
    (void)state;
    assert_int_equal(hv_wh_classify(1, 200), HV_WH_OK);
    assert_int_equal(hv_wh_classify(1, 204), HV_WH_OK);
    assert_int_equal(hv_wh_classify(1, 299), HV_WH_OK);
    assert_int_equal(hv_wh_classify(1, 410), HV_WH_GONE);
    assert_int_equal(hv_wh_classify(1, 300), HV_WH_RETRY);
    assert_int_equal(hv_wh_classify(1, 301), HV_WH_RETRY); /* no redirects */
    assert_int_equal(hv_wh_classify(1, 404), HV_WH_RETRY);
    assert_int_equal(hv_wh_classify(1, 429), HV_WH_RETRY);
    assert_int_equal(hv_wh_classify(1, 500), HV_WH_RETRY);
    assert_int_equal(hv_wh_classify(1, 199), HV_WH_RETRY);
    assert_int_equal(hv_wh_classify(0, 0), HV_WH_RETRY);   /* connect error, timeout */
    assert_int_equal(hv_wh_classify(0, 200), HV_WH_RETRY); /* cut off mid-answer */
    assert_int_equal(hv_wh_classify(0, 410), HV_WH_RETRY);
}

static void test_jitter(void **state)
{
    (void)state;
    assert_int_equal(hv_wh_retry_delay(1000, -1, 0.5), 1000);
    assert_int_equal(hv_wh_retry_delay(1000, -1, 0.0), 800);
    assert_int_equal(hv_wh_retry_delay(1000, -1, 1.0), 1200);
    assert_int_equal(hv_wh_retry_delay(1000, -1, 0.25), 900);
    assert_int_equal(hv_wh_retry_delay(0, -1, 0.9), 0);
    /* every r stays within ±20 % */
    for (int i = 0; i < 1000; i++) {
        int64_t d = hv_wh_retry_delay(300000, -1, (double)i / 1000.0);
        assert_true(d >= 240000 && d <= 360000);
    }
    /* out-of-range r is clamped */
    assert_int_equal(hv_wh_retry_delay(1000, -1, -3), 800);
    assert_int_equal(hv_wh_retry_delay(1000, -1, 7), 1200);
}

static void test_retry_after(void **state)
{
    (void)state;
    /* honoured between 1x and 2x the scheduled delay, no jitter */
    assert_int_equal(hv_wh_retry_delay(5000, 7000, 0.0), 7000);
    assert_int_equal(hv_wh_retry_delay(5000, 7000, 1.0), 7000);
    assert_int_equal(hv_wh_retry_delay(5000, 1000, 0.5), 5000);
    assert_int_equal(hv_wh_retry_delay(5000, 0, 0.5), 5000);
    assert_int_equal(hv_wh_retry_delay(5000, 3600000, 0.5), 10000);
    assert_int_equal(hv_wh_retry_delay(5000, 10000, 0.5), 10000);
    assert_int_equal(hv_wh_retry_delay(5000, 5000, 0.5), 5000);
    assert_int_equal(hv_wh_retry_delay(0, 60000, 0.5), 0);
}

static void test_jellyfish_body(void **state)
{
    (void)state;
    const uint8_t pb[] = {0x0a, 0x03, 'a', 0x00, 0xc3, 0xff, 0x80, '"'};
    size_t len = 0;
    char *body = hv_wh_jellyfish_body(pb, sizeof(pb), &len);
    assert_non_null(body);
    assert_int_equal(len, strlen(body));
    json_error_t jerr;
    json_t *j = json_loads(body, JSON_ALLOW_NUL, &jerr);
    assert_non_null(j);
    json_t *s = json_object_get(j, "notification");
    assert_true(json_is_string(s));
    /* decode UTF-8 back to code points: each must equal the original byte */
    const unsigned char *u = (const unsigned char *)json_string_value(s);
    size_t ulen = json_string_length(s), k = 0;
    for (size_t i = 0; i < ulen; k++) {
        unsigned cp;
        if (u[i] < 0x80) {
            cp = u[i++];
        } else {
            assert_int_equal(u[i] & 0xE0, 0xC0);
            cp = ((u[i] & 0x1Fu) << 6) | (u[i + 1] & 0x3Fu);
            i += 2;
        }
        assert_true(k < sizeof(pb));
        assert_int_equal(cp, pb[k]);
    }
    assert_int_equal(k, sizeof(pb));
    assert_int_equal(json_object_size(j), 1);
    json_decref(j);
    free(body);

    /* Valid UTF-8 goes in as it is (Jellyfish's receivers read the
     * string's UTF-8 bytes). */
    const uint8_t utf8[] = {0x12, 0x04, 'z', 'o', 0xc3, 0xab};
    body = hv_wh_jellyfish_body(utf8, sizeof(utf8), &len);
    j = json_loads(body, 0, NULL);
    s = json_object_get(j, "notification");
    assert_int_equal(json_string_length(s), sizeof(utf8));
    assert_memory_equal(json_string_value(s), utf8, sizeof(utf8));
    json_decref(j);
    free(body);

    body = hv_wh_jellyfish_body(pb, 0, &len);
    assert_string_equal(body, "{\"notification\":\"\"}");
    free(body);
}

static void test_excerpt(void **state)
{
    (void)state;
    char a[] = "ok fine";
    assert_int_equal(hv_wh_excerpt_clean(a, 7), 7);
    assert_string_equal(a, "ok fine");
    char b[] = "caf\xc3\xa9\xc3"; /* "café" + half of another é, cut by the cap */
    assert_int_equal(hv_wh_excerpt_clean(b, 6), 5);
    assert_string_equal(b, "caf\xc3\xa9");
    char c[] = "x\xff\xfey"; /* not UTF-8 at all */
    assert_int_equal(hv_wh_excerpt_clean(c, 4), 4);
    assert_string_equal(c, "x??y");
    char d[] = {'a', 0, 'b', 0};
    assert_int_equal(hv_wh_excerpt_clean(d, 3), 3);
    assert_string_equal(d, "a?b");
    char e[] = "\xe2\x82"; /* a lone cut 3-byte character */
    assert_int_equal(hv_wh_excerpt_clean(e, 2), 0);
    assert_string_equal(e, "");
}

/* A batch body decodes (with the generated protobuf-c code, not ours) as
 * ServerMessage{notification_batch} of the given messages, in order. */
static void test_batch_body(void **state)
{
    (void)state;
    Fishjam__ServerMessage__RoomCreated rc[3];
    Fishjam__ServerMessage m[3];
    uint8_t buf[3][300];
    const uint8_t *pb[3];
    size_t len[3];
    char ids[3][200];
    for (int i = 0; i < 3; i++) {
        fishjam__server_message__room_created__init(&rc[i]);
        memset(ids[i], 'a' + i, sizeof(ids[i]) - 1); /* 199 bytes: two-byte lengths */
        ids[i][sizeof(ids[i]) - 1] = 0;
        rc[i].room_id = ids[i];
        fishjam__server_message__init(&m[i]);
        m[i].content_case = FISHJAM__SERVER_MESSAGE__CONTENT_ROOM_CREATED;
        m[i].room_created = &rc[i];
        len[i] = fishjam__server_message__pack(&m[i], buf[i]);
        pb[i] = buf[i];
    }
    size_t n;
    uint8_t *body = hv_wh_batch_body(pb, len, 3, &n);
    Fishjam__ServerMessage *got = fishjam__server_message__unpack(NULL, n, body);
    assert_non_null(got);
    assert_int_equal(got->content_case, FISHJAM__SERVER_MESSAGE__CONTENT_NOTIFICATION_BATCH);
    assert_int_equal(got->notification_batch->n_notifications, 3);
    for (int i = 0; i < 3; i++) {
        Fishjam__ServerMessage *x = got->notification_batch->notifications[i];
        assert_int_equal(x->content_case, FISHJAM__SERVER_MESSAGE__CONTENT_ROOM_CREATED);
        assert_string_equal(x->room_created->room_id, ids[i]);
    }
    fishjam__server_message__free_unpacked(got, NULL);
    free(body);
    body = hv_wh_batch_body(pb, len, 1, &n); /* a batch of one is still a batch */
    got = fishjam__server_message__unpack(NULL, n, body);
    assert_non_null(got);
    assert_int_equal(got->content_case, FISHJAM__SERVER_MESSAGE__CONTENT_NOTIFICATION_BATCH);
    assert_int_equal(got->notification_batch->n_notifications, 1);
    fishjam__server_message__free_unpacked(got, NULL);
    free(body);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_schedule),
        cmocka_unit_test(test_schedule_bad),
        cmocka_unit_test(test_classify),
        cmocka_unit_test(test_jitter),
        cmocka_unit_test(test_retry_after),
        cmocka_unit_test(test_jellyfish_body),
        cmocka_unit_test(test_excerpt),
        cmocka_unit_test(test_batch_body),
    };
    return cmocka_run_group_tests(tests, 0, 0);
}
