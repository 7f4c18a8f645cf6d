/* SPDX-License-Identifier: MIT */
/* cli_common.c — what the commands of herald-cli share: the error and
 * output helpers, and cli_run_until_signal, the frame of the three
 * commands that hold a socket open until Ctrl-C (listen, peer connect,
 * subscribe). See cli.h. Apart from herald-cli.c so that the commands' files do not
 * depend on the file of main and its options.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int cli_usage_error(const char *fmt, const char *arg)
{
    fputs("herald-cli: ", stderr);
    fprintf(stderr, fmt, arg);
    fputs("\nTry 'herald-cli --help'.\n", stderr);
    return 2;
}

int cli_fail(const char *what, int rc, const char *err)
{
    fprintf(stderr, "herald-cli: %s: %s\n", what, err[0] ? err : herald_strerror(rc));
    return 1;
}

void cli_print_line(const char *text, size_t len)
{
    fwrite(text, 1, len, stdout);
    fputc('\n', stdout);
    fflush(stdout);
}

void cli_print_json(json_t *v)
{
    char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    if (text) {
        cli_print_line(text, strlen(text));
        free(text);
    }
}

void cli_print_json_text(const char *text, size_t len)
{
    if (!memchr(text, '\n', len)) {
        cli_print_line(text, len);
        return;
    }
    json_t *v = json_loadb(text, len, JSON_DECODE_ANY, NULL);
    cli_print_json(v);
    json_decref(v);
}

void cli_print_event(const herald_event *ev, void *user)
{
    (void)user;
    cli_print_json_text(ev->raw, ev->raw_len);
}

/* ---- cli_run_until_signal ---- */

static void close_signals(cli_run *r)
{
    if (!uv_is_closing((uv_handle_t *)&r->sigint))
        uv_close((uv_handle_t *)&r->sigint, NULL);
    if (!uv_is_closing((uv_handle_t *)&r->sigterm))
        uv_close((uv_handle_t *)&r->sigterm, NULL);
}

static void on_signal(uv_signal_t *s, int signum)
{
    (void)signum;
    cli_run *r = s->data;
    r->interrupted = 1;
    r->ops->stop(r->client);
}

void cli_run_on_close(int code, const char *reason, void *user)
{
    cli_run *r = user;
    r->code = code;
    snprintf(r->reason, sizeof(r->reason), "%s", reason);
    close_signals(r);
}

int cli_run_until_signal(cli_run *r)
{
    if (uv_loop_init(&r->loop) != 0) {
        r->ops->destroy(r->client);
        return cli_fail(r->ops->what, HERALD_ENOMEM, "");
    }
    uv_signal_init(&r->loop, &r->sigint);
    uv_signal_init(&r->loop, &r->sigterm);
    r->sigint.data = r->sigterm.data = r;
    uv_signal_start(&r->sigint, on_signal, SIGINT);
    uv_signal_start(&r->sigterm, on_signal, SIGTERM);
    int rc = r->ops->start(r->client, &r->loop);
    if (rc != 0)
        close_signals(r);
    uv_run(&r->loop, UV_RUN_DEFAULT);
    r->ops->destroy(r->client);
    uv_run(&r->loop, UV_RUN_DEFAULT); /* the client's last close callbacks */
    uv_loop_close(&r->loop);
    if (rc != 0)
        return cli_fail(r->ops->what, rc, "");
    if (r->interrupted)
        return 0;
    fprintf(stderr, "herald-cli: connection closed: %d %s\n", r->code, r->reason);
    return 1;
}
