/* The status document (seed README "GET /api/status" names, plus detail). */
#include "status_json.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>

const char *status_bms_state_name(uint16_t online_status)
{
    switch (online_status) {
    case 0x91:
        return "charging";
    case 0x92:
        return "fully_charged";
    case 0x93:
        return "discharging";
    case 0x95:
        return "sleep";
    case 0x96:
        return "regeneration";
    case 0x97:
        return "idle";
    case 0x9B:
        return "fault";
    default:
        return "unknown";
    }
}

/* Rounded to `decimals` places so the JSON shows 52.92, not 52.91999816. */
static double rnd(double v, int decimals)
{
    double f = 1.0;
    for (int i = 0; i < decimals; i++) {
        f *= 10.0;
    }
    return (double)(long long)(v * f + (v >= 0 ? 0.5 : -0.5)) / f;
}

static void add_num_or_null(cJSON *o, const char *k, bool present, double v)
{
    if (present) {
        cJSON_AddNumberToObject(o, k, v);
    } else {
        cJSON_AddNullToObject(o, k);
    }
}

static void add_sensor_list(cJSON *o, const char *k, uint8_t mask)
{
    cJSON *a = cJSON_AddArrayToObject(o, k);
    for (unsigned i = 0; i < (unsigned)PTEMP_SENSOR_COUNT; i++) {
        if (mask & PTEMP_BIT(i)) {
            cJSON_AddItemToArray(a, cJSON_CreateString(ptemp_sensor_name((ptemp_sensor_t)i)));
        }
    }
}

/* Every sensor as read, and which of them protect the pack (pack_temp.h):
 * "used" (their mean is "temperature" and 0x356), "lost" (present before,
 * missing now: warning, charging derated), "fallback" (the board sensor
 * stands in for lost external ones), "usable" (false: no charging). */
static void add_temps(cJSON *root, const tbms_live_t *l, const ptemp_t *pt, bool have)
{
    cJSON *t = cJSON_AddObjectToObject(root, "temperatures");
    add_num_or_null(t, "external_1_c", have && l->ext_temp_present[0], l->ext_temp_dc[0] / 10.0);
    add_num_or_null(t, "external_2_c", have && l->ext_temp_present[1], l->ext_temp_dc[1] / 10.0);
    add_num_or_null(t, "internal_c", have && l->internal_temp_present, l->internal_temp_dc / 10.0);
    add_sensor_list(t, "used", have ? pt->used_mask : 0u);
    add_sensor_list(t, "lost", have ? pt->lost_mask : 0u);
    cJSON_AddBoolToObject(t, "fallback", have && pt->fallback);
    cJSON_AddBoolToObject(t, "usable", have && pt->usable);
    add_num_or_null(t, "min_c", have && pt->usable, pt->min_dc / 10.0);
    add_num_or_null(t, "max_c", have && pt->usable, pt->max_dc / 10.0);
}

static void add_cells(cJSON *root, const tbms_live_t *l, bool have)
{
    cJSON *cells = cJSON_AddArrayToObject(root, "cells");
    if (!have) {
        return;
    }
    for (unsigned i = 0; i < l->cell_count; i++) {
        cJSON *c = cJSON_CreateObject();
        cJSON_AddNumberToObject(c, "index", i + 1);
        cJSON_AddNumberToObject(c, "mv", rnd(l->cell_100uv[i] / 10.0, 1));
        cJSON_AddBoolToObject(c, "balancing", (l->balance_active_bits >> i) & 1u);
        cJSON_AddBoolToObject(c, "needs_balancing", (l->balance_need_bits >> i) & 1u);
        cJSON_AddItemToArray(cells, c);
    }
}

static void add_alarms(cJSON *root, const brg_t *b, bool have)
{
    static const char *const level_names[] = {"ok", "warning", "alarm"};
    cJSON *a = cJSON_AddObjectToObject(root, "alarms");
    cJSON *active = cJSON_AddArrayToObject(a, "active");
    cJSON *all = cJSON_AddObjectToObject(a, "conditions");
    alm_level_t worst = ALM_OK;
    for (unsigned c = 0; have && c < VCAN_COND_COUNT; c++) {
        if (!b->alarms.supported[c]) {
            continue;
        }
        alm_level_t lv = b->alarms.level[c];
        cJSON_AddStringToObject(all, alm_condition_name((vcan_cond_t)c), level_names[lv]);
        if (lv != ALM_OK) {
            cJSON *e = cJSON_CreateObject();
            cJSON_AddStringToObject(e, "condition", alm_condition_name((vcan_cond_t)c));
            cJSON_AddStringToObject(e, "level", level_names[lv]);
            cJSON_AddItemToArray(active, e);
            worst = lv > worst ? lv : worst;
        }
    }
    cJSON_AddStringToObject(a, "worst", level_names[worst]);
}

char *status_json(const status_input_t *in)
{
    if (in == NULL || in->bridge == NULL) {
        return NULL;
    }
    const brg_t *b = in->bridge;
    const tbms_live_t *l = &b->live;
    bool have = l->valid; /* a reading exists (maybe old) */
    bool fresh = b->state == BRG_DATA_VALID;
    uint64_t age_ms = have && in->now_us > b->last_valid_us
                          ? (in->now_us - b->last_valid_us) / 1000u
                          : 0u;
    cJSON *root = cJSON_CreateObject();
    if (root == NULL) {
        return NULL;
    }
    add_num_or_null(root, "voltage", have, rnd(l->pack_mv / 1000.0, 3));
    add_num_or_null(root, "current", have, rnd(l->pack_ma / 1000.0, 3));
    add_num_or_null(root, "power_w", have, rnd((double)l->pack_mv * l->pack_ma / 1e6, 1));
    add_num_or_null(root, "soc_percent", have, rnd(l->soc_raw / 1e6, 2));
    add_num_or_null(root, "soh_percent", have && l->soh_valid, rnd(l->soh_raw * 0.002, 2));
    const ptemp_t *pt = &b->pack.temp;
    add_num_or_null(root, "temperature", have && pt->usable, rnd(pt->avg_dc / 10.0, 1));
    add_num_or_null(root, "min_cell_mv", have, l->cell_min_mv);
    add_num_or_null(root, "max_cell_mv", have, l->cell_max_mv);
    add_num_or_null(root, "cell_imbalance_mv", have,
                    l->cell_max_mv > l->cell_min_mv ? l->cell_max_mv - l->cell_min_mv : 0);
    add_num_or_null(root, "online_status", have, l->status_raw);
    if (have) {
        cJSON_AddStringToObject(root, "online_status_name", status_bms_state_name(l->status_raw));
    } else {
        cJSON_AddNullToObject(root, "online_status_name");
    }
    cJSON_AddNumberToObject(root, "uptime_ms", (double)in->uptime_ms);
    cJSON_AddNumberToObject(root, "time_ms", (double)in->time_ms);
    cJSON_AddBoolToObject(root, "data_valid", fresh);
    cJSON_AddStringToObject(root, "data_state", brg_data_state_name(b->state));
    add_num_or_null(root, "data_age_ms", have, (double)age_ms);
    add_num_or_null(root, "cell_count", have, l->cell_count);
    add_cells(root, l, have);
    add_temps(root, l, pt, have);

    cJSON *lim = cJSON_AddObjectToObject(root, "limits");
    add_num_or_null(lim, "cvl_v", b->limits_ok, rnd(b->limits.cvl_mv / 1000.0, 2));
    add_num_or_null(lim, "ccl_a", b->limits_ok, rnd(b->limits.ccl_ma / 1000.0, 1));
    add_num_or_null(lim, "dcl_a", b->limits_ok, rnd(b->limits.dcl_ma / 1000.0, 1));
    add_num_or_null(lim, "dvl_v", b->limits_ok, rnd(b->limits.dvl_mv / 1000.0, 2));
    cJSON_AddBoolToObject(lim, "sent", fresh);
    cJSON *why = cJSON_AddArrayToObject(lim, "reasons");
    for (unsigned bit = 0; b->limits_ok && bit < 32u; bit++) {
        if (b->limits.reasons & (1u << bit)) {
            cJSON_AddItemToArray(why, cJSON_CreateString(chg_reason_name(1u << bit)));
        }
    }

    add_alarms(root, b, have);

    bool ka = brg_keepalive_ok(b, in->now_us);
    cJSON *gx = cJSON_AddObjectToObject(root, "gx");
    cJSON_AddBoolToObject(gx, "keepalive_ok", ka);
    add_num_or_null(gx, "keepalive_age_ms", b->keepalive_seen,
                    b->keepalive_seen && in->now_us > b->last_keepalive_us
                        ? (double)((in->now_us - b->last_keepalive_us) / 1000u)
                        : 0.0);
    cJSON_AddBoolToObject(gx, "victron_handshake", b->handshake_victron);

    cJSON *en = cJSON_AddObjectToObject(root, "energy");
    cJSON_AddNumberToObject(en, "charged_kwh", rnd((double)b->counters.charged_mwh / 1e6, 3));
    cJSON_AddNumberToObject(en, "discharged_kwh",
                            rnd((double)b->counters.discharged_mwh / 1e6, 3));

    cJSON *stats = cJSON_AddObjectToObject(root, "stats");
    tbms_poller_stats_t u = tbms_poller_stats(&b->poller);
    cJSON *uart = cJSON_AddObjectToObject(stats, "uart");
    cJSON_AddNumberToObject(uart, "polls", u.polls);
    cJSON_AddNumberToObject(uart, "success", u.success);
    cJSON_AddNumberToObject(uart, "errors", u.failures + u.crc_errors + u.nacks + u.malformed);
    cJSON_AddNumberToObject(uart, "timeouts", u.timeouts);
    cJSON_AddNumberToObject(uart, "crc_errors", u.crc_errors);
    cJSON_AddNumberToObject(uart, "retries", u.retries);
    cJSON_AddNumberToObject(uart, "failures", u.failures);
    cJSON_AddNumberToObject(uart, "nacks", u.nacks);
    cJSON_AddNumberToObject(uart, "truncated", u.truncated);
    cJSON_AddNumberToObject(uart, "unexpected", u.unexpected);
    cJSON_AddNumberToObject(uart, "garbage_bytes", u.garbage_bytes);
    cJSON_AddNumberToObject(uart, "latency_avg_ms", rnd(u.latency_avg_us / 1000.0, 3));
    cJSON_AddNumberToObject(uart, "latency_last_ms", rnd(u.latency_last_us / 1000.0, 3));
    cJSON_AddNumberToObject(uart, "latency_max_ms", rnd(u.latency_max_us / 1000.0, 3));
    cJSON_AddBoolToObject(uart, "open", in->uart_open);
    cJSON_AddStringToObject(uart, "device", in->uart_device ? in->uart_device : "");

    cJSON *can = cJSON_AddObjectToObject(stats, "can");
    cJSON_AddNumberToObject(can, "tx_count", in->can.tx_frames);
    cJSON_AddNumberToObject(can, "tx_errors", in->can.tx_errors);
    cJSON_AddNumberToObject(can, "tx_drops", in->can.tx_drops);
    cJSON_AddNumberToObject(can, "rx_count", in->can.rx_frames);
    cJSON_AddNumberToObject(can, "rx_errors", in->can.rx_errors);
    cJSON_AddNumberToObject(can, "reconnects", in->can.reconnects);
    cJSON_AddNumberToObject(can, "bus_off_count", in->can.bus_off_count);
    cJSON_AddStringToObject(can, "bus_state", in->can.bus_state ? in->can.bus_state : "unknown");
    cJSON_AddNumberToObject(can, "tx_error_counter", in->can.tx_error_counter);
    cJSON_AddNumberToObject(can, "rx_error_counter", in->can.rx_error_counter);
    cJSON_AddBoolToObject(can, "connected", in->can.connected);
    cJSON_AddBoolToObject(can, "keepalive_ok", ka);
    cJSON_AddStringToObject(can, "interface", in->can.interface ? in->can.interface : "");

    cJSON *cvl = cJSON_AddObjectToObject(stats, "cvl");
    if (in->cvl_state != NULL) {
        cJSON_AddStringToObject(cvl, "state", in->cvl_state);
    } else {
        cJSON_AddNullToObject(cvl, "state");
    }
    add_num_or_null(cvl, "cvl_voltage_v", b->limits_ok, rnd(b->limits.cvl_mv / 1000.0, 2));
    add_num_or_null(cvl, "ccl_limit_a", b->limits_ok, rnd(b->limits.ccl_ma / 1000.0, 1));
    add_num_or_null(cvl, "dcl_limit_a", b->limits_ok, rnd(b->limits.dcl_ma / 1000.0, 1));

    cJSON *br = cJSON_AddObjectToObject(stats, "bridge");
    cJSON_AddNumberToObject(br, "frames", b->counters.frames);
    cJSON_AddNumberToObject(br, "stale_events", b->counters.stale_events);
    cJSON_AddNumberToObject(br, "decode_errors", b->counters.decode_errors);
    cJSON_AddNumberToObject(br, "keepalive_rx", b->counters.keepalive_rx);

    cJSON *bms = cJSON_AddObjectToObject(root, "bms");
    if (b->version.valid) {
        char hw[16], fw[24];
        snprintf(hw, sizeof hw, "%u.%u", b->version.hw_version, b->version.hw_changes);
        snprintf(fw, sizeof fw, "%u (internal %u)", b->version.fw_public,
                 b->version.fw_internal);
        cJSON_AddStringToObject(bms, "hardware", hw);
        cJSON_AddStringToObject(bms, "firmware", fw);
    }
    if (b->settings.valid) {
        cJSON_AddNumberToObject(bms, "series_cells", b->settings.series_cells);
        cJSON_AddNumberToObject(bms, "capacity_ah", b->settings.capacity_10mah / 100.0);
        cJSON_AddNumberToObject(bms, "over_voltage_cutoff_mv", b->settings.over_voltage_mv);
        cJSON_AddNumberToObject(bms, "under_voltage_cutoff_mv", b->settings.under_voltage_mv);
        cJSON_AddNumberToObject(bms, "charge_over_current_a", b->settings.charge_oc_a);
        cJSON_AddNumberToObject(bms, "discharge_over_current_a", b->settings.discharge_oc_a);
    }
    if (in->version != NULL) {
        cJSON_AddStringToObject(root, "version", in->version);
    }
    char *out = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return out;
}
