/* Unit tests of reservation/resv_blazar.c, the Blazar-compatible lease
 * translation: Blazar dates, the lease body parsers (what the stock client
 * sends, and every malformed member, each refusal naming it), the mapping
 * of virtual:instance reservations onto capacity vectors and back, the
 * engine names that tie reservations to their lease, and the Blazar JSON
 * of a lease built from engine records. The REST side runs against the
 * stock client in tests/integration/test_reservation_blazar.py. */
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
#include "resv_blazar.h"
#include "resv_record.h"
#include "resv_time.h"
#include "vuuid.h"

#define LEASE_ID "01a201d9-422d-7cb3-8637-ce0b95e9202e"

static void
test_dates(void **state)
{
    static const struct {
        const char *text;
        int64_t want;          /* -1 refused, -2 "now" */
    } cases[] = {
        { "2027-01-01 08:00", 1798790400 },
        { "2027-01-01 08:00:30", 1798790430 },
        { "2027-01-01T08:00:00.000000", 1798790400 },
        { "2027-01-01T08:00:00Z", 1798790400 },
        { "now", -2 },
        { "", -1 },
        { "NOW", -1 },
        { "2027-13-01 08:00", -1 },
        { "2027-01-01 24:00", -1 },
        { "2027-01-01 08:00:00.5", -1 },
        { "2027-01-01", -1 },
        { "2027-01-01 08", -1 },
        { "tomorrow", -1 },
        { "2027-01-01 08:00xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
          "xxxxxxxxxxxxxxx", -1 },
    };
    char err[256];

    (void) state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *v = json_string(cases[i].text);
        int64_t t = 42;
        bool now = false;
        int ret = resv_blazar_parse_date(v, "start_date", true, &now, &t, err,
                                         sizeof err);

        if (cases[i].want == -1) {
            assert_int_equal(ret, -EINVAL);
            assert_non_null(strstr(err, "start_date"));
            assert_int_equal(t, 42);
        } else if (cases[i].want == -2) {
            assert_int_equal(ret, 0);
            assert_true(now);
            assert_int_equal(t, 42);
        } else {
            assert_int_equal(ret, 0);
            assert_false(now);
            assert_int_equal(t, cases[i].want);
        }
        json_decref(v);
    }
    {
        /* "now" where it is not allowed, a number, a NUL inside. */
        json_t *now_s = json_string("now"), *num = json_integer(1798790400);
        json_t *nul = json_stringn("2027-01-01 08:00\0x", 18);
        bool now = false;
        int64_t t = 0;

        assert_int_equal(resv_blazar_parse_date(now_s, "end_date", false,
                                                &now, &t, err, sizeof err),
                         -EINVAL);
        assert_non_null(strstr(err, "end_date"));
        assert_int_equal(resv_blazar_parse_date(num, "end_date", false, &now,
                                                &t, err, sizeof err),
                         -EINVAL);
        assert_int_equal(resv_blazar_parse_date(nul, "end_date", false, &now,
                                                &t, err, sizeof err),
                         -EINVAL);
        assert_int_equal(resv_blazar_parse_date(NULL, "end_date", false,
                                                &now, &t, err, sizeof err),
                         -EINVAL);
        json_decref(now_s);
        json_decref(num);
        json_decref(nul);
    }
    {
        /* What GET answers parses back to the same second. */
        char buf[32];
        json_t *v;
        bool now;
        int64_t t;

        resv_blazar_format_date(1798790431, buf, sizeof buf);
        assert_string_equal(buf, "2027-01-01T08:00:31.000000");
        v = json_string(buf);
        assert_int_equal(resv_blazar_parse_date(v, "x", false, &now, &t, err,
                                                sizeof err), 0);
        assert_int_equal(t, 1798790431);
        json_decref(v);
    }
}

/* The body python-blazarclient's `lease-create` sends. */
static json_t *
client_body(void)
{
    json_t *body = json_loads(
        "{\"name\": \"vepc\", \"start_date\": \"now\","
        " \"end_date\": \"2027-01-01 10:00\","
        " \"reservations\": ["
        "  {\"resource_type\": \"virtual:instance\", \"amount\": 2,"
        "   \"vcpus\": 4, \"memory_mb\": 8192, \"disk_gb\": 40,"
        "   \"affinity\": \"None\", \"resource_properties\": \"\"},"
        "  {\"resource_type\": \"virtual:instance\", \"amount\": 3,"
        "   \"vcpus\": 1, \"memory_mb\": 1024, \"disk_gb\": 0,"
        "   \"affinity\": null}],"
        " \"events\": [], \"before_end_date\": null}", 0, NULL);

    assert_non_null(body);
    return body;
}

static void
test_create_body(void **state)
{
    struct resv_blazar_request req;
    struct capvec total, c;
    json_t *body = client_body();
    char err[256];

    (void) state;
    assert_int_equal(resv_blazar_parse_lease(body, false, &req, err,
                                             sizeof err), 0);
    assert_true(req.has_name && req.has_start && req.start_now &&
                req.has_end);
    assert_string_equal(req.name, "vepc");
    assert_int_equal(req.end, 1798797600);
    assert_int_equal(req.length, 2);
    assert_int_equal(req.reservations[0].amount, 2);
    assert_int_equal(req.reservations[0].vcpus, 4);
    assert_int_equal(req.reservations[0].memory_mb, 8192);
    assert_int_equal(req.reservations[0].disk_gb, 40);
    assert_int_equal(req.reservations[1].amount, 3);

    assert_int_equal(resv_blazar_capacity(&req.reservations[0], &c), 0);
    assert_int_equal(c.v[CAPVEC_CORES], 8);
    assert_int_equal(c.v[CAPVEC_RAM], 16384);
    assert_int_equal(c.v[CAPVEC_INSTANCES], 2);
    assert_int_equal(c.v[CAPVEC_GIGABYTES], 80);
    assert_int_equal(c.v[CAPVEC_PORTS], 0);
    assert_int_equal(resv_blazar_total(&req, &total), 0);
    assert_int_equal(total.v[CAPVEC_CORES], 11);
    assert_int_equal(total.v[CAPVEC_RAM], 16384 + 3072);
    assert_int_equal(total.v[CAPVEC_INSTANCES], 5);
    assert_int_equal(total.v[CAPVEC_GIGABYTES], 80);
    json_decref(body);

    /* An explicit start, no optional members. */
    body = json_pack("{s:s, s:s, s:s, s:[{s:s, s:i, s:i, s:i, s:i}]}",
                     "name", "l", "start_date", "2027-01-01 08:00",
                     "end_date", "2027-01-01 09:00", "reservations",
                     "resource_type", "virtual:instance", "amount", 1,
                     "vcpus", 1, "memory_mb", 0, "disk_gb", 0);
    assert_int_equal(resv_blazar_parse_lease(body, false, &req, err,
                                             sizeof err), 0);
    assert_false(req.start_now);
    assert_int_equal(req.start, 1798790400);
    assert_int_equal(req.end - req.start, 3600);
    json_decref(body);
}

/* Sets 'path' (a member, or "reservations.0.<member>") of the client body
 * to 'value' (stolen; NULL removes it), parses, and checks the refusal
 * names 'field'. */
static void
expect_refused(const char *member, int index, json_t *value,
               const char *field)
{
    struct resv_blazar_request req;
    json_t *body = client_body(), *target = body;
    char err[256] = "";
    int ret;

    req.length = 99;
    if (index >= 0) {
        target = json_array_get(json_object_get(body, "reservations"),
                                (size_t) index);
    }
    if (value) {
        json_object_set_new(target, member, value);
    } else {
        json_object_del(target, member);
    }
    ret = resv_blazar_parse_lease(body, false, &req, err, sizeof err);
    if (ret != -EINVAL || !strstr(err, field)) {
        fail_msg("%s[%d]: got %d '%s', expected a refusal naming '%s'",
                 member, index, ret, err, field);
    }
    assert_int_equal(req.length, 99);      /* untouched on failure */
    json_decref(body);
}

static void
test_malformed_create(void **state)
{
    json_t *many = json_array();

    (void) state;
    expect_refused("name", -1, NULL, "name: missing");
    expect_refused("start_date", -1, NULL, "start_date: missing");
    expect_refused("end_date", -1, NULL, "end_date: missing");
    expect_refused("reservations", -1, NULL, "reservations: missing");
    expect_refused("name", -1, json_string(""), "name");
    expect_refused("name", -1, json_integer(1), "name");
    expect_refused("name", -1, json_string("a\tb"), "name");
    expect_refused("name", -1, json_string(
        "123456789012345678901234567890123456789012345678901234567890"
        "123456789012345678901"), "name");
    expect_refused("name", -1, json_stringn("a\0b", 3), "name");
    expect_refused("start_date", -1, json_string("yesterday"), "start_date");
    expect_refused("end_date", -1, json_string("now"), "end_date");
    expect_refused("end_date", -1, json_null(), "end_date");
    expect_refused("start_date", -1, json_string("2027-01-01 10:00"),
                   "end_date: must be after start_date");
    expect_refused("reservations", -1, json_array(), "reservations");
    expect_refused("reservations", -1, json_object(), "reservations");
    for (int i = 0; i < RESV_BLAZAR_MAX_RESERVATIONS + 1; i++) {
        json_array_append_new(many, json_pack("{s:s, s:i, s:i, s:i, s:i}",
                                              "resource_type",
                                              "virtual:instance", "amount",
                                              1, "vcpus", 1, "memory_mb", 1,
                                              "disk_gb", 1));
    }
    expect_refused("reservations", -1, many, "reservations: expected an "
                   "array of 1 to 16");
    expect_refused("reservations", -1, json_pack("[i]", 1),
                   "reservations[0]: expected an object");
    expect_refused("events", -1, json_pack("[{s:s}]", "event_type",
                                           "before_end_lease"), "events");
    expect_refused("before_end_date", -1, json_string("2027-01-01 09:00"),
                   "before_end_date");
    expect_refused("trust_id", -1, json_string("x"), "trust_id: unknown");

    expect_refused("resource_type", 1, json_string("physical:host"),
                   "reservations[1].resource_type: 'physical:host' is not "
                   "supported");
    expect_refused("resource_type", 0, json_string("virtual:floatingip"),
                   "reservations[0].resource_type");
    expect_refused("resource_type", 0, NULL, "reservations[0].resource_type");
    expect_refused("resource_type", 0, json_stringn("virtual:instance\0x",
                                                    18),
                   "reservations[0].resource_type");
    expect_refused("amount", 0, json_integer(0), "reservations[0].amount");
    expect_refused("amount", 1, NULL, "reservations[1].amount: missing");
    expect_refused("vcpus", 0, json_string(""), "reservations[0].vcpus");
    expect_refused("vcpus", 0, json_integer(0), "reservations[0].vcpus");
    expect_refused("memory_mb", 0, json_integer(-1),
                   "reservations[0].memory_mb");
    expect_refused("memory_mb", 0, json_real(1.5),
                   "reservations[0].memory_mb");
    expect_refused("disk_gb", 1, json_integer(CAPVEC_MAX + 1),
                   "reservations[1].disk_gb");
    expect_refused("vcpus", 0, json_integer(CAPVEC_MAX),
                   "reservations[0]: amount times");
    expect_refused("affinity", 0, json_true(), "reservations[0].affinity");
    expect_refused("affinity", 0, json_string("False"),
                   "reservations[0].affinity");
    expect_refused("resource_properties", 1,
                   json_string("[\"==\", \"$foo\", \"bar\"]"),
                   "reservations[1].resource_properties");
    expect_refused("min", 0, json_integer(1), "reservations[0].min");
    {
        /* Each reservation fits, their sum does not. */
        json_t *big = json_array();

        for (int i = 0; i < 2; i++) {
            json_array_append_new(big, json_pack("{s:s, s:I, s:i, s:i, s:i}",
                                                 "resource_type",
                                                 "virtual:instance",
                                                 "amount",
                                                 (json_int_t) CAPVEC_MAX,
                                                 "vcpus", 1, "memory_mb", 0,
                                                 "disk_gb", 0));
        }
        expect_refused("reservations", -1, big, "reservations: the sum");
    }
    {
        struct resv_blazar_request req;
        json_t *array = json_array();
        char err[128];

        assert_int_equal(resv_blazar_parse_lease(array, false, &req, err,
                                                 sizeof err), -EINVAL);
        assert_non_null(strstr(err, "body"));
        assert_int_equal(resv_blazar_parse_lease(NULL, false, &req, err,
                                                 sizeof err), -EINVAL);
        json_decref(array);
    }
}

static void
test_update_body(void **state)
{
    struct resv_blazar_request req;
    char err[256];
    json_t *body;

    (void) state;
    body = json_pack("{s:s}", "name", "renamed");
    assert_int_equal(resv_blazar_parse_lease(body, true, &req, err,
                                             sizeof err), 0);
    assert_true(req.has_name && !req.has_start && !req.has_end);
    assert_string_equal(req.name, "renamed");
    assert_int_equal(req.length, 0);
    json_decref(body);

    body = json_pack("{s:s, s:s}", "start_date", "2027-01-01 09:00",
                     "end_date", "2027-01-02 09:00");
    assert_int_equal(resv_blazar_parse_lease(body, true, &req, err,
                                             sizeof err), 0);
    assert_true(!req.has_name && req.has_start && req.has_end);
    assert_int_equal(req.end - req.start, 86400);
    json_decref(body);

    body = json_object();
    assert_int_equal(resv_blazar_parse_lease(body, true, &req, err,
                                             sizeof err), -EINVAL);
    assert_non_null(strstr(err, "name, start_date or end_date"));
    json_decref(body);

    body = json_pack("{s:s, s:[{s:s}]}", "name", "x", "reservations", "id",
                     "abc");
    assert_int_equal(resv_blazar_parse_lease(body, true, &req, err,
                                             sizeof err), -EINVAL);
    assert_non_null(strstr(err, "reservations: changing"));
    json_decref(body);

    body = json_pack("{s:s, s:s}", "start_date", "2027-01-02 09:00",
                     "end_date", "2027-01-01 09:00");
    assert_int_equal(resv_blazar_parse_lease(body, true, &req, err,
                                             sizeof err), -EINVAL);
    assert_non_null(strstr(err, "end_date"));
    json_decref(body);
}

static void
test_capacity_mapping(void **state)
{
    struct resv_blazar_instance in = { 3, 2, 4096, 20 }, back;
    struct resv_blazar_instance huge = { CAPVEC_MAX, 2, 0, 0 };
    struct resv_blazar_instance edge = { CAPVEC_MAX, 1, 1, 1 };
    struct capvec c = { { 0 } }, before;

    (void) state;
    assert_int_equal(resv_blazar_capacity(&in, &c), 0);
    resv_blazar_instance_from_capvec(&c, &back);
    assert_memory_equal(&in, &back, sizeof in);

    before = c;
    assert_int_equal(resv_blazar_capacity(&huge, &c), -ERANGE);
    assert_memory_equal(&c, &before, sizeof c);      /* untouched */
    assert_int_equal(resv_blazar_capacity(&edge, &c), 0);
    assert_int_equal(c.v[CAPVEC_CORES], CAPVEC_MAX);

    memset(&c, 0, sizeof c);
    resv_blazar_instance_from_capvec(&c, &back);
    assert_int_equal(back.amount, 0);
    assert_int_equal(back.vcpus, 0);
}

static void
test_names(void **state)
{
    char engine_name[RESV_NAME_SIZE], id[VUUID_STRING_SIZE];
    char name[RESV_BLAZAR_NAME_SIZE], long_name[RESV_BLAZAR_NAME_SIZE + 1];

    (void) state;
    assert_int_equal(resv_blazar_name_encode(LEASE_ID, "my: lease",
                                             engine_name), 0);
    assert_string_equal(engine_name, "blazar:" LEASE_ID ":my: lease");
    assert_int_equal(resv_blazar_name_decode(engine_name, id, name), 0);
    assert_string_equal(id, LEASE_ID);
    assert_string_equal(name, "my: lease");

    memset(long_name, 'x', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    assert_int_equal(resv_blazar_name_encode(LEASE_ID, long_name,
                                             engine_name), -EINVAL);
    long_name[RESV_BLAZAR_NAME_SIZE - 1] = '\0';     /* 80 bytes: fits */
    assert_int_equal(resv_blazar_name_encode(LEASE_ID, long_name,
                                             engine_name), 0);
    assert_int_equal(resv_blazar_name_decode(engine_name, id, name), 0);
    assert_string_equal(name, long_name);
    assert_int_equal(resv_blazar_name_encode("not-a-uuid", "x", engine_name),
                     -EINVAL);

    strcpy(name, "unchanged");
    assert_int_equal(resv_blazar_name_decode("vEPC scale-out", id, name),
                     -EINVAL);
    assert_int_equal(resv_blazar_name_decode("blazar:", id, name), -EINVAL);
    assert_int_equal(resv_blazar_name_decode("blazar:" LEASE_ID, id, name),
                     -EINVAL);
    assert_int_equal(resv_blazar_name_decode(
                         "blazar:01a201d9-422d-7cb3-8637-ce0b95e9202X:x", id,
                         name), -EINVAL);
    assert_int_equal(resv_blazar_name_decode("blazar:" LEASE_ID "-x", id,
                                             name), -EINVAL);
    assert_string_equal(name, "unchanged");
}

static void
record(struct resv_record *r, const char *id, enum resv_status status,
       int64_t amount, int64_t vcpus)
{
    memset(r, 0, sizeof *r);
    strcpy(r->id, id);
    strcpy(r->zone, "az1");
    strcpy(r->project_id, "tenant-a");
    resv_blazar_name_encode(LEASE_ID, "vepc", r->name);
    r->start = 1798790400;
    r->end = 1798797600;
    r->status = status;
    r->capacity.v[CAPVEC_INSTANCES] = amount;
    r->capacity.v[CAPVEC_CORES] = amount * vcpus;
    r->capacity.v[CAPVEC_RAM] = amount * 2048;
    r->created = 1798700000;
    r->updated = 1798700100;
}

static void
test_lease_json(void **state)
{
    struct resv_record records[2];
    json_t *lease, *res;

    (void) state;
    record(&records[0], "01a201d9-422d-7082-a93b-004c174b6a40",
           RESV_STATUS_PENDING, 2, 4);
    record(&records[1], "01a201d9-422d-7ba8-a212-e79e2bfbf2f5",
           RESV_STATUS_PENDING, 1, 8);
    lease = resv_blazar_lease_to_json(LEASE_ID, records, 2);
    assert_non_null(lease);
    assert_string_equal(json_string_value(json_object_get(lease, "id")),
                        LEASE_ID);
    assert_string_equal(json_string_value(json_object_get(lease, "name")),
                        "vepc");
    assert_string_equal(json_string_value(json_object_get(lease,
                                                          "project_id")),
                        "tenant-a");
    assert_string_equal(json_string_value(json_object_get(lease, "status")),
                        "PENDING");
    assert_string_equal(json_string_value(json_object_get(lease,
                                                          "start_date")),
                        "2027-01-01T08:00:00.000000");
    assert_string_equal(json_string_value(json_object_get(lease,
                                                          "end_date")),
                        "2027-01-01T10:00:00.000000");
    res = json_array_get(json_object_get(lease, "reservations"), 1);
    assert_non_null(res);
    assert_string_equal(json_string_value(json_object_get(res, "id")),
                        records[1].id);
    assert_string_equal(json_string_value(json_object_get(res, "lease_id")),
                        LEASE_ID);
    assert_string_equal(json_string_value(json_object_get(res,
                                                          "resource_type")),
                        "virtual:instance");
    assert_string_equal(json_string_value(json_object_get(res, "status")),
                        "pending");
    assert_int_equal(json_integer_value(json_object_get(res, "amount")), 1);
    assert_int_equal(json_integer_value(json_object_get(res, "vcpus")), 8);
    assert_int_equal(json_integer_value(json_object_get(res, "memory_mb")),
                     2048);
    assert_int_equal(json_array_size(json_object_get(lease, "events")), 2);
    json_decref(lease);

    records[0].status = RESV_STATUS_ACTIVE;
    records[1].status = RESV_STATUS_ACTIVE;
    lease = resv_blazar_lease_to_json(LEASE_ID, records, 2);
    assert_string_equal(json_string_value(json_object_get(lease, "status")),
                        "ACTIVE");
    json_decref(lease);

    records[0].status = RESV_STATUS_ENDED;
    records[1].status = RESV_STATUS_ENDED;
    lease = resv_blazar_lease_to_json(LEASE_ID, records, 2);
    assert_string_equal(json_string_value(json_object_get(lease, "status")),
                        "TERMINATED");
    res = json_array_get(json_object_get(lease, "reservations"), 0);
    assert_string_equal(json_string_value(json_object_get(res, "status")),
                        "deleted");
    json_decref(lease);

    assert_null(resv_blazar_lease_to_json(LEASE_ID, records, 0));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dates),
        cmocka_unit_test(test_create_body),
        cmocka_unit_test(test_malformed_create),
        cmocka_unit_test(test_update_body),
        cmocka_unit_test(test_capacity_mapping),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_lease_json),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
