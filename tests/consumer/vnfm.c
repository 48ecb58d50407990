/* vnfm: the sample VNFM's webhook endpoint and subscription (see vnfm.h). */
#include "vnfm.h"

#include <ctype.h>
#include <errno.h>
#include <event2/http.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "httpc.h"
#include "httpd.h"
#include "metrics.h"
#include "vlog.h"
#include "vtime.h"

#define VNFM_MODULE "vnfm"
#define VNFM_INITIAL_RECORDS 1024
#define VNFM_REASON_SIZE (VNFM_URL_SIZE + 512)

struct vnfm_record {
    uint64_t seq;
    int64_t received_ns;
    json_t *body;
};

struct vnfm {
    struct event_base *base;
    struct httpd *httpd;
    struct httpc *httpc;
    char callback_url[VNFM_URL_SIZE];
    char notifier_url[VNFM_URL_SIZE];   /* "" when none */
    char alarm_name[VNFM_ALARM_NAME_SIZE];
    char event_type[VNFM_ALARM_ID_SIZE];
    json_t *query;                      /* Aodh query terms (list) */
    FILE *output;
    unsigned int subscribe_attempts;

    /* Records, a ring: grows up to 'max' while 'head' is 0, then the
     * oldest record is overwritten. */
    struct vnfm_record *records;
    size_t allocated;
    size_t max;
    size_t head;
    size_t length;
    uint64_t next_seq;

    char alarm_id[VNFM_ALARM_ID_SIZE];  /* "" when not subscribed */
    char *subscription;                 /* alarm body while subscribing */
    bool busy;                          /* a (un)subscribe is under way */
    vnfm_done_fn *done;
    void *done_arg;

    vnfm_alarm_fn *on_alarm;
    void *on_alarm_arg;

    uint64_t received;
    uint64_t rejected;
    struct vlog_rate_limit reject_rl;
    struct vlog_rate_limit output_rl;
    struct metrics_counter *received_metric;
    struct metrics_counter *rejected_metric;
    struct metrics_gauge *recorded_metric;
    struct metrics_histogram *delivery_metric;
    struct metrics_histogram *fault_metric;
};

static int
vnfm_copy(char *out, size_t size, const char *text)
{
    size_t n = strlen(text);

    if (n >= size) {
        return -EINVAL;
    }
    memcpy(out, text, n + 1);
    return 0;
}

/* Parses "name=value;name=value" into Aodh query terms. */
static int
vnfm_parse_query(const char *text, json_t **query)
{
    json_t *terms = json_array();
    char *copy = NULL, *save = NULL, *term;
    int ret = -ENOMEM;

    if (!terms) {
        goto out;
    }
    copy = strdup(text ? text : "");
    if (!copy) {
        goto out;
    }
    ret = -EINVAL;
    for (term = strtok_r(copy, ";", &save); term;
         term = strtok_r(NULL, ";", &save)) {
        char *eq = strchr(term, '='), field[VNFM_ALARM_SHORT_SIZE + 8];
        json_t *obj;

        if (!eq || eq == term || eq[1] == '\0' ||
            json_array_size(terms) >= VNFM_MAX_QUERY_TERMS ||
            strlen(eq + 1) >= VNFM_ALARM_NAME_SIZE ||
            (size_t) (eq - term) >= VNFM_ALARM_SHORT_SIZE) {
            goto out;
        }
        *eq = '\0';
        for (const char *c = term; *c; c++) {
            if (!isalnum((unsigned char) *c) && *c != '_' && *c != '-' &&
                *c != '.') {
                goto out;
            }
        }
        snprintf(field, sizeof field, "traits.%s", term);
        obj = json_pack("{s:s, s:s, s:s, s:s}", "field", field, "op", "eq",
                        "type", "string", "value", eq + 1);
        if (!obj || json_array_append_new(terms, obj)) {
            ret = -ENOMEM;
            goto out;
        }
    }
    *query = terms;
    terms = NULL;
    ret = 0;
out:
    free(copy);
    json_decref(terms);
    return ret;
}

/* Copies 'url' without trailing slashes into 'out'; it must be http(s). */
static int
vnfm_set_base_url(char *out, size_t size, const char *url)
{
    size_t n = strlen(url);

    if (strncmp(url, "http://", 7) && strncmp(url, "https://", 8)) {
        return -EINVAL;
    }
    while (n > 0 && url[n - 1] == '/') {
        n--;
    }
    if (n >= size) {
        return -EINVAL;
    }
    memcpy(out, url, n);
    out[n] = '\0';
    return 0;
}

static void
vnfm_register_metrics(struct vnfm *vnfm, struct metrics_registry *reg)
{
    if (!reg) {
        return;
    }
    vnfm->received_metric = metrics_counter_new(
        reg, "vigil_vnfm_alarms_received_total",
        "Valid alarm webhooks received.", NULL);
    vnfm->rejected_metric = metrics_counter_new(
        reg, "vigil_vnfm_alarms_rejected_total",
        "Alarm webhooks rejected as malformed.", NULL);
    vnfm->recorded_metric = metrics_gauge_new(
        reg, "vigil_vnfm_alarms_recorded",
        "Alarms held in the record list (GET /alarms).", NULL);
    vnfm->delivery_metric = metrics_histogram_new(
        reg, "vigil_vnfm_delivery_seconds",
        "Notifier webhook sent (T08) to received here (T09).", NULL,
        metrics_latency_bounds, metrics_latency_bounds_length);
    vnfm->fault_metric = metrics_histogram_new(
        reg, "vigil_vnfm_detection_to_alarm_seconds",
        "Fault detected by the monitor (T01) to alarm received here (T09).",
        NULL, metrics_latency_bounds, metrics_latency_bounds_length);
}

/* Appends a record, overwriting the oldest when full. Takes a reference
 * to 'body'. */
static int
vnfm_record_add(struct vnfm *vnfm, int64_t received_ns, json_t *body,
                uint64_t *seq)
{
    struct vnfm_record *r;

    if (vnfm->length == vnfm->allocated && vnfm->allocated < vnfm->max) {
        size_t n = vnfm->allocated * 2 < vnfm->max ? vnfm->allocated * 2
                                                   : vnfm->max;
        struct vnfm_record *grown = realloc(vnfm->records, n * sizeof *grown);

        if (!grown) {
            return -ENOMEM;
        }
        vnfm->records = grown;
        vnfm->allocated = n;
    }
    if (vnfm->length < vnfm->allocated) {
        r = &vnfm->records[(vnfm->head + vnfm->length) % vnfm->allocated];
        vnfm->length++;
    } else {
        r = &vnfm->records[vnfm->head];
        json_decref(r->body);
        vnfm->head = (vnfm->head + 1) % vnfm->allocated;
    }
    r->seq = ++vnfm->next_seq;
    r->received_ns = received_ns;
    r->body = json_incref(body);
    *seq = r->seq;
    metrics_gauge_set(vnfm->recorded_metric, (int64_t) vnfm->length);
    return 0;
}

static void
vnfm_records_clear(struct vnfm *vnfm)
{
    for (size_t i = 0; i < vnfm->length; i++) {
        json_decref(vnfm->records[(vnfm->head + i) % vnfm->allocated].body);
    }
    vnfm->head = 0;
    vnfm->length = 0;
    metrics_gauge_set(vnfm->recorded_metric, 0);
}

static json_t *
vnfm_record_to_json(uint64_t seq, int64_t received_ns, json_t *body)
{
    return json_pack("{s:I, s:I, s:O}", "seq", (json_int_t) seq,
                     "received_mono_ns", (json_int_t) received_ns, "body",
                     body);
}

static void
vnfm_write_output(struct vnfm *vnfm, uint64_t seq, int64_t received_ns,
                  json_t *body)
{
    json_t *line;

    if (!vnfm->output) {
        return;
    }
    line = vnfm_record_to_json(seq, received_ns, body);
    if (!line || json_dumpf(line, vnfm->output, JSON_COMPACT) ||
        fputc('\n', vnfm->output) == EOF || fflush(vnfm->output)) {
        vlog_write_rl(&vnfm->output_rl, VLOG_LEVEL_WARN, VNFM_MODULE,
                      "cannot write alarm %" PRIu64 " to the output file",
                      seq);
    }
    json_decref(line);
}

static void
vnfm_log_alarm(const struct vnfm_alarm *alarm)
{
    char latency[64] = "";

    if (alarm->stamps[DOCTOR_T01]) {
        snprintf(latency, sizeof latency, ", detected %.3f ms ago",
                 (alarm->stamps[DOCTOR_T09] - alarm->stamps[DOCTOR_T01]) /
                 1e6);
    }
    VLOG_INFO(VNFM_MODULE, "alarm '%s' (%s): %s instance %s on host %s "
              "(%s%s%s), %s -> %s, severity %s%s", alarm->alarm_name,
              alarm->alarm_id, alarm->event_type,
              alarm->instance_uuid[0] ? alarm->instance_uuid : "-",
              alarm->hostname[0] ? alarm->hostname : "-",
              alarm->libvirt_event[0] ? alarm->libvirt_event : "-",
              alarm->libvirt_detail[0] ? "/" : "", alarm->libvirt_detail,
              alarm->previous, alarm->current, alarm->severity, latency);
}

static void
vnfm_observe(struct vnfm *vnfm, const struct vnfm_alarm *alarm)
{
    int64_t t09 = alarm->stamps[DOCTOR_T09];

    if (alarm->stamps[DOCTOR_T08] && alarm->stamps[DOCTOR_T08] <= t09) {
        metrics_histogram_observe(vnfm->delivery_metric,
                                  (t09 - alarm->stamps[DOCTOR_T08]) / 1e9);
    }
    if (alarm->stamps[DOCTOR_T01] && alarm->stamps[DOCTOR_T01] <= t09) {
        metrics_histogram_observe(vnfm->fault_metric,
                                  (t09 - alarm->stamps[DOCTOR_T01]) / 1e9);
    }
}

/* POST /alarm[/...]: a webhook from the notifier. */
static void
vnfm_on_webhook(struct evhttp_request *req, const struct httpd_params *params,
                void *arg)
{
    int64_t received_ns = vtime_mono_ns();
    struct vnfm *vnfm = arg;
    struct vnfm_alarm alarm;
    char err[256];
    json_t *body;
    uint64_t seq;

    (void) params;
    body = httpd_read_json(req);
    if (!body) {
        vnfm->rejected++;
        metrics_counter_add(vnfm->rejected_metric, 1);
        return;
    }
    if (vnfm_alarm_from_json(body, &alarm, err, sizeof err)) {
        vnfm->rejected++;
        metrics_counter_add(vnfm->rejected_metric, 1);
        vlog_write_rl(&vnfm->reject_rl, VLOG_LEVEL_WARN, VNFM_MODULE,
                      "rejected a webhook: %s", err);
        httpd_reply_error(req, 400, "%s", err);
        json_decref(body);
        return;
    }
    alarm.stamps[DOCTOR_T09] = received_ns;
    if (vnfm_record_add(vnfm, received_ns, body, &seq)) {
        httpd_reply_error(req, 503, "out of memory");
        json_decref(body);
        return;
    }
    httpd_reply_json(req, 200, json_pack("{s:s}", "status", "received"));
    vnfm->received++;
    metrics_counter_add(vnfm->received_metric, 1);
    vnfm_observe(vnfm, &alarm);
    vnfm_write_output(vnfm, seq, received_ns, body);
    vnfm_log_alarm(&alarm);
    if (vnfm->on_alarm) {
        vnfm->on_alarm(&alarm, body, vnfm->on_alarm_arg);
    }
    json_decref(body);
}

/* Reads the unsigned query parameter 'name' into '*value' (unchanged when
 * absent). 0, or -EINVAL after replying 400. */
static int
vnfm_query_number(struct evhttp_request *req, const char *name,
                  unsigned long long max, unsigned long long *value)
{
    unsigned long long v;
    char text[32], *end;
    int ret = httpd_query_param(req, name, text, sizeof text);

    if (ret == -ENOENT) {
        return 0;
    }
    if (ret) {
        httpd_reply_error(req, 400, "malformed query string");
        return -EINVAL;
    }
    errno = 0;
    v = strtoull(text, &end, 10);
    if (errno || end == text || *end != '\0' || text[0] == '-' || v > max) {
        httpd_reply_error(req, 400, "%s: expected an integer in [0, %llu]",
                          name, max);
        return -EINVAL;
    }
    *value = v;
    return 0;
}

/* GET /alarms[?after=SEQ][&limit=N]. */
static void
vnfm_on_get_alarms(struct evhttp_request *req,
                   const struct httpd_params *params, void *arg)
{
    struct vnfm *vnfm = arg;
    unsigned long long after = 0, limit = VNFM_DEFAULT_LIST_LIMIT;
    json_t *list;

    (void) params;
    if (vnfm_query_number(req, "after", UINT64_MAX, &after) ||
        vnfm_query_number(req, "limit", VNFM_MAX_LIST_LIMIT, &limit)) {
        return;
    }
    list = json_array();
    if (!list) {
        httpd_reply_error(req, 503, "out of memory");
        return;
    }
    for (size_t i = 0; i < vnfm->length && json_array_size(list) < limit;
         i++) {
        struct vnfm_record *r =
            &vnfm->records[(vnfm->head + i) % vnfm->allocated];

        if (r->seq <= after) {
            continue;
        }
        if (json_array_append_new(list, vnfm_record_to_json(
                                      r->seq, r->received_ns, r->body))) {
            json_decref(list);
            httpd_reply_error(req, 503, "out of memory");
            return;
        }
    }
    httpd_reply_json(req, 200, list);
}

/* DELETE /alarms. */
static void
vnfm_on_delete_alarms(struct evhttp_request *req,
                      const struct httpd_params *params, void *arg)
{
    struct vnfm *vnfm = arg;

    (void) params;
    vnfm_records_clear(vnfm);
    httpd_reply_json(req, 204, NULL);
}

static int
vnfm_add_routes(struct vnfm *vnfm)
{
    static const char *const webhook_paths[] = { "/alarm", "/alarm/{}",
                                                 "/alarm/{}/{}",
                                                 "/alarm/{}/{}/{}" };
    int ret;

    for (size_t i = 0; i < sizeof webhook_paths / sizeof webhook_paths[0];
         i++) {
        ret = httpd_route(vnfm->httpd, EVHTTP_REQ_POST, webhook_paths[i],
                          vnfm_on_webhook, vnfm);
        if (ret) {
            return ret;
        }
    }
    ret = httpd_route(vnfm->httpd, EVHTTP_REQ_GET, "/alarms",
                      vnfm_on_get_alarms, vnfm);
    if (ret) {
        return ret;
    }
    return httpd_route(vnfm->httpd, EVHTTP_REQ_DELETE, "/alarms",
                       vnfm_on_delete_alarms, vnfm);
}

struct vnfm *
vnfm_new(struct event_base *base, const struct vnfm_options *options,
         int *error)
{
    const char *address = options->address ? options->address : "127.0.0.1";
    struct httpd_options hopts;
    struct vnfm *vnfm = calloc(1, sizeof *vnfm);
    int ret = -ENOMEM;

    if (!vnfm) {
        goto out;
    }
    vnfm->base = base;
    vnfm->max = options->max_alarms ? options->max_alarms
                                    : VNFM_DEFAULT_MAX_ALARMS;
    vnfm->allocated = vnfm->max < VNFM_INITIAL_RECORDS ? vnfm->max
                                                       : VNFM_INITIAL_RECORDS;
    vnfm->records = calloc(vnfm->allocated, sizeof *vnfm->records);
    vnfm->subscribe_attempts = options->subscribe_attempts
                               ? options->subscribe_attempts
                               : VNFM_DEFAULT_SUBSCRIBE_ATTEMPTS;
    vnfm->reject_rl = (struct vlog_rate_limit) VLOG_RATE_LIMIT_INIT(1, 10);
    vnfm->output_rl = (struct vlog_rate_limit) VLOG_RATE_LIMIT_INIT(1, 5);
    if (!vnfm->records) {
        goto out;
    }
    ret = -EINVAL;
    if (vnfm_copy(vnfm->alarm_name, sizeof vnfm->alarm_name,
                  options->alarm_name ? options->alarm_name
                                      : VNFM_DEFAULT_ALARM_NAME) ||
        vnfm_copy(vnfm->event_type, sizeof vnfm->event_type,
                  options->event_type ? options->event_type
                                      : VNFM_DEFAULT_EVENT_TYPE) ||
        !vnfm->alarm_name[0] || !vnfm->event_type[0]) {
        goto out;
    }
    if (options->notifier_url && options->notifier_url[0] &&
        vnfm_set_base_url(vnfm->notifier_url, sizeof vnfm->notifier_url,
                          options->notifier_url)) {
        goto out;
    }
    ret = vnfm_parse_query(options->query, &vnfm->query);
    if (ret) {
        goto out;
    }
    if (options->output_path && options->output_path[0]) {
        vnfm->output = fopen(options->output_path, "a");
        if (!vnfm->output) {
            ret = -errno;
            goto out;
        }
    }
    vnfm->httpc = httpc_new(base, NULL);
    if (!vnfm->httpc) {
        ret = -ENOMEM;
        goto out;
    }
    vnfm_register_metrics(vnfm, options->metrics);
    memset(&hopts, 0, sizeof hopts);
    hopts.address = address;
    hopts.port = options->port;
    hopts.metrics = options->metrics;
    hopts.name = "vigil_vnfm";
    vnfm->httpd = httpd_new(base, &hopts, &ret);
    if (!vnfm->httpd) {
        goto out;
    }
    ret = vnfm_add_routes(vnfm);
    if (ret) {
        goto out;
    }
    if (options->callback_url && options->callback_url[0]) {
        ret = vnfm_copy(vnfm->callback_url, sizeof vnfm->callback_url,
                        options->callback_url);
    } else if ((size_t) snprintf(vnfm->callback_url,
                                 sizeof vnfm->callback_url,
                                 strchr(address, ':') ? "http://[%s]:%u/alarm"
                                                      : "http://%s:%u/alarm",
                                 address, (unsigned) httpd_port(vnfm->httpd))
               >= sizeof vnfm->callback_url) {
        ret = -EINVAL;
    }
out:
    if (ret) {
        vnfm_free(vnfm);
        *error = ret;
        return NULL;
    }
    return vnfm;
}

void
vnfm_free(struct vnfm *vnfm)
{
    if (!vnfm) {
        return;
    }
    /* Cancelling runs the pending 'done' callback while 'vnfm' is whole. */
    httpc_free(vnfm->httpc);
    httpd_free(vnfm->httpd);
    if (vnfm->records) {
        vnfm_records_clear(vnfm);
    }
    free(vnfm->records);
    json_decref(vnfm->query);
    free(vnfm->subscription);
    if (vnfm->output) {
        fclose(vnfm->output);
    }
    free(vnfm);
}

uint16_t
vnfm_port(const struct vnfm *vnfm)
{
    return httpd_port(vnfm->httpd);
}

const char *
vnfm_callback_url(const struct vnfm *vnfm)
{
    return vnfm->callback_url;
}

void
vnfm_set_alarm_callback(struct vnfm *vnfm, vnfm_alarm_fn *fn, void *arg)
{
    vnfm->on_alarm = fn;
    vnfm->on_alarm_arg = arg;
}

const char *
vnfm_alarm_id(const struct vnfm *vnfm)
{
    return vnfm->alarm_id[0] ? vnfm->alarm_id : NULL;
}

uint64_t
vnfm_received(const struct vnfm *vnfm)
{
    return vnfm->received;
}

uint64_t
vnfm_rejected(const struct vnfm *vnfm)
{
    return vnfm->rejected;
}

/* Ends the request under way: clears 'busy' before calling back, so that
 * the callback may start another one. */
static void
vnfm_finish(struct vnfm *vnfm, int status, const char *alarm_id,
            const char *reason)
{
    vnfm_done_fn *done = vnfm->done;
    void *done_arg = vnfm->done_arg;

    vnfm->busy = false;
    vnfm->done = NULL;
    vnfm->done_arg = NULL;
    free(vnfm->subscription);
    vnfm->subscription = NULL;
    if (done) {
        done(status, alarm_id, reason, done_arg);
    }
}

/* Describes a failed response in 'reason' and returns a negative errno. */
static int
vnfm_describe_failure(const struct vnfm *vnfm,
                      const struct httpc_response *response, char *reason,
                      size_t size)
{
    if (response->error) {
        snprintf(reason, size, "notifier %s: %s (after %u attempts)",
                 vnfm->notifier_url, response->error, response->attempts);
        return strcmp(response->error, "cancelled") ? -EHOSTUNREACH
                                                     : -ECANCELED;
    }
    snprintf(reason, size, "notifier %s answered HTTP %ld: %.200s",
             vnfm->notifier_url, response->status,
             response->body ? response->body : "");
    return -EPROTO;
}

/* Submits one request of the subscription; 'body' may be NULL. */
static int
vnfm_submit(struct vnfm *vnfm, const char *method, const char *url,
            const char *body, unsigned int attempts, httpc_done_fn *done)
{
    static const char *const headers[] = {
        "Content-Type: application/json", "Accept: application/json", NULL
    };
    struct httpc_retry retry = { attempts, 20, 500 };
    struct httpc_request request;

    memset(&request, 0, sizeof request);
    request.method = method;
    request.url = url;
    request.body = body;
    request.body_size = body ? strlen(body) : 0;
    request.headers = headers;
    request.retry = &retry;
    request.timeout_ms = 2000;
    return httpc_submit(vnfm->httpc, &request, done, vnfm);
}

/* Adopts the alarm id in the JSON object 'response' and ends the
 * subscription with 'how'. */
static void
vnfm_adopt(struct vnfm *vnfm, const struct httpc_response *response,
           const char *how)
{
    char reason[VNFM_REASON_SIZE];
    json_t *body = json_loadb(response->body, response->body_size, 0, NULL);
    const char *id = json_string_value(json_object_get(body, "alarm_id"));

    if (!id || vnfm_copy(vnfm->alarm_id, sizeof vnfm->alarm_id, id)) {
        snprintf(reason, sizeof reason, "notifier %s: no valid alarm_id in "
                 "the answer: %.200s", vnfm->notifier_url, response->body);
        json_decref(body);
        vnfm_finish(vnfm, -EPROTO, NULL, reason);
        return;
    }
    json_decref(body);
    snprintf(reason, sizeof reason, "%s after %u attempt%s", how,
             response->attempts, response->attempts == 1 ? "" : "s");
    vnfm_finish(vnfm, 0, vnfm->alarm_id, reason);
}

static void
vnfm_on_updated(const struct httpc_response *response, void *arg)
{
    struct vnfm *vnfm = arg;
    char reason[VNFM_REASON_SIZE];

    if (response->error || response->status != 200) {
        vnfm_finish(vnfm, vnfm_describe_failure(vnfm, response, reason,
                                                sizeof reason),
                    NULL, reason);
        return;
    }
    vnfm_adopt(vnfm, response, "took over the existing alarm of that name");
}

/* The answer to the look-up of an alarm of our name after a 409: update
 * it to our definition (our webhook URL may have changed). */
static void
vnfm_on_found(const struct httpc_response *response, void *arg)
{
    struct vnfm *vnfm = arg;
    char reason[VNFM_REASON_SIZE], url[VNFM_URL_SIZE + 16 + 3 *
                                       VNFM_ALARM_ID_SIZE];
    const char *id = NULL;
    json_t *list = NULL, *alarm;
    char *encoded = NULL;
    size_t index;
    int ret;

    if (response->error || response->status != 200) {
        ret = vnfm_describe_failure(vnfm, response, reason, sizeof reason);
        goto out;
    }
    list = json_loadb(response->body, response->body_size, 0, NULL);
    json_array_foreach(list, index, alarm) {
        const char *name = json_string_value(json_object_get(alarm, "name"));

        if (name && !strcmp(name, vnfm->alarm_name)) {
            id = json_string_value(json_object_get(alarm, "alarm_id"));
            break;
        }
    }
    ret = -EPROTO;
    if (!id || strlen(id) >= VNFM_ALARM_ID_SIZE) {
        snprintf(reason, sizeof reason, "notifier %s: alarm '%s' exists "
                 "(409) but is not listed", vnfm->notifier_url,
                 vnfm->alarm_name);
        goto out;
    }
    ret = -ENOMEM;
    encoded = evhttp_encode_uri(id);
    if (!encoded) {
        snprintf(reason, sizeof reason, "out of memory");
        goto out;
    }
    snprintf(url, sizeof url, "%s/v2/alarms/%s", vnfm->notifier_url,
             encoded);
    ret = vnfm_submit(vnfm, "PUT", url, vnfm->subscription, 3,
                      vnfm_on_updated);
    if (ret) {
        snprintf(reason, sizeof reason, "cannot update alarm %s: %s", id,
                 strerror(-ret));
    }
out:
    free(encoded);
    json_decref(list);
    if (ret) {
        vnfm_finish(vnfm, ret, NULL, reason);
    }
}

static void
vnfm_on_created(const struct httpc_response *response, void *arg)
{
    struct vnfm *vnfm = arg;
    char reason[VNFM_REASON_SIZE], url[VNFM_URL_SIZE + 64 + 3 *
                                       VNFM_ALARM_NAME_SIZE];
    char *name = NULL;
    int ret;

    if (response->status == 409) {
        /* A previous run of this VNFM left its alarm: take it over. */
        name = evhttp_encode_uri(vnfm->alarm_name);
        if (!name) {
            vnfm_finish(vnfm, -ENOMEM, NULL, "out of memory");
            return;
        }
        snprintf(url, sizeof url,
                 "%s/v2/alarms?q.field=name&q.op=eq&q.value=%s",
                 vnfm->notifier_url, name);
        free(name);
        ret = vnfm_submit(vnfm, "GET", url, NULL, 3, vnfm_on_found);
        if (ret) {
            snprintf(reason, sizeof reason, "cannot look up alarm '%s': %s",
                     vnfm->alarm_name, strerror(-ret));
            vnfm_finish(vnfm, ret, NULL, reason);
        }
        return;
    }
    if (response->error || (response->status != 200 &&
                            response->status != 201)) {
        vnfm_finish(vnfm, vnfm_describe_failure(vnfm, response, reason,
                                                sizeof reason),
                    NULL, reason);
        return;
    }
    vnfm_adopt(vnfm, response, "subscribed");
}

int
vnfm_subscribe(struct vnfm *vnfm, vnfm_done_fn *done, void *arg)
{
    char url[VNFM_URL_SIZE + 16];
    char *text = NULL;
    json_t *body;
    int ret = -EINVAL;

    if (!vnfm->notifier_url[0]) {
        return -EINVAL;
    }
    if (vnfm->busy) {
        return -EBUSY;
    }
    snprintf(url, sizeof url, "%s/v2/alarms", vnfm->notifier_url);
    body = json_pack("{s:s, s:s, s:s, s:s, s:b, s:b, s:[s], s:{s:s, s:O}}",
                     "name", vnfm->alarm_name,
                     "description", "Vigil sample VNFM: instance faults",
                     "type", "event",
                     "severity", "critical",
                     "enabled", 1,
                     "repeat_actions", 1,
                     "alarm_actions", vnfm->callback_url,
                     "event_rule", "event_type", vnfm->event_type,
                     "query", vnfm->query);
    text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    if (!text) {
        ret = -ENOMEM;
        goto out;
    }
    ret = vnfm_submit(vnfm, "POST", url, text, vnfm->subscribe_attempts,
                      vnfm_on_created);
    if (ret) {
        goto out;
    }
    vnfm->busy = true;
    vnfm->done = done;
    vnfm->done_arg = arg;
    vnfm->subscription = text;
    text = NULL;
out:
    free(text);
    json_decref(body);
    return ret;
}

static void
vnfm_on_unsubscribed(const struct httpc_response *response, void *arg)
{
    struct vnfm *vnfm = arg;
    char id[VNFM_ALARM_ID_SIZE], reason[VNFM_REASON_SIZE];
    int status;

    memcpy(id, vnfm->alarm_id, sizeof id);
    if (response->error || (response->status != 200 &&
                            response->status != 204 &&
                            response->status != 404)) {
        status = vnfm_describe_failure(vnfm, response, reason, sizeof reason);
        vnfm_finish(vnfm, status, NULL, reason);
        return;
    }
    vnfm->alarm_id[0] = '\0';
    snprintf(reason, sizeof reason, response->status == 404
             ? "the notifier no longer had the alarm" : "alarm deleted");
    vnfm_finish(vnfm, 0, id, reason);
}

int
vnfm_unsubscribe(struct vnfm *vnfm, long timeout_ms, vnfm_done_fn *done,
                 void *arg)
{
    struct httpc_request request;
    char url[VNFM_URL_SIZE + 16 + 3 * VNFM_ALARM_ID_SIZE];
    char *id = NULL;
    int ret = -ENOENT;

    if (!vnfm->alarm_id[0]) {
        goto out;
    }
    ret = -EBUSY;
    if (vnfm->busy) {
        goto out;
    }
    ret = -ENOMEM;
    id = evhttp_encode_uri(vnfm->alarm_id);
    if (!id) {
        goto out;
    }
    snprintf(url, sizeof url, "%s/v2/alarms/%s", vnfm->notifier_url, id);
    memset(&request, 0, sizeof request);
    request.method = "DELETE";
    request.url = url;
    request.timeout_ms = timeout_ms;
    ret = httpc_submit(vnfm->httpc, &request, vnfm_on_unsubscribed, vnfm);
    if (ret) {
        goto out;
    }
    vnfm->busy = true;
    vnfm->done = done;
    vnfm->done_arg = arg;
out:
    free(id);
    return ret;
}
