/* SPDX-License-Identifier: MIT */
/* test_hub_idem.c — the commit thread's screening of idempotency keys
 * (hub/idem.c; issue 18 item 1) against a real store: a claim's conflict
 * refuses every event of its request (HTTP), or with a scope only the
 * scope's events (the publishing socket's frame); a replay skips its own
 * events; a new key whose events are refused is not claimed for the group.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/event.h"
#include "hub/idem.h"
#include "store/idem.h"
#include "store/store.h"
#include "store_engine.h"

typedef te_fixture fixture;

static const char HASH_A[] = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
static const char HASH_B[] = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

static int setup(void **state)
{
    if (te_fixture_setup(state, "hubidem", "data") != 0)
        return -1;
    fixture *f = *state;
    /* "K" recorded with hash A over one event */
    hv_event *ev = hv_event_new("idem.test", NULL, NULL, "{}", 2);
    hv_idem_put put = {"K", HASH_A, 0, 1, 60000, NULL, 0};
    hv_commit c = {.evs = &ev, .n = 1, .idem = &put, .nidem = 1};
    assert_int_equal(hv_store_commit(f->st, &c), 0);
    hv_event_unref(ev);
    return 0;
}

static int teardown(void **state)
{
    return te_fixture_teardown(state);
}

static hv_idem_claim claim(const char *key, const char *hash, size_t first, size_t sfirst, size_t scount)
{
    hv_idem_claim c = {.key = key, .first = first, .count = 1, .scope_first = sfirst, .scope_count = scount};
    memcpy(c.hash, hash, HV_IDEM_HASH_HEX + 1);
    return c;
}

static void free_claims(hv_idem_claim *c, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(c[i].ids);
}

/* Frames [0,1] [2,3]: "K" with another hash in the first, a new key in
 * the second, "K" again with its own hash in a third [4]. */
static void screen(hv_store *st, int scoped, unsigned char *skip, hv_idem_claim *c, hv_map *set)
{
    c[0] = claim("K", HASH_B, 0, 0, scoped ? 2 : 0);
    c[1] = claim("N", HASH_A, 2, 2, scoped ? 2 : 0);
    c[2] = claim("K", HASH_A, 4, 4, scoped ? 1 : 0);
    memset(skip, 0, 5);
    assert_int_equal(hv__idem_screen(st, 0, set, c, 3, skip, 5), 0);
    assert_int_equal(c[0].state, HV_IDEM_CONFLICT);
    assert_int_equal(c[1].state, HV_IDEM_NEW);
    assert_int_equal(c[2].state, HV_IDEM_REPLAYED);
    assert_int_equal(c[2].nids, 1);
}

static void test_unscoped_conflict_refuses_the_request(void **state)
{
    fixture *f = *state;
    hv_map set;
    hv_map_init(&set);
    hv_idem_claim c[3];
    unsigned char skip[5];
    screen(f->st, 0, skip, c, &set);
    for (int i = 0; i < 5; i++)
        assert_int_equal(skip[i], 1);
    /* nothing of the request is stored: "N" is not claimed for the group */
    hv_idem_claim later = claim("N", HASH_A, 0, 0, 0);
    unsigned char s1[1] = {0};
    assert_int_equal(hv__idem_screen(f->st, 0, &set, &later, 1, s1, 1), 0);
    free_claims(c, 3);
    free_claims(&later, 1);
    hv_map_free(&set);
}

static void test_scoped_conflict_refuses_its_frame(void **state)
{
    fixture *f = *state;
    hv_map set;
    hv_map_init(&set);
    hv_idem_claim c[3];
    unsigned char skip[5];
    screen(f->st, 1, skip, c, &set);
    const unsigned char want[5] = {1, 1, 0, 0, 1}; /* frame 1 refused, frame 3 replayed */
    assert_memory_equal(skip, want, 5);
    /* "N" will be recorded by this group: a later request with it waits */
    hv_idem_claim later = claim("N", HASH_A, 0, 0, 1);
    unsigned char s1[1] = {0};
    assert_int_equal(hv__idem_screen(f->st, 0, &set, &later, 1, s1, 1), 1);
    free_claims(c, 3);
    hv_map_free(&set);
}

static void test_new_key_in_a_refused_frame_is_not_claimed(void **state)
{
    fixture *f = *state;
    hv_map set;
    hv_map_init(&set);
    /* one frame of two events: "K" conflicts, "M" is new but not stored */
    hv_idem_claim c[2] = {claim("K", HASH_B, 0, 0, 2), claim("M", HASH_A, 1, 0, 2)};
    unsigned char skip[2] = {0, 0};
    assert_int_equal(hv__idem_screen(f->st, 0, &set, c, 2, skip, 2), 0);
    assert_int_equal(skip[0] & skip[1], 1);
    hv_idem_claim later = claim("M", HASH_A, 0, 0, 1);
    unsigned char s1[1] = {0};
    assert_int_equal(hv__idem_screen(f->st, 0, &set, &later, 1, s1, 1), 0);
    assert_int_equal(later.state, HV_IDEM_NEW);
    free_claims(c, 2);
    hv_map_free(&set);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_unscoped_conflict_refuses_the_request, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scoped_conflict_refuses_its_frame, setup, teardown),
        cmocka_unit_test_setup_teardown(test_new_key_in_a_refused_frame_is_not_claimed, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
