/* SPDX-License-Identifier: MIT */
/* stats.c — clocks, /proc readers and the latency histogram of the load
 * generator.
 *
 * The histogram is HDR-style: values below 128 get a bucket each; above,
 * every power of two [2^e, 2^(e+1)) is cut into 64 equal sub-buckets, so a
 * bucket is never wider than 1/64 of its values (~1.6 %) and the whole
 * uint64 range fits in 3776 counters. Recording is a clz, a shift and an
 * increment. Quantiles walk the counters and answer a bucket's upper edge.
 *
 * Server CPU comes from /proc/PID/stat (utime + stime, fields 14 and 15,
 * counted after the ")" that ends the command name, in clock ticks), RSS
 * from the VmRSS line of /proc/PID/status.
 */
#include "lg.h"
#include <jansson.h>
#include <math.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

int64_t lg_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t lg_realtime_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

double lg_proc_cpu_s(int pid)
{
    char path[64], buf[4096];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    char *p = strrchr(buf, ')');
    if (!p)
        return -1;
    /* After ") " come field 3 (state) onwards; utime is field 14. */
    p += 2;
    unsigned long long utime = 0, stime = 0;
    for (int field = 3; field < 14 && p; field++) {
        p = strchr(p, ' ');
        if (p)
            p++;
    }
    if (!p || sscanf(p, "%llu %llu", &utime, &stime) != 2)
        return -1;
    return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

long lg_proc_rss_kib(int pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    long kib = -1;
    while (fgets(line, sizeof line, f)) {
        if (!strncmp(line, "VmRSS:", 6)) {
            kib = strtol(line + 6, NULL, 10);
            break;
        }
    }
    fclose(f);
    return kib;
}

double lg_self_cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

static unsigned bucket_of(uint64_t v)
{
    if (v < 128)
        return (unsigned)v;
    unsigned e = 63u - (unsigned)__builtin_clzll(v); /* 7..63 */
    unsigned top = (unsigned)(v >> (e - LG_HIST_SUB_BITS)); /* 64..127 */
    return 128u + (e - 7u) * 64u + (top - 64u);
}

static uint64_t bucket_upper(unsigned idx)
{
    if (idx < 128)
        return idx;
    unsigned e = 7u + (idx - 128u) / 64u;
    uint64_t top = 64u + (idx - 128u) % 64u;
    unsigned shift = e - LG_HIST_SUB_BITS;
    return ((top + 1) << shift) - 1;
}

void lg_hist_record(lg_hist *h, uint64_t v)
{
    h->counts[bucket_of(v)]++;
    h->total++;
    if (v > h->max)
        h->max = v;
}

uint64_t lg_hist_quantile(const lg_hist *h, double q)
{
    if (!h->total)
        return 0;
    uint64_t rank = (uint64_t)(q * (double)h->total + 0.5);
    if (rank < 1)
        rank = 1;
    if (rank > h->total)
        rank = h->total;
    uint64_t seen = 0;
    for (unsigned i = 0; i < LG_HIST_BUCKETS; i++) {
        seen += h->counts[i];
        if (seen >= rank) {
            uint64_t up = bucket_upper(i);
            return up < h->max ? up : h->max;
        }
    }
    return h->max;
}

/* ---- the result line ---------------------------------------------------- */

void lg_put_real(json_t *o, const char *key, double v, int dec)
{
    if (!(v >= 0)) {
        json_object_set_new(o, key, json_null());
        return;
    }
    double f = pow(10, dec);
    json_object_set_new(o, key, json_real(round(v * f) / f));
}

void lg_put_int(json_t *o, const char *key, long long v)
{
    json_object_set_new(o, key, json_integer(v));
}

void lg_emit(json_t *out)
{
    char *line = json_dumps(out, JSON_COMPACT | JSON_REAL_PRECISION(12));
    puts(line);
    fflush(stdout);
    free(line);
    json_decref(out);
}
