/* vmevent: what vigil-monitor detected about one VM, in a neutral form
 * between libvirt's callbacks (vmwatch) and the Doctor event that
 * common/doctor_sender sends (doctor_event).
 *
 * This module is pure: it names libvirt's enums (lifecycle events and their
 * details, watchdog and I/O error actions, domain states and reasons, close
 * reasons) through tables indexed by those enums, with bounds checks, so an
 * unknown value becomes "UNKNOWN_<n>" instead of a crash; it classifies a
 * lifecycle event as a fault (compute.instance.down), a recovery
 * (compute.instance.up) or neither; it parses the [monitor] events filter;
 * and it turns a struct vmevent into a struct doctor_event. No libvirt
 * connection is needed, so all of it is unit-tested directly.
 *
 * Thread-safe: no shared state. */
#ifndef VIGIL_VMEVENT_H
#define VIGIL_VMEVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct doctor_event;

/* The libvirt event kinds the monitor can report (the [monitor] events
 * filter names them: "lifecycle", "watchdog", ...). */
enum vmevent_kind {
    VMEVENT_LIFECYCLE,        /* VIR_DOMAIN_EVENT_ID_LIFECYCLE */
    VMEVENT_WATCHDOG,         /* VIR_DOMAIN_EVENT_ID_WATCHDOG */
    VMEVENT_IO_ERROR,         /* VIR_DOMAIN_EVENT_ID_IO_ERROR */
    VMEVENT_IO_ERROR_REASON,  /* VIR_DOMAIN_EVENT_ID_IO_ERROR_REASON */
    VMEVENT_CONTROL_ERROR,    /* VIR_DOMAIN_EVENT_ID_CONTROL_ERROR */
    VMEVENT_RECONCILE,        /* state changes found after a reconnect */
    VMEVENT_KIND_COUNT
};

/* A mask of (1u << enum vmevent_kind). */
#define VMEVENT_KINDS_ALL ((1u << VMEVENT_KIND_COUNT) - 1)

/* What a libvirt event means for the VM. */
enum vmevent_status {
    VMEVENT_IGNORE,           /* neither a fault nor a recovery */
    VMEVENT_DOWN,             /* compute.instance.down */
    VMEVENT_UP,               /* compute.instance.up */
    VMEVENT_STATUS_COUNT
};

/* Buffer size for a name from the tables or "UNKNOWN_<n>". */
#define VMEVENT_NAME_SIZE 32
#define VMEVENT_UUID_SIZE 37           /* VIR_UUID_STRING_BUFLEN */
#define VMEVENT_DOMAIN_NAME_SIZE 256   /* longer domain names are cut */
#define VMEVENT_DEVICE_SIZE 256
#define VMEVENT_PATH_SIZE 1024         /* fits DOCTOR_MAX_STRING_LENGTH */
#define VMEVENT_REASON_SIZE 64
#define VMEVENT_FILTER_MAX_LENGTH 1024  /* [monitor] events text */

struct vmevent {
    enum vmevent_kind kind;
    bool up;                                   /* recovery, else fault */
    char instance_uuid[VMEVENT_UUID_SIZE];
    char instance_name[VMEVENT_DOMAIN_NAME_SIZE];
    char event[VMEVENT_NAME_SIZE];             /* "STOPPED", "WATCHDOG" */
    char detail[VMEVENT_NAME_SIZE];            /* "DESTROYED", "PAUSE" */
    char device[VMEVENT_DEVICE_SIZE];          /* I/O errors: device alias */
    char path[VMEVENT_PATH_SIZE];              /* I/O errors: host path */
    char action[VMEVENT_NAME_SIZE];            /* watchdog and I/O errors */
    char reason[VMEVENT_REASON_SIZE];          /* I/O errors: "enospc" */
    char state[VMEVENT_NAME_SIZE];             /* reconcile: "SHUTOFF" */
    char state_reason[VMEVENT_NAME_SIZE];      /* reconcile: "DESTROYED" */
    int64_t detected_ns;                       /* T01, CLOCK_MONOTONIC */
    int64_t time_ns;                           /* wall clock at detection */
};

/* "lifecycle", "watchdog", "io_error", "io_error_reason", "control_error",
 * "reconcile"; NULL for a value out of range. */
const char *vmevent_kind_name(enum vmevent_kind kind);

/* Parses a comma-separated list of kind names (case-insensitive, blanks
 * around names allowed; "all" means every kind) into a mask of
 * (1u << kind). Empty lists, empty items, unknown names and texts longer
 * than VMEVENT_FILTER_MAX_LENGTH are rejected: -EINVAL with a message in
 * 'err' (of 'err_size' bytes). '*kinds' is written only on success. */
int vmevent_parse_kinds(const char *text, unsigned int *kinds, char *err,
                        size_t err_size);

/* Name lookups. Each returns a static name ("STOPPED") or, for a value its
 * table does not know, formats "UNKNOWN_<n>" into 'buf' ('size' bytes,
 * VMEVENT_NAME_SIZE is enough) and returns 'buf'. */
const char *vmevent_lifecycle_name(int event, char *buf, size_t size);
const char *vmevent_lifecycle_detail_name(int event, int detail, char *buf,
                                          size_t size);
const char *vmevent_watchdog_action_name(int action, char *buf, size_t size);
const char *vmevent_io_error_action_name(int action, char *buf, size_t size);
const char *vmevent_state_name(int state, char *buf, size_t size);
const char *vmevent_state_reason_name(int state, int reason, char *buf,
                                      size_t size);
const char *vmevent_close_reason_name(int reason, char *buf, size_t size);

/* Classifies a lifecycle event (virDomainEventType, detail): STOPPED
 * (except MIGRATED), CRASHED and SUSPENDED on IOERROR, WATCHDOG, API_ERROR
 * or POSTCOPY_FAILED are VMEVENT_DOWN; STARTED and RESUMED are VMEVENT_UP;
 * everything else, unknown values included, is VMEVENT_IGNORE. */
enum vmevent_status vmevent_lifecycle_status(int event, int detail);

/* Whether the VM runs after a lifecycle event: 1 running, 0 not running,
 * -1 unchanged (DEFINED, UNDEFINED, SHUTDOWN, PMSUSPENDED, a pause that is
 * not a fault, unknown values). */
int vmevent_lifecycle_running(int event, int detail);

/* Whether a domain in state 'state' (virDomainState) for 'reason' counts as
 * running: RUNNING, BLOCKED, SHUTDOWN (still running), PMSUSPENDED, and
 * PAUSED for a reason that is not a fault. SHUTOFF, CRASHED, NOSTATE and
 * PAUSED on IOERROR, WATCHDOG, CRASHED or POSTCOPY_FAILED do not. */
bool vmevent_state_is_running(int state, int reason);

/* Starts 'ev' for domain 'uuid' named 'name' (either may be NULL for ""),
 * detected at 'detected_ns' (CLOCK_MONOTONIC) and 'time_ns' (wall clock).
 * Every other field is cleared; strings that do not fit are cut. */
void vmevent_init(struct vmevent *ev, enum vmevent_kind kind,
                  const char *uuid, const char *name, int64_t detected_ns,
                  int64_t time_ns);

/* Fills a lifecycle event: event and detail names, 'up' from
 * vmevent_lifecycle_status() (VMEVENT_UP). */
void vmevent_set_lifecycle(struct vmevent *ev, int event, int detail);

/* Fills a watchdog event: event "WATCHDOG", detail and action the action
 * name. A fault. */
void vmevent_set_watchdog(struct vmevent *ev, int action);

/* Fills an I/O error: event "IO_ERROR", detail and action the action name,
 * device alias and host path (NULL for ""), and 'reason' ("enospc", "";
 * NULL for an IO_ERROR event without a reason). A fault. */
void vmevent_set_io_error(struct vmevent *ev, const char *path,
                          const char *device, int action, const char *reason);

/* Fills a control error (libvirt lost control of the VM, e.g. its QEMU
 * monitor): event "CONTROL_ERROR", detail "NONE". A fault. */
void vmevent_set_control_error(struct vmevent *ev);

/* Fills a reconciliation finding: event "RECONCILE", 'up' as given, and the
 * current state and reason names (detail = the reason name), or, when
 * 'state' is negative, a domain that no longer exists (detail and state
 * "UNDEFINED"). */
void vmevent_set_reconcile(struct vmevent *ev, bool up, int state,
                           int reason);

/* Builds the Doctor event for 'ev' into '*out' (initialised by this call;
 * the caller clears it with doctor_event_clear): type
 * "compute.instance.down" or ".up", time, id = monitor_event_id (a fresh
 * UUID, so that re-sends of one event share it), T01, and details hostname,
 * status, monitor "vigil-monitor", monitor_event_id, instance_uuid,
 * instance_name, libvirt_event, libvirt_detail, and where set
 * libvirt_device, libvirt_path, libvirt_action, libvirt_reason,
 * libvirt_state, libvirt_state_reason. 0, -EINVAL (e.g. a hostname that is
 * too long), or -ENOMEM; '*out' is written only on success. */
int vmevent_to_doctor(const struct vmevent *ev, const char *hostname,
                      struct doctor_event *out);

#endif
