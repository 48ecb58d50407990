/* Unit tests of notifier/alarm_db.c on a real SQLite file: alarms survive a
 * close and reopen in their order, updates replace in place, deletes stick,
 * and a row that no longer parses is skipped and counted. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alarm.h"
#include "alarm_db.h"
#include "alarm_store.h"

struct fixture {
    char path[64];
};

static int
setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    int fd;

    assert_non_null(f);
    snprintf(f->path, sizeof f->path, "/tmp/vigil-alarm-db-XXXXXX");
    fd = mkstemp(f->path);
    assert_true(fd >= 0);
    close(fd);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *f = *state;
    char extra[80];

    unlink(f->path);
    snprintf(extra, sizeof extra, "%s-wal", f->path);
    unlink(extra);
    snprintf(extra, sizeof extra, "%s-shm", f->path);
    unlink(extra);
    free(f);
    return 0;
}

static struct alarm *
make_alarm(int n, const char *severity)
{
    struct alarm *alarm = NULL;
    char text[512], err[256];
    json_error_t jerr;
    json_t *obj;

    snprintf(text, sizeof text,
             "{\"name\": \"alarm-%d\", \"type\": \"event\", \"severity\": "
             "\"%s\", \"alarm_id\": \"00000000-0000-4000-8000-0000000000%02d\","
             " \"project_id\": \"p\", \"timestamp\": \"2026-11-22T01:00:00Z\","
             " \"alarm_actions\": [\"http://127.0.0.1:9/x\"], "
             "\"event_rule\": {\"event_type\": \"compute.host.down\", "
             "\"query\": [{\"field\": \"traits.hostname\", \"value\": "
             "\"c%d\"}]}}", n, severity, n, n);
    obj = json_loads(text, 0, &jerr);
    assert_non_null(obj);
    assert_int_equal(alarm_from_json(obj, &alarm, err, sizeof err), 0);
    json_decref(obj);
    return alarm;
}

static int
load_into_store(struct alarm *alarm, void *arg)
{
    int ret = alarm_store_add(arg, alarm);

    if (ret) {
        alarm_free(alarm);
    }
    return ret;
}

struct names {
    char text[256];
};

static bool
collect_names(const struct alarm *alarm, void *arg)
{
    struct names *names = arg;
    size_t n = strlen(names->text);

    snprintf(names->text + n, sizeof names->text - n, "%s%s/%s",
             n ? "," : "", alarm->name,
             alarm_severity_to_string(alarm->severity));
    return true;
}

/* Loads the database at 'path' into a new store and lists it. */
static void
reload(const char *path, struct names *names, size_t *skipped)
{
    struct alarm_store *store = alarm_store_new(100);
    struct alarm_db *db = NULL;
    char err[256];

    assert_int_equal(alarm_db_open(path, &db, err, sizeof err), 0);
    assert_int_equal(alarm_db_load(db, load_into_store, store, skipped, err,
                                   sizeof err), 0);
    memset(names, 0, sizeof *names);
    alarm_store_foreach(store, collect_names, names);
    alarm_db_close(db);
    alarm_store_free(store);
}

static void
test_persist_update_delete(void **state)
{
    struct fixture *f = *state;
    struct alarm_db *db = NULL;
    struct alarm *a = make_alarm(1, "low"), *b = make_alarm(2, "low");
    struct alarm *c = make_alarm(3, "critical"), *a2 = make_alarm(1,
                                                                  "moderate");
    struct names names;
    size_t skipped = 99;
    char err[256];

    (void) state;
    assert_int_equal(alarm_db_open(f->path, &db, err, sizeof err), 0);
    assert_int_equal(alarm_db_put(db, a), 0);
    assert_int_equal(alarm_db_put(db, b), 0);
    assert_int_equal(alarm_db_put(db, c), 0);
    assert_int_equal(alarm_db_put(db, a2), 0);      /* update keeps place */
    assert_int_equal(alarm_db_delete(db, b->id), 0);
    assert_int_equal(alarm_db_delete(db, b->id), 0);   /* idempotent */
    alarm_db_close(db);

    reload(f->path, &names, &skipped);
    assert_int_equal(skipped, 0);
    assert_string_equal(names.text, "alarm-1/moderate,alarm-3/critical");
    alarm_free(a);
    alarm_free(b);
    alarm_free(c);
    alarm_free(a2);
}

static void
test_round_trip_fields(void **state)
{
    struct fixture *f = *state;
    struct alarm_store *store = alarm_store_new(10);
    struct alarm_db *db = NULL;
    struct alarm *a = make_alarm(7, "critical");
    json_t *before = alarm_to_json(a), *after;
    char err[256];

    assert_int_equal(alarm_db_open(f->path, &db, err, sizeof err), 0);
    assert_int_equal(alarm_db_put(db, a), 0);
    assert_int_equal(alarm_db_load(db, load_into_store, store, NULL, err,
                                   sizeof err), 0);
    assert_int_equal(alarm_store_count(store), 1);
    after = alarm_to_json(alarm_store_get(store, a->id));
    assert_true(json_equal(before, after));
    json_decref(before);
    json_decref(after);
    alarm_db_close(db);
    alarm_store_free(store);
    alarm_free(a);
}

static void
test_bad_rows_skipped(void **state)
{
    struct fixture *f = *state;
    struct alarm_db *db = NULL;
    struct alarm *a = make_alarm(4, "low");
    struct names names;
    size_t skipped = 0;
    sqlite3 *sql = NULL;
    char err[256];

    assert_int_equal(alarm_db_open(f->path, &db, err, sizeof err), 0);
    assert_int_equal(alarm_db_put(db, a), 0);
    alarm_db_close(db);
    assert_int_equal(sqlite3_open(f->path, &sql), SQLITE_OK);
    assert_int_equal(sqlite3_exec(sql, "INSERT INTO alarms (alarm_id, body) "
                                  "VALUES ('x', '{not json'), "
                                  "('y', '{\"name\": \"n\"}'), "
                                  "('z', '{\"name\": \"n\", \"type\": \"event\","
                                  " \"event_rule\": {}, \"alarm_id\": "
                                  "\"00000000-0000-4000-8000-000000000099\"}')",
                                  NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(sql);
    reload(f->path, &names, &skipped);
    assert_int_equal(skipped, 3);
    assert_string_equal(names.text, "alarm-4/low");
    alarm_free(a);
}

static void
test_open_failure(void **state)
{
    struct alarm_db *db = NULL;
    char err[256] = "";

    (void) state;
    assert_int_equal(alarm_db_open("/nonexistent-dir/x/alarms.db", &db, err,
                                   sizeof err), -EIO);
    assert_null(db);
    assert_non_null(strstr(err, "/nonexistent-dir/x/alarms.db"));
    alarm_db_close(NULL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_persist_update_delete, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_round_trip_fields, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_bad_rows_skipped, setup,
                                        teardown),
        cmocka_unit_test(test_open_failure),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
