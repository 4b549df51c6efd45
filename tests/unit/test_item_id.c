/* test_item_id.c - the derived item id (common/item_id.c) and the SHA-256 under it
 * (common/sha256.c).
 *
 * docs/IMPORT_FORMAT.md states the rule in words and as a Python function, but lists no
 * expected ids. The vectors below were computed by running that Python function, as
 * printed in the document, with CPython's hashlib (not with this C code); the first four
 * rows are rows of the document's own example file, with project names replaced by ids.
 * SHA-256 itself is checked against the FIPS 180-2 examples. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "item_id.h"
#include "sha256.h"

static void hex(const uint8_t *d, size_t n, char *out) {
    for (size_t i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static void test_sha256_vectors(void **state) {
    (void)state;
    uint8_t d[CL_SHA256_LEN];
    char h[2 * CL_SHA256_LEN + 1];
    assert_int_equal(cl_sha256("abc", 3, d), CL_OK);
    hex(d, sizeof d, h);
    assert_string_equal(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_int_equal(cl_sha256(NULL, 0, d), CL_OK);
    hex(d, sizeof d, h);
    assert_string_equal(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    static const char two_blocks[] = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    assert_int_equal(cl_sha256(two_blocks, strlen(two_blocks), d), CL_OK);
    hex(d, sizeof d, h);
    assert_string_equal(h, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

struct vector {
    cl_item_content_t c;
    uint32_t n;
    const char *id;
};

static const struct vector vectors[] = {
    {{12, "3-2-1702", "handover", "2027-06-30", "厨房", "plumbing", "厨房下水管漏水", "critical"},
     0,
     "3e7fb372-9849-877f-8bc4-a35e93d36e63"},
    {{12, "3-2-1702", "handover", "2027-06-30", "厨房", "plumbing", "厨房下水管漏水", "critical"},
     1,
     "3ed4fbeb-159c-850a-91d4-98de50671f39"},
    {{12, "3-2-1703", "check3m", "2027-09-30", "阳台", "waterproofing", "阳台防水层开裂（复查）",
      "major"},
     0,
     "0faf932e-69a9-8993-98f1-6bc6ff8d77ea"},
    {{1, "3-2-1701", "handover", "2027-06-30", "入户门", "doors_windows",
      "入户门关闭不严, 有\"异响\"", "minor"},
     0,
     "67bd4020-5bcf-8128-944a-ca6ba461d279"},
    {{INT64_MAX, "A", "mock1", "2026-01-01", "x", "civil", "d", "minor"},
     UINT32_MAX,
     "a7c74bae-b826-8544-ab32-90a47fe95303"},
};

static void test_item_id_vectors(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof vectors / sizeof vectors[0]; i++) {
        char id[CL_ITEM_ID_LEN + 1];
        memset(id, 'Z', sizeof id);
        assert_int_equal(cl_item_id_derive(&vectors[i].c, vectors[i].n, id), CL_OK);
        assert_string_equal(id, vectors[i].id);
        assert_int_equal(strlen(id), CL_ITEM_ID_LEN);
    }
}

/* The content key: SHA-256 of the content without the occurrence suffix (hashlib). */
static void test_content_key(void **state) {
    (void)state;
    uint8_t k[CL_SHA256_LEN], k2[CL_SHA256_LEN];
    char h[2 * CL_SHA256_LEN + 1];
    assert_int_equal(cl_item_content_key(&vectors[0].c, k), CL_OK);
    hex(k, sizeof k, h);
    assert_string_equal(h, "7a3c7858c4769b49fcad83a6664b9c6fdd9210b028df76684aab8316f6e41336");
    /* the same content whatever the occurrence; other content, another key */
    assert_int_equal(cl_item_content_key(&vectors[1].c, k2), CL_OK);
    assert_memory_equal(k, k2, sizeof k);
    assert_int_equal(cl_item_content_key(&vectors[2].c, k2), CL_OK);
    assert_memory_not_equal(k, k2, sizeof k);
}

/* Every field takes part, and a field boundary cannot move: "ab"+"c" is not "a"+"bc". */
static void test_fields_matter(void **state) {
    (void)state;
    char base[CL_ITEM_ID_LEN + 1], other[CL_ITEM_ID_LEN + 1];
    cl_item_content_t c = vectors[0].c;
    assert_int_equal(cl_item_id_derive(&c, 0, base), CL_OK);
    for (int i = 0; i < 7; i++) {
        cl_item_content_t m = c;
        const char **f[] = {&m.unit,     &m.round,       &m.inspected_on, &m.location,
                            &m.category, &m.description, &m.severity};
        *f[i] = "changed";
        assert_int_equal(cl_item_id_derive(&m, 0, other), CL_OK);
        assert_string_not_equal(base, other);
    }
    cl_item_content_t p = c;
    p.project_id = 13;
    assert_int_equal(cl_item_id_derive(&p, 0, other), CL_OK);
    assert_string_not_equal(base, other);

    cl_item_content_t a = c, b = c;
    a.unit = "ab", a.round = "c";
    b.unit = "a", b.round = "bc";
    assert_int_equal(cl_item_id_derive(&a, 0, base), CL_OK);
    assert_int_equal(cl_item_id_derive(&b, 0, other), CL_OK);
    assert_string_not_equal(base, other);

    /* NULL reads as "" */
    cl_item_content_t e = c, z = c;
    e.location = "";
    z.location = NULL;
    assert_int_equal(cl_item_id_derive(&e, 0, base), CL_OK);
    assert_int_equal(cl_item_id_derive(&z, 0, other), CL_OK);
    assert_string_equal(base, other);
}

/* Version 8 and the RFC 9562 variant, lower-case hex in 8-4-4-4-12. */
static void test_uuid_form(void **state) {
    (void)state;
    for (uint32_t n = 0; n < 64; n++) {
        char id[CL_ITEM_ID_LEN + 1];
        assert_int_equal(cl_item_id_derive(&vectors[2].c, n, id), CL_OK);
        for (size_t i = 0; i < CL_ITEM_ID_LEN; i++) {
            if (i == 8 || i == 13 || i == 18 || i == 23)
                assert_int_equal(id[i], '-');
            else
                assert_non_null(strchr("0123456789abcdef", id[i]));
        }
        assert_int_equal(id[14], '8');
        assert_non_null(strchr("89ab", id[19]));
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha256_vectors), cmocka_unit_test(test_item_id_vectors),
        cmocka_unit_test(test_content_key),    cmocka_unit_test(test_fields_matter),
        cmocka_unit_test(test_uuid_form),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
