#include "samples.h"

#include <stdlib.h>
#include <string.h>

void samples_add(samples_t *s, uint32_t value_us)
{
    s->v[s->next] = value_us;
    s->next = (s->next + 1u) % SAMPLES_MAX;
    if (s->n < SAMPLES_MAX) {
        s->n++;
    }
    s->total++;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

uint32_t samples_percentile(const samples_t *s, double p, uint32_t *tmp)
{
    if (s->n == 0u || tmp == NULL) {
        return 0u;
    }
    memcpy(tmp, s->v, s->n * sizeof tmp[0]);
    qsort(tmp, s->n, sizeof tmp[0], cmp_u32);
    double rank = p / 100.0 * (double)(s->n - 1u);
    size_t i = (size_t)(rank + 0.5);
    return tmp[i < s->n ? i : s->n - 1u];
}

uint32_t samples_max(const samples_t *s)
{
    uint32_t m = 0;
    for (size_t i = 0; i < s->n; i++) {
        m = s->v[i] > m ? s->v[i] : m;
    }
    return m;
}
