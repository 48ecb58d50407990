/* keystone: OpenStack Identity (Keystone v3) password authentication and
 * authenticated calls to the services of its catalog, on httpc.
 *
 * A struct keystone holds one project-scoped token (POST /v3/auth/tokens
 * with the password method; the token comes back in the X-Subject-Token
 * header, its lifetime and the service catalog in the body). Calls name a
 * service by its catalog type ("compute", "network") and a path; the
 * endpoint is picked from the catalog by type, interface ("public",
 * "internal", "admin") and region, the token goes in X-Auth-Token.
 *
 * The token is cached and renewed before it expires: the renewal starts
 * 'renew_before_ns' before the end of its lifetime (at most half-way
 * through a short lifetime), measured on the local monotonic clock from
 * the moment the token arrived, so a skewed Keystone clock does not
 * matter. The old token serves calls until the new one arrives. A call
 * answered 401 (the token was revoked, or expired early) makes the token
 * invalid; the call waits for a fresh token and is replayed once with it.
 * Calls made while no valid token is held wait for the authentication
 * (at most 'max_waiting' of them); when it fails they complete with an
 * error instead of hanging.
 *
 * Like all of common/ it does not log: authentication results reach the
 * daemon through a callback. Single-threaded: use it from the loop of the
 * httpc it was made with. */
#ifndef VIGIL_KEYSTONE_H
#define VIGIL_KEYSTONE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "httpc.h"

struct event_base;
struct keystone;
struct metrics_registry;

#define KEYSTONE_MAX_STRING_LENGTH 2048   /* any name, URL or token */
#define KEYSTONE_MAX_ENDPOINTS 4096       /* catalog entries kept */
#define KEYSTONE_DEFAULT_RENEW_BEFORE_NS (300LL * 1000000000LL)
#define KEYSTONE_DEFAULT_MAX_WAITING 100000

/* The outcome of one authentication, as passed to the auth callback. */
struct keystone_auth_report {
    bool ok;
    const char *error;          /* why it failed; NULL when ok */
    long status;                /* HTTP status of the answer, 0: none */
    int64_t lifetime_ns;        /* ok: the token's lifetime */
    size_t endpoints;           /* ok: catalog entries */
    const char *reason;         /* why it was started: "start", "renew",
                                 * "401", "expired" */
};

/* Called on the loop after every authentication attempt (with its
 * retries). 'report' is valid during the call only. The callback may make
 * calls; it must not free the keystone. */
typedef void keystone_auth_fn(struct keystone *ks,
                              const struct keystone_auth_report *report,
                              void *arg);

struct keystone_options {
    const char *auth_url;             /* "http://HOST:5000/v3" (or the
                                       * root, "/v3" is added); copied */
    const char *username;
    const char *password;
    const char *user_domain_name;     /* NULL or "": "Default" */
    const char *project_name;
    const char *project_domain_name;  /* NULL or "": "Default" */
    const char *region_name;          /* NULL or "": any region */
    const char *interface;            /* NULL or "": "public" */
    long timeout_ms;                  /* per authentication attempt; 0:
                                       * httpc's default */
    struct httpc_retry retry;         /* of the authentication request;
                                       * max_attempts 0: 3 attempts */
    int64_t renew_before_ns;          /* 0: KEYSTONE_DEFAULT_RENEW_BEFORE_NS */
    size_t max_waiting;               /* calls waiting for a token; 0:
                                       * KEYSTONE_DEFAULT_MAX_WAITING */
    struct metrics_registry *metrics; /* may be NULL */
    const char *metrics_prefix;       /* required with 'metrics', e.g.
                                       * "vigil_inspector" */
    keystone_auth_fn *on_auth;        /* may be NULL */
    void *arg;
};

/* A client on the loop of 'base', calling through 'client' (both must
 * outlive it). It does not authenticate until keystone_authenticate() or
 * the first call.
 * NULL on failure, with '*error' (may be NULL) set to -EINVAL (a required
 * option missing or longer than KEYSTONE_MAX_STRING_LENGTH, auth_url not
 * http(s)) or -ENOMEM. Strings of 'options' are copied. */
struct keystone *keystone_new(struct event_base *base, struct httpc *client,
                              const struct keystone_options *options,
                              int *error);

/* Completes every outstanding call (waiting or in flight) with error
 * "cancelled" (status 0) and frees 'ks'; requests still in flight in httpc
 * end unseen. Not from a done or auth callback. Accepts NULL. */
void keystone_free(struct keystone *ks);

/* Starts an authentication unless one is under way or a valid token is
 * held. 0, or -ENOMEM / -ENOBUFS from httpc. The result is reported to
 * the auth callback. */
int keystone_authenticate(struct keystone *ks);

/* One authenticated call. */
struct keystone_call {
    const char *service_type;     /* catalog type, e.g. "compute"; NULL:
                                   * 'path' is an absolute URL */
    const char *method;
    const char *path;             /* appended to the endpoint URL, e.g.
                                   * "/os-services?binary=nova-compute" */
    const char *body;             /* may be NULL; copied */
    size_t body_size;
    const char *const *headers;   /* extra headers, NULL-terminated (e.g.
                                   * the Nova microversion); copied; at
                                   * most 8 */
    const struct httpc_retry *retry;  /* NULL: one attempt */
    long timeout_ms;              /* per attempt; 0: httpc's default */
    bool urgent;                  /* httpc_request.urgent */
};

/* Called exactly once per accepted call, on the loop, never from inside
 * keystone_call(). 'response' is the service's final answer, or one made
 * up with status 0 and 'error' set when no token could be had ("keystone:
 * ..."), the catalog has no such endpoint, or the keystone was freed
 * ("cancelled"). */
typedef void keystone_done_fn(const struct httpc_response *response,
                              void *arg);

/* Makes 'call' with the current token, or queues it until a token is
 * there. A 401 answer is replayed once with a fresh token. 0 when
 * accepted; -EINVAL for a bad call (missing method or path, more than 8
 * headers, an absolute URL that is not http(s)); -ENOBUFS when
 * 'max_waiting' calls wait already or httpc refuses; -ENOMEM. */
int keystone_call(struct keystone *ks, const struct keystone_call *call,
                  keystone_done_fn *done, void *arg);

/* Copies the catalog URL of 'service_type' for the configured interface
 * and region into 'url' (without a trailing '/'). 0; -EAGAIN when no token
 * (hence no catalog) was had yet; -ENOENT when the catalog has no such
 * endpoint; -ENAMETOOLONG when 'size' is too small. */
int keystone_endpoint(const struct keystone *ks, const char *service_type,
                      char *url, size_t size);

/* True while a token is held that has not expired nor been refused. */
bool keystone_has_token(const struct keystone *ks);

/* Totals since creation. */
struct keystone_stats {
    uint64_t authentications;     /* successful */
    uint64_t auth_failures;
    uint64_t renewals;            /* started before expiry */
    uint64_t unauthorized;        /* calls answered 401 */
    uint64_t replayed;            /* calls replayed after a 401 */
    uint64_t calls;               /* calls completed */
    size_t waiting;               /* calls waiting for a token now */
};

void keystone_get_stats(const struct keystone *ks,
                        struct keystone_stats *stats);

#endif
