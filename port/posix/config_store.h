/*
 * config_store.h - the configuration file on Linux: load, and atomic save.
 *
 * The file is the JSON document of config.h (every key written, secrets in
 * clear, so the file is created with mode 0600). Saving never leaves a
 * half-written file: the new text goes to a temporary file in the same
 * directory, is fsync'd, renamed over the old file, and the directory is
 * fsync'd so the rename survives a power cut (seed-system.md 9 item 29 is
 * the defect this avoids).
 *
 * Errors use cfg_error_t; file problems are CFG_ERR_IO and their message
 * names the file, the operation and the system's reason. Both functions are
 * blocking (file I/O and fsync) and keep no state.
 */
#ifndef CFG_CONFIG_STORE_H
#define CFG_CONFIG_STORE_H

#include "config.h"

/* Largest configuration file accepted by cfg_load_file, in bytes. */
#define CFG_FILE_MAX_BYTES 65536u

/*
 * Loads the configuration file at `path` into *out.
 *  - Missing file: writes the defaults there (as cfg_save_file) and returns
 *    them, CFG_OK. If that write fails the error is returned and *out is
 *    untouched (the caller may still run on cfg_defaults()).
 *  - Unreadable file (permissions, a directory, larger than
 *    CFG_FILE_MAX_BYTES): CFG_ERR_IO.
 *  - Invalid content: the cfg_from_json error; err->key is the key path and
 *    err->message starts with the file path ("/etc/x.json: victron...").
 * On any error *out is untouched. err may be NULL.
 */
cfg_err_t cfg_load_file(const char *path, cfg_t *out, cfg_error_t *err);

/* cfg_load_file that also returns the document's warnings (ESP32-only keys,
 * ignored seed values, defaults that followed: config.h) in *warn, which
 * may be NULL; it is emptied first and stays empty on failure or when the
 * defaults were written. The caller logs them. */
cfg_err_t cfg_load_file_warn(const char *path, cfg_t *out, cfg_warnings_t *warn,
                             cfg_error_t *err);

/*
 * Validates *cfg and replaces the file at `path` with it atomically, mode
 * 0600. Temporary file: "<dir>/.<name>.XXXXXX", removed on failure. On any
 * failure the previous file is intact and *err says which step failed and
 * why; CFG_ERR_IO for file errors, the cfg_validate code for an invalid
 * *cfg (nothing is written then). A failure of the final directory fsync is
 * reported too, although the new file is then already in place.
 */
cfg_err_t cfg_save_file(const char *path, const cfg_t *cfg, cfg_error_t *err);

#endif /* CFG_CONFIG_STORE_H */
