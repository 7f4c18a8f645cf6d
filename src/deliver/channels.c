/* channels.c — per-loop room and user channels; see channels.h. A channel
 * is an hv_list head in the loop's map, created on the first join and
 * freed when its last subscriber leaves. */
#include "deliver/channels.h"

#include <stdlib.h>
#include <string.h>

#include "net/ws.h"

static void join(hv_map *m, const char *id, hv_list *node)
{
    hv_list *head = hv_map_get(m, id);
    if (!head) {
        head = malloc(sizeof(*head));
        hv_list_init(head);
        hv_map_put(m, id, head);
    }
    hv_list_push(head, node);
}

static void leave(hv_map *m, const char *id, hv_list *node)
{
    if (!id || !hv_list_linked(node))
        return;
    hv_list_remove(node);
    hv_list *head = hv_map_get(m, id);
    if (head && hv_list_empty(head)) {
        hv_map_del(m, id);
        free(head);
    }
}

void hv_channels_join(hv_sub *s)
{
    hv_loop *l = s->conn->loop;
    hv_list_init(&s->room_node);
    hv_list_init(&s->user_node);
    if (s->room_id)
        join(&l->room_subs, s->room_id, &s->room_node);
    if (s->user_id)
        join(&l->user_subs, s->user_id, &s->user_node);
}

void hv_channels_leave(hv_sub *s)
{
    if (s->conn) {
        hv_loop *l = s->conn->loop;
        leave(&l->room_subs, s->room_id, &s->room_node);
        leave(&l->user_subs, s->user_id, &s->user_node);
    }
    free(s->room_id);
    free(s->user_id);
    s->room_id = s->user_id = NULL;
}

static uint64_t send_all(hv_list *head, size_t node_off, hv_event *ev)
{
    uint64_t n = 0;
    if (!head)
        return 0;
    hv_list_each(it, head) {
        hv_sub *s = (hv_sub *)((char *)it - node_off);
        hv_ws_send_frame(s->conn, &ev->json);
        n++;
    }
    return n;
}

uint64_t hv_channels_deliver(hv_loop *l, hv_event *ev)
{
    if (ev->user_id)
        return send_all(hv_map_get(&l->user_subs, ev->user_id), offsetof(hv_sub, user_node), ev);
    if (ev->room_id)
        return send_all(hv_map_get(&l->room_subs, ev->room_id), offsetof(hv_sub, room_node), ev);
    return 0;
}

hv_sub *hv_channels_find(hv_loop *l, const char *room_id, const void *owner, uint64_t gen)
{
    hv_list *head = hv_map_get(&l->room_subs, room_id);
    if (!head)
        return NULL;
    hv_list_each(it, head) {
        hv_sub *s = hv_container_of(it, hv_sub, room_node);
        if (s->owner == owner && s->owner_gen == gen)
            return s;
    }
    return NULL;
}
