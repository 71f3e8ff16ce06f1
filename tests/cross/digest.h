/*
 * digest.h - what the two digests of tests/cross/run-qemu (core_digest.c,
 * service_digest.c) print the same way: the scenario heading, CAN frame
 * data in hex, the FNV-1a hash of a section, the closing "digest" and
 * "expect" lines and the end line. run-qemu splits the output on these
 * lines and compares each section between the host and RV32IMC builds, so
 * both digests must keep to one format.
 *
 * Only integers are printed, and nothing of the platform (pointer size,
 * struct sizes): the two builds' outputs must be identical.
 */
#ifndef DIGEST_H
#define DIGEST_H

#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "victron_can.h"

#define US_PER_MS 1000ull
#define US_PER_S  1000000ull

/* The 32-bit FNV-1a offset basis: a section's hash before its first byte. */
#define DIGEST_FNV_BASIS 2166136261u

/* Folds p[0..n) into the 32-bit FNV-1a hash *h. */
static inline void digest_fnv(uint32_t *h, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        *h ^= p[i];
        *h *= 16777619u;
    }
}

/* Simulated time in whole milliseconds, as every record prints it. */
static inline uint32_t digest_ms(uint64_t us)
{
    return (uint32_t)(us / US_PER_MS);
}

static inline uint64_t digest_min_u64(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

/* The frame's data bytes (at most VCAN_DLC_MAX) as upper-case hex into
 * hex, NUL-terminated; returns how many bytes that is. */
static inline unsigned digest_frame_hex(const vcan_frame_t *f, char hex[2 * VCAN_DLC_MAX + 1])
{
    static const char digits[] = "0123456789ABCDEF";
    unsigned dlc = f->dlc <= VCAN_DLC_MAX ? f->dlc : VCAN_DLC_MAX;
    for (unsigned i = 0; i < dlc; i++) {
        hex[2 * i] = digits[f->data[i] >> 4];
        hex[2 * i + 1] = digits[f->data[i] & 0x0Fu];
    }
    hex[2u * dlc] = '\0';
    return dlc;
}

/* Opens a scenario's section (run-qemu splits the output on it). */
static inline void digest_print_scenario(const char *name, uint32_t seconds)
{
    printf("== scenario %s (%" PRIu32 " s) ==\n", name, seconds);
}

/* The section's closing line: its frame count and hash. */
static inline void digest_print_total(const char *name, uint32_t frames, uint32_t fnv)
{
    printf("digest %s frames=%" PRIu32 " fnv1a=%08" PRIX32 "\n", name, frames, fnv);
}

/* One "expect" line for each condition bit k set in expect (names[k] its
 * name, count names), ok when observed has it too; true when every
 * expected condition was observed. */
static inline bool digest_print_expects(const char *scenario, const char *const *names,
                                        unsigned count, uint32_t expect, uint32_t observed)
{
    bool ok = true;
    for (unsigned k = 0; k < count; k++) {
        uint32_t bit = 1u << k;
        if (expect & bit) {
            bool seen = (observed & bit) != 0;
            printf("expect %s %s: %s\n", scenario, names[k], seen ? "ok" : "NOT REACHED");
            ok = ok && seen;
        }
    }
    return ok;
}

/* The last line of the output; returns the exit status (0 = every
 * scenario reached its conditions). */
static inline int digest_print_end(bool ok)
{
    printf("== end: %s ==\n", ok ? "every scenario reached its conditions" : "FAILED");
    return ok ? 0 : 1;
}

#endif /* DIGEST_H */
