/*
 * config_store.c - configuration file load and atomic save (see
 * config_store.h).
 */
#include "config_store.h"

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

static bool write_all(int fd, const char *p, size_t n)
{
    while (n > 0u) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) {
                continue;
            }
            return false;
        }
        p += w;
        n -= (size_t)w;
    }
    return true;
}

/* Splits path into its directory ("." when none) and its last component. */
static bool split_path(const char *path, char *dir, size_t dir_len, const char **base)
{
    const char *slash = strrchr(path, '/');
    if (slash == NULL) {
        *base = path;
        return snprintf(dir, dir_len, ".") < (int)dir_len;
    }
    *base = slash + 1;
    size_t n = slash == path ? 1u : (size_t)(slash - path);
    if (n >= dir_len) {
        return false;
    }
    memcpy(dir, path, n);
    dir[n] = '\0';
    return true;
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

    char dir[PATH_MAX];
    const char *base = NULL;
    if (!split_path(path, dir, sizeof dir, &base) || base[0] == '\0') {
        return io_fail(err, path, "not a usable file path");
    }
    char tmp[PATH_MAX];
    int n = snprintf(tmp, sizeof tmp, "%s/.%s.XXXXXX", dir, base);
    if (n < 0 || (size_t)n >= sizeof tmp) {
        return io_fail(err, path, "path too long");
    }

    char *text = cfg_to_json(cfg, false);
    if (text == NULL) {
        if (err != NULL) {
            err->code = CFG_ERR_NOMEM;
            (void)snprintf(err->message, sizeof err->message, "%s: out of memory", path);
        }
        return CFG_ERR_NOMEM;
    }

    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        free(text);
        return io_fail(err, path, "cannot create a temporary file in %s: %s", dir, strerror(e));
    }
    /* mkostemp already uses 0600 (minus umask); make it exact. */
    const char *step = NULL;
    if (fchmod(fd, S_IRUSR | S_IWUSR) != 0) {
        step = "cannot set mode 0600 on";
    } else if (!write_all(fd, text, strlen(text)) || !write_all(fd, "\n", 1u)) {
        step = "cannot write";
    } else if (fsync(fd) != 0) {
        step = "cannot flush";
    }
    int e = errno;
    free(text);
    if (close(fd) != 0 && step == NULL) {
        step = "cannot close";
        e = errno;
    }
    if (step == NULL && rename(tmp, path) != 0) {
        e = errno;
        (void)unlink(tmp);
        return io_fail(err, path, "cannot replace the file with %s: %s; the old file is unchanged",
                       tmp, strerror(e));
    }
    if (step != NULL) {
        (void)unlink(tmp);
        return io_fail(err, path, "%s the temporary file %s: %s; the old file is unchanged", step,
                       tmp, strerror(e));
    }

    /* The rename is durable only once the directory entry is on disk. */
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) {
        e = errno;
        return io_fail(err, path, "saved, but cannot open directory %s to flush it: %s", dir,
                       strerror(e));
    }
    if (fsync(dfd) != 0 && errno != EINVAL) {
        e = errno;
        (void)close(dfd);
        return io_fail(err, path, "saved, but flushing directory %s failed: %s", dir, strerror(e));
    }
    (void)close(dfd);
    return CFG_OK;
}

cfg_err_t cfg_load_file(const char *path, cfg_t *out, cfg_error_t *err)
{
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
    cfg_err_t rc = cfg_from_json(buf, len, &loaded, err);
    free(buf);
    if (rc != CFG_OK) {
        prefix_path(err, path);
        return rc;
    }
    *out = loaded;
    return CFG_OK;
}
