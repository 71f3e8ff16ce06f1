/* Which temperatures protect the pack (pack_temp.h). */
#include "pack_temp.h"

#include <string.h>

void ptemp_init(ptemp_state_t *st)
{
    if (st != NULL) {
        memset(st, 0, sizeof *st);
    }
}

static bool sensor(const tbms_live_t *l, unsigned i, int16_t *t)
{
    if (i < 2u) {
        *t = l->ext_temp_dc[i];
        return l->ext_temp_present[i];
    }
    *t = l->internal_temp_dc;
    return l->internal_temp_present;
}

void ptemp_eval(uint8_t seen_mask, const tbms_live_t *live, ptemp_t *out)
{
    if (out == NULL) {
        return;
    }
    memset(out, 0, sizeof *out);
    if (live == NULL || !live->valid) {
        return;
    }
    int16_t t;
    for (unsigned i = 0; i < (unsigned)PTEMP_SENSOR_COUNT; i++) {
        if (sensor(live, i, &t)) {
            out->present_mask |= PTEMP_BIT(i);
        }
    }
    out->lost_mask = (uint8_t)(seen_mask & (uint8_t)~out->present_mask);
    const uint8_t ext = PTEMP_BIT(PTEMP_EXT1) | PTEMP_BIT(PTEMP_EXT2);
    out->used_mask = out->present_mask & ext;
    if (out->used_mask == 0u) {
        out->used_mask = out->present_mask & PTEMP_BIT(PTEMP_INTERNAL);
        out->fallback = out->used_mask != 0u && (out->lost_mask & ext) != 0u;
    }
    int32_t sum = 0;
    unsigned n = 0;
    for (unsigned i = 0; i < (unsigned)PTEMP_SENSOR_COUNT; i++) {
        if ((out->used_mask & PTEMP_BIT(i)) == 0u) {
            continue;
        }
        (void)sensor(live, i, &t);
        if (n == 0u || t < out->min_dc) {
            out->min_dc = t;
            out->min_sensor = (ptemp_sensor_t)i;
        }
        if (n == 0u || t > out->max_dc) {
            out->max_dc = t;
            out->max_sensor = (ptemp_sensor_t)i;
        }
        sum += t;
        n++;
    }
    out->usable = n > 0u;
    if (n > 0u) {
        int32_t d = (int32_t)n;
        out->avg_dc = (int16_t)(sum >= 0 ? (sum + d / 2) / d : -((-sum + d / 2) / d));
    }
}

void ptemp_update(ptemp_state_t *st, const tbms_live_t *live, ptemp_t *out)
{
    uint8_t seen = st != NULL ? st->seen_mask : 0u;
    ptemp_eval(seen, live, out);
    if (st != NULL && out != NULL) {
        st->seen_mask |= out->present_mask;
    }
}

bool ptemp_degraded(const ptemp_t *t)
{
    return t != NULL && t->lost_mask != 0u;
}

const char *ptemp_sensor_short(ptemp_sensor_t s)
{
    static const char *const names[PTEMP_SENSOR_COUNT] = {"T1", "T2", "INT"};
    return (unsigned)s < (unsigned)PTEMP_SENSOR_COUNT ? names[s] : "?";
}

const char *ptemp_sensor_name(ptemp_sensor_t s)
{
    static const char *const names[PTEMP_SENSOR_COUNT] = {"external_1", "external_2",
                                                          "internal"};
    return (unsigned)s < (unsigned)PTEMP_SENSOR_COUNT ? names[s] : "?";
}
