/* SPDX-License-Identifier: MIT */
/* sink_mqtt.c — the "mqtt" sink module: every event published to an MQTT
 * broker through libmosquitto, on a topic built from the event.
 *
 * Config: {"host": "127.0.0.1", "port": 1883,
 *          "client_id": "…"          (default: one libmosquitto makes up),
 *          "username": "…", "password": "…",
 *          "keepalive": 30,            seconds
 *          "qos": 1,                   0, 1 or 2
 *          "retain": false,
 *          "topic": "herald/{type}/{room_id}",   placeholders {id} {type} {room_id} {user_id}
 *          "connect_timeout_ms": 3000, "publish_timeout_ms": 10000}
 *
 * Topics: an absent room_id or user_id becomes "-" (every topic of a
 * template has the same levels: "herald/+/-" are the events without a
 * room), and '/', '+' and '#' inside a value become '_' so a value can
 * neither add a level nor act as a wildcard. The payload is herald's
 * native JSON envelope. The session is clean (nothing is queued by the
 * broker for herald itself).
 *
 * Threads. libmosquitto's own network thread (mosquitto_loop_start) keeps
 * the connection: keepalive pings while herald is idle, reconnecting with
 * back-off after a broker restart, reading PUBACK/PUBCOMP. deliver() runs
 * on the sink's thread: it waits (up to connect_timeout_ms) for a
 * connection, publishes the batch, then waits (up to publish_timeout_ms)
 * until every message is acknowledged — PUBACK for QoS 1, PUBCOMP for
 * QoS 2, written to the socket for QoS 0 — and only then reports it
 * handled, so "complete" means the broker has every event. Driving
 * mosquitto_loop() from the sink's thread instead would leave the
 * connection unserviced between batches (no pings: the broker drops an
 * idle herald). The two threads share the batch state under one mutex;
 * the callbacks only record and signal, and deliver() alone calls
 * complete(), once, so there is no race over who reports the batch and
 * destroy() never meets a batch in flight.
 *
 * A broker that disconnects mid-batch fails the batch; the client is then
 * made anew, dropping the messages libmosquitto still held for it, and
 * herald sends the batch again: delivery is at least once (a subscriber
 * may see an event twice after a failure).
 */
#include <errno.h>
#include <jansson.h>
#include <mosquitto.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../common/sink_settings.h"
#include "../common/sink_template.h"
#include "herald/sink.h"

#define UNSAFE_IN_TOPIC "/+#"

typedef struct mqtt_sink {
    const herald_sink_host *host;
    char *hostname, *client_id, *username, *password, *topic;
    int port, keepalive, qos, retain;
    int connect_timeout_ms, publish_timeout_ms;
    struct mosquitto *m;
    int connect_failed; /* sink thread: m's first connect failed at once (see client_new) */
    unsigned long logged_connections; /* sink thread: connections logged */
    pthread_mutex_t mu;
    pthread_cond_t cond;
    /* Guarded by mu (the network thread's callbacks write them). */
    int connected;            /* CONNACK accepted, not lost since */
    unsigned long connections; /* connections so far */
    int lost;                 /* the connection dropped during the batch */
    char last_error[256];
    size_t npending;          /* messages of the batch not acknowledged yet */
    unsigned char pending[65536 / 8], acked[65536 / 8]; /* bit per message id */
} mqtt_sink;

static pthread_mutex_t lib_mu = PTHREAD_MUTEX_INITIALIZER;
static int lib_users;

/* ---- settings ---- */

static const char *const known_keys[] = {"host", "port", "client_id", "username", "password", "keepalive", "qos",
                                         "retain", "topic", "connect_timeout_ms", "publish_timeout_ms", NULL};

static int check_keys(json_t *c, char *err, size_t errlen)
{
    const char *key;
    json_t *v;
    json_object_foreach(c, key, v) {
        int known = 0;
        for (int i = 0; known_keys[i] && !known; i++)
            known = !strcmp(key, known_keys[i]);
        if (!known) {
            snprintf(err, errlen, "unknown setting \"%s\"%s", key,
                     !strcmp(key, "tls") ? " (TLS is not supported yet)" : "");
            return -1;
        }
    }
    return 0;
}

static int check_topic(const char *topic, char *err, size_t errlen)
{
    if (sink_template_check(topic, err, errlen) != 0)
        return -1;
    if (mosquitto_pub_topic_check(topic) != MOSQ_ERR_SUCCESS) {
        snprintf(err, errlen, "\"topic\" \"%.60s\" is not a topic one can publish to (no + or #)", topic);
        return -1;
    }
    return 0;
}

static int parse_config(mqtt_sink *s, const char *config_json, char *err, size_t errlen)
{
    json_error_t je;
    json_t *c = json_loads(config_json, 0, &je);
    json_t *retain = json_object_get(c, "retain");
    s->hostname = strdup("127.0.0.1");
    s->topic = strdup("herald/{type}/{room_id}");
    s->port = 1883, s->keepalive = 30, s->qos = 1;
    s->connect_timeout_ms = 3000, s->publish_timeout_ms = 10000;
    int rc = -1;
    if (!json_is_object(c))
        snprintf(err, errlen, "the config must be a JSON object");
    else if (retain && !json_is_boolean(retain))
        snprintf(err, errlen, "\"retain\" must be true or false");
    else if (!check_keys(c, err, errlen) && !sink_setting_str(c, "host", &s->hostname, err, errlen) &&
             !sink_setting_str(c, "client_id", &s->client_id, err, errlen) &&
             !sink_setting_str(c, "username", &s->username, err, errlen) &&
             !sink_setting_str(c, "password", &s->password, err, errlen) && !sink_setting_str(c, "topic", &s->topic, err, errlen) &&
             !sink_setting_int(c, "port", 1, 65535, &s->port, err, errlen) &&
             !sink_setting_int(c, "keepalive", 5, 65535, &s->keepalive, err, errlen) &&
             !sink_setting_int(c, "qos", 0, 2, &s->qos, err, errlen) &&
             !sink_setting_int(c, "connect_timeout_ms", 1, 600000, &s->connect_timeout_ms, err, errlen) &&
             !sink_setting_int(c, "publish_timeout_ms", 1, 600000, &s->publish_timeout_ms, err, errlen) &&
             !check_topic(s->topic, err, errlen))
        rc = 0;
    if (rc == 0 && s->password && !s->username) {
        snprintf(err, errlen, "\"password\" needs a \"username\"");
        rc = -1;
    }
    s->retain = json_is_true(retain);
    json_decref(c);
    return rc;
}

/* ---- callbacks (libmosquitto's network thread) ---- */

#define BIT(set, mid) ((set)[(unsigned)(mid) >> 3] & (1u << ((unsigned)(mid) & 7)))
#define SET(set, mid) ((set)[(unsigned)(mid) >> 3] |= (unsigned char)(1u << ((unsigned)(mid) & 7)))
#define CLEAR(set, mid) ((set)[(unsigned)(mid) >> 3] &= (unsigned char)~(1u << ((unsigned)(mid) & 7)))

static void on_connect(struct mosquitto *m, void *obj, int rc)
{
    (void)m;
    mqtt_sink *s = obj;
    pthread_mutex_lock(&s->mu);
    s->connected = rc == 0;
    if (rc == 0)
        s->connections++;
    else
        snprintf(s->last_error, sizeof(s->last_error), "the broker refused the connection: %s",
                 mosquitto_connack_string(rc));
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->mu);
}

static void on_disconnect(struct mosquitto *m, void *obj, int rc)
{
    (void)m;
    mqtt_sink *s = obj;
    pthread_mutex_lock(&s->mu);
    if (s->connected)
        snprintf(s->last_error, sizeof(s->last_error), "connection to the broker lost: %s",
                 rc ? mosquitto_strerror(rc) : "closed");
    s->connected = 0;
    s->lost = 1;
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->mu);
}

/* PUBACK (QoS 1), PUBCOMP (QoS 2) or written (QoS 0) for message mid. */
static void on_publish(struct mosquitto *m, void *obj, int mid)
{
    (void)m;
    mqtt_sink *s = obj;
    pthread_mutex_lock(&s->mu);
    if (BIT(s->pending, mid)) {
        CLEAR(s->pending, mid);
        if (--s->npending == 0)
            pthread_cond_broadcast(&s->cond);
    } else
        SET(s->acked, mid); /* before deliver() recorded its id */
    pthread_mutex_unlock(&s->mu);
}

/* ---- the client ---- */

static void client_free(mqtt_sink *s)
{
    if (!s->m)
        return;
    mosquitto_disconnect(s->m);
    mosquitto_loop_stop(s->m, false);
    mosquitto_destroy(s->m);
    s->m = NULL;
    pthread_mutex_lock(&s->mu);
    s->connected = 0;
    pthread_mutex_unlock(&s->mu);
}

/* A new client, connecting in the background; -1 (with a reason) only
 * when libmosquitto refuses the settings. */
static int client_new(mqtt_sink *s, char *err, size_t errlen)
{
    s->m = mosquitto_new(s->client_id, true, s);
    if (!s->m) {
        snprintf(err, errlen, "cannot make an MQTT client%s: %s", s->client_id ? " (check \"client_id\")" : "",
                 strerror(errno));
        return -1;
    }
    mosquitto_connect_callback_set(s->m, on_connect);
    mosquitto_disconnect_callback_set(s->m, on_disconnect);
    mosquitto_publish_callback_set(s->m, on_publish);
    mosquitto_reconnect_delay_set(s->m, 1, 5, true);
    /* libmosquitto keeps 20 QoS>0 messages in flight by default, which
     * turns a batch into round trips of 20; a whole batch may be in
     * flight at once (up to herald's batch cap). */
    mosquitto_int_option(s->m, MOSQ_OPT_SEND_MAXIMUM, 10000);
    if (s->username)
        mosquitto_username_pw_set(s->m, s->username, s->password);
    int rc = mosquitto_connect_async(s->m, s->hostname, s->port, s->keepalive);
    if (rc == MOSQ_ERR_INVAL) {
        snprintf(err, errlen, "libmosquitto refuses host %s port %d", s->hostname, s->port);
        mosquitto_destroy(s->m);
        s->m = NULL;
        return -1;
    }
    /* Any other failure (the broker down, a name not resolving yet):
     * batches fail meanwhile, and the next one makes a new client. The
     * network thread cannot be left to retry: libmosquitto (2.0.11) never
     * connects a client whose first connect failed at once (a refused
     * connection on loopback), so the sink would stay "retrying" with the
     * broker back. A client whose connection is lost later is reconnected
     * by the network thread. */
    s->connect_failed = rc != MOSQ_ERR_SUCCESS;
    if (rc != MOSQ_ERR_SUCCESS) {
        pthread_mutex_lock(&s->mu);
        snprintf(s->last_error, sizeof(s->last_error), "cannot connect to %s:%d: %s", s->hostname, s->port,
                 rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc));
        pthread_mutex_unlock(&s->mu);
    }
    mosquitto_loop_start(s->m);
    return 0;
}

/* ---- one batch ---- */

static struct timespec deadline(int ms)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    t.tv_sec += ms / 1000;
    t.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (t.tv_nsec >= 1000000000L) {
        t.tv_sec++;
        t.tv_nsec -= 1000000000L;
    }
    return t;
}

/* Waits (mu held) for a connection; 0 when connected. */
static int wait_connected(mqtt_sink *s, char *why, size_t len)
{
    struct timespec until = deadline(s->connect_timeout_ms);
    while (!s->connected && pthread_cond_timedwait(&s->cond, &s->mu, &until) != ETIMEDOUT)
        ;
    if (s->connected)
        return 0;
    snprintf(why, len, "not connected to the MQTT broker at %s:%d: %s", s->hostname, s->port,
             s->last_error[0] ? s->last_error : "no answer");
    return -1;
}

/* Publishes one event; records its message id as pending. */
static int publish_one(mqtt_sink *s, const herald_sink_event *ev, char *why, size_t len)
{
    char *topic = sink_template_expand(s->topic, ev, UNSAFE_IN_TOPIC);
    int mid = 0;
    int rc = mosquitto_publish(s->m, &mid, topic, (int)ev->envelope_len, ev->envelope, s->qos, s->retain);
    if (rc != MOSQ_ERR_SUCCESS)
        snprintf(why, len, "publish to %s failed: %s", topic, mosquitto_strerror(rc));
    free(topic);
    if (rc != MOSQ_ERR_SUCCESS)
        return -1;
    pthread_mutex_lock(&s->mu);
    if (BIT(s->acked, mid))
        CLEAR(s->acked, mid);
    else {
        SET(s->pending, mid);
        s->npending++;
    }
    pthread_mutex_unlock(&s->mu);
    return 0;
}

/* Waits (mu held) until every message is acknowledged; 0 when so. */
static int wait_acked(mqtt_sink *s, size_t n, char *why, size_t len)
{
    struct timespec until = deadline(s->publish_timeout_ms);
    while (s->npending && !s->lost && pthread_cond_timedwait(&s->cond, &s->mu, &until) != ETIMEDOUT)
        ;
    if (s->npending == 0)
        return 0;
    if (s->lost)
        snprintf(why, len, "%s, %zu of %zu messages unacknowledged", s->last_error, s->npending, n);
    else
        snprintf(why, len, "%zu of %zu messages unacknowledged after %d ms", s->npending, n, s->publish_timeout_ms);
    return -1;
}

/* Publishes the batch and waits for its acknowledgements; *sent counts
 * the messages handed to libmosquitto. */
static int send_batch(mqtt_sink *s, const herald_sink_batch *b, size_t *sent, char *why, size_t len)
{
    pthread_mutex_lock(&s->mu);
    int rc = wait_connected(s, why, len);
    s->lost = 0;
    s->npending = 0;
    memset(s->pending, 0, sizeof(s->pending));
    memset(s->acked, 0, sizeof(s->acked));
    pthread_mutex_unlock(&s->mu);
    for (*sent = 0; rc == 0 && *sent < b->n; ++*sent)
        rc = publish_one(s, &b->events[*sent], why, len);
    pthread_mutex_lock(&s->mu);
    if (rc == 0)
        rc = wait_acked(s, b->n, why, len);
    unsigned long connections = s->connections;
    pthread_mutex_unlock(&s->mu);
    if (connections > s->logged_connections) {
        s->logged_connections = connections;
        s->host->log(s->host, HERALD_SINK_LOG_INFO, "connected to the MQTT broker at %s:%d", s->hostname, s->port);
    }
    return rc;
}

static void mqtt_deliver(void *instance, const herald_sink_batch *batch)
{
    mqtt_sink *s = instance;
    char why[512] = "";
    size_t sent = 0;
    int rc = s->m || client_new(s, why, sizeof(why)) == 0 ? send_batch(s, batch, &sent, why, sizeof(why)) : -1;
    if (rc != 0 && (sent > 0 || s->connect_failed)) {
        /* Drop what libmosquitto still holds for this batch (it would
         * resend it after reconnecting): herald sends the batch again.
         * A client that could not even start connecting is made anew
         * too, so that it tries again (client_new). */
        client_free(s);
        client_new(s, why + strlen(why), sizeof(why) - strlen(why));
    }
    s->host->complete(s->host, batch, rc, rc ? why : NULL);
}

/* ---- life cycle ---- */

static void mqtt_destroy(void *instance)
{
    mqtt_sink *s = instance;
    client_free(s);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cond);
    free(s->hostname);
    free(s->client_id);
    free(s->username);
    free(s->password);
    free(s->topic);
    free(s);
    pthread_mutex_lock(&lib_mu);
    if (--lib_users == 0)
        mosquitto_lib_cleanup();
    pthread_mutex_unlock(&lib_mu);
}

static void *mqtt_create(const herald_sink_host *host, const char *config_json, char *err, size_t errlen)
{
    pthread_mutex_lock(&lib_mu);
    if (lib_users++ == 0)
        mosquitto_lib_init();
    pthread_mutex_unlock(&lib_mu);
    mqtt_sink *s = calloc(1, sizeof(*s));
    s->host = host;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cond, NULL);
    if (parse_config(s, config_json, err, errlen) != 0 || client_new(s, err, errlen) != 0) {
        mqtt_destroy(s);
        return NULL;
    }
    return s;
}

static const herald_sink_module mqtt_module = {
    .struct_size = sizeof(herald_sink_module),
    .abi_version = HERALD_SINK_ABI_VERSION,
    .name = "mqtt",
    .description = "MQTT publish (libmosquitto), complete once the broker acknowledged every message",
    .create = mqtt_create,
    .deliver = mqtt_deliver,
    .destroy = mqtt_destroy,
};

HERALD_SINK_EXPORT const herald_sink_module *herald_sink_entry(void)
{
    return &mqtt_module;
}
