/*
 * tbms_sim_bus.h - 1 to 4 simulated TinyBMS packs (tbms_sim.h) in PARALLEL
 * on one DC bus, for the multi-pack bank (multi-pack.md).
 *
 * The bus takes one external current I (charger minus loads, > 0 = into
 * the bank) and splits it between the packs by Kirchhoff; each pack then
 * advances with its own share through tbms_sim_set_current_ma(), so every
 * simulated TinyBMS reports its own current, cell voltages and SOC on its
 * own UART, exactly as a single tbms_sim does.
 *
 * The split. Pack i is its open-circuit voltage E_i (the sum of its
 * cells' OCV, tbms_sim_model_pack_ocv_v) behind its series resistance R_i
 * (the sum of its cells' resistances), g_i = 1 / R_i. Each pack has a
 * PATH (tbms_sim_bus_path_t):
 *   - OPEN_FORCED: the caller opened its switch (tbms_sim_bus_set_switch_open);
 *   - OPEN_BMS: its own BMS cuts both directions (over-heat, or a charge
 *     and a discharge protection at once);
 *   - DISCHARGE_ONLY: its BMS cuts charging (tbms_sim_charge_blocked:
 *     cell over-voltage, charge over-current, low-temperature charging),
 *     like a charge FET whose body diode still lets the pack discharge;
 *   - CHARGE_ONLY: its BMS cuts discharging (tbms_sim_discharge_blocked:
 *     under-voltage, fully discharged, discharge over-current);
 *   - CLOSED: both directions.
 * Open packs carry 0 A and take no part. With the bus voltage V, a pack
 * carries I_i(V) = g_i (V - E_i), clipped to >= 0 (CHARGE_ONLY) or <= 0
 * (DISCHARGE_ONLY). V solves sum I_i(V) = D, where the delivered current
 * D is I, or 0 when no pack can take I's direction (no pack at all
 * closed, or I > 0 and every pack is DISCHARGE_ONLY, or I < 0 and every
 * pack is CHARGE_ONLY): current that cannot flow does not flow. With all
 * packs CLOSED this is V = (D + sum g_i E_i) / sum g_i, I_i = g_i (V - E_i),
 * so packs at different SOC exchange current even at I = 0, the fuller
 * (higher OCV) one discharging into the others. When no pack conducts at
 * all, V reads 0; when D = 0 and every one-way pack is held off by its
 * diode, V is a voltage at which none conducts (e.g. every pack
 * DISCHARGE_ONLY: the highest OCV).
 *
 * Rounding. The shares are computed in double and handed to the packs in
 * whole mA with the largest-remainder rule, so the packs' currents sum to
 * D exactly in mA and each share is within 1 mA of its real value and
 * keeps its sign (an allowed direction stays allowed).
 *
 * Protections react to the current they get: when applying the shares
 * makes a pack's BMS trip (e.g. a cell crosses the over-voltage cutoff
 * under charge, or the share exceeds its charge over-current cutoff), the
 * split is done again with that pack's new path, so the others take its
 * share at once (at most TBMS_SIM_BUS_MAX_PACKS + 1 rounds per split).
 *
 * External current: tbms_sim_bus_set_current_ma(), or, when none is set
 * and the packs' cfg.demo_profile is true, the single pack's demo day
 * (tbms_sim_model_demo_current_a, on pack 0's model and seed) scaled by
 * the bank's installed capacity / pack 0's capacity; its charging phase is
 * cut, as for one pack, to the largest current at which no cell of any
 * pack exceeds its "fully charged" setting (reg 300) + 10 mV, and to the
 * DVCC limits when given (tbms_sim_bus_set_dvcc_limits). Demo off and
 * nothing set: 0 A (the packs still exchange current).
 *
 * The physics is the packs' true state: E_i and R_i come from the model,
 * so a reading forced with tbms_sim_force_cell_mv() changes what that BMS
 * measures and how it reacts (its path), not the split itself; balancing
 * bleeds stay inside a pack. An open pack's terminals show its own OCV.
 * The bus owns the packs' current: tbms_sim_set_current_ma() or
 * tbms_sim_clear_current() called on a pack is overwritten at the next
 * split.
 *
 * Time: tbms_sim_bus_step(now_ms) re-splits every
 * max(1, floor(TBMS_SIM_BUS_SPLIT_MODEL_MS / time_scale)) wall ms, i.e.
 * at most every TBMS_SIM_BUS_SPLIT_MODEL_MS of model time while
 * time_scale <= 1000 (beyond, once per wall ms = time_scale model ms),
 * then steps every pack to that time; the packs must share one time_scale. A
 * pack's own tbms_sim_receive()/transmit() at the same now_ms after the
 * bus step does not move it further, so call tbms_sim_bus_step(now) first
 * and then talk to the packs with the same now: all stay on one time base.
 *
 * A pack whose UART goes silent but stays connected: use the pack's own
 * tbms_sim_set_muted(tbms_sim_bus_pack(bus, i), true). Muting touches
 * only the UART; the pack keeps carrying its share.
 *
 * Pure C11 like the rest of sim/: no OS, no heap. The caller owns the bus
 * and the packs (the bus holds pointers to them, for as long as it is
 * used). Deterministic for given seeds and call sequence. Not thread-safe.
 */
#ifndef TBMS_SIM_BUS_H
#define TBMS_SIM_BUS_H

#include <stdbool.h>
#include <stdint.h>

#include "tbms_sim.h"

/* Packs one bus holds. */
#define TBMS_SIM_BUS_MAX_PACKS 4u
/* Longest model time one split is held for while time_scale <= 1000 (the
 * packs' own physics tick is 1 s too). */
#define TBMS_SIM_BUS_SPLIT_MODEL_MS 1000u

/* How pack i is connected (see the header comment). */
typedef enum {
    TBMS_SIM_BUS_CLOSED = 0,
    TBMS_SIM_BUS_CHARGE_ONLY,    /* its BMS cuts discharging */
    TBMS_SIM_BUS_DISCHARGE_ONLY, /* its BMS cuts charging */
    TBMS_SIM_BUS_OPEN_BMS,       /* its BMS cuts both */
    TBMS_SIM_BUS_OPEN_FORCED     /* tbms_sim_bus_set_switch_open() */
} tbms_sim_bus_path_t;

/* The bus. Treat the fields as private; use the functions. */
typedef struct {
    tbms_sim_t *pack[TBMS_SIM_BUS_MAX_PACKS];
    unsigned count;
    bool forced_open[TBMS_SIM_BUS_MAX_PACKS];
    bool demo_profile;
    float time_scale;

    /* External current. */
    bool external_current;
    int32_t external_ma;
    tbms_sim_dvcc_t dvcc; /* limits the demo day obeys */

    /* Time. */
    uint64_t last_ms;
    uint64_t model_ms;   /* model time since init, for the demo day */
    float model_frac_ms; /* sub-millisecond remainder of the time scaling */

    /* The last split. */
    int32_t requested_ma; /* I: set or demo */
    int32_t target_ma;    /* D: I, or 0 when it cannot flow */
    int32_t delivered_ma; /* sum of what the packs really carry */
    float bus_v;
    uint8_t path[TBMS_SIM_BUS_MAX_PACKS]; /* tbms_sim_bus_path_t */
    int32_t share_ma[TBMS_SIM_BUS_MAX_PACKS];
} tbms_sim_bus_t;

/*
 * Puts n (1..TBMS_SIM_BUS_MAX_PACKS) packs on the bus at wall time now_ms
 * and splits at once. Each packs[k] must already be initialised
 * (tbms_sim_init), appear once, and share pack 0's cfg.time_scale and
 * cfg.demo_profile. The bus takes over the packs' current (it calls
 * tbms_sim_set_current_ma on each from now on); the switches start closed.
 * Returns TBMS_SIM_OK, or TBMS_SIM_ERR_ARG (bus or packs NULL, n out of
 * range, a NULL or repeated pack, time_scale or demo_profile differing).
 */
tbms_sim_err_t tbms_sim_bus_init(tbms_sim_bus_t *bus, tbms_sim_t *const *packs, unsigned n,
                                 uint64_t now_ms);

/* Imposes the external current in mA (> 0 into the bank), replacing the
 * demo day until tbms_sim_bus_clear_current(); re-splits at once. */
void tbms_sim_bus_set_current_ma(tbms_sim_bus_t *bus, int32_t ma);

/* Back to the demo day (or 0 A when the packs' demo profile is off). */
void tbms_sim_bus_clear_current(tbms_sim_bus_t *bus);

/*
 * Tells the bus the limits a Victron charger and inverter would obey
 * (DVCC), as the bridge just sent them in 0x351 for the whole bank,
 * received at wall time now_ms; call it for every 0x351. As for one pack
 * (tbms_sim_set_dvcc_limits, same units and TBMS_SIM_DVCC_TIMEOUT_MS), they
 * shape ONLY the demo day, before the bank's cell cut (reg 300 + 10 mV);
 * a current set with tbms_sim_bus_set_current_ma() stays as set. With
 * the demo day asking for I:
 *   - charging (I > 0): min(I, CCL, I_cv), I_cv the external current at
 *     which the split puts the bus voltage at CVL (the sum of the packs'
 *     currents at V = CVL, their paths applied; never below 0): the bank
 *     is held at CVL and the current tapers to 0 as it fills, no loop, no
 *     oscillation; 0 once no pack's path takes charge at V <= CVL;
 *   - discharging (I < 0): max(I, -DCL, -I_dv), I_dv the discharge at
 *     which the bus sits at DVL (never below 0): 0 once the bank is at or
 *     below DVL (DVL 0: no floor);
 *   - limits older than TBMS_SIM_DVCC_TIMEOUT_MS of wall time (the bus's
 *     time at the split) give 0 A both ways (victron-can-bms.md A.7); the
 *     packs may still exchange current among themselves.
 * The limits are in whole mA, so the packs' currents, which sum to the
 * bank current exactly (see Rounding), sum to at most CCL (DCL).
 * First steps the bus to now_ms (tbms_sim_bus_step), then re-splits with
 * the new limits. Never called, or after tbms_sim_bus_clear_dvcc_limits():
 * the demo day exactly as without.
 * Returns TBMS_SIM_OK, or TBMS_SIM_ERR_ARG (bus NULL or not initialised,
 * a negative value; nothing changes).
 */
tbms_sim_err_t tbms_sim_bus_set_dvcc_limits(tbms_sim_bus_t *bus, int32_t ccl_ma, int32_t dcl_ma,
                                            int32_t cvl_mv, int32_t dvl_mv, uint64_t now_ms);

/* Forgets the DVCC limits (the demo day as if never set); re-splits at once. */
void tbms_sim_bus_clear_dvcc_limits(tbms_sim_bus_t *bus);

/*
 * Advances the bank to wall time now_ms: splits, steps every pack, in
 * slices of at most TBMS_SIM_BUS_SPLIT_MODEL_MS model time, then splits
 * once more so the accessors describe now. Cost grows with the elapsed
 * model time times the pack count. An earlier now_ms only re-splits.
 */
void tbms_sim_bus_step(tbms_sim_bus_t *bus, uint64_t now_ms);

/* Opens (true) or closes (false) pack i's switch by hand, e.g. a breaker
 * or a test; re-splits at once. A bad index is ignored. */
void tbms_sim_bus_set_switch_open(tbms_sim_bus_t *bus, unsigned i, bool open);

/* ---- What the bus does (as of the last split) ---- */

/* Number of packs on the bus; 0 for bus NULL. */
unsigned tbms_sim_bus_count(const tbms_sim_bus_t *bus);

/* Pack i (to read it, talk to it, or mute it); NULL for a bad index. */
tbms_sim_t *tbms_sim_bus_pack(const tbms_sim_bus_t *bus, unsigned i);

/* How pack i is connected now; TBMS_SIM_BUS_OPEN_FORCED for a bad index. */
tbms_sim_bus_path_t tbms_sim_bus_path(const tbms_sim_bus_t *bus, unsigned i);

/* Bus voltage in V (0 when no pack conducts). */
float tbms_sim_bus_voltage_v(const tbms_sim_bus_t *bus);

/* Current pack i carries now, mA, > 0 charging: what its BMS measures and
 * reports (tbms_sim_current_ma). 0 for a bad index. */
int32_t tbms_sim_bus_pack_current_ma(const tbms_sim_bus_t *bus, unsigned i);

/* The external current asked for (set, or the demo day), mA. */
int32_t tbms_sim_bus_requested_ma(const tbms_sim_bus_t *bus);

/* The external current that really flows: the sum of the packs'
 * currents, mA. Equals the requested one unless no pack can take its
 * direction (then 0). */
int32_t tbms_sim_bus_delivered_ma(const tbms_sim_bus_t *bus);

/* ---- A ready-made mismatched bank (demos, tinybms-sim --packs) ---- */

/*
 * The configuration of pack i of a deliberately mismatched bank built on
 * base (NULL: tbms_sim_default_config()): same cells, chemistry, time
 * scale, demo and sleep settings; seed base + i; resistance relative to
 * the base's cell resistance (its cell_resistance_mohm, or the model's
 * default for the base capacity):
 *   pack 0: the base itself;
 *   pack 1: 80 % capacity, 30 % more resistance, SOC 10 points lower;
 *   pack 2: the base capacity, 10 % more resistance, SOC 5 points higher,
 *           twice the cell capacity spread (at most 50 %);
 *   pack 3: 110 % capacity (at most 655 Ah), 10 % less resistance, SOC 3
 *           points lower.
 * SOCs are clamped into 0..100. i >= TBMS_SIM_BUS_MAX_PACKS gives pack 0.
 */
tbms_sim_config_t tbms_sim_bus_mismatched_config(const tbms_sim_config_t *base, unsigned i);

#endif /* TBMS_SIM_BUS_H */
