/* Tests of history.h: the sampling decision (valid data only, one gap marker
 * per stale period), the ring and its columnar JSON. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "history.h"

static history_t hist; /* 24 h of samples: not on the stack */

static history_sample_t sample_at(uint64_t t_ms, int32_t pack_mv)
{
    history_sample_t s = {
        .t_ms = t_ms,
        .pack_mv = pack_mv,
        .current_ma = -12500,
        .soc_cpct = 8730,
        .cell_min_mv = 3315,
        .cell_max_mv = 3325,
        .temp_dc = 254,
        .cvl_mv = 55200,
        .ccl_ma = 80000,
        .dcl_ma = 150000,
    };
    return s;
}

static void test_history_samples_valid_data_when_due(void **state)
{
    (void)state;
    history_init(&hist);
    assert_int_equal(history_next(&hist, true, 0), HISTORY_SAMPLE); /* first: at once */
    history_sample_t s = sample_at(1732426200000u, 53100);
    history_add(&hist, &s, 1000);
    assert_int_equal(history_next(&hist, true, 1000 + HISTORY_INTERVAL_MS - 1), HISTORY_IDLE);
    assert_int_equal(history_next(&hist, true, 1000 + HISTORY_INTERVAL_MS), HISTORY_SAMPLE);
}

static void test_history_stale_data_records_no_sample_only_one_gap_marker(void **state)
{
    (void)state;
    history_init(&hist);
    history_sample_t s = sample_at(1732426200000u, 53100);
    history_add(&hist, &s, 1000);
    uint64_t due = 1000 + HISTORY_INTERVAL_MS;
    /* stale before the next sample is due: a marker at once, then nothing,
     * however many samples would have been due */
    assert_int_equal(history_next(&hist, false, 3000), HISTORY_GAP);
    history_add_gap(&hist, 1732426202000u);
    for (uint64_t t = 3000; t < due + 5u * HISTORY_INTERVAL_MS; t += 500u) {
        assert_int_equal(history_next(&hist, false, t), HISTORY_IDLE);
    }
    assert_int_equal(history_count(&hist), 2);
    const history_sample_t *g = history_at(&hist, 1);
    assert_int_equal(g->t_ms, 1732426202000u);
    assert_int_equal(g->pack_mv, HISTORY_NONE);
    assert_int_equal(g->current_ma, HISTORY_NONE);
    assert_int_equal(g->soc_cpct, HISTORY_NONE);
    assert_int_equal(g->cell_min_mv, HISTORY_NONE);
    assert_int_equal(g->cell_max_mv, HISTORY_NONE);
    assert_int_equal(g->temp_dc, HISTORY_NONE);
    assert_int_equal(g->cvl_mv, HISTORY_NONE);
    assert_int_equal(g->ccl_ma, HISTORY_NONE);
    assert_int_equal(g->dcl_ma, HISTORY_NONE);
}

static void
test_history_valid_again_samples_at_once_and_next_stale_period_gets_a_marker(void **state)
{
    (void)state;
    history_init(&hist);
    history_sample_t s = sample_at(1000000u, 53100);
    history_add(&hist, &s, 1000);
    history_add_gap(&hist, 1003000u);
    /* back to valid long after the sample was due: a sample at once */
    uint64_t back = 1000 + 3u * HISTORY_INTERVAL_MS;
    assert_int_equal(history_next(&hist, true, back), HISTORY_SAMPLE);
    s = sample_at(1031000u, 53200);
    history_add(&hist, &s, back);
    assert_int_equal(history_next(&hist, true, back + 1u), HISTORY_IDLE);
    /* stale again: a new marker */
    assert_int_equal(history_next(&hist, false, back + 2000u), HISTORY_GAP);
    history_add_gap(&hist, 1033000u);
    assert_int_equal(history_next(&hist, false, back + 2500u), HISTORY_IDLE);
    assert_int_equal(history_count(&hist), 4);
}

static void test_history_no_marker_before_the_first_sample(void **state)
{
    (void)state;
    history_init(&hist);
    /* waiting for the first valid read: nothing to break */
    assert_int_equal(history_next(&hist, false, 0), HISTORY_IDLE);
    assert_int_equal(history_next(&hist, false, 5u * HISTORY_INTERVAL_MS), HISTORY_IDLE);
    assert_int_equal(history_count(&hist), 0);
    assert_int_equal(history_next(NULL, true, 0), HISTORY_IDLE);
    history_add_gap(NULL, 0); /* ignored */
}

static void test_history_json_shows_the_gap_marker_as_nulls(void **state)
{
    (void)state;
    history_init(&hist);
    history_sample_t s = sample_at(1732426200000u, 53100);
    history_add(&hist, &s, 1000);
    history_add_gap(&hist, 1732426203000u);
    s = sample_at(1732426230000u, 53200);
    history_add(&hist, &s, 31000);
    char *json = history_json(&hist);
    assert_non_null(json);
    assert_non_null(strstr(json, "\"count\":3,"));
    assert_non_null(strstr(json, "\"t\":[1732426200,1732426203,1732426230]"));
    assert_non_null(strstr(json, "\"voltage\":[53.10,null,53.20]"));
    assert_non_null(strstr(json, "\"temperature\":[25.4,null,25.4]"));
    assert_non_null(strstr(json, "\"dcl_a\":[150.0,null,150.0]"));
    free(json);
}

static void test_history_ring_keeps_the_newest_with_markers_counted(void **state)
{
    (void)state;
    history_init(&hist);
    uint64_t mono = 0;
    for (unsigned i = 0; i < HISTORY_CAPACITY + 2u; i++) {
        history_sample_t s = sample_at(1000000u + i * 10000u, 50000 + (int32_t)i);
        history_add(&hist, &s, mono);
        mono += HISTORY_INTERVAL_MS;
    }
    history_add_gap(&hist, 999999999u);
    assert_int_equal(history_count(&hist), HISTORY_CAPACITY);
    assert_int_equal(history_at(&hist, 0)->pack_mv, 50003);
    assert_int_equal(history_at(&hist, HISTORY_CAPACITY - 1u)->pack_mv, HISTORY_NONE);
    assert_null(history_at(&hist, HISTORY_CAPACITY));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_history_samples_valid_data_when_due),
        cmocka_unit_test(test_history_stale_data_records_no_sample_only_one_gap_marker),
        cmocka_unit_test(
            test_history_valid_again_samples_at_once_and_next_stale_period_gets_a_marker),
        cmocka_unit_test(test_history_no_marker_before_the_first_sample),
        cmocka_unit_test(test_history_json_shows_the_gap_marker_as_nulls),
        cmocka_unit_test(test_history_ring_keeps_the_newest_with_markers_counted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
