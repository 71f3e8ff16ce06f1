/*
 * The bridge tick: poller results -> snapshots -> limits/alarms -> frames.
 * Frame contents follow victron-can-bms.md A.2; periods A.6.
 */
#include "bridge.h"

#include <string.h>

#include "victron_alarms.h"

#define US_PER_MS 1000u

static void copy_text(char *dst, size_t cap, const char *src)
{
    size_t n = 0;
    if (src != NULL) {
        while (n + 1u < cap && src[n] != '\0') {
            dst[n] = src[n];
            n++;
        }
    }
    dst[n] = '\0';
}

void brg_default_config(brg_config_t *cfg)
{
    if (cfg == NULL) {
        return;
    }
    memset(cfg, 0, sizeof *cfg);
    tbms_poller_default_config(&cfg->poll);
    cfg->bms_timeout_us = 5000u * US_PER_MS;
    /* 0x351 at least every second: Venus drops a BMS after a few seconds
     * without it (victron-can-bms.md A.7). */
    cfg->fast_period_us = 1000u * US_PER_MS;
    cfg->detail_period_us = 5000u * US_PER_MS;
    cfg->identity_period_us = 10000u * US_PER_MS;
    cfg->keepalive_timeout_us = 10000u * US_PER_MS;
    copy_text(cfg->manufacturer, sizeof cfg->manufacturer, "TinyBMS");
    copy_text(cfg->battery_name, sizeof cfg->battery_name, "TinyBMS Bridge");
    copy_text(cfg->family, sizeof cfg->family, "TinyBMS");
    cfg->charge.charge_cell_mv = 3450u;
    cfg->charge.discharge_cell_mv = 2900u;
    cfg->charge.ov_margin_mv = 100u;
    cfg->charge.max_charge_ma = 50000u;
    cfg->charge.max_discharge_ma = 100000u;
    cfg->charge.low_temp_charge_dc = 50;
    cfg->charge.derate = true;
    /* Hold 30 s, then 5 A/s: dbus-serialbattery's anti-flapping
     * (victron-can-bms.md C.1). */
    cfg->charge.recovery_hold_us = 30000u * US_PER_MS;
    cfg->charge.ramp_ma_per_s = 5000u;
    cvl_default_config(&cfg->cvl);
    /* 0: the pack thresholds follow the pack (alarms.h), so 4S, 8S and 16S
     * packs work without a setting. */
    cfg->thresholds.overvoltage_mv = 0;
    cfg->thresholds.undervoltage_mv = 0;
    cfg->thresholds.overtemp_dc = 550;
    cfg->thresholds.low_temp_charge_dc = 50;
    cfg->thresholds.imbalance_warn_mv = 100u;
    cfg->thresholds.imbalance_alarm_mv = 200u;
    cfg->packs = 1u;
    bank_config_t bc;
    bank_default_config(&bc);
    cfg->bank.share_min_ma = bc.share_min_ma;
    cfg->bank.small_current_split_pm = bc.small_current_split_pm;
    cfg->bank.incremental_guard = bc.incremental_guard;
    cfg->bank.offline_grace_us = bc.offline_grace_us;
    cfg->bank.near_cutoff_mv = bc.near_cutoff_mv;
    cfg->bank.rejoin_hold_us = bc.rejoin_hold_us;
    cfg->bank.rejoin_window_cell_mv = bc.rejoin_window_cell_mv;
    cfg->bank.min_packs = bc.min_packs;
}

const char *brg_data_state_name(brg_data_state_t s)
{
    switch (s) {
    case BRG_DATA_WAITING:
        return "waiting";
    case BRG_DATA_VALID:
        return "valid";
    case BRG_DATA_STALE:
        return "stale";
    default:
        return "?";
    }
}

/* The bank's configuration: the bank settings, with the bridge's own
 * caps, stale limit, hold, ramp and CVL machine. */
static void derive_bank_config(const brg_config_t *cfg, bank_config_t *bc)
{
    bank_default_config(bc);
    bc->max_charge_ma = cfg->charge.max_charge_ma;
    bc->max_discharge_ma = cfg->charge.max_discharge_ma;
    bc->pack_timeout_us = cfg->bms_timeout_us;
    bc->share_min_ma = cfg->bank.share_min_ma;
    bc->small_current_split_pm = cfg->bank.small_current_split_pm;
    bc->incremental_guard = cfg->bank.incremental_guard;
    bc->offline_grace_us = cfg->bank.offline_grace_us;
    bc->near_cutoff_mv = cfg->bank.near_cutoff_mv;
    bc->rejoin_hold_us = cfg->bank.rejoin_hold_us;
    bc->rejoin_window_cell_mv = cfg->bank.rejoin_window_cell_mv;
    bc->min_packs = cfg->bank.min_packs;
    bc->recovery_hold_us = cfg->charge.recovery_hold_us;
    bc->ramp_ma_per_s = cfg->charge.ramp_ma_per_s;
    bc->cvl = cfg->cvl;
}

static tbms_err_t check_config(const brg_config_t *cfg)
{
    if (cfg->bms_timeout_us == 0u || cfg->fast_period_us == 0u || cfg->detail_period_us == 0u ||
        cfg->identity_period_us == 0u || cfg->keepalive_timeout_us == 0u || cfg->packs == 0u ||
        cfg->packs > BRG_MAX_PACKS) {
        return TBMS_ERR_RANGE;
    }
    bank_config_t bc;
    derive_bank_config(cfg, &bc);
    /* More packs required than there are: the limits could never leave 0. */
    if (cfg->packs > 1u && (bank_check_config(&bc) != TBMS_OK || bc.min_packs > cfg->packs)) {
        return TBMS_ERR_RANGE;
    }
    return tbms_poller_check_config(&cfg->poll);
}

/* The one path from a brg_config_t to the working configuration, for
 * brg_init and brg_reconfigure alike: what is derived is derived here. */
static void take_config(brg_t *b, const brg_config_t *cfg)
{
    b->cfg = *cfg;
    /* One source for the cold limit: the alarm threshold. */
    b->cfg.charge.low_temp_charge_dc = cfg->thresholds.low_temp_charge_dc;
    b->n_packs = cfg->packs;
    derive_bank_config(&b->cfg, &b->bank_cfg);
}

tbms_err_t brg_init(brg_t *b, const brg_config_t *cfg, uint64_t now_us)
{
    if (b == NULL || cfg == NULL) {
        return TBMS_ERR_ARG;
    }
    tbms_err_t e = check_config(cfg);
    if (e != TBMS_OK) {
        return e;
    }
    memset(b, 0, sizeof *b);
    for (size_t i = 0; i < cfg->packs; i++) {
        brg_bms_t *p = &b->bms[i];
        e = tbms_poller_init(&p->poller, &cfg->poll, now_us);
        if (e != TBMS_OK) {
            return e;
        }
        alm_init(&p->alarms);
        ptemp_init(&p->temp_state);
    }
    take_config(b, cfg);
    alm_init(&b->alarms);
    cvl_init(&b->cvl);
    chg_ramp_init(&b->ccl_ramp);
    chg_ramp_init(&b->dcl_ramp);
    bank_init(&b->bank);
    b->init_us = now_us;
    b->state = BRG_DATA_WAITING;
    return TBMS_OK;
}

/* Integrates V x I between two valid live reads (for 0x378), trapezoid
 * rule; a gap longer than the stale limit or BRG_ENERGY_MAX_GAP_US
 * (whichever is shorter) counts nothing. Every pack's own V x I adds to
 * the one pair of counters (0x378 is the bank's). */
static void integrate_energy(brg_t *b, brg_bms_t *pk, uint64_t now_us)
{
    int64_t p_uw = (int64_t)pk->live.pack_mv * pk->live.pack_ma; /* mV x mA = uW */
    uint64_t max_gap = b->cfg.bms_timeout_us < BRG_ENERGY_MAX_GAP_US ? b->cfg.bms_timeout_us
                                                                     : BRG_ENERGY_MAX_GAP_US;
    if (pk->energy_last_us != 0u && now_us > pk->energy_last_us &&
        now_us - pk->energy_last_us <= max_gap) {
        int64_t dt_us = (int64_t)(now_us - pk->energy_last_us);
        /* 1 mWh = 3.6e12 uW*us; the two halves of the trapezoid are kept
         * apart so that a sign change splits between the counters. */
        const int64_t per_mwh = 3600000000000;
        int64_t halves[2] = {pk->energy_last_p_uw, p_uw};
        for (unsigned i = 0; i < 2u; i++) {
            int64_t e = halves[i] * (dt_us / 2);
            if (e >= 0) {
                pk->energy_rem_charge_uwh_us += e;
            } else {
                pk->energy_rem_discharge_uwh_us += -e;
            }
        }
        b->counters.charged_mwh += (uint64_t)(pk->energy_rem_charge_uwh_us / per_mwh);
        pk->energy_rem_charge_uwh_us %= per_mwh;
        b->counters.discharged_mwh += (uint64_t)(pk->energy_rem_discharge_uwh_us / per_mwh);
        pk->energy_rem_discharge_uwh_us %= per_mwh;
    }
    pk->energy_last_us = now_us;
    pk->energy_last_p_uw = p_uw;
}

/* The cause of a FAULT from the event log: the newest fault-range event,
 * once the log was read after the fault began (an older log would name an
 * older fault). 0 = not known. */
static uint8_t fault_cause(const brg_bms_t *b)
{
    const tbms_events_t *ev = &b->events;
    if (b->fault_since_us == 0u || !ev->valid || ev->read_ms * US_PER_MS < b->fault_since_us) {
        return 0u;
    }
    for (unsigned i = 0; i < ev->count; i++) {
        if (tbms_event_kind(ev->entry[i].id) == TBMS_EVENT_KIND_FAULT) {
            return ev->entry[i].id;
        }
    }
    return 0u;
}

static void copy_text_id(char *dst, const char *src)
{
    copy_text(dst, VCAN_TEXT_MAX + 1u, src);
}

static void cell_text(char *buf, unsigned index1)
{
    /* "C" + 1-based cell number, no stdio in the core. */
    buf[0] = 'C';
    if (index1 >= 10u) {
        buf[1] = (char)('0' + index1 / 10u);
        buf[2] = (char)('0' + index1 % 10u);
        buf[3] = '\0';
    } else {
        buf[1] = (char)('0' + index1);
        buf[2] = '\0';
    }
}

static int32_t round_div(int64_t v, int64_t d)
{
    return (int32_t)(v >= 0 ? (v + d / 2) / d : -((-v + d / 2) / d));
}

/* One pack's own limits: its base limits then its derating (bank.h L_i). */
static void pack_limits(const brg_t *b, brg_bms_t *p)
{
    p->pack.fault_id = fault_cause(p);
    p->limits_ok =
        chg_base_limits(&b->cfg.charge, &p->live, &p->settings, &p->pack, &p->base_limits);
    p->own_limits = p->base_limits;
    if (p->limits_ok) {
        chg_derate(&b->cfg.charge, &p->live, &p->settings, &p->pack, &p->own_limits);
    }
}

/* One pack: the battery is that pack. base -> CVL state machine ->
 * derating -> hold and ramp (charge.h, cvl.h). */
static void refresh_single(brg_t *b, uint64_t now_us)
{
    brg_bms_t *p = &b->bms[0];
    pack_limits(b, p);
    b->live = p->live;
    b->settings = p->settings;
    b->pack = p->pack;
    b->last_valid_us = p->last_valid_us;
    b->oldest_valid_us = p->last_valid_us;
    b->base_limits = p->base_limits;
    b->limits_ok = p->limits_ok;
    chg_limits_t lim;
    if (b->limits_ok && cvl_step(&b->cvl, &b->cfg.cvl, &b->live, &b->settings, &b->base_limits,
                                 now_us, &lim)) {
        chg_derate(&b->cfg.charge, &b->live, &b->settings, &b->pack, &lim);
        lim.ccl_ma = chg_ramp_step(&b->ccl_ramp, lim.ccl_ma, now_us, b->cfg.charge.recovery_hold_us,
                                   b->cfg.charge.ramp_ma_per_s);
        lim.dcl_ma = chg_ramp_step(&b->dcl_ramp, lim.dcl_ma, now_us, b->cfg.charge.recovery_hold_us,
                                   b->cfg.charge.ramp_ma_per_s);
        b->limits = lim;
    } else {
        b->limits = b->base_limits;
    }
    alm_update(&b->alarms, &b->cfg.thresholds, &b->live, &b->settings, &b->pack.temp, now_us);

    b->modules.online = 1;
    b->modules.blocking_charge = b->limits.ccl_ma == 0 ? 1 : 0;
    b->modules.blocking_discharge = b->limits.dcl_ma == 0 ? 1 : 0;
    b->modules.offline = 0;
    b->capacity_ah = round_div(b->settings.capacity_10mah, 100);
    b->online_capacity_ah = b->capacity_ah;
    const tbms_live_t *l = &b->live;
    unsigned cmin = 0, cmax = 0;
    for (unsigned i = 1; i < l->cell_count; i++) {
        cmin = l->cell_100uv[i] < l->cell_100uv[cmin] ? i : cmin;
        cmax = l->cell_100uv[i] > l->cell_100uv[cmax] ? i : cmax;
    }
    cell_text(b->cell_min_id, cmin + 1u);
    cell_text(b->cell_max_id, cmax + 1u);
    copy_text_id(b->temp_min_id, ptemp_sensor_short(b->pack.temp.min_sensor));
    copy_text_id(b->temp_max_id, ptemp_sensor_short(b->pack.temp.max_sensor));
}

/* Several packs: the battery is the bank (bank.h), run on every pack's
 * newest values at now_us. */
static void refresh_bank(brg_t *b, uint64_t now_us)
{
    bank_pack_in_t in[BRG_MAX_PACKS];
    const alm_state_t *alarms[BRG_MAX_PACKS];
    if (!b->bank_formed) {
        /* At start every pack gets its first reads before the bank forms,
         * so that they all join at once (bank.h: with no member yet, fresh
         * packs join without the rejoin hold), instead of the first to
         * answer forming the bank and the others waiting rejoin_hold_us.
         * A pack that does not answer within the stale limit joins later. */
        bool all = true;
        for (size_t i = 0; i < b->n_packs; i++) {
            all = all && b->bms[i].limits_ok;
        }
        if (!all && now_us - b->init_us < b->cfg.bms_timeout_us) {
            return;
        }
        b->bank_formed = true;
    }
    b->last_valid_us = 0u;
    for (size_t i = 0; i < b->n_packs; i++) {
        const brg_bms_t *p = &b->bms[i];
        in[i] = (bank_pack_in_t){
            .live = p->live.valid ? &p->live : NULL,
            .settings = p->settings.valid ? &p->settings : NULL,
            .limits = p->limits_ok ? &p->own_limits : NULL,
            .temp = &p->pack.temp,
            .last_valid_us = p->last_valid_us,
        };
        b->last_valid_us = p->last_valid_us > b->last_valid_us ? p->last_valid_us : b->last_valid_us;
    }
    bank_out_t *o = &b->bank_out;
    if (bank_step(&b->bank, &b->bank_cfg, in, b->n_packs, now_us, o) != TBMS_OK) {
        o->valid = false;
    }
    b->live = o->view;
    b->settings = o->view_settings;
    b->limits = o->limits;
    b->base_limits = o->combined;
    b->limits_ok = o->valid;
    b->pack.fault_id = 0u;
    b->pack.temp = (ptemp_t){
        .usable = o->temp_usable,
        .min_dc = o->temp_min_dc,
        .max_dc = o->temp_max_dc,
        /* 0x356: the worst of the packs (multi-pack.md). */
        .avg_dc = o->temp_dc,
    };
    b->oldest_valid_us = b->last_valid_us;
    for (size_t i = 0; i < b->n_packs; i++) {
        uint64_t t = b->bms[i].last_valid_us;
        if (o->pack[i].state == BANK_PACK_ONLINE && t < b->oldest_valid_us) {
            b->oldest_valid_us = t;
        }
    }
    b->modules = o->modules;
    b->capacity_ah = o->capacity_ah;
    b->online_capacity_ah = o->online_capacity_ah;
    copy_text_id(b->cell_min_id, o->cell_min_id);
    copy_text_id(b->cell_max_id, o->cell_max_id);
    copy_text_id(b->temp_min_id, o->temp_min_id);
    copy_text_id(b->temp_max_id, o->temp_max_id);
    /* 0x35A: the worst of every pack still connected as far as we know. */
    size_t k = 0;
    for (size_t i = 0; i < b->n_packs; i++) {
        if (o->pack[i].state != BANK_PACK_OFFLINE) {
            alarms[k++] = &b->bms[i].alarms;
        }
    }
    if (o->valid) {
        alm_merge(&b->alarms, alarms, k, o->warnings != 0u, &b->live, &b->pack.temp, now_us);
    }
}

static void refresh_outputs(brg_t *b, size_t pack, uint64_t now_us)
{
    if (b->n_packs == 1u) {
        refresh_single(b, now_us);
        return;
    }
    brg_bms_t *p = &b->bms[pack];
    pack_limits(b, p);
    alm_update(&p->alarms, &b->cfg.thresholds, &p->live, &p->settings, &p->pack.temp, now_us);
    /* The bank is stepped when its frames are built (brg_can_tx), on the
     * newest read of every pack, so a read costs its own pack only; until
     * the bank is valid every read steps it, so that the data turns valid
     * with the read that makes it so. */
    if (!b->bank_out.valid) {
        refresh_bank(b, now_us);
    }
}

/* How long before a fast burst is due its live read starts: the average
 * answer time, at most half a poll interval. */
static uint64_t fast_lead_us(const brg_t *b)
{
    uint64_t lead = 0u;
    for (size_t i = 0; i < b->n_packs; i++) {
        uint64_t l = b->bms[i].poller.stats.latency_avg_us;
        lead = l > lead ? l : lead;
    }
    uint64_t half = b->cfg.poll.poll_interval_us / 2u;
    return lead < half ? lead : half;
}

bool brg_pack_fresh(const brg_t *b, size_t pack, uint64_t now_us)
{
    if (b == NULL || pack >= b->n_packs || !b->bms[pack].live.valid) {
        return false;
    }
    uint64_t last = b->bms[pack].last_valid_us;
    return now_us <= last || now_us - last <= b->cfg.bms_timeout_us;
}

/* Whether every pack that is talking has answered the fast window. */
static bool window_answered(const brg_t *b, uint64_t now_us)
{
    for (size_t i = 0; i < b->n_packs; i++) {
        if (brg_pack_fresh(b, i, now_us) && !b->bms[i].fast_answered) {
            return false;
        }
    }
    return true;
}

static void take_result(brg_t *b, size_t pack, const tbms_poll_result_t *r, uint64_t now_us)
{
    brg_bms_t *p = &b->bms[pack];
    if (!r->done || !r->ok) {
        return;
    }
    uint64_t now_ms = now_us / US_PER_MS;
    tbms_err_t e = TBMS_OK;
    switch (r->block) {
    case TBMS_BLOCK_LIVE: {
        tbms_live_t live;
        e = tbms_decode_live(r->regs, r->count, now_ms, &live);
        if (e == TBMS_OK) {
            bool fault = live.status == TBMS_STATUS_FAULT;
            if (fault && p->fault_since_us == 0u) {
                /* Read the event log now for the fault's cause. */
                p->fault_since_us = now_us > 0u ? now_us : 1u;
                tbms_poller_request(&p->poller, TBMS_BLOCK_EVENTS, now_us);
            } else if (!fault) {
                p->fault_since_us = 0u;
            }
            p->live = live;
            p->last_valid_us = now_us;
            ptemp_update(&p->temp_state, &p->live, &p->pack.temp);
            integrate_energy(b, p, now_us);
            if (p->fast_armed || now_us >= b->next_fast_us) {
                p->fast_answered = true; /* its answer of the fast window */
                p->fast_armed = false;
                b->fast_ready = window_answered(b, now_us);
            }
        }
        break;
    }
    case TBMS_BLOCK_SETTINGS: {
        tbms_settings_t s;
        e = tbms_decode_settings(r->regs, r->count, now_ms, &s);
        if (e == TBMS_OK) {
            p->settings = s;
        }
        break;
    }
    case TBMS_BLOCK_VERSION:
        e = tbms_decode_version(r->regs, r->count, now_ms, &p->version);
        break;
    case TBMS_BLOCK_STATS:
        e = tbms_decode_stats(r->regs, r->count, now_ms, &p->stats);
        break;
    case TBMS_BLOCK_EVENTS:
        e = tbms_decode_events(r->regs, r->count, now_ms, &p->events);
        if (e == TBMS_OK && p->live.valid) {
            (void)tbms_events_sort_by_age(&p->events, p->live.lifetime_s);
        }
        break;
    default:
        break;
    }
    if (e != TBMS_OK) {
        b->counters.decode_errors++;
        p->last_decode_err = e;
        p->last_decode_block = r->block;
        return;
    }
    if (p->live.valid) {
        refresh_outputs(b, pack, now_us);
    }
}

bool brg_uart_step(brg_t *b, size_t pack, uint64_t now_us, tbms_poll_tx_t *tx)
{
    if (b == NULL || tx == NULL || pack >= b->n_packs) {
        return false;
    }
    brg_bms_t *p = &b->bms[pack];
    tbms_poll_result_t res;
    bool send = tbms_poller_step(&p->poller, now_us, tx, &res);
    if (send && now_us >= b->fast_read_at_us && tbms_poller_live_in_flight(&p->poller)) {
        p->fast_armed = true; /* the live read of the fast window is on the wire */
    }
    (void)brg_data_state(b, now_us);
    return send;
}

void brg_uart_rx(brg_t *b, size_t pack, const uint8_t *data, size_t n, uint64_t now_us)
{
    if (b == NULL || pack >= b->n_packs) {
        return;
    }
    tbms_poll_result_t res;
    tbms_poller_feed(&b->bms[pack].poller, data, n, now_us, &res);
    take_result(b, pack, &res, now_us);
    (void)brg_data_state(b, now_us);
}


/* Valid limits from fresh data: the pack's (one pack), or the bank's
 * with at least one online member read within the stale limit. */
static bool battery_fresh(const brg_t *b, uint64_t now_us)
{
    if (b->n_packs == 1u) {
        return b->settings.valid && b->limits_ok && brg_pack_fresh(b, 0u, now_us);
    }
    if (!b->bank_out.valid) {
        return false;
    }
    for (size_t i = 0; i < b->n_packs; i++) {
        if (b->bank_out.pack[i].state == BANK_PACK_ONLINE && brg_pack_fresh(b, i, now_us)) {
            return true;
        }
    }
    return false;
}

brg_data_state_t brg_data_state(brg_t *b, uint64_t now_us)
{
    if (b == NULL) {
        return BRG_DATA_WAITING;
    }
    bool fresh = battery_fresh(b, now_us);
    if (!fresh && b->n_packs > 1u && b->state == BRG_DATA_VALID) {
        /* The bank decides: a silent pack may still count (its grace). */
        refresh_bank(b, now_us);
        fresh = battery_fresh(b, now_us);
    }
    brg_data_state_t next = b->state;
    if (fresh) {
        next = BRG_DATA_VALID;
    } else if (b->state == BRG_DATA_VALID) {
        next = BRG_DATA_STALE;
        b->counters.stale_events++;
    }
    if (next == BRG_DATA_VALID && b->state != BRG_DATA_VALID) {
        /* (Re)gained valid data: every frame goes out at once, with the
         * read that made it valid. */
        b->next_fast_us = now_us;
        b->fast_ready = true;
        b->next_detail_us = now_us;
        b->next_identity_us = now_us;
    }
    b->state = next;
    return next;
}

bool brg_keepalive_ok(const brg_t *b, uint64_t now_us)
{
    return b != NULL && b->keepalive_seen &&
           (now_us <= b->last_keepalive_us ||
            now_us - b->last_keepalive_us <= b->cfg.keepalive_timeout_us);
}

void brg_can_rx(brg_t *b, const vcan_frame_t *f, uint64_t now_us)
{
    if (b == NULL || f == NULL) {
        return;
    }
    if (f->id == VCAN_ID_KEEPALIVE) {
        vcan_keepalive_t k;
        if (vcan_decode_keepalive(f, &k) == VCAN_OK) {
            b->keepalive_seen = true;
            b->last_keepalive_us = now_us;
            b->counters.keepalive_rx++;
        }
    } else if (f->id == VCAN_ID_HANDSHAKE) {
        vcan_handshake_t h;
        if (vcan_decode_handshake(f, &h) == VCAN_OK) {
            b->handshake_victron = b->handshake_victron || h.is_victron;
            b->counters.handshake_rx++;
        }
    } else {
        b->counters.rx_other++;
    }
}

/* ---- frame builders ---- */

typedef struct {
    vcan_frame_t *out;
    size_t cap;
    size_t n;
} sink_t;

static vcan_frame_t *slot(sink_t *s)
{
    return s->n < s->cap ? &s->out[s->n] : NULL;
}

static void commit(sink_t *s, vcan_err_t e)
{
    if (e == VCAN_OK && s->n < s->cap) {
        s->n++;
    }
}

/* A current limit in 0.1 A, rounded down: the wire never allows more. */
static int32_t limit_da(int32_t ma)
{
    return ma > 0 ? ma / 100 : 0;
}

static void build_fast(const brg_t *b, sink_t *s)
{
    const tbms_live_t *l = &b->live;
    vcan_limits_t lim = {
        .cvl_mv = b->limits.cvl_mv,
        .ccl_da = limit_da(b->limits.ccl_ma),
        .dcl_da = limit_da(b->limits.dcl_ma),
        .dvl_mv = b->limits.dvl_mv,
    };
    vcan_frame_t *f = slot(s);
    commit(s, f ? vcan_encode_limits(&lim, f) : VCAN_ERR_ARG);

    vcan_soc_t soc = {
        .soc_pct = round_div(l->soc_cpct, 100),
        /* SOH is unknown on firmware before 2.3.251 (reg 45 reserved): 100 %. */
        .soh_pct = l->soh_valid ? round_div(l->soh_cpct, 100) : 100,
        .soc_hires_present = true,
        .soc_hires_cpct = l->soc_cpct,
    };
    f = slot(s);
    commit(s, f ? vcan_encode_soc(&soc, f) : VCAN_ERR_ARG);

    /* Temperature: the mean of the sensors that protect the pack. */
    const ptemp_t *temp = &b->pack.temp;
    vcan_battery_t bat = {
        .voltage_mv = l->pack_mv,
        .current_da = round_div(l->pack_ma, 100),
        .temp_dc = temp->usable ? temp->avg_dc : 0,
    };
    f = slot(s);
    commit(s, f ? vcan_encode_battery(&bat, f) : VCAN_ERR_ARG);

    vcan_alarms_t al;
    alm_to_victron(&b->alarms, &al);
    f = slot(s);
    commit(s, f ? vcan_encode_alarms(&al, f) : VCAN_ERR_ARG);
}

static void build_detail(const brg_t *b, sink_t *s)
{
    const tbms_live_t *l = &b->live;
    vcan_frame_t *f = slot(s);
    commit(s, f ? vcan_encode_modules(&b->modules, f) : VCAN_ERR_ARG);

    const ptemp_t *temp = &b->pack.temp;
    if (temp->usable) {
        vcan_cells_t cells = {
            .min_cell_mv = l->cell_min_mv,
            .max_cell_mv = l->cell_max_mv,
            .min_temp_dc = temp->min_dc,
            .max_temp_dc = temp->max_dc,
        };
        f = slot(s);
        commit(s, f ? vcan_encode_cells(&cells, f) : VCAN_ERR_ARG);
    }
    if (l->cell_count > 0u) {
        f = slot(s);
        commit(s, f ? vcan_encode_text(VCAN_ID_MIN_CELL_V_NAME, b->cell_min_id, f) : VCAN_ERR_ARG);
        f = slot(s);
        commit(s, f ? vcan_encode_text(VCAN_ID_MAX_CELL_V_NAME, b->cell_max_id, f) : VCAN_ERR_ARG);
    }
    if (temp->usable) {
        f = slot(s);
        commit(s, f ? vcan_encode_text(VCAN_ID_MIN_TEMP_NAME, b->temp_min_id, f) : VCAN_ERR_ARG);
        f = slot(s);
        commit(s, f ? vcan_encode_text(VCAN_ID_MAX_TEMP_NAME, b->temp_max_id, f) : VCAN_ERR_ARG);
    }
    vcan_energy_t en = {
        .charged_wh = (int64_t)(b->counters.charged_mwh / 1000u),
        .discharged_wh = (int64_t)(b->counters.discharged_mwh / 1000u),
    };
    f = slot(s);
    commit(s, f ? vcan_encode_energy(&en, f) : VCAN_ERR_ARG);
    vcan_capacity_t cap = {.capacity_ah = b->capacity_ah};
    f = slot(s);
    commit(s, f ? vcan_encode_capacity(&cap, f) : VCAN_ERR_ARG);
}

/* The firmware reported in 0x35F: the first pack's that is known. */
static const tbms_version_t *battery_version(const brg_t *b)
{
    for (size_t i = 0; i < b->n_packs; i++) {
        if (b->bms[i].version.valid) {
            return &b->bms[i].version;
        }
    }
    return NULL;
}

static void build_identity(const brg_t *b, sink_t *s)
{
    vcan_frame_t *f = slot(s);
    commit(s, f ? vcan_encode_text(VCAN_ID_MANUFACTURER, b->cfg.manufacturer, f) : VCAN_ERR_ARG);
    /* Firmware: public release as major, internal version's low byte as
     * minor; capacity: the nominal capacity (reg 306), see the note in
     * victron-can-bms.md A.9 item 4; for a bank that of the online packs
     * (multi-pack.md). */
    const tbms_version_t *v = battery_version(b);
    vcan_identity_t id = {
        .model = 0u,
        .fw_major = v != NULL ? v->fw_public : 0u,
        .fw_minor = v != NULL ? (uint8_t)(v->fw_internal & 0xFFu) : 0u,
        .capacity_ah = b->online_capacity_ah,
    };
    f = slot(s);
    commit(s, f ? vcan_encode_identity(&id, f) : VCAN_ERR_ARG);
    if (s->n + 2u <= s->cap) {
        if (vcan_encode_name(b->cfg.battery_name, &s->out[s->n], &s->out[s->n + 1u]) == VCAN_OK) {
            s->n += 2u;
        }
    }
    f = slot(s);
    commit(s, f ? vcan_encode_text(VCAN_ID_FAMILY, b->cfg.family, f) : VCAN_ERR_ARG);
}

static uint64_t next_period(uint64_t due, uint64_t period, uint64_t now)
{
    due += period;
    return due <= now ? now + period : due;
}

size_t brg_can_tx(brg_t *b, uint64_t now_us, vcan_frame_t *out, size_t cap)
{
    if (b == NULL || out == NULL || brg_data_state(b, now_us) != BRG_DATA_VALID) {
        return 0u;
    }
    sink_t s = {out, cap, 0u};
    bool fast = b->fast_ready || now_us >= b->next_fast_us + BRG_FAST_WINDOW_US;
    if (b->n_packs > 1u &&
        (fast || now_us >= b->next_identity_us || now_us >= b->next_detail_us)) {
        /* The bank on every pack's newest read, once per burst: a pack
         * that blocks or falls silent changes the limits within one
         * 0x351 period, and a silent pack's grace ends on a call. */
        refresh_bank(b, now_us);
        if (brg_data_state(b, now_us) != BRG_DATA_VALID) {
            return 0u;
        }
    }
    if (fast) {
        build_fast(b, &s);
        b->fast_ready = false;
        b->next_fast_us = next_period(b->next_fast_us, b->cfg.fast_period_us, now_us);
        /* The next window opens when its live reads start. */
        b->fast_read_at_us = b->next_fast_us - fast_lead_us(b);
        for (size_t i = 0; i < b->n_packs; i++) {
            b->bms[i].fast_armed = false;
            b->bms[i].fast_answered = false;
            tbms_poller_align_live(&b->bms[i].poller, b->fast_read_at_us, now_us);
        }
    }
    if (now_us >= b->next_identity_us) {
        build_identity(b, &s);
        b->next_identity_us = next_period(b->next_identity_us, b->cfg.identity_period_us, now_us);
    }
    if (now_us >= b->next_detail_us) {
        build_detail(b, &s);
        b->next_detail_us = next_period(b->next_detail_us, b->cfg.detail_period_us, now_us);
    }
    b->counters.frames += (uint32_t)s.n;
    return s.n;
}

const char *brg_cvl_state_name(const brg_t *b)
{
    if (b == NULL) {
        return "UNKNOWN";
    }
    return cvl_state_name(b->n_packs > 1u ? b->bank.cvl.state : b->cvl.state);
}

void brg_set_energy(brg_t *b, uint64_t charged_mwh, uint64_t discharged_mwh)
{
    if (b != NULL) {
        b->counters.charged_mwh = charged_mwh;
        b->counters.discharged_mwh = discharged_mwh;
    }
}

void brg_refresh(brg_t *b, uint64_t now_us)
{
    if (b != NULL && b->n_packs > 1u) {
        refresh_bank(b, now_us);
        (void)brg_data_state(b, now_us);
    }
}

size_t brg_build_all(brg_t *b, vcan_frame_t *out, size_t cap)
{
    if (b == NULL || out == NULL || b->state != BRG_DATA_VALID) {
        return 0u;
    }
    sink_t s = {out, cap, 0u};
    build_fast(b, &s);
    build_identity(b, &s);
    build_detail(b, &s);
    return s.n;
}

static uint32_t max_u32(uint32_t a, uint32_t b)
{
    return a > b ? a : b;
}

tbms_poller_stats_t brg_uart_stats(const brg_t *b)
{
    tbms_poller_stats_t u;
    memset(&u, 0, sizeof u);
    if (b == NULL || b->n_packs == 0u) {
        return u;
    }
    u = tbms_poller_stats(&b->bms[0].poller);
    uint64_t weighted = (uint64_t)u.latency_avg_us * u.success;
    for (size_t i = 1; i < b->n_packs; i++) {
        tbms_poller_stats_t p = tbms_poller_stats(&b->bms[i].poller);
        u.polls += p.polls;
        u.success += p.success;
        u.failures += p.failures;
        u.retries += p.retries;
        u.timeouts += p.timeouts;
        u.crc_errors += p.crc_errors;
        u.malformed += p.malformed;
        u.truncated += p.truncated;
        u.nacks += p.nacks;
        u.unexpected += p.unexpected;
        u.garbage_bytes += p.garbage_bytes;
        u.latency_last_us = max_u32(u.latency_last_us, p.latency_last_us);
        u.latency_max_us = max_u32(u.latency_max_us, p.latency_max_us);
        weighted += (uint64_t)p.latency_avg_us * p.success;
    }
    if (b->n_packs > 1u) {
        u.latency_avg_us = u.success > 0u ? (uint32_t)((weighted + u.success / 2u) / u.success) : 0u;
    }
    return u;
}

uint64_t brg_next_us(const brg_t *b)
{
    if (b == NULL) {
        return UINT64_MAX;
    }
    uint64_t next = UINT64_MAX;
    for (size_t i = 0; i < b->n_packs; i++) {
        uint64_t t = tbms_poller_next_us(&b->bms[i].poller);
        next = t < next ? t : next;
    }
    if (b->state == BRG_DATA_VALID) {
        /* The window's answer is in: now; else the window's end (the
         * answer itself wakes the caller first). */
        uint64_t fast = b->fast_ready ? 0u : b->next_fast_us + BRG_FAST_WINDOW_US;
        uint64_t cands[4] = {fast, b->next_detail_us, b->next_identity_us,
                             b->last_valid_us + b->cfg.bms_timeout_us + 1u};
        for (unsigned i = 0; i < 4u; i++) {
            next = cands[i] < next ? cands[i] : next;
        }
    }
    return next;
}

tbms_err_t brg_reconfigure(brg_t *b, const brg_config_t *cfg, uint64_t now_us)
{
    if (b == NULL || cfg == NULL) {
        return TBMS_ERR_ARG;
    }
    tbms_err_t e = check_config(cfg);
    if (e != TBMS_OK) {
        return e;
    }
    if (cfg->packs != b->n_packs) {
        return TBMS_ERR_RANGE; /* each pack is a UART: a restart opens them */
    }
    for (size_t i = 0; i < b->n_packs; i++) {
        e = tbms_poller_reconfigure(&b->bms[i].poller, &cfg->poll, now_us);
        if (e != TBMS_OK) {
            return e;
        }
    }
    take_config(b, cfg);
    /* Periods that got shorter take effect now, not after the old one. */
    uint64_t due[3] = {now_us + cfg->fast_period_us, now_us + cfg->detail_period_us,
                       now_us + cfg->identity_period_us};
    uint64_t *next[3] = {&b->next_fast_us, &b->next_detail_us, &b->next_identity_us};
    for (unsigned i = 0; i < 3u; i++) {
        *next[i] = *next[i] < due[i] ? *next[i] : due[i];
    }
    if (b->n_packs > 1u) {
        for (size_t i = 0; i < b->n_packs; i++) {
            if (b->bms[i].live.valid) {
                pack_limits(b, &b->bms[i]);
            }
        }
        refresh_bank(b, now_us);
    } else if (b->bms[0].live.valid) {
        refresh_single(b, now_us);
    }
    (void)brg_data_state(b, now_us);
    return TBMS_OK;
}
