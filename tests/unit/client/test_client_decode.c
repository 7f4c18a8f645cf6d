/* SPDX-License-Identifier: MIT */
/* test_client_decode.c — unit tests of the client library's webhook
 * decoding: herald_receive_binary (Fishjam protobuf ServerMessage bodies,
 * with the byte vectors verified against the JS SDK in
 * shared/reference/fishjam-protocol.md §3) and herald_receive_json
 * (Jellyfish {"notification": …} bodies and herald's native envelope).
 * Built and registered by client/CMakeLists.txt (cmocka).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "herald/client.h"

#define BIN(n, ...)                                                                    \
    static const uint8_t n[] = {__VA_ARGS__}

BIN(ROOM_CREATED, 0x52, 0x04, 0x0a, 0x02, 0x72, 0x31);
BIN(ROOM_DELETED, 0x5a, 0x04, 0x0a, 0x02, 0x72, 0x31);
BIN(PEER_ADDED, 0xa2, 0x01, 0x0a, 0x0a, 0x02, 0x72, 0x31, 0x12, 0x02, 0x70, 0x31, 0x18, 0x01);
BIN(PEER_DELETED, 0xaa, 0x01, 0x0a, 0x0a, 0x02, 0x72, 0x31, 0x12, 0x02, 0x70, 0x31, 0x18, 0x01);
BIN(PEER_CONNECTED, 0x12, 0x0a, 0x0a, 0x02, 0x72, 0x31, 0x12, 0x02, 0x70, 0x31, 0x18, 0x01);
BIN(TRACK_ADDED, 0x8a, 0x01, 0x13, 0x0a, 0x02, 0x72, 0x31, 0x12, 0x02, 0x70, 0x31, 0x22, 0x09,
    0x0a, 0x01, 0x74, 0x10, 0x02, 0x1a, 0x02, 0x7b, 0x7d);
BIN(AUTHENTICATED, 0x32, 0x00);
BIN(AUTH_REQUEST, 0x3a, 0x0d, 0x0a, 0x0b, 'd', 'e', 'v', 'e', 'l', 'o', 'p', 'm', 'e', 'n', 't');
BIN(SUBSCRIBE_RESPONSE, 0x4a, 0x02, 0x08, 0x01);
BIN(GARBAGE, 0xff, 0xff, 0xff, 0xff, 0x0f);
BIN(TRUNCATED, 0x52, 0x04, 0x0a, 0x02, 0x72);  /* room_created cut short */
BIN(UNKNOWN_ONLY, 0xa2, 0x06, 0x00);           /* field 100 only: no member */
/* members 30-32 (SDK 0.26+): vad_notification{r1, p1, t1, STATUS_SPEECH},
 * track_forwarding_removed{r1, p1, "u", "i"} */
BIN(VAD, 0x82, 0x02, 0x0e, 0x0a, 0x02, 0x72, 0x31, 0x12, 0x02, 0x70, 0x31, 0x1a, 0x02, 0x74, 0x31,
    0x20, 0x02);
BIN(FORWARDING_REMOVED, 0xfa, 0x01, 0x0e, 0x0a, 0x02, 0x72, 0x31, 0x12, 0x02, 0x70, 0x31, 0x1a,
    0x01, 0x75, 0x22, 0x01, 0x69);

static void test_room_created(void **state)
{
    (void)state;
    herald_notification n;
    assert_int_equal(herald_receive_binary(ROOM_CREATED, sizeof(ROOM_CREATED), &n), 0);
    assert_string_equal(n.name, "roomCreated");
    assert_string_equal(n.type, "room.created");
    assert_string_equal(n.room_id, "r1");
    assert_null(n.peer_id);
    assert_null(n.id);
    assert_string_equal(n.json, "{\"name\":\"roomCreated\",\"type\":\"room.created\","
                                "\"data\":{\"roomId\":\"r1\"}}");
    herald_notification_clear(&n);
    assert_null(n.name);

    assert_int_equal(herald_receive_binary(ROOM_DELETED, sizeof(ROOM_DELETED), &n), 0);
    assert_string_equal(n.name, "roomDeleted");
    assert_string_equal(n.room_id, "r1");
    herald_notification_clear(&n);
}

static void check_peer(const uint8_t *body, size_t len, const char *name, const char *type)
{
    herald_notification n;
    assert_int_equal(herald_receive_binary(body, len, &n), 0);
    assert_string_equal(n.name, name);
    assert_string_equal(n.type, type);
    assert_string_equal(n.room_id, "r1");
    assert_string_equal(n.peer_id, "p1");
    assert_int_equal(n.peer_type, 1);
    assert_non_null(strstr(n.json, "\"data\":{\"roomId\":\"r1\",\"peerId\":\"p1\",\"peerType\":1}"));
    herald_notification_clear(&n);
}

static void test_peer_notifications(void **state)
{
    (void)state;
    check_peer(PEER_ADDED, sizeof(PEER_ADDED), "peerAdded", "peer.added");
    check_peer(PEER_DELETED, sizeof(PEER_DELETED), "peerDeleted", "peer.deleted");
    check_peer(PEER_CONNECTED, sizeof(PEER_CONNECTED), "peerConnected", "peer.connected");
}

static void test_track_added(void **state)
{
    (void)state;
    herald_notification n;
    assert_int_equal(herald_receive_binary(TRACK_ADDED, sizeof(TRACK_ADDED), &n), 0);
    assert_string_equal(n.name, "trackAdded");
    assert_string_equal(n.type, "track.added");
    assert_string_equal(n.room_id, "r1");
    assert_string_equal(n.peer_id, "p1");
    assert_null(n.component_id); /* the other side of the endpoint oneof */
    assert_string_equal(n.track_id, "t");
    assert_int_equal(n.track_type, 2);
    assert_string_equal(n.track_metadata, "{}");
    assert_string_equal(n.json, "{\"name\":\"trackAdded\",\"type\":\"track.added\",\"data\":"
                                "{\"roomId\":\"r1\",\"peerId\":\"p1\",\"track\":"
                                "{\"id\":\"t\",\"type\":2,\"metadata\":\"{}\"}}}");
    herald_notification_clear(&n);
}

static void test_not_notifications(void **state)
{
    (void)state;
    herald_notification n;
    assert_int_equal(herald_receive_binary(AUTHENTICATED, sizeof(AUTHENTICATED), &n),
                     HERALD_ENOTNOTIF);
    assert_null(n.name);
    assert_int_equal(herald_receive_binary(AUTH_REQUEST, sizeof(AUTH_REQUEST), &n),
                     HERALD_ENOTNOTIF);
    assert_int_equal(herald_receive_binary(SUBSCRIBE_RESPONSE, sizeof(SUBSCRIBE_RESPONSE), &n),
                     HERALD_ENOTNOTIF);
}

static void test_garbage(void **state)
{
    (void)state;
    herald_notification n;
    assert_int_equal(herald_receive_binary(GARBAGE, sizeof(GARBAGE), &n), HERALD_EDECODE);
    assert_null(n.json);
    assert_int_equal(herald_receive_binary(TRUNCATED, sizeof(TRUNCATED), &n), HERALD_EDECODE);
    assert_int_equal(herald_receive_binary(UNKNOWN_ONLY, sizeof(UNKNOWN_ONLY), &n),
                     HERALD_EDECODE);
    assert_int_equal(herald_receive_binary(NULL, 0, &n), HERALD_EDECODE);
    assert_int_equal(herald_receive_binary(ROOM_CREATED, sizeof(ROOM_CREATED), NULL),
                     HERALD_EINVAL);
}

/* The members after SDK 0.25 decode by the same descriptors (issue 15). */
static void test_newer_members(void **state)
{
    (void)state;
    herald_notification n;
    assert_int_equal(herald_receive_binary(VAD, sizeof(VAD), &n), 0);
    assert_string_equal(n.name, "vadNotification");
    assert_string_equal(n.type, "vad.notification");
    assert_string_equal(n.room_id, "r1");
    assert_string_equal(n.peer_id, "p1");
    assert_string_equal(n.track_id, "t1");
    assert_string_equal(n.json, "{\"name\":\"vadNotification\",\"type\":\"vad.notification\","
                                "\"data\":{\"roomId\":\"r1\",\"peerId\":\"p1\",\"trackId\":\"t1\",\"status\":2}}");
    herald_notification_clear(&n);

    assert_int_equal(herald_receive_binary(FORWARDING_REMOVED, sizeof(FORWARDING_REMOVED), &n), 0);
    assert_string_equal(n.name, "trackForwardingRemoved");
    assert_string_equal(n.type, "track.forwarding_removed");
    assert_string_equal(n.json, "{\"name\":\"trackForwardingRemoved\",\"type\":\"track.forwarding_removed\","
                                "\"data\":{\"roomId\":\"r1\",\"peerId\":\"p1\",\"compositionUrl\":\"u\",\"inputId\":\"i\"}}");
    herald_notification_clear(&n);
}

static int receive_json(const char *body, herald_notification *n)
{
    return herald_receive_json(body, strlen(body), n);
}

static void test_jellyfish_json(void **state)
{
    (void)state;
    herald_notification n;
    /* peer_added, each byte one code point, escaped */
    assert_int_equal(receive_json("{\"notification\":\"\\u00a2\\u0001\\n\\n\\u0002r1"
                                  "\\u0012\\u0002p1\\u0018\\u0001\"}",
                                  &n),
                     0);
    assert_string_equal(n.name, "peerAdded");
    assert_string_equal(n.room_id, "r1");
    assert_string_equal(n.peer_id, "p1");
    assert_int_equal(n.peer_type, 1);
    herald_notification_clear(&n);

    /* the same with U+00A2 written as raw UTF-8 */
    assert_int_equal(receive_json("{\"notification\":\"\xc2\xa2\\u0001\\n\\n\\u0002r1"
                                  "\\u0012\\u0002p1\\u0018\\u0001\"}",
                                  &n),
                     0);
    assert_string_equal(n.name, "peerAdded");
    herald_notification_clear(&n);

    /* room_created: only ASCII code points */
    assert_int_equal(receive_json("{\"notification\":\"R\\u0004\\n\\u0002r1\"}", &n), 0);
    assert_string_equal(n.name, "roomCreated");
    assert_string_equal(n.room_id, "r1");
    herald_notification_clear(&n);

    /* authenticated holds a NUL byte; still not a notification */
    assert_int_equal(receive_json("{\"notification\":\"2\\u0000\"}", &n), HERALD_ENOTNOTIF);
    assert_int_equal(receive_json("{\"notification\":\"\\u00ff\\u00ff\"}", &n), HERALD_EDECODE);
}

static void test_native_envelope(void **state)
{
    (void)state;
    herald_notification n;
    assert_int_equal(receive_json("{\"id\":\"42\",\"type\":\"peer.added\",\"timestamp\":"
                                  "\"2026-11-22T10:00:00.123Z\",\"room_id\":\"r1\",\"user_id\":"
                                  "\"u1\",\"data\":{\"peer_id\":\"p1\",\"peer_type\":1}}",
                                  &n),
                     0);
    assert_string_equal(n.name, "peerAdded");
    assert_string_equal(n.type, "peer.added");
    assert_string_equal(n.id, "42");
    assert_string_equal(n.timestamp, "2026-11-22T10:00:00.123Z");
    assert_string_equal(n.room_id, "r1");
    assert_string_equal(n.user_id, "u1");
    assert_string_equal(n.peer_id, "p1");
    assert_int_equal(n.peer_type, 1);
    assert_string_equal(n.data, "{\"peer_id\":\"p1\",\"peer_type\":1}");
    assert_string_equal(n.json, "{\"name\":\"peerAdded\",\"type\":\"peer.added\",\"id\":\"42\","
                                "\"timestamp\":\"2026-11-22T10:00:00.123Z\",\"room_id\":\"r1\","
                                "\"user_id\":\"u1\",\"data\":{\"peer_id\":\"p1\",\"peer_type\":1}}");
    herald_notification_clear(&n);

    /* camelCase data, metadata as an object, a producer's own type */
    assert_int_equal(receive_json("{\"id\":\"7\",\"type\":\"peer.metadata_updated\",\"data\":"
                                  "{\"roomId\":\"r2\",\"peerId\":\"p2\",\"peerType\":\"agent\","
                                  "\"metadata\":{\"a\":1}}}",
                                  &n),
                     0);
    assert_string_equal(n.name, "peerMetadataUpdated");
    assert_string_equal(n.room_id, "r2");
    assert_string_equal(n.peer_id, "p2");
    assert_int_equal(n.peer_type, 2);
    assert_string_equal(n.metadata, "{\"a\":1}");
    herald_notification_clear(&n);

    assert_int_equal(receive_json("{\"id\":\"8\",\"type\":\"janus.webrtc\"}", &n), 0);
    assert_string_equal(n.name, "janusWebrtc");
    assert_string_equal(n.data, "{}");
    herald_notification_clear(&n);
}

static void test_bad_json(void **state)
{
    (void)state;
    herald_notification n;
    assert_int_equal(receive_json("{not json", &n), HERALD_EDECODE);
    assert_int_equal(receive_json("{\"hello\":1}", &n), HERALD_EDECODE);
    assert_int_equal(receive_json("[1,2]", &n), HERALD_EDECODE);
    assert_int_equal(receive_json("{\"id\":\"1\",\"type\":\"\"}", &n), HERALD_EDECODE);
    assert_int_equal(receive_json("{\"id\":\"1\",\"type\":\"room.created\",\"data\":3}", &n),
                     HERALD_EDECODE);
    assert_int_equal(receive_json("{\"type\":\"metrics.report\",\"data\":{}}", &n),
                     HERALD_ENOTNOTIF);
    assert_int_equal(herald_receive_json(NULL, 0, &n), HERALD_EINVAL);
    herald_notification_clear(&n); /* clearing an empty result is fine */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_room_created),    cmocka_unit_test(test_peer_notifications),
        cmocka_unit_test(test_track_added),     cmocka_unit_test(test_not_notifications),
        cmocka_unit_test(test_garbage),         cmocka_unit_test(test_jellyfish_json),
        cmocka_unit_test(test_native_envelope), cmocka_unit_test(test_bad_json),
        cmocka_unit_test(test_newer_members),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
