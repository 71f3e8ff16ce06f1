/*
 * bench-cycle: the cost of one bridge cycle, for `make bench`.
 *
 * One cycle = the poller's request, the BMS answer decoded (56 live
 * registers), charge limits and alarms re-evaluated, and every Victron
 * frame encoded (brg_build_all: 17 frames). With --packs N (a bank of N
 * packs in parallel) one cycle takes in one answer of every pack, each
 * followed by its limits and alarms and the bank's step, then encodes the
 * frames once. The answer bytes are prepared
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
static tbms_sim_t sim[BRG_MAX_PACKS];
static uint64_t now_us;
static size_t frames_total;
static size_t packs = 1;

typedef struct {
    uint8_t bytes[TBMS_FRAME_MAX];
    size_t len;
} answer_t;

/* Kept out of line so callgrind can collect exactly this function. */
__attribute__((noinline)) size_t bench_cycle_once(const answer_t *rsp, vcan_frame_t *frames);

/* One cycle: every pack's answer taken in, then every frame built. */
__attribute__((noinline)) size_t bench_cycle_once(const answer_t *rsp, vcan_frame_t *frames)
{
    for (size_t i = 0; i < packs; i++) {
        brg_uart_rx(&brg, i, rsp[i].bytes, rsp[i].len, now_us);
    }
    brg_refresh(&brg, now_us); /* the bank's step (nothing with one pack) */
    return brg_build_all(&brg, frames, BRG_MAX_FRAMES_PER_TICK);
}

static void usage(void)
{
    fprintf(stderr, "usage: bench-cycle [--cycles N] [--packs 1..%u]\n", BRG_MAX_PACKS);
}

int main(int argc, char **argv)
{
    long cycles = 10000;
    for (int a = 1; a + 1 < argc; a += 2) {
        if (strcmp(argv[a], "--cycles") == 0) {
            cycles = atol(argv[a + 1]);
        } else if (strcmp(argv[a], "--packs") == 0) {
            long p = atol(argv[a + 1]);
            packs = p >= 1 && p <= (long)BRG_MAX_PACKS ? (size_t)p : 0u;
        } else {
            cycles = 0;
        }
    }
    if (cycles <= 0 || packs == 0u || argc % 2 == 0) {
        usage();
        return 2;
    }
    for (size_t i = 0; i < packs; i++) {
        tbms_sim_config_t sc = tbms_sim_default_config();
        sc.sleep_enabled = false;
        sc.seed += (uint32_t)i;
        if (tbms_sim_init(&sim[i], &sc, 0) != TBMS_SIM_OK) {
            fprintf(stderr, "bench-cycle: simulator init failed\n");
            return 1;
        }
    }
    brg_config_t cfg;
    brg_default_config(&cfg);
    cfg.packs = (uint8_t)packs;
    cfg.poll.stats_period_us = 0;
    cfg.poll.events_period_us = 0;
    if (brg_init(&brg, &cfg, 0) != TBMS_OK) {
        fprintf(stderr, "bench-cycle: bridge init failed\n");
        return 1;
    }
    vcan_frame_t frames[BRG_MAX_FRAMES_PER_TICK];
    answer_t rsp[BRG_MAX_PACKS];
    double ns_total = 0;
    long measured = 0;
    long warm = 3;
    for (long i = 0; i < cycles + warm;) {
        /* Every pack's poller runs the same schedule: their requests are due together. */
        size_t sent = 0;
        for (size_t p = 0; p < packs; p++) {
            tbms_poll_tx_t tx;
            rsp[p].len = 0;
            if (!brg_uart_step(&brg, p, now_us, &tx)) {
                continue;
            }
            if (tbms_sim_receive(&sim[p], tx.bytes, tx.len, now_us / 1000u, rsp[p].bytes,
                                 sizeof rsp[p].bytes, &rsp[p].len) != TBMS_SIM_OK ||
                rsp[p].len == 0) {
                fprintf(stderr, "bench-cycle: the simulator did not answer\n");
                return 1;
            }
            sent++;
        }
        if (sent == 0u) {
            now_us += STEP_US;
            continue;
        }
        if (sent != packs) {
            fprintf(stderr, "bench-cycle: the packs' requests fell out of step\n");
            return 1;
        }
        struct timespec a, b;
        clock_gettime(CLOCK_MONOTONIC, &a);
        size_t n = bench_cycle_once(rsp, frames);
        clock_gettime(CLOCK_MONOTONIC, &b);
        if (i >= warm) { /* settings, version and the first live read are warm-up */
            ns_total += (double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec);
            measured++;
            frames_total += n;
        }
        i++;
        now_us += STEP_US;
    }
    if (brg.state != BRG_DATA_VALID) {
        fprintf(stderr, "bench-cycle: the bridge never saw valid data\n");
        return 1;
    }
    printf("packs %zu cycles %ld frames_per_cycle %.1f wall_ns_per_cycle %.0f\n", packs, measured,
           (double)frames_total / (double)measured, ns_total / (double)measured);
    return 0;
}
