/* SPDX-License-Identifier: MIT */
/* abi_sink.c — a sink module built as if against other versions of the
 * sink ABI, for integration/test_sink_abi.sh: herald must run the ones of
 * its major (an older, smaller table; a newer minor with a field herald
 * does not know) and refuse, with a clear log line, the others (another
 * major, a table too small for v1.0, the pre-1.0 layout without
 * struct_size). One variant per build, chosen with -DABI_SINK_<VARIANT>.
 *
 * Each event it gets becomes a log line "abi-<variant>: event <id>", so the
 * test sees the module run, not only load.
 */
#include <herald/sink.h>

#include <stdlib.h>

#if defined(ABI_SINK_OLD)
#define VARIANT "old"
#elif defined(ABI_SINK_NEWER)
#define VARIANT "newer"
#elif defined(ABI_SINK_MAJOR2)
#define VARIANT "major2"
#elif defined(ABI_SINK_SMALL)
#define VARIANT "small"
#elif defined(ABI_SINK_PRERELEASE)
#define VARIANT "prerelease"
#else
#error "define one ABI_SINK_<VARIANT>"
#endif

static void *abi_create(const herald_sink_host *host, const char *config_json, char *err, size_t errlen)
{
    (void)config_json, (void)err, (void)errlen;
    /* a module reads only what the host's struct_size covers */
    if (!HERALD_SINK_HAS(host, complete) || !HERALD_SINK_HAS(host, log))
        return NULL;
    return (void *)host;
}

static void abi_deliver(void *instance, const herald_sink_batch *batch)
{
    const herald_sink_host *host = instance;
    for (size_t i = 0; i < batch->n; i++)
        host->log(host, HERALD_SINK_LOG_INFO, "abi-" VARIANT ": event %llu",
                  (unsigned long long)batch->events[i].id);
    host->complete(host, batch, 0, NULL);
}

static void abi_destroy(void *instance) { (void)instance; }

#if defined(ABI_SINK_OLD) || defined(ABI_SINK_SMALL)
/* A table as an older header had it: the v1.0 fields only (no reserved
 * slots), a global of exactly this size (ASan's redzone follows it: a
 * host reading past struct_size is caught). SMALL claims a size that does
 * not even cover destroy. */
static const struct {
    uint32_t struct_size, abi_version;
    const char *name, *description;
    void *(*create)(const herald_sink_host *, const char *, char *, size_t);
    void (*deliver)(void *, const herald_sink_batch *);
    void (*destroy)(void *);
} table = {
#if defined(ABI_SINK_OLD)
    HERALD_SINK_MODULE_MIN_SIZE, HERALD_SINK_ABI_MAKE(1, 0),
#else
    HERALD_SINK_MODULE_MIN_SIZE - sizeof(void *), HERALD_SINK_ABI_MAKE(1, 0),
#endif
    "abi-" VARIANT, "test: a table of an older header", abi_create, abi_deliver, abi_destroy,
};
_Static_assert(sizeof(table) == HERALD_SINK_MODULE_MIN_SIZE, "the v1.0 fields, nothing after");
#elif defined(ABI_SINK_PRERELEASE)
/* The layout before struct_size: abi_version (1) first, then the name. */
static const struct {
    unsigned abi_version;
    const char *name, *description;
    void *(*create)(const herald_sink_host *, const char *, char *, size_t);
    void (*deliver)(void *, const herald_sink_batch *);
    void (*destroy)(void *);
} table = {1, "abi-" VARIANT, "test: the layout before struct_size", abi_create, abi_deliver, abi_destroy};
#else
/* A table of a later header: this herald's fields, then one more that it
 * does not know (NEWER: version 1.7), or another major (MAJOR2: 2.0). */
static void later_call(void) { abort(); } /* herald must never call it */
static const struct {
    herald_sink_module v1;
    void (*later)(void);
} table = {
    {
        .struct_size = sizeof(table),
#if defined(ABI_SINK_NEWER)
        .abi_version = HERALD_SINK_ABI_MAKE(1, 7),
#else
        .abi_version = HERALD_SINK_ABI_MAKE(2, 0),
#endif
        .name = "abi-" VARIANT,
        .description = "test: a table of a later header",
        .create = abi_create,
        .deliver = abi_deliver,
        .destroy = abi_destroy,
    },
    later_call,
};
#endif

HERALD_SINK_EXPORT const herald_sink_module *herald_sink_entry(void)
{
    return (const herald_sink_module *)&table;
}
