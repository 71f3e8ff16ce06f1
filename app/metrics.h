/*
 * metrics.h - the Prometheus text exposition (format 0.0.4) of GET /metrics,
 * rendered from the typed status snapshot (status.h) plus figures only the
 * platform knows (process, event loop, MQTT, WebSocket, logger).
 *
 * Names carry their unit (tinybms_pack_voltage_volts), counters end in
 * _total, every family has one # HELP and one # TYPE line. Battery values
 * are exposed only while the data is valid (tinybms_data_valid 1): a scrape
 * during stale data shows a gap, never an old value as a fresh one.
 * Each pack of status_t.packs[] has its own families, tinybms_bank_pack_*,
 * labelled pack="N" (1-based) and name="..."; its readings only while its
 * own data is valid. The bank's figures (tinybms_bank_modules_*, warnings,
 * what bounds CCL/DCL) appear with two packs or more.
 * docs/mqtt.md lists every metric.
 */
#ifndef METRICS_H
#define METRICS_H

#include <stdbool.h>
#include <stdint.h>

#include "status.h"

/* Figures from outside the status snapshot; a group with have_* false is
 * left out. */
typedef struct {
    bool have_process;
    uint64_t rss_bytes;
    uint64_t open_fds;
    double start_time_s; /* wall clock, seconds since the epoch */

    bool have_loop;
    uint64_t loop_iterations;
    double loop_lag_last_s; /* how late the loop woke against its deadline */
    double loop_lag_max_s;
    double loop_lag_avg_s;
    double loop_busy_max_s; /* longest iteration (work between two polls) */
    uint64_t loop_stalls;   /* watchdog: times the loop stopped for too long */

    bool have_mqtt;
    bool mqtt_connected;
    uint64_t mqtt_published;
    uint64_t mqtt_publish_errors;
    uint64_t mqtt_connects;
    uint64_t mqtt_connect_failures;
    uint64_t mqtt_disconnects;

    bool have_ws;
    uint64_t ws_clients;
    uint64_t ws_sent;
    uint64_t ws_dropped;

    bool have_log;
    uint64_t log_lines[4]; /* ERROR, WARNING, INFO, DEBUG */
    uint64_t log_suppressed;
} metrics_extra_t;

/*
 * The exposition text for st (may be NULL: only the extra figures and
 * tinybms_up) and extra (may be NULL). Returns a malloc'd NUL-terminated
 * string the caller frees, or NULL when memory runs out. Cost: one pass
 * over the snapshot, a few kB of text.
 */
char *metrics_text(const status_t *st, const metrics_extra_t *extra);

#endif /* METRICS_H */
