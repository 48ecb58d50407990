/* api: the notifier's REST API on httpd, a subset of Aodh's v2 API plus
 * the internal event intake.
 *
 *   POST   /v2/alarms               create an event alarm (201 + alarm)
 *   GET    /v2/alarms               list; q.field/q.op/q.value filters on
 *                                   alarm_id, name, type, enabled, state,
 *                                   severity, project_id, user_id (eq, ne)
 *   GET    /v2/alarms/{id}          one alarm (404 when unknown)
 *   PUT    /v2/alarms/{id}          replace it (Aodh's update)
 *   DELETE /v2/alarms/{id}          delete it (204)
 *   GET    /v2/alarms/{id}/state    its state as a JSON string
 *   PUT    /v2/alarms/{id}/state    set it (body: a JSON string)
 *   POST   /v1/events               Doctor events from the inspector; each
 *                                   is stamped T07 on receipt; bodies are
 *                                   evaluated in order, 32 events per turn
 *                                   of the loop (the first webhooks leave
 *                                   while later events wait), and answered
 *                                   202 with counts once all their events
 *                                   are evaluated; 503 + Retry-After while
 *                                   256 bodies wait
 *
 * Ownership follows Aodh: project_id and user_id come from the body, else
 * from the X-Project-Id / X-User-Id headers, else from the configured
 * defaults; names are unique per project (409). A full store answers 403,
 * as Aodh's quota does. Every error is httpd's JSON error body with a
 * reason naming the field.
 *
 * Single-threaded: handlers run on the loop of the httpd. */
#ifndef VIGIL_API_H
#define VIGIL_API_H

#include "alarm_db.h"
#include "alarm_store.h"
#include "evaluator.h"

struct httpd;
struct metrics_registry;

struct api_options {
    struct alarm_store *store;         /* borrowed */
    struct alarm_db *db;               /* borrowed; NULL: no persistence */
    struct evaluator *evaluator;       /* borrowed */
    struct metrics_registry *metrics;  /* may be NULL */
    const char *default_project_id;    /* copied; NULL: "vigil" */
    const char *default_user_id;       /* copied; NULL: "vigil" */
};

struct api;

/* Adds the routes above to 'httpd'. The api must be freed after 'httpd'
 * (the routes point at it), and flushed before it. NULL on failure with '*error' set to a
 * negative errno: -EINVAL when a default id is longer than
 * ALARM_MAX_ID_LENGTH, -ENOMEM. */
struct api *api_new(struct httpd *httpd, const struct api_options *options,
                    int *error);

/* Evaluates every event body still waiting and answers it (the answer
 * leaves only if the loop runs again). Call before httpd_free(): freeing
 * the server frees the requests. */
void api_flush(struct api *api);

/* Frees the api (after api_flush()). Accepts NULL. */
void api_free(struct api *api);

#endif
