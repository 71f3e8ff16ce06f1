/*
 * Black-box tests of the simulated TinyBMS (sim/tbms_sim.h): requests are
 * built and responses parsed with the core codec (tbms_frame.h) and decoded
 * with tbms_snapshot.h, as the bridge would.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "tbms_frame.h"
#include "tbms_regs.h"
#include "tbms_sim.h"
#include "tbms_snapshot.h"

#define T0 5000u /* wall ms at init */
#define HOUR_MS (3600u * 1000u)

typedef struct {
    uint8_t b[TBMS_SIM_TX_CAP];
    size_t n;
} out_t;

static tbms_sim_config_t quiet_config(void)
{
    tbms_sim_config_t c = tbms_sim_default_config();
    c.demo_profile = false; /* 0 A unless a test sets a current */
    return c;
}

static void init_sim(tbms_sim_t *sim, const tbms_sim_config_t *cfg)
{
    assert_int_equal(tbms_sim_init(sim, cfg, T0), TBMS_SIM_OK);
}

static void xfer(tbms_sim_t *sim, const uint8_t *req, size_t n, uint64_t now, out_t *o)
{
    assert_int_equal(tbms_sim_receive(sim, req, n, now, o->b, sizeof o->b, &o->n), TBMS_SIM_OK);
}

/* Exactly one response frame in o; returns it parsed. */
static tbms_frame_t parse_one(const out_t *o)
{
    tbms_frame_t f;
    assert_true(o->n > 0u);
    assert_int_equal(tbms_parse(TBMS_DIR_RESPONSE, o->b, o->n, &f), TBMS_OK);
    return f;
}

static void read_regs(tbms_sim_t *sim, uint16_t addr, uint16_t count, uint64_t now,
                      uint16_t *regs)
{
    uint8_t req[TBMS_READ_REQ_LEN];
    size_t n = 0;
    out_t o;
    assert_int_equal(tbms_build_read(addr, count, req, sizeof req, &n), TBMS_OK);
    xfer(sim, req, n, now, &o);
    tbms_frame_t f = parse_one(&o);
    assert_int_equal(tbms_expect(&f, TBMS_CMD_MODBUS_READ), TBMS_OK);
    size_t got = 0;
    assert_int_equal(tbms_frame_registers(&f, regs, count, &got), TBMS_OK);
    assert_int_equal(got, count);
}

/* Sends a 0x10 write; returns the parsed response (data echo or NACK). */
static tbms_frame_t write_regs(tbms_sim_t *sim, uint16_t addr, const uint16_t *vals, uint16_t count,
                               uint64_t now)
{
    uint8_t req[TBMS_FRAME_MAX];
    size_t n = 0;
    out_t o;
    assert_int_equal(tbms_build_write(addr, vals, count, req, sizeof req, &n), TBMS_OK);
    xfer(sim, req, n, now, &o);
    return parse_one(&o);
}

/* AA cmd payload CRC for any bytes, including ones the builders refuse. */
static size_t raw_frame(uint8_t *buf, const uint8_t *body, size_t n)
{
    memcpy(buf, body, n);
    uint16_t crc = tbms_crc16(buf, n);
    buf[n] = (uint8_t)(crc & 0xFFu);
    buf[n + 1u] = (uint8_t)(crc >> 8);
    return n + 2u;
}

static void assert_nack(const out_t *o, uint8_t cmd, uint8_t code)
{
    assert_int_equal(o->n, TBMS_NACK_LEN);
    tbms_frame_t f = parse_one(o);
    assert_int_equal(f.kind, TBMS_KIND_NACK);
    assert_int_equal(f.cmd, cmd);
    assert_int_equal(f.nack_code, code);
}

static void read_settings_image(tbms_sim_t *sim, uint64_t now, uint16_t *regs)
{
    read_regs(sim, TBMS_SETTINGS_FIRST_REG, TBMS_SETTINGS_REG_COUNT, now, regs);
}

static bool has_event(tbms_sim_t *sim, uint64_t now, uint8_t id)
{
    uint16_t regs[TBMS_EVENTS_REG_COUNT];
    tbms_events_t ev;
    read_regs(sim, TBMS_EVENTS_FIRST_REG, TBMS_EVENTS_REG_COUNT, now, regs);
    assert_int_equal(tbms_decode_events(regs, TBMS_EVENTS_REG_COUNT, now, &ev), TBMS_OK);
    for (unsigned i = 0; i < ev.count; i++) {
        if (ev.entry[i].id == id) {
            return true;
        }
    }
    return false;
}

/* Steps the model in 10 s increments until pred holds or limit_ms passes;
 * returns the wall time reached. */
static uint64_t step_until(tbms_sim_t *sim, uint64_t now, uint64_t limit_ms,
                           bool (*pred)(const tbms_sim_t *))
{
    uint64_t end = now + limit_ms;
    while (now < end && !pred(sim)) {
        now += 10000u;
        tbms_sim_step(sim, now);
    }
    return now;
}

/* ---- Reads ---- */

static void test_read_live_block_decodes_to_a_plausible_16s_lfp_pack(void **state)
{
    (void)state;
    static tbms_sim_t sim;
    init_sim(&sim, NULL);
    uint16_t regs[TBMS_LIVE_REG_COUNT];
    read_regs(&sim, 0u, TBMS_LIVE_REG_COUNT, T0 + 50u, regs);
    tbms_live_t live;
    assert_int_equal(tbms_decode_live(regs, TBMS_LIVE_REG_COUNT, T0, &live), TBMS_OK);
    assert_true(live.valid);
    assert_int_equal(live.cell_count, 16);
    int32_t sum_mv = 0;
    for (unsigned i = 0; i < 16u; i++) {
        assert_in_range(live.cell_100uv[i], 30000, 35000); /* mid-SOC LFP plateau */
        sum_mv += live.cell_100uv[i] / 10;
    }
    assert_true(live.pack_mv >= sum_mv - 16 && live.pack_mv <= sum_mv + 16);
    assert_in_range(live.cell_min_mv, 3000, 3500);
    assert_true(live.cell_max_mv >= live.cell_min_mv);
    assert_in_range(live.soc_cpct, 5000, 6000); /* default 55 % */
    assert_true(live.ext_temp_present[0] && live.ext_temp_present[1]);
    assert_in_range(live.ext_temp_dc[0], 150, 300);
    assert_true(live.internal_temp_present);
    assert_true(live.soh_valid);
    assert_int_not_equal(live.status, TBMS_STATUS_UNKNOWN);
    assert_int_equal(live.lifetime_s, tbms_sim_default_config().lifetime_s);
}

static void test_read_settings_and_version_decode_and_satisfy_interlocks(void **state)
{
    (void)state;
    static tbms_sim_t sim;
    init_sim(&sim, NULL);
    uint16_t regs[TBMS_SETTINGS_REG_COUNT];
    read_settings_image(&sim, T0, regs);
    tbms_settings_t s;
    assert_int_equal(tbms_decode_settings(regs, TBMS_SETTINGS_REG_COUNT, T0, &s), TBMS_OK);
    assert_true(s.under_voltage_mv <= s.fully_discharged_mv - 10);
    assert_true(s.fully_discharged_mv <= s.fully_charged_mv - 10);
    assert_true(s.fully_charged_mv <= s.over_voltage_mv - 10);
    assert_true(s.peak_discharge_a > s.discharge_oc_a);
    assert_int_equal(s.series_cells, 16);
    assert_int_equal(s.capacity_10mah, 28000);
    assert_int_equal(regs[328u - 300u], 0xFFFF);
    /* Every register of the image passes the catalog's write check. */
    for (uint16_t a = 300u; a <= 343u; a++) {
        const tbms_reg_t *e = tbms_reg_find(a);
        if (e == NULL || e->address != a || (e->flags & TBMS_REG_F_READS_FFFF)) {
            continue;
        }
        uint32_t raw = regs[a - 300u];
        if (e->words == 2u) {
            raw |= (uint32_t)regs[a - 300u + 1u] << 16;
        }
        assert_int_equal(tbms_reg_check_write(a, raw, &s), TBMS_OK);
    }

    uint16_t ver[TBMS_VERSION_REG_COUNT];
    read_regs(&sim, TBMS_VERSION_FIRST_REG, TBMS_VERSION_REG_COUNT, T0, ver);
    tbms_version_t v;
    assert_int_equal(tbms_decode_version(ver, TBMS_VERSION_REG_COUNT, T0, &v), TBMS_OK);
    assert_int_equal(v.hw_version, 2);
    assert_int_equal(v.hw_changes, 1);
    assert_int_equal(v.power_type, TBMS_POWER_HIGH);
    assert_int_equal(v.current_sensor, TBMS_SENSOR_INTERNAL_HALL);
}

static void test_reserved_and_unused_registers_read_zero(void **state)
{
    (void)state;
    static tbms_sim_t sim;
    init_sim(&sim, NULL);
    uint16_t regs[127];
    read_regs(&sim, 16u, 16u, T0, regs);
    for (unsigned i = 0; i < 16u; i++) {
        assert_int_equal(regs[i], 0);
    }
    read_regs(&sim, 510u, 90u, T0, regs); /* up to 599, the last register */
    for (unsigned i = 0; i < 90u; i++) {
        assert_int_equal(regs[i], 0);
    }
    read_regs(&sim, 344u, 56u, T0, regs);
    for (unsigned i = 0; i < 56u; i++) {
        assert_int_equal(regs[i], 0);
    }
}

static void test_cells_are_top_aligned_for_14_cells(void **state)
{
    (void)state;
    static tbms_sim_t sim;
    tbms_sim_config_t c = quiet_config();
    c.cells = 14u;
    init_sim(&sim, &c);
    uint16_t regs[TBMS_LIVE_REG_COUNT];
    read_regs(&sim, 0u, TBMS_LIVE_REG_COUNT, T0, regs);
    assert_int_equal(regs[0], 0);
    assert_int_equal(regs[1], 0);
    for (unsigned r = 2; r < 16u; r++) {
        assert_in_range(regs[r], 30000, 35000);
    }
    assert_int_equal(regs[53], 14);
    tbms_live_t live;
    assert_int_equal(tbms_decode_live(regs, TBMS_LIVE_REG_COUNT, T0, &live), TBMS_OK);
    assert_int_equal(live.cell_count, 14);
    assert_int_equal(live.cell_100uv[0], regs[2]);
    assert_int_equal(live.cell_100uv[13], regs[15]);
    assert_int_equal(tbms_sim_register(&sim, 307u), 14);
}

static void test_input_byte_by_byte_gives_the_same_answer_as_one_chunk(void **state)
{
    (void)state;
    static tbms_sim_t a;
    static tbms_sim_t b;
    init_sim(&a, NULL);
    init_sim(&b, NULL);
    uint8_t req[TBMS_READ_REQ_LEN];
    size_t n = 0;
    assert_int_equal(tbms_build_read(0u, 56u, req, sizeof req, &n), TBMS_OK);
    out_t oa;
    out_t ob;
    xfer(&a, req, n, T0 + 10u, &oa);
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        out_t part;
        xfer(&b, &req[i], 1u, T0 + 10u, &part);
        if (i + 1u < n) {
            assert_int_equal(part.n, 0); /* nothing before the frame is complete */
        }
        memcpy(ob.b + total, part.b, part.n);
        total += part.n;
    }
    ob.n = total;
    assert_int_equal(oa.n, 5u + 112u);
    assert_int_equal(ob.n, oa.n);
    assert_memory_equal(oa.b, ob.b, oa.n);
}

static void test_two_requests_in_one_chunk_get_two_responses(void **state)
{
    (void)state;
    static tbms_sim_t sim;
    init_sim(&sim, NULL);
    uint8_t req[2u * TBMS_READ_REQ_LEN];
    size_t n1 = 0;
    size_t n2 = 0;
    assert_int_equal(tbms_build_read(40u, 2u, req, TBMS_READ_REQ_LEN, &n1), TBMS_OK);
    assert_int_equal(tbms_build_read(300u, 1u, req + n1, TBMS_READ_REQ_LEN, &n2), TBMS_OK);
    out_t o;
    xfer(&sim, req, n1 + n2, T0, &o);
    tbms_parser_t p;
    tbms_parser_init(&p, TBMS_DIR_RESPONSE);
    size_t off = 0;
    unsigned frames = 0;
    tbms_parse_status_t st;
    do {
        tbms_frame_t f;
        tbms_err_t err;
        size_t used = 0;
        st = tbms_parser_push(&p, o.b + off, o.n - off, &used, &f, &err);
        off += used;
        assert_int_not_equal(st, TBMS_PARSE_ERROR);
        frames += st == TBMS_PARSE_FRAME;
    } while (st != TBMS_PARSE_MORE);
    assert_int_equal(frames, 2);
}

static void test_proprietary_reads_agree_with_modbus_registers(void **state)
{
    (void)state;
    static tbms_sim_t sim;
    init_sim(&sim, NULL);
    uint16_t regs[56];
    read_regs(&sim, 0u, 56u, T0, regs);

    uint8_t req[TBMS_FRAME_MAX];
    size_t n = 0;
    out_t o;
    /* 0x07: AA 07 RL ADDR_L ADDR_H */
    n = raw_frame(req, (const uint8_t[]){0xAA, 0x07, 16u, 0x00, 0x00}, 5u);
    xfer(&sim, req, n, T0, &o);
    tbms_frame_t f = parse_one(&o);
    uint16_t blk[16];
    size_t got = 0;
    assert_int_equal(tbms_frame_registers(&f, blk, 16u, &got), TBMS_OK);
    assert_int_equal(got, 16);
    assert_memory_equal(blk, regs, sizeof blk);

    /* 0x14 pack voltage as LE float, same bits as regs 36-37. */
    assert_int_equal(tbms_build_cmd(TBMS_CMD_PACK_VOLTAGE, NULL, 0u, req, sizeof req, &n), TBMS_OK);
    xfer(&sim, req, n, T0, &o);
    f = parse_one(&o);
    assert_int_equal(f.payload_len, 4);
    assert_int_equal(f.payload[0] | (f.payload[1] << 8), regs[36]);
    assert_int_equal(f.payload[2] | (f.payload[3] << 8), regs[37]);

    /* 0x1C cells lowest first. */
    assert_int_equal(tbms_build_cmd(TBMS_CMD_CELLS, NULL, 0u, req, sizeof req, &n), TBMS_OK);
    xfer(&sim, req, n, T0, &o);
    f = parse_one(&o);
    assert_int_equal(f.payload[0], 32);
    assert_int_equal(f.payload[1] | (f.payload[2] << 8), regs[0]);

    /* 0x09 individual: address echoed before each value. */
    n = raw_frame(req, (const uint8_t[]){0xAA, 0x09, 0x04, 53u, 0x00, 0x2C, 0x01}, 7u);
    xfer(&sim, req, n, T0, &o);
    f = parse_one(&o);
    assert_int_equal(f.payload[0], 8);
    assert_int_equal(f.payload[1] | (f.payload[2] << 8), 53);
    assert_int_equal(f.payload[3] | (f.payload[4] << 8), 16);
    assert_int_equal(f.payload[5] | (f.payload[6] << 8), 300);
    assert_int_equal(f.payload[7] | (f.payload[8] << 8), 3550);

    /* 0x1D option 4 (current values) from register 300. */
    n = raw_frame(req, (const uint8_t[]){0xAA, 0x1D, 0x04, 0x00, 16u}, 5u);
    xfer(&sim, req, n, T0, &o);
    f = parse_one(&o);
    assert_int_equal(f.payload[0], 32);
    assert_int_equal(f.payload[1] | (f.payload[2] << 8), 3550);

    /* 0x1E version: HW 2.1. */
    assert_int_equal(tbms_build_cmd(TBMS_CMD_VERSION, NULL, 0u, req, sizeof req, &n), TBMS_OK);
    xfer(&sim, req, n, T0, &o);
    f = parse_one(&o);
    assert_int_equal(f.payload[0], 5);
    assert_int_equal(f.payload[1], 2);
    assert_int_equal(f.payload[2], 1);
}

static void test_event_log_starts_with_system_started(void **state)
{
    (void)state;
    static tbms_sim_t sim;
    tbms_sim_config_t c = quiet_config();
    init_sim(&sim, &c);
    uint16_t regs[2];
    read_regs(&sim, 200u, 2u, T0, regs);
    uint32_t ts = regs[0] | ((uint32_t)(regs[1] & 0xFFu) << 16);
    assert_int_equal(regs[1] >> 8, 0x61);
    assert_int_equal(ts, c.lifetime_s & 0xFFFFFFu);

    uint8_t req[8];
    size_t n = 0;
    out_t o;
    assert_int_equal(tbms_build_cmd(TBMS_CMD_EVENTS_ALL, NULL, 0u, req, sizeof req, &n), TBMS_OK);
    xfer(&sim, req, n, T0, &o);
    tbms_frame_t f = parse_one(&o);
    assert_int_equal(f.payload[0], 8); /* BMS time + one event */
    assert_int_equal(f.payload[8], 0x61);

    /* AA 02 01 clears the log. */
    assert_int_equal(tbms_build_cmd(TBMS_CMD_RESET, (const uint8_t[]){0x01}, 1u, req, sizeof req, &n),
                     TBMS_OK);
    xfer(&sim, req, n, T0, &o);
    f = parse_one(&o);
    assert_int_equal(f.kind, TBMS_KIND_ACK);
    assert_false(has_event(&sim, T0, 0x61));
}

/* ---- Errors ---- */

static void test_bad_crc_gets_crc_nack_and_next_request_works(void **state)
{
    (void)state;
    static tbms_sim_t sim;
    init_sim(&sim, NULL);
    uint8_t req[TBMS_READ_REQ_LEN];
    size_t n = 0;
    assert_int_equal(tbms_build_read(5u, 5u, req, sizeof req, &n), TBMS_OK);
    req[n - 1u] ^= 0x01u;
    out_t o;
    xfer(&sim, req, n, T0, &o);
    assert_nack(&o, TBMS_CMD_MODBUS_READ, TBMS_NACK_CRC_ERROR);
    assert_int_equal(tbms_sim_counters(&sim)->crc_errors, 1);

    req[n - 1u] ^= 0x01u;
    xfer(&sim, req, n, T0 + 1u, &o);
    tbms_frame_t f = parse_one(&o);
    assert_int_equal(tbms_expect(&f, TBMS_CMD_MODBUS_READ), TBMS_OK);
    assert_int_equal(f.count, 5);
}

static void test_unknown_command_gets_cmd_error_nack(void **state)
{
    (void)state;
    static tbms_sim_t sim;
    init_sim(&sim, NULL);
    uint8_t req[8];
    size_t n = raw_frame(req, (const uint8_t[]){0xAA, 0x42}, 2u);
    out_t o;
    xfer(&sim, req, n, T0, &o);
    assert_nack(&o, 0x42, TBMS_NACK_CMD_ERROR);
}

static void test_read_with_count_0_or_128_or_past_599_is_nacked(void **state)
{
    (void)state;
    static tbms_sim_t sim;
    init_sim(&sim, NULL);
    uint8_t req[TBMS_READ_REQ_LEN];
    out_t o;
    size_t n = raw_frame(req, (const uint8_t[]){0xAA, 0x03, 0x00, 0x00, 0x00, 0x00}, 6u);
    xfer(&sim, req, n, T0, &o);
    assert_nack(&o, TBMS_CMD_MODBUS_READ, TBMS_NACK_CMD_ERROR);
    n = raw_frame(req, (const uint8_t[]){0xAA, 0x03, 0x00, 0x00, 0x00, 128u}, 6u);
    xfer(&sim, req, n, T0, &o);
    assert_nack(&o, TBMS_CMD_MODBUS_READ, TBMS_NACK_CMD_ERROR);
    n = raw_frame(req, (const uint8_t[]){0xAA, 0x03, 0x02, 0x4E, 0x00, 20u}, 6u); /* 590..609 */
    xfer(&sim, req, n, T0, &o);
    assert_nack(&o, TBMS_CMD_MODBUS_READ, TBMS_NACK_CMD_ERROR);
    n = raw_frame(req, (const uint8_t[]){0xAA, 0x03, 0x00, 0x00, 0x00, 127u}, 6u);
    xfer(&sim, req, n, T0, &o);
    assert_int_equal(o.n, 5u + 254u);
}

static void test_write_outside_settings_is_nacked_and_changes_nothing(void **state)
{
    (void)state;
    static tbms_sim_t sim;
    init_sim(&sim, NULL);
    uint16_t before[TBMS_SETTINGS_REG_COUNT];
    uint16_t after[TBMS_SETTINGS_REG_COUNT];
    read_settings_image(&sim, T0, before);

    const uint16_t one[1] = {1u};
    tbms_frame_t f = write_regs(&sim, 0u, one, 1u, T0);
    assert_int_equal(f.kind, TBMS_KIND_NACK);
    assert_int_equal(f.cmd, TBMS_CMD_MODBUS_WRITE);
    assert_int_equal(f.nack_code, TBMS_NACK_CMD_ERROR);
    f = write_regs(&sim, 344u, one, 1u, T0);
    assert_int_equal(f.kind, TBMS_KIND_NACK);
    f = write_regs(&sim, 500u, one, 1u, T0);
    assert_int_equal(f.kind, TBMS_KIND_NACK);
    /* 340..345: the valid 340..343 part must not be applied either. */
    const uint16_t blk[6] = {0u, 0u, 1u, 0u, 0u, 0u};
    f = write_regs(&sim, 340u, blk, 6u, T0);
    assert_int_equal(f.kind, TBMS_KIND_NACK);
    /* 302 is reserved inside the settings block. */
    f = write_regs(&sim, 302u, one, 1u, T0);
    assert_int_equal(f.kind, TBMS_KIND_NACK);

    read_settings_image(&sim, T0, after);
    assert_memory_equal(before, after, sizeof before);
}

static void test_write_breaking_an_interlock_or_range_is_nacked(void **state)
{
    (void)state;
    static tbms_sim_t sim;
    init_sim(&sim, NULL);
    uint16_t before[TBMS_SETTINGS_REG_COUNT];
    uint16_t after[TBMS_SETTINGS_REG_COUNT];
    read_settings_image(&sim, T0, before);

    const struct {
        uint16_t addr;
        uint16_t value;
    } bad[] = {
        {300u, 3745u}, /* > 315 (3750) - 10 */
        {300u, 2905u}, /* < 301 (2900) + 10 */
        {301u, 3545u}, /* > 300 (3550) - 10 */
        {316u, 2895u}, /* > 301 (2900) - 10 */
        {315u, 3555u}, /* < 300 (3550) + 10 */
        {305u, 200u},  /* not > 317 (200) */
        {317u, 300u},  /* not < 305 (300) */
        {308u, 10u},   /* range 15..100 */
        {307u, 17u},   /* range 4..16 */
        {342u, 8u},    /* codes 0..7 */
        {328u, 50001u},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        tbms_frame_t f = write_regs(&sim, bad[i].addr, &bad[i].value, 1u, T0);
        assert_int_equal(f.kind, TBMS_KIND_NACK);
        assert_int_equal(f.nack_code, TBMS_NACK_CMD_ERROR);
    }
    read_settings_image(&sim, T0, after);
    assert_memory_equal(before, after, sizeof before);
    assert_int_equal(tbms_sim_counters(&sim)->nacks, sizeof bad / sizeof bad[0]);
}

static void test_valid_settings_write_is_echoed_and_reads_back(void **state)
{
    (void)state;
    static tbms_sim_t sim;
    init_sim(&sim, NULL);
    /* Doc 1.3.1 example frame: 315/316 = 4200/2500. */
    static const uint8_t doc_req[] = {0xAA, 0x10, 0x01, 0x3B, 0x00, 0x02, 0x04,
                                      0x10, 0x68, 0x09, 0xC4, 0x19, 0x61};
    static const uint8_t doc_rsp[] = {0xAA, 0x10, 0x01, 0x3B, 0x00, 0x02, 0x28, 0x22};
    out_t o;
    xfer(&sim, doc_req, sizeof doc_req, T0, &o);
    assert_int_equal(o.n, sizeof doc_rsp);
    assert_memory_equal(o.b, doc_rsp, sizeof doc_rsp);
    uint16_t r[2];
    read_regs(&sim, 315u, 2u, T0, r);
    assert_int_equal(r[0], 4200);
    assert_int_equal(r[1], 2500);

    /* 300 above the old 315 - 10 is fine when 315 moves in the same write
     * (0x0D, individual registers): judged on the result, not the order. */
    uint8_t req[32];
    size_t n = raw_frame(req,
                         (const uint8_t[]){0xAA, 0x0D, 0x08, 0x2C, 0x01, 0xD8, 0x0E, 0x3B, 0x01,
                                           0x3C, 0x0F}, /* 300 = 3800, 315 = 3900 */
                         11u);
    xfer(&sim, req, n, T0, &o);
    tbms_frame_t f = parse_one(&o);
    assert_int_equal(f.kind, TBMS_KIND_ACK);
    assert_int_equal(f.cmd, TBMS_CMD_WRITE_INDIV);
    assert_int_equal(tbms_sim_register(&sim, 300u), 3800);
    assert_int_equal(tbms_sim_register(&sim, 315u), 3900);

    /* 0x10 block 303..308 as read back, one value changed. */
    uint16_t img[6];
    read_regs(&sim, 303u, 6u, T0, img);
    img[5] = 20u; /* 308 allowed disbalance */
    f = write_regs(&sim, 303u, img, 6u, T0);
    assert_int_equal(tbms_expect(&f, TBMS_CMD_MODBUS_WRITE), TBMS_OK);
    assert_int_equal(f.addr, 303);
    assert_int_equal(f.count, 6);
    uint16_t back[6];
    read_regs(&sim, 303u, 6u, T0, back);
    assert_memory_equal(back, img, sizeof img);

    /* 0x0B block write: AA 0B PL ADDR LE DATA LE -> ACK. */
    n = raw_frame(req, (const uint8_t[]){0xAA, 0x0B, 0x02, 0x34, 0x01, 0x19, 0x00}, 7u); /* 308 = 25 */
    xfer(&sim, req, n, T0, &o);
    f = parse_one(&o);
    assert_int_equal(f.kind, TBMS_KIND_ACK);
    assert_int_equal(tbms_sim_register(&sim, 308u), 25);
}

static void test_soc_set_328_moves_soc_and_reads_ffff(void **state)
{
    (void)state;
    static tbms_sim_t sim;
    tbms_sim_config_t c = quiet_config();
    init_sim(&sim, &c);
    const uint16_t v = 40000u; /* 80 % in 0.002 % */
    tbms_frame_t f = write_regs(&sim, 328u, &v, 1u, T0);
    assert_int_equal(tbms_expect(&f, TBMS_CMD_MODBUS_WRITE), TBMS_OK);
    uint16_t r[2];
    read_regs(&sim, 328u, 1u, T0, r);
    assert_int_equal(r[0], 0xFFFF);
    read_regs(&sim, 46u, 2u, T0, r);
    uint32_t soc = r[0] | ((uint32_t)r[1] << 16);
    assert_int_equal(soc, 80000000u);
}

/* ---- Sleep ---- */

static void test_sleep_after_10s_idle_swallows_exactly_the_first_request(void **state)
{
    (void)state;
    static tbms_sim_t sim;
    tbms_sim_config_t c = quiet_config();
    init_sim(&sim, &c);
    uint8_t req[TBMS_READ_REQ_LEN];
    size_t n = 0;
    assert_int_equal(tbms_build_read(114u, 1u, req, sizeof req, &n), TBMS_OK);
    out_t o;

    tbms_sim_step(&sim, T0 + 9999u);
    assert_false(tbms_sim_is_asleep(&sim));
    tbms_sim_step(&sim, T0 + 10000u);
    assert_true(tbms_sim_is_asleep(&sim));

    xfer(&sim, req, n, T0 + 12000u, &o);
    assert_int_equal(o.n, 0);
    assert_false(tbms_sim_is_asleep(&sim));
    xfer(&sim, req, n, T0 + 12010u, &o);
    tbms_frame_t f = parse_one(&o);
    uint16_t r114 = 0;
    size_t got = 0;
    assert_int_equal(tbms_frame_registers(&f, &r114, 1u, &got), TBMS_OK);
    assert_int_equal(r114 >> 8, 3); /* woken by UART communication */
    assert_int_equal(tbms_sim_counters(&sim)->swallowed, 1);

    /* Asleep again, the same request twice in one chunk: one answer. */
    tbms_sim_step(&sim, T0 + 12010u + 10000u);
    assert_true(tbms_sim_is_asleep(&sim));
    uint8_t twice[2u * TBMS_READ_REQ_LEN];
    memcpy(twice, req, n);
    memcpy(twice + n, req, n);
    xfer(&sim, twice, 2u * n, T0 + 30000u, &o);
    assert_int_equal(o.n, 5u + 2u);
    assert_int_equal(tbms_sim_counters(&sim)->swallowed, 2);
}

static void test_no_sleep_while_current_flows_or_polled_or_disabled(void **state)
{
    (void)state;
    static tbms_sim_t sim;
    tbms_sim_config_t c = quiet_config();
    init_sim(&sim, &c);
    tbms_sim_set_current_ma(&sim, -20000);
    tbms_sim_step(&sim, T0 + 60000u);
    assert_false(tbms_sim_is_asleep(&sim));

    tbms_sim_set_current_ma(&sim, 0);
    uint8_t req[TBMS_READ_REQ_LEN];
    size_t n = 0;
    assert_int_equal(tbms_build_read(50u, 1u, req, sizeof req, &n), TBMS_OK);
    out_t o;
    /* The UART has been quiet for 60 s: it sleeps as soon as the current
     * stops, so the first poll only wakes it. */
    xfer(&sim, req, n, T0 + 60000u, &o);
    assert_int_equal(o.n, 0);
    for (uint64_t t = T0 + 65000u; t < T0 + 120000u; t += 5000u) {
        xfer(&sim, req, n, t, &o);
        assert_int_equal(o.n, 7);
    }
    assert_false(tbms_sim_is_asleep(&sim));

    c.sleep_enabled = false;
    init_sim(&sim, &c);
    tbms_sim_step(&sim, T0 + 100000u);
    assert_false(tbms_sim_is_asleep(&sim));
}

/* ---- Physics and protections ---- */

static void test_soc_rises_when_charging_and_falls_when_discharging(void **state)
{
    (void)state;
    static tbms_sim_t sim;
    tbms_sim_config_t c = quiet_config();
    c.soc_pct = 50.0f;
    c.sleep_enabled = false;
    init_sim(&sim, &c);
    float soc0 = tbms_sim_soc_pct(&sim);
    float cell0 = tbms_sim_cell_soc_pct(&sim, 0);

    tbms_sim_set_current_ma(&sim, 56000); /* 0.2 C for an hour: +20 % */
    tbms_sim_step(&sim, T0 + HOUR_MS);
    assert_int_equal(tbms_sim_status(&sim), 0x91);
    float soc1 = tbms_sim_soc_pct(&sim);
    assert_true(soc1 > soc0 + 19.0f && soc1 < soc0 + 21.0f);
    assert_true(tbms_sim_cell_soc_pct(&sim, 0) > cell0 + 18.0f);
    assert_true(has_event(&sim, T0 + HOUR_MS, 0x62)); /* charging started */

    tbms_sim_set_current_ma(&sim, -28000); /* 0.1 C for an hour: -10 % */
    tbms_sim_step(&sim, T0 + 2u * HOUR_MS);
    assert_int_equal(tbms_sim_status(&sim), 0x93);
    float soc2 = tbms_sim_soc_pct(&sim);
    assert_true(soc2 < soc1 - 9.0f && soc2 > soc1 - 11.0f);

    uint16_t regs[2];
    read_regs(&sim, 38u, 2u, T0 + 2u * HOUR_MS, regs);
    uint32_t bits = regs[0] | ((uint32_t)regs[1] << 16);
    float amps;
    memcpy(&amps, &bits, sizeof amps);
    assert_true(amps < -27.9f && amps > -28.1f);
}

static bool ov_tripped(const tbms_sim_t *sim)
{
    return (tbms_sim_faults(sim) & TBMS_SIM_FAULT_OV) != 0u;
}

static void test_over_voltage_cutoff_logs_0x03_and_stops_charging(void **state)
{
    (void)state;
    static tbms_sim_t sim;
    tbms_sim_config_t c = quiet_config();
    c.soc_pct = 95.0f;
    c.sleep_enabled = false;
    init_sim(&sim, &c);
    tbms_sim_set_current_ma(&sim, 100000);
    uint64_t now = step_until(&sim, T0, 2u * HOUR_MS, ov_tripped);
    assert_true(ov_tripped(&sim));
    assert_int_equal(tbms_sim_status(&sim), 0x9B);
    assert_true(tbms_sim_current_ma(&sim) == 0.0f);
    assert_true(has_event(&sim, now, 0x03));
    assert_true(has_event(&sim, now, 0x63)); /* fully charged on the way */
    uint16_t stats[TBMS_STATS_REG_COUNT];
    read_regs(&sim, TBMS_STATS_FIRST_REG, TBMS_STATS_REG_COUNT, now, stats);
    tbms_stats_t st;
    assert_int_equal(tbms_decode_stats(stats, TBMS_STATS_REG_COUNT, now, &st), TBMS_OK);
    assert_int_equal(st.ov_protection_count, 1);
    assert_int_equal(st.full_charge_count, 1);
    assert_true(st.lifetime_max_charge_ma >= 99000u);

    /* Still cut while the charger pushes; a load brings it back. */
    tbms_sim_step(&sim, now + 60000u);
    assert_true(tbms_sim_current_ma(&sim) == 0.0f);
    tbms_sim_set_current_ma(&sim, -50000);
    now += 60000u;
    for (unsigned i = 0; i < 360u && ov_tripped(&sim); i++) {
        now += 10000u;
        tbms_sim_step(&sim, now);
    }
    assert_false(ov_tripped(&sim));
    assert_true(has_event(&sim, now, 0x79));
    assert_int_equal(tbms_sim_status(&sim), 0x93);
}

static void test_forced_low_cell_trips_under_voltage_and_cuts_discharge(void **state)
{
    (void)state;
    static tbms_sim_t sim;
    tbms_sim_config_t c = quiet_config();
    c.sleep_enabled = false;
    init_sim(&sim, &c);
    tbms_sim_set_current_ma(&sim, -30000);
    tbms_sim_step(&sim, T0 + 1000u);
    assert_true(tbms_sim_current_ma(&sim) < -29000.0f);
    tbms_sim_force_cell_mv(&sim, 3u, 2600u);
    tbms_sim_step(&sim, T0 + 2000u);
    assert_true(tbms_sim_faults(&sim) & TBMS_SIM_FAULT_UV);
    assert_int_equal(tbms_sim_status(&sim), 0x9B);
    assert_true(tbms_sim_current_ma(&sim) == 0.0f);
    assert_int_equal(tbms_sim_register(&sim, 3u), 26000); /* 16 cells: cell 3 is reg 3 */
    assert_int_equal(tbms_sim_register(&sim, 40u), 2600);
    assert_true(has_event(&sim, T0 + 2000u, 0x02));

    /* A charger clears it once the cell reads above the cutoff again. */
    tbms_sim_force_cell_mv(&sim, 3u, 0u);
    tbms_sim_set_current_ma(&sim, 20000);
    tbms_sim_step(&sim, T0 + 3000u);
    assert_false(tbms_sim_faults(&sim) & TBMS_SIM_FAULT_UV);
    assert_true(has_event(&sim, T0 + 3000u, 0x7B));
}

static void test_cells_spread_near_full_and_balancing_bits_follow(void **state)
{
    (void)state;
    static tbms_sim_t sim;
    tbms_sim_config_t c = quiet_config();
    c.soc_pct = 97.0f;
    c.sleep_enabled = false;
    c.cells = 14u;
    init_sim(&sim, &c);
    tbms_sim_set_current_ma(&sim, 5000);
    tbms_sim_step(&sim, T0 + 600000u);
    uint16_t need = tbms_sim_register(&sim, 51u);
    uint16_t active = tbms_sim_register(&sim, 52u);
    assert_int_not_equal(need, 0);
    assert_int_equal(need & 0x0003u, 0); /* unused positions 1-2 never balance */
    assert_int_equal(active & (uint16_t)~need, 0);
    uint16_t lo = tbms_sim_register(&sim, 40u);
    uint16_t hi = tbms_sim_register(&sim, 41u);
    assert_true(hi - lo > 15); /* more than the allowed disbalance */
}

static void test_demo_profile_charges_then_discharges(void **state)
{
    (void)state;
    static tbms_sim_t sim;
    tbms_sim_config_t c = tbms_sim_default_config();
    c.sleep_enabled = false;
    init_sim(&sim, &c);
    bool seen_charge = false;
    bool seen_discharge = false;
    for (uint64_t t = T0; t < T0 + HOUR_MS; t += 60000u) {
        tbms_sim_step(&sim, t);
        seen_charge |= tbms_sim_status(&sim) == 0x91;
        seen_discharge |= tbms_sim_status(&sim) == 0x93;
    }
    assert_true(seen_charge);
    assert_true(seen_discharge);
}

static void test_same_seed_is_deterministic_and_seeds_differ(void **state)
{
    (void)state;
    static tbms_sim_t a;
    static tbms_sim_t b;
    static tbms_sim_t d;
    tbms_sim_config_t c = tbms_sim_default_config();
    c.seed = 42u;
    init_sim(&a, &c);
    init_sim(&b, &c);
    c.seed = 43u;
    init_sim(&d, &c);
    for (uint64_t t = T0; t <= T0 + 2u * HOUR_MS; t += 7000u) {
        tbms_sim_step(&a, t);
        tbms_sim_step(&b, t);
        tbms_sim_step(&d, t);
    }
    bool differs = false;
    for (uint16_t r = 0; r < TBMS_SIM_REG_COUNT; r++) {
        assert_int_equal(tbms_sim_register(&a, r), tbms_sim_register(&b, r));
        differs |= r < 16u && tbms_sim_register(&a, r) != tbms_sim_register(&d, r);
    }
    assert_true(differs);
}

/* ---- DVCC: the demo current keeps to the limits of 0x351 ---- */

typedef struct {
    int32_t ccl_ma, dcl_ma, cvl_mv, dvl_mv;
} lim_t;

/* What a run saw, once a second. */
typedef struct {
    float max_ma, min_ma; /* pack current */
    float max_mv, min_mv; /* true terminal voltage of the pack */
    float max_rise_ma;    /* largest rise of the current from one second to the next */
} seen_t;

/* Limits that never bind: 1000 A, 60 V, no floor. */
static const lim_t loose = {1000000, 1000000, 60000, 0};

static float terminal_mv(const tbms_sim_t *sim)
{
    float v = 0.0f;
    for (unsigned i = 0; i < tbms_sim_cell_count(sim); i++) {
        v += tbms_sim_cell_mv(sim, i);
    }
    return v;
}

static void seen_init(seen_t *s)
{
    s->max_ma = -1e9f;
    s->min_ma = 1e9f;
    s->max_mv = 0.0f;
    s->min_mv = 1e9f;
    s->max_rise_ma = -1e9f;
}

static void seen_add(seen_t *s, const tbms_sim_t *sim, float prev_ma)
{
    float ma = tbms_sim_current_ma(sim);
    float mv = terminal_mv(sim);
    s->max_ma = ma > s->max_ma ? ma : s->max_ma;
    s->min_ma = ma < s->min_ma ? ma : s->min_ma;
    s->max_mv = mv > s->max_mv ? mv : s->max_mv;
    s->min_mv = mv < s->min_mv ? mv : s->min_mv;
    s->max_rise_ma = ma - prev_ma > s->max_rise_ma ? ma - prev_ma : s->max_rise_ma;
}

/* From wall time `from` to `to`, gives the limits every second as the
 * bridge's 0x351 does, recording what flows after each. */
static void run_obeying(tbms_sim_t *sim, uint64_t from, uint64_t to, const lim_t *l, seen_t *s)
{
    seen_init(s);
    float prev = tbms_sim_current_ma(sim);
    for (uint64_t t = from + 1000u; t <= to; t += 1000u) {
        assert_int_equal(
            tbms_sim_set_dvcc_limits(sim, l->ccl_ma, l->dcl_ma, l->cvl_mv, l->dvl_mv, t),
            TBMS_SIM_OK);
        seen_add(s, sim, prev);
        prev = tbms_sim_current_ma(sim);
    }
}

static tbms_sim_config_t demo_config(float soc_pct)
{
    tbms_sim_config_t c = tbms_sim_default_config();
    c.sleep_enabled = false;
    c.soc_pct = soc_pct;
    return c;
}

static void test_dvcc_demo_charge_keeps_to_the_ccl_and_an_imposed_current_does_not(void **state)
{
    (void)state;
    static tbms_sim_t sim;
    tbms_sim_config_t c = demo_config(55.0f);
    init_sim(&sim, &c);
    assert_true(tbms_sim_current_ma(&sim) > 50000.0f); /* the demo day charges 0.2 C = 56 A */
    const lim_t l = {20000, 1000000, 60000, 0};
    seen_t s;
    run_obeying(&sim, T0, T0 + 14u * 60000u, &l, &s);
    assert_true(s.max_ma <= 20000.0f + 1.0f); /* float rounding of 20 A */
    assert_true(s.min_ma >= 19999.0f);        /* held at the CCL all along */
    /* An imposed current is the caller's business. */
    tbms_sim_set_current_ma(&sim, 40000);
    assert_true(tbms_sim_current_ma(&sim) > 39999.0f);
    tbms_sim_clear_current(&sim);
    assert_true(tbms_sim_current_ma(&sim) <= 20001.0f);
    assert_true(tbms_sim_current_ma(&sim) >= 19999.0f);
}

static void test_dvcc_demo_charge_tapers_to_zero_at_the_cvl_without_oscillating(void **state)
{
    (void)state;
    static tbms_sim_t sim;
    tbms_sim_config_t c = demo_config(95.0f); /* cells ~3.36 V: the pack ~53.8 V */
    init_sim(&sim, &c);
    const lim_t l = {1000000, 1000000, 54400, 0}; /* 3.40 V a cell */
    float start_ma = tbms_sim_current_ma(&sim);
    seen_t s;
    run_obeying(&sim, T0, T0 + 14u * 60000u, &l, &s);
    /* Held at CVL: the terminal voltage passes it by at most what the OCV
     * rises in one 1 s tick; the current only falls once it tapers. */
    assert_true(s.max_mv <= 54400.0f + 5.0f);
    assert_true(s.max_mv >= 54400.0f - 5.0f); /* it got there */
    assert_true(s.min_ma >= 0.0f);
    float end_ma = tbms_sim_current_ma(&sim);
    assert_true(end_ma < start_ma / 5.0f);
    assert_true(s.max_rise_ma < 0.03f * start_ma); /* the demo's own 2 % ripple, no swing */
    /* Already above CVL: no charge at all. */
    static tbms_sim_t full;
    init_sim(&full, &c);
    const lim_t low = {1000000, 1000000, 52000, 0};
    run_obeying(&full, T0, T0 + 10u * 60000u, &low, &s);
    assert_true(s.max_ma == 0.0f && s.min_ma == 0.0f);
    assert_int_equal(tbms_sim_status(&full), 0x97); /* idle */
}

static void test_dvcc_demo_discharge_keeps_to_the_dcl_and_stops_at_the_dvl(void **state)
{
    (void)state;
    static tbms_sim_t sim;
    tbms_sim_config_t c = demo_config(55.0f);
    init_sim(&sim, &c);
    seen_t s;
    run_obeying(&sim, T0, T0 + 21u * 60000u, &loose, &s); /* charge, standby */
    /* Discharging 20..50 min, about 0.1 C = 28 A +-40 %: DCL 10 A binds. */
    const lim_t l = {1000000, 10000, 60000, 0};
    run_obeying(&sim, T0 + 21u * 60000u, T0 + 49u * 60000u, &l, &s);
    assert_true(s.min_ma >= -10000.0f - 1.0f);
    assert_true(s.max_ma <= -9999.0f);

    /* DVL above the pack: no discharge, standby included. */
    static tbms_sim_t low;
    init_sim(&low, &c);
    run_obeying(&low, T0, T0 + 20u * 60000u, &loose, &s);
    int32_t ocv_mv = (int32_t)(tbms_sim_model_pack_ocv_v(tbms_sim_model(&low)) * 1000.0f);
    const lim_t above = {1000000, 1000000, 60000, ocv_mv + 50};
    run_obeying(&low, T0 + 20u * 60000u, T0 + 50u * 60000u, &above, &s);
    assert_true(s.max_ma == 0.0f && s.min_ma == 0.0f);

    /* DVL just below: the inverter draws only what keeps the pack at DVL. */
    const lim_t below = {1000000, 1000000, 60000, ocv_mv - 30};
    run_obeying(&low, T0 + 80u * 60000u, T0 + 110u * 60000u, &below, &s);
    assert_true(s.min_ma < -1000.0f);
    assert_true(s.min_mv >= (float)(ocv_mv - 30) - 5.0f);
    assert_true(s.min_mv <= (float)(ocv_mv - 30) + 5.0f);
}

static void test_dvcc_limits_not_renewed_for_5s_stop_charge_and_discharge(void **state)
{
    (void)state;
    static tbms_sim_t sim;
    tbms_sim_config_t c = demo_config(55.0f);
    init_sim(&sim, &c);
    assert_int_equal(
        tbms_sim_set_dvcc_limits(&sim, loose.ccl_ma, loose.dcl_ma, loose.cvl_mv, loose.dvl_mv, T0),
        TBMS_SIM_OK);
    tbms_sim_step(&sim, T0 + TBMS_SIM_DVCC_TIMEOUT_MS);
    assert_true(tbms_sim_current_ma(&sim) > 50000.0f); /* fresh: charging */
    /* One 1 s tick after the timeout the charger has stopped, and stays so. */
    for (uint64_t t = T0 + TBMS_SIM_DVCC_TIMEOUT_MS + 2000u; t < T0 + 60000u; t += 1000u) {
        tbms_sim_step(&sim, t);
        assert_true(tbms_sim_current_ma(&sim) == 0.0f);
    }
    /* A new 0x351: charging again at once. */
    assert_int_equal(tbms_sim_set_dvcc_limits(&sim, loose.ccl_ma, loose.dcl_ma, loose.cvl_mv,
                                              loose.dvl_mv, T0 + 60000u),
                     TBMS_SIM_OK);
    assert_true(tbms_sim_current_ma(&sim) > 50000.0f);
    /* The same while discharging. */
    seen_t s;
    run_obeying(&sim, T0 + 60000u, T0 + 25u * 60000u, &loose, &s);
    assert_true(tbms_sim_current_ma(&sim) < -10000.0f);
    tbms_sim_step(&sim, T0 + 25u * 60000u + TBMS_SIM_DVCC_TIMEOUT_MS + 2000u);
    assert_true(tbms_sim_current_ma(&sim) == 0.0f);
}

static void test_dvcc_never_set_or_cleared_runs_the_demo_day_unchanged(void **state)
{
    (void)state;
    static tbms_sim_t plain;
    static tbms_sim_t cleared;
    static tbms_sim_t plain_now;
    static tbms_sim_t loose_run;
    tbms_sim_config_t c = demo_config(55.0f);
    init_sim(&plain, &c);
    init_sim(&cleared, &c);
    init_sim(&plain_now, &c);
    init_sim(&loose_run, &c);
    /* Set and cleared at once: nothing stays of them, not even their age
     * (stale limits would give 0 A from 5 s on). */
    assert_int_equal(tbms_sim_set_dvcc_limits(&cleared, loose.ccl_ma, loose.dcl_ma, loose.cvl_mv,
                                              loose.dvl_mv, T0),
                     TBMS_SIM_OK);
    tbms_sim_clear_dvcc_limits(&cleared);
    for (uint64_t t = T0 + 1000u; t <= T0 + 2u * HOUR_MS; t += 1000u) {
        tbms_sim_step(&plain, t);
        tbms_sim_step(&cleared, t);
        /* Limits that never bind, renewed every second, change nothing
         * either. Setting them re-evaluates the current at t at once, so
         * the reference does the same (clear_current re-evaluates too). */
        tbms_sim_step(&plain_now, t);
        tbms_sim_clear_current(&plain_now);
        assert_int_equal(tbms_sim_set_dvcc_limits(&loose_run, loose.ccl_ma, loose.dcl_ma,
                                                  loose.cvl_mv, loose.dvl_mv, t),
                         TBMS_SIM_OK);
    }
    bool moved = false;
    for (uint16_t r = 0; r < TBMS_SIM_REG_COUNT; r++) {
        assert_int_equal(tbms_sim_register(&cleared, r), tbms_sim_register(&plain, r));
        assert_int_equal(tbms_sim_register(&loose_run, r), tbms_sim_register(&plain_now, r));
    }
    for (unsigned i = 0; i < 16u; i++) {
        assert_true(tbms_sim_cell_soc_pct(&loose_run, i) == tbms_sim_cell_soc_pct(&plain, i));
        moved |= tbms_sim_cell_soc_pct(&plain, i) != 55.0f;
    }
    assert_true(moved);
    assert_true(tbms_sim_current_ma(&cleared) == tbms_sim_current_ma(&plain));
    assert_true(tbms_sim_current_ma(&loose_run) == tbms_sim_current_ma(&plain_now));
}

static void test_dvcc_bad_limits_are_refused_and_change_nothing(void **state)
{
    (void)state;
    static tbms_sim_t sim;
    tbms_sim_config_t c = demo_config(55.0f);
    init_sim(&sim, &c);
    assert_int_equal(tbms_sim_set_dvcc_limits(&sim, 10000, 10000, 54000, 48000, T0), TBMS_SIM_OK);
    float before = tbms_sim_current_ma(&sim);
    assert_true(before <= 10001.0f);
    assert_int_equal(tbms_sim_set_dvcc_limits(NULL, 1, 1, 1, 1, T0), TBMS_SIM_ERR_ARG);
    assert_int_equal(tbms_sim_set_dvcc_limits(&sim, -1, 10000, 54000, 48000, T0), TBMS_SIM_ERR_ARG);
    assert_int_equal(tbms_sim_set_dvcc_limits(&sim, 90000, -1, 54000, 48000, T0), TBMS_SIM_ERR_ARG);
    assert_int_equal(tbms_sim_set_dvcc_limits(&sim, 90000, 10000, -1, 48000, T0), TBMS_SIM_ERR_ARG);
    assert_int_equal(tbms_sim_set_dvcc_limits(&sim, 90000, 10000, 54000, -1, T0), TBMS_SIM_ERR_ARG);
    assert_true(tbms_sim_current_ma(&sim) == before);
    tbms_sim_clear_dvcc_limits(NULL); /* ignored */
}

/* ---- Hooks, broadcast, configuration ---- */

static void test_muted_bms_answers_nothing_and_corrupt_hook_breaks_crc(void **state)
{
    (void)state;
    static tbms_sim_t sim;
    init_sim(&sim, NULL);
    uint8_t req[TBMS_READ_REQ_LEN];
    size_t n = 0;
    assert_int_equal(tbms_build_read(0u, 4u, req, sizeof req, &n), TBMS_OK);
    out_t o;
    tbms_sim_set_muted(&sim, true);
    xfer(&sim, req, n, T0, &o);
    assert_int_equal(o.n, 0);
    tbms_sim_set_muted(&sim, false);
    tbms_sim_corrupt_responses(&sim, 1u);
    xfer(&sim, req, n, T0, &o);
    tbms_frame_t f;
    assert_int_equal(tbms_parse(TBMS_DIR_RESPONSE, o.b, o.n, &f), TBMS_ERR_CRC);
    xfer(&sim, req, n, T0, &o);
    assert_int_equal(tbms_parse(TBMS_DIR_RESPONSE, o.b, o.n, &f), TBMS_OK);
}

static void test_broadcast_sends_ascii_lines_a_parser_skips(void **state)
{
    (void)state;
    static tbms_sim_t sim;
    tbms_sim_config_t c = quiet_config();
    c.sleep_enabled = false;
    init_sim(&sim, &c);
    const uint16_t bc[2] = {1u, 1u}; /* every 0.1 s, ASCII */
    tbms_frame_t f = write_regs(&sim, 342u, bc, 2u, T0);
    assert_int_equal(tbms_expect(&f, TBMS_CMD_MODBUS_WRITE), TBMS_OK);
    out_t o;
    assert_int_equal(tbms_sim_transmit(&sim, T0 + 100u, o.b, sizeof o.b, &o.n), TBMS_SIM_OK);
    assert_true(o.n > 10u);
    assert_memory_equal(o.b, "BPV:", 4u);
    assert_int_equal(o.b[o.n - 1u], '\n');

    /* Broadcast then a response: the bridge's parser finds the frame. */
    uint8_t req[TBMS_READ_REQ_LEN];
    size_t n = 0;
    assert_int_equal(tbms_build_read(53u, 1u, req, sizeof req, &n), TBMS_OK);
    out_t o2;
    xfer(&sim, req, n, T0 + 300u, &o2);
    tbms_parser_t p;
    tbms_parser_init(&p, TBMS_DIR_RESPONSE);
    uint8_t all[2u * TBMS_SIM_TX_CAP];
    memcpy(all, o.b, o.n);
    memcpy(all + o.n, o2.b, o2.n);
    size_t used = 0;
    tbms_err_t err;
    assert_int_equal(tbms_parser_push(&p, all, o.n + o2.n, &used, &f, &err), TBMS_PARSE_FRAME);
    assert_int_equal(f.cmd, TBMS_CMD_MODBUS_READ);
    assert_true(p.stats.garbage_bytes > 0u);
}

/* ---- Answer latency ---- */

static tbms_sim_config_t late_config(uint32_t min_ms, uint32_t max_ms)
{
    tbms_sim_config_t c = quiet_config();
    c.sleep_enabled = false;
    c.latency_min_ms = min_ms;
    c.latency_max_ms = max_ms;
    return c;
}

static size_t read_request(uint16_t addr, uint16_t count, uint8_t *req)
{
    size_t n = 0;
    assert_int_equal(tbms_build_read(addr, count, req, TBMS_READ_REQ_LEN, &n), TBMS_OK);
    return n;
}

/* Calls the simulator every millisecond from `from` until output appears
 * (at most `limit` ms); returns that time and leaves the output in o. */
static uint64_t first_output_ms(tbms_sim_t *sim, uint64_t from, uint64_t limit, out_t *o)
{
    for (uint64_t t = from; t <= from + limit; t++) {
        assert_int_equal(tbms_sim_transmit(sim, t, o->b, sizeof o->b, &o->n), TBMS_SIM_OK);
        if (o->n > 0u) {
            return t;
        }
    }
    fail_msg("no answer within %u ms", (unsigned)limit);
    return 0u;
}

/* Answer times of `n` requests sent 100 ms apart, as delays in ms. */
static void late_delays(uint32_t seed, uint32_t min_ms, uint32_t max_ms, unsigned n,
                        uint64_t *delay)
{
    static tbms_sim_t sim;
    tbms_sim_config_t c = late_config(min_ms, max_ms);
    c.seed = seed;
    init_sim(&sim, &c);
    uint8_t req[TBMS_READ_REQ_LEN];
    size_t len = read_request(0u, TBMS_LIVE_REG_COUNT, req);
    for (unsigned i = 0; i < n; i++) {
        uint64_t t = T0 + 100u * i;
        out_t o;
        xfer(&sim, req, len, t, &o);
        assert_int_equal(o.n, 0); /* never in the call that brings the request */
        uint64_t due = tbms_sim_next_answer_ms(&sim);
        uint64_t at = first_output_ms(&sim, t, max_ms + 2u, &o);
        assert_int_equal(at, due);
        tbms_frame_t f = parse_one(&o);
        assert_int_equal(tbms_expect(&f, TBMS_CMD_MODBUS_READ), TBMS_OK);
        assert_int_equal(f.count, TBMS_LIVE_REG_COUNT);
        assert_int_equal(tbms_sim_next_answer_ms(&sim), UINT64_MAX);
        delay[i] = at - t;
    }
}

static void test_late_answer_waits_its_drawn_delay_after_the_request(void **state)
{
    (void)state;
    enum { N = 300 };
    uint64_t d[N];
    late_delays(7u, 2u, 25u, N, d);
    uint64_t lo = UINT64_MAX;
    uint64_t hi = 0u;
    for (unsigned i = 0; i < N; i++) {
        /* taken up at the millisecond after the request came in, then the
         * drawn delay: more than d ms of real time, whatever the fraction
         * of the millisecond in which the request arrived */
        assert_in_range(d[i], 2u + 1u, 25u + 1u);
        lo = d[i] < lo ? d[i] : lo;
        hi = d[i] > hi ? d[i] : hi;
    }
    assert_int_equal(lo, 3u); /* the draws span the whole range */
    assert_int_equal(hi, 26u);
    late_delays(7u, 10u, 10u, 20u, d);
    for (unsigned i = 0; i < 20u; i++) {
        assert_int_equal(d[i], 11u);
    }
}

static void test_late_answer_delays_follow_the_seed(void **state)
{
    (void)state;
    uint64_t a[40];
    uint64_t b[40];
    uint64_t c[40];
    late_delays(3u, 0u, 50u, 40u, a);
    late_delays(3u, 0u, 50u, 40u, b);
    late_delays(4u, 0u, 50u, 40u, c);
    assert_memory_equal(a, b, sizeof a);
    assert_memory_not_equal(a, c, sizeof a);
}

static void test_late_answers_go_one_at_a_time_in_order(void **state)
{
    (void)state;
    static tbms_sim_t sim;
    tbms_sim_config_t c = late_config(10u, 10u);
    init_sim(&sim, &c);
    uint8_t a[TBMS_READ_REQ_LEN];
    uint8_t b[TBMS_READ_REQ_LEN];
    size_t na = read_request(53u, 1u, a);
    size_t nb = read_request(0u, 2u, b);
    out_t o;
    xfer(&sim, a, na, T0, &o);
    xfer(&sim, b, nb, T0 + 3u, &o); /* arrives while A is being answered */
    assert_int_equal(o.n, 0);
    assert_int_equal(first_output_ms(&sim, T0 + 4u, 30u, &o), T0 + 11u);
    assert_int_equal(parse_one(&o).count, 1);
    /* B is taken up when A has left, not when it came in */
    assert_int_equal(first_output_ms(&sim, T0 + 12u, 30u, &o), T0 + 21u);
    assert_int_equal(parse_one(&o).count, 2);
    assert_int_equal(tbms_sim_counters(&sim)->requests, 2);
}

static void test_late_answers_beyond_the_queue_are_dropped_and_counted(void **state)
{
    (void)state;
    static tbms_sim_t sim;
    tbms_sim_config_t c = late_config(5u, 5u);
    init_sim(&sim, &c);
    uint8_t all[(TBMS_SIM_PENDING_MAX + 2u) * TBMS_READ_REQ_LEN];
    size_t len = 0;
    for (unsigned i = 0; i < TBMS_SIM_PENDING_MAX + 2u; i++) {
        len += read_request((uint16_t)i, 1u, all + len);
    }
    out_t o;
    xfer(&sim, all, len, T0, &o);
    assert_int_equal(tbms_sim_counters(&sim)->busy_dropped, 2);
    unsigned answers = 0;
    for (uint64_t t = T0 + 1u; t < T0 + 100u; t++) {
        assert_int_equal(tbms_sim_transmit(&sim, t, o.b, sizeof o.b, &o.n), TBMS_SIM_OK);
        if (o.n > 0u) {
            assert_int_equal(t, T0 + 1u + 5u * (answers + 1u));
            answers++;
        }
    }
    assert_int_equal(answers, TBMS_SIM_PENDING_MAX);
}

static void test_late_answer_carries_the_values_at_the_time_it_leaves(void **state)
{
    (void)state;
    static tbms_sim_t sim;
    tbms_sim_config_t c = late_config(20u, 20u);
    init_sim(&sim, &c);
    uint8_t req[TBMS_READ_REQ_LEN];
    size_t n = read_request(38u, 2u, req); /* pack current, FLOAT */
    out_t o;
    xfer(&sim, req, n, T0, &o);
    uint16_t before = tbms_sim_register(&sim, 39u);
    tbms_sim_set_current_ma(&sim, -20000);
    assert_int_not_equal(tbms_sim_register(&sim, 39u), before);
    first_output_ms(&sim, T0 + 1u, 30u, &o);
    tbms_frame_t f = parse_one(&o);
    uint16_t regs[2];
    size_t got = 0;
    assert_int_equal(tbms_frame_registers(&f, regs, 2u, &got), TBMS_OK);
    assert_int_equal(regs[1], tbms_sim_register(&sim, 39u));
}

static void test_late_nack_and_no_sleep_while_an_answer_waits(void **state)
{
    (void)state;
    static tbms_sim_t sim;
    tbms_sim_config_t c = late_config(50u, 50u);
    c.sleep_enabled = true;
    c.sleep_after_ms = 1u;
    init_sim(&sim, &c);
    uint8_t req[TBMS_READ_REQ_LEN];
    size_t n = read_request(0u, 1u, req);
    req[n - 1u] ^= 0xFFu;
    out_t o;
    xfer(&sim, req, n, T0, &o);
    assert_int_equal(tbms_sim_counters(&sim)->crc_errors, 1); /* counted on arrival */
    assert_int_equal(o.n, 0);
    assert_int_equal(tbms_sim_transmit(&sim, T0 + 30u, o.b, sizeof o.b, &o.n), TBMS_SIM_OK);
    assert_false(tbms_sim_is_asleep(&sim));
    assert_int_equal(first_output_ms(&sim, T0 + 31u, 30u, &o), T0 + 51u);
    tbms_frame_t f = parse_one(&o);
    assert_int_equal(f.kind, TBMS_KIND_NACK);
    assert_int_equal(f.nack_code, TBMS_NACK_CRC_ERROR);
    /* with nothing left to answer, the quiet line puts it to sleep */
    assert_int_equal(tbms_sim_transmit(&sim, T0 + 60u, o.b, sizeof o.b, &o.n), TBMS_SIM_OK);
    assert_true(tbms_sim_is_asleep(&sim));
}

static void test_init_rejects_bad_configuration(void **state)
{
    (void)state;
    static tbms_sim_t sim;
    tbms_sim_config_t c = tbms_sim_default_config();
    c.cells = 3u;
    assert_int_equal(tbms_sim_init(&sim, &c, 0u), TBMS_SIM_ERR_ARG);
    c = tbms_sim_default_config();
    c.cells = 17u;
    assert_int_equal(tbms_sim_init(&sim, &c, 0u), TBMS_SIM_ERR_ARG);
    c = tbms_sim_default_config();
    c.soc_pct = 101.0f;
    assert_int_equal(tbms_sim_init(&sim, &c, 0u), TBMS_SIM_ERR_ARG);
    c = tbms_sim_default_config();
    c.capacity_ah = 700.0f;
    assert_int_equal(tbms_sim_init(&sim, &c, 0u), TBMS_SIM_ERR_ARG);
    c = tbms_sim_default_config();
    c.time_scale = 0.0f;
    assert_int_equal(tbms_sim_init(&sim, &c, 0u), TBMS_SIM_ERR_ARG);
    c = tbms_sim_default_config();
    c.latency_min_ms = 5u;
    c.latency_max_ms = 4u;
    assert_int_equal(tbms_sim_init(&sim, &c, 0u), TBMS_SIM_ERR_ARG);
    c.latency_min_ms = 0u;
    c.latency_max_ms = TBMS_SIM_LATENCY_MAX_MS + 1u;
    assert_int_equal(tbms_sim_init(&sim, &c, 0u), TBMS_SIM_ERR_ARG);
    c.latency_max_ms = TBMS_SIM_LATENCY_MAX_MS;
    assert_int_equal(tbms_sim_init(&sim, &c, 0u), TBMS_SIM_OK);
    assert_int_equal(tbms_sim_init(NULL, NULL, 0u), TBMS_SIM_ERR_ARG);
    size_t n = 0;
    assert_int_equal(tbms_sim_receive(&sim, NULL, 3u, 0u, NULL, 0u, &n), TBMS_SIM_ERR_ARG);
    assert_string_equal(tbms_sim_strerror(TBMS_SIM_ERR_REJECTED), "settings write rejected");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_read_live_block_decodes_to_a_plausible_16s_lfp_pack),
        cmocka_unit_test(test_read_settings_and_version_decode_and_satisfy_interlocks),
        cmocka_unit_test(test_reserved_and_unused_registers_read_zero),
        cmocka_unit_test(test_cells_are_top_aligned_for_14_cells),
        cmocka_unit_test(test_input_byte_by_byte_gives_the_same_answer_as_one_chunk),
        cmocka_unit_test(test_two_requests_in_one_chunk_get_two_responses),
        cmocka_unit_test(test_proprietary_reads_agree_with_modbus_registers),
        cmocka_unit_test(test_event_log_starts_with_system_started),
        cmocka_unit_test(test_bad_crc_gets_crc_nack_and_next_request_works),
        cmocka_unit_test(test_unknown_command_gets_cmd_error_nack),
        cmocka_unit_test(test_read_with_count_0_or_128_or_past_599_is_nacked),
        cmocka_unit_test(test_write_outside_settings_is_nacked_and_changes_nothing),
        cmocka_unit_test(test_write_breaking_an_interlock_or_range_is_nacked),
        cmocka_unit_test(test_valid_settings_write_is_echoed_and_reads_back),
        cmocka_unit_test(test_soc_set_328_moves_soc_and_reads_ffff),
        cmocka_unit_test(test_sleep_after_10s_idle_swallows_exactly_the_first_request),
        cmocka_unit_test(test_no_sleep_while_current_flows_or_polled_or_disabled),
        cmocka_unit_test(test_soc_rises_when_charging_and_falls_when_discharging),
        cmocka_unit_test(test_over_voltage_cutoff_logs_0x03_and_stops_charging),
        cmocka_unit_test(test_forced_low_cell_trips_under_voltage_and_cuts_discharge),
        cmocka_unit_test(test_cells_spread_near_full_and_balancing_bits_follow),
        cmocka_unit_test(test_demo_profile_charges_then_discharges),
        cmocka_unit_test(test_same_seed_is_deterministic_and_seeds_differ),
        cmocka_unit_test(test_dvcc_demo_charge_keeps_to_the_ccl_and_an_imposed_current_does_not),
        cmocka_unit_test(test_dvcc_demo_charge_tapers_to_zero_at_the_cvl_without_oscillating),
        cmocka_unit_test(test_dvcc_demo_discharge_keeps_to_the_dcl_and_stops_at_the_dvl),
        cmocka_unit_test(test_dvcc_limits_not_renewed_for_5s_stop_charge_and_discharge),
        cmocka_unit_test(test_dvcc_never_set_or_cleared_runs_the_demo_day_unchanged),
        cmocka_unit_test(test_dvcc_bad_limits_are_refused_and_change_nothing),
        cmocka_unit_test(test_muted_bms_answers_nothing_and_corrupt_hook_breaks_crc),
        cmocka_unit_test(test_broadcast_sends_ascii_lines_a_parser_skips),
        cmocka_unit_test(test_late_answer_waits_its_drawn_delay_after_the_request),
        cmocka_unit_test(test_late_answer_delays_follow_the_seed),
        cmocka_unit_test(test_late_answers_go_one_at_a_time_in_order),
        cmocka_unit_test(test_late_answers_beyond_the_queue_are_dropped_and_counted),
        cmocka_unit_test(test_late_answer_carries_the_values_at_the_time_it_leaves),
        cmocka_unit_test(test_late_nack_and_no_sleep_while_an_answer_waits),
        cmocka_unit_test(test_init_rejects_bad_configuration),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
