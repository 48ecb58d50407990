/* Unit tests for common/jsonw: escaping (every control character, quotes,
 * backslashes, UTF-8 passed through), integers at their limits, reals and
 * every scalar exactly as jansson dumps them, containers, and the failed
 * state. Each text is also read back with jansson. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "jsonw.h"

static char *
finish(struct jsonw *w)
{
    size_t length = 0;
    char *text = jsonw_finish(w, &length);

    assert_non_null(text);
    assert_int_equal(strlen(text), length);
    return text;
}

/* jsonw's text of 'value' equals jansson's. */
static void
assert_like_jansson(const json_t *value)
{
    struct jsonw w;
    char *ours, *theirs;

    jsonw_init(&w, 0);
    jsonw_value(&w, value);
    ours = finish(&w);
    theirs = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY);
    assert_non_null(theirs);
    assert_string_equal(ours, theirs);
    free(ours);
    free(theirs);
}

static void
test_escapes(void **state)
{
    char all[40], *text;
    struct jsonw w;
    json_t *back;
    size_t n = 0;

    (void) state;
    for (int c = 1; c < 0x20; c++) {
        all[n++] = (char) c;
    }
    all[n++] = '"';
    all[n++] = '\\';
    all[n++] = '/';
    all[n] = '\0';
    jsonw_init(&w, 4);
    jsonw_string(&w, all);
    text = finish(&w);
    assert_string_equal(text,
        "\"\\u0001\\u0002\\u0003\\u0004\\u0005\\u0006\\u0007\\b\\t\\n"
        "\\u000b\\f\\r\\u000e\\u000f\\u0010\\u0011\\u0012\\u0013\\u0014"
        "\\u0015\\u0016\\u0017\\u0018\\u0019\\u001a\\u001b\\u001c\\u001d"
        "\\u001e\\u001f\\\"\\\\/\"");
    back = json_loads(text, JSON_DECODE_ANY, NULL);
    assert_non_null(back);
    assert_string_equal(json_string_value(back), all);
    json_decref(back);
    free(text);

    /* UTF-8 goes through as it is; empty strings. */
    jsonw_init(&w, 0);
    jsonw_raw(&w, "[", 1);
    jsonw_string(&w, "h\xc3\xb4te \xe2\x86\x92 \xf0\x9f\x94\xa5");
    jsonw_raw(&w, ",", 1);
    jsonw_string(&w, "");
    jsonw_raw(&w, "]", 1);
    text = finish(&w);
    assert_string_equal(text, "[\"h\xc3\xb4te \xe2\x86\x92 \xf0\x9f\x94\xa5\","
                              "\"\"]");
    back = json_loads(text, 0, NULL);
    assert_non_null(back);
    json_decref(back);
    free(text);
}

static void
test_scalars_like_jansson(void **state)
{
    static const double reals[] = { 0.0, 1.0, -2.5, 0.1, 1e300, -1e-300,
                                    1e-5, 2e22, 123456789.0,
                                    3.141592653589793 };
    json_t *v;

    (void) state;
    v = json_integer(INT64_MIN);
    assert_like_jansson(v);
    json_decref(v);
    v = json_integer(INT64_MAX);
    assert_like_jansson(v);
    json_decref(v);
    for (size_t i = 0; i < sizeof reals / sizeof reals[0]; i++) {
        v = json_real(reals[i]);
        assert_like_jansson(v);
        json_decref(v);
    }
    assert_like_jansson(json_true());     /* (singletons: no decref) */
    assert_like_jansson(json_false());
    assert_like_jansson(json_null());
    v = json_string("a \"quoted\"\nline\\");
    assert_like_jansson(v);
    json_decref(v);
    v = json_pack("{s:[i,s,{}], s:n}", "a", 1, "b", "b");
    assert_like_jansson(v);
    json_decref(v);
}

static void
test_int_and_growth(void **state)
{
    struct jsonw w;
    char *text;

    (void) state;
    jsonw_init(&w, 0);
    jsonw_raw(&w, "[", 1);
    for (int i = 0; i < 1000; i++) {
        if (i) {
            jsonw_raw(&w, ",", 1);
        }
        jsonw_int(&w, (int64_t) i * -1000003);
    }
    jsonw_raw(&w, "]", 1);
    text = finish(&w);
    {
        json_t *back = json_loads(text, 0, NULL);

        assert_non_null(back);
        assert_int_equal(json_array_size(back), 1000);
        assert_int_equal(json_integer_value(json_array_get(back, 999)),
                         (json_int_t) 999 * -1000003);
        json_decref(back);
    }
    free(text);
}

static void
test_failed_writer(void **state)
{
    struct jsonw w;
    size_t length = 7;

    (void) state;
    jsonw_init(&w, 16);
    jsonw_literal(&w, "{\"a\":");
    w.failed = true;             /* as after an allocation failure */
    jsonw_int(&w, 1);
    jsonw_string(&w, "ignored");
    assert_int_equal(w.length, 5);
    assert_null(jsonw_finish(&w, &length));
    assert_int_equal(length, 7);
    assert_null(w.data);
    jsonw_free(&w);

    /* An empty writer finishes as an empty string. */
    jsonw_init(&w, 0);
    {
        char *text = jsonw_finish(&w, &length);

        assert_non_null(text);
        assert_string_equal(text, "");
        assert_int_equal(length, 0);
        free(text);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escapes),
        cmocka_unit_test(test_scalars_like_jansson),
        cmocka_unit_test(test_int_and_growth),
        cmocka_unit_test(test_failed_writer),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
