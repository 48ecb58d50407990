/* vmstate: last-seen domain states, de-duplication and reconciliation
 * (see vmstate.h).
 *
 * The map is an array sorted by UUID: lookups are binary searches, and
 * vmstate_diff() is one merge walk over two maps. A host runs at most a
 * few thousand domains, so the memmove of an insertion costs less than the
 * pointer chasing of a tree. */
#include "vmstate.h"

#include <errno.h>
#include <libvirt/libvirt.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "vuuid.h"

struct vmstate {
    struct vmstate_entry *entries;
    size_t length;
    size_t allocated;
};

struct vmstate *
vmstate_new(void)
{
    return calloc(1, sizeof(struct vmstate));
}

void
vmstate_free(struct vmstate *map)
{
    if (!map) {
        return;
    }
    free(map->entries);
    free(map);
}

size_t
vmstate_length(const struct vmstate *map)
{
    return map->length;
}

const struct vmstate_entry *
vmstate_at(const struct vmstate *map, size_t index)
{
    return index < map->length ? &map->entries[index] : NULL;
}

/* The index of 'uuid', or where it would be inserted; '*found' tells. */
static size_t
vmstate_search(const struct vmstate *map, const char *uuid, bool *found)
{
    size_t lo = 0, hi = map->length;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int cmp = strcasecmp(map->entries[mid].uuid, uuid);

        if (cmp == 0) {
            *found = true;
            return mid;
        }
        if (cmp < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    *found = false;
    return lo;
}

const struct vmstate_entry *
vmstate_find(const struct vmstate *map, const char *uuid)
{
    bool found;
    size_t i = vmstate_search(map, uuid, &found);

    return found ? &map->entries[i] : NULL;
}

/* Adds or replaces an entry with 'running' given explicitly. */
static int
vmstate_put(struct vmstate *map, const char *uuid, const char *name,
            bool running, int state, int reason)
{
    struct vmstate_entry *e;
    bool found;
    size_t i;

    if (!uuid || !vuuid_is_valid(uuid)) {
        return -EINVAL;
    }
    i = vmstate_search(map, uuid, &found);
    if (!found) {
        if (map->length >= VMSTATE_MAX_DOMAINS) {
            return -E2BIG;
        }
        if (map->length == map->allocated) {
            size_t n = map->allocated ? map->allocated * 2 : 64;
            struct vmstate_entry *grown;

            grown = realloc(map->entries, n * sizeof *grown);
            if (!grown) {
                return -ENOMEM;
            }
            map->entries = grown;
            map->allocated = n;
        }
        memmove(&map->entries[i + 1], &map->entries[i],
                (map->length - i) * sizeof *map->entries);
        map->length++;
    }
    e = &map->entries[i];
    memset(e, 0, sizeof *e);
    memcpy(e->uuid, uuid, VMEVENT_UUID_SIZE - 1);
    if (name) {
        size_t n = strnlen(name, sizeof e->name - 1);

        memcpy(e->name, name, n);
    }
    e->running = running;
    e->state = state;
    e->reason = reason;
    return 0;
}

int
vmstate_set(struct vmstate *map, const char *uuid, const char *name,
            int state, int reason)
{
    return vmstate_put(map, uuid, name,
                       vmevent_state_is_running(state, reason), state, reason);
}

void
vmstate_remove(struct vmstate *map, const char *uuid)
{
    bool found;
    size_t i = vmstate_search(map, uuid, &found);

    if (found) {
        memmove(&map->entries[i], &map->entries[i + 1],
                (map->length - i - 1) * sizeof *map->entries);
        map->length--;
    }
}

/* The coarse domain state a lifecycle event leaves behind. */
static int
vmstate_from_event(int event, int running)
{
    switch (event) {
    case VIR_DOMAIN_EVENT_STOPPED:
        return VIR_DOMAIN_SHUTOFF;
    case VIR_DOMAIN_EVENT_CRASHED:
        return VIR_DOMAIN_CRASHED;
    case VIR_DOMAIN_EVENT_SUSPENDED:
        return VIR_DOMAIN_PAUSED;
    case VIR_DOMAIN_EVENT_PMSUSPENDED:
        return VIR_DOMAIN_PMSUSPENDED;
    default:
        return running ? VIR_DOMAIN_RUNNING : VIR_DOMAIN_SHUTOFF;
    }
}

enum vmevent_status
vmstate_apply_lifecycle(struct vmstate *map, const char *uuid,
                        const char *name, int event, int detail)
{
    const struct vmstate_entry *e = vmstate_find(map, uuid);
    enum vmevent_status status = vmevent_lifecycle_status(event, detail);
    int running = vmevent_lifecycle_running(event, detail);
    bool known = e != NULL, was_running = e && e->running;

    if (event == VIR_DOMAIN_EVENT_UNDEFINED) {
        if (known && !was_running) {
            vmstate_remove(map, uuid);
        }
        return VMEVENT_IGNORE;
    }
    if (running >= 0) {
        vmstate_put(map, uuid, name, running == 1,
                    vmstate_from_event(event, running), 0);
    } else if (!known) {
        vmstate_put(map, uuid, name, false,
                    vmstate_from_event(event, 0), 0);
    }
    if (!known) {
        return status;
    }
    if ((status == VMEVENT_DOWN && !was_running) ||
        (status == VMEVENT_UP && was_running)) {
        return VMEVENT_IGNORE;
    }
    return status;
}

bool
vmstate_allow_io_error(struct vmstate *map, const char *uuid, int64_t now_ns,
                       int64_t window_ns)
{
    bool found;
    size_t i = vmstate_search(map, uuid, &found);
    struct vmstate_entry *e = found ? &map->entries[i] : NULL;

    if (!e) {
        return true;
    }
    if (e->io_error_ns && now_ns - e->io_error_ns < window_ns) {
        return false;
    }
    e->io_error_ns = now_ns;
    return true;
}

/* Appends one reconciliation event to the array being built. */
static int
vmstate_emit(struct vmevent **events, size_t *length, size_t *allocated,
             const struct vmstate_entry *e, bool up, int state, int reason,
             int64_t detected_ns, int64_t time_ns)
{
    struct vmevent *ev;

    if (*length == *allocated) {
        size_t n = *allocated ? *allocated * 2 : 8;
        struct vmevent *grown = realloc(*events, n * sizeof *grown);

        if (!grown) {
            return -ENOMEM;
        }
        *events = grown;
        *allocated = n;
    }
    ev = &(*events)[(*length)++];
    vmevent_init(ev, VMEVENT_RECONCILE, e->uuid, e->name, detected_ns,
                 time_ns);
    vmevent_set_reconcile(ev, up, state, reason);
    return 0;
}

int
vmstate_diff(const struct vmstate *before, const struct vmstate *after,
             int64_t detected_ns, int64_t time_ns, struct vmevent **eventsp,
             size_t *lengthp)
{
    struct vmevent *events = NULL;
    size_t length = 0, allocated = 0, i = 0, j = 0;
    int ret = 0;

    while (ret == 0 && (i < before->length || j < after->length)) {
        const struct vmstate_entry *b = i < before->length
                                        ? &before->entries[i] : NULL;
        const struct vmstate_entry *a = j < after->length
                                        ? &after->entries[j] : NULL;
        int cmp = !b ? 1 : !a ? -1 : strcasecmp(b->uuid, a->uuid);

        if (cmp < 0) {
            /* Gone since we last looked. */
            if (b->running) {
                ret = vmstate_emit(&events, &length, &allocated, b, false, -1,
                                   0, detected_ns, time_ns);
            }
            i++;
        } else if (cmp > 0) {
            /* New since we last looked. */
            if (a->running) {
                ret = vmstate_emit(&events, &length, &allocated, a, true,
                                   a->state, a->reason, detected_ns, time_ns);
            }
            j++;
        } else {
            if (b->running != a->running) {
                ret = vmstate_emit(&events, &length, &allocated, a,
                                   a->running, a->state, a->reason,
                                   detected_ns, time_ns);
            }
            i++;
            j++;
        }
    }
    if (ret) {
        free(events);
        return ret;
    }
    *eventsp = events;
    *lengthp = length;
    return 0;
}

void
vmstate_replace(struct vmstate *map, struct vmstate *from)
{
    free(map->entries);
    *map = *from;
    memset(from, 0, sizeof *from);
}
