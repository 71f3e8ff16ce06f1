/*
 * mqtt_session.h - what an MQTT client of the bridge sends, and when: the
 * policy both ports share (port/linux/mqtt.c over libmosquitto,
 * port/esp32/main/mqtt_esp.c over esp-mqtt), so that the Linux daemon and
 * the firmware publish the same topics at the same cadence. The messages
 * themselves come from mqtt_topics.h; this module decides which of them go
 * out on one pass over a status snapshot:
 *
 *   - the Home Assistant discovery documents (mqtt.discovery), whenever
 *     the set of entities changes (mqtt_topics_discovery_key) and after
 *     every connect; each document only when its payload changed;
 *   - the on-change topics (data_valid, alarms...) when their payload
 *     differs from the one last sent on this connection;
 *   - the periodic topics every mqtt.interval_ms, and at once when
 *     data_valid just changed (the values follow a recovery immediately);
 *   - a snapshot the bridge loop has not renewed for
 *     MQTT_SESSION_STATUS_OLD_MS is published as stale, whatever it says.
 *
 * No broker, no socket, no clock, no thread: the caller passes the time
 * and a send function. Allocation: the on-change cache (mqtt_topics.h)
 * and the transient lists; mqtt_session_free releases the cache.
 */
#ifndef MQTT_SESSION_H
#define MQTT_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "mqtt_topics.h"
#include "status.h"

/* A snapshot whose sequence number did not move for this long is stale:
 * the bridge loop publishes one at least every second. */
#define MQTT_SESSION_STATUS_OLD_MS 5000u

/* Hands one message to the client. Returns false when the connection is
 * gone (the pass then stops); a message the client refuses on its own
 * (too big...) is the client's to report, and it returns true. */
typedef bool (*mqtt_session_send_fn)(void *ctx, const char *topic, const char *payload,
                                     bool retain);

typedef struct {
    mqtt_topics_cfg_t topics;          /* points into the cfg_t given to configure */
    bool discovery;                    /* mqtt.discovery */
    uint32_t interval_ms;              /* mqtt.interval_ms */
    char avail[MQTT_TOPICS_TOPIC_MAX]; /* "<root>/availability": will, online/offline */
    mqtt_topics_cache_t cache;         /* payloads sent on this connection */
    uint32_t disc_key;                 /* discovery set last sent; 0 = none */
    uint64_t status_seq;               /* hub publication number last seen */
    uint64_t status_changed_ms;        /* when it last moved */
    uint64_t next_periodic_ms;
} mqtt_session_t;

/* What one pass did, for the caller's log. */
typedef struct {
    mqtt_topics_err_t discovery_err; /* the documents could not be built */
    mqtt_topics_err_t status_err;    /* the status topics could not be built */
    size_t discovery_checked;        /* documents compared (0: set unchanged) */
    size_t sent;                     /* messages handed to send */
    bool broken;                     /* send returned false */
} mqtt_session_pass_t;

/*
 * Takes the mqtt.* settings, the battery name (the device's name) and the
 * version for the discovery documents (zero-initialise *s before the first
 * call). cfg and version must stay valid and
 * unchanged while the session is used (the session points into them; keep
 * a copy of your own). Forgets what was sent. now_ms: monotonic time, the
 * snapshot counts as fresh from here. False (the session is then unusable)
 * when cfg or version is NULL or the availability topic does not fit.
 */
bool mqtt_session_configure(mqtt_session_t *s, const cfg_t *cfg, const char *version,
                            uint64_t now_ms);

/* A broker accepted the connection: every topic and document is sent
 * again, the periodic values at the next pass. Publishing "online" to
 * s->avail (retained) is the caller's, so is the will "offline". */
void mqtt_session_connected(mqtt_session_t *s);

/*
 * One pass over the latest snapshot st with hub publication number seq
 * (now_ms monotonic, wall_ms since the epoch for the state JSON's "ts"):
 * sends what is due through send(ctx, ...). Call it every half second or
 * so while connected; it is cheap when nothing is due except building the
 * lists (tens of topics). Returns the pass's outcome.
 */
mqtt_session_pass_t mqtt_session_publish(mqtt_session_t *s, const status_t *st, uint64_t seq,
                                         uint64_t now_ms, uint64_t wall_ms,
                                         mqtt_session_send_fn send, void *ctx);

/* Releases the cache; the session may be configured again. NULL is ok. */
void mqtt_session_free(mqtt_session_t *s);

/* True when a and b agree on every setting the client uses (mqtt.* and
 * victron.battery_name): a configuration change that is false here needs a
 * new connection. */
bool mqtt_session_same_settings(const cfg_t *a, const cfg_t *b);

#endif /* MQTT_SESSION_H */
