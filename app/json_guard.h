/*
 * json_guard.h - a check before cJSON sees untrusted text: cJSON parses
 * nested arrays and objects by recursion, so a small body of ~800 nested
 * brackets overflows a web server thread's stack (found against the
 * 100 KiB civetweb workers: the bridge died on an authenticated POST).
 * Every document this program reads (configuration, request bodies) is a
 * few levels deep.
 */
#ifndef JSON_GUARD_H
#define JSON_GUARD_H

#include <stdbool.h>
#include <stddef.h>

/* Deepest nesting any document of ours has, with room to spare. */
#define JSON_GUARD_MAX_DEPTH 16u

/*
 * True when text[0..len) never nests arrays and objects deeper than
 * max_depth (brackets inside strings, escapes included, do not count).
 * Says nothing else about validity. O(len), no allocation.
 */
bool json_depth_ok(const char *text, size_t len, unsigned max_depth);

#endif /* JSON_GUARD_H */
