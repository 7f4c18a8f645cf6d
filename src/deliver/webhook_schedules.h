/* SPDX-License-Identifier: MIT */
/* webhook_schedules.h — an endpoint's own retry schedules (issue 18 item 4).
 *
 * An endpoint may replace the server's --webhook-retry-schedule with its
 * own ("retry_schedule"), and give event types their own ("retry_schedules",
 * {"payment.*": [1, 5, 30], "*": [...]}: the first glob in the order given
 * that matches the event's type wins, then retry_schedule, then the
 * server's). Pure: parsing the API's JSON (bounded, errors naming the
 * field), choosing a schedule for a type, and the view/record forms.
 */
#ifndef HV_WEBHOOK_SCHEDULES_H
#define HV_WEBHOOK_SCHEDULES_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define HV_WH_EP_MAX_STEPS 20        /* retries in one endpoint schedule */
#define HV_WH_EP_MAX_STEP_S 86400    /* one wait, seconds (a day) */
#define HV_WH_EP_MAX_RULES 16        /* globs in retry_schedules */
#define HV_WH_EP_GLOB_MAX 128

typedef struct hv_wh_sched {
    int n;                            /* retries; 0 = none (the first failure is final) */
    int64_t ms[HV_WH_EP_MAX_STEPS];   /* ms[k]: the wait before retry k+1 */
} hv_wh_sched;

typedef struct hv_wh_sched_rule {
    char glob[HV_WH_EP_GLOB_MAX + 1];
    hv_wh_sched s;
} hv_wh_sched_rule;

typedef struct hv_wh_schedules {
    int has_default;                  /* "retry_schedule" given */
    hv_wh_sched def;
    size_t nrules;                    /* "retry_schedules", in the order given */
    hv_wh_sched_rule rules[HV_WH_EP_MAX_RULES];
} hv_wh_schedules;

/* One schedule: an array of seconds ([5, 300, 1800], decimals allowed) or
 * the flag's string form ("5,300,1800"). -1 with err naming `name`. */
int hv_wh_sched_parse_json(const json_t *v, const char *name, hv_wh_sched *out, char *err, size_t errlen);

/* Reads "retry_schedule" and "retry_schedules" of an API body into a new
 * set based on cur (NULL: none): a key absent keeps cur's, null clears it.
 * *out is NULL when the endpoint ends up with neither (the server's
 * schedule). Returns 0 (*changed set when a key was present), or -1 with
 * err; nothing is allocated on error. */
int hv_wh_schedules_from_body(const json_t *body, const hv_wh_schedules *cur, hv_wh_schedules **out,
                              int *changed, char *err, size_t errlen);

/* The schedule for an event type, or NULL for the server's. */
const hv_wh_sched *hv_wh_schedules_pick(const hv_wh_schedules *s, const char *type);

hv_wh_schedules *hv_wh_schedules_clone(const hv_wh_schedules *s);

/* The API view: "retry_schedule" (seconds) and "retry_schedules", null
 * when not set. */
void hv_wh_schedules_view(const hv_wh_schedules *s, json_t *obj);
/* The stored record (milliseconds); absent keys when not set, so older
 * records read the same. */
void hv_wh_schedules_record(const hv_wh_schedules *s, json_t *obj);
hv_wh_schedules *hv_wh_schedules_from_record(const json_t *obj);

#endif
