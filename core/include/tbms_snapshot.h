/*
 * tbms_snapshot.h - decode TinyBMS register blocks into typed snapshots.
 *
 * Input is always an array of host-order 16-bit register values, as the
 * frame codec assembled them (byte order inside a word already resolved),
 * for one fixed register block. The first address is implied by the
 * function: tbms_decode_live() takes registers 0..55, and so on. Each decoder
 * needs exactly the block's register count; anything else is TBMS_ERR_ARG.
 *
 * 32-bit values spanning two registers have their LOW word at the LOWER
 * address (tinybms-uart.md section 2, confirmed on hardware).
 *
 * Every snapshot carries `valid` and `read_ms` (the caller's monotonic time
 * of the read). Consumers judge freshness from them (architecture.md). On
 * any error other than a NULL `out`, the decoder clears *out, stores
 * `read_ms` and leaves `valid` false: a half-decoded snapshot is never
 * marked valid.
 *
 * Pure functions: no heap, no I/O, no global state, O(block size) except
 * the event sort (O(n^2) on at most 49 entries).
 */
#ifndef TBMS_SNAPSHOT_H
#define TBMS_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tbms_err.h"

/* ---- Capacities and register blocks (tinybms-uart.md section 5) ---- */

/* Cell voltage registers 0..15 (tinybms-uart.md 5.1). */
#define TBMS_MAX_CELLS 16u
/* Event log: 49-entry circular buffer at 200..297 (tinybms-uart.md 5.3, 6). */
#define TBMS_EVENT_SLOTS 49u
/* Product serial number 504..509: 96 bits (tinybms-uart.md 5.5). */
#define TBMS_SERIAL_LEN 12u

#define TBMS_LIVE_FIRST_REG     0u
#define TBMS_LIVE_REG_COUNT     56u /* 0..55 */
#define TBMS_STATS_FIRST_REG    100u
#define TBMS_STATS_REG_COUNT    18u /* 100..117 */
#define TBMS_EVENTS_FIRST_REG   200u
#define TBMS_EVENTS_REG_COUNT   98u /* 200..297 */
#define TBMS_SETTINGS_FIRST_REG 300u
#define TBMS_SETTINGS_REG_COUNT 44u /* 300..343 */
#define TBMS_VERSION_FIRST_REG  500u
#define TBMS_VERSION_REG_COUNT  10u /* 500..509 */

/* Plausibility limits for the FLOAT registers. Beyond them the value is not
 * something any TinyBMS (16 cells x 4.5 V max, 750 A boards) can report, so
 * the whole live snapshot is rejected as TBMS_ERR_INVALID_DATA. */
#define TBMS_PACK_MV_MAX       100000  /* 100 V */
#define TBMS_PACK_MA_ABS_MAX   5000000 /* 5000 A, either sign */
#define TBMS_SPEED_M_PER_H_MAX 1000000 /* 1000 km/h, either sign */

/* SOC register 46-47 full scale: 100 % = 100 000 000 (tinybms-uart.md 5.1). */
#define TBMS_SOC_RAW_FULL 100000000u
/* SOH register 45 full scale: 100 % = 50 000 (0.002 %/LSB). */
#define TBMS_SOH_RAW_FULL 50000u
/* Temperature sentinel in 42/43 (and 48): sensor not connected (5.1, 7.6). */
#define TBMS_TEMP_ABSENT_RAW (-32768)

/* ---- Live data, registers 0..55 ---- */

/* Register 50, online status (tinybms-uart.md 5.1). Enumerator values are
 * the raw register codes, except UNKNOWN (0) which stands for any other
 * raw value, including 0: a missing status is never "charging". */
typedef enum {
    TBMS_STATUS_UNKNOWN = 0,
    TBMS_STATUS_CHARGING = 0x91,
    TBMS_STATUS_FULLY_CHARGED = 0x92,
    TBMS_STATUS_DISCHARGING = 0x93,
    TBMS_STATUS_SLEEP = 0x95, /* undocumented, seen by a peer (ALIUSC) */
    TBMS_STATUS_REGENERATION = 0x96,
    TBMS_STATUS_IDLE = 0x97,
    TBMS_STATUS_FAULT = 0x9B
} tbms_status_t;

typedef struct {
    bool valid;
    uint64_t read_ms; /* caller's monotonic time of the read */

    /* Reg 53: number of detected cells, 0..16. */
    uint8_t cell_count;
    /* Cells in 0.1 mV. Index 0 = the lowest cell of the stack. The cells
     * are top-aligned on the connector (tinybms-uart.md 7.2): with N cells,
     * cell i is register 16 - N + i. Entries >= cell_count are 0. */
    uint16_t cell_100uv[TBMS_MAX_CELLS];
    uint16_t cell_min_mv; /* reg 40 */
    uint16_t cell_max_mv; /* reg 41 */

    uint32_t lifetime_s;  /* reg 32-33 */
    uint32_t time_left_s; /* reg 34-35; huge when idle */

    int32_t pack_mv; /* reg 36-37 FLOAT V, rounded to mV */
    int32_t pack_ma; /* reg 38-39 FLOAT A, rounded to mA; < 0 = discharging */

    /* Temperatures in 0.1 degC. When *_present is false the sensor reads
     * the -32768 sentinel and the value field holds 0: never show it. */
    bool ext_temp_present[2];
    int16_t ext_temp_dc[2]; /* regs 42, 43 */
    bool internal_temp_present;
    int16_t internal_temp_dc; /* reg 48 */

    uint16_t distance_left_km; /* reg 44 */

    /* Reg 45, 0.002 %/LSB. Reserved (unspecified content) on firmware
     * older than 2.3.251, so a raw value above 50 000 only clears soh_valid
     * and does not reject the snapshot. */
    bool soh_valid;
    uint16_t soh_raw;
    uint16_t soh_cpct; /* 0.01 %, 0..10000, rounded; 0 when !soh_valid */

    /* Reg 46-47, 1e-6 %/LSB. Above 100 % the snapshot is rejected. */
    uint32_t soc_raw;
    uint16_t soc_cpct; /* 0.01 %, 0..10000, rounded */

    uint16_t status_raw;  /* reg 50 as read */
    tbms_status_t status; /* decoded; TBMS_STATUS_UNKNOWN if not documented */

    /* Regs 51 (decision: needs balancing) and 52 (balancing now) as read:
     * bit 0 = connector position 1 (reg 0). */
    uint16_t balance_need_raw;
    uint16_t balance_active_raw;
    /* Same bits aligned like cell_100uv: bit i = cell i. ASSUMPTION
     * (unverified on hardware, tinybms-uart.md 7.2): the bits follow the
     * register positions, so the raw word is shifted right by 16 - N. */
    uint16_t balance_need_bits;
    uint16_t balance_active_bits;

    /* Reg 54-55 FLOAT km/h in m/h (1 km/h = 1000). Not safety relevant:
     * NaN/Inf or beyond TBMS_SPEED_M_PER_H_MAX clears speed_valid only. */
    bool speed_valid;
    int32_t speed_m_per_h;
} tbms_live_t;

/*
 * Decodes registers 0..55.
 *   regs:   TBMS_LIVE_REG_COUNT host-order words, regs[0] = register 0.
 *   count:  must be TBMS_LIVE_REG_COUNT.
 *   now_ms: caller's monotonic time of the read; stored in out->read_ms.
 * Returns TBMS_OK (out->valid = true), or
 *   TBMS_ERR_ARG           out, regs NULL or count wrong;
 *   TBMS_ERR_INVALID_DATA  reg 53 > 16; a register below the top-aligned
 *                          cells (0 .. 15 - N) is non-zero, contradicting
 *                          the layout of tinybms-uart.md 7.2; pack voltage
 *                          or current NaN, infinite, or outside the
 *                          TBMS_PACK_* limits (voltage must be >= 0);
 *                          SOC above 100 %.
 */
tbms_err_t tbms_decode_live(const uint16_t *regs, size_t count, uint64_t now_ms, tbms_live_t *out);

/* Decodes a raw register-50 value. 0 and undocumented codes give
 * TBMS_STATUS_UNKNOWN. */
tbms_status_t tbms_status_from_raw(uint16_t raw);

/* Static English text for a status ("Charging", ...; "Unknown" for anything
 * not in the enum). Never NULL. */
const char *tbms_status_name(tbms_status_t status);

/* ---- Statistics, registers 100..117 ---- */

/* Reg 114 low byte (tinybms-uart.md 5.2). Values are the raw codes. */
typedef enum {
    TBMS_RESET_UNKNOWN = 0,
    TBMS_RESET_LOW_POWER = 1,
    TBMS_RESET_WINDOW_WATCHDOG = 2,
    TBMS_RESET_INDEPENDENT_WATCHDOG = 3,
    TBMS_RESET_SOFTWARE = 4,
    TBMS_RESET_POR_PDR = 5,
    TBMS_RESET_PIN = 6,
    TBMS_RESET_OPTION_BYTES = 7,
    TBMS_RESET_UNDOCUMENTED = 0xFF /* any other raw code; see reset_cause_raw */
} tbms_reset_cause_t;

/* Reg 114 high byte. Values are the raw codes. */
typedef enum {
    TBMS_WAKEUP_CHARGER = 0,
    TBMS_WAKEUP_IGNITION = 1,
    TBMS_WAKEUP_DISCHARGING = 2,
    TBMS_WAKEUP_UART = 3,
    TBMS_WAKEUP_UNDOCUMENTED = 0xFF /* any other raw code; see wakeup_raw */
} tbms_wakeup_t;

typedef struct {
    bool valid;
    uint64_t read_ms;

    uint32_t total_distance_10m; /* reg 100-101, 0.01 km */
    /* Regs 102/103: the LARGEST currents seen over the BMS lifetime
     * (statistics, 0.1 A/LSB), NOT charge/discharge limits (seed defect 6). */
    uint32_t lifetime_max_discharge_ma;
    uint32_t lifetime_max_charge_ma;
    uint16_t max_cell_diff_100uv;           /* reg 104 */
    uint16_t uv_protection_count;           /* reg 105 */
    uint16_t ov_protection_count;           /* reg 106 */
    uint16_t discharge_oc_protection_count; /* reg 107 */
    uint16_t charge_oc_protection_count;    /* reg 108 */
    uint16_t overheat_protection_count;     /* reg 109 */
    uint16_t charging_count;                /* reg 111 */
    uint16_t full_charge_count;             /* reg 112 */
    int8_t pack_temp_min_c;                 /* reg 113 low byte, signed */
    int8_t pack_temp_max_c;                 /* reg 113 high byte, signed */
    uint8_t reset_cause_raw;                /* reg 114 low byte */
    tbms_reset_cause_t reset_cause;
    uint8_t wakeup_raw; /* reg 114 high byte */
    tbms_wakeup_t wakeup;
    uint32_t stats_cleared_s; /* reg 116-117, BMS lifetime seconds */
} tbms_stats_t;

/*
 * Decodes registers 100..117 (reserved 110 and 115 are ignored).
 * Returns TBMS_OK, or TBMS_ERR_ARG (out or regs NULL, count !=
 * TBMS_STATS_REG_COUNT). Never TBMS_ERR_INVALID_DATA: every word is a
 * plausible statistic.
 */
tbms_err_t tbms_decode_stats(const uint16_t *regs, size_t count, uint64_t now_ms,
                             tbms_stats_t *out);

/* Static English text; never NULL ("Undocumented" for other codes). */
const char *tbms_reset_cause_name(tbms_reset_cause_t cause);
const char *tbms_wakeup_name(tbms_wakeup_t wakeup);

/* ---- Event log, registers 200..297 ---- */

typedef struct {
    uint32_t timestamp_s; /* 24-bit BMS lifetime seconds (wraps every ~194 days) */
    uint8_t id;           /* event ID, tinybms-uart.md section 6 */
    uint8_t slot;         /* position in the BMS buffer, 0..48 (regs 200+2*slot) */
} tbms_event_t;

typedef struct {
    bool valid;
    uint64_t read_ms;
    uint8_t count; /* used entries in entry[] */
    tbms_event_t entry[TBMS_EVENT_SLOTS];
} tbms_events_t;

/*
 * Decodes registers 200..297: for slot k, reg 200+2k = timestamp bits 0-15,
 * reg 201+2k = low byte timestamp bits 16-23, high byte event ID.
 * Slots whose two words are both 0 are empty and skipped. The rest are
 * sorted newest first by raw 24-bit timestamp; equal timestamps put the
 * higher slot first. The raw sort is wrong once the BMS lifetime passes
 * 2^24 s; tbms_events_sort_by_age() fixes that given register 32-33.
 * Returns TBMS_OK, or TBMS_ERR_ARG (out or regs NULL, count !=
 * TBMS_EVENTS_REG_COUNT).
 */
tbms_err_t tbms_decode_events(const uint16_t *regs, size_t count, uint64_t now_ms,
                              tbms_events_t *out);

/*
 * Age of an event in seconds, given the BMS lifetime counter (reg 32-33)
 * read at about the same time: (lifetime - timestamp) modulo 2^24. Valid
 * for events younger than 2^24 s (~194 days).
 */
uint32_t tbms_event_age_s(uint32_t timestamp_s, uint32_t lifetime_s);

/*
 * Re-sorts ev->entry[0..count) youngest first by tbms_event_age_s(), which
 * stays right after the 24-bit timestamp wraps. Ties: higher slot first.
 * Returns TBMS_OK, or TBMS_ERR_ARG (ev NULL or ev->count > TBMS_EVENT_SLOTS).
 */
tbms_err_t tbms_events_sort_by_age(tbms_events_t *ev, uint32_t lifetime_s);

typedef enum {
    TBMS_EVENT_KIND_UNKNOWN = 0, /* 0x00, 0x91..0xFF */
    TBMS_EVENT_KIND_FAULT,       /* 0x01..0x30 */
    TBMS_EVENT_KIND_WARNING,     /* 0x31..0x60 */
    TBMS_EVENT_KIND_INFO         /* 0x61..0x90 */
} tbms_event_kind_t;

/* Kind of an event ID by its documented range (tinybms-uart.md 6). */
tbms_event_kind_t tbms_event_kind(uint8_t id);

/* Static English text for the IDs listed in tinybms-uart.md 6, "unknown"
 * for any other ID (including undocumented IDs inside a known range).
 * Never NULL. */
const char *tbms_event_name(uint8_t id);

/* ---- Settings, registers 300..343 ---- */

/* Reg 329 bits (tinybms-uart.md 5.4). Bits 3..15 are reserved. */
#define TBMS_OPT_INVERT_CURRENT_SENSOR 0x0001u
#define TBMS_OPT_DISABLE_SWITCH_DIAG   0x0002u
#define TBMS_OPT_ENABLE_CHARGE_RESTART 0x0004u
#define TBMS_OPT_DEFINED_MASK          0x0007u

/* Regs 323 and 328 read back this value instead of the last write. */
#define TBMS_SET_READS_ACCEPTED 0xFFFFu

/*
 * Settings in their register units, one named field per register or byte.
 * Enumerated settings keep the raw code (see the catalog, tbms_regs.h, for
 * the meaning of each code). Reserved registers 302, 309, 324..327 are not
 * kept; tbms_encode_settings() writes them as 0.
 */
typedef struct {
    bool valid;
    uint64_t read_ms;

    uint16_t fully_charged_mv;        /* 300 */
    uint16_t fully_discharged_mv;     /* 301 */
    uint16_t early_balancing_mv;      /* 303 */
    uint16_t charge_finished_ma;      /* 304 */
    uint16_t peak_discharge_a;        /* 305, Rev D; 0 on older firmware */
    uint16_t capacity_10mah;          /* 306, 0.01 Ah */
    uint16_t series_cells;            /* 307 */
    uint16_t allowed_disbalance_mv;   /* 308 */
    uint16_t charger_startup_delay_s; /* 310, Rev D */
    uint16_t charger_disable_delay_s; /* 311, Rev D */
    uint32_t pulses_per_unit;         /* 312-313, low word at 312 */
    uint16_t distance_unit;           /* 314: 1 m, 2 km, 3 ft, 4 mi, 5 yd */
    uint16_t over_voltage_mv;         /* 315 */
    uint16_t under_voltage_mv;        /* 316 */
    uint16_t discharge_oc_a;          /* 317 */
    uint16_t charge_oc_a;             /* 318 */
    int16_t over_heat_c;              /* 319, INT16 */
    int16_t low_temp_charge_c;        /* 320, INT16 */
    uint16_t charge_restart_pct;      /* 321, Rev D */
    uint16_t max_cycles;              /* 322 */
    uint16_t soh_set_raw;             /* 323, 0.002 %; reads 0xFFFF once accepted */
    uint16_t soc_set_raw;             /* 328, 0.002 %; reads 0xFFFF on hardware */
    uint16_t option_bits;             /* 329, TBMS_OPT_* (reserved bits kept) */
    uint8_t charger_type;             /* 330 low byte */
    uint8_t doc_timeout_s;            /* 330 high byte, discharge OC cutoff timeout */
    uint8_t load_switch_type;         /* 331 */
    uint8_t auto_recovery_s;          /* 332 */
    uint8_t charger_switch_type;      /* 333 */
    uint8_t ignition;                 /* 334 */
    uint8_t charger_detection;        /* 335 */
    uint8_t speed_sensor_input;       /* 336 */
    uint8_t precharge_pin;            /* 337 */
    uint8_t precharge_duration;       /* 338, code 0..7 = 0.1 .. 5 s */
    uint8_t temp_sensor_type;         /* 339 */
    uint8_t operation_mode;           /* 340 */
    uint8_t single_port_switch_type;  /* 341 */
    uint8_t broadcast_time;           /* 342, code; 0 = broadcast off */
    uint8_t broadcast_protocol;       /* 343 */
} tbms_settings_t;

/*
 * Decodes registers 300..343. Registers 331..343 hold their value in the
 * low byte; the reserved high byte is ignored.
 * Returns TBMS_OK, or
 *   TBMS_ERR_ARG           out or regs NULL, count != TBMS_SETTINGS_REG_COUNT;
 *   TBMS_ERR_INVALID_DATA  one of the settings the charge limits rest on is
 *                          outside its documented range: 300 and 315
 *                          (1200..4500 mV), 301 (1000..3500 mV), 316
 *                          (800..3500 mV), 307 (4..16 cells). These exist in
 *                          every firmware version, so a value outside the
 *                          range means the read is not to be trusted.
 */
tbms_err_t tbms_decode_settings(const uint16_t *regs, size_t count, uint64_t now_ms,
                                tbms_settings_t *out);

/*
 * Inverse of tbms_decode_settings: fills words[0..44) for registers
 * 300..343 (reserved registers 0, 312 low word / 313 high word, 330 and
 * the byte registers recombined). No validation: check each register with
 * tbms_reg_check_write() before sending it, and never write back 323/328
 * as read (0xFFFF), nor a reserved register.
 * Returns TBMS_OK, or TBMS_ERR_ARG (s or words NULL), TBMS_ERR_BUF_SMALL
 * (count < TBMS_SETTINGS_REG_COUNT; nothing written).
 */
tbms_err_t tbms_encode_settings(const tbms_settings_t *s, uint16_t *words, size_t count);

/* ---- Version, registers 500..509 ---- */

/* Reg 501 bit 8, BPT (tinybms-uart.md 5.5). */
typedef enum {
    TBMS_POWER_LOW = 0, /* 30 A board */
    TBMS_POWER_HIGH = 1 /* 150 A board */
} tbms_power_type_t;

/* Reg 501 bits 9-10, BCS. */
typedef enum {
    TBMS_SENSOR_INTERNAL_RESISTOR = 0,
    TBMS_SENSOR_INTERNAL_HALL = 1,
    TBMS_SENSOR_EXTERNAL = 2,
    TBMS_SENSOR_UNDOCUMENTED = 3
} tbms_current_sensor_t;

typedef struct {
    bool valid;
    uint64_t read_ms;

    uint8_t hw_version;                   /* 500 low byte (CLARK 0x0102: 2) */
    uint8_t hw_changes;                   /* 500 high byte (CLARK: 1) -> "HW 2.1" */
    uint8_t fw_public;                    /* 501 bits 0-7 */
    tbms_power_type_t power_type;         /* 501 bit 8 */
    tbms_current_sensor_t current_sensor; /* 501 bits 9-10 */
    uint16_t fw_internal;                 /* 502 */
    uint8_t bootloader;                   /* 503 low byte */
    uint8_t profile;                      /* 503 high byte */
    /* 504..509 as bytes in register order, each register low byte first
     * (the document gives no byte order for the 96-bit number; this is the
     * low-word-first convention of section 2 applied to six words). */
    uint8_t serial[TBMS_SERIAL_LEN];
} tbms_version_t;

/*
 * Decodes registers 500..509.
 * Returns TBMS_OK, or TBMS_ERR_ARG (out or regs NULL, count !=
 * TBMS_VERSION_REG_COUNT). Reserved bits 11-15 of 501 are ignored.
 */
tbms_err_t tbms_decode_version(const uint16_t *regs, size_t count, uint64_t now_ms,
                               tbms_version_t *out);

/*
 * Series cells of the pack: reg 307 from valid settings (set may be NULL),
 * else the detected count (reg 53), each only within 4..TBMS_MAX_CELLS;
 * 0 when neither is usable. The one rule for every pack-level voltage.
 */
uint8_t tbms_series_cells(const tbms_live_t *live, const tbms_settings_t *set);

#endif /* TBMS_SNAPSHOT_H */
