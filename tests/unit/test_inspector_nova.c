/* Unit tests for inspector/nova (the pure parts) and inspector/neutron's
 * port list parser: microversion parsing and selection against the
 * cloud's maximum and an override (which decides between the 2.53 and the
 * 2.11 force-down body), the version document in both of Nova's forms,
 * the os-services and servers/detail answers (paging by servers_links),
 * the force-down bodies, and malformed answers of every kind. The calls
 * themselves run against a real Nova in tests/integration/test_openstack.py. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "neutron.h"
#include "nova.h"

static void
test_parse_version(void **state)
{
    unsigned int major = 9, minor = 9;

    (void) state;
    assert_int_equal(nova_parse_version("2.53", &major, &minor), 0);
    assert_int_equal(major, 2);
    assert_int_equal(minor, 53);
    assert_int_equal(nova_parse_version("2.1", &major, &minor), 0);
    assert_int_equal(minor, 1);
    static const char *const bad[] = { "", "2", "2.", ".5", "2.5.1", " 2.5",
                                       "2.5 ", "-2.5", "2,5", "v2.1", "2.x",
                                       "2.1234567890", NULL };
    for (size_t i = 0; bad[i]; i++) {
        major = minor = 77;
        assert_int_equal(nova_parse_version(bad[i], &major, &minor), -EINVAL);
        assert_int_equal(major, 77);
        assert_int_equal(minor, 77);
    }
    assert_int_equal(nova_parse_version(NULL, &major, &minor), -EINVAL);
}

struct selection {
    const char *max, *override;
    int ret;
    const char *version;
    enum nova_force_down_api api;
};

static void
test_select_microversion(void **state)
{
    static const struct selection cases[] = {
        /* The cloud decides: 2.53 wherever it exists. */
        { "2.93", NULL, 0, "2.53", NOVA_FORCE_DOWN_BY_ID },
        { "2.53", "", 0, "2.53", NOVA_FORCE_DOWN_BY_ID },
        { "2.52", NULL, 0, "2.11", NOVA_FORCE_DOWN_BY_HOST },
        { "2.11", NULL, 0, "2.11", NOVA_FORCE_DOWN_BY_HOST },
        { "2.10", NULL, 0, "2.1", NOVA_FORCE_DOWN_NONE },
        { "", NULL, 0, "2.1", NOVA_FORCE_DOWN_NONE },
        { NULL, NULL, 0, "2.1", NOVA_FORCE_DOWN_NONE },
        /* An override is used as given, within the cloud's range. */
        { "2.93", "2.11", 0, "2.11", NOVA_FORCE_DOWN_BY_HOST },
        { "2.93", "2.60", 0, "2.60", NOVA_FORCE_DOWN_BY_ID },
        { "2.93", "2.93", 0, "2.93", NOVA_FORCE_DOWN_BY_ID },
        { "2.93", "2.5", 0, "2.5", NOVA_FORCE_DOWN_NONE },
        { "2.52", "2.53", -ENOTSUP, NULL, 0 },
        { "2.93", "2.94", -ENOTSUP, NULL, 0 },
        { NULL, "2.11", -ENOTSUP, NULL, 0 },
        { "2.93", "3.1", -EINVAL, NULL, 0 },
        { "2.93", "2.0", -EINVAL, NULL, 0 },
        { "2.93", "latest", -EINVAL, NULL, 0 },
        { "3.2", NULL, -EINVAL, NULL, 0 },
        { "two", NULL, -EINVAL, NULL, 0 },
    };

    (void) state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char version[NOVA_VERSION_SIZE] = "untouched";
        enum nova_force_down_api api = NOVA_FORCE_DOWN_API_COUNT;
        int ret = nova_select_microversion(cases[i].max, cases[i].override,
                                           version, &api);

        if (ret != cases[i].ret) {
            fail_msg("case %zu (%s, %s): %d, expected %d", i, cases[i].max,
                     cases[i].override, ret, cases[i].ret);
        }
        if (ret) {
            assert_string_equal(version, "untouched");
            assert_int_equal(api, NOVA_FORCE_DOWN_API_COUNT);
            continue;
        }
        assert_string_equal(version, cases[i].version);
        assert_int_equal(api, cases[i].api);
    }
    assert_string_equal(nova_force_down_api_name(NOVA_FORCE_DOWN_BY_ID),
                        "PUT /os-services/{id} (2.53)");
}

static void
test_version_document(void **state)
{
    /* As the real Nova answers GET /v2.1 and GET /. */
    static const char v21[] =
        "{\"version\": {\"id\": \"v2.1\", \"status\": \"CURRENT\", "
        "\"version\": \"2.93\", \"min_version\": \"2.1\", \"links\": []}}";
    static const char root[] =
        "{\"versions\": [{\"id\": \"v2.0\", \"status\": \"SUPPORTED\", "
        "\"version\": \"\", \"min_version\": \"\"}, {\"id\": \"v2.1\", "
        "\"status\": \"CURRENT\", \"version\": \"2.60\", "
        "\"min_version\": \"2.1\"}]}";
    static const char old[] =
        "{\"version\": {\"id\": \"v2.1\", \"version\": \"\"}}";
    static const char *const bad[] = {
        "", "{", "[]", "{}", "{\"version\": \"2.93\"}",
        "{\"version\": {\"id\": \"v2.1\"}}",
        "{\"version\": {\"version\": 2.93}}",
        "{\"version\": {\"version\": \"latest\"}}",
        "{\"versions\": [{\"id\": \"v2.0\", \"version\": \"\"}]}",
        "{\"versions\": {}}", NULL,
    };
    char max[NOVA_VERSION_SIZE];

    (void) state;
    assert_int_equal(nova_parse_version_document(v21, strlen(v21), max), 0);
    assert_string_equal(max, "2.93");
    assert_int_equal(nova_parse_version_document(root, strlen(root), max), 0);
    assert_string_equal(max, "2.60");
    assert_int_equal(nova_parse_version_document(old, strlen(old), max), 0);
    assert_string_equal(max, "");
    for (size_t i = 0; bad[i]; i++) {
        strcpy(max, "same");
        assert_int_equal(nova_parse_version_document(bad[i], strlen(bad[i]),
                                                     max), -EINVAL);
        assert_string_equal(max, "same");
    }
    assert_int_equal(nova_parse_version_document(NULL, 0, max), -EINVAL);
}

static void
test_parse_services(void **state)
{
    static const char uuid_ids[] =
        "{\"services\": [{\"id\": \"5b8e4f1c-9d6f-4b61-8c34-2e7b3f9a1d20\", "
        "\"binary\": \"nova-compute\", \"host\": \"fake-compute-1\", "
        "\"zone\": \"nova\", \"status\": \"enabled\", \"state\": \"down\", "
        "\"forced_down\": true, \"updated_at\": null}, {\"id\": "
        "\"6c2a0b1d-1e2f-4a3b-9c4d-5e6f7a8b9c0d\", \"binary\": "
        "\"nova-compute\", \"host\": \"fake-compute-2\", \"status\": "
        "\"enabled\", \"state\": \"up\", \"forced_down\": false}]}";
    static const char int_ids[] =
        "{\"services\": [{\"id\": 7, \"binary\": \"nova-compute\", "
        "\"host\": \"c1\", \"state\": \"up\", \"status\": \"enabled\"}]}";
    static const char *const bad[] = {
        "", "{}", "{\"services\": {}}", "{\"services\": [{}]}",
        "{\"services\": [{\"id\": 1}]}",
        "{\"services\": [{\"id\": \"\", \"host\": \"h\"}]}",
        "{\"services\": [{\"id\": 1, \"host\": 5}]}",
        "{\"services\": [{\"id\": [1], \"host\": \"h\"}]}",
        "{\"services\": [{\"id\": 1, \"host\": \"h\", "
        "\"forced_down\": \"yes\"}]}", NULL,
    };
    struct nova_service *s = NULL;
    size_t n = 0;

    (void) state;
    assert_int_equal(nova_parse_services(uuid_ids, strlen(uuid_ids), &s, &n),
                     0);
    assert_int_equal(n, 2);
    assert_string_equal(s[0].id, "5b8e4f1c-9d6f-4b61-8c34-2e7b3f9a1d20");
    assert_string_equal(s[0].host, "fake-compute-1");
    assert_string_equal(s[0].binary, "nova-compute");
    assert_string_equal(s[0].state, "down");
    assert_true(s[0].forced_down);
    assert_false(s[1].forced_down);
    assert_string_equal(s[1].state, "up");
    free(s);
    assert_int_equal(nova_parse_services(int_ids, strlen(int_ids), &s, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(s[0].id, "7");
    assert_false(s[0].forced_down);
    free(s);
    for (size_t i = 0; bad[i]; i++) {
        s = (struct nova_service *) bad;
        assert_int_equal(nova_parse_services(bad[i], strlen(bad[i]), &s, &n),
                         -EINVAL);
        assert_ptr_equal(s, (struct nova_service *) bad);
    }
}

static void
test_parse_servers(void **state)
{
    static const char page[] =
        "{\"servers\": [{\"id\": \"a0000000-0000-4000-8000-000000000001\", "
        "\"name\": \"vm1\", \"status\": \"ACTIVE\", "
        "\"OS-EXT-SRV-ATTR:host\": \"fake-compute-1\"}, "
        "{\"id\": \"a0000000-0000-4000-8000-000000000002\", "
        "\"status\": \"DELETED\", \"OS-EXT-SRV-ATTR:host\": null}, "
        "{\"id\": \"a0000000-0000-4000-8000-000000000003\", "
        "\"status\": \"BUILD\"}], "
        "\"servers_links\": [{\"rel\": \"next\", \"href\": "
        "\"http://nova/v2.1/servers/detail?marker=x\"}]}";
    static const char last[] = "{\"servers\": []}";
    static const char *const bad[] = {
        "", "{}", "{\"servers\": {}}", "{\"servers\": [1]}",
        "{\"servers\": [{\"name\": \"no id\"}]}",
        "{\"servers\": [{\"id\": 5}]}",
        "{\"servers\": [{\"id\": \"x\", \"status\": 1}]}",
        "{\"servers\": [], \"servers_links\": {}}",
        "{\"servers\": [{\"id\": \"0123456789012345678901234567890123456789"
        "\"}]}", NULL,
    };
    struct nova_server *s = NULL;
    size_t n = 0;
    bool more = false;

    (void) state;
    assert_int_equal(nova_parse_servers(page, strlen(page), &s, &n, &more), 0);
    assert_int_equal(n, 3);
    assert_true(more);
    assert_string_equal(s[0].host, "fake-compute-1");
    assert_string_equal(s[0].status, "ACTIVE");
    assert_string_equal(s[1].host, "");
    assert_string_equal(s[1].status, "DELETED");
    assert_string_equal(s[2].host, "");
    free(s);
    assert_int_equal(nova_parse_servers(last, strlen(last), &s, &n, &more), 0);
    assert_int_equal(n, 0);
    assert_false(more);
    free(s);
    for (size_t i = 0; bad[i]; i++) {
        assert_int_equal(nova_parse_servers(bad[i], strlen(bad[i]), &s, &n,
                                            &more), -EINVAL);
    }
}

static void
test_force_down_body(void **state)
{
    char *b;

    (void) state;
    b = nova_force_down_body(NOVA_FORCE_DOWN_BY_ID, "h1", true);
    assert_string_equal(b, "{\"forced_down\":true}");
    free(b);
    b = nova_force_down_body(NOVA_FORCE_DOWN_BY_ID, NULL, false);
    assert_string_equal(b, "{\"forced_down\":false}");
    free(b);
    b = nova_force_down_body(NOVA_FORCE_DOWN_BY_HOST, "h1", true);
    {
        json_t *j = json_loads(b, 0, NULL);

        assert_non_null(j);
        assert_string_equal(json_string_value(json_object_get(j, "host")),
                            "h1");
        assert_string_equal(json_string_value(json_object_get(j, "binary")),
                            "nova-compute");
        assert_true(json_is_true(json_object_get(j, "forced_down")));
        json_decref(j);
    }
    free(b);
    assert_null(nova_force_down_body(NOVA_FORCE_DOWN_BY_HOST, NULL, true));
    assert_null(nova_force_down_body(NOVA_FORCE_DOWN_NONE, "h1", true));
}

static void
test_neutron_ports(void **state)
{
    static const char ports[] =
        "{\"ports\": [{\"id\": \"p1\"}, {\"id\": \"p2\"}]}";
    static const char *const bad[] = {
        "", "{}", "{\"ports\": {}}", "{\"ports\": [{}]}",
        "{\"ports\": [{\"id\": 3}]}", "{\"ports\": [{\"id\": \"\"}]}", NULL,
    };
    char (*ids)[NEUTRON_ID_SIZE] = NULL;
    size_t n = 0;

    (void) state;
    assert_int_equal(neutron_parse_ports(ports, strlen(ports), &ids, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(ids[0], "p1");
    assert_string_equal(ids[1], "p2");
    free(ids);
    for (size_t i = 0; bad[i]; i++) {
        assert_int_equal(neutron_parse_ports(bad[i], strlen(bad[i]), &ids,
                                             &n), -EINVAL);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_version),
        cmocka_unit_test(test_select_microversion),
        cmocka_unit_test(test_version_document),
        cmocka_unit_test(test_parse_services),
        cmocka_unit_test(test_parse_servers),
        cmocka_unit_test(test_force_down_body),
        cmocka_unit_test(test_neutron_ports),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
