/* SPDX-License-Identifier: MIT */
/* sink_settings.h — reading a sink module's "config" object: optional
 * integer and string settings with range checks and the same error
 * wording in every module ("\"port\" must be a whole number from 1 to
 * 65535"). Compiled into each module that uses it (modules share no
 * library).
 */
#ifndef HERALD_SINK_SETTINGS_H
#define HERALD_SINK_SETTINGS_H

#include <jansson.h>
#include <stddef.h>

/* An optional integer setting in [lo, hi]: absent leaves *out alone.
 * 0 when fine, else -1 with a message in err. */
int sink_setting_ll(json_t *config, const char *key, long long lo, long long hi, long long *out,
                    char *err, size_t errlen);
int sink_setting_int(json_t *config, const char *key, int lo, int hi, int *out, char *err, size_t errlen);

/* An optional non-empty string setting, copied into *out (the old value
 * freed): absent leaves *out alone. 0 when fine, else -1 with a message. */
int sink_setting_str(json_t *config, const char *key, char **out, char *err, size_t errlen);

#endif
