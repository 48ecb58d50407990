/* host_fault: what the inspector does when a compute host fails and comes
 * back (compute.host.down / compute.host.up), the heart of OPNFV Doctor.
 *
 * On compute.host.down for a host that is up, an incident starts:
 *
 *  1. fencing, when configured (fence.h), is started first;
 *  2. the VMs of the host are read from the inventory (inventory.h: kept
 *     ahead of time, never listed now) - stamp T03 - and the alarms go to
 *     the notifier at once, before anything else, as one batch: the host
 *     event itself and one compute.instance.down per VM whose details name
 *     the host fault as cause ("cause": "compute.host.down",
 *     "cause_event_id", "hostname", "instance_uuid", "monitor", ...);
 *  3. at the same time (or, with fencing 'required', once fencing has
 *     succeeded) Nova is told: force-down of the host's nova-compute
 *     service (T04 when done), os-resetState to error of every VM (T05
 *     when all are done) and, optionally, Neutron data_plane_status DOWN
 *     on the host's ports - all requests in flight at once.
 *
 * The T03/T04/T05 stamps of an incident, its Nova results and its timing
 * are kept in one GET /events entry (class "host_fault") that is updated
 * as the calls complete, and logged when the incident is complete.
 *
 * Idempotent and debounced: while a host is down, further down events are
 * absorbed (they only retry what failed: alarms the notifier refused,
 * fencing that failed, Nova calls that failed); compute.host.up starts a
 * hold of 'recovery_hold_ns', and a down event during it cancels the
 * recovery (a flap: nothing is repeated). When the hold passes, the host
 * recovers: the host.up event and one compute.instance.up per alarmed VM
 * (cause compute.host.up) go to the notifier (its alarms return to ok) and
 * forced_down is unset when configured. The state of each down host
 * (fenced, forced down, alarmed VMs) is written to an SQLite database (WAL)
 * when 'state_db' is set, so a restarted inspector neither fences nor
 * calls Nova again; without it, hosts Nova shows forced down are adopted
 * as down at start (host_fault_adopt).
 *
 * While a host is down or recovering, every other event of that host
 * (compute.instance.* of its VMs, NIC and process faults) is absorbed:
 * not alarmed, counted.
 *
 * Not thread-safe: runs on the inspector's loop. */
#ifndef VIGIL_INSPECTOR_HOST_FAULT_H
#define VIGIL_INSPECTOR_HOST_FAULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "doctor_event.h"

struct doctor_sender;
struct event_base;
struct event_log;
struct fence;
struct host_fault;
struct inventory;
struct metrics_registry;
struct neutron;
struct nova;

#define HOST_FAULT_DEFAULT_MAX_HOSTS 100000
#define HOST_FAULT_MAX_VMS 100000     /* VMs alarmed per host */

struct host_fault_options {
    struct event_base *base;
    struct doctor_sender *sender;     /* alarms; required */
    struct event_log *log;            /* GET /events; may be NULL */
    struct inventory *inventory;      /* required */
    struct nova *nova;                /* NULL: no Nova calls */
    struct neutron *neutron;          /* NULL: no port updates */
    struct fence *fence;              /* NULL: no fencing */
    struct metrics_registry *metrics; /* may be NULL */
    bool fence_required;              /* Nova waits for fencing */
    bool force_down;                  /* force the service down */
    bool reset_state;                 /* reset the VMs to error */
    bool unset_forced_down;           /* undo force-down on recovery */
    bool recover_instances;           /* instance.up alarms on recovery */
    int64_t recovery_hold_ns;         /* >= 0 */
    const char *state_db;             /* NULL or "": nothing persisted */
    size_t max_hosts;                 /* 0: HOST_FAULT_DEFAULT_MAX_HOSTS */
};

/* A handler. Opens (creating) 'state_db' and reloads the hosts it holds
 * as down. NULL on failure with '*error' (may be NULL) set to -EINVAL,
 * -ENOMEM or -EIO (the database cannot be opened or read: 'err' says
 * why, may be NULL). */
struct host_fault *host_fault_new(const struct host_fault_options *options,
                                  int *error, char *err, size_t err_size);

/* Frees the handler; calls still outstanding end unseen (free it before
 * the nova, neutron and fence clients). Accepts NULL. */
void host_fault_free(struct host_fault *hf);

/* What became of a compute.host.down / compute.host.up event. */
enum host_fault_outcome {
    HOST_FAULT_INCIDENT,      /* down: a new incident started */
    HOST_FAULT_REPEATED,      /* down while down: absorbed */
    HOST_FAULT_FLAP,          /* down during the recovery hold: absorbed,
                               * the recovery is cancelled */
    HOST_FAULT_HOLDING,       /* up: the recovery hold started */
    HOST_FAULT_RECOVERED,     /* up: recovered at once (hold 0) */
    HOST_FAULT_UP_REPEATED,   /* up during the hold: absorbed */
    HOST_FAULT_FORWARDED,     /* up of a host that was not down: passed on
                               * to the notifier as it is */
    HOST_FAULT_OUTCOME_COUNT
};

const char *host_fault_outcome_name(enum host_fault_outcome outcome);

/* True for the types host_fault_handle() takes: "compute.host.down" and
 * "compute.host.up" (and a compute.host.* event whose status is down/up
 * without a NIC or process named). */
bool host_fault_handles(const struct doctor_event *ev);

/* Handles 'ev' (T02 stamped; not kept after the call). Alarms it raises
 * are handed to the sender before this returns. 0 with '*outcome', or
 * -ENOBUFS / -ENOMEM when the notifier's sender refused the alarms (the
 * incident is recorded; the next down event of that host sends them
 * again), -EINVAL for an event host_fault_handles() rejects, -ENOSPC when
 * max_hosts hosts are down already. */
int host_fault_handle(struct host_fault *hf, const struct doctor_event *ev,
                      enum host_fault_outcome *outcome);

/* True when 'ev' (any other event) belongs to a host that is down or
 * recovering: by its hostname, or for an instance event by the host the
 * inventory places the instance on. The event is counted as absorbed. */
bool host_fault_absorbs(struct host_fault *hf, const struct doctor_event *ev);

/* Marks every host whose nova-compute service the inventory shows forced
 * down, and that is not known here, as down (fenced, forced down, no VM
 * alarmed), so that a restart without a state database does not repeat
 * an incident. Returns how many hosts were adopted. */
size_t host_fault_adopt(struct host_fault *hf);

/* The state of one host, for tests and GET /events. */
struct host_fault_state {
    bool down;                 /* down or recovering */
    bool recovering;           /* in the recovery hold */
    bool fenced;
    bool fence_running;
    bool forced_down;          /* Nova confirmed */
    size_t vms;                /* VMs alarmed */
    size_t resets_done;        /* reset-state calls that succeeded */
    size_t resets_failed;
    uint64_t absorbed;         /* events absorbed */
    uint64_t fence_runs;       /* fencing started, over all incidents */
    uint64_t force_down_calls; /* force-down calls made (set or unset) */
    uint64_t reset_calls;      /* reset-state calls made */
};

/* 0 with '*state' filled, or -ENOENT for a host never seen down. */
int host_fault_get_state(const struct host_fault *hf, const char *host,
                         struct host_fault_state *state);

/* Hosts down or recovering. */
size_t host_fault_down_hosts(const struct host_fault *hf);

#endif
