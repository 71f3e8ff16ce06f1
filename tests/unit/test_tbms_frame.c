/*
 * Black-box tests of tbms_frame.h. Golden vectors: the vendor document's
 * examples (Rev D 1.3.1-1.3.3) and the computed frames in tinybms-uart.md
 * section 2 and seed-system.md section 1.5.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "tbms_frame.h"

#define HEX(...) ((const uint8_t[]){__VA_ARGS__}), sizeof((const uint8_t[]){__VA_ARGS__})

/* Vendor doc 1.3.2: read cells 5..9, and the BMS's reply. */
static const uint8_t doc_read_req[] = {0xAA, 0x03, 0x00, 0x05, 0x00, 0x05, 0x8C, 0x13};
static const uint8_t doc_read_rsp[] = {0xAA, 0x03, 0x0A, 0x97, 0x40, 0x97, 0x40, 0x97,
                                       0x2C, 0x97, 0x2C, 0x97, 0x2C, 0x3E, 0xC7};
/* Vendor doc 1.3.1: write 315/316 = 4200/2500 mV, and the reply. */
static const uint8_t doc_write_req[] = {0xAA, 0x10, 0x01, 0x3B, 0x00, 0x02, 0x04,
                                        0x10, 0x68, 0x09, 0xC4, 0x19, 0x61};
static const uint8_t doc_write_rsp[] = {0xAA, 0x10, 0x01, 0x3B, 0x00, 0x02, 0x28, 0x22};
/* Vendor doc 1.3.3: read temperatures, and the reply (27.8 / 27.6 / 27.8 C). */
static const uint8_t doc_temp_req[] = {0xAA, 0x1B, 0x3F, 0x1B};
static const uint8_t doc_temp_rsp[] = {0xAA, 0x1B, 0x06, 0x16, 0x01, 0x14,
                                       0x01, 0x16, 0x01, 0x0E, 0x4E};

static void assert_crc_trailer(const uint8_t *f, size_t len)
{
    uint16_t crc = tbms_crc16(f, len - 2u);
    assert_int_equal(f[len - 2u], crc & 0xFFu);
    assert_int_equal(f[len - 1u], crc >> 8);
}

static void test_crc_matches_every_vendor_and_computed_vector(void **state)
{
    (void)state;
    static const struct {
        uint8_t b[16];
        size_t n;
    } v[] = {
        {{0xAA, 0x02, 0x05, 0x90, 0x83}, 5},             /* reset BMS */
        {{0xAA, 0x02, 0x01, 0x91, 0x40}, 5},             /* clear events */
        {{0xAA, 0x02, 0x02, 0xD1, 0x41}, 5},             /* clear statistics */
        {{0xAA, 0x11, 0xBF, 0x1C}, 4},                   /* newest events */
        {{0xAA, 0x12, 0xFF, 0x1D}, 4},                   /* all events */
        {{0xAA, 0x14, 0x7F, 0x1F}, 4},                   /* pack voltage */
        {{0xAA, 0x15, 0xBE, 0xDF}, 4},                   /* pack current */
        {{0xAA, 0x16, 0xFE, 0xDE}, 4},                   /* max cell */
        {{0xAA, 0x17, 0x3F, 0x1E}, 4},                   /* min cell */
        {{0xAA, 0x18, 0x7F, 0x1A}, 4},                   /* status */
        {{0xAA, 0x19, 0xBE, 0xDA}, 4},                   /* lifetime */
        {{0xAA, 0x1A, 0xFE, 0xDB}, 4},                   /* SOC */
        {{0xAA, 0x1C, 0x7E, 0xD9}, 4},                   /* cells */
        {{0xAA, 0x1E, 0xFF, 0x18}, 4},                   /* version */
        {{0xAA, 0x1F, 0x3E, 0xD8}, 4},                   /* ext version */
        {{0xAA, 0x20, 0x7E, 0xC8}, 4},                   /* speed */
        {{0xAA, 0x07, 0x10, 0x00, 0x00, 0x3C, 0xA9}, 7}, /* 0x07 16 regs @0 */
        {{0xAA, 0x07, 0x15, 0x20, 0x00, 0x35, 0x68}, 7}, /* 0x07 21 regs @32 */
        {{0xAA, 0x07, 0x06, 0xF4, 0x01, 0x5A, 0x6D}, 7}, /* 0x07 6 regs @500 */
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        assert_crc_trailer(v[i].b, v[i].n);
    }
    assert_crc_trailer(doc_read_req, sizeof doc_read_req);
    assert_crc_trailer(doc_read_rsp, sizeof doc_read_rsp);
    assert_crc_trailer(doc_write_req, sizeof doc_write_req);
    assert_crc_trailer(doc_write_rsp, sizeof doc_write_rsp);
    assert_crc_trailer(doc_temp_req, sizeof doc_temp_req);
    assert_crc_trailer(doc_temp_rsp, sizeof doc_temp_rsp);
    /* CRC-16/MODBUS check value over "123456789". */
    assert_int_equal(tbms_crc16((const uint8_t *)"123456789", 9), 0x4B37);
    assert_int_equal(tbms_crc16(NULL, 0), 0xFFFF);
}

static void check_read(uint16_t addr, uint16_t count, const uint8_t *want, size_t want_len)
{
    uint8_t buf[16];
    size_t n = 0;
    assert_int_equal(tbms_build_read(addr, count, buf, sizeof buf, &n), TBMS_OK);
    assert_int_equal(n, want_len);
    assert_memory_equal(buf, want, want_len);
}

static void test_build_read_matches_vendor_and_computed_frames(void **state)
{
    (void)state;
    check_read(5, 5, doc_read_req, sizeof doc_read_req);
    check_read(0, 56, HEX(0xAA, 0x03, 0x00, 0x00, 0x00, 0x38, 0x5D, 0xC3));
    check_read(300, 44, HEX(0xAA, 0x03, 0x01, 0x2C, 0x00, 0x2C, 0x9D, 0xF9));
    check_read(500, 10, HEX(0xAA, 0x03, 0x01, 0xF4, 0x00, 0x0A, 0x9C, 0x18));
    check_read(32, 21, HEX(0xAA, 0x03, 0x00, 0x20, 0x00, 0x15, 0x9C, 0x14));
    check_read(102, 2, HEX(0xAA, 0x03, 0x00, 0x66, 0x00, 0x02, 0x3D, 0xCF));
    check_read(315, 5, HEX(0xAA, 0x03, 0x01, 0x3B, 0x00, 0x05, 0xEC, 0x23));
}

static void test_build_read_rejects_bad_counts_and_buffers(void **state)
{
    (void)state;
    uint8_t buf[8];
    size_t n = 99;
    assert_int_equal(tbms_build_read(0, 0, buf, sizeof buf, &n), TBMS_ERR_RANGE);
    assert_int_equal(tbms_build_read(0, 128, buf, sizeof buf, &n), TBMS_ERR_RANGE);
    assert_int_equal(tbms_build_read(0xFFFF, 2, buf, sizeof buf, &n), TBMS_ERR_RANGE);
    assert_int_equal(tbms_build_read(0, 127, buf, sizeof buf, &n), TBMS_OK);
    assert_int_equal(tbms_build_read(0xFFFF, 1, buf, sizeof buf, &n), TBMS_OK);
    assert_int_equal(tbms_build_read(0, 1, buf, 7, &n), TBMS_ERR_BUF_SMALL);
    assert_int_equal(tbms_build_read(0, 1, NULL, 8, &n), TBMS_ERR_ARG);
    assert_int_equal(tbms_build_read(0, 1, buf, 8, NULL), TBMS_ERR_ARG);
}

static void test_build_write_matches_vendor_example(void **state)
{
    (void)state;
    const uint16_t v[2] = {4200, 2500};
    uint8_t buf[32];
    size_t n = 0;
    assert_int_equal(tbms_build_write(315, v, 2, buf, sizeof buf, &n), TBMS_OK);
    assert_int_equal(n, sizeof doc_write_req);
    assert_memory_equal(buf, doc_write_req, n);
}

static void test_build_write_rejects_bad_counts_and_buffers(void **state)
{
    (void)state;
    uint16_t v[101] = {0};
    uint8_t buf[256];
    size_t n;
    assert_int_equal(tbms_build_write(300, v, 0, buf, sizeof buf, &n), TBMS_ERR_RANGE);
    assert_int_equal(tbms_build_write(300, v, 101, buf, sizeof buf, &n), TBMS_ERR_RANGE);
    assert_int_equal(tbms_build_write(300, v, 100, buf, sizeof buf, &n), TBMS_OK);
    assert_int_equal(n, 209u);
    assert_int_equal(tbms_build_write(300, NULL, 1, buf, sizeof buf, &n), TBMS_ERR_ARG);
    assert_int_equal(tbms_build_write(300, v, 2, buf, 12, &n), TBMS_ERR_BUF_SMALL);
}

static void test_build_cmd_makes_proprietary_requests(void **state)
{
    (void)state;
    uint8_t buf[8];
    size_t n;
    uint8_t opt = 0x05;
    assert_int_equal(tbms_build_cmd(TBMS_CMD_RESET, &opt, 1, buf, sizeof buf, &n), TBMS_OK);
    assert_int_equal(n, 5u);
    assert_memory_equal(buf, ((const uint8_t[]){0xAA, 0x02, 0x05, 0x90, 0x83}), 5);
    assert_int_equal(tbms_build_cmd(TBMS_CMD_TEMPERATURES, NULL, 0, buf, sizeof buf, &n), TBMS_OK);
    assert_memory_equal(buf, doc_temp_req, sizeof doc_temp_req);
    const uint8_t rd07[] = {0x10, 0x00, 0x00};
    assert_int_equal(tbms_build_cmd(TBMS_CMD_READ_BLOCK, rd07, 3, buf, sizeof buf, &n), TBMS_OK);
    assert_memory_equal(buf, ((const uint8_t[]){0xAA, 0x07, 0x10, 0x00, 0x00, 0x3C, 0xA9}), 7);
    assert_int_equal(tbms_build_cmd(0x11, NULL, 1, buf, sizeof buf, &n), TBMS_ERR_ARG);
    assert_int_equal(tbms_build_cmd(0x11, NULL, 0, buf, 3, &n), TBMS_ERR_BUF_SMALL);
    uint8_t big[300] = {0};
    uint8_t out[320];
    assert_int_equal(tbms_build_cmd(0x1C, big, 257, out, sizeof out, &n), TBMS_ERR_RANGE);
}

static void test_parse_vendor_read_response_gives_cell_words(void **state)
{
    (void)state;
    tbms_frame_t f;
    assert_int_equal(tbms_parse(TBMS_DIR_RESPONSE, doc_read_rsp, sizeof doc_read_rsp, &f),
                     TBMS_OK);
    assert_int_equal(f.kind, TBMS_KIND_DATA);
    assert_int_equal(f.cmd, 0x03);
    assert_int_equal(f.count, 5);
    assert_int_equal(tbms_expect(&f, TBMS_CMD_MODBUS_READ), TBMS_OK);
    uint16_t regs[8];
    size_t n = 0;
    assert_int_equal(tbms_frame_registers(&f, regs, 8, &n), TBMS_OK);
    assert_int_equal(n, 5);
    const uint16_t want[5] = {0x9740, 0x9740, 0x972C, 0x972C, 0x972C};
    assert_memory_equal(regs, want, sizeof want);
    assert_int_equal(regs[0], 38720); /* 3.8720 V in 0.1 mV */
    assert_int_equal(tbms_frame_registers(&f, regs, 4, &n), TBMS_ERR_BUF_SMALL);
}

static void test_parse_vendor_write_response_echoes_block(void **state)
{
    (void)state;
    tbms_frame_t f;
    assert_int_equal(tbms_parse(TBMS_DIR_RESPONSE, doc_write_rsp, sizeof doc_write_rsp, &f),
                     TBMS_OK);
    assert_int_equal(f.cmd, 0x10);
    assert_int_equal(f.addr, 315);
    assert_int_equal(f.count, 2);
    assert_int_equal(tbms_expect(&f, TBMS_CMD_MODBUS_WRITE), TBMS_OK);
    assert_int_equal(tbms_expect(&f, TBMS_CMD_MODBUS_READ), TBMS_ERR_UNEXPECTED);
}

static void test_parse_vendor_temperature_response_keeps_payload(void **state)
{
    (void)state;
    tbms_frame_t f;
    assert_int_equal(tbms_parse(TBMS_DIR_RESPONSE, doc_temp_rsp, sizeof doc_temp_rsp, &f),
                     TBMS_OK);
    assert_int_equal(f.cmd, 0x1B);
    assert_int_equal(f.payload_len, 7);
    assert_memory_equal(f.payload, doc_temp_rsp + 2, 7);
    /* 0x0116 = 278 -> 27.8 C, little-endian in proprietary frames */
    assert_int_equal(f.payload[1] | (f.payload[2] << 8), 278);
}

static void test_parse_nack_reports_command_and_code(void **state)
{
    (void)state;
    uint8_t buf[8];
    size_t n;
    tbms_frame_t f;
    assert_int_equal(tbms_build_nack(0x03, TBMS_NACK_CRC_ERROR, buf, sizeof buf, &n), TBMS_OK);
    assert_int_equal(n, TBMS_NACK_LEN);
    assert_int_equal(tbms_parse(TBMS_DIR_RESPONSE, buf, n, &f), TBMS_OK);
    assert_int_equal(f.kind, TBMS_KIND_NACK);
    assert_int_equal(f.cmd, 0x03);
    assert_int_equal(f.nack_code, 0x01);
    assert_int_equal(tbms_expect(&f, 0x03), TBMS_ERR_NACK);
    assert_int_equal(tbms_expect(&f, 0x10), TBMS_ERR_UNEXPECTED);
    uint16_t regs[2];
    assert_int_equal(tbms_frame_registers(&f, regs, 2, &n), TBMS_ERR_ARG);
}

static void test_parse_ack_is_ok_for_its_command(void **state)
{
    (void)state;
    uint8_t buf[8];
    size_t n;
    tbms_frame_t f;
    assert_int_equal(tbms_build_ack(0x02, buf, sizeof buf, &n), TBMS_OK);
    assert_int_equal(n, TBMS_ACK_LEN);
    assert_int_equal(tbms_parse(TBMS_DIR_RESPONSE, buf, n, &f), TBMS_OK);
    assert_int_equal(f.kind, TBMS_KIND_ACK);
    assert_int_equal(tbms_expect(&f, 0x02), TBMS_OK);
    assert_int_equal(tbms_expect(NULL, 0x02), TBMS_ERR_UNEXPECTED);
}

static void test_parse_every_truncation_of_a_frame_is_truncated(void **state)
{
    (void)state;
    tbms_frame_t f;
    for (size_t len = 0; len < sizeof doc_read_rsp; len++) {
        assert_int_equal(tbms_parse(TBMS_DIR_RESPONSE, doc_read_rsp, len, &f), TBMS_ERR_TRUNCATED);
    }
    for (size_t len = 0; len < sizeof doc_write_req; len++) {
        assert_int_equal(tbms_parse(TBMS_DIR_REQUEST, doc_write_req, len, &f), TBMS_ERR_TRUNCATED);
    }
}

static void test_parse_overlong_frame_is_malformed(void **state)
{
    (void)state;
    uint8_t buf[sizeof doc_read_rsp + 1];
    memcpy(buf, doc_read_rsp, sizeof doc_read_rsp);
    buf[sizeof doc_read_rsp] = 0x00;
    tbms_frame_t f;
    assert_int_equal(tbms_parse(TBMS_DIR_RESPONSE, buf, sizeof buf, &f), TBMS_ERR_MALFORMED);
}

static void test_parse_any_flipped_bit_is_rejected(void **state)
{
    (void)state;
    tbms_frame_t f;
    uint8_t buf[sizeof doc_read_rsp];
    for (size_t i = 0; i < sizeof buf; i++) {
        for (unsigned bit = 0; bit < 8; bit++) {
            memcpy(buf, doc_read_rsp, sizeof buf);
            buf[i] ^= (uint8_t)(1u << bit);
            tbms_err_t e = tbms_parse(TBMS_DIR_RESPONSE, buf, sizeof buf, &f);
            assert_int_not_equal(e, TBMS_OK);
            if (i >= 3) { /* header intact: only the CRC can tell */
                assert_int_equal(e, TBMS_ERR_CRC);
            }
        }
    }
}

static void test_parse_rejects_impossible_headers(void **state)
{
    (void)state;
    tbms_frame_t f;
    /* not 0xAA first */
    assert_int_equal(tbms_parse(TBMS_DIR_RESPONSE, doc_read_rsp + 1, sizeof doc_read_rsp - 1, &f),
                     TBMS_ERR_MALFORMED);
    /* unknown command */
    uint8_t unk[] = {0xAA, 0x55, 0x00, 0x00, 0x00};
    assert_int_equal(tbms_parse(TBMS_DIR_RESPONSE, unk, sizeof unk, &f), TBMS_ERR_MALFORMED);
    /* 0x03 response with odd and zero byte counts */
    uint8_t odd[] = {0xAA, 0x03, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00};
    assert_int_equal(tbms_parse(TBMS_DIR_RESPONSE, odd, sizeof odd, &f), TBMS_ERR_MALFORMED);
    uint8_t zero[] = {0xAA, 0x03, 0x00, 0x00, 0x00};
    assert_int_equal(tbms_parse(TBMS_DIR_RESPONSE, zero, sizeof zero, &f), TBMS_ERR_MALFORMED);
    uint8_t big[] = {0xAA, 0x03, 0xFF};
    assert_int_equal(tbms_parse(TBMS_DIR_RESPONSE, big, sizeof big, &f), TBMS_ERR_MALFORMED);
    /* multi-packet proprietary reply (PL bit 7) is not framed */
    uint8_t multi[] = {0xAA, 0x07, 0x81, 0x00, 0x00};
    assert_int_equal(tbms_parse(TBMS_DIR_RESPONSE, multi, sizeof multi, &f), TBMS_ERR_MALFORMED);
    /* a 0x10 request whose PL disagrees with RL */
    uint8_t badpl[] = {0xAA, 0x10, 0x01, 0x3B, 0x00, 0x02, 0x05, 0, 0, 0, 0, 0, 0, 0};
    assert_int_equal(tbms_parse(TBMS_DIR_REQUEST, badpl, sizeof badpl, &f), TBMS_ERR_MALFORMED);
    /* ACK/NACK codes are not requests */
    uint8_t nack_as_req[] = {0xAA, 0x00, 0x03, 0x00, 0x00, 0x00};
    assert_int_equal(tbms_parse(TBMS_DIR_REQUEST, nack_as_req, sizeof nack_as_req, &f),
                     TBMS_ERR_MALFORMED);
    assert_int_equal(tbms_parse(TBMS_DIR_RESPONSE, NULL, 4, &f), TBMS_ERR_ARG);
}

static void test_parse_requests_for_a_simulated_bms(void **state)
{
    (void)state;
    tbms_frame_t f;
    assert_int_equal(tbms_parse(TBMS_DIR_REQUEST, doc_read_req, sizeof doc_read_req, &f), TBMS_OK);
    assert_int_equal(f.cmd, 0x03);
    assert_int_equal(f.addr, 5);
    assert_int_equal(f.count, 5);
    assert_int_equal(tbms_parse(TBMS_DIR_REQUEST, doc_write_req, sizeof doc_write_req, &f),
                     TBMS_OK);
    assert_int_equal(f.cmd, 0x10);
    assert_int_equal(f.addr, 315);
    assert_int_equal(f.count, 2);
    uint16_t regs[4];
    size_t n;
    assert_int_equal(tbms_frame_registers(&f, regs, 4, &n), TBMS_OK);
    assert_int_equal(n, 2);
    assert_int_equal(regs[0], 4200);
    assert_int_equal(regs[1], 2500);
    const uint8_t rd07[] = {0xAA, 0x07, 0x15, 0x20, 0x00, 0x35, 0x68};
    assert_int_equal(tbms_parse(TBMS_DIR_REQUEST, rd07, sizeof rd07, &f), TBMS_OK);
    assert_int_equal(f.addr, 32);
    assert_int_equal(f.count, 21);
    assert_int_equal(tbms_parse(TBMS_DIR_REQUEST, doc_temp_req, sizeof doc_temp_req, &f), TBMS_OK);
    assert_int_equal(f.cmd, 0x1B);
    assert_int_equal(f.payload_len, 0);
    /* the same bytes are not a valid response: 0x1B replies carry a PL */
    assert_int_equal(tbms_parse(TBMS_DIR_RESPONSE, doc_temp_req, sizeof doc_temp_req, &f),
                     TBMS_ERR_TRUNCATED);
}

static void test_responses_built_for_a_bms_parse_back(void **state)
{
    (void)state;
    uint16_t v[127];
    for (uint16_t i = 0; i < 127; i++) {
        v[i] = (uint16_t)(i * 517u + 0xAAu);
    }
    uint8_t buf[TBMS_FRAME_MAX];
    size_t n;
    tbms_frame_t f;
    assert_int_equal(tbms_build_read_response(v, 127, buf, sizeof buf, &n), TBMS_OK);
    assert_int_equal(n, 259u);
    assert_int_equal(tbms_parse(TBMS_DIR_RESPONSE, buf, n, &f), TBMS_OK);
    uint16_t back[127];
    size_t cnt;
    assert_int_equal(tbms_frame_registers(&f, back, 127, &cnt), TBMS_OK);
    assert_int_equal(cnt, 127);
    assert_memory_equal(back, v, sizeof v);
    assert_int_equal(tbms_build_read_response(v, 0, buf, sizeof buf, &n), TBMS_ERR_RANGE);
    assert_int_equal(tbms_build_read_response(v, 128, buf, sizeof buf, &n), TBMS_ERR_RANGE);
    assert_int_equal(tbms_build_read_response(NULL, 1, buf, sizeof buf, &n), TBMS_ERR_ARG);
    assert_int_equal(tbms_build_write_response(315, 2, buf, sizeof buf, &n), TBMS_OK);
    assert_memory_equal(buf, doc_write_rsp, sizeof doc_write_rsp);
    assert_int_equal(tbms_build_write_response(315, 0, buf, sizeof buf, &n), TBMS_ERR_RANGE);
    assert_int_equal(tbms_build_write_response(315, 2, NULL, sizeof buf, &n), TBMS_ERR_ARG);
    assert_int_equal(tbms_build_ack(0x0B, buf, 4, &n), TBMS_ERR_BUF_SMALL);
}

/* --- stream parser --- */

typedef struct {
    size_t frames;
    size_t crc;
    size_t malformed;
    tbms_frame_t last;
} sink_t;

static void feed(tbms_parser_t *p, const uint8_t *data, size_t n, sink_t *s)
{
    for (;;) {
        size_t used = 0;
        tbms_frame_t f;
        tbms_err_t e = TBMS_OK;
        tbms_parse_status_t st = tbms_parser_push(p, data, n, &used, &f, &e);
        assert_true(used <= n);
        data += used;
        n -= used;
        if (st == TBMS_PARSE_FRAME) {
            s->frames++;
            s->last = f;
        } else if (st == TBMS_PARSE_ERROR) {
            if (e == TBMS_ERR_CRC) {
                s->crc++;
            } else {
                assert_int_equal(e, TBMS_ERR_MALFORMED);
                s->malformed++;
            }
        } else {
            assert_int_equal(n, 0);
            return;
        }
    }
}

static void test_stream_accepts_any_chunking(void **state)
{
    (void)state;
    for (size_t chunk = 1; chunk <= sizeof doc_read_rsp + 3; chunk++) {
        tbms_parser_t p;
        tbms_parser_init(&p, TBMS_DIR_RESPONSE);
        sink_t s = {0};
        for (int rep = 0; rep < 3; rep++) {
            for (size_t off = 0; off < sizeof doc_read_rsp; off += chunk) {
                size_t n = sizeof doc_read_rsp - off < chunk ? sizeof doc_read_rsp - off : chunk;
                feed(&p, doc_read_rsp + off, n, &s);
            }
        }
        assert_int_equal(s.frames, 3);
        assert_int_equal(s.crc + s.malformed, 0);
        assert_int_equal(p.stats.frames, 3);
        assert_int_equal(s.last.count, 5);
    }
}

static void test_stream_skips_broadcast_ascii_before_a_frame(void **state)
{
    (void)state;
    const char ascii[] = "BPV:53.12\tMINCV:3.301\tMAXCV:3.334\r\n";
    uint8_t buf[128];
    memcpy(buf, ascii, sizeof ascii - 1);
    memcpy(buf + sizeof ascii - 1, doc_write_rsp, sizeof doc_write_rsp);
    tbms_parser_t p;
    tbms_parser_init(&p, TBMS_DIR_RESPONSE);
    sink_t s = {0};
    feed(&p, buf, sizeof ascii - 1 + sizeof doc_write_rsp, &s);
    assert_int_equal(s.frames, 1);
    assert_int_equal(s.last.addr, 315);
    assert_int_equal(p.stats.garbage_bytes, sizeof ascii - 1);
    assert_int_equal(p.stats.crc_errors, 0);
}

static void test_stream_recovers_a_frame_hidden_behind_a_false_start(void **state)
{
    (void)state;
    /* A stray AA 03 0A announces a 15-byte frame that swallows the start
     * of the real one; the CRC fails and the rescan finds the real frame. */
    uint8_t buf[64];
    const uint8_t stray[] = {'x', 0xAA, 0x03, 0x0A};
    memcpy(buf, stray, sizeof stray);
    memcpy(buf + sizeof stray, doc_read_rsp, sizeof doc_read_rsp);
    tbms_parser_t p;
    tbms_parser_init(&p, TBMS_DIR_RESPONSE);
    sink_t s = {0};
    feed(&p, buf, sizeof stray + sizeof doc_read_rsp, &s);
    assert_int_equal(s.crc, 1);
    assert_int_equal(s.frames, 1);
    assert_int_equal(s.last.count, 5);
}

static void test_stream_counts_bad_crc_then_takes_next_frame(void **state)
{
    (void)state;
    uint8_t buf[64];
    memcpy(buf, doc_read_rsp, sizeof doc_read_rsp);
    buf[5] ^= 0x10;
    memcpy(buf + sizeof doc_read_rsp, doc_write_rsp, sizeof doc_write_rsp);
    tbms_parser_t p;
    tbms_parser_init(&p, TBMS_DIR_RESPONSE);
    sink_t s = {0};
    feed(&p, buf, sizeof doc_read_rsp + sizeof doc_write_rsp, &s);
    assert_int_equal(s.crc, 1);
    assert_int_equal(p.stats.crc_errors, 1);
    assert_int_equal(s.frames, 1);
    assert_int_equal(s.last.cmd, 0x10);
}

/*
 * A live answer whose data holds AA 00 (register 34, time_left, low byte
 * 0xAA, then the high byte of register 35): after the bad CRC the rescan
 * meets AA 00 A9 B4 05 42, a NACK's length. Captured from
 * test_faults.py[badcrc], where it made uart_crc_errors one more than the
 * corrupted answers. `last` replaces the CRC's high byte.
 */
static size_t corrupt_answer_with_inner_nack_header(uint8_t *buf, size_t cap, int last)
{
    static const uint16_t v[] = {0x0083u, 0x3AAAu, 0x00A9u, 0xB405u, 0x4242u, 0x1234u};
    size_t n = 0;
    assert_int_equal(tbms_build_read_response(v, 6, buf, cap, &n), TBMS_OK);
    buf[n - 1u] = last >= 0 ? (uint8_t)last : (uint8_t)(buf[n - 1u] ^ 0x5Au);
    /* the inner candidate really is a NACK header whose CRC fails */
    assert_memory_equal(buf + 6, ((const uint8_t[]){0xAA, 0x00, 0xA9, 0xB4, 0x05, 0x42}), 6);
    assert_int_not_equal(tbms_crc16(buf + 6, 4), 0x4205u);
    return n;
}

static void test_stream_counts_a_corrupted_frame_once_whatever_its_data(void **state)
{
    (void)state;
    uint8_t buf[64];
    size_t n = corrupt_answer_with_inner_nack_header(buf, sizeof buf, -1);
    tbms_parser_t p;
    tbms_parser_init(&p, TBMS_DIR_RESPONSE);
    sink_t s = {0};
    feed(&p, buf, n, &s);
    assert_int_equal(s.crc, 1);
    assert_int_equal(s.malformed + s.frames, 0);
    assert_int_equal(p.stats.crc_errors, 1);
    assert_int_equal(p.stats.garbage_bytes, n - 1u); /* every byte after the rejected AA */
    assert_int_equal(tbms_parser_timeout(&p), TBMS_OK);
    assert_int_equal(p.stats.truncated, 0);
}

static void test_stream_counts_back_to_back_corrupted_frames_each_once(void **state)
{
    (void)state;
    uint8_t buf[128];
    size_t n = corrupt_answer_with_inner_nack_header(buf, sizeof buf, -1);
    memcpy(buf + n, buf, n);
    memcpy(buf + 2u * n, doc_write_rsp, sizeof doc_write_rsp);
    for (size_t chunk = 1; chunk <= 2u * n + sizeof doc_write_rsp; chunk += 7) {
        tbms_parser_t p;
        tbms_parser_init(&p, TBMS_DIR_RESPONSE);
        sink_t s = {0};
        for (size_t off = 0; off < 2u * n + sizeof doc_write_rsp; off += chunk) {
            size_t left = 2u * n + sizeof doc_write_rsp - off;
            feed(&p, buf + off, left < chunk ? left : chunk, &s);
        }
        assert_int_equal(s.crc, 2);
        assert_int_equal(p.stats.crc_errors, 2);
        assert_int_equal(s.malformed, 0);
        assert_int_equal(s.frames, 1);
        assert_int_equal(s.last.addr, 315);
    }
}

static void test_stream_inner_false_starts_are_neither_malformed_nor_truncated(void **state)
{
    (void)state;
    /* AA 77 inside a corrupted frame is no second (malformed) error ... */
    static const uint16_t v[] = {0x11AAu, 0x7722u};
    uint8_t buf[32];
    size_t n = 0;
    assert_int_equal(tbms_build_read_response(v, 2, buf, sizeof buf, &n), TBMS_OK);
    buf[6] ^= 0x01u; /* a data bit: the CRC fails, AA 77 stays */
    tbms_parser_t p;
    tbms_parser_init(&p, TBMS_DIR_RESPONSE);
    sink_t s = {0};
    feed(&p, buf, n, &s);
    assert_int_equal(s.crc, 1);
    assert_int_equal(s.malformed, 0);
    assert_int_equal(p.stats.malformed, 0);
    assert_int_equal(p.stats.garbage_bytes, n - 1u);
    /* ... and a corrupted CRC byte that reads 0xAA, left waiting for a
     * header when the line goes quiet, is no truncated frame. */
    uint8_t buf2[64];
    size_t n2 = corrupt_answer_with_inner_nack_header(buf2, sizeof buf2, 0xAA);
    tbms_parser_init(&p, TBMS_DIR_RESPONSE);
    sink_t s2 = {0};
    feed(&p, buf2, n2, &s2);
    assert_int_equal(s2.crc, 1);
    assert_int_equal(p.len, 1);
    assert_int_equal(tbms_parser_timeout(&p), TBMS_OK);
    assert_int_equal(p.stats.truncated, 0);
    assert_int_equal(p.stats.garbage_bytes, n2 - 1u);
    /* the next answer is taken as usual */
    feed(&p, doc_read_rsp, sizeof doc_read_rsp, &s2);
    assert_int_equal(s2.frames, 1);
    assert_int_equal(p.stats.crc_errors, 1);
}

static void test_stream_counts_malformed_header_and_resyncs(void **state)
{
    (void)state;
    uint8_t buf[32] = {0xAA, 0x77};
    memcpy(buf + 2, doc_write_rsp, sizeof doc_write_rsp);
    tbms_parser_t p;
    tbms_parser_init(&p, TBMS_DIR_RESPONSE);
    sink_t s = {0};
    feed(&p, buf, 2 + sizeof doc_write_rsp, &s);
    assert_int_equal(s.malformed, 1);
    assert_int_equal(p.stats.malformed, 1);
    assert_int_equal(s.frames, 1);
}

static void test_stream_timeout_reports_truncation_distinctly(void **state)
{
    (void)state;
    tbms_parser_t p;
    tbms_parser_init(&p, TBMS_DIR_RESPONSE);
    sink_t s = {0};
    assert_int_equal(tbms_parser_timeout(&p), TBMS_OK);
    feed(&p, doc_read_rsp, 9, &s);
    assert_int_equal(s.frames, 0);
    assert_int_equal(tbms_parser_timeout(&p), TBMS_ERR_TRUNCATED);
    assert_int_equal(p.stats.truncated, 1);
    assert_int_equal(p.stats.crc_errors, 0);
    /* the line is clean again afterwards */
    feed(&p, doc_read_rsp, sizeof doc_read_rsp, &s);
    assert_int_equal(s.frames, 1);
    /* garbage alone is not a truncated frame */
    feed(&p, (const uint8_t *)"abc", 3, &s);
    assert_int_equal(tbms_parser_timeout(&p), TBMS_OK);
    assert_int_equal(p.stats.truncated, 1);
    assert_int_equal(tbms_parser_timeout(NULL), TBMS_ERR_ARG);
}

static void test_stream_two_frames_in_one_push(void **state)
{
    (void)state;
    uint8_t buf[64];
    memcpy(buf, doc_write_rsp, sizeof doc_write_rsp);
    memcpy(buf + sizeof doc_write_rsp, doc_read_rsp, sizeof doc_read_rsp);
    tbms_parser_t p;
    tbms_parser_init(&p, TBMS_DIR_RESPONSE);
    sink_t s = {0};
    feed(&p, buf, sizeof doc_write_rsp + sizeof doc_read_rsp, &s);
    assert_int_equal(s.frames, 2);
    assert_int_equal(s.last.cmd, 0x03);
}

static void test_stream_rejects_null_arguments(void **state)
{
    (void)state;
    tbms_parser_t p;
    tbms_parser_init(&p, TBMS_DIR_RESPONSE);
    tbms_frame_t f;
    tbms_err_t e = TBMS_OK;
    size_t used = 7;
    assert_int_equal(tbms_parser_push(&p, NULL, 3, &used, &f, &e), TBMS_PARSE_ERROR);
    assert_int_equal(e, TBMS_ERR_ARG);
    assert_int_equal(used, 0);
    assert_int_equal(tbms_parser_push(NULL, doc_read_rsp, 3, &used, &f, &e), TBMS_PARSE_ERROR);
    assert_int_equal(tbms_parser_push(&p, NULL, 0, &used, &f, &e), TBMS_PARSE_MORE);
}

/* Deterministic xorshift so a failure can be replayed. */
static uint32_t rng_state = 0x12345678u;
static uint32_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return rng_state;
}

static void test_stream_random_frames_garbage_and_chunks_roundtrip(void **state)
{
    (void)state;
    tbms_parser_t p;
    tbms_parser_init(&p, TBMS_DIR_RESPONSE);
    sink_t s = {0};
    for (int round = 0; round < 2000; round++) {
        uint16_t count = (uint16_t)(1u + rng() % 127u);
        uint16_t v[127];
        for (uint16_t i = 0; i < count; i++) {
            v[i] = (uint16_t)rng();
        }
        uint8_t stream[600];
        size_t len = 0;
        size_t junk = rng() % 40u;
        for (size_t i = 0; i < junk; i++) {
            stream[len++] = (uint8_t)(0x20u + rng() % 0x5Fu); /* printable ASCII */
        }
        size_t n;
        assert_int_equal(tbms_build_read_response(v, count, stream + len, sizeof stream - len, &n),
                         TBMS_OK);
        len += n;
        size_t before = s.frames;
        for (size_t off = 0; off < len;) {
            size_t chunk = 1u + rng() % 64u;
            if (chunk > len - off) {
                chunk = len - off;
            }
            feed(&p, stream + off, chunk, &s);
            off += chunk;
        }
        assert_int_equal(s.frames, before + 1);
        uint16_t back[127];
        size_t cnt;
        assert_int_equal(tbms_frame_registers(&s.last, back, 127, &cnt), TBMS_OK);
        assert_int_equal(cnt, count);
        assert_memory_equal(back, v, count * sizeof v[0]);
    }
    assert_int_equal(s.crc + s.malformed, 0);
}

static void test_strerror_names_every_code(void **state)
{
    (void)state;
    for (int e = 0; e < (int)TBMS_ERR_COUNT_; e++) {
        const char *t = tbms_strerror((tbms_err_t)e);
        assert_non_null(t);
        assert_string_not_equal(t, "unknown error");
    }
    assert_string_equal(tbms_strerror(TBMS_ERR_COUNT_), "unknown error");
    assert_string_equal(tbms_strerror((tbms_err_t)-1), "unknown error");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc_matches_every_vendor_and_computed_vector),
        cmocka_unit_test(test_build_read_matches_vendor_and_computed_frames),
        cmocka_unit_test(test_build_read_rejects_bad_counts_and_buffers),
        cmocka_unit_test(test_build_write_matches_vendor_example),
        cmocka_unit_test(test_build_write_rejects_bad_counts_and_buffers),
        cmocka_unit_test(test_build_cmd_makes_proprietary_requests),
        cmocka_unit_test(test_parse_vendor_read_response_gives_cell_words),
        cmocka_unit_test(test_parse_vendor_write_response_echoes_block),
        cmocka_unit_test(test_parse_vendor_temperature_response_keeps_payload),
        cmocka_unit_test(test_parse_nack_reports_command_and_code),
        cmocka_unit_test(test_parse_ack_is_ok_for_its_command),
        cmocka_unit_test(test_parse_every_truncation_of_a_frame_is_truncated),
        cmocka_unit_test(test_parse_overlong_frame_is_malformed),
        cmocka_unit_test(test_parse_any_flipped_bit_is_rejected),
        cmocka_unit_test(test_parse_rejects_impossible_headers),
        cmocka_unit_test(test_parse_requests_for_a_simulated_bms),
        cmocka_unit_test(test_responses_built_for_a_bms_parse_back),
        cmocka_unit_test(test_stream_accepts_any_chunking),
        cmocka_unit_test(test_stream_skips_broadcast_ascii_before_a_frame),
        cmocka_unit_test(test_stream_recovers_a_frame_hidden_behind_a_false_start),
        cmocka_unit_test(test_stream_counts_bad_crc_then_takes_next_frame),
        cmocka_unit_test(test_stream_counts_a_corrupted_frame_once_whatever_its_data),
        cmocka_unit_test(test_stream_counts_back_to_back_corrupted_frames_each_once),
        cmocka_unit_test(test_stream_inner_false_starts_are_neither_malformed_nor_truncated),
        cmocka_unit_test(test_stream_counts_malformed_header_and_resyncs),
        cmocka_unit_test(test_stream_timeout_reports_truncation_distinctly),
        cmocka_unit_test(test_stream_two_frames_in_one_push),
        cmocka_unit_test(test_stream_rejects_null_arguments),
        cmocka_unit_test(test_stream_random_frames_garbage_and_chunks_roundtrip),
        cmocka_unit_test(test_strerror_names_every_code),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
