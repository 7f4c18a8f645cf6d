/* SPDX-License-Identifier: MIT */
/* subscribe.c — example: a subscriber on its own thread that survives
 * server restarts and network drops, printing each event exactly once.
 *
 * The token is a user token (`herald-cli token --user u1 --rooms r1
 * --secret S`, herald started with --jwt-secret S) or a peer token. The
 * subscriber (herald_subscriber_start_thread) reconnects with back-off and
 * resumes after the last event it delivered; the main thread just waits
 * for Ctrl-C, then prints where to resume next time
 * (herald_subscriber_last_id).
 *
 *   HERALD_SERVER=http://127.0.0.1:5002 ./example_subscribe "$TOKEN" [SINCE]
 */
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <herald/client.h>

static atomic_int done; /* set by the signal handler or the subscriber thread */

static void on_signal(int sig)
{
    (void)sig;
    atomic_store(&done, 1);
}

static void on_ready(uint64_t resumed_after, void *user)
{
    (void)user;
    if (resumed_after)
        fprintf(stderr, "resumed after event %llu\n", (unsigned long long)resumed_after);
    else
        fprintf(stderr, "subscribed; Ctrl-C to stop\n");
}

static void on_event(const herald_event *ev, void *user)
{
    (void)user;
    printf("#%llu %s data=%s\n", (unsigned long long)ev->id, ev->type, ev->data);
    fflush(stdout);
}

static void on_resume_failed(const char *message, uint64_t first_id, void *user)
{
    (void)user;
    fprintf(stderr, "some events were lost (%s); history starts at %llu\n", message,
            (unsigned long long)first_id);
}

static void on_reconnect(unsigned attempt, int code, const char *reason, void *user)
{
    (void)user;
    fprintf(stderr, "connection lost (%d %s), reconnecting (attempt %u)\n", code, reason,
            attempt);
}

static void on_close(int code, const char *reason, void *user)
{
    (void)user;
    fprintf(stderr, "gave up: %d %s\n", code, reason);
    atomic_store(&done, 1);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s TOKEN [SINCE]\n", argv[0]);
        return 2;
    }
    char err[256];
    herald_subscriber_options o = {
        .server = getenv("HERALD_SERVER"),
        .token = argv[1],
        .since = argc > 2 ? strtoull(argv[2], NULL, 10) : 0,
        .reconnect = 1,
        .on_ready = on_ready,
        .on_event = on_event,
        .on_resume_failed = on_resume_failed,
        .on_reconnect = on_reconnect,
        .on_close = on_close,
    };
    herald_subscriber *sub = herald_subscriber_new(&o, err, sizeof(err));
    if (!sub) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    int rc = herald_subscriber_start_thread(sub);
    if (rc != 0) {
        fprintf(stderr, "start: %s\n", herald_strerror(rc));
        herald_subscriber_free(sub);
        return 1;
    }
    while (!atomic_load(&done))
        usleep(100 * 1000);
    fprintf(stderr, "next time: %s %s %llu\n", argv[0], "TOKEN",
            (unsigned long long)herald_subscriber_last_id(sub));
    herald_subscriber_free(sub); /* stops (close 1000) and joins */
    return 0;
}
