/* Chart samples for GET /api/history: a ring and its columnar JSON. */
#include "history.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void history_init(history_t *h)
{
    if (h != NULL) {
        memset(h, 0, sizeof *h);
    }
}

bool history_due(const history_t *h, uint64_t mono_ms)
{
    return h != NULL && mono_ms >= h->next_due_ms;
}

history_action_t history_next(const history_t *h, bool data_valid, uint64_t mono_ms)
{
    if (h == NULL) {
        return HISTORY_IDLE;
    }
    if (data_valid) {
        return history_due(h, mono_ms) ? HISTORY_SAMPLE : HISTORY_IDLE;
    }
    /* An empty history needs no marker: there is no line to break. */
    return h->count > 0u && !h->gap ? HISTORY_GAP : HISTORY_IDLE;
}

static void push(history_t *h, const history_sample_t *s)
{
    h->s[h->head] = *s;
    h->head = (h->head + 1u) % HISTORY_CAPACITY;
    if (h->count < HISTORY_CAPACITY) {
        h->count++;
    }
}

void history_add(history_t *h, const history_sample_t *s, uint64_t mono_ms)
{
    if (h == NULL || s == NULL) {
        return;
    }
    push(h, s);
    h->gap = false;
    h->next_due_ms = mono_ms + HISTORY_INTERVAL_MS;
}

void history_add_gap(history_t *h, uint64_t t_ms)
{
    if (h == NULL) {
        return;
    }
    const history_sample_t marker = {
        .t_ms = t_ms,
        .pack_mv = HISTORY_NONE,
        .current_ma = HISTORY_NONE,
        .soc_cpct = HISTORY_NONE,
        .cell_min_mv = HISTORY_NONE,
        .cell_max_mv = HISTORY_NONE,
        .temp_dc = HISTORY_NONE,
        .cvl_mv = HISTORY_NONE,
        .ccl_ma = HISTORY_NONE,
        .dcl_ma = HISTORY_NONE,
    };
    push(h, &marker);
    h->gap = true;
}

size_t history_count(const history_t *h)
{
    return h != NULL ? h->count : 0u;
}

const history_sample_t *history_at(const history_t *h, size_t i)
{
    if (h == NULL || i >= h->count) {
        return NULL;
    }
    size_t first = (h->head + HISTORY_CAPACITY - h->count) % HISTORY_CAPACITY;
    return &h->s[(first + i) % HISTORY_CAPACITY];
}

/* A growing text buffer; on allocation failure it stops growing and fails. */
typedef struct {
    char *p;
    size_t len;
    size_t cap;
    bool failed;
} buf_t;

static void put(buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(buf_t *b, const char *fmt, ...)
{
    if (b->failed) {
        return;
    }
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->failed = true;
            return;
        }
        if ((size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = b->cap * 2u + (size_t)n;
        char *np = realloc(b->p, cap);
        if (np == NULL) {
            b->failed = true;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
}

typedef enum {
    COL_V = 0,
    COL_I,
    COL_SOC,
    COL_MIN,
    COL_MAX,
    COL_T,
    COL_CVL,
    COL_CCL,
    COL_DCL,
    COL_COUNT_
} col_t;

static const struct {
    const char *name;
    int32_t div;  /* stored units per JSON unit */
    int decimals; /* printed */
} cols[COL_COUNT_] = {
    [COL_V] = {"voltage", 1000, 2},         [COL_I] = {"current", 1000, 1},
    [COL_SOC] = {"soc_percent", 100, 1},    [COL_MIN] = {"min_cell_mv", 1, 0},
    [COL_MAX] = {"max_cell_mv", 1, 0},      [COL_T] = {"temperature", 10, 1},
    [COL_CVL] = {"cvl_v", 1000, 2},         [COL_CCL] = {"ccl_a", 1000, 1},
    [COL_DCL] = {"dcl_a", 1000, 1},
};

static int32_t col_value(const history_sample_t *s, col_t c)
{
    switch (c) {
    case COL_V:
        return s->pack_mv;
    case COL_I:
        return s->current_ma;
    case COL_SOC:
        return s->soc_cpct;
    case COL_MIN:
        return s->cell_min_mv;
    case COL_MAX:
        return s->cell_max_mv;
    case COL_T:
        return s->temp_dc;
    case COL_CVL:
        return s->cvl_mv;
    case COL_CCL:
        return s->ccl_ma;
    default:
        return s->dcl_ma;
    }
}

char *history_json(const history_t *h)
{
    if (h == NULL) {
        return NULL;
    }
    buf_t b = {.p = malloc(4096u), .len = 0u, .cap = 4096u, .failed = false};
    if (b.p == NULL) {
        return NULL;
    }
    size_t n = h->count;
    put(&b, "{\"interval_ms\":%u,\"capacity\":%u,\"count\":%zu,\"t\":[", HISTORY_INTERVAL_MS,
        HISTORY_CAPACITY, n);
    for (size_t i = 0; i < n; i++) {
        put(&b, "%s%llu", i ? "," : "", (unsigned long long)(history_at(h, i)->t_ms / 1000u));
    }
    put(&b, "]");
    for (unsigned c = 0; c < COL_COUNT_; c++) {
        put(&b, ",\"%s\":[", cols[c].name);
        for (size_t i = 0; i < n; i++) {
            int32_t v = col_value(history_at(h, i), (col_t)c);
            const char *sep = i ? "," : "";
            if (v == HISTORY_NONE) {
                put(&b, "%snull", sep);
            } else {
                put(&b, "%s%.*f", sep, cols[c].decimals, (double)v / (double)cols[c].div);
            }
        }
        put(&b, "]");
    }
    put(&b, "}");
    if (b.failed) {
        free(b.p);
        return NULL;
    }
    return b.p;
}
