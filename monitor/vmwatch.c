/* vmwatch: the libvirt thread of vigil-monitor (see vmwatch.h).
 *
 * Everything libvirt-related happens on one thread: connecting, the
 * callbacks (libvirt dispatches them from virEventRunDefaultImpl, which
 * this thread runs), reconciliation and the state map. Other threads only
 * set the 'stopping' flag and write the wake-up eventfd, and read the
 * atomic counters.
 *
 * The loop: while not stopping, connect when due, tear the connection down
 * when the close callback flagged it, arm the reconnect timer, run one
 * iteration of libvirt's event loop. The close callback itself only sets a
 * flag, as libvirt's examples/c/misc/event-test.c does: closing a
 * connection from inside its own callback is not allowed. */
#include "vmwatch.h"

#include <errno.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "metrics.h"
#include "vlog.h"
#include "vmstate.h"
#include "vtime.h"

#define VMWATCH_MODULE "libvirt"
#define VMWATCH_IO_ERROR_WINDOW_NS 1000000000LL

/* The domain event callbacks vmwatch may register. */
enum vmwatch_callback {
    VMWATCH_CB_LIFECYCLE,
    VMWATCH_CB_WATCHDOG,
    VMWATCH_CB_IO_ERROR,      /* IO_ERROR or IO_ERROR_REASON, never both */
    VMWATCH_CB_CONTROL_ERROR,
    VMWATCH_CB_COUNT
};

struct vmwatch {
    /* Options, fixed after vmwatch_new(). */
    char *uri;
    bool read_only;
    int keepalive_interval_s;
    unsigned int keepalive_count;
    int64_t reconnect_initial_ms;
    int64_t reconnect_max_ms;
    unsigned int kinds;
    vmwatch_emit_fn *emit;
    void *arg;

    /* Shared with other threads. */
    pthread_t thread;
    bool started;
    atomic_bool stopping;
    int wake_fd;
    atomic_bool connected;
    _Atomic uint64_t connects;
    _Atomic uint64_t losses;
    atomic_int last_close_reason;
    _Atomic uint64_t reconciles;
    _Atomic uint64_t received;
    _Atomic uint64_t emitted;

    /* Libvirt thread only. */
    int wake_watch;             /* virEventAddHandle id, -1 when none */
    int timer;                  /* virEventAddTimeout id, -1 when none */
    virConnectPtr conn;
    int callback_ids[VMWATCH_CB_COUNT];
    bool closed;                /* set by the close callback */
    int close_reason;
    bool keepalive_warned;
    int64_t next_attempt_ns;    /* when to try connecting next */
    int64_t backoff_ms;         /* the delay after the next failure */
    int64_t lost_ns;            /* when the connection was lost, 0 if never */
    unsigned int attempts;      /* failed attempts since the loss */
    struct vmstate *states;
    struct vlog_rate_limit event_rl;
    struct vlog_rate_limit error_rl;

    /* Metrics (NULL without a registry). */
    struct metrics_gauge *connected_gauge;
    struct metrics_counter *reconnects_counter;
    struct metrics_counter *detected[VMEVENT_KIND_COUNT];
};

static pthread_once_t vmwatch_once = PTHREAD_ONCE_INIT;
static int vmwatch_once_ret;

/* libvirt prints every error to stderr unless told otherwise; vmwatch logs
 * what matters itself, from virGetLastErrorMessage(). */
static void
vmwatch_quiet_error(void *arg, virErrorPtr error)
{
    (void) arg;
    (void) error;
}

static void
vmwatch_init_once(void)
{
    virSetErrorFunc(NULL, vmwatch_quiet_error);
    vmwatch_once_ret = virEventRegisterDefaultImpl() < 0 ? -EIO : 0;
}

static int
vmwatch_register_metrics(struct vmwatch *w, struct metrics_registry *reg)
{
    w->connected_gauge = metrics_gauge_new(
        reg, "vigil_monitor_libvirt_connected",
        "1 while the monitor is connected to libvirt", NULL);
    w->reconnects_counter = metrics_counter_new(
        reg, "vigil_monitor_libvirt_reconnects_total",
        "Connections to libvirt re-established after a loss", NULL);
    if (!w->connected_gauge || !w->reconnects_counter) {
        return -ENOMEM;
    }
    for (size_t i = 0; i < VMEVENT_KIND_COUNT; i++) {
        char labels[64];

        snprintf(labels, sizeof labels, "kind=\"%s\"", vmevent_kind_name(i));
        w->detected[i] = metrics_counter_new(
            reg, "vigil_monitor_events_detected_total",
            "VM faults and recoveries detected, by libvirt event kind",
            labels);
        if (!w->detected[i]) {
            return -ENOMEM;
        }
    }
    return 0;
}

struct vmwatch *
vmwatch_new(const struct vmwatch_options *options, vmwatch_emit_fn *emit,
            void *arg, int *error)
{
    struct vmwatch *w = NULL;
    int ret = -EINVAL;

    if (!options || !options->uri || !emit ||
        options->reconnect_initial_ms == 0 ||
        options->reconnect_max_ms < options->reconnect_initial_ms ||
        (options->kinds & ~VMEVENT_KINDS_ALL)) {
        goto out;
    }
    w = calloc(1, sizeof *w);
    if (!w) {
        ret = -ENOMEM;
        goto out;
    }
    w->wake_fd = -1;
    w->wake_watch = -1;
    w->timer = -1;
    for (size_t i = 0; i < VMWATCH_CB_COUNT; i++) {
        w->callback_ids[i] = -1;
    }
    w->uri = strdup(options->uri);
    w->states = vmstate_new();
    if (!w->uri || !w->states) {
        ret = -ENOMEM;
        goto out;
    }
    w->read_only = options->read_only;
    w->keepalive_interval_s = options->keepalive_interval_s;
    w->keepalive_count = options->keepalive_count;
    w->reconnect_initial_ms = options->reconnect_initial_ms;
    w->reconnect_max_ms = options->reconnect_max_ms;
    w->backoff_ms = options->reconnect_initial_ms;
    w->kinds = options->kinds;
    w->emit = emit;
    w->arg = arg;
    w->event_rl = (struct vlog_rate_limit) VLOG_RATE_LIMIT_INIT(20, 100);
    w->error_rl = (struct vlog_rate_limit) VLOG_RATE_LIMIT_INIT(1, 5);
    if (options->metrics) {
        ret = vmwatch_register_metrics(w, options->metrics);
        if (ret) {
            goto out;
        }
    }
    w->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (w->wake_fd < 0) {
        ret = -errno;
        goto out;
    }
    ret = 0;
out:
    if (ret) {
        vmwatch_free(w);
        w = NULL;
        if (error) {
            *error = ret;
        }
    }
    return w;
}

void
vmwatch_get_stats(const struct vmwatch *w, struct vmwatch_stats *stats)
{
    stats->connected = atomic_load(&w->connected);
    stats->connects = atomic_load(&w->connects);
    stats->losses = atomic_load(&w->losses);
    stats->close_reason = atomic_load(&w->last_close_reason);
    stats->reconciles = atomic_load(&w->reconciles);
    stats->received = atomic_load(&w->received);
    stats->emitted = atomic_load(&w->emitted);
}

static bool
vmwatch_enabled(const struct vmwatch *w, enum vmevent_kind kind)
{
    return (w->kinds >> kind) & 1u;
}

/* A heap event for the callback, or NULL (logged) when memory is short. */
static struct vmevent *
vmwatch_event_new(struct vmwatch *w, enum vmevent_kind kind, const char *uuid,
                  const char *name, int64_t detected_ns, int64_t time_ns)
{
    struct vmevent *ev = malloc(sizeof *ev);

    if (!ev) {
        vlog_write_rl(&w->error_rl, VLOG_LEVEL_ERR, VMWATCH_MODULE,
                      "out of memory: event of instance %s lost", uuid);
        return NULL;
    }
    vmevent_init(ev, kind, uuid, name, detected_ns, time_ns);
    return ev;
}

/* Hands 'ev' on, then counts and logs it. */
static void
vmwatch_emit(struct vmwatch *w, struct vmevent *ev)
{
    /* The callback owns 'ev' from the call on, so keep what the log line
     * needs; logging after the hand-off keeps it off the fault path. */
    struct vmevent copy = *ev;

    w->emit(ev, w->arg);
    atomic_fetch_add(&w->emitted, 1);
    metrics_counter_add(w->detected[copy.kind], 1);
    vlog_write_rl(&w->event_rl, VLOG_LEVEL_INFO, VMWATCH_MODULE,
                  "instance %s (%s) %s: %s/%s%s%s%s%s%s%s%s%s",
                  copy.instance_name, copy.instance_uuid,
                  copy.up ? "up" : "down", copy.event, copy.detail,
                  copy.device[0] ? " on " : "", copy.device,
                  copy.path[0] ? " path " : "", copy.path,
                  copy.reason[0] ? " reason " : "", copy.reason,
                  copy.state[0] ? " state " : "", copy.state);
}

/* The UUID of 'dom' into 'uuid'; 0 or -EIO (logged). */
static int
vmwatch_domain_uuid(struct vmwatch *w, virDomainPtr dom,
                    char uuid[VIR_UUID_STRING_BUFLEN])
{
    if (virDomainGetUUIDString(dom, uuid) < 0) {
        vlog_write_rl(&w->error_rl, VLOG_LEVEL_WARN, VMWATCH_MODULE,
                      "event for a domain without UUID ignored: %s",
                      virGetLastErrorMessage());
        return -EIO;
    }
    return 0;
}

/* The callbacks below all stamp T01 first, then hand over to one of these,
 * then count the event as received (after the state map is updated, so a
 * test that saw the count also sees the state). */

static void
vmwatch_lifecycle(struct vmwatch *w, virDomainPtr dom, int event, int detail,
                  int64_t detected_ns, int64_t time_ns)
{
    char uuid[VIR_UUID_STRING_BUFLEN];
    const char *name = virDomainGetName(dom);
    enum vmevent_status status;
    struct vmevent *ev;

    if (vmwatch_domain_uuid(w, dom, uuid)) {
        return;
    }
    status = vmstate_apply_lifecycle(w->states, uuid, name, event, detail);
    if (status == VMEVENT_IGNORE || !vmwatch_enabled(w, VMEVENT_LIFECYCLE)) {
        char b1[VMEVENT_NAME_SIZE], b2[VMEVENT_NAME_SIZE];

        VLOG_DBG(VMWATCH_MODULE, "instance %s (%s): %s/%s not reported "
                 "(%s)", name, uuid,
                 vmevent_lifecycle_name(event, b1, sizeof b1),
                 vmevent_lifecycle_detail_name(event, detail, b2, sizeof b2),
                 status == VMEVENT_IGNORE ? "no change to report"
                                          : "lifecycle events filtered out");
        return;
    }
    ev = vmwatch_event_new(w, VMEVENT_LIFECYCLE, uuid, name, detected_ns,
                           time_ns);
    if (ev) {
        vmevent_set_lifecycle(ev, event, detail);
        vmwatch_emit(w, ev);
    }
}

/* Watchdog and control errors: 'action' is the watchdog action, or -1 for
 * a control error. */
static void
vmwatch_fault(struct vmwatch *w, virDomainPtr dom, enum vmevent_kind kind,
              int action, int64_t detected_ns, int64_t time_ns)
{
    char uuid[VIR_UUID_STRING_BUFLEN];
    struct vmevent *ev;

    if (vmwatch_domain_uuid(w, dom, uuid)) {
        return;
    }
    ev = vmwatch_event_new(w, kind, uuid, virDomainGetName(dom), detected_ns,
                           time_ns);
    if (!ev) {
        return;
    }
    if (kind == VMEVENT_WATCHDOG) {
        vmevent_set_watchdog(ev, action);
    } else {
        vmevent_set_control_error(ev);
    }
    vmwatch_emit(w, ev);
}

/* Both I/O error callbacks: 'reason' is NULL for IO_ERROR. */
static void
vmwatch_io_error(struct vmwatch *w, virDomainPtr dom, const char *path,
                 const char *device, int action, const char *reason,
                 int64_t detected_ns, int64_t time_ns)
{
    enum vmevent_kind kind = reason ? VMEVENT_IO_ERROR_REASON
                                    : VMEVENT_IO_ERROR;
    char uuid[VIR_UUID_STRING_BUFLEN];
    struct vmevent *ev;

    if (vmwatch_domain_uuid(w, dom, uuid)) {
        return;
    }
    if (!vmstate_allow_io_error(w->states, uuid, detected_ns,
                                VMWATCH_IO_ERROR_WINDOW_NS)) {
        VLOG_DBG(VMWATCH_MODULE, "instance %s: repeated I/O error on %s "
                 "within 1 s not reported", uuid, device ? device : "");
        return;
    }
    ev = vmwatch_event_new(w, kind, uuid, virDomainGetName(dom), detected_ns,
                           time_ns);
    if (ev) {
        vmevent_set_io_error(ev, path, device, action, reason);
        vmwatch_emit(w, ev);
    }
}

static void
vmwatch_on_lifecycle(virConnectPtr conn, virDomainPtr dom, int event,
                     int detail, void *opaque)
{
    int64_t detected_ns = vtime_mono_ns(), time_ns = vtime_real_ns();
    struct vmwatch *w = opaque;

    (void) conn;
    vmwatch_lifecycle(w, dom, event, detail, detected_ns, time_ns);
    atomic_fetch_add(&w->received, 1);
}

static void
vmwatch_on_watchdog(virConnectPtr conn, virDomainPtr dom, int action,
                    void *opaque)
{
    int64_t detected_ns = vtime_mono_ns(), time_ns = vtime_real_ns();
    struct vmwatch *w = opaque;

    (void) conn;
    vmwatch_fault(w, dom, VMEVENT_WATCHDOG, action, detected_ns, time_ns);
    atomic_fetch_add(&w->received, 1);
}

static void
vmwatch_on_control_error(virConnectPtr conn, virDomainPtr dom, void *opaque)
{
    int64_t detected_ns = vtime_mono_ns(), time_ns = vtime_real_ns();
    struct vmwatch *w = opaque;

    (void) conn;
    vmwatch_fault(w, dom, VMEVENT_CONTROL_ERROR, -1, detected_ns, time_ns);
    atomic_fetch_add(&w->received, 1);
}

static void
vmwatch_on_io_error(virConnectPtr conn, virDomainPtr dom, const char *path,
                    const char *device, int action, void *opaque)
{
    int64_t detected_ns = vtime_mono_ns(), time_ns = vtime_real_ns();
    struct vmwatch *w = opaque;

    (void) conn;
    vmwatch_io_error(w, dom, path, device, action, NULL, detected_ns,
                     time_ns);
    atomic_fetch_add(&w->received, 1);
}

static void
vmwatch_on_io_error_reason(virConnectPtr conn, virDomainPtr dom,
                           const char *path, const char *device, int action,
                           const char *reason, void *opaque)
{
    int64_t detected_ns = vtime_mono_ns(), time_ns = vtime_real_ns();
    struct vmwatch *w = opaque;

    (void) conn;
    vmwatch_io_error(w, dom, path, device, action, reason ? reason : "",
                     detected_ns, time_ns);
    atomic_fetch_add(&w->received, 1);
}

static void
vmwatch_on_close(virConnectPtr conn, int reason, void *opaque)
{
    struct vmwatch *w = opaque;

    (void) conn;
    w->closed = true;
    w->close_reason = reason;
}

static void
vmwatch_on_wake(int watch, int fd, int events, void *opaque)
{
    uint64_t count;
    ssize_t n;

    (void) watch;
    (void) events;
    (void) opaque;
    n = read(fd, &count, sizeof count);
    (void) n;
}

static void
vmwatch_on_timer(int timer, void *opaque)
{
    (void) opaque;
    /* Only wakes the loop, which decides what is due. */
    virEventUpdateTimeout(timer, -1);
}

/* Deregisters everything and closes the connection; errors from a dead
 * connection are expected and ignored. */
static void
vmwatch_disconnect(struct vmwatch *w)
{
    if (!w->conn) {
        return;
    }
    for (size_t i = 0; i < VMWATCH_CB_COUNT; i++) {
        if (w->callback_ids[i] >= 0) {
            virConnectDomainEventDeregisterAny(w->conn, w->callback_ids[i]);
            w->callback_ids[i] = -1;
        }
    }
    virConnectUnregisterCloseCallback(w->conn, vmwatch_on_close);
    virConnectClose(w->conn);
    virResetLastError();
    w->conn = NULL;
    w->closed = false;
    atomic_store(&w->connected, false);
    metrics_gauge_set(w->connected_gauge, 0);
}

static int
vmwatch_register(struct vmwatch *w, enum vmwatch_callback slot, int id,
                 virConnectDomainEventGenericCallback cb)
{
    w->callback_ids[slot] = virConnectDomainEventRegisterAny(w->conn, NULL,
                                                             id, cb, w, NULL);
    return w->callback_ids[slot] < 0 ? -EIO : 0;
}

/* Registers the callbacks the filter asks for. Lifecycle events are always
 * watched: the state map needs them. libvirt raises IO_ERROR and
 * IO_ERROR_REASON for every I/O error, so only one of them is registered
 * (the one with the reason when both are enabled). */
static int
vmwatch_register_all(struct vmwatch *w)
{
    int ret;

    ret = vmwatch_register(w, VMWATCH_CB_LIFECYCLE,
                           VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                           VIR_DOMAIN_EVENT_CALLBACK(vmwatch_on_lifecycle));
    if (!ret && vmwatch_enabled(w, VMEVENT_WATCHDOG)) {
        ret = vmwatch_register(w, VMWATCH_CB_WATCHDOG,
                               VIR_DOMAIN_EVENT_ID_WATCHDOG,
                               VIR_DOMAIN_EVENT_CALLBACK(vmwatch_on_watchdog));
    }
    if (!ret && vmwatch_enabled(w, VMEVENT_IO_ERROR_REASON)) {
        ret = vmwatch_register(
            w, VMWATCH_CB_IO_ERROR, VIR_DOMAIN_EVENT_ID_IO_ERROR_REASON,
            VIR_DOMAIN_EVENT_CALLBACK(vmwatch_on_io_error_reason));
    } else if (!ret && vmwatch_enabled(w, VMEVENT_IO_ERROR)) {
        ret = vmwatch_register(w, VMWATCH_CB_IO_ERROR,
                               VIR_DOMAIN_EVENT_ID_IO_ERROR,
                               VIR_DOMAIN_EVENT_CALLBACK(vmwatch_on_io_error));
    }
    if (!ret && vmwatch_enabled(w, VMEVENT_CONTROL_ERROR)) {
        ret = vmwatch_register(
            w, VMWATCH_CB_CONTROL_ERROR, VIR_DOMAIN_EVENT_ID_CONTROL_ERROR,
            VIR_DOMAIN_EVENT_CALLBACK(vmwatch_on_control_error));
    }
    return ret;
}

/* Lists every domain with its state into 'map'. A domain that disappears
 * between the listing and its state query is skipped, and so are domains
 * beyond VMSTATE_MAX_DOMAINS. 0, -EIO or -ENOMEM. */
static int
vmwatch_read_states(struct vmwatch *w, struct vmstate *map)
{
    virDomainPtr *domains = NULL;
    int n, ret = -EIO;

    n = virConnectListAllDomains(w->conn, &domains, 0);
    if (n < 0) {
        goto out;
    }
    ret = 0;
    for (int i = 0; i < n && ret == 0; i++) {
        char uuid[VIR_UUID_STRING_BUFLEN];
        int state, reason;

        if (virDomainGetUUIDString(domains[i], uuid) < 0) {
            ret = -EIO;
        } else if (virDomainGetState(domains[i], &state, &reason, 0) < 0) {
            if (virGetLastErrorCode() != VIR_ERR_NO_DOMAIN) {
                ret = -EIO;
            }
        } else {
            ret = vmstate_set(map, uuid, virDomainGetName(domains[i]), state,
                              reason);
            if (ret == -E2BIG) {
                vlog_write_rl(&w->error_rl, VLOG_LEVEL_WARN, VMWATCH_MODULE,
                              "more than %d domains: %s and later ones are "
                              "not tracked", VMSTATE_MAX_DOMAINS, uuid);
                ret = 0;
                break;
            }
        }
    }
out:
    for (int i = 0; i < n; i++) {
        virDomainFree(domains[i]);
    }
    free(domains);
    return ret;
}

/* Number of running domains in 'map'. */
static size_t
vmwatch_running(const struct vmstate *map)
{
    size_t running = 0;

    for (size_t i = 0; i < vmstate_length(map); i++) {
        running += vmstate_at(map, i)->running;
    }
    return running;
}

/* Reports what changed between the old map and 'now', then keeps 'now'. */
static int
vmwatch_reconcile(struct vmwatch *w, struct vmstate *now, int64_t detected_ns,
                  int64_t time_ns, size_t *changes)
{
    struct vmevent *events = NULL;
    size_t length = 0;
    int ret;

    ret = vmstate_diff(w->states, now, detected_ns, time_ns, &events,
                       &length);
    if (ret) {
        return ret;
    }
    vmstate_replace(w->states, now);
    for (size_t i = 0; i < length; i++) {
        struct vmevent *ev;

        if (!vmwatch_enabled(w, VMEVENT_RECONCILE)) {
            continue;
        }
        ev = malloc(sizeof *ev);
        if (!ev) {
            vlog_write_rl(&w->error_rl, VLOG_LEVEL_ERR, VMWATCH_MODULE,
                          "out of memory: reconciliation event of instance "
                          "%s lost", events[i].instance_uuid);
            continue;
        }
        *ev = events[i];
        vmwatch_emit(w, ev);
    }
    free(events);
    *changes = length;
    return 0;
}

/* Opens the connection, sets it up and reads the domain states. On the
 * first connection it records them; on a reconnection it reconciles. */
static int
vmwatch_connect(struct vmwatch *w)
{
    int64_t detected_ns, time_ns;
    struct vmstate *now = NULL;
    size_t changes = 0, length, running;
    int ret = -EIO, ka;
    bool first;

    w->conn = w->read_only ? virConnectOpenReadOnly(w->uri)
                           : virConnectOpen(w->uri);
    if (!w->conn) {
        goto out;
    }
    w->closed = false;
    if (w->keepalive_interval_s > 0) {
        ka = virConnectSetKeepAlive(w->conn, w->keepalive_interval_s,
                                    w->keepalive_count);
        if (ka != 0 && !w->keepalive_warned) {
            VLOG_WARN(VMWATCH_MODULE, "keepalive not available on %s (%s): "
                      "a hung libvirtd will not be detected", w->uri,
                      ka < 0 ? virGetLastErrorMessage()
                             : "the server does not support it");
            w->keepalive_warned = true;
        }
    }
    if (virConnectRegisterCloseCallback(w->conn, vmwatch_on_close, w,
                                        NULL) < 0) {
        goto out;
    }
    /* Register before listing, so that no change falls between the two;
     * events queued meanwhile are de-duplicated by the state map. */
    if (vmwatch_register_all(w)) {
        goto out;
    }
    now = vmstate_new();
    if (!now) {
        ret = -ENOMEM;
        goto out;
    }
    ret = vmwatch_read_states(w, now);
    if (ret) {
        goto out;
    }
    detected_ns = vtime_mono_ns();
    time_ns = vtime_real_ns();
    length = vmstate_length(now);
    running = vmwatch_running(now);
    first = atomic_load(&w->connects) == 0;
    if (first) {
        vmstate_replace(w->states, now);
    } else {
        ret = vmwatch_reconcile(w, now, detected_ns, time_ns, &changes);
        if (ret) {
            goto out;
        }
    }
    atomic_store(&w->connected, true);
    metrics_gauge_set(w->connected_gauge, 1);
    atomic_fetch_add(&w->connects, 1);
    if (first) {
        VLOG_INFO(VMWATCH_MODULE, "connected to %s (%zu domains, %zu "
                  "running)", w->uri, length, running);
    } else {
        atomic_fetch_add(&w->reconciles, 1);
        metrics_counter_add(w->reconnects_counter, 1);
        VLOG_INFO(VMWATCH_MODULE, "reconnected to %s after %lld ms and %u "
                  "failed attempts (%zu domains, %zu running); reconciled "
                  "(%zu changes)", w->uri,
                  (long long) ((detected_ns - w->lost_ns) / 1000000),
                  w->attempts, length, running, changes);
    }
    w->attempts = 0;
    w->backoff_ms = w->reconnect_initial_ms;
    ret = 0;
out:
    if (ret) {
        const char *why = ret == -ENOMEM ? "out of memory"
                                         : virGetLastErrorMessage();

        w->attempts++;
        w->next_attempt_ns = vtime_mono_ns() + w->backoff_ms * 1000000;
        vlog_write_rl(&w->error_rl, VLOG_LEVEL_WARN, VMWATCH_MODULE,
                      "cannot connect to libvirt at %s (%s): retrying in "
                      "%lld ms", w->uri, why, (long long) w->backoff_ms);
        w->backoff_ms = w->backoff_ms * 2 > w->reconnect_max_ms
                        ? w->reconnect_max_ms : w->backoff_ms * 2;
        vmwatch_disconnect(w);
    }
    vmstate_free(now);
    return ret;
}

/* The close callback fired: tear down and schedule the reconnection. */
static void
vmwatch_lost(struct vmwatch *w)
{
    char buf[VMEVENT_NAME_SIZE];

    VLOG_WARN(VMWATCH_MODULE, "lost connection to libvirt at %s (%s): "
              "reconnecting in %lld ms", w->uri,
              vmevent_close_reason_name(w->close_reason, buf, sizeof buf),
              (long long) w->reconnect_initial_ms);
    atomic_store(&w->last_close_reason, w->close_reason);
    vmwatch_disconnect(w);
    atomic_fetch_add(&w->losses, 1);
    w->lost_ns = vtime_mono_ns();
    w->attempts = 0;
    w->next_attempt_ns = w->lost_ns + w->reconnect_initial_ms * 1000000;
    w->backoff_ms = w->reconnect_initial_ms * 2 > w->reconnect_max_ms
                    ? w->reconnect_max_ms : w->reconnect_initial_ms * 2;
}

/* Arms the timer for the next connection attempt, or disarms it. */
static void
vmwatch_arm_timer(struct vmwatch *w)
{
    int64_t wait_ms;

    if (w->conn) {
        virEventUpdateTimeout(w->timer, -1);
        return;
    }
    wait_ms = (w->next_attempt_ns - vtime_mono_ns() + 999999) / 1000000;
    virEventUpdateTimeout(w->timer, wait_ms < 0 ? 0 : (int) wait_ms);
}

static void *
vmwatch_main(void *arg)
{
    struct vmwatch *w = arg;

    while (!atomic_load(&w->stopping)) {
        if (w->conn && w->closed) {
            vmwatch_lost(w);
        }
        if (!w->conn && vtime_mono_ns() >= w->next_attempt_ns) {
            vmwatch_connect(w);
            continue;
        }
        vmwatch_arm_timer(w);
        if (virEventRunDefaultImpl() < 0) {
            vlog_write_rl(&w->error_rl, VLOG_LEVEL_ERR, VMWATCH_MODULE,
                          "libvirt event loop failed: %s",
                          virGetLastErrorMessage());
        }
    }
    vmwatch_disconnect(w);
    virEventRemoveTimeout(w->timer);
    virEventRemoveHandle(w->wake_watch);
    w->timer = -1;
    w->wake_watch = -1;
    return NULL;
}

int
vmwatch_start(struct vmwatch *w)
{
    int ret;

    if (w->started) {
        return -EALREADY;
    }
    pthread_once(&vmwatch_once, vmwatch_init_once);
    if (vmwatch_once_ret) {
        VLOG_ERR(VMWATCH_MODULE, "cannot set up libvirt's event loop: %s",
                 virGetLastErrorMessage());
        return vmwatch_once_ret;
    }
    w->wake_watch = virEventAddHandle(w->wake_fd, VIR_EVENT_HANDLE_READABLE,
                                      vmwatch_on_wake, w, NULL);
    w->timer = virEventAddTimeout(-1, vmwatch_on_timer, w, NULL);
    if (w->wake_watch < 0 || w->timer < 0) {
        ret = -EIO;
        goto out;
    }
    ret = -pthread_create(&w->thread, NULL, vmwatch_main, w);
    if (ret) {
        goto out;
    }
    w->started = true;
out:
    if (ret) {
        if (w->timer >= 0) {
            virEventRemoveTimeout(w->timer);
            w->timer = -1;
        }
        if (w->wake_watch >= 0) {
            virEventRemoveHandle(w->wake_watch);
            w->wake_watch = -1;
        }
    }
    return ret;
}

void
vmwatch_free(struct vmwatch *w)
{
    if (!w) {
        return;
    }
    if (w->started) {
        uint64_t one = 1;
        ssize_t n;

        atomic_store(&w->stopping, true);
        n = write(w->wake_fd, &one, sizeof one);
        (void) n;
        pthread_join(w->thread, NULL);
    }
    if (w->wake_fd >= 0) {
        close(w->wake_fd);
    }
    vmstate_free(w->states);
    free(w->uri);
    free(w);
}
