/* SPDX-License-Identifier: MIT */
/* publisher.c — the load generator's event publisher (libcurl multi).
 *
 * Keeps up to `concurrency` POST /v1/events requests in flight on
 * keep-alive HTTP/1.1 connections, each carrying one event (a JSON object
 * body) or a batch (a JSON array). Every event is
 *   {"type":"bench.tick","data":{"t":<CLOCK_REALTIME ns>,"pad":"xx…"}}
 * with the pad sized so the "data" object is `payload` bytes. A slot's body
 * is built once; before each send only the 19-digit "t" values are
 * rewritten in place, so the time is stamped just before the request goes
 * out. With a rate, batch k is not started before t0 + k*batch/rate
 * (open loop); with rate 0 a slot is refilled as soon as its answer comes.
 * A 201 answer's {"ids":[…]} is parsed with jansson: the ids counted are the
 * events acknowledged (durably appended); anything else counts as failed.
 *
 * Rooms (cfg.rooms > 0): event k of the run goes to room "r<k % rooms>"
 * (LG_ROOM_LEN characters, rewritten in place like "t": a "room_id" key in
 * the event for herald, the channel in the URL for Nchan).
 * Nchan mode (cfg.nchan): one message per POST to <url><channel>
 * (http://host:port/pub/bench, or …/pub/r<k> with rooms) whose body is the
 * bare data object {"t":…,"pad":"x…"} of `payload` bytes; 201 (delivered
 * to subscribers) or 202 (queued, no subscriber) acknowledges it.
 *
 * Janus mode (cfg.janus set, janus_body.c): the bodies are JSON arrays of
 * real Janus events POSTed to /janus/events with HTTP Basic auth (any
 * user, the token as password, as Janus's sample handler sends it); the
 * answer is 200 {"ids":[…],"duplicates":N}. Each event is re-stamped
 * before every send so none is a duplicate; with cfg.gzip the stamped body
 * is deflated (zlib, gzip wrapper) per send and sent with
 * Content-Encoding: gzip. cfg.new_conn forbids connection reuse, so every
 * POST opens a new TCP connection (as the sample handler does).
 * With cfg.idem_keys every POST carries a fresh Idempotency-Key (issue
 * 18 item 1: the cost of the key path per publish).
 * With cfg.half "data" starts with "odd":0|1 by the event's place in its
 * POST, so a payload filter {"data.odd":1} passes exactly half of an even
 * batch (the ids of a POST are consecutive: the odd places hold every
 * other id).
 * With p->lat set, each request's time from being handed to libcurl to
 * its completion is recorded there (µs).
 */
#include "lg.h"

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <zlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define T_DIGITS 19

typedef struct slot {
    CURL *h;
    char *body;
    size_t bodylen;
    size_t *toff; /* where each event's "t" digits are */
    size_t *roff; /* rooms: where each event's room name is */
    int nev;      /* events in the body as built */
    size_t *joff; /* Janus mode: 2 offsets per event (janus_body.c) */
    unsigned char *zbody; /* gzip mode: the compressed body */
    size_t zcap, zlen;
    int64_t sent_ns;
    struct curl_slist *ihdrs; /* idem_keys: the headers, the key line last */
    char *ikey;               /* its 20 digits, rewritten per POST */
    int busy;
    char *resp;
    size_t resplen;
} slot;

#define RESP_CAP (256 * 1024)

static size_t on_write(char *p, size_t sz, size_t nm, void *user)
{
    slot *s = user;
    size_t n = sz * nm;
    size_t room = RESP_CAP - 1 - s->resplen;
    size_t take = n < room ? n : room;
    memcpy(s->resp + s->resplen, p, take);
    s->resplen += take;
    s->resp[s->resplen] = 0;
    return n;
}

static void build_body(const lg_pub_cfg *cfg, slot *s, int n)
{
    int pad = cfg->payload - 34; /* {"t":19 digits,"pad":""} is 34 bytes */
    if (pad < 0)
        pad = 0;
    size_t one = 40 + 34 + 24 + 10 + (size_t)pad;
    free(s->body);
    free(s->toff);
    free(s->roff);
    s->body = malloc((size_t)n * (one + 1) + 3);
    s->toff = malloc((size_t)n * sizeof(size_t));
    s->roff = malloc((size_t)n * sizeof(size_t));
    if (!s->body || !s->toff || !s->roff)
        abort();
    char *p = s->body;
    if (n > 1)
        *p++ = '[';
    for (int i = 0; i < n; i++) {
        if (i)
            *p++ = ',';
        if (cfg->nchan) { /* the bare data object */
            p += sprintf(p, "{\"t\":");
            s->toff[i] = (size_t)(p - s->body);
            memset(p, '1', T_DIGITS);
            p += T_DIGITS;
            p += sprintf(p, ",\"pad\":\"");
            memset(p, 'x', (size_t)pad);
            p += pad;
            p += sprintf(p, "\"}");
            continue;
        }
        p += sprintf(p, "{\"type\":\"bench.tick\",");
        if (cfg->rooms > 0) {
            p += sprintf(p, "\"room_id\":\"");
            s->roff[i] = (size_t)(p - s->body);
            memset(p, '0', LG_ROOM_LEN);
            p += LG_ROOM_LEN;
            p += sprintf(p, "\",");
        }
        p += sprintf(p, "\"data\":{");
        if (cfg->half) /* event i of the POST: a filter on "odd" passes half */
            p += sprintf(p, "\"odd\":%d,", i & 1);
        p += sprintf(p, "\"t\":");
        s->toff[i] = (size_t)(p - s->body);
        memset(p, '1', T_DIGITS);
        p += T_DIGITS;
        p += sprintf(p, ",\"pad\":\"");
        memset(p, 'x', (size_t)pad);
        p += pad;
        p += sprintf(p, "\"}}");
    }
    if (n > 1)
        *p++ = ']';
    s->bodylen = (size_t)(p - s->body);
    s->nev = n;
}

static void build_janus(const lg_pub_cfg *cfg, slot *s, int n)
{
    free(s->body);
    free(s->joff);
    s->body = lg_janus_body(cfg->janus, n, &s->bodylen, &s->joff);
    s->nev = n;
    if (cfg->gzip) {
        free(s->zbody);
        s->zcap = compressBound((uLong)s->bodylen) + 64;
        s->zbody = malloc(s->zcap);
        if (!s->zbody)
            abort();
    }
}

/* Deflates the body into zbody with a gzip wrapper. */
static void gzip_body(const lg_pub_cfg *cfg, slot *s)
{
    z_stream z = {0};
    if (deflateInit2(&z, cfg->gzip, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        abort();
    z.next_in = (unsigned char *)s->body;
    z.avail_in = (uInt)s->bodylen;
    z.next_out = s->zbody;
    z.avail_out = (uInt)s->zcap;
    if (deflate(&z, Z_FINISH) != Z_STREAM_END)
        abort();
    s->zlen = z.total_out;
    deflateEnd(&z);
}

static void stamp(slot *s)
{
    int64_t t = lg_realtime_ns(); /* 19 digits until the year 2286 */
    char d[T_DIGITS];
    for (int i = T_DIGITS - 1; i >= 0; i--, t /= 10)
        d[i] = (char)('0' + t % 10);
    for (int i = 0; i < s->nev; i++)
        memcpy(s->body + s->toff[i], d, T_DIGITS);
}

/* The name of room k % rooms (LG_ROOM_LEN characters, no NUL) at out. */
static void room_name(const lg_pub_cfg *cfg, long k, char *out)
{
    char b[32];
    snprintf(b, sizeof b, "r%06ld", k % cfg->rooms);
    memcpy(out, b, LG_ROOM_LEN);
}

static long id_of(json_t *v)
{
    if (json_is_integer(v))
        return (long)json_integer_value(v);
    if (json_is_string(v))
        return strtol(json_string_value(v), NULL, 10);
    return -1;
}

static void finish(lg_pub *p, slot *s, CURLcode rc)
{
    long code = 0;
    curl_easy_getinfo(s->h, CURLINFO_RESPONSE_CODE, &code);
    long got = 0;
    if (p->lat)
        lg_hist_record(p->lat, (uint64_t)((lg_now_ns() - s->sent_ns) / 1000));
    if (p->cfg.nchan && rc == CURLE_OK && (code == 201 || code == 202)) {
        got = s->nev; /* Nchan assigns no ids we need */
        p->last_ack_ns = lg_now_ns();
    } else if (rc == CURLE_OK && code == (p->cfg.janus ? 200 : 201)) {
        json_error_t err;
        json_t *j = json_loadb(s->resp, s->resplen, 0, &err);
        json_t *ids = json_object_get(j, "ids");
        size_t i;
        json_t *v;
        json_array_foreach(ids, i, v)
        {
            long id = id_of(v);
            if (p->first_id < 0 || id < p->first_id)
                p->first_id = id;
            if (id > p->last_id)
                p->last_id = id;
            got++;
        }
        long dups = (long)json_integer_value(json_object_get(j, "duplicates"));
        json_decref(j);
        atomic_fetch_add(&p->dups, dups);
        if (got + dups != s->nev && !p->error[0])
            snprintf(p->error, sizeof p->error, "%ld with %ld ids for %d events", code, got, s->nev);
        p->last_ack_ns = lg_now_ns();
    } else if (!p->error[0]) {
        if (rc != CURLE_OK)
            snprintf(p->error, sizeof p->error, "POST: %s", curl_easy_strerror(rc));
        else
            snprintf(p->error, sizeof p->error, "POST: HTTP %ld %.150s", code, s->resp);
    }
    atomic_fetch_add(&p->acked, got);
    atomic_fetch_add(&p->failed, s->nev - got);
    atomic_fetch_add(&p->requests, 1);
}

void lg_pub_run(lg_pub *p)
{
    const lg_pub_cfg *cfg = &p->cfg;
    int k = cfg->concurrency > 0 ? cfg->concurrency : 1;
    int batch = cfg->batch > 0 && !cfg->nchan ? cfg->batch : 1;
    char url[600];
    p->first_id = p->last_id = -1;
    CURLM *m = curl_multi_init();
    curl_multi_setopt(m, CURLMOPT_MAX_HOST_CONNECTIONS, (long)k);
    curl_multi_setopt(m, CURLMOPT_MAXCONNECTS, (long)k);
    char auth[600];
    if (cfg->janus) { /* Basic, any user, the token as password */
        char cred[300];
        unsigned char b64[420];
        int cl = snprintf(cred, sizeof cred, "janus:%s", cfg->token);
        EVP_EncodeBlock(b64, (const unsigned char *)cred, cl);
        snprintf(auth, sizeof auth, "Authorization: Basic %s", b64);
    } else {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", cfg->token);
    }
    struct curl_slist *hdrs = curl_slist_append(NULL, auth);
    hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
    if (cfg->janus && cfg->gzip)
        hdrs = curl_slist_append(hdrs, "Content-Encoding: gzip");
    hdrs = curl_slist_append(hdrs, "Expect:"); /* no 100-continue round trip */
    slot *slots = calloc((size_t)k, sizeof *slots);
    if (!slots)
        abort();
    for (int i = 0; i < k; i++) {
        slot *s = &slots[i];
        s->h = curl_easy_init();
        s->resp = malloc(RESP_CAP);
        if (!s->h || !s->resp)
            abort();
        curl_easy_setopt(s->h, CURLOPT_URL, cfg->url);
        curl_easy_setopt(s->h, CURLOPT_HTTPHEADER, hdrs);
        curl_easy_setopt(s->h, CURLOPT_WRITEFUNCTION, on_write);
        curl_easy_setopt(s->h, CURLOPT_WRITEDATA, s);
        curl_easy_setopt(s->h, CURLOPT_PRIVATE, s);
        curl_easy_setopt(s->h, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(s->h, CURLOPT_TCP_NODELAY, 1L);
        curl_easy_setopt(s->h, CURLOPT_TIMEOUT, 120L);
        curl_easy_setopt(s->h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
        if (cfg->new_conn)
            curl_easy_setopt(s->h, CURLOPT_FORBID_REUSE, 1L);
    }
    /* idem_keys: each POST gets a key never used before (this run's
     * start time and pid, then a counter), so every publish takes the
     * key path (lookup, then record) without ever being a replay. */
    char kpre[64];
    snprintf(kpre, sizeof kpre, "Idempotency-Key: lg-%lld-%d-", (long long)lg_realtime_ns(), (int)getpid());
    unsigned long long kseq = 0;
    for (int i = 0; cfg->idem_keys && i < k; i++) {
        slot *s = &slots[i];
        for (struct curl_slist *h = hdrs; h; h = h->next)
            s->ihdrs = curl_slist_append(s->ihdrs, h->data);
        char line[128];
        snprintf(line, sizeof line, "%s%020d", kpre, 0);
        s->ihdrs = curl_slist_append(s->ihdrs, line);
        struct curl_slist *last = s->ihdrs;
        while (last->next)
            last = last->next;
        s->ikey = last->data + strlen(kpre);
        curl_easy_setopt(s->h, CURLOPT_HTTPHEADER, s->ihdrs);
    }
    int64_t t0 = lg_now_ns();
    uint64_t jts0 = (uint64_t)(lg_realtime_ns() / 1000), jseq = 0;
    int64_t cap_ns = cfg->max_seconds > 0 ? (int64_t)(cfg->max_seconds * 1e9) : 0;
    long started = 0, nbatch = 0;
    int inflight = 0;
    for (;;) {
        int64_t now = lg_now_ns();
        int stop = cap_ns && now - t0 >= cap_ns;
        int64_t due = 0;
        for (int i = 0; i < k && !stop && started < cfg->events; i++) {
            slot *s = &slots[i];
            if (s->busy)
                continue;
            if (cfg->rate > 0) {
                due = t0 + (int64_t)((double)nbatch * batch / cfg->rate * 1e9);
                if (now < due)
                    break;
            }
            int n = cfg->events - started < batch ? (int)(cfg->events - started) : batch;
            if (s->nev != n)
                (cfg->janus ? build_janus : build_body)(cfg, s, n);
            s->resplen = 0;
            if (cfg->janus) {
                lg_janus_stamp(s->body, s->joff, n, jts0, &jseq);
                p->body_bytes += s->bodylen;
            } else {
                if (cfg->rooms > 0 && !cfg->nchan)
                    for (int e = 0; e < n; e++)
                        room_name(cfg, started + e, s->body + s->roff[e]);
                stamp(s);
            }
            if (cfg->nchan) { /* the channel is in the URL */
                char ch[LG_ROOM_LEN + 1] = "bench";
                if (cfg->rooms > 0) {
                    room_name(cfg, started, ch);
                    ch[LG_ROOM_LEN] = 0;
                }
                snprintf(url, sizeof url, "%s%s", cfg->url, ch);
                curl_easy_setopt(s->h, CURLOPT_URL, url);
            }
            if (cfg->janus && cfg->gzip) {
                gzip_body(cfg, s);
                p->wire_bytes += s->zlen;
                curl_easy_setopt(s->h, CURLOPT_POSTFIELDS, (char *)s->zbody);
                curl_easy_setopt(s->h, CURLOPT_POSTFIELDSIZE, (long)s->zlen);
            } else {
                p->wire_bytes += s->bodylen;
                curl_easy_setopt(s->h, CURLOPT_POSTFIELDS, s->body);
                curl_easy_setopt(s->h, CURLOPT_POSTFIELDSIZE, (long)s->bodylen);
            }
            if (s->ikey) {
                char d[21];
                snprintf(d, sizeof d, "%020llu", ++kseq);
                memcpy(s->ikey, d, 20);
            }
            s->sent_ns = lg_now_ns();
            if (!p->first_send_ns)
                p->first_send_ns = now;
            curl_multi_add_handle(m, s->h);
            s->busy = 1;
            inflight++;
            started += n;
            nbatch++;
            due = 0;
        }
        if (!inflight && (started >= cfg->events || stop))
            break;
        int running = 0, left = 0, completed = 0;
        curl_multi_perform(m, &running);
        CURLMsg *msg;
        while ((msg = curl_multi_info_read(m, &left))) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            slot *s = NULL;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&s);
            CURLcode rc = msg->data.result;
            curl_multi_remove_handle(m, s->h);
            finish(p, s, rc);
            s->busy = 0;
            inflight--;
            completed++;
        }
        if (completed)
            continue;
        int wait_ms = 100;
        if (due) {
            /* rounded up: at high rates a slot goes out up to 1 ms late (its
             * "t" is stamped when it does) rather than the thread spinning */
            int64_t d = (due - lg_now_ns() + 999999) / 1000000;
            wait_ms = d < 0 ? 0 : d < 100 ? (int)d : 100;
        }
        curl_multi_poll(m, NULL, 0, wait_ms, NULL);
    }
    for (int i = 0; i < k; i++) {
        curl_easy_cleanup(slots[i].h);
        free(slots[i].body);
        free(slots[i].toff);
        free(slots[i].roff);
        free(slots[i].joff);
        free(slots[i].zbody);
        free(slots[i].resp);
    }
    for (int i = 0; i < k; i++)
        curl_slist_free_all(slots[i].ihdrs);
    free(slots);
    curl_slist_free_all(hdrs);
    curl_multi_cleanup(m);
    atomic_store(&p->done, 1);
}

void *lg_pub_thread(void *arg)
{
    lg_pub_run(arg);
    return NULL;
}
