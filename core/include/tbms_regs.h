/*
 * tbms_regs.h - the TinyBMS register catalog (tinybms-uart.md section 5,
 * DOC-D chapter 3) and write validation for the settings registers.
 *
 * One const table, sorted by address, one entry per register or per
 * multi-word value:
 *   - live data 0..55: cells 0..15 one entry each, 32/34/36/38/46/54 as
 *     2-word entries; reserved 16..31 and 49 are left out;
 *   - statistics 100..117 (reserved 110, 115 left out);
 *   - events 200..297: one 2-word entry per event slot (49 entries,
 *     "event_0".."event_48"). Each pair is a self-contained value (24-bit
 *     timestamp + ID), so a per-pair entry keeps "words" at most 2 for
 *     all numeric types and lets tbms_reg_find() name the slot of any
 *     address in the log;
 *   - settings 300..343 (reserved 302, 309, 324..327 left out);
 *   - version 500..503 and the serial number 504..509 as one 6-word entry.
 *
 * Scales are exact integer fractions: value in `unit` = raw * scale_num /
 * scale_den (e.g. cell: 1/10 mV; SOC: 1/1000000 %; reg 102: 100/1 mA).
 *
 * Cost: tbms_reg_find() is a binary search (about 8 steps), the rest O(1).
 * No heap, no global mutable state.
 */
#ifndef TBMS_REGS_H
#define TBMS_REGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tbms_err.h"
#include "tbms_snapshot.h"

typedef enum {
    TBMS_REG_UINT16 = 0,
    TBMS_REG_INT16,     /* two's complement word */
    TBMS_REG_UINT32,    /* 2 words, low word at the lower address */
    TBMS_REG_FLOAT,     /* IEEE-754 single, 2 words, low word first */
    TBMS_REG_2XUINT8,   /* low byte and high byte are separate values */
    TBMS_REG_2XINT8,    /* two signed bytes (reg 113) */
    TBMS_REG_UINT8_LOW, /* value in the low byte, high byte reserved */
    TBMS_REG_BITFIELD,  /* independent bits */
    TBMS_REG_ENUM,      /* UINT16 holding a code (status 50, unit 314) */
    TBMS_REG_EVENT,     /* 2 words: 24-bit timestamp + 8-bit ID (5.3) */
    TBMS_REG_BYTES,     /* opaque bytes (serial number) */
    TBMS_REG_TYPE_COUNT_
} tbms_reg_type_t;

typedef enum {
    TBMS_REG_R = 0, /* read-only */
    TBMS_REG_RW     /* read/write: only 300..399 (tinybms-uart.md 3) */
} tbms_reg_access_t;

/* Entry flags. */
#define TBMS_REG_F_RANGE 0x01u /* min/max below are meaningful */
#define TBMS_REG_F_BOARD                                                                           \
    0x02u                          /* '*': the firmware narrows min/max by                         \
                                      board and current sensor; read the live                      \
                                      limits with command 0x1D */
#define TBMS_REG_F_INTERLOCK 0x04u /* cross-checked against other settings */
#define TBMS_REG_F_NEW_FW                                                                          \
    0x08u                           /* added in Rev D / FW >= 2.3.25x;                             \
                                       reserved (unspecified) on older FW */
#define TBMS_REG_F_READS_FFFF 0x10u /* a "set" register: reads back 0xFFFF */
#define TBMS_REG_F_RESTARTS   0x20u /* writing it restarts the BMS (340) */

typedef struct {
    uint16_t address; /* first register */
    uint8_t words;    /* registers covered, 1..6 */
    uint8_t type;     /* tbms_reg_type_t */
    uint8_t access;   /* tbms_reg_access_t */
    uint8_t flags;    /* TBMS_REG_F_* */
    uint32_t scale_num;
    uint32_t scale_den;
    /* Valid raw range for writes, only when flags has TBMS_REG_F_RANGE.
     * For UINT8_LOW registers it bounds the low byte, for INT16 the signed
     * value. With TBMS_REG_F_BOARD it is the widest documented range. */
    int32_t min;
    int32_t max;
    const char *unit; /* ASCII, "" when none ("degC" for degrees Celsius) */
    const char *name; /* snake_case key, unique */
    const char *desc; /* short English description; "" in builds with
                         TBMS_REGS_DESCRIPTIONS=0 (microcontrollers) */
} tbms_reg_t;

/* Number of catalog entries. */
size_t tbms_reg_count(void);

/* Entry i in ascending address order, or NULL when i >= tbms_reg_count(). */
const tbms_reg_t *tbms_reg_at(size_t i);

/*
 * The entry covering register `addr`: its first address or, for a
 * multi-word entry, any address inside it (tbms_reg_find(37) returns the
 * pack-voltage entry at 36). NULL for reserved or unknown addresses.
 */
const tbms_reg_t *tbms_reg_find(uint16_t addr);

/* Static name of a type ("UINT16", "FLOAT", ...); "?" when out of range. */
const char *tbms_reg_type_name(tbms_reg_type_t type);

/*
 * Checks one settings write before it is sent.
 *   addr:    the register's FIRST address (312 for the 32-bit 312-313).
 *   raw:     the raw register content as it will be written: the 16-bit
 *            word for one-word registers (INT16 in two's complement, e.g.
 *            0xFFD8 for -40 degC), the 32-bit value for 312-313.
 *   current: the settings the BMS holds right before this write. Needed
 *            only for the interlocked registers 300, 301, 305, 315, 316,
 *            317; may be NULL for the others. When writing several
 *            settings, update it after each accepted write and order the
 *            writes so that every intermediate state passes.
 * Interlocks (tinybms-uart.md 5.4, MAN-D tables 4.4/4.5), all in mV or A:
 *   316 UV <= 301 fully-discharged - 10; 301 <= 300 fully-charged - 10;
 *   300 <= 315 OV - 10; 305 peak > 317 discharge OC. When current->
 *   peak_discharge_a is 0 (firmware without register 305) a write of 317
 *   skips the 305 interlock.
 * Returns
 *   TBMS_OK              the write is acceptable;
 *   TBMS_ERR_RANGE       unknown or reserved address, an address inside a
 *                        2-word register other than its first, a value
 *                        outside the documented range (or > 0xFFFF for a
 *                        one-word register), reserved bits or reserved
 *                        high byte set, an undocumented enum code;
 *   TBMS_ERR_READ_ONLY   a read-only register (everything outside 300..399);
 *   TBMS_ERR_ARG         `current` NULL for an interlocked register;
 *   TBMS_ERR_INTERLOCK   the value breaks an interlock with `current`.
 * Board-dependent ranges ('*': 304, 317, 318) are checked against the widest
 * documented range only; the BMS may still refuse (NACK).
 */
tbms_err_t tbms_reg_check_write(uint16_t addr, uint32_t raw, const tbms_settings_t *current);

#endif /* TBMS_REGS_H */
