#include "atomic_file.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

static bool fail(af_result_t *r, af_step_t step, int err)
{
    r->step = step;
    r->err = err;
    return false;
}

static bool set_mode(int fd, mode_t mode);
static void sync_dir(af_result_t *r);

bool atomic_write_file(const char *path, const void *data, size_t len, mode_t mode, af_result_t *r)
{
    memset(r, 0, sizeof *r);
    const char *slash = path != NULL ? strrchr(path, '/') : NULL;
    const char *base = slash != NULL ? slash + 1 : path;
    if (path == NULL || base[0] == '\0') {
        return fail(r, AF_BAD_PATH, EINVAL);
    }
    size_t dn = slash == NULL ? 0u : (slash == path ? 1u : (size_t)(slash - path));
    if (dn >= sizeof r->dir) {
        return fail(r, AF_BAD_PATH, ENAMETOOLONG);
    }
    if (slash == NULL) {
        snprintf(r->dir, sizeof r->dir, ".");
    } else {
        memcpy(r->dir, path, dn);
        r->dir[dn] = '\0';
    }
    int n = snprintf(r->tmp, sizeof r->tmp, "%s/.%s.XXXXXX", r->dir, base);
    if (n < 0 || (size_t)n >= sizeof r->tmp) {
        return fail(r, AF_BAD_PATH, ENAMETOOLONG);
    }
    int fd = mkostemp(r->tmp, O_CLOEXEC);
    if (fd < 0) {
        return fail(r, AF_CREATE, errno);
    }
    af_step_t step = AF_OK;
    if (!set_mode(fd, mode)) {
        step = AF_MODE;
    } else if (!write_all(fd, data, len)) {
        step = AF_WRITE;
    } else if (fsync(fd) != 0) {
        step = AF_FLUSH;
    }
    int e = errno;
    if (close(fd) != 0 && step == AF_OK) {
        step = AF_CLOSE;
        e = errno;
    }
    if (step == AF_OK && rename(r->tmp, path) != 0) {
        step = AF_RENAME;
        e = errno;
    }
    if (step != AF_OK) {
        (void)unlink(r->tmp);
        return fail(r, step, e);
    }
    sync_dir(r);
    return true;
}

#ifdef ESP_PLATFORM
/* LittleFS (the ESP32's data partition) has no permission bits, and its
 * rename is a metadata commit that is on flash when the call returns: no
 * directory to open and sync. */
static bool set_mode(int fd, mode_t mode)
{
    (void)fd;
    (void)mode;
    return true;
}

static void sync_dir(af_result_t *r)
{
    (void)r;
}
#else
static bool set_mode(int fd, mode_t mode)
{
    return fchmod(fd, mode) == 0;
}

/* The rename is durable once the directory entry is on disk. */
static void sync_dir(af_result_t *r)
{
    int dfd = open(r->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0 || (fsync(dfd) != 0 && errno != EINVAL)) {
        r->dir_sync_failed = true;
        r->dir_sync_err = errno;
    }
    if (dfd >= 0) {
        (void)close(dfd);
    }
}
#endif

int atomic_file_cleanup(const char *path)
{
    if (path == NULL) {
        return 0;
    }
    const char *slash = strrchr(path, '/');
    const char *base = slash != NULL ? slash + 1 : path;
    char dir[TBVB_PATH_MAX];
    size_t dn = slash == NULL ? 0u : (slash == path ? 1u : (size_t)(slash - path));
    if (base[0] == '\0' || dn >= sizeof dir) {
        return 0;
    }
    if (slash == NULL) {
        snprintf(dir, sizeof dir, ".");
    } else {
        memcpy(dir, path, dn);
        dir[dn] = '\0';
    }
    char prefix[512];
    int pn = snprintf(prefix, sizeof prefix, ".%s.", base);
    if (pn < 0 || (size_t)pn >= sizeof prefix) {
        return 0;
    }
    DIR *d = opendir(dir);
    if (d == NULL) {
        return 0;
    }
    int removed = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        /* exactly the prefix and mkostemp's six characters */
        if (strncmp(e->d_name, prefix, (size_t)pn) == 0 && strlen(e->d_name) == (size_t)pn + 6u) {
            char full[TBVB_PATH_MAX + 512u];
            snprintf(full, sizeof full, "%s/%s", dir, e->d_name);
            if (unlink(full) == 0) {
                removed++;
            }
        }
    }
    closedir(d);
    return removed;
}
