/* SPDX-License-Identifier: MIT */
/* server_token.c — the server token check; see server_token.h. */
#include "auth/server_token.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <string.h>
#include <strings.h>

int hv_auth_token_ok(hv_server *srv, const char *token, size_t len)
{
    /* Compare digests, so neither the content nor the length of the
     * server token leaks through timing. */
    unsigned char want[SHA256_DIGEST_LENGTH], got[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)srv->cfg.token, strlen(srv->cfg.token), want);
    SHA256((const unsigned char *)token, len, got);
    return CRYPTO_memcmp(want, got, sizeof(want)) == 0;
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
    return tok && *tok && hv_auth_token_ok(srv, tok, strlen(tok));
}
