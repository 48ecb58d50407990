/* Unit tests for common/keystone: parsing of the token answer and its
 * catalog (valid, malformed and hostile JSON), endpoint lookup by type,
 * interface and region, the renewal timing, the authentication body, option
 * checks, and the client's behaviour when Keystone cannot be reached
 * (a real connection refused on 127.0.0.1): waiting calls fail with the
 * reason instead of hanging, the wait list is capped, keystone_free()
 * completes what is outstanding. The 401 replay against a real Keystone is
 * covered by tests/integration/test_openstack.py. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <event2/event.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "httpc.h"
#include "keystone.h"
#include "keystone_private.h"
#include "metrics.h"

#define HOUR_NS (3600LL * 1000000000LL)
#define MINUTE_NS (60LL * 1000000000LL)

static const char token_body[] =
    "{\"token\": {\"methods\": [\"password\"],"
    " \"expires_at\": \"2026-11-23T02:00:00.000000Z\","
    " \"issued_at\": \"2026-11-22T02:00:00.000000Z\","
    " \"project\": {\"id\": \"p1\", \"name\": \"demo\"},"
    " \"catalog\": ["
    "  {\"type\": \"compute\", \"name\": \"nova\", \"endpoints\": ["
    "    {\"interface\": \"public\", \"region_id\": \"RegionOne\","
    "     \"region\": \"RegionOne\", \"url\": \"http://10.0.0.1:8774/v2.1/\"},"
    "    {\"interface\": \"internal\", \"region_id\": \"RegionOne\","
    "     \"url\": \"http://192.168.0.1:8774/v2.1\"},"
    "    {\"interface\": \"public\", \"region_id\": \"RegionTwo\","
    "     \"url\": \"https://nova.two.example/v2.1\"}]},"
    "  {\"type\": \"network\", \"name\": \"neutron\", \"endpoints\": ["
    "    {\"interface\": \"public\", \"region\": \"RegionOne\","
    "     \"url\": \"http://10.0.0.1:9696\"},"
    "    {\"interface\": \"public\", \"url\": \"ftp://bad.example\"},"
    "    {\"interface\": \"admin\"},"
    "    {\"url\": \"http://no-interface.example\"}]},"
    "  {\"name\": \"no type\", \"endpoints\": []},"
    "  {\"type\": \"image\", \"endpoints\": \"not a list\"}]}}";

static void
test_parse_token(void **state)
{
    struct keystone_catalog *c = NULL;
    int64_t lifetime = 0;
    char err[256] = "";

    (void) state;
    assert_int_equal(keystone_parse_token(token_body, strlen(token_body),
                                          &lifetime, &c, err, sizeof err), 0);
    assert_int_equal(lifetime, 24 * HOUR_NS);
    assert_non_null(c);
    /* 3 compute + 1 network: the bad ones are skipped. */
    assert_int_equal(c->length, 4);
    /* Trailing '/' removed. */
    assert_string_equal(keystone_catalog_find(c, "compute", "public",
                                              "RegionOne"),
                        "http://10.0.0.1:8774/v2.1");
    assert_string_equal(keystone_catalog_find(c, "compute", "internal", ""),
                        "http://192.168.0.1:8774/v2.1");
    assert_string_equal(keystone_catalog_find(c, "compute", "public",
                                              "RegionTwo"),
                        "https://nova.two.example/v2.1");
    /* No region: the first of the interface. */
    assert_string_equal(keystone_catalog_find(c, "compute", "public", NULL),
                        "http://10.0.0.1:8774/v2.1");
    /* "region" is used when "region_id" is absent. */
    assert_string_equal(keystone_catalog_find(c, "network", "public",
                                              "RegionOne"),
                        "http://10.0.0.1:9696");
    assert_null(keystone_catalog_find(c, "network", "public", "RegionTwo"));
    assert_null(keystone_catalog_find(c, "compute", "admin", NULL));
    assert_null(keystone_catalog_find(c, "image", "public", NULL));
    assert_null(keystone_catalog_find(c, "volumev3", "public", NULL));
    assert_null(keystone_catalog_find(NULL, "compute", "public", NULL));
    keystone_catalog_free(c);
    keystone_catalog_free(NULL);
}

static void
test_parse_token_without_catalog(void **state)
{
    const char body[] = "{\"token\": {\"expires_at\": "
                        "\"2026-11-22T03:00:00Z\", \"issued_at\": "
                        "\"2026-11-22T02:59:00.5Z\"}}";
    struct keystone_catalog *c = NULL;
    int64_t lifetime = 0;

    (void) state;
    assert_int_equal(keystone_parse_token(body, strlen(body), &lifetime, &c,
                                          NULL, 0), 0);
    assert_int_equal(lifetime, 59500000000LL);
    assert_int_equal(c->length, 0);
    keystone_catalog_free(c);
}

struct malformed {
    const char *body;
    const char *reason;            /* a part of the error message */
};

static void
test_parse_token_malformed(void **state)
{
    static const struct malformed cases[] = {
        { "", "malformed JSON" },
        { "{", "malformed JSON" },
        { "{\"token\": {\"expires_at\": \"2026-11-23T02:00:00Z\"", "malformed" },
        { "not json at all", "malformed JSON" },
        { "[]", "no \"token\"" },
        { "{}", "no \"token\"" },
        { "{\"token\": []}", "no \"token\"" },
        { "{\"token\": \"abc\"}", "no \"token\"" },
        { "{\"token\": {}}", "expires_at" },
        { "{\"token\": {\"expires_at\": 12, \"issued_at\": "
          "\"2026-11-22T02:00:00Z\"}}", "expires_at" },
        { "{\"token\": {\"expires_at\": \"tomorrow\", \"issued_at\": "
          "\"2026-11-22T02:00:00Z\"}}", "expires_at" },
        { "{\"token\": {\"expires_at\": \"2026-11-22T02:00:00Z\"}}",
          "issued_at" },
        { "{\"token\": {\"expires_at\": \"2026-11-22T02:00:00Z\", "
          "\"issued_at\": \"2026-11-22T02:00:00Z\"}}", "not after" },
        { "{\"token\": {\"expires_at\": \"2026-11-22T01:00:00Z\", "
          "\"issued_at\": \"2026-11-22T02:00:00Z\"}}", "not after" },
        { "{\"token\": {\"expires_at\": \"2026-11-23T02:00:00Z\", "
          "\"issued_at\": \"2026-11-22T02:00:00Z\", \"catalog\": {}}}",
          "not a list" },
        /* Duplicate keys are refused (which one would count?). */
        { "{\"token\": {\"expires_at\": \"2026-11-23T02:00:00Z\", "
          "\"expires_at\": \"2036-11-23T02:00:00Z\", "
          "\"issued_at\": \"2026-11-22T02:00:00Z\"}}", "malformed JSON" },
    };

    (void) state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct keystone_catalog *c = (struct keystone_catalog *) &cases[i];
        int64_t lifetime = -7;
        char err[256] = "";

        assert_int_equal(keystone_parse_token(cases[i].body,
                                              strlen(cases[i].body),
                                              &lifetime, &c, err, sizeof err),
                         -EINVAL);
        if (!strstr(err, cases[i].reason)) {
            fail_msg("case %zu: error '%s' does not name '%s'", i, err,
                     cases[i].reason);
        }
        /* Outputs untouched on failure. */
        assert_int_equal(lifetime, -7);
        assert_ptr_equal(c, &cases[i]);
    }
    assert_int_equal(keystone_parse_token(NULL, 0, NULL, NULL, NULL, 0),
                     -EINVAL);
}

/* Overlong strings and a flood of endpoints stay bounded. */
static void
test_parse_token_bounds(void **state)
{
    size_t n = KEYSTONE_MAX_ENDPOINTS + 50;
    json_t *endpoints = json_array(), *root;
    char *long_url = malloc(KEYSTONE_MAX_STRING_LENGTH + 64);
    struct keystone_catalog *c = NULL;
    int64_t lifetime;
    char *body;

    (void) state;
    assert_non_null(long_url);
    memset(long_url, 'a', KEYSTONE_MAX_STRING_LENGTH + 63);
    memcpy(long_url, "http://", 7);
    long_url[KEYSTONE_MAX_STRING_LENGTH + 63] = '\0';
    json_array_append_new(endpoints, json_pack("{s:s,s:s}", "interface",
                                               "public", "url", long_url));
    for (size_t i = 0; i < n; i++) {
        json_array_append_new(endpoints, json_pack(
            "{s:s,s:s}", "interface", "public", "url", "http://x.example"));
    }
    root = json_pack("{s:{s:s,s:s,s:[{s:s,s:o}]}}", "token", "expires_at",
                     "2026-11-23T02:00:00Z", "issued_at",
                     "2026-11-22T02:00:00Z", "catalog", "type", "compute",
                     "endpoints", endpoints);
    body = json_dumps(root, 0);
    assert_non_null(body);
    assert_int_equal(keystone_parse_token(body, strlen(body), &lifetime, &c,
                                          NULL, 0), 0);
    assert_int_equal(c->length, KEYSTONE_MAX_ENDPOINTS);
    for (size_t i = 0; i < c->length; i++) {
        assert_string_equal(c->endpoints[i].url, "http://x.example");
    }
    keystone_catalog_free(c);
    free(body);
    json_decref(root);
    free(long_url);
}

static void
test_renew_delay(void **state)
{
    (void) state;
    /* A day-long token: renewed 5 minutes before it expires. */
    assert_int_equal(keystone_renew_delay_ns(24 * HOUR_NS, 5 * MINUTE_NS),
                     24 * HOUR_NS - 5 * MINUTE_NS);
    /* An 8-minute token: not before half-way. */
    assert_int_equal(keystone_renew_delay_ns(8 * MINUTE_NS, 5 * MINUTE_NS),
                     4 * MINUTE_NS);
    /* Margin longer than the lifetime: half-way. */
    assert_int_equal(keystone_renew_delay_ns(MINUTE_NS, HOUR_NS),
                     MINUTE_NS / 2);
    assert_int_equal(keystone_renew_delay_ns(HOUR_NS, 0), HOUR_NS);
    assert_int_equal(keystone_renew_delay_ns(HOUR_NS, -5), HOUR_NS);
    assert_int_equal(keystone_renew_delay_ns(0, MINUTE_NS), 0);
    assert_int_equal(keystone_renew_delay_ns(-HOUR_NS, MINUTE_NS), 0);
}

static void
test_auth_body(void **state)
{
    char *text = keystone_auth_body("inspector", "pa\"ss", "UDom", "demo",
                                    "PDom");
    json_t *root, *user, *project;

    (void) state;
    assert_non_null(text);
    root = json_loads(text, 0, NULL);
    assert_non_null(root);
    assert_string_equal(json_string_value(json_array_get(json_object_get(
        json_object_get(json_object_get(root, "auth"), "identity"),
        "methods"), 0)), "password");
    user = json_object_get(json_object_get(json_object_get(json_object_get(
        root, "auth"), "identity"), "password"), "user");
    assert_non_null(user);
    assert_string_equal(json_string_value(json_object_get(user, "name")),
                        "inspector");
    assert_string_equal(json_string_value(json_object_get(user, "password")),
                        "pa\"ss");
    assert_string_equal(json_string_value(json_object_get(json_object_get(
        user, "domain"), "name")), "UDom");
    project = json_object_get(json_object_get(json_object_get(root, "auth"),
                                              "scope"), "project");
    assert_string_equal(json_string_value(json_object_get(project, "name")),
                        "demo");
    assert_string_equal(json_string_value(json_object_get(json_object_get(
        project, "domain"), "name")), "PDom");
    json_decref(root);
    free(text);
}

/* ---- the client, with nothing listening -------------------------------- */

struct fixture {
    struct event_base *base;
    struct httpc *client;
    char url[64];
    int completed;
    long last_status;
    char last_error[512];
    int auth_reports;
    bool auth_ok;
    bool inside_call;           /* set while keystone_call() runs */
    bool called_inside;
};

/* A port on 127.0.0.1 with nothing listening (bound, then closed). */
static unsigned short
closed_port(void)
{
    struct sockaddr_in sa = { .sin_family = AF_INET };
    socklen_t len = sizeof sa;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    unsigned short port;

    assert_true(fd >= 0);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *) &sa, sizeof sa), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *) &sa, &len), 0);
    port = ntohs(sa.sin_port);
    close(fd);
    return port;
}

static int
setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);

    assert_non_null(f);
    f->base = event_base_new();
    f->client = httpc_new(f->base, &(struct httpc_options) {
        .connect_timeout_ms = 1000, .timeout_ms = 2000 });
    assert_non_null(f->base);
    assert_non_null(f->client);
    snprintf(f->url, sizeof f->url, "http://127.0.0.1:%u/v3", closed_port());
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *f = *state;

    httpc_free(f->client);
    event_base_free(f->base);
    free(f);
    return 0;
}

static void
on_auth(struct keystone *ks, const struct keystone_auth_report *r, void *arg)
{
    struct fixture *f = arg;

    (void) ks;
    f->auth_reports++;
    f->auth_ok = r->ok;
    assert_true(r->ok || r->error);
}

static void
on_done(const struct httpc_response *r, void *arg)
{
    struct fixture *f = arg;

    if (f->inside_call) {
        f->called_inside = true;
    }
    f->completed++;
    f->last_status = r->status;
    snprintf(f->last_error, sizeof f->last_error, "%s",
             r->error ? r->error : "");
    assert_non_null(r->body);
}

static struct keystone *
make(struct fixture *f, size_t max_waiting)
{
    struct keystone_options o = {
        .auth_url = f->url, .username = "inspector",
        .password = "secret", .project_name = "demo",
        .retry = { .max_attempts = 1 }, .max_waiting = max_waiting,
        .on_auth = on_auth, .arg = f,
    };
    int error = 1;
    struct keystone *ks = keystone_new(f->base, f->client, &o, &error);

    assert_non_null(ks);
    assert_int_equal(error, 0);
    return ks;
}

static void
test_options(void **state)
{
    struct fixture *f = *state;
    struct keystone_options o = {
        .auth_url = "http://127.0.0.1:5000", .username = "u",
        .password = "p", .project_name = "demo",
    };
    struct keystone_options bad;
    char *huge = malloc(KEYSTONE_MAX_STRING_LENGTH + 2);
    struct keystone *ks;
    int error = 0;

    assert_non_null(huge);
    memset(huge, 'x', KEYSTONE_MAX_STRING_LENGTH + 1);
    huge[KEYSTONE_MAX_STRING_LENGTH + 1] = '\0';
    ks = keystone_new(f->base, f->client, &o, &error);
    assert_non_null(ks);
    assert_false(keystone_has_token(ks));
    {
        char url[64];

        assert_int_equal(keystone_endpoint(ks, "compute", url, sizeof url),
                         -EAGAIN);
    }
    keystone_free(ks);

    bad = o;
    bad.auth_url = "ftp://127.0.0.1:5000";
    assert_null(keystone_new(f->base, f->client, &bad, &error));
    assert_int_equal(error, -EINVAL);
    bad = o;
    bad.username = "";
    assert_null(keystone_new(f->base, f->client, &bad, &error));
    assert_int_equal(error, -EINVAL);
    bad = o;
    bad.password = NULL;
    assert_null(keystone_new(f->base, f->client, &bad, &error));
    bad = o;
    bad.project_name = huge;
    error = 0;
    assert_null(keystone_new(f->base, f->client, &bad, &error));
    assert_int_equal(error, -EINVAL);
    bad = o;
    bad.metrics = metrics_registry_new();      /* needs a prefix */
    assert_non_null(bad.metrics);
    assert_null(keystone_new(f->base, f->client, &bad, &error));
    assert_int_equal(error, -EINVAL);
    bad.metrics_prefix = "vigil_test";
    ks = keystone_new(f->base, f->client, &bad, &error);
    assert_non_null(ks);
    keystone_free(ks);
    metrics_registry_free(bad.metrics);
    assert_null(keystone_new(NULL, f->client, &o, &error));
    assert_null(keystone_new(f->base, NULL, &o, &error));
    free(huge);
}

/* Keystone unreachable: the call completes (from the loop, not inside
 * keystone_call) with an error naming the authentication. */
static void
test_unreachable(void **state)
{
    struct fixture *f = *state;
    struct keystone *ks = make(f, 0);
    struct keystone_call call = {
        .service_type = "compute", .method = "GET", .path = "/servers",
    };

    f->inside_call = true;
    assert_int_equal(keystone_call(ks, &call, on_done, f), 0);
    f->inside_call = false;
    assert_int_equal(f->completed, 0);
    while (f->completed < 1) {
        assert_int_equal(event_base_loop(f->base, EVLOOP_ONCE), 0);
    }
    assert_false(f->called_inside);
    assert_int_equal(f->last_status, 0);
    assert_non_null(strstr(f->last_error, "keystone: authentication "
                           "failed"));
    assert_int_equal(f->auth_reports, 1);
    assert_false(f->auth_ok);
    assert_false(keystone_has_token(ks));
    {
        struct keystone_stats st;

        keystone_get_stats(ks, &st);
        assert_int_equal(st.auth_failures, 1);
        assert_int_equal(st.authentications, 0);
        assert_int_equal(st.calls, 1);
        assert_int_equal(st.waiting, 0);
    }
    keystone_free(ks);
}

static void
test_bad_calls(void **state)
{
    struct fixture *f = *state;
    struct keystone *ks = make(f, 0);
    const char *nine[] = { "A: 1", "A: 2", "A: 3", "A: 4", "A: 5", "A: 6",
                           "A: 7", "A: 8", "A: 9", NULL };
    struct keystone_call call = { .service_type = "compute",
                                  .method = "GET", .path = "/x" };
    struct keystone_call c;

    c = call;
    c.method = NULL;
    assert_int_equal(keystone_call(ks, &c, on_done, f), -EINVAL);
    c = call;
    c.path = NULL;
    assert_int_equal(keystone_call(ks, &c, on_done, f), -EINVAL);
    c = call;
    c.service_type = NULL;         /* then the path must be a URL */
    assert_int_equal(keystone_call(ks, &c, on_done, f), -EINVAL);
    c = call;
    c.headers = nine;
    assert_int_equal(keystone_call(ks, &c, on_done, f), -EINVAL);
    c = call;
    c.body_size = 3;
    assert_int_equal(keystone_call(ks, &c, on_done, f), -EINVAL);
    assert_int_equal(keystone_call(ks, &call, NULL, f), -EINVAL);
    assert_int_equal(keystone_call(NULL, &call, on_done, f), -EINVAL);
    assert_int_equal(f->completed, 0);
    keystone_free(ks);
    assert_int_equal(f->completed, 0);
}

/* The wait list is capped; keystone_free() completes the waiting calls
 * with "cancelled". */
static void
test_waiting_capped_and_cancelled(void **state)
{
    struct fixture *f = *state;
    struct keystone *ks = make(f, 2);
    struct keystone_call call = { .service_type = "compute",
                                  .method = "GET", .path = "/x" };

    assert_int_equal(keystone_call(ks, &call, on_done, f), 0);
    assert_int_equal(keystone_call(ks, &call, on_done, f), 0);
    assert_int_equal(keystone_call(ks, &call, on_done, f), -ENOBUFS);
    assert_int_equal(f->completed, 0);
    keystone_free(ks);
    assert_int_equal(f->completed, 2);
    assert_string_equal(f->last_error, "cancelled");
    /* The authentication request still in httpc ends unseen. */
    assert_int_equal(f->auth_reports, 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_token),
        cmocka_unit_test(test_parse_token_without_catalog),
        cmocka_unit_test(test_parse_token_malformed),
        cmocka_unit_test(test_parse_token_bounds),
        cmocka_unit_test(test_renew_delay),
        cmocka_unit_test(test_auth_body),
        cmocka_unit_test_setup_teardown(test_options, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unreachable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_calls, setup, teardown),
        cmocka_unit_test_setup_teardown(test_waiting_capped_and_cancelled,
                                        setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
