/*
 * TinyBMS poll schedule, response timeout and resend-on-timeout.
 * Why resend the identical frame: tinybms-uart.md section 1 "Sleep / wake".
 */
#include "tbms_poller.h"

#include <string.h>

static const struct {
    uint16_t first;
    uint16_t count;
    uint16_t offset; /* of the block's words in tbms_poller_t.words */
    const char *name;
} blocks[TBMS_BLOCK_COUNT_] = {
    [TBMS_BLOCK_LIVE] = {0u, 56u, 0u, "live"},
    [TBMS_BLOCK_SETTINGS] = {300u, 44u, 56u, "settings"},
    [TBMS_BLOCK_VERSION] = {500u, 10u, 100u, "version"},
    [TBMS_BLOCK_STATS] = {100u, 18u, 110u, "stats"},
    [TBMS_BLOCK_EVENTS] = {200u, 98u, 128u, "events"},
};
_Static_assert(128u + 98u == TBMS_POLL_WORDS_TOTAL, "block word cache size");
_Static_assert(TBMS_POLL_WRITE_MAX <= TBMS_MODBUS_READ_MAX, "read-back fits a read result");

/* What the transaction in flight is. */
enum { OP_READ = 0, OP_WRITE, OP_READBACK };

/* Life of the one settings write. */
enum { WS_IDLE = 0, WS_QUEUED, WS_WRITING, WS_READBACK_DUE, WS_READING_BACK, WS_DONE };

/* At start, settings first: the bridge needs the BMS cutoffs before it may
 * state limits. Once live data flows, LIVE first: the other blocks then run
 * in the gap after a live read and never delay the next one. */
static const tbms_block_t priority_start[TBMS_BLOCK_COUNT_] = {
    TBMS_BLOCK_SETTINGS, TBMS_BLOCK_VERSION, TBMS_BLOCK_LIVE, TBMS_BLOCK_STATS, TBMS_BLOCK_EVENTS,
};
static const tbms_block_t priority_running[TBMS_BLOCK_COUNT_] = {
    TBMS_BLOCK_LIVE, TBMS_BLOCK_SETTINGS, TBMS_BLOCK_VERSION, TBMS_BLOCK_STATS, TBMS_BLOCK_EVENTS,
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
        /* LIVE keeps its cadence from the time it was due, not from when
         * the loop got round to sending it, so it does not drift (the
         * bridge aligns it to the 0x351 schedule); after a long stall it
         * skips the missed slots instead of bursting. Other blocks count
         * their period from now. */
        if (p->block == TBMS_BLOCK_LIVE) {
            uint64_t period = period_us(p, TBMS_BLOCK_LIVE);
            uint64_t next = add_sat(p->block_due_us, period);
            if (next <= now_us) {
                next = now_us + period - (now_us - p->block_due_us) % period;
            }
            p->due_us[TBMS_BLOCK_LIVE] = next;
            p->live_seen = true;
        } else {
            p->due_us[p->block] = add_sat(now_us, period_us(p, p->block));
        }
    } else {
        /* A failed block is tried again one poll interval later. */
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

static void write_done(tbms_poller_t *p, tbms_err_t err)
{
    p->busy = false;
    p->write.err = err;
    p->write.nack_code = err == TBMS_ERR_NACK ? p->last_nack : 0u;
    p->write_state = WS_DONE;
}

/* Starts the queued write or its read-back, which go before any due read. */
static bool start_write(tbms_poller_t *p, uint64_t now_us, tbms_poll_tx_t *tx)
{
    size_t len = 0;
    tbms_err_t e;
    memset(&p->pending, 0, sizeof p->pending);
    if (p->write_state == WS_QUEUED) {
        e = tbms_build_write(p->write.addr, p->write.values, p->write.count, p->pending.bytes,
                             sizeof p->pending.bytes, &len);
        p->op = OP_WRITE;
        p->write_state = WS_WRITING;
    } else if (p->write_state == WS_READBACK_DUE) {
        e = tbms_build_read(p->write.addr, p->write.count, p->pending.bytes,
                            sizeof p->pending.bytes, &len);
        p->op = OP_READBACK;
        p->write_state = WS_READING_BACK;
    } else {
        return false;
    }
    if (e != TBMS_OK) {
        write_done(p, e); /* cannot happen: tbms_poller_write checked the frame */
        return false;
    }
    p->pending.len = len;
    p->pending.flush_rx = true;
    p->busy = true;
    p->attempt = 1u;
    p->last_nack = 0u;
    p->stats.polls++;
    send_attempt(p, now_us, tx);
    return true;
}

tbms_err_t tbms_poller_reconfigure(tbms_poller_t *p, const tbms_poller_config_t *cfg,
                                   uint64_t now_us)
{
    if (p == NULL) {
        return TBMS_ERR_ARG;
    }
    tbms_err_t e = tbms_poller_check_config(cfg);
    if (e != TBMS_OK) {
        return e;
    }
    p->cfg = *cfg;
    for (unsigned b = 0; b < TBMS_BLOCK_COUNT_; b++) {
        uint64_t period = period_us(p, (tbms_block_t)b);
        if (period == NEVER) {
            p->due_us[b] = NEVER;
        } else if (p->due_us[b] == NEVER || p->due_us[b] > now_us + period) {
            p->due_us[b] = p->due_us[b] == NEVER ? now_us : now_us + period;
        }
    }
    return TBMS_OK;
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
        if (p->op == OP_READ) {
            finish(p, false, now_us, res);
        } else {
            write_done(p, p->last_err);
        }
    }
    if (start_write(p, now_us, tx)) {
        return true;
    }
    const tbms_block_t *priority = p->live_seen ? priority_running : priority_start;
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
        p->block_due_us = p->due_us[b];
        p->op = OP_READ;
        p->busy = true;
        p->attempt = 1u;
        p->last_nack = 0u;
        p->stats.polls++;
        send_attempt(p, now_us, tx);
        return true;
    }
    return false;
}

static void note_success(tbms_poller_t *p, uint64_t now_us)
{
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
}

/* The answer to the write (AA 10 AH AL 00 RL) or to its read-back. */
static void take_write_frame(tbms_poller_t *p, const tbms_frame_t *f, uint64_t now_us)
{
    bool writing = p->op == OP_WRITE;
    tbms_err_t e = tbms_expect(f, writing ? TBMS_CMD_MODBUS_WRITE : TBMS_CMD_MODBUS_READ);
    if (e == TBMS_ERR_NACK) {
        p->stats.nacks++;
        p->last_err = TBMS_ERR_NACK;
        p->last_nack = f->nack_code;
        return;
    }
    if (e != TBMS_OK || f->kind != TBMS_KIND_DATA || f->count != p->write.count ||
        (writing && f->addr != p->write.addr)) {
        p->stats.unexpected++;
        return;
    }
    if (writing) {
        note_success(p, now_us);
        p->busy = false;
        p->write.written = true;
        p->write_state = WS_READBACK_DUE;
        return;
    }
    size_t n = 0;
    uint16_t regs[TBMS_POLL_WRITE_MAX];
    if (tbms_frame_registers(f, regs, TBMS_POLL_WRITE_MAX, &n) != TBMS_OK ||
        n != p->write.count) {
        p->stats.unexpected++;
        return;
    }
    note_success(p, now_us);
    memcpy(p->write.readback, regs, n * sizeof regs[0]);
    write_done(p, TBMS_OK);
    p->due_us[TBMS_BLOCK_SETTINGS] = now_us; /* the snapshot follows the write */
}

static void take_frame(tbms_poller_t *p, const tbms_frame_t *f, uint64_t now_us,
                       tbms_poll_result_t *res)
{
    if (!p->busy || p->last_err != TBMS_OK) {
        p->stats.unexpected++;
        return;
    }
    if (p->op != OP_READ) {
        take_write_frame(p, f, now_us);
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
    memcpy(&p->words[blocks[p->block].offset], out->regs, n * sizeof out->regs[0]);
    p->words_us[p->block] = now_us > 0u ? now_us : 1u;
    note_success(p, now_us);
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
    if (p->write_state == WS_QUEUED || p->write_state == WS_READBACK_DUE) {
        return 0u; /* at once */
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

tbms_err_t tbms_poller_write(tbms_poller_t *p, uint16_t addr, const uint16_t *values,
                             uint16_t count, uint64_t now_us)
{
    (void)now_us; /* sent at the next step(), which takes the time */
    if (p == NULL || values == NULL || count == 0u || count > TBMS_POLL_WRITE_MAX ||
        (uint32_t)addr + count > 0x10000u) {
        return TBMS_ERR_ARG;
    }
    if (p->write_state != WS_IDLE) {
        return TBMS_ERR_UNEXPECTED;
    }
    memset(&p->write, 0, sizeof p->write);
    p->write.addr = addr;
    p->write.count = count;
    memcpy(p->write.values, values, count * sizeof values[0]);
    p->write_state = WS_QUEUED;
    return TBMS_OK;
}

bool tbms_poller_write_pending(const tbms_poller_t *p)
{
    return p != NULL && p->write_state != WS_IDLE && p->write_state != WS_DONE;
}

bool tbms_poller_take_write_result(tbms_poller_t *p, tbms_poll_write_result_t *out)
{
    if (p == NULL || out == NULL || p->write_state != WS_DONE) {
        return false;
    }
    *out = p->write;
    p->write_state = WS_IDLE;
    return true;
}

const uint16_t *tbms_poller_words(const tbms_poller_t *p, tbms_block_t b, uint64_t *at_us)
{
    if (p == NULL || (unsigned)b >= TBMS_BLOCK_COUNT_ || p->words_us[b] == 0u) {
        return NULL;
    }
    if (at_us != NULL) {
        *at_us = p->words_us[b];
    }
    return &p->words[blocks[b].offset];
}

void tbms_poller_align_live(tbms_poller_t *p, uint64_t target_us, uint64_t now_us)
{
    if (p == NULL || target_us <= now_us) {
        return;
    }
    uint64_t period = p->cfg.poll_interval_us;
    uint64_t due = p->due_us[TBMS_BLOCK_LIVE];
    if (due == NEVER || period == 0u) {
        return;
    }
    /* Move the cadence by less than half a period so that one live read
     * starts exactly at target_us; later ones follow every period. */
    uint64_t shift = (target_us >= due ? target_us - due : period - (due - target_us) % period) %
                     period;
    uint64_t next = shift <= period / 2u ? due + shift : due + shift - period;
    if (next < now_us) {
        next += period;
    }
    p->due_us[TBMS_BLOCK_LIVE] = next;
}

bool tbms_poller_live_in_flight(const tbms_poller_t *p)
{
    return p != NULL && p->busy && p->op == OP_READ && p->block == TBMS_BLOCK_LIVE;
}
