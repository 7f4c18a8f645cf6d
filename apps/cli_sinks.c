/* SPDX-License-Identifier: MIT */
/* cli_sinks.c — `herald-cli sinks`: the sink modules herald runs, their
 * state and position in the event log (GET /v1/sinks).
 *
 * Without --json: one aligned line per sink (name, module, state, position
 * / newest event, lag, events handled, failures) and, under a failing
 * sink, its last error. With --json: the server's answer as one line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void print_row(json_t *s)
{
    const char *err = json_string_value(json_object_get(s, "last_error"));
    const char *state = json_string_value(json_object_get(s, "state"));
    printf("%-16s %-12s %-9s %10lld/%-10lld %8lld %10lld %8lld\n",
           json_string_value(json_object_get(s, "name")), json_string_value(json_object_get(s, "module")),
           state ? state : "?", (long long)json_integer_value(json_object_get(s, "position")),
           (long long)json_integer_value(json_object_get(s, "last_event_id")),
           (long long)json_integer_value(json_object_get(s, "lag")),
           (long long)json_integer_value(json_object_get(s, "events")),
           (long long)json_integer_value(json_object_get(s, "failures")));
    if (err && state && strcmp(state, "running") != 0)
        printf("    last error: %s\n", err);
}

int cli_sinks(const cli *c)
{
    char err[512] = "";
    char *answer = NULL;
    int rc = herald_sinks_list(c->server, c->token, &answer, NULL, err, sizeof(err));
    if (rc != 0)
        return cli_fail("sinks", rc, err);
    json_t *root = json_loads(answer, 0, NULL);
    json_t *sinks = json_object_get(root, "sinks");
    if (!json_is_array(sinks)) {
        fprintf(stderr, "herald-cli: sinks: unexpected answer: %.200s\n", answer);
        json_decref(root);
        free(answer);
        return 1;
    }
    if (c->json) {
        cli_print_json(root);
    } else if (json_array_size(sinks) == 0) {
        printf("no sinks configured (see --config)\n");
    } else {
        printf("%-16s %-12s %-9s %21s %8s %10s %8s\n", "NAME", "MODULE", "STATE", "POSITION/LAST", "LAG",
               "EVENTS", "FAILURES");
        size_t i;
        json_t *s;
        json_array_foreach(sinks, i, s)
            print_row(s);
    }
    fflush(stdout);
    json_decref(root);
    free(answer);
    return 0;
}
