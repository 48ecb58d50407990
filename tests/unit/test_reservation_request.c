/* Unit tests of vigil-reservation's parsers of outside input:
 * reservation/resv_time.c (epoch seconds and ISO-8601 both ways, zones,
 * fractions, leap days, the 1970..9999 range), capvec.c (vectors) and
 * resv_request.c (every body, its required members, its bounds and the
 * field each refusal names), plus idmap.c, the table that holds every
 * object by id. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capvec.h"
#include "idmap.h"
#include "resv_record.h"
#include "resv_request.h"
#include "resv_time.h"
#include "vuuid.h"

static void
test_time_parse(void **state)
{
    static const struct {
        const char *text;
        int64_t want;          /* -1: refused */
    } cases[] = {
        { "1970-01-01T00:00:00Z", 0 },
        { "1970-01-01T00:00:00", 0 },
        { "1970-01-01 00:00:01", 1 },
        { "2026-11-22T01:53:07Z", 1795312387 },
        { "2026-11-22T03:53:07+02:00", 1795312387 },
        { "2026-11-21T23:23:07-0230", 1795312387 },
        { "2026-11-22T01:53:07.000Z", 1795312387 },
        { "2024-02-29T00:00:00Z", 1709164800 },
        { "9999-12-31T23:59:59Z", RESV_TIME_MAX },
        { "0", 0 },
        { "1795312387", 1795312387 },
        { "253402300799", RESV_TIME_MAX },
        { "253402300800", -1 },
        { "2026-11-22T01:53:07.5Z", -1 },
        { "2026-11-22T01:53:07.Z", -1 },
        { "2023-02-29T00:00:00Z", -1 },
        { "2026-13-01T00:00:00Z", -1 },
        { "2026-11-22T24:00:00Z", -1 },
        { "2026-11-22T01:60:00Z", -1 },
        { "2026-11-22T01:53:60Z", -1 },
        { "2026-11-22", -1 },
        { "1969-12-31T23:59:59Z", -1 },
        { "1970-01-01T00:00:00+00:01", -1 },
        { "9999-12-31T23:59:59-00:01", -1 },
        { "2026-11-22T01:53:07Zjunk", -1 },
        { "2026-11-22T01:53:07+25:00", -1 },
        { "", -1 },
        { "-5", -1 },
        { "1e9", -1 },
        { "9999999999999", -1 },
    };

    (void) state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t t = -7;
        int ret = resv_time_parse(cases[i].text, &t);

        if (cases[i].want < 0) {
            if (ret != -EINVAL || t != -7) {
                fail_msg("'%s' accepted as %lld", cases[i].text,
                         (long long) t);
            }
        } else if (ret || t != cases[i].want) {
            fail_msg("'%s': %d, %lld instead of %lld", cases[i].text, ret,
                     (long long) t, (long long) cases[i].want);
        }
    }
}

static void
test_time_round_trip(void **state)
{
    char text[RESV_TIME_SIZE];
    int64_t t;

    (void) state;
    assert_string_equal(resv_time_format(0, text, sizeof text),
                        "1970-01-01T00:00:00Z");
    assert_string_equal(resv_time_format(RESV_TIME_MAX, text, sizeof text),
                        "9999-12-31T23:59:59Z");
    assert_string_equal(resv_time_format(951782400, text, sizeof text),
                        "2000-02-29T00:00:00Z");
    for (int64_t v = 0; v < RESV_TIME_MAX; v += 86399 * 97 + 13) {
        assert_int_equal(resv_time_parse(resv_time_format(v, text,
                                                          sizeof text), &t),
                         0);
        assert_int_equal(t, v);
    }
}

static void
test_time_json(void **state)
{
    json_t *v;
    int64_t t = -1;

    (void) state;
    v = json_integer(1795312387);
    assert_int_equal(resv_time_from_json(v, &t), 0);
    assert_int_equal(t, 1795312387);
    json_decref(v);
    v = json_string("2026-11-22T01:53:07Z");
    assert_int_equal(resv_time_from_json(v, &t), 0);
    json_decref(v);
    /* Digits in a string would be ambiguous; numbers go as numbers. */
    v = json_string("1795312387");
    assert_int_equal(resv_time_from_json(v, &t), -EINVAL);
    json_decref(v);
    v = json_real(1.5);
    assert_int_equal(resv_time_from_json(v, &t), -EINVAL);
    json_decref(v);
    v = json_integer(-1);
    assert_int_equal(resv_time_from_json(v, &t), -EINVAL);
    json_decref(v);
    v = json_stringn("2026-11-22T01:53:07Z\0x", 22);
    assert_int_equal(resv_time_from_json(v, &t), -EINVAL);
    json_decref(v);
}

/* Parses 'text' with the parser 'which' (0 pool, 1 reservation, 2 update,
 * 3 allocation); returns its result with the reason in 'err'. */
static int
parse(int which, const char *text, void *out, char *err, size_t size)
{
    json_t *body = json_loads(text, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL,
                              NULL);
    int ret;

    assert_non_null(body);
    switch (which) {
    case 0:
        ret = resv_request_pool(body, out, err, size);
        break;
    case 1:
    case 2:
        ret = resv_request_reservation(body, which == 2, out, err, size);
        break;
    default:
        ret = resv_request_allocation(body, out, err, size);
        break;
    }
    json_decref(body);
    return ret;
}

static void
expect_refused(int which, const char *text, const char *field)
{
    union {
        struct resv_pool_request p;
        struct resv_reservation_request r;
        struct resv_alloc_request a;
    } out;
    char err[512] = "";

    if (parse(which, text, &out, err, sizeof err) != -EINVAL) {
        fail_msg("accepted: %s", text);
    }
    if (strncmp(err, field, strlen(field))) {
        fail_msg("%s: reason '%s' does not start with '%s'", text, err,
                 field);
    }
}

static void
test_reservation_body(void **state)
{
    struct resv_reservation_request r;
    char err[512];

    (void) state;
    assert_int_equal(parse(1, "{\"zone\": \"az1\", \"capacity\": {\"cores\": "
                           "4, \"volumes\": 1}, \"start\": 100, \"end\": "
                           "\"1970-01-01T00:10:00Z\", \"expiry\": 30, "
                           "\"name\": \"vEPC\", \"project_id\": \"t\"}",
                           &r, err, sizeof err), 0);
    assert_string_equal(r.zone, "az1");
    assert_int_equal(r.capacity.v[CAPVEC_CORES], 4);
    assert_int_equal(r.capacity.v[CAPVEC_VOLUMES], 1);
    assert_int_equal(r.capacity.v[CAPVEC_RAM], 0);
    assert_int_equal(r.start, 100);
    assert_int_equal(r.end, 600);
    assert_int_equal(r.expiry, 30);
    assert_true(r.has_name && r.has_project_id && !r.has_duration);
    assert_int_equal(parse(1, "{\"zone\": \"z\", \"capacity\": {\"ram\": 1},"
                           " \"duration\": 60}", &r, err, sizeof err), 0);
    assert_false(r.has_start);
    assert_int_equal(r.duration, 60);

    expect_refused(1, "{\"capacity\": {\"cores\": 1}, \"duration\": 1}",
                   "zone: missing");
    expect_refused(1, "{\"zone\": \"z\", \"duration\": 1}",
                   "capacity: missing");
    expect_refused(1, "{\"zone\": \"z\", \"capacity\": {\"cores\": 1}}",
                   "end: missing");
    expect_refused(1, "{\"zone\": \"z\", \"capacity\": {\"cores\": 1}, "
                   "\"end\": 5, \"duration\": 5}", "duration");
    expect_refused(1, "{\"zone\": \"z\", \"capacity\": {\"cores\": 1}, "
                   "\"start\": 5, \"end\": 5}", "end: must be after");
    expect_refused(1, "{\"zone\": \"z\", \"capacity\": {\"cores\": 0}, "
                   "\"duration\": 5}", "capacity: at least one");
    expect_refused(1, "{\"zone\": \"z\", \"capacity\": {\"cores\": -1}, "
                   "\"duration\": 5}", "capacity.cores");
    expect_refused(1, "{\"zone\": \"z\", \"capacity\": {\"cores\": "
                   "1099511627776}, \"duration\": 5}", "capacity.cores");
    expect_refused(1, "{\"zone\": \"z\", \"capacity\": {\"vcpus\": 1}, "
                   "\"duration\": 5}", "capacity.vcpus: unknown");
    expect_refused(1, "{\"zone\": \"z\", \"capacity\": 4, \"duration\": 5}",
                   "capacity: expected an object");
    expect_refused(1, "{\"zone\": \"\", \"capacity\": {\"cores\": 1}, "
                   "\"duration\": 5}", "zone: expected 1 to 255");
    expect_refused(1, "{\"zone\": \"a\\u0000b\", \"capacity\": {\"cores\": "
                   "1}, \"duration\": 5}", "zone: expected a string");
    expect_refused(1, "{\"zone\": \"a\\nb\", \"capacity\": {\"cores\": 1}, "
                   "\"duration\": 5}", "zone: contains a control");
    expect_refused(1, "{\"zone\": \"z\", \"capacity\": {\"cores\": 1}, "
                   "\"duration\": 5, \"expiry\": null}", "expiry");
    expect_refused(1, "{\"zone\": \"z\", \"capacity\": {\"cores\": 1}, "
                   "\"duration\": 5, \"flavor\": \"m1\"}",
                   "flavor: unknown member");
    expect_refused(1, "[]", "body: expected a JSON object");

    /* Updates: anything optional, at least one thing, no zone. */
    assert_int_equal(parse(2, "{\"expiry\": null}", &r, err, sizeof err), 0);
    assert_true(r.has_expiry);
    assert_int_equal(r.expiry, 0);
    expect_refused(2, "{}", "body: nothing to change");
    expect_refused(2, "{\"zone\": \"b\"}", "zone: cannot be changed");
    expect_refused(2, "{\"project_id\": \"b\"}",
                   "project_id: cannot be changed");
}

static void
test_pool_and_allocation_bodies(void **state)
{
    struct resv_pool_request p;
    struct resv_alloc_request a;
    char err[512];

    (void) state;
    assert_int_equal(parse(0, "{\"zone\": \"z\", \"capacity\": {\"cores\": "
                           "-4, \"ram\": 8}, \"force\": true}", &p, err,
                           sizeof err), 0);
    assert_int_equal(p.capacity.v[CAPVEC_CORES], -4);
    assert_true(p.force);
    assert_false(p.has_start || p.has_end);
    expect_refused(0, "{\"zone\": \"z\", \"capacity\": {\"cores\": 0}}",
                   "capacity: every count is 0");
    expect_refused(0, "{\"zone\": \"z\", \"capacity\": {\"cores\": "
                   "-1099511627776}}", "capacity.cores");
    expect_refused(0, "{\"zone\": \"z\", \"capacity\": {\"cores\": 1}, "
                   "\"force\": 1}", "force");

    assert_int_equal(parse(3, "{\"reservation_id\": "
                           "\"6695EB01-F6A4-4304-89AA-97F2502E193F\", "
                           "\"instance\": \"vm\", \"capacity\": {\"cores\": "
                           "1}}", &a, err, sizeof err), 0);
    assert_true(a.has_reservation);
    assert_int_equal(parse(3, "{\"reservation_id\": null, \"zone\": \"z\", "
                           "\"instance\": \"vm\", \"capacity\": {\"cores\": "
                           "1}, \"end\": 99}", &a, err, sizeof err), 0);
    assert_false(a.has_reservation);
    assert_int_equal(a.end, 99);
    expect_refused(3, "{\"zone\": \"z\", \"capacity\": {\"cores\": 1}}",
                   "instance: missing");
    expect_refused(3, "{\"instance\": \"vm\", \"capacity\": {\"cores\": 1}}",
                   "zone: missing");
    expect_refused(3, "{\"reservation_id\": \"x\", \"instance\": \"vm\", "
                   "\"capacity\": {\"cores\": 1}}", "reservation_id");
    expect_refused(3, "{\"reservation_id\": "
                   "\"6695eb01-f6a4-4304-89aa-97f2502e193f\", \"instance\": "
                   "\"vm\", \"capacity\": {\"cores\": 1}, \"end\": 5}",
                   "end: an allocation against");
}

/* The hand-written JSON of a record is the jansson one, byte for value. */
static void
test_record_format(void **state)
{
    struct resv_record r;
    char text[2048];
    json_t *mine, *theirs;
    int n;

    (void) state;
    memset(&r, 0, sizeof r);
    assert_int_equal(resv_record_new_id(r.id), 0);
    assert_true(vuuid_is_valid(r.id));
    assert_int_equal(r.id[14], '7');
    snprintf(r.zone, sizeof r.zone, "az \"1\" \\ r\xc3\xa9gion");
    snprintf(r.project_id, sizeof r.project_id, "tenant");
    snprintf(r.name, sizeof r.name, "tab\there");
    r.start = 1795312387;
    r.end = RESV_TIME_MAX;
    r.status = RESV_STATUS_ACTIVE;
    r.capacity.v[CAPVEC_CORES] = 8;
    r.capacity.v[CAPVEC_VOLUMES] = CAPVEC_MAX;
    r.allocated.v[CAPVEC_CORES] = 2;
    for (int pass = 0; pass < 2; pass++) {
        n = resv_record_format_json(&r, text, sizeof text);
        assert_true(n > 0);
        assert_int_equal(strlen(text), (size_t) n);
        mine = json_loads(text, 0, NULL);
        theirs = resv_record_to_json(&r);
        assert_non_null(mine);
        assert_non_null(theirs);
        if (!json_equal(mine, theirs)) {
            fail_msg("differs: %s", text);
        }
        json_decref(mine);
        json_decref(theirs);
        r.expiry = 600;
        r.expired = true;
        memset(&r.allocated, 0, sizeof r.allocated);
    }
    assert_int_equal(resv_record_format_json(&r, text, 40), -E2BIG);
    assert_int_equal(resv_record_format_json(&r, text, (size_t) n), -E2BIG);
    assert_int_equal(resv_record_format_json(&r, text, (size_t) n + 1), n);
}

struct item {
    char key[16];
};

static void
test_idmap(void **state)
{
    enum { N = 5000 };
    struct item *items = calloc(N, sizeof *items);
    struct idmap map;
    size_t cursor = 0, seen = 0;

    (void) state;
    assert_non_null(items);
    idmap_init(&map, offsetof(struct item, key));
    assert_null(idmap_get(&map, "nothing"));
    assert_null(idmap_remove(&map, "nothing"));
    for (int i = 0; i < N; i++) {
        snprintf(items[i].key, sizeof items[i].key, "k%d", i);
        assert_int_equal(idmap_put(&map, &items[i]), 0);
    }
    assert_int_equal(idmap_put(&map, &items[7]), -EEXIST);
    assert_int_equal(map.length, N);
    /* Remove every third; the rest must still be found (backward shift
     * keeps the probe runs whole). */
    for (int i = 0; i < N; i += 3) {
        assert_ptr_equal(idmap_remove(&map, items[i].key), &items[i]);
    }
    for (int i = 0; i < N; i++) {
        assert_ptr_equal(idmap_get(&map, items[i].key),
                         i % 3 ? &items[i] : NULL);
    }
    while (idmap_next(&map, &cursor)) {
        seen++;
    }
    assert_int_equal(seen, map.length);
    idmap_clear(&map);
    assert_int_equal(map.length, 0);
    free(items);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_time_parse),
        cmocka_unit_test(test_time_round_trip),
        cmocka_unit_test(test_time_json),
        cmocka_unit_test(test_reservation_body),
        cmocka_unit_test(test_pool_and_allocation_bodies),
        cmocka_unit_test(test_record_format),
        cmocka_unit_test(test_idmap),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
