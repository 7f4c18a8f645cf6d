/* SPDX-License-Identifier: MIT */
/* test_nodes_json.c — GET /v1/nodes's answer (api/nodes.c,
 * hv_api_nodes_json): alive, silent, left and taken-over nodes from what
 * Redis records, ownership from the lease holders and webhook rows, the
 * truncated flag, SQLite's single node owning everything, and a node name
 * that is not UTF-8. */
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "api/nodes.h"

static json_t *parse(char *text)
{
    json_t *j = json_loads(text, 0, NULL);
    free(text);
    assert_non_null(j);
    return j;
}

static json_t *node(json_t *root, size_t i)
{
    return json_array_get(json_object_get(root, "nodes"), i);
}

static const char *str(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static void redis_nodes(void **state)
{
    (void)state;
    const int64_t now = 1796650000000; /* 2026-12-07T13:26:40Z */
    hv_node_info ns[] = {
        {.node = "A", .beat_ms = now - 250, .sessions = 2, .webhook_rows = 0},
        {.node = "B", .beat_ms = now - 5000, .sessions = 1, .webhook_rows = 3}, /* silent */
        {.node = "C", .beat_ms = 0},                                             /* left */
        {.node = "D", .beat_ms = -1, .reaped_ms = now - 100, .sessions = 4},     /* taken over */
    };
    hv_node_lease ls[] = {{.name = "retention", .holder = "A"}, {.name = "sink:s1", .holder = ""}};
    hv_nodes_view v = {.now_ms = now, .timeout_ms = 3000, .nodes = ns, .n = 4, .leases = ls,
                       .nleases = 2, .truncated = 1};
    json_t *root = parse(hv_api_nodes_json("redis", "A", &v, 0));
    assert_string_equal(str(root, "store"), "redis");
    assert_string_equal(str(root, "self"), "A");
    assert_true(json_is_true(json_object_get(root, "truncated")));
    assert_int_equal(json_integer_value(json_object_get(root, "node_timeout_ms")), 3000);
    assert_string_equal(str(json_object_get(root, "leases"), "retention"), "A");
    assert_true(json_is_null(json_object_get(json_object_get(root, "leases"), "sink:s1")));

    json_t *a = node(root, 0);
    assert_string_equal(str(a, "id"), "A");
    assert_true(json_is_true(json_object_get(a, "alive")));
    assert_string_equal(str(a, "state"), "alive");
    assert_string_equal(str(a, "last_beat"), "2026-12-07T13:26:39.750Z");
    assert_int_equal(json_integer_value(json_object_get(a, "age_ms")), 250);
    assert_int_equal(json_integer_value(json_object_get(a, "sessions")), 2);
    json_t *owns = json_object_get(a, "owns");
    assert_int_equal(json_array_size(owns), 1);
    assert_string_equal(json_string_value(json_array_get(owns, 0)), "retention");

    json_t *b = node(root, 1);
    assert_true(json_is_false(json_object_get(b, "alive")));
    assert_string_equal(str(b, "state"), "silent");
    assert_int_equal(json_integer_value(json_object_get(b, "webhook_rows")), 3);
    assert_string_equal(json_string_value(json_array_get(json_object_get(b, "owns"), 0)), "webhooks");

    json_t *c = node(root, 2);
    assert_string_equal(str(c, "state"), "left");
    assert_true(json_is_null(json_object_get(c, "last_beat")));
    assert_true(json_is_null(json_object_get(c, "age_ms")));

    json_t *d = node(root, 3);
    assert_true(json_is_false(json_object_get(d, "alive")));
    assert_string_equal(str(d, "state"), "taken_over");
    assert_string_equal(str(d, "taken_over_at"), "2026-12-07T13:26:39.900Z");
    assert_int_equal(json_array_size(json_object_get(d, "owns")), 0);
    json_decref(root);
}

static void sqlite_alone(void **state)
{
    (void)state;
    hv_node_info self = {.node = "host:5002", .sessions = 1};
    hv_node_lease ls[] = {{.name = "retention"}, {.name = "sink:s1"}};
    hv_nodes_view v = {.now_ms = 1, .nodes = &self, .n = 1, .leases = ls, .nleases = 2};
    json_t *root = parse(hv_api_nodes_json("sqlite", "host:5002", &v, 1));
    assert_string_equal(str(root, "store"), "sqlite");
    assert_true(json_is_false(json_object_get(root, "truncated")));
    assert_true(json_is_null(json_object_get(root, "node_timeout_ms")));
    assert_int_equal(json_array_size(json_object_get(root, "nodes")), 1);
    json_t *n = node(root, 0);
    assert_string_equal(str(n, "id"), "host:5002");
    assert_true(json_is_true(json_object_get(n, "alive")));
    assert_true(json_is_null(json_object_get(n, "last_beat")));
    assert_int_equal(json_integer_value(json_object_get(n, "sessions")), 1);
    json_t *owns = json_object_get(n, "owns");
    assert_int_equal(json_array_size(owns), 3);
    assert_string_equal(json_string_value(json_array_get(owns, 0)), "webhooks");
    assert_string_equal(json_string_value(json_array_get(owns, 1)), "retention");
    assert_string_equal(json_string_value(json_array_get(owns, 2)), "sink:s1");
    assert_string_equal(str(json_object_get(root, "leases"), "sink:s1"), "host:5002");
    json_decref(root);
}

/* A node name that is not UTF-8 (another node's --node-id) is shown as
 * such; the answer stays valid JSON. */
static void name_not_utf8(void **state)
{
    (void)state;
    hv_node_info ns[] = {{.node = "bad\xff", .beat_ms = 5}};
    hv_node_lease ls[] = {{.name = "retention", .holder = "bad\xff"}};
    hv_nodes_view v = {.now_ms = 10, .timeout_ms = 3000, .nodes = ns, .n = 1, .leases = ls, .nleases = 1};
    json_t *root = parse(hv_api_nodes_json("redis", "ok", &v, 0));
    assert_string_equal(str(node(root, 0), "id"), "(not UTF-8)");
    assert_string_equal(str(json_object_get(root, "leases"), "retention"), "(not UTF-8)");
    json_decref(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(redis_nodes),
        cmocka_unit_test(sqlite_alone),
        cmocka_unit_test(name_not_utf8),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
