/* SPDX-License-Identifier: MIT */
/* fuzz_console_token.c — libFuzzer target for console tokens
 * (auth/console_token.c): arbitrary bytes (not NUL-terminated: the
 * checker takes a length) go to hv_console_token_check with a fixed server
 * token and clock. Whatever is accepted must be exactly the token minted
 * for its expiry (one spelling per token); a BAD result reports no expiry.
 * The seeds in fuzz/corpus/fuzz_console_token/ are real tokens minted with
 * this server token, so the fuzzer starts past the MAC check.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth/console_token.h"

#define FUZZ_SERVER_TOKEN "fuzz-server-token"
#define FUZZ_NOW ((int64_t)1700000000)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *tok = malloc(size ? size : 1);
    if (!tok)
        return 0;
    memcpy(tok, data, size);
    int64_t exp = -1;
    hv_ctok r = hv_console_token_check(FUZZ_SERVER_TOKEN, tok, size, FUZZ_NOW, &exp);
    if (r == HV_CTOK_BAD) {
        if (exp != -1)
            abort(); /* a refusal tells nothing */
    } else {
        char want[HV_CONSOLE_TOKEN_MAX + 1];
        hv_console_token_mint(FUZZ_SERVER_TOKEN, exp, want);
        if (strlen(want) != size || memcmp(want, tok, size) != 0)
            abort(); /* accepted something that is not the minted token */
        if ((r == HV_CTOK_EXPIRED) != (FUZZ_NOW >= exp))
            abort();
    }
    free(tok);
    return 0;
}
