/* testenv.h - what the integration helpers (harness.c, pgtest.c) take from the test's
 * surroundings: the environment ctest sets, a monotonic clock and a free loopback port.
 * Plain functions without state; any thread may call them. */
#ifndef CL_TEST_TESTENV_H
#define CL_TEST_TESTENV_H

#include <stdint.h>

/* The value of the environment variable name when it is set and not empty, else dflt. */
const char *testenv_get(const char *name, const char *dflt);

/* Milliseconds on the monotonic clock. */
uint64_t testenv_now_ms(void);

/* Sleeps ms milliseconds, resuming after signals. */
void testenv_sleep_ms(long ms);

/* A TCP port on 127.0.0.1 that was free a moment ago (the kernel's pick), or -1. */
int testenv_free_port(void);

#endif
