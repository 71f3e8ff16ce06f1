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

static uint8_t u8(int32_t v)
{
    return v < 0 ? 0u : (v > UINT8_MAX ? UINT8_MAX : (uint8_t)v);
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
    out->packs = cfg->packs.count > 0u ? cfg->packs.count : 1u;
    out->bank.min_packs = u8(cfg->bank.min_packs);
    out->bank.offline_grace_us = us(cfg->bank.offline_grace_ms);
    out->bank.rejoin_hold_us = us(cfg->bank.rejoin_hold_ms);
    out->bank.rejoin_window_cell_mv = u16(cfg->bank.rejoin_window_cell_mv);
    out->bank.near_cutoff_mv = u16(cfg->bank.near_cutoff_mv);
    out->bank.share_min_ma = u32(cfg->bank.share_min_ma);
    out->bank.small_current_split_pm = u16(cfg->bank.small_current_split_pm);
    out->bank.incremental_guard = cfg->bank.incremental_guard;
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
    out->charge.low_temp_charge_dc = out->thresholds.low_temp_charge_dc;
    out->thresholds.imbalance_warn_mv = u16(cfg->victron.thresholds.imbalance_warn_mv);
    out->thresholds.imbalance_alarm_mv = u16(cfg->victron.thresholds.imbalance_alarm_mv);
}

static int32_t ms(uint32_t us_)
{
    return (int32_t)(us_ / 1000u);
}

static int32_t da(uint32_t ma)
{
    return (int32_t)(ma / 100u);
}

static void set_text(char *dst, size_t cap, const char *src)
{
    size_t n = 0;
    while (n + 1u < cap && src[n] != '\0') {
        dst[n] = src[n];
        n++;
    }
    dst[n] = '\0';
}

void bridge_config_to_cfg(const brg_config_t *in, cfg_t *out)
{
    if (in == NULL || out == NULL) {
        return;
    }
    out->tinybms.poll_interval_ms = ms(in->poll.poll_interval_us);
    out->hardware.uart.timeout_ms = ms(in->poll.response_timeout_us);
    out->hardware.uart.retries = in->poll.max_attempts > 0u ? in->poll.max_attempts - 1 : 0;
    out->tinybms.settings_refresh_ms = ms(in->poll.settings_period_us);
    out->tinybms.stats_refresh_ms = ms(in->poll.stats_period_us);
    out->tinybms.events_refresh_ms = ms(in->poll.events_period_us);
    out->tinybms.bms_timeout_ms = ms(in->bms_timeout_us);
    out->bank.min_packs = in->bank.min_packs;
    out->bank.offline_grace_ms = ms(in->bank.offline_grace_us);
    out->bank.rejoin_hold_ms = ms(in->bank.rejoin_hold_us);
    out->bank.rejoin_window_cell_mv = in->bank.rejoin_window_cell_mv;
    out->bank.near_cutoff_mv = in->bank.near_cutoff_mv;
    out->bank.share_min_ma = (int32_t)in->bank.share_min_ma;
    out->bank.small_current_split_pm = in->bank.small_current_split_pm;
    out->bank.incremental_guard = in->bank.incremental_guard;
    out->victron.fast_interval_ms = ms(in->fast_period_us);
    out->victron.detail_interval_ms = ms(in->detail_period_us);
    out->victron.identity_interval_ms = ms(in->identity_period_us);
    out->victron.keepalive_timeout_ms = ms(in->keepalive_timeout_us);
    set_text(out->victron.manufacturer_name, sizeof out->victron.manufacturer_name,
             in->manufacturer);
    set_text(out->victron.battery_name, sizeof out->victron.battery_name, in->battery_name);
    out->victron.charge_cell_mv = in->charge.charge_cell_mv;
    out->victron.discharge_cell_mv = in->charge.discharge_cell_mv;
    out->victron.max_charge_current_da = da(in->charge.max_charge_ma);
    out->victron.max_discharge_current_da = da(in->charge.max_discharge_ma);
    out->cvl.derate_enabled = in->charge.derate;
    out->cvl.current_hold_ms = ms(in->charge.recovery_hold_us);
    out->cvl.current_ramp_da_per_s = da(in->charge.ramp_ma_per_s);
    const cvl_config_t *c = &in->cvl;
    out->cvl.enabled = c->enabled;
    out->cvl.bulk_soc_threshold_cpct = c->bulk_soc_cpct;
    out->cvl.transition_soc_threshold_cpct = c->transition_soc_cpct;
    out->cvl.float_soc_threshold_cpct = c->float_soc_cpct;
    out->cvl.float_exit_soc_cpct = c->float_exit_soc_cpct;
    out->cvl.soc_hysteresis_cpct = c->soc_hysteresis_cpct;
    out->cvl.float_approach_offset_mv = c->float_approach_offset_mv;
    out->cvl.float_offset_mv = c->float_offset_mv;
    out->cvl.minimum_ccl_in_float_da = da(c->float_ccl_max_ma);
    out->cvl.imbalance_hold_threshold_mv = c->imbalance_hold_mv;
    out->cvl.imbalance_release_threshold_mv = c->imbalance_release_mv;
    out->cvl.bulk_target_mv = (int32_t)c->bulk_target_mv;
    out->cvl.series_cell_count = c->series_cells;
    out->cvl.cell_max_mv = c->cell_max_mv;
    out->cvl.cell_safety_threshold_mv = c->cell_safety_mv;
    out->cvl.cell_safety_release_mv = c->cell_release_mv;
    out->cvl.cell_min_float_mv = c->cell_min_float_mv;
    out->cvl.cell_protection_kp_milli = (int32_t)c->protection_kp_milli;
    out->cvl.dynamic_current_nominal_da = da(c->nominal_current_ma);
    out->cvl.max_recovery_step_mv = (int32_t)c->max_recovery_step_mv;
    out->cvl.sustain_soc_entry_cpct = c->sustain_entry_cpct;
    out->cvl.sustain_soc_exit_cpct = c->sustain_exit_cpct;
    out->cvl.sustain_mv = (int32_t)c->sustain_mv;
    out->cvl.sustain_per_cell_mv = c->sustain_cell_mv;
    out->cvl.sustain_ccl_limit_da = da(c->sustain_ccl_ma);
    out->cvl.sustain_dcl_limit_da = da(c->sustain_dcl_ma);
    out->cvl.imbalance_drop_uv_per_mv = (int32_t)c->imbalance_drop_uv_per_mv;
    out->cvl.imbalance_drop_max_mv = (int32_t)c->imbalance_drop_max_mv;
    out->cvl.update_interval_ms = ms(c->update_interval_us);
    out->victron.thresholds.overvoltage_mv = in->thresholds.overvoltage_mv;
    out->victron.thresholds.undervoltage_mv = in->thresholds.undervoltage_mv;
    out->victron.thresholds.overtemp_dc = in->thresholds.overtemp_dc;
    out->victron.thresholds.low_temp_charge_dc = in->thresholds.low_temp_charge_dc;
    out->victron.thresholds.imbalance_warn_mv = in->thresholds.imbalance_warn_mv;
    out->victron.thresholds.imbalance_alarm_mv = in->thresholds.imbalance_alarm_mv;
}
