/* SPDX-License-Identifier: MIT */
/* herald/sink.h — the ABI of herald's sink modules (version 1.0).
 *
 * A sink module forwards herald's event stream somewhere else: a file, an
 * HTTP backend, a Redis stream, an MQTT broker, a database. It is a shared
 * object that herald loads with dlopen() from its modules folder, like a
 * Janus event handler, and it exports one function:
 *
 *     const herald_sink_module *herald_sink_entry(void);
 *
 * The table it returns names the module and gives three functions:
 *
 *   create   makes an instance from the sink's "config" object (JSON text);
 *   deliver  hands the instance a batch of events, oldest first;
 *   destroy  ends the instance.
 *
 * How herald drives an instance:
 *
 *   - Each configured sink has a thread of its own; create, deliver and
 *     destroy are all called on it, so a module may block in them (a
 *     synchronous write, a database insert) without slowing anything but
 *     its own sink. Fan-out and ingest never wait for a sink.
 *   - At most one batch is in flight per instance: deliver is not called
 *     again before the module has reported the previous batch complete.
 *     Batches therefore arrive in event-id order.
 *   - The module reports each batch exactly once with host->complete(),
 *     either from inside deliver (a synchronous module) or later from any
 *     thread (an asynchronous one). Status 0 means every event of the
 *     batch is handled: herald stores the sink's position past the batch.
 *     Any other status means the batch failed: herald retries the same
 *     batch, with the same events, after a back-off. A module therefore
 *     sees an event at least once; after a crash of herald, the batch that
 *     was in flight is delivered again.
 *   - The batch and its events are valid until complete() is called; copy
 *     what you need to keep longer. Events are immutable.
 *   - destroy may be called while a batch is in flight (herald is
 *     stopping): the module abandons it; calls to complete() made after
 *     destroy has returned are not allowed.
 *
 * Growing the ABI (read this before adding a field). Both structs below
 * begin with struct_size, filled by whoever fills the struct: the module
 * sets sizeof(herald_sink_module) of the header it was built with, herald
 * sets sizeof(herald_sink_host) of its own. The other side reads a field
 * only when HERALD_SINK_HAS(ptr, field) says that size covers it:
 *
 *   - herald reads a field of the module's table only if the module's
 *     struct_size covers it; a field the module's header did not have
 *     counts as absent (NULL, 0);
 *   - a module reads a field of host only if host->struct_size covers it,
 *     e.g. if (HERALD_SINK_HAS(host, some_later_call)) host->some_later_call(…).
 *
 * abi_version is HERALD_SINK_ABI_VERSION, major << 16 | minor. A new field
 * bumps the minor and goes either at the end of its struct or in place of
 * one of the reserved slots (a pointer-sized field, which older headers
 * leave zero, so NULL must mean "absent" for such a field). Existing fields
 * never move or change meaning; doing so would bump the major. herald loads
 * a module whose major equals its own and whose struct_size is at least
 * HERALD_SINK_MODULE_MIN_SIZE (the v1.0 fields down to destroy): one built
 * against an older or a newer minor runs. Any other module is refused,
 * with a log line naming the module and both versions, and herald runs on
 * without it. Reserved slots are zero: fill them with nothing (a designated
 * initializer or memset does it).
 *
 * The event and the batch herald hands deliver carry no struct_size: a
 * batch's events are an array, whose stride an older module could not
 * follow, so neither struct ever grows. A later field of theirs takes one
 * of their reserved slots (NULL in older hosts), as a pointer; a value
 * that is not a pointer goes in a struct of its own, pointed to, that
 * begins with a struct_size.
 */
#ifndef HERALD_SINK_H
#define HERALD_SINK_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Version major.minor as major << 16 | minor; see "Growing the ABI". */
#define HERALD_SINK_ABI_MAJOR 1u
#define HERALD_SINK_ABI_MINOR 0u
#define HERALD_SINK_ABI_MAKE(major, minor) (((uint32_t)(major) << 16) | (uint32_t)(minor))
#define HERALD_SINK_ABI_VERSION HERALD_SINK_ABI_MAKE(HERALD_SINK_ABI_MAJOR, HERALD_SINK_ABI_MINOR)
#define HERALD_SINK_ABI_MAJOR_OF(version) ((uint32_t)(version) >> 16)
#define HERALD_SINK_ABI_MINOR_OF(version) ((uint32_t)(version) & 0xffffu)

/* Nonzero when the struct ptr points to (a herald_sink_host or a
 * herald_sink_module, filled by the other side) is large enough to hold
 * field: read the field only then. */
#define HERALD_SINK_HAS(ptr, field)                                                                \
    ((size_t)((const char *)&(ptr)->field - (const char *)(ptr)) + sizeof((ptr)->field) <=          \
     (size_t)(ptr)->struct_size)

/* Slots kept for fields of later minors, in both structs. */
#define HERALD_SINK_RESERVED 8

/* The exported symbol's name, for modules: HERALD_SINK_EXPORT const
 * herald_sink_module *herald_sink_entry(void) { return &my_module; } */
#define HERALD_SINK_ENTRY_SYMBOL "herald_sink_entry"
#if defined(__GNUC__)
#define HERALD_SINK_EXPORT __attribute__((visibility("default")))
#else
#define HERALD_SINK_EXPORT
#endif

/* Log levels of herald_sink_host.log. */
enum herald_sink_log_level {
    HERALD_SINK_LOG_ERROR = 0,
    HERALD_SINK_LOG_WARN = 1,
    HERALD_SINK_LOG_INFO = 2,
    HERALD_SINK_LOG_DEBUG = 3,
};

/* One committed event. Strings are NUL-terminated; absent optional fields
 * are NULL. */
typedef struct herald_sink_event {
    uint64_t id;              /* strictly increasing */
    int64_t time_ms;          /* server time at append, ms since the epoch */
    const char *type;         /* e.g. "peer.connected", "janus.session" */
    const char *room_id;      /* NULL when the event has no room */
    const char *user_id;      /* NULL when the event has no user */
    const char *data;         /* the payload: compact JSON object text */
    size_t data_len;
    const char *envelope;     /* herald's native JSON envelope of the event:
                               * {"id":"42","type":…,"timestamp":…,"data":{…}} */
    size_t envelope_len;
    const void *reserved[4];  /* NULL; never grows (see "Growing the ABI") */
} herald_sink_event;

/* A batch of events, oldest first. */
typedef struct herald_sink_batch {
    const herald_sink_event *events;
    size_t n;                 /* 1 or more */
    unsigned attempt;         /* 1 on the first try, then 2, 3, … */
    const void *reserved[4];  /* NULL; never grows (see "Growing the ABI") */
} herald_sink_batch;

/* What herald gives every instance. */
typedef struct herald_sink_host {
    uint32_t struct_size;     /* sizeof(herald_sink_host) of herald's header */
    uint32_t abi_version;     /* HERALD_SINK_ABI_VERSION of herald */
    const char *sink_name;    /* the instance's name in herald's config */
    /* A log line in herald's log, prefixed with the sink's name. */
    void (*log)(const struct herald_sink_host *host, int level, const char *fmt, ...)
#if defined(__GNUC__)
        __attribute__((format(printf, 3, 4)))
#endif
        ;
    /* Reports a batch given to deliver: status 0 = handled, anything else
     * = failed (error, which may be NULL, says why; herald copies it).
     * Exactly once per batch; any thread. */
    void (*complete)(const struct herald_sink_host *host, const herald_sink_batch *batch,
                     int status, const char *error);
    void *host_data;          /* herald's own; do not touch */
    void *reserved[HERALD_SINK_RESERVED]; /* zero; for later minors */
    /* Fields of later minors go here (check HERALD_SINK_HAS). */
} herald_sink_host;

/* What a module exports. */
typedef struct herald_sink_module {
    uint32_t struct_size;     /* sizeof(herald_sink_module): set it, the rest is checked against it */
    uint32_t abi_version;     /* HERALD_SINK_ABI_VERSION the module was built with */
    const char *name;         /* short name, e.g. "file" */
    const char *description;  /* one line, shown by herald-cli sinks */
    /* Makes an instance from config_json, the sink's "config" object ("{}"
     * when absent). host outlives the instance. On failure returns NULL and
     * writes a reason to err (errlen bytes, NUL-terminated): herald reports
     * the sink as failed and keeps running without it. Fail only for bad
     * settings: a peer that cannot be reached yet (a server down, a folder
     * missing) should fail batches instead, which herald retries. */
    void *(*create)(const herald_sink_host *host, const char *config_json, char *err, size_t errlen);
    /* Takes a batch; must lead to exactly one host->complete() for it. */
    void (*deliver)(void *instance, const herald_sink_batch *batch);
    /* Ends the instance and frees everything it holds. */
    void (*destroy)(void *instance);
    void *reserved[HERALD_SINK_RESERVED]; /* zero; for later minors */
    /* Fields of later minors go here (herald checks struct_size). */
} herald_sink_module;

/* The smallest table herald accepts: struct_size of a v1.0 module without
 * its reserved slots (they are never required). */
#define HERALD_SINK_MODULE_MIN_SIZE                                                                \
    (offsetof(herald_sink_module, destroy) + sizeof(void (*)(void *)))

typedef const herald_sink_module *(*herald_sink_entry_fn)(void);

#ifdef __cplusplus
}
#endif

#endif
