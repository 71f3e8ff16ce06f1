#include "bridge_config.h"

#include <string.h>

static uint32_t us(int32_t ms)
{
    return ms > 0 ? (uint32_t)ms * 1000u : 0u;
}

static uint32_t ma_from_da(int32_t da)
{
    return da > 0 ? (uint32_t)da * 100u : 0u;
}

static uint16_t u16(int32_t v)
{
    return v < 0 ? 0u : (v > UINT16_MAX ? UINT16_MAX : (uint16_t)v);
}

static uint32_t u32(int32_t v)
{
    return v < 0 ? 0u : (uint32_t)v;
}

static int16_t dc16(int32_t v)
{
    return v < INT16_MIN ? INT16_MIN : (v > INT16_MAX ? INT16_MAX : (int16_t)v);
}

void bridge_config_from_cfg(const cfg_t *cfg, brg_config_t *out)
{
    brg_default_config(out);
    if (cfg == NULL) {
        return;
    }
    out->poll.poll_interval_us = us(cfg->tinybms.poll_interval_ms);
    out->poll.response_timeout_us = us(cfg->hardware.uart.timeout_ms);
    out->poll.max_attempts = (uint8_t)(cfg->hardware.uart.retries + 1);
    out->poll.settings_period_us = us(cfg->tinybms.settings_refresh_ms);
    out->poll.stats_period_us = us(cfg->tinybms.stats_refresh_ms);
    out->poll.events_period_us = us(cfg->tinybms.events_refresh_ms);
    out->bms_timeout_us = us(cfg->tinybms.bms_timeout_ms);
    out->fast_period_us = us(cfg->victron.fast_interval_ms);
    out->detail_period_us = us(cfg->victron.detail_interval_ms);
    out->identity_period_us = us(cfg->victron.identity_interval_ms);
    out->keepalive_timeout_us = us(cfg->victron.keepalive_timeout_ms);
    strncpy(out->manufacturer, cfg->victron.manufacturer_name, sizeof out->manufacturer - 1u);
    out->manufacturer[sizeof out->manufacturer - 1u] = '\0';
    strncpy(out->battery_name, cfg->victron.battery_name, sizeof out->battery_name - 1u);
    out->battery_name[sizeof out->battery_name - 1u] = '\0';
    out->charge.charge_cell_mv = u16(cfg->victron.charge_cell_mv);
    out->charge.discharge_cell_mv = u16(cfg->victron.discharge_cell_mv);
    out->charge.max_charge_ma = ma_from_da(cfg->victron.max_charge_current_da);
    out->charge.max_discharge_ma = ma_from_da(cfg->victron.max_discharge_current_da);
    out->charge.derate = cfg->cvl.derate_enabled;
    out->charge.recovery_hold_us = us(cfg->cvl.current_hold_ms);
    out->charge.ramp_ma_per_s = ma_from_da(cfg->cvl.current_ramp_da_per_s);
    cvl_config_t *c = &out->cvl;
    c->enabled = cfg->cvl.enabled;
    c->bulk_soc_cpct = u16(cfg->cvl.bulk_soc_threshold_cpct);
    c->transition_soc_cpct = u16(cfg->cvl.transition_soc_threshold_cpct);
    c->float_soc_cpct = u16(cfg->cvl.float_soc_threshold_cpct);
    c->float_exit_soc_cpct = u16(cfg->cvl.float_exit_soc_cpct);
    c->soc_hysteresis_cpct = u16(cfg->cvl.soc_hysteresis_cpct);
    c->float_approach_offset_mv = u16(cfg->cvl.float_approach_offset_mv);
    c->float_offset_mv = u16(cfg->cvl.float_offset_mv);
    c->float_ccl_max_ma = ma_from_da(cfg->cvl.minimum_ccl_in_float_da);
    c->imbalance_hold_mv = u16(cfg->cvl.imbalance_hold_threshold_mv);
    c->imbalance_release_mv = u16(cfg->cvl.imbalance_release_threshold_mv);
    c->bulk_target_mv = cfg->cvl.bulk_target_mv > 0 ? (uint32_t)cfg->cvl.bulk_target_mv : 0u;
    c->series_cells = (uint8_t)u16(cfg->cvl.series_cell_count);
    c->cell_max_mv = u16(cfg->cvl.cell_max_mv);
    c->cell_safety_mv = u16(cfg->cvl.cell_safety_threshold_mv);
    c->cell_release_mv = u16(cfg->cvl.cell_safety_release_mv);
    c->cell_min_float_mv = u16(cfg->cvl.cell_min_float_mv);
    c->protection_kp_milli = u32(cfg->cvl.cell_protection_kp_milli);
    c->nominal_current_ma = ma_from_da(cfg->cvl.dynamic_current_nominal_da);
    c->max_recovery_step_mv = u32(cfg->cvl.max_recovery_step_mv);
    c->sustain_entry_cpct = u16(cfg->cvl.sustain_soc_entry_cpct);
    c->sustain_exit_cpct = u16(cfg->cvl.sustain_soc_exit_cpct);
    c->sustain_mv = u32(cfg->cvl.sustain_mv);
    c->sustain_cell_mv = u16(cfg->cvl.sustain_per_cell_mv);
    c->sustain_ccl_ma = ma_from_da(cfg->cvl.sustain_ccl_limit_da);
    c->sustain_dcl_ma = ma_from_da(cfg->cvl.sustain_dcl_limit_da);
    c->imbalance_drop_uv_per_mv = u32(cfg->cvl.imbalance_drop_uv_per_mv);
    c->imbalance_drop_max_mv = u32(cfg->cvl.imbalance_drop_max_mv);
    c->update_interval_us = us(cfg->cvl.update_interval_ms);
    out->thresholds.overvoltage_mv = cfg->victron.thresholds.overvoltage_mv;
    out->thresholds.undervoltage_mv = cfg->victron.thresholds.undervoltage_mv;
    out->thresholds.overtemp_dc = dc16(cfg->victron.thresholds.overtemp_dc);
    out->thresholds.low_temp_charge_dc = dc16(cfg->victron.thresholds.low_temp_charge_dc);
    out->thresholds.imbalance_warn_mv = u16(cfg->victron.thresholds.imbalance_warn_mv);
    out->thresholds.imbalance_alarm_mv = u16(cfg->victron.thresholds.imbalance_alarm_mv);
}
