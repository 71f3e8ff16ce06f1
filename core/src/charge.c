/* Base charge limits: configuration capped by the TinyBMS settings. */
#include "charge.h"

#include <string.h>

static uint8_t series_cells(const tbms_live_t *live, const tbms_settings_t *set)
{
    if (set->series_cells >= 4u && set->series_cells <= TBMS_MAX_CELLS) {
        return (uint8_t)set->series_cells;
    }
    if (live->cell_count >= 4u && live->cell_count <= TBMS_MAX_CELLS) {
        return live->cell_count;
    }
    return 0u;
}

static int16_t min_temp_dc(const tbms_live_t *live, bool *any)
{
    int16_t t = INT16_MAX;
    *any = false;
    for (unsigned i = 0; i < 2u; i++) {
        if (live->ext_temp_present[i] && live->ext_temp_dc[i] < t) {
            t = live->ext_temp_dc[i];
            *any = true;
        }
    }
    if (!*any && live->internal_temp_present) {
        t = live->internal_temp_dc;
        *any = true;
    }
    return t;
}

bool chg_base_limits(const chg_config_t *cfg, const tbms_live_t *live, const tbms_settings_t *set,
                     chg_limits_t *out)
{
    if (out == NULL) {
        return false;
    }
    memset(out, 0, sizeof *out);
    if (cfg == NULL || live == NULL || set == NULL || !live->valid || !set->valid) {
        return false;
    }
    uint8_t cells = series_cells(live, set);
    if (cells == 0u) {
        return false;
    }
    out->cells = cells;

    /* CVL: per-cell target, never closer than the margin to the OV cutoff (reg 315). */
    int32_t cell_mv = cfg->charge_cell_mv;
    int32_t ceiling_mv = (int32_t)set->over_voltage_mv - (int32_t)cfg->ov_margin_mv;
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

    bool have_temp = false;
    int16_t tmin = min_temp_dc(live, &have_temp);
    if (have_temp && tmin < (int32_t)set->low_temp_charge_c * 10) {
        ccl = 0;
        out->reasons |= CHG_REASON_CCL_LOW_TEMP;
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
        out->reasons |= CHG_REASON_BMS_FAULT;
    }
    out->ccl_ma = (int32_t)ccl;
    out->dcl_ma = (int32_t)dcl;
    return true;
}
