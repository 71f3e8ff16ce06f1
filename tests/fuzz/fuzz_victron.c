/*
 * libFuzzer target: every Victron CAN-BMS decoder, and the numeric
 * encoders: a decoded frame re-encodes without error, and a re-encoded
 * frame decodes to the same values (encode(decode(x)) is a fixed point).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "victron_alarms.h"
#include "victron_can.h"

static const uint16_t ids[] = {0x351, 0x355, 0x356, 0x35A, 0x35E, 0x35F, 0x370, 0x371, 0x372,
                               0x373, 0x374, 0x375, 0x376, 0x377, 0x378, 0x379, 0x382, 0x305,
                               0x307, 0x123};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2) {
        return 0;
    }
    vcan_frame_t f;
    memset(&f, 0, sizeof f);
    f.id = ids[data[0] % (sizeof ids / sizeof ids[0])];
    f.dlc = (uint8_t)(data[1] % 10u); /* 8 and 9 test the DLC bound */
    size_t n = size - 2 < 8 ? size - 2 : 8;
    memcpy(f.data, data + 2, n);
    vcan_decoded_t d;
    if (vcan_decode(&f, &d) != VCAN_OK) {
        return 0;
    }
    vcan_frame_t again, third;
    vcan_decoded_t d2;
    switch (f.id) {
    case 0x351:
        if (vcan_encode_limits(&d.limits, &again) != VCAN_OK ||
            vcan_decode_limits(&again, &d2.limits) != VCAN_OK ||
            vcan_encode_limits(&d2.limits, &third) != VCAN_OK ||
            memcmp(again.data, third.data, 8) != 0) {
            __builtin_trap();
        }
        break;
    case 0x373:
        if (vcan_encode_cells(&d.cells, &again) != VCAN_OK ||
            vcan_decode_cells(&again, &d2.cells) != VCAN_OK ||
            vcan_encode_cells(&d2.cells, &third) != VCAN_OK ||
            memcmp(again.data, third.data, 8) != 0) {
            __builtin_trap();
        }
        break;
    case 0x35A: {
        /* pairs 0b11 decode as INVALID and are refused by the encoder */
        bool invalid = false;
        for (unsigned c = 0; c < VCAN_COND_COUNT; c++) {
            invalid |= d.alarms.alarm[c] == VCAN_PAIR_INVALID ||
                       d.alarms.warning[c] == VCAN_PAIR_INVALID;
        }
        vcan_err_t e = vcan_encode_alarms(&d.alarms, &again);
        if ((e == VCAN_OK) == invalid) {
            __builtin_trap();
        }
        if (e == VCAN_OK && f.dlc == 8 && memcmp(again.data, f.data, 8) != 0) {
            __builtin_trap();
        }
        break;
    }
    default:
        break;
    }
    return 0;
}
