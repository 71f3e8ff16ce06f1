/*
 * tbms_regs.c - the TinyBMS register catalog and settings write checks.
 *
 * Source of every row: tinybms-uart.md section 5 (DOC-D chapter 3, Rev D).
 * Corrections against the seed's catalog (seed-system.md 9.2 item 21): 319
 * is INT16, 323/328 are 0.002 %, 343 has three protocols, 332 is seconds,
 * 329 is a 3-bit field, and 52/305/307/500..502 carry their real names.
 *
 * The table must stay sorted by address with no overlap: tbms_reg_find()
 * binary-searches it. C cannot _Static_assert over array contents, so the
 * unit test test_catalog_is_sorted_without_overlap checks it.
 */
#include <stddef.h>

#include "tbms_regs.h"

/* Read-only entry. */
/* Descriptions cost about 8 KB of flash: a microcontroller build may leave
 * them out with -DTBMS_REGS_DESCRIPTIONS=0 (names and units stay). */
#ifndef TBMS_REGS_DESCRIPTIONS
#define TBMS_REGS_DESCRIPTIONS 1
#endif
#if TBMS_REGS_DESCRIPTIONS
#define TBMS_DESC(d) (d)
#else
#define TBMS_DESC(d) ""
#endif

#define RO(addr, words, type, num, den, unit, name, desc)                                          \
    {                                                                                              \
        (addr), (words), (type), TBMS_REG_R, 0u, (num), (den), 0, 0, (unit), (name),               \
            TBMS_DESC(desc)                                                                        \
    }
/* Read-only entry with flags. */
#define ROF(addr, words, type, flags, num, den, unit, name, desc)                                  \
    {                                                                                              \
        (addr), (words), (type), TBMS_REG_R, (flags), (num), (den), 0, 0, (unit), (name),          \
            TBMS_DESC(desc)                                                                        \
    }
/* Writable setting with a documented range. */
#define RW(addr, words, type, flags, num, den, lo, hi, unit, name, desc)                           \
    {                                                                                              \
        (addr), (words), (type), TBMS_REG_RW, (uint8_t)((flags) | TBMS_REG_F_RANGE), (num), (den), \
            (lo), (hi), (unit), (name), TBMS_DESC(desc)                                            \
    }

#define CELL(addr, pos)                                                                            \
    RO((addr), 1u, TBMS_REG_UINT16, 1u, 10u, "mV", "cell_pos_" pos,                                \
       "Cell voltage at connector position " pos " (cells top-aligned, uart 7.2)")

#define EVENT(slot)                                                                                \
    RO(200u + 2u * (slot), 2u, TBMS_REG_EVENT, 1u, 1u, "s", "event_" #slot,                        \
       "Event slot: word 0 = timestamp bits 0-15; word 1 low byte = bits 16-23, high byte = ID")

/* Byte-register limits that do not fit one min/max pair (tinybms-uart.md 5.4). */
#define REG330_DOC_TIMEOUT_MAX_S 30u /* 330 high byte, 0..30 s */
#define REG337_UNDEFINED_CODE    1u  /* 337: code 1 is not listed */

/* Interlock margin, mV (tinybms-uart.md 5.4, MAN-D tables 4.4/4.5). */
#define INTERLOCK_MARGIN_MV 10

static const tbms_reg_t catalog[] = {
    /* ---- 5.1 live data (0..99), R ---- */
    CELL(0u, "01"),
    CELL(1u, "02"),
    CELL(2u, "03"),
    CELL(3u, "04"),
    CELL(4u, "05"),
    CELL(5u, "06"),
    CELL(6u, "07"),
    CELL(7u, "08"),
    CELL(8u, "09"),
    CELL(9u, "10"),
    CELL(10u, "11"),
    CELL(11u, "12"),
    CELL(12u, "13"),
    CELL(13u, "14"),
    CELL(14u, "15"),
    CELL(15u, "16"),
    RO(32u, 2u, TBMS_REG_UINT32, 1u, 1u, "s", "lifetime_counter", "BMS lifetime counter"),
    RO(34u, 2u, TBMS_REG_UINT32, 1u, 1u, "s", "time_left", "Estimated time left"),
    RO(36u, 2u, TBMS_REG_FLOAT, 1u, 1u, "V", "pack_voltage", "Battery pack voltage"),
    RO(38u, 2u, TBMS_REG_FLOAT, 1u, 1u, "A", "pack_current",
       "Battery pack current, negative = discharging"),
    RO(40u, 1u, TBMS_REG_UINT16, 1u, 1u, "mV", "min_cell_voltage", "Minimal cell voltage"),
    RO(41u, 1u, TBMS_REG_UINT16, 1u, 1u, "mV", "max_cell_voltage", "Maximal cell voltage"),
    RO(42u, 1u, TBMS_REG_INT16, 1u, 10u, "degC", "ext_temp_1",
       "External temperature sensor 1, -32768 = not connected"),
    RO(43u, 1u, TBMS_REG_INT16, 1u, 10u, "degC", "ext_temp_2",
       "External temperature sensor 2, -32768 = not connected"),
    RO(44u, 1u, TBMS_REG_UINT16, 1u, 1u, "km", "distance_left", "Distance left to empty"),
    ROF(45u, 1u, TBMS_REG_UINT16, TBMS_REG_F_NEW_FW, 1u, 500u, "%", "state_of_health",
        "State of health, 0..50000 (FW >= 2.3.251)"),
    RO(46u, 2u, TBMS_REG_UINT32, 1u, 1000000u, "%", "state_of_charge",
       "State of charge, 100 % = 100000000"),
    RO(48u, 1u, TBMS_REG_INT16, 1u, 10u, "degC", "internal_temp", "BMS internal temperature"),
    RO(50u, 1u, TBMS_REG_ENUM, 1u, 1u, "", "online_status",
       "Online status: 0x91 charging, 0x92 full, 0x93 discharging, 0x95 sleep, 0x96 regen, "
       "0x97 idle, 0x9B fault"),
    RO(51u, 1u, TBMS_REG_BITFIELD, 1u, 1u, "", "balancing_decision",
       "Balancing decision bits, bit 0 = position 1: 1 = needs balancing"),
    RO(52u, 1u, TBMS_REG_BITFIELD, 1u, 1u, "", "balancing_real",
       "Real balancing bits, bit 0 = position 1: 1 = balancing now"),
    RO(53u, 1u, TBMS_REG_UINT16, 1u, 1u, "cells", "detected_cells", "Number of detected cells"),
    RO(54u, 2u, TBMS_REG_FLOAT, 1u, 1u, "km/h", "speed", "Speed"),

    /* ---- 5.2 statistics (100..199), R ---- */
    RO(100u, 2u, TBMS_REG_UINT32, 1u, 100u, "km", "total_distance", "Total distance"),
    RO(102u, 1u, TBMS_REG_UINT16, 100u, 1u, "mA", "max_discharge_current_seen",
       "Largest discharge current seen (statistic, not a limit)"),
    RO(103u, 1u, TBMS_REG_UINT16, 100u, 1u, "mA", "max_charge_current_seen",
       "Largest charge current seen (statistic, not a limit)"),
    RO(104u, 1u, TBMS_REG_UINT16, 1u, 10u, "mV", "max_cell_voltage_diff",
       "Maximal cell voltage difference"),
    RO(105u, 1u, TBMS_REG_UINT16, 1u, 1u, "", "uv_protection_count",
       "Under-voltage protection count"),
    RO(106u, 1u, TBMS_REG_UINT16, 1u, 1u, "", "ov_protection_count",
       "Over-voltage protection count"),
    RO(107u, 1u, TBMS_REG_UINT16, 1u, 1u, "", "discharge_oc_protection_count",
       "Discharge over-current protection count"),
    RO(108u, 1u, TBMS_REG_UINT16, 1u, 1u, "", "charge_oc_protection_count",
       "Charge over-current protection count"),
    RO(109u, 1u, TBMS_REG_UINT16, 1u, 1u, "", "overheat_protection_count",
       "Over-heat protection count"),
    RO(111u, 1u, TBMS_REG_UINT16, 1u, 1u, "", "charging_count", "Charging count"),
    RO(112u, 1u, TBMS_REG_UINT16, 1u, 1u, "", "full_charge_count", "Full charge count"),
    RO(113u, 1u, TBMS_REG_2XINT8, 1u, 1u, "degC", "pack_temp_min_max",
       "Low byte min pack temperature, high byte max pack temperature (signed)"),
    RO(114u, 1u, TBMS_REG_2XUINT8, 1u, 1u, "", "reset_wakeup_cause",
       "Low byte last reset cause, high byte last wake-up reason"),
    RO(116u, 2u, TBMS_REG_UINT32, 1u, 1u, "s", "stats_cleared_at",
       "Lifetime timestamp when statistics were last cleared"),

    /* ---- 5.3 events (200..297), R: one entry per slot ---- */
    EVENT(0),
    EVENT(1),
    EVENT(2),
    EVENT(3),
    EVENT(4),
    EVENT(5),
    EVENT(6),
    EVENT(7),
    EVENT(8),
    EVENT(9),
    EVENT(10),
    EVENT(11),
    EVENT(12),
    EVENT(13),
    EVENT(14),
    EVENT(15),
    EVENT(16),
    EVENT(17),
    EVENT(18),
    EVENT(19),
    EVENT(20),
    EVENT(21),
    EVENT(22),
    EVENT(23),
    EVENT(24),
    EVENT(25),
    EVENT(26),
    EVENT(27),
    EVENT(28),
    EVENT(29),
    EVENT(30),
    EVENT(31),
    EVENT(32),
    EVENT(33),
    EVENT(34),
    EVENT(35),
    EVENT(36),
    EVENT(37),
    EVENT(38),
    EVENT(39),
    EVENT(40),
    EVENT(41),
    EVENT(42),
    EVENT(43),
    EVENT(44),
    EVENT(45),
    EVENT(46),
    EVENT(47),
    EVENT(48),

    /* ---- 5.4 settings (300..399), R/W ---- */
    RW(300u, 1u, TBMS_REG_UINT16, TBMS_REG_F_INTERLOCK, 1u, 1u, 1200, 4500, "mV",
       "fully_charged_voltage", "Fully charged cell voltage"),
    RW(301u, 1u, TBMS_REG_UINT16, TBMS_REG_F_INTERLOCK, 1u, 1u, 1000, 3500, "mV",
       "fully_discharged_voltage", "Fully discharged cell voltage"),
    RW(303u, 1u, TBMS_REG_UINT16, 0u, 1u, 1u, 1000, 4500, "mV", "early_balancing_threshold",
       "Early balancing threshold"),
    RW(304u, 1u, TBMS_REG_UINT16, TBMS_REG_F_BOARD, 1u, 1u, 100, 5000, "mA",
       "charge_finished_current", "Charge finished current"),
    /* 305: DOC-D gives no range; only the interlock 305 > 317 applies. */
    {305u, 1u, TBMS_REG_UINT16, TBMS_REG_RW, TBMS_REG_F_INTERLOCK | TBMS_REG_F_NEW_FW, 1u, 1u, 0, 0,
     "A", "peak_discharge_current_cutoff",
     "Peak discharge current cutoff, must exceed 317 (range not documented)"},
    RW(306u, 1u, TBMS_REG_UINT16, 0u, 1u, 100u, 10, 65500, "Ah", "battery_capacity",
       "Battery capacity"),
    RW(307u, 1u, TBMS_REG_UINT16, 0u, 1u, 1u, 4, 16, "cells", "series_cells",
       "Number of series cells"),
    RW(308u, 1u, TBMS_REG_UINT16, 0u, 1u, 1u, 15, 100, "mV", "allowed_disbalance",
       "Allowed cell disbalance"),
    RW(310u, 1u, TBMS_REG_UINT16, TBMS_REG_F_NEW_FW, 1u, 1u, 5, 60, "s", "charger_startup_delay",
       "Charger startup delay"),
    RW(311u, 1u, TBMS_REG_UINT16, TBMS_REG_F_NEW_FW, 1u, 1u, 0, 60, "s", "charger_disable_delay",
       "Charger disable delay"),
    RW(312u, 2u, TBMS_REG_UINT32, 0u, 1u, 1u, 1, 100000, "pulses/unit", "pulses_per_unit",
       "Speed sensor pulses per distance unit, low word at 312"),
    RW(314u, 1u, TBMS_REG_ENUM, 0u, 1u, 1u, 1, 5, "", "distance_unit",
       "Distance unit: 1 m, 2 km, 3 ft, 4 mi, 5 yd"),
    RW(315u, 1u, TBMS_REG_UINT16, TBMS_REG_F_INTERLOCK, 1u, 1u, 1200, 4500, "mV",
       "over_voltage_cutoff", "Cell over-voltage cutoff"),
    RW(316u, 1u, TBMS_REG_UINT16, TBMS_REG_F_INTERLOCK, 1u, 1u, 800, 3500, "mV",
       "under_voltage_cutoff", "Cell under-voltage cutoff"),
    RW(317u, 1u, TBMS_REG_UINT16, TBMS_REG_F_BOARD | TBMS_REG_F_INTERLOCK, 1u, 1u, 1, 750, "A",
       "discharge_over_current_cutoff", "Discharge over-current cutoff"),
    RW(318u, 1u, TBMS_REG_UINT16, TBMS_REG_F_BOARD, 1u, 1u, 1, 750, "A",
       "charge_over_current_cutoff", "Charge over-current cutoff"),
    RW(319u, 1u, TBMS_REG_INT16, 0u, 1u, 1u, 20, 90, "degC", "over_heat_cutoff",
       "Over-heat cutoff"),
    RW(320u, 1u, TBMS_REG_INT16, 0u, 1u, 1u, -40, 10, "degC", "low_temp_charger_cutoff",
       "Low-temperature charger cutoff"),
    RW(321u, 1u, TBMS_REG_UINT16, TBMS_REG_F_NEW_FW, 1u, 1u, 60, 95, "%", "charge_restart_level",
       "Charge restart level"),
    RW(322u, 1u, TBMS_REG_UINT16, TBMS_REG_F_NEW_FW, 1u, 1u, 10, 65000, "cycles",
       "battery_max_cycles", "Battery maximum cycles count"),
    RW(323u, 1u, TBMS_REG_UINT16, TBMS_REG_F_NEW_FW | TBMS_REG_F_READS_FFFF, 1u, 500u, 0, 50000,
       "%", "state_of_health_set", "Set state of health; reads 0xFFFF once accepted"),
    RW(328u, 1u, TBMS_REG_UINT16, TBMS_REG_F_READS_FFFF, 1u, 500u, 0, 50000, "%",
       "state_of_charge_set", "Set state of charge; reads 0xFFFF, read SOC from 46-47"),
    RW(329u, 1u, TBMS_REG_BITFIELD, 0u, 1u, 1u, 0, 7, "", "option_bits",
       "bit0 invert ext. current sensor, bit1 disable switch diagnostics, bit2 enable "
       "charge restart level"),
    /* 330: min/max bound the low byte (charger type: only 1 CC/CV, 0 and 2
     * are "reserved"); the high byte is the DOC timeout, 0..30 s. */
    RW(330u, 1u, TBMS_REG_2XUINT8, TBMS_REG_F_NEW_FW, 1u, 1u, 1, 1, "", "charger_type_doc_timeout",
       "Low byte charger type (1 CC/CV), high byte discharge OC cutoff timeout 0..30 s"),
    RW(331u, 1u, TBMS_REG_UINT8_LOW, 0u, 1u, 1u, 0, 8, "", "load_switch_type",
       "Load switch: 0 FET, 1 AIDO1, 2 AIDO2, 3 DIDO1, 4 DIDO2, 5/6 AIHO1 low/high, "
       "7/8 AIHO2 low/high"),
    RW(332u, 1u, TBMS_REG_UINT8_LOW, 0u, 1u, 1u, 0, 30, "s", "automatic_recovery",
       "Automatic recovery time, 0 = disabled (MAN-D)"),
    RW(333u, 1u, TBMS_REG_UINT8_LOW, 0u, 1u, 1u, 1, 9, "", "charger_switch_type",
       "Charger switch: 1 charge FET, 2 AIDO1, 3 AIDO2, 4 DIDO1, 5 DIDO2, 6/7 AIHO1 low/high, "
       "8/9 AIHO2 low/high"),
    RW(334u, 1u, TBMS_REG_UINT8_LOW, 0u, 1u, 1u, 0, 6, "", "ignition",
       "Ignition: 0 disabled, 1 AIDO1, 2 AIDO2, 3 DIDO1, 4 DIDO2, 5 AIHO1, 6 AIHO2"),
    RW(335u, 1u, TBMS_REG_UINT8_LOW, 0u, 1u, 1u, 1, 7, "", "charger_detection",
       "Charger detection: 1 internal, 2 AIDO1, 3 AIDO2, 4 DIDO1, 5 DIDO2, 6 AIHO1, 7 AIHO2"),
    RW(336u, 1u, TBMS_REG_UINT8_LOW, 0u, 1u, 1u, 0, 2, "", "speed_sensor_input",
       "Speed sensor input: 0 disabled, 1 DIDO1, 2 DIDO2"),
    /* 337: DOC-D lists 0, 2..9 and "0x10" for AIHO2 active high, which is
     * probably 10 but unverified; 10 and 16 are both refused. */
    RW(337u, 1u, TBMS_REG_UINT8_LOW, 0u, 1u, 1u, 0, 9, "", "precharge_pin",
       "Precharge pin: 0 disabled, 2 discharge FET, 3 AIDO1, 4 AIDO2, 5 DIDO1, 6 DIDO2, "
       "7/8 AIHO1 low/high, 9 AIHO2 low"),
    RW(338u, 1u, TBMS_REG_UINT8_LOW, 0u, 1u, 1u, 0, 7, "", "precharge_duration",
       "Precharge duration: 0 0.1 s, 1 0.2 s, 2 0.5 s, 3 1 s, 4 2 s, 5 3 s, 6 4 s, 7 5 s"),
    RW(339u, 1u, TBMS_REG_UINT8_LOW, 0u, 1u, 1u, 0, 1, "", "temp_sensor_type",
       "Temperature sensor: 0 dual 10K NTC, 1 multipoint active"),
    RW(340u, 1u, TBMS_REG_UINT8_LOW, TBMS_REG_F_RESTARTS, 1u, 1u, 0, 1, "", "operation_mode",
       "Operation mode: 0 dual port, 1 single port (change restarts the BMS)"),
    RW(341u, 1u, TBMS_REG_UINT8_LOW, 0u, 1u, 1u, 0, 8, "", "single_port_switch_type",
       "Single-port switch type, codes as 331"),
    RW(342u, 1u, TBMS_REG_UINT8_LOW, 0u, 1u, 1u, 0, 7, "", "broadcast_time",
       "Broadcast: 0 off, 1 0.1 s, 2 0.2 s, 3 0.5 s, 4 1 s, 5 2 s, 6 5 s, 7 10 s"),
    RW(343u, 1u, TBMS_REG_UINT8_LOW, 0u, 1u, 1u, 0, 2, "", "broadcast_protocol",
       "Broadcast protocol: 0 CA V3, 1 ASCII, 2 SOC BAR"),

    /* ---- 5.5 version (500..599), R ---- */
    RO(500u, 1u, TBMS_REG_2XUINT8, 1u, 1u, "", "hw_version",
       "Low byte hardware version, high byte hardware changes version"),
    RO(501u, 1u, TBMS_REG_BITFIELD, 1u, 1u, "", "fw_public_power_sensor",
       "Bits 0-7 public FW version, bit 8 power type, bits 9-10 current sensor"),
    RO(502u, 1u, TBMS_REG_UINT16, 1u, 1u, "", "fw_internal_version", "Internal firmware version"),
    RO(503u, 1u, TBMS_REG_2XUINT8, 1u, 1u, "", "bootloader_profile",
       "Low byte bootloader version, high byte profile version"),
    RO(504u, 6u, TBMS_REG_BYTES, 1u, 1u, "", "serial_number", "Product serial number, 96 bits"),
};

#define CATALOG_LEN (sizeof(catalog) / sizeof(catalog[0]))

_Static_assert(CATALOG_LEN > 0u, "catalog not empty");
_Static_assert(TBMS_REG_TYPE_COUNT_ <= 256, "type fits uint8_t");

size_t tbms_reg_count(void)
{
    return CATALOG_LEN;
}

const tbms_reg_t *tbms_reg_at(size_t i)
{
    return (i < CATALOG_LEN) ? &catalog[i] : NULL;
}

const tbms_reg_t *tbms_reg_find(uint16_t addr)
{
    /* Last entry whose first address is <= addr. */
    size_t lo = 0;
    size_t hi = CATALOG_LEN;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2u;
        if (catalog[mid].address <= addr) {
            lo = mid + 1u;
        } else {
            hi = mid;
        }
    }
    if (lo == 0u) {
        return NULL;
    }
    const tbms_reg_t *e = &catalog[lo - 1u];
    return ((uint32_t)addr < (uint32_t)e->address + e->words) ? e : NULL;
}

const char *tbms_reg_type_name(tbms_reg_type_t type)
{
    switch (type) {
    case TBMS_REG_UINT16:
        return "UINT16";
    case TBMS_REG_INT16:
        return "INT16";
    case TBMS_REG_UINT32:
        return "UINT32";
    case TBMS_REG_FLOAT:
        return "FLOAT";
    case TBMS_REG_2XUINT8:
        return "2xUINT8";
    case TBMS_REG_2XINT8:
        return "2xINT8";
    case TBMS_REG_UINT8_LOW:
        return "UINT8";
    case TBMS_REG_BITFIELD:
        return "BITFIELD";
    case TBMS_REG_ENUM:
        return "ENUM";
    case TBMS_REG_EVENT:
        return "EVENT";
    case TBMS_REG_BYTES:
        return "BYTES";
    case TBMS_REG_TYPE_COUNT_:
    default:
        return "?";
    }
}

/* Type and documented-range check of one raw value; TBMS_OK or RANGE. */
static tbms_err_t check_range(const tbms_reg_t *e, uint32_t raw)
{
    if (e->words == 1u && raw > 0xFFFFu) {
        return TBMS_ERR_RANGE;
    }
    int32_t v;
    switch ((tbms_reg_type_t)e->type) {
    case TBMS_REG_INT16:
        v = (raw & 0x8000u) ? (int32_t)raw - 0x10000 : (int32_t)raw;
        break;
    case TBMS_REG_UINT8_LOW:
        if ((raw >> 8) != 0u) {
            return TBMS_ERR_RANGE; /* reserved high byte */
        }
        v = (int32_t)raw;
        if (e->address == 337u && raw == REG337_UNDEFINED_CODE) {
            return TBMS_ERR_RANGE;
        }
        break;
    case TBMS_REG_2XUINT8:
        if ((raw >> 8) > REG330_DOC_TIMEOUT_MAX_S) {
            return TBMS_ERR_RANGE;
        }
        v = (int32_t)(raw & 0xFFu);
        break;
    default:
        if (raw > (uint32_t)INT32_MAX) {
            return TBMS_ERR_RANGE;
        }
        v = (int32_t)raw;
        break;
    }
    if ((e->flags & TBMS_REG_F_RANGE) != 0u && (v < e->min || v > e->max)) {
        return TBMS_ERR_RANGE;
    }
    return TBMS_OK;
}

/* Interlocks of tinybms-uart.md 5.4 (MAN-D tables 4.4/4.5). */
static tbms_err_t check_interlock(uint16_t addr, int32_t v, const tbms_settings_t *cur)
{
    const int32_t m = INTERLOCK_MARGIN_MV;
    bool ok = true;
    switch (addr) {
    case 316u: /* UV <= fully discharged - 10 */
        ok = v <= (int32_t)cur->fully_discharged_mv - m;
        break;
    case 301u: /* UV + 10 <= fully discharged <= fully charged - 10 */
        ok = v >= (int32_t)cur->under_voltage_mv + m && v <= (int32_t)cur->fully_charged_mv - m;
        break;
    case 300u: /* fully discharged + 10 <= fully charged <= OV - 10 */
        ok = v >= (int32_t)cur->fully_discharged_mv + m && v <= (int32_t)cur->over_voltage_mv - m;
        break;
    case 315u: /* OV >= fully charged + 10 */
        ok = v >= (int32_t)cur->fully_charged_mv + m;
        break;
    case 305u: /* peak discharge > discharge OC */
        ok = v > (int32_t)cur->discharge_oc_a;
        break;
    case 317u: /* discharge OC < peak, unless the firmware has no 305 */
        ok = cur->peak_discharge_a == 0u || v < (int32_t)cur->peak_discharge_a;
        break;
    default:
        break;
    }
    return ok ? TBMS_OK : TBMS_ERR_INTERLOCK;
}

tbms_err_t tbms_reg_check_write(uint16_t addr, uint32_t raw, const tbms_settings_t *current)
{
    const tbms_reg_t *e = tbms_reg_find(addr);
    if (e == NULL) {
        return TBMS_ERR_RANGE;
    }
    if (e->access != (uint8_t)TBMS_REG_RW) {
        return TBMS_ERR_READ_ONLY;
    }
    if (addr != e->address) {
        return TBMS_ERR_RANGE; /* second word of 312-313 */
    }
    tbms_err_t err = check_range(e, raw);
    if (err != TBMS_OK) {
        return err;
    }
    if ((e->flags & TBMS_REG_F_INTERLOCK) == 0u) {
        return TBMS_OK;
    }
    if (current == NULL) {
        return TBMS_ERR_ARG;
    }
    /* Interlocked registers are all UINT16: raw <= 0xFFFF here. */
    return check_interlock(addr, (int32_t)raw, current);
}
