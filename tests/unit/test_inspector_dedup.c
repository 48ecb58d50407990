/* Unit tests of the inspector's de-duplication table and event history. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>

#include "dedup.h"
#include "event_log.h"

#define MS 1000000LL

static void
test_state_changes_are_new(void **state)
{
    struct dedup *d = dedup_new(16, 1000 * MS);

    (void) state;
    assert_non_null(d);
    assert_int_equal(dedup_check(d, "i|a", "down", 10, 0), DEDUP_NEW);
    assert_int_equal(dedup_check(d, "i|a", "up", 11, 1 * MS), DEDUP_NEW);
    assert_int_equal(dedup_check(d, "i|a", "down", 12, 2 * MS), DEDUP_NEW);
    assert_int_equal(dedup_length(d), 1);
    dedup_free(d);
}

static void
test_same_state_within_window_is_duplicate(void **state)
{
    struct dedup *d = dedup_new(16, 1000 * MS);

    (void) state;
    assert_int_equal(dedup_check(d, "i|a", "down", 10, 0), DEDUP_NEW);
    assert_int_equal(dedup_check(d, "i|a", "down", 10, 999 * MS),
                     DEDUP_DUPLICATE);
    /* The window counts from the last recorded report, not the duplicate. */
    assert_int_equal(dedup_check(d, "i|a", "down", 10, 1000 * MS), DEDUP_NEW);
    /* Other subjects are independent. */
    assert_int_equal(dedup_check(d, "i|b", "down", 10, 1000 * MS), DEDUP_NEW);
    dedup_free(d);
}

static void
test_older_event_is_stale(void **state)
{
    struct dedup *d = dedup_new(16, 1000 * MS);

    (void) state;
    assert_int_equal(dedup_check(d, "h|x", "up", 200, 0), DEDUP_NEW);
    assert_int_equal(dedup_check(d, "h|x", "down", 100, 1), DEDUP_STALE);
    /* Same event time is not stale: two reports of one instant. */
    assert_int_equal(dedup_check(d, "h|x", "down", 200, 2), DEDUP_NEW);
    dedup_free(d);
}

static void
test_full_table_purges_then_lets_through(void **state)
{
    struct dedup *d = dedup_new(2, 100 * MS);

    (void) state;
    assert_null(dedup_new(0, 1));
    assert_int_equal(dedup_check(d, "a", "down", 1, 0), DEDUP_NEW);
    assert_int_equal(dedup_check(d, "b", "down", 1, 0), DEDUP_NEW);
    /* Full and nothing expired: let through, not remembered. */
    assert_int_equal(dedup_check(d, "c", "down", 1, 50 * MS), DEDUP_UNTRACKED);
    assert_int_equal(dedup_check(d, "c", "down", 1, 51 * MS), DEDUP_UNTRACKED);
    assert_int_equal(dedup_length(d), 2);
    /* After the window the old subjects make room. */
    assert_int_equal(dedup_check(d, "c", "down", 1, 200 * MS), DEDUP_NEW);
    assert_int_equal(dedup_length(d), 1);
    dedup_free(d);
}

static void
test_many_keys(void **state)
{
    struct dedup *d = dedup_new(5000, 1000 * MS);
    char key[32];

    (void) state;
    for (int i = 0; i < 5000; i++) {
        snprintf(key, sizeof key, "i|%d", i);
        assert_int_equal(dedup_check(d, key, "down", 1, 0), DEDUP_NEW);
    }
    for (int i = 0; i < 5000; i++) {
        snprintf(key, sizeof key, "i|%d", i);
        assert_int_equal(dedup_check(d, key, "down", 1, 1), DEDUP_DUPLICATE);
    }
    assert_string_equal(dedup_verdict_name(DEDUP_STALE), "stale");
    assert_string_equal(dedup_verdict_name(DEDUP_VERDICT_COUNT), "unknown");
    dedup_free(d);
}

static void
test_event_log_ring(void **state)
{
    struct event_log *log = event_log_new(3);
    json_t *list;

    (void) state;
    assert_null(event_log_new(0));
    for (int i = 0; i < 5; i++) {
        event_log_append(log, json_integer(i));
    }
    assert_int_equal(event_log_length(log), 3);
    list = event_log_to_json(log, 10);
    assert_int_equal(json_array_size(list), 3);
    assert_int_equal(json_integer_value(json_array_get(list, 0)), 2);
    assert_int_equal(json_integer_value(json_array_get(list, 2)), 4);
    json_decref(list);
    list = event_log_to_json(log, 1);
    assert_int_equal(json_array_size(list), 1);
    assert_int_equal(json_integer_value(json_array_get(list, 0)), 4);
    json_decref(list);
    event_log_free(log);
    event_log_free(NULL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_state_changes_are_new),
        cmocka_unit_test(test_same_state_within_window_is_duplicate),
        cmocka_unit_test(test_older_event_is_stale),
        cmocka_unit_test(test_full_table_purges_then_lets_through),
        cmocka_unit_test(test_many_keys),
        cmocka_unit_test(test_event_log_ring),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
