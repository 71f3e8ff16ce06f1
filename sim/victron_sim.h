/*
 * victron_sim.h - a simulated Victron system on the BMS's CAN bus, for
 * closed-loop tests of the charge controller: MPPT charger and inverter
 * that obey CVL/CCL/DCL/DVL from the 0x351 frames they receive (DVCC,
 * victron-can-bms.md A.8), a PV profile by day with weather that changes
 * from day to day, and household loads mostly in the evening and night.
 *
 * Behaviour per step:
 *   - PV first feeds the loads; the surplus charges the battery at
 *     min(surplus, charger max, CCL) while the pack is below CVL, and a
 *     simple CV loop tapers the current as the pack voltage reaches CVL
 *     (surplus PV beyond that is curtailed, as an off-grid MPPT does);
 *   - a deficit is taken from the battery up to min(DCL, inverter max)
 *     and not below DVL; what is left is "unmet" (grid or load shed);
 *   - with no 0x351 for lost_after_us the system stops charging and
 *     discharging (victron-can-bms.md A.7).
 *
 * Deterministic for a seed. Pure C11 like the core (no OS, no heap, no
 * clock); float arithmetic is fine here (host-only code).
 */
#ifndef VICTRON_SIM_H
#define VICTRON_SIM_H

#include <stdbool.h>
#include <stdint.h>

#include "victron_can.h"

typedef struct {
    uint32_t seed;
    int32_t pv_peak_w;       /* clear-sky noon power */
    int32_t charger_max_ma;  /* MPPT output limit */
    int32_t inverter_max_w;  /* inverter output limit */
    int32_t day_load_w;      /* 06:00-18:00 */
    int32_t evening_load_w;  /* 18:00-23:00 */
    int32_t night_load_w;    /* 23:00-06:00 */
    uint32_t lost_after_us;  /* 0x351 silence that stops the system */
} vsim_config_t;

/* 4 kW PV, 80 A charger, 3 kW inverter, loads 300/1500/400 W, 5 s. */
vsim_config_t vsim_default_config(uint32_t seed);

typedef struct {
    vsim_config_t cfg;
    bool have_limits;
    uint64_t limits_us; /* time of the last 0x351 */
    vcan_limits_t limits;
    int32_t cv_ma; /* CV loop: the charge current the voltage still allows */
    /* Energy, milliwatt-hours. */
    uint64_t pv_mwh, load_mwh, unmet_mwh, curtailed_mwh;
} vsim_t;

void vsim_init(vsim_t *v, const vsim_config_t *cfg);

/* Takes a frame from the BMS; only 0x351 is used. */
void vsim_rx_frame(vsim_t *v, const vcan_frame_t *f, uint64_t now_us);

/* Weather of day `day` (0-based) as PV fraction of clear sky, permille. */
int32_t vsim_weather_pm(const vsim_t *v, uint32_t day);

/* PV and load power at simulated time t_us (0 = midnight of day 0). */
int32_t vsim_pv_w(const vsim_t *v, uint64_t t_us);
int32_t vsim_load_w(const vsim_t *v, uint64_t t_us);

/*
 * One step of dt_ms ending at now_us: given the pack voltage now (mV) and
 * the current that flowed (mA, > 0 charging), returns the battery current
 * the system draws next (mA, > 0 charging) and accounts the energy.
 */
int32_t vsim_step(vsim_t *v, uint64_t now_us, uint32_t dt_ms, int32_t pack_mv);

#endif /* VICTRON_SIM_H */
