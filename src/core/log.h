/* SPDX-License-Identifier: MIT */
/* log.h — one-line logs: "<level> <ISO time> <message>" on stderr.
 * Thread-safe (each line is written with a single write()). */
#ifndef HV_LOG_H
#define HV_LOG_H

enum { HV_LOG_ERROR = 0, HV_LOG_WARN, HV_LOG_INFO, HV_LOG_DEBUG };

extern int hv_log_level;

/* Parses "error", "warn", "info" or "debug"; returns -1 for anything else. */
int hv_log_level_parse(const char *s);
void hv_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define hv_error(...) hv_log(HV_LOG_ERROR, __VA_ARGS__)
#define hv_warn(...) hv_log(HV_LOG_WARN, __VA_ARGS__)
#define hv_info(...) hv_log(HV_LOG_INFO, __VA_ARGS__)
#define hv_debug(...) do { if (hv_log_level >= HV_LOG_DEBUG) hv_log(HV_LOG_DEBUG, __VA_ARGS__); } while (0)

#endif
