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

static uint8_t sat_u8(int32_t v)
{
    return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
}

/* The cells of a reading into cells[]; returns their number (0 without one). */
static uint8_t fill_cells(const tbms_live_t *l, status_cell_t cells[STATUS_CELLS_MAX])
{
    unsigned n = l->valid ? l->cell_count : 0u;
    if (n > STATUS_CELLS_MAX) {
        n = STATUS_CELLS_MAX;
    }
    for (unsigned i = 0; i < n; i++) {
        cells[i] = (status_cell_t){
            .index = (uint8_t)(i + 1u),
            .mv = rnd(l->cell_100uv[i] / 10.0, 1),
            .balancing = ((l->balance_active_bits >> i) & 1u) != 0u,
            .needs_balancing = ((l->balance_need_bits >> i) & 1u) != 0u,
        };
    }
    return (uint8_t)n;
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
    /* A bank has no cells of its own: cell k of one pack is not in series
     * with cell k of another (each pack's are in packs[]). */
    o->cells_n = in->bridge->n_packs > 1u ? 0u : fill_cells(l, o->cells);

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

/* What the status calls UART errors: abandoned transactions and bad
 * answers (timeouts are counted on their own). */
static uint32_t uart_errors(const tbms_poller_stats_t *u)
{
    return u->failures + u->crc_errors + u->nacks + u->malformed;
}

/* Pack i's serial port as the caller gave it (status_input_t). */
static bool pack_open(const status_input_t *in, size_t i)
{
    return i == 0u && in->pack_uart_device[0] == NULL ? in->uart_open : in->pack_uart_open[i];
}

static const char *pack_device(const status_input_t *in, size_t i)
{
    const char *d =
        i == 0u && in->pack_uart_device[0] == NULL ? in->uart_device : in->pack_uart_device[i];
    return d != NULL ? d : "";
}

static void build_stats(const status_input_t *in, status_t *o)
{
    const brg_t *b = in->bridge;
    tbms_poller_stats_t u = brg_uart_stats(b);
    o->uart.polls = u.polls;
    o->uart.success = u.success;
    o->uart.errors = uart_errors(&u);
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
    if (b->n_packs <= 1u) {
        o->uart.open = in->uart_open;
        (void)snprintf(o->uart.device, sizeof o->uart.device, "%s",
                       in->uart_device ? in->uart_device : "");
    } else {
        o->uart.open = true;
        for (size_t i = 0; i < b->n_packs && i < STATUS_PACKS_MAX; i++) {
            o->uart.open = o->uart.open && pack_open(in, i);
        }
        (void)snprintf(o->uart.device, sizeof o->uart.device, "%s", pack_device(in, 0u));
    }

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

/* What a TinyBMS says of itself: its version, and the settings given. */
static void fill_bms(status_bms_t *o, const tbms_version_t *v, const tbms_settings_t *set)
{
    o->have_version = v->valid;
    o->hardware[0] = '\0';
    o->firmware[0] = '\0';
    if (v->valid) {
        (void)snprintf(o->hardware, sizeof o->hardware, "%u.%u", v->hw_version, v->hw_changes);
        (void)snprintf(o->firmware, sizeof o->firmware, "%u (internal %u)", v->fw_public,
                       v->fw_internal);
    }
    o->have_settings = set->valid;
    o->series_cells = set->series_cells;
    o->capacity_ah = set->capacity_10mah / 100.0;
    o->over_voltage_cutoff_mv = set->over_voltage_mv;
    o->under_voltage_cutoff_mv = set->under_voltage_mv;
    o->charge_over_current_a = set->charge_oc_a;
    o->discharge_over_current_a = set->discharge_oc_a;
}

static void build_bms(const brg_t *b, status_t *o)
{
    fill_bms(&o->bms, &b->bms[0].version, &b->settings);
    if (b->n_packs > 1u) {
        /* A bank's installed capacity may pass the 655.35 Ah a register holds. */
        o->bms.capacity_ah = (double)b->capacity_ah;
    }
}

const char *status_bank_warning_name(uint32_t bit)
{
    switch (bit) {
    case BANK_WARN_PACK_OFFLINE:
        return "pack_offline";
    case BANK_WARN_PACK_SILENT:
        return "pack_silent";
    case BANK_WARN_PACK_BLOCKING:
        return "pack_blocking";
    case BANK_WARN_VOLTAGE_MISMATCH:
        return "voltage_mismatch";
    case BANK_WARN_CELLS_MISMATCH:
        return "cells_mismatch";
    default:
        return NULL;
    }
}

static status_num_t age_ms(bool known, uint64_t now_us, uint64_t then_us)
{
    return num(known, known && now_us > then_us ? (double)((now_us - then_us) / 1000u) : 0.0);
}

/* Pack i's own values: what its TinyBMS said (rounded as the battery's). */
static void pack_values(const brg_bms_t *p, status_pack_t *o)
{
    const tbms_live_t *l = &p->live;
    bool have = l->valid;
    o->voltage = num(have, rnd(l->pack_mv / 1000.0, 3));
    o->current = num(have, rnd(l->pack_ma / 1000.0, 3));
    o->power_w = num(have, rnd((double)l->pack_mv * l->pack_ma / 1e6, 1));
    o->soc_percent = num(have, rnd(l->soc_raw / 1e6, 2));
    o->soh_percent = num(have && l->soh_valid, rnd(l->soh_raw * 0.002, 2));
    o->temperature = num(have && p->pack.temp.usable, rnd(p->pack.temp.avg_dc / 10.0, 1));
    o->min_cell_mv = num(have, l->cell_min_mv);
    o->max_cell_mv = num(have, l->cell_max_mv);
    o->cell_imbalance_mv =
        num(have, l->cell_max_mv > l->cell_min_mv ? l->cell_max_mv - l->cell_min_mv : 0);
    o->cell_count = num(have, l->cell_count);
    o->capacity_ah = num(p->settings.valid, p->settings.capacity_10mah / 100.0);
    o->online_status = num(have, l->status_raw);
    o->online_status_name = have ? status_bms_state_name(l->status_raw) : NULL;
    o->cells_n = fill_cells(l, o->cells);

    bool ok = p->limits_ok;
    o->limits.cvl_v = num(ok, rnd(p->own_limits.cvl_mv / 1000.0, 2));
    o->limits.ccl_a = num(ok, rnd(p->own_limits.ccl_ma / 1000.0, 1));
    o->limits.dcl_a = num(ok, rnd(p->own_limits.dcl_ma / 1000.0, 1));
    o->limits.dvl_v = num(ok, rnd(p->own_limits.dvl_mv / 1000.0, 2));
    o->limits.reasons = ok ? p->own_limits.reasons : 0u;

    tbms_poller_stats_t u = tbms_poller_stats(&p->poller);
    o->uart.polls = u.polls;
    o->uart.success = u.success;
    o->uart.errors = uart_errors(&u);
    o->uart.timeouts = u.timeouts;
    o->uart.crc_errors = u.crc_errors;
    o->uart.latency_avg_ms = rnd(u.latency_avg_us / 1000.0, 3);

    fill_bms(&o->bms, &p->version, &p->settings);
}

/* The share of a participant, % with 1 decimal; unknown when it takes none. */
static status_num_t share_pct(int32_t pm)
{
    return num(pm > 0, rnd(pm / 10.0, 1));
}

static void build_packs(const status_input_t *in, status_t *o)
{
    const brg_t *b = in->bridge;
    size_t n = b->n_packs < STATUS_PACKS_MAX ? b->n_packs : STATUS_PACKS_MAX;
    bool bank = n > 1u && b->bank_out.n == n;
    o->packs_n = (uint8_t)n;
    for (size_t i = 0; i < n; i++) {
        const brg_bms_t *p = &b->bms[i];
        status_pack_t *k = &o->packs[i];
        memset(k, 0, sizeof *k);
        k->index = (uint8_t)(i + 1u);
        const char *name = in->pack_name[i];
        if (name != NULL && name[0] != '\0') {
            (void)snprintf(k->name, sizeof k->name, "%s", name);
        } else {
            (void)snprintf(k->name, sizeof k->name, "Pack %u", (unsigned)(i + 1u));
        }
        pack_values(p, k);
        k->data_valid = brg_pack_fresh(b, i, in->now_us);
        k->data_age_ms = age_ms(p->live.valid, in->now_us, p->last_valid_us);
        k->uart.open = pack_open(in, i);
        (void)snprintf(k->uart.device, sizeof k->uart.device, "%s", pack_device(in, i));
        if (bank) {
            const bank_pack_out_t *q = &b->bank_out.pack[i];
            k->state = bank_pack_state_name(q->state);
            k->member = q->member;
            k->blocks_charge = q->blocks_charge;
            k->blocks_discharge = q->blocks_discharge;
            k->bounds_ccl = b->bank_out.ccl_bound == BANK_BOUND_SHARE &&
                            b->bank_out.ccl_pack == (uint8_t)(i + 1u);
            k->bounds_dcl = b->bank_out.dcl_bound == BANK_BOUND_SHARE &&
                            b->bank_out.dcl_pack == (uint8_t)(i + 1u);
            k->limits.share_charge_pct = share_pct(q->share_charge_pm);
            k->limits.share_discharge_pct = share_pct(q->share_discharge_pm);
            k->limits.share_charge_measured = q->share_charge_measured;
            k->limits.share_discharge_measured = q->share_discharge_measured;
            /* Its limits as the bank counts them (at most 5 % below its
             * TinyBMS over-current cutoffs, bank.h), so that they add up
             * to what the bank says. */
            if (k->limits.ccl_a.known) {
                k->limits.ccl_a.v = rnd(q->counted_ccl_ma / 1000.0, 1);
                k->limits.dcl_a.v = rnd(q->counted_dcl_ma / 1000.0, 1);
            }
        } else {
            /* One pack: it is the battery; 0x372 says whether it blocks. */
            k->state = bank_pack_state_name(o->data_valid ? BANK_PACK_ONLINE : BANK_PACK_OFFLINE);
            k->member = o->data_valid;
            k->blocks_charge = o->data_valid && b->modules.blocking_charge > 0;
            k->blocks_discharge = o->data_valid && b->modules.blocking_discharge > 0;
        }
    }

    for (size_t i = n; i < STATUS_PACKS_MAX; i++) {
        memset(&o->packs[i], 0, sizeof o->packs[i]);
    }
    memset(&o->bank, 0, sizeof o->bank);
    if (bank) {
        o->bank.ccl_bound = bank_bound_name(b->bank_out.ccl_bound);
        o->bank.dcl_bound = bank_bound_name(b->bank_out.dcl_bound);
        o->bank.ccl_pack = b->bank_out.ccl_pack;
        o->bank.dcl_pack = b->bank_out.dcl_pack;
        o->bank.warnings = b->bank_out.warnings;
    }
    o->bank.online = sat_u8(b->modules.online);
    o->bank.blocking_charge = sat_u8(b->modules.blocking_charge);
    o->bank.blocking_discharge = sat_u8(b->modules.blocking_discharge);
    o->bank.offline = sat_u8(b->modules.offline);
    o->bank.capacity_ah = b->capacity_ah;
    o->bank.online_capacity_ah = b->online_capacity_ah;
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
    build_packs(in, out);
    out->version = in->version;
    return true;
}
