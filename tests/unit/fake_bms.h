/*
 * fake_bms.h - a TinyBMS register image answered through the real frame
 * codec, for the tests that drive the whole bridge (bridge.h).
 *
 * fake_bms_pack() fills a healthy LFP pack of N cells at 3.300 V + 1 mV
 * per cell, 10.5 A charging, 55.5 % SOC, sensor 1 at 25 C, sensor 2
 * absent, board at 30 C; BMS cutoffs 3650/2800 mV, 80 A charge and
 * 150 A discharge over-current, 60 C over-heat.
 */
#ifndef FAKE_BMS_H
#define FAKE_BMS_H

#include <stdint.h>
#include <string.h>

#include "bridge.h"
#include "tbms_frame.h"
#include "wire.h"

#define FAKE_BMS_REGS 600u

static inline void fake_bms_f32(uint16_t *regs, uint16_t addr, float v)
{
    uint32_t bits = wire_f32_to_bits(v);
    regs[addr] = (uint16_t)(bits & 0xFFFFu); /* low word first */
    regs[addr + 1] = (uint16_t)(bits >> 16);
}

static inline void fake_bms_u32(uint16_t *regs, uint16_t addr, uint32_t v)
{
    regs[addr] = (uint16_t)(v & 0xFFFFu);
    regs[addr + 1] = (uint16_t)(v >> 16);
}

static inline void fake_bms_pack(uint16_t *regs, uint16_t cells)
{
    memset(regs, 0, FAKE_BMS_REGS * sizeof regs[0]);
    uint32_t sum_100uv = 0;
    /* Cells are top-aligned on the connector (tinybms-uart.md 7.2). */
    for (uint16_t i = 0; i < cells; i++) {
        regs[16 - cells + i] = (uint16_t)(33000 + i * 10);
        sum_100uv += regs[16 - cells + i];
    }
    fake_bms_u32(regs, 32, 1000000);
    fake_bms_f32(regs, 36, (float)sum_100uv / 10000.0f);
    fake_bms_f32(regs, 38, 10.5f);
    regs[40] = 3300;
    regs[41] = (uint16_t)(3300 + (cells - 1u));
    regs[42] = 250;
    regs[43] = 0x8000; /* sensor 2 absent */
    regs[45] = 50000;
    fake_bms_u32(regs, 46, 55500000);
    regs[48] = 300;
    regs[50] = 0x91;
    regs[53] = cells;
    regs[300] = 3550;
    regs[301] = 2900;
    regs[303] = 3400;
    regs[304] = 1000;
    regs[306] = 28000;
    regs[307] = cells;
    regs[308] = 15;
    regs[315] = 3650;
    regs[316] = 2800;
    regs[317] = 150;
    regs[318] = 80;
    regs[319] = 60;
    regs[320] = 0;
    regs[500] = 0x0102;
    regs[501] = 0x0301;
    regs[502] = 242;
}

/* Answers one request from the image; false if the request is not a read. */
static inline bool fake_bms_answer(const uint16_t *regs, const tbms_poll_tx_t *tx, uint8_t *out,
                                   size_t cap, size_t *n)
{
    tbms_frame_t req;
    if (tbms_parse(TBMS_DIR_REQUEST, tx->bytes, tx->len, &req) != TBMS_OK ||
        req.addr + req.count > FAKE_BMS_REGS) {
        return false;
    }
    return tbms_build_read_response(&regs[req.addr], req.count, out, cap, n) == TBMS_OK;
}

/* Runs the UART side of b from *now to until, answering every request at
 * once when alive; *now ends just past until. */
static inline void fake_bms_run(brg_t *b, const uint16_t *regs, bool alive, uint64_t *now,
                                uint64_t until)
{
    while (*now <= until) {
        tbms_poll_tx_t tx;
        uint8_t out[TBMS_FRAME_MAX];
        size_t n;
        if (brg_uart_step(b, 0u, *now, &tx) && alive &&
            fake_bms_answer(regs, &tx, out, sizeof out, &n)) {
            brg_uart_rx(b, 0u, out, n, *now);
        }
        uint64_t next = brg_next_us(b);
        *now = next > *now ? (next < until + 1u ? next : until + 1u) : *now + 1000u;
    }
}

/* As fake_bms_run for a bridge of n packs: pack i answers from regs[i]
 * when alive[i] (NULL: every pack alive); the CAN side runs too (its
 * frames dropped), as the bank is stepped when its frames are due. */
static inline void fake_bms_run_packs(brg_t *b, const uint16_t *const regs[], const bool *alive,
                                      size_t n, uint64_t *now, uint64_t until)
{
    while (*now <= until) {
        for (size_t i = 0; i < n; i++) {
            tbms_poll_tx_t tx;
            uint8_t out[TBMS_FRAME_MAX];
            size_t len;
            if (brg_uart_step(b, i, *now, &tx) && (alive == NULL || alive[i]) &&
                fake_bms_answer(regs[i], &tx, out, sizeof out, &len)) {
                brg_uart_rx(b, i, out, len, *now);
            }
        }
        vcan_frame_t frames[BRG_MAX_FRAMES_PER_TICK];
        (void)brg_can_tx(b, *now, frames, BRG_MAX_FRAMES_PER_TICK);
        uint64_t next = brg_next_us(b);
        *now = next > *now ? (next < until + 1u ? next : until + 1u) : *now + 1000u;
    }
}

#endif /* FAKE_BMS_H */
