/*
 * libFuzzer target: the TinyBMS stream parser (both directions), the
 * one-shot parser, and the register decoders fed from whatever frames come
 * out. Properties: no crash/UB, counters consistent, every frame the parser
 * yields re-parses with tbms_parse, register extraction stays in bounds.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "tbms_frame.h"
#include "tbms_snapshot.h"

static void check_frame(const tbms_frame_t *f)
{
    uint16_t regs[TBMS_PAYLOAD_MAX / 2u + 1u];
    size_t n = 0;
    if (tbms_frame_registers(f, regs, sizeof regs / sizeof regs[0], &n) == TBMS_OK) {
        if (n > TBMS_PAYLOAD_MAX / 2u) {
            __builtin_trap();
        }
        tbms_live_t live;
        tbms_settings_t set;
        tbms_version_t ver;
        tbms_stats_t st;
        tbms_events_t ev;
        if (n >= TBMS_LIVE_REG_COUNT) {
            (void)tbms_decode_live(regs, TBMS_LIVE_REG_COUNT, 1, &live);
        }
        if (n >= TBMS_SETTINGS_REG_COUNT) {
            (void)tbms_decode_settings(regs, TBMS_SETTINGS_REG_COUNT, 1, &set);
        }
        if (n >= TBMS_VERSION_REG_COUNT) {
            (void)tbms_decode_version(regs, TBMS_VERSION_REG_COUNT, 1, &ver);
        }
        if (n >= TBMS_STATS_REG_COUNT) {
            (void)tbms_decode_stats(regs, TBMS_STATS_REG_COUNT, 1, &st);
        }
        if (n >= TBMS_EVENTS_REG_COUNT) {
            (void)tbms_decode_events(regs, TBMS_EVENTS_REG_COUNT, 1, &ev);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }
    size_t chunk = 1u + data[0] % 64u;
    data++;
    size--;
    for (int dir = 0; dir < 2; dir++) {
        tbms_parser_t p;
        tbms_parser_init(&p, dir ? TBMS_DIR_REQUEST : TBMS_DIR_RESPONSE);
        uint32_t frames = 0, errors = 0;
        for (size_t off = 0; off < size;) {
            size_t n = size - off < chunk ? size - off : chunk;
            const uint8_t *in = data + off;
            off += n;
            for (;;) {
                size_t used = 0;
                tbms_frame_t f;
                tbms_err_t err;
                tbms_parse_status_t st = tbms_parser_push(&p, in, n, &used, &f, &err);
                in += used;
                n -= used;
                if (st == TBMS_PARSE_FRAME) {
                    frames++;
                    check_frame(&f);
                } else if (st == TBMS_PARSE_ERROR) {
                    errors++;
                } else {
                    break;
                }
            }
        }
        (void)tbms_parser_timeout(&p);
        if (p.stats.frames != frames || p.stats.crc_errors + p.stats.malformed != errors) {
            __builtin_trap();
        }
        tbms_frame_t f;
        if (tbms_parse(dir ? TBMS_DIR_REQUEST : TBMS_DIR_RESPONSE, data, size, &f) == TBMS_OK) {
            check_frame(&f);
        }
    }
    return 0;
}
