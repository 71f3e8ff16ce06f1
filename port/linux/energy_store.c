/* Energy counters file: load and atomic save (see energy_store.h). */
#include "energy_store.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

bool energy_load(const char *path, uint64_t *charged_mwh, uint64_t *discharged_mwh)
{
    if (path == NULL || charged_mwh == NULL || discharged_mwh == NULL) {
        return false;
    }
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        return false;
    }
    char buf[256];
    size_t n = fread(buf, 1u, sizeof buf - 1u, f);
    fclose(f);
    buf[n] = '\0';
    uint64_t c = 0;
    uint64_t d = 0;
    int used = 0;
    if (sscanf(buf, " { \"charged_mwh\" : %" SCNu64 " , \"discharged_mwh\" : %" SCNu64 " }%n",
               &c, &d, &used) != 2 ||
        used == 0) {
        return false;
    }
    for (const char *p = buf + used; *p != '\0'; p++) {
        if (*p != ' ' && *p != '\n' && *p != '\r' && *p != '\t') {
            return false;
        }
    }
    *charged_mwh = c;
    *discharged_mwh = d;
    return true;
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

bool energy_save(const char *path, uint64_t charged_mwh, uint64_t discharged_mwh)
{
    if (path == NULL || path[0] == '\0') {
        errno = EINVAL;
        return false;
    }
    char dir[PATH_MAX];
    const char *slash = strrchr(path, '/');
    if (slash == NULL) {
        snprintf(dir, sizeof dir, ".");
    } else {
        size_t dn = slash == path ? 1u : (size_t)(slash - path);
        if (dn >= sizeof dir) {
            errno = ENAMETOOLONG;
            return false;
        }
        memcpy(dir, path, dn);
        dir[dn] = '\0';
    }
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s.XXXXXX", path) >= (int)sizeof tmp) {
        errno = ENAMETOOLONG;
        return false;
    }
    char text[128];
    int len = snprintf(text, sizeof text,
                       "{\"charged_mwh\": %" PRIu64 ", \"discharged_mwh\": %" PRIu64 "}\n",
                       charged_mwh, discharged_mwh);
    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        return false;
    }
    bool ok = write_all(fd, text, (size_t)len) && fsync(fd) == 0;
    int e = errno;
    if (close(fd) != 0 && ok) {
        ok = false;
        e = errno;
    }
    if (ok && rename(tmp, path) != 0) {
        ok = false;
        e = errno;
    }
    if (!ok) {
        unlink(tmp);
        errno = e;
        return false;
    }
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        (void)fsync(dfd);
        close(dfd);
    }
    return true;
}
