/* created_at.c — the seeds' created_at as an order key; see created_at.h.
 *
 * The ISO 8601 parser is written out rather than strptime/timegm: it must
 * not depend on the locale or the TZ variable, must take offsets, and must
 * refuse what is not a full date and time instead of half-reading it.
 */
#include "core/created_at.h"

#include <stdio.h>
#include <string.h>

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

int hv_created_iso_key(const char *s, double *key)
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
    if (secs < 0)
        return -1; /* before 1970: keys are >= 0 */
    *key = (double)secs * 1000 + frac_ms;
    return 0;
}

int hv_created_key(const json_t *v, double *key)
{
    if (json_is_integer(v)) {
        json_int_t x = json_integer_value(v);
        if (x < 0)
            return -1;
        *key = (double)x;
        return 0;
    }
    if (json_is_real(v)) {
        double x = json_real_value(v);
        if (!(x >= 0))
            return -1;
        *key = x;
        return 0;
    }
    return json_is_string(v) ? hv_created_iso_key(json_string_value(v), key) : -1;
}

void hv_created_stamp(hv_event **evs, size_t n, int64_t now_ms, int64_t *last)
{
    static const size_t slot = sizeof(HV_CREATED_SLOT) - 1;
    static const size_t name = sizeof("\"created_at\":") - 1;
    for (size_t i = 0; i < n; i++) {
        hv_event *ev = evs[i];
        if (ev->created_set != HV_CREATED_STAMP)
            continue;
        if (ev->data_len < slot || memcmp(ev->data + ev->data_len - slot, HV_CREATED_SLOT, slot) != 0) {
            ev->created_set = HV_CREATED_NONE; /* not made by access.c: leave it alone */
            continue;
        }
        int64_t ms = now_ms > *last ? now_ms : *last + 1;
        *last = ms;
        char *at = ev->data + ev->data_len - slot + name;
        int len = snprintf(at, slot - name + 1, "%lld}", (long long)ms);
        ev->data_len = (size_t)(at - ev->data) + (size_t)len;
        ev->created_key = (double)ms;
        ev->created_set = HV_CREATED_KEY;
    }
}
