/* SPDX-License-Identifier: MIT */
/* sink_redis.c — the "redis" sink module: every event appended to a Redis
 * stream (XADD) and/or published on a Pub/Sub channel (PUBLISH), through
 * hiredis, synchronously on the sink's own thread.
 *
 * Config: {"url": "redis://[[user]:password@]host[:port][/db]"  (default redis://127.0.0.1:6379/0)
 *          "host", "port", "password", "username", "db"   override parts of the url
 *          "stream": "herald:events",      XADD target (optional)
 *          "maxlen": 100000,               XADD MAXLEN ~ N trimming (optional, 0 = none)
 *          "layout": "fields",             stream entry: "fields" or "envelope"
 *          "publish": "herald:{type}",     PUBLISH channel template (optional)
 *          "connect_timeout_ms": 2000, "command_timeout_ms": 5000}
 * At least one of "stream" and "publish" is required.
 *
 * Stream entries. The entry id is "<herald event id>-0", so XRANGE by
 * herald id works ("XRANGE s 42 42" is event 42) and, because Redis only
 * accepts ids above the stream's top, a batch written again after a failure
 * or a herald crash is refused entry by entry ("equal or smaller than the
 * target stream top item"), which this module counts as already written:
 * the stream holds every event exactly once. That needs the stream to be
 * written by this sink only. Fields ("fields" layout): id, type, room_id
 * and user_id (each only when set), time (ms since the epoch) and data (the
 * payload's JSON text); the "envelope" layout has one field, envelope (the
 * native JSON envelope).
 *
 * A batch is one round trip: MULTI, the XADDs, EXEC (pipelined), so the
 * batch appears in the stream at once; then the PUBLISHes (pipelined) of
 * the events the stream did not have yet, so a subscriber told about an
 * event finds it in the stream, and a redelivered batch is not published
 * twice. Without a stream every event is published (at least once).
 * Pub/Sub itself keeps nothing: a subscriber that is not connected misses
 * messages; use the stream for anything that must not be lost.
 *
 * Errors drop the connection; the next batch (herald's retry) reconnects.
 */
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "../common/sink_settings.h"
#include "../common/sink_template.h"
#include "herald/sink.h"

typedef struct redis_sink {
    const herald_sink_host *host;
    char *hostname, *username, *password, *stream, *publish;
    int port, db, envelope_layout;
    long long maxlen;
    int connect_timeout_ms, command_timeout_ms;
    redisContext *c;
} redis_sink;

typedef struct why_buf {
    char *s;
    size_t len;
} why_buf;

/* ---- settings ---- */

static void set_str(char **dst, const char *src, size_t n)
{
    free(*dst);
    *dst = strndup(src, n);
}

/* redis://[[user]:password@]host[:port][/db] */
static int parse_url(redis_sink *r, const char *url, char *err, size_t errlen)
{
    if (strncmp(url, "redis://", 8) != 0) {
        snprintf(err, errlen, "\"url\" must start with redis:// (got \"%.60s\")", url);
        return -1;
    }
    const char *p = url + 8, *at = strchr(p, '@');
    if (at) {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        if (colon) {
            if (colon > p)
                set_str(&r->username, p, (size_t)(colon - p));
            set_str(&r->password, colon + 1, (size_t)(at - colon - 1));
        } else
            set_str(&r->password, p, (size_t)(at - p));
        p = at + 1;
    }
    size_t hl = strcspn(p, ":/");
    if (hl)
        set_str(&r->hostname, p, hl);
    p += hl;
    char *end;
    if (*p == ':') {
        long port = strtol(p + 1, &end, 10);
        if (end == p + 1 || port < 1 || port > 65535 || (*end && *end != '/')) {
            snprintf(err, errlen, "bad port in \"url\" \"%.60s\"", url);
            return -1;
        }
        r->port = (int)port;
        p = end;
    }
    if (*p == '/' && p[1]) {
        long db = strtol(p + 1, &end, 10);
        if (*end || db < 0 || db > 1000000) {
            snprintf(err, errlen, "bad database number in \"url\" \"%.60s\"", url);
            return -1;
        }
        r->db = (int)db;
    }
    return 0;
}

static const char *const known_keys[] = {"url", "host", "port", "username", "password", "db", "stream", "maxlen",
                                         "layout", "publish", "connect_timeout_ms", "command_timeout_ms", NULL};

static int unknown_key(json_t *c, char *err, size_t errlen)
{
    const char *key;
    json_t *v;
    json_object_foreach(c, key, v) {
        int known = 0;
        for (int i = 0; known_keys[i] && !known; i++)
            known = !strcmp(key, known_keys[i]);
        if (!known) {
            snprintf(err, errlen, "unknown setting \"%s\"", key);
            return -1;
        }
    }
    return 0;
}

static int parse_numbers(redis_sink *r, json_t *c, char *err, size_t errlen)
{
    long long port = r->port, db = r->db, ct = 2000, mt = 5000;
    r->maxlen = 0;
    if (sink_setting_ll(c, "port", 1, 65535, &port, err, errlen) || sink_setting_ll(c, "db", 0, 1000000, &db, err, errlen) ||
        sink_setting_ll(c, "maxlen", 0, INT64_MAX, &r->maxlen, err, errlen) ||
        sink_setting_ll(c, "connect_timeout_ms", 1, 600000, &ct, err, errlen) ||
        sink_setting_ll(c, "command_timeout_ms", 1, 600000, &mt, err, errlen))
        return -1;
    r->port = (int)port;
    r->db = (int)db;
    r->connect_timeout_ms = (int)ct;
    r->command_timeout_ms = (int)mt;
    return 0;
}

static int parse_layout(redis_sink *r, json_t *c, char *err, size_t errlen)
{
    const char *layout = json_string_value(json_object_get(c, "layout"));
    if (json_object_get(c, "layout") && (!layout || (strcmp(layout, "fields") && strcmp(layout, "envelope")))) {
        snprintf(err, errlen, "\"layout\" must be \"fields\" or \"envelope\"");
        return -1;
    }
    r->envelope_layout = layout && !strcmp(layout, "envelope");
    return 0;
}

static int parse_strings(redis_sink *r, json_t *c, char *err, size_t errlen)
{
    json_t *url = json_object_get(c, "url");
    if (url && !json_is_string(url)) {
        snprintf(err, errlen, "\"url\" must be a string such as redis://127.0.0.1:6379/0");
        return -1;
    }
    if ((url && parse_url(r, json_string_value(url), err, errlen) != 0) ||
        sink_setting_str(c, "host", &r->hostname, err, errlen) || sink_setting_str(c, "username", &r->username, err, errlen) ||
        sink_setting_str(c, "password", &r->password, err, errlen) || sink_setting_str(c, "stream", &r->stream, err, errlen) ||
        sink_setting_str(c, "publish", &r->publish, err, errlen))
        return -1;
    if (r->publish && sink_template_check(r->publish, err, errlen) != 0)
        return -1;
    if (!r->stream && !r->publish) {
        snprintf(err, errlen, "set \"stream\" (a stream to XADD to) and/or \"publish\" (a channel template)");
        return -1;
    }
    return 0;
}

static int parse_config(redis_sink *r, const char *config_json, char *err, size_t errlen)
{
    json_error_t je;
    json_t *c = json_loads(config_json, 0, &je);
    r->hostname = strdup("127.0.0.1");
    r->port = 6379;
    int rc = -1;
    if (!json_is_object(c))
        snprintf(err, errlen, "the config must be a JSON object");
    else if (unknown_key(c, err, errlen) == 0 && parse_strings(r, c, err, errlen) == 0 &&
             parse_numbers(r, c, err, errlen) == 0 && parse_layout(r, c, err, errlen) == 0)
        rc = 0;
    json_decref(c);
    return rc;
}

/* ---- connection ---- */

static struct timeval ms_tv(int ms)
{
    return (struct timeval){.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
}

static void drop(redis_sink *r)
{
    redisFree(r->c);
    r->c = NULL;
}

/* Runs a command whose reply must not be an error. */
static int run(redis_sink *r, int argc, const char **argv, const char *what, why_buf *why)
{
    redisReply *rep = redisCommandArgv(r->c, argc, argv, NULL);
    int ok = rep && rep->type != REDIS_REPLY_ERROR;
    if (!ok)
        snprintf(why->s, why->len, "redis %s: %s", what, rep ? rep->str : r->c->errstr);
    freeReplyObject(rep);
    return ok ? 0 : -1;
}

static int connect_redis(redis_sink *r, why_buf *why)
{
    if (r->c)
        return 0;
    r->c = redisConnectWithTimeout(r->hostname, r->port, ms_tv(r->connect_timeout_ms));
    if (!r->c || r->c->err) {
        snprintf(why->s, why->len, "cannot connect to redis at %s:%d: %s", r->hostname, r->port,
                 r->c ? r->c->errstr : "out of memory");
        drop(r);
        return -1;
    }
    redisSetTimeout(r->c, ms_tv(r->command_timeout_ms));
    redisEnableKeepAlive(r->c);
    char db[16];
    snprintf(db, sizeof(db), "%d", r->db);
    const char *auth[] = {"AUTH", r->username ? r->username : r->password, r->password};
    const char *select[] = {"SELECT", db};
    if ((r->password && run(r, r->username ? 3 : 2, auth, "AUTH", why) != 0) ||
        (r->db && run(r, 2, select, "SELECT", why) != 0)) {
        drop(r);
        return -1;
    }
    r->host->log(r->host, HERALD_SINK_LOG_INFO, "connected to redis at %s:%d", r->hostname, r->port);
    return 0;
}

/* ---- one batch ---- */

/* Queues "XADD stream [MAXLEN ~ N] <id>-0 field value …" for ev. */
static void append_xadd(redis_sink *r, const herald_sink_event *ev)
{
    char entry_id[32], time[24], id[24], maxlen[24];
    snprintf(entry_id, sizeof(entry_id), "%" PRIu64 "-0", ev->id);
    snprintf(id, sizeof(id), "%" PRIu64, ev->id);
    snprintf(time, sizeof(time), "%" PRId64, ev->time_ms);
    snprintf(maxlen, sizeof(maxlen), "%lld", r->maxlen);
    const char *argv[20];
    size_t lens[20];
    int n = 0;
#define ARG(s, l) (argv[n] = (s), lens[n] = (l), n++)
#define STR(s) ARG(s, strlen(s))
    STR("XADD");
    STR(r->stream);
    if (r->maxlen) {
        STR("MAXLEN");
        STR("~");
        STR(maxlen);
    }
    STR(entry_id);
    if (r->envelope_layout) {
        STR("envelope");
        ARG(ev->envelope, ev->envelope_len);
    } else {
        STR("id");
        STR(id);
        STR("type");
        STR(ev->type);
        if (ev->room_id) {
            STR("room_id");
            STR(ev->room_id);
        }
        if (ev->user_id) {
            STR("user_id");
            STR(ev->user_id);
        }
        STR("time");
        STR(time);
        STR("data");
        ARG(ev->data, ev->data_len);
    }
#undef STR
#undef ARG
    redisAppendCommandArgv(r->c, n, argv, lens);
}

static int is_duplicate(const redisReply *rep)
{
    return rep->type == REDIS_REPLY_ERROR && strstr(rep->str, "equal or smaller");
}

/* Reads one reply; -1 (with why) on a connection error. */
static int get_reply(redis_sink *r, redisReply **rep, why_buf *why)
{
    void *p = NULL;
    if (redisGetReply(r->c, &p) != REDIS_OK) {
        snprintf(why->s, why->len, "redis at %s:%d: %s", r->hostname, r->port,
                 r->c->errstr[0] ? r->c->errstr : "connection lost");
        *rep = NULL;
        return -1;
    }
    *rep = p;
    return 0;
}

/* Checks EXEC's array: sets is_new[i] for entries added; duplicates are
 * fine, any other error fails the batch. */
static int check_exec(redis_sink *r, const redisReply *exec, size_t n, char *is_new, why_buf *why)
{
    if (exec->type == REDIS_REPLY_ERROR || exec->type != REDIS_REPLY_ARRAY || exec->elements != n) {
        snprintf(why->s, why->len, "redis XADD to %s: %s", r->stream,
                 exec->type == REDIS_REPLY_ERROR ? exec->str : "the transaction was aborted");
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        const redisReply *e = exec->element[i];
        if (e->type == REDIS_REPLY_ERROR && !is_duplicate(e)) {
            snprintf(why->s, why->len, "redis XADD to %s: %s", r->stream, e->str);
            return -1;
        }
        is_new[i] = e->type != REDIS_REPLY_ERROR;
    }
    return 0;
}

/* MULTI, XADD × n, EXEC in one round trip. */
static int write_stream(redis_sink *r, const herald_sink_batch *b, char *is_new, why_buf *why)
{
    const char *multi[] = {"MULTI"}, *exec[] = {"EXEC"};
    redisAppendCommandArgv(r->c, 1, multi, NULL);
    for (size_t i = 0; i < b->n; i++)
        append_xadd(r, &b->events[i]);
    redisAppendCommandArgv(r->c, 1, exec, NULL);
    int rc = 0;
    for (size_t i = 0; i < b->n + 2; i++) {
        redisReply *rep;
        if (get_reply(r, &rep, why) != 0)
            return -1; /* the connection is dropped: nothing left to read */
        if (rc == 0 && i < b->n + 1 && rep->type == REDIS_REPLY_ERROR) {
            snprintf(why->s, why->len, "redis %s: %s", i ? "XADD" : "MULTI", rep->str);
            rc = -1;
        } else if (rc == 0 && i == b->n + 1)
            rc = check_exec(r, rep, b->n, is_new, why);
        freeReplyObject(rep);
    }
    return rc;
}

/* PUBLISH channel envelope for every new event, pipelined. */
static int publish(redis_sink *r, const herald_sink_batch *b, const char *is_new, why_buf *why)
{
    size_t sent = 0;
    for (size_t i = 0; i < b->n; i++) {
        if (!is_new[i])
            continue;
        char *channel = sink_template_expand(r->publish, &b->events[i], NULL);
        const char *argv[] = {"PUBLISH", channel, b->events[i].envelope};
        size_t lens[] = {7, strlen(channel), b->events[i].envelope_len};
        redisAppendCommandArgv(r->c, 3, argv, lens);
        free(channel);
        sent++;
    }
    int rc = 0;
    for (size_t i = 0; i < sent; i++) {
        redisReply *rep;
        if (get_reply(r, &rep, why) != 0)
            return -1;
        if (rc == 0 && rep->type == REDIS_REPLY_ERROR) {
            snprintf(why->s, why->len, "redis PUBLISH: %s", rep->str);
            rc = -1;
        }
        freeReplyObject(rep);
    }
    return rc;
}

static void log_duplicates(redis_sink *r, const herald_sink_batch *b, const char *is_new)
{
    size_t dup = 0;
    for (size_t i = 0; i < b->n; i++)
        dup += !is_new[i];
    if (dup)
        r->host->log(r->host, HERALD_SINK_LOG_WARN,
                     "%zu of %zu events (ids %" PRIu64 "-%" PRIu64 ") were already in stream %s: skipped "
                     "(a batch delivered again, or another writer owns the stream)",
                     dup, b->n, b->events[0].id, b->events[b->n - 1].id, r->stream);
}

static void redis_deliver(void *instance, const herald_sink_batch *batch)
{
    redis_sink *r = instance;
    char msg[512] = "";
    why_buf why = {msg, sizeof(msg)};
    char *is_new = malloc(batch->n);
    memset(is_new, 1, batch->n);
    int rc = connect_redis(r, &why);
    if (rc == 0 && r->stream && (rc = write_stream(r, batch, is_new, &why)) == 0)
        log_duplicates(r, batch, is_new);
    if (rc == 0 && r->publish)
        rc = publish(r, batch, is_new, &why);
    free(is_new);
    if (rc != 0 && r->c) /* in sync or not, start afresh next time */
        drop(r);
    r->host->complete(r->host, batch, rc, rc ? msg : NULL);
}

/* ---- life cycle ---- */

static void redis_destroy(void *instance)
{
    redis_sink *r = instance;
    drop(r);
    free(r->hostname);
    free(r->username);
    free(r->password);
    free(r->stream);
    free(r->publish);
    free(r);
}

static void *redis_create(const herald_sink_host *host, const char *config_json, char *err, size_t errlen)
{
    redis_sink *r = calloc(1, sizeof(*r));
    r->host = host;
    if (parse_config(r, config_json, err, errlen) != 0) {
        redis_destroy(r);
        return NULL;
    }
    /* Not connecting here: a Redis that is down fails batches (retried),
     * only bad settings fail the sink. */
    return r;
}

static const herald_sink_module redis_module = {
    .struct_size = sizeof(herald_sink_module),
    .abi_version = HERALD_SINK_ABI_VERSION,
    .name = "redis",
    .description = "Redis stream (XADD, exactly once by event id) and/or Pub/Sub channels",
    .create = redis_create,
    .deliver = redis_deliver,
    .destroy = redis_destroy,
};

HERALD_SINK_EXPORT const herald_sink_module *herald_sink_entry(void)
{
    return &redis_module;
}
