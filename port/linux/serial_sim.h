/*
 * serial_sim.h - the built-in TinyBMS simulator behind the serial vtable,
 * so `tinybms-bridge --simulate` runs the very code path of a real UART.
 *
 * Bytes written go to the simulator (tbms_sim_receive); its answers come
 * back through a non-blocking pipe whose read end is the fd the event
 * loop polls. Time is CLOCK_MONOTONIC.
 *
 * Two uses:
 *   - ONE pack (`--simulate`): serial_sim_ctx_init(&ctx), then
 *     serial_port_init(&port, &serial_sim_ops, &ctx). open() (re)starts
 *     the simulated BMS from ctx.cfg.
 *   - A BANK of N packs in parallel on one DC bus (`--simulate=N`, N =
 *     1..SERIAL_SIM_BANK_MAX; sim/tbms_sim_bus.h), each pack its own
 *     TinyBMS behind its own serial port and pipe:
 *
 *         static serial_sim_bank_t bank;            (about 18 kB: keep it static)
 *         if (serial_sim_bank_init(&bank, n, NULL) != 0) -> n out of range
 *         for (i = 0; i < n; i++)
 *             serial_port_init(&port[i], &serial_sim_ops, serial_sim_bank_ctx(&bank, i));
 *             serial_port_open(&port[i], "simulator", 115200u);
 *
 *     Before any pack answers (every write and read of any of the N
 *     ports) the bus is stepped to the monotonic now, and the pack then
 *     answers at that same now: all packs stay on one time base, and each
 *     TinyBMS reports its own share of the bank current. The external
 *     current is the demo day scaled to the bank (tbms_sim_bus.h), kept to
 *     the bridge's 0x351 limits once serial_sim_bank_set_dvcc_limits() is
 *     called; to impose one, tbms_sim_bus_set_current_ma(serial_sim_bank_bus(&bank), ma).
 *     open() of a bank pack only connects its pipe: the pack keeps its
 *     state across close/open (a replugged cable does not reset a battery).
 *
 * Everything here runs in the caller's thread; use all contexts of one
 * bank from one thread (the daemon's poll loop). No locking.
 */
#ifndef SERIAL_SIM_H
#define SERIAL_SIM_H

#include <stdbool.h>

#include "serial_port.h"
#include "tbms_sim.h"
#include "tbms_sim_bus.h"

/* Packs a bank holds. */
#define SERIAL_SIM_BANK_MAX TBMS_SIM_BUS_MAX_PACKS

typedef struct serial_sim_bank serial_sim_bank_t;

typedef struct {
    tbms_sim_config_t cfg; /* used at open() (one pack) or at serial_sim_bank_init */
    tbms_sim_t sim;
    int pipe_fd[2];          /* [0] read end (polled), [1] write end; -1 when closed */
    serial_sim_bank_t *bank; /* NULL: one pack on its own; else the bank it belongs to */
} serial_sim_t;

/* N packs on one bus. Caller-owned; treat the fields as private. */
struct serial_sim_bank {
    unsigned count;
    serial_sim_t pack[SERIAL_SIM_BANK_MAX];
    tbms_sim_bus_t bus;
};

/* Closed context with the simulator's default configuration (one pack). */
void serial_sim_ctx_init(serial_sim_t *ctx);

/* open() ignores path and baud; for one pack it (re)starts the simulated
 * BMS, for a bank pack it only connects the pipe. */
extern const serial_ops_t serial_sim_ops;

/*
 * The configuration of pack i of a bank: tbms_sim_bus_mismatched_config()
 * on the simulator's defaults, deliberately mismatched packs of the same
 * 16S LFP chemistry, time scale and demo setting, so the bridge sees
 * unequal shares, SOCs and cell voltages:
 *   pack 0: the single-pack default, 280 Ah, 0.5 mOhm/cell, SOC 55 %, seed 1;
 *   pack 1: 80 % capacity (224 Ah), 30 % more resistance (0.65 mOhm),
 *           10 points lower SOC (45 %), seed 2;
 *   pack 2: 280 Ah, 10 % more resistance (0.55 mOhm), SOC 60 %, twice the
 *           cell capacity spread (3 %), seed 3;
 *   pack 3: 110 % capacity (308 Ah), 10 % less resistance (0.45 mOhm),
 *           SOC 52 %, seed 4.
 * i >= SERIAL_SIM_BANK_MAX gives pack 0's.
 */
tbms_sim_config_t serial_sim_bank_pack_config(unsigned i);

/*
 * Builds a bank of n packs, each from cfgs[i] (cfgs NULL: the
 * serial_sim_bank_pack_config() ones), starts every simulated BMS and the
 * bus at the monotonic now, and leaves every pack's pipe closed until its
 * open(). Returns 0, or -EINVAL (bank NULL, n not in 1..SERIAL_SIM_BANK_MAX,
 * a configuration tbms_sim_init refuses, packs whose time_scale or
 * demo_profile differ).
 */
int serial_sim_bank_init(serial_sim_bank_t *bank, unsigned n, const tbms_sim_config_t *cfgs);

/* The serial_sim_ops context of pack i, or NULL for a bad index. */
serial_sim_t *serial_sim_bank_ctx(serial_sim_bank_t *bank, unsigned i);

/* Opens (true) or closes (false) pack i's switch by hand: its current
 * drops to 0 at once and the others carry the bank; its BMS keeps
 * answering (and reports 0 A). A bad index is ignored. */
void serial_sim_bank_set_switch_open(serial_sim_bank_t *bank, unsigned i, bool open);

/* Mutes (true) or unmutes pack i's UART, like a cut RX line: no answers,
 * while the pack stays on the bus and carries its share. A bad index is
 * ignored. */
void serial_sim_bank_set_muted(serial_sim_bank_t *bank, unsigned i, bool muted);

/* The bank's bus, to read it (tbms_sim_bus_*) or impose a current. */
tbms_sim_bus_t *serial_sim_bank_bus(serial_sim_bank_t *bank);

/*
 * DVCC: the limits a Victron charger and inverter would obey, as the
 * bridge just sent them in 0x351 (ccl_ma = ccl_da * 100, dcl_ma =
 * dcl_da * 100, cvl_mv, dvl_mv as vcan_limits_t has them), taken at the
 * monotonic now. The simulated demo current then keeps to them: charge
 * <= CCL and tapering to 0 at CVL, discharge <= DCL and 0 at DVL, and 0 A
 * both ways once no call came for TBMS_SIM_DVCC_TIMEOUT_MS (5 s): the rules
 * are tbms_sim_set_dvcc_limits() (one pack) and
 * tbms_sim_bus_set_dvcc_limits() (a bank, the limits of the whole bank).
 * Call it for every 0x351 sent. Never called: the demo current as before.
 *
 * serial_sim_set_dvcc_limits: one pack (ctx not in a bank) after its
 * open(); a bank pack's ctx is refused (give the bank's limits to the
 * bank). serial_sim_bank_set_dvcc_limits: a bank from serial_sim_bank_init.
 * Return 0, or -EINVAL (NULL, a pack not open or in a bank, a negative
 * value; nothing changes).
 */
int serial_sim_set_dvcc_limits(serial_sim_t *ctx, int32_t ccl_ma, int32_t dcl_ma, int32_t cvl_mv,
                               int32_t dvl_mv);
int serial_sim_bank_set_dvcc_limits(serial_sim_bank_t *bank, int32_t ccl_ma, int32_t dcl_ma,
                                    int32_t cvl_mv, int32_t dvl_mv);

#endif /* SERIAL_SIM_H */
