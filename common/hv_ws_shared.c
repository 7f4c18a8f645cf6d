/* SPDX-License-Identifier: MIT */
/* hv_ws_shared.c — WebSocket pieces shared by the server and the client
 * library; see hv_ws_shared.h.
 */
#include "hv_ws_shared.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

static const char WS_GUID[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

int hv_ws_accept_value(const char *key, char out[HV_WS_ACCEPT_LEN + 1])
{
    char buf[HV_WS_MAX_KEY + sizeof(WS_GUID)];
    size_t klen = strlen(key);
    out[0] = '\0';
    if (klen > HV_WS_MAX_KEY)
        return -1;
    memcpy(buf, key, klen);
    memcpy(buf + klen, WS_GUID, sizeof(WS_GUID) - 1);
    unsigned char sha[SHA_DIGEST_LENGTH];
    SHA1((const unsigned char *)buf, klen + sizeof(WS_GUID) - 1, sha);
    EVP_EncodeBlock((unsigned char *)out, sha, SHA_DIGEST_LENGTH); /* 28 chars + NUL */
    return 0;
}

int hv_ws_header_has_token(const char *list, const char *token)
{
    size_t tlen = strlen(token);
    for (const char *p = list; p && *p;) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        const char *start = p;
        while (*p && *p != ',')
            p++;
        const char *end = p;
        while (end > start && (end[-1] == ' ' || end[-1] == '\t'))
            end--;
        if ((size_t)(end - start) == tlen && !strncasecmp(start, token, tlen))
            return 1;
    }
    return 0;
}

ssize_t hv_ws_wslay_take(wslay_event_context_ptr ctx, const uint8_t **in, size_t *in_len,
                         uint8_t *buf, size_t len)
{
    if (*in_len == 0) {
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
        return -1;
    }
    size_t n = len < *in_len ? len : *in_len;
    memcpy(buf, *in, n);
    *in += n;
    *in_len -= n;
    return (ssize_t)n;
}

/* RFC 3629, strict: no overlong forms, no surrogates, nothing past
 * U+10FFFF, no truncated sequence (RFC 6455 8.1 closes with 1007). */
int hv_utf8_valid(const uint8_t *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        uint8_t b = s[i];
        if (b < 0x80) {
            i++;
            continue;
        }
        size_t n;
        uint32_t cp;
        if ((b & 0xE0) == 0xC0) n = 1, cp = b & 0x1F;
        else if ((b & 0xF0) == 0xE0) n = 2, cp = b & 0x0F;
        else if ((b & 0xF8) == 0xF0) n = 3, cp = b & 0x07;
        else return 0;
        if (i + n >= len)
            return 0;
        for (size_t k = 1; k <= n; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return 0;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
            cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        i += n + 1;
    }
    return 1;
}
