/* SPDX-License-Identifier: MIT */
/* publish.c — example: publish one event, then read it back from history.
 *
 *   ./example_publish room.created '{"note":"hello"}' r1
 *
 * herald_publish returns the new event's id; herald_history with
 * since = id - 1 and limit 1 returns that very event as JSON.
 */
#include <stdio.h>
#include <stdlib.h>

#include <herald/client.h>

int main(int argc, char **argv)
{
    const char *server = getenv("HERALD_SERVER"), *token = getenv("HERALD_TOKEN");
    const char *type = argc > 1 ? argv[1] : "example.hello";
    const char *data = argc > 2 ? argv[2] : "{\"hello\":\"world\"}";
    const char *room = argc > 3 ? argv[3] : NULL;
    char err[512] = "";
    uint64_t id;

    int rc = herald_publish(server, token, type, room, NULL, data, &id, err, sizeof(err));
    if (rc != 0) {
        fprintf(stderr, "publish failed: %s (%s)\n", err, herald_strerror(rc));
        return 1;
    }
    printf("published event %llu\n", (unsigned long long)id);

    herald_history_query q = {.since = id - 1, .limit = 1};
    char *json = NULL;
    rc = herald_history(server, token, &q, &json, err, sizeof(err));
    if (rc != 0) {
        fprintf(stderr, "history failed: %s\n", err);
        return 1;
    }
    printf("history: %s\n", json);
    free(json);
    return 0;
}
