/*
 * test_tbms_regs.c - black-box tests of the register catalog (tbms_regs.h).
 *
 * Facts checked against tinybms-uart.md section 5 and the seed defects of
 * seed-system.md 9.2 item 21. Settings vectors: the CLARK hardware dump.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "tbms_regs.h"

/* CLARK settings (tinybms-uart.md 5.4), plus a peak cutoff of 100 A. */
static tbms_settings_t clark(void)
{
    tbms_settings_t s;
    memset(&s, 0, sizeof(s));
    s.valid = true;
    s.fully_charged_mv = 4150;
    s.fully_discharged_mv = 3000;
    s.early_balancing_mv = 3200;
    s.charge_finished_ma = 1000;
    s.peak_discharge_a = 100;
    s.capacity_10mah = 6600;
    s.series_cells = 14;
    s.allowed_disbalance_mv = 15;
    s.over_voltage_mv = 4200;
    s.under_voltage_mv = 2900;
    s.discharge_oc_a = 60;
    s.charge_oc_a = 20;
    s.over_heat_c = 60;
    s.low_temp_charge_c = 1;
    s.soc_set_raw = 0xFFFF;
    return s;
}

/* ------------------------------------------------------------ catalog */

static void test_catalog_is_sorted_without_overlap(void **state)
{
    (void)state;
    size_t n = tbms_reg_count();
    assert_true(n > 0);
    for (size_t i = 1; i < n; i++) {
        const tbms_reg_t *prev = tbms_reg_at(i - 1);
        const tbms_reg_t *cur = tbms_reg_at(i);
        assert_non_null(prev);
        assert_non_null(cur);
        assert_true((unsigned)prev->address + prev->words <= cur->address);
    }
    assert_null(tbms_reg_at(n));
    assert_null(tbms_reg_at((size_t)-1));
}

static void test_catalog_entries_are_well_formed(void **state)
{
    (void)state;
    size_t n = tbms_reg_count();
    for (size_t i = 0; i < n; i++) {
        const tbms_reg_t *e = tbms_reg_at(i);
        assert_true(e->words >= 1 && e->words <= 6);
        assert_true(e->type < TBMS_REG_TYPE_COUNT_);
        assert_string_not_equal(tbms_reg_type_name((tbms_reg_type_t)e->type), "?");
        assert_true(e->scale_num > 0);
        assert_true(e->scale_den > 0);
        assert_non_null(e->unit);
        assert_non_null(e->name);
        assert_non_null(e->desc);
        assert_true(strlen(e->name) > 0);
        assert_true(strlen(e->desc) > 0);
        if (e->type == TBMS_REG_UINT32 || e->type == TBMS_REG_FLOAT || e->type == TBMS_REG_EVENT) {
            assert_int_equal(e->words, 2);
        }
        if (e->access == TBMS_REG_RW) {
            /* only 300..399 can be written (tinybms-uart.md 3) */
            assert_true(e->address >= 300 && e->address + e->words - 1 <= 399);
        } else {
            assert_int_equal(e->access, TBMS_REG_R);
            assert_false(e->address >= 300 && e->address <= 399);
            assert_int_equal(e->flags & (TBMS_REG_F_RANGE | TBMS_REG_F_INTERLOCK), 0);
        }
        if (e->flags & TBMS_REG_F_RANGE) {
            assert_true(e->min <= e->max);
        }
        for (size_t j = 0; j < i; j++) {
            assert_string_not_equal(tbms_reg_at(j)->name, e->name);
        }
    }
    assert_string_equal(tbms_reg_type_name(TBMS_REG_TYPE_COUNT_), "?");
}

static void test_catalog_covers_every_documented_block(void **state)
{
    (void)state;
    /* live 0..55 minus reserved 16..31 and 49 */
    for (uint16_t a = 0; a <= 55; a++) {
        bool reserved = (a >= 16 && a <= 31) || a == 49;
        if (reserved) {
            assert_null(tbms_reg_find(a));
        } else {
            assert_non_null(tbms_reg_find(a));
        }
    }
    /* statistics 100..117 minus 110, 115 */
    for (uint16_t a = 100; a <= 117; a++) {
        if (a == 110 || a == 115) {
            assert_null(tbms_reg_find(a));
        } else {
            assert_non_null(tbms_reg_find(a));
        }
    }
    /* events: 200..297, one 2-word entry per slot */
    size_t slots = 0;
    for (size_t i = 0; i < tbms_reg_count(); i++) {
        if (tbms_reg_at(i)->type == TBMS_REG_EVENT) {
            assert_int_equal(tbms_reg_at(i)->address, 200 + 2 * slots);
            slots++;
        }
    }
    assert_int_equal(slots, TBMS_EVENT_SLOTS);
    /* settings 300..343 minus 302, 309, 324..327 */
    for (uint16_t a = 300; a <= 343; a++) {
        bool reserved = a == 302 || a == 309 || (a >= 324 && a <= 327);
        const tbms_reg_t *e = tbms_reg_find(a);
        if (reserved) {
            assert_null(e);
        } else {
            assert_non_null(e);
            assert_int_equal(e->access, TBMS_REG_RW);
        }
    }
    /* version 500..509 */
    for (uint16_t a = 500; a <= 509; a++) {
        assert_non_null(tbms_reg_find(a));
    }
}

static void test_find_returns_entry_for_inner_word_of_multiword_register(void **state)
{
    (void)state;
    const tbms_reg_t *v = tbms_reg_find(36);
    assert_non_null(v);
    assert_ptr_equal(tbms_reg_find(37), v);
    assert_int_equal(v->type, TBMS_REG_FLOAT);
    assert_string_equal(v->unit, "V");
    assert_ptr_equal(tbms_reg_find(47), tbms_reg_find(46));
    assert_ptr_equal(tbms_reg_find(313), tbms_reg_find(312));
    assert_ptr_equal(tbms_reg_find(297), tbms_reg_find(296));
    assert_string_equal(tbms_reg_find(297)->name, "event_48");
    assert_string_equal(tbms_reg_find(200)->name, "event_0");
    for (uint16_t a = 504; a <= 509; a++) {
        assert_ptr_equal(tbms_reg_find(a), tbms_reg_find(504));
    }
    assert_int_equal(tbms_reg_find(504)->words, 6);
}

static void test_find_returns_null_for_reserved_and_unknown_addresses(void **state)
{
    (void)state;
    static const uint16_t none[] = {16,  31,  49,  56,  99,  110, 115, 118, 199, 298,
                                    299, 302, 309, 324, 327, 344, 399, 499, 510, 0xFFFF};
    for (size_t i = 0; i < sizeof(none) / sizeof(none[0]); i++) {
        assert_null(tbms_reg_find(none[i]));
    }
}

static void test_find_agrees_with_linear_scan_for_every_address(void **state)
{
    (void)state;
    for (uint32_t a = 0; a <= 0xFFFF; a++) {
        const tbms_reg_t *want = NULL;
        for (size_t i = 0; i < tbms_reg_count(); i++) {
            const tbms_reg_t *e = tbms_reg_at(i);
            if (a >= e->address && a < (uint32_t)e->address + e->words) {
                want = e;
            }
        }
        assert_ptr_equal(tbms_reg_find((uint16_t)a), want);
    }
}

static void test_catalog_types_and_scales_match_rev_d(void **state)
{
    (void)state;
    const tbms_reg_t *e;
    e = tbms_reg_find(0);
    assert_int_equal(e->type, TBMS_REG_UINT16);
    assert_int_equal(e->scale_num, 1);
    assert_int_equal(e->scale_den, 10);
    assert_string_equal(e->unit, "mV");
    e = tbms_reg_find(40);
    assert_int_equal(e->scale_den, 1); /* min cell: 1 mV, not 0.1 mV */
    e = tbms_reg_find(45);
    assert_int_equal(e->scale_den, 500); /* 0.002 % */
    assert_true(e->flags & TBMS_REG_F_NEW_FW);
    e = tbms_reg_find(46);
    assert_int_equal(e->type, TBMS_REG_UINT32);
    assert_int_equal(e->scale_den, 1000000);
    assert_int_equal(tbms_reg_find(38)->type, TBMS_REG_FLOAT);
    assert_int_equal(tbms_reg_find(42)->type, TBMS_REG_INT16);
    assert_int_equal(tbms_reg_find(50)->type, TBMS_REG_ENUM);
    assert_string_equal(tbms_reg_find(52)->name, "balancing_real");
    e = tbms_reg_find(102);
    assert_int_equal(e->scale_num, 100);
    assert_string_equal(e->unit, "mA");
    assert_int_equal(tbms_reg_find(113)->type, TBMS_REG_2XINT8);
    assert_int_equal(tbms_reg_find(114)->type, TBMS_REG_2XUINT8);
    /* seed defects 9.2 item 21 */
    assert_int_equal(tbms_reg_find(319)->type, TBMS_REG_INT16);
    assert_int_equal(tbms_reg_find(320)->type, TBMS_REG_INT16);
    assert_int_equal(tbms_reg_find(323)->scale_den, 500);
    assert_int_equal(tbms_reg_find(328)->scale_den, 500);
    assert_true(tbms_reg_find(328)->flags & TBMS_REG_F_READS_FFFF);
    assert_int_equal(tbms_reg_find(343)->max, 2);
    assert_string_equal(tbms_reg_find(332)->unit, "s");
    assert_int_equal(tbms_reg_find(329)->type, TBMS_REG_BITFIELD);
    assert_int_equal(tbms_reg_find(329)->max, 7);
    assert_string_equal(tbms_reg_find(305)->name, "peak_discharge_current_cutoff");
    assert_string_equal(tbms_reg_find(307)->name, "series_cells");
    assert_string_equal(tbms_reg_find(500)->name, "hw_version");
    assert_int_equal(tbms_reg_find(306)->scale_den, 100);
    assert_string_equal(tbms_reg_find(306)->unit, "Ah");
    assert_int_equal(tbms_reg_find(312)->type, TBMS_REG_UINT32);
    assert_int_equal(tbms_reg_find(312)->max, 100000);
    assert_int_equal(tbms_reg_find(331)->type, TBMS_REG_UINT8_LOW);
    assert_true(tbms_reg_find(340)->flags & TBMS_REG_F_RESTARTS);
}

static void test_catalog_flags_interlocked_and_board_dependent_settings(void **state)
{
    (void)state;
    for (size_t i = 0; i < tbms_reg_count(); i++) {
        const tbms_reg_t *e = tbms_reg_at(i);
        bool interlock = e->address == 300 || e->address == 301 || e->address == 305 ||
                         e->address == 315 || e->address == 316 || e->address == 317;
        bool board = e->address == 304 || e->address == 317 || e->address == 318;
        assert_int_equal((e->flags & TBMS_REG_F_INTERLOCK) != 0, interlock);
        assert_int_equal((e->flags & TBMS_REG_F_BOARD) != 0, board);
    }
}

/* -------------------------------------------------------- check_write */

static void test_write_to_read_only_register_is_refused(void **state)
{
    (void)state;
    tbms_settings_t s = clark();
    static const uint16_t ro[] = {0, 15, 36, 37, 46, 50, 100, 113, 200, 297, 500, 509};
    for (size_t i = 0; i < sizeof(ro) / sizeof(ro[0]); i++) {
        assert_int_equal(tbms_reg_check_write(ro[i], 0, &s), TBMS_ERR_READ_ONLY);
    }
}

static void test_write_to_unknown_or_reserved_address_is_range_error(void **state)
{
    (void)state;
    tbms_settings_t s = clark();
    static const uint16_t bad[] = {16, 49, 110, 298, 302, 309, 324, 327, 344, 399, 600, 0xFFFF};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(tbms_reg_check_write(bad[i], 1, &s), TBMS_ERR_RANGE);
    }
}

static void test_write_to_second_word_of_32bit_setting_is_range_error(void **state)
{
    (void)state;
    assert_int_equal(tbms_reg_check_write(313, 1, NULL), TBMS_ERR_RANGE);
    assert_int_equal(tbms_reg_check_write(312, 1, NULL), TBMS_OK);
}

static void test_write_range_boundaries(void **state)
{
    (void)state;
    static const struct {
        uint16_t addr;
        uint32_t raw;
        tbms_err_t want;
    } cases[] = {
        {303, 999, TBMS_ERR_RANGE},
        {303, 1000, TBMS_OK},
        {303, 4500, TBMS_OK},
        {303, 4501, TBMS_ERR_RANGE},
        {304, 99, TBMS_ERR_RANGE},
        {304, 100, TBMS_OK},
        {304, 5000, TBMS_OK},
        {304, 5001, TBMS_ERR_RANGE},
        {306, 9, TBMS_ERR_RANGE},
        {306, 10, TBMS_OK},
        {306, 65500, TBMS_OK},
        {306, 65501, TBMS_ERR_RANGE},
        {307, 3, TBMS_ERR_RANGE},
        {307, 4, TBMS_OK},
        {307, 16, TBMS_OK},
        {307, 17, TBMS_ERR_RANGE},
        {308, 14, TBMS_ERR_RANGE},
        {308, 100, TBMS_OK},
        {310, 4, TBMS_ERR_RANGE},
        {310, 60, TBMS_OK},
        {311, 0, TBMS_OK},
        {311, 61, TBMS_ERR_RANGE},
        {312, 0, TBMS_ERR_RANGE},
        {312, 100000, TBMS_OK},
        {312, 100001, TBMS_ERR_RANGE},
        {312, 0xFFFFFFFFu, TBMS_ERR_RANGE},
        {314, 0, TBMS_ERR_RANGE},
        {314, 5, TBMS_OK},
        {314, 6, TBMS_ERR_RANGE},
        {318, 0, TBMS_ERR_RANGE},
        {318, 750, TBMS_OK},
        {318, 751, TBMS_ERR_RANGE},
        {319, 19, TBMS_ERR_RANGE},
        {319, 20, TBMS_OK},
        {319, 90, TBMS_OK},
        {319, 91, TBMS_ERR_RANGE},
        {319, 0xFFFF, TBMS_ERR_RANGE},
        {320, 0xFFD8, TBMS_OK}, /* -40 */
        {320, 0xFFD7, TBMS_ERR_RANGE},
        {320, 10, TBMS_OK},
        {320, 11, TBMS_ERR_RANGE},
        {320, 0, TBMS_OK},
        {321, 59, TBMS_ERR_RANGE},
        {321, 95, TBMS_OK},
        {322, 9, TBMS_ERR_RANGE},
        {322, 65000, TBMS_OK},
        {323, 50000, TBMS_OK},
        {323, 50001, TBMS_ERR_RANGE},
        {323, 0xFFFF, TBMS_ERR_RANGE},
        {328, 0, TBMS_OK},
        {328, 0xFFFF, TBMS_ERR_RANGE},
        {329, 7, TBMS_OK},
        {329, 8, TBMS_ERR_RANGE},
        {330, 0x1E01, TBMS_OK},
        {330, 0x1F01, TBMS_ERR_RANGE},
        {330, 0x0000, TBMS_ERR_RANGE},
        {330, 0x0002, TBMS_ERR_RANGE},
        {331, 8, TBMS_OK},
        {331, 9, TBMS_ERR_RANGE},
        {331, 0x0100, TBMS_ERR_RANGE},
        {332, 0, TBMS_OK},
        {332, 30, TBMS_OK},
        {332, 31, TBMS_ERR_RANGE},
        {333, 0, TBMS_ERR_RANGE},
        {333, 9, TBMS_OK},
        {335, 0, TBMS_ERR_RANGE},
        {335, 7, TBMS_OK},
        {336, 3, TBMS_ERR_RANGE},
        {337, 0, TBMS_OK},
        {337, 1, TBMS_ERR_RANGE},
        {337, 2, TBMS_OK},
        {337, 9, TBMS_OK},
        {337, 10, TBMS_ERR_RANGE},
        {337, 0x10, TBMS_ERR_RANGE},
        {338, 7, TBMS_OK},
        {338, 8, TBMS_ERR_RANGE},
        {340, 1, TBMS_OK},
        {340, 2, TBMS_ERR_RANGE},
        {342, 0, TBMS_OK},
        {342, 8, TBMS_ERR_RANGE},
        {343, 2, TBMS_OK},
        {343, 3, TBMS_ERR_RANGE},
        {303, 0x10000, TBMS_ERR_RANGE},
        {343, 0x10002, TBMS_ERR_RANGE},
    };
    tbms_settings_t s = clark();
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        tbms_err_t got = tbms_reg_check_write(cases[i].addr, cases[i].raw, &s);
        if (got != cases[i].want) {
            print_error("reg %u raw 0x%X: got %d want %d\n", cases[i].addr, (unsigned)cases[i].raw,
                        got, cases[i].want);
        }
        assert_int_equal(got, cases[i].want);
    }
}

static void test_write_under_voltage_interlock_boundary(void **state)
{
    (void)state;
    tbms_settings_t s = clark(); /* fully discharged 3000 */
    assert_int_equal(tbms_reg_check_write(316, 2990, &s), TBMS_OK);
    assert_int_equal(tbms_reg_check_write(316, 2991, &s), TBMS_ERR_INTERLOCK);
    assert_int_equal(tbms_reg_check_write(316, 2989, &s), TBMS_OK);
}

static void test_write_fully_discharged_interlock_boundaries(void **state)
{
    (void)state;
    tbms_settings_t s = clark(); /* UV 2900, fully charged 4150 */
    assert_int_equal(tbms_reg_check_write(301, 2909, &s), TBMS_ERR_INTERLOCK);
    assert_int_equal(tbms_reg_check_write(301, 2910, &s), TBMS_OK);
    assert_int_equal(tbms_reg_check_write(301, 2911, &s), TBMS_OK);
    assert_int_equal(tbms_reg_check_write(301, 3500, &s), TBMS_OK);
    s.fully_charged_mv = 3200;
    assert_int_equal(tbms_reg_check_write(301, 3189, &s), TBMS_OK);
    assert_int_equal(tbms_reg_check_write(301, 3190, &s), TBMS_OK);
    assert_int_equal(tbms_reg_check_write(301, 3191, &s), TBMS_ERR_INTERLOCK);
}

static void test_write_fully_charged_interlock_boundaries(void **state)
{
    (void)state;
    tbms_settings_t s = clark(); /* fully discharged 3000, OV 4200 */
    assert_int_equal(tbms_reg_check_write(300, 3009, &s), TBMS_ERR_INTERLOCK);
    assert_int_equal(tbms_reg_check_write(300, 3010, &s), TBMS_OK);
    assert_int_equal(tbms_reg_check_write(300, 3011, &s), TBMS_OK);
    assert_int_equal(tbms_reg_check_write(300, 4189, &s), TBMS_OK);
    assert_int_equal(tbms_reg_check_write(300, 4190, &s), TBMS_OK);
    assert_int_equal(tbms_reg_check_write(300, 4191, &s), TBMS_ERR_INTERLOCK);
}

static void test_write_over_voltage_interlock_boundary(void **state)
{
    (void)state;
    tbms_settings_t s = clark(); /* fully charged 4150 */
    assert_int_equal(tbms_reg_check_write(315, 4159, &s), TBMS_ERR_INTERLOCK);
    assert_int_equal(tbms_reg_check_write(315, 4160, &s), TBMS_OK);
    assert_int_equal(tbms_reg_check_write(315, 4161, &s), TBMS_OK);
}

static void test_write_peak_and_discharge_oc_interlock_boundaries(void **state)
{
    (void)state;
    tbms_settings_t s = clark(); /* DOC 60 A, peak 100 A */
    assert_int_equal(tbms_reg_check_write(305, 59, &s), TBMS_ERR_INTERLOCK);
    assert_int_equal(tbms_reg_check_write(305, 60, &s), TBMS_ERR_INTERLOCK);
    assert_int_equal(tbms_reg_check_write(305, 61, &s), TBMS_OK);
    assert_int_equal(tbms_reg_check_write(305, 0, &s), TBMS_ERR_INTERLOCK);
    assert_int_equal(tbms_reg_check_write(305, 0x10000, &s), TBMS_ERR_RANGE);
    assert_int_equal(tbms_reg_check_write(317, 99, &s), TBMS_OK);
    assert_int_equal(tbms_reg_check_write(317, 100, &s), TBMS_ERR_INTERLOCK);
    assert_int_equal(tbms_reg_check_write(317, 101, &s), TBMS_ERR_INTERLOCK);
}

static void test_write_discharge_oc_skips_peak_interlock_on_old_firmware(void **state)
{
    (void)state;
    tbms_settings_t s = clark();
    s.peak_discharge_a = 0; /* register 305 absent before Rev D */
    assert_int_equal(tbms_reg_check_write(317, 750, &s), TBMS_OK);
    assert_int_equal(tbms_reg_check_write(317, 751, &s), TBMS_ERR_RANGE);
    assert_int_equal(tbms_reg_check_write(317, 0, &s), TBMS_ERR_RANGE);
}

static void test_write_range_is_checked_before_interlock(void **state)
{
    (void)state;
    tbms_settings_t s = clark();
    assert_int_equal(tbms_reg_check_write(316, 799, &s), TBMS_ERR_RANGE);
    assert_int_equal(tbms_reg_check_write(316, 799, NULL), TBMS_ERR_RANGE);
    assert_int_equal(tbms_reg_check_write(315, 4501, &s), TBMS_ERR_RANGE);
}

static void test_write_interlocked_register_needs_current_settings(void **state)
{
    (void)state;
    static const struct {
        uint16_t addr;
        uint32_t raw; /* inside the documented range */
    } interlocked[] = {{300, 4150}, {301, 3000}, {305, 100}, {315, 4200}, {316, 2900}, {317, 60}};
    for (size_t i = 0; i < sizeof(interlocked) / sizeof(interlocked[0]); i++) {
        assert_int_equal(tbms_reg_check_write(interlocked[i].addr, interlocked[i].raw, NULL),
                         TBMS_ERR_ARG);
    }
    assert_int_equal(tbms_reg_check_write(307, 16, NULL), TBMS_OK);
    assert_int_equal(tbms_reg_check_write(36, 0, NULL), TBMS_ERR_READ_ONLY);
}

static void test_write_clark_values_all_pass_against_themselves(void **state)
{
    (void)state;
    tbms_settings_t s = clark();
    assert_int_equal(tbms_reg_check_write(300, 4150, &s), TBMS_OK);
    assert_int_equal(tbms_reg_check_write(301, 3000, &s), TBMS_OK);
    assert_int_equal(tbms_reg_check_write(303, 3200, &s), TBMS_OK);
    assert_int_equal(tbms_reg_check_write(304, 1000, &s), TBMS_OK);
    assert_int_equal(tbms_reg_check_write(306, 6600, &s), TBMS_OK);
    assert_int_equal(tbms_reg_check_write(307, 14, &s), TBMS_OK);
    assert_int_equal(tbms_reg_check_write(308, 15, &s), TBMS_OK);
    assert_int_equal(tbms_reg_check_write(315, 4200, &s), TBMS_OK);
    assert_int_equal(tbms_reg_check_write(316, 2900, &s), TBMS_OK);
    assert_int_equal(tbms_reg_check_write(317, 60, &s), TBMS_OK);
    assert_int_equal(tbms_reg_check_write(318, 20, &s), TBMS_OK);
    assert_int_equal(tbms_reg_check_write(319, 60, &s), TBMS_OK);
    assert_int_equal(tbms_reg_check_write(320, 1, &s), TBMS_OK);
    /* 328 reads back 0xFFFF: writing that back is refused */
    assert_int_equal(tbms_reg_check_write(328, 0xFFFF, &s), TBMS_ERR_RANGE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_catalog_is_sorted_without_overlap),
        cmocka_unit_test(test_catalog_entries_are_well_formed),
        cmocka_unit_test(test_catalog_covers_every_documented_block),
        cmocka_unit_test(test_find_returns_entry_for_inner_word_of_multiword_register),
        cmocka_unit_test(test_find_returns_null_for_reserved_and_unknown_addresses),
        cmocka_unit_test(test_find_agrees_with_linear_scan_for_every_address),
        cmocka_unit_test(test_catalog_types_and_scales_match_rev_d),
        cmocka_unit_test(test_catalog_flags_interlocked_and_board_dependent_settings),
        cmocka_unit_test(test_write_to_read_only_register_is_refused),
        cmocka_unit_test(test_write_to_unknown_or_reserved_address_is_range_error),
        cmocka_unit_test(test_write_to_second_word_of_32bit_setting_is_range_error),
        cmocka_unit_test(test_write_range_boundaries),
        cmocka_unit_test(test_write_under_voltage_interlock_boundary),
        cmocka_unit_test(test_write_fully_discharged_interlock_boundaries),
        cmocka_unit_test(test_write_fully_charged_interlock_boundaries),
        cmocka_unit_test(test_write_over_voltage_interlock_boundary),
        cmocka_unit_test(test_write_peak_and_discharge_oc_interlock_boundaries),
        cmocka_unit_test(test_write_discharge_oc_skips_peak_interlock_on_old_firmware),
        cmocka_unit_test(test_write_range_is_checked_before_interlock),
        cmocka_unit_test(test_write_interlocked_register_needs_current_settings),
        cmocka_unit_test(test_write_clark_values_all_pass_against_themselves),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
