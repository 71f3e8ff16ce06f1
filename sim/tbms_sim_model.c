/*
 * tbms_sim_model.c - LFP pack physics for the TinyBMS simulator.
 *
 * Numbers are typical of 280 Ah prismatic LFP cells, not of a particular
 * datasheet: the OCV table follows the usual LFP shape (steep below 10 %,
 * a plateau of ~100 mV over 20..90 %, a knee above 95 %); the default DC
 * resistance scales as 140 mOhm*Ah / capacity (0.5 mOhm at 280 Ah).
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "tbms_sim_model.h"

/* OCV table: SOC in %, voltage in V. Linear between points. */
typedef struct {
    float soc_pct;
    float v;
} ocv_point_t;

static const ocv_point_t ocv_table[] = {
    {0.0f, 2.500f},  {2.0f, 2.800f},  {5.0f, 3.000f},  {9.0f, 3.150f},  {14.0f, 3.200f},
    {20.0f, 3.235f}, {30.0f, 3.260f}, {40.0f, 3.280f}, {50.0f, 3.290f}, {60.0f, 3.300f},
    {70.0f, 3.320f}, {80.0f, 3.330f}, {90.0f, 3.340f}, {95.0f, 3.360f}, {97.0f, 3.400f},
    {98.5f, 3.450f}, {99.5f, 3.550f}, {100.0f, 3.650f},
};
#define OCV_POINTS (sizeof(ocv_table) / sizeof(ocv_table[0]))

/* Beyond the table: overcharge and overdischarge, V per SOC percent. */
#define OCV_OUTSIDE_SLOPE_V_PER_PCT 0.25f
#define OCV_MAX_V                   5.0f

/* Limits of the integrated charge, as fractions of capacity: far enough
 * out that every protection trips first, close enough to stay finite. */
#define CHARGE_MIN_FRAC (-0.05f)
#define CHARGE_MAX_FRAC 1.10f

/* Thermal model. Cell sensors: +25 degC at a sustained 1 C, quadratic in
 * current, time constant 30 min. BMS board: 4 degC above ambient plus
 * 0.03 degC/A through its shunt or Hall sensor, time constant 5 min. */
#define CELL_HEAT_C_AT_1C     25.0f
#define CELL_TAU_S            1800.0f
#define EXT2_HEAT_FACTOR      0.8f
#define EXT2_OFFSET_C         (-0.3f)
#define BOARD_SELF_HEAT_C     4.0f
#define BOARD_HEAT_C_PER_A    0.03f
#define BOARD_TAU_S           300.0f

/* Noise streams, so different uses of the seed do not correlate. */
#define STREAM_CAPACITY   1u
#define STREAM_RESISTANCE 2u
#define STREAM_SOC        3u
#define STREAM_DEMO_LOAD  4u
#define STREAM_DEMO_CHG   5u

/* Demo profile (model time). */
#define DEMO_CYCLE_MS       (60u * 60u * 1000u)
#define DEMO_CHARGE_END_MS  (15u * 60u * 1000u)
#define DEMO_REST1_END_MS   (20u * 60u * 1000u)
#define DEMO_DISCH_END_MS   (50u * 60u * 1000u)
#define DEMO_STEP_MS        10000u
#define DEMO_CHARGE_C       0.2f
#define DEMO_DISCHARGE_C    0.1f
#define DEMO_LOAD_SWING     0.4f
#define DEMO_CHARGE_RIPPLE  0.02f
#define DEMO_STANDBY_A      (-0.3f)

static float clampf(float v, float lo, float hi)
{
    if (v < lo) {
        return lo;
    }
    if (v > hi) {
        return hi;
    }
    return v;
}

/* "lowbias32" integer hash (public-domain construction by C. Wellons). */
static uint32_t mix32(uint32_t x)
{
    x ^= x >> 16;
    x *= 0x7FEB352Du;
    x ^= x >> 15;
    x *= 0x846CA68Bu;
    x ^= x >> 16;
    return x;
}

uint32_t tbms_sim_model_hash(uint32_t seed, uint32_t stream, uint32_t n)
{
    return mix32(seed ^ mix32(stream * 0x9E3779B9u ^ mix32(n + 0x632BE5ABu)));
}

float tbms_sim_model_noise(uint32_t seed, uint32_t stream, uint32_t n)
{
    uint32_t h = tbms_sim_model_hash(seed, stream, n) >> 8; /* 24 bits */
    return (float)h / 8388608.0f - 1.0f;
}

float tbms_sim_model_ocv_v(float soc_frac)
{
    float pct = soc_frac * 100.0f;
    float v;
    if (!(pct > ocv_table[0].soc_pct)) { /* also catches NaN */
        v = ocv_table[0].v + (pct - ocv_table[0].soc_pct) * OCV_OUTSIDE_SLOPE_V_PER_PCT;
    } else if (pct >= ocv_table[OCV_POINTS - 1u].soc_pct) {
        v = ocv_table[OCV_POINTS - 1u].v +
            (pct - ocv_table[OCV_POINTS - 1u].soc_pct) * OCV_OUTSIDE_SLOPE_V_PER_PCT;
    } else {
        size_t i = 1u;
        while (ocv_table[i].soc_pct < pct) {
            i++;
        }
        const ocv_point_t *a = &ocv_table[i - 1u];
        const ocv_point_t *b = &ocv_table[i];
        v = a->v + (b->v - a->v) * (pct - a->soc_pct) / (b->soc_pct - a->soc_pct);
    }
    return clampf(v, 0.0f, OCV_MAX_V);
}

void tbms_sim_model_init(tbms_sim_model_t *m, const tbms_sim_model_params_t *p)
{
    memset(m, 0, sizeof *m);
    uint8_t cells = p->cells;
    if (cells < 1u) {
        cells = 1u;
    }
    if (cells > TBMS_SIM_MODEL_MAX_CELLS) {
        cells = TBMS_SIM_MODEL_MAX_CELLS;
    }
    m->cells = cells;
    m->capacity_ah = p->capacity_ah > 0.01f ? p->capacity_ah : 0.01f;
    float cap_spread = clampf(p->capacity_spread_pct, 0.0f, 50.0f) / 100.0f;
    float r_spread = clampf(p->resistance_spread_pct, 0.0f, 90.0f) / 100.0f;
    float soc_spread = clampf(p->soc_spread_pct, 0.0f, 50.0f) / 100.0f;
    float soc = clampf(p->soc_pct, 0.0f, 100.0f) / 100.0f;
    float r_ohm = p->cell_resistance_mohm > 0.0f ? p->cell_resistance_mohm / 1000.0f
                                                 : TBMS_SIM_MODEL_R_MOHM_AH / m->capacity_ah / 1000.0f;
    for (uint32_t i = 0; i < cells; i++) {
        float cap_as = m->capacity_ah * 3600.0f *
                       (1.0f + cap_spread * tbms_sim_model_noise(p->seed, STREAM_CAPACITY, i));
        m->cell_capacity_as[i] = cap_as;
        m->cell_resistance_ohm[i] =
            r_ohm * (1.0f + r_spread * tbms_sim_model_noise(p->seed, STREAM_RESISTANCE, i));
        float cell_soc =
            clampf(soc + soc_spread * tbms_sim_model_noise(p->seed, STREAM_SOC, i), 0.0f, 1.0f);
        m->cell_charge_as[i] = cell_soc * cap_as;
    }
    m->ambient_c = p->ambient_c;
    m->temp_c[TBMS_SIM_TEMP_EXT1] = p->ambient_c;
    m->temp_c[TBMS_SIM_TEMP_EXT2] = p->ambient_c + EXT2_OFFSET_C;
    m->temp_c[TBMS_SIM_TEMP_INTERNAL] = p->ambient_c + BOARD_SELF_HEAT_C;
}

float tbms_sim_model_cell_soc(const tbms_sim_model_t *m, unsigned i)
{
    if (i >= m->cells) {
        return 0.0f;
    }
    return m->cell_charge_as[i] / m->cell_capacity_as[i];
}

float tbms_sim_model_cell_v(const tbms_sim_model_t *m, unsigned i)
{
    if (i >= m->cells) {
        return 0.0f;
    }
    float v = tbms_sim_model_ocv_v(tbms_sim_model_cell_soc(m, i)) +
              m->current_a * m->cell_resistance_ohm[i];
    return clampf(v, 0.0f, OCV_MAX_V);
}

float tbms_sim_model_pack_ocv_v(const tbms_sim_model_t *m)
{
    float v = 0.0f;
    for (unsigned i = 0; i < m->cells; i++) {
        v += tbms_sim_model_ocv_v(tbms_sim_model_cell_soc(m, i));
    }
    return v;
}

float tbms_sim_model_pack_resistance_ohm(const tbms_sim_model_t *m)
{
    float r = 0.0f;
    for (unsigned i = 0; i < m->cells; i++) {
        r += m->cell_resistance_ohm[i];
    }
    return r;
}

/* First-order lag of x towards target over dt with time constant tau. */
static float lag(float x, float target, float dt_s, float tau_s)
{
    return x + (target - x) * (dt_s / (tau_s + dt_s));
}

void tbms_sim_model_advance(tbms_sim_model_t *m, float current_a, uint16_t bleed_mask, float dt_s)
{
    if (!(dt_s > 0.0f)) {
        m->current_a = current_a;
        return;
    }
    m->current_a = current_a;
    for (unsigned i = 0; i < m->cells; i++) {
        float i_a = current_a;
        if (bleed_mask & (1u << i)) {
            i_a -= TBMS_SIM_MODEL_BLEED_A;
        }
        float q = m->cell_charge_as[i] + i_a * dt_s;
        m->cell_charge_as[i] = clampf(q, CHARGE_MIN_FRAC * m->cell_capacity_as[i],
                                      CHARGE_MAX_FRAC * m->cell_capacity_as[i]);
    }
    float c_rate = fabsf(current_a) / m->capacity_ah;
    float cell_rise = CELL_HEAT_C_AT_1C * c_rate * c_rate;
    m->temp_c[TBMS_SIM_TEMP_EXT1] =
        lag(m->temp_c[TBMS_SIM_TEMP_EXT1], m->ambient_c + cell_rise, dt_s, CELL_TAU_S);
    m->temp_c[TBMS_SIM_TEMP_EXT2] =
        lag(m->temp_c[TBMS_SIM_TEMP_EXT2],
            m->ambient_c + EXT2_OFFSET_C + EXT2_HEAT_FACTOR * cell_rise, dt_s, CELL_TAU_S);
    m->temp_c[TBMS_SIM_TEMP_INTERNAL] =
        lag(m->temp_c[TBMS_SIM_TEMP_INTERNAL],
            m->ambient_c + BOARD_SELF_HEAT_C + BOARD_HEAT_C_PER_A * fabsf(current_a), dt_s,
            BOARD_TAU_S);
}

float tbms_sim_model_cv_limit_a(const tbms_sim_model_t *m, float cell_limit_v)
{
    float best = INFINITY;
    for (unsigned i = 0; i < m->cells; i++) {
        float headroom = cell_limit_v - tbms_sim_model_ocv_v(tbms_sim_model_cell_soc(m, i));
        float a = headroom / m->cell_resistance_ohm[i];
        if (a < best) {
            best = a;
        }
    }
    return best > 0.0f ? best : 0.0f;
}

float tbms_sim_model_demo_current_a(const tbms_sim_model_t *m, uint32_t seed, uint64_t model_ms,
                                    float cv_cell_v)
{
    uint32_t t = (uint32_t)(model_ms % DEMO_CYCLE_MS);
    uint32_t slot = (uint32_t)(model_ms / DEMO_STEP_MS);
    if (t < DEMO_CHARGE_END_MS) {
        float cc = DEMO_CHARGE_C * m->capacity_ah *
                   (1.0f + DEMO_CHARGE_RIPPLE * tbms_sim_model_noise(seed, STREAM_DEMO_CHG, slot));
        float cv = tbms_sim_model_cv_limit_a(m, cv_cell_v);
        return cc < cv ? cc : cv;
    }
    if (t < DEMO_REST1_END_MS) {
        return DEMO_STANDBY_A;
    }
    if (t < DEMO_DISCH_END_MS) {
        float load = DEMO_DISCHARGE_C * m->capacity_ah *
                     (1.0f + DEMO_LOAD_SWING * tbms_sim_model_noise(seed, STREAM_DEMO_LOAD, slot));
        return -load;
    }
    return DEMO_STANDBY_A;
}
