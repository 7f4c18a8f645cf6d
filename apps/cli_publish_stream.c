/* SPDX-License-Identifier: MIT */
/* cli_publish_stream.c — herald-cli publish --stream: the JSON lines of
 * stdin over one persistent publishing connection (herald_publisher,
 * GET /v1/events/websocket) instead of POST requests.
 *
 * Each non-blank line is one frame, sent as is: the server validates it
 * (one event object, or an array) with the messages POST /v1/events
 * gives. Up to --window frames are in flight (the publisher's window);
 * the answers come back in line order, so the ids are printed in input
 * order while later lines are already on their way. A refused line is
 * reported on stderr with its line number and the server's message and
 * does not stop the stream: the lines after it are still published. A
 * line whose events' idempotency_key was used before (answered with the
 * first ids, "replayed":true) prints those ids and is named on stderr. The
 * exit status is 1 when any line was refused (the summary names the
 * first) or the connection ended early (naming the first line whose
 * answer never came, whose fate is therefore unknown), else 0.
 *
 * A line the server would close the connection for (not UTF-8, above the
 * frame limit) is refused here without being sent; the answers before it
 * are drained first so that the report stays in line order.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define READY_TIMEOUT_MS 60000

typedef struct stream {
    const cli *c;
    herald_publisher *p;
    unsigned long *lines;    /* ring: the line number of each frame in flight */
    unsigned window, head, count;
    int unflushed;           /* ids printed since the last fflush */
    unsigned long refused, first_refused;
    char first_message[512];
} stream;

static void refuse(stream *st, unsigned long line, const char *message)
{
    fprintf(stderr, "herald-cli: stdin line %lu: %s\n", line, message);
    if (st->refused++ == 0) {
        st->first_refused = line;
        snprintf(st->first_message, sizeof(st->first_message), "%s", message);
    }
}

/* Takes the oldest frame's answer and reports it, waiting for it when
 * wait is set. Returns 0, 2 when none is there yet (no wait), or 1 when
 * the connection has ended (reported). */
static int take_one(stream *st, int wait)
{
    herald_publish_answer a;
    char err[512] = "";
    unsigned long line = st->lines[st->head];
    int rc = herald_publisher_next(st->p, wait ? -1 : 0, &a, err, sizeof(err));
    if (rc == HERALD_ETIMEDOUT && !wait)
        return 2;
    if (rc != 0) {
        fprintf(stderr, "herald-cli: publish --stream: %s; stdin line %lu and the %u line(s) "
                        "after it in flight may or may not be published\n",
                err[0] ? err : herald_strerror(rc), line, st->count - 1);
        return 1;
    }
    st->head = (st->head + 1) % st->window;
    st->count--;
    if (a.status != 0) {
        char msg[480];
        snprintf(msg, sizeof(msg), "%s (HTTP %d)", a.errors, a.status);
        refuse(st, line, msg);
    } else if (st->c->json) {
        cli_print_line(a.response, strlen(a.response));
    } else {
        if (herald_publish_answer_replayed(&a))
            fprintf(stderr, "herald-cli: stdin line %lu: replayed: its idempotency_key was used "
                            "before; the ids are the ones it got then\n", line);
        for (size_t i = 0; i < a.count; i++)
            printf("%" PRIu64 "\n", a.ids[i]);
        st->unflushed = 1;
    }
    herald_publish_answer_clear(&a);
    return 0;
}

/* Submits one line, making room in the window first. Returns 0 or 1 (the
 * connection ended, reported). */
static int send_line(stream *st, const char *line, size_t len, unsigned long lineno)
{
    for (;;) {
        int rc = herald_publisher_submit(st->p, line, len, NULL);
        if (rc == 0)
            break;
        if (rc == HERALD_EFULL) {
            if (take_one(st, 1) != 0)
                return 1;
            continue;
        }
        if (rc == HERALD_EINVAL) { /* never sent: report it in line order */
            while (st->count > 0)
                if (take_one(st, 1) != 0)
                    return 1;
            fflush(stdout);
            refuse(st, lineno, len > HERALD_PUBLISHER_MAX_FRAME
                                   ? "line longer than the frame limit (not sent)"
                                   : "line is not valid UTF-8 (not sent)");
            return 0;
        }
        char reason[160] = "";
        int code = 0;
        herald_publisher_closed(st->p, &code, reason, sizeof(reason));
        fprintf(stderr, "herald-cli: publish --stream: stdin line %lu not sent: %s (%d %s)\n",
                lineno, herald_strerror(rc), code, reason);
        return 1;
    }
    st->lines[(st->head + st->count) % st->window] = lineno;
    st->count++;
    return 0;
}

/* Reads, sends, prints. Before stdin may block (no whole line there), it
 * waits for every answer in flight and prints it, so that a reader of
 * the output sees each line's ids without waiting for the next line. */
static int run(stream *st)
{
    cli_line_reader r = {0};
    unsigned long lineno = 0;
    int rc = 0, would_block;
    while (rc == 0) {
        char *line = cli_next_line(&r, 0, &would_block);
        if (!line && would_block) {
            while (rc == 0 && st->count > 0)
                rc = take_one(st, 1);
            fflush(stdout);
            st->unflushed = 0;
            if (rc != 0)
                break;
            line = cli_next_line(&r, 1, &would_block);
        }
        if (!line)
            break; /* end of input */
        lineno++;
        size_t len = strlen(line);
        while (len > 0 && line[len - 1] == '\r')
            len--;
        size_t skip = strspn(line, " \t");
        if (skip >= len)
            continue; /* blank */
        rc = send_line(st, line + skip, len - skip, lineno);
        while (rc == 0 && st->count > 0 && (rc = take_one(st, 0)) == 0)
            ; /* print the answers already here as they come */
        if (rc == 2)
            rc = 0;
    }
    free(r.buf);
    while (rc == 0 && st->count > 0)
        rc = take_one(st, 1);
    fflush(stdout);
    return rc;
}

int cli_publish_stream(const cli *c)
{
    char err[512] = "";
    herald_publisher_options o = {.server = c->server, .token = c->token, .window = c->window};
    stream st = {.c = c, .window = c->window ? c->window : HERALD_PUBLISHER_WINDOW};
    herald_publisher *p = herald_publisher_new(&o, err, sizeof(err));
    if (!p)
        return cli_fail("publish --stream", HERALD_EINVAL, err);
    st.p = p;
    int rc = herald_publisher_start_thread(p);
    if (rc == 0)
        rc = herald_publisher_wait_ready(p, READY_TIMEOUT_MS);
    if (rc != 0) {
        char reason[160] = "";
        int code = 0;
        if (herald_publisher_closed(p, &code, reason, sizeof(reason)))
            snprintf(err, sizeof(err), "%d %s", code, reason);
        herald_publisher_free(p);
        return cli_fail("publish --stream", rc, err);
    }
    if (!(st.lines = calloc(st.window, sizeof(*st.lines)))) {
        herald_publisher_free(p);
        return cli_fail("publish --stream", HERALD_ENOMEM, "");
    }
    rc = run(&st);
    herald_publisher_free(p);
    free(st.lines);
    if (rc == 0 && st.refused > 0) {
        fprintf(stderr, "herald-cli: publish --stream: %lu line(s) refused, the first: stdin "
                        "line %lu: %s\n",
                st.refused, st.first_refused, st.first_message);
        rc = 1;
    }
    return rc;
}
