/* inspector_api: Doctor inspector endpoints (see inspector_api.h). */
#include "inspector_api.h"

#include <errno.h>
#include <event2/http.h>
#include <stdlib.h>
#include <string.h>

#include "correlator.h"
#include "doctor_event.h"
#include "event_log.h"
#include "httpd.h"
#include "vtime.h"

#define INSPECTOR_API_MAX_LIMIT 1000

struct inspector_api {
    struct correlator *correlator;
    struct event_log *log;
};

static void
inspector_api_put_events(struct evhttp_request *req,
                         const struct httpd_params *params, void *arg)
{
    struct inspector_api *api = arg;
    int64_t received = vtime_mono_ns();
    struct doctor_event *events = NULL;
    struct correlator_summary sum;
    size_t length = 0;
    char err[256];
    json_t *body;
    int ret;

    (void) params;
    body = httpd_read_json(req);
    if (!body) {
        return;   /* httpd replied */
    }
    ret = doctor_events_from_json(body, &events, &length, err, sizeof err);
    json_decref(body);
    if (ret == -E2BIG) {
        httpd_reply_error(req, 413, "%s", err);
        return;
    }
    if (ret) {
        httpd_reply_error(req, 400, "%s", err);
        return;
    }
    for (size_t i = 0; i < length; i++) {
        events[i].stamps[DOCTOR_T02] = received;
    }
    ret = correlator_handle(api->correlator, events, length, &sum);
    doctor_events_free(events, length);
    if (ret == -ENOBUFS) {
        httpd_reply_error(req, 503, "the notifier outbox is full: %zu "
                          "event(s) not accepted, retry later", sum.refused);
        return;
    }
    if (ret) {
        httpd_reply_error(req, 500, "cannot handle events: %s",
                          strerror(-ret));
        return;
    }
    httpd_reply_json(req, 200, json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}",
        "accepted", (json_int_t) length,
        "forwarded", (json_int_t) sum.forwarded,
        "duplicates", (json_int_t) sum.verdicts[DEDUP_DUPLICATE],
        "stale", (json_int_t) sum.verdicts[DEDUP_STALE],
        "host_events", (json_int_t) sum.host_events,
        "absorbed", (json_int_t) sum.absorbed));
}

static void
inspector_api_get_events(struct evhttp_request *req,
                         const struct httpd_params *params, void *arg)
{
    struct inspector_api *api = arg;
    size_t limit = 100;
    char text[32], *end;

    (void) params;
    switch (httpd_query_param(req, "limit", text, sizeof text)) {
    case 0: {
        long v = strtol(text, &end, 10);

        if (*end != '\0' || end == text || v < 1 ||
            v > INSPECTOR_API_MAX_LIMIT) {
            httpd_reply_error(req, 400, "limit: expected an integer in "
                              "[1, %d], got '%s'", INSPECTOR_API_MAX_LIMIT,
                              text);
            return;
        }
        limit = (size_t) v;
        break;
    }
    case -ENOENT:
        break;
    default:
        httpd_reply_error(req, 400, "malformed query string");
        return;
    }
    httpd_reply_json(req, 200, json_pack("{s:o}", "events",
                     event_log_to_json(api->log, limit)));
}

struct inspector_api *
inspector_api_new(struct httpd *httpd, struct correlator *c,
                  struct event_log *log)
{
    struct inspector_api *api = calloc(1, sizeof *api);

    if (!api) {
        return NULL;
    }
    api->correlator = c;
    api->log = log;
    if (httpd_route(httpd, EVHTTP_REQ_PUT | EVHTTP_REQ_POST, "/events",
                    inspector_api_put_events, api) ||
        httpd_route(httpd, EVHTTP_REQ_GET, "/events",
                    inspector_api_get_events, api)) {
        free(api);
        return NULL;
    }
    return api;
}

void
inspector_api_free(struct inspector_api *api)
{
    free(api);
}
