/* SPDX-License-Identifier: MIT */
/* test_fishjam_pb.c — the Fishjam ServerMessage mapping (codec/fishjam_pb.c).
 *
 * The byte vectors are the verified SDK encodings of
 * shared/reference/fishjam-protocol.md §3; the other cases decode our
 * output with the generated unpacker and check the fields.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "codec/event_frames.h"
#include "codec/fishjam_pb.h"
#include "core/event.h"
#include "fishjam.pb-c.h"

/* Encodes an event of type with data (and event room_id) and compares. */
static void expect_bytes(const char *type, const char *room, const char *data,
                         const uint8_t *want, size_t want_len)
{
    hv_event *ev = hv_event_new(type, room, NULL, data, strlen(data));
    uint8_t *out;
    size_t len;
    assert_int_equal(hv_fishjam_encode_event(ev, &out, &len), 0);
    assert_int_equal(len, want_len);
    assert_memory_equal(out, want, want_len);
    free(out);
    hv_event_unref(ev);
}

#define EXPECT(type, room, data, ...)                                   \
    do {                                                                \
        static const uint8_t want_[] = {__VA_ARGS__};                   \
        expect_bytes(type, room, data, want_, sizeof(want_));           \
    } while (0)

/* Encodes and unpacks again; the caller frees with free_msg. */
static Fishjam__ServerMessage *roundtrip(const char *type, const char *room, const char *data)
{
    hv_event *ev = hv_event_new(type, room, NULL, data, strlen(data));
    uint8_t *out;
    size_t len;
    assert_int_equal(hv_fishjam_encode_event(ev, &out, &len), 0);
    Fishjam__ServerMessage *m = fishjam__server_message__unpack(NULL, len, out);
    assert_non_null(m);
    free(out);
    hv_event_unref(ev);
    return m;
}

static void free_msg(Fishjam__ServerMessage *m)
{
    fishjam__server_message__free_unpacked(m, NULL);
}

static const char *peer_r1_p1 = "{\"room_id\":\"r1\",\"peer_id\":\"p1\",\"peer_type\":\"webrtc\"}";

static void test_room_vectors(void **state)
{
    (void)state;
    EXPECT("room.created", NULL, "{\"room_id\":\"r1\"}", 0x52, 0x04, 0x0a, 0x02, 0x72, 0x31);
    EXPECT("room.deleted", NULL, "{\"room_id\":\"r1\"}", 0x5a, 0x04, 0x0a, 0x02, 0x72, 0x31);
    EXPECT("room.crashed", NULL, "{\"room_id\":\"r1\"}", 0x0a, 0x04, 0x0a, 0x02, 0x72, 0x31);
}

static void test_peer_vectors(void **state)
{
    (void)state;
    EXPECT("peer.added", NULL, peer_r1_p1, 0xa2, 0x01, 0x0a, 0x0a, 0x02, 0x72, 0x31, 0x12, 0x02,
           0x70, 0x31, 0x18, 0x01);
    EXPECT("peer.deleted", NULL, peer_r1_p1, 0xaa, 0x01, 0x0a, 0x0a, 0x02, 0x72, 0x31, 0x12, 0x02,
           0x70, 0x31, 0x18, 0x01);
    EXPECT("peer.connected", NULL, peer_r1_p1, 0x12, 0x0a, 0x0a, 0x02, 0x72, 0x31, 0x12, 0x02,
           0x70, 0x31, 0x18, 0x01);
    EXPECT("peer.disconnected", NULL, peer_r1_p1, 0x1a, 0x0a, 0x0a, 0x02, 0x72, 0x31, 0x12, 0x02,
           0x70, 0x31, 0x18, 0x01);
}

static void test_peer_crashed_reason(void **state)
{
    (void)state;
    EXPECT("peer.crashed", NULL,
           "{\"room_id\":\"r1\",\"peer_id\":\"p1\",\"reason\":\"bad\",\"peer_type\":\"webrtc\"}",
           0x22, 0x0f, 0x0a, 0x02, 0x72, 0x31, 0x12, 0x02, 0x70, 0x31, 0x1a, 0x03, 0x62, 0x61,
           0x64, 0x20, 0x01);
}

static void test_track_added_vector(void **state)
{
    (void)state;
    EXPECT("track.added", NULL,
           "{\"room_id\":\"r1\",\"peer_id\":\"p1\","
           "\"track\":{\"id\":\"t\",\"type\":\"audio\",\"metadata\":{}}}",
           0x8a, 0x01, 0x13, 0x0a, 0x02, 0x72, 0x31, 0x12, 0x02, 0x70, 0x31, 0x22, 0x09, 0x0a,
           0x01, 0x74, 0x10, 0x02, 0x1a, 0x02, 0x7b, 0x7d);
}

static void test_camel_case_keys(void **state)
{
    (void)state;
    EXPECT("peer.added", NULL, "{\"roomId\":\"r1\",\"peerId\":\"p1\",\"peerType\":1}", 0xa2, 0x01,
           0x0a, 0x0a, 0x02, 0x72, 0x31, 0x12, 0x02, 0x70, 0x31, 0x18, 0x01);
    EXPECT("track.added", NULL,
           "{\"roomId\":\"r1\",\"peerId\":\"p1\","
           "\"track\":{\"id\":\"t\",\"type\":2,\"metadata\":\"{}\"}}",
           0x8a, 0x01, 0x13, 0x0a, 0x02, 0x72, 0x31, 0x12, 0x02, 0x70, 0x31, 0x22, 0x09, 0x0a,
           0x01, 0x74, 0x10, 0x02, 0x1a, 0x02, 0x7b, 0x7d);
}

static void test_room_id_fallback(void **state)
{
    (void)state;
    EXPECT("room.created", "r1", "{}", 0x52, 0x04, 0x0a, 0x02, 0x72, 0x31);
    /* data wins over the event's room_id */
    EXPECT("room.created", "zz", "{\"roomId\":\"r1\"}", 0x52, 0x04, 0x0a, 0x02, 0x72, 0x31);
    EXPECT("peer.connected", "r1", "{\"peer_id\":\"p1\",\"peer_type\":\"webrtc\"}", 0x12, 0x0a,
           0x0a, 0x02, 0x72, 0x31, 0x12, 0x02, 0x70, 0x31, 0x18, 0x01);
    /* nothing at all: the member is still emitted, empty */
    EXPECT("room.deleted", NULL, "{}", 0x5a, 0x00);
}

static void test_peer_types(void **state)
{
    (void)state;
    static const struct {
        const char *json;
        int want;
    } cases[] = {
        {"\"webrtc\"", 1}, {"\"agent\"", 2}, {"\"vapi\"", 3}, {"\"PEER_TYPE_AGENT\"", 2},
        {"\"WebRTC\"", 1}, {"2", 2},         {"\"nope\"", 0}, {"null", 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char data[128];
        snprintf(data, sizeof(data), "{\"room_id\":\"r1\",\"peer_id\":\"p1\",\"peer_type\":%s}",
                 cases[i].json);
        Fishjam__ServerMessage *m = roundtrip("peer.added", NULL, data);
        assert_int_equal(m->content_case, FISHJAM__SERVER_MESSAGE__CONTENT_PEER_ADDED);
        assert_int_equal(m->peer_added->peer_type, cases[i].want);
        free_msg(m);
    }
}

static void test_metadata_text(void **state)
{
    (void)state;
    Fishjam__ServerMessage *m = roundtrip(
        "peer.metadata_updated", "r1",
        "{\"peerId\":\"p1\",\"metadata\":{\"name\":\"x\",\"n\":[1,2]},\"peerType\":\"agent\"}");
    assert_int_equal(m->content_case, FISHJAM__SERVER_MESSAGE__CONTENT_PEER_METADATA_UPDATED);
    assert_string_equal(m->peer_metadata_updated->room_id, "r1");
    assert_string_equal(m->peer_metadata_updated->metadata, "{\"name\":\"x\",\"n\":[1,2]}");
    assert_int_equal(m->peer_metadata_updated->peer_type, 2);
    free_msg(m);

    m = roundtrip("peer.metadata_updated", "r1", "{\"peer_id\":\"p1\",\"metadata\":\"plain\"}");
    assert_string_equal(m->peer_metadata_updated->metadata, "plain");
    free_msg(m);
}

static void test_track_component_video(void **state)
{
    (void)state;
    Fishjam__ServerMessage *m = roundtrip(
        "track.metadata_updated", "r1",
        "{\"componentId\":\"c1\",\"track\":{\"id\":\"t2\",\"type\":\"video\",\"metadata\":[1]}}");
    assert_int_equal(m->content_case, FISHJAM__SERVER_MESSAGE__CONTENT_TRACK_METADATA_UPDATED);
    Fishjam__ServerMessage__TrackMetadataUpdated *t = m->track_metadata_updated;
    assert_int_equal(t->endpoint_info_case,
                     FISHJAM__SERVER_MESSAGE__TRACK_METADATA_UPDATED__ENDPOINT_INFO_COMPONENT_ID);
    assert_string_equal(t->component_id, "c1");
    assert_non_null(t->track);
    assert_string_equal(t->track->id, "t2");
    assert_int_equal(t->track->type, FISHJAM__TRACK_TYPE__TRACK_TYPE_VIDEO);
    assert_string_equal(t->track->metadata, "[1]");
    free_msg(m);

    m = roundtrip("track.removed", "r1", "{\"peer_id\":\"p1\",\"component_id\":\"c1\"}");
    assert_int_equal(m->track_removed->endpoint_info_case,
                     FISHJAM__SERVER_MESSAGE__TRACK_REMOVED__ENDPOINT_INFO_PEER_ID);
    assert_string_equal(m->track_removed->peer_id, "p1");
    assert_null(m->track_removed->track);
    free_msg(m);
}

static void test_other_members(void **state)
{
    (void)state;
    EXPECT("component.crashed", NULL, "{\"room_id\":\"r1\",\"component_id\":\"c1\"}", 0x2a, 0x08,
           0x0a, 0x02, 0x72, 0x31, 0x12, 0x02, 0x63, 0x31);
    EXPECT("viewer.connected", "ignored", "{\"streamId\":\"s1\",\"viewerId\":\"v1\"}", 0xc2, 0x01,
           0x08, 0x0a, 0x02, 0x73, 0x31, 0x12, 0x02, 0x76, 0x31);
    EXPECT("viewer.disconnected", NULL, "{\"stream_id\":\"s1\",\"viewer_id\":\"v1\"}", 0xca,
           0x01, 0x08, 0x0a, 0x02, 0x73, 0x31, 0x12, 0x02, 0x76, 0x31);
    EXPECT("stream.connected", NULL, "{\"stream_id\":\"s1\"}", 0xb2, 0x01, 0x04, 0x0a, 0x02,
           0x73, 0x31);
    EXPECT("stream.disconnected", NULL, "{\"stream_id\":\"s1\"}", 0xba, 0x01, 0x04, 0x0a, 0x02,
           0x73, 0x31);
    EXPECT("streamer.connected", NULL, "{\"streamId\":\"s1\",\"streamerId\":\"x\"}", 0xd2, 0x01,
           0x07, 0x0a, 0x02, 0x73, 0x31, 0x12, 0x01, 0x78);
    EXPECT("streamer.disconnected", NULL, "{\"stream_id\":\"s1\"}", 0xda, 0x01, 0x04, 0x0a, 0x02,
           0x73, 0x31);
    EXPECT("channel.added", "r1", "{\"peerId\":\"p1\",\"channelId\":\"ch\"}", 0xe2, 0x01, 0x0c,
           0x0a, 0x02, 0x72, 0x31, 0x12, 0x02, 0x70, 0x31, 0x22, 0x02, 0x63, 0x68);
    EXPECT("channel.removed", "r1", "{\"component_id\":\"c1\",\"channel_id\":\"ch\"}", 0xea, 0x01,
           0x0c, 0x0a, 0x02, 0x72, 0x31, 0x1a, 0x02, 0x63, 0x31, 0x22, 0x02, 0x63, 0x68);
}

/* Members 30-32 (issue 15 item 4): SDK 0.29's track_forwarding,
 * track_forwarding_removed and vad_notification, by hand-packed bytes
 * (tag 30 = f2 01, 31 = fa 01, 32 = 82 02) and field by field. */
static void test_vad_vector(void **state)
{
    (void)state;
    EXPECT("vad.notification", NULL,
           "{\"room_id\":\"r1\",\"peer_id\":\"p1\",\"track_id\":\"t1\",\"status\":\"speech\"}", 0x82,
           0x02, 0x0e, 0x0a, 0x02, 0x72, 0x31, 0x12, 0x02, 0x70, 0x31, 0x1a, 0x02, 0x74, 0x31, 0x20,
           0x02);
    EXPECT("vad.notification", "r1", "{\"peerId\":\"p1\",\"trackId\":\"t1\",\"status\":\"silence\"}",
           0x82, 0x02, 0x0e, 0x0a, 0x02, 0x72, 0x31, 0x12, 0x02, 0x70, 0x31, 0x1a, 0x02, 0x74, 0x31,
           0x20, 0x01);
}

static void test_vad_status(void **state)
{
    (void)state;
    static const struct {
        const char *json;
        int want;
    } cases[] = {
        {"\"speech\"", FISHJAM__SERVER_MESSAGE__VAD_NOTIFICATION__STATUS__STATUS_SPEECH},
        {"\"silence\"", FISHJAM__SERVER_MESSAGE__VAD_NOTIFICATION__STATUS__STATUS_SILENCE},
        {"\"SPEECH\"", 2},
        {"\"STATUS_SILENCE\"", 1},
        {"\"unspecified\"", 0},
        {"2", 2},
        {"\"talking\"", 0}, /* matches no name: left UNSPECIFIED */
        {"true", 0},
        {"null", 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char data[128];
        snprintf(data, sizeof(data), "{\"room_id\":\"r1\",\"peer_id\":\"p1\",\"status\":%s}",
                 cases[i].json);
        Fishjam__ServerMessage *m = roundtrip("vad.notification", NULL, data);
        assert_int_equal(m->content_case, FISHJAM__SERVER_MESSAGE__CONTENT_VAD_NOTIFICATION);
        assert_int_equal(m->vad_notification->status, cases[i].want);
        assert_string_equal(m->vad_notification->peer_id, "p1");
        free_msg(m);
    }
}

static void check_track(const Fishjam__Track *t, const char *id, int type, const char *metadata)
{
    assert_non_null(t);
    assert_string_equal(t->id, id);
    assert_int_equal(t->type, type);
    assert_string_equal(t->metadata, metadata);
}

static void test_track_forwarding(void **state)
{
    (void)state;
    const char *datas[] = {
        "{\"room_id\":\"r1\",\"peer_id\":\"p1\",\"composition_url\":\"https://c/x\","
        "\"input_id\":\"in1\",\"audio_track\":{\"id\":\"a1\",\"type\":\"audio\",\"metadata\":{\"k\":1}},"
        "\"video_track\":{\"id\":\"v1\",\"type\":\"video\",\"metadata\":\"m\"}}",
        "{\"roomId\":\"r1\",\"peerId\":\"p1\",\"compositionUrl\":\"https://c/x\",\"inputId\":\"in1\","
        "\"audioTrack\":{\"id\":\"a1\",\"type\":2,\"metadata\":{\"k\":1}},"
        "\"videoTrack\":{\"id\":\"v1\",\"type\":1,\"metadata\":\"m\"}}",
    };
    for (size_t i = 0; i < 2; i++) {
        Fishjam__ServerMessage *m = roundtrip("track.forwarding", NULL, datas[i]);
        assert_int_equal(m->content_case, FISHJAM__SERVER_MESSAGE__CONTENT_TRACK_FORWARDING);
        Fishjam__ServerMessage__TrackForwarding *f = m->track_forwarding;
        assert_string_equal(f->room_id, "r1");
        assert_string_equal(f->peer_id, "p1");
        assert_string_equal(f->composition_url, "https://c/x");
        assert_string_equal(f->input_id, "in1");
        check_track(f->audio_track, "a1", FISHJAM__TRACK_TYPE__TRACK_TYPE_AUDIO, "{\"k\":1}");
        check_track(f->video_track, "v1", FISHJAM__TRACK_TYPE__TRACK_TYPE_VIDEO, "m");
        free_msg(m);
    }
    /* the tracks are optional: absent, the fields are absent */
    Fishjam__ServerMessage *m = roundtrip("track.forwarding", "r1", "{\"peer_id\":\"p1\",\"videoTrack\":{\"id\":\"v\"}}");
    assert_string_equal(m->track_forwarding->room_id, "r1");
    assert_null(m->track_forwarding->audio_track);
    check_track(m->track_forwarding->video_track, "v", 0, "");
    free_msg(m);
}

static void test_track_forwarding_removed(void **state)
{
    (void)state;
    EXPECT("track.forwarding_removed", NULL,
           "{\"room_id\":\"r1\",\"peer_id\":\"p1\",\"composition_url\":\"u\",\"input_id\":\"i\"}", 0xfa,
           0x01, 0x0e, 0x0a, 0x02, 0x72, 0x31, 0x12, 0x02, 0x70, 0x31, 0x1a, 0x01, 0x75, 0x22, 0x01,
           0x69);
    Fishjam__ServerMessage *m = roundtrip("track.forwarding_removed", "r1",
                                          "{\"peerId\":\"p1\",\"compositionUrl\":\"u\",\"inputId\":\"i\"}");
    assert_int_equal(m->content_case, FISHJAM__SERVER_MESSAGE__CONTENT_TRACK_FORWARDING_REMOVED);
    assert_string_equal(m->track_forwarding_removed->room_id, "r1");
    assert_string_equal(m->track_forwarding_removed->peer_id, "p1");
    assert_string_equal(m->track_forwarding_removed->composition_url, "u");
    assert_string_equal(m->track_forwarding_removed->input_id, "i");
    free_msg(m);
}

static int has_pb(const char *type)
{
    hv_event *ev = hv_event_new(type, "r1", NULL, "{}", 2);
    uint8_t *out;
    size_t len;
    int rc = hv_fishjam_encode_event(ev, &out, &len);
    free(out);
    hv_event_unref(ev);
    assert_int_equal(rc == 0, hv_fishjam_has_form(type));
    return rc == 0;
}

/* --fishjam-compat 0.25: members past 29 have no protobuf form; the rest
 * are unchanged; back to the default, they are encoded again. */
static void test_compat_0_25(void **state)
{
    (void)state;
    const char *newer[] = {"track.forwarding", "track.forwarding_removed", "vad.notification"};
    for (size_t i = 0; i < 3; i++)
        assert_true(has_pb(newer[i]));
    hv_fishjam_set_newest_member(HV_FJ_MEMBER_SDK_0_25);
    for (size_t i = 0; i < 3; i++)
        assert_false(has_pb(newer[i]));
    assert_true(has_pb("channel.removed")); /* 29, the newest SDK 0.25 knows */
    assert_true(has_pb("room.crashed"));
    EXPECT("room.created", NULL, "{\"room_id\":\"r1\"}", 0x52, 0x04, 0x0a, 0x02, 0x72, 0x31);
    hv_fishjam_set_newest_member(HV_FJ_MEMBER_NEWEST);
    for (size_t i = 0; i < 3; i++)
        assert_true(has_pb(newer[i]));
}

static void test_unmapped_types(void **state)
{
    (void)state;
    const char *types[] = {"janus.webrtc", "chat.message", "metrics.report", "auth.request",
                           "hls.playable", "room", "herald.endpoint_disabled",
                           "herald.sink_crashed", "notification.batch", "vad", "track.forwardings"};
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        const char *data = "{\"room_id\":\"r1\"}";
        hv_event *ev = hv_event_new(types[i], "r1", NULL, data, strlen(data));
        uint8_t dummy, *out = &dummy;
        size_t len = 7;
        assert_int_equal(hv_fishjam_encode_event(ev, &out, &len), -1);
        assert_null(out);
        assert_int_equal(len, 0);
        hv_event_unref(ev);
    }
}

static void test_replies(void **state)
{
    (void)state;
    uint8_t *out;
    size_t len;
    hv_fishjam_encode_authenticated(&out, &len);
    assert_int_equal(len, 2);
    assert_memory_equal(out, "\x32\x00", 2);
    free(out);

    hv_fishjam_encode_subscribe_response(HV_FJ_EVENT_SERVER_NOTIFICATION, &out, &len);
    assert_int_equal(len, 4);
    assert_memory_equal(out, "\x4a\x02\x08\x01", 4);
    free(out);

    hv_fishjam_encode_metrics_report("{}", &out, &len);
    assert_int_equal(len, 6);
    assert_memory_equal(out, "\x62\x04\x0a\x02{}", 6);
    free(out);
}

static hv_fj_request decode(const void *buf, size_t len)
{
    hv_fj_request req;
    hv_fishjam_decode_request(buf, len, &req);
    return req;
}

static void test_decode_requests(void **state)
{
    (void)state;
    static const uint8_t auth[] = {0x3a, 0x0d, 0x0a, 0x0b, 0x64, 0x65, 0x76, 0x65,
                                   0x6c, 0x6f, 0x70, 0x6d, 0x65, 0x6e, 0x74};
    hv_fj_request req = decode(auth, sizeof(auth));
    assert_int_equal(req.kind, HV_FJ_REQ_AUTH);
    assert_string_equal(req.token, "development");
    hv_fishjam_request_clear(&req);
    assert_null(req.token);

    req = decode("\x42\x02\x08\x01", 4);
    assert_int_equal(req.kind, HV_FJ_REQ_SUBSCRIBE);
    assert_int_equal(req.event_type, HV_FJ_EVENT_SERVER_NOTIFICATION);
    hv_fishjam_request_clear(&req);

    req = decode("\x42\x00", 2); /* subscribe with the default event type */
    assert_int_equal(req.kind, HV_FJ_REQ_SUBSCRIBE);
    assert_int_equal(req.event_type, HV_FJ_EVENT_UNSPECIFIED);
    hv_fishjam_request_clear(&req);

    req = decode("\x3a\x00", 2); /* empty token */
    assert_int_equal(req.kind, HV_FJ_REQ_AUTH);
    assert_string_equal(req.token, "");
    hv_fishjam_request_clear(&req);
}

static void test_decode_other_and_invalid(void **state)
{
    (void)state;
    hv_fj_request req = decode("\x52\x04\x0a\x02\x72\x31", 6); /* room_created */
    assert_int_equal(req.kind, HV_FJ_REQ_OTHER);
    assert_null(req.token);
    hv_fishjam_request_clear(&req);

    req = decode("", 0); /* no member at all */
    assert_int_equal(req.kind, HV_FJ_REQ_OTHER);
    hv_fishjam_request_clear(&req);

    /* an unknown field (100, varint) before the subscribe request is skipped */
    req = decode("\xa0\x06\x05\x42\x02\x08\x01", 7);
    assert_int_equal(req.kind, HV_FJ_REQ_SUBSCRIBE);
    hv_fishjam_request_clear(&req);

    const char *garbage[] = {"\xff\xff\xff", "\x3a\x0d\x0a", "hello world", "\x3a\x05\x0a\x09x"};
    for (size_t i = 0; i < sizeof(garbage) / sizeof(garbage[0]); i++) {
        req = decode(garbage[i], strlen(garbage[i]));
        assert_int_equal(req.kind, HV_FJ_REQ_INVALID);
        assert_null(req.token);
        hv_fishjam_request_clear(&req);
    }
}

static void test_encode_event_frames(void **state)
{
    (void)state;
    /* hv_event_encode fills the binary frame only for mapped types */
    hv_event *ev = hv_event_new("room.created", "r1", NULL, NULL, 0);
    ev->id = 1;
    hv_event_encode(ev);
    assert_non_null(ev->pb.buf);
    assert_int_equal(hv_frame_payload_len(&ev->pb), 6);
    assert_memory_equal(hv_frame_payload(&ev->pb), "\x52\x04\x0a\x02r1", 6);
    hv_event_unref(ev);

    ev = hv_event_new("chat.message", "r1", NULL, NULL, 0);
    hv_event_encode(ev);
    assert_null(ev->pb.buf);
    assert_non_null(ev->json.buf);
    hv_event_unref(ev);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_room_vectors),
        cmocka_unit_test(test_peer_vectors),
        cmocka_unit_test(test_peer_crashed_reason),
        cmocka_unit_test(test_track_added_vector),
        cmocka_unit_test(test_camel_case_keys),
        cmocka_unit_test(test_room_id_fallback),
        cmocka_unit_test(test_peer_types),
        cmocka_unit_test(test_metadata_text),
        cmocka_unit_test(test_track_component_video),
        cmocka_unit_test(test_other_members),
        cmocka_unit_test(test_vad_vector),
        cmocka_unit_test(test_vad_status),
        cmocka_unit_test(test_track_forwarding),
        cmocka_unit_test(test_track_forwarding_removed),
        cmocka_unit_test(test_compat_0_25),
        cmocka_unit_test(test_unmapped_types),
        cmocka_unit_test(test_replies),
        cmocka_unit_test(test_decode_requests),
        cmocka_unit_test(test_decode_other_and_invalid),
        cmocka_unit_test(test_encode_event_frames),
    };
    return cmocka_run_group_tests(tests, 0, 0);
}
