/* SPDX-License-Identifier: MIT */
/* test_webhook_controls.c — the pure parts of an endpoint's delivery
 * controls (issue 18 items 4 and 3): its retry schedules
 * (deliver/webhook_schedules.c: the two JSON forms, every bound, the
 * first matching glob, the record round trip, and the endpoint body's
 * fields through endpoint_json.c) and the circuit breaker's state machine
 * (deliver/webhook_breaker.c) driven by an explicit clock.
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
#include "deliver/webhook_breaker.h"
#include "deliver/webhook_schedules.h"

static int parse(const char *json, hv_wh_sched *s, char *err)
{
    json_t *v = json_loads(json, JSON_DECODE_ANY, NULL);
    int rc = hv_wh_sched_parse_json(v, "retry_schedule", s, err, 256);
    json_decref(v);
    return rc;
}

static void test_sched_forms(void **state)
{
    (void)state;
    hv_wh_sched s;
    char err[256];
    assert_int_equal(parse("[5, 300, 0.25]", &s, err), 0);
    assert_int_equal(s.n, 3);
    assert_int_equal(s.ms[0], 5000);
    assert_int_equal(s.ms[1], 300000);
    assert_int_equal(s.ms[2], 250);
    assert_int_equal(parse("\"5, 300,1800\"", &s, err), 0);
    assert_int_equal(s.n, 3);
    assert_int_equal(s.ms[2], 1800000);
    assert_int_equal(parse("[]", &s, err), 0);
    assert_int_equal(s.n, 0);
    assert_int_equal(parse("[86400]", &s, err), 0);
    assert_int_equal(parse("[0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19]", &s, err), 0);
    assert_int_equal(s.n, HV_WH_EP_MAX_STEPS);
}

static void test_sched_bounds(void **state)
{
    (void)state;
    hv_wh_sched s;
    char err[256];
    static const char *const bad[] = {"[-1]", "[86400.5]", "[1,\"2\"]", "[null]", "{}", "5", "true", "\"5,\"",
                                      "\"-1\"", "\"1e3\"", "\"0x10\"", "\"86401\"",
                                      "[0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20]", NULL};
    for (int i = 0; bad[i]; i++) {
        err[0] = 0;
        assert_int_equal(parse(bad[i], &s, err), -1);
        assert_non_null(strstr(err, "retry_schedule"));
    }
    assert_int_equal(parse("[1,-1]", &s, err), -1);
    assert_string_equal(err, "retry_schedule[1] must be a number of seconds from 0 to 86400");
}

static hv_wh_schedules *from_body(const char *json, const hv_wh_schedules *cur, int *rc, char *err)
{
    json_t *b = json_loads(json, 0, NULL);
    hv_wh_schedules *s = NULL;
    int changed;
    *rc = hv_wh_schedules_from_body(b, cur, &s, &changed, err, 256);
    json_decref(b);
    return s;
}

static void test_pick(void **state)
{
    (void)state;
    int rc;
    char err[256];
    hv_wh_schedules *s =
        from_body("{\"retry_schedule\":[9],\"retry_schedules\":{\"pay.*\":[1],\"*\":[2,2],\"pay.late\":[3]}}", NULL,
                  &rc, err);
    assert_int_equal(rc, 0);
    assert_int_equal(hv_wh_schedules_pick(s, "pay.made")->ms[0], 1000);
    assert_int_equal(hv_wh_schedules_pick(s, "pay.late")->ms[0], 1000); /* the first match wins */
    assert_int_equal(hv_wh_schedules_pick(s, "peer.connected")->n, 2);
    assert_int_equal(hv_wh_schedules_pick(s, NULL)->ms[0], 9000);       /* no type: retry_schedule */
    /* a PATCH of retry_schedule keeps the globs; null clears each */
    hv_wh_schedules *t = from_body("{\"retry_schedules\":null}", s, &rc, err);
    assert_int_equal(hv_wh_schedules_pick(t, "pay.made")->ms[0], 9000);
    hv_wh_schedules *u = from_body("{\"retry_schedule\":null}", t, &rc, err);
    assert_null(u); /* neither: the server's */
    assert_null(hv_wh_schedules_pick(NULL, "x"));
    hv_wh_schedules *v = from_body("{\"retry_schedules\":{\"a.*\":[1]}}", NULL, &rc, err);
    assert_null(hv_wh_schedules_pick(v, "b.x")); /* no glob matches, no default: the server's */
    /* bad globs and too many of them */
    assert_null(from_body("{\"retry_schedules\":{\"A\":[1]}}", NULL, &rc, err));
    assert_int_equal(rc, -1);
    assert_non_null(strstr(err, "retry_schedules: \"A\""));
    assert_null(from_body("{\"retry_schedules\":[]}", NULL, &rc, err));
    assert_int_equal(rc, -1);
    char big[1024] = "{\"retry_schedules\":{";
    for (int i = 0; i <= HV_WH_EP_MAX_RULES; i++)
        snprintf(big + strlen(big), sizeof(big) - strlen(big), "%s\"t%d\":[1]", i ? "," : "", i);
    strcat(big, "}}");
    assert_null(from_body(big, NULL, &rc, err));
    assert_int_equal(rc, -1);
    assert_null(from_body("{\"retry_schedules\":{\"p.*\":[1,\"x\"]}}", NULL, &rc, err));
    assert_string_equal(err, "retry_schedules[\"p.*\"][1] must be a number of seconds from 0 to 86400");
    free(s);
    free(t);
    free(v);
}

static void test_endpoint_round_trip(void **state)
{
    (void)state;
    json_t *b = json_loads("{\"url\":\"http://h/x\",\"retry_schedule\":\"0.5,2\",\"retry_schedules\":{\"z.*\":[],"
                           "\"a.*\":[1.5]},\"breaker_threshold\":4}",
                           0, NULL);
    hv_endpoint *ep = hv_endpoint_alloc();
    char err[256];
    assert_int_equal(hv_endpoint_apply(ep, b, 1, err, sizeof(err)), 0);
    strcpy(ep->id, "ep_t");
    ep->secret = strdup("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
    char *rec = hv_endpoint_record(ep);
    hv_endpoint *back = hv_endpoint_from_record(rec);
    json_t *v = hv_endpoint_view(back, 0);
    json_t *picked = json_pack("{s:O,s:O,s:O}", "a", json_object_get(v, "retry_schedule"), "b",
                               json_object_get(v, "retry_schedules"), "c", json_object_get(v, "breaker_threshold"));
    char *text = json_dumps(picked, JSON_COMPACT);
    json_decref(picked);
    /* the globs keep their order: it is the order they are tried in */
    assert_string_equal(text, "{\"a\":[0.5,2],\"b\":{\"z.*\":[],\"a.*\":[1.5]},\"c\":4}");
    free(text);
    json_decref(v);
    /* an older record (none of these keys): the server's schedule and threshold */
    hv_endpoint *old = hv_endpoint_from_record("{\"id\":\"ep_o\",\"url\":\"http://h\",\"secret\":\"whsec_x\"}");
    assert_null(old->retry);
    assert_int_equal(old->breaker_threshold, -1);
    hv_endpoint *c = hv_endpoint_clone(back);
    assert_int_equal(hv_wh_schedules_pick(c->retry, "a.b")->ms[0], 1500);
    assert_int_equal(c->breaker_threshold, 4);
    json_t *bad = json_loads("{\"breaker_threshold\":10001}", 0, NULL);
    assert_int_equal(hv_endpoint_apply(c, bad, 0, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "breaker_threshold"));
    assert_int_equal(c->breaker_threshold, 4); /* a refused body changes nothing */
    json_decref(bad);
    hv_endpoint_unref(c);
    hv_endpoint_unref(old);
    hv_endpoint_unref(back);
    hv_endpoint_unref(ep);
    free(rec);
    json_decref(b);
}

static void test_breaker(void **state)
{
    (void)state;
    hv_breaker_cfg c = {.threshold = 3, .probe_min_ms = 30000, .probe_max_ms = 100000};
    hv_breaker b;
    hv_breaker_reset(&b);
    int64_t t = 1000000;
    assert_int_equal(hv_breaker_result(&b, &c, 0, t), HV_BRK_SAME);
    assert_int_equal(hv_breaker_result(&b, &c, 1, t), HV_BRK_SAME); /* a success ends the streak */
    assert_int_equal(b.failures, 0);
    assert_int_equal(hv_breaker_result(&b, &c, 0, t), HV_BRK_SAME);
    assert_int_equal(hv_breaker_result(&b, &c, 0, t), HV_BRK_SAME);
    assert_int_equal(hv_breaker_may_send(&b, t, 5), 1);
    assert_int_equal(hv_breaker_result(&b, &c, 0, t), HV_BRK_OPENED);
    assert_int_equal(b.state, HV_BRK_OPEN);
    assert_int_equal(b.next_probe_ms, t + 30000);
    /* a request from before it opened fails: still open, same probe time */
    assert_int_equal(hv_breaker_result(&b, &c, 0, t + 10), HV_BRK_SAME);
    assert_int_equal(b.next_probe_ms, t + 30000);
    assert_int_equal(hv_breaker_may_send(&b, t + 29999, 0), 0);
    assert_int_equal(hv_breaker_may_send(&b, t + 30000, 1), 0); /* one still in flight: no probe yet */
    assert_int_equal(hv_breaker_may_send(&b, t + 30000, 0), 2);
    assert_int_equal(b.state, HV_BRK_HALF_OPEN);
    assert_int_equal(hv_breaker_may_send(&b, t + 30000, 1), 0); /* a single probe */
    /* failing probes: 60 s, then capped at 100 s */
    assert_int_equal(hv_breaker_result(&b, &c, 0, t + 31000), HV_BRK_REOPENED);
    assert_int_equal(b.next_probe_ms, t + 31000 + 60000);
    assert_int_equal(hv_breaker_may_send(&b, t + 91000, 0), 2);
    assert_int_equal(hv_breaker_result(&b, &c, 0, t + 92000), HV_BRK_REOPENED);
    assert_int_equal(b.interval_ms, 100000);
    assert_int_equal(hv_breaker_may_send(&b, t + 192000, 0), 2);
    assert_int_equal(hv_breaker_result(&b, &c, 0, t + 193000), HV_BRK_REOPENED);
    assert_int_equal(b.interval_ms, 100000);
    assert_int_equal(b.failures, 7);
    assert_string_equal(hv_breaker_state_name(b.state), "open");
    /* the probe succeeds: closed, streak over */
    assert_int_equal(hv_breaker_may_send(&b, t + 293000, 0), 2);
    assert_string_equal(hv_breaker_state_name(b.state), "half_open");
    assert_int_equal(hv_breaker_result(&b, &c, 1, t + 293500), HV_BRK_CLOSED_AGAIN);
    assert_int_equal(b.state, HV_BRK_CLOSED);
    assert_int_equal(b.failures, 0);
    assert_int_equal(hv_breaker_may_send(&b, t + 293500, 7), 1);
    /* threshold 0: never opens */
    hv_breaker_cfg off = {.threshold = 0, .probe_min_ms = 1, .probe_max_ms = 1};
    for (int i = 0; i < 1000; i++)
        assert_int_equal(hv_breaker_result(&b, &off, 0, t), HV_BRK_SAME);
    assert_int_equal(b.state, HV_BRK_CLOSED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sched_forms),   cmocka_unit_test(test_sched_bounds),
        cmocka_unit_test(test_pick),          cmocka_unit_test(test_endpoint_round_trip),
        cmocka_unit_test(test_breaker),
    };
    return cmocka_run_group_tests(tests, 0, 0);
}
