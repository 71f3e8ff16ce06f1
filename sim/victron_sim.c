/* Simulated Victron charger/inverter obeying 0x351 (see victron_sim.h). */
#include "victron_sim.h"

#include <string.h>

#include "tbms_sim_model.h"

#define US_PER_S    1000000ull
#define US_PER_HOUR (3600ull * US_PER_S)
#define US_PER_DAY  (24ull * US_PER_HOUR)

/* Hash streams of this module (tbms_sim_model_hash). */
#define STREAM_WEATHER 0x57u
#define STREAM_CLOUDS  0x58u
#define STREAM_LOAD    0x59u

/* CV loop gain: mA of charge current per mV of error per step. With
 * 16 cells of ~0.5 mOhm the pack moves ~8 mV per A, so 40 mA/mV corrects
 * about a third of an error per step: no overshoot, settles in seconds. */
#define CV_GAIN_MA_PER_MV 40
/* MPPT current slew per step (also the loop's anti-windup margin). */
#define CV_SLEW_MA 2000

vsim_config_t vsim_default_config(uint32_t seed)
{
    vsim_config_t c = {
        .seed = seed,
        .pv_peak_w = 4000,
        .charger_max_ma = 80000,
        .inverter_max_w = 3000,
        .day_load_w = 300,
        .evening_load_w = 1500,
        .night_load_w = 400,
        .lost_after_us = 5u * 1000000u,
    };
    return c;
}

void vsim_init(vsim_t *v, const vsim_config_t *cfg)
{
    if (v == NULL) {
        return;
    }
    memset(v, 0, sizeof *v);
    v->cfg = cfg != NULL ? *cfg : vsim_default_config(1u);
}

void vsim_rx_frame(vsim_t *v, const vcan_frame_t *f, uint64_t now_us)
{
    vcan_limits_t l;
    if (v != NULL && f != NULL && f->id == VCAN_ID_LIMITS && vcan_decode_limits(f, &l) == VCAN_OK) {
        v->limits = l;
        v->have_limits = true;
        v->limits_us = now_us;
    }
}

int32_t vsim_weather_pm(const vsim_t *v, uint32_t day)
{
    /* 55 % sunny (800..1000), 25 % mixed (400..700), 20 % overcast (100..300). */
    uint32_t h = tbms_sim_model_hash(v->cfg.seed, STREAM_WEATHER, day);
    uint32_t kind = h % 100u;
    int32_t frac = (int32_t)((h >> 8) % 1000u); /* 0..999 */
    if (kind < 55u) {
        return 800 + frac / 5;
    }
    if (kind < 80u) {
        return 400 + frac * 3 / 10;
    }
    return 100 + frac / 5;
}

int32_t vsim_pv_w(const vsim_t *v, uint64_t t_us)
{
    uint32_t day = (uint32_t)(t_us / US_PER_DAY);
    uint64_t tod = t_us % US_PER_DAY;
    uint64_t rise = 6u * US_PER_HOUR;
    uint64_t set = 18u * US_PER_HOUR;
    if (tod <= rise || tod >= set) {
        return 0;
    }
    /* A bell 4x(1-x) over the 12 daylight hours. */
    float x = (float)(tod - rise) / (float)(set - rise);
    float bell = 4.0f * x * (1.0f - x);
    int32_t weather = vsim_weather_pm(v, day);
    float p = (float)v->cfg.pv_peak_w * bell * (float)weather / 1000.0f;
    if (weather < 800) {
        /* Passing clouds on mixed and overcast days: 10-minute blocks. */
        uint32_t block = (uint32_t)(t_us / (600ull * US_PER_S));
        float n = tbms_sim_model_noise(v->cfg.seed, STREAM_CLOUDS, block); /* -1..1 */
        p *= 0.75f + 0.25f * n;
    }
    return p > 0.0f ? (int32_t)p : 0;
}

int32_t vsim_load_w(const vsim_t *v, uint64_t t_us)
{
    uint64_t hour = (t_us % US_PER_DAY) / US_PER_HOUR;
    int32_t base = hour >= 6u && hour < 18u    ? v->cfg.day_load_w
                   : hour >= 18u && hour < 23u ? v->cfg.evening_load_w
                                               : v->cfg.night_load_w;
    /* +-20 % per hour, deterministic. */
    float n = tbms_sim_model_noise(v->cfg.seed, STREAM_LOAD, (uint32_t)(t_us / US_PER_HOUR));
    return (int32_t)((float)base * (1.0f + 0.2f * n));
}

static int32_t min32(int32_t a, int32_t b)
{
    return a < b ? a : b;
}

int32_t vsim_step(vsim_t *v, uint64_t now_us, uint32_t dt_ms, int32_t pack_mv)
{
    if (v == NULL || pack_mv <= 0) {
        return 0;
    }
    int32_t pv = vsim_pv_w(v, now_us);
    int32_t load = vsim_load_w(v, now_us);
    uint64_t dt = dt_ms;
    v->pv_mwh += (uint64_t)pv * dt / 3600u;
    v->load_mwh += (uint64_t)load * dt / 3600u;

    bool lost = !v->have_limits || now_us - v->limits_us > v->cfg.lost_after_us;
    int32_t surplus = pv - load;
    int32_t battery_ma = 0;
    if (surplus >= 0) {
        int32_t want = (int32_t)((int64_t)surplus * 1000000 / pack_mv);
        int32_t allowed = lost ? 0 : min32(v->cfg.charger_max_ma, v->limits.ccl_da * 100);
        /* CV: integrate the voltage error into the current the voltage allows. */
        int32_t err_mv = lost ? -1000 : v->limits.cvl_mv - pack_mv;
        int64_t cv = (int64_t)v->cv_ma + (int64_t)err_mv * CV_GAIN_MA_PER_MV;
        cv = cv < 0 ? 0 : (cv > v->cfg.charger_max_ma ? v->cfg.charger_max_ma : cv);
        v->cv_ma = (int32_t)cv;
        battery_ma = min32(min32(want, allowed), v->cv_ma);
        if (battery_ma < 0) {
            battery_ma = 0;
        }
        /* Anti-windup: the loop never sits far above what flows, so a
         * falling CVL takes effect within a step or two. */
        v->cv_ma = min32(v->cv_ma, battery_ma + CV_SLEW_MA);
        int64_t used_w = (int64_t)battery_ma * pack_mv / 1000000;
        int64_t curtailed = surplus - used_w;
        v->curtailed_mwh += (uint64_t)(curtailed > 0 ? curtailed : 0) * dt / 3600u;
    } else {
        /* Discharging: the charger is idle; it ramps up again from 0. */
        v->cv_ma = 0;
        int32_t deficit = min32(-surplus, v->cfg.inverter_max_w);
        int32_t want = (int32_t)((int64_t)deficit * 1000000 / pack_mv);
        int32_t allowed = lost ? 0 : v->limits.dcl_da * 100;
        if (!lost && v->limits.dvl_mv > 0 && pack_mv <= v->limits.dvl_mv) {
            allowed = 0; /* BatteryLowVoltage reached: the inverter stops */
        }
        int32_t draw = min32(want, allowed);
        battery_ma = -draw;
        int64_t met_w = (int64_t)draw * pack_mv / 1000000;
        int64_t unmet = -surplus - met_w;
        v->unmet_mwh += (uint64_t)(unmet > 0 ? unmet : 0) * dt / 3600u;
    }
    return battery_ma;
}
