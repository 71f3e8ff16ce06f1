/* Tests of hub.h: documents, CAN ring, config and write hand-over between threads. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hub.h"

static void test_hub_publish_and_copy_documents(void **state)
{
    (void)state;
    hub_t *h = hub_create();
    assert_non_null(h);
    uint64_t seq = 99;
    assert_null(hub_get(h, HUB_DOC_STATUS, &seq));
    assert_int_equal(seq, 0);
    hub_publish(h, HUB_DOC_STATUS, strdup("{\"a\":1}"));
    hub_publish(h, HUB_DOC_STATUS, strdup("{\"a\":2}"));
    char *s = hub_get(h, HUB_DOC_STATUS, &seq);
    assert_string_equal(s, "{\"a\":2}");
    assert_int_equal(seq, 2);
    free(s);
    hub_publish(h, HUB_DOC_COUNT_, strdup("x")); /* ignored, not leaked */
    assert_null(hub_get(h, HUB_DOC_COUNT_, NULL));
    hub_destroy(h);
}

static void test_hub_status_snapshot_and_text_are_one_publication(void **state)
{
    (void)state;
    hub_t *h = hub_create();
    assert_non_null(h);
    status_t got;
    memset(&got, 0x5A, sizeof got);
    uint64_t seq = 99;
    assert_false(hub_get_status(h, &got, &seq));
    assert_int_equal(seq, 0);
    assert_int_equal(got.seq, 0x5A5A5A5A5A5A5A5Aull); /* untouched */

    status_t st;
    memset(&st, 0, sizeof st);
    st.seq = 7;
    st.voltage = (status_num_t){.known = true, .v = 53.12};
    snprintf(st.uart.device, sizeof st.uart.device, "/dev/ttyUSB0");
    hub_publish_status(h, &st, strdup("{\"voltage\":53.12}"));
    st.voltage.v = 1.0; /* the hub holds its own copy */
    snprintf(st.uart.device, sizeof st.uart.device, "changed");
    assert_true(hub_get_status(h, &got, &seq));
    assert_int_equal(seq, 1);
    assert_int_equal(got.seq, 7);
    assert_true(got.voltage.known);
    assert_float_equal(got.voltage.v, 53.12, 0);
    assert_string_equal(got.uart.device, "/dev/ttyUSB0");
    char *text = hub_get(h, HUB_DOC_STATUS, &seq);
    assert_string_equal(text, "{\"voltage\":53.12}");
    assert_int_equal(seq, 1);
    free(text);

    /* No text (out of memory while rendering): the snapshot moves on, the text stays. */
    st.seq = 8;
    hub_publish_status(h, &st, NULL);
    assert_true(hub_get_status(h, &got, &seq));
    assert_int_equal(got.seq, 8);
    assert_int_equal(seq, 2);
    text = hub_get(h, HUB_DOC_STATUS, NULL);
    assert_string_equal(text, "{\"voltage\":53.12}");
    free(text);
    assert_int_equal(hub_wait_status(h, 1, 1000), 2);

    hub_publish_status(h, NULL, strdup("x")); /* ignored, not leaked */
    /* Text alone: the snapshot is forgotten rather than left behind. */
    hub_publish(h, HUB_DOC_STATUS, strdup("{}"));
    assert_false(hub_get_status(h, &got, NULL));
    hub_destroy(h);
}

static void test_hub_wait_status_times_out_then_sees_new_status(void **state)
{
    (void)state;
    hub_t *h = hub_create();
    assert_int_equal(hub_wait_status(h, 0, 20), 0);
    hub_publish(h, HUB_DOC_STATUS, strdup("{}"));
    assert_int_equal(hub_wait_status(h, 0, 1000), 1);
    hub_destroy(h);
}

static void test_hub_can_ring_keeps_the_newest_frames_in_order(void **state)
{
    (void)state;
    hub_t *h = hub_create();
    for (unsigned i = 0; i < HUB_CAN_RING + 10; i++) {
        vcan_frame_t f = {.id = (uint16_t)i, .dlc = 8};
        hub_push_can(h, true, &f, 1000 + i);
    }
    hub_can_entry_t out[HUB_CAN_RING + 10];
    size_t n = hub_can_since(h, 0, out, HUB_CAN_RING + 10);
    assert_int_equal(n, HUB_CAN_RING);
    assert_int_equal(out[0].seq, 11);
    assert_int_equal(out[n - 1].seq, HUB_CAN_RING + 10);
    assert_int_equal(out[n - 1].frame.id, HUB_CAN_RING + 9);
    n = hub_can_since(h, HUB_CAN_RING + 8, out, 10);
    assert_int_equal(n, 2);
    hub_destroy(h);
}

/* A loop thread for the configuration hand-over: takes one configuration
 * (polling like the daemon would after its eventfd wake-up), waits
 * delay_us, then applies it or refuses it. */
typedef struct {
    hub_t *hub;
    bool refuse;
    useconds_t delay_us;
    uint64_t seq;    /* seq it took */
    int32_t poll_ms; /* tinybms.poll_interval_ms it took */
} config_loop_t;

static void *config_loop(void *arg)
{
    config_loop_t *l = arg;
    cfg_t c;
    for (int i = 0; i < 400; i++) {
        if (hub_take_config(l->hub, &c, &l->seq)) {
            l->poll_ms = c.tinybms.poll_interval_ms;
            usleep(l->delay_us);
            hub_finish_config(l->hub, l->seq, l->refuse ? NULL : &c,
                              l->refuse ? "value out of range" : NULL);
            return NULL;
        }
        usleep(1000);
    }
    return NULL;
}

static void test_hub_config_post_wakes_the_loop_once(void **state)
{
    (void)state;
    hub_t *h = hub_create();
    cfg_t c, got;
    uint64_t seq = 0, taken = 0;
    cfg_defaults(&c);
    c.tinybms.poll_interval_ms = 250;
    assert_false(hub_take_config(h, &got, &taken));
    /* nobody runs the loop: the post stays pending, the wait times out */
    assert_int_equal(hub_apply_config(h, &c, 10, &seq, NULL, 0), HUB_CONFIG_PENDING);
    assert_int_equal(seq, 1);
    struct pollfd p = {.fd = hub_wake_fd(h), .events = POLLIN};
    assert_int_equal(poll(&p, 1, 0), 1);
    hub_clear_wake(h);
    assert_int_equal(poll(&p, 1, 0), 0);
    assert_true(hub_take_config(h, &got, &taken));
    assert_int_equal(taken, 1);
    assert_int_equal(got.tinybms.poll_interval_ms, 250);
    assert_false(hub_take_config(h, &got, &taken));
    hub_destroy(h);
}

static void test_hub_config_applied_by_the_loop_becomes_running_before_the_answer(void **state)
{
    (void)state;
    hub_t *h = hub_create();
    cfg_t c, got;
    cfg_defaults(&c);
    c.tinybms.poll_interval_ms = 250;
    config_loop_t l = {.hub = h, .refuse = false, .delay_us = 20000};
    pthread_t t;
    pthread_create(&t, NULL, config_loop, &l);
    uint64_t seq = 0;
    char why[64] = "untouched";
    assert_int_equal(hub_apply_config(h, &c, 2000, &seq, why, sizeof why), HUB_CONFIG_APPLIED);
    assert_string_equal(why, "");
    hub_get_running_config(h, &got); /* no waiting: already the running one */
    assert_int_equal(got.tinybms.poll_interval_ms, 250);
    pthread_join(t, NULL);
    assert_int_equal(l.seq, seq);
    assert_int_equal(l.poll_ms, 250);
    hub_destroy(h);
}

static void test_hub_config_refused_by_the_loop_gives_the_reason_and_keeps_running(void **state)
{
    (void)state;
    hub_t *h = hub_create();
    cfg_t c, got, before;
    hub_get_running_config(h, &before);
    cfg_defaults(&c);
    c.tinybms.poll_interval_ms = before.tinybms.poll_interval_ms + 50;
    config_loop_t l = {.hub = h, .refuse = true, .delay_us = 0};
    pthread_t t;
    pthread_create(&t, NULL, config_loop, &l);
    char why[64];
    assert_int_equal(hub_apply_config(h, &c, 2000, NULL, why, sizeof why), HUB_CONFIG_REFUSED);
    assert_string_equal(why, "value out of range");
    pthread_join(t, NULL);
    hub_get_running_config(h, &got);
    assert_int_equal(got.tinybms.poll_interval_ms, before.tinybms.poll_interval_ms);
    /* the refusal closed that post: the next one is accepted */
    l = (config_loop_t){.hub = h, .refuse = false, .delay_us = 0};
    pthread_create(&t, NULL, config_loop, &l);
    uint64_t seq = 0;
    assert_int_equal(hub_apply_config(h, &c, 2000, &seq, NULL, 0), HUB_CONFIG_APPLIED);
    assert_int_equal(seq, 2);
    pthread_join(t, NULL);
    hub_destroy(h);
}

static void test_hub_config_timeout_is_pending_busy_until_the_late_outcome(void **state)
{
    (void)state;
    hub_t *h = hub_create();
    cfg_t c, got;
    cfg_defaults(&c);
    c.tinybms.poll_interval_ms = 300;
    /* the loop takes it at once but needs 200 ms: the poster gives up at 30 */
    config_loop_t l = {.hub = h, .refuse = false, .delay_us = 200000};
    pthread_t t;
    pthread_create(&t, NULL, config_loop, &l);
    uint64_t seq = 0;
    assert_int_equal(hub_apply_config(h, &c, 30, &seq, NULL, 0), HUB_CONFIG_PENDING);
    assert_int_equal(seq, 1);
    hub_get_running_config(h, &got); /* not applied yet: not running */
    assert_int_not_equal(got.tinybms.poll_interval_ms, 300);
    /* a second change while the first has no outcome is not posted */
    cfg_t other = c;
    other.tinybms.poll_interval_ms = 400;
    assert_int_equal(hub_apply_config(h, &other, 2000, &seq, NULL, 0), HUB_CONFIG_BUSY);
    assert_int_equal(seq, 0);
    pthread_join(t, NULL); /* the late outcome arrives, nobody waits for it */
    hub_get_running_config(h, &got);
    assert_int_equal(got.tinybms.poll_interval_ms, 300);
    /* an outcome for a seq never posted, or already finished, is ignored */
    hub_finish_config(h, 7, &other, NULL);
    hub_finish_config(h, 1, &other, NULL);
    hub_get_running_config(h, &got);
    assert_int_equal(got.tinybms.poll_interval_ms, 300);
    /* free again */
    l = (config_loop_t){.hub = h, .refuse = false, .delay_us = 0};
    pthread_create(&t, NULL, config_loop, &l);
    assert_int_equal(hub_apply_config(h, &other, 2000, &seq, NULL, 0), HUB_CONFIG_APPLIED);
    assert_int_equal(seq, 2);
    pthread_join(t, NULL);
    hub_get_running_config(h, &got);
    assert_int_equal(got.tinybms.poll_interval_ms, 400);
    hub_destroy(h);
}

static void test_hub_config_untaken_post_times_out_and_the_loop_applies_it_later(void **state)
{
    (void)state;
    hub_t *h = hub_create();
    cfg_t c, got;
    uint64_t seq = 0, taken = 0;
    cfg_defaults(&c);
    c.tinybms.poll_interval_ms = 500;
    assert_int_equal(hub_apply_config(h, &c, 20, &seq, NULL, 0), HUB_CONFIG_PENDING);
    /* it stays posted: the loop, back, takes this very post */
    assert_true(hub_take_config(h, &got, &taken));
    assert_int_equal(taken, seq);
    hub_finish_config(h, taken, &got, NULL);
    hub_get_running_config(h, &got);
    assert_int_equal(got.tinybms.poll_interval_ms, 500);
    hub_destroy(h);
}

static void *fake_loop(void *arg)
{
    hub_t *h = arg;
    hub_write_req_t req;
    for (int i = 0; i < 200; i++) {
        if (hub_take_write(h, &req)) {
            hub_write_result_t res = {.status = 0};
            snprintf(res.message, sizeof res.message, "wrote %u", req.count);
            memcpy(res.readback, req.values, req.count * sizeof req.values[0]);
            hub_finish_write(h, &res);
            return NULL;
        }
        usleep(5000);
    }
    return NULL;
}

static void *slow_loop(void *arg)
{
    hub_t *h = arg;
    hub_write_req_t req;
    for (int i = 0; i < 200; i++) {
        if (hub_take_write(h, &req)) {
            usleep(100000);
            hub_write_result_t res = {.status = 0};
            hub_finish_write(h, &res);
            return NULL;
        }
        usleep(1000);
    }
    return NULL;
}

static void test_hub_write_round_trip_through_the_loop(void **state)
{
    (void)state;
    hub_t *h = hub_create();
    pthread_t t;
    pthread_create(&t, NULL, fake_loop, h);
    hub_write_req_t req = {.addr = 315, .count = 2, .values = {3650, 2800}};
    hub_write_result_t res;
    assert_true(hub_write(h, &req, 2000, &res));
    assert_int_equal(res.status, 0);
    assert_string_equal(res.message, "wrote 2");
    assert_int_equal(res.readback[1], 2800);
    pthread_join(t, NULL);
    hub_destroy(h);
}

static void test_hub_write_times_out_and_the_late_result_frees_the_slot(void **state)
{
    (void)state;
    hub_t *h = hub_create();
    hub_write_req_t req = {.addr = 300, .count = 1, .values = {3500}};
    hub_write_result_t res;
    assert_false(hub_write(h, &req, 30, &res)); /* nobody takes it */
    assert_int_not_equal(res.status, 0);
    /* taken by a slow loop, abandoned by the poster, finished late */
    pthread_t t;
    pthread_create(&t, NULL, slow_loop, h);
    assert_false(hub_write(h, &req, 20, &res));
    pthread_join(t, NULL);
    /* the slot is free again: the next write goes through */
    pthread_create(&t, NULL, fake_loop, h);
    assert_true(hub_write(h, &req, 2000, &res));
    assert_int_equal(res.status, 0);
    pthread_join(t, NULL);
    hub_destroy(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hub_publish_and_copy_documents),
        cmocka_unit_test(test_hub_status_snapshot_and_text_are_one_publication),
        cmocka_unit_test(test_hub_wait_status_times_out_then_sees_new_status),
        cmocka_unit_test(test_hub_can_ring_keeps_the_newest_frames_in_order),
        cmocka_unit_test(test_hub_config_post_wakes_the_loop_once),
        cmocka_unit_test(test_hub_config_applied_by_the_loop_becomes_running_before_the_answer),
        cmocka_unit_test(test_hub_config_refused_by_the_loop_gives_the_reason_and_keeps_running),
        cmocka_unit_test(test_hub_config_timeout_is_pending_busy_until_the_late_outcome),
        cmocka_unit_test(test_hub_config_untaken_post_times_out_and_the_loop_applies_it_later),
        cmocka_unit_test(test_hub_write_round_trip_through_the_loop),
        cmocka_unit_test(test_hub_write_times_out_and_the_late_result_frees_the_slot),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
