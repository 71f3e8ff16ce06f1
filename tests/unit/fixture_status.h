/*
 * fixture_status.h - the simulator's status as the bridge publishes it (a
 * typed status_t, app/status.h), for the renderer tests (metrics, MQTT):
 * 16S-looking pack values, a few cells, one warning, a GX that answers.
 * fixture_status() fills the part every renderer test shares; each test
 * then sets what it is about (cells, alarms, counters).
 */
#ifndef FIXTURE_STATUS_H
#define FIXTURE_STATUS_H

#include <stdio.h>
#include <string.h>

#include "status.h"

static inline status_num_t known(double v)
{
    return (status_num_t){.known = true, .v = v};
}

/* cells[0..n) from {index, mV, balancing, needs_balancing} rows. */
static inline void fixture_status(status_t *st, const status_cell_t *cells, size_t n)
{
    memset(st, 0, sizeof *st);
    st->seq = 1;
    st->voltage = known(53.176);
    st->current = known(-12.5);
    st->power_w = known(-664.7);
    st->soc_percent = known(55.01);
    st->soh_percent = known(99);
    st->temperature = known(21.9);
    st->max_cell_mv = known(3326);
    st->online_status = known(147);
    st->online_status_name = "discharging";
    st->uptime_ms = 2038;
    st->data_valid = true;
    st->data_state = "valid";
    st->data_age_ms = known(93);
    st->cell_count = known((double)n);
    st->cells_n = (uint8_t)n;
    memcpy(st->cells, cells, n * sizeof cells[0]);
    st->temps.external_1_c = known(22);
    st->temps.internal_c = known(26);
    st->limits.cvl_v = known(55.2);
    st->limits.ccl_a = known(50);
    st->limits.dcl_a = known(100);
    st->limits.dvl_v = known(46.4);
    st->limits.sent = true;
    st->alarms.count = 3;
    st->alarms.cond[0] = (status_cond_t){"general", STATUS_LEVEL_OK};
    st->alarms.cond[1] = (status_cond_t){"high_voltage", STATUS_LEVEL_WARNING};
    st->alarms.cond[2] = (status_cond_t){"low_voltage", STATUS_LEVEL_OK};
    st->alarms.worst = STATUS_LEVEL_WARNING;
    st->gx.keepalive_ok = true;
    st->gx.keepalive_age_ms = known(120);
    st->gx.victron_handshake = true;
    st->energy.charged_kwh = 1.25;
    st->energy.discharged_kwh = 0.5;
}

/* One pack of a bank as status_build fills it (status_t.packs[]): valid data,
 * 3 cells, its own limits and shares, its UART and TinyBMS. */
static inline void fixture_status_pack(status_pack_t *p, uint8_t index, const char *name,
                                       const char *state, bool valid)
{
    static const status_cell_t cells[] = {
        {1, 3324.1, false, false}, {2, 3330, true, true}, {3, 3321.5, false, false}};
    memset(p, 0, sizeof *p);
    p->index = index;
    snprintf(p->name, sizeof p->name, "%s", name);
    p->state = state;
    p->member = strcmp(state, "online") == 0 || strcmp(state, "silent") == 0;
    p->data_valid = valid;
    p->data_age_ms = known(valid ? 120 : 61000);
    p->voltage = known(index == 1u ? 53.3 : 52.9);
    p->current = known(-6.25);
    p->power_w = known(-332.5);
    p->soc_percent = known(54.5);
    p->soh_percent = known(98);
    p->temperature = known(21.5);
    p->min_cell_mv = known(3321.5);
    p->max_cell_mv = known(3330);
    p->cell_imbalance_mv = known(8.5);
    p->cell_count = known(3);
    p->capacity_ah = known(100);
    p->online_status = known(147);
    p->online_status_name = "discharging";
    p->cells_n = 3;
    memcpy(p->cells, cells, sizeof cells);
    p->limits.cvl_v = known(55.2);
    p->limits.ccl_a = known(40);
    p->limits.dcl_a = known(80);
    p->limits.dvl_v = known(46.4);
    p->limits.share_charge_pct = known(52.5);
    p->limits.share_discharge_pct = known(47.5);
    p->uart.polls = 60u * index;
    p->uart.success = 58u * index;
    p->uart.errors = 2;
    p->uart.timeouts = 1;
    p->uart.latency_avg_ms = 1.5;
    p->uart.open = true;
    snprintf(p->uart.device, sizeof p->uart.device, "/dev/ttyUSB%u", (unsigned)(index - 1u));
    p->bms.have_version = true;
    snprintf(p->bms.hardware, sizeof p->bms.hardware, "2.1");
    snprintf(p->bms.firmware, sizeof p->bms.firmware, "5 (internal 1234)");
}

#endif /* FIXTURE_STATUS_H */
