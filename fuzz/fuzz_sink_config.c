/* SPDX-License-Identifier: MIT */
/* fuzz_sink_config.c — libFuzzer target for the "sinks" settings parser.
 *
 * Feeds arbitrary bytes to hv_sink_specs_parse (the text is what a user
 * wrote in the config file). Checks on the way: a refused input leaves no
 * result and a non-empty message; an accepted one has valid names, sane
 * batch and retry settings, module settings that are a JSON object, and a
 * filter that can be asked about any type without crashing.
 */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "deliver/sink_config.h"

static void check_spec(const hv_sink_spec *s)
{
    if (!s->name || !*s->name || strlen(s->name) > 64 || !s->module || !*s->module)
        abort();
    if (s->max_events < 1 || s->max_events > 10000 || s->retry_max_ms < s->retry_initial_ms ||
        s->crash_after_s <= 0)
        abort();
    json_t *c = json_loads(s->config_json, 0, NULL);
    if (!json_is_object(c))
        abort();
    json_decref(c);
    static const char *const types[] = {"room.created", "janus.session", "peer.*", "", "x"};
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
        (void)hv_sink_spec_wants(s, types[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = 0;
    hv_sink_spec *specs = NULL;
    size_t n = 0;
    char err[512] = "";
    if (hv_sink_specs_parse(text, &specs, &n, err, sizeof(err)) == 0) {
        for (size_t i = 0; i < n; i++)
            check_spec(&specs[i]);
        hv_sink_specs_free(specs, n);
    } else if (specs || !err[0]) {
        abort();
    }
    free(text);
    return 0;
}
