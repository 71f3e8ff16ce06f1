/*
 * tbms_frame.h - TinyBMS UART frames: CRC, request/response builders and a
 * stream parser (tinybms-uart.md sections 2-4; vendor document Rev D ch. 1).
 *
 * Every frame on the wire starts with 0xAA and ends with a CRC-16/MODBUS
 * sent LSB first:
 *
 *   +------+-----+----------------------+--------+--------+
 *   | 0xAA | CMD | command-specific ... | CRC lo | CRC hi |
 *   +------+-----+----------------------+--------+--------+
 *
 * A response's CMD byte is 0x00 for an error (NACK) frame, 0x01 for an ACK
 * frame, else the echo of the request's command:
 *
 *   NACK  AA 00 <cmd> <err> CRC CRC   (6 bytes; err 0x00 = command error, 0x01 = CRC error)
 *   ACK   AA 01 <cmd> CRC CRC         (5 bytes)
 *
 * The Modbus-compatible commands 0x03 (read block) and 0x10 (write block)
 * carry big-endian addresses and data; the proprietary commands carry
 * little-endian ones. Builders and the parser here do not interpret
 * register meaning: that is tbms_snapshot.h's job.
 *
 * Pure functions, no heap: the caller owns every buffer and parser.
 */
#ifndef TBMS_FRAME_H
#define TBMS_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tbms_err.h"

/* First byte of every request and response (the Modbus slave-id position). */
#define TBMS_START_BYTE 0xAAu

/* Response discriminators in byte 2 (tinybms-uart.md section 2). */
#define TBMS_RESP_NACK 0x00u
#define TBMS_RESP_ACK  0x01u

/* NACK error codes, the only ones documented (vendor doc 1.1.1). */
#define TBMS_NACK_CMD_ERROR 0x00u
#define TBMS_NACK_CRC_ERROR 0x01u

/* Command codes (tinybms-uart.md sections 3 and 4). */
#define TBMS_CMD_RESET         0x02u /* option: 1 clear events, 2 clear stats, 5 reset BMS */
#define TBMS_CMD_MODBUS_READ   0x03u
#define TBMS_CMD_READ_BLOCK    0x07u
#define TBMS_CMD_READ_INDIV    0x09u
#define TBMS_CMD_WRITE_BLOCK   0x0Bu
#define TBMS_CMD_WRITE_INDIV   0x0Du
#define TBMS_CMD_MODBUS_WRITE  0x10u
#define TBMS_CMD_EVENTS_NEWEST 0x11u
#define TBMS_CMD_EVENTS_ALL    0x12u
#define TBMS_CMD_PACK_VOLTAGE  0x14u
#define TBMS_CMD_PACK_CURRENT  0x15u
#define TBMS_CMD_MAX_CELL_V    0x16u
#define TBMS_CMD_MIN_CELL_V    0x17u
#define TBMS_CMD_STATUS        0x18u
#define TBMS_CMD_LIFETIME      0x19u
#define TBMS_CMD_SOC           0x1Au
#define TBMS_CMD_TEMPERATURES  0x1Bu
#define TBMS_CMD_CELLS         0x1Cu
#define TBMS_CMD_SETTINGS      0x1Du
#define TBMS_CMD_VERSION       0x1Eu
#define TBMS_CMD_VERSION_EXT   0x1Fu
#define TBMS_CMD_SPEED         0x20u

/* Register-count limits of the Modbus-compatible commands (section 3). */
#define TBMS_MODBUS_READ_MAX  127u
#define TBMS_MODBUS_WRITE_MAX 100u

/*
 * Largest frame either direction can carry: a proprietary reply with a
 * full 8-bit PL (0x1C cells, 0x1D settings...) is 2 + 1 + 255 + 2 = 260
 * bytes; a 0x03 response of 127 registers is 259.
 */
#define TBMS_FRAME_MAX 260u
/* Largest payload a parsed frame holds: a frame less AA, CMD and CRC. */
#define TBMS_PAYLOAD_MAX (TBMS_FRAME_MAX - 4u)

/* Fixed lengths of the frames the bridge sends most. */
#define TBMS_READ_REQ_LEN  8u /* AA 03 AH AL 00 RL CRC CRC */
#define TBMS_WRITE_RSP_LEN 8u /* AA 10 AH AL 00 RL CRC CRC */
#define TBMS_ACK_LEN       5u
#define TBMS_NACK_LEN      6u

/*
 * CRC-16/MODBUS (poly 0xA001 reflected, init 0xFFFF, no final XOR) over
 * `len` bytes. `data` may be NULL only when len is 0. Table-free: about
 * 8 shifts per byte, no RAM beyond the stack.
 */
uint16_t tbms_crc16(const uint8_t *data, size_t len);

/*
 * Builds a Modbus 0x03 read request for `count` registers from `addr`
 * into buf (capacity cap >= TBMS_READ_REQ_LEN); *out_len = 8.
 * Errors: TBMS_ERR_ARG (NULL), TBMS_ERR_RANGE (count 0 or > 127, or the
 * block runs past register 0xFFFF), TBMS_ERR_BUF_SMALL.
 */
tbms_err_t tbms_build_read(uint16_t addr, uint16_t count, uint8_t *buf, size_t cap,
                           size_t *out_len);

/*
 * Builds a Modbus 0x10 write request of `count` registers from `addr`
 * with `values` (host order, sent big-endian) into buf; the frame is
 * 9 + 2*count bytes. Errors as tbms_build_read, with a 100-register limit.
 * This only frames the bytes: whether the registers may be written is
 * tbms_reg_check_write()'s decision.
 */
tbms_err_t tbms_build_write(uint16_t addr, const uint16_t *values, uint16_t count, uint8_t *buf,
                            size_t cap, size_t *out_len);

/*
 * Builds `AA cmd <payload> CRC` for the proprietary commands (requests
 * such as 0x02 reset/clear with its option byte or 0x1B temperatures, and
 * the responses a simulated BMS sends). n may be 0 (payload NULL).
 * Errors: TBMS_ERR_ARG, TBMS_ERR_BUF_SMALL (needs n + 4 bytes),
 * TBMS_ERR_RANGE (n > TBMS_PAYLOAD_MAX).
 */
tbms_err_t tbms_build_cmd(uint8_t cmd, const uint8_t *payload, size_t n, uint8_t *buf, size_t cap,
                          size_t *out_len);

/*
 * Responses, for a BMS (the simulator) to send.
 * read response:  AA 03 PL D1H D1L ... CRC   (5 + 2*count bytes, count 1..127)
 * write response: AA 10 AH AL 00 RL CRC      (8 bytes)
 * ack / nack:     AA 01 cmd CRC / AA 00 cmd err CRC
 */
tbms_err_t tbms_build_read_response(const uint16_t *values, uint16_t count, uint8_t *buf,
                                    size_t cap, size_t *out_len);
tbms_err_t tbms_build_write_response(uint16_t addr, uint16_t count, uint8_t *buf, size_t cap,
                                     size_t *out_len);
tbms_err_t tbms_build_ack(uint8_t cmd, uint8_t *buf, size_t cap, size_t *out_len);
tbms_err_t tbms_build_nack(uint8_t cmd, uint8_t err, uint8_t *buf, size_t cap, size_t *out_len);

/* Which side of the link a parser listens to: the frame layouts differ. */
typedef enum {
    TBMS_DIR_RESPONSE = 0, /* bytes from the BMS (the bridge's side) */
    TBMS_DIR_REQUEST,      /* bytes to the BMS (a simulator's side) */
} tbms_dir_t;

typedef enum {
    TBMS_KIND_DATA = 0, /* a command frame: a request, or a response with data */
    TBMS_KIND_ACK,      /* AA 01 <cmd> */
    TBMS_KIND_NACK,     /* AA 00 <cmd> <err> */
} tbms_kind_t;

/*
 * A frame whose CRC checked. `cmd` is the command the frame is about: for
 * ACK/NACK it is the acknowledged command, not 0x00/0x01.
 *
 * Field use by frame:
 *   0x03 request   addr, count
 *   0x03 response  count (registers), payload = big-endian data words
 *   0x10 request   addr, count, payload = big-endian data words
 *   0x10 response  addr, count
 *   0x07 request   addr, count
 *   NACK           nack_code
 *   anything else  payload = the bytes between the command byte and the
 *                  CRC (incl. any PL byte), raw
 */
typedef struct {
    tbms_dir_t dir;
    tbms_kind_t kind;
    uint8_t cmd;
    uint8_t nack_code;
    uint16_t addr;
    uint16_t count;
    uint16_t payload_len;
    uint8_t payload[TBMS_PAYLOAD_MAX];
} tbms_frame_t;

/*
 * Register words of a 0x03 response or 0x10 request (big-endian on the
 * wire) or a 0x07 response (little-endian), in host order, into out[cap].
 * *n = number of registers. Errors: TBMS_ERR_ARG (NULL, or a frame that
 * carries no register block), TBMS_ERR_BUF_SMALL.
 */
tbms_err_t tbms_frame_registers(const tbms_frame_t *f, uint16_t *out, size_t cap, size_t *n);

/*
 * Parses one complete frame held in buf[len] (exactly one frame, first
 * byte 0xAA). Errors: TBMS_ERR_ARG, TBMS_ERR_TRUNCATED (shorter than its
 * header announces), TBMS_ERR_MALFORMED (not 0xAA first, unknown command,
 * inconsistent length field, or bytes after the frame's end),
 * TBMS_ERR_CRC. A NACK frame parses as TBMS_OK with kind TBMS_KIND_NACK:
 * whether it is an error is the caller's business (see tbms_expect()).
 */
tbms_err_t tbms_parse(tbms_dir_t dir, const uint8_t *buf, size_t len, tbms_frame_t *out);

/*
 * Checks that response `f` answers a request with command `cmd`:
 * TBMS_OK for data of that command (or an ACK of it), TBMS_ERR_NACK for a
 * NACK of it (code in f->nack_code), TBMS_ERR_UNEXPECTED otherwise.
 */
tbms_err_t tbms_expect(const tbms_frame_t *f, uint8_t cmd);

/*
 * Counters a stream parser keeps; they only grow (wrap at 2^32). One
 * corrupted frame counts once: see tbms_parser_t for the bytes inside it.
 */
typedef struct {
    uint32_t frames;        /* frames with a good CRC */
    uint32_t crc_errors;    /* complete frames with a bad CRC */
    uint32_t malformed;     /* impossible headers (unknown command, bad length) */
    uint32_t truncated;     /* frames cut short (tbms_parser_timeout) */
    uint32_t garbage_bytes; /* bytes skipped while looking for 0xAA */
} tbms_parser_stats_t;

/*
 * Stream parser: accepts bytes in any chunking, skips anything before a
 * 0xAA (such as the BMS's ASCII broadcast), and resynchronises after a
 * bad frame by rescanning from the byte after the rejected 0xAA, so a good
 * frame hidden behind a false start is not lost.
 *
 * The rescan meets the rejected frame's own data, where a 0xAA byte may
 * look like a header (AA 00 is a NACK's). A candidate that starts inside
 * a frame already rejected for its CRC and fails too is not a second
 * error: it is counted as garbage bytes and not reported, so crc_errors
 * grows by one per corrupted frame whatever its data holds. A good frame
 * found there is taken as usual.
 */
typedef struct {
    tbms_dir_t dir;
    uint16_t len;
    uint16_t need;     /* length of the frame being received; 0 = not known yet */
    uint16_t rejected; /* buffered bytes, from buf[0], of the last frame rejected for its CRC */
    uint8_t buf[TBMS_FRAME_MAX];
    tbms_parser_stats_t stats;
} tbms_parser_t;

typedef enum {
    TBMS_PARSE_MORE = 0, /* all input consumed, no complete frame yet */
    TBMS_PARSE_FRAME,    /* *frame holds a frame with a good CRC */
    TBMS_PARSE_ERROR,    /* a frame was rejected; *err says why */
} tbms_parse_status_t;

/* Resets the parser to an empty buffer and zero counters. */
void tbms_parser_init(tbms_parser_t *p, tbms_dir_t dir);

/*
 * Feeds up to n bytes. Stops at the first frame or rejected frame and
 * says in *consumed how many input bytes it took; call again with the
 * rest (and once more with n = 0 after an event, since rescanned bytes
 * may already hold the next frame) until it returns TBMS_PARSE_MORE.
 * On TBMS_PARSE_ERROR, *err is TBMS_ERR_CRC or TBMS_ERR_MALFORMED.
 * frame and err may not be NULL; data may be NULL when n is 0.
 */
tbms_parse_status_t tbms_parser_push(tbms_parser_t *p, const uint8_t *data, size_t n,
                                     size_t *consumed, tbms_frame_t *frame, tbms_err_t *err);

/*
 * Tells the parser that the line went quiet (the caller's response
 * timeout). A partly received frame is dropped and counted as truncated:
 * returns TBMS_ERR_TRUNCATED then, TBMS_OK when nothing was pending. A
 * partial candidate that starts inside a frame rejected for its CRC is
 * that frame's bytes, dropped as garbage (TBMS_OK).
 */
tbms_err_t tbms_parser_timeout(tbms_parser_t *p);

/* Drops buffered bytes without counting them (before a new request). */
void tbms_parser_reset_buffer(tbms_parser_t *p);

#endif /* TBMS_FRAME_H */
