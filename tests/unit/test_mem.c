/* test_mem.c - cl_grow: first size, doubling, no move when there is room, and overflow
 * refused with the array and its capacity left as they were. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cl_mem.h"

static void test_grow_from_empty(void **state) {
    (void)state;
    size_t cap = 0;
    int *v = cl_grow(NULL, &cap, 1, sizeof *v, 16);
    assert_non_null(v);
    assert_int_equal(cap, 16);
    v[15] = 7;
    int *same = cl_grow(v, &cap, 16, sizeof *v, 16);
    assert_ptr_equal(same, v); /* room enough: untouched */
    assert_int_equal(cap, 16);
    v = cl_grow(v, &cap, 17, sizeof *v, 16);
    assert_non_null(v);
    assert_int_equal(cap, 32);
    assert_int_equal(v[15], 7); /* contents kept */
    v = cl_grow(v, &cap, 1000, sizeof *v, 16);
    assert_non_null(v);
    assert_int_equal(cap, 1024);
    free(v);
    cap = 0; /* no first size given: from 1 */
    char *p = cl_grow(NULL, &cap, 5, 1, 0);
    assert_non_null(p);
    assert_int_equal(cap, 8);
    free(p);
}

static void test_grow_overflow(void **state) {
    (void)state;
    size_t cap = 4;
    uint64_t *v = malloc(cap * sizeof *v);
    assert_non_null(v);
    v[0] = 42;
    assert_null(cl_grow(v, &cap, SIZE_MAX, sizeof *v, 4));
    assert_int_equal(cap, 4);
    assert_null(cl_grow(v, &cap, SIZE_MAX / 4, sizeof *v, 4)); /* bytes overflow */
    assert_int_equal(cap, 4);
    assert_int_equal(v[0], 42);
    free(v);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grow_from_empty),
        cmocka_unit_test(test_grow_overflow),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
