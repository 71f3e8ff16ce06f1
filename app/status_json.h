/*
 * status_json.h - the status document of GET /api/status and the WebSocket
 * push, rendered from the typed snapshot (status.h). Field names follow the
 * seed README's API (voltage, current, soc_percent, ..., stats.uart,
 * stats.can, stats.cvl); see docs/api.md for every field.
 *
 * With several packs the document also has "packs" (each pack's own
 * values, state in the bank, limits and share, UART, BMS) and "bank" (what
 * bounds the limits, warnings, 0x372 counts, capacities); with one pack it
 * has neither and is what it always was.
 *
 * Values are never presented as fresh when they are not: `data_valid` is
 * false unless the bridge is sending frames on data younger than
 * bms_timeout_ms, and the battery values are null before the first read.
 */
#ifndef STATUS_JSON_H
#define STATUS_JSON_H

#include <cjson/cJSON.h>

#include "status.h"

/* The document as a NUL-terminated malloc'd string (caller frees), or NULL
 * when st is NULL or memory runs out. */
char *status_json(const status_t *st);

/* Parts of the document as new cJSON objects (caller deletes), for other
 * documents that embed them (MQTT "alarms", the diagnostics' modules);
 * NULL when st is NULL or memory runs out. */
cJSON *status_json_alarms(const status_t *st);       /* "alarms" */
cJSON *status_json_uart(const status_t *st);         /* "stats.uart" */
cJSON *status_json_can(const status_t *st);          /* "stats.can" */
cJSON *status_json_cvl(const status_t *st);          /* "stats.cvl" */
cJSON *status_json_bridge_stats(const status_t *st); /* "stats.bridge" */
cJSON *status_json_packs(const status_t *st);        /* "packs" (an array) */
cJSON *status_json_bank(const status_t *st);         /* "bank" */

/*
 * The seed's ".uart" object of the diagnostics document (seed README
 * "Dépannage", seed-system.md 5.2), added to root as "uart", from uart =
 * status_json_uart()'s object (NULL before the first status: every figure
 * null): polls, success, errors, timeouts, crc_errors, retry_count
 * (= retries), latency_avg_ms, latency_last_ms, latency_max_ms, open,
 * device, then interval_ms_current = poll_interval_ms. docs/api.md maps the
 * names. Both ports' GET /api/diagnostics use it: Linux (port/linux/diag.c)
 * and the ESP32 firmware (fw_diag.c), so the two documents cannot drift.
 */
void status_json_add_seed_uart(cJSON *root, const cJSON *uart, uint32_t poll_interval_ms);

/*
 * The part of GET /api/diagnostics both ports take from the status st
 * (NULL before the first: every value null): root's "data" (data_valid,
 * data_state, data_age_ms), "modules" with uart, can, bridge and cvl, and
 * the seed's "uart" (status_json_add_seed_uart). Returns "modules", where
 * the port adds its own (mqtt, log), or NULL when out of memory.
 */
cJSON *status_json_add_diagnostics(cJSON *root, const status_t *st, uint32_t poll_interval_ms);

#endif /* STATUS_JSON_H */
