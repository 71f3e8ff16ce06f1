/*
 * fixture_bank.h - a real bank's status for the renderer tests (metrics,
 * MQTT): two 4S packs through the whole bridge (fake_bms.h) and
 * status_build. Include after cmocka.h (it asserts).
 */
#ifndef FIXTURE_BANK_H
#define FIXTURE_BANK_H

#include "bridge_config.h"
#include "config.h"
#include "fake_bms.h"
#include "status.h"

/* Two 4S packs read for 3 s (pack 1 charged with 14 A, pack 2 "Left" with
 * 6 A at 60 % SOC), then pack 2 muted for 6 s: past its stale limit,
 * within the offline grace. */
static inline void fixture_silent_bank_status(status_t *st)
{
    static brg_t bank_bridge;
    static uint16_t bank_regs[2][FAKE_BMS_REGS];
    cfg_t cfg;
    cfg_defaults(&cfg);
    cfg.packs.count = 2;
    brg_config_t bc;
    bridge_config_from_cfg(&cfg, &bc);
    uint64_t now = 1000u;
    assert_int_equal(brg_init(&bank_bridge, &bc, now), TBMS_OK);
    for (size_t i = 0; i < 2; i++) {
        fake_bms_pack(bank_regs[i], 4);
    }
    fake_bms_f32(bank_regs[0], 38, 14.0f);
    fake_bms_f32(bank_regs[1], 38, 6.0f);
    fake_bms_u32(bank_regs[1], 46, 60000000u);
    const uint16_t *const images[2] = {bank_regs[0], bank_regs[1]};
    fake_bms_run_packs(&bank_bridge, images, NULL, 2, &now, now + 3000000u);
    const bool alive[2] = {true, false};
    fake_bms_run_packs(&bank_bridge, images, alive, 2, &now, now + 6000000u);
    status_input_t in = {.bridge = &bank_bridge, .now_us = now, .version = "0.1.0",
                         .uart_open = true, .uart_device = "/dev/ttyUSB0",
                         .can = {.connected = true, .bus_state = "active"}};
    in.pack_uart_open[0] = true;
    in.pack_uart_device[0] = "/dev/ttyUSB0";
    in.pack_uart_open[1] = true;
    in.pack_uart_device[1] = "/dev/ttyUSB1";
    in.pack_name[0] = "";
    in.pack_name[1] = "Left";
    assert_true(status_build(&in, 1, st));
    assert_int_equal(st->packs_n, 2);
    assert_string_equal(st->packs[1].state, "silent");
}

#endif /* FIXTURE_BANK_H */
