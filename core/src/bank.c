/*
 * Several packs as one battery: pack states, combined limits, reported
 * values (multi-pack.md; the rules and the reasoning are in bank.h).
 */
#include "bank.h"

#include <string.h>

#define US_PER_MS 1000u

/* The ids carry the pack as one digit ("P2C13"). */
_Static_assert(BANK_MAX_PACKS >= 1u && BANK_MAX_PACKS <= 9u, "pack ids are one digit");

void bank_default_config(bank_config_t *cfg)
{
    if (cfg == NULL) {
        return;
    }
    memset(cfg, 0, sizeof *cfg);
    /* The bridge's own ceilings (brg_default_config), now for the bank. */
    cfg->max_charge_ma = 50000u;
    cfg->max_discharge_ma = 100000u;
    /* As bms_timeout_us: bsc_fw's "online = data < 5 s old" (multi-pack.md). */
    cfg->pack_timeout_us = 5000u * US_PER_MS;
    /* A TinyBMS current reading near 0 A is mostly offset: 2 A in total
     * before shares are believed; below, one pack may take 1.5 x its equal
     * share (multi-pack.md: 10.3 A of 14.4 A, 1.43 x, in a two-pack bank). */
    cfg->share_min_ma = 2000u;
    cfg->small_current_split_pm = 1500u;
    cfg->incremental_guard = true;
    cfg->offline_grace_us = 10000u * US_PER_MS;
    cfg->near_cutoff_mv = 100u;
    /* multi-pack.md "Pack states": rejoin after 10 s fresh. */
    cfg->rejoin_hold_us = 10000u * US_PER_MS;
    cfg->rejoin_window_cell_mv = 50u;
    cfg->min_packs = 1u;
    cfg->series_cells = 0u;
    /* Hold 30 s, then 5 A/s, as the single pack (victron-can-bms.md C.1). */
    cfg->recovery_hold_us = 30000u * US_PER_MS;
    cfg->ramp_ma_per_s = 5000u;
    cvl_default_config(&cfg->cvl);
}

tbms_err_t bank_check_config(const bank_config_t *cfg)
{
    if (cfg == NULL) {
        return TBMS_ERR_ARG;
    }
    if (cfg->pack_timeout_us == 0u || cfg->small_current_split_pm < 1000u || cfg->min_packs == 0u ||
        cfg->min_packs > BANK_MAX_PACKS ||
        (cfg->series_cells != 0u &&
         (cfg->series_cells < 4u || cfg->series_cells > TBMS_MAX_CELLS))) {
        return TBMS_ERR_RANGE;
    }
    return TBMS_OK;
}

const char *bank_pack_state_name(bank_pack_state_t s)
{
    switch (s) {
    case BANK_PACK_OFFLINE:
        return "offline";
    case BANK_PACK_JOINING:
        return "joining";
    case BANK_PACK_ONLINE:
        return "online";
    case BANK_PACK_SILENT:
        return "silent";
    default:
        return "?";
    }
}

const char *bank_bound_name(bank_bound_t b)
{
    switch (b) {
    case BANK_BOUND_NONE:
        return "none";
    case BANK_BOUND_CAP:
        return "cap";
    case BANK_BOUND_SUM:
        return "sum";
    case BANK_BOUND_SHARE:
        return "share";
    case BANK_BOUND_MIN_PACKS:
        return "min_packs";
    case BANK_BOUND_NO_PACK:
        return "no_pack";
    default:
        return "?";
    }
}

static void forget_packs(bank_t *b)
{
    memset(b->pack, 0, sizeof b->pack);
}

void bank_init(bank_t *b)
{
    if (b == NULL) {
        return;
    }
    memset(b, 0, sizeof *b);
    chg_ramp_init(&b->ccl_ramp);
    chg_ramp_init(&b->dcl_ramp);
    cvl_init(&b->cvl);
}

static int64_t min64(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

static int32_t clamp_i32(int64_t v)
{
    return v > INT32_MAX ? INT32_MAX : (v < INT32_MIN ? INT32_MIN : (int32_t)v);
}

static int32_t round_div(int64_t v, int64_t d)
{
    return clamp_i32(v >= 0 ? (v + d / 2) / d : -((-v + d / 2) / d));
}

/* now - since, 0 if the caller's clock went back. */
static uint64_t elapsed(uint64_t now_us, uint64_t since_us)
{
    return now_us > since_us ? now_us - since_us : 0u;
}

static bool pack_fresh(const bank_config_t *cfg, const bank_pack_in_t *p, uint64_t now_us)
{
    const tbms_live_t *l = p->live;
    const tbms_settings_t *s = p->settings;
    if (l == NULL || s == NULL || p->limits == NULL || !l->valid || !s->valid ||
        p->limits->cells == 0u) {
        return false;
    }
    uint32_t timeout = p->timeout_us != 0u ? p->timeout_us : cfg->pack_timeout_us;
    if (now_us > p->last_valid_us && now_us - p->last_valid_us > timeout) {
        return false;
    }
    if (s->series_cells < 4u || s->series_cells > TBMS_MAX_CELLS) {
        return false;
    }
    return cfg->series_cells == 0u || s->series_cells == cfg->series_cells;
}

/* A pack's limit as the bank uses it: at most BANK_OC_HEADROOM_PM below
 * its TinyBMS over-current cutoff (oc_a), never below 0. */
static int32_t headroom(int32_t limit_ma, uint16_t oc_a)
{
    int64_t cap = (int64_t)oc_a * 1000 * (1000 - BANK_OC_HEADROOM_PM) / 1000;
    int64_t v = limit_ma < cap ? limit_ma : cap;
    return v > 0 ? (int32_t)v : 0;
}

/* Keeps what the bank needs of a fresh read, for the steps when it is silent. */
static void remember(bank_pack_mem_t *m, const bank_config_t *cfg, const bank_pack_in_t *p)
{
    const tbms_live_t *l = p->live;
    const tbms_settings_t *s = p->settings;
    const chg_limits_t *lim = p->limits;
    bool cells = l->cell_count > 0u;
    m->have_last = true;
    m->last_ma = l->pack_ma;
    m->last_ccl_ma = headroom(lim->ccl_ma, s->charge_oc_a);
    m->last_dcl_ma = headroom(lim->dcl_ma, s->discharge_oc_a);
    m->last_cvl_mv = lim->cvl_mv;
    m->last_dvl_mv = lim->dvl_mv;
    m->last_ceiling_mv = lim->cvl_ceiling_mv;
    m->last_cell_min_mv = cells ? l->cell_min_mv : 0u;
    m->last_cell_max_mv = cells ? l->cell_max_mv : 0u;
    m->last_ov_mv = s->over_voltage_mv;
    m->last_uv_mv = s->under_voltage_mv;
    m->have_capacity = true;
    m->capacity_10mah = s->capacity_10mah;
    /* What the TinyBMS itself has cut (bank.h "BLOCKS"): there is no switch
     * register (tinybms-uart.md 6), so its status and its own cutoffs. */
    m->blocks_charge =
        l->status == TBMS_STATUS_FAULT || (cells && l->cell_max_mv >= s->over_voltage_mv);
    m->blocks_discharge = (lim->reasons & CHG_REASON_DCL_BMS_FAULT) != 0u ||
                          (cells && l->cell_min_mv <= s->under_voltage_mv);
    m->near_cutoff =
        cells && ((int32_t)l->cell_max_mv + cfg->near_cutoff_mv >= s->over_voltage_mv ||
                  (int32_t)l->cell_min_mv <= (int32_t)s->under_voltage_mv + cfg->near_cutoff_mv);
}

/* Sorts v[0..k) ascending (k <= BANK_MAX_PACKS). */
static void sort_i32(int32_t *v, size_t k)
{
    for (size_t i = 1; i < k; i++) {
        int32_t x = v[i];
        size_t j = i;
        while (j > 0u && v[j - 1u] > x) {
            v[j] = v[j - 1u];
            j--;
        }
        v[j] = x;
    }
}

static bool within_window(const bank_config_t *cfg, const bank_pack_in_t *p, int32_t ref_mv)
{
    int64_t d = (int64_t)p->live->pack_mv - ref_mv;
    d = d < 0 ? -d : d;
    return d <= (int64_t)cfg->rejoin_window_cell_mv * p->settings->series_cells;
}

/* Median voltage of the fresh members, those returning from silence
 * excepted (they are judged against it). */
static bool members_median(const bank_t *b, const bank_pack_in_t packs[], size_t n,
                           const bool *returning, int32_t *median)
{
    int32_t v[BANK_MAX_PACKS];
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (b->pack[i].member && b->pack[i].fresh && !returning[i]) {
            v[k++] = packs[i].live->pack_mv;
        }
    }
    if (k == 0u) {
        return false;
    }
    sort_i32(v, k);
    *median = (k % 2u) != 0u ? v[k / 2u] : (int32_t)(((int64_t)v[k / 2u - 1u] + v[k / 2u]) / 2);
    return true;
}

/* Joins, silences and drops (bank.h "Pack states"). */
static void update_states(bank_t *b, const bank_config_t *cfg, const bank_pack_in_t packs[],
                          size_t n, uint64_t now_us, uint32_t *warnings)
{
    bool returning[BANK_MAX_PACKS] = {false};
    for (size_t i = 0; i < n; i++) {
        bank_pack_mem_t *m = &b->pack[i];
        bool fresh = pack_fresh(cfg, &packs[i], now_us);
        if (fresh) {
            if (!m->fresh) {
                m->fresh_since_us = now_us;
            }
            remember(m, cfg, &packs[i]);
            if (m->silent) {
                returning[i] = true;
                m->silent = false;
            }
        } else if (m->member) {
            if (!m->silent) {
                m->silent = true;
                m->silent_since_us = now_us;
            }
            /* Near a cutoff its own BMS may open a switch any moment: the
             * others must not count on it even for the grace. */
            if (m->near_cutoff || elapsed(now_us, m->silent_since_us) >= cfg->offline_grace_us) {
                m->member = false;
                m->silent = false;
            }
        }
        m->fresh = fresh;
    }

    int32_t ref = 0;
    bool have_ref = members_median(b, packs, n, returning, &ref);
    if (!have_ref) {
        /* No bank to join: the middle one of the fresh packs is the
         * reference, and they join at once (start-up, total loss). */
        int32_t v[BANK_MAX_PACKS];
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
            if (b->pack[i].fresh) {
                v[k++] = packs[i].live->pack_mv;
            }
        }
        if (k > 0u) {
            sort_i32(v, k);
            ref = v[(k - 1u) / 2u];
        }
    }
    for (size_t i = 0; i < n; i++) {
        bank_pack_mem_t *m = &b->pack[i];
        if (!m->fresh) {
            continue;
        }
        bool inside = within_window(cfg, &packs[i], ref);
        if (!inside) {
            *warnings |= BANK_WARN_VOLTAGE_MISMATCH;
        }
        if (m->member) {
            if (returning[i] && !inside) {
                /* Back from silence with another voltage: rejoin like anyone. */
                m->member = false;
                m->fresh_since_us = now_us;
            }
        } else if (inside &&
                   (!have_ref || elapsed(now_us, m->fresh_since_us) >= cfg->rejoin_hold_us)) {
            m->member = true;
        }
    }
}

typedef struct {
    int64_t target;
    bank_bound_t bound;
    uint8_t pack; /* 1-based */
} dir_result_t;

/* CCL (charge) or DCL: bank.h "Limits". */
static void combine(const bank_t *b, const bank_config_t *cfg, size_t n, bool charge,
                    bank_out_t *out, dir_result_t *r)
{
    unsigned members = 0, contributing = 0, parts = 0;
    int64_t sum = 0, total = 0;
    bool part[BANK_MAX_PACKS] = {false};
    for (size_t i = 0; i < n; i++) {
        const bank_pack_mem_t *m = &b->pack[i];
        members += m->member ? 1u : 0u;
        bool blocks = charge ? m->blocks_charge : m->blocks_discharge;
        /* Fresh packs (members or joining) and silent members within the
         * grace, with their last values: the current can flow through them. */
        if (!m->have_last || !(m->fresh || m->member) || blocks) {
            continue;
        }
        part[i] = true;
        parts++;
        total += charge ? (int64_t)m->last_ma : -(int64_t)m->last_ma;
        if (m->member) {
            contributing++;
            sum += charge ? m->last_ccl_ma : m->last_dcl_ma;
        }
    }
    r->pack = 0u;
    if (members < cfg->min_packs) {
        r->target = 0;
        r->bound = BANK_BOUND_MIN_PACKS;
        return;
    }
    if (contributing == 0u) {
        r->target = 0;
        r->bound = BANK_BOUND_NO_PACK;
        return;
    }
    r->target = charge ? cfg->max_charge_ma : cfg->max_discharge_ma;
    r->bound = BANK_BOUND_CAP;
    if (sum < r->target) {
        r->target = sum;
        r->bound = BANK_BOUND_SUM;
    }
    bool measurable = total >= (int64_t)cfg->share_min_ma;
    int64_t assumed_pm = min64(1000, (int64_t)cfg->small_current_split_pm / parts);
    for (size_t i = 0; i < n; i++) {
        if (!part[i]) {
            continue;
        }
        const bank_pack_mem_t *m = &b->pack[i];
        int64_t lim = charge ? m->last_ccl_ma : m->last_dcl_ma;
        int64_t cur = charge ? (int64_t)m->last_ma : -(int64_t)m->last_ma;
        bool measured = measurable && cur > 0;
        int64_t share_pm, allow;
        if (measured) {
            share_pm = cur * 1000 / total;
            allow = lim * total / cur; /* exact L / share */
            if (cfg->incremental_guard && cur < lim) {
                /* Currents do not split in fixed proportions: packs at
                 * different open-circuit voltages split as I_i = g_i I + c_i,
                 * and a pack the others discharge into (c_i < 0, often the
                 * fullest, most derated one) takes more than its present
                 * share of every added ampere. Assume it takes at most the
                 * larger of its share and the assumed split. */
                int64_t g_pm = share_pm > assumed_pm ? share_pm : assumed_pm;
                allow = min64(allow, total + (lim - cur) * 1000 / g_pm);
            }
        } else {
            /* The assumed share applies to the current still to come: from
             * the present total, this pack takes at most assumed_pm of each
             * added ampere. With nothing flowing that is L / share; a pack
             * already charged by its neighbours (different open-circuit
             * voltages) has that much less room. */
            share_pm = assumed_pm;
            allow = total + (lim - cur) * 1000 / assumed_pm;
            allow = allow > 0 ? allow : 0;
        }
        bank_pack_out_t *po = &out->pack[i];
        if (charge) {
            po->share_charge_pm = (int32_t)share_pm;
            po->share_charge_measured = measured;
            po->allow_charge_ma = allow;
        } else {
            po->share_discharge_pm = (int32_t)share_pm;
            po->share_discharge_measured = measured;
            po->allow_discharge_ma = allow;
        }
        if (allow < r->target) {
            r->target = allow;
            r->bound = BANK_BOUND_SHARE;
            r->pack = (uint8_t)(i + 1u);
        }
    }
}

static void id_text(char *buf, size_t pack1, const char *kind, unsigned index1)
{
    /* "P" pack kind [index]: "P2C13", "P1T1", "P1INT"; no stdio in the core. */
    size_t k = 0;
    buf[k++] = 'P';
    buf[k++] = (char)('0' + pack1 % 10u);
    for (const char *c = kind; *c != '\0' && k < BANK_ID_TEXT_MAX; c++) {
        buf[k++] = *c;
    }
    if (index1 >= 10u && k + 2u <= BANK_ID_TEXT_MAX) {
        buf[k++] = (char)('0' + index1 / 10u % 10u);
        buf[k++] = (char)('0' + index1 % 10u);
    } else if (index1 > 0u && k < BANK_ID_TEXT_MAX) {
        buf[k++] = (char)('0' + index1);
    }
    buf[k] = '\0';
}

/* Cell and temperature extremes of the fresh packs, with their ids. */
static void extremes(const bank_t *b, const bank_pack_in_t packs[], size_t n, bank_out_t *out)
{
    for (size_t i = 0; i < n; i++) {
        if (!b->pack[i].fresh) {
            continue;
        }
        const tbms_live_t *l = packs[i].live;
        if (l->cell_count > 0u) {
            unsigned cmin = 0, cmax = 0;
            for (unsigned c = 1; c < l->cell_count && c < TBMS_MAX_CELLS; c++) {
                cmin = l->cell_100uv[c] < l->cell_100uv[cmin] ? c : cmin;
                cmax = l->cell_100uv[c] > l->cell_100uv[cmax] ? c : cmax;
            }
            if (!out->cells_known || l->cell_min_mv < out->cell_min_mv) {
                out->cell_min_mv = l->cell_min_mv;
                id_text(out->cell_min_id, i + 1u, "C", cmin + 1u);
            }
            if (!out->cells_known || l->cell_max_mv > out->cell_max_mv) {
                out->cell_max_mv = l->cell_max_mv;
                id_text(out->cell_max_id, i + 1u, "C", cmax + 1u);
            }
            out->cells_known = true;
        }
        ptemp_t t;
        if (packs[i].temp != NULL) {
            t = *packs[i].temp;
        } else {
            ptemp_eval(0u, l, &t);
        }
        if (t.usable) {
            if (!out->temp_usable || t.min_dc < out->temp_min_dc) {
                out->temp_min_dc = t.min_dc;
                id_text(out->temp_min_id, i + 1u, ptemp_sensor_short(t.min_sensor), 0u);
            }
            if (!out->temp_usable || t.max_dc > out->temp_max_dc) {
                out->temp_max_dc = t.max_dc;
                id_text(out->temp_max_id, i + 1u, ptemp_sensor_short(t.max_sensor), 0u);
            }
            out->temp_usable = true;
        }
    }
    out->temp_dc = out->temp_usable ? out->temp_max_dc : 0;
}

/* Voltage, current, SOC, SOH, capacities, energy, module counts. */
static void values(const bank_t *b, const bank_pack_in_t packs[], size_t n, bank_out_t *out)
{
    int32_t v[BANK_MAX_PACKS];
    size_t k = 0;
    int64_t cur = 0, w_sum = 0, soc_w = 0, soh_w = 0, soh_wsum = 0, installed = 0, online = 0;
    unsigned soh_n = 0, soc_n = 0;
    int64_t soc_plain = 0, soh_plain = 0;
    for (size_t i = 0; i < n; i++) {
        const bank_pack_mem_t *m = &b->pack[i];
        out->charged_mwh += packs[i].charged_mwh;
        out->discharged_mwh += packs[i].discharged_mwh;
        if (m->have_capacity) {
            installed += m->capacity_10mah;
        }
        if (!m->fresh) {
            continue;
        }
        const tbms_live_t *l = packs[i].live;
        cur += l->pack_ma;
        if (!m->member) {
            continue;
        }
        int64_t w = packs[i].settings->capacity_10mah;
        v[k++] = l->pack_mv;
        online += w;
        w_sum += w;
        soc_w += w * l->soc_cpct;
        soc_plain += l->soc_cpct;
        soc_n++;
        if (l->soh_valid) {
            soh_wsum += w;
            soh_w += w * l->soh_cpct;
            soh_plain += l->soh_cpct;
            soh_n++;
        }
        out->modules.online++;
        out->modules.blocking_charge += m->blocks_charge ? 1 : 0;
        out->modules.blocking_discharge += m->blocks_discharge ? 1 : 0;
    }
    out->modules.offline = (int32_t)n - out->modules.online;
    out->current_ma = clamp_i32(cur);
    if (k > 0u) {
        sort_i32(v, k);
        out->voltage_mv =
            (k % 2u) != 0u ? v[k / 2u] : (int32_t)(((int64_t)v[k / 2u - 1u] + v[k / 2u]) / 2);
    }
    if (soc_n > 0u) {
        /* Capacity weighted; a plain mean when no pack has a capacity set. */
        out->soc_cpct =
            (uint16_t)(w_sum > 0 ? round_div(soc_w, w_sum) : round_div(soc_plain, (int64_t)soc_n));
    }
    if (soh_n > 0u) {
        out->soh_valid = true;
        out->soh_cpct = (uint16_t)(soh_wsum > 0 ? round_div(soh_w, soh_wsum)
                                                : round_div(soh_plain, (int64_t)soh_n));
    }
    out->capacity_ah = round_div(installed, 100);
    out->online_capacity_ah = round_div(online, 100);
}

/* The bank as one pack (bank.h "view"). Needs values() and extremes(). */
static void build_view(const bank_t *b, const bank_pack_in_t packs[], size_t n, uint8_t cells,
                       bank_out_t *out)
{
    tbms_live_t *l = &out->view;
    tbms_settings_t *s = &out->view_settings;
    bool fault = false, first_set = true;
    l->valid = out->valid;
    l->cell_count = cells;
    l->pack_mv = out->voltage_mv;
    l->pack_ma = out->current_ma;
    l->soc_cpct = out->soc_cpct;
    l->soc_raw = (uint32_t)out->soc_cpct * (TBMS_SOC_RAW_FULL / 10000u);
    l->soh_valid = out->soh_valid;
    l->soh_cpct = out->soh_cpct;
    l->soh_raw = (uint16_t)((uint32_t)out->soh_cpct * TBMS_SOH_RAW_FULL / 10000u);
    if (out->temp_usable) {
        l->ext_temp_present[0] = true;
        l->ext_temp_dc[0] = out->temp_min_dc;
        l->ext_temp_present[1] = true;
        l->ext_temp_dc[1] = out->temp_max_dc;
    }
    bool have_cells = false;
    s->valid = out->valid;
    s->series_cells = cells;
    for (size_t i = 0; i < n; i++) {
        const bank_pack_mem_t *m = &b->pack[i];
        /* Every pack read at least once is assumed connected: its last
         * cells still bound the bank's (bank.h). */
        if (m->have_last && m->last_cell_max_mv != 0u) {
            if (!have_cells || m->last_cell_max_mv > l->cell_max_mv) {
                l->cell_max_mv = m->last_cell_max_mv;
            }
            if (!have_cells || m->last_cell_min_mv < l->cell_min_mv) {
                l->cell_min_mv = m->last_cell_min_mv;
            }
            have_cells = true;
        }
        if (m->have_last) {
            if (s->over_voltage_mv == 0u || m->last_ov_mv < s->over_voltage_mv) {
                s->over_voltage_mv = m->last_ov_mv;
            }
            if (m->last_uv_mv > s->under_voltage_mv) {
                s->under_voltage_mv = m->last_uv_mv;
            }
        }
        if (!m->fresh) {
            continue;
        }
        const tbms_settings_t *ps = packs[i].settings;
        fault = fault || (m->member && packs[i].live->status == TBMS_STATUS_FAULT);
        if (first_set) {
            s->charge_oc_a = ps->charge_oc_a;
            s->discharge_oc_a = ps->discharge_oc_a;
            s->over_heat_c = ps->over_heat_c;
            s->low_temp_charge_c = ps->low_temp_charge_c;
            s->fully_charged_mv = ps->fully_charged_mv;
            s->fully_discharged_mv = ps->fully_discharged_mv;
            first_set = false;
        } else {
            s->charge_oc_a = ps->charge_oc_a < s->charge_oc_a ? ps->charge_oc_a : s->charge_oc_a;
            s->discharge_oc_a =
                ps->discharge_oc_a < s->discharge_oc_a ? ps->discharge_oc_a : s->discharge_oc_a;
            s->over_heat_c = ps->over_heat_c < s->over_heat_c ? ps->over_heat_c : s->over_heat_c;
            s->low_temp_charge_c = ps->low_temp_charge_c > s->low_temp_charge_c
                                       ? ps->low_temp_charge_c
                                       : s->low_temp_charge_c;
            s->fully_charged_mv = ps->fully_charged_mv < s->fully_charged_mv ? ps->fully_charged_mv
                                                                             : s->fully_charged_mv;
            s->fully_discharged_mv = ps->fully_discharged_mv > s->fully_discharged_mv
                                         ? ps->fully_discharged_mv
                                         : s->fully_discharged_mv;
        }
    }
    s->capacity_10mah =
        (uint16_t)(out->capacity_ah * 100 > 0xFFFF ? 0xFFFF : out->capacity_ah * 100);
    if (fault) {
        l->status = TBMS_STATUS_FAULT;
    } else if (out->current_ma > 0) {
        l->status = TBMS_STATUS_CHARGING;
    } else if (out->current_ma < 0) {
        l->status = TBMS_STATUS_DISCHARGING;
    } else {
        l->status = TBMS_STATUS_IDLE;
    }
    l->status_raw = (uint16_t)l->status;
}

tbms_err_t bank_step(bank_t *b, const bank_config_t *cfg, const bank_pack_in_t packs[], size_t n,
                     uint64_t now_us, bank_out_t *out)
{
    if (out != NULL) {
        memset(out, 0, sizeof *out);
    }
    if (b == NULL || cfg == NULL || out == NULL || (packs == NULL && n > 0u) || n == 0u) {
        return TBMS_ERR_ARG;
    }
    if (n > BANK_MAX_PACKS) {
        return TBMS_ERR_RANGE;
    }
    tbms_err_t e = bank_check_config(cfg);
    if (e != TBMS_OK) {
        return e;
    }
    if (n != b->n) {
        forget_packs(b); /* packs renumbered: nothing of the old ones applies */
        b->n = n;
    }
    out->n = n;
    update_states(b, cfg, packs, n, now_us, &out->warnings);

    uint8_t cells = 0u, first_cells = 0u;
    bool cells_from_member = false;
    bool any_member_fresh = false;
    for (size_t i = 0; i < n; i++) {
        const bank_pack_mem_t *m = &b->pack[i];
        bank_pack_out_t *po = &out->pack[i];
        po->member = m->member;
        po->state = m->fresh ? (m->member ? BANK_PACK_ONLINE : BANK_PACK_JOINING)
                             : (m->member ? BANK_PACK_SILENT : BANK_PACK_OFFLINE);
        po->blocks_charge = m->have_last && m->blocks_charge;
        po->blocks_discharge = m->have_last && m->blocks_discharge;
        po->near_cutoff = m->have_last && m->near_cutoff;
        po->counted_ccl_ma = m->have_last ? m->last_ccl_ma : 0;
        po->counted_dcl_ma = m->have_last ? m->last_dcl_ma : 0;
        po->allow_charge_ma = -1;
        po->allow_discharge_ma = -1;
        if (po->state != BANK_PACK_ONLINE) {
            out->warnings |= BANK_WARN_PACK_OFFLINE;
        }
        if (po->state == BANK_PACK_SILENT) {
            out->warnings |= BANK_WARN_PACK_SILENT;
        }
        if (m->member && m->fresh) {
            any_member_fresh = true;
            if (m->blocks_charge || m->blocks_discharge) {
                out->warnings |= BANK_WARN_PACK_BLOCKING;
            }
        }
        if (m->fresh) {
            uint8_t c = (uint8_t)packs[i].settings->series_cells;
            if (first_cells != 0u && c != first_cells) {
                out->warnings |= BANK_WARN_CELLS_MISMATCH;
            }
            first_cells = first_cells != 0u ? first_cells : c;
            /* The bank's count: the first member's, else the first fresh pack's. */
            if (m->member && !cells_from_member) {
                cells = c;
                cells_from_member = true;
            } else if (cells == 0u) {
                cells = c;
            }
        }
    }
    out->valid = any_member_fresh;

    values(b, packs, n, out);
    extremes(b, packs, n, out);
    build_view(b, packs, n, cells, out);
    if (!out->valid) {
        return TBMS_OK; /* no pack online: no battery frames, limits zero */
    }

    dir_result_t rc, rd;
    combine(b, cfg, n, true, out, &rc);
    combine(b, cfg, n, false, out, &rd);
    chg_limits_t base;
    memset(&base, 0, sizeof base);
    base.cells = cells;
    bool first = true;
    for (size_t i = 0; i < n; i++) {
        const bank_pack_mem_t *m = &b->pack[i];
        if (!m->have_last) {
            continue;
        }
        /* Connected, silent or not: the bus voltage reaches its cells. */
        if (first || m->last_cvl_mv < base.cvl_mv) {
            base.cvl_mv = m->last_cvl_mv;
        }
        if (first || m->last_ceiling_mv < base.cvl_ceiling_mv) {
            base.cvl_ceiling_mv = m->last_ceiling_mv;
        }
        if (first || m->last_dvl_mv > base.dvl_mv) {
            base.dvl_mv = m->last_dvl_mv;
        }
        first = false;
    }
    base.ccl_ma = clamp_i32(rc.target);
    base.dcl_ma = clamp_i32(rd.target);
    out->combined = base;
    out->ccl_bound = rc.bound;
    out->dcl_bound = rd.bound;
    out->ccl_pack = rc.pack;
    out->dcl_pack = rd.pack;

    /* The CVL machine sees the highest cell of any pack, and as imbalance
     * the worst inside one pack: cells of different packs are not in
     * series, so their difference is nothing balancing could fix. */
    tbms_live_t cvl_view = out->view;
    uint16_t imbalance_mv = 0u;
    for (size_t i = 0; i < n; i++) {
        const bank_pack_mem_t *m = &b->pack[i];
        if (m->have_last && m->last_cell_max_mv > m->last_cell_min_mv &&
            m->last_cell_max_mv - m->last_cell_min_mv > imbalance_mv) {
            imbalance_mv = (uint16_t)(m->last_cell_max_mv - m->last_cell_min_mv);
        }
    }
    cvl_view.cell_min_mv = (uint16_t)(cvl_view.cell_max_mv - imbalance_mv);
    chg_limits_t lim;
    if (!cvl_step(&b->cvl, &cfg->cvl, &cvl_view, &out->view_settings, &base, now_us, &lim)) {
        lim = base;
    }
    lim.ccl_ma =
        chg_ramp_step(&b->ccl_ramp, lim.ccl_ma, now_us, cfg->recovery_hold_us, cfg->ramp_ma_per_s);
    lim.dcl_ma =
        chg_ramp_step(&b->dcl_ramp, lim.dcl_ma, now_us, cfg->recovery_hold_us, cfg->ramp_ma_per_s);
    out->limits = lim;
    return TBMS_OK;
}
