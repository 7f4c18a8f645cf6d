/* SPDX-License-Identifier: MIT */
/* test_endpoints.c — webhook endpoint bodies, filters and records. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "deliver/endpoint_json.h"

static hv_endpoint *from(const char *body, int creating, char *err)
{
    json_t *j = json_loads(body, 0, NULL);
    hv_endpoint *ep = hv_endpoint_alloc();
    int rc = hv_endpoint_apply(ep, j, creating, err, 256);
    json_decref(j);
    if (rc != 0) {
        hv_endpoint_unref(ep);
        return NULL;
    }
    return ep;
}

static void expect_error(const char *body, const char *msg)
{
    char err[256];
    hv_endpoint *ep = from(body, 1, err);
    assert_null(ep);
    assert_string_equal(err, msg);
}

static void bodies(void **state)
{
    (void)state;
    char err[256];
    hv_endpoint *ep = from("{\"url\":\"https://example.com/hook\",\"event_types\":[\"peer.*\",\"room.created\"],"
                           "\"room_ids\":[\"r1\"],\"format\":\"jellyfish-json\",\"description\":\"d\"}", 1, err);
    assert_non_null(ep);
    assert_string_equal(ep->url, "https://example.com/hook");
    assert_int_equal(ep->format, HV_WH_JELLYFISH_JSON);
    assert_int_equal(ep->ntypes, 2);
    assert_int_equal(ep->nrooms, 1);
    hv_endpoint_unref(ep);

    expect_error("{}", "url is required");
    expect_error("{\"url\":\"ftp://x\"}", "url must be an http:// or https:// URL");
    expect_error("{\"url\":\"http://\"}", "url must be an http:// or https:// URL");
    expect_error("{\"url\":\"http://x/a b\"}", "url must be an http:// or https:// URL");
    expect_error("{\"url\":\"http://x\",\"format\":\"xml\"}", "format must be \"json\", \"protobuf\" or \"jellyfish-json\"");
    expect_error("{\"url\":\"http://x\",\"event_types\":\"peer.*\"}", "event_types must be an array of at most 100 strings");
    expect_error("{\"url\":\"http://x\",\"event_types\":[\"Peer Added\"]}", "event_types[0] is not valid");
    expect_error("{\"url\":\"http://x\",\"room_ids\":[1]}", "room_ids[0] is not valid");
    expect_error("{\"url\":\"http://x\",\"secret\":\"nope\"}", "secret must be \"whsec_\" + base64 of 24 to 64 bytes");
    expect_error("{\"url\":\"http://x\",\"secret\":\"whsec_c2hvcnQ=\"}", "secret must be \"whsec_\" + base64 of 24 to 64 bytes");
    expect_error("{\"url\":\"http://x\",\"roomIds\":[]}", "unknown field \"roomIds\"");

    /* An update may leave out url; a bad field leaves ep untouched. */
    ep = from("{\"url\":\"http://a/\"}", 1, err);
    json_t *upd = json_loads("{\"format\":\"protobuf\",\"event_types\":[\"x\"],\"url\":\"bad\"}", 0, NULL);
    assert_int_equal(hv_endpoint_apply(ep, upd, 0, err, sizeof(err)), -1);
    assert_int_equal(ep->format, HV_WH_JSON);
    assert_int_equal(ep->ntypes, 0);
    json_decref(upd);
    hv_endpoint_unref(ep);
}

static hv_event *ev(const char *type, const char *room)
{
    return hv_event_new(type, room, NULL, NULL, 0);
}

static void filters(void **state)
{
    (void)state;
    char err[256];
    hv_endpoint *ep = from("{\"url\":\"http://x\",\"event_types\":[\"peer.*\",\"room.created\"],\"room_ids\":[\"r1\",\"r2\"]}", 1, err);
    hv_event *a = ev("peer.added", "r1"), *b = ev("peer.added", "r3"), *c = ev("room.deleted", "r1"),
             *d = ev("peer.added", NULL), *e = ev("room.created", "r2");
    assert_true(hv_endpoint_wants(ep, a));
    assert_false(hv_endpoint_wants(ep, b)); /* other room */
    assert_false(hv_endpoint_wants(ep, c)); /* type not wanted */
    assert_false(hv_endpoint_wants(ep, d)); /* no room, room filter set */
    assert_true(hv_endpoint_wants(ep, e));
    hv_endpoint_unref(ep);
    ep = from("{\"url\":\"http://x\",\"format\":\"protobuf\"}", 1, err);
    hv_event *chat = ev("chat.message", "r1");
    assert_true(hv_endpoint_wants(ep, a));
    assert_false(hv_endpoint_wants(ep, chat)); /* no protobuf form */
    ep->retired = 1;
    assert_false(hv_endpoint_wants(ep, a));
    hv_endpoint_unref(ep);
    hv_event *all[] = {a, b, c, d, e, chat};
    for (size_t i = 0; i < 6; i++)
        hv_event_unref(all[i]);
}

static void records(void **state)
{
    (void)state;
    char err[256];
    hv_endpoint *ep = from("{\"url\":\"http://x/h\",\"event_types\":[\"a.*\"],\"room_ids\":[\"r\"],\"format\":\"protobuf\","
                           "\"secret\":\"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\",\"description\":\"hi\"}", 1, err);
    if (!ep) {
        fail_msg("the endpoint was refused: %s", err);
        return;
    }
    strcpy(ep->id, "ep_1");
    ep->enabled = 0;
    ep->disabled_reason = strdup("410 Gone");
    ep->created_ms = 1234;
    char *rec = hv_endpoint_record(ep);
    hv_endpoint *back = hv_endpoint_from_record(rec);
    assert_non_null(back);
    char *rec2 = hv_endpoint_record(back);
    assert_string_equal(rec, rec2);
    json_t *view = hv_endpoint_view(back, 0);
    assert_null(json_object_get(view, "secret")); /* never shown but on create/rotate */
    assert_string_equal(json_string_value(json_object_get(view, "format")), "protobuf");
    json_decref(view);
    free(rec);
    free(rec2);
    hv_endpoint_unref(ep);
    hv_endpoint_unref(back);
    assert_null(hv_endpoint_from_record("{\"id\":\"x\"}"));
    assert_null(hv_endpoint_from_record("garbage"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(bodies), cmocka_unit_test(filters), cmocka_unit_test(records)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
