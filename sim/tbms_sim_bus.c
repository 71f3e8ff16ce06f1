/*
 * tbms_sim_bus.c - packs in parallel on one DC bus: the Kirchhoff split of
 * the external current (rules in tbms_sim_bus.h), the demo day of a whole
 * bank, and one time base for all packs.
 */
#include <math.h> /* INFINITY */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "tbms_sim_bus.h"

/* The demo charger regulates the highest cell this far above "fully
 * charged" (reg 300), as tbms_sim.c's DEMO_CV_ABOVE_FULL_MV. */
#define DEMO_CV_ABOVE_FULL_MV 10u
/* Cell limit handed to tbms_sim_model_demo_current_a() so that its own
 * one-pack CV cut never binds; the bank's cut is applied afterwards. */
#define DEMO_UNLIMITED_CELL_V 1000.0f
/* Register of the "fully charged" setting (tinybms-uart.md 5.4). */
#define REG_FULLY_CHARGED_MV 300u
/* Rounds of split-apply-check when shares make protections trip. */
#define SPLIT_ROUNDS (TBMS_SIM_BUS_MAX_PACKS + 1u)

/* The packs as the split sees them. */
typedef struct {
    unsigned n;
    uint8_t path[TBMS_SIM_BUS_MAX_PACKS];
    double g[TBMS_SIM_BUS_MAX_PACKS]; /* 1 / R, siemens */
    double e[TBMS_SIM_BUS_MAX_PACKS]; /* OCV, V */
} net_t;

/* Local floor and abs so that the simulator needs no libm at link time
 * (as tbms_sim.c). |v| stays far below 2^63 here (mA of a pack). */
static double floor_d(double v)
{
    double f = (double)(long long)v;
    return f > v ? f - 1.0 : f;
}

static double abs_d(double v)
{
    return v < 0.0 ? -v : v;
}

static long long round_ll(double v)
{
    return (long long)(v < 0.0 ? v - 0.5 : v + 0.5);
}

static int32_t clamp_i32(double v)
{
    if (!(v > -2147483647.0)) {
        return v > 0.0 ? INT32_MAX : -INT32_MAX; /* NaN lands on the positive side */
    }
    if (v > 2147483647.0) {
        return INT32_MAX;
    }
    return (int32_t)round_ll(v);
}

static bool conducts(uint8_t path)
{
    return path == TBMS_SIM_BUS_CLOSED || path == TBMS_SIM_BUS_CHARGE_ONLY ||
           path == TBMS_SIM_BUS_DISCHARGE_ONLY;
}

static bool can_charge(uint8_t path)
{
    return path == TBMS_SIM_BUS_CLOSED || path == TBMS_SIM_BUS_CHARGE_ONLY;
}

static bool can_discharge(uint8_t path)
{
    return path == TBMS_SIM_BUS_CLOSED || path == TBMS_SIM_BUS_DISCHARGE_ONLY;
}

static uint8_t path_of(const tbms_sim_bus_t *bus, unsigned i)
{
    if (bus->forced_open[i]) {
        return TBMS_SIM_BUS_OPEN_FORCED;
    }
    bool no_charge = tbms_sim_charge_blocked(bus->pack[i]);
    bool no_discharge = tbms_sim_discharge_blocked(bus->pack[i]);
    if (no_charge && no_discharge) {
        return TBMS_SIM_BUS_OPEN_BMS;
    }
    if (no_charge) {
        return TBMS_SIM_BUS_DISCHARGE_ONLY;
    }
    if (no_discharge) {
        return TBMS_SIM_BUS_CHARGE_ONLY;
    }
    return TBMS_SIM_BUS_CLOSED;
}

static void build_net(const tbms_sim_bus_t *bus, net_t *k)
{
    memset(k, 0, sizeof *k);
    k->n = bus->count;
    for (unsigned i = 0; i < bus->count; i++) {
        const tbms_sim_model_t *m = tbms_sim_model(bus->pack[i]);
        k->path[i] = path_of(bus, i);
        k->e[i] = (double)tbms_sim_model_pack_ocv_v(m);
        k->g[i] = 1.0 / (double)tbms_sim_model_pack_resistance_ohm(m);
    }
}

/* Current of pack i at bus voltage v, A, its path's clipping applied. */
static double pack_a(const net_t *k, unsigned i, double v)
{
    if (!conducts(k->path[i])) {
        return 0.0;
    }
    double a = k->g[i] * (v - k->e[i]);
    if (k->path[i] == TBMS_SIM_BUS_CHARGE_ONLY && a < 0.0) {
        return 0.0;
    }
    if (k->path[i] == TBMS_SIM_BUS_DISCHARGE_ONLY && a > 0.0) {
        return 0.0;
    }
    return a;
}

static double total_a(const net_t *k, double v)
{
    double s = 0.0;
    for (unsigned i = 0; i < k->n; i++) {
        s += pack_a(k, i, v);
    }
    return s;
}

/* D: the requested current, or 0 when no pack can take its direction. */
static double target_a(const net_t *k, double req_a)
{
    bool up = false;
    bool down = false;
    for (unsigned i = 0; i < k->n; i++) {
        up = up || can_charge(k->path[i]);
        down = down || can_discharge(k->path[i]);
    }
    if ((req_a > 0.0 && !up) || (req_a < 0.0 && !down)) {
        return 0.0;
    }
    return req_a;
}

/*
 * Solves total_a(V) = d. total_a is continuous, non-decreasing and linear
 * between the OCVs of the one-way packs (where a diode starts or stops
 * conducting), so each interval between those breakpoints is solved as a
 * line and the best candidate kept. Returns false (V = 0) when no pack
 * conducts at all.
 */
static bool solve_v(const net_t *k, double d, double *v_out)
{
    double bp[TBMS_SIM_BUS_MAX_PACKS];
    unsigned nb = 0u;
    bool any = false;
    for (unsigned i = 0; i < k->n; i++) {
        any = any || conducts(k->path[i]);
        if (k->path[i] == TBMS_SIM_BUS_CHARGE_ONLY || k->path[i] == TBMS_SIM_BUS_DISCHARGE_ONLY) {
            bp[nb++] = k->e[i];
        }
    }
    *v_out = 0.0;
    if (!any) {
        return false;
    }
    for (unsigned a = 1; a < nb; a++) { /* insertion sort, nb <= 4 */
        double x = bp[a];
        unsigned b = a;
        while (b > 0u && bp[b - 1u] > x) {
            bp[b] = bp[b - 1u];
            b--;
        }
        bp[b] = x;
    }
    double best_v = 0.0;
    double best_err = INFINITY;
    for (unsigned s = 0; s <= nb; s++) {
        bool lo_inf = s == 0u;
        bool hi_inf = s == nb;
        double lo = lo_inf ? 0.0 : bp[s - 1u];
        double hi = hi_inf ? 0.0 : bp[s];
        double probe = lo_inf && hi_inf ? 0.0
                       : lo_inf         ? hi - 1.0
                       : hi_inf         ? lo + 1.0
                                        : 0.5 * (lo + hi);
        /* total_a = slope * V - offset on this interval. */
        double slope = 0.0;
        double offset = 0.0;
        for (unsigned i = 0; i < k->n; i++) {
            uint8_t p = k->path[i];
            bool on = p == TBMS_SIM_BUS_CLOSED ||
                      (p == TBMS_SIM_BUS_CHARGE_ONLY && probe > k->e[i]) ||
                      (p == TBMS_SIM_BUS_DISCHARGE_ONLY && probe < k->e[i]);
            if (on) {
                slope += k->g[i];
                offset += k->g[i] * k->e[i];
            }
        }
        double v;
        if (slope > 0.0) {
            v = (d + offset) / slope;
            if (!lo_inf && v < lo) {
                v = lo;
            }
            if (!hi_inf && v > hi) {
                v = hi;
            }
        } else if (lo_inf && hi_inf) {
            continue; /* cannot happen: some pack conducts */
        } else {
            v = lo_inf ? hi : hi_inf ? lo : 0.5 * (lo + hi);
        }
        double err = abs_d(total_a(k, v) - d);
        if (err < best_err) {
            best_err = err;
            best_v = v;
        }
    }
    *v_out = best_v;
    return true;
}

/*
 * Shares in whole mA summing to d_ma: floors, then one mA more to the
 * packs with the largest remainders (lowest index first on ties). A pack
 * with no remainder gets nothing, so a share of exactly 0 stays 0 and
 * every share keeps its sign.
 */
static void round_shares(const double *ma, unsigned n, int32_t d_ma, int32_t *out)
{
    double rem[TBMS_SIM_BUS_MAX_PACKS];
    long long sum = 0;
    for (unsigned i = 0; i < n; i++) {
        double f = floor_d(ma[i]);
        out[i] = clamp_i32(f);
        rem[i] = ma[i] - f;
        sum += out[i];
    }
    long long left = (long long)d_ma - sum;
    while (left > 0) {
        unsigned pick = n;
        for (unsigned i = 0; i < n; i++) {
            if (rem[i] > 0.0 && (pick == n || rem[i] > rem[pick])) {
                pick = i;
            }
        }
        if (pick == n) {
            break;
        }
        out[pick]++;
        rem[pick] = 0.0;
        left--;
    }
}

/* The split of d_ma over the network: bus voltage and pack shares (mA). */
static void split_net(const net_t *k, double d_ma, double *v, double *share_ma)
{
    double d_a = target_a(k, d_ma / 1000.0);
    (void)solve_v(k, d_a, v);
    for (unsigned i = 0; i < k->n; i++) {
        share_ma[i] = pack_a(k, i, *v) * 1000.0;
    }
}

/* True when, at external current d_ma, no charging pack takes more than
 * the current that keeps its cells at or below limit_ma[i]. */
static bool within_cv(const net_t *k, int32_t d_ma, const double *limit_ma)
{
    double v = 0.0;
    double share[TBMS_SIM_BUS_MAX_PACKS];
    split_net(k, (double)d_ma, &v, share);
    for (unsigned i = 0; i < k->n; i++) {
        if (share[i] > 0.0 && share[i] > limit_ma[i]) {
            return false;
        }
    }
    return true;
}

/* The largest charge current <= cc_ma at which no cell of any pack
 * exceeds its fully-charged setting + 10 mV (bisection in whole mA; the
 * split is monotone in the external current). */
static int32_t bank_cv_ma(const tbms_sim_bus_t *bus, const net_t *k, int32_t cc_ma)
{
    double limit_ma[TBMS_SIM_BUS_MAX_PACKS];
    for (unsigned i = 0; i < bus->count; i++) {
        uint16_t full_mv = tbms_sim_register(bus->pack[i], REG_FULLY_CHARGED_MV);
        float cell_v = (float)(full_mv + DEMO_CV_ABOVE_FULL_MV) / 1000.0f;
        limit_ma[i] =
            (double)tbms_sim_model_cv_limit_a(tbms_sim_model(bus->pack[i]), cell_v) * 1000.0;
    }
    if (within_cv(k, cc_ma, limit_ma)) {
        return cc_ma;
    }
    if (!within_cv(k, 0, limit_ma)) {
        return 0;
    }
    int32_t lo = 0;
    int32_t hi = cc_ma;
    while (hi - lo > 1) {
        int32_t mid = lo + (hi - lo) / 2;
        if (within_cv(k, mid, limit_ma)) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    return lo;
}

/* The bank's demo current ma as a charger and inverter obeying the DVCC
 * limits would let it flow (rules in tbms_sim_bus.h). total_a(V) is the
 * external current at which the bus sits at V (non-decreasing in V), so
 * the largest charge that keeps the bus at or below CVL is total_a(CVL)
 * and the largest discharge that keeps it at or above DVL -total_a(DVL). */
static int32_t dvcc_ma(const tbms_sim_bus_t *bus, const net_t *k, int32_t ma)
{
    const tbms_sim_dvcc_t *l = &bus->dvcc;
    if (!l->set) {
        return ma;
    }
    uint64_t age = bus->last_ms > l->at_ms ? bus->last_ms - l->at_ms : 0u;
    if (age > TBMS_SIM_DVCC_TIMEOUT_MS) {
        return 0; /* victron-can-bms.md A.7: no 0x351, no charge, no discharge */
    }
    if (ma > 0) {
        int32_t cv = clamp_i32(floor_d(total_a(k, (double)l->cvl_mv / 1000.0) * 1000.0));
        ma = ma < l->ccl_ma ? ma : l->ccl_ma;
        ma = ma < cv ? ma : cv;
        return ma > 0 ? ma : 0;
    }
    if (ma < 0) {
        int32_t dv = clamp_i32(floor_d(-total_a(k, (double)l->dvl_mv / 1000.0) * 1000.0));
        int32_t d = -ma;
        d = d < l->dcl_ma ? d : l->dcl_ma;
        d = d < dv ? d : dv;
        return d > 0 ? -d : 0;
    }
    return 0;
}

/* The demo day of tbms_sim_model.h on pack 0, scaled to the bank, shaped
 * by the DVCC limits when set. */
static int32_t demo_ma(const tbms_sim_bus_t *bus, const net_t *k)
{
    if (!bus->demo_profile) {
        return 0;
    }
    const tbms_sim_model_t *m0 = tbms_sim_model(bus->pack[0]);
    float total_ah = 0.0f;
    for (unsigned i = 0; i < bus->count; i++) {
        total_ah += tbms_sim_model(bus->pack[i])->capacity_ah;
    }
    float a = tbms_sim_model_demo_current_a(m0, tbms_sim_config(bus->pack[0])->seed, bus->model_ms,
                                            DEMO_UNLIMITED_CELL_V) *
              (total_ah / m0->capacity_ah);
    int32_t ma = dvcc_ma(bus, k, clamp_i32((double)a * 1000.0));
    return ma > 0 ? bank_cv_ma(bus, k, ma) : ma;
}

/* Splits the external current and hands each pack its share; again when
 * a share made a protection trip or recover (see the header). */
static void split(tbms_sim_bus_t *bus)
{
    net_t k;
    build_net(bus, &k);
    bus->requested_ma = bus->external_current ? bus->external_ma : demo_ma(bus, &k);
    for (unsigned round = 0; round < SPLIT_ROUNDS; round++) {
        if (round > 0u) {
            build_net(bus, &k);
        }
        double v = 0.0;
        double share[TBMS_SIM_BUS_MAX_PACKS];
        split_net(&k, (double)bus->requested_ma, &v, share);
        bus->target_ma = clamp_i32(target_a(&k, (double)bus->requested_ma / 1000.0) * 1000.0);
        bus->bus_v = (float)v;
        round_shares(share, k.n, bus->target_ma, bus->share_ma);
        for (unsigned i = 0; i < k.n; i++) {
            bus->path[i] = k.path[i];
            tbms_sim_set_current_ma(bus->pack[i], bus->share_ma[i]);
        }
        bool same = true;
        for (unsigned i = 0; i < k.n; i++) {
            same = same && path_of(bus, i) == k.path[i];
        }
        if (same) {
            break;
        }
    }
    int32_t sum = 0;
    for (unsigned i = 0; i < bus->count; i++) {
        sum += tbms_sim_bus_pack_current_ma(bus, i);
    }
    bus->delivered_ma = sum;
}

tbms_sim_err_t tbms_sim_bus_init(tbms_sim_bus_t *bus, tbms_sim_t *const *packs, unsigned n,
                                 uint64_t now_ms)
{
    if (bus == NULL || packs == NULL || n < 1u || n > TBMS_SIM_BUS_MAX_PACKS) {
        return TBMS_SIM_ERR_ARG;
    }
    memset(bus, 0, sizeof *bus);
    for (unsigned i = 0; i < n; i++) {
        if (packs[i] == NULL) {
            return TBMS_SIM_ERR_ARG;
        }
        for (unsigned j = 0; j < i; j++) {
            if (packs[j] == packs[i]) {
                return TBMS_SIM_ERR_ARG;
            }
        }
        const tbms_sim_config_t *c = tbms_sim_config(packs[i]);
        const tbms_sim_config_t *c0 = tbms_sim_config(packs[0]);
        if (c->time_scale != c0->time_scale || c->demo_profile != c0->demo_profile) {
            return TBMS_SIM_ERR_ARG;
        }
        bus->pack[i] = packs[i];
    }
    bus->count = n;
    bus->time_scale = tbms_sim_config(packs[0])->time_scale;
    bus->demo_profile = tbms_sim_config(packs[0])->demo_profile;
    bus->last_ms = now_ms;
    split(bus);
    return TBMS_SIM_OK;
}

void tbms_sim_bus_set_current_ma(tbms_sim_bus_t *bus, int32_t ma)
{
    if (bus != NULL && bus->count > 0u) {
        bus->external_current = true;
        bus->external_ma = ma;
        split(bus);
    }
}

void tbms_sim_bus_clear_current(tbms_sim_bus_t *bus)
{
    if (bus != NULL && bus->count > 0u) {
        bus->external_current = false;
        split(bus);
    }
}

tbms_sim_err_t tbms_sim_bus_set_dvcc_limits(tbms_sim_bus_t *bus, int32_t ccl_ma, int32_t dcl_ma,
                                            int32_t cvl_mv, int32_t dvl_mv, uint64_t now_ms)
{
    if (bus == NULL || bus->count == 0u || ccl_ma < 0 || dcl_ma < 0 || cvl_mv < 0 || dvl_mv < 0) {
        return TBMS_SIM_ERR_ARG;
    }
    tbms_sim_bus_step(bus, now_ms);
    bus->dvcc.set = true;
    bus->dvcc.ccl_ma = ccl_ma;
    bus->dvcc.dcl_ma = dcl_ma;
    bus->dvcc.cvl_mv = cvl_mv;
    bus->dvcc.dvl_mv = dvl_mv;
    bus->dvcc.at_ms = bus->last_ms; /* now_ms, or the later last step */
    split(bus);
    return TBMS_SIM_OK;
}

void tbms_sim_bus_clear_dvcc_limits(tbms_sim_bus_t *bus)
{
    if (bus != NULL && bus->count > 0u) {
        memset(&bus->dvcc, 0, sizeof bus->dvcc);
        split(bus);
    }
}

void tbms_sim_bus_step(tbms_sim_bus_t *bus, uint64_t now_ms)
{
    if (bus == NULL || bus->count == 0u) {
        return;
    }
    /* Wall ms per split: TBMS_SIM_BUS_SPLIT_MODEL_MS of model time, at
     * least one wall ms. */
    double per = (double)TBMS_SIM_BUS_SPLIT_MODEL_MS / (double)bus->time_scale;
    uint64_t slice_ms = per >= 1.0 ? (uint64_t)per : 1u;
    while (bus->last_ms < now_ms) {
        uint64_t d = now_ms - bus->last_ms;
        d = d < slice_ms ? d : slice_ms;
        split(bus);
        uint64_t t = bus->last_ms + d;
        for (unsigned i = 0; i < bus->count; i++) {
            tbms_sim_step(bus->pack[i], t);
        }
        double add = (double)d * (double)bus->time_scale + (double)bus->model_frac_ms;
        uint64_t dm = (uint64_t)add;
        bus->model_frac_ms = (float)(add - (double)dm);
        bus->model_ms += dm;
        bus->last_ms = t;
    }
    split(bus);
}

void tbms_sim_bus_set_switch_open(tbms_sim_bus_t *bus, unsigned i, bool open)
{
    if (bus != NULL && i < bus->count) {
        bus->forced_open[i] = open;
        split(bus);
    }
}

unsigned tbms_sim_bus_count(const tbms_sim_bus_t *bus)
{
    return bus ? bus->count : 0u;
}

tbms_sim_t *tbms_sim_bus_pack(const tbms_sim_bus_t *bus, unsigned i)
{
    return bus != NULL && i < bus->count ? bus->pack[i] : NULL;
}

tbms_sim_bus_path_t tbms_sim_bus_path(const tbms_sim_bus_t *bus, unsigned i)
{
    if (bus == NULL || i >= bus->count) {
        return TBMS_SIM_BUS_OPEN_FORCED;
    }
    return (tbms_sim_bus_path_t)bus->path[i];
}

float tbms_sim_bus_voltage_v(const tbms_sim_bus_t *bus)
{
    return bus ? bus->bus_v : 0.0f;
}

int32_t tbms_sim_bus_pack_current_ma(const tbms_sim_bus_t *bus, unsigned i)
{
    if (bus == NULL || i >= bus->count) {
        return 0;
    }
    return clamp_i32((double)tbms_sim_current_ma(bus->pack[i]));
}

int32_t tbms_sim_bus_requested_ma(const tbms_sim_bus_t *bus)
{
    return bus ? bus->requested_ma : 0;
}

int32_t tbms_sim_bus_delivered_ma(const tbms_sim_bus_t *bus)
{
    return bus ? bus->delivered_ma : 0;
}

static float clamp_pct(float v)
{
    return v < 0.0f ? 0.0f : v > 100.0f ? 100.0f : v;
}

tbms_sim_config_t tbms_sim_bus_mismatched_config(const tbms_sim_config_t *base, unsigned i)
{
    /* Capacity and resistance factors, SOC offset in points. */
    static const struct {
        float capacity, resistance, soc;
    } vary[TBMS_SIM_BUS_MAX_PACKS] = {
        {1.0f, 1.0f, 0.0f},
        {0.8f, 1.3f, -10.0f},
        {1.0f, 1.1f, 5.0f},
        {1.1f, 0.9f, -3.0f},
    };
    tbms_sim_config_t c = base != NULL ? *base : tbms_sim_default_config();
    if (i == 0u || i >= TBMS_SIM_BUS_MAX_PACKS) {
        return c;
    }
    float r_mohm = c.cell_resistance_mohm > 0.0f ? c.cell_resistance_mohm
                                                 : TBMS_SIM_MODEL_R_MOHM_AH / c.capacity_ah;
    c.capacity_ah *= vary[i].capacity;
    c.capacity_ah = c.capacity_ah > 655.0f ? 655.0f : c.capacity_ah;
    c.cell_resistance_mohm = r_mohm * vary[i].resistance;
    c.soc_pct = clamp_pct(c.soc_pct + vary[i].soc);
    if (i == 2u) {
        c.capacity_spread_pct *= 2.0f;
        c.capacity_spread_pct = c.capacity_spread_pct > 50.0f ? 50.0f : c.capacity_spread_pct;
    }
    c.seed += i;
    return c;
}
