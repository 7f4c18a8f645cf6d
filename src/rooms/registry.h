/* SPDX-License-Identifier: MIT */
/* registry.h — rooms and peers: the Fishjam-compatible room model.
 *
 * The registry keeps every room and peer in memory behind one lock, and
 * persists each change as a state record (store kv) committed in the same
 * transaction as the event that announces it (room.created, peer.added,
 * ...). Because every change is validated and handed to the hub while the
 * lock is held, events reach the log in the order the changes happened.
 * Peer sockets register here to be found by token and to be closed when
 * their peer or room is deleted; their presence emits peer.connected,
 * peer.disconnected and peer.crashed. With several nodes sharing one
 * store, rooms, peers and sessions are shared too (rooms/nodes.c).
 *
 * Implemented by registry.c (the REST operations and peer sockets),
 * nodes.c (what crosses nodes) and undo.c (a change whose commit failed).
 */
#ifndef HV_ROOMS_REGISTRY_H
#define HV_ROOMS_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

#include "core/result.h"
#include "hub/hub.h"
#include "net/conn.h"
#include "store/shared.h"

typedef struct hv_rooms hv_rooms;
typedef struct hv_peer hv_peer;

/* Close codes of peer sockets. */
/* The namespaces of the store's key-value state the registry keeps its
 * rooms and peers in (shared by the nodes of one store: hub/hooks.h). */
#define HV_NS_ROOM "room"
#define HV_NS_PEER "peer"

#define HV_CLOSE_REPLACED 4002
#define HV_CLOSE_INVALID_TOKEN 4003
#define HV_CLOSE_PEER_DELETED 4004
#define HV_CLOSE_ROOM_DELETED 4005

/* Loads rooms and peers from the store (all peers start disconnected). */
hv_rooms *hv_rooms_new(hv_server *srv);
void hv_rooms_free(hv_rooms *r);

/* The registry's lock: the hub holds it while it undoes the changes of a
 * commit that stored nothing (hub.h, hv_undo; rooms/undo.c). */
void hv_rooms_lock(hv_rooms *r);
void hv_rooms_unlock(hv_rooms *r);

/* Where a committed change is answered: hv_hub_commit's done callback. */
typedef hv_reply hv_rooms_reply;

/* REST operations. Each returns a result (core/result.h; api/ makes it
 * an HTTP status). On success (HV_OK, HV_CREATED, HV_DELETED) *out is the
 * JSON body to answer with (NULL for HV_DELETED) and, for changes,
 * reply.done will be called once the change is durable; on failure *out
 * is the error message and nothing was changed (HV_ERR_UNAVAILABLE: the
 * server is stopping). address is "host:port" for the fishjam_address /
 * peer_websocket_url fields. */
hv_result hv_rooms_create(hv_rooms *r, const char *body, size_t len, const char *address,
                    char **out, hv_rooms_reply reply);
hv_result hv_rooms_list(hv_rooms *r, char **out);
hv_result hv_rooms_get(hv_rooms *r, const char *room_id, char **out);
hv_result hv_rooms_delete(hv_rooms *r, const char *room_id, char **out, hv_rooms_reply reply);
hv_result hv_peers_create(hv_rooms *r, const char *room_id, const char *body, size_t len,
                    const char *address, char **out, hv_rooms_reply reply);
hv_result hv_peers_delete(hv_rooms *r, const char *room_id, const char *peer_id, char **out,
                    hv_rooms_reply reply);
hv_result hv_peers_refresh_token(hv_rooms *r, const char *room_id, const char *peer_id, char **out,
                           hv_rooms_reply reply);
/* HV_OK when the peer exists (subscribe_peer / subscribe_tracks). */
hv_result hv_peers_check(hv_rooms *r, const char *room_id, const char *peer_id, char **out);

/* Before a token is used (peer socket, SSE; on the socket's loop): with
 * a store shared by several nodes, a 43-character token this node does
 * not know may be another node's new peer, not yet applied here. Returns
 * HV_CATCH_UP_NONE: go on now (known, not peer-like, or a single node);
 * HV_CATCH_UP_QUEUED: wait, done(loop, arg, status) is posted once a
 * catch-up ran (status HV_CATCH_UP_DONE: go on; HV_CATCH_UP_FAILED: the
 * store did not answer; HV_CATCH_UP_TIMEOUT: none ran within
 * --auth-timeout); HV_CATCH_UP_BUSY: --max-token-lookups wait already,
 * refuse at once; HV_CATCH_UP_FAILED: the store is unavailable now. The
 * calls below never catch up themselves. */
int hv_peers_lookup(hv_rooms *r, const char *token, hv_loop *loop, hv_catch_up_done done, void *arg);

/* Peer sockets (called on the socket's loop). connect finds the peer of
 * token and makes c its socket: a new connection emits peer.connected; one
 * replacing an older socket closes that one with 4002 and emits nothing.
 * Returns a peer reference and the connection's generation, or NULL. */
hv_peer *hv_peers_connect(hv_rooms *r, const char *token, hv_conn *c, uint64_t *gen);
#define HV_PEER_TYPE_AGENT 2 /* model.h's p->type of an agent peer */
/* The same for a peer of one type only (model.h's p->type; 0 = any): the
 * agent socket takes agent peers' tokens alone. NULL, touching nothing,
 * for a peer of another type. */
hv_peer *hv_peers_connect_as(hv_rooms *r, const char *token, int type, hv_conn *c, uint64_t *gen);
/* The socket of generation gen is gone: emits peer.disconnected (clean
 * close) or peer.crashed with reason (lost), unless the peer was deleted
 * or the socket was replaced. Releases the reference. */
void hv_peers_disconnect(hv_rooms *r, hv_peer *p, uint64_t gen, int lost, const char *reason);
/* Stores new metadata (JSON text) and emits peer.metadata_updated. 0 when
 * the change went to the hub (reply.done is called once it is durable or
 * failed); -1 when nothing was committed (the peer is deleted, the server
 * is stopping), and reply.done is not called. */
int hv_peers_update_metadata(hv_rooms *r, hv_peer *p, const char *metadata_json, hv_rooms_reply reply);

/* Who a peer token belongs to, without connecting (SSE streams): 0 and
 * the ids copied out, or -1 for an unknown token. */
int hv_peers_identify(hv_rooms *r, const char *token, char peer_id[64], char room_id[160]);

/* ---- across nodes sharing one store (rooms/nodes.c) ---- */

/* Applies a change another node committed, read from the store's change
 * feed (hub/replica.c): namespaces "room", "peer" and "presence"; others
 * are ignored. Commits nothing: the change is stored already. A room or
 * peer deleted elsewhere closes its socket here (4005 / 4004) once the
 * events of that commit have reached this node's loops; a session taken
 * by another node's socket closes this node's one (4002, announcing
 * nothing). */
void hv_rooms_apply(hv_rooms *r, const hv_kv_entry *e);
/* Calls each(arg, key) for every record of namespace ns this node holds
 * (to find what a reloaded snapshot no longer has). */
void hv_rooms_keys(hv_rooms *r, const char *ns, void (*each)(void *arg, const char *key),
                   void *arg);
/* Peers connected on nodes that died: each gets peer.crashed ("node <name>
 * stopped answering") and its session ends, unless it has reconnected on
 * another node meanwhile (the store decides). Call once per dead node,
 * from one survivor (the heartbeat's takeover), not with the lock held. */
void hv_rooms_nodes_died(hv_rooms *r, const char *const *nodes, size_t n);
/* At start, before any socket: ends the sessions this node held before it
 * restarted (peer.crashed, "node <name> restarted"). */
void hv_rooms_restarted(hv_rooms *r);
/* Commits again the session ends the store refused while it was
 * unreachable (shared mode; any thread; a no-op while it still is). */
void hv_rooms_retry_refused(hv_rooms *r);

const char *hv_peer_id(const hv_peer *p);
const char *hv_peer_room_id(const hv_peer *p);

#endif
