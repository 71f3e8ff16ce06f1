/*
 * pthread.h - the check's stand-in for the C library's <pthread.h>.
 *
 * ESP-IDF's toolchain ships a picolibc that has <pthread.h> (IDF's own
 * esp_libc/platform_include/pthread.h adds to it with #include_next); the
 * picolibc of Debian's riscv64-unknown-elf-gcc has none. scripts/esp32-check
 * puts this folder after IDF's, so IDF's header reaches this one. It declares
 * the POSIX thread API (IEEE Std 1003.1) that our code and IDF's headers use,
 * written here from the standard, with the shapes of the types as the ESP
 * toolchain has them (handles are 32-bit integers, the attribute objects small
 * structs), so that sizeof in port/esp32/check/budget.c comes out as on the
 * chip. Only for the compile check: the firmware build uses the toolchain's.
 */
#ifndef TBVB_CHECK_PTHREAD_H
#define TBVB_CHECK_PTHREAD_H

#include <sched.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

typedef uint32_t pthread_t;
typedef uint32_t pthread_mutex_t;
typedef uint32_t pthread_cond_t;
typedef uint32_t pthread_key_t;
typedef uint32_t pthread_rwlock_t;

typedef struct {
    int is_initialized;
    void *stackaddr;
    int stacksize;
    int contentionscope;
    int inheritsched;
    int schedpolicy;
    struct sched_param schedparam;
    int detachstate;
} pthread_attr_t;

typedef struct {
    int is_initialized;
    int type;
    int recursive;
} pthread_mutexattr_t;

typedef struct {
    int is_initialized;
    clock_t clock;
} pthread_condattr_t;

typedef struct {
    int is_initialized;
    int init_executed;
} pthread_once_t;

typedef struct {
    int is_initialized;
} pthread_rwlockattr_t;

#define PTHREAD_MUTEX_INITIALIZER  ((pthread_mutex_t)0xFFFFFFFF)
#define PTHREAD_COND_INITIALIZER   ((pthread_cond_t)0xFFFFFFFF)
#define PTHREAD_RWLOCK_INITIALIZER ((pthread_rwlock_t)0xFFFFFFFF)
#define PTHREAD_ONCE_INIT          { 1, 0 }

#define PTHREAD_CREATE_DETACHED 0
#define PTHREAD_CREATE_JOINABLE 1
#define PTHREAD_MUTEX_NORMAL     0
#define PTHREAD_MUTEX_RECURSIVE  1
#define PTHREAD_MUTEX_ERRORCHECK 2
#define PTHREAD_MUTEX_DEFAULT    3

int pthread_attr_init(pthread_attr_t *attr);
int pthread_attr_destroy(pthread_attr_t *attr);
int pthread_attr_setstacksize(pthread_attr_t *attr, size_t stacksize);
int pthread_attr_getstacksize(const pthread_attr_t *attr, size_t *stacksize);
int pthread_attr_setdetachstate(pthread_attr_t *attr, int state);
int pthread_attr_getdetachstate(const pthread_attr_t *attr, int *state);

int pthread_create(pthread_t *thread, const pthread_attr_t *attr,
                   void *(*start)(void *), void *arg);
int pthread_join(pthread_t thread, void **retval);
int pthread_detach(pthread_t thread);
pthread_t pthread_self(void);
int pthread_equal(pthread_t a, pthread_t b);
void pthread_exit(void *retval) __attribute__((noreturn));
int pthread_once(pthread_once_t *once, void (*init)(void));

int pthread_mutexattr_init(pthread_mutexattr_t *attr);
int pthread_mutexattr_destroy(pthread_mutexattr_t *attr);
int pthread_mutexattr_settype(pthread_mutexattr_t *attr, int type);
int pthread_mutexattr_gettype(const pthread_mutexattr_t *attr, int *type);
int pthread_mutex_init(pthread_mutex_t *mutex, const pthread_mutexattr_t *attr);
int pthread_mutex_destroy(pthread_mutex_t *mutex);
int pthread_mutex_lock(pthread_mutex_t *mutex);
int pthread_mutex_trylock(pthread_mutex_t *mutex);
int pthread_mutex_unlock(pthread_mutex_t *mutex);
int pthread_mutex_timedlock(pthread_mutex_t *mutex, const struct timespec *abstime);

int pthread_condattr_init(pthread_condattr_t *attr);
int pthread_condattr_destroy(pthread_condattr_t *attr);
int pthread_cond_init(pthread_cond_t *cond, const pthread_condattr_t *attr);
int pthread_cond_destroy(pthread_cond_t *cond);
int pthread_cond_signal(pthread_cond_t *cond);
int pthread_cond_broadcast(pthread_cond_t *cond);
int pthread_cond_wait(pthread_cond_t *cond, pthread_mutex_t *mutex);
int pthread_cond_timedwait(pthread_cond_t *cond, pthread_mutex_t *mutex,
                           const struct timespec *abstime);

int pthread_rwlockattr_init(pthread_rwlockattr_t *attr);
int pthread_rwlockattr_destroy(pthread_rwlockattr_t *attr);
int pthread_rwlock_init(pthread_rwlock_t *lock, const pthread_rwlockattr_t *attr);
int pthread_rwlock_destroy(pthread_rwlock_t *lock);
int pthread_rwlock_rdlock(pthread_rwlock_t *lock);
int pthread_rwlock_tryrdlock(pthread_rwlock_t *lock);
int pthread_rwlock_wrlock(pthread_rwlock_t *lock);
int pthread_rwlock_trywrlock(pthread_rwlock_t *lock);
int pthread_rwlock_unlock(pthread_rwlock_t *lock);

int pthread_key_create(pthread_key_t *key, void (*destructor)(void *));
int pthread_key_delete(pthread_key_t key);
void *pthread_getspecific(pthread_key_t key);
int pthread_setspecific(pthread_key_t key, const void *value);

#endif /* TBVB_CHECK_PTHREAD_H */
