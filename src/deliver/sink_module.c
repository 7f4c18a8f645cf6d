/* SPDX-License-Identifier: MIT */
/* sink_module.c — dlopen()s a sink module and checks its table; see
 * sink_module.h and "Growing the ABI" in herald/sink.h.
 *
 * Symbols are resolved at load (RTLD_NOW), so a module missing a library
 * fails here, with dlerror()'s message, rather than at its first batch.
 */
#include "deliver/sink_module.h"

#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef HERALD_MODULES_DIR
#define HERALD_MODULES_DIR "/usr/local/lib/herald/sinks"
#endif

void hv_sink_default_dir(char *out, size_t len)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n > 0) {
        exe[n] = 0;
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = 0;
            struct stat st;
            snprintf(out, len, "%s/sinks", exe);
            if (stat(out, &st) == 0 && S_ISDIR(st.st_mode))
                return;
        }
    }
    snprintf(out, len, "%s", HERALD_MODULES_DIR);
}

/* Refuses a table of another major or one too small for the v1.0
 * fields, before reading anything but its first two fields (which every
 * version has); then copies what its struct_size covers. */
static int take_table(hv_sink_module *m, const herald_sink_module *t, char *err, size_t errlen)
{
    if (!t) {
        snprintf(err, errlen, "herald_sink_entry() returned NULL");
        return -1;
    }
    uint32_t v = t->abi_version;
    if (HERALD_SINK_ABI_MAJOR_OF(v) != HERALD_SINK_ABI_MAJOR) {
        snprintf(err, errlen, "built for sink ABI %u.%u, this herald has sink ABI %u.%u (it loads %u.x)",
                 (unsigned)HERALD_SINK_ABI_MAJOR_OF(v), (unsigned)HERALD_SINK_ABI_MINOR_OF(v),
                 HERALD_SINK_ABI_MAJOR, HERALD_SINK_ABI_MINOR, HERALD_SINK_ABI_MAJOR);
        return -1;
    }
    if (t->struct_size < HERALD_SINK_MODULE_MIN_SIZE) {
        snprintf(err, errlen,
                 "built for sink ABI %u.%u, but its table is %u bytes: this herald (sink ABI %u.%u) needs "
                 "at least %zu (struct_size = sizeof(herald_sink_module))",
                 (unsigned)HERALD_SINK_ABI_MAJOR_OF(v), (unsigned)HERALD_SINK_ABI_MINOR_OF(v),
                 (unsigned)t->struct_size, HERALD_SINK_ABI_MAJOR, HERALD_SINK_ABI_MINOR,
                 (size_t)HERALD_SINK_MODULE_MIN_SIZE);
        return -1;
    }
    m->module_size = t->struct_size;
    size_t n = t->struct_size < sizeof(m->copy) ? t->struct_size : sizeof(m->copy);
    memset(&m->copy, 0, sizeof(m->copy));
    memcpy(&m->copy, t, n);
    m->copy.struct_size = (uint32_t)n;
    m->table = &m->copy;
    if (!m->copy.name || !m->copy.create || !m->copy.deliver || !m->copy.destroy) {
        snprintf(err, errlen, "its table lacks a name, create, deliver or destroy");
        return -1;
    }
    return 0;
}

int hv_sink_module_load(hv_sink_module *m, const char *dir, const char *name, char *err, size_t errlen)
{
    memset(m, 0, sizeof(*m));
    if (strchr(name, '/'))
        snprintf(m->path, sizeof(m->path), "%s", name);
    else
        snprintf(m->path, sizeof(m->path), "%s/herald-sink-%s.so", dir, name);
    m->dl = dlopen(m->path, RTLD_NOW | RTLD_LOCAL);
    if (!m->dl) {
        snprintf(err, errlen, "cannot load module: %s", dlerror());
        return -1;
    }
    herald_sink_entry_fn entry;
    *(void **)&entry = dlsym(m->dl, HERALD_SINK_ENTRY_SYMBOL);
    if (!entry) {
        snprintf(err, errlen, "%s does not export %s()", m->path, HERALD_SINK_ENTRY_SYMBOL);
        hv_sink_module_unload(m);
        return -1;
    }
    char why[256];
    if (take_table(m, entry(), why, sizeof(why)) != 0) {
        snprintf(err, errlen, "%s: %s", m->path, why);
        hv_sink_module_unload(m);
        return -1;
    }
    return 0;
}

void hv_sink_module_unload(hv_sink_module *m)
{
    if (m->dl)
        dlclose(m->dl);
    m->dl = NULL;
    m->table = NULL;
}
