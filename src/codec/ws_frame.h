/* SPDX-License-Identifier: MIT */
/* ws_frame.h — server WebSocket frames built once and shared.
 *
 * Server frames are unmasked, so a frame's bytes are the same for every
 * recipient: the hub frames each encoded event once and every connection's
 * outbound queue references the same buffer. The header is produced by
 * wslay's frame encoder.
 */
#ifndef HV_WS_FRAME_H
#define HV_WS_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "core/event.h"

enum { HV_WS_TEXT = 0x1, HV_WS_BINARY = 0x2 };

/* A complete unmasked final frame of the given opcode around payload. */
hv_frame hv_ws_frame_new(int opcode, const void *payload, size_t len);

/* Writes the header of an unmasked final frame of opcode around len bytes
 * of payload (RFC 6455 5.2) into out; returns its length (2, 4 or 10).
 * For many small frames laid out in one buffer (the publishing socket's
 * answers), where a wslay context per frame would cost more than the
 * frames. */
size_t hv_ws_frame_header(uint8_t out[10], int opcode, size_t len);

#endif
