/*
 * The smallest firmware a microcontroller port would build around the core:
 * the bridge tick with its UART and CAN hooks (no OS, no heap). `make cross`
 * links it with --gc-sections so the reported size is what a device really
 * carries: the core code reachable from the bridge, plus the C library and
 * compiler helpers it needs (memcpy, 64-bit division, soft float on RV32).
 */
#include <stddef.h>
#include <stdint.h>

#include "bridge.h"

static brg_t bridge;

/* Stand-ins for the port's drivers; volatile so nothing is optimised away. */
static volatile uint8_t uart_rx_byte;
static volatile uint32_t can_sent;
static volatile uint64_t fake_clock_us;

int main(void);

int main(void)
{
    brg_config_t cfg;
    brg_default_config(&cfg);
    if (brg_init(&bridge, &cfg, fake_clock_us) != TBMS_OK) {
        return 1;
    }
    for (;;) {
        uint64_t now = fake_clock_us;
        tbms_poll_tx_t tx;
        if (brg_uart_step(&bridge, 0u, now, &tx)) {
            can_sent += (uint32_t)tx.len;
        }
        uint8_t b = uart_rx_byte;
        brg_uart_rx(&bridge, 0u, &b, 1u, now);
        vcan_frame_t frames[BRG_MAX_FRAMES_PER_TICK];
        size_t n = brg_can_tx(&bridge, now, frames, BRG_MAX_FRAMES_PER_TICK);
        for (size_t i = 0; i < n; i++) {
            can_sent += frames[i].data[0];
        }
        vcan_frame_t rx = {.id = 0x305u, .dlc = 8u, .data = {0}};
        brg_can_rx(&bridge, &rx, now);
        fake_clock_us = now + 1000u;
    }
}
