/*
 * bench-cycle: the cost of one bridge cycle, for `make bench`.
 *
 * One cycle = the poller's request, the BMS answer decoded (56 live
 * registers), charge limits and alarms re-evaluated, and every Victron
 * frame encoded (brg_build_all: 17 frames). The answer bytes are prepared
 * by a simulated TinyBMS outside the measured function.
 *
 * Under valgrind --tool=callgrind --toggle-collect=bench_cycle_once the
 * instruction count of exactly that work is collected; divide by --cycles.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bridge.h"
#include "tbms_sim.h"

#define STEP_US 100000u

static brg_t brg;
static tbms_sim_t sim;
static uint64_t now_us;
static size_t frames_total;

/* Kept out of line so callgrind can collect exactly this function. */
__attribute__((noinline)) size_t bench_cycle_once(const uint8_t *rsp, size_t rsp_len,
                                                   vcan_frame_t *frames);

__attribute__((noinline)) size_t bench_cycle_once(const uint8_t *rsp, size_t rsp_len,
                                                   vcan_frame_t *frames)
{
    brg_uart_rx(&brg, 0u, rsp, rsp_len, now_us);
    return brg_build_all(&brg, frames, BRG_MAX_FRAMES_PER_TICK);
}

int main(int argc, char **argv)
{
    long cycles = argc > 2 && strcmp(argv[1], "--cycles") == 0 ? atol(argv[2]) : 10000;
    if (cycles <= 0) {
        fprintf(stderr, "usage: bench-cycle [--cycles N]\n");
        return 2;
    }
    tbms_sim_config_t sc = tbms_sim_default_config();
    sc.sleep_enabled = false;
    if (tbms_sim_init(&sim, &sc, 0) != TBMS_SIM_OK) {
        fprintf(stderr, "bench-cycle: simulator init failed\n");
        return 1;
    }
    brg_config_t cfg;
    brg_default_config(&cfg);
    cfg.poll.stats_period_us = 0;
    cfg.poll.events_period_us = 0;
    if (brg_init(&brg, &cfg, 0) != TBMS_OK) {
        fprintf(stderr, "bench-cycle: bridge init failed\n");
        return 1;
    }
    vcan_frame_t frames[BRG_MAX_FRAMES_PER_TICK];
    uint8_t rsp[TBMS_FRAME_MAX];
    double ns_total = 0;
    long measured = 0;
    for (long i = 0; i < cycles + 3; i++) {
        tbms_poll_tx_t tx;
        if (!brg_uart_step(&brg, 0u, now_us, &tx)) {
            now_us += STEP_US;
            i--;
            continue;
        }
        size_t len = 0;
        if (tbms_sim_receive(&sim, tx.bytes, tx.len, now_us / 1000u, rsp, sizeof rsp, &len) !=
                TBMS_SIM_OK ||
            len == 0) {
            fprintf(stderr, "bench-cycle: the simulator did not answer\n");
            return 1;
        }
        struct timespec a, b;
        clock_gettime(CLOCK_MONOTONIC, &a);
        size_t n = bench_cycle_once(rsp, len, frames);
        clock_gettime(CLOCK_MONOTONIC, &b);
        if (i >= 3) { /* settings, version and the first live read are warm-up */
            ns_total += (double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec);
            measured++;
            frames_total += n;
        }
        now_us += STEP_US;
    }
    if (brg.state != BRG_DATA_VALID) {
        fprintf(stderr, "bench-cycle: the bridge never saw valid data\n");
        return 1;
    }
    printf("cycles %ld frames_per_cycle %.1f wall_ns_per_cycle %.0f\n", measured,
           (double)frames_total / (double)measured, ns_total / (double)measured);
    return 0;
}
