/* fence: fencing hook by command (posix_spawn + pidfd/SIGCHLD) or HTTP
 * (httpc) with a timeout (see fence.h).
 *
 * Each run is a 'struct fence_run' on the fencer's list. A command run
 * owns the child's pidfd and an event on it (or, without pidfd support,
 * waits for the fencer's SIGCHLD event to reap it with waitpid), plus a
 * timeout timer that kills the child's process group; the result is
 * reported when the child has been reaped. An HTTP run is one httpc
 * request whose total timeout is the fencing timeout; fence_free()
 * orphans it (its httpc callback only frees it). */
#include "fence.h"

#include <errno.h>
#include <event2/event.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "httpc.h"
#include "vtime.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

extern char **environ;

struct fence_run {
    struct fence *f;              /* NULL: orphaned HTTP run */
    struct fence_run *prev, *next;
    char host[FENCE_MAX_HOST_LENGTH + 1];
    bool http;
    pid_t pid;                    /* command */
    int pidfd;                    /* -1: reaped through SIGCHLD */
    struct event *exit_event;
    struct event *timer;
    bool timed_out;
    int64_t started_ns;
    fence_done_fn *done;
    void *arg;
};

struct fence {
    struct event_base *base;
    struct httpc *client;
    enum fence_mode mode;
    char *command;
    char *url;
    char *method;
    char *body;
    char *header;
    long timeout_ms;
    struct fence_run *runs;
    size_t running;
    struct event *sigchld;        /* only without pidfd support */
};

static const char *const fence_mode_names[FENCE_MODE_COUNT] = {
    [FENCE_NONE] = "none",
    [FENCE_COMMAND] = "command",
    [FENCE_HTTP] = "http",
};

int
fence_mode_from_string(const char *text, enum fence_mode *mode)
{
    for (int i = 0; text && i < FENCE_MODE_COUNT; i++) {
        if (!strcasecmp(text, fence_mode_names[i])) {
            *mode = (enum fence_mode) i;
            return 0;
        }
    }
    return -EINVAL;
}

const char *
fence_mode_name(enum fence_mode mode)
{
    return mode < FENCE_MODE_COUNT ? fence_mode_names[mode] : "?";
}

char *
fence_expand(const char *template, const char *host)
{
    static const char key[] = "{host}";
    size_t klen = sizeof key - 1, hlen = strlen(host), n = 0, size;
    const char *p;
    char *out, *q;

    for (p = strstr(template, key); p; p = strstr(p + klen, key)) {
        n++;
    }
    size = strlen(template) + n * hlen + 1;
    out = malloc(size);
    if (!out) {
        return NULL;
    }
    q = out;
    for (p = template; *p;) {
        if (!strncmp(p, key, klen)) {
            memcpy(q, host, hlen);
            q += hlen;
            p += klen;
        } else {
            *q++ = *p++;
        }
    }
    *q = '\0';
    return out;
}

static bool
fence_valid_host(const char *host)
{
    size_t n = 0;

    if (!host) {
        return false;
    }
    for (; host[n]; n++) {
        char c = host[n];

        if (n == FENCE_MAX_HOST_LENGTH
            || !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
                 || (c >= '0' && c <= '9') || c == '.' || c == '-'
                 || c == '_')) {
            return false;
        }
    }
    return n > 0;
}

/* ---- runs --------------------------------------------------------------- */

static void
fence_unlink(struct fence_run *run)
{
    struct fence *f = run->f;

    if (!f) {
        return;
    }
    if (run->prev) {
        run->prev->next = run->next;
    } else {
        f->runs = run->next;
    }
    if (run->next) {
        run->next->prev = run->prev;
    }
    run->prev = run->next = NULL;
    f->running--;
}

static void
fence_run_free(struct fence_run *run)
{
    if (!run) {
        return;
    }
    if (run->exit_event) {
        event_free(run->exit_event);
    }
    if (run->timer) {
        event_free(run->timer);
    }
    if (run->pidfd >= 0) {
        close(run->pidfd);
    }
    free(run);
}

static void
fence_link(struct fence *f, struct fence_run *run)
{
    run->f = f;
    run->next = f->runs;
    if (run->next) {
        run->next->prev = run;
    }
    f->runs = run;
    f->running++;
}

/* Reports a reaped command run and frees it. */
static void
fence_command_finished(struct fence_run *run, int code, int status)
{
    struct fence_result r = { .exit_status = -1 };
    char error[96];

    r.duration_ns = vtime_mono_ns() - run->started_ns;
    if (run->timed_out) {
        snprintf(error, sizeof error, "timed out after %ld ms",
                 run->f->timeout_ms);
        r.error = error;
    } else if (code == CLD_EXITED) {
        r.exit_status = status;
        r.ok = status == 0;
        if (!r.ok) {
            snprintf(error, sizeof error, "exit status %d", status);
            r.error = error;
        }
    } else {
        snprintf(error, sizeof error, "killed by signal %d", status);
        r.error = error;
    }
    fence_unlink(run);
    run->done(run->host, &r, run->arg);
    fence_run_free(run);
}

static void
fence_pidfd_event(evutil_socket_t fd, short what, void *arg)
{
    struct fence_run *run = arg;
    siginfo_t si;

    (void) what;
    memset(&si, 0, sizeof si);
    if (waitid((idtype_t) P_PIDFD, (id_t) fd, &si, WEXITED | WNOHANG)
        || si.si_pid == 0) {
        return;           /* not yet: the event stays armed */
    }
    fence_command_finished(run, si.si_code, si.si_status);
}

static void
fence_sigchld_event(evutil_socket_t fd, short what, void *arg)
{
    struct fence *f = arg;
    struct fence_run *run, *next;

    (void) fd;
    (void) what;
    for (run = f->runs; run; run = next) {
        int status;

        next = run->next;
        if (run->http || run->pidfd >= 0
            || waitpid(run->pid, &status, WNOHANG) != run->pid) {
            continue;
        }
        if (WIFEXITED(status)) {
            fence_command_finished(run, CLD_EXITED, WEXITSTATUS(status));
        } else {
            fence_command_finished(run, CLD_KILLED, WTERMSIG(status));
        }
    }
}

static void
fence_timeout_event(evutil_socket_t fd, short what, void *arg)
{
    struct fence_run *run = arg;

    (void) fd;
    (void) what;
    run->timed_out = true;
    kill(-run->pid, SIGKILL);
}

static int
fence_arm_timer(struct fence *f, struct fence_run *run)
{
    struct timeval tv = {
        .tv_sec = f->timeout_ms / 1000,
        .tv_usec = (f->timeout_ms % 1000) * 1000,
    };

    run->timer = evtimer_new(f->base, fence_timeout_event, run);
    if (!run->timer || evtimer_add(run->timer, &tv)) {
        return -ENOMEM;
    }
    return 0;
}

/* A copy of the environment plus VIGIL_FENCE_HOST=host (caller frees
 * both the array and its last-but-one string). */
static char **
fence_environment(const char *host, char **assignment)
{
    size_t n = 0;
    char **env;

    while (environ && environ[n]) {
        n++;
    }
    env = calloc(n + 2, sizeof *env);
    if (!env || asprintf(assignment, "VIGIL_FENCE_HOST=%s", host) < 0) {
        free(env);
        *assignment = NULL;
        return NULL;
    }
    n = 0;
    for (size_t i = 0; environ && environ[i]; i++) {
        if (strncmp(environ[i], "VIGIL_FENCE_HOST=", 17)) {
            env[n++] = environ[i];
        }
    }
    env[n] = *assignment;
    return env;
}

static int
fence_spawn(struct fence *f, struct fence_run *run)
{
    char *argv[] = { "/bin/sh", "-c", f->command, "vigil-fence", run->host,
                     NULL };
    posix_spawnattr_t attr;
    sigset_t none, defaults;
    char *assignment = NULL;
    char **env = NULL;
    bool attr_ready = false;
    int ret;

    env = fence_environment(run->host, &assignment);
    if (!env) {
        ret = -ENOMEM;
        goto out;
    }
    ret = -posix_spawnattr_init(&attr);
    if (ret) {
        goto out;
    }
    attr_ready = true;
    sigemptyset(&none);
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGPIPE);
    sigaddset(&defaults, SIGTERM);
    sigaddset(&defaults, SIGINT);
    sigaddset(&defaults, SIGCHLD);
    ret = -posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP
                                           | POSIX_SPAWN_SETSIGMASK
                                           | POSIX_SPAWN_SETSIGDEF);
    if (!ret) {
        ret = -posix_spawnattr_setpgroup(&attr, 0);
    }
    if (!ret) {
        ret = -posix_spawnattr_setsigmask(&attr, &none);
    }
    if (!ret) {
        ret = -posix_spawnattr_setsigdefault(&attr, &defaults);
    }
    if (!ret) {
        ret = -posix_spawn(&run->pid, "/bin/sh", NULL, &attr, argv, env);
    }
out:
    if (attr_ready) {
        posix_spawnattr_destroy(&attr);
    }
    free(env);
    free(assignment);
    return ret;
}

static int
fence_start_command(struct fence *f, struct fence_run *run)
{
    int ret = fence_spawn(f, run);

    if (ret) {
        return ret;
    }
    run->pidfd = (int) syscall(SYS_pidfd_open, run->pid, 0);
    if (run->pidfd >= 0) {
        run->exit_event = event_new(f->base, run->pidfd, EV_READ | EV_PERSIST,
                                    fence_pidfd_event, run);
        if (!run->exit_event || event_add(run->exit_event, NULL)) {
            ret = -ENOMEM;
        }
    } else if (!f->sigchld) {
        f->sigchld = evsignal_new(f->base, SIGCHLD, fence_sigchld_event, f);
        if (!f->sigchld || event_add(f->sigchld, NULL)) {
            ret = -ENOMEM;
        }
    }
    if (!ret && f->sigchld) {
        /* The child may have exited before the handler was there. */
        event_active(f->sigchld, EV_SIGNAL, 1);
    }
    if (!ret) {
        ret = fence_arm_timer(f, run);
    }
    if (ret) {
        /* Cannot watch it: do not leave it running. */
        kill(-run->pid, SIGKILL);
        waitpid(run->pid, NULL, 0);
    }
    return ret;
}

static void
fence_http_done(const struct httpc_response *resp, void *arg)
{
    struct fence_run *run = arg;
    struct fence_result r = { .exit_status = -1 };
    char error[160];

    if (!run->f) {
        fence_run_free(run);
        return;
    }
    r.http_status = resp->status;
    r.duration_ns = resp->completed_ns - resp->submitted_ns;
    if (resp->error) {
        snprintf(error, sizeof error, "%s", resp->error);
        r.error = error;
    } else if (resp->status < 200 || resp->status > 299) {
        snprintf(error, sizeof error, "HTTP %ld", resp->status);
        r.error = error;
    } else {
        r.ok = true;
    }
    fence_unlink(run);
    run->done(run->host, &r, run->arg);
    fence_run_free(run);
}

static int
fence_start_http(struct fence *f, struct fence_run *run)
{
    const char *headers[] = { f->header, NULL };
    char *url = fence_expand(f->url, run->host);
    char *body = f->body ? fence_expand(f->body, run->host) : NULL;
    struct httpc_request req = {
        .method = f->method,
        .url = url,
        .body = body,
        .body_size = body ? strlen(body) : 0,
        .headers = f->header ? headers : NULL,
        .timeout_ms = f->timeout_ms,
    };
    int ret = -ENOMEM;

    if (url && (body || !f->body)) {
        ret = httpc_submit(f->client, &req, fence_http_done, run);
    }
    free(url);
    free(body);
    return ret;
}

int
fence_host(struct fence *f, const char *host, fence_done_fn *done, void *arg)
{
    struct fence_run *run;
    int ret;

    if (!f || !done || !fence_valid_host(host)) {
        return -EINVAL;
    }
    if (f->running >= FENCE_MAX_RUNNING) {
        return -EBUSY;
    }
    run = calloc(1, sizeof *run);
    if (!run) {
        return -ENOMEM;
    }
    run->pidfd = -1;
    run->done = done;
    run->arg = arg;
    run->http = f->mode == FENCE_HTTP;
    run->started_ns = vtime_mono_ns();
    memcpy(run->host, host, strlen(host) + 1);
    run->f = f;
    ret = run->http ? fence_start_http(f, run) : fence_start_command(f, run);
    if (ret) {
        fence_run_free(run);
        return ret;
    }
    fence_link(f, run);
    return 0;
}

/* ---- life cycle --------------------------------------------------------- */

enum fence_mode
fence_get_mode(const struct fence *f)
{
    return f ? f->mode : FENCE_NONE;
}

static char *
fence_strdup(const char *s, bool *failed)
{
    char *copy;

    if (!s) {
        return NULL;
    }
    copy = strdup(s);
    if (!copy) {
        *failed = true;
    }
    return copy;
}

struct fence *
fence_new(struct event_base *base, struct httpc *client,
          const struct fence_options *o, int *error)
{
    struct fence *f = NULL, *result = NULL;
    bool failed = false;
    int ret = -EINVAL;

    if (!base || !o || o->timeout_ms <= 0
        || (o->mode == FENCE_COMMAND && (!o->command || !o->command[0]))
        || (o->mode == FENCE_HTTP
            && (!client || !o->url
                || (strncasecmp(o->url, "http://", 7)
                    && strncasecmp(o->url, "https://", 8))))
        || (o->mode != FENCE_COMMAND && o->mode != FENCE_HTTP)) {
        goto out;
    }
    ret = -ENOMEM;
    f = calloc(1, sizeof *f);
    if (!f) {
        goto out;
    }
    f->base = base;
    f->client = client;
    f->mode = o->mode;
    f->timeout_ms = o->timeout_ms;
    f->command = fence_strdup(o->command, &failed);
    f->url = fence_strdup(o->url, &failed);
    f->method = fence_strdup(o->method && o->method[0] ? o->method : "POST",
                             &failed);
    f->body = fence_strdup(o->body && o->body[0] ? o->body : NULL, &failed);
    f->header = fence_strdup(o->header && o->header[0] ? o->header : NULL,
                             &failed);
    if (failed) {
        goto out;
    }
    result = f;
    f = NULL;
    ret = 0;
out:
    fence_free(f);
    if (error) {
        *error = ret;
    }
    return result;
}

void
fence_free(struct fence *f)
{
    if (!f) {
        return;
    }
    while (f->runs) {
        struct fence_run *run = f->runs;

        fence_unlink(run);
        if (run->http) {
            run->f = NULL;           /* its httpc callback frees it */
            continue;
        }
        kill(-run->pid, SIGKILL);
        waitpid(run->pid, NULL, 0);
        fence_run_free(run);
    }
    if (f->sigchld) {
        event_free(f->sigchld);
    }
    free(f->command);
    free(f->url);
    free(f->method);
    free(f->body);
    free(f->header);
    free(f);
}
