/*
 * tbms_sim.h - a simulated Energus TinyBMS: a battery model (tbms_sim_model.h)
 * behind a BMS that answers the real UART protocol byte for byte
 * (tinybms-uart.md), for tests, demos and people developing against the
 * bridge without a battery.
 *
 * What the simulated BMS does:
 *   - answers Modbus 0x03 (any range inside 0..599, reserved registers read
 *     0) and 0x10 (settings 300..343 only), the proprietary reads 0x07,
 *     0x09, 0x11, 0x12, 0x14..0x20, the writes 0x0B/0x0D and 0x02
 *     (clear events, clear statistics, reset);
 *   - NACKs like the BMS: `AA 00 <cmd> 01` for a bad CRC, `AA 00 <cmd> 00`
 *     for an unknown command, a bad count, a range past 599, or a write
 *     that fails tbms_reg_check_write() (range, read-only, interlock). A
 *     rejected write changes nothing (all or nothing);
 *   - sleeps after sleep_after_ms without UART traffic while the current
 *     is below 0.8 A; asleep, the first complete request only wakes it and
 *     gets no reply, the next is answered (tinybms-uart.md 1);
 *   - protects the pack: over-voltage (315) cuts charging and logs 0x03,
 *     under-voltage (316) cuts discharging and logs 0x02, fully discharged
 *     (301) cuts discharging with warning 0x31, over-currents (317/305,
 *     318), over-heat (319) and low-temperature charging (320); status 50,
 *     statistics 100..117 and the 49-entry event log follow;
 *   - balances (51/52) the cells above 303 that sit more than 308 above the
 *     lowest one, bleeding them in the model;
 *   - broadcasts ASCII lines while setting 342 is non-zero;
 *   - given the bridge's 0x351 limits (tbms_sim_set_dvcc_limits), keeps
 *     its demo current to them as a Victron system under DVCC would;
 *   - optionally answers late (latency_min_ms..latency_max_ms, see
 *     tbms_sim_config_t), one request at a time and in order, like a
 *     half-duplex BMS busy with its measurements.
 *
 * Time: every call takes now_ms, the caller's monotonic wall clock. UART
 * timing (sleep, partial-frame gaps, broadcast period) runs on it; the
 * physics runs time_scale times faster.
 *
 * Pure C11 like the core: no OS, no heap, no clock, no stdio; the caller
 * owns the tbms_sim_t (about 4.5 kB). Deterministic for a given seed and
 * sequence of calls.
 */
#ifndef TBMS_SIM_H
#define TBMS_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tbms_frame.h"
#include "tbms_sim_model.h"
#include "tbms_snapshot.h"

/* The simulator's own error space (house-style.md rule 5). */
typedef enum {
    TBMS_SIM_OK = 0,
    TBMS_SIM_ERR_ARG,      /* NULL pointer or a configuration value out of range */
    TBMS_SIM_ERR_REJECTED, /* a settings write the BMS refuses (range/interlock) */
    TBMS_SIM_ERR_COUNT_    /* number of codes; not an error */
} tbms_sim_err_t;

/* Static English text for an error code; never NULL. */
const char *tbms_sim_strerror(tbms_sim_err_t err);

/* Register space the simulated BMS answers (tinybms-uart.md 5). */
#define TBMS_SIM_REG_COUNT 600u
/* Default sleep timeout (MAN-D Table 3.11). */
#define TBMS_SIM_SLEEP_AFTER_MS 10000u
/* A partly received request older than this is dropped (line went quiet). */
#define TBMS_SIM_FRAME_GAP_MS 100u
/* Below this |current| the BMS may sleep (150 A high-power board). */
#define TBMS_SIM_SLEEP_CURRENT_A 0.8f
/* Above this |current| the status is charging/discharging, not idle. */
#define TBMS_SIM_ACTIVE_CURRENT_A 0.5f
/* Bytes of output (responses and broadcast) held until the caller takes them. */
#define TBMS_SIM_TX_CAP 2048u
/* Longest answer latency accepted (tbms_sim_config_t.latency_max_ms). */
#define TBMS_SIM_LATENCY_MAX_MS 10000u
/* Requests a late-answering BMS holds; one more arriving is dropped (its
 * receive buffer is full), counted in busy_dropped. */
#define TBMS_SIM_PENDING_MAX 4u

typedef struct {
    uint8_t cells;               /* 4..16, default 16 */
    float capacity_ah;           /* 0.1..655 Ah, default 280 */
    float soc_pct;               /* initial SOC, 0..100, default 55 */
    float capacity_spread_pct;   /* default 1.5 */
    float resistance_spread_pct; /* default 10 */
    float soc_spread_pct;        /* initial per-cell SOC spread, points, default 0.6 */
    float cell_resistance_mohm;  /* <= 0: derived from capacity (0.5 mOhm at 280 Ah) */
    float ambient_c;             /* -40..80, default 22 */
    bool ext_temp_present[2];    /* sensors on 42/43; absent reads -32768. Default both */
    uint32_t seed;               /* default 1 */
    bool sleep_enabled;          /* default true */
    uint32_t sleep_after_ms;     /* wall-clock UART idle time, default 10000, >= 1 */
    bool demo_profile;           /* current from the demo day when no external
                                    current is set; default true. Off: 0 A */
    float time_scale;            /* model seconds per wall second, 0.001..1e6, default 1 */
    uint32_t lifetime_s;         /* BMS lifetime counter at init, default 100 days */
    /*
     * Answer latency, default 0..0 = answer within the call that completes
     * the request. Otherwise each request (NACKed ones included) draws a
     * delay d, uniform in whole ms over [latency_min_ms, latency_max_ms],
     * from a hash of (seed, draw number): the same seed gives the same
     * delays. Half-duplex, in order: the BMS takes a request up at the
     * first millisecond after it arrived (a request seen at now_ms = k came
     * in during [k, k + 1)) or, when busy, when the previous answer left;
     * the answer leaves d ms later, computed from the state at that time.
     * So an answer leaves more than d ms after its request came in; to a
     * caller that calls at tbms_sim_next_answer_ms(), at most d + 1 ms
     * after it when the BMS was idle.
     * latency_max_ms <= TBMS_SIM_LATENCY_MAX_MS, latency_min_ms <= max.
     */
    uint32_t latency_min_ms;
    uint32_t latency_max_ms;
} tbms_sim_config_t;

/* Counters of the UART side; they only grow. */
typedef struct {
    uint32_t requests;     /* frames with a good CRC answered (or ACKed/NACKed) */
    uint32_t responses;    /* frames sent, NACKs included */
    uint32_t nacks;        /* NACK frames sent */
    uint32_t crc_errors;   /* requests with a bad CRC */
    uint32_t swallowed;    /* requests that only woke the BMS */
    uint32_t tx_dropped;   /* output bytes lost because the caller did not take them */
    uint32_t busy_dropped; /* requests lost: TBMS_SIM_PENDING_MAX were waiting (latency) */
} tbms_sim_counters_t;

/* A request waiting for its answer latency (or a rejected one, for its NACK). */
typedef struct {
    uint64_t due_ms; /* when the answer leaves */
    bool rejected;   /* true: answer a NACK for `err` on `nack_cmd` */
    tbms_err_t err;
    uint8_t nack_cmd;
    tbms_frame_t frame; /* the request when !rejected */
} tbms_sim_pending_t;

/* Limits given with tbms_sim_set_dvcc_limits() stop counting this many
 * WALL ms after they were given: the GX stops charging and discharging
 * when 0x351 goes quiet for a few seconds (victron-can-bms.md A.7;
 * victron_sim.h's lost_after_us default is the same 5 s). */
#define TBMS_SIM_DVCC_TIMEOUT_MS 5000u

/* The limits a Victron charger/inverter obeys (DVCC), as the BMS sent them
 * in 0x351. Treat as private; see tbms_sim_set_dvcc_limits(). */
typedef struct {
    bool set;       /* false: no limits (the demo day flows as it is) */
    int32_t ccl_ma; /* charge current limit, >= 0 */
    int32_t dcl_ma; /* discharge current limit, >= 0 */
    int32_t cvl_mv; /* charge voltage limit, >= 0 */
    int32_t dvl_mv; /* discharge voltage limit, >= 0 (0 = no floor) */
    uint64_t at_ms; /* wall ms they were given */
} tbms_sim_dvcc_t;

/* Bits of tbms_sim_t.faults. */
#define TBMS_SIM_FAULT_OV        0x01u /* over-voltage: charging cut */
#define TBMS_SIM_FAULT_UV        0x02u /* under-voltage: discharging cut */
#define TBMS_SIM_FAULT_DOC       0x04u /* discharge over-current */
#define TBMS_SIM_FAULT_COC       0x08u /* charge over-current */
#define TBMS_SIM_FAULT_HEAT      0x10u /* over-heat: both cut */
#define TBMS_SIM_WARN_EMPTY      0x20u /* fully discharged (warning): discharging cut */
#define TBMS_SIM_WARN_COLD       0x40u /* low-temperature charging cut (warning) */
#define TBMS_SIM_FAULTS_MASK     0x1Fu /* the bits that make status 0x9B */

/* The whole simulated BMS. Treat the fields as private; use the functions. */
typedef struct {
    tbms_sim_config_t cfg;
    tbms_sim_model_t model;
    tbms_parser_t parser;

    /* Settings 300..343 as registers, and decoded. */
    uint16_t settings_regs[TBMS_SETTINGS_REG_COUNT];
    tbms_settings_t settings;
    uint16_t soh_raw;

    /* Time. */
    uint64_t last_step_ms;
    uint64_t model_ms;   /* model time since init */
    float model_frac_ms; /* sub-millisecond remainder of the time scaling */
    uint64_t last_rx_ms;
    uint64_t next_broadcast_ms;

    /* Current. */
    bool external_current;
    float external_current_a;
    float requested_a; /* what the load/charger asks for */
    tbms_sim_dvcc_t dvcc; /* limits the demo charger/load obeys */
    uint64_t wall_ms;     /* wall time the physics stands at (start of a tick) */

    /* BMS state. */
    bool asleep;
    uint8_t faults; /* TBMS_SIM_FAULT_* / TBMS_SIM_WARN_* */
    uint64_t doc_since_ms, oc_fault_ms; /* model ms */
    bool fully_charged;
    bool charging;
    float soc_frac;   /* the BMS's coulomb-counted SOC estimate */
    uint16_t cell_100uv[TBMS_SIM_MODEL_MAX_CELLS]; /* measured, index 0 = lowest cell */
    uint16_t forced_mv[TBMS_SIM_MODEL_MAX_CELLS];  /* 0 = not forced */
    uint16_t balance_need, balance_active;         /* register positions */
    uint16_t status;

    /* Statistics 100..117. */
    uint16_t stat_max_discharge_100ma, stat_max_charge_100ma, stat_max_diff_100uv;
    uint16_t stat_uv, stat_ov, stat_doc, stat_coc, stat_heat, stat_charging, stat_full;
    int8_t stat_tmin_c, stat_tmax_c;
    uint8_t reset_cause, wakeup_reason;
    uint32_t stats_cleared_s;

    /* Event log: 49-entry ring, timestamps are 24-bit lifetime seconds. */
    uint32_t ev_ts[TBMS_EVENT_SLOTS];
    uint8_t ev_id[TBMS_EVENT_SLOTS];
    uint8_t ev_next, ev_count, ev_unread;

    /* Fault hooks. */
    bool muted;
    uint32_t corrupt_next;

    /* Output queue. */
    uint8_t tx[TBMS_SIM_TX_CAP];
    size_t tx_len;

    /* Requests waiting for their latency, a ring, oldest first. */
    tbms_sim_pending_t pending[TBMS_SIM_PENDING_MAX];
    uint8_t pending_first, pending_count;
    uint64_t last_due_ms;   /* when the newest pending answer leaves (or left) */
    uint32_t latency_draws; /* delays drawn so far: the hash index */

    tbms_sim_counters_t counters;
} tbms_sim_t;

/* The defaults documented in tbms_sim_config_t. */
tbms_sim_config_t tbms_sim_default_config(void);

/*
 * Powers the BMS on at wall time now_ms: builds the pack, loads the
 * default settings (16S LFP: 300 = 3550 mV fully charged, 301 = 2900,
 * 303 = 3400 early balancing, 308 = 15 mV, 315 = 3750 OV, 316 = 2700 UV,
 * 317/318 = 200/140 A, 305 = 300 A; 306 and 307 from cfg), logs event 0x61
 * "system started". cfg NULL = defaults.
 * Returns TBMS_SIM_OK, or TBMS_SIM_ERR_ARG (sim NULL, a cfg value outside
 * its documented range; sim is then left unusable).
 */
tbms_sim_err_t tbms_sim_init(tbms_sim_t *sim, const tbms_sim_config_t *cfg, uint64_t now_ms);

/*
 * Imposes the pack current in mA (> 0 charging, < 0 discharging),
 * replacing the demo profile until tbms_sim_clear_current(). The BMS still
 * forces it to 0 while a protection cuts that direction. Takes effect at
 * once (the registers show it before the next step).
 */
void tbms_sim_set_current_ma(tbms_sim_t *sim, int32_t ma);

/* Back to the demo profile (or 0 A when the profile is disabled). */
void tbms_sim_clear_current(tbms_sim_t *sim);

/*
 * Tells the simulator the limits a Victron charger and inverter would obey
 * (DVCC, victron-can-bms.md A.8): the CCL, DCL, CVL and DVL the bridge
 * just sent in 0x351, received at wall time now_ms. Call it for every
 * 0x351 (about once a second); ccl_ma = ccl_da * 100 and so on.
 *
 * They shape ONLY the demo profile (cfg.demo_profile, no current imposed
 * with tbms_sim_set_current_ma(): an imposed current stays as imposed).
 * The demo current the profile asks for, a, becomes:
 *   - charging (a > 0): min(a, CCL, I_cv) with I_cv = (CVL - OCV) / R,
 *     OCV and R the pack's true open-circuit voltage and series
 *     resistance (tbms_sim_model.h), never below 0: an ideal CC/CV
 *     charger that holds the pack's terminal voltage at CVL, so the
 *     current tapers to 0 as the pack fills, without a control loop and
 *     so without overshoot or oscillation (the terminal voltage may pass
 *     CVL by what the OCV rises within one 1 s physics tick, a few mV);
 *     at OCV >= CVL it is 0;
 *   - discharging (a < 0): max(a, -DCL, -I_dv) with I_dv = (OCV - DVL) / R,
 *     never below 0: the inverter draws no more than keeps the terminal
 *     voltage at or above DVL, and nothing once the pack is at or below
 *     DVL (DVL 0: no floor);
 *   - limits older than TBMS_SIM_DVCC_TIMEOUT_MS of wall time (no new
 *     call: the bridge stopped sending 0x351) give 0 A both ways, as the
 *     GX stops charging and discharging (victron-can-bms.md A.7).
 * The profile's own cut (no cell above reg 300 + 10 mV) still applies,
 * and so do the BMS's protections. Never called, or after
 * tbms_sim_clear_dvcc_limits(): the demo profile exactly as without.
 *
 * First advances the pack to now_ms (tbms_sim_step: the time before ran
 * under the old limits), then takes the new ones at once. A now_ms earlier
 * than the last step counts as that step's time.
 * Returns TBMS_SIM_OK, or TBMS_SIM_ERR_ARG (sim NULL, a negative value;
 * nothing changes).
 */
tbms_sim_err_t tbms_sim_set_dvcc_limits(tbms_sim_t *sim, int32_t ccl_ma, int32_t dcl_ma,
                                        int32_t cvl_mv, int32_t dvl_mv, uint64_t now_ms);

/* Forgets the DVCC limits: the demo profile flows as if they had never
 * been set (not 0 A as stale limits give). Takes effect at once. */
void tbms_sim_clear_dvcc_limits(tbms_sim_t *sim);

/*
 * Advances the physics and the BMS logic to wall time now_ms (sub-steps of
 * at most 1 s model time, so cost grows with the elapsed model time), and
 * decides sleep. A now_ms earlier than the last call is ignored.
 */
void tbms_sim_step(tbms_sim_t *sim, uint64_t now_ms);

/*
 * Feeds n request bytes received at now_ms (any chunking; n may be 0),
 * steps the model, then moves queued output (responses, broadcast) into
 * out[cap]; *out_len = bytes written, possibly 0. Output that does not fit
 * stays queued for the next call or tbms_sim_transmit(). in may be NULL
 * when n is 0; out may be NULL when cap is 0.
 * Returns TBMS_SIM_OK, or TBMS_SIM_ERR_ARG (sim or out_len NULL, in NULL
 * with n > 0, out NULL with cap > 0).
 */
tbms_sim_err_t tbms_sim_receive(tbms_sim_t *sim, const uint8_t *in, size_t n, uint64_t now_ms,
                                uint8_t *out, size_t cap, size_t *out_len);

/*
 * Steps to now_ms, answers the late requests that are due, queues a
 * broadcast line when one is due, and moves queued output into out[cap]
 * (*out_len bytes). Call it periodically (every <= 100 ms) when broadcast
 * may be enabled, and at tbms_sim_next_answer_ms() when answers are late.
 * Errors as tbms_sim_receive.
 */
tbms_sim_err_t tbms_sim_transmit(tbms_sim_t *sim, uint64_t now_ms, uint8_t *out, size_t cap,
                                 size_t *out_len);

/*
 * When the oldest late answer is due (wall ms; call tbms_sim_transmit()
 * then), or UINT64_MAX when none waits (always so with latency 0..0).
 */
uint64_t tbms_sim_next_answer_ms(const tbms_sim_t *sim);

/*
 * Writes settings registers addr..addr+count-1 with the same checks as a
 * Modbus 0x10 from the UART (all or nothing), without a frame: for
 * programs that configure the simulated BMS at start (e.g. broadcast).
 * Returns TBMS_SIM_OK, TBMS_SIM_ERR_REJECTED, or TBMS_SIM_ERR_ARG (NULL,
 * count 0).
 */
tbms_sim_err_t tbms_sim_write_settings(tbms_sim_t *sim, uint16_t addr, const uint16_t *values,
                                       uint16_t count);

/* ---- What the BMS reports and what is really there (for tests) ---- */

/* Register addr exactly as a 0x03 read would return it now (0 for
 * reserved or >= TBMS_SIM_REG_COUNT). Does not step the model. */
uint16_t tbms_sim_register(const tbms_sim_t *sim, uint16_t addr);

/* Number of cells in the pack (reg 53). */
unsigned tbms_sim_cell_count(const tbms_sim_t *sim);

/* True state of charge of cell i (0 = lowest cell) in %, from the model;
 * may leave 0..100 when over(dis)charged. 0 for a bad index. */
float tbms_sim_cell_soc_pct(const tbms_sim_t *sim, unsigned i);

/* True terminal voltage of cell i in mV (ignores forced readings). */
float tbms_sim_cell_mv(const tbms_sim_t *sim, unsigned i);

/* Current flowing in the pack now in mA (after the BMS's cutoffs). */
float tbms_sim_current_ma(const tbms_sim_t *sim);

/* The BMS's own SOC estimate (reg 46-47) in %. */
float tbms_sim_soc_pct(const tbms_sim_t *sim);

/* Online status (reg 50): 0x91, 0x92, 0x93, 0x97 or 0x9B. */
uint16_t tbms_sim_status(const tbms_sim_t *sim);

/* Active TBMS_SIM_FAULT_* and TBMS_SIM_WARN_* bits. */
uint8_t tbms_sim_faults(const tbms_sim_t *sim);

/* True while the BMS sleeps. */
bool tbms_sim_is_asleep(const tbms_sim_t *sim);

/* True while a protection has opened the charge path (over-voltage,
 * charge over-current, over-heat, low-temperature charging): a charge
 * current set now flows as 0 A. */
bool tbms_sim_charge_blocked(const tbms_sim_t *sim);

/* True while a protection has opened the discharge path (under-voltage,
 * fully discharged, discharge over-current, over-heat). */
bool tbms_sim_discharge_blocked(const tbms_sim_t *sim);

/* The battery model underneath, read-only (for tbms_sim_bus.h, which
 * needs each pack's OCV and resistance). NULL for sim NULL. */
const tbms_sim_model_t *tbms_sim_model(const tbms_sim_t *sim);

/* The configuration given at init, read-only. NULL for sim NULL. */
const tbms_sim_config_t *tbms_sim_config(const tbms_sim_t *sim);

/* UART counters. */
const tbms_sim_counters_t *tbms_sim_counters(const tbms_sim_t *sim);

/* ---- Fault hooks ---- */

/* Overrides the measured voltage of cell i (0 = lowest) with mv; the BMS
 * reacts as to a real reading (protections, balancing). mv 0 clears. */
void tbms_sim_force_cell_mv(tbms_sim_t *sim, unsigned i, uint16_t mv);

/* A muted BMS ignores every received byte (no reply, no wake-up) and
 * broadcasts nothing, like a cut RX line. */
void tbms_sim_set_muted(tbms_sim_t *sim, bool muted);

/* The next n responses go out with their last CRC byte inverted. */
void tbms_sim_corrupt_responses(tbms_sim_t *sim, uint32_t n);

/* Moves the ambient temperature (the sensors follow with their lag). */
void tbms_sim_set_ambient_c(tbms_sim_t *sim, float ambient_c);

/* Puts the BMS to sleep now, whatever the timers say. */
void tbms_sim_force_sleep(tbms_sim_t *sim);

#endif /* TBMS_SIM_H */
