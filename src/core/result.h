/* SPDX-License-Identifier: MIT */
/* result.h — what a domain operation did, in the domain's own words.
 *
 * The registries (rooms, webhook endpoints) answer "created", "not found",
 * "peer limit reached" and so on; they know nothing of HTTP. Only api/
 * turns a result into a status code (api/reply.c, hv_api_status_of), so
 * another front end (a CLI, a different protocol) can reuse the same
 * operations, and the mapping lives in one place. Successes are 0 and up,
 * failures negative: `if (res < 0)` tests for a failure.
 */
#ifndef HV_RESULT_H
#define HV_RESULT_H

typedef enum hv_result {
    HV_OK = 0,                 /* done; the answer has a body */
    HV_CREATED = 1,            /* something new exists (a room, a peer, a token) */
    HV_DELETED = 2,            /* done; nothing to answer with */
    HV_ERR_INVALID = -1,       /* the request is malformed or breaks a rule */
    HV_ERR_EXISTS = -2,        /* what it would create exists already */
    HV_ERR_NOT_FOUND = -3,     /* what it names does not exist */
    HV_ERR_LIMIT = -4,         /* a configured limit is reached (e.g. a room's max peers) */
    HV_ERR_UNAVAILABLE = -5,   /* the server is stopping: nothing was changed */
} hv_result;

#endif
