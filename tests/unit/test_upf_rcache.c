/* Unit tests for vnf-dataplane/upf_rcache, the PFCP response cache: a
 * response is found again by peer address, port and sequence number until
 * its TTL passes; entries are capped (oldest evicted first) and sized;
 * replacing an entry keeps one copy. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "upf_rcache.h"

#define TTL 1000

static struct sockaddr_in
peer(uint32_t ip, uint16_t port)
{
    struct sockaddr_in a = { .sin_family = AF_INET };

    a.sin_addr.s_addr = htonl(ip);
    a.sin_port = htons(port);
    return a;
}

static void
test_put_get(void **state)
{
    struct upf_rcache *c = upf_rcache_new(8, 64, TTL);
    struct sockaddr_in a = peer(0x0a040002, 8805), b = peer(0x0a040003, 8805);
    struct sockaddr_in a2 = peer(0x0a040002, 9999);
    const uint8_t *got;
    size_t size = 0;

    (void) state;
    assert_non_null(c);
    assert_int_equal(upf_rcache_put(c, &a, 7, (const uint8_t *) "seven", 5,
                                    0), 0);
    got = upf_rcache_get(c, &a, 7, &size, 10);
    assert_non_null(got);
    assert_int_equal(size, 5);
    assert_memory_equal(got, "seven", 5);
    /* Another peer, port or sequence number: not the same request. */
    assert_null(upf_rcache_get(c, &b, 7, &size, 10));
    assert_null(upf_rcache_get(c, &a2, 7, &size, 10));
    assert_null(upf_rcache_get(c, &a, 8, &size, 10));
    /* Replacing keeps one entry. */
    assert_int_equal(upf_rcache_put(c, &a, 7, (const uint8_t *) "SEVEN!", 6,
                                    20), 0);
    assert_int_equal(upf_rcache_length(c), 1);
    got = upf_rcache_get(c, &a, 7, &size, 30);
    assert_int_equal(size, 6);
    assert_memory_equal(got, "SEVEN!", 6);
    /* Too big. */
    assert_int_equal(upf_rcache_put(c, &a, 9, (const uint8_t *) "x", 65, 0),
                     -E2BIG);
    upf_rcache_free(c);
    upf_rcache_free(NULL);
}

static void
test_expiry(void **state)
{
    struct upf_rcache *c = upf_rcache_new(8, 64, TTL);
    struct sockaddr_in a = peer(1, 1);
    size_t size;

    (void) state;
    assert_int_equal(upf_rcache_put(c, &a, 1, (const uint8_t *) "1", 1, 0),
                     0);
    assert_int_equal(upf_rcache_put(c, &a, 2, (const uint8_t *) "2", 1, 500),
                     0);
    assert_non_null(upf_rcache_get(c, &a, 1, &size, TTL - 1));
    assert_null(upf_rcache_get(c, &a, 1, &size, TTL));
    assert_int_equal(upf_rcache_length(c), 1);
    assert_non_null(upf_rcache_get(c, &a, 2, &size, TTL));
    upf_rcache_expire(c, 500 + TTL);
    assert_int_equal(upf_rcache_length(c), 0);
    upf_rcache_free(c);
}

static void
test_cap(void **state)
{
    struct upf_rcache *c = upf_rcache_new(100, 16, TTL);
    struct sockaddr_in a = peer(1, 1);
    size_t size;

    (void) state;
    for (uint32_t seq = 0; seq < 1000; seq++) {
        assert_int_equal(upf_rcache_put(c, &a, seq, (uint8_t *) &seq,
                                        sizeof seq, 0), 0);
        assert_true(upf_rcache_length(c) <= 100);
    }
    assert_int_equal(upf_rcache_length(c), 100);
    /* The newest 100 are kept, with their own contents. */
    assert_null(upf_rcache_get(c, &a, 899, &size, 1));
    for (uint32_t seq = 900; seq < 1000; seq++) {
        const uint8_t *got = upf_rcache_get(c, &a, seq, &size, 1);

        assert_non_null(got);
        assert_memory_equal(got, &seq, sizeof seq);
    }
    upf_rcache_free(c);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_put_get),
        cmocka_unit_test(test_expiry),
        cmocka_unit_test(test_cap),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
