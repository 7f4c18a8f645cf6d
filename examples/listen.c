/* SPDX-License-Identifier: MIT */
/* listen.c — example: print the server's notifications until Ctrl-C.
 *
 * Runs the notifier on a thread of its own (herald_notifier_start_thread),
 * waits until it is authenticated and subscribed, then prints each event's
 * type, room and data. The main thread sleeps in sigwait(): Ctrl-C, or
 * the notifier's on_close (which sends the process SIGUSR1), wakes it.
 *
 *   HERALD_SERVER=http://127.0.0.1:5002 HERALD_TOKEN=development ./example_listen
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <herald/client.h>

static void on_event(const herald_event *ev, void *user)
{
    (void)user;
    printf("#%llu %s room=%s data=%s\n", (unsigned long long)ev->id, ev->type,
           ev->room_id ? ev->room_id : "-", ev->data);
    fflush(stdout);
}

static void on_close(int code, const char *reason, void *user)
{
    (void)user;
    fprintf(stderr, "closed: %d %s\n", code, reason);
    kill(getpid(), SIGUSR1); /* wake main */
}

int main(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &set, NULL); /* the notifier thread inherits this */

    char err[256];
    herald_notifier_options opts = {
        .server = getenv("HERALD_SERVER"),
        .token = getenv("HERALD_TOKEN"),
        .subscriptions = HERALD_SUBSCRIBE_SERVER_NOTIFICATIONS,
        .on_server_notification = on_event,
        .on_close = on_close,
    };
    herald_notifier *n = herald_notifier_new(&opts, err, sizeof(err));
    if (!n) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    if (herald_notifier_start_thread(n) != 0 || herald_notifier_wait_ready(n, 5000) != 0) {
        fprintf(stderr, "could not connect and subscribe\n");
        herald_notifier_free(n);
        return 1;
    }
    fprintf(stderr, "listening; Ctrl-C to stop\n");
    int sig = 0;
    sigwait(&set, &sig);
    herald_notifier_free(n); /* closes with 1000 and joins the thread */
    return sig == SIGUSR1 ? 1 : 0;
}
