/* SPDX-License-Identifier: MIT */
/* test_webhook_jsonbatch.c — the pure parts of batched JSON delivery
 * (issue 18 item 6): the "batch" setting's validation (bounds, defaults,
 * null, unknown members, format json only), its view and its stored
 * record (a bad or foreign record reads as off), and the gzip of a batch
 * body (inflates back to the same bytes). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <zlib.h>

#include "deliver/endpoint_jsonbatch.h"
#include "deliver/webhook_internal.h"

static int parse(const hv_endpoint *ep, const char *body, int format, hv_endpoint_jsonbatch *b, char *err)
{
    json_t *j = json_loads(body, 0, NULL);
    assert_non_null(j);
    int rc = hv_endpoint_jsonbatch_parse(ep, j, format, b, err, 200);
    json_decref(j);
    return rc;
}

static void test_parse(void **state)
{
    (void)state;
    hv_endpoint ep = {0};
    hv_endpoint_jsonbatch b;
    char err[200];
    assert_int_equal(parse(&ep, "{}", HV_WH_JSON, &b, err), 0);
    assert_false(b.changed);
    assert_int_equal(parse(&ep, "{\"batch\":{}}", HV_WH_JSON, &b, err), 0);
    assert_true(b.changed);
    assert_int_equal(b.max_events, 100);
    assert_int_equal(b.max_wait_ms, 1000);
    assert_int_equal(b.gzip, 0);
    assert_int_equal(parse(&ep, "{\"batch\":{\"max_events\":1000,\"max_wait_ms\":0,\"gzip\":true}}", HV_WH_JSON, &b,
                           err), 0);
    assert_int_equal(b.max_events, 1000);
    assert_int_equal(b.max_wait_ms, 0);
    assert_int_equal(b.gzip, 1);
    hv_endpoint_jsonbatch_set(&ep, &b);
    assert_int_equal(parse(&ep, "{\"batch\":null}", HV_WH_JSON, &b, err), 0);
    assert_true(b.changed);
    assert_int_equal(b.max_events, 0);
    /* format protobuf only without batching */
    assert_int_equal(parse(&ep, "{\"batch\":null}", HV_WH_PROTOBUF, &b, err), 0);
    assert_int_equal(parse(&ep, "{}", HV_WH_PROTOBUF, &b, err), -1);
    assert_non_null(strstr(err, "format \"json\""));
    static const struct { const char *body, *want; } bad[] = {
        {"{\"batch\":{\"max_events\":0}}", "batch.max_events"},
        {"{\"batch\":{\"max_events\":1001}}", "batch.max_events"},
        {"{\"batch\":{\"max_events\":2.5}}", "batch.max_events"},
        {"{\"batch\":{\"max_wait_ms\":-1}}", "batch.max_wait_ms"},
        {"{\"batch\":{\"max_wait_ms\":60001}}", "batch.max_wait_ms"},
        {"{\"batch\":{\"gzip\":1}}", "batch.gzip"},
        {"{\"batch\":{\"x\":1}}", "unknown field \"x\""},
        {"{\"batch\":true}", "batch must be null or an object"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = 0;
        assert_int_equal(parse(&ep, bad[i].body, HV_WH_JSON, &b, err), -1);
        assert_non_null(strstr(err, bad[i].want));
    }
}

static void test_record(void **state)
{
    (void)state;
    hv_endpoint ep = {.jb_max_events = 7, .jb_max_wait_ms = 250, .jb_gzip = 1};
    json_t *rec = json_object(), *view = json_object();
    hv_endpoint_jsonbatch_record(&ep, rec);
    hv_endpoint_jsonbatch_view(&ep, view);
    char *r = json_dumps(rec, JSON_COMPACT | JSON_SORT_KEYS), *v = json_dumps(view, JSON_COMPACT | JSON_SORT_KEYS);
    assert_string_equal(r, "{\"json_batch\":{\"gzip\":true,\"max_events\":7,\"max_wait_ms\":250}}");
    assert_string_equal(v, "{\"batch\":{\"gzip\":true,\"max_events\":7,\"max_wait_ms\":250}}");
    free(r);
    free(v);
    hv_endpoint back = {0};
    hv_endpoint_jsonbatch_from_record(&back, rec);
    assert_int_equal(back.jb_max_events, 7);
    assert_int_equal(back.jb_max_wait_ms, 250);
    assert_int_equal(back.jb_gzip, 1);
    /* out of bounds, or on a protobuf endpoint: off */
    json_object_set_new(json_object_get(rec, "json_batch"), "max_events", json_integer(5000));
    hv_endpoint_jsonbatch_from_record(&back, rec);
    assert_int_equal(back.jb_max_events, 0);
    json_object_set_new(json_object_get(rec, "json_batch"), "max_events", json_integer(5));
    hv_endpoint pb = {.format = HV_WH_PROTOBUF};
    hv_endpoint_jsonbatch_from_record(&pb, rec);
    assert_int_equal(pb.jb_max_events, 0);
    /* off: nothing recorded (older records read the same), null shown */
    hv_endpoint off = {0};
    json_t *rec2 = json_object(), *view2 = json_object();
    hv_endpoint_jsonbatch_record(&off, rec2);
    hv_endpoint_jsonbatch_view(&off, view2);
    assert_int_equal(json_object_size(rec2), 0);
    assert_true(json_is_null(json_object_get(view2, "batch")));
    json_decref(rec);
    json_decref(view);
    json_decref(rec2);
    json_decref(view2);
}

static void test_gzip(void **state)
{
    (void)state;
    char in[4000];
    for (size_t i = 0; i < sizeof(in); i++)
        in[i] = "[{\"id\":\"1\"},]"[i % 13];
    char *gz = NULL;
    size_t gzlen = 0;
    assert_int_equal(hv__webhook_jsonbatch_gzip(in, sizeof(in), &gz, &gzlen), 0);
    assert_true(gzlen < sizeof(in));
    assert_int_equal((unsigned char)gz[0], 0x1f); /* a gzip wrapper */
    assert_int_equal((unsigned char)gz[1], 0x8b);
    char out[sizeof(in) + 16];
    z_stream z;
    memset(&z, 0, sizeof(z));
    assert_int_equal(inflateInit2(&z, 15 + 16), Z_OK);
    z.next_in = (unsigned char *)gz;
    z.avail_in = (unsigned)gzlen;
    z.next_out = (unsigned char *)out;
    z.avail_out = sizeof(out);
    assert_int_equal(inflate(&z, Z_FINISH), Z_STREAM_END);
    assert_int_equal(sizeof(out) - z.avail_out, sizeof(in));
    assert_memory_equal(out, in, sizeof(in));
    inflateEnd(&z);
    free(gz);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_record),
        cmocka_unit_test(test_gzip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
