/*
 * The REST API's platform side over the hub (hub_api.h): documents,
 * configuration and TinyBMS writes through the hub, log lines through
 * log.h, saves through config_store.h. Shared by the civetweb adapter
 * (Linux) and the esp_http_server adapter (ESP32).
 */
#include "hub_api.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config_store.h"
#include "log.h"
#include "write_request.h"

uint64_t hub_api_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static hub_doc_t hub_doc(api_doc_t d)
{
    switch (d) {
    case API_DOC_STATUS:
        return HUB_DOC_STATUS;
    case API_DOC_REGISTERS:
        return HUB_DOC_REGISTERS;
    case API_DOC_HISTORY:
        return HUB_DOC_HISTORY;
    case API_DOC_DIAGNOSTICS:
        return HUB_DOC_DIAGNOSTICS;
    case API_DOC_METRICS:
    default:
        return HUB_DOC_METRICS;
    }
}

static char *op_get_doc(void *ctx, api_doc_t doc, size_t pack, uint64_t *seq)
{
    const hub_api_t *s = ctx;
    hub_doc_t d = doc == API_DOC_REGISTERS ? hub_doc_registers(pack) : hub_doc(doc);
    return hub_get(s->hub, d, seq);
}

static size_t op_pack_count(void *ctx)
{
    const hub_api_t *s = ctx;
    return hub_pack_count(s->hub);
}

static void op_running_config(void *ctx, cfg_t *out)
{
    const hub_api_t *s = ctx;
    hub_get_running_config(s->hub, out);
}

static void op_config_lock(void *ctx, bool lock)
{
    const hub_api_t *s = ctx;
    if (lock) {
        hub_config_lock(s->hub);
    } else {
        hub_config_unlock(s->hub);
    }
}

static api_apply_t op_apply_config(void *ctx, const cfg_t *c, char *why, size_t cap)
{
    const hub_api_t *s = ctx;
    switch (hub_apply_config(s->hub, c, API_SETTINGS_APPLY_TIMEOUT_MS, NULL, why, cap)) {
    case HUB_CONFIG_APPLIED:
        return API_APPLY_APPLIED;
    case HUB_CONFIG_REFUSED:
        return API_APPLY_REFUSED;
    case HUB_CONFIG_PENDING:
        return API_APPLY_PENDING;
    case HUB_CONFIG_BUSY:
    default:
        return API_APPLY_BUSY;
    }
}

static cfg_err_t op_save_config(void *ctx, const cfg_t *c, cfg_error_t *err)
{
    const hub_api_t *s = ctx;
    return cfg_save_file(s->config_path, c, err);
}

static const char *op_config_location(void *ctx)
{
    const hub_api_t *s = ctx;
    return s->config_path;
}

static api_write_t op_write_registers(void *ctx, size_t pack, uint16_t addr,
                                      const uint16_t *values, uint16_t count, sw_result_t *res)
{
    const hub_api_t *s = ctx;
    hub_write_req_t req;
    memset(&req, 0, sizeof req);
    req.pack = (uint8_t)(pack < CFG_MAX_PACKS ? pack : CFG_MAX_PACKS); /* beyond: refused */
    _Static_assert(WREQ_MAX_WORDS <= HUB_WRITE_MAX, "write sizes disagree");
    if (count > HUB_WRITE_MAX) {
        count = HUB_WRITE_MAX;
    }
    req.addr = addr;
    req.count = count;
    memcpy(req.values, values, count * sizeof values[0]);
    hub_write_result_t out;
    if (!hub_write(s->hub, &req, API_WRITE_TIMEOUT_MS, &out)) {
        return out.status == -EBUSY ? API_WRITE_BUSY : API_WRITE_TIMEOUT;
    }
    res->status = (sw_status_t)out.status;
    _Static_assert(sizeof res->readback == sizeof out.readback, "read-back sizes differ");
    memcpy(res->readback, out.readback, sizeof res->readback);
    (void)snprintf(res->message, sizeof res->message, "%s", out.message);
    return API_WRITE_DONE;
}

static size_t op_can_since(void *ctx, uint64_t after, api_can_entry_t *out, size_t cap)
{
    const hub_api_t *s = ctx;
    hub_can_entry_t *e = malloc(cap * sizeof *e);
    if (e == NULL) {
        return 0u;
    }
    size_t n = hub_can_since(s->hub, after, e, cap);
    for (size_t i = 0; i < n; i++) {
        out[i] = (api_can_entry_t){.seq = e[i].seq, .t_ms = e[i].t_ms, .tx = e[i].tx,
                                   .frame = e[i].frame};
    }
    free(e);
    return n;
}

static size_t op_logs(void *ctx, uint64_t after, api_log_entry_t *out, size_t cap,
                      uint64_t *newest)
{
    (void)ctx;
    log_entry_t *e = malloc(cap * sizeof *e);
    if (e == NULL) {
        *newest = log_last_seq();
        return 0u;
    }
    size_t n = log_recent(after, e, cap);
    *newest = log_last_seq();
    for (size_t i = 0; i < n; i++) {
        out[i].seq = e[i].seq;
        out[i].t_ms = e[i].t_ms;
        out[i].level = log_level_name(e[i].level);
        (void)snprintf(out[i].text, sizeof out[i].text, "%s", e[i].text);
    }
    free(e);
    return n;
}

static void op_clear_logs(void *ctx)
{
    (void)ctx;
    log_clear_recent();
}

static void op_log(void *ctx, api_log_level_t level, const char *line)
{
    (void)ctx;
    log_msg(level == API_LOG_ERROR ? LOG_ERROR : level == API_LOG_WARNING ? LOG_WARNING : LOG_INFO,
            "%s", line);
}

static bool op_server_stats(void *ctx, api_server_stats_t *out)
{
    const hub_api_t *s = ctx;
    return s->server_stats != NULL && s->server_stats(s->server_ctx, out);
}

static const char *op_version(void *ctx)
{
    const hub_api_t *s = ctx;
    return s->version;
}

static uint64_t op_uptime_ms(void *ctx)
{
    const hub_api_t *s = ctx;
    return hub_api_mono_ms() - s->start_ms;
}

const api_ops_t hub_api_ops = {
    .get_doc = op_get_doc,
    .pack_count = op_pack_count,
    .running_config = op_running_config,
    .config_lock = op_config_lock,
    .apply_config = op_apply_config,
    .save_config = op_save_config,
    .config_location = op_config_location,
    .write_registers = op_write_registers,
    .can_since = op_can_since,
    .logs = op_logs,
    .clear_logs = op_clear_logs,
    .log = op_log,
    .server_stats = op_server_stats,
    .version = op_version,
    .uptime_ms = op_uptime_ms,
};
