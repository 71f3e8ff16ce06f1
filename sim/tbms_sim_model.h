/*
 * tbms_sim_model.h - the battery physics behind the TinyBMS simulator: a
 * series string of LFP cells, each with its own capacity, internal
 * resistance and state of charge, plus three temperatures.
 *
 * This module knows nothing of the BMS or its protocol (tbms_sim.h does):
 * it is told a current and a time step and integrates. Cell voltage is
 *
 *   V_cell = OCV(SOC_cell) + I * R_cell        (I > 0 = charging)
 *
 * with an LFP open-circuit curve: 2.50 V empty, a flat 3.2..3.35 V
 * middle, a knee above 95 % and 3.65 V at 100 %; past 100 % (overcharge)
 * and below 0 % the curve keeps going steeply so protections can trip.
 *
 * Pure C11: no OS, no heap, no clock. Deterministic: every "random"
 * number is a hash of (seed, stream, index), so the same seed gives the
 * same pack whatever the call pattern.
 */
#ifndef TBMS_SIM_MODEL_H
#define TBMS_SIM_MODEL_H

#include <stdbool.h>
#include <stdint.h>

/* Cells a TinyBMS can measure (registers 0..15). */
#define TBMS_SIM_MODEL_MAX_CELLS 16u

/* Indexes into tbms_sim_model_t.temp_c. */
#define TBMS_SIM_TEMP_EXT1     0u
#define TBMS_SIM_TEMP_EXT2     1u
#define TBMS_SIM_TEMP_INTERNAL 2u
#define TBMS_SIM_TEMP_COUNT    3u

/* Default cell DC resistance times capacity, mOhm*Ah: 0.5 mOhm at 280 Ah
 * (tbms_sim_model_params_t.cell_resistance_mohm <= 0). */
#define TBMS_SIM_MODEL_R_MOHM_AH 140.0f

/* Bleed current of one balancing resistor, A (passive balancing). */
#define TBMS_SIM_MODEL_BLEED_A 0.1f

/* How a pack is built. Spreads are the largest deviation from nominal,
 * each cell drawing uniformly in +-spread from the seed. */
typedef struct {
    uint8_t cells;               /* 1..TBMS_SIM_MODEL_MAX_CELLS */
    float capacity_ah;           /* nominal cell (and pack) capacity, > 0 */
    float soc_pct;               /* initial mean SOC, 0..100 */
    float capacity_spread_pct;   /* per-cell capacity deviation, 0..50 */
    float resistance_spread_pct; /* per-cell resistance deviation, 0..90 */
    float soc_spread_pct;        /* per-cell initial SOC deviation, points */
    float cell_resistance_mohm;  /* nominal DC resistance; <= 0: 140 mOhm*Ah / capacity */
    float ambient_c;             /* ambient temperature */
    uint32_t seed;
} tbms_sim_model_params_t;

/* The pack's state. Plain data: the caller owns it; copy it freely. */
typedef struct {
    uint8_t cells;
    float capacity_ah;
    float cell_capacity_as[TBMS_SIM_MODEL_MAX_CELLS];    /* ampere-seconds */
    float cell_resistance_ohm[TBMS_SIM_MODEL_MAX_CELLS];
    float cell_charge_as[TBMS_SIM_MODEL_MAX_CELLS];      /* charge held now */
    float temp_c[TBMS_SIM_TEMP_COUNT];
    float ambient_c;
    float current_a; /* current through the string now, > 0 charging */
} tbms_sim_model_t;

/*
 * Builds the pack described by p (values outside the documented ranges
 * are clamped into them). Temperatures start at ambient (the BMS board at
 * ambient + 4 degC); the current starts at 0. O(cells).
 */
void tbms_sim_model_init(tbms_sim_model_t *m, const tbms_sim_model_params_t *p);

/* LFP open-circuit voltage in V for a state of charge in 0..1 (values
 * outside extend the curve steeply; never below 0 V, capped at 5 V). */
float tbms_sim_model_ocv_v(float soc_frac);

/* True state of charge of cell i as a fraction (may leave 0..1 when the
 * cell is over-charged or over-discharged). 0 for i >= cells. */
float tbms_sim_model_cell_soc(const tbms_sim_model_t *m, unsigned i);

/* Terminal voltage of cell i in V at the present current. 0 for i >= cells. */
float tbms_sim_model_cell_v(const tbms_sim_model_t *m, unsigned i);

/* Open-circuit voltage of the whole string in V: the sum of the cells'
 * OCV at their present state of charge. O(cells). */
float tbms_sim_model_pack_ocv_v(const tbms_sim_model_t *m);

/* Series DC resistance of the whole string in ohm: the sum of the cells'
 * resistances, so the terminal voltage is OCV + I * R. O(cells). */
float tbms_sim_model_pack_resistance_ohm(const tbms_sim_model_t *m);

/*
 * Advances the pack by dt_s seconds at current_a (> 0 charging); the
 * cells whose bit is set in bleed_mask (bit i = cell i) also lose
 * TBMS_SIM_MODEL_BLEED_A through their balancing resistor. Temperatures
 * move towards ambient plus ohmic heating with first-order lags. O(cells).
 */
void tbms_sim_model_advance(tbms_sim_model_t *m, float current_a, uint16_t bleed_mask, float dt_s);

/*
 * The largest charge current, A, that keeps every cell's terminal voltage
 * at or below cell_limit_v: what an ideal CC/CV charger regulating on the
 * highest cell would deliver. 0 when a cell is already above the limit.
 */
float tbms_sim_model_cv_limit_a(const tbms_sim_model_t *m, float cell_limit_v);

/*
 * Built-in demo load/charger profile, a "compressed day" repeating every
 * 60 minutes of model time: 15 min charging at 0.2 C (CC/CV, limited so
 * no cell exceeds cv_cell_v), 5 min standby at -0.3 A, 30 min
 * discharging around 0.1 C with load steps every 10 s, 10 min standby.
 * Deterministic in (seed, model_ms). Returns the requested current, A.
 */
float tbms_sim_model_demo_current_a(const tbms_sim_model_t *m, uint32_t seed, uint64_t model_ms,
                                    float cv_cell_v);

/* Deterministic noise in [-1, 1) from (seed, stream, n). */
float tbms_sim_model_noise(uint32_t seed, uint32_t stream, uint32_t n);

/* 32-bit hash of (seed, stream, n), for serial numbers and the like. */
uint32_t tbms_sim_model_hash(uint32_t seed, uint32_t stream, uint32_t n);

#endif /* TBMS_SIM_MODEL_H */
