/* Checks of a firmware upload (app/fw_image.h). The images are built by
 * fixture_fw_image.h from the layout in fw_image.h's table (ESP-IDF's image
 * format). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "fixture_fw_image.h"
#include "fw_image.h"

/* Feeds img[0..len) in chunks of `chunk` bytes; returns the first error. */
static fwi_err_t stream_all(const uint8_t *img, size_t len, size_t chunk, size_t slot,
                            fwi_error_t *err)
{
    fwi_stream_t st;
    fwi_stream_init(&st, slot);
    for (size_t off = 0; off < len; off += chunk) {
        size_t n = len - off < chunk ? len - off : chunk;
        fwi_err_t e = fwi_stream_feed(&st, img + off, n, err);
        if (e != FWI_OK) {
            return e;
        }
    }
    return fwi_stream_finish(&st, err);
}

static void expect_header_error(const uint8_t *img, size_t len, board_target_t t, fwi_err_t code,
                                const char *message)
{
    fwi_info_t info;
    memset(&info, 0x5a, sizeof info);
    fwi_info_t before = info;
    fwi_error_t err;
    assert_int_equal(fwi_check_header(img, len, t, 0, 0, &info, &err), code);
    assert_int_equal(err.code, code);
    if (message != NULL) {
        assert_string_equal(err.message, message);
    }
    assert_memory_equal(&info, &before, sizeof info);
}

/* ------------------------------------------------------------------------ */

static void test_fwi_good_image_passes_and_reports_its_description(void **state)
{
    (void)state;
    static uint8_t img[IMG_CAP];
    spec_t s = good_spec();
    size_t len = build(&s, img);
    fwi_info_t info;
    fwi_error_t err;
    assert_int_equal(fwi_check_header(img, len, BOARD_ESP32C3, len, 0x1E0000, &info, &err), FWI_OK);
    assert_int_equal(info.chip_id, 5);
    assert_int_equal(info.segment_count, 3);
    assert_true(info.hash_appended);
    assert_int_equal(info.secure_version, 3);
    assert_string_equal(info.project_name, "tinybms-bridge");
    assert_string_equal(info.version, "1.4.0-12-gabcdef");
    assert_string_equal(info.time, "12:34:56");
    assert_string_equal(info.date, "Dec  2 2026");
    assert_string_equal(info.idf_ver, "v6.0.2");
    /* Exactly FWI_CHECK_LEN bytes suffice; info and err may be NULL. */
    assert_int_equal(fwi_check_header(img, FWI_CHECK_LEN, BOARD_ESP32C3, 0, 0, NULL, NULL), FWI_OK);
    assert_int_equal(fwi_check_size(len, 0x1E0000, &err), FWI_OK);
    assert_int_equal(stream_all(img, len, len, 0x1E0000, &err), FWI_OK);
}

static void test_fwi_stream_any_chunking(void **state)
{
    (void)state;
    static uint8_t img[IMG_CAP];
    spec_t s = good_spec();
    size_t len = build(&s, img);
    const size_t chunks[] = {1, 2, 3, 7, 8, 23, 24, 25, 100, 287, 288, 1000, 4096};
    for (size_t i = 0; i < sizeof chunks / sizeof chunks[0]; i++) {
        fwi_error_t err;
        fwi_err_t e = stream_all(img, len, chunks[i], 0, &err);
        if (e != FWI_OK) {
            fail_msg("chunk %zu: %s", chunks[i], err.message);
        }
    }
    /* No hash, one segment, and a zero-length segment. */
    s.hash = false;
    len = build(&s, img);
    fwi_error_t err;
    assert_int_equal(stream_all(img, len, 5, 0, &err), FWI_OK);
    s.segments = 1;
    len = build(&s, img);
    assert_int_equal(stream_all(img, len, 5, 0, &err), FWI_OK);
    s = good_spec();
    s.seg_len[1] = 0;
    len = build(&s, img);
    assert_int_equal(stream_all(img, len, 3, 0, &err), FWI_OK);
    /* Padding: the checksum ends a 16-byte block, 4 to 16 bytes of padding. */
    const struct {
        uint32_t seg;
        size_t pad;
    } pads[] = {{256u + 12u, 4u}, {256u + 16u, 16u}, {256u + 4u, 12u}};
    for (size_t i = 0; i < sizeof pads / sizeof pads[0]; i++) {
        s = good_spec();
        s.segments = 1;
        s.seg_len[0] = pads[i].seg;
        len = build(&s, img);
        assert_int_equal(len, 24u + 8u + pads[i].seg + pads[i].pad + 32u);
        assert_int_equal(stream_all(img, len, 1, 0, &err), FWI_OK);
        assert_int_equal(stream_all(img, len - 1u, 1, 0, &err), FWI_ERR_SHORT);
    }
}

static void test_fwi_not_an_image(void **state)
{
    (void)state;
    static uint8_t img[IMG_CAP];
    spec_t s = good_spec();
    size_t len = build(&s, img);
    img[0] = 0xE8;
    expect_header_error(img, len, BOARD_ESP32C3, FWI_ERR_MAGIC, "not an ESP32 firmware image");
    fwi_error_t err;
    assert_int_equal(stream_all(img, len, 64, 0, &err), FWI_ERR_MAGIC);
    assert_string_equal(err.message, "not an ESP32 firmware image");
    memcpy(img,
           "\x7f"
           "ELF",
           4);
    expect_header_error(img, len, BOARD_ESP32C3, FWI_ERR_MAGIC,
                        "not an ESP32 firmware image but an ELF file: upload the .bin from the "
                        "build folder, not the .elf");
    img[0] = 0x1f;
    img[1] = 0x8b;
    expect_header_error(img, len, BOARD_ESP32C3, FWI_ERR_MAGIC,
                        "not an ESP32 firmware image but a gzip file: unpack it first");
    memset(img, 0xff, FWI_CHECK_LEN); /* erased flash */
    expect_header_error(img, len, BOARD_ESP32C3, FWI_ERR_MAGIC, NULL);
}

static void test_fwi_segment_count_and_lengths(void **state)
{
    (void)state;
    static uint8_t img[IMG_CAP];
    spec_t s = good_spec();
    size_t len = build(&s, img);
    img[1] = 0;
    expect_header_error(img, len, BOARD_ESP32C3, FWI_ERR_SEGMENTS,
                        "damaged firmware image: 0 segments (1 to 16)");
    img[1] = 17;
    expect_header_error(img, len, BOARD_ESP32C3, FWI_ERR_SEGMENTS,
                        "damaged firmware image: 17 segments (1 to 16)");
    fwi_error_t err;
    assert_int_equal(stream_all(img, len, 64, 0, &err), FWI_ERR_SEGMENTS);
    img[1] = 16;
    assert_int_equal(fwi_check_header(img, len, BOARD_ESP32C3, 0, 0, NULL, &err), FWI_OK);

    /* A segment length that is not a whole number of words. */
    len = build(&s, img);
    size_t seg1 = 24u + 8u + 512u;
    wr32(img + seg1 + 4u, 1023);
    assert_int_equal(stream_all(img, len, 64, 0, &err), FWI_ERR_SEGMENTS);
    assert_string_equal(err.message, "damaged firmware image: segment 1 has 1023 bytes");
    wr32(img + seg1 + 4u, 0xFFFFFFF0u);
    assert_int_equal(stream_all(img, len, 64, 0, &err), FWI_ERR_SEGMENTS);
}

static void test_fwi_chip_must_match_the_board(void **state)
{
    (void)state;
    static uint8_t img[IMG_CAP];
    spec_t s = good_spec();
    s.chip_id = 9;
    size_t len = build(&s, img);
    expect_header_error(img, len, BOARD_ESP32C3, FWI_ERR_CHIP,
                        "built for esp32s3, this board is esp32c3");
    fwi_error_t err;
    assert_int_equal(fwi_check_header(img, len, BOARD_ESP32S3, 0, 0, NULL, &err), FWI_OK);
    const struct {
        uint16_t id;
        board_target_t board;
        const char *msg;
    } cases[] = {
        {0, BOARD_ESP32S3, "built for esp32, this board is esp32s3"},
        {13, BOARD_ESP32, "built for esp32c6, this board is esp32"},
        {5, BOARD_ESP32C6, "built for esp32c3, this board is esp32c6"},
        {2, BOARD_ESP32, "built for esp32s2, this board is esp32"},
        {0x12, BOARD_ESP32, "built for esp32p4, this board is esp32"},
        {0x77, BOARD_ESP32, "built for an unknown chip (id 119), this board is esp32"},
        {0xFFFF, BOARD_ESP32C3, "built for an unknown chip (id 65535), this board is esp32c3"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        s.chip_id = cases[i].id;
        len = build(&s, img);
        expect_header_error(img, len, cases[i].board, FWI_ERR_CHIP, cases[i].msg);
    }
    /* The values of esp_app_format.h (esp_chip_id_t). */
    assert_int_equal(fwi_chip_id(BOARD_ESP32), 0);
    assert_int_equal(fwi_chip_id(BOARD_ESP32S3), 9);
    assert_int_equal(fwi_chip_id(BOARD_ESP32C3), 5);
    assert_int_equal(fwi_chip_id(BOARD_ESP32C6), 13);
    assert_int_equal(fwi_chip_id(BOARD_TARGET_COUNT_), 0xFFFF);
    for (unsigned t = 0; t < (unsigned)BOARD_TARGET_COUNT_; t++) {
        assert_string_equal(fwi_chip_name(fwi_chip_id((board_target_t)t)),
                            board_target_name((board_target_t)t));
    }
    assert_null(fwi_chip_name(0xFFFF));
    assert_null(fwi_chip_name(1));
}

static void test_fwi_app_description_required(void **state)
{
    (void)state;
    static uint8_t img[IMG_CAP];
    spec_t s = good_spec();
    size_t len = build(&s, img);
    wr32(img + 32, 0xABCD5433u);
    expect_header_error(img, len, BOARD_ESP32C3, FWI_ERR_APP_DESC,
                        "not an application image (a bootloader or a whole-flash image?): "
                        "upload the build's tinybms-bridge.bin");
    /* A first segment too short to hold one. */
    s.seg_len[0] = 252;
    len = build(&s, img);
    wr32(img + 32, 0xABCD5432u);
    expect_header_error(img, len, BOARD_ESP32C3, FWI_ERR_APP_DESC, NULL);
}

static void test_fwi_other_projects_refused(void **state)
{
    (void)state;
    static uint8_t img[IMG_CAP];
    spec_t s = good_spec();
    const struct {
        const char *project;
        const char *msg;
    } cases[] = {
        {"blink", "firmware of another project: blink"},
        {"tinybms-bridge2", "firmware of another project: tinybms-bridge2"},
        {"tinybms-bridg", "firmware of another project: tinybms-bridg"},
        {"TINYBMS-BRIDGE", "firmware of another project: TINYBMS-BRIDGE"},
        {"", "firmware of another project: (no name)"},
        {"bad\"name\x01\\", "firmware of another project: bad?name??"},
        {"abcdefghijabcdefghijabcdefghijab", /* 32 bytes, no NUL in the field */
         "firmware of another project: abcdefghijabcdefghijabcdefghijab"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        s.project = cases[i].project;
        size_t len = build(&s, img);
        expect_header_error(img, len, BOARD_ESP32C3, FWI_ERR_PROJECT, cases[i].msg);
    }
    /* The version is cut at its 32 bytes and cleaned for the log. */
    s.project = "tinybms-bridge";
    s.version = "0123456789abcdef0123456789abcdef";
    size_t len = build(&s, img);
    img[32 + 16 + 31] = 0x07; /* last byte of the version field */
    fwi_info_t info;
    assert_int_equal(fwi_check_header(img, len, BOARD_ESP32C3, 0, 0, &info, NULL), FWI_OK);
    assert_string_equal(info.version, "0123456789abcdef0123456789abcde?");
}

static void test_fwi_short_uploads(void **state)
{
    (void)state;
    static uint8_t img[IMG_CAP];
    spec_t s = good_spec();
    size_t len = build(&s, img);
    expect_header_error(img, FWI_CHECK_LEN - 1u, BOARD_ESP32C3, FWI_ERR_SHORT,
                        "the upload is 287 bytes, too short to be a firmware image");
    expect_header_error(img, 0, BOARD_ESP32C3, FWI_ERR_SHORT, NULL);
    fwi_error_t err;
    assert_int_equal(fwi_check_header(img, len, BOARD_ESP32C3, 100, 0, NULL, &err), FWI_ERR_SHORT);
    assert_string_equal(err.message, "the upload is 100 bytes, too short to be a firmware image");
    assert_int_equal(fwi_check_size(0, 0x100000, &err), FWI_ERR_SHORT);
    assert_int_equal(fwi_check_size(FWI_CHECK_LEN - 1u, 0, &err), FWI_ERR_SHORT);
    assert_int_equal(fwi_check_size(FWI_CHECK_LEN, 0, &err), FWI_OK);

    /* Cut anywhere: the stream says how much came of how much. */
    const size_t cuts[] = {0, 1, 23, 24, 31, 32, 600, len - 33u, len - 1u};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        fwi_err_t e = stream_all(img, cuts[i], 50, 0, &err);
        assert_int_equal(e, FWI_ERR_SHORT);
    }
    assert_int_equal(stream_all(img, len - 1u, 50, 0, &err), FWI_ERR_SHORT);
    char want[FWI_MESSAGE_MAX];
    (void)snprintf(want, sizeof want,
                   "the upload ended early: %zu of %zu bytes; send the whole file again", len - 1u,
                   len);
    assert_string_equal(err.message, want);
    assert_int_equal(stream_all(img, 100, 50, 0, &err), FWI_ERR_SHORT);
    assert_string_equal(err.message,
                        "the upload ended early, after 100 bytes; send the whole file again");
}

static void test_fwi_too_big_for_the_slot(void **state)
{
    (void)state;
    static uint8_t img[IMG_CAP];
    spec_t s = good_spec();
    size_t len = build(&s, img);
    fwi_error_t err;
    assert_int_equal(fwi_check_header(img, len, BOARD_ESP32C3, 0x1E0001, 0x1E0000, NULL, &err),
                     FWI_ERR_TOO_BIG);
    assert_string_equal(err.message, "the firmware is 1966081 bytes, the update slot holds "
                                     "1966080: use a build for this partition table");
    assert_int_equal(fwi_check_header(img, len, BOARD_ESP32C3, 0x1E0000, 0x1E0000, NULL, &err),
                     FWI_OK);
    assert_int_equal(fwi_check_size(0x1E0001, 0x1E0000, &err), FWI_ERR_TOO_BIG);
    assert_int_equal(fwi_check_size(0x1E0001, 0, &err), FWI_OK); /* slot unknown */
    /* Streamed: a segment that cannot fit is refused at its header. */
    assert_int_equal(stream_all(img, len, len, 1000, &err), FWI_ERR_TOO_BIG);
    assert_int_equal(stream_all(img, len, 16, 1000, &err), FWI_ERR_TOO_BIG);
    assert_string_equal(err.message, "the firmware is larger than the update slot (1000 bytes): "
                                     "use a build for this partition table");
    /* The exact size fits; one more byte (a trailer) does not. */
    assert_int_equal(stream_all(img, len, 16, len, &err), FWI_OK);
    fwi_stream_t st;
    fwi_stream_init(&st, len);
    assert_int_equal(fwi_stream_feed(&st, img, len, &err), FWI_OK);
    assert_int_equal(fwi_stream_feed(&st, img, 1, &err), FWI_ERR_TOO_BIG);
    assert_int_equal(fwi_stream_finish(&st, &err), FWI_ERR_TOO_BIG);
}

static void test_fwi_damaged_data_fails_the_checksum_and_stays_failed(void **state)
{
    (void)state;
    static uint8_t img[IMG_CAP];
    spec_t s = good_spec();
    size_t len = build(&s, img);
    img[24u + 8u + 512u + 8u + 100u] ^= 0x10u; /* a byte of segment 1 */
    fwi_stream_t st;
    fwi_stream_init(&st, 0);
    fwi_error_t err;
    size_t off = 0;
    fwi_err_t e = FWI_OK;
    for (; off < len && e == FWI_OK; off += 64u) {
        e = fwi_stream_feed(&st, img + off, len - off < 64u ? len - off : 64u, &err);
    }
    assert_int_equal(e, FWI_ERR_CHECKSUM);
    assert_non_null(strstr(err.message, "the firmware's checksum is wrong"));
    assert_non_null(strstr(err.message, "download it again"));
    /* Sticky: every later call repeats it. */
    assert_int_equal(fwi_stream_feed(&st, img, 4, &err), FWI_ERR_CHECKSUM);
    assert_string_equal(err.message, "the upload was refused: firmware image checksum wrong");
    assert_int_equal(fwi_stream_finish(&st, &err), FWI_ERR_CHECKSUM);
    /* The checksum byte itself wrong; a header byte changed is not in it. */
    len = build(&s, img);
    size_t sum_at = len - 32u - 1u;
    img[sum_at] ^= 1u;
    assert_int_equal(stream_all(img, len, 7, 0, &err), FWI_ERR_CHECKSUM);
    img[sum_at] ^= 1u;
    img[2] = 3;
    assert_int_equal(stream_all(img, len, 7, 0, &err), FWI_OK);
}

static void test_fwi_trailer_after_the_image_is_accepted(void **state)
{
    (void)state;
    static uint8_t img[IMG_CAP];
    spec_t s = good_spec();
    size_t len = build(&s, img);
    memset(img + len, 0xEE, 4096u - len); /* e.g. a signature block */
    fwi_error_t err;
    assert_int_equal(stream_all(img, 4096, 333, 0, &err), FWI_OK);
    assert_int_equal(stream_all(img, 4096, 333, 4096, &err), FWI_OK);
    assert_int_equal(stream_all(img, 4096, 333, 4095, &err), FWI_ERR_TOO_BIG);
}

static void test_fwi_bad_arguments(void **state)
{
    (void)state;
    static uint8_t img[IMG_CAP];
    spec_t s = good_spec();
    size_t len = build(&s, img);
    fwi_error_t err;
    assert_int_equal(fwi_check_header(NULL, len, BOARD_ESP32C3, 0, 0, NULL, &err), FWI_ERR_ARG);
    assert_int_equal(fwi_check_header(img, len, BOARD_TARGET_COUNT_, 0, 0, NULL, &err),
                     FWI_ERR_ARG);
    fwi_stream_t st;
    fwi_stream_init(&st, 0);
    assert_int_equal(fwi_stream_feed(NULL, img, 1, &err), FWI_ERR_ARG);
    assert_int_equal(fwi_stream_feed(&st, NULL, 1, &err), FWI_ERR_ARG);
    assert_int_equal(fwi_stream_feed(&st, NULL, 0, &err), FWI_OK);
    assert_int_equal(fwi_stream_feed(&st, img, 0, NULL), FWI_OK);
    assert_int_equal(fwi_stream_finish(NULL, &err), FWI_ERR_ARG);
    fwi_stream_init(NULL, 0);
    for (unsigned i = 0; i < (unsigned)FWI_ERR_COUNT_; i++) {
        assert_true(strlen(fwi_strerror((fwi_err_t)i)) > 1u);
    }
    assert_string_equal(fwi_strerror(FWI_ERR_COUNT_), "unknown error");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fwi_good_image_passes_and_reports_its_description),
        cmocka_unit_test(test_fwi_stream_any_chunking),
        cmocka_unit_test(test_fwi_not_an_image),
        cmocka_unit_test(test_fwi_segment_count_and_lengths),
        cmocka_unit_test(test_fwi_chip_must_match_the_board),
        cmocka_unit_test(test_fwi_app_description_required),
        cmocka_unit_test(test_fwi_other_projects_refused),
        cmocka_unit_test(test_fwi_short_uploads),
        cmocka_unit_test(test_fwi_too_big_for_the_slot),
        cmocka_unit_test(test_fwi_damaged_data_fails_the_checksum_and_stays_failed),
        cmocka_unit_test(test_fwi_trailer_after_the_image_is_accepted),
        cmocka_unit_test(test_fwi_bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
