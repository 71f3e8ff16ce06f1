/*
 * victron_alarms.h - the Victron CAN-bus BMS 0x35A alarm/warning frame.
 *
 * Protocol truth: victron-can-bms.md A.3 (positions, pair encoding) and B
 * (BYD capture). Part of the vcan_ library: frame type and errors come from
 * victron_can.h, which this header includes.
 *
 * Each condition is a 2-bit pair; pair k of byte n is bits 2k..2k+1.
 * Alarms fill bytes 0-3, warnings repeat the same layout in bytes 4-7:
 *
 *   byte (alarm/warning)  bits 0-1         bits 2-3        bits 4-5        bits 6-7
 *   0 / 4                 general          high voltage    low voltage     high temperature
 *   1 / 5                 low temperature  high temp chg   low temp chg    high dischg current
 *   2 / 6                 high chg current contactor       short circuit   BMS internal
 *   3 / 7                 cell imbalance   reserved 13     reserved 14     reserved 15
 *
 * Pair values (A.3; SMA's "raised" bit is the lower one, and the BYD
 * capture's all-OK frame is AA AA AA AA AA AA AA AA):
 *
 *   0b00 unsupported (Venus hides the alarm)   0b01 active
 *   0b10 OK                                     0b11 invalid (ignored)
 *
 * Victron's PDF writes "10 = active, 01 = OK" in LSB-first notation: the
 * same bits. thieryfr's TinyBMS gateway got this backwards (A.3); so did
 * diyBMS for the two voltage positions. Do not copy either.
 */
#ifndef VICTRON_ALARMS_H
#define VICTRON_ALARMS_H

#include <stdint.h>

/* State of one condition: the value of its 2-bit pair (A.3). */
typedef enum {
    VCAN_PAIR_UNSUPPORTED = 0, /* 0b00 */
    VCAN_PAIR_ACTIVE = 1,      /* 0b01: alarm / warning raised */
    VCAN_PAIR_OK = 2,          /* 0b10: condition supported and clear */
    VCAN_PAIR_INVALID = 3      /* 0b11: decoded only, never encoded */
} vcan_pair_t;

/* Condition = pair position: byte (cond / 4), bits 2 x (cond % 4) in the
 * alarm half; byte + 4 in the warning half (A.3). */
typedef enum {
    VCAN_COND_GENERAL = 0,
    VCAN_COND_HIGH_VOLTAGE = 1,
    VCAN_COND_LOW_VOLTAGE = 2,
    VCAN_COND_HIGH_TEMP = 3,
    VCAN_COND_LOW_TEMP = 4,
    VCAN_COND_HIGH_TEMP_CHARGE = 5,
    VCAN_COND_LOW_TEMP_CHARGE = 6,
    VCAN_COND_HIGH_DISCHARGE_CURRENT = 7,
    VCAN_COND_HIGH_CHARGE_CURRENT = 8,
    VCAN_COND_CONTACTOR = 9,
    VCAN_COND_SHORT_CIRCUIT = 10,
    VCAN_COND_BMS_INTERNAL = 11,
    VCAN_COND_CELL_IMBALANCE = 12,
    VCAN_COND_RESERVED_13 = 13, /* byte 7 only: "system status" per diyBMS/bsc (A.3) */
    VCAN_COND_RESERVED_14 = 14,
    VCAN_COND_RESERVED_15 = 15, /* SMA "generator" */
    VCAN_COND_COUNT = 16        /* pairs per half: 4 bytes x 4 pairs */
} vcan_cond_t;

/* The whole 0x35A frame: one pair state per condition, alarms and warnings. */
typedef struct {
    vcan_pair_t alarm[VCAN_COND_COUNT];
    vcan_pair_t warning[VCAN_COND_COUNT];
} vcan_alarms_t;

/* victron_can.h embeds vcan_alarms_t in vcan_decoded_t, so it is included
 * only after the types above; the declarations below need its frame type. */
#include "victron_can.h"

/* Sets every pair, alarms and warnings, reserved ones included, to
 * VCAN_PAIR_OK: encodes to AA AA AA AA AA AA AA AA, as the real BYD does
 * (victron-can-bms.md B). Set a pair to VCAN_PAIR_UNSUPPORTED for a
 * condition the bridge cannot observe. Does nothing if `out` is NULL. */
void vcan_alarms_all_ok(vcan_alarms_t *out);

/* Builds 0x35A (DLC 8) from *in. Returns VCAN_OK, or VCAN_ERR_ARG if a
 * pointer is NULL or any pair is not UNSUPPORTED, ACTIVE or OK (0b11 is never
 * sent); on error *out is untouched. */
vcan_err_t vcan_encode_alarms(const vcan_alarms_t *in, vcan_frame_t *out);

/* Reads 0x35A (DLC >= 8, A.1). A 0b11 pair decodes to VCAN_PAIR_INVALID.
 * Returns VCAN_OK, VCAN_ERR_ARG, VCAN_ERR_ID (id is not 0x35A) or
 * VCAN_ERR_DLC; on error *out is untouched. */
vcan_err_t vcan_decode_alarms(const vcan_frame_t *in, vcan_alarms_t *out);

#endif /* VICTRON_ALARMS_H */
