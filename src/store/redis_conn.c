/* SPDX-License-Identifier: MIT */
/* redis_conn.c — the Redis engine's connections (redis_internal.h).
 *
 * Synchronous hiredis contexts: the store's calls already run on threads
 * that may block (the hub's commit thread, reader threads, the webhook
 * engine's thread). Each context has a connect and a command timeout
 * (HV_REDIS_TIMEOUT_MS), so a dead Redis makes calls fail instead of hang.
 * After an I/O error the context is dropped and made again (AUTH, SELECT)
 * on the next call; a read may be retried once at once, a write never (the
 * command may have run: rconn.sent tells the caller whether it was sent).
 * Before a command, a connection that became readable while idle is known
 * closed (Redis restarted, or its idle `timeout` closed it) and is made
 * again first, so such a close never fails a command, nor leaves a write
 * in doubt.
 * Failures feed the engine's health state (redis_health.c), and while
 * Redis is marked down every command fails at once, without trying: the
 * outage is logged once there, and no caller waits out a 5 s timeout
 * against a Redis the probe already knows is gone or hung.
 * Scripts are called by EVALSHA; when Redis answers
 * NOSCRIPT (restarted, SCRIPT FLUSH) the call is repeated as EVAL, which
 * loads the script again. Readers come from a small pool guarded by a
 * mutex and a condition variable, like the SQLite engine's.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "core/log.h"
#include "core/xalloc.h"
#include "store/redis_internal.h"

/* ---- argument lists ---- */

void hv__rargs_init(rargs *a)
{
    memset(a, 0, sizeof(*a));
}

void hv__rargs_free(rargs *a)
{
    for (int i = 0; i < a->nown; i++)
        free(a->own[i]);
    free(a->own);
    free(a->v);
    free(a->len);
    memset(a, 0, sizeof(*a));
}

void hv__rargs_add(rargs *a, const char *s, size_t len)
{
    if (a->n == a->cap) {
        a->cap = a->cap ? 2 * a->cap : 16;
        a->v = hv_xrealloc(a->v, (size_t)a->cap * sizeof(*a->v));
        a->len = hv_xrealloc(a->len, (size_t)a->cap * sizeof(*a->len));
    }
    a->v[a->n] = s ? s : "";
    a->len[a->n++] = s ? len : 0;
}

void hv__rargs_str(rargs *a, const char *s)
{
    hv__rargs_add(a, s, s ? strlen(s) : 0);
}

static void ra_owned(rargs *a, char *s)
{
    if ((a->nown & 15) == 0)
        a->own = hv_xrealloc(a->own, (size_t)(a->nown + 16) * sizeof(*a->own));
    a->own[a->nown++] = s;
    hv__rargs_str(a, s);
}

void hv__rargs_copy(rargs *a, const char *s)
{
    ra_owned(a, hv_xstrdup(s));
}

void hv__rargs_u64(rargs *a, uint64_t v)
{
    char buf[24];
    snprintf(buf, sizeof(buf), "%llu", (unsigned long long)v);
    ra_owned(a, hv_xstrdup(buf));
}

void hv__rargs_i64(rargs *a, int64_t v)
{
    char buf[24];
    snprintf(buf, sizeof(buf), "%lld", (long long)v);
    ra_owned(a, hv_xstrdup(buf));
}

void hv__rargs_opt(rargs *a, const char *s)
{
    if (!s) {
        hv__rargs_add(a, "", 0);
        return;
    }
    size_t len = strlen(s);
    char *t = hv_xmalloc(len + 2);
    t[0] = '=';
    memcpy(t + 1, s, len + 1);
    ra_owned(a, t);
}

/* ---- URL ---- */

static int copy_part(char *dst, size_t cap, const char *s, size_t len)
{
    if (len >= cap)
        return -1;
    memcpy(dst, s, len);
    dst[len] = 0;
    return 0;
}

/* url for an error message, its credentials (what precedes the last '@'
 * of the authority) replaced by "***": the message goes to logs. */
static const char *redacted(const char *url, char *buf, size_t len)
{
    const char *scheme = strstr(url, "://");
    const char *auth = scheme ? scheme + 3 : url;
    const char *end = auth + strcspn(auth, "/");
    const char *at = NULL;
    for (const char *p = auth; p < end; p++)
        if (*p == '@')
            at = p;
    if (!at)
        snprintf(buf, len, "%.80s", url);
    else
        snprintf(buf, len, "%.*s***%.80s", (int)(auth - url), url, at);
    return buf;
}

int hv_redis_parse_url(hv_redis *r, const char *url, char *err, size_t errlen)
{
    char shown[128];
    r->port = 6379;
    r->db = 0;
    if (!url || !*url)
        url = "redis://127.0.0.1:6379";
    if (strncmp(url, "redis://", 8) != 0) {
        set_err(err, errlen, "the Redis URL must look like redis://[[user]:password@]host[:port][/db] (got '%s')",
                redacted(url, shown, sizeof(shown)));
        return -1;
    }
    const char *p = url + 8, *end = p + strcspn(p, "/");
    const char *at = memchr(p, '@', (size_t)(end - p));
    if (at) { /* [user]:password@ or password@ */
        const char *colon = memchr(p, ':', (size_t)(at - p));
        const char *pw = colon ? colon + 1 : p;
        if ((colon && copy_part(r->user, sizeof(r->user), p, (size_t)(colon - p)) != 0) ||
            copy_part(r->pass, sizeof(r->pass), pw, (size_t)(at - pw)) != 0) {
            set_err(err, errlen, "Redis URL credentials too long");
            return -1;
        }
        p = at + 1;
    }
    const char *hend = end, *port = NULL;
    if (*p == '[') { /* [IPv6] */
        const char *rb = memchr(p, ']', (size_t)(end - p));
        if (!rb)
            goto bad;
        if (copy_part(r->host, sizeof(r->host), p + 1, (size_t)(rb - p - 1)) != 0)
            goto bad;
        port = rb[1] == ':' ? rb + 2 : NULL;
    } else {
        const char *colon = memchr(p, ':', (size_t)(end - p));
        if (colon) {
            hend = colon;
            port = colon + 1;
        }
        if (copy_part(r->host, sizeof(r->host), p, (size_t)(hend - p)) != 0)
            goto bad;
    }
    if (!r->host[0])
        goto bad;
    if (port) {
        char *e;
        errno = 0;
        long v = strtol(port, &e, 10);
        if (errno || e != end || v < 1 || v > 65535)
            goto bad;
        r->port = (int)v;
    }
    if (*end == '/' && end[1]) {
        char *e;
        long v = strtol(end + 1, &e, 10);
        if (*e || v < 0 || v > 1000000)
            goto bad;
        r->db = (int)v;
    }
    return 0;
bad:
    set_err(err, errlen, "bad Redis URL '%s' (redis://[[user]:password@]host[:port][/db])",
            redacted(url, shown, sizeof(shown)));
    return -1;
}

/* ---- connections ---- */

static struct timeval ms_tv(int ms)
{
    return (struct timeval){ms / 1000, (ms % 1000) * 1000};
}

void hv_redis_disconnect(rconn *c)
{
    if (c->c)
        redisFree(c->c);
    c->c = NULL;
}

/* A command on a fresh context during connect: 0 if Redis said OK. */
static int setup_cmd(redisContext *ctx, int argc, const char **argv, char *err, size_t errlen)
{
    redisReply *rep = redisCommandArgv(ctx, argc, argv, NULL);
    int ok = rep && rep->type != REDIS_REPLY_ERROR;
    if (!ok)
        set_err(err, errlen, "Redis %s failed: %s", argv[0],
                rep ? rep->str : ctx->errstr);
    if (rep)
        freeReplyObject(rep);
    return ok ? 0 : -1;
}

int hv_redis_timed_out(const redisContext *ctx)
{
    /* hiredis 0.14 has no REDIS_ERR_TIMEOUT: a read timeout is an I/O
     * error with the text of EAGAIN. */
    return ctx->err == REDIS_ERR_IO && !strcmp(ctx->errstr, strerror(EAGAIN));
}

int hv_redis_connect(hv_redis *r, rconn *c, char *err, size_t errlen)
{
    return hv_redis_connect_ms(r, c, HV_REDIS_TIMEOUT_MS, err, errlen);
}

int hv_redis_connect_ms(hv_redis *r, rconn *c, int timeout_ms, char *err, size_t errlen)
{
    hv_redis_disconnect(c);
    redisContext *ctx = redisConnectWithTimeout(r->host, r->port, ms_tv(timeout_ms));
    if (!ctx || ctx->err) {
        set_err(err, errlen, "cannot connect to Redis at %s:%d: %s", r->host, r->port,
                ctx ? ctx->errstr : "out of memory");
        if (ctx)
            redisFree(ctx);
        return -1;
    }
    redisSetTimeout(ctx, ms_tv(timeout_ms));
    char db[16];
    snprintf(db, sizeof(db), "%d", r->db);
    const char *auth[] = {"AUTH", r->user[0] ? r->user : r->pass, r->pass};
    const char *select[] = {"SELECT", db};
    if ((r->pass[0] && setup_cmd(ctx, r->user[0] ? 3 : 2, auth, err, errlen) != 0) ||
        (r->db && setup_cmd(ctx, 2, select, err, errlen) != 0)) {
        redisFree(ctx);
        return -1;
    }
    c->c = ctx;
    return 0;
}

void hv_redis_check_idle(rconn *c)
{
    /* Between commands nothing is owed to a synchronous context (every
     * reply was read): readable means EOF or an error. */
    struct pollfd p = {.fd = c->c ? c->c->fd : -1, .events = POLLIN};
    if (c->c && poll(&p, 1, 0) > 0)
        hv_redis_disconnect(c);
}

/* The command on c's context; behind the test hook's gate when c has one
 * (hv_redis commit_gate): both written at once, the gate's answer read
 * first, so a closed gate leaves the command sent and unanswered. */
static redisReply *send_cmd(rconn *c, rargs *a)
{
    if (!c->gate)
        return redisCommandArgv(c->c, a->n, a->v, a->len);
    const char *g[6] = {"BLMOVE", c->gate, c->gate, "LEFT", "LEFT", "0"};
    void *rep = NULL;
    if (redisAppendCommandArgv(c->c, 6, g, NULL) != REDIS_OK ||
        redisAppendCommandArgv(c->c, a->n, a->v, a->len) != REDIS_OK ||
        redisGetReply(c->c, &rep) != REDIS_OK)
        return NULL;
    freeReplyObject(rep); /* the gate's: the list's element, or an error */
    rep = NULL;
    return redisGetReply(c->c, &rep) == REDIS_OK ? rep : NULL;
}

redisReply *hv_redis_cmd(hv_redis *r, rconn *c, rargs *a, int retry)
{
    c->sent = 0;
    for (int attempt = 0; attempt <= (retry ? 1 : 0); attempt++) {
        char err[256];
        if (!hv_redis_health_up(r))
            return NULL; /* known down: logged once by the health state */
        hv_redis_check_idle(c);
        if (!c->c && hv_redis_connect(r, c, err, sizeof(err)) != 0) {
            hv_redis_health_fail(r, 1, err);
            return NULL;
        }
        c->sent = 1;
        redisReply *rep = send_cmd(c, a);
        if (rep)
            return rep;
        if (hv_redis_timed_out(c->c))
            snprintf(err, sizeof(err), "no answer within %d ms", HV_REDIS_TIMEOUT_MS);
        else
            snprintf(err, sizeof(err), "%s", c->c->errstr);
        hv_error("store: redis %s: %s", a->n ? a->v[0] : "?", err);
        /* A plain close may be Redis's idle timeout: the probe decides. */
        hv_redis_health_fail(r, c->c->err != REDIS_ERR_EOF, err);
        hv_redis_disconnect(c);
    }
    return NULL;
}

redisReply *hv_redis_eval(hv_redis *r, rconn *c, int s, rargs *a, int retry)
{
    rargs full;
    hv__rargs_init(&full);
    hv__rargs_str(&full, "EVALSHA");
    hv__rargs_str(&full, r->sha[s]);
    hv__rargs_str(&full, "0");
    for (int i = 0; i < a->n; i++)
        hv__rargs_add(&full, a->v[i], a->len[i]);
    redisReply *rep = hv_redis_cmd(r, c, &full, retry);
    if (rep && rep->type == REDIS_REPLY_ERROR && !strncmp(rep->str, "NOSCRIPT", 8)) {
        freeReplyObject(rep);
        full.v[0] = "EVAL";
        full.len[0] = 4;
        full.v[1] = hv_redis_lua[s];
        full.len[1] = strlen(hv_redis_lua[s]);
        rep = hv_redis_cmd(r, c, &full, retry);
    }
    hv__rargs_free(&full);
    return rep;
}

rconn *hv_redis_reader_acquire(hv_redis *r)
{
    pthread_mutex_lock(&r->mu);
    while (r->nidle == 0)
        pthread_cond_wait(&r->cv, &r->mu);
    rconn *c = r->idle[--r->nidle];
    pthread_mutex_unlock(&r->mu);
    return c;
}

void hv_redis_reader_release(hv_redis *r, rconn *c)
{
    pthread_mutex_lock(&r->mu);
    r->idle[r->nidle++] = c;
    pthread_cond_signal(&r->cv);
    pthread_mutex_unlock(&r->mu);
}

const char *hv_redis_key(hv_redis *r, char *buf, size_t len, const char *suffix)
{
    snprintf(buf, len, "%s%s", r->prefix, suffix);
    return buf;
}

/* ---- replies ---- */

int hv_redis_ok(const redisReply *rep, int type, const char *what)
{
    if (rep && rep->type == type)
        return 1;
    if (rep && rep->type == REDIS_REPLY_ERROR)
        hv_error("store: redis %s: %s", what, rep->str);
    else if (rep)
        hv_error("store: redis %s: unexpected reply type %d", what, rep->type);
    return 0;
}

uint64_t hv_redis_u64(const redisReply *rep)
{
    if (!rep)
        return 0;
    if (rep->type == REDIS_REPLY_INTEGER)
        return rep->integer > 0 ? (uint64_t)rep->integer : 0;
    if (rep->type == REDIS_REPLY_STRING || rep->type == REDIS_REPLY_STATUS)
        return strtoull(rep->str, NULL, 10);
    return 0;
}

uint64_t hv_redis_entry_id(const redisReply *e)
{
    if (!e || e->type != REDIS_REPLY_ARRAY || e->elements < 1 ||
        e->element[0]->type != REDIS_REPLY_STRING)
        return 0;
    return strtoull(e->element[0]->str, NULL, 10);
}

hv_event *hv_redis_entry_event(const redisReply *e)
{
    uint64_t id = hv_redis_entry_id(e);
    if (!id || e->elements < 2 || e->element[1]->type != REDIS_REPLY_ARRAY)
        return NULL;
    const redisReply *f = e->element[1];
    const char *type = NULL, *room = NULL, *user = NULL, *data = NULL;
    size_t data_len = 0;
    int64_t ms = 0;
    double created = 0;
    int has_created = 0;
    for (size_t i = 0; i + 1 < f->elements; i += 2) {
        const redisReply *k = f->element[i], *v = f->element[i + 1];
        if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING || k->len != (k->str[0] == 'm' ? 2u : 1u))
            continue;
        switch (k->str[0]) {
        case 't': type = v->str; break;
        case 'r': room = v->str; break;
        case 'u': user = v->str; break;
        case 'd': data = v->str, data_len = v->len; break;
        case 'm': ms = strtoll(v->str, NULL, 10); break;
        case 'c': created = strtod(v->str, NULL), has_created = 1; break;
        default: break;
        }
    }
    if (!type || !data)
        return NULL;
    hv_event *ev = hv_event_new(type, room, user, data, data_len);
    if (ev) {
        ev->id = id;
        ev->time_ms = ms;
        ev->created_key = created;
        ev->created_set = has_created ? HV_CREATED_KEY : HV_CREATED_NONE;
    }
    return ev;
}

/* The entries array of an XREAD reply on one stream (NULL: none, or *bad
 * when the reply has another shape). */
static const redisReply *xread_entries(const redisReply *rep, int *bad)
{
    *bad = 0;
    if (rep->type == REDIS_REPLY_NIL)
        return NULL;
    if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 1 ||
        rep->element[0]->type != REDIS_REPLY_ARRAY || rep->element[0]->elements != 2 ||
        rep->element[0]->element[1]->type != REDIS_REPLY_ARRAY) {
        *bad = 1;
        return NULL;
    }
    return rep->element[0]->element[1];
}

redisReply *hv_redis_xread(hv_redis *r, rconn *c, const char *suffix, uint64_t after, size_t limit,
                           int wait_ms, const char *what, const redisReply **ents, char *err,
                           size_t errlen)
{
    *ents = NULL;
    if (!c->c && hv_redis_connect(r, c, err, errlen) != 0)
        return NULL;
    char key[256], from[32];
    hv_redis_key(r, key, sizeof(key), suffix);
    snprintf(from, sizeof(from), "%llu-0", (unsigned long long)after);
    rargs a;
    hv__rargs_init(&a);
    hv__rargs_str(&a, "XREAD");
    hv__rargs_str(&a, "COUNT");
    hv__rargs_u64(&a, limit ? limit : 1);
    if (wait_ms > 0) {
        hv__rargs_str(&a, "BLOCK");
        hv__rargs_i64(&a, wait_ms);
    }
    hv__rargs_str(&a, "STREAMS");
    hv__rargs_str(&a, key);
    hv__rargs_str(&a, from);
    /* Straight on the connection: a blocking read that finds nothing is
     * not a failure of Redis (hv_redis_cmd would count it as one). */
    redisReply *rep = redisCommandArgv(c->c, a.n, a.v, a.len);
    hv__rargs_free(&a);
    if (!rep) {
        set_err(err, errlen, "%s: %s", what, c->c->errstr);
        hv_redis_disconnect(c);
        return NULL;
    }
    int bad = 0;
    *ents = rep->type == REDIS_REPLY_ERROR ? NULL : xread_entries(rep, &bad);
    if (rep->type == REDIS_REPLY_ERROR || bad) {
        set_err(err, errlen, "%s: %s", what,
                rep->type == REDIS_REPLY_ERROR ? rep->str : "unexpected XREAD reply");
        freeReplyObject(rep);
        *ents = NULL;
        return NULL;
    }
    return rep;
}

redisReply *hv_redis_reader_run(hv_redis *r, rargs *a, int script, int retry)
{
    rconn *c = hv_redis_reader_acquire(r);
    redisReply *rep = script >= 0 ? hv_redis_eval(r, c, script, a, retry) : hv_redis_cmd(r, c, a, retry);
    hv_redis_reader_release(r, c);
    hv__rargs_free(a);
    return rep;
}
