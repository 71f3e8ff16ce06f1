/*
 * test_tbms_snapshot.c - black-box tests of tbms_snapshot.h.
 *
 * Golden data: hardware dumps and document examples quoted in
 * tinybms-uart.md (sections 2, 5, 6, 7) and seed-system.md 1.6.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "tbms_snapshot.h"

#define NOW_MS 123456789ull

/* ------------------------------------------------------------ helpers */

static void put32(uint16_t *regs, size_t off, uint32_t v)
{
    regs[off] = (uint16_t)(v & 0xFFFFu); /* low word at the lower address */
    regs[off + 1] = (uint16_t)(v >> 16);
}

/*
 * A plausible live block modelled on the CLARK dump: 14S pack, cells in
 * regs 2..15, regs 0..1 = 0, 55.78 V, no external NTCs.
 */
static void clark_live(uint16_t regs[TBMS_LIVE_REG_COUNT])
{
    memset(regs, 0, TBMS_LIVE_REG_COUNT * sizeof(regs[0]));
    for (size_t i = 2; i < 16; i++) {
        regs[i] = (uint16_t)(39800u + i); /* 3.98 V + i x 0.1 mV */
    }
    regs[5] = 0x9740; /* doc example: 38720 = 3.872 V */
    regs[32] = 0x93CD;
    regs[33] = 0x00FE; /* 16 683 981 s */
    put32(regs, 34, 41777412u);
    regs[36] = 0x1EB8;
    regs[37] = 0x425F; /* 55.78 V */
    regs[38] = 0x0000;
    regs[39] = 0xC108; /* -8.5 A */
    regs[40] = 3872;
    regs[41] = 3981;
    regs[42] = 0x8000;
    regs[43] = 0x8000;
    regs[44] = 0;
    regs[45] = 50000;
    regs[46] = 0xF208;
    regs[47] = 0x04FA; /* 83.554824 % */
    regs[48] = 0x0116; /* 27.8 degC */
    regs[50] = 0x97;
    regs[53] = 14;
}

static tbms_live_t decode_live_ok(const uint16_t *regs)
{
    tbms_live_t live;
    assert_int_equal(tbms_decode_live(regs, TBMS_LIVE_REG_COUNT, NOW_MS, &live), TBMS_OK);
    assert_true(live.valid);
    return live;
}

static void assert_live_rejected(const uint16_t *regs, tbms_err_t want)
{
    tbms_live_t live;
    memset(&live, 0xA5, sizeof(live));
    assert_int_equal(tbms_decode_live(regs, TBMS_LIVE_REG_COUNT, NOW_MS, &live), want);
    assert_false(live.valid);
    assert_int_equal(live.read_ms, NOW_MS);
    assert_int_equal(live.pack_mv, 0);
    assert_int_equal(live.cell_count, 0);
}

/* ------------------------------------------------------------- live */

static void test_live_pack_voltage_float_low_word_first(void **state)
{
    (void)state;
    uint16_t regs[TBMS_LIVE_REG_COUNT];
    clark_live(regs);
    tbms_live_t live = decode_live_ok(regs);
    assert_int_equal(live.pack_mv, 55780);
    assert_int_equal(live.read_ms, NOW_MS);
}

static void test_live_seed_float_vectors_decode_to_mv_and_ma(void **state)
{
    (void)state;
    uint16_t regs[TBMS_LIVE_REG_COUNT];
    clark_live(regs);
    regs[36] = 0xCCCD;
    regs[37] = 0x424C; /* 51.2 V */
    regs[38] = 0x6666;
    regs[39] = 0xC146; /* -12.4 A */
    tbms_live_t live = decode_live_ok(regs);
    assert_int_equal(live.pack_mv, 51200);
    assert_int_equal(live.pack_ma, -12400);

    regs[36] = 0x0000;
    regs[37] = 0x4250; /* 52.0 V */
    regs[38] = 0x0000;
    regs[39] = 0xC108; /* -8.5 A */
    live = decode_live_ok(regs);
    assert_int_equal(live.pack_mv, 52000);
    assert_int_equal(live.pack_ma, -8500);
}

/* Deterministic xorshift so a failure can be replayed. */
static uint32_t xs = 0x9E3779B9u;
static uint32_t xorshift(void)
{
    xs ^= xs << 13;
    xs ^= xs >> 17;
    xs ^= xs << 5;
    return xs;
}

static void test_live_float_conversion_matches_exact_arithmetic(void **state)
{
    (void)state;
    /* The decoder converts the FLOAT registers with integer arithmetic on
     * the bits; the host's double gives the exact value x 1000 (a float has
     * 24 bits of mantissa, a double 53), rounded half away from zero. */
    uint16_t regs[TBMS_LIVE_REG_COUNT];
    clark_live(regs);
    for (int i = 0; i < 200000; i++) {
        float f;
        switch (i % 4) {
        case 0: /* any current the bounds allow, uniformly over the exponent range */
            f = (float)((int32_t)xorshift() % 5000000) / 1000.0f;
            break;
        case 1: /* tiny values and subnormals */
            f = (float)xorshift() * 1e-12f * ((xorshift() & 1u) ? 1.0f : -1.0f);
            break;
        case 2: { /* raw bit patterns */
            uint32_t b = xorshift();
            memcpy(&f, &b, sizeof f);
            break;
        }
        default: /* exact halves of a milliampere */
            f = ((float)((int32_t)(xorshift() % 20000u) - 10000) + 0.5f) / 1000.0f;
            break;
        }
        uint32_t bits;
        memcpy(&bits, &f, sizeof bits);
        put32(regs, 38, bits);
        tbms_live_t live;
        tbms_err_t e = tbms_decode_live(regs, TBMS_LIVE_REG_COUNT, NOW_MS, &live);
        double x = (double)f * 1000.0;
        if (x != x || x > 5000000.5 || x < -5000000.5) {
            continue; /* NaN, Inf and out-of-range currents: covered elsewhere */
        }
        double r = x >= 0 ? (double)(long long)(x + 0.5) : -(double)(long long)(-x + 0.5);
        if (r > 5000000.0 || r < -5000000.0) {
            assert_int_equal(e, TBMS_ERR_INVALID_DATA);
            continue;
        }
        assert_int_equal(e, TBMS_OK);
        assert_int_equal(live.pack_ma, (int32_t)r);
    }
}

static void test_live_float_rounds_half_away_from_zero(void **state)
{
    (void)state;
    uint16_t regs[TBMS_LIVE_REG_COUNT];
    clark_live(regs);
    put32(regs, 38, 0x3F9E0419u); /* 1.2345 A (float 1.23450005) */
    assert_int_equal(decode_live_ok(regs).pack_ma, 1235);
    put32(regs, 38, 0xBF9E0419u); /* -1.2345 A */
    assert_int_equal(decode_live_ok(regs).pack_ma, -1235);
    put32(regs, 38, 0x3A03126Fu); /* 0.0005 A -> 0.5 mA -> 1 */
    assert_int_equal(decode_live_ok(regs).pack_ma, 1);
    put32(regs, 38, 0x80000000u); /* -0.0 */
    assert_int_equal(decode_live_ok(regs).pack_ma, 0);
}

static void test_live_lifetime_and_time_left_use_both_words_low_first(void **state)
{
    (void)state;
    uint16_t regs[TBMS_LIVE_REG_COUNT];
    clark_live(regs);
    tbms_live_t live = decode_live_ok(regs);
    assert_int_equal(live.lifetime_s, 16683981u);
    assert_int_equal(live.time_left_s, 41777412u);
}

static void test_live_soc_uses_both_words_low_first(void **state)
{
    (void)state;
    uint16_t regs[TBMS_LIVE_REG_COUNT];
    clark_live(regs);
    tbms_live_t live = decode_live_ok(regs);
    assert_int_equal(live.soc_raw, 83554824u);
    assert_int_equal(live.soc_cpct, 8355);
}

static void test_live_soc_exactly_100_percent_is_accepted(void **state)
{
    (void)state;
    uint16_t regs[TBMS_LIVE_REG_COUNT];
    clark_live(regs);
    put32(regs, 46, 100000000u);
    tbms_live_t live = decode_live_ok(regs);
    assert_int_equal(live.soc_cpct, 10000);
    put32(regs, 46, 0u);
    assert_int_equal(decode_live_ok(regs).soc_cpct, 0);
}

static void test_live_soc_above_100_percent_is_invalid_data(void **state)
{
    (void)state;
    uint16_t regs[TBMS_LIVE_REG_COUNT];
    clark_live(regs);
    put32(regs, 46, 100000001u);
    assert_live_rejected(regs, TBMS_ERR_INVALID_DATA);
    put32(regs, 46, 0xFFFFFFFFu);
    assert_live_rejected(regs, TBMS_ERR_INVALID_DATA);
}

static void test_live_14_cells_are_top_aligned_in_regs_2_to_15(void **state)
{
    (void)state;
    uint16_t regs[TBMS_LIVE_REG_COUNT];
    clark_live(regs);
    tbms_live_t live = decode_live_ok(regs);
    assert_int_equal(live.cell_count, 14);
    assert_int_equal(live.cell_100uv[0], 39802u);  /* reg 2 = lowest cell */
    assert_int_equal(live.cell_100uv[3], 38720u);  /* reg 5, doc 0x9740 = 3.872 V */
    assert_int_equal(live.cell_100uv[13], 39815u); /* reg 15 = top cell */
    assert_int_equal(live.cell_100uv[14], 0u);
    assert_int_equal(live.cell_100uv[15], 0u);
    assert_int_equal(live.cell_min_mv, 3872u);
    assert_int_equal(live.cell_max_mv, 3981u);
}

static void test_live_16_cells_use_all_registers(void **state)
{
    (void)state;
    uint16_t regs[TBMS_LIVE_REG_COUNT];
    clark_live(regs);
    regs[0] = 33000;
    regs[1] = 33001;
    regs[53] = 16;
    tbms_live_t live = decode_live_ok(regs);
    assert_int_equal(live.cell_count, 16);
    assert_int_equal(live.cell_100uv[0], 33000u);
    assert_int_equal(live.cell_100uv[15], regs[15]);
}

static void test_live_zero_cells_reported_with_no_cell_values(void **state)
{
    (void)state;
    uint16_t regs[TBMS_LIVE_REG_COUNT];
    clark_live(regs);
    memset(regs, 0, 16 * sizeof(regs[0]));
    regs[53] = 0;
    regs[51] = 0xFFFF;
    tbms_live_t live = decode_live_ok(regs);
    assert_int_equal(live.cell_count, 0);
    assert_int_equal(live.balance_need_bits, 0);
    assert_int_equal(live.balance_need_raw, 0xFFFF);
}

static void test_live_more_than_16_cells_is_invalid_data(void **state)
{
    (void)state;
    uint16_t regs[TBMS_LIVE_REG_COUNT];
    clark_live(regs);
    regs[53] = 17;
    assert_live_rejected(regs, TBMS_ERR_INVALID_DATA);
}

static void test_live_nonzero_register_below_aligned_cells_is_invalid_data(void **state)
{
    (void)state;
    uint16_t regs[TBMS_LIVE_REG_COUNT];
    clark_live(regs);
    regs[1] = 1; /* 14 cells: regs 0..1 must read 0 */
    assert_live_rejected(regs, TBMS_ERR_INVALID_DATA);
    clark_live(regs);
    regs[0] = 39000;
    assert_live_rejected(regs, TBMS_ERR_INVALID_DATA);
}

static void test_live_nan_or_inf_voltage_is_invalid_data(void **state)
{
    (void)state;
    uint16_t regs[TBMS_LIVE_REG_COUNT];
    clark_live(regs);
    put32(regs, 36, 0x7FC00000u); /* quiet NaN */
    assert_live_rejected(regs, TBMS_ERR_INVALID_DATA);
    put32(regs, 36, 0xFFC00001u); /* negative NaN */
    assert_live_rejected(regs, TBMS_ERR_INVALID_DATA);
    put32(regs, 36, 0x7F800000u); /* +Inf */
    assert_live_rejected(regs, TBMS_ERR_INVALID_DATA);
}

static void test_live_nan_or_inf_current_is_invalid_data(void **state)
{
    (void)state;
    uint16_t regs[TBMS_LIVE_REG_COUNT];
    clark_live(regs);
    put32(regs, 38, 0x7FC00000u);
    assert_live_rejected(regs, TBMS_ERR_INVALID_DATA);
    put32(regs, 38, 0xFF800000u); /* -Inf */
    assert_live_rejected(regs, TBMS_ERR_INVALID_DATA);
}

static void test_live_voltage_limits_are_inclusive(void **state)
{
    (void)state;
    uint16_t regs[TBMS_LIVE_REG_COUNT];
    clark_live(regs);
    put32(regs, 36, 0x42C80000u); /* 100.0 V */
    assert_int_equal(decode_live_ok(regs).pack_mv, 100000);
    put32(regs, 36, 0x00000000u); /* 0.0 V */
    assert_int_equal(decode_live_ok(regs).pack_mv, 0);
    put32(regs, 36, 0x42C80042u); /* 100.0005 V -> 100001 mV */
    assert_live_rejected(regs, TBMS_ERR_INVALID_DATA);
    put32(regs, 36, 0xBF800000u); /* -1.0 V */
    assert_live_rejected(regs, TBMS_ERR_INVALID_DATA);
    put32(regs, 36, 0x7F7FFFFFu); /* FLT_MAX */
    assert_live_rejected(regs, TBMS_ERR_INVALID_DATA);
}

static void test_live_absurd_current_is_invalid_data(void **state)
{
    (void)state;
    uint16_t regs[TBMS_LIVE_REG_COUNT];
    clark_live(regs);
    put32(regs, 38, 0x459C4000u); /* 5000 A: limit, accepted */
    assert_int_equal(decode_live_ok(regs).pack_ma, 5000000);
    put32(regs, 38, 0xC59C4000u); /* -5000 A */
    assert_int_equal(decode_live_ok(regs).pack_ma, -5000000);
    put32(regs, 38, 0x459C4800u); /* 5001 A */
    assert_live_rejected(regs, TBMS_ERR_INVALID_DATA);
    put32(regs, 38, 0xC59C4800u); /* -5001 A */
    assert_live_rejected(regs, TBMS_ERR_INVALID_DATA);
}

static void test_live_absent_temperature_sensor_is_flagged_not_shown(void **state)
{
    (void)state;
    uint16_t regs[TBMS_LIVE_REG_COUNT];
    clark_live(regs);
    regs[43] = 0x0114; /* 27.6 degC */
    tbms_live_t live = decode_live_ok(regs);
    assert_false(live.ext_temp_present[0]);
    assert_int_equal(live.ext_temp_dc[0], 0);
    assert_true(live.ext_temp_present[1]);
    assert_int_equal(live.ext_temp_dc[1], 276);
    assert_true(live.internal_temp_present);
    assert_int_equal(live.internal_temp_dc, 278);

    regs[48] = 0x8000;
    regs[42] = 0xFFC9; /* -5.5 degC */
    live = decode_live_ok(regs);
    assert_false(live.internal_temp_present);
    assert_int_equal(live.internal_temp_dc, 0);
    assert_true(live.ext_temp_present[0]);
    assert_int_equal(live.ext_temp_dc[0], -55);

    regs[42] = 0x8001; /* -3276.7 degC is a value, not the sentinel */
    live = decode_live_ok(regs);
    assert_true(live.ext_temp_present[0]);
    assert_int_equal(live.ext_temp_dc[0], -32767);
}

static void test_live_soh_scales_0_002_percent(void **state)
{
    (void)state;
    uint16_t regs[TBMS_LIVE_REG_COUNT];
    clark_live(regs);
    tbms_live_t live = decode_live_ok(regs);
    assert_true(live.soh_valid);
    assert_int_equal(live.soh_raw, 50000);
    assert_int_equal(live.soh_cpct, 10000);
    regs[45] = 46000; /* 92 % */
    assert_int_equal(decode_live_ok(regs).soh_cpct, 9200);
    regs[45] = 3; /* 0.006 % -> 0.01 % rounded */
    assert_int_equal(decode_live_ok(regs).soh_cpct, 1);
}

static void test_live_soh_above_full_scale_only_clears_soh_valid(void **state)
{
    (void)state;
    uint16_t regs[TBMS_LIVE_REG_COUNT];
    clark_live(regs);
    regs[45] = 50001; /* reserved on FW < 2.3.251 */
    tbms_live_t live = decode_live_ok(regs);
    assert_false(live.soh_valid);
    assert_int_equal(live.soh_cpct, 0);
    assert_int_equal(live.soh_raw, 50001);
    assert_int_equal(live.pack_mv, 55780);
}

static void test_live_status_codes_decode_to_enum(void **state)
{
    (void)state;
    static const struct {
        uint16_t raw;
        tbms_status_t want;
    } cases[] = {
        {0x91, TBMS_STATUS_CHARGING},     {0x92, TBMS_STATUS_FULLY_CHARGED},
        {0x93, TBMS_STATUS_DISCHARGING},  {0x95, TBMS_STATUS_SLEEP},
        {0x96, TBMS_STATUS_REGENERATION}, {0x97, TBMS_STATUS_IDLE},
        {0x9B, TBMS_STATUS_FAULT},
    };
    uint16_t regs[TBMS_LIVE_REG_COUNT];
    clark_live(regs);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        regs[50] = cases[i].raw;
        tbms_live_t live = decode_live_ok(regs);
        assert_int_equal(live.status, cases[i].want);
        assert_int_equal(live.status_raw, cases[i].raw);
    }
}

static void test_live_status_zero_is_unknown_never_charging(void **state)
{
    (void)state;
    uint16_t regs[TBMS_LIVE_REG_COUNT];
    clark_live(regs);
    regs[50] = 0;
    tbms_live_t live = decode_live_ok(regs);
    assert_int_equal(live.status, TBMS_STATUS_UNKNOWN);
    assert_int_not_equal(live.status, TBMS_STATUS_CHARGING);
    assert_int_equal(tbms_status_from_raw(0x94), TBMS_STATUS_UNKNOWN);
    assert_int_equal(tbms_status_from_raw(0x0191), TBMS_STATUS_UNKNOWN);
    assert_int_equal(tbms_status_from_raw(0xFFFF), TBMS_STATUS_UNKNOWN);
}

static void test_status_names_are_static_text(void **state)
{
    (void)state;
    assert_string_equal(tbms_status_name(TBMS_STATUS_CHARGING), "Charging");
    assert_string_equal(tbms_status_name(TBMS_STATUS_FULLY_CHARGED), "Fully charged");
    assert_string_equal(tbms_status_name(TBMS_STATUS_DISCHARGING), "Discharging");
    assert_string_equal(tbms_status_name(TBMS_STATUS_SLEEP), "Sleep");
    assert_string_equal(tbms_status_name(TBMS_STATUS_REGENERATION), "Regeneration");
    assert_string_equal(tbms_status_name(TBMS_STATUS_IDLE), "Idle");
    assert_string_equal(tbms_status_name(TBMS_STATUS_FAULT), "Fault");
    assert_string_equal(tbms_status_name(TBMS_STATUS_UNKNOWN), "Unknown");
    assert_string_equal(tbms_status_name((tbms_status_t)0x42), "Unknown");
}

static void test_live_balancing_bits_aligned_like_cells(void **state)
{
    (void)state;
    uint16_t regs[TBMS_LIVE_REG_COUNT];
    clark_live(regs);
    regs[51] = 0x8004; /* positions 3 and 16 = cells 0 and 13 of 14 */
    regs[52] = 0x0008; /* position 4 = cell 1 */
    tbms_live_t live = decode_live_ok(regs);
    assert_int_equal(live.balance_need_raw, 0x8004);
    assert_int_equal(live.balance_need_bits, 0x2001);
    assert_int_equal(live.balance_active_raw, 0x0008);
    assert_int_equal(live.balance_active_bits, 0x0002);
}

static void test_live_speed_float_and_nan_speed_only_clears_speed_valid(void **state)
{
    (void)state;
    uint16_t regs[TBMS_LIVE_REG_COUNT];
    clark_live(regs);
    put32(regs, 54, 0x41480000u); /* 12.5 km/h */
    tbms_live_t live = decode_live_ok(regs);
    assert_true(live.speed_valid);
    assert_int_equal(live.speed_m_per_h, 12500);
    put32(regs, 54, 0x7FC00000u);
    live = decode_live_ok(regs);
    assert_false(live.speed_valid);
    assert_int_equal(live.speed_m_per_h, 0);
    assert_int_equal(live.pack_mv, 55780);
}

static void test_live_rejects_null_and_wrong_count(void **state)
{
    (void)state;
    uint16_t regs[TBMS_LIVE_REG_COUNT + 1];
    clark_live(regs);
    tbms_live_t live;
    assert_int_equal(tbms_decode_live(regs, TBMS_LIVE_REG_COUNT, NOW_MS, NULL), TBMS_ERR_ARG);
    memset(&live, 0xA5, sizeof(live));
    assert_int_equal(tbms_decode_live(NULL, TBMS_LIVE_REG_COUNT, NOW_MS, &live), TBMS_ERR_ARG);
    assert_false(live.valid);
    assert_int_equal(live.read_ms, NOW_MS);
    assert_int_equal(tbms_decode_live(regs, TBMS_LIVE_REG_COUNT - 1, NOW_MS, &live), TBMS_ERR_ARG);
    assert_false(live.valid);
    assert_int_equal(tbms_decode_live(regs, TBMS_LIVE_REG_COUNT + 1, NOW_MS, &live), TBMS_ERR_ARG);
    assert_int_equal(tbms_decode_live(regs, 0, NOW_MS, &live), TBMS_ERR_ARG);
}

/* ------------------------------------------------------------- stats */

static void clark_stats(uint16_t regs[TBMS_STATS_REG_COUNT])
{
    memset(regs, 0, TBMS_STATS_REG_COUNT * sizeof(regs[0]));
    put32(regs, 0, 0x00012345u); /* 100-101 */
    regs[2] = 510;               /* 102: 51.0 A */
    regs[3] = 123;               /* 103: 12.3 A */
    regs[4] = 1234;
    regs[5] = 1;
    regs[6] = 2;
    regs[7] = 3;
    regs[8] = 4;
    regs[9] = 5;
    regs[10] = 0xDEAD; /* 110 reserved */
    regs[11] = 77;
    regs[12] = 66;
    regs[13] = 0x1908; /* 113 */
    regs[14] = 0x0300; /* 114 */
    regs[15] = 0xBEEF; /* 115 reserved */
    regs[16] = 0x93CD;
    regs[17] = 0x00FE; /* 116-117 */
}

static void test_stats_decode_clark_vectors(void **state)
{
    (void)state;
    uint16_t regs[TBMS_STATS_REG_COUNT];
    clark_stats(regs);
    tbms_stats_t st;
    assert_int_equal(tbms_decode_stats(regs, TBMS_STATS_REG_COUNT, NOW_MS, &st), TBMS_OK);
    assert_true(st.valid);
    assert_int_equal(st.read_ms, NOW_MS);
    assert_int_equal(st.total_distance_10m, 0x00012345u);
    assert_int_equal(st.lifetime_max_discharge_ma, 51000u);
    assert_int_equal(st.lifetime_max_charge_ma, 12300u);
    assert_int_equal(st.max_cell_diff_100uv, 1234);
    assert_int_equal(st.uv_protection_count, 1);
    assert_int_equal(st.ov_protection_count, 2);
    assert_int_equal(st.discharge_oc_protection_count, 3);
    assert_int_equal(st.charge_oc_protection_count, 4);
    assert_int_equal(st.overheat_protection_count, 5);
    assert_int_equal(st.charging_count, 77);
    assert_int_equal(st.full_charge_count, 66);
    assert_int_equal(st.pack_temp_min_c, 8);
    assert_int_equal(st.pack_temp_max_c, 25);
    assert_int_equal(st.reset_cause, TBMS_RESET_UNKNOWN);
    assert_int_equal(st.wakeup, TBMS_WAKEUP_UART);
    assert_int_equal(st.wakeup_raw, 3);
    assert_int_equal(st.stats_cleared_s, 16683981u);
}

static void test_stats_pack_temps_are_signed_bytes(void **state)
{
    (void)state;
    uint16_t regs[TBMS_STATS_REG_COUNT];
    clark_stats(regs);
    regs[13] = 0x7F80; /* min -128, max 127 */
    tbms_stats_t st;
    assert_int_equal(tbms_decode_stats(regs, TBMS_STATS_REG_COUNT, NOW_MS, &st), TBMS_OK);
    assert_int_equal(st.pack_temp_min_c, -128);
    assert_int_equal(st.pack_temp_max_c, 127);
    regs[13] = 0xF6EC; /* -20 / -10 */
    assert_int_equal(tbms_decode_stats(regs, TBMS_STATS_REG_COUNT, NOW_MS, &st), TBMS_OK);
    assert_int_equal(st.pack_temp_min_c, -20);
    assert_int_equal(st.pack_temp_max_c, -10);
}

static void test_stats_reset_and_wakeup_codes_map_and_flag_undocumented(void **state)
{
    (void)state;
    uint16_t regs[TBMS_STATS_REG_COUNT];
    clark_stats(regs);
    tbms_stats_t st;
    regs[14] = 0x0207;
    assert_int_equal(tbms_decode_stats(regs, TBMS_STATS_REG_COUNT, NOW_MS, &st), TBMS_OK);
    assert_int_equal(st.reset_cause, TBMS_RESET_OPTION_BYTES);
    assert_int_equal(st.wakeup, TBMS_WAKEUP_DISCHARGING);
    regs[14] = 0x0408;
    assert_int_equal(tbms_decode_stats(regs, TBMS_STATS_REG_COUNT, NOW_MS, &st), TBMS_OK);
    assert_int_equal(st.reset_cause, TBMS_RESET_UNDOCUMENTED);
    assert_int_equal(st.reset_cause_raw, 8);
    assert_int_equal(st.wakeup, TBMS_WAKEUP_UNDOCUMENTED);
    assert_int_equal(st.wakeup_raw, 4);
    assert_string_equal(tbms_reset_cause_name(TBMS_RESET_POR_PDR), "POR/PDR reset");
    assert_string_equal(tbms_reset_cause_name(TBMS_RESET_UNDOCUMENTED), "Undocumented");
    assert_string_equal(tbms_wakeup_name(TBMS_WAKEUP_UART), "UART communication detected");
    assert_string_equal(tbms_wakeup_name((tbms_wakeup_t)9), "Undocumented");
    for (int c = 0; c <= 7; c++) {
        assert_non_null(tbms_reset_cause_name((tbms_reset_cause_t)c));
        assert_string_not_equal(tbms_reset_cause_name((tbms_reset_cause_t)c), "Undocumented");
    }
}

static void test_stats_rejects_null_and_wrong_count(void **state)
{
    (void)state;
    uint16_t regs[TBMS_STATS_REG_COUNT];
    clark_stats(regs);
    tbms_stats_t st;
    assert_int_equal(tbms_decode_stats(regs, TBMS_STATS_REG_COUNT, NOW_MS, NULL), TBMS_ERR_ARG);
    assert_int_equal(tbms_decode_stats(NULL, TBMS_STATS_REG_COUNT, NOW_MS, &st), TBMS_ERR_ARG);
    assert_false(st.valid);
    assert_int_equal(tbms_decode_stats(regs, TBMS_STATS_REG_COUNT - 1, NOW_MS, &st), TBMS_ERR_ARG);
    assert_false(st.valid);
    assert_int_equal(st.read_ms, NOW_MS);
}

/* ------------------------------------------------------------ events */

static void test_events_decode_clark_vectors(void **state)
{
    (void)state;
    uint16_t regs[TBMS_EVENTS_REG_COUNT] = {0};
    regs[0] = 0x1226;
    regs[1] = 0x6500; /* ID 0x65, TS 0x001226 */
    regs[2] = 0x4E2B;
    regs[3] = 0x64B9; /* ID 0x64, TS 0xB94E2B */
    tbms_events_t ev;
    assert_int_equal(tbms_decode_events(regs, TBMS_EVENTS_REG_COUNT, NOW_MS, &ev), TBMS_OK);
    assert_true(ev.valid);
    assert_int_equal(ev.read_ms, NOW_MS);
    assert_int_equal(ev.count, 2);
    /* newest first */
    assert_int_equal(ev.entry[0].timestamp_s, 0xB94E2Bu);
    assert_int_equal(ev.entry[0].id, 0x64);
    assert_int_equal(ev.entry[0].slot, 1);
    assert_int_equal(ev.entry[1].timestamp_s, 0x001226u);
    assert_int_equal(ev.entry[1].id, 0x65);
    assert_int_equal(ev.entry[1].slot, 0);
}

static void test_events_empty_slots_skipped(void **state)
{
    (void)state;
    uint16_t regs[TBMS_EVENTS_REG_COUNT] = {0};
    tbms_events_t ev;
    assert_int_equal(tbms_decode_events(regs, TBMS_EVENTS_REG_COUNT, NOW_MS, &ev), TBMS_OK);
    assert_true(ev.valid);
    assert_int_equal(ev.count, 0);

    regs[20] = 0x0001; /* slot 10: TS 1, ID 0: not empty */
    regs[97] = 0x6100; /* slot 48: TS 0, ID 0x61: not empty */
    assert_int_equal(tbms_decode_events(regs, TBMS_EVENTS_REG_COUNT, NOW_MS, &ev), TBMS_OK);
    assert_int_equal(ev.count, 2);
    assert_int_equal(ev.entry[0].slot, 10);
    assert_int_equal(ev.entry[0].timestamp_s, 1u);
    assert_int_equal(ev.entry[1].slot, 48);
    assert_int_equal(ev.entry[1].id, 0x61);
}

static void test_events_full_log_sorted_newest_first(void **state)
{
    (void)state;
    uint16_t regs[TBMS_EVENTS_REG_COUNT];
    /* circular buffer wrapped: slot 20 is the newest, slot 21 the oldest */
    for (unsigned k = 0; k < TBMS_EVENT_SLOTS; k++) {
        uint32_t age = (20u + TBMS_EVENT_SLOTS - k) % TBMS_EVENT_SLOTS;
        uint32_t ts = 0x100000u - age * 1000u;
        regs[2 * k] = (uint16_t)(ts & 0xFFFFu);
        regs[2 * k + 1] = (uint16_t)(((ts >> 16) & 0xFFu) | (0x62u << 8));
    }
    tbms_events_t ev;
    assert_int_equal(tbms_decode_events(regs, TBMS_EVENTS_REG_COUNT, NOW_MS, &ev), TBMS_OK);
    assert_int_equal(ev.count, TBMS_EVENT_SLOTS);
    assert_int_equal(ev.entry[0].slot, 20);
    assert_int_equal(ev.entry[0].timestamp_s, 0x100000u);
    assert_int_equal(ev.entry[TBMS_EVENT_SLOTS - 1].slot, 21);
    for (size_t i = 1; i < ev.count; i++) {
        assert_true(ev.entry[i - 1].timestamp_s > ev.entry[i].timestamp_s);
    }
}

static void test_events_equal_timestamps_put_higher_slot_first(void **state)
{
    (void)state;
    uint16_t regs[TBMS_EVENTS_REG_COUNT] = {0};
    regs[2 * 3] = 500;
    regs[2 * 3 + 1] = 0x6400;
    regs[2 * 4] = 500;
    regs[2 * 4 + 1] = 0x6200;
    tbms_events_t ev;
    assert_int_equal(tbms_decode_events(regs, TBMS_EVENTS_REG_COUNT, NOW_MS, &ev), TBMS_OK);
    assert_int_equal(ev.count, 2);
    assert_int_equal(ev.entry[0].slot, 4);
    assert_int_equal(ev.entry[1].slot, 3);
}

static void test_events_sort_by_age_survives_24bit_wrap(void **state)
{
    (void)state;
    uint16_t regs[TBMS_EVENTS_REG_COUNT] = {0};
    /* lifetime 0x01000100: events at 0xFFFF00 (before the wrap) and 0x000050 */
    regs[0] = 0xFF00;
    regs[1] = 0x03FF;
    regs[2] = 0x0050;
    regs[3] = 0x6100;
    tbms_events_t ev;
    assert_int_equal(tbms_decode_events(regs, TBMS_EVENTS_REG_COUNT, NOW_MS, &ev), TBMS_OK);
    assert_int_equal(ev.entry[0].timestamp_s, 0xFFFF00u); /* raw sort: wrong after the wrap */
    assert_int_equal(tbms_events_sort_by_age(&ev, 0x01000100u), TBMS_OK);
    assert_int_equal(ev.entry[0].timestamp_s, 0x000050u);
    assert_int_equal(ev.entry[1].timestamp_s, 0xFFFF00u);
    assert_int_equal(tbms_event_age_s(0x000050u, 0x01000100u), 0xB0u);
    assert_int_equal(tbms_event_age_s(0xFFFF00u, 0x01000100u), 0x200u);
    assert_int_equal(tbms_event_age_s(0xB94E2Bu, 16683981u), 16683981u - 0xB94E2Bu);
}

static void test_events_sort_by_age_rejects_bad_args(void **state)
{
    (void)state;
    tbms_events_t ev;
    memset(&ev, 0, sizeof(ev));
    assert_int_equal(tbms_events_sort_by_age(NULL, 0), TBMS_ERR_ARG);
    ev.count = TBMS_EVENT_SLOTS + 1;
    assert_int_equal(tbms_events_sort_by_age(&ev, 0), TBMS_ERR_ARG);
    ev.count = 0;
    assert_int_equal(tbms_events_sort_by_age(&ev, 0), TBMS_OK);
}

static void test_events_rejects_null_and_wrong_count(void **state)
{
    (void)state;
    uint16_t regs[TBMS_EVENTS_REG_COUNT] = {0};
    tbms_events_t ev;
    assert_int_equal(tbms_decode_events(regs, TBMS_EVENTS_REG_COUNT, NOW_MS, NULL), TBMS_ERR_ARG);
    assert_int_equal(tbms_decode_events(NULL, TBMS_EVENTS_REG_COUNT, NOW_MS, &ev), TBMS_ERR_ARG);
    assert_false(ev.valid);
    assert_int_equal(tbms_decode_events(regs, TBMS_EVENTS_REG_COUNT - 1, NOW_MS, &ev),
                     TBMS_ERR_ARG);
    assert_int_equal(tbms_decode_events(regs, 97, NOW_MS, &ev), TBMS_ERR_ARG);
    assert_false(ev.valid);
    assert_int_equal(ev.count, 0);
}

static void test_event_kind_by_id_range_boundaries(void **state)
{
    (void)state;
    assert_int_equal(tbms_event_kind(0x00), TBMS_EVENT_KIND_UNKNOWN);
    assert_int_equal(tbms_event_kind(0x01), TBMS_EVENT_KIND_FAULT);
    assert_int_equal(tbms_event_kind(0x30), TBMS_EVENT_KIND_FAULT);
    assert_int_equal(tbms_event_kind(0x31), TBMS_EVENT_KIND_WARNING);
    assert_int_equal(tbms_event_kind(0x60), TBMS_EVENT_KIND_WARNING);
    assert_int_equal(tbms_event_kind(0x61), TBMS_EVENT_KIND_INFO);
    assert_int_equal(tbms_event_kind(0x90), TBMS_EVENT_KIND_INFO);
    assert_int_equal(tbms_event_kind(0x91), TBMS_EVENT_KIND_UNKNOWN);
    assert_int_equal(tbms_event_kind(0xFF), TBMS_EVENT_KIND_UNKNOWN);
}

static void test_event_names_for_documented_ids_unknown_otherwise(void **state)
{
    (void)state;
    static const uint8_t documented[] = {
        0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x0A, 0x0B, 0x0C, 0x0D, 0x0E, 0x0F,
        0x31, 0x37, 0x38, 0x39, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x73,
        0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7A, 0x7B, 0x7C, 0x7D,
    };
    size_t n_documented = 0;
    for (unsigned id = 0; id <= 0xFF; id++) {
        const char *name = tbms_event_name((uint8_t)id);
        assert_non_null(name);
        if (strcmp(name, "unknown") != 0) {
            n_documented++;
            assert_int_not_equal(tbms_event_kind((uint8_t)id), TBMS_EVENT_KIND_UNKNOWN);
        }
    }
    assert_int_equal(n_documented, sizeof(documented));
    for (size_t i = 0; i < sizeof(documented); i++) {
        assert_string_not_equal(tbms_event_name(documented[i]), "unknown");
    }
    assert_string_equal(tbms_event_name(0x02), "Under-voltage cutoff");
    assert_string_equal(tbms_event_name(0x03), "Over-voltage cutoff");
    assert_string_equal(tbms_event_name(0x65), "Charger disconnected");
    assert_string_equal(tbms_event_name(0x64), "Charger connected");
    assert_string_equal(tbms_event_name(0x01), "unknown");
    assert_string_equal(tbms_event_name(0x00), "unknown");
}

/* ---------------------------------------------------------- settings */

static void clark_settings(uint16_t regs[TBMS_SETTINGS_REG_COUNT])
{
    memset(regs, 0, TBMS_SETTINGS_REG_COUNT * sizeof(regs[0]));
    regs[300 - 300] = 4150;
    regs[301 - 300] = 3000;
    regs[303 - 300] = 3200;
    regs[304 - 300] = 1000;
    regs[306 - 300] = 6600;
    regs[307 - 300] = 14;
    regs[308 - 300] = 15;
    regs[315 - 300] = 4200;
    regs[316 - 300] = 2900;
    regs[317 - 300] = 60;
    regs[318 - 300] = 20;
    regs[319 - 300] = 60;
    regs[320 - 300] = 1;
    regs[328 - 300] = 0xFFFF;
}

static void test_settings_decode_clark_vectors(void **state)
{
    (void)state;
    uint16_t regs[TBMS_SETTINGS_REG_COUNT];
    clark_settings(regs);
    tbms_settings_t s;
    assert_int_equal(tbms_decode_settings(regs, TBMS_SETTINGS_REG_COUNT, NOW_MS, &s), TBMS_OK);
    assert_true(s.valid);
    assert_int_equal(s.read_ms, NOW_MS);
    assert_int_equal(s.fully_charged_mv, 4150);
    assert_int_equal(s.fully_discharged_mv, 3000);
    assert_int_equal(s.early_balancing_mv, 3200);
    assert_int_equal(s.charge_finished_ma, 1000);
    assert_int_equal(s.peak_discharge_a, 0);
    assert_int_equal(s.capacity_10mah, 6600);
    assert_int_equal(s.series_cells, 14);
    assert_int_equal(s.allowed_disbalance_mv, 15);
    assert_int_equal(s.over_voltage_mv, 4200);
    assert_int_equal(s.under_voltage_mv, 2900);
    assert_int_equal(s.discharge_oc_a, 60);
    assert_int_equal(s.charge_oc_a, 20);
    assert_int_equal(s.over_heat_c, 60);
    assert_int_equal(s.low_temp_charge_c, 1);
    assert_int_equal(s.soc_set_raw, TBMS_SET_READS_ACCEPTED);
}

static void test_settings_split_words_and_bytes(void **state)
{
    (void)state;
    uint16_t regs[TBMS_SETTINGS_REG_COUNT];
    clark_settings(regs);
    regs[312 - 300] = 0x86A0;
    regs[313 - 300] = 0x0001; /* 100000, low word first */
    regs[319 - 300] = 0xFFEC; /* -20 */
    regs[320 - 300] = 0xFFD8; /* -40 */
    regs[329 - 300] = 0x0005;
    regs[330 - 300] = 0x1E01; /* CC/CV, 30 s */
    regs[331 - 300] = 0xAB08; /* reserved high byte ignored */
    regs[337 - 300] = 0x0009;
    regs[342 - 300] = 0x0007;
    regs[343 - 300] = 0x0002;
    tbms_settings_t s;
    assert_int_equal(tbms_decode_settings(regs, TBMS_SETTINGS_REG_COUNT, NOW_MS, &s), TBMS_OK);
    assert_int_equal(s.pulses_per_unit, 100000u);
    assert_int_equal(s.over_heat_c, -20);
    assert_int_equal(s.low_temp_charge_c, -40);
    assert_int_equal(s.option_bits,
                     TBMS_OPT_INVERT_CURRENT_SENSOR | TBMS_OPT_ENABLE_CHARGE_RESTART);
    assert_int_equal(s.charger_type, 1);
    assert_int_equal(s.doc_timeout_s, 30);
    assert_int_equal(s.load_switch_type, 8);
    assert_int_equal(s.precharge_pin, 9);
    assert_int_equal(s.broadcast_time, 7);
    assert_int_equal(s.broadcast_protocol, 2);
}

static void test_settings_out_of_range_core_limits_are_invalid_data(void **state)
{
    (void)state;
    static const struct {
        unsigned addr;
        uint16_t bad;
        uint16_t good;
    } cases[] = {
        {300, 1199, 1200}, {300, 4501, 4500}, {301, 999, 1000},  {301, 3501, 3500},
        {307, 3, 4},       {307, 17, 16},     {315, 1199, 1200}, {315, 4501, 4500},
        {316, 799, 800},   {316, 3501, 3500}, {307, 0, 16},      {300, 0xFFFF, 4150},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint16_t regs[TBMS_SETTINGS_REG_COUNT];
        tbms_settings_t s;
        clark_settings(regs);
        regs[cases[i].addr - 300] = cases[i].good;
        assert_int_equal(tbms_decode_settings(regs, TBMS_SETTINGS_REG_COUNT, NOW_MS, &s), TBMS_OK);
        regs[cases[i].addr - 300] = cases[i].bad;
        assert_int_equal(tbms_decode_settings(regs, TBMS_SETTINGS_REG_COUNT, NOW_MS, &s),
                         TBMS_ERR_INVALID_DATA);
        assert_false(s.valid);
        assert_int_equal(s.fully_charged_mv, 0);
    }
}

static void test_settings_encode_is_inverse_of_decode(void **state)
{
    (void)state;
    uint16_t regs[TBMS_SETTINGS_REG_COUNT];
    clark_settings(regs);
    regs[305 - 300] = 100;
    regs[310 - 300] = 20;
    regs[311 - 300] = 5;
    regs[312 - 300] = 0x1234;
    regs[313 - 300] = 0x0001;
    regs[314 - 300] = 2;
    regs[319 - 300] = 0xFFEC;
    regs[321 - 300] = 80;
    regs[322 - 300] = 5000;
    regs[323 - 300] = 0xFFFF;
    regs[329 - 300] = 0x0006;
    regs[330 - 300] = 0x0A01;
    for (unsigned a = 331; a <= 343; a++) {
        regs[a - 300] = (uint16_t)(a - 330);
    }
    tbms_settings_t s;
    assert_int_equal(tbms_decode_settings(regs, TBMS_SETTINGS_REG_COUNT, NOW_MS, &s), TBMS_OK);
    uint16_t words[TBMS_SETTINGS_REG_COUNT + 2];
    memset(words, 0x5A, sizeof(words));
    assert_int_equal(tbms_encode_settings(&s, words, TBMS_SETTINGS_REG_COUNT + 2), TBMS_OK);
    assert_memory_equal(words, regs, sizeof(regs));
    assert_int_equal(words[TBMS_SETTINGS_REG_COUNT], 0x5A5A); /* nothing past the block */
}

static void test_settings_encode_writes_32bit_low_word_first(void **state)
{
    (void)state;
    tbms_settings_t s;
    memset(&s, 0, sizeof(s));
    s.pulses_per_unit = 0x00018765u;
    s.low_temp_charge_c = -40;
    uint16_t words[TBMS_SETTINGS_REG_COUNT];
    assert_int_equal(tbms_encode_settings(&s, words, TBMS_SETTINGS_REG_COUNT), TBMS_OK);
    assert_int_equal(words[312 - 300], 0x8765);
    assert_int_equal(words[313 - 300], 0x0001);
    assert_int_equal(words[320 - 300], 0xFFD8);
}

static void test_settings_rejects_null_wrong_count_and_small_buffer(void **state)
{
    (void)state;
    uint16_t regs[TBMS_SETTINGS_REG_COUNT];
    clark_settings(regs);
    tbms_settings_t s;
    assert_int_equal(tbms_decode_settings(regs, TBMS_SETTINGS_REG_COUNT, NOW_MS, NULL),
                     TBMS_ERR_ARG);
    assert_int_equal(tbms_decode_settings(NULL, TBMS_SETTINGS_REG_COUNT, NOW_MS, &s), TBMS_ERR_ARG);
    assert_false(s.valid);
    assert_int_equal(tbms_decode_settings(regs, TBMS_SETTINGS_REG_COUNT + 1, NOW_MS, &s),
                     TBMS_ERR_ARG);
    assert_int_equal(tbms_decode_settings(regs, 43, NOW_MS, &s), TBMS_ERR_ARG);

    assert_int_equal(tbms_decode_settings(regs, TBMS_SETTINGS_REG_COUNT, NOW_MS, &s), TBMS_OK);
    uint16_t words[TBMS_SETTINGS_REG_COUNT];
    memset(words, 0x5A, sizeof(words));
    assert_int_equal(tbms_encode_settings(NULL, words, TBMS_SETTINGS_REG_COUNT), TBMS_ERR_ARG);
    assert_int_equal(tbms_encode_settings(&s, NULL, TBMS_SETTINGS_REG_COUNT), TBMS_ERR_ARG);
    assert_int_equal(tbms_encode_settings(&s, words, TBMS_SETTINGS_REG_COUNT - 1),
                     TBMS_ERR_BUF_SMALL);
    assert_int_equal(words[0], 0x5A5A); /* nothing written */
}

/* ----------------------------------------------------------- version */

static void test_version_decode_clark_vectors(void **state)
{
    (void)state;
    uint16_t regs[TBMS_VERSION_REG_COUNT] = {0x0102, 0x0301, 242,    0x0418, 0x2211,
                                             0x4433, 0x6655, 0x8877, 0xAA99, 0xCCBB};
    tbms_version_t v;
    assert_int_equal(tbms_decode_version(regs, TBMS_VERSION_REG_COUNT, NOW_MS, &v), TBMS_OK);
    assert_true(v.valid);
    assert_int_equal(v.read_ms, NOW_MS);
    assert_int_equal(v.hw_version, 2);
    assert_int_equal(v.hw_changes, 1);
    assert_int_equal(v.fw_public, 1);
    assert_int_equal(v.power_type, TBMS_POWER_HIGH);
    assert_int_equal(v.current_sensor, TBMS_SENSOR_INTERNAL_HALL);
    assert_int_equal(v.fw_internal, 242);
    assert_int_equal(v.bootloader, 24);
    assert_int_equal(v.profile, 4);
    static const uint8_t serial[TBMS_SERIAL_LEN] = {0x11, 0x22, 0x33, 0x44, 0x55, 0x66,
                                                    0x77, 0x88, 0x99, 0xAA, 0xBB, 0xCC};
    assert_memory_equal(v.serial, serial, sizeof(serial));
}

static void test_version_power_type_and_sensor_bits(void **state)
{
    (void)state;
    uint16_t regs[TBMS_VERSION_REG_COUNT] = {0};
    tbms_version_t v;
    regs[1] = 0x0005; /* low power, internal resistor, FW 5 */
    assert_int_equal(tbms_decode_version(regs, TBMS_VERSION_REG_COUNT, NOW_MS, &v), TBMS_OK);
    assert_int_equal(v.fw_public, 5);
    assert_int_equal(v.power_type, TBMS_POWER_LOW);
    assert_int_equal(v.current_sensor, TBMS_SENSOR_INTERNAL_RESISTOR);
    regs[1] = 0x0400; /* external */
    assert_int_equal(tbms_decode_version(regs, TBMS_VERSION_REG_COUNT, NOW_MS, &v), TBMS_OK);
    assert_int_equal(v.current_sensor, TBMS_SENSOR_EXTERNAL);
    assert_int_equal(v.power_type, TBMS_POWER_LOW);
    regs[1] = 0xFFFF; /* reserved bits 11-15 ignored, BCS 3 undocumented */
    assert_int_equal(tbms_decode_version(regs, TBMS_VERSION_REG_COUNT, NOW_MS, &v), TBMS_OK);
    assert_int_equal(v.current_sensor, TBMS_SENSOR_UNDOCUMENTED);
    assert_int_equal(v.power_type, TBMS_POWER_HIGH);
    assert_int_equal(v.fw_public, 0xFF);
}

static void test_version_rejects_null_and_wrong_count(void **state)
{
    (void)state;
    uint16_t regs[TBMS_VERSION_REG_COUNT] = {0};
    tbms_version_t v;
    assert_int_equal(tbms_decode_version(regs, TBMS_VERSION_REG_COUNT, NOW_MS, NULL), TBMS_ERR_ARG);
    assert_int_equal(tbms_decode_version(NULL, TBMS_VERSION_REG_COUNT, NOW_MS, &v), TBMS_ERR_ARG);
    assert_false(v.valid);
    assert_int_equal(tbms_decode_version(regs, 4, NOW_MS, &v), TBMS_ERR_ARG);
    assert_false(v.valid);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_live_pack_voltage_float_low_word_first),
        cmocka_unit_test(test_live_seed_float_vectors_decode_to_mv_and_ma),
        cmocka_unit_test(test_live_float_rounds_half_away_from_zero),
        cmocka_unit_test(test_live_float_conversion_matches_exact_arithmetic),
        cmocka_unit_test(test_live_lifetime_and_time_left_use_both_words_low_first),
        cmocka_unit_test(test_live_soc_uses_both_words_low_first),
        cmocka_unit_test(test_live_soc_exactly_100_percent_is_accepted),
        cmocka_unit_test(test_live_soc_above_100_percent_is_invalid_data),
        cmocka_unit_test(test_live_14_cells_are_top_aligned_in_regs_2_to_15),
        cmocka_unit_test(test_live_16_cells_use_all_registers),
        cmocka_unit_test(test_live_zero_cells_reported_with_no_cell_values),
        cmocka_unit_test(test_live_more_than_16_cells_is_invalid_data),
        cmocka_unit_test(test_live_nonzero_register_below_aligned_cells_is_invalid_data),
        cmocka_unit_test(test_live_nan_or_inf_voltage_is_invalid_data),
        cmocka_unit_test(test_live_nan_or_inf_current_is_invalid_data),
        cmocka_unit_test(test_live_voltage_limits_are_inclusive),
        cmocka_unit_test(test_live_absurd_current_is_invalid_data),
        cmocka_unit_test(test_live_absent_temperature_sensor_is_flagged_not_shown),
        cmocka_unit_test(test_live_soh_scales_0_002_percent),
        cmocka_unit_test(test_live_soh_above_full_scale_only_clears_soh_valid),
        cmocka_unit_test(test_live_status_codes_decode_to_enum),
        cmocka_unit_test(test_live_status_zero_is_unknown_never_charging),
        cmocka_unit_test(test_status_names_are_static_text),
        cmocka_unit_test(test_live_balancing_bits_aligned_like_cells),
        cmocka_unit_test(test_live_speed_float_and_nan_speed_only_clears_speed_valid),
        cmocka_unit_test(test_live_rejects_null_and_wrong_count),
        cmocka_unit_test(test_stats_decode_clark_vectors),
        cmocka_unit_test(test_stats_pack_temps_are_signed_bytes),
        cmocka_unit_test(test_stats_reset_and_wakeup_codes_map_and_flag_undocumented),
        cmocka_unit_test(test_stats_rejects_null_and_wrong_count),
        cmocka_unit_test(test_events_decode_clark_vectors),
        cmocka_unit_test(test_events_empty_slots_skipped),
        cmocka_unit_test(test_events_full_log_sorted_newest_first),
        cmocka_unit_test(test_events_equal_timestamps_put_higher_slot_first),
        cmocka_unit_test(test_events_sort_by_age_survives_24bit_wrap),
        cmocka_unit_test(test_events_sort_by_age_rejects_bad_args),
        cmocka_unit_test(test_events_rejects_null_and_wrong_count),
        cmocka_unit_test(test_event_kind_by_id_range_boundaries),
        cmocka_unit_test(test_event_names_for_documented_ids_unknown_otherwise),
        cmocka_unit_test(test_settings_decode_clark_vectors),
        cmocka_unit_test(test_settings_split_words_and_bytes),
        cmocka_unit_test(test_settings_out_of_range_core_limits_are_invalid_data),
        cmocka_unit_test(test_settings_encode_is_inverse_of_decode),
        cmocka_unit_test(test_settings_encode_writes_32bit_low_word_first),
        cmocka_unit_test(test_settings_rejects_null_wrong_count_and_small_buffer),
        cmocka_unit_test(test_version_decode_clark_vectors),
        cmocka_unit_test(test_version_power_type_and_sensor_bits),
        cmocka_unit_test(test_version_rejects_null_and_wrong_count),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
