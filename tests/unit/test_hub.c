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

static void test_hub_config_post_wakes_the_loop_once(void **state)
{
    (void)state;
    hub_t *h = hub_create();
    cfg_t c, got;
    cfg_defaults(&c);
    c.tinybms.poll_interval_ms = 250;
    assert_false(hub_take_config(h, &got));
    hub_post_config(h, &c);
    struct pollfd p = {.fd = hub_wake_fd(h), .events = POLLIN};
    assert_int_equal(poll(&p, 1, 0), 1);
    hub_clear_wake(h);
    assert_int_equal(poll(&p, 1, 0), 0);
    assert_true(hub_take_config(h, &got));
    assert_int_equal(got.tinybms.poll_interval_ms, 250);
    assert_false(hub_take_config(h, &got));
    hub_get_running_config(h, &got);
    assert_int_equal(got.tinybms.poll_interval_ms, 250);
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
        cmocka_unit_test(test_hub_wait_status_times_out_then_sees_new_status),
        cmocka_unit_test(test_hub_can_ring_keeps_the_newest_frames_in_order),
        cmocka_unit_test(test_hub_config_post_wakes_the_loop_once),
        cmocka_unit_test(test_hub_write_round_trip_through_the_loop),
        cmocka_unit_test(test_hub_write_times_out_and_the_late_result_frees_the_slot),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
