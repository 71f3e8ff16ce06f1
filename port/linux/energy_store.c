/* Energy counters file: load and atomic save (see energy_store.h). */
#include "energy_store.h"

#include "atomic_file.h"

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

bool energy_save(const char *path, uint64_t charged_mwh, uint64_t discharged_mwh)
{
    if (path == NULL || path[0] == '\0') {
        errno = EINVAL;
        return false;
    }
    char text[128];
    int len = snprintf(text, sizeof text,
                       "{\"charged_mwh\": %" PRIu64 ", \"discharged_mwh\": %" PRIu64 "}\n",
                       charged_mwh, discharged_mwh);
    af_result_t *r = malloc(sizeof *r);
    if (r == NULL) {
        errno = ENOMEM;
        return false;
    }
    bool ok = atomic_write_file(path, text, (size_t)len, S_IRUSR | S_IWUSR | S_IRGRP | S_IROTH, r);
    int e = r->err;
    free(r);
    if (!ok) {
        errno = e;
    }
    return ok;
}
