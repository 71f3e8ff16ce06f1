/*
 * The ESP32 firmware's diagnostics document and metrics families. See
 * fw_diag.h.
 */
#include "fw_diag.h"

#include "status_json.h"
#include "strbuf.h"

/* 0.01 ms resolution, as the Linux document's *_ms figures. */
static double ms(uint64_t us)
{
    return (double)(us / 10u) / 100.0;
}

static void add_str(cJSON *o, const char *key, const char *s)
{
    if (s != NULL) {
        cJSON_AddStringToObject(o, key, s);
    } else {
        cJSON_AddNullToObject(o, key);
    }
}

static void add_loop(cJSON *root, const fw_diag_input_t *in)
{
    cJSON *loop = cJSON_AddObjectToObject(root, "loop");
    cJSON_AddNumberToObject(loop, "iterations", (double)in->loop.iterations);
    cJSON *lag = cJSON_AddObjectToObject(loop, "lag_ms");
    cJSON_AddNumberToObject(lag, "last", ms(in->loop.lag_last_us));
    cJSON_AddNumberToObject(lag, "max", ms(in->loop.lag_max_us));
    cJSON_AddNumberToObject(
        lag, "avg", in->loop.lag_samples ? ms(in->loop.lag_sum_us / in->loop.lag_samples) : 0.0);
    cJSON_AddNumberToObject(lag, "samples", (double)in->loop.lag_samples);
    cJSON *busy = cJSON_AddObjectToObject(loop, "busy_ms");
    cJSON_AddNumberToObject(busy, "last", ms(in->loop.busy_last_us));
    cJSON_AddNumberToObject(busy, "max", ms(in->loop.busy_max_us));
}

/* The seed's watchdog names, a feed being one turn of the bridge task. */
static void add_watchdog(cJSON *root, const fw_diag_input_t *in)
{
    cJSON *wd = cJSON_AddObjectToObject(root, "watchdog");
    uint64_t limit = in->watchdog.timeout_ms;
    uint64_t since = in->watchdog.since_feed_ms;
    cJSON_AddBoolToObject(wd, "enabled", in->watchdog.enabled);
    cJSON_AddNumberToObject(wd, "timeout_ms", (double)limit);
    cJSON_AddNumberToObject(wd, "time_since_last_feed_ms", (double)since);
    cJSON_AddNumberToObject(wd, "time_until_timeout_ms",
                            (double)(limit > since ? limit - since : 0u));
    cJSON_AddNumberToObject(wd, "feed_count", (double)in->loop.iterations);
    cJSON_AddNumberToObject(wd, "max_feed_gap_ms", ms(in->watchdog.max_gap_us));
    cJSON_AddBoolToObject(wd, "health_ok", since <= limit);
    cJSON_AddBoolToObject(wd, "restarts_on_stall", in->watchdog.enabled && in->watchdog.subscribed);
    cJSON_AddBoolToObject(wd, "task_watchdog", in->watchdog.subscribed);
}

static void add_tasks(cJSON *root, const fw_diag_input_t *in)
{
    cJSON *tasks = cJSON_AddObjectToObject(root, "tasks");
    for (size_t i = 0; i < in->tasks_n && i < FW_DIAG_TASKS_MAX; i++) {
        const fw_diag_task_t *t = &in->tasks[i];
        cJSON *o = cJSON_AddObjectToObject(tasks, t->name != NULL ? t->name : "?");
        cJSON_AddNumberToObject(o, "stack_bytes", t->stack_bytes);
        cJSON_AddNumberToObject(o, "stack_free_min_bytes", t->stack_free_min_bytes);
    }
}

static void add_chip(cJSON *root, const fw_diag_input_t *in)
{
    cJSON_AddNumberToObject(root, "heap_free", in->heap.free_bytes);
    cJSON_AddNumberToObject(root, "heap_free_min", in->heap.free_min_bytes);
    cJSON_AddNumberToObject(root, "heap_largest_free_block", in->heap.largest_block_bytes);
    add_str(root, "reset_reason", in->reset_reason);
    add_tasks(root, in);

    cJSON *br = cJSON_AddObjectToObject(root, "bridge");
    cJSON_AddBoolToObject(br, "running", in->bridge.running);
    add_str(br, "halt_reason", in->bridge.halt_reason);

    cJSON *fs = cJSON_AddObjectToObject(root, "storage");
    cJSON_AddBoolToObject(fs, "mounted", in->storage.mounted);
    cJSON_AddNumberToObject(fs, "total_bytes", (double)in->storage.total_bytes);
    cJSON_AddNumberToObject(fs, "used_bytes", (double)in->storage.used_bytes);

    cJSON *tw = cJSON_AddObjectToObject(root, "twai");
    cJSON_AddBoolToObject(tw, "loopback", in->twai.loopback);
    cJSON_AddNumberToObject(tw, "bus_errors", in->twai.bus_errors);
    cJSON_AddNumberToObject(tw, "rx_queue_drops", in->twai.rx_queue_drops);
    cJSON_AddNumberToObject(tw, "tx_queue_drops", in->twai.tx_queue_drops);
    cJSON_AddNumberToObject(tw, "bus_off_recoveries", in->twai.recoveries);

    cJSON *en = cJSON_AddObjectToObject(root, "energy");
    cJSON_AddNumberToObject(en, "saves", (double)in->energy.saved);
    cJSON_AddNumberToObject(en, "save_failures", (double)in->energy.failed);
}

static void add_log(cJSON *mods, const fw_diag_input_t *in)
{
    cJSON *l = cJSON_AddObjectToObject(mods, "log");
    add_str(l, "level", in->log.level);
    cJSON_AddNumberToObject(l, "errors", (double)in->log.lines[0]);
    cJSON_AddNumberToObject(l, "warnings", (double)in->log.lines[1]);
    cJSON_AddNumberToObject(l, "infos", (double)in->log.lines[2]);
    cJSON_AddNumberToObject(l, "debugs", (double)in->log.lines[3]);
    cJSON_AddNumberToObject(l, "suppressed_repeats", (double)in->log.suppressed);
    cJSON_AddBoolToObject(l, "file_open", in->log.file_open);
    cJSON_AddNumberToObject(l, "file_rotations", (double)in->log.file_rotations);
    cJSON_AddNumberToObject(l, "file_errors", (double)in->log.file_errors);
    cJSON_AddNumberToObject(l, "file_dropped", (double)in->log.file_dropped);
}

static void add_last_errors(cJSON *root, const fw_diag_input_t *in)
{
    cJSON *arr = cJSON_AddArrayToObject(root, "last_errors");
    size_t n = in->problems_n < FW_DIAG_PROBLEMS_MAX ? in->problems_n : FW_DIAG_PROBLEMS_MAX;
    for (size_t i = n; i-- > 0;) { /* newest first */
        cJSON *o = cJSON_CreateObject();
        if (o == NULL) {
            return;
        }
        cJSON_AddNumberToObject(o, "t_ms", (double)in->problems[i].t_ms);
        add_str(o, "level", in->problems[i].level);
        add_str(o, "text", in->problems[i].text);
        cJSON_AddItemToArray(arr, o);
    }
}

char *fw_diag_json(const fw_diag_input_t *in)
{
    if (in == NULL) {
        return NULL;
    }
    cJSON *root = cJSON_CreateObject();
    if (root == NULL) {
        return NULL;
    }
    add_str(root, "version", in->version);
    add_str(root, "build", in->build);
    add_str(root, "target", in->target);
    add_str(root, "idf_version", in->idf_version);
    cJSON_AddNumberToObject(root, "uptime_ms", (double)in->uptime_ms);
    add_loop(root, in);
    add_chip(root, in);
    add_watchdog(root, in);

    const status_t *st = in->status;
    cJSON *mods = status_json_add_diagnostics(root, st, in->poll_interval_ms);
    add_log(mods, in);
    add_last_errors(root, in);

    char *out = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return out;
}

/* ---- metrics ---- */

static void family(strbuf_t *sb, const char *name, const char *type, const char *help)
{
    strbuf_printf(sb, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void gauge(strbuf_t *sb, const char *name, const char *help, double v)
{
    family(sb, name, "gauge", help);
    strbuf_printf(sb, "%s %.17g\n", name, v);
}

/* A label value with \ " and newline escaped (exposition format 0.0.4). */
static void label_value(strbuf_t *sb, const char *s)
{
    for (; s != NULL && *s != '\0'; s++) {
        if (*s == '\\' || *s == '"') {
            strbuf_printf(sb, "\\%c", *s);
        } else if (*s == '\n') {
            strbuf_printf(sb, "\\n");
        } else {
            strbuf_printf(sb, "%c", *s);
        }
    }
}

static void task_family(strbuf_t *sb, const fw_diag_input_t *in, const char *name, const char *help,
                        bool free_min)
{
    family(sb, name, "gauge", help);
    for (size_t i = 0; i < in->tasks_n && i < FW_DIAG_TASKS_MAX; i++) {
        strbuf_printf(sb, "%s{task=\"", name);
        label_value(sb, in->tasks[i].name);
        strbuf_printf(
            sb, "\"} %u\n",
            (unsigned)(free_min ? in->tasks[i].stack_free_min_bytes : in->tasks[i].stack_bytes));
    }
}

static void chip_families(strbuf_t *sb, const fw_diag_input_t *in)
{
    gauge(sb, "tinybms_heap_free_bytes", "Free heap now.", in->heap.free_bytes);
    gauge(sb, "tinybms_heap_free_min_bytes", "Lowest free heap since start.",
          in->heap.free_min_bytes);
    gauge(sb, "tinybms_heap_largest_free_block_bytes", "Largest block the heap can give at once.",
          in->heap.largest_block_bytes);
    if (in->tasks_n > 0u) {
        task_family(sb, in, "tinybms_task_stack_bytes", "Stack size of a firmware task.", false);
        task_family(sb, in, "tinybms_task_stack_free_min_bytes",
                    "Least stack a firmware task ever had free.", true);
    }
    family(sb, "tinybms_reset_reason_info", "gauge", "Why the chip last started.");
    strbuf_printf(sb, "tinybms_reset_reason_info{reason=\"");
    label_value(sb, in->reset_reason != NULL ? in->reset_reason : "unknown");
    strbuf_printf(sb, "\"} 1\n");
    family(sb, "tinybms_twai_bus_errors_total", "counter", "Error events of the CAN controller.");
    strbuf_printf(sb, "tinybms_twai_bus_errors_total %u\n", (unsigned)in->twai.bus_errors);
    family(sb, "tinybms_twai_bus_off_recoveries_total", "counter",
           "Bus-off recoveries the firmware started.");
    strbuf_printf(sb, "tinybms_twai_bus_off_recoveries_total %u\n", (unsigned)in->twai.recoveries);
    if (in->storage.mounted) {
        gauge(sb, "tinybms_storage_used_bytes", "Bytes used on the data partition.",
              (double)in->storage.used_bytes);
        gauge(sb, "tinybms_storage_total_bytes", "Size of the data partition.",
              (double)in->storage.total_bytes);
    }
}

char *fw_diag_metrics(const fw_diag_input_t *in, const metrics_extra_t *extra)
{
    if (in == NULL) {
        return NULL;
    }
    strbuf_t sb = STRBUF_INIT;
    strbuf_adopt(&sb, metrics_text(in->status, extra));
    chip_families(&sb, in);
    return strbuf_take(&sb);
}
