/* sink_module.h — finding and loading a sink module's shared object.
 *
 * A module named "file" is <modules-dir>/herald-sink-file.so; a name with a
 * '/' is a path used as it is. The object must export herald_sink_entry(),
 * and the table it returns must carry this herald's ABI version and every
 * function, or the load fails with a message saying which.
 */
#ifndef HV_SINK_MODULE_H
#define HV_SINK_MODULE_H

#include <stddef.h>

#include "herald/sink.h"

typedef struct hv_sink_module {
    void *dl;                          /* dlopen handle */
    const herald_sink_module *table;
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
