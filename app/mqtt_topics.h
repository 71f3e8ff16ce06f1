/*
 * mqtt_topics.h - what the bridge publishes over MQTT, as plain data: from
 * the typed status snapshot (status.h) to a list of (topic, payload)
 * pairs, and the Home Assistant discovery documents. No broker, no socket, no
 * clock: the caller passes the time and sends the list (port/linux/mqtt.c).
 * docs/mqtt.md describes the tree.
 *
 * The tree below <root> (mqtt.root_topic):
 *   availability                 "online" / "offline" (retained; last will)
 *   state                        JSON summary (status document key names)
 *   data_valid                   "true" / "false"        (retained, on change)
 *   data_state                   "waiting" / "valid" / "stale" (retained, on change)
 *   voltage current power_w soc_percent soh_percent temperature
 *   temperatures/{external_1,external_2,internal}
 *   cells/{count,min_mv,max_mv,imbalance_mv}  cells/1 .. cells/N (mV)
 *   limits/{cvl_v,ccl_a,dcl_a,dvl_v}  cvl/state  bms/status
 *   energy/{charged_kwh,discharged_kwh}
 *   gx/keepalive_ok              "true" / "false"
 *   alarms                       JSON {worst, active[], conditions{}} (retained, on change)
 *   alarms/<condition>           "ok" / "warning" / "alarm" (retained, on change)
 *   packs/<n>/...                each pack of status_t.packs[] (n 1-based, also
 *                                with one pack): state (JSON), name, data_valid,
 *                                bank_state (online/joining/silent/offline; "stale"
 *                                when the snapshot is old), member, blocks_charge,
 *                                blocks_discharge, bounds_ccl, bounds_dcl (retained, on
 *                                change); its values under the battery's names
 *                                (voltage, cells/N, limits/ccl_a...) plus
 *                                limits/share_{charge,discharge}_percent, capacity_ah
 *   bank                         JSON: bounds, warnings, module counts (2+ packs;
 *                                retained, on change)
 *
 * Stale data is never presented as fresh: while data_valid is false the
 * per-value topics are not published at all and the state JSON carries
 * null values; Home Assistant entities are then unavailable (their
 * availability includes <root>/data_valid).
 *
 * Allocation: lists own malloc'd strings; mqtt_topics_list_free releases
 * them. Every function is reentrant.
 */
#ifndef MQTT_TOPICS_H
#define MQTT_TOPICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "status.h"

typedef enum {
    MQTT_TOPICS_OK = 0,
    MQTT_TOPICS_ERR_ARG,   /* NULL argument or unusable configuration */
    MQTT_TOPICS_ERR_NOMEM, /* out of memory (the list keeps what it had) */
} mqtt_topics_err_t;

/* Static English text; never NULL. */
const char *mqtt_topics_strerror(mqtt_topics_err_t e);

typedef enum {
    MQTT_TOPICS_PERIODIC = 0, /* send every mqtt.interval_ms */
    MQTT_TOPICS_ON_CHANGE,    /* send when the payload differs from the last sent */
} mqtt_topics_when_t;

typedef struct {
    char *topic;   /* malloc'd, full topic */
    char *payload; /* malloc'd, NUL-terminated text */
    bool retain;
    mqtt_topics_when_t when;
} mqtt_topics_msg_t;

typedef struct {
    mqtt_topics_msg_t *items;
    size_t count;
    size_t cap;
} mqtt_topics_list_t;

typedef struct {
    const char *root;             /* mqtt.root_topic, e.g. "victron/tinybms" */
    const char *discovery_prefix; /* e.g. "homeassistant" */
    const char *node_id;          /* any text; sanitised to [A-Za-z0-9_-] */
    const char *device_name;      /* Home Assistant device name */
    const char *sw_version;       /* bridge version */
    bool retain;                  /* mqtt.retain, for the periodic values */
} mqtt_topics_cfg_t;

#define MQTT_TOPICS_TOPIC_MAX 256u

/* Frees every string and the array; the list is then empty and reusable. */
void mqtt_topics_list_free(mqtt_topics_list_t *l);

/* "<root>/availability" into out (cap bytes). False if it does not fit. */
bool mqtt_topics_availability(const mqtt_topics_cfg_t *cfg, char *out, size_t cap);

/*
 * Appends the messages for one status snapshot to *out: state, data_valid,
 * data_state, gx/keepalive_ok, the values (only while data is valid and
 * only those that are not null), alarms and alarms/<condition>.
 * status_fresh false says the snapshot itself is old (the loop stopped
 * publishing): it is then treated as not valid whatever it says.
 * wall_ms goes into the state JSON as "ts".
 * Errors: ARG (NULL or unusable cfg), NOMEM.
 */
mqtt_topics_err_t mqtt_topics_from_status(const mqtt_topics_cfg_t *cfg, const status_t *st,
                                          bool status_fresh, uint64_t wall_ms,
                                          mqtt_topics_list_t *out);

/*
 * Appends the Home Assistant discovery documents (retained JSON) for the
 * entities this status snapshot can fill: sensors for the values that are
 * present, one per cell, binary sensors for every alarm condition the
 * bridge supports, the overall alarm, data valid and the GX link.
 * Topics: <prefix>/sensor/<node_id>/<object_id>/config and
 * <prefix>/binary_sensor/<node_id>/<object_id>/config. With two packs or
 * more, each pack is a device of its own (identifiers
 * tinybms_victron_bridge_<node_id>_pack<n>, via_device the bridge's) with
 * object ids pack<n>_<object_id>; with one pack the bridge's entities are
 * that pack's and no pack device is announced. Errors as above.
 */
mqtt_topics_err_t mqtt_topics_discovery(const mqtt_topics_cfg_t *cfg, const status_t *st,
                                        mqtt_topics_list_t *out);

/* A number that changes when the set of discovery documents would change
 * (cells, alarm conditions, values present, BMS hardware; with 2+ packs also
 * each pack's name, firmware, cells and optional values); 0 for NULL. */
uint32_t mqtt_topics_discovery_key(const status_t *st);

/* ---- "on change" bookkeeping ---- */

/* The payload last sent per topic (owned strings). Zero-initialise. */
typedef struct {
    mqtt_topics_list_t sent;
} mqtt_topics_cache_t;

/* True when topic was never recorded or its payload differs, and then
 * records payload; false when unchanged (or out of memory: then the
 * message is reported as changed next time too). */
bool mqtt_topics_cache_changed(mqtt_topics_cache_t *c, const char *topic, const char *payload);
/* Forgets everything (after a reconnect every topic is sent again). */
void mqtt_topics_cache_clear(mqtt_topics_cache_t *c);

#endif /* MQTT_TOPICS_H */
