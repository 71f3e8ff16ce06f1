/*
 * The Linux bridge event loop. One thread: poll() on the serial fd and the
 * CAN fd with a timeout from the core's next deadline, so the core decides
 * every time-based action and nothing here sleeps.
 */
#include "daemon.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "atomic_file.h"
#include "bridge.h"
#include "bridge_config.h"
#include "can_port.h"
#include "can_text.h"
#include "config.h"
#include "config_store.h"
#include "diag.h"
#include "energy_store.h"
#include "hub.h"
#include "http_server.h"
#include "http_write.h"
#include "hub_svc.h"
#include "log.h"
#include "mqtt.h"
#include "serial_port.h"
#include "service.h"
#include "serial_sim.h"
#include "venus_dbus.h"

#ifndef TBVB_VERSION
#define TBVB_VERSION "dev"
#endif
#define TBVB_VERSION_STRING TBVB_VERSION

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static uint64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

const char *daemon_default_data_dir(void)
{
    static char path[PATH_MAX];
    if (geteuid() == 0) {
        return "/var/lib/tinybms-bridge";
    }
    const char *state = getenv("XDG_STATE_HOME");
    const char *home = getenv("HOME");
    if (state != NULL && state[0] == '/') {
        snprintf(path, sizeof path, "%s/tinybms-bridge", state);
    } else if (home != NULL && home[0] == '/') {
        snprintf(path, sizeof path, "%s/.local/state/tinybms-bridge", home);
    } else {
        snprintf(path, sizeof path, "./tinybms-bridge-data");
    }
    return path;
}

/* mkdir -p with mode 0755 for each missing component. */
static int make_dirs(const char *path)
{
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s", path) >= (int)sizeof tmp) {
        errno = ENAMETOOLONG;
        return -1;
    }
    for (char *p = tmp + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            if (mkdir(tmp, 0755) != 0 && errno != EEXIST) {
                return -1;
            }
            *p = '/';
        }
    }
    if (mkdir(tmp, 0755) != 0 && errno != EEXIST) {
        return -1;
    }
    return 0;
}

_Static_assert(DAEMON_MAX_UARTS == BRG_MAX_PACKS, "one --uart per pack");
_Static_assert(CFG_MAX_PACKS == BRG_MAX_PACKS, "one packs[] entry per pack");

/* One pack's serial port. */
typedef struct {
    serial_port_t port;
    serial_posix_t posix;
    serial_sim_t sim;
    bool open;
    uint64_t retry_us;
    char name[40]; /* "TinyBMS UART" (one pack) or "pack 2 UART" for the logs */
    char device[CFG_PATH_LEN]; /* path, or "simulator" / "simulator 2" */
} daemon_uart_t;

typedef struct {
    const daemon_opts_t *opts;
    cfg_t cfg;   /* the running configuration as the port uses it (devices, logging) */
    svc_t svc;   /* every decision above the core (app/service.h) */
    size_t n_uarts;                  /* one per pack, pack 1 first */
    daemon_uart_t uart[BRG_MAX_PACKS];
    canport_t can;
    uint64_t start_us;
    hub_t *hub;
    diag_t *diag; /* diagnostics, metrics, watchdog */
    mqtt_t *mqtt;
    char config_path[PATH_MAX];
    cfg_packs_t file_packs; /* the "packs" section of the file, without --uart / --simulate */
    const char *data_dir;
    char energy_path[PATH_MAX]; /* <data dir>/energy.json (0x378 counters) */
    energy_writer_t *energy;    /* saves it off the loop thread */
    venus_dbus_t *vdbus;        /* the Venus OS D-Bus battery service; NULL when off */
    bool can_off;               /* --dbus without --can: no CAN port is opened */
} daemon_t;

/* ---- the service's platform side (svc_ops_t) ---- */

static void svc_log(void *ctx, svc_log_level_t level, const char *line)
{
    (void)ctx;
    log_msg((log_level_t)level, "%s", line);
}

/* Handed to the writer thread: the fsyncs of the save never stall the loop;
 * the writer logs a failed save itself. Without a writer (no thread could
 * be made) the save is done here. */
static bool svc_save_energy(void *ctx, uint64_t charged_mwh, uint64_t discharged_mwh)
{
    daemon_t *d = ctx;
    if (d->energy != NULL) {
        energy_writer_post(d->energy, charged_mwh, discharged_mwh);
        return true;
    }
    if (!energy_save(d->energy_path, charged_mwh, discharged_mwh)) {
        log_warn("energy counters %s: %s", d->energy_path, strerror(errno));
        return false;
    }
    return true;
}

static void svc_publish_status(void *ctx, const status_t *st)
{
    daemon_t *d = ctx;
    hub_svc_publish_status(d->hub, st);
    venus_dbus_publish(d->vdbus, st);
}

static uint64_t wall_ms(void);

static void svc_publish_history(void *ctx, const svc_t *svc)
{
    daemon_t *d = ctx;
    hub_svc_publish_history(d->hub, svc);
}

static void svc_publish_registers(void *ctx, const svc_t *svc, uint64_t now_us)
{
    daemon_t *d = ctx;
    hub_svc_publish_registers(d->hub, svc, now_us, wall_ms());
}

static const svc_ops_t svc_ops = {
    .log = svc_log,
    .save_energy = svc_save_energy,
    .publish_status = svc_publish_status,
    .publish_history = svc_publish_history,
    .publish_registers = svc_publish_registers,
};

static uint64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* What only the port knows, for the service's reports and documents. */
static svc_io_t io_now(daemon_t *d)
{
    canport_stats_t cs;
    canport_get_stats(&d->can, &cs);
    svc_io_t io = {
        .can =
            {
                .tx_frames = cs.tx_frames,
                .tx_drops = cs.tx_drops,
                .tx_errors = cs.tx_errors,
                .rx_frames = cs.rx_frames,
                .rx_errors = cs.rx_errors,
                .reconnects = cs.reconnects,
                .bus_off_count = cs.bus_off_count,
                .bus_state = canport_bus_state_name(cs.bus_state),
                .tx_error_counter = cs.tx_error_counter,
                .rx_error_counter = cs.rx_error_counter,
                .connected = cs.connected,
                .interface = d->can_off ? "none" : d->cfg.hardware.can.interface,
            },
        .can_error = canport_last_error(&d->can),
        .time_ms = wall_ms(),
    };
    for (size_t i = 0; i < d->n_uarts; i++) {
        io.uart_open[i] = d->uart[i].open;
        io.uart_device[i] = d->uart[i].device;
    }
    return io;
}

/* A configuration a server validated and saved: applied without a restart. */
/* DATA_DIR/bridge.log, rotated (logging.file_size_kb, logging.files). */
static void open_log_file(daemon_t *d)
{
    (void)log_open_file(d->data_dir, (size_t)d->cfg.logging.file_size_kb * 1024u,
                        (unsigned)d->cfg.logging.files);
}

/* The port's parts that follow a configuration the service applied. */
static void config_applied(void *ctx, const cfg_t *c)
{
    daemon_t *d = ctx;
    d->cfg = *c;
    if (d->opts->log_level < 0) {
        log_set_level((log_level_t)c->logging.log_level);
    }
    open_log_file(d);
    mqtt_configure(d->mqtt, c);
    diag_configure(d->diag, c);
}

static void apply_new_config(daemon_t *d, uint64_t now)
{
    const hub_svc_port_t port = {.applied = config_applied, .ctx = d};
    char why[160];
    (void)hub_svc_take_config(d->hub, &d->svc, now, &port, why, sizeof why);
}

static void hex_line(char *out, size_t cap, const uint8_t *b, size_t n)
{
    size_t off = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n && off + 4 < cap; i++) {
        off += (size_t)snprintf(out + off, cap - off, "%02X ", b[i]);
    }
}

/* A traffic line: "uart tx ..." with one pack, "uart2 tx ..." with several. */
static void log_uart(const daemon_t *d, size_t pack, const char *dir, const char *hex)
{
    if (d->n_uarts == 1u) {
        log_debug("uart %s %s", dir, hex);
    } else {
        log_debug("uart%zu %s %s", pack + 1u, dir, hex);
    }
}

static void uart_lost(daemon_uart_t *u, const char *why, uint64_t now)
{
    if (u->open) {
        log_error("%s lost: %s; reopening every second", u->name, why);
    }
    serial_port_close(&u->port);
    u->open = false;
    u->retry_us = now + 1000000u;
}

static void uart_try_reopen(daemon_uart_t *u, uint64_t now)
{
    if (u->open || now < u->retry_us) {
        return;
    }
    if (serial_port_reopen(&u->port) == 0) {
        u->open = true;
        log_info("%s %s open again", u->name, u->port.path);
    } else {
        u->retry_us = now + 1000000u;
    }
}

static void uart_send(daemon_t *d, size_t pack, const tbms_poll_tx_t *tx, uint64_t now)
{
    daemon_uart_t *u = &d->uart[pack];
    if (!u->open) {
        return;
    }
    if (tx->flush_rx) {
        (void)serial_port_flush_input(&u->port);
    }
    if (d->cfg.logging.log_uart_traffic) {
        char hex[64];
        hex_line(hex, sizeof hex, tx->bytes, tx->len);
        log_uart(d, pack, "tx", hex);
    }
    ssize_t w = serial_port_write(&u->port, tx->bytes, tx->len);
    if (w < 0) {
        uart_lost(u, serial_port_last_error(&u->port), now);
    } else if ((size_t)w < tx->len) {
        log_warn("%s: only %zd of %zu bytes written", u->name, w, tx->len);
    }
}

static void uart_receive(daemon_t *d, uint64_t now)
{
    uint8_t buf[512];
    for (size_t pack = 0; pack < d->n_uarts; pack++) {
        daemon_uart_t *u = &d->uart[pack];
        for (int i = 0; i < 16 && u->open; i++) {
            ssize_t r = serial_port_read(&u->port, buf, sizeof buf);
            if (r < 0) {
                uart_lost(u, serial_port_last_error(&u->port), now);
                break;
            }
            if (r == 0) {
                break;
            }
            if (d->cfg.logging.log_uart_traffic) {
                char hex[256];
                hex_line(hex, sizeof hex, buf, (size_t)r);
                log_uart(d, pack, "rx", hex);
            }
            svc_uart_rx(&d->svc, pack, buf, (size_t)r, now);
        }
    }
}

/* --simulate=N with N >= 2: the packs on one bus (about 18 kB: static). */
static serial_sim_bank_t sim_bank;

/* --simulate: the simulated charger and loads obey each 0x351 the bridge
 * sends, as a Victron system under DVCC does (serial_sim.h); without one
 * for 5 s they stop. */
static void simulator_follows(daemon_t *d, const vcan_frame_t *f)
{
    vcan_limits_t l;
    if (d->opts->simulate == 0u || f->id != VCAN_ID_LIMITS || vcan_decode_limits(f, &l) != VCAN_OK) {
        return;
    }
    int32_t ccl_ma = l.ccl_da * 100, dcl_ma = l.dcl_da * 100;
    if (d->n_uarts > 1u) {
        (void)serial_sim_bank_set_dvcc_limits(&sim_bank, ccl_ma, dcl_ma, l.cvl_mv, l.dvl_mv);
    } else {
        (void)serial_sim_set_dvcc_limits(&d->uart[0].sim, ccl_ma, dcl_ma, l.cvl_mv, l.dvl_mv);
    }
}

static void can_send_due(daemon_t *d, uint64_t now)
{
    vcan_frame_t frames[BRG_MAX_FRAMES_PER_TICK];
    size_t n = svc_can_tx(&d->svc, now, frames, BRG_MAX_FRAMES_PER_TICK);
    uint64_t t_ms = n > 0 ? wall_ms() : 0u;
    for (size_t i = 0; i < n; i++) {
        simulator_follows(d, &frames[i]);
        canport_err_t e = canport_send(&d->can, &frames[i], now / 1000u);
        hub_push_can(d->hub, true, &frames[i], t_ms);
        svc_frame_sent(&d->svc, &frames[i], e == CANPORT_OK, now);
        if (d->opts->print_frames || d->cfg.logging.log_can_traffic) {
            char text[192];
            can_text_describe(&frames[i], text, sizeof text);
            if (d->opts->print_frames) {
                printf("%9.3f tx %s%s\n", (double)(now - d->start_us) / 1e6, text,
                       e == CANPORT_OK ? "" : "  (not sent)");
            } else {
                log_debug("can tx %s", text);
            }
        }
    }
    if (n > 0 && d->opts->print_frames) {
        fflush(stdout);
    }
}

static void can_receive(daemon_t *d, uint64_t now)
{
    vcan_frame_t f;
    for (int i = 0; i < 64; i++) {
        canport_err_t e = canport_recv(&d->can, &f, now / 1000u);
        if (e != CANPORT_OK) {
            return;
        }
        svc_can_rx(&d->svc, &f, now);
        hub_push_can(d->hub, false, &f, wall_ms());
        if (d->opts->print_frames || d->cfg.logging.log_can_traffic) {
            char text[192];
            can_text_describe(&f, text, sizeof text);
            if (d->opts->print_frames) {
                printf("%9.3f rx %s\n", (double)(now - d->start_us) / 1e6, text);
                fflush(stdout);
            } else {
                log_debug("can rx %s", text);
            }
        }
    }
}

static void print_summary(daemon_t *d, uint64_t now)
{
    const brg_t *b = svc_bridge(&d->svc);
    tbms_poller_stats_t u = brg_uart_stats(b); /* every pack's, added up */
    svc_timing_t tm;
    svc_timing(&d->svc, &tm);
    canport_stats_t c;
    canport_get_stats(&d->can, &c);
    printf("summary runtime_s=%.1f state=%s uart_polls=%" PRIu32 " uart_success=%" PRIu32
           " uart_failures=%" PRIu32 " uart_timeouts=%" PRIu32 " uart_retries=%" PRIu32
           " uart_crc_errors=%" PRIu32 " uart_nacks=%" PRIu32 " uart_garbage_bytes=%" PRIu32
           " latency_last_us=%" PRIu32 " latency_avg_us=%" PRIu32 " latency_max_us=%" PRIu32
           " can_frames=%" PRIu32 " can_tx=%" PRIu32 " can_drops=%" PRIu32
           " keepalive_rx=%" PRIu32 " keepalive_ok=%d stale_events=%" PRIu32
           " decode_errors=%" PRIu32 " age_351_p50_us=%" PRIu32 " age_351_p99_us=%" PRIu32
           " age_351_max_us=%" PRIu32 " period_351_p50_us=%" PRIu32 " period_351_p99_us=%" PRIu32
           " period_351_max_us=%" PRIu32 "\n",
           (double)(now - d->start_us) / 1e6, brg_data_state_name(b->state), u.polls, u.success,
           u.failures, u.timeouts, u.retries, u.crc_errors, u.nacks, u.garbage_bytes,
           u.latency_last_us, u.latency_avg_us, u.latency_max_us, b->counters.frames,
           c.tx_frames, c.tx_drops, b->counters.keepalive_rx, brg_keepalive_ok(b, now) ? 1 : 0,
           b->counters.stale_events, b->counters.decode_errors, tm.age_p50_us, tm.age_p99_us,
           tm.age_max_us, tm.period_p50_us, tm.period_p99_us, tm.period_max_us);
    fflush(stdout);
}

static int setup_config(daemon_t *d, const char *data_dir)
{
    if (d->opts->config_path != NULL) {
        snprintf(d->config_path, sizeof d->config_path, "%s", d->opts->config_path);
    } else {
        snprintf(d->config_path, sizeof d->config_path, "%s/config.json", data_dir);
    }
    const char *cfg_path = d->config_path;
    cfg_error_t err;
    int stale_tmp = atomic_file_cleanup(cfg_path);
    if (stale_tmp > 0) {
        log_info("removed %d temporary file(s) an interrupted save left beside %s", stale_tmp,
                 cfg_path);
    }
    cfg_warnings_t *warn = malloc(sizeof *warn); /* NULL: load without the warnings */
    if (cfg_load_file_warn(cfg_path, &d->cfg, warn, &err) != CFG_OK) {
        free(warn);
        /* The message names the file and the key already. */
        log_error("configuration: %s", err.message);
        return DAEMON_EXIT_USAGE;
    }
    for (size_t i = 0; warn != NULL && i < warn->count; i++) {
        log_warn("configuration %s: %s", cfg_path, warn->item[i].message);
    }
    free(warn);
    cfg_t c = d->cfg;
    if (d->opts->simulate == 1u) {
        c.packs.count = 0; /* plain --simulate: one simulated pack */
    } else if (d->opts->simulate > 1u) {
        /* Placeholders, never opened (open_devices uses the simulator),
         * distinct absolute paths so that the packs rules hold. */
        c.packs.count = (uint8_t)d->opts->simulate;
        for (size_t i = 0; i < c.packs.count; i++) {
            snprintf(c.packs.pack[i].device, sizeof c.packs.pack[i].device, "/simulator/%zu",
                     i + 1u);
        }
    } else if (d->opts->uart_count == 1u && c.packs.count <= 1u) {
        /* One --uart: exactly as before the "packs" section existed. */
        snprintf(c.hardware.uart.device, sizeof c.hardware.uart.device, "%s", d->opts->uart[0]);
        if (c.packs.count == 1u) {
            snprintf(c.packs.pack[0].device, sizeof c.packs.pack[0].device, "%s",
                     d->opts->uart[0]);
        }
    } else if (d->opts->uart_count >= 1u) {
        /* --uart given N times: packs 1..N on those ports (names kept). */
        c.packs.count = (uint8_t)d->opts->uart_count;
        for (size_t i = 0; i < c.packs.count; i++) {
            snprintf(c.packs.pack[i].device, sizeof c.packs.pack[i].device, "%s",
                     d->opts->uart[i]);
        }
    }
    if (d->opts->baud != 0u) {
        c.hardware.uart.baudrate = (int32_t)d->opts->baud;
    }
    if (d->opts->can != NULL) {
        snprintf(c.hardware.can.interface, sizeof c.hardware.can.interface, "%s", d->opts->can);
    }
    if (cfg_validate(&c, &err) != CFG_OK) {
        log_error("command line: %s", err.message);
        return DAEMON_EXIT_USAGE;
    }
    /* The file's own packs (not the command line's) are what a settings
     * update starts from and saves (hub_config below). */
    d->file_packs = d->cfg.packs;
    d->cfg = c;
    log_info("configuration %s loaded", cfg_path);
    return DAEMON_EXIT_OK;
}


/* The device of pack i: the "packs" section's, else hardware.uart.device. */
static const char *pack_device(const cfg_t *c, size_t i)
{
    return c->packs.count > 0u ? c->packs.pack[i].device : c->hardware.uart.device;
}

static void close_uarts(daemon_t *d)
{
    for (size_t i = 0; i < d->n_uarts; i++) {
        serial_port_close(&d->uart[i].port);
        d->uart[i].open = false;
    }
}

/* The running configuration as the servers show it and a settings update
 * starts from: the file's packs, so that --uart and --simulate=N are never
 * saved into the file (the packs change at the next start anyway). */
static void hub_config(daemon_t *d)
{
    cfg_t c = d->cfg;
    c.packs = d->file_packs;
    hub_set_running_config(d->hub, &c);
}

static int open_devices(daemon_t *d)
{
    d->n_uarts = d->cfg.packs.count > 0u ? d->cfg.packs.count : 1u;
    for (size_t i = 0; i < d->n_uarts; i++) {
        daemon_uart_t *u = &d->uart[i];
        const char *dev = pack_device(&d->cfg, i);
        if (d->n_uarts == 1u) {
            snprintf(u->name, sizeof u->name, "TinyBMS UART");
        } else {
            snprintf(u->name, sizeof u->name, "pack %zu UART", i + 1u);
        }
        if (d->opts->simulate > 0u) {
            if (d->n_uarts == 1u) {
                serial_sim_ctx_init(&u->sim);
                serial_port_init(&u->port, &serial_sim_ops, &u->sim);
            } else {
                /* Mismatched packs on one DC bus (serial_sim.h). */
                if (i == 0u && serial_sim_bank_init(&sim_bank, (unsigned)d->n_uarts, NULL) != 0) {
                    log_error("built-in simulator: cannot build a bank of %zu packs", d->n_uarts);
                    return DAEMON_EXIT_DEVICE;
                }
                serial_port_init(&u->port, &serial_sim_ops,
                                 serial_sim_bank_ctx(&sim_bank, (unsigned)i));
            }
            if (d->n_uarts == 1u) {
                snprintf(u->device, sizeof u->device, "simulator");
            } else {
                snprintf(u->device, sizeof u->device, "simulator %zu", i + 1u);
            }
            if (serial_port_open(&u->port, "simulator", 115200u) != 0) {
                log_error("built-in simulator: %s", serial_port_last_error(&u->port));
                close_uarts(d);
                return DAEMON_EXIT_DEVICE;
            }
            if (d->n_uarts == 1u) {
                log_info("TinyBMS: built-in simulator (16S LFP, 280 Ah)");
            } else {
                tbms_sim_config_t pc = serial_sim_bank_pack_config((unsigned)i);
                log_info("pack %zu: built-in simulator (%uS LFP, %.0f Ah, %.0f %% SOC), on one DC "
                         "bus with the others",
                         i + 1u, (unsigned)pc.cells, (double)pc.capacity_ah,
                         (double)pc.soc_pct);
            }
        } else {
            if (dev[0] == '\0') {
                log_error("no TinyBMS serial port%s: give --uart PATH, set %s, or use --simulate",
                          d->n_uarts > 1u ? " for a pack" : "",
                          d->n_uarts > 1u ? "packs[].device" : "hardware.uart.device");
                close_uarts(d);
                return DAEMON_EXIT_USAGE;
            }
            snprintf(u->device, sizeof u->device, "%s", dev);
            serial_posix_ctx_init(&u->posix);
            serial_port_init(&u->port, &serial_posix_ops, &u->posix);
            if (serial_port_open(&u->port, dev, (uint32_t)d->cfg.hardware.uart.baudrate) != 0) {
                log_error("cannot open the %s: %s", d->n_uarts > 1u ? u->name : "TinyBMS serial port",
                          serial_port_last_error(&u->port));
                close_uarts(d);
                return DAEMON_EXIT_DEVICE;
            }
            if (d->n_uarts == 1u) {
                log_info("TinyBMS on %s at %d baud", dev, (int)d->cfg.hardware.uart.baudrate);
            } else {
                log_info("pack %zu: TinyBMS on %s at %d baud", i + 1u, dev,
                         (int)d->cfg.hardware.uart.baudrate);
            }
        }
        u->open = true;
    }

    if (d->can_off) {
        log_info("CAN: none (--dbus without --can): the battery is on D-Bus only");
        return DAEMON_EXIT_OK;
    }
    char err[256];
    bool loopback = d->cfg.hardware.can.mode == CFG_CAN_LOOPBACK;
    if (canport_open_mode(&d->can, d->cfg.hardware.can.interface,
                          loopback ? CANPORT_MODE_LOOPBACK : CANPORT_MODE_NORMAL,
                          mono_us() / 1000u, err, sizeof err) != CANPORT_OK) {
        log_error("cannot open the CAN interface '%s': %s", d->cfg.hardware.can.interface, err);
        close_uarts(d);
        return DAEMON_EXIT_DEVICE;
    }
    log_info("CAN: %s%s", d->cfg.hardware.can.interface,
             loopback ? " in loopback mode (bench test): frames come back to the bridge, none "
                        "reaches a bus"
                      : "");
    return DAEMON_EXIT_OK;
}

/* The Venus OS D-Bus battery service (venus_dbus.h; --dbus or
 * victron.dbus.enabled, read at start), named for pack 1's serial port;
 * connecting and negotiating go on in the loop. */
static void start_dbus(daemon_t *d)
{
    if (!d->opts->dbus && !d->cfg.victron.dbus.enabled) {
        return;
    }
    venus_dbus_config_t vc;
    memset(&vc, 0, sizeof vc);
    if (d->opts->simulate > 0u) {
        snprintf(vc.suffix, sizeof vc.suffix, "simulator");
    } else {
        venus_dbus_suffix(d->uart[0].device, vc.suffix, sizeof vc.suffix);
    }
    vc.preferred_instance = d->cfg.victron.dbus.device_instance;
    vc.items.product_id = d->cfg.victron.dbus.product_id;
    snprintf(vc.items.custom_name, sizeof vc.items.custom_name, "%.63s",
             d->cfg.victron.dbus.custom_name);
    snprintf(vc.items.process_name, sizeof vc.items.process_name, "tinybms-bridge");
    snprintf(vc.items.process_version, sizeof vc.items.process_version, "%s",
             TBVB_VERSION_STRING);
    /* /Mgmt/Connection: the device path's end when it is long. */
    const char *dev = d->uart[0].device;
    size_t len = strlen(dev);
    const char *cut = len > 30u ? "..." : "";
    const char *tail = len > 30u ? dev + len - 30u : dev;
    if (d->n_uarts > 1u) {
        snprintf(vc.items.connection, sizeof vc.items.connection, "%u TinyBMS, pack 1 on %s%.30s",
                 (unsigned)d->n_uarts, cut, tail);
    } else {
        snprintf(vc.items.connection, sizeof vc.items.connection, "TinyBMS on %s%.30s", cut, tail);
    }
    d->vdbus = venus_dbus_create(&vc, mono_us());
    if (d->vdbus == NULL) {
        log_error("D-Bus: cannot start the battery service (name suffix '%s')", vc.suffix);
        return;
    }
    log_info("D-Bus: publishing the battery as com.victronenergy.battery.%s on the system bus",
             vc.suffix);
}

static void loop(daemon_t *d)
{
    uint64_t end_us = d->opts->duration_s > 0
                          ? d->start_us + (uint64_t)(d->opts->duration_s * 1e6)
                          : UINT64_MAX;
    while (!stop_requested) {
        uint64_t now = mono_us();
        if (now >= end_us) {
            break;
        }
        diag_at(d->diag, "uart step");
        for (size_t i = 0; i < d->n_uarts; i++) {
            uart_try_reopen(&d->uart[i], now);
            tbms_poll_tx_t tx;
            if (svc_uart_step(&d->svc, i, now, &tx)) {
                uart_send(d, i, &tx, now);
            }
        }
        diag_at(d->diag, "can send");
        /* An answer may have arrived while this turn's other work ran: take
         * it before the frames go out, so they carry the newest values. */
        uart_receive(d, now);
        can_send_due(d, now);
        canport_tick(&d->can, now / 1000u);
        diag_at(d->diag, "status and publishing");
        svc_io_t io = io_now(d);
        svc_tick(&d->svc, now, &io);
        http_write_step(d->hub, &d->svc, now);
        diag_at(d->diag, "diagnostics");
        diag_tick(d->diag, now, d->hub, d->mqtt);

        uint64_t next = svc_next_us(&d->svc);
        uint64_t wait_us = next > now ? next - now : 0u;
        if (wait_us > 100000u) {
            wait_us = 100000u; /* device ticks (reconnects, sim broadcast) */
        }
        if (end_us - now < wait_us) {
            wait_us = end_us - now;
        }
        struct pollfd pfd[2 + BRG_MAX_PACKS + VENUS_DBUS_MAX_FDS];
        nfds_t n = 0;
        pfd[n++] = (struct pollfd){.fd = hub_wake_fd(d->hub), .events = POLLIN};
        for (size_t i = 0; i < d->n_uarts; i++) {
            int ufd = d->uart[i].open ? serial_port_fd(&d->uart[i].port) : -1;
            if (ufd >= 0) {
                pfd[n++] = (struct pollfd){.fd = ufd, .events = POLLIN};
            }
        }
        int cfd = canport_fd(&d->can);
        if (cfd >= 0) {
            pfd[n++] = (struct pollfd){.fd = cfd, .events = POLLIN};
        }
        nfds_t vd_first = n;
        n += (nfds_t)venus_dbus_pollfds(d->vdbus, &pfd[n], VENUS_DBUS_MAX_FDS);
        uint64_t vd_next = venus_dbus_next_us(d->vdbus);
        if (d->vdbus != NULL && vd_next < now + wait_us) {
            wait_us = vd_next > now ? vd_next - now : 0u;
        }
        int timeout_ms = (int)((wait_us + 999u) / 1000u);
        uint64_t t_wait = mono_us();
        diag_before_wait(d->diag, t_wait, t_wait + (uint64_t)timeout_ms * 1000u);
        int r = poll(pfd, n, timeout_ms);
        if (r < 0 && errno != EINTR) {
            log_error("poll: %s", strerror(errno));
            break;
        }
        now = mono_us();
        diag_after_wait(d->diag, now, r == 0);
        if (pfd[0].revents & POLLIN) {
            hub_clear_wake(d->hub);
            apply_new_config(d, now);
        }
        uart_receive(d, now);
        if (cfd >= 0) {
            can_receive(d, now);
        }
        venus_dbus_handle(d->vdbus, &pfd[vd_first], (size_t)(n - vd_first), now);
    }
}

int daemon_run(const daemon_opts_t *opts)
{
    static daemon_t d; /* large (snapshots, buffers): not on the stack */
    memset(&d, 0, sizeof d);
    d.opts = opts;
    d.can_off = opts->dbus && opts->can == NULL;
    if (opts->log_level >= 0) {
        log_set_level((log_level_t)opts->log_level);
    }
    const char *data_dir = opts->data_dir ? opts->data_dir : daemon_default_data_dir();
    if (make_dirs(data_dir) != 0) {
        log_error("data directory %s: %s", data_dir, strerror(errno));
        return DAEMON_EXIT_USAGE;
    }
    int rc = setup_config(&d, data_dir);
    if (rc != DAEMON_EXIT_OK) {
        return rc;
    }
    if (opts->log_level < 0) {
        log_set_level((log_level_t)d.cfg.logging.log_level);
    }
    d.data_dir = data_dir;
    if (snprintf(d.energy_path, sizeof d.energy_path, "%s/energy.json", data_dir) >=
        (int)sizeof d.energy_path) {
        log_error("data directory %s: %s", data_dir, strerror(ENAMETOOLONG));
        return DAEMON_EXIT_USAGE;
    }
    open_log_file(&d);

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    d.hub = hub_create();
    if (d.hub == NULL) {
        log_error("out of memory");
        return DAEMON_EXIT_DEVICE;
    }
    hub_config(&d);
    rc = open_devices(&d);
    if (rc != DAEMON_EXIT_OK) {
        hub_destroy(d.hub);
        return rc;
    }
    d.start_us = mono_us();
    tbms_err_t e = svc_init(&d.svc, &d.cfg, &svc_ops, &d, TBVB_VERSION_STRING, d.start_us);
    if (e != TBMS_OK) {
        log_error("bridge configuration rejected: %s", tbms_strerror(e));
        canport_close(&d.can);
        close_uarts(&d);
        return DAEMON_EXIT_USAGE;
    }
    (void)atomic_file_cleanup(d.energy_path);
    d.energy = energy_writer_start(d.energy_path);
    uint64_t charged_mwh = 0;
    uint64_t discharged_mwh = 0;
    if (energy_load(d.energy_path, &charged_mwh, &discharged_mwh)) {
        svc_set_energy(&d.svc, charged_mwh, discharged_mwh);
        log_info("energy counters restored: in %.1f kWh, out %.1f kWh", (double)charged_mwh / 1e6,
                 (double)discharged_mwh / 1e6);
    }
    log_info("bridge running (data in %s)", data_dir);
    http_server_t *http = http_start_for_daemon(opts->http, &d.cfg, d.hub, d.config_path,
                                                TBVB_VERSION_STRING);
    d.mqtt = mqtt_create(d.hub, TBVB_VERSION_STRING);
    mqtt_configure(d.mqtt, &d.cfg);
    d.diag = diag_create(TBVB_VERSION_STRING, mono_us());
    diag_configure(d.diag, &d.cfg);
    diag_ready(d.diag);
    start_dbus(&d);

    loop(&d);

    uint64_t now = mono_us();
    log_info("stopping%s", stop_requested ? " on signal" : "");
    venus_dbus_destroy(d.vdbus); /* the bus name released first */
    d.vdbus = NULL;
    /* civetweb's shutdown can take up to ~2 s (its threads poll); the summary's
     * runtime is the bridge's, taken before. */
    http_stop(http);
    mqtt_destroy(d.mqtt);
    print_summary(&d, now);
    svc_stop(&d.svc, now);
    energy_writer_stop(d.energy); /* the last save is on disk before exit */
    canport_close(&d.can);
    close_uarts(&d);
    diag_destroy(d.diag);
    hub_destroy(d.hub);
    log_close_file();
    return DAEMON_EXIT_OK;
}
