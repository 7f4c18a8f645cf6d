/* SPDX-License-Identifier: MIT */
/* cli_token.c — herald-cli's `token` command: mints a user token (JWT,
 * HS256) for development, with herald_token_mint of the client library.
 *
 *   herald-cli token --user U [--rooms r1,r2] [--ttl SECONDS] [--secret S]
 *
 * Prints the token alone on one line, so that
 * `TOKEN=$(herald-cli token --user alice)` works. The secret is the one
 * herald is configured with for user tokens: --secret, else the
 * environment variable HERALD_JWT_SECRET (preferable: a command line is
 * visible to other users in ps). --ttl defaults to 3600 seconds. --rooms
 * is a comma-separated list of the room ids the token may read; without
 * it the token reaches only the user's own channel.
 *
 * The command talks to no server, so it parses its own options (they
 * follow the word "token"); herald-cli.c hands it argv from there on.
 */
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define TOKEN_DEFAULT_TTL 3600

/* Splits list at commas into a malloc'd array of pointers into list
 * (which is modified). Refuses empty items. Returns 0, or -1 with *bad
 * set to a description. */
static int split_rooms(char *list, char ***out, size_t *n, const char **bad)
{
    *out = NULL;
    *n = 0;
    if (!*list)
        return 0;
    size_t count = 1;
    for (const char *p = list; *p; p++)
        count += *p == ',';
    char **rooms = calloc(count, sizeof(*rooms));
    if (!rooms) {
        *bad = "out of memory";
        return -1;
    }
    size_t i = 0;
    for (char *item = list;; i++) {
        char *comma = strchr(item, ',');
        if (comma)
            *comma = '\0';
        if (!*item) {
            free(rooms);
            *bad = "--rooms has an empty room id";
            return -1;
        }
        rooms[i] = item;
        if (!comma)
            break;
        item = comma + 1;
    }
    *out = rooms;
    *n = i + 1;
    return 0;
}

static int parse_ttl(const char *s, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (!*s || *end || errno || v <= 0)
        return -1;
    *out = (int64_t)v;
    return 0;
}

int cli_token(int argc, char **argv)
{
    static const struct option opts[] = {
        {"user", required_argument, NULL, 'u'},
        {"rooms", required_argument, NULL, 'r'},
        {"ttl", required_argument, NULL, 't'},
        {"secret", required_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *user = NULL, *secret = getenv("HERALD_JWT_SECRET");
    char *rooms_arg = NULL;
    int64_t ttl = TOKEN_DEFAULT_TTL;
    int opt;
    optind = 0; /* glibc: start a fresh scan of this argv */
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (opt) {
        case 'u': user = optarg; break;
        case 'r': rooms_arg = optarg; break;
        case 's': secret = optarg; break;
        case 't':
            if (parse_ttl(optarg, &ttl) != 0)
                return cli_usage_error("--ttl needs a positive number of seconds, got '%s'", optarg);
            break;
        case 'h':
            puts("usage: herald-cli token --user U [--rooms r1,r2] [--ttl SECONDS] [--secret S]\n"
                 "prints a user token (JWT, HS256); the secret defaults to env HERALD_JWT_SECRET,\n"
                 "the lifetime to 3600 s");
            return 0;
        default:
            return cli_usage_error("token: unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return cli_usage_error("token: unexpected argument '%s'", argv[optind]);
    if (!user || !*user)
        return cli_usage_error("%s", "token needs --user U");
    if (!secret || !*secret)
        return cli_usage_error("%s", "token needs a secret: --secret S or env HERALD_JWT_SECRET");

    char *list = rooms_arg ? strdup(rooms_arg) : NULL;
    char **rooms = NULL;
    size_t nrooms = 0;
    const char *bad = NULL;
    if (rooms_arg && (!list || split_rooms(list, &rooms, &nrooms, &bad) != 0)) {
        free(list);
        return bad && strcmp(bad, "out of memory") != 0 ? cli_usage_error("%s", bad)
                                                       : cli_fail("token", HERALD_ENOMEM, "");
    }
    char *token = NULL;
    char err[256] = "";
    int rc = herald_token_mint(secret, user, (const char *const *)rooms, nrooms, ttl, &token, err,
                               sizeof(err));
    free(rooms);
    free(list);
    if (rc != HERALD_OK)
        return rc == HERALD_EINVAL ? cli_usage_error("token: %s", err) : cli_fail("token", rc, err);
    cli_print_line(token, strlen(token));
    free(token);
    return 0;
}
