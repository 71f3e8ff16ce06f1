/*
 * tinybms-bridge: reads a TinyBMS over its UART and presents it to Victron
 * equipment as a CAN-bus BMS. See README.md and docs/.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "http_server.h"

#ifndef TBVB_VERSION
#define TBVB_VERSION "dev"
#endif

static void usage(FILE *to)
{
    fprintf(to,
            "usage: tinybms-bridge [options]\n"
            "\n"
            "Reads a TinyBMS over its UART and sends Victron CAN-BMS frames (500 kbit/s).\n"
            "\n"
            "  --uart PATH          TinyBMS serial port (overrides hardware.uart.device),\n"
            "                       e.g. /dev/ttyUSB0; raw 8N1. Give it up to 4 times for\n"
            "                       packs in parallel, pack 1 first (overrides the \"packs\"\n"
            "                       section): they are presented as one battery\n"
            "  --baud N             serial speed (default 115200, the TinyBMS's fixed rate)\n"
            "  --can SPEC           CAN interface (overrides hardware.can.interface):\n"
            "                         socketcan:IFACE   e.g. socketcan:can0 (CAN HAT)\n"
            "                         slcan:TTY         USB adapter with slcan firmware\n"
            "                         log:FILE          write frames in candump -L format\n"
            "                         log:-             ... to standard output\n"
            "                       Optional with --dbus (then no CAN port is opened)\n"
            "  --dbus               publish the battery on the system D-Bus as a Venus OS\n"
            "                       battery service, com.victronenergy.battery.<tty name>\n"
            "                       (victron.dbus.enabled), for the bridge running on a GX;\n"
            "                       DBUS_SYSTEM_BUS_ADDRESS overrides the bus address\n"
            "  --simulate[=N]       use the built-in TinyBMS simulator instead of a UART;\n"
            "                       N (2 to 4) simulated packs in parallel on one DC bus\n"
            "  --config FILE        JSON configuration (created with defaults when missing;\n"
            "                       default DATA_DIR/config.json)\n"
            "  --data-dir DIR       where the configuration and state live (default\n"
            "                       /var/lib/tinybms-bridge as root, else\n"
            "                       ~/.local/state/tinybms-bridge)\n"
            "  --duration SECONDS   run this long, then exit cleanly\n"
            "  --print-frames       print every CAN frame sent and received, decoded\n"
            "  --log-level LEVEL    ERROR, WARNING, INFO or DEBUG (default: logging.log_level)\n"
            "  --http ADDR:PORT     web UI, REST API and WebSocket on this address (overrides\n"
            "                       web_server.bind_address/port, default 0.0.0.0:8080),\n"
            "                       e.g. 127.0.0.1:8080; 'off' disables it. (IPv6 needs a\n"
            "                       civetweb built with it; Debian 12's is not.)\n"
            "                       See docs/api.md\n"
            "  --help               this text\n"
            "  --version            the version\n"
            "\n"
            "Safety: nothing is sent until the TinyBMS settings and a first reading are in;\n"
            "when no valid reading arrives for tinybms.bms_timeout_ms (default 5000) every\n"
            "battery frame stops, so the GX sees the BMS as lost and stops charging.\n"
            "0x305/0x307 from the GX are only received, never sent.\n"
            "\n"
            "Exit status: 0 stopped normally, 1 a device could not be opened,\n"
            "2 bad command line or configuration.\n");
}

static int parse_level(const char *s)
{
    static const char *const names[] = {"ERROR", "WARNING", "INFO", "DEBUG"};
    for (int i = 0; i < 4; i++) {
        if (strcasecmp(s, names[i]) == 0) {
            return i;
        }
    }
    return -2;
}

int main(int argc, char **argv)
{
    enum { OPT_UART = 1, OPT_BAUD, OPT_CAN, OPT_SIM, OPT_CONFIG, OPT_DATA, OPT_DURATION,
           OPT_PRINT, OPT_LEVEL, OPT_HELP, OPT_VERSION, OPT_HTTP, OPT_DBUS };
    static const struct option longopts[] = {
        {"uart", required_argument, NULL, OPT_UART},
        {"baud", required_argument, NULL, OPT_BAUD},
        {"can", required_argument, NULL, OPT_CAN},
        {"simulate", optional_argument, NULL, OPT_SIM},
        {"config", required_argument, NULL, OPT_CONFIG},
        {"data-dir", required_argument, NULL, OPT_DATA},
        {"duration", required_argument, NULL, OPT_DURATION},
        {"print-frames", no_argument, NULL, OPT_PRINT},
        {"log-level", required_argument, NULL, OPT_LEVEL},
        {"http", required_argument, NULL, OPT_HTTP},
        {"dbus", no_argument, NULL, OPT_DBUS},
        {"help", no_argument, NULL, OPT_HELP},
        {"version", no_argument, NULL, OPT_VERSION},
        {NULL, 0, NULL, 0},
    };
    daemon_opts_t o;
    memset(&o, 0, sizeof o);
    o.log_level = -1;
    int c;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        char *end = NULL;
        switch (c) {
        case OPT_UART:
            if (o.uart_count >= DAEMON_MAX_UARTS) {
                fprintf(stderr, "tinybms-bridge: --uart: at most %u packs\n", DAEMON_MAX_UARTS);
                return DAEMON_EXIT_USAGE;
            }
            o.uart[o.uart_count++] = optarg;
            break;
        case OPT_BAUD: {
            unsigned long v = strtoul(optarg, &end, 10);
            if (end == optarg || *end != '\0' || v == 0 || v > 4000000ul) {
                fprintf(stderr, "tinybms-bridge: --baud: '%s' is not a baud rate\n", optarg);
                return DAEMON_EXIT_USAGE;
            }
            o.baud = (uint32_t)v;
            break;
        }
        case OPT_CAN:
            o.can = optarg;
            break;
        case OPT_SIM:
            o.simulate = 1u;
            if (optarg != NULL) {
                unsigned long v = strtoul(optarg, &end, 10);
                if (end == optarg || *end != '\0' || v < 1u || v > DAEMON_MAX_UARTS) {
                    fprintf(stderr, "tinybms-bridge: --simulate=N: '%s' is not 1 to %u packs\n",
                            optarg, DAEMON_MAX_UARTS);
                    return DAEMON_EXIT_USAGE;
                }
                o.simulate = (unsigned)v;
            }
            break;
        case OPT_CONFIG:
            o.config_path = optarg;
            break;
        case OPT_DATA:
            o.data_dir = optarg;
            break;
        case OPT_DURATION:
            o.duration_s = strtod(optarg, &end);
            if (end == optarg || *end != '\0' || !(o.duration_s > 0)) {
                fprintf(stderr, "tinybms-bridge: --duration: '%s' is not a positive number\n",
                        optarg);
                return DAEMON_EXIT_USAGE;
            }
            break;
        case OPT_PRINT:
            o.print_frames = true;
            break;
        case OPT_LEVEL:
            o.log_level = parse_level(optarg);
            if (o.log_level < 0) {
                fprintf(stderr, "tinybms-bridge: --log-level: '%s' is not ERROR, WARNING, INFO or "
                                "DEBUG\n", optarg);
                return DAEMON_EXIT_USAGE;
            }
            break;
        case OPT_HTTP: {
            char addr[64];
            int port = 0;
            bool off = false;
            if (!http_parse_spec(optarg, addr, sizeof addr, &port, &off)) {
                fprintf(stderr, "tinybms-bridge: --http: '%s' is not ADDR:PORT or off\n", optarg);
                return DAEMON_EXIT_USAGE;
            }
            o.http = optarg;
            break;
        }
        case OPT_DBUS:
            o.dbus = true;
            break;
        case OPT_HELP:
            usage(stdout);
            return 0;
        case OPT_VERSION:
            printf("tinybms-bridge %s\n", TBVB_VERSION);
            return 0;
        default:
            usage(stderr);
            return DAEMON_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "tinybms-bridge: unexpected argument '%s' (see --help)\n", argv[optind]);
        return DAEMON_EXIT_USAGE;
    }
    return daemon_run(&o);
}
