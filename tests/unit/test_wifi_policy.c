/* The firmware's Wi-Fi decisions (app/wifi_policy.h). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "config.h"
#include "esp32_keys.h"
#include "wifi_policy.h"

static const uint8_t mac[6] = {0x24, 0x6f, 0x28, 0x01, 0x1a, 0x2b};

static wpol_config_t conf(wpol_want_t want, bool ssid, bool fallback)
{
    wpol_config_t c = {.want = want, .sta_configured = ssid, .ap_fallback = fallback};
    return c;
}

static wpol_out_t ev(wpol_t *p, wpol_event_t e, uint32_t now)
{
    wpol_out_t o;
    assert_true(wpol_event(p, e, now, &o));
    return o;
}

static wpol_out_t tick(wpol_t *p, uint32_t now)
{
    wpol_out_t o;
    assert_true(wpol_tick(p, now, &o));
    return o;
}

static cfg_t parse(const char *json)
{
    cfg_t c;
    cfg_error_t err;
    cfg_err_t e = cfg_from_json(json, strlen(json), &c, &err);
    if (e != CFG_OK) {
        fail_msg("%s: %s", json, err.message);
    }
    return c;
}

/* Mode sta, joining from t0: returns the state after start. */
static wpol_t joining(uint32_t t0, bool fallback)
{
    wpol_t p;
    wpol_config_t c = conf(WPOL_WANT_STA, true, fallback);
    wpol_out_t o;
    assert_true(wpol_start(&p, &c, t0, &o));
    assert_int_equal(o.radio, WPOL_RADIO_STA);
    assert_true(o.connect);
    return p;
}

/* Mode sta, in the fallback through five failed attempts from t0; returns
 * the time of the last failure. */
static uint32_t to_fallback(wpol_t *p, uint32_t t0)
{
    *p = joining(t0, true);
    uint32_t t = t0;
    for (unsigned i = 0; i < WPOL_FALLBACK_ATTEMPTS; i++) {
        t += 100u;
        wpol_out_t o = ev(p, WPOL_EV_STA_DISCONNECTED, t);
        if (i + 1u < WPOL_FALLBACK_ATTEMPTS) {
            assert_int_equal(o.phase, WPOL_PHASE_JOINING);
            t += o.wake_in_ms;
            o = tick(p, t);
            assert_true(o.connect);
        }
    }
    assert_int_equal(p->phase, WPOL_PHASE_FALLBACK);
    return t;
}

/* ------------------------------------------------------------------------ */

static void test_wifi_config_from_cfg_defaults_and_modes(void **state)
{
    (void)state;
    cfg_t c;
    cfg_defaults(&c);
    wpol_config_t w;
    wpol_config_from_cfg(&c, &w);
    assert_int_equal(w.want, WPOL_WANT_STA);
    assert_false(w.sta_configured);
    assert_true(w.ap_fallback);

    c = parse("{\"wifi\":{\"mode\":\"AP\",\"sta_ssid\":\"home\","
              "\"ap_fallback\":{\"enabled\":false}}}");
    wpol_config_from_cfg(&c, &w);
    assert_int_equal(w.want, WPOL_WANT_AP);
    assert_true(w.sta_configured);
    assert_false(w.ap_fallback);
    c = parse("{\"wifi\":{\"mode\":\"Both\"}}");
    wpol_config_from_cfg(&c, &w);
    assert_int_equal(w.want, WPOL_WANT_BOTH);
    c = parse("{\"wifi\":{\"mode\":\"station\",\"sta_ssid\":\"\"}}");
    wpol_config_from_cfg(&c, &w);
    assert_int_equal(w.want, WPOL_WANT_STA);
    assert_false(w.sta_configured);
    c = parse("{\"wifi\":{\"mode\":\"sta\"}}");
    wpol_config_from_cfg(&c, &w);
    assert_int_equal(w.want, WPOL_WANT_STA);
    /* NULL: nothing written. */
    wpol_config_t before = w;
    wpol_config_from_cfg(NULL, &w);
    assert_memory_equal(&w, &before, sizeof w);
    wpol_config_from_cfg(&c, NULL);
}

static void test_wifi_no_network_or_mode_ap_is_access_point_only(void **state)
{
    (void)state;
    const wpol_config_t cases[] = {
        conf(WPOL_WANT_STA, false, true),
        conf(WPOL_WANT_STA, false, false),
        conf(WPOL_WANT_AP, true, true),
        conf(WPOL_WANT_BOTH, false, true),
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        wpol_t p;
        wpol_out_t o;
        assert_true(wpol_start(&p, &cases[i], 1000, &o));
        assert_int_equal(o.radio, WPOL_RADIO_AP);
        assert_true(o.radio_changed);
        assert_true(o.phase_changed);
        assert_int_equal(o.phase, WPOL_PHASE_AP_ONLY);
        assert_false(o.connect);
        assert_int_equal(o.wake_in_ms, WPOL_NO_WAKE);
        /* Station events and time change nothing. */
        const wpol_event_t evs[] = {WPOL_EV_STA_DISCONNECTED, WPOL_EV_STA_GOT_IP,
                                    WPOL_EV_STA_LOST_IP, WPOL_EV_AP_CLIENT_JOINED,
                                    WPOL_EV_AP_CLIENT_LEFT};
        for (size_t k = 0; k < sizeof evs / sizeof evs[0]; k++) {
            o = ev(&p, evs[k], 2000);
            assert_int_equal(o.radio, WPOL_RADIO_AP);
            assert_false(o.radio_changed || o.phase_changed || o.connect);
        }
        o = tick(&p, 10u * 3600u * 1000u);
        assert_int_equal(o.phase, WPOL_PHASE_AP_ONLY);
        assert_false(o.connect);
    }
}

static void test_wifi_station_joins_and_stays_online(void **state)
{
    (void)state;
    wpol_t p = joining(5000, true);
    wpol_out_t o = tick(&p, 5000);
    assert_int_equal(o.wake_in_ms, WPOL_FALLBACK_MS);
    assert_false(o.connect);
    o = ev(&p, WPOL_EV_STA_GOT_IP, 9000);
    assert_int_equal(o.phase, WPOL_PHASE_ONLINE);
    assert_true(o.phase_changed);
    assert_false(o.radio_changed);
    assert_int_equal(o.radio, WPOL_RADIO_STA);
    assert_int_equal(o.wake_in_ms, WPOL_NO_WAKE);
    /* No fallback once online, however long. */
    o = tick(&p, 9000u + 3600u * 1000u);
    assert_int_equal(o.phase, WPOL_PHASE_ONLINE);
    assert_false(o.connect);
    /* A renewed lease changes nothing. */
    o = ev(&p, WPOL_EV_STA_GOT_IP, 10000);
    assert_false(o.phase_changed || o.radio_changed || o.connect);
}

static void test_wifi_falls_back_after_five_failed_attempts(void **state)
{
    (void)state;
    wpol_t p = joining(0, true);
    const uint32_t delays[] = {1000, 2000, 4000, 8000};
    uint32_t t = 0;
    for (size_t i = 0; i < 4u; i++) {
        t += 500u;
        wpol_out_t o = ev(&p, WPOL_EV_STA_DISCONNECTED, t);
        assert_false(o.connect);
        assert_int_equal(o.phase, WPOL_PHASE_JOINING);
        assert_int_equal(o.wake_in_ms, delays[i]);
        o = tick(&p, t + delays[i] - 1u);
        assert_false(o.connect);
        t += delays[i];
        o = tick(&p, t);
        assert_true(o.connect);
        /* One connect per retry. */
        o = tick(&p, t);
        assert_false(o.connect);
    }
    assert_true(t + 500u < WPOL_FALLBACK_MS); /* the count, not the timer, decides */
    wpol_out_t o = ev(&p, WPOL_EV_STA_DISCONNECTED, t + 500u);
    assert_int_equal(o.phase, WPOL_PHASE_FALLBACK);
    assert_true(o.phase_changed);
    assert_int_equal(o.radio, WPOL_RADIO_APSTA);
    assert_true(o.radio_changed);
    assert_false(o.connect);
    assert_int_equal(o.wake_in_ms, WPOL_BG_RETRY_FIRST_MS);
}

static void test_wifi_falls_back_after_30_s_without_ip(void **state)
{
    (void)state;
    wpol_t p = joining(1000, true);
    /* Associated but no IP, no event at all. */
    wpol_out_t o = tick(&p, 1000u + WPOL_FALLBACK_MS - 1u);
    assert_int_equal(o.phase, WPOL_PHASE_JOINING);
    assert_int_equal(o.wake_in_ms, 1);
    o = tick(&p, 1000u + WPOL_FALLBACK_MS);
    assert_int_equal(o.phase, WPOL_PHASE_FALLBACK);
    assert_int_equal(o.radio, WPOL_RADIO_APSTA);
    assert_true(o.radio_changed);
    /* The attempt still runs: nothing to retry until its outcome. */
    assert_false(o.connect);
    assert_int_equal(o.wake_in_ms, WPOL_NO_WAKE);
    o = ev(&p, WPOL_EV_STA_DISCONNECTED, 40000);
    assert_int_equal(o.wake_in_ms, WPOL_BG_RETRY_FIRST_MS);
    /* Few failures, each followed by a slow retry: the timer also decides. */
    wpol_t q = joining(0, true);
    o = ev(&q, WPOL_EV_STA_DISCONNECTED, 100);
    o = tick(&q, 1100);
    assert_true(o.connect);
    o = ev(&q, WPOL_EV_STA_DISCONNECTED, 29000);
    assert_int_equal(o.phase, WPOL_PHASE_JOINING);
    o = tick(&q, WPOL_FALLBACK_MS);
    assert_int_equal(o.phase, WPOL_PHASE_FALLBACK);
    assert_false(o.connect);
    /* The retry planned in JOINING stays planned. */
    assert_int_equal(o.wake_in_ms, 1000);
}

static void test_wifi_never_falls_back_when_disabled(void **state)
{
    (void)state;
    wpol_t p = joining(0, false);
    uint32_t t = 0;
    uint32_t last_delay = 0;
    for (unsigned i = 0; i < 100u; i++) {
        wpol_out_t o = ev(&p, WPOL_EV_STA_DISCONNECTED, t);
        assert_int_equal(o.radio, WPOL_RADIO_STA);
        assert_int_equal(o.phase, WPOL_PHASE_JOINING);
        assert_true(o.wake_in_ms <= WPOL_RETRY_MAX_MS);
        last_delay = o.wake_in_ms;
        t += o.wake_in_ms;
        o = tick(&p, t);
        assert_true(o.connect);
        assert_int_equal(o.radio, WPOL_RADIO_STA);
    }
    assert_int_equal(last_delay, WPOL_RETRY_MAX_MS);
    wpol_out_t o = tick(&p, t + 3600u * 1000u);
    assert_int_equal(o.radio, WPOL_RADIO_STA);
}

static void test_wifi_background_retries_back_off_to_two_minutes(void **state)
{
    (void)state;
    wpol_t p;
    uint32_t t = to_fallback(&p, 0);
    const uint32_t want[] = {15000, 30000, 60000, 120000, 120000, 120000};
    wpol_out_t o = tick(&p, t);
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        assert_int_equal(o.wake_in_ms, want[i]);
        t += o.wake_in_ms;
        o = tick(&p, t);
        assert_true(o.connect);
        assert_int_equal(o.radio, WPOL_RADIO_APSTA);
        assert_false(o.radio_changed);
        t += 3000u;
        o = ev(&p, WPOL_EV_STA_DISCONNECTED, t);
        assert_int_equal(o.phase, WPOL_PHASE_FALLBACK);
    }
}

static void test_wifi_client_on_the_ap_slows_retries(void **state)
{
    (void)state;
    wpol_t p;
    uint32_t t = to_fallback(&p, 0);
    /* 15 s retry planned; a phone joins 5 s later: pushed to 300 s after it. */
    wpol_out_t o = ev(&p, WPOL_EV_AP_CLIENT_JOINED, t + 5000u);
    assert_int_equal(o.wake_in_ms, WPOL_BG_RETRY_CLIENT_MS);
    o = tick(&p, t + 15000u);
    assert_false(o.connect);
    t += 5000u + WPOL_BG_RETRY_CLIENT_MS;
    o = tick(&p, t);
    assert_true(o.connect);
    o = ev(&p, WPOL_EV_STA_DISCONNECTED, t + 1000u);
    assert_int_equal(o.wake_in_ms, WPOL_BG_RETRY_CLIENT_MS);
    /* Client gone: the next failure uses the normal schedule (30 s, the second). */
    o = ev(&p, WPOL_EV_AP_CLIENT_LEFT, t + 2000u);
    t += 1000u + WPOL_BG_RETRY_CLIENT_MS;
    o = tick(&p, t);
    assert_true(o.connect);
    o = ev(&p, WPOL_EV_STA_DISCONNECTED, t + 1000u);
    assert_int_equal(o.wake_in_ms, 60000);
    /* More LEFT than JOINED does not underflow. */
    o = ev(&p, WPOL_EV_AP_CLIENT_LEFT, t + 2000u);
    o = ev(&p, WPOL_EV_AP_CLIENT_LEFT, t + 2000u);
    assert_int_equal(p.ap_clients, 0);
    /* A later retry than the client rule asks for is left alone. */
    wpol_t q;
    uint32_t u = to_fallback(&q, 0);
    for (unsigned i = 0; i < 4u; i++) {
        o = tick(&q, u);
        u += o.wake_in_ms;
        o = tick(&q, u);
        assert_true(o.connect);
        o = ev(&q, WPOL_EV_STA_DISCONNECTED, u);
    }
    assert_int_equal(o.wake_in_ms, 120000);
    o = ev(&q, WPOL_EV_AP_CLIENT_JOINED, u);
    assert_int_equal(o.wake_in_ms, WPOL_BG_RETRY_CLIENT_MS);
}

static void test_wifi_fallback_ap_closes_after_ip_held_60_s(void **state)
{
    (void)state;
    wpol_t p;
    uint32_t t = to_fallback(&p, 0);
    t += WPOL_BG_RETRY_FIRST_MS;
    wpol_out_t o = tick(&p, t);
    assert_true(o.connect);
    o = ev(&p, WPOL_EV_STA_GOT_IP, t + 2000u);
    assert_int_equal(o.phase, WPOL_PHASE_LEAVING_AP);
    assert_int_equal(o.radio, WPOL_RADIO_APSTA);
    assert_false(o.radio_changed);
    assert_int_equal(o.wake_in_ms, WPOL_AP_HOLD_MS);
    o = tick(&p, t + 2000u + WPOL_AP_HOLD_MS - 1u);
    assert_int_equal(o.radio, WPOL_RADIO_APSTA);
    o = tick(&p, t + 2000u + WPOL_AP_HOLD_MS);
    assert_int_equal(o.phase, WPOL_PHASE_ONLINE);
    assert_int_equal(o.radio, WPOL_RADIO_STA);
    assert_true(o.radio_changed);
    assert_false(o.connect);
    assert_int_equal(o.wake_in_ms, WPOL_NO_WAKE);
}

static void test_wifi_fallback_ap_waits_for_its_client(void **state)
{
    (void)state;
    wpol_t p;
    uint32_t t = to_fallback(&p, 0);
    wpol_out_t o = ev(&p, WPOL_EV_AP_CLIENT_JOINED, t);
    t += WPOL_BG_RETRY_CLIENT_MS;
    o = tick(&p, t);
    assert_true(o.connect);
    uint32_t ip_at = t + 1000u;
    o = ev(&p, WPOL_EV_STA_GOT_IP, ip_at);
    assert_int_equal(o.wake_in_ms, WPOL_AP_HOLD_CLIENT_MAX_MS);
    o = tick(&p, ip_at + WPOL_AP_HOLD_MS + 5000u);
    assert_int_equal(o.phase, WPOL_PHASE_LEAVING_AP);
    /* The client leaves after the hold: the AP closes at once. */
    o = ev(&p, WPOL_EV_AP_CLIENT_LEFT, ip_at + WPOL_AP_HOLD_MS + 6000u);
    assert_int_equal(o.phase, WPOL_PHASE_ONLINE);
    assert_int_equal(o.radio, WPOL_RADIO_STA);
    assert_true(o.radio_changed);

    /* A client that never leaves: 10 minutes at most. */
    wpol_t q;
    t = to_fallback(&q, 0);
    o = ev(&q, WPOL_EV_AP_CLIENT_JOINED, t);
    t += WPOL_BG_RETRY_CLIENT_MS;
    o = tick(&q, t);
    o = ev(&q, WPOL_EV_STA_GOT_IP, t);
    o = tick(&q, t + WPOL_AP_HOLD_CLIENT_MAX_MS - 1u);
    assert_int_equal(o.radio, WPOL_RADIO_APSTA);
    o = tick(&q, t + WPOL_AP_HOLD_CLIENT_MAX_MS);
    assert_int_equal(o.radio, WPOL_RADIO_STA);
    assert_int_equal(q.ap_clients, 0);
}

static void test_wifi_link_lost_while_leaving_ap_keeps_the_ap(void **state)
{
    (void)state;
    wpol_t p;
    uint32_t t = to_fallback(&p, 0) + WPOL_BG_RETRY_FIRST_MS;
    wpol_out_t o = tick(&p, t);
    o = ev(&p, WPOL_EV_STA_GOT_IP, t);
    o = ev(&p, WPOL_EV_STA_DISCONNECTED, t + 30000u);
    assert_int_equal(o.phase, WPOL_PHASE_FALLBACK);
    assert_int_equal(o.radio, WPOL_RADIO_APSTA);
    assert_true(o.connect); /* a link that worked is retried at once */
    /* The hold does not carry on. */
    o = tick(&p, t + WPOL_AP_HOLD_MS + 1u);
    assert_int_equal(o.radio, WPOL_RADIO_APSTA);
    /* IP lost (still associated) during the hold: back to waiting, no connect. */
    o = ev(&p, WPOL_EV_STA_GOT_IP, t + 70000u);
    assert_int_equal(o.phase, WPOL_PHASE_LEAVING_AP);
    o = ev(&p, WPOL_EV_STA_LOST_IP, t + 80000u);
    assert_int_equal(o.phase, WPOL_PHASE_FALLBACK);
    assert_false(o.connect);
    assert_int_equal(o.wake_in_ms, WPOL_NO_WAKE);
    o = ev(&p, WPOL_EV_STA_GOT_IP, t + 81000u);
    assert_int_equal(o.phase, WPOL_PHASE_LEAVING_AP);
    assert_int_equal(o.wake_in_ms, WPOL_AP_HOLD_MS);
}

static void test_wifi_online_drop_retries_at_once_and_restarts_the_count(void **state)
{
    (void)state;
    wpol_t p = joining(0, true);
    /* Four failures, then online: the count starts again after a drop. */
    uint32_t t = 0;
    for (unsigned i = 0; i < 4u; i++) {
        wpol_out_t o = ev(&p, WPOL_EV_STA_DISCONNECTED, t);
        t += o.wake_in_ms;
        o = tick(&p, t);
    }
    wpol_out_t o = ev(&p, WPOL_EV_STA_GOT_IP, t);
    assert_int_equal(o.phase, WPOL_PHASE_ONLINE);
    uint32_t drop = t + 3600000u;
    o = ev(&p, WPOL_EV_STA_DISCONNECTED, drop);
    assert_int_equal(o.phase, WPOL_PHASE_JOINING);
    assert_true(o.connect);
    assert_int_equal(o.radio, WPOL_RADIO_STA);
    assert_int_equal(o.wake_in_ms, WPOL_FALLBACK_MS);
    o = ev(&p, WPOL_EV_STA_DISCONNECTED, drop + 100u);
    assert_int_equal(o.phase, WPOL_PHASE_JOINING);
    assert_int_equal(o.wake_in_ms, WPOL_RETRY_FIRST_MS);
    /* The fallback timer runs from the drop. */
    o = tick(&p, drop + WPOL_FALLBACK_MS - 1u);
    assert_int_equal(o.phase, WPOL_PHASE_JOINING);
    o = tick(&p, drop + WPOL_FALLBACK_MS);
    assert_int_equal(o.phase, WPOL_PHASE_FALLBACK);
}

static void test_wifi_online_ip_lost_waits_then_falls_back(void **state)
{
    (void)state;
    wpol_t p = joining(0, true);
    wpol_out_t o = ev(&p, WPOL_EV_STA_GOT_IP, 3000);
    o = ev(&p, WPOL_EV_STA_LOST_IP, 100000);
    assert_int_equal(o.phase, WPOL_PHASE_JOINING);
    assert_false(o.connect);
    assert_int_equal(o.wake_in_ms, WPOL_FALLBACK_MS);
    o = ev(&p, WPOL_EV_STA_GOT_IP, 105000);
    assert_int_equal(o.phase, WPOL_PHASE_ONLINE);
    o = ev(&p, WPOL_EV_STA_LOST_IP, 200000);
    o = tick(&p, 200000u + WPOL_FALLBACK_MS);
    assert_int_equal(o.phase, WPOL_PHASE_FALLBACK);
    /* LOST_IP while joining means nothing more. */
    wpol_t q = joining(0, true);
    o = ev(&q, WPOL_EV_STA_LOST_IP, 10);
    assert_false(o.phase_changed || o.connect);
}

static void test_wifi_mode_both_keeps_ap_and_station(void **state)
{
    (void)state;
    wpol_t p;
    wpol_config_t c = conf(WPOL_WANT_BOTH, true, false);
    wpol_out_t o;
    assert_true(wpol_start(&p, &c, 0, &o));
    assert_int_equal(o.radio, WPOL_RADIO_APSTA);
    assert_true(o.connect);
    assert_int_equal(o.phase, WPOL_PHASE_JOINING);
    assert_int_equal(o.wake_in_ms, WPOL_NO_WAKE); /* no fallback timer */
    uint32_t t = 0;
    const uint32_t want[] = {15000, 30000, 60000, 120000, 120000};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        o = ev(&p, WPOL_EV_STA_DISCONNECTED, t);
        assert_int_equal(o.phase, WPOL_PHASE_JOINING);
        assert_int_equal(o.wake_in_ms, want[i]);
        t += o.wake_in_ms;
        o = tick(&p, t);
        assert_true(o.connect);
    }
    o = ev(&p, WPOL_EV_STA_GOT_IP, t);
    assert_int_equal(o.phase, WPOL_PHASE_ONLINE);
    assert_int_equal(o.radio, WPOL_RADIO_APSTA);
    o = tick(&p, t + 3600000u);
    assert_int_equal(o.radio, WPOL_RADIO_APSTA);
    o = ev(&p, WPOL_EV_STA_DISCONNECTED, t + 3600000u);
    assert_true(o.connect);
    assert_int_equal(o.radio, WPOL_RADIO_APSTA);
    assert_false(o.radio_changed);
}

static void test_wifi_clock_wrap_around(void **state)
{
    (void)state;
    uint32_t t0 = UINT32_MAX - 10000u;
    wpol_t p = joining(t0, true);
    wpol_out_t o = tick(&p, t0 + 20000u); /* wrapped */
    assert_int_equal(o.phase, WPOL_PHASE_JOINING);
    assert_int_equal(o.wake_in_ms, 10000);
    o = tick(&p, t0 + WPOL_FALLBACK_MS);
    assert_int_equal(o.phase, WPOL_PHASE_FALLBACK);
    o = ev(&p, WPOL_EV_STA_DISCONNECTED, t0 + 31000u);
    assert_int_equal(o.wake_in_ms, WPOL_BG_RETRY_FIRST_MS);
    o = tick(&p, t0 + 31000u + WPOL_BG_RETRY_FIRST_MS);
    assert_true(o.connect);
}

static void test_wifi_bad_arguments(void **state)
{
    (void)state;
    wpol_t p;
    wpol_out_t o;
    wpol_config_t c = conf(WPOL_WANT_STA, true, true);
    assert_false(wpol_start(NULL, &c, 0, &o));
    assert_false(wpol_start(&p, NULL, 0, &o));
    assert_false(wpol_start(&p, &c, 0, NULL));
    c.want = WPOL_WANT_COUNT_;
    assert_false(wpol_start(&p, &c, 0, &o));
    c.want = WPOL_WANT_STA;
    assert_true(wpol_start(&p, &c, 0, &o));
    wpol_t before = p;
    wpol_out_t o_before = o;
    assert_false(wpol_event(&p, WPOL_EV_COUNT_, 10, &o));
    assert_false(wpol_event(&p, (wpol_event_t)-1, 10, &o));
    assert_false(wpol_event(NULL, WPOL_EV_STA_GOT_IP, 10, &o));
    assert_false(wpol_event(&p, WPOL_EV_STA_GOT_IP, 10, NULL));
    assert_false(wpol_tick(NULL, 10, &o));
    assert_false(wpol_tick(&p, 10, NULL));
    assert_memory_equal(&p, &before, sizeof p);
    assert_memory_equal(&o, &o_before, sizeof o);
    for (unsigned i = 0; i < (unsigned)WPOL_PHASE_COUNT_; i++) {
        assert_string_not_equal(wpol_phase_name((wpol_phase_t)i), "?");
    }
    assert_string_equal(wpol_phase_name(WPOL_PHASE_COUNT_), "?");
    assert_string_equal(wpol_radio_name(WPOL_RADIO_APSTA), "APSTA");
    assert_string_equal(wpol_radio_name(WPOL_RADIO_COUNT_), "?");
    for (unsigned i = 0; i < (unsigned)WPOL_ERR_COUNT_; i++) {
        assert_true(strlen(wpol_strerror((wpol_err_t)i)) > 1u);
    }
    assert_string_equal(wpol_strerror(WPOL_ERR_COUNT_), "unknown error");
}

/* Invariants over random event sequences, every mode. */
static void check_invariants(const wpol_t *p, const wpol_t *before, wpol_event_t e, bool was_event,
                             const wpol_out_t *o)
{
    assert_int_equal(o->radio, p->radio);
    assert_int_equal(o->phase, p->phase);
    assert_int_equal(p->phase == WPOL_PHASE_AP_ONLY, p->radio == WPOL_RADIO_AP);
    const wpol_config_t *c = &p->cfg;
    if (c->sta_configured && c->want == WPOL_WANT_STA && !c->ap_fallback) {
        assert_int_equal(p->radio, WPOL_RADIO_STA);
    }
    if (c->sta_configured && c->want == WPOL_WANT_BOTH) {
        assert_int_equal(p->radio, WPOL_RADIO_APSTA);
    }
    if (p->phase == WPOL_PHASE_FALLBACK || p->phase == WPOL_PHASE_LEAVING_AP) {
        assert_int_equal(p->radio, WPOL_RADIO_APSTA);
        assert_int_equal(c->want, WPOL_WANT_STA);
        assert_true(c->ap_fallback);
    }
    if (o->connect) {
        assert_int_not_equal(p->radio, WPOL_RADIO_AP);
        assert_true(p->attempt_pending);
        /* Never a second attempt on top of one without an outcome. */
        assert_true(!before->attempt_pending || (was_event && e == WPOL_EV_STA_DISCONNECTED));
    }
    /* Never stuck: a station with no attempt running has one planned. */
    if ((p->phase == WPOL_PHASE_JOINING || p->phase == WPOL_PHASE_FALLBACK) &&
        !p->attempt_pending) {
        assert_true(p->retry_due);
        assert_true(o->wake_in_ms <= WPOL_BG_RETRY_CLIENT_MS);
    }
    if (p->phase == WPOL_PHASE_ONLINE || p->phase == WPOL_PHASE_LEAVING_AP ||
        p->phase == WPOL_PHASE_AP_ONLY) {
        assert_false(p->retry_due);
    }
    if (p->radio == WPOL_RADIO_STA) {
        assert_int_equal(p->ap_clients, 0);
    }
}

static void test_wifi_random_sequences_keep_the_invariants(void **state)
{
    (void)state;
    uint32_t x = 2026u;
    for (unsigned run = 0; run < 300u; run++) {
        x = x * 1103515245u + 12345u;
        wpol_config_t c =
            conf((wpol_want_t)((x >> 16) % 3u), ((x >> 20) & 1u) != 0u, ((x >> 21) & 1u) != 0u);
        uint32_t now = x; /* any start, wrap included */
        wpol_t p;
        wpol_out_t o;
        assert_true(wpol_start(&p, &c, now, &o));
        for (unsigned step = 0; step < 400u; step++) {
            x = x * 1103515245u + 12345u;
            uint32_t r = x >> 8;
            now += r % 4u == 0u ? (r >> 4) % 400000u : (r >> 4) % 3000u;
            wpol_t before = p;
            bool is_event = (r & 0x30u) != 0u;
            wpol_event_t e = (wpol_event_t)((r >> 12) % (unsigned)WPOL_EV_COUNT_);
            if (is_event) {
                assert_true(wpol_event(&p, e, now, &o));
            } else {
                assert_true(wpol_tick(&p, now, &o));
            }
            check_invariants(&p, &before, e, is_event, &o);
        }
    }
}

/* ------------------------------------------------------------------------ */

static void test_wifi_device_password_golden_and_alphabet(void **state)
{
    (void)state;
    const uint8_t rnd[8] = {0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef};
    char pw[WPOL_DEVICE_PASSWORD_LEN + 1u];
    assert_true(wpol_device_password(rnd, sizeof rnd, pw, sizeof pw));
    assert_string_equal(pw, "26jn-ctwb-ph8y");
    assert_true(wpol_device_password_valid(pw));
    const uint8_t zero[8] = {0};
    const uint8_t ones[9] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    assert_true(wpol_device_password(zero, sizeof zero, pw, sizeof pw));
    assert_string_equal(pw, "2222-2222-2222");
    assert_true(wpol_device_password(ones, sizeof ones, pw, sizeof pw));
    assert_string_equal(pw, "zzzz-zzzz-zzzz");
    /* Only the first 60 bits count: the last nibble and extra bytes do not. */
    uint8_t more[12] = {0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xe0, 1, 2, 3, 4};
    assert_true(wpol_device_password(more, sizeof more, pw, sizeof pw));
    assert_string_equal(pw, "26jn-ctwb-ph8y");

    /* Many draws: always valid, never an ambiguous letter, few repeats. */
    uint32_t x = 12345u;
    char seen[64][WPOL_DEVICE_PASSWORD_LEN + 1u];
    for (size_t n = 0; n < 64u; n++) {
        uint8_t r[8];
        for (size_t i = 0; i < sizeof r; i++) {
            x = x * 1103515245u + 12345u;
            r[i] = (uint8_t)(x >> 24);
        }
        assert_true(wpol_device_password(r, sizeof r, seen[n], sizeof seen[n]));
        assert_int_equal(strlen(seen[n]), WPOL_DEVICE_PASSWORD_LEN);
        assert_true(wpol_device_password_valid(seen[n]));
        assert_true(wpol_passphrase_valid(seen[n], NULL, 0));
        assert_null(strpbrk(seen[n], "01loOIL"));
        for (size_t k = 0; k < n; k++) {
            assert_string_not_equal(seen[k], seen[n]);
        }
    }
}

static void test_wifi_device_password_refuses_bad_input(void **state)
{
    (void)state;
    const uint8_t rnd[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    char pw[WPOL_DEVICE_PASSWORD_LEN + 1u];
    memset(pw, 'Q', sizeof pw);
    assert_false(wpol_device_password(rnd, 7, pw, sizeof pw));
    assert_false(wpol_device_password(NULL, 8, pw, sizeof pw));
    assert_false(wpol_device_password(rnd, 8, NULL, sizeof pw));
    assert_false(wpol_device_password(rnd, 8, pw, WPOL_DEVICE_PASSWORD_LEN));
    for (size_t i = 0; i < sizeof pw; i++) {
        assert_int_equal(pw[i], 'Q');
    }
    const char *bad[] = {"",
                         "26jn-ctwb-ph8",
                         "26jn-ctwb-ph8yy",
                         "26jn-ctwb-ph8y ",
                         "26jnactwb-ph8y",
                         "26jn-ctwb-ph0y",
                         "26jn-ctwb-ph1y",
                         "26jn-ctwb-phly",
                         "26jn-ctwb-phoy",
                         "26JN-ctwb-ph8y",
                         "26jn--twb-ph8y",
                         "-26j-nctw-bph8"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (wpol_device_password_valid(bad[i])) {
            fail_msg("accepted \"%s\"", bad[i]);
        }
    }
    assert_false(wpol_device_password_valid(NULL));
}

static void test_wifi_passphrase_rules(void **state)
{
    (void)state;
    char why[80];
    assert_true(wpol_passphrase_valid("12345678", why, sizeof why));
    char s63[64];
    memset(s63, '~', 63);
    s63[63] = '\0';
    assert_true(wpol_passphrase_valid(s63, why, sizeof why));
    char s64[65];
    memset(s64, ' ', 64);
    s64[64] = '\0';
    assert_false(wpol_passphrase_valid(s64, why, sizeof why));
    assert_string_equal(why, "is longer than 63 characters (WPA2)");
    assert_false(wpol_passphrase_valid("1234567", why, sizeof why));
    assert_string_equal(why, "is shorter than 8 characters (WPA2)");
    assert_false(wpol_passphrase_valid("", why, sizeof why));
    assert_false(wpol_passphrase_valid("secret\tpass", why, sizeof why));
    assert_string_equal(why, "has a character that is not printable ASCII (WPA2)");
    assert_false(wpol_passphrase_valid("mot de pass\xc3\xa9", why, sizeof why));
    assert_null(strstr(why, "mot"));
    assert_false(wpol_passphrase_valid(NULL, why, sizeof why));
    assert_false(wpol_passphrase_valid("short", NULL, 0));
    assert_false(wpol_passphrase_valid("short", why, 1));
    assert_string_equal(why, "");
}

static void test_wifi_default_ssid_and_hostname(void **state)
{
    (void)state;
    char ssid[CFG_WIFI_SSID_LEN];
    assert_true(wpol_default_ssid(mac, ssid, sizeof ssid));
    assert_string_equal(ssid, "tinybms-bridge-1A2B");
    char small[20];
    assert_true(wpol_default_ssid(mac, small, sizeof small));
    assert_string_equal(small, "tinybms-bridge-1A2B");
    memset(small, 'Q', sizeof small);
    assert_false(wpol_default_ssid(mac, small, 19));
    assert_int_equal(small[0], 'Q');
    assert_false(wpol_default_ssid(NULL, small, sizeof small));
    assert_false(wpol_default_ssid(mac, NULL, sizeof small));

    cfg_t c;
    cfg_defaults(&c);
    assert_string_equal(wpol_hostname(&c), "tinybms-bridge");
    assert_string_equal(wpol_hostname(NULL), "tinybms-bridge");
    c = parse("{\"wifi\":{\"sta_hostname\":\"battery-1\"}}");
    assert_string_equal(wpol_hostname(&c), "battery-1");
}

static void test_wifi_ap_settings_defaults_use_the_device_password(void **state)
{
    (void)state;
    cfg_t c;
    cfg_defaults(&c);
    wpol_ap_t ap;
    wpol_error_t err;
    assert_int_equal(wpol_ap_settings(&c, mac, "26jn-ctwb-ph8y", &ap, &err), WPOL_OK);
    assert_string_equal(ap.ssid, "tinybms-bridge-1A2B");
    assert_string_equal(ap.password, "26jn-ctwb-ph8y");
    assert_true(ap.device_password);
    assert_int_equal(ap.channel, 1);
    /* An empty configured password also means the device's (never open). */
    c = parse("{\"wifi\":{\"ap_fallback\":{\"password\":\"\"}}}");
    assert_int_equal(wpol_ap_settings(&c, mac, "26jn-ctwb-ph8y", &ap, &err), WPOL_OK);
    assert_true(ap.device_password);
    /* No valid device password: refused, out untouched. */
    wpol_ap_t before;
    memset(&before, 0x5a, sizeof before);
    ap = before;
    const char *bad[] = {NULL, "", "tinybms123", "26jn-ctwb-ph8"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(wpol_ap_settings(&c, mac, bad[i], &ap, &err), WPOL_ERR_PASSWORD);
        assert_string_equal(err.key, "wifi.ap_fallback.password");
        assert_string_equal(err.message, "wifi.ap_fallback.password: not set, and the "
                                         "per-device password is missing or damaged");
        assert_memory_equal(&ap, &before, sizeof ap);
    }
}

static void test_wifi_ap_settings_from_the_configuration(void **state)
{
    (void)state;
    cfg_t c = parse("{\"wifi\":{\"ap_fallback\":{\"ssid\":\"Garage BMS\","
                    "\"password\":\"correct horse\",\"channel\":11}}}");
    wpol_ap_t ap;
    wpol_error_t err;
    assert_int_equal(wpol_ap_settings(&c, mac, NULL, &ap, &err), WPOL_OK);
    assert_string_equal(ap.ssid, "Garage BMS");
    assert_string_equal(ap.password, "correct horse");
    assert_false(ap.device_password);
    assert_int_equal(ap.channel, 11);
    /* 32-byte name and 63-character password, the limits. */
    c = parse("{\"wifi\":{\"ap_fallback\":{\"ssid\":\"abcdefghijabcdefghijabcdefghijab\","
              "\"password\":\"abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabc\","
              "\"channel\":13}}}");
    assert_int_equal(wpol_ap_settings(&c, mac, NULL, &ap, &err), WPOL_OK);
    assert_int_equal(strlen(ap.ssid), 32);
    assert_int_equal(strlen(ap.password), 63);
    assert_int_equal(ap.channel, 13);
}

static void test_wifi_ap_settings_refuse_bad_values(void **state)
{
    (void)state;
    cfg_t c;
    wpol_ap_t ap, before;
    memset(&before, 0x5a, sizeof before);
    wpol_error_t err;
    /* Values config.c would refuse, set behind its back. */
    cfg_defaults(&c);
    c.esp32.present |= (uint32_t)1u << ESP32_KEY_WIFI_AP_PASSWORD;
    (void)strcpy(c.esp32.wifi.ap_password, "secret7");
    ap = before;
    assert_int_equal(wpol_ap_settings(&c, mac, "26jn-ctwb-ph8y", &ap, &err), WPOL_ERR_PASSWORD);
    assert_string_equal(err.message,
                        "wifi.ap_fallback.password: is shorter than 8 characters (WPA2)");
    assert_null(strstr(err.message, "secret7"));
    assert_memory_equal(&ap, &before, sizeof ap);
    memset(c.esp32.wifi.ap_password, 'x', sizeof c.esp32.wifi.ap_password); /* no NUL */
    assert_int_equal(wpol_ap_settings(&c, mac, NULL, &ap, &err), WPOL_ERR_PASSWORD);
    assert_string_equal(err.message,
                        "wifi.ap_fallback.password: is longer than 63 characters (WPA2)");
    (void)strcpy(c.esp32.wifi.ap_password, "pass\nword");
    assert_int_equal(wpol_ap_settings(&c, mac, NULL, &ap, &err), WPOL_ERR_PASSWORD);

    cfg_defaults(&c);
    c.esp32.present |= (uint32_t)1u << ESP32_KEY_WIFI_AP_SSID;
    assert_int_equal(wpol_ap_settings(&c, mac, "26jn-ctwb-ph8y", &ap, &err), WPOL_ERR_SSID);
    assert_string_equal(err.message, "wifi.ap_fallback.ssid: must have 1 to 32 bytes");
    memset(c.esp32.wifi.ap_ssid, 'x', sizeof c.esp32.wifi.ap_ssid); /* 33 bytes, no NUL */
    assert_int_equal(wpol_ap_settings(&c, mac, "26jn-ctwb-ph8y", &ap, &err), WPOL_ERR_SSID);
    assert_memory_equal(&ap, &before, sizeof ap);

    const int32_t channels[] = {0, 14, -1, 165};
    for (size_t i = 0; i < sizeof channels / sizeof channels[0]; i++) {
        cfg_defaults(&c);
        c.esp32.present |= (uint32_t)1u << ESP32_KEY_WIFI_AP_CHANNEL;
        c.esp32.wifi.ap_channel = channels[i];
        assert_int_equal(wpol_ap_settings(&c, mac, "26jn-ctwb-ph8y", &ap, &err), WPOL_ERR_CHANNEL);
        assert_string_equal(err.message, "wifi.ap_fallback.channel: the channel must be 1 to 13");
        assert_memory_equal(&ap, &before, sizeof ap);
    }
    assert_int_equal(wpol_ap_settings(NULL, mac, NULL, &ap, &err), WPOL_ERR_ARG);
    assert_int_equal(wpol_ap_settings(&c, NULL, NULL, &ap, &err), WPOL_ERR_ARG);
    assert_int_equal(wpol_ap_settings(&c, mac, NULL, NULL, NULL), WPOL_ERR_ARG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wifi_config_from_cfg_defaults_and_modes),
        cmocka_unit_test(test_wifi_no_network_or_mode_ap_is_access_point_only),
        cmocka_unit_test(test_wifi_station_joins_and_stays_online),
        cmocka_unit_test(test_wifi_falls_back_after_five_failed_attempts),
        cmocka_unit_test(test_wifi_falls_back_after_30_s_without_ip),
        cmocka_unit_test(test_wifi_never_falls_back_when_disabled),
        cmocka_unit_test(test_wifi_background_retries_back_off_to_two_minutes),
        cmocka_unit_test(test_wifi_client_on_the_ap_slows_retries),
        cmocka_unit_test(test_wifi_fallback_ap_closes_after_ip_held_60_s),
        cmocka_unit_test(test_wifi_fallback_ap_waits_for_its_client),
        cmocka_unit_test(test_wifi_link_lost_while_leaving_ap_keeps_the_ap),
        cmocka_unit_test(test_wifi_online_drop_retries_at_once_and_restarts_the_count),
        cmocka_unit_test(test_wifi_online_ip_lost_waits_then_falls_back),
        cmocka_unit_test(test_wifi_mode_both_keeps_ap_and_station),
        cmocka_unit_test(test_wifi_clock_wrap_around),
        cmocka_unit_test(test_wifi_bad_arguments),
        cmocka_unit_test(test_wifi_random_sequences_keep_the_invariants),
        cmocka_unit_test(test_wifi_device_password_golden_and_alphabet),
        cmocka_unit_test(test_wifi_device_password_refuses_bad_input),
        cmocka_unit_test(test_wifi_passphrase_rules),
        cmocka_unit_test(test_wifi_default_ssid_and_hostname),
        cmocka_unit_test(test_wifi_ap_settings_defaults_use_the_device_password),
        cmocka_unit_test(test_wifi_ap_settings_from_the_configuration),
        cmocka_unit_test(test_wifi_ap_settings_refuse_bad_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
