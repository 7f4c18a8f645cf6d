/* SPDX-License-Identifier: MIT */
/* event_filter.h — payload filters: which events a webhook endpoint or a
 * sink wants by the fields of their data, not only by type glob and room
 * (issue 18 item 5).
 *
 * A filter is a small JSON object in the MongoDB-like form Convoy and
 * Hookdeck Outpost both use (docs/webhooks.md, "Payload filters"):
 *
 *   {"data.amount": {"$gte": 100}, "data.user.plan": "pro",
 *    "$or": [{"data.kind": {"$prefix": "invoice."}}, {"data.vip": {"$exists": true}}]}
 *
 * Keys of one object must all hold (AND); "$and"/"$or" take arrays of such
 * objects. A path is "type", "room_id", "user_id", "data" or "data.<a>.<b>"
 * (a segment of digits indexes an array). A value is a literal ($eq) or an
 * object of operators: $eq $ne $exists $prefix $gt $gte $lt $lte $in $nin
 * ($neq, $exist, $startsWith are accepted as Convoy's/Outpost's spellings).
 *
 * hv_filter_compile checks the JSON once (at creation, against the bounds
 * below) and builds an immutable tree, shared by reference between endpoint
 * snapshots and safe to match from any thread. hv_filter_match evaluates
 * it; the event's data is parsed at most once per subject, however many
 * filters look at it.
 */
#ifndef HV_EVENT_FILTER_H
#define HV_EVENT_FILTER_H

#include <jansson.h>
#include <stddef.h>

#include "core/event.h"

/* Bounds (docs/webhooks.md; past one, compiling fails with a message). */
#define HV_FILTER_MAX_BYTES 4096   /* the filter as compact JSON */
#define HV_FILTER_MAX_DEPTH 8      /* nesting of $and / $or */
#define HV_FILTER_MAX_CONDS 64     /* path-operator conditions in all */
#define HV_FILTER_MAX_PATH 256     /* bytes of one path */
#define HV_FILTER_MAX_SEGMENTS 16  /* dotted segments of one path */
#define HV_FILTER_MAX_IN 64        /* values of one $in / $nin */

typedef struct hv_filter hv_filter;

/* Compiles j (a JSON object). Returns a filter with one reference, or NULL
 * for an empty object (matches everything: no filter) and for an error,
 * which then sets err to "filter: <what>, at <where>" (err[0] is 0 for an
 * empty object). */
hv_filter *hv_filter_compile(json_t *j, char *err, size_t errlen);
/* The same from JSON text. */
hv_filter *hv_filter_compile_text(const char *text, size_t len, char *err, size_t errlen);
hv_filter *hv_filter_ref(hv_filter *f);
void hv_filter_unref(hv_filter *f);

/* The filter as given, compact JSON text (owned by f). */
const char *hv_filter_text(const hv_filter *f);

/* What filters are matched against: one event, its data parsed on the
 * first need and kept until hv_filter_subject_done. */
typedef struct hv_filter_subject {
    const hv_event *ev;
    json_t *data;
    int parsed;
} hv_filter_subject;

void hv_filter_subject_init(hv_filter_subject *s, const hv_event *ev);
void hv_filter_subject_done(hv_filter_subject *s);

/* 1 when the subject's event passes f (a NULL f passes everything). */
int hv_filter_match(const hv_filter *f, hv_filter_subject *s);

#endif
