/* SPDX-License-Identifier: MIT */
/* cli_console.c — `herald-cli console-token [--ttl SECONDS]`: mints a
 * short-lived console token with the server token (POST
 * /v1/console/token) for signing in to the web console.
 *
 * Prints the token alone on stdout (TOKEN=$(herald-cli console-token)
 * works) and, on stderr, when it expires and where to paste it: the
 * console's URL without the token. A token never goes into a URL: it
 * would land in the browser's history and in logs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int cli_console_token(const cli *c)
{
    char err[512] = "";
    char *answer = NULL;
    int rc = herald_console_token_create(c->server, c->token, c->ttl, &answer, NULL, err, sizeof(err));
    if (rc != 0)
        return cli_fail("console-token", rc, err);
    json_t *root = json_loads(answer, 0, NULL);
    const char *tok = json_string_value(json_object_get(root, "token"));
    const char *exp = json_string_value(json_object_get(root, "expires_at"));
    if (!tok || !exp) {
        fprintf(stderr, "herald-cli: console-token: unexpected answer: %.200s\n", answer);
        json_decref(root);
        free(answer);
        return 1;
    }
    if (c->json)
        cli_print_json(root);
    else
        cli_print_line(tok, strlen(tok));
    const char *server = c->server ? c->server : HERALD_DEFAULT_SERVER;
    size_t n = strlen(server);
    fprintf(stderr, "expires at %s; sign in at %.*s/console/ and paste the token into the form\n", exp,
            (int)(n && server[n - 1] == '/' ? n - 1 : n), server);
    json_decref(root);
    free(answer);
    return 0;
}
