/* libFuzzer target: the slcan line parser and the encoder round trip. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "slcan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    slcan_parser_t p;
    slcan_parser_init(&p);
    size_t off = 0;
    while (off < size) {
        slcan_event_t ev;
        size_t used = slcan_parser_feed(&p, data + off, size - off, &ev);
        if (used == 0 || used > size - off) {
            __builtin_trap(); /* must always make progress */
        }
        off += used;
        if (ev.kind == SLCAN_EV_FRAME) {
            /* every standard frame re-encodes and parses back to itself */
            char line[64];
            size_t n = 0;
            if (slcan_encode(&ev.frame, line, sizeof line, &n) != SLCAN_OK || n < 2) {
                __builtin_trap();
            }
            slcan_event_t back;
            if (slcan_parse_line(line, n - 1u, &back) != SLCAN_OK ||
                back.frame.id != ev.frame.id || back.frame.dlc != ev.frame.dlc ||
                memcmp(back.frame.data, ev.frame.data, ev.frame.dlc) != 0) {
                __builtin_trap();
            }
        }
    }
    slcan_event_t ev;
    (void)slcan_parse_line((const char *)data, size, &ev);
    return 0;
}
