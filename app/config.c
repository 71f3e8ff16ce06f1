/*
 * config.c - configuration schema, defaults, strict JSON parsing,
 * validation and serialisation (see config.h).
 *
 * One const table (keys[]) describes every key: JSON path, kind, where it
 * lives in cfg_t, range, resolution, string check and description. Parsing,
 * validation, serialisation, cfg_equal and the documentation table are all
 * driven by it, so a key cannot exist in one and be missing in another.
 * A second table of the same shape (esp32_keys[]) holds the seed's ESP32
 * keys, which are checked, kept and written back but never used here.
 * Cross-field rules are a small table plus three hand-written rules. The
 * "packs" array is the one section that is not a set of keys: it has its
 * own parse (apply_packs), check (check_packs) and writer (add_packs).
 */
#include "config.h"

#include "bridge_config.h"
#include "json_guard.h"
#include "strbuf.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#if defined(__GNUC__)
#define CFG_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define CFG_PRINTF(f, a)
#endif

/* ------------------------------------------------------------------------
 * Error text
 * ------------------------------------------------------------------------ */

static const char *const err_text[CFG_ERR_COUNT_] = {
    [CFG_OK] = "ok",
    [CFG_ERR_ARG] = "invalid argument",
    [CFG_ERR_SYNTAX] = "JSON syntax error",
    [CFG_ERR_NOT_OBJECT] = "not a JSON object",
    [CFG_ERR_UNKNOWN_KEY] = "unknown key",
    [CFG_ERR_DUPLICATE_KEY] = "duplicate key",
    [CFG_ERR_TYPE] = "wrong type",
    [CFG_ERR_RANGE] = "value out of range",
    [CFG_ERR_VALUE] = "invalid value",
    [CFG_ERR_RULE] = "inconsistent settings",
    [CFG_ERR_NOMEM] = "out of memory",
    [CFG_ERR_IO] = "file error",
};

const char *cfg_strerror(cfg_err_t code)
{
    if ((unsigned)code >= (unsigned)CFG_ERR_COUNT_) {
        return "unknown error";
    }
    return err_text[code];
}

/* Fills *err: key = path, message = "path: <formatted text>" (or just the
 * text when path is empty). Returns code so callers can `return fail(...)`. */
static cfg_err_t fail(cfg_error_t *err, cfg_err_t code, const char *path, const char *fmt, ...)
    CFG_PRINTF(4, 5);

static cfg_err_t fail(cfg_error_t *err, cfg_err_t code, const char *path, const char *fmt, ...)
{
    if (err == NULL) {
        return code;
    }
    err->code = code;
    (void)snprintf(err->key, sizeof err->key, "%s", path);
    size_t used = 0;
    if (path[0] != '\0') {
        int n = snprintf(err->message, sizeof err->message, "%s: ", path);
        used = n < 0 ? 0u : (size_t)n;
        if (used >= sizeof err->message) {
            return code;
        }
    }
    va_list ap;
    va_start(ap, fmt);
    (void)vsnprintf(err->message + used, sizeof err->message - used, fmt, ap);
    va_end(ap);
    return code;
}

static void clear_error(cfg_error_t *err)
{
    if (err != NULL) {
        err->code = CFG_OK;
        err->key[0] = '\0';
        err->message[0] = '\0';
    }
}

/* ------------------------------------------------------------------------
 * String checks. Each returns true when s is acceptable, else writes why
 * (without the key path) into why[why_len]. They are called only after the
 * generic length and control-character checks, and only for a non-empty s.
 * Checks of secrets never quote the value.
 * ------------------------------------------------------------------------ */

typedef bool (*str_check_fn)(const char *s, char *why, size_t why_len);

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}
static bool is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
static bool is_xdigit(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
static char to_upper(char c)
{
    return (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c;
}

static bool ci_equal(const char *a, const char *b)
{
    while (*a != '\0' && to_upper(*a) == to_upper(*b)) {
        a++;
        b++;
    }
    return *a == '\0' && *b == '\0';
}

static bool ci_prefix(const char *s, const char *prefix)
{
    for (; *prefix != '\0'; s++, prefix++) {
        if (to_upper(*s) != to_upper(*prefix)) {
            return false;
        }
    }
    return true;
}

static bool printable_ascii(const char *s)
{
    for (; *s != '\0'; s++) {
        if ((unsigned char)*s < 0x20u || (unsigned char)*s > 0x7Eu) {
            return false;
        }
    }
    return true;
}

static bool chk_abs_path(const char *s, char *why, size_t why_len)
{
    if (s[0] != '/') {
        (void)snprintf(why, why_len, "\"%.60s\" is not an absolute path (it must start with '/')",
                       s);
        return false;
    }
    return true;
}

/* "socketcan:IF" | "slcan:/dev/TTY" | "log:FILE" ("log:-" = stdout), the
 * same spec strings as the bridge's --can option (architecture.md). */
static bool chk_can_spec(const char *s, char *why, size_t why_len)
{
    static const char usage[] =
        "use \"socketcan:IFACE\", \"slcan:/dev/TTY\" or \"log:FILE\" (\"log:-\" = standard output)";
    if (strncmp(s, "socketcan:", 10) == 0) {
        const char *ifname = s + 10;
        size_t n = strlen(ifname);
        /* Linux IFNAMSIZ is 16 with the NUL. */
        bool ok = n >= 1u && n <= 15u;
        for (const char *p = ifname; ok && *p != '\0'; p++) {
            ok = *p != '/' && *p != ' ' && *p != ':';
        }
        if (!ok) {
            (void)snprintf(why, why_len,
                           "\"%.60s\": a socketcan interface name has 1 to 15 characters "
                           "without '/', ':' or spaces",
                           s);
        }
        return ok;
    }
    if (strncmp(s, "slcan:", 6) == 0) {
        if (s[6] != '/') {
            (void)snprintf(why, why_len,
                           "\"%.60s\": slcan needs the adapter's absolute device path", s);
            return false;
        }
        return true;
    }
    if (strncmp(s, "log:", 4) == 0) {
        if (s[4] == '\0') {
            (void)snprintf(why, why_len,
                           "\"%.60s\": log needs a file name, or '-' for standard output", s);
            return false;
        }
        return true;
    }
    (void)snprintf(why, why_len, "\"%.60s\" is not a CAN interface spec; %s", s, usage);
    return false;
}

static bool chk_can_ascii(const char *s, char *why, size_t why_len)
{
    if (!printable_ascii(s)) {
        (void)snprintf(why, why_len, "must be printable ASCII (it is sent in CAN frames)");
        return false;
    }
    return true;
}

/* Venus OS picks a battery ProductId, and with it forced settings and CVL/CCL
 * quirks, from the leading part of 0x35E (victron-can-bms.md A.5, A.8). */
static bool chk_manufacturer(const char *s, char *why, size_t why_len)
{
    static const char *const quirk_prefixes[] = {"PYLON",    "BYD",   "LG",   "DYNESS",
                                                 "BLUENOVA", "PELIO", "LYNX", "VICTRON"};
    if (!chk_can_ascii(s, why, why_len)) {
        return false;
    }
    for (size_t i = 0; i < sizeof quirk_prefixes / sizeof quirk_prefixes[0]; i++) {
        if (ci_prefix(s, quirk_prefixes[i])) {
            (void)snprintf(why, why_len,
                           "\"%s\" starts with \"%s\": Venus OS identifies batteries by this name "
                           "and would apply that vendor's quirks; choose a neutral name",
                           s, quirk_prefixes[i]);
            return false;
        }
    }
    return true;
}

static bool ipv4_literal(const char *s)
{
    int parts = 0;
    while (parts < 4) {
        int value = 0;
        int digits = 0;
        while (is_digit(*s) && digits < 4) {
            value = value * 10 + (*s - '0');
            digits++;
            s++;
        }
        if (digits == 0 || digits > 3 || value > 255) {
            return false;
        }
        parts++;
        if (parts < 4) {
            if (*s != '.') {
                return false;
            }
            s++;
        }
    }
    return *s == '\0';
}

/* A plausibility check, not a full RFC 4291 parser: hex groups, ':' and an
 * optional embedded IPv4 tail, at most one "::". The server's bind() gives
 * the final word. */
static bool ipv6_literal(const char *s)
{
    size_t n = strlen(s);
    if (n < 2u || n > 45u || strchr(s, ':') == NULL || strstr(s, ":::") != NULL) {
        return false;
    }
    const char *dc = strstr(s, "::");
    if (dc != NULL && strstr(dc + 1, "::") != NULL) {
        return false;
    }
    for (; *s != '\0'; s++) {
        if (!is_xdigit(*s) && *s != ':' && *s != '.') {
            return false;
        }
    }
    return true;
}

static bool chk_ip_literal(const char *s, char *why, size_t why_len)
{
    if (ipv4_literal(s) || ipv6_literal(s)) {
        return true;
    }
    (void)snprintf(why, why_len,
                   "\"%.60s\" is not an IPv4 or IPv6 address (0.0.0.0 = every interface, "
                   "127.0.0.1 = this machine only)",
                   s);
    return false;
}

static bool chk_host(const char *s, char *why, size_t why_len)
{
    if (strstr(s, "://") != NULL) {
        (void)snprintf(why, why_len, "\"%.60s\": give a host name or address, not a URI", s);
        return false;
    }
    for (const char *p = s; *p != '\0'; p++) {
        if (!is_alpha(*p) && !is_digit(*p) && strchr(".-_:[]", *p) == NULL) {
            (void)snprintf(why, why_len, "\"%.60s\" is not a host name or address", s);
            return false;
        }
    }
    return true;
}

/* Well-formed UTF-8 (D-Bus refuses anything else), shortest forms only, no
 * surrogates, at most U+10FFFF. */
static bool chk_utf8(const char *s, char *why, size_t why_len)
{
    static const uint32_t least[4] = {0u, 0x80u, 0x800u, 0x10000u}; /* shortest form */
    const unsigned char *p = (const unsigned char *)s;
    while (*p != '\0') {
        unsigned c = *p;
        size_t more = 4u; /* continuation bytes; 4 = not a lead byte */
        uint32_t cp = 0u;
        if (c < 0x80u) {
            more = 0u;
            cp = c;
        } else if ((c & 0xE0u) == 0xC0u) {
            more = 1u;
            cp = c & 0x1Fu;
        } else if ((c & 0xF0u) == 0xE0u) {
            more = 2u;
            cp = c & 0x0Fu;
        } else if ((c & 0xF8u) == 0xF0u) {
            more = 3u;
            cp = c & 0x07u;
        }
        bool ok = more < 4u;
        for (size_t i = 1; ok && i <= more; i++) {
            ok = (p[i] & 0xC0u) == 0x80u; /* also stops at the NUL */
            cp = (cp << 6) | (p[i] & 0x3Fu);
        }
        ok = ok && cp >= least[more] && cp <= 0x10FFFFu && (cp < 0xD800u || cp > 0xDFFFu);
        if (!ok) {
            (void)snprintf(why, why_len, "is not valid UTF-8 (byte %zu)",
                           (size_t)(p - (const unsigned char *)s) + 1u);
            return false;
        }
        p += more + 1u;
    }
    return true;
}

/* HTTP Basic authentication cannot carry ':' in the user name. */
static bool chk_web_user(const char *s, char *why, size_t why_len)
{
    if (!printable_ascii(s) || strchr(s, ':') != NULL || strchr(s, ' ') != NULL) {
        (void)snprintf(why, why_len, "must be printable ASCII without ':' or spaces");
        return false;
    }
    return true;
}

/* Tokens and MQTT client ids: printable ASCII without spaces. Used for a
 * secret too, so the value is not quoted. */
static bool chk_word(const char *s, char *why, size_t why_len)
{
    for (; *s != '\0'; s++) {
        if ((unsigned char)*s <= 0x20u || (unsigned char)*s > 0x7Eu) {
            (void)snprintf(why, why_len, "must be printable ASCII without spaces");
            return false;
        }
    }
    return true;
}

static bool chk_topic(const char *s, char *why, size_t why_len)
{
    size_t n = strlen(s);
    if (strpbrk(s, "+#") != NULL) {
        (void)snprintf(why, why_len, "\"%.60s\": wildcards '+' and '#' are not allowed in a topic",
                       s);
        return false;
    }
    if (s[0] == '/' || s[n - 1u] == '/' || strstr(s, "//") != NULL) {
        (void)snprintf(why, why_len, "\"%.60s\": no leading or trailing '/' and no empty level", s);
        return false;
    }
    return true;
}

/* ESP32-only keys (never used here, but kept in a file that may go back
 * to an ESP32, so they are held to what the ESP32 firmware can use). */
static bool chk_wifi_mode(const char *s, char *why, size_t why_len)
{
    static const char *const modes[] = {"sta", "station", "ap", "both"};
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        if (ci_equal(s, modes[i])) {
            return true;
        }
    }
    (void)snprintf(why, why_len, "\"%.20s\" is not one of sta, station, ap, both", s);
    return false;
}

static bool chk_ip_mode(const char *s, char *why, size_t why_len)
{
    if (ci_equal(s, "dhcp") || ci_equal(s, "static")) {
        return true;
    }
    (void)snprintf(why, why_len, "\"%.20s\" is not one of dhcp, static", s);
    return false;
}

static bool chk_ipv4(const char *s, char *why, size_t why_len)
{
    if (ipv4_literal(s)) {
        return true;
    }
    (void)snprintf(why, why_len, "\"%.20s\" is not an IPv4 address", s);
    return false;
}

/* RFC 1123 host name label: letters, digits and '-', not at either end. */
static bool chk_hostname(const char *s, char *why, size_t why_len)
{
    size_t n = strlen(s);
    bool ok = s[0] != '-' && s[n - 1u] != '-';
    for (const char *p = s; ok && *p != '\0'; p++) {
        ok = is_alpha(*p) || is_digit(*p) || *p == '-';
    }
    if (!ok) {
        (void)snprintf(why, why_len,
                       "\"%.63s\": a host name has letters, digits and '-' (not at either end)",
                       s);
    }
    return ok;
}

/* ------------------------------------------------------------------------
 * The key table
 * ------------------------------------------------------------------------ */

enum {
    KF_ZERO = 1u,   /* numbers: 0 accepted outside min..max */
    KF_SECRET = 2u, /* strings: never echoed, redacted on request */
    KF_EMPTY = 4u,  /* strings: "" accepted below the minimum length */
    KF_ESP32 = 8u,  /* seed ESP32 key: checked, kept, written back, not used */
};

typedef struct {
    const char *path;
    cfg_kind_t kind;
    size_t off;
    size_t size;
    int32_t min;   /* numbers: stored units; strings: length; enums: 0 */
    int32_t max;   /* numbers: stored units; strings: size - 1; enums: count - 1 */
    int32_t scale; /* stored units per JSON unit; a power of ten */
    unsigned flags;
    str_check_fn check;
    const char *const *names;
    const char *unit;
    const char *hint; /* appended to range errors, e.g. what 0 means */
    const char *summary;
    const char *why; /* KF_ESP32: why it does not apply on Linux (the warning) */
} key_def_t;

static const char *const log_level_names[CFG_LOG_COUNT_] = {"ERROR", "WARNING", "INFO", "DEBUG"};
static const char *const can_mode_names[CFG_CAN_MODE_COUNT_] = {"normal", "loopback"};

#define MEMBER(m) offsetof(cfg_t, m), sizeof(((cfg_t *)0)->m)
#define KB(p, m, sum)                                                                              \
    {                                                                                              \
        p, CFG_KIND_BOOL, MEMBER(m), 0, 1, 1, 0u, NULL, NULL, "", NULL, sum, NULL                        \
    }
#define KI(p, m, lo, hi, fl, unit, hint, sum)                                                      \
    {                                                                                              \
        p, CFG_KIND_INT, MEMBER(m), lo, hi, 1, fl, NULL, NULL, unit, hint, sum, NULL                     \
    }
#define KD(p, m, lo, hi, sc, fl, unit, hint, sum)                                                  \
    {                                                                                              \
        p, CFG_KIND_DEC, MEMBER(m), lo, hi, sc, fl, NULL, NULL, unit, hint, sum, NULL                    \
    }
#define KS(p, m, lo, fl, chk, sum)                                                                 \
    {                                                                                              \
        p, CFG_KIND_STR, MEMBER(m), lo, (int32_t)sizeof(((cfg_t *)0)->m) - 1, 1, fl, chk, NULL,    \
            "", NULL, sum, NULL                                                                    \
    }
#define KE(p, m, names, n, sum)                                                                    \
    {                                                                                              \
        p, CFG_KIND_ENUM, MEMBER(m), 0, (n)-1, 1, 0u, NULL, names, "", NULL, sum, NULL                   \
    }

static const key_def_t keys[] = {
    /* hardware.uart: tinybms-uart.md section 1 (115200 8N1, fixed). */
    KS("hardware.uart.device", hardware.uart.device, 1, 0u, chk_abs_path,
       "Serial device of the TinyBMS UART adapter."),
    KI("hardware.uart.baudrate", hardware.uart.baudrate, 115200, 115200, 0u, "baud",
       "the TinyBMS UART runs at 115200 baud only",
       "Kept for seed compatibility; the TinyBMS UART speed cannot be changed."),
    KI("hardware.uart.timeout_ms", hardware.uart.timeout_ms, 20, 2000, 0u, "ms", NULL,
       "Response timeout of one request attempt."),
    KI("hardware.uart.retries", hardware.uart.retries, 0, 9, 0u, "", NULL,
       "Identical resends after a timeout (a sleeping TinyBMS answers only the second copy)."),
    /* hardware.can: victron-can-bms.md A.1 (500 kbit/s). */
    KS("hardware.can.interface", hardware.can.interface, 1, 0u, chk_can_spec,
       "CAN port: socketcan:IFACE, slcan:/dev/TTY or log:FILE (candump -L text; log:- = stdout)."),
    KI("hardware.can.bitrate", hardware.can.bitrate, 500000, 500000, 0u, "bit/s",
       "Victron CAN-BMS runs at 500 kbit/s only",
       "CAN bit rate; set on slcan adapters, checked against socketcan interfaces."),
    KE("hardware.can.mode", hardware.can.mode, can_mode_names, CFG_CAN_MODE_COUNT_,
       "normal; loopback = bench test without a bus: frames come back to the bridge and none "
       "is sent (slcan opens listen-only). Read at start."),

    /* bank: several packs as one battery (bank.h, multi-pack.md). Each pack's
     * own limits come from its own TinyBMS settings; the bank's current caps
     * are victron.max_charge_current_a / max_discharge_current_a. */
    KI("bank.min_packs", bank.min_packs, 1, (int32_t)CFG_MAX_PACKS, 0u, "packs", NULL,
       "Bank: with fewer packs online than this, the bank's CCL and DCL are 0; at most the "
       "number of packs in `packs`."),
    KI("bank.offline_grace_ms", bank.offline_grace_ms, 0, 600000, 0u, "ms", NULL,
       "Bank: a pack whose reads stop still counts with its last values this long (with a "
       "warning), then it is offline; 0 = offline at once."),
    KI("bank.rejoin_hold_ms", bank.rejoin_hold_ms, 0, 600000, 0u, "ms", NULL,
       "Bank: a pack whose reads return must be fresh this long before it counts again."),
    KI("bank.rejoin_window_cell_mv", bank.rejoin_window_cell_mv, 1, 1000, 0u, "mV", NULL,
       "Bank: a pack joins only within this x series cells of the bank voltage (50 mV = 0.8 V "
       "on 16S)."),
    KI("bank.near_cutoff_mv", bank.near_cutoff_mv, 0, 1000, 0u, "mV", NULL,
       "Bank: a pack that goes silent with a cell this close to its TinyBMS cutoff is offline "
       "at once, without the grace."),
    KI("bank.share_min_ma", bank.share_min_ma, 0, 1000000, 0u, "mA", NULL,
       "Bank: below this total current the packs' shares are assumed, not measured."),
    KD("bank.small_current_split", bank.small_current_split_pm, 1000, 4000, 1000, 0u, "", NULL,
       "Bank: the share one pack is assumed to take below share_min_ma, as a multiple of the "
       "equal share."),
    KB("bank.incremental_guard", bank.incremental_guard,
       "Bank: also bound each pack by its share of any current still to come (bank.h); "
       "false = only by its present share."),

    KI("tinybms.poll_interval_ms", tinybms.poll_interval_ms, 20, 1000, 0u, "ms", NULL,
       "Live-data (registers 0..55) poll period; the BMS samples at 10 Hz."),
    KI("tinybms.settings_refresh_ms", tinybms.settings_refresh_ms, 1000, 3600000, 0u, "ms", NULL,
       "Period for re-reading the TinyBMS settings and version registers (also read at start)."),
    KI("tinybms.stats_refresh_ms", tinybms.stats_refresh_ms, 1000, 3600000, KF_ZERO, "ms",
       "or 0 = never", "Period for reading the statistics registers 100..117."),
    KI("tinybms.events_refresh_ms", tinybms.events_refresh_ms, 1000, 3600000, KF_ZERO, "ms",
       "or 0 = never", "Period for reading the event log registers 200..297."),
    KI("tinybms.bms_timeout_ms", tinybms.bms_timeout_ms, 1000, 30000, 0u, "ms", NULL,
       "Stale-data limit: with no valid live read for this long the bridge stops sending "
       "battery frames."),

    KS("victron.manufacturer_name", victron.manufacturer_name, 1, 0u, chk_manufacturer,
       "0x35E manufacturer name; must not start with a name Venus OS has quirks for."),
    KS("victron.battery_name", victron.battery_name, 1, 0u, chk_can_ascii,
       "0x370/0x371 battery name shown on the GX."),
    KI("victron.fast_interval_ms", victron.fast_interval_ms, 200, 1000, 0u, "ms", NULL,
       "Period of 0x351, 0x355, 0x356 and 0x35A (the GX drops a BMS that is silent a few s)."),
    KI("victron.detail_interval_ms", victron.detail_interval_ms, 200, 60000, 0u, "ms", NULL,
       "Period of the detail frames 0x372..0x379 (cells, modules, energy, capacity)."),
    KI("victron.identity_interval_ms", victron.identity_interval_ms, 1000, 60000, 0u, "ms", NULL,
       "Period of the identity frames 0x35E, 0x35F, 0x370, 0x371, 0x382."),
    KI("victron.keepalive_timeout_ms", victron.keepalive_timeout_ms, 1000, 600000, 0u, "ms", NULL,
       "GX keepalive (0x305) silence after which the status reports the GX as absent; "
       "transmission never depends on it."),
    KD("victron.max_charge_current_a", victron.max_charge_current_da, 0, 10000, 10, 0u, "A", NULL,
       "Charge current ceiling (CCL, 0x351), never above the TinyBMS charge over-current cutoff; "
       "with several packs the BANK total, not a per-pack limit."),
    KD("victron.max_discharge_current_a", victron.max_discharge_current_da, 0, 10000, 10, 0u, "A",
       NULL,
       "Discharge current ceiling (DCL, 0x351), never above the TinyBMS discharge cutoff; with "
       "several packs the BANK total, not a per-pack limit."),
    KI("victron.charge_cell_mv", victron.charge_cell_mv, 2500, 4500, 0u, "mV", NULL,
       "Charge voltage per cell; CVL = this x series cells (LFP: 3450)."),
    KI("victron.discharge_cell_mv", victron.discharge_cell_mv, 2000, 4000, 0u, "mV", NULL,
       "Discharge voltage limit per cell; DVL = this x series cells (GX BatteryLowVoltage)."),
    KD("victron.thresholds.overvoltage_v", victron.thresholds.overvoltage_mv, 5000, 80000, 1000,
       KF_ZERO, "V", "or 0 = from the pack",
       "Pack high-voltage alarm threshold (0x35A); 0 = series cells x the TinyBMS over-voltage "
       "cutoff (reg 315)."),
    KD("victron.thresholds.undervoltage_v", victron.thresholds.undervoltage_mv, 5000, 80000, 1000,
       KF_ZERO, "V", "or 0 = from the pack",
       "Pack low-voltage alarm threshold (0x35A); 0 = series cells x the TinyBMS under-voltage "
       "cutoff (reg 316)."),
    KD("victron.thresholds.overtemp_c", victron.thresholds.overtemp_dc, 200, 900, 10, 0u, "degC",
       NULL, "High-temperature alarm threshold (0x35A)."),
    KD("victron.thresholds.low_temp_charge_c", victron.thresholds.low_temp_charge_dc, -300, 300, 10,
       0u, "degC", NULL, "Below this temperature charging is flagged (low charge temperature)."),
    KI("victron.thresholds.imbalance_warn_mv", victron.thresholds.imbalance_warn_mv, 5, 1000, 0u,
       "mV", NULL, "Cell imbalance (max - min cell) warning threshold (0x35A)."),
    KI("victron.thresholds.imbalance_alarm_mv", victron.thresholds.imbalance_alarm_mv, 10, 2000, 0u,
       "mV", NULL, "Cell imbalance alarm threshold (0x35A)."),
    /* victron.dbus: venus-dbus.md; read by the Linux port at start. */
    KB("victron.dbus.enabled", victron.dbus.enabled,
       "Publish the battery on the GX's own D-Bus as com.victronenergy.battery.TTY (TTY: the "
       "serial device's name, e.g. ttyUSB0), for the bridge running on Venus OS. CAN goes on "
       "as configured; only --dbus without --can opens no CAN port. Read at start."),
    KI("victron.dbus.device_instance", victron.dbus.device_instance, 0, 65535, 0u, "", NULL,
       "Device instance asked of Venus OS (localsettings moves it to the next free one, and "
       "the GUI may change it). Read at start."),
    KI("victron.dbus.product_id", victron.dbus.product_id, 1, 65535, 0u, "", NULL,
       "/ProductId (47739 = 0xBA7B); not one Venus OS special-cases (Pylontech, BYD, Lynx "
       "BMS...: refused). Read at start."),
    KS("victron.dbus.custom_name", victron.dbus.custom_name, 0, 0u, chk_utf8,
       "/CustomName shown on the GX (UTF-8); empty = the product name. Read at start."),

    /* cvl: seed-system.md 3.3 (keys) and 3.4 (algorithm). */
    KB("cvl.enabled", cvl.enabled, "Run the CVL/CCL/DCL state machine (else fixed limits)."),
    KD("cvl.bulk_soc_threshold", cvl.bulk_soc_threshold_cpct, 1000, 10000, 100, 0u, "%", NULL,
       "SOC at which BULK becomes TRANSITION."),
    KD("cvl.transition_soc_threshold", cvl.transition_soc_threshold_cpct, 1000, 10000, 100, 0u, "%",
       NULL, "SOC at which TRANSITION becomes FLOAT_APPROACH."),
    KD("cvl.float_soc_threshold", cvl.float_soc_threshold_cpct, 1000, 10000, 100, 0u, "%", NULL,
       "SOC at which FLOAT starts."),
    KD("cvl.float_exit_soc", cvl.float_exit_soc_cpct, 1000, 10000, 100, 0u, "%", NULL,
       "FLOAT is kept while SOC stays at or above this."),
    KI("cvl.float_approach_offset_mv", cvl.float_approach_offset_mv, 0, 5000, 0u, "mV", NULL,
       "Pack voltage below the bulk target in FLOAT_APPROACH."),
    KI("cvl.float_offset_mv", cvl.float_offset_mv, 0, 5000, 0u, "mV", NULL,
       "Pack voltage below the bulk target in FLOAT."),
    KD("cvl.minimum_ccl_in_float_a", cvl.minimum_ccl_in_float_da, 0, 10000, 10, 0u, "A", NULL,
       "CCL cap in FLOAT and IMBALANCE_HOLD (0 = no cap)."),
    KI("cvl.imbalance_hold_threshold_mv", cvl.imbalance_hold_threshold_mv, 5, 1000, 0u, "mV", NULL,
       "Cell imbalance above which IMBALANCE_HOLD starts."),
    KI("cvl.imbalance_release_threshold_mv", cvl.imbalance_release_threshold_mv, 0, 1000, 0u, "mV",
       NULL, "Cell imbalance at or below which IMBALANCE_HOLD ends."),
    KD("cvl.bulk_target_voltage_v", cvl.bulk_target_mv, 5000, 100000, 1000, KF_ZERO, "V",
       "or 0 = victron.charge_cell_mv x series cells",
       "Pack bulk charge voltage; 0 derives it from victron.charge_cell_mv."),
    KI("cvl.series_cell_count", cvl.series_cell_count, 4, 16, KF_ZERO, "cells",
       "or 0 = read from the TinyBMS", "Series cells; 0 takes TinyBMS register 307."),
    KD("cvl.cell_max_voltage_v", cvl.cell_max_mv, 2000, 4500, 1000, 0u, "V", NULL,
       "Cell voltage ceiling of the protection limit."),
    KD("cvl.cell_safety_threshold_v", cvl.cell_safety_threshold_mv, 2000, 4500, 1000, 0u, "V", NULL,
       "Highest cell voltage at which cell protection engages."),
    KD("cvl.cell_safety_release_v", cvl.cell_safety_release_mv, 2000, 4500, 1000, 0u, "V", NULL,
       "Highest cell voltage at or below which cell protection releases."),
    KD("cvl.cell_min_float_voltage_v", cvl.cell_min_float_mv, 2000, 4500, 1000, 0u, "V", NULL,
       "Per-cell floor of every reduced CVL."),
    KD("cvl.cell_protection_kp", cvl.cell_protection_kp_milli, 0, 1000000, 1000, 0u, "V/V", NULL,
       "Proportional gain of the cell protection (pack V per cell V above the threshold)."),
    KD("cvl.dynamic_current_nominal_a", cvl.dynamic_current_nominal_da, 10, 20000, 10, 0u, "A",
       NULL, "Current that doubles the protection gain."),
    KD("cvl.max_recovery_step_v", cvl.max_recovery_step_mv, 0, 10000, 1000, 0u, "V", NULL,
       "Largest CVL rise per cycle after protection (0 = no limit)."),
    KD("cvl.sustain_soc_entry_percent", cvl.sustain_soc_entry_cpct, 0, 5000, 100, 0u, "%", NULL,
       "SOC at or below which SUSTAIN (empty battery) starts."),
    KD("cvl.sustain_soc_exit_percent", cvl.sustain_soc_exit_cpct, 0, 6000, 100, 0u, "%", NULL,
       "SOC at or above which SUSTAIN ends."),
    KD("cvl.sustain_voltage_v", cvl.sustain_mv, 5000, 100000, 1000, KF_ZERO, "V",
       "or 0 = sustain_per_cell_voltage_v x series cells",
       "Pack voltage in SUSTAIN; 0 uses the per-cell value."),
    KD("cvl.sustain_per_cell_voltage_v", cvl.sustain_per_cell_mv, 2000, 4000, 1000, 0u, "V", NULL,
       "Per-cell SUSTAIN voltage when sustain_voltage_v is 0."),
    KD("cvl.sustain_ccl_limit_a", cvl.sustain_ccl_limit_da, 0, 10000, 10, 0u, "A", NULL,
       "CCL cap in SUSTAIN."),
    KD("cvl.sustain_dcl_limit_a", cvl.sustain_dcl_limit_da, 0, 10000, 10, 0u, "A", NULL,
       "DCL cap in SUSTAIN."),
    KD("cvl.imbalance_drop_per_mv", cvl.imbalance_drop_uv_per_mv, 0, 10000, 1000000, 0u, "V/mV",
       NULL, "CVL reduction per mV of imbalance above the hold threshold."),
    KD("cvl.imbalance_drop_max_v", cvl.imbalance_drop_max_mv, 0, 10000, 1000, 0u, "V", NULL,
       "Largest imbalance CVL reduction."),
    KI("cvl.update_interval_ms", cvl.update_interval_ms, 500, 60000, 0u, "ms", NULL,
       "Period of the CVL computation."),
    /* Not in the seed: its missing hysteresis and anti-flapping (seed-system.md 9
     * item 12; victron-can-bms.md C.1 hold 30 s / ramp). */
    KD("cvl.soc_hysteresis_percent", cvl.soc_hysteresis_cpct, 0, 500, 100, 0u, "%", NULL,
       "SOC a state change downwards needs below the threshold crossed going up."),
    KB("cvl.derate_enabled", cvl.derate_enabled,
       "Derate CCL/DCL by cell voltage and temperature (docs/charge-control.md)."),
    KD("cvl.current_hold_s", cvl.current_hold_ms, 0, 600000, 1000, 0u, "s", NULL,
       "After CCL or DCL fell, wait this long before it may rise again."),
    KD("cvl.current_ramp_a_per_s", cvl.current_ramp_da_per_s, 0, 10000, 10, 0u, "A/s",
       "or 0 = at once", "Then let CCL/DCL rise at most this fast."),

    KE("logging.log_level", logging.log_level, log_level_names, CFG_LOG_COUNT_,
       "Lowest level written to the log (input is case-insensitive)."),
    KB("logging.log_uart_traffic", logging.log_uart_traffic,
       "Log every TinyBMS request and response at DEBUG."),
    KB("logging.log_can_traffic", logging.log_can_traffic, "Log every CAN frame at DEBUG."),
    KI("logging.file_size_kb", logging.file_size_kb, 1, 10240, KF_ZERO, "KiB", "or 0 = no file",
       "Size at which DATA_DIR/bridge.log is rotated (bridge.log.1 ...); 0 = no log file."),
    KI("logging.files", logging.files, 1, 10, 0u, "", NULL,
       "Files kept in the rotating set, bridge.log included (the oldest is deleted)."),

    KI("web_server.port", web_server.port, 1, 65535, 0u, "", NULL, "HTTP port."),
    KS("web_server.bind_address", web_server.bind_address, 1, 0u, chk_ip_literal,
       "Listen address: 0.0.0.0 = every interface, 127.0.0.1 = this machine only."),
    KS("web_server.username", web_server.username, 0, 0u, chk_web_user,
       "User name for HTTP Basic authentication (required with a password)."),
    KS("web_server.password", web_server.password, 8, KF_SECRET | KF_EMPTY, NULL,
       "Password; empty = no password. Without password and token the API is read-only."),
    KS("web_server.token", web_server.token, 16, KF_SECRET | KF_EMPTY, chk_word,
       "Bearer token for API clients; empty = none."),
    KB("web_server.auth_read", web_server.auth_read,
       "Require the credentials for reads too (API, WebSocket, /metrics); the UI files stay open."),
    KI("web_server.ws_interval_ms", web_server.ws_interval_ms, 1000, 60000, 0u, "ms", NULL,
       "Shortest time between two status pushes to a WebSocket client."),
    KI("web_server.ws_max_clients", web_server.ws_max_clients, 1, 1000, 0u, "", NULL,
       "Most WebSocket clients at once (each holds a server thread); read at start."),

    KB("mqtt.enabled", mqtt.enabled, "Publish to an MQTT broker."),
    KS("mqtt.host", mqtt.host, 0, 0u, chk_host, "Broker host name or address (no URI)."),
    KI("mqtt.port", mqtt.port, 1, 65535, 0u, "", NULL, "Broker port (8883 is usual with TLS)."),
    KS("mqtt.username", mqtt.username, 0, 0u, NULL, "Broker user name; empty = anonymous."),
    KS("mqtt.password", mqtt.password, 0, KF_SECRET, NULL, "Broker password."),
    KS("mqtt.client_id", mqtt.client_id, 1, 0u, chk_word, "MQTT client identifier."),
    KS("mqtt.root_topic", mqtt.root_topic, 1, 0u, chk_topic, "Prefix of every published topic."),
    KI("mqtt.qos", mqtt.qos, 0, 2, 0u, "", NULL, "QoS of published messages."),
    KB("mqtt.retain", mqtt.retain, "Publish with the retain flag."),
    KI("mqtt.keepalive_s", mqtt.keepalive_s, 5, 3600, 0u, "s", NULL, "MQTT keepalive."),
    KS("mqtt.tls_ca_file", mqtt.tls_ca_file, 0, 0u, chk_abs_path,
       "CA certificate (PEM) file; set = connect with TLS, empty = plain TCP."),
    KI("mqtt.interval_ms", mqtt.interval_ms, 1000, 3600000, 0u, "ms", NULL,
       "Period of the state and value topics (alarms and validity go out on change)."),
    KB("mqtt.discovery", mqtt.discovery, "Publish Home Assistant MQTT discovery documents."),
    KS("mqtt.discovery_prefix", mqtt.discovery_prefix, 1, 0u, chk_topic,
       "Home Assistant discovery prefix."),

    /* The seed's advanced.* watchdog keys drive the event-loop watchdog
     * (port/linux/diag.c; seed-system.md 4.9 and 7.2). */
    KB("advanced.enable_watchdog", advanced.enable_watchdog,
       "A loop stall stops the systemd watchdog pings, so systemd (WatchdogSec=) restarts the "
       "bridge; false = stalls are only logged and counted."),
    KI("advanced.watchdog_timeout_s", advanced.watchdog_timeout_s, 1, 600, 0u, "s", NULL,
       "Time without an event-loop turn that counts as a stall."),
};

#define KEY_COUNT (sizeof keys / sizeof keys[0])

/* The seed's ESP32 keys (seed README "Configuration", seed-system.md 4.1,
 * 4.2, 4.8, 4.9). Ranges are what an ESP32 port can use. */
#define EB(p, m, w, sum)                                                                           \
    {                                                                                              \
        .path = p, .kind = CFG_KIND_BOOL, .off = offsetof(cfg_t, m),                               \
        .size = sizeof(((cfg_t *)0)->m), .min = 0, .max = 1, .scale = 1, .flags = KF_ESP32,        \
        .unit = "", .summary = sum, .why = w                                                       \
    }
#define EI(p, m, lo, hi, unit_, w, sum)                                                            \
    {                                                                                              \
        .path = p, .kind = CFG_KIND_INT, .off = offsetof(cfg_t, m),                                \
        .size = sizeof(((cfg_t *)0)->m), .min = lo, .max = hi, .scale = 1, .flags = KF_ESP32,      \
        .unit = unit_, .summary = sum, .why = w                                                    \
    }
#define ES(p, m, lo, fl, chk, w, sum)                                                              \
    {                                                                                              \
        .path = p, .kind = CFG_KIND_STR, .off = offsetof(cfg_t, m),                                \
        .size = sizeof(((cfg_t *)0)->m), .min = lo, .max = (int32_t)sizeof(((cfg_t *)0)->m) - 1,   \
        .scale = 1, .flags = KF_ESP32 | (fl), .check = chk, .unit = "", .summary = sum, .why = w   \
    }

static const char why_wifi[] = "the operating system sets up the network";
static const char why_uart_pin[] = "an ESP32 pin; on Linux the port is hardware.uart.device";
static const char why_can_pin[] = "an ESP32 pin; on Linux the port is hardware.can.interface";
static const char why_fw[] = "an ESP32 firmware option";

static const key_def_t esp32_keys[] = {
    ES("wifi.mode", esp32.wifi.mode, 1, 0u, chk_wifi_mode, why_wifi,
       "Wi-Fi mode: sta (or station), ap, both."),
    ES("wifi.sta_ssid", esp32.wifi.sta_ssid, 0, 0u, NULL, why_wifi, "Network to join."),
    ES("wifi.sta_password", esp32.wifi.sta_password, 8, KF_SECRET | KF_EMPTY, NULL, why_wifi,
       "Its WPA2 passphrase; empty = open network."),
    ES("wifi.sta_hostname", esp32.wifi.sta_hostname, 1, 0u, chk_hostname, why_wifi,
       "Host name announced on the network."),
    ES("wifi.sta_ip_mode", esp32.wifi.sta_ip_mode, 1, 0u, chk_ip_mode, why_wifi,
       "dhcp or static."),
    ES("wifi.sta_static_ip", esp32.wifi.sta_static_ip, 0, 0u, chk_ipv4, why_wifi,
       "Address with sta_ip_mode static."),
    ES("wifi.sta_gateway", esp32.wifi.sta_gateway, 0, 0u, chk_ipv4, why_wifi,
       "Gateway with sta_ip_mode static."),
    ES("wifi.sta_subnet", esp32.wifi.sta_subnet, 0, 0u, chk_ipv4, why_wifi,
       "Subnet mask with sta_ip_mode static."),
    EB("wifi.ap_fallback.enabled", esp32.wifi.ap_enabled, why_wifi,
       "Open an access point when the network cannot be joined."),
    ES("wifi.ap_fallback.ssid", esp32.wifi.ap_ssid, 1, 0u, NULL, why_wifi,
       "Name of that access point."),
    ES("wifi.ap_fallback.password", esp32.wifi.ap_password, 8, KF_SECRET | KF_EMPTY, NULL,
       why_wifi, "Its WPA2 passphrase; empty = the board's own password (never open)."),
    EI("wifi.ap_fallback.channel", esp32.wifi.ap_channel, 1, 13, "", why_wifi,
       "Its Wi-Fi channel."),
    EI("hardware.uart.rx_pin", esp32.uart_rx_pin, 0, 48, "", why_uart_pin,
       "ESP32 GPIO receiving from the TinyBMS."),
    EI("hardware.uart.tx_pin", esp32.uart_tx_pin, 0, 48, "", why_uart_pin,
       "ESP32 GPIO sending to the TinyBMS."),
    EI("hardware.can.tx_pin", esp32.can_tx_pin, 0, 48, "", why_can_pin,
       "ESP32 GPIO to the CAN transceiver's TXD."),
    EI("hardware.can.rx_pin", esp32.can_rx_pin, 0, 48, "", why_can_pin,
       "ESP32 GPIO from the CAN transceiver's RXD."),
    EB("hardware.can.termination", esp32.can_termination,
       "the bus termination is set on the CAN adapter (jumper or switch)",
       "Switch the board's 120 ohm terminator on."),
    EI("logging.serial_baudrate", esp32.serial_baudrate, 9600, 921600, "baud",
       "the ESP32 serial console; on Linux the log goes to stderr and DATA_DIR/bridge.log",
       "Serial console speed."),
    EB("advanced.enable_spiffs", esp32.enable_spiffs, why_fw, "Keep files on SPIFFS."),
    EB("advanced.enable_ota", esp32.enable_ota, why_fw, "Allow firmware updates over the air."),
    EI("advanced.stack_size_bytes", esp32.stack_size_bytes, 2048, 65536, "bytes", why_fw,
       "FreeRTOS task stack size."),
};

#define ESP32_COUNT (sizeof esp32_keys / sizeof esp32_keys[0])
#define ALL_COUNT   (KEY_COUNT + ESP32_COUNT)

_Static_assert(ESP32_COUNT <= 32u, "one presence bit per ESP32 key in cfg_t.esp32.present");

/* The members of one element of the "packs" array. Not in keys[]: the
 * array is not one value. Only the string checks (check_string) and the
 * documentation use these, so they have no place in cfg_t (off, size). */

static bool chk_pack_name(const char *s, char *why, size_t why_len)
{
    if (!printable_ascii(s)) {
        (void)snprintf(why, why_len, "must be printable ASCII");
        return false;
    }
    return true;
}

static const key_def_t pack_device_key = {
    .path = "packs[].device",
    .kind = CFG_KIND_STR,
    .min = 1,
    .max = (int32_t)CFG_PATH_LEN - 1,
    .scale = 1,
    .check = chk_abs_path,
    .unit = "",
    .summary = "Serial device (absolute path) of this pack's TinyBMS; each pack its own.",
};

static const key_def_t pack_name_key = {
    .path = "packs[].name",
    .kind = CFG_KIND_STR,
    .min = 0,
    .max = (int32_t)CFG_PACK_NAME_LEN - 1,
    .scale = 1,
    .check = chk_pack_name,
    .unit = "",
    .summary = "Name shown for this pack (printable ASCII); empty = \"Pack N\" (N = 1..4, "
               "its place in the array).",
};

/* Accepted on input only; a document written by cfg_to_json never uses them.
 * "cvl_algorithm" is the name the seed firmware really loaded (seed-system.md
 * 4.5); "level" is the seed API's spelling of log_level (5.4). */
static const struct {
    const char *alias;
    const char *canonical;
} aliases[] = {
    {"cvl_algorithm", "cvl"},
    {"logging.level", "logging.log_level"},
    /* The seed README's section name and key (seed-system.md 4.7, 9 item 36). */
    {"webserver", "web_server"},
    {"web_server.websocket_update_interval_ms", "web_server.ws_interval_ms"},
};

/* Seed keys that do not exist here, with the reason; only improves the
 * "unknown key" message. */
static const struct {
    const char *path;
    const char *why;
} retired[] = {
    {"tinybms.uart_retry_count", "use hardware.uart.retries"},
    {"tinybms.uart_retry_delay_ms", "a retry is sent when hardware.uart.timeout_ms expires"},
    {"victron.pgn_update_interval_ms", "use victron.fast_interval_ms"},
    {"victron.cvl_update_interval_ms", "use cvl.update_interval_ms"},
    {"victron.keepalive_interval_ms", "the bridge never transmits 0x305"},
    {"victron.manufacturer", "use victron.manufacturer_name"},
};

/* Key number i of keys[] followed by esp32_keys[] (0 <= i < ALL_COUNT). */
static const key_def_t *key_at(size_t i)
{
    return i < KEY_COUNT ? &keys[i] : &esp32_keys[i - KEY_COUNT];
}

static bool is_esp32(const key_def_t *k)
{
    return (k->flags & KF_ESP32) != 0u;
}

static size_t key_index(const key_def_t *k)
{
    return is_esp32(k) ? KEY_COUNT + (size_t)(k - esp32_keys) : (size_t)(k - keys);
}

static uint32_t esp32_bit(const key_def_t *k)
{
    return (uint32_t)1u << (unsigned)(k - esp32_keys);
}

/* Whether key k is part of the configuration: always, except an ESP32 key
 * that was never given. */
static bool key_present(const cfg_t *c, const key_def_t *k)
{
    return !is_esp32(k) || (c->esp32.present & esp32_bit(k)) != 0u;
}

static const key_def_t *find_key(const char *path)
{
    for (size_t i = 0; i < ALL_COUNT; i++) {
        if (strcmp(key_at(i)->path, path) == 0) {
            return key_at(i);
        }
    }
    return NULL;
}

/* True when some key lives under the section `path` ("victron.thresholds"). */
static bool is_section(const char *path)
{
    size_t n = strlen(path);
    for (size_t i = 0; i < ALL_COUNT; i++) {
        const char *kp = key_at(i)->path;
        if (strncmp(kp, path, n) == 0 && kp[n] == '.') {
            return true;
        }
    }
    return false;
}

/* ------------------------------------------------------------------------
 * Field access and number formatting
 * ------------------------------------------------------------------------ */

static void *field(cfg_t *c, const key_def_t *k)
{
    return (unsigned char *)c + k->off;
}

static const void *cfield(const cfg_t *c, const key_def_t *k)
{
    return (const unsigned char *)c + k->off;
}

static int32_t get_i32(const cfg_t *c, const key_def_t *k)
{
    int32_t v;
    memcpy(&v, cfield(c, k), sizeof v);
    return v;
}

static unsigned decimals_of(int32_t scale)
{
    unsigned d = 0;
    for (int32_t s = scale; s > 1; s /= 10) {
        d++;
    }
    return d;
}

/* Writes v / scale in plain decimal without trailing zeros ("58.4", "-10",
 * "0.0005"). */
static void fmt_scaled(char *buf, size_t len, int64_t v, int32_t scale)
{
    if (scale <= 1) {
        (void)snprintf(buf, len, "%lld", (long long)v);
        return;
    }
    unsigned long long a = v < 0 ? (unsigned long long)(-(v + 1)) + 1u : (unsigned long long)v;
    unsigned long long ip = a / (unsigned long long)scale;
    unsigned long long fp = a % (unsigned long long)scale;
    int prec = (int)decimals_of(scale);
    (void)snprintf(buf, len, "%s%llu.%0*llu", v < 0 ? "-" : "", ip, prec, fp);
    char *dot = strchr(buf, '.');
    if (dot != NULL) {
        char *end = buf + strlen(buf);
        while (end > dot + 1 && end[-1] == '0') {
            *--end = '\0';
        }
        if (end == dot + 1) {
            *dot = '\0';
        }
    }
}

static void fmt_key_value(char *buf, size_t len, const cfg_t *c, const key_def_t *k)
{
    fmt_scaled(buf, len, get_i32(c, k), k->scale);
}

static const char *json_type_name(const cJSON *item)
{
    if (cJSON_IsBool(item)) {
        return "true/false";
    }
    if (cJSON_IsNull(item)) {
        return "null";
    }
    if (cJSON_IsNumber(item)) {
        return "a number";
    }
    if (cJSON_IsString(item)) {
        return "a string";
    }
    if (cJSON_IsArray(item)) {
        return "an array";
    }
    return "an object";
}

/* ------------------------------------------------------------------------
 * Defaults
 * ------------------------------------------------------------------------ */

static void set_str(char *dst, size_t size, const char *src)
{
    (void)snprintf(dst, size, "%s", src);
}

void cfg_defaults(cfg_t *out)
{
    if (out == NULL) {
        return;
    }
    memset(out, 0, sizeof *out);

    set_str(out->hardware.uart.device, sizeof out->hardware.uart.device, "/dev/ttyUSB0");
    out->hardware.uart.baudrate = 115200;
    set_str(out->hardware.can.interface, sizeof out->hardware.can.interface, "socketcan:can0");
    out->hardware.can.bitrate = 500000;

    /* Everything the bridge core uses has one source of defaults: the
     * core's brg_default_config (bridge.h), converted to the file's units. */
    brg_config_t core;
    brg_default_config(&core);
    bridge_config_to_cfg(&core, out);

    /* victron.dbus (venus-dbus.md): "battery:512" is what Venus drivers
     * ask for; 0xBA7B is in none of systemcalc's lists and is not
     * dbus-serialbattery's 0xBA77, so nothing that keys on that id takes
     * the bridge for serialbattery (docs/configuration.md "Venus OS D-Bus"). */
    out->victron.dbus.enabled = false;
    out->victron.dbus.device_instance = 512;
    out->victron.dbus.product_id = CFG_DBUS_PRODUCT_ID_DEFAULT;
    out->victron.dbus.custom_name[0] = '\0';

    out->logging.log_level = (uint8_t)CFG_LOG_INFO;
    out->logging.log_uart_traffic = false;
    out->logging.log_can_traffic = false;
    out->logging.file_size_kb = 64;
    out->logging.files = 4;

    out->web_server.port = 8080;
    set_str(out->web_server.bind_address, sizeof out->web_server.bind_address, "0.0.0.0");
    out->web_server.auth_read = false;
    out->web_server.ws_interval_ms = 1000;
    /* Each WebSocket client holds a civetweb worker thread (ws_max_clients
     * + 8 workers): 16 keeps a Pi Zero or a GX at 37 threads in all. 256
     * and more stay possible by configuration. */
    out->web_server.ws_max_clients = 16;

    out->mqtt.enabled = false;
    set_str(out->mqtt.host, sizeof out->mqtt.host, "127.0.0.1");
    out->mqtt.port = 1883;
    set_str(out->mqtt.client_id, sizeof out->mqtt.client_id, "tinybms-victron");
    set_str(out->mqtt.root_topic, sizeof out->mqtt.root_topic, "victron/tinybms");
    out->mqtt.qos = 0;
    out->mqtt.retain = false;
    out->mqtt.keepalive_s = 30;
    out->mqtt.interval_ms = 5000;
    out->mqtt.discovery = true;
    set_str(out->mqtt.discovery_prefix, sizeof out->mqtt.discovery_prefix, "homeassistant");

    out->hardware.can.mode = (uint8_t)CFG_CAN_NORMAL;
    /* The seed's compiled default (seed-system.md 4.9) and the stall limit
     * the bridge always had. */
    out->advanced.enable_watchdog = true;
    out->advanced.watchdog_timeout_s = 5;
    /* esp32: nothing present (memset above). */
}

const char *cfg_log_level_name(cfg_log_level_t level)
{
    if ((unsigned)level >= (unsigned)CFG_LOG_COUNT_) {
        return "?";
    }
    return log_level_names[level];
}

const char *cfg_can_mode_name(cfg_can_mode_t mode)
{
    if ((unsigned)mode >= (unsigned)CFG_CAN_MODE_COUNT_) {
        return "?";
    }
    return can_mode_names[mode];
}

/* "A, B, C": the names of an enum key. */
static void enum_names(char *buf, size_t len, const key_def_t *k)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int32_t i = 0; i <= k->max && used < len; i++) {
        int n = snprintf(buf + used, len - used, "%s%s", i > 0 ? ", " : "", k->names[i]);
        used += n < 0 ? 0u : (size_t)n;
    }
}

/* ------------------------------------------------------------------------
 * Validation
 * ------------------------------------------------------------------------ */

/* Checks a string value of key k (secret-safe messages). */
static cfg_err_t check_string(const key_def_t *k, const char *path, const char *s, cfg_error_t *err)
{
    size_t n = strlen(s);
    if (n > (size_t)k->max) {
        return fail(err, CFG_ERR_VALUE, path, "is %zu characters long; the maximum is %ld", n,
                    (long)k->max);
    }
    if (n == 0u && (k->flags & KF_EMPTY) != 0u) {
        return CFG_OK;
    }
    if (n < (size_t)k->min) {
        if (n == 0u) {
            return fail(err, CFG_ERR_VALUE, path, "must not be empty");
        }
        return fail(err, CFG_ERR_VALUE, path, "is %zu characters long; the minimum is %ld%s", n,
                    (long)k->min, (k->flags & KF_EMPTY) != 0u ? " (or empty)" : "");
    }
    for (const char *p = s; *p != '\0'; p++) {
        if ((unsigned char)*p < 0x20u || (unsigned char)*p == 0x7Fu) {
            return fail(err, CFG_ERR_VALUE, path, "contains a control character");
        }
    }
    if ((k->flags & KF_SECRET) != 0u && strcmp(s, CFG_REDACTED) == 0) {
        return fail(err, CFG_ERR_VALUE, path,
                    "is the redaction placeholder \"%s\", not a secret; give the real value or "
                    "leave the key out",
                    CFG_REDACTED);
    }
    char why[CFG_MESSAGE_MAX - CFG_KEY_PATH_MAX];
    if (n > 0u && k->check != NULL && !k->check(s, why, sizeof why)) {
        return fail(err, CFG_ERR_VALUE, path, "%s", why);
    }
    return CFG_OK;
}

static cfg_err_t range_error(const key_def_t *k, const char *path, const char *shown, int below,
                             cfg_error_t *err)
{
    char lim[32];
    const char *hint = k->hint != NULL ? k->hint : "";
    const char *open = k->hint != NULL ? " (" : "";
    const char *close = k->hint != NULL ? ")" : "";
    if (k->min == k->max) {
        fmt_scaled(lim, sizeof lim, k->min, k->scale);
        return fail(err, CFG_ERR_RANGE, path, "%s is not accepted; it must be %s%s%s%s", shown, lim,
                    open, hint, close);
    }
    fmt_scaled(lim, sizeof lim, below ? k->min : k->max, k->scale);
    return fail(err, CFG_ERR_RANGE, path, "%s is %s the %s %s%s%s%s", shown,
                below ? "below" : "above", below ? "minimum" : "maximum", lim, open, hint, close);
}

static cfg_err_t check_field(const cfg_t *c, const key_def_t *k, cfg_error_t *err)
{
    if (!key_present(c, k)) {
        return CFG_OK;
    }
    switch (k->kind) {
    case CFG_KIND_BOOL:
        return CFG_OK;
    case CFG_KIND_INT:
    case CFG_KIND_DEC: {
        int32_t v = get_i32(c, k);
        if (v == 0 && (k->flags & KF_ZERO) != 0u) {
            return CFG_OK;
        }
        if (v < k->min || v > k->max) {
            char shown[32];
            fmt_key_value(shown, sizeof shown, c, k);
            return range_error(k, k->path, shown, v < k->min, err);
        }
        return CFG_OK;
    }
    case CFG_KIND_STR: {
        const char *s = cfield(c, k);
        if (memchr(s, '\0', k->size) == NULL) {
            return fail(err, CFG_ERR_VALUE, k->path, "is not NUL-terminated");
        }
        return check_string(k, k->path, s, err);
    }
    case CFG_KIND_ENUM: {
        uint8_t v;
        memcpy(&v, cfield(c, k), sizeof v);
        if ((int32_t)v > k->max) {
            char names[96];
            enum_names(names, sizeof names, k);
            return fail(err, CFG_ERR_VALUE, k->path, "%u is not one of %s", (unsigned)v, names);
        }
        return CFG_OK;
    }
    }
    return fail(err, CFG_ERR_ARG, k->path, "unknown key kind");
}

/* lo < hi (strict) or lo <= hi, both in the same stored unit. */
static const struct {
    const char *lo;
    const char *hi;
    bool strict;
    bool zero_free; /* 0 ("derived") on either side is outside the rule */
} order_rules[] = {
    {"victron.thresholds.undervoltage_v", "victron.thresholds.overvoltage_v", true, true},
    {"victron.thresholds.low_temp_charge_c", "victron.thresholds.overtemp_c", true, false},
    {"victron.thresholds.imbalance_warn_mv", "victron.thresholds.imbalance_alarm_mv", true, false},
    {"victron.discharge_cell_mv", "victron.charge_cell_mv", true, false},
    {"victron.charge_cell_mv", "cvl.cell_max_voltage_v", false, false},
    {"cvl.bulk_soc_threshold", "cvl.transition_soc_threshold", true, false},
    {"cvl.transition_soc_threshold", "cvl.float_soc_threshold", true, false},
    {"cvl.float_exit_soc", "cvl.float_soc_threshold", true, false},
    {"cvl.float_approach_offset_mv", "cvl.float_offset_mv", false, false},
    {"cvl.imbalance_release_threshold_mv", "cvl.imbalance_hold_threshold_mv", true, false},
    {"cvl.cell_min_float_voltage_v", "cvl.cell_safety_release_v", true, false},
    {"cvl.cell_safety_release_v", "cvl.cell_safety_threshold_v", true, false},
    {"cvl.cell_safety_threshold_v", "cvl.cell_max_voltage_v", false, false},
    {"cvl.sustain_soc_entry_percent", "cvl.sustain_soc_exit_percent", true, false},
    {"cvl.sustain_soc_exit_percent", "cvl.bulk_soc_threshold", true, false},
};

/* Names the key the caller changed when only the lower one was touched, so
 * a patch that raises bulk_soc_threshold is told about bulk_soc_threshold. */
static cfg_err_t check_order(const cfg_t *c, size_t r, const bool *touched, cfg_error_t *err)
{
    const key_def_t *lo = find_key(order_rules[r].lo);
    const key_def_t *hi = find_key(order_rules[r].hi);
    assert(lo != NULL && hi != NULL);
    int32_t lv = get_i32(c, lo);
    int32_t hv = get_i32(c, hi);
    bool strict = order_rules[r].strict;
    if (order_rules[r].zero_free && (lv == 0 || hv == 0)) {
        return CFG_OK;
    }
    if (strict ? lv < hv : lv <= hv) {
        return CFG_OK;
    }
    char ls[32];
    char hs[32];
    fmt_key_value(ls, sizeof ls, c, lo);
    fmt_key_value(hs, sizeof hs, c, hi);
    bool name_lo = touched != NULL && touched[key_index(lo)] && !touched[key_index(hi)];
    if (name_lo) {
        return fail(err, CFG_ERR_RULE, lo->path, "%s must %s %s (%s)", ls,
                    strict ? "be below" : "not be above", hi->path, hs);
    }
    return fail(err, CFG_ERR_RULE, hi->path, "%s must %s %s (%s)", hs,
                strict ? "be above" : "not be below", lo->path, ls);
}

static cfg_err_t check_rules(const cfg_t *c, const bool *touched, cfg_error_t *err)
{
    for (size_t r = 0; r < sizeof order_rules / sizeof order_rules[0]; r++) {
        cfg_err_t rc = check_order(c, r, touched, err);
        if (rc != CFG_OK) {
            return rc;
        }
    }
    /* One poll with every retry must fit in the stale-data window, or a
     * single slow wake-up would already declare the data stale. */
    int64_t cycle = (int64_t)c->tinybms.poll_interval_ms +
                    (int64_t)c->hardware.uart.timeout_ms * ((int64_t)c->hardware.uart.retries + 1);
    if (c->tinybms.bms_timeout_ms < cycle) {
        return fail(err, CFG_ERR_RULE, "tinybms.bms_timeout_ms",
                    "%ld is shorter than one poll with every retry (tinybms.poll_interval_ms + "
                    "hardware.uart.timeout_ms x (hardware.uart.retries + 1) = %lld)",
                    (long)c->tinybms.bms_timeout_ms, (long long)cycle);
    }
    if (c->web_server.password[0] != '\0' && c->web_server.username[0] == '\0') {
        return fail(err, CFG_ERR_RULE, "web_server.username",
                    "must be set when web_server.password is set");
    }
    if (c->mqtt.password[0] != '\0' && c->mqtt.username[0] == '\0') {
        return fail(err, CFG_ERR_RULE, "mqtt.username", "must be set when mqtt.password is set");
    }
    if (c->mqtt.enabled && c->mqtt.host[0] == '\0') {
        return fail(err, CFG_ERR_RULE, "mqtt.host", "must be set when mqtt.enabled is true");
    }
    return CFG_OK;
}

/* One string member of pack i ("packs[i].device"). */
static cfg_err_t check_pack_text(const key_def_t *k, size_t i, const char *s, size_t size,
                                 cfg_error_t *err)
{
    char path[CFG_KEY_PATH_MAX];
    (void)snprintf(path, sizeof path, "packs[%zu].%s", i, strrchr(k->path, '.') + 1);
    if (memchr(s, '\0', size) == NULL) {
        return fail(err, CFG_ERR_VALUE, path, "is not NUL-terminated");
    }
    return check_string(k, path, s, err);
}

/* The "packs" section: its size, each entry, one serial port per pack, and
 * bank.min_packs against the packs listed. A rule broken by a patch that
 * changed only the packs is reported on "packs", else on bank.min_packs. */
static cfg_err_t check_packs(const cfg_t *c, const bool *touched, bool packs_touched,
                             cfg_error_t *err)
{
    const size_t n = c->packs.count;
    if (n > CFG_MAX_PACKS) {
        return fail(err, CFG_ERR_RANGE, "packs", "%zu packs; at most %u", n, CFG_MAX_PACKS);
    }
    for (size_t i = 0; i < n; i++) {
        const char *dev = c->packs.pack[i].device;
        cfg_err_t rc =
            check_pack_text(&pack_device_key, i, dev, sizeof c->packs.pack[i].device, err);
        if (rc == CFG_OK) {
            rc = check_pack_text(&pack_name_key, i, c->packs.pack[i].name,
                                 sizeof c->packs.pack[i].name, err);
        }
        if (rc != CFG_OK) {
            return rc;
        }
        for (size_t j = 0; j < i; j++) {
            if (strcmp(c->packs.pack[j].device, dev) == 0) {
                char path[CFG_KEY_PATH_MAX];
                (void)snprintf(path, sizeof path, "packs[%zu].device", i);
                return fail(err, CFG_ERR_RULE, path,
                            "\"%.60s\" is already packs[%zu].device: each pack needs its own "
                            "serial port",
                            dev, j);
            }
        }
    }
    if (n > 0u && c->bank.min_packs > (int32_t)n) {
        const key_def_t *mp = find_key("bank.min_packs");
        assert(mp != NULL);
        bool name_packs = packs_touched && (touched == NULL || !touched[key_index(mp)]);
        if (name_packs) {
            return fail(err, CFG_ERR_RULE, "packs",
                        "%zu pack%s, fewer than bank.min_packs (%ld): the bank's CCL and DCL "
                        "would stay 0",
                        n, n == 1u ? "" : "s", (long)c->bank.min_packs);
        }
        return fail(err, CFG_ERR_RULE, "bank.min_packs",
                    "%ld is more than the %zu pack%s in packs: the bank's CCL and DCL would stay 0",
                    (long)c->bank.min_packs, n, n == 1u ? "" : "s");
    }
    return CFG_OK;
}

/* Product ids dbus-systemcalc-py treats specially (venus-dbus.md
 * "ProductId": delegates/batterysettings.py forces DVCC and sense settings
 * for these, delegates/dvcc.py applies brand quirks to the limits of
 * 0xB004 LG, 0xB009 Pylontech, 0xB00A/0xB015/0xB019 BYD, 0xB029 Pelio-L,
 * 0xA3E4..0xA3E7 Lynx Smart BMS). A bridge carrying one would have
 * another battery's rules applied to its limits. */
static const struct {
    uint16_t id;
    const char *name;
} venus_special_ids[] = {
    {0xA3E3, "Parallel BMS"},  {0xA3E4, "Lynx Smart BMS"}, {0xA3E5, "Lynx Smart BMS"},
    {0xA3E6, "Lynx Smart BMS"}, {0xA3E7, "Lynx Smart BMS"}, {0xB004, "LG"},
    {0xB005, "BMZ"},           {0xB009, "Pylontech"},      {0xB00A, "BYD"},
    {0xB014, "Freedomwon"},    {0xB015, "BYD"},            {0xB016, "Discover AES"},
    {0xB019, "BYD"},           {0xB01A, "ZYC"},            {0xB01B, "Pytes"},
    {0xB01D, "Leoch"},         {0xB01E, "LBSA"},           {0xB01F, "Sunwoda"},
    {0xB020, "Bluenova"},      {0xB021, "BSLBATT"},        {0xB024, "eTower"},
    {0xB028, "Cegasa"},        {0xB029, "Pelio-L"},        {0xB02A, "Weco"},
    {0xB02B, "Findreams"},     {0xB02E, "Meterboost"},     {0xB02F, "Soluna"},
    {0xB038, "Batrium"},       {0xB051, "Hubble"},         {0xB052, "TAB"},
    {0xB054, "SSS"},
};

static cfg_err_t check_product_id(const cfg_t *c, cfg_error_t *err)
{
    int32_t id = c->victron.dbus.product_id;
    for (size_t i = 0; i < sizeof venus_special_ids / sizeof venus_special_ids[0]; i++) {
        if (id == (int32_t)venus_special_ids[i].id) {
            return fail(err, CFG_ERR_VALUE, "victron.dbus.product_id",
                        "%ld (0x%04lX) is the %s product id, which Venus OS applies its own "
                        "DVCC rules to; keep the default %d or pick an id in none of its lists",
                        (long)id, (unsigned long)id, venus_special_ids[i].name,
                        CFG_DBUS_PRODUCT_ID_DEFAULT);
        }
    }
    return CFG_OK;
}

static cfg_err_t validate(const cfg_t *c, const bool *touched, bool packs_touched, cfg_error_t *err)
{
    for (size_t i = 0; i < ALL_COUNT; i++) {
        cfg_err_t rc = check_field(c, key_at(i), err);
        if (rc != CFG_OK) {
            return rc;
        }
    }
    cfg_err_t rc = check_product_id(c, err);
    if (rc != CFG_OK) {
        return rc;
    }
    rc = check_packs(c, touched, packs_touched, err);
    if (rc != CFG_OK) {
        return rc;
    }
    return check_rules(c, touched, err);
}

cfg_err_t cfg_validate(const cfg_t *cfg, cfg_error_t *err)
{
    clear_error(err);
    if (cfg == NULL) {
        return fail(err, CFG_ERR_ARG, "", "no configuration given");
    }
    return validate(cfg, NULL, false, err);
}

bool cfg_equal(const cfg_t *a, const cfg_t *b)
{
    if (a == NULL || b == NULL) {
        return false;
    }
    if (a->esp32.present != b->esp32.present) {
        return false;
    }
    if (a->packs.count != b->packs.count) {
        return false;
    }
    for (size_t i = 0; i < a->packs.count && i < CFG_MAX_PACKS; i++) {
        if (strncmp(a->packs.pack[i].device, b->packs.pack[i].device, CFG_PATH_LEN) != 0 ||
            strncmp(a->packs.pack[i].name, b->packs.pack[i].name, CFG_PACK_NAME_LEN) != 0) {
            return false;
        }
    }
    for (size_t i = 0; i < ALL_COUNT; i++) {
        const key_def_t *k = key_at(i);
        bool same;
        if (!key_present(a, k)) {
            continue; /* absent in both */
        }
        if (k->kind == CFG_KIND_STR) {
            same = strncmp(cfield(a, k), cfield(b, k), k->size) == 0;
        } else {
            same = memcmp(cfield(a, k), cfield(b, k), k->size) == 0;
        }
        if (!same) {
            return false;
        }
    }
    return true;
}

/* ------------------------------------------------------------------------
 * Applying a JSON document
 * ------------------------------------------------------------------------ */

typedef struct {
    cfg_t *cfg;
    bool touched[ALL_COUNT];
    bool packs_touched; /* the document has a "packs" array */
    bool keep_redacted; /* merge: CFG_REDACTED keeps the current secret */
    cfg_error_t *err;
    cfg_warnings_t *warn; /* may be NULL */
} apply_ctx_t;

static void clear_warnings(cfg_warnings_t *w)
{
    if (w != NULL) {
        w->count = 0;
        w->dropped = 0;
    }
}

/* Appends "path: <formatted text>" to *w (NULL: nothing). */
static void warn(cfg_warnings_t *w, const char *path, const char *fmt, ...) CFG_PRINTF(3, 4);

static void warn(cfg_warnings_t *w, const char *path, const char *fmt, ...)
{
    if (w == NULL) {
        return;
    }
    if (w->count >= CFG_WARNINGS_MAX) {
        w->dropped++;
        return;
    }
    cfg_warning_t *e = &w->item[w->count++];
    (void)snprintf(e->key, sizeof e->key, "%s", path);
    int n = snprintf(e->message, sizeof e->message, "%s: ", path);
    size_t used = n < 0 ? 0u : (size_t)n;
    if (used < sizeof e->message) {
        va_list ap;
        va_start(ap, fmt);
        (void)vsnprintf(e->message + used, sizeof e->message - used, fmt, ap);
        va_end(ap);
    }
}

/* Values of a fixed-value key that the seed documented and that cannot
 * apply: accepted with a warning, the fixed value is used. The TinyBMS UART
 * runs at 115200 baud only (tinybms-uart.md 1); the seed README says 19200
 * and its UI offered the others (seed-system.md 1.1, 4.10). */
static const struct {
    const char *path;
    int32_t value;
} tolerated[] = {
    {"hardware.uart.baudrate", 9600},
    {"hardware.uart.baudrate", 19200},
    {"hardware.uart.baudrate", 38400},
    {"hardware.uart.baudrate", 57600},
};

static bool tolerated_value(apply_ctx_t *x, const key_def_t *k, const char *path,
                            const cJSON *item)
{
    if (!cJSON_IsNumber(item)) {
        return false;
    }
    for (size_t i = 0; i < sizeof tolerated / sizeof tolerated[0]; i++) {
        if (strcmp(k->path, tolerated[i].path) == 0 &&
            item->valuedouble == (double)tolerated[i].value) {
            memcpy(field(x->cfg, k), &k->min, sizeof k->min);
            warn(x->warn, path,
                 "%ld is ignored: the TinyBMS UART runs at %ld baud only (the seed README's "
                 "19200 is wrong); %ld is used",
                 (long)tolerated[i].value, (long)k->min, (long)k->min);
            return true;
        }
    }
    return false;
}

static double dabs(double v)
{
    return v < 0.0 ? -v : v;
}

/* Rounds a value already known to be within int32 range. */
static int32_t round_i32(double v)
{
    return (int32_t)(v < 0.0 ? -(int64_t)(-v + 0.5) : (int64_t)(v + 0.5));
}

static cfg_err_t apply_number(apply_ctx_t *x, const key_def_t *k, const char *path,
                              const cJSON *item)
{
    if (!cJSON_IsNumber(item)) {
        return fail(x->err, CFG_ERR_TYPE, path, "expected a number, got %s", json_type_name(item));
    }
    double v = item->valuedouble;
    char shown[40];
    (void)snprintf(shown, sizeof shown, "%.15g", v);
    if (!(v == v) || dabs(v) > 1e15) {
        return fail(x->err, CFG_ERR_RANGE, path, "%s is not a usable number", shown);
    }
    double s = v * (double)k->scale;
    /* 58.4 V x 1000 is 58400.000000000007: compare with a tolerance far below
     * one stored unit. */
    double eps = 1e-9 * dabs(s) + 1e-7;
    int32_t stored;
    if ((k->flags & KF_ZERO) != 0u && dabs(s) <= eps) {
        stored = 0;
    } else {
        if (s < (double)k->min - eps) {
            return range_error(k, path, shown, 1, x->err);
        }
        if (s > (double)k->max + eps) {
            return range_error(k, path, shown, 0, x->err);
        }
        stored = round_i32(s);
        if (dabs(s - (double)stored) > eps) {
            if (k->kind == CFG_KIND_INT) {
                return fail(x->err, CFG_ERR_RANGE, path, "%s is not a whole number", shown);
            }
            char res[32];
            fmt_scaled(res, sizeof res, 1, k->scale);
            return fail(x->err, CFG_ERR_RANGE, path, "%s is finer than the resolution %s", shown,
                        res);
        }
    }
    memcpy(field(x->cfg, k), &stored, sizeof stored);
    return CFG_OK;
}

static cfg_err_t apply_value(apply_ctx_t *x, const key_def_t *k, const char *path,
                             const cJSON *item)
{
    if (k->min == k->max && tolerated_value(x, k, path, item)) {
        x->touched[key_index(k)] = true;
        return CFG_OK;
    }
    switch (k->kind) {
    case CFG_KIND_BOOL: {
        if (!cJSON_IsBool(item)) {
            return fail(x->err, CFG_ERR_TYPE, path, "expected true or false, got %s",
                        json_type_name(item));
        }
        bool b = cJSON_IsTrue(item) != 0;
        memcpy(field(x->cfg, k), &b, sizeof b);
        break;
    }
    case CFG_KIND_INT:
    case CFG_KIND_DEC: {
        cfg_err_t rc = apply_number(x, k, path, item);
        if (rc != CFG_OK) {
            return rc;
        }
        break;
    }
    case CFG_KIND_STR: {
        if (!cJSON_IsString(item) || item->valuestring == NULL) {
            return fail(x->err, CFG_ERR_TYPE, path, "expected a string, got %s",
                        json_type_name(item));
        }
        const char *s = item->valuestring;
        if ((k->flags & KF_SECRET) != 0u && x->keep_redacted && strcmp(s, CFG_REDACTED) == 0) {
            return CFG_OK; /* unchanged, and not marked as touched */
        }
        cfg_err_t rc = check_string(k, path, s, x->err);
        if (rc != CFG_OK) {
            return rc;
        }
        memcpy(field(x->cfg, k), s, strlen(s) + 1u);
        break;
    }
    case CFG_KIND_ENUM: {
        if (!cJSON_IsString(item) || item->valuestring == NULL) {
            return fail(x->err, CFG_ERR_TYPE, path, "expected a string, got %s",
                        json_type_name(item));
        }
        int32_t found = -1;
        for (int32_t i = 0; i <= k->max; i++) {
            if (ci_equal(item->valuestring, k->names[i])) {
                found = i;
            }
        }
        if (found < 0) {
            char names[96];
            enum_names(names, sizeof names, k);
            return fail(x->err, CFG_ERR_VALUE, path, "\"%.40s\" is not one of %s",
                        item->valuestring, names);
        }
        uint8_t e = (uint8_t)found;
        memcpy(field(x->cfg, k), &e, sizeof e);
        break;
    }
    }
    x->touched[key_index(k)] = true;
    if (is_esp32(k)) {
        x->cfg->esp32.present |= esp32_bit(k);
#ifndef CFG_ESP32_FIRMWARE /* the ESP32 firmware (port/esp32) uses these keys */
        warn(x->warn, path, "not used on Linux (%s); kept in the file for an ESP32", k->why);
#endif
    }
    return CFG_OK;
}

static void join(char *out, size_t len, const char *prefix, const char *name)
{
    if (prefix[0] == '\0') {
        (void)snprintf(out, len, "%s", name);
    } else {
        (void)snprintf(out, len, "%s.%s", prefix, name);
    }
}

/* Canonical path of member `name` of the section `canon_prefix`. */
static void canonical_path(char *out, size_t len, const char *canon_prefix, const char *name)
{
    join(out, len, canon_prefix, name);
    for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++) {
        if (strcmp(out, aliases[i].alias) == 0) {
            (void)snprintf(out, len, "%s", aliases[i].canonical);
            return;
        }
    }
}

/* One element of "packs", number i: {"device": "/dev/...", "name": "..."}. */
static cfg_err_t apply_pack(apply_ctx_t *x, const cJSON *obj, size_t i, cfg_t *into)
{
    if (!cJSON_IsObject(obj)) {
        char path[CFG_KEY_PATH_MAX];
        (void)snprintf(path, sizeof path, "packs[%zu]", i);
        return fail(x->err, CFG_ERR_NOT_OBJECT, path,
                    "expected an object {\"device\": ..., \"name\": ...}, got %s",
                    json_type_name(obj));
    }
    bool have_device = false;
    for (const cJSON *m = obj->child; m != NULL; m = m->next) {
        const char *name = m->string != NULL ? m->string : "";
        char path[CFG_KEY_PATH_MAX];
        (void)snprintf(path, sizeof path, "packs[%zu].%.60s", i, name);
        for (const cJSON *p = obj->child; p != m; p = p->next) {
            if (p->string != NULL && strcmp(p->string, name) == 0) {
                return fail(x->err, CFG_ERR_DUPLICATE_KEY, path, "key given twice");
            }
        }
        const key_def_t *k = strcmp(name, "device") == 0 ? &pack_device_key
                             : strcmp(name, "name") == 0 ? &pack_name_key
                                                         : NULL;
        if (k == NULL) {
            return fail(x->err, CFG_ERR_UNKNOWN_KEY, path,
                        "unknown key (a pack has \"device\" and \"name\")");
        }
        if (!cJSON_IsString(m) || m->valuestring == NULL) {
            return fail(x->err, CFG_ERR_TYPE, path, "expected a string, got %s", json_type_name(m));
        }
        cfg_err_t rc = check_string(k, path, m->valuestring, x->err);
        if (rc != CFG_OK) {
            return rc;
        }
        if (k == &pack_device_key) {
            set_str(into->packs.pack[i].device, sizeof into->packs.pack[i].device, m->valuestring);
            have_device = true;
        } else {
            set_str(into->packs.pack[i].name, sizeof into->packs.pack[i].name, m->valuestring);
        }
    }
    if (!have_device) {
        char path[CFG_KEY_PATH_MAX];
        (void)snprintf(path, sizeof path, "packs[%zu].device", i);
        return fail(x->err, CFG_ERR_VALUE, path,
                    "is missing: each pack needs the serial device of its TinyBMS");
    }
    return CFG_OK;
}

/* "packs" (no alias: the key is written as is): the whole section is
 * replaced, in a patch too ([] = none). */
static cfg_err_t apply_packs(apply_ctx_t *x, const cJSON *arr)
{
    if (!cJSON_IsArray(arr)) {
        return fail(x->err, CFG_ERR_TYPE, "packs",
                    "expected an array of packs [{\"device\": ..., \"name\": ...}], got %s",
                    json_type_name(arr));
    }
    size_t n = 0;
    for (const cJSON *e = arr->child; e != NULL; e = e->next) {
        n++;
    }
    if (n > CFG_MAX_PACKS) {
        return fail(x->err, CFG_ERR_RANGE, "packs",
                    "%zu packs given; at most %u (one TinyBMS per serial port)", n, CFG_MAX_PACKS);
    }
    cfg_t *c = x->cfg;
    memset(&c->packs, 0, sizeof c->packs);
    size_t i = 0;
    for (const cJSON *e = arr->child; e != NULL; e = e->next, i++) {
        cfg_err_t rc = apply_pack(x, e, i, c);
        if (rc != CFG_OK) {
            return rc;
        }
    }
    c->packs.count = (uint8_t)n;
    x->packs_touched = true;
    return CFG_OK;
}

static cfg_err_t apply_object(apply_ctx_t *x, const cJSON *obj, const char *canon_prefix,
                              const char *written_prefix)
{
    if (obj == NULL) {
        return CFG_OK;
    }
    for (const cJSON *m = obj->child; m != NULL; m = m->next) {
        char written[CFG_KEY_PATH_MAX];
        char canon[CFG_KEY_PATH_MAX];
        const char *name = m->string != NULL ? m->string : "";
        join(written, sizeof written, written_prefix, name);
        canonical_path(canon, sizeof canon, canon_prefix, name);

        for (const cJSON *p = obj->child; p != NULL && p != m; p = p->next) {
            char other[CFG_KEY_PATH_MAX];
            const char *pname = p->string != NULL ? p->string : "";
            canonical_path(other, sizeof other, canon_prefix, pname);
            if (strcmp(other, canon) == 0) {
                if (strcmp(pname, name) == 0) {
                    return fail(x->err, CFG_ERR_DUPLICATE_KEY, written, "key given twice");
                }
                return fail(x->err, CFG_ERR_DUPLICATE_KEY, written,
                            "given together with \"%s\", which means the same", pname);
            }
        }

        const key_def_t *k = find_key(canon);
        cfg_err_t rc;
        if (strcmp(canon, "packs") == 0) {
            rc = apply_packs(x, m);
        } else if (k != NULL) {
            rc = apply_value(x, k, written, m);
        } else if (is_section(canon)) {
            if (!cJSON_IsObject(m)) {
                return fail(x->err, CFG_ERR_NOT_OBJECT, written, "expected an object, got %s",
                            json_type_name(m));
            }
            rc = apply_object(x, m, canon, written);
        } else {
            for (size_t i = 0; i < sizeof retired / sizeof retired[0]; i++) {
                if (strcmp(canon, retired[i].path) == 0) {
                    return fail(x->err, CFG_ERR_UNKNOWN_KEY, written, "unknown key (%s)",
                                retired[i].why);
                }
            }
            return fail(x->err, CFG_ERR_UNKNOWN_KEY, written, "unknown key");
        }
        if (rc != CFG_OK) {
            return rc;
        }
    }
    return CFG_OK;
}

static void line_col(const char *text, size_t pos, size_t *line, size_t *col)
{
    *line = 1;
    *col = 1;
    for (size_t i = 0; i < pos; i++) {
        if (text[i] == '\n') {
            (*line)++;
            *col = 1;
        } else {
            (*col)++;
        }
    }
}

/* Parses text[0..len) into a cJSON object tree stored in *out (caller
 * deletes it); on failure *out is NULL and the error code is returned. */
static cfg_err_t parse_document(const char *text, size_t len, cJSON **out, cfg_error_t *err)
{
    *out = NULL;
    if (len == 0u) {
        return fail(err, CFG_ERR_SYNTAX, "", "empty input: expected a JSON object");
    }
    if (!json_depth_ok(text, len, JSON_GUARD_MAX_DEPTH)) {
        return fail(err, CFG_ERR_SYNTAX, "", "JSON nested deeper than %u levels",
                    JSON_GUARD_MAX_DEPTH);
    }
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (root == NULL) {
        size_t pos = (end != NULL && end >= text && end <= text + len) ? (size_t)(end - text) : 0u;
        size_t line;
        size_t col;
        line_col(text, pos, &line, &col);
        return fail(err, CFG_ERR_SYNTAX, "", "JSON syntax error at line %zu, column %zu", line,
                    col);
    }
    /* Only whitespace (or a terminating NUL) may follow the value. */
    for (const char *p = end; p != NULL && p < text + len; p++) {
        if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r' && *p != '\0') {
            size_t line;
            size_t col;
            line_col(text, (size_t)(p - text), &line, &col);
            cJSON_Delete(root);
            return fail(err, CFG_ERR_SYNTAX, "",
                        "JSON syntax error at line %zu, column %zu: text after the document", line,
                        col);
        }
    }
    if (!cJSON_IsObject(root)) {
        cfg_err_t rc =
            fail(err, CFG_ERR_NOT_OBJECT, "", "the configuration must be a JSON object, not %s",
                 json_type_name(root));
        cJSON_Delete(root);
        return rc;
    }
    *out = root;
    return CFG_OK;
}

/*
 * "Defaults that follow" (docs/configuration.md): in a whole file, a cvl SOC
 * threshold left out keeps its default unless that default contradicts a
 * threshold the file sets; then it is placed at the default distance from
 * the one set. The seed README's own example sets bulk 80 and float 95 and
 * leaves transition and float exit out, whose defaults (95, 95) are not
 * below 95. Only these order rules follow: they choose the CVL step, not a
 * protection limit, and a value moved here still passes every rule or the
 * file is refused as it was.
 */
static const struct {
    const char *lo;
    const char *hi;
} follow_rules[] = {
    {"cvl.bulk_soc_threshold", "cvl.transition_soc_threshold"},
    {"cvl.transition_soc_threshold", "cvl.float_soc_threshold"},
    {"cvl.float_exit_soc", "cvl.float_soc_threshold"},
};

#define FOLLOW_COUNT (sizeof follow_rules / sizeof follow_rules[0])

/* Moves the left-out side of each broken follow rule. given[] marks the
 * keys the document set (and, once moved, the moved ones). Writes one
 * warning per moved key into *w. Returns whether anything moved. */
static bool follow_defaults(cfg_t *c, bool *given, cfg_warnings_t *w)
{
    cfg_t d;
    cfg_defaults(&d);
    bool moved = false;
    for (size_t r = 0; r < FOLLOW_COUNT; r++) {
        const key_def_t *lo = find_key(follow_rules[r].lo);
        const key_def_t *hi = find_key(follow_rules[r].hi);
        assert(lo != NULL && hi != NULL);
        int32_t lv = get_i32(c, lo);
        int32_t hv = get_i32(c, hi);
        bool glo = given[key_index(lo)];
        bool ghi = given[key_index(hi)];
        if (lv < hv || glo == ghi) {
            continue;
        }
        int32_t gap = get_i32(&d, hi) - get_i32(&d, lo);
        const key_def_t *k = glo ? hi : lo;
        const key_def_t *other = glo ? lo : hi;
        int32_t v = glo ? lv + gap : hv - gap;
        char was[32];
        char now[32];
        char ov[32];
        fmt_key_value(was, sizeof was, c, k);
        fmt_key_value(ov, sizeof ov, c, other);
        fmt_scaled(now, sizeof now, v, k->scale);
        memcpy(field(c, k), &v, sizeof v);
        given[key_index(k)] = true;
        moved = true;
        warn(w, k->path, "not in the file, and its default %s is not %s %s (%s): %s is used",
             was, glo ? "above" : "below", other->path, ov, now);
    }
    return moved;
}

static cfg_err_t apply_json(const cfg_t *base, const char *text, size_t len, bool merge,
                            cfg_t *out, cfg_warnings_t *warnings, cfg_error_t *err)
{
    clear_error(err);
    clear_warnings(warnings);
    if (text == NULL || out == NULL) {
        return fail(err, CFG_ERR_ARG, "", "no text or no output given");
    }
    cJSON *root = NULL;
    cfg_err_t rc = parse_document(text, len, &root, err);
    if (rc != CFG_OK) {
        return rc;
    }
    cfg_t work = *base;
    apply_ctx_t x;
    memset(&x, 0, sizeof x);
    x.cfg = &work;
    x.keep_redacted = merge;
    x.err = err;
    x.warn = warnings;
    rc = apply_object(&x, root, "", "");
    cJSON_Delete(root);
    if (rc == CFG_OK) {
        rc = validate(&work, x.touched, x.packs_touched, err);
    }
    if (rc == CFG_ERR_RULE && !merge) {
        /* Keep the first error if following does not give a valid file. */
        /* (On failure every warning is dropped below, these too.) */
        cfg_t followed = work;
        if (follow_defaults(&followed, x.touched, warnings) &&
            validate(&followed, x.touched, x.packs_touched, NULL) == CFG_OK) {
            clear_error(err);
            work = followed;
            rc = CFG_OK;
        }
    }
    if (rc == CFG_OK) {
        *out = work;
    } else {
        clear_warnings(warnings);
    }
    return rc;
}

cfg_err_t cfg_from_json_warn(const char *text, size_t len, cfg_t *out, cfg_warnings_t *warn_out,
                             cfg_error_t *err)
{
    cfg_t base;
    cfg_defaults(&base);
    return apply_json(&base, text, len, false, out, warn_out, err);
}

cfg_err_t cfg_from_json(const char *text, size_t len, cfg_t *out, cfg_error_t *err)
{
    return cfg_from_json_warn(text, len, out, NULL, err);
}

cfg_err_t cfg_merge_json_warn(const cfg_t *base, const char *patch, size_t len, cfg_t *out,
                              cfg_warnings_t *warn_out, cfg_error_t *err)
{
    if (base == NULL) {
        clear_error(err);
        clear_warnings(warn_out);
        return fail(err, CFG_ERR_ARG, "", "no base configuration given");
    }
    return apply_json(base, patch, len, true, out, warn_out, err);
}

cfg_err_t cfg_merge_json(const cfg_t *base, const char *patch, size_t len, cfg_t *out,
                         cfg_error_t *err)
{
    return cfg_merge_json_warn(base, patch, len, out, NULL, err);
}

/* ------------------------------------------------------------------------
 * Serialisation
 * ------------------------------------------------------------------------ */

/* The object for the section part of `path` under root, created on demand;
 * *leaf receives the last segment (a pointer into buf). */
static cJSON *section_for(cJSON *root, const char *path, char *buf, size_t len, const char **leaf)
{
    (void)snprintf(buf, len, "%s", path);
    cJSON *obj = root;
    char *seg = buf;
    for (char *dot = strchr(seg, '.'); dot != NULL; dot = strchr(seg, '.')) {
        *dot = '\0';
        cJSON *next = cJSON_GetObjectItemCaseSensitive(obj, seg);
        if (next == NULL) {
            next = cJSON_AddObjectToObject(obj, seg);
            if (next == NULL) {
                return NULL;
            }
        }
        obj = next;
        seg = dot + 1;
    }
    *leaf = seg;
    return obj;
}

static bool add_key(cJSON *root, const cfg_t *c, const key_def_t *k, bool redact)
{
    char buf[CFG_KEY_PATH_MAX];
    const char *leaf = NULL;
    cJSON *obj = section_for(root, k->path, buf, sizeof buf, &leaf);
    if (obj == NULL) {
        return false;
    }
    switch (k->kind) {
    case CFG_KIND_BOOL: {
        bool b;
        memcpy(&b, cfield(c, k), sizeof b);
        return cJSON_AddBoolToObject(obj, leaf, b) != NULL;
    }
    case CFG_KIND_INT:
    case CFG_KIND_DEC:
        return cJSON_AddNumberToObject(obj, leaf, (double)get_i32(c, k) / (double)k->scale) != NULL;
    case CFG_KIND_STR: {
        char s[CFG_FILE_LEN];
        (void)snprintf(s, sizeof s, "%.*s", (int)(k->size - 1u), (const char *)cfield(c, k));
        if (redact && (k->flags & KF_SECRET) != 0u && s[0] != '\0') {
            return cJSON_AddStringToObject(obj, leaf, CFG_REDACTED) != NULL;
        }
        return cJSON_AddStringToObject(obj, leaf, s) != NULL;
    }
    case CFG_KIND_ENUM: {
        uint8_t v;
        memcpy(&v, cfield(c, k), sizeof v);
        const char *name = (int32_t)v <= k->max ? k->names[v] : "?";
        return cJSON_AddStringToObject(obj, leaf, name) != NULL;
    }
    }
    return false;
}

/* The "packs" array, when the configuration has the section. */
static bool add_packs(cJSON *root, const cfg_t *c)
{
    size_t n = c->packs.count < CFG_MAX_PACKS ? c->packs.count : CFG_MAX_PACKS;
    if (n == 0u) {
        return true;
    }
    cJSON *arr = cJSON_AddArrayToObject(root, "packs");
    if (arr == NULL) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char dev[CFG_PATH_LEN];
        char name[CFG_PACK_NAME_LEN];
        (void)snprintf(dev, sizeof dev, "%.*s", (int)(sizeof dev - 1u), c->packs.pack[i].device);
        (void)snprintf(name, sizeof name, "%.*s", (int)(sizeof name - 1u), c->packs.pack[i].name);
        cJSON *o = cJSON_CreateObject();
        if (o == NULL || cJSON_AddStringToObject(o, "device", dev) == NULL ||
            cJSON_AddStringToObject(o, "name", name) == NULL || !cJSON_AddItemToArray(arr, o)) {
            cJSON_Delete(o); /* not in the array (cJSON_Delete(NULL) does nothing) */
            return false;
        }
    }
    return true;
}

/* "packs" is written just before the bank section, beside the keys that
 * use it. */
static bool starts_bank(size_t i)
{
    return i < KEY_COUNT && strncmp(keys[i].path, "bank.", 5) == 0 &&
           (i == 0u || strncmp(keys[i - 1u].path, "bank.", 5) != 0);
}

char *cfg_to_json(const cfg_t *cfg, bool redact_secrets)
{
    if (cfg == NULL) {
        return NULL;
    }
    cJSON *root = cJSON_CreateObject();
    if (root == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < ALL_COUNT; i++) {
        const key_def_t *k = key_at(i);
        if (starts_bank(i) && !add_packs(root, cfg)) {
            cJSON_Delete(root);
            return NULL;
        }
        if (key_present(cfg, k) && !add_key(root, cfg, k, redact_secrets)) {
            cJSON_Delete(root);
            return NULL;
        }
    }
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    return text;
}

/* ------------------------------------------------------------------------
 * Key catalogue and documentation
 * ------------------------------------------------------------------------ */

size_t cfg_key_count(void)
{
    return KEY_COUNT;
}

bool cfg_key_info(size_t i, cfg_key_info_t *out)
{
    if (i >= KEY_COUNT || out == NULL) {
        return false;
    }
    const key_def_t *k = &keys[i];
    memset(out, 0, sizeof *out);
    out->path = k->path;
    out->kind = k->kind;
    out->secret = (k->flags & KF_SECRET) != 0u;
    out->zero_allowed = (k->flags & KF_ZERO) != 0u;
    out->empty_allowed = (k->flags & KF_EMPTY) != 0u;
    out->min = (double)k->min / (double)k->scale;
    out->max = (double)k->max / (double)k->scale;
    out->resolution = 1.0 / (double)k->scale;
    out->unit = k->unit;
    if (k->kind == CFG_KIND_ENUM) {
        out->names = k->names;
        out->name_count = (size_t)k->max + 1u;
    }
    out->summary = k->summary;
    return true;
}

static void md_default(strbuf_t *b, const cfg_t *d, const key_def_t *k)
{
    char v[CFG_FILE_LEN];
    switch (k->kind) {
    case CFG_KIND_BOOL: {
        bool x;
        memcpy(&x, cfield(d, k), sizeof x);
        strbuf_printf(b, "`%s`", x ? "true" : "false");
        return;
    }
    case CFG_KIND_INT:
    case CFG_KIND_DEC:
        fmt_key_value(v, sizeof v, d, k);
        strbuf_printf(b, "`%s`", v);
        return;
    case CFG_KIND_STR:
        strbuf_printf(b, "`\"%s\"`", (const char *)cfield(d, k));
        return;
    case CFG_KIND_ENUM: {
        uint8_t x;
        memcpy(&x, cfield(d, k), sizeof x);
        strbuf_printf(b, "`\"%s\"`", k->names[x]);
        return;
    }
    }
}

static void md_range(strbuf_t *b, const key_def_t *k)
{
    char lo[32];
    char hi[32];
    switch (k->kind) {
    case CFG_KIND_BOOL:
        strbuf_printf(b, "true, false");
        return;
    case CFG_KIND_INT:
    case CFG_KIND_DEC:
        fmt_scaled(lo, sizeof lo, k->min, k->scale);
        fmt_scaled(hi, sizeof hi, k->max, k->scale);
        if (k->min == k->max) {
            strbuf_printf(b, "%s only", lo);
        } else {
            strbuf_printf(b, "%s%s .. %s", (k->flags & KF_ZERO) != 0u ? "0, or " : "", lo, hi);
        }
        if (k->kind == CFG_KIND_DEC) {
            fmt_scaled(lo, sizeof lo, 1, k->scale);
            strbuf_printf(b, ", step %s", lo);
        }
        return;
    case CFG_KIND_STR:
        if ((k->flags & KF_EMPTY) != 0u) {
            strbuf_printf(b, "empty, or %ld .. %ld chars", (long)k->min, (long)k->max);
        } else {
            strbuf_printf(b, "%ld .. %ld chars", (long)k->min, (long)k->max);
        }
        return;
    case CFG_KIND_ENUM:
        for (int32_t i = 0; i <= k->max; i++) {
            strbuf_printf(b, "%s`%s`", i > 0 ? ", " : "", k->names[i]);
        }
        return;
    }
}

/* The rows of the "packs" array and its members. */
static void md_packs(strbuf_t *b, const char *const *kind_names)
{
    strbuf_printf(
        b,
        "| `packs` | array |  | not set | `[]`, or 1 .. %u objects | The TinyBMS packs of a "
        "bank, pack 1 first: `[{\"device\": \"/dev/ttyUSB0\", \"name\": \"Pack A\"}, "
        "...]`, each device once. Not set or `[]` = one pack on `hardware.uart.device`. "
        "A settings update replaces the whole array. Read at start. |\n",
        CFG_MAX_PACKS);
    const key_def_t *members[] = {&pack_device_key, &pack_name_key};
    for (size_t i = 0; i < sizeof members / sizeof members[0]; i++) {
        const key_def_t *k = members[i];
        strbuf_printf(b, "| `%s` | %s |  | %s | ", k->path, kind_names[k->kind],
                      k == &pack_device_key ? "required" : "`\"\"`");
        md_range(b, k);
        strbuf_printf(b, " | %s |\n", k->summary);
    }
}

char *cfg_keys_markdown(void)
{
    static const char *const kind_names[] = {"bool", "integer", "number", "string", "enum"};
    cfg_t d;
    cfg_defaults(&d);
    strbuf_t b = STRBUF_INIT;
    for (size_t i = 0; i < ALL_COUNT; i++) {
        const key_def_t *k = key_at(i);
        if (i == 0u || i == KEY_COUNT) {
            if (i == KEY_COUNT) {
                strbuf_printf(&b,
                              "\nESP32 keys of the seed: accepted with the checks below, kept "
                              "in the file (written back), not used on Linux; each one given is "
                              "reported as a warning.\n\n");
            }
            strbuf_printf(&b, "| Key | Type | Unit | Default | Range | Description |\n");
            strbuf_printf(&b, "|---|---|---|---|---|---|\n");
        }
        if (starts_bank(i)) {
            md_packs(&b, kind_names);
        }
        strbuf_printf(&b, "| `%s` | %s | %s | ", k->path, kind_names[k->kind], k->unit);
        if (is_esp32(k)) {
            strbuf_printf(&b, "not set");
        } else {
            md_default(&b, &d, k);
        }
        strbuf_printf(&b, " | ");
        md_range(&b, k);
        strbuf_printf(&b, " | %s", k->summary);
        if (is_esp32(k)) {
            strbuf_printf(&b, " Not used on Linux: %s.", k->why);
        }
        if ((k->flags & KF_SECRET) != 0u) {
            strbuf_printf(&b, " **Secret**: redacted in API output.");
        }
        strbuf_printf(&b, " |\n");
    }
    return strbuf_take(&b);
}
