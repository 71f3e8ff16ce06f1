/*
 * TinyBMS UART framing: CRC-16/MODBUS, builders, one-shot and stream parsing.
 * Frame layouts: tinybms-uart.md sections 2-4 and vendor document Rev D 1.1.
 */
#include "tbms_frame.h"

#include <string.h>

#include "wire.h"

/*
 * CRC-16/MODBUS four bits at a time: a 16-entry table (32 bytes of flash)
 * instead of the 512-byte byte table, at about a third of the bitwise
 * loop's cost. Entry i is the CRC of the nibble i shifted through 0xA001.
 */
static const uint16_t crc_nibble[16] = {
    0x0000, 0xCC01, 0xD801, 0x1400, 0xF001, 0x3C00, 0x2800, 0xE401,
    0xA001, 0x6C00, 0x7800, 0xB401, 0x5000, 0x9C01, 0x8801, 0x4400,
};

uint16_t tbms_crc16(const uint8_t *data, size_t len)
{
    uint16_t crc = 0xFFFFu;
    for (size_t i = 0; i < len; i++) {
        crc ^= data[i];
        crc = (uint16_t)((crc >> 4) ^ crc_nibble[crc & 0x0Fu]);
        crc = (uint16_t)((crc >> 4) ^ crc_nibble[crc & 0x0Fu]);
    }
    return crc;
}

/* Appends the CRC of w's bytes so far, LSB first (tinybms-uart.md section 2). */
static tbms_err_t finish(wire_writer_t *w, size_t *out_len)
{
    uint16_t crc = tbms_crc16(w->buf, w->pos);
    (void)wire_put_u16le(w, crc);
    if (w->overflow) {
        return TBMS_ERR_BUF_SMALL;
    }
    *out_len = w->pos;
    return TBMS_OK;
}

static bool block_fits(uint16_t addr, uint16_t count, uint16_t max)
{
    return count >= 1u && count <= max && (uint32_t)addr + count - 1u <= 0xFFFFu;
}

/* AA CMD ADDR_H ADDR_L 00 RL: the start of a 0x03 request and of a 0x10
 * request or response (tinybms-uart.md section 3). */
static wire_writer_t block_header(uint8_t cmd, uint16_t addr, uint16_t count, uint8_t *buf,
                                  size_t cap)
{
    wire_writer_t w = wire_writer(buf, cap);
    (void)wire_put_u8(&w, TBMS_START_BYTE);
    (void)wire_put_u8(&w, cmd);
    (void)wire_put_u16be(&w, addr);
    (void)wire_put_u16be(&w, count);
    return w;
}

tbms_err_t tbms_build_read(uint16_t addr, uint16_t count, uint8_t *buf, size_t cap,
                           size_t *out_len)
{
    if (buf == NULL || out_len == NULL) {
        return TBMS_ERR_ARG;
    }
    if (!block_fits(addr, count, TBMS_MODBUS_READ_MAX)) {
        return TBMS_ERR_RANGE;
    }
    /* AA 03 ADDR_H ADDR_L 00 RL CRC_L CRC_H */
    wire_writer_t w = block_header(TBMS_CMD_MODBUS_READ, addr, count, buf, cap);
    return finish(&w, out_len);
}

tbms_err_t tbms_build_write(uint16_t addr, const uint16_t *values, uint16_t count, uint8_t *buf,
                            size_t cap, size_t *out_len)
{
    if (buf == NULL || out_len == NULL || values == NULL) {
        return TBMS_ERR_ARG;
    }
    if (!block_fits(addr, count, TBMS_MODBUS_WRITE_MAX)) {
        return TBMS_ERR_RANGE;
    }
    /* AA 10 ADDR_H ADDR_L 00 RL PL D1_H D1_L ... CRC_L CRC_H, PL = 2*RL */
    wire_writer_t w = block_header(TBMS_CMD_MODBUS_WRITE, addr, count, buf, cap);
    (void)wire_put_u8(&w, (uint8_t)(count * 2u));
    for (uint16_t i = 0; i < count; i++) {
        (void)wire_put_u16be(&w, values[i]);
    }
    return finish(&w, out_len);
}

tbms_err_t tbms_build_cmd(uint8_t cmd, const uint8_t *payload, size_t n, uint8_t *buf, size_t cap,
                          size_t *out_len)
{
    if (buf == NULL || out_len == NULL || (payload == NULL && n > 0u)) {
        return TBMS_ERR_ARG;
    }
    if (n > TBMS_PAYLOAD_MAX) {
        return TBMS_ERR_RANGE;
    }
    wire_writer_t w = wire_writer(buf, cap);
    (void)wire_put_u8(&w, TBMS_START_BYTE);
    (void)wire_put_u8(&w, cmd);
    for (size_t i = 0; i < n; i++) {
        (void)wire_put_u8(&w, payload[i]);
    }
    return finish(&w, out_len);
}

tbms_err_t tbms_build_read_response(const uint16_t *values, uint16_t count, uint8_t *buf,
                                    size_t cap, size_t *out_len)
{
    if (buf == NULL || out_len == NULL || values == NULL) {
        return TBMS_ERR_ARG;
    }
    if (count < 1u || count > TBMS_MODBUS_READ_MAX) {
        return TBMS_ERR_RANGE;
    }
    /* AA 03 PL D1_H D1_L ... CRC_L CRC_H, PL = 2*RL */
    wire_writer_t w = wire_writer(buf, cap);
    (void)wire_put_u8(&w, TBMS_START_BYTE);
    (void)wire_put_u8(&w, TBMS_CMD_MODBUS_READ);
    (void)wire_put_u8(&w, (uint8_t)(count * 2u));
    for (uint16_t i = 0; i < count; i++) {
        (void)wire_put_u16be(&w, values[i]);
    }
    return finish(&w, out_len);
}

tbms_err_t tbms_build_write_response(uint16_t addr, uint16_t count, uint8_t *buf, size_t cap,
                                     size_t *out_len)
{
    if (buf == NULL || out_len == NULL) {
        return TBMS_ERR_ARG;
    }
    if (!block_fits(addr, count, TBMS_MODBUS_WRITE_MAX)) {
        return TBMS_ERR_RANGE;
    }
    /* AA 10 ADDR_H ADDR_L 00 RL CRC_L CRC_H: the request's echo */
    wire_writer_t w = block_header(TBMS_CMD_MODBUS_WRITE, addr, count, buf, cap);
    return finish(&w, out_len);
}

tbms_err_t tbms_build_ack(uint8_t cmd, uint8_t *buf, size_t cap, size_t *out_len)
{
    return tbms_build_cmd(TBMS_RESP_ACK, &cmd, 1u, buf, cap, out_len);
}

tbms_err_t tbms_build_nack(uint8_t cmd, uint8_t err, uint8_t *buf, size_t cap, size_t *out_len)
{
    const uint8_t body[2] = {cmd, err};
    return tbms_build_cmd(TBMS_RESP_NACK, body, sizeof body, buf, cap, out_len);
}

/*
 * Length of the frame starting at buf[0] (== 0xAA), from its header.
 * Returns 0 while more header bytes are needed, SIZE_MAX for a header no
 * TinyBMS sends, otherwise the total length including the CRC.
 */
#define LEN_MALFORMED ((size_t)-1)

/* Proprietary PL byte: bit 7 set = a multi-packet reply, whose layout the
 * vendor document never gives (tinybms-uart.md section 4 notes): rejected. */
static size_t proprietary_len(uint8_t pl)
{
    if (pl & 0x80u) {
        return LEN_MALFORMED;
    }
    return 5u + (pl & 0x3Fu);
}

static size_t response_len(const uint8_t *buf, size_t have)
{
    if (have < 2u) {
        return 0u;
    }
    switch (buf[1]) {
    case TBMS_RESP_NACK:
        return TBMS_NACK_LEN;
    case TBMS_RESP_ACK:
        return TBMS_ACK_LEN;
    case TBMS_CMD_MODBUS_WRITE:
        return TBMS_WRITE_RSP_LEN;
    case TBMS_CMD_PACK_VOLTAGE:
    case TBMS_CMD_PACK_CURRENT:
    case TBMS_CMD_LIFETIME:
    case TBMS_CMD_SOC:
        return 8u; /* 4 data bytes, no PL */
    case TBMS_CMD_MAX_CELL_V:
    case TBMS_CMD_MIN_CELL_V:
    case TBMS_CMD_STATUS:
        return 6u; /* 2 data bytes, no PL */
    case TBMS_CMD_SPEED:
        return 16u; /* f32 + u32 + u32, no PL */
    default:
        break;
    }
    if (have < 3u) {
        return 0u;
    }
    uint8_t pl = buf[2];
    switch (buf[1]) {
    case TBMS_CMD_MODBUS_READ:
        /* PL = 2*RL, RL 1..127 */
        if (pl == 0u || (pl & 1u) || pl > 2u * TBMS_MODBUS_READ_MAX) {
            return LEN_MALFORMED;
        }
        return 5u + pl;
    case TBMS_CMD_READ_BLOCK:
    case TBMS_CMD_READ_INDIV:
        return proprietary_len(pl);
    case TBMS_CMD_EVENTS_NEWEST:
    case TBMS_CMD_EVENTS_ALL:
    case TBMS_CMD_TEMPERATURES:
    case TBMS_CMD_CELLS:
    case TBMS_CMD_SETTINGS:
    case TBMS_CMD_VERSION:
    case TBMS_CMD_VERSION_EXT:
        return 5u + pl;
    default:
        return LEN_MALFORMED;
    }
}

static size_t request_len(const uint8_t *buf, size_t have)
{
    if (have < 2u) {
        return 0u;
    }
    switch (buf[1]) {
    case TBMS_CMD_MODBUS_READ:
        return TBMS_READ_REQ_LEN;
    case TBMS_CMD_READ_BLOCK:
    case TBMS_CMD_SETTINGS:
        return 7u; /* AA 07 RL AL AH CRC CRC / AA 1D OPT 00 RL CRC CRC */
    case TBMS_CMD_RESET:
        return 5u;
    case TBMS_CMD_EVENTS_NEWEST:
    case TBMS_CMD_EVENTS_ALL:
    case TBMS_CMD_PACK_VOLTAGE:
    case TBMS_CMD_PACK_CURRENT:
    case TBMS_CMD_MAX_CELL_V:
    case TBMS_CMD_MIN_CELL_V:
    case TBMS_CMD_STATUS:
    case TBMS_CMD_LIFETIME:
    case TBMS_CMD_SOC:
    case TBMS_CMD_TEMPERATURES:
    case TBMS_CMD_CELLS:
    case TBMS_CMD_VERSION:
    case TBMS_CMD_VERSION_EXT:
    case TBMS_CMD_SPEED:
        return 4u;
    case TBMS_CMD_MODBUS_WRITE:
        if (have < 7u) {
            return 0u;
        }
        /* AA 10 AH AL 00 RL PL data CRC: PL must be 2*RL, RL 1..100 */
        if (buf[4] != 0u || buf[5] == 0u || buf[5] > TBMS_MODBUS_WRITE_MAX ||
            buf[6] != (uint8_t)(2u * buf[5])) {
            return LEN_MALFORMED;
        }
        return 9u + buf[6];
    default:
        break;
    }
    if (have < 3u) {
        return 0u;
    }
    switch (buf[1]) {
    case TBMS_CMD_READ_INDIV:
    case TBMS_CMD_WRITE_INDIV:
        return proprietary_len(buf[2]);
    case TBMS_CMD_WRITE_BLOCK:
        /* PL counts the data bytes only (an assumption: the vendor table
         * numbers the bytes as 2n+7 in all, tinybms-uart.md section 4). */
        if (buf[2] & 0x80u) {
            return LEN_MALFORMED;
        }
        return 7u + (buf[2] & 0x3Fu);
    default:
        return LEN_MALFORMED;
    }
}

static size_t frame_len(tbms_dir_t dir, const uint8_t *buf, size_t have)
{
    return dir == TBMS_DIR_REQUEST ? request_len(buf, have) : response_len(buf, have);
}

/* Fills *out from a frame of exactly `len` bytes whose CRC checked. */
static void decode(tbms_dir_t dir, const uint8_t *buf, size_t len, tbms_frame_t *out)
{
    memset(out, 0, sizeof *out);
    out->dir = dir;
    out->cmd = buf[1];
    out->kind = TBMS_KIND_DATA;
    wire_reader_t r = wire_reader(buf, len - 2u); /* without the CRC */
    wire_skip(&r, 2u);

    if (dir == TBMS_DIR_RESPONSE && buf[1] == TBMS_RESP_NACK) {
        out->kind = TBMS_KIND_NACK;
        out->cmd = wire_u8(&r);
        out->nack_code = wire_u8(&r);
        return;
    }
    if (dir == TBMS_DIR_RESPONSE && buf[1] == TBMS_RESP_ACK) {
        out->kind = TBMS_KIND_ACK;
        out->cmd = wire_u8(&r);
        return;
    }
    if (buf[1] == TBMS_CMD_MODBUS_READ && dir == TBMS_DIR_REQUEST) {
        out->addr = wire_u16be(&r);
        out->count = wire_u16be(&r);
        return;
    }
    if (buf[1] == TBMS_CMD_MODBUS_READ) {
        uint8_t pl = wire_u8(&r);
        out->count = (uint16_t)(pl / 2u);
    } else if (buf[1] == TBMS_CMD_MODBUS_WRITE) {
        out->addr = wire_u16be(&r);
        out->count = wire_u16be(&r);
        if (dir == TBMS_DIR_RESPONSE) {
            return;
        }
        wire_skip(&r, 1u); /* PL */
    } else if (buf[1] == TBMS_CMD_READ_BLOCK && dir == TBMS_DIR_REQUEST) {
        out->count = wire_u8(&r);
        out->addr = wire_u16le(&r);
        return;
    }
    size_t n = wire_remaining(&r);
    out->payload_len = (uint16_t)n;
    wire_bytes(&r, out->payload, n);
}

tbms_err_t tbms_parse(tbms_dir_t dir, const uint8_t *buf, size_t len, tbms_frame_t *out)
{
    if (buf == NULL || out == NULL) {
        return TBMS_ERR_ARG;
    }
    if (len == 0u) {
        return TBMS_ERR_TRUNCATED;
    }
    if (buf[0] != TBMS_START_BYTE) {
        return TBMS_ERR_MALFORMED;
    }
    size_t need = frame_len(dir, buf, len);
    if (need == LEN_MALFORMED) {
        return TBMS_ERR_MALFORMED;
    }
    if (need == 0u || len < need) {
        return TBMS_ERR_TRUNCATED;
    }
    if (len > need) {
        return TBMS_ERR_MALFORMED;
    }
    wire_reader_t r = wire_reader(buf + len - 2u, 2u);
    if (tbms_crc16(buf, len - 2u) != wire_u16le(&r)) {
        return TBMS_ERR_CRC;
    }
    decode(dir, buf, len, out);
    return TBMS_OK;
}

tbms_err_t tbms_expect(const tbms_frame_t *f, uint8_t cmd)
{
    if (f == NULL || f->cmd != cmd) {
        return TBMS_ERR_UNEXPECTED;
    }
    return f->kind == TBMS_KIND_NACK ? TBMS_ERR_NACK : TBMS_OK;
}

tbms_err_t tbms_frame_registers(const tbms_frame_t *f, uint16_t *out, size_t cap, size_t *n)
{
    if (f == NULL || out == NULL || n == NULL || f->kind != TBMS_KIND_DATA) {
        return TBMS_ERR_ARG;
    }
    bool big_endian;
    size_t skip = 0u;
    if (f->cmd == TBMS_CMD_MODBUS_READ && f->dir == TBMS_DIR_RESPONSE) {
        big_endian = true;
    } else if (f->cmd == TBMS_CMD_MODBUS_WRITE && f->dir == TBMS_DIR_REQUEST) {
        big_endian = true;
    } else if (f->cmd == TBMS_CMD_READ_BLOCK && f->dir == TBMS_DIR_RESPONSE) {
        big_endian = false;
        skip = 1u; /* PL */
    } else {
        return TBMS_ERR_ARG;
    }
    wire_reader_t r = wire_reader(f->payload, f->payload_len);
    wire_skip(&r, skip);
    size_t count = wire_remaining(&r) / 2u;
    if (count > cap) {
        return TBMS_ERR_BUF_SMALL;
    }
    for (size_t i = 0; i < count; i++) {
        out[i] = big_endian ? wire_u16be(&r) : wire_u16le(&r);
    }
    *n = count;
    return TBMS_OK;
}

void tbms_parser_init(tbms_parser_t *p, tbms_dir_t dir)
{
    if (p == NULL) {
        return;
    }
    memset(p, 0, sizeof *p);
    p->dir = dir;
}

void tbms_parser_reset_buffer(tbms_parser_t *p)
{
    if (p != NULL) {
        p->len = 0u;
        p->need = 0u;
        p->rejected = 0u;
    }
}

/* Drops the first `n` buffered bytes; the frame length must be found again. */
static void drop(tbms_parser_t *p, size_t n)
{
    memmove(p->buf, p->buf + n, p->len - n);
    p->len = (uint16_t)(p->len - n);
    p->need = 0u;
    p->rejected = p->rejected > n ? (uint16_t)(p->rejected - n) : 0u;
}

/* A false start inside a frame already rejected for its CRC: its 0xAA is
 * one more byte of that frame, not a second error (see tbms_parser_t). */
static void drop_inner_start(tbms_parser_t *p)
{
    p->stats.garbage_bytes++;
    drop(p, 1u);
}

/* Drops buffered bytes up to the next 0xAA, counting them as garbage. */
static void skip_to_start(tbms_parser_t *p)
{
    size_t i = 0u;
    while (i < p->len && p->buf[i] != TBMS_START_BYTE) {
        i++;
    }
    if (i > 0u) {
        p->stats.garbage_bytes += (uint32_t)i;
        drop(p, i);
    }
}

/* Looks at the buffered bytes only; never needs input to make progress. */
static tbms_parse_status_t examine(tbms_parser_t *p, tbms_frame_t *frame, tbms_err_t *err)
{
    for (;;) {
        skip_to_start(p);
        if (p->len == 0u) {
            return TBMS_PARSE_MORE;
        }
        bool inner = p->rejected > 0u;
        size_t need = p->need ? p->need : frame_len(p->dir, p->buf, p->len);
        if (need == LEN_MALFORMED && inner) {
            drop_inner_start(p);
            continue;
        }
        if (need == LEN_MALFORMED) {
            /* Not a frame start after all: rescan from the next byte. */
            p->stats.malformed++;
            drop(p, 1u);
            *err = TBMS_ERR_MALFORMED;
            return TBMS_PARSE_ERROR;
        }
        if (need == 0u || p->len < need) {
            p->need = (uint16_t)need;
            return TBMS_PARSE_MORE;
        }
        tbms_err_t e = tbms_parse(p->dir, p->buf, need, frame);
        if (e != TBMS_OK && inner) {
            drop_inner_start(p);
            continue;
        }
        if (e != TBMS_OK) {
            /* Only a CRC mismatch is possible here: the header was checked.
             * A false 0xAA in garbage may have swallowed a real frame, so
             * rescan everything after the rejected start byte. */
            p->stats.crc_errors++;
            drop(p, 1u);
            p->rejected = (uint16_t)(need - 1u);
            *err = e;
            return TBMS_PARSE_ERROR;
        }
        p->stats.frames++;
        drop(p, need);
        *err = TBMS_OK;
        return TBMS_PARSE_FRAME;
    }
}

tbms_parse_status_t tbms_parser_push(tbms_parser_t *p, const uint8_t *data, size_t n,
                                     size_t *consumed, tbms_frame_t *frame, tbms_err_t *err)
{
    size_t used = 0u;
    tbms_parse_status_t st = TBMS_PARSE_MORE;
    if (p == NULL || frame == NULL || err == NULL || (data == NULL && n > 0u)) {
        if (consumed != NULL) {
            *consumed = 0u;
        }
        if (err != NULL) {
            *err = TBMS_ERR_ARG;
        }
        return TBMS_PARSE_ERROR;
    }
    for (;;) {
        st = examine(p, frame, err);
        if (st != TBMS_PARSE_MORE || used == n) {
            break;
        }
        /* The buffer cannot fill up: examine() has decided every frame
         * before it reaches TBMS_FRAME_MAX bytes. Once the length is known,
         * the rest of the frame is copied in one go. */
        size_t take = 1u;
        if (p->need > p->len) {
            take = p->need - p->len;
            if (take > n - used) {
                take = n - used;
            }
        }
        memcpy(p->buf + p->len, data + used, take);
        p->len = (uint16_t)(p->len + take);
        used += take;
    }
    if (consumed != NULL) {
        *consumed = used;
    }
    return st;
}

tbms_err_t tbms_parser_timeout(tbms_parser_t *p)
{
    if (p == NULL) {
        return TBMS_ERR_ARG;
    }
    skip_to_start(p);
    if (p->len == 0u) {
        return TBMS_OK;
    }
    bool inner = p->rejected > 0u;
    if (inner) {
        p->stats.garbage_bytes += p->len;
    } else {
        p->stats.truncated++;
    }
    tbms_parser_reset_buffer(p);
    return inner ? TBMS_OK : TBMS_ERR_TRUNCATED;
}
