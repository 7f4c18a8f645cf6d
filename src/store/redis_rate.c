/* SPDX-License-Identifier: MIT */
/* redis_rate.c — endpoints' rate limits shared by every node of a Redis
 * deployment (issue 18 item 2; outbox.h hv_outbox_rate_take).
 *
 * Each node delivers the rows it owns, so a limit kept in each node's
 * memory would let N nodes send N times the rate. Instead the bucket of an
 * endpoint is one Redis string, P rl:<endpoint id>: the GCRA's theoretical
 * arrival time in milliseconds of Redis's own clock (TIME: the nodes'
 * clocks may differ, Redis's is the one they share). The script is the
 * rule of deliver/webhook_rate.c: take when tat - now <= tau, moving tat on
 * by the interval; otherwise answer how long to wait. One EVALSHA round
 * trip per request started to a limited endpoint (and one per refused
 * wake-up); endpoints without a rate_limit never call it. The key expires
 * once the bucket is full again, so idle endpoints leave nothing behind.
 */
#include <stdio.h>

#include "store/redis_internal.h"

/* ARGV: P, endpoint id, interval ms, tau ms. Returns 0 (taken) or the
 * milliseconds to wait (>= 1). */
const char hv_redis_rate_lua[] =
    "local k = ARGV[1] .. 'rl:' .. ARGV[2]\n"
    "local t = tonumber(ARGV[3])\n"
    "local tau = tonumber(ARGV[4])\n"
    "local tm = redis.call('TIME')\n"
    "local now = tonumber(tm[1]) * 1000 + tonumber(tm[2]) / 1000\n"
    "local tat = tonumber(redis.call('GET', k) or '0') or 0\n"
    "if tat < now then tat = now end\n"
    "if tat - now > tau + 0.000001 then\n"
    "  local w = math.ceil(tat - tau - now)\n"
    "  if w < 1 then w = 1 end\n"
    "  return w\n"
    "end\n"
    "tat = tat + t\n"
    "redis.call('SET', k, string.format('%.3f', tat), 'PX', math.ceil(tat - now) + 1000)\n"
    "return 0\n";

int hv_redis_rate_take(hv_outbox *ob, const char *endpoint_id, double per_second, int burst, int64_t *wait_ms)
{
    hv_redis *r = hv_redis_outbox_redis(ob);
    char t[40], tau[40];
    double interval = 1000.0 / per_second;
    snprintf(t, sizeof(t), "%.6f", interval);
    snprintf(tau, sizeof(tau), "%.6f", (double)(burst - 1) * interval);
    rargs a;
    hv__rargs_init(&a);
    hv__rargs_str(&a, r->prefix);
    hv__rargs_str(&a, endpoint_id);
    hv__rargs_str(&a, t);
    hv__rargs_str(&a, tau);
    redisReply *rep = hv_redis_outbox_eval(ob, LUA_RATE, &a);
    hv__rargs_free(&a);
    int rc = -1;
    if (hv_redis_ok(rep, REDIS_REPLY_INTEGER, "rate limit")) {
        *wait_ms = rep->integer > 0 ? rep->integer : 0;
        rc = rep->integer > 0;
    }
    if (rep)
        freeReplyObject(rep);
    return rc;
}
