/* vmstate: the last-seen state of every domain on this host (instance UUID
 * -> name, running or not), kept by vmwatch from libvirt's events and from
 * the domain list it reads on each (re)connect.
 *
 * It serves two purposes. Reconciliation: after a lost connection to
 * libvirtd, vmstate_diff() compares the map from before with the domains
 * listed now and yields the faults and recoveries that happened in between.
 * De-duplication: vmstate_apply_lifecycle() reports a lifecycle event only
 * when it changes the domain from running to not running (a fault) or back
 * (a recovery), so an event that arrives after reconciliation already
 * reported its change, or a resume after an ordinary pause, is not reported
 * twice.
 *
 * "Running" is vmevent_state_is_running(): a VM paused by an operator still
 * counts as running, one paused on an I/O error does not.
 *
 * Not thread-safe: vmwatch uses it from the libvirt thread only. Capped at
 * VMSTATE_MAX_DOMAINS entries. */
#ifndef VIGIL_VMSTATE_H
#define VIGIL_VMSTATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmevent.h"

#define VMSTATE_MAX_DOMAINS 65536

struct vmstate_entry {
    char uuid[VMEVENT_UUID_SIZE];
    char name[VMEVENT_DOMAIN_NAME_SIZE];
    bool running;
    int state;    /* virDomainState (from a listing or the last event) */
    int reason;   /* its reason, 0 when derived from an event */
    int64_t io_error_ns;  /* last I/O error reported (CLOCK_MONOTONIC) */
};

struct vmstate;

/* A new, empty map (NULL on allocation failure). */
struct vmstate *vmstate_new(void);

/* Accepts NULL. */
void vmstate_free(struct vmstate *map);

/* Number of domains in 'map'. */
size_t vmstate_length(const struct vmstate *map);

/* The entry at 'index' (< vmstate_length), in UUID order; valid until the
 * map is next changed. */
const struct vmstate_entry *vmstate_at(const struct vmstate *map,
                                       size_t index);

/* The entry for 'uuid', or NULL. Valid until the map is next changed. */
const struct vmstate_entry *vmstate_find(const struct vmstate *map,
                                         const char *uuid);

/* Adds or replaces the entry for 'uuid' with 'name' and state/reason
 * (virDomainState and its reason); running follows from
 * vmevent_state_is_running(). 0, -EINVAL for a UUID of the wrong length,
 * -E2BIG over VMSTATE_MAX_DOMAINS, -ENOMEM. */
int vmstate_set(struct vmstate *map, const char *uuid, const char *name,
                int state, int reason);

/* Removes the entry for 'uuid' if there is one. */
void vmstate_remove(struct vmstate *map, const char *uuid);

/* Applies a lifecycle event (virDomainEventType, detail) of domain 'uuid'
 * named 'name' and returns what to report: VMEVENT_DOWN only when the
 * domain was running or unknown, VMEVENT_UP only when it was not running
 * or unknown, VMEVENT_IGNORE otherwise (see vmevent_lifecycle_status()).
 * DEFINED adds an unknown domain as not running; UNDEFINED forgets a domain
 * that is not running (an undefined running domain lives on as a transient
 * one). The map is left unchanged when it cannot grow. */
enum vmevent_status vmstate_apply_lifecycle(struct vmstate *map,
                                            const char *uuid,
                                            const char *name, int event,
                                            int detail);

/* Whether to report an I/O error of domain 'uuid' detected at 'now_ns':
 * false when one was reported less than 'window_ns' earlier (a failing
 * disk with error_policy "report" raises an event per failed request),
 * true otherwise, and then 'now_ns' is recorded. Unknown domains: true. */
bool vmstate_allow_io_error(struct vmstate *map, const char *uuid,
                            int64_t now_ns, int64_t window_ns);

/* Compares 'before' (what was last seen) with 'after' (the domains listed
 * now) and returns the changes as reconciliation events (kind
 * VMEVENT_RECONCILE, stamped 'detected_ns' and 'time_ns') in '*events'
 * (caller frees with free()), '*length' of them, in UUID order:
 *  - running before, not running now: down, with the current state/reason;
 *  - not running before, running now: up;
 *  - running before, gone now: down with detail "UNDEFINED";
 *  - unknown before, running now: up (a VM started while we were away).
 * A domain gone or unknown-and-stopped yields nothing. 0 or -ENOMEM;
 * outputs written only on success ('*events' NULL when there is none). */
int vmstate_diff(const struct vmstate *before, const struct vmstate *after,
                 int64_t detected_ns, int64_t time_ns,
                 struct vmevent **events, size_t *length);

/* Replaces the contents of 'map' with those of 'from' and leaves 'from'
 * empty. */
void vmstate_replace(struct vmstate *map, struct vmstate *from);

#endif
