/*
 * config_store.c - configuration file load and atomic save (see
 * config_store.h).
 */
#include "config_store.h"

#include "atomic_file.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#if defined(__GNUC__)
#define STORE_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define STORE_PRINTF(f, a)
#endif

/* CFG_ERR_IO with "path: <text>"; key is empty (no key is at fault). */
STORE_PRINTF(3, 4)
static cfg_err_t io_fail(cfg_error_t *err, const char *path, const char *fmt, ...)
{
    if (err == NULL) {
        return CFG_ERR_IO;
    }
    err->code = CFG_ERR_IO;
    err->key[0] = '\0';
    char text[CFG_MESSAGE_MAX];
    va_list ap;
    va_start(ap, fmt);
    (void)vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    int n = snprintf(err->message, sizeof err->message, "%s: ", path);
    size_t used = n < 0 ? 0u : (size_t)n;
    if (used < sizeof err->message) {
        size_t room = sizeof err->message - used;
        size_t len = strlen(text);
        if (len >= room) {
            len = room - 1u;
        }
        memcpy(err->message + used, text, len);
        err->message[used + len] = '\0';
    }
    return CFG_ERR_IO;
}

/* Prefixes an existing message with the file path, keeping code and key. */
static void prefix_path(cfg_error_t *err, const char *path)
{
    if (err == NULL) {
        return;
    }
    char msg[CFG_MESSAGE_MAX];
    memcpy(msg, err->message, sizeof msg);
    msg[sizeof msg - 1u] = '\0';
    int n = snprintf(err->message, sizeof err->message, "%s: ", path);
    size_t used = n < 0 ? 0u : (size_t)n;
    if (used < sizeof err->message) {
        size_t room = sizeof err->message - used;
        size_t len = strlen(msg);
        if (len >= room) {
            len = room - 1u;
        }
        memcpy(err->message + used, msg, len);
        err->message[used + len] = '\0';
    }
}

cfg_err_t cfg_save_file(const char *path, const cfg_t *cfg, cfg_error_t *err)
{
    if (err != NULL) {
        err->code = CFG_OK;
        err->key[0] = '\0';
        err->message[0] = '\0';
    }
    if (path == NULL || path[0] == '\0' || cfg == NULL) {
        if (err != NULL) {
            err->code = CFG_ERR_ARG;
            (void)snprintf(err->message, sizeof err->message, "no file path or no configuration");
        }
        return CFG_ERR_ARG;
    }
    cfg_err_t rc = cfg_validate(cfg, err);
    if (rc != CFG_OK) {
        prefix_path(err, path);
        return rc;
    }

    char *text = cfg_to_json(cfg, false);
    size_t len = text != NULL ? strlen(text) : 0u;
    char *file = text != NULL ? realloc(text, len + 2u) : NULL;
    af_result_t *r = file != NULL ? malloc(sizeof *r) : NULL; /* 8 KB: not on a thread stack */
    if (r == NULL) {
        free(file != NULL ? file : text);
        if (err != NULL) {
            err->code = CFG_ERR_NOMEM;
            (void)snprintf(err->message, sizeof err->message, "%s: out of memory", path);
        }
        return CFG_ERR_NOMEM;
    }
    file[len] = '\n';
    file[len + 1u] = '\0';
    bool ok = atomic_write_file(path, file, len + 1u, S_IRUSR | S_IWUSR, r);
    free(file);
    cfg_err_t result = CFG_OK;
    if (!ok) {
        const char *e = strerror(r->err);
        switch (r->step) {
        case AF_BAD_PATH:
            result = io_fail(err, path, "not a usable file path");
            break;
        case AF_CREATE:
            result = io_fail(err, path, "cannot create a temporary file in %s: %s", r->dir, e);
            break;
        case AF_RENAME:
            result = io_fail(err, path,
                             "cannot replace the file with %s: %s; the old file is unchanged",
                             r->tmp, e);
            break;
        default:
            result = io_fail(err, path, "%s the temporary file %s: %s; the old file is unchanged",
                             r->step == AF_MODE    ? "cannot set mode 0600 on"
                             : r->step == AF_WRITE ? "cannot write"
                             : r->step == AF_FLUSH ? "cannot flush"
                                                   : "cannot close",
                             r->tmp, e);
            break;
        }
    } else if (r->dir_sync_failed) {
        /* The new file is in place: a directory flush failure is only
         * logged, because reporting an error would make the caller keep the
         * old configuration running while the file (read at the next start)
         * holds the new one. */
        log_warn("%s saved, but flushing directory %s failed: %s", path, r->dir,
                 strerror(r->dir_sync_err));
    }
    free(r);
    return result;
}

cfg_err_t cfg_load_file(const char *path, cfg_t *out, cfg_error_t *err)
{
    return cfg_load_file_warn(path, out, NULL, err);
}

cfg_err_t cfg_load_file_warn(const char *path, cfg_t *out, cfg_warnings_t *warn,
                             cfg_error_t *err)
{
    if (warn != NULL) {
        warn->count = 0;
        warn->dropped = 0;
    }
    if (err != NULL) {
        err->code = CFG_OK;
        err->key[0] = '\0';
        err->message[0] = '\0';
    }
    if (path == NULL || path[0] == '\0' || out == NULL) {
        if (err != NULL) {
            err->code = CFG_ERR_ARG;
            (void)snprintf(err->message, sizeof err->message, "no file path or no output");
        }
        return CFG_ERR_ARG;
    }

    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        if (e == ENOENT) {
            cfg_t d;
            cfg_defaults(&d);
            cfg_err_t rc = cfg_save_file(path, &d, err);
            if (rc != CFG_OK) {
                return rc;
            }
            *out = d;
            return CFG_OK;
        }
        return io_fail(err, path, "cannot open: %s", strerror(e));
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        (void)close(fd);
        return io_fail(err, path, "cannot stat: %s", strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        (void)close(fd);
        return io_fail(err, path, "not a regular file");
    }
    if (st.st_size > (off_t)CFG_FILE_MAX_BYTES) {
        (void)close(fd);
        return io_fail(err, path, "%lld bytes is larger than the limit of %u bytes",
                       (long long)st.st_size, CFG_FILE_MAX_BYTES);
    }

    /* Read up to one byte past the limit so a file that grew since fstat
     * is still caught. */
    char *buf = malloc(CFG_FILE_MAX_BYTES + 1u);
    if (buf == NULL) {
        (void)close(fd);
        if (err != NULL) {
            err->code = CFG_ERR_NOMEM;
            (void)snprintf(err->message, sizeof err->message, "%s: out of memory", path);
        }
        return CFG_ERR_NOMEM;
    }
    size_t len = 0;
    for (;;) {
        ssize_t r = read(fd, buf + len, CFG_FILE_MAX_BYTES + 1u - len);
        if (r < 0) {
            if (errno == EINTR) {
                continue;
            }
            int e = errno;
            free(buf);
            (void)close(fd);
            return io_fail(err, path, "cannot read: %s", strerror(e));
        }
        if (r == 0) {
            break;
        }
        len += (size_t)r;
        if (len > CFG_FILE_MAX_BYTES) {
            free(buf);
            (void)close(fd);
            return io_fail(err, path, "larger than the limit of %u bytes", CFG_FILE_MAX_BYTES);
        }
    }
    (void)close(fd);

    cfg_t loaded;
    cfg_err_t rc = cfg_from_json_warn(buf, len, &loaded, warn, err);
    free(buf);
    if (rc != CFG_OK) {
        prefix_path(err, path);
        return rc;
    }
    *out = loaded;
    return CFG_OK;
}
