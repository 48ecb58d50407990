/* Unit tests for common/vtime: ISO-8601 parsing (zones, fractions, calendar
 * rules, range, garbage), formatting, and the two clocks. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "vtime.h"

#define NS INT64_C(1000000000)
/* 2026-11-22T01:53:07Z */
#define SAMPLE_S INT64_C(1795312387)

static int64_t
parse_ok(const char *text)
{
    int64_t ns = -1;
    int ret = vtime_parse_iso(text, &ns);

    if (ret) {
        print_error("'%s' was rejected\n", text);
    }
    assert_int_equal(ret, 0);
    return ns;
}

static void
parse_bad(const char *text)
{
    int64_t ns = 12345;
    int ret = vtime_parse_iso(text, &ns);

    if (ret != -EINVAL) {
        print_error("'%s' was accepted as %lld\n", text ? text : "(null)",
                    (long long) ns);
    }
    assert_int_equal(ret, -EINVAL);
    /* Output untouched on failure. */
    assert_int_equal(ns, 12345);
}

static void
test_parse_zones(void **state)
{
    (void) state;
    /* No zone (Python isoformat(), OPNFV Doctor's sample monitor) is UTC. */
    assert_int_equal(parse_ok("2026-11-22T01:53:07"), SAMPLE_S * NS);
    assert_int_equal(parse_ok("2026-11-22T01:53:07Z"), SAMPLE_S * NS);
    assert_int_equal(parse_ok("2026-11-22t01:53:07z"), SAMPLE_S * NS);
    assert_int_equal(parse_ok("2026-11-22 01:53:07"), SAMPLE_S * NS);
    assert_int_equal(parse_ok("2026-11-22T01:53:07+00:00"), SAMPLE_S * NS);
    assert_int_equal(parse_ok("2026-11-22T01:53:07-00:00"), SAMPLE_S * NS);
    assert_int_equal(parse_ok("2026-11-22T02:53:07+01:00"), SAMPLE_S * NS);
    assert_int_equal(parse_ok("2026-11-22T02:53:07+0100"), SAMPLE_S * NS);
    assert_int_equal(parse_ok("2026-11-21T20:23:07-05:30"), SAMPLE_S * NS);
    /* Across a day, month and year boundary. */
    assert_int_equal(parse_ok("2027-01-01T05:00:00+05:00"),
                     parse_ok("2027-01-01T00:00:00Z"));
    assert_int_equal(parse_ok("2026-12-31T23:30:00-00:30"),
                     parse_ok("2027-01-01T00:00:00Z"));
    assert_int_equal(parse_ok("2026-11-22T01:53:07+23:59"),
                     (SAMPLE_S - 23 * 3600 - 59 * 60) * NS);

    parse_bad("2026-11-22T01:53:07+1:00");
    parse_bad("2026-11-22T01:53:07+01");
    parse_bad("2026-11-22T01:53:07+24:00");
    parse_bad("2026-11-22T01:53:07+01:60");
    parse_bad("2026-11-22T01:53:07+01:00:00");
    parse_bad("2026-11-22T01:53:07 +01:00");
    parse_bad("2026-11-22T01:53:07Zx");
    parse_bad("2026-11-22T01:53:07ZZ");
    parse_bad("2026-11-22T01:53:07UTC");
}

static void
test_parse_fractions(void **state)
{
    (void) state;
    assert_int_equal(parse_ok("2026-11-22T01:53:07.1"),
                     SAMPLE_S * NS + 100000000);
    assert_int_equal(parse_ok("2026-11-22T01:53:07.123456"),
                     SAMPLE_S * NS + 123456000);
    assert_int_equal(parse_ok("2026-11-22T01:53:07,5Z"),
                     SAMPLE_S * NS + 500000000);
    assert_int_equal(parse_ok("2026-11-22T01:53:07.000000001+00:00"),
                     SAMPLE_S * NS + 1);
    assert_int_equal(parse_ok("2026-11-22T01:53:07.999999999-01:00"),
                     (SAMPLE_S + 3600) * NS + 999999999);
    parse_bad("2026-11-22T01:53:07.");
    parse_bad("2026-11-22T01:53:07.Z");
    parse_bad("2026-11-22T01:53:07.1234567891");
    parse_bad("2026-11-22T01:53:07.12a");
    parse_bad("2026-11-22T01:53:07..1");
}

static void
test_parse_calendar(void **state)
{
    (void) state;
    assert_int_equal(parse_ok("1970-01-01T00:00:00Z"), 0);
    /* Leap days: divisible by 4, by 400 but not by 100. */
    assert_int_equal(parse_ok("2024-02-29T23:59:59Z"),
                     INT64_C(1709251199) * NS);
    assert_int_equal(parse_ok("2024-03-01T00:00:00Z"),
                     INT64_C(1709251200) * NS);
    assert_int_equal(parse_ok("2000-02-29T00:00:00Z") + 86400 * NS,
                     parse_ok("2000-03-01T00:00:00Z"));
    parse_bad("2023-02-29T00:00:00Z");
    parse_bad("2100-02-29T00:00:00Z");
    parse_bad("2024-02-30T00:00:00Z");
    parse_bad("2026-02-30T00:00:00");
    parse_bad("2026-04-31T00:00:00");
    parse_bad("2026-06-31T00:00:00");
    parse_bad("2026-09-31T00:00:00");
    parse_bad("2026-11-31T00:00:00");
    assert_int_equal(parse_ok("2026-12-31T23:59:59Z") + NS,
                     parse_ok("2027-01-01T00:00:00Z"));
    parse_bad("2026-00-10T00:00:00");
    parse_bad("2026-13-10T00:00:00");
    parse_bad("2026-01-00T00:00:00");
    parse_bad("2026-01-32T00:00:00");
    parse_bad("2026-01-01T24:00:00");
    parse_bad("2026-01-01T23:60:00");
    parse_bad("2026-01-01T23:59:61");
    /* A leap second is accepted and counts as the next second (POSIX). */
    assert_int_equal(parse_ok("2016-12-31T23:59:60Z"),
                     parse_ok("2017-01-01T00:00:00Z"));
}

static void
test_parse_range(void **state)
{
    (void) state;
    /* The epoch is the floor: earlier times (also through an offset) are
     * not non-negative nanoseconds. */
    parse_bad("1969-12-31T23:59:59Z");
    parse_bad("0001-01-01T00:00:00Z");
    parse_bad("1970-01-01T00:00:00+01:00");
    assert_int_equal(parse_ok("1970-01-01T00:00:00-01:00"), 3600 * NS);
    /* The ceiling is INT64_MAX ns: 2262-04-11T23:47:16.854775807Z. */
    assert_int_equal(parse_ok("2262-04-11T23:47:16.854775807Z"), INT64_MAX);
    parse_bad("2262-04-11T23:47:16.854775808Z");
    parse_bad("2262-04-11T23:47:17Z");
    parse_bad("2300-01-01T00:00:00Z");
    parse_bad("9999-12-31T23:59:59.999999999Z");
    parse_bad("9999-12-31T23:59:59-23:59");
}

static void
test_parse_garbage(void **state)
{
    char long_text[100];

    (void) state;
    parse_bad(NULL);
    parse_bad("");
    parse_bad("yesterday");
    parse_bad("now");
    parse_bad("2026");
    parse_bad("2026-11-22");
    parse_bad("2026-11-22T");
    parse_bad("2026-11-22T01");
    parse_bad("2026-11-22T01:53");
    parse_bad("2026-11-22T01:53:0");
    parse_bad("2026-1-22T01:53:07");
    parse_bad("26-11-22T01:53:07");
    parse_bad(" 2026-11-22T01:53:07");
    parse_bad("2026-11-22T01:53:07 ");
    parse_bad("2026/11/22T01:53:07");
    parse_bad("2026-11-22X01:53:07");
    parse_bad("2026-11-22T01-53-07");
    parse_bad("+2026-11-22T01:53:07");
    parse_bad("2026-11-22T01:53:07\n");
    parse_bad("1795312387");
    parse_bad("２026-11-22T01:53:07");
    memset(long_text, '0', sizeof long_text - 1);
    long_text[sizeof long_text - 1] = '\0';
    memcpy(long_text, "2026-11-22T01:53:07.", 20);
    parse_bad(long_text);
}

static void
test_format(void **state)
{
    char buf[VTIME_ISO_SIZE], small[12];

    (void) state;
    assert_string_equal(vtime_format_iso(0, buf, sizeof buf),
                        "1970-01-01T00:00:00.000000Z");
    assert_string_equal(vtime_format_iso(SAMPLE_S * NS + 123456789, buf,
                                         sizeof buf),
                        "2026-11-22T01:53:07.123456Z");
    assert_string_equal(vtime_format_iso(INT64_C(1709251199) * NS + 999, buf,
                                         sizeof buf),
                        "2024-02-29T23:59:59.000000Z");
    assert_string_equal(vtime_format_iso(INT64_MAX, buf, sizeof buf),
                        "2262-04-11T23:47:16.854775Z");
    /* Before the epoch: floor, not truncation toward zero. */
    assert_string_equal(vtime_format_iso(-1, buf, sizeof buf),
                        "1969-12-31T23:59:59.999999Z");
    assert_string_equal(vtime_format_iso(-NS, buf, sizeof buf),
                        "1969-12-31T23:59:59.000000Z");
    /* A short buffer is truncated, never overrun. */
    assert_ptr_equal(vtime_format_iso(0, small, sizeof small), small);
    assert_string_equal(small, "1970-01-01T");
}

static void
test_format_parse_round_trip(void **state)
{
    static const int64_t samples[] = {
        0, 1000, SAMPLE_S * NS + 123456000, INT64_C(1709251199) * NS,
        INT64_C(4102444799) * NS + 999999000,
    };
    char buf[VTIME_ISO_SIZE];

    (void) state;
    for (size_t i = 0; i < sizeof samples / sizeof samples[0]; i++) {
        vtime_format_iso(samples[i], buf, sizeof buf);
        assert_int_equal(parse_ok(buf), samples[i]);
    }
    /* Sub-microsecond digits are dropped by the format. */
    vtime_format_iso(SAMPLE_S * NS + 999, buf, sizeof buf);
    assert_int_equal(parse_ok(buf), SAMPLE_S * NS);
}

static void
test_clocks(void **state)
{
    int64_t a, b, real;

    (void) state;
    a = vtime_mono_ns();
    b = vtime_mono_ns();
    assert_true(a > 0);
    assert_true(b >= a);
    real = vtime_real_ns();
    /* After 2020-01-01 and before 2262. */
    assert_true(real > INT64_C(1577836800) * NS);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_zones),
        cmocka_unit_test(test_parse_fractions),
        cmocka_unit_test(test_parse_calendar),
        cmocka_unit_test(test_parse_range),
        cmocka_unit_test(test_parse_garbage),
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_format_parse_round_trip),
        cmocka_unit_test(test_clocks),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
