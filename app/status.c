/* The typed status snapshot, built from the bridge (status.h). The rounding
 * is the document's (docs/api.md), done once here for every renderer. */
#include "status.h"

#include <stdio.h>
#include <string.h>

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

const char *status_level_name(status_level_t l)
{
    switch (l) {
    case STATUS_LEVEL_WARNING:
        return "warning";
    case STATUS_LEVEL_ALARM:
        return "alarm";
    case STATUS_LEVEL_OK:
    default:
        return "ok";
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

static status_num_t num(bool known, double v)
{
    return (status_num_t){.known = known, .v = known ? v : 0.0};
}

static void build_battery(const status_input_t *in, status_t *o)
{
    const brg_t *b = in->bridge;
    const tbms_live_t *l = &b->live;
    const ptemp_t *pt = &b->pack.temp;
    bool have = l->valid; /* a reading exists (maybe old) */
    o->voltage = num(have, rnd(l->pack_mv / 1000.0, 3));
    o->current = num(have, rnd(l->pack_ma / 1000.0, 3));
    o->power_w = num(have, rnd((double)l->pack_mv * l->pack_ma / 1e6, 1));
    o->soc_percent = num(have, rnd(l->soc_raw / 1e6, 2));
    o->soh_percent = num(have && l->soh_valid, rnd(l->soh_raw * 0.002, 2));
    o->temperature = num(have && pt->usable, rnd(pt->avg_dc / 10.0, 1));
    o->min_cell_mv = num(have, l->cell_min_mv);
    o->max_cell_mv = num(have, l->cell_max_mv);
    o->cell_imbalance_mv =
        num(have, l->cell_max_mv > l->cell_min_mv ? l->cell_max_mv - l->cell_min_mv : 0);
    o->online_status = num(have, l->status_raw);
    o->online_status_name = have ? status_bms_state_name(l->status_raw) : NULL;
    o->cell_count = num(have, l->cell_count);
    o->cells_n = 0;
    unsigned n = have ? l->cell_count : 0u;
    if (n > STATUS_CELLS_MAX) {
        n = STATUS_CELLS_MAX;
    }
    for (unsigned i = 0; i < n; i++) {
        o->cells[i] = (status_cell_t){
            .index = (uint8_t)(i + 1u),
            .mv = rnd(l->cell_100uv[i] / 10.0, 1),
            .balancing = ((l->balance_active_bits >> i) & 1u) != 0u,
            .needs_balancing = ((l->balance_need_bits >> i) & 1u) != 0u,
        };
    }
    o->cells_n = (uint8_t)n;

    o->temps.external_1_c = num(have && l->ext_temp_present[0], l->ext_temp_dc[0] / 10.0);
    o->temps.external_2_c = num(have && l->ext_temp_present[1], l->ext_temp_dc[1] / 10.0);
    o->temps.internal_c = num(have && l->internal_temp_present, l->internal_temp_dc / 10.0);
    o->temps.used_mask = have ? pt->used_mask : 0u;
    o->temps.lost_mask = have ? pt->lost_mask : 0u;
    o->temps.fallback = have && pt->fallback;
    o->temps.usable = have && pt->usable;
    o->temps.min_c = num(have && pt->usable, pt->min_dc / 10.0);
    o->temps.max_c = num(have && pt->usable, pt->max_dc / 10.0);

    o->alarms.count = 0;
    o->alarms.worst = STATUS_LEVEL_OK;
    for (unsigned c = 0; have && c < STATUS_CONDS_MAX; c++) {
        if (!b->alarms.supported[c]) {
            continue;
        }
        status_level_t lv = (status_level_t)b->alarms.level[c];
        o->alarms.cond[o->alarms.count++] =
            (status_cond_t){.name = alm_condition_name((vcan_cond_t)c), .level = lv};
        if (lv > o->alarms.worst) {
            o->alarms.worst = lv;
        }
    }
}

static void build_limits(const status_input_t *in, status_t *o)
{
    const brg_t *b = in->bridge;
    bool ok = b->limits_ok;
    o->limits.cvl_v = num(ok, rnd(b->limits.cvl_mv / 1000.0, 2));
    o->limits.ccl_a = num(ok, rnd(b->limits.ccl_ma / 1000.0, 1));
    o->limits.dcl_a = num(ok, rnd(b->limits.dcl_ma / 1000.0, 1));
    o->limits.dvl_v = num(ok, rnd(b->limits.dvl_mv / 1000.0, 2));
    o->limits.sent = o->data_valid;
    o->limits.reasons = ok ? b->limits.reasons : 0u;
    o->cvl.state = in->cvl_state;
    o->cvl.cvl_voltage_v = o->limits.cvl_v;
    o->cvl.ccl_limit_a = o->limits.ccl_a;
    o->cvl.dcl_limit_a = o->limits.dcl_a;
}

static void build_stats(const status_input_t *in, status_t *o)
{
    const brg_t *b = in->bridge;
    tbms_poller_stats_t u = tbms_poller_stats(&b->bms[0].poller);
    o->uart.polls = u.polls;
    o->uart.success = u.success;
    o->uart.errors = u.failures + u.crc_errors + u.nacks + u.malformed;
    o->uart.timeouts = u.timeouts;
    o->uart.crc_errors = u.crc_errors;
    o->uart.retries = u.retries;
    o->uart.failures = u.failures;
    o->uart.nacks = u.nacks;
    o->uart.truncated = u.truncated;
    o->uart.unexpected = u.unexpected;
    o->uart.garbage_bytes = u.garbage_bytes;
    o->uart.latency_avg_ms = rnd(u.latency_avg_us / 1000.0, 3);
    o->uart.latency_last_ms = rnd(u.latency_last_us / 1000.0, 3);
    o->uart.latency_max_ms = rnd(u.latency_max_us / 1000.0, 3);
    o->uart.open = in->uart_open;
    (void)snprintf(o->uart.device, sizeof o->uart.device, "%s",
                   in->uart_device ? in->uart_device : "");

    o->can.tx_count = in->can.tx_frames;
    o->can.tx_errors = in->can.tx_errors;
    o->can.tx_drops = in->can.tx_drops;
    o->can.rx_count = in->can.rx_frames;
    o->can.rx_errors = in->can.rx_errors;
    o->can.reconnects = in->can.reconnects;
    o->can.bus_off_count = in->can.bus_off_count;
    o->can.bus_state = in->can.bus_state ? in->can.bus_state : "unknown";
    o->can.tx_error_counter = in->can.tx_error_counter;
    o->can.rx_error_counter = in->can.rx_error_counter;
    o->can.connected = in->can.connected;
    o->can.keepalive_ok = o->gx.keepalive_ok;
    (void)snprintf(o->can.interface, sizeof o->can.interface, "%s",
                   in->can.interface ? in->can.interface : "");

    o->bridge.frames = b->counters.frames;
    o->bridge.stale_events = b->counters.stale_events;
    o->bridge.decode_errors = b->counters.decode_errors;
    o->bridge.keepalive_rx = b->counters.keepalive_rx;
}

static void build_bms(const brg_t *b, status_t *o)
{
    const brg_bms_t *pk = &b->bms[0];
    o->bms.have_version = pk->version.valid;
    o->bms.hardware[0] = '\0';
    o->bms.firmware[0] = '\0';
    if (pk->version.valid) {
        (void)snprintf(o->bms.hardware, sizeof o->bms.hardware, "%u.%u", pk->version.hw_version,
                       pk->version.hw_changes);
        (void)snprintf(o->bms.firmware, sizeof o->bms.firmware, "%u (internal %u)",
                       pk->version.fw_public, pk->version.fw_internal);
    }
    o->bms.have_settings = b->settings.valid;
    o->bms.series_cells = b->settings.series_cells;
    o->bms.capacity_ah = b->settings.capacity_10mah / 100.0;
    o->bms.over_voltage_cutoff_mv = b->settings.over_voltage_mv;
    o->bms.under_voltage_cutoff_mv = b->settings.under_voltage_mv;
    o->bms.charge_over_current_a = b->settings.charge_oc_a;
    o->bms.discharge_over_current_a = b->settings.discharge_oc_a;
}

bool status_build(const status_input_t *in, uint64_t seq, status_t *out)
{
    if (in == NULL || in->bridge == NULL || out == NULL) {
        return false;
    }
    const brg_t *b = in->bridge;
    bool have = b->live.valid;
    out->seq = seq;
    out->uptime_ms = in->uptime_ms;
    out->time_ms = in->time_ms;
    out->data_valid = b->state == BRG_DATA_VALID;
    out->data_state = brg_data_state_name(b->state);
    out->data_age_ms = num(have, have && in->now_us > b->last_valid_us
                                     ? (double)((in->now_us - b->last_valid_us) / 1000u)
                                     : 0.0);
    build_battery(in, out);

    out->gx.keepalive_ok = brg_keepalive_ok(b, in->now_us);
    out->gx.keepalive_age_ms =
        num(b->keepalive_seen, b->keepalive_seen && in->now_us > b->last_keepalive_us
                                   ? (double)((in->now_us - b->last_keepalive_us) / 1000u)
                                   : 0.0);
    out->gx.victron_handshake = b->handshake_victron;

    build_limits(in, out);

    out->energy.charged_kwh = rnd((double)b->counters.charged_mwh / 1e6, 3);
    out->energy.discharged_kwh = rnd((double)b->counters.discharged_mwh / 1e6, 3);

    build_stats(in, out);
    build_bms(b, out);
    out->version = in->version;
    return true;
}
