/* SPDX-License-Identifier: MIT */
/* text_json.h — a stored text as a JSON string, invalid UTF-8 bytes
 * replaced by U+FFFD, and a stored delivery attempt as the API's object
 * (store/text_json.c). Not for use outside src/store/. */
#ifndef HV_STORE_TEXT_JSON_H
#define HV_STORE_TEXT_JSON_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* A new JSON string of text (len bytes), NULL on allocation failure. */
json_t *hv_store_text_json(const char *text, size_t len);

/* One delivery attempt as each engine reads it back; texts may be NULL
 * (absent) and need not be NUL-terminated. */
typedef struct hv_attempt_row {
    const char *id, *delivery_id, *event_id; /* decimal */
    int64_t time_ms;
    int has_status;                          /* 0: no HTTP answer */
    long long status;
    int64_t latency_ms;
    const char *error, *response;
    size_t error_len, response_len;
    int state;                               /* 0 pending, 1 delivered, 2 failed */
} hv_attempt_row;

/* The deliveries API's object of one attempt (the same shape for every
 * engine), NULL on allocation failure. */
json_t *hv_store_attempt_json(const hv_attempt_row *a);

#endif
