/* SPDX-License-Identifier: MIT */
/* fuzz_client_webhook_verify.c — libFuzzer target for the client
 * library's webhook verification (herald_webhook_verify and
 * herald_webhook_verify_values): outside bytes as headers and body.
 *
 * The input is split at the first four newlines into secret, webhook-id,
 * webhook-timestamp and webhook-signature; the rest is the body. Checks:
 * no crash or sanitizer report on any input; the name/value form and the
 * values form agree; and whenever the secret is usable and the id not
 * empty, herald_webhook_sign's signature for (id, timestamp, body)
 * verifies, alone and among the fuzzed ones, while the same signature
 * over a body one byte longer does not. The body is also given as a gzip
 * batch (Content-Encoding: gzip, issue 18 item 6): herald_webhook_inflate
 * either refuses it or hands back what verify then checks, and verify
 * with the header agrees with verify of the inflated body.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "herald/client.h"

#define NOW 1700000000

/* Copies the next line of [*p, end) into a new NUL-terminated string. */
static char *next_line(const uint8_t **p, const uint8_t *end)
{
    const uint8_t *nl = memchr(*p, '\n', (size_t)(end - *p));
    size_t n = nl ? (size_t)(nl - *p) : (size_t)(end - *p);
    char *s = malloc(n + 1);
    if (!s)
        abort();
    memcpy(s, *p, n);
    s[n] = '\0';
    *p += n + (nl ? 1 : 0);
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *p = data, *end = data + size;
    char *secret = next_line(&p, end), *id = next_line(&p, end);
    char *ts = next_line(&p, end), *sig = next_line(&p, end);
    size_t blen = (size_t)(end - p);
    uint8_t *body = malloc(blen + 1); /* +1: room for the longer body */
    if (!body)
        abort();
    memcpy(body, p, blen);
    body[blen] = 'x';

    herald_webhook_verify_options o = {0, NOW};
    char err[256];
    herald_header h[] = {
        {"Webhook-Id", id}, {"WEBHOOK-TIMESTAMP", ts}, {"webhook-signature", sig}, {"x", "y"},
    };
    int a = herald_webhook_verify(secret, h, 4, body, blen, &o, err, sizeof(err));
    int b = herald_webhook_verify_values(secret, id, ts, sig, body, blen, &o, err, sizeof(err));
    if (a != b)
        abort();

    herald_header gz[] = {
        {"webhook-id", id}, {"webhook-timestamp", ts}, {"webhook-signature", sig}, {"Content-Encoding", "gzip"},
    };
    void *plain = NULL;
    size_t plen = 0;
    int inf = herald_webhook_inflate(gz, 4, body, blen, &plain, &plen, err, sizeof(err));
    if ((inf == 0) != (plain != NULL) || plen > HERALD_WEBHOOK_INFLATE_MAX)
        abort();
    int g = herald_webhook_verify(secret, gz, 4, body, blen, &o, err, sizeof(err));
    if (inf == 0 && g != herald_webhook_verify_values(secret, id, ts, sig, plain, plen, &o, err, sizeof(err)))
        abort(); /* verifying a gzip body is verifying what it inflates to */
    if (inf != 0 && g != inf)
        abort();
    free(plain);

    char good[HERALD_WEBHOOK_SIGNATURE_SIZE];
    if (*id && herald_webhook_sign(secret, id, NOW, body, blen, good, sizeof(good), err,
                                   sizeof(err)) == 0) {
        if (herald_webhook_verify_values(secret, id, "1700000000", good, body, blen, &o, err,
                                         sizeof(err)) != 0)
            abort(); /* a signature we made must verify */
        size_t slen = strlen(sig) < 1000 ? strlen(sig) : 1000;
        char both[1100];
        memcpy(both, sig, slen);
        both[slen] = ' ';
        memcpy(both + slen + 1, good, strlen(good) + 1);
        if (herald_webhook_verify_values(secret, id, "1700000000", both, body, blen, &o, err,
                                         sizeof(err)) != 0)
            abort(); /* one valid signature among others is enough */
        if (herald_webhook_verify_values(secret, id, "1700000000", good, body, blen + 1, &o,
                                         err, sizeof(err)) != HERALD_EWEBHOOK_SIGNATURE)
            abort(); /* a changed body must not verify */
    }
    free(secret);
    free(id);
    free(ts);
    free(sig);
    free(body);
    return 0;
}
