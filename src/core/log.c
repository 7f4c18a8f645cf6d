/* SPDX-License-Identifier: MIT */
/* log.c — one-line logs; see log.h. */
#include "core/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"

int hv_log_level = HV_LOG_INFO;

static const char *const level_names[] = {"error", "warn", "info", "debug"};

int hv_log_level_parse(const char *s)
{
    for (int i = 0; i < 4; i++)
        if (strcmp(s, level_names[i]) == 0)
            return i;
    return -1;
}

void hv_log(int level, const char *fmt, ...)
{
    if (level > hv_log_level)
        return;
    char line[2048];
    char ts[32];
    hv_time_iso8601(hv_now_ms(), ts);
    int n = snprintf(line, sizeof(line), "%-5s %s ", level_names[level], ts);
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
    va_end(ap);
    size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
    if (len > sizeof(line) - 2)
        len = sizeof(line) - 2;
    line[len++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, len);
    (void)w;
}
