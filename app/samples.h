/*
 * samples.h - a ring of the last SAMPLES_MAX measurements (microseconds)
 * with percentiles, for timing figures: data age of the values in 0x351
 * when it is sent, the 0x351 period, loop lag. Not thread-safe: one owner.
 * No hidden state: percentiles sort a copy in the caller's scratch.
 */
#ifndef SAMPLES_H
#define SAMPLES_H

#include <stddef.h>
#include <stdint.h>

#ifndef SAMPLES_MAX
#define SAMPLES_MAX 4096u /* per ring; a small board may build with fewer */
#endif

typedef struct {
    uint32_t v[SAMPLES_MAX];
    size_t n;     /* valid samples, <= SAMPLES_MAX */
    size_t next;  /* slot for the next sample */
    uint64_t total; /* samples ever added */
} samples_t;

void samples_add(samples_t *s, uint32_t value_us);
/* p in 0..100; 0 when empty. Sorts a copy in scratch (SAMPLES_MAX
 * entries): O(n log n). */
uint32_t samples_percentile(const samples_t *s, double p, uint32_t *scratch);
uint32_t samples_max(const samples_t *s);

#endif /* SAMPLES_H */
