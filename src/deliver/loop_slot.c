/* SPDX-License-Identifier: MIT */
/* loop_slot.c — making and freeing deliver's per-loop state; see
 * loop_slot.h (the struct is in deliver_internal.h, for deliver's files). */
#include "deliver/loop_slot.h"

#include <stdlib.h>

#include "core/xalloc.h"
#include "deliver/deliver_internal.h"
#include "deliver/reach.h"

hv_loop_slot *hv_deliver_slot_new(hv_loop *l)
{
    (void)l;
    hv_loop_slot *s = hv_xcalloc(1, sizeof(*s));
    hv_list_init(&s->notif_pb);
    hv_list_init(&s->notif_json);
    hv_list_init(&s->metrics_pb);
    hv_list_init(&s->metrics_json);
    hv_map_init(&s->room_subs);
    hv_map_init(&s->user_subs);
    s->reach = hv_reach_new();
    return s;
}

void hv_deliver_slot_free(hv_loop *l, hv_loop_slot *s)
{
    (void)l;
    if (!s)
        return;
    hv_map_free(&s->room_subs); /* empty: every subscriber has left */
    hv_map_free(&s->user_subs);
    hv_reach_free(s->reach);
    free(s);
}
