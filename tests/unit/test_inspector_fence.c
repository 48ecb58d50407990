/* Unit tests for inspector/fence: real /bin/sh commands (success, exit
 * status, signal, timeout killing the whole process group, the host in $1
 * and VIGIL_FENCE_HOST), real HTTP calls to an httpd on 127.0.0.1 standing
 * in for a BMC's Redfish endpoint ({host} expanded in URL and body, extra
 * header, 2xx vs 5xx), option checks and fence_free() with a command still
 * running. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fence.h"
#include "httpc.h"
#include "httpd.h"
#include "vtime.h"

struct fixture {
    struct event_base *base;
    struct httpc *client;
    struct httpd *httpd;
    char dir[64];
    int done;
    bool ok;
    char error[160];
    int exit_status;
    long http_status;
    char host[64];
    /* server side */
    int reply;
    char path[256];
    char body[256];
    char auth[128];
};

static void
handle_reset(struct evhttp_request *req, const struct httpd_params *params,
             void *arg)
{
    struct fixture *f = arg;
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    const char *auth = evhttp_find_header(evhttp_request_get_input_headers(req),
                                          "Authorization");
    size_t n = evbuffer_get_length(in);

    (void) params;
    snprintf(f->path, sizeof f->path, "%s", evhttp_request_get_uri(req));
    snprintf(f->body, sizeof f->body, "%.*s", (int) n,
             n ? (const char *) evbuffer_pullup(in, -1) : "");
    snprintf(f->auth, sizeof f->auth, "%s", auth ? auth : "");
    if (f->reply == 204) {
        httpd_reply_json(req, 204, NULL);
    } else {
        httpd_reply_error(req, f->reply, "BMC says no");
    }
}

static int
setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    struct httpd_options ho = { .address = "127.0.0.1" };
    int error = 0;

    assert_non_null(f);
    f->base = event_base_new();
    f->client = httpc_new(f->base, NULL);
    f->httpd = httpd_new(f->base, &ho, &error);
    assert_non_null(f->httpd);
    assert_int_equal(httpd_route(f->httpd, EVHTTP_REQ_POST,
                                 "/redfish/v1/Systems/{}/Actions/Reset",
                                 handle_reset, f), 0);
    snprintf(f->dir, sizeof f->dir, "/tmp/vigil-fence-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    f->reply = 204;
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *f = *state;
    char cmd[128];

    httpd_free(f->httpd);
    httpc_free(f->client);
    event_base_free(f->base);
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

static void
on_fenced(const char *host, const struct fence_result *r, void *arg)
{
    struct fixture *f = arg;

    f->done++;
    f->ok = r->ok;
    snprintf(f->error, sizeof f->error, "%s", r->error ? r->error : "");
    f->exit_status = r->exit_status;
    f->http_status = r->http_status;
    snprintf(f->host, sizeof f->host, "%s", host);
    assert_true(r->duration_ns >= 0);
    assert_true(r->ok == !r->error);
}

static void
wait_done(struct fixture *f, int n)
{
    int64_t deadline = vtime_mono_ns() + 20LL * 1000000000LL;

    while (f->done < n) {
        assert_true(vtime_mono_ns() < deadline);
        assert_int_equal(event_base_loop(f->base, EVLOOP_ONCE), 0);
    }
}

static struct fence *
command_fence(struct fixture *f, const char *command, long timeout_ms)
{
    struct fence_options o = { .mode = FENCE_COMMAND, .command = command,
                               .timeout_ms = timeout_ms };
    int error = 1;
    struct fence *fence = fence_new(f->base, NULL, &o, &error);

    assert_non_null(fence);
    assert_int_equal(error, 0);
    return fence;
}

static void
test_command_ok(void **state)
{
    struct fixture *f = *state;
    char cmd[256], path[128], text[128] = "";
    struct fence *fence;
    FILE *in;

    snprintf(path, sizeof path, "%s/out", f->dir);
    snprintf(cmd, sizeof cmd, "echo \"$1 $VIGIL_FENCE_HOST\" > %s", path);
    fence = command_fence(f, cmd, 5000);
    assert_int_equal(fence_host(fence, "compute-7", on_fenced, f), 0);
    assert_int_equal(f->done, 0);       /* never from inside fence_host */
    wait_done(f, 1);
    assert_true(f->ok);
    assert_int_equal(f->exit_status, 0);
    assert_string_equal(f->host, "compute-7");
    in = fopen(path, "r");
    assert_non_null(in);
    assert_non_null(fgets(text, sizeof text, in));
    fclose(in);
    assert_string_equal(text, "compute-7 compute-7\n");
    fence_free(fence);
}

static void
test_command_fails(void **state)
{
    struct fixture *f = *state;
    struct fence *fence = command_fence(f, "exit 3", 5000);

    assert_int_equal(fence_host(fence, "c1", on_fenced, f), 0);
    wait_done(f, 1);
    assert_false(f->ok);
    assert_int_equal(f->exit_status, 3);
    assert_string_equal(f->error, "exit status 3");
    fence_free(fence);

    fence = command_fence(f, "kill -TERM $$", 5000);
    assert_int_equal(fence_host(fence, "c1", on_fenced, f), 0);
    wait_done(f, 2);
    assert_false(f->ok);
    assert_string_equal(f->error, "killed by signal 15");
    fence_free(fence);
}

/* The timeout kills the command and what it started (its process group). */
static void
test_command_timeout(void **state)
{
    struct fixture *f = *state;
    char cmd[256], path[128], expected[64];
    struct fence *fence;
    int64_t start;
    long child = 0, timeout_ms;
    FILE *in;

    snprintf(path, sizeof path, "%s/child", f->dir);
    snprintf(cmd, sizeof cmd, "sleep 30 & echo $! > %s; wait", path);
    /* Under load the shell may not have started its child (and written
     * its pid) when the timeout strikes: then again with twice the
     * timeout. */
    for (timeout_ms = 200; ; timeout_ms *= 2) {
        assert_true(timeout_ms <= 12800);
        unlink(path);
        f->done = 0;
        fence = command_fence(f, cmd, timeout_ms);
        start = vtime_mono_ns();
        assert_int_equal(fence_host(fence, "c1", on_fenced, f), 0);
        wait_done(f, 1);
        assert_true(vtime_mono_ns() - start >= timeout_ms * 1000000LL);
        assert_false(f->ok);
        snprintf(expected, sizeof expected, "timed out after %ld ms",
                 timeout_ms);
        assert_string_equal(f->error, expected);
        in = fopen(path, "r");
        if (in && fscanf(in, "%ld", &child) == 1) {
            fclose(in);
            break;
        }
        if (in) {
            fclose(in);
        }
        fence_free(fence);
    }
    /* The grandchild got SIGKILL with the group; it is a zombie of init at
     * most, never still sleeping. Give the kernel a moment to reap it. */
    for (int i = 0; i < 200 && kill((pid_t) child, 0) == 0; i++) {
        char stat[64], line[256] = "";
        FILE *s;

        snprintf(stat, sizeof stat, "/proc/%ld/stat", child);
        s = fopen(stat, "r");
        if (s && fgets(line, sizeof line, s) && strstr(line, ") Z")) {
            fclose(s);
            break;
        }
        if (s) {
            fclose(s);
        }
        usleep(10000);
    }
    {
        char stat[64], line[256] = "";
        FILE *s;

        snprintf(stat, sizeof stat, "/proc/%ld/stat", child);
        s = fopen(stat, "r");
        if (s) {
            assert_non_null(fgets(line, sizeof line, s));
            fclose(s);
            assert_non_null(strstr(line, ") Z"));
        }
    }
    fence_free(fence);
}

static void
test_free_while_running(void **state)
{
    struct fixture *f = *state;
    struct fence *fence = command_fence(f, "sleep 30", 60000);
    int64_t start = vtime_mono_ns();

    assert_int_equal(fence_host(fence, "c1", on_fenced, f), 0);
    assert_int_equal(fence_host(fence, "c2", on_fenced, f), 0);
    fence_free(fence);        /* kills and reaps both, no callback */
    assert_int_equal(f->done, 0);
    assert_true(vtime_mono_ns() - start < 5LL * 1000000000LL);
}

static void
test_http(void **state)
{
    struct fixture *f = *state;
    char url[160];
    struct fence_options o = {
        .mode = FENCE_HTTP, .url = url,
        .body = "{\"ResetType\": \"ForceOff\", \"Host\": \"{host}\"}",
        .header = "Authorization: Basic dmlnaWw6c2VjcmV0",
        .timeout_ms = 5000,
    };
    struct fence *fence;
    int error = 0;

    snprintf(url, sizeof url, "http://127.0.0.1:%u/redfish/v1/Systems/"
             "{host}/Actions/Reset", httpd_port(f->httpd));
    fence = fence_new(f->base, f->client, &o, &error);
    assert_non_null(fence);
    assert_int_equal(fence_get_mode(fence), FENCE_HTTP);
    assert_int_equal(fence_host(fence, "node-3", on_fenced, f), 0);
    wait_done(f, 1);
    assert_true(f->ok);
    assert_int_equal(f->http_status, 204);
    assert_string_equal(f->path, "/redfish/v1/Systems/node-3/Actions/Reset");
    assert_string_equal(f->body, "{\"ResetType\": \"ForceOff\", \"Host\": "
                        "\"node-3\"}");
    assert_string_equal(f->auth, "Basic dmlnaWw6c2VjcmV0");

    f->reply = 500;
    assert_int_equal(fence_host(fence, "node-4", on_fenced, f), 0);
    wait_done(f, 2);
    assert_false(f->ok);
    assert_int_equal(f->http_status, 500);
    assert_string_equal(f->error, "HTTP 500");
    /* An HTTP run still in flight at fence_free() ends unseen. */
    f->reply = 204;
    assert_int_equal(fence_host(fence, "node-5", on_fenced, f), 0);
    fence_free(fence);
    for (int i = 0; i < 50; i++) {
        event_base_loop(f->base, EVLOOP_NONBLOCK);
        usleep(2000);
    }
    assert_int_equal(f->done, 2);
}

static void
test_options_and_hosts(void **state)
{
    struct fixture *f = *state;
    struct fence_options o = { .mode = FENCE_COMMAND, .command = "true",
                               .timeout_ms = 100 };
    struct fence_options bad;
    struct fence *fence;
    enum fence_mode mode = FENCE_MODE_COUNT;
    int error = 0;
    char *s;

    bad = o;
    bad.command = "";
    assert_null(fence_new(f->base, NULL, &bad, &error));
    assert_int_equal(error, -EINVAL);
    bad = o;
    bad.timeout_ms = 0;
    assert_null(fence_new(f->base, NULL, &bad, &error));
    bad = o;
    bad.mode = FENCE_NONE;
    assert_null(fence_new(f->base, NULL, &bad, &error));
    bad = o;
    bad.mode = FENCE_HTTP;
    bad.url = "http://127.0.0.1:1/x";
    assert_null(fence_new(f->base, NULL, &bad, &error));   /* no client */
    bad.url = "file:///etc/passwd";
    assert_null(fence_new(f->base, f->client, &bad, &error));

    fence = fence_new(f->base, NULL, &o, &error);
    assert_non_null(fence);
    assert_int_equal(fence_host(fence, "", on_fenced, f), -EINVAL);
    assert_int_equal(fence_host(fence, "a;rm -rf /", on_fenced, f), -EINVAL);
    assert_int_equal(fence_host(fence, "a b", on_fenced, f), -EINVAL);
    assert_int_equal(fence_host(fence, NULL, on_fenced, f), -EINVAL);
    fence_free(fence);
    fence_free(NULL);

    assert_int_equal(fence_mode_from_string("HTTP", &mode), 0);
    assert_int_equal(mode, FENCE_HTTP);
    assert_int_equal(fence_mode_from_string("ipmi", &mode), -EINVAL);
    assert_string_equal(fence_mode_name(FENCE_COMMAND), "command");
    s = fence_expand("{host}/{host}-x{hos}", "h1");
    assert_string_equal(s, "h1/h1-x{hos}");
    free(s);
    s = fence_expand("", "h1");
    assert_string_equal(s, "");
    free(s);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_command_ok, setup, teardown),
        cmocka_unit_test_setup_teardown(test_command_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_command_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_free_while_running, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_http, setup, teardown),
        cmocka_unit_test_setup_teardown(test_options_and_hosts, setup,
                                        teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
