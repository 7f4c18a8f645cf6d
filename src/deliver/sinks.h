/* SPDX-License-Identifier: MIT */
/* sinks.h — the host of sink modules (herald/sink.h): loading, one thread
 * per sink, batching, retries, durable positions.
 *
 * A sink does not get events pushed to it by the hub. It reads the event
 * log: the hub only tells every sink the newest committed id, and each
 * sink's thread pages through the store from its own position, filters,
 * batches, hands the batch to its module and, once the module reports the
 * batch handled, stores its new position (a state record committed through
 * the hub). So a sink can never slow fan-out or ingest, a stopped or failing
 * sink simply falls behind, and after a restart it resumes where it
 * stopped. A batch is retried with exponential back-off until it succeeds;
 * a sink failing for crash_after_s is marked crashed (herald emits
 * component.crashed once) and keeps retrying at the slowest pace, so
 * nothing is lost when its peer comes back.
 */
#ifndef HV_SINKS_H
#define HV_SINKS_H

#include <stdint.h>

typedef struct hv_sinks hv_sinks;
typedef struct hv_server hv_server;

/* Reads the sinks from the config file (cfg.config_path; no file: no
 * sinks), loads their modules and stored positions. Call before the hub
 * starts (it reads state records). Returns NULL only when the config file
 * cannot be read or is invalid (logged); a module that fails to load is
 * logged, shown as "failed" and skipped. */
hv_sinks *hv_sinks_new(hv_server *srv);
/* Starts each loaded sink's thread (needs the hub: positions and
 * component.crashed go through it). */
void hv_sinks_start(hv_sinks *s);
/* Hub thread, after each commit: the newest committed event id. Safe
 * before start and after stop. */
void hv_sinks_notify(hv_sinks *s, uint64_t last_id);
/* Stops every thread (an in-flight batch is abandoned; its events are
 * delivered again next time) and destroys the instances. */
void hv_sinks_stop(hv_sinks *s);
void hv_sinks_free(hv_sinks *s);

/* {"sinks":[{"name","module","description","state","position",
 * "last_event_id","lag","batches","events","failures","attempt",
 * "last_error","events_filter"}]}: malloc'd JSON text. Any thread. */
char *hv_sinks_status_json(hv_sinks *s);
/* Prometheus lines (herald_sink_*), malloc'd text. Any thread. */
char *hv_sinks_metrics_text(hv_sinks *s);

#endif
