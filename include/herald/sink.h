/* herald/sink.h — the ABI of herald's sink modules (version 1).
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
 * Compatibility: abi_version must equal HERALD_SINK_ABI_VERSION of the
 * herald that loads the module, or the module is refused with a clear
 * message. New fields are only ever added at the end of these structs, and
 * any change to existing ones bumps the version.
 */
#ifndef HERALD_SINK_H
#define HERALD_SINK_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define HERALD_SINK_ABI_VERSION 1u

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
} herald_sink_event;

/* A batch of events, oldest first. */
typedef struct herald_sink_batch {
    const herald_sink_event *events;
    size_t n;                 /* 1 or more */
    unsigned attempt;         /* 1 on the first try, then 2, 3, … */
} herald_sink_batch;

/* What herald gives every instance. */
typedef struct herald_sink_host {
    unsigned abi_version;     /* HERALD_SINK_ABI_VERSION of the host */
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
} herald_sink_host;

/* What a module exports. */
typedef struct herald_sink_module {
    unsigned abi_version;     /* HERALD_SINK_ABI_VERSION the module was built with */
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
} herald_sink_module;

typedef const herald_sink_module *(*herald_sink_entry_fn)(void);

#ifdef __cplusplus
}
#endif

#endif
