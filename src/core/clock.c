/* SPDX-License-Identifier: MIT */
/* clock.c — wall-clock time and ISO 8601; see clock.h.
 *
 * The ISO 8601 parser is written out rather than strptime/timegm: it must
 * not depend on the locale or the TZ variable, must take offsets, and must
 * refuse what is not a full date and time instead of half-reading it.
 */
#include "core/clock.h"

#include <stdio.h>
#include <time.h>

int64_t hv_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void hv_time_iso8601(int64_t ms, char out[32])
{
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, 32 - n, ".%03dZ", (int)(ms % 1000));
}

/* Reads exactly n digits at *p into *out. */
static int digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        char c = (*p)[i];
        if (c < '0' || c > '9')
            return -1;
        v = v * 10 + (c - '0');
    }
    *p += n;
    *out = v;
    return 0;
}

/* Days from 1970-01-01 to y-m-d of the proleptic Gregorian calendar
 * (Howard Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int days_in_month(int y, int m)
{
    static const int dm[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : dm[m - 1];
}

/* The zone at p ("Z", "+HH:MM", "+HHMM", "+HH", or '-' for '+'): the
 * offset east of UTC in minutes, p at the end. -1 on anything else. */
static int parse_zone(const char *p, int *offset_min)
{
    if ((*p == 'Z' || *p == 'z') && !p[1]) {
        *offset_min = 0;
        return 0;
    }
    if (*p != '+' && *p != '-')
        return -1;
    int sign = *p++ == '-' ? -1 : 1, hh, mm = 0;
    if (digits(&p, 2, &hh) != 0 || hh > 23)
        return -1;
    if (*p == ':')
        p++;
    if (*p && (digits(&p, 2, &mm) != 0 || mm > 59))
        return -1;
    if (*p)
        return -1;
    *offset_min = sign * (hh * 60 + mm);
    return 0;
}

int hv_time_parse_iso8601(const char *s, double *ms)
{
    if (!s)
        return -1;
    const char *p = s;
    int y, mo, d, h, mi, sec = 0;
    if (digits(&p, 4, &y) != 0 || *p++ != '-' || digits(&p, 2, &mo) != 0 || *p++ != '-' ||
        digits(&p, 2, &d) != 0)
        return -1;
    if (*p != 'T' && *p != 't' && *p != ' ')
        return -1;
    p++;
    if (digits(&p, 2, &h) != 0 || *p++ != ':' || digits(&p, 2, &mi) != 0)
        return -1;
    double frac_ms = 0;
    if (*p == ':') {
        p++;
        if (digits(&p, 2, &sec) != 0)
            return -1;
        if (*p == '.' || *p == ',') {
            p++;
            double scale = 100; /* the first digit is hundreds of ms */
            if (*p < '0' || *p > '9')
                return -1;
            for (; *p >= '0' && *p <= '9'; p++, scale /= 10)
                frac_ms += (*p - '0') * scale;
        }
    }
    int offset_min;
    if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || sec > 60 ||
        parse_zone(p, &offset_min) != 0)
        return -1;
    int64_t secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - offset_min * 60;
    *ms = (double)secs * 1000 + frac_ms;
    return 0;
}
