/* Helper threads with a sized stack (thread.h). */
#include "thread.h"

#include <limits.h>

int thread_start(pthread_t *t, void *(*fn)(void *), void *arg, size_t stack_bytes)
{
    pthread_attr_t attr;
    int e = pthread_attr_init(&attr);
    if (e != 0) {
        return e;
    }
#ifdef PTHREAD_STACK_MIN /* glibc's; ESP-IDF has no such floor */
    if (stack_bytes < (size_t)PTHREAD_STACK_MIN) {
        stack_bytes = (size_t)PTHREAD_STACK_MIN;
    }
#endif
    e = pthread_attr_setstacksize(&attr, stack_bytes);
    if (e == 0) {
        e = pthread_create(t, &attr, fn, arg);
    }
    (void)pthread_attr_destroy(&attr);
    return e;
}
