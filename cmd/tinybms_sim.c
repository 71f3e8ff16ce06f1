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
 *
 * --packs N serves N packs in parallel on one DC bus (sim/tbms_sim_bus.h),
 * one pty each, paths printed one per line in pack order; the bus is
 * stepped before any pack answers. Lines on stdin open/close a pack's
 * switch, mute it, or set the bank current (see the help).
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
#include "tbms_sim_bus.h"

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
    unsigned packs; /* 0: one pack, no bus (the original mode) */
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
          "  --packs N           N packs (1..4) in parallel on one DC bus, one terminal\n"
          "                      each, paths printed one per line, pack 1 first. Pack 1\n"
          "                      is built from the options above; pack 2 has 80 %\n"
          "                      of its capacity, 30 % more resistance and a SOC 10\n"
          "                      points lower; pack 3 +10 % resistance, SOC +5; pack 4\n"
          "                      110 % capacity, -10 % resistance, SOC -3; seeds\n"
          "                      SEED+0..3. --current-a is then the bank current, split\n"
          "                      by Kirchhoff; not with --link. Commands on stdin, one\n"
          "                      per line (P = pack number 1..N), answered on stderr:\n"
          "                        open P / close P    open or close the pack's switch\n"
          "                        mute P / unmute P   silence its UART (still on the bus)\n"
          "                        current A / demo    bank current in A / the demo day\n"
          "                        status              bus voltage, each pack's current\n"
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
    OPT_PACKS,
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
        {"packs", required_argument, NULL, OPT_PACKS},
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
        case OPT_PACKS:
            rc = parse_ulong("--packs", optarg, 1u, TBMS_SIM_BUS_MAX_PACKS, &u);
            o->packs = (unsigned)u;
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
    if (o->packs > 0u && o->link != NULL) {
        fprintf(stderr, PROG ": --link serves one pack; with --packs use the printed paths\n");
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

/* ---- --packs N: a bank on one bus ---- */

typedef struct {
    unsigned n;
    tbms_sim_t sim[TBMS_SIM_BUS_MAX_PACKS];
    tbms_sim_bus_t bus;
    int master[TBMS_SIM_BUS_MAX_PACKS];
    int slave[TBMS_SIM_BUS_MAX_PACKS];
    char path[TBMS_SIM_BUS_MAX_PACKS][256];
    bool muted[TBMS_SIM_BUS_MAX_PACKS];
    char line[256]; /* stdin command being received */
    size_t line_len;
} bank_t;

static const char *path_name(tbms_sim_bus_path_t p)
{
    switch (p) {
    case TBMS_SIM_BUS_CLOSED:
        return "closed";
    case TBMS_SIM_BUS_CHARGE_ONLY:
        return "charge only (BMS cut discharge)";
    case TBMS_SIM_BUS_DISCHARGE_ONLY:
        return "discharge only (BMS cut charge)";
    case TBMS_SIM_BUS_OPEN_BMS:
        return "open (BMS)";
    case TBMS_SIM_BUS_OPEN_FORCED:
    default:
        return "open (by command)";
    }
}

static void print_status(const bank_t *b)
{
    fprintf(stderr, PROG ": bus %.3f V, asked %.3f A, flowing %.3f A\n",
            (double)tbms_sim_bus_voltage_v(&b->bus),
            (double)tbms_sim_bus_requested_ma(&b->bus) / 1000.0,
            (double)tbms_sim_bus_delivered_ma(&b->bus) / 1000.0);
    for (unsigned i = 0; i < b->n; i++) {
        fprintf(stderr, PROG ": pack %u %s: %.3f A, SOC %.2f %%, %s%s\n", i + 1u, b->path[i],
                (double)tbms_sim_bus_pack_current_ma(&b->bus, i) / 1000.0,
                (double)tbms_sim_soc_pct(&b->sim[i]), path_name(tbms_sim_bus_path(&b->bus, i)),
                b->muted[i] ? ", UART muted" : "");
    }
}

/* One stdin command (see the help); answers on stderr. */
static void command(bank_t *b, char *line)
{
    char word[16];
    double arg = 0.0;
    int got = sscanf(line, "%15s %lf", word, &arg);
    if (got < 1) {
        return; /* empty line */
    }
    tbms_sim_bus_step(&b->bus, monotonic_ms());
    bool pack_cmd = strcmp(word, "open") == 0 || strcmp(word, "close") == 0 ||
                    strcmp(word, "mute") == 0 || strcmp(word, "unmute") == 0;
    unsigned p = got == 2 && arg >= 1.0 && arg <= (double)b->n ? (unsigned)arg : 0u;
    if (pack_cmd && (p == 0u || (double)p != arg)) {
        fprintf(stderr, PROG ": %s needs a pack number 1..%u\n", word, b->n);
        return;
    }
    if (strcmp(word, "open") == 0 || strcmp(word, "close") == 0) {
        tbms_sim_bus_set_switch_open(&b->bus, p - 1u, word[0] == 'o');
        fprintf(stderr, PROG ": pack %u switch %s\n", p, word[0] == 'o' ? "open" : "closed");
    } else if (strcmp(word, "mute") == 0 || strcmp(word, "unmute") == 0) {
        b->muted[p - 1u] = word[0] == 'm';
        tbms_sim_set_muted(&b->sim[p - 1u], b->muted[p - 1u]);
        fprintf(stderr, PROG ": pack %u UART %s\n", p, word[0] == 'm' ? "muted" : "unmuted");
    } else if (strcmp(word, "current") == 0 && got == 2 && arg >= -2000.0 && arg <= 2000.0) {
        tbms_sim_bus_set_current_ma(&b->bus,
                                    (int32_t)(arg < 0.0 ? arg * 1000.0 - 0.5 : arg * 1000.0 + 0.5));
        fprintf(stderr, PROG ": bank current %.3f A\n", arg);
    } else if (strcmp(word, "demo") == 0) {
        tbms_sim_bus_clear_current(&b->bus);
        fprintf(stderr, PROG ": bank current from the demo day\n");
    } else if (strcmp(word, "status") == 0) {
        print_status(b);
    } else {
        fprintf(stderr, PROG ": unknown command '%s' (open P, close P, mute P, unmute P, "
                        "current A, demo, status)\n",
                line);
    }
}

/* Reads stdin; runs each complete line. Returns false at end of input. */
static bool read_commands(bank_t *b)
{
    char buf[256];
    ssize_t r = read(STDIN_FILENO, buf, sizeof buf);
    if (r < 0 && errno == EINTR) {
        return true;
    }
    if (r <= 0) {
        return false;
    }
    for (ssize_t k = 0; k < r; k++) {
        if (buf[k] == '\n' || buf[k] == '\r') {
            b->line[b->line_len] = '\0';
            command(b, b->line);
            b->line_len = 0u;
        } else if (b->line_len < sizeof b->line - 1u) {
            b->line[b->line_len++] = buf[k];
        }
    }
    return true;
}

static void serve_bank(bank_t *b)
{
    static uint8_t in[TBMS_SIM_BUS_MAX_PACKS][IO_BUF];
    static uint8_t out[TBMS_SIM_TX_CAP];
    bool stdin_open = true;
    while (!stop_signal) {
        struct pollfd pfd[TBMS_SIM_BUS_MAX_PACKS + 1u];
        int timeout_ms = POLL_MS;
        uint64_t now = monotonic_ms();
        for (unsigned i = 0; i < b->n; i++) {
            pfd[i] = (struct pollfd){.fd = b->master[i], .events = POLLIN, .revents = 0};
            uint64_t due = tbms_sim_next_answer_ms(&b->sim[i]);
            if (due <= now) {
                timeout_ms = 0;
            } else if (due - now < (uint64_t)timeout_ms) {
                timeout_ms = (int)(due - now);
            }
        }
        pfd[b->n] = (struct pollfd){.fd = stdin_open ? STDIN_FILENO : -1, .events = POLLIN};
        int pr = poll(pfd, b->n + 1u, timeout_ms);
        if (pr < 0 && errno != EINTR) {
            fprintf(stderr, PROG ": poll: %s\n", strerror(errno));
            return;
        }
        size_t n[TBMS_SIM_BUS_MAX_PACKS] = {0};
        for (unsigned i = 0; pr > 0 && i < b->n; i++) {
            if (pfd[i].revents & POLLIN) {
                ssize_t r = read(b->master[i], in[i], sizeof in[i]);
                n[i] = r > 0 ? (size_t)r : 0u;
            }
        }
        if (pr > 0 && (pfd[b->n].revents & (POLLIN | POLLHUP | POLLERR))) {
            stdin_open = read_commands(b);
        }
        /* The whole bank to now, then each pack answers at the same now. */
        now = monotonic_ms();
        tbms_sim_bus_step(&b->bus, now);
        for (unsigned i = 0; i < b->n; i++) {
            size_t out_len = 0u;
            (void)tbms_sim_receive(&b->sim[i], in[i], n[i], now, out, sizeof out, &out_len);
            write_out(b->master[i], out, out_len);
        }
    }
}

static int run_bank(const options_t *o)
{
    static bank_t b;
    b.n = o->packs;
    uint64_t now = monotonic_ms();
    tbms_sim_t *packs[TBMS_SIM_BUS_MAX_PACKS];
    for (unsigned i = 0; i < b.n; i++) {
        tbms_sim_config_t c = tbms_sim_bus_mismatched_config(&o->cfg, i);
        tbms_sim_err_t err = tbms_sim_init(&b.sim[i], &c, now);
        if (err != TBMS_SIM_OK) {
            fprintf(stderr, PROG ": invalid configuration of pack %u: %s\n", i + 1u,
                    tbms_sim_strerror(err));
            return 2;
        }
        if (o->broadcast) {
            const uint16_t bc[2] = {BROADCAST_TIME_CODE, BROADCAST_PROTO_CODE};
            err = tbms_sim_write_settings(&b.sim[i], 342u, bc, 2u);
            if (err != TBMS_SIM_OK) {
                fprintf(stderr, PROG ": cannot enable broadcast: %s\n", tbms_sim_strerror(err));
                return 1;
            }
        }
        packs[i] = &b.sim[i];
    }
    if (tbms_sim_bus_init(&b.bus, packs, b.n, now) != TBMS_SIM_OK) {
        fprintf(stderr, PROG ": cannot put the packs on one bus\n");
        return 2;
    }
    if (o->have_current) {
        tbms_sim_bus_set_current_ma(&b.bus, o->current_ma);
    }
    if (install_signals() != 0) {
        return 1;
    }
    unsigned opened = 0u;
    int rc = 0;
    for (; opened < b.n; opened++) {
        if (open_pty(&b.master[opened], &b.slave[opened], b.path[opened],
                     sizeof b.path[opened]) != 0) {
            rc = 1;
            break;
        }
    }
    if (rc == 0) {
        for (unsigned i = 0; i < b.n; i++) {
            printf("%s\n", b.path[i]);
        }
        fflush(stdout);
        serve_bank(&b);
        for (unsigned i = 0; i < b.n; i++) {
            const tbms_sim_counters_t *c = tbms_sim_counters(&b.sim[i]);
            fprintf(stderr,
                    PROG ": pack %u: %u requests, %u responses (%u NACK), %u CRC errors, "
                         "%u swallowed by sleep, %u dropped while busy\n",
                    i + 1u, (unsigned)c->requests, (unsigned)c->responses, (unsigned)c->nacks,
                    (unsigned)c->crc_errors, (unsigned)c->swallowed, (unsigned)c->busy_dropped);
        }
        fprintf(stderr, PROG ": stopped by signal %d\n", (int)stop_signal);
    }
    for (unsigned i = 0; i < opened; i++) {
        close(b.slave[i]);
        close(b.master[i]);
    }
    return rc;
}

int main(int argc, char **argv)
{
    options_t o;
    int pr = parse_args(argc, argv, &o);
    if (pr != 0) {
        return pr > 0 ? 0 : 2;
    }
    if (o.packs > 0u) {
        return run_bank(&o);
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
