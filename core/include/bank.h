/*
 * bank.h - several TinyBMS packs in parallel presented as one battery
 * (multi-pack.md, issue 12). Victron's DVCC takes exactly one BMS, so the
 * bank combines 1..BANK_MAX_PACKS packs, each read by its own TinyBMS, into
 * one set of limits and one set of reported values.
 *
 *   pack 1..N: live + settings + own limits --+
 *                                             +-> bank_step -> limits (0x351), values
 *   time (caller's monotonic microseconds) ---+      (0x355 0x356 0x372..0x379), view
 *
 * Pure: no heap, no I/O, no clock. The caller owns bank_t and every input;
 * bank_step only reads the inputs, during the call (nothing is kept by
 * pointer). Cost of one step: O(N^2) integer operations with N <= 4
 * (a few hundred), plus one cvl_step.
 *
 * ---- Pack states ----------------------------------------------------------
 *
 *   fresh    live, settings and limits given and valid, the last valid live
 *            read at most the pack's timeout old, 4..16 series cells (and the
 *            configured count, when one is configured);
 *   member   a fresh pack that has joined the bank: it is counted (SOC, SOH,
 *            capacity, voltage, module counts) and its limit adds to the sum;
 *   joining  fresh, not (yet) a member: it must stay fresh for
 *            rejoin_hold_us and be within rejoin_window_cell_mv x cells of
 *            the bank voltage (the members' median). When the bank has no
 *            fresh member (start-up, or every pack was lost) there is no bank
 *            to wait for or disagree with: fresh packs join at once if they
 *            are within the window of the middle one of them (the lower of the
 *            two middle ones for an even count), as a single pack resumes at
 *            once today.
 *   silent   a member whose reads stopped, for up to offline_grace_us: the
 *            bank keeps computing its limits with the pack's last values
 *            (last limit, last current) as if it were still there, and warns;
 *            a member returning within the grace stays a member (if within
 *            the window). The grace is a trade: should its switch in fact
 *            have opened, the others carry its current, up to 1 / (1 - its
 *            share) of what their limits allow, until the grace ends;
 *            offline_grace_us = 0 drops a silent pack at once;
 *   offline  everything else: never read, not valid, or silent beyond the
 *            grace. A silent member whose last read had a cell within
 *            near_cutoff_mv of a TinyBMS cutoff is offline AT ONCE: its own
 *            BMS is about to open a switch, and then the others carry it all.
 *
 * ---- Limits (CCL; DCL the same way with discharge currents) ---------------
 *
 *   CCL = min(bank cap, sum over contributing members of L_i,
 *             min over contributing participants of L_i / share_i,
 *             the guard below)
 *
 *   L_i       the pack's own limit (its chg_limits_t, from its own TinyBMS
 *             settings: over-current, cell cutoffs, temperatures), at most
 *             BANK_OC_HEADROOM_PM below its over-current cutoff (regs 318,
 *             317): a pack's share moves between two reads (its neighbours
 *             fill, the split follows), and at its cutoff the TinyBMS opens
 *             its switch at once (sim-check's bank tripped pack 1 at 40 A
 *             without it);
 *   contributing  not blocking charge. A pack BLOCKS charge when the TinyBMS
 *             itself has opened that path: status FAULT, or a cell at or
 *             above its own over-voltage cutoff (reg 315). The TinyBMS has no
 *             register for its switch states (tinybms-uart.md 6: "no fault
 *             bitmask register", reg 50 is the only live status), so these
 *             are all that can be known. A pack whose limit is 0 for any
 *             other reason (cold, no usable temperature sensor) still
 *             conducts: it stays a participant with L_i = 0, so CCL is at
 *             most the current flowing now, none of which goes through that
 *             pack (total + (0 - 0) / share), and 0 as soon as it takes any
 *             (L_i / share_i = 0).
 *             Blocking discharge: a cell at or below reg 316, or a FAULT
 *             whose cause stops discharging (CHG_REASON_DCL_BMS_FAULT in its
 *             limits, charge.h).
 *   participants  members (fresh or silent within the grace) and joining
 *             packs: every pack the current can flow through as far as we
 *             know. Joining packs only constrain (min term), never add.
 *   share_i   I_i / sum of the participants' currents in that direction
 *             (each TinyBMS measures its own). Below share_min_ma in total,
 *             or for a pack whose measured share is <= 0, the share is not
 *             measurable and an unequal split is assumed for the current
 *             still to come: share = small_current_split_pm / participants
 *             (capped at 1), and the pack's bound is
 *             total + (L_i - I_i) / share (>= 0): L_i / share when nothing
 *             flows, less for a pack its neighbours already charge (packs at
 *             different open-circuit voltages exchange current at 0 A).
 *   guard     (incremental_guard, on by default; not in the rule)
 *             for a measured pack below its limit, also
 *             total + (L_i - I_i) / max(share_i, assumed share). Currents do
 *             not split in fixed proportions: with different open-circuit
 *             voltages I_i = g_i x I + c_i, and a pack the others discharge
 *             into (c_i < 0: often the fullest, most derated one) takes more
 *             than its present share of every added ampere, so L_i / share_i
 *             measured at a low current lets it be overloaded when the
 *             current jumps (a PV-limited charger that is suddenly free, a
 *             generator). The term never raises the limit, the limit still
 *             converges to where the binding pack is at its own limit, and it
 *             rises as the current does (measured each call).
 *             A blocking pack's current is left out of the total, so the
 *             others' shares are those of a bank without it from the same
 *             call on.
 *
 *   Below min_packs members (fresh or silent within the grace) CCL = DCL = 0.
 *   The result goes through cvl_step (the CVL state machine on the bank
 *   view, whose cell protection follows the highest cell of any pack and
 *   whose imbalance is the worst inside one pack: cells of different packs
 *   are not in series, their difference is nothing balancing can fix) and
 *   then chg_ramp_step: lower at once, higher after the hold and the ramp.
 *
 * ---- A silent pack is assumed still connected -----------------------------
 *
 *   Its cells still see the bus voltage, so its last CVL and DVL, and its
 *   last highest and lowest cell, keep bounding the bank's CVL/DVL and the
 *   view the cell protection works on, for as long as it is silent.
 *   Its current still flows, but cannot be measured, and its switch may have
 *   opened unseen (a TinyBMS restart opens both switches first,
 *   tinybms-uart.md 6; so do its protections). After the grace the others'
 *   shares are therefore measured over the fresh packs' currents alone: if
 *   the silent pack still takes current, their true shares of the bank
 *   current are smaller (the limit errs low); if it has opened its switch
 *   they are exact. Dividing by shares of a bank that includes an
 *   unmeasured pack would give the others its current whenever its switch
 *   has opened, which is multi-pack.md's first failure case. Only during
 *   the grace is its last current counted in the total (shares of a bank
 *   that includes it, as last seen).
 *
 * ---- Reported values ------------------------------------------------------
 *
 *   Measured quantities come from every fresh pack (members and joining):
 *   current = sum, cell and temperature extremes with their ids ("P2C13",
 *   "P1T1", "P1INT": pack, then cell or sensor, 1-based). Bank quantities
 *   come from fresh members: voltage = median, SOC and SOH capacity
 *   weighted (reg 306; a plain mean when no capacity is set), online
 *   capacity. Installed capacity (0x379) sums every pack whose settings
 *   were ever read; energy (0x378) sums every pack's counters as given.
 *   0x372: online = fresh members; blocking charge / discharge = those of
 *   them that block; offline = N - online.
 */
#ifndef BANK_H
#define BANK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "charge.h"
#include "cvl.h"
#include "pack_temp.h"
#include "tbms_err.h"
#include "tbms_snapshot.h"
#include "victron_can.h"

/* Packs in one bank (the seed's roadmap: "up to 4 TinyBMS"). A firmware
 * that reads fewer UARTs may build with a smaller -DBANK_MAX_PACKS (1..9):
 * the bridge state (brg_t) holds that many packs. */
#ifndef BANK_MAX_PACKS
#define BANK_MAX_PACKS 4u
#endif

/* Per mille below a pack's over-current cutoff that its limit stays in the
 * bank (L_i above): 5 %, 2 A at a 40 A cutoff. */
#define BANK_OC_HEADROOM_PM 50

/* Longest id text: "P4C16", "P4INT" (fits the 8 chars of 0x374..0x377). */
#define BANK_ID_TEXT_MAX VCAN_TEXT_MAX

typedef struct {
    /* victron.max_charge_current_a / max_discharge_current_a: the BANK cap.
     * Per-pack limits come from each pack's own chg_limits_t. */
    uint32_t max_charge_ma;
    uint32_t max_discharge_ma;
    uint32_t pack_timeout_us;        /* a pack without a valid read this long is not fresh
                                      * (default for bank_pack_in_t.timeout_us = 0) */
    uint32_t share_min_ma;           /* below this total, shares are not measured */
    uint16_t small_current_split_pm; /* assumed share x participants, per mille (>= 1000) */
    bool incremental_guard;          /* the fourth term of the limit (see above) */
    uint32_t offline_grace_us;       /* silent member: last values used this long */
    uint16_t near_cutoff_mv;         /* silent with a cell this close to reg 315/316: at once */
    uint32_t rejoin_hold_us;         /* fresh this long before joining a running bank */
    uint16_t rejoin_window_cell_mv;  /* |pack - bank voltage| <= this x series cells */
    uint8_t min_packs;               /* fewer members: CCL = DCL = 0 (1..BANK_MAX_PACKS) */
    uint8_t series_cells;            /* 0 = any; else a pack with another count is not fresh */
    uint32_t recovery_hold_us;       /* chg_ramp_step: a fallen limit waits this long */
    uint32_t ramp_ma_per_s;          /* then rises this fast; 0 = at once */
    cvl_config_t cvl;                /* the CVL state machine run on the bank view */
} bank_config_t;

/*
 * Defaults: 50 A charge and 100 A discharge bank caps (brg_default_config's),
 * 5 s pack timeout, shares measured from 2 A, 1.5 x the equal share below,
 * 10 s grace, 100 mV near a cutoff, 10 s rejoin hold (multi-pack.md), 50 mV
 * per cell window (0.8 V on 16S), at least 1 pack, any cell count, 30 s
 * hold then 5 A/s, cvl_default_config. Does nothing for NULL.
 */
void bank_default_config(bank_config_t *cfg);

/* TBMS_OK, or TBMS_ERR_ARG (NULL) / TBMS_ERR_RANGE (pack_timeout_us 0,
 * small_current_split_pm below 1000, min_packs 0 or above BANK_MAX_PACKS,
 * series_cells other than 0 or 4..16). */
tbms_err_t bank_check_config(const bank_config_t *cfg);

/* One pack's inputs for one step. Pointers are read during the call only. */
typedef struct {
    const tbms_live_t *live;         /* its last live snapshot; NULL = none */
    const tbms_settings_t *settings; /* its TinyBMS settings; NULL = none */
    /* Its own limits: chg_base_limits then chg_derate on this pack, with a
     * chg_config_t whose ceilings are PER PACK (not the bank total: that is
     * max_charge_ma above). NULL = none (the pack is then not fresh). */
    const chg_limits_t *limits;
    const ptemp_t *temp;    /* its protecting temperatures; NULL = judged from live */
    uint64_t last_valid_us; /* caller's time of its last valid live read */
    uint32_t timeout_us;    /* its own stale limit; 0 = cfg->pack_timeout_us */
    uint64_t charged_mwh;   /* its energy counters (0x378 sums them) */
    uint64_t discharged_mwh;
} bank_pack_in_t;

typedef enum {
    BANK_PACK_OFFLINE = 0, /* never fresh, invalid, or dropped */
    BANK_PACK_JOINING,     /* fresh, waiting for the hold or the window */
    BANK_PACK_ONLINE,      /* fresh member */
    BANK_PACK_SILENT,      /* member without fresh reads, within the grace */
} bank_pack_state_t;

/* "offline" "joining" "online" "silent"; "?" for anything else. */
const char *bank_pack_state_name(bank_pack_state_t s);

/* What bounds a bank limit (bank_out_t.ccl_bound / dcl_bound). */
typedef enum {
    BANK_BOUND_NONE = 0,  /* bank not valid */
    BANK_BOUND_CAP,       /* the bank cap */
    BANK_BOUND_SUM,       /* the sum of the members' limits */
    BANK_BOUND_SHARE,     /* a pack's limit over its share (ccl_pack / dcl_pack) */
    BANK_BOUND_MIN_PACKS, /* fewer members than min_packs: 0 */
    BANK_BOUND_NO_PACK,   /* every member blocks that direction: 0 */
} bank_bound_t;

/* "none" "cap" "sum" "share" "min_packs" "no_pack"; "?" otherwise. */
const char *bank_bound_name(bank_bound_t b);

/* Warnings for 0x35A (the wiring maps them; bank_out_t.warnings). */
enum {
    BANK_WARN_PACK_OFFLINE = 1u << 0,     /* a pack is not online (offline, silent, joining) */
    BANK_WARN_PACK_SILENT = 1u << 1,      /* a member's reads stopped (within the grace) */
    BANK_WARN_PACK_BLOCKING = 1u << 2,    /* a member blocks charge or discharge */
    BANK_WARN_VOLTAGE_MISMATCH = 1u << 3, /* a fresh pack outside the rejoin window */
    BANK_WARN_CELLS_MISMATCH = 1u << 4,   /* fresh packs with different series cells */
};

/* Per-pack result of a step. */
typedef struct {
    bank_pack_state_t state;
    bool member;
    bool blocks_charge;
    bool blocks_discharge;
    bool near_cutoff;        /* its last fresh read had a cell near a cutoff */
    int32_t share_charge_pm; /* share used (measured or assumed); 0 = not a participant */
    int32_t share_discharge_pm;
    bool share_charge_measured;
    bool share_discharge_measured;
    int32_t counted_ccl_ma;  /* L_i as the bank counts it (its last read, at most
                              * BANK_OC_HEADROOM_PM below its cutoff); 0 never read */
    int32_t counted_dcl_ma;
    int64_t allow_charge_ma; /* L_i / share_i; -1 = no bound from this pack */
    int64_t allow_discharge_ma;
} bank_pack_out_t;

typedef struct {
    bool valid;            /* at least one fresh member: the battery frames may go */
    chg_limits_t limits;   /* 0x351 after cvl_step and the ramps; zero when !valid */
    chg_limits_t combined; /* before cvl_step and the ramps (the targets) */
    bank_bound_t ccl_bound;
    bank_bound_t dcl_bound;
    uint8_t ccl_pack; /* 1-based pack whose share bounds CCL (BANK_BOUND_SHARE), else 0 */
    uint8_t dcl_pack;
    uint32_t warnings; /* BANK_WARN_* */

    int32_t voltage_mv; /* median of the fresh members */
    int32_t current_ma; /* sum of the fresh packs; + = charging */
    uint16_t soc_cpct;  /* capacity weighted over the fresh members */
    bool soh_valid;
    uint16_t soh_cpct;
    bool temp_usable;
    int16_t temp_dc;     /* the highest protecting temperature of any fresh pack */
    int16_t temp_min_dc; /* 0x373 */
    int16_t temp_max_dc;
    char temp_min_id[BANK_ID_TEXT_MAX + 1u]; /* 0x376 "P1T1" */
    char temp_max_id[BANK_ID_TEXT_MAX + 1u]; /* 0x377 */
    bool cells_known;
    uint16_t cell_min_mv; /* 0x373 */
    uint16_t cell_max_mv;
    char cell_min_id[BANK_ID_TEXT_MAX + 1u]; /* 0x374 "P2C13" */
    char cell_max_id[BANK_ID_TEXT_MAX + 1u]; /* 0x375 */
    vcan_modules_t modules;                  /* 0x372 */
    int32_t capacity_ah;                     /* 0x379: every pack ever read */
    int32_t online_capacity_ah;              /* fresh members (0x35F where it applies) */
    uint64_t charged_mwh;                    /* 0x378: sum of every pack's counters */
    uint64_t discharged_mwh;

    /* The bank as one pack, for consumers written for one TinyBMS (alarms,
     * status): cells = the lowest and highest of any fresh pack (and of a
     * silent pack's last read: it is still connected), pack_mv = voltage_mv,
     * pack_ma = current_ma, soc/soh as above, status FAULT when a member is
     * in FAULT. Settings: the strictest cutoffs (lowest reg 315 and 317/318
     * per pack, highest 316), series cells of the bank, capacity = installed. */
    tbms_live_t view;
    tbms_settings_t view_settings;

    size_t n;
    bank_pack_out_t pack[BANK_MAX_PACKS];
} bank_out_t;

/* Memory of one pack between steps (read it through bank_out_t). */
typedef struct {
    bool member;
    bool fresh;
    bool silent;             /* member, not fresh: the grace runs since silent_since_us */
    uint64_t fresh_since_us; /* start of the current run of fresh steps */
    uint64_t silent_since_us;
    bool have_last; /* the fields below hold its last fresh read */
    bool near_cutoff;
    bool blocks_charge;
    bool blocks_discharge;
    int32_t last_ma;
    int32_t last_ccl_ma;
    int32_t last_dcl_ma;
    int32_t last_cvl_mv;
    int32_t last_dvl_mv;
    int32_t last_ceiling_mv;
    uint16_t last_cell_min_mv;
    uint16_t last_cell_max_mv;
    uint16_t last_ov_mv;
    uint16_t last_uv_mv;
    bool have_capacity;
    uint16_t capacity_10mah;
} bank_pack_mem_t;

typedef struct {
    size_t n; /* packs of the previous step; another count starts over */
    bank_pack_mem_t pack[BANK_MAX_PACKS];
    chg_ramp_t ccl_ramp;
    chg_ramp_t dcl_ramp;
    cvl_state_machine_t cvl;
} bank_t;

/* No pack known, ramps and CVL machine at their start. Nothing for NULL. */
void bank_init(bank_t *b);

/*
 * One step at now_us for packs[0..n) (pack 1 = packs[0]). Updates the pack
 * states (join, silence, grace, drop), then fills *out as described above.
 * Call it on every new read of any pack and at least once per 0x351 period:
 * the drop after the grace happens on a call.
 * Returns TBMS_OK, or
 *   TBMS_ERR_ARG    b, cfg or out NULL, packs NULL with n > 0, n == 0;
 *   TBMS_ERR_RANGE  n > BANK_MAX_PACKS, or cfg fails bank_check_config.
 * On error *out (when not NULL) is cleared (valid false) and *b unchanged.
 * A pack with invalid or missing inputs is simply not fresh.
 */
tbms_err_t bank_step(bank_t *b, const bank_config_t *cfg, const bank_pack_in_t packs[], size_t n,
                     uint64_t now_us, bank_out_t *out);

#endif /* BANK_H */
