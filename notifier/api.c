/* api: Aodh v2 alarm CRUD and the Doctor event intake (see api.h). */
#include "api.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <sys/queue.h>
#include <event2/keyvalq_struct.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "httpd.h"
#include "metrics.h"
#include "vlog.h"
#include "vtime.h"
#include "vuuid.h"

#define API_DEFAULT_OWNER "vigil"
#define API_MAX_FILTERS 16
#define API_MAX_STATE_BODY 256
/* POST /v1/events: events evaluated per turn of the loop, so that the
 * webhooks of the first ones are on the wire while later ones are still
 * evaluated; and bodies waiting, beyond which the intake answers 503. */
#define API_EVENTS_PER_TURN 32
#define API_MAX_JOBS 256

/* One POST /v1/events body being evaluated; answered when done. */
struct api_job {
    struct api_job *next;
    struct evhttp_request *req;
    struct doctor_event *events;
    size_t length;
    size_t done;                   /* evaluated so far */
    size_t matched, notified;
};

struct api {
    struct alarm_store *store;
    struct alarm_db *db;
    struct evaluator *evaluator;
    char *default_project_id;
    char *default_user_id;
    struct metrics_gauge *alarms;
    struct metrics_counter *events_rejected;

    struct event *jobs_event;      /* a zero timer: the next turn */
    struct api_job *jobs_head, *jobs_tail;
    size_t jobs;
};

static struct vlog_rate_limit api_db_rl = VLOG_RATE_LIMIT_INIT(1, 5);

static void
api_update_gauge(struct api *api)
{
    if (api->alarms) {
        metrics_gauge_set(api->alarms,
                          (int64_t) alarm_store_count(api->store));
    }
}

/* Replies with the alarm and its Location (201 on create). */
static void
api_reply_alarm(struct evhttp_request *req, int code,
                const struct alarm *alarm)
{
    json_t *body = alarm_to_json(alarm);

    if (!body) {
        httpd_reply_error(req, 500, "out of memory");
        return;
    }
    if (code == 201) {
        char location[64];

        snprintf(location, sizeof location, "/v2/alarms/%s", alarm->id);
        evhttp_add_header(evhttp_request_get_output_headers(req), "Location",
                          location);
    }
    httpd_reply_json(req, code, body);
}

/* Replies with 'state' as a JSON string. */
static void
api_reply_state(struct evhttp_request *req, enum alarm_state state)
{
    char text[64];

    snprintf(text, sizeof text, "\"%s\"", alarm_state_to_string(state));
    httpd_reply_text(req, 200, "application/json", text, strlen(text));
}

/* The value of header 'name' if present and sane; -EINVAL with a reply
 * when it is too long or holds control characters. */
static int
api_owner_header(struct evhttp_request *req, const char *name,
                 const char **value)
{
    const char *v = evhttp_find_header(evhttp_request_get_input_headers(req),
                                       name);

    *value = NULL;
    if (!v || !*v) {
        return 0;
    }
    if (strlen(v) > ALARM_MAX_ID_LENGTH) {
        httpd_reply_error(req, 400, "%s: too long (at most %d bytes)", name,
                          ALARM_MAX_ID_LENGTH);
        return -EINVAL;
    }
    for (const unsigned char *p = (const unsigned char *) v; *p; p++) {
        if (*p < 0x20 || *p == 0x7f) {
            httpd_reply_error(req, 400, "%s: contains a control character",
                              name);
            return -EINVAL;
        }
    }
    *value = v;
    return 0;
}

/* Sets '*field' to 'value' unless already set. 0 or -ENOMEM. */
static int
api_default_string(char **field, const char *value)
{
    if (*field) {
        return 0;
    }
    *field = strdup(value);
    return *field ? 0 : -ENOMEM;
}

/* Parses the request body into a new alarm; replies 400 on failure. */
static struct alarm *
api_read_alarm(struct evhttp_request *req)
{
    json_t *body = httpd_read_json(req);
    struct alarm *alarm = NULL;
    char err[512];
    int ret;

    if (!body) {
        return NULL;
    }
    ret = alarm_from_json(body, &alarm, err, sizeof err);
    json_decref(body);
    if (ret == -ENOMEM) {
        httpd_reply_error(req, 500, "out of memory");
        return NULL;
    }
    if (ret) {
        httpd_reply_error(req, 400, "%s", err);
        return NULL;
    }
    return alarm;
}

static void
api_create(struct api *api, struct evhttp_request *req)
{
    const char *project = NULL, *user = NULL;
    struct alarm *alarm;
    int64_t now;
    int ret;

    if (api_owner_header(req, "X-Project-Id", &project) ||
        api_owner_header(req, "X-User-Id", &user)) {
        return;
    }
    alarm = api_read_alarm(req);
    if (!alarm) {
        return;
    }
    if (api_default_string(&alarm->project_id,
                           project ? project : api->default_project_id) ||
        api_default_string(&alarm->user_id,
                           user ? user : api->default_user_id) ||
        vuuid_generate(alarm->id)) {
        httpd_reply_error(req, 500, "out of memory");
        goto out;
    }
    now = vtime_real_ns();
    alarm->timestamp_ns = now;
    alarm->state_timestamp_ns = now;
    if (alarm_store_count(api->store) >= alarm_store_max(api->store)) {
        httpd_reply_error(req, 403, "Alarm quota exceeded: the notifier "
                          "holds at most %zu alarms",
                          alarm_store_max(api->store));
        goto out;
    }
    if (alarm_store_find_name(api->store, alarm->project_id, alarm->name)) {
        httpd_reply_error(req, 409, "Alarm with name='%s' exists",
                          alarm->name);
        goto out;
    }
    if (api->db && alarm_db_put(api->db, alarm)) {
        vlog_write_rl(&api_db_rl, VLOG_LEVEL_ERR, "api",
                      "cannot store alarm %s in the database", alarm->id);
        httpd_reply_error(req, 500, "cannot store the alarm");
        goto out;
    }
    ret = alarm_store_add(api->store, alarm);
    if (ret) {
        if (api->db) {
            alarm_db_delete(api->db, alarm->id);
        }
        httpd_reply_error(req, ret == -ENOTUNIQ ? 409 : ret == -ENOSPC ? 403
                          : 500, "cannot add the alarm: %s", strerror(-ret));
        goto out;
    }
    VLOG_INFO("api", "alarm %s '%s' created (project %s, event_type %s, "
              "%zu alarm actions)", alarm->id, alarm->name, alarm->project_id,
              alarm->event_type, alarm->actions[ALARM_STATE_ALARM].length);
    api_update_gauge(api);
    api_reply_alarm(req, 201, alarm);
    return;
out:
    alarm_free(alarm);
}

/* ---- GET /v2/alarms filters ---- */

enum api_field {
    API_FIELD_ALARM_ID,
    API_FIELD_NAME,
    API_FIELD_TYPE,
    API_FIELD_ENABLED,
    API_FIELD_STATE,
    API_FIELD_SEVERITY,
    API_FIELD_PROJECT_ID,
    API_FIELD_USER_ID,
    API_FIELD_COUNT
};

static const char *const api_field_names[API_FIELD_COUNT] = {
    "alarm_id", "name", "type", "enabled", "state", "severity",
    "project_id", "user_id",
};

struct api_filter {
    enum api_field field;
    bool negate;               /* "ne" */
    const char *value;
    bool boolean;              /* 'value' for "enabled" */
};

struct api_list {
    struct api_filter filters[API_MAX_FILTERS];
    size_t n_filters;
    size_t limit;              /* 0: all */
    json_t *result;
    int error;
};

/* Aodh's query_to_kwargs also accepts "project" and "user". */
static int
api_field_from_string(const char *name)
{
    if (!strcmp(name, "project")) {
        return API_FIELD_PROJECT_ID;
    }
    if (!strcmp(name, "user")) {
        return API_FIELD_USER_ID;
    }
    for (int i = 0; i < API_FIELD_COUNT; i++) {
        if (!strcmp(name, api_field_names[i])) {
            return i;
        }
    }
    return -1;
}

static bool
api_filter_holds(const struct api_filter *f, const struct alarm *alarm)
{
    const char *text = NULL;
    bool equal;

    switch (f->field) {
    case API_FIELD_ALARM_ID:
        text = alarm->id;
        break;
    case API_FIELD_NAME:
        text = alarm->name;
        break;
    case API_FIELD_TYPE:
        text = "event";
        break;
    case API_FIELD_STATE:
        text = alarm_state_to_string(alarm->state);
        break;
    case API_FIELD_SEVERITY:
        text = alarm_severity_to_string(alarm->severity);
        break;
    case API_FIELD_PROJECT_ID:
        text = alarm->project_id ? alarm->project_id : "";
        break;
    case API_FIELD_USER_ID:
        text = alarm->user_id ? alarm->user_id : "";
        break;
    case API_FIELD_ENABLED:
    case API_FIELD_COUNT:
    default:
        break;
    }
    equal = text ? !strcmp(text, f->value) : alarm->enabled == f->boolean;
    return equal != f->negate;
}

static bool
api_list_one(const struct alarm *alarm, void *arg)
{
    struct api_list *list = arg;

    for (size_t i = 0; i < list->n_filters; i++) {
        if (!api_filter_holds(&list->filters[i], alarm)) {
            return true;
        }
    }
    if (json_array_append_new(list->result, alarm_to_json(alarm))) {
        list->error = -ENOMEM;
        return false;
    }
    return !list->limit || json_array_size(list->result) < list->limit;
}

/* Parses "true"/"false" (and oslo's other spellings) for q.value. */
static int
api_parse_bool(const char *text, bool *value)
{
    static const char *const yes[] = { "1", "t", "true", "on", "y", "yes" };
    static const char *const no[] = { "0", "f", "false", "off", "n", "no" };

    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        if (!strcasecmp(text, yes[i])) {
            *value = true;
            return 0;
        }
        if (!strcasecmp(text, no[i])) {
            *value = false;
            return 0;
        }
    }
    return -EINVAL;
}

/* Fills 'list' from the query string; replies 400 and returns -EINVAL on
 * anything it does not support. */
static int
api_parse_filters(struct evhttp_request *req, struct evkeyvalq *params,
                  struct api_list *list)
{
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *query = uri ? evhttp_uri_get_query(uri) : NULL;
    const char *fields[API_MAX_FILTERS], *ops[API_MAX_FILTERS];
    const char *values[API_MAX_FILTERS];
    size_t n_fields = 0, n_ops = 0, n_values = 0;
    struct evkeyval *kv;

    if (!query || !*query) {
        return 0;
    }
    if (evhttp_parse_query_str(query, params)) {
        httpd_reply_error(req, 400, "malformed query string");
        return -EINVAL;
    }
    TAILQ_FOREACH(kv, params, next) {
        const char **slot = NULL;
        size_t *count = NULL;

        if (!strcmp(kv->key, "q.field")) {
            slot = fields;
            count = &n_fields;
        } else if (!strcmp(kv->key, "q.op")) {
            slot = ops;
            count = &n_ops;
        } else if (!strcmp(kv->key, "q.value")) {
            slot = values;
            count = &n_values;
        } else if (!strcmp(kv->key, "q.type")) {
            continue;
        } else if (!strcmp(kv->key, "limit")) {
            char *end;
            long limit = strtol(kv->value, &end, 10);

            if (!*kv->value || *end || limit < 1) {
                httpd_reply_error(req, 400, "limit: expected a positive "
                                  "integer");
                return -EINVAL;
            }
            list->limit = (size_t) limit;
            continue;
        } else {
            httpd_reply_error(req, 400, "unsupported query parameter '%.64s' "
                              "(supported: q.field, q.op, q.value, q.type, "
                              "limit)", kv->key);
            return -EINVAL;
        }
        if (*count == API_MAX_FILTERS) {
            httpd_reply_error(req, 400, "too many filters (at most %d)",
                              API_MAX_FILTERS);
            return -EINVAL;
        }
        slot[(*count)++] = kv->value;
    }
    if (n_fields != n_values || (n_ops && n_ops != n_fields)) {
        httpd_reply_error(req, 400, "q.field, q.op and q.value must be given "
                          "the same number of times");
        return -EINVAL;
    }
    for (size_t i = 0; i < n_fields; i++) {
        struct api_filter *f = &list->filters[i];
        int field = api_field_from_string(fields[i]);
        const char *op = n_ops ? ops[i] : "eq";

        if (field < 0) {
            httpd_reply_error(req, 400, "q.field: unknown field '%.64s' "
                              "(supported: alarm_id, name, type, enabled, "
                              "state, severity, project_id, user_id)",
                              fields[i]);
            return -EINVAL;
        }
        if (strcmp(op, "eq") && strcmp(op, "ne")) {
            httpd_reply_error(req, 400, "q.op: operator '%.16s' is not "
                              "supported for alarm lists (eq, ne)", op);
            return -EINVAL;
        }
        f->field = (enum api_field) field;
        f->negate = !strcmp(op, "ne");
        f->value = values[i];
        if (f->field == API_FIELD_ENABLED &&
            api_parse_bool(f->value, &f->boolean)) {
            httpd_reply_error(req, 400, "q.value: enabled expects true or "
                              "false, got '%.32s'", f->value);
            return -EINVAL;
        }
    }
    list->n_filters = n_fields;
    return 0;
}

static void
api_list(struct api *api, struct evhttp_request *req)
{
    struct evkeyvalq params;
    struct api_list list;

    memset(&list, 0, sizeof list);
    TAILQ_INIT(&params);
    if (api_parse_filters(req, &params, &list)) {
        goto out;
    }
    list.result = json_array();
    if (!list.result) {
        httpd_reply_error(req, 500, "out of memory");
        goto out;
    }
    alarm_store_foreach(api->store, api_list_one, &list);
    if (list.error) {
        json_decref(list.result);
        httpd_reply_error(req, 500, "out of memory");
        goto out;
    }
    httpd_reply_json(req, 200, list.result);
out:
    evhttp_clear_headers(&params);
}

static void
api_alarms(struct evhttp_request *req, const struct httpd_params *params,
           void *arg)
{
    (void) params;
    if (evhttp_request_get_command(req) == EVHTTP_REQ_POST) {
        api_create(arg, req);
    } else {
        api_list(arg, req);
    }
}

/* ---- /v2/alarms/{id} ---- */

static struct alarm *
api_find(struct api *api, struct evhttp_request *req, const char *id)
{
    struct alarm *alarm = alarm_store_get(api->store, id);

    if (!alarm) {
        httpd_reply_error(req, 404, "Alarm %.64s not found", id);
    }
    return alarm;
}

static void
api_update(struct api *api, struct evhttp_request *req, const char *id)
{
    struct alarm *old = api_find(api, req, id), *alarm, *holder;
    int ret;

    if (!old) {
        return;
    }
    alarm = api_read_alarm(req);
    if (!alarm) {
        return;
    }
    memcpy(alarm->id, old->id, sizeof alarm->id);
    if (api_default_string(&alarm->project_id, old->project_id ?
                           old->project_id : api->default_project_id) ||
        api_default_string(&alarm->user_id, old->user_id ?
                           old->user_id : api->default_user_id)) {
        httpd_reply_error(req, 500, "out of memory");
        goto out;
    }
    alarm->timestamp_ns = vtime_real_ns();
    alarm->state_timestamp_ns = alarm->state == old->state
                                ? old->state_timestamp_ns
                                : alarm->timestamp_ns;
    holder = alarm_store_find_name(api->store, alarm->project_id, alarm->name);
    if (holder && holder != old) {
        httpd_reply_error(req, 409, "Alarm with name=%s exists", alarm->name);
        goto out;
    }
    if (api->db && alarm_db_put(api->db, alarm)) {
        vlog_write_rl(&api_db_rl, VLOG_LEVEL_ERR, "api",
                      "cannot store alarm %s in the database", alarm->id);
        httpd_reply_error(req, 500, "cannot store the alarm");
        goto out;
    }
    ret = alarm_store_replace(api->store, alarm);
    if (ret) {
        if (api->db) {
            alarm_db_put(api->db, old);
        }
        httpd_reply_error(req, ret == -ENOTUNIQ ? 409 : 500,
                          "cannot update the alarm: %s", strerror(-ret));
        goto out;
    }
    VLOG_INFO("api", "alarm %s '%s' updated", alarm->id, alarm->name);
    api_reply_alarm(req, 200, alarm);
    return;
out:
    alarm_free(alarm);
}

static void
api_delete(struct api *api, struct evhttp_request *req, const char *id)
{
    struct alarm *alarm = api_find(api, req, id);
    char name[ALARM_MAX_NAME_LENGTH + 1];

    if (!alarm) {
        return;
    }
    if (api->db && alarm_db_delete(api->db, alarm->id)) {
        vlog_write_rl(&api_db_rl, VLOG_LEVEL_ERR, "api",
                      "cannot delete alarm %s from the database", alarm->id);
        httpd_reply_error(req, 500, "cannot delete the alarm");
        return;
    }
    snprintf(name, sizeof name, "%s", alarm->name);
    alarm_store_remove(api->store, id);
    VLOG_INFO("api", "alarm %s '%s' deleted", id, name);
    api_update_gauge(api);
    httpd_reply_json(req, 204, NULL);
}

static void
api_alarm(struct evhttp_request *req, const struct httpd_params *params,
          void *arg)
{
    struct api *api = arg;
    const char *id = params->values[0];
    struct alarm *alarm;

    switch (evhttp_request_get_command(req)) {
    case EVHTTP_REQ_PUT:
        api_update(api, req, id);
        break;
    case EVHTTP_REQ_DELETE:
        api_delete(api, req, id);
        break;
    default:
        alarm = api_find(api, req, id);
        if (alarm) {
            api_reply_alarm(req, 200, alarm);
        }
        break;
    }
}

/* Copies the whole request body (at most 'max' bytes) to a new
 * NUL-terminated buffer; replies and returns NULL on failure. */
static char *
api_read_body(struct evhttp_request *req, size_t max, size_t *size)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t length = evbuffer_get_length(in);
    char *copy;

    if (length > max) {
        httpd_reply_error(req, 413, "request body larger than %zu bytes",
                          max);
        return NULL;
    }
    if (length == 0) {
        httpd_reply_error(req, 400, "empty request body");
        return NULL;
    }
    copy = malloc(length + 1);
    if (!copy) {
        httpd_reply_error(req, 500, "out of memory");
        return NULL;
    }
    evbuffer_copyout(in, copy, length);
    copy[length] = '\0';
    *size = length;
    return copy;
}

static void
api_put_state(struct api *api, struct evhttp_request *req,
              struct alarm *alarm)
{
    enum alarm_state state, old_state = alarm->state;
    int64_t old_timestamp = alarm->state_timestamp_ns;
    char *old_reason = NULL, *text;
    json_error_t jerr;
    json_t *value;
    size_t size;

    text = api_read_body(req, API_MAX_STATE_BODY, &size);
    if (!text) {
        return;
    }
    value = json_loadb(text, size, JSON_DECODE_ANY, &jerr);
    free(text);
    if (!json_is_string(value) ||
        alarm_state_from_string(json_string_value(value), &state)) {
        json_decref(value);
        httpd_reply_error(req, 400, "state invalid: expected one of \"ok\", "
                          "\"alarm\", \"insufficient data\"");
        return;
    }
    json_decref(value);
    old_reason = strdup(alarm->state_reason);
    if (!old_reason ||
        alarm_set_state_reason(alarm, "Manually set via API")) {
        free(old_reason);
        httpd_reply_error(req, 500, "out of memory");
        return;
    }
    alarm->state = state;
    alarm->state_timestamp_ns = vtime_real_ns();
    if (api->db && alarm_db_put(api->db, alarm)) {
        alarm->state = old_state;
        alarm->state_timestamp_ns = old_timestamp;
        free(alarm->state_reason);
        alarm->state_reason = old_reason;
        vlog_write_rl(&api_db_rl, VLOG_LEVEL_ERR, "api",
                      "cannot store alarm %s in the database", alarm->id);
        httpd_reply_error(req, 500, "cannot store the alarm");
        return;
    }
    free(old_reason);
    VLOG_INFO("api", "alarm %s state set to %s via the API", alarm->id,
              alarm_state_to_string(state));
    api_reply_state(req, state);
}

static void
api_alarm_state(struct evhttp_request *req, const struct httpd_params *params,
                void *arg)
{
    struct api *api = arg;
    struct alarm *alarm = api_find(api, req, params->values[0]);

    if (!alarm) {
        return;
    }
    if (evhttp_request_get_command(req) == EVHTTP_REQ_PUT) {
        api_put_state(api, req, alarm);
    } else {
        api_reply_state(req, alarm->state);
    }
}

/* ---- POST /v1/events ---- */

/* Evaluates up to 'budget' events of the queued bodies, in order, and
 * answers each body once all its events are done. Returns the budget
 * left. */
static size_t
api_jobs_work(struct api *api, size_t budget)
{
    struct api_job *job;

    while ((job = api->jobs_head) && budget) {
        for (; job->done < job->length && budget; job->done++, budget--) {
            size_t m = 0, n = 0;

            evaluator_process(api->evaluator, &job->events[job->done], &m, &n);
            job->matched += m;
            job->notified += n;
        }
        if (job->done < job->length) {
            break;
        }
        api->jobs_head = job->next;
        if (!api->jobs_head) {
            api->jobs_tail = NULL;
        }
        api->jobs--;
        httpd_reply_json(job->req, 202, json_pack(
            "{s:I, s:I, s:I}", "accepted", (json_int_t) job->length,
            "matched", (json_int_t) job->matched,
            "notified", (json_int_t) job->notified));
        doctor_events_free(job->events, job->length);
        free(job);
    }
    return budget;
}

/* One turn: a slice of the work, then back to the loop (sockets, curl's
 * timers) until the next turn. */
static void
api_jobs_turn(struct api *api)
{
    static const struct timeval now = { 0, 0 };

    api_jobs_work(api, API_EVENTS_PER_TURN);
    if (api->jobs_head && !evtimer_pending(api->jobs_event, NULL)) {
        evtimer_add(api->jobs_event, &now);
    }
}

static void
api_jobs_event(evutil_socket_t fd, short what, void *arg)
{
    (void) fd;
    (void) what;
    api_jobs_turn(arg);
}

static void
api_events(struct evhttp_request *req, const struct httpd_params *params,
           void *arg)
{
    struct api *api = arg;
    int64_t t07 = vtime_mono_ns();
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    const char *type = evhttp_find_header(
        evhttp_request_get_input_headers(req), "Content-Type");
    size_t size = evbuffer_get_length(in), length = 0;
    struct doctor_event *events = NULL;
    struct api_job *job;
    const char *data;
    char err[256];
    int ret;

    (void) params;
    if (api->jobs >= API_MAX_JOBS) {
        evhttp_add_header(evhttp_request_get_output_headers(req),
                          "Retry-After", "1");
        httpd_reply_error(req, 503, "%zu event bodies are being evaluated; "
                          "try again", api->jobs);
        return;
    }
    if (type && strncasecmp(type, "application/json", 16)) {
        httpd_reply_error(req, 415, "Content-Type must be application/json");
        return;
    }
    data = size ? (const char *) evbuffer_pullup(in, -1) : "";
    if (!data) {
        httpd_reply_error(req, 500, "out of memory");
        return;
    }
    ret = doctor_events_parse(data, size, &events, &length, err, sizeof err);
    if (ret) {
        if (api->events_rejected) {
            metrics_counter_add(api->events_rejected, 1);
        }
        VLOG_DBG("api", "events refused: %s", err);
        httpd_reply_error(req, ret == -E2BIG ? 413 : ret == -ENOMEM ? 500
                          : 400, "%s", err);
        return;
    }
    job = calloc(1, sizeof *job);
    if (!job) {
        doctor_events_free(events, length);
        httpd_reply_error(req, 500, "out of memory");
        return;
    }
    for (size_t i = 0; i < length; i++) {
        events[i].stamps[DOCTOR_T07] = t07;
    }
    job->req = req;
    job->events = events;
    job->length = length;
    if (api->jobs_tail) {
        api->jobs_tail->next = job;
    } else {
        api->jobs_head = job;
    }
    api->jobs_tail = job;
    api->jobs++;
    api_jobs_turn(api);
}

void
api_flush(struct api *api)
{
    if (api) {
        while (api->jobs_head) {
            api_jobs_work(api, SIZE_MAX);
        }
    }
}

struct api *
api_new(struct httpd *httpd, const struct api_options *options, int *error)
{
    struct api *api = calloc(1, sizeof *api);
    int ret = -ENOMEM;

    if (!api) {
        goto out;
    }
    api->store = options->store;
    api->db = options->db;
    api->jobs_event = evtimer_new(httpd_base(httpd), api_jobs_event, api);
    if (!api->jobs_event) {
        goto out;
    }
    api->evaluator = options->evaluator;
    api->default_project_id = strdup(options->default_project_id ?
                                     options->default_project_id
                                     : API_DEFAULT_OWNER);
    api->default_user_id = strdup(options->default_user_id ?
                                  options->default_user_id
                                  : API_DEFAULT_OWNER);
    if (!api->default_project_id || !api->default_user_id) {
        goto out;
    }
    ret = -EINVAL;
    if (strlen(api->default_project_id) > ALARM_MAX_ID_LENGTH ||
        strlen(api->default_user_id) > ALARM_MAX_ID_LENGTH) {
        goto out;
    }
    ret = -ENOMEM;
    if (options->metrics) {
        api->alarms = metrics_gauge_new(options->metrics,
                                        "vigil_notifier_alarms",
                                        "Alarms (subscriptions) held.", NULL);
        api->events_rejected = metrics_counter_new(options->metrics,
            "vigil_notifier_events_rejected_total",
            "Event bodies refused as malformed.", NULL);
        if (!api->alarms || !api->events_rejected) {
            goto out;
        }
        api_update_gauge(api);
    }
    ret = httpd_route(httpd, EVHTTP_REQ_GET | EVHTTP_REQ_POST, "/v2/alarms",
                      api_alarms, api);
    if (!ret) {
        ret = httpd_route(httpd, EVHTTP_REQ_GET | EVHTTP_REQ_PUT,
                          "/v2/alarms/{}/state", api_alarm_state, api);
    }
    if (!ret) {
        ret = httpd_route(httpd, EVHTTP_REQ_GET | EVHTTP_REQ_PUT |
                          EVHTTP_REQ_DELETE, "/v2/alarms/{}", api_alarm, api);
    }
    if (!ret) {
        ret = httpd_route(httpd, EVHTTP_REQ_POST, "/v1/events", api_events,
                          api);
    }
    if (ret) {
        goto out;
    }
    return api;
out:
    api_free(api);
    *error = ret;
    return NULL;
}

void
api_free(struct api *api)
{
    if (!api) {
        return;
    }
    api_flush(api);
    if (api->jobs_event) {
        event_free(api->jobs_event);
    }
    free(api->default_project_id);
    free(api->default_user_id);
    free(api);
}
