/* inspector_api: the OPNFV Doctor inspector REST API on httpd.
 *
 *   PUT /events, POST /events   a Doctor event list (doctor_event.h); 200
 *                               with what became of the events, 400 with
 *                               the reason for a malformed body, 503 when
 *                               the notifier outbox is full
 *   GET /events?limit=N         the newest handled events (at most 1000)
 *
 * Requests are handled on the loop; no state beyond the correlator's. */
#ifndef VIGIL_INSPECTOR_API_H
#define VIGIL_INSPECTOR_API_H

struct correlator;
struct event_log;
struct httpd;
struct inspector_api;

/* Adds the routes to 'httpd'; 'c' and 'log' must outlive the API, and the
 * API must outlive 'httpd' (free the httpd first). NULL on failure. */
struct inspector_api *inspector_api_new(struct httpd *httpd,
                                        struct correlator *c,
                                        struct event_log *log);
void inspector_api_free(struct inspector_api *api);

#endif
