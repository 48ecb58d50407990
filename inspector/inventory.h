/* inventory: the inspector's host -> VM map, kept ahead of any fault so
 * that a host failure never waits for a server listing.
 *
 * The map holds which server (instance UUID) runs on which compute host,
 * and each host's nova-compute service (its id, whether it is forced
 * down). It is fed from several sources, newest information winning:
 *
 *  - Nova (inventory_start_sync): the nova-compute services and a full
 *    GET /servers/detail?all_tenants=1 at start, then every
 *    'interval_ns' a changes-since listing (servers created, moved or
 *    deleted since the last one, with an overlap), and a full listing
 *    again every 'full_interval_ns' to repair any drift. A full listing
 *    forgets the servers it did not return (unless something else
 *    reported them during it);
 *  - the monitors: every compute.instance.* event places its instance on
 *    its host, and an event whose details carry "domains" (the UUIDs of
 *    all the domains a monitor's libvirt runs, comma- or space-separated)
 *    replaces that host's list (inventory_merge_host);
 *  - a static JSON map (inventory_load_static), for benchmarks and
 *    offline use: {"HOST": ["UUID", ...], ...}, optionally wrapped in
 *    {"hosts": {...}}.
 *
 * Sizes are capped (max_servers, max_hosts); past them new entries are
 * refused with -ENOSPC. Not thread-safe: one loop. */
#ifndef VIGIL_INSPECTOR_INVENTORY_H
#define VIGIL_INSPECTOR_INVENTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct inventory;
struct nova;
struct nova_server;

#define INVENTORY_UUID_SIZE 37
#define INVENTORY_HOST_SIZE 256
#define INVENTORY_SERVICE_ID_SIZE 64
#define INVENTORY_MAX_STATIC_SIZE (64 * 1024 * 1024)

struct inventory_options {
    size_t max_servers;           /* 0: 1,000,000 */
    size_t max_hosts;             /* 0: 100,000 */
};

/* NULL on allocation failure. */
struct inventory *inventory_new(const struct inventory_options *options);

/* Frees 'inv'. When it synchronises with Nova, free that nova client first
 * (its outstanding calls then end unseen). Accepts NULL. */
void inventory_free(struct inventory *inv);

/* What a change did to the map. */
enum inventory_change {
    INVENTORY_UNCHANGED,
    INVENTORY_ADDED,
    INVENTORY_MOVED,              /* was on another host */
    INVENTORY_REMOVED,
    INVENTORY_CHANGE_COUNT
};

/* Places server 'uuid' on 'host' (NULL or "": on no host, i.e. forgets
 * it). Returns the change (>= 0), or -EINVAL (uuid empty or too long, host
 * too long), -ENOSPC (a cap reached), -ENOMEM. */
int inventory_set(struct inventory *inv, const char *uuid, const char *host);

/* Applies a page of a Nova listing: a DELETED server, or one on no host,
 * is removed, any other is placed on its host. Adds what happened to
 * 'counts' (indexed by enum inventory_change; may be NULL). 0, or the
 * first error of inventory_set() (the rest of the page is still
 * applied). */
int inventory_apply_servers(struct inventory *inv,
                            const struct nova_server *servers, size_t length,
                            size_t counts[INVENTORY_CHANGE_COUNT]);

/* A full listing: inventory_sync_begin(), the pages through
 * inventory_apply_servers(), then inventory_sync_end(), which removes the
 * servers nobody placed since inventory_sync_begin() and returns how many
 * it removed. */
void inventory_sync_begin(struct inventory *inv);
size_t inventory_sync_end(struct inventory *inv);

/* Makes 'uuids' the servers of 'host': adds (or moves here) those listed
 * and, when 'complete', removes the servers of 'host' not listed. Adds to
 * 'counts' (may be NULL). 0 or the first error of inventory_set(). */
int inventory_merge_host(struct inventory *inv, const char *host,
                         const char *const *uuids, size_t length,
                         bool complete,
                         size_t counts[INVENTORY_CHANGE_COUNT]);

/* Splits a monitor's "domains" detail (UUIDs separated by commas and/or
 * white space) and merges it as the complete list of 'host'. 0, -EINVAL
 * (an entry that is not a UUID: nothing is merged) or an error of
 * inventory_set(). */
int inventory_merge_domains(struct inventory *inv, const char *host,
                            const char *domains,
                            size_t counts[INVENTORY_CHANGE_COUNT]);

/* The host of 'uuid', or NULL. Valid until the next change. */
const char *inventory_host_of(const struct inventory *inv, const char *uuid);

/* Servers on 'host'. */
size_t inventory_count(const struct inventory *inv, const char *host);

/* Copies the UUIDs of the servers on 'host' into 'uuids' (room for 'max'),
 * in a stable order (most recently placed first); returns how many were
 * copied (at most 'max'). */
size_t inventory_list(const struct inventory *inv, const char *host,
                      char (*uuids)[INVENTORY_UUID_SIZE], size_t max);

size_t inventory_servers(const struct inventory *inv);
size_t inventory_hosts(const struct inventory *inv);

/* Records host's nova-compute service. 0, -EINVAL, -ENOSPC, -ENOMEM. */
int inventory_set_service(struct inventory *inv, const char *host,
                          const char *service_id, bool forced_down);

/* Records whether host's known service is forced down (after a
 * force-down or its undo). 0, or -ENOENT when no service is known. */
int inventory_mark_forced_down(struct inventory *inv, const char *host,
                               bool forced_down);

/* Copies host's service id into 'id' (INVENTORY_SERVICE_ID_SIZE bytes) and
 * whether it is forced down. 0, or -ENOENT when unknown. */
int inventory_get_service(const struct inventory *inv, const char *host,
                          char id[INVENTORY_SERVICE_ID_SIZE],
                          bool *forced_down);

/* Calls 'fn' for every host whose service is forced down. */
typedef void inventory_host_fn(const char *host, void *arg);
void inventory_foreach_forced_down(const struct inventory *inv,
                                   inventory_host_fn *fn, void *arg);

/* Loads a static map (see above) from 'path' (at most
 * INVENTORY_MAX_STATIC_SIZE bytes), adding to what the map holds. 0 with
 * the number of servers loaded in '*loaded' (may be NULL); -errno with a
 * reason in 'err' naming the file. */
int inventory_load_static(struct inventory *inv, const char *path,
                          size_t *loaded, char *err, size_t err_size);

/* ---- synchronisation with Nova ---------------------------------------- */

/* What one synchronisation round did, for the daemon's log. */
struct inventory_report {
    const char *what;             /* "discovery", "services", "full",
                                   * "changes" */
    const char *error;            /* NULL on success */
    size_t counts[INVENTORY_CHANGE_COUNT];
    size_t removed;               /* full: not listed any more */
    size_t listed;                /* servers Nova returned */
    size_t servers, hosts;        /* map size afterwards */
    int64_t duration_ns;
};

typedef void inventory_report_fn(struct inventory *inv,
                                 const struct inventory_report *report,
                                 void *arg);

struct inventory_sync_options {
    struct event_base *base;
    struct nova *nova;            /* must outlive the inventory's sync */
    int64_t interval_ns;          /* changes-since period, > 0 */
    int64_t full_interval_ns;     /* full listing period; 0: never again */
    int64_t overlap_ns;           /* changes-since reaches back this much
                                   * further; 0: 2 s */
    int64_t retry_ns;             /* first retry after a failure (doubling
                                   * up to interval_ns); 0: 500 ms */
    inventory_report_fn *on_report;   /* may be NULL */
    void *arg;
};

/* Starts keeping the map in step with Nova: discovery (when Nova is not
 * ready), services, full listing at once, then the periodic rounds. 0,
 * -EINVAL, -EALREADY, -ENOMEM. */
int inventory_start_sync(struct inventory *inv,
                         const struct inventory_sync_options *options);

/* True once a full listing has completed. */
bool inventory_synced(const struct inventory *inv);

/* Starts a round now unless one is under way (tests, operators). */
void inventory_sync_now(struct inventory *inv);

#endif
