/*
 * TinyBMS poll schedule, response timeout and resend-on-timeout.
 * Why resend the identical frame: tinybms-uart.md section 1 "Sleep / wake".
 */
#include "tbms_poller.h"

#include <string.h>

static const struct {
    uint16_t first;
    uint16_t count;
    const char *name;
} blocks[TBMS_BLOCK_COUNT_] = {
    [TBMS_BLOCK_LIVE] = {0u, 56u, "live"},
    [TBMS_BLOCK_SETTINGS] = {300u, 44u, "settings"},
    [TBMS_BLOCK_VERSION] = {500u, 10u, "version"},
    [TBMS_BLOCK_STATS] = {100u, 18u, "stats"},
    [TBMS_BLOCK_EVENTS] = {200u, 98u, "events"},
};

/* Settings first: the bridge needs the BMS cutoffs before it may state limits. */
static const tbms_block_t priority[TBMS_BLOCK_COUNT_] = {
    TBMS_BLOCK_SETTINGS, TBMS_BLOCK_VERSION, TBMS_BLOCK_LIVE, TBMS_BLOCK_STATS, TBMS_BLOCK_EVENTS,
};

#define NEVER UINT64_MAX

uint16_t tbms_block_first(tbms_block_t b)
{
    return (unsigned)b < TBMS_BLOCK_COUNT_ ? blocks[b].first : 0u;
}

uint16_t tbms_block_count(tbms_block_t b)
{
    return (unsigned)b < TBMS_BLOCK_COUNT_ ? blocks[b].count : 0u;
}

const char *tbms_block_name(tbms_block_t b)
{
    return (unsigned)b < TBMS_BLOCK_COUNT_ ? blocks[b].name : "?";
}

void tbms_poller_default_config(tbms_poller_config_t *cfg)
{
    if (cfg == NULL) {
        return;
    }
    cfg->poll_interval_us = 100000u;
    /* A 56-register answer is ~11 ms of wire time; hardware answers within
     * a few ms more (tinybms-uart.md section 1, CLARK timings). */
    cfg->response_timeout_us = 250000u;
    cfg->max_attempts = 3u;
    cfg->settings_period_us = 60000000u;
    cfg->stats_period_us = 10000000u;
    cfg->events_period_us = 30000000u;
}

tbms_err_t tbms_poller_check_config(const tbms_poller_config_t *cfg)
{
    if (cfg == NULL) {
        return TBMS_ERR_ARG;
    }
    if (cfg->poll_interval_us < 20000u || cfg->response_timeout_us < 5000u ||
        cfg->max_attempts < 1u || cfg->max_attempts > 10u ||
        cfg->settings_period_us < cfg->poll_interval_us) {
        return TBMS_ERR_RANGE;
    }
    return TBMS_OK;
}

tbms_err_t tbms_poller_init(tbms_poller_t *p, const tbms_poller_config_t *cfg, uint64_t now_us)
{
    if (p == NULL) {
        return TBMS_ERR_ARG;
    }
    tbms_err_t e = tbms_poller_check_config(cfg);
    if (e != TBMS_OK) {
        return e;
    }
    memset(p, 0, sizeof *p);
    p->cfg = *cfg;
    tbms_parser_init(&p->parser, TBMS_DIR_RESPONSE);
    for (unsigned b = 0; b < TBMS_BLOCK_COUNT_; b++) {
        p->due_us[b] = now_us;
    }
    if (cfg->stats_period_us == 0u) {
        p->due_us[TBMS_BLOCK_STATS] = NEVER;
    }
    if (cfg->events_period_us == 0u) {
        p->due_us[TBMS_BLOCK_EVENTS] = NEVER;
    }
    return TBMS_OK;
}

static uint64_t period_us(const tbms_poller_t *p, tbms_block_t b)
{
    switch (b) {
    case TBMS_BLOCK_LIVE:
        return p->cfg.poll_interval_us;
    case TBMS_BLOCK_STATS:
        return p->cfg.stats_period_us ? p->cfg.stats_period_us : NEVER;
    case TBMS_BLOCK_EVENTS:
        return p->cfg.events_period_us ? p->cfg.events_period_us : NEVER;
    default:
        return p->cfg.settings_period_us;
    }
}

static uint64_t add_sat(uint64_t a, uint64_t b)
{
    return a > NEVER - b ? NEVER : a + b;
}

static void send_attempt(tbms_poller_t *p, uint64_t now_us, tbms_poll_tx_t *tx)
{
    tbms_parser_reset_buffer(&p->parser);
    p->sent_us = now_us;
    p->last_err = TBMS_OK;
    *tx = p->pending;
}

static void finish(tbms_poller_t *p, bool ok, uint64_t now_us, tbms_poll_result_t *res)
{
    p->busy = false;
    if (ok) {
        /* LIVE keeps its cadence from the request start; a failed block
         * is tried again one poll interval later, whatever its period. */
        uint64_t base = p->block == TBMS_BLOCK_LIVE ? p->sent_us : now_us;
        p->due_us[p->block] = add_sat(base, period_us(p, p->block));
    } else {
        p->due_us[p->block] = add_sat(now_us, p->cfg.poll_interval_us);
    }
    if (res != NULL) {
        res->done = true;
        res->ok = ok;
        res->block = p->block;
        res->first = blocks[p->block].first;
        res->last_err = ok ? TBMS_OK : p->last_err;
        res->nack_code = p->last_nack;
    }
}

bool tbms_poller_step(tbms_poller_t *p, uint64_t now_us, tbms_poll_tx_t *tx,
                      tbms_poll_result_t *res)
{
    if (res != NULL) {
        res->done = false;
    }
    if (p == NULL || tx == NULL) {
        return false;
    }
    if (p->busy) {
        bool failed_early = p->last_err != TBMS_OK;
        if (!failed_early && now_us - p->sent_us < p->cfg.response_timeout_us) {
            return false;
        }
        if (!failed_early) {
            p->stats.timeouts++;
            p->last_err = tbms_parser_timeout(&p->parser) == TBMS_ERR_TRUNCATED
                              ? TBMS_ERR_TRUNCATED
                              : TBMS_ERR_TIMEOUT;
        }
        if (p->attempt < p->cfg.max_attempts) {
            p->attempt++;
            p->stats.retries++;
            send_attempt(p, now_us, tx);
            return true;
        }
        p->stats.failures++;
        finish(p, false, now_us, res);
    }
    for (unsigned i = 0; i < TBMS_BLOCK_COUNT_; i++) {
        tbms_block_t b = priority[i];
        if (p->due_us[b] > now_us) {
            continue;
        }
        size_t len = 0;
        memset(&p->pending, 0, sizeof p->pending);
        if (tbms_build_read(blocks[b].first, blocks[b].count, p->pending.bytes,
                            sizeof p->pending.bytes, &len) != TBMS_OK) {
            continue; /* cannot happen: the table holds valid blocks */
        }
        p->pending.len = len;
        p->pending.flush_rx = true;
        p->block = b;
        p->busy = true;
        p->attempt = 1u;
        p->last_nack = 0u;
        p->stats.polls++;
        send_attempt(p, now_us, tx);
        return true;
    }
    return false;
}

static void take_frame(tbms_poller_t *p, const tbms_frame_t *f, uint64_t now_us,
                       tbms_poll_result_t *res)
{
    if (!p->busy || p->last_err != TBMS_OK) {
        p->stats.unexpected++;
        return;
    }
    tbms_err_t e = tbms_expect(f, TBMS_CMD_MODBUS_READ);
    if (e == TBMS_ERR_NACK) {
        p->stats.nacks++;
        p->last_err = TBMS_ERR_NACK;
        p->last_nack = f->nack_code;
        return;
    }
    if (e != TBMS_OK || f->kind != TBMS_KIND_DATA || f->count != blocks[p->block].count) {
        p->stats.unexpected++;
        return;
    }
    size_t n = 0;
    tbms_poll_result_t local;
    tbms_poll_result_t *out = res != NULL ? res : &local;
    if (tbms_frame_registers(f, out->regs, TBMS_MODBUS_READ_MAX, &n) != TBMS_OK) {
        p->stats.unexpected++;
        return;
    }
    out->count = (uint16_t)n;
    uint64_t lat = now_us - p->sent_us;
    uint32_t lat32 = lat > UINT32_MAX ? UINT32_MAX : (uint32_t)lat;
    p->stats.success++;
    p->stats.latency_last_us = lat32;
    if (lat32 > p->stats.latency_max_us) {
        p->stats.latency_max_us = lat32;
    }
    if (p->stats.success == 1u) {
        p->stats.latency_avg_us = lat32;
    } else {
        int64_t avg = p->stats.latency_avg_us;
        avg += ((int64_t)lat32 - avg) / 8;
        p->stats.latency_avg_us = (uint32_t)avg;
    }
    finish(p, true, now_us, out);
}

void tbms_poller_feed(tbms_poller_t *p, const uint8_t *data, size_t n, uint64_t now_us,
                      tbms_poll_result_t *res)
{
    if (res != NULL) {
        res->done = false;
    }
    if (p == NULL || (data == NULL && n > 0u)) {
        return;
    }
    for (;;) {
        size_t used = 0;
        tbms_frame_t f;
        tbms_err_t err = TBMS_OK;
        tbms_parse_status_t st = tbms_parser_push(&p->parser, data, n, &used, &f, &err);
        data += used;
        n -= used;
        if (st == TBMS_PARSE_FRAME) {
            bool was_done = res != NULL && res->done;
            take_frame(p, &f, now_us, was_done ? NULL : res);
        } else if (st == TBMS_PARSE_ERROR) {
            /* A corrupted answer: resend now rather than wait for the timeout. */
            if (p->busy && p->last_err == TBMS_OK && err == TBMS_ERR_CRC) {
                p->last_err = TBMS_ERR_CRC;
            }
        } else {
            return;
        }
    }
}

uint64_t tbms_poller_next_us(const tbms_poller_t *p)
{
    if (p == NULL) {
        return NEVER;
    }
    if (p->busy) {
        return p->last_err != TBMS_OK ? p->sent_us : p->sent_us + p->cfg.response_timeout_us;
    }
    uint64_t next = NEVER;
    for (unsigned b = 0; b < TBMS_BLOCK_COUNT_; b++) {
        if (p->due_us[b] < next) {
            next = p->due_us[b];
        }
    }
    return next;
}

tbms_poller_stats_t tbms_poller_stats(const tbms_poller_t *p)
{
    tbms_poller_stats_t s;
    memset(&s, 0, sizeof s);
    if (p == NULL) {
        return s;
    }
    s = p->stats;
    s.crc_errors = p->parser.stats.crc_errors;
    s.malformed = p->parser.stats.malformed;
    s.truncated = p->parser.stats.truncated;
    s.garbage_bytes = p->parser.stats.garbage_bytes;
    return s;
}

void tbms_poller_request(tbms_poller_t *p, tbms_block_t b, uint64_t now_us)
{
    if (p != NULL && (unsigned)b < TBMS_BLOCK_COUNT_) {
        p->due_us[b] = now_us;
    }
}
