/*
 * Loop side of the server's documents besides the status: the register
 * view (every 2 s) and the chart history (a sample every 10 s while the
 * data is valid, a gap marker when it stops being), published into the
 * hub. Called from the bridge loop only.
 */
#include <stdlib.h>
#include <time.h>

#include "history.h"
#include "http_server.h"
#include "registers_json.h"

#define REGISTERS_PERIOD_US 2000000u

static history_t history; /* 24 h of samples: in BSS, not on the stack */
static uint64_t next_registers_us;

static uint64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void sample(const brg_t *b, history_sample_t *s)
{
    const tbms_live_t *l = &b->live;
    s->t_ms = wall_ms();
    s->pack_mv = l->pack_mv;
    s->current_ma = l->pack_ma;
    s->soc_cpct = l->soc_cpct;
    s->cell_min_mv = l->cell_min_mv;
    s->cell_max_mv = l->cell_max_mv;
    /* The pack temperature as everything else judges it (pack_temp.h). */
    s->temp_dc = b->pack.temp.usable ? b->pack.temp.avg_dc : HISTORY_NONE;
    s->cvl_mv = b->limits_ok ? b->limits.cvl_mv : HISTORY_NONE;
    s->ccl_ma = b->limits_ok ? b->limits.ccl_ma : HISTORY_NONE;
    s->dcl_ma = b->limits_ok ? b->limits.dcl_ma : HISTORY_NONE;
}

void http_publish_step(hub_t *hub, const brg_t *brg, uint64_t now_us)
{
    if (now_us >= next_registers_us) {
        next_registers_us = now_us + REGISTERS_PERIOD_US;
        char *json = registers_json(&brg->poller, now_us, wall_ms());
        if (json != NULL) {
            hub_publish(hub, HUB_DOC_REGISTERS, json);
        }
    }
    /* Only fresh data is charted: while it is stale the live values are
     * the last ones read, and a gap marker breaks the chart's lines. */
    bool valid = brg->state == BRG_DATA_VALID && brg->live.valid;
    history_action_t act = history_next(&history, valid, now_us / 1000u);
    if (act == HISTORY_SAMPLE) {
        history_sample_t s;
        sample(brg, &s);
        history_add(&history, &s, now_us / 1000u);
    } else if (act == HISTORY_GAP) {
        history_add_gap(&history, wall_ms());
    }
    if (act != HISTORY_IDLE) {
        char *json = history_json(&history);
        if (json != NULL) {
            hub_publish(hub, HUB_DOC_HISTORY, json);
        }
    }
}
