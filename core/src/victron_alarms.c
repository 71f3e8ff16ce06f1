/*
 * victron_alarms.c - the Victron CAN-bus BMS 0x35A alarm/warning frame.
 * Layout and pair values are drawn in victron_alarms.h
 * (victron-can-bms.md A.3, B).
 */
#include "victron_alarms.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "victron_can.h"
#include "wire.h"

#define PAIRS_PER_BYTE 4u                                 /* A.3: 2-bit pairs */
#define HALF_BYTES     (VCAN_COND_COUNT / PAIRS_PER_BYTE) /* alarms: 0-3, warnings: 4-7 */
#define PAIR_MASK      0x3u
#define DLC_ALARMS     8u /* A.1: 35A >= 8 */

_Static_assert(HALF_BYTES * 2u == VCAN_DLC_MAX, "alarms and warnings fill exactly 8 bytes");

void vcan_alarms_all_ok(vcan_alarms_t *out)
{
    if (out == NULL) {
        return;
    }
    for (size_t i = 0; i < VCAN_COND_COUNT; i++) {
        out->alarm[i] = VCAN_PAIR_OK;
        out->warning[i] = VCAN_PAIR_OK;
    }
}

static bool pair_encodable(vcan_pair_t p)
{
    return p == VCAN_PAIR_UNSUPPORTED || p == VCAN_PAIR_ACTIVE || p == VCAN_PAIR_OK;
}

/* Packs 16 pairs into 4 bytes; pair k of byte n is bits 2k..2k+1. */
static void pack_half(const vcan_pair_t pairs[VCAN_COND_COUNT], wire_writer_t *w)
{
    for (size_t byte = 0; byte < HALF_BYTES; byte++) {
        unsigned v = 0u;
        for (size_t k = 0; k < PAIRS_PER_BYTE; k++) {
            v |= ((unsigned)pairs[byte * PAIRS_PER_BYTE + k] & PAIR_MASK) << (2u * k);
        }
        (void)wire_put_u8(w, (uint8_t)v);
    }
}

static void unpack_half(wire_reader_t *r, vcan_pair_t pairs[VCAN_COND_COUNT])
{
    for (size_t byte = 0; byte < HALF_BYTES; byte++) {
        unsigned v = wire_u8(r);
        for (size_t k = 0; k < PAIRS_PER_BYTE; k++) {
            /* All four 2-bit values are named in vcan_pair_t. */
            pairs[byte * PAIRS_PER_BYTE + k] = (vcan_pair_t)((v >> (2u * k)) & PAIR_MASK);
        }
    }
}

vcan_err_t vcan_encode_alarms(const vcan_alarms_t *in, vcan_frame_t *out)
{
    if (in == NULL || out == NULL) {
        return VCAN_ERR_ARG;
    }
    for (size_t i = 0; i < VCAN_COND_COUNT; i++) {
        if (!pair_encodable(in->alarm[i]) || !pair_encodable(in->warning[i])) {
            return VCAN_ERR_ARG;
        }
    }
    vcan_frame_t f;
    memset(&f, 0, sizeof f);
    f.id = VCAN_ID_ALARMS;
    f.dlc = VCAN_DLC_MAX;
    wire_writer_t w = wire_writer(f.data, sizeof f.data);
    pack_half(in->alarm, &w);
    pack_half(in->warning, &w);
    *out = f;
    return VCAN_OK;
}

vcan_err_t vcan_decode_alarms(const vcan_frame_t *in, vcan_alarms_t *out)
{
    if (in == NULL || out == NULL) {
        return VCAN_ERR_ARG;
    }
    if (in->id != VCAN_ID_ALARMS) {
        return VCAN_ERR_ID;
    }
    if (in->dlc > VCAN_DLC_MAX || in->dlc < DLC_ALARMS) {
        return VCAN_ERR_DLC;
    }
    wire_reader_t r = wire_reader(in->data, in->dlc);
    vcan_alarms_t v;
    memset(&v, 0, sizeof v);
    unpack_half(&r, v.alarm);
    unpack_half(&r, v.warning);
    *out = v;
    return VCAN_OK;
}
