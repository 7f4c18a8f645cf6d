/* SPDX-License-Identifier: MIT */
/* sink_settings.c — optional settings of a sink module's config; see
 * sink_settings.h. */
#include "sink_settings.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int sink_setting_ll(json_t *config, const char *key, long long lo, long long hi, long long *out,
                    char *err, size_t errlen)
{
    json_t *v = json_object_get(config, key);
    if (!v)
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi) {
        snprintf(err, errlen, "\"%s\" must be a whole number from %lld to %lld", key, lo, hi);
        return -1;
    }
    *out = json_integer_value(v);
    return 0;
}

int sink_setting_int(json_t *config, const char *key, int lo, int hi, int *out, char *err, size_t errlen)
{
    long long v = *out;
    if (sink_setting_ll(config, key, lo, hi, &v, err, errlen) != 0)
        return -1;
    *out = (int)v;
    return 0;
}

int sink_setting_str(json_t *config, const char *key, char **out, char *err, size_t errlen)
{
    json_t *v = json_object_get(config, key);
    if (!v)
        return 0;
    if (!json_is_string(v) || !*json_string_value(v)) {
        snprintf(err, errlen, "\"%s\" must be a non-empty string", key);
        return -1;
    }
    free(*out);
    *out = strdup(json_string_value(v));
    return 0;
}
