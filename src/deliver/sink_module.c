/* sink_module.c — dlopen()s a sink module and checks its table; see
 * sink_module.h.
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

static int check_table(const herald_sink_module *t, char *err, size_t errlen)
{
    if (!t) {
        snprintf(err, errlen, "herald_sink_entry() returned NULL");
        return -1;
    }
    if (t->abi_version != HERALD_SINK_ABI_VERSION) {
        snprintf(err, errlen, "built for sink ABI version %u, this herald has version %u",
                 t->abi_version, HERALD_SINK_ABI_VERSION);
        return -1;
    }
    if (!t->name || !t->create || !t->deliver || !t->destroy) {
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
    m->table = entry();
    char why[256];
    if (check_table(m->table, why, sizeof(why)) != 0) {
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
