/* SPDX-License-Identifier: MIT */
/* sink_file.c — the "file" sink module: every event as one JSON line (the
 * native envelope) appended to a file, with size-based rotation.
 *
 * Config: {"path": "/var/log/herald/events.jsonl",   required
 *          "max_bytes": 104857600,   rotate before the file would pass this (0 = never)
 *          "keep": 5,                rotated files kept: path.1 (newest) … path.N
 *          "fsync": false}           fdatasync before reporting a batch handled
 *
 * A batch is written with one write() loop of the whole buffer and reported
 * handled only once written (and synced with "fsync"), so a failed disk
 * makes herald retry the batch. Delivery is at least once: a batch cut
 * short by a crash is written again whole.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "herald/sink.h"

typedef struct file_sink {
    const herald_sink_host *host;
    char *path;
    unsigned long long max_bytes;
    int keep;
    int fsync;
    int fd;
    unsigned long long size;
} file_sink;

static int parse_config(file_sink *f, const char *config_json, char *err, size_t errlen)
{
    json_error_t je;
    json_t *c = json_loads(config_json, 0, &je);
    const char *path = json_string_value(json_object_get(c, "path"));
    json_t *max = json_object_get(c, "max_bytes"), *keep = json_object_get(c, "keep");
    json_t *sync = json_object_get(c, "fsync");
    const char *bad = NULL;
    if (!path || !*path)
        bad = "\"path\" (the file to append to) is required";
    else if (max && (!json_is_integer(max) || json_integer_value(max) < 0))
        bad = "\"max_bytes\" must be a number of bytes (0 = never rotate)";
    else if (keep && (!json_is_integer(keep) || json_integer_value(keep) < 1 || json_integer_value(keep) > 1000))
        bad = "\"keep\" must be 1-1000";
    else if (sync && !json_is_boolean(sync))
        bad = "\"fsync\" must be true or false";
    if (bad) {
        snprintf(err, errlen, "%s", bad);
        json_decref(c);
        return -1;
    }
    f->path = strdup(path);
    f->max_bytes = max ? (unsigned long long)json_integer_value(max) : 100ull << 20;
    f->keep = keep ? (int)json_integer_value(keep) : 5;
    f->fsync = sync && json_is_true(sync);
    json_decref(c);
    return 0;
}

static int open_file(file_sink *f)
{
    f->fd = open(f->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (f->fd < 0)
        return -1;
    struct stat st;
    f->size = fstat(f->fd, &st) == 0 ? (unsigned long long)st.st_size : 0;
    return 0;
}

/* path.N-1 -> path.N, …, path -> path.1, then a new path. */
static int rotate(file_sink *f)
{
    close(f->fd);
    f->fd = -1;
    size_t len = strlen(f->path) + 16;
    char *from = malloc(len), *to = malloc(len);
    snprintf(to, len, "%s.%d", f->path, f->keep);
    unlink(to);
    for (int i = f->keep - 1; i >= 1; i--) {
        snprintf(from, len, "%s.%d", f->path, i);
        snprintf(to, len, "%s.%d", f->path, i + 1);
        rename(from, to);
    }
    snprintf(to, len, "%s.1", f->path);
    int rc = rename(f->path, to);
    free(from);
    free(to);
    if (rc != 0 && errno != ENOENT)
        return -1;
    return open_file(f);
}

static void *file_create(const herald_sink_host *host, const char *config_json, char *err, size_t errlen)
{
    file_sink *f = calloc(1, sizeof(*f));
    f->host = host;
    f->fd = -1;
    if (parse_config(f, config_json, err, errlen) != 0) {
        free(f);
        return NULL;
    }
    /* A file that cannot be opened yet (its folder missing, a full disk)
     * fails batches, which herald retries; only bad settings fail here. */
    if (open_file(f) != 0)
        host->log(host, HERALD_SINK_LOG_WARN, "cannot open %s yet: %s", f->path, strerror(errno));
    return f;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static void file_deliver(void *instance, const herald_sink_batch *batch)
{
    file_sink *f = instance;
    size_t len = 0;
    for (size_t i = 0; i < batch->n; i++)
        len += batch->events[i].envelope_len + 1;
    char *buf = malloc(len), *p = buf;
    for (size_t i = 0; i < batch->n; i++) {
        memcpy(p, batch->events[i].envelope, batch->events[i].envelope_len);
        p += batch->events[i].envelope_len;
        *p++ = '\n';
    }
    char why[512] = "";
    if (f->fd < 0 && open_file(f) != 0)
        snprintf(why, sizeof(why), "cannot open %s: %s", f->path, strerror(errno));
    else if (f->max_bytes && f->size > 0 && f->size + len > f->max_bytes && rotate(f) != 0)
        snprintf(why, sizeof(why), "cannot rotate %s: %s", f->path, strerror(errno));
    else if (write_all(f->fd, buf, len) != 0 || (f->fsync && fdatasync(f->fd) != 0)) {
        snprintf(why, sizeof(why), "cannot write %s: %s", f->path, strerror(errno));
        if (ftruncate(f->fd, (off_t)f->size) != 0) { /* drop a partial batch; the retry writes it whole */
        }
    }
    else
        f->size += len;
    free(buf);
    if (why[0] && f->fd >= 0) { /* reopen next time: the file may have been replaced */
        close(f->fd);
        f->fd = -1;
    }
    f->host->complete(f->host, batch, why[0] ? -1 : 0, why[0] ? why : NULL);
}

static void file_destroy(void *instance)
{
    file_sink *f = instance;
    if (f->fd >= 0)
        close(f->fd);
    free(f->path);
    free(f);
}

static const herald_sink_module file_module = {
    .struct_size = sizeof(herald_sink_module),
    .abi_version = HERALD_SINK_ABI_VERSION,
    .name = "file",
    .description = "JSON lines appended to a file, rotated by size",
    .create = file_create,
    .deliver = file_deliver,
    .destroy = file_destroy,
};

HERALD_SINK_EXPORT const herald_sink_module *herald_sink_entry(void)
{
    return &file_module;
}
