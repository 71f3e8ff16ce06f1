/*
 * charge.h - charge and discharge limits (CVL/CCL/DCL/DVL) for 0x351.
 *
 * This is the static base every limit starts from: configured values,
 * never above what the TinyBMS settings allow (tinybms-uart.md section 5.4;
 * seed-system.md section 9 items 6 and 12 list the seed's mistakes). The
 * CVL state machine of a later stage lowers these further, never raises them.
 *
 * Victron facts behind the rules (victron-can-bms.md A.8): charging is
 * stopped by lowering CVL, not by CCL = 0 (Victron ignores CCL with
 * DC-coupled PV feed-in); DCL = 0 shuts an off-grid Multi down, so it is
 * used only for protection.
 */
#ifndef CHARGE_H
#define CHARGE_H

#include <stdbool.h>
#include <stdint.h>

#include "pack_temp.h"
#include "tbms_snapshot.h"

typedef struct {
    uint16_t charge_cell_mv;    /* target per-cell charge voltage (LFP 3450) */
    uint16_t discharge_cell_mv; /* per-cell discharge voltage limit for DVL */
    uint16_t ov_margin_mv;      /* CVL stays this far below the BMS OV cutoff, per cell */
    uint32_t max_charge_ma;     /* configured charge current ceiling */
    uint32_t max_discharge_ma;  /* configured discharge current ceiling */
    int16_t low_temp_charge_dc; /* no charging below this (and below reg 320), 0.1 degC */
    bool derate;                /* derate CCL/DCL by cell voltage and temperature */
    uint32_t recovery_hold_us;  /* a limit that fell waits this long before rising */
    uint32_t ramp_ma_per_s;     /* then rises at most this fast; 0 = at once */
} chg_config_t;

/* Why a limit is what it is; several bits may be set. */
enum {
    CHG_REASON_CVL_CAPPED_BY_BMS = 1u << 0, /* charge_cell_mv above OV cutoff - margin */
    CHG_REASON_CCL_CAPPED_BY_BMS = 1u << 1, /* max_charge above reg 318 */
    CHG_REASON_DCL_CAPPED_BY_BMS = 1u << 2, /* max_discharge above reg 317 */
    CHG_REASON_CCL_LOW_TEMP = 1u << 3,      /* a sensor below reg 320: no charging */
    CHG_REASON_CCL_CELL_OV = 1u << 4,       /* a cell at/above the OV cutoff: emergency */
    CHG_REASON_DCL_CELL_UV = 1u << 5,       /* a cell at/below the UV cutoff: protection */
    CHG_REASON_BMS_FAULT = 1u << 6,         /* status 0x9B */
    CHG_REASON_CCL_DERATED = 1u << 7,       /* chg_derate lowered CCL */
    CHG_REASON_DCL_DERATED = 1u << 8,       /* chg_derate lowered DCL */
    CHG_REASON_CCL_NO_TEMP = 1u << 9,       /* no usable temperature: no charging */
    CHG_REASON_CCL_TEMP_LOST = 1u << 10,    /* a sensor was lost: charging derated */
    CHG_REASON_DCL_BMS_FAULT = 1u << 11,    /* the fault's cause stops discharging too */
};

/* Static snake_case name of one CHG_REASON_* bit ("ccl_low_temp"...),
 * "?" for anything else; the status lists the bits that are set. */
const char *chg_reason_name(uint32_t bit);

/* Charge at most this share (per mille) of the limit while a temperature
 * sensor that was present is missing (pack_temp.h). */
#define CHG_TEMP_LOST_PM 500

/*
 * What the bridge knows about the pack beyond one read: which temperatures
 * protect it (pack_temp.h) and, while the TinyBMS reports FAULT, the cause
 * from its event log (tinybms-uart.md 6; 0 = not known).
 */
typedef struct {
    ptemp_t temp;
    uint8_t fault_id;
} chg_pack_t;

/*
 * What a TinyBMS fault stops, by its event ID (tinybms-uart.md 6): charging
 * always; discharging for the causes that concern the discharge path
 * (under-voltage 0x02, over-temperature 0x04, discharge over-current 0x05,
 * low-temperature cutoff 0x0A, load switch 0x0C, single-port switch 0x0D,
 * current sensor 0x0E/0x0F). An unknown cause keeps discharging: the
 * TinyBMS's own load switch protects that path, and a zero DCL switches an
 * off-grid inverter off.
 */
bool chg_fault_stops_discharge(uint8_t fault_id);

typedef struct {
    int32_t cvl_mv;
    int32_t ccl_ma;
    int32_t dcl_ma;
    int32_t dvl_mv;
    int32_t cvl_ceiling_mv; /* highest CVL the BMS allows: (reg 315 - margin) x cells */
    uint8_t cells;    /* series cells the voltages were computed for */
    uint32_t reasons; /* CHG_REASON_* */
} chg_limits_t;

/*
 * Computes the limits from configuration, live data and BMS settings, and
 * pack (NULL: temperatures judged from this read alone, fault cause
 * unknown). Protections, each only lowering:
 *   CCL 0 below the low-temperature limit, with no usable temperature, at
 *   a cell over-voltage, and while the TinyBMS reports FAULT;
 *   CCL x CHG_TEMP_LOST_PM while a sensor that was present is missing;
 *   DCL 0 at a cell under-voltage and for a fault that requires it.
 * Returns false (and zero limits) when the inputs cannot give safe limits:
 * NULL, data or settings not valid, or no usable cell count (reg 307
 * outside 4..16 and reg 53 too). Cost: a few dozen integer operations.
 */
bool chg_base_limits(const chg_config_t *cfg, const tbms_live_t *live, const tbms_settings_t *set,
                     const chg_pack_t *pack, chg_limits_t *out);

/*
 * Derating (the second stage, after the CVL state machine): lowers
 * io->ccl_ma and io->dcl_ma, never raises them, and never lowers a
 * non-zero limit to 0 (0 stays reserved for the protections of
 * chg_base_limits). Factors, the smallest wins (victron-can-bms.md C.1
 * uses the same idea with fixed tables; ours follow the BMS settings):
 *
 *   CCL by highest cell  100 % up to charge_cell_mv, linear to 10 % at
 *                        the midpoint between charge_cell_mv and reg 315
 *   CCL by lowest temp   25 % at the low-temperature limit, 100 % 10 degC above
 *   CCL, DCL by highest  100 % up to reg 319 - 15 degC, linear to 10 % at reg 319
 *   temp
 *   DCL by lowest cell   100 % down to discharge_cell_mv + 100 mV, linear
 *                        to 10 % at discharge_cell_mv
 *   DCL by lowest temp   100 % down to 0 degC, linear to 25 % at -20 degC
 *
 * Temperatures: those pack_temp.h chooses (from pack, or from this read
 * when pack is NULL); with none usable the temperature factors are 1
 * (chg_base_limits has already set CCL to 0). Does nothing when
 * cfg->derate is false or an argument is NULL or invalid.
 */
void chg_derate(const chg_config_t *cfg, const tbms_live_t *live, const tbms_settings_t *set,
                const chg_pack_t *pack, chg_limits_t *io);

/* Hold-and-ramp state of one current limit. Zero-initialise, or chg_ramp_init. */
typedef struct {
    bool started;
    int32_t out_ma;         /* the limit handed out */
    uint64_t hold_until_us; /* no rise before this */
    uint64_t last_us;       /* previous call */
} chg_ramp_t;

void chg_ramp_init(chg_ramp_t *r);

/*
 * Follows target_ma: a lower target is taken at once and starts a hold of
 * hold_us; a higher one is approached after the hold at ramp_ma_per_s
 * (0 = at once). The first call takes the target as is. Returns the limit
 * to send (target_ma for a NULL r).
 */
int32_t chg_ramp_step(chg_ramp_t *r, int32_t target_ma, uint64_t now_us, uint32_t hold_us,
                      uint32_t ramp_ma_per_s);

#endif /* CHARGE_H */
