/*
 * core_digest.c - runs the portable core through a few deterministic
 * scenarios and prints a digest of everything it did: every CAN frame,
 * every state change, every alarm event, and closing counters.
 *
 * The same source is built twice, for the host (gcc, ASan+UBSan) and for
 * RV32IMC (picolibc, run under qemu-system-riscv32), and tests/cross/run-qemu
 * compares the two outputs byte for byte: identical output means the core
 * computes the same frames on the ESP32-C3's instruction set (32-bit
 * pointers, no FPU, no hardware 64-bit division) as on the host.
 *
 * The TinyBMS side is tests/unit/fake_bms.h's register image, answered
 * through the real frame codec, with an answer latency and, in one
 * scenario, corrupted, cut-off and noisy answers. A small pack model
 * (5 Ah, so a charge takes minutes, not hours) and a charger that obeys
 * CVL and CCL move the image every simulated second; a GX sends 0x305
 * every second. One scenario puts two packs on the bridge (cfg.packs = 2,
 * the bank of bank.h): each has its own register image following the same
 * model (same cells and SOC, its own part of the bank current) and its own
 * UART (its own answers, latency and silence); the digest then also prints
 * the packs' states and what bounds the bank ("p" lines). Only integers
 * are printed; the only float arithmetic is the IEEE-754 encoding of the
 * images' voltage and current registers.
 *
 * Exit status: 0 when every scenario reached the conditions it is meant
 * to exercise (the "expect" lines), 1 otherwise.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "bridge.h"
#include "digest.h"
#include "fake_bms.h"
#include "tbms_frame.h"
#include "victron_can.h"

#define CELLS        16u
#define CAPACITY_MAS (5ull * 3600ull * 1000ull) /* 5 Ah in mA.s */
#define CELL_MOHM    2                          /* internal resistance per cell */
#define CHARGER_MA   40000                      /* the charger's own maximum */
#define LIFETIME_S0  1000000u                   /* BMS lifetime at t = 0 */

/* Conditions a scenario is meant to reach (its "expect" lines). */
enum {
    OBS_CVL_TRANSITION = 1u << 0,
    OBS_CVL_FLOAT = 1u << 1,
    OBS_CCL_ZERO = 1u << 2,
    OBS_ALARM_HIGH_VOLTAGE = 1u << 3,
    OBS_BMS_FAULT = 1u << 4,
    OBS_STALE = 1u << 5,
    OBS_RESUMED = 1u << 6,
    OBS_KEEPALIVE_LOST = 1u << 7,
    OBS_CRC_ERRORS = 1u << 8,
    OBS_TEMP_LOST = 1u << 9,
    OBS_NO_TEMP = 1u << 10,
    OBS_LOW_TEMP = 1u << 11,
    OBS_DISCHARGED = 1u << 12,
    OBS_CVL_PROTECTION = 1u << 13,
    OBS_PACK_SILENT = 1u << 14,    /* a member's reads stopped, within the grace */
    OBS_PACK_OFFLINE = 1u << 15,   /* a pack that was online is dropped */
    OBS_PACK_REJOINED = 1u << 16,  /* ... and is online again */
    OBS_PACK_BLOCKING = 1u << 17,  /* a member blocks charge (0x372) */
    OBS_CCL_BANK_LOWER = 1u << 18, /* CCL while a pack blocks < CCL with every pack */
    OBS_COUNT_ = 19
};

static const char *const obs_name[OBS_COUNT_] = {
    "cvl-transition", "cvl-float",     "ccl-zero",       "alarm-high-voltage", "bms-fault",
    "stale",          "resumed",       "keepalive-lost", "crc-errors",         "temp-lost",
    "no-temp",        "low-temp",      "discharged",     "cvl-protection",     "pack-silent",
    "pack-offline",   "pack-rejoined", "pack-blocking",  "ccl-lower-blocking",
};

typedef struct sim sim_t;
typedef void (*script_fn)(sim_t *s, uint32_t sec);

typedef struct {
    const char *name;
    uint32_t seconds;
    uint32_t soc_start_cpct;
    script_fn script;
    uint32_t expect; /* OBS_* */
    uint8_t packs;   /* TinyBMS packs on the bridge (cfg.packs), 1..SIM_PACKS */
} scenario_t;

/* Packs a scenario may put on the bridge: each its own image and UART. */
#define SIM_PACKS 2u

_Static_assert(SIM_PACKS <= BRG_MAX_PACKS, "the bridge reads SIM_PACKS packs");

/* Pack 1's part of the bank current, per mille (pack 2 takes the rest). */
#define PACK1_SHARE_PM 600

/* What the digest prints when it changes (limits travel in 0x351). */
typedef struct {
    brg_data_state_t state;
    cvl_state_t cvl;
    uint32_t reasons;
    uint32_t cvl_reasons;
    bool keepalive;
    bool temp_usable;
    uint8_t temp_used_mask;
} view_t;

/* With several packs, what the digest prints when it changes. */
typedef struct {
    bank_pack_state_t state[SIM_PACKS];
    bool blocks_charge[SIM_PACKS];
    bool blocks_discharge[SIM_PACKS];
    vcan_modules_t modules;
    bank_bound_t ccl_bound;
    bank_bound_t dcl_bound;
    uint8_t ccl_pack;
    uint8_t dcl_pack;
    uint32_t warnings;
} bank_view_t;

/* One TinyBMS's UART: its pending answer and latency, its faults. */
typedef struct {
    bool alive;
    uint32_t noise_permille; /* answers spoiled, per thousand */
    bool pending;
    uint64_t pending_at;
    size_t pending_n;
    uint8_t pending_bytes[TBMS_FRAME_MAX + 16u];
} uart_sim_t;

struct sim {
    brg_t brg;
    size_t packs; /* the scenario's packs */
    uint16_t regs[SIM_PACKS][FAKE_BMS_REGS];
    uint64_t now;
    uint32_t rng;
    /* the TinyBMS of each pack on its UART */
    uart_sim_t uart[SIM_PACKS];
    /* the pack model (the bank: packs x 5 Ah, every pack at the same SOC)
     * and the charger */
    uint64_t capacity_mas;
    uint64_t charge_mas;
    int32_t current_ma;         /* the bank's */
    int32_t pack_ma[SIM_PACKS]; /* each pack's part, what its TinyBMS measures */
    int32_t load_ma;            /* discharge current drawn when > 0 */
    bool charger_on;
    int32_t cell15_extra_mv;   /* a cell running away (over-voltage scenario) */
    uint8_t status[SIM_PACKS]; /* register 50 override; 0 = from the current */
    /* the GX */
    bool gx_alive;
    /* the digest */
    uint32_t fnv;
    uint32_t frames;
    uint32_t lines;
    uint32_t observed;
    view_t last;
    bool last_valid;
    bank_view_t bank_last;
    bool bank_last_valid;
    bool pack_was_online[SIM_PACKS];
    bool pack_dropped[SIM_PACKS]; /* offline after having been online */
    int32_t ccl_all_ma;           /* last CCL with every pack online, none blocking; -1 none */
};

static sim_t sim;

/* ------------------------------------------------------------------------
 * Output: one line per record; the FNV-1a hash covers every frame.
 * ------------------------------------------------------------------------ */

static uint32_t next_rand(sim_t *s)
{
    /* xorshift32: the same sequence on every machine */
    uint32_t x = s->rng;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    s->rng = x;
    return x;
}

static void print_frame(sim_t *s, const vcan_frame_t *f)
{
    char hex[2 * VCAN_DLC_MAX + 1];
    unsigned dlc = digest_frame_hex(f, hex);
    printf("f %7" PRIu32 " %03X %s\n", digest_ms(s->now), (unsigned)f->id, hex);
    uint8_t head[3] = {(uint8_t)(f->id >> 8), (uint8_t)f->id, f->dlc};
    digest_fnv(&s->fnv, head, sizeof head);
    digest_fnv(&s->fnv, f->data, dlc);
    s->frames++;
    s->lines++;
}

static view_t take_view(sim_t *s)
{
    view_t v;
    memset(&v, 0, sizeof v);
    v.state = s->brg.state;
    v.cvl = s->brg.cvl.state;
    v.reasons = s->brg.limits.reasons;
    v.cvl_reasons = s->brg.cvl.reasons;
    v.keepalive = brg_keepalive_ok(&s->brg, s->now);
    v.temp_usable = s->brg.pack.temp.usable;
    v.temp_used_mask = s->brg.pack.temp.used_mask;
    return v;
}

static bank_view_t take_bank_view(const sim_t *s)
{
    const bank_out_t *o = &s->brg.bank_out;
    bank_view_t v;
    memset(&v, 0, sizeof v);
    for (size_t i = 0; i < s->packs; i++) {
        v.state[i] = o->pack[i].state;
        v.blocks_charge[i] = o->pack[i].blocks_charge;
        v.blocks_discharge[i] = o->pack[i].blocks_discharge;
    }
    v.modules = o->modules;
    v.ccl_bound = o->ccl_bound;
    v.dcl_bound = o->dcl_bound;
    v.ccl_pack = o->ccl_pack;
    v.dcl_pack = o->dcl_pack;
    v.warnings = o->warnings;
    return v;
}

/* "p" lines: the packs' states and what bounds the bank, on change. */
static void print_bank_changes(sim_t *s)
{
    bank_view_t v = take_bank_view(s);
    if (s->bank_last_valid && memcmp(&v, &s->bank_last, sizeof v) == 0) {
        return;
    }
    printf("p %7" PRIu32, digest_ms(s->now));
    for (size_t i = 0; i < s->packs; i++) {
        printf(" p%u=%s%s%s", (unsigned)(i + 1u), bank_pack_state_name(v.state[i]),
               v.blocks_charge[i] ? "+blocks-charge" : "",
               v.blocks_discharge[i] ? "+blocks-discharge" : "");
    }
    printf(" modules=%" PRId32 "/%" PRId32 "/%" PRId32 "/%" PRId32
           " ccl_bound=%s/%u dcl_bound=%s/%u warnings=0x%02" PRIX32 "\n",
           v.modules.online, v.modules.blocking_charge, v.modules.blocking_discharge,
           v.modules.offline, bank_bound_name(v.ccl_bound), (unsigned)v.ccl_pack,
           bank_bound_name(v.dcl_bound), (unsigned)v.dcl_pack, v.warnings);
    s->lines++;
    s->bank_last = v;
    s->bank_last_valid = true;
}

static void print_changes(sim_t *s)
{
    view_t v = take_view(s);
    if (!s->last_valid || memcmp(&v, &s->last, sizeof v) != 0) {
        printf("s %7" PRIu32 " data=%s cvl=%s reasons=0x%04" PRIX32 " cvl_reasons=0x%02" PRIX32
               " keepalive=%u temp_usable=%u temp_used=0x%02X\n",
               digest_ms(s->now), brg_data_state_name(v.state), cvl_state_name(v.cvl), v.reasons,
               v.cvl_reasons, (unsigned)v.keepalive, (unsigned)v.temp_usable,
               (unsigned)v.temp_used_mask);
        s->lines++;
        s->last = v;
        s->last_valid = true;
    }
    if (s->packs > 1u) {
        print_bank_changes(s);
    }
    alm_event_t ev;
    while (alm_pop_event(&s->brg.alarms, &ev)) {
        printf("a %7" PRIu32 " #%" PRIu32 " %s %s %s->%s value=%" PRId32 "\n",
               digest_ms(ev.time_us), ev.seq, alm_condition_name(ev.cond),
               alm_event_kind_name(ev.kind), alm_level_name(ev.from), alm_level_name(ev.to),
               ev.value);
        s->lines++;
    }
}

/* The bank's conditions (bank.h pack states, 0x372, the bank CCL). */
static uint32_t observe_bank(sim_t *s)
{
    const brg_t *b = &s->brg;
    const bank_out_t *bo = &b->bank_out;
    uint32_t o = 0;
    bool all_online = true;
    bool blocking = false;
    for (size_t i = 0; i < s->packs; i++) {
        bank_pack_state_t st = bo->pack[i].state;
        if (st == BANK_PACK_SILENT) {
            o |= OBS_PACK_SILENT;
        }
        if (st == BANK_PACK_OFFLINE && s->pack_was_online[i]) {
            s->pack_dropped[i] = true;
            o |= OBS_PACK_OFFLINE;
        }
        if (st == BANK_PACK_ONLINE) {
            if (s->pack_dropped[i]) {
                o |= OBS_PACK_REJOINED;
            }
            s->pack_was_online[i] = true;
        } else {
            all_online = false;
        }
        if (bo->pack[i].member && bo->pack[i].blocks_charge) {
            blocking = true;
        }
    }
    if (blocking && bo->modules.blocking_charge > 0) {
        o |= OBS_PACK_BLOCKING;
    }
    if (b->state == BRG_DATA_VALID && b->limits_ok && bo->valid) {
        if (all_online && !blocking) {
            s->ccl_all_ma = b->limits.ccl_ma;
        } else if (blocking && s->ccl_all_ma >= 0 && b->limits.ccl_ma < s->ccl_all_ma) {
            o |= OBS_CCL_BANK_LOWER;
        }
    }
    return o;
}

static void observe(sim_t *s)
{
    const brg_t *b = &s->brg;
    uint32_t o = 0;
    if (b->cvl.state == CVL_STATE_TRANSITION) {
        o |= OBS_CVL_TRANSITION;
    }
    if (b->cvl.state == CVL_STATE_FLOAT) {
        o |= OBS_CVL_FLOAT;
    }
    if (b->state == BRG_DATA_VALID && b->limits_ok && b->limits.ccl_ma == 0) {
        o |= OBS_CCL_ZERO;
    }
    if (b->alarms.level[VCAN_COND_HIGH_VOLTAGE] == ALM_ALARM) {
        o |= OBS_ALARM_HIGH_VOLTAGE;
    }
    if (b->limits.reasons & CHG_REASON_BMS_FAULT) {
        o |= OBS_BMS_FAULT;
    }
    if (b->state == BRG_DATA_STALE) {
        o |= OBS_STALE;
    }
    if (b->state == BRG_DATA_VALID && b->counters.stale_events > 0) {
        o |= OBS_RESUMED;
    }
    if (b->keepalive_seen && !brg_keepalive_ok(b, s->now)) {
        o |= OBS_KEEPALIVE_LOST;
    }
    if (tbms_poller_stats(&b->bms[0].poller).crc_errors > 0) {
        o |= OBS_CRC_ERRORS;
    }
    if (b->limits.reasons & CHG_REASON_CCL_TEMP_LOST) {
        o |= OBS_TEMP_LOST;
    }
    if (b->limits.reasons & CHG_REASON_CCL_NO_TEMP) {
        o |= OBS_NO_TEMP;
    }
    if (b->limits.reasons & CHG_REASON_CCL_LOW_TEMP) {
        o |= OBS_LOW_TEMP;
    }
    if (b->counters.discharged_mwh > 0) {
        o |= OBS_DISCHARGED;
    }
    if (b->cvl.reasons & CVL_REASON_PROTECTION) {
        o |= OBS_CVL_PROTECTION;
    }
    if (s->packs > 1u) {
        o |= observe_bank(s);
    }
    s->observed |= o;
}

/* ------------------------------------------------------------------------
 * The pack model and the charger, once per simulated second
 * ------------------------------------------------------------------------ */

static uint32_t soc_cpct(const sim_t *s)
{
    uint64_t c = s->charge_mas * 10000u / s->capacity_mas;
    return c > 10000u ? 10000u : (uint32_t)c;
}

/* Open-circuit cell voltage of an LFP cell: flat in the middle, a knee at the top. */
static int32_t ocv_mv(uint32_t soc)
{
    if (soc < 1000u) {
        return 2900 + (int32_t)(soc * 300u / 1000u);
    }
    if (soc < 9000u) {
        return 3200 + (int32_t)((soc - 1000u) * 130u / 8000u);
    }
    return 3330 + (int32_t)((soc - 9000u) * 130u / 1000u);
}

static int32_t cell_mv(const sim_t *s, unsigned i, int32_t current_ma)
{
    uint32_t soc = soc_cpct(s);
    int32_t v = ocv_mv(soc) + (int32_t)i + current_ma * CELL_MOHM / 1000;
    if (i == CELLS - 1u) {
        /* the weak cell: reaches the knee first */
        v += soc > 9000u ? (int32_t)(soc - 9000u) / 25 : 0;
        v += s->cell15_extra_mv;
    }
    return v;
}

static void model_step(sim_t *s)
{
    const brg_t *b = &s->brg;
    /* The charger obeys the last 0x351 only while the BMS is valid (a GX
     * stops charging when the BMS is lost), CC up to CCL, then CV at CVL. */
    int32_t i_ma = 0;
    if (s->charger_on && b->state == BRG_DATA_VALID && b->limits_ok) {
        int32_t ocv_pack = 0;
        for (unsigned c = 0; c < CELLS; c++) {
            ocv_pack += cell_mv(s, c, 0);
        }
        int32_t cv_ma = (b->limits.cvl_mv - ocv_pack) * 1000 / (CELL_MOHM * (int32_t)CELLS);
        i_ma = b->limits.ccl_ma < CHARGER_MA ? b->limits.ccl_ma : CHARGER_MA;
        if (cv_ma < i_ma) {
            i_ma = cv_ma;
        }
        if (i_ma < 0) {
            i_ma = 0;
        }
    }
    i_ma -= s->load_ma;
    s->current_ma = i_ma;
    int64_t q = (int64_t)s->charge_mas + i_ma;
    s->charge_mas = q < 0 ? 0u : (uint64_t)q > s->capacity_mas ? s->capacity_mas : (uint64_t)q;

    /* The packs' parts: one pack takes it all; with two, pack 1 takes
     * PACK1_SHARE_PM of it unless pack 2 is in FAULT (its TinyBMS has
     * opened its switches: pack 1 takes everything). A pack whose UART is
     * silent is still connected and keeps its part. */
    s->pack_ma[0] = i_ma;
    if (s->packs > 1u) {
        bool open2 = s->status[1] == 0x9B;
        s->pack_ma[0] = open2 ? i_ma : i_ma * PACK1_SHARE_PM / 1000;
        s->pack_ma[1] = i_ma - s->pack_ma[0];
    }
    for (size_t p = 0; p < s->packs; p++) {
        uint16_t *r = s->regs[p];
        int32_t p_ma = s->pack_ma[p];
        int32_t sum = 0, lo = INT32_MAX, hi = INT32_MIN;
        for (unsigned c = 0; c < CELLS; c++) {
            int32_t v = cell_mv(s, c, p_ma);
            r[16u - CELLS + c] = (uint16_t)(v * 10);
            sum += v;
            lo = v < lo ? v : lo;
            hi = v > hi ? v : hi;
        }
        fake_bms_f32(r, 36, (float)sum / 1000.0f);
        fake_bms_f32(r, 38, (float)p_ma / 1000.0f);
        r[40] = (uint16_t)lo;
        r[41] = (uint16_t)hi;
        fake_bms_u32(r, 46, soc_cpct(s) * 10000u);
        uint8_t st = p_ma > 0 ? 0x91 : p_ma < 0 ? 0x93 : 0x97;
        r[50] = s->status[p] != 0 ? s->status[p] : st;
    }
}

/* ------------------------------------------------------------------------
 * The scenarios' scripts, called at the start of every simulated second
 * ------------------------------------------------------------------------ */

/* Charges from 85 % into FLOAT, then a 30 A load for the last 40 s. */
static void script_normal_charge(sim_t *s, uint32_t sec)
{
    if (sec == 200u) {
        s->charger_on = false;
        s->load_ma = 30000;
    }
}

/* One cell runs away past the 3650 mV cutoff, the TinyBMS faults with an
 * over-voltage event, then everything recovers. */
static void script_cell_over_voltage(sim_t *s, uint32_t sec)
{
    if (sec >= 10u && sec <= 30u) {
        s->cell15_extra_mv = (int32_t)(sec - 10u) * 20; /* +400 mV at 30 s */
    }
    if (sec == 32u) {
        uint32_t ts = LIFETIME_S0 + sec;
        s->regs[0][200] = (uint16_t)(ts & 0xFFFFu);
        s->regs[0][201] = (uint16_t)(0x03u << 8 | ((ts >> 16) & 0xFFu)); /* over-voltage */
        s->status[0] = 0x9B;
    }
    if (sec == 42u) {
        s->status[0] = 0;
    }
    if (sec >= 45u && sec <= 65u) {
        s->cell15_extra_mv = (int32_t)(65u - sec) * 20;
    }
}

/* The TinyBMS goes silent for 8 s and comes back; later its answers are
 * spoiled (all, then one in three), and the GX keepalive stops for 15 s. */
static void script_stale(sim_t *s, uint32_t sec)
{
    if (sec == 10u) {
        s->uart[0].alive = false;
    }
    if (sec == 18u) {
        s->uart[0].alive = true;
    }
    if (sec == 20u) {
        s->gx_alive = false;
    }
    if (sec == 35u) {
        s->gx_alive = true;
    }
    if (sec == 30u) {
        s->uart[0].noise_permille = 1000u;
    }
    if (sec == 33u) {
        s->uart[0].noise_permille = 333u;
    }
    if (sec == 50u) {
        s->uart[0].noise_permille = 0u;
    }
}

/* Sensor 1 is lost, then the board sensor too, both come back; then the
 * cells get cold (2 C) and warm again. */
static void script_temperature(sim_t *s, uint32_t sec)
{
    if (sec == 10u) {
        s->regs[0][42] = 0x8000;
    }
    if (sec == 30u) {
        s->regs[0][48] = 0x8000;
    }
    if (sec == 45u) {
        s->regs[0][42] = 250;
        s->regs[0][48] = 300;
    }
    if (sec == 60u) {
        s->regs[0][42] = 20;
    }
    if (sec == 75u) {
        s->regs[0][42] = 250;
    }
}

/* Two packs charging as one bank, pack 1 taking 60 % of the current. Each
 * TinyBMS's charge over-current cutoff is 25 A, so the packs' own limits
 * (23.75 A each in the bank), not the 50 A bank cap, decide the bank's
 * CCL. Pack 2's UART goes silent at 20 s (silent from the 5 s stale limit,
 * offline after the 10 s grace) and comes back at 45 s (joining for the
 * 10 s hold, then online); at 95 s pack 2's TinyBMS reports FAULT (it
 * blocks charge: pack 1 alone carries the bank) and recovers at 110 s. */
static void script_two_pack_bank(sim_t *s, uint32_t sec)
{
    if (sec == 0u) {
        for (size_t p = 0; p < s->packs; p++) {
            s->regs[p][318] = 25;
        }
    }
    if (sec == 20u) {
        s->uart[1].alive = false;
    }
    if (sec == 45u) {
        s->uart[1].alive = true;
    }
    if (sec == 95u) {
        s->status[1] = 0x9B;
    }
    if (sec == 110u) {
        s->status[1] = 0;
    }
}

static const scenario_t scenarios[] = {
    {"normal-charge", 240u, 8500u, script_normal_charge,
     OBS_CVL_TRANSITION | OBS_CVL_FLOAT | OBS_DISCHARGED, 1u},
    {"cell-over-voltage", 120u, 6000u, script_cell_over_voltage,
     OBS_CCL_ZERO | OBS_ALARM_HIGH_VOLTAGE | OBS_BMS_FAULT | OBS_CVL_PROTECTION, 1u},
    {"stale-and-back", 60u, 6000u, script_stale,
     OBS_STALE | OBS_RESUMED | OBS_KEEPALIVE_LOST | OBS_CRC_ERRORS, 1u},
    {"temperature-sensor-lost", 100u, 6000u, script_temperature,
     OBS_TEMP_LOST | OBS_NO_TEMP | OBS_LOW_TEMP | OBS_CCL_ZERO, 1u},
    {"two-pack-bank", 150u, 5000u, script_two_pack_bank,
     OBS_PACK_SILENT | OBS_PACK_OFFLINE | OBS_PACK_REJOINED | OBS_PACK_BLOCKING |
         OBS_CCL_BANK_LOWER,
     2u},
};

/* ------------------------------------------------------------------------
 * The TinyBMS on the UART: latency, and spoiled answers when asked
 * ------------------------------------------------------------------------ */

static void bms_request(sim_t *s, size_t pack, const tbms_poll_tx_t *tx)
{
    uart_sim_t *u = &s->uart[pack];
    if (tx->flush_rx) {
        u->pending = false;
    }
    uint8_t out[TBMS_FRAME_MAX];
    size_t n = 0;
    if (!u->alive || !fake_bms_answer(s->regs[pack], tx, out, sizeof out, &n)) {
        return;
    }
    uint8_t *p = u->pending_bytes;
    size_t len = n;
    memcpy(p, out, n);
    if (u->noise_permille > 0u && next_rand(s) % 1000u < u->noise_permille) {
        switch (next_rand(s) % 3u) {
        case 0: /* a bit flipped in the payload: bad CRC */
            p[n / 2u] ^= 0x10u;
            break;
        case 1: /* cut off */
            len = n / 2u;
            break;
        default: /* preceded by some of the TinyBMS's ASCII broadcast */
            memmove(p + 7, p, n);
            memcpy(p, "Cell 3:", 7);
            len = n + 7u;
            break;
        }
    }
    u->pending = true;
    u->pending_n = len;
    u->pending_at = s->now + (5u + next_rand(s) % 30u) * US_PER_MS; /* 5..34 ms */
}

/* ------------------------------------------------------------------------
 * One scenario
 * ------------------------------------------------------------------------ */

static void print_uart_stats(const char *label, const tbms_poller_t *poller)
{
    tbms_poller_stats_t ps = tbms_poller_stats(poller);
    printf("%s polls=%" PRIu32 " success=%" PRIu32 " failures=%" PRIu32 " retries=%" PRIu32
           " timeouts=%" PRIu32 " crc=%" PRIu32 " malformed=%" PRIu32 " truncated=%" PRIu32
           " garbage=%" PRIu32 " latency_avg_us=%" PRIu32 " latency_max_us=%" PRIu32 "\n",
           label, ps.polls, ps.success, ps.failures, ps.retries, ps.timeouts, ps.crc_errors,
           ps.malformed, ps.truncated, ps.garbage_bytes, ps.latency_avg_us, ps.latency_max_us);
}

/* With several packs: the bank's counts, bounds and each pack's state. */
static void print_bank_summary(const sim_t *s)
{
    const brg_t *b = &s->brg;
    const bank_out_t *o = &b->bank_out;
    printf("bank valid=%u online=%" PRId32 " blocking_charge=%" PRId32
           " blocking_discharge=%" PRId32 " offline=%" PRId32 " ccl_bound=%s ccl_pack=%u"
           " dcl_bound=%s dcl_pack=%u combined_ccl_ma=%" PRId32 " combined_dcl_ma=%" PRId32
           " warnings=0x%02" PRIX32 "\n",
           (unsigned)o->valid, o->modules.online, o->modules.blocking_charge,
           o->modules.blocking_discharge, o->modules.offline, bank_bound_name(o->ccl_bound),
           (unsigned)o->ccl_pack, bank_bound_name(o->dcl_bound), (unsigned)o->dcl_pack,
           o->combined.ccl_ma, o->combined.dcl_ma, o->warnings);
    printf("bank voltage_mv=%" PRId32 " current_ma=%" PRId32 " soc_cpct=%u capacity_ah=%" PRId32
           " online_capacity_ah=%" PRId32 " cell_min=%u/%s cell_max=%u/%s\n",
           o->voltage_mv, o->current_ma, (unsigned)o->soc_cpct, o->capacity_ah,
           o->online_capacity_ah, (unsigned)o->cell_min_mv, o->cell_min_id,
           (unsigned)o->cell_max_mv, o->cell_max_id);
    for (size_t i = 0; i < s->packs; i++) {
        const bank_pack_out_t *po = &o->pack[i];
        printf("bank pack %u state=%s member=%u blocks_charge=%u blocks_discharge=%u"
               " share_charge_pm=%" PRId32 "%s allow_charge_ma=%" PRId64 " own_ccl_ma=%" PRId32
               " current_ma=%" PRId32 "\n",
               (unsigned)(i + 1u), bank_pack_state_name(po->state), (unsigned)po->member,
               (unsigned)po->blocks_charge, (unsigned)po->blocks_discharge, po->share_charge_pm,
               po->share_charge_measured ? " (measured)" : " (assumed)", po->allow_charge_ma,
               b->bms[i].own_limits.ccl_ma, s->pack_ma[i]);
        char label[8] = "uartN";
        label[4] = (char)('1' + i);
        print_uart_stats(label, &b->bms[i].poller);
    }
}

static void print_summary(sim_t *s, const scenario_t *sc)
{
    const brg_t *b = &s->brg;
    printf("limits cvl_mv=%" PRId32 " ccl_ma=%" PRId32 " dcl_ma=%" PRId32 " dvl_mv=%" PRId32
           " reasons=0x%04" PRIX32 " cvl=%s cvl_changes=%" PRIu32 "\n",
           b->limits.cvl_mv, b->limits.ccl_ma, b->limits.dcl_ma, b->limits.dvl_mv,
           b->limits.reasons, brg_cvl_state_name(b), b->cvl.changes);
    printf("bridge frames=%" PRIu32 " stale_events=%" PRIu32 " decode_errors=%" PRIu32
           " keepalive_rx=%" PRIu32 " handshake_rx=%" PRIu32 " charged_mwh=%" PRIu64
           " discharged_mwh=%" PRIu64 "\n",
           b->counters.frames, b->counters.stale_events, b->counters.decode_errors,
           b->counters.keepalive_rx, b->counters.handshake_rx, b->counters.charged_mwh,
           b->counters.discharged_mwh);
    if (s->packs > 1u) {
        print_bank_summary(s);
    } else {
        print_uart_stats("uart", &b->bms[0].poller);
    }
    printf("pack soc_cpct=%" PRIu32 " current_ma=%" PRId32 " cell_max_mv=%u\n", soc_cpct(s),
           s->current_ma, (unsigned)s->regs[0][41]);
    digest_print_total(sc->name, s->frames, s->fnv);
}

static bool run_scenario(const scenario_t *sc)
{
    sim_t *s = &sim;
    memset(s, 0, sizeof *s);
    s->rng = 0x2545F491u;
    s->fnv = DIGEST_FNV_BASIS;
    s->packs = sc->packs;
    s->gx_alive = true;
    s->charger_on = true;
    s->capacity_mas = CAPACITY_MAS * s->packs;
    s->charge_mas = s->capacity_mas * sc->soc_start_cpct / 10000u;
    s->ccl_all_ma = -1;
    for (size_t p = 0; p < s->packs; p++) {
        s->uart[p].alive = true;
        fake_bms_pack(s->regs[p], CELLS);
        fake_bms_u32(s->regs[p], 32, LIFETIME_S0);
    }

    brg_config_t cfg;
    brg_default_config(&cfg);
    cfg.packs = (uint8_t)s->packs;
    digest_print_scenario(sc->name, sc->seconds);
    if (s->packs > 1u) {
        printf("packs %u share_pm=%u/%u\n", (unsigned)s->packs, (unsigned)PACK1_SHARE_PM,
               (unsigned)(1000u - PACK1_SHARE_PM));
    }
    if (brg_init(&s->brg, &cfg, 0) != TBMS_OK) {
        printf("brg_init failed\n");
        return false;
    }

    const uint64_t end = (uint64_t)sc->seconds * US_PER_S;
    uint64_t next_sec = 0;
    uint32_t sec = 0;
    while (s->now <= end) {
        if (s->now >= next_sec) {
            sc->script(s, sec);
            for (size_t p = 0; p < s->packs; p++) {
                fake_bms_u32(s->regs[p], 32, LIFETIME_S0 + sec);
            }
            model_step(s);
            if (s->gx_alive) {
                vcan_frame_t ka = {.id = 0x305u, .dlc = 8u, .data = {0}};
                brg_can_rx(&s->brg, &ka, s->now);
            }
            if (sec == 1u) {
                vcan_frame_t hs = {
                    .id = 0x307u, .dlc = 8u, .data = {0x12, 0x34, 0x56, 0x78, 'V', 'I', 'C', 0}};
                brg_can_rx(&s->brg, &hs, s->now);
            }
            sec++;
            next_sec += US_PER_S;
        }
        for (size_t p = 0; p < s->packs; p++) {
            uart_sim_t *u = &s->uart[p];
            if (u->pending && s->now >= u->pending_at) {
                u->pending = false;
                brg_uart_rx(&s->brg, p, u->pending_bytes, u->pending_n, s->now);
            }
            tbms_poll_tx_t tx;
            if (brg_uart_step(&s->brg, p, s->now, &tx)) {
                bms_request(s, p, &tx);
            }
        }
        vcan_frame_t frames[BRG_MAX_FRAMES_PER_TICK];
        size_t n = brg_can_tx(&s->brg, s->now, frames, BRG_MAX_FRAMES_PER_TICK);
        for (size_t i = 0; i < n; i++) {
            print_frame(s, &frames[i]);
        }
        print_changes(s);
        observe(s);

        uint64_t next = digest_min_u64(brg_next_us(&s->brg), next_sec);
        for (size_t p = 0; p < s->packs; p++) {
            if (s->uart[p].pending) {
                next = digest_min_u64(next, s->uart[p].pending_at);
            }
        }
        s->now = next > s->now ? next : s->now + US_PER_MS;
    }

    print_summary(s, sc);
    return digest_print_expects(sc->name, obs_name, OBS_COUNT_, sc->expect, s->observed);
}

int main(void)
{
    bool ok = true;
    /* Nothing platform-dependent (pointer size, struct sizes) is printed:
     * the two builds' outputs must be identical. */
    printf("core digest: %u scenarios\n", (unsigned)(sizeof scenarios / sizeof scenarios[0]));
    for (size_t i = 0; i < sizeof scenarios / sizeof scenarios[0]; i++) {
        ok = run_scenario(&scenarios[i]) && ok;
    }
    return digest_print_end(ok);
}
