/* Tests of atomic_file.h and the energy counter file built on it. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomic_file.h"
#include "energy_store.h"

static char dir[64];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/tbvb-af-XXXXXX");
    return mkdtemp(dir) != NULL ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static char *slurp(const char *path)
{
    static char buf[256];
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        return NULL;
    }
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

static void test_atomic_write_creates_and_replaces_with_exact_mode(void **state)
{
    (void)state;
    char path[128];
    snprintf(path, sizeof path, "%s/a.json", dir);
    af_result_t r;
    umask(022);
    assert_true(atomic_write_file(path, "one", 3, 0600, &r));
    assert_string_equal(slurp(path), "one");
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_true(atomic_write_file(path, "two!", 4, 0644, &r));
    assert_string_equal(slurp(path), "two!");
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0644);
    /* no temporary file left behind */
    char cmd[160];
    snprintf(cmd, sizeof cmd, "test $(ls -A %s | wc -l) -eq 1", dir);
    assert_int_equal(system(cmd), 0);
}

static void test_atomic_write_failure_leaves_the_old_file(void **state)
{
    (void)state;
    char path[128];
    snprintf(path, sizeof path, "%s/missing-dir/a.json", dir);
    af_result_t r;
    assert_false(atomic_write_file(path, "x", 1, 0600, &r));
    assert_int_equal(r.step, AF_CREATE);
    assert_int_equal(r.err, ENOENT);
    assert_false(atomic_write_file("", "x", 1, 0600, &r));
    assert_int_equal(r.step, AF_BAD_PATH);
    snprintf(path, sizeof path, "%s/", dir);
    assert_false(atomic_write_file(path, "x", 1, 0600, &r));
    assert_int_equal(r.step, AF_BAD_PATH);
    /* a directory in the way of the rename */
    snprintf(path, sizeof path, "%s/sub", dir);
    assert_int_equal(mkdir(path, 0755), 0);
    char inner[160];
    snprintf(inner, sizeof inner, "%s/keep", path);
    assert_true(atomic_write_file(inner, "old", 3, 0600, &r));
    assert_false(atomic_write_file(path, "new", 3, 0600, &r));
    assert_int_equal(r.step, AF_RENAME);
    assert_string_equal(slurp(inner), "old");
}

static void test_cleanup_removes_only_leftover_temporaries(void **state)
{
    (void)state;
    char path[128], f[160];
    snprintf(path, sizeof path, "%s/config.json", dir);
    const char *names[] = {".config.json.Ab12Cd", ".config.json.zzzzzz", ".config.json.toolong1",
                           ".other.json.Ab12Cd", "config.json"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(f, sizeof f, "%s/%s", dir, names[i]);
        FILE *fp = fopen(f, "w");
        assert_non_null(fp);
        fclose(fp);
    }
    assert_int_equal(atomic_file_cleanup(path), 2);
    snprintf(f, sizeof f, "%s/.config.json.toolong1", dir);
    assert_int_equal(access(f, F_OK), 0);
    snprintf(f, sizeof f, "%s/.other.json.Ab12Cd", dir);
    assert_int_equal(access(f, F_OK), 0);
    assert_int_equal(access(path, F_OK), 0);
    assert_int_equal(atomic_file_cleanup(path), 0);
}

static void test_energy_counters_survive_a_save_and_load(void **state)
{
    (void)state;
    char path[128];
    snprintf(path, sizeof path, "%s/energy.json", dir);
    uint64_t c = 0, d = 0;
    assert_false(energy_load(path, &c, &d)); /* no file yet */
    assert_true(energy_save(path, 123456789012ull, 42u));
    assert_true(energy_load(path, &c, &d));
    assert_int_equal(c, 123456789012ull);
    assert_int_equal(d, 42u);
    FILE *f = fopen(path, "w");
    fputs("{\"charged_mwh\": 5, \"discharged_mwh\": oops}", f);
    fclose(f);
    assert_false(energy_load(path, &c, &d)); /* malformed: rejected, not half-read */
    assert_int_equal(c, 123456789012ull);
}

static void test_energy_writer_saves_the_latest_values_off_the_caller_thread(void **state)
{
    (void)state;
    char path[128];
    snprintf(path, sizeof path, "%s/energy.json", dir);
    energy_writer_t *w = energy_writer_start(path);
    assert_non_null(w);
    for (uint64_t i = 1; i <= 200; i++) {
        energy_writer_post(w, i * 1000u, i); /* returns at once; older ones may be replaced */
    }
    energy_writer_stop(w); /* what is pending is saved before it returns */
    uint64_t c = 0, d = 0;
    assert_true(energy_load(path, &c, &d));
    assert_int_equal(c, 200000u);
    assert_int_equal(d, 200u);
}

static void test_energy_writer_counts_a_failed_save_and_goes_on(void **state)
{
    (void)state;
    char path[160];
    snprintf(path, sizeof path, "%s/no-such-dir/energy.json", dir);
    energy_writer_t *w = energy_writer_start(path);
    assert_non_null(w);
    energy_writer_post(w, 1u, 2u);
    uint64_t saved = 0, failed = 0;
    while (failed == 0u) { /* the thread's answer; no time bound needed: it comes */
        energy_writer_counts(w, &saved, &failed);
    }
    assert_int_equal(saved, 0u);
    energy_writer_stop(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_atomic_write_creates_and_replaces_with_exact_mode,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_atomic_write_failure_leaves_the_old_file, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_cleanup_removes_only_leftover_temporaries, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_energy_writer_saves_the_latest_values_off_the_caller_thread, setup, teardown),
        cmocka_unit_test_setup_teardown(test_energy_writer_counts_a_failed_save_and_goes_on, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_energy_counters_survive_a_save_and_load, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
