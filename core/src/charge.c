/* Base charge limits: configuration capped by the TinyBMS settings. */
#include "charge.h"

#include <string.h>

/* The pack's temperatures: the caller's judgement, else this read alone. */
static ptemp_t pack_temps(const chg_pack_t *pack, const tbms_live_t *live)
{
    ptemp_t t;
    if (pack != NULL) {
        return pack->temp;
    }
    ptemp_eval(0u, live, &t);
    return t;
}

/* No charging below this: the higher of the configuration and reg 320. */
static int32_t cold_limit_dc(const chg_config_t *cfg, const tbms_settings_t *set)
{
    int32_t cold_dc = (int32_t)set->low_temp_charge_c * 10;
    return cfg->low_temp_charge_dc > cold_dc ? cfg->low_temp_charge_dc : cold_dc;
}

/* Fault IDs (tinybms-uart.md 6) whose cause concerns discharging, one bit each:
 * 0x02 under-voltage, 0x04 over-temperature, 0x05 discharging over-current,
 * 0x0A low-temperature cutoff, 0x0C load switch, 0x0D single-port switch,
 * 0x0E/0x0F external current sensor disconnected/connected. */
#define FAULTS_STOPPING_DISCHARGE                                                                  \
    ((1u << 0x02) | (1u << 0x04) | (1u << 0x05) | (1u << 0x0A) | (1u << 0x0C) | (1u << 0x0D) |  \
     (1u << 0x0E) | (1u << 0x0F))

bool chg_fault_stops_discharge(uint8_t fault_id)
{
    return fault_id < 32u && ((FAULTS_STOPPING_DISCHARGE >> fault_id) & 1u) != 0u;
}

bool chg_base_limits(const chg_config_t *cfg, const tbms_live_t *live, const tbms_settings_t *set,
                     const chg_pack_t *pack, chg_limits_t *out)
{
    if (out == NULL) {
        return false;
    }
    memset(out, 0, sizeof *out);
    if (cfg == NULL || live == NULL || set == NULL || !live->valid || !set->valid) {
        return false;
    }
    uint8_t cells = tbms_series_cells(live, set);
    if (cells == 0u) {
        return false;
    }
    out->cells = cells;

    /* CVL: per-cell target, never closer than the margin to the OV cutoff (reg 315). */
    int32_t cell_mv = cfg->charge_cell_mv;
    int32_t ceiling_mv = (int32_t)set->over_voltage_mv - (int32_t)cfg->ov_margin_mv;
    out->cvl_ceiling_mv = (ceiling_mv > 0 ? ceiling_mv : 0) * cells;
    if (cell_mv > ceiling_mv) {
        cell_mv = ceiling_mv;
        out->reasons |= CHG_REASON_CVL_CAPPED_BY_BMS;
    }
    if (cell_mv < 0) {
        cell_mv = 0;
    }
    out->cvl_mv = cell_mv * cells;

    /* DVL: never below the UV cutoff (reg 316). */
    int32_t dvl_cell = cfg->discharge_cell_mv;
    if (dvl_cell < (int32_t)set->under_voltage_mv) {
        dvl_cell = set->under_voltage_mv;
    }
    out->dvl_mv = dvl_cell * cells;

    /* CCL/DCL: configured maxima capped by the BMS over-current cutoffs
     * (regs 318/317, whole amperes), never the lifetime statistics 102/103. */
    int64_t ccl = cfg->max_charge_ma;
    int64_t bms_ccl = (int64_t)set->charge_oc_a * 1000;
    if (ccl > bms_ccl) {
        ccl = bms_ccl;
        out->reasons |= CHG_REASON_CCL_CAPPED_BY_BMS;
    }
    int64_t dcl = cfg->max_discharge_ma;
    int64_t bms_dcl = (int64_t)set->discharge_oc_a * 1000;
    if (dcl > bms_dcl) {
        dcl = bms_dcl;
        out->reasons |= CHG_REASON_DCL_CAPPED_BY_BMS;
    }

    ptemp_t temp = pack_temps(pack, live);
    int32_t cold_dc = cold_limit_dc(cfg, set);
    if (!temp.usable) {
        /* LFP must not be charged below 0 degC and nothing tells us. */
        ccl = 0;
        out->reasons |= CHG_REASON_CCL_NO_TEMP;
    } else if (temp.min_dc < cold_dc) {
        ccl = 0;
        out->reasons |= CHG_REASON_CCL_LOW_TEMP;
    } else if (ptemp_degraded(&temp)) {
        ccl = ccl * CHG_TEMP_LOST_PM / 1000;
        out->reasons |= CHG_REASON_CCL_TEMP_LOST;
    }
    if (live->cell_max_mv >= set->over_voltage_mv) {
        ccl = 0;
        out->reasons |= CHG_REASON_CCL_CELL_OV;
    }
    if (live->cell_count > 0u && live->cell_min_mv <= set->under_voltage_mv) {
        dcl = 0;
        out->reasons |= CHG_REASON_DCL_CELL_UV;
    }
    if (live->status == TBMS_STATUS_FAULT) {
        ccl = 0;
        out->reasons |= CHG_REASON_BMS_FAULT;
        if (pack != NULL && chg_fault_stops_discharge(pack->fault_id)) {
            dcl = 0;
            out->reasons |= CHG_REASON_DCL_BMS_FAULT;
        }
    }
    out->ccl_ma = (int32_t)ccl;
    out->dcl_ma = (int32_t)dcl;
    return true;
}

/* Permille from a linear segment: full at or beyond x_full, lo_pm at or
 * beyond x_lo, in between linear. Works in both directions. */
static int32_t ramp_pm(int32_t x, int32_t x_full, int32_t x_lo, int32_t lo_pm)
{
    if (x_full == x_lo) {
        return x >= x_lo ? lo_pm : 1000; /* degenerate: a step, rising direction */
    }
    int64_t span = (int64_t)x_lo - x_full;
    int64_t pos = (int64_t)x - x_full;
    if ((span > 0 && pos <= 0) || (span < 0 && pos >= 0)) {
        return 1000;
    }
    if ((span > 0 && pos >= span) || (span < 0 && pos <= span)) {
        return lo_pm;
    }
    return (int32_t)(1000 - (1000 - lo_pm) * pos / span);
}

static int32_t min_i32(int32_t a, int32_t b)
{
    return a < b ? a : b;
}

/* limit x pm / 1000, but a non-zero limit stays at least min(limit, 1 A). */
static int32_t derated(int32_t limit_ma, int32_t pm)
{
    if (limit_ma <= 0 || pm >= 1000) {
        return limit_ma;
    }
    int32_t v = (int32_t)((int64_t)limit_ma * pm / 1000);
    int32_t floor_ma = min_i32(limit_ma, 1000);
    return v < floor_ma ? floor_ma : v;
}

#define DERATE_FLOOR_PM     100 /* 10 %: derating never reaches 0 */
#define DERATE_COLD_PM      250 /* 25 % at the cold ends */
#define DERATE_COLD_SPAN_DC 100 /* 10 degC above the low-temperature charge limit */
#define DERATE_HOT_SPAN_DC  150 /* 15 degC below the over-heat cutoff (reg 319) */
#define DERATE_UV_SPAN_MV   100 /* above discharge_cell_mv */
#define DERATE_DIS_COLD_DC  (-200)

void chg_derate(const chg_config_t *cfg, const tbms_live_t *live, const tbms_settings_t *set,
                const chg_pack_t *pack, chg_limits_t *io)
{
    if (cfg == NULL || live == NULL || set == NULL || io == NULL || !cfg->derate ||
        !live->valid || !set->valid) {
        return;
    }
    int32_t ccl_pm = 1000;
    int32_t dcl_pm = 1000;
    if (live->cell_max_mv != 0u) {
        int32_t vc = cfg->charge_cell_mv;
        int32_t vov = set->over_voltage_mv;
        if (vc > vov) {
            vc = vov;
        }
        ccl_pm = min_i32(ccl_pm, ramp_pm(live->cell_max_mv, vc, (vc + vov) / 2, DERATE_FLOOR_PM));
    }
    if (live->cell_min_mv != 0u) {
        int32_t vd = cfg->discharge_cell_mv;
        dcl_pm = min_i32(dcl_pm, ramp_pm(live->cell_min_mv, vd + DERATE_UV_SPAN_MV, vd,
                                         DERATE_FLOOR_PM));
    }
    ptemp_t temp = pack_temps(pack, live);
    if (temp.usable) {
        int32_t tmin = temp.min_dc;
        int32_t cold_dc = cold_limit_dc(cfg, set);
        ccl_pm = min_i32(ccl_pm, ramp_pm(tmin, cold_dc + DERATE_COLD_SPAN_DC, cold_dc,
                                         DERATE_COLD_PM));
        dcl_pm = min_i32(dcl_pm, ramp_pm(tmin, 0, DERATE_DIS_COLD_DC, DERATE_COLD_PM));
        int32_t tmax = temp.max_dc;
        int32_t hot_dc = (int32_t)set->over_heat_c * 10;
        int32_t hot_pm = ramp_pm(tmax, hot_dc - DERATE_HOT_SPAN_DC, hot_dc, DERATE_FLOOR_PM);
        ccl_pm = min_i32(ccl_pm, hot_pm);
        dcl_pm = min_i32(dcl_pm, hot_pm);
    }
    int32_t ccl = derated(io->ccl_ma, ccl_pm);
    int32_t dcl = derated(io->dcl_ma, dcl_pm);
    if (ccl < io->ccl_ma) {
        io->reasons |= CHG_REASON_CCL_DERATED;
        io->ccl_ma = ccl;
    }
    if (dcl < io->dcl_ma) {
        io->reasons |= CHG_REASON_DCL_DERATED;
        io->dcl_ma = dcl;
    }
}

void chg_ramp_init(chg_ramp_t *r)
{
    if (r != NULL) {
        memset(r, 0, sizeof *r);
    }
}

int32_t chg_ramp_step(chg_ramp_t *r, int32_t target_ma, uint64_t now_us, uint32_t hold_us,
                      uint32_t ramp_ma_per_s)
{
    if (r == NULL) {
        return target_ma;
    }
    if (!r->started || target_ma <= r->out_ma) {
        if (r->started && target_ma < r->out_ma) {
            r->hold_until_us = now_us + hold_us;
        }
        r->started = true;
        r->out_ma = target_ma;
    } else if (now_us >= r->hold_until_us) {
        if (ramp_ma_per_s == 0u) {
            r->out_ma = target_ma;
        } else {
            uint64_t from = r->last_us > r->hold_until_us ? r->last_us : r->hold_until_us;
            uint64_t dt_us = now_us > from ? now_us - from : 0u;
            int64_t step = (int64_t)((uint64_t)ramp_ma_per_s * dt_us / 1000000u);
            if (step == 0) {
                return r->out_ma; /* keep last_us: the time accumulates */
            }
            int64_t v = (int64_t)r->out_ma + step;
            r->out_ma = v >= target_ma ? target_ma : (int32_t)v;
        }
    }
    r->last_us = now_us;
    return r->out_ma;
}

const char *chg_reason_name(uint32_t bit)
{
    switch (bit) {
    case CHG_REASON_CVL_CAPPED_BY_BMS:
        return "cvl_capped_by_bms";
    case CHG_REASON_CCL_CAPPED_BY_BMS:
        return "ccl_capped_by_bms";
    case CHG_REASON_DCL_CAPPED_BY_BMS:
        return "dcl_capped_by_bms";
    case CHG_REASON_CCL_LOW_TEMP:
        return "ccl_low_temperature";
    case CHG_REASON_CCL_CELL_OV:
        return "ccl_cell_over_voltage";
    case CHG_REASON_DCL_CELL_UV:
        return "dcl_cell_under_voltage";
    case CHG_REASON_BMS_FAULT:
        return "ccl_bms_fault";
    case CHG_REASON_CCL_DERATED:
        return "ccl_derated";
    case CHG_REASON_DCL_DERATED:
        return "dcl_derated";
    case CHG_REASON_CCL_NO_TEMP:
        return "ccl_no_temperature";
    case CHG_REASON_CCL_TEMP_LOST:
        return "ccl_temperature_sensor_lost";
    case CHG_REASON_DCL_BMS_FAULT:
        return "dcl_bms_fault";
    default:
        return "?";
    }
}
