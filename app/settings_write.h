/*
 * settings_write.h - the TinyBMS settings-write flow, for every platform:
 * a posted write is checked against the settings the BMS holds (range,
 * read-only, interlocks, each register after the previous one is
 * applied), queued on the poller (Modbus 0x10, then a read-back), and its
 * outcome verified against what was read back. Nothing is written unless
 * a user asked and every check passed.
 *
 * One write at a time; the state lives in the caller's sw_state_t (the
 * service holds it), no file statics.
 */
#ifndef SETTINGS_WRITE_H
#define SETTINGS_WRITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bridge.h"

/* Outcome codes (the HTTP API maps them to status codes). */
typedef enum {
    SW_OK = 0,       /* written, read back equal */
    SW_UNVERIFIABLE, /* written; the register reads back 0xFFFF by design */
    SW_RANGE,        /* rejected before sending: range/reserved */
    SW_READ_ONLY,    /* rejected: not a writable settings register */
    SW_INTERLOCK,    /* rejected: breaks an interlock */
    SW_NO_SETTINGS,  /* rejected: the BMS settings are not known yet */
    SW_NACK,         /* the BMS refused it */
    SW_TIMEOUT,      /* no answer to the write or its read-back */
    SW_MISMATCH,     /* read back a different value */
} sw_status_t;

#define SW_MESSAGE_MAX 256u

typedef struct {
    sw_status_t status;
    char message[SW_MESSAGE_MAX]; /* one English sentence */
    uint16_t readback[TBMS_POLL_WRITE_MAX];
} sw_result_t;

typedef struct {
    bool in_flight;
    size_t pack; /* the pack the write in flight goes to (0-based) */
} sw_state_t;

/*
 * Checks values[0..count) for registers addr.. against the settings of
 * pack (0-based; refused as SW_RANGE beyond b->n_packs) and, when they
 * pass, queues them on that pack's poller. Returns true with *out filled when the write
 * is finished already (refused: nothing was sent); false when it is
 * queued (sw_poll reports it).
 */
bool sw_start(sw_state_t *st, brg_t *b, size_t pack, uint16_t addr, const uint16_t *values, uint16_t count,
              uint64_t now_us, sw_result_t *out);

/* True and *out filled once the queued write has finished (verified or not). */
bool sw_poll(sw_state_t *st, brg_t *b, sw_result_t *out);

/* True while a write is queued or on the wire. */
bool sw_busy(const sw_state_t *st);

#endif /* SETTINGS_WRITE_H */
