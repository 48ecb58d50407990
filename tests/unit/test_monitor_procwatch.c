/* Unit tests for monitor/procwatch with real processes: the test forks
 * children that name themselves (prctl(PR_SET_NAME), so their comm is a
 * name unique to this test run) and block on a pipe; a byte on the pipe
 * makes one exit with that code, SIGKILL kills it. Checked: the parser of
 * [procwatch] processes, the name matching rules, a death reported with
 * its exit code or signal, a second instance keeping the process up, a
 * process found again through the proc connector (comm events; skipped
 * without CAP_NET_ADMIN) and through an inotify-watched pidfile, a stale
 * pidfile ignored, a process absent at start not reported. */
#include <errno.h>
#include <event2/event.h>
#include <jansson.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "doctor_event.h"
#include "procwatch.h"
#include "vlog.h"
#include "vtime.h"

#define MS 1000000LL
#define WAIT_MS 5000
#define MAX_CAPTURED 16
#define MAX_CHILDREN 8

struct captured {
    char type[DOCTOR_TYPE_SIZE];
    json_t *details;
};

struct child {
    pid_t pid;
    int fd;                          /* write end of its pipe */
};

struct fixture {
    struct event_base *base;
    struct event *tick;
    struct procwatch *pw;
    struct captured events[MAX_CAPTURED];
    size_t length;
    struct child children[MAX_CHILDREN];
    char name[16], other[16];        /* comm names unique to this run */
    char dir[64];
    char pidfile[128];
};

static void
on_event(const struct doctor_event *ev, void *arg)
{
    struct fixture *f = arg;
    struct captured *e;

    assert_true(f->length < MAX_CAPTURED);
    assert_string_equal(ev->hostname, "compute-proc");
    assert_true(ev->stamps[DOCTOR_T01] > 0);
    e = &f->events[f->length++];
    snprintf(e->type, sizeof e->type, "%s", ev->type);
    e->details = json_deep_copy(ev->details);
    assert_non_null(e->details);
}

static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
    (void) fd;
    (void) what;
    (void) arg;
}

static void
wait_events(struct fixture *f, size_t count)
{
    int64_t deadline = vtime_mono_ns() + WAIT_MS * MS;

    while (f->length < count) {
        assert_true(vtime_mono_ns() < deadline);
        event_base_loop(f->base, EVLOOP_ONCE);
    }
}

static void
run_for(struct fixture *f, int64_t ms)
{
    int64_t deadline = vtime_mono_ns() + ms * MS;

    while (vtime_mono_ns() < deadline) {
        event_base_loop(f->base, EVLOOP_ONCE);
    }
}

static bool
comm_is(pid_t pid, const char *name)
{
    char path[64], comm[32] = "";
    FILE *file;
    bool same;

    snprintf(path, sizeof path, "/proc/%d/comm", (int) pid);
    file = fopen(path, "r");
    if (!file) {
        return false;
    }
    same = fgets(comm, sizeof comm, file) && !strncmp(comm, name,
                                                      strlen(name)) &&
           comm[strlen(name)] == '\n';
    fclose(file);
    return same;
}

/* Forks a child named 'name' that exits with the byte written to its
 * pipe; returns its slot once its comm is 'name'. */
static struct child *
spawn(struct fixture *f, const char *name)
{
    struct child *c = NULL;
    int fds[2];
    int64_t deadline = vtime_mono_ns() + WAIT_MS * MS;

    for (int i = 0; i < MAX_CHILDREN; i++) {
        if (f->children[i].pid == 0) {
            c = &f->children[i];
            break;
        }
    }
    assert_non_null(c);
    assert_int_equal(pipe(fds), 0);
    c->pid = fork();
    assert_true(c->pid >= 0);
    if (c->pid == 0) {
        unsigned char code = 0;

        close(fds[1]);
        prctl(PR_SET_NAME, name, 0, 0, 0);
        if (read(fds[0], &code, 1) != 1) {
            code = 0;
        }
        _exit(code);
    }
    close(fds[0]);
    c->fd = fds[1];
    while (!comm_is(c->pid, name)) {
        assert_true(vtime_mono_ns() < deadline);
        usleep(1000);
    }
    return c;
}

static void
reap(struct child *c)
{
    if (c->pid > 0) {
        waitpid(c->pid, NULL, 0);
    }
    if (c->fd >= 0) {
        close(c->fd);
    }
    c->pid = 0;
    c->fd = -1;
}

/* Makes 'c' exit with 'code' (the caller reaps it after the event). */
static void
finish(struct child *c, unsigned char code)
{
    assert_int_equal(write(c->fd, &code, 1), 1);
}

static json_int_t
detail_int(const struct captured *e, const char *key)
{
    json_t *v = json_object_get(e->details, key);

    assert_true(json_is_integer(v));
    return json_integer_value(v);
}

static const char *
detail_string(const struct captured *e, const char *key)
{
    const char *v = json_string_value(json_object_get(e->details, key));

    assert_non_null(v);
    return v;
}

static void
start(struct fixture *f, const char *text)
{
    struct procwatch_spec specs[PROCWATCH_MAX_PROCESSES];
    struct procwatch_options o = { .hostname = "compute-proc",
                                   .specs = specs };
    char err[256];
    int ret = 0;

    assert_int_equal(procwatch_parse(text, specs, PROCWATCH_MAX_PROCESSES,
                                     &o.specs_length, err, sizeof err), 0);
    f->pw = procwatch_new(f->base, &o, on_event, f, &ret);
    assert_int_equal(ret, 0);
    assert_non_null(f->pw);
}

static int
setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    struct timeval tick = { 0, 10000 };

    assert_non_null(f);
    for (int i = 0; i < MAX_CHILDREN; i++) {
        f->children[i].fd = -1;
    }
    snprintf(f->name, sizeof f->name, "vgtp%d", (int) getpid());
    snprintf(f->other, sizeof f->other, "vgtq%d", (int) getpid());
    snprintf(f->dir, sizeof f->dir, "/tmp/vigil-procwatch-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->pidfile, sizeof f->pidfile, "%s/test.pid", f->dir);
    f->base = event_base_new();
    assert_non_null(f->base);
    f->tick = event_new(f->base, -1, EV_PERSIST, on_tick, NULL);
    assert_non_null(f->tick);
    assert_int_equal(event_add(f->tick, &tick), 0);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *f = *state;

    procwatch_free(f->pw);
    for (int i = 0; i < MAX_CHILDREN; i++) {
        if (f->children[i].pid > 0) {
            kill(f->children[i].pid, SIGKILL);
            reap(&f->children[i]);
        }
    }
    for (size_t i = 0; i < f->length; i++) {
        json_decref(f->events[i].details);
    }
    unlink(f->pidfile);
    rmdir(f->dir);
    event_free(f->tick);
    event_base_free(f->base);
    free(f);
    return 0;
}

static void
test_parse(void **state)
{
    struct procwatch_spec specs[4];
    size_t length = 99;
    char err[256];

    (void) state;
    assert_int_equal(procwatch_parse(" nova-compute , libvirtd:/run/"
                                     "libvirtd.pid ", specs, 4, &length,
                                     err, sizeof err), 0);
    assert_int_equal(length, 2);
    assert_string_equal(specs[0].name, "nova-compute");
    assert_string_equal(specs[0].pidfile, "");
    assert_string_equal(specs[1].name, "libvirtd");
    assert_string_equal(specs[1].pidfile, "/run/libvirtd.pid");
    assert_int_equal(procwatch_parse("  ", specs, 4, &length, err,
                                     sizeof err), 0);
    assert_int_equal(length, 0);
    length = 99;
    assert_int_equal(procwatch_parse("a,,b", specs, 4, &length, err,
                                     sizeof err), -EINVAL);
    assert_non_null(strstr(err, "empty"));
    assert_int_equal(procwatch_parse("a,", specs, 4, &length, err,
                                     sizeof err), -EINVAL);
    assert_int_equal(procwatch_parse("a:relative.pid", specs, 4, &length,
                                     err, sizeof err), -EINVAL);
    assert_non_null(strstr(err, "absolute"));
    assert_int_equal(procwatch_parse("a b", specs, 4, &length, err,
                                     sizeof err), -EINVAL);
    assert_int_equal(procwatch_parse("a,b,a", specs, 4, &length, err,
                                     sizeof err), -EINVAL);
    assert_non_null(strstr(err, "twice"));
    assert_int_equal(procwatch_parse("a,b,c,d,e", specs, 4, &length, err,
                                     sizeof err), -EINVAL);
    assert_int_equal(procwatch_parse(":/x.pid", specs, 4, &length, err,
                                     sizeof err), -EINVAL);
    assert_int_equal(length, 99);
}

static void
test_match(void **state)
{
    static const char python[] = "/usr/bin/python3\0-u\0/usr/bin/nova-"
                                 "compute\0--config-file\0/etc/nova.conf";
    static const char direct[] = "/usr/sbin/libvirtd\0--timeout\0120";
    static const char long_name[] = "/opt/bin/a-very-long-daemon-name";
    static const char unterminated[] = { 'l', 'i', 'b', 'v' };

    (void) state;
    assert_true(procwatch_match("libvirtd", "libvirtd", NULL, 0));
    assert_true(procwatch_match("libvirtd", "rpc-worker", direct,
                                sizeof direct));
    assert_true(procwatch_match("nova-compute", "python3", python,
                                sizeof python));
    assert_false(procwatch_match("nova-api", "python3", python,
                                 sizeof python));
    /* comm holds 15 bytes: a longer name matches through argv only. */
    assert_false(procwatch_match("a-very-long-daemon-name",
                                 "a-very-long-dae", NULL, 0));
    assert_true(procwatch_match("a-very-long-daemon-name", "a-very-long-dae",
                                long_name, sizeof long_name));
    assert_false(procwatch_match("libvirtd", "sleep", "sleep\0libvirtd",
                                 15));
    assert_false(procwatch_match("libv", "x", unterminated,
                                 sizeof unterminated));
    assert_false(procwatch_match("libvirtd", "libvirtd2", "", 0));
}

static void
test_death_and_return_by_name(void **state)
{
    struct fixture *f = *state;
    struct procwatch_stats stats;
    struct child *a, *b;
    size_t count = 0;
    pid_t pid = 0;

    a = spawn(f, f->name);
    start(f, f->name);
    assert_int_equal(procwatch_running(f->pw, f->name, &count, &pid), 0);
    assert_int_equal(count, 1);
    assert_int_equal(pid, a->pid);
    assert_int_equal(procwatch_running(f->pw, "nobody", &count, NULL),
                     -ENOENT);

    /* It exits with 3. */
    finish(a, 3);
    wait_events(f, 1);
    assert_string_equal(f->events[0].type, "compute.host.process.down");
    assert_string_equal(detail_string(&f->events[0], "status"), "down");
    assert_string_equal(detail_string(&f->events[0], "process"), f->name);
    assert_int_equal(detail_int(&f->events[0], "pid"), a->pid);
    assert_int_equal(detail_int(&f->events[0], "exit_code"), 3);
    assert_null(json_object_get(f->events[0].details, "signal"));
    reap(a);
    assert_int_equal(procwatch_running(f->pw, f->name, &count, &pid), 0);
    assert_int_equal(count, 0);

    procwatch_get_stats(f->pw, &stats);
    if (!stats.connector) {
        skip();           /* no CAP_NET_ADMIN: nothing finds it again */
    }
    /* It comes back (a comm event): up, with its new pid. */
    b = spawn(f, f->name);
    wait_events(f, 2);
    assert_string_equal(f->events[1].type, "compute.host.process.up");
    assert_string_equal(detail_string(&f->events[1], "status"), "up");
    assert_int_equal(detail_int(&f->events[1], "pid"), b->pid);
    /* Killed: the signal is named. */
    assert_int_equal(kill(b->pid, SIGKILL), 0);
    wait_events(f, 3);
    assert_string_equal(f->events[2].type, "compute.host.process.down");
    assert_string_equal(detail_string(&f->events[2], "signal"), "SIGKILL");
    assert_true(json_is_false(json_object_get(f->events[2].details,
                                              "core_dumped")));
    assert_null(json_object_get(f->events[2].details, "exit_code"));
    reap(b);
    procwatch_get_stats(f->pw, &stats);
    assert_true(stats.downs == 2 && stats.ups == 1 && stats.exits == 2);
    assert_true(stats.execs >= 1);
}

static void
test_second_instance_keeps_it_up(void **state)
{
    struct fixture *f = *state;
    struct child *a, *b;
    size_t count = 0;

    a = spawn(f, f->name);
    b = spawn(f, f->name);
    start(f, f->name);
    assert_int_equal(procwatch_running(f->pw, f->name, &count, NULL), 0);
    assert_int_equal(count, 2);
    finish(a, 0);
    run_for(f, 100);
    assert_int_equal(f->length, 0);
    assert_int_equal(procwatch_running(f->pw, f->name, &count, NULL), 0);
    assert_int_equal(count, 1);
    reap(a);
    finish(b, 0);
    wait_events(f, 1);
    assert_string_equal(f->events[0].type, "compute.host.process.down");
    assert_int_equal(detail_int(&f->events[0], "pid"), b->pid);
    assert_int_equal(detail_int(&f->events[0], "exit_code"), 0);
    reap(b);
}

static void
write_pidfile(const char *path, pid_t pid)
{
    char tmp[160];
    FILE *file;

    /* Written aside and renamed, as daemons do. */
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    file = fopen(tmp, "w");
    assert_non_null(file);
    fprintf(file, "%d\n", (int) pid);
    assert_int_equal(fclose(file), 0);
    assert_int_equal(rename(tmp, path), 0);
}

static void
test_pidfile(void **state)
{
    struct fixture *f = *state;
    char text[200];
    struct child *a, *b, *stranger;
    size_t count = 0;
    pid_t pid = 0;

    /* Another process of the same name is not the one in the pidfile. */
    stranger = spawn(f, f->other);
    a = spawn(f, f->other);
    write_pidfile(f->pidfile, a->pid);
    snprintf(text, sizeof text, "%s:%s", f->other, f->pidfile);
    start(f, text);
    assert_int_equal(procwatch_running(f->pw, f->other, &count, &pid), 0);
    assert_int_equal(count, 1);
    assert_int_equal(pid, a->pid);
    assert_int_equal(kill(a->pid, SIGKILL), 0);
    wait_events(f, 1);
    assert_string_equal(f->events[0].type, "compute.host.process.down");
    assert_string_equal(detail_string(&f->events[0], "pidfile"), f->pidfile);
    assert_int_equal(detail_int(&f->events[0], "pid"), a->pid);
    assert_string_equal(detail_string(&f->events[0], "signal"), "SIGKILL");
    reap(a);
    /* The stranger was never watched. */
    assert_int_equal(procwatch_running(f->pw, f->other, &count, NULL), 0);
    assert_int_equal(count, 0);

    /* A pidfile naming a process that is not ours is ignored... */
    b = spawn(f, f->name);
    write_pidfile(f->pidfile, b->pid);
    run_for(f, 100);
    assert_int_equal(f->length, 1);
    /* ...one naming the restarted process is not. */
    finish(stranger, 0);
    reap(stranger);
    stranger = spawn(f, f->other);
    write_pidfile(f->pidfile, stranger->pid);
    wait_events(f, 2);
    assert_string_equal(f->events[1].type, "compute.host.process.up");
    assert_int_equal(detail_int(&f->events[1], "pid"), stranger->pid);
    finish(b, 0);
}

static void
test_absent_at_start_not_reported(void **state)
{
    struct fixture *f = *state;
    struct procwatch_stats stats;
    struct child *a;
    size_t count = 1;

    start(f, f->name);
    assert_int_equal(procwatch_running(f->pw, f->name, &count, NULL), 0);
    assert_int_equal(count, 0);
    run_for(f, 50);
    assert_int_equal(f->length, 0);
    procwatch_get_stats(f->pw, &stats);
    if (!stats.connector) {
        skip();
    }
    /* It appears: watched, but not a recovery (no fault was reported). */
    a = spawn(f, f->name);
    run_for(f, 100);
    assert_int_equal(procwatch_running(f->pw, f->name, &count, NULL), 0);
    assert_int_equal(count, 1);
    assert_int_equal(f->length, 0);
    finish(a, 0);
    wait_events(f, 1);
    assert_string_equal(f->events[0].type, "compute.host.process.down");
}

static void
test_options_checked(void **state)
{
    struct fixture *f = *state;
    struct procwatch_spec spec = { .name = "bad name" };
    struct procwatch_options o = { .hostname = "compute-proc",
                                   .specs = &spec, .specs_length = 1 };
    int err = 0;

    assert_null(procwatch_new(f->base, &o, on_event, f, &err));
    assert_int_equal(err, -EINVAL);
    snprintf(spec.name, sizeof spec.name, "ok");
    snprintf(spec.pidfile, sizeof spec.pidfile, "relative");
    assert_null(procwatch_new(f->base, &o, on_event, f, &err));
    assert_int_equal(err, -EINVAL);
    o.specs_length = 0;
    assert_null(procwatch_new(f->base, &o, on_event, f, &err));
    assert_int_equal(err, -EINVAL);
    procwatch_free(NULL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_match),
        cmocka_unit_test_setup_teardown(test_death_and_return_by_name, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_second_instance_keeps_it_up,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_pidfile, setup, teardown),
        cmocka_unit_test_setup_teardown(test_absent_at_start_not_reported,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_options_checked, setup,
                                        teardown),
    };

    vlog_init("test_monitor_procwatch", VLOG_LEVEL_ERR);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
