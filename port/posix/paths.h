/*
 * paths.h - the longest file path the shared POSIX code handles, with its
 * NUL. Linux uses PATH_MAX; the ESP32 build sets a small TBVB_PATH_MAX
 * (its files are "/data/config.json" and the like) so that the buffers
 * the log writer, the energy writer and the config save keep on their
 * stacks fit a FreeRTOS task.
 */
#ifndef PATHS_H
#define PATHS_H

#include <limits.h>

#ifndef TBVB_PATH_MAX
#define TBVB_PATH_MAX PATH_MAX
#endif

#endif /* PATHS_H */
