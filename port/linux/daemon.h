/*
 * daemon.h - the Linux bridge: configuration, devices and the single
 * poll() event loop that owns the serial fd and the CAN fd
 * (architecture.md "Platform boundary").
 */
#ifndef DAEMON_H
#define DAEMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DAEMON_MAX_UARTS 4u /* BRG_MAX_PACKS; checked in daemon.c */

typedef struct {
    const char *config_path; /* NULL: <data_dir>/config.json */
    const char *data_dir;    /* NULL: default (see daemon_default_data_dir) */
    const char *uart[DAEMON_MAX_UARTS]; /* --uart: one overrides hardware.uart.device,
                                         * several are packs 1..N (the "packs" section) */
    size_t uart_count;
    uint32_t baud;           /* 0: hardware.uart.baudrate */
    const char *can;         /* overrides hardware.can.interface */
    unsigned simulate;       /* built-in TinyBMS simulator: 0 none, N packs (1 = one) */
    double duration_s;       /* > 0: stop cleanly after this long */
    bool print_frames;       /* decoded CAN frames on stdout */
    int log_level;           /* -1: logging.level from the configuration */
    const char *http;        /* --http "ADDR:PORT" or "off"; NULL: web_server.* */
    bool dbus;               /* --dbus: the Venus OS D-Bus battery service (victron.dbus.enabled);
                              * without can: no CAN port at all */
} daemon_opts_t;

/* Exit codes. */
enum {
    DAEMON_EXIT_OK = 0,
    DAEMON_EXIT_DEVICE = 1, /* a device could not be opened */
    DAEMON_EXIT_USAGE = 2,  /* bad command line or configuration */
};

/* /var/lib/tinybms-bridge for root, else $XDG_STATE_HOME or ~/.local/state/tinybms-bridge. */
const char *daemon_default_data_dir(void);

/* Runs until SIGINT/SIGTERM or the duration; returns an exit code. */
int daemon_run(const daemon_opts_t *opts);

#endif /* DAEMON_H */
