/*
 * test_victron_alarms.c - black-box tests of the 0x35A alarm/warning frame
 * (victron_alarms.h).
 *
 * Golden vectors: victron-can-bms.md B (BYD LVS <-> Venus 3.00): all OK is
 * AA AA AA AA AA AA AA AA, and one raised alarm sets the LOWER bit of its
 * pair (0b01) with every other pair still OK (0b10). Positions from A.3.
 *
 * Includes victron_alarms.h alone (not victron_can.h first) on purpose:
 * the header must stand on its own.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "victron_alarms.h"

static vcan_frame_t frame8(uint16_t id, const uint8_t bytes[8])
{
    vcan_frame_t f;
    memset(&f, 0, sizeof f);
    f.id = id;
    f.dlc = 8;
    memcpy(f.data, bytes, 8);
    return f;
}

#define FRAME35A(...) frame8(0x35A, (const uint8_t[8]){__VA_ARGS__})

static const uint8_t all_ok_bytes[8] = {0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA};

/*
 * Raises one condition (alarm, or warning when `warning`) on an otherwise
 * all-OK struct and checks that exactly `byte` changes from 0xAA to
 * `expected`, then that the frame decodes back to the same struct.
 */
static void check_single(vcan_cond_t cond, bool warning, size_t byte, uint8_t expected)
{
    vcan_alarms_t a;
    vcan_alarms_all_ok(&a);
    if (warning) {
        a.warning[cond] = VCAN_PAIR_ACTIVE;
    } else {
        a.alarm[cond] = VCAN_PAIR_ACTIVE;
    }

    vcan_frame_t f;
    assert_int_equal(vcan_encode_alarms(&a, &f), VCAN_OK);
    assert_int_equal(f.id, 0x35A);
    assert_int_equal(f.dlc, 8);
    uint8_t exp[8];
    memcpy(exp, all_ok_bytes, 8);
    exp[byte] = expected;
    assert_memory_equal(f.data, exp, 8);

    vcan_alarms_t back;
    assert_int_equal(vcan_decode_alarms(&f, &back), VCAN_OK);
    assert_memory_equal(&back, &a, sizeof a);
}

/* One test per condition and half, named by behaviour. In the BYD
 * vectors a single alarm at pair k reads (0xAA & ~(3 << 2k)) | (1 << 2k);
 * B lists just the lower-bit value, e.g. "0x04 = high voltage". */
#define SINGLE(name, cond, byte, bits)                                                             \
    static void test_victron_35a_##name##_alarm_sets_low_bit(void **state)                         \
    {                                                                                              \
        (void)state;                                                                               \
        check_single(cond, false, byte, (uint8_t)((0xAAu & ~((bits)*3u)) | (bits)));               \
    }                                                                                              \
    static void test_victron_35a_##name##_warning_sets_low_bit_4_bytes_later(void **state)         \
    {                                                                                              \
        (void)state;                                                                               \
        check_single(cond, true, (byte) + 4u, (uint8_t)((0xAAu & ~((bits)*3u)) | (bits)));         \
    }

/* Conditions with a BYD vector in section B. */
SINGLE(high_voltage, VCAN_COND_HIGH_VOLTAGE, 0u, 0x04u)
SINGLE(low_voltage, VCAN_COND_LOW_VOLTAGE, 0u, 0x10u)
SINGLE(high_temperature, VCAN_COND_HIGH_TEMP, 0u, 0x40u)
SINGLE(low_temperature, VCAN_COND_LOW_TEMP, 1u, 0x01u)
SINGLE(high_temp_charge, VCAN_COND_HIGH_TEMP_CHARGE, 1u, 0x04u)
SINGLE(low_temp_charge, VCAN_COND_LOW_TEMP_CHARGE, 1u, 0x10u)
SINGLE(high_discharge_current, VCAN_COND_HIGH_DISCHARGE_CURRENT, 1u, 0x40u)
SINGLE(high_charge_current, VCAN_COND_HIGH_CHARGE_CURRENT, 2u, 0x01u)
SINGLE(bms_internal, VCAN_COND_BMS_INTERNAL, 2u, 0x40u)
SINGLE(cell_imbalance, VCAN_COND_CELL_IMBALANCE, 3u, 0x01u)
/* Positions from the A.3 table without a captured vector. */
SINGLE(general, VCAN_COND_GENERAL, 0u, 0x01u)
SINGLE(contactor, VCAN_COND_CONTACTOR, 2u, 0x04u)
SINGLE(short_circuit, VCAN_COND_SHORT_CIRCUIT, 2u, 0x10u)

static void test_victron_35a_single_alarm_bytes_match_byd_capture(void **state)
{
    (void)state;
    /* Spelled out once for the high-voltage alarm: byte 0 = 0xA6. */
    vcan_alarms_t a;
    vcan_alarms_all_ok(&a);
    a.alarm[VCAN_COND_HIGH_VOLTAGE] = VCAN_PAIR_ACTIVE;
    vcan_frame_t f;
    assert_int_equal(vcan_encode_alarms(&a, &f), VCAN_OK);
    assert_memory_equal(f.data,
                        ((const uint8_t[8]){0xA6, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA}), 8);
}

static void test_victron_35a_all_ok_encodes_to_aa_bytes(void **state)
{
    (void)state;
    vcan_alarms_t a;
    vcan_alarms_all_ok(&a);
    vcan_frame_t f;
    memset(&f, 0x5A, sizeof f);
    assert_int_equal(vcan_encode_alarms(&a, &f), VCAN_OK);
    assert_int_equal(f.id, 0x35A);
    assert_int_equal(f.dlc, 8);
    assert_memory_equal(f.data, all_ok_bytes, 8);
}

static void test_victron_35a_byd_all_ok_vector_decodes_to_ok_pairs(void **state)
{
    (void)state;
    vcan_frame_t f = frame8(0x35A, all_ok_bytes);
    vcan_alarms_t a;
    assert_int_equal(vcan_decode_alarms(&f, &a), VCAN_OK);
    for (size_t i = 0; i < VCAN_COND_COUNT; i++) {
        assert_int_equal(a.alarm[i], VCAN_PAIR_OK);
        assert_int_equal(a.warning[i], VCAN_PAIR_OK);
    }
    vcan_frame_t out;
    assert_int_equal(vcan_encode_alarms(&a, &out), VCAN_OK);
    assert_memory_equal(&out, &f, sizeof f);
}

static void test_victron_35a_pair_values_match_spec(void **state)
{
    (void)state;
    assert_int_equal(VCAN_PAIR_UNSUPPORTED, 0);
    assert_int_equal(VCAN_PAIR_ACTIVE, 1);
    assert_int_equal(VCAN_PAIR_OK, 2);
    assert_int_equal(VCAN_PAIR_INVALID, 3);
    assert_int_equal(VCAN_COND_COUNT, 16);
}

static void test_victron_35a_unsupported_conditions_encode_as_00(void **state)
{
    (void)state;
    vcan_alarms_t a;
    vcan_alarms_all_ok(&a);
    a.alarm[VCAN_COND_CONTACTOR] = VCAN_PAIR_UNSUPPORTED;
    a.alarm[VCAN_COND_SHORT_CIRCUIT] = VCAN_PAIR_UNSUPPORTED;
    a.warning[VCAN_COND_RESERVED_13] = VCAN_PAIR_UNSUPPORTED;
    a.warning[VCAN_COND_RESERVED_14] = VCAN_PAIR_UNSUPPORTED;
    a.warning[VCAN_COND_RESERVED_15] = VCAN_PAIR_UNSUPPORTED;
    vcan_frame_t f;
    assert_int_equal(vcan_encode_alarms(&a, &f), VCAN_OK);
    assert_memory_equal(f.data,
                        ((const uint8_t[8]){0xAA, 0xAA, 0x82, 0xAA, 0xAA, 0xAA, 0xAA, 0x02}), 8);
}

static void test_victron_35a_alarm_and_warning_together(void **state)
{
    (void)state;
    vcan_alarms_t a;
    vcan_alarms_all_ok(&a);
    a.alarm[VCAN_COND_LOW_VOLTAGE] = VCAN_PAIR_ACTIVE;
    a.warning[VCAN_COND_LOW_VOLTAGE] = VCAN_PAIR_ACTIVE;
    a.warning[VCAN_COND_HIGH_TEMP] = VCAN_PAIR_ACTIVE;
    vcan_frame_t f;
    assert_int_equal(vcan_encode_alarms(&a, &f), VCAN_OK);
    assert_memory_equal(f.data,
                        ((const uint8_t[8]){0x9A, 0xAA, 0xAA, 0xAA, 0x5A, 0xAA, 0xAA, 0xAA}), 8);
}

static void test_victron_35a_all_zero_frame_decodes_as_unsupported(void **state)
{
    (void)state;
    vcan_frame_t f = FRAME35A(0, 0, 0, 0, 0, 0, 0, 0);
    vcan_alarms_t a;
    assert_int_equal(vcan_decode_alarms(&f, &a), VCAN_OK);
    for (size_t i = 0; i < VCAN_COND_COUNT; i++) {
        assert_int_equal(a.alarm[i], VCAN_PAIR_UNSUPPORTED);
        assert_int_equal(a.warning[i], VCAN_PAIR_UNSUPPORTED);
    }
}

static void test_victron_35a_pair_11_decodes_as_invalid(void **state)
{
    (void)state;
    vcan_frame_t f = FRAME35A(0xAE, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xFF);
    vcan_alarms_t a;
    assert_int_equal(vcan_decode_alarms(&f, &a), VCAN_OK);
    assert_int_equal(a.alarm[VCAN_COND_GENERAL], VCAN_PAIR_OK);
    assert_int_equal(a.alarm[VCAN_COND_HIGH_VOLTAGE], VCAN_PAIR_INVALID);
    assert_int_equal(a.warning[VCAN_COND_CELL_IMBALANCE], VCAN_PAIR_INVALID);
    assert_int_equal(a.warning[VCAN_COND_RESERVED_15], VCAN_PAIR_INVALID);

    /* ...and is never sent back. */
    vcan_frame_t out;
    memset(&out, 0x5A, sizeof out);
    assert_int_equal(vcan_encode_alarms(&a, &out), VCAN_ERR_ARG);
    assert_int_equal(out.id, 0x5A5A);
}

static void test_victron_35a_inverted_peer_encoding_reads_as_ok(void **state)
{
    (void)state;
    /* thieryfr's gateway writes 0b10 for a raised alarm (A.3): on the wire
     * that means OK, and must decode as OK, not as an alarm. */
    vcan_frame_t f = FRAME35A(0x08, 0, 0, 0, 0, 0, 0, 0);
    vcan_alarms_t a;
    assert_int_equal(vcan_decode_alarms(&f, &a), VCAN_OK);
    assert_int_equal(a.alarm[VCAN_COND_HIGH_VOLTAGE], VCAN_PAIR_OK);
}

static void test_victron_35a_encoder_rejects_invalid_and_out_of_range_pairs(void **state)
{
    (void)state;
    vcan_frame_t out;
    memset(&out, 0x5A, sizeof out);
    vcan_frame_t before = out;

    vcan_alarms_t a;
    vcan_alarms_all_ok(&a);
    a.alarm[VCAN_COND_GENERAL] = VCAN_PAIR_INVALID;
    assert_int_equal(vcan_encode_alarms(&a, &out), VCAN_ERR_ARG);

    vcan_alarms_all_ok(&a);
    a.warning[VCAN_COND_RESERVED_15] = VCAN_PAIR_INVALID;
    assert_int_equal(vcan_encode_alarms(&a, &out), VCAN_ERR_ARG);

    vcan_alarms_all_ok(&a);
    a.warning[VCAN_COND_HIGH_VOLTAGE] = (vcan_pair_t)7;
    assert_int_equal(vcan_encode_alarms(&a, &out), VCAN_ERR_ARG);

    vcan_alarms_all_ok(&a);
    a.alarm[VCAN_COND_LOW_VOLTAGE] = (vcan_pair_t)-1;
    assert_int_equal(vcan_encode_alarms(&a, &out), VCAN_ERR_ARG);

    assert_memory_equal(&out, &before, sizeof out);
}

static void test_victron_35a_round_trips_every_pair_value_at_every_position(void **state)
{
    (void)state;
    const vcan_pair_t values[] = {VCAN_PAIR_UNSUPPORTED, VCAN_PAIR_ACTIVE, VCAN_PAIR_OK};
    for (size_t pos = 0; pos < VCAN_COND_COUNT; pos++) {
        for (size_t v = 0; v < 3; v++) {
            vcan_alarms_t a;
            vcan_alarms_all_ok(&a);
            a.alarm[pos] = values[v];
            a.warning[VCAN_COND_COUNT - 1u - pos] = values[(v + 1u) % 3u];
            vcan_frame_t f;
            assert_int_equal(vcan_encode_alarms(&a, &f), VCAN_OK);
            /* The alarm pair sits at byte pos/4, bits 2*(pos%4). */
            assert_int_equal((f.data[pos / 4u] >> (2u * (pos % 4u))) & 3u, values[v]);
            vcan_alarms_t back;
            assert_int_equal(vcan_decode_alarms(&f, &back), VCAN_OK);
            assert_memory_equal(&back, &a, sizeof a);
        }
    }
}

static void test_victron_35a_decoder_rejects_short_dlc_wrong_id_and_null(void **state)
{
    (void)state;
    vcan_alarms_t a;
    memset(&a, 0x5A, sizeof a);
    vcan_alarms_t before = a;

    vcan_frame_t f = frame8(0x35A, all_ok_bytes);
    for (uint8_t dlc = 0; dlc < 8; dlc++) {
        f.dlc = dlc;
        assert_int_equal(vcan_decode_alarms(&f, &a), VCAN_ERR_DLC);
    }
    f.dlc = 9;
    assert_int_equal(vcan_decode_alarms(&f, &a), VCAN_ERR_DLC);
    f.dlc = 8;
    f.id = 0x35B;
    assert_int_equal(vcan_decode_alarms(&f, &a), VCAN_ERR_ID);
    f.id = 0x35A | 0x800;
    assert_int_equal(vcan_decode_alarms(&f, &a), VCAN_ERR_ID);
    f.id = 0x35A;
    assert_int_equal(vcan_decode_alarms(NULL, &a), VCAN_ERR_ARG);
    assert_int_equal(vcan_decode_alarms(&f, NULL), VCAN_ERR_ARG);
    assert_memory_equal(&a, &before, sizeof a);
}

static void test_victron_35a_encoder_rejects_null(void **state)
{
    (void)state;
    vcan_alarms_t a;
    vcan_alarms_all_ok(&a);
    vcan_frame_t f;
    memset(&f, 0x5A, sizeof f);
    assert_int_equal(vcan_encode_alarms(NULL, &f), VCAN_ERR_ARG);
    assert_int_equal(vcan_encode_alarms(&a, NULL), VCAN_ERR_ARG);
    assert_int_equal(f.id, 0x5A5A);
    vcan_alarms_all_ok(NULL); /* documented as a no-op */
}

static void test_victron_35a_generic_decode_dispatches_to_alarms(void **state)
{
    (void)state;
    vcan_frame_t f = FRAME35A(0xAA, 0xAA, 0xEA, 0xAA, 0xAA, 0xAA, 0xAA, 0xA9);
    vcan_decoded_t d;
    assert_int_equal(vcan_decode(&f, &d), VCAN_OK);
    assert_int_equal(d.id, 0x35A);
    assert_int_equal(d.alarms.alarm[VCAN_COND_BMS_INTERNAL], VCAN_PAIR_INVALID);
    assert_int_equal(d.alarms.warning[VCAN_COND_CELL_IMBALANCE], VCAN_PAIR_ACTIVE);
    assert_int_equal(d.alarms.warning[VCAN_COND_GENERAL], VCAN_PAIR_OK);
}

#define SINGLE_TESTS(name)                                                                         \
    cmocka_unit_test(test_victron_35a_##name##_alarm_sets_low_bit),                                \
        cmocka_unit_test(test_victron_35a_##name##_warning_sets_low_bit_4_bytes_later)

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_victron_35a_all_ok_encodes_to_aa_bytes),
        cmocka_unit_test(test_victron_35a_byd_all_ok_vector_decodes_to_ok_pairs),
        cmocka_unit_test(test_victron_35a_single_alarm_bytes_match_byd_capture),
        SINGLE_TESTS(high_voltage),
        SINGLE_TESTS(low_voltage),
        SINGLE_TESTS(high_temperature),
        SINGLE_TESTS(low_temperature),
        SINGLE_TESTS(high_temp_charge),
        SINGLE_TESTS(low_temp_charge),
        SINGLE_TESTS(high_discharge_current),
        SINGLE_TESTS(high_charge_current),
        SINGLE_TESTS(bms_internal),
        SINGLE_TESTS(cell_imbalance),
        SINGLE_TESTS(general),
        SINGLE_TESTS(contactor),
        SINGLE_TESTS(short_circuit),
        cmocka_unit_test(test_victron_35a_pair_values_match_spec),
        cmocka_unit_test(test_victron_35a_unsupported_conditions_encode_as_00),
        cmocka_unit_test(test_victron_35a_alarm_and_warning_together),
        cmocka_unit_test(test_victron_35a_all_zero_frame_decodes_as_unsupported),
        cmocka_unit_test(test_victron_35a_pair_11_decodes_as_invalid),
        cmocka_unit_test(test_victron_35a_inverted_peer_encoding_reads_as_ok),
        cmocka_unit_test(test_victron_35a_encoder_rejects_invalid_and_out_of_range_pairs),
        cmocka_unit_test(test_victron_35a_round_trips_every_pair_value_at_every_position),
        cmocka_unit_test(test_victron_35a_decoder_rejects_short_dlc_wrong_id_and_null),
        cmocka_unit_test(test_victron_35a_encoder_rejects_null),
        cmocka_unit_test(test_victron_35a_generic_decode_dispatches_to_alarms),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
