/*
 * fixture_fw_image.h - ESP-IDF application images built byte by byte from
 * the layout in app/fw_image.h's table, for the tests of the image checks
 * (test_fw_image) and of an upload (test_esp32_ota).
 */
#ifndef FIXTURE_FW_IMAGE_H
#define FIXTURE_FW_IMAGE_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#define IMG_CAP 8192u

typedef struct {
    uint16_t chip_id;
    uint8_t segments;
    uint32_t seg_len[4]; /* data length of each segment (seg_len[0] holds the app description) */
    const char *project;
    const char *version;
    bool hash;
} spec_t;

static inline void wr32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static inline spec_t good_spec(void)
{
    spec_t s = {.chip_id = 5, /* esp32c3 */
                .segments = 3,
                .seg_len = {512, 1024, 36, 0},
                .project = "tinybms-bridge",
                .version = "1.4.0-12-gabcdef",
                .hash = true};
    return s;
}

/* Writes an image of spec s into img; returns its length. */
static inline size_t build(const spec_t *s, uint8_t *img)
{
    memset(img, 0, IMG_CAP);
    img[0] = 0xE9;
    img[1] = s->segments;
    img[2] = 2;    /* DIO */
    img[3] = 0x20; /* 4 MB, 40 MHz */
    wr32(img + 4, 0x40380000u);
    img[8] = 0xEE;
    img[12] = (uint8_t)s->chip_id;
    img[13] = (uint8_t)(s->chip_id >> 8);
    img[23] = s->hash ? 1 : 0;
    size_t pos = 24;
    uint8_t sum = 0xEF;
    for (unsigned k = 0; k < s->segments && k < 4u; k++) {
        wr32(img + pos, 0x3C000000u + k * 0x10000u);
        wr32(img + pos + 4, s->seg_len[k]);
        pos += 8;
        uint8_t *d = img + pos;
        for (uint32_t i = 0; i < s->seg_len[k]; i++) {
            d[i] = (uint8_t)(i * 7u + k);
        }
        if (k == 0 && s->seg_len[0] >= 256u) {
            memset(d, 0, 256);
            wr32(d, 0xABCD5432u);
            wr32(d + 4, 3);
            memcpy(d + 16, s->version, strlen(s->version));
            memcpy(d + 48, s->project, strlen(s->project));
            memcpy(d + 80, "12:34:56", 8);
            memcpy(d + 96, "Dec  2 2026", 11);
            memcpy(d + 112, "v6.0.2", 6);
        }
        for (uint32_t i = 0; i < s->seg_len[k]; i++) {
            sum ^= d[i];
        }
        pos += s->seg_len[k];
    }
    size_t padded = (pos + 1u + 15u) & ~(size_t)15u;
    img[padded - 1u] = sum;
    pos = padded;
    if (s->hash) {
        for (unsigned i = 0; i < 32u; i++) {
            img[pos + i] = (uint8_t)(0xA0u + i);
        }
        pos += 32u;
    }
    return pos;
}

#endif /* FIXTURE_FW_IMAGE_H */
