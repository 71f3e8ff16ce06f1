/*
 * write_request.h - the body of POST /api/tinybms/write, parsed and checked
 * for shape: {"address": N, "value": V} or {"address": N, "values": [V...]}.
 * Whether the BMS accepts the values (ranges, interlocks) is decided later
 * against its live settings; here only the form and the 300..343 window.
 * Pure (cJSON only), so it is fuzzed on its own (tests/fuzz/fuzz_write_body.c).
 */
#ifndef WRITE_REQUEST_H
#define WRITE_REQUEST_H

#include <stddef.h>
#include <stdint.h>

#define WREQ_MAX_WORDS 44u /* registers 300..343 */

typedef struct {
    uint16_t addr;
    uint16_t count;
    uint16_t values[WREQ_MAX_WORDS];
} wreq_t;

typedef enum {
    WREQ_OK = 0,
    WREQ_BAD_REQUEST, /* not the documented form */
    WREQ_READ_ONLY,   /* outside the settings registers 300..343 */
} wreq_err_t;

/*
 * Parses body[len] into *out. On error returns the code and writes a
 * one-line English reason into msg[cap]; *out is then unspecified.
 * 312 with "value" takes the whole 32-bit number (two words, low first).
 */
wreq_err_t wreq_parse(const char *body, size_t len, wreq_t *out, char *msg, size_t cap);

#endif /* WRITE_REQUEST_H */
