/* sql_array_lit.h - building PostgreSQL array literals with sqlutil's cl_sqlbuf_array_*,
 * checked as they are built, for the tests of those functions (test_sqlutil.c on their
 * own, test_sql_array.c through a real PostgreSQL). Include after cmocka.h; the caller
 * frees what they return. */
#ifndef CL_TEST_SQL_ARRAY_LIT_H
#define CL_TEST_SQL_ARRAY_LIT_H

#include <stdint.h>
#include <string.h>

#include "sqlutil.h"

/* The literal of n elements: texts[i] (NULL pointers are null elements), or ints[i] when
 * ints is not NULL; checked as it is built. */
static inline char *array_lit(const char *const *texts, const int64_t *ints, size_t n) {
    cl_sqlbuf_t b = {0};
    cl_sqlbuf_array_open(&b);
    for (size_t i = 0; i < n; i++) {
        if (ints)
            cl_sqlbuf_array_int(&b, ints[i]);
        else
            cl_sqlbuf_array_text(&b, texts[i]);
    }
    char *lit = cl_sqlbuf_array_close(&b);
    assert_non_null(lit);
    assert_int_equal(strlen(lit), b.len);
    assert_int_equal(b.items, n);
    return lit;
}
#define text_array(v, n) array_lit((v), NULL, (n))
#define int_array(v, n)  array_lit(NULL, (v), (n))

#endif
