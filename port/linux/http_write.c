/*
 * Loop side of POST /api/tinybms/write: checks a posted write against the
 * settings the TinyBMS holds, queues it on the poller (Modbus 0x10 plus a
 * read-back), and reports the outcome through the hub.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "http_server.h"
#include "log.h"
#include "tbms_regs.h"

/* One write at a time (the hub admits one); the loop is single-threaded. */
static bool in_flight;
static hub_write_req_t current;

static void finish(hub_t *hub, int status, const uint16_t *readback, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void finish(hub_t *hub, int status, const uint16_t *readback, const char *fmt, ...)
{
    hub_write_result_t r;
    memset(&r, 0, sizeof r);
    r.status = status;
    if (readback != NULL) {
        memcpy(r.readback, readback, sizeof r.readback);
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r.message, sizeof r.message, fmt, ap);
    va_end(ap);
    if (status == HTTP_WRITE_OK || status == HTTP_WRITE_UNVERIFIABLE) {
        log_info("TinyBMS write: %s", r.message);
    } else {
        log_warn("TinyBMS write refused or failed: %s", r.message);
    }
    hub_finish_write(hub, &r);
}

/* Checks every register of req in order against the settings the BMS
 * holds, each after the previous one is applied. */
static int check(const brg_t *brg, const hub_write_req_t *req, char *msg, size_t cap)
{
    const uint16_t first = tbms_block_first(TBMS_BLOCK_SETTINGS);
    const uint16_t n = tbms_block_count(TBMS_BLOCK_SETTINGS);
    const uint16_t *words = tbms_poller_words(&brg->poller, TBMS_BLOCK_SETTINGS, NULL);
    if (words == NULL || !brg->settings.valid) {
        snprintf(msg, cap, "the TinyBMS settings have not been read yet; try again shortly");
        return HTTP_WRITE_NO_SETTINGS;
    }
    uint16_t cur[TBMS_POLL_WRITE_MAX];
    memcpy(cur, words, n * sizeof cur[0]);
    tbms_settings_t st = brg->settings;
    for (uint16_t i = 0; i < req->count; i++) {
        uint16_t addr = (uint16_t)(req->addr + i);
        const tbms_reg_t *r = tbms_reg_find(addr);
        if (r != NULL && r->address != addr && i > 0 && r->address == addr - 1u) {
            continue; /* second word of a 2-word value checked with its first */
        }
        uint32_t raw = req->values[i];
        if (r != NULL && r->words == 2u && r->address == addr) {
            if (i + 1u >= req->count) {
                snprintf(msg, cap, "register %u (%s) is 32-bit: give both words", addr, r->name);
                return HTTP_WRITE_RANGE;
            }
            raw |= (uint32_t)req->values[i + 1u] << 16;
        }
        tbms_err_t e = tbms_reg_check_write(addr, raw, &st);
        const char *name = r != NULL ? r->name : "reserved";
        switch (e) {
        case TBMS_OK:
            break;
        case TBMS_ERR_READ_ONLY:
            snprintf(msg, cap, "register %u (%s) is read-only", addr, name);
            return HTTP_WRITE_READ_ONLY;
        case TBMS_ERR_INTERLOCK:
            snprintf(msg, cap,
                     "register %u (%s): %lu breaks an interlock with the current settings "
                     "(316 < 301 < 300 < 315 by 10 mV, 305 > 317)",
                     addr, name, (unsigned long)raw);
            return HTTP_WRITE_INTERLOCK;
        case TBMS_ERR_ARG:
            snprintf(msg, cap, "the TinyBMS settings have not been read yet");
            return HTTP_WRITE_NO_SETTINGS;
        default:
            if (r != NULL && (r->flags & TBMS_REG_F_RANGE) != 0u) {
                snprintf(msg, cap, "register %u (%s): %lu is outside %ld..%ld", addr, name,
                         (unsigned long)raw, (long)r->min, (long)r->max);
            } else {
                snprintf(msg, cap, "register %u (%s): %lu is not an accepted value", addr, name,
                         (unsigned long)raw);
            }
            return HTTP_WRITE_RANGE;
        }
        cur[addr - first] = req->values[i];
        if (r != NULL && r->words == 2u) {
            cur[addr - first + 1u] = req->values[i + 1u];
        }
        tbms_settings_t next;
        if (tbms_decode_settings(cur, n, 0u, &next) == TBMS_OK) {
            st = next;
        }
    }
    return HTTP_WRITE_OK;
}

static void report(hub_t *hub, const tbms_poll_write_result_t *w)
{
    if (w->err == TBMS_ERR_NACK) {
        finish(hub, HTTP_WRITE_NACK, NULL,
               "the TinyBMS refused the write to register %u (error code %u)", w->addr,
               w->nack_code);
        return;
    }
    if (w->err != TBMS_OK) {
        finish(hub, HTTP_WRITE_TIMEOUT, NULL, "%s: %s", w->written ? "written, but the read-back failed" : "no answer to the write",
               tbms_strerror(w->err));
        return;
    }
    bool unverifiable = false;
    for (uint16_t i = 0; i < w->count; i++) {
        if (w->readback[i] == w->values[i]) {
            continue;
        }
        const tbms_reg_t *r = tbms_reg_find((uint16_t)(w->addr + i));
        if (r != NULL && (r->flags & TBMS_REG_F_READS_FFFF) != 0u && w->readback[i] == 0xFFFFu) {
            unverifiable = true;
            continue;
        }
        finish(hub, HTTP_WRITE_MISMATCH, w->readback,
               "register %u: wrote %u, read back %u", w->addr + i, w->values[i], w->readback[i]);
        return;
    }
    if (unverifiable) {
        finish(hub, HTTP_WRITE_UNVERIFIABLE, w->readback,
               "registers %u..%u written; this register reads back 0xFFFF, so it cannot be "
               "verified",
               w->addr, w->addr + w->count - 1u);
    } else {
        finish(hub, HTTP_WRITE_OK, w->readback, "registers %u..%u written and verified by read-back",
               w->addr, w->addr + w->count - 1u);
    }
}

void http_write_step(hub_t *hub, brg_t *brg, uint64_t now_us)
{
    if (in_flight) {
        tbms_poll_write_result_t w;
        if (tbms_poller_take_write_result(&brg->poller, &w)) {
            in_flight = false;
            report(hub, &w);
        }
        return;
    }
    if (!hub_take_write(hub, &current)) {
        return;
    }
    char msg[256];
    int st = check(brg, &current, msg, sizeof msg);
    if (st != HTTP_WRITE_OK) {
        finish(hub, st, NULL, "%s", msg);
        return;
    }
    tbms_err_t e = tbms_poller_write(&brg->poller, current.addr, current.values, current.count,
                                     now_us);
    if (e != TBMS_OK) {
        finish(hub, HTTP_WRITE_TIMEOUT, NULL, "the write could not be queued: %s",
               tbms_strerror(e));
        return;
    }
    in_flight = true;
}
