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

#include "tbms_snapshot.h"

typedef struct {
    uint16_t charge_cell_mv;    /* target per-cell charge voltage (LFP 3450) */
    uint16_t discharge_cell_mv; /* per-cell discharge voltage limit for DVL */
    uint16_t ov_margin_mv;      /* CVL stays this far below the BMS OV cutoff, per cell */
    uint32_t max_charge_ma;     /* configured charge current ceiling */
    uint32_t max_discharge_ma;  /* configured discharge current ceiling */
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
};

typedef struct {
    int32_t cvl_mv;
    int32_t ccl_ma;
    int32_t dcl_ma;
    int32_t dvl_mv;
    uint8_t cells;    /* series cells the voltages were computed for */
    uint32_t reasons; /* CHG_REASON_* */
} chg_limits_t;

/*
 * Computes the limits from configuration, live data and BMS settings.
 * Returns false (and zero limits) when the inputs cannot give safe limits:
 * NULL, data or settings not valid, or no usable cell count (reg 307
 * outside 4..16 and reg 53 too). Cost: a few dozen integer operations.
 */
bool chg_base_limits(const chg_config_t *cfg, const tbms_live_t *live, const tbms_settings_t *set,
                     chg_limits_t *out);

#endif /* CHARGE_H */
