/*
 * Tests of log.h's file sink: lines go through the writer thread, arrive
 * whole and in order, rotation never splits a line, close writes what is
 * queued.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

static char dir[64];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/tbvb-log-XXXXXX");
    assert_non_null(mkdtemp(dir));
    log_set_level(LOG_INFO);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Reads DIR/name whole; NULL when missing. Caller frees. */
static char *slurp(const char *name)
{
    char path[128];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        return NULL;
    }
    static char buf[1 << 20];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *out = malloc(n + 1);
    memcpy(out, buf, n + 1);
    return out;
}

/* 2000 lines of ~70 bytes fit in the queue whatever the writer's speed: none
 * may be dropped, even when the machine is busy. */
static void test_log_file_gets_every_line_in_order_once_closed(void **state)
{
    (void)state;
    assert_int_equal(log_open_file(dir, 1u << 20, 2), 0);
    for (int i = 0; i < 2000; i++) {
        log_msg(LOG_INFO, "line %04d of the writer test", i); /* distinct: no storm guard */
    }
    log_close_file();
    char *text = slurp("bridge.log");
    assert_non_null(text);
    const char *p = text;
    for (int i = 0; i < 2000; i++) {
        char want[64];
        snprintf(want, sizeof want, "line %04d of the writer test\n", i);
        const char *hit = strstr(p, want);
        assert_non_null(hit);
        p = hit + strlen(want);
    }
    free(text);
    log_stats_t st;
    log_get_stats(&st);
    assert_int_equal(st.file_dropped, 0);
}

static void test_log_rotation_never_splits_a_line(void **state)
{
    (void)state;
    assert_int_equal(log_open_file(dir, 4096u, 3), 0);
    for (int i = 0; i < 300; i++) {
        log_msg(LOG_INFO, "rotation line %04d with some padding to fill the file", i);
    }
    log_close_file();
    const char *names[] = {"bridge.log", "bridge.log.1", "bridge.log.2"};
    for (unsigned k = 0; k < 3; k++) {
        char *text = slurp(names[k]);
        assert_non_null(text);
        size_t n = strlen(text);
        assert_true(n > 0 && n <= 4096u + 200u);
        assert_int_equal(text[n - 1], '\n'); /* ends on a whole line */
        /* every line starts with a time stamp: none is a tail of another */
        for (char *line = text; *line != '\0'; line = strchr(line, '\n') + 1) {
            assert_true(line[0] == '2' && line[4] == '-');
        }
        free(text);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_log_file_gets_every_line_in_order_once_closed, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_log_rotation_never_splits_a_line, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
