/* SPDX-License-Identifier: MIT */
/* config.h — server settings from command-line flags and HERALD_* variables.
 *
 * Every flag --foo-bar has an environment twin HERALD_FOO_BAR; a flag given
 * on the command line wins over the environment, which wins over the
 * default.
 */
#ifndef HV_CONFIG_H
#define HV_CONFIG_H

#include <stddef.h>
#include <stdint.h>

/* Shortest credentials herald takes on a non-loopback address. */
#define HV_TOKEN_MIN 16
#define HV_JWT_SECRET_MIN 32

typedef struct hv_config {
    char listen_host[256];
    int listen_port;
    char token[512];
    char data_dir[1024];
    char engine[16];               /* store engine: sqlite or redis */
    char redis_url[512];           /* redis engine: redis://[[user]:password@]host[:port][/db] */
    char redis_prefix[128];        /* redis engine: key prefix */
    char node_id[128];             /* redis engine: this node's name ("" = host:port) */
    double node_timeout_s;         /* redis engine: a node silent this long is dead */
    double catch_up_interval_s;    /* redis engine: at most one catch-up for unknown tokens per this */
    size_t max_token_lookups;      /* redis engine: unknown tokens waiting for a catch-up at once */
    int log_level;
    double metrics_interval_s;     /* MetricsReport period */
    char fishjam_compat[16];       /* "current", or "0.25": no ServerMessage member past 29 */
    char peer_url_scheme[8];       /* "", "ws" or "wss": the scheme of peer_websocket_url */
    int threads;                   /* I/O loops; 0 = one per core */
    size_t max_body;               /* request body limit (bytes, after gunzip too) */
    size_t max_header;             /* request line + headers limit */
    double header_timeout_s;       /* slowloris guard */
    double idle_timeout_s;         /* keep-alive idle close */
    size_t max_ws_message;         /* close 1009 beyond */
    size_t publish_window;         /* unanswered frames per publishing socket before it is not read */
    /* What one end user may send (app-client sockets: the peer socket, the
     * access socket; issue 13): */
    size_t max_peer_message;       /* largest message; close 1009 beyond */
    size_t max_metadata;           /* largest peer metadata (JSON text); refused beyond */
    double peer_msg_rate;          /* messages per second per socket; 0 = no limit */
    size_t peer_msg_burst;         /* messages at once before the rate applies */
    size_t max_outbound;           /* slow-consumer bound per connection (bytes) */
    size_t outbound_pause;         /* unsent bytes above which a connection is not read (0 = never) */
    double send_timeout_s;         /* paused with no write progress this long: closed (0 = never) */
    double ping_interval_s;        /* WebSocket ping period; a pong must come within it */
    uint64_t retention_events;     /* keep at most this many events (0 = no limit) */
    double retention_age_s;        /* drop events older than this (0 = no limit) */
    double idempotency_window_s;   /* how long a publish's idempotency key is remembered */
    int sync_full;                 /* fsync each group commit */
    double sqlite_busy_timeout_s;  /* how long a commit waits for SQLite's write lock */
    int open_metrics;              /* /metrics without token */
    char jwt_secret[512];          /* HS256 secret of user tokens; "" = user tokens off */
    char jwt_audience[256];        /* required "aud" of user tokens; "" = not checked */
    int jwt_leeway_s;              /* clock skew allowed on a user token's exp and nbf */
    size_t max_connections;        /* client connections; 0 = no limit; default from RLIMIT_NOFILE */
    size_t max_unauthenticated;    /* connections not yet authenticated; default half the above */
    size_t max_unauthenticated_per_address; /* the same from one address (IPv6: /64) */
    double auth_timeout_s;         /* a WebSocket must authenticate within this */
    size_t auth_fail_limit;        /* failed authentications from one address per window; 0 = no back-off */
    double auth_fail_window_s;     /* that window, from the address's first failure */
    size_t auth_fail_addresses;    /* addresses tracked at most (core/authfail.h) */
    size_t max_connections_per_user; /* app-client connections of one user; 0 = no limit */
    size_t max_resumes_per_address;  /* resumes replaying history at once from one address; 0 = no limit */
    char allowed_origins[1024];    /* browser Origins served besides same-origin; "*" = any */
    /* webhooks */
    char webhook_retry_schedule[256]; /* seconds between attempts, comma-separated */
    double webhook_timeout_s;         /* whole request */
    double webhook_connect_timeout_s;
    int webhook_max_in_flight;        /* per endpoint */
    size_t webhook_window;            /* pending rows in memory per endpoint */
    double webhook_disable_after_s;   /* failing this long disables an endpoint */
    char webhook_deny[1024];          /* CIDRs never called (SSRF guard) */
    char webhook_allow[1024];         /* if set, only these CIDRs are called */
    size_t webhook_response_cap;      /* bytes of a response body kept */
    char room_webhook_secret[512];    /* key of x-fishjam-signature-256 on room webhooks; "" = no header */
    int webhook_breaker_threshold;    /* failed requests in a row that pause an endpoint; 0 = never */
    double webhook_breaker_probe_min_s; /* first wait before a probe of a paused endpoint */
    double webhook_breaker_probe_max_s; /* the doubling of that wait stops here */
    double webhook_park_after_s;      /* a delivery waiting longer lets go of its event in memory */
    /* config file and sink modules (deliver/sinks.c) */
    char config_path[1024];           /* --config: JSON file of settings and "sinks" */
    char modules_dir[1024];           /* where sink modules are looked for; "" = default */
    /* Janus ingest (api/janus.c, ingest/janus.c) */
    char janus_path[256];             /* POST path of the sample event handler */
    char janus_room_from[16];         /* none, opaque_id or session (main.c checks) */
    char janus_room_prefix[128];      /* put before the room id taken from an event */
    size_t janus_dedup;               /* recent Janus event digests remembered */
} hv_config;

/* Fills cfg from defaults, environment and argv. Returns 0 to run, 1 when
 * --help or --version was printed (exit 0), -1 on a bad setting (message
 * already printed to stderr; exit 2). */
int hv_config_load(hv_config *cfg, int argc, char **argv);

/* 1 when the host is a loopback address or "localhost". */
int hv_config_is_loopback(const char *host);

/* 1 with the development default: the token 'development' and a loopback
 * listen address. Webhooks may then reach loopback addresses, and only
 * requests naming a loopback Host are served (issue 13, defects 9, 10). */
int hv_config_is_development(const hv_config *c);

#endif
