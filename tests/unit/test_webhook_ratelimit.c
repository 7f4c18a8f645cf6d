/* SPDX-License-Identifier: MIT */
/* test_webhook_ratelimit.c — the pure parts of an endpoint's rate limit
 * and its receiver's back-pressure (issue 18 item 2), with an explicit
 * clock: the GCRA (deliver/webhook_rate.c: burst, steady rate, the wait it
 * answers, the bound burst + rate * t over any window), the 429 pause and
 * its backoff, and "rate_limit" in endpoint bodies and records
 * (deliver/endpoint_ratelimit.c through endpoint_json.c).
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

#include "deliver/endpoint_json.h"
#include "deliver/webhook_rate.h"

static void test_gcra_burst_then_rate(void **state)
{
    (void)state;
    double tat = 0;
    int64_t now = 1000000;
    for (int i = 0; i < 5; i++) /* a burst of 5 at once */
        assert_int_equal(hv_wh_gcra_take(&tat, 5, 5, now), 0);
    int64_t wait = hv_wh_gcra_take(&tat, 5, 5, now); /* the 6th waits one interval (200 ms) */
    assert_int_equal(wait, 200);
    assert_int_equal(hv_wh_gcra_take(&tat, 5, 5, now + 199), 1);
    assert_int_equal(hv_wh_gcra_take(&tat, 5, 5, now + 200), 0);
    assert_int_equal(hv_wh_gcra_take(&tat, 5, 5, now + 200), 200);
    /* idle long enough: the whole burst again, never more */
    now += 10000;
    for (int i = 0; i < 5; i++)
        assert_int_equal(hv_wh_gcra_take(&tat, 5, 5, now), 0);
    assert_true(hv_wh_gcra_take(&tat, 5, 5, now) > 0);
}

/* Whatever the clock does, over any window of t ms at most
 * burst + rate * t / 1000 requests are taken. */
static void test_gcra_bound(void **state)
{
    (void)state;
    const double rate = 7.5;
    const int burst = 4;
    double tat = 0;
    int64_t taken[4000];
    size_t n = 0;
    int64_t now = 5000;
    uint64_t x = 88172645463325252ULL;
    while (now < 5000 + 60000 && n < 4000) {
        if (hv_wh_gcra_take(&tat, rate, burst, now) == 0)
            taken[n++] = now;
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        now += (int64_t)(x % 97); /* uneven steps, often several at one instant */
    }
    assert_true(n > 400); /* it did run at about the rate */
    for (size_t i = 0; i < n; i++)
        for (size_t j = i; j < n && j < i + 600; j++)
            assert_true((double)(j - i + 1) <= burst + rate * (double)(taken[j] - taken[i]) / 1000.0 + 1e-9);
}

static void test_gcra_slow_rate(void **state)
{
    (void)state;
    double tat = 0;
    assert_int_equal(hv_wh_gcra_take(&tat, 0.01, 1, 0), 0);
    assert_int_equal(hv_wh_gcra_take(&tat, 0.01, 1, 1), 99999); /* 100 s apart */
    assert_int_equal(hv_wh_rate_default_burst(0.01), 1);
    assert_int_equal(hv_wh_rate_default_burst(2.5), 3);
    assert_int_equal(hv_wh_rate_default_burst(100000), HV_WH_BURST_MAX);
}

static void test_backpressure(void **state)
{
    (void)state;
    assert_true(hv_wh_is_backpressure(1, 429, -1));
    assert_true(hv_wh_is_backpressure(1, 429, 5000));
    assert_true(hv_wh_is_backpressure(1, 503, 1000));
    assert_false(hv_wh_is_backpressure(1, 503, -1)); /* a plain 503 is a failure as before */
    assert_false(hv_wh_is_backpressure(1, 500, 1000));
    assert_false(hv_wh_is_backpressure(0, 429, -1));
    hv_wh_throttle t = {0};
    /* Retry-After honoured, clamped to an hour */
    assert_int_equal(hv_wh_throttle_answer(&t, 2000, 1000), 3000);
    assert_int_equal(hv_wh_throttle_answer(&t, 7200000, 1000), 1000 + HV_WH_THROTTLE_MAX_MS);
    t = (hv_wh_throttle){0};
    /* none: 1 s doubling to 60 s */
    int64_t want[] = {1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000};
    int64_t now = 0;
    for (int i = 0; i < 8; i++) {
        assert_int_equal(hv_wh_throttle_answer(&t, -1, now), now + want[i]);
        now = t.until_ms;
    }
    hv_wh_throttle_ok(&t); /* a success resets it */
    assert_int_equal(hv_wh_throttle_answer(&t, -1, now), now + 1000);
    /* a short Retry-After never shortens a pause already running */
    assert_int_equal(hv_wh_throttle_answer(&t, 10, now), now + 1000);
}

static hv_endpoint *made(const char *body, char *err)
{
    hv_endpoint *ep = hv_endpoint_alloc();
    ep->url = strdup("http://h/x");
    ep->secret = strdup("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
    json_t *b = json_loads(body, 0, NULL);
    int rc = hv_endpoint_apply(ep, b, 0, err, 256);
    json_decref(b);
    if (rc != 0) {
        hv_endpoint_unref(ep);
        return NULL;
    }
    return ep;
}

static void test_body_and_record(void **state)
{
    (void)state;
    char err[256];
    hv_endpoint *ep = made("{\"rate_limit\":{\"per_second\":12.5,\"burst\":40}}", err);
    assert_non_null(ep);
    assert_true(ep->rate_per_second == 12.5);
    assert_int_equal(ep->rate_burst, 40);
    char *rec = hv_endpoint_record(ep);
    hv_endpoint *back = hv_endpoint_from_record(rec);
    assert_true(back->rate_per_second == 12.5);
    assert_int_equal(back->rate_burst, 40);
    json_t *v = hv_endpoint_view(back, 0);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(v, "rate_limit"), "burst")), 40);
    json_decref(v);
    hv_endpoint *c = hv_endpoint_clone(back);
    assert_int_equal(c->rate_burst, 40);
    /* null removes it; a record without one reads as none */
    json_t *nul = json_loads("{\"rate_limit\":null}", 0, NULL);
    assert_int_equal(hv_endpoint_apply(c, nul, 0, err, sizeof(err)), 0);
    json_decref(nul);
    assert_true(c->rate_per_second == 0);
    v = hv_endpoint_view(c, 0);
    assert_true(json_is_null(json_object_get(v, "rate_limit")));
    json_decref(v);
    free(rec);
    rec = hv_endpoint_record(c);
    assert_null(strstr(rec, "rate_limit"));
    free(rec);
    hv_endpoint_unref(c);
    hv_endpoint_unref(back);
    hv_endpoint_unref(ep);
    ep = made("{\"rate_limit\":3}", err);
    assert_non_null(ep);
    assert_int_equal(ep->rate_burst, 3);
    hv_endpoint_unref(ep);
}

static void test_body_bounds(void **state)
{
    (void)state;
    static const char *const bad[][2] = {
        {"{\"rate_limit\":0}", "rate_limit must be"},
        {"{\"rate_limit\":100000.5}", "rate_limit must be"},
        {"{\"rate_limit\":\"5\"}", "rate_limit must be"},
        {"{\"rate_limit\":[5]}", "rate_limit must be"},
        {"{\"rate_limit\":{\"per_second\":0.009}}", "rate_limit.per_second"},
        {"{\"rate_limit\":{\"per_second\":true}}", "rate_limit.per_second"},
        {"{\"rate_limit\":{}}", "rate_limit.per_second"},
        {"{\"rate_limit\":{\"per_second\":1,\"burst\":0}}", "rate_limit.burst"},
        {"{\"rate_limit\":{\"per_second\":1,\"burst\":10001}}", "rate_limit.burst"},
        {"{\"rate_limit\":{\"per_second\":1,\"burst\":1.5}}", "rate_limit.burst"},
        {"{\"rate_limit\":{\"per_second\":1,\"every\":60}}", "rate_limit has an unknown field \"every\""},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char err[256] = "";
        assert_null(made(bad[i][0], err));
        if (!strstr(err, bad[i][1]))
            fail_msg("%s: %s", bad[i][0], err);
    }
    char err[256];
    hv_endpoint *ep = made("{\"rate_limit\":{\"per_second\":100000,\"burst\":10000}}", err);
    assert_non_null(ep);
    hv_endpoint_unref(ep);
    ep = made("{\"rate_limit\":{\"per_second\":0.01,\"burst\":1}}", err);
    assert_non_null(ep);
    hv_endpoint_unref(ep);
    /* a damaged record: no limit rather than a bad one */
    ep = hv_endpoint_from_record("{\"id\":\"ep_o\",\"url\":\"http://h\",\"secret\":\"whsec_x\","
                                 "\"rate_limit\":{\"per_second\":-4,\"burst\":2}}");
    assert_non_null(ep);
    assert_true(ep->rate_per_second == 0);
    hv_endpoint_unref(ep);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gcra_burst_then_rate), cmocka_unit_test(test_gcra_bound),
        cmocka_unit_test(test_gcra_slow_rate),       cmocka_unit_test(test_backpressure),
        cmocka_unit_test(test_body_and_record),      cmocka_unit_test(test_body_bounds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
