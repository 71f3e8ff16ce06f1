/*
 * wifi_policy.h - the ESP32 firmware's Wi-Fi decisions, without Wi-Fi:
 * a state machine fed with the driver's events and a monotonic clock that
 * says which radio mode to be in and when to (re)connect the station, and
 * the access point's name, password and channel. Pure: no ESP-IDF header,
 * no heap, no hidden state (it all lives in wpol_t, owned by the caller).
 *
 * Modes (wifi.mode; config.c accepts sta, station, ap, both, any case):
 *   sta/station (the default): join wifi.sta_ssid. When that fails
 *     WPOL_FALLBACK_ATTEMPTS times in a row, or no IP came within
 *     WPOL_FALLBACK_MS, open the access point next to the station (APSTA)
 *     and keep retrying the station in the background, with a growing
 *     delay. Once the station has held an IP for WPOL_AP_HOLD_MS (and no
 *     one is left on the access point, or WPOL_AP_HOLD_CLIENT_MAX_MS passed)
 *     the fallback access point closes. With wifi.ap_fallback.enabled false
 *     the access point never opens: the station retries forever.
 *   ap: the access point only, the station is never used.
 *   both: access point and station all the time; the station retries as
 *     in the background case.
 * No wifi.sta_ssid (a new board): the access point only, whatever
 * ap_fallback.enabled says, since it is then the only way to reach the
 * board and set Wi-Fi up.
 *
 * Retries: with the station alone, 1 s after a failure, doubling to at
 * most 30 s. With the access point up, 15 s doubling to at most 120 s, and
 * at least 300 s while a client is on the access point, because every
 * attempt scans away from the access point's channel and disturbs it.
 * A link that had an IP and drops is retried at once, and the fallback
 * count and timer start again, so a short router outage does not open the
 * access point.
 *
 * The glue relies on ESP-IDF reporting each failed attempt as
 * WIFI_EVENT_STA_DISCONNECTED: an attempt without an outcome is waited
 * for, not retried. Times are uint32_t milliseconds from any monotonic
 * clock (esp_timer_get_time() / 1000); wrap-around is handled, deadlines
 * are all far below 2^31 ms.
 *
 * Access point (wpol_ap_settings): SSID wifi.ap_fallback.ssid, else
 * "tinybms-bridge-XXXX" from the last two bytes of the MAC address. Password
 * wifi.ap_fallback.password when set (WPA2, 8..63 printable ASCII), else
 * the per-device password: there is NO default password. The firmware
 * draws WPOL_DEVICE_PASSWORD_RANDOM_BYTES from the hardware RNG once,
 * turns them into a password with wpol_device_password, keeps it in NVS
 * (checked with wpol_device_password_valid when read back) and prints it on
 * the serial console at every start. Channel wifi.ap_fallback.channel
 * (1..13), default 1. The access point is never open.
 */
#ifndef WIFI_POLICY_H
#define WIFI_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

/* ------------------------------------------------------------------------
 * Timing (header comment)
 * ------------------------------------------------------------------------ */

#define WPOL_FALLBACK_ATTEMPTS     5u      /* failed attempts before the fallback */
#define WPOL_FALLBACK_MS           30000u  /* or this long without an IP */
#define WPOL_RETRY_FIRST_MS        1000u   /* station alone: first retry delay */
#define WPOL_RETRY_MAX_MS          30000u  /* station alone: longest delay */
#define WPOL_BG_RETRY_FIRST_MS     15000u  /* access point up: first retry delay */
#define WPOL_BG_RETRY_MAX_MS       120000u /* access point up: longest delay */
#define WPOL_BG_RETRY_CLIENT_MS    300000u /* shortest delay with a client on the AP */
#define WPOL_AP_HOLD_MS            60000u  /* IP held this long: the fallback AP closes */
#define WPOL_AP_HOLD_CLIENT_MAX_MS 600000u /* ... even with a client still on it */

/* Returned as wpol_out_t.wake_in_ms when no deadline is pending. */
#define WPOL_NO_WAKE UINT32_MAX

/* ------------------------------------------------------------------------
 * State machine
 * ------------------------------------------------------------------------ */

/* wifi.mode. */
typedef enum {
    WPOL_WANT_STA = 0, /* "sta" / "station" (default) */
    WPOL_WANT_AP,      /* "ap" */
    WPOL_WANT_BOTH,    /* "both" */
    WPOL_WANT_COUNT_
} wpol_want_t;

/* What the state machine needs from the configuration. */
typedef struct {
    wpol_want_t want;
    bool sta_configured; /* wifi.sta_ssid is set and not empty */
    bool ap_fallback;    /* wifi.ap_fallback.enabled (default true) */
} wpol_config_t;

/* The radio mode to be in (esp_wifi_set_mode: WIFI_MODE_STA/AP/APSTA). */
typedef enum {
    WPOL_RADIO_STA = 0,
    WPOL_RADIO_AP,
    WPOL_RADIO_APSTA,
    WPOL_RADIO_COUNT_
} wpol_radio_t;

typedef enum {
    WPOL_PHASE_AP_ONLY = 0, /* mode ap, or no network set: access point, no station */
    WPOL_PHASE_JOINING,     /* station trying; fallback timer running (mode sta) */
    WPOL_PHASE_ONLINE,      /* station has an IP; no fallback access point */
    WPOL_PHASE_FALLBACK,    /* fallback access point up, station retried */
    WPOL_PHASE_LEAVING_AP,  /* fallback, station online: the AP closes after the hold */
    WPOL_PHASE_COUNT_
} wpol_phase_t;

/* The driver events the glue passes on. */
typedef enum {
    WPOL_EV_STA_DISCONNECTED = 0, /* WIFI_EVENT_STA_DISCONNECTED: attempt failed or link lost */
    WPOL_EV_STA_GOT_IP,           /* IP_EVENT_STA_GOT_IP */
    WPOL_EV_STA_LOST_IP,          /* IP_EVENT_STA_LOST_IP */
    WPOL_EV_AP_CLIENT_JOINED,     /* WIFI_EVENT_AP_STACONNECTED */
    WPOL_EV_AP_CLIENT_LEFT,       /* WIFI_EVENT_AP_STADISCONNECTED */
    WPOL_EV_COUNT_
} wpol_event_t;

/* What to do after a call. */
typedef struct {
    wpol_radio_t radio; /* the mode to be in */
    bool radio_changed; /* differs from the previous output: esp_wifi_set_mode (and
                         * configure the AP when it appears) */
    bool connect;       /* call esp_wifi_connect() now (once the station interface
                         * has started, right after wpol_start) */
    wpol_phase_t phase;
    bool phase_changed;  /* for the log line */
    uint32_t wake_in_ms; /* call wpol_tick within this long, or WPOL_NO_WAKE */
} wpol_out_t;

/* The state; fields are private to wifi_policy.c. */
typedef struct {
    wpol_config_t cfg;
    wpol_phase_t phase;
    wpol_radio_t radio;
    bool attempt_pending; /* connect issued, no outcome yet */
    bool retry_due;       /* a connect is scheduled at retry_at_ms */
    uint32_t retry_at_ms;
    uint32_t failures; /* failed attempts in this phase */
    uint32_t waits;    /* retry waits in this phase (the backoff's exponent) */
    uint32_t since_ms; /* JOINING: fallback timer start; LEAVING_AP: IP since */
    uint32_t ap_clients;
} wpol_t;

/* The state machine's settings from cfg (defaults as in the header
 * comment). Does nothing when either pointer is NULL. */
void wpol_config_from_cfg(const cfg_t *cfg, wpol_config_t *out);

/* Starts *p at now_ms with *cfg and fills *out (the first radio mode,
 * connect when the station is used). Returns false (nothing written) for
 * NULL pointers or a want out of range. */
bool wpol_start(wpol_t *p, const wpol_config_t *cfg, uint32_t now_ms, wpol_out_t *out);

/* Feeds one driver event. Returns false (p and out untouched) for NULL
 * pointers or an unknown event. Events that mean nothing in the current
 * phase (a GOT_IP in mode ap) are ignored: out then repeats the state. */
bool wpol_event(wpol_t *p, wpol_event_t ev, uint32_t now_ms, wpol_out_t *out);

/* Lets time pass: fires due retries, the fallback and the end of the hold.
 * Call it at least every wake_in_ms (or simply every second). Returns false
 * for NULL pointers. */
bool wpol_tick(wpol_t *p, uint32_t now_ms, wpol_out_t *out);

/* Static names for log lines ("fallback", "APSTA"); "?" when out of range. */
const char *wpol_phase_name(wpol_phase_t phase);
const char *wpol_radio_name(wpol_radio_t radio);

/* ------------------------------------------------------------------------
 * Access point settings
 * ------------------------------------------------------------------------ */

#define WPOL_SSID_PREFIX      "tinybms-bridge-" /* + 4 upper-case hex digits */
#define WPOL_HOSTNAME_DEFAULT "tinybms-bridge"

/* The per-device password: 12 characters from a 32-letter alphabet without
 * 0, 1, l and o (5 bits each, 60 bits in all), in groups of four joined by
 * '-', e.g. "k7fq-x2mv-9hbt". Made from this many random bytes. */
#define WPOL_DEVICE_PASSWORD_RANDOM_BYTES 8u
#define WPOL_DEVICE_PASSWORD_LEN          14u /* characters, NUL not counted */

typedef enum {
    WPOL_OK = 0,
    WPOL_ERR_ARG,      /* NULL pointer or buffer too small */
    WPOL_ERR_SSID,     /* wifi.ap_fallback.ssid empty or over 32 bytes */
    WPOL_ERR_PASSWORD, /* a password that WPA2 does not take, or no device password */
    WPOL_ERR_CHANNEL,  /* wifi.ap_fallback.channel outside 1..13 */
    WPOL_ERR_COUNT_
} wpol_err_t;

#define WPOL_MESSAGE_MAX 160u

/* Details of a failure; the message starts with the key and never quotes
 * a password. */
typedef struct {
    wpol_err_t code;
    char key[CFG_KEY_PATH_MAX];
    char message[WPOL_MESSAGE_MAX];
} wpol_error_t;

typedef struct {
    char ssid[CFG_WIFI_SSID_LEN];
    char password[CFG_WIFI_PASS_LEN];
    uint8_t channel;      /* 1..13 */
    bool device_password; /* password is the per-device one: print it on the console */
} wpol_ap_t;

/* Static English text for an error code; never NULL. */
const char *wpol_strerror(wpol_err_t code);

/*
 * The access point of cfg on the device with this MAC address (6 bytes,
 * esp_read_mac WIFI_SOFTAP or STA). device_password: the per-device
 * password read from NVS, used when cfg sets none (may be NULL when cfg
 * sets one). Returns WPOL_OK and fills *out, or an error with *err filled
 * (may be NULL) and *out untouched; WPOL_ERR_PASSWORD also when cfg sets no
 * password and device_password is not valid.
 */
wpol_err_t wpol_ap_settings(const cfg_t *cfg, const uint8_t mac[6], const char *device_password,
                            wpol_ap_t *out, wpol_error_t *err);

/* Writes "tinybms-bridge-XXXX" (mac[4], mac[5] in upper-case hex) into
 * out[size]. Returns false (out untouched) for NULL or size < 20. */
bool wpol_default_ssid(const uint8_t mac[6], char *out, size_t size);

/* The host name: wifi.sta_hostname when set, else WPOL_HOSTNAME_DEFAULT.
 * Static or cfg-owned string; never NULL (the default for NULL cfg). */
const char *wpol_hostname(const cfg_t *cfg);

/* Turns n >= WPOL_DEVICE_PASSWORD_RANDOM_BYTES random bytes (only the first
 * WPOL_DEVICE_PASSWORD_RANDOM_BYTES are used) into the per-device password
 * in out[size] (size > WPOL_DEVICE_PASSWORD_LEN). Returns false (out
 * untouched) for NULL, too few bytes or too small a buffer. */
bool wpol_device_password(const uint8_t *random, size_t n, char *out, size_t size);

/* True when s has exactly the form wpol_device_password makes. */
bool wpol_device_password_valid(const char *s);

/* True when s is a WPA2 passphrase: 8..63 printable ASCII characters.
 * Otherwise false with the reason in why[why_len] (may be NULL), which
 * never quotes s. Reads at most 64 bytes of s, so an unterminated 64-byte
 * field is refused, not overrun. */
bool wpol_passphrase_valid(const char *s, char *why, size_t why_len);

#endif /* WIFI_POLICY_H */
