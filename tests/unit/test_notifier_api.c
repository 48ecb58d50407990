/* Integration-style unit test of the notifier's API: the real api module on
 * a real httpd (127.0.0.1, ephemeral port), the real evaluator and webhook
 * sink, httpc as the REST client and a second httpd as the VNFM's webhook
 * receiver, all on one event loop. Covers create -> event -> webhook with
 * Aodh's exact body, the .up -> ok extension, list filters, update, state,
 * 400/403/404/405/409 answers, delete (no more deliveries) and a receiver
 * answering 503 once (retried, delivered once). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alarm_store.h"
#include "api.h"
#include "evaluator.h"
#include "httpc.h"
#include "httpd.h"
#include "metrics.h"
#include "vtime.h"
#include "vuuid.h"
#include "webhook_sink.h"

#define MAX_HOOKS 32
#define MAX_ALARMS 8
#define VM_UUID "0b6e38c4-1f5c-4bcb-8f7a-5d8f9d2b7a10"

/* One POST the webhook receiver answered with 2xx. */
struct hook {
    char path[64];
    char request_id[64];
    json_t *body;
};

struct fixture {
    struct event_base *base;
    struct event *tick;
    struct metrics_registry *metrics;
    struct alarm_store *store;
    struct evaluator *evaluator;
    struct delivery_sink *sink;       /* owned by the evaluator */
    struct httpd *api_httpd;
    struct api *api;
    struct httpd *hook_httpd;
    struct httpc *client;
    char api_url[64];
    char hook_url[64];
    struct hook hooks[MAX_HOOKS];
    size_t n_hooks;                   /* answered 2xx */
    size_t hook_requests;             /* every POST received */
    int fail_next;                    /* answer 503 this many times */
};

/* ---- the webhook receiver ---- */

static void
hook_handler(struct evhttp_request *req, const struct httpd_params *params,
             void *arg)
{
    struct fixture *f = arg;
    const char *id = evhttp_find_header(evhttp_request_get_input_headers(req),
                                        "x-openstack-request-id");
    json_t *body;
    struct hook *h;

    f->hook_requests++;
    if (f->fail_next > 0) {
        f->fail_next--;
        httpd_reply_error(req, 503, "try again");
        return;
    }
    body = httpd_read_json(req);
    if (!body) {
        return;
    }
    assert_true(f->n_hooks < MAX_HOOKS);
    h = &f->hooks[f->n_hooks++];
    snprintf(h->path, sizeof h->path, "%s", params->values[0]);
    snprintf(h->request_id, sizeof h->request_id, "%s", id ? id : "");
    h->body = body;
    httpd_reply_json(req, 200, NULL);
}

/* ---- the client ---- */

struct response {
    bool done;
    long status;
    char *body;
};

static void
client_done(const struct httpc_response *r, void *arg)
{
    struct response *out = arg;

    out->done = true;
    out->status = r->status;
    out->body = strdup(r->body ? r->body : "");
}

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
    (void) fd;
    (void) what;
    (void) arg;
}

/* Runs the loop until '*flag' turns true or 'count' hooks arrived (when
 * 'flag' is NULL), for at most 'timeout_ms'. */
static bool
run_until(struct fixture *f, const bool *flag, size_t count, long timeout_ms)
{
    int64_t deadline = vtime_mono_ns() + timeout_ms * 1000000;

    while (vtime_mono_ns() < deadline) {
        if (flag ? *flag : f->n_hooks >= count) {
            return true;
        }
        assert_true(event_base_loop(f->base, EVLOOP_ONCE) >= 0);
    }
    return flag ? *flag : f->n_hooks >= count;
}

/* Sends one request to the API and waits for the answer. Returns the
 * status; '*body' (may be NULL) gets the parsed JSON answer. */
static long
call(struct fixture *f, const char *method, const char *path,
     const char *const *headers, const char *body, json_t **json)
{
    struct response r = { false, 0, NULL };
    char url[256];
    struct httpc_request req = {
        .method = method,
        .url = url,
        .body = body,
        .body_size = body ? strlen(body) : 0,
        .headers = headers,
    };
    json_error_t jerr;
    long status;

    snprintf(url, sizeof url, "%s%s", f->api_url, path);
    assert_int_equal(httpc_submit(f->client, &req, client_done, &r), 0);
    assert_true(run_until(f, &r.done, 0, 5000));
    status = r.status;
    if (json) {
        *json = json_loads(r.body, JSON_DECODE_ANY, &jerr);
    }
    free(r.body);
    return status;
}

/* Creates an alarm from 'body'; returns its id (static buffer per call
 * site is not needed: copies into 'id'). */
static void
create(struct fixture *f, const char *body, char id[VUUID_STRING_SIZE])
{
    json_t *out = NULL;

    assert_int_equal(call(f, "POST", "/v2/alarms", NULL, body, &out), 201);
    assert_non_null(out);
    assert_true(vuuid_is_valid(json_string_value(json_object_get(out,
                                                                 "alarm_id"))));
    memcpy(id, json_string_value(json_object_get(out, "alarm_id")),
           VUUID_STRING_SIZE);
    json_decref(out);
}

/* The error message of an httpd error body (static storage). */
static const char *
error_message(json_t *body)
{
    static char text[512];

    snprintf(text, sizeof text, "%s", json_string_value(json_object_get(
        json_object_get(body, "error"), "message")));
    return text;
}

static void
assert_error(struct fixture *f, const char *method, const char *path,
             const char *body, long status, const char *needle)
{
    json_t *out = NULL;
    long got = call(f, method, path, NULL, body, &out);

    if (got != status || !out || !strstr(error_message(out), needle)) {
        fail_msg("%s %s: expected %ld '%s', got %ld '%s'", method, path,
                 status, needle, got, out ? error_message(out) : "(no JSON)");
    }
    json_decref(out);
}

static long
post_event(struct fixture *f, const char *type, const char *instance,
           json_t **out)
{
    char body[512];

    snprintf(body, sizeof body,
             "[{\"id\": \"ev-%s-%s\", \"time\": \"2026-11-22T01:53:07.123456Z\","
             " \"type\": \"%s\", \"details\": {\"hostname\": \"compute-1\", "
             "\"status\": \"%s\", \"instance_uuid\": \"%s\"}, "
             "\"profiler\": {\"T01\": 1000, \"T06\": 2000}}]",
             type, instance + 28, type,
             strstr(type, ".up") ? "up" : "down", instance);
    return call(f, "POST", "/v1/events", NULL, body, out);
}

/* Runs the loop for 'ms' and checks that no hook arrives. */
static void
assert_no_more_hooks(struct fixture *f, long ms)
{
    size_t before = f->n_hooks, requests = f->hook_requests;

    run_until(f, NULL, before + 1, ms);
    assert_int_equal(f->n_hooks, before);
    assert_int_equal(f->hook_requests, requests);
}

/* ---- set-up ---- */

static int
setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    struct httpd_options hopts = { .address = "127.0.0.1", .port = 0 };
    struct webhook_sink_options wopts = {
        .retry = { .max_attempts = 5, .initial_backoff_ms = 10,
                   .max_backoff_ms = 40 },
    };
    struct httpc_options copts = { .timeout_ms = 5000 };
    struct api_options aopts;
    struct timeval tv = { 0, 5000 };
    int err = 0;

    assert_non_null(f);
    f->base = event_base_new();
    f->metrics = metrics_registry_new();
    f->store = alarm_store_new(MAX_ALARMS);
    f->evaluator = evaluator_new(f->store, f->metrics);
    f->sink = webhook_sink_new(f->base, &wopts, f->metrics);
    assert_non_null(f->sink);
    assert_int_equal(evaluator_add_sink(f->evaluator, f->sink), 0);
    hopts.metrics = f->metrics;
    hopts.name = "vigil_notifier";
    f->api_httpd = httpd_new(f->base, &hopts, &err);
    assert_non_null(f->api_httpd);
    memset(&aopts, 0, sizeof aopts);
    aopts.store = f->store;
    aopts.evaluator = f->evaluator;
    aopts.metrics = f->metrics;
    aopts.default_project_id = "default-project";
    f->api = api_new(f->api_httpd, &aopts, &err);
    assert_non_null(f->api);
    hopts.metrics = NULL;
    f->hook_httpd = httpd_new(f->base, &hopts, &err);
    assert_non_null(f->hook_httpd);
    assert_int_equal(httpd_route(f->hook_httpd, EVHTTP_REQ_POST, "/hook/{}",
                                 hook_handler, f), 0);
    f->client = httpc_new(f->base, &copts);
    assert_non_null(f->client);
    snprintf(f->api_url, sizeof f->api_url, "http://127.0.0.1:%u",
             (unsigned) httpd_port(f->api_httpd));
    snprintf(f->hook_url, sizeof f->hook_url, "http://127.0.0.1:%u/hook",
             (unsigned) httpd_port(f->hook_httpd));
    /* Wakes EVLOOP_ONCE regularly so run_until can time out. */
    f->tick = event_new(f->base, -1, EV_PERSIST, tick_cb, NULL);
    assert_int_equal(event_add(f->tick, &tv), 0);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *f = *state;

    httpc_free(f->client);
    httpd_free(f->hook_httpd);
    api_flush(f->api);
    httpd_free(f->api_httpd);
    api_free(f->api);
    evaluator_free(f->evaluator);
    alarm_store_free(f->store);
    metrics_registry_free(f->metrics);
    event_free(f->tick);
    event_base_free(f->base);
    for (size_t i = 0; i < f->n_hooks; i++) {
        json_decref(f->hooks[i].body);
    }
    free(f);
    return 0;
}

/* An alarm body for the VM with alarm and ok actions on the receiver. */
static void
vm_alarm_body(struct fixture *f, char *body, size_t size, const char *name,
              const char *extra)
{
    snprintf(body, size,
             "{\"name\": \"%s\", \"type\": \"event\", \"severity\": "
             "\"critical\", %s \"alarm_actions\": [\"%s/alarm\"], "
             "\"ok_actions\": [\"%s/ok\"], \"event_rule\": {\"event_type\": "
             "\"compute.instance.down\", \"query\": [{\"field\": "
             "\"traits.instance_uuid\", \"op\": \"eq\", \"value\": \"%s\", "
             "\"type\": \"string\"}]}}",
             name, extra, f->hook_url, f->hook_url, VM_UUID);
}

/* ---- tests ---- */

static void
test_create_event_webhook(void **state)
{
    struct fixture *f = *state;
    const char *const headers[] = { "X-Project-Id: tenant-a",
                                    "X-User-Id: user-a", NULL };
    char body[1024], id[VUUID_STRING_SIZE], reason[512];
    json_t *out = NULL, *hook, *event, *traits, *profiler;
    int64_t t07, t08;
    bool hostname_seen = false;

    vm_alarm_body(f, body, sizeof body, "vm-down", "");
    assert_int_equal(call(f, "POST", "/v2/alarms", headers, body, &out), 201);
    snprintf(id, sizeof id, "%s",
             json_string_value(json_object_get(out, "alarm_id")));
    assert_true(vuuid_is_valid(id));
    assert_string_equal(json_string_value(json_object_get(out, "project_id")),
                        "tenant-a");
    assert_string_equal(json_string_value(json_object_get(out, "user_id")),
                        "user-a");
    assert_string_equal(json_string_value(json_object_get(out, "state")),
                        "insufficient data");
    assert_true(json_is_true(json_object_get(out, "enabled")));
    assert_non_null(json_string_value(json_object_get(out, "timestamp")));
    json_decref(out);

    /* An event for another VM hits nothing. */
    assert_int_equal(post_event(f, "compute.instance.down",
                                "11111111-1f5c-4bcb-8f7a-5d8f9d2b7a10", &out),
                     202);
    assert_int_equal(json_integer_value(json_object_get(out, "matched")), 0);
    json_decref(out);

    assert_int_equal(post_event(f, "compute.instance.down", VM_UUID, &out),
                     202);
    assert_int_equal(json_integer_value(json_object_get(out, "accepted")), 1);
    assert_int_equal(json_integer_value(json_object_get(out, "notified")), 1);
    json_decref(out);
    assert_true(run_until(f, NULL, 1, 3000));
    assert_string_equal(f->hooks[0].path, "alarm");
    assert_true(!strncmp(f->hooks[0].request_id, "req-", 4) &&
                vuuid_is_valid(f->hooks[0].request_id + 4));

    hook = f->hooks[0].body;
    assert_string_equal(json_string_value(json_object_get(hook, "alarm_name")),
                        "vm-down");
    assert_string_equal(json_string_value(json_object_get(hook, "alarm_id")),
                        id);
    assert_string_equal(json_string_value(json_object_get(hook, "severity")),
                        "critical");
    assert_string_equal(json_string_value(json_object_get(hook, "previous")),
                        "insufficient data");
    assert_string_equal(json_string_value(json_object_get(hook, "current")),
                        "alarm");
    snprintf(reason, sizeof reason,
             "Event <id=ev-compute.instance.down-9d2b7a10,event_type="
             "compute.instance.down> hits the query <query=[{\"field\": "
             "\"traits.instance_uuid\", \"op\": \"eq\", \"type\": \"string\", "
             "\"value\": \"%s\"}]>.", VM_UUID);
    assert_string_equal(json_string_value(json_object_get(hook, "reason")),
                        reason);
    assert_string_equal(json_string_value(json_object_get(
        json_object_get(hook, "reason_data"), "type")), "event");
    event = json_object_get(json_object_get(hook, "reason_data"), "event");
    assert_string_equal(json_string_value(json_object_get(event,
                                                          "message_id")),
                        "ev-compute.instance.down-9d2b7a10");
    assert_string_equal(json_string_value(json_object_get(event,
                                                          "event_type")),
                        "compute.instance.down");
    assert_string_equal(json_string_value(json_object_get(event, "generated")),
                        "2026-11-22T01:53:07.123456Z");
    assert_true(json_is_object(json_object_get(event, "raw")));
    assert_string_equal(json_string_value(json_object_get(
        event, "message_signature")), "");
    traits = json_object_get(event, "traits");
    assert_int_equal(json_array_size(traits), 3);
    for (size_t i = 0; i < json_array_size(traits); i++) {
        json_t *t = json_array_get(traits, i);

        assert_int_equal(json_array_size(t), 3);
        assert_int_equal(json_integer_value(json_array_get(t, 1)), 1);
        if (!strcmp(json_string_value(json_array_get(t, 0)), "hostname")) {
            assert_string_equal(json_string_value(json_array_get(t, 2)),
                                "compute-1");
            hostname_seen = true;
        }
    }
    assert_true(hostname_seen);
    assert_true(vuuid_is_valid(json_string_value(json_object_get(
        hook, "notification_id"))));
    profiler = json_object_get(hook, "profiler");
    assert_int_equal(json_integer_value(json_object_get(profiler, "T01")),
                     1000);
    assert_int_equal(json_integer_value(json_object_get(profiler, "T06")),
                     2000);
    t07 = json_integer_value(json_object_get(profiler, "T07"));
    t08 = json_integer_value(json_object_get(profiler, "T08"));
    assert_true(t07 > 0 && t08 >= t07 && t08 <= vtime_mono_ns());

    /* Already in alarm, no repeat_actions: the same event stays quiet. */
    assert_int_equal(post_event(f, "compute.instance.down", VM_UUID, &out),
                     202);
    assert_int_equal(json_integer_value(json_object_get(out, "matched")), 1);
    assert_int_equal(json_integer_value(json_object_get(out, "notified")), 0);
    json_decref(out);
    assert_no_more_hooks(f, 100);

    snprintf(body, sizeof body, "/v2/alarms/%s/state", id);
    assert_int_equal(call(f, "GET", body, NULL, NULL, &out), 200);
    assert_string_equal(json_string_value(out), "alarm");
    json_decref(out);
}

/* Vigil's extension: the ".up" event moves the alarm to ok and fires the
 * ok_actions; repeat_actions fires on every matching event. */
static void
test_recovery_and_repeat(void **state)
{
    struct fixture *f = *state;
    char body[1024], id[VUUID_STRING_SIZE], path[128];
    json_t *out = NULL;

    vm_alarm_body(f, body, sizeof body, "vm-rec", "\"repeat_actions\": true,");
    create(f, body, id);
    assert_int_equal(post_event(f, "compute.instance.down", VM_UUID, NULL),
                     202);
    assert_true(run_until(f, NULL, 1, 3000));
    assert_int_equal(post_event(f, "compute.instance.down", VM_UUID, NULL),
                     202);
    assert_true(run_until(f, NULL, 2, 3000));
    assert_string_equal(f->hooks[1].path, "alarm");
    assert_string_equal(json_string_value(json_object_get(f->hooks[1].body,
                                                          "previous")),
                        "alarm");
    assert_int_equal(post_event(f, "compute.instance.up", VM_UUID, NULL),
                     202);
    assert_true(run_until(f, NULL, 3, 3000));
    assert_string_equal(f->hooks[2].path, "ok");
    assert_string_equal(json_string_value(json_object_get(f->hooks[2].body,
                                                          "previous")),
                        "alarm");
    assert_string_equal(json_string_value(json_object_get(f->hooks[2].body,
                                                          "current")), "ok");
    assert_string_equal(json_string_value(json_object_get(json_object_get(
        json_object_get(f->hooks[2].body, "reason_data"), "event"),
        "event_type")), "compute.instance.up");
    snprintf(path, sizeof path, "/v2/alarms/%s", id);
    assert_int_equal(call(f, "GET", path, NULL, NULL, &out), 200);
    assert_string_equal(json_string_value(json_object_get(out, "state")),
                        "ok");
    assert_non_null(strstr(json_string_value(json_object_get(out,
                                                             "state_reason")),
                           "event_type=compute.instance.up"));
    json_decref(out);
}

static void
test_errors(void **state)
{
    struct fixture *f = *state;
    const char *const other[] = { "X-Project-Id: tenant-b", NULL };
    char body[1024], id[VUUID_STRING_SIZE], path[128];
    json_t *out = NULL;

    assert_error(f, "GET", "/v2/alarms/8e7f1c52-0000-4000-8000-000000000000",
                 NULL, 404, "not found");
    assert_error(f, "DELETE", "/v2/alarms/nope", NULL, 404, "not found");
    assert_error(f, "GET", "/v2/alarms/nope/state", NULL, 404, "not found");
    assert_error(f, "DELETE", "/v2/alarms", NULL, 405, "not allowed");
    assert_error(f, "POST", "/v2/alarms/x/state", "\"ok\"", 405,
                 "not allowed");
    assert_error(f, "POST", "/v2/alarms", "{\"type\": \"event\", "
                 "\"event_rule\": {}}", 400, "name: missing");
    assert_error(f, "POST", "/v2/alarms", "{\"name\": \"t\", \"type\": "
                 "\"threshold\"}", 400, "only event alarms are supported");
    assert_error(f, "POST", "/v2/alarms", "{\"name\": \"t\", \"type\": "
                 "\"event\", \"event_rule\": {}, \"alarm_actions\": "
                 "[\"log://\"]}", 400, "alarm_actions[0]");
    assert_error(f, "POST", "/v2/alarms", "[1, 2]", 400, "JSON object");
    assert_error(f, "POST", "/v2/alarms", "{not json", 400, "malformed JSON");
    assert_error(f, "POST", "/v1/events", "[{\"type\": \"compute.host.down\"}]",
                 400, "event 0");
    assert_error(f, "POST", "/v1/events", "{}", 400, "");

    vm_alarm_body(f, body, sizeof body, "dup", "");
    create(f, body, id);
    assert_error(f, "POST", "/v2/alarms", body, 409, "name='dup' exists");
    /* The same name in another project is a different alarm. */
    assert_int_equal(call(f, "POST", "/v2/alarms", other, body, &out), 201);
    json_decref(out);

    snprintf(path, sizeof path, "/v2/alarms/%s/state", id);
    assert_error(f, "PUT", path, "\"firing\"", 400, "state invalid");
    assert_error(f, "PUT", path, "{\"state\": \"ok\"}", 400, "state invalid");

    /* Fill the store: 403, as Aodh's quota. */
    for (int i = alarm_store_count(f->store); i < MAX_ALARMS; i++) {
        snprintf(body, sizeof body, "{\"name\": \"fill-%d\", \"type\": "
                 "\"event\", \"event_rule\": {}}", i);
        create(f, body, id);
    }
    assert_error(f, "POST", "/v2/alarms", "{\"name\": \"one-more\", \"type\": "
                 "\"event\", \"event_rule\": {}}", 403, "quota");
}

static void
test_list_update_state(void **state)
{
    struct fixture *f = *state;
    char body[1024], a[VUUID_STRING_SIZE], b[VUUID_STRING_SIZE], path[128];
    json_t *out = NULL;

    vm_alarm_body(f, body, sizeof body, "first", "");
    create(f, body, a);
    vm_alarm_body(f, body, sizeof body, "second", "\"enabled\": false,");
    create(f, body, b);

    assert_int_equal(call(f, "GET", "/v2/alarms", NULL, NULL, &out), 200);
    assert_int_equal(json_array_size(out), 2);
    json_decref(out);
    assert_int_equal(call(f, "GET", "/v2/alarms?q.field=name&q.op=eq&"
                          "q.value=second", NULL, NULL, &out), 200);
    assert_int_equal(json_array_size(out), 1);
    assert_string_equal(json_string_value(json_object_get(
        json_array_get(out, 0), "alarm_id")), b);
    json_decref(out);
    assert_int_equal(call(f, "GET", "/v2/alarms?q.field=enabled&q.value=true"
                          "&q.field=type&q.value=event", NULL, NULL, &out),
                     200);
    assert_int_equal(json_array_size(out), 1);
    assert_string_equal(json_string_value(json_object_get(
        json_array_get(out, 0), "name")), "first");
    json_decref(out);
    assert_int_equal(call(f, "GET", "/v2/alarms?q.field=state&q.op=ne&"
                          "q.value=ok&limit=1", NULL, NULL, &out), 200);
    assert_int_equal(json_array_size(out), 1);
    json_decref(out);
    assert_error(f, "GET", "/v2/alarms?q.field=colour&q.value=red", NULL, 400,
                 "unknown field 'colour'");
    assert_error(f, "GET", "/v2/alarms?q.field=name&q.op=gt&q.value=a", NULL,
                 400, "operator 'gt'");
    assert_error(f, "GET", "/v2/alarms?q.field=name", NULL, 400,
                 "same number");

    /* PUT replaces: new name and severity, the id and project stay. */
    snprintf(body, sizeof body, "{\"name\": \"renamed\", \"type\": \"event\", "
             "\"severity\": \"moderate\", \"event_rule\": {\"event_type\": "
             "\"compute.host.down\"}}");
    snprintf(path, sizeof path, "/v2/alarms/%s", a);
    assert_int_equal(call(f, "PUT", path, NULL, body, &out), 200);
    assert_string_equal(json_string_value(json_object_get(out, "alarm_id")),
                        a);
    assert_string_equal(json_string_value(json_object_get(out, "severity")),
                        "moderate");
    assert_string_equal(json_string_value(json_object_get(out, "project_id")),
                        "default-project");
    json_decref(out);
    assert_int_equal(call(f, "GET", path, NULL, NULL, &out), 200);
    assert_string_equal(json_string_value(json_object_get(out, "name")),
                        "renamed");
    json_decref(out);
    /* Renaming onto the other alarm's name conflicts. */
    snprintf(body, sizeof body, "{\"name\": \"second\", \"type\": \"event\", "
             "\"event_rule\": {}}");
    assert_error(f, "PUT", path, body, 409, "exists");
    assert_error(f, "PUT", "/v2/alarms/9e7f1c52-0000-4000-8000-000000000000",
                 body, 404, "not found");

    snprintf(path, sizeof path, "/v2/alarms/%s/state", a);
    assert_int_equal(call(f, "PUT", path, NULL, "\"ok\"", &out), 200);
    assert_string_equal(json_string_value(out), "ok");
    json_decref(out);
    assert_int_equal(call(f, "GET", path, NULL, NULL, &out), 200);
    assert_string_equal(json_string_value(out), "ok");
    json_decref(out);
}

static void
test_delete_stops_delivery(void **state)
{
    struct fixture *f = *state;
    char body[1024], id[VUUID_STRING_SIZE], path[128];
    json_t *out = NULL;

    vm_alarm_body(f, body, sizeof body, "short-lived", "\"repeat_actions\": "
                  "true,");
    create(f, body, id);
    assert_int_equal(post_event(f, "compute.instance.down", VM_UUID, NULL),
                     202);
    assert_true(run_until(f, NULL, 1, 3000));
    snprintf(path, sizeof path, "/v2/alarms/%s", id);
    assert_int_equal(call(f, "DELETE", path, NULL, NULL, NULL), 204);
    assert_error(f, "GET", path, NULL, 404, "not found");
    assert_int_equal(post_event(f, "compute.instance.down", VM_UUID, &out),
                     202);
    assert_int_equal(json_integer_value(json_object_get(out, "matched")), 0);
    json_decref(out);
    assert_no_more_hooks(f, 150);
    assert_int_equal(f->n_hooks, 1);
}

/* The metric line 'name' from GET /metrics, as a number (-1 if absent). */
static long
metric(struct fixture *f, const char *name)
{
    struct response r = { false, 0, NULL };
    char url[128];
    struct httpc_request req = { .method = "GET", .url = url };
    const char *line;
    long value = -1;

    snprintf(url, sizeof url, "%s/metrics", f->api_url);
    assert_int_equal(httpc_submit(f->client, &req, client_done, &r), 0);
    assert_true(run_until(f, &r.done, 0, 5000));
    line = strstr(r.body, name);
    while (line && line > r.body && line[-1] != '\n') {
        line = strstr(line + 1, name);
    }
    if (line) {
        value = strtol(line + strcspn(line, " "), NULL, 10);
    }
    free(r.body);
    return value;
}

static void
test_retry_after_503(void **state)
{
    struct fixture *f = *state;
    char body[1024], id[VUUID_STRING_SIZE];

    vm_alarm_body(f, body, sizeof body, "retried", "");
    create(f, body, id);
    f->fail_next = 1;
    assert_int_equal(post_event(f, "compute.instance.down", VM_UUID, NULL),
                     202);
    assert_true(run_until(f, NULL, 1, 3000));
    assert_int_equal(f->hook_requests, 2);
    assert_no_more_hooks(f, 150);
    assert_int_equal(f->n_hooks, 1);
    assert_string_equal(json_string_value(json_object_get(f->hooks[0].body,
                                                          "alarm_id")), id);
    assert_int_equal(webhook_sink_pending(f->sink), 0);
    assert_int_equal(metric(f, "vigil_notifier_deliveries_retried_total"), 1);
    assert_int_equal(metric(f, "vigil_notifier_deliveries_succeeded_total"),
                     1);
    assert_int_equal(metric(f, "vigil_notifier_deliveries_failed_total"), 0);
    assert_int_equal(metric(f, "vigil_notifier_events_received_total"), 1);
    assert_int_equal(metric(f, "vigil_notifier_alarms "), 1);
}

/* The webhook sink alone: with one request allowed in flight and a FIFO of
 * two, five notifications give three deliveries, in order, and two drops
 * that are reported and counted. */
/* A POST /v1/events body of 'count' events (ids "<tag>-<i>"): every
 * 'every'-th one is a down/up of the VM (down first), the rest concern
 * other instances. */
static char *
events_body(const char *tag, size_t count, size_t every)
{
    json_t *list = json_array();
    char *text;

    for (size_t i = 0; i < count; i++) {
        bool vm = i % every == every - 1;
        bool up = vm && (i / every) % 2 == 1;
        char id[64], other[64];

        snprintf(id, sizeof id, "%s-%zu", tag, i);
        snprintf(other, sizeof other, "00000000-0000-4000-8000-%012zu", i);
        assert_int_equal(json_array_append_new(list, json_pack(
            "{s:s, s:s, s:s, s:{s:s, s:s, s:s}}", "id", id,
            "time", "2026-11-22T01:53:07.123456Z",
            "type", up ? "compute.instance.up" : "compute.instance.down",
            "details", "hostname", "compute-1", "status", up ? "up" : "down",
            "instance_uuid", vm ? VM_UUID : other)), 0);
    }
    text = json_dumps(list, JSON_COMPACT);
    assert_non_null(text);
    json_decref(list);
    return text;
}

static const char *
hook_event_id(const struct hook *h)
{
    return json_string_value(json_object_get(json_object_get(json_object_get(
        h->body, "reason_data"), "event"), "message_id"));
}

/* A body larger than one turn of evaluation (32 events) is evaluated in
 * order and answered with its counts once done; a second body sent
 * meanwhile is evaluated after it (it ends in "ok": evaluated before the
 * end of the first, the alarm would end in "alarm"). */
static void
test_large_bodies_in_order(void **state)
{
    struct fixture *f = *state;
    char body[1024], id[VUUID_STRING_SIZE], path[128], url[256];
    char *big = events_body("big", 300, 20);      /* 15 VM events */
    char *small = events_body("small", 2, 1);     /* the VM down, up */
    struct response r1 = { false, 0, NULL }, r2 = { false, 0, NULL };
    struct httpc_request req = { .method = "POST", .url = url };
    json_t *out;

    vm_alarm_body(f, body, sizeof body, "vm-big", "");
    create(f, body, id);
    snprintf(url, sizeof url, "%s/v1/events", f->api_url);
    req.body = big;
    req.body_size = strlen(big);
    assert_int_equal(httpc_submit(f->client, &req, client_done, &r1), 0);
    assert_true(run_until(f, NULL, 1, 5000));
    req.body = small;
    req.body_size = strlen(small);
    assert_int_equal(httpc_submit(f->client, &req, client_done, &r2), 0);
    assert_true(run_until(f, &r1.done, 0, 5000));
    assert_true(run_until(f, &r2.done, 0, 5000));
    assert_true(run_until(f, NULL, 16, 5000));
    assert_no_more_hooks(f, 100);

    assert_int_equal(r1.status, 202);
    out = json_loads(r1.body, 0, NULL);
    assert_int_equal(json_integer_value(json_object_get(out, "accepted")),
                     300);
    assert_int_equal(json_integer_value(json_object_get(out, "matched")), 15);
    assert_int_equal(json_integer_value(json_object_get(out, "notified")),
                     15);
    json_decref(out);
    assert_int_equal(r2.status, 202);
    /* Webhooks travel on several connections and may arrive in any
     * order; their previous/current states show the evaluation order:
     * down, up, down, ... through the first body, then the second. */
    for (size_t i = 0; i < 16; i++) {
        const char *event = hook_event_id(&f->hooks[i]);
        const char *current = json_string_value(json_object_get(
            f->hooks[i].body, "current"));
        const char *previous = json_string_value(json_object_get(
            f->hooks[i].body, "previous"));
        size_t k;

        if (!strcmp(event, "small-1")) {
            k = 15;
        } else {
            assert_int_equal(strncmp(event, "big-", 4), 0);
            k = (size_t) atoi(event + 4) / 20;
            assert_int_equal(atoi(event + 4) % 20, 19);
        }
        assert_string_equal(current, k % 2 ? "ok" : "alarm");
        assert_string_equal(f->hooks[i].path, k % 2 ? "ok" : "alarm");
        assert_string_equal(previous, k == 0 ? "insufficient data"
                                      : k % 2 ? "alarm" : "ok");
    }
    snprintf(path, sizeof path, "/v2/alarms/%s", id);
    assert_int_equal(call(f, "GET", path, NULL, NULL, &out), 200);
    assert_string_equal(json_string_value(json_object_get(out, "state")),
                        "ok");
    json_decref(out);
    free(r1.body);
    free(r2.body);
    free(big);
    free(small);
}

static void
test_sink_queue_and_drops(void **state)
{
    struct fixture *f = *state;
    struct metrics_registry *reg = metrics_registry_new();
    struct webhook_sink_options o = {
        .http = { .max_pending = 1 },
        .retry = { .max_attempts = 1 },
        .max_queued = 2,
    };
    struct delivery_sink *sink = webhook_sink_new(f->base, &o, reg);
    struct delivery_notification n;
    struct alarm *alarm = NULL;
    struct doctor_event ev;
    struct evbuffer *text = evbuffer_new();
    char body[512], err[256], ids[5][VUUID_STRING_SIZE];
    const char *rendered;
    json_t *obj;
    int ret[5];

    assert_non_null(sink);
    snprintf(body, sizeof body, "{\"name\": \"q\", \"type\": \"event\", "
             "\"alarm_actions\": [\"%s/q\"], \"event_rule\": {}}",
             f->hook_url);
    obj = json_loads(body, 0, NULL);
    assert_int_equal(alarm_from_json(obj, &alarm, err, sizeof err), 0);
    json_decref(obj);
    assert_int_equal(vuuid_generate(alarm->id), 0);
    assert_int_equal(doctor_event_init(&ev), 0);
    snprintf(ev.id, sizeof ev.id, "ev-q");
    snprintf(ev.type, sizeof ev.type, "compute.host.down");
    ev.time_ns = 1;
    assert_int_equal(doctor_event_set_detail(&ev, "hostname", "c1"), 0);
    memset(&n, 0, sizeof n);
    n.alarm = alarm;
    n.previous = ALARM_STATE_OK;
    n.current = ALARM_STATE_ALARM;
    n.reason = "queued";
    n.event = delivery_event_text(&ev);
    assert_non_null(n.event);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(vuuid_generate(n.notification_id), 0);
        memcpy(ids[i], n.notification_id, sizeof ids[i]);
        ret[i] = delivery_sink_submit(sink, &n);
    }
    assert_int_equal(ret[0], 0);
    assert_int_equal(ret[1], 0);
    assert_int_equal(ret[2], 0);
    assert_int_equal(ret[3], -ENOBUFS);
    assert_int_equal(ret[4], -ENOBUFS);
    assert_int_equal(webhook_sink_pending(sink), 3);
    assert_true(run_until(f, NULL, 3, 3000));
    assert_no_more_hooks(f, 100);
    assert_int_equal(webhook_sink_pending(sink), 0);
    for (int i = 0; i < 3; i++) {
        assert_string_equal(json_string_value(json_object_get(
            f->hooks[i].body, "notification_id")), ids[i]);
        assert_string_equal(f->hooks[i].path, "q");
    }
    assert_int_equal(metrics_render(reg, text), 0);
    assert_int_equal(evbuffer_add(text, "", 1), 0);
    rendered = (const char *) evbuffer_pullup(text, -1);
    assert_non_null(strstr(rendered, "vigil_notifier_deliveries_dropped_total"
                                     "{sink=\"webhook\"} 2\n"));
    assert_non_null(strstr(rendered, "vigil_notifier_deliveries_succeeded_"
                                     "total{sink=\"webhook\"} 3\n"));
    assert_non_null(strstr(rendered, "vigil_notifier_delivery_queue_depth"
                                     "{sink=\"webhook\"} 0\n"));
    evbuffer_free(text);
    free((char *) n.event);
    doctor_event_clear(&ev);
    alarm_free(alarm);
    delivery_sink_free(sink);
    metrics_registry_free(reg);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_create_event_webhook, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_recovery_and_repeat, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_update_state, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_delete_stops_delivery, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_retry_after_503, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_large_bodies_in_order, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_sink_queue_and_drops, setup,
                                        teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
