/* Tests monitor/vmwatch against a real libvirtd running libvirt's test
 * driver, started by this test in a private directory (its own sockets, no
 * other driver loaded).
 *
 * A collecting callback stands in for the event sender (doctor_sender).
 * A second connection plays the operator: it defines and starts a domain, destroys and starts
 * the test driver's "test" domain, pauses and resumes it. Then libvirtd is
 * killed with SIGKILL and restarted: the test driver comes back in its
 * default state (only "test", running), so the watcher must reconnect and
 * report by reconciliation that "test" is up again and "extra" is gone.
 * Last, libvirtd is frozen with SIGSTOP: keepalive must notice.
 *
 * libvirtd is required: without it the test fails, naming what is missing.
 * It is killed at the end whatever happens (teardown, atexit, and
 * PR_SET_PDEATHSIG should the test itself be killed). */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/buffer.h>

#include "metrics.h"
#include "vmevent.h"
#include "vmwatch.h"
#include "vtime.h"

#define TEST_UUID "6695eb01-f6a4-8304-79aa-97f2502e193f"
#define EXTRA_UUID "00000000-aaaa-4bbb-8ccc-000000000001"
#define EXTRA_XML                                                   \
    "<domain type='test'><name>extra</name>"                        \
    "<uuid>" EXTRA_UUID "</uuid><memory>65536</memory>"             \
    "<os><type>hvm</type></os></domain>"
#define MAX_EVENTS 64
#define WAIT_MS 5000

/* What a test holds, released by teardown() even when the test fails. */
struct fixture {
    struct vmwatch *watch;
    virConnectPtr control;
    struct metrics_registry *metrics;
};

static char test_dir[64];
static char test_uri[256];
static pid_t libvirtd_pid = -1;

/* Collects what the watcher emits; stands in for the hand-off. */
struct collector {
    pthread_mutex_t mutex;
    pthread_cond_t cond;
    struct vmevent *events[MAX_EVENTS];
    size_t length;
};

static struct collector collected = {
    .mutex = PTHREAD_MUTEX_INITIALIZER,
    .cond = PTHREAD_COND_INITIALIZER,
};

static void
collect(struct vmevent *ev, void *arg)
{
    struct collector *c = arg;

    pthread_mutex_lock(&c->mutex);
    if (c->length < MAX_EVENTS) {
        c->events[c->length++] = ev;
        ev = NULL;
    }
    pthread_cond_broadcast(&c->cond);
    pthread_mutex_unlock(&c->mutex);
    free(ev);
}

static size_t
collected_length(void)
{
    size_t n;

    pthread_mutex_lock(&collected.mutex);
    n = collected.length;
    pthread_mutex_unlock(&collected.mutex);
    return n;
}

/* Waits up to WAIT_MS for event number 'index' (from 0). */
static const struct vmevent *
wait_event(size_t index)
{
    struct timespec deadline;
    const struct vmevent *ev = NULL;

    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += WAIT_MS / 1000;
    pthread_mutex_lock(&collected.mutex);
    while (collected.length <= index &&
           pthread_cond_timedwait(&collected.cond, &collected.mutex,
                                  &deadline) == 0) {
    }
    if (collected.length > index) {
        ev = collected.events[index];
    }
    pthread_mutex_unlock(&collected.mutex);
    if (!ev) {
        fail_msg("no event #%zu within %d ms (%zu collected)", index, WAIT_MS,
                 collected_length());
    }
    return ev;
}

static void
collector_clear(void)
{
    pthread_mutex_lock(&collected.mutex);
    for (size_t i = 0; i < collected.length; i++) {
        free(collected.events[i]);
    }
    collected.length = 0;
    pthread_mutex_unlock(&collected.mutex);
}

static void
assert_event(const struct vmevent *ev, enum vmevent_kind kind,
             const char *uuid, bool up, const char *event,
             const char *detail)
{
    if (ev->kind != kind || strcmp(ev->instance_uuid, uuid) ||
        ev->up != up || strcmp(ev->event, event) ||
        strcmp(ev->detail, detail)) {
        fail_msg("expected %s %s %s %s/%s, got %s %s %s %s/%s",
                 vmevent_kind_name(kind), uuid, up ? "up" : "down", event,
                 detail, vmevent_kind_name(ev->kind), ev->instance_uuid,
                 ev->up ? "up" : "down", ev->event, ev->detail);
    }
}

/* Finds libvirtd on PATH or in the usual sbin directories. */
static int
find_libvirtd(char *path, size_t size)
{
    static const char *const dirs[] = { "/usr/sbin", "/usr/local/sbin",
                                        "/sbin" };
    const char *env = getenv("PATH");
    char copy[4096];

    snprintf(copy, sizeof copy, "%s", env ? env : "");
    for (char *save = NULL, *d = strtok_r(copy, ":", &save); d;
         d = strtok_r(NULL, ":", &save)) {
        snprintf(path, size, "%s/libvirtd", d);
        if (access(path, X_OK) == 0) {
            return 0;
        }
    }
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        snprintf(path, size, "%s/libvirtd", dirs[i]);
        if (access(path, X_OK) == 0) {
            return 0;
        }
    }
    return -ENOENT;
}

static void
kill_libvirtd(int signo)
{
    if (libvirtd_pid > 0) {
        kill(libvirtd_pid, signo);
        if (signo == SIGKILL) {
            waitpid(libvirtd_pid, NULL, 0);
            libvirtd_pid = -1;
        }
    }
}

static void
kill_libvirtd_at_exit(void)
{
    kill_libvirtd(SIGKILL);
}

/* A connection to the test driver of our libvirtd, or NULL. */
static virConnectPtr
open_control(void)
{
    return virConnectOpen(test_uri);
}

/* Starts libvirtd in test_dir and waits until it answers; returns a
 * read-write connection to it (which also keeps the test driver's default
 * instance, and so its state, alive). */
static virConnectPtr
start_libvirtd(void)
{
    char exe[512], conf[128], pid_file[128], log[128], drv[128], run[128];
    int64_t deadline = vtime_mono_ns() + 10LL * 1000000000;
    virConnectPtr conn;
    FILE *f;

    if (find_libvirtd(exe, sizeof exe)) {
        fail_msg("libvirtd not found (looked on PATH and in /usr/sbin): this "
                 "test needs libvirt's daemon (Debian: apt-get install "
                 "libvirt-daemon-system)");
    }
    snprintf(conf, sizeof conf, "%s/libvirtd.conf", test_dir);
    snprintf(pid_file, sizeof pid_file, "%s/libvirtd.pid", test_dir);
    snprintf(log, sizeof log, "%s/libvirtd.log", test_dir);
    snprintf(drv, sizeof drv, "%s/drv", test_dir);
    snprintf(run, sizeof run, "%s/run", test_dir);
    mkdir(drv, 0700);
    mkdir(run, 0700);
    f = fopen(conf, "w");
    assert_non_null(f);
    fprintf(f, "unix_sock_dir = \"%s\"\nunix_sock_rw_perms = \"0777\"\n"
            "auth_unix_rw = \"none\"\nauth_unix_ro = \"none\"\n"
            "listen_tls = 0\nlisten_tcp = 0\nlog_outputs = \"3:stderr\"\n",
            run);
    assert_int_equal(fclose(f), 0);

    libvirtd_pid = fork();
    assert_true(libvirtd_pid >= 0);
    if (libvirtd_pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);

        /* Dies with the test, whatever kills the test. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (fd >= 0) {
            dup2(fd, STDOUT_FILENO);
            dup2(fd, STDERR_FILENO);
        }
        /* No loadable drivers: only the built-in test driver. */
        setenv("LIBVIRT_DRIVER_DIR", drv, 1);
        setenv("XDG_RUNTIME_DIR", run, 1);
        execl(exe, exe, "--config", conf, "--pid-file", pid_file,
              (char *) NULL);
        _exit(127);
    }
    for (;;) {
        int status;

        conn = open_control();
        if (conn) {
            return conn;
        }
        if (waitpid(libvirtd_pid, &status, WNOHANG) == libvirtd_pid) {
            libvirtd_pid = -1;
            fail_msg("%s exited (status %d) before answering; see %s", exe,
                     status, log);
        }
        if (vtime_mono_ns() > deadline) {
            fail_msg("%s did not answer on %s within 10 s; see %s", exe,
                     test_uri, log);
        }
        usleep(10000);
    }
}

/* Waits until 'done(stats)' holds, up to 'ms'. */
static void
wait_stats(struct vmwatch *w, bool (*done)(const struct vmwatch_stats *),
           int ms, const char *what)
{
    int64_t deadline = vtime_mono_ns() + (int64_t) ms * 1000000;
    struct vmwatch_stats s;

    for (;;) {
        vmwatch_get_stats(w, &s);
        if (done(&s)) {
            return;
        }
        if (vtime_mono_ns() > deadline) {
            fail_msg("timed out after %d ms waiting for %s (connected %d, "
                     "connects %llu, losses %llu, reconciles %llu)", ms, what,
                     s.connected, (unsigned long long) s.connects,
                     (unsigned long long) s.losses,
                     (unsigned long long) s.reconciles);
        }
        usleep(5000);
    }
}

static bool
three_received(const struct vmwatch_stats *s)
{
    return s->received == 3;
}

static bool
first_connect(const struct vmwatch_stats *s)
{
    return s->connected && s->connects == 1;
}

static bool
one_loss(const struct vmwatch_stats *s)
{
    return s->losses == 1 && !s->connected;
}

static bool
one_reconcile(const struct vmwatch_stats *s)
{
    return s->reconciles == 1 && s->connected;
}

static bool
two_losses(const struct vmwatch_stats *s)
{
    return s->losses == 2 && !s->connected;
}

static bool
two_reconciles(const struct vmwatch_stats *s)
{
    return s->reconciles == 2 && s->connected;
}

/* The rendered value of the series 'series' ("name{labels}") or -1. */
static long long
metric_value(struct metrics_registry *reg, const char *series)
{
    struct evbuffer *out = evbuffer_new();
    char *text, *line;
    long long value = -1;
    size_t n;

    assert_non_null(out);
    assert_int_equal(metrics_render(reg, out), 0);
    n = evbuffer_get_length(out);
    text = calloc(1, n + 1);
    assert_non_null(text);
    evbuffer_remove(out, text, n);
    for (char *save = NULL, *l = strtok_r(text, "\n", &save); l;
         l = strtok_r(NULL, "\n", &save)) {
        line = l;
        if (!strncmp(line, series, strlen(series)) &&
            line[strlen(series)] == ' ') {
            value = atoll(line + strlen(series) + 1);
        }
    }
    free(text);
    evbuffer_free(out);
    return value;
}

static virDomainPtr
lookup(virConnectPtr conn, const char *uuid)
{
    virDomainPtr dom = virDomainLookupByUUIDString(conn, uuid);

    if (!dom) {
        fail_msg("domain %s not found: %s", uuid, virGetLastErrorMessage());
    }
    return dom;
}

static void
test_events_reconnect_reconcile(void **state)
{
    struct fixture *fx = *state;
    struct metrics_registry *reg = fx->metrics;
    struct vmwatch_options options = {
        .uri = test_uri,
        .read_only = true,
        .keepalive_interval_s = 1,
        .keepalive_count = 1,
        .reconnect_initial_ms = 50,
        .reconnect_max_ms = 400,
        .kinds = VMEVENT_KINDS_ALL,
        .metrics = reg,
    };
    struct vmwatch_stats stats;
    const struct vmevent *ev;
    virConnectPtr control;
    virDomainPtr test, extra;
    struct vmwatch *w;
    int64_t before, after;
    int error = 0;

    control = fx->control = start_libvirtd();
    w = fx->watch = vmwatch_new(&options, collect, &collected, &error);
    assert_non_null(w);
    assert_int_equal(vmwatch_start(w), 0);
    wait_stats(w, first_connect, WAIT_MS, "the first connection");
    assert_int_equal(metric_value(reg, "vigil_monitor_libvirt_connected"), 1);

    /* The first connection only records: "test" runs, nothing reported. */
    assert_int_equal(collected_length(), 0);

    /* A new domain, defined then started: a recovery (DEFINED alone is
     * not reported). */
    extra = virDomainDefineXML(control, EXTRA_XML);
    assert_non_null(extra);
    assert_int_equal(virDomainCreate(extra), 0);
    ev = wait_event(0);
    assert_event(ev, VMEVENT_LIFECYCLE, EXTRA_UUID, true, "STARTED",
                 "BOOTED");
    assert_string_equal(ev->instance_name, "extra");

    /* Destroy "test": a fault, stamped in the callback. */
    test = lookup(control, TEST_UUID);
    before = vtime_mono_ns();
    assert_int_equal(virDomainDestroy(test), 0);
    ev = wait_event(1);
    after = vtime_mono_ns();
    assert_event(ev, VMEVENT_LIFECYCLE, TEST_UUID, false, "STOPPED",
                 "DESTROYED");
    assert_string_equal(ev->instance_name, "test");
    assert_true(ev->detected_ns >= before && ev->detected_ns <= after);
    assert_true(ev->time_ns > 0);

    /* Start it again: a recovery. */
    assert_int_equal(virDomainCreate(test), 0);
    assert_event(wait_event(2), VMEVENT_LIFECYCLE, TEST_UUID, true,
                 "STARTED", "BOOTED");

    /* An operator's pause and resume are not reported: the next event is
     * the destroy that follows them. */
    assert_int_equal(virDomainSuspend(test), 0);
    assert_int_equal(virDomainResume(test), 0);
    assert_int_equal(virDomainDestroy(test), 0);
    assert_event(wait_event(3), VMEVENT_LIFECYCLE, TEST_UUID, false,
                 "STOPPED", "DESTROYED");

    /* libvirtd dies. */
    virDomainFree(test);
    virDomainFree(extra);
    virConnectClose(control);
    fx->control = NULL;
    kill_libvirtd(SIGKILL);
    wait_stats(w, one_loss, WAIT_MS, "the loss of the connection");
    vmwatch_get_stats(w, &stats);
    assert_int_equal(stats.close_reason, VIR_CONNECT_CLOSE_REASON_EOF);
    assert_int_equal(metric_value(reg, "vigil_monitor_libvirt_connected"), 0);

    /* It comes back in the test driver's default state: "test" running,
     * "extra" unknown. */
    usleep(200000);
    control = fx->control = start_libvirtd();
    wait_stats(w, one_reconcile, WAIT_MS, "the reconnection");
    assert_int_equal(collected_length(), 6);
    /* In UUID order: extra (0000...) first. */
    ev = wait_event(4);
    assert_event(ev, VMEVENT_RECONCILE, EXTRA_UUID, false, "RECONCILE",
                 "UNDEFINED");
    assert_string_equal(ev->instance_name, "extra");
    ev = wait_event(5);
    assert_event(ev, VMEVENT_RECONCILE, TEST_UUID, true, "RECONCILE",
                 "UNKNOWN");
    assert_string_equal(ev->state, "RUNNING");
    assert_int_equal(metric_value(reg,
                                  "vigil_monitor_libvirt_reconnects_total"),
                     1);

    /* Events flow on the new connection. */
    test = lookup(control, TEST_UUID);
    assert_int_equal(virDomainDestroy(test), 0);
    assert_event(wait_event(6), VMEVENT_LIFECYCLE, TEST_UUID, false,
                 "STOPPED", "DESTROYED");

    /* A frozen libvirtd: keepalive (1 s, 1 probe) drops the connection,
     * which comes back once libvirtd thaws. Nothing changed meanwhile. */
    kill_libvirtd(SIGSTOP);
    wait_stats(w, two_losses, 4000, "the keepalive timeout");
    vmwatch_get_stats(w, &stats);
    assert_int_equal(stats.close_reason, VIR_CONNECT_CLOSE_REASON_KEEPALIVE);
    kill_libvirtd(SIGCONT);
    wait_stats(w, two_reconciles, WAIT_MS, "the reconnection after a thaw");
    assert_int_equal(collected_length(), 7);

    assert_int_equal(metric_value(reg, "vigil_monitor_libvirt_connected"), 1);
    assert_int_equal(metric_value(reg,
                                  "vigil_monitor_libvirt_reconnects_total"),
                     2);
    assert_int_equal(metric_value(
                         reg, "vigil_monitor_events_detected_total"
                              "{kind=\"lifecycle\"}"), 5);
    assert_int_equal(metric_value(
                         reg, "vigil_monitor_events_detected_total"
                              "{kind=\"reconcile\"}"), 2);
    vmwatch_get_stats(w, &stats);
    assert_int_equal(stats.emitted, 7);
    assert_int_equal(stats.connects, 3);

    virDomainFree(test);
}

/* A filter without lifecycle events reports none, but still tracks the
 * states, so reconciliation stays right. */
static void
test_filter(void **state)
{
    struct vmwatch_options options = {
        .uri = test_uri,
        .read_only = true,
        .keepalive_interval_s = 0,
        .reconnect_initial_ms = 20,
        .reconnect_max_ms = 100,
        .kinds = 1u << VMEVENT_RECONCILE,
    };
    struct fixture *fx = *state;
    virConnectPtr control;
    virDomainPtr test;
    struct vmwatch *w;

    control = fx->control = start_libvirtd();
    w = fx->watch = vmwatch_new(&options, collect, &collected, NULL);
    assert_non_null(w);
    assert_int_equal(vmwatch_start(w), 0);
    wait_stats(w, first_connect, WAIT_MS, "the first connection");
    test = lookup(control, TEST_UUID);
    assert_int_equal(virDomainDestroy(test), 0);
    assert_int_equal(virDomainCreate(test), 0);
    assert_int_equal(virDomainDestroy(test), 0);
    virDomainFree(test);
    virConnectClose(control);
    fx->control = NULL;
    wait_stats(w, three_received, WAIT_MS, "three lifecycle events");
    /* "test" is known to be stopped; the restarted daemon runs it. */
    kill_libvirtd(SIGKILL);
    wait_stats(w, one_loss, WAIT_MS, "the loss of the connection");
    fx->control = start_libvirtd();
    wait_stats(w, one_reconcile, WAIT_MS, "the reconnection");
    assert_int_equal(collected_length(), 1);
    assert_event(wait_event(0), VMEVENT_RECONCILE, TEST_UUID, true,
                 "RECONCILE", "UNKNOWN");
}

static void
test_bad_options(void **state)
{
    struct vmwatch_options options = {
        .uri = "test:///default",
        .reconnect_initial_ms = 100,
        .reconnect_max_ms = 50,
        .kinds = VMEVENT_KINDS_ALL,
    };
    int error = 0;

    (void) state;
    assert_null(vmwatch_new(&options, collect, &collected, &error));
    assert_int_equal(error, -EINVAL);
    options.reconnect_max_ms = 100;
    options.kinds = 1u << VMEVENT_KIND_COUNT;
    assert_null(vmwatch_new(&options, collect, &collected, &error));
    options.kinds = VMEVENT_KINDS_ALL;
    options.reconnect_initial_ms = 0;
    assert_null(vmwatch_new(&options, collect, &collected, &error));
    options.reconnect_initial_ms = 100;
    assert_null(vmwatch_new(&options, NULL, NULL, &error));
    options.uri = NULL;
    assert_null(vmwatch_new(&options, collect, &collected, &error));
    vmwatch_free(NULL);
}

static int
remove_entry(const char *path, const struct stat *sb, int type,
             struct FTW *ftw)
{
    (void) sb;
    (void) type;
    (void) ftw;
    return remove(path);
}

static int
setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof *fx);

    if (!fx) {
        return -1;
    }
    fx->metrics = metrics_registry_new();
    *state = fx;
    if (!fx->metrics) {
        return -1;
    }
    snprintf(test_dir, sizeof test_dir, "/tmp/vigil-test-monitor.XXXXXX");
    if (!mkdtemp(test_dir)) {
        return -1;
    }
    snprintf(test_uri, sizeof test_uri,
             "test+unix:///default?socket=%s/run/libvirt-sock", test_dir);
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *fx = *state;

    kill_libvirtd(SIGCONT);
    /* The watcher first: it stops retrying, and its thread is joined. */
    vmwatch_free(fx->watch);
    if (fx->control) {
        virConnectClose(fx->control);
    }
    kill_libvirtd(SIGKILL);
    metrics_registry_free(fx->metrics);
    free(fx);
    collector_clear();
    nftw(test_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    return 0;
}

/* The test's own connection attempts fail while libvirtd starts up; keep
 * libvirt from printing each one. */
static void
quiet_error(void *arg, virErrorPtr error)
{
    (void) arg;
    (void) error;
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_options),
        cmocka_unit_test_setup_teardown(test_events_reconnect_reconcile,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_filter, setup, teardown),
    };

    virSetErrorFunc(NULL, quiet_error);
    atexit(kill_libvirtd_at_exit);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
