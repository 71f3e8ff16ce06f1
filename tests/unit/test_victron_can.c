/*
 * test_victron_can.c - black-box tests of victron_can.h (every frame except
 * 0x35A, which test_victron_alarms.c covers).
 *
 * Golden vectors: victron-can-bms.md section B (BYD LVS <-> Venus 3.00
 * capture, Pylontech comment vectors from diyBMS, the community 0x355
 * hi-res SOC example). Each must decode to the listed values and re-encode
 * to the same bytes; our encoders always send DLC 8, so a shorter capture
 * is compared against its zero-padded form (said so where it happens).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "victron_can.h"

/* ------------------------------------------------------------------------
 * Helpers
 * ------------------------------------------------------------------------ */

static vcan_frame_t mk(uint16_t id, size_t dlc, const uint8_t *bytes)
{
    vcan_frame_t f;
    memset(&f, 0, sizeof f);
    f.id = id;
    f.dlc = (uint8_t)dlc;
    memcpy(f.data, bytes, dlc <= 8 ? dlc : 8);
    return f;
}

/* FRAME(0x351, 0x48, 0x02, ...): a frame whose DLC is the number of bytes given. */
#define FRAME(id, ...)                                                                             \
    mk((id), sizeof((const uint8_t[]){__VA_ARGS__}), (const uint8_t[]){__VA_ARGS__})

/* Asserts id, DLC 8 and all 8 data bytes; `exp` lists the bytes, zero-padded. */
static void assert_frame(const vcan_frame_t *f, uint16_t id, const uint8_t exp[8])
{
    assert_int_equal(f->id, id);
    assert_int_equal(f->dlc, 8);
    assert_memory_equal(f->data, exp, 8);
}

#define EXPECT(f, id, ...) assert_frame((f), (id), (const uint8_t[8]){__VA_ARGS__})

/* A frame filled with a marker, to prove an output was left untouched. */
static vcan_frame_t marker_frame(void)
{
    vcan_frame_t f;
    memset(&f, 0x5A, sizeof f);
    return f;
}

static void assert_marker_frame(const vcan_frame_t *f)
{
    vcan_frame_t m = marker_frame();
    assert_memory_equal(f, &m, sizeof m);
}

/* ------------------------------------------------------------------------
 * 0x351 limits
 * ------------------------------------------------------------------------ */

static void test_victron_351_byd_vector_round_trips(void **state)
{
    (void)state;
    vcan_frame_t in = FRAME(0x351, 0x48, 0x02, 0x00, 0x05, 0x00, 0x05, 0xAE, 0x01);
    vcan_limits_t l;
    assert_int_equal(vcan_decode_limits(&in, &l), VCAN_OK);
    assert_int_equal(l.cvl_mv, 58400);
    assert_int_equal(l.ccl_da, 1280);
    assert_int_equal(l.dcl_da, 1280);
    assert_int_equal(l.dvl_mv, 43000);

    vcan_frame_t out;
    assert_int_equal(vcan_encode_limits(&l, &out), VCAN_OK);
    assert_memory_equal(&out, &in, sizeof in);
}

static void test_victron_351_pylontech_vector_round_trips(void **state)
{
    (void)state;
    vcan_frame_t in = FRAME(0x351, 0x14, 0x02, 0x74, 0x0E, 0x74, 0x0E, 0xCC, 0x01);
    vcan_limits_t l;
    assert_int_equal(vcan_decode_limits(&in, &l), VCAN_OK);
    assert_int_equal(l.cvl_mv, 53200);
    assert_int_equal(l.ccl_da, 3700);
    assert_int_equal(l.dcl_da, 3700);
    assert_int_equal(l.dvl_mv, 46000);

    vcan_frame_t out;
    assert_int_equal(vcan_encode_limits(&l, &out), VCAN_OK);
    assert_memory_equal(&out, &in, sizeof in);
}

static void test_victron_351_voltages_round_toward_safety_cvl_down_dvl_up(void **state)
{
    (void)state;
    vcan_frame_t out;
    vcan_limits_t l = {53299, 0, 0, 1};
    assert_int_equal(vcan_encode_limits(&l, &out), VCAN_OK);
    EXPECT(&out, 0x351, 0x14, 0x02, 0, 0, 0, 0, 0x01, 0x00); /* 532 (not 533), 1 */

    l.cvl_mv = 53300; /* exact values stay exact */
    l.dvl_mv = 100;
    assert_int_equal(vcan_encode_limits(&l, &out), VCAN_OK);
    EXPECT(&out, 0x351, 0x15, 0x02, 0, 0, 0, 0, 0x01, 0x00); /* 533, 1 */

    l.cvl_mv = 53250; /* nearest rounding would send 53.3 V: 50 mV above the limit */
    l.dvl_mv = 101;
    assert_int_equal(vcan_encode_limits(&l, &out), VCAN_OK);
    EXPECT(&out, 0x351, 0x14, 0x02, 0, 0, 0, 0, 0x02, 0x00); /* 532, 2 */
}

static void test_victron_351_voltages_saturate_at_both_ends(void **state)
{
    (void)state;
    vcan_frame_t out;
    vcan_limits_t l = {7000000, 0, 0, INT32_MAX}; /* 7000 V */
    assert_int_equal(vcan_encode_limits(&l, &out), VCAN_OK);
    EXPECT(&out, 0x351, 0xFF, 0xFF, 0, 0, 0, 0, 0xFF, 0xFF);

    l.cvl_mv = 6553599; /* rounds down to 65535, the last value that fits */
    l.dvl_mv = 6553501; /* rounds up to 65536: saturates */
    assert_int_equal(vcan_encode_limits(&l, &out), VCAN_OK);
    EXPECT(&out, 0x351, 0xFF, 0xFF, 0, 0, 0, 0, 0xFF, 0xFF);

    l.cvl_mv = -1;
    l.dvl_mv = INT32_MIN;
    assert_int_equal(vcan_encode_limits(&l, &out), VCAN_OK);
    EXPECT(&out, 0x351, 0, 0, 0, 0, 0, 0, 0, 0);
}

static void test_victron_351_currents_saturate_to_0_and_32767(void **state)
{
    (void)state;
    vcan_frame_t out;
    vcan_limits_t l = {0, -1, INT32_MIN, 0};
    assert_int_equal(vcan_encode_limits(&l, &out), VCAN_OK);
    EXPECT(&out, 0x351, 0, 0, 0x00, 0x00, 0x00, 0x00, 0, 0);

    l.ccl_da = 32768;
    l.dcl_da = INT32_MAX;
    assert_int_equal(vcan_encode_limits(&l, &out), VCAN_OK);
    EXPECT(&out, 0x351, 0, 0, 0xFF, 0x7F, 0xFF, 0x7F, 0, 0);

    l.ccl_da = 32767;
    l.dcl_da = 1;
    assert_int_equal(vcan_encode_limits(&l, &out), VCAN_OK);
    EXPECT(&out, 0x351, 0, 0, 0xFF, 0x7F, 0x01, 0x00, 0, 0);
}

static void test_victron_351_decodes_negative_pylon_dcl_signed(void **state)
{
    (void)state;
    /* diyBMS Pylon comment: DCL `9C FF` = -10.0 A (A.2). */
    vcan_frame_t in = FRAME(0x351, 0x14, 0x02, 0x74, 0x0E, 0x9C, 0xFF, 0xCC, 0x01);
    vcan_limits_t l;
    assert_int_equal(vcan_decode_limits(&in, &l), VCAN_OK);
    assert_int_equal(l.dcl_da, -100);

    /* Re-encoding never sends a negative DCL. */
    vcan_frame_t out;
    assert_int_equal(vcan_encode_limits(&l, &out), VCAN_OK);
    EXPECT(&out, 0x351, 0x14, 0x02, 0x74, 0x0E, 0x00, 0x00, 0xCC, 0x01);
}

static void test_victron_351_decodes_max_wire_values(void **state)
{
    (void)state;
    vcan_frame_t in = FRAME(0x351, 0xFF, 0xFF, 0xFF, 0x7F, 0x00, 0x80, 0xFF, 0xFF);
    vcan_limits_t l;
    assert_int_equal(vcan_decode_limits(&in, &l), VCAN_OK);
    assert_int_equal(l.cvl_mv, 6553500);
    assert_int_equal(l.ccl_da, 32767);
    assert_int_equal(l.dcl_da, -32768);
    assert_int_equal(l.dvl_mv, 6553500);
}

/* ------------------------------------------------------------------------
 * 0x355 SOC / SOH
 * ------------------------------------------------------------------------ */

static void test_victron_355_byd_vector_round_trips_without_hires(void **state)
{
    (void)state;
    vcan_frame_t in = FRAME(0x355, 0x43, 0x00, 0x64, 0x00, 0x00, 0x00, 0x00, 0x00);
    vcan_soc_t s;
    assert_int_equal(vcan_decode_soc(&in, &s), VCAN_OK);
    assert_int_equal(s.soc_pct, 67);
    assert_int_equal(s.soh_pct, 100);
    assert_false(s.soc_hires_present); /* BYD pads with 0: not a 0.00 % SOC */

    vcan_frame_t out;
    assert_int_equal(vcan_encode_soc(&s, &out), VCAN_OK);
    assert_memory_equal(&out, &in, sizeof in);
}

static void test_victron_355_pylontech_dlc4_decodes_and_reencodes_padded(void **state)
{
    (void)state;
    /* Captured with DLC 4; our encoder sends the DLC 8 zero-padded form. */
    vcan_frame_t in = FRAME(0x355, 0x1A, 0x00, 0x64, 0x00);
    vcan_soc_t s;
    assert_int_equal(vcan_decode_soc(&in, &s), VCAN_OK);
    assert_int_equal(s.soc_pct, 26);
    assert_int_equal(s.soh_pct, 100);
    assert_false(s.soc_hires_present);

    vcan_frame_t out;
    assert_int_equal(vcan_encode_soc(&s, &out), VCAN_OK);
    EXPECT(&out, 0x355, 0x1A, 0x00, 0x64, 0x00, 0, 0, 0, 0);
}

static void test_victron_355_community_hires_soc_round_trips(void **state)
{
    (void)state;
    /* S-COM t/37102 gives HiRes SOC 8044 (80.44 %) and SOH 95; the SOC byte
     * is not given, 80 % is assumed. Padded to DLC 8. */
    vcan_frame_t in = FRAME(0x355, 0x50, 0x00, 0x5F, 0x00, 0x6C, 0x1F, 0x00, 0x00);
    vcan_soc_t s;
    assert_int_equal(vcan_decode_soc(&in, &s), VCAN_OK);
    assert_int_equal(s.soc_pct, 80);
    assert_int_equal(s.soh_pct, 95);
    assert_true(s.soc_hires_present);
    assert_int_equal(s.soc_hires_cpct, 8044);

    vcan_frame_t out;
    assert_int_equal(vcan_encode_soc(&s, &out), VCAN_OK);
    assert_memory_equal(&out, &in, sizeof in);
}

static void test_victron_355_hires_needs_dlc_6(void **state)
{
    (void)state;
    vcan_soc_t s;
    vcan_frame_t dlc6 = FRAME(0x355, 0x50, 0x00, 0x5F, 0x00, 0x6C, 0x1F);
    assert_int_equal(vcan_decode_soc(&dlc6, &s), VCAN_OK);
    assert_true(s.soc_hires_present);
    assert_int_equal(s.soc_hires_cpct, 8044);

    vcan_frame_t dlc5 = FRAME(0x355, 0x50, 0x00, 0x5F, 0x00, 0x6C);
    assert_int_equal(vcan_decode_soc(&dlc5, &s), VCAN_OK);
    assert_false(s.soc_hires_present);
    assert_int_equal(s.soc_hires_cpct, 0);
    assert_int_equal(s.soh_pct, 95);
}

static void test_victron_355_absent_hires_is_sent_as_zero(void **state)
{
    (void)state;
    vcan_soc_t s = {50, 90, false, 5000};
    vcan_frame_t out;
    assert_int_equal(vcan_encode_soc(&s, &out), VCAN_OK);
    EXPECT(&out, 0x355, 50, 0, 90, 0, 0, 0, 0, 0);
}

static void test_victron_355_values_saturate_to_physical_range(void **state)
{
    (void)state;
    vcan_frame_t out;
    vcan_soc_t s = {-5, INT32_MIN, true, -1};
    assert_int_equal(vcan_encode_soc(&s, &out), VCAN_OK);
    EXPECT(&out, 0x355, 0, 0, 0, 0, 0, 0, 0, 0);

    s.soc_pct = 101;
    s.soh_pct = INT32_MAX;
    s.soc_hires_cpct = 10001;
    assert_int_equal(vcan_encode_soc(&s, &out), VCAN_OK);
    EXPECT(&out, 0x355, 100, 0, 100, 0, 0x10, 0x27, 0, 0);

    s.soc_pct = 100;
    s.soh_pct = 100;
    s.soc_hires_cpct = 10000;
    assert_int_equal(vcan_encode_soc(&s, &out), VCAN_OK);
    EXPECT(&out, 0x355, 100, 0, 100, 0, 0x10, 0x27, 0, 0);
}

static void test_victron_355_decoder_reports_out_of_range_wire_values_as_sent(void **state)
{
    (void)state;
    vcan_frame_t in = FRAME(0x355, 0xFF, 0xFF, 0x96, 0x00, 0xFF, 0xFF);
    vcan_soc_t s;
    assert_int_equal(vcan_decode_soc(&in, &s), VCAN_OK);
    assert_int_equal(s.soc_pct, 65535);
    assert_int_equal(s.soh_pct, 150);
    assert_int_equal(s.soc_hires_cpct, 65535);
}

/* ------------------------------------------------------------------------
 * 0x356 voltage / current / temperature
 * ------------------------------------------------------------------------ */

static void test_victron_356_byd_vector_round_trips(void **state)
{
    (void)state;
    vcan_frame_t in = FRAME(0x356, 0xBE, 0x14, 0xF9, 0xFF, 0x8C, 0x00, 0x00, 0x00);
    vcan_battery_t b;
    assert_int_equal(vcan_decode_battery(&in, &b), VCAN_OK);
    assert_int_equal(b.voltage_mv, 53100);
    assert_int_equal(b.current_da, -7); /* discharging */
    assert_int_equal(b.temp_dc, 140);

    vcan_frame_t out;
    assert_int_equal(vcan_encode_battery(&b, &out), VCAN_OK);
    assert_memory_equal(&out, &in, sizeof in);
}

static void test_victron_356_voltage_rounds_to_nearest_10_mv(void **state)
{
    (void)state;
    vcan_frame_t out;
    vcan_battery_t b = {53104, 0, 0};
    assert_int_equal(vcan_encode_battery(&b, &out), VCAN_OK);
    EXPECT(&out, 0x356, 0xBE, 0x14, 0, 0, 0, 0, 0, 0); /* 5310 */
    b.voltage_mv = 53105;
    assert_int_equal(vcan_encode_battery(&b, &out), VCAN_OK);
    EXPECT(&out, 0x356, 0xBF, 0x14, 0, 0, 0, 0, 0, 0); /* 5311 */
}

static void test_victron_356_voltage_saturates_to_0_and_327_67_v(void **state)
{
    (void)state;
    vcan_frame_t out;
    vcan_battery_t b = {-1, 0, 0};
    assert_int_equal(vcan_encode_battery(&b, &out), VCAN_OK);
    EXPECT(&out, 0x356, 0, 0, 0, 0, 0, 0, 0, 0);

    b.voltage_mv = 327675; /* rounds to 32768: past the signed field */
    assert_int_equal(vcan_encode_battery(&b, &out), VCAN_OK);
    EXPECT(&out, 0x356, 0xFF, 0x7F, 0, 0, 0, 0, 0, 0);

    b.voltage_mv = INT32_MAX;
    assert_int_equal(vcan_encode_battery(&b, &out), VCAN_OK);
    EXPECT(&out, 0x356, 0xFF, 0x7F, 0, 0, 0, 0, 0, 0);
}

static void test_victron_356_current_and_temperature_saturate_signed(void **state)
{
    (void)state;
    vcan_frame_t out;
    vcan_battery_t b = {0, INT32_MIN, -32769};
    assert_int_equal(vcan_encode_battery(&b, &out), VCAN_OK);
    EXPECT(&out, 0x356, 0, 0, 0x00, 0x80, 0x00, 0x80, 0, 0);

    b.current_da = INT32_MAX;
    b.temp_dc = 32768;
    assert_int_equal(vcan_encode_battery(&b, &out), VCAN_OK);
    EXPECT(&out, 0x356, 0, 0, 0xFF, 0x7F, 0xFF, 0x7F, 0, 0);

    b.current_da = -32768;
    b.temp_dc = -1;
    assert_int_equal(vcan_encode_battery(&b, &out), VCAN_OK);
    EXPECT(&out, 0x356, 0, 0, 0x00, 0x80, 0xFF, 0xFF, 0, 0);
}

static void test_victron_356_decodes_signed_fields(void **state)
{
    (void)state;
    vcan_frame_t in = FRAME(0x356, 0x00, 0x80, 0x00, 0x80, 0x38, 0xFF);
    vcan_battery_t b;
    assert_int_equal(vcan_decode_battery(&in, &b), VCAN_OK);
    assert_int_equal(b.voltage_mv, -327680);
    assert_int_equal(b.current_da, -32768);
    assert_int_equal(b.temp_dc, -200);
}

/* ------------------------------------------------------------------------
 * 0x35F identity
 * ------------------------------------------------------------------------ */

static void test_victron_35f_byd_vector_round_trips(void **state)
{
    (void)state;
    vcan_frame_t in = FRAME(0x35F, 0x4C, 0x69, 0x01, 0x17, 0x69, 0x00, 0x00, 0x00);
    vcan_identity_t id;
    assert_int_equal(vcan_decode_identity(&in, &id), VCAN_OK);
    assert_int_equal(id.model, 0x694C);
    assert_int_equal(id.fw_major, 1);
    assert_int_equal(id.fw_minor, 0x17); /* shown as "1.17" by BYD */
    assert_int_equal(id.capacity_ah, 105);

    vcan_frame_t out;
    assert_int_equal(vcan_encode_identity(&id, &out), VCAN_OK);
    assert_memory_equal(&out, &in, sizeof in);
}

static void test_victron_35f_capacity_saturates_at_both_ends(void **state)
{
    (void)state;
    vcan_frame_t out;
    vcan_identity_t id = {0xFFFF, 0xFF, 0xFF, -1};
    assert_int_equal(vcan_encode_identity(&id, &out), VCAN_OK);
    EXPECT(&out, 0x35F, 0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0, 0);
    id.capacity_ah = 65536;
    assert_int_equal(vcan_encode_identity(&id, &out), VCAN_OK);
    EXPECT(&out, 0x35F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0);
}

/* ------------------------------------------------------------------------
 * 0x372 modules
 * ------------------------------------------------------------------------ */

static void test_victron_372_byd_vectors_round_trip(void **state)
{
    (void)state;
    vcan_modules_t m;
    vcan_frame_t out;
    vcan_frame_t running = FRAME(0x372, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00);
    assert_int_equal(vcan_decode_modules(&running, &m), VCAN_OK);
    assert_int_equal(m.online, 2);
    assert_int_equal(m.blocking_charge, 0);
    assert_int_equal(m.blocking_discharge, 0);
    assert_int_equal(m.offline, 0);
    assert_int_equal(vcan_encode_modules(&m, &out), VCAN_OK);
    assert_memory_equal(&out, &running, sizeof running);

    vcan_frame_t power_up = FRAME(0x372, 0x02, 0x00, 0x02, 0x00, 0x01, 0x00, 0x00, 0x00);
    assert_int_equal(vcan_decode_modules(&power_up, &m), VCAN_OK);
    assert_int_equal(m.online, 2);
    assert_int_equal(m.blocking_charge, 2);
    assert_int_equal(m.blocking_discharge, 1);
    assert_int_equal(m.offline, 0);
    assert_int_equal(vcan_encode_modules(&m, &out), VCAN_OK);
    assert_memory_equal(&out, &power_up, sizeof power_up);
}

static void test_victron_372_counts_saturate_at_both_ends(void **state)
{
    (void)state;
    vcan_frame_t out;
    vcan_modules_t m = {-1, INT32_MIN, 65536, INT32_MAX};
    assert_int_equal(vcan_encode_modules(&m, &out), VCAN_OK);
    EXPECT(&out, 0x372, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF);
}

/* ------------------------------------------------------------------------
 * 0x373 cell extremes
 * ------------------------------------------------------------------------ */

static void test_victron_373_byd_vector_round_trips_with_offset_273(void **state)
{
    (void)state;
    vcan_frame_t in = FRAME(0x373, 0xEA, 0x0C, 0x01, 0x0D, 0x1F, 0x01, 0x22, 0x01);
    vcan_cells_t c;
    assert_int_equal(vcan_decode_cells(&in, &c), VCAN_OK);
    assert_int_equal(c.min_cell_mv, 3306);
    assert_int_equal(c.max_cell_mv, 3329);
    assert_int_equal(c.min_temp_dc, 140); /* 287 K = 14 degC */
    assert_int_equal(c.max_temp_dc, 170); /* 290 K = 17 degC */

    vcan_frame_t out;
    assert_int_equal(vcan_encode_cells(&c, &out), VCAN_OK);
    assert_memory_equal(&out, &in, sizeof in);
}

static void test_victron_373_temperature_rounds_to_nearest_kelvin(void **state)
{
    (void)state;
    vcan_frame_t out;
    vcan_cells_t c = {0, 0, 144, 145}; /* 287.4 K, 287.5 K */
    assert_int_equal(vcan_encode_cells(&c, &out), VCAN_OK);
    EXPECT(&out, 0x373, 0, 0, 0, 0, 0x1F, 0x01, 0x20, 0x01); /* 287, 288 */

    c.min_temp_dc = -26; /* 270.4 K */
    c.max_temp_dc = -25; /* 270.5 K */
    assert_int_equal(vcan_encode_cells(&c, &out), VCAN_OK);
    EXPECT(&out, 0x373, 0, 0, 0, 0, 0x0E, 0x01, 0x0F, 0x01); /* 270, 271 */
}

static void test_victron_373_negative_kelvin_saturates_to_0(void **state)
{
    (void)state;
    vcan_frame_t out;
    vcan_cells_t c = {0, 0, -2736, INT32_MIN}; /* -0.6 K, far below */
    assert_int_equal(vcan_encode_cells(&c, &out), VCAN_OK);
    EXPECT(&out, 0x373, 0, 0, 0, 0, 0, 0, 0, 0);

    c.min_temp_dc = -2735; /* -0.5 K rounds to 0 */
    c.max_temp_dc = -2725; /* 0.5 K rounds to 1 */
    assert_int_equal(vcan_encode_cells(&c, &out), VCAN_OK);
    EXPECT(&out, 0x373, 0, 0, 0, 0, 0, 0, 0x01, 0x00);
}

static void test_victron_373_high_values_saturate_to_0xffff(void **state)
{
    (void)state;
    vcan_frame_t out;
    vcan_cells_t c = {65536, INT32_MAX, 652620, INT32_MAX}; /* 65535 K exactly, far above */
    assert_int_equal(vcan_encode_cells(&c, &out), VCAN_OK);
    EXPECT(&out, 0x373, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF);

    c.min_cell_mv = -1;
    c.max_cell_mv = INT32_MIN;
    c.min_temp_dc = 652630; /* 65536 K */
    assert_int_equal(vcan_encode_cells(&c, &out), VCAN_OK);
    EXPECT(&out, 0x373, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF);
}

static void test_victron_373_decodes_0_kelvin_as_minus_273_degc(void **state)
{
    (void)state;
    vcan_frame_t in = FRAME(0x373, 0, 0, 0xFF, 0xFF, 0x00, 0x00, 0xFF, 0xFF);
    vcan_cells_t c;
    assert_int_equal(vcan_decode_cells(&in, &c), VCAN_OK);
    assert_int_equal(c.max_cell_mv, 65535);
    assert_int_equal(c.min_temp_dc, -2730);
    assert_int_equal(c.max_temp_dc, 652620);
}

/* ------------------------------------------------------------------------
 * 0x378 energy, 0x379 capacity
 * ------------------------------------------------------------------------ */

static void test_victron_378_byd_vector_round_trips(void **state)
{
    (void)state;
    vcan_frame_t in = FRAME(0x378, 0x40, 0x08, 0x00, 0x00, 0x2B, 0x07, 0x00, 0x00);
    vcan_energy_t e;
    assert_int_equal(vcan_decode_energy(&in, &e), VCAN_OK);
    assert_true(e.charged_wh == 211200);
    assert_true(e.discharged_wh == 183500);

    vcan_frame_t out;
    assert_int_equal(vcan_encode_energy(&e, &out), VCAN_OK);
    assert_memory_equal(&out, &in, sizeof in);
}

static void test_victron_378_energy_rounds_to_nearest_100_wh(void **state)
{
    (void)state;
    vcan_frame_t out;
    vcan_energy_t e = {149, 150};
    assert_int_equal(vcan_encode_energy(&e, &out), VCAN_OK);
    EXPECT(&out, 0x378, 1, 0, 0, 0, 2, 0, 0, 0);
    e.charged_wh = 49;
    e.discharged_wh = 50;
    assert_int_equal(vcan_encode_energy(&e, &out), VCAN_OK);
    EXPECT(&out, 0x378, 0, 0, 0, 0, 1, 0, 0, 0);
}

static void test_victron_378_energy_saturates_at_both_ends(void **state)
{
    (void)state;
    vcan_frame_t out;
    vcan_energy_t e = {-1, INT64_MIN};
    assert_int_equal(vcan_encode_energy(&e, &out), VCAN_OK);
    EXPECT(&out, 0x378, 0, 0, 0, 0, 0, 0, 0, 0);

    e.charged_wh = INT64_MAX;
    e.discharged_wh = 429496729550; /* rounds to 0x1_0000_0000 steps */
    assert_int_equal(vcan_encode_energy(&e, &out), VCAN_OK);
    EXPECT(&out, 0x378, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF);

    e.charged_wh = 429496729449; /* 0xFFFFFFFE.49 steps */
    e.discharged_wh = 429496729500;
    assert_int_equal(vcan_encode_energy(&e, &out), VCAN_OK);
    EXPECT(&out, 0x378, 0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF);
}

static void test_victron_378_decodes_max_counter(void **state)
{
    (void)state;
    vcan_frame_t in = FRAME(0x378, 0xFF, 0xFF, 0xFF, 0xFF, 0x01, 0x00, 0x00, 0x80);
    vcan_energy_t e;
    assert_int_equal(vcan_decode_energy(&in, &e), VCAN_OK);
    assert_true(e.charged_wh == 429496729500);
    assert_true(e.discharged_wh == (int64_t)0x80000001u * 100);
}

static void test_victron_379_byd_vector_round_trips(void **state)
{
    (void)state;
    /* The capture lists `9C 00 ...`; the elided bytes are BYD's zero padding. */
    vcan_frame_t in = FRAME(0x379, 0x9C, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00);
    vcan_capacity_t c;
    assert_int_equal(vcan_decode_capacity(&in, &c), VCAN_OK);
    assert_int_equal(c.capacity_ah, 156);

    vcan_frame_t out;
    assert_int_equal(vcan_encode_capacity(&c, &out), VCAN_OK);
    assert_memory_equal(&out, &in, sizeof in);

    vcan_frame_t dlc2 = FRAME(0x379, 0x9C, 0x00);
    assert_int_equal(vcan_decode_capacity(&dlc2, &c), VCAN_OK);
    assert_int_equal(c.capacity_ah, 156);
}

static void test_victron_379_capacity_saturates_at_both_ends(void **state)
{
    (void)state;
    vcan_frame_t out;
    vcan_capacity_t c = {-1};
    assert_int_equal(vcan_encode_capacity(&c, &out), VCAN_OK);
    EXPECT(&out, 0x379, 0, 0, 0, 0, 0, 0, 0, 0);
    c.capacity_ah = 65536;
    assert_int_equal(vcan_encode_capacity(&c, &out), VCAN_OK);
    EXPECT(&out, 0x379, 0xFF, 0xFF, 0, 0, 0, 0, 0, 0);
    c.capacity_ah = 65535;
    assert_int_equal(vcan_encode_capacity(&c, &out), VCAN_OK);
    EXPECT(&out, 0x379, 0xFF, 0xFF, 0, 0, 0, 0, 0, 0);
}

/* ------------------------------------------------------------------------
 * ASCII frames
 * ------------------------------------------------------------------------ */

static void test_victron_35e_byd_vector_round_trips(void **state)
{
    (void)state;
    vcan_frame_t in = FRAME(0x35E, 0x42, 0x59, 0x44, 0x00, 0x00, 0x00, 0x00, 0x00);
    vcan_text_t t;
    assert_int_equal(vcan_decode_text(&in, &t), VCAN_OK);
    assert_string_equal(t.text, "BYD");

    vcan_frame_t out;
    assert_int_equal(vcan_encode_text(VCAN_ID_MANUFACTURER, t.text, &out), VCAN_OK);
    assert_memory_equal(&out, &in, sizeof in);
}

static void test_victron_35e_pylontech_vector_keeps_trailing_spaces(void **state)
{
    (void)state;
    vcan_frame_t in = FRAME(0x35E, 0x50, 0x59, 0x4C, 0x4F, 0x4E, 0x20, 0x20, 0x20);
    vcan_text_t t;
    assert_int_equal(vcan_decode_text(&in, &t), VCAN_OK);
    assert_string_equal(t.text, "PYLON   ");

    vcan_frame_t out;
    assert_int_equal(vcan_encode_text(VCAN_ID_MANUFACTURER, t.text, &out), VCAN_OK);
    assert_memory_equal(&out, &in, sizeof in);
}

static void test_victron_374_to_377_byd_vectors_round_trip(void **state)
{
    (void)state;
    const struct {
        uint16_t id;
        uint8_t c;
        const char *s;
    } v[] = {{0x374, 0x32, "2"}, {0x375, 0x31, "1"}, {0x376, 0x32, "2"}, {0x377, 0x31, "1"}};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        /* The capture lists `32 00...`: zero padded to 8. */
        vcan_frame_t in = mk(v[i].id, 8, (const uint8_t[8]){v[i].c});
        vcan_text_t t;
        assert_int_equal(vcan_decode_text(&in, &t), VCAN_OK);
        assert_string_equal(t.text, v[i].s);
        vcan_frame_t out;
        assert_int_equal(vcan_encode_text(v[i].id, t.text, &out), VCAN_OK);
        assert_memory_equal(&out, &in, sizeof in);
    }
}

static void test_victron_382_byd_vector_round_trips(void **state)
{
    (void)state;
    vcan_frame_t in = FRAME(0x382, 0x50, 0x52, 0x45, 0x4D, 0x49, 0x55, 0x4D, 0x00);
    vcan_text_t t;
    assert_int_equal(vcan_decode_text(&in, &t), VCAN_OK);
    assert_string_equal(t.text, "PREMIUM");

    vcan_frame_t out;
    assert_int_equal(vcan_encode_text(VCAN_ID_FAMILY, t.text, &out), VCAN_OK);
    assert_memory_equal(&out, &in, sizeof in);
}

static void test_victron_text_longer_than_8_chars_is_truncated(void **state)
{
    (void)state;
    vcan_frame_t out;
    assert_int_equal(vcan_encode_text(VCAN_ID_MANUFACTURER, "TinyBMS-bridge", &out), VCAN_OK);
    EXPECT(&out, 0x35E, 'T', 'i', 'n', 'y', 'B', 'M', 'S', '-');
    vcan_text_t t;
    assert_int_equal(vcan_decode_text(&out, &t), VCAN_OK);
    assert_string_equal(t.text, "TinyBMS-");
}

static void test_victron_text_exactly_8_chars_fills_frame(void **state)
{
    (void)state;
    vcan_frame_t out;
    assert_int_equal(vcan_encode_text(VCAN_ID_FAMILY, "ABCDEFGH", &out), VCAN_OK);
    EXPECT(&out, 0x382, 'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H');
    vcan_text_t t;
    assert_int_equal(vcan_decode_text(&out, &t), VCAN_OK);
    assert_string_equal(t.text, "ABCDEFGH");
}

static void test_victron_text_empty_string_gives_zero_frame(void **state)
{
    (void)state;
    vcan_frame_t out;
    assert_int_equal(vcan_encode_text(VCAN_ID_MIN_TEMP_NAME, "", &out), VCAN_OK);
    EXPECT(&out, 0x376, 0, 0, 0, 0, 0, 0, 0, 0);
}

static void test_victron_text_encoder_replaces_non_printable_chars(void **state)
{
    (void)state;
    vcan_frame_t out;
    assert_int_equal(vcan_encode_text(VCAN_ID_MANUFACTURER, "A\tB\x7F\xC3\xA9~ ", &out), VCAN_OK);
    EXPECT(&out, 0x35E, 'A', '?', 'B', '?', '?', '?', '~', ' ');
}

static void test_victron_text_decoder_replaces_non_printable_bytes(void **state)
{
    (void)state;
    vcan_frame_t in = FRAME(0x382, 'O', 0x01, 'K', 0x80, 0xFF, 0x1F, 0x7F, '!');
    vcan_text_t t;
    assert_int_equal(vcan_decode_text(&in, &t), VCAN_OK);
    /* Spelled as chars: "??!" in a string literal is a C11 trigraph. */
    const char exp[] = {'O', '?', 'K', '?', '?', '?', '?', '!', '\0'};
    assert_string_equal(t.text, exp);
}

static void test_victron_text_decoder_stops_at_first_nul(void **state)
{
    (void)state;
    vcan_frame_t in = FRAME(0x35E, 'A', 'B', 0x00, 'C', 'D', 0x00, 0x00, 'E');
    vcan_text_t t;
    assert_int_equal(vcan_decode_text(&in, &t), VCAN_OK);
    assert_string_equal(t.text, "AB");
}

static void test_victron_text_decoder_stops_at_dlc(void **state)
{
    (void)state;
    vcan_frame_t in = FRAME(0x35E, 'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H');
    in.dlc = 3;
    vcan_text_t t;
    assert_int_equal(vcan_decode_text(&in, &t), VCAN_OK);
    assert_string_equal(t.text, "ABC");
    in.dlc = 0;
    assert_int_equal(vcan_decode_text(&in, &t), VCAN_OK);
    assert_string_equal(t.text, "");
}

static void test_victron_text_rejects_non_text_ids(void **state)
{
    (void)state;
    vcan_frame_t out = marker_frame();
    assert_int_equal(vcan_encode_text(VCAN_ID_LIMITS, "X", &out), VCAN_ERR_ID);
    assert_int_equal(vcan_encode_text(VCAN_ID_KEEPALIVE, "X", &out), VCAN_ERR_ID);
    assert_int_equal(vcan_encode_text(0x380, "X", &out), VCAN_ERR_ID);
    assert_marker_frame(&out);

    vcan_frame_t in = FRAME(0x351, 'A', 0);
    vcan_text_t t;
    assert_int_equal(vcan_decode_text(&in, &t), VCAN_ERR_ID);
}

static void test_victron_is_text_id_lists_the_ascii_frames(void **state)
{
    (void)state;
    const uint16_t text[] = {0x35E, 0x370, 0x371, 0x374, 0x375, 0x376, 0x377, 0x382};
    for (size_t i = 0; i < sizeof text / sizeof text[0]; i++) {
        assert_true(vcan_is_text_id(text[i]));
    }
    const uint16_t other[] = {0x305, 0x307, 0x351, 0x355, 0x356, 0x35A, 0x35F,
                              0x372, 0x373, 0x378, 0x379, 0x380, 0x381, 0x000};
    for (size_t i = 0; i < sizeof other / sizeof other[0]; i++) {
        assert_false(vcan_is_text_id(other[i]));
    }
}

static void test_victron_370_371_name_splits_16_chars(void **state)
{
    (void)state;
    vcan_frame_t p1, p2;
    assert_int_equal(vcan_encode_name("tinybms-bridge-1", &p1, &p2), VCAN_OK);
    EXPECT(&p1, 0x370, 't', 'i', 'n', 'y', 'b', 'm', 's', '-');
    EXPECT(&p2, 0x371, 'b', 'r', 'i', 'd', 'g', 'e', '-', '1');

    vcan_name_t n;
    assert_int_equal(vcan_decode_name(&p1, &p2, &n), VCAN_OK);
    assert_string_equal(n.name, "tinybms-bridge-1");
}

static void test_victron_370_371_name_longer_than_16_is_truncated(void **state)
{
    (void)state;
    vcan_frame_t p1, p2;
    assert_int_equal(vcan_encode_name("0123456789ABCDEFGHIJ", &p1, &p2), VCAN_OK);
    EXPECT(&p1, 0x370, '0', '1', '2', '3', '4', '5', '6', '7');
    EXPECT(&p2, 0x371, '8', '9', 'A', 'B', 'C', 'D', 'E', 'F');
    vcan_name_t n;
    assert_int_equal(vcan_decode_name(&p1, &p2, &n), VCAN_OK);
    assert_string_equal(n.name, "0123456789ABCDEF");
}

static void test_victron_370_371_short_name_leaves_371_zero(void **state)
{
    (void)state;
    vcan_frame_t p1, p2;
    assert_int_equal(vcan_encode_name("bms\x01", &p1, &p2), VCAN_OK);
    EXPECT(&p1, 0x370, 'b', 'm', 's', '?', 0, 0, 0, 0);
    EXPECT(&p2, 0x371, 0, 0, 0, 0, 0, 0, 0, 0);

    assert_int_equal(vcan_encode_name("12345678", &p1, &p2), VCAN_OK);
    EXPECT(&p1, 0x370, '1', '2', '3', '4', '5', '6', '7', '8');
    EXPECT(&p2, 0x371, 0, 0, 0, 0, 0, 0, 0, 0);

    vcan_name_t n;
    assert_int_equal(vcan_decode_name(&p1, &p2, &n), VCAN_OK);
    assert_string_equal(n.name, "12345678");
}

static void test_victron_370_371_decode_ignores_371_after_short_370(void **state)
{
    (void)state;
    vcan_frame_t p1 = FRAME(0x370, 'a', 'b', 0, 0, 0, 0, 0, 0);
    vcan_frame_t p2 = FRAME(0x371, 'z', 'z', 0, 0, 0, 0, 0, 0);
    vcan_name_t n;
    assert_int_equal(vcan_decode_name(&p1, &p2, &n), VCAN_OK);
    assert_string_equal(n.name, "ab");

    vcan_frame_t p1_short = FRAME(0x370, 'a', 'b', 'c', 'd', 'e', 'f', 'g');
    assert_int_equal(vcan_decode_name(&p1_short, &p2, &n), VCAN_OK);
    assert_string_equal(n.name, "abcdefg");
}

static void test_victron_370_371_decode_checks_ids_dlc_and_null(void **state)
{
    (void)state;
    vcan_frame_t p1 = FRAME(0x370, 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h');
    vcan_frame_t p2 = FRAME(0x371, 'i', 0);
    vcan_name_t n;
    memset(&n, 0x5A, sizeof n);
    assert_int_equal(vcan_decode_name(&p2, &p1, &n), VCAN_ERR_ID);
    assert_int_equal(vcan_decode_name(&p1, &p1, &n), VCAN_ERR_ID);
    vcan_frame_t bad = p2;
    bad.dlc = 9;
    assert_int_equal(vcan_decode_name(&p1, &bad, &n), VCAN_ERR_DLC);
    assert_int_equal(vcan_decode_name(NULL, &p2, &n), VCAN_ERR_ARG);
    assert_int_equal(vcan_decode_name(&p1, NULL, &n), VCAN_ERR_ARG);
    assert_int_equal(vcan_decode_name(&p1, &p2, NULL), VCAN_ERR_ARG);
    for (size_t i = 0; i < sizeof n.name; i++) {
        assert_int_equal((unsigned char)n.name[i], 0x5A);
    }
    assert_int_equal(vcan_decode_name(&p1, &p2, &n), VCAN_OK);
    assert_string_equal(n.name, "abcdefghi");

    vcan_frame_t out = marker_frame();
    assert_int_equal(vcan_encode_name(NULL, &out, &out), VCAN_ERR_ARG);
    assert_int_equal(vcan_encode_name("x", NULL, &out), VCAN_ERR_ARG);
    assert_int_equal(vcan_encode_name("x", &out, NULL), VCAN_ERR_ARG);
    assert_marker_frame(&out);
}

/* ------------------------------------------------------------------------
 * 0x305 / 0x307, decode only
 * ------------------------------------------------------------------------ */

static void test_victron_305_byd_keepalive_decodes_raw_zeros(void **state)
{
    (void)state;
    vcan_frame_t in = FRAME(0x305, 0, 0, 0, 0, 0, 0, 0, 0);
    vcan_keepalive_t k;
    assert_int_equal(vcan_decode_keepalive(&in, &k), VCAN_OK);
    assert_int_equal(k.dlc, 8);
    assert_memory_equal(k.data, in.data, 8);
}

static void test_victron_305_keeps_non_zero_content_raw(void **state)
{
    (void)state;
    /* Since Venus 3.00~26 the bytes may carry V/I/T (A.5): passed through. */
    vcan_frame_t in = FRAME(0x305, 0x14, 0x02, 0xF9, 0xFF, 0x8C);
    vcan_keepalive_t k;
    assert_int_equal(vcan_decode_keepalive(&in, &k), VCAN_OK);
    assert_int_equal(k.dlc, 5);
    assert_memory_equal(k.data, ((const uint8_t[8]){0x14, 0x02, 0xF9, 0xFF, 0x8C, 0, 0, 0}), 8);

    /* Bytes past the DLC are not copied. */
    vcan_frame_t empty = FRAME(0x305, 0xAA);
    empty.dlc = 0;
    assert_int_equal(vcan_decode_keepalive(&empty, &k), VCAN_OK);
    assert_int_equal(k.dlc, 0);
    assert_memory_equal(k.data, ((const uint8_t[8]){0}), 8);
}

static void test_victron_307_byd_handshake_reports_vic(void **state)
{
    (void)state;
    vcan_frame_t in = FRAME(0x307, 0x12, 0x34, 0x56, 0x78, 0x56, 0x49, 0x43, 0x00);
    vcan_handshake_t h;
    assert_int_equal(vcan_decode_handshake(&in, &h), VCAN_OK);
    assert_true(h.is_victron);
    assert_int_equal(h.dlc, 8);
    assert_memory_equal(h.data, in.data, 8);

    vcan_frame_t dlc7 = FRAME(0x307, 0x12, 0x34, 0x56, 0x78, 'V', 'I', 'C');
    assert_int_equal(vcan_decode_handshake(&dlc7, &h), VCAN_OK);
    assert_true(h.is_victron);
}

static void test_victron_307_without_vic_is_not_victron(void **state)
{
    (void)state;
    vcan_handshake_t h;
    vcan_frame_t other = FRAME(0x307, 0x12, 0x34, 0x56, 0x78, 0x56, 0x49, 0x44, 0x00);
    assert_int_equal(vcan_decode_handshake(&other, &h), VCAN_OK);
    assert_false(h.is_victron);

    vcan_frame_t cut = FRAME(0x307, 0x12, 0x34, 0x56, 0x78, 'V', 'I', 'C');
    cut.dlc = 6; /* 'C' lies past the DLC */
    assert_int_equal(vcan_decode_handshake(&cut, &h), VCAN_OK);
    assert_false(h.is_victron);
    assert_int_equal(h.data[6], 0);

    vcan_frame_t lower = FRAME(0x307, 0, 0, 0, 0, 'v', 'i', 'c', 0);
    assert_int_equal(vcan_decode_handshake(&lower, &h), VCAN_OK);
    assert_false(h.is_victron);
}

static void test_victron_305_307_reject_dlc_above_8_and_wrong_id(void **state)
{
    (void)state;
    vcan_keepalive_t k;
    vcan_handshake_t h;
    vcan_frame_t f = FRAME(0x305, 0, 0, 0, 0, 0, 0, 0, 0);
    f.dlc = 9;
    assert_int_equal(vcan_decode_keepalive(&f, &k), VCAN_ERR_DLC);
    f.id = 0x307;
    assert_int_equal(vcan_decode_handshake(&f, &h), VCAN_ERR_DLC);
    f.dlc = 8;
    assert_int_equal(vcan_decode_keepalive(&f, &k), VCAN_ERR_ID);
    f.id = 0x305;
    assert_int_equal(vcan_decode_handshake(&f, &h), VCAN_ERR_ID);
    assert_int_equal(vcan_decode_keepalive(NULL, &k), VCAN_ERR_ARG);
    assert_int_equal(vcan_decode_keepalive(&f, NULL), VCAN_ERR_ARG);
    assert_int_equal(vcan_decode_handshake(NULL, &h), VCAN_ERR_ARG);
    assert_int_equal(vcan_decode_handshake(&f, NULL), VCAN_ERR_ARG);
}

/* ------------------------------------------------------------------------
 * Errors common to every numeric decoder / encoder
 * ------------------------------------------------------------------------ */

typedef vcan_err_t (*decode_fn)(const vcan_frame_t *, void *);

/* Typed wrappers, so that every decoder is called through its own type. */
#define WRAP(fn, type)                                                                             \
    static vcan_err_t wrap_##fn(const vcan_frame_t *f, void *out)                                  \
    {                                                                                              \
        return fn(f, (type *)out);                                                                 \
    }
WRAP(vcan_decode_limits, vcan_limits_t)
WRAP(vcan_decode_soc, vcan_soc_t)
WRAP(vcan_decode_battery, vcan_battery_t)
WRAP(vcan_decode_identity, vcan_identity_t)
WRAP(vcan_decode_modules, vcan_modules_t)
WRAP(vcan_decode_cells, vcan_cells_t)
WRAP(vcan_decode_energy, vcan_energy_t)
WRAP(vcan_decode_capacity, vcan_capacity_t)
WRAP(vcan_decode_text, vcan_text_t)
WRAP(vcan_decode_keepalive, vcan_keepalive_t)
WRAP(vcan_decode_handshake, vcan_handshake_t)

/* Each decoder with the id it accepts, its minimum DLC and its output size. */
#define DECODER(fn, id, min, type)                                                                 \
    {                                                                                              \
        wrap_##fn, id, min, sizeof(type)                                                           \
    }

static const struct {
    decode_fn fn;
    uint16_t id;
    uint8_t min_dlc;
    size_t out_size;
} decoders[] = {
    DECODER(vcan_decode_limits, 0x351, 8, vcan_limits_t),
    DECODER(vcan_decode_soc, 0x355, 4, vcan_soc_t),
    DECODER(vcan_decode_battery, 0x356, 6, vcan_battery_t),
    DECODER(vcan_decode_identity, 0x35F, 6, vcan_identity_t),
    DECODER(vcan_decode_modules, 0x372, 8, vcan_modules_t),
    DECODER(vcan_decode_cells, 0x373, 8, vcan_cells_t),
    DECODER(vcan_decode_energy, 0x378, 8, vcan_energy_t),
    DECODER(vcan_decode_capacity, 0x379, 2, vcan_capacity_t),
    DECODER(vcan_decode_text, 0x35E, 0, vcan_text_t),
    DECODER(vcan_decode_keepalive, 0x305, 0, vcan_keepalive_t),
    DECODER(vcan_decode_handshake, 0x307, 0, vcan_handshake_t),
};

static void test_victron_decoders_reject_too_short_dlc(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof decoders / sizeof decoders[0]; i++) {
        _Alignas(8) uint8_t out[64];
        vcan_frame_t f = FRAME(decoders[i].id, 1, 2, 3, 4, 5, 6, 7, 8);
        for (uint8_t dlc = 0; dlc < decoders[i].min_dlc; dlc++) {
            f.dlc = dlc;
            memset(out, 0x5A, sizeof out);
            assert_int_equal(decoders[i].fn(&f, out), VCAN_ERR_DLC);
            for (size_t b = 0; b < decoders[i].out_size; b++) {
                assert_int_equal(out[b], 0x5A); /* untouched */
            }
        }
        f.dlc = decoders[i].min_dlc;
        assert_int_equal(decoders[i].fn(&f, out), VCAN_OK);
    }
}

static void test_victron_decoders_reject_dlc_above_8(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof decoders / sizeof decoders[0]; i++) {
        _Alignas(8) uint8_t out[64];
        vcan_frame_t f = FRAME(decoders[i].id, 1, 2, 3, 4, 5, 6, 7, 8);
        f.dlc = 9;
        assert_int_equal(decoders[i].fn(&f, out), VCAN_ERR_DLC);
        f.dlc = 15;
        assert_int_equal(decoders[i].fn(&f, out), VCAN_ERR_DLC);
    }
}

static void test_victron_decoders_reject_wrong_id(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof decoders / sizeof decoders[0]; i++) {
        _Alignas(8) uint8_t out[64];
        memset(out, 0x5A, sizeof out);
        const uint16_t wrong[] = {(uint16_t)(decoders[i].id + 1u), 0x35A, 0x000, 0x7FF,
                                  (uint16_t)(decoders[i].id | 0x800u)};
        for (size_t w = 0; w < sizeof wrong / sizeof wrong[0]; w++) {
            vcan_frame_t f = FRAME(wrong[w], 1, 2, 3, 4, 5, 6, 7, 8);
            if (decoders[i].fn == wrap_vcan_decode_text && vcan_is_text_id(wrong[w])) {
                continue; /* vcan_decode_text takes every ASCII id */
            }
            assert_int_equal(decoders[i].fn(&f, out), VCAN_ERR_ID);
        }
        for (size_t b = 0; b < decoders[i].out_size; b++) {
            assert_int_equal(out[b], 0x5A);
        }
    }
}

static void test_victron_decoders_reject_null(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof decoders / sizeof decoders[0]; i++) {
        _Alignas(8) uint8_t out[64];
        vcan_frame_t f = FRAME(decoders[i].id, 1, 2, 3, 4, 5, 6, 7, 8);
        assert_int_equal(decoders[i].fn(NULL, out), VCAN_ERR_ARG);
        assert_int_equal(decoders[i].fn(&f, NULL), VCAN_ERR_ARG);
    }
}

static void test_victron_decoders_ignore_bytes_past_the_fields(void **state)
{
    (void)state;
    /* 0x356 bytes 6-7 (cycle count in some peers, A.9 item 6) and 0x379
     * bytes 2-7 do not change the result. */
    vcan_battery_t b;
    vcan_frame_t in = FRAME(0x356, 0xBE, 0x14, 0xF9, 0xFF, 0x8C, 0x00, 0x34, 0x12);
    assert_int_equal(vcan_decode_battery(&in, &b), VCAN_OK);
    assert_int_equal(b.voltage_mv, 53100);
    vcan_frame_t out;
    assert_int_equal(vcan_encode_battery(&b, &out), VCAN_OK);
    EXPECT(&out, 0x356, 0xBE, 0x14, 0xF9, 0xFF, 0x8C, 0x00, 0x00, 0x00);

    vcan_capacity_t c;
    vcan_frame_t cap = FRAME(0x379, 0x9C, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF);
    assert_int_equal(vcan_decode_capacity(&cap, &c), VCAN_OK);
    assert_int_equal(c.capacity_ah, 156);
}

static void test_victron_encoders_reject_null_and_leave_output_untouched(void **state)
{
    (void)state;
    vcan_frame_t out = marker_frame();
    vcan_limits_t l = {0};
    vcan_soc_t s = {0};
    vcan_battery_t b = {0};
    vcan_identity_t id = {0};
    vcan_modules_t m = {0};
    vcan_cells_t c = {0};
    vcan_energy_t e = {0};
    vcan_capacity_t cap = {0};

    assert_int_equal(vcan_encode_limits(NULL, &out), VCAN_ERR_ARG);
    assert_int_equal(vcan_encode_limits(&l, NULL), VCAN_ERR_ARG);
    assert_int_equal(vcan_encode_soc(NULL, &out), VCAN_ERR_ARG);
    assert_int_equal(vcan_encode_soc(&s, NULL), VCAN_ERR_ARG);
    assert_int_equal(vcan_encode_battery(NULL, &out), VCAN_ERR_ARG);
    assert_int_equal(vcan_encode_battery(&b, NULL), VCAN_ERR_ARG);
    assert_int_equal(vcan_encode_identity(NULL, &out), VCAN_ERR_ARG);
    assert_int_equal(vcan_encode_identity(&id, NULL), VCAN_ERR_ARG);
    assert_int_equal(vcan_encode_modules(NULL, &out), VCAN_ERR_ARG);
    assert_int_equal(vcan_encode_modules(&m, NULL), VCAN_ERR_ARG);
    assert_int_equal(vcan_encode_cells(NULL, &out), VCAN_ERR_ARG);
    assert_int_equal(vcan_encode_cells(&c, NULL), VCAN_ERR_ARG);
    assert_int_equal(vcan_encode_energy(NULL, &out), VCAN_ERR_ARG);
    assert_int_equal(vcan_encode_energy(&e, NULL), VCAN_ERR_ARG);
    assert_int_equal(vcan_encode_capacity(NULL, &out), VCAN_ERR_ARG);
    assert_int_equal(vcan_encode_capacity(&cap, NULL), VCAN_ERR_ARG);
    assert_int_equal(vcan_encode_text(VCAN_ID_MANUFACTURER, NULL, &out), VCAN_ERR_ARG);
    assert_int_equal(vcan_encode_text(VCAN_ID_MANUFACTURER, "x", NULL), VCAN_ERR_ARG);
    assert_marker_frame(&out);
}

static void test_victron_encoders_always_send_dlc_8_zero_padded(void **state)
{
    (void)state;
    vcan_frame_t out = marker_frame();
    vcan_capacity_t cap = {1};
    assert_int_equal(vcan_encode_capacity(&cap, &out), VCAN_OK);
    EXPECT(&out, 0x379, 1, 0, 0, 0, 0, 0, 0, 0);

    out = marker_frame();
    vcan_soc_t s = {1, 2, false, 0};
    assert_int_equal(vcan_encode_soc(&s, &out), VCAN_OK);
    EXPECT(&out, 0x355, 1, 0, 2, 0, 0, 0, 0, 0);

    out = marker_frame();
    vcan_identity_t id = {0, 0, 0, 0};
    assert_int_equal(vcan_encode_identity(&id, &out), VCAN_OK);
    EXPECT(&out, 0x35F, 0, 0, 0, 0, 0, 0, 0, 0);

    out = marker_frame();
    assert_int_equal(vcan_encode_text(VCAN_ID_NAME_2, "a", &out), VCAN_OK);
    EXPECT(&out, 0x371, 'a', 0, 0, 0, 0, 0, 0, 0);
}

/* ------------------------------------------------------------------------
 * Generic decoder
 * ------------------------------------------------------------------------ */

static void test_victron_decode_dispatches_every_known_id(void **state)
{
    (void)state;
    vcan_decoded_t d;
    vcan_frame_t f;

    f = FRAME(0x351, 0x48, 0x02, 0x00, 0x05, 0x00, 0x05, 0xAE, 0x01);
    assert_int_equal(vcan_decode(&f, &d), VCAN_OK);
    assert_int_equal(d.id, 0x351);
    assert_int_equal(d.limits.cvl_mv, 58400);
    assert_int_equal(d.limits.dvl_mv, 43000);

    f = FRAME(0x355, 0x43, 0x00, 0x64, 0x00);
    assert_int_equal(vcan_decode(&f, &d), VCAN_OK);
    assert_int_equal(d.id, 0x355);
    assert_int_equal(d.soc.soc_pct, 67);

    f = FRAME(0x356, 0xBE, 0x14, 0xF9, 0xFF, 0x8C, 0x00);
    assert_int_equal(vcan_decode(&f, &d), VCAN_OK);
    assert_int_equal(d.id, 0x356);
    assert_int_equal(d.battery.current_da, -7);

    f = FRAME(0x35A, 0xA6, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0x00);
    assert_int_equal(vcan_decode(&f, &d), VCAN_OK);
    assert_int_equal(d.id, 0x35A);
    assert_int_equal(d.alarms.alarm[VCAN_COND_HIGH_VOLTAGE], VCAN_PAIR_ACTIVE);
    assert_int_equal(d.alarms.warning[VCAN_COND_CELL_IMBALANCE], VCAN_PAIR_UNSUPPORTED);

    f = FRAME(0x35F, 0x4C, 0x69, 0x01, 0x17, 0x69, 0x00);
    assert_int_equal(vcan_decode(&f, &d), VCAN_OK);
    assert_int_equal(d.id, 0x35F);
    assert_int_equal(d.identity.capacity_ah, 105);

    f = FRAME(0x372, 0x02, 0x00, 0x02, 0x00, 0x01, 0x00, 0x00, 0x00);
    assert_int_equal(vcan_decode(&f, &d), VCAN_OK);
    assert_int_equal(d.modules.blocking_discharge, 1);

    f = FRAME(0x373, 0xEA, 0x0C, 0x01, 0x0D, 0x1F, 0x01, 0x22, 0x01);
    assert_int_equal(vcan_decode(&f, &d), VCAN_OK);
    assert_int_equal(d.cells.max_temp_dc, 170);

    f = FRAME(0x378, 0x40, 0x08, 0x00, 0x00, 0x2B, 0x07, 0x00, 0x00);
    assert_int_equal(vcan_decode(&f, &d), VCAN_OK);
    assert_true(d.energy.discharged_wh == 183500);

    f = FRAME(0x379, 0x9C, 0x00);
    assert_int_equal(vcan_decode(&f, &d), VCAN_OK);
    assert_int_equal(d.capacity.capacity_ah, 156);

    f = FRAME(0x305, 1, 2, 3);
    assert_int_equal(vcan_decode(&f, &d), VCAN_OK);
    assert_int_equal(d.id, 0x305);
    assert_int_equal(d.keepalive.dlc, 3);
    assert_int_equal(d.keepalive.data[2], 3);

    f = FRAME(0x307, 0x12, 0x34, 0x56, 0x78, 0x56, 0x49, 0x43, 0x00);
    assert_int_equal(vcan_decode(&f, &d), VCAN_OK);
    assert_true(d.handshake.is_victron);

    const uint16_t text[] = {0x35E, 0x370, 0x371, 0x374, 0x375, 0x376, 0x377, 0x382};
    for (size_t i = 0; i < sizeof text / sizeof text[0]; i++) {
        f = FRAME(text[i], 'I', 'D', '0' + (uint8_t)i, 0);
        assert_int_equal(vcan_decode(&f, &d), VCAN_OK);
        assert_int_equal(d.id, text[i]);
        char exp[4] = {'I', 'D', (char)('0' + i), '\0'};
        assert_string_equal(d.text.text, exp);
    }
}

static void test_victron_decode_rejects_unknown_ids(void **state)
{
    (void)state;
    const uint16_t unknown[] = {0x000, 0x306, 0x350, 0x359, 0x35B, 0x35C,
                                0x360, 0x380, 0x381, 0x7FF, 0x800, 0xFFFF};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        vcan_frame_t f = FRAME(unknown[i], 0, 0, 0, 0, 0, 0, 0, 0);
        vcan_decoded_t d;
        memset(&d, 0x5A, sizeof d);
        assert_int_equal(vcan_decode(&f, &d), VCAN_ERR_ID);
        assert_int_equal(d.id, 0x5A5A); /* untouched */
    }
}

static void test_victron_decode_passes_on_decoder_errors(void **state)
{
    (void)state;
    vcan_decoded_t d;
    memset(&d, 0x5A, sizeof d);
    vcan_frame_t f = FRAME(0x351, 0x48, 0x02, 0x00, 0x05, 0x00, 0x05, 0xAE);
    assert_int_equal(vcan_decode(&f, &d), VCAN_ERR_DLC);
    f = FRAME(0x35A, 0xAA);
    assert_int_equal(vcan_decode(&f, &d), VCAN_ERR_DLC);
    f = FRAME(0x382, 'A');
    f.dlc = 9;
    assert_int_equal(vcan_decode(&f, &d), VCAN_ERR_DLC);
    assert_int_equal(d.id, 0x5A5A);
    assert_int_equal(vcan_decode(NULL, &d), VCAN_ERR_ARG);
    assert_int_equal(vcan_decode(&f, NULL), VCAN_ERR_ARG);
}

/* ------------------------------------------------------------------------
 * vcan_strerror
 * ------------------------------------------------------------------------ */

static void test_victron_strerror_names_every_code(void **state)
{
    (void)state;
    assert_string_equal(vcan_strerror(VCAN_OK), "ok");
    const char *seen[VCAN_ERR_COUNT_];
    for (int e = 0; e < (int)VCAN_ERR_COUNT_; e++) {
        const char *s = vcan_strerror((vcan_err_t)e);
        assert_non_null(s);
        assert_true(strlen(s) > 0);
        assert_string_not_equal(s, "unknown error");
        for (int p = 0; p < e; p++) {
            assert_string_not_equal(s, seen[p]);
        }
        seen[e] = s;
    }
    assert_string_equal(vcan_strerror(VCAN_ERR_COUNT_), "unknown error");
    assert_string_equal(vcan_strerror((vcan_err_t)-1), "unknown error");
    assert_string_equal(vcan_strerror((vcan_err_t)1000), "unknown error");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_victron_351_byd_vector_round_trips),
        cmocka_unit_test(test_victron_351_pylontech_vector_round_trips),
        cmocka_unit_test(test_victron_351_voltages_round_toward_safety_cvl_down_dvl_up),
        cmocka_unit_test(test_victron_351_voltages_saturate_at_both_ends),
        cmocka_unit_test(test_victron_351_currents_saturate_to_0_and_32767),
        cmocka_unit_test(test_victron_351_decodes_negative_pylon_dcl_signed),
        cmocka_unit_test(test_victron_351_decodes_max_wire_values),
        cmocka_unit_test(test_victron_355_byd_vector_round_trips_without_hires),
        cmocka_unit_test(test_victron_355_pylontech_dlc4_decodes_and_reencodes_padded),
        cmocka_unit_test(test_victron_355_community_hires_soc_round_trips),
        cmocka_unit_test(test_victron_355_hires_needs_dlc_6),
        cmocka_unit_test(test_victron_355_absent_hires_is_sent_as_zero),
        cmocka_unit_test(test_victron_355_values_saturate_to_physical_range),
        cmocka_unit_test(test_victron_355_decoder_reports_out_of_range_wire_values_as_sent),
        cmocka_unit_test(test_victron_356_byd_vector_round_trips),
        cmocka_unit_test(test_victron_356_voltage_rounds_to_nearest_10_mv),
        cmocka_unit_test(test_victron_356_voltage_saturates_to_0_and_327_67_v),
        cmocka_unit_test(test_victron_356_current_and_temperature_saturate_signed),
        cmocka_unit_test(test_victron_356_decodes_signed_fields),
        cmocka_unit_test(test_victron_35f_byd_vector_round_trips),
        cmocka_unit_test(test_victron_35f_capacity_saturates_at_both_ends),
        cmocka_unit_test(test_victron_372_byd_vectors_round_trip),
        cmocka_unit_test(test_victron_372_counts_saturate_at_both_ends),
        cmocka_unit_test(test_victron_373_byd_vector_round_trips_with_offset_273),
        cmocka_unit_test(test_victron_373_temperature_rounds_to_nearest_kelvin),
        cmocka_unit_test(test_victron_373_negative_kelvin_saturates_to_0),
        cmocka_unit_test(test_victron_373_high_values_saturate_to_0xffff),
        cmocka_unit_test(test_victron_373_decodes_0_kelvin_as_minus_273_degc),
        cmocka_unit_test(test_victron_378_byd_vector_round_trips),
        cmocka_unit_test(test_victron_378_energy_rounds_to_nearest_100_wh),
        cmocka_unit_test(test_victron_378_energy_saturates_at_both_ends),
        cmocka_unit_test(test_victron_378_decodes_max_counter),
        cmocka_unit_test(test_victron_379_byd_vector_round_trips),
        cmocka_unit_test(test_victron_379_capacity_saturates_at_both_ends),
        cmocka_unit_test(test_victron_35e_byd_vector_round_trips),
        cmocka_unit_test(test_victron_35e_pylontech_vector_keeps_trailing_spaces),
        cmocka_unit_test(test_victron_374_to_377_byd_vectors_round_trip),
        cmocka_unit_test(test_victron_382_byd_vector_round_trips),
        cmocka_unit_test(test_victron_text_longer_than_8_chars_is_truncated),
        cmocka_unit_test(test_victron_text_exactly_8_chars_fills_frame),
        cmocka_unit_test(test_victron_text_empty_string_gives_zero_frame),
        cmocka_unit_test(test_victron_text_encoder_replaces_non_printable_chars),
        cmocka_unit_test(test_victron_text_decoder_replaces_non_printable_bytes),
        cmocka_unit_test(test_victron_text_decoder_stops_at_first_nul),
        cmocka_unit_test(test_victron_text_decoder_stops_at_dlc),
        cmocka_unit_test(test_victron_text_rejects_non_text_ids),
        cmocka_unit_test(test_victron_is_text_id_lists_the_ascii_frames),
        cmocka_unit_test(test_victron_370_371_name_splits_16_chars),
        cmocka_unit_test(test_victron_370_371_name_longer_than_16_is_truncated),
        cmocka_unit_test(test_victron_370_371_short_name_leaves_371_zero),
        cmocka_unit_test(test_victron_370_371_decode_ignores_371_after_short_370),
        cmocka_unit_test(test_victron_370_371_decode_checks_ids_dlc_and_null),
        cmocka_unit_test(test_victron_305_byd_keepalive_decodes_raw_zeros),
        cmocka_unit_test(test_victron_305_keeps_non_zero_content_raw),
        cmocka_unit_test(test_victron_307_byd_handshake_reports_vic),
        cmocka_unit_test(test_victron_307_without_vic_is_not_victron),
        cmocka_unit_test(test_victron_305_307_reject_dlc_above_8_and_wrong_id),
        cmocka_unit_test(test_victron_decoders_reject_too_short_dlc),
        cmocka_unit_test(test_victron_decoders_reject_dlc_above_8),
        cmocka_unit_test(test_victron_decoders_reject_wrong_id),
        cmocka_unit_test(test_victron_decoders_reject_null),
        cmocka_unit_test(test_victron_decoders_ignore_bytes_past_the_fields),
        cmocka_unit_test(test_victron_encoders_reject_null_and_leave_output_untouched),
        cmocka_unit_test(test_victron_encoders_always_send_dlc_8_zero_padded),
        cmocka_unit_test(test_victron_decode_dispatches_every_known_id),
        cmocka_unit_test(test_victron_decode_rejects_unknown_ids),
        cmocka_unit_test(test_victron_decode_passes_on_decoder_errors),
        cmocka_unit_test(test_victron_strerror_names_every_code),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
