/* SPDX-License-Identifier: MIT */
/* test_peer_body.c — createPeer bodies (rooms/model.c): the peer types,
 * a vapi peer's required options, and its type surviving the stored
 * record (a restart). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "rooms/model.h"

/* Parses body into a fresh peer: 0 or -1, err filled on -1. */
static int parse(const char *body, hv_peer **out, char *err, size_t errlen)
{
    hv_peer *p = hv_peer_alloc("room");
    int rc = hv_peer_from_body(p, body, strlen(body), err, errlen);
    if (rc == 0 && out)
        *out = p;
    else
        hv_peer_release(p);
    return rc;
}

static void vapi_is_type_3(void **state)
{
    (void)state;
    char err[256];
    hv_peer *p = NULL;
    assert_int_equal(parse("{\"type\":\"vapi\",\"options\":{\"apiKey\":\"k\",\"callId\":\"c\","
                           "\"subscribeMode\":\"manual\"}}", &p, err, sizeof(err)), 0);
    assert_int_equal(p->type, 3);
    assert_string_equal(hv_peer_type_name(p->type), "vapi");
    assert_string_equal(p->subscribe_mode, "manual");
    json_t *j = hv_peer_json(p);
    assert_string_equal(json_string_value(json_object_get(j, "type")), "vapi");
    assert_null(json_object_get(j, "apiKey")); /* the key is not kept */
    json_decref(j);
    strcpy(p->id, "p1");
    memset(p->token_hash, 'a', 64);
    char *rec = hv_peer_record(p);
    assert_null(strstr(rec, "\"k\"")); /* nor stored */
    hv_peer *back = hv_peer_from_record("p1", rec);
    assert_non_null(back);
    assert_int_equal(back->type, 3); /* still vapi after a restart */
    hv_peer_release(back);
    free(rec);
    hv_peer_release(p);
}

static void vapi_needs_its_options(void **state)
{
    (void)state;
    char err[256];
    assert_int_equal(parse("{\"type\":\"vapi\"}", NULL, err, sizeof(err)), -1);
    assert_string_equal(err, "Missing apiKey in vapi peer options");
    assert_int_equal(parse("{\"type\":\"vapi\",\"options\":{\"apiKey\":\"k\"}}", NULL, err, sizeof(err)), -1);
    assert_string_equal(err, "Missing callId in vapi peer options");
    assert_int_equal(parse("{\"type\":\"vapi\",\"options\":{\"apiKey\":7,\"callId\":\"c\"}}", NULL, err,
                           sizeof(err)), -1);
    assert_string_equal(err, "Expected apiKey to be a non-empty string, got: 7");
    assert_int_equal(parse("{\"type\":\"vapi\",\"options\":{\"apiKey\":\"k\",\"callId\":\"\"}}", NULL, err,
                           sizeof(err)), -1);
    assert_string_equal(err, "Expected callId to be a non-empty string, got: \"\"");
    assert_int_equal(parse("{\"type\":\"vapi\",\"options\":{\"apiKey\":\"k\",\"callId\":\"c\","
                           "\"subscribeMode\":\"sometimes\"}}", NULL, err, sizeof(err)), -1);
    assert_string_equal(err, "Expected subscribeMode to be 'auto' or 'manual'");
}

static void other_types_unchanged(void **state)
{
    (void)state;
    char err[256];
    hv_peer *p = NULL;
    assert_int_equal(parse("{\"type\":\"agent\"}", &p, err, sizeof(err)), 0);
    assert_int_equal(p->type, 2);
    hv_peer_release(p);
    assert_int_equal(parse("{\"type\":\"webrtc\",\"options\":{\"apiKey\":5}}", &p, err, sizeof(err)), 0);
    assert_int_equal(p->type, 1); /* apiKey means nothing to a webrtc peer */
    hv_peer_release(p);
    assert_int_equal(parse("{\"type\":\"VAPI\"}", NULL, err, sizeof(err)), -1);
    assert_string_equal(err, "Invalid peer type");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(vapi_is_type_3),
        cmocka_unit_test(vapi_needs_its_options),
        cmocka_unit_test(other_types_unchanged),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
