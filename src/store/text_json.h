/* text_json.h — a stored text as a JSON string, invalid UTF-8 bytes
 * replaced by U+FFFD (store/text_json.c). Not for use outside src/store/. */
#ifndef HV_STORE_TEXT_JSON_H
#define HV_STORE_TEXT_JSON_H

#include <jansson.h>
#include <stddef.h>

/* A new JSON string of text (len bytes), NULL on allocation failure. */
json_t *hv_store_text_json(const char *text, size_t len);

#endif
