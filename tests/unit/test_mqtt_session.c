/* Tests of mqtt_session.h: which messages one pass over a status snapshot
 * sends, and when (discovery on change, on-change topics, the periodic
 * values, stale snapshots, a broken connection), through a recording
 * send function. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "fixture_status.h"
#include "mqtt_session.h"

#define MAX_SENT 400u

typedef struct {
    size_t n;
    char topic[MAX_SENT][MQTT_TOPICS_TOPIC_MAX];
    char payload[MAX_SENT][64];
    bool retain[MAX_SENT];
    size_t fail_after; /* 0 = never; else the connection breaks at this message */
} recorder_t;

static recorder_t rec;
static status_t st;
static cfg_t cfg;

static bool record(void *ctx, const char *topic, const char *payload, bool retain)
{
    recorder_t *r = ctx;
    if (r->n < MAX_SENT) {
        (void)snprintf(r->topic[r->n], sizeof r->topic[0], "%s", topic);
        (void)snprintf(r->payload[r->n], sizeof r->payload[0], "%s", payload);
        r->retain[r->n] = retain;
    }
    r->n++;
    return r->fail_after == 0 || r->n < r->fail_after;
}

/* How many recorded topics contain part. */
static size_t count_with(const char *part)
{
    size_t c = 0;
    for (size_t i = 0; i < rec.n && i < MAX_SENT; i++) {
        c += strstr(rec.topic[i], part) != NULL;
    }
    return c;
}

static const char *payload_of(const char *topic)
{
    for (size_t i = 0; i < rec.n && i < MAX_SENT; i++) {
        if (strcmp(rec.topic[i], topic) == 0) {
            return rec.payload[i];
        }
    }
    return NULL;
}

static int setup(void **state)
{
    (void)state;
    static const status_cell_t cells[] = {
        {1, 3323, false, false}, {2, 3326, false, false}, {3, 3320, false, false}};
    fixture_status(&st, cells, 3);
    st.version = "0.1.0";
    cfg_defaults(&cfg);
    (void)snprintf(cfg.mqtt.root_topic, sizeof cfg.mqtt.root_topic, "victron/tinybms");
    cfg.mqtt.discovery = true;
    cfg.mqtt.interval_ms = 5000;
    memset(&rec, 0, sizeof rec);
    return 0;
}

static void pass(mqtt_session_t *s, uint64_t seq, uint64_t now_ms)
{
    mqtt_session_pass_t p = mqtt_session_publish(s, &st, seq, now_ms, 1700000000000u, record, &rec);
    assert_int_equal(p.discovery_err, MQTT_TOPICS_OK);
    assert_int_equal(p.status_err, MQTT_TOPICS_OK);
    assert_int_equal(p.sent, rec.n);
}

static void test_first_pass_sends_discovery_on_change_and_periodic_topics(void **state)
{
    (void)state;
    mqtt_session_t s = {0};
    assert_true(mqtt_session_configure(&s, &cfg, "0.1.0", 1000));
    assert_string_equal(s.avail, "victron/tinybms/availability");
    mqtt_session_connected(&s);
    pass(&s, 1, 1000);
    assert_true(count_with("homeassistant/sensor/") > 5);
    assert_string_equal(payload_of("victron/tinybms/data_valid"), "true");
    assert_non_null(payload_of("victron/tinybms/voltage"));
    assert_non_null(payload_of("victron/tinybms/cells/3"));
    mqtt_session_free(&s);
}

static void test_nothing_unchanged_is_sent_again_before_the_interval(void **state)
{
    (void)state;
    mqtt_session_t s = {0};
    assert_true(mqtt_session_configure(&s, &cfg, "0.1.0", 1000));
    pass(&s, 1, 1000);
    rec.n = 0;
    pass(&s, 2, 1500);
    assert_int_equal(count_with("homeassistant/"), 0);
    assert_null(payload_of("victron/tinybms/voltage"));
    assert_null(payload_of("victron/tinybms/data_valid"));
    /* A changed alarm goes out at once, off the periodic cadence. */
    st.alarms.cond[2].level = STATUS_LEVEL_ALARM;
    st.alarms.worst = STATUS_LEVEL_ALARM;
    pass(&s, 3, 2000);
    assert_string_equal(payload_of("victron/tinybms/alarms/low_voltage"), "alarm");
    assert_null(payload_of("victron/tinybms/voltage"));
    rec.n = 0;
    pass(&s, 4, 6000); /* 5 s after the first pass */
    assert_non_null(payload_of("victron/tinybms/voltage"));
    assert_null(payload_of("victron/tinybms/alarms/low_voltage"));
    mqtt_session_free(&s);
}

static void test_a_snapshot_that_stops_moving_is_published_as_stale(void **state)
{
    (void)state;
    mqtt_session_t s = {0};
    assert_true(mqtt_session_configure(&s, &cfg, "0.1.0", 0));
    pass(&s, 7, 0);
    rec.n = 0;
    pass(&s, 7, MQTT_SESSION_STATUS_OLD_MS - 1u);
    assert_null(payload_of("victron/tinybms/data_valid"));
    pass(&s, 7, MQTT_SESSION_STATUS_OLD_MS);
    assert_string_equal(payload_of("victron/tinybms/data_valid"), "false");
    assert_string_equal(payload_of("victron/tinybms/data_state"), "stale");
    mqtt_session_free(&s);
}

static void test_values_follow_a_recovery_at_once(void **state)
{
    (void)state;
    mqtt_session_t s = {0};
    st.data_valid = false;
    st.data_state = "waiting";
    assert_true(mqtt_session_configure(&s, &cfg, "0.1.0", 0));
    pass(&s, 1, 0);
    assert_null(payload_of("victron/tinybms/voltage"));
    rec.n = 0;
    st.data_valid = true;
    st.data_state = "valid";
    pass(&s, 2, 1000); /* well before the 5 s interval */
    assert_string_equal(payload_of("victron/tinybms/data_valid"), "true");
    assert_non_null(payload_of("victron/tinybms/voltage"));
    mqtt_session_free(&s);
}

static void test_discovery_follows_its_key_and_every_connect(void **state)
{
    (void)state;
    mqtt_session_t s = {0};
    assert_true(mqtt_session_configure(&s, &cfg, "0.1.0", 0));
    pass(&s, 1, 0);
    size_t first = count_with("homeassistant/");
    assert_true(first > 0);
    rec.n = 0;
    st.cells[3] = (status_cell_t){4, 3322, false, false};
    st.cells_n = 4;
    st.cell_count = known(4);
    pass(&s, 2, 500);
    /* Only the new cell's document differs; the others are unchanged. */
    assert_int_equal(count_with("homeassistant/"), 1);
    assert_true(count_with("cell_4/config") == 1);
    rec.n = 0;
    mqtt_session_connected(&s);
    pass(&s, 3, 1000);
    assert_int_equal(count_with("homeassistant/"), first + 1);
    mqtt_session_free(&s);
}

static void test_discovery_off_sends_no_documents(void **state)
{
    (void)state;
    mqtt_session_t s = {0};
    cfg.mqtt.discovery = false;
    assert_true(mqtt_session_configure(&s, &cfg, "0.1.0", 0));
    pass(&s, 1, 0);
    assert_int_equal(count_with("homeassistant/"), 0);
    assert_non_null(payload_of("victron/tinybms/voltage"));
    mqtt_session_free(&s);
}

static void test_a_broken_connection_stops_the_pass_and_discovery_is_sent_again(void **state)
{
    (void)state;
    mqtt_session_t s = {0};
    assert_true(mqtt_session_configure(&s, &cfg, "0.1.0", 0));
    rec.fail_after = 3;
    mqtt_session_pass_t p = mqtt_session_publish(&s, &st, 1, 0, 0, record, &rec);
    assert_true(p.broken);
    assert_int_equal(rec.n, 3);
    assert_int_equal(p.sent, 3);
    assert_int_equal(s.disc_key, 0);
    /* The reconnect starts over. */
    rec = (recorder_t){0};
    mqtt_session_connected(&s);
    pass(&s, 2, 100);
    assert_true(count_with("homeassistant/") > 5);
    assert_non_null(payload_of("victron/tinybms/voltage"));
    mqtt_session_free(&s);
}

static void test_same_settings_sees_every_client_setting(void **state)
{
    (void)state;
    cfg_t b = cfg;
    assert_true(mqtt_session_same_settings(&cfg, &b));
    b.tinybms.poll_interval_ms = cfg.tinybms.poll_interval_ms + 10; /* not the client's */
    assert_true(mqtt_session_same_settings(&cfg, &b));
    b = cfg;
    (void)snprintf(b.victron.battery_name, sizeof b.victron.battery_name, "Other");
    assert_false(mqtt_session_same_settings(&cfg, &b));
    b = cfg;
    b.mqtt.qos = 1 - cfg.mqtt.qos;
    assert_false(mqtt_session_same_settings(&cfg, &b));
    b = cfg;
    (void)snprintf(b.mqtt.tls_ca_file, sizeof b.mqtt.tls_ca_file, "/data/ca.pem");
    assert_false(mqtt_session_same_settings(&cfg, &b));
}

static void test_bad_arguments_are_refused(void **state)
{
    (void)state;
    mqtt_session_t s = {0};
    assert_false(mqtt_session_configure(NULL, &cfg, "v", 0));
    assert_false(mqtt_session_configure(&s, NULL, "v", 0));
    assert_false(mqtt_session_configure(&s, &cfg, NULL, 0));
    assert_true(mqtt_session_configure(&s, &cfg, "v", 0));
    mqtt_session_pass_t p = mqtt_session_publish(&s, &st, 1, 0, 0, NULL, NULL);
    assert_int_equal(p.status_err, MQTT_TOPICS_ERR_ARG);
    p = mqtt_session_publish(&s, NULL, 1, 0, 0, record, &rec);
    assert_int_equal(p.status_err, MQTT_TOPICS_ERR_ARG);
    assert_int_equal(rec.n, 0);
    mqtt_session_free(&s);
    mqtt_session_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_first_pass_sends_discovery_on_change_and_periodic_topics,
                               setup),
        cmocka_unit_test_setup(test_nothing_unchanged_is_sent_again_before_the_interval, setup),
        cmocka_unit_test_setup(test_a_snapshot_that_stops_moving_is_published_as_stale, setup),
        cmocka_unit_test_setup(test_values_follow_a_recovery_at_once, setup),
        cmocka_unit_test_setup(test_discovery_follows_its_key_and_every_connect, setup),
        cmocka_unit_test_setup(test_discovery_off_sends_no_documents, setup),
        cmocka_unit_test_setup(test_a_broken_connection_stops_the_pass_and_discovery_is_sent_again,
                               setup),
        cmocka_unit_test_setup(test_same_settings_sees_every_client_setting, setup),
        cmocka_unit_test_setup(test_bad_arguments_are_refused, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
