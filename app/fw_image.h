/*
 * fw_image.h - checks of a firmware upload, before and while it is written
 * to the inactive OTA slot, so that a wrong file is refused with a sentence
 * a user understands instead of a bootloader error after the reboot.
 * Pure functions over bytes; no ESP-IDF header, no heap.
 *
 * An ESP-IDF application image, as the bootloader reads it (ESP-IDF's
 * esp_app_format.h / esp_app_desc.h describe the same; little-endian):
 *
 *   offset  size  field
 *   0       1     magic 0xE9
 *   1       1     segment count (1..16)
 *   2..11         flash mode, speed and size, entry address, WP pin, drive
 *   12      2     chip id (esp32 0, esp32s3 9, esp32c3 5, esp32c6 13)
 *   14..22        chip revisions, reserved
 *   23      1     1 = a SHA-256 of the image follows the checksum
 *   24      8     first segment: load address, data length
 *   32    256     the app description, at the start of the first segment:
 *                 magic 0xABCD5432 (32), version (48, 32 chars),
 *                 project name (80, 32), time (112, 16), date (128, 16),
 *                 IDF version (144, 32)
 *   ...           the other segments, each an 8-byte header and its data
 *   then          zero padding to a multiple of 16 bytes, whose last byte
 *                 is the checksum (0xEF xor every segment data byte),
 *                 then the SHA-256 (32 bytes) when byte 23 says so
 *
 * fwi_check_header takes the first FWI_CHECK_LEN bytes and checks magic,
 * segment count, chip, app description and project name, and the declared
 * size against the slot. fwi_stream_* then follows the whole upload byte by
 * byte as it is written: segment headers, the checksum, the length, the
 * slot size. ESP-IDF's esp_ota_end verifies the image again (SHA-256,
 * signatures); these checks are there to say what is wrong in plain words
 * and to stop early.
 */
#ifndef FW_IMAGE_H
#define FW_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "esp32_board.h"

#define FWI_CHECK_LEN    288u             /* bytes fwi_check_header needs: 24 + 8 + 256 */
#define FWI_PROJECT_NAME "tinybms-bridge" /* the project name an upload must carry */
#define FWI_MAX_SEGMENTS 16u              /* ESP-IDF's limit */
#define FWI_TEXT_LEN     33u              /* 32 chars of the app description + NUL */

/* The one error enum of this module; 0 = OK. */
typedef enum {
    FWI_OK = 0,
    FWI_ERR_ARG,      /* NULL pointer, bad target, or a call out of order */
    FWI_ERR_SHORT,    /* fewer bytes than the check needs, or the upload ended early */
    FWI_ERR_MAGIC,    /* not an ESP32 firmware image */
    FWI_ERR_SEGMENTS, /* segment count or a segment length is impossible */
    FWI_ERR_CHIP,     /* built for another chip */
    FWI_ERR_APP_DESC, /* no app description where ESP-IDF puts it */
    FWI_ERR_PROJECT,  /* firmware of another project */
    FWI_ERR_TOO_BIG,  /* larger than the OTA slot */
    FWI_ERR_CHECKSUM, /* the image checksum does not match: damaged in transfer */
    FWI_ERR_COUNT_
} fwi_err_t;

#define FWI_MESSAGE_MAX 160u

/* Details of a failure: one English sentence, e.g. "built for esp32s3,
 * this board is esp32c3" or "firmware of another project: blink". */
typedef struct {
    fwi_err_t code;
    char message[FWI_MESSAGE_MAX];
} fwi_error_t;

/* What the app description says, for the log and the web UI. Strings are
 * NUL-terminated copies, cut at the field's 32 (time, date: 16) bytes. */
typedef struct {
    uint16_t chip_id;
    uint8_t segment_count;
    bool hash_appended;
    uint32_t secure_version;
    char version[FWI_TEXT_LEN];
    char project_name[FWI_TEXT_LEN];
    char time[17];
    char date[17];
    char idf_ver[FWI_TEXT_LEN];
} fwi_info_t;

/* Static English text for an error code; never NULL. */
const char *fwi_strerror(fwi_err_t code);

/* The image chip id of a target (esp_app_format.h's values); 0xFFFF for a
 * target out of range. */
uint16_t fwi_chip_id(board_target_t target);

/* Static name of an image chip id ("esp32s3"; the other ESP chips too),
 * NULL when unknown. */
const char *fwi_chip_name(uint16_t chip_id);

/*
 * Checks the start of an upload: buf[0..len) with len >= FWI_CHECK_LEN (more
 * is fine, only the first FWI_CHECK_LEN bytes are read) for a board of this
 * target. image_size: the whole upload's size when known (Content-Length),
 * else 0; slot_size: the OTA slot's size, 0 = not checked. On success fills
 * *info (may be NULL) and returns FWI_OK; otherwise returns the first
 * problem, in the order of the table above, with *err filled (may be NULL)
 * and *info untouched. Cost: O(FWI_CHECK_LEN).
 */
fwi_err_t fwi_check_header(const uint8_t *buf, size_t len, board_target_t target, size_t image_size,
                           size_t slot_size, fwi_info_t *info, fwi_error_t *err);

/* Checks a declared upload size (Content-Length) against the slot before
 * anything is received: 0 and sizes below FWI_CHECK_LEN are too short. */
fwi_err_t fwi_check_size(size_t image_size, size_t slot_size, fwi_error_t *err);

/* ------------------------------------------------------------------------
 * Following an upload as it is written
 * ------------------------------------------------------------------------ */

/* The state; fields are private to fw_image.c. */
typedef struct {
    size_t slot_size; /* 0 = not checked */
    size_t received;  /* bytes fed so far */
    size_t image_len; /* expected length once the last segment header is read, else 0 */
    uint8_t hdr[24];  /* the image header or a segment header being collected */
    uint8_t hdr_fill;
    uint8_t segments;  /* segment count from the image header */
    uint8_t seg_index; /* segment whose header or data comes next */
    bool hash_appended;
    uint32_t seg_left; /* data bytes left in the current segment */
    uint8_t checksum;  /* running checksum of segment data */
    uint8_t stage;     /* where in the layout the next byte is */
    fwi_err_t failed;  /* first error; every later call returns it */
} fwi_stream_t;

/* Starts following an upload into a slot of slot_size bytes (0 = not
 * checked). Does nothing for NULL s. */
void fwi_stream_init(fwi_stream_t *s, size_t slot_size);

/*
 * Feeds the next len bytes, before they are written to flash. Returns
 * FWI_OK, or the first problem (FWI_ERR_MAGIC, _SEGMENTS, _TOO_BIG,
 * _CHECKSUM) with *err filled (may be NULL); after an error every call
 * returns it again, so the upload is aborted and nothing of the bad part
 * is written. Bytes after the image (a signature block) are accepted up to
 * the slot size. Bytes up to the slot's end are checked before the rest is
 * refused as too big, so the verdict is the same however the upload is cut
 * into chunks. The chip and project are fwi_check_header's business.
 * Cost: O(len).
 */
fwi_err_t fwi_stream_feed(fwi_stream_t *s, const uint8_t *data, size_t len, fwi_error_t *err);

/* At the end of the upload: FWI_OK when a whole image (segments, checksum,
 * SHA-256 when announced) arrived; FWI_ERR_SHORT when it ended early; or
 * the error feed already returned. */
fwi_err_t fwi_stream_finish(const fwi_stream_t *s, fwi_error_t *err);

#endif /* FW_IMAGE_H */
