/* SPDX-License-Identifier: MIT */
/* fuzz_jwt.c — libFuzzer target for user-token verification
 * (auth/jwt.c): arbitrary bytes, made a NUL-terminated string, go to
 * hv_jwt_verify with a fixed secret, once without and once with an
 * audience. Whatever is accepted must satisfy the contract (a sub of
 * 1–256 bytes, at most 1000 rooms of 1–256 bytes, has_room finds each of
 * them); everything must be released (ASan/LSan watch). The seeds in
 * fuzz/corpus/fuzz_jwt/ are real tokens signed with this secret, so the
 * fuzzer starts past the signature check.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth/jwt.h"

#define FUZZ_SECRET "fuzz-secret"
#define FUZZ_NOW ((int64_t)1700000000)

static void check(const char *token, const char *audience)
{
    hv_identity id;
    char err[128];
    if (hv_jwt_verify(FUZZ_SECRET, audience, token, FUZZ_NOW, &id, err, sizeof(err)) != 0) {
        if (!err[0] || id.rooms || id.nrooms || id.user_id[0])
            abort(); /* a refusal has a reason and leaves out zeroed */
        return;
    }
    size_t n = strlen(id.user_id);
    if (n == 0 || n > HV_JWT_MAX_ID || id.nrooms > HV_JWT_MAX_ROOMS)
        abort();
    for (size_t i = 0; i < id.nrooms; i++) {
        size_t len = strlen(id.rooms[i]);
        if (len == 0 || len > HV_JWT_MAX_ID || !hv_identity_has_room(&id, id.rooms[i]))
            abort();
    }
    hv_identity_clear(&id);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *token = malloc(size + 1);
    if (!token)
        return 0;
    memcpy(token, data, size);
    token[size] = '\0';
    check(token, NULL);
    check(token, "herald");
    free(token);
    return 0;
}
