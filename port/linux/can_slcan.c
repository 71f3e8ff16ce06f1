/*
 * can_slcan.c - CAN port backend for a LAWICEL/slcan adapter on a tty
 * (CANable stock firmware, CANUSB...; victron-can-bms.md D) or a peer on a
 * pseudo-terminal (python-can's slcan interface, test-peers.md).
 *
 * Open: raw tty via serial_port (default 115200 bit/s: USB CDC adapters
 * ignore it, so do ptys), input flushed, then "C\r" (close channel, in case
 * it was left open), "S6\r" (500 kbit/s), "O\r" (open), or "L\r" (open
 * listen-only: no transmission, no acknowledgement) in loopback mode
 * (can_port.h). The adapter answers
 * each with "\r" or BEL; a python-can peer writes its own C/S6/O toward us.
 * All of those parse as ACK/NACK/COMMAND events and are ignored (counted).
 *
 * TX: each frame becomes one "tIIIL..\r" line (core slcan codec) written
 * without blocking. A line the tty only half accepted keeps its remainder
 * in a small pending buffer, flushed before anything else so lines never
 * interleave; while a remainder is stuck, or when write() would block,
 * frames are dropped and counted (tx_drops) - the loop never waits.
 *
 * Loss: a read or write error, or a hang-up (USB adapter unplugged, pty
 * peer gone), closes the tty; tick() reopens it every CANPORT_RETRY_MS and
 * repeats the open sequence when it is back.
 */
#include "can_port.h"
#include "serial_port.h"
#include "slcan.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SL_DEFAULT_BAUD     115200u
#define SL_RX_CHUNK         256u
#define SL_PENDING_MAX      64u
#define SL_MAX_READS_PER_RX 8
/* Close, 500 kbit/s (S6), open; or open listen-only (LAWICEL "L"). */
static const char sl_open_sequence[] = "C\rS6\rO\r";
static const char sl_listen_sequence[] = "C\rS6\rL\r";

_Static_assert(sizeof sl_open_sequence - 1u <= SL_PENDING_MAX, "open sequence fits pending");
_Static_assert(sizeof sl_listen_sequence == sizeof sl_open_sequence, "same length");
_Static_assert(SLCAN_ENCODE_MAX <= SL_PENDING_MAX, "one line fits pending");

typedef struct {
    serial_posix_t tty;
    serial_port_t port;
    slcan_parser_t parser;
    uint8_t rx[SL_RX_CHUNK];
    size_t rx_len;
    size_t rx_off;
    uint8_t pending[SL_PENDING_MAX];
    size_t pending_len;
    canport_stats_t stats;
    uint64_t next_retry_ms;
    bool configured;  /* open() parsed the arg; tick may reconnect */
    bool listen_only; /* loopback mode: open with "L" */
    char last_error[CANPORT_ERROR_MAX];
} sl_ctx_t;

static void bump(uint32_t *c)
{
    if (*c < UINT32_MAX) {
        (*c)++;
    }
}

static void sl_lose(sl_ctx_t *c, uint64_t now_ms)
{
    snprintf(c->last_error, sizeof c->last_error, "%s (reopening every %u ms)",
             serial_port_last_error(&c->port), CANPORT_RETRY_MS);
    serial_port_close(&c->port);
    c->stats.connected = false;
    c->pending_len = 0;
    c->rx_len = 0;
    c->rx_off = 0;
    slcan_parser_reset_line(&c->parser);
    c->next_retry_ms = now_ms + CANPORT_RETRY_MS;
}

/* Write what is pending. Returns false when the tty failed (and was closed). */
static bool sl_flush_pending(sl_ctx_t *c, uint64_t now_ms)
{
    while (c->pending_len > 0u) {
        ssize_t n = serial_port_write(&c->port, c->pending, c->pending_len);
        if (n < 0) {
            bump(&c->stats.tx_errors);
            sl_lose(c, now_ms);
            return false;
        }
        if (n == 0) {
            return true;
        }
        size_t done = (size_t)n;
        memmove(c->pending, c->pending + done, c->pending_len - done);
        c->pending_len -= done;
    }
    return true;
}

/* The tty just opened: fresh parser state, then the open sequence.
 * 0, or -EIO when the tty failed at once (closed again, retry scheduled). */
static int sl_after_open(sl_ctx_t *c, uint64_t now_ms)
{
    c->stats.connected = true;
    c->rx_len = 0;
    c->rx_off = 0;
    slcan_parser_reset_line(&c->parser);
    memcpy(c->pending, c->listen_only ? sl_listen_sequence : sl_open_sequence,
           sizeof sl_open_sequence - 1u);
    c->pending_len = sizeof sl_open_sequence - 1u;
    if (!sl_flush_pending(c, now_ms)) {
        return -EIO;
    }
    c->last_error[0] = '\0';
    return 0;
}

/* Reopen the tty of the spec. 0 or -errno (reason in last_error). */
static int sl_connect(sl_ctx_t *c, uint64_t now_ms)
{
    int rc = serial_port_reopen(&c->port);
    if (rc < 0) {
        snprintf(c->last_error, sizeof c->last_error, "%s", serial_port_last_error(&c->port));
        return rc;
    }
    return sl_after_open(c, now_ms);
}

/* "TTY[@BAUD]": a trailing "@digits" is the baud, anything else is path. */
static canport_err_t sl_parse_arg(sl_ctx_t *c, const char *arg, char *path, size_t path_cap,
                                  uint32_t *baud)
{
    size_t len = strlen(arg);
    *baud = SL_DEFAULT_BAUD;
    const char *at = strrchr(arg, '@');
    if (at != NULL && at[1] != '\0' && strspn(at + 1, "0123456789") == strlen(at + 1)) {
        unsigned long v = strtoul(at + 1, NULL, 10);
        if (!serial_baud_to_speed(v > UINT32_MAX ? 0u : (uint32_t)v, NULL)) {
            snprintf(c->last_error, sizeof c->last_error,
                     "unsupported baud rate '%s' (use 9600..921600, e.g. 115200)", at + 1);
            return CANPORT_ERR_SPEC;
        }
        *baud = (uint32_t)v;
        len = (size_t)(at - arg);
    }
    if (len == 0u || len >= path_cap) {
        snprintf(c->last_error, sizeof c->last_error, "tty path must be 1..%zu characters",
                 path_cap - 1u);
        return CANPORT_ERR_SPEC;
    }
    memcpy(path, arg, len);
    path[len] = '\0';
    return CANPORT_OK;
}

static canport_err_t sl_open(void *ctx, const char *arg, uint64_t now_ms)
{
    sl_ctx_t *c = ctx;
    serial_posix_ctx_init(&c->tty);
    if (serial_port_init(&c->port, &serial_posix_ops, &c->tty) != 0) {
        snprintf(c->last_error, sizeof c->last_error, "%s", serial_port_last_error(&c->port));
        return CANPORT_ERR_ARG;
    }
    slcan_parser_init(&c->parser);
    char path[SERIAL_PATH_MAX];
    uint32_t baud;
    canport_err_t rc = sl_parse_arg(c, arg, path, sizeof path, &baud);
    if (rc != CANPORT_OK) {
        return rc;
    }
    /* serial_port_open stores path and baud for later reopens. */
    if (serial_port_open(&c->port, path, baud) < 0) {
        snprintf(c->last_error, sizeof c->last_error, "%s", serial_port_last_error(&c->port));
        return CANPORT_ERR_OPEN;
    }
    c->configured = true;
    if (sl_after_open(c, now_ms) < 0) {
        return CANPORT_ERR_OPEN;
    }
    return CANPORT_OK;
}

static void sl_close(void *ctx)
{
    sl_ctx_t *c = ctx;
    if (c->port.ops != NULL && c->stats.connected) {
        /* Best effort "close channel"; the adapter also stops when the tty closes. */
        (void)serial_port_write(&c->port, (const uint8_t *)"C\r", 2u);
    }
    serial_port_close(&c->port);
    c->stats.connected = false;
    c->configured = false;
}

static int sl_fd(const void *ctx)
{
    const sl_ctx_t *c = ctx;
    return serial_port_fd(&c->port);
}

static canport_err_t sl_send(void *ctx, const vcan_frame_t *frame, uint64_t now_ms)
{
    sl_ctx_t *c = ctx;
    char line[SLCAN_ENCODE_MAX];
    size_t len;
    if (slcan_encode(frame, line, sizeof line, &len) != SLCAN_OK) {
        bump(&c->stats.tx_errors);
        return CANPORT_ERR_FRAME;
    }
    if (!c->stats.connected) {
        bump(&c->stats.tx_drops);
        return CANPORT_ERR_DISCONNECTED;
    }
    if (!sl_flush_pending(c, now_ms)) {
        bump(&c->stats.tx_drops);
        return CANPORT_ERR_DISCONNECTED;
    }
    if (c->pending_len > 0u) {
        bump(&c->stats.tx_drops);
        return CANPORT_ERR_AGAIN;
    }
    ssize_t n = serial_port_write(&c->port, (const uint8_t *)line, len);
    if (n < 0) {
        bump(&c->stats.tx_errors);
        sl_lose(c, now_ms);
        return CANPORT_ERR_DISCONNECTED;
    }
    if (n == 0) {
        bump(&c->stats.tx_drops);
        return CANPORT_ERR_AGAIN;
    }
    size_t done = (size_t)n;
    if (done < len) {
        memcpy(c->pending, line + done, len - done);
        c->pending_len = len - done;
    }
    bump(&c->stats.tx_frames);
    return CANPORT_OK;
}

static canport_err_t sl_recv(void *ctx, vcan_frame_t *out, uint64_t now_ms)
{
    sl_ctx_t *c = ctx;
    if (!c->stats.connected) {
        return CANPORT_ERR_DISCONNECTED;
    }
    for (int reads = 0; reads <= SL_MAX_READS_PER_RX; reads++) {
        while (c->rx_off < c->rx_len) {
            slcan_event_t ev;
            c->rx_off +=
                slcan_parser_feed(&c->parser, c->rx + c->rx_off, c->rx_len - c->rx_off, &ev);
            switch (ev.kind) {
            case SLCAN_EV_FRAME:
                bump(&c->stats.rx_frames);
                *out = ev.frame;
                return CANPORT_OK;
            case SLCAN_EV_EXT_FRAME:
            case SLCAN_EV_REMOTE:
            case SLCAN_EV_ACK:
            case SLCAN_EV_COMMAND:
                bump(&c->stats.rx_ignored);
                break;
            case SLCAN_EV_NACK:
                bump(&c->stats.rx_errors);
                break;
            case SLCAN_EV_MALFORMED:
                bump(&c->stats.rx_malformed);
                break;
            case SLCAN_EV_NONE:
                break;
            }
        }
        c->rx_off = 0;
        c->rx_len = 0;
        if (reads == SL_MAX_READS_PER_RX) {
            break; /* more is waiting in the tty: poll() will say so again */
        }
        ssize_t n = serial_port_read(&c->port, c->rx, sizeof c->rx);
        if (n == 0) {
            return CANPORT_ERR_EMPTY;
        }
        if (n < 0) {
            bump(&c->stats.rx_errors);
            sl_lose(c, now_ms);
            return CANPORT_ERR_DISCONNECTED;
        }
        c->rx_len = (size_t)n;
    }
    return CANPORT_ERR_EMPTY;
}

static void sl_tick(void *ctx, uint64_t now_ms)
{
    sl_ctx_t *c = ctx;
    if (!c->configured) {
        return;
    }
    if (c->stats.connected) {
        (void)sl_flush_pending(c, now_ms);
        return;
    }
    if (now_ms < c->next_retry_ms) {
        return;
    }
    if (sl_connect(c, now_ms) == 0) {
        bump(&c->stats.reconnects);
    } else {
        c->next_retry_ms = now_ms + CANPORT_RETRY_MS;
    }
}

static void sl_get_stats(const void *ctx, canport_stats_t *out)
{
    const sl_ctx_t *c = ctx;
    *out = c->stats;
}

static const char *sl_last_error(const void *ctx)
{
    const sl_ctx_t *c = ctx;
    return c->last_error;
}

static void sl_set_listen_only(void *ctx)
{
    sl_ctx_t *c = ctx;
    c->listen_only = true;
}

const canport_ops_t canport_slcan_ops = {
    .name = "slcan",
    .ctx_size = sizeof(sl_ctx_t),
    .open = sl_open,
    .close = sl_close,
    .fd = sl_fd,
    .send = sl_send,
    .recv = sl_recv,
    .tick = sl_tick,
    .get_stats = sl_get_stats,
    .last_error = sl_last_error,
    .set_listen_only = sl_set_listen_only,
};
