/* SPDX-License-Identifier: MIT */
/* cli_webhooks.c — herald-cli's webhook commands: the /v1/webhooks
 * endpoint calls of the client library (server token), and the dispatch
 * to webhook-listen (cli_webhook_listen.c).
 *
 *   webhooks add --url U [--event-types a,b] [--room-ids r1,r2]
 *                [--format json|protobuf|jellyfish-json] [--secret S]
 *                [--description D] [--filter JSON] [--retry-schedule S,…]
 *                [--retry-schedules JSON] [--breaker-threshold N]
 *                [--batch N[:T_ms][:gzip] | off]
 *                [--rate-limit PER_SECOND[:BURST] | none]
 *                                          prints the endpoint with its secret
 *                                          (--filter: a payload filter, docs/webhooks.md;
 *                                          on update, --filter null removes it,
 *                                          --rate-limit none and --batch off too, and
 *                                          "default" for the retry schedule(s) and the
 *                                          breaker threshold goes back to the server's)
 *   webhooks update ID [the options of add] [--rotate-secret]
 *                                          prints the endpoint (the secret
 *                                          when it changed)
 *   webhooks list                          one endpoint per line (--json: the answer)
 *   webhooks get ID                        the endpoint with "pending"
 *   webhooks delete ID                     prints nothing
 *   webhooks disable ID, webhooks enable ID  print the endpoint
 *   webhooks deliveries ID [--limit N] [--before ATTEMPT_ID]
 *                                          one attempt per line, newest first
 *                                          (--json: the answer)
 *   webhooks replay ID --since-id N | --since TIME   prints {"replayed":n}
 *   webhooks retry ID DELIVERY_ID          prints {"delivery_id":…,"status":"queued"}
 *   webhook-listen --secret S [--port P] [--host H] [--tolerance SECONDS]
 *
 * These commands take options the others do not (and --since here is a
 * time, not an event id), so they parse their own: herald-cli.c hands
 * over the whole command line when the command word is one of these.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "hv_parse.h"

enum {
    W_SERVER = 256, W_TOKEN, W_JSON, W_URL, W_EVENT_TYPES, W_ROOM_IDS, W_FORMAT, W_SECRET,
    W_DESCRIPTION, W_ROTATE, W_LIMIT, W_BEFORE, W_SINCE_ID, W_SINCE, W_PORT, W_HOST,
    W_TOLERANCE, W_FILTER, W_RETRY_SCHEDULE, W_RETRY_SCHEDULES, W_BREAKER_THRESHOLD, W_BATCH,
    W_RATE_LIMIT,
};
#define WBIT(o) (1u << ((o) - W_SERVER))

static const struct option wopts[] = {
    {"server", required_argument, NULL, W_SERVER},
    {"token", required_argument, NULL, W_TOKEN},
    {"json", no_argument, NULL, W_JSON},
    {"help", no_argument, NULL, 'h'},
    {"url", required_argument, NULL, W_URL},
    {"event-types", required_argument, NULL, W_EVENT_TYPES},
    {"room-ids", required_argument, NULL, W_ROOM_IDS},
    {"format", required_argument, NULL, W_FORMAT},
    {"secret", required_argument, NULL, W_SECRET},
    {"description", required_argument, NULL, W_DESCRIPTION},
    {"rotate-secret", no_argument, NULL, W_ROTATE},
    {"limit", required_argument, NULL, W_LIMIT},
    {"before", required_argument, NULL, W_BEFORE},
    {"since-id", required_argument, NULL, W_SINCE_ID},
    {"since", required_argument, NULL, W_SINCE},
    {"port", required_argument, NULL, W_PORT},
    {"host", required_argument, NULL, W_HOST},
    {"tolerance", required_argument, NULL, W_TOLERANCE},
    {"filter", required_argument, NULL, W_FILTER},
    {"retry-schedule", required_argument, NULL, W_RETRY_SCHEDULE},
    {"retry-schedules", required_argument, NULL, W_RETRY_SCHEDULES},
    {"breaker-threshold", required_argument, NULL, W_BREAKER_THRESHOLD},
    {"batch", required_argument, NULL, W_BATCH},
    {"rate-limit", required_argument, NULL, W_RATE_LIMIT},
    {NULL, 0, NULL, 0},
};

#define ENDPOINT_OPTS                                                                    \
    (WBIT(W_URL) | WBIT(W_EVENT_TYPES) | WBIT(W_ROOM_IDS) | WBIT(W_FORMAT) | WBIT(W_SECRET) | \
     WBIT(W_DESCRIPTION) | WBIT(W_FILTER) | WBIT(W_RETRY_SCHEDULE) | WBIT(W_RETRY_SCHEDULES) |  \
     WBIT(W_BREAKER_THRESHOLD) | WBIT(W_BATCH) | WBIT(W_RATE_LIMIT))

/* Each subcommand: its options (besides --server, --token, --json) and
 * how many ids follow it. */
static const struct {
    const char *name;
    unsigned allowed;
    int nids;
    const char *ids;
} subs[] = {
    {"add", ENDPOINT_OPTS, 0, ""},
    {"update", ENDPOINT_OPTS | WBIT(W_ROTATE), 1, "ID"},
    {"list", 0, 0, ""},
    {"get", 0, 1, "ID"},
    {"delete", 0, 1, "ID"},
    {"disable", 0, 1, "ID"},
    {"enable", 0, 1, "ID"},
    {"deliveries", WBIT(W_LIMIT) | WBIT(W_BEFORE), 1, "ID"},
    {"replay", WBIT(W_SINCE_ID) | WBIT(W_SINCE), 1, "ID"},
    {"retry", 0, 2, "ID and DELIVERY_ID"},
};

typedef struct wcli {
    cli c;
    const char *url, *event_types, *room_ids, *format, *secret, *description, *since;
    const char *filter; /* --filter JSON (payload filter; "null" removes it on update) */
    const char *retry_schedule, *retry_schedules, *breaker_threshold; /* issue 18 */
    const char *batch; /* --batch N[:T_ms][:gzip] | off (cli_webhook_batch.c) */
    const char *rate_limit; /* --rate-limit PER_SECOND[:BURST] or none (issue 18 item 2) */
    int rotate, has_since_id;
    unsigned limit;
    uint64_t before, since_id;
} wcli;

/* "a,b" → a JSON array of strings; NULL on an empty item. */
static json_t *split_list(const char *list)
{
    json_t *arr = json_array();
    const char *p = list;
    while (arr && *p) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        json_t *s = n ? json_stringn(p, n) : NULL;
        if (!s || json_array_append_new(arr, s) != 0) {
            json_decref(arr);
            return NULL;
        }
        p += n + (comma ? 1 : 0);
        if (comma && !*p) { /* trailing comma */
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

/* --rate-limit "10", "2.5:20" or "none" (per_second 0): 1, or 0 when it
 * is not of that form (the server checks the bounds). burst 0: not given. */
static int rate_limit_arg(const char *s, double *per_second, int *burst)
{
    *per_second = 0;
    *burst = 0;
    if (!strcmp(s, "none"))
        return 1;
    char *end;
    *per_second = strtod(s, &end);
    if (end == s || !(*per_second > 0))
        return 0;
    if (*end == ':') {
        uint64_t n;
        if (hv_parse_u64(end + 1, &n) != 0 || n == 0 || n > 1000000)
            return 0;
        *burst = (int)n;
        return 1;
    }
    return *end == '\0';
}

/* --retry-schedule, --retry-schedules and --breaker-threshold into b
 * ("default": null, the server's again); NULL (b freed, *rc = 2) when one
 * is not even of the right kind (the server checks the rest). */
static json_t *delivery_controls(const wcli *w, json_t *b, int *rc)
{
    const char *opt = NULL;
    if (w->retry_schedule)
        json_object_set_new(b, "retry_schedule", !strcmp(w->retry_schedule, "default")
                                                     ? json_null()
                                                     : json_string(w->retry_schedule));
    if (w->retry_schedules) {
        json_t *v = !strcmp(w->retry_schedules, "default") ? json_null() : json_loads(w->retry_schedules, 0, NULL);
        if (!v)
            opt = "--retry-schedules needs a JSON object such as '{\"payment.*\":[1,5,30]}' or default";
        else
            json_object_set_new(b, "retry_schedules", v);
    }
    if (w->breaker_threshold) {
        uint64_t n;
        if (!strcmp(w->breaker_threshold, "default"))
            json_object_set_new(b, "breaker_threshold", json_null());
        else if (hv_parse_u64(w->breaker_threshold, &n) != 0 || n > 10000)
            opt = "--breaker-threshold needs a number from 0 to 10000 or default";
        else
            json_object_set_new(b, "breaker_threshold", json_integer((json_int_t)n));
    }
    if (w->batch && !opt)
        opt = cli_webhook_batch(w->batch, b);
    if (w->rate_limit) {
        double per_second;
        int burst;
        if (!rate_limit_arg(w->rate_limit, &per_second, &burst))
            opt = "--rate-limit needs PER_SECOND[:BURST] (e.g. 10 or 10:20) or none";
        else
            json_object_set_new(b, "rate_limit", per_second <= 0 ? json_null()
                                                 : burst <= 0    ? json_real(per_second)
                                                                 : json_pack("{s:f,s:i}", "per_second", per_second,
                                                                             "burst", burst));
    }
    if (opt) {
        json_decref(b);
        *rc = cli_usage_error("%s", opt);
        return NULL;
    }
    return b;
}

/* The endpoint fields given on the command line as a JSON object; NULL
 * (after a usage message, *rc = 2) on a bad list. */
static json_t *endpoint_body(const wcli *w, int *rc)
{
    json_t *b = json_object();
    const char *keys[] = {"url", "format", "secret", "description"};
    const char *vals[] = {w->url, w->format, w->secret, w->description};
    for (size_t i = 0; i < 4; i++)
        if (vals[i] && json_object_set_new(b, keys[i], json_string(vals[i])) != 0) {
            json_decref(b);
            *rc = cli_usage_error("--%s is not valid UTF-8", keys[i]);
            return NULL;
        }
    const char *lkeys[] = {"event_types", "room_ids"}, *lopts[] = {"event-types", "room-ids"};
    const char *lvals[] = {w->event_types, w->room_ids};
    for (size_t i = 0; i < 2; i++) {
        if (!lvals[i])
            continue;
        json_t *arr = split_list(lvals[i]);
        if (!arr) {
            json_decref(b);
            *rc = cli_usage_error("--%s is a comma-separated list without empty items",
                                  lopts[i]);
            return NULL;
        }
        json_object_set_new(b, lkeys[i], arr);
    }
    if (w->filter) {
        json_t *f = json_loads(w->filter, JSON_DECODE_ANY, NULL);
        if (!f) {
            json_decref(b);
            *rc = cli_usage_error("%s", "--filter is a JSON object (or null to remove it)");
            return NULL;
        }
        json_object_set_new(b, "filter", f);
    }
    return delivery_controls(w, b, rc);
}

/* Prints an answer: whole, or each element of its array member one per
 * line (the default for lists). */
static int print_answer(const char *what, const char *json, const char *list_member)
{
    json_t *root = json_loads(json, 0, NULL);
    json_t *arr = list_member ? json_object_get(root, list_member) : NULL;
    int rc = 0;
    if (!root) {
        rc = cli_fail(what, HERALD_EPROTO, "the answer is not JSON");
    } else if (list_member && !json_is_array(arr)) {
        rc = cli_fail(what, HERALD_EPROTO, "the answer has no list");
    } else if (list_member) {
        size_t i;
        json_t *v;
        json_array_foreach(arr, i, v) cli_print_json(v);
    } else {
        cli_print_json(root);
    }
    json_decref(root);
    return rc;
}

static int run_sub(const wcli *w, const char *sub, char **ids)
{
    const cli *c = &w->c;
    char err[512] = "", what[64];
    char *out = NULL;
    int rc;
    snprintf(what, sizeof(what), "webhooks %s", sub);
    if (!strcmp(sub, "add") || !strcmp(sub, "update")) {
        int urc = 0;
        json_t *b = endpoint_body(w, &urc);
        if (!b)
            return urc;
        if (!strcmp(sub, "add") && !w->url) {
            json_decref(b);
            return cli_usage_error("%s", "webhooks add needs --url");
        }
        if (w->rotate)
            json_object_set_new(b, "rotate_secret", json_true());
        if (!strcmp(sub, "update") && json_object_size(b) == 0) {
            json_decref(b);
            return cli_usage_error("%s", "webhooks update needs something to change");
        }
        if (!strcmp(sub, "add")) {
            /* herald_webhook_create takes a config; the lists go as parsed. */
            json_t *et = json_object_get(b, "event_types"), *ri = json_object_get(b, "room_ids");
            const char *types[100], *rooms[100];
            size_t nt = 0, nr = 0;
            for (; nt < json_array_size(et) && nt < 100; nt++)
                types[nt] = json_string_value(json_array_get(et, nt));
            for (; nr < json_array_size(ri) && nr < 100; nr++)
                rooms[nr] = json_string_value(json_array_get(ri, nr));
            if (json_array_size(et) > 100 || json_array_size(ri) > 100) {
                json_decref(b);
                return cli_usage_error("%s", "at most 100 event types and 100 room ids");
            }
            herald_webhook_config cfg = {w->url, types, nt, rooms, nr, w->format, w->secret,
                                         w->description};
            /* the fields herald_webhook_config does not carry go as extra JSON */
            json_t *extra = json_object();
            static const char *const more[] = {"filter", "retry_schedule", "retry_schedules", "breaker_threshold",
                                               "batch", "rate_limit"};
            for (size_t i = 0; i < sizeof(more) / sizeof(more[0]); i++)
                if (json_object_get(b, more[i]))
                    json_object_set(extra, more[i], json_object_get(b, more[i]));
            char *extra_text = json_object_size(extra) ? json_dumps(extra, JSON_COMPACT) : NULL;
            json_decref(extra);
            rc = herald_webhook_create_ex(c->server, c->token, &cfg, extra_text, &out, NULL, err, sizeof(err));
            free(extra_text);
        } else if (w->batch && json_object_size(b) == 1) {
            rc = cli_webhook_set_batch(c, ids[0], json_object_get(b, "batch"), &out, err, sizeof(err));
        } else if (w->filter && json_object_size(b) == 1) {
            /* only --filter: the client library's call for it ("null" removes) */
            json_t *f = json_object_get(b, "filter");
            rc = herald_webhook_set_filter(c->server, c->token, ids[0], json_is_null(f) ? NULL : w->filter,
                                           &out, NULL, err, sizeof(err));
        } else if (w->rate_limit && json_object_size(b) == 1) {
            /* only --rate-limit: the client library's call for it */
            double per_second;
            int burst;
            rate_limit_arg(w->rate_limit, &per_second, &burst);
            rc = herald_webhook_set_rate_limit(c->server, c->token, ids[0], per_second, burst, &out, NULL, err,
                                               sizeof(err));
        } else {
            char *patch = json_dumps(b, JSON_COMPACT);
            rc = patch ? herald_webhook_update(c->server, c->token, ids[0], patch, &out, NULL,
                                               err, sizeof(err))
                       : HERALD_ENOMEM;
            free(patch);
        }
        json_decref(b);
    } else if (!strcmp(sub, "list")) {
        rc = herald_webhook_list(c->server, c->token, &out, NULL, err, sizeof(err));
        if (rc == 0) {
            rc = print_answer(what, out, c->json ? NULL : "webhooks");
            free(out);
            return rc;
        }
    } else if (!strcmp(sub, "get")) {
        rc = herald_webhook_get(c->server, c->token, ids[0], &out, NULL, err, sizeof(err));
    } else if (!strcmp(sub, "delete")) {
        rc = herald_webhook_delete(c->server, c->token, ids[0], NULL, err, sizeof(err));
        return rc ? cli_fail(what, rc, err) : 0;
    } else if (!strcmp(sub, "disable")) {
        rc = herald_webhook_disable(c->server, c->token, ids[0], &out, NULL, err, sizeof(err));
    } else if (!strcmp(sub, "enable")) {
        rc = herald_webhook_enable(c->server, c->token, ids[0], &out, NULL, err, sizeof(err));
    } else if (!strcmp(sub, "deliveries")) {
        rc = herald_webhook_deliveries(c->server, c->token, ids[0], w->limit, w->before, &out,
                                       NULL, err, sizeof(err));
        if (rc == 0) {
            rc = print_answer(what, out, c->json ? NULL : "deliveries");
            free(out);
            return rc;
        }
    } else if (!strcmp(sub, "replay")) {
        if (!w->since == !w->has_since_id)
            return cli_usage_error("%s", "webhooks replay needs --since-id N or --since TIME");
        rc = herald_webhook_replay(c->server, c->token, ids[0], w->since_id, w->since, &out,
                                   NULL, err, sizeof(err));
    } else { /* retry */
        uint64_t did;
        if (hv_parse_u64(ids[1], &did) != 0)
            return cli_usage_error("DELIVERY_ID is a number, got '%s'", ids[1]);
        rc = herald_webhook_retry(c->server, c->token, ids[0], did, &out, NULL, err,
                                  sizeof(err));
    }
    if (rc != 0)
        return cli_fail(what, rc, err);
    rc = print_answer(what, out, NULL);
    free(out);
    return rc;
}

/* Finds the command word: the first argument that is no option or
 * option value (only --server and --token take values before it). */
static const char *command_word(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--"))
            return i + 1 < argc ? argv[i + 1] : NULL;
        if (a[0] != '-')
            return a;
        if (!strcmp(a, "--server") || !strcmp(a, "--token"))
            i++;
    }
    return NULL;
}

int cli_webhooks_dispatch(int argc, char **argv)
{
    const char *word = command_word(argc, argv);
    if (!word || (strcmp(word, "webhooks") != 0 && strcmp(word, "webhook-listen") != 0))
        return -1;
    wcli w = {0};
    const char *host = NULL, *port = NULL, *tolerance = NULL;
    w.c.server = getenv("HERALD_SERVER");
    w.c.token = getenv("HERALD_TOKEN");
    w.c.server = w.c.server && *w.c.server ? w.c.server : NULL;
    w.c.token = w.c.token && *w.c.token ? w.c.token : NULL;
    int opt;
    unsigned seen = 0;
    uint64_t num;
    opterr = 0;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "h", wopts, NULL)) != -1) {
        if (opt >= W_SERVER)
            seen |= WBIT(opt);
        switch (opt) {
        case W_SERVER: w.c.server = optarg; break;
        case W_TOKEN: w.c.token = optarg; break;
        case W_JSON: w.c.json = 1; break;
        case W_URL: w.url = optarg; break;
        case W_EVENT_TYPES: w.event_types = optarg; break;
        case W_ROOM_IDS: w.room_ids = optarg; break;
        case W_FORMAT: w.format = optarg; break;
        case W_SECRET: w.secret = optarg; break;
        case W_DESCRIPTION: w.description = optarg; break;
        case W_ROTATE: w.rotate = 1; break;
        case W_SINCE: w.since = optarg; break;
        case W_HOST: host = optarg; break;
        case W_PORT: port = optarg; break;
        case W_TOLERANCE: tolerance = optarg; break;
        case W_FILTER: w.filter = optarg; break;
        case W_RETRY_SCHEDULE: w.retry_schedule = optarg; break;
        case W_RETRY_SCHEDULES: w.retry_schedules = optarg; break;
        case W_BREAKER_THRESHOLD: w.breaker_threshold = optarg; break;
        case W_BATCH: w.batch = optarg; break;
        case W_RATE_LIMIT: w.rate_limit = optarg; break;
        case W_LIMIT:
            if (hv_parse_u64(optarg, &num) != 0 || num == 0 || num > 1000)
                return cli_usage_error("--limit needs a number from 1 to 1000, got '%s'", optarg);
            w.limit = (unsigned)num;
            break;
        case W_BEFORE:
            if (hv_parse_u64(optarg, &w.before) != 0 || w.before == 0)
                return cli_usage_error("--before needs a delivery attempt id, got '%s'", optarg);
            break;
        case W_SINCE_ID:
            if (hv_parse_u64(optarg, &w.since_id) != 0)
                return cli_usage_error("--since-id needs an event id, got '%s'", optarg);
            w.has_since_id = 1;
            break;
        case 'h':
            fputs("usage: see 'herald-cli --help' (webhooks, webhook-listen)\n", stdout);
            return 0;
        default:
            return cli_usage_error("unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    char **args = argv + optind + 1;
    int nargs = argc - optind - 1;
    unsigned common = WBIT(W_SERVER) | WBIT(W_TOKEN) | WBIT(W_JSON);
    if (!strcmp(word, "webhook-listen")) {
        unsigned extra = seen & ~(WBIT(W_SECRET) | WBIT(W_PORT) | WBIT(W_HOST) |
                                  WBIT(W_TOLERANCE) | common);
        if (extra)
            return cli_usage_error("%s", "webhook-listen takes --secret, --port, --host and "
                                         "--tolerance");
        if (nargs > 0)
            return cli_usage_error("webhook-listen takes no argument, got '%s'", args[0]);
        return cli_webhook_listen(w.secret, host, port, tolerance);
    }
    const char *sub = nargs > 0 ? args[0] : NULL;
    for (size_t i = 0; sub && i < sizeof(subs) / sizeof(subs[0]); i++) {
        if (strcmp(subs[i].name, sub) != 0)
            continue;
        unsigned extra = seen & ~(subs[i].allowed | common);
        for (const struct option *o = wopts; extra && o->name; o++)
            if (o->val >= W_SERVER && (extra & WBIT(o->val))) {
                char msg[160];
                snprintf(msg, sizeof(msg), "'webhooks %s' does not take --%s", sub, o->name);
                return cli_usage_error("%s", msg);
            }
        if (nargs - 1 < subs[i].nids) {
            char msg[96];
            snprintf(msg, sizeof(msg), "webhooks %s needs %s", sub, subs[i].ids);
            return cli_usage_error("%s", msg);
        }
        if (nargs - 1 > subs[i].nids)
            return cli_usage_error("unexpected argument '%s'", args[subs[i].nids + 1]);
        return run_sub(&w, sub, args + 1);
    }
    const char *names = "add, update, list, get, delete, disable, enable, deliveries, replay, "
                        "retry";
    char msg[200];
    if (sub)
        snprintf(msg, sizeof(msg), "unknown webhooks command '%s' (%s)", sub, names);
    else
        snprintf(msg, sizeof(msg), "webhooks needs a command: %s", names);
    return cli_usage_error("%s", msg);
}
