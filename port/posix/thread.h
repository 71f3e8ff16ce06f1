/*
 * thread.h - the program's helper threads (watchdog, MQTT, log and energy
 * writers) start with a stack sized for what they do, not glibc's 8 MiB
 * default: a 32-bit Raspberry Pi or a GX has little address space to spare
 * (docs/performance.md "Threads and stacks").
 */
#ifndef THREAD_H
#define THREAD_H

#include <pthread.h>
#include <stddef.h>

#ifndef THREAD_STACK_SMALL /* the ESP32 build sets its own (port/esp32) */
#define THREAD_STACK_SMALL (256u * 1024u) /* writers, watchdog: measured <= 12 KiB used */
#endif
#ifndef THREAD_STACK_NET
#define THREAD_STACK_NET (512u * 1024u) /* libmosquitto, name resolution included */
#endif

/* pthread_create with a stack of stack_bytes; returns its error number (0 = started). */
int thread_start(pthread_t *t, void *(*fn)(void *), void *arg, size_t stack_bytes);

#endif /* THREAD_H */
