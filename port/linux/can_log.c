/*
 * can_log.c - CAN port backend that writes every TX frame as a can-utils
 * `candump -L` line, for running without CAN hardware and for replay with
 * `canplayer -I FILE`:
 *
 *     (1700000000.123456) vcan0 351#480200050005AE01
 *      wall-clock sec.usec  iface id (3 hex) # data (2 hex per byte, none for dlc 0)
 *
 * Spec "log:FILE[@IFACE]": FILE is opened for APPEND (an existing capture
 * is never truncated); "-" is stdout (left open at close). IFACE, default
 * "vcan0", is taken from a trailing "@name" made of letters, digits, '_',
 * '-' or '.' (1..15 characters); any other '@' belongs to the path.
 * Each line is flushed as written. Blocking regular-file/stdout writes are
 * accepted here: a line is ~40 bytes. No RX: fd is -1, recv is always
 * empty. In loopback mode (can_port.h) the file still gets every frame, and
 * can_port.c returns them to the bridge.
 */
#include "can_port.h"

#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define LOG_DEFAULT_IFACE "vcan0"

typedef struct {
    FILE *fp;
    bool is_stdout;
    char iface[IFNAMSIZ];
    char path[256];
    canport_stats_t stats;
    char last_error[CANPORT_ERROR_MAX];
} log_ctx_t;

static void bump(uint32_t *c)
{
    if (*c < UINT32_MAX) {
        (*c)++;
    }
}

static bool valid_iface(const char *s)
{
    size_t n = strlen(s);
    return n > 0u && n < IFNAMSIZ &&
           strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.") == n;
}

static canport_err_t log_open(void *ctx, const char *arg, uint64_t now_ms)
{
    log_ctx_t *c = ctx;
    (void)now_ms;
    size_t len = strlen(arg);
    const char *at = strrchr(arg, '@');
    if (at != NULL && valid_iface(at + 1)) {
        memcpy(c->iface, at + 1, strlen(at + 1) + 1u);
        len = (size_t)(at - arg);
    } else {
        memcpy(c->iface, LOG_DEFAULT_IFACE, sizeof LOG_DEFAULT_IFACE);
    }
    if (len == 0u || len >= sizeof c->path) {
        snprintf(c->last_error, sizeof c->last_error, "log file path must be 1..%zu characters",
                 sizeof c->path - 1u);
        return CANPORT_ERR_SPEC;
    }
    memcpy(c->path, arg, len);
    c->path[len] = '\0';
    if (strcmp(c->path, "-") == 0) {
        c->fp = stdout;
        c->is_stdout = true;
    } else {
        c->fp = fopen(c->path, "ae");
        if (c->fp == NULL) {
            snprintf(c->last_error, sizeof c->last_error, "%.160s: %s", c->path, strerror(errno));
            return CANPORT_ERR_OPEN;
        }
    }
    c->stats.connected = true;
    return CANPORT_OK;
}

static void log_close(void *ctx)
{
    log_ctx_t *c = ctx;
    if (c->fp != NULL && !c->is_stdout) {
        if (fclose(c->fp) != 0) {
            snprintf(c->last_error, sizeof c->last_error, "%.160s: close: %s", c->path,
                     strerror(errno));
        }
    } else if (c->fp != NULL) {
        (void)fflush(c->fp);
    }
    c->fp = NULL;
    c->stats.connected = false;
}

static int log_fd(const void *ctx)
{
    (void)ctx;
    return -1;
}

static canport_err_t log_send(void *ctx, const vcan_frame_t *frame, uint64_t now_ms)
{
    log_ctx_t *c = ctx;
    (void)now_ms;
    if (frame->id > VCAN_ID_MAX || frame->dlc > VCAN_DLC_MAX) {
        bump(&c->stats.tx_errors);
        return CANPORT_ERR_FRAME;
    }
    if (c->fp == NULL) {
        bump(&c->stats.tx_drops);
        return CANPORT_ERR_DISCONNECTED;
    }
    struct timespec ts;
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0) {
        snprintf(c->last_error, sizeof c->last_error, "clock_gettime: %s", strerror(errno));
        bump(&c->stats.tx_errors);
        return CANPORT_ERR_IO;
    }
    char data[2u * VCAN_DLC_MAX + 1u];
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < frame->dlc; i++) {
        data[2u * i] = hex[frame->data[i] >> 4];
        data[2u * i + 1u] = hex[frame->data[i] & 0x0Fu];
    }
    data[2u * (size_t)frame->dlc] = '\0';
    int n = fprintf(c->fp, "(%lld.%06ld) %s %03X#%s\n", (long long)ts.tv_sec, ts.tv_nsec / 1000L,
                    c->iface, (unsigned)frame->id, data);
    if (n < 0 || fflush(c->fp) != 0) {
        snprintf(c->last_error, sizeof c->last_error, "%.160s: write: %s", c->path,
                 strerror(errno));
        clearerr(c->fp);
        bump(&c->stats.tx_errors);
        return CANPORT_ERR_IO;
    }
    bump(&c->stats.tx_frames);
    return CANPORT_OK;
}

static canport_err_t log_recv(void *ctx, vcan_frame_t *out, uint64_t now_ms)
{
    (void)ctx;
    (void)out;
    (void)now_ms;
    return CANPORT_ERR_EMPTY;
}

static void log_get_stats(const void *ctx, canport_stats_t *out)
{
    const log_ctx_t *c = ctx;
    *out = c->stats;
}

static const char *log_last_error(const void *ctx)
{
    const log_ctx_t *c = ctx;
    return c->last_error;
}

const canport_ops_t canport_log_ops = {
    .name = "log",
    .ctx_size = sizeof(log_ctx_t),
    .open = log_open,
    .close = log_close,
    .fd = log_fd,
    .send = log_send,
    .recv = log_recv,
    .tick = NULL,
    .get_stats = log_get_stats,
    .last_error = log_last_error,
    .records_only = true, /* loopback mode still writes every frame */
};
