/* SPDX-License-Identifier: MIT */
/* sink_template.h — names built from an event for sink modules: a Redis
 * PUBLISH channel, an MQTT topic ("herald/{type}/{room_id}").
 *
 * A template is text with placeholders {id}, {type}, {room_id} and
 * {user_id}. An absent room_id or user_id becomes "-", so every name built
 * from one template has the same shape (an MQTT subscriber can rely on the
 * level count). Compiled into each module that uses it (modules share no
 * library).
 */
#ifndef HERALD_SINK_TEMPLATE_H
#define HERALD_SINK_TEMPLATE_H

#include <stddef.h>

#include "herald/sink.h"

/* 0 when every "{…}" of tpl is a known placeholder, else -1 with a
 * message in err. */
int sink_template_check(const char *tpl, char *err, size_t errlen);

/* The template filled in for ev, malloc'd. Every character of a
 * substituted value that is in `unsafe` (may be NULL) becomes '_'. */
char *sink_template_expand(const char *tpl, const herald_sink_event *ev, const char *unsafe);

#endif
