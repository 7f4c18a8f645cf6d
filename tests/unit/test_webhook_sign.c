/* SPDX-License-Identifier: MIT */
/* test_webhook_sign.c — Standard Webhooks signatures (deliver/webhook_sign.c).
 *
 * Checks the published test vector, the two signatures of a key rotation
 * (and only one once the grace period is over), that malformed secrets
 * are refused, and that new secrets are "whsec_" + base64 of 32 bytes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "deliver/endpoints.h"

#define SECRET "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define MSG_ID "msg_p5jXN8AQM9LWM0D4loKWxJek"
#define TS 1614265330
#define BODY "{\"test\": 2432232314}"
#define SIG "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

static void test_vector(void **state)
{
    (void)state;
    char out[64];
    assert_int_equal(hv_webhook_signature(SECRET, MSG_ID, TS, BODY, strlen(BODY), out), 0);
    assert_string_equal(out, SIG);
}

static void test_sign_one_secret(void **state)
{
    (void)state;
    hv_endpoint ep = {.secret = (char *)SECRET};
    char out[256];
    hv_webhook_sign(&ep, MSG_ID, TS, BODY, strlen(BODY), 0, out);
    assert_string_equal(out, SIG);
}

static void test_rotation(void **state)
{
    (void)state;
    char fresh[64], other[64];
    hv_webhook_secret_new(fresh);
    hv_endpoint ep = {.secret = fresh, .prev_secret = (char *)SECRET, .prev_until_ms = 2000};
    char out[256];
    /* within the grace period: new secret first, then the old one */
    hv_webhook_sign(&ep, MSG_ID, TS, BODY, strlen(BODY), 1999, out);
    assert_int_equal(hv_webhook_signature(fresh, MSG_ID, TS, BODY, strlen(BODY), other), 0);
    char want[256];
    snprintf(want, sizeof(want), "%s %s", other, SIG);
    assert_string_equal(out, want);
    /* after it: only the new one */
    hv_webhook_sign(&ep, MSG_ID, TS, BODY, strlen(BODY), 2000, out);
    assert_string_equal(out, other);
    assert_string_not_equal(other, SIG);
}

static void test_bad_secrets(void **state)
{
    (void)state;
    const char *bad[] = {
        "",                              /* empty */
        "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", /* no prefix */
        "whsec_",                        /* no key */
        "whsec_!!!!",                    /* not base64 */
        "whsec_abc=def",                 /* padding in the middle */
        "whsec_a",                       /* one char: not a whole byte */
        "wHsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    };
    char out[64];
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(hv_webhook_signature(bad[i], MSG_ID, TS, BODY, strlen(BODY), out), -1);
        assert_string_equal(out, "");
    }
    assert_int_equal(hv_webhook_signature(NULL, MSG_ID, TS, BODY, strlen(BODY), out), -1);
    /* a secret whose padding was left out still decodes */
    assert_int_equal(hv_webhook_signature("whsec_AAEC", MSG_ID, TS, "", 0, out), 0);
    char padded[64];
    assert_int_equal(hv_webhook_signature("whsec_AAE=", MSG_ID, TS, "", 0, padded), 0);
    assert_int_equal(hv_webhook_signature("whsec_AAE", MSG_ID, TS, "", 0, out), 0);
    assert_string_equal(out, padded);
}

static void test_bad_primary_keeps_rotation(void **state)
{
    (void)state;
    hv_endpoint ep = {.secret = (char *)"whsec_!!", .prev_secret = (char *)SECRET, .prev_until_ms = 10};
    char out[256];
    hv_webhook_sign(&ep, MSG_ID, TS, BODY, strlen(BODY), 0, out);
    assert_string_equal(out, SIG);
    ep.prev_until_ms = 0;
    hv_webhook_sign(&ep, MSG_ID, TS, BODY, strlen(BODY), 0, out);
    assert_string_equal(out, "");
}

static void test_new_secret(void **state)
{
    (void)state;
    char a[64], b[64];
    hv_webhook_secret_new(a);
    hv_webhook_secret_new(b);
    assert_string_not_equal(a, b);
    assert_int_equal(strncmp(a, "whsec_", 6), 0);
    assert_int_equal(strlen(a), 6 + 44);
    unsigned char key[64];
    int n = EVP_DecodeBlock(key, (const unsigned char *)a + 6, 44);
    assert_int_equal(n, 33);             /* 32 bytes + one byte of '=' padding */
    assert_int_equal(a[6 + 43], '=');
    assert_true(a[6 + 42] != '=');
    char out[64];
    assert_int_equal(hv_webhook_signature(a, MSG_ID, TS, BODY, strlen(BODY), out), 0);
    assert_int_equal(strlen(out), 3 + 44);
}

static void test_empty_and_binary_body(void **state)
{
    (void)state;
    char a[64], b[64];
    const unsigned char bin[] = {0x08, 0x00, 0xff, 0x10};
    assert_int_equal(hv_webhook_signature(SECRET, MSG_ID, TS, bin, sizeof(bin), a), 0);
    assert_int_equal(hv_webhook_signature(SECRET, MSG_ID, TS, bin, 2, b), 0);
    assert_string_not_equal(a, b); /* bytes after a NUL are signed too */
    assert_int_equal(hv_webhook_signature(SECRET, MSG_ID, TS, NULL, 0, a), 0);
    assert_int_equal(hv_webhook_signature(SECRET, MSG_ID, TS + 1, NULL, 0, b), 0);
    assert_string_not_equal(a, b);
}

/* Fishjam's x-fishjam-signature-256: the vector computed independently
 * (python3 hmac.new(b"fj-secret", body, sha256).hexdigest()). */
static void test_fishjam_signature(void **state)
{
    (void)state;
    char out[HV_FISHJAM_SIG_SIZE];
    const unsigned char body[] = {0x52, 0x08, 0x0a, 0x06, 'r', 'o', 'o', 'm', '-', '1'};
    assert_int_equal(hv_webhook_fishjam_signature("fj-secret", body, sizeof(body), out), 0);
    assert_string_equal(out, "sha256=2c1a4d49fa5ab8ea0f0f9210446720af4ecda2029eed80e4636db57deb709e22");
    assert_int_equal(strlen(out), HV_FISHJAM_SIG_SIZE - 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vector),
        cmocka_unit_test(test_sign_one_secret),
        cmocka_unit_test(test_rotation),
        cmocka_unit_test(test_bad_secrets),
        cmocka_unit_test(test_bad_primary_keeps_rotation),
        cmocka_unit_test(test_new_secret),
        cmocka_unit_test(test_empty_and_binary_body),
        cmocka_unit_test(test_fishjam_signature),
    };
    return cmocka_run_group_tests(tests, 0, 0);
}
