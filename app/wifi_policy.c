/*
 * wifi_policy.c - the firmware's Wi-Fi decisions (see wifi_policy.h).
 *
 * Every call runs the same way: apply the event, then let the timers fire
 * (fallback, due retry, end of the access point's hold), then describe the
 * result. So an event that lands after a deadline also acts on it.
 */
#include "wifi_policy.h"

#include "esp32_keys.h"

#include <stdio.h>
#include <string.h>

/* ------------------------------------------------------------------------
 * Configuration
 * ------------------------------------------------------------------------ */

static bool ci_equal(const char *a, const char *b)
{
    for (; *a != '\0' && *b != '\0'; a++, b++) {
        char x = (*a >= 'A' && *a <= 'Z') ? (char)(*a - 'A' + 'a') : *a;
        if (x != *b) {
            return false;
        }
    }
    return *a == *b;
}

void wpol_config_from_cfg(const cfg_t *cfg, wpol_config_t *out)
{
    if (cfg == NULL || out == NULL) {
        return;
    }
    wpol_config_t c = {.want = WPOL_WANT_STA, .sta_configured = false, .ap_fallback = true};
    if (esp32_key_present(cfg, ESP32_KEY_WIFI_MODE)) {
        const char *m = cfg->esp32.wifi.mode;
        if (ci_equal(m, "ap")) {
            c.want = WPOL_WANT_AP;
        } else if (ci_equal(m, "both")) {
            c.want = WPOL_WANT_BOTH;
        }
    }
    c.sta_configured =
        esp32_key_present(cfg, ESP32_KEY_WIFI_STA_SSID) && cfg->esp32.wifi.sta_ssid[0] != '\0';
    if (esp32_key_present(cfg, ESP32_KEY_WIFI_AP_ENABLED)) {
        c.ap_fallback = cfg->esp32.wifi.ap_enabled;
    }
    *out = c;
}

/* ------------------------------------------------------------------------
 * State machine
 * ------------------------------------------------------------------------ */

/* now is at or after t (wrap-safe: the two are less than 2^31 ms apart). */
static bool reached(uint32_t now, uint32_t t)
{
    return (int32_t)(now - t) >= 0;
}

static bool ap_is_up(const wpol_t *p)
{
    return p->radio != WPOL_RADIO_STA;
}

/* The wait before the next attempt: doubles with each wait of the phase. */
static uint32_t retry_delay(const wpol_t *p)
{
    bool ap = ap_is_up(p);
    uint32_t d = ap ? WPOL_BG_RETRY_FIRST_MS : WPOL_RETRY_FIRST_MS;
    uint32_t max = ap ? WPOL_BG_RETRY_MAX_MS : WPOL_RETRY_MAX_MS;
    for (uint32_t i = 0; i < p->waits && d < max; i++) {
        d *= 2u;
    }
    if (d > max) {
        d = max;
    }
    if (ap && p->ap_clients > 0u && d < WPOL_BG_RETRY_CLIENT_MS) {
        d = WPOL_BG_RETRY_CLIENT_MS;
    }
    return d;
}

static void schedule_retry(wpol_t *p, uint32_t now)
{
    p->retry_due = true;
    p->retry_at_ms = now + retry_delay(p);
    if (p->waits < 32u) {
        p->waits++;
    }
}

static void connect_now(wpol_t *p, bool *connect)
{
    p->attempt_pending = true;
    p->retry_due = false;
    *connect = true;
}

/* Mode sta with the fallback allowed: the only case the AP may come and go. */
static bool may_fall_back(const wpol_t *p)
{
    return p->cfg.want == WPOL_WANT_STA && p->cfg.ap_fallback;
}

static void enter_fallback(wpol_t *p)
{
    p->phase = WPOL_PHASE_FALLBACK;
    p->radio = WPOL_RADIO_APSTA;
    p->failures = 0;
    p->waits = 0;
    p->ap_clients = 0;
}

/* Station lost its link or its IP: try again from the start of JOINING
 * (or FALLBACK while the fallback AP is still up). */
static void station_lost(wpol_t *p, uint32_t now)
{
    p->failures = 0;
    p->waits = 0;
    p->since_ms = now;
    p->phase = p->phase == WPOL_PHASE_LEAVING_AP ? WPOL_PHASE_FALLBACK : WPOL_PHASE_JOINING;
}

static void on_disconnected(wpol_t *p, uint32_t now, bool *connect)
{
    switch (p->phase) {
    case WPOL_PHASE_ONLINE:
    case WPOL_PHASE_LEAVING_AP:
        /* A link that worked: retry at once. */
        station_lost(p, now);
        connect_now(p, connect);
        break;
    case WPOL_PHASE_JOINING:
    case WPOL_PHASE_FALLBACK:
        if (p->attempt_pending) {
            p->attempt_pending = false;
            p->failures++;
        }
        if (p->phase == WPOL_PHASE_JOINING && may_fall_back(p) &&
            p->failures >= WPOL_FALLBACK_ATTEMPTS) {
            enter_fallback(p);
        }
        if (!p->retry_due) {
            schedule_retry(p, now);
        }
        break;
    default: /* AP_ONLY: no station */
        break;
    }
}

static void on_got_ip(wpol_t *p, uint32_t now)
{
    if (p->phase == WPOL_PHASE_JOINING) {
        p->phase = WPOL_PHASE_ONLINE;
    } else if (p->phase == WPOL_PHASE_FALLBACK) {
        p->phase = WPOL_PHASE_LEAVING_AP;
        p->since_ms = now;
    } else {
        return; /* a renewed lease, or no station */
    }
    p->attempt_pending = false;
    p->retry_due = false;
    p->failures = 0;
    p->waits = 0;
}

static void on_lost_ip(wpol_t *p, uint32_t now)
{
    if (p->phase == WPOL_PHASE_ONLINE || p->phase == WPOL_PHASE_LEAVING_AP) {
        /* Still associated: DHCP asks again; a lost link comes as DISCONNECTED. */
        station_lost(p, now);
        p->attempt_pending = true;
        p->retry_due = false;
    }
}

static void on_client(wpol_t *p, bool joined, uint32_t now)
{
    if (!ap_is_up(p)) {
        return;
    }
    if (!joined) {
        if (p->ap_clients > 0u) {
            p->ap_clients--;
        }
        return;
    }
    p->ap_clients++;
    /* A retry already planned keeps its distance from the client too. */
    uint32_t later = now + WPOL_BG_RETRY_CLIENT_MS;
    if (p->retry_due && !reached(p->retry_at_ms, later)) {
        p->retry_at_ms = later;
    }
}

static void run_timers(wpol_t *p, uint32_t now, bool *connect)
{
    if (p->phase == WPOL_PHASE_JOINING && may_fall_back(p) &&
        reached(now, p->since_ms + WPOL_FALLBACK_MS)) {
        enter_fallback(p);
        if (!p->attempt_pending && !p->retry_due) {
            schedule_retry(p, now);
        }
    }
    if (p->phase == WPOL_PHASE_LEAVING_AP) {
        uint32_t held = now - p->since_ms;
        if ((held >= WPOL_AP_HOLD_MS && p->ap_clients == 0u) ||
            held >= WPOL_AP_HOLD_CLIENT_MAX_MS) {
            p->phase = WPOL_PHASE_ONLINE;
            p->radio = WPOL_RADIO_STA;
            p->ap_clients = 0;
        }
    }
    if (p->retry_due && reached(now, p->retry_at_ms)) {
        connect_now(p, connect);
    }
}

/* Time until the earliest of d and t (t in the future), into *best. */
static void earliest(uint32_t now, uint32_t t, uint32_t *best)
{
    uint32_t in = reached(now, t) ? 0u : t - now;
    if (in < *best) {
        *best = in;
    }
}

static uint32_t wake_in(const wpol_t *p, uint32_t now)
{
    uint32_t best = WPOL_NO_WAKE;
    if (p->retry_due) {
        earliest(now, p->retry_at_ms, &best);
    }
    if (p->phase == WPOL_PHASE_JOINING && may_fall_back(p)) {
        earliest(now, p->since_ms + WPOL_FALLBACK_MS, &best);
    }
    if (p->phase == WPOL_PHASE_LEAVING_AP) {
        uint32_t hold = p->ap_clients == 0u ? WPOL_AP_HOLD_MS : WPOL_AP_HOLD_CLIENT_MAX_MS;
        earliest(now, p->since_ms + hold, &best);
    }
    return best;
}

static void describe(const wpol_t *p, wpol_radio_t radio0, wpol_phase_t phase0, bool connect,
                     uint32_t now, wpol_out_t *out)
{
    out->radio = p->radio;
    out->radio_changed = p->radio != radio0;
    out->connect = connect;
    out->phase = p->phase;
    out->phase_changed = p->phase != phase0;
    out->wake_in_ms = wake_in(p, now);
}

bool wpol_start(wpol_t *p, const wpol_config_t *cfg, uint32_t now_ms, wpol_out_t *out)
{
    if (p == NULL || cfg == NULL || out == NULL ||
        (unsigned)cfg->want >= (unsigned)WPOL_WANT_COUNT_) {
        return false;
    }
    memset(p, 0, sizeof *p);
    p->cfg = *cfg;
    p->since_ms = now_ms;
    bool connect = false;
    if (cfg->want == WPOL_WANT_AP || !cfg->sta_configured) {
        p->phase = WPOL_PHASE_AP_ONLY;
        p->radio = WPOL_RADIO_AP;
    } else {
        p->phase = WPOL_PHASE_JOINING;
        p->radio = cfg->want == WPOL_WANT_BOTH ? WPOL_RADIO_APSTA : WPOL_RADIO_STA;
        connect_now(p, &connect);
    }
    describe(p, WPOL_RADIO_COUNT_, WPOL_PHASE_COUNT_, connect, now_ms, out);
    return true;
}

bool wpol_event(wpol_t *p, wpol_event_t ev, uint32_t now_ms, wpol_out_t *out)
{
    if (p == NULL || out == NULL || (unsigned)ev >= (unsigned)WPOL_EV_COUNT_) {
        return false;
    }
    wpol_radio_t radio0 = p->radio;
    wpol_phase_t phase0 = p->phase;
    bool connect = false;
    switch (ev) {
    case WPOL_EV_STA_DISCONNECTED:
        on_disconnected(p, now_ms, &connect);
        break;
    case WPOL_EV_STA_GOT_IP:
        on_got_ip(p, now_ms);
        break;
    case WPOL_EV_STA_LOST_IP:
        on_lost_ip(p, now_ms);
        break;
    case WPOL_EV_AP_CLIENT_JOINED:
    case WPOL_EV_AP_CLIENT_LEFT:
        on_client(p, ev == WPOL_EV_AP_CLIENT_JOINED, now_ms);
        break;
    default:
        break;
    }
    run_timers(p, now_ms, &connect);
    describe(p, radio0, phase0, connect, now_ms, out);
    return true;
}

bool wpol_tick(wpol_t *p, uint32_t now_ms, wpol_out_t *out)
{
    if (p == NULL || out == NULL) {
        return false;
    }
    wpol_radio_t radio0 = p->radio;
    wpol_phase_t phase0 = p->phase;
    bool connect = false;
    run_timers(p, now_ms, &connect);
    describe(p, radio0, phase0, connect, now_ms, out);
    return true;
}

const char *wpol_phase_name(wpol_phase_t phase)
{
    static const char *const names[WPOL_PHASE_COUNT_] = {
        [WPOL_PHASE_AP_ONLY] = "access point",
        [WPOL_PHASE_JOINING] = "joining",
        [WPOL_PHASE_ONLINE] = "online",
        [WPOL_PHASE_FALLBACK] = "fallback",
        [WPOL_PHASE_LEAVING_AP] = "leaving access point",
    };
    return (unsigned)phase < (unsigned)WPOL_PHASE_COUNT_ ? names[phase] : "?";
}

const char *wpol_radio_name(wpol_radio_t radio)
{
    static const char *const names[WPOL_RADIO_COUNT_] = {
        [WPOL_RADIO_STA] = "STA",
        [WPOL_RADIO_AP] = "AP",
        [WPOL_RADIO_APSTA] = "APSTA",
    };
    return (unsigned)radio < (unsigned)WPOL_RADIO_COUNT_ ? names[radio] : "?";
}

/* ------------------------------------------------------------------------
 * Access point settings
 * ------------------------------------------------------------------------ */

/* 32 letters without 0, 1, l and o, so a password read off a console is
 * typed right; 5 bits each. */
static const char pw_alphabet[] = "23456789abcdefghijkmnpqrstuvwxyz";
_Static_assert(sizeof pw_alphabet == 33u, "32 letters: 5 bits per character");

#define PW_CHARS 12u /* 60 bits */
#define PW_GROUP 4u
_Static_assert(PW_CHARS + PW_CHARS / PW_GROUP - 1u == WPOL_DEVICE_PASSWORD_LEN, "xxxx-xxxx-xxxx");
_Static_assert(PW_CHARS * 5u <= WPOL_DEVICE_PASSWORD_RANDOM_BYTES * 8u, "enough random bits");

static const char *const wpol_err_text[WPOL_ERR_COUNT_] = {
    [WPOL_OK] = "ok",
    [WPOL_ERR_ARG] = "invalid argument",
    [WPOL_ERR_SSID] = "unusable access point name",
    [WPOL_ERR_PASSWORD] = "unusable access point password",
    [WPOL_ERR_CHANNEL] = "Wi-Fi channel outside 1..13",
};

const char *wpol_strerror(wpol_err_t code)
{
    return (unsigned)code < (unsigned)WPOL_ERR_COUNT_ ? wpol_err_text[code] : "unknown error";
}

bool wpol_device_password(const uint8_t *random, size_t n, char *out, size_t size)
{
    if (random == NULL || out == NULL || n < WPOL_DEVICE_PASSWORD_RANDOM_BYTES ||
        size <= WPOL_DEVICE_PASSWORD_LEN) {
        return false;
    }
    uint64_t bits = 0;
    for (size_t i = 0; i < WPOL_DEVICE_PASSWORD_RANDOM_BYTES; i++) {
        bits = (bits << 8) | random[i];
    }
    size_t o = 0;
    for (size_t i = 0; i < PW_CHARS; i++) {
        if (i > 0u && i % PW_GROUP == 0u) {
            out[o++] = '-';
        }
        out[o++] = pw_alphabet[(bits >> (59u - 5u * i)) & 31u];
    }
    out[o] = '\0';
    return true;
}

bool wpol_device_password_valid(const char *s)
{
    if (s == NULL) {
        return false;
    }
    for (size_t i = 0; i < WPOL_DEVICE_PASSWORD_LEN; i++) {
        bool dash = (i + 1u) % (PW_GROUP + 1u) == 0u;
        if (dash ? s[i] != '-' : (s[i] == '\0' || strchr(pw_alphabet, s[i]) == NULL)) {
            return false;
        }
    }
    return s[WPOL_DEVICE_PASSWORD_LEN] == '\0';
}

static void put_why(char *why, size_t why_len, const char *text)
{
    if (why == NULL || why_len == 0u) {
        return;
    }
    size_t n = 0;
    for (; n + 1u < why_len && text[n] != '\0'; n++) {
        why[n] = text[n];
    }
    why[n] = '\0';
}

bool wpol_passphrase_valid(const char *s, char *why, size_t why_len)
{
    if (s == NULL) {
        put_why(why, why_len, "is missing");
        return false;
    }
    size_t n = 0;
    for (; n < 64u && s[n] != '\0'; n++) {
        if ((unsigned char)s[n] < 0x20u || (unsigned char)s[n] > 0x7eu) {
            put_why(why, why_len, "has a character that is not printable ASCII (WPA2)");
            return false;
        }
    }
    if (n < 8u) {
        put_why(why, why_len, "is shorter than 8 characters (WPA2)");
        return false;
    }
    if (n > 63u) {
        put_why(why, why_len, "is longer than 63 characters (WPA2)");
        return false;
    }
    return true;
}

bool wpol_default_ssid(const uint8_t mac[6], char *out, size_t size)
{
    if (mac == NULL || out == NULL || size < sizeof WPOL_SSID_PREFIX + 4u) {
        return false;
    }
    (void)snprintf(out, size, WPOL_SSID_PREFIX "%02X%02X", mac[4], mac[5]);
    return true;
}

const char *wpol_hostname(const cfg_t *cfg)
{
    if (cfg != NULL && esp32_key_present(cfg, ESP32_KEY_WIFI_STA_HOSTNAME) &&
        cfg->esp32.wifi.sta_hostname[0] != '\0') {
        return cfg->esp32.wifi.sta_hostname;
    }
    return WPOL_HOSTNAME_DEFAULT;
}

/* strlen that stops at cap (cap when there is no NUL within it). */
static size_t bounded_len(const char *s, size_t cap)
{
    size_t n = 0;
    while (n < cap && s[n] != '\0') {
        n++;
    }
    return n;
}

static wpol_err_t ap_fail(wpol_error_t *err, wpol_err_t code, const char *key, const char *what)
{
    if (err != NULL) {
        err->code = code;
        (void)snprintf(err->key, sizeof err->key, "%s", key);
        (void)snprintf(err->message, sizeof err->message, "%s: %s", key, what);
    }
    return code;
}

wpol_err_t wpol_ap_settings(const cfg_t *cfg, const uint8_t mac[6], const char *device_password,
                            wpol_ap_t *out, wpol_error_t *err)
{
    if (cfg == NULL || mac == NULL || out == NULL) {
        return ap_fail(err, WPOL_ERR_ARG, "", "invalid argument");
    }
    wpol_ap_t ap;
    memset(&ap, 0, sizeof ap);
    const char *ssid = cfg->esp32.wifi.ap_ssid;
    if (esp32_key_present(cfg, ESP32_KEY_WIFI_AP_SSID)) {
        size_t n = bounded_len(ssid, sizeof cfg->esp32.wifi.ap_ssid);
        if (n == 0u || n >= sizeof ap.ssid) {
            return ap_fail(err, WPOL_ERR_SSID, "wifi.ap_fallback.ssid", "must have 1 to 32 bytes");
        }
        memcpy(ap.ssid, ssid, n);
    } else {
        (void)wpol_default_ssid(mac, ap.ssid, sizeof ap.ssid);
    }

    const char *pw = cfg->esp32.wifi.ap_password;
    if (esp32_key_present(cfg, ESP32_KEY_WIFI_AP_PASSWORD) && pw[0] != '\0') {
        char why[80];
        /* Reads at most 64 bytes: safe on the 64-byte field even unterminated. */
        if (!wpol_passphrase_valid(pw, why, sizeof why)) {
            return ap_fail(err, WPOL_ERR_PASSWORD, "wifi.ap_fallback.password", why);
        }
        memcpy(ap.password, pw, bounded_len(pw, sizeof ap.password - 1u));
    } else {
        if (!wpol_device_password_valid(device_password)) {
            return ap_fail(err, WPOL_ERR_PASSWORD, "wifi.ap_fallback.password",
                           "not set, and the per-device password is missing or damaged");
        }
        memcpy(ap.password, device_password, WPOL_DEVICE_PASSWORD_LEN);
        ap.device_password = true;
    }

    int32_t ch = 1;
    if (esp32_key_present(cfg, ESP32_KEY_WIFI_AP_CHANNEL)) {
        ch = cfg->esp32.wifi.ap_channel;
        if (ch < 1 || ch > 13) {
            return ap_fail(err, WPOL_ERR_CHANNEL, "wifi.ap_fallback.channel",
                           "the channel must be 1 to 13");
        }
    }
    ap.channel = (uint8_t)ch;
    *out = ap;
    return WPOL_OK;
}
