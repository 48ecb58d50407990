/* resv_api: the REST API of vigil-reservation on common/httpd.
 *
 *   POST, GET /v1/pools           GET, DELETE /v1/pools/{id}
 *   POST, GET /v1/reservations    GET, PATCH, DELETE /v1/reservations/{id}
 *   POST, GET /v1/allocations     GET, DELETE /v1/allocations/{id}
 *   GET /v1/capacity              GET /v1/zones
 *
 * Bodies are parsed by resv_request.c and handed to resv_engine.c; a
 * write is answered (201/200/204) from the engine's 'done' callback, i.e.
 * only after its group commit. Refusals are JSON errors naming the field;
 * a 409 for lack of capacity also carries "conflict" (key, requested,
 * available, interval) and "offer" (the largest vector that fits the
 * window, the earliest start at which the request fits). See
 * docs/reservation.md for every request and answer.
 *
 * Single-threaded: runs on the loop of the httpd it is attached to. */
#ifndef VIGIL_RESERVATION_RESV_API_H
#define VIGIL_RESERVATION_RESV_API_H

#include <stddef.h>

struct httpd;
struct resv_engine;
struct resv_api;

struct resv_api_options {
    struct resv_engine *engine;     /* must outlive the API */
    size_t max_list;                /* most items per list answer */
    size_t max_intervals;           /* most pieces per capacity answer */
};

/* Adds the routes to 'httpd'. NULL with '*error' set on failure. */
struct resv_api *resv_api_new(struct httpd *httpd,
                              const struct resv_api_options *options,
                              int *error);

/* The HTTP status for an engine error (0 or -errno of resv_engine.h):
 * -EINVAL 400, -EDQUOT 403, -ENOENT 404, -EBUSY/-EALREADY 409, -ENOBUFS
 * 503, anything else 500. */
int resv_api_http_status(int ret);

/* Frees the API; free the httpd first (its routes point here). Accepts
 * NULL. */
void resv_api_free(struct resv_api *api);

#endif
