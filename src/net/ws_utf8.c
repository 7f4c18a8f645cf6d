/* SPDX-License-Identifier: MIT */
/* ws_utf8.c — UTF-8 validation of WebSocket text messages (RFC 6455 §8.1:
 * a text message that is not valid UTF-8 closes the socket with 1007); see
 * hv_utf8_valid in ws.h. Strict: no overlong forms, no surrogates, nothing
 * past U+10FFFF, no truncated sequence.
 */
#include "net/ws.h"

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
