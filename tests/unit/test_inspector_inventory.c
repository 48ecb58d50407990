/* Unit tests for inspector/inventory (and the strmap under it): placing,
 * moving and forgetting servers, applying Nova listing pages (DELETED and
 * host-less servers), the diff of a full listing (servers not listed any
 * more are removed, those a monitor reported meanwhile are kept), merging
 * monitors' domain lists, service records, the caps, and the static map
 * file (valid and malformed). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "inventory.h"
#include "nova.h"
#include "strmap.h"

#define U(n) "a0000000-0000-4000-8000-00000000000" #n

static struct nova_server
server(const char *id, const char *host, const char *status)
{
    struct nova_server s;

    memset(&s, 0, sizeof s);
    snprintf(s.id, sizeof s.id, "%s", id);
    snprintf(s.host, sizeof s.host, "%s", host);
    snprintf(s.status, sizeof s.status, "%s", status);
    return s;
}

static void
test_strmap(void **state)
{
    struct strmap *m = strmap_new();
    static int values[3000];
    void *old = NULL;
    char key[32];

    (void) state;
    assert_non_null(m);
    for (int i = 0; i < 3000; i++) {
        snprintf(key, sizeof key, "k%d", i);
        assert_int_equal(strmap_put(m, key, &values[i], &old), 0);
        assert_null(old);
    }
    assert_int_equal(strmap_length(m), 3000);
    assert_ptr_equal(strmap_get(m, "k1234"), &values[1234]);
    assert_int_equal(strmap_put(m, "k5", &values[6], &old), 0);
    assert_ptr_equal(old, &values[5]);
    assert_int_equal(strmap_length(m), 3000);
    assert_ptr_equal(strmap_remove(m, "k7"), &values[7]);
    assert_null(strmap_remove(m, "k7"));
    assert_null(strmap_get(m, "nope"));
    assert_int_equal(strmap_put(m, "x", NULL, NULL), -EINVAL);
    assert_int_equal(strmap_length(m), 2999);
    strmap_free(m);
    strmap_free(NULL);
}

static void
test_set_move_remove(void **state)
{
    struct inventory *inv = inventory_new(NULL);
    char uuids[4][INVENTORY_UUID_SIZE];

    (void) state;
    assert_non_null(inv);
    assert_int_equal(inventory_set(inv, U(1), "h1"), INVENTORY_ADDED);
    assert_int_equal(inventory_set(inv, U(2), "h1"), INVENTORY_ADDED);
    assert_int_equal(inventory_set(inv, U(3), "h2"), INVENTORY_ADDED);
    assert_int_equal(inventory_set(inv, U(1), "h1"), INVENTORY_UNCHANGED);
    assert_int_equal(inventory_count(inv, "h1"), 2);
    assert_int_equal(inventory_count(inv, "h2"), 1);
    assert_int_equal(inventory_count(inv, "h3"), 0);
    assert_int_equal(inventory_servers(inv), 3);
    assert_int_equal(inventory_hosts(inv), 2);
    /* Most recently placed first. */
    assert_int_equal(inventory_list(inv, "h1", uuids, 4), 2);
    assert_string_equal(uuids[0], U(2));
    assert_string_equal(uuids[1], U(1));
    assert_int_equal(inventory_list(inv, "h1", uuids, 1), 1);
    /* A migration. */
    assert_int_equal(inventory_set(inv, U(1), "h2"), INVENTORY_MOVED);
    assert_string_equal(inventory_host_of(inv, U(1)), "h2");
    assert_int_equal(inventory_count(inv, "h1"), 1);
    assert_int_equal(inventory_count(inv, "h2"), 2);
    /* Deleted / shelved: on no host. */
    assert_int_equal(inventory_set(inv, U(2), NULL), INVENTORY_REMOVED);
    assert_int_equal(inventory_set(inv, U(2), ""), INVENTORY_UNCHANGED);
    assert_null(inventory_host_of(inv, U(2)));
    /* h1 is empty and has no service: gone. */
    assert_int_equal(inventory_hosts(inv), 1);
    assert_int_equal(inventory_list(inv, "h1", uuids, 4), 0);
    assert_int_equal(inventory_set(inv, "", "h1"), -EINVAL);
    assert_int_equal(inventory_set(inv, NULL, "h1"), -EINVAL);
    assert_int_equal(inventory_set(inv, "0123456789012345678901234567890123456789",
                                   "h1"), -EINVAL);
    inventory_free(inv);
    inventory_free(NULL);
}

/* A full listing then changes-since pages, as the Nova sync applies them. */
static void
test_listing_diff(void **state)
{
    struct inventory *inv = inventory_new(NULL);
    size_t counts[INVENTORY_CHANGE_COUNT] = { 0 };
    struct nova_server first[] = {
        server(U(1), "h1", "ACTIVE"), server(U(2), "h1", "ERROR"),
        server(U(3), "h2", "ACTIVE"), server(U(4), "", "SHELVED_OFFLOADED"),
    };
    struct nova_server changes[] = {
        server(U(2), "", "DELETED"), server(U(3), "h1", "ACTIVE"),
        server(U(5), "h2", "BUILD"),
    };
    struct nova_server second[] = {
        server(U(1), "h1", "ACTIVE"), server(U(5), "h2", "ACTIVE"),
    };

    (void) state;
    inventory_sync_begin(inv);
    assert_int_equal(inventory_apply_servers(inv, first, 4, counts), 0);
    assert_int_equal(inventory_sync_end(inv), 0);
    assert_int_equal(counts[INVENTORY_ADDED], 3);
    assert_int_equal(counts[INVENTORY_UNCHANGED], 1);     /* U(4) */
    assert_int_equal(inventory_count(inv, "h1"), 2);

    memset(counts, 0, sizeof counts);
    assert_int_equal(inventory_apply_servers(inv, changes, 3, counts), 0);
    assert_int_equal(counts[INVENTORY_REMOVED], 1);
    assert_int_equal(counts[INVENTORY_MOVED], 1);
    assert_int_equal(counts[INVENTORY_ADDED], 1);
    assert_int_equal(inventory_count(inv, "h1"), 2);      /* U(1), U(3) */
    assert_int_equal(inventory_count(inv, "h2"), 1);      /* U(5) */

    /* A monitor reports a new VM while the next full listing runs: the
     * listing does not know it yet, and it is kept. */
    inventory_sync_begin(inv);
    assert_int_equal(inventory_set(inv, U(6), "h2"), INVENTORY_ADDED);
    assert_int_equal(inventory_apply_servers(inv, second, 2, NULL), 0);
    /* U(3) was not listed: removed. */
    assert_int_equal(inventory_sync_end(inv), 1);
    assert_null(inventory_host_of(inv, U(3)));
    assert_string_equal(inventory_host_of(inv, U(6)), "h2");
    assert_int_equal(inventory_count(inv, "h1"), 1);
    assert_int_equal(inventory_count(inv, "h2"), 2);
    assert_int_equal(inventory_servers(inv), 3);
    inventory_free(inv);
}

static void
test_merge(void **state)
{
    struct inventory *inv = inventory_new(NULL);
    size_t counts[INVENTORY_CHANGE_COUNT] = { 0 };
    const char *const list[] = { U(1), U(2) };

    (void) state;
    assert_int_equal(inventory_set(inv, U(3), "h1"), INVENTORY_ADDED);
    assert_int_equal(inventory_set(inv, U(2), "h9"), INVENTORY_ADDED);
    /* Incomplete: only adds. */
    assert_int_equal(inventory_merge_host(inv, "h1", list, 2, false, counts),
                     0);
    assert_int_equal(inventory_count(inv, "h1"), 3);
    assert_int_equal(counts[INVENTORY_ADDED], 1);
    assert_int_equal(counts[INVENTORY_MOVED], 1);
    /* Complete: U(3) is not there any more. */
    memset(counts, 0, sizeof counts);
    assert_int_equal(inventory_merge_host(inv, "h1", list, 2, true, counts),
                     0);
    assert_int_equal(inventory_count(inv, "h1"), 2);
    assert_int_equal(counts[INVENTORY_REMOVED], 1);
    assert_null(inventory_host_of(inv, U(3)));
    /* An empty complete list empties the host. */
    assert_int_equal(inventory_merge_host(inv, "h1", NULL, 0, true, NULL), 0);
    assert_int_equal(inventory_count(inv, "h1"), 0);
    assert_int_equal(inventory_merge_host(inv, "", list, 2, true, NULL),
                     -EINVAL);

    /* A monitor's "domains" detail: commas and/or blanks, any case. */
    assert_int_equal(inventory_merge_domains(inv, "h2",
        "A0000000-0000-4000-8000-000000000001, " U(4) "\t" U(5), NULL), 0);
    assert_int_equal(inventory_count(inv, "h2"), 3);
    assert_string_equal(inventory_host_of(inv, U(1)), "h2");
    assert_int_equal(inventory_merge_domains(inv, "h2", U(4), NULL), 0);
    assert_int_equal(inventory_count(inv, "h2"), 1);
    /* Anything that is not a UUID: nothing merged. */
    assert_int_equal(inventory_merge_domains(inv, "h2", U(5) ",vm-7", NULL),
                     -EINVAL);
    assert_int_equal(inventory_count(inv, "h2"), 1);
    assert_int_equal(inventory_merge_domains(inv, "h2", "", NULL), 0);
    assert_int_equal(inventory_count(inv, "h2"), 0);
    inventory_free(inv);
}

static void
test_services(void **state)
{
    struct inventory *inv = inventory_new(NULL);
    char id[INVENTORY_SERVICE_ID_SIZE];
    bool forced = true;

    (void) state;
    assert_int_equal(inventory_get_service(inv, "h1", id, &forced), -ENOENT);
    assert_int_equal(inventory_set_service(inv, "h1", "svc-1", false), 0);
    assert_int_equal(inventory_get_service(inv, "h1", id, &forced), 0);
    assert_string_equal(id, "svc-1");
    assert_false(forced);
    assert_int_equal(inventory_mark_forced_down(inv, "h1", true), 0);
    assert_int_equal(inventory_get_service(inv, "h1", id, &forced), 0);
    assert_true(forced);
    assert_int_equal(inventory_mark_forced_down(inv, "h7", true), -ENOENT);
    assert_int_equal(inventory_set_service(inv, "h1", "", false), -EINVAL);
    /* A host with a service but no server stays. */
    assert_int_equal(inventory_hosts(inv), 1);
    assert_int_equal(inventory_set(inv, U(1), "h1"), INVENTORY_ADDED);
    assert_int_equal(inventory_set(inv, U(1), NULL), INVENTORY_REMOVED);
    assert_int_equal(inventory_hosts(inv), 1);
    inventory_free(inv);
}

static void
test_caps(void **state)
{
    struct inventory_options o = { .max_servers = 3, .max_hosts = 2 };
    struct inventory *inv = inventory_new(&o);

    (void) state;
    assert_int_equal(inventory_set(inv, U(1), "h1"), INVENTORY_ADDED);
    assert_int_equal(inventory_set(inv, U(2), "h2"), INVENTORY_ADDED);
    assert_int_equal(inventory_set(inv, U(3), "h3"), -ENOSPC);   /* hosts */
    assert_int_equal(inventory_set(inv, U(3), "h1"), INVENTORY_ADDED);
    assert_int_equal(inventory_set(inv, U(4), "h1"), -ENOSPC);   /* servers */
    /* Moving is not adding. */
    assert_int_equal(inventory_set(inv, U(3), "h2"), INVENTORY_MOVED);
    assert_int_equal(inventory_servers(inv), 3);
    inventory_free(inv);
}

static char *
write_file(const char *text)
{
    char *path = strdup("/tmp/vigil-inventory-XXXXXX");
    int fd;

    assert_non_null(path);
    fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t) strlen(text));
    close(fd);
    return path;
}

static void
test_static_map(void **state)
{
    static const char *const bad[] = {
        "", "[]", "{\"h1\": \"" U(1) "\"}", "{\"h1\": [\"vm-1\"]}",
        "{\"h1\": [1]}", "{\"hosts\": []}", "{\"h1\": [\"" U(1) "\"]",
        NULL,
    };
    struct inventory *inv = inventory_new(NULL);
    char err[512];
    size_t loaded = 0;
    char *path;

    (void) state;
    path = write_file("{\"hosts\": {\"h1\": [\"" U(1) "\", \"" U(2) "\"], "
                      "\"h2\": [\"" U(3) "\"], \"h3\": []}}");
    assert_int_equal(inventory_load_static(inv, path, &loaded, err,
                                           sizeof err), 0);
    assert_int_equal(loaded, 3);
    assert_int_equal(inventory_count(inv, "h1"), 2);
    unlink(path);
    free(path);
    path = write_file("{\"h4\": [\"" U(4) "\"]}");
    assert_int_equal(inventory_load_static(inv, path, NULL, err, sizeof err),
                     0);
    assert_string_equal(inventory_host_of(inv, U(4)), "h4");
    unlink(path);
    free(path);
    for (size_t i = 0; bad[i]; i++) {
        path = write_file(bad[i]);
        err[0] = '\0';
        assert_int_equal(inventory_load_static(inv, path, &loaded, err,
                                               sizeof err), -EINVAL);
        /* The error names the file. */
        assert_non_null(strstr(err, path));
        unlink(path);
        free(path);
    }
    assert_int_equal(inventory_load_static(inv, "/nonexistent/map.json",
                                           &loaded, err, sizeof err), -ENOENT);
    assert_non_null(strstr(err, "/nonexistent/map.json"));
    assert_int_equal(inventory_servers(inv), 4);
    inventory_free(inv);
}

/* A thousand VMs on one host: listing them is what a host fault does. */
static void
test_thousand(void **state)
{
    struct inventory *inv = inventory_new(NULL);
    char (*uuids)[INVENTORY_UUID_SIZE] = calloc(1000, sizeof *uuids);
    char id[INVENTORY_UUID_SIZE];

    (void) state;
    assert_non_null(uuids);
    for (int i = 0; i < 1000; i++) {
        snprintf(id, sizeof id, "b0000000-0000-4000-8000-%012d", i);
        assert_int_equal(inventory_set(inv, id, "big"), INVENTORY_ADDED);
    }
    assert_int_equal(inventory_count(inv, "big"), 1000);
    assert_int_equal(inventory_list(inv, "big", uuids, 1000), 1000);
    assert_string_equal(uuids[0], "b0000000-0000-4000-8000-000000000999");
    assert_string_equal(uuids[999], "b0000000-0000-4000-8000-000000000000");
    free(uuids);
    inventory_free(inv);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_strmap),
        cmocka_unit_test(test_set_move_remove),
        cmocka_unit_test(test_listing_diff),
        cmocka_unit_test(test_merge),
        cmocka_unit_test(test_services),
        cmocka_unit_test(test_caps),
        cmocka_unit_test(test_static_map),
        cmocka_unit_test(test_thousand),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
