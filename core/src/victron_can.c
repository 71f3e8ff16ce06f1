/*
 * victron_can.c - Victron CAN-bus BMS frames except 0x35A
 * (victron_alarms.c). Byte layouts are drawn in victron_can.h; spec
 * references are to /work/shared/spec/victron-can-bms.md.
 *
 * All arithmetic is integer (the core also builds for an RV32IMC without
 * FPU). Intermediate results use int64_t so that no input, however far out
 * of range, can overflow before it is saturated.
 */
#include "victron_can.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "wire.h"

/* Wire scales (A.2). */
#define MV_PER_DV        100  /* 0x351 CVL/DVL: 0.1 V */
#define MV_PER_CV        10   /* 0x356 voltage: 0.01 V */
#define WH_PER_STEP      100  /* 0x378: 100 Wh */
#define DC_PER_K         10   /* 0.1 degC per kelvin step */
#define KELVIN_OFFSET_DC 2730 /* 0x373: K = degC + 273 (A.2, A.9 item 5) */

/* Physical ranges the encoders enforce beyond the wire type (A.2). */
#define SOC_MAX_PCT        100
#define SOC_HIRES_MAX_CPCT 10000

/* Minimum DLC a decoder needs: every field it returns present. These equal
 * A.1's checker minimums except 0x373, where A.1 accepts 2 but all four
 * fields are returned. */
#define DLC_LIMITS    8u
#define DLC_SOC       4u
#define DLC_SOC_HIRES 6u
#define DLC_BATTERY   6u
#define DLC_IDENTITY  6u
#define DLC_MODULES   8u
#define DLC_CELLS     8u
#define DLC_ENERGY    8u
#define DLC_CAPACITY  2u

/* 0x307: "VIC" at bytes 4-6 (A.5, BYD capture `12 34 56 78 56 49 43 00`). */
#define HANDSHAKE_VIC_POS 4u

/* ------------------------------------------------------------------------
 * Saturating conversions
 * ------------------------------------------------------------------------ */

static int64_t clamp_i64(int64_t v, int64_t lo, int64_t hi)
{
    if (v < lo) {
        return lo;
    }
    if (v > hi) {
        return hi;
    }
    return v;
}

/* v / div rounded to nearest, a half up; v >= 0, div > 0. */
static int64_t div_round(int64_t v, int64_t div)
{
    int64_t q = v / div;
    if ((v % div) * 2 >= div) {
        q++;
    }
    return q;
}

/* Physical value -> un16 wire value: negatives give 0, then scale with
 * rounding, then saturate to 0xFFFF. */
static uint16_t to_u16(int64_t v, int64_t div, int64_t max)
{
    if (v < 0) {
        return 0u;
    }
    return (uint16_t)clamp_i64(div_round(v, div), 0, max);
}

/* Like to_u16, but rounded down (ceil: up): a limit that moves toward
 * safety, never past the computed value (CVL down, DVL up). */
static uint16_t to_u16_dir(int64_t v, int64_t div, int64_t max, bool ceil)
{
    if (v < 0) {
        return 0u;
    }
    int64_t q = v / div + (ceil && v % div != 0 ? 1 : 0);
    return (uint16_t)clamp_i64(q, 0, max);
}

/* Already in wire units, signed field: saturate to the sn16 range and
 * return its two's-complement bit pattern. */
static uint16_t to_s16_bits(int64_t v)
{
    int64_t c = clamp_i64(v, INT16_MIN, INT16_MAX);
    return (uint16_t)(c < 0 ? c + 0x10000 : c);
}

/* sn16 bit pattern -> value, without relying on implementation-defined
 * narrowing to int16_t. */
static int32_t from_s16_bits(uint16_t bits)
{
    return bits >= 0x8000u ? (int32_t)bits - 0x10000 : (int32_t)bits;
}

/* ------------------------------------------------------------------------
 * Frame helpers
 * ------------------------------------------------------------------------ */

/* Checks a received frame for decoder `id` needing `min_dlc` bytes. */
static vcan_err_t check_rx(const vcan_frame_t *in, const void *out, uint16_t id, uint8_t min_dlc)
{
    if (in == NULL || out == NULL) {
        return VCAN_ERR_ARG;
    }
    if (in->id != id) {
        return VCAN_ERR_ID;
    }
    if (in->dlc > VCAN_DLC_MAX || in->dlc < min_dlc) {
        return VCAN_ERR_DLC;
    }
    return VCAN_OK;
}

/* A zeroed DLC 8 frame: every encoder starts here (A.1: BYD pads to 8). */
static vcan_frame_t blank_frame(uint16_t id)
{
    vcan_frame_t f;
    memset(&f, 0, sizeof f);
    f.id = id;
    f.dlc = VCAN_DLC_MAX;
    return f;
}

/* ------------------------------------------------------------------------
 * Errors
 * ------------------------------------------------------------------------ */

const char *vcan_strerror(vcan_err_t err)
{
    switch (err) {
    case VCAN_OK:
        return "ok";
    case VCAN_ERR_ARG:
        return "invalid argument";
    case VCAN_ERR_ID:
        return "wrong or unknown CAN id";
    case VCAN_ERR_DLC:
        return "DLC above 8 or too short for the frame's fields";
    case VCAN_ERR_COUNT_:
        break;
    }
    return "unknown error";
}

/* ------------------------------------------------------------------------
 * 0x351 limits
 * ------------------------------------------------------------------------ */

vcan_err_t vcan_encode_limits(const vcan_limits_t *in, vcan_frame_t *out)
{
    if (in == NULL || out == NULL) {
        return VCAN_ERR_ARG;
    }
    vcan_frame_t f = blank_frame(VCAN_ID_LIMITS);
    wire_writer_t w = wire_writer(f.data, sizeof f.data);
    /* Toward safety: CVL rounded down, DVL up, so the wire never allows
     * more than the computed limit. */
    (void)wire_put_u16le(&w, to_u16_dir(in->cvl_mv, MV_PER_DV, UINT16_MAX, false));
    /* CCL/DCL are sn16 but must be >= 0 for Victron (A.2). */
    (void)wire_put_u16le(&w, to_u16(in->ccl_da, 1, INT16_MAX));
    (void)wire_put_u16le(&w, to_u16(in->dcl_da, 1, INT16_MAX));
    (void)wire_put_u16le(&w, to_u16_dir(in->dvl_mv, MV_PER_DV, UINT16_MAX, true));
    *out = f;
    return VCAN_OK;
}

vcan_err_t vcan_decode_limits(const vcan_frame_t *in, vcan_limits_t *out)
{
    vcan_err_t err = check_rx(in, out, VCAN_ID_LIMITS, DLC_LIMITS);
    if (err != VCAN_OK) {
        return err;
    }
    wire_reader_t r = wire_reader(in->data, in->dlc);
    vcan_limits_t v;
    v.cvl_mv = (int32_t)wire_u16le(&r) * MV_PER_DV;
    v.ccl_da = from_s16_bits(wire_u16le(&r));
    v.dcl_da = from_s16_bits(wire_u16le(&r));
    v.dvl_mv = (int32_t)wire_u16le(&r) * MV_PER_DV;
    *out = v;
    return VCAN_OK;
}

/* ------------------------------------------------------------------------
 * 0x355 SOC / SOH
 * ------------------------------------------------------------------------ */

vcan_err_t vcan_encode_soc(const vcan_soc_t *in, vcan_frame_t *out)
{
    if (in == NULL || out == NULL) {
        return VCAN_ERR_ARG;
    }
    vcan_frame_t f = blank_frame(VCAN_ID_SOC);
    wire_writer_t w = wire_writer(f.data, sizeof f.data);
    (void)wire_put_u16le(&w, to_u16(in->soc_pct, 1, SOC_MAX_PCT));
    (void)wire_put_u16le(&w, to_u16(in->soh_pct, 1, SOC_MAX_PCT));
    /* Absent hi-res SOC is sent as 0, as BYD does (A.2). */
    (void)wire_put_u16le(
        &w, in->soc_hires_present ? to_u16(in->soc_hires_cpct, 1, SOC_HIRES_MAX_CPCT) : 0u);
    *out = f;
    return VCAN_OK;
}

vcan_err_t vcan_decode_soc(const vcan_frame_t *in, vcan_soc_t *out)
{
    vcan_err_t err = check_rx(in, out, VCAN_ID_SOC, DLC_SOC);
    if (err != VCAN_OK) {
        return err;
    }
    wire_reader_t r = wire_reader(in->data, in->dlc);
    vcan_soc_t v;
    v.soc_pct = wire_u16le(&r);
    v.soh_pct = wire_u16le(&r);
    v.soc_hires_cpct = 0;
    v.soc_hires_present = false;
    if (in->dlc >= DLC_SOC_HIRES) {
        /* 0 means "not sent": BYD pads with zeros (A.2). */
        v.soc_hires_cpct = wire_u16le(&r);
        v.soc_hires_present = v.soc_hires_cpct != 0;
    }
    *out = v;
    return VCAN_OK;
}

/* ------------------------------------------------------------------------
 * 0x356 voltage / current / temperature
 * ------------------------------------------------------------------------ */

vcan_err_t vcan_encode_battery(const vcan_battery_t *in, vcan_frame_t *out)
{
    if (in == NULL || out == NULL) {
        return VCAN_ERR_ARG;
    }
    vcan_frame_t f = blank_frame(VCAN_ID_BATTERY);
    wire_writer_t w = wire_writer(f.data, sizeof f.data);
    /* sn16 in SMA's table, read unsigned by others (A.2): keep to 0..32767,
     * where both readings agree. */
    (void)wire_put_u16le(&w, to_u16(in->voltage_mv, MV_PER_CV, INT16_MAX));
    (void)wire_put_u16le(&w, to_s16_bits(in->current_da));
    (void)wire_put_u16le(&w, to_s16_bits(in->temp_dc));
    *out = f;
    return VCAN_OK;
}

vcan_err_t vcan_decode_battery(const vcan_frame_t *in, vcan_battery_t *out)
{
    vcan_err_t err = check_rx(in, out, VCAN_ID_BATTERY, DLC_BATTERY);
    if (err != VCAN_OK) {
        return err;
    }
    wire_reader_t r = wire_reader(in->data, in->dlc);
    vcan_battery_t v;
    v.voltage_mv = from_s16_bits(wire_u16le(&r)) * MV_PER_CV;
    v.current_da = from_s16_bits(wire_u16le(&r));
    v.temp_dc = from_s16_bits(wire_u16le(&r));
    *out = v;
    return VCAN_OK;
}

/* ------------------------------------------------------------------------
 * 0x35F identity
 * ------------------------------------------------------------------------ */

vcan_err_t vcan_encode_identity(const vcan_identity_t *in, vcan_frame_t *out)
{
    if (in == NULL || out == NULL) {
        return VCAN_ERR_ARG;
    }
    vcan_frame_t f = blank_frame(VCAN_ID_IDENTITY);
    wire_writer_t w = wire_writer(f.data, sizeof f.data);
    (void)wire_put_u16le(&w, in->model);
    (void)wire_put_u8(&w, in->fw_major);
    (void)wire_put_u8(&w, in->fw_minor);
    (void)wire_put_u16le(&w, to_u16(in->capacity_ah, 1, UINT16_MAX));
    *out = f;
    return VCAN_OK;
}

vcan_err_t vcan_decode_identity(const vcan_frame_t *in, vcan_identity_t *out)
{
    vcan_err_t err = check_rx(in, out, VCAN_ID_IDENTITY, DLC_IDENTITY);
    if (err != VCAN_OK) {
        return err;
    }
    wire_reader_t r = wire_reader(in->data, in->dlc);
    vcan_identity_t v;
    v.model = wire_u16le(&r);
    v.fw_major = wire_u8(&r);
    v.fw_minor = wire_u8(&r);
    v.capacity_ah = wire_u16le(&r);
    *out = v;
    return VCAN_OK;
}

/* ------------------------------------------------------------------------
 * 0x372 module counts
 * ------------------------------------------------------------------------ */

vcan_err_t vcan_encode_modules(const vcan_modules_t *in, vcan_frame_t *out)
{
    if (in == NULL || out == NULL) {
        return VCAN_ERR_ARG;
    }
    vcan_frame_t f = blank_frame(VCAN_ID_MODULES);
    wire_writer_t w = wire_writer(f.data, sizeof f.data);
    (void)wire_put_u16le(&w, to_u16(in->online, 1, UINT16_MAX));
    (void)wire_put_u16le(&w, to_u16(in->blocking_charge, 1, UINT16_MAX));
    (void)wire_put_u16le(&w, to_u16(in->blocking_discharge, 1, UINT16_MAX));
    (void)wire_put_u16le(&w, to_u16(in->offline, 1, UINT16_MAX));
    *out = f;
    return VCAN_OK;
}

vcan_err_t vcan_decode_modules(const vcan_frame_t *in, vcan_modules_t *out)
{
    vcan_err_t err = check_rx(in, out, VCAN_ID_MODULES, DLC_MODULES);
    if (err != VCAN_OK) {
        return err;
    }
    wire_reader_t r = wire_reader(in->data, in->dlc);
    vcan_modules_t v;
    v.online = wire_u16le(&r);
    v.blocking_charge = wire_u16le(&r);
    v.blocking_discharge = wire_u16le(&r);
    v.offline = wire_u16le(&r);
    *out = v;
    return VCAN_OK;
}

/* ------------------------------------------------------------------------
 * 0x373 cell extremes
 * ------------------------------------------------------------------------ */

/* 0.1 degC -> whole kelvin, rounded in kelvin (never negative there), so
 * that every degC rounds the same way around 0 degC. */
static uint16_t dc_to_kelvin(int32_t temp_dc)
{
    return to_u16((int64_t)temp_dc + KELVIN_OFFSET_DC, DC_PER_K, UINT16_MAX);
}

static int32_t kelvin_to_dc(uint16_t k)
{
    return (int32_t)k * DC_PER_K - KELVIN_OFFSET_DC;
}

vcan_err_t vcan_encode_cells(const vcan_cells_t *in, vcan_frame_t *out)
{
    if (in == NULL || out == NULL) {
        return VCAN_ERR_ARG;
    }
    vcan_frame_t f = blank_frame(VCAN_ID_CELLS);
    wire_writer_t w = wire_writer(f.data, sizeof f.data);
    (void)wire_put_u16le(&w, to_u16(in->min_cell_mv, 1, UINT16_MAX));
    (void)wire_put_u16le(&w, to_u16(in->max_cell_mv, 1, UINT16_MAX));
    (void)wire_put_u16le(&w, dc_to_kelvin(in->min_temp_dc));
    (void)wire_put_u16le(&w, dc_to_kelvin(in->max_temp_dc));
    *out = f;
    return VCAN_OK;
}

vcan_err_t vcan_decode_cells(const vcan_frame_t *in, vcan_cells_t *out)
{
    vcan_err_t err = check_rx(in, out, VCAN_ID_CELLS, DLC_CELLS);
    if (err != VCAN_OK) {
        return err;
    }
    wire_reader_t r = wire_reader(in->data, in->dlc);
    vcan_cells_t v;
    v.min_cell_mv = wire_u16le(&r);
    v.max_cell_mv = wire_u16le(&r);
    v.min_temp_dc = kelvin_to_dc(wire_u16le(&r));
    v.max_temp_dc = kelvin_to_dc(wire_u16le(&r));
    *out = v;
    return VCAN_OK;
}

/* ------------------------------------------------------------------------
 * 0x378 energy
 * ------------------------------------------------------------------------ */

static uint32_t wh_to_steps(int64_t wh)
{
    if (wh < 0) {
        return 0u;
    }
    return (uint32_t)clamp_i64(div_round(wh, WH_PER_STEP), 0, UINT32_MAX);
}

vcan_err_t vcan_encode_energy(const vcan_energy_t *in, vcan_frame_t *out)
{
    if (in == NULL || out == NULL) {
        return VCAN_ERR_ARG;
    }
    vcan_frame_t f = blank_frame(VCAN_ID_ENERGY);
    wire_writer_t w = wire_writer(f.data, sizeof f.data);
    (void)wire_put_u32le(&w, wh_to_steps(in->charged_wh));
    (void)wire_put_u32le(&w, wh_to_steps(in->discharged_wh));
    *out = f;
    return VCAN_OK;
}

vcan_err_t vcan_decode_energy(const vcan_frame_t *in, vcan_energy_t *out)
{
    vcan_err_t err = check_rx(in, out, VCAN_ID_ENERGY, DLC_ENERGY);
    if (err != VCAN_OK) {
        return err;
    }
    wire_reader_t r = wire_reader(in->data, in->dlc);
    vcan_energy_t v;
    v.charged_wh = (int64_t)wire_u32le(&r) * WH_PER_STEP;
    v.discharged_wh = (int64_t)wire_u32le(&r) * WH_PER_STEP;
    *out = v;
    return VCAN_OK;
}

/* ------------------------------------------------------------------------
 * 0x379 installed capacity
 * ------------------------------------------------------------------------ */

vcan_err_t vcan_encode_capacity(const vcan_capacity_t *in, vcan_frame_t *out)
{
    if (in == NULL || out == NULL) {
        return VCAN_ERR_ARG;
    }
    vcan_frame_t f = blank_frame(VCAN_ID_CAPACITY);
    wire_writer_t w = wire_writer(f.data, sizeof f.data);
    (void)wire_put_u16le(&w, to_u16(in->capacity_ah, 1, UINT16_MAX));
    *out = f;
    return VCAN_OK;
}

vcan_err_t vcan_decode_capacity(const vcan_frame_t *in, vcan_capacity_t *out)
{
    vcan_err_t err = check_rx(in, out, VCAN_ID_CAPACITY, DLC_CAPACITY);
    if (err != VCAN_OK) {
        return err;
    }
    wire_reader_t r = wire_reader(in->data, in->dlc);
    vcan_capacity_t v;
    v.capacity_ah = wire_u16le(&r);
    *out = v;
    return VCAN_OK;
}

/* ------------------------------------------------------------------------
 * ASCII frames
 * ------------------------------------------------------------------------ */

static char printable(uint8_t c)
{
    if (c < 0x20u || c > 0x7Eu) {
        return VCAN_TEXT_REPLACEMENT;
    }
    return (char)c;
}

bool vcan_is_text_id(uint16_t id)
{
    switch (id) {
    case VCAN_ID_MANUFACTURER:
    case VCAN_ID_NAME_1:
    case VCAN_ID_NAME_2:
    case VCAN_ID_MIN_CELL_V_NAME:
    case VCAN_ID_MAX_CELL_V_NAME:
    case VCAN_ID_MIN_TEMP_NAME:
    case VCAN_ID_MAX_TEMP_NAME:
    case VCAN_ID_FAMILY:
        return true;
    default:
        return false;
    }
}

/* Writes up to 8 chars of `text` (never reading past its NUL) into a frame;
 * returns how many chars it read. */
static size_t put_text(vcan_frame_t *f, const char *text)
{
    wire_writer_t w = wire_writer(f->data, sizeof f->data);
    size_t n = 0;
    while (n < VCAN_TEXT_MAX && text[n] != '\0') {
        (void)wire_put_u8(&w, (uint8_t)printable((uint8_t)text[n]));
        n++;
    }
    return n;
}

vcan_err_t vcan_encode_text(uint16_t id, const char *text, vcan_frame_t *out)
{
    if (text == NULL || out == NULL) {
        return VCAN_ERR_ARG;
    }
    if (!vcan_is_text_id(id)) {
        return VCAN_ERR_ID;
    }
    vcan_frame_t f = blank_frame(id);
    (void)put_text(&f, text);
    *out = f;
    return VCAN_OK;
}

/* Copies the string of a checked text frame into dst (room for 9 bytes);
 * returns its length. */
static size_t get_text(const vcan_frame_t *f, char *dst)
{
    wire_reader_t r = wire_reader(f->data, f->dlc);
    size_t n = 0;
    while (wire_remaining(&r) > 0u) {
        uint8_t c = wire_u8(&r);
        if (c == 0u) {
            break;
        }
        dst[n++] = printable(c);
    }
    dst[n] = '\0';
    return n;
}

vcan_err_t vcan_decode_text(const vcan_frame_t *in, vcan_text_t *out)
{
    if (in == NULL || out == NULL) {
        return VCAN_ERR_ARG;
    }
    if (!vcan_is_text_id(in->id)) {
        return VCAN_ERR_ID;
    }
    if (in->dlc > VCAN_DLC_MAX) {
        return VCAN_ERR_DLC;
    }
    vcan_text_t v;
    memset(&v, 0, sizeof v);
    (void)get_text(in, v.text);
    *out = v;
    return VCAN_OK;
}

vcan_err_t vcan_encode_name(const char *name, vcan_frame_t *part1, vcan_frame_t *part2)
{
    if (name == NULL || part1 == NULL || part2 == NULL) {
        return VCAN_ERR_ARG;
    }
    vcan_frame_t f1 = blank_frame(VCAN_ID_NAME_1);
    vcan_frame_t f2 = blank_frame(VCAN_ID_NAME_2);
    if (put_text(&f1, name) == VCAN_TEXT_MAX) {
        (void)put_text(&f2, name + VCAN_TEXT_MAX);
    }
    *part1 = f1;
    *part2 = f2;
    return VCAN_OK;
}

vcan_err_t vcan_decode_name(const vcan_frame_t *part1, const vcan_frame_t *part2, vcan_name_t *out)
{
    vcan_err_t err = check_rx(part1, out, VCAN_ID_NAME_1, 0u);
    if (err == VCAN_OK) {
        err = check_rx(part2, out, VCAN_ID_NAME_2, 0u);
    }
    if (err != VCAN_OK) {
        return err;
    }
    vcan_name_t v;
    memset(&v, 0, sizeof v);
    size_t n = get_text(part1, v.name);
    if (n == VCAN_TEXT_MAX) {
        (void)get_text(part2, v.name + VCAN_TEXT_MAX);
    }
    *out = v;
    return VCAN_OK;
}

/* ------------------------------------------------------------------------
 * GX -> BMS, decode only (A.5)
 * ------------------------------------------------------------------------ */

vcan_err_t vcan_decode_keepalive(const vcan_frame_t *in, vcan_keepalive_t *out)
{
    vcan_err_t err = check_rx(in, out, VCAN_ID_KEEPALIVE, 0u);
    if (err != VCAN_OK) {
        return err;
    }
    vcan_keepalive_t v;
    memset(&v, 0, sizeof v);
    v.dlc = in->dlc;
    wire_reader_t r = wire_reader(in->data, in->dlc);
    wire_bytes(&r, v.data, in->dlc);
    *out = v;
    return VCAN_OK;
}

vcan_err_t vcan_decode_handshake(const vcan_frame_t *in, vcan_handshake_t *out)
{
    vcan_err_t err = check_rx(in, out, VCAN_ID_HANDSHAKE, 0u);
    if (err != VCAN_OK) {
        return err;
    }
    vcan_handshake_t v;
    memset(&v, 0, sizeof v);
    v.dlc = in->dlc;
    wire_reader_t r = wire_reader(in->data, in->dlc);
    wire_bytes(&r, v.data, in->dlc);
    v.is_victron = in->dlc >= HANDSHAKE_VIC_POS + 3u && v.data[HANDSHAKE_VIC_POS] == 'V' &&
                   v.data[HANDSHAKE_VIC_POS + 1u] == 'I' && v.data[HANDSHAKE_VIC_POS + 2u] == 'C';
    *out = v;
    return VCAN_OK;
}

/* ------------------------------------------------------------------------
 * Generic decoder
 * ------------------------------------------------------------------------ */

vcan_err_t vcan_decode(const vcan_frame_t *in, vcan_decoded_t *out)
{
    if (in == NULL || out == NULL) {
        return VCAN_ERR_ARG;
    }
    vcan_decoded_t d;
    memset(&d, 0, sizeof d);
    d.id = in->id;
    vcan_err_t err;
    switch (in->id) {
    case VCAN_ID_LIMITS:
        err = vcan_decode_limits(in, &d.limits);
        break;
    case VCAN_ID_SOC:
        err = vcan_decode_soc(in, &d.soc);
        break;
    case VCAN_ID_BATTERY:
        err = vcan_decode_battery(in, &d.battery);
        break;
    case VCAN_ID_ALARMS:
        err = vcan_decode_alarms(in, &d.alarms);
        break;
    case VCAN_ID_IDENTITY:
        err = vcan_decode_identity(in, &d.identity);
        break;
    case VCAN_ID_MODULES:
        err = vcan_decode_modules(in, &d.modules);
        break;
    case VCAN_ID_CELLS:
        err = vcan_decode_cells(in, &d.cells);
        break;
    case VCAN_ID_ENERGY:
        err = vcan_decode_energy(in, &d.energy);
        break;
    case VCAN_ID_CAPACITY:
        err = vcan_decode_capacity(in, &d.capacity);
        break;
    case VCAN_ID_KEEPALIVE:
        err = vcan_decode_keepalive(in, &d.keepalive);
        break;
    case VCAN_ID_HANDSHAKE:
        err = vcan_decode_handshake(in, &d.handshake);
        break;
    default:
        err = vcan_is_text_id(in->id) ? vcan_decode_text(in, &d.text) : VCAN_ERR_ID;
        break;
    }
    if (err == VCAN_OK) {
        *out = d;
    }
    return err;
}
