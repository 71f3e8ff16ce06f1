/*
 * sim-check: the closed loop. The core bridge polls the in-process TinyBMS
 * simulator (sim/tbms_sim.h) over an in-memory byte link, and its 0x351
 * frames drive a simulated Victron system (sim/victron_sim.h) whose
 * battery current goes back into the simulator. Everything runs on one
 * simulated clock at full speed: no pty, no real time.
 *
 * Two configurations, side by side:
 *   ours  the shipped configuration (cfg_defaults) through the real bridge
 *         and its charge controller (base -> CVL machine -> derating -> ramps);
 *   seed  the seed's CVL algorithm exactly as seed-system.md 3.4 with its
 *         defaults (3.3 column b), including its bulk target = the
 *         over-voltage alarm threshold 58.4 V, its 20 s period, its
 *         protection and its protection ratio on CCL and DCL. It replaces
 *         the 0x351 content of the same bridge. Deviations (it cannot be
 *         reproduced faithfully there): SOC decoded correctly (the seed
 *         mis-decodes it, 9 item 2) and CCL/DCL bases from the configured
 *         maxima (the seed took the lifetime statistics 102/103, 9 item 6,
 *         which read 0 on a fresh BMS and would block charging outright).
 *
 * Assertions (exit status 1 when one fails for "ours"; the seed's results
 * are reported, never asserted, when both run):
 *   - the highest true cell voltage never exceeds reg 315, the lowest never
 *     goes below reg 316;
 *   - CVL state changes per day <= MAX_CHANGES_PER_DAY;
 *   - every day with enough PV reaches full (BMS SOC >= 98 %, the float
 *     threshold).
 *
 * A third run, "bank" (--config bank or all): two mismatched packs in
 * parallel on one DC bus (sim/tbms_sim_bus.h: pack 2 with 80 % of the
 * capacity, 30 % more resistance, 10 points less SOC), each with its own
 * TinyBMS on its own link, the bridge reading both as one battery
 * (bank.h), the Victron system (and the SUSTAIN state's charge current
 * cap, a per-battery setting) sized for the bank. Each TinyBMS set to a
 * 60 A charge over-current cutoff (reg 318) and the bank cap at 120 A, so
 * that the packs' own limits, not the cap, bound the bank. Asserted:
 *   - no pack's current ever above its own TinyBMS over-current settings
 *     (reg 318 charging, reg 317 discharging), and no over-current cut;
 *   - every cell of every pack within reg 315 / reg 316;
 *   - every day with enough PV (for the bank) reaches full: both packs'
 *     SOC >= 98 %.
 * Reported: each pack's current over the limit the bridge computed for it
 * (its own derated limit, one read old).
 *
 * Usage: sim-check [--days N] [--seed N] [--config seed|ours|both|bank|all]
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bridge.h"
#include "bridge_config.h"
#include "config.h"
#include "tbms_sim.h"
#include "tbms_sim_bus.h"
#include "victron_sim.h"

#define US_PER_S   1000000ull
#define US_PER_DAY (86400ull * US_PER_S)
#define MAX_DAYS   366u

/*
 * A day may pass once up through BULK -> TRANSITION -> FLOAT_APPROACH ->
 * FLOAT (3 changes) and once down again in the evening (up to 3), enter
 * and leave IMBALANCE_HOLD (2) and SUSTAIN (2): 10. Anything above 12
 * means a state is being entered and left repeatedly: oscillation.
 */
#define MAX_CHANGES_PER_DAY 12u

/* "Full": the BMS's SOC reached the float threshold (both configs: 98 %). */
#define FULL_SOC_PCT 98.0f

/* A day has "enough PV" when the surplus the charger could take (capped at
 * the configured 50 A) is 1.3 x the energy missing at sunrise plus 1.5 kWh
 * for the constant-voltage taper. */
#define ENOUGH_FACTOR_PCT  130u
#define ENOUGH_TAPER_WH    1500u
#define CHARGE_CAP_MA      50000
#define PACK_NOMINAL_MV    51200
#define PACK_CAPACITY_AH   280

typedef enum { RUN_OURS = 0, RUN_SEED = 1 } run_kind_t;
static const char *const run_names[2] = {"ours", "seed"};

typedef struct {
    uint32_t changes;     /* CVL state changes */
    uint32_t cvl_moves;   /* changes of the CVL sent in 0x351 (0.1 V steps) */
    uint32_t protections; /* cell protection engaged */
    int32_t cell_max_mv;
    int32_t cell_min_mv;
    float soc_sunrise_pct;
    float soc_max_pct;
    float soc_min_pct;
    bool full;
    double in_kwh, out_kwh, unmet_kwh;
    uint32_t bms_cuts; /* BMS protections (OV/UV/empty) that opened a switch */
} day_stats_t;

typedef struct {
    day_stats_t day[MAX_DAYS];
    uint16_t ov_cutoff_mv, uv_cutoff_mv;
    bool ok;
} run_result_t;

/* ---------------- the seed's CVL algorithm (seed-system.md 3.4) ---------------- */

typedef struct {
    int state; /* 0..5 as cvl_state_t */
    bool protection;
    double cvl_v, ccl_a, dcl_a;
    bool computed;
    uint32_t changes;
} seed_cvl_t;

/* seed-system.md 3.3 column (b); bulk target = thresholds.overvoltage_v. */
static const struct {
    double bulk_soc, transition_soc, float_soc, float_exit_soc;
    double fa_offset_v, f_offset_v, min_ccl_float_a;
    double imb_hold_mv, imb_release_mv, bulk_target_v;
    double cells, cell_max_v, safety_v, release_v, min_float_v, kp, nominal_a, recovery_v;
    double sustain_entry, sustain_exit, sustain_cell_v, sustain_ccl_a, sustain_dcl_a;
    double drop_per_mv, drop_max_v;
} seed = {90, 95, 98, 95, 0.050, 0.100, 5.0, 100, 50, 58.4, 16, 3.65, 3.50, 3.47, 3.20, 120,
          157, 0.4, 5, 8, 3.125, 5, 5, 0.0005, 2.0};

static double dmax(double a, double b)
{
    return a > b ? a : b;
}

static double dmin(double a, double b)
{
    return a < b ? a : b;
}

static void seed_compute(seed_cvl_t *s, const tbms_live_t *l, double base_ccl, double base_dcl)
{
    double soc = l->soc_cpct / 100.0;
    double imb = (double)l->cell_max_mv - l->cell_min_mv;
    double vmax = l->cell_max_mv / 1000.0;
    double amps = l->pack_ma / 1000.0;
    int prev = s->state;
    double t = dmax(seed.bulk_target_v, 0);
    double v_fa = dmax(t - seed.fa_offset_v, 0);
    double v_f = dmax(t - seed.f_offset_v, 0);
    if (v_f > v_fa) {
        double x = v_f;
        v_f = v_fa;
        v_fa = x;
    }
    bool sustain = prev == 5;
    if (!sustain && soc <= seed.sustain_entry) {
        sustain = true;
    } else if (sustain && soc >= seed.sustain_exit) {
        sustain = false;
    }
    bool hold = prev == 4 && !sustain;
    if (hold && imb <= seed.imb_release_mv) {
        hold = false;
    } else if (!hold && !sustain && imb > seed.imb_hold_mv) {
        hold = true;
    }
    int st;
    if (sustain) {
        st = 5;
    } else if (hold) {
        st = 4;
    } else if (prev == 3 && soc >= seed.float_exit_soc) {
        st = 3;
    } else {
        st = soc >= seed.float_soc ? 3 : soc >= seed.transition_soc ? 2 : soc >= seed.bulk_soc ? 1 : 0;
        /* The FLOAT_APPROACH exit hysteresis of step 5 is dead code: omitted. */
    }
    double ccl = dmax(0, base_ccl);
    double dcl = dmax(0, base_dcl);
    double n = seed.cells;
    double v_s = t;
    switch (st) {
    case 2:
        v_s = v_fa;
        break;
    case 3:
        v_s = v_f;
        ccl = dmin(ccl, seed.min_ccl_float_a);
        break;
    case 4: {
        double drop = dmin(seed.drop_max_v, dmax(0, imb - seed.imb_hold_mv) * seed.drop_per_mv);
        v_s = dmax(t - drop, seed.min_float_v * n);
        ccl = dmin(ccl, seed.min_ccl_float_a);
        break;
    }
    case 5:
        v_s = dmax(seed.sustain_cell_v * n, seed.min_float_v * n);
        ccl = dmin(ccl, seed.sustain_ccl_a);
        dcl = dmin(dcl, seed.sustain_dcl_a);
        break;
    default:
        break;
    }
    double limit = seed.cell_max_v * n;
    bool prev_active = s->protection;
    bool active = prev_active;
    if (!active && vmax >= seed.safety_v) {
        active = true;
    } else if (active && vmax <= seed.release_v) {
        active = false;
    }
    if (active) {
        double delta = dmax(0, vmax - seed.safety_v);
        double f = 1 + dmax(0, amps) / dmax(seed.nominal_a, 1);
        limit = dmax(seed.min_float_v * n, limit - seed.kp * f * delta);
    } else {
        limit = dmax(seed.min_float_v * n, limit);
    }
    if (seed.recovery_v > 0 && s->cvl_v > 0 && (active || prev_active)) {
        limit = dmin(limit, s->cvl_v + seed.recovery_v);
    }
    double cvl = dmin(v_s, limit);
    double ratio = v_s <= 0 ? 1 : dmin(1, dmax(0, cvl / v_s));
    s->ccl_a = dmin(ccl, ccl * ratio);
    s->dcl_a = dmin(dcl, dcl * ratio);
    s->cvl_v = cvl;
    s->protection = active;
    if (s->computed && st != prev) {
        s->changes++;
    }
    s->state = st;
    s->computed = true;
}

/* ---------------- the loop ---------------- */

static uint16_t cfg_u16(const tbms_sim_t *sim, uint16_t reg)
{
    return tbms_sim_register(sim, reg);
}

/* Energy the charger could take from the PV surplus on day d, Wh. */
static double chargeable_wh(const vsim_t *v, uint32_t d)
{
    double wh = 0;
    for (uint64_t s = 0; s < 86400u; s += 60u) {
        uint64_t t = d * US_PER_DAY + s * US_PER_S;
        int32_t surplus = vsim_pv_w(v, t) - vsim_load_w(v, t);
        double cap_w = (double)CHARGE_CAP_MA * PACK_NOMINAL_MV / 1e6;
        wh += dmin(surplus > 0 ? surplus : 0, cap_w) * 60.0 / 3600.0;
    }
    return wh;
}

static bool enough_pv(double chargeable, float soc_sunrise_pct)
{
    double missing_wh = (100.0 - (double)soc_sunrise_pct) / 100.0 * PACK_CAPACITY_AH *
                        PACK_NOMINAL_MV / 1000.0;
    return chargeable >= missing_wh * ENOUGH_FACTOR_PCT / 100.0 + ENOUGH_TAPER_WH;
}

static bool trace;

/* The simulated TinyBMS both runs start from: the seed, 50 % SOC, its
 * current set by the Victron system (no demo day), no sleep. */
static tbms_sim_config_t sim_base_config(uint32_t seed_n)
{
    tbms_sim_config_t sc = tbms_sim_default_config();
    sc.seed = seed_n;
    sc.soc_pct = 50.0f;
    sc.demo_profile = false;
    sc.sleep_enabled = false;
    return sc;
}

/* The shipped configuration, with the reads a 1 s closed loop needs: live
 * data every second, settings every 10 minutes, no statistics or events. */
static void loop_config(cfg_t *cfg)
{
    cfg_defaults(cfg);
    cfg->tinybms.poll_interval_ms = 1000;
    cfg->tinybms.settings_refresh_ms = 600000;
    cfg->tinybms.stats_refresh_ms = 0;
    cfg->tinybms.events_refresh_ms = 0;
}

static void run(run_kind_t kind, uint32_t days, uint32_t seed_n, run_result_t *res)
{
    static tbms_sim_t sim;
    static brg_t brg;
    memset(res, 0, sizeof *res);

    tbms_sim_config_t sc = sim_base_config(seed_n);
    (void)tbms_sim_init(&sim, &sc, 0u);
    tbms_sim_set_current_ma(&sim, 0);
    /* The TinyBMS set up as docs/charge-control.md recommends: "fully
     * charged" (reg 300) at the charge voltage per cell, so the BMS resets
     * its SOC to 100 % at the end of each full charge. With the simulator's
     * 3550 mV a 3.45 V/cell CVL never reaches it and the coulomb-counted SOC
     * drifts after the first empty battery (the SOC-driven states with it). */
    uint16_t full_mv = 3450u;
    (void)tbms_sim_write_settings(&sim, 300u, &full_mv, 1u);
    res->ov_cutoff_mv = cfg_u16(&sim, 315);
    res->uv_cutoff_mv = cfg_u16(&sim, 316);

    cfg_t cfg;
    loop_config(&cfg);
    brg_config_t bc;
    bridge_config_from_cfg(&cfg, &bc);
    (void)brg_init(&brg, &bc, 0u);

    vsim_t vic;
    vsim_config_t vc = vsim_default_config(seed_n);
    vsim_init(&vic, &vc);

    seed_cvl_t sd;
    memset(&sd, 0, sizeof sd);
    uint64_t seed_next = 0;
    bool seed_started = false;

    uint64_t now = 0;
    uint64_t end = (uint64_t)days * US_PER_DAY;
    uint64_t next_vic = 0;
    uint32_t day = 0;
    uint32_t changes_at_day_start = 0;
    bool prot_prev = false;
    int32_t last_cvl = -1;
    uint8_t faults_prev = 0;
    int trace_state = 0;
    day_stats_t *ds = &res->day[0];
    ds->cell_min_mv = INT32_MAX;
    ds->soc_min_pct = 100.0f;

    while (now < end) {
        tbms_poll_tx_t tx;
        if (brg_uart_step(&brg, 0u, now, &tx)) {
            static uint8_t out[TBMS_SIM_TX_CAP];
            size_t n = 0;
            (void)tbms_sim_receive(&sim, tx.bytes, tx.len, now / 1000u, out, sizeof out, &n);
            if (n > 0u) {
                brg_uart_rx(&brg, 0u, out, n, now);
            }
        }
        if (kind == RUN_SEED && brg.live.valid && brg.limits_ok) {
            if (!seed_started) {
                /* Before the first run (20 s) the seed sends CVL = pack voltage (9 item 7). */
                seed_started = true;
                seed_next = now + 20u * US_PER_S;
                sd.cvl_v = brg.live.pack_mv / 1000.0;
                sd.ccl_a = brg.base_limits.ccl_ma / 1000.0;
                sd.dcl_a = brg.base_limits.dcl_ma / 1000.0;
            } else if (now >= seed_next) {
                seed_compute(&sd, &brg.live, brg.base_limits.ccl_ma / 1000.0,
                             brg.base_limits.dcl_ma / 1000.0);
                seed_next += 20u * US_PER_S;
            }
        }
        vcan_frame_t frames[BRG_MAX_FRAMES_PER_TICK];
        size_t nf = brg_can_tx(&brg, now, frames, BRG_MAX_FRAMES_PER_TICK);
        for (size_t i = 0; i < nf; i++) {
            if (kind == RUN_SEED && frames[i].id == VCAN_ID_LIMITS) {
                vcan_limits_t l = {
                    .cvl_mv = (int32_t)(sd.cvl_v * 1000.0),
                    .ccl_da = (int32_t)(sd.ccl_a * 10.0),
                    .dcl_da = (int32_t)(sd.dcl_a * 10.0),
                    .dvl_mv = brg.limits.dvl_mv,
                };
                (void)vcan_encode_limits(&l, &frames[i]);
            }
            vsim_rx_frame(&vic, &frames[i], now);
        }

        if (now >= next_vic) {
            tbms_sim_step(&sim, now / 1000u);
            int32_t pack_mv = 0;
            int32_t vmax = 0;
            int32_t vmin = INT32_MAX;
            for (unsigned c = 0; c < tbms_sim_cell_count(&sim); c++) {
                int32_t mv = (int32_t)tbms_sim_cell_mv(&sim, c);
                pack_mv += mv;
                vmax = mv > vmax ? mv : vmax;
                vmin = mv < vmin ? mv : vmin;
            }
            float soc = tbms_sim_soc_pct(&sim);
            double p_w = (double)tbms_sim_current_ma(&sim) * pack_mv / 1e6;
            ds->cell_max_mv = vmax > ds->cell_max_mv ? vmax : ds->cell_max_mv;
            ds->cell_min_mv = vmin < ds->cell_min_mv ? vmin : ds->cell_min_mv;
            ds->soc_max_pct = soc > ds->soc_max_pct ? soc : ds->soc_max_pct;
            ds->soc_min_pct = soc < ds->soc_min_pct ? soc : ds->soc_min_pct;
            ds->full = ds->full || soc >= FULL_SOC_PCT;
            if (p_w > 0) {
                ds->in_kwh += p_w / 3.6e6;
            } else {
                ds->out_kwh += -p_w / 3.6e6;
            }
            if ((now % US_PER_DAY) == 6u * 3600u * US_PER_S) {
                ds->soc_sunrise_pct = soc;
            }
            bool prot = kind == RUN_SEED ? sd.protection : brg.cvl.protection_active;
            ds->protections += prot && !prot_prev;
            prot_prev = prot;
            if (vic.have_limits && vic.limits.cvl_mv != last_cvl) {
                ds->cvl_moves += last_cvl >= 0;
                last_cvl = vic.limits.cvl_mv;
            }
            uint8_t faults = tbms_sim_faults(&sim) &
                             (TBMS_SIM_FAULT_OV | TBMS_SIM_FAULT_UV | TBMS_SIM_WARN_EMPTY);
            ds->bms_cuts += (uint32_t)((faults & ~faults_prev) != 0u);
            faults_prev = faults;

            int st = kind == RUN_SEED ? sd.state : (int)brg.cvl.state;
            if (trace && st != trace_state) {
                printf("trace %s day %u %02u:%02u %s -> %s soc %.2f %% cell max %d mV cvl %.2f V\n",
                       run_names[kind], (unsigned)(now / US_PER_DAY) + 1u,
                       (unsigned)(now % US_PER_DAY / 3600000000ull),
                       (unsigned)(now % 3600000000ull / 60000000ull),
                       cvl_state_name((cvl_state_t)trace_state), cvl_state_name((cvl_state_t)st),
                       (double)soc, (int)vmax, vic.limits.cvl_mv / 1000.0);
                trace_state = st;
            }
            int32_t ma = vsim_step(&vic, now, 1000u, pack_mv);
            tbms_sim_set_current_ma(&sim, ma);
            next_vic += US_PER_S;
        }

        uint64_t next = brg_next_us(&brg);
        next = next_vic < next ? next_vic : next;
        if (kind == RUN_SEED && seed_started && seed_next < next) {
            next = seed_next;
        }
        now = next > now ? next : now + 1000u;

        uint32_t d = (uint32_t)(now / US_PER_DAY);
        if (d != day && d < days) {
            uint32_t total = kind == RUN_SEED ? sd.changes : brg.cvl.changes;
            ds->changes = total - changes_at_day_start;
            ds->unmet_kwh = 0;
            changes_at_day_start = total;
            day = d;
            ds = &res->day[day];
            ds->cell_min_mv = INT32_MAX;
            ds->soc_min_pct = 100.0f;
        }
    }
    uint32_t total = kind == RUN_SEED ? sd.changes : brg.cvl.changes;
    ds->changes = total - changes_at_day_start;
}

/* ---------------- the two-pack bank ---------------- */

#define BANK_PACKS      2u
#define BANK_PACK_OC_A  60u  /* each TinyBMS's charge over-current cutoff (reg 318) */
#define BANK_CAP_DA     1200 /* victron.max_charge_current_a: the bank cap, 120 A */
#define BANK_SCALE_PCT  180  /* PV, charger, inverter and loads vs the one-pack run */

typedef struct {
    int32_t cell_max_mv, cell_min_mv;       /* any pack */
    int32_t pack_max_ma[BANK_PACKS];        /* highest charge current of each pack */
    int32_t pack_min_ma[BANK_PACKS];        /* highest discharge current (negative) */
    int32_t over_own_ma[BANK_PACKS];        /* most above the bridge's limit for that pack */
    uint32_t oc_cuts;                       /* over-current protections tripped */
    uint32_t bms_cuts;                      /* OV/UV/empty protections */
    bool full;                              /* every pack's SOC >= FULL_SOC_PCT */
    float soc_sunrise_pct;                  /* the bank's (capacity weighted) */
    double in_kwh, out_kwh;
} bank_day_t;

typedef struct {
    bank_day_t day[MAX_DAYS];
    uint16_t ov_cutoff_mv, uv_cutoff_mv, chg_oc_a, dis_oc_a;
    float capacity_ah;
    int32_t max_ccl_da; /* the highest CCL sent */
} bank_result_t;

static vsim_config_t bank_vsim_config(uint32_t seed_n)
{
    vsim_config_t vc = vsim_default_config(seed_n);
    vc.pv_peak_w = vc.pv_peak_w * BANK_SCALE_PCT / 100;
    vc.charger_max_ma = vc.charger_max_ma * BANK_SCALE_PCT / 100;
    vc.inverter_max_w = vc.inverter_max_w * BANK_SCALE_PCT / 100;
    vc.day_load_w = vc.day_load_w * BANK_SCALE_PCT / 100;
    vc.evening_load_w = vc.evening_load_w * BANK_SCALE_PCT / 100;
    vc.night_load_w = vc.night_load_w * BANK_SCALE_PCT / 100;
    return vc;
}

static void run_bank(uint32_t days, uint32_t seed_n, bank_result_t *res)
{
    static tbms_sim_t sim[BANK_PACKS];
    static tbms_sim_bus_t bus;
    static brg_t brg;
    memset(res, 0, sizeof *res);

    tbms_sim_config_t base = sim_base_config(seed_n);
    tbms_sim_t *packs[BANK_PACKS];
    for (unsigned i = 0; i < BANK_PACKS; i++) {
        tbms_sim_config_t sc = tbms_sim_bus_mismatched_config(&base, i);
        (void)tbms_sim_init(&sim[i], &sc, 0u);
        /* As the one-pack run: "fully charged" at the charge voltage. */
        uint16_t full_mv = 3450u;
        uint16_t oc_a = BANK_PACK_OC_A;
        (void)tbms_sim_write_settings(&sim[i], 300u, &full_mv, 1u);
        (void)tbms_sim_write_settings(&sim[i], 318u, &oc_a, 1u);
        packs[i] = &sim[i];
        res->capacity_ah += sc.capacity_ah;
    }
    (void)tbms_sim_bus_init(&bus, packs, BANK_PACKS, 0u);
    tbms_sim_bus_set_current_ma(&bus, 0);
    res->ov_cutoff_mv = cfg_u16(&sim[0], 315);
    res->uv_cutoff_mv = cfg_u16(&sim[0], 316);
    res->chg_oc_a = cfg_u16(&sim[0], 318);
    res->dis_oc_a = cfg_u16(&sim[0], 317);

    cfg_t cfg;
    loop_config(&cfg);
    cfg.victron.max_charge_current_da = BANK_CAP_DA;
    cfg.cvl.sustain_ccl_limit_da = cfg.cvl.sustain_ccl_limit_da * BANK_SCALE_PCT / 100;
    cfg.packs.count = BANK_PACKS;
    brg_config_t bc;
    bridge_config_from_cfg(&cfg, &bc);
    if (brg_init(&brg, &bc, 0u) != TBMS_OK) {
        fprintf(stderr, "sim-check: the bank configuration was refused\n");
        exit(2);
    }

    vsim_t vic;
    vsim_config_t vc = bank_vsim_config(seed_n);
    vsim_init(&vic, &vc);

    uint64_t now = 0;
    uint64_t end = (uint64_t)days * US_PER_DAY;
    uint64_t next_vic = 0;
    uint32_t day = 0;
    uint8_t faults_prev[BANK_PACKS] = {0};
    bank_day_t *ds = &res->day[0];
    ds->cell_min_mv = INT32_MAX;

    while (now < end) {
        for (unsigned i = 0; i < BANK_PACKS; i++) {
            tbms_poll_tx_t tx;
            if (brg_uart_step(&brg, i, now, &tx)) {
                static uint8_t out[TBMS_SIM_TX_CAP];
                size_t n = 0;
                tbms_sim_bus_step(&bus, now / 1000u);
                (void)tbms_sim_receive(&sim[i], tx.bytes, tx.len, now / 1000u, out, sizeof out,
                                       &n);
                if (n > 0u) {
                    brg_uart_rx(&brg, i, out, n, now);
                }
            }
        }
        vcan_frame_t frames[BRG_MAX_FRAMES_PER_TICK];
        size_t nf = brg_can_tx(&brg, now, frames, BRG_MAX_FRAMES_PER_TICK);
        for (size_t i = 0; i < nf; i++) {
            vsim_rx_frame(&vic, &frames[i], now);
        }

        if (now >= next_vic) {
            tbms_sim_bus_step(&bus, now / 1000u);
            int32_t bus_mv = (int32_t)(tbms_sim_bus_voltage_v(&bus) * 1000.0f);
            bool full = true;
            float soc_ah = 0.0f;
            for (unsigned i = 0; i < BANK_PACKS; i++) {
                for (unsigned c = 0; c < tbms_sim_cell_count(&sim[i]); c++) {
                    int32_t mv = (int32_t)tbms_sim_cell_mv(&sim[i], c);
                    ds->cell_max_mv = mv > ds->cell_max_mv ? mv : ds->cell_max_mv;
                    ds->cell_min_mv = mv < ds->cell_min_mv ? mv : ds->cell_min_mv;
                }
                int32_t ma = tbms_sim_bus_pack_current_ma(&bus, i);
                ds->pack_max_ma[i] = ma > ds->pack_max_ma[i] ? ma : ds->pack_max_ma[i];
                ds->pack_min_ma[i] = ma < ds->pack_min_ma[i] ? ma : ds->pack_min_ma[i];
                const brg_bms_t *p = &brg.bms[i];
                if (p->limits_ok && ma > 0) {
                    int32_t over = ma - p->own_limits.ccl_ma;
                    ds->over_own_ma[i] = over > ds->over_own_ma[i] ? over : ds->over_own_ma[i];
                }
                float soc = tbms_sim_soc_pct(&sim[i]);
                full = full && soc >= FULL_SOC_PCT;
                soc_ah += soc * tbms_sim_config(&sim[i])->capacity_ah;
                uint8_t f = tbms_sim_faults(&sim[i]);
                uint8_t oc = TBMS_SIM_FAULT_COC | TBMS_SIM_FAULT_DOC;
                uint8_t cut = TBMS_SIM_FAULT_OV | TBMS_SIM_FAULT_UV | TBMS_SIM_WARN_EMPTY;
                ds->oc_cuts += (uint32_t)((f & oc & ~faults_prev[i]) != 0u);
                ds->bms_cuts += (uint32_t)((f & cut & ~faults_prev[i]) != 0u);
                faults_prev[i] = f;
            }
            ds->full = ds->full || full;
            if ((now % US_PER_DAY) == 6u * 3600u * US_PER_S) {
                ds->soc_sunrise_pct = soc_ah / res->capacity_ah;
            }
            double p_w = (double)tbms_sim_bus_delivered_ma(&bus) * bus_mv / 1e6;
            if (p_w > 0) {
                ds->in_kwh += p_w / 3.6e6;
            } else {
                ds->out_kwh += -p_w / 3.6e6;
            }
            if (vic.have_limits && vic.limits.ccl_da > res->max_ccl_da) {
                res->max_ccl_da = vic.limits.ccl_da;
            }
            int32_t ma = vsim_step(&vic, now, 1000u, bus_mv);
            tbms_sim_bus_set_current_ma(&bus, ma);
            next_vic += US_PER_S;
        }

        uint64_t next = brg_next_us(&brg);
        next = next_vic < next ? next_vic : next;
        now = next > now ? next : now + 1000u;

        uint32_t d = (uint32_t)(now / US_PER_DAY);
        if (d != day && d < days) {
            day = d;
            ds = &res->day[day];
            ds->cell_min_mv = INT32_MAX;
        }
    }
}

static bool report_bank(const bank_result_t *r, uint32_t days, uint32_t seed_n)
{
    vsim_t v;
    vsim_config_t vc = bank_vsim_config(seed_n);
    vsim_init(&v, &vc);
    printf("bank: 2 mismatched 16S LFP packs in parallel (%.0f Ah in all), each TinyBMS at %u A "
           "charge / %u A discharge over-current, bank cap %d A; PV %d W peak, charger %d A, "
           "inverter %d W\n",
           (double)r->capacity_ah, r->chg_oc_a, r->dis_oc_a, BANK_CAP_DA / 10, (int)vc.pv_peak_w,
           (int)(vc.charger_max_ma / 1000), (int)vc.inverter_max_w);
    printf("%-4s %5s %6s %5s | %6s %6s %6s %6s %6s %6s %5s %5s %4s %5s %5s\n", "day", "wx",
           "PVkWh", "need", "p1maxA", "p2maxA", "p1minA", "p2minA", "p1ovr", "p2ovr", "max",
           "min", "full", "in", "out");
    int32_t max_mv = 0, min_mv = INT32_MAX, max_ma = 0, min_ma = 0, over_own = 0;
    uint32_t oc_cuts = 0, bms_cuts = 0, enough_days = 0, enough_not_full = 0, full_days = 0;
    for (uint32_t d = 0; d < days; d++) {
        const bank_day_t *s = &r->day[d];
        double ch = chargeable_wh(&v, d);
        /* enough_pv is sized for the 280 Ah pack: scale the need to the bank. */
        float missing_scaled = 100.0f - (100.0f - s->soc_sunrise_pct) * r->capacity_ah /
                                            (float)PACK_CAPACITY_AH;
        bool enough = enough_pv(ch, missing_scaled);
        printf("%-4u %5.2f %6.1f %5s | %6.1f %6.1f %6.1f %6.1f %6.1f %6.1f %5d %5d %4s %5.1f "
               "%5.1f\n",
               d + 1, vsim_weather_pm(&v, d) / 1000.0, ch / 1000.0, enough ? "yes" : "no",
               s->pack_max_ma[0] / 1000.0, s->pack_max_ma[1] / 1000.0, s->pack_min_ma[0] / 1000.0,
               s->pack_min_ma[1] / 1000.0, s->over_own_ma[0] / 1000.0, s->over_own_ma[1] / 1000.0,
               (int)s->cell_max_mv, (int)s->cell_min_mv,
               s->full ? (enough ? "yes" : "yes*") : (enough ? "NO" : "no"), s->in_kwh,
               s->out_kwh);
        for (unsigned i = 0; i < BANK_PACKS; i++) {
            max_ma = s->pack_max_ma[i] > max_ma ? s->pack_max_ma[i] : max_ma;
            min_ma = s->pack_min_ma[i] < min_ma ? s->pack_min_ma[i] : min_ma;
            over_own = s->over_own_ma[i] > over_own ? s->over_own_ma[i] : over_own;
        }
        max_mv = s->cell_max_mv > max_mv ? s->cell_max_mv : max_mv;
        min_mv = s->cell_min_mv < min_mv ? s->cell_min_mv : min_mv;
        oc_cuts += s->oc_cuts;
        bms_cuts += s->bms_cuts;
        enough_days += enough;
        enough_not_full += enough && !s->full;
        full_days += s->full;
    }
    printf("(pNmaxA / pNminA: pack N's highest charge / discharge current; pNovr: most it took "
           "above the limit the bridge computed for it, one read old)\n\n");
    printf("TOTAL bank: highest pack current %.1f A charging, %.1f A discharging; most above a "
           "pack's own computed limit %.1f A; highest CCL sent %.1f A; max cell %d mV, min cell "
           "%d mV; full days %u/%u; BMS cutoffs %u\n",
           max_ma / 1000.0, -min_ma / 1000.0, over_own / 1000.0, r->max_ccl_da / 10.0,
           (int)max_mv, (int)min_mv, full_days, days, bms_cuts);
    bool a = max_ma <= (int32_t)r->chg_oc_a * 1000 && -min_ma <= (int32_t)r->dis_oc_a * 1000 &&
             oc_cuts == 0u;
    bool b = max_mv <= r->ov_cutoff_mv && min_mv >= r->uv_cutoff_mv;
    bool c = enough_not_full == 0u;
    printf("ASSERT bank pack_current <= own TinyBMS over-current (%u A / %u A), %u cuts: %s\n",
           r->chg_oc_a, r->dis_oc_a, oc_cuts, a ? "PASS" : "FAIL");
    printf("ASSERT bank cells within reg315 %u / reg316 %u (%d..%d mV): %s\n", r->ov_cutoff_mv,
           r->uv_cutoff_mv, (int)min_mv, (int)max_mv, b ? "PASS" : "FAIL");
    printf("ASSERT bank full_on_enough_pv_days %u/%u: %s\n", enough_days - enough_not_full,
           enough_days, c ? "PASS" : "FAIL");
    bool ok = a && b && c;
    printf("RESULT bank %s\n", ok ? "PASS" : "FAIL");
    return ok;
}

/* ---------------- report ---------------- */

typedef struct {
    int32_t max_mv, min_mv;
    uint32_t max_changes, sum_changes, sum_moves, sum_prot, full_days, enough_days,
        enough_not_full, bms_cuts;
    double in_kwh, out_kwh;
} totals_t;

static void totals(const run_result_t *r, uint32_t days, const bool *enough, totals_t *t)
{
    memset(t, 0, sizeof *t);
    t->min_mv = INT32_MAX;
    for (uint32_t d = 0; d < days; d++) {
        const day_stats_t *s = &r->day[d];
        t->max_mv = s->cell_max_mv > t->max_mv ? s->cell_max_mv : t->max_mv;
        t->min_mv = s->cell_min_mv < t->min_mv ? s->cell_min_mv : t->min_mv;
        t->max_changes = s->changes > t->max_changes ? s->changes : t->max_changes;
        t->sum_changes += s->changes;
        t->sum_moves += s->cvl_moves;
        t->sum_prot += s->protections;
        t->full_days += s->full;
        t->enough_days += enough[d];
        t->enough_not_full += enough[d] && !s->full;
        t->bms_cuts += s->bms_cuts;
        t->in_kwh += s->in_kwh;
        t->out_kwh += s->out_kwh;
    }
}

static bool check(const char *name, const run_result_t *r, const totals_t *t, bool asserted)
{
    const char *tag = asserted ? "ASSERT" : "CHECK";
    bool a = t->max_mv <= r->ov_cutoff_mv;
    bool b = t->min_mv >= r->uv_cutoff_mv;
    bool c = t->max_changes <= MAX_CHANGES_PER_DAY;
    bool d = t->enough_not_full == 0u;
    printf("%s %s max_cell_mv %d <= reg315 %u: %s\n", tag, name, (int)t->max_mv, r->ov_cutoff_mv,
           a ? "PASS" : "FAIL");
    printf("%s %s min_cell_mv %d >= reg316 %u: %s\n", tag, name, (int)t->min_mv, r->uv_cutoff_mv,
           b ? "PASS" : "FAIL");
    printf("%s %s max_state_changes_per_day %u <= %u: %s\n", tag, name, t->max_changes,
           MAX_CHANGES_PER_DAY, c ? "PASS" : "FAIL");
    printf("%s %s full_on_enough_pv_days %u/%u: %s\n", tag, name, t->enough_days - t->enough_not_full,
           t->enough_days, d ? "PASS" : "FAIL");
    bool ok = a && b && c && d;
    printf("RESULT %s %s%s\n", name, ok ? "PASS" : "FAIL", asserted ? "" : " (reference, not asserted)");
    return ok;
}

static void usage(void)
{
    fprintf(stderr, "usage: sim-check [--days N (1..%u, default 30)] [--seed N] "
                    "[--config seed|ours|both|bank|all] [--trace]\n",
            MAX_DAYS);
}

int main(int argc, char **argv)
{
    uint32_t days = 30;
    uint32_t seed_n = 1;
    bool want[2] = {true, true};
    bool want_bank = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        char *end = NULL;
        if (strcmp(a, "--days") == 0 && v != NULL) {
            unsigned long n = strtoul(v, &end, 10);
            if (*end != '\0' || n < 1 || n > MAX_DAYS) {
                usage();
                return 2;
            }
            days = (uint32_t)n;
            i++;
        } else if (strcmp(a, "--seed") == 0 && v != NULL) {
            unsigned long n = strtoul(v, &end, 10);
            if (*end != '\0' || n > UINT32_MAX) {
                usage();
                return 2;
            }
            seed_n = (uint32_t)n;
            i++;
        } else if (strcmp(a, "--config") == 0 && v != NULL) {
            bool all = strcmp(v, "all") == 0;
            want[RUN_OURS] = all || strcmp(v, "ours") == 0 || strcmp(v, "both") == 0;
            want[RUN_SEED] = all || strcmp(v, "seed") == 0 || strcmp(v, "both") == 0;
            want_bank = all || strcmp(v, "bank") == 0;
            if (!want[RUN_OURS] && !want[RUN_SEED] && !want_bank) {
                usage();
                return 2;
            }
            i++;
        } else if (strcmp(a, "--trace") == 0) {
            trace = true;
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage();
            return 0;
        } else {
            usage();
            return 2;
        }
    }

    static run_result_t res[2];
    for (int k = 0; k < 2; k++) {
        if (want[k]) {
            run((run_kind_t)k, days, seed_n, &res[k]);
        }
    }

    bool exit_ok = true;
    if (want_bank) {
        static bank_result_t bank_res;
        run_bank(days, seed_n, &bank_res);
        exit_ok = report_bank(&bank_res, days, seed_n);
        if (!want[RUN_OURS] && !want[RUN_SEED]) {
            return exit_ok ? 0 : 1;
        }
        printf("\n");
    }

    vsim_t v;
    vsim_config_t vc = vsim_default_config(seed_n);
    vsim_init(&v, &vc);
    static bool enough[2][MAX_DAYS];
    printf("sim-check: %u days, seed %u, 16S LFP 280 Ah, PV %d W peak, charger %d A, inverter %d W\n",
           days, seed_n, (int)vc.pv_peak_w, (int)(vc.charger_max_ma / 1000), (int)vc.inverter_max_w);
    printf("columns per config: chg = CVL state changes, cvl = CVL value changes in 0x351, prot = "
           "cell protection engaged, max/min = true cell mV, full = BMS SOC >= %.0f %%, in/out kWh\n",
           (double)FULL_SOC_PCT);
    printf("%-4s %5s %6s %5s", "day", "wx", "PVkWh", "need");
    for (int k = 0; k < 2; k++) {
        if (want[k]) {
            printf(" | %-4s %3s %4s %4s %5s %5s %4s %5s %5s", run_names[k], "chg", "cvl", "prot",
                   "max", "min", "full", "in", "out");
        }
    }
    printf("\n");
    for (uint32_t d = 0; d < days; d++) {
        double ch = chargeable_wh(&v, d);
        printf("%-4u %5.2f %6.1f", d + 1, vsim_weather_pm(&v, d) / 1000.0, ch / 1000.0);
        bool any_enough = false;
        for (int k = 0; k < 2; k++) {
            if (want[k]) {
                /* Day 1 starts at 50 % before sunrise; later days from the run. */
                enough[k][d] = enough_pv(ch, res[k].day[d].soc_sunrise_pct);
                any_enough = any_enough || enough[k][d];
            }
        }
        printf(" %5s", any_enough ? "yes" : "no");
        for (int k = 0; k < 2; k++) {
            if (!want[k]) {
                continue;
            }
            const day_stats_t *s = &res[k].day[d];
            printf(" | %-4s %3u %4u %4u %5d %5d %4s %5.1f %5.1f", run_names[k], s->changes,
                   s->cvl_moves, s->protections, (int)s->cell_max_mv, (int)s->cell_min_mv,
                   s->full ? (enough[k][d] ? "yes" : "yes*") : (enough[k][d] ? "NO" : "no"),
                   s->in_kwh, s->out_kwh);
        }
        printf("\n");
    }
    printf("(need = enough PV to fill from the SOC at 06:00; full 'yes*' = full without "
           "'enough'; 'NO' = enough PV but not full)\n\n");

    for (int k = 0; k < 2; k++) {
        if (!want[k]) {
            continue;
        }
        totals_t t;
        totals(&res[k], days, enough[k], &t);
        printf("TOTAL %s: max cell %d mV, min cell %d mV, CVL state changes %u (%.1f/day, max "
               "%u/day), CVL value changes %u (%.1f/day), protection engaged %u, full days %u/%u, "
               "BMS cutoffs %u, energy in %.1f kWh, out %.1f kWh\n",
               run_names[k], (int)t.max_mv, (int)t.min_mv, t.sum_changes,
               (double)t.sum_changes / days, t.max_changes, t.sum_moves,
               (double)t.sum_moves / days, t.sum_prot, t.full_days, days, t.bms_cuts, t.in_kwh,
               t.out_kwh);
        bool asserted = k == RUN_OURS || !want[RUN_OURS];
        bool ok = check(run_names[k], &res[k], &t, asserted);
        if (asserted && !ok) {
            exit_ok = false;
        }
    }
    return exit_ok ? 0 : 1;
}
