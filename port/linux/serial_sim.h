/*
 * serial_sim.h - the built-in TinyBMS simulator behind the serial vtable,
 * so `tinybms-bridge --simulate` runs the very code path of a real UART.
 *
 * Bytes written go to the simulator (tbms_sim_receive); its answers come
 * back through a non-blocking pipe whose read end is the fd the event
 * loop polls. Time is CLOCK_MONOTONIC.
 */
#ifndef SERIAL_SIM_H
#define SERIAL_SIM_H

#include "serial_port.h"
#include "tbms_sim.h"

typedef struct {
    tbms_sim_config_t cfg; /* used at open() */
    tbms_sim_t sim;
    int pipe_fd[2]; /* [0] read end (polled), [1] write end; -1 when closed */
} serial_sim_t;

/* Closed context with the simulator's default configuration. */
void serial_sim_ctx_init(serial_sim_t *ctx);

/* open() ignores path and baud; it (re)starts the simulated BMS. */
extern const serial_ops_t serial_sim_ops;

#endif /* SERIAL_SIM_H */
