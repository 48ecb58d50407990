/* host_fault: host incidents - fencing, alarms first, Nova in parallel,
 * debounced recovery, persisted state (see host_fault.h).
 *
 * Each host ever seen down has a 'struct hf_host' in a strmap by name. Its
 * 'incident' number grows with every incident; every asynchronous call
 * (fencing, Nova, Neutron) carries a 'struct hf_call' naming the host and
 * the incident, so a late answer from an earlier incident changes nothing.
 * The calls are on a list so that host_fault_free() can release them: the
 * clients are freed after the handler and then never call back.
 *
 * Nova work of an incident: force-down (looking the service id up first
 * when the inventory does not know it and the cloud wants ids), one
 * reset-state per VM, the host's ports. What failed for a reason that may
 * pass (no answer, 5xx, Nova not ready yet) is retried by a per-host timer
 * with a doubling delay while the host is down, and by every repeated
 * down event. */
#include "host_fault.h"

#include <errno.h>
#include <event2/event.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "doctor_sender.h"
#include "event_log.h"
#include "fence.h"
#include "inventory.h"
#include "metrics.h"
#include "neutron.h"
#include "nova.h"
#include "strmap.h"
#include "vlog.h"
#include "vtime.h"
#include "vuuid.h"

#define MOD "host_fault"
#define HF_RETRY_INITIAL_NS (1000LL * 1000000LL)
#define HF_RETRY_MAX_NS (60LL * 1000000000LL)
#define HF_MAX_ERRORS 8           /* error strings kept per incident */
#define HF_SEND_RETRY_NS (1000LL * 1000000LL)

enum hf_state {
    HF_UP,
    HF_DOWN,
    HF_RECOVERING,
    HF_STATE_COUNT
};

static const char *const hf_state_names[HF_STATE_COUNT] = {
    [HF_UP] = "up", [HF_DOWN] = "down", [HF_RECOVERING] = "recovering",
};

struct hf_host {
    struct host_fault *hf;
    char name[DOCTOR_HOSTNAME_SIZE];
    enum hf_state state;
    uint64_t incident;

    /* the down event */
    char cause_id[DOCTOR_ID_SIZE];
    char monitor[DOCTOR_SHORT_SIZE];
    char monitor_event_id[DOCTOR_ID_SIZE];
    int64_t time_ns;
    int64_t stamps[DOCTOR_STAMP_COUNT];

    /* VMs alarmed in this incident */
    char (*vms)[INVENTORY_UUID_SIZE];
    char (*vm_ids)[VUUID_STRING_SIZE];    /* their alarms' event ids */
    unsigned char *vm_state;              /* enum hf_vm */
    size_t n_vms;
    bool alarmed;

    bool fenced;
    bool fence_running;
    bool fence_failed;
    bool nova_started;
    bool forced_down;
    bool force_down_running;
    bool force_down_failed;
    size_t resets_running, resets_done, resets_failed;
    bool ports_running, ports_done;
    size_t port_updates_running, ports_set, ports_failed;
    bool complete;                    /* the summary was logged */
    bool adopted;                     /* from Nova's forced_down at start */

    struct event *retry_timer;
    int64_t retry_ns;
    struct event *hold_timer;
    struct doctor_event up;           /* the up event being held */
    bool up_held;

    json_t *entry;                    /* GET /events; our reference */
    json_t *errors;                   /* list in 'entry' */

    uint64_t absorbed;
    uint64_t fence_runs;
    uint64_t force_down_calls;
    uint64_t reset_calls;
};

enum hf_vm {
    HF_VM_PENDING,
    HF_VM_RUNNING,
    HF_VM_DONE,
    HF_VM_FAILED,                     /* will not succeed (4xx) */
    HF_VM_RETRY,                      /* failed; may succeed later */
};

enum hf_call_kind {
    HF_CALL_FENCE,
    HF_CALL_SERVICE,
    HF_CALL_FORCE_DOWN,
    HF_CALL_UNSET,
    HF_CALL_RESET,
    HF_CALL_PORTS,
    HF_CALL_PORT,
    HF_CALL_KIND_COUNT
};

struct hf_call {
    struct hf_call *prev, *next;
    struct host_fault *hf;
    enum hf_call_kind kind;
    char host[DOCTOR_HOSTNAME_SIZE];
    uint64_t incident;
    size_t index;                     /* HF_CALL_RESET: the VM */
};

struct host_fault {
    struct host_fault_options o;
    char *db_path;                    /* o.state_db points here */
    struct strmap *hosts;
    size_t down;                      /* hosts down or recovering */
    struct hf_call *calls;
    sqlite3 *db;
    struct vlog_rate_limit rl;

    struct metrics_counter *m_outcomes[HOST_FAULT_OUTCOME_COUNT];
    struct metrics_counter *m_absorbed;
    struct metrics_counter *m_vm_alarms;
    struct metrics_counter *m_nova_ok;
    struct metrics_counter *m_nova_failed;
    struct metrics_counter *m_fence_ok;
    struct metrics_counter *m_fence_failed;
    struct metrics_histogram *m_phase[3];     /* T03, T04, T05 from T02 */
    struct metrics_gauge *m_down;
};

static const char *const hf_outcome_names[HOST_FAULT_OUTCOME_COUNT] = {
    [HOST_FAULT_INCIDENT] = "incident",
    [HOST_FAULT_REPEATED] = "repeated",
    [HOST_FAULT_FLAP] = "flap",
    [HOST_FAULT_HOLDING] = "holding",
    [HOST_FAULT_RECOVERED] = "recovered",
    [HOST_FAULT_UP_REPEATED] = "up_repeated",
    [HOST_FAULT_FORWARDED] = "forwarded",
};

const char *
host_fault_outcome_name(enum host_fault_outcome outcome)
{
    return outcome < HOST_FAULT_OUTCOME_COUNT ? hf_outcome_names[outcome]
                                              : "?";
}

/* ---- small helpers ------------------------------------------------------ */

static double
hf_seconds(int64_t ns)
{
    return (double) ns / 1e9;
}

static double
hf_ms(int64_t from, int64_t to)
{
    return from && to ? (double) (to - from) / 1e6 : -1.0;
}

static void
hf_arm(struct event *ev, int64_t delay_ns)
{
    struct timeval tv = {
        .tv_sec = (time_t) (delay_ns / 1000000000),
        .tv_usec = (suseconds_t) (delay_ns % 1000000000 / 1000),
    };

    evtimer_add(ev, &tv);
}

static bool
hf_is_type(const struct doctor_event *ev, const char *type)
{
    return !strcmp(ev->type, type);
}

bool
host_fault_handles(const struct doctor_event *ev)
{
    const char *nic, *process;

    if (!ev) {
        return false;
    }
    if (hf_is_type(ev, "compute.host.down") || hf_is_type(ev, "compute.host.up")) {
        return true;
    }
    if (strcmp(ev->type, "compute.host")) {
        return false;
    }
    /* A bare "compute.host" with a status, as some monitors send. */
    nic = json_string_value(json_object_get(ev->details, "interface"));
    process = json_string_value(json_object_get(ev->details, "process"));
    return !nic && !process && ev->status[0];
}

static bool
hf_event_is_down(const struct doctor_event *ev)
{
    return doctor_event_is_fault(ev);
}

/* ---- calls -------------------------------------------------------------- */

static struct hf_call *
hf_call_new(struct host_fault *hf, struct hf_host *h, enum hf_call_kind kind,
            size_t index)
{
    struct hf_call *c = calloc(1, sizeof *c);

    if (!c) {
        return NULL;
    }
    c->hf = hf;
    c->kind = kind;
    memcpy(c->host, h->name, sizeof c->host);
    c->incident = h->incident;
    c->index = index;
    c->next = hf->calls;
    if (c->next) {
        c->next->prev = c;
    }
    hf->calls = c;
    return c;
}

static void
hf_call_free(struct hf_call *c)
{
    struct host_fault *hf = c->hf;

    if (c->prev) {
        c->prev->next = c->next;
    } else {
        hf->calls = c->next;
    }
    if (c->next) {
        c->next->prev = c->prev;
    }
    free(c);
}

/* The host of a finished call when it still belongs to the same incident
 * (frees the call either way); NULL for a late answer. */
static struct hf_host *
hf_call_take(struct hf_call *c, bool any_incident)
{
    struct host_fault *hf = c->hf;
    struct hf_host *h = strmap_get(hf->hosts, c->host);

    if (h && !any_incident && h->incident != c->incident) {
        h = NULL;
    }
    hf_call_free(c);
    return h;
}

/* ---- state database ----------------------------------------------------- */

static int
hf_db_exec(struct host_fault *hf, const char *sql, char *err, size_t size)
{
    char *msg = NULL;

    if (sqlite3_exec(hf->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        if (err) {
            snprintf(err, size, "%s: %s", hf->o.state_db,
                     msg ? msg : sqlite3_errmsg(hf->db));
        }
        sqlite3_free(msg);
        return -EIO;
    }
    return 0;
}

static bool
hf_nova_done(const struct hf_host *h)
{
    const struct host_fault_options *o = &h->hf->o;

    return !o->nova
           || ((!o->force_down || h->forced_down)
               && (!o->reset_state || h->resets_done + h->resets_failed
                                          == h->n_vms)
               && (!o->neutron || h->ports_done));
}

/* Writes (or, for a host that is up, deletes) the row of 'h'. Failures
 * are logged: the incident goes on without persistence. */
static void
hf_persist(struct hf_host *h)
{
    struct host_fault *hf = h->hf;
    sqlite3_stmt *st = NULL;
    json_t *vms = NULL;
    char *vms_text = NULL;
    int rc;

    if (!hf->db) {
        return;
    }
    if (h->state == HF_UP) {
        rc = sqlite3_prepare_v2(hf->db, "DELETE FROM host_fault WHERE "
                                "host = ?1", -1, &st, NULL);
        if (rc == SQLITE_OK) {
            sqlite3_bind_text(st, 1, h->name, -1, SQLITE_STATIC);
            rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
        }
        goto out;
    }
    vms = json_array();
    for (size_t i = 0; vms && i < h->n_vms; i++) {
        json_array_append_new(vms, json_string(h->vms[i]));
    }
    vms_text = vms ? json_dumps(vms, JSON_COMPACT) : NULL;
    if (!vms_text) {
        rc = SQLITE_NOMEM;
        goto out;
    }
    rc = sqlite3_prepare_v2(hf->db,
        "INSERT OR REPLACE INTO host_fault (host, cause_event_id, fenced, "
        "forced_down, nova_done, adopted, since_ns, vms) VALUES "
        "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)", -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(st, 1, h->name, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, h->cause_id, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 3, h->fenced);
        sqlite3_bind_int(st, 4, h->forced_down);
        sqlite3_bind_int(st, 5, hf_nova_done(h));
        sqlite3_bind_int(st, 6, h->adopted);
        sqlite3_bind_int64(st, 7, h->time_ns);
        sqlite3_bind_text(st, 8, vms_text, -1, SQLITE_STATIC);
        rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
    }
out:
    if (rc != SQLITE_OK) {
        vlog_write_rl(&hf->rl, VLOG_LEVEL_ERR, MOD, "cannot record the "
                      "state of host %s in %s: %s", h->name, hf->o.state_db,
                      sqlite3_errmsg(hf->db));
    }
    sqlite3_finalize(st);
    free(vms_text);
    json_decref(vms);
}

/* ---- host records ------------------------------------------------------- */

static void
hf_host_clear_incident(struct hf_host *h)
{
    free(h->vms);
    free(h->vm_ids);
    free(h->vm_state);
    h->vms = NULL;
    h->vm_ids = NULL;
    h->vm_state = NULL;
    h->n_vms = 0;
    h->alarmed = false;
    h->fenced = h->fence_running = h->fence_failed = false;
    h->nova_started = h->forced_down = false;
    h->force_down_running = h->force_down_failed = false;
    h->resets_running = h->resets_done = h->resets_failed = 0;
    h->ports_running = h->ports_done = false;
    h->port_updates_running = h->ports_set = h->ports_failed = 0;
    h->complete = h->adopted = false;
    h->retry_ns = HF_RETRY_INITIAL_NS;
    memset(h->stamps, 0, sizeof h->stamps);
    json_decref(h->entry);
    h->entry = NULL;
    h->errors = NULL;
}

static void
hf_host_free(struct hf_host *h)
{
    if (!h) {
        return;
    }
    hf_host_clear_incident(h);
    if (h->retry_timer) {
        event_free(h->retry_timer);
    }
    if (h->hold_timer) {
        event_free(h->hold_timer);
    }
    doctor_event_clear(&h->up);
    free(h);
}

static void hf_retry_event(evutil_socket_t fd, short what, void *arg);
static void hf_hold_event(evutil_socket_t fd, short what, void *arg);

struct hf_evict {
    struct host_fault *hf;
    bool done;
};

/* Frees one record of a host that is up (its late answers are then
 * ignored), making room. */
static bool
hf_evict_one(const char *key, void *value, void *arg)
{
    struct hf_evict *e = arg;
    struct hf_host *h = value;

    (void) key;
    if (e->done || h->state != HF_UP) {
        return false;
    }
    hf_host_free(h);
    e->done = true;
    return true;
}

static struct hf_host *
hf_host_get(struct host_fault *hf, const char *name, bool create, int *error)
{
    struct hf_host *h = strmap_get(hf->hosts, name);

    if (h || !create) {
        return h;
    }
    if (strmap_length(hf->hosts) >= hf->o.max_hosts) {
        struct hf_evict e = { hf, false };

        strmap_foreach(hf->hosts, hf_evict_one, &e);
        if (!e.done) {
            *error = -ENOSPC;
            return NULL;
        }
    }
    h = calloc(1, sizeof *h);
    if (!h) {
        *error = -ENOMEM;
        return NULL;
    }
    h->hf = hf;
    snprintf(h->name, sizeof h->name, "%s", name);
    h->retry_ns = HF_RETRY_INITIAL_NS;
    h->retry_timer = evtimer_new(hf->o.base, hf_retry_event, h);
    h->hold_timer = evtimer_new(hf->o.base, hf_hold_event, h);
    if (!h->retry_timer || !h->hold_timer
        || strmap_put(hf->hosts, name, h, NULL)) {
        hf_host_free(h);
        *error = -ENOMEM;
        return NULL;
    }
    return h;
}

static void
hf_set_state(struct hf_host *h, enum hf_state state)
{
    struct host_fault *hf = h->hf;
    bool was_down = h->state != HF_UP, is_down = state != HF_UP;

    h->state = state;
    if (was_down != is_down) {
        hf->down += is_down ? 1 : (size_t) -1;
        metrics_gauge_set(hf->m_down, (int64_t) hf->down);
    }
    if (h->entry) {
        json_object_set_new(h->entry, "state",
                            json_string(hf_state_names[state]));
    }
}

/* ---- the GET /events entry of an incident ------------------------------ */

static void
hf_entry_stamp(struct hf_host *h, enum doctor_stamp stamp)
{
    json_t *profiler;

    if (!h->entry) {
        return;
    }
    profiler = json_object_get(h->entry, "profiler");
    if (profiler && h->stamps[stamp]) {
        json_object_set_new(profiler, doctor_stamp_name(stamp),
                            json_integer(h->stamps[stamp]));
    }
}

static void
hf_entry_update(struct hf_host *h)
{
    const struct host_fault_options *o = &h->hf->o;
    json_t *e = h->entry;

    if (!e) {
        return;
    }
    json_object_set_new(e, "fence", json_pack("{s:s,s:s}",
        "mode", fence_mode_name(fence_get_mode(o->fence)),
        "state", !o->fence ? "none" : h->fenced ? "fenced"
                 : h->fence_running ? "running"
                 : h->fence_failed ? "failed" : "pending"));
    json_object_set_new(e, "nova", json_pack("{s:s,s:b,s:I,s:I,s:I}",
        "microversion", o->nova ? nova_microversion(o->nova) : "",
        "forced_down", h->forced_down,
        "reset_done", (json_int_t) h->resets_done,
        "reset_failed", (json_int_t) h->resets_failed,
        "reset_running", (json_int_t) h->resets_running));
    if (o->neutron) {
        json_object_set_new(e, "neutron", json_pack("{s:b,s:I,s:I}",
            "done", h->ports_done, "ports_down", (json_int_t) h->ports_set,
            "failed", (json_int_t) h->ports_failed));
    }
    json_object_set_new(e, "absorbed", json_integer((json_int_t) h->absorbed));
}

static void
hf_entry_error(struct hf_host *h, const char *what, const char *error)
{
    char text[512];

    if (!h->errors || json_array_size(h->errors) >= HF_MAX_ERRORS) {
        return;
    }
    snprintf(text, sizeof text, "%s: %s", what, error);
    json_array_append_new(h->errors, json_string(text));
}

static void
hf_entry_new(struct hf_host *h)
{
    struct host_fault *hf = h->hf;
    json_t *e;

    e = json_pack("{s:s,s:s,s:s,s:s,s:I,s:{},s:[]}",
                  "class", "host_fault", "type", "compute.host.down",
                  "id", h->cause_id, "hostname", h->name,
                  "vms", (json_int_t) h->n_vms, "profiler", "errors");
    if (!e) {
        return;
    }
    h->entry = e;
    h->errors = json_object_get(e, "errors");
    json_object_set_new(e, "state", json_string(hf_state_names[h->state]));
    for (int s = DOCTOR_T00; s <= DOCTOR_T05; s++) {
        hf_entry_stamp(h, (enum doctor_stamp) s);
    }
    hf_entry_update(h);
    if (hf->o.log) {
        event_log_append(hf->o.log, json_incref(e));
    }
}

/* ---- alarms ------------------------------------------------------------- */

/* One alarm event about VM 'i' of 'h', caused by 'cause' (down or up). */
static int
hf_vm_event(struct hf_host *h, size_t i, const struct doctor_event *cause,
            bool down, struct doctor_event *ev)
{
    int ret = doctor_event_init(ev);

    if (ret) {
        return ret;
    }
    if (down) {
        snprintf(ev->id, sizeof ev->id, "%s", h->vm_ids[i]);
    } else if ((ret = vuuid_generate(ev->id))) {
        return ret;
    }
    snprintf(ev->type, sizeof ev->type, "%s",
             down ? "compute.instance.down" : "compute.instance.up");
    ev->time_ns = cause->time_ns;
    memcpy(ev->stamps, cause->stamps, sizeof ev->stamps);
    if ((ret = doctor_event_set_detail(ev, "hostname", h->name))
        || (ret = doctor_event_set_detail(ev, "status", down ? "down" : "up"))
        || (ret = doctor_event_set_detail(ev, "instance_uuid", h->vms[i]))
        || (ret = doctor_event_set_detail(ev, "monitor",
                                          cause->monitor[0] ? cause->monitor
                                                            : "vigil-inspector"))
        || (ret = doctor_event_set_detail(ev, "monitor_event_id",
                                          cause->monitor_event_id[0]
                                              ? cause->monitor_event_id
                                              : cause->id))
        || (ret = doctor_event_set_detail(ev, "cause", cause->type))
        || (ret = doctor_event_set_detail(ev, "cause_event_id", cause->id))
        || (ret = doctor_event_set_detail(ev, "source", "vigil-inspector"))) {
        return ret;
    }
    return 0;
}

/* Sends 'cause' (with "vm_count" added) and one VM event per alarmed VM as
 * one batch, stamped T06. 0 or the sender's error. */
static int
hf_send_batch(struct hf_host *h, const struct doctor_event *cause, bool down,
              bool with_vms)
{
    struct host_fault *hf = h->hf;
    size_t n = 1 + (with_vms ? h->n_vms : 0);
    struct doctor_event *batch = calloc(n, sizeof *batch);
    int64_t now;
    int ret = -ENOMEM;

    if (!batch) {
        return -ENOMEM;
    }
    batch[0] = *cause;
    batch[0].details = json_deep_copy(cause->details);
    if (!batch[0].details) {
        goto out;
    }
    json_object_set_new(batch[0].details, "vm_count",
                        json_integer((json_int_t) h->n_vms));
    for (size_t i = 1; i < n; i++) {
        ret = hf_vm_event(h, i - 1, &batch[0], down, &batch[i]);
        if (ret) {
            goto out;
        }
    }
    now = vtime_mono_ns();
    for (size_t i = 0; i < n; i++) {
        batch[i].stamps[DOCTOR_T06] = now;
    }
    ret = doctor_sender_send(hf->o.sender, batch, n);
    if (!ret) {
        metrics_counter_add(hf->m_vm_alarms, n - 1);
    }
out:
    doctor_events_free(batch, n);
    return ret;
}

/* The down event of the incident, rebuilt for a re-send. */
static int
hf_send_incident_alarms(struct hf_host *h, const struct doctor_event *ev)
{
    int ret = hf_send_batch(h, ev, true, true);

    if (ret) {
        vlog_write_rl(&h->hf->rl, VLOG_LEVEL_ERR, MOD, "host %s: the "
                      "notifier's outbox refused the %zu alarm(s) of the "
                      "incident (%s); they go with the next down event",
                      h->name, h->n_vms + 1, strerror(-ret));
        return ret;
    }
    h->alarmed = true;
    return 0;
}

/* ---- Nova --------------------------------------------------------------- */

static void hf_start_nova(struct hf_host *h);
static void hf_check_complete(struct hf_host *h);

/* Whether a failed call may succeed when tried again. */
static bool
hf_transient(long status)
{
    return status == 0 || status >= 500 || status == 429 || status == 408
           || status == 401 || status == 409;
}

static void
hf_schedule_retry(struct hf_host *h)
{
    if (h->state == HF_UP || evtimer_pending(h->retry_timer, NULL)) {
        return;
    }
    hf_arm(h->retry_timer, h->retry_ns);
    h->retry_ns *= 2;
    if (h->retry_ns > HF_RETRY_MAX_NS) {
        h->retry_ns = HF_RETRY_MAX_NS;
    }
}

static void
hf_nova_counted(struct host_fault *hf, bool ok)
{
    metrics_counter_add(ok ? hf->m_nova_ok : hf->m_nova_failed, 1);
}

static void
hf_on_force_down(struct nova *nova, const struct nova_result *r, void *arg)
{
    struct hf_call *c = arg;
    struct host_fault *hf = c->hf;
    struct hf_host *h = hf_call_take(c, false);

    (void) nova;
    hf_nova_counted(hf, !r->error);
    if (!h) {
        return;
    }
    h->force_down_running = false;
    if (r->error) {
        h->force_down_failed = true;
        hf_entry_error(h, "force-down", r->error);
        vlog_write_rl(&hf->rl, VLOG_LEVEL_ERR, MOD, "host %s: Nova "
                      "force-down failed: %s", h->name, r->error);
        if (hf_transient(r->status)) {
            hf_schedule_retry(h);
        }
    } else {
        h->forced_down = true;
        h->force_down_failed = false;
        h->stamps[DOCTOR_T04] = r->completed_ns;
        hf_entry_stamp(h, DOCTOR_T04);
        if (h->stamps[DOCTOR_T02]) {
            metrics_histogram_observe(hf->m_phase[1], hf_seconds(
                r->completed_ns - h->stamps[DOCTOR_T02]));
        }
        inventory_mark_forced_down(hf->o.inventory, h->name, true);
        hf_persist(h);
    }
    hf_entry_update(h);
    hf_check_complete(h);
}

static int
hf_force_down_with(struct hf_host *h, const char *service_id)
{
    struct host_fault *hf = h->hf;
    struct hf_call *c = hf_call_new(hf, h, HF_CALL_FORCE_DOWN, 0);
    int ret;

    if (!c) {
        return -ENOMEM;
    }
    ret = nova_force_down(hf->o.nova, h->name, service_id, true,
                          hf_on_force_down, c);
    if (ret) {
        hf_call_free(c);
        return ret;
    }
    h->force_down_running = true;
    h->force_down_calls++;
    return 0;
}

static void
hf_on_service(struct nova *nova, const struct nova_result *r,
              const struct nova_service *services, size_t length, void *arg)
{
    struct hf_call *c = arg;
    struct host_fault *hf = c->hf;
    struct hf_host *h = hf_call_take(c, false);
    const char *id = NULL;
    int ret;

    (void) nova;
    if (!h) {
        return;
    }
    h->force_down_running = false;
    for (size_t i = 0; !r->error && i < length; i++) {
        if (!strcmp(services[i].host, h->name)) {
            id = services[i].id;
            inventory_set_service(hf->o.inventory, h->name, id,
                                  services[i].forced_down);
        }
    }
    if (!id) {
        h->force_down_failed = true;
        hf_entry_error(h, "force-down", r->error ? r->error
                       : "Nova has no nova-compute service on this host");
        vlog_write_rl(&hf->rl, VLOG_LEVEL_ERR, MOD, "host %s: cannot force "
                      "it down: %s", h->name, r->error ? r->error
                      : "Nova has no nova-compute service on this host");
        if (r->error && hf_transient(r->status)) {
            hf_schedule_retry(h);
        }
        hf_entry_update(h);
        return;
    }
    ret = hf_force_down_with(h, id);
    if (ret) {
        h->force_down_failed = true;
        hf_entry_error(h, "force-down", strerror(-ret));
        hf_schedule_retry(h);
    }
}

static void
hf_start_force_down(struct hf_host *h)
{
    struct host_fault *hf = h->hf;
    char id[INVENTORY_SERVICE_ID_SIZE] = "";
    bool forced;
    int ret;

    if (!hf->o.force_down || h->forced_down || h->force_down_running) {
        return;
    }
    if (nova_force_down_api(hf->o.nova) == NOVA_FORCE_DOWN_BY_ID
        && inventory_get_service(hf->o.inventory, h->name, id, &forced)) {
        struct hf_call *c = hf_call_new(hf, h, HF_CALL_SERVICE, 0);

        ret = c ? nova_list_services(hf->o.nova, h->name, hf_on_service, c)
                : -ENOMEM;
        if (ret && c) {
            hf_call_free(c);
        }
        if (!ret) {
            h->force_down_running = true;
        }
    } else {
        ret = hf_force_down_with(h, id);
    }
    if (ret) {
        h->force_down_failed = true;
        hf_entry_error(h, "force-down", ret == -EAGAIN ? "Nova not ready "
                       "(version discovery pending)" : strerror(-ret));
        if (ret != -ENOTSUP) {
            hf_schedule_retry(h);
        }
    }
}

static void
hf_on_reset(struct nova *nova, const struct nova_result *r, void *arg)
{
    struct hf_call *c = arg;
    struct host_fault *hf = c->hf;
    size_t i = c->index;
    struct hf_host *h = hf_call_take(c, false);

    (void) nova;
    hf_nova_counted(hf, !r->error);
    if (!h || i >= h->n_vms) {
        return;
    }
    h->resets_running--;
    if (!r->error || r->status == 404) {
        /* 404: the server is gone; nothing is left to reset. */
        h->vm_state[i] = HF_VM_DONE;
        h->resets_done++;
    } else if (hf_transient(r->status)) {
        h->vm_state[i] = HF_VM_RETRY;
        hf_entry_error(h, h->vms[i], r->error);
        hf_schedule_retry(h);
    } else {
        h->vm_state[i] = HF_VM_FAILED;
        h->resets_failed++;
        hf_entry_error(h, h->vms[i], r->error);
        vlog_write_rl(&hf->rl, VLOG_LEVEL_ERR, MOD, "host %s: reset-state "
                      "of server %s failed: %s", h->name, h->vms[i],
                      r->error);
    }
    if (h->resets_done == h->n_vms && !h->stamps[DOCTOR_T05]) {
        h->stamps[DOCTOR_T05] = r->completed_ns;
        hf_entry_stamp(h, DOCTOR_T05);
        if (h->stamps[DOCTOR_T02]) {
            metrics_histogram_observe(hf->m_phase[2], hf_seconds(
                r->completed_ns - h->stamps[DOCTOR_T02]));
        }
    }
    if (!h->resets_running) {
        hf_entry_update(h);
    }
    hf_check_complete(h);
}

static void
hf_start_resets(struct hf_host *h)
{
    struct host_fault *hf = h->hf;
    bool retry = false;

    if (!hf->o.reset_state) {
        return;
    }
    if (!h->n_vms && !h->stamps[DOCTOR_T05]) {
        h->stamps[DOCTOR_T05] = vtime_mono_ns();
        hf_entry_stamp(h, DOCTOR_T05);
    }
    for (size_t i = 0; i < h->n_vms; i++) {
        struct hf_call *c;
        int ret;

        if (h->vm_state[i] != HF_VM_PENDING && h->vm_state[i] != HF_VM_RETRY) {
            continue;
        }
        c = hf_call_new(hf, h, HF_CALL_RESET, i);
        ret = c ? nova_reset_state(hf->o.nova, h->vms[i], "error",
                                   hf_on_reset, c) : -ENOMEM;
        if (ret) {
            if (c) {
                hf_call_free(c);
            }
            h->vm_state[i] = HF_VM_RETRY;
            retry = true;
            continue;
        }
        h->vm_state[i] = HF_VM_RUNNING;
        h->resets_running++;
        h->reset_calls++;
    }
    if (retry) {
        hf_entry_error(h, "reset-state", "not all calls could be started");
        hf_schedule_retry(h);
    }
}

static void
hf_on_port(struct neutron *neutron, long status, const char *error,
           void *arg)
{
    struct hf_call *c = arg;
    struct hf_host *h = hf_call_take(c, false);

    (void) neutron;
    (void) status;
    if (!h) {
        return;
    }
    h->port_updates_running--;
    if (error) {
        h->ports_failed++;
        hf_entry_error(h, "data_plane_status", error);
    } else {
        h->ports_set++;
    }
    if (!h->port_updates_running) {
        h->ports_running = false;
        h->ports_done = true;
        hf_entry_update(h);
        hf_check_complete(h);
    }
}

static void
hf_on_ports(struct neutron *neutron, long status, const char *error,
            char (*ids)[NEUTRON_ID_SIZE], size_t length, void *arg)
{
    struct hf_call *c = arg;
    struct host_fault *hf = c->hf;
    struct hf_host *h = hf_call_take(c, false);

    if (!h) {
        return;
    }
    if (error) {
        h->ports_running = false;
        hf_entry_error(h, "ports", error);
        if (hf_transient(status)) {
            hf_schedule_retry(h);
        } else {
            h->ports_done = true;
        }
        hf_entry_update(h);
        hf_check_complete(h);
        return;
    }
    for (size_t i = 0; i < length; i++) {
        struct hf_call *pc = hf_call_new(hf, h, HF_CALL_PORT, i);

        if (!pc || neutron_set_data_plane_status(neutron, ids[i], "DOWN",
                                                 hf_on_port, pc)) {
            if (pc) {
                hf_call_free(pc);
            }
            h->ports_failed++;
            continue;
        }
        h->port_updates_running++;
    }
    if (!h->port_updates_running) {
        h->ports_running = false;
        h->ports_done = true;
        hf_entry_update(h);
        hf_check_complete(h);
    }
}

static void
hf_start_ports(struct hf_host *h)
{
    struct host_fault *hf = h->hf;
    struct hf_call *c;

    if (!hf->o.neutron || h->ports_done || h->ports_running) {
        return;
    }
    c = hf_call_new(hf, h, HF_CALL_PORTS, 0);
    if (!c || neutron_list_host_ports(hf->o.neutron, h->name, hf_on_ports,
                                      c)) {
        if (c) {
            hf_call_free(c);
        }
        hf_entry_error(h, "ports", "cannot list the host's ports");
        hf_schedule_retry(h);
        return;
    }
    h->ports_running = true;
}

/* Everything Nova and Neutron still have to be told, at once. */
static void
hf_start_nova(struct hf_host *h)
{
    struct host_fault *hf = h->hf;

    if (!hf->o.nova || h->state == HF_UP) {
        return;
    }
    if (hf->o.fence && hf->o.fence_required && !h->fenced) {
        return;
    }
    h->nova_started = true;
    hf_start_force_down(h);
    hf_start_resets(h);
    hf_start_ports(h);
    hf_entry_update(h);
    hf_check_complete(h);
}

/* Logs the incident once everything it started has succeeded. */
static void
hf_check_complete(struct hf_host *h)
{
    struct host_fault *hf = h->hf;
    int64_t t02 = h->stamps[DOCTOR_T02];

    if (h->complete || !h->alarmed || h->state == HF_UP
        || (hf->o.fence && !h->fenced) || !hf_nova_done(h)
        || h->resets_running || h->port_updates_running) {
        return;
    }
    h->complete = true;
    hf_persist(h);
    if (!hf->o.nova) {
        VLOG_INFO(MOD, "host %s down, incident %s complete: %zu VM alarm(s) "
                  "handed over %.3f ms after receipt (T03)%s; no Nova",
                  h->name, h->cause_id, h->n_vms,
                  hf_ms(t02, h->stamps[DOCTOR_T03]),
                  hf->o.fence ? ", host fenced" : "");
        return;
    }
    VLOG_INFO(MOD, "host %s down, incident %s complete: %zu VM alarm(s) "
              "handed over %.3f ms after receipt (T03)%s; Nova: forced down "
              "at +%.3f ms (T04), %zu/%zu VM(s) reset to error at +%.3f ms "
              "(T05)%s", h->name, h->cause_id, h->n_vms,
              hf_ms(t02, h->stamps[DOCTOR_T03]),
              hf->o.fence ? ", host fenced" : "",
              hf_ms(t02, h->stamps[DOCTOR_T04]), h->resets_done, h->n_vms,
              hf_ms(t02, h->stamps[DOCTOR_T05]),
              h->resets_failed ? " (some resets failed)" : "");
}

/* ---- fencing ------------------------------------------------------------ */

static void
hf_on_fenced(const char *host, const struct fence_result *r, void *arg)
{
    struct hf_call *c = arg;
    struct host_fault *hf = c->hf;
    struct hf_host *h = hf_call_take(c, false);

    (void) host;
    metrics_counter_add(r->ok ? hf->m_fence_ok : hf->m_fence_failed, 1);
    if (!h) {
        return;
    }
    h->fence_running = false;
    if (r->ok) {
        h->fenced = true;
        h->fence_failed = false;
        VLOG_INFO(MOD, "host %s fenced in %.1f ms", h->name,
                  (double) r->duration_ns / 1e6);
        hf_persist(h);
        if (!h->nova_started || !hf_nova_done(h)) {
            hf_start_nova(h);
        }
    } else {
        h->fence_failed = true;
        hf_entry_error(h, "fence", r->error);
        VLOG_ERR(MOD, "host %s: fencing failed (%s)%s", h->name, r->error,
                 hf->o.fence_required ? "; Nova is not told the host is "
                 "down until fencing succeeds" : "");
        hf_schedule_retry(h);
    }
    hf_entry_update(h);
    hf_check_complete(h);
}

static void
hf_start_fence(struct hf_host *h)
{
    struct host_fault *hf = h->hf;
    struct hf_call *c;
    int ret;

    if (!hf->o.fence || h->fenced || h->fence_running) {
        return;
    }
    c = hf_call_new(hf, h, HF_CALL_FENCE, 0);
    ret = c ? fence_host(hf->o.fence, h->name, hf_on_fenced, c) : -ENOMEM;
    if (ret) {
        if (c) {
            hf_call_free(c);
        }
        h->fence_failed = true;
        hf_entry_error(h, "fence", strerror(-ret));
        VLOG_ERR(MOD, "host %s: cannot start fencing: %s", h->name,
                 strerror(-ret));
        hf_schedule_retry(h);
        return;
    }
    h->fence_running = true;
    h->fence_runs++;
}

/* Retries whatever failed in an incident (fencing, Nova, Neutron). */
static void
hf_retry_work(struct hf_host *h)
{
    if (h->state == HF_UP) {
        return;
    }
    hf_start_fence(h);
    if (h->nova_started || !h->hf->o.fence || !h->hf->o.fence_required
        || h->fenced) {
        hf_start_nova(h);
    }
    hf_entry_update(h);
}

static void
hf_retry_event(evutil_socket_t fd, short what, void *arg)
{
    (void) fd;
    (void) what;
    hf_retry_work(arg);
}

/* ---- incidents ---------------------------------------------------------- */

static int
hf_start_incident(struct hf_host *h, const struct doctor_event *ev)
{
    struct host_fault *hf = h->hf;
    size_t n;
    int ret = 0;

    hf_host_clear_incident(h);
    h->incident++;
    snprintf(h->cause_id, sizeof h->cause_id, "%s", ev->id);
    snprintf(h->monitor, sizeof h->monitor, "%s", ev->monitor);
    snprintf(h->monitor_event_id, sizeof h->monitor_event_id, "%s",
             ev->monitor_event_id);
    h->time_ns = ev->time_ns;
    memcpy(h->stamps, ev->stamps, sizeof h->stamps);
    hf_set_state(h, HF_DOWN);

    /* (1) fencing first */
    hf_start_fence(h);

    /* (2) the VMs, from the inventory kept ahead of time */
    n = inventory_count(hf->o.inventory, h->name);
    if (n > HOST_FAULT_MAX_VMS) {
        n = HOST_FAULT_MAX_VMS;
    }
    if (n) {
        h->vms = calloc(n, sizeof *h->vms);
        h->vm_ids = calloc(n, sizeof *h->vm_ids);
        h->vm_state = calloc(n, sizeof *h->vm_state);
        if (!h->vms || !h->vm_ids || !h->vm_state) {
            n = 0;
            ret = -ENOMEM;
        }
    }
    h->n_vms = inventory_list(hf->o.inventory, h->name, h->vms, n);
    for (size_t i = 0; i < h->n_vms; i++) {
        if (vuuid_generate(h->vm_ids[i])) {
            snprintf(h->vm_ids[i], sizeof h->vm_ids[i], "%.24s-%06u",
                     h->cause_id, (unsigned int) (i % 1000000));
        }
    }
    h->stamps[DOCTOR_T03] = vtime_mono_ns();
    if (h->stamps[DOCTOR_T02]) {
        metrics_histogram_observe(hf->m_phase[0], hf_seconds(
            h->stamps[DOCTOR_T03] - h->stamps[DOCTOR_T02]));
    }
    hf_entry_new(h);

    /* (2) alarms to the notifier before anything else */
    {
        struct doctor_event stamped = *ev;

        stamped.stamps[DOCTOR_T03] = h->stamps[DOCTOR_T03];
        if (!ret) {
            ret = hf_send_incident_alarms(h, &stamped);
        }
    }

    /* (3) Nova and Neutron, all at once (after fencing when required) */
    hf_start_nova(h);
    hf_persist(h);
    VLOG_INFO(MOD, "host %s down (event %s from %s): %zu VM(s) on it, "
              "alarms %s; %s%s", h->name, h->cause_id,
              ev->monitor[0] ? ev->monitor : "?", h->n_vms,
              h->alarmed ? "handed to the notifier" : "NOT accepted",
              hf->o.fence ? (h->fence_running ? "fencing, " : "fencing not "
                             "started, ") : "",
              !hf->o.nova ? "no Nova" : h->nova_started ? "Nova calls in "
              "flight" : "Nova waits for fencing");
    return ret;
}

/* A down event for a host already down: retries what failed. */
static int
hf_repeat(struct hf_host *h, const struct doctor_event *ev)
{
    int ret = 0;

    h->absorbed++;
    metrics_counter_add(h->hf->m_absorbed, 1);
    if (!h->alarmed && !h->adopted) {
        struct doctor_event stamped = *ev;

        /* The incident's own cause, re-sent with the same VM alarm ids. */
        snprintf(stamped.id, sizeof stamped.id, "%s", h->cause_id);
        stamped.stamps[DOCTOR_T03] = h->stamps[DOCTOR_T03];
        ret = hf_send_incident_alarms(h, &stamped);
    }
    hf_retry_work(h);
    return ret;
}

static void
hf_on_unset(struct nova *nova, const struct nova_result *r, void *arg)
{
    struct hf_call *c = arg;
    struct host_fault *hf = c->hf;
    char host[DOCTOR_HOSTNAME_SIZE];
    struct hf_host *h;

    (void) nova;
    memcpy(host, c->host, sizeof host);
    h = hf_call_take(c, true);
    hf_nova_counted(hf, !r->error);
    if (r->error) {
        vlog_write_rl(&hf->rl, VLOG_LEVEL_ERR, MOD, "host %s: unsetting "
                      "forced_down failed: %s", host, r->error);
        return;
    }
    if (h && h->state == HF_UP) {
        VLOG_INFO(MOD, "host %s: forced_down unset in Nova", h->name);
        inventory_mark_forced_down(hf->o.inventory, h->name, false);
    }
}

static void
hf_unset_forced_down(struct hf_host *h)
{
    struct host_fault *hf = h->hf;
    char id[INVENTORY_SERVICE_ID_SIZE] = "";
    struct hf_call *c;
    bool forced;
    int ret;

    if (!hf->o.nova || !hf->o.unset_forced_down
        || (!h->forced_down && !h->force_down_running)) {
        return;
    }
    inventory_get_service(hf->o.inventory, h->name, id, &forced);
    c = hf_call_new(hf, h, HF_CALL_UNSET, 0);
    ret = c ? nova_force_down(hf->o.nova, h->name, id, false, hf_on_unset, c)
            : -ENOMEM;
    if (ret) {
        if (c) {
            hf_call_free(c);
        }
        VLOG_ERR(MOD, "host %s: cannot unset forced_down: %s", h->name,
                 strerror(-ret));
        return;
    }
    h->force_down_calls++;
}

/* The hold passed (or there is none): the host is back. */
static int
hf_recover(struct hf_host *h, const struct doctor_event *up)
{
    struct host_fault *hf = h->hf;
    int ret = hf_send_batch(h, up, false,
                            hf->o.recover_instances && h->alarmed);

    if (ret) {
        vlog_write_rl(&hf->rl, VLOG_LEVEL_ERR, MOD, "host %s: the notifier's "
                      "outbox refused the recovery alarms (%s); retrying",
                      h->name, strerror(-ret));
        return ret;
    }
    hf_unset_forced_down(h);
    VLOG_INFO(MOD, "host %s up again (event %s): %zu recovery alarm(s) "
              "handed to the notifier%s", h->name, up->id,
              1 + (hf->o.recover_instances && h->alarmed ? h->n_vms : 0),
              hf->o.nova && hf->o.unset_forced_down && h->forced_down
                  ? ", unsetting forced_down" : "");
    evtimer_del(h->retry_timer);
    hf_set_state(h, HF_UP);
    hf_persist(h);
    hf_entry_update(h);
    hf_host_clear_incident(h);
    h->incident++;                /* late answers are now ignored */
    return 0;
}

static void
hf_hold_event(evutil_socket_t fd, short what, void *arg)
{
    struct hf_host *h = arg;

    (void) fd;
    (void) what;
    if (h->state != HF_RECOVERING || !h->up_held) {
        return;
    }
    if (hf_recover(h, &h->up)) {
        hf_arm(h->hold_timer, HF_SEND_RETRY_NS);
        return;
    }
    doctor_event_clear(&h->up);
    h->up_held = false;
    metrics_counter_add(h->hf->m_outcomes[HOST_FAULT_RECOVERED], 1);
}

/* Keeps a copy of the up event for the end of the hold. */
static int
hf_hold(struct hf_host *h, const struct doctor_event *ev)
{
    json_t *details = json_deep_copy(ev->details);

    if (!details) {
        return -ENOMEM;
    }
    doctor_event_clear(&h->up);
    h->up = *ev;
    h->up.details = details;
    h->up_held = true;
    hf_set_state(h, HF_RECOVERING);
    hf_arm(h->hold_timer, h->hf->o.recovery_hold_ns);
    return 0;
}

static int
hf_forward(struct host_fault *hf, const struct doctor_event *ev)
{
    struct doctor_event copy = *ev;

    copy.stamps[DOCTOR_T06] = vtime_mono_ns();
    return doctor_sender_send(hf->o.sender, &copy, 1);
}

int
host_fault_handle(struct host_fault *hf, const struct doctor_event *ev,
                  enum host_fault_outcome *outcome)
{
    enum host_fault_outcome out;
    struct hf_host *h;
    bool down;
    int ret = 0;

    if (!hf || !host_fault_handles(ev) || !ev->hostname[0]) {
        return -EINVAL;
    }
    down = hf_event_is_down(ev);
    h = hf_host_get(hf, ev->hostname, down, &ret);
    if (!h) {
        if (ret) {
            return ret;
        }
        /* up for a host never seen down */
        ret = hf_forward(hf, ev);
        out = HOST_FAULT_FORWARDED;
        goto out;
    }
    switch (h->state) {
    case HF_UP:
        if (down) {
            ret = hf_start_incident(h, ev);
            out = HOST_FAULT_INCIDENT;
        } else {
            ret = hf_forward(hf, ev);
            out = HOST_FAULT_FORWARDED;
        }
        break;
    case HF_DOWN:
        if (down) {
            ret = hf_repeat(h, ev);
            out = HOST_FAULT_REPEATED;
        } else if (hf->o.recovery_hold_ns > 0) {
            ret = hf_hold(h, ev);
            out = HOST_FAULT_HOLDING;
        } else {
            ret = hf_recover(h, ev);
            out = HOST_FAULT_RECOVERED;
        }
        break;
    case HF_RECOVERING:
    case HF_STATE_COUNT:
    default:
        if (down) {
            evtimer_del(h->hold_timer);
            doctor_event_clear(&h->up);
            h->up_held = false;
            hf_set_state(h, HF_DOWN);
            vlog_write_rl(&hf->rl, VLOG_LEVEL_WARN, MOD, "host %s flapped: "
                          "down again during the recovery hold; the "
                          "incident goes on", h->name);
            ret = hf_repeat(h, ev);
            out = HOST_FAULT_FLAP;
        } else {
            h->absorbed++;
            metrics_counter_add(hf->m_absorbed, 1);
            out = HOST_FAULT_UP_REPEATED;
        }
        break;
    }
out:
    metrics_counter_add(hf->m_outcomes[out], 1);
    if (h) {
        hf_entry_update(h);
    }
    *outcome = out;
    return ret;
}

bool
host_fault_absorbs(struct host_fault *hf, const struct doctor_event *ev)
{
    struct hf_host *h;

    if (!hf || !ev) {
        return false;
    }
    h = ev->hostname[0] ? strmap_get(hf->hosts, ev->hostname) : NULL;
    if ((!h || h->state == HF_UP) && ev->instance_uuid[0]) {
        const char *host = inventory_host_of(hf->o.inventory,
                                             ev->instance_uuid);

        h = host ? strmap_get(hf->hosts, host) : NULL;
    }
    if (!h || h->state == HF_UP) {
        return false;
    }
    h->absorbed++;
    metrics_counter_add(hf->m_absorbed, 1);
    if (h->entry) {
        json_object_set_new(h->entry, "absorbed",
                            json_integer((json_int_t) h->absorbed));
    }
    return true;
}

struct hf_adopt {
    struct host_fault *hf;
    size_t adopted;
};

static void
hf_adopt_host(const char *host, void *arg)
{
    struct hf_adopt *a = arg;
    struct hf_host *h;
    int error = 0;

    h = strmap_get(a->hf->hosts, host);
    if (h) {
        return;
    }
    h = hf_host_get(a->hf, host, true, &error);
    if (!h) {
        return;
    }
    h->incident++;
    h->adopted = true;
    h->alarmed = true;
    h->fenced = true;
    h->forced_down = true;
    h->nova_started = true;
    h->complete = true;
    snprintf(h->cause_id, sizeof h->cause_id, "adopted-from-nova");
    hf_set_state(h, HF_DOWN);
    a->adopted++;
    VLOG_INFO(MOD, "host %s is forced down in Nova: taken as down (no "
              "alarm, no fencing, no Nova call until it comes back)", host);
}

size_t
host_fault_adopt(struct host_fault *hf)
{
    struct hf_adopt a = { hf, 0 };

    if (hf) {
        inventory_foreach_forced_down(hf->o.inventory, hf_adopt_host, &a);
    }
    return a.adopted;
}

int
host_fault_get_state(const struct host_fault *hf, const char *host,
                     struct host_fault_state *s)
{
    const struct hf_host *h = host ? strmap_get(hf->hosts, host) : NULL;

    if (!h) {
        return -ENOENT;
    }
    memset(s, 0, sizeof *s);
    s->down = h->state != HF_UP;
    s->recovering = h->state == HF_RECOVERING;
    s->fenced = h->fenced;
    s->fence_running = h->fence_running;
    s->forced_down = h->forced_down;
    s->vms = h->n_vms;
    s->resets_done = h->resets_done;
    s->resets_failed = h->resets_failed;
    s->absorbed = h->absorbed;
    s->fence_runs = h->fence_runs;
    s->force_down_calls = h->force_down_calls;
    s->reset_calls = h->reset_calls;
    return 0;
}

size_t
host_fault_down_hosts(const struct host_fault *hf)
{
    return hf ? hf->down : 0;
}

/* ---- life cycle --------------------------------------------------------- */

/* Reloads the hosts recorded as down. */
static int
hf_db_load(struct host_fault *hf, char *err, size_t size)
{
    sqlite3_stmt *st = NULL;
    int rc, ret = 0;

    rc = sqlite3_prepare_v2(hf->db, "SELECT host, cause_event_id, fenced, "
                            "forced_down, nova_done, adopted, since_ns, vms "
                            "FROM host_fault", -1, &st, NULL);
    while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *host = (const char *) sqlite3_column_text(st, 0);
        const char *cause = (const char *) sqlite3_column_text(st, 1);
        const char *vms_text = (const char *) sqlite3_column_text(st, 7);
        json_t *vms = vms_text ? json_loads(vms_text, 0, NULL) : NULL;
        struct hf_host *h;
        size_t n = json_array_size(vms), i;
        int error = 0;

        if (!host || strlen(host) >= DOCTOR_HOSTNAME_SIZE) {
            json_decref(vms);
            rc = SQLITE_OK;
            continue;
        }
        h = hf_host_get(hf, host, true, &error);
        if (!h) {
            json_decref(vms);
            ret = error;
            break;
        }
        h->incident++;
        snprintf(h->cause_id, sizeof h->cause_id, "%s", cause ? cause : "");
        h->fenced = sqlite3_column_int(st, 2);
        h->forced_down = sqlite3_column_int(st, 3);
        h->adopted = sqlite3_column_int(st, 5);
        h->time_ns = sqlite3_column_int64(st, 6);
        h->alarmed = true;
        h->nova_started = true;
        if (n > HOST_FAULT_MAX_VMS) {
            n = HOST_FAULT_MAX_VMS;
        }
        if (n) {
            h->vms = calloc(n, sizeof *h->vms);
            h->vm_ids = calloc(n, sizeof *h->vm_ids);
            h->vm_state = calloc(n, sizeof *h->vm_state);
        }
        if (n && (!h->vms || !h->vm_ids || !h->vm_state)) {
            n = 0;
        }
        for (i = 0; i < n; i++) {
            const char *uuid = json_string_value(json_array_get(vms, i));

            snprintf(h->vms[h->n_vms], INVENTORY_UUID_SIZE, "%s",
                     uuid ? uuid : "");
            if (uuid && uuid[0]) {
                /* Reset already done when the row says Nova is done. */
                h->vm_state[h->n_vms] = sqlite3_column_int(st, 4)
                                        ? HF_VM_DONE : HF_VM_PENDING;
                h->n_vms++;
            }
        }
        h->resets_done = sqlite3_column_int(st, 4) ? h->n_vms : 0;
        if (sqlite3_column_int(st, 4)) {
            h->ports_done = true;
            h->complete = true;
        }
        hf_set_state(h, HF_DOWN);
        json_decref(vms);
        VLOG_INFO(MOD, "host %s recorded as down in %s (incident %s, %s, "
                  "%s, %zu VM(s) alarmed): not fenced nor alarmed again",
                  h->name, hf->o.state_db, h->cause_id,
                  h->fenced ? "fenced" : "not fenced",
                  h->forced_down ? "forced down" : "not forced down",
                  h->n_vms);
        rc = SQLITE_OK;
    }
    if (!ret && rc != SQLITE_DONE && rc != SQLITE_OK) {
        snprintf(err, size, "%s: %s", hf->o.state_db, sqlite3_errmsg(hf->db));
        ret = -EIO;
    }
    sqlite3_finalize(st);
    return ret;
}

static int
hf_db_open(struct host_fault *hf, char *err, size_t size)
{
    int ret;

    if (sqlite3_open_v2(hf->o.state_db, &hf->db, SQLITE_OPEN_READWRITE
                        | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL)
        != SQLITE_OK) {
        snprintf(err, size, "%s: %s", hf->o.state_db,
                 hf->db ? sqlite3_errmsg(hf->db) : "out of memory");
        return -EIO;
    }
    sqlite3_busy_timeout(hf->db, 1000);
    ret = hf_db_exec(hf, "PRAGMA journal_mode=WAL; "
                     "PRAGMA synchronous=NORMAL; "
                     "CREATE TABLE IF NOT EXISTS host_fault ("
                     " host TEXT PRIMARY KEY,"
                     " cause_event_id TEXT NOT NULL,"
                     " fenced INTEGER NOT NULL,"
                     " forced_down INTEGER NOT NULL,"
                     " nova_done INTEGER NOT NULL,"
                     " adopted INTEGER NOT NULL,"
                     " since_ns INTEGER NOT NULL,"
                     " vms TEXT NOT NULL)", err, size);
    if (ret) {
        return ret;
    }
    return hf_db_load(hf, err, size);
}

static int
hf_register_metrics(struct host_fault *hf, struct metrics_registry *reg)
{
    static const char *const phases[3] = { "T03", "T04", "T05" };
    bool failed = false;

    for (int i = 0; i < HOST_FAULT_OUTCOME_COUNT; i++) {
        char labels[48];

        snprintf(labels, sizeof labels, "outcome=\"%s\"", hf_outcome_names[i]);
        hf->m_outcomes[i] = metrics_counter_new(reg,
            "vigil_inspector_host_events_total",
            "compute.host.down/up events, by what became of them.", labels);
        failed |= !hf->m_outcomes[i];
    }
    for (int i = 0; i < 3; i++) {
        char labels[32];

        snprintf(labels, sizeof labels, "stamp=\"%s\"", phases[i]);
        hf->m_phase[i] = metrics_histogram_new(reg,
            "vigil_inspector_host_fault_seconds",
            "From receipt of compute.host.down (T02) to VMs found (T03), "
            "host forced down (T04), all VMs reset (T05).", labels,
            metrics_latency_bounds, metrics_latency_bounds_length);
        failed |= !hf->m_phase[i];
    }
    hf->m_absorbed = metrics_counter_new(reg,
        "vigil_inspector_events_absorbed_total",
        "Events of a host that is down, absorbed by its host fault.", NULL);
    hf->m_vm_alarms = metrics_counter_new(reg,
        "vigil_inspector_host_fault_vm_alarms_total",
        "Per-VM alarms raised for host faults and recoveries.", NULL);
    hf->m_nova_ok = metrics_counter_new(reg, "vigil_inspector_nova_calls_total",
        "Nova calls made for host faults, by result.", "result=\"ok\"");
    hf->m_nova_failed = metrics_counter_new(reg,
        "vigil_inspector_nova_calls_total",
        "Nova calls made for host faults, by result.", "result=\"failed\"");
    hf->m_fence_ok = metrics_counter_new(reg, "vigil_inspector_fencing_total",
        "Fencing runs, by result.", "result=\"ok\"");
    hf->m_fence_failed = metrics_counter_new(reg,
        "vigil_inspector_fencing_total", "Fencing runs, by result.",
        "result=\"failed\"");
    hf->m_down = metrics_gauge_new(reg, "vigil_inspector_hosts_down",
        "Hosts down or in their recovery hold.", NULL);
    failed |= !hf->m_absorbed || !hf->m_vm_alarms || !hf->m_nova_ok
              || !hf->m_nova_failed || !hf->m_fence_ok || !hf->m_fence_failed
              || !hf->m_down;
    return failed ? -ENOMEM : 0;
}

struct host_fault *
host_fault_new(const struct host_fault_options *o, int *error, char *err,
               size_t err_size)
{
    struct host_fault *hf = NULL, *result = NULL;
    char dummy[8];
    int ret = -EINVAL;

    if (!err) {
        err = dummy;
        err_size = sizeof dummy;
    }
    err[0] = '\0';
    if (!o || !o->base || !o->sender || !o->inventory
        || o->recovery_hold_ns < 0) {
        snprintf(err, err_size, "invalid options");
        goto out;
    }
    ret = -ENOMEM;
    hf = calloc(1, sizeof *hf);
    if (!hf) {
        goto out;
    }
    hf->o = *o;
    hf->o.state_db = NULL;
    if (o->state_db && o->state_db[0]) {
        hf->db_path = strdup(o->state_db);
        if (!hf->db_path) {
            goto out;
        }
    }
    if (!hf->o.max_hosts) {
        hf->o.max_hosts = HOST_FAULT_DEFAULT_MAX_HOSTS;
    }
    hf->rl = (struct vlog_rate_limit) VLOG_RATE_LIMIT_INIT(2, 10);
    hf->hosts = strmap_new();
    if (!hf->hosts) {
        goto out;
    }
    if (o->metrics && (ret = hf_register_metrics(hf, o->metrics))) {
        goto out;
    }
    if (hf->db_path) {
        hf->o.state_db = hf->db_path;
        ret = hf_db_open(hf, err, err_size);
        if (ret) {
            goto out;
        }
    }
    result = hf;
    hf = NULL;
    ret = 0;
out:
    host_fault_free(hf);
    if (error) {
        *error = ret;
    }
    return result;
}

static bool
hf_free_host(const char *key, void *value, void *arg)
{
    (void) key;
    (void) arg;
    hf_host_free(value);
    return true;
}

void
host_fault_free(struct host_fault *hf)
{
    if (!hf) {
        return;
    }
    while (hf->calls) {
        hf_call_free(hf->calls);
    }
    if (hf->hosts) {
        strmap_foreach(hf->hosts, hf_free_host, NULL);
    }
    strmap_free(hf->hosts);
    if (hf->db) {
        sqlite3_close(hf->db);
    }
    free(hf->db_path);
    free(hf);
}
