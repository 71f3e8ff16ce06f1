/*
 * service_digest.c - runs the application service (app/service.h) above
 * the core through a few deterministic scenarios and prints a digest of
 * every decision it made: every CAN frame, every log line, every energy
 * save, every status publication (a few numbers of the status_t), every
 * history publication, every settings-write outcome and configuration
 * change, and closing figures (0x351 timing, counters).
 *
 * It is built with the ESP32 firmware's sizes and defines
 * (-DBANK_MAX_PACKS=1 -DHISTORY_CAPACITY=360 -DTBMS_REGS_DESCRIPTIONS=0
 * -DCFG_ESP32_FIRMWARE), twice: for the host (gcc, ASan+UBSan) and for
 * RV32IMC (picolibc, under qemu-system-riscv32); tests/cross/run-qemu
 * compares the two outputs byte for byte, as it does core_digest.c's.
 *
 * The TinyBMS is the simulator of sim/tbms_sim.h (pure C11, no clock, no
 * heap; float physics with no libm call but fabsf, so its numbers are the
 * same on both): it answers the real UART protocol 5..30 ms late,
 * settings writes (Modbus 0x10) included. A charger drives the pack at up
 * to 30 A within the last 0x351 CCL while the data is valid; a GX sends
 * 0x305 every second. The service runs on cfg_defaults (app/config.h) as
 * the port's loop would run it: UART bytes in and out, CAN frames out
 * (svc_frame_sent), svc_tick with the platform's io, sleeping to
 * svc_next_us. Time is simulated: no clock is read.
 *
 * Each scenario ends with svc_stop and a line "digest NAME frames=N
 * fnv1a=X" (core_digest.c's format): N counts the CAN frames, the FNV-1a
 * hash covers every line of the section printed before it.
 *
 * Exit status: 0 when every scenario reached the conditions it is meant
 * to exercise (the "expect" lines), 1 otherwise.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "digest.h"
#include "service.h"
#include "tbms_sim.h"
#include "victron_can.h"

#define CHARGER_MA 30000                /* the charger's own maximum */
#define EPOCH_MS   1780000000000ull     /* wall clock at t = 0 (the documents' time_ms) */
#define RESTORED_CHARGED_MWH    123456u /* energy.json's counters at start */
#define RESTORED_DISCHARGED_MWH 65432u

/* Conditions a scenario is meant to reach (its "expect" lines). */
enum {
    OBS_DATA_VALID = 1u << 0,     /* "TinyBMS data valid" logged */
    OBS_SUMMARY = 1u << 1,        /* a periodic summary line with valid data */
    OBS_PUBLISH_1HZ = 1u << 2,    /* one status publication a second, seq from 1 */
    OBS_SAVE_PERIODIC = 1u << 3,  /* energy saved at 300 s and 600 s */
    OBS_SAVE_FAILED = 1u << 4,    /* a failed save logged ("next try") */
    OBS_SAVE_AT_STOP = 1u << 5,   /* svc_stop saved the counters */
    OBS_HISTORY = 1u << 6,        /* a history sample every 10 s */
    OBS_HISTORY_GAP = 1u << 7,    /* a gap marker while the data was stale */
    OBS_STALE = 1u << 8,          /* "battery frames STOPPED" logged, no 0x351 meanwhile */
    OBS_RESUMED = 1u << 9,        /* valid again after stale */
    OBS_KEEPALIVE_LOST = 1u << 10, /* GX keepalive lost and received again */
    OBS_CAN_LINK = 1u << 11,      /* CAN disconnected (with why) and connected */
    OBS_ALARM = 1u << 12,         /* an alarm raised and cleared */
    OBS_CONFIG_REFUSED = 1u << 13, /* svc_apply_config refused, nothing changed */
    OBS_CONFIG_APPLIED = 1u << 14, /* applied: 0x351's CCL follows it */
    OBS_WRITE_REFUSED = 1u << 15, /* no settings yet, read-only, interlock, busy */
    OBS_WRITE_VERIFIED = 1u << 16, /* written through the simulated BMS, read back */
    OBS_WRITE_EFFECT = 1u << 17,  /* the written setting is the bridge's (CCL bound) */
    OBS_TIMING = 1u << 18,        /* 0x351 timing figures, period 1 s */
    OBS_COUNT_ = 19
};

static const char *const obs_name[OBS_COUNT_] = {
    "data-valid",      "summary",        "publish-1hz",     "save-periodic",  "save-failed",
    "save-at-stop",    "history",        "history-gap",     "stale",          "resumed",
    "keepalive-lost",  "can-link",       "alarm",           "config-refused", "config-applied",
    "write-refused",   "write-verified", "write-effect",    "timing",
};

typedef struct sim sim_t;
typedef void (*script_fn)(sim_t *s, uint32_t sec);

typedef struct {
    const char *name;
    uint32_t seconds;
    script_fn script;
    uint32_t expect; /* OBS_* */
} scenario_t;

struct sim {
    svc_t svc;
    tbms_sim_t bms;
    uint64_t now;
    /* the platform */
    bool can_connected;
    const char *can_error;
    bool save_ok;
    bool gx_alive;
    bool charger_on;
    /* what the callbacks and the script saw */
    uint32_t saves;
    uint32_t failed_saves;
    uint32_t publishes;
    bool seq_in_order;
    uint32_t history_publishes;
    bool stale_logged;
    uint32_t limits_while_stale; /* 0x351 frames sent while the data was stale */
    bool valid_logged;
    uint32_t valid_logs;
    bool keepalive_lost, keepalive_back;
    bool can_down, can_up;
    bool alarm_raised, alarm_cleared;
    bool write_busy_refused;
    uint32_t writes_refused;
    uint16_t ccl_da_last; /* the last 0x351's CCL */
    bool stopping;
    /* the digest */
    uint32_t fnv;
    uint32_t frames;
    uint32_t lines;
    uint32_t observed;
};

static sim_t sim;

/* ------------------------------------------------------------------------
 * Output: one line per record; the FNV-1a hash covers every line.
 * ------------------------------------------------------------------------ */

static void line(sim_t *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void line(sim_t *s, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    size_t len = n < 0 ? 0u : (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1u;
    digest_fnv(&s->fnv, (const uint8_t *)buf, len);
    fputs(buf, stdout);
    fputc('\n', stdout);
    s->lines++;
}

/* A value of the status document times scale, rounded to an integer
 * (-1 unknown): only integers are printed. */
static int64_t scaled(status_num_t n, double scale)
{
    if (!n.known) {
        return -1;
    }
    double v = n.v * scale;
    return (int64_t)(v >= 0 ? v + 0.5 : v - 0.5);
}

static int64_t milli(status_num_t n)
{
    return scaled(n, 1000.0);
}

static void print_frame(sim_t *s, const vcan_frame_t *f, bool sent)
{
    char hex[2 * VCAN_DLC_MAX + 1];
    (void)digest_frame_hex(f, hex);
    /* "f" sent, "x" held back by the port (CAN link down) */
    line(s, "%c %7" PRIu32 " %03X %s", sent ? 'f' : 'x', digest_ms(s->now), (unsigned)f->id, hex);
    s->frames++;
}

/* ------------------------------------------------------------------------
 * The platform's operations (svc_ops_t)
 * ------------------------------------------------------------------------ */

static const char *const level_name[] = {"E", "W", "I", "D"};

static void op_log(void *ctx, svc_log_level_t level, const char *text)
{
    sim_t *s = ctx;
    line(s, "l %7" PRIu32 " %s %s", digest_ms(s->now), level_name[(unsigned)level & 3u], text);
    if (strstr(text, "TinyBMS data valid") != NULL) {
        s->valid_logs++;
        s->valid_logged = true;
    }
    if (strstr(text, "battery frames STOPPED") != NULL) {
        s->stale_logged = true;
    }
    if (strstr(text, "keepalive (0x305) lost") != NULL) {
        s->keepalive_lost = true;
    }
    if (s->keepalive_lost && strstr(text, "keepalive (0x305) received") != NULL) {
        s->keepalive_back = true;
    }
    if (strstr(text, "CAN interface disconnected: ") != NULL) {
        s->can_down = true;
    }
    if (s->can_down && strstr(text, "CAN interface connected") != NULL) {
        s->can_up = true;
    }
    if (strstr(text, "alarm raised") != NULL) {
        s->alarm_raised = true;
    }
    if (s->alarm_raised && strstr(text, "alarm cleared") != NULL) {
        s->alarm_cleared = true;
    }
    if (strncmp(text, "SOC ", 4) == 0) {
        s->observed |= OBS_SUMMARY;
    }
    if (strstr(text, "energy counters could not be saved") != NULL) {
        s->observed |= OBS_SAVE_FAILED;
    }
}

static bool op_save_energy(void *ctx, uint64_t charged_mwh, uint64_t discharged_mwh)
{
    sim_t *s = ctx;
    line(s, "e %7" PRIu32 " save charged_mwh=%" PRIu64 " discharged_mwh=%" PRIu64 " -> %s",
         digest_ms(s->now), charged_mwh, discharged_mwh, s->save_ok ? "stored" : "failed");
    s->saves++;
    if (!s->save_ok) {
        s->failed_saves++;
    }
    if (s->stopping && s->save_ok && charged_mwh > RESTORED_CHARGED_MWH) {
        s->observed |= OBS_SAVE_AT_STOP;
    }
    return s->save_ok;
}

static void op_publish_status(void *ctx, const status_t *st)
{
    sim_t *s = ctx;
    s->publishes++;
    if (st->seq != s->publishes) {
        s->seq_in_order = false;
    }
    line(s,
         "st %6" PRIu32 " #%" PRIu64 " %s valid=%u V=%" PRId64 " A=%" PRId64 " soc=%" PRId64
         " cells=%" PRId64 "..%" PRId64 " cvl=%" PRId64 " ccl=%" PRId64 " dcl=%" PRId64
         " sent=%u gx=%u can=%u alarms=%s kwh=%" PRId64 "/%" PRId64 " ov=%u coc=%u polls=%" PRIu32
         " up=%" PRIu64,
         digest_ms(s->now), st->seq, st->data_state, (unsigned)st->data_valid, milli(st->voltage),
         milli(st->current), milli(st->soc_percent), scaled(st->min_cell_mv, 1.0),
         scaled(st->max_cell_mv, 1.0), milli(st->limits.cvl_v), milli(st->limits.ccl_a),
         milli(st->limits.dcl_a), (unsigned)st->limits.sent, (unsigned)st->gx.keepalive_ok,
         (unsigned)st->can.connected, status_level_name(st->alarms.worst),
         milli((status_num_t){true, st->energy.charged_kwh}),
         milli((status_num_t){true, st->energy.discharged_kwh}),
         (unsigned)st->bms.over_voltage_cutoff_mv, (unsigned)st->bms.charge_over_current_a,
         st->uart.polls, st->uptime_ms);
}

static void op_publish_history(void *ctx, const svc_t *svc)
{
    sim_t *s = ctx;
    const history_t *h = svc_history(svc);
    size_t n = history_count(h);
    const history_sample_t *last = history_at(h, n - 1u);
    s->history_publishes++;
    if (h->gap) {
        s->observed |= OBS_HISTORY_GAP;
        line(s, "h %7" PRIu32 " count=%zu gap", digest_ms(s->now), n);
    } else if (last != NULL) {
        line(s,
             "h %7" PRIu32 " count=%zu t=%" PRIu64 " mv=%" PRId32 " ma=%" PRId32 " soc=%" PRId32
             " cells=%" PRId32 "..%" PRId32 " temp=%" PRId32 " cvl=%" PRId32 " ccl=%" PRId32
             " dcl=%" PRId32,
             digest_ms(s->now), n, (uint64_t)(last->t_ms - EPOCH_MS), last->pack_mv,
             last->current_ma, last->soc_cpct, last->cell_min_mv, last->cell_max_mv, last->temp_dc,
             last->cvl_mv, last->ccl_ma, last->dcl_ma);
    }
}

static const svc_ops_t ops = {
    .log = op_log,
    .save_energy = op_save_energy,
    .publish_status = op_publish_status,
    .publish_history = op_publish_history,
};

/* ------------------------------------------------------------------------
 * Actions of the scripts
 * ------------------------------------------------------------------------ */

static const char *sw_status_name(sw_status_t st)
{
    static const char *const names[] = {"ok",        "unverifiable", "range",  "read-only",
                                        "interlock", "no-settings",  "nack",   "timeout",
                                        "mismatch"};
    return (unsigned)st < sizeof names / sizeof names[0] ? names[st] : "?";
}

static void print_write(sim_t *s, const char *what, const sw_result_t *r)
{
    line(s, "w %7" PRIu32 " %s %s: %s", digest_ms(s->now), what, sw_status_name(r->status),
         r->message);
}

/* A user's write of one register; true when it was refused at once. */
static bool write_one(sim_t *s, uint16_t addr, uint16_t value, sw_status_t expect_refusal)
{
    sw_result_t r;
    bool done = svc_write_start(&s->svc, 0u, addr, &value, 1u, s->now, &r);
    if (done) {
        print_write(s, "refused", &r);
        if (r.status == expect_refusal) {
            s->writes_refused++;
        }
    } else {
        line(s, "w %7" PRIu32 " queued register %u = %u", digest_ms(s->now), (unsigned)addr,
             (unsigned)value);
    }
    return done;
}

static void apply_config(sim_t *s, const cfg_t *c, const char *what)
{
    char why[160] = "";
    tbms_err_t e = svc_apply_config(&s->svc, c, s->now, why, sizeof why);
    line(s, "c %7" PRIu32 " %s: %s%s%s", digest_ms(s->now), what,
         e == TBMS_OK ? "applied" : "refused", e == TBMS_OK ? "" : ", ", why);
}

/* ------------------------------------------------------------------------
 * The scenarios' scripts, called at the start of every simulated second
 * ------------------------------------------------------------------------ */

/* Start with restored counters, charge for ten minutes: the status
 * cadence, summaries, history, and the energy saves (the one at 300 s
 * fails: the storage is full, say; 600 s succeeds). The CAN link is down
 * for the first 2 s (the first io is the service's baseline: only its
 * coming up is reported). */
static void script_cadence(sim_t *s, uint32_t sec)
{
    if (sec == 0u) {
        s->can_connected = false;
        s->can_error = "not started yet";
    }
    if (sec == 2u) {
        s->can_connected = true;
    }
    if (sec == 299u) {
        s->save_ok = false;
    }
    if (sec == 301u) {
        s->save_ok = true;
    }
    if (sec == 450u) {
        s->charger_on = false; /* resting: the history shows 0 A */
    }
}

/* The TinyBMS goes silent for 10 s (cut RX line), a cell runs high, the
 * GX stops its keepalive for 12 s, the CAN link goes down for 5 s. */
static void script_stale(sim_t *s, uint32_t sec)
{
    if (sec == 20u) {
        tbms_sim_set_muted(&s->bms, true);
    }
    if (sec == 30u) {
        tbms_sim_set_muted(&s->bms, false);
    }
    if (sec == 50u) {
        tbms_sim_force_cell_mv(&s->bms, 7u, 3700u); /* above the 3650 mV of cfg_defaults */
    }
    if (sec == 56u) {
        tbms_sim_force_cell_mv(&s->bms, 7u, 0u);
    }
    if (sec == 70u) {
        s->gx_alive = false;
    }
    if (sec == 82u) {
        s->gx_alive = true;
    }
    if (sec == 95u) {
        s->can_connected = false;
        s->can_error = "bus-off (TX error counter 256)";
    }
    if (sec == 100u) {
        s->can_connected = true;
    }
}

/* A configuration the bridge refuses, one it applies (a lower charge
 * current), then TinyBMS settings writes: refused ones (no settings read
 * yet, read-only, interlock, one already in flight), then 318 (charge
 * over-current cutoff, 140 -> 40 A, which bounds the CCL: 50 -> 40 A)
 * written, read back and used. */
static void script_config_write(sim_t *s, uint32_t sec)
{
    if (sec == 0u) {
        (void)write_one(s, 315, 3700, SW_NO_SETTINGS); /* nothing read yet */
    }
    if (sec == 10u) {
        cfg_t bad = *svc_config(&s->svc);
        bad.victron.fast_interval_ms = 0;
        bad.victron.max_charge_current_da = 100;
        apply_config(s, &bad, "fast_interval_ms 0, max_charge_current 10 A");
        if (svc_config(&s->svc)->victron.fast_interval_ms != 0 &&
            svc_config(&s->svc)->victron.max_charge_current_da != 100) {
            s->observed |= OBS_CONFIG_REFUSED;
        }
    }
    if (sec == 20u) {
        cfg_t good = *svc_config(&s->svc);
        good.victron.max_charge_current_da = 200;
        apply_config(s, &good, "max_charge_current 20 A");
    }
    if (sec == 30u && s->ccl_da_last == 200u) {
        s->observed |= OBS_CONFIG_APPLIED;
    }
    if (sec == 35u) {
        cfg_t back = *svc_config(&s->svc);
        cfg_t d;
        cfg_defaults(&d);
        back.victron.max_charge_current_da = d.victron.max_charge_current_da;
        apply_config(s, &back, "max_charge_current back to the default");
    }
    if (sec == 40u) {
        (void)write_one(s, 40, 1, SW_READ_ONLY);
        (void)write_one(s, 315, 3500, SW_INTERLOCK); /* below 300 (3550) + 10 mV */
        if (!write_one(s, 318, 40, SW_OK)) {         /* 40 A: queued */
            s->write_busy_refused = write_one(s, 318, 41, SW_TIMEOUT); /* one at a time */
        }
    }
    if (sec == 80u && s->ccl_da_last == 400u && tbms_sim_register(&s->bms, 318) == 40u) {
        s->observed |= OBS_WRITE_EFFECT;
    }
}

static const scenario_t scenarios[] = {
    {"svc-cadence-and-energy", 620u, script_cadence,
     OBS_DATA_VALID | OBS_SUMMARY | OBS_PUBLISH_1HZ | OBS_SAVE_PERIODIC | OBS_SAVE_FAILED |
         OBS_SAVE_AT_STOP | OBS_HISTORY | OBS_TIMING},
    {"svc-stale-and-back", 110u, script_stale,
     OBS_STALE | OBS_RESUMED | OBS_HISTORY_GAP | OBS_KEEPALIVE_LOST | OBS_CAN_LINK | OBS_ALARM |
         OBS_SAVE_AT_STOP},
    {"svc-config-and-write", 90u, script_config_write,
     OBS_CONFIG_REFUSED | OBS_CONFIG_APPLIED | OBS_WRITE_REFUSED | OBS_WRITE_VERIFIED |
         OBS_WRITE_EFFECT | OBS_SAVE_AT_STOP},
};

/* ------------------------------------------------------------------------
 * The port's loop around the service
 * ------------------------------------------------------------------------ */

/* The charger: up to CHARGER_MA within the last CCL while the data is
 * valid (a GX stops charging when the BMS is lost). */
static void charger_step(sim_t *s)
{
    const brg_t *b = svc_bridge(&s->svc);
    int32_t ma = 0;
    if (s->charger_on && b->state == BRG_DATA_VALID && b->limits_ok) {
        ma = b->limits.ccl_ma < CHARGER_MA ? b->limits.ccl_ma : CHARGER_MA;
    }
    tbms_sim_set_current_ma(&s->bms, ma);
}

/* Bytes from the simulated BMS to the service. */
static void bms_deliver(sim_t *s, const uint8_t *bytes, size_t n)
{
    if (n > 0u) {
        svc_uart_rx(&s->svc, 0u, bytes, n, s->now);
    }
}

static void uart_turn(sim_t *s)
{
    uint8_t out[TBMS_SIM_TX_CAP];
    size_t n = 0;
    uint64_t now_ms = s->now / US_PER_MS;
    if (tbms_sim_next_answer_ms(&s->bms) <= now_ms) {
        (void)tbms_sim_transmit(&s->bms, now_ms, out, sizeof out, &n);
        bms_deliver(s, out, n);
    }
    tbms_poll_tx_t tx;
    if (svc_uart_step(&s->svc, 0u, s->now, &tx)) {
        (void)tbms_sim_receive(&s->bms, tx.bytes, tx.len, now_ms, out, sizeof out, &n);
        bms_deliver(s, out, n);
    }
}

static void can_turn(sim_t *s)
{
    vcan_frame_t frames[BRG_MAX_FRAMES_PER_TICK];
    size_t n = svc_can_tx(&s->svc, s->now, frames, BRG_MAX_FRAMES_PER_TICK);
    for (size_t i = 0; i < n; i++) {
        bool sent = s->can_connected;
        print_frame(s, &frames[i], sent);
        svc_frame_sent(&s->svc, &frames[i], sent, s->now);
        if (sent && frames[i].id == VCAN_ID_LIMITS) {
            s->ccl_da_last = (uint16_t)(frames[i].data[2] | frames[i].data[3] << 8);
            if (svc_bridge(&s->svc)->state == BRG_DATA_STALE) {
                s->limits_while_stale++;
            }
        }
    }
}

static void write_turn(sim_t *s)
{
    sw_result_t r;
    if (svc_write_busy(&s->svc) && svc_write_poll(&s->svc, &r)) {
        print_write(s, "finished", &r);
        line(s, "w %7" PRIu32 " simulated BMS register 318 = %u", digest_ms(s->now),
             (unsigned)tbms_sim_register(&s->bms, 318));
        if (r.status == SW_OK && r.readback[0] == 40u) {
            s->observed |= OBS_WRITE_VERIFIED;
        }
    }
}

static void tick_turn(sim_t *s)
{
    svc_io_t io;
    memset(&io, 0, sizeof io);
    io.uart_open[0] = true;
    io.uart_device[0] = "simulator 1";
    io.can.connected = s->can_connected;
    io.can.bus_state = s->can_connected ? "active" : "bus-off";
    io.can.interface = "twai:gpio4/gpio5";
    io.can_error = s->can_error;
    io.time_ms = EPOCH_MS + s->now / US_PER_MS;
    svc_tick(&s->svc, s->now, &io);
}

static void second_turn(sim_t *s, const scenario_t *sc, uint32_t sec)
{
    sc->script(s, sec);
    charger_step(s);
    if (s->gx_alive) {
        vcan_frame_t ka = {.id = 0x305u, .dlc = 8u, .data = {0}};
        svc_can_rx(&s->svc, &ka, s->now);
    }
    if (sec == 1u) {
        vcan_frame_t hs = {
            .id = 0x307u, .dlc = 8u, .data = {0x12, 0x34, 0x56, 0x78, 'V', 'I', 'C', 0}};
        svc_can_rx(&s->svc, &hs, s->now);
    }
}

/* ------------------------------------------------------------------------
 * One scenario
 * ------------------------------------------------------------------------ */

static void observe(sim_t *s, const scenario_t *sc)
{
    const brg_t *b = svc_bridge(&s->svc);
    uint32_t o = 0;
    if (s->valid_logged) {
        o |= OBS_DATA_VALID;
    }
    /* one publication per second: at 0 s and at every whole second */
    if (s->seq_in_order && s->publishes == sc->seconds + 1u) {
        o |= OBS_PUBLISH_1HZ;
    }
    if (s->saves >= 2u && s->failed_saves == 1u) {
        o |= OBS_SAVE_PERIODIC;
    }
    if (history_count(svc_history(&s->svc)) >= sc->seconds / 10u) {
        o |= OBS_HISTORY;
    }
    if (s->stale_logged && s->limits_while_stale == 0u && b->counters.stale_events > 0u) {
        o |= OBS_STALE;
    }
    if (s->stale_logged && b->state == BRG_DATA_VALID && s->valid_logs >= 2u) {
        o |= OBS_RESUMED;
    }
    if (s->keepalive_back) {
        o |= OBS_KEEPALIVE_LOST;
    }
    if (s->can_up) {
        o |= OBS_CAN_LINK;
    }
    if (s->alarm_cleared) {
        o |= OBS_ALARM;
    }
    if (s->writes_refused == 4u && s->write_busy_refused) {
        o |= OBS_WRITE_REFUSED;
    }
    s->observed |= o;
}

static void print_summary(sim_t *s, const scenario_t *sc)
{
    const brg_t *b = svc_bridge(&s->svc);
    svc_timing_t t;
    svc_timing(&s->svc, &t);
    if (t.count >= sc->seconds - 30u && t.period_p50_us == US_PER_S) {
        s->observed |= OBS_TIMING;
    }
    line(s,
         "timing 0x351 count=%" PRIu64 " age_p50_us=%" PRIu32 " age_p99_us=%" PRIu32
         " age_max_us=%" PRIu32 " period_p50_us=%" PRIu32 " period_p99_us=%" PRIu32
         " period_max_us=%" PRIu32,
         t.count, t.age_p50_us, t.age_p99_us, t.age_max_us, t.period_p50_us, t.period_p99_us,
         t.period_max_us);
    line(s,
         "bridge frames=%" PRIu32 " stale_events=%" PRIu32 " keepalive_rx=%" PRIu32
         " charged_mwh=%" PRIu64 " discharged_mwh=%" PRIu64 " ccl_ma=%" PRId32 " cvl_mv=%" PRId32,
         b->counters.frames, b->counters.stale_events, b->counters.keepalive_rx,
         b->counters.charged_mwh, b->counters.discharged_mwh, b->limits.ccl_ma, b->limits.cvl_mv);
    tbms_poller_stats_t u = brg_uart_stats(b);
    const tbms_sim_counters_t *c = tbms_sim_counters(&s->bms);
    line(s,
         "uart polls=%" PRIu32 " success=%" PRIu32 " timeouts=%" PRIu32 " crc=%" PRIu32
         " latency_avg_us=%" PRIu32 " latency_max_us=%" PRIu32 " bms_requests=%" PRIu32
         " bms_nacks=%" PRIu32,
         u.polls, u.success, u.timeouts, u.crc_errors, u.latency_avg_us, u.latency_max_us,
         c->requests, c->nacks);
    line(s, "service publishes=%" PRIu32 " history=%zu saves=%" PRIu32 " failed_saves=%" PRIu32
         " lines=%" PRIu32,
         s->publishes, history_count(svc_history(&s->svc)), s->saves, s->failed_saves, s->lines);
    digest_print_total(sc->name, s->frames, s->fnv);
}

static bool start(sim_t *s, const scenario_t *sc)
{
    tbms_sim_config_t bc = tbms_sim_default_config();
    bc.capacity_ah = 100.0f;
    bc.demo_profile = false;
    bc.seed = 7u;
    bc.latency_min_ms = 5u;
    bc.latency_max_ms = 30u;
    if (tbms_sim_init(&s->bms, &bc, 0u) != TBMS_SIM_OK) {
        printf("tbms_sim_init failed\n");
        return false;
    }
    cfg_t c;
    cfg_defaults(&c);
    tbms_err_t e = svc_init(&s->svc, &c, &ops, s, "service-digest", 0u);
    if (e != TBMS_OK) {
        printf("svc_init failed: %s\n", tbms_strerror(e));
        return false;
    }
    svc_set_energy(&s->svc, RESTORED_CHARGED_MWH, RESTORED_DISCHARGED_MWH);
    (void)sc;
    return true;
}

static bool run_scenario(const scenario_t *sc)
{
    sim_t *s = &sim;
    memset(s, 0, sizeof *s);
    s->fnv = DIGEST_FNV_BASIS;
    s->gx_alive = true;
    s->charger_on = true;
    s->save_ok = true;
    s->can_connected = true;
    s->seq_in_order = true;
    digest_print_scenario(sc->name, sc->seconds);
    if (!start(s, sc)) {
        return false;
    }
    const uint64_t end = (uint64_t)sc->seconds * US_PER_S;
    uint64_t next_sec = 0;
    uint32_t sec = 0;
    while (s->now <= end) {
        if (s->now >= next_sec) {
            second_turn(s, sc, sec);
            sec++;
            next_sec += US_PER_S;
        }
        uart_turn(s);
        can_turn(s);
        tick_turn(s);
        write_turn(s);
        observe(s, sc);

        uint64_t next = digest_min_u64(svc_next_us(&s->svc), next_sec);
        uint64_t answer_ms = tbms_sim_next_answer_ms(&s->bms);
        if (answer_ms != UINT64_MAX) {
            next = digest_min_u64(next, answer_ms * US_PER_MS);
        }
        s->now = next > s->now ? next : s->now + US_PER_MS;
    }
    s->stopping = true;
    svc_stop(&s->svc, s->now);
    print_summary(s, sc);
    return digest_print_expects(sc->name, obs_name, OBS_COUNT_, sc->expect, s->observed);
}

int main(void)
{
    bool ok = true;
    /* Nothing platform-dependent (pointer size, struct sizes) is printed:
     * the two builds' outputs must be identical. */
    printf("service digest: %u scenarios, BANK_MAX_PACKS=%u HISTORY_CAPACITY=%u\n",
           (unsigned)(sizeof scenarios / sizeof scenarios[0]), (unsigned)BANK_MAX_PACKS,
           (unsigned)HISTORY_CAPACITY);
    for (size_t i = 0; i < sizeof scenarios / sizeof scenarios[0]; i++) {
        ok = run_scenario(&scenarios[i]) && ok;
    }
    return digest_print_end(ok);
}
