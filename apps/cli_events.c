/* SPDX-License-Identifier: MIT */
/* cli_events.c — herald-cli's event commands, over the notifier and the
 * event REST calls of the client library.
 *
 *   listen [--metrics]          notifications as JSON lines
 *   publish TYPE [DATA_JSON] [--room R] [--user U] [--idempotency-key K]
 *   publish < events.jsonl      one event object per line
 *   history [--since N] [--limit N] [--room R] [--user U] [--type T]
 *
 * listen runs the notifier on a loop of its own until SIGINT/SIGTERM (exit
 * 0) or until the server closes (exit 1, code and reason on stderr). Once
 * subscribed it says "herald-cli: listening" on stderr. Stdin publishing
 * batches the lines that are already available (up to BATCH_MAX) into one
 * request, so a pipe of many lines costs few requests while lines typed by
 * hand go out one by one.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

#define BATCH_MAX 100

/* ---- listen ---- */

CLI_RUN_OPS(listen_ops, "listen", herald_notifier);

static void on_ready(void *user)
{
    (void)user;
    fputs("herald-cli: listening\n", stderr);
}

static void on_metrics(const char *json, void *user)
{
    (void)user;
    cli_print_line(json, strlen(json));
}

int cli_listen(const cli *c)
{
    cli_run l;
    char err[256] = "";
    memset(&l, 0, sizeof(l));
    herald_notifier_options o = {
        .server = c->server,
        .token = c->token,
        .subscriptions = HERALD_SUBSCRIBE_SERVER_NOTIFICATIONS |
                         (c->metrics ? HERALD_SUBSCRIBE_METRICS : 0),
        .on_ready = on_ready,
        .on_server_notification = cli_print_event,
        .on_metrics = on_metrics,
        .on_close = cli_run_on_close,
        .user = &l,
    };
    herald_notifier *n = herald_notifier_new(&o, err, sizeof(err));
    if (!n)
        return cli_fail("listen", HERALD_EINVAL, err);
    l.ops = &listen_ops;
    l.client = n;
    return cli_run_until_signal(&l);
}

/* ---- publish ---- */

static void print_ids(const cli *c, const herald_publish_result *r)
{
    if (c->json) {
        json_t *v = json_loads(r->response, 0, NULL);
        if (v)
            cli_print_json(v);
        else
            cli_print_line(r->response, strlen(r->response));
        json_decref(v);
        return;
    }
    for (size_t i = 0; i < r->count; i++)
        printf("%" PRIu64 "\n", r->ids[i]);
    fflush(stdout);
}

static int publish_body(const cli *c, json_t *body)
{
    char err[512] = "";
    herald_publish_result r;
    char *text = json_dumps(body, JSON_COMPACT);
    if (!text)
        return cli_fail("publish", HERALD_ENOMEM, "");
    int replayed = 0;
    int rc = herald_publish_json_idem(c->server, c->token, text, strlen(text), c->idempotency_key,
                                      &r, &replayed, err, sizeof(err));
    free(text);
    if (rc != 0)
        return cli_fail("publish", rc, err);
    if (replayed && c->idempotency_key)
        fprintf(stderr, "herald-cli: replayed: idempotency key '%s' was used before; these are "
                        "the ids it got then\n", c->idempotency_key);
    else if (replayed) /* stdin lines with their own idempotency_key */
        fprintf(stderr, "herald-cli: replayed: some events' idempotency_key was used before; "
                        "those ids are the ones they got then\n");
    print_ids(c, &r);
    herald_publish_result_clear(&r);
    return 0;
}

int cli_publish_one(const cli *c, const char *type, const char *data)
{
    char err[512] = "";
    if (!c->json && !c->idempotency_key) {
        uint64_t id;
        int rc = herald_publish(c->server, c->token, type, c->room, c->user, data, &id, err,
                                sizeof(err));
        if (rc != 0)
            return cli_fail("publish", rc, err);
        printf("%" PRIu64 "\n", id);
        return 0;
    }
    /* --json: same body, but keep the server's answer */
    json_error_t jerr;
    json_t *ev = json_pack("{s:s}", "type", type);
    json_t *d = data ? json_loads(data, 0, &jerr) : NULL;
    if (data && !json_is_object(d)) {
        json_decref(ev);
        json_decref(d);
        return cli_fail("publish", HERALD_EINVAL, "data must be a JSON object");
    }
    if (d)
        json_object_set_new(ev, "data", d);
    if (c->room)
        json_object_set_new(ev, "room_id", json_string(c->room));
    if (c->user)
        json_object_set_new(ev, "user_id", json_string(c->user));
    int rc = publish_body(c, ev);
    json_decref(ev);
    return rc;
}

/* Reads stdin by lines into its own buffer, so that it can tell whether
 * more lines are already available without blocking (cli.h). */
char *cli_next_line(cli_line_reader *r, int block, int *would_block)
{
    *would_block = 0;
    for (;;) {
        char *nl = r->buf ? memchr(r->buf + r->start, '\n', r->len - r->start) : NULL;
        if (nl || (r->eof && r->start < r->len)) {
            char *line = r->buf + r->start;
            if (nl) {
                *nl = '\0';
                r->start = (size_t)(nl - r->buf) + 1;
            } else { /* last line without '\n' */
                if (r->len == r->cap && !(r->buf = realloc(r->buf, ++r->cap)))
                    return NULL;
                line = r->buf + r->start;
                r->buf[r->len] = '\0';
                r->start = r->len;
            }
            return line;
        }
        if (r->eof)
            return NULL;
        if (!block) {
            struct pollfd p = {.fd = 0, .events = POLLIN};
            if (poll(&p, 1, 0) <= 0) {
                *would_block = 1;
                return NULL;
            }
        }
        if (r->start > 0) { /* drop consumed lines */
            memmove(r->buf, r->buf + r->start, r->len - r->start);
            r->len -= r->start;
            r->start = 0;
        }
        if (r->cap - r->len < 4096) {
            size_t cap = r->cap ? r->cap * 2 : 65536;
            char *p = realloc(r->buf, cap);
            if (!p)
                return NULL;
            r->buf = p;
            r->cap = cap;
        }
        ssize_t n = read(0, r->buf + r->len, r->cap - r->len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            r->eof = 1;
        else
            r->len += (size_t)n;
    }
}

int cli_publish_stdin(const cli *c)
{
    cli_line_reader r = {0};
    json_t *batch = json_array();
    unsigned long lineno = 0;
    int rc = 0, would_block = 0;
    for (;;) {
        char *line = cli_next_line(&r, json_array_size(batch) == 0, &would_block);
        if (!line || json_array_size(batch) >= BATCH_MAX) {
            if (json_array_size(batch) > 0 && (rc = publish_body(c, batch)) != 0)
                break;
            json_array_clear(batch);
            if (!line && !would_block)
                break;
        }
        if (!line)
            continue;
        lineno++;
        line += strspn(line, " \t\r");
        if (!*line)
            continue;
        json_error_t jerr;
        json_t *ev = json_loads(line, 0, &jerr);
        if (!json_is_object(ev)) {
            if (json_array_size(batch) > 0)
                rc = publish_body(c, batch);
            if (rc == 0) {
                fprintf(stderr, "herald-cli: stdin line %lu: %s\n", lineno,
                        ev ? "not a JSON object" : jerr.text);
                rc = 1;
            }
            json_decref(ev);
            break;
        }
        json_array_append_new(batch, ev);
    }
    json_decref(batch);
    free(r.buf);
    return rc;
}

/* ---- history ---- */

int cli_history(const cli *c)
{
    char err[512] = "";
    herald_history_query q = {
        .since = c->since, .limit = c->limit,
        .room_id = c->room, .user_id = c->user, .type = c->type,
    };
    /* Without --limit, page through everything after --since. */
    for (int page = 0;; page++) {
        char *answer = NULL;
        int rc = herald_history(c->server, c->token, &q, &answer, err, sizeof(err));
        if (rc != 0)
            return cli_fail("history", rc, err);
        json_error_t jerr;
        json_t *root = json_loads(answer, 0, &jerr);
        json_t *events = json_object_get(root, "events");
        if (!json_is_array(events)) {
            fprintf(stderr, "herald-cli: history: unexpected answer: %.200s\n", answer);
            json_decref(root);
            free(answer);
            return 1;
        }
        if (c->json && (page == 0 || json_array_size(events) > 0))
            cli_print_json(root);
        uint64_t last = q.since;
        size_t i;
        json_t *ev;
        json_array_foreach(events, i, ev) {
            if (!c->json)
                cli_print_json(ev);
            json_t *id = json_object_get(ev, "id");
            uint64_t v = json_is_string(id)    ? strtoull(json_string_value(id), NULL, 10)
                         : json_is_integer(id) ? (uint64_t)json_integer_value(id)
                                               : 0;
            if (v > last)
                last = v;
        }
        size_t count = json_array_size(events);
        json_decref(root);
        free(answer);
        if (c->has_limit || count == 0 || last <= q.since)
            return 0;
        q.since = last;
    }
}
