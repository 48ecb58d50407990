/* Unit tests for common/vuuid: generated UUIDs are well-formed version 4
 * and distinct; the syntax check accepts 8-4-4-4-12 hex in either case and
 * nothing else. */
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vuuid.h"

#define COUNT 2000

static int
compare(const void *a, const void *b)
{
    return strcmp(a, b);
}

static void
test_generate(void **state)
{
    char (*ids)[VUUID_STRING_SIZE] = calloc(COUNT, sizeof *ids);

    (void) state;
    assert_non_null(ids);
    for (int i = 0; i < COUNT; i++) {
        char *id = ids[i];

        assert_int_equal(vuuid_generate(id), 0);
        assert_int_equal(strlen(id), 36);
        assert_true(vuuid_is_valid(id));
        /* Version 4, RFC 4122 variant, lower case. */
        assert_int_equal(id[14], '4');
        assert_non_null(strchr("89ab", id[19]));
        for (int j = 0; j < 36; j++) {
            assert_false(isupper((unsigned char) id[j]));
        }
    }
    qsort(ids, COUNT, sizeof *ids, compare);
    for (int i = 1; i < COUNT; i++) {
        assert_string_not_equal(ids[i - 1], ids[i]);
    }
    free(ids);
}

static void
test_is_valid(void **state)
{
    static const char *const good[] = {
        "6d3a1e2b-9f4c-4a7e-8b1d-2c5e7f9a0b3c",
        "6D3A1E2B-9F4C-4A7E-8B1D-2C5E7F9A0B3C",
        "00000000-0000-0000-0000-000000000000",
        /* Any version: Nova's instance UUIDs are not all v4. */
        "ffffffff-ffff-1fff-cfff-ffffffffffff",
    };
    static const char *const bad[] = {
        "",
        "6d3a1e2b-9f4c-4a7e-8b1d-2c5e7f9a0b3",
        "6d3a1e2b-9f4c-4a7e-8b1d-2c5e7f9a0b3c0",
        "6d3a1e2b-9f4c-4a7e-8b1d-2c5e7f9a0b3g",
        "6d3a1e2b9f4c-4a7e-8b1d-2c5e7f9a0b3c0",
        "6d3a1e2b-9f4c4a7e-8b1d--2c5e7f9a0b3c",
        "6d3a1e2b_9f4c_4a7e_8b1d_2c5e7f9a0b3c",
        "6d3a1e2b9f4c4a7e8b1d2c5e7f9a0b3c",
        "{6d3a1e2b-9f4c-4a7e-8b1d-2c5e7f9a0b3c}",
        " 6d3a1e2b-9f4c-4a7e-8b1d-2c5e7f9a0b3c",
        "6d3a1e2b-9f4c-4a7e-8b1d-2c5e7f9a0b3 ",
        "+d3a1e2b-9f4c-4a7e-8b1d-2c5e7f9a0b3c",
    };

    (void) state;
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        assert_true(vuuid_is_valid(good[i]));
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_false(vuuid_is_valid(bad[i]));
    }
    assert_false(vuuid_is_valid(NULL));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_generate),
        cmocka_unit_test(test_is_valid),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
