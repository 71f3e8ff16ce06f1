/*
 * can_port.c - CAN port table checks, the spec factory, the wrappers and
 * the loopback mode (a software loop above every back-end; can_port.h).
 */
#include "can_port.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

/* Loopback mode: frames sent wait here for canport_recv. efd counts as
 * readable while the queue is not empty. */
struct canport_loop {
    vcan_frame_t queue[CANPORT_LOOPBACK_QUEUE];
    size_t head;  /* oldest frame */
    size_t count; /* frames waiting */
    int efd;
    uint32_t tx_frames; /* frames looped */
    uint32_t rx_frames; /* looped frames returned by recv */
    uint32_t drops;     /* queue full */
    uint32_t errors;    /* frames refused (id or length) */
};

static void bump(uint32_t *c)
{
    if (*c < UINT32_MAX) {
        (*c)++;
    }
}

const char *canport_strerror(canport_err_t err)
{
    switch (err) {
    case CANPORT_OK:
        return "OK";
    case CANPORT_ERR_EMPTY:
        return "no frame available";
    case CANPORT_ERR_ARG:
        return "invalid argument";
    case CANPORT_ERR_SPEC:
        return "bad CAN device spec";
    case CANPORT_ERR_OPEN:
        return "CAN device could not be opened";
    case CANPORT_ERR_UNSUPPORTED:
        return "not supported on this system";
    case CANPORT_ERR_FRAME:
        return "frame id or length out of range";
    case CANPORT_ERR_AGAIN:
        return "device busy, frame dropped";
    case CANPORT_ERR_DISCONNECTED:
        return "device disconnected";
    case CANPORT_ERR_BUS_OFF:
        return "CAN controller bus-off";
    case CANPORT_ERR_IO:
        return "I/O error";
    case CANPORT_ERR_NO_MEM:
        return "out of memory";
    case CANPORT_ERR_COUNT_:
        break;
    }
    return "unknown CAN port error";
}

const char *canport_bus_state_name(canport_bus_state_t state)
{
    switch (state) {
    case CANPORT_BUS_UNKNOWN:
        return "unknown";
    case CANPORT_BUS_ACTIVE:
        return "active";
    case CANPORT_BUS_WARNING:
        return "warning";
    case CANPORT_BUS_PASSIVE:
        return "passive";
    case CANPORT_BUS_OFF:
        return "bus-off";
    }
    return "invalid";
}

static bool ops_complete(const canport_ops_t *ops)
{
    return ops != NULL && ops->open != NULL && ops->close != NULL && ops->fd != NULL &&
           ops->send != NULL && ops->recv != NULL && ops->get_stats != NULL &&
           ops->last_error != NULL;
}

canport_err_t canport_init(canport_t *port, const canport_ops_t *ops, void *ctx)
{
    if (port == NULL) {
        return CANPORT_ERR_ARG;
    }
    memset(port, 0, sizeof *port);
    if (!ops_complete(ops)) {
        return CANPORT_ERR_ARG;
    }
    port->ops = ops;
    port->ctx = ctx;
    return CANPORT_OK;
}

static void set_err(char *err, size_t err_cap, const char *spec, const char *why)
{
    if (err != NULL && err_cap > 0u) {
        snprintf(err, err_cap, "CAN '%s': %s", spec, why);
    }
}

static void loop_free(struct canport_loop *l)
{
    if (l != NULL) {
        if (l->efd >= 0) {
            (void)close(l->efd);
        }
        free(l);
    }
}

static struct canport_loop *loop_new(char *why, size_t why_cap)
{
    struct canport_loop *l = calloc(1, sizeof *l);
    if (l == NULL) {
        snprintf(why, why_cap, "loopback: out of memory");
        return NULL;
    }
    l->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (l->efd < 0) {
        snprintf(why, why_cap, "loopback: eventfd: %s", strerror(errno));
        free(l);
        return NULL;
    }
    return l;
}

/* Readable while frames wait (eventfd: any write makes it readable, one
 * read makes it unreadable again). */
static void loop_signal(struct canport_loop *l, bool readable)
{
    uint64_t v = 1;
    ssize_t n = readable ? write(l->efd, &v, sizeof v) : read(l->efd, &v, sizeof v);
    (void)n; /* EAGAIN: already in that state */
}

static canport_err_t loop_send(canport_t *port, const vcan_frame_t *frame, uint64_t now_ms)
{
    struct canport_loop *l = port->loop;
    if (frame->id > VCAN_ID_MAX || frame->dlc > VCAN_DLC_MAX) {
        bump(&l->errors);
        return CANPORT_ERR_FRAME;
    }
    if (port->ops->records_only) {
        canport_err_t rc = port->ops->send(port->ctx, frame, now_ms);
        if (rc != CANPORT_OK) {
            return rc;
        }
    }
    if (l->count == CANPORT_LOOPBACK_QUEUE) {
        bump(&l->drops);
        return CANPORT_ERR_AGAIN;
    }
    l->queue[(l->head + l->count) % CANPORT_LOOPBACK_QUEUE] = *frame;
    if (l->count++ == 0u) {
        loop_signal(l, true);
    }
    bump(&l->tx_frames);
    return CANPORT_OK;
}

static bool loop_recv(struct canport_loop *l, vcan_frame_t *out)
{
    if (l->count == 0u) {
        return false;
    }
    *out = l->queue[l->head];
    l->head = (l->head + 1u) % CANPORT_LOOPBACK_QUEUE;
    if (--l->count == 0u) {
        loop_signal(l, false);
    }
    bump(&l->rx_frames);
    return true;
}

canport_err_t canport_open(canport_t *port, const char *spec, uint64_t now_ms, char *err,
                           size_t err_cap)
{
    return canport_open_mode(port, spec, CANPORT_MODE_NORMAL, now_ms, err, err_cap);
}

canport_err_t canport_open_mode(canport_t *port, const char *spec, canport_mode_t mode,
                                uint64_t now_ms, char *err, size_t err_cap)
{
    static const canport_ops_t *const backends[] = {
        &canport_socketcan_ops,
        &canport_slcan_ops,
        &canport_log_ops,
    };
    if (port == NULL || spec == NULL) {
        return CANPORT_ERR_ARG;
    }
    memset(port, 0, sizeof *port);
    const char *colon = strchr(spec, ':');
    const canport_ops_t *ops = NULL;
    if (colon != NULL) {
        size_t kind_len = (size_t)(colon - spec);
        for (size_t i = 0; i < sizeof backends / sizeof backends[0]; i++) {
            if (strlen(backends[i]->name) == kind_len &&
                memcmp(backends[i]->name, spec, kind_len) == 0) {
                ops = backends[i];
            }
        }
    }
    if (ops == NULL || colon[1] == '\0') {
        set_err(err, err_cap, spec,
                "expected socketcan:IFACE, slcan:TTY[@BAUD] or log:FILE[@IFACE] (log:- = stdout)");
        return CANPORT_ERR_SPEC;
    }
    void *ctx = calloc(1, ops->ctx_size);
    if (ctx == NULL) {
        set_err(err, err_cap, spec, "out of memory");
        return CANPORT_ERR_NO_MEM;
    }
    struct canport_loop *loop = NULL;
    if (mode == CANPORT_MODE_LOOPBACK) {
        char why[CANPORT_ERROR_MAX];
        loop = loop_new(why, sizeof why);
        if (loop == NULL) {
            set_err(err, err_cap, spec, why);
            free(ctx);
            return CANPORT_ERR_NO_MEM;
        }
        if (ops->set_listen_only != NULL) {
            ops->set_listen_only(ctx);
        }
    }
    canport_err_t rc = ops->open(ctx, colon + 1, now_ms);
    if (rc != CANPORT_OK) {
        set_err(err, err_cap, spec, ops->last_error(ctx));
        ops->close(ctx);
        free(ctx);
        loop_free(loop);
        return rc;
    }
    port->ops = ops;
    port->ctx = ctx;
    port->owns_ctx = true;
    port->loop = loop;
    return CANPORT_OK;
}

canport_mode_t canport_mode(const canport_t *port)
{
    return port != NULL && port->loop != NULL ? CANPORT_MODE_LOOPBACK : CANPORT_MODE_NORMAL;
}

void canport_close(canport_t *port)
{
    if (port == NULL || port->ops == NULL) {
        return;
    }
    port->ops->close(port->ctx);
    if (port->owns_ctx) {
        free(port->ctx);
    }
    loop_free(port->loop);
    memset(port, 0, sizeof *port);
}

int canport_fd(const canport_t *port)
{
    if (port == NULL || port->ops == NULL) {
        return -1;
    }
    if (port->loop != NULL) {
        return port->loop->efd;
    }
    return port->ops->fd(port->ctx);
}

canport_err_t canport_send(canport_t *port, const vcan_frame_t *frame, uint64_t now_ms)
{
    if (port == NULL || port->ops == NULL || frame == NULL) {
        return CANPORT_ERR_ARG;
    }
    if (port->loop != NULL) {
        return loop_send(port, frame, now_ms);
    }
    return port->ops->send(port->ctx, frame, now_ms);
}

canport_err_t canport_recv(canport_t *port, vcan_frame_t *out, uint64_t now_ms)
{
    if (port == NULL || port->ops == NULL || out == NULL) {
        return CANPORT_ERR_ARG;
    }
    if (port->loop != NULL && loop_recv(port->loop, out)) {
        return CANPORT_OK;
    }
    return port->ops->recv(port->ctx, out, now_ms);
}

void canport_tick(canport_t *port, uint64_t now_ms)
{
    if (port == NULL || port->ops == NULL || port->ops->tick == NULL) {
        return;
    }
    port->ops->tick(port->ctx, now_ms);
}

void canport_get_stats(const canport_t *port, canport_stats_t *out)
{
    if (out == NULL) {
        return;
    }
    memset(out, 0, sizeof *out);
    if (port == NULL || port->ops == NULL) {
        return;
    }
    port->ops->get_stats(port->ctx, out);
    const struct canport_loop *l = port->loop;
    if (l != NULL) {
        /* A records_only back-end counted the frames it wrote itself. */
        if (!port->ops->records_only) {
            out->tx_frames += l->tx_frames;
        }
        out->rx_frames += l->rx_frames;
        out->tx_drops += l->drops;
        out->tx_errors += l->errors;
    }
}

const char *canport_last_error(const canport_t *port)
{
    if (port == NULL || port->ops == NULL) {
        return "";
    }
    return port->ops->last_error(port->ctx);
}
