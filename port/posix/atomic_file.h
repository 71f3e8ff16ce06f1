/*
 * atomic_file.h - replace a file so that it is always the old or the new
 * version, never a mix: write a temporary file in the same directory,
 * fsync it, rename it over the target, then fsync the directory (on
 * Linux; LittleFS on the ESP32 commits the rename itself).
 */
#ifndef ATOMIC_FILE_H
#define ATOMIC_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "paths.h"

typedef enum {
    AF_OK = 0,
    AF_BAD_PATH, /* empty, no file name, or too long */
    AF_CREATE,   /* the temporary file could not be created */
    AF_MODE,     /* fchmod failed */
    AF_WRITE,
    AF_FLUSH,
    AF_CLOSE,
    AF_RENAME,   /* the new file could not replace the old one */
} af_step_t;

typedef struct {
    af_step_t step;       /* where it failed (AF_OK on success) */
    int err;              /* errno of the failure */
    char dir[TBVB_PATH_MAX]; /* the directory of path */
    char tmp[TBVB_PATH_MAX]; /* the temporary file's name */
    bool dir_sync_failed; /* the rename may not be durable yet (not an error) */
    int dir_sync_err;
} af_result_t;

/*
 * Writes data[len] to path atomically with permissions `mode` (exactly,
 * whatever the umask). Returns true on success. On failure the old file is
 * untouched, the temporary file removed, and *r says which step failed.
 */
bool atomic_write_file(const char *path, const void *data, size_t len, mode_t mode, af_result_t *r);

/*
 * Removes temporary files an interrupted atomic_write_file(path) left
 * behind (".<name>.XXXXXX" beside path; a crash or kill -9 mid-save).
 * Call it at start-up, before anything writes path. Returns the number
 * removed.
 */
int atomic_file_cleanup(const char *path);

#endif /* ATOMIC_FILE_H */
