/* SPDX-License-Identifier: MIT */
/* test_commit_undo.c — a change whose commit stores nothing is undone in
 * memory, and so is every change queued behind it (issue 13, defect 12;
 * hub.c undo_failed, rooms/undo.c).
 *
 * The integration tests (test_commit_failure*.sh) make every commit fail
 * for a while; what they cannot force is a change queued behind a failing
 * commit while the store comes back: without the hub taking it out of the
 * queue it would be committed on top of a change that was undone. Here
 * the real SQLite engine runs behind a gate: the test holds a commit in
 * the gate, queues more changes behind it, then lets it fail, and the
 * store takes writes again at once. The same for webhook endpoint changes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <ftw.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "deliver/endpoints.h"
#include "hub/hub.h"
#include "net/server.h"
#include "rooms/registry.h"
#include "store/engine.h"
#include "wiring.h"

#define DEADLINE_MS 60000

/* ---- the gated engine --------------------------------------------------- */

static const hv_store_engine *real;
static hv_store_engine gated;
static uv_mutex_t mu;
static uv_cond_t cv;
static int hold;      /* commits wait in the gate while set */
static int waiting;   /* a commit is in the gate */
static int fail_next; /* how many of the next commits fail */
static int tried, stored; /* commits tried; events stored */

static int gated_commit(hv_store *st, hv_commit *c)
{
    uv_mutex_lock(&mu);
    tried++;
    int fail = fail_next > 0;
    fail_next -= fail;
    waiting = hold;
    uv_cond_broadcast(&cv);
    while (hold)
        uv_cond_wait(&cv, &mu);
    waiting = 0;
    uv_mutex_unlock(&mu);
    if (fail)
        return -1; /* nothing tried, nothing stored: the ids stay 0 */
    int rc = real->commit(st, c);
    uv_mutex_lock(&mu);
    if (rc == 0)
        stored += (int)c->n;
    uv_mutex_unlock(&mu);
    return rc;
}

/* Waits (up to the deadline) until *v reaches at least want. */
static void wait_count(int *v, int want)
{
    uv_mutex_lock(&mu);
    uint64_t end = uv_hrtime() + (uint64_t)DEADLINE_MS * 1000000;
    while (*v < want && uv_hrtime() < end)
        uv_cond_timedwait(&cv, &mu, 10 * 1000000);
    int got = *v;
    uv_mutex_unlock(&mu);
    if (got < want)
        print_error("waited for %d, got %d\n", want, got);
    assert_true(got >= want);
}

static void set_gate(int h, int f)
{
    uv_mutex_lock(&mu);
    hold = h;
    fail_next = f;
    uv_cond_broadcast(&cv);
    uv_mutex_unlock(&mu);
}

/* ---- the server ---------------------------------------------------------- */

typedef struct fixture {
    hv_server srv;
    char dir[64];
} fixture;

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    snprintf(f->dir, sizeof(f->dir), "/tmp/herald-undo.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    char err[256];
    hv_store_options opt = {.dir = f->dir, .sync_full = 0};
    f->srv.store = hv_store_open(&opt, err, sizeof(err));
    assert_non_null(f->srv.store);
    real = f->srv.store->ops;
    gated = *real;
    gated.commit = gated_commit;
    f->srv.store->ops = &gated;
    snprintf(f->srv.cfg.node_id, sizeof(f->srv.cfg.node_id), "test");
    f->srv.rooms = hv_rooms_new(&f->srv);
    f->srv.endpoints = hv_endpoints_new(&f->srv);
    hv_hub_hooks hooks; /* the server's own wiring: the registries' locks, the endpoints' matching */
    hv_wiring_hub(&f->srv, &hooks);
    f->srv.hub = hv_hub_start(&f->srv, &hooks);
    assert_non_null(f->srv.hub);
    tried = stored = 0;
    set_gate(0, 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    set_gate(0, 0);
    hv_hub_stop(f->srv.hub);
    hv_hub_free(f->srv.hub);
    hv_endpoints_free(f->srv.endpoints);
    hv_rooms_free(f->srv.rooms);
    f->srv.store->ops = real;
    hv_store_close(f->srv.store);
    nftw(f->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

static const hv_rooms_reply no_reply = {NULL, NULL, NULL};

/* The string at k1[.k2] of the JSON text (a copy); frees the text. */
static char *field(char *text, const char *k1, const char *k2)
{
    json_t *j = json_loads(text, 0, NULL);
    json_t *v = json_object_get(j, k1);
    if (k2)
        v = json_object_get(v, k2);
    char *s = json_string_value(v) ? strdup(json_string_value(v)) : NULL;
    json_decref(j);
    free(text);
    return s;
}

/* A room "r" with one peer: its token (room.created and peer.added
 * stored). */
static char *room_with_peer(fixture *f, char peer_id[64])
{
    char *out = NULL;
    assert_int_equal(hv_rooms_create(f->srv.rooms, "{\"roomId\":\"r\"}", 14, "h:1", &out, no_reply), HV_CREATED);
    free(out);
    assert_int_equal(hv_peers_create(f->srv.rooms, "r", "{\"type\":\"webrtc\"}", 17, "h:1", &out, no_reply), HV_CREATED);
    json_t *j = json_loads(out, 0, NULL);
    snprintf(peer_id, 64, "%s", json_string_value(json_object_get(json_object_get(json_object_get(j, "data"), "peer"), "id")));
    json_decref(j);
    char *token = field(out, "data", "token");
    wait_count(&stored, 2);
    return token;
}

static int token_works(fixture *f, const char *token)
{
    char pid[64], rid[160];
    return hv_peers_identify(f->srv.rooms, token, pid, rid) == 0;
}

/* Until the token works (up to the deadline): the undo has run. */
static void wait_token_works(fixture *f, const char *token)
{
    uint64_t end = uv_hrtime() + (uint64_t)DEADLINE_MS * 1000000;
    while (!token_works(f, token) && uv_hrtime() < end)
        usleep(10000);
    assert_true(token_works(f, token));
}

/* A refresh_token whose commit fails, with a second refresh queued behind
 * it while it is in the store: both are undone (the second never tried),
 * and the store, taking writes again, gets neither. */
static void refresh_behind_failed_refresh(void **state)
{
    fixture *f = *state;
    char peer[64];
    char *t0 = room_with_peer(f, peer);
    int before = tried;
    set_gate(1, 1);
    char *out = NULL;
    assert_int_equal(hv_peers_refresh_token(f->srv.rooms, "r", peer, &out, no_reply), HV_CREATED);
    char *t1 = field(out, "data", "token");
    wait_count(&waiting, 1); /* the first refresh's commit is in the store */
    assert_int_equal(hv_peers_refresh_token(f->srv.rooms, "r", peer, &out, no_reply), HV_CREATED);
    char *t2 = field(out, "data", "token");
    assert_true(token_works(f, t2) && !token_works(f, t0));
    assert_int_equal(hv_hub_queued(f->srv.hub), 1); /* the second, behind the gate (/metrics) */
    set_gate(0, 0); /* the first fails; the store takes writes again */
    wait_token_works(f, t0);
    assert_int_equal(hv_hub_queued(f->srv.hub), 0); /* taken out, undone */
    assert_false(token_works(f, t1));
    assert_false(token_works(f, t2));
    /* A change after: committed; the second refresh was never tried. */
    assert_int_equal(hv_rooms_create(f->srv.rooms, "{\"roomId\":\"s\"}", 14, "h:1", &out, no_reply), HV_CREATED);
    free(out);
    wait_count(&stored, 3);
    assert_int_equal(tried - before, 2); /* the failed refresh, room s */
    assert_true(token_works(f, t0) && !token_works(f, t2));
    free(t0), free(t1), free(t2);
}

/* A room deleted by a commit that fails, with a room of the same id
 * created behind it: both undone (the create never tried), the deleted
 * room back with its peer and that peer's token. */
static void changes_behind_failed_delete(void **state)
{
    fixture *f = *state;
    char peer[64];
    char *t0 = room_with_peer(f, peer);
    int before = tried;
    set_gate(1, 1);
    char *out = NULL;
    assert_int_equal(hv_rooms_delete(f->srv.rooms, "r", &out, no_reply), HV_DELETED);
    wait_count(&waiting, 1);
    assert_false(token_works(f, t0));
    assert_int_equal(hv_rooms_create(f->srv.rooms, "{\"roomId\":\"r\"}", 14, "h:1", &out, no_reply), HV_CREATED);
    free(out);
    assert_int_equal(hv_rooms_get(f->srv.rooms, "r", &out), HV_OK);
    free(out);
    set_gate(0, 0);
    wait_token_works(f, t0);
    assert_int_equal(hv_rooms_get(f->srv.rooms, "r", &out), HV_OK);
    json_t *j = json_loads(out, 0, NULL);
    free(out);
    json_t *peers = json_object_get(json_object_get(j, "data"), "peers");
    assert_int_equal(json_array_size(peers), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(peers, 0), "id")), peer);
    json_decref(j);
    /* A change after: committed; the create behind the delete never tried. */
    assert_int_equal(hv_rooms_create(f->srv.rooms, "{\"roomId\":\"s\"}", 14, "h:1", &out, no_reply), HV_CREATED);
    free(out);
    wait_count(&stored, 3);
    assert_int_equal(tried - before, 2); /* the failed delete, room s */
    assert_true(token_works(f, t0));
    free(t0);
}

static char *description(fixture *f, const char *id)
{
    hv_endpoint *ep = hv_endpoints_get(f->srv.endpoints, id);
    char *d = ep && ep->description ? strdup(ep->description) : NULL;
    hv_endpoint_unref(ep);
    return d;
}

/* A webhook endpoint changed by a commit that fails, changed again and
 * then deleted behind it: all undone, the endpoint as it was. */
static void endpoint_changes_behind_failed_update(void **state)
{
    fixture *f = *state;
    char *out = NULL;
    const char *body = "{\"url\":\"http://127.0.0.1:9/h\",\"description\":\"before\"}";
    assert_int_equal(hv_endpoints_create(f->srv.endpoints, body, strlen(body), &out, no_reply), HV_CREATED);
    char *id = field(out, "id", NULL);
    assert_non_null(id);
    wait_count(&tried, 1); /* its commit is past the gate */
    uv_mutex_lock(&mu);
    int before = tried;
    uv_mutex_unlock(&mu);
    set_gate(1, 1);
    body = "{\"description\":\"first\"}";
    assert_int_equal(hv_endpoints_update(f->srv.endpoints, id, body, strlen(body), &out, no_reply), HV_OK);
    free(out);
    wait_count(&waiting, 1);
    body = "{\"description\":\"second\"}";
    assert_int_equal(hv_endpoints_update(f->srv.endpoints, id, body, strlen(body), &out, no_reply), HV_OK);
    free(out);
    assert_int_equal(hv_endpoints_delete(f->srv.endpoints, id, &out, no_reply), HV_DELETED);
    free(out);
    assert_null(description(f, id));
    set_gate(0, 0);
    uint64_t end = uv_hrtime() + (uint64_t)DEADLINE_MS * 1000000;
    char *d;
    while (!(d = description(f, id)) && uv_hrtime() < end)
        usleep(10000);
    assert_non_null(d);
    assert_string_equal(d, "before");
    free(d);
    /* A change after: committed; neither change behind the failed one tried. */
    assert_int_equal(hv_rooms_create(f->srv.rooms, "{\"roomId\":\"s\"}", 14, "h:1", &out, no_reply), HV_CREATED);
    free(out);
    wait_count(&stored, 1);
    assert_int_equal(tried - before, 2); /* the failed update, room s */
    d = description(f, id);
    assert_string_equal(d, "before");
    free(d);
    free(id);
}

int main(void)
{
    uv_mutex_init(&mu);
    uv_cond_init(&cv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(refresh_behind_failed_refresh, setup, teardown),
        cmocka_unit_test_setup_teardown(changes_behind_failed_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(endpoint_changes_behind_failed_update, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
