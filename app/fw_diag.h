/*
 * fw_diag.h - the ESP32 firmware's health as documents: the diagnostics
 * of GET /api/diagnostics and the figures it adds to the Prometheus text
 * of GET /metrics. The firmware gathers plain numbers (heap, task stacks,
 * reset reason, loop turns, task watchdog, TWAI, flash) into one
 * fw_diag_input_t; everything about their shape lives here, where the host
 * tests see it. No ESP-IDF header, no state, no file statics.
 *
 * The document keeps the Linux daemon's names where the meaning is the
 * same (docs/api.md "GET /api/diagnostics": version, uptime_ms, loop,
 * heap_free, heap_free_min, watchdog, uart, data, modules, last_errors),
 * so a script written against one works against the other; what only the
 * chip has comes beside them: heap_largest_free_block, reset_reason,
 * tasks, twai, storage, bridge, energy.
 */
#ifndef FW_DIAG_H
#define FW_DIAG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "metrics.h"
#include "status.h"

#define FW_DIAG_TASKS_MAX    4u
#define FW_DIAG_PROBLEMS_MAX 10u /* LOG_PROBLEM_LINES */

/* One FreeRTOS task's stack: its size and the least it ever had free
 * (uxTaskGetStackHighWaterMark, bytes on ESP-IDF). */
typedef struct {
    const char *name; /* static */
    uint32_t stack_bytes;
    uint32_t stack_free_min_bytes;
} fw_diag_task_t;

/* One recent ERROR or WARNING line. */
typedef struct {
    uint64_t t_ms;     /* wall clock */
    const char *level; /* "ERROR", "WARNING" */
    const char *text;
} fw_diag_line_t;

/* What the firmware knows of itself; strings may be NULL (shown as null,
 * or "" where the Linux document has a string). Nothing is kept. */
typedef struct {
    const char *version;     /* TBVB_VERSION */
    const char *build;       /* build date and time */
    const char *target;      /* chip, "ESP32-C3" */
    const char *idf_version; /* "v6.0.2" */
    uint64_t uptime_ms;
    const char *reset_reason; /* why the chip started: "power-on", "task watchdog"... */

    struct {
        uint32_t free_bytes;          /* esp_get_free_heap_size */
        uint32_t free_min_bytes;      /* esp_get_minimum_free_heap_size */
        uint32_t largest_block_bytes; /* heap_caps_get_largest_free_block (8-bit) */
    } heap;

    size_t tasks_n;
    fw_diag_task_t tasks[FW_DIAG_TASKS_MAX];

    struct {
        uint64_t iterations;
        uint64_t lag_last_us, lag_max_us, lag_sum_us, lag_samples; /* late wake-ups */
        uint64_t busy_last_us, busy_max_us;                        /* work between two waits */
    } loop;

    struct {
        bool enabled;        /* advanced.enable_watchdog: a stall resets the chip */
        bool subscribed;     /* the bridge task is watched by the task watchdog */
        uint32_t timeout_ms; /* advanced.watchdog_timeout_s x 1000 */
        uint64_t since_feed_ms;
        uint64_t max_gap_us; /* longest time between two feeds */
    } watchdog;

    struct {
        bool running;            /* false: stopped, halt_reason says why */
        const char *halt_reason; /* NULL while running */
    } bridge;

    struct {
        bool mounted;
        uint64_t total_bytes, used_bytes;
    } storage;

    struct {
        bool loopback;
        uint32_t bus_errors;     /* error events of the controller */
        uint32_t rx_queue_drops; /* frames lost because the task's queue was full */
        uint32_t tx_queue_drops; /* frames not queued (queue full, bus-off) */
        uint32_t recoveries;     /* bus-off recoveries started */
    } twai;

    struct {
        uint64_t saved, failed; /* energy.json saves */
    } energy;

    uint32_t poll_interval_ms; /* tinybms.poll_interval_ms (the seed's interval_ms_current) */

    struct {
        const char *level; /* "INFO" */
        uint64_t lines[4]; /* ERROR, WARNING, INFO, DEBUG */
        uint64_t suppressed, file_rotations, file_errors, file_dropped;
        bool file_open;
    } log;

    size_t problems_n;
    fw_diag_line_t problems[FW_DIAG_PROBLEMS_MAX]; /* oldest first */

    const status_t *status; /* the latest status snapshot; NULL before the first */
} fw_diag_input_t;

/*
 * The diagnostics document as a malloc'd NUL-terminated string (caller
 * frees), or NULL when in is NULL or memory runs out. last_errors lists the
 * problems newest first. Cost: a few hundred cJSON nodes, about 3 kB text.
 */
char *fw_diag_json(const fw_diag_input_t *in);

/*
 * GET /metrics: metrics_text(in->status, extra) followed by the chip's
 * families: tinybms_heap_free_bytes, tinybms_heap_free_min_bytes,
 * tinybms_heap_largest_free_block_bytes, tinybms_task_stack_free_min_bytes
 * and tinybms_task_stack_bytes {task="..."}, tinybms_reset_reason_info
 * {reason="..."} 1, tinybms_twai_bus_errors_total,
 * tinybms_twai_bus_off_recoveries_total, tinybms_storage_used_bytes and
 * tinybms_storage_total_bytes (while mounted). malloc'd (caller frees) or
 * NULL when in is NULL or memory runs out.
 */
char *fw_diag_metrics(const fw_diag_input_t *in, const metrics_extra_t *extra);

#endif /* FW_DIAG_H */
