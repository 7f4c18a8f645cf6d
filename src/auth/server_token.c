/* SPDX-License-Identifier: MIT */
/* server_token.c — the server token check; see server_token.h. */
#include "auth/server_token.h"

#include "auth/console_token.h"
#include "core/clock.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <uv.h>

/* SHA256() looks the algorithm up in OpenSSL's provider tables on every
 * call (EVP_Q_digest), which cost more than the digest itself: 4 % of the
 * server's CPU at 20,000 publishes/s. The implementation is fetched once. */
static EVP_MD *g_sha256;
static uv_once_t g_sha256_once = UV_ONCE_INIT;

static void sha256_fetch(void)
{
    g_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    if (!g_sha256)
        abort(); /* OpenSSL without SHA-256: nothing could be checked */
}

static void sha256(const void *data, size_t len, unsigned char out[SHA256_DIGEST_LENGTH])
{
    uv_once(&g_sha256_once, sha256_fetch);
    if (!EVP_Digest(data, len, out, NULL, g_sha256, NULL))
        abort();
}

int hv_auth_token_ok(hv_server *srv, const char *token, size_t len)
{
    /* Compare digests, so neither the content nor the length of the
     * server token leaks through timing. */
    unsigned char want[SHA256_DIGEST_LENGTH], got[SHA256_DIGEST_LENGTH];
    sha256(srv->cfg.token, strlen(srv->cfg.token), want);
    sha256(token, len, got);
    return CRYPTO_memcmp(want, got, sizeof(want)) == 0;
}

hv_token_kind hv_auth_token_kind(hv_server *srv, const char *token, size_t len, int64_t *exp_s)
{
    if (hv_auth_token_ok(srv, token, len))
        return HV_TOKEN_SERVER;
    if (!hv_console_token_is(token, len))
        return HV_TOKEN_INVALID;
    switch (hv_console_token_check(srv->cfg.token, token, len, hv_now_ms() / 1000, exp_s)) {
    case HV_CTOK_OK:
        return HV_TOKEN_CONSOLE;
    case HV_CTOK_EXPIRED:
        return HV_TOKEN_CONSOLE_EXPIRED;
    default:
        return HV_TOKEN_INVALID;
    }
}

const char *hv_auth_bearer(const char *auth)
{
    if (!auth || strncasecmp(auth, "Bearer ", 7) != 0 || !auth[7])
        return NULL;
    const char *tok = auth + 7;
    while (*tok == ' ')
        tok++;
    return tok;
}

int hv_auth_is_server(hv_server *srv, const hv_http_req *r)
{
    const char *tok = hv_auth_bearer(hv_http_header_get(r, "authorization"));
    if (!tok || !*tok)
        return 0;
    hv_token_kind k = hv_auth_token_kind(srv, tok, strlen(tok), NULL);
    return k == HV_TOKEN_SERVER || k == HV_TOKEN_CONSOLE;
}
