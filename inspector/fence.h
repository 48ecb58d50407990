/* fence: the inspector's fencing hook, run for a failed compute host
 * before Nova is told it is down, so that a host that is only cut off
 * cannot keep running VMs that Nova (or a VNFM) starts elsewhere.
 *
 * Two kinds, chosen by configuration:
 *
 *  - command: "/bin/sh -c COMMAND vigil-fence HOST" started with
 *    posix_spawn in its own process group, with VIGIL_FENCE_HOST=HOST in
 *    its environment (e.g. an ipmitool or fence_* agent wrapper). It
 *    succeeds when it exits 0 within the timeout; on timeout its whole
 *    process group is killed. The exit is seen on the event loop through
 *    a pidfd (or, where the kernel has none, SIGCHLD), never by polling;
 *  - http: one HTTP request on the shared httpc (e.g. Redfish
 *    POST /redfish/v1/Systems/1/Actions/ComputerSystem.Reset with
 *    {"ResetType": "ForceOff"}); "{host}" in the URL and body is replaced
 *    by the host name. It succeeds on a 2xx within the timeout.
 *
 * Not thread-safe: one loop. */
#ifndef VIGIL_INSPECTOR_FENCE_H
#define VIGIL_INSPECTOR_FENCE_H

#include <stdbool.h>
#include <stdint.h>

struct event_base;
struct fence;
struct httpc;

#define FENCE_MAX_HOST_LENGTH 255
#define FENCE_MAX_RUNNING 1024

enum fence_mode {
    FENCE_NONE,
    FENCE_COMMAND,
    FENCE_HTTP,
    FENCE_MODE_COUNT
};

/* "none", "command", "http" <-> the mode. 0 or -EINVAL. */
int fence_mode_from_string(const char *text, enum fence_mode *mode);
const char *fence_mode_name(enum fence_mode mode);

struct fence_options {
    enum fence_mode mode;
    const char *command;          /* FENCE_COMMAND: shell command */
    const char *url;              /* FENCE_HTTP: http(s) URL, "{host}" */
    const char *method;           /* FENCE_HTTP: NULL or "": "POST" */
    const char *body;             /* FENCE_HTTP: NULL: none; "{host}" */
    const char *header;           /* FENCE_HTTP: one "Name: value" header
                                   * (e.g. Authorization), NULL: none */
    long timeout_ms;              /* > 0 */
};

/* A fencer. 'client' (FENCE_HTTP only) must outlive it. NULL on failure,
 * '*error' (may be NULL) -EINVAL (mode NONE, missing command or URL,
 * timeout <= 0) or -ENOMEM. Strings are copied. */
struct fence *fence_new(struct event_base *base, struct httpc *client,
                        const struct fence_options *options, int *error);

/* Kills the process group of every command still running (SIGKILL, then
 * reaps them) and frees 'f'; the callbacks of unfinished runs are not
 * called. Accepts NULL. */
void fence_free(struct fence *f);

enum fence_mode fence_get_mode(const struct fence *f);

/* The outcome of one run, for the callback. */
struct fence_result {
    bool ok;
    const char *error;            /* NULL when ok: "exit status 3",
                                   * "killed by signal 9", "timed out after
                                   * 5000 ms", "HTTP 500", ... */
    int exit_status;              /* command: exit status (-1: none) */
    long http_status;             /* http: status (0: none) */
    int64_t duration_ns;
};

typedef void fence_done_fn(const char *host, const struct fence_result *r,
                           void *arg);

/* Fences 'host' (letters, digits, '.', '-', '_' only; at most
 * FENCE_MAX_HOST_LENGTH). The callback runs once, on the loop, never from
 * inside fence_host(). 0, -EINVAL, -EBUSY (FENCE_MAX_RUNNING runs under
 * way), -ENOMEM, or the errno of posix_spawn / httpc. */
int fence_host(struct fence *f, const char *host, fence_done_fn *done,
               void *arg);

/* Replaces every "{host}" in 'template' by 'host'. A new string (caller
 * frees) or NULL on allocation failure. Pure. */
char *fence_expand(const char *template, const char *host);

#endif
