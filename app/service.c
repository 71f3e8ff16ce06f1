/* The bridge's decisions above the core (service.h). */
#include "service.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "bridge_config.h"

static void say(const svc_t *s, svc_log_level_t level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void say(const svc_t *s, svc_log_level_t level, const char *fmt, ...)
{
    char line[384];
    va_list ap;
    va_start(ap, fmt);
    (void)vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    s->ops->log(s->ctx, level, line);
}

tbms_err_t svc_init(svc_t *s, const cfg_t *cfg, const svc_ops_t *ops, void *ctx,
                    const char *version, uint64_t now_us)
{
    if (s == NULL || cfg == NULL || ops == NULL || ops->log == NULL || ops->save_energy == NULL) {
        return TBMS_ERR_ARG;
    }
    memset(s, 0, sizeof *s);
    brg_config_t bc;
    bridge_config_from_cfg(cfg, &bc);
    tbms_err_t e = brg_init(&s->brg, &bc, now_us);
    if (e != TBMS_OK) {
        return e;
    }
    s->ops = ops;
    s->ctx = ctx;
    s->version = version != NULL ? version : "";
    s->cfg = *cfg;
    s->start_us = now_us;
    s->last_state = BRG_DATA_WAITING;
    s->next_summary_us = now_us + 5000000u;
    s->next_energy_save_us = now_us + SVC_ENERGY_SAVE_PERIOD_US;
    s->next_publish_us = now_us;
    s->next_registers_us = now_us;
    history_init(&s->history);
    return TBMS_OK;
}

tbms_err_t svc_apply_config(svc_t *s, const cfg_t *cfg, uint64_t now_us, char *why, size_t cap)
{
    if (s == NULL || cfg == NULL) {
        return TBMS_ERR_ARG;
    }
    brg_config_t bc;
    bridge_config_from_cfg(cfg, &bc);
    /* Each pack is a serial port: the "packs" section, like the serial
     * device, takes effect at the next start (docs/configuration.md). */
    bc.packs = (uint8_t)s->brg.n_packs;
    tbms_err_t e = brg_reconfigure(&s->brg, &bc, now_us);
    if (e != TBMS_OK) {
        if (why != NULL && cap > 0u) {
            (void)snprintf(why, cap, "the bridge refused it: %s", tbms_strerror(e));
        }
        return e;
    }
    s->cfg = *cfg;
    return TBMS_OK;
}

const cfg_t *svc_config(const svc_t *s)
{
    return s != NULL ? &s->cfg : NULL;
}

const brg_t *svc_bridge(const svc_t *s)
{
    return s != NULL ? &s->brg : NULL;
}

brg_t *svc_bridge_mut(svc_t *s)
{
    return s != NULL ? &s->brg : NULL;
}

void svc_set_energy(svc_t *s, uint64_t charged_mwh, uint64_t discharged_mwh)
{
    if (s != NULL) {
        brg_set_energy(&s->brg, charged_mwh, discharged_mwh);
    }
}

bool svc_uart_step(svc_t *s, size_t pack, uint64_t now_us, tbms_poll_tx_t *tx)
{
    return s != NULL && brg_uart_step(&s->brg, pack, now_us, tx);
}

void svc_uart_rx(svc_t *s, size_t pack, const uint8_t *data, size_t n, uint64_t now_us)
{
    if (s != NULL) {
        brg_uart_rx(&s->brg, pack, data, n, now_us);
    }
}

size_t svc_can_tx(svc_t *s, uint64_t now_us, vcan_frame_t *out, size_t cap)
{
    return s != NULL ? brg_can_tx(&s->brg, now_us, out, cap) : 0u;
}

void svc_can_rx(svc_t *s, const vcan_frame_t *f, uint64_t now_us)
{
    if (s != NULL) {
        brg_can_rx(&s->brg, f, now_us);
    }
}

static uint32_t clamp_u32(uint64_t v)
{
    return v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

void svc_frame_sent(svc_t *s, const vcan_frame_t *f, bool sent, uint64_t now_us)
{
    if (s == NULL || f == NULL || !sent || f->id != VCAN_ID_LIMITS) {
        return;
    }
    /* Bytes in to frame out: the bridge's own part of the data age. */
    uint64_t last = s->brg.oldest_valid_us; /* a bank: its oldest pack's read */
    samples_add(&s->age_351, clamp_u32(now_us > last ? now_us - last : 0u));
    if (s->last_351_us != 0u) {
        samples_add(&s->period_351, clamp_u32(now_us - s->last_351_us));
    }
    s->last_351_us = now_us;
}

/* One log line per alarm event of the core's stream (raised / cleared). */
static void alarm_events(svc_t *s)
{
    alm_event_t e;
    while (alm_pop_event(&s->brg.alarms, &e)) {
        const char *what = alm_condition_name(e.cond);
        if (e.kind == ALM_EVENT_RAISED) {
            say(s, SVC_LOG_WARNING, "%s %s raised (value %" PRId32 ", was %s)", what,
                alm_level_name(e.to), e.value, alm_level_name(e.from));
        } else {
            say(s, SVC_LOG_INFO, "%s %s cleared (value %" PRId32 ", now %s)", what,
                alm_level_name(e.from), e.value, alm_level_name(e.to));
        }
    }
}

static void save_energy(svc_t *s)
{
    if (!s->ops->save_energy(s->ctx, s->brg.counters.charged_mwh,
                             s->brg.counters.discharged_mwh)) {
        say(s, SVC_LOG_WARNING, "energy counters could not be saved; next try in %u s",
            SVC_ENERGY_SAVE_PERIOD_US / 1000000u);
    }
}

static void report_changes(svc_t *s, uint64_t now_us)
{
    const brg_t *b = &s->brg;
    if (b->state != s->last_state) {
        if (b->state == BRG_DATA_VALID) {
            say(s, SVC_LOG_INFO, "TinyBMS data valid: sending battery frames");
        } else if (b->state == BRG_DATA_STALE) {
            say(s, SVC_LOG_ERROR,
                "no valid TinyBMS data for %" PRIu32 " ms: battery frames STOPPED (the GX will see the BMS "
                "as lost and stop charging)",
                b->cfg.bms_timeout_us / 1000u);
        }
        s->last_state = b->state;
    }
    bool ka = brg_keepalive_ok(b, now_us);
    if (ka != s->last_keepalive) {
        say(s, ka ? SVC_LOG_INFO : SVC_LOG_WARNING,
            ka ? "GX keepalive (0x305) received" : "GX keepalive (0x305) lost");
        s->last_keepalive = ka;
    }
    if (s->have_io && s->io.can.connected != s->last_can_connected) {
        if (s->io.can.connected) {
            say(s, SVC_LOG_INFO, "CAN interface connected");
        } else {
            say(s, SVC_LOG_ERROR, "CAN interface disconnected: %s",
                s->io.can_error != NULL ? s->io.can_error : "?");
        }
        s->last_can_connected = s->io.can.connected;
    }
    if (now_us < s->next_summary_us) {
        return;
    }
    s->next_summary_us = now_us + SVC_SUMMARY_PERIOD_US;
    const tbms_live_t *l = &b->live;
    tbms_poller_stats_t u = brg_uart_stats(b);
    if (b->state == BRG_DATA_VALID) {
        say(s, SVC_LOG_INFO,
            "SOC %.2f %%  %.2f V  %.1f A  cells %u..%u mV  CVL %.1f V (%s)  CCL %.1f A  DCL %.1f "
            "A  GX %s  UART %" PRIu32 "/%" PRIu32 " ok, %" PRIu32 " timeouts",
            l->soc_cpct / 100.0, l->pack_mv / 1000.0, l->pack_ma / 1000.0, l->cell_min_mv,
            l->cell_max_mv, b->limits.cvl_mv / 1000.0, brg_cvl_state_name(b),
            b->limits.ccl_ma / 1000.0, b->limits.dcl_ma / 1000.0, ka ? "ok" : "not seen",
            u.success, u.polls, u.timeouts);
    } else {
        say(s, SVC_LOG_INFO,
            "waiting for TinyBMS data (%s); UART %" PRIu32 " polls, %" PRIu32
            " timeouts, %" PRIu32 " CRC errors",
            brg_data_state_name(b->state), u.polls, u.timeouts, u.crc_errors);
    }
}

static void history_sample(const svc_t *s, history_sample_t *h)
{
    const brg_t *b = &s->brg;
    const tbms_live_t *l = &b->live;
    h->t_ms = s->io.time_ms;
    h->pack_mv = l->pack_mv;
    h->current_ma = l->pack_ma;
    h->soc_cpct = l->soc_cpct;
    h->cell_min_mv = l->cell_min_mv;
    h->cell_max_mv = l->cell_max_mv;
    /* The pack temperature as everything else judges it (pack_temp.h). */
    h->temp_dc = b->pack.temp.usable ? b->pack.temp.avg_dc : HISTORY_NONE;
    h->cvl_mv = b->limits_ok ? b->limits.cvl_mv : HISTORY_NONE;
    h->ccl_ma = b->limits_ok ? b->limits.ccl_ma : HISTORY_NONE;
    h->dcl_ma = b->limits_ok ? b->limits.dcl_ma : HISTORY_NONE;
}

/* Only fresh data is charted: while it is stale the live values are the
 * last ones read, and a gap marker breaks the chart's lines. */
static void history_step(svc_t *s, uint64_t now_us)
{
    bool valid = s->brg.state == BRG_DATA_VALID && s->brg.live.valid;
    history_action_t act = history_next(&s->history, valid, now_us / 1000u);
    if (act == HISTORY_SAMPLE) {
        history_sample_t h;
        history_sample(s, &h);
        history_add(&s->history, &h, now_us / 1000u);
    } else if (act == HISTORY_GAP) {
        history_add_gap(&s->history, s->io.time_ms);
    }
    if (act != HISTORY_IDLE && s->ops->publish_history != NULL) {
        s->ops->publish_history(s->ctx, s);
    }
}

void svc_tick(svc_t *s, uint64_t now_us, const svc_io_t *io)
{
    if (s == NULL) {
        return;
    }
    if (io != NULL) {
        if (!s->have_io) {
            s->last_can_connected = io->can.connected;
        }
        s->io = *io;
        s->have_io = true;
    }
    report_changes(s, now_us);
    alarm_events(s);
    if (now_us >= s->next_energy_save_us) {
        save_energy(s);
        s->next_energy_save_us = now_us + SVC_ENERGY_SAVE_PERIOD_US;
    }
    if (now_us >= s->next_publish_us) {
        s->next_publish_us = now_us + SVC_STATUS_PERIOD_US;
        /* A bank is stepped when its frames go (bridge.h); stepped now too,
         * the document's battery is made of the same reads as its packs. */
        brg_refresh(&s->brg, now_us);
        if (s->ops->publish_status != NULL &&
            svc_status(s, now_us, s->status.seq + 1u, &s->status)) {
            s->ops->publish_status(s->ctx, &s->status);
        }
    }
    if (now_us >= s->next_registers_us) {
        s->next_registers_us = now_us + SVC_REGISTERS_PERIOD_US;
        if (s->ops->publish_registers != NULL) {
            s->ops->publish_registers(s->ctx, s, now_us);
        }
    }
    history_step(s, now_us);
}

const history_t *svc_history(const svc_t *s)
{
    return s != NULL ? &s->history : NULL;
}

uint64_t svc_next_us(const svc_t *s)
{
    if (s == NULL) {
        return UINT64_MAX;
    }
    uint64_t next = brg_next_us(&s->brg);
    uint64_t cands[5] = {s->next_summary_us, s->next_energy_save_us, s->next_publish_us,
                         s->next_registers_us,
                         s->history.next_due_ms < UINT64_MAX / 1000u ? s->history.next_due_ms * 1000u
                                                                      : UINT64_MAX};
    for (unsigned i = 0; i < 5u; i++) {
        next = cands[i] < next ? cands[i] : next;
    }
    return next;
}

void svc_stop(svc_t *s, uint64_t now_us)
{
    if (s == NULL) {
        return;
    }
    (void)now_us;
    alarm_events(s);
    save_energy(s);
}

bool svc_status(const svc_t *s, uint64_t now_us, uint64_t seq, status_t *out)
{
    if (s == NULL || out == NULL) {
        return false;
    }
    status_input_t in = {
        .bridge = &s->brg,
        .now_us = now_us,
        .uptime_ms = (now_us - s->start_us) / 1000u,
        .time_ms = s->io.time_ms,
        .uart_open = s->io.uart_open[0],
        .uart_device = s->io.uart_device[0] != NULL ? s->io.uart_device[0] : "",
        .can = s->io.can,
        .version = s->version,
        .cvl_state = brg_cvl_state_name(&s->brg),
    };
    /* A board built for fewer packs (BANK_MAX_PACKS) still reads a file
     * with up to CFG_MAX_PACKS; the bridge refuses more than it has. */
    _Static_assert(STATUS_PACKS_MAX == BRG_MAX_PACKS && CFG_MAX_PACKS >= BRG_MAX_PACKS,
                   "one status entry per pack");
    for (size_t i = 0; i < s->brg.n_packs && i < BRG_MAX_PACKS; i++) {
        in.pack_uart_open[i] = s->io.uart_open[i];
        in.pack_uart_device[i] = s->io.uart_device[i] != NULL ? s->io.uart_device[i] : "";
        /* "" = "Pack N" (status_build); one pack without a "packs" section: "" too */
        in.pack_name[i] = s->cfg.packs.pack[i].name;
    }
    return status_build(&in, seq, out);
}

void svc_timing(svc_t *s, svc_timing_t *out)
{
    if (s == NULL || out == NULL) {
        return;
    }
    out->age_p50_us = samples_percentile(&s->age_351, 50, s->scratch);
    out->age_p99_us = samples_percentile(&s->age_351, 99, s->scratch);
    out->age_max_us = samples_max(&s->age_351);
    out->period_p50_us = samples_percentile(&s->period_351, 50, s->scratch);
    out->period_p99_us = samples_percentile(&s->period_351, 99, s->scratch);
    out->period_max_us = samples_max(&s->period_351);
    out->count = s->age_351.total;
}

static void log_write(const svc_t *s, const sw_result_t *r)
{
    if (r->status == SW_OK || r->status == SW_UNVERIFIABLE) {
        say(s, SVC_LOG_INFO, "TinyBMS write: %s", r->message);
    } else {
        say(s, SVC_LOG_WARNING, "TinyBMS write refused or failed: %s", r->message);
    }
}

bool svc_write_start(svc_t *s, size_t pack, uint16_t addr, const uint16_t *values, uint16_t count,
                     uint64_t now_us, sw_result_t *out)
{
    if (s == NULL || out == NULL) {
        return false;
    }
    bool done = sw_start(&s->write, &s->brg, pack, addr, values, count, now_us, out);
    if (done) {
        log_write(s, out);
    }
    return done;
}

bool svc_write_poll(svc_t *s, sw_result_t *out)
{
    if (s == NULL || !sw_poll(&s->write, &s->brg, out)) {
        return false;
    }
    log_write(s, out);
    return true;
}

bool svc_write_busy(const svc_t *s)
{
    return s != NULL && sw_busy(&s->write);
}
