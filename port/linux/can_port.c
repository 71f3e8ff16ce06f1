/*
 * can_port.c - CAN port table checks, the spec factory and the wrappers.
 */
#include "can_port.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

canport_err_t canport_open(canport_t *port, const char *spec, uint64_t now_ms, char *err,
                           size_t err_cap)
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
    canport_err_t rc = ops->open(ctx, colon + 1, now_ms);
    if (rc != CANPORT_OK) {
        set_err(err, err_cap, spec, ops->last_error(ctx));
        ops->close(ctx);
        free(ctx);
        return rc;
    }
    port->ops = ops;
    port->ctx = ctx;
    port->owns_ctx = true;
    return CANPORT_OK;
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
    memset(port, 0, sizeof *port);
}

int canport_fd(const canport_t *port)
{
    if (port == NULL || port->ops == NULL) {
        return -1;
    }
    return port->ops->fd(port->ctx);
}

canport_err_t canport_send(canport_t *port, const vcan_frame_t *frame, uint64_t now_ms)
{
    if (port == NULL || port->ops == NULL || frame == NULL) {
        return CANPORT_ERR_ARG;
    }
    return port->ops->send(port->ctx, frame, now_ms);
}

canport_err_t canport_recv(canport_t *port, vcan_frame_t *out, uint64_t now_ms)
{
    if (port == NULL || port->ops == NULL || out == NULL) {
        return CANPORT_ERR_ARG;
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
}

const char *canport_last_error(const canport_t *port)
{
    if (port == NULL || port->ops == NULL) {
        return "";
    }
    return port->ops->last_error(port->ctx);
}
