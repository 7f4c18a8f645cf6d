/* SPDX-License-Identifier: MIT */
/* store_engine.h — lets the store and outbox unit tests run against either
 * store engine with the same assertions.
 *
 * By default the tests use the SQLite engine. With HERALD_TEST_ENGINE=redis
 * and HERALD_TEST_REDIS_URL=redis://127.0.0.1:PORT (tests/unit/
 * run_with_redis.sh starts a throwaway redis-server and sets both) they use
 * the Redis engine; each fixture then gets its own key prefix, whose keys
 * are deleted at teardown. The te_* helpers look at what the engine stored
 * through a side door — SQL on herald.db, or plain Redis commands on the
 * keys of redis_internal.h — and provoke failures the engine's own way (a
 * trigger, or a key of the wrong type).
 */
#ifndef HV_TEST_STORE_ENGINE_H
#define HV_TEST_STORE_ENGINE_H

#include <ftw.h>
#include <hiredis/hiredis.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/outbox.h"
#include "store/store.h"

#define TE_FN static __attribute__((unused))

typedef struct te {
    int redis;
    char url[256];
    char prefix[96];
    char db[192]; /* sqlite: the database file */
} te;

TE_FN int te_is_redis(void)
{
    const char *e = getenv("HERALD_TEST_ENGINE");
    return e && !strcmp(e, "redis");
}

/* Prepares t for a store in dir. */
TE_FN void te_init(te *t, const char *dir)
{
    static int seq;
    memset(t, 0, sizeof(*t));
    t->redis = te_is_redis();
    const char *url = getenv("HERALD_TEST_REDIS_URL");
    snprintf(t->url, sizeof(t->url), "%s", url ? url : "redis://127.0.0.1:6379");
    snprintf(t->prefix, sizeof(t->prefix), "herald-test:%d:%d:", (int)getpid(), ++seq);
    snprintf(t->db, sizeof(t->db), "%s/herald.db", dir);
}

TE_FN hv_store_options te_options(const te *t, const char *dir, int sync_full)
{
    hv_store_options o = {.dir = dir, .sync_full = sync_full};
    if (t->redis) {
        o.engine = "redis";
        o.redis_url = t->url;
        o.redis_prefix = t->prefix;
    }
    return o;
}

/* ---- opening, failing the test with the engine's reason ---- */

#ifdef fail_msg /* cmocka.h came first */
TE_FN hv_store *te_open(const hv_store_options *opt)
{
    char err[256] = "";
    hv_store *st = hv_store_open(opt, err, sizeof(err));
    if (!st)
        fail_msg("open failed: %s", err);
    return st;
}

/* The delivery engine's connection to st. */
TE_FN hv_outbox *te_open_outbox(hv_store *st)
{
    char err[256] = "";
    hv_outbox *ob = hv_outbox_open(st, err, sizeof(err));
    if (!ob)
        fail_msg("outbox open failed: %s", err);
    return ob;
}
#endif

/* ---- the fixture's temporary folder ---- */

static int te_rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

/* Deletes the folder path and everything in it. */
TE_FN void te_rmtree(const char *path)
{
    nftw(path, te_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- Redis side door ---- */

static redisContext *te_rc(const te *t)
{
    int port = 6379;
    const char *p = strrchr(t->url, ':');
    if (p && p > t->url + 6)
        port = atoi(p + 1);
    redisContext *c = redisConnect("127.0.0.1", port);
    if (!c || c->err) {
        fprintf(stderr, "test: cannot connect to redis at %s\n", t->url);
        abort();
    }
    return c;
}

/* A command with "%P" standing for the prefix in its first word after the
 * name, formatted like redisCommand. */
TE_FN redisReply *te_cmd(const te *t, const char *fmt, ...)
{
    char f2[512];
    const char *at = strstr(fmt, "%P");
    if (at)
        snprintf(f2, sizeof(f2), "%.*s%s%s", (int)(at - fmt), fmt, t->prefix, at + 2);
    else
        snprintf(f2, sizeof(f2), "%s", fmt);
    redisContext *c = te_rc(t);
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = redisvCommand(c, f2, ap);
    va_end(ap);
    redisFree(c);
    if (!r || r->type == REDIS_REPLY_ERROR) {
        fprintf(stderr, "test: redis %s: %s\n", f2, r ? r->str : "no reply");
        abort();
    }
    return r;
}

TE_FN long long te_cmd_int(const te *t, const char *fmt, const char *arg)
{
    redisReply *r = te_cmd(t, fmt, arg);
    long long v = r->type == REDIS_REPLY_INTEGER ? r->integer
                  : r->type == REDIS_REPLY_STRING ? atoll(r->str) : -1;
    freeReplyObject(r);
    return v;
}

/* Deletes every key of the fixture's prefix. */
TE_FN void te_cleanup(const te *t)
{
    if (!t->redis)
        return;
    redisReply *r = te_cmd(t, "EVAL %s 0 %s",
                           "for _, k in ipairs(redis.call('KEYS', ARGV[1] .. '*')) do "
                           "redis.call('DEL', k) end return 0",
                           t->prefix);
    freeReplyObject(r);
}

/* ---- SQLite side door ---- */

TE_FN void te_sql_exec(const te *t, const char *sql)
{
    sqlite3 *db;
    if (sqlite3_open(t->db, &db) != SQLITE_OK)
        abort();
    sqlite3_busy_timeout(db, 5000);
    if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK) {
        fprintf(stderr, "test: %s: %s\n", sql, sqlite3_errmsg(db));
        abort();
    }
    sqlite3_close(db);
}

/* A one-value query; the text of the value into buf (may be NULL). */
TE_FN long long te_sql(const te *t, const char *sql, char *buf, size_t len)
{
    sqlite3 *db;
    sqlite3_stmt *s;
    if (sqlite3_open(t->db, &db) != SQLITE_OK || sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK ||
        sqlite3_step(s) != SQLITE_ROW) {
        fprintf(stderr, "test: %s failed\n", sql);
        abort();
    }
    long long v = sqlite3_column_int64(s, 0);
    if (buf) {
        const char *txt = (const char *)sqlite3_column_text(s, 0);
        snprintf(buf, len, "%s", txt ? txt : "");
    }
    sqlite3_finalize(s);
    sqlite3_close(db);
    return v;
}

/* ---- what the tests look at ---- */

/* Ids of a Redis zset's members joined by commas, or of an array reply. */
static void te_join(redisReply *r, char *buf, size_t len, int stream)
{
    buf[0] = 0;
    for (size_t i = 0; i < r->elements; i++) {
        const redisReply *e = stream ? r->element[i]->element[0] : r->element[i];
        size_t l = strlen(buf);
        snprintf(buf + l, len - l, "%s%.*s", i ? "," : "", (int)strcspn(e->str, "-"), e->str);
    }
}

/* The stored event ids, "3,7,9,10". */
TE_FN const char *te_event_ids(const te *t, char *buf, size_t len)
{
    if (!t->redis) {
        te_sql(t, "SELECT COALESCE(group_concat(id), '') FROM (SELECT id FROM events ORDER BY id)", buf, len);
        return buf;
    }
    redisReply *r = te_cmd(t, "XRANGE %Plog - +");
    te_join(r, buf, len, 1);
    freeReplyObject(r);
    return buf;
}

TE_FN long long te_event_count(const te *t)
{
    return t->redis ? te_cmd_int(t, "XLEN %Plog", NULL) : te_sql(t, "SELECT COUNT(*) FROM events", NULL, 0);
}

TE_FN void te_delete_event(const te *t, unsigned id)
{
    char sql[80];
    snprintf(sql, sizeof(sql), "DELETE FROM events WHERE id = %u", id);
    if (!t->redis)
        te_sql_exec(t, sql);
    else {
        snprintf(sql, sizeof(sql), "%u-0", id);
        freeReplyObject(te_cmd(t, "XDEL %Plog %s", sql));
    }
}

TE_FN long long te_kv_count(const te *t, const char *ns)
{
    char sql[128];
    snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM kv WHERE ns = '%s'", ns);
    return t->redis ? te_cmd_int(t, "HLEN %Pkv:%s", ns) : te_sql(t, sql, NULL, 0);
}

/* Outbox row ids, "1,2,3". */
TE_FN const char *te_outbox_ids(const te *t, char *buf, size_t len)
{
    if (!t->redis) {
        te_sql(t, "SELECT COALESCE(group_concat(id), '') FROM (SELECT id FROM outbox ORDER BY id)", buf, len);
        return buf;
    }
    redisReply *r = te_cmd(t, "ZRANGE %Pob:all 0 -1");
    te_join(r, buf, len, 0);
    freeReplyObject(r);
    return buf;
}

TE_FN long long te_outbox_rows(const te *t)
{
    return t->redis ? te_cmd_int(t, "ZCARD %Pob:all", NULL) : te_sql(t, "SELECT COUNT(*) FROM outbox", NULL, 0);
}

/* A column of one outbox row: "status" or "event_id". */
TE_FN long long te_outbox_field(const te *t, unsigned id, const char *col)
{
    char q[128];
    if (!t->redis) {
        snprintf(q, sizeof(q), "SELECT %s FROM outbox WHERE id = %u", col, id);
        return te_sql(t, q, NULL, 0);
    }
    snprintf(q, sizeof(q), "%u", id);
    return te_cmd_int(t, !strcmp(col, "status") ? "HGET %Pob:%s st" : "HGET %Pob:%s ev", q);
}

TE_FN long long te_outbox_with_status(const te *t, int status)
{
    char q[80];
    snprintf(q, sizeof(q), "SELECT COUNT(*) FROM outbox WHERE status = %d", status);
    if (!t->redis)
        return te_sql(t, q, NULL, 0);
    redisReply *r = te_cmd(t, "ZRANGE %Pob:all 0 -1");
    long long n = 0;
    for (size_t i = 0; i < r->elements; i++)
        n += te_cmd_int(t, "HGET %Pob:%s st", r->element[i]->str) == status;
    freeReplyObject(r);
    return n;
}

TE_FN long long te_attempt_rows(const te *t)
{
    return t->redis ? te_cmd_int(t, "ZCARD %Pat:all", NULL) : te_sql(t, "SELECT COUNT(*) FROM attempts", NULL, 0);
}

/* The outbox row of each attempt in attempt order, "3,3"; with distinct,
 * how many different rows instead (into the return value). */
TE_FN long long te_attempt_rows_of(const te *t, char *buf, size_t len)
{
    if (!t->redis) {
        te_sql(t, "SELECT COALESCE(group_concat(outbox_id), '') FROM (SELECT outbox_id FROM attempts ORDER BY id)", buf, len);
        return te_sql(t, "SELECT COUNT(DISTINCT outbox_id) FROM attempts", NULL, 0);
    }
    redisReply *r = te_cmd(t, "ZRANGE %Pat:all 0 -1");
    buf[0] = 0;
    long long distinct = 0, *rows = calloc(r->elements + 1, sizeof(*rows));
    for (size_t i = 0; i < r->elements; i++) {
        long long o = te_cmd_int(t, "HGET %Pat:%s o", r->element[i]->str);
        size_t l = strlen(buf);
        snprintf(buf + l, len - l, "%s%lld", i ? "," : "", o);
        int seen = 0;
        for (size_t j = 0; j < i && !seen; j++)
            seen = rows[j] == o;
        distinct += !seen;
        rows[i] = o;
    }
    free(rows);
    freeReplyObject(r);
    return distinct;
}

/* Makes the next commit holding an outbox row for endpoint ep fail. */
TE_FN void te_break_endpoint(const te *t, const char *ep)
{
    if (!t->redis) {
        char sql[256];
        snprintf(sql, sizeof(sql), "CREATE TRIGGER boom BEFORE INSERT ON outbox WHEN NEW.endpoint_id = '%s' "
                                   "BEGIN SELECT RAISE(ABORT, 'boom'); END", ep);
        te_sql_exec(t, sql);
    } else {
        freeReplyObject(te_cmd(t, "SET %Pob:pending:%s not-a-zset", ep));
    }
}

/* Makes commits fail: SQLite, those with an event of type "boom" (a
 * trigger); Redis, every commit until te_unbreak_commits (the meta hash is
 * set aside and a string put in its place). */
TE_FN void te_break_commits(const te *t)
{
    if (!t->redis) {
        te_sql_exec(t, "CREATE TRIGGER boom BEFORE INSERT ON events "
                       "WHEN NEW.type = 'boom' BEGIN SELECT RAISE(ABORT, 'boom'); END");
        return;
    }
    redisReply *r = te_cmd(t, "EVAL %s 0 %s",
                           "redis.call('RENAME', ARGV[1] .. 'meta', ARGV[1] .. 'meta-aside') "
                           "redis.call('SET', ARGV[1] .. 'meta', 'x') return 0",
                           t->prefix);
    freeReplyObject(r);
}

TE_FN void te_unbreak_commits(const te *t)
{
    if (!t->redis)
        return;
    redisReply *r = te_cmd(t, "EVAL %s 0 %s",
                           "redis.call('DEL', ARGV[1] .. 'meta') "
                           "redis.call('RENAME', ARGV[1] .. 'meta-aside', ARGV[1] .. 'meta') return 0",
                           t->prefix);
    freeReplyObject(r);
}

/* ---- the store fixture most store tests share ---- */

#ifdef fail_msg
typedef struct te_fixture {
    char tmp[64];  /* the test's own mkdtemp folder */
    char dir[128]; /* the store's data folder below it */
    te te;
    hv_store *st;
} te_fixture;

/* A store (engine from the environment, sync_full 0) in a fresh folder
 * /tmp/herald-<name>-XXXXXX, its data in <that>/<sub>. */
TE_FN int te_fixture_setup(void **state, const char *name, const char *sub)
{
    te_fixture *f = calloc(1, sizeof(*f));
    snprintf(f->tmp, sizeof(f->tmp), "/tmp/herald-%s-XXXXXX", name);
    if (!mkdtemp(f->tmp))
        return -1;
    snprintf(f->dir, sizeof(f->dir), "%s/%s", f->tmp, sub);
    te_init(&f->te, f->dir);
    hv_store_options opt = te_options(&f->te, f->dir, 0);
    f->st = te_open(&opt);
    *state = f;
    return 0;
}

TE_FN int te_fixture_teardown(void **state)
{
    te_fixture *f = *state;
    hv_store_close(f->st);
    te_cleanup(&f->te);
    te_rmtree(f->tmp);
    free(f);
    return 0;
}
#endif

#endif
