/* bench_util.h - the few helpers every benchmark program shares: a monotonic clock in
 * nanoseconds and "--name value" option lookup. Header-only (static inline); bench code
 * only: options are trusted, as the bench scripts pass them. */
#ifndef CL_BENCH_UTIL_H
#define CL_BENCH_UTIL_H

#include <stdint.h>
#include <string.h>
#include <time.h>

static inline uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The value after the first argv[i] equal to name, or dflt. */
static inline const char *opt(int argc, char **argv, const char *name, const char *dflt) {
    for (int i = 1; i + 1 < argc; i++)
        if (!strcmp(argv[i], name)) return argv[i + 1];
    return dflt;
}

#endif
