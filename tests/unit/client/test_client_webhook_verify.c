/* SPDX-License-Identifier: MIT */
/* test_client_webhook_verify.c — unit tests of herald_webhook_verify,
 * herald_webhook_verify_values and herald_webhook_sign: the Standard
 * Webhooks test vector (the one the standardwebhooks libraries publish,
 * checked against the npm library), signatures computed here with
 * OpenSSL's one-shot HMAC, and every way a request must be refused: wrong
 * secret, altered body / id / timestamp, too old, too new, malformed
 * timestamp, missing headers, malformed secret; several signatures with
 * one valid (rotation), header names in any case, binary bodies.
 * Built and registered by client/CMakeLists.txt (cmocka).
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
#include <stdlib.h>
#include <zlib.h>

#include "herald/client.h"

/* The Standard Webhooks / Svix published vector. */
#define VEC_SECRET "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define VEC_ID "msg_p5jXN8AQM9LWM0D4loKWxJek"
#define VEC_TS 1614265330
#define VEC_BODY "{\"test\": 2432232314}"
#define VEC_SIG "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

static const herald_webhook_verify_options AT_VEC = {0, VEC_TS};

static int verify3(const char *secret, const char *id, const char *ts, const char *sig,
                   const void *body, size_t len, const herald_webhook_verify_options *o,
                   char *err, size_t errlen)
{
    herald_header h[] = {
        {"Content-Type", "application/json"},
        {"webhook-id", id},
        {"webhook-timestamp", ts},
        {"webhook-signature", sig},
    };
    return herald_webhook_verify(secret, h, 4, body, len, o, err, errlen);
}

/* "v1," + base64 HMAC-SHA256(key, id.ts.body), computed independently. */
static void reference_sig(const uint8_t *key, size_t klen, const char *id, long ts,
                          const void *body, size_t len, char out[64])
{
    char msg[4096];
    int n = snprintf(msg, sizeof(msg), "%s.%ld.", id, ts);
    assert_true(n > 0 && (size_t)n + len < sizeof(msg));
    memcpy(msg + n, body, len);
    unsigned char md[32];
    unsigned mdlen = 0;
    assert_non_null(HMAC(EVP_sha256(), key, (int)klen, (const unsigned char *)msg,
                         (size_t)n + len, md, &mdlen));
    assert_int_equal(mdlen, 32);
    memcpy(out, "v1,", 3);
    EVP_EncodeBlock((unsigned char *)out + 3, md, 32);
}

static void test_known_vector(void **state)
{
    (void)state;
    char err[256] = "";
    assert_int_equal(verify3(VEC_SECRET, VEC_ID, "1614265330", VEC_SIG, VEC_BODY,
                             strlen(VEC_BODY), &AT_VEC, err, sizeof(err)), 0);
    /* the same through the values form, and without the whsec_ prefix */
    assert_int_equal(herald_webhook_verify_values("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", VEC_ID,
                                                  "1614265330", VEC_SIG, VEC_BODY,
                                                  strlen(VEC_BODY), &AT_VEC, err, sizeof(err)),
                     0);
    char sig[HERALD_WEBHOOK_SIGNATURE_SIZE];
    assert_int_equal(herald_webhook_sign(VEC_SECRET, VEC_ID, VEC_TS, VEC_BODY, strlen(VEC_BODY),
                                         sig, sizeof(sig), err, sizeof(err)), 0);
    assert_string_equal(sig, VEC_SIG);
}

static void test_reference_hmac_binary_body(void **state)
{
    (void)state;
    uint8_t key[32];
    for (size_t i = 0; i < sizeof(key); i++)
        key[i] = (uint8_t)(i * 37 + 5);
    char secret[80] = "whsec_";
    EVP_EncodeBlock((unsigned char *)secret + 6, key, sizeof(key));
    const uint8_t body[] = {0x52, 0x04, 0x0a, 0x00, 0x72, 0x31, 0xff, 0x00, 0x80};
    char want[64], got[HERALD_WEBHOOK_SIGNATURE_SIZE], err[256] = "";
    reference_sig(key, sizeof(key), "msg_7_ep_a", 1700000000, body, sizeof(body), want);
    assert_int_equal(herald_webhook_sign(secret, "msg_7_ep_a", 1700000000, body, sizeof(body),
                                         got, sizeof(got), err, sizeof(err)), 0);
    assert_string_equal(got, want);
    herald_webhook_verify_options o = {0, 1700000000};
    assert_int_equal(verify3(secret, "msg_7_ep_a", "1700000000", want, body, sizeof(body), &o,
                             err, sizeof(err)), 0);
    /* one changed byte in the middle of a binary body is refused */
    uint8_t bad[sizeof(body)];
    memcpy(bad, body, sizeof(body));
    bad[7] ^= 1;
    assert_int_equal(verify3(secret, "msg_7_ep_a", "1700000000", want, bad, sizeof(bad), &o,
                             err, sizeof(err)), HERALD_EWEBHOOK_SIGNATURE);
    /* an empty body signs and verifies too */
    reference_sig(key, sizeof(key), "msg_8", 1700000000, "", 0, want);
    assert_int_equal(verify3(secret, "msg_8", "1700000000", want, NULL, 0, &o, err,
                             sizeof(err)), 0);
}

static void test_refusals(void **state)
{
    (void)state;
    char err[256] = "";
    size_t len = strlen(VEC_BODY);
    /* wrong secret (a valid one, another key) */
    assert_int_equal(verify3("whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", VEC_ID, "1614265330",
                             VEC_SIG, VEC_BODY, len, &AT_VEC, err, sizeof(err)),
                     HERALD_EWEBHOOK_SIGNATURE);
    assert_non_null(strstr(err, "no signature"));
    /* altered body, id, timestamp */
    assert_int_equal(verify3(VEC_SECRET, VEC_ID, "1614265330", VEC_SIG, "{\"test\": 2432232315}",
                             len, &AT_VEC, err, sizeof(err)), HERALD_EWEBHOOK_SIGNATURE);
    assert_int_equal(verify3(VEC_SECRET, VEC_ID, "1614265330", VEC_SIG, VEC_BODY, len - 1,
                             &AT_VEC, err, sizeof(err)), HERALD_EWEBHOOK_SIGNATURE);
    assert_int_equal(verify3(VEC_SECRET, "msg_p5jXN8AQM9LWM0D4loKWxJeK", "1614265330", VEC_SIG,
                             VEC_BODY, len, &AT_VEC, err, sizeof(err)),
                     HERALD_EWEBHOOK_SIGNATURE);
    assert_int_equal(verify3(VEC_SECRET, VEC_ID, "1614265331", VEC_SIG, VEC_BODY, len, &AT_VEC,
                             err, sizeof(err)), HERALD_EWEBHOOK_SIGNATURE);
    /* a signature that is only a prefix, or with another version, or bad base64 */
    assert_int_equal(verify3(VEC_SECRET, VEC_ID, "1614265330", "v1,g0hM9SsE", VEC_BODY, len,
                             &AT_VEC, err, sizeof(err)), HERALD_EWEBHOOK_SIGNATURE);
    assert_int_equal(verify3(VEC_SECRET, VEC_ID, "1614265330",
                             "v2,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", VEC_BODY, len,
                             &AT_VEC, err, sizeof(err)), HERALD_EWEBHOOK_SIGNATURE);
    assert_int_equal(verify3(VEC_SECRET, VEC_ID, "1614265330", "garbage", VEC_BODY, len,
                             &AT_VEC, err, sizeof(err)), HERALD_EWEBHOOK_SIGNATURE);
}

static void test_several_signatures(void **state)
{
    (void)state;
    char err[256] = "";
    size_t len = strlen(VEC_BODY);
    const char *lists[] = {
        "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= " VEC_SIG,
        VEC_SIG " v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        "v1a,xyz  " VEC_SIG "  ",
    };
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(verify3(VEC_SECRET, VEC_ID, "1614265330", lists[i], VEC_BODY, len,
                                 &AT_VEC, err, sizeof(err)), 0);
    assert_int_equal(verify3(VEC_SECRET, VEC_ID, "1614265330",
                             "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= v1,BBBB", VEC_BODY,
                             len, &AT_VEC, err, sizeof(err)), HERALD_EWEBHOOK_SIGNATURE);
}

static void test_timestamps(void **state)
{
    (void)state;
    char err[256] = "";
    size_t len = strlen(VEC_BODY);
    herald_webhook_verify_options o = {0, VEC_TS + 300};
    assert_int_equal(verify3(VEC_SECRET, VEC_ID, "1614265330", VEC_SIG, VEC_BODY, len, &o, err,
                             sizeof(err)), 0);
    o.now = VEC_TS + 301;
    assert_int_equal(verify3(VEC_SECRET, VEC_ID, "1614265330", VEC_SIG, VEC_BODY, len, &o, err,
                             sizeof(err)), HERALD_EWEBHOOK_TOO_OLD);
    assert_non_null(strstr(err, "301 s old"));
    o.now = VEC_TS - 300;
    assert_int_equal(verify3(VEC_SECRET, VEC_ID, "1614265330", VEC_SIG, VEC_BODY, len, &o, err,
                             sizeof(err)), 0);
    o.now = VEC_TS - 301;
    assert_int_equal(verify3(VEC_SECRET, VEC_ID, "1614265330", VEC_SIG, VEC_BODY, len, &o, err,
                             sizeof(err)), HERALD_EWEBHOOK_TOO_NEW);
    assert_non_null(strstr(err, "future"));
    /* a configured tolerance */
    o.now = VEC_TS + 3600;
    o.tolerance_s = 3600;
    assert_int_equal(verify3(VEC_SECRET, VEC_ID, "1614265330", VEC_SIG, VEC_BODY, len, &o, err,
                             sizeof(err)), 0);
    o.tolerance_s = 10;
    o.now = VEC_TS + 11;
    assert_int_equal(verify3(VEC_SECRET, VEC_ID, "1614265330", VEC_SIG, VEC_BODY, len, &o, err,
                             sizeof(err)), HERALD_EWEBHOOK_TOO_OLD);
    o.tolerance_s = -1;
    assert_int_equal(verify3(VEC_SECRET, VEC_ID, "1614265330", VEC_SIG, VEC_BODY, len, &o, err,
                             sizeof(err)), HERALD_EINVAL);
    /* the real clock: the 2021 vector is far too old */
    assert_int_equal(verify3(VEC_SECRET, VEC_ID, "1614265330", VEC_SIG, VEC_BODY, len, NULL,
                             err, sizeof(err)), HERALD_EWEBHOOK_TOO_OLD);
    /* malformed timestamps */
    const char *bad[] = {"abc", "1614265330x", "-1614265330", " 1614265330", "1614265330.0",
                         "99999999999999999999", "0x60"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(verify3(VEC_SECRET, VEC_ID, bad[i], VEC_SIG, VEC_BODY, len, &AT_VEC,
                                 err, sizeof(err)), HERALD_EWEBHOOK_TIMESTAMP);
        assert_non_null(strstr(err, "webhook-timestamp"));
    }
}

static void test_headers(void **state)
{
    (void)state;
    char err[256] = "";
    size_t len = strlen(VEC_BODY);
    herald_header mixed[] = {
        {"WEBHOOK-ID", VEC_ID},
        {"Webhook-Timestamp", "1614265330"},
        {"wEbHoOk-SiGnAtUrE", VEC_SIG},
    };
    assert_int_equal(herald_webhook_verify(VEC_SECRET, mixed, 3, VEC_BODY, len, &AT_VEC, err,
                                           sizeof(err)), 0);
    for (size_t skip = 0; skip < 3; skip++) {
        herald_header h[2];
        size_t n = 0;
        for (size_t i = 0; i < 3; i++)
            if (i != skip)
                h[n++] = mixed[i];
        assert_int_equal(herald_webhook_verify(VEC_SECRET, h, n, VEC_BODY, len, &AT_VEC, err,
                                               sizeof(err)), HERALD_EWEBHOOK_HEADER);
        assert_non_null(strstr(err, "missing webhook-"));
    }
    assert_int_equal(verify3(VEC_SECRET, "", "1614265330", VEC_SIG, VEC_BODY, len, &AT_VEC, err,
                             sizeof(err)), HERALD_EWEBHOOK_HEADER);
    assert_string_equal(err, "missing webhook-id header");
    assert_int_equal(herald_webhook_verify(VEC_SECRET, NULL, 0, VEC_BODY, len, &AT_VEC, err,
                                           sizeof(err)), HERALD_EWEBHOOK_HEADER);
    assert_int_equal(herald_webhook_verify_values(VEC_SECRET, VEC_ID, "1614265330", NULL,
                                                  VEC_BODY, len, &AT_VEC, err, sizeof(err)),
                     HERALD_EWEBHOOK_HEADER);
    assert_string_equal(err, "missing webhook-signature header");
    assert_string_equal(herald_strerror(HERALD_EWEBHOOK_HEADER), "missing webhook header");
    assert_string_equal(herald_strerror(HERALD_EWEBHOOK_SIGNATURE),
                        "no matching webhook signature");
}

static void test_bad_secrets(void **state)
{
    (void)state;
    char err[256] = "", sig[HERALD_WEBHOOK_SIGNATURE_SIZE];
    size_t len = strlen(VEC_BODY);
    const char *bad[] = {NULL, "", "whsec_", "whsec_!!!!", "whsec_MfKQ 9r8GKYqrTwjUPD8ILPZIo2La",
                         "whsec_A", "whsec_MfKQ9r8G=KYq", "whsec_===="};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(verify3(bad[i], VEC_ID, "1614265330", VEC_SIG, VEC_BODY, len, &AT_VEC,
                                 err, sizeof(err)), HERALD_EINVAL);
        assert_non_null(strstr(err, "secret"));
        assert_int_equal(herald_webhook_sign(bad[i], VEC_ID, VEC_TS, VEC_BODY, len, sig,
                                             sizeof(sig), err, sizeof(err)), HERALD_EINVAL);
    }
    /* missing padding is restored, as the server does */
    assert_int_equal(verify3("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", VEC_ID, "1614265330",
                             VEC_SIG, VEC_BODY, len, &AT_VEC, err, sizeof(err)), 0);
    /* sign: short buffer, empty id */
    assert_int_equal(herald_webhook_sign(VEC_SECRET, VEC_ID, VEC_TS, VEC_BODY, len, sig, 20, err,
                                         sizeof(err)), HERALD_EINVAL);
    assert_int_equal(herald_webhook_sign(VEC_SECRET, "", VEC_TS, VEC_BODY, len, sig, sizeof(sig),
                                         err, sizeof(err)), HERALD_EINVAL);
}

/* A gzip batch (issue 18 item 6): herald signs the JSON array and sends it
 * compressed with Content-Encoding: gzip; herald_webhook_verify inflates
 * it first, herald_webhook_inflate hands the JSON over, and a body that is
 * not a whole gzip stream is refused. */
static void test_gzip_batch(void **state)
{
    (void)state;
    const char *json = "[{\"id\":\"1\",\"type\":\"a\"},{\"id\":\"2\",\"type\":\"a\"}]";
    const char *id = "msg_1-2x2_ep_x";
    char err[256] = "", sig[HERALD_WEBHOOK_SIGNATURE_SIZE];
    assert_int_equal(herald_webhook_sign(VEC_SECRET, id, VEC_TS, json, strlen(json), sig, sizeof(sig), err,
                                         sizeof(err)), 0);
    unsigned char gz[512];
    z_stream z;
    memset(&z, 0, sizeof(z));
    assert_int_equal(deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
    z.next_in = (unsigned char *)json;
    z.avail_in = (unsigned)strlen(json);
    z.next_out = gz;
    z.avail_out = sizeof(gz);
    assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
    size_t gzlen = sizeof(gz) - z.avail_out;
    deflateEnd(&z);
    herald_header h[] = {
        {"webhook-id", id}, {"webhook-timestamp", "1614265330"}, {"webhook-signature", sig},
        {"Content-Encoding", "gzip"},
    };
    assert_int_equal(herald_webhook_verify(VEC_SECRET, h, 4, gz, gzlen, &AT_VEC, err, sizeof(err)), 0);
    /* without the header the compressed bytes are checked as they are */
    assert_int_equal(herald_webhook_verify(VEC_SECRET, h, 3, gz, gzlen, &AT_VEC, err, sizeof(err)),
                     HERALD_EWEBHOOK_SIGNATURE);
    void *plain = NULL;
    size_t plen = 0;
    assert_int_equal(herald_webhook_inflate(h, 4, gz, gzlen, &plain, &plen, err, sizeof(err)), 0);
    assert_int_equal(plen, strlen(json));
    assert_memory_equal(plain, json, plen);
    free(plain);
    assert_int_equal(herald_webhook_inflate(h, 3, gz, gzlen, &plain, &plen, err, sizeof(err)), 0);
    assert_null(plain); /* not compressed: use the body as received */
    assert_int_equal(herald_webhook_verify(VEC_SECRET, h, 4, gz, gzlen - 4, &AT_VEC, err, sizeof(err)),
                     HERALD_EPROTO);
    assert_int_equal(herald_webhook_verify(VEC_SECRET, h, 4, json, strlen(json), &AT_VEC, err, sizeof(err)),
                     HERALD_EPROTO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_vector),
        cmocka_unit_test(test_reference_hmac_binary_body),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_several_signatures),
        cmocka_unit_test(test_timestamps),
        cmocka_unit_test(test_headers),
        cmocka_unit_test(test_bad_secrets),
        cmocka_unit_test(test_gzip_batch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
