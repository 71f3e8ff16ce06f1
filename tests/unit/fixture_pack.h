/*
 * fixture_pack.h - the nominal 16S LFP pack the charge-control tests start
 * from: cells 3.300..3.320 V, 53.0 V, one 25.0 C sensor; BMS cutoffs
 * 3650/2800 mV, 80 A charge and 120 A discharge over-current, 60 C.
 * Each test then changes what it is about.
 */
#ifndef FIXTURE_PACK_H
#define FIXTURE_PACK_H

#include <string.h>

#include "tbms_snapshot.h"

static inline void fixture_live(tbms_live_t *live)
{
    memset(live, 0, sizeof *live);
    live->valid = true;
    live->cell_count = 16;
    live->cell_min_mv = 3300;
    live->cell_max_mv = 3320;
    live->pack_mv = 53000;
    live->ext_temp_present[0] = true;
    live->ext_temp_dc[0] = 250;
}

static inline void fixture_settings(tbms_settings_t *set)
{
    memset(set, 0, sizeof *set);
    set->valid = true;
    set->series_cells = 16;
    set->over_voltage_mv = 3650;
    set->under_voltage_mv = 2800;
    set->charge_oc_a = 80;
    set->discharge_oc_a = 120;
    set->over_heat_c = 60;
}

#endif /* FIXTURE_PACK_H */
