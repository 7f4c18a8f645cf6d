/* SPDX-License-Identifier: MIT */
/* test_event_filter.c — payload filters (issue 18 item 5): what compiles,
 * the message of what does not, and what matches which event (types,
 * missing paths, arrays, type/room_id/user_id). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deliver/event_filter.h"

static hv_event *ev_of(const char *type, const char *room, const char *data)
{
    return hv_event_new(type, room, NULL, data, strlen(data));
}

/* 1 / 0 as filter matches the event; fails the test when it does not compile. */
static int matches(const char *filter, const hv_event *ev)
{
    char err[300];
    hv_filter *f = hv_filter_compile_text(filter, strlen(filter), err, sizeof(err));
    if (!f && err[0])
        fail_msg("%s does not compile: %s", filter, err);
    hv_filter_subject s;
    hv_filter_subject_init(&s, ev);
    int r = hv_filter_match(f, &s);
    hv_filter_subject_done(&s);
    hv_filter_unref(f);
    return r;
}

static int m(const char *filter, const char *data)
{
    hv_event *ev = ev_of("invoice.paid", "r1", data);
    int r = matches(filter, ev);
    hv_event_unref(ev);
    return r;
}

static void expect_error(const char *filter, const char *msg)
{
    char err[300];
    hv_filter *f = hv_filter_compile_text(filter, strlen(filter), err, sizeof(err));
    assert_null(f);
    if (strcmp(err, msg) != 0)
        fail_msg("%s: got \"%s\", want \"%s\"", filter, err, msg);
}

static void equality(void **state)
{
    (void)state;
    assert_true(m("{\"data.plan\":\"pro\"}", "{\"plan\":\"pro\"}"));
    assert_false(m("{\"data.plan\":\"pro\"}", "{\"plan\":\"free\"}"));
    assert_false(m("{\"data.plan\":\"pro\"}", "{}"));
    assert_true(m("{\"data.plan\":{\"$eq\":\"pro\"}}", "{\"plan\":\"pro\"}"));
    /* numbers vs strings, integers vs reals, booleans vs numbers */
    assert_true(m("{\"data.n\":1}", "{\"n\":1}"));
    assert_true(m("{\"data.n\":1}", "{\"n\":1.0}"));
    assert_false(m("{\"data.n\":1}", "{\"n\":\"1\"}"));
    assert_false(m("{\"data.n\":\"1\"}", "{\"n\":1}"));
    assert_false(m("{\"data.n\":true}", "{\"n\":1}"));
    assert_true(m("{\"data.n\":true}", "{\"n\":true}"));
    assert_true(m("{\"data.n\":null}", "{\"n\":null}"));
    assert_false(m("{\"data.n\":null}", "{}"));
    assert_true(m("{\"data.n\":9007199254740993}", "{\"n\":9007199254740993}"));
    assert_false(m("{\"data.n\":9007199254740993}", "{\"n\":9007199254740992}"));
    /* nested paths, array indexes, an object is equal to no scalar */
    assert_true(m("{\"data.user.plan\":\"pro\"}", "{\"user\":{\"plan\":\"pro\"}}"));
    assert_false(m("{\"data.user\":\"pro\"}", "{\"user\":{\"plan\":\"pro\"}}"));
    assert_true(m("{\"data.items.1.sku\":\"b\"}", "{\"items\":[{\"sku\":\"a\"},{\"sku\":\"b\"}]}"));
    assert_false(m("{\"data.items.2.sku\":\"b\"}", "{\"items\":[{\"sku\":\"a\"},{\"sku\":\"b\"}]}"));
    assert_false(m("{\"data.plan.x\":\"pro\"}", "{\"plan\":\"pro\"}"));
    /* $ne: absent counts as not equal (MongoDB) */
    assert_true(m("{\"data.plan\":{\"$ne\":\"pro\"}}", "{\"plan\":\"free\"}"));
    assert_true(m("{\"data.plan\":{\"$ne\":\"pro\"}}", "{}"));
    assert_false(m("{\"data.plan\":{\"$neq\":\"pro\"}}", "{\"plan\":\"pro\"}"));
}

static void presence_prefix_numbers(void **state)
{
    (void)state;
    assert_true(m("{\"data.vip\":{\"$exists\":true}}", "{\"vip\":false}"));
    assert_true(m("{\"data.vip\":{\"$exists\":true}}", "{\"vip\":null}"));
    assert_false(m("{\"data.vip\":{\"$exists\":true}}", "{}"));
    assert_true(m("{\"data.vip\":{\"$exist\":false}}", "{}"));
    assert_false(m("{\"data.a.b\":{\"$exists\":true}}", "{\"a\":1}"));
    assert_true(m("{\"data.kind\":{\"$prefix\":\"invoice.\"}}", "{\"kind\":\"invoice.paid\"}"));
    assert_false(m("{\"data.kind\":{\"$prefix\":\"invoice.\"}}", "{\"kind\":\"invoice\"}"));
    assert_false(m("{\"data.kind\":{\"$startsWith\":\"1\"}}", "{\"kind\":12}"));
    assert_true(m("{\"data.amount\":{\"$gte\":100}}", "{\"amount\":100}"));
    assert_true(m("{\"data.amount\":{\"$gte\":100}}", "{\"amount\":100.5}"));
    assert_false(m("{\"data.amount\":{\"$gt\":100}}", "{\"amount\":100}"));
    assert_false(m("{\"data.amount\":{\"$gte\":100}}", "{\"amount\":\"500\"}"));
    assert_false(m("{\"data.amount\":{\"$gte\":100}}", "{}"));
    assert_true(m("{\"data.amount\":{\"$gt\":1,\"$lt\":2}}", "{\"amount\":1.5}"));
    assert_false(m("{\"data.amount\":{\"$gt\":1,\"$lt\":2}}", "{\"amount\":2}"));
    assert_true(m("{\"data.amount\":{\"$lte\":-1.5}}", "{\"amount\":-2}"));
    assert_true(m("{\"data.c\":{\"$in\":[\"eu\",\"us\"]}}", "{\"c\":\"us\"}"));
    assert_false(m("{\"data.c\":{\"$in\":[\"eu\",\"us\"]}}", "{\"c\":\"ap\"}"));
    assert_true(m("{\"data.c\":{\"$in\":[1,null]}}", "{\"c\":null}"));
    assert_true(m("{\"data.c\":{\"$nin\":[\"eu\"]}}", "{}"));
    assert_false(m("{\"data.c\":{\"$nin\":[\"eu\"]}}", "{\"c\":\"eu\"}"));
}

static void arrays(void **state)
{
    (void)state;
    /* a value that is an array matches when one element does */
    assert_true(m("{\"data.tags\":\"vip\"}", "{\"tags\":[\"new\",\"vip\"]}"));
    assert_false(m("{\"data.tags\":\"vip\"}", "{\"tags\":[\"new\"]}"));
    assert_true(m("{\"data.n\":{\"$gt\":5}}", "{\"n\":[1,9]}"));
    assert_false(m("{\"data.n\":{\"$gt\":5}}", "{\"n\":[]}"));
    assert_true(m("{\"data.tags\":{\"$ne\":\"vip\"}}", "{\"tags\":[\"new\"]}"));
    assert_false(m("{\"data.tags\":{\"$ne\":\"vip\"}}", "{\"tags\":[\"new\",\"vip\"]}"));
    assert_true(m("{\"data.tags\":{\"$exists\":true}}", "{\"tags\":[]}"));
    assert_false(m("{\"data.tags\":\"vip\"}", "{\"tags\":[[\"vip\"]]}"));
}

static void logic_and_roots(void **state)
{
    (void)state;
    const char *f = "{\"data.amount\":{\"$gte\":100},\"data.user.plan\":\"pro\",\"$or\":[{\"data.kind\":"
                    "{\"$prefix\":\"invoice.\"}},{\"data.vip\":{\"$exists\":true}}]}";
    assert_true(m(f, "{\"amount\":150,\"user\":{\"plan\":\"pro\"},\"kind\":\"invoice.paid\"}"));
    assert_true(m(f, "{\"amount\":150,\"user\":{\"plan\":\"pro\"},\"vip\":1}"));
    assert_false(m(f, "{\"amount\":150,\"user\":{\"plan\":\"pro\"},\"kind\":\"refund\"}"));
    assert_false(m(f, "{\"amount\":50,\"user\":{\"plan\":\"pro\"},\"vip\":1}"));
    assert_true(m("{\"$and\":[{\"data.a\":1},{\"$or\":[{\"data.b\":1},{\"data.c\":1}]}]}", "{\"a\":1,\"c\":1}"));
    assert_false(m("{\"$and\":[{\"data.a\":1},{\"$or\":[{\"data.b\":1},{\"data.c\":1}]}]}", "{\"a\":1}"));
    /* type, room_id, user_id; data as a whole */
    assert_true(m("{\"type\":{\"$prefix\":\"invoice.\"},\"room_id\":\"r1\"}", "{}"));
    assert_false(m("{\"room_id\":\"r2\"}", "{}"));
    assert_true(m("{\"user_id\":{\"$exists\":false}}", "{}"));
    assert_true(m("{\"user_id\":{\"$ne\":\"u\"}}", "{}"));
    assert_false(m("{\"user_id\":\"u\"}", "{}"));
    assert_true(m("{\"data\":{\"$exists\":true}}", "{}"));
    /* data that is not JSON: nothing is there */
    hv_event *ev = hv_event_new("x", NULL, NULL, "nope", 4);
    assert_false(matches("{\"data.a\":{\"$exists\":true}}", ev));
    assert_true(matches("{\"data.a\":{\"$exists\":false}}", ev));
    hv_event_unref(ev);
    /* {} and no filter match everything */
    assert_true(m("{}", "{}"));
    hv_filter_subject s;
    hv_filter_subject_init(&s, NULL);
    assert_true(hv_filter_match(NULL, &s));
}

static void errors(void **state)
{
    (void)state;
    expect_error("[]", "filter: must be a JSON object, at the top");
    expect_error("{\"data.a\":", "filter: not JSON (unexpected token near end of file), at the top");
    expect_error("{\"amount\":1}", "filter: unknown path \"amount\" (paths are type, room_id, user_id, data or "
                 "data.<field>…), at amount");
    expect_error("{\"data.\":1}", "filter: a path has an empty segment, at data.");
    expect_error("{\"data.a..b\":1}", "filter: a path has an empty segment, at data.a..b");
    expect_error("{\"datax\":1}", "filter: unknown path \"datax\" (paths are type, room_id, user_id, data or "
                 "data.<field>…), at datax");
    expect_error("{\"data.a\":{\"$gte\":\"1\"}}", "filter: $gte takes a number, at data.a.$gte");
    expect_error("{\"data.a\":{\"$regex\":\"x\"}}", "filter: unknown operator \"$regex\" (operators: $eq $ne "
                 "$exists $prefix $gt $gte $lt $lte $in $nin), at data.a.$regex");
    expect_error("{\"$not\":{}}", "filter: unknown operator \"$not\" (at this place: $and, $or or a path), at $not");
    expect_error("{\"data.a\":[1]}", "filter: a value takes a string, number, boolean or null (use $in for a "
                 "list), at data.a");
    expect_error("{\"data.a\":{}}", "filter: an empty object (give operators such as {\"$eq\": …}), at data.a");
    expect_error("{\"data.a\":{\"$exists\":1}}", "filter: $exists takes true or false, at data.a.$exists");
    expect_error("{\"data.a\":{\"$prefix\":1}}", "filter: $prefix takes a string, at data.a.$prefix");
    expect_error("{\"data.a\":{\"$in\":[]}}", "filter: $in takes an array of 1 to 64 strings, numbers, booleans "
                 "or nulls, at data.a.$in");
    expect_error("{\"data.a\":{\"$in\":[1,[2]]}}", "filter: $in[1] is not a string, number, boolean or null, at "
                 "data.a.$in");
    expect_error("{\"$or\":[]}", "filter: $or takes a non-empty array of objects, at $or");
    expect_error("{\"$or\":[{\"data.a\":1},2]}", "filter: $or takes a non-empty array of objects, at $or[1]");
    expect_error("{\"$and\":[{\"data.a\":{\"$gt\":null}}]}", "filter: $gt takes a number, at $and[0].data.a.$gt");
}

/* Builds text by repeating piece n times between head and tail. */
static char *rep(const char *head, const char *piece, int n, const char *tail)
{
    size_t len = strlen(head) + strlen(piece) * (size_t)n + strlen(tail) + 1;
    char *s = malloc(len);
    strcpy(s, head);
    for (int i = 0; i < n; i++)
        strcat(s, piece);
    strcat(s, tail);
    return s;
}

static void bounds(void **state)
{
    (void)state;
    char err[300];
    /* depth: 8 nested $or pass, 9 do not */
    char *ok = rep("", "{\"$or\":[", 8, "{\"data.a\":1}");
    char *deep = rep("", "{\"$or\":[", 9, "{\"data.a\":1}");
    char *ok2 = rep(ok, "]}", 8, ""), *deep2 = rep(deep, "]}", 9, "");
    hv_filter *f = hv_filter_compile_text(ok2, strlen(ok2), err, sizeof(err));
    assert_non_null(f);
    hv_filter_unref(f);
    assert_null(hv_filter_compile_text(deep2, strlen(deep2), err, sizeof(err)));
    assert_non_null(strstr(err, "filter: $and/$or nested deeper than 8, at $or[0].$or[0]"));
    free(ok), free(deep), free(ok2), free(deep2);
    /* conditions: 64 pass, 65 do not */
    char *c64 = rep("{\"$or\":[{\"data.a\":1}", ",{\"data.a\":1}", 63, "]}");
    char *c65 = rep("{\"$or\":[{\"data.a\":1}", ",{\"data.a\":1}", 64, "]}");
    f = hv_filter_compile_text(c64, strlen(c64), err, sizeof(err));
    assert_non_null(f);
    hv_filter_unref(f);
    assert_null(hv_filter_compile_text(c65, strlen(c65), err, sizeof(err)));
    assert_string_equal(err, "filter: more than 64 conditions, at $or[64].data.a");
    free(c64), free(c65);
    /* segments: 16 below data pass, 17 do not */
    char *s16 = rep("{\"data", ".a", 16, "\":1}"), *s17 = rep("{\"data", ".a", 17, "\":1}");
    f = hv_filter_compile_text(s16, strlen(s16), err, sizeof(err));
    assert_non_null(f);
    hv_filter_unref(f);
    assert_null(hv_filter_compile_text(s17, strlen(s17), err, sizeof(err)));
    assert_non_null(strstr(err, "filter: a path has more than 16 segments below data"));
    free(s16), free(s17);
    /* path bytes */
    char *p = rep("{\"data.", "x", 252, "\":1}");
    assert_null(hv_filter_compile_text(p, strlen(p), err, sizeof(err)));
    assert_non_null(strstr(err, "filter: a path is longer than 256 bytes"));
    free(p);
    /* $in values: 64 pass, 65 do not */
    char *i64 = rep("{\"data.a\":{\"$in\":[0", ",1", 63, "]}}"), *i65 = rep("{\"data.a\":{\"$in\":[0", ",1", 64, "]}}");
    f = hv_filter_compile_text(i64, strlen(i64), err, sizeof(err));
    assert_non_null(f);
    hv_filter_unref(f);
    assert_null(hv_filter_compile_text(i65, strlen(i65), err, sizeof(err)));
    free(i64), free(i65);
    /* size: a 4097-byte filter */
    char *big = rep("{\"data.a\":\"", "x", 4096 - 13 + 1, "\"}");
    assert_int_equal(strlen(big), 4097);
    assert_null(hv_filter_compile_text(big, strlen(big), err, sizeof(err)));
    assert_string_equal(err, "filter: longer than 4096 bytes as compact JSON, at the top");
    big[strlen(big) - 3] = 0;
    strcat(big, "\"}");
    f = hv_filter_compile_text(big, strlen(big), err, sizeof(err));
    assert_non_null(f);
    assert_int_equal(strlen(hv_filter_text(f)), 4096);
    hv_filter_unref(f);
    free(big);
}

static void text_kept(void **state)
{
    (void)state;
    char err[300];
    const char *src = "{ \"data.b\" : 1, \"data.a\" : {\"$gt\": 2} }";
    hv_filter *f = hv_filter_compile_text(src, strlen(src), err, sizeof(err));
    assert_non_null(f);
    assert_string_equal(hv_filter_text(f), "{\"data.b\":1,\"data.a\":{\"$gt\":2}}");
    hv_filter *g = hv_filter_ref(f);
    hv_filter_unref(f);
    assert_string_equal(hv_filter_text(g), "{\"data.b\":1,\"data.a\":{\"$gt\":2}}");
    hv_filter_unref(g);
    /* an empty object is no filter, without an error */
    assert_null(hv_filter_compile_text("{}", 2, err, sizeof(err)));
    assert_int_equal(err[0], 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(equality),        cmocka_unit_test(presence_prefix_numbers),
        cmocka_unit_test(arrays),          cmocka_unit_test(logic_and_roots),
        cmocka_unit_test(errors),          cmocka_unit_test(bounds),
        cmocka_unit_test(text_kept),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
