/*
 * mqtt.h - the MQTT publisher (libmosquitto): battery values, alarms on
 * change, availability with a last will, Home Assistant discovery. The
 * topics come from app/mqtt_topics.h; docs/mqtt.md describes them.
 *
 * Threading: the client runs in a thread of its own and reads the status
 * document the event loop publishes in the hub (hub_get), exactly as the
 * HTTP server does. The event loop never calls into libmosquitto, so a
 * slow DNS answer, a TLS handshake, a broker that is gone or a full socket
 * cannot delay a CAN frame. (libmosquitto 2.0's "async" connect still
 * resolves the host name with a blocking getaddrinfo(), and its TLS
 * handshake only completes inside mosquitto_loop(), so the client cannot
 * live in the bridge's poll() loop without stalling it.)
 *
 * Connection: mosquitto_connect_async, then mosquitto_loop() with a short
 * timeout; a failed or lost connection is retried after 1 s, doubling up to
 * 60 s (back to 1 s once a broker accepts the connection). A connection
 * attempt that has no CONNACK after 10 s is abandoned.
 */
#ifndef MQTT_H
#define MQTT_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "hub.h"

typedef struct mqtt mqtt_t;

typedef struct {
    bool enabled;
    bool connected;
    uint64_t published;        /* messages handed to libmosquitto */
    uint64_t publish_errors;   /* messages it refused */
    uint64_t connects;         /* CONNACK accepted */
    uint64_t connect_failures; /* attempts that failed or timed out */
    uint64_t disconnects;      /* established connections lost */
    uint32_t backoff_ms;       /* delay before the next attempt */
    uint32_t connect_call_max_us; /* longest mosquitto_connect_async call (DNS is in it) */
    char broker[CFG_PATH_LEN + 8u]; /* "host:port" */
    char last_error[160];
} mqtt_stats_t;

/* Starts the client thread, idle until mqtt_configure (NULL when out of
 * memory or the thread cannot start; logged). version goes into the
 * discovery documents. */
mqtt_t *mqtt_create(hub_t *hub, const char *version);

/* Hands a configuration to the client thread, which (re)connects when
 * mqtt.enabled and an MQTT setting or the battery name changed, and says
 * goodbye to its broker when disabled. Never blocks beyond a mutex: the
 * event loop calls it at start and after each configuration change. */
void mqtt_configure(mqtt_t *m, const cfg_t *cfg);

/* Thread-safe copy of the counters. */
void mqtt_get_stats(mqtt_t *m, mqtt_stats_t *out);

/* Publishes "offline", disconnects, joins the thread (up to about 1.2 s),
 * frees. NULL is ok. */
void mqtt_destroy(mqtt_t *m);

#endif /* MQTT_H */
