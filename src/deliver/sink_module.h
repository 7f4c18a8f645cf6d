/* SPDX-License-Identifier: MIT */
/* sink_module.h — finding and loading a sink module's shared object.
 *
 * A module named "file" is <modules-dir>/herald-sink-file.so; a name with a
 * '/' is a path used as it is. The object must export herald_sink_entry(),
 * and the table it returns must carry this herald's ABI major, a
 * struct_size of at least HERALD_SINK_MODULE_MIN_SIZE and every function,
 * or the load fails with a message saying which (and both versions).
 */
#ifndef HV_SINK_MODULE_H
#define HV_SINK_MODULE_H

#include <stddef.h>
#include <stdint.h>

#include "herald/sink.h"

typedef struct hv_sink_module {
    void *dl;                          /* dlopen handle */
    /* The module's table as this herald knows it: the part its struct_size
     * covers, copied, and zeros past it (table points here). So herald
     * reads past the end of an older module's table never, and a field
     * that module lacks reads as NULL/0 (its struct_size says so too). */
    const herald_sink_module *table;
    herald_sink_module copy;
    uint32_t module_size;              /* the module's own struct_size */
    char path[1024];
} hv_sink_module;

/* The folder herald looks in when --modules-dir is not given: "sinks"
 * beside the herald binary when it exists (a build tree), else the
 * installed folder. */
void hv_sink_default_dir(char *out, size_t len);

/* Loads the module. 0, or -1 with a reason in err. */
int hv_sink_module_load(hv_sink_module *m, const char *dir, const char *name, char *err, size_t errlen);
void hv_sink_module_unload(hv_sink_module *m);

#endif
