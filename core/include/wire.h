/*
 * wire.h - bounds-checked readers and writers for wire data.
 *
 * Every protocol module reads frames through a wire_reader_t and builds
 * them through a wire_writer_t. Endianness is explicit in each helper's
 * name; nothing casts a buffer to a struct (house-style.md rule 7).
 *
 * A read or write past the end never touches memory outside the buffer:
 * it returns 0 (or does nothing) and latches the `overflow` flag, so a
 * caller can run a whole decode and check once at the end.
 *
 * Header-only (static inline), no platform header, no heap.
 */
#ifndef WIRE_H
#define WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

_Static_assert(sizeof(float) == 4, "IEEE-754 single precision float expected");

typedef struct {
    const uint8_t *buf;
    size_t len;
    size_t pos;
    bool overflow;
} wire_reader_t;

typedef struct {
    uint8_t *buf;
    size_t cap;
    size_t pos;
    bool overflow;
} wire_writer_t;

static inline wire_reader_t wire_reader(const uint8_t *buf, size_t len)
{
    wire_reader_t r = {buf, buf ? len : 0u, 0u, false};
    return r;
}

static inline wire_writer_t wire_writer(uint8_t *buf, size_t cap)
{
    wire_writer_t w = {buf, buf ? cap : 0u, 0u, false};
    return w;
}

/* Bytes left to read. */
static inline size_t wire_remaining(const wire_reader_t *r)
{
    return r->len - r->pos;
}

/* True when the next n bytes can be read; latches overflow otherwise. */
static inline bool wire_need(wire_reader_t *r, size_t n)
{
    if (r->overflow || n > r->len - r->pos) {
        r->overflow = true;
        return false;
    }
    return true;
}

static inline uint8_t wire_u8(wire_reader_t *r)
{
    if (!wire_need(r, 1u)) {
        return 0u;
    }
    return r->buf[r->pos++];
}

static inline uint16_t wire_u16le(wire_reader_t *r)
{
    if (!wire_need(r, 2u)) {
        return 0u;
    }
    uint16_t v = (uint16_t)(r->buf[r->pos] | ((uint16_t)r->buf[r->pos + 1u] << 8));
    r->pos += 2u;
    return v;
}

static inline uint16_t wire_u16be(wire_reader_t *r)
{
    if (!wire_need(r, 2u)) {
        return 0u;
    }
    uint16_t v = (uint16_t)(((uint16_t)r->buf[r->pos] << 8) | r->buf[r->pos + 1u]);
    r->pos += 2u;
    return v;
}

static inline uint32_t wire_u32le(wire_reader_t *r)
{
    uint32_t lo = wire_u16le(r);
    uint32_t hi = wire_u16le(r);
    return lo | (hi << 16);
}

/* Copies n bytes out; on overflow copies nothing. */
static inline void wire_bytes(wire_reader_t *r, uint8_t *dst, size_t n)
{
    if (!wire_need(r, n)) {
        return;
    }
    for (size_t i = 0; i < n; i++) {
        dst[i] = r->buf[r->pos + i];
    }
    r->pos += n;
}

static inline void wire_skip(wire_reader_t *r, size_t n)
{
    if (wire_need(r, n)) {
        r->pos += n;
    }
}

static inline bool wire_put_u8(wire_writer_t *w, uint8_t v)
{
    if (w->overflow || w->pos >= w->cap) {
        w->overflow = true;
        return false;
    }
    w->buf[w->pos++] = v;
    return true;
}

static inline bool wire_put_u16le(wire_writer_t *w, uint16_t v)
{
    if (w->overflow || w->cap - w->pos < 2u) {
        w->overflow = true;
        return false;
    }
    w->buf[w->pos++] = (uint8_t)(v & 0xFFu);
    w->buf[w->pos++] = (uint8_t)(v >> 8);
    return true;
}

static inline bool wire_put_u16be(wire_writer_t *w, uint16_t v)
{
    if (w->overflow || w->cap - w->pos < 2u) {
        w->overflow = true;
        return false;
    }
    w->buf[w->pos++] = (uint8_t)(v >> 8);
    w->buf[w->pos++] = (uint8_t)(v & 0xFFu);
    return true;
}

static inline bool wire_put_u32le(wire_writer_t *w, uint32_t v)
{
    if (w->overflow || w->cap - w->pos < 4u) {
        w->overflow = true;
        return false;
    }
    (void)wire_put_u16le(w, (uint16_t)(v & 0xFFFFu));
    (void)wire_put_u16le(w, (uint16_t)(v >> 16));
    return true;
}

/*
 * Two 16-bit registers holding a 32-bit value, low word at the lower
 * address (tinybms-uart.md section 2): lo = reg[N], hi = reg[N+1].
 */
static inline uint32_t wire_u32_lowword_first(uint16_t lo, uint16_t hi)
{
    return (uint32_t)lo | ((uint32_t)hi << 16);
}

/* IEEE-754 single from its bit pattern, without aliasing a pointer. */
static inline float wire_f32_from_bits(uint32_t bits)
{
    union {
        uint32_t u;
        float f;
    } c;
    c.u = bits;
    return c.f;
}

static inline uint32_t wire_f32_to_bits(float f)
{
    union {
        uint32_t u;
        float f;
    } c;
    c.f = f;
    return c.u;
}

#endif /* WIRE_H */
