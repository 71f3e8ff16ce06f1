/*
 * The firmware's health: gathers what ESP-IDF knows (heap, the bridge
 * task's stack, reset reason, flash use) and what the bridge task measured
 * (fw_health_t) into app/fw_diag.h's input, and publishes the diagnostics
 * document and the metrics text into the hub, every FW_DIAG_PERIOD_US.
 * The metrics follow the same period as the diagnostics (the Linux daemon
 * renders them each second): a Prometheus scrape is rarely more often, and
 * a few kB of text less per second is heap churn an ESP32 does not need.
 */
#include <string.h>
#include <time.h>

#include "esp_heap_caps.h"
#include "esp_idf_version.h"
#include "esp_system.h"
#include "freertos/FreeRTOS.h"
#include "freertos/task.h"

#include "esp32_board.h"
#include "fw_port.h"
#include "log.h"

/* Below this the bridge task's stack is near its end: one warning. */
#define STACK_LOW_BYTES 1024u

/* Static: a few kB, built once every 2 s by the bridge task only. */
static fw_diag_input_t in;
static log_entry_t problems[LOG_PROBLEM_LINES];
static uint64_t next_us;
static bool warned_stack;

const char *fw_reset_reason(void)
{
    switch (esp_reset_reason()) {
    case ESP_RST_POWERON:
        return "power-on";
    case ESP_RST_EXT:
        return "external pin";
    case ESP_RST_SW:
        return "software restart";
    case ESP_RST_PANIC:
        return "panic";
    case ESP_RST_INT_WDT:
        return "interrupt watchdog";
    case ESP_RST_TASK_WDT:
        return "task watchdog";
    case ESP_RST_WDT:
        return "other watchdog";
    case ESP_RST_DEEPSLEEP:
        return "deep sleep wake-up";
    case ESP_RST_BROWNOUT:
        return "brownout";
    case ESP_RST_SDIO:
        return "SDIO";
    case ESP_RST_USB:
        return "USB";
    case ESP_RST_JTAG:
        return "JTAG";
    case ESP_RST_EFUSE:
        return "eFuse error";
    case ESP_RST_PWR_GLITCH:
        return "power glitch";
    case ESP_RST_CPU_LOCKUP:
        return "CPU lock-up";
    case ESP_RST_UNKNOWN:
    default:
        return "unknown";
    }
}

bool fw_reset_abnormal(void)
{
    switch (esp_reset_reason()) {
    case ESP_RST_PANIC:
    case ESP_RST_INT_WDT:
    case ESP_RST_TASK_WDT:
    case ESP_RST_WDT:
    case ESP_RST_BROWNOUT:
    case ESP_RST_PWR_GLITCH:
    case ESP_RST_CPU_LOCKUP:
    case ESP_RST_EFUSE:
        return true;
    default:
        return false;
    }
}

static const char *target_label(void)
{
    board_target_t t;
    return board_target_from_name(CONFIG_IDF_TARGET, &t) ? board_target_label(t)
                                                         : CONFIG_IDF_TARGET;
}

static void gather_chip(const fw_health_t *h)
{
    in.version = h->version;
    in.build = __DATE__ " " __TIME__;
    in.target = target_label();
    in.idf_version = esp_get_idf_version();
    in.reset_reason = fw_reset_reason();
    in.heap.free_bytes = esp_get_free_heap_size();
    in.heap.free_min_bytes = esp_get_minimum_free_heap_size();
    in.heap.largest_block_bytes = (uint32_t)heap_caps_get_largest_free_block(MALLOC_CAP_8BIT);
    in.tasks_n = 0;
    if (h->task != NULL) {
        /* Bytes on ESP-IDF, whose stacks are counted in bytes. */
        uint32_t free_min = (uint32_t)uxTaskGetStackHighWaterMark((TaskHandle_t)h->task);
        in.tasks[0] = (fw_diag_task_t){"bridge", h->stack_bytes, free_min};
        in.tasks_n = 1;
        if (free_min < STACK_LOW_BYTES && !warned_stack) {
            warned_stack = true;
            log_warn("bridge task: only %u of its %u stack bytes were ever left free",
                     (unsigned)free_min, (unsigned)h->stack_bytes);
        }
    }
    in.storage.mounted = fw_storage_info(&in.storage.total_bytes, &in.storage.used_bytes);
    fw_can_diag(&in);
}

static void gather_loop(const fw_health_t *h, uint64_t now_us)
{
    const fw_loop_t *l = h->loop;
    in.uptime_ms = (now_us - h->start_us) / 1000u;
    in.loop.iterations = l->iterations;
    in.loop.lag_last_us = l->lag_last_us;
    in.loop.lag_max_us = l->lag_max_us;
    in.loop.lag_sum_us = l->lag_sum_us;
    in.loop.lag_samples = l->lag_samples;
    in.loop.busy_last_us = l->busy_last_us;
    in.loop.busy_max_us = l->busy_max_us;
    in.watchdog.enabled = h->watchdog_enabled;
    in.watchdog.subscribed = h->watchdog_subscribed;
    in.watchdog.timeout_ms = h->watchdog_timeout_ms;
    in.watchdog.since_feed_ms = now_us > l->last_feed_us ? (now_us - l->last_feed_us) / 1000u : 0u;
    in.watchdog.max_gap_us = l->max_gap_us;
    in.bridge.running = h->running;
    in.bridge.halt_reason = h->running ? NULL : h->halt_reason;
    in.energy.saved = h->energy_saved;
    in.energy.failed = h->energy_failed;
    in.poll_interval_ms = h->poll_interval_ms;
    in.status = h->status;
}

static void gather_log(void)
{
    log_stats_t ls;
    log_get_stats(&ls);
    in.log.level = log_level_name(log_get_level());
    memcpy(in.log.lines, ls.lines, sizeof in.log.lines);
    in.log.suppressed = ls.suppressed;
    in.log.file_rotations = ls.file_rotations;
    in.log.file_errors = ls.file_errors;
    in.log.file_dropped = ls.file_dropped;
    in.log.file_open = ls.file_open;
    _Static_assert(LOG_PROBLEM_LINES <= FW_DIAG_PROBLEMS_MAX, "every problem line fits");
    in.problems_n = log_recent_problems(problems, LOG_PROBLEM_LINES);
    for (size_t i = 0; i < in.problems_n; i++) {
        in.problems[i] =
            (fw_diag_line_t){problems[i].t_ms, log_level_name(problems[i].level), problems[i].text};
    }
}

static void fill_extra(metrics_extra_t *x)
{
    memset(x, 0, sizeof *x);
    x->have_loop = true;
    x->loop_iterations = in.loop.iterations;
    x->loop_lag_last_s = (double)in.loop.lag_last_us / 1e6;
    x->loop_lag_max_s = (double)in.loop.lag_max_us / 1e6;
    x->loop_lag_avg_s =
        in.loop.lag_samples ? (double)in.loop.lag_sum_us / (double)in.loop.lag_samples / 1e6 : 0.0;
    x->loop_busy_max_s = (double)in.loop.busy_max_us / 1e6;
    x->have_log = true;
    memcpy(x->log_lines, in.log.lines, sizeof x->log_lines);
    x->log_suppressed = in.log.suppressed;
}

void fw_diag_tick(hub_t *hub, const fw_health_t *h, uint64_t now_us)
{
    if (now_us < next_us) {
        return;
    }
    next_us = now_us + FW_DIAG_PERIOD_US;
    gather_chip(h);
    gather_loop(h, now_us);
    gather_log();
    char *json = fw_diag_json(&in);
    if (json != NULL) {
        hub_publish(hub, HUB_DOC_DIAGNOSTICS, json);
    }
    metrics_extra_t x;
    fill_extra(&x);
    char *text = fw_diag_metrics(&in, &x);
    if (text != NULL) {
        hub_publish(hub, HUB_DOC_METRICS, text);
    }
    if (json == NULL || text == NULL) {
        log_warn("diagnostics: out of memory (%u bytes of heap free)",
                 (unsigned)in.heap.free_bytes);
    }
}
