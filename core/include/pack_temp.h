/*
 * pack_temp.h - which temperatures protect the pack: the one decision that
 * the charge limits, the alarms, the CAN frames, the status, MQTT and the
 * history all take from here (docs/charge-control.md "Temperature").
 *
 * The TinyBMS has two external sensors (regs 42, 43: NTCs on the cells)
 * and its board sensor (reg 48). Policy:
 *
 *   - the external sensors that are present protect the pack;
 *   - with none present, the board sensor stands in (a pack wired without
 *     NTCs, or NTCs that were lost);
 *   - a sensor that was present since start and is absent now is "lost":
 *     the caller raises a warning and derates charging until it returns;
 *   - with no usable temperature at all nothing protects against charging
 *     LFP below 0 degC, so the charge current is 0.
 *
 * The memory of which sensors were present lives in pack_temp_state_t,
 * owned by the caller (the bridge); pack_temp_eval() is the pure
 * evaluation for a given memory.
 */
#ifndef PACK_TEMP_H
#define PACK_TEMP_H

#include <stdbool.h>
#include <stdint.h>

#include "tbms_snapshot.h"

typedef enum {
    PTEMP_EXT1 = 0,     /* reg 42 */
    PTEMP_EXT2 = 1,     /* reg 43 */
    PTEMP_INTERNAL = 2, /* reg 48, the BMS board */
    PTEMP_SENSOR_COUNT
} ptemp_sensor_t;

#define PTEMP_BIT(s) ((uint8_t)(1u << (unsigned)(s)))

typedef struct {
    uint8_t seen_mask; /* PTEMP_BIT of every sensor present at least once */
} ptemp_state_t;

typedef struct {
    bool usable;          /* at least one temperature protects the pack */
    uint8_t used_mask;    /* sensors whose values are min/max/avg below */
    uint8_t present_mask; /* sensors present in this read */
    uint8_t lost_mask;    /* seen before, absent now */
    bool fallback;        /* the board sensor stands in for lost external ones */
    int16_t min_dc;       /* 0.1 degC; 0 when !usable */
    int16_t max_dc;
    int16_t avg_dc;       /* rounded mean of the used sensors (0x356) */
    ptemp_sensor_t min_sensor; /* which sensor gave min_dc (0x376) */
    ptemp_sensor_t max_sensor; /* which sensor gave max_dc (0x377) */
} ptemp_t;

/* Nothing seen yet. */
void ptemp_init(ptemp_state_t *st);

/*
 * Remembers the sensors present in live (when live is valid) and
 * evaluates them into *out. NULL st evaluates without memory (nothing can
 * be "lost"). *out is all zero (usable false) for NULL or invalid live.
 */
void ptemp_update(ptemp_state_t *st, const tbms_live_t *live, ptemp_t *out);

/* The evaluation alone, for a given memory of seen sensors. */
void ptemp_eval(uint8_t seen_mask, const tbms_live_t *live, ptemp_t *out);

/* True when a lost sensor means a warning and derated charging. */
bool ptemp_degraded(const ptemp_t *t);

/* Short name for 0x376/0x377 and logs: "T1", "T2", "INT"; "?" if out of range. */
const char *ptemp_sensor_short(ptemp_sensor_t s);

/* Status name: "external_1", "external_2", "internal"; "?" if out of range. */
const char *ptemp_sensor_name(ptemp_sensor_t s);

#endif /* PACK_TEMP_H */
