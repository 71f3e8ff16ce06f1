/*
 * tbms_sim.c - the simulated TinyBMS: settings, protections, statistics,
 * event log, register image and the UART protocol on top of the battery
 * model (tbms_sim_model.c).
 *
 * Protocol facts come from tinybms-uart.md (sections cited beside the
 * code); where the vendor document is silent, the choice made is marked
 * ASSUMPTION.
 */
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "tbms_regs.h"
#include "tbms_sim.h"
#include "wire.h"

/* ---- Constants ---- */

#define SETTINGS_FIRST TBMS_SETTINGS_FIRST_REG
#define SETTINGS_LAST  (TBMS_SETTINGS_FIRST_REG + TBMS_SETTINGS_REG_COUNT - 1u)
#define SET(reg)       ((reg) - SETTINGS_FIRST) /* index into settings_regs */

/* Largest physics sub-step, model ms. */
#define TICK_MAX_MS 1000u

/* Event IDs (tinybms-uart.md 6). */
#define EV_UNDER_VOLTAGE     0x02u
#define EV_OVER_VOLTAGE      0x03u
#define EV_OVER_TEMPERATURE  0x04u
#define EV_DISCHARGE_OC      0x05u
#define EV_CHARGE_OC         0x06u
#define EV_FULLY_DISCHARGED  0x31u
#define EV_LOW_TEMP_CHARGING 0x37u
#define EV_SYSTEM_STARTED    0x61u
#define EV_CHARGING_STARTED  0x62u
#define EV_CHARGING_DONE     0x63u
#define EV_DUAL_PORT         0x66u
#define EV_SINGLE_PORT       0x67u
#define EV_RECOVER_OVER_TEMP 0x73u
#define EV_RECOVER_LOW_TEMP  0x74u
#define EV_RECOVER_CHARGE_OC 0x76u
#define EV_RECOVER_DISCH_OC  0x77u
#define EV_RECOVER_OV        0x79u
#define EV_RECOVER_EMPTY     0x7Au
#define EV_RECOVER_UV        0x7Bu

/* Reg 114 codes (tinybms-uart.md 5.2). */
#define RESET_SOFTWARE 4u
#define RESET_POR      5u
#define WAKE_CHARGER   0u
#define WAKE_DISCHARGE 2u
#define WAKE_UART      3u

/* Reg 50 (tinybms-uart.md 5.1). */
#define STATUS_CHARGING    0x91u
#define STATUS_FULL        0x92u
#define STATUS_DISCHARGING 0x93u
#define STATUS_IDLE        0x97u
#define STATUS_FAULT       0x9Bu

/* Reg 0x02 options (tinybms-uart.md 4). */
#define OPT_CLEAR_EVENTS 0x01u
#define OPT_CLEAR_STATS  0x02u
#define OPT_RESET_BMS    0x05u

/* 0x1D options. */
#define SETTINGS_OPT_MIN     1u
#define SETTINGS_OPT_MAX     2u
#define SETTINGS_OPT_DEFAULT 3u
#define SETTINGS_OPT_CURRENT 4u

/* Proprietary PL field: 6 bits of payload size; replies needing more would
 * be multi-packet, whose layout is undocumented (tinybms-uart.md 4 notes).
 * ASSUMPTION: such requests are NACKed with CMD ERROR. */
#define PL_MAX 63u

/* Version registers 500..503 (tinybms-uart.md 5.5): HW 2.1, FW public 3,
 * high-power board with internal Hall sensor, internal FW 254 (as in
 * "BMS.v2.3.254"), bootloader 24, profile 4. */
#define VER_HW          2u
#define VER_HW_CHANGES  1u
#define VER_FW_PUBLIC   3u
#define VER_REG501      (0x0100u | 0x0200u | VER_FW_PUBLIC)
#define VER_FW_INTERNAL 254u
#define VER_BOOTLOADER  24u
#define VER_PROFILE     4u
/* ASSUMPTION: register map version reported by 0x1F (not documented). */
#define VER_REGMAP      4u
#define SERIAL_STREAM   0x53455249u
/* Hash stream of the answer latencies, apart from the model's streams so
 * that a latency leaves the pack (cell spread, demo noise) unchanged. */
#define LATENCY_STREAM  0x4C415459u

/* Hysteresis of recoveries. */
#define HEAT_RECOVER_C 5
#define COLD_RECOVER_C 2
/* Demo charger regulates the highest cell this far above "fully charged". */
#define DEMO_CV_ABOVE_FULL_MV 10u
/* Estimated time left when not discharging: remaining charge at this
 * current (a real BMS reports "very large", CLARK saw 41 777 412 s). */
#define IDLE_TIME_LEFT_A 0.05f
/* Default state of health, 0.002 %/LSB: 99 %. */
#define DEFAULT_SOH_RAW 49500u

/* Broadcast period per reg 342 code (tinybms-uart.md 5.4). */
static const uint16_t broadcast_period_ms[8] = {0u, 100u, 200u, 500u, 1000u, 2000u, 5000u, 10000u};

/* ---- Small helpers ---- */

const char *tbms_sim_strerror(tbms_sim_err_t err)
{
    switch (err) {
    case TBMS_SIM_OK:
        return "ok";
    case TBMS_SIM_ERR_ARG:
        return "invalid argument";
    case TBMS_SIM_ERR_REJECTED:
        return "settings write rejected";
    case TBMS_SIM_ERR_COUNT_:
    default:
        return "unknown error";
    }
}

/* Nearest integer, halves away from zero. Local so that the simulator
 * needs no libm at link time (fabsf and INFINITY are compiler built-ins). */
static long long round_ll(float v)
{
    return (long long)(v < 0.0f ? v - 0.5f : v + 0.5f);
}

static bool in_range(float v, float lo, float hi)
{
    return v >= lo && v <= hi; /* false for NaN */
}

static uint16_t clamp_u16(float v)
{
    if (!(v > 0.0f)) {
        return 0u;
    }
    if (v >= 65535.0f) {
        return 0xFFFFu;
    }
    return (uint16_t)round_ll(v);
}

static uint16_t temp_reg(float c)
{
    long long dc = round_ll(c * 10.0f);
    if (dc > 32767) {
        dc = 32767;
    }
    if (dc < -32767) {
        dc = -32767;
    }
    return (uint16_t)(int16_t)dc;
}

static int8_t temp_i8(float c)
{
    long long v = round_ll(c);
    if (v > 127) {
        v = 127;
    }
    if (v < -128) {
        v = -128;
    }
    return (int8_t)v;
}

static uint32_t lifetime_s(const tbms_sim_t *sim)
{
    return sim->cfg.lifetime_s + (uint32_t)(sim->model_ms / 1000u);
}

static float capacity_setting_as(const tbms_sim_t *sim)
{
    return (float)sim->settings.capacity_10mah * 36.0f; /* 0.01 Ah * 3600 s */
}

static unsigned first_cell_reg(const tbms_sim_t *sim)
{
    return TBMS_MAX_CELLS - sim->model.cells;
}

/* ---- Event log (tinybms-uart.md 5.3, 6) ---- */

static void log_event(tbms_sim_t *sim, uint8_t id)
{
    sim->ev_ts[sim->ev_next] = lifetime_s(sim) & 0xFFFFFFu;
    sim->ev_id[sim->ev_next] = id;
    sim->ev_next = (uint8_t)((sim->ev_next + 1u) % TBMS_EVENT_SLOTS);
    if (sim->ev_count < TBMS_EVENT_SLOTS) {
        sim->ev_count++;
    }
    if (sim->ev_unread < TBMS_EVENT_SLOTS) {
        sim->ev_unread++;
    }
}

/* Slot of the k-th of the `n` newest entries, oldest first. */
static unsigned event_slot(const tbms_sim_t *sim, unsigned n, unsigned k)
{
    return (sim->ev_next + TBMS_EVENT_SLOTS - n + k) % TBMS_EVENT_SLOTS;
}

/* ---- Settings ---- */

/* Default settings 300..343 for an LFP pack; satisfies every interlock of
 * tinybms-uart.md 5.4: 316 (2700) <= 301 (2900) - 10, 301 <= 300 (3550)
 * - 10, 300 <= 315 (3750) - 10, 305 (300 A) > 317 (200 A). */
static void default_settings(uint16_t *r, uint8_t cells, float capacity_ah)
{
    memset(r, 0, TBMS_SETTINGS_REG_COUNT * sizeof r[0]);
    r[SET(300u)] = 3550u; /* fully charged, mV */
    r[SET(301u)] = 2900u; /* fully discharged, mV */
    r[SET(303u)] = 3400u; /* early balancing threshold, mV */
    r[SET(304u)] = 2800u; /* charge finished current, mA */
    r[SET(305u)] = 300u;  /* peak discharge current cutoff, A */
    r[SET(306u)] = clamp_u16(capacity_ah * 100.0f);
    r[SET(307u)] = cells;
    r[SET(308u)] = 15u;   /* allowed disbalance, mV */
    r[SET(310u)] = 10u;   /* charger startup delay, s */
    r[SET(311u)] = 5u;    /* charger disable delay, s */
    r[SET(312u)] = 1000u; /* pulses per unit, low word */
    r[SET(313u)] = 0u;
    r[SET(314u)] = 2u;    /* km */
    r[SET(315u)] = 3750u; /* over-voltage cutoff, mV */
    r[SET(316u)] = 2700u; /* under-voltage cutoff, mV */
    r[SET(317u)] = 200u;  /* discharge over-current cutoff, A */
    r[SET(318u)] = 140u;  /* charge over-current cutoff, A */
    r[SET(319u)] = 60u;   /* over-heat cutoff, degC */
    r[SET(320u)] = 0u;    /* low-temperature charger cutoff, degC */
    r[SET(321u)] = 90u;   /* charge restart level, % */
    r[SET(322u)] = 6000u; /* battery max cycles */
    r[SET(323u)] = TBMS_SET_READS_ACCEPTED;
    r[SET(328u)] = TBMS_SET_READS_ACCEPTED; /* reads 0xFFFF (CLARK) */
    r[SET(329u)] = 0u;
    r[SET(330u)] = 0x0001u; /* CC/CV charger, DOC timeout 0 s */
    r[SET(331u)] = 0u;      /* load switch: FET */
    r[SET(332u)] = 5u;      /* automatic recovery, s */
    r[SET(333u)] = 1u;      /* charger switch: charge FET */
    r[SET(334u)] = 0u;      /* ignition disabled */
    r[SET(335u)] = 1u;      /* charger detection: internal */
    r[SET(338u)] = 3u;      /* precharge 1 s */
    r[SET(342u)] = 0u;      /* broadcast off */
    r[SET(343u)] = 1u;      /* broadcast protocol ASCII */
}

/*
 * All-or-nothing settings write of n (address, value) pairs. Every written
 * register is checked with tbms_reg_check_write() against the settings as
 * they would be after the whole write, so a block that moves two
 * interlocked limits together (e.g. 300 and 315 up) is judged on its
 * result, not on the order of its words. ASSUMPTION: the firmware behaves
 * like this; the document does not say (tinybms-uart.md 8).
 */
static bool apply_settings(tbms_sim_t *sim, const uint16_t *addrs, const uint16_t *vals, size_t n,
                           uint64_t now_ms)
{
    uint16_t img[TBMS_SETTINGS_REG_COUNT];
    bool written[TBMS_SETTINGS_REG_COUNT] = {false};
    memcpy(img, sim->settings_regs, sizeof img);
    if (n == 0u) {
        return false;
    }
    for (size_t k = 0; k < n; k++) {
        if (addrs[k] < SETTINGS_FIRST || addrs[k] > SETTINGS_LAST) {
            return false;
        }
        img[addrs[k] - SETTINGS_FIRST] = vals[k];
        written[addrs[k] - SETTINGS_FIRST] = true;
    }
    tbms_settings_t fin;
    if (tbms_decode_settings(img, TBMS_SETTINGS_REG_COUNT, 0u, &fin) != TBMS_OK) {
        return false;
    }
    for (uint16_t i = 0; i < TBMS_SETTINGS_REG_COUNT; i++) {
        uint16_t addr = (uint16_t)(SETTINGS_FIRST + i);
        if (!written[i] || (addr == 313u && written[SET(312u)])) {
            continue; /* 313 is checked as part of 312-313 */
        }
        uint32_t raw = img[i];
        if (addr == 312u) {
            raw = wire_u32_lowword_first(img[SET(312u)], img[SET(313u)]);
        }
        if (tbms_reg_check_write(addr, raw, &fin) != TBMS_OK) {
            return false;
        }
    }

    /* Accepted: side effects, then the new image. */
    if (written[SET(323u)]) {
        sim->soh_raw = img[SET(323u)];
        img[SET(323u)] = TBMS_SET_READS_ACCEPTED;
    }
    if (written[SET(328u)]) {
        sim->soc_frac = (float)img[SET(328u)] / (float)TBMS_SOH_RAW_FULL;
        img[SET(328u)] = TBMS_SET_READS_ACCEPTED;
    }
    if (written[SET(340u)] && (img[SET(340u)] & 0xFFu) != (sim->settings_regs[SET(340u)] & 0xFFu)) {
        log_event(sim, (img[SET(340u)] & 0xFFu) ? EV_SINGLE_PORT : EV_DUAL_PORT);
    }
    memcpy(sim->settings_regs, img, sizeof img);
    (void)tbms_decode_settings(img, TBMS_SETTINGS_REG_COUNT, 0u, &sim->settings);
    if (written[SET(342u)] && sim->settings.broadcast_time < 8u) {
        /* First line one period after the write's own answer. */
        sim->next_broadcast_ms = now_ms + broadcast_period_ms[sim->settings.broadcast_time];
    }
    return true;
}

/* ---- BMS logic ---- */

static bool charge_blocked(const tbms_sim_t *sim)
{
    return (sim->faults & (TBMS_SIM_FAULT_OV | TBMS_SIM_FAULT_COC | TBMS_SIM_FAULT_HEAT |
                           TBMS_SIM_WARN_COLD)) != 0u;
}

static bool discharge_blocked(const tbms_sim_t *sim)
{
    return (sim->faults & (TBMS_SIM_FAULT_UV | TBMS_SIM_FAULT_DOC | TBMS_SIM_FAULT_HEAT |
                           TBMS_SIM_WARN_EMPTY)) != 0u;
}

static float cut_current(const tbms_sim_t *sim, float a)
{
    if ((a > 0.0f && charge_blocked(sim)) || (a < 0.0f && discharge_blocked(sim))) {
        return 0.0f;
    }
    return a;
}

/* Cell readings from the model (or the forced values). */
static void measure(tbms_sim_t *sim)
{
    for (unsigned i = 0; i < sim->model.cells; i++) {
        sim->cell_100uv[i] = sim->forced_mv[i]
                                 ? (uint16_t)(sim->forced_mv[i] > 6553u ? 65535u
                                                                        : sim->forced_mv[i] * 10u)
                                 : clamp_u16(tbms_sim_model_cell_v(&sim->model, i) * 10000.0f);
    }
}

static void cell_extremes(const tbms_sim_t *sim, uint16_t *min_100uv, uint16_t *max_100uv)
{
    uint16_t lo = 0xFFFFu;
    uint16_t hi = 0u;
    for (unsigned i = 0; i < sim->model.cells; i++) {
        lo = sim->cell_100uv[i] < lo ? sim->cell_100uv[i] : lo;
        hi = sim->cell_100uv[i] > hi ? sim->cell_100uv[i] : hi;
    }
    *min_100uv = lo;
    *max_100uv = hi;
}

/* Present temperature sensors: the hottest and coldest cell sensor, and
 * the hottest of everything including the board. */
static void temp_extremes(const tbms_sim_t *sim, float *cell_min, float *cell_max, float *all_max)
{
    float lo = INFINITY;
    float hi = -INFINITY;
    for (unsigned k = 0; k < 2u; k++) {
        if (sim->cfg.ext_temp_present[k]) {
            float t = sim->model.temp_c[k];
            lo = t < lo ? t : lo;
            hi = t > hi ? t : hi;
        }
    }
    float board = sim->model.temp_c[TBMS_SIM_TEMP_INTERNAL];
    *all_max = board > hi ? board : hi;
    *cell_min = lo == INFINITY ? board : lo;
    *cell_max = hi == -INFINITY ? board : hi;
}

static void check_overcurrent(tbms_sim_t *sim, float req_a, uint32_t dt_ms)
{
    const tbms_settings_t *s = &sim->settings;
    float dis_a = -req_a;
    if (!(sim->faults & TBMS_SIM_FAULT_DOC)) {
        bool over = dis_a > (float)s->discharge_oc_a;
        bool peak = s->peak_discharge_a != 0u && dis_a > (float)s->peak_discharge_a;
        sim->doc_since_ms = over ? sim->doc_since_ms + dt_ms : 0u;
        if (peak || (over && sim->doc_since_ms >= (uint64_t)s->doc_timeout_s * 1000u)) {
            sim->faults |= TBMS_SIM_FAULT_DOC;
            sim->oc_fault_ms = sim->model_ms;
            sim->doc_since_ms = 0u;
            sim->stat_doc++;
            log_event(sim, EV_DISCHARGE_OC);
        }
    }
    if (!(sim->faults & TBMS_SIM_FAULT_COC) && req_a > (float)s->charge_oc_a) {
        sim->faults |= TBMS_SIM_FAULT_COC;
        sim->oc_fault_ms = sim->model_ms;
        sim->stat_coc++;
        log_event(sim, EV_CHARGE_OC);
    }
    /* Automatic recovery after 332 seconds; 0 = disabled (MAN-D), then the
     * opposite current direction clears it. */
    bool timed = s->auto_recovery_s != 0u &&
                 sim->model_ms - sim->oc_fault_ms >= (uint64_t)s->auto_recovery_s * 1000u;
    if ((sim->faults & TBMS_SIM_FAULT_DOC) &&
        (timed || (s->auto_recovery_s == 0u && req_a > TBMS_SIM_ACTIVE_CURRENT_A))) {
        sim->faults &= (uint8_t)~TBMS_SIM_FAULT_DOC;
        log_event(sim, EV_RECOVER_DISCH_OC);
    }
    if ((sim->faults & TBMS_SIM_FAULT_COC) && (timed || (s->auto_recovery_s == 0u && req_a <= 0.0f))) {
        sim->faults &= (uint8_t)~TBMS_SIM_FAULT_COC;
        log_event(sim, EV_RECOVER_CHARGE_OC);
    }
}

/* Voltage and temperature protections on the measured values. */
static void protect(tbms_sim_t *sim, float req_a)
{
    const tbms_settings_t *s = &sim->settings;
    uint16_t vmin_100uv;
    uint16_t vmax_100uv;
    cell_extremes(sim, &vmin_100uv, &vmax_100uv);
    uint32_t vmin = vmin_100uv;
    uint32_t vmax = vmax_100uv;
    bool charger = req_a > TBMS_SIM_ACTIVE_CURRENT_A;

    if (!(sim->faults & TBMS_SIM_FAULT_OV) && vmax > s->over_voltage_mv * 10u) {
        sim->faults |= TBMS_SIM_FAULT_OV;
        sim->stat_ov++;
        log_event(sim, EV_OVER_VOLTAGE);
    } else if ((sim->faults & TBMS_SIM_FAULT_OV) && vmax < s->fully_charged_mv * 10u) {
        sim->faults &= (uint8_t)~TBMS_SIM_FAULT_OV;
        log_event(sim, EV_RECOVER_OV);
    }
    /* Under-voltage is permanent until a charger shows up (tinybms-uart.md 6). */
    if (!(sim->faults & TBMS_SIM_FAULT_UV) && vmin < s->under_voltage_mv * 10u) {
        sim->faults |= TBMS_SIM_FAULT_UV;
        sim->stat_uv++;
        log_event(sim, EV_UNDER_VOLTAGE);
    } else if ((sim->faults & TBMS_SIM_FAULT_UV) && charger &&
               vmin >= s->under_voltage_mv * 10u) {
        sim->faults &= (uint8_t)~TBMS_SIM_FAULT_UV;
        log_event(sim, EV_RECOVER_UV);
    }
    /* ASSUMPTION: "fully discharged" opens the load switch (warning 0x31,
     * SOC set to 0 %) until a charger is connected. */
    if (!(sim->faults & TBMS_SIM_WARN_EMPTY) && req_a < -TBMS_SIM_ACTIVE_CURRENT_A &&
        vmin < s->fully_discharged_mv * 10u) {
        sim->faults |= TBMS_SIM_WARN_EMPTY;
        sim->soc_frac = 0.0f;
        log_event(sim, EV_FULLY_DISCHARGED);
    } else if ((sim->faults & TBMS_SIM_WARN_EMPTY) && charger) {
        sim->faults &= (uint8_t)~TBMS_SIM_WARN_EMPTY;
        log_event(sim, EV_RECOVER_EMPTY);
    }

    float cell_min_c;
    float cell_max_c;
    float all_max_c;
    temp_extremes(sim, &cell_min_c, &cell_max_c, &all_max_c);
    if (!(sim->faults & TBMS_SIM_FAULT_HEAT) && all_max_c > (float)s->over_heat_c) {
        sim->faults |= TBMS_SIM_FAULT_HEAT;
        sim->stat_heat++;
        log_event(sim, EV_OVER_TEMPERATURE);
    } else if ((sim->faults & TBMS_SIM_FAULT_HEAT) &&
               all_max_c < (float)(s->over_heat_c - HEAT_RECOVER_C)) {
        sim->faults &= (uint8_t)~TBMS_SIM_FAULT_HEAT;
        log_event(sim, EV_RECOVER_OVER_TEMP);
    }
    if (!(sim->faults & TBMS_SIM_WARN_COLD) && charger && cell_min_c < (float)s->low_temp_charge_c) {
        sim->faults |= TBMS_SIM_WARN_COLD;
        log_event(sim, EV_LOW_TEMP_CHARGING);
    } else if ((sim->faults & TBMS_SIM_WARN_COLD) &&
               cell_min_c >= (float)(s->low_temp_charge_c + COLD_RECOVER_C)) {
        sim->faults &= (uint8_t)~TBMS_SIM_WARN_COLD;
        log_event(sim, EV_RECOVER_LOW_TEMP);
    }
}

/* Balancing decision (51) and real balancing (52), in register positions
 * (ASSUMPTION, tinybms-uart.md 7.2: bits follow the cell registers). */
static void balance(tbms_sim_t *sim)
{
    const tbms_settings_t *s = &sim->settings;
    uint16_t vmin;
    uint16_t vmax;
    cell_extremes(sim, &vmin, &vmax);
    uint16_t need = 0u;
    for (unsigned i = 0; i < sim->model.cells; i++) {
        uint32_t v = sim->cell_100uv[i];
        if (v >= s->early_balancing_mv * 10u && v - vmin > s->allowed_disbalance_mv * 10u) {
            need |= (uint16_t)(1u << (first_cell_reg(sim) + i));
        }
    }
    sim->balance_need = need;
    bool can = !sim->asleep && (sim->faults & TBMS_SIM_FAULTS_MASK) == 0u &&
               sim->model.current_a >= -TBMS_SIM_ACTIVE_CURRENT_A;
    sim->balance_active = can ? need : 0u;
}

static void update_status(tbms_sim_t *sim)
{
    float a = sim->model.current_a;
    if (sim->faults & TBMS_SIM_FAULTS_MASK) {
        sim->status = STATUS_FAULT;
    } else if (a < -TBMS_SIM_ACTIVE_CURRENT_A) {
        sim->status = STATUS_DISCHARGING;
    } else if (sim->fully_charged) {
        sim->status = STATUS_FULL;
    } else if (a > TBMS_SIM_ACTIVE_CURRENT_A) {
        sim->status = STATUS_CHARGING;
    } else {
        sim->status = STATUS_IDLE;
    }
}

static void update_stats(tbms_sim_t *sim)
{
    float a = sim->model.current_a;
    uint16_t a_100ma = clamp_u16(fabsf(a) * 10.0f);
    if (a < 0.0f && a_100ma > sim->stat_max_discharge_100ma) {
        sim->stat_max_discharge_100ma = a_100ma;
    }
    if (a > 0.0f && a_100ma > sim->stat_max_charge_100ma) {
        sim->stat_max_charge_100ma = a_100ma;
    }
    uint16_t vmin;
    uint16_t vmax;
    cell_extremes(sim, &vmin, &vmax);
    if ((uint16_t)(vmax - vmin) > sim->stat_max_diff_100uv) {
        sim->stat_max_diff_100uv = (uint16_t)(vmax - vmin);
    }
    float lo;
    float hi;
    float all;
    temp_extremes(sim, &lo, &hi, &all);
    int8_t tlo = temp_i8(lo);
    int8_t thi = temp_i8(hi);
    sim->stat_tmin_c = tlo < sim->stat_tmin_c ? tlo : sim->stat_tmin_c;
    sim->stat_tmax_c = thi > sim->stat_tmax_c ? thi : sim->stat_tmax_c;
}

/* The demo current a as a charger and inverter obeying the DVCC limits
 * would let it flow (rules in tbms_sim.h, tbms_sim_set_dvcc_limits). */
static float dvcc_current_a(const tbms_sim_t *sim, float a)
{
    const tbms_sim_dvcc_t *l = &sim->dvcc;
    if (!l->set) {
        return a;
    }
    uint64_t age = sim->wall_ms > l->at_ms ? sim->wall_ms - l->at_ms : 0u;
    if (age > TBMS_SIM_DVCC_TIMEOUT_MS) {
        return 0.0f; /* victron-can-bms.md A.7: no 0x351, no charge, no discharge */
    }
    float ocv = tbms_sim_model_pack_ocv_v(&sim->model);
    float r = tbms_sim_model_pack_resistance_ohm(&sim->model);
    if (a > 0.0f) {
        float cv = ((float)l->cvl_mv / 1000.0f - ocv) / r;
        float ccl = (float)l->ccl_ma / 1000.0f;
        a = a < ccl ? a : ccl;
        a = a < cv ? a : cv;
        return a > 0.0f ? a : 0.0f;
    }
    if (a < 0.0f) {
        float dv = (ocv - (float)l->dvl_mv / 1000.0f) / r;
        float dcl = (float)l->dcl_ma / 1000.0f;
        float d = -a;
        d = d < dcl ? d : dcl;
        d = d < dv ? d : dv;
        return d > 0.0f ? -d : 0.0f;
    }
    return a;
}

static float requested_current_a(const tbms_sim_t *sim)
{
    if (sim->external_current) {
        return sim->external_current_a;
    }
    if (!sim->cfg.demo_profile) {
        return 0.0f;
    }
    float cv_v = (float)(sim->settings.fully_charged_mv + DEMO_CV_ABOVE_FULL_MV) / 1000.0f;
    return dvcc_current_a(
        sim, tbms_sim_model_demo_current_a(&sim->model, sim->cfg.seed, sim->model_ms, cv_v));
}

/* One physics and BMS step of dt_ms model milliseconds (0 = re-evaluate). */
static void tick(tbms_sim_t *sim, uint32_t dt_ms)
{
    float dt_s = (float)dt_ms / 1000.0f;
    float req = requested_current_a(sim);
    sim->requested_a = req;
    check_overcurrent(sim, req, dt_ms);
    float a = cut_current(sim, req);
    uint16_t bleed = (uint16_t)(sim->balance_active >> first_cell_reg(sim));
    tbms_sim_model_advance(&sim->model, a, bleed, dt_s);
    sim->model_ms += dt_ms;

    float cap_as = capacity_setting_as(sim);
    if (cap_as > 0.0f) {
        float soc = sim->soc_frac + a * dt_s / cap_as;
        sim->soc_frac = soc < 0.0f ? 0.0f : (soc > 1.0f ? 1.0f : soc);
    }

    measure(sim);
    protect(sim, req);
    /* A protection that tripped just now opens its switch at once. */
    float cut = cut_current(sim, a);
    if (cut != a) {
        tbms_sim_model_advance(&sim->model, cut, bleed, 0.0f);
        measure(sim);
        a = cut;
    }

    if (!sim->charging && a > TBMS_SIM_ACTIVE_CURRENT_A) {
        sim->charging = true;
        sim->stat_charging++;
        log_event(sim, EV_CHARGING_STARTED);
    } else if (sim->charging && a <= 0.0f) {
        sim->charging = false;
    }
    uint16_t vmin;
    uint16_t vmax;
    cell_extremes(sim, &vmin, &vmax);
    if (!sim->fully_charged && a > TBMS_SIM_ACTIVE_CURRENT_A &&
        vmax >= sim->settings.fully_charged_mv * 10u) {
        sim->fully_charged = true;
        sim->soc_frac = 1.0f;
        sim->stat_full++;
        log_event(sim, EV_CHARGING_DONE);
    } else if (sim->fully_charged && a < -TBMS_SIM_ACTIVE_CURRENT_A) {
        sim->fully_charged = false;
    }

    balance(sim);
    update_stats(sim);
    update_status(sim);
}

static void restart(tbms_sim_t *sim, uint8_t reset_cause)
{
    sim->faults = 0u;
    sim->doc_since_ms = 0u;
    sim->fully_charged = false;
    sim->charging = false;
    sim->asleep = false;
    sim->reset_cause = reset_cause;
    log_event(sim, EV_SYSTEM_STARTED);
    tick(sim, 0u);
}

/* ---- Public: life cycle ---- */

tbms_sim_config_t tbms_sim_default_config(void)
{
    tbms_sim_config_t c;
    memset(&c, 0, sizeof c);
    c.cells = 16u;
    c.capacity_ah = 280.0f;
    c.soc_pct = 55.0f;
    c.capacity_spread_pct = 1.5f;
    c.resistance_spread_pct = 10.0f;
    c.soc_spread_pct = 0.6f;
    c.cell_resistance_mohm = 0.0f;
    c.ambient_c = 22.0f;
    c.ext_temp_present[0] = true;
    c.ext_temp_present[1] = true;
    c.seed = 1u;
    c.sleep_enabled = true;
    c.sleep_after_ms = TBMS_SIM_SLEEP_AFTER_MS;
    c.demo_profile = true;
    c.time_scale = 1.0f;
    c.lifetime_s = 100u * 24u * 3600u;
    return c;
}

static bool config_ok(const tbms_sim_config_t *c)
{
    return c->cells >= 4u && c->cells <= TBMS_MAX_CELLS && in_range(c->capacity_ah, 0.1f, 655.0f) &&
           in_range(c->soc_pct, 0.0f, 100.0f) && in_range(c->capacity_spread_pct, 0.0f, 50.0f) &&
           in_range(c->resistance_spread_pct, 0.0f, 90.0f) &&
           in_range(c->soc_spread_pct, 0.0f, 50.0f) &&
           in_range(c->cell_resistance_mohm, -1.0f, 1000.0f) &&
           in_range(c->ambient_c, -40.0f, 80.0f) && c->sleep_after_ms >= 1u &&
           in_range(c->time_scale, 0.001f, 1e6f) && c->latency_max_ms <= TBMS_SIM_LATENCY_MAX_MS &&
           c->latency_min_ms <= c->latency_max_ms;
}

tbms_sim_err_t tbms_sim_init(tbms_sim_t *sim, const tbms_sim_config_t *cfg, uint64_t now_ms)
{
    if (sim == NULL) {
        return TBMS_SIM_ERR_ARG;
    }
    memset(sim, 0, sizeof *sim);
    sim->cfg = cfg ? *cfg : tbms_sim_default_config();
    if (!config_ok(&sim->cfg)) {
        return TBMS_SIM_ERR_ARG;
    }
    tbms_sim_model_params_t p = {
        .cells = sim->cfg.cells,
        .capacity_ah = sim->cfg.capacity_ah,
        .soc_pct = sim->cfg.soc_pct,
        .capacity_spread_pct = sim->cfg.capacity_spread_pct,
        .resistance_spread_pct = sim->cfg.resistance_spread_pct,
        .soc_spread_pct = sim->cfg.soc_spread_pct,
        .cell_resistance_mohm = sim->cfg.cell_resistance_mohm,
        .ambient_c = sim->cfg.ambient_c,
        .seed = sim->cfg.seed,
    };
    tbms_sim_model_init(&sim->model, &p);
    tbms_parser_init(&sim->parser, TBMS_DIR_REQUEST);
    default_settings(sim->settings_regs, sim->cfg.cells, sim->cfg.capacity_ah);
    if (tbms_decode_settings(sim->settings_regs, TBMS_SETTINGS_REG_COUNT, 0u, &sim->settings) !=
        TBMS_OK) {
        return TBMS_SIM_ERR_ARG;
    }
    sim->soh_raw = DEFAULT_SOH_RAW;
    sim->soc_frac = sim->cfg.soc_pct / 100.0f;
    sim->last_step_ms = now_ms;
    sim->wall_ms = now_ms;
    sim->last_rx_ms = now_ms;
    sim->next_broadcast_ms = now_ms;
    sim->stats_cleared_s = sim->cfg.lifetime_s;
    sim->stat_tmin_c = temp_i8(sim->cfg.ambient_c);
    sim->stat_tmax_c = sim->stat_tmin_c;
    restart(sim, RESET_POR);
    return TBMS_SIM_OK;
}

void tbms_sim_set_current_ma(tbms_sim_t *sim, int32_t ma)
{
    if (sim != NULL) {
        sim->external_current = true;
        sim->external_current_a = (float)ma / 1000.0f;
        tick(sim, 0u);
    }
}

void tbms_sim_clear_current(tbms_sim_t *sim)
{
    if (sim != NULL) {
        sim->external_current = false;
        tick(sim, 0u);
    }
}

tbms_sim_err_t tbms_sim_set_dvcc_limits(tbms_sim_t *sim, int32_t ccl_ma, int32_t dcl_ma,
                                        int32_t cvl_mv, int32_t dvl_mv, uint64_t now_ms)
{
    if (sim == NULL || ccl_ma < 0 || dcl_ma < 0 || cvl_mv < 0 || dvl_mv < 0) {
        return TBMS_SIM_ERR_ARG;
    }
    tbms_sim_step(sim, now_ms);
    sim->dvcc.set = true;
    sim->dvcc.ccl_ma = ccl_ma;
    sim->dvcc.dcl_ma = dcl_ma;
    sim->dvcc.cvl_mv = cvl_mv;
    sim->dvcc.dvl_mv = dvl_mv;
    sim->dvcc.at_ms = sim->last_step_ms; /* now_ms, or the later last step */
    tick(sim, 0u);
    return TBMS_SIM_OK;
}

void tbms_sim_clear_dvcc_limits(tbms_sim_t *sim)
{
    if (sim != NULL) {
        memset(&sim->dvcc, 0, sizeof sim->dvcc);
        tick(sim, 0u);
    }
}

static void wake(tbms_sim_t *sim, uint8_t reason)
{
    sim->asleep = false;
    sim->wakeup_reason = reason;
}

void tbms_sim_step(tbms_sim_t *sim, uint64_t now_ms)
{
    if (sim == NULL || now_ms < sim->last_step_ms) {
        return;
    }
    uint64_t from_ms = sim->last_step_ms;
    double add = (double)(now_ms - sim->last_step_ms) * (double)sim->cfg.time_scale +
                 (double)sim->model_frac_ms;
    sim->last_step_ms = now_ms;
    uint64_t dm = (uint64_t)add;
    sim->model_frac_ms = (float)(add - (double)dm);
    uint64_t done = 0u;
    while (dm > 0u) {
        uint32_t d = dm > TICK_MAX_MS ? TICK_MAX_MS : (uint32_t)dm;
        /* The wall time this tick starts at, for the age of the DVCC limits. */
        uint64_t w = from_ms + (uint64_t)((double)done / (double)sim->cfg.time_scale);
        sim->wall_ms = w < now_ms ? w : now_ms;
        tick(sim, d);
        dm -= d;
        done += d;
    }
    sim->wall_ms = now_ms;

    /* Sleep (MAN-D Table 3.11): quiet UART, small current, no over-current. */
    bool small = fabsf(sim->requested_a) < TBMS_SIM_SLEEP_CURRENT_A &&
                 fabsf(sim->model.current_a) < TBMS_SIM_SLEEP_CURRENT_A;
    if (sim->asleep && !small) {
        wake(sim, sim->requested_a > 0.0f ? WAKE_CHARGER : WAKE_DISCHARGE);
    } else if (!sim->asleep && sim->cfg.sleep_enabled && small && sim->parser.len == 0u &&
               sim->pending_count == 0u && now_ms - sim->last_rx_ms >= sim->cfg.sleep_after_ms &&
               (sim->faults & (TBMS_SIM_FAULT_DOC | TBMS_SIM_FAULT_COC)) == 0u) {
        sim->asleep = true;
        sim->balance_active = 0u;
    }
}

/* ---- Register image (tinybms-uart.md 5) ---- */

static float pack_v(const tbms_sim_t *sim)
{
    uint32_t sum = 0u;
    for (unsigned i = 0; i < sim->model.cells; i++) {
        sum += sim->cell_100uv[i];
    }
    return (float)sum / 10000.0f;
}

static uint32_t soc_raw(const tbms_sim_t *sim)
{
    return (uint32_t)round_ll(sim->soc_frac * 1000000.0f) * 100u;
}

static uint32_t time_left_s(const tbms_sim_t *sim)
{
    float a = sim->model.current_a;
    float rate = a < -TBMS_SIM_ACTIVE_CURRENT_A ? -a : IDLE_TIME_LEFT_A;
    float s = sim->soc_frac * capacity_setting_as(sim) / rate;
    return s >= 4.0e9f ? 0xFFFFFFFFu : (uint32_t)s;
}

static uint16_t live_register(const tbms_sim_t *sim, uint16_t addr)
{
    uint16_t vmin;
    uint16_t vmax;
    if (addr < TBMS_MAX_CELLS) {
        unsigned first = first_cell_reg(sim);
        return addr >= first ? sim->cell_100uv[addr - first] : 0u;
    }
    switch (addr) {
    case 32u:
        return (uint16_t)(lifetime_s(sim) & 0xFFFFu);
    case 33u:
        return (uint16_t)(lifetime_s(sim) >> 16);
    case 34u:
        return (uint16_t)(time_left_s(sim) & 0xFFFFu);
    case 35u:
        return (uint16_t)(time_left_s(sim) >> 16);
    case 36u:
        return (uint16_t)(wire_f32_to_bits(pack_v(sim)) & 0xFFFFu);
    case 37u:
        return (uint16_t)(wire_f32_to_bits(pack_v(sim)) >> 16);
    case 38u:
        return (uint16_t)(wire_f32_to_bits(sim->model.current_a) & 0xFFFFu);
    case 39u:
        return (uint16_t)(wire_f32_to_bits(sim->model.current_a) >> 16);
    case 40u:
        cell_extremes(sim, &vmin, &vmax);
        return (uint16_t)((vmin + 5u) / 10u);
    case 41u:
        cell_extremes(sim, &vmin, &vmax);
        return (uint16_t)((vmax + 5u) / 10u);
    case 42u:
    case 43u:
        return sim->cfg.ext_temp_present[addr - 42u]
                   ? temp_reg(sim->model.temp_c[addr - 42u])
                   : (uint16_t)0x8000u;
    case 45u:
        return sim->soh_raw;
    case 46u:
        return (uint16_t)(soc_raw(sim) & 0xFFFFu);
    case 47u:
        return (uint16_t)(soc_raw(sim) >> 16);
    case 48u:
        return temp_reg(sim->model.temp_c[TBMS_SIM_TEMP_INTERNAL]);
    case 50u:
        return sim->status;
    case 51u:
        return sim->balance_need;
    case 52u:
        return sim->balance_active;
    case 53u:
        return sim->model.cells;
    default:
        return 0u; /* 16..31, 44 distance, 49, 54-55 speed 0.0f, 56..99 */
    }
}

static uint16_t stats_register(const tbms_sim_t *sim, uint16_t addr)
{
    switch (addr) {
    case 102u:
        return sim->stat_max_discharge_100ma;
    case 103u:
        return sim->stat_max_charge_100ma;
    case 104u:
        return sim->stat_max_diff_100uv;
    case 105u:
        return sim->stat_uv;
    case 106u:
        return sim->stat_ov;
    case 107u:
        return sim->stat_doc;
    case 108u:
        return sim->stat_coc;
    case 109u:
        return sim->stat_heat;
    case 111u:
        return sim->stat_charging;
    case 112u:
        return sim->stat_full;
    case 113u:
        return (uint16_t)((uint16_t)(uint8_t)sim->stat_tmin_c |
                          (uint16_t)((uint16_t)(uint8_t)sim->stat_tmax_c << 8));
    case 114u:
        return (uint16_t)(sim->reset_cause | (sim->wakeup_reason << 8));
    case 116u:
        return (uint16_t)(sim->stats_cleared_s & 0xFFFFu);
    case 117u:
        return (uint16_t)(sim->stats_cleared_s >> 16);
    default:
        return 0u; /* 100-101 distance, reserved 110, 115, 118.. */
    }
}

static uint16_t version_register(const tbms_sim_t *sim, uint16_t addr)
{
    switch (addr) {
    case 500u:
        return (uint16_t)(VER_HW | (VER_HW_CHANGES << 8));
    case 501u:
        return VER_REG501;
    case 502u:
        return VER_FW_INTERNAL;
    case 503u:
        return (uint16_t)(VER_BOOTLOADER | (VER_PROFILE << 8));
    default:
        if (addr >= 504u && addr <= 509u) {
            return (uint16_t)(tbms_sim_model_hash(sim->cfg.seed, SERIAL_STREAM, addr) & 0xFFFFu);
        }
        return 0u;
    }
}

uint16_t tbms_sim_register(const tbms_sim_t *sim, uint16_t addr)
{
    if (sim == NULL) {
        return 0u;
    }
    if (addr < 100u) {
        return live_register(sim, addr);
    }
    if (addr < 200u) {
        return stats_register(sim, addr);
    }
    if (addr < 298u) {
        unsigned slot = (addr - 200u) / 2u;
        if ((addr & 1u) == 0u) {
            return (uint16_t)(sim->ev_ts[slot] & 0xFFFFu);
        }
        return (uint16_t)(((sim->ev_ts[slot] >> 16) & 0xFFu) | ((uint32_t)sim->ev_id[slot] << 8));
    }
    if (addr >= SETTINGS_FIRST && addr <= SETTINGS_LAST) {
        return sim->settings_regs[addr - SETTINGS_FIRST];
    }
    if (addr >= 500u && addr < TBMS_SIM_REG_COUNT) {
        return version_register(sim, addr);
    }
    return 0u;
}

/* ---- Output queue ---- */

static void queue_bytes(tbms_sim_t *sim, const uint8_t *b, size_t n)
{
    if (n > TBMS_SIM_TX_CAP - sim->tx_len) {
        sim->counters.tx_dropped += (uint32_t)n;
        return;
    }
    memcpy(sim->tx + sim->tx_len, b, n);
    sim->tx_len += n;
}

static void queue_frame(tbms_sim_t *sim, uint8_t *frame, size_t n)
{
    if (sim->corrupt_next > 0u && n > 0u) {
        sim->corrupt_next--;
        frame[n - 1u] = (uint8_t)~frame[n - 1u];
    }
    sim->counters.responses++;
    queue_bytes(sim, frame, n);
}

static void send_nack(tbms_sim_t *sim, uint8_t cmd, uint8_t code)
{
    uint8_t f[TBMS_NACK_LEN];
    size_t n = 0u;
    if (tbms_build_nack(cmd, code, f, sizeof f, &n) == TBMS_OK) {
        sim->counters.nacks++;
        queue_frame(sim, f, n);
    }
}

static void send_ack(tbms_sim_t *sim, uint8_t cmd)
{
    uint8_t f[TBMS_ACK_LEN];
    size_t n = 0u;
    if (tbms_build_ack(cmd, f, sizeof f, &n) == TBMS_OK) {
        queue_frame(sim, f, n);
    }
}

/* AA cmd payload CRC; a build error (cannot happen with our sizes) NACKs. */
static void send_cmd(tbms_sim_t *sim, uint8_t cmd, const uint8_t *payload, size_t n)
{
    uint8_t f[TBMS_FRAME_MAX];
    size_t len = 0u;
    if (tbms_build_cmd(cmd, payload, n, f, sizeof f, &len) == TBMS_OK) {
        queue_frame(sim, f, len);
    } else {
        send_nack(sim, cmd, TBMS_NACK_CMD_ERROR);
    }
}

/* ---- Broadcast (tinybms-uart.md 1, 5.4 regs 342/343) ---- */

typedef struct {
    char buf[160];
    size_t len;
} line_t;

static void put_str(line_t *l, const char *s)
{
    while (*s && l->len < sizeof l->buf) {
        l->buf[l->len++] = *s++;
    }
}

/* v with `decimals` digits after the point, like printf("%.*f"). */
static void put_fixed(line_t *l, float v, unsigned decimals)
{
    uint32_t scale = 1u;
    for (unsigned i = 0; i < decimals; i++) {
        scale *= 10u;
    }
    long long x = round_ll(v * (float)scale);
    if (x < 0) {
        put_str(l, "-");
        x = -x;
    }
    unsigned long long ip = (unsigned long long)x / scale;
    unsigned long long fp = (unsigned long long)x % scale;
    char digits[24];
    size_t n = 0u;
    do {
        digits[n++] = (char)('0' + (int)(ip % 10u));
        ip /= 10u;
    } while (ip > 0u && n < sizeof digits);
    while (n > 0u && l->len < sizeof l->buf) {
        l->buf[l->len++] = digits[--n];
    }
    if (decimals > 0u) {
        put_str(l, ".");
        for (unsigned i = decimals; i > 0u; i--) {
            uint32_t div = 1u;
            for (unsigned k = 1u; k < i; k++) {
                div *= 10u;
            }
            char c[2] = {(char)('0' + (int)((fp / div) % 10u)), '\0'};
            put_str(l, c);
        }
    }
}

/*
 * ASSUMPTION: the document names the formats but gives only a fragment of
 * the ASCII one ("BPV:..\tMINCV:.."); the field set below is ours. CA V3 is
 * sent as the same values tab-separated without labels; SOC-BAR (code 2)
 * is undocumented and sends nothing.
 */
static void broadcast(tbms_sim_t *sim)
{
    uint16_t vmin;
    uint16_t vmax;
    cell_extremes(sim, &vmin, &vmax);
    float fields[5] = {pack_v(sim), sim->model.current_a, sim->soc_frac * 100.0f,
                       (float)vmin / 10000.0f, (float)vmax / 10000.0f};
    static const char *const labels[5] = {"BPV:", "BPC:", "SOC:", "MINCV:", "MAXCV:"};
    static const unsigned decimals[5] = {2u, 2u, 1u, 3u, 3u};
    uint8_t proto = sim->settings.broadcast_protocol;
    if (proto > 1u) {
        return;
    }
    line_t l = {{0}, 0u};
    for (unsigned k = 0; k < 5u; k++) {
        if (k > 0u) {
            put_str(&l, "\t");
        }
        if (proto == 1u) {
            put_str(&l, labels[k]);
        }
        put_fixed(&l, fields[k], decimals[k]);
    }
    put_str(&l, "\r\n");
    queue_bytes(sim, (const uint8_t *)l.buf, l.len);
}

static void maybe_broadcast(tbms_sim_t *sim, uint64_t now_ms)
{
    uint8_t code = sim->settings.broadcast_time;
    if (code == 0u || code >= 8u || sim->asleep || sim->muted || sim->parser.len > 0u ||
        now_ms < sim->next_broadcast_ms) {
        return;
    }
    uint16_t period = broadcast_period_ms[code];
    broadcast(sim);
    sim->next_broadcast_ms += period;
    if (sim->next_broadcast_ms <= now_ms) {
        sim->next_broadcast_ms = now_ms + period;
    }
}

/* ---- Command handlers ---- */

static void put_le16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v & 0xFFu);
    p[1] = (uint8_t)(v >> 8);
}

static void put_le32(uint8_t *p, uint32_t v)
{
    put_le16(p, (uint16_t)(v & 0xFFFFu));
    put_le16(p + 2, (uint16_t)(v >> 16));
}

static uint16_t le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

static bool block_ok(uint32_t addr, uint32_t count, uint32_t max)
{
    return count >= 1u && count <= max && addr + count <= TBMS_SIM_REG_COUNT;
}

static void cmd_modbus_read(tbms_sim_t *sim, const tbms_frame_t *f)
{
    if (!block_ok(f->addr, f->count, TBMS_MODBUS_READ_MAX)) {
        send_nack(sim, f->cmd, TBMS_NACK_CMD_ERROR);
        return;
    }
    uint16_t regs[TBMS_MODBUS_READ_MAX];
    for (uint16_t i = 0; i < f->count; i++) {
        regs[i] = tbms_sim_register(sim, (uint16_t)(f->addr + i));
    }
    uint8_t out[TBMS_FRAME_MAX];
    size_t n = 0u;
    if (tbms_build_read_response(regs, f->count, out, sizeof out, &n) == TBMS_OK) {
        queue_frame(sim, out, n);
    }
}

static bool write_block(tbms_sim_t *sim, uint16_t addr, const uint16_t *vals, size_t count,
                        uint64_t now_ms)
{
    uint16_t addrs[TBMS_MODBUS_WRITE_MAX];
    if (count == 0u || count > TBMS_MODBUS_WRITE_MAX) {
        return false;
    }
    for (size_t i = 0; i < count; i++) {
        addrs[i] = (uint16_t)(addr + i);
    }
    if ((uint32_t)addr + count > 0xFFFFu) {
        return false;
    }
    return apply_settings(sim, addrs, vals, count, now_ms);
}

static void cmd_modbus_write(tbms_sim_t *sim, const tbms_frame_t *f, uint64_t now_ms)
{
    uint16_t vals[TBMS_MODBUS_WRITE_MAX];
    size_t n = 0u;
    if (tbms_frame_registers(f, vals, TBMS_MODBUS_WRITE_MAX, &n) != TBMS_OK || n != f->count ||
        !write_block(sim, f->addr, vals, n, now_ms)) {
        send_nack(sim, f->cmd, TBMS_NACK_CMD_ERROR);
        return;
    }
    uint8_t out[TBMS_WRITE_RSP_LEN];
    size_t len = 0u;
    if (tbms_build_write_response(f->addr, f->count, out, sizeof out, &len) == TBMS_OK) {
        queue_frame(sim, out, len);
    }
}

/* 0x07: AA 07 RL ADDR_L ADDR_H -> AA 07 PL data(LE) */
static void cmd_read_block(tbms_sim_t *sim, const tbms_frame_t *f)
{
    if (!block_ok(f->addr, f->count, PL_MAX / 2u)) {
        send_nack(sim, f->cmd, TBMS_NACK_CMD_ERROR);
        return;
    }
    uint8_t p[1u + PL_MAX];
    p[0] = (uint8_t)(2u * f->count);
    for (uint16_t i = 0; i < f->count; i++) {
        put_le16(&p[1u + 2u * i], tbms_sim_register(sim, (uint16_t)(f->addr + i)));
    }
    send_cmd(sim, f->cmd, p, 1u + 2u * f->count);
}

/* 0x09: AA 09 PL {ADDR LE}xn -> AA 09 PL {ADDR LE, DATA LE}xn */
static void cmd_read_individual(tbms_sim_t *sim, const tbms_frame_t *f)
{
    uint8_t pl = f->payload_len > 0u ? f->payload[0] : 0u;
    size_t n = pl / 2u;
    if (pl == 0u || (pl & 1u) || f->payload_len != 1u + pl || 4u * n > PL_MAX) {
        send_nack(sim, f->cmd, TBMS_NACK_CMD_ERROR);
        return;
    }
    uint8_t p[1u + PL_MAX];
    p[0] = (uint8_t)(4u * n);
    for (size_t i = 0; i < n; i++) {
        uint16_t addr = le16(&f->payload[1u + 2u * i]);
        if (addr >= TBMS_SIM_REG_COUNT) {
            send_nack(sim, f->cmd, TBMS_NACK_CMD_ERROR);
            return;
        }
        put_le16(&p[1u + 4u * i], addr);
        put_le16(&p[3u + 4u * i], tbms_sim_register(sim, addr));
    }
    send_cmd(sim, f->cmd, p, 1u + 4u * n);
}

/* 0x0B: AA 0B PL ADDR LE {DATA LE}xn (PL = 2n) -> ACK */
static void cmd_write_block(tbms_sim_t *sim, const tbms_frame_t *f, uint64_t now_ms)
{
    uint8_t pl = f->payload_len > 0u ? f->payload[0] : 0u;
    size_t n = pl / 2u;
    uint16_t vals[PL_MAX / 2u];
    bool ok = pl != 0u && (pl & 1u) == 0u && f->payload_len == 3u + pl;
    if (ok) {
        for (size_t i = 0; i < n; i++) {
            vals[i] = le16(&f->payload[3u + 2u * i]);
        }
        ok = write_block(sim, le16(&f->payload[1]), vals, n, now_ms);
    }
    if (ok) {
        send_ack(sim, f->cmd);
    } else {
        send_nack(sim, f->cmd, TBMS_NACK_CMD_ERROR);
    }
}

/* 0x0D: AA 0D PL {ADDR LE, DATA LE}xn (PL = 4n) -> ACK */
static void cmd_write_individual(tbms_sim_t *sim, const tbms_frame_t *f, uint64_t now_ms)
{
    uint8_t pl = f->payload_len > 0u ? f->payload[0] : 0u;
    size_t n = pl / 4u;
    uint16_t addrs[PL_MAX / 4u];
    uint16_t vals[PL_MAX / 4u];
    bool ok = pl != 0u && (pl & 3u) == 0u && f->payload_len == 1u + pl;
    if (ok) {
        for (size_t i = 0; i < n; i++) {
            addrs[i] = le16(&f->payload[1u + 4u * i]);
            vals[i] = le16(&f->payload[3u + 4u * i]);
        }
        ok = apply_settings(sim, addrs, vals, n, now_ms);
    }
    if (ok) {
        send_ack(sim, f->cmd);
    } else {
        send_nack(sim, f->cmd, TBMS_NACK_CMD_ERROR);
    }
}

static void clear_stats(tbms_sim_t *sim)
{
    sim->stat_max_discharge_100ma = 0u;
    sim->stat_max_charge_100ma = 0u;
    sim->stat_max_diff_100uv = 0u;
    sim->stat_uv = sim->stat_ov = sim->stat_doc = sim->stat_coc = sim->stat_heat = 0u;
    sim->stat_charging = sim->stat_full = 0u;
    float lo;
    float hi;
    float all;
    temp_extremes(sim, &lo, &hi, &all);
    sim->stat_tmin_c = temp_i8(lo);
    sim->stat_tmax_c = temp_i8(hi);
    sim->stats_cleared_s = lifetime_s(sim);
}

/* 0x02 OPT -> ACK. Clearing events does not clear a fault (MAN-D). */
static void cmd_reset(tbms_sim_t *sim, const tbms_frame_t *f)
{
    uint8_t opt = f->payload_len == 1u ? f->payload[0] : 0u;
    switch (opt) {
    case OPT_CLEAR_EVENTS:
        memset(sim->ev_ts, 0, sizeof sim->ev_ts);
        memset(sim->ev_id, 0, sizeof sim->ev_id);
        sim->ev_next = sim->ev_count = sim->ev_unread = 0u;
        send_ack(sim, f->cmd);
        break;
    case OPT_CLEAR_STATS:
        clear_stats(sim);
        send_ack(sim, f->cmd);
        break;
    case OPT_RESET_BMS:
        send_ack(sim, f->cmd);
        restart(sim, RESET_SOFTWARE);
        break;
    default:
        send_nack(sim, f->cmd, TBMS_NACK_CMD_ERROR);
        break;
    }
}

/*
 * 0x11 / 0x12: PL, BMS time u32, {TS u24, ID}xn, oldest first.
 * ASSUMPTION: "newest" (0x11) = the events logged since the previous 0x11;
 * the document does not define it (tinybms-uart.md 6).
 */
static void cmd_events(tbms_sim_t *sim, const tbms_frame_t *f)
{
    unsigned n = sim->ev_count;
    if (f->cmd == TBMS_CMD_EVENTS_NEWEST) {
        n = sim->ev_unread < sim->ev_count ? sim->ev_unread : sim->ev_count;
        sim->ev_unread = 0u;
    }
    uint8_t p[1u + 4u + 4u * TBMS_EVENT_SLOTS];
    p[0] = (uint8_t)(4u + 4u * n);
    put_le32(&p[1], lifetime_s(sim));
    for (unsigned k = 0; k < n; k++) {
        unsigned slot = event_slot(sim, n, k);
        put_le32(&p[5u + 4u * k], (sim->ev_ts[slot] & 0xFFFFFFu) | ((uint32_t)sim->ev_id[slot] << 24));
    }
    send_cmd(sim, f->cmd, p, 5u + 4u * n);
}

static void cmd_u16(tbms_sim_t *sim, uint8_t cmd, uint16_t v)
{
    uint8_t p[2];
    put_le16(p, v);
    send_cmd(sim, cmd, p, sizeof p);
}

static void cmd_u32(tbms_sim_t *sim, uint8_t cmd, uint32_t v)
{
    uint8_t p[4];
    put_le32(p, v);
    send_cmd(sim, cmd, p, sizeof p);
}

/* One word of the 0x1D reply for register addr and option opt. */
static uint16_t settings_word(const tbms_sim_t *sim, uint16_t addr, uint8_t opt)
{
    if (opt == SETTINGS_OPT_CURRENT) {
        return tbms_sim_register(sim, addr);
    }
    if (opt == SETTINGS_OPT_DEFAULT) {
        uint16_t def[TBMS_SETTINGS_REG_COUNT];
        default_settings(def, sim->cfg.cells, sim->cfg.capacity_ah);
        return addr <= SETTINGS_LAST ? def[addr - SETTINGS_FIRST] : 0u;
    }
    const tbms_reg_t *e = tbms_reg_find(addr);
    if (e == NULL || e->access != (uint8_t)TBMS_REG_RW) {
        return 0u;
    }
    if ((e->flags & TBMS_REG_F_RANGE) == 0u) {
        return opt == SETTINGS_OPT_MAX ? 0xFFFFu : 0u; /* 305: no range documented */
    }
    int32_t v = opt == SETTINGS_OPT_MIN ? e->min : e->max;
    if (e->address == 330u && opt == SETTINGS_OPT_MAX) {
        v |= 30 << 8; /* high byte: DOC timeout 0..30 s */
    }
    uint32_t u = (uint32_t)v; /* two's complement for the INT16 minimum -40 */
    if (e->words == 2u) {
        return addr == e->address ? (uint16_t)(u & 0xFFFFu) : (uint16_t)(u >> 16);
    }
    return (uint16_t)(u & 0xFFFFu);
}

/* 0x1D: AA 1D OPT 00 RL -> AA 1D PL u16 LE x RL, from register 300. */
static void cmd_settings(tbms_sim_t *sim, const tbms_frame_t *f)
{
    uint8_t opt = f->payload[0];
    uint8_t rl = f->payload[2];
    if (f->payload_len != 3u || opt < SETTINGS_OPT_MIN || opt > SETTINGS_OPT_CURRENT ||
        f->payload[1] != 0u || rl == 0u || rl > 100u) {
        send_nack(sim, f->cmd, TBMS_NACK_CMD_ERROR);
        return;
    }
    uint8_t p[1u + 200u];
    p[0] = (uint8_t)(2u * rl);
    for (uint16_t i = 0; i < rl; i++) {
        put_le16(&p[1u + 2u * i], settings_word(sim, (uint16_t)(SETTINGS_FIRST + i), opt));
    }
    send_cmd(sim, f->cmd, p, 1u + 2u * rl);
}

static void cmd_version(tbms_sim_t *sim, uint8_t cmd)
{
    uint8_t p[8] = {0u, VER_HW, VER_HW_CHANGES, VER_FW_PUBLIC, 0u, 0u, VER_BOOTLOADER, VER_REGMAP};
    put_le16(&p[4], VER_FW_INTERNAL);
    p[0] = cmd == TBMS_CMD_VERSION ? 5u : 7u;
    send_cmd(sim, cmd, p, 1u + p[0]);
}

static void cmd_temperatures(tbms_sim_t *sim, uint8_t cmd)
{
    uint8_t p[7];
    p[0] = 6u;
    put_le16(&p[1], tbms_sim_register(sim, 48u));
    put_le16(&p[3], tbms_sim_register(sim, 42u));
    put_le16(&p[5], tbms_sim_register(sim, 43u));
    send_cmd(sim, cmd, p, sizeof p);
}

/* ASSUMPTION: 0x1C lists the N cells lowest first (tinybms-uart.md 7.2
 * leaves the order open). */
static void cmd_cells(tbms_sim_t *sim, uint8_t cmd)
{
    uint8_t p[1u + 2u * TBMS_MAX_CELLS];
    p[0] = (uint8_t)(2u * sim->model.cells);
    for (unsigned i = 0; i < sim->model.cells; i++) {
        put_le16(&p[1u + 2u * i], sim->cell_100uv[i]);
    }
    send_cmd(sim, cmd, p, 1u + p[0]);
}

static void cmd_speed(tbms_sim_t *sim, uint8_t cmd)
{
    uint8_t p[12];
    put_le32(&p[0], wire_f32_to_bits(0.0f));
    put_le32(&p[4], 0u);
    put_le32(&p[8], time_left_s(sim));
    send_cmd(sim, cmd, p, sizeof p);
}

static void handle_frame(tbms_sim_t *sim, const tbms_frame_t *f, uint64_t now_ms)
{
    uint16_t vmin;
    uint16_t vmax;
    cell_extremes(sim, &vmin, &vmax);
    switch (f->cmd) {
    case TBMS_CMD_MODBUS_READ:
        cmd_modbus_read(sim, f);
        break;
    case TBMS_CMD_MODBUS_WRITE:
        cmd_modbus_write(sim, f, now_ms);
        break;
    case TBMS_CMD_READ_BLOCK:
        cmd_read_block(sim, f);
        break;
    case TBMS_CMD_READ_INDIV:
        cmd_read_individual(sim, f);
        break;
    case TBMS_CMD_WRITE_BLOCK:
        cmd_write_block(sim, f, now_ms);
        break;
    case TBMS_CMD_WRITE_INDIV:
        cmd_write_individual(sim, f, now_ms);
        break;
    case TBMS_CMD_RESET:
        cmd_reset(sim, f);
        break;
    case TBMS_CMD_EVENTS_NEWEST:
    case TBMS_CMD_EVENTS_ALL:
        cmd_events(sim, f);
        break;
    case TBMS_CMD_PACK_VOLTAGE:
        cmd_u32(sim, f->cmd, wire_f32_to_bits(pack_v(sim)));
        break;
    case TBMS_CMD_PACK_CURRENT:
        cmd_u32(sim, f->cmd, wire_f32_to_bits(sim->model.current_a));
        break;
    case TBMS_CMD_MAX_CELL_V:
        cmd_u16(sim, f->cmd, (uint16_t)((vmax + 5u) / 10u));
        break;
    case TBMS_CMD_MIN_CELL_V:
        cmd_u16(sim, f->cmd, (uint16_t)((vmin + 5u) / 10u));
        break;
    case TBMS_CMD_STATUS:
        cmd_u16(sim, f->cmd, sim->status);
        break;
    case TBMS_CMD_LIFETIME:
        cmd_u32(sim, f->cmd, lifetime_s(sim));
        break;
    case TBMS_CMD_SOC:
        cmd_u32(sim, f->cmd, soc_raw(sim));
        break;
    case TBMS_CMD_TEMPERATURES:
        cmd_temperatures(sim, f->cmd);
        break;
    case TBMS_CMD_CELLS:
        cmd_cells(sim, f->cmd);
        break;
    case TBMS_CMD_SETTINGS:
        cmd_settings(sim, f);
        break;
    case TBMS_CMD_VERSION:
    case TBMS_CMD_VERSION_EXT:
        cmd_version(sim, f->cmd);
        break;
    case TBMS_CMD_SPEED:
        cmd_speed(sim, f->cmd);
        break;
    default:
        send_nack(sim, f->cmd, TBMS_NACK_CMD_ERROR);
        break;
    }
}

/* ---- Public: UART ---- */

static void drain(tbms_sim_t *sim, uint8_t *out, size_t cap, size_t *out_len)
{
    size_t n = sim->tx_len < cap ? sim->tx_len : cap;
    if (n > 0u) {
        memcpy(out, sim->tx, n);
        memmove(sim->tx, sim->tx + n, sim->tx_len - n);
        sim->tx_len -= n;
    }
    *out_len = n;
}

/* ---- Answer latency (tbms_sim_config_t.latency_*) ---- */

static bool late_answers(const tbms_sim_t *sim)
{
    return sim->cfg.latency_max_ms > 0u;
}

/* The next delay, whole ms in [latency_min_ms, latency_max_ms]. */
static uint32_t draw_latency_ms(tbms_sim_t *sim)
{
    uint32_t span = sim->cfg.latency_max_ms - sim->cfg.latency_min_ms + 1u;
    uint32_t h = tbms_sim_model_hash(sim->cfg.seed, LATENCY_STREAM, sim->latency_draws++);
    return sim->cfg.latency_min_ms + h % span;
}

/* Sends the answer to a request (or the NACK of a rejected one) now. */
static void answer(tbms_sim_t *sim, const tbms_sim_pending_t *q, uint64_t now_ms)
{
    if (q->rejected) {
        send_nack(sim, q->nack_cmd,
                  q->err == TBMS_ERR_CRC ? TBMS_NACK_CRC_ERROR : TBMS_NACK_CMD_ERROR);
        return;
    }
    sim->counters.requests++;
    handle_frame(sim, &q->frame, now_ms);
}

/*
 * Answers q at once, or queues it behind the ones waiting: taken up at the
 * first millisecond surely after its arrival (now_ms + 1) or when the
 * previous answer leaves, whichever is later, and answered the drawn
 * delay after that.
 */
static void accept(tbms_sim_t *sim, tbms_sim_pending_t *q, uint64_t now_ms)
{
    if (!late_answers(sim)) {
        answer(sim, q, now_ms);
        return;
    }
    if (sim->pending_count == TBMS_SIM_PENDING_MAX) {
        sim->counters.busy_dropped++;
        return;
    }
    uint64_t start = now_ms + 1u;
    if (sim->pending_count > 0u && sim->last_due_ms > start) {
        start = sim->last_due_ms;
    }
    q->due_ms = start + draw_latency_ms(sim);
    sim->last_due_ms = q->due_ms;
    unsigned slot = (sim->pending_first + sim->pending_count) % TBMS_SIM_PENDING_MAX;
    sim->pending[slot] = *q;
    sim->pending_count++;
}

/* Sends every queued answer whose time has come, oldest first. */
static void answer_due(tbms_sim_t *sim, uint64_t now_ms)
{
    while (sim->pending_count > 0u && sim->pending[sim->pending_first].due_ms <= now_ms) {
        const tbms_sim_pending_t *q = &sim->pending[sim->pending_first];
        sim->pending_first = (uint8_t)((sim->pending_first + 1u) % TBMS_SIM_PENDING_MAX);
        sim->pending_count--;
        answer(sim, q, now_ms);
    }
}

uint64_t tbms_sim_next_answer_ms(const tbms_sim_t *sim)
{
    if (sim == NULL || sim->pending_count == 0u) {
        return UINT64_MAX;
    }
    return sim->pending[sim->pending_first].due_ms;
}

/*
 * A rejected frame: the parser has dropped only its 0xAA, so the command
 * byte is first in its buffer (tbms_frame.h: it rescans from the byte
 * after the rejected 0xAA). The rest of the bad frame is discarded so
 * that bytes inside it cannot start false frames and more NACKs.
 */
static void on_rejected(tbms_sim_t *sim, tbms_err_t err, uint64_t now_ms)
{
    uint8_t cmd = sim->parser.len > 0u ? sim->parser.buf[0] : 0u;
    tbms_parser_reset_buffer(&sim->parser);
    if (sim->asleep) {
        wake(sim, WAKE_UART);
        sim->counters.swallowed++;
        return;
    }
    if (err == TBMS_ERR_CRC) {
        sim->counters.crc_errors++;
    }
    tbms_sim_pending_t q = {.rejected = true, .err = err, .nack_cmd = cmd};
    accept(sim, &q, now_ms);
}

tbms_sim_err_t tbms_sim_receive(tbms_sim_t *sim, const uint8_t *in, size_t n, uint64_t now_ms,
                                uint8_t *out, size_t cap, size_t *out_len)
{
    if (sim == NULL || out_len == NULL || (in == NULL && n > 0u) || (out == NULL && cap > 0u)) {
        return TBMS_SIM_ERR_ARG;
    }
    *out_len = 0u;
    if (now_ms < sim->last_step_ms) {
        now_ms = sim->last_step_ms; /* time never runs backwards here */
    }
    tbms_sim_step(sim, now_ms);
    if (n > 0u && !sim->muted) {
        if (sim->parser.len > 0u && now_ms - sim->last_rx_ms > TBMS_SIM_FRAME_GAP_MS) {
            (void)tbms_parser_timeout(&sim->parser);
        }
        sim->last_rx_ms = now_ms;
        size_t off = 0u;
        tbms_parse_status_t st;
        do {
            tbms_frame_t f;
            tbms_err_t err = TBMS_OK;
            size_t used = 0u;
            st = tbms_parser_push(&sim->parser, in + off, n - off, &used, &f, &err);
            off += used;
            if (st == TBMS_PARSE_ERROR) {
                on_rejected(sim, err, now_ms);
            } else if (st == TBMS_PARSE_FRAME && sim->asleep) {
                /* tinybms-uart.md 1: the first command only wakes the BMS. */
                wake(sim, WAKE_UART);
                sim->counters.swallowed++;
            } else if (st == TBMS_PARSE_FRAME) {
                tbms_sim_pending_t q = {.rejected = false, .frame = f};
                accept(sim, &q, now_ms);
            }
        } while (st != TBMS_PARSE_MORE);
    }
    answer_due(sim, now_ms);
    maybe_broadcast(sim, now_ms);
    drain(sim, out, cap, out_len);
    return TBMS_SIM_OK;
}

tbms_sim_err_t tbms_sim_transmit(tbms_sim_t *sim, uint64_t now_ms, uint8_t *out, size_t cap,
                                 size_t *out_len)
{
    return tbms_sim_receive(sim, NULL, 0u, now_ms, out, cap, out_len);
}

tbms_sim_err_t tbms_sim_write_settings(tbms_sim_t *sim, uint16_t addr, const uint16_t *values,
                                       uint16_t count)
{
    if (sim == NULL || values == NULL || count == 0u) {
        return TBMS_SIM_ERR_ARG;
    }
    if (!write_block(sim, addr, values, count, sim->last_step_ms)) {
        return TBMS_SIM_ERR_REJECTED;
    }
    tick(sim, 0u);
    return TBMS_SIM_OK;
}

/* ---- Public: accessors and hooks ---- */

unsigned tbms_sim_cell_count(const tbms_sim_t *sim)
{
    return sim ? sim->model.cells : 0u;
}

float tbms_sim_cell_soc_pct(const tbms_sim_t *sim, unsigned i)
{
    return sim ? tbms_sim_model_cell_soc(&sim->model, i) * 100.0f : 0.0f;
}

float tbms_sim_cell_mv(const tbms_sim_t *sim, unsigned i)
{
    return sim ? tbms_sim_model_cell_v(&sim->model, i) * 1000.0f : 0.0f;
}

float tbms_sim_current_ma(const tbms_sim_t *sim)
{
    return sim ? sim->model.current_a * 1000.0f : 0.0f;
}

float tbms_sim_soc_pct(const tbms_sim_t *sim)
{
    return sim ? sim->soc_frac * 100.0f : 0.0f;
}

uint16_t tbms_sim_status(const tbms_sim_t *sim)
{
    return sim ? sim->status : 0u;
}

uint8_t tbms_sim_faults(const tbms_sim_t *sim)
{
    return sim ? sim->faults : 0u;
}

bool tbms_sim_is_asleep(const tbms_sim_t *sim)
{
    return sim ? sim->asleep : false;
}

bool tbms_sim_charge_blocked(const tbms_sim_t *sim)
{
    return sim ? charge_blocked(sim) : false;
}

bool tbms_sim_discharge_blocked(const tbms_sim_t *sim)
{
    return sim ? discharge_blocked(sim) : false;
}

const tbms_sim_model_t *tbms_sim_model(const tbms_sim_t *sim)
{
    return sim ? &sim->model : NULL;
}

const tbms_sim_config_t *tbms_sim_config(const tbms_sim_t *sim)
{
    return sim ? &sim->cfg : NULL;
}

const tbms_sim_counters_t *tbms_sim_counters(const tbms_sim_t *sim)
{
    return sim ? &sim->counters : NULL;
}

void tbms_sim_force_cell_mv(tbms_sim_t *sim, unsigned i, uint16_t mv)
{
    if (sim != NULL && i < sim->model.cells) {
        sim->forced_mv[i] = mv;
        tick(sim, 0u);
    }
}

void tbms_sim_set_muted(tbms_sim_t *sim, bool muted)
{
    if (sim != NULL) {
        sim->muted = muted;
    }
}

void tbms_sim_corrupt_responses(tbms_sim_t *sim, uint32_t n)
{
    if (sim != NULL) {
        sim->corrupt_next = n;
    }
}

void tbms_sim_set_ambient_c(tbms_sim_t *sim, float ambient_c)
{
    if (sim != NULL) {
        sim->model.ambient_c = ambient_c;
    }
}

void tbms_sim_force_sleep(tbms_sim_t *sim)
{
    if (sim != NULL) {
        sim->asleep = true;
        sim->balance_active = 0u;
    }
}
