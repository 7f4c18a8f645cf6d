/* SPDX-License-Identifier: MIT */
/* fuzz_agent_request.c — libFuzzer target for what a client sends on the
 * agent socket (/socket/agent/websocket) before it has authenticated:
 * one WebSocket message, decoded as an AgentRequest (proto/agent.proto)
 * and judged by the socket's own code (hv_agent_request_read,
 * api/agent_socket.c), then, for an auth request, the token looked up the
 * way the socket does (hv_peers_identify on a store holding one agent
 * peer and one webrtc peer).
 *
 * Byte 0: bit 0 = a text message (else binary), bit 1 = an auth attempt
 * was made already; the rest is the message. Checked: a verdict is either
 * a non-empty token or a close with a valid code (1003, 1007, 4003) and a
 * printable reason that fits a close frame (<= 123 bytes); text is always
 * 1003; before an auth attempt only an auth request yields a token; a
 * token re-encoded as AgentRequest{auth_request} reads back the same; only
 * the agent's exact token finds the agent peer. The seeds in
 * fuzz/corpus/fuzz_agent_request/ are what SDK 0.29.0 sends (auth,
 * add_track, track_data, ...) plus broken and empty frames.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.pb-c.h"
#include "api/handlers.h"
#include "codec/ws_frame.h"
#include "core/log.h"
#include "fixture.h"
#include "net/server.h"
#include "rooms/registry.h"

static hv_server srv;
static char agent_token[128];

/* POST /room/:id/peer as the API does it; the peer's token out of the answer. */
static void add_peer(const char *room, const char *type, char *token, size_t len)
{
    char body[64], *out = NULL;
    snprintf(body, sizeof(body), "{\"type\":\"%s\"}", type);
    hv_rooms_reply reply = {NULL, NULL, NULL}; /* the registry's own no-reply */
    if (hv_peers_create(srv.rooms, room, body, strlen(body), "127.0.0.1:1", &out, reply) != HV_CREATED)
        abort();
    const char *t = strstr(out, "\"token\":\"");
    if (!t)
        abort();
    t += 9;
    snprintf(token, len, "%.*s", (int)strcspn(t, "\""), t);
    free(out);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    char *args[] = {(*argv)[0], NULL};
    hv_config_load(&srv.cfg, 1, args);
    hv_log_level = -1;
    fuzz_fixture_store(&srv, "agent");
    fuzz_fixture_loop(&srv); /* the hub commits the room and peers */
    char *out = NULL, other[128];
    hv_rooms_reply reply = {NULL, NULL, NULL}; /* the registry's own no-reply */
    const char *room = "{\"roomId\":\"fuzz-room\"}";
    if (hv_rooms_create(srv.rooms, room, strlen(room), "127.0.0.1:1", &out, reply) != HV_CREATED)
        abort();
    free(out);
    add_peer("fuzz-room", "agent", agent_token, sizeof(agent_token));
    add_peer("fuzz-room", "webrtc", other, sizeof(other));
    return 0;
}

/* The agent's own token is read back and found (checked once, at start). */
static void self_check(void);

static void check_reason(const char *r)
{
    size_t n = strlen(r);
    if (n == 0 || n > 123)
        abort();
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)r[i] < 0x20 || (unsigned char)r[i] > 0x7e)
            abort();
}

/* The token, re-encoded as the SDK would, reads back the same. */
static void round_trip(const char *token)
{
    Fishjam__AgentRequest__AuthRequest a = FISHJAM__AGENT_REQUEST__AUTH_REQUEST__INIT;
    Fishjam__AgentRequest m = FISHJAM__AGENT_REQUEST__INIT;
    a.token = (char *)token;
    m.content_case = FISHJAM__AGENT_REQUEST__CONTENT_AUTH_REQUEST;
    m.auth_request = &a;
    size_t n = fishjam__agent_request__get_packed_size(&m);
    uint8_t *buf = malloc(n);
    fishjam__agent_request__pack(&m, buf);
    hv_agent_verdict v;
    hv_agent_request_read(HV_WS_BINARY, buf, n, 0, &v);
    if (!v.token || strcmp(v.token, token) != 0)
        abort();
    free(v.token);
    free(buf);
}

static void self_check(void)
{
    char peer_id[64], room_id[160];
    round_trip(agent_token);
    if (hv_peers_identify(srv.rooms, agent_token, peer_id, room_id) != 0 || strcmp(room_id, "fuzz-room") != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int checked;
    if (!checked++)
        self_check();
    if (size < 1)
        return 0;
    int text = data[0] & 1, authed = (data[0] >> 1) & 1;
    hv_agent_verdict v;
    hv_agent_request_read(text ? HV_WS_TEXT : HV_WS_BINARY, data + 1, size - 1, authed, &v);
    if (v.token) {
        if (v.code != 0 || !*v.token || text)
            abort();
        round_trip(v.token);
        char peer_id[64], room_id[160];
        int found = hv_peers_identify(srv.rooms, v.token, peer_id, room_id) == 0;
        if (!strcmp(v.token, agent_token) && !found)
            abort();
        free(v.token);
        return 0;
    }
    if (v.code != 1003 && v.code != 1007 && v.code != 4003)
        abort();
    if (text && v.code != 1003)
        abort();
    if (!authed && v.code == 1003 && !text)
        abort(); /* before auth, anything but an auth request is 4003 (or 1007 undecodable) */
    check_reason(v.reason);
    return 0;
}
