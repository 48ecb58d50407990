/* Unit tests for common/vlog: level names, the token-bucket rate limiter
 * driven with explicit clock values, and the lines written to stderr
 * (captured through a pipe). */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "vlog.h"

#define MS INT64_C(1000000)
#define S INT64_C(1000000000)

static void
test_level_from_string(void **state)
{
    static const struct {
        const char *name;
        enum vlog_level level;
    } good[] = {
        { "error", VLOG_LEVEL_ERR }, { "err", VLOG_LEVEL_ERR },
        { "ERROR", VLOG_LEVEL_ERR }, { "warning", VLOG_LEVEL_WARN },
        { "warn", VLOG_LEVEL_WARN }, { "Warning", VLOG_LEVEL_WARN },
        { "info", VLOG_LEVEL_INFO }, { "INFO", VLOG_LEVEL_INFO },
        { "debug", VLOG_LEVEL_DEBUG }, { "DeBuG", VLOG_LEVEL_DEBUG },
    };
    static const char *const bad[] = {
        "", "verbose", "infos", "inf", " info", "info ", "trace", "0",
    };

    (void) state;
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        enum vlog_level level = VLOG_LEVEL_COUNT;

        assert_int_equal(vlog_level_from_string(good[i].name, &level), 0);
        assert_int_equal(level, good[i].level);
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        enum vlog_level level = VLOG_LEVEL_COUNT;

        assert_int_equal(vlog_level_from_string(bad[i], &level), -EINVAL);
        assert_int_equal(level, VLOG_LEVEL_COUNT);
    }
}

static void
test_level_to_string(void **state)
{
    (void) state;
    assert_string_equal(vlog_level_to_string(VLOG_LEVEL_ERR), "ERROR");
    assert_string_equal(vlog_level_to_string(VLOG_LEVEL_WARN), "WARN");
    assert_string_equal(vlog_level_to_string(VLOG_LEVEL_INFO), "INFO");
    assert_string_equal(vlog_level_to_string(VLOG_LEVEL_DEBUG), "DEBUG");
    assert_string_equal(vlog_level_to_string(VLOG_LEVEL_COUNT), "?");
    vlog_set_level(VLOG_LEVEL_DEBUG);
    assert_int_equal(vlog_get_level(), VLOG_LEVEL_DEBUG);
    vlog_set_level(VLOG_LEVEL_ERR);
    assert_int_equal(vlog_get_level(), VLOG_LEVEL_ERR);
}

static void
test_rate_limit_burst_and_refill(void **state)
{
    struct vlog_rate_limit rl = VLOG_RATE_LIMIT_INIT(10, 5);
    int64_t t = 1000 * S;

    (void) state;
    /* The full burst passes at once, then nothing. */
    for (int i = 0; i < 5; i++) {
        assert_true(vlog_rate_allow(&rl, t));
    }
    assert_false(vlog_rate_allow(&rl, t));
    assert_false(vlog_rate_allow(&rl, t));
    assert_int_equal(rl.suppressed, 2);

    /* 10 per second: one token every 100 ms. */
    assert_false(vlog_rate_allow(&rl, t + 99 * MS));
    assert_true(vlog_rate_allow(&rl, t + 100 * MS));
    assert_false(vlog_rate_allow(&rl, t + 100 * MS));
    assert_false(vlog_rate_allow(&rl, t + 150 * MS));
    assert_true(vlog_rate_allow(&rl, t + 200 * MS));
    assert_int_equal(rl.suppressed, 5);

    /* A long quiet spell refills at most 'burst' tokens. */
    t += 3600 * S;
    for (int i = 0; i < 5; i++) {
        assert_true(vlog_rate_allow(&rl, t));
    }
    assert_false(vlog_rate_allow(&rl, t));
    assert_int_equal(rl.suppressed, 6);
}

static void
test_rate_limit_steady_rate(void **state)
{
    struct vlog_rate_limit rl = VLOG_RATE_LIMIT_INIT(100, 1);
    int64_t t = 5 * S;
    int allowed = 0;

    (void) state;
    /* One call per millisecond for 10 s at 100/s with a burst of 1: the
     * first, then one per 10 ms. */
    for (int i = 0; i < 10000; i++) {
        allowed += vlog_rate_allow(&rl, t + i * MS);
    }
    assert_int_equal(allowed, 1000);
    assert_int_equal(rl.suppressed, 9000);
}

/* Redirects stderr into a pipe; returns the saved stderr. */
static int
capture_begin(int fds[2])
{
    int saved = dup(STDERR_FILENO);

    assert_true(saved >= 0);
    assert_int_equal(pipe(fds), 0);
    assert_int_equal(fcntl(fds[0], F_SETFL, O_NONBLOCK), 0);
    assert_true(dup2(fds[1], STDERR_FILENO) >= 0);
    return saved;
}

/* Restores stderr and returns what was written (caller frees). */
static char *
capture_end(int fds[2], int saved)
{
    size_t size = 65536, n = 0;
    char *buf = malloc(size + 1);
    ssize_t r;

    assert_non_null(buf);
    assert_true(dup2(saved, STDERR_FILENO) >= 0);
    close(saved);
    close(fds[1]);
    while ((r = read(fds[0], buf + n, size - n)) > 0) {
        n += (size_t) r;
    }
    close(fds[0]);
    buf[n] = '\0';
    return buf;
}

static void
test_write_format_and_filter(void **state)
{
    char expected_head[64], *out, *line2;
    int fds[2], saved;

    (void) state;
    vlog_init("vigil-test", VLOG_LEVEL_INFO);
    saved = capture_begin(fds);
    VLOG_INFO("unit", "connected to %s", "test:///default");
    VLOG_DBG("unit", "not written at info");
    VLOG_ERR("libvirt", "lost %d", 3);
    out = capture_end(fds, saved);

    /* "2026-11-22T01:53:07.123456Z vigil-test[123] INFO unit: ..." */
    assert_int_equal(strlen(out) > 28, 1);
    assert_int_equal(out[4], '-');
    assert_int_equal(out[10], 'T');
    assert_int_equal(out[26], 'Z');
    snprintf(expected_head, sizeof expected_head, " vigil-test[%ld] ",
             (long) getpid());
    assert_memory_equal(out + 27, expected_head, strlen(expected_head));
    assert_non_null(strstr(out, " INFO unit: connected to test:///default\n"));
    line2 = strchr(out, '\n') + 1;
    assert_non_null(strstr(line2, " ERROR libvirt: lost 3\n"));
    assert_null(strstr(out, "not written"));
    /* Exactly two lines. */
    assert_null(strchr(strchr(line2, '\n') + 1, '\n'));
    free(out);
}

static void
test_write_rate_limited(void **state)
{
    struct vlog_rate_limit rl = VLOG_RATE_LIMIT_INIT(1, 2);
    char *out;
    int fds[2], saved;

    (void) state;
    vlog_init("vigil-test", VLOG_LEVEL_INFO);
    saved = capture_begin(fds);
    for (int i = 0; i < 50; i++) {
        vlog_write_rl(&rl, VLOG_LEVEL_WARN, "gtpu", "bad TEID %d", i);
    }
    out = capture_end(fds, saved);
    assert_non_null(strstr(out, "bad TEID 0\n"));
    assert_non_null(strstr(out, "bad TEID 1\n"));
    assert_null(strstr(out, "bad TEID 2"));
    assert_int_equal(rl.suppressed, 48);
    free(out);

    /* The next line that passes reports what was dropped. */
    rl.tokens = 1;
    saved = capture_begin(fds);
    vlog_write_rl(&rl, VLOG_LEVEL_WARN, "gtpu", "bad TEID %d", 99);
    out = capture_end(fds, saved);
    assert_non_null(strstr(out, "bad TEID 99 (48 similar lines "
                                "suppressed)\n"));
    assert_int_equal(rl.suppressed, 0);
    free(out);
}

static void
test_write_long_line(void **state)
{
    struct vlog_rate_limit rl = VLOG_RATE_LIMIT_INIT(1, 1);
    char *big = malloc(5001), *out;
    int fds[2], saved;
    size_t n;

    (void) state;
    assert_non_null(big);
    memset(big, 'x', 5000);
    big[5000] = '\0';
    vlog_init("vigil-test", VLOG_LEVEL_INFO);
    saved = capture_begin(fds);
    VLOG_WARN("unit", "%s", big);
    out = capture_end(fds, saved);
    n = strlen(out);
    assert_true(n <= 2048);
    assert_int_equal(out[n - 1], '\n');
    assert_ptr_equal(strchr(out, '\n'), out + n - 1);
    free(out);

    /* A truncated line with the largest suppressed count still fits. */
    rl.suppressed = UINT64_MAX;
    saved = capture_begin(fds);
    vlog_write_rl(&rl, VLOG_LEVEL_WARN, "unit", "%s", big);
    out = capture_end(fds, saved);
    n = strlen(out);
    assert_true(n <= 2048);
    assert_int_equal(out[n - 1], '\n');
    assert_ptr_equal(strchr(out, '\n'), out + n - 1);
    free(out);
    free(big);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_level_from_string),
        cmocka_unit_test(test_level_to_string),
        cmocka_unit_test(test_rate_limit_burst_and_refill),
        cmocka_unit_test(test_rate_limit_steady_rate),
        cmocka_unit_test(test_write_format_and_filter),
        cmocka_unit_test(test_write_rate_limited),
        cmocka_unit_test(test_write_long_line),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
