/*
 * wifi.c - Wi-Fi for the firmware: the station of wifi.sta_*, the access
 * point fallback and the mDNS name. Every decision (which radio mode, when
 * to retry, when the fallback opens and closes, the access point's name
 * and password) is app/wifi_policy.h's; this file feeds it the driver's
 * events and a clock and carries out what it says.
 *
 * Threading: everything runs on the default event loop's task. The driver
 * events arrive there, and a 500 ms esp_timer posts a tick event there too
 * instead of calling the policy from the timer task, so the policy and the
 * driver calls need no lock.
 *
 * The access point's per-device password (when wifi.ap_fallback.password
 * is empty) lives in NVS, namespace "tbvb", key "ap_secret", drawn from the
 * hardware RNG on the first start. It is printed on the serial console at
 * every start with ESP_LOGI, never with log.h: log.h lines reach
 * GET /api/logs and the log file, and the password is a secret.
 */
#include "fw.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "esp_event.h"
#include "esp_log.h"
#include "esp_mac.h"
#include "esp_netif.h"
#include "esp_random.h"
#include "esp_timer.h"
#include "esp_wifi.h"
#include "mdns.h"
#include "nvs.h"

#include "log.h"
#include "wifi_policy.h"

#define TAG            "wifi"
#define TICK_MS        500u
#define NVS_NAMESPACE  "tbvb"
#define NVS_AP_SECRET  "ap_secret"
#define HTTP_PORT      80u
#define AP_MAX_CLIENTS 4u
#define MDNS_INSTANCE  "TinyBMS-Victron bridge"

/* Our own event base on the default loop: the timer's tick. */
static esp_event_base_t const FW_WIFI_EVENT = "FW_WIFI_EVENT";
enum { FW_WIFI_EVENT_TICK = 0 };

static struct {
    wpol_t policy;
    wpol_radio_t radio; /* the mode set in the driver */
    bool radio_set;
    bool sta_started;     /* WIFI_EVENT_STA_START seen, no STA_STOP since */
    bool connect_pending; /* the policy asked to connect before the station started */
    esp_netif_t *sta;
    esp_netif_t *ap;
    wifi_config_t sta_cfg;
    wifi_config_t ap_cfg;
    char ssid[CFG_WIFI_SSID_LEN]; /* the station's network, for log lines */
} s_wifi;

static uint32_t now_ms(void)
{
    /* The policy takes a wrapping 32-bit millisecond clock. */
    return (uint32_t)((uint64_t)esp_timer_get_time() / 1000u);
}

static wifi_mode_t driver_mode(wpol_radio_t r)
{
    switch (r) {
    case WPOL_RADIO_AP:
        return WIFI_MODE_AP;
    case WPOL_RADIO_APSTA:
        return WIFI_MODE_APSTA;
    default:
        return WIFI_MODE_STA;
    }
}

static bool has_sta(wpol_radio_t r)
{
    return r == WPOL_RADIO_STA || r == WPOL_RADIO_APSTA;
}

static bool has_ap(wpol_radio_t r)
{
    return r == WPOL_RADIO_AP || r == WPOL_RADIO_APSTA;
}

/* Puts the driver in mode r with the configuration of each interface the
 * mode has (set_config only takes an interface that is in the mode). */
static void set_radio(wpol_radio_t r)
{
    esp_err_t e = esp_wifi_set_mode(driver_mode(r));
    if (e == ESP_OK && has_sta(r)) {
        e = esp_wifi_set_config(WIFI_IF_STA, &s_wifi.sta_cfg);
    }
    if (e == ESP_OK && has_ap(r)) {
        e = esp_wifi_set_config(WIFI_IF_AP, &s_wifi.ap_cfg);
    }
    if (e != ESP_OK) {
        log_error("Wi-Fi: cannot switch to %s: %s", wpol_radio_name(r), esp_err_to_name(e));
        return;
    }
    if (!has_sta(r)) {
        s_wifi.sta_started = false;
    }
    s_wifi.radio = r;
    s_wifi.radio_set = true;
}

static void apply(const wpol_out_t *out);

static void connect_station(void)
{
    if (!s_wifi.sta_started) {
        s_wifi.connect_pending = true; /* done at WIFI_EVENT_STA_START */
        return;
    }
    s_wifi.connect_pending = false;
    esp_err_t e = esp_wifi_connect();
    if (e != ESP_OK) {
        /* No DISCONNECTED event will follow: the policy would wait for an
         * outcome for ever, so report the failed attempt ourselves. */
        log_warn("Wi-Fi: cannot start joining \"%s\": %s", s_wifi.ssid, esp_err_to_name(e));
        wpol_out_t out;
        if (wpol_event(&s_wifi.policy, WPOL_EV_STA_DISCONNECTED, now_ms(), &out)) {
            out.connect = false; /* the next attempt waits for the policy's retry */
            apply(&out);
        }
    }
}

/* Carries out what the policy said. */
static void apply(const wpol_out_t *out)
{
    if (out->phase_changed) {
        log_info("Wi-Fi: %s (%s)", wpol_phase_name(out->phase), wpol_radio_name(out->radio));
    }
    if (out->radio_changed || !s_wifi.radio_set || s_wifi.radio != out->radio) {
        set_radio(out->radio);
    }
    if (out->connect && has_sta(out->radio)) {
        connect_station();
    }
}

static const char *disconnect_text(uint8_t reason)
{
    switch (reason) {
    case WIFI_REASON_NO_AP_FOUND:
        return "network not found";
    case WIFI_REASON_AUTH_FAIL:
    case WIFI_REASON_4WAY_HANDSHAKE_TIMEOUT:
    case WIFI_REASON_HANDSHAKE_TIMEOUT:
        return "authentication failed (wrong password?)";
    default:
        return "disconnected";
    }
}

static void on_wifi_event(int32_t id, void *data)
{
    wpol_out_t out;
    bool have = false;
    uint32_t t = now_ms();
    switch (id) {
    case WIFI_EVENT_STA_START:
        s_wifi.sta_started = true;
        if (s_wifi.connect_pending) {
            connect_station();
        }
        break;
    case WIFI_EVENT_STA_STOP:
        s_wifi.sta_started = false;
        break;
    case WIFI_EVENT_STA_DISCONNECTED: {
        const wifi_event_sta_disconnected_t *d = data;
        log_warn("Wi-Fi: \"%s\": %s (reason %u)", s_wifi.ssid, disconnect_text(d->reason),
                 (unsigned)d->reason);
        have = wpol_event(&s_wifi.policy, WPOL_EV_STA_DISCONNECTED, t, &out);
        break;
    }
    case WIFI_EVENT_AP_STACONNECTED:
        log_info("Wi-Fi: a device joined the access point");
        have = wpol_event(&s_wifi.policy, WPOL_EV_AP_CLIENT_JOINED, t, &out);
        break;
    case WIFI_EVENT_AP_STADISCONNECTED:
        log_info("Wi-Fi: a device left the access point");
        have = wpol_event(&s_wifi.policy, WPOL_EV_AP_CLIENT_LEFT, t, &out);
        break;
    default:
        break;
    }
    if (have) {
        apply(&out);
    }
}

static void on_ip_event(int32_t id, void *data)
{
    wpol_out_t out;
    bool have = false;
    if (id == IP_EVENT_STA_GOT_IP) {
        const ip_event_got_ip_t *g = data;
        log_info("Wi-Fi: joined \"%s\", address " IPSTR, s_wifi.ssid, IP2STR(&g->ip_info.ip));
        have = wpol_event(&s_wifi.policy, WPOL_EV_STA_GOT_IP, now_ms(), &out);
    } else if (id == IP_EVENT_STA_LOST_IP) {
        log_warn("Wi-Fi: lost the address on \"%s\"", s_wifi.ssid);
        have = wpol_event(&s_wifi.policy, WPOL_EV_STA_LOST_IP, now_ms(), &out);
    }
    if (have) {
        apply(&out);
    }
}

static void on_event(void *arg, esp_event_base_t base, int32_t id, void *data)
{
    (void)arg;
    if (base == WIFI_EVENT) {
        on_wifi_event(id, data);
    } else if (base == IP_EVENT) {
        on_ip_event(id, data);
    } else if (base == FW_WIFI_EVENT && id == FW_WIFI_EVENT_TICK) {
        wpol_out_t out;
        if (wpol_tick(&s_wifi.policy, now_ms(), &out)) {
            apply(&out);
        }
    }
}

/* esp_timer task: hands the tick to the event loop's task (a full queue
 * drops one tick; the next comes 500 ms later). */
static void on_timer(void *arg)
{
    (void)arg;
    (void)esp_event_post(FW_WIFI_EVENT, FW_WIFI_EVENT_TICK, NULL, 0, 0);
}

/* ---- access point credentials ---- */

/* The per-device password from NVS into out, drawn and stored on the first
 * start. A password that cannot be stored still serves this start (it is
 * printed like the stored one), so the board stays reachable. */
static bool device_password(char *out, size_t size)
{
    nvs_handle_t h;
    esp_err_t e = nvs_open(NVS_NAMESPACE, NVS_READWRITE, &h);
    if (e == ESP_OK) {
        size_t len = size;
        if (nvs_get_str(h, NVS_AP_SECRET, out, &len) == ESP_OK && wpol_device_password_valid(out)) {
            nvs_close(h);
            return true;
        }
    }
    uint8_t random[WPOL_DEVICE_PASSWORD_RANDOM_BYTES];
    esp_fill_random(random, sizeof random);
    bool made = wpol_device_password(random, sizeof random, out, size);
    memset(random, 0, sizeof random);
    if (!made) {
        if (e == ESP_OK) {
            nvs_close(h);
        }
        return false;
    }
    if (e == ESP_OK) {
        e = nvs_set_str(h, NVS_AP_SECRET, out);
        if (e == ESP_OK) {
            e = nvs_commit(h);
        }
        nvs_close(h);
    }
    if (e != ESP_OK) {
        log_warn("Wi-Fi: cannot store the access point password in NVS (%s); a new one is made "
                 "at the next start",
                 esp_err_to_name(e));
    } else {
        log_info("Wi-Fi: a password for the access point was made for this device");
    }
    return true;
}

/* The device password, read (or made) once at fw_wifi_start before any
 * other task asks for it; read-only after. */
static struct {
    bool have;
    char text[CFG_WIFI_PASS_LEN];
} s_device_pw;

bool fw_device_password(char *out, size_t size)
{
    if (!s_device_pw.have || out == NULL || size <= strlen(s_device_pw.text)) {
        return false;
    }
    memcpy(out, s_device_pw.text, strlen(s_device_pw.text) + 1u);
    return true;
}

/* The boxed console lines: the access point's name and password, and the
 * first-start web login while no web credentials are set. */
static void print_ap(const wpol_ap_t *ap, bool web_login_is_device_password)
{
    char line[CFG_WIFI_SSID_LEN + CFG_WIFI_PASS_LEN + 64];
    if (ap->device_password) {
        (void)snprintf(line, sizeof line, "Wi-Fi access point %s, password: %s", ap->ssid,
                       ap->password);
    } else {
        (void)snprintf(line, sizeof line,
                       "Wi-Fi access point %s, password: wifi.ap_fallback.password", ap->ssid);
    }
    char login[CFG_WIFI_PASS_LEN + 96];
    login[0] = '\0';
    if (s_device_pw.have && web_login_is_device_password) {
        (void)snprintf(login, sizeof login, "Web UI login: user %s, password: %s", FW_FIRST_USER,
                       s_device_pw.text);
    }
    int w = (int)strlen(line);
    int lw = (int)strlen(login);
    w = lw > w ? lw : w;
    char bar[sizeof line + sizeof login];
    memset(bar, '-', (size_t)w + 2u);
    bar[w + 2] = '\0';
    esp_log_level_set(TAG, ESP_LOG_INFO); /* shown whatever level the rest logs at */
    ESP_LOGI(TAG, "+%s+", bar);
    ESP_LOGI(TAG, "| %-*s |", w, line);
    if (login[0] != '\0') {
        ESP_LOGI(TAG, "| %-*s |", w, login);
    }
    ESP_LOGI(TAG, "+%s+", bar);
}

/* s_wifi.ap_cfg from the configuration; an unusable ap_fallback section
 * gives way to the default name and the device password, so the fallback
 * that should rescue the board never fails to open. */
static void prepare_ap(const cfg_t *cfg)
{
    uint8_t mac[6] = {0};
    if (esp_read_mac(mac, ESP_MAC_WIFI_SOFTAP) != ESP_OK) {
        log_warn("Wi-Fi: cannot read the MAC address; the access point name ends in 0000");
    }
    /* Made even when the user set an access point password: it is also
     * the first-start web login. */
    s_device_pw.have = device_password(s_device_pw.text, sizeof s_device_pw.text);
    wpol_ap_t ap;
    wpol_error_t err;
    wpol_err_t e =
        wpol_ap_settings(cfg, mac, s_device_pw.have ? s_device_pw.text : NULL, &ap, &err);
    if (e != WPOL_OK) {
        log_error("Wi-Fi: %s; the access point uses its default name and the device password",
                  err.message);
        memset(&ap, 0, sizeof ap);
        (void)wpol_default_ssid(mac, ap.ssid, sizeof ap.ssid);
        if (!s_device_pw.have) {
            log_error("Wi-Fi: no password for the access point; it stays closed");
            return;
        }
        memcpy(ap.password, s_device_pw.text, strlen(s_device_pw.text) + 1u);
        ap.channel = 1;
        ap.device_password = true;
    }
    wifi_ap_config_t *a = &s_wifi.ap_cfg.ap;
    memset(a, 0, sizeof *a);
    size_t ssid_len = strnlen(ap.ssid, sizeof a->ssid); /* 32 bytes, no NUL needed */
    memcpy(a->ssid, ap.ssid, ssid_len);
    a->ssid_len = (uint8_t)ssid_len;
    memcpy(a->password, ap.password, strnlen(ap.password, sizeof a->password - 1u));
    a->channel = ap.channel;
    a->authmode = WIFI_AUTH_WPA2_PSK;
    a->max_connection = AP_MAX_CLIENTS;
    a->pmf_cfg.capable = true;
    print_ap(&ap, cfg->web_server.username[0] == '\0' && cfg->web_server.token[0] == '\0');
    memset(&ap, 0, sizeof ap);
}

/* ---- station ---- */

static void prepare_sta(const cfg_t *cfg)
{
    const char *ssid = cfg->esp32.wifi.sta_ssid;
    const char *pw = cfg->esp32.wifi.sta_password;
    wifi_sta_config_t *st = &s_wifi.sta_cfg.sta;
    memset(st, 0, sizeof *st);
    memcpy(st->ssid, ssid, strnlen(ssid, sizeof st->ssid));
    memcpy(st->password, pw, strnlen(pw, sizeof st->password - 1u));
    /* An open network is joined only when no password is configured. */
    st->threshold.authmode = pw[0] != '\0' ? WIFI_AUTH_WPA2_PSK : WIFI_AUTH_OPEN;
    st->pmf_cfg.capable = true;
    (void)snprintf(s_wifi.ssid, sizeof s_wifi.ssid, "%s", ssid);
}

static bool parse_ip(const char *key, const char *text, esp_ip4_addr_t *out)
{
    if (text[0] == '\0' || esp_netif_str_to_ip4(text, out) != ESP_OK) {
        log_error("Wi-Fi: %s \"%s\" is not an IPv4 address", key, text);
        return false;
    }
    return true;
}

/* wifi.sta_ip_mode static: the fixed address instead of DHCP. The gateway
 * is also the DNS server (the seed's keys have none), which is what a home
 * router offers. A broken setting keeps DHCP, so the board stays
 * reachable. */
static void static_ip(const cfg_t *cfg)
{
    const char *mode = cfg->esp32.wifi.sta_ip_mode;
    if (strcasecmp(mode, "static") != 0) {
        return;
    }
    esp_netif_ip_info_t ip = {0};
    bool ok = parse_ip("wifi.sta_static_ip", cfg->esp32.wifi.sta_static_ip, &ip.ip) &&
              parse_ip("wifi.sta_gateway", cfg->esp32.wifi.sta_gateway, &ip.gw) &&
              parse_ip("wifi.sta_subnet", cfg->esp32.wifi.sta_subnet, &ip.netmask);
    if (!ok) {
        log_error("Wi-Fi: static address not usable, using DHCP");
        return;
    }
    esp_err_t e = esp_netif_dhcpc_stop(s_wifi.sta);
    if (e != ESP_OK && e != ESP_ERR_ESP_NETIF_DHCP_ALREADY_STOPPED) {
        log_error("Wi-Fi: cannot stop DHCP (%s), using DHCP", esp_err_to_name(e));
        return;
    }
    e = esp_netif_set_ip_info(s_wifi.sta, &ip);
    if (e != ESP_OK) {
        log_error("Wi-Fi: cannot set the static address (%s)", esp_err_to_name(e));
        return;
    }
    esp_netif_dns_info_t dns = {0};
    dns.ip.type = ESP_IPADDR_TYPE_V4;
    dns.ip.u_addr.ip4 = ip.gw;
    (void)esp_netif_set_dns_info(s_wifi.sta, ESP_NETIF_DNS_MAIN, &dns);
    log_info("Wi-Fi: static address %s, gateway %s", cfg->esp32.wifi.sta_static_ip,
             cfg->esp32.wifi.sta_gateway);
}

/* ---- mDNS ---- */

static void start_mdns(const char *hostname)
{
    esp_err_t e = mdns_init();
    if (e == ESP_OK) {
        e = mdns_hostname_set(hostname);
    }
    if (e == ESP_OK) {
        e = mdns_instance_name_set(MDNS_INSTANCE);
    }
    if (e == ESP_OK) {
        e = mdns_service_add(NULL, "_http", "_tcp", HTTP_PORT, NULL, 0);
    }
    if (e != ESP_OK) {
        log_error("Wi-Fi: mDNS (%s.local) not available: %s", hostname, esp_err_to_name(e));
        return;
    }
    log_info("Wi-Fi: the web UI is at http://%s.local", hostname);
}

/* ---- start ---- */

static esp_err_t start_driver(void)
{
    esp_err_t e = esp_netif_init();
    if (e != ESP_OK) {
        return e;
    }
    e = esp_event_loop_create_default();
    if (e != ESP_OK && e != ESP_ERR_INVALID_STATE) { /* INVALID_STATE: already there */
        return e;
    }
    s_wifi.sta = esp_netif_create_default_wifi_sta();
    s_wifi.ap = esp_netif_create_default_wifi_ap();
    if (s_wifi.sta == NULL || s_wifi.ap == NULL) {
        return ESP_ERR_NO_MEM;
    }
    wifi_init_config_t init = WIFI_INIT_CONFIG_DEFAULT();
    e = esp_wifi_init(&init);
    if (e != ESP_OK) {
        return e;
    }
    /* The configuration file is the one source of Wi-Fi settings: the
     * driver must not bring back an old network from its own NVS copy. */
    return esp_wifi_set_storage(WIFI_STORAGE_RAM);
}

static esp_err_t register_events(void)
{
    esp_err_t e =
        esp_event_handler_instance_register(WIFI_EVENT, ESP_EVENT_ANY_ID, on_event, NULL, NULL);
    if (e == ESP_OK) {
        e = esp_event_handler_instance_register(IP_EVENT, IP_EVENT_STA_GOT_IP, on_event, NULL,
                                                NULL);
    }
    if (e == ESP_OK) {
        e = esp_event_handler_instance_register(IP_EVENT, IP_EVENT_STA_LOST_IP, on_event, NULL,
                                                NULL);
    }
    if (e == ESP_OK) {
        e = esp_event_handler_instance_register(FW_WIFI_EVENT, FW_WIFI_EVENT_TICK, on_event, NULL,
                                                NULL);
    }
    return e;
}

static esp_err_t start_ticks(void)
{
    const esp_timer_create_args_t args = {
        .callback = on_timer,
        .dispatch_method = ESP_TIMER_TASK,
        .name = "wifi_policy",
        .skip_unhandled_events = true,
    };
    esp_timer_handle_t t;
    esp_err_t e = esp_timer_create(&args, &t);
    if (e == ESP_OK) {
        e = esp_timer_start_periodic(t, (uint64_t)TICK_MS * 1000u);
    }
    return e;
}

esp_err_t fw_wifi_start(const cfg_t *cfg)
{
    if (cfg == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    esp_err_t e = start_driver();
    if (e != ESP_OK) {
        log_error("Wi-Fi: cannot start the driver: %s", esp_err_to_name(e));
        return e;
    }
    const char *hostname = wpol_hostname(cfg);
    e = esp_netif_set_hostname(s_wifi.sta, hostname);
    if (e != ESP_OK) {
        log_warn("Wi-Fi: host name %s not set: %s", hostname, esp_err_to_name(e));
    }
    prepare_sta(cfg);
    prepare_ap(cfg);
    static_ip(cfg);
    e = register_events();
    if (e != ESP_OK) {
        log_error("Wi-Fi: cannot register the event handlers: %s", esp_err_to_name(e));
        return e;
    }
    wpol_config_t pcfg;
    wpol_out_t out;
    wpol_config_from_cfg(cfg, &pcfg);
    if (!wpol_start(&s_wifi.policy, &pcfg, now_ms(), &out)) {
        log_error("Wi-Fi: wifi.mode \"%s\" not usable", cfg->esp32.wifi.mode);
        return ESP_ERR_INVALID_ARG;
    }
    set_radio(out.radio);
    e = esp_wifi_start();
    if (e != ESP_OK) {
        log_error("Wi-Fi: cannot start the radio: %s", esp_err_to_name(e));
        return e;
    }
    log_info("Wi-Fi: %s (%s)%s%s%s", wpol_phase_name(out.phase), wpol_radio_name(out.radio),
             pcfg.sta_configured ? ", joining \"" : "", pcfg.sta_configured ? s_wifi.ssid : "",
             pcfg.sta_configured ? "\"" : "");
    if (!pcfg.sta_configured) {
        log_info("Wi-Fi: no network set (wifi.sta_ssid): join the access point and open "
                 "http://192.168.4.1 to set it up");
    }
    if (out.connect) {
        connect_station(); /* waits for WIFI_EVENT_STA_START */
    }
    start_mdns(hostname);
    e = start_ticks();
    if (e != ESP_OK) {
        log_error("Wi-Fi: cannot start the policy timer: %s", esp_err_to_name(e));
    }
    return e;
}
