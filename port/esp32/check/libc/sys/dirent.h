/*
 * sys/dirent.h - the check's stand-in for the C library's <sys/dirent.h>.
 *
 * <dirent.h> (picolibc) takes DIR and struct dirent from here. The ESP
 * toolchain's picolibc defines them for ESP-IDF's VFS (esp_vfs.h hands a
 * DIR to each file system's opendir/readdir); the picolibc of Debian's
 * riscv64-unknown-elf-gcc has only an #error in this place. Written from
 * POSIX for the compile check; the firmware build uses the toolchain's.
 */
#ifndef TBVB_CHECK_SYS_DIRENT_H
#define TBVB_CHECK_SYS_DIRENT_H

#include <stdint.h>

typedef struct {
    uint16_t dd_vfs_idx; /* the VFS that opened it */
    uint16_t dd_rsv;
} DIR;

struct dirent {
    int d_ino;
    uint8_t d_type;
    char d_name[256];
};

#define DT_UNKNOWN 0
#define DT_REG     1
#define DT_DIR     2

#endif /* TBVB_CHECK_SYS_DIRENT_H */
