/*
 * config.h - the bridge's configuration: schema (cfg_t), defaults, strict
 * JSON parsing and validation, serialisation.
 *
 * The JSON document uses the seed's public key names (seed README
 * "Configuration", seed-system.md section 4) adapted to Linux: hardware.uart
 * and hardware.can name a device and a CAN interface instead of ESP32 pins,
 * and Wi-Fi is left to the operating system. docs/configuration.md lists
 * every key; its key table is generated from the table in config.c
 * (cfg_keys_markdown) and a unit test keeps the two in sync.
 *
 * Physical values are held in integers with the unit in the member name
 * (_mv millivolt, _da 0.1 A, _dc 0.1 degC, _cpct 0.01 %, _ms millisecond),
 * while the JSON keys keep the seed's names and units: "overvoltage_v": 58.4
 * is stored as overvoltage_mv = 58400. A JSON value finer than the stored
 * resolution is rejected, never rounded silently.
 *
 * Strictness: every parse or merge fails as a whole on the first problem
 * (syntax error, unknown key at any level, duplicate key, wrong type,
 * out-of-range value, malformed string, cross-field rule) and the output is
 * left untouched. The error names the full key path, e.g.
 * "victron.thresholds.overtemp_c: 120 is above the maximum 90".
 *
 * Keys of the seed's ESP32 firmware that mean nothing on Linux (wifi.*,
 * pin numbers, hardware.can.termination, advanced.enable_spiffs ...) are
 * accepted with their type and range checked, kept in cfg_t.esp32 and
 * written back by cfg_to_json, so the same file still works on an ESP32; each
 * one given is reported as a warning (cfg_warnings_t), not as an error. The
 * ESP32 firmware builds this file with CFG_ESP32_FIRMWARE defined: it uses
 * those keys (app/esp32_board.h, app/wifi_policy.h), so it does not warn.
 *
 * Secrets (web_server.password, web_server.token, mqtt.password and the two
 * Wi-Fi passwords) never appear in error messages. cfg_to_json(..., true) replaces a set secret by
 * CFG_REDACTED; cfg_merge_json treats CFG_REDACTED as "keep the current
 * secret", so a client may post back a document it read.
 *
 * This module allocates only inside cfg_to_json / cfg_keys_markdown (the
 * returned string, released with free()) and transiently while parsing
 * (cJSON with its default allocator). No function keeps state between
 * calls, but cJSON records the position of a parse failure in a global of
 * its own, so the application should serialise configuration changes (it
 * must anyway: one configuration, one writer).
 */
#ifndef CFG_CONFIG_H
#define CFG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ------------------------------------------------------------------------
 * Errors
 * ------------------------------------------------------------------------ */

/* The one error enum of the configuration module (config.c and the Linux
 * config_store.c); 0 = OK. */
typedef enum {
    CFG_OK = 0,
    CFG_ERR_ARG,           /* NULL pointer or unusable argument */
    CFG_ERR_SYNTAX,        /* not valid JSON (or empty input) */
    CFG_ERR_NOT_OBJECT,    /* the document, or a section, is not a JSON object */
    CFG_ERR_UNKNOWN_KEY,   /* a key the schema does not have */
    CFG_ERR_DUPLICATE_KEY, /* a key given twice in one object (or key + alias) */
    CFG_ERR_TYPE,          /* wrong JSON type for the key */
    CFG_ERR_RANGE,         /* number outside its range, or finer than its resolution */
    CFG_ERR_VALUE,         /* string too long, malformed, or not one of the allowed names */
    CFG_ERR_RULE,          /* a cross-field rule is broken (e.g. bulk < transition SOC) */
    CFG_ERR_NOMEM,         /* out of memory */
    CFG_ERR_IO,            /* file could not be read or written (config_store.h) */
    CFG_ERR_COUNT_         /* number of codes; not an error */
} cfg_err_t;

#define CFG_KEY_PATH_MAX 96u  /* buffer size for a dotted key path */
#define CFG_MESSAGE_MAX  384u /* buffer size for a message */

/* Details of a failure. `key` is the dotted path of the offending key as the
 * caller wrote it ("" for whole-document problems such as a syntax error);
 * `message` is one English sentence that starts with that path (or with
 * the file path for file errors). Both are always NUL-terminated. */
typedef struct {
    cfg_err_t code;
    char key[CFG_KEY_PATH_MAX];
    char message[CFG_MESSAGE_MAX];
} cfg_error_t;

/* Static English text for an error code; never NULL. */
const char *cfg_strerror(cfg_err_t code);

/* ------------------------------------------------------------------------
 * Warnings: the document is accepted, but something in it is not used as
 * written (an ESP32-only key, a seed value that cannot apply, a default that
 * had to follow a key the file sets). docs/configuration.md lists them.
 * ------------------------------------------------------------------------ */

#define CFG_WARNINGS_MAX    32u  /* warnings kept per call; more are counted */
#define CFG_WARNING_TEXT_MAX 192u /* buffer size for one warning's message */

/* One warning: `key` is the dotted path as written, `message` one English
 * sentence starting with that path. Secrets are never quoted. */
typedef struct {
    char key[CFG_KEY_PATH_MAX];
    char message[CFG_WARNING_TEXT_MAX];
} cfg_warning_t;

/* The warnings of one parse or merge, in document order. ~9 KB: keep it off
 * small thread stacks. */
typedef struct {
    size_t count;   /* entries filled in item[] */
    size_t dropped; /* further warnings that did not fit */
    cfg_warning_t item[CFG_WARNINGS_MAX];
} cfg_warnings_t;

/* ------------------------------------------------------------------------
 * Schema
 * ------------------------------------------------------------------------ */

/* String capacities, terminating NUL included. */
#define CFG_PATH_LEN      128u /* device paths, CAN interface spec, host names */
#define CFG_FILE_LEN      256u /* mqtt.tls_ca_file */
#define CFG_NAME_LEN      64u  /* user names, client id, bind address */
#define CFG_SECRET_LEN    128u /* passwords, tokens */
#define CFG_MANUF_LEN     9u   /* 0x35E: 8 ASCII chars */
#define CFG_BATT_NAME_LEN 17u  /* 0x370 + 0x371: 16 ASCII chars */

/* What cfg_to_json(..., true) writes in place of a secret that is set. */
#define CFG_REDACTED "********"

typedef enum {
    CFG_LOG_ERROR = 0,
    CFG_LOG_WARNING,
    CFG_LOG_INFO,
    CFG_LOG_DEBUG,
    CFG_LOG_COUNT_
} cfg_log_level_t;

/* hardware.can.mode: JSON "normal" | "loopback". */
typedef enum {
    CFG_CAN_NORMAL = 0, /* frames go to the bus */
    CFG_CAN_LOOPBACK,   /* bench test: frames come back to the bridge, none reaches a bus */
    CFG_CAN_MODE_COUNT_
} cfg_can_mode_t;

/* String capacities of the ESP32-only Wi-Fi keys, NUL included. */
#define CFG_WIFI_SSID_LEN 33u /* 802.11: at most 32 bytes */
#define CFG_WIFI_PASS_LEN 64u /* WPA2 passphrase: at most 63 characters */
#define CFG_WIFI_WORD_LEN 16u /* mode, ip mode, IPv4 literals */

/* Packs of a bank (the "packs" section), and a pack name's capacity. */
#define CFG_MAX_PACKS     4u  /* BRG_MAX_PACKS */
#define CFG_PACK_NAME_LEN 17u /* 16 characters */

/* victron.dbus.product_id's default, 0xBA7B (docs/configuration.md). */
#define CFG_DBUS_PRODUCT_ID_DEFAULT 47739

/* The "packs" section (cfg_t.packs). */
typedef struct {
    uint8_t count;
    struct {
        char device[CFG_PATH_LEN];    /* required; each pack its own */
        char name[CFG_PACK_NAME_LEN]; /* printable ASCII; "" = "Pack N" when shown */
    } pack[CFG_MAX_PACKS];
} cfg_packs_t;

/* The whole configuration. Plain data: fixed-size arrays, no pointers, safe
 * to copy by assignment. Member comments give the JSON key where the name
 * differs; docs/configuration.md has ranges and meanings. */
typedef struct {
    struct {
        struct {
            char device[CFG_PATH_LEN]; /* serial device, e.g. "/dev/ttyUSB0" */
            int32_t baudrate;          /* always 115200 (TinyBMS fixed rate) */
            int32_t timeout_ms;        /* response timeout per attempt */
            int32_t retries;           /* resends after a timeout; attempts = retries + 1 */
        } uart;
        struct {
            char interface[CFG_PATH_LEN]; /* "socketcan:IF" | "slcan:TTY" | "log:FILE" */
            int32_t bitrate;              /* always 500000 (Victron CAN-BMS) */
            uint8_t mode;                 /* a cfg_can_mode_t; read at start */
        } can;
    } hardware;
    /* "packs": several TinyBMS in parallel (JSON: an array of 1..4
     * {"device": "/dev/ttyUSB0", "name": "Pack A"}), pack 1..count in
     * order, each on its own serial port with hardware.uart's speed,
     * timeout and retries. count 0 = no section (or []): one pack on
     * hardware.uart.device, as before the section existed. Entries from
     * count on are unused (all zero after a parse). Read at start. */
    cfg_packs_t packs;
    /* "bank": how the packs are combined into one battery (bank.h has the
     * meaning of each; the defaults are bank_default_config's). Used with
     * two packs or more; the bank's current caps are victron.max_*. */
    struct {
        int32_t min_packs;              /* fewer online: CCL = DCL = 0; <= packs.count */
        int32_t offline_grace_ms;       /* a silent pack's last values count this long */
        int32_t rejoin_hold_ms;         /* fresh this long before it rejoins */
        int32_t rejoin_window_cell_mv;  /* within this x series cells of the bank voltage */
        int32_t near_cutoff_mv;         /* silent this close to a cutoff: dropped at once */
        int32_t share_min_ma;           /* below, shares are assumed, not measured */
        int32_t small_current_split_pm; /* JSON small_current_split (x 1000): the assumed
                                         * share of one pack x the equal share */
        bool incremental_guard;         /* bank.h's fourth term */
    } bank;
    struct {
        int32_t poll_interval_ms;    /* live-data period */
        int32_t settings_refresh_ms; /* settings + version registers re-read period */
        int32_t stats_refresh_ms;    /* statistics registers period; 0 = never */
        int32_t events_refresh_ms;   /* event log period; 0 = never */
        int32_t bms_timeout_ms;      /* no good read for this long: data is stale */
    } tinybms;
    struct {
        char manufacturer_name[CFG_MANUF_LEN]; /* 0x35E */
        char battery_name[CFG_BATT_NAME_LEN];  /* 0x370/0x371 */
        int32_t fast_interval_ms;              /* 0x351 0x355 0x356 0x35A period */
        int32_t detail_interval_ms;            /* 0x372..0x379 period */
        int32_t identity_interval_ms;          /* 0x35E 0x35F 0x370 0x371 0x382 period */
        int32_t keepalive_timeout_ms;          /* GX 0x305 silence before "GX not seen" */
        int32_t max_charge_current_da;         /* JSON max_charge_current_a */
        int32_t max_discharge_current_da;      /* JSON max_discharge_current_a */
        int32_t charge_cell_mv;                /* CVL per cell */
        int32_t discharge_cell_mv;             /* DVL per cell */
        struct {
            int32_t overvoltage_mv;     /* JSON overvoltage_v (pack) */
            int32_t undervoltage_mv;    /* JSON undervoltage_v (pack) */
            int32_t overtemp_dc;        /* JSON overtemp_c */
            int32_t low_temp_charge_dc; /* JSON low_temp_charge_c */
            int32_t imbalance_warn_mv;
            int32_t imbalance_alarm_mv;
        } thresholds;
        /* "victron.dbus": the battery as a Venus OS D-Bus service, for a
         * bridge running on the GX itself (venus_items.h; the Linux port
         * reads these at start, the bridge core never). */
        struct {
            bool enabled;
            int32_t device_instance;         /* preferred; localsettings may move it */
            int32_t product_id;              /* /ProductId; not one Venus special-cases */
            char custom_name[CFG_NAME_LEN];  /* UTF-8; "" = none */
        } dbus;
    } victron;
    struct {
        bool enabled;
        int32_t bulk_soc_threshold_cpct;       /* JSON bulk_soc_threshold (%) */
        int32_t transition_soc_threshold_cpct; /* JSON transition_soc_threshold (%) */
        int32_t float_soc_threshold_cpct;      /* JSON float_soc_threshold (%) */
        int32_t float_exit_soc_cpct;           /* JSON float_exit_soc (%) */
        int32_t float_approach_offset_mv;      /* pack mV */
        int32_t float_offset_mv;               /* pack mV */
        int32_t minimum_ccl_in_float_da;       /* JSON minimum_ccl_in_float_a */
        int32_t imbalance_hold_threshold_mv;
        int32_t imbalance_release_threshold_mv;
        int32_t bulk_target_mv;             /* JSON bulk_target_voltage_v; 0 = derived */
        int32_t series_cell_count;          /* 0 = read from the TinyBMS */
        int32_t cell_max_mv;                /* JSON cell_max_voltage_v */
        int32_t cell_safety_threshold_mv;   /* JSON cell_safety_threshold_v */
        int32_t cell_safety_release_mv;     /* JSON cell_safety_release_v */
        int32_t cell_min_float_mv;          /* JSON cell_min_float_voltage_v */
        int32_t cell_protection_kp_milli;   /* JSON cell_protection_kp (V/V) x 1000 */
        int32_t dynamic_current_nominal_da; /* JSON dynamic_current_nominal_a */
        int32_t max_recovery_step_mv;       /* JSON max_recovery_step_v */
        int32_t sustain_soc_entry_cpct;     /* JSON sustain_soc_entry_percent */
        int32_t sustain_soc_exit_cpct;      /* JSON sustain_soc_exit_percent */
        int32_t sustain_mv;                 /* JSON sustain_voltage_v; 0 = per-cell rule */
        int32_t sustain_per_cell_mv;        /* JSON sustain_per_cell_voltage_v */
        int32_t sustain_ccl_limit_da;       /* JSON sustain_ccl_limit_a */
        int32_t sustain_dcl_limit_da;       /* JSON sustain_dcl_limit_a */
        int32_t imbalance_drop_uv_per_mv;   /* JSON imbalance_drop_per_mv (V per mV) */
        int32_t imbalance_drop_max_mv;      /* JSON imbalance_drop_max_v */
        int32_t update_interval_ms;
        int32_t soc_hysteresis_cpct;     /* JSON soc_hysteresis_percent */
        bool derate_enabled;             /* CCL/DCL derating by cell voltage and temperature */
        int32_t current_hold_ms;         /* JSON current_hold_s */
        int32_t current_ramp_da_per_s;   /* JSON current_ramp_a_per_s */
    } cvl;
    struct {
        uint8_t log_level; /* a cfg_log_level_t; JSON "ERROR".."DEBUG" */
        bool log_uart_traffic;
        bool log_can_traffic;
        int32_t file_size_kb; /* rotating log file size; 0 = no log file */
        int32_t files;        /* files in the rotating set (bridge.log + .1 ...) */
    } logging;
    struct {
        int32_t port;
        char bind_address[CFG_NAME_LEN]; /* IPv4 or IPv6 literal (IPv6 only if civetweb has it) */
        char username[CFG_NAME_LEN];
        char password[CFG_SECRET_LEN]; /* secret; "" = none */
        char token[CFG_SECRET_LEN];    /* secret; "" = none */
        bool auth_read;                /* credentials needed for reads too */
        int32_t ws_interval_ms;        /* shortest WebSocket status period */
        int32_t ws_max_clients;        /* WebSocket connections at once */
    } web_server;
    struct {
        bool enabled;
        char host[CFG_PATH_LEN];
        int32_t port;
        char username[CFG_NAME_LEN];
        char password[CFG_SECRET_LEN]; /* secret; "" = none */
        char client_id[CFG_NAME_LEN];
        char root_topic[CFG_PATH_LEN];
        int32_t qos;
        bool retain;
        int32_t keepalive_s;
        char tls_ca_file[CFG_FILE_LEN]; /* "" = plain TCP */
        int32_t interval_ms;            /* period of the value topics */
        bool discovery;                 /* Home Assistant discovery documents */
        char discovery_prefix[CFG_NAME_LEN];
    } mqtt;
    struct {
        bool enable_watchdog;       /* loop stalls stop the systemd watchdog pings */
        int32_t watchdog_timeout_s; /* loop silence that counts as a stall */
    } advanced;
    /* The seed's ESP32 keys: checked, kept and written back, never used on
     * Linux. A key is in the document only while its bit in `present` is
     * set (bit i = the i-th ESP32 key of config.c's table). */
    struct {
        uint32_t present;
        struct {
            char mode[CFG_WIFI_WORD_LEN];
            char sta_ssid[CFG_WIFI_SSID_LEN];
            char sta_password[CFG_WIFI_PASS_LEN]; /* secret */
            char sta_hostname[CFG_NAME_LEN];
            char sta_ip_mode[CFG_WIFI_WORD_LEN];
            char sta_static_ip[CFG_WIFI_WORD_LEN];
            char sta_gateway[CFG_WIFI_WORD_LEN];
            char sta_subnet[CFG_WIFI_WORD_LEN];
            bool ap_enabled;                     /* JSON ap_fallback.enabled */
            char ap_ssid[CFG_WIFI_SSID_LEN];     /* JSON ap_fallback.ssid */
            char ap_password[CFG_WIFI_PASS_LEN]; /* JSON ap_fallback.password; secret */
            int32_t ap_channel;                  /* JSON ap_fallback.channel */
        } wifi;
        int32_t uart_rx_pin; /* JSON hardware.uart.rx_pin */
        int32_t uart_tx_pin;
        int32_t can_tx_pin; /* JSON hardware.can.tx_pin */
        int32_t can_rx_pin;
        bool can_termination;    /* JSON hardware.can.termination */
        int32_t serial_baudrate; /* JSON logging.serial_baudrate */
        bool enable_spiffs;      /* JSON advanced.enable_spiffs */
        bool enable_ota;
        int32_t stack_size_bytes;
    } esp32;
} cfg_t;

/* ------------------------------------------------------------------------
 * Defaults, validation, comparison
 * ------------------------------------------------------------------------ */

/* Fills *out with the documented defaults (docs/configuration.md). The
 * result always passes cfg_validate. Does nothing if out is NULL. */
void cfg_defaults(cfg_t *out);

/* Checks every field's range and format and every cross-field rule. Returns
 * CFG_OK, CFG_ERR_ARG (NULL cfg), CFG_ERR_RANGE, CFG_ERR_VALUE or
 * CFG_ERR_RULE with *err filled (err may be NULL). */
cfg_err_t cfg_validate(const cfg_t *cfg, cfg_error_t *err);

/* True when every schema field of *a equals *b (strings compared as C
 * strings; padding ignored; ESP32 keys by presence, then value; packs by
 * count, then the listed packs). False if either is NULL. */
bool cfg_equal(const cfg_t *a, const cfg_t *b);

/* Static upper-case name of a log level ("INFO"), "?" when out of range. */
const char *cfg_log_level_name(cfg_log_level_t level);

/* Static name of a CAN mode ("normal", "loopback"), "?" when out of range. */
const char *cfg_can_mode_name(cfg_can_mode_t mode);

/* ------------------------------------------------------------------------
 * JSON
 * ------------------------------------------------------------------------ */

/*
 * Builds a configuration from the defaults plus the JSON object in
 * text[0..len) (need not be NUL-terminated; every key optional).
 * On success stores the result in *out and returns CFG_OK. On any problem
 * returns the error code, fills *err (may be NULL) and leaves *out
 * untouched. CFG_REDACTED as a secret's value is refused here (a redacted
 * document is not a configuration). Aliases accepted on input, never
 * written: "cvl_algorithm" for "cvl", "logging.level" for
 * "logging.log_level", "webserver" for "web_server",
 * "web_server.websocket_update_interval_ms" for "web_server.ws_interval_ms".
 * Only here (a whole file, not a patch): a SOC threshold of cvl left out
 * of the document whose default contradicts the thresholds the document
 * sets follows them (docs/configuration.md "Defaults that follow"), with a
 * warning. "packs" is an array of 0 to CFG_MAX_PACKS objects (each with a
 * required "device" and an optional "name"; [] = no section); an error in
 * it names the element, e.g. "packs[1].device". Cost: O(len) time, cJSON's
 * heap for the parse tree.
 */
cfg_err_t cfg_from_json(const char *text, size_t len, cfg_t *out, cfg_error_t *err);

/* cfg_from_json that also reports the warnings into *warn (may be NULL;
 * emptied first, and left empty on failure). */
cfg_err_t cfg_from_json_warn(const char *text, size_t len, cfg_t *out, cfg_warnings_t *warn,
                             cfg_error_t *err);

/*
 * Applies the JSON object patch[0..len) on top of *base, with the same
 * strictness as cfg_from_json, and validates the result. A secret given as
 * CFG_REDACTED keeps the base's value. Keys left out keep the base's
 * values, so nothing follows here: a rule the patch breaks is an error.
 * A "packs" array in the patch replaces the whole section ([] removes it).
 * On success stores the result in *out (out may equal base); on failure
 * *out is untouched and *err explains.
 */
cfg_err_t cfg_merge_json(const cfg_t *base, const char *patch, size_t len, cfg_t *out,
                         cfg_error_t *err);

/* cfg_merge_json that also reports the warnings (as cfg_from_json_warn). */
cfg_err_t cfg_merge_json_warn(const cfg_t *base, const char *patch, size_t len, cfg_t *out,
                              cfg_warnings_t *warn, cfg_error_t *err);

/*
 * Serialises *cfg as an indented JSON object with every key, in schema
 * order; "packs" only when packs.count > 0 (so a file without the section
 * is written back without it). With redact_secrets, a secret that is set
 * becomes CFG_REDACTED and an empty one stays "" (so a reader can tell
 * whether it is set).
 * Returns a malloc'd NUL-terminated string the caller frees, or NULL if
 * cfg is NULL or memory runs out. Does not validate.
 */
char *cfg_to_json(const cfg_t *cfg, bool redact_secrets);

/* ------------------------------------------------------------------------
 * Key catalogue (for documentation and user interfaces)
 * ------------------------------------------------------------------------ */

typedef enum {
    CFG_KIND_BOOL = 0, /* JSON true/false */
    CFG_KIND_INT,      /* JSON whole number, stored as is */
    CFG_KIND_DEC,      /* JSON number, stored as value x scale (an integer) */
    CFG_KIND_STR,      /* JSON string */
    CFG_KIND_ENUM      /* JSON string, one of a fixed list of names */
} cfg_kind_t;

typedef struct {
    const char *path; /* dotted JSON key path */
    cfg_kind_t kind;
    bool secret;              /* redacted by cfg_to_json(..., true) */
    bool zero_allowed;        /* numbers: 0 is accepted outside min..max */
    bool empty_allowed;       /* strings: "" is accepted below min length */
    double min, max;          /* numbers: range in JSON units; strings: length */
    double resolution;        /* numbers: smallest step in JSON units (1 for INT) */
    const char *unit;         /* JSON unit ("V", "ms", "%"...), "" if none */
    const char *const *names; /* ENUM: the accepted names; else NULL */
    size_t name_count;        /* ENUM: entries in names; else 0 */
    const char *summary;      /* one-line description */
} cfg_key_info_t;

/* Number of keys in the schema (the keys the bridge uses; the ESP32-only
 * keys and the "packs" array, which is not one value, are not counted and
 * not described by cfg_key_info; cfg_keys_markdown lists both). */
size_t cfg_key_count(void);

/* Describes key number i (0 <= i < cfg_key_count()). Returns false (and
 * leaves *out untouched) for a bad index or NULL out. Strings are static. */
bool cfg_key_info(size_t i, cfg_key_info_t *out);

/* The key tables of docs/configuration.md as Markdown: one row per key
 * with type, default, range and description, then the same for the ESP32
 * keys. Returns a malloc'd string the caller frees, or NULL on out of
 * memory. */
char *cfg_keys_markdown(void);

#endif /* CFG_CONFIG_H */
