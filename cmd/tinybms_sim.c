/*
 * tinybms-sim: a simulated TinyBMS on a pseudo-terminal.
 *
 * Opens a pty, prints the path of its slave side on stdout (one line,
 * flushed), and serves the TinyBMS UART protocol there from the battery
 * model in sim/tbms_sim.h until SIGINT or SIGTERM. Point the bridge (or
 * any Modbus master, slave id 0xAA) at the printed path.
 *
 * The event loop polls the pty with a 100 ms timeout so the model steps
 * at least ten times a second, as a real BMS samples (MAN-D 3.3), or
 * less when a late answer (--latency-ms) is due sooner: it never sleeps
 * past an answer and keeps reading requests while answers wait.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "tbms_sim.h"

#ifndef TBVB_VERSION
#define TBVB_VERSION "unknown"
#endif

#define PROG          "tinybms-sim"
#define POLL_MS       100
#define IO_BUF        4096u
/* --broadcast: reg 342 code 4 = every 1 s, reg 343 = 1 ASCII. */
#define BROADCAST_TIME_CODE  4u
#define BROADCAST_PROTO_CODE 1u

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
    stop_signal = sig;
}

typedef struct {
    bool pty;
    const char *link;
    bool have_current;
    int32_t current_ma;
    bool broadcast;
    tbms_sim_config_t cfg;
} options_t;

static void usage(FILE *to)
{
    fputs("usage: " PROG " --pty [options]\n"
          "Serves a simulated Energus TinyBMS (UART protocol, 115200 8N1, Modbus slave\n"
          "id 0xAA) on a new pseudo-terminal and prints the terminal's path on stdout.\n"
          "\n"
          "  --pty               open a pseudo-terminal and serve it (required)\n"
          "  --link PATH         also create a symlink PATH to the terminal\n"
          "  --cells N           series cells, 4..16 (default 16)\n"
          "  --soc PCT           initial state of charge, 0..100 (default 55)\n"
          "  --capacity-ah N     capacity in Ah, 0.1..655 (default 280)\n"
          "  --seed N            seed of the deterministic cell spread and demo noise\n"
          "  --no-sleep          never enter sleep mode\n"
          "  --sleep-after-ms MS UART idle time before sleep (default 10000; for tests)\n"
          "  --current-a A       fixed pack current instead of the demo profile\n"
          "                      (+ charging, - discharging)\n"
          "  --time-scale X      run the battery model X times faster (default 1)\n"
          "  --latency-ms MIN[-MAX]\n"
          "                      delay each answer by MIN..MAX ms (uniform, whole ms,\n"
          "                      drawn from --seed; MAX <= 10000; default 0 = at once).\n"
          "                      Never less than the drawn delay after the request's\n"
          "                      arrival, about 1 ms more at most on an idle machine.\n"
          "                      Half-duplex like the BMS: requests are answered one\n"
          "                      at a time, in order; one arriving while others wait\n"
          "                      is taken up when the previous answer has left (up to\n"
          "                      4 wait; more are dropped). The values are those at\n"
          "                      the time the answer leaves.\n"
          "  --broadcast         send ASCII broadcast lines every second (reg 342 = 4)\n"
          "  --help              show this help\n"
          "  --version           show the version\n"
          "\n"
          "Without --current-a the pack follows a demo day compressed into an hour:\n"
          "charging at 0.2 C, standby, discharging around 0.1 C, standby.\n",
          to);
}

static int bad_value(const char *opt, const char *arg, const char *what)
{
    fprintf(stderr, PROG ": %s needs %s (got '%s')\n", opt, what, arg);
    return -1;
}

static int parse_double(const char *opt, const char *arg, double lo, double hi, double *out)
{
    char *end = NULL;
    errno = 0;
    double v = strtod(arg, &end);
    if (errno != 0 || end == arg || *end != '\0' || !(v >= lo && v <= hi)) {
        char what[96];
        snprintf(what, sizeof what, "a number from %g to %g", lo, hi);
        return bad_value(opt, arg, what);
    }
    *out = v;
    return 0;
}

static int parse_ulong(const char *opt, const char *arg, unsigned long lo, unsigned long hi,
                       unsigned long *out)
{
    char *end = NULL;
    errno = 0;
    unsigned long v = strtoul(arg, &end, 0);
    if (errno != 0 || end == arg || *end != '\0' || arg[0] == '-' || v < lo || v > hi) {
        char what[96];
        snprintf(what, sizeof what, "an integer from %lu to %lu", lo, hi);
        return bad_value(opt, arg, what);
    }
    *out = v;
    return 0;
}

/* --latency-ms MIN or MIN-MAX: whole ms, MIN <= MAX <= TBMS_SIM_LATENCY_MAX_MS. */
static int parse_latency(const char *arg, uint32_t *min_ms, uint32_t *max_ms)
{
    _Static_assert(TBMS_SIM_LATENCY_MAX_MS == 10000u, "--latency-ms help and message");
    char *end = NULL;
    unsigned long lo = 0u;
    unsigned long hi = 0u;
    bool ok = arg[0] >= '0' && arg[0] <= '9';
    if (ok) {
        errno = 0;
        lo = strtoul(arg, &end, 10);
        hi = lo;
        if (end[0] == '-' && end[1] >= '0' && end[1] <= '9') {
            hi = strtoul(end + 1, &end, 10);
        }
        ok = errno == 0 && *end == '\0' && lo <= hi && hi <= TBMS_SIM_LATENCY_MAX_MS;
    }
    if (!ok) {
        return bad_value("--latency-ms", arg, "MIN or MIN-MAX in whole ms, MIN <= MAX <= 10000");
    }
    *min_ms = (uint32_t)lo;
    *max_ms = (uint32_t)hi;
    return 0;
}

enum {
    OPT_PTY = 256,
    OPT_LINK,
    OPT_CELLS,
    OPT_SOC,
    OPT_CAPACITY,
    OPT_SEED,
    OPT_NO_SLEEP,
    OPT_SLEEP_AFTER,
    OPT_CURRENT,
    OPT_TIME_SCALE,
    OPT_LATENCY,
    OPT_BROADCAST,
    OPT_HELP,
    OPT_VERSION,
};

/* Returns 0 to run, 1 to exit 0 (help/version), -1 on a usage error. */
static int parse_args(int argc, char **argv, options_t *o)
{
    static const struct option longopts[] = {
        {"pty", no_argument, NULL, OPT_PTY},
        {"link", required_argument, NULL, OPT_LINK},
        {"cells", required_argument, NULL, OPT_CELLS},
        {"soc", required_argument, NULL, OPT_SOC},
        {"capacity-ah", required_argument, NULL, OPT_CAPACITY},
        {"seed", required_argument, NULL, OPT_SEED},
        {"no-sleep", no_argument, NULL, OPT_NO_SLEEP},
        {"sleep-after-ms", required_argument, NULL, OPT_SLEEP_AFTER},
        {"current-a", required_argument, NULL, OPT_CURRENT},
        {"time-scale", required_argument, NULL, OPT_TIME_SCALE},
        {"latency-ms", required_argument, NULL, OPT_LATENCY},
        {"broadcast", no_argument, NULL, OPT_BROADCAST},
        {"help", no_argument, NULL, OPT_HELP},
        {"version", no_argument, NULL, OPT_VERSION},
        {NULL, 0, NULL, 0},
    };
    memset(o, 0, sizeof *o);
    o->cfg = tbms_sim_default_config();
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        double d = 0.0;
        unsigned long u = 0u;
        int rc = 0;
        switch (c) {
        case OPT_PTY:
            o->pty = true;
            break;
        case OPT_LINK:
            o->link = optarg;
            break;
        case OPT_CELLS:
            rc = parse_ulong("--cells", optarg, 4u, 16u, &u);
            o->cfg.cells = (uint8_t)u;
            break;
        case OPT_SOC:
            rc = parse_double("--soc", optarg, 0.0, 100.0, &d);
            o->cfg.soc_pct = (float)d;
            break;
        case OPT_CAPACITY:
            rc = parse_double("--capacity-ah", optarg, 0.1, 655.0, &d);
            o->cfg.capacity_ah = (float)d;
            break;
        case OPT_SEED:
            rc = parse_ulong("--seed", optarg, 0u, 0xFFFFFFFFul, &u);
            o->cfg.seed = (uint32_t)u;
            break;
        case OPT_NO_SLEEP:
            o->cfg.sleep_enabled = false;
            break;
        case OPT_SLEEP_AFTER:
            rc = parse_ulong("--sleep-after-ms", optarg, 1u, 86400000ul, &u);
            o->cfg.sleep_after_ms = (uint32_t)u;
            break;
        case OPT_CURRENT:
            rc = parse_double("--current-a", optarg, -2000.0, 2000.0, &d);
            o->have_current = true;
            o->current_ma = (int32_t)(d < 0.0 ? d * 1000.0 - 0.5 : d * 1000.0 + 0.5);
            break;
        case OPT_TIME_SCALE:
            rc = parse_double("--time-scale", optarg, 0.001, 1e6, &d);
            o->cfg.time_scale = (float)d;
            break;
        case OPT_LATENCY:
            rc = parse_latency(optarg, &o->cfg.latency_min_ms, &o->cfg.latency_max_ms);
            break;
        case OPT_BROADCAST:
            o->broadcast = true;
            break;
        case OPT_HELP:
            usage(stdout);
            return 1;
        case OPT_VERSION:
            printf(PROG " " TBVB_VERSION "\n");
            return 1;
        default:
            fprintf(stderr, PROG ": unknown or incomplete option '%s' (see --help)\n",
                    argv[optind - 1]);
            return -1;
        }
        if (rc != 0) {
            return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, PROG ": unexpected argument '%s' (see --help)\n", argv[optind]);
        return -1;
    }
    if (!o->pty) {
        fprintf(stderr, PROG ": nothing to serve: give --pty (see --help)\n");
        return -1;
    }
    return 0;
}

static uint64_t monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Raw 8N1 at 115200 (a pty ignores the speed, but a client may read it). */
static int make_raw(int fd)
{
    struct termios t;
    if (tcgetattr(fd, &t) != 0) {
        return -1;
    }
    cfmakeraw(&t);
    t.c_cflag |= CLOCAL | CREAD;
    cfsetispeed(&t, B115200);
    cfsetospeed(&t, B115200);
    return tcsetattr(fd, TCSANOW, &t);
}

/*
 * Opens the master side and keeps one slave descriptor open ourselves:
 * without it the master reads EIO / polls POLLHUP whenever no client has
 * the terminal open (before the first one, between two).
 */
static int open_pty(int *master, int *slave, char *path, size_t cap)
{
    int m = posix_openpt(O_RDWR | O_NOCTTY);
    if (m < 0) {
        fprintf(stderr, PROG ": posix_openpt: %s\n", strerror(errno));
        return -1;
    }
    const char *name = NULL;
    if (grantpt(m) != 0 || unlockpt(m) != 0 || (name = ptsname(m)) == NULL) {
        fprintf(stderr, PROG ": cannot set up the pseudo-terminal: %s\n", strerror(errno));
        close(m);
        return -1;
    }
    snprintf(path, cap, "%s", name);
    int s = open(path, O_RDWR | O_NOCTTY);
    if (s < 0 || make_raw(s) != 0) {
        fprintf(stderr, PROG ": cannot open %s: %s\n", path, strerror(errno));
        if (s >= 0) {
            close(s);
        }
        close(m);
        return -1;
    }
    int fl = fcntl(m, F_GETFL);
    if (fl < 0 || fcntl(m, F_SETFL, fl | O_NONBLOCK) != 0) {
        fprintf(stderr, PROG ": fcntl: %s\n", strerror(errno));
        close(s);
        close(m);
        return -1;
    }
    *master = m;
    *slave = s;
    return 0;
}

/* Replaces an existing symlink at `link`, refuses to replace anything else. */
static int make_link(const char *link, const char *target)
{
    struct stat st;
    if (lstat(link, &st) == 0) {
        if (!S_ISLNK(st.st_mode)) {
            fprintf(stderr, PROG ": --link %s exists and is not a symlink\n", link);
            return -1;
        }
        if (unlink(link) != 0) {
            fprintf(stderr, PROG ": cannot replace %s: %s\n", link, strerror(errno));
            return -1;
        }
    }
    if (symlink(target, link) != 0) {
        fprintf(stderr, PROG ": cannot create symlink %s: %s\n", link, strerror(errno));
        return -1;
    }
    return 0;
}

/* Removes the symlink only if it still points at our terminal. */
static void remove_link(const char *link, const char *target)
{
    char buf[256];
    ssize_t n = readlink(link, buf, sizeof buf - 1u);
    if (n > 0) {
        buf[n] = '\0';
        if (strcmp(buf, target) == 0) {
            unlink(link);
        }
    }
}

/* Writes everything it can; a full pty (nobody reading) drops the rest, as
 * bytes on a UART nobody listens to are lost. */
static void write_out(int fd, const uint8_t *b, size_t n)
{
    while (n > 0u) {
        ssize_t w = write(fd, b, n);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            return;
        }
        b += w;
        n -= (size_t)w;
    }
}

static int install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGINT, &sa, NULL) != 0 || sigaction(SIGTERM, &sa, NULL) != 0) {
        fprintf(stderr, PROG ": sigaction: %s\n", strerror(errno));
        return -1;
    }
    signal(SIGPIPE, SIG_IGN);
    return 0;
}

static void serve(tbms_sim_t *sim, int master)
{
    static uint8_t in[IO_BUF];
    static uint8_t out[TBMS_SIM_TX_CAP];
    while (!stop_signal) {
        struct pollfd pfd = {.fd = master, .events = POLLIN, .revents = 0};
        /* Wake for the next late answer; it goes out once now_ms >= due. */
        int timeout_ms = POLL_MS;
        uint64_t due = tbms_sim_next_answer_ms(sim);
        uint64_t now = monotonic_ms();
        if (due <= now) {
            timeout_ms = 0;
        } else if (due - now < POLL_MS) {
            timeout_ms = (int)(due - now);
        }
        int pr = poll(&pfd, 1, timeout_ms);
        if (pr < 0 && errno != EINTR) {
            fprintf(stderr, PROG ": poll: %s\n", strerror(errno));
            return;
        }
        size_t n = 0u;
        if (pr > 0 && (pfd.revents & POLLIN)) {
            ssize_t r = read(master, in, sizeof in);
            if (r > 0) {
                n = (size_t)r;
            }
        }
        size_t out_len = 0u;
        (void)tbms_sim_receive(sim, in, n, monotonic_ms(), out, sizeof out, &out_len);
        write_out(master, out, out_len);
    }
}

int main(int argc, char **argv)
{
    options_t o;
    int pr = parse_args(argc, argv, &o);
    if (pr != 0) {
        return pr > 0 ? 0 : 2;
    }
    static tbms_sim_t sim;
    tbms_sim_err_t err = tbms_sim_init(&sim, &o.cfg, monotonic_ms());
    if (err != TBMS_SIM_OK) {
        fprintf(stderr, PROG ": invalid configuration: %s\n", tbms_sim_strerror(err));
        return 2;
    }
    if (o.have_current) {
        tbms_sim_set_current_ma(&sim, o.current_ma);
    }
    if (o.broadcast) {
        const uint16_t bc[2] = {BROADCAST_TIME_CODE, BROADCAST_PROTO_CODE};
        err = tbms_sim_write_settings(&sim, 342u, bc, 2u);
        if (err != TBMS_SIM_OK) {
            fprintf(stderr, PROG ": cannot enable broadcast: %s\n", tbms_sim_strerror(err));
            return 1;
        }
    }
    if (install_signals() != 0) {
        return 1;
    }
    int master = -1;
    int slave = -1;
    char path[256];
    if (open_pty(&master, &slave, path, sizeof path) != 0) {
        return 1;
    }
    if (o.link != NULL && make_link(o.link, path) != 0) {
        close(slave);
        close(master);
        return 1;
    }
    printf("%s\n", path);
    fflush(stdout);

    serve(&sim, master);

    const tbms_sim_counters_t *c = tbms_sim_counters(&sim);
    fprintf(stderr,
            PROG ": stopped by signal %d: %u requests, %u responses (%u NACK), %u CRC errors, "
                 "%u swallowed by sleep, %u dropped while busy (latency %" PRIu32 "-%" PRIu32
                 " ms)\n",
            (int)stop_signal, (unsigned)c->requests, (unsigned)c->responses, (unsigned)c->nacks,
            (unsigned)c->crc_errors, (unsigned)c->swallowed, (unsigned)c->busy_dropped,
            o.cfg.latency_min_ms, o.cfg.latency_max_ms);
    if (o.link != NULL) {
        remove_link(o.link, path);
    }
    close(slave);
    close(master);
    return 0;
}
