/* SPDX-License-Identifier: MIT */
/* test_jwt.c — user tokens (auth/jwt.c): what hv_jwt_verify accepts and,
 * above all, what it refuses.
 *
 * Tokens are made two ways: with libjwt (as a user's backend would) and by
 * hand (base64url of chosen header and claims texts, HMAC from OpenSSL)
 * so that malformed and hostile tokens can be built: "alg":"none",
 * HS512 and RS256 headers signed with the secret, wrong types, duplicate
 * keys, oversize tokens. The last test runs the real `herald-cli token`
 * (found beside this test's build directory; skipped when it was not
 * built) and verifies its output, so the client library's minting and the
 * server's verification are checked against each other.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <jwt.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "auth/jwt.h"

#define SECRET "test-secret-0123456789-abcdefghij"
#define NOW ((int64_t)1700000000)

/* ---- token builders ---- */

static char *b64url(const void *data, size_t len)
{
    char *out = malloc(4 * ((len + 2) / 3) + 1);
    assert_non_null(out);
    int n = EVP_EncodeBlock((unsigned char *)out, data, (int)len);
    while (n > 0 && out[n - 1] == '=')
        n--;
    out[n] = '\0';
    for (char *p = out; *p; p++)
        *p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
    return out;
}

/* "b64(header).b64(claims).b64(HMAC(md, secret))"; md NULL: no signature
 * (the token ends with the dot). */
static char *make_md(const char *header, const char *claims, const char *secret, const EVP_MD *md)
{
    char *h = b64url(header, strlen(header));
    char *c = b64url(claims, strlen(claims));
    size_t n = strlen(h) + strlen(c) + 2;
    char *input = malloc(n);
    assert_non_null(input);
    snprintf(input, n, "%s.%s", h, c);
    char *sig = NULL;
    if (md) {
        unsigned char mac[EVP_MAX_MD_SIZE];
        unsigned maclen = 0;
        assert_non_null(HMAC(md, secret, (int)strlen(secret), (unsigned char *)input,
                             strlen(input), mac, &maclen));
        sig = b64url(mac, maclen);
    }
    size_t total = strlen(input) + 2 + (sig ? strlen(sig) : 0);
    char *tok = malloc(total);
    assert_non_null(tok);
    snprintf(tok, total, "%s.%s", input, sig ? sig : "");
    free(h);
    free(c);
    free(input);
    free(sig);
    return tok;
}

/* An HS256 token over the given claims, signed with SECRET. */
static char *make(const char *claims)
{
    return make_md("{\"alg\":\"HS256\",\"typ\":\"JWT\"}", claims, SECRET, EVP_sha256());
}

/* Verifies tok (freed) with SECRET and no audience; returns the result,
 * with the reason in err. */
static int verify(char *tok, hv_identity *id, char *err, size_t errlen)
{
    int rc = hv_jwt_verify(SECRET, NULL, tok, NOW, id, err, errlen);
    free(tok);
    return rc;
}

/* Asserts that the token (freed) is refused with the given reason. */
static void refused(char *tok, const char *reason)
{
    hv_identity id;
    char err[128];
    int rc = verify(tok, &id, err, sizeof(err));
    if (rc == 0)
        hv_identity_clear(&id);
    assert_int_equal(rc, -1);
    assert_string_equal(err, reason);
    assert_int_equal(id.nrooms, 0);
    assert_null(id.rooms);
    assert_string_equal(id.user_id, "");
}

static void accepted(char *tok)
{
    hv_identity id;
    char err[128];
    int rc = verify(tok, &id, err, sizeof(err));
    if (rc != 0)
        fail_msg("refused: %s", err);
    hv_identity_clear(&id);
}

/* ---- good tokens ---- */

static void valid_libjwt(void **state)
{
    (void)state;
    jwt_t *j = NULL;
    assert_int_equal(jwt_new(&j), 0);
    assert_int_equal(jwt_add_grant(j, "sub", "alice"), 0);
    assert_int_equal(jwt_add_grant_int(j, "exp", (long)(NOW + 600)), 0);
    assert_int_equal(jwt_add_grant_int(j, "iat", (long)NOW), 0);
    assert_int_equal(jwt_add_grants_json(j, "{\"rooms\":[\"r1\",\"lobby\"]}"), 0);
    assert_int_equal(jwt_set_alg(j, JWT_ALG_HS256, (const unsigned char *)SECRET, strlen(SECRET)), 0);
    char *tok = jwt_encode_str(j);
    jwt_free(j);
    assert_non_null(tok);

    hv_identity id;
    char err[128];
    assert_int_equal(verify(tok, &id, err, sizeof(err)), 0);
    assert_string_equal(id.user_id, "alice");
    assert_int_equal(id.exp, NOW + 600);
    assert_int_equal(id.nrooms, 2);
    assert_string_equal(id.rooms[0], "r1");
    assert_string_equal(id.rooms[1], "lobby");
    assert_true(hv_identity_has_room(&id, "r1"));
    assert_true(hv_identity_has_room(&id, "lobby"));
    assert_false(hv_identity_has_room(&id, "r2"));
    assert_false(hv_identity_has_room(&id, "r"));
    assert_false(hv_identity_has_room(&id, NULL));
    hv_identity_clear(&id);
    assert_null(id.rooms);
    hv_identity_clear(&id); /* twice is harmless */
    hv_identity_clear(NULL);
    assert_false(hv_identity_has_room(NULL, "r1"));
}

static void valid_by_hand(void **state)
{
    (void)state;
    hv_identity id;
    char err[128];
    /* no rooms claim, no typ, extra claims ignored */
    char *tok = make_md("{\"alg\":\"HS256\"}",
                        "{\"sub\":\"bob\",\"exp\":1700000100,\"iss\":\"x\",\"rooms\":[]}",
                        SECRET, EVP_sha256());
    assert_int_equal(verify(tok, &id, err, sizeof(err)), 0);
    assert_string_equal(id.user_id, "bob");
    assert_int_equal(id.nrooms, 0);
    assert_false(hv_identity_has_room(&id, "r1"));
    hv_identity_clear(&id);
    /* sub of exactly 256 bytes */
    char claims[400];
    snprintf(claims, sizeof(claims), "{\"sub\":\"%0256d\",\"exp\":1700000100}", 7);
    assert_int_equal(verify(make(claims), &id, err, sizeof(err)), 0);
    assert_int_equal(strlen(id.user_id), 256);
    hv_identity_clear(&id);
    /* unicode sub */
    accepted(make("{\"sub\":\"\\u00e9l\\u00e8ve\",\"exp\":1700000100}"));
    accepted(make("{\"sub\":\"a\",\"exp\":1700000100,\"nbf\":1699999000}"));
}

/* ---- time ---- */

static void expiry_and_nbf(void **state)
{
    (void)state;
    refused(make("{\"sub\":\"a\",\"exp\":1699990000}"), "token expired");
    refused(make("{\"sub\":\"a\",\"exp\":1699999970}"), "token expired"); /* now - 30 */
    accepted(make("{\"sub\":\"a\",\"exp\":1699999971}"));                  /* leeway */
    refused(make("{\"sub\":\"a\",\"exp\":-9223372036854775808}"), "token expired");
    accepted(make("{\"sub\":\"a\",\"exp\":253402300799}")); /* year 9999 */
    refused(make("{\"sub\":\"a\",\"exp\":253402300800}"), "exp out of range");
    refused(make("{\"sub\":\"a\",\"exp\":9223372036854775807}"), "exp out of range");
    refused(make("{\"sub\":\"a\",\"exp\":9223372036854775808}"), "malformed token");
    refused(make("{\"sub\":\"a\"}"), "missing exp");
    refused(make("{\"sub\":\"a\",\"exp\":\"1700000100\"}"), "exp must be an integer");
    refused(make("{\"sub\":\"a\",\"exp\":1700000100.5}"), "exp must be an integer");
    refused(make("{\"sub\":\"a\",\"exp\":null}"), "exp must be an integer");
    /* future nbf */
    refused(make("{\"sub\":\"a\",\"exp\":1700000600,\"nbf\":1700000031}"), "token not yet valid");
    accepted(make("{\"sub\":\"a\",\"exp\":1700000600,\"nbf\":1700000030}"));
    refused(make("{\"sub\":\"a\",\"exp\":1700000600,\"nbf\":\"0\"}"), "nbf must be an integer");
    refused(make("{\"sub\":\"a\",\"exp\":1700000600,\"nbf\":9223372036854775807}"),
            "token not yet valid");
}

/* ---- signatures and algorithms ---- */

static void bad_signature(void **state)
{
    (void)state;
    const char *claims = "{\"sub\":\"a\",\"exp\":1700000600}";
    refused(make_md("{\"alg\":\"HS256\",\"typ\":\"JWT\"}", claims, "another-secret", EVP_sha256()),
            "bad signature");
    /* libjwt with another secret */
    jwt_t *j = NULL;
    assert_int_equal(jwt_new(&j), 0);
    assert_int_equal(jwt_add_grant(j, "sub", "a"), 0);
    assert_int_equal(jwt_add_grant_int(j, "exp", (long)(NOW + 600)), 0);
    assert_int_equal(jwt_set_alg(j, JWT_ALG_HS256, (const unsigned char *)"other", 5), 0);
    char *tok = jwt_encode_str(j);
    jwt_free(j);
    refused(tok, "bad signature");

    /* claims swapped under a valid signature */
    char *good = make(claims);
    char *evil = make("{\"sub\":\"root\",\"exp\":1700000600}");
    char *gdot = strrchr(good, '.'), *edot = strrchr(evil, '.');
    assert_int_equal(strlen(gdot), strlen(edot));
    memcpy(edot, gdot, strlen(gdot));
    refused(evil, "bad signature");
    /* signature truncated, emptied, one character changed */
    char *t = strdup(good);
    t[strlen(t) - 1] = '\0';
    refused(t, "bad signature");
    t = strdup(good);
    strrchr(t, '.')[1] = '\0';
    refused(t, "bad signature");
    t = strdup(good);
    char *last = strrchr(t, '.') + 5;
    *last = *last == 'A' ? 'B' : 'A';
    refused(t, "bad signature");
    accepted(good);
}

static void algorithms(void **state)
{
    (void)state;
    const char *claims = "{\"sub\":\"a\",\"exp\":1700000600}";
    /* alg none, with and without a signature part, any spelling */
    refused(make_md("{\"alg\":\"none\"}", claims, SECRET, NULL), "alg must be HS256");
    refused(make_md("{\"alg\":\"none\",\"typ\":\"JWT\"}", claims, SECRET, NULL), "alg must be HS256");
    refused(make_md("{\"alg\":\"None\"}", claims, SECRET, NULL), "alg must be HS256");
    refused(make_md("{\"alg\":\"NONE\"}", claims, SECRET, EVP_sha256()), "alg must be HS256");
    refused(make_md("{\"alg\":\"none\"}", claims, SECRET, EVP_sha256()), "alg must be HS256");
    /* other HMACs and public-key algorithms, signed with the secret */
    refused(make_md("{\"alg\":\"HS512\",\"typ\":\"JWT\"}", claims, SECRET, EVP_sha512()),
            "alg must be HS256");
    refused(make_md("{\"alg\":\"HS384\"}", claims, SECRET, EVP_sha384()), "alg must be HS256");
    refused(make_md("{\"alg\":\"RS256\",\"typ\":\"JWT\"}", claims, SECRET, EVP_sha256()),
            "alg must be HS256");
    refused(make_md("{\"alg\":\"ES256\"}", claims, SECRET, EVP_sha256()), "alg must be HS256");
    refused(make_md("{\"alg\":\"hs256\"}", claims, SECRET, EVP_sha256()), "alg must be HS256");
    refused(make_md("{\"typ\":\"JWT\"}", claims, SECRET, EVP_sha256()), "alg must be HS256");
    refused(make_md("{\"alg\":256}", claims, SECRET, EVP_sha256()), "alg must be HS256");
    refused(make_md("{\"alg\":\"HS256\\u0000\"}", claims, SECRET, EVP_sha256()), "malformed token");
    /* libjwt itself minting alg none */
    jwt_t *j = NULL;
    assert_int_equal(jwt_new(&j), 0);
    assert_int_equal(jwt_add_grant(j, "sub", "a"), 0);
    assert_int_equal(jwt_add_grant_int(j, "exp", (long)(NOW + 600)), 0);
    char *tok = jwt_encode_str(j); /* JWT_ALG_NONE by default */
    jwt_free(j);
    assert_non_null(tok);
    refused(tok, "alg must be HS256");
    /* header extras */
    refused(make_md("{\"alg\":\"HS256\",\"crit\":[\"exp\"]}", claims, SECRET, EVP_sha256()),
            "unsupported crit header");
    refused(make_md("{\"alg\":\"HS256\",\"typ\":\"at+jwt\"}", claims, SECRET, EVP_sha256()),
            "typ must be JWT");
    accepted(make_md("{\"alg\":\"HS256\",\"typ\":\"jwt\",\"kid\":\"k1\"}", claims, SECRET,
                     EVP_sha256()));
    refused(make_md("{\"alg\":\"HS256\",\"alg\":\"none\"}", claims, SECRET, EVP_sha256()),
            "malformed token");
}

/* ---- claims ---- */

static void subject(void **state)
{
    (void)state;
    refused(make("{\"exp\":1700000600}"), "missing sub");
    refused(make("{\"sub\":null,\"exp\":1700000600}"), "missing sub");
    const char *bad = "sub must be a string of 1-256 bytes";
    refused(make("{\"sub\":42,\"exp\":1700000600}"), bad);
    refused(make("{\"sub\":[\"a\"],\"exp\":1700000600}"), bad);
    refused(make("{\"sub\":{\"id\":\"a\"},\"exp\":1700000600}"), bad);
    refused(make("{\"sub\":true,\"exp\":1700000600}"), bad);
    refused(make("{\"sub\":\"\",\"exp\":1700000600}"), bad);
    char claims[400];
    snprintf(claims, sizeof(claims), "{\"sub\":\"%0257d\",\"exp\":1700000600}", 7);
    refused(make(claims), bad);
    refused(make("{\"sub\":\"a\\u0000b\",\"exp\":1700000600}"), "malformed token");
    refused(make("{\"sub\":\"a\",\"sub\":\"b\",\"exp\":1700000600}"), "malformed token");
    /* peers' channels are "peer:<peer id>": no user token may name one */
    refused(make("{\"sub\":\"peer:0b1c\",\"exp\":1700000600}"),
            "sub must not begin with \"peer:\" (peers' channels)");
}

static void rooms(void **state)
{
    (void)state;
    const char *not_array = "rooms must be an array of strings";
    refused(make("{\"sub\":\"a\",\"exp\":1700000600,\"rooms\":\"r1\"}"), not_array);
    refused(make("{\"sub\":\"a\",\"exp\":1700000600,\"rooms\":{\"r1\":true}}"), not_array);
    refused(make("{\"sub\":\"a\",\"exp\":1700000600,\"rooms\":null}"), not_array);
    refused(make("{\"sub\":\"a\",\"exp\":1700000600,\"rooms\":7}"), not_array);
    refused(make("{\"sub\":\"a\",\"exp\":1700000600,\"rooms\":[\"r1\",2]}"), not_array);
    refused(make("{\"sub\":\"a\",\"exp\":1700000600,\"rooms\":[null]}"), not_array);
    refused(make("{\"sub\":\"a\",\"exp\":1700000600,\"rooms\":[[\"r1\"]]}"), not_array);
    refused(make("{\"sub\":\"a\",\"exp\":1700000600,\"rooms\":[\"\"]}"),
            "room ids must be 1-256 bytes");
    char claims[8192];
    snprintf(claims, sizeof(claims), "{\"sub\":\"a\",\"exp\":1700000600,\"rooms\":[\"%0257d\"]}", 1);
    refused(make(claims), "room ids must be 1-256 bytes");

    /* 1000 rooms pass, 1001 do not */
    for (int n = 1000; n <= 1001; n++) {
        size_t off = (size_t)snprintf(claims, sizeof(claims), "{\"sub\":\"a\",\"exp\":1700000600,\"rooms\":[");
        for (int i = 0; i < n; i++)
            off += (size_t)snprintf(claims + off, sizeof(claims) - off, "%s\"x\"", i ? "," : "");
        snprintf(claims + off, sizeof(claims) - off, "]}");
        hv_identity id;
        char err[128];
        int rc = verify(make(claims), &id, err, sizeof(err));
        if (n == 1000) {
            assert_int_equal(rc, 0);
            assert_int_equal(id.nrooms, 1000);
            assert_true(hv_identity_has_room(&id, "x"));
            hv_identity_clear(&id);
        } else {
            assert_int_equal(rc, -1);
            assert_string_equal(err, "too many rooms");
        }
    }
}

static void audience(void **state)
{
    (void)state;
    hv_identity id;
    char err[128];
    struct {
        const char *claims, *aud;
        int ok;
    } cases[] = {
        {"{\"sub\":\"a\",\"exp\":1700000600,\"aud\":\"herald\"}", "herald", 1},
        {"{\"sub\":\"a\",\"exp\":1700000600,\"aud\":\"other\"}", "herald", 0},
        {"{\"sub\":\"a\",\"exp\":1700000600,\"aud\":\"heraldx\"}", "herald", 0},
        {"{\"sub\":\"a\",\"exp\":1700000600,\"aud\":[\"x\",\"herald\"]}", "herald", 1},
        {"{\"sub\":\"a\",\"exp\":1700000600,\"aud\":[\"x\",\"y\"]}", "herald", 0},
        {"{\"sub\":\"a\",\"exp\":1700000600,\"aud\":[]}", "herald", 0},
        {"{\"sub\":\"a\",\"exp\":1700000600,\"aud\":[1,null]}", "herald", 0},
        {"{\"sub\":\"a\",\"exp\":1700000600,\"aud\":{\"herald\":1}}", "herald", 0},
        {"{\"sub\":\"a\",\"exp\":1700000600}", "herald", 0},
        /* no audience configured: aud is not looked at */
        {"{\"sub\":\"a\",\"exp\":1700000600,\"aud\":\"other\"}", NULL, 1},
        {"{\"sub\":\"a\",\"exp\":1700000600,\"aud\":\"other\"}", "", 1},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *tok = make(cases[i].claims);
        int rc = hv_jwt_verify(SECRET, cases[i].aud, tok, NOW, &id, err, sizeof(err));
        free(tok);
        if (cases[i].ok) {
            if (rc != 0)
                fail_msg("case %zu refused: %s", i, err);
            hv_identity_clear(&id);
        } else {
            assert_int_equal(rc, -1);
            assert_string_equal(err, "wrong audience");
        }
    }
}

/* ---- garbage ---- */

static void garbage(void **state)
{
    (void)state;
    const char *bad[] = {
        "garbage", "a.b", "a.b.c", "..", "...", "a.b.c.d.e", ".eyJ9.", "eyJhbGciOiJIUzI1NiJ9..",
        "eyJhbGciOiJIUzI1NiJ9.e30.", /* {} claims, empty signature: shape is fine */
        "eyJhbGciOiJIUzI1NiJ9.e30=.x", "eyJhbGciOiJIUzI1NiJ9 .e30.x", "\xff\xfe.\x01.\x02",
        "W10.e30.AAAA", /* header [] */
        "eyJhbGciOiJIUzI1NiJ9.W10.AAAA", /* claims [] */
        "eyJhbGciOiJIUzI1NiJ9.bm90IGpzb24.AAAA", /* claims "not json" */
        "eyJhbGciOiJIUzI1NiJ9.e.AAAA", /* impossible base64 length */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        hv_identity id;
        char err[128];
        assert_int_equal(hv_jwt_verify(SECRET, NULL, bad[i], NOW, &id, err, sizeof(err)), -1);
        assert_true(err[0] != '\0');
        hv_identity_clear(&id);
    }
    hv_identity id;
    char err[128];
    /* shape right, claims {} but signature empty: not a crash, a refusal */
    assert_int_equal(hv_jwt_verify(SECRET, NULL, "eyJhbGciOiJIUzI1NiJ9.e30.", NOW, &id, err,
                                   sizeof(err)), -1);
    assert_int_equal(hv_jwt_verify(SECRET, NULL, "", NOW, &id, err, sizeof(err)), -1);
    assert_string_equal(err, "empty token");
    assert_int_equal(hv_jwt_verify(SECRET, NULL, NULL, NOW, &id, err, sizeof(err)), -1);
    assert_string_equal(err, "empty token");
    /* no secret configured: nothing passes, not even a token "signed" with "" */
    char *tok = make_md("{\"alg\":\"HS256\"}", "{\"sub\":\"a\",\"exp\":1700000600}", "", EVP_sha256());
    assert_int_equal(hv_jwt_verify("", NULL, tok, NOW, &id, err, sizeof(err)), -1);
    assert_string_equal(err, "no token secret configured");
    assert_int_equal(hv_jwt_verify(NULL, NULL, tok, NOW, &id, err, sizeof(err)), -1);
    free(tok);
    /* err may be NULL */
    assert_int_equal(hv_jwt_verify(SECRET, NULL, "x", NOW, &id, NULL, 0), -1);
    /* a tiny err buffer is truncated, not overrun */
    char small[4];
    assert_int_equal(hv_jwt_verify(SECRET, NULL, "x", NOW, &id, small, sizeof(small)), -1);
    assert_string_equal(small, "mal");
}

static void size_limit(void **state)
{
    (void)state;
    /* a well-signed token of 9 KiB is refused for its size */
    char *pad = malloc(9 * 1024);
    assert_non_null(pad);
    memset(pad, 'p', 9 * 1024 - 1);
    pad[9 * 1024 - 1] = '\0';
    char *claims = malloc(10 * 1024);
    assert_non_null(claims);
    snprintf(claims, 10 * 1024, "{\"sub\":\"a\",\"exp\":1700000600,\"pad\":\"%s\"}", pad);
    char *tok = make(claims);
    assert_true(strlen(tok) > 9 * 1024);
    refused(tok, "token too long");
    /* exactly 8192 bytes passes, 8193 does not */
    for (size_t want = 8192; want <= 8193; want++) {
        char *t = NULL;
        for (size_t padlen = 5000; padlen < 7000; padlen++) {
            pad[padlen] = '\0';
            snprintf(claims, 10 * 1024, "{\"sub\":\"a\",\"exp\":1700000600,\"pad\":\"%s\"}", pad);
            pad[padlen] = 'p';
            t = make(claims);
            if (strlen(t) == want)
                break;
            free(t);
            t = NULL;
        }
        assert_non_null(t);
        if (want == 8192)
            accepted(t);
        else
            refused(t, "token too long");
    }
    free(claims);
    free(pad);
    /* 9 KiB of garbage */
    char *junk = malloc(9 * 1024 + 1);
    assert_non_null(junk);
    memset(junk, 'A', 9 * 1024);
    junk[9 * 1024] = '\0';
    hv_identity id;
    char err[128];
    assert_int_equal(hv_jwt_verify(SECRET, NULL, junk, NOW, &id, err, sizeof(err)), -1);
    assert_string_equal(err, "token too long");
    free(junk);
}

/* ---- the CLI's tokens (client library minting) ---- */

/* Path of herald-cli in the build tree: this test is build/tests/test_jwt,
 * the CLI build/herald-cli. */
static int find_cli(char *path, size_t len)
{
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n <= 0)
        return -1;
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    if (!slash)
        return -1;
    *slash = '\0';
    slash = strrchr(self, '/');
    if (!slash)
        return -1;
    *slash = '\0';
    snprintf(path, len, "%s/herald-cli", self);
    return access(path, X_OK) == 0 ? 0 : -1;
}

/* Runs the command; returns its exit status, first line of stdout in out. */
static int run(const char *cmd, char *out, size_t len)
{
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    out[0] = '\0';
    if (!fgets(out, (int)len, p))
        out[0] = '\0';
    char sink[256];
    while (fgets(sink, sizeof(sink), p))
        ;
    out[strcspn(out, "\n")] = '\0';
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void cli_minted(void **state)
{
    (void)state;
    char cli[4200];
    if (find_cli(cli, sizeof(cli)) != 0)
        skip(); /* herald-cli not built alongside */
    char cmd[4400], tok[9000];
    hv_identity id;
    char err[128];
    int64_t now = (int64_t)time(NULL);

    snprintf(cmd, sizeof(cmd), "%s token --user alice --rooms r1,lobby --ttl 120 --secret %s",
             cli, SECRET);
    assert_int_equal(run(cmd, tok, sizeof(tok)), 0);
    if (hv_jwt_verify(SECRET, NULL, tok, now, &id, err, sizeof(err)) != 0)
        fail_msg("CLI token refused: %s (%s)", err, tok);
    assert_string_equal(id.user_id, "alice");
    assert_int_equal(id.nrooms, 2);
    assert_true(hv_identity_has_room(&id, "r1"));
    assert_true(hv_identity_has_room(&id, "lobby"));
    assert_false(hv_identity_has_room(&id, "r2"));
    assert_true(id.exp >= now + 119 && id.exp <= now + 121);
    hv_identity_clear(&id);
    /* expired once the ttl and the leeway are over */
    assert_int_equal(hv_jwt_verify(SECRET, NULL, tok, now + 200, &id, err, sizeof(err)), -1);
    assert_string_equal(err, "token expired");
    /* another secret's server refuses it */
    assert_int_equal(hv_jwt_verify("not-the-secret", NULL, tok, now, &id, err, sizeof(err)), -1);
    assert_string_equal(err, "bad signature");

    /* secret from the environment, no rooms, default ttl */
    snprintf(cmd, sizeof(cmd), "HERALD_JWT_SECRET=%s %s token --user bob", SECRET, cli);
    assert_int_equal(run(cmd, tok, sizeof(tok)), 0);
    assert_int_equal(hv_jwt_verify(SECRET, NULL, tok, now, &id, err, sizeof(err)), 0);
    assert_string_equal(id.user_id, "bob");
    assert_int_equal(id.nrooms, 0);
    assert_true(id.exp >= now + 3599 && id.exp <= now + 3601);
    hv_identity_clear(&id);

    /* usage errors exit 2 */
    snprintf(cmd, sizeof(cmd), "HERALD_JWT_SECRET= %s token --user bob 2>/dev/null", cli);
    assert_int_equal(run(cmd, tok, sizeof(tok)), 2);
    snprintf(cmd, sizeof(cmd), "%s token --secret s --rooms a,,b --user bob 2>/dev/null", cli);
    assert_int_equal(run(cmd, tok, sizeof(tok)), 2);
    snprintf(cmd, sizeof(cmd), "%s token --secret s --ttl 0 --user bob 2>/dev/null", cli);
    assert_int_equal(run(cmd, tok, sizeof(tok)), 2);
    snprintf(cmd, sizeof(cmd), "%s token --secret s --ttl 300000000000 --user bob 2>/dev/null", cli);
    assert_int_equal(run(cmd, tok, sizeof(tok)), 2); /* past year 9999 */
    snprintf(cmd, sizeof(cmd), "%s token --secret s 2>/dev/null", cli);
    assert_int_equal(run(cmd, tok, sizeof(tok)), 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(valid_libjwt),   cmocka_unit_test(valid_by_hand),
        cmocka_unit_test(expiry_and_nbf), cmocka_unit_test(bad_signature),
        cmocka_unit_test(algorithms),     cmocka_unit_test(subject),
        cmocka_unit_test(rooms),          cmocka_unit_test(audience),
        cmocka_unit_test(garbage),        cmocka_unit_test(size_limit),
        cmocka_unit_test(cli_minted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
