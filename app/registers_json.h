/*
 * registers_json.h - the document of GET /api/tinybms/registers: the
 * TinyBMS register catalog (tbms_regs.h) with the last values the poller
 * read (tbms_poller_words). docs/api.md describes every field.
 */
#ifndef REGISTERS_JSON_H
#define REGISTERS_JSON_H

#include <stdint.h>

#include "tbms_poller.h"
#include "tbms_regs.h"

/*
 * Builds the document. now_us is the poller's clock (for ages), wall_ms
 * the wall clock for "updated_ms". Returns a malloc'd NUL-terminated
 * string the caller frees, or NULL when memory runs out. Cost: one pass
 * over the catalog (about 130 entries), a few kilobytes of heap.
 */
char *registers_json(const tbms_poller_t *p, uint64_t now_us, uint64_t wall_ms);

/*
 * The value of one catalog entry in its unit, from its raw words (low
 * word first): raw x scale, signed for INT16, the float for FLOAT.
 * Returns 0 for types without a single number (2XUINT8, EVENT, BYTES).
 */
double registers_value(const tbms_reg_t *r, const uint16_t *words);

#endif /* REGISTERS_JSON_H */
