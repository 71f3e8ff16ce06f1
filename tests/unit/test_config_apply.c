/*
 * From the configuration file to the running bridge (bridge_config.h,
 * brg_init, brg_reconfigure): one source of defaults, and a hot reload
 * that ends where a start with the new configuration would, for every key
 * of the schema.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "bridge.h"
#include "bridge_config.h"
#include "config.h"
#include "fake_bms.h"
#include "service.h"

#define S 1000000ull

static uint16_t regs[FAKE_BMS_REGS];
static uint16_t regs2[FAKE_BMS_REGS]; /* the second pack of a bank */

static void test_defaults_have_one_source_the_core(void **state)
{
    (void)state;
    cfg_t c;
    cfg_defaults(&c);
    brg_config_t from_file, core;
    bridge_config_from_cfg(&c, &from_file);
    brg_default_config(&core);
    core.charge.low_temp_charge_dc = core.thresholds.low_temp_charge_dc;
    assert_memory_equal(&from_file, &core, sizeof core);
}

/* A base far from the defaults where it matters: a cold-charge limit of
 * 10 C, statistics and events never read, explicit pack thresholds. */
static cfg_t base_config(void)
{
    static const char *patch = "{\"victron\":{\"thresholds\":{\"low_temp_charge_c\":10,"
                               "\"overvoltage_v\":58,\"undervoltage_v\":45}},"
                               "\"tinybms\":{\"stats_refresh_ms\":0,\"events_refresh_ms\":0}}";
    cfg_t d, c;
    cfg_defaults(&d);
    cfg_error_t err;
    assert_int_equal(cfg_merge_json(&d, patch, strlen(patch), &c, &err), CFG_OK);
    return c;
}

/* The value of a dotted key in a cJSON tree. */
static const cJSON *lookup(const cJSON *root, const char *path)
{
    char buf[CFG_KEY_PATH_MAX];
    snprintf(buf, sizeof buf, "%s", path);
    const cJSON *node = root;
    for (char *tok = strtok(buf, "."); tok != NULL && node != NULL; tok = strtok(NULL, ".")) {
        node = cJSON_GetObjectItemCaseSensitive(node, tok);
    }
    return node;
}

/* {"a":{"b":VALUE}} for path "a.b", VALUE already JSON text. */
static void patch_for(char *out, size_t cap, const char *path, const char *value)
{
    char buf[CFG_KEY_PATH_MAX];
    snprintf(buf, sizeof buf, "%s", path);
    size_t off = 0;
    unsigned depth = 0;
    for (char *tok = strtok(buf, "."); tok != NULL; tok = strtok(NULL, ".")) {
        off += (size_t)snprintf(out + off, cap - off, "%s{\"%s\":", depth ? "" : "", tok);
        depth++;
    }
    off += (size_t)snprintf(out + off, cap - off, "%s", value);
    while (depth-- > 0) {
        off += (size_t)snprintf(out + off, cap - off, "}");
    }
}

/* Candidate new values (JSON text) for key k whose current value is cur. */
static size_t candidates(const cfg_key_info_t *k, const cJSON *cur, char out[][160], size_t cap)
{
    size_t n = 0;
    switch (k->kind) {
    case CFG_KIND_BOOL:
        snprintf(out[n++], 160, "%s", cJSON_IsTrue(cur) ? "false" : "true");
        break;
    case CFG_KIND_INT:
    case CFG_KIND_DEC: {
        double v = cJSON_GetNumberValue(cur);
        double r = k->resolution;
        double vals[] = {v + r, v - r, k->min, k->max, v + 10 * r, v - 10 * r, 0.0};
        for (size_t i = 0; i < sizeof vals / sizeof vals[0] && n < cap; i++) {
            if (vals[i] != v) {
                snprintf(out[n++], 160, "%.9g", vals[i]);
            }
        }
        break;
    }
    case CFG_KIND_STR: {
        static const char *const strs[] = {"\"Bridge2\"",       "\"socketcan:can1\"",
                                           "\"/dev/ttyUSB1\"",  "\"127.0.0.2\"",
                                           "\"tinybms-test\"",  "\"log:-\"",
                                           "\"secret-2\"",      "\"token-0123456789abcdef\"", "\"\""};
        for (size_t i = 0; i < sizeof strs / sizeof strs[0] && n < cap; i++) {
            snprintf(out[n++], 160, "%s", strs[i]);
        }
        break;
    }
    case CFG_KIND_ENUM:
        for (size_t i = 0; i < k->name_count && n < cap; i++) {
            if (!cJSON_IsString(cur) || strcmp(cur->valuestring, k->names[i]) != 0) {
                snprintf(out[n++], 160, "\"%s\"", k->names[i]);
            }
        }
        break;
    }
    return n;
}

/* base with key k changed to some valid other value; false if none is. */
static bool changed_config(const cfg_t *base, const cfg_key_info_t *k, cfg_t *out)
{
    char *text = cfg_to_json(base, false);
    assert_non_null(text);
    cJSON *root = cJSON_Parse(text);
    free(text);
    assert_non_null(root);
    const cJSON *cur = lookup(root, k->path);
    assert_non_null(cur);
    char vals[10][160];
    size_t n = candidates(k, cur, vals, 10);
    bool ok = false;
    for (size_t i = 0; i < n && !ok; i++) {
        char patch[512];
        patch_for(patch, sizeof patch, k->path, vals[i]);
        cfg_error_t err;
        ok = cfg_merge_json(base, patch, strlen(patch), out, &err) == CFG_OK &&
             !cfg_equal(base, out);
        /* secrets need their user name; give it one when that is the rule */
        if (!ok && err.code == CFG_ERR_RULE && strstr(err.message, "username") != NULL) {
            char p2[512];
            char prefix[CFG_KEY_PATH_MAX];
            snprintf(prefix, sizeof prefix, "%s", k->path);
            *strrchr(prefix, '.') = '\0';
            snprintf(p2, sizeof p2, "{\"%s\":{\"username\":\"u\",\"%s\":%s}}", prefix,
                     strrchr(k->path, '.') + 1, vals[i]);
            ok = cfg_merge_json(base, p2, strlen(p2), out, &err) == CFG_OK;
        }
    }
    cJSON_Delete(root);
    return ok;
}

/* Starts a bridge with c at time 0 and runs it on the fake BMS (pack 1 on
 * regs, pack 2 on regs2) to `until`. */
static void start(brg_t *b, const cfg_t *c, uint64_t *now, uint64_t until)
{
    brg_config_t bc;
    bridge_config_from_cfg(c, &bc);
    *now = 0;
    assert_int_equal(brg_init(b, &bc, *now), TBMS_OK);
    if (b->n_packs == 1u) {
        fake_bms_run(b, regs, true, now, until);
    } else {
        const uint16_t *const images[] = {regs, regs2};
        assert_true(b->n_packs <= 2u);
        fake_bms_run_packs(b, images, NULL, b->n_packs, now, until);
    }
}

static uint64_t block_period(const tbms_poller_config_t *c, unsigned blk)
{
    switch (blk) {
    case TBMS_BLOCK_LIVE:
        return c->poll_interval_us;
    case TBMS_BLOCK_STATS:
        return c->stats_period_us;
    case TBMS_BLOCK_EVENTS:
        return c->events_period_us;
    default:
        return c->settings_period_us;
    }
}

/* What a hot reload must reproduce: the working configuration, the poll
 * schedule's shape, the limits derived from the same data. */
static void assert_same_working_state(const brg_t *a, const brg_t *b, uint64_t now,
                                      const char *key)
{
    if (memcmp(&a->cfg, &b->cfg, sizeof a->cfg) != 0) {
        fail_msg("%s: working configuration differs after a hot reload (cold limit %d vs %d)", key,
                 a->cfg.charge.low_temp_charge_dc, b->cfg.charge.low_temp_charge_dc);
    }
    /* The bank's configuration is derived with one pack too (unused then). */
    if (memcmp(&a->bank_cfg, &b->bank_cfg, sizeof a->bank_cfg) != 0) {
        fail_msg("%s: bank configuration differs after a hot reload", key);
    }
    assert_int_equal(a->n_packs, b->n_packs);
    for (size_t i = 1; i < a->n_packs; i++) {
        assert_memory_equal(&a->bms[i].poller.cfg, &b->bms[i].poller.cfg,
                            sizeof a->bms[i].poller.cfg);
    }
    if (a->n_packs > 1u) {
        const bank_out_t *oa = &a->bank_out, *ob = &b->bank_out;
        if (oa->valid != ob->valid || memcmp(&oa->combined, &ob->combined, sizeof oa->combined) ||
            oa->ccl_bound != ob->ccl_bound || oa->dcl_bound != ob->dcl_bound ||
            oa->ccl_pack != ob->ccl_pack || oa->dcl_pack != ob->dcl_pack) {
            fail_msg("%s: bank limits differ: CCL %d vs %d mA (%s vs %s), DCL %d vs %d mA", key,
                     (int)oa->combined.ccl_ma, (int)ob->combined.ccl_ma,
                     bank_bound_name(oa->ccl_bound), bank_bound_name(ob->ccl_bound),
                     (int)oa->combined.dcl_ma, (int)ob->combined.dcl_ma);
        }
        for (size_t i = 0; i < a->n_packs; i++) {
            const bank_pack_out_t *pa = &oa->pack[i], *pb = &ob->pack[i];
            if (pa->state != pb->state || pa->share_charge_pm != pb->share_charge_pm ||
                pa->share_discharge_pm != pb->share_discharge_pm ||
                pa->allow_charge_ma != pb->allow_charge_ma ||
                pa->allow_discharge_ma != pb->allow_discharge_ma) {
                fail_msg("%s: pack %zu differs in the bank: %s vs %s, share %d vs %d", key, i + 1u,
                         bank_pack_state_name(pa->state), bank_pack_state_name(pb->state),
                         (int)pa->share_charge_pm, (int)pb->share_charge_pm);
            }
        }
    }
    assert_memory_equal(&a->bms[0].poller.cfg, &b->bms[0].poller.cfg, sizeof a->bms[0].poller.cfg);
    for (unsigned blk = 0; blk < TBMS_BLOCK_COUNT_; blk++) {
        uint64_t p = block_period(&b->bms[0].poller.cfg, blk);
        bool a_never = a->bms[0].poller.due_us[blk] == UINT64_MAX;
        bool b_never = b->bms[0].poller.due_us[blk] == UINT64_MAX;
        if (a_never != b_never || (p == 0u) != a_never) {
            fail_msg("%s: block %s is %s after a hot reload, %s after a start", key,
                     tbms_block_name((tbms_block_t)blk), a_never ? "never read" : "read",
                     b_never ? "never read" : "read");
        }
        if (!a_never && a->bms[0].poller.due_us[blk] > now + p) {
            fail_msg("%s: block %s next read in %llu us, period %llu", key,
                     tbms_block_name((tbms_block_t)blk),
                     (unsigned long long)(a->bms[0].poller.due_us[blk] - now), (unsigned long long)p);
        }
    }
    uint64_t fa[3] = {a->next_fast_us, a->next_detail_us, a->next_identity_us};
    uint32_t pa[3] = {a->cfg.fast_period_us, a->cfg.detail_period_us, a->cfg.identity_period_us};
    for (unsigned i = 0; i < 3u; i++) {
        assert_true(fa[i] <= now + pa[i]);
    }
    chg_limits_t la, lb;
    assert_int_equal(chg_base_limits(&a->cfg.charge, &a->live, &a->settings, &a->pack, &la),
                     chg_base_limits(&b->cfg.charge, &b->live, &b->settings, &b->pack, &lb));
    if (memcmp(&la, &lb, sizeof la) != 0 || memcmp(&a->base_limits, &b->base_limits,
                                                   sizeof la) != 0) {
        fail_msg("%s: limits differ: CCL %d vs %d mA, DCL %d vs %d mA, CVL %d vs %d mV", key,
                 (int)a->base_limits.ccl_ma, (int)b->base_limits.ccl_ma,
                 (int)a->base_limits.dcl_ma, (int)b->base_limits.dcl_ma,
                 (int)a->base_limits.cvl_mv, (int)b->base_limits.cvl_mv);
    }
    int32_t ova, uva, ovb, uvb;
    alm_pack_thresholds(&a->cfg.thresholds, &a->live, &a->settings, &ova, &uva);
    alm_pack_thresholds(&b->cfg.thresholds, &b->live, &b->settings, &ovb, &uvb);
    assert_int_equal(ova, ovb);
    assert_int_equal(uva, uvb);
}

/* For every key of the schema: start with base, hot-reload base with that
 * key changed, and compare with a start on the changed configuration. */
static void hot_reload_every_key(const cfg_t *base, bool cold)
{
    static brg_t a, b;
    size_t tested = 0;
    for (size_t i = 0; i < cfg_key_count(); i++) {
        cfg_key_info_t k;
        assert_true(cfg_key_info(i, &k));
        if ((k.kind == CFG_KIND_INT || k.kind == CFG_KIND_DEC) && k.min == k.max) {
            continue; /* fixed by the protocol (baud rate, CAN bit rate) */
        }
        cfg_t changed;
        if (!changed_config(base, &k, &changed)) {
            fail_msg("%s: no other valid value found to test", k.path);
        }
        uint64_t now_a, now_b;
        start(&a, base, &now_a, 3 * S);
        if (cold) {
            assert_int_equal(a.limits.ccl_ma, 0); /* no charging */
        }
        brg_config_t bc;
        bridge_config_from_cfg(&changed, &bc);
        assert_int_equal(brg_reconfigure(&a, &bc, now_a), TBMS_OK);
        start(&b, &changed, &now_b, 3 * S);
        assert_int_equal(now_a, now_b);
        assert_same_working_state(&a, &b, now_a, k.path);
        tested++;
    }
    assert_true(tested + 2u >= cfg_key_count());
}

static void test_hot_reload_of_any_key_ends_where_a_start_would(void **state)
{
    (void)state;
    fake_bms_pack(regs, 16);
    regs[42] = 70; /* 7 C: below the base's 10 C cold-charge limit */
    cfg_t base = base_config();
    hot_reload_every_key(&base, true);
}

/* The same with a bank of two packs that share the current unequally
 * (10.5 A and 6 A), warm, so the bank's limits are its shares' and not 0:
 * every bank key, and every other one, takes effect at once and exactly. */
static void test_hot_reload_of_any_key_ends_where_a_start_would_with_two_packs(void **state)
{
    (void)state;
    fake_bms_pack(regs, 16);
    fake_bms_pack(regs2, 16);
    fake_bms_f32(regs2, 38, 6.0f);
    static const char *two = "{\"packs\":[{\"device\":\"/dev/ttyUSB0\"},"
                             "{\"device\":\"/dev/ttyUSB1\",\"name\":\"B\"}]}";
    cfg_t one = base_config();
    cfg_t base;
    cfg_error_t err;
    assert_int_equal(cfg_merge_json(&one, two, strlen(two), &base, &err), CFG_OK);
    static brg_t probe;
    uint64_t now;
    start(&probe, &base, &now, 3 * S);
    assert_int_equal(probe.n_packs, 2);
    assert_true(probe.bank_out.valid);
    assert_true(probe.bank_out.limits.ccl_ma > 0);
    assert_true(probe.bank_out.pack[0].share_charge_measured);
    hot_reload_every_key(&base, false);
}

/* Each pack is a serial port: the running bridge keeps its pack count
 * (svc_apply_config), the bank keys of the same change apply at once, and
 * the next start opens the new packs. */
static void svc_log(void *ctx, svc_log_level_t level, const char *line)
{
    (void)ctx;
    (void)level;
    (void)line;
}

static bool svc_save(void *ctx, uint64_t charged_mwh, uint64_t discharged_mwh)
{
    (void)ctx;
    (void)charged_mwh;
    (void)discharged_mwh;
    return true;
}

static void test_packs_take_effect_at_the_next_start_bank_keys_at_once(void **state)
{
    (void)state;
    static const svc_ops_t ops = {.log = svc_log, .save_energy = svc_save};
    static svc_t s, restarted;
    cfg_t one = base_config();
    assert_int_equal(svc_init(&s, &one, &ops, NULL, "test", 0), TBMS_OK);
    assert_int_equal(svc_bridge(&s)->n_packs, 1);

    static const char *two = "{\"packs\":[{\"device\":\"/dev/ttyUSB0\"},"
                             "{\"device\":\"/dev/ttyUSB1\"}],"
                             "\"bank\":{\"min_packs\":2,\"rejoin_hold_ms\":30000}}";
    cfg_t c;
    cfg_error_t err;
    assert_int_equal(cfg_merge_json(&one, two, strlen(two), &c, &err), CFG_OK);
    /* Asked as is, the bridge refuses a new pack count ... */
    static brg_t direct;
    uint64_t now;
    start(&direct, &one, &now, 1 * S);
    brg_config_t bc;
    bridge_config_from_cfg(&c, &bc);
    assert_int_equal(bc.packs, 2);
    assert_int_equal(brg_reconfigure(&direct, &bc, now), TBMS_ERR_RANGE);
    assert_int_equal(direct.n_packs, 1);
    /* ... so the service keeps the running count and applies the rest. */
    char why[128] = "";
    assert_int_equal(svc_apply_config(&s, &c, 1 * S, why, sizeof why), TBMS_OK);
    const brg_t *running = svc_bridge(&s);
    assert_int_equal(running->n_packs, 1);
    assert_int_equal(running->cfg.bank.min_packs, 2);
    assert_int_equal(running->bank_cfg.rejoin_hold_us, 30000u * 1000u);
    /* The next start reads two packs. */
    assert_int_equal(svc_init(&restarted, &c, &ops, NULL, "test", 0), TBMS_OK);
    assert_int_equal(svc_bridge(&restarted)->n_packs, 2);

    /* And back: [] leaves the two running until the next start. */
    static const char *none = "{\"packs\":[],\"bank\":{\"min_packs\":1}}";
    cfg_t back;
    assert_int_equal(cfg_merge_json(&c, none, strlen(none), &back, &err), CFG_OK);
    assert_int_equal(svc_apply_config(&restarted, &back, 1 * S, why, sizeof why), TBMS_OK);
    assert_int_equal(svc_bridge(&restarted)->n_packs, 2);
    assert_int_equal(svc_bridge(&restarted)->cfg.bank.min_packs, 1);
}

/* victron.dbus.* are the Linux port's (the D-Bus service, read at start):
 * no value of them reaches the bridge core's configuration. */
static void test_dbus_keys_do_not_reach_the_bridge_core(void **state)
{
    (void)state;
    cfg_t base = base_config();
    static const char *dbus = "{\"victron\":{\"dbus\":{\"enabled\":true,\"device_instance\":7,"
                              "\"product_id\":4660,\"custom_name\":\"Boat\"}}}";
    cfg_t c;
    cfg_error_t err;
    assert_int_equal(cfg_merge_json(&base, dbus, strlen(dbus), &c, &err), CFG_OK);
    assert_false(cfg_equal(&base, &c));
    brg_config_t a, b;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    bridge_config_from_cfg(&base, &a);
    bridge_config_from_cfg(&c, &b);
    assert_memory_equal(&a, &b, sizeof a);
}

static void test_hot_reload_turns_stats_and_events_reads_on_and_off(void **state)
{
    (void)state;
    static brg_t a;
    fake_bms_pack(regs, 16);
    cfg_t base = base_config(); /* stats and events never read */
    uint64_t now;
    start(&a, &base, &now, 3 * S);
    assert_false(a.bms[0].stats.valid);
    static const char *on = "{\"tinybms\":{\"stats_refresh_ms\":2000,\"events_refresh_ms\":2000}}";
    cfg_t c;
    cfg_error_t err;
    assert_int_equal(cfg_merge_json(&base, on, strlen(on), &c, &err), CFG_OK);
    brg_config_t bc;
    bridge_config_from_cfg(&c, &bc);
    assert_int_equal(brg_reconfigure(&a, &bc, now), TBMS_OK);
    fake_bms_run(&a, regs, true, &now, now + 1 * S);
    assert_true(a.bms[0].stats.valid);
    assert_true(a.bms[0].events.valid);
    bridge_config_from_cfg(&base, &bc);
    assert_int_equal(brg_reconfigure(&a, &bc, now), TBMS_OK);
    assert_int_equal(a.bms[0].poller.due_us[TBMS_BLOCK_STATS], UINT64_MAX);
    assert_int_equal(a.bms[0].poller.due_us[TBMS_BLOCK_EVENTS], UINT64_MAX);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_have_one_source_the_core),
        cmocka_unit_test(test_hot_reload_of_any_key_ends_where_a_start_would),
        cmocka_unit_test(test_hot_reload_of_any_key_ends_where_a_start_would_with_two_packs),
        cmocka_unit_test(test_packs_take_effect_at_the_next_start_bank_keys_at_once),
        cmocka_unit_test(test_dbus_keys_do_not_reach_the_bridge_core),
        cmocka_unit_test(test_hot_reload_turns_stats_and_events_reads_on_and_off),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
