/*
 * fw_image.c - checks of a firmware upload (see fw_image.h, whose table
 * has the layout). The offsets are ours, written from the layout ESP-IDF
 * v6.0.2 documents in esp_app_format.h (esp_image_header_t, 24 bytes,
 * esp_image_segment_header_t, 8 bytes) and esp_app_desc.h (esp_app_desc_t,
 * 256 bytes); bytes are read one by one, little-endian, never through a
 * struct.
 */
#include "fw_image.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#if defined(__GNUC__)
#define FWI_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define FWI_PRINTF(f, a)
#endif

/* Image header (24 bytes). */
#define IMG_MAGIC        0xE9u
#define IMG_OFF_MAGIC    0u
#define IMG_OFF_SEGMENTS 1u
#define IMG_OFF_CHIP_ID  12u /* uint16 LE */
#define IMG_OFF_HASH     23u /* 1 = SHA-256 appended */
#define IMG_HEADER_LEN   24u
/* Segment header (8 bytes): load address, then data length (uint32 LE). */
#define SEG_HEADER_LEN    8u
#define SEG_OFF_DATA_LEN  4u
#define IMG_SHA256_LEN    32u
#define IMG_CHECKSUM_INIT 0xEFu /* the ROM's checksum seed */
/* App description: at the start of the first segment's data. */
#define DESC_OFF         (IMG_HEADER_LEN + SEG_HEADER_LEN)
#define DESC_LEN         256u
#define DESC_MAGIC       0xABCD5432u
#define DESC_OFF_MAGIC   0u
#define DESC_OFF_SECURE  4u
#define DESC_OFF_VERSION 16u  /* 32 chars */
#define DESC_OFF_PROJECT 48u  /* 32 chars */
#define DESC_OFF_TIME    80u  /* 16 chars */
#define DESC_OFF_DATE    96u  /* 16 chars */
#define DESC_OFF_IDF     112u /* 32 chars */
/* No ESP32 maps more than 16 MB of flash: a longer segment is damage. */
#define SEG_MAX_LEN 0x1000000u

_Static_assert(DESC_OFF + DESC_LEN == FWI_CHECK_LEN, "header + segment header + app description");

static const char *const err_text[FWI_ERR_COUNT_] = {
    [FWI_OK] = "ok",
    [FWI_ERR_ARG] = "invalid argument",
    [FWI_ERR_SHORT] = "the upload is too short",
    [FWI_ERR_MAGIC] = "not an ESP32 firmware image",
    [FWI_ERR_SEGMENTS] = "damaged firmware image",
    [FWI_ERR_CHIP] = "firmware for another chip",
    [FWI_ERR_APP_DESC] = "not an application image",
    [FWI_ERR_PROJECT] = "firmware of another project",
    [FWI_ERR_TOO_BIG] = "firmware larger than the update slot",
    [FWI_ERR_CHECKSUM] = "firmware image checksum wrong",
};

const char *fwi_strerror(fwi_err_t code)
{
    return (unsigned)code < (unsigned)FWI_ERR_COUNT_ ? err_text[code] : "unknown error";
}

uint16_t fwi_chip_id(board_target_t target)
{
    /* esp_app_format.h, esp_chip_id_t. */
    static const uint16_t ids[BOARD_TARGET_COUNT_] = {
        [BOARD_ESP32] = 0x0000u,
        [BOARD_ESP32S3] = 0x0009u,
        [BOARD_ESP32C3] = 0x0005u,
        [BOARD_ESP32C6] = 0x000Du,
    };
    return (unsigned)target < (unsigned)BOARD_TARGET_COUNT_ ? ids[target] : 0xFFFFu;
}

const char *fwi_chip_name(uint16_t chip_id)
{
    /* Every chip id esp_app_format.h v6.0.2 lists, so that a file for a chip
     * this firmware does not support is still named. */
    static const struct {
        uint16_t id;
        const char *name;
    } chips[] = {
        {0x0000u, "esp32"},    {0x0002u, "esp32s2"}, {0x0005u, "esp32c3"},  {0x0009u, "esp32s3"},
        {0x000Cu, "esp32c2"},  {0x000Du, "esp32c6"}, {0x0010u, "esp32h2"},  {0x0012u, "esp32p4"},
        {0x0014u, "esp32c61"}, {0x0017u, "esp32c5"}, {0x0019u, "esp32h21"}, {0x001Cu, "esp32h4"},
    };
    for (size_t i = 0; i < sizeof chips / sizeof chips[0]; i++) {
        if (chips[i].id == chip_id) {
            return chips[i].name;
        }
    }
    return NULL;
}

FWI_PRINTF(3, 4)
static fwi_err_t fail(fwi_error_t *err, fwi_err_t code, const char *fmt, ...);

static fwi_err_t fail(fwi_error_t *err, fwi_err_t code, const char *fmt, ...)
{
    if (err != NULL) {
        err->code = code;
        va_list ap;
        va_start(ap, fmt);
        (void)vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    }
    return code;
}

static uint16_t rd_u16le(const uint8_t *p)
{
    return (uint16_t)(p[0] | (uint16_t)(p[1] << 8));
}

static uint32_t rd_u32le(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

/* Copies a fixed-size text field (NUL-padded, maybe unterminated) into
 * out[cap], non-printable bytes as '?', so it is safe in a log or JSON. */
static void copy_text(const uint8_t *field, size_t field_len, char *out, size_t cap)
{
    size_t n = 0;
    for (; n < field_len && n + 1u < cap && field[n] != 0u; n++) {
        out[n] = (field[n] >= 0x20u && field[n] < 0x7fu && field[n] != '"' && field[n] != '\\')
                     ? (char)field[n]
                     : '?';
    }
    out[n] = '\0';
}

static fwi_err_t check_size(size_t image_size, size_t slot_size, fwi_error_t *err)
{
    if (slot_size != 0u && image_size > slot_size) {
        return fail(err, FWI_ERR_TOO_BIG,
                    "the firmware is %lu bytes, the update slot holds %lu: use a build for "
                    "this partition table",
                    (unsigned long)image_size, (unsigned long)slot_size);
    }
    return FWI_OK;
}

fwi_err_t fwi_check_size(size_t image_size, size_t slot_size, fwi_error_t *err)
{
    if (image_size < FWI_CHECK_LEN) {
        return fail(err, FWI_ERR_SHORT, "the upload is %lu bytes, too short to be a firmware image",
                    (unsigned long)image_size);
    }
    return check_size(image_size, slot_size, err);
}

/* A friendlier word for the files people upload by mistake. */
static fwi_err_t not_an_image(const uint8_t *b, fwi_error_t *err)
{
    if (b[0] == 0x7fu && b[1] == 'E' && b[2] == 'L' && b[3] == 'F') {
        return fail(err, FWI_ERR_MAGIC,
                    "not an ESP32 firmware image but an ELF file: upload the .bin from the "
                    "build folder, not the .elf");
    }
    if (b[0] == 0x1fu && b[1] == 0x8bu) {
        return fail(err, FWI_ERR_MAGIC,
                    "not an ESP32 firmware image but a gzip file: unpack it first");
    }
    return fail(err, FWI_ERR_MAGIC, "not an ESP32 firmware image");
}

static fwi_err_t check_chip(const uint8_t *b, board_target_t target, fwi_error_t *err)
{
    uint16_t id = rd_u16le(b + IMG_OFF_CHIP_ID);
    if (id == fwi_chip_id(target)) {
        return FWI_OK;
    }
    const char *name = fwi_chip_name(id);
    if (name == NULL) {
        return fail(err, FWI_ERR_CHIP, "built for an unknown chip (id %u), this board is %s",
                    (unsigned)id, fwi_chip_name(fwi_chip_id(target)));
    }
    return fail(err, FWI_ERR_CHIP, "built for %s, this board is %s", name,
                fwi_chip_name(fwi_chip_id(target)));
}

fwi_err_t fwi_check_header(const uint8_t *buf, size_t len, board_target_t target, size_t image_size,
                           size_t slot_size, fwi_info_t *info, fwi_error_t *err)
{
    if (buf == NULL || (unsigned)target >= (unsigned)BOARD_TARGET_COUNT_) {
        return fail(err, FWI_ERR_ARG, "invalid argument");
    }
    if (len < FWI_CHECK_LEN || (image_size != 0u && image_size < FWI_CHECK_LEN)) {
        size_t n = image_size != 0u && image_size < len ? image_size : len;
        return fail(err, FWI_ERR_SHORT, "the upload is %lu bytes, too short to be a firmware image",
                    (unsigned long)n);
    }
    if (buf[IMG_OFF_MAGIC] != IMG_MAGIC) {
        return not_an_image(buf, err);
    }
    uint8_t segments = buf[IMG_OFF_SEGMENTS];
    if (segments == 0u || segments > FWI_MAX_SEGMENTS) {
        return fail(err, FWI_ERR_SEGMENTS, "damaged firmware image: %u segments (1 to %u)",
                    (unsigned)segments, FWI_MAX_SEGMENTS);
    }
    fwi_err_t e = check_chip(buf, target, err);
    if (e != FWI_OK) {
        return e;
    }
    const uint8_t *d = buf + DESC_OFF;
    if (rd_u32le(buf + IMG_HEADER_LEN + SEG_OFF_DATA_LEN) < DESC_LEN ||
        rd_u32le(d + DESC_OFF_MAGIC) != DESC_MAGIC) {
        return fail(err, FWI_ERR_APP_DESC,
                    "not an application image (a bootloader or a whole-flash image?): upload "
                    "the build's " FWI_PROJECT_NAME ".bin");
    }
    fwi_info_t in;
    memset(&in, 0, sizeof in);
    copy_text(d + DESC_OFF_PROJECT, 32u, in.project_name, sizeof in.project_name);
    if (strcmp(in.project_name, FWI_PROJECT_NAME) != 0) {
        return fail(err, FWI_ERR_PROJECT, "firmware of another project: %s",
                    in.project_name[0] != '\0' ? in.project_name : "(no name)");
    }
    e = check_size(image_size, slot_size, err);
    if (e != FWI_OK) {
        return e;
    }
    in.chip_id = rd_u16le(buf + IMG_OFF_CHIP_ID);
    in.segment_count = segments;
    in.hash_appended = buf[IMG_OFF_HASH] == 1u;
    in.secure_version = rd_u32le(d + DESC_OFF_SECURE);
    copy_text(d + DESC_OFF_VERSION, 32u, in.version, sizeof in.version);
    copy_text(d + DESC_OFF_TIME, 16u, in.time, sizeof in.time);
    copy_text(d + DESC_OFF_DATE, 16u, in.date, sizeof in.date);
    copy_text(d + DESC_OFF_IDF, 32u, in.idf_ver, sizeof in.idf_ver);
    if (info != NULL) {
        *info = in;
    }
    return FWI_OK;
}

/* ------------------------------------------------------------------------
 * Stream
 * ------------------------------------------------------------------------ */

enum {
    ST_HEADER = 0, /* collecting the image header */
    ST_SEG_HEADER, /* collecting a segment header */
    ST_SEG_DATA,   /* seg_left data bytes to go */
    ST_PADDING,    /* seg_left bytes of padding, the last one the checksum */
    ST_HASH,       /* seg_left bytes of SHA-256 */
    ST_DONE        /* the image is complete; anything more is a trailer */
};

void fwi_stream_init(fwi_stream_t *s, size_t slot_size)
{
    if (s == NULL) {
        return;
    }
    memset(s, 0, sizeof *s);
    s->slot_size = slot_size;
    s->checksum = IMG_CHECKSUM_INIT;
    s->stage = ST_HEADER;
}

/* Records the first error (its message is already in *err). */
static fwi_err_t stream_fail(fwi_stream_t *s, fwi_err_t code)
{
    s->failed = code;
    return code;
}

/* After a segment's data (or an image header with its count): the next
 * segment header, or the padding once all are read. */
static void next_part(fwi_stream_t *s)
{
    if (s->seg_index < s->segments) {
        s->stage = ST_SEG_HEADER;
        s->hdr_fill = 0;
        return;
    }
    /* The checksum byte ends a 16-byte block (esp_image_format.c's rule). */
    size_t unpadded = s->received;
    size_t padded = (unpadded + 1u + 15u) & ~(size_t)15u;
    s->seg_left = (uint32_t)(padded - unpadded);
    s->stage = ST_PADDING;
}

static fwi_err_t end_header(fwi_stream_t *s, fwi_error_t *err)
{
    if (s->hdr[IMG_OFF_MAGIC] != IMG_MAGIC) {
        (void)not_an_image(s->hdr, err);
        return stream_fail(s, FWI_ERR_MAGIC);
    }
    s->segments = s->hdr[IMG_OFF_SEGMENTS];
    if (s->segments == 0u || s->segments > FWI_MAX_SEGMENTS) {
        (void)fail(err, FWI_ERR_SEGMENTS, "damaged firmware image: %u segments (1 to %u)",
                   (unsigned)s->segments, FWI_MAX_SEGMENTS);
        return stream_fail(s, FWI_ERR_SEGMENTS);
    }
    s->hash_appended = s->hdr[IMG_OFF_HASH] == 1u;
    next_part(s);
    return FWI_OK;
}

static fwi_err_t end_seg_header(fwi_stream_t *s, fwi_error_t *err)
{
    uint32_t n = rd_u32le(s->hdr + SEG_OFF_DATA_LEN);
    if (n % 4u != 0u || n >= SEG_MAX_LEN) {
        (void)fail(err, FWI_ERR_SEGMENTS, "damaged firmware image: segment %u has %lu bytes",
                   (unsigned)s->seg_index, (unsigned long)n);
        return stream_fail(s, FWI_ERR_SEGMENTS);
    }
    if (s->slot_size != 0u && n > s->slot_size - s->received) {
        (void)fail(err, FWI_ERR_TOO_BIG,
                   "the firmware is larger than the update slot (%lu bytes): use a build for "
                   "this partition table",
                   (unsigned long)s->slot_size);
        return stream_fail(s, FWI_ERR_TOO_BIG);
    }
    s->seg_index++;
    s->seg_left = n;
    if (s->seg_index == s->segments) {
        size_t unpadded = s->received + n;
        s->image_len =
            ((unpadded + 1u + 15u) & ~(size_t)15u) + (s->hash_appended ? IMG_SHA256_LEN : 0u);
    }
    if (n == 0u) {
        next_part(s);
    } else {
        s->stage = ST_SEG_DATA;
    }
    return FWI_OK;
}

/* Consumes what it can of data[0..len) in the current stage; returns the
 * count taken (at least 1 when len > 0) or 0 with s->failed set. */
static size_t step(fwi_stream_t *s, const uint8_t *data, size_t len, fwi_error_t *err)
{
    size_t take = 1;
    switch (s->stage) {
    case ST_HEADER:
    case ST_SEG_HEADER: {
        size_t want = s->stage == ST_HEADER ? IMG_HEADER_LEN : SEG_HEADER_LEN;
        s->hdr[s->hdr_fill++] = data[0];
        s->received++;
        if (s->hdr_fill == want) {
            if ((s->stage == ST_HEADER ? end_header(s, err) : end_seg_header(s, err)) != FWI_OK) {
                return 0;
            }
        }
        return take;
    }
    case ST_SEG_DATA:
        take = len < s->seg_left ? len : s->seg_left;
        for (size_t i = 0; i < take; i++) {
            s->checksum ^= data[i];
        }
        s->seg_left -= (uint32_t)take;
        s->received += take;
        if (s->seg_left == 0u) {
            next_part(s);
        }
        return take;
    case ST_PADDING:
        s->received++;
        if (--s->seg_left == 0u) {
            if (data[0] != s->checksum) {
                (void)fail(err, FWI_ERR_CHECKSUM,
                           "the firmware's checksum is wrong (0x%02x, computed 0x%02x): the "
                           "file is damaged, download it again",
                           (unsigned)data[0], (unsigned)s->checksum);
                (void)stream_fail(s, FWI_ERR_CHECKSUM);
                return 0;
            }
            s->seg_left = s->hash_appended ? IMG_SHA256_LEN : 0u;
            s->stage = s->hash_appended ? ST_HASH : ST_DONE;
        }
        return take;
    case ST_HASH:
        take = len < s->seg_left ? len : s->seg_left;
        s->seg_left -= (uint32_t)take;
        s->received += take;
        if (s->seg_left == 0u) {
            s->stage = ST_DONE;
        }
        return take;
    default: /* ST_DONE: a signature block or other trailer */
        s->received += len;
        return len;
    }
}

fwi_err_t fwi_stream_feed(fwi_stream_t *s, const uint8_t *data, size_t len, fwi_error_t *err)
{
    if (s == NULL || (data == NULL && len > 0u)) {
        return fail(err, FWI_ERR_ARG, "invalid argument");
    }
    if (s->failed != FWI_OK) {
        return fail(err, s->failed, "the upload was refused: %s", fwi_strerror(s->failed));
    }
    /* Bytes up to the slot's end are looked at first, so the verdict is
     * the first problem in byte order, however the upload is cut. */
    bool too_big = s->slot_size != 0u && len > s->slot_size - s->received;
    size_t todo = too_big ? s->slot_size - s->received : len;
    while (todo > 0u) {
        size_t n = step(s, data, todo, err);
        if (n == 0u) {
            return s->failed;
        }
        data += n;
        todo -= n;
    }
    if (too_big) {
        (void)fail(err, FWI_ERR_TOO_BIG, "the upload is larger than the update slot (%lu bytes)",
                   (unsigned long)s->slot_size);
        return stream_fail(s, FWI_ERR_TOO_BIG);
    }
    return FWI_OK;
}

fwi_err_t fwi_stream_finish(const fwi_stream_t *s, fwi_error_t *err)
{
    if (s == NULL) {
        return fail(err, FWI_ERR_ARG, "invalid argument");
    }
    if (s->failed != FWI_OK) {
        return fail(err, s->failed, "the upload was refused: %s", fwi_strerror(s->failed));
    }
    if (s->stage != ST_DONE) {
        if (s->image_len != 0u) {
            return fail(err, FWI_ERR_SHORT,
                        "the upload ended early: %lu of %lu bytes; send the whole file again",
                        (unsigned long)s->received, (unsigned long)s->image_len);
        }
        return fail(err, FWI_ERR_SHORT,
                    "the upload ended early, after %lu bytes; send the whole file again",
                    (unsigned long)s->received);
    }
    return FWI_OK;
}
