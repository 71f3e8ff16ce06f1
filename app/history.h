/*
 * history.h - a fixed-size ring of samples for the charts of the web UI
 * (GET /api/history): one sample every HISTORY_INTERVAL_MS for 24 hours.
 * Plain data in, a JSON document out; no locking (the bridge loop owns it
 * and publishes the document).
 */
#ifndef HISTORY_H
#define HISTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HISTORY_INTERVAL_MS 10000u
#ifndef HISTORY_CAPACITY
#define HISTORY_CAPACITY 8640u /* 24 h at 10 s; a small board builds with fewer */
#endif

/* Marks a value that was not known when the sample was taken. */
#define HISTORY_NONE INT32_MIN

typedef struct {
    uint64_t t_ms;        /* wall clock, ms since the epoch */
    int32_t pack_mv;
    int32_t current_ma;
    int32_t soc_cpct;     /* 0.01 % */
    int32_t cell_min_mv;
    int32_t cell_max_mv;
    int32_t temp_dc;      /* 0.1 degC */
    int32_t cvl_mv;
    int32_t ccl_ma;
    int32_t dcl_ma;
} history_sample_t;

typedef struct {
    history_sample_t s[HISTORY_CAPACITY];
    size_t head;  /* next slot written */
    size_t count; /* samples held, <= HISTORY_CAPACITY */
    uint64_t next_due_ms; /* monotonic time of the next sample; 0 = at once */
    bool gap;     /* the newest entry is a gap marker (history_add_gap) */
} history_t;

/* What the bridge loop does with the history at one turn (history_next). */
typedef enum {
    HISTORY_IDLE = 0, /* nothing */
    HISTORY_SAMPLE,   /* build a sample of the live values and history_add it */
    HISTORY_GAP,      /* the data stopped being valid: history_add_gap */
} history_action_t;

/* Empties the ring. */
void history_init(history_t *h);

/* True when a sample is due at monotonic time mono_ms (history_next
 * decides whether the data allows one). */
bool history_due(const history_t *h, uint64_t mono_ms);

/* The decision of one loop turn at monotonic time mono_ms, data_valid
 * being whether the bridge's data is VALID (fresh; frames are sent):
 *  - valid: HISTORY_SAMPLE when a sample is due, else HISTORY_IDLE;
 *  - not valid (stale, or none yet): never a sample, because the live
 *    values are the last ones read, not the battery's present state;
 *    HISTORY_GAP once, when the newest entry is a sample, so the chart
 *    breaks its lines there instead of drawing across the stale period;
 *    else HISTORY_IDLE.
 * Pure: nothing changes. NULL h: HISTORY_IDLE. */
history_action_t history_next(const history_t *h, bool data_valid, uint64_t mono_ms);

/* Appends a sample (the oldest goes when full) and schedules the next one
 * HISTORY_INTERVAL_MS after mono_ms. */
void history_add(history_t *h, const history_sample_t *s, uint64_t mono_ms);

/* Appends a gap marker: an entry at wall clock t_ms with every value
 * HISTORY_NONE (null in the JSON). Leaves the schedule alone, so the first
 * sample after the data is valid again is taken at once when one is due. */
void history_add_gap(history_t *h, uint64_t t_ms);

/* Samples held. */
size_t history_count(const history_t *h);

/* Sample i, 0 = oldest; NULL when i >= count. */
const history_sample_t *history_at(const history_t *h, size_t i);

/* The columnar document of docs/api.md ("t" in seconds, values in V, A, %,
 * mV, degC; null for HISTORY_NONE). malloc'd, caller frees; NULL when out
 * of memory. Cost: O(count), about 70 bytes of text per sample. */
char *history_json(const history_t *h);

#endif /* HISTORY_H */
