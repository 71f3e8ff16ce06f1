#include "serial_sim.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void serial_sim_ctx_init(serial_sim_t *ctx)
{
    memset(ctx, 0, sizeof *ctx);
    ctx->cfg = tbms_sim_default_config();
    ctx->pipe_fd[0] = -1;
    ctx->pipe_fd[1] = -1;
}

static void sim_close(void *vctx)
{
    serial_sim_t *c = vctx;
    for (int i = 0; i < 2; i++) {
        if (c->pipe_fd[i] >= 0) {
            close(c->pipe_fd[i]);
            c->pipe_fd[i] = -1;
        }
    }
}

static int sim_open(void *vctx, const char *path, uint32_t baud, char *err, size_t err_cap)
{
    serial_sim_t *c = vctx;
    (void)path;
    (void)baud;
    if (pipe2(c->pipe_fd, O_NONBLOCK | O_CLOEXEC) != 0) {
        int e = errno;
        snprintf(err, err_cap, "simulator: pipe: %s", strerror(e));
        return -e;
    }
    if (c->bank != NULL) {
        return 0; /* a bank pack runs from serial_sim_bank_init on */
    }
    tbms_sim_err_t se = tbms_sim_init(&c->sim, &c->cfg, mono_ms());
    if (se != TBMS_SIM_OK) {
        snprintf(err, err_cap, "simulator: %s", tbms_sim_strerror(se));
        sim_close(c);
        return -EINVAL;
    }
    return 0;
}

static int sim_fd(const void *vctx)
{
    const serial_sim_t *c = vctx;
    return c->pipe_fd[0];
}

/* Moves what the simulator has queued into the pipe. */
static int pump(serial_sim_t *c, const uint8_t *in, size_t n)
{
    uint8_t out[512];
    size_t len = 0;
    uint64_t now = mono_ms();
    if (c->bank != NULL) {
        /* The whole bank to now first, then this pack answers at the same now. */
        tbms_sim_bus_step(&c->bank->bus, now);
    }
    tbms_sim_err_t e = n > 0u ? tbms_sim_receive(&c->sim, in, n, now, out, sizeof out, &len)
                              : tbms_sim_transmit(&c->sim, now, out, sizeof out, &len);
    if (e != TBMS_SIM_OK) {
        return -EIO;
    }
    if (len > 0u) {
        ssize_t w = write(c->pipe_fd[1], out, len);
        if (w < 0 && errno != EAGAIN) {
            return -errno;
        }
    }
    return 0;
}

static ssize_t sim_read(void *vctx, uint8_t *buf, size_t cap)
{
    serial_sim_t *c = vctx;
    if (c->pipe_fd[0] < 0) {
        return -EBADF;
    }
    int e = pump(c, NULL, 0);
    if (e < 0) {
        return e;
    }
    ssize_t r = read(c->pipe_fd[0], buf, cap);
    if (r < 0) {
        return errno == EAGAIN ? 0 : -errno;
    }
    return r;
}

static ssize_t sim_write(void *vctx, const uint8_t *buf, size_t len)
{
    serial_sim_t *c = vctx;
    if (c->pipe_fd[1] < 0) {
        return -EBADF;
    }
    int e = pump(c, buf, len);
    return e < 0 ? e : (ssize_t)len;
}

static int sim_flush_input(void *vctx)
{
    serial_sim_t *c = vctx;
    uint8_t junk[256];
    while (c->pipe_fd[0] >= 0 && read(c->pipe_fd[0], junk, sizeof junk) > 0) {
    }
    return 0;
}

const serial_ops_t serial_sim_ops = {
    .open = sim_open,
    .close = sim_close,
    .fd = sim_fd,
    .read = sim_read,
    .write = sim_write,
    .flush_input = sim_flush_input,
};

/* ---- A bank of packs on one bus ---- */

tbms_sim_config_t serial_sim_bank_pack_config(unsigned i)
{
    return tbms_sim_bus_mismatched_config(NULL, i);
}

int serial_sim_bank_init(serial_sim_bank_t *bank, unsigned n, const tbms_sim_config_t *cfgs)
{
    if (bank == NULL || n < 1u || n > SERIAL_SIM_BANK_MAX) {
        return -EINVAL;
    }
    memset(bank, 0, sizeof *bank);
    uint64_t now = mono_ms();
    tbms_sim_t *packs[SERIAL_SIM_BANK_MAX];
    for (unsigned i = 0; i < n; i++) {
        serial_sim_t *c = &bank->pack[i];
        serial_sim_ctx_init(c);
        c->cfg = cfgs != NULL ? cfgs[i] : serial_sim_bank_pack_config(i);
        c->bank = bank;
        if (tbms_sim_init(&c->sim, &c->cfg, now) != TBMS_SIM_OK) {
            return -EINVAL;
        }
        packs[i] = &c->sim;
    }
    if (tbms_sim_bus_init(&bank->bus, packs, n, now) != TBMS_SIM_OK) {
        return -EINVAL;
    }
    bank->count = n;
    return 0;
}

serial_sim_t *serial_sim_bank_ctx(serial_sim_bank_t *bank, unsigned i)
{
    return bank != NULL && i < bank->count ? &bank->pack[i] : NULL;
}

void serial_sim_bank_set_switch_open(serial_sim_bank_t *bank, unsigned i, bool open)
{
    if (bank != NULL && i < bank->count) {
        tbms_sim_bus_step(&bank->bus, mono_ms());
        tbms_sim_bus_set_switch_open(&bank->bus, i, open);
    }
}

void serial_sim_bank_set_muted(serial_sim_bank_t *bank, unsigned i, bool muted)
{
    if (bank != NULL && i < bank->count) {
        tbms_sim_set_muted(&bank->pack[i].sim, muted);
    }
}

tbms_sim_bus_t *serial_sim_bank_bus(serial_sim_bank_t *bank)
{
    return bank != NULL ? &bank->bus : NULL;
}

int serial_sim_set_dvcc_limits(serial_sim_t *ctx, int32_t ccl_ma, int32_t dcl_ma, int32_t cvl_mv,
                               int32_t dvl_mv)
{
    /* A single pack's simulator exists from its open() on; a bank pack's
     * current belongs to the bus. */
    if (ctx == NULL || ctx->bank != NULL || ctx->pipe_fd[0] < 0) {
        return -EINVAL;
    }
    tbms_sim_err_t e =
        tbms_sim_set_dvcc_limits(&ctx->sim, ccl_ma, dcl_ma, cvl_mv, dvl_mv, mono_ms());
    return e == TBMS_SIM_OK ? 0 : -EINVAL;
}

int serial_sim_bank_set_dvcc_limits(serial_sim_bank_t *bank, int32_t ccl_ma, int32_t dcl_ma,
                                    int32_t cvl_mv, int32_t dvl_mv)
{
    if (bank == NULL || bank->count == 0u) {
        return -EINVAL;
    }
    tbms_sim_err_t e =
        tbms_sim_bus_set_dvcc_limits(&bank->bus, ccl_ma, dcl_ma, cvl_mv, dvl_mv, mono_ms());
    return e == TBMS_SIM_OK ? 0 : -EINVAL;
}
