/*
 * fixture_status.h - the simulator's status as the bridge publishes it (a
 * typed status_t, app/status.h), for the renderer tests (metrics, MQTT):
 * 16S-looking pack values, a few cells, one warning, a GX that answers.
 * fixture_status() fills the part every renderer test shares; each test
 * then sets what it is about (cells, alarms, counters).
 */
#ifndef FIXTURE_STATUS_H
#define FIXTURE_STATUS_H

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

#endif /* FIXTURE_STATUS_H */
