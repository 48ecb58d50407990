/* vmwatch: watches the VMs of this host through libvirt, on a dedicated
 * thread, and hands each fault or recovery it detects to a callback.
 *
 * The thread runs libvirt's default event loop (virEventRegisterDefaultImpl
 * before any connection, then virEventRunDefaultImpl). It opens the
 * connection (read-only by default: enough for events and states), turns
 * on keepalive, registers a close callback and the domain event callbacks
 * (LIFECYCLE, WATCHDOG, IO_ERROR or IO_ERROR_REASON, CONTROL_ERROR), and
 * reads every domain's state. When the connection drops (libvirtd died,
 * restarted, or stopped answering keepalives) it logs why and reconnects
 * with exponential back-off; after each reconnect it reconciles: it lists
 * the domains again and reports, as "RECONCILE" events, what changed while
 * it was away (see vmstate_diff()). The very first connection only records
 * the states: a monitor starting up has no earlier state to compare with.
 *
 * Lifecycle events are reported only when they change a domain between
 * running and not running (vmstate_apply_lifecycle()); watchdog, I/O and
 * control errors are always reported. The libvirt thread stamps T01 in the
 * callback, before anything else, and passes the event on at once.
 *
 * Logging: INFO for connections, losses, reconnections and every reported
 * event ("instance web-1 (6695eb01-...) down: STOPPED/DESTROYED"). */
#ifndef VIGIL_VMWATCH_H
#define VIGIL_VMWATCH_H

#include <stdbool.h>
#include <stdint.h>

#include "vmevent.h"

struct metrics_registry;

struct vmwatch_options {
    const char *uri;                 /* "qemu:///system"; copied */
    bool read_only;                  /* virConnectOpenReadOnly */
    int keepalive_interval_s;        /* <= 0 turns keepalive off */
    unsigned int keepalive_count;
    unsigned int reconnect_initial_ms;  /* >= 1 */
    unsigned int reconnect_max_ms;      /* >= reconnect_initial_ms */
    unsigned int kinds;              /* mask of (1u << enum vmevent_kind) */
    /* Registers vigil_monitor_libvirt_connected,
     * vigil_monitor_libvirt_reconnects_total and
     * vigil_monitor_events_detected_total{kind=...}; may be NULL. */
    struct metrics_registry *metrics;
};

/* Receives each detected event on the libvirt thread and owns it (release
 * it with free()). It must not block: hand the event to another thread. */
typedef void vmwatch_emit_fn(struct vmevent *ev, void *arg);

/* Counters for tests and diagnostics; each read is atomic on its own. */
struct vmwatch_stats {
    bool connected;
    uint64_t connects;        /* successful connections, the first included */
    uint64_t losses;          /* connections lost */
    int close_reason;         /* virConnectCloseReason of the last loss */
    uint64_t reconciles;      /* reconciliations done after a reconnect */
    uint64_t received;        /* domain events received from libvirt */
    uint64_t emitted;         /* events handed to the callback */
};

struct vmwatch;

/* Prepares a watcher; nothing runs before vmwatch_start(). NULL on failure
 * (bad options or no memory) with '*error' (may be NULL) set to a negative
 * errno. Call before vmwatch_start() from one thread. */
struct vmwatch *vmwatch_new(const struct vmwatch_options *options,
                            vmwatch_emit_fn *emit, void *arg, int *error);

/* Starts the libvirt thread, which connects (and retries until it can) on
 * its own. 0 or a negative errno. At most one watcher runs at a time in a
 * process: libvirt's default event loop is process-wide. */
int vmwatch_start(struct vmwatch *w);

/* Stops the thread (waking its event loop), waits for it, closes the
 * connection and frees 'w'. Accepts NULL and a watcher never started. */
void vmwatch_free(struct vmwatch *w);

/* Thread-safe snapshot of the counters. */
void vmwatch_get_stats(const struct vmwatch *w, struct vmwatch_stats *stats);

#endif
