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
    out->thresholds.overvoltage_mv = cfg->victron.thresholds.overvoltage_mv;
    out->thresholds.undervoltage_mv = cfg->victron.thresholds.undervoltage_mv;
    out->thresholds.overtemp_dc = dc16(cfg->victron.thresholds.overtemp_dc);
    out->thresholds.low_temp_charge_dc = dc16(cfg->victron.thresholds.low_temp_charge_dc);
    out->thresholds.imbalance_warn_mv = u16(cfg->victron.thresholds.imbalance_warn_mv);
    out->thresholds.imbalance_alarm_mv = u16(cfg->victron.thresholds.imbalance_alarm_mv);
}
