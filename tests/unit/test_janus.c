/* SPDX-License-Identifier: MIT */
/* test_janus.c — the Janus body parser and mapper (ingest/janus.c) and the
 * recent-event set (ingest/janus_dedup.c).
 *
 * Every real capture in tests/data/janus/ is fed byte for byte: the
 * single bodies (indented, compact, gzip), and each request of the .jsonl
 * captures (gzip ones decoded from their raw bytes). For every event the
 * type name, the room, the data (equal to the original object, 64-bit
 * integers exact, transport ids still strings, emitter and unknown keys
 * kept) are checked. Then the room rules, bad bodies with their messages,
 * and deduplication of a resent batch.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <openssl/evp.h>

#include "core/event_json.h"
#include "ingest/janus.h"
#include "ingest/janus_dedup.h"
#include "net/http_body.h"

static const hv_janus_opts default_opts = {HV_JANUS_ROOM_OPAQUE_ID, NULL};

static char *data_path(const char *name)
{
    static char path[4096];
    const char *here = __FILE__; /* .../tests/unit/test_janus.c */
    const char *slash = strrchr(here, '/');
    snprintf(path, sizeof(path), "%.*s/../data/janus/%s", (int)(slash - here), here, name);
    return path;
}

static char *read_file(const char *name, size_t *len)
{
    FILE *f = fopen(data_path(name), "rb");
    if (!f)
        fail_msg("cannot open %s", data_path(name));
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = 0;
    fclose(f);
    *len = (size_t)n;
    return buf;
}

/* Checks one mapped event against the original Janus object. */
static void check_event(const hv_event *ev, json_t *orig)
{
    json_int_t type = json_integer_value(json_object_get(orig, "type"));
    assert_string_equal(ev->type, hv_janus_type_name(type));
    json_t *data = json_loads(ev->data, 0, NULL);
    assert_non_null(data);
    assert_true(json_equal(data, orig)); /* every key, every value */
    json_decref(data);
    char want[96];
    snprintf(want, sizeof(want), "\"timestamp\":%lld", (long long)json_integer_value(json_object_get(orig, "timestamp")));
    assert_non_null(strstr(ev->data, want));
    json_t *sid = json_object_get(orig, "session_id");
    if (sid) {
        snprintf(want, sizeof(want), "\"session_id\":%lld", (long long)json_integer_value(sid));
        assert_non_null(strstr(ev->data, want));
    }
    const char *emitter = json_string_value(json_object_get(orig, "emitter"));
    assert_non_null(emitter);
    snprintf(want, sizeof(want), "\"emitter\":\"%s\"", emitter);
    assert_non_null(strstr(ev->data, want));
    const char *opaque = json_string_value(json_object_get(orig, "opaque_id"));
    if (opaque)
        assert_string_equal(ev->room_id, opaque);
    else
        assert_null(ev->room_id);
    assert_null(ev->user_id);
}

/* Parses body; checks each event against the body as jansson reads it.
 * Returns the number of events. */
static size_t check_body(const char *body, size_t len)
{
    hv_janus_batch b;
    char err[256];
    if (hv_janus_parse(body, len, &default_opts, &b, err, sizeof(err)) != 0)
        fail_msg("parse failed: %s", err);
    json_t *root = json_loadb(body, len, 0, NULL);
    assert_non_null(root);
    size_t n = json_is_array(root) ? json_array_size(root) : 1;
    assert_int_equal(b.n, n);
    for (size_t i = 0; i < n; i++)
        check_event(b.evs[i], json_is_array(root) ? json_array_get(root, i) : root);
    json_decref(root);
    hv_janus_batch_free(&b);
    return n;
}

typedef struct sample {
    const char *file;
    size_t n;
    const char *first_type, *last_type;
} sample;

static const sample samples[] = {
    {"01-core-startup.json", 1, "janus.core", "janus.core"},
    {"02-transport-http-request.json", 1, "janus.transport", "janus.transport"},
    {"03-session-created.json", 1, "janus.session", "janus.session"},
    {"04-handle-attached.json", 1, "janus.handle", "janus.handle"},
    {"05-plugin-echotest.json", 1, "janus.plugin", "janus.plugin"},
    {"06-batch-transport-request+external-custom-event.json", 2, "janus.transport", "janus.external"},
    {"07-handle-detached.json", 1, "janus.handle", "janus.handle"},
    {"08-session-destroyed.json", 1, "janus.session", "janus.session"},
    {"09-core-shutdown.json", 1, "janus.core", "janus.core"},
    {"10-nogroup-compact-session-created.json", 1, "janus.session", "janus.session"},
    {"11-nogroup-compact-handle-attached.json", 1, "janus.handle", "janus.handle"},
    {"12-gzip-handle-attached.json.gz", 1, "janus.plugin", "janus.plugin"},
    {"13-batch-14-events-after-retries.json", 14, "janus.transport", "janus.session"},
    {"14-batch-100-events.json", 100, "janus.transport", NULL},
    {"15-jsep-remote-offer.json", 1, "janus.jsep", "janus.jsep"},
    {"16-batch-webrtc-gathering+local-candidates+jsep-local-answer+plugin.json", 6, "janus.webrtc", "janus.plugin"},
    {"17-batch-webrtc-remote-candidate+ice-connecting.json", 3, "janus.transport", "janus.webrtc"},
    {"18-webrtc-ice-failed.json", 1, "janus.webrtc", "janus.webrtc"},
    {"19-media-stats.json", 1, "janus.media", "janus.media"},
    {"20-webrtc-hangup.json", 1, "janus.webrtc", "janus.webrtc"},
    {"21-session-timeout.json", 1, "janus.session", "janus.session"},
    {"22-handle-detached-after-session-timeout.json", 1, "janus.handle", "janus.handle"},
};

static char *maybe_gunzip(const char *name, char *raw, size_t *len)
{
    size_t nl = strlen(name);
    if (nl < 3 || strcmp(name + nl - 3, ".gz") != 0)
        return raw;
    char *out;
    size_t out_len;
    assert_int_equal(hv_gunzip(raw, *len, 4u << 20, &out, &out_len), 0);
    free(raw);
    *len = out_len;
    return out;
}

static void test_samples(void **state)
{
    (void)state;
    for (size_t s = 0; s < sizeof(samples) / sizeof(samples[0]); s++) {
        size_t len;
        char *body = maybe_gunzip(samples[s].file, read_file(samples[s].file, &len), &len);
        assert_int_equal(check_body(body, len), samples[s].n);
        hv_janus_batch b;
        assert_int_equal(hv_janus_parse(body, len, &default_opts, &b, NULL, 0), 0);
        assert_string_equal(b.evs[0]->type, samples[s].first_type);
        if (samples[s].last_type)
            assert_string_equal(b.evs[b.n - 1]->type, samples[s].last_type);
        hv_janus_batch_free(&b);
        free(body);
    }
}

/* The raw bytes of a gzip capture line, decoded and inflated, must be
 * the logged body. */
static char *gzip_body(json_t *line, size_t *len)
{
    const char *b64 = json_string_value(json_object_get(line, "raw_b64"));
    assert_non_null(b64);
    size_t bl = strlen(b64);
    unsigned char *raw = malloc(bl);
    int n = EVP_DecodeBlock(raw, (const unsigned char *)b64, (int)bl);
    assert_true(n > 0);
    for (size_t i = bl; i > 0 && b64[i - 1] == '='; i--)
        n--;
    char *out;
    assert_int_equal(hv_gunzip((const char *)raw, (size_t)n, 4u << 20, &out, len), 0);
    free(raw);
    return out;
}

static size_t check_capture(const char *file)
{
    size_t len, total = 0;
    char *text = read_file(file, &len);
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        json_t *j = json_loads(line, 0, NULL);
        assert_non_null(j);
        const char *body = json_string_value(json_object_get(j, "body"));
        size_t body_len = json_string_length(json_object_get(j, "body"));
        if (json_is_true(json_object_get(j, "gzip"))) {
            size_t gl;
            char *g = gzip_body(j, &gl);
            assert_int_equal(gl, body_len);
            assert_memory_equal(g, body, gl);
            free(g);
        }
        total += check_body(body, body_len);
        json_decref(j);
    }
    free(text);
    return total;
}

static void test_captures(void **state)
{
    (void)state;
    assert_true(check_capture("capture-default-grouped-indented.jsonl") > 10);
    assert_true(check_capture("capture-gzip.jsonl") > 10);
    assert_true(check_capture("capture-jsep-ice.jsonl") > 20);
    assert_int_equal(check_capture("capture-nogroup-compact.jsonl"), 16);
    assert_true(check_capture("capture-retry-after-connection-drops.jsonl") >= 14);
}

static hv_event *parse_single(const char *body, const hv_janus_opts *o, hv_janus_batch *b)
{
    char err[256];
    if (hv_janus_parse(body, strlen(body), o, b, err, sizeof(err)) != 0)
        fail_msg("parse failed: %s", err);
    assert_int_equal(b->n, 1);
    return b->evs[0];
}

static void test_exact_ids_and_unknowns(void **state)
{
    (void)state;
    hv_janus_batch b;
    hv_event *ev = parse_single("{\"emitter\":\"j1\",\"type\":1,\"timestamp\":1795339867854287,"
                                "\"session_id\":8230373760211786,\"event\":{\"name\":\"created\","
                                "\"transport\":{\"transport\":\"janus.transport.http\",\"id\":\"9211554382759587965\"}}}",
                                &default_opts, &b);
    assert_string_equal(ev->data, "{\"emitter\":\"j1\",\"type\":1,\"timestamp\":1795339867854287,"
                                  "\"session_id\":8230373760211786,\"event\":{\"name\":\"created\","
                                  "\"transport\":{\"transport\":\"janus.transport.http\",\"id\":\"9211554382759587965\"}}}");
    hv_janus_batch_free(&b);
    ev = parse_single("  {\"type\": 512, \"x-new\": {\"big\": 9223372036854775807}, \"event\": [1, 2]}  ",
                      &default_opts, &b);
    assert_string_equal(ev->type, "janus.unknown");
    assert_string_equal(ev->data, "{\"type\":512,\"x-new\":{\"big\":9223372036854775807},\"event\":[1,2]}");
    hv_janus_batch_free(&b);
    static const long long codes[] = {1, 2, 4, 8, 16, 32, 64, 128, 256, 0, 3, 1024};
    static const char *names[] = {"janus.session", "janus.handle", "janus.external", "janus.jsep",
                                  "janus.webrtc", "janus.media", "janus.plugin", "janus.transport",
                                  "janus.core", "janus.unknown", "janus.unknown", "janus.unknown"};
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        assert_string_equal(hv_janus_type_name(codes[i]), names[i]);
        assert_true(hv_event_type_valid(names[i]));
    }
}

static void test_room_rules(void **state)
{
    (void)state;
    const char *body = "{\"type\":2,\"session_id\":42,\"handle_id\":7,\"opaque_id\":\"room-a\"}";
    hv_janus_batch b;
    hv_janus_opts o = {HV_JANUS_ROOM_OPAQUE_ID, "janus-"};
    assert_string_equal(parse_single(body, &o, &b)->room_id, "janus-room-a");
    hv_janus_batch_free(&b);
    o.room_from = HV_JANUS_ROOM_SESSION;
    assert_string_equal(parse_single(body, &o, &b)->room_id, "janus-42");
    hv_janus_batch_free(&b);
    o.room_prefix = NULL;
    assert_string_equal(parse_single(body, &o, &b)->room_id, "42");
    hv_janus_batch_free(&b);
    o.room_from = HV_JANUS_ROOM_NONE;
    assert_null(parse_single(body, &o, &b)->room_id);
    hv_janus_batch_free(&b);
    /* no opaque_id, or one that is not a usable room id: no room */
    assert_null(parse_single("{\"type\":256}", &default_opts, &b)->room_id);
    hv_janus_batch_free(&b);
    assert_null(parse_single("{\"type\":2,\"opaque_id\":\"\"}", &default_opts, &b)->room_id);
    hv_janus_batch_free(&b);
    assert_null(parse_single("{\"type\":2,\"opaque_id\":7}", &default_opts, &b)->room_id);
    hv_janus_batch_free(&b);
    assert_int_equal(hv_janus_room_from_parse("opaque_id"), HV_JANUS_ROOM_OPAQUE_ID);
    assert_int_equal(hv_janus_room_from_parse("session"), HV_JANUS_ROOM_SESSION);
    assert_int_equal(hv_janus_room_from_parse("none"), HV_JANUS_ROOM_NONE);
    assert_int_equal(hv_janus_room_from_parse("handle"), -1);
}

static void expect_error(const char *body, size_t len, const char *want)
{
    hv_janus_batch b;
    char err[256];
    assert_int_equal(hv_janus_parse(body, len, &default_opts, &b, err, sizeof(err)), -1);
    assert_int_equal(b.n, 0);
    assert_null(b.evs);
    size_t wl = strlen(want);
    if (wl && want[wl - 1] == '*') /* jansson's own wording after the prefix */
        assert_memory_equal(err, want, wl - 1);
    else
        assert_string_equal(err, want);
}

static void test_bad_bodies(void **state)
{
    (void)state;
    expect_error("", 0, "body is not valid JSON: *");
    expect_error("[{\"type\":1}", 11, "body is not valid JSON: *");
    expect_error("{\"type\":1,}", 11, "body is not valid JSON: *");
    expect_error("\"x\"", 3, "body must be a Janus event object or an array of them");
    expect_error("[]", 2, "no events");
    expect_error("[{\"type\":1},7]", 14, "events[1] must be a JSON object (a Janus event)");
    expect_error("[{\"type\":1},{\"type\":\"1\"}]", 25, "events[1].type must be an integer (the Janus event type)");
    expect_error("{\"event\":{}}", 12, "type must be an integer (the Janus event type)");
    expect_error("{\"type\":1,\"n\":99999999999999999999}", 35, "body is not valid JSON: too big integer*");
    /* a batch may hold up to the publish limit (Janus sends at most 100) */
    size_t n = HV_PUBLISH_MAX_BATCH + 1;
    char *big = malloc(n * 11 + 2);
    size_t len = 0;
    big[len++] = '[';
    for (size_t i = 0; i < n; i++)
        len += (size_t)sprintf(big + len, "%s{\"type\":4}", i ? "," : "");
    big[len++] = ']';
    expect_error(big, len, "too many events: 1001 (at most 1000 per request)");
    big[len - 12] = ']'; /* drop the last element: 1000 is fine */
    hv_janus_batch b;
    assert_int_equal(hv_janus_parse(big, len - 11, &default_opts, &b, NULL, 0), 0);
    assert_int_equal(b.n, HV_PUBLISH_MAX_BATCH);
    hv_janus_batch_free(&b);
    free(big);
}

/* The stored data is the element's own text without the whitespace
 * between tokens: strings, escapes and number spellings as Janus wrote
 * them, and the same event sent indented or compact is the same event. */
static void test_element_text_kept(void **state)
{
    (void)state;
    const char *indented = "[\n   {\n      \"type\": 64,\n      \"s\": \"a b\\\" }, ]\\\\\",\n"
                           "      \"u\": \"\\u00e9\\/\", \"n\": [ 1.50e3 , -0 ],\t\"o\": { }\r\n   } ,{\"type\":2}\n]\n";
    hv_janus_batch b;
    char err[256];
    assert_int_equal(hv_janus_parse(indented, strlen(indented), &default_opts, &b, err, sizeof(err)), 0);
    assert_int_equal(b.n, 2);
    assert_string_equal(b.evs[0]->data,
                        "{\"type\":64,\"s\":\"a b\\\" }, ]\\\\\",\"u\":\"\\u00e9\\/\",\"n\":[1.50e3,-0],\"o\":{}}");
    assert_string_equal(b.evs[1]->data, "{\"type\":2}");
    uint8_t first[HV_JANUS_DIGEST_LEN];
    memcpy(first, b.digests[0], sizeof(first));
    hv_janus_batch_free(&b);
    /* The same event, compact and alone: same text, same digest. */
    const char *compact = "{\"type\":64,\"s\":\"a b\\\" }, ]\\\\\",\"u\":\"\\u00e9\\/\",\"n\":[1.50e3,-0],\"o\":{}}";
    hv_event *ev = parse_single(compact, &default_opts, &b);
    assert_string_equal(ev->data, compact);
    assert_memory_equal(b.digests[0], first, sizeof(first));
    hv_janus_batch_free(&b);
    /* Whatever follows the array is refused, like any bad JSON. */
    static const char *const bad[] = {"[{\"type\":1}] x", "[{\"type\":1} {\"type\":1}]", "[{\"type\":1},]",
                                      "[{\"type\":1},,{\"type\":1}]", "[,{\"type\":1}]"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        expect_error(bad[i], strlen(bad[i]), "body is not valid JSON: *");
    expect_error("{\"type\":2\0\r}", 13, "body is not valid JSON: a NUL byte at offset 9");
    const char *nested = "[{\"type\":1},{\"type\":2},[{\"type\":3}]]";
    expect_error(nested, strlen(nested), "events[2] must be a JSON object (a Janus event)");
}

static void test_dedup_resent_batch(void **state)
{
    (void)state;
    size_t len;
    char *body = read_file("13-batch-14-events-after-retries.json", &len);
    hv_janus_dedup *d = hv_janus_dedup_new(65536);
    hv_janus_batch b1, b2;
    uint8_t keep[14];
    assert_int_equal(hv_janus_parse(body, len, &default_opts, &b1, NULL, 0), 0);
    assert_int_equal(hv_janus_dedup_claim(d, (const uint8_t(*)[32])b1.digests, b1.n, keep), 14);
    /* the same bytes again: every event is a duplicate */
    assert_int_equal(hv_janus_parse(body, len, &default_opts, &b2, NULL, 0), 0);
    assert_int_equal(hv_janus_dedup_claim(d, (const uint8_t(*)[32])b2.digests, b2.n, keep), 0);
    for (int i = 0; i < 14; i++)
        assert_int_equal(keep[i], 0);
    /* a failed commit forgets them: the retry is taken */
    hv_janus_dedup_forget(d, (const uint8_t(*)[32])b1.digests, b1.n);
    assert_int_equal(hv_janus_dedup_claim(d, (const uint8_t(*)[32])b2.digests, b2.n, keep), 14);
    hv_janus_batch_free(&b1);
    hv_janus_batch_free(&b2);
    free(body);
    hv_janus_dedup_free(d);
}

static void test_dedup_same_in_one_batch_and_eviction(void **state)
{
    (void)state;
    const char *body = "[{\"type\":4,\"n\":1},{\"type\":4,\"n\":1},{\"type\":4,\"n\":2},{\"type\":4,\"n\":3}]";
    hv_janus_batch b;
    assert_int_equal(hv_janus_parse(body, strlen(body), &default_opts, &b, NULL, 0), 0);
    const uint8_t(*dg)[32] = (const uint8_t(*)[32])b.digests;
    hv_janus_dedup *d = hv_janus_dedup_new(2); /* remembers the last two */
    uint8_t keep[4];
    assert_int_equal(hv_janus_dedup_claim(d, dg, 4, keep), 3);
    assert_int_equal(keep[0], 1);
    assert_int_equal(keep[1], 0);
    assert_int_equal(hv_janus_dedup_claim(d, dg + 2, 2, keep), 0); /* n=2, n=3 still known */
    assert_int_equal(hv_janus_dedup_claim(d, dg, 1, keep), 1);     /* n=1 was evicted */
    assert_int_equal(hv_janus_dedup_claim(d, dg + 3, 1, keep), 0); /* n=3 still known */
    assert_int_equal(hv_janus_dedup_claim(d, dg + 2, 1, keep), 1); /* n=2 evicted by n=1 */
    hv_janus_dedup_free(d);
    hv_janus_batch_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_samples),
        cmocka_unit_test(test_captures),
        cmocka_unit_test(test_exact_ids_and_unknowns),
        cmocka_unit_test(test_room_rules),
        cmocka_unit_test(test_bad_bodies),
        cmocka_unit_test(test_element_text_kept),
        cmocka_unit_test(test_dedup_resent_batch),
        cmocka_unit_test(test_dedup_same_in_one_batch_and_eviction),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
