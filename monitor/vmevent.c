/* vmevent: names, classification, filter and Doctor form of the VM events
 * vigil-monitor detects (see vmevent.h).
 *
 * Every table is indexed by a libvirt enum with designated initialisers, so
 * a reader can check each name against libvirt-domain.h, and every lookup
 * checks the bounds and the hole-free-ness of its table. */
#include "vmevent.h"

#include <ctype.h>
#include <errno.h>
#include <libvirt/libvirt.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "doctor_event.h"
#include "vuuid.h"

#define ARRAY_LENGTH(a) (sizeof (a) / sizeof (a)[0])

static const char *const vmevent_kind_names[VMEVENT_KIND_COUNT] = {
    [VMEVENT_LIFECYCLE] = "lifecycle",
    [VMEVENT_WATCHDOG] = "watchdog",
    [VMEVENT_IO_ERROR] = "io_error",
    [VMEVENT_IO_ERROR_REASON] = "io_error_reason",
    [VMEVENT_CONTROL_ERROR] = "control_error",
    [VMEVENT_RECONCILE] = "reconcile",
};

static const char *const vmevent_lifecycle_names[] = {
    [VIR_DOMAIN_EVENT_DEFINED] = "DEFINED",
    [VIR_DOMAIN_EVENT_UNDEFINED] = "UNDEFINED",
    [VIR_DOMAIN_EVENT_STARTED] = "STARTED",
    [VIR_DOMAIN_EVENT_SUSPENDED] = "SUSPENDED",
    [VIR_DOMAIN_EVENT_RESUMED] = "RESUMED",
    [VIR_DOMAIN_EVENT_STOPPED] = "STOPPED",
    [VIR_DOMAIN_EVENT_SHUTDOWN] = "SHUTDOWN",
    [VIR_DOMAIN_EVENT_PMSUSPENDED] = "PMSUSPENDED",
    [VIR_DOMAIN_EVENT_CRASHED] = "CRASHED",
};

static const char *const vmevent_defined_names[] = {
    [VIR_DOMAIN_EVENT_DEFINED_ADDED] = "ADDED",
    [VIR_DOMAIN_EVENT_DEFINED_UPDATED] = "UPDATED",
    [VIR_DOMAIN_EVENT_DEFINED_RENAMED] = "RENAMED",
    [VIR_DOMAIN_EVENT_DEFINED_FROM_SNAPSHOT] = "FROM_SNAPSHOT",
};

static const char *const vmevent_undefined_names[] = {
    [VIR_DOMAIN_EVENT_UNDEFINED_REMOVED] = "REMOVED",
    [VIR_DOMAIN_EVENT_UNDEFINED_RENAMED] = "RENAMED",
};

static const char *const vmevent_started_names[] = {
    [VIR_DOMAIN_EVENT_STARTED_BOOTED] = "BOOTED",
    [VIR_DOMAIN_EVENT_STARTED_MIGRATED] = "MIGRATED",
    [VIR_DOMAIN_EVENT_STARTED_RESTORED] = "RESTORED",
    [VIR_DOMAIN_EVENT_STARTED_FROM_SNAPSHOT] = "FROM_SNAPSHOT",
    [VIR_DOMAIN_EVENT_STARTED_WAKEUP] = "WAKEUP",
};

static const char *const vmevent_suspended_names[] = {
    [VIR_DOMAIN_EVENT_SUSPENDED_PAUSED] = "PAUSED",
    [VIR_DOMAIN_EVENT_SUSPENDED_MIGRATED] = "MIGRATED",
    [VIR_DOMAIN_EVENT_SUSPENDED_IOERROR] = "IOERROR",
    [VIR_DOMAIN_EVENT_SUSPENDED_WATCHDOG] = "WATCHDOG",
    [VIR_DOMAIN_EVENT_SUSPENDED_RESTORED] = "RESTORED",
    [VIR_DOMAIN_EVENT_SUSPENDED_FROM_SNAPSHOT] = "FROM_SNAPSHOT",
    [VIR_DOMAIN_EVENT_SUSPENDED_API_ERROR] = "API_ERROR",
    [VIR_DOMAIN_EVENT_SUSPENDED_POSTCOPY] = "POSTCOPY",
    [VIR_DOMAIN_EVENT_SUSPENDED_POSTCOPY_FAILED] = "POSTCOPY_FAILED",
};

static const char *const vmevent_resumed_names[] = {
    [VIR_DOMAIN_EVENT_RESUMED_UNPAUSED] = "UNPAUSED",
    [VIR_DOMAIN_EVENT_RESUMED_MIGRATED] = "MIGRATED",
    [VIR_DOMAIN_EVENT_RESUMED_FROM_SNAPSHOT] = "FROM_SNAPSHOT",
    [VIR_DOMAIN_EVENT_RESUMED_POSTCOPY] = "POSTCOPY",
    [VIR_DOMAIN_EVENT_RESUMED_POSTCOPY_FAILED] = "POSTCOPY_FAILED",
};

static const char *const vmevent_stopped_names[] = {
    [VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN] = "SHUTDOWN",
    [VIR_DOMAIN_EVENT_STOPPED_DESTROYED] = "DESTROYED",
    [VIR_DOMAIN_EVENT_STOPPED_CRASHED] = "CRASHED",
    [VIR_DOMAIN_EVENT_STOPPED_MIGRATED] = "MIGRATED",
    [VIR_DOMAIN_EVENT_STOPPED_SAVED] = "SAVED",
    [VIR_DOMAIN_EVENT_STOPPED_FAILED] = "FAILED",
    [VIR_DOMAIN_EVENT_STOPPED_FROM_SNAPSHOT] = "FROM_SNAPSHOT",
};

static const char *const vmevent_shutdown_names[] = {
    [VIR_DOMAIN_EVENT_SHUTDOWN_FINISHED] = "FINISHED",
    [VIR_DOMAIN_EVENT_SHUTDOWN_GUEST] = "GUEST",
    [VIR_DOMAIN_EVENT_SHUTDOWN_HOST] = "HOST",
};

static const char *const vmevent_pmsuspended_names[] = {
    [VIR_DOMAIN_EVENT_PMSUSPENDED_MEMORY] = "MEMORY",
    [VIR_DOMAIN_EVENT_PMSUSPENDED_DISK] = "DISK",
};

static const char *const vmevent_crashed_names[] = {
    [VIR_DOMAIN_EVENT_CRASHED_PANICKED] = "PANICKED",
    [VIR_DOMAIN_EVENT_CRASHED_CRASHLOADED] = "CRASHLOADED",
};

struct vmevent_table {
    const char *const *names;
    size_t length;
};

#define VMEVENT_TABLE(NAMES) { (NAMES), ARRAY_LENGTH(NAMES) }

/* Detail tables, indexed by virDomainEventType. */
static const struct vmevent_table vmevent_detail_tables[] = {
    [VIR_DOMAIN_EVENT_DEFINED] = VMEVENT_TABLE(vmevent_defined_names),
    [VIR_DOMAIN_EVENT_UNDEFINED] = VMEVENT_TABLE(vmevent_undefined_names),
    [VIR_DOMAIN_EVENT_STARTED] = VMEVENT_TABLE(vmevent_started_names),
    [VIR_DOMAIN_EVENT_SUSPENDED] = VMEVENT_TABLE(vmevent_suspended_names),
    [VIR_DOMAIN_EVENT_RESUMED] = VMEVENT_TABLE(vmevent_resumed_names),
    [VIR_DOMAIN_EVENT_STOPPED] = VMEVENT_TABLE(vmevent_stopped_names),
    [VIR_DOMAIN_EVENT_SHUTDOWN] = VMEVENT_TABLE(vmevent_shutdown_names),
    [VIR_DOMAIN_EVENT_PMSUSPENDED] = VMEVENT_TABLE(vmevent_pmsuspended_names),
    [VIR_DOMAIN_EVENT_CRASHED] = VMEVENT_TABLE(vmevent_crashed_names),
};

static const char *const vmevent_watchdog_names[] = {
    [VIR_DOMAIN_EVENT_WATCHDOG_NONE] = "NONE",
    [VIR_DOMAIN_EVENT_WATCHDOG_PAUSE] = "PAUSE",
    [VIR_DOMAIN_EVENT_WATCHDOG_RESET] = "RESET",
    [VIR_DOMAIN_EVENT_WATCHDOG_POWEROFF] = "POWEROFF",
    [VIR_DOMAIN_EVENT_WATCHDOG_SHUTDOWN] = "SHUTDOWN",
    [VIR_DOMAIN_EVENT_WATCHDOG_DEBUG] = "DEBUG",
    [VIR_DOMAIN_EVENT_WATCHDOG_INJECTNMI] = "INJECTNMI",
};

static const char *const vmevent_io_error_names[] = {
    [VIR_DOMAIN_EVENT_IO_ERROR_NONE] = "NONE",
    [VIR_DOMAIN_EVENT_IO_ERROR_PAUSE] = "PAUSE",
    [VIR_DOMAIN_EVENT_IO_ERROR_REPORT] = "REPORT",
};

static const char *const vmevent_state_names[] = {
    [VIR_DOMAIN_NOSTATE] = "NOSTATE",
    [VIR_DOMAIN_RUNNING] = "RUNNING",
    [VIR_DOMAIN_BLOCKED] = "BLOCKED",
    [VIR_DOMAIN_PAUSED] = "PAUSED",
    [VIR_DOMAIN_SHUTDOWN] = "SHUTDOWN",
    [VIR_DOMAIN_SHUTOFF] = "SHUTOFF",
    [VIR_DOMAIN_CRASHED] = "CRASHED",
    [VIR_DOMAIN_PMSUSPENDED] = "PMSUSPENDED",
};

static const char *const vmevent_unknown_reason_names[] = {
    [0] = "UNKNOWN",
};

static const char *const vmevent_running_reason_names[] = {
    [VIR_DOMAIN_RUNNING_UNKNOWN] = "UNKNOWN",
    [VIR_DOMAIN_RUNNING_BOOTED] = "BOOTED",
    [VIR_DOMAIN_RUNNING_MIGRATED] = "MIGRATED",
    [VIR_DOMAIN_RUNNING_RESTORED] = "RESTORED",
    [VIR_DOMAIN_RUNNING_FROM_SNAPSHOT] = "FROM_SNAPSHOT",
    [VIR_DOMAIN_RUNNING_UNPAUSED] = "UNPAUSED",
    [VIR_DOMAIN_RUNNING_MIGRATION_CANCELED] = "MIGRATION_CANCELED",
    [VIR_DOMAIN_RUNNING_SAVE_CANCELED] = "SAVE_CANCELED",
    [VIR_DOMAIN_RUNNING_WAKEUP] = "WAKEUP",
    [VIR_DOMAIN_RUNNING_CRASHED] = "CRASHED",
    [VIR_DOMAIN_RUNNING_POSTCOPY] = "POSTCOPY",
    [VIR_DOMAIN_RUNNING_POSTCOPY_FAILED] = "POSTCOPY_FAILED",
};

static const char *const vmevent_paused_reason_names[] = {
    [VIR_DOMAIN_PAUSED_UNKNOWN] = "UNKNOWN",
    [VIR_DOMAIN_PAUSED_USER] = "USER",
    [VIR_DOMAIN_PAUSED_MIGRATION] = "MIGRATION",
    [VIR_DOMAIN_PAUSED_SAVE] = "SAVE",
    [VIR_DOMAIN_PAUSED_DUMP] = "DUMP",
    [VIR_DOMAIN_PAUSED_IOERROR] = "IOERROR",
    [VIR_DOMAIN_PAUSED_WATCHDOG] = "WATCHDOG",
    [VIR_DOMAIN_PAUSED_FROM_SNAPSHOT] = "FROM_SNAPSHOT",
    [VIR_DOMAIN_PAUSED_SHUTTING_DOWN] = "SHUTTING_DOWN",
    [VIR_DOMAIN_PAUSED_SNAPSHOT] = "SNAPSHOT",
    [VIR_DOMAIN_PAUSED_CRASHED] = "CRASHED",
    [VIR_DOMAIN_PAUSED_STARTING_UP] = "STARTING_UP",
    [VIR_DOMAIN_PAUSED_POSTCOPY] = "POSTCOPY",
    [VIR_DOMAIN_PAUSED_POSTCOPY_FAILED] = "POSTCOPY_FAILED",
};

static const char *const vmevent_shutdown_reason_names[] = {
    [VIR_DOMAIN_SHUTDOWN_UNKNOWN] = "UNKNOWN",
    [VIR_DOMAIN_SHUTDOWN_USER] = "USER",
};

static const char *const vmevent_shutoff_reason_names[] = {
    [VIR_DOMAIN_SHUTOFF_UNKNOWN] = "UNKNOWN",
    [VIR_DOMAIN_SHUTOFF_SHUTDOWN] = "SHUTDOWN",
    [VIR_DOMAIN_SHUTOFF_DESTROYED] = "DESTROYED",
    [VIR_DOMAIN_SHUTOFF_CRASHED] = "CRASHED",
    [VIR_DOMAIN_SHUTOFF_MIGRATED] = "MIGRATED",
    [VIR_DOMAIN_SHUTOFF_SAVED] = "SAVED",
    [VIR_DOMAIN_SHUTOFF_FAILED] = "FAILED",
    [VIR_DOMAIN_SHUTOFF_FROM_SNAPSHOT] = "FROM_SNAPSHOT",
    [VIR_DOMAIN_SHUTOFF_DAEMON] = "DAEMON",
};

static const char *const vmevent_crashed_reason_names[] = {
    [VIR_DOMAIN_CRASHED_UNKNOWN] = "UNKNOWN",
    [VIR_DOMAIN_CRASHED_PANICKED] = "PANICKED",
};

/* Reason tables, indexed by virDomainState. */
static const struct vmevent_table vmevent_reason_tables[] = {
    [VIR_DOMAIN_NOSTATE] = VMEVENT_TABLE(vmevent_unknown_reason_names),
    [VIR_DOMAIN_RUNNING] = VMEVENT_TABLE(vmevent_running_reason_names),
    [VIR_DOMAIN_BLOCKED] = VMEVENT_TABLE(vmevent_unknown_reason_names),
    [VIR_DOMAIN_PAUSED] = VMEVENT_TABLE(vmevent_paused_reason_names),
    [VIR_DOMAIN_SHUTDOWN] = VMEVENT_TABLE(vmevent_shutdown_reason_names),
    [VIR_DOMAIN_SHUTOFF] = VMEVENT_TABLE(vmevent_shutoff_reason_names),
    [VIR_DOMAIN_CRASHED] = VMEVENT_TABLE(vmevent_crashed_reason_names),
    [VIR_DOMAIN_PMSUSPENDED] = VMEVENT_TABLE(vmevent_unknown_reason_names),
};

static const char *const vmevent_close_reason_names[] = {
    [VIR_CONNECT_CLOSE_REASON_ERROR] = "error",
    [VIR_CONNECT_CLOSE_REASON_EOF] = "eof",
    [VIR_CONNECT_CLOSE_REASON_KEEPALIVE] = "keepalive timeout",
    [VIR_CONNECT_CLOSE_REASON_CLIENT] = "closed by client",
};

/* names[value], or "UNKNOWN_<value>" in 'buf' when out of range or a hole. */
static const char *
vmevent_lookup(const char *const *names, size_t length, int value, char *buf,
               size_t size)
{
    if (value >= 0 && (size_t) value < length && names[value]) {
        return names[value];
    }
    snprintf(buf, size, "UNKNOWN_%d", value);
    return buf;
}

const char *
vmevent_kind_name(enum vmevent_kind kind)
{
    return (unsigned int) kind < VMEVENT_KIND_COUNT ? vmevent_kind_names[kind]
                                                    : NULL;
}

/* Matches one trimmed filter item of 'length' bytes; adds it to '*mask'. */
static int
vmevent_parse_kind(const char *item, size_t length, unsigned int *mask)
{
    if (length == 3 && !strncasecmp(item, "all", 3)) {
        *mask |= VMEVENT_KINDS_ALL;
        return 0;
    }
    for (size_t i = 0; i < VMEVENT_KIND_COUNT; i++) {
        if (strlen(vmevent_kind_names[i]) == length &&
            !strncasecmp(item, vmevent_kind_names[i], length)) {
            *mask |= 1u << i;
            return 0;
        }
    }
    return -EINVAL;
}

int
vmevent_parse_kinds(const char *text, unsigned int *kinds, char *err,
                    size_t err_size)
{
    unsigned int mask = 0;
    size_t total;
    const char *p = text;

    if (!text) {
        snprintf(err, err_size, "no event kinds given");
        return -EINVAL;
    }
    total = strnlen(text, VMEVENT_FILTER_MAX_LENGTH + 1);
    if (total > VMEVENT_FILTER_MAX_LENGTH) {
        snprintf(err, err_size, "event list longer than %d bytes",
                 VMEVENT_FILTER_MAX_LENGTH);
        return -EINVAL;
    }
    for (;;) {
        const char *comma = strchr(p, ',');
        const char *end = comma ? comma : p + strlen(p);
        const char *start = p;

        while (start < end && isspace((unsigned char) *start)) {
            start++;
        }
        while (end > start && isspace((unsigned char) end[-1])) {
            end--;
        }
        if (start == end) {
            snprintf(err, err_size, "empty event kind in '%s' (expected a "
                     "comma-separated list of lifecycle, watchdog, io_error, "
                     "io_error_reason, control_error, reconcile or all)",
                     text);
            return -EINVAL;
        }
        if (vmevent_parse_kind(start, (size_t) (end - start), &mask)) {
            snprintf(err, err_size, "unknown event kind '%.*s' (expected "
                     "lifecycle, watchdog, io_error, io_error_reason, "
                     "control_error, reconcile or all)",
                     (int) (end - start), start);
            return -EINVAL;
        }
        if (!comma) {
            break;
        }
        p = comma + 1;
    }
    *kinds = mask;
    return 0;
}

const char *
vmevent_lifecycle_name(int event, char *buf, size_t size)
{
    return vmevent_lookup(vmevent_lifecycle_names,
                          ARRAY_LENGTH(vmevent_lifecycle_names), event, buf,
                          size);
}

const char *
vmevent_lifecycle_detail_name(int event, int detail, char *buf, size_t size)
{
    const struct vmevent_table *t;

    if (event < 0 || (size_t) event >= ARRAY_LENGTH(vmevent_detail_tables)) {
        snprintf(buf, size, "UNKNOWN_%d", detail);
        return buf;
    }
    t = &vmevent_detail_tables[event];
    return vmevent_lookup(t->names, t->length, detail, buf, size);
}

const char *
vmevent_watchdog_action_name(int action, char *buf, size_t size)
{
    return vmevent_lookup(vmevent_watchdog_names,
                          ARRAY_LENGTH(vmevent_watchdog_names), action, buf,
                          size);
}

const char *
vmevent_io_error_action_name(int action, char *buf, size_t size)
{
    return vmevent_lookup(vmevent_io_error_names,
                          ARRAY_LENGTH(vmevent_io_error_names), action, buf,
                          size);
}

const char *
vmevent_state_name(int state, char *buf, size_t size)
{
    return vmevent_lookup(vmevent_state_names,
                          ARRAY_LENGTH(vmevent_state_names), state, buf, size);
}

const char *
vmevent_state_reason_name(int state, int reason, char *buf, size_t size)
{
    const struct vmevent_table *t;

    if (state < 0 || (size_t) state >= ARRAY_LENGTH(vmevent_reason_tables)) {
        snprintf(buf, size, "UNKNOWN_%d", reason);
        return buf;
    }
    t = &vmevent_reason_tables[state];
    return vmevent_lookup(t->names, t->length, reason, buf, size);
}

const char *
vmevent_close_reason_name(int reason, char *buf, size_t size)
{
    return vmevent_lookup(vmevent_close_reason_names,
                          ARRAY_LENGTH(vmevent_close_reason_names), reason,
                          buf, size);
}

/* True for the SUSPENDED details that mean the VM stopped on a fault. */
static bool
vmevent_suspended_is_fault(int detail)
{
    switch (detail) {
    case VIR_DOMAIN_EVENT_SUSPENDED_IOERROR:
    case VIR_DOMAIN_EVENT_SUSPENDED_WATCHDOG:
    case VIR_DOMAIN_EVENT_SUSPENDED_API_ERROR:
    case VIR_DOMAIN_EVENT_SUSPENDED_POSTCOPY_FAILED:
        return true;
    default:
        return false;
    }
}

enum vmevent_status
vmevent_lifecycle_status(int event, int detail)
{
    switch (event) {
    case VIR_DOMAIN_EVENT_STOPPED:
        /* Migrated away: the VM lives on at the destination. */
        return detail == VIR_DOMAIN_EVENT_STOPPED_MIGRATED ? VMEVENT_IGNORE
                                                          : VMEVENT_DOWN;
    case VIR_DOMAIN_EVENT_CRASHED:
        return VMEVENT_DOWN;
    case VIR_DOMAIN_EVENT_SUSPENDED:
        return vmevent_suspended_is_fault(detail) ? VMEVENT_DOWN
                                                  : VMEVENT_IGNORE;
    case VIR_DOMAIN_EVENT_STARTED:
    case VIR_DOMAIN_EVENT_RESUMED:
        return VMEVENT_UP;
    default:
        return VMEVENT_IGNORE;
    }
}

int
vmevent_lifecycle_running(int event, int detail)
{
    switch (event) {
    case VIR_DOMAIN_EVENT_STOPPED:
    case VIR_DOMAIN_EVENT_CRASHED:
        return 0;
    case VIR_DOMAIN_EVENT_SUSPENDED:
        return vmevent_suspended_is_fault(detail) ? 0 : -1;
    case VIR_DOMAIN_EVENT_STARTED:
    case VIR_DOMAIN_EVENT_RESUMED:
        return 1;
    default:
        return -1;
    }
}

bool
vmevent_state_is_running(int state, int reason)
{
    switch (state) {
    case VIR_DOMAIN_RUNNING:
    case VIR_DOMAIN_BLOCKED:
    case VIR_DOMAIN_SHUTDOWN:
    case VIR_DOMAIN_PMSUSPENDED:
        return true;
    case VIR_DOMAIN_PAUSED:
        switch (reason) {
        case VIR_DOMAIN_PAUSED_IOERROR:
        case VIR_DOMAIN_PAUSED_WATCHDOG:
        case VIR_DOMAIN_PAUSED_CRASHED:
        case VIR_DOMAIN_PAUSED_POSTCOPY_FAILED:
            return false;
        default:
            return true;
        }
    default:
        return false;
    }
}

/* Copies 'src' (NULL for "") into 'dst' of 'size' bytes, cutting it. */
static void
vmevent_copy(char *dst, size_t size, const char *src)
{
    snprintf(dst, size, "%s", src ? src : "");
}

void
vmevent_init(struct vmevent *ev, enum vmevent_kind kind, const char *uuid,
             const char *name, int64_t detected_ns, int64_t time_ns)
{
    memset(ev, 0, sizeof *ev);
    ev->kind = kind;
    vmevent_copy(ev->instance_uuid, sizeof ev->instance_uuid, uuid);
    vmevent_copy(ev->instance_name, sizeof ev->instance_name, name);
    ev->detected_ns = detected_ns;
    ev->time_ns = time_ns;
}

void
vmevent_set_lifecycle(struct vmevent *ev, int event, int detail)
{
    char buf[VMEVENT_NAME_SIZE];

    vmevent_copy(ev->event, sizeof ev->event,
                 vmevent_lifecycle_name(event, buf, sizeof buf));
    vmevent_copy(ev->detail, sizeof ev->detail,
                 vmevent_lifecycle_detail_name(event, detail, buf,
                                               sizeof buf));
    ev->up = vmevent_lifecycle_status(event, detail) == VMEVENT_UP;
}

void
vmevent_set_watchdog(struct vmevent *ev, int action)
{
    char buf[VMEVENT_NAME_SIZE];
    const char *name = vmevent_watchdog_action_name(action, buf, sizeof buf);

    vmevent_copy(ev->event, sizeof ev->event, "WATCHDOG");
    vmevent_copy(ev->detail, sizeof ev->detail, name);
    vmevent_copy(ev->action, sizeof ev->action, name);
    ev->up = false;
}

void
vmevent_set_io_error(struct vmevent *ev, const char *path, const char *device,
                     int action, const char *reason)
{
    char buf[VMEVENT_NAME_SIZE];
    const char *name = vmevent_io_error_action_name(action, buf, sizeof buf);

    vmevent_copy(ev->event, sizeof ev->event, "IO_ERROR");
    vmevent_copy(ev->detail, sizeof ev->detail, name);
    vmevent_copy(ev->action, sizeof ev->action, name);
    vmevent_copy(ev->path, sizeof ev->path, path);
    vmevent_copy(ev->device, sizeof ev->device, device);
    vmevent_copy(ev->reason, sizeof ev->reason, reason);
    ev->up = false;
}

void
vmevent_set_control_error(struct vmevent *ev)
{
    vmevent_copy(ev->event, sizeof ev->event, "CONTROL_ERROR");
    vmevent_copy(ev->detail, sizeof ev->detail, "NONE");
    ev->up = false;
}

void
vmevent_set_reconcile(struct vmevent *ev, bool up, int state, int reason)
{
    char buf[VMEVENT_NAME_SIZE];

    vmevent_copy(ev->event, sizeof ev->event, "RECONCILE");
    ev->up = up;
    if (state < 0) {
        vmevent_copy(ev->detail, sizeof ev->detail, "UNDEFINED");
        vmevent_copy(ev->state, sizeof ev->state, "UNDEFINED");
        return;
    }
    vmevent_copy(ev->state, sizeof ev->state,
                 vmevent_state_name(state, buf, sizeof buf));
    vmevent_copy(ev->state_reason, sizeof ev->state_reason,
                 vmevent_state_reason_name(state, reason, buf, sizeof buf));
    vmevent_copy(ev->detail, sizeof ev->detail, ev->state_reason);
}

/* Sets details[key] = value unless 'value' is empty. */
static int
vmevent_detail(struct doctor_event *de, const char *key, const char *value)
{
    return value[0] ? doctor_event_set_detail(de, key, value) : 0;
}

int
vmevent_to_doctor(const struct vmevent *ev, const char *hostname,
                  struct doctor_event *out)
{
    struct doctor_event de;
    char id[VUUID_STRING_SIZE];
    int ret;

    memset(&de, 0, sizeof de);
    ret = vuuid_generate(id);
    if (ret) {
        goto out;
    }
    ret = doctor_event_init(&de);
    if (ret) {
        goto out;
    }
    snprintf(de.type, sizeof de.type, "%s",
             ev->up ? "compute.instance.up" : "compute.instance.down");
    snprintf(de.id, sizeof de.id, "%s", id);
    de.time_ns = ev->time_ns;
    de.stamps[DOCTOR_T01] = ev->detected_ns;
    if ((ret = doctor_event_set_detail(&de, "hostname", hostname)) ||
        (ret = doctor_event_set_detail(&de, "status",
                                       ev->up ? "up" : "down")) ||
        (ret = doctor_event_set_detail(&de, "monitor", "vigil-monitor")) ||
        (ret = doctor_event_set_detail(&de, "monitor_event_id", id)) ||
        (ret = doctor_event_set_detail(&de, "instance_uuid",
                                       ev->instance_uuid)) ||
        (ret = doctor_event_set_detail(&de, "instance_name",
                                       ev->instance_name)) ||
        (ret = doctor_event_set_detail(&de, "libvirt_event", ev->event)) ||
        (ret = vmevent_detail(&de, "libvirt_detail", ev->detail)) ||
        (ret = vmevent_detail(&de, "libvirt_device", ev->device)) ||
        (ret = vmevent_detail(&de, "libvirt_path", ev->path)) ||
        (ret = vmevent_detail(&de, "libvirt_action", ev->action)) ||
        (ret = vmevent_detail(&de, "libvirt_reason", ev->reason)) ||
        (ret = vmevent_detail(&de, "libvirt_state", ev->state)) ||
        (ret = vmevent_detail(&de, "libvirt_state_reason",
                              ev->state_reason))) {
        goto out;
    }
    *out = de;
    memset(&de, 0, sizeof de);
out:
    doctor_event_clear(&de);
    return ret;
}
