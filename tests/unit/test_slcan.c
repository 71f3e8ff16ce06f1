/*
 * Black-box tests of slcan.h: encoding, the line accumulator in every
 * chunking, python-can's open sequence (test-peers.md), adapter replies,
 * malformed and overlong lines, the 0x305 keepalive line.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "slcan.h"

#define MAX_EVENTS 64

typedef struct {
    slcan_event_t ev[MAX_EVENTS];
    size_t n;
} events_t;

/* Feed bytes in chunks of `chunk` (0 = all at once), collecting events. */
static void feed_chunked(slcan_parser_t *p, const char *s, size_t len, size_t chunk, events_t *out)
{
    size_t pos = 0;
    while (pos < len) {
        size_t take = (chunk == 0u || len - pos < chunk) ? len - pos : chunk;
        const uint8_t *b = (const uint8_t *)s + pos;
        size_t off = 0;
        while (off < take) {
            slcan_event_t ev;
            size_t used = slcan_parser_feed(p, b + off, take - off, &ev);
            off += used;
            if (ev.kind != SLCAN_EV_NONE) {
                assert_true(out->n < MAX_EVENTS);
                out->ev[out->n++] = ev;
            } else {
                assert_int_equal(off, take);
            }
        }
        pos += take;
    }
}

static void feed_str(slcan_parser_t *p, const char *s, events_t *out)
{
    feed_chunked(p, s, strlen(s), 0, out);
}

static void test_encode_keepalive_305_zero_data(void **state)
{
    (void)state;
    vcan_frame_t f = {.id = 0x305, .dlc = 8, .data = {0}};
    char line[SLCAN_ENCODE_MAX];
    size_t len = 0;
    assert_int_equal(slcan_encode(&f, line, sizeof line, &len), SLCAN_OK);
    assert_int_equal(len, 22);
    assert_string_equal(line, "t30580000000000000000\r");
}

static void test_encode_351_upper_case_hex(void **state)
{
    (void)state;
    vcan_frame_t f = {
        .id = 0x351, .dlc = 8, .data = {0x48, 0x02, 0x00, 0x05, 0x00, 0x05, 0xAE, 0x01}};
    char line[SLCAN_ENCODE_MAX];
    size_t len = 0;
    assert_int_equal(slcan_encode(&f, line, sizeof line, &len), SLCAN_OK);
    assert_string_equal(line, "t3518480200050005AE01\r");
}

static void test_encode_rejects_bad_id_dlc_and_small_buffer(void **state)
{
    (void)state;
    char line[SLCAN_ENCODE_MAX];
    memset(line, 'x', sizeof line);
    size_t len = 99;
    vcan_frame_t f = {.id = 0x800, .dlc = 0};
    assert_int_equal(slcan_encode(&f, line, sizeof line, &len), SLCAN_ERR_ID_RANGE);
    f.id = 0x7FF;
    f.dlc = 9;
    assert_int_equal(slcan_encode(&f, line, sizeof line, &len), SLCAN_ERR_DLC_RANGE);
    f.dlc = 8;
    assert_int_equal(slcan_encode(&f, line, 22, &len), SLCAN_ERR_BUF_SMALL);
    assert_int_equal(line[0], 'x');
    assert_int_equal(len, 99);
    assert_int_equal(slcan_encode(NULL, line, sizeof line, &len), SLCAN_ERR_ARG);
    assert_int_equal(slcan_encode(&f, NULL, sizeof line, &len), SLCAN_ERR_ARG);
    assert_int_equal(slcan_encode(&f, line, sizeof line, NULL), SLCAN_ERR_ARG);
    f.dlc = 0;
    assert_int_equal(slcan_encode(&f, line, 7, &len), SLCAN_OK);
    assert_string_equal(line, "t7FF0\r");
}

static void test_round_trip_every_dlc_and_id_edges(void **state)
{
    (void)state;
    static const uint16_t ids[] = {0x000, 0x001, 0x0FF, 0x100, 0x305, 0x351, 0x7FE, 0x7FF};
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        for (uint8_t dlc = 0; dlc <= 8; dlc++) {
            vcan_frame_t f = {.id = ids[i], .dlc = dlc};
            for (uint8_t k = 0; k < dlc; k++) {
                f.data[k] = (uint8_t)(0xF0u ^ (k * 0x11u) ^ ids[i]);
            }
            char line[SLCAN_ENCODE_MAX];
            size_t len = 0;
            assert_int_equal(slcan_encode(&f, line, sizeof line, &len), SLCAN_OK);
            assert_int_equal(len, 6u + 2u * dlc);
            slcan_parser_t p;
            slcan_parser_init(&p);
            events_t evs = {0};
            feed_chunked(&p, line, len, 1, &evs);
            assert_int_equal(evs.n, 1);
            assert_int_equal(evs.ev[0].kind, SLCAN_EV_FRAME);
            assert_int_equal(evs.ev[0].frame.id, f.id);
            assert_int_equal(evs.ev[0].frame.dlc, f.dlc);
            assert_memory_equal(evs.ev[0].frame.data, f.data, 8);
            assert_false(evs.ev[0].has_timestamp);
            assert_int_equal(p.stats.frames, 1);
        }
    }
}

static void test_python_can_open_sequence_is_only_ignorable(void **state)
{
    (void)state;
    slcan_parser_t p;
    slcan_parser_init(&p);
    events_t evs = {0};
    feed_str(&p, "C\rS6\rO\rO\r", &evs);
    assert_int_equal(evs.n, 4);
    const char expect[] = {'C', 'S', 'O', 'O'};
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(evs.ev[i].kind, SLCAN_EV_COMMAND);
        assert_int_equal(evs.ev[i].cmd, expect[i]);
    }
    assert_int_equal(p.stats.commands, 4);
    assert_int_equal(p.stats.frames, 0);
    assert_int_equal(p.stats.malformed, 0);
}

static void test_keepalive_305_line_decodes(void **state)
{
    (void)state;
    slcan_parser_t p;
    slcan_parser_init(&p);
    events_t evs = {0};
    feed_str(&p, "t30580000000000000000\r", &evs);
    assert_int_equal(evs.n, 1);
    assert_int_equal(evs.ev[0].kind, SLCAN_EV_FRAME);
    assert_int_equal(evs.ev[0].frame.id, 0x305);
    assert_int_equal(evs.ev[0].frame.dlc, 8);
    const uint8_t zero[8] = {0};
    assert_memory_equal(evs.ev[0].frame.data, zero, 8);
}

static void test_lower_case_hex_is_accepted(void **state)
{
    (void)state;
    slcan_parser_t p;
    slcan_parser_init(&p);
    events_t evs = {0};
    feed_str(&p, "t7ff2abcd\r", &evs);
    assert_int_equal(evs.n, 1);
    assert_int_equal(evs.ev[0].kind, SLCAN_EV_FRAME);
    assert_int_equal(evs.ev[0].frame.id, 0x7FF);
    assert_int_equal(evs.ev[0].frame.data[0], 0xAB);
    assert_int_equal(evs.ev[0].frame.data[1], 0xCD);
}

static void test_every_chunking_of_a_mixed_stream_gives_same_events(void **state)
{
    (void)state;
    const char *stream = "\rt1232AABB\rz\r\aT12345678101\rr1230\rF00\r"
                         "t30580000000000000000\r";
    size_t len = strlen(stream);
    for (size_t chunk = 1; chunk <= len; chunk++) {
        slcan_parser_t p;
        slcan_parser_init(&p);
        events_t evs = {0};
        feed_chunked(&p, stream, len, chunk, &evs);
        assert_int_equal(evs.n, 8);
        assert_int_equal(evs.ev[0].kind, SLCAN_EV_ACK);
        assert_int_equal(evs.ev[1].kind, SLCAN_EV_FRAME);
        assert_int_equal(evs.ev[1].frame.id, 0x123);
        assert_int_equal(evs.ev[2].kind, SLCAN_EV_ACK);
        assert_int_equal(evs.ev[3].kind, SLCAN_EV_NACK);
        assert_int_equal(evs.ev[4].kind, SLCAN_EV_EXT_FRAME);
        assert_int_equal(evs.ev[4].id, 0x12345678);
        assert_true(evs.ev[4].extended);
        assert_int_equal(evs.ev[4].frame.dlc, 1);
        assert_int_equal(evs.ev[4].frame.data[0], 0x01);
        assert_int_equal(evs.ev[5].kind, SLCAN_EV_REMOTE);
        assert_int_equal(evs.ev[5].id, 0x123);
        assert_int_equal(evs.ev[6].kind, SLCAN_EV_COMMAND);
        assert_int_equal(evs.ev[6].cmd, 'F');
        assert_int_equal(evs.ev[7].kind, SLCAN_EV_FRAME);
        assert_int_equal(evs.ev[7].frame.id, 0x305);
        assert_int_equal(p.stats.malformed, 0);
    }
}

static void test_extended_frame_data_bytes(void **state)
{
    (void)state;
    slcan_parser_t p;
    slcan_parser_init(&p);
    events_t evs = {0};
    feed_str(&p, "T1FFFFFFF2BEEF\rT200000000\r", &evs);
    assert_int_equal(evs.n, 2);
    assert_int_equal(evs.ev[0].kind, SLCAN_EV_EXT_FRAME);
    assert_int_equal(evs.ev[0].id, 0x1FFFFFFF);
    assert_int_equal(evs.ev[0].frame.data[0], 0xBE);
    assert_int_equal(evs.ev[0].frame.data[1], 0xEF);
    assert_int_equal(evs.ev[1].kind, SLCAN_EV_MALFORMED);
    assert_int_equal(evs.ev[1].err, SLCAN_ERR_ID_RANGE);
    assert_int_equal(p.stats.ext_frames, 1);
}

static void test_bel_error_reply_is_nack(void **state)
{
    (void)state;
    slcan_parser_t p;
    slcan_parser_init(&p);
    events_t evs = {0};
    feed_str(&p, "\a\a", &evs);
    assert_int_equal(evs.n, 2);
    assert_int_equal(evs.ev[0].kind, SLCAN_EV_NACK);
    assert_int_equal(evs.ev[1].kind, SLCAN_EV_NACK);
    assert_int_equal(p.stats.nacks, 2);
}

static void test_bel_cuts_partial_line_as_truncated(void **state)
{
    (void)state;
    slcan_parser_t p;
    slcan_parser_init(&p);
    events_t evs = {0};
    feed_str(&p, "t12\at1230\r", &evs);
    assert_int_equal(evs.n, 3);
    assert_int_equal(evs.ev[0].kind, SLCAN_EV_MALFORMED);
    assert_int_equal(evs.ev[0].err, SLCAN_ERR_TRUNCATED);
    assert_int_equal(evs.ev[1].kind, SLCAN_EV_NACK);
    assert_int_equal(evs.ev[2].kind, SLCAN_EV_FRAME);
    assert_int_equal(evs.ev[2].frame.dlc, 0);
}

static void test_acks_z_and_crlf(void **state)
{
    (void)state;
    slcan_parser_t p;
    slcan_parser_init(&p);
    events_t evs = {0};
    feed_str(&p, "z\rZ\r\r\nt1230\r\nV1013\rN A1B\rZ1\r", &evs);
    assert_int_equal(evs.n, 7);
    assert_int_equal(evs.ev[0].kind, SLCAN_EV_ACK);
    assert_int_equal(evs.ev[1].kind, SLCAN_EV_ACK);
    assert_int_equal(evs.ev[2].kind, SLCAN_EV_ACK);
    assert_int_equal(evs.ev[3].kind, SLCAN_EV_FRAME);
    assert_int_equal(evs.ev[4].kind, SLCAN_EV_COMMAND);
    assert_int_equal(evs.ev[4].cmd, 'V');
    assert_int_equal(evs.ev[5].kind, SLCAN_EV_COMMAND);
    assert_int_equal(evs.ev[5].cmd, 'N');
    assert_int_equal(evs.ev[6].kind, SLCAN_EV_COMMAND);
    assert_int_equal(evs.ev[6].cmd, 'Z');
}

static void test_bit_rate_commands_s0_to_s8_only(void **state)
{
    (void)state;
    slcan_parser_t p;
    slcan_parser_init(&p);
    events_t evs = {0};
    feed_str(&p, "S0\rS8\rS9\rS\rS66\r", &evs);
    assert_int_equal(evs.n, 5);
    assert_int_equal(evs.ev[0].kind, SLCAN_EV_COMMAND);
    assert_int_equal(evs.ev[1].kind, SLCAN_EV_COMMAND);
    for (size_t i = 2; i < 5; i++) {
        assert_int_equal(evs.ev[i].kind, SLCAN_EV_MALFORMED);
        assert_int_equal(evs.ev[i].err, SLCAN_ERR_UNKNOWN_CMD);
    }
}

static void test_timestamp_suffix_accepted_and_reported(void **state)
{
    (void)state;
    slcan_parser_t p;
    slcan_parser_init(&p);
    events_t evs = {0};
    feed_str(&p, "t3051AAEA5F\rt3050EA5F\rr1230BEEF\rt3051AAEA5\rt3051AAEA5FF\r", &evs);
    assert_int_equal(evs.n, 5);
    assert_int_equal(evs.ev[0].kind, SLCAN_EV_FRAME);
    assert_true(evs.ev[0].has_timestamp);
    assert_int_equal(evs.ev[0].timestamp_ms, 0xEA5F);
    assert_int_equal(evs.ev[0].frame.dlc, 1);
    assert_int_equal(evs.ev[0].frame.data[0], 0xAA);
    assert_int_equal(evs.ev[1].kind, SLCAN_EV_FRAME);
    assert_true(evs.ev[1].has_timestamp);
    assert_int_equal(evs.ev[1].frame.dlc, 0);
    assert_int_equal(evs.ev[2].kind, SLCAN_EV_REMOTE);
    assert_int_equal(evs.ev[2].timestamp_ms, 0xBEEF);
    assert_int_equal(evs.ev[3].kind, SLCAN_EV_MALFORMED);
    assert_int_equal(evs.ev[3].err, SLCAN_ERR_LENGTH);
    assert_int_equal(evs.ev[4].kind, SLCAN_EV_MALFORMED);
    assert_int_equal(evs.ev[4].err, SLCAN_ERR_LENGTH);
}

static void test_malformed_lines_counted_and_parser_recovers(void **state)
{
    (void)state;
    slcan_parser_t p;
    slcan_parser_init(&p);
    events_t evs = {0};
    /* bad hex id, dlc 9, dlc not a digit, short data, bad data hex,
     * id > 0x7FF, header too short, unknown letter, 'z' with text,
     * control byte inside a line; then a good frame. */
    feed_str(&p,
             "t12G0\rt1239\rt12301\rt1232AA\rt1231ZZ\rt8000\rt12\rq\rzz\rt1\x01"
             "230\rt1230\r",
             &evs);
    assert_int_equal(evs.n, 11);
    const slcan_err_t want[] = {SLCAN_ERR_HEX,        SLCAN_ERR_DLC_RANGE,   SLCAN_ERR_LENGTH,
                                SLCAN_ERR_LENGTH,     SLCAN_ERR_HEX,         SLCAN_ERR_ID_RANGE,
                                SLCAN_ERR_LENGTH,     SLCAN_ERR_UNKNOWN_CMD, SLCAN_ERR_LENGTH,
                                SLCAN_ERR_UNKNOWN_CMD};
    for (size_t i = 0; i < 10; i++) {
        assert_int_equal(evs.ev[i].kind, SLCAN_EV_MALFORMED);
        assert_int_equal(evs.ev[i].err, want[i]);
    }
    assert_int_equal(evs.ev[10].kind, SLCAN_EV_FRAME);
    assert_int_equal(p.stats.malformed, 10);
    assert_int_equal(p.stats.frames, 1);
}

static void test_overlong_line_dropped_then_next_line_parses(void **state)
{
    (void)state;
    slcan_parser_t p;
    slcan_parser_init(&p);
    events_t evs = {0};
    char big[400];
    memset(big, 'A', sizeof big);
    big[0] = 't';
    feed_chunked(&p, big, sizeof big, 7, &evs);
    assert_int_equal(evs.n, 0);
    feed_str(&p, "\rt3050\r", &evs);
    assert_int_equal(evs.n, 2);
    assert_int_equal(evs.ev[0].kind, SLCAN_EV_MALFORMED);
    assert_int_equal(evs.ev[0].err, SLCAN_ERR_OVERLONG);
    assert_int_equal(evs.ev[1].kind, SLCAN_EV_FRAME);
    assert_int_equal(p.stats.overlong, 1);
    assert_int_equal(p.stats.malformed, 1);
}

static void test_longest_valid_line_fits(void **state)
{
    (void)state;
    slcan_parser_t p;
    slcan_parser_init(&p);
    events_t evs = {0};
    const char *line = "T1FFFFFFF811223344556677881234\r";
    assert_int_equal(strlen(line) - 1u, SLCAN_LINE_MAX);
    feed_str(&p, line, &evs);
    assert_int_equal(evs.n, 1);
    assert_int_equal(evs.ev[0].kind, SLCAN_EV_EXT_FRAME);
    assert_int_equal(evs.ev[0].timestamp_ms, 0x1234);
    /* one more character is overlong */
    feed_str(&p, "T1FFFFFFF8112233445566778812345\r", &evs);
    assert_int_equal(evs.n, 2);
    assert_int_equal(evs.ev[1].err, SLCAN_ERR_OVERLONG);
}

static void test_null_arguments_are_harmless(void **state)
{
    (void)state;
    slcan_parser_t p;
    slcan_parser_init(&p);
    slcan_event_t ev;
    assert_int_equal(slcan_parser_feed(NULL, (const uint8_t *)"t", 1, &ev), 0);
    assert_int_equal(slcan_parser_feed(&p, (const uint8_t *)"t", 1, NULL), 0);
    assert_int_equal(slcan_parser_feed(&p, NULL, 0, &ev), 0);
    assert_int_equal(ev.kind, SLCAN_EV_NONE);
    assert_int_equal(slcan_parse_line(NULL, 3, &ev), SLCAN_ERR_ARG);
    assert_int_equal(slcan_parse_line("t", 1, NULL), SLCAN_ERR_ARG);
    slcan_parser_init(NULL);
    slcan_parser_reset_line(NULL);
}

static void test_parse_line_direct(void **state)
{
    (void)state;
    slcan_event_t ev;
    assert_int_equal(slcan_parse_line("t1000", 5, &ev), SLCAN_OK);
    assert_int_equal(ev.kind, SLCAN_EV_FRAME);
    assert_int_equal(slcan_parse_line("", 0, &ev), SLCAN_OK);
    assert_int_equal(ev.kind, SLCAN_EV_ACK);
    assert_int_equal(slcan_parse_line("t10", 3, &ev), SLCAN_ERR_LENGTH);
    assert_int_equal(ev.kind, SLCAN_EV_MALFORMED);
}

static void test_strerror_covers_every_code(void **state)
{
    (void)state;
    for (int e = 0; e < SLCAN_ERR_COUNT_; e++) {
        const char *s = slcan_strerror((slcan_err_t)e);
        assert_non_null(s);
        assert_string_not_equal(s, "unknown slcan error");
    }
    assert_string_equal(slcan_strerror(SLCAN_ERR_COUNT_), "unknown slcan error");
    assert_string_equal(slcan_strerror(SLCAN_OK), "OK");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encode_keepalive_305_zero_data),
        cmocka_unit_test(test_encode_351_upper_case_hex),
        cmocka_unit_test(test_encode_rejects_bad_id_dlc_and_small_buffer),
        cmocka_unit_test(test_round_trip_every_dlc_and_id_edges),
        cmocka_unit_test(test_python_can_open_sequence_is_only_ignorable),
        cmocka_unit_test(test_keepalive_305_line_decodes),
        cmocka_unit_test(test_lower_case_hex_is_accepted),
        cmocka_unit_test(test_every_chunking_of_a_mixed_stream_gives_same_events),
        cmocka_unit_test(test_extended_frame_data_bytes),
        cmocka_unit_test(test_bel_error_reply_is_nack),
        cmocka_unit_test(test_bel_cuts_partial_line_as_truncated),
        cmocka_unit_test(test_acks_z_and_crlf),
        cmocka_unit_test(test_bit_rate_commands_s0_to_s8_only),
        cmocka_unit_test(test_timestamp_suffix_accepted_and_reported),
        cmocka_unit_test(test_malformed_lines_counted_and_parser_recovers),
        cmocka_unit_test(test_overlong_line_dropped_then_next_line_parses),
        cmocka_unit_test(test_longest_valid_line_fits),
        cmocka_unit_test(test_null_arguments_are_harmless),
        cmocka_unit_test(test_parse_line_direct),
        cmocka_unit_test(test_strerror_covers_every_code),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
