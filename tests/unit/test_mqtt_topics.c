/* Tests of mqtt_topics.h: the topic tree, stale handling, alarms on change and the Home
 * Assistant discovery documents, from typed status snapshots (status.h). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bridge_config.h"
#include "config.h"
#include "fake_bms.h"
#include "fixture_bank.h"
#include "fixture_status.h"
#include "mqtt_topics.h"
#include "status_json.h"

/* A trimmed /api/status of the simulator (4 cells), one warning raised, as
 * the typed snapshot the bridge publishes. */
static status_t fixture;

static const status_t *valid_status(void)
{
    static const status_cell_t cells[] = {
        {1, 3323.7, false, false}, {2, 3326, true, true}, {3, 3320.5, false, false},
        {4, 3321, false, false}};
    fixture_status(&fixture, cells, 4);
    fixture.min_cell_mv = known(3321);
    fixture.cell_imbalance_mv = known(5);
    fixture.cvl.state = "BULK";
    fixture.cvl.cvl_voltage_v = known(55.2);
    fixture.bms.have_version = true;
    snprintf(fixture.bms.hardware, sizeof fixture.bms.hardware, "2.1");
    fixture.version = "0.1.0";
    return &fixture;
}

static const mqtt_topics_cfg_t tcfg = {
    .root = "victron/tinybms",
    .discovery_prefix = "homeassistant",
    .node_id = "tinybms-victron",
    .device_name = "House battery",
    .sw_version = "0.1.0",
    .retain = false,
};

static const mqtt_topics_msg_t *find(const mqtt_topics_list_t *l, const char *topic)
{
    for (size_t i = 0; i < l->count; i++) {
        if (strcmp(l->items[i].topic, topic) == 0) {
            return &l->items[i];
        }
    }
    return NULL;
}

static const char *payload(const mqtt_topics_list_t *l, const char *topic)
{
    const mqtt_topics_msg_t *m = find(l, topic);
    return m ? m->payload : NULL;
}

static void test_valid_status_gives_readable_value_topics(void **state)
{
    (void)state;
    mqtt_topics_list_t l = {0};
    assert_int_equal(mqtt_topics_from_status(&tcfg, valid_status(), true, 1700000000123u, &l),
                     MQTT_TOPICS_OK);
    assert_string_equal(payload(&l, "victron/tinybms/voltage"), "53.176");
    assert_string_equal(payload(&l, "victron/tinybms/current"), "-12.5");
    assert_string_equal(payload(&l, "victron/tinybms/power_w"), "-664.7");
    assert_string_equal(payload(&l, "victron/tinybms/soc_percent"), "55.01");
    assert_string_equal(payload(&l, "victron/tinybms/temperature"), "21.9");
    assert_string_equal(payload(&l, "victron/tinybms/temperatures/external_1"), "22");
    assert_null(find(&l, "victron/tinybms/temperatures/external_2")); /* null: no probe */
    assert_string_equal(payload(&l, "victron/tinybms/cells/count"), "4");
    assert_string_equal(payload(&l, "victron/tinybms/cells/1"), "3323.7");
    assert_string_equal(payload(&l, "victron/tinybms/cells/2"), "3326");
    assert_string_equal(payload(&l, "victron/tinybms/cells/4"), "3321");
    assert_null(find(&l, "victron/tinybms/cells/5"));
    assert_string_equal(payload(&l, "victron/tinybms/cells/imbalance_mv"), "5");
    assert_string_equal(payload(&l, "victron/tinybms/limits/cvl_v"), "55.2");
    assert_string_equal(payload(&l, "victron/tinybms/limits/dcl_a"), "100");
    assert_string_equal(payload(&l, "victron/tinybms/cvl/state"), "BULK");
    assert_string_equal(payload(&l, "victron/tinybms/bms/status"), "discharging");
    assert_string_equal(payload(&l, "victron/tinybms/energy/charged_kwh"), "1.25");
    assert_string_equal(payload(&l, "victron/tinybms/gx/keepalive_ok"), "true");

    const mqtt_topics_msg_t *v = find(&l, "victron/tinybms/voltage");
    assert_int_equal(v->when, MQTT_TOPICS_PERIODIC);
    assert_false(v->retain); /* mqtt.retain false */
    const mqtt_topics_msg_t *dv = find(&l, "victron/tinybms/data_valid");
    assert_string_equal(dv->payload, "true");
    assert_int_equal(dv->when, MQTT_TOPICS_ON_CHANGE);
    assert_true(dv->retain);
    assert_string_equal(payload(&l, "victron/tinybms/data_state"), "valid");

    cJSON *st = cJSON_Parse(payload(&l, "victron/tinybms/state"));
    assert_non_null(st);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(st, "data_valid")));
    assert_float_equal(cJSON_GetObjectItem(st, "voltage")->valuedouble, 53.176, 1e-9);
    assert_float_equal(cJSON_GetObjectItem(st, "ts")->valuedouble, 1700000000123.0, 0.5);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(st, "cells")), 4);
    assert_string_equal(cJSON_GetObjectItem(st, "cvl_state")->valuestring, "BULK");
    assert_string_equal(cJSON_GetObjectItem(st, "alarm")->valuestring, "warning");
    cJSON_Delete(st);
    mqtt_topics_list_free(&l);
    assert_int_equal(l.count, 0);
}

static void test_retain_setting_applies_to_value_topics(void **state)
{
    (void)state;
    mqtt_topics_cfg_t c = tcfg;
    c.retain = true;
    c.root = "home/battery";
    mqtt_topics_list_t l = {0};
    assert_int_equal(mqtt_topics_from_status(&c, valid_status(), true, 0, &l), MQTT_TOPICS_OK);
    assert_true(find(&l, "home/battery/voltage")->retain);
    assert_true(find(&l, "home/battery/state")->retain);
    assert_null(find(&l, "victron/tinybms/voltage"));
    mqtt_topics_list_free(&l);
}

static void test_stale_data_publishes_no_values_and_a_null_state(void **state)
{
    (void)state;
    status_t a = *valid_status();
    a.data_valid = false;
    a.data_state = "stale";
    mqtt_topics_list_t l = {0};
    assert_int_equal(mqtt_topics_from_status(&tcfg, &a, true, 5, &l), MQTT_TOPICS_OK);
    assert_null(find(&l, "victron/tinybms/voltage"));
    assert_null(find(&l, "victron/tinybms/cells/1"));
    assert_null(find(&l, "victron/tinybms/limits/cvl_v"));
    assert_string_equal(payload(&l, "victron/tinybms/data_valid"), "false");
    assert_string_equal(payload(&l, "victron/tinybms/data_state"), "stale");
    cJSON *st = cJSON_Parse(payload(&l, "victron/tinybms/state"));
    assert_non_null(st);
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(st, "data_valid")));
    assert_string_equal(cJSON_GetObjectItem(st, "data_state")->valuestring, "stale");
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(st, "voltage")));
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetObjectItem(st, "limits"), "cvl_v")));
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(st, "cells")), 0);
    assert_float_equal(cJSON_GetObjectItem(st, "data_age_ms")->valuedouble, 93, 0);
    cJSON_Delete(st);
    /* The alarms are still reported (on change). */
    assert_string_equal(payload(&l, "victron/tinybms/alarms/high_voltage"), "warning");
    mqtt_topics_list_free(&l);
}

static void test_an_old_document_counts_as_stale_whatever_it_says(void **state)
{
    (void)state;
    mqtt_topics_list_t l = {0};
    assert_int_equal(mqtt_topics_from_status(&tcfg, valid_status(), false, 0, &l), MQTT_TOPICS_OK);
    assert_null(find(&l, "victron/tinybms/voltage"));
    assert_string_equal(payload(&l, "victron/tinybms/data_valid"), "false");
    assert_string_equal(payload(&l, "victron/tinybms/data_state"), "stale");
    assert_string_equal(payload(&l, "victron/tinybms/gx/keepalive_ok"), "false");
    mqtt_topics_list_free(&l);
}

static void test_alarms_are_on_change_topics_with_one_per_condition(void **state)
{
    (void)state;
    mqtt_topics_list_t l = {0};
    assert_int_equal(mqtt_topics_from_status(&tcfg, valid_status(), true, 0, &l), MQTT_TOPICS_OK);
    const mqtt_topics_msg_t *a = find(&l, "victron/tinybms/alarms");
    assert_non_null(a);
    assert_int_equal(a->when, MQTT_TOPICS_ON_CHANGE);
    assert_true(a->retain);
    cJSON *j = cJSON_Parse(a->payload);
    assert_string_equal(cJSON_GetObjectItem(j, "worst")->valuestring, "warning");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "active")), 1);
    cJSON_Delete(j);
    const mqtt_topics_msg_t *hv = find(&l, "victron/tinybms/alarms/high_voltage");
    assert_string_equal(hv->payload, "warning");
    assert_int_equal(hv->when, MQTT_TOPICS_ON_CHANGE);
    assert_true(hv->retain);
    assert_string_equal(payload(&l, "victron/tinybms/alarms/low_voltage"), "ok");
    assert_null(find(&l, "victron/tinybms/alarms/high_temperature")); /* not supported */

    /* The cache decides "changed": once per new payload, again after a clear. */
    mqtt_topics_cache_t c = {0};
    assert_true(mqtt_topics_cache_changed(&c, hv->topic, hv->payload));
    assert_false(mqtt_topics_cache_changed(&c, hv->topic, hv->payload));
    assert_false(mqtt_topics_cache_changed(&c, hv->topic, "warning"));
    assert_true(mqtt_topics_cache_changed(&c, hv->topic, "alarm"));
    assert_false(mqtt_topics_cache_changed(&c, hv->topic, "alarm"));
    assert_true(mqtt_topics_cache_changed(&c, "victron/tinybms/alarms/low_voltage", "ok"));
    mqtt_topics_cache_clear(&c);
    assert_true(mqtt_topics_cache_changed(&c, hv->topic, "alarm"));
    assert_true(mqtt_topics_cache_changed(NULL, "t", "p"));
    mqtt_topics_cache_clear(&c);
    mqtt_topics_list_free(&l);
}

static const char *str_of(const cJSON *o, const char *k)
{
    const cJSON *s = cJSON_GetObjectItem(o, k);
    return cJSON_IsString(s) ? s->valuestring : NULL;
}

/* Every document: valid JSON, the keys Home Assistant needs, device info, retained. */
static void check_discovery_doc(const mqtt_topics_msg_t *m)
{
    assert_true(m->retain);
    assert_true(strncmp(m->topic, "homeassistant/sensor/tinybms-victron/", 37) == 0 ||
                strncmp(m->topic, "homeassistant/binary_sensor/tinybms-victron/", 44) == 0);
    size_t n = strlen(m->topic);
    assert_true(n > 7 && strcmp(m->topic + n - 7, "/config") == 0);
    cJSON *d = cJSON_Parse(m->payload);
    assert_non_null(d);
    assert_non_null(str_of(d, "name"));
    assert_non_null(str_of(d, "unique_id"));
    assert_true(strncmp(str_of(d, "unique_id"), "tinybms-victron_", 16) == 0);
    assert_true(strncmp(str_of(d, "state_topic"), "victron/tinybms/", 16) == 0);
    const cJSON *av = cJSON_GetObjectItem(d, "availability");
    assert_true(cJSON_GetArraySize(av) >= 1);
    assert_string_equal(str_of(cJSON_GetArrayItem(av, 0), "topic"),
                        "victron/tinybms/availability");
    const cJSON *dev = cJSON_GetObjectItem(d, "device");
    assert_string_equal(str_of(dev, "manufacturer"), "tinybms-victron-bridge");
    assert_string_equal(str_of(dev, "name"), "House battery");
    assert_string_equal(str_of(dev, "sw_version"), "0.1.0");
    assert_string_equal(str_of(dev, "hw_version"), "2.1");
    assert_non_null(str_of(dev, "model"));
    assert_string_equal(
        cJSON_GetArrayItem(cJSON_GetObjectItem(dev, "identifiers"), 0)->valuestring,
        "tinybms_victron_bridge_tinybms-victron");
    cJSON_Delete(d);
}

static cJSON *doc_for(const mqtt_topics_list_t *l, const char *topic)
{
    const char *p = payload(l, topic);
    assert_non_null(p);
    return cJSON_Parse(p);
}

static void test_discovery_documents_are_complete(void **state)
{
    (void)state;
    mqtt_topics_list_t l = {0};
    assert_int_equal(mqtt_topics_discovery(&tcfg, valid_status(), &l), MQTT_TOPICS_OK);
    assert_true(l.count > 20);
    for (size_t i = 0; i < l.count; i++) {
        check_discovery_doc(&l.items[i]);
        for (size_t k = 0; k < i; k++) {
            assert_string_not_equal(l.items[i].topic, l.items[k].topic);
        }
    }
    cJSON *v = doc_for(&l, "homeassistant/sensor/tinybms-victron/voltage/config");
    assert_string_equal(str_of(v, "device_class"), "voltage");
    assert_string_equal(str_of(v, "unit_of_measurement"), "V");
    assert_string_equal(str_of(v, "state_class"), "measurement");
    assert_string_equal(str_of(v, "state_topic"), "victron/tinybms/voltage");
    assert_string_equal(str_of(v, "availability_mode"), "all");
    const cJSON *av = cJSON_GetObjectItem(v, "availability");
    assert_int_equal(cJSON_GetArraySize(av), 2); /* bridge online and data valid */
    assert_string_equal(str_of(cJSON_GetArrayItem(av, 1), "topic"), "victron/tinybms/data_valid");
    assert_string_equal(str_of(cJSON_GetArrayItem(av, 1), "payload_available"), "true");
    cJSON_Delete(v);

    static const struct {
        const char *object, *dev_class, *unit, *state_class;
    } want[] = {
        {"current", "current", "A", "measurement"},
        {"power", "power", "W", "measurement"},
        {"soc", "battery", "%", "measurement"},
        {"temperature", "temperature", "\xC2\xB0" "C", "measurement"},
        {"cell_3", "voltage", "mV", "measurement"},
        {"energy_charged", "energy", "kWh", "total_increasing"},
        {"energy_discharged", "energy", "kWh", "total_increasing"},
        {"ccl", "current", "A", "measurement"},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        char topic[128];
        snprintf(topic, sizeof topic, "homeassistant/sensor/tinybms-victron/%s/config",
                 want[i].object);
        cJSON *d = doc_for(&l, topic);
        assert_string_equal(str_of(d, "device_class"), want[i].dev_class);
        assert_string_equal(str_of(d, "unit_of_measurement"), want[i].unit);
        assert_string_equal(str_of(d, "state_class"), want[i].state_class);
        cJSON_Delete(d);
    }
    /* No sensor for an absent probe; one per cell. */
    assert_null(find(&l, "homeassistant/sensor/tinybms-victron/temperature_external_2/config"));
    assert_non_null(find(&l, "homeassistant/sensor/tinybms-victron/cell_4/config"));
    assert_null(find(&l, "homeassistant/sensor/tinybms-victron/cell_5/config"));

    cJSON *hv = doc_for(&l, "homeassistant/binary_sensor/tinybms-victron/alarm_high_voltage/config");
    assert_string_equal(str_of(hv, "device_class"), "problem");
    assert_string_equal(str_of(hv, "state_topic"), "victron/tinybms/alarms/high_voltage");
    assert_string_equal(str_of(hv, "name"), "High voltage alarm");
    assert_non_null(str_of(hv, "value_template"));
    cJSON_Delete(hv);
    cJSON *gx = doc_for(&l, "homeassistant/binary_sensor/tinybms-victron/gx_link/config");
    assert_string_equal(str_of(gx, "device_class"), "connectivity");
    assert_string_equal(str_of(gx, "payload_on"), "true");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(gx, "availability")), 1);
    cJSON_Delete(gx);
    assert_non_null(find(&l, "homeassistant/binary_sensor/tinybms-victron/data_valid/config"));
    assert_non_null(find(&l, "homeassistant/binary_sensor/tinybms-victron/alarm/config"));
    mqtt_topics_list_free(&l);
}

static void test_discovery_node_id_is_sanitised(void **state)
{
    (void)state;
    mqtt_topics_cfg_t c = tcfg;
    c.node_id = "my node/1";
    c.discovery_prefix = "ha";
    mqtt_topics_list_t l = {0};
    assert_int_equal(mqtt_topics_discovery(&c, valid_status(), &l), MQTT_TOPICS_OK);
    assert_non_null(find(&l, "ha/sensor/my_node_1/voltage/config"));
    cJSON *v = doc_for(&l, "ha/sensor/my_node_1/voltage/config");
    assert_string_equal(str_of(v, "unique_id"), "my_node_1_voltage");
    cJSON_Delete(v);
    mqtt_topics_list_free(&l);
}

static void test_discovery_key_follows_cells_and_conditions(void **state)
{
    (void)state;
    uint32_t k = mqtt_topics_discovery_key(valid_status());
    assert_int_not_equal(k, 0);
    assert_int_equal(mqtt_topics_discovery_key(valid_status()), k);
    status_t fewer = *valid_status();
    fewer.cells_n = 3;
    assert_int_not_equal(mqtt_topics_discovery_key(&fewer), k);
    status_t more = *valid_status();
    more.alarms.cond[more.alarms.count++] = (status_cond_t){"contactor", STATUS_LEVEL_OK};
    assert_int_not_equal(mqtt_topics_discovery_key(&more), k);
    status_t level = *valid_status();
    level.alarms.cond[1].level = STATUS_LEVEL_ALARM;
    assert_int_equal(mqtt_topics_discovery_key(&level), k); /* levels are not structure */
    status_t other_hw = *valid_status();
    snprintf(other_hw.bms.hardware, sizeof other_hw.bms.hardware, "2.2");
    assert_int_not_equal(mqtt_topics_discovery_key(&other_hw), k);
    assert_int_equal(mqtt_topics_discovery_key(NULL), 0);
}

static void test_bad_input_is_refused(void **state)
{
    (void)state;
    mqtt_topics_list_t l = {0};
    assert_int_equal(mqtt_topics_from_status(NULL, valid_status(), true, 0, &l),
                     MQTT_TOPICS_ERR_ARG);
    assert_int_equal(mqtt_topics_from_status(&tcfg, NULL, true, 0, &l), MQTT_TOPICS_ERR_ARG);
    assert_int_equal(mqtt_topics_from_status(&tcfg, valid_status(), true, 0, NULL),
                     MQTT_TOPICS_ERR_ARG);
    assert_int_equal(mqtt_topics_discovery(&tcfg, NULL, &l), MQTT_TOPICS_ERR_ARG);
    assert_int_equal(mqtt_topics_discovery(&tcfg, valid_status(), NULL), MQTT_TOPICS_ERR_ARG);
    assert_int_equal(l.count, 0);
    mqtt_topics_cfg_t c = tcfg;
    c.discovery_prefix = "";
    assert_int_equal(mqtt_topics_discovery(&c, valid_status(), &l), MQTT_TOPICS_ERR_ARG);
    c = tcfg;
    c.root = "";
    assert_int_equal(mqtt_topics_from_status(&c, valid_status(), true, 0, &l), MQTT_TOPICS_ERR_ARG);
    char longroot[400];
    memset(longroot, 'r', sizeof longroot - 1u);
    longroot[sizeof longroot - 1u] = '\0';
    c.root = longroot;
    assert_int_equal(mqtt_topics_from_status(&c, valid_status(), true, 0, &l), MQTT_TOPICS_ERR_ARG);
    mqtt_topics_list_free(&l);
    mqtt_topics_list_free(NULL);

    char buf[64];
    assert_true(mqtt_topics_availability(&tcfg, buf, sizeof buf));
    assert_string_equal(buf, "victron/tinybms/availability");
    assert_false(mqtt_topics_availability(&tcfg, buf, 10));
    assert_false(mqtt_topics_availability(NULL, buf, sizeof buf));
    for (int e = MQTT_TOPICS_OK; e <= MQTT_TOPICS_ERR_NOMEM; e++) {
        assert_non_null(mqtt_topics_strerror((mqtt_topics_err_t)e));
    }
    assert_string_equal(mqtt_topics_strerror((mqtt_topics_err_t)99), "unknown error");
}

/* The real document of a bridge that has no TinyBMS data yet. */
static void test_real_status_document_while_waiting(void **state)
{
    (void)state;
    cfg_t cfg;
    cfg_defaults(&cfg);
    brg_config_t bc;
    bridge_config_from_cfg(&cfg, &bc);
    static brg_t b;
    assert_int_equal(brg_init(&b, &bc, 1000u), TBMS_OK);
    status_input_t in = {.bridge = &b, .now_us = 2000u, .version = "0.1.0"};
    status_t st;
    assert_true(status_build(&in, 1, &st));
    mqtt_topics_list_t l = {0};
    assert_int_equal(mqtt_topics_from_status(&tcfg, &st, true, 0, &l), MQTT_TOPICS_OK);
    assert_string_equal(payload(&l, "victron/tinybms/data_valid"), "false");
    assert_string_equal(payload(&l, "victron/tinybms/data_state"), "waiting");
    assert_null(find(&l, "victron/tinybms/voltage"));
    assert_non_null(find(&l, "victron/tinybms/state"));
    mqtt_topics_list_free(&l);
    assert_int_equal(mqtt_topics_discovery(&tcfg, &st, &l), MQTT_TOPICS_OK);
    assert_non_null(find(&l, "homeassistant/sensor/tinybms-victron/voltage/config"));
    assert_null(find(&l, "homeassistant/sensor/tinybms-victron/cell_1/config"));
    for (size_t i = 0; i < l.count; i++) {
        cJSON *d = cJSON_Parse(l.items[i].payload);
        assert_non_null(d);
        cJSON_Delete(d);
    }
    mqtt_topics_list_free(&l);
}

/* ---- the packs of a bank (status_t.packs[], status_t.bank) ---- */


/* valid_status() as a bank of two: pack 1 online and bounding the CCL, pack 2 ("Garage")
 * offline with its data stale, blocking both ways. */
static status_t bank_fixture;

static const status_t *two_packs(void)
{
    bank_fixture = *valid_status();
    status_t *st = &bank_fixture;
    st->packs_n = 2;
    fixture_status_pack(&st->packs[0], 1, "Pack 1", "online", true);
    st->packs[0].bounds_ccl = true;
    fixture_status_pack(&st->packs[1], 2, "Garage", "offline", false);
    st->packs[1].blocks_charge = true;
    st->packs[1].blocks_discharge = true;
    st->packs[1].limits.share_charge_pct = known(0);
    st->bank.ccl_bound = "share";
    st->bank.dcl_bound = "sum";
    st->bank.ccl_pack = 1;
    st->bank.warnings = BANK_WARN_PACK_OFFLINE | BANK_WARN_PACK_BLOCKING;
    st->bank.online = 1;
    st->bank.offline = 1;
    st->bank.blocking_charge = 1;
    st->bank.blocking_discharge = 1;
    st->bank.capacity_ah = 200;
    st->bank.online_capacity_ah = 100;
    return st;
}

static void test_each_pack_publishes_its_values_state_and_flags(void **state)
{
    (void)state;
    mqtt_topics_list_t l = {0};
    assert_int_equal(mqtt_topics_from_status(&tcfg, two_packs(), true, 1700000000123u, &l),
                     MQTT_TOPICS_OK);
    static const struct {
        const char *topic, *payload;
    } want[] = {
        {"victron/tinybms/packs/1/voltage", "53.3"},
        {"victron/tinybms/packs/1/current", "-6.25"},
        {"victron/tinybms/packs/1/power_w", "-332.5"},
        {"victron/tinybms/packs/1/soc_percent", "54.5"},
        {"victron/tinybms/packs/1/cells/count", "3"},
        {"victron/tinybms/packs/1/cells/2", "3330"},
        {"victron/tinybms/packs/1/cells/min_mv", "3321.5"},
        {"victron/tinybms/packs/1/cells/imbalance_mv", "8.5"},
        {"victron/tinybms/packs/1/limits/ccl_a", "40"},
        {"victron/tinybms/packs/1/limits/dcl_a", "80"},
        {"victron/tinybms/packs/1/limits/share_charge_percent", "52.5"},
        {"victron/tinybms/packs/1/limits/share_discharge_percent", "47.5"},
        {"victron/tinybms/packs/1/bms/status", "discharging"},
        {"victron/tinybms/packs/1/capacity_ah", "100"},
        {"victron/tinybms/packs/1/name", "Pack 1"},
        {"victron/tinybms/packs/1/bank_state", "online"},
        {"victron/tinybms/packs/1/data_valid", "true"},
        {"victron/tinybms/packs/1/member", "true"},
        {"victron/tinybms/packs/1/bounds_ccl", "true"},
        {"victron/tinybms/packs/1/bounds_dcl", "false"},
        {"victron/tinybms/packs/1/blocks_charge", "false"},
        {"victron/tinybms/packs/2/name", "Garage"},
        {"victron/tinybms/packs/2/bank_state", "offline"},
        {"victron/tinybms/packs/2/data_valid", "false"},
        {"victron/tinybms/packs/2/member", "false"},
        {"victron/tinybms/packs/2/blocks_charge", "true"},
        {"victron/tinybms/packs/2/blocks_discharge", "true"},
        {"victron/tinybms/packs/2/capacity_ah", "100"},
        {"victron/tinybms/packs/2/limits/share_charge_percent", "0"},
        /* the battery's topics are still the battery's */
        {"victron/tinybms/voltage", "53.176"},
        {"victron/tinybms/cells/4", "3321"},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const char *got = payload(&l, want[i].topic);
        if (got == NULL || strcmp(got, want[i].payload) != 0) {
            fail_msg("%s: '%s', want '%s'", want[i].topic, got ? got : "(absent)",
                     want[i].payload);
        }
    }
    /* Pack 2's data is stale: none of its readings, cells or own limits. */
    assert_null(find(&l, "victron/tinybms/packs/2/voltage"));
    assert_null(find(&l, "victron/tinybms/packs/2/cells/1"));
    assert_null(find(&l, "victron/tinybms/packs/2/limits/ccl_a"));
    assert_null(find(&l, "victron/tinybms/packs/2/bms/status"));
    assert_null(find(&l, "victron/tinybms/packs/3/name"));

    /* Values like the battery's (periodic, mqtt.retain); states retained on change. */
    const mqtt_topics_msg_t *v = find(&l, "victron/tinybms/packs/1/voltage");
    assert_int_equal(v->when, MQTT_TOPICS_PERIODIC);
    assert_false(v->retain);
    const char *const on_change[] = {"name", "bank_state", "data_valid", "member",
                                     "blocks_charge", "blocks_discharge", "bounds_ccl",
                                     "bounds_dcl"};
    for (size_t i = 0; i < sizeof on_change / sizeof on_change[0]; i++) {
        char topic[96];
        snprintf(topic, sizeof topic, "victron/tinybms/packs/2/%s", on_change[i]);
        const mqtt_topics_msg_t *m = find(&l, topic);
        assert_non_null(m);
        assert_int_equal(m->when, MQTT_TOPICS_ON_CHANGE);
        assert_true(m->retain);
    }

    cJSON *s1 = cJSON_Parse(payload(&l, "victron/tinybms/packs/1/state"));
    assert_non_null(s1);
    assert_int_equal(cJSON_GetObjectItem(s1, "index")->valueint, 1);
    assert_string_equal(cJSON_GetObjectItem(s1, "name")->valuestring, "Pack 1");
    assert_string_equal(cJSON_GetObjectItem(s1, "state")->valuestring, "online");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(s1, "bounds_ccl")));
    assert_float_equal(cJSON_GetObjectItem(s1, "voltage")->valuedouble, 53.3, 1e-9);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(s1, "cells")), 3);
    cJSON *lim = cJSON_GetObjectItem(s1, "limits");
    assert_float_equal(cJSON_GetObjectItem(lim, "ccl_a")->valuedouble, 40, 1e-9);
    assert_float_equal(cJSON_GetObjectItem(lim, "share_charge_percent")->valuedouble, 52.5, 1e-9);
    assert_float_equal(cJSON_GetObjectItem(s1, "ts")->valuedouble, 1700000000123.0, 0.5);
    cJSON_Delete(s1);
    cJSON *s2 = cJSON_Parse(payload(&l, "victron/tinybms/packs/2/state"));
    assert_non_null(s2);
    assert_false(cJSON_IsTrue(cJSON_GetObjectItem(s2, "data_valid")));
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(s2, "voltage")));
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetObjectItem(s2, "limits"), "ccl_a")));
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(s2, "cells")), 0);
    assert_float_equal(cJSON_GetObjectItem(s2, "data_age_ms")->valuedouble, 61000, 0);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(s2, "blocks_charge")));
    cJSON_Delete(s2);

    const mqtt_topics_msg_t *b = find(&l, "victron/tinybms/bank");
    assert_non_null(b);
    assert_int_equal(b->when, MQTT_TOPICS_ON_CHANGE);
    assert_true(b->retain);
    cJSON *bank = cJSON_Parse(b->payload);
    assert_non_null(bank);
    assert_string_equal(cJSON_GetObjectItem(bank, "ccl_bound")->valuestring, "share");
    assert_string_equal(cJSON_GetObjectItem(bank, "dcl_bound")->valuestring, "sum");
    assert_int_equal(cJSON_GetObjectItem(bank, "ccl_pack")->valueint, 1);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(bank, "dcl_pack")));
    cJSON *w = cJSON_GetObjectItem(bank, "warnings");
    assert_int_equal(cJSON_GetArraySize(w), 2);
    assert_string_equal(cJSON_GetArrayItem(w, 0)->valuestring, "pack_offline");
    assert_string_equal(cJSON_GetArrayItem(w, 1)->valuestring, "pack_blocking");
    cJSON *mod = cJSON_GetObjectItem(bank, "modules");
    assert_int_equal(cJSON_GetObjectItem(mod, "online")->valueint, 1);
    assert_int_equal(cJSON_GetObjectItem(mod, "blocking_charge")->valueint, 1);
    assert_int_equal(cJSON_GetObjectItem(mod, "offline")->valueint, 1);
    assert_float_equal(cJSON_GetObjectItem(bank, "capacity_ah")->valuedouble, 200, 0);
    assert_float_equal(cJSON_GetObjectItem(bank, "online_capacity_ah")->valuedouble, 100, 0);
    cJSON_Delete(bank);
    mqtt_topics_list_free(&l);
}

/* Every message of a is in b, the same topic with the same payload, retain and when. */
static void assert_contained(const mqtt_topics_list_t *a, const mqtt_topics_list_t *b)
{
    for (size_t i = 0; i < a->count; i++) {
        const mqtt_topics_msg_t *m = find(b, a->items[i].topic);
        if (m == NULL) {
            fail_msg("%s missing", a->items[i].topic);
        }
        assert_string_equal(m->payload, a->items[i].payload);
        assert_int_equal(m->retain, a->items[i].retain);
        assert_int_equal(m->when, a->items[i].when);
    }
}

static void test_one_pack_adds_its_pack_1_topics_and_changes_nothing_else(void **state)
{
    (void)state;
    status_t one = *valid_status();
    one.packs_n = 1;
    fixture_status_pack(&one.packs[0], 1, "Pack 1", "online", true);
    mqtt_topics_list_t before = {0}, after = {0};
    assert_int_equal(mqtt_topics_from_status(&tcfg, valid_status(), true, 42, &before),
                     MQTT_TOPICS_OK);
    assert_int_equal(mqtt_topics_from_status(&tcfg, &one, true, 42, &after), MQTT_TOPICS_OK);
    assert_contained(&before, &after);
    for (size_t i = 0; i < after.count; i++) {
        if (find(&before, after.items[i].topic) == NULL) {
            assert_true(strncmp(after.items[i].topic, "victron/tinybms/packs/1/", 24) == 0);
        }
    }
    assert_string_equal(payload(&after, "victron/tinybms/packs/1/voltage"), "53.3");
    assert_string_equal(payload(&after, "victron/tinybms/packs/1/bank_state"), "online");
    assert_null(find(&after, "victron/tinybms/bank")); /* one pack: no bank to describe */
    mqtt_topics_list_free(&before);
    mqtt_topics_list_free(&after);
}

static void test_an_old_document_marks_every_pack_stale(void **state)
{
    (void)state;
    mqtt_topics_list_t l = {0};
    assert_int_equal(mqtt_topics_from_status(&tcfg, two_packs(), false, 0, &l), MQTT_TOPICS_OK);
    assert_string_equal(payload(&l, "victron/tinybms/packs/1/data_valid"), "false");
    assert_string_equal(payload(&l, "victron/tinybms/packs/1/bank_state"), "stale");
    assert_string_equal(payload(&l, "victron/tinybms/packs/2/bank_state"), "stale");
    assert_null(find(&l, "victron/tinybms/packs/1/voltage"));
    assert_null(find(&l, "victron/tinybms/packs/1/member"));
    assert_null(find(&l, "victron/tinybms/packs/1/limits/share_charge_percent"));
    assert_null(find(&l, "victron/tinybms/bank"));
    cJSON *s1 = cJSON_Parse(payload(&l, "victron/tinybms/packs/1/state"));
    assert_non_null(s1);
    assert_string_equal(cJSON_GetObjectItem(s1, "state")->valuestring, "stale");
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(s1, "member")));
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(s1, "voltage")));
    cJSON_Delete(s1);
    mqtt_topics_list_free(&l);
}

static void test_discovery_gives_each_pack_its_own_device(void **state)
{
    (void)state;
    mqtt_topics_list_t bridge_only = {0}, l = {0};
    assert_int_equal(mqtt_topics_discovery(&tcfg, valid_status(), &bridge_only), MQTT_TOPICS_OK);
    assert_int_equal(mqtt_topics_discovery(&tcfg, two_packs(), &l), MQTT_TOPICS_OK);
    /* The bridge's own documents are unchanged. */
    assert_contained(&bridge_only, &l);
    assert_true(l.count > bridge_only.count + 2u * 20u);
    for (size_t i = 0; i < l.count; i++) {
        cJSON *d = cJSON_Parse(l.items[i].payload);
        assert_non_null(d);
        assert_true(l.items[i].retain);
        for (size_t k = 0; k < i; k++) {
            assert_string_not_equal(l.items[i].topic, l.items[k].topic);
            cJSON *o = cJSON_Parse(l.items[k].payload);
            assert_string_not_equal(str_of(d, "unique_id"), str_of(o, "unique_id"));
            cJSON_Delete(o);
        }
        cJSON_Delete(d);
    }

    cJSON *v = doc_for(&l, "homeassistant/sensor/tinybms-victron/pack1_voltage/config");
    assert_string_equal(str_of(v, "name"), "Voltage");
    assert_string_equal(str_of(v, "unique_id"), "tinybms-victron_pack1_voltage");
    assert_string_equal(str_of(v, "state_topic"), "victron/tinybms/packs/1/voltage");
    assert_string_equal(str_of(v, "device_class"), "voltage");
    assert_string_equal(str_of(v, "unit_of_measurement"), "V");
    const cJSON *av = cJSON_GetObjectItem(v, "availability");
    assert_int_equal(cJSON_GetArraySize(av), 2); /* bridge online and this pack's data valid */
    assert_string_equal(str_of(cJSON_GetArrayItem(av, 0), "topic"),
                        "victron/tinybms/availability");
    assert_string_equal(str_of(cJSON_GetArrayItem(av, 1), "topic"),
                        "victron/tinybms/packs/1/data_valid");
    const cJSON *dev = cJSON_GetObjectItem(v, "device");
    assert_string_equal(
        cJSON_GetArrayItem(cJSON_GetObjectItem(dev, "identifiers"), 0)->valuestring,
        "tinybms_victron_bridge_tinybms-victron_pack1");
    assert_string_equal(str_of(dev, "via_device"), "tinybms_victron_bridge_tinybms-victron");
    assert_string_equal(str_of(dev, "name"), "House battery Pack 1");
    assert_string_equal(str_of(dev, "sw_version"), "5 (internal 1234)");
    assert_string_equal(str_of(dev, "manufacturer"), "tinybms-victron-bridge");
    assert_string_equal(str_of(dev, "hw_version"), "2.1");
    cJSON_Delete(v);

    cJSON *g = doc_for(&l, "homeassistant/sensor/tinybms-victron/pack2_cell_3/config");
    assert_string_equal(str_of(g, "state_topic"), "victron/tinybms/packs/2/cells/3");
    assert_string_equal(str_of(cJSON_GetObjectItem(g, "device"), "name"), "House battery Garage");
    cJSON_Delete(g);
    assert_non_null(find(&l, "homeassistant/sensor/tinybms-victron/pack2_ccl/config"));
    assert_non_null(find(&l, "homeassistant/sensor/tinybms-victron/pack2_share_charge/config"));
    assert_null(find(&l, "homeassistant/sensor/tinybms-victron/pack2_cell_4/config"));

    cJSON *bs = doc_for(&l, "homeassistant/sensor/tinybms-victron/pack2_bank_state/config");
    assert_string_equal(str_of(bs, "state_topic"), "victron/tinybms/packs/2/bank_state");
    assert_string_equal(str_of(bs, "device_class"), "enum");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(bs, "options")), 5);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(bs, "availability")), 1);
    cJSON_Delete(bs);
    cJSON *bc = doc_for(&l, "homeassistant/binary_sensor/tinybms-victron/pack2_blocks_charge/config");
    assert_string_equal(str_of(bc, "device_class"), "problem");
    assert_string_equal(str_of(bc, "payload_on"), "true");
    assert_string_equal(str_of(bc, "state_topic"), "victron/tinybms/packs/2/blocks_charge");
    cJSON_Delete(bc);
    cJSON *dv = doc_for(&l, "homeassistant/binary_sensor/tinybms-victron/pack1_data_valid/config");
    assert_string_equal(str_of(dv, "device_class"), "connectivity");
    assert_string_equal(str_of(dv, "entity_category"), "diagnostic");
    cJSON_Delete(dv);
    assert_non_null(find(&l, "homeassistant/binary_sensor/tinybms-victron/pack1_bounds_ccl/config"));
    mqtt_topics_list_free(&bridge_only);
    mqtt_topics_list_free(&l);

    /* One pack: the bridge's entities are that pack's; no second device. */
    status_t one = *valid_status();
    one.packs_n = 1;
    fixture_status_pack(&one.packs[0], 1, "Pack 1", "online", true);
    assert_int_equal(mqtt_topics_discovery(&tcfg, valid_status(), &bridge_only), MQTT_TOPICS_OK);
    assert_int_equal(mqtt_topics_discovery(&tcfg, &one, &l), MQTT_TOPICS_OK);
    assert_int_equal(l.count, bridge_only.count);
    assert_contained(&bridge_only, &l);
    assert_int_equal(mqtt_topics_discovery_key(&one), mqtt_topics_discovery_key(valid_status()));
    mqtt_topics_list_free(&bridge_only);
    mqtt_topics_list_free(&l);
}

static void test_discovery_key_follows_the_packs(void **state)
{
    (void)state;
    uint32_t k = mqtt_topics_discovery_key(two_packs());
    assert_int_equal(mqtt_topics_discovery_key(two_packs()), k);
    assert_int_not_equal(mqtt_topics_discovery_key(valid_status()), k);
    status_t renamed = *two_packs();
    snprintf(renamed.packs[1].name, sizeof renamed.packs[1].name, "Shed");
    assert_int_not_equal(mqtt_topics_discovery_key(&renamed), k);
    status_t fewer = *two_packs();
    fewer.packs[0].cells_n = 2;
    assert_int_not_equal(mqtt_topics_discovery_key(&fewer), k);
    status_t no_soh = *two_packs();
    no_soh.packs[1].soh_percent.known = false;
    assert_int_not_equal(mqtt_topics_discovery_key(&no_soh), k);
    status_t three = *two_packs();
    three.packs_n = 3;
    fixture_status_pack(&three.packs[2], 3, "Pack 3", "joining", true);
    assert_int_not_equal(mqtt_topics_discovery_key(&three), k);
    /* Readings and states are not structure. */
    status_t moved = *two_packs();
    moved.packs[0].voltage = known(54.0);
    moved.packs[1].state = "joining";
    moved.packs[1].blocks_charge = false;
    assert_int_equal(mqtt_topics_discovery_key(&moved), k);
}

/* ---- a real bank: two 4S packs through the whole bridge (fake_bms.h) ---- */


static void test_real_bank_with_a_silent_pack(void **state)
{
    (void)state;
    static status_t st;
    fixture_silent_bank_status(&st);
    mqtt_topics_list_t l = {0};
    assert_int_equal(mqtt_topics_from_status(&tcfg, &st, true, 0, &l), MQTT_TOPICS_OK);
    assert_string_equal(payload(&l, "victron/tinybms/data_valid"), "true");
    assert_string_equal(payload(&l, "victron/tinybms/packs/1/bank_state"), "online");
    assert_string_equal(payload(&l, "victron/tinybms/packs/1/current"), "14");
    assert_string_equal(payload(&l, "victron/tinybms/packs/1/cells/count"), "4");
    assert_non_null(find(&l, "victron/tinybms/packs/1/cells/4"));
    assert_string_equal(payload(&l, "victron/tinybms/packs/2/name"), "Left");
    assert_string_equal(payload(&l, "victron/tinybms/packs/2/bank_state"), "silent");
    assert_string_equal(payload(&l, "victron/tinybms/packs/2/data_valid"), "false");
    assert_string_equal(payload(&l, "victron/tinybms/packs/2/member"), "true");
    assert_null(find(&l, "victron/tinybms/packs/2/current"));
    assert_null(find(&l, "victron/tinybms/packs/2/cells/1"));
    cJSON *bank = cJSON_Parse(payload(&l, "victron/tinybms/bank"));
    assert_non_null(bank);
    bool silent = false;
    const cJSON *w = NULL;
    cJSON_ArrayForEach(w, cJSON_GetObjectItem(bank, "warnings"))
    {
        silent = silent || strcmp(w->valuestring, "pack_silent") == 0;
    }
    assert_true(silent);
    cJSON_Delete(bank);

    /* Discovery: each entity reads a topic the bridge publishes (the silent pack's values
     * once it reads again); one device per pack. */
    mqtt_topics_list_t d = {0};
    assert_int_equal(mqtt_topics_discovery(&tcfg, &st, &d), MQTT_TOPICS_OK);
    size_t pack_docs[2] = {0, 0};
    for (size_t i = 0; i < d.count; i++) {
        cJSON *doc = cJSON_Parse(d.items[i].payload);
        assert_non_null(doc);
        const char *topic = str_of(doc, "state_topic");
        const char *ident = cJSON_GetArrayItem(
            cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "device"), "identifiers"), 0)
                                ->valuestring;
        for (unsigned n = 1; n <= 2; n++) {
            char prefix[64], want_ident[96];
            snprintf(prefix, sizeof prefix, "victron/tinybms/packs/%u/", n);
            snprintf(want_ident, sizeof want_ident, "tinybms_victron_bridge_tinybms-victron_pack%u",
                     n);
            if (strncmp(topic, prefix, strlen(prefix)) == 0) {
                pack_docs[n - 1u]++;
                assert_string_equal(ident, want_ident);
                if (n == 1u && find(&l, topic) == NULL) {
                    fail_msg("%s is not published", topic);
                }
            }
        }
        cJSON_Delete(doc);
    }
    assert_true(pack_docs[0] > 20u);
    assert_int_equal(pack_docs[0], pack_docs[1]);
    assert_non_null(find(&d, "homeassistant/sensor/tinybms-victron/pack2_cell_4/config"));
    mqtt_topics_list_free(&d);
    mqtt_topics_list_free(&l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_status_gives_readable_value_topics),
        cmocka_unit_test(test_retain_setting_applies_to_value_topics),
        cmocka_unit_test(test_stale_data_publishes_no_values_and_a_null_state),
        cmocka_unit_test(test_an_old_document_counts_as_stale_whatever_it_says),
        cmocka_unit_test(test_alarms_are_on_change_topics_with_one_per_condition),
        cmocka_unit_test(test_discovery_documents_are_complete),
        cmocka_unit_test(test_discovery_node_id_is_sanitised),
        cmocka_unit_test(test_discovery_key_follows_cells_and_conditions),
        cmocka_unit_test(test_bad_input_is_refused),
        cmocka_unit_test(test_real_status_document_while_waiting),
        cmocka_unit_test(test_each_pack_publishes_its_values_state_and_flags),
        cmocka_unit_test(test_one_pack_adds_its_pack_1_topics_and_changes_nothing_else),
        cmocka_unit_test(test_an_old_document_marks_every_pack_stale),
        cmocka_unit_test(test_discovery_gives_each_pack_its_own_device),
        cmocka_unit_test(test_discovery_key_follows_the_packs),
        cmocka_unit_test(test_real_bank_with_a_silent_pack),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
