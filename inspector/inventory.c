/* inventory: host -> VM map and its synchronisation with Nova (see
 * inventory.h).
 *
 * Servers live in a strmap by UUID and, through a doubly linked list, in
 * their host's entry (a strmap by host name), so moving, removing and
 * listing a host's servers cost O(1) per server. Each server carries the
 * generation in which it was last placed; a full listing bumps the
 * generation first and removes, at its end, the servers of older ones.
 *
 * The Nova synchronisation is a chain of calls per round: discovery (until
 * Nova is ready), services, then servers (a full listing or changes-since,
 * page by page), after which a timer schedules the next round. A failed
 * round is retried sooner, with a doubling delay. */
#include "inventory.h"

#include <ctype.h>
#include <errno.h>
#include <event2/event.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nova.h"
#include "strmap.h"
#include "vtime.h"
#include "vuuid.h"

#define INVENTORY_DEFAULT_MAX_SERVERS 1000000
#define INVENTORY_DEFAULT_MAX_HOSTS 100000
#define INVENTORY_DEFAULT_OVERLAP_NS (2LL * 1000000000LL)
#define INVENTORY_DEFAULT_RETRY_NS (500LL * 1000000LL)
#define INVENTORY_MAX_DOMAINS 4096

struct inventory_server;

struct inventory_host {
    char name[INVENTORY_HOST_SIZE];
    struct inventory_server *servers;     /* newest first */
    size_t count;
    char service_id[INVENTORY_SERVICE_ID_SIZE];   /* "" when unknown */
    bool forced_down;
};

struct inventory_server {
    char uuid[INVENTORY_UUID_SIZE];
    struct inventory_host *host;
    struct inventory_server *prev, *next;
    uint64_t generation;
};

enum inventory_step {
    INVENTORY_STEP_IDLE,
    INVENTORY_STEP_DISCOVERY,
    INVENTORY_STEP_SERVICES,
    INVENTORY_STEP_SERVERS,
    INVENTORY_STEP_COUNT
};

struct inventory {
    struct strmap *servers;       /* uuid -> struct inventory_server */
    struct strmap *hosts;         /* name -> struct inventory_host */
    size_t max_servers;
    size_t max_hosts;
    uint64_t generation;

    /* Nova synchronisation */
    struct inventory_sync_options sync;
    bool syncing;
    struct event *timer;
    enum inventory_step step;
    bool full;                    /* the round lists everything */
    bool synced;                  /* a full listing completed */
    int64_t last_full_ns;         /* CLOCK_MONOTONIC of its start */
    int64_t since_real_ns;        /* next changes-since (epoch ns) */
    int64_t round_real_ns;        /* wall clock at the round's start */
    int64_t round_mono_ns;
    int64_t retry_ns;             /* current retry delay */
    struct inventory_report report;
};

/* ---- the map ------------------------------------------------------------- */

struct inventory *
inventory_new(const struct inventory_options *o)
{
    struct inventory *inv = calloc(1, sizeof *inv);

    if (!inv) {
        return NULL;
    }
    inv->servers = strmap_new();
    inv->hosts = strmap_new();
    if (!inv->servers || !inv->hosts) {
        inventory_free(inv);
        return NULL;
    }
    inv->max_servers = o && o->max_servers ? o->max_servers
                                           : INVENTORY_DEFAULT_MAX_SERVERS;
    inv->max_hosts = o && o->max_hosts ? o->max_hosts
                                       : INVENTORY_DEFAULT_MAX_HOSTS;
    inv->generation = 1;
    return inv;
}

static bool
inventory_free_server(const char *key, void *value, void *arg)
{
    (void) key;
    (void) arg;
    free(value);
    return true;
}

void
inventory_free(struct inventory *inv)
{
    if (!inv) {
        return;
    }
    if (inv->timer) {
        event_free(inv->timer);
    }
    if (inv->servers) {
        strmap_foreach(inv->servers, inventory_free_server, NULL);
    }
    if (inv->hosts) {
        strmap_foreach(inv->hosts, inventory_free_server, NULL);
    }
    strmap_free(inv->servers);
    strmap_free(inv->hosts);
    free(inv);
}

static struct inventory_host *
inventory_get_host(struct inventory *inv, const char *name, int *error)
{
    struct inventory_host *h = strmap_get(inv->hosts, name);

    if (h) {
        return h;
    }
    if (strlen(name) >= INVENTORY_HOST_SIZE) {
        *error = -EINVAL;
        return NULL;
    }
    if (strmap_length(inv->hosts) >= inv->max_hosts) {
        *error = -ENOSPC;
        return NULL;
    }
    h = calloc(1, sizeof *h);
    if (!h) {
        *error = -ENOMEM;
        return NULL;
    }
    memcpy(h->name, name, strlen(name) + 1);
    if (strmap_put(inv->hosts, name, h, NULL)) {
        free(h);
        *error = -ENOMEM;
        return NULL;
    }
    return h;
}

/* Drops a host entry that holds nothing any more. */
static void
inventory_maybe_drop_host(struct inventory *inv, struct inventory_host *h)
{
    if (h && !h->count && !h->service_id[0]) {
        strmap_remove(inv->hosts, h->name);
        free(h);
    }
}

static void
inventory_unlink(struct inventory_server *s)
{
    struct inventory_host *h = s->host;

    if (s->prev) {
        s->prev->next = s->next;
    } else {
        h->servers = s->next;
    }
    if (s->next) {
        s->next->prev = s->prev;
    }
    s->prev = s->next = NULL;
    h->count--;
    s->host = NULL;
}

static void
inventory_link(struct inventory_host *h, struct inventory_server *s)
{
    s->host = h;
    s->prev = NULL;
    s->next = h->servers;
    if (s->next) {
        s->next->prev = s;
    }
    h->servers = s;
    h->count++;
}

static void
inventory_remove_server(struct inventory *inv, struct inventory_server *s)
{
    struct inventory_host *h = s->host;

    inventory_unlink(s);
    strmap_remove(inv->servers, s->uuid);
    free(s);
    inventory_maybe_drop_host(inv, h);
}

int
inventory_set(struct inventory *inv, const char *uuid, const char *host)
{
    struct inventory_server *s;
    struct inventory_host *h, *old;
    int error = 0;

    if (!inv || !uuid || !uuid[0] || strlen(uuid) >= INVENTORY_UUID_SIZE
        || (host && strlen(host) >= INVENTORY_HOST_SIZE)) {
        return -EINVAL;
    }
    s = strmap_get(inv->servers, uuid);
    if (!host || !host[0]) {
        if (!s) {
            return INVENTORY_UNCHANGED;
        }
        inventory_remove_server(inv, s);
        return INVENTORY_REMOVED;
    }
    if (s && !strcmp(s->host->name, host)) {
        s->generation = inv->generation;
        return INVENTORY_UNCHANGED;
    }
    if (!s && strmap_length(inv->servers) >= inv->max_servers) {
        return -ENOSPC;
    }
    h = inventory_get_host(inv, host, &error);
    if (!h) {
        return error;
    }
    if (s) {
        old = s->host;
        inventory_unlink(s);
        inventory_link(h, s);
        s->generation = inv->generation;
        inventory_maybe_drop_host(inv, old);
        return INVENTORY_MOVED;
    }
    s = calloc(1, sizeof *s);
    if (!s) {
        inventory_maybe_drop_host(inv, h);
        return -ENOMEM;
    }
    memcpy(s->uuid, uuid, strlen(uuid) + 1);
    s->generation = inv->generation;
    if (strmap_put(inv->servers, uuid, s, NULL)) {
        free(s);
        inventory_maybe_drop_host(inv, h);
        return -ENOMEM;
    }
    inventory_link(h, s);
    return INVENTORY_ADDED;
}

static int
inventory_count_change(int change, size_t counts[INVENTORY_CHANGE_COUNT],
                       int *first_error)
{
    if (change < 0) {
        if (!*first_error) {
            *first_error = change;
        }
        return change;
    }
    if (counts) {
        counts[change]++;
    }
    return 0;
}

int
inventory_apply_servers(struct inventory *inv,
                        const struct nova_server *servers, size_t length,
                        size_t counts[INVENTORY_CHANGE_COUNT])
{
    int error = 0;

    for (size_t i = 0; i < length; i++) {
        const struct nova_server *sv = &servers[i];
        bool gone = !strcmp(sv->status, "DELETED") || !sv->host[0];

        inventory_count_change(inventory_set(inv, sv->id,
                                             gone ? NULL : sv->host),
                               counts, &error);
    }
    return error;
}

void
inventory_sync_begin(struct inventory *inv)
{
    inv->generation++;
}

struct inventory_sweep {
    struct inventory *inv;
    uint64_t generation;
    size_t removed;
};

static bool
inventory_sweep_server(const char *key, void *value, void *arg)
{
    struct inventory_sweep *sw = arg;
    struct inventory_server *s = value;

    (void) key;
    if (s->generation >= sw->generation) {
        return false;
    }
    /* Host entries left empty are dropped after the walk. */
    inventory_unlink(s);
    free(s);
    sw->removed++;
    return true;
}

static bool
inventory_sweep_host(const char *key, void *value, void *arg)
{
    struct inventory_host *h = value;

    (void) key;
    (void) arg;
    if (!h->count && !h->service_id[0]) {
        free(h);
        return true;
    }
    return false;
}

size_t
inventory_sync_end(struct inventory *inv)
{
    struct inventory_sweep sw = { inv, inv->generation, 0 };

    strmap_foreach(inv->servers, inventory_sweep_server, &sw);
    strmap_foreach(inv->hosts, inventory_sweep_host, NULL);
    return sw.removed;
}

int
inventory_merge_host(struct inventory *inv, const char *host,
                     const char *const *uuids, size_t length, bool complete,
                     size_t counts[INVENTORY_CHANGE_COUNT])
{
    struct inventory_host *h;
    struct strmap *listed = NULL;
    int error = 0;

    if (!inv || !host || !host[0] || (length && !uuids)) {
        return -EINVAL;
    }
    for (size_t i = 0; i < length; i++) {
        inventory_count_change(inventory_set(inv, uuids[i], host), counts,
                               &error);
    }
    h = strmap_get(inv->hosts, host);
    if (!complete || !h) {
        return error;
    }
    listed = strmap_new();
    if (!listed) {
        return error ? error : -ENOMEM;
    }
    for (size_t i = 0; i < length; i++) {
        if (strmap_put(listed, uuids[i], (void *) uuids[i], NULL)) {
            strmap_free(listed);
            return error ? error : -ENOMEM;
        }
    }
    for (struct inventory_server *s = h->servers, *next; s; s = next) {
        next = s->next;
        if (!strmap_get(listed, s->uuid)) {
            bool last = h->count == 1;

            inventory_remove_server(inv, s);
            if (counts) {
                counts[INVENTORY_REMOVED]++;
            }
            if (last) {
                break;          /* 'h' may be gone */
            }
        }
    }
    strmap_free(listed);
    return error;
}

int
inventory_merge_domains(struct inventory *inv, const char *host,
                        const char *domains,
                        size_t counts[INVENTORY_CHANGE_COUNT])
{
    const char **uuids = NULL;
    char *copy = NULL, *save = NULL, *tok;
    size_t n = 0;
    int ret = -EINVAL;

    if (!inv || !host || !domains) {
        goto out;
    }
    ret = -ENOMEM;
    copy = strdup(domains);
    uuids = calloc(INVENTORY_MAX_DOMAINS, sizeof *uuids);
    if (!copy || !uuids) {
        goto out;
    }
    ret = -EINVAL;
    for (tok = strtok_r(copy, ", \t\n", &save); tok;
         tok = strtok_r(NULL, ", \t\n", &save)) {
        if (!vuuid_is_valid(tok) || n == INVENTORY_MAX_DOMAINS) {
            goto out;
        }
        for (char *p = tok; *p; p++) {
            *p = (char) tolower((unsigned char) *p);
        }
        uuids[n++] = tok;
    }
    ret = inventory_merge_host(inv, host, uuids, n, true, counts);
out:
    free(uuids);
    free(copy);
    return ret;
}

const char *
inventory_host_of(const struct inventory *inv, const char *uuid)
{
    const struct inventory_server *s = uuid ? strmap_get(inv->servers, uuid)
                                            : NULL;

    return s ? s->host->name : NULL;
}

size_t
inventory_count(const struct inventory *inv, const char *host)
{
    const struct inventory_host *h = host ? strmap_get(inv->hosts, host)
                                          : NULL;

    return h ? h->count : 0;
}

size_t
inventory_list(const struct inventory *inv, const char *host,
               char (*uuids)[INVENTORY_UUID_SIZE], size_t max)
{
    const struct inventory_host *h = host ? strmap_get(inv->hosts, host)
                                          : NULL;
    size_t n = 0;

    for (const struct inventory_server *s = h ? h->servers : NULL;
         s && n < max; s = s->next) {
        memcpy(uuids[n++], s->uuid, INVENTORY_UUID_SIZE);
    }
    return n;
}

size_t
inventory_servers(const struct inventory *inv)
{
    return strmap_length(inv->servers);
}

size_t
inventory_hosts(const struct inventory *inv)
{
    return strmap_length(inv->hosts);
}

int
inventory_set_service(struct inventory *inv, const char *host,
                      const char *service_id, bool forced_down)
{
    struct inventory_host *h;
    int error = 0;

    if (!inv || !host || !host[0] || !service_id || !service_id[0]
        || strlen(service_id) >= INVENTORY_SERVICE_ID_SIZE) {
        return -EINVAL;
    }
    h = inventory_get_host(inv, host, &error);
    if (!h) {
        return error;
    }
    memcpy(h->service_id, service_id, strlen(service_id) + 1);
    h->forced_down = forced_down;
    return 0;
}

int
inventory_mark_forced_down(struct inventory *inv, const char *host,
                           bool forced_down)
{
    struct inventory_host *h = host ? strmap_get(inv->hosts, host) : NULL;

    if (!h || !h->service_id[0]) {
        return -ENOENT;
    }
    h->forced_down = forced_down;
    return 0;
}

int
inventory_get_service(const struct inventory *inv, const char *host,
                      char id[INVENTORY_SERVICE_ID_SIZE], bool *forced_down)
{
    const struct inventory_host *h = host ? strmap_get(inv->hosts, host)
                                          : NULL;

    if (!h || !h->service_id[0]) {
        return -ENOENT;
    }
    memcpy(id, h->service_id, INVENTORY_SERVICE_ID_SIZE);
    *forced_down = h->forced_down;
    return 0;
}

struct inventory_forced_walk {
    inventory_host_fn *fn;
    void *arg;
};

static bool
inventory_visit_forced(const char *key, void *value, void *arg)
{
    const struct inventory_host *h = value;
    struct inventory_forced_walk *w = arg;

    if (h->service_id[0] && h->forced_down) {
        w->fn(key, w->arg);
    }
    return false;
}

void
inventory_foreach_forced_down(const struct inventory *inv,
                              inventory_host_fn *fn, void *arg)
{
    struct inventory_forced_walk w = { fn, arg };

    /* strmap_foreach() does not modify the map when nothing is removed. */
    strmap_foreach((struct strmap *) inv->hosts, inventory_visit_forced, &w);
}

int
inventory_load_static(struct inventory *inv, const char *path,
                      size_t *loaded, char *err, size_t err_size)
{
    json_t *root = NULL;
    const json_t *hosts, *list, *uuid;
    const char *host;
    json_error_t jerr;
    size_t n = 0, i;
    int ret = -EINVAL;
    FILE *f = NULL;
    char *text = NULL;
    size_t size;

    f = fopen(path, "rb");
    if (!f) {
        ret = -errno;
        snprintf(err, err_size, "%s: %s", path, strerror(-ret));
        goto out;
    }
    text = malloc(INVENTORY_MAX_STATIC_SIZE + 1);
    if (!text) {
        ret = -ENOMEM;
        snprintf(err, err_size, "%s: out of memory", path);
        goto out;
    }
    size = fread(text, 1, INVENTORY_MAX_STATIC_SIZE + 1, f);
    if (ferror(f) || size > INVENTORY_MAX_STATIC_SIZE) {
        ret = ferror(f) ? -EIO : -EFBIG;
        snprintf(err, err_size, "%s: %s", path, ferror(f)
                 ? "read error" : "larger than the 64 MiB allowed");
        goto out;
    }
    root = json_loadb(text, size, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        snprintf(err, err_size, "%s:%d: %s", path, jerr.line, jerr.text);
        goto out;
    }
    hosts = json_object_get(root, "hosts");
    if (!hosts) {
        hosts = root;
    }
    if (!json_is_object(hosts)) {
        snprintf(err, err_size, "%s: expected {\"HOST\": [\"UUID\", ...]}",
                 path);
        goto out;
    }
    json_object_foreach((json_t *) hosts, host, list) {
        if (!json_is_array(list)) {
            snprintf(err, err_size, "%s: host %.200s: expected a list of "
                     "UUIDs", path, host);
            goto out;
        }
        json_array_foreach(list, i, uuid) {
            const char *s = json_string_value(uuid);
            int r;

            if (!s || !vuuid_is_valid(s)) {
                snprintf(err, err_size, "%s: host %.200s, entry %zu: not a "
                         "UUID", path, host, i);
                goto out;
            }
            r = inventory_set(inv, s, host);
            if (r < 0) {
                ret = r;
                snprintf(err, err_size, "%s: host %.200s: %s", path, host,
                         strerror(-r));
                goto out;
            }
            n++;
        }
    }
    if (loaded) {
        *loaded = n;
    }
    ret = 0;
out:
    json_decref(root);
    free(text);
    if (f) {
        fclose(f);
    }
    return ret;
}

/* ---- synchronisation with Nova ------------------------------------------ */

static void inventory_step_discovery(struct inventory *inv);
static void inventory_step_services(struct inventory *inv);
static void inventory_step_servers(struct inventory *inv);

static void
inventory_arm(struct inventory *inv, int64_t delay_ns)
{
    struct timeval tv = {
        .tv_sec = (time_t) (delay_ns / 1000000000),
        .tv_usec = (suseconds_t) (delay_ns % 1000000000 / 1000),
    };

    evtimer_add(inv->timer, &tv);
}

static void
inventory_emit(struct inventory *inv, const char *what, const char *error)
{
    inv->report.what = what;
    inv->report.error = error;
    inv->report.servers = strmap_length(inv->servers);
    inv->report.hosts = strmap_length(inv->hosts);
    inv->report.duration_ns = vtime_mono_ns() - inv->round_mono_ns;
    if (inv->sync.on_report) {
        inv->sync.on_report(inv, &inv->report, inv->sync.arg);
    }
}

/* The round failed at 'what': report, retry after a doubling delay. */
static void
inventory_round_failed(struct inventory *inv, const char *what,
                       const char *error)
{
    inv->step = INVENTORY_STEP_IDLE;
    inventory_emit(inv, what, error);
    inventory_arm(inv, inv->retry_ns);
    inv->retry_ns *= 2;
    if (inv->retry_ns > inv->sync.interval_ns) {
        inv->retry_ns = inv->sync.interval_ns;
    }
}

static void
inventory_round_done(struct inventory *inv)
{
    inv->step = INVENTORY_STEP_IDLE;
    inv->retry_ns = inv->sync.retry_ns;
    inventory_arm(inv, inv->sync.interval_ns);
}

static void
inventory_on_discovered(struct nova *nova, const struct nova_result *r,
                        void *arg)
{
    struct inventory *inv = arg;

    (void) nova;
    if (r->error) {
        inventory_round_failed(inv, "discovery", r->error);
        return;
    }
    inventory_step_services(inv);
}

static void
inventory_step_discovery(struct inventory *inv)
{
    int ret;

    inv->step = INVENTORY_STEP_DISCOVERY;
    ret = nova_discover(inv->sync.nova, inventory_on_discovered, inv);
    if (ret) {
        inventory_round_failed(inv, "discovery", strerror(-ret));
    }
}

static void
inventory_on_services(struct nova *nova, const struct nova_result *r,
                      const struct nova_service *services, size_t length,
                      void *arg)
{
    struct inventory *inv = arg;

    (void) nova;
    if (r->error) {
        inventory_round_failed(inv, "services", r->error);
        return;
    }
    for (size_t i = 0; i < length; i++) {
        inventory_set_service(inv, services[i].host, services[i].id,
                              services[i].forced_down);
    }
    inventory_step_servers(inv);
}

static void
inventory_step_services(struct inventory *inv)
{
    int ret;

    inv->step = INVENTORY_STEP_SERVICES;
    ret = nova_list_services(inv->sync.nova, NULL, inventory_on_services,
                             inv);
    if (ret) {
        inventory_round_failed(inv, "services", strerror(-ret));
    }
}

static void
inventory_on_servers(struct nova *nova, const struct nova_result *r,
                     const struct nova_server *servers, size_t length,
                     bool last, void *arg)
{
    struct inventory *inv = arg;
    const char *what = inv->full ? "full" : "changes";

    (void) nova;
    if (r->error) {
        inventory_round_failed(inv, what, r->error);
        return;
    }
    inventory_apply_servers(inv, servers, length, inv->report.counts);
    inv->report.listed += length;
    if (!last) {
        return;
    }
    if (inv->full) {
        inv->report.removed = inventory_sync_end(inv);
        inv->synced = true;
    }
    inv->since_real_ns = inv->round_real_ns - inv->sync.overlap_ns;
    inventory_emit(inv, what, NULL);
    inventory_round_done(inv);
}

static void
inventory_step_servers(struct inventory *inv)
{
    char since[VTIME_ISO_SIZE];
    int ret;

    inv->step = INVENTORY_STEP_SERVERS;
    inv->full = !inv->synced
                || (inv->sync.full_interval_ns
                    && vtime_mono_ns() - inv->last_full_ns
                           >= inv->sync.full_interval_ns);
    inv->round_real_ns = vtime_real_ns();
    if (inv->full) {
        inv->last_full_ns = vtime_mono_ns();
        inventory_sync_begin(inv);
    } else {
        vtime_format_iso(inv->since_real_ns, since, sizeof since);
    }
    ret = nova_list_servers(inv->sync.nova, inv->full ? NULL : since, NULL,
                            inventory_on_servers, inv);
    if (ret) {
        inventory_round_failed(inv, inv->full ? "full" : "changes",
                               strerror(-ret));
    }
}

static void
inventory_timer_event(evutil_socket_t fd, short what, void *arg)
{
    struct inventory *inv = arg;

    (void) fd;
    (void) what;
    if (inv->step != INVENTORY_STEP_IDLE) {
        return;
    }
    memset(&inv->report, 0, sizeof inv->report);
    inv->round_mono_ns = vtime_mono_ns();
    if (!nova_ready(inv->sync.nova)) {
        inventory_step_discovery(inv);
    } else {
        inventory_step_services(inv);
    }
}

int
inventory_start_sync(struct inventory *inv,
                     const struct inventory_sync_options *o)
{
    if (!inv || !o || !o->base || !o->nova || o->interval_ns <= 0
        || o->full_interval_ns < 0 || o->overlap_ns < 0 || o->retry_ns < 0) {
        return -EINVAL;
    }
    if (inv->syncing) {
        return -EALREADY;
    }
    inv->sync = *o;
    if (!inv->sync.overlap_ns) {
        inv->sync.overlap_ns = INVENTORY_DEFAULT_OVERLAP_NS;
    }
    if (!inv->sync.retry_ns) {
        inv->sync.retry_ns = INVENTORY_DEFAULT_RETRY_NS;
    }
    if (inv->sync.retry_ns > inv->sync.interval_ns) {
        inv->sync.retry_ns = inv->sync.interval_ns;
    }
    inv->retry_ns = inv->sync.retry_ns;
    inv->timer = evtimer_new(o->base, inventory_timer_event, inv);
    if (!inv->timer) {
        return -ENOMEM;
    }
    inv->syncing = true;
    inventory_arm(inv, 0);
    return 0;
}

bool
inventory_synced(const struct inventory *inv)
{
    return inv && inv->synced;
}

void
inventory_sync_now(struct inventory *inv)
{
    if (inv && inv->syncing && inv->step == INVENTORY_STEP_IDLE) {
        event_del(inv->timer);
        inventory_arm(inv, 0);
    }
}
