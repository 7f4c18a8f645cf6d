/* redis.c — the Redis engine of the store (engine.h). Not written yet: the
 * constructor refuses, so "--engine redis" fails at open with a reason. */
#include "store/engine.h"

hv_store *hv_redis_open(const hv_store_options *opt, char *err, size_t errlen)
{
    (void)opt;
    set_err(err, errlen, "the redis store engine is not available yet");
    return NULL;
}
