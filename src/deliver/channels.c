/* SPDX-License-Identifier: MIT */
/* channels.c — per-loop channels and resume; see channels.h.
 *
 * A channel is an hv_list head in the loop's map (room_subs or
 * user_subs of its slot, deliver_internal.h), made on the first join and freed when its last link
 * leaves. A subscriber has one link per room and one for its user.
 */
#include "deliver/channels.h"

#include <stdlib.h>
#include <string.h>

#include "codec/event_frames.h"
#include "core/xalloc.h"
#include "deliver/deliver_internal.h"
#include "deliver/reach.h"
#include "net/server.h"
#include "net/ws.h"

#define REPLAY_PAGE 500

hv_sub *hv_sub_new(hv_conn *c, int proto, const char *user_id, const char *const *rooms, size_t nrooms)
{
    /* A subscription is made only for a client whose token was accepted
     * (peer socket, access socket, SSE): the connection is authenticated. */
    hv_conn_authenticated(c);
    hv_sub *s = hv_xcalloc(1, sizeof(*s));
    s->conn = c;
    s->proto = proto;
    s->user_id = user_id ? hv_xstrdup(user_id) : NULL;
    s->rooms = nrooms ? hv_xcalloc(nrooms, sizeof(char *)) : NULL;
    for (size_t i = 0; i < nrooms; i++)
        s->rooms[i] = hv_xstrdup(rooms[i]);
    s->nrooms = nrooms;
    return s;
}

/* The map of a channel kind. Creating or freeing a channel also updates
 * the loop's reach summary (deliver/reach.h), which the hub checks
 * before waking the loop. */
static hv_map *channel_map(hv_loop *l, int kind)
{
    return kind == HV_REACH_ROOM ? &l->slot->room_subs : &l->slot->user_subs;
}

static void link_join(hv_loop *l, int kind, hv_sub_link *lk)
{
    hv_map *m = channel_map(l, kind);
    hv_list *head = hv_map_get(m, lk->key);
    if (!head) {
        head = hv_xmalloc(sizeof(*head));
        hv_list_init(head);
        hv_map_put(m, lk->key, head);
        hv_reach_channel(l->slot->reach, kind, lk->key, +1);
    }
    hv_list_push(head, &lk->node);
}

static void link_leave(hv_loop *l, int kind, hv_sub_link *lk)
{
    hv_map *m = channel_map(l, kind);
    hv_list_remove(&lk->node);
    hv_list *head = hv_map_get(m, lk->key);
    if (head && hv_list_empty(head)) {
        hv_map_del(m, lk->key);
        free(head);
        hv_reach_channel(l->slot->reach, kind, lk->key, -1);
    }
}

void hv_sub_join(hv_sub *s)
{
    hv_loop *l = s->conn->loop;
    s->nlinks = s->nrooms + (s->user_id ? 1 : 0);
    s->links = hv_xcalloc(s->nlinks, sizeof(*s->links));
    for (size_t i = 0; i < s->nlinks; i++) {
        hv_sub_link *lk = &s->links[i];
        lk->sub = s;
        lk->key = i < s->nrooms ? s->rooms[i] : s->user_id;
        link_join(l, i < s->nrooms ? HV_REACH_ROOM : HV_REACH_USER, lk);
    }
}

static void sub_free(hv_sub *s)
{
    for (size_t i = 0; i < s->nheld; i++)
        hv_event_unref(s->held[i]);
    free(s->held);
    for (size_t i = 0; i < s->nrooms; i++)
        free(s->rooms[i]);
    free(s->rooms);
    free(s->user_id);
    free(s->links);
    free(s);
}

static void replay_free(struct replay *r);

/* Gives back the resume slot s holds (--max-resumes-per-address), once:
 * when its replay ends, or when it is released during one. */
static void slot_give(hv_sub *s)
{
    if (!s->resume_slot)
        return;
    s->resume_slot = 0;
    hv_limits_resume_release(&s->conn->loop->srv->limits, s->conn->addr);
}

void hv_sub_release(hv_sub *s)
{
    if (!s)
        return;
    slot_give(s);
    if (s->parked) { /* a replay waiting for the client to drain */
        replay_free(s->parked);
        s->parked = NULL;
    }
    hv_loop *l = s->conn->loop;
    for (size_t i = 0; i < s->nlinks; i++)
        link_leave(l, i < s->nrooms ? HV_REACH_ROOM : HV_REACH_USER, &s->links[i]);
    s->nlinks = 0;
    if (s->jobs > 0) {
        s->dead = 1; /* the replay read frees it when it lands */
        return;
    }
    sub_free(s);
}

/* ---- delivery ------------------------------------------------------------ */

static int send_frame(hv_sub *s, hv_event *ev);

/* Sends ev to s: the client's frame for it, unless already sent. Returns
 * 1 when queued. */
static int send_event(hv_sub *s, hv_event *ev)
{
    if (ev->id <= s->last_id)
        return 0;
    s->last_id = ev->id;
    return send_frame(s, ev);
}

/* Sends ev's frame to s, whatever its id (a replay by created_at is not in
 * id order; its bound is s->last_id, see resume_from). */
static int send_frame(hv_sub *s, hv_event *ev)
{
    if (s->proto == HV_SUB_PRESENCE)
        return 0; /* a peer's socket that takes no events: it is only to be found */
    if (s->proto == HV_SUB_WS) {
        hv_ws_send_frame(s->conn, &ev->json);
    } else {
        hv_conn *c = s->conn;
        if (c->qbytes + ev->sse.buf->len > c->loop->srv->cfg.max_outbound) {
            hv_conn_flush(c);
            if (!c->closing && c->qbytes + ev->sse.buf->len > c->loop->srv->cfg.max_outbound) {
                atomic_fetch_add_explicit(&c->loop->srv->metrics.slow_consumers, 1, memory_order_relaxed);
                hv_conn_drop_queued(c);
                hv_conn_close_after_flush(c); /* SSE has no close code: the client resumes */
                return 0;
            }
        }
        hv_conn_send_ref(c, ev->sse.buf, 0, ev->sse.buf->len);
    }
    return 1;
}

static void hold(hv_sub *s, hv_event *ev)
{
    if (s->held_dropped)
        return; /* in the store: the replay reads it after its end */
    if (s->nheld == HV_SUB_HELD_MAX) {
        for (size_t i = 0; i < s->nheld; i++)
            hv_event_unref(s->held[i]);
        s->nheld = 0;
        s->held_dropped = 1;
        return;
    }
    if (s->nheld == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 16;
        s->held = hv_xrealloc(s->held, s->cap * sizeof(*s->held));
    }
    s->held[s->nheld++] = hv_event_ref(ev);
}

static uint64_t send_all(hv_list *head, hv_event *ev)
{
    uint64_t n = 0;
    if (!head)
        return 0;
    hv_list_each(it, head) {
        hv_sub *s = hv_container_of(it, hv_sub_link, node)->sub;
        if (s->conn->closing)
            continue;
        if (s->replaying)
            hold(s, ev);
        else
            n += (uint64_t)send_event(s, ev);
    }
    return n;
}

uint64_t hv_channels_deliver(hv_loop *l, hv_event *ev)
{
    if (ev->user_id)
        return send_all(hv_map_get(&l->slot->user_subs, ev->user_id), ev);
    if (ev->room_id)
        return send_all(hv_map_get(&l->slot->room_subs, ev->room_id), ev);
    return 0;
}

hv_sub *hv_channels_find(hv_loop *l, const char *room_id, const void *owner, uint64_t gen)
{
    hv_list *head = hv_map_get(&l->slot->room_subs, room_id);
    if (!head)
        return NULL;
    hv_list_each(it, head) {
        hv_sub *s = hv_container_of(it, hv_sub_link, node)->sub;
        if (s->owner == owner && s->owner_gen == gen)
            return s;
    }
    return NULL;
}

/* ---- resume ------------------------------------------------------------------ */

typedef struct replay {
    uv_work_t work;
    hv_sub *sub;
    hv_server *srv;
    uint64_t after;
    char *user_id;
    char **rooms;
    size_t nrooms;
    hv_event **evs;
    size_t n;
    int status;       /* 0 ok, 1 gap, -1 store error */
    uint64_t first_id;
    /* the seeds' replay by created_at (hv_sub_resume_created) */
    int by_created;
    double after_key; /* the (created key, id) last sent */
    uint64_t after_cid;
    uint64_t max_id;  /* the last id stored when it began: newer ones come live */
} replay;

/* A page of a replay by created_at: the user's events after the cursor,
 * up to the id stored when the replay began (the first page reads it).
 * Retention ends it, not a gap: "everything retained". */
static void replay_read_created(replay *r)
{
    hv_store *st = r->srv->store;
    if (r->max_id == 0) {
        r->max_id = hv_store_last_id(st);
        r->sub->last_id = r->max_id; /* read by the loop only after this work lands */
    }
    hv_created_query q = {r->user_id, r->after_key, r->after_cid, r->max_id, REPLAY_PAGE};
    if (r->max_id == 0) {
        r->n = 0;
        return;
    }
    if (hv_store_by_created(st, &q, &r->evs, &r->n) != 0) {
        r->status = -1;
        return;
    }
    for (size_t i = 0; i < r->n; i++)
        hv_event_encode(r->evs[i]);
}

static void replay_read(uv_work_t *w)
{
    replay *r = w->data;
    hv_store *st = r->srv->store;
    if (r->by_created) {
        replay_read_created(r);
        return;
    }
    uint64_t first = hv_store_first_id(st);
    /* A gap: the first missed event (after + 1) is older than what the
     * store still holds, and something was published since. */
    if (r->after + 1 < first && hv_store_last_id(st) > r->after) {
        r->status = 1;
        r->first_id = first;
        return;
    }
    if (hv_store_audience(st, r->after, REPLAY_PAGE, r->user_id, (const char *const *)r->rooms, r->nrooms,
                          &r->evs, &r->n) != 0) {
        r->status = -1;
        return;
    }
    for (size_t i = 0; i < r->n; i++)
        hv_event_encode(r->evs[i]);
}

static int queue_read(hv_sub *s, replay *r);

static void finish_resume(hv_sub *s, int status, uint64_t first_id)
{
    s->replaying = 0;
    slot_give(s);
    if (s->done)
        s->done(s, status, first_id);
    for (size_t i = 0; i < s->nheld; i++) {
        if (!s->conn->closing)
            send_event(s, s->held[i]);
        hv_event_unref(s->held[i]);
    }
    s->nheld = 0;
}

static void replay_free(replay *r)
{
    for (size_t i = 0; i < r->n; i++)
        hv_event_unref(r->evs[i]);
    free(r->evs);
    free(r);
}

/* Ends one read of s: s->jobs counted it until now, so that a flush made
 * while it landed (which may close the connection, and the close release
 * s) only marked s dead. Frees s when that was its last read. */
static void read_done(hv_sub *s)
{
    s->jobs--;
    if (s->dead && s->jobs == 0)
        sub_free(s);
}

/* Sends a landed page to s and flushes; the id to read after next. */
static uint64_t send_page(hv_sub *s, replay *r)
{
    for (size_t i = 0; i < r->n; i++) {
        if (r->by_created)
            send_frame(s, r->evs[i]);
        else
            send_event(s, r->evs[i]);
    }
    uint64_t next = r->n ? r->evs[r->n - 1]->id : r->after;
    if (r->by_created && r->n) {
        r->after_key = r->evs[r->n - 1]->created_key;
        r->after_cid = next;
    }
    for (size_t i = 0; i < r->n; i++)
        hv_event_unref(r->evs[i]);
    free(r->evs);
    r->evs = NULL;
    r->n = 0;
    hv_loop_flush(s->conn->loop);
    return next;
}

static void replay_landed(uv_work_t *w, int status)
{
    replay *r = w->data;
    hv_sub *s = r->sub;
    /* a dead s may have outlived its connection: s->conn only when alive */
    if (s->dead || s->conn->closing) {
        replay_free(r);
    } else if (status != 0 || r->status != 0) {
        finish_resume(s, status ? -1 : r->status, r->first_id);
        replay_free(r);
    } else {
        int more = r->n == REPLAY_PAGE;
        uint64_t next = send_page(s, r);
        if (s->dead || s->conn->closing) { /* closed by that flush */
            free(r);
        } else if (more || s->held_dropped) {
            /* the next page; or, at the end, what came live past
             * HV_SUB_HELD_MAX, read by id after the last sent (held again
             * from now: what lands meanwhile is in the store already) */
            if (!more) {
                s->held_dropped = 0;
                r->by_created = 0;
                next = s->last_id;
            }
            r->after = next;
            if (hv_conn_backlogged(s->conn)) {
                /* the client has not taken what was sent: the next page is
                 * read once it has (hv_sub_drained), so a replay holds at
                 * most --outbound-pause and a page, not the whole history,
                 * and a client that takes nothing is closed by
                 * --send-timeout rather than as a slow consumer */
                s->parked = r;
            } else if (queue_read(s, r) != 0) { /* s stays counted by this read */
                finish_resume(s, -1, 0);
                free(r);
            }
        } else {
            hv_loop *l = s->conn->loop;
            finish_resume(s, 0, 0);
            hv_loop_flush(l);
            free(r);
        }
    }
    read_done(s);
}

/* Queues r's read of s on the pool, counted in s->jobs; -1 if it could
 * not be queued (nothing counted). */
static int queue_read(hv_sub *s, replay *r)
{
    s->jobs++;
    if (uv_queue_work(&s->conn->loop->uv, &r->work, replay_read, replay_landed) != 0) {
        s->jobs--;
        return -1;
    }
    return 0;
}

static void start_read(hv_sub *s, replay *r)
{
    if (queue_read(s, r) != 0) {
        s->jobs++; /* held while finish_resume may close the connection */
        finish_resume(s, -1, 0);
        free(r);
        read_done(s);
    }
}

static replay *resume_from(hv_sub *s, uint64_t since, hv_resume_done done);

void hv_sub_drained(hv_sub *s)
{
    if (!s || !s->parked || s->dead || s->conn->closing)
        return;
    replay *r = s->parked;
    s->parked = NULL;
    start_read(s, r);
}

void hv_sub_resume(hv_sub *s, uint64_t since, hv_resume_done done)
{
    start_read(s, resume_from(s, since, done));
}

/* The same mechanism as a resume by id (joined first, live events held),
 * but the replay is in (created key, id) order and bounded by the last id
 * stored when it began, which then becomes s->last_id: the held live
 * events at or below it were in the replay's range, those above are new. */
void hv_sub_resume_created(hv_sub *s, double after_key, hv_resume_done done)
{
    if (!s->user_id) {
        hv_limits_resume_release(&s->conn->loop->srv->limits, s->conn->addr); /* nothing to replay */
        if (done)
            done(s, 0, 0);
        return;
    }
    replay *r = resume_from(s, 0, done);
    r->by_created = 1;
    r->after_key = after_key > 0 ? after_key : -1;
    r->after_cid = after_key > 0 ? UINT64_MAX : 0;
    start_read(s, r);
}

static replay *resume_from(hv_sub *s, uint64_t since, hv_resume_done done)
{
    s->done = done;
    s->replaying = 1;
    s->resume_slot = 1; /* the caller's, given back by finish_resume or hv_sub_release */
    s->last_id = since;
    replay *r = hv_xcalloc(1, sizeof(*r));
    r->work.data = r;
    r->sub = s;
    r->srv = s->conn->loop->srv;
    r->after = since;
    /* The subscriber outlives the read (see hv_sub_release), so its ids
     * can be read by the worker: they do not change once joined. */
    r->user_id = s->user_id;
    r->rooms = s->rooms;
    r->nrooms = s->nrooms;
    return r;
}

int hv_channels_drop_user(hv_loop *l, const char *user_id)
{
    hv_list *head = hv_map_get(&l->slot->user_subs, user_id);
    int n = 0;
    if (!head)
        return 0;
    hv_list_each(it, head) {
        hv_sub *s = hv_container_of(it, hv_sub_link, node)->sub;
        if (s->conn->closing)
            continue;
        if (s->proto != HV_SUB_SSE)
            hv_ws_close(s->conn, 4006, "dropped");
        else
            hv_conn_close_after_flush(s->conn);
        n++;
    }
    return n;
}
