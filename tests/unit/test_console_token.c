/* SPDX-License-Identifier: MIT */
/* test_console_token.c — console tokens (auth/console_token.c): a minted
 * token checks at any time before its expiry and is EXPIRED from it on
 * (explicit clocks, no sleeping); every malformed, altered, truncated,
 * oversize or foreign-keyed token is BAD; the MAC is an independent
 * HMAC-SHA256 computed here from the documented format, so the format in
 * console_token.h is what the code does.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "auth/console_token.h"

#define SERVER "server-token-0123456789"
#define NOW ((int64_t)1800000000)

static hv_ctok check(const char *tok, int64_t now, int64_t *exp)
{
    return hv_console_token_check(SERVER, tok, strlen(tok), now, exp);
}

static void mint_then_check(void **state)
{
    (void)state;
    char tok[HV_CONSOLE_TOKEN_MAX + 1];
    hv_console_token_mint(SERVER, NOW + 3600, tok);
    assert_int_equal(strlen(tok), strlen("hct_1800003600_") + 64);
    assert_true(hv_console_token_is(tok, strlen(tok)));
    int64_t exp = 0;
    assert_int_equal(check(tok, NOW, &exp), HV_CTOK_OK);
    assert_int_equal(exp, NOW + 3600);
    assert_int_equal(check(tok, NOW + 3599, NULL), HV_CTOK_OK);
    exp = 0;
    assert_int_equal(check(tok, NOW + 3600, &exp), HV_CTOK_EXPIRED);
    assert_int_equal(exp, NOW + 3600);
    assert_int_equal(check(tok, NOW + 999999, NULL), HV_CTOK_EXPIRED);
    /* the longest expiry fits the bound */
    hv_console_token_mint(SERVER, 999999999999LL, tok);
    assert_int_equal(strlen(tok), HV_CONSOLE_TOKEN_MAX);
    assert_int_equal(check(tok, NOW, NULL), HV_CTOK_OK);
}

/* The documented format, computed independently with OpenSSL's HMAC(). */
static void format_is_documented(void **state)
{
    (void)state;
    unsigned char key[32], mac[32];
    unsigned int n = 0;
    HMAC(EVP_sha256(), SERVER, (int)strlen(SERVER), (const unsigned char *)"herald console token v1", 23, key, &n);
    const char *part = "hct_1800000060";
    HMAC(EVP_sha256(), key, 32, (const unsigned char *)part, strlen(part), mac, &n);
    char want[HV_CONSOLE_TOKEN_MAX + 1];
    int o = snprintf(want, sizeof(want), "%s_", part);
    for (int i = 0; i < 32; i++)
        o += snprintf(want + o, sizeof(want) - (size_t)o, "%02x", mac[i]);
    char tok[HV_CONSOLE_TOKEN_MAX + 1];
    hv_console_token_mint(SERVER, NOW + 60, tok);
    assert_string_equal(tok, want);
}

static void another_server_token_refuses(void **state)
{
    (void)state;
    char tok[HV_CONSOLE_TOKEN_MAX + 1];
    hv_console_token_mint("another-server-token", NOW + 60, tok);
    assert_int_equal(check(tok, NOW, NULL), HV_CTOK_BAD);
    /* an expired token signed by another key is BAD, not EXPIRED */
    assert_int_equal(check(tok, NOW + 120, NULL), HV_CTOK_BAD);
}

static void altered_tokens_refused(void **state)
{
    (void)state;
    char tok[HV_CONSOLE_TOKEN_MAX + 1], bad[200];
    hv_console_token_mint(SERVER, NOW + 60, tok);
    size_t len = strlen(tok);
    /* every single-character change */
    for (size_t i = 0; i < len; i++) {
        memcpy(bad, tok, len + 1);
        bad[i] = bad[i] == 'a' ? 'b' : 'a';
        assert_int_equal(check(bad, NOW, NULL), HV_CTOK_BAD);
    }
    /* a later expiry with the old MAC (extending its life) */
    snprintf(bad, sizeof(bad), "hct_%lld_%s", (long long)(NOW + 86400 * 365), strchr(tok + 4, '_') + 1);
    assert_int_equal(check(bad, NOW, NULL), HV_CTOK_BAD);
    /* every truncation, and one byte more */
    for (size_t i = 0; i < len; i++)
        assert_int_equal(hv_console_token_check(SERVER, tok, i, NOW, NULL), HV_CTOK_BAD);
    snprintf(bad, sizeof(bad), "%s0", tok);
    assert_int_equal(check(bad, NOW, NULL), HV_CTOK_BAD);
    /* upper-case hex is another spelling: refused */
    memcpy(bad, tok, len + 1);
    for (char *p = strchr(bad + 4, '_'); *p; p++)
        if (*p >= 'a' && *p <= 'f')
            *p = (char)(*p - 'a' + 'A');
    assert_int_equal(check(bad, NOW, NULL), HV_CTOK_BAD);
    /* an embedded NUL inside the given length */
    memcpy(bad, tok, len + 1);
    bad[20] = '\0';
    assert_int_equal(hv_console_token_check(SERVER, bad, len, NOW, NULL), HV_CTOK_BAD);
}

static void malformed_refused(void **state)
{
    (void)state;
    const char *bad[] = {
        "", "hct_", "hct__", "hct_1", "hct_1_", "hct_01800000060_" /* leading zero */,
        "hct_-1_0000000000000000000000000000000000000000000000000000000000000000",
        "hct_+1800000060_0000000000000000000000000000000000000000000000000000000000000000",
        "hct_1234567890123_0000000000000000000000000000000000000000000000000000000000000000",
        "HCT_1800000060_0000000000000000000000000000000000000000000000000000000000000000",
        "hct_1800000060_000000000000000000000000000000000000000000000000000000000000000g",
        "hct_1800000060 0000000000000000000000000000000000000000000000000000000000000000",
        "development", "Bearer hct_1",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(check(bad[i], NOW, NULL), HV_CTOK_BAD);
    char big[4096];
    memset(big, '1', sizeof(big) - 1);
    memcpy(big, "hct_", 4);
    big[sizeof(big) - 1] = '\0';
    assert_int_equal(check(big, NOW, NULL), HV_CTOK_BAD);
    assert_false(hv_console_token_is("hct", 3));
    assert_false(hv_console_token_is("development", 11));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(mint_then_check),
        cmocka_unit_test(format_is_documented),
        cmocka_unit_test(another_server_token_refuses),
        cmocka_unit_test(altered_tokens_refused),
        cmocka_unit_test(malformed_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
