/*
 * can_socketcan.c - CAN port backend on a Linux SocketCAN raw socket
 * (victron-can-bms.md D: AF_CAN/SOCK_RAW/CAN_RAW on can0/slcan0).
 *
 * Bus-off recovery is two-level:
 *  - the CONTROLLER is restarted by the kernel when the interface was set up
 *    with `ip link set can0 type can bitrate 500000 restart-ms 100`; we then
 *    see CAN_ERR_RESTARTED and go back to "active". Without restart-ms the
 *    controller stays bus-off until someone runs `ip link set can0 down/up`
 *    (needs CAP_NET_ADMIN, which the bridge does not take); sends then fail
 *    with ENOBUFS/EAGAIN and are counted as drops;
 *  - the SOCKET is closed and reopened by tick() every CANPORT_RETRY_MS after
 *    it failed (ENETDOWN when the interface went down, ENODEV/ENXIO when a
 *    USB adapter was unplugged), and once when bus-off lasted
 *    CANPORT_BUS_OFF_REOPEN_MS, so a re-created interface is picked up
 *    without restarting the program.
 *
 * Loopback mode (can_port.h) is done above this file: can_port.c never
 * hands a frame to the socket then. The controller itself still takes part
 * in the bus (it acknowledges other nodes' frames); making it silent needs
 * `ip link set can0 type can listen-only on` (CAP_NET_ADMIN), which the
 * bridge does not take.
 *
 * The socket comes from an "opener" so tests can hand in one end of an
 * AF_UNIX SOCK_SEQPACKET socketpair carrying struct can_frame records: the
 * machines we test on have no SocketCAN at all.
 */
#include "can_port.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/can.h>
#include <linux/can/error.h>
#include <linux/can/raw.h>

#ifndef CAN_ERR_CNT
#define CAN_ERR_CNT 0x00000200U /* newer kernels: data[6]/data[7] valid */
#endif

/* Records drained per recv() call before yielding back to the loop. */
#define SC_MAX_SKIPPED_PER_RECV 64

typedef struct {
    int fd;
    char iface[IFNAMSIZ];
    canport_socket_opener_t opener;
    void *user;
    canport_stats_t stats;
    uint64_t next_retry_ms;
    uint64_t bus_off_since_ms;
    char last_error[CANPORT_ERROR_MAX];
} sc_ctx_t;

static void bump(uint32_t *c)
{
    if (*c < UINT32_MAX) {
        (*c)++;
    }
}

/* ---- conversions and error frames (pure) -------------------------------- */

canport_err_t canport_socketcan_to_can_frame(const vcan_frame_t *in, struct can_frame *out)
{
    if (in == NULL || out == NULL) {
        return CANPORT_ERR_ARG;
    }
    if (in->id > VCAN_ID_MAX || in->dlc > VCAN_DLC_MAX) {
        return CANPORT_ERR_FRAME;
    }
    memset(out, 0, sizeof *out);
    out->can_id = (canid_t)in->id;
    out->len = in->dlc;
    memcpy(out->data, in->data, in->dlc);
    return CANPORT_OK;
}

canport_err_t canport_socketcan_from_can_frame(const struct can_frame *in, vcan_frame_t *out)
{
    if (in == NULL || out == NULL) {
        return CANPORT_ERR_ARG;
    }
    if ((in->can_id & (CAN_EFF_FLAG | CAN_RTR_FLAG | CAN_ERR_FLAG)) != 0u ||
        (in->can_id & CAN_SFF_MASK) != in->can_id || in->len > CAN_MAX_DLEN) {
        return CANPORT_ERR_FRAME;
    }
    vcan_frame_t f;
    memset(&f, 0, sizeof f);
    f.id = (uint16_t)in->can_id;
    f.dlc = in->len;
    memcpy(f.data, in->data, in->len);
    *out = f;
    return CANPORT_OK;
}

/* Error frame layout (linux/can/error.h), the parts we read:
 *
 *   can_id   CAN_ERR_FLAG | class bits (BUSOFF 0x40, CRTL 0x04, RESTARTED 0x100, CNT 0x200)
 *   data[1]  controller: RX/TX_WARNING 0x04/0x08, RX/TX_PASSIVE 0x10/0x20, ACTIVE 0x40
 *   data[6]  TX error counter        data[7]  RX error counter
 */
bool canport_socketcan_apply_error(const struct can_frame *err_frame, canport_stats_t *stats)
{
    if (err_frame == NULL || stats == NULL || (err_frame->can_id & CAN_ERR_FLAG) == 0u) {
        return false;
    }
    canid_t cls = err_frame->can_id & CAN_ERR_MASK;
    bump(&stats->error_frames);
    if ((cls & (CAN_ERR_CNT | CAN_ERR_CRTL)) != 0u && err_frame->len >= CAN_ERR_DLC) {
        stats->tx_error_counter = err_frame->data[6];
        stats->rx_error_counter = err_frame->data[7];
    }
    if ((cls & CAN_ERR_BUSOFF) != 0u) {
        if (stats->bus_state != CANPORT_BUS_OFF) {
            bump(&stats->bus_off_count);
        }
        stats->bus_state = CANPORT_BUS_OFF;
    } else if ((cls & CAN_ERR_RESTARTED) != 0u) {
        stats->bus_state = CANPORT_BUS_ACTIVE;
    } else if ((cls & CAN_ERR_CRTL) != 0u) {
        uint8_t d1 = err_frame->data[1];
        if ((d1 & (CAN_ERR_CRTL_RX_PASSIVE | CAN_ERR_CRTL_TX_PASSIVE)) != 0u) {
            stats->bus_state = CANPORT_BUS_PASSIVE;
        } else if ((d1 & (CAN_ERR_CRTL_RX_WARNING | CAN_ERR_CRTL_TX_WARNING)) != 0u) {
            stats->bus_state = CANPORT_BUS_WARNING;
        } else if ((d1 & CAN_ERR_CRTL_ACTIVE) != 0u) {
            stats->bus_state = CANPORT_BUS_ACTIVE;
        }
    }
    return true;
}

/* ---- the default opener: a real PF_CAN socket --------------------------- */

static int fail_errno(int e, char *err, size_t err_cap, const char *iface, const char *what,
                      const char *hint)
{
    snprintf(err, err_cap, "%s: %s: %s%s", iface, what, strerror(e), hint);
    return -e;
}

static int default_opener(void *user, const char *iface, char *err, size_t err_cap)
{
    (void)user;
    int fd = socket(PF_CAN, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, CAN_RAW);
    if (fd < 0) {
        int e = errno;
        return fail_errno(
            e, err, err_cap, iface, "socket(PF_CAN)",
            e == EAFNOSUPPORT ? " (this kernel has no SocketCAN; use slcan:TTY or log:FILE)" : "");
    }
    unsigned idx = if_nametoindex(iface);
    if (idx == 0u) {
        int e = errno;
        (void)close(fd);
        return fail_errno(e, err, err_cap, iface, "no such interface", "");
    }
    can_err_mask_t mask = CAN_ERR_MASK;
    if (setsockopt(fd, SOL_CAN_RAW, CAN_RAW_ERR_FILTER, &mask, sizeof mask) != 0) {
        int e = errno;
        (void)close(fd);
        return fail_errno(e, err, err_cap, iface, "setsockopt(CAN_RAW_ERR_FILTER)", "");
    }
    struct sockaddr_can addr;
    memset(&addr, 0, sizeof addr);
    addr.can_family = AF_CAN;
    addr.can_ifindex = (int)idx;
    if (bind(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
        int e = errno;
        (void)close(fd);
        return fail_errno(e, err, err_cap, iface, "bind", "");
    }
    return fd;
}

/* ---- socket lifecycle ---------------------------------------------------- */

static void sc_close_fd(sc_ctx_t *c)
{
    if (c->fd >= 0) {
        (void)close(c->fd);
        c->fd = -1;
    }
    c->stats.connected = false;
}

/* Get a socket from the opener. 0 or -errno (reason in last_error). */
static int sc_try_open(sc_ctx_t *c)
{
    canport_socket_opener_t opener = c->opener != NULL ? c->opener : default_opener;
    char why[CANPORT_ERROR_MAX];
    why[0] = '\0';
    int fd = opener(c->user, c->iface, why, sizeof why);
    if (fd < 0) {
        snprintf(c->last_error, sizeof c->last_error, "%s", why[0] != '\0' ? why : strerror(-fd));
        return fd;
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0 || fcntl(fd, F_SETFD, FD_CLOEXEC) != 0) {
        int e = errno;
        (void)close(fd);
        snprintf(c->last_error, sizeof c->last_error, "%s: fcntl: %s", c->iface, strerror(e));
        return -e;
    }
    c->fd = fd;
    c->stats.connected = true;
    c->stats.bus_state = CANPORT_BUS_ACTIVE;
    c->stats.tx_error_counter = 0;
    c->stats.rx_error_counter = 0;
    return 0;
}

/* The socket failed: close it, remember why, retry from tick(). */
static void sc_lose(sc_ctx_t *c, const char *what, int e, uint64_t now_ms)
{
    snprintf(c->last_error, sizeof c->last_error, "%s: %s: %s (reopening every %u ms)", c->iface,
             what, e != 0 ? strerror(e) : "connection closed", CANPORT_RETRY_MS);
    sc_close_fd(c);
    c->next_retry_ms = now_ms + CANPORT_RETRY_MS;
}

/* ---- table entries ------------------------------------------------------- */

static canport_err_t sc_open(void *ctx, const char *arg, uint64_t now_ms)
{
    sc_ctx_t *c = ctx;
    c->fd = -1;
    size_t n = strlen(arg);
    if (n == 0u || n >= sizeof c->iface) {
        snprintf(c->last_error, sizeof c->last_error, "interface name must be 1..%u characters",
                 (unsigned)(sizeof c->iface - 1u));
        return CANPORT_ERR_SPEC;
    }
    memcpy(c->iface, arg, n + 1u);
    (void)now_ms;
    int rc = sc_try_open(c);
    if (rc < 0) {
        return rc == -EAFNOSUPPORT ? CANPORT_ERR_UNSUPPORTED : CANPORT_ERR_OPEN;
    }
    c->last_error[0] = '\0';
    return CANPORT_OK;
}

static void sc_close(void *ctx)
{
    sc_close_fd(ctx);
}

static int sc_fd(const void *ctx)
{
    const sc_ctx_t *c = ctx;
    return c->fd;
}

static bool is_link_loss(int e)
{
    return e == ENETDOWN || e == ENODEV || e == ENXIO || e == EPIPE || e == ECONNRESET ||
           e == EBADF || e == ENOTCONN || e == EIO;
}

static canport_err_t sc_send(void *ctx, const vcan_frame_t *frame, uint64_t now_ms)
{
    sc_ctx_t *c = ctx;
    struct can_frame cf;
    if (canport_socketcan_to_can_frame(frame, &cf) != CANPORT_OK) {
        bump(&c->stats.tx_errors);
        return CANPORT_ERR_FRAME;
    }
    if (c->fd < 0) {
        bump(&c->stats.tx_drops);
        return CANPORT_ERR_DISCONNECTED;
    }
    if (c->stats.bus_state == CANPORT_BUS_OFF) {
        bump(&c->stats.tx_drops);
        return CANPORT_ERR_BUS_OFF;
    }
    for (;;) {
        ssize_t n = send(c->fd, &cf, sizeof cf, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n == (ssize_t)sizeof cf) {
            bump(&c->stats.tx_frames);
            return CANPORT_OK;
        }
        if (n >= 0) {
            snprintf(c->last_error, sizeof c->last_error, "%s: short send (%zd bytes)", c->iface,
                     n);
            bump(&c->stats.tx_errors);
            return CANPORT_ERR_IO;
        }
        int e = errno;
        if (e == EINTR) {
            continue;
        }
        if (e == EAGAIN || e == EWOULDBLOCK || e == ENOBUFS) {
            bump(&c->stats.tx_drops);
            return CANPORT_ERR_AGAIN;
        }
        if (is_link_loss(e)) {
            bump(&c->stats.tx_drops);
            sc_lose(c, "send", e, now_ms);
            return CANPORT_ERR_DISCONNECTED;
        }
        snprintf(c->last_error, sizeof c->last_error, "%s: send: %s", c->iface, strerror(e));
        bump(&c->stats.tx_errors);
        return CANPORT_ERR_IO;
    }
}

static canport_err_t sc_recv(void *ctx, vcan_frame_t *out, uint64_t now_ms)
{
    sc_ctx_t *c = ctx;
    if (c->fd < 0) {
        return CANPORT_ERR_DISCONNECTED;
    }
    for (int skipped = 0; skipped < SC_MAX_SKIPPED_PER_RECV; skipped++) {
        struct can_frame cf;
        ssize_t n = recv(c->fd, &cf, sizeof cf, MSG_DONTWAIT);
        if (n < 0) {
            int e = errno;
            if (e == EINTR) {
                continue;
            }
            if (e == EAGAIN || e == EWOULDBLOCK) {
                return CANPORT_ERR_EMPTY;
            }
            bump(&c->stats.rx_errors);
            sc_lose(c, "recv", e, now_ms);
            return CANPORT_ERR_DISCONNECTED;
        }
        if (n == 0) {
            /* A raw CAN socket never reads 0; an injected stream peer closed. */
            bump(&c->stats.rx_errors);
            sc_lose(c, "recv", 0, now_ms);
            return CANPORT_ERR_DISCONNECTED;
        }
        if (n != (ssize_t)sizeof cf) {
            bump(&c->stats.rx_malformed);
            continue;
        }
        if ((cf.can_id & CAN_ERR_FLAG) != 0u) {
            canport_bus_state_t before = c->stats.bus_state;
            (void)canport_socketcan_apply_error(&cf, &c->stats);
            if (c->stats.bus_state == CANPORT_BUS_OFF && before != CANPORT_BUS_OFF) {
                c->bus_off_since_ms = now_ms;
            }
            continue;
        }
        if (canport_socketcan_from_can_frame(&cf, out) != CANPORT_OK) {
            bump(&c->stats.rx_ignored);
            continue;
        }
        bump(&c->stats.rx_frames);
        return CANPORT_OK;
    }
    return CANPORT_ERR_EMPTY;
}

static void sc_tick(void *ctx, uint64_t now_ms)
{
    sc_ctx_t *c = ctx;
    if (c->fd >= 0 && c->stats.bus_state == CANPORT_BUS_OFF &&
        now_ms - c->bus_off_since_ms >= CANPORT_BUS_OFF_REOPEN_MS) {
        snprintf(c->last_error, sizeof c->last_error,
                 "%s: bus-off for %u ms, reopening the socket (set restart-ms on the interface)",
                 c->iface, CANPORT_BUS_OFF_REOPEN_MS);
        sc_close_fd(c);
        c->next_retry_ms = now_ms;
    }
    if (c->fd < 0 && c->iface[0] != '\0' && now_ms >= c->next_retry_ms) {
        if (sc_try_open(c) == 0) {
            bump(&c->stats.reconnects);
        } else {
            c->next_retry_ms = now_ms + CANPORT_RETRY_MS;
        }
    }
}

static void sc_get_stats(const void *ctx, canport_stats_t *out)
{
    const sc_ctx_t *c = ctx;
    *out = c->stats;
}

static const char *sc_last_error(const void *ctx)
{
    const sc_ctx_t *c = ctx;
    return c->last_error;
}

const canport_ops_t canport_socketcan_ops = {
    .name = "socketcan",
    .ctx_size = sizeof(sc_ctx_t),
    .open = sc_open,
    .close = sc_close,
    .fd = sc_fd,
    .send = sc_send,
    .recv = sc_recv,
    .tick = sc_tick,
    .get_stats = sc_get_stats,
    .last_error = sc_last_error,
};

canport_err_t canport_socketcan_open_with(canport_t *port, const char *iface,
                                          canport_socket_opener_t opener, void *user,
                                          uint64_t now_ms, char *err, size_t err_cap)
{
    if (port == NULL || iface == NULL) {
        return CANPORT_ERR_ARG;
    }
    memset(port, 0, sizeof *port);
    sc_ctx_t *c = calloc(1, sizeof *c);
    if (c == NULL) {
        if (err != NULL && err_cap > 0u) {
            snprintf(err, err_cap, "CAN 'socketcan:%s': out of memory", iface);
        }
        return CANPORT_ERR_NO_MEM;
    }
    c->opener = opener;
    c->user = user;
    canport_err_t rc = sc_open(c, iface, now_ms);
    if (rc != CANPORT_OK) {
        if (err != NULL && err_cap > 0u) {
            snprintf(err, err_cap, "CAN 'socketcan:%s': %s", iface, c->last_error);
        }
        sc_close(c);
        free(c);
        return rc;
    }
    port->ops = &canport_socketcan_ops;
    port->ctx = c;
    port->owns_ctx = true;
    return CANPORT_OK;
}
