/*
 * Tests of the CAN port factory (can_port.c: spec parsing, table checks)
 * and the candump-log backend (can_log.c).
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

#include "can_port.h"

static char tmpdir[64];

static int make_dir(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/tbvb-canlog-XXXXXX");
    return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int remove_dir(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static size_t read_file(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t n = fread(buf, 1, cap - 1, f);
    buf[n] = '\0';
    fclose(f);
    return n;
}

/* "(SSSSSSSSSS.UUUUUU) " prefix: digits, a dot, exactly six digits. */
static const char *skip_timestamp(const char *line)
{
    assert_int_equal(line[0], '(');
    const char *p = line + 1;
    size_t sec = strspn(p, "0123456789");
    assert_true(sec >= 10);
    p += sec;
    assert_int_equal(*p, '.');
    p++;
    assert_int_equal(strspn(p, "0123456789"), 6);
    p += 6;
    assert_int_equal(p[0], ')');
    assert_int_equal(p[1], ' ');
    return p + 2;
}

static void test_bad_specs_get_clear_errors(void **state)
{
    (void)state;
    static const char *const bad[] = {"",     "can0",      "socketcan",      "socketcan:", "slcan:",
                                      "log:", "vcan:can0", "SOCKETCAN:can0", ":x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        canport_t port;
        char err[256] = "";
        assert_int_equal(canport_open(&port, bad[i], 0, err, sizeof err), CANPORT_ERR_SPEC);
        assert_non_null(strstr(err, "expected socketcan:IFACE"));
        assert_null(port.ops);
    }
    canport_t port;
    assert_int_equal(canport_open(&port, "bogus", 0, NULL, 0), CANPORT_ERR_SPEC);
    assert_int_equal(canport_open(NULL, "log:-", 0, NULL, 0), CANPORT_ERR_ARG);
}

static void test_init_refuses_table_missing_required_entry(void **state)
{
    (void)state;
    canport_t port;
    canport_ops_t ops = canport_log_ops;
    assert_int_equal(canport_init(&port, &ops, NULL), CANPORT_OK);
    ops.recv = NULL;
    assert_int_equal(canport_init(&port, &ops, NULL), CANPORT_ERR_ARG);
    assert_null(port.ops);
    ops = canport_log_ops;
    ops.last_error = NULL;
    assert_int_equal(canport_init(&port, &ops, NULL), CANPORT_ERR_ARG);
    assert_int_equal(canport_init(&port, NULL, NULL), CANPORT_ERR_ARG);
    ops = canport_log_ops;
    ops.tick = NULL; /* optional */
    assert_int_equal(canport_init(&port, &ops, NULL), CANPORT_OK);

    /* An unbound port is harmless. */
    canport_t none;
    memset(&none, 0, sizeof none);
    vcan_frame_t f = {0};
    assert_int_equal(canport_send(&none, &f, 0), CANPORT_ERR_ARG);
    assert_int_equal(canport_recv(&none, &f, 0), CANPORT_ERR_ARG);
    assert_int_equal(canport_fd(&none), -1);
    assert_string_equal(canport_last_error(&none), "");
    canport_tick(&none, 0);
    canport_close(&none);
}

static void test_log_writes_candump_lines_default_vcan0(void **state)
{
    (void)state;
    char path[128];
    snprintf(path, sizeof path, "%s/tx.log", tmpdir);
    char spec[160];
    snprintf(spec, sizeof spec, "log:%s", path);
    canport_t port;
    char err[256] = "";
    assert_int_equal(canport_open(&port, spec, 0, err, sizeof err), CANPORT_OK);
    assert_int_equal(canport_fd(&port), -1);
    vcan_frame_t f = {
        .id = 0x351, .dlc = 8, .data = {0x48, 0x02, 0x00, 0x05, 0x00, 0x05, 0xAE, 0x01}};
    assert_int_equal(canport_send(&port, &f, 0), CANPORT_OK);
    vcan_frame_t e = {.id = 0x05, .dlc = 0};
    assert_int_equal(canport_send(&port, &e, 0), CANPORT_OK);
    vcan_frame_t bad = {.id = 0x800, .dlc = 0};
    assert_int_equal(canport_send(&port, &bad, 0), CANPORT_ERR_FRAME);

    /* flushed per line: readable before close */
    char buf[512];
    read_file(path, buf, sizeof buf);
    char *nl = strchr(buf, '\n');
    assert_non_null(nl);
    *nl = '\0';
    assert_string_equal(skip_timestamp(buf), "vcan0 351#480200050005AE01");
    char *second = nl + 1;
    nl = strchr(second, '\n');
    assert_non_null(nl);
    *nl = '\0';
    assert_string_equal(skip_timestamp(second), "vcan0 005#");
    assert_string_equal(nl + 1, "");

    vcan_frame_t out;
    assert_int_equal(canport_recv(&port, &out, 0), CANPORT_ERR_EMPTY);
    canport_stats_t s;
    canport_get_stats(&port, &s);
    assert_int_equal(s.tx_frames, 2);
    assert_int_equal(s.tx_errors, 1);
    assert_true(s.connected);
    canport_tick(&port, 5);
    canport_close(&port);
}

static void test_log_appends_and_takes_interface_suffix(void **state)
{
    (void)state;
    char path[128];
    snprintf(path, sizeof path, "%s/a@b.log", tmpdir);
    char spec[200];
    /* '@' inside the file name stays in the path; only a trailing @name is the interface. */
    snprintf(spec, sizeof spec, "log:%s@can1", path);
    for (int round = 0; round < 2; round++) {
        canport_t port;
        char err[256] = "";
        assert_int_equal(canport_open(&port, spec, 0, err, sizeof err), CANPORT_OK);
        vcan_frame_t f = {.id = 0x7FF, .dlc = 1, .data = {0x0F}};
        assert_int_equal(canport_send(&port, &f, 0), CANPORT_OK);
        canport_close(&port);
    }
    char buf[512];
    read_file(path, buf, sizeof buf);
    char *nl = strchr(buf, '\n');
    assert_non_null(nl);
    *nl = '\0';
    assert_string_equal(skip_timestamp(buf), "can1 7FF#0F");
    char *second = nl + 1;
    nl = strchr(second, '\n');
    assert_non_null(nl);
    *nl = '\0';
    assert_string_equal(skip_timestamp(second), "can1 7FF#0F");
}

static void test_log_unwritable_path_fails_with_path_in_message(void **state)
{
    (void)state;
    canport_t port;
    char err[256] = "";
    assert_int_equal(canport_open(&port, "log:/nonexistent-dir/x.log", 0, err, sizeof err),
                     CANPORT_ERR_OPEN);
    assert_non_null(strstr(err, "/nonexistent-dir/x.log"));
    assert_non_null(strstr(err, "No such file"));
}

static void test_log_stdout(void **state)
{
    (void)state;
    canport_t port;
    char err[256] = "";
    assert_int_equal(canport_open(&port, "log:-", 0, err, sizeof err), CANPORT_OK);
    vcan_frame_t f = {.id = 0x35E, .dlc = 3, .data = {'B', 'Y', 'D'}};
    assert_int_equal(canport_send(&port, &f, 0), CANPORT_OK);
    canport_close(&port);
    /* stdout stays usable */
    assert_true(fprintf(stdout, "    (stdout still open)\n") > 0);
}

static void test_strerror_and_state_names(void **state)
{
    (void)state;
    for (int e = 0; e < CANPORT_ERR_COUNT_; e++) {
        assert_string_not_equal(canport_strerror((canport_err_t)e), "unknown CAN port error");
    }
    assert_string_equal(canport_strerror(CANPORT_ERR_COUNT_), "unknown CAN port error");
    assert_string_equal(canport_bus_state_name(CANPORT_BUS_PASSIVE), "passive");
    assert_string_equal(canport_bus_state_name(CANPORT_BUS_WARNING), "warning");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_specs_get_clear_errors),
        cmocka_unit_test(test_init_refuses_table_missing_required_entry),
        cmocka_unit_test(test_log_writes_candump_lines_default_vcan0),
        cmocka_unit_test(test_log_appends_and_takes_interface_suffix),
        cmocka_unit_test(test_log_unwritable_path_fails_with_path_in_message),
        cmocka_unit_test(test_log_stdout),
        cmocka_unit_test(test_strerror_and_state_names),
    };
    return cmocka_run_group_tests(tests, make_dir, remove_dir);
}
