/* SPDX-License-Identifier: MIT */
/* cli_nodes.c — `herald-cli nodes`: the herald nodes sharing the store,
 * whether each is alive and what it owns (GET /v1/nodes).
 *
 * Without --json: a line saying the store (and the node answering), then
 * one aligned line per node (id, alive or why not, seconds since its last
 * beat, peer sessions, what it owns). With --json: the server's answer as
 * one line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void print_row(json_t *n, const char *self)
{
    const char *id = json_string_value(json_object_get(n, "id"));
    const char *state = json_string_value(json_object_get(n, "state"));
    char beat[32] = "-", owns[512] = "";
    json_t *age = json_object_get(n, "age_ms");
    if (json_is_integer(age))
        snprintf(beat, sizeof(beat), "%.1fs ago", (double)json_integer_value(age) / 1000);
    size_t i, len = 0;
    json_t *o;
    json_array_foreach(json_object_get(n, "owns"), i, o)
        if (len < sizeof(owns))
            len += (size_t)snprintf(owns + len, sizeof(owns) - len, "%s%s", i ? "," : "",
                                    json_string_value(o) ? json_string_value(o) : "?");
    printf("%-24s %-11s %-11s %8lld  %s%s\n", id ? id : "?", state ? state : "?", beat,
           (long long)json_integer_value(json_object_get(n, "sessions")), owns[0] ? owns : "-",
           id && self && !strcmp(id, self) ? "  (this node)" : "");
}

int cli_nodes(const cli *c)
{
    char err[512] = "";
    char *answer = NULL;
    int rc = herald_nodes_list(c->server, c->token, &answer, NULL, err, sizeof(err));
    if (rc != 0)
        return cli_fail("nodes", rc, err);
    json_t *root = json_loads(answer, 0, NULL);
    json_t *nodes = json_object_get(root, "nodes");
    if (!json_is_array(nodes)) {
        fprintf(stderr, "herald-cli: nodes: unexpected answer: %.200s\n", answer);
        json_decref(root);
        free(answer);
        return 1;
    }
    if (c->json) {
        cli_print_json(root);
    } else {
        const char *self = json_string_value(json_object_get(root, "self"));
        printf("store: %s%s\n", json_string_value(json_object_get(root, "store")),
               json_is_true(json_object_get(root, "truncated")) ? " (more nodes than listed)" : "");
        printf("%-24s %-11s %-11s %8s  %s\n", "NODE", "STATE", "LAST BEAT", "SESSIONS", "OWNS");
        size_t i;
        json_t *n;
        json_array_foreach(nodes, i, n)
            print_row(n, self);
    }
    fflush(stdout);
    json_decref(root);
    free(answer);
    return 0;
}
