/*
 * bridge.h - ties the core together on two tick functions (architecture.md
 * "bridge"): the TinyBMS poller on the UART side, the Victron frame
 * schedule on the CAN side, keepalive supervision and stale-data safety.
 *
 *   UART bytes -> poller -> snapshots (live, settings, version, stats, events)
 *   snapshots  -> charge limits + alarms -> Victron frames -> CAN
 *   CAN 0x305/0x307 -> keepalive supervision (receive only)
 *
 * Safety rules (issue "stale-data safety"):
 *   - nothing is transmitted before the first valid live read AND a valid
 *     settings read (the limits need the BMS cutoffs);
 *   - when no valid live read succeeded for bms_timeout_us, every BMS frame
 *     stops, so the GX sees the BMS as lost and stops charging, Victron's
 *     own safe behaviour (victron-can-bms.md A.7); transmission resumes by
 *     itself when valid data returns;
 *   - 0x305 and 0x307 are only ever received (victron-can-bms.md A.5).
 *
 * Pure: time (microseconds, monotonic) and bytes in, bytes and frames out.
 */
#ifndef BRIDGE_H
#define BRIDGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alarms.h"
#include "bank.h"
#include "charge.h"
#include "cvl.h"
#include "pack_temp.h"
#include "tbms_poller.h"
#include "tbms_snapshot.h"
#include "victron_can.h"

#define BRG_TEXT_MAX 16u /* longest configurable name (0x370/0x371) */

/* TinyBMS packs one bridge reads, each on its own UART (bank.h). */
#define BRG_MAX_PACKS BANK_MAX_PACKS

/*
 * The settings of a bank of several packs in parallel (bank.h has their
 * meaning; bank_default_config their defaults). The bank's caps, stale
 * limit, hold, ramp and CVL machine are the bridge's own (charge,
 * bms_timeout_us, cvl below): with several packs they apply to the bank.
 * Unused with one pack.
 */
typedef struct {
    uint32_t share_min_ma;
    uint16_t small_current_split_pm;
    bool incremental_guard;
    uint32_t offline_grace_us;
    uint16_t near_cutoff_mv;
    uint32_t rejoin_hold_us;
    uint16_t rejoin_window_cell_mv;
    uint8_t min_packs;
} brg_bank_config_t;

typedef struct {
    tbms_poller_config_t poll;  /* every pack's poller */
    uint8_t packs;              /* 1..BRG_MAX_PACKS: pack i on UART i (brg_uart_step) */
    brg_bank_config_t bank;     /* used with 2 packs or more */
    uint32_t bms_timeout_us;       /* stale after this long without a valid live read */
    uint32_t fast_period_us;       /* 0x351 0x355 0x356 0x35A */
    uint32_t detail_period_us;     /* 0x372..0x379 */
    uint32_t identity_period_us;   /* 0x35E 0x35F 0x370 0x371 0x382 */
    uint32_t keepalive_timeout_us; /* GX 0x305 considered lost after this */
    char manufacturer[VCAN_TEXT_MAX + 1u]; /* 0x35E, neutral: never PYLON/BYD/LG/DYNESS */
    char battery_name[BRG_TEXT_MAX + 1u];  /* 0x370/0x371 */
    char family[VCAN_TEXT_MAX + 1u];       /* 0x382 */
    chg_config_t charge; /* base limits, derating, hold and ramp; its
                          * low_temp_charge_dc is taken from thresholds */
    cvl_config_t cvl;    /* the CVL state machine */
    alm_thresholds_t thresholds;
} brg_config_t;

/*
 * The defaults of the whole program (the configuration file's defaults
 * are taken from here, app/config.c): 100 ms poll, 5 s stale, 1 s fast
 * frames, 5 s detail, 10 s identity, 50 A charge and 100 A discharge
 * ceilings (each capped by the TinyBMS), pack voltage thresholds that
 * follow the pack (0: series cells x the TinyBMS cell cutoffs), one pack,
 * the bank settings of bank_default_config.
 */
void brg_default_config(brg_config_t *cfg);

typedef enum {
    BRG_DATA_WAITING = 0, /* no valid read yet: nothing transmitted */
    BRG_DATA_VALID,       /* fresh: frames transmitted */
    BRG_DATA_STALE,       /* was valid, now too old: frames stopped */
} brg_data_state_t;

const char *brg_data_state_name(brg_data_state_t s);

typedef struct {
    uint32_t frames;          /* frames handed out for transmission */
    uint32_t stale_events;    /* VALID -> STALE transitions */
    uint32_t decode_errors;   /* blocks read but rejected by a decoder */
    uint32_t keepalive_rx;    /* 0x305 received */
    uint32_t handshake_rx;    /* 0x307 received */
    uint32_t rx_other;        /* other frames received (ignored) */
    uint64_t charged_mwh;     /* integrated V x I, charging */
    uint64_t discharged_mwh;  /* integrated V x I, discharging */
} brg_counters_t;

/* One TinyBMS: its poller, what it said, what it allows on its own. */
typedef struct {
    tbms_poller_t poller;
    tbms_live_t live;
    tbms_settings_t settings;
    tbms_version_t version;
    tbms_stats_t stats;
    tbms_events_t events;
    tbms_err_t last_decode_err;
    tbms_block_t last_decode_block;
    bool limits_ok;           /* live and settings valid: the limits below hold */
    chg_limits_t base_limits; /* chg_base_limits of this pack */
    chg_limits_t own_limits;  /* base + chg_derate: its L_i in the bank (bank.h) */
    uint64_t last_valid_us;   /* time of its last valid live read */
    ptemp_state_t temp_state; /* its temperature sensors seen since start */
    chg_pack_t pack;          /* its protecting temperatures and fault cause */
    uint64_t fault_since_us;  /* when it entered FAULT (0: not in FAULT) */
    alm_state_t alarms;       /* its own levels (merged into brg_t.alarms with 2+ packs) */
    bool fast_armed;          /* its live read of the fast window is on the wire */
    bool fast_answered;       /* ... and its answer arrived */
    uint64_t energy_last_us;  /* live read the energy integration stopped at */
    int64_t energy_last_p_uw; /* power of that read */
    int64_t energy_rem_charge_uwh_us; /* sub-mWh remainders, in uW*us */
    int64_t energy_rem_discharge_uwh_us;
} brg_bms_t;

/*
 * The bridge. What goes to Victron is "the battery": with one pack that
 * pack itself, exactly; with several the bank (bank_step) as one pack.
 * The fields from live to ids are the battery; bms[] are the packs.
 */
typedef struct {
    brg_config_t cfg;
    size_t n_packs;           /* cfg.packs */
    brg_bms_t bms[BRG_MAX_PACKS];
    tbms_live_t live;         /* the battery's values (bank: bank_out_t.view) */
    tbms_settings_t settings; /* the BMS settings it is held to (bank: view_settings) */
    chg_pack_t pack;          /* the battery's protecting temperatures */
    chg_limits_t limits;      /* what 0x351 carries: base -> CVL machine -> derating -> ramps */
    bool limits_ok;
    chg_limits_t base_limits; /* the first stage alone (bank: the combined targets) */
    cvl_state_machine_t cvl;  /* CVL state, see brg_cvl_state_name */
    chg_ramp_t ccl_ramp;
    chg_ramp_t dcl_ramp;
    alm_state_t alarms;       /* 0x35A; with 2+ packs the worst of the packs' + bank warnings */
    brg_data_state_t state;
    uint64_t last_valid_us;   /* the newest valid live read of any pack */
    uint64_t oldest_valid_us; /* the oldest last read of the packs the battery is made of
                               * (online members; one pack: last_valid_us): every value
                               * presented is at least this new */
    vcan_modules_t modules;   /* 0x372 */
    int32_t capacity_ah;      /* 0x379 installed; 0x35F carries online_capacity_ah */
    int32_t online_capacity_ah;
    char cell_min_id[VCAN_TEXT_MAX + 1u]; /* 0x374..0x377 ("C3" / "P2C13") */
    char cell_max_id[VCAN_TEXT_MAX + 1u];
    char temp_min_id[VCAN_TEXT_MAX + 1u];
    char temp_max_id[VCAN_TEXT_MAX + 1u];
    bank_config_t bank_cfg;   /* derived from cfg (take_config) */
    bank_t bank;              /* with 2+ packs */
    bank_out_t bank_out;      /* the last bank_step (2+ packs) */
    uint64_t init_us;         /* brg_init's time */
    bool bank_formed;         /* the first bank_step was taken (see refresh_bank) */
    uint64_t next_fast_us;
    uint64_t next_detail_us;
    uint64_t next_identity_us;
    bool keepalive_seen;
    uint64_t last_keepalive_us;
    bool handshake_victron;   /* a 0x307 with "VIC" was seen */
    brg_counters_t counters;  /* energy: every pack's V x I */
    uint64_t fast_read_at_us; /* the fast window's live reads start here */
    bool fast_ready;          /* their answers arrived: the fast frames go now */
} brg_t;

/* Errors: TBMS_ERR_ARG, TBMS_ERR_RANGE (a period is 0 or a poller value is off). */
tbms_err_t brg_init(brg_t *b, const brg_config_t *cfg, uint64_t now_us);

/*
 * Applies a new configuration without losing state (snapshots, counters,
 * energy, the poll schedule); limits and alarms are re-evaluated at once.
 * brg_init and this take the same path from brg_config_t to the working
 * configuration, so a hot reload ends where a start with that
 * configuration would (periods rescheduled by tbms_poller_reconfigure).
 * Errors as brg_init; on error nothing changes.
 */
tbms_err_t brg_reconfigure(brg_t *b, const brg_config_t *cfg, uint64_t now_us);

/*
 * UART side, per pack (0-based, < n_packs; others do nothing). step():
 * fills *tx and returns true when bytes must be sent now on that pack's
 * UART (flush its input first when tx->flush_rx). rx(): bytes received
 * on that pack's UART.
 */
bool brg_uart_step(brg_t *b, size_t pack, uint64_t now_us, tbms_poll_tx_t *tx);
void brg_uart_rx(brg_t *b, size_t pack, const uint8_t *data, size_t n, uint64_t now_us);

/*
 * CAN side. Writes the frames due now into out[0..cap) in sending order
 * (0x351 first) and returns their number; 0 while the data is not valid.
 * cap >= BRG_MAX_FRAMES_PER_TICK never truncates a burst.
 *
 * The fast frames (0x351 0x355 0x356 0x35A) leave as soon as the live
 * answer of their window arrives, so their values are as old as the
 * caller's turn from brg_uart_rx to this call, whatever the TinyBMS's
 * answer time. The window of a burst due at D opens at D - lead, when its
 * live read is started (lead = the average answer time, at most half a
 * poll interval); the answer to that read (or to its resend) releases
 * the burst. At D + BRG_FAST_WINDOW_US the burst goes anyway, with the
 * newest values there are. D advances by fast_period_us
 * each burst, so the cadence does not drift with the answer times.
 */
#define BRG_MAX_FRAMES_PER_TICK 20u
#define BRG_FAST_WINDOW_US      150000u
size_t brg_can_tx(brg_t *b, uint64_t now_us, vcan_frame_t *out, size_t cap);
void brg_can_rx(brg_t *b, const vcan_frame_t *f, uint64_t now_us);

/*
 * Every pack's UART statistics as one (the one pack's, exactly, with one
 * pack): counters added up, latency_last_us and latency_max_us the worst
 * pack's, latency_avg_us the packs' averages weighted by their answers.
 * All zero for NULL.
 */
tbms_poller_stats_t brg_uart_stats(const brg_t *b);

/* Earliest time at which brg_uart_step or brg_can_tx has work. */
uint64_t brg_next_us(const brg_t *b);

/* Re-evaluates VALID/STALE for now_us (also done by every tick). */
brg_data_state_t brg_data_state(brg_t *b, uint64_t now_us);

/* Pack (0-based) has a valid live read at most bms_timeout_us old at now_us.
 * False for a pack beyond n_packs. */
bool brg_pack_fresh(const brg_t *b, size_t pack, uint64_t now_us);

/* GX keepalive: a 0x305 within keepalive_timeout_us. */
bool brg_keepalive_ok(const brg_t *b, uint64_t now_us);

/* Name of the CVL state ("BULK" ... "SUSTAIN", cvl.h) for status
 * consumers; the numbers are in b->cvl and b->limits. "UNKNOWN" for NULL. */
const char *brg_cvl_state_name(const brg_t *b);

/* Longest gap between two live reads that is integrated into the energy
 * counters (a longer gap, whatever bms_timeout_us says, counts nothing). */
#define BRG_ENERGY_MAX_GAP_US 5000000u

/* Sets the energy counters of 0x378 (restored from storage at start);
 * integration continues from these values. */
void brg_set_energy(brg_t *b, uint64_t charged_mwh, uint64_t discharged_mwh);

/*
 * With several packs: steps the bank at now_us on every pack's newest
 * read (brg_can_tx does this once per burst; a pack read alone updates
 * that pack). Nothing to do with one pack: its read updates everything.
 */
void brg_refresh(brg_t *b, uint64_t now_us);

/* Builds all battery frames from the current state regardless of schedule
 * (for a CAN monitor or tests; with several packs the bank as of its last
 * step, see brg_refresh); returns their number, 0 when not valid. */
size_t brg_build_all(brg_t *b, vcan_frame_t *out, size_t cap);

#endif /* BRIDGE_H */
