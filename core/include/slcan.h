/*
 * slcan.h - the LAWICEL / slcan ASCII line protocol spoken by USB-serial CAN
 * adapters (CANable stock firmware, CANUSB, python-can's `slcan` interface).
 * Pure codec: bytes in, lines or events out; no I/O, no heap, no clock.
 *
 * Lines end in '\r' (0x0D). Frame lines, hex digits in either case:
 *
 *   standard data  t iii l dd..      e.g. "t30580000000000000000\r" (0x305, 8 x 00)
 *   extended data  T iiiiiiii l dd..
 *   standard RTR   r iii l
 *   extended RTR   R iiiiiiii l
 *
 *   +-----+---------------+-----+-------------+-------------+----+
 *   | 't' | id: 3 hex     | dlc | data: 2*dlc | [time 4hex] | \r |
 *   |     | (8 for 'T')   | 0-8 | hex digits  |  optional   |    |
 *   +-----+---------------+-----+-------------+-------------+----+
 *
 * Timestamps: an adapter with timestamps switched on ("Z1") appends exactly
 * four hex digits (milliseconds, 0..0xEA5F, wrapping each minute) after the
 * data. The parser accepts either no suffix or exactly four hex digits and
 * reports the value in the event; any other number of trailing characters is
 * a length error. The bridge ignores the value (it stamps frames itself).
 *
 * Everything that is not a frame is an adapter reply or a command echoed by
 * a peer (python-can writes "C\r", "S6\r", "O\r" toward us when it opens):
 *
 *   "\r" alone            ACK   (the adapter's "OK")
 *   0x07 (BEL), no '\r'   NACK  (the adapter's "error"); ends a line by itself
 *   "z\r" / "Z\r"         ACK   (transmit acknowledged)
 *   C O L A P X U Q W M m E s S0-S8 V.. v.. N.. F.. Z0/Z1 ...
 *                         COMMAND (ignorable; the first letter is reported)
 *
 * A lone '\n' at the start of a line is skipped (some adapters end lines
 * with "\r\n"); a '\n' inside a line ends it like '\r'.
 *
 * Malformed lines (non-hex digit, DLC above 8, id above the field's range,
 * wrong length, unknown command letter, line longer than SLCAN_LINE_MAX) are
 * reported as SLCAN_EV_MALFORMED with the reason, counted, and dropped; the
 * parser resynchronises at the next terminator.
 */
#ifndef SLCAN_H
#define SLCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "victron_can.h"

/* Longest valid line without its terminator: 'T' + 8 id + 1 dlc + 16 data +
 * 4 timestamp = 30. The accumulator holds this much; more is "overlong". */
#define SLCAN_LINE_MAX 30u

/* Bytes slcan_encode() needs for the longest standard frame:
 * 't' + 3 + 1 + 16 + '\r' + NUL = 23. */
#define SLCAN_ENCODE_MAX 23u

/* The one error enum of the slcan codec; 0 = OK. */
typedef enum {
    SLCAN_OK = 0,
    SLCAN_ERR_ARG,         /* NULL pointer */
    SLCAN_ERR_BUF_SMALL,   /* output buffer too small for the line */
    SLCAN_ERR_ID_RANGE,    /* id above 0x7FF (encode) or above the field's range (parse) */
    SLCAN_ERR_DLC_RANGE,   /* DLC above 8, or DLC digit not a decimal digit */
    SLCAN_ERR_HEX,         /* a character that should be a hex digit is not */
    SLCAN_ERR_LENGTH,      /* line length does not match its DLC (and optional timestamp) */
    SLCAN_ERR_OVERLONG,    /* more than SLCAN_LINE_MAX characters before the terminator */
    SLCAN_ERR_UNKNOWN_CMD, /* first character is no frame type and no known command */
    SLCAN_ERR_TRUNCATED,   /* partial line cut off by a BEL (0x07) */
    SLCAN_ERR_COUNT_       /* number of codes; not an error */
} slcan_err_t;

/* Static English text for an error code; never NULL. */
const char *slcan_strerror(slcan_err_t err);

/* Encode a standard data frame as "tIIIL<data>\r" with upper-case hex and a
 * terminating NUL after the '\r' (not counted in *out_len).
 * Takes: frame with id <= 0x7FF and dlc <= 8; out with cap bytes
 * (SLCAN_ENCODE_MAX always suffices; exactly 5 + 2*dlc + 1 + 1 are needed).
 * Returns SLCAN_OK and the line length (6..22) in *out_len;
 * SLCAN_ERR_ARG, _ID_RANGE, _DLC_RANGE or _BUF_SMALL with out untouched.
 * O(dlc), no state. */
slcan_err_t slcan_encode(const vcan_frame_t *frame, char *out, size_t cap, size_t *out_len);

/* What one completed line turned out to be. */
typedef enum {
    SLCAN_EV_NONE = 0,  /* no complete line in the bytes consumed so far */
    SLCAN_EV_FRAME,     /* standard data frame: ev->frame */
    SLCAN_EV_EXT_FRAME, /* extended data frame: ev->id (29-bit), ev->frame.dlc/data */
    SLCAN_EV_REMOTE,    /* remote request, 'r' or 'R': ev->id, ev->extended, ev->frame.dlc */
    SLCAN_EV_ACK,       /* "\r" alone, "z\r", "Z\r" */
    SLCAN_EV_NACK,      /* BEL (0x07): the adapter refused the last command */
    SLCAN_EV_COMMAND,   /* a command/reply line to ignore: ev->cmd is its first letter */
    SLCAN_EV_MALFORMED  /* a bad line, dropped: ev->err says why */
} slcan_ev_kind_t;

/* One parser event. Fields not listed for the kind are zero. */
typedef struct {
    slcan_ev_kind_t kind;
    slcan_err_t err;       /* SLCAN_EV_MALFORMED: the reason */
    vcan_frame_t frame;    /* SLCAN_EV_FRAME: the frame; _EXT_FRAME/_REMOTE: dlc and data
                              (frame.id is 0 for those; see id) */
    uint32_t id;           /* every frame kind: the id as sent (11 or 29 bits) */
    bool extended;         /* 'T' or 'R' */
    bool has_timestamp;    /* a frame line carried the 4-hex-digit suffix */
    uint16_t timestamp_ms; /* its value (adapter clock, wraps at 60000) */
    char cmd;              /* SLCAN_EV_COMMAND: the first character of the line */
} slcan_event_t;

/* Running counts, one per event kind (saturating at UINT32_MAX). */
typedef struct {
    uint32_t frames;     /* standard data frames */
    uint32_t ext_frames; /* extended data frames */
    uint32_t remotes;    /* remote requests of either length */
    uint32_t acks;
    uint32_t nacks;
    uint32_t commands;
    uint32_t malformed; /* every malformed line, overlong ones included */
    uint32_t overlong;  /* the subset that exceeded SLCAN_LINE_MAX */
} slcan_stats_t;

/* Line accumulator. The caller owns it; zero-initialise with slcan_parser_init(). */
typedef struct {
    char line[SLCAN_LINE_MAX];
    size_t len;    /* characters held in line */
    bool overflow; /* the current line exceeded SLCAN_LINE_MAX; discarding to the terminator */
    slcan_stats_t stats;
} slcan_parser_t;

/* Reset the accumulator and its counters. p may not be NULL. */
void slcan_parser_init(slcan_parser_t *p);

/* Drop any partial line (e.g. after reopening the device); keeps counters. */
void slcan_parser_reset_line(slcan_parser_t *p);

/* Consume bytes until one line completes, in any chunking.
 * Takes: data/len (data may be NULL when len is 0), ev for the result.
 * Returns the number of bytes consumed (<= len). ev->kind is SLCAN_EV_NONE
 * when all bytes were consumed without completing a line; otherwise the
 * event of the line that completed at the last consumed byte. Call again
 * with the remaining bytes until everything is consumed:
 *
 *     size_t off = 0;
 *     while (off < n) {
 *         off += slcan_parser_feed(&p, buf + off, n - off, &ev);
 *         if (ev.kind == SLCAN_EV_FRAME) handle(&ev.frame);
 *     }
 *
 * A call with p or ev NULL returns 0 and does nothing. O(bytes consumed). */
size_t slcan_parser_feed(slcan_parser_t *p, const uint8_t *data, size_t len, slcan_event_t *ev);

/* Parse one complete line (terminator already removed) into ev, without
 * accumulator or counters. The BEL and empty-line cases are the parser's;
 * an empty line here gives SLCAN_EV_ACK. Returns ev->err (SLCAN_OK unless
 * ev->kind is SLCAN_EV_MALFORMED; SLCAN_ERR_ARG for NULL pointers). */
slcan_err_t slcan_parse_line(const char *line, size_t len, slcan_event_t *ev);

#endif /* SLCAN_H */
