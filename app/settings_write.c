/* The TinyBMS settings-write flow (settings_write.h). */
#include "settings_write.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "tbms_regs.h"

static void finish(sw_result_t *out, sw_status_t status, const uint16_t *readback,
                   const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void finish(sw_result_t *out, sw_status_t status, const uint16_t *readback,
                   const char *fmt, ...)
{
    memset(out, 0, sizeof *out);
    out->status = status;
    if (readback != NULL) {
        memcpy(out->readback, readback, sizeof out->readback);
    }
    va_list ap;
    va_start(ap, fmt);
    (void)vsnprintf(out->message, sizeof out->message, fmt, ap);
    va_end(ap);
}

/* Checks every register of req in order against the settings the BMS
 * holds, each after the previous one is applied. */
static sw_status_t check(const brg_bms_t *brg, uint16_t addr0, const uint16_t *values, uint16_t count,
                         char *msg, size_t cap)
{
    const uint16_t first = tbms_block_first(TBMS_BLOCK_SETTINGS);
    const uint16_t n = tbms_block_count(TBMS_BLOCK_SETTINGS);
    const uint16_t *words = tbms_poller_words(&brg->poller, TBMS_BLOCK_SETTINGS, NULL);
    if (words == NULL || !brg->settings.valid) {
        snprintf(msg, cap, "the TinyBMS settings have not been read yet; try again shortly");
        return SW_NO_SETTINGS;
    }
    uint16_t cur[TBMS_POLL_WRITE_MAX];
    memcpy(cur, words, n * sizeof cur[0]);
    tbms_settings_t st = brg->settings;
    for (uint16_t i = 0; i < count; i++) {
        uint16_t addr = (uint16_t)(addr0 + i);
        const tbms_reg_t *r = tbms_reg_find(addr);
        if (r != NULL && r->address != addr && i > 0 && r->address == addr - 1u) {
            continue; /* second word of a 2-word value checked with its first */
        }
        uint32_t raw = values[i];
        if (r != NULL && r->words == 2u && r->address == addr) {
            if (i + 1u >= count) {
                snprintf(msg, cap, "register %u (%s) is 32-bit: give both words", addr, r->name);
                return SW_RANGE;
            }
            raw |= (uint32_t)values[i + 1u] << 16;
        }
        tbms_err_t e = tbms_reg_check_write(addr, raw, &st);
        const char *name = r != NULL ? r->name : "reserved";
        switch (e) {
        case TBMS_OK:
            break;
        case TBMS_ERR_READ_ONLY:
            snprintf(msg, cap, "register %u (%s) is read-only", addr, name);
            return SW_READ_ONLY;
        case TBMS_ERR_INTERLOCK:
            snprintf(msg, cap,
                     "register %u (%s): %lu breaks an interlock with the current settings "
                     "(316 < 301 < 300 < 315 by 10 mV, 305 > 317)",
                     addr, name, (unsigned long)raw);
            return SW_INTERLOCK;
        case TBMS_ERR_ARG:
            snprintf(msg, cap, "the TinyBMS settings have not been read yet");
            return SW_NO_SETTINGS;
        default:
            if (r != NULL && (r->flags & TBMS_REG_F_RANGE) != 0u) {
                snprintf(msg, cap, "register %u (%s): %lu is outside %ld..%ld", addr, name,
                         (unsigned long)raw, (long)r->min, (long)r->max);
            } else {
                snprintf(msg, cap, "register %u (%s): %lu is not an accepted value", addr, name,
                         (unsigned long)raw);
            }
            return SW_RANGE;
        }
        cur[addr - first] = values[i];
        if (r != NULL && r->words == 2u) {
            cur[addr - first + 1u] = values[i + 1u];
        }
        tbms_settings_t next;
        if (tbms_decode_settings(cur, n, 0u, &next) == TBMS_OK) {
            st = next;
        }
    }
    return SW_OK;
}

static void report(const tbms_poll_write_result_t *w, sw_result_t *out)
{
    if (w->err == TBMS_ERR_NACK) {
        finish(out, SW_NACK, NULL,
               "the TinyBMS refused the write to register %u (error code %u)", w->addr,
               w->nack_code);
        return;
    }
    if (w->err != TBMS_OK) {
        finish(out, SW_TIMEOUT, NULL, "%s: %s", w->written ? "written, but the read-back failed" : "no answer to the write",
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
        finish(out, SW_MISMATCH, w->readback,
               "register %u: wrote %u, read back %u", w->addr + i, w->values[i], w->readback[i]);
        return;
    }
    if (unverifiable) {
        finish(out, SW_UNVERIFIABLE, w->readback,
               "registers %u..%u written; this register reads back 0xFFFF, so it cannot be "
               "verified",
               w->addr, w->addr + w->count - 1u);
    } else {
        finish(out, SW_OK, w->readback, "registers %u..%u written and verified by read-back",
               w->addr, w->addr + w->count - 1u);
    }
}

bool sw_start(sw_state_t *st, brg_t *b, size_t pack, uint16_t addr, const uint16_t *values, uint16_t count,
              uint64_t now_us, sw_result_t *out)
{
    if (st == NULL || b == NULL || values == NULL || out == NULL || count == 0u ||
        count > TBMS_POLL_WRITE_MAX) {
        if (out != NULL) {
            finish(out, SW_RANGE, NULL, "a write takes 1 to %u registers", TBMS_POLL_WRITE_MAX);
        }
        return true;
    }
    if (pack >= b->n_packs) {
        finish(out, SW_RANGE, NULL, "there is no pack %zu (packs 1 to %zu)", pack + 1u, b->n_packs);
        return true;
    }
    if (st->in_flight) {
        finish(out, SW_TIMEOUT, NULL, "another write is still in progress");
        return true;
    }
    char msg[SW_MESSAGE_MAX];
    brg_bms_t *p = &b->bms[pack];
    sw_status_t s = check(p, addr, values, count, msg, sizeof msg);
    if (s != SW_OK) {
        finish(out, s, NULL, "%s", msg);
        return true;
    }
    tbms_err_t e = tbms_poller_write(&p->poller, addr, values, count, now_us);
    if (e != TBMS_OK) {
        finish(out, SW_TIMEOUT, NULL, "the write could not be queued: %s", tbms_strerror(e));
        return true;
    }
    st->in_flight = true;
    st->pack = pack;
    return false;
}

bool sw_poll(sw_state_t *st, brg_t *b, sw_result_t *out)
{
    if (st == NULL || b == NULL || out == NULL || !st->in_flight) {
        return false;
    }
    tbms_poll_write_result_t w;
    if (st->pack >= b->n_packs || !tbms_poller_take_write_result(&b->bms[st->pack].poller, &w)) {
        return false;
    }
    st->in_flight = false;
    report(&w, out);
    return true;
}

bool sw_busy(const sw_state_t *st)
{
    return st != NULL && st->in_flight;
}
