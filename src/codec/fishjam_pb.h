/* SPDX-License-Identifier: MIT */
/* fishjam_pb.h — the Fishjam server-notification protobuf mapping.
 *
 * Maps herald events to fishjam.ServerMessage (proto/fishjam.proto) and
 * decodes what a server-notifier client sends (AuthRequest,
 * SubscribeRequest). The wire facts are in shared/reference/fishjam-protocol.md.
 */
#ifndef HV_FISHJAM_PB_H
#define HV_FISHJAM_PB_H

#include <stddef.h>
#include <stdint.h>

#include "core/event.h"

/* EventType values of SubscribeRequest. */
enum { HV_FJ_EVENT_UNSPECIFIED = 0, HV_FJ_EVENT_SERVER_NOTIFICATION = 1, HV_FJ_EVENT_METRICS = 2 };

/* The newest ServerMessage member herald encodes (vad_notification), and
 * the newest SDK 0.25 knows (channel_removed). */
enum { HV_FJ_MEMBER_NEWEST = 32, HV_FJ_MEMBER_SDK_0_25 = 29 };

/* Events whose member is newer than member get no protobuf form, so no
 * protobuf notifier socket or webhook gets them (--fishjam-compat 0.25:
 * SDK 0.25 logs an error for each frame it cannot decode). Default
 * HV_FJ_MEMBER_NEWEST. Call at start, before any thread encodes. */
void hv_fishjam_set_newest_member(int member);

/* Encodes ev as one ServerMessage. Returns 0 with a malloc'd *out, or -1
 * when the event's type has no protobuf form (then *out is NULL): types
 * that are not Fishjam's (chat.message, herald.*), or held back by
 * hv_fishjam_set_newest_member. Fields are
 * read from the event's data (snake_case or camelCase keys), room_id falling
 * back to the event's own room_id. */
int hv_fishjam_encode_event(const hv_event *ev, uint8_t **out, size_t *len);

/* 1 when events of this type have a protobuf form. */
int hv_fishjam_has_form(const char *type);

typedef enum hv_fj_request_kind {
    HV_FJ_REQ_INVALID = 0,  /* not a decodable ServerMessage */
    HV_FJ_REQ_AUTH,         /* auth_request: token */
    HV_FJ_REQ_SUBSCRIBE,    /* subscribe_request: event_type */
    HV_FJ_REQ_OTHER,        /* decodable, but some other member (or none) */
} hv_fj_request_kind;

typedef struct hv_fj_request {
    hv_fj_request_kind kind;
    char *token;     /* AUTH: malloc'd, NUL-terminated */
    int event_type;  /* SUBSCRIBE */
} hv_fj_request;

/* Decodes a client's binary frame. Always fills req (kind INVALID on
 * garbage); release with hv_fishjam_request_clear. */
void hv_fishjam_decode_request(const uint8_t *buf, size_t len, hv_fj_request *req);
void hv_fishjam_request_clear(hv_fj_request *req);

/* Server replies, each a malloc'd ServerMessage (they cannot fail). */
void hv_fishjam_encode_authenticated(uint8_t **out, size_t *len);
void hv_fishjam_encode_subscribe_response(int event_type, uint8_t **out, size_t *len);
void hv_fishjam_encode_metrics_report(const char *json, uint8_t **out, size_t *len);

#endif
