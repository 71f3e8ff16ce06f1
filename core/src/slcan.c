/*
 * slcan.c - LAWICEL / slcan line codec. See slcan.h for the grammar and the
 * decisions (timestamp suffix, '\n' handling, what counts as a command).
 */
#include "slcan.h"

#include <string.h>

#define SLCAN_STD_ID_DIGITS 3u
#define SLCAN_EXT_ID_DIGITS 8u
#define SLCAN_EXT_ID_MAX    0x1FFFFFFFu
#define SLCAN_TS_DIGITS     4u
#define SLCAN_BEL           0x07u

/* Command letters of the LAWICEL set and common extensions (CANable 'v',
 * listen-only 'L', status 'F', version 'V', serial 'N', timestamps 'Z0/Z1',
 * filters 'M'/'m', auto-poll 'X', UART speed 'U', auto-start 'Q', BTR 's'). */
static const char slcan_cmd_letters[] = "ACEFLMNOPQUVWXZmsv";

_Static_assert(SLCAN_LINE_MAX >=
                   1u + SLCAN_EXT_ID_DIGITS + 1u + 2u * VCAN_DLC_MAX + SLCAN_TS_DIGITS,
               "accumulator must hold the longest valid line");
_Static_assert(SLCAN_ENCODE_MAX >= 1u + SLCAN_STD_ID_DIGITS + 1u + 2u * VCAN_DLC_MAX + 2u,
               "encode buffer must hold the longest standard line, CR and NUL");

const char *slcan_strerror(slcan_err_t err)
{
    switch (err) {
    case SLCAN_OK:
        return "OK";
    case SLCAN_ERR_ARG:
        return "invalid argument";
    case SLCAN_ERR_BUF_SMALL:
        return "output buffer too small";
    case SLCAN_ERR_ID_RANGE:
        return "CAN id out of range";
    case SLCAN_ERR_DLC_RANGE:
        return "DLC not a digit 0-8";
    case SLCAN_ERR_HEX:
        return "invalid hex digit";
    case SLCAN_ERR_LENGTH:
        return "line length does not match DLC";
    case SLCAN_ERR_OVERLONG:
        return "line too long";
    case SLCAN_ERR_UNKNOWN_CMD:
        return "unknown command or reply";
    case SLCAN_ERR_TRUNCATED:
        return "partial line cut off by an error reply";
    case SLCAN_ERR_COUNT_:
        break;
    }
    return "unknown slcan error";
}

static char hex_digit(unsigned v)
{
    static const char digits[] = "0123456789ABCDEF";
    return digits[v & 0x0Fu];
}

/* Value of one hex digit, or -1. */
static int hex_value(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    return -1;
}

/* Read n hex digits (n <= 8) at s into *out. */
static bool rd_hex(const char *s, size_t n, uint32_t *out)
{
    uint32_t v = 0;
    for (size_t i = 0; i < n; i++) {
        int d = hex_value(s[i]);
        if (d < 0) {
            return false;
        }
        v = (v << 4) | (uint32_t)d;
    }
    *out = v;
    return true;
}

slcan_err_t slcan_encode(const vcan_frame_t *frame, char *out, size_t cap, size_t *out_len)
{
    if (frame == NULL || out == NULL || out_len == NULL) {
        return SLCAN_ERR_ARG;
    }
    if (frame->id > VCAN_ID_MAX) {
        return SLCAN_ERR_ID_RANGE;
    }
    if (frame->dlc > VCAN_DLC_MAX) {
        return SLCAN_ERR_DLC_RANGE;
    }
    size_t line_len = 1u + SLCAN_STD_ID_DIGITS + 1u + 2u * (size_t)frame->dlc + 1u;
    if (cap < line_len + 1u) {
        return SLCAN_ERR_BUF_SMALL;
    }
    size_t n = 0;
    out[n++] = 't';
    out[n++] = hex_digit((unsigned)frame->id >> 8);
    out[n++] = hex_digit((unsigned)frame->id >> 4);
    out[n++] = hex_digit((unsigned)frame->id);
    out[n++] = (char)('0' + frame->dlc);
    for (size_t i = 0; i < frame->dlc; i++) {
        out[n++] = hex_digit((unsigned)frame->data[i] >> 4);
        out[n++] = hex_digit(frame->data[i]);
    }
    out[n++] = '\r';
    out[n] = '\0';
    *out_len = n;
    return SLCAN_OK;
}

static slcan_err_t malformed(slcan_event_t *ev, slcan_err_t err)
{
    memset(ev, 0, sizeof *ev);
    ev->kind = SLCAN_EV_MALFORMED;
    ev->err = err;
    return err;
}

/* t/T/r/R lines: type letter, id, DLC digit, data (not for RTR), optional
 * 4-digit timestamp. */
static slcan_err_t parse_frame(const char *line, size_t len, slcan_event_t *ev)
{
    char type = line[0];
    bool ext = (type == 'T' || type == 'R');
    bool remote = (type == 'r' || type == 'R');
    size_t id_digits = ext ? SLCAN_EXT_ID_DIGITS : SLCAN_STD_ID_DIGITS;
    size_t header = 1u + id_digits + 1u;

    if (len < header) {
        return malformed(ev, SLCAN_ERR_LENGTH);
    }
    uint32_t id;
    if (!rd_hex(line + 1, id_digits, &id)) {
        return malformed(ev, SLCAN_ERR_HEX);
    }
    if (id > (ext ? SLCAN_EXT_ID_MAX : VCAN_ID_MAX)) {
        return malformed(ev, SLCAN_ERR_ID_RANGE);
    }
    char dlc_char = line[header - 1u];
    if (dlc_char < '0' || dlc_char > '8') {
        return malformed(ev, SLCAN_ERR_DLC_RANGE);
    }
    uint8_t dlc = (uint8_t)(dlc_char - '0');
    size_t data_digits = remote ? 0u : 2u * (size_t)dlc;
    size_t need = header + data_digits;
    if (len != need && len != need + SLCAN_TS_DIGITS) {
        return malformed(ev, SLCAN_ERR_LENGTH);
    }

    slcan_event_t out;
    memset(&out, 0, sizeof out);
    for (size_t i = 0; i < data_digits / 2u; i++) {
        uint32_t byte;
        if (!rd_hex(line + header + 2u * i, 2u, &byte)) {
            return malformed(ev, SLCAN_ERR_HEX);
        }
        out.frame.data[i] = (uint8_t)byte;
    }
    if (len == need + SLCAN_TS_DIGITS) {
        uint32_t ts;
        if (!rd_hex(line + need, SLCAN_TS_DIGITS, &ts)) {
            return malformed(ev, SLCAN_ERR_HEX);
        }
        out.has_timestamp = true;
        out.timestamp_ms = (uint16_t)ts;
    }
    out.frame.dlc = dlc;
    out.id = id;
    out.extended = ext;
    if (remote) {
        out.kind = SLCAN_EV_REMOTE;
    } else if (ext) {
        out.kind = SLCAN_EV_EXT_FRAME;
    } else {
        out.kind = SLCAN_EV_FRAME;
        out.frame.id = (uint16_t)id;
    }
    out.err = SLCAN_OK;
    *ev = out;
    return SLCAN_OK;
}

slcan_err_t slcan_parse_line(const char *line, size_t len, slcan_event_t *ev)
{
    if (ev == NULL || (line == NULL && len > 0u)) {
        return SLCAN_ERR_ARG;
    }
    if (len > SLCAN_LINE_MAX) {
        return malformed(ev, SLCAN_ERR_OVERLONG);
    }
    memset(ev, 0, sizeof *ev);
    if (len == 0u) {
        ev->kind = SLCAN_EV_ACK;
        return SLCAN_OK;
    }
    for (size_t i = 0; i < len; i++) {
        if (line[i] < 0x20 || line[i] > 0x7E) {
            return malformed(ev, SLCAN_ERR_UNKNOWN_CMD);
        }
    }
    char c = line[0];
    switch (c) {
    case 't':
    case 'T':
    case 'r':
    case 'R':
        return parse_frame(line, len, ev);
    case 'z':
        if (len != 1u) {
            return malformed(ev, SLCAN_ERR_LENGTH);
        }
        ev->kind = SLCAN_EV_ACK;
        return SLCAN_OK;
    case 'Z':
        /* "Z" alone: extended transmit ACK; "Z0"/"Z1": timestamp command. */
        ev->kind = (len == 1u) ? SLCAN_EV_ACK : SLCAN_EV_COMMAND;
        ev->cmd = (len == 1u) ? '\0' : c;
        return SLCAN_OK;
    case 'S':
        /* Bit-rate presets S0 (10 kbit/s) .. S8 (1 Mbit/s); S6 = 500 kbit/s. */
        if (len != 2u || line[1] < '0' || line[1] > '8') {
            return malformed(ev, SLCAN_ERR_UNKNOWN_CMD);
        }
        ev->kind = SLCAN_EV_COMMAND;
        ev->cmd = c;
        return SLCAN_OK;
    default:
        if (strchr(slcan_cmd_letters, c) == NULL) {
            return malformed(ev, SLCAN_ERR_UNKNOWN_CMD);
        }
        ev->kind = SLCAN_EV_COMMAND;
        ev->cmd = c;
        return SLCAN_OK;
    }
}

void slcan_parser_init(slcan_parser_t *p)
{
    if (p != NULL) {
        memset(p, 0, sizeof *p);
    }
}

void slcan_parser_reset_line(slcan_parser_t *p)
{
    if (p != NULL) {
        p->len = 0;
        p->overflow = false;
    }
}

static void bump(uint32_t *c)
{
    if (*c < UINT32_MAX) {
        (*c)++;
    }
}

static void count(slcan_stats_t *s, const slcan_event_t *ev)
{
    switch (ev->kind) {
    case SLCAN_EV_FRAME:
        bump(&s->frames);
        break;
    case SLCAN_EV_EXT_FRAME:
        bump(&s->ext_frames);
        break;
    case SLCAN_EV_REMOTE:
        bump(&s->remotes);
        break;
    case SLCAN_EV_ACK:
        bump(&s->acks);
        break;
    case SLCAN_EV_NACK:
        bump(&s->nacks);
        break;
    case SLCAN_EV_COMMAND:
        bump(&s->commands);
        break;
    case SLCAN_EV_MALFORMED:
        bump(&s->malformed);
        if (ev->err == SLCAN_ERR_OVERLONG) {
            bump(&s->overlong);
        }
        break;
    case SLCAN_EV_NONE:
        break;
    }
}

/* Turn the accumulated line into an event and start a new line. */
static void finish_line(slcan_parser_t *p, slcan_event_t *ev, slcan_err_t cut_reason)
{
    if (p->overflow) {
        (void)malformed(ev, SLCAN_ERR_OVERLONG);
    } else if (cut_reason != SLCAN_OK) {
        (void)malformed(ev, cut_reason);
    } else {
        (void)slcan_parse_line(p->line, p->len, ev);
    }
    count(&p->stats, ev);
    slcan_parser_reset_line(p);
}

size_t slcan_parser_feed(slcan_parser_t *p, const uint8_t *data, size_t len, slcan_event_t *ev)
{
    if (p == NULL || ev == NULL) {
        return 0;
    }
    memset(ev, 0, sizeof *ev);
    if (data == NULL) {
        return 0;
    }
    for (size_t i = 0; i < len; i++) {
        uint8_t b = data[i];
        if (b == SLCAN_BEL) {
            if (p->len > 0u || p->overflow) {
                /* Report the cut-off line first; the BEL is left for the next call. */
                finish_line(p, ev, SLCAN_ERR_TRUNCATED);
                return i;
            }
            ev->kind = SLCAN_EV_NACK;
            count(&p->stats, ev);
            return i + 1u;
        }
        if (b == '\r' || b == '\n') {
            if (b == '\n' && p->len == 0u && !p->overflow) {
                continue; /* second half of a "\r\n" ending */
            }
            finish_line(p, ev, SLCAN_OK);
            return i + 1u;
        }
        if (p->overflow) {
            continue;
        }
        if (p->len == SLCAN_LINE_MAX) {
            p->overflow = true;
            continue;
        }
        p->line[p->len++] = (char)b;
    }
    return len;
}
