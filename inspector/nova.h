/* nova: the inspector's client of the Nova compute API, through Keystone
 * (keystone.h: token, catalog endpoint of type "compute", 401 replay).
 *
 * nova_discover() reads Nova's version document (GET on the compute
 * endpoint) for the cloud's maximum microversion and picks the one every
 * later call sends (X-OpenStack-Nova-API-Version): 2.53 where the cloud
 * supports it (services by UUID, force-down with PUT /os-services/{id}
 * {"forced_down": true}), else 2.11 (PUT /os-services/force-down with
 * {"host", "binary", "forced_down"}), else 2.1 (no force-down). A
 * configured override is used as given when the cloud supports it, and
 * chooses the force-down body the same way.
 *
 * The calls the inspector needs: the nova-compute services, force-down and
 * its undo, os-resetState, and GET /servers/detail?all_tenants=1 with
 * paging (limit/marker, following servers_links "next") and changes-since.
 * Every call may run at the same time as any other: each is one httpc
 * request on the shared curl-multi client.
 *
 * Not thread-safe: use it from the loop of its keystone. */
#ifndef VIGIL_INSPECTOR_NOVA_H
#define VIGIL_INSPECTOR_NOVA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "httpc.h"

struct keystone;
struct nova;

#define NOVA_ID_SIZE 64             /* service ids (UUID or integer) */
#define NOVA_UUID_SIZE 37
#define NOVA_HOST_SIZE 256
#define NOVA_SHORT_SIZE 32
#define NOVA_VERSION_SIZE 16        /* "2.53" */
#define NOVA_MAX_PAGES 100000       /* a listing stops after that many */

/* How the cloud takes a force-down. */
enum nova_force_down_api {
    NOVA_FORCE_DOWN_NONE,       /* below 2.11: not possible */
    NOVA_FORCE_DOWN_BY_HOST,    /* 2.11 .. 2.52: PUT /os-services/force-down */
    NOVA_FORCE_DOWN_BY_ID,      /* 2.53+: PUT /os-services/{id} */
    NOVA_FORCE_DOWN_API_COUNT
};

const char *nova_force_down_api_name(enum nova_force_down_api api);

/* Picks the microversion to send and the force-down API, from the cloud's
 * 'max_version' ("2.93"; NULL or "": the cloud has no microversions, i.e.
 * 2.1) and an 'override' (NULL or "": none). The override must parse as
 * "2.N", be at least 2.1 and at most the cloud's maximum. Writes the
 * version into 'version' (NOVA_VERSION_SIZE bytes) and the API to '*api';
 * 0, or -EINVAL (malformed version or override), -ENOTSUP (override above
 * the maximum). Pure. */
int nova_select_microversion(const char *max_version, const char *override,
                             char version[NOVA_VERSION_SIZE],
                             enum nova_force_down_api *api);

/* Parses "MAJOR.MINOR" (no sign, no spaces, each at most 9 digits). 0 or
 * -EINVAL. Pure. */
int nova_parse_version(const char *text, unsigned int *major,
                       unsigned int *minor);

/* Reads the maximum microversion from a version document: either
 * {"version": {...}} (GET /v2.1) or {"versions": [...]} (GET /), whose
 * "v2.1" entry counts. An empty "version" string (a cloud without
 * microversions) gives "". 0 with 'max' (NOVA_VERSION_SIZE bytes) written;
 * -EINVAL for anything else. Pure. */
int nova_parse_version_document(const char *body, size_t size,
                                char max[NOVA_VERSION_SIZE]);

struct nova_options {
    const char *microversion;     /* NULL or "": from the version document */
    long timeout_ms;              /* per attempt; 0: httpc's default */
    struct httpc_retry retry;     /* per call; max_attempts 0: 3 attempts,
                                   * 50 ms doubling up to 1 s */
    unsigned int page_size;       /* servers per page; 0: 200 */
};

/* A client calling through 'ks' (which must outlive it). NULL on failure,
 * '*error' (may be NULL) set to -EINVAL (bad override syntax) or -ENOMEM. */
struct nova *nova_new(struct keystone *ks, const struct nova_options *options,
                      int *error);

/* Frees 'nova'. Calls still outstanding end without their callbacks. Not
 * from a callback of this client. Accepts NULL. */
void nova_free(struct nova *nova);

/* The result of a call without data. 'error' is NULL on success (a 2xx);
 * else it says why ("HTTP 404: ...", a transport error, "keystone: ...").
 * 'status' is the HTTP status (0: none). */
struct nova_result {
    long status;
    const char *error;
    int64_t submitted_ns;         /* CLOCK_MONOTONIC */
    int64_t completed_ns;
};

typedef void nova_result_fn(struct nova *nova,
                            const struct nova_result *result, void *arg);

/* Reads the version document and selects the microversion (above). The
 * callback's result has error set on failure; afterwards
 * nova_microversion() and nova_force_down_api() tell the choice. 0 when
 * started, or -errno. */
int nova_discover(struct nova *nova, nova_result_fn *done, void *arg);

/* "" before a successful discovery. */
const char *nova_microversion(const struct nova *nova);
const char *nova_max_microversion(const struct nova *nova);
enum nova_force_down_api nova_force_down_api(const struct nova *nova);
bool nova_ready(const struct nova *nova);

struct nova_service {
    char id[NOVA_ID_SIZE];        /* UUID at 2.53+, an integer before */
    char host[NOVA_HOST_SIZE];
    char binary[NOVA_SHORT_SIZE];
    char state[NOVA_SHORT_SIZE];  /* "up", "down" */
    char status[NOVA_SHORT_SIZE]; /* "enabled", "disabled" */
    bool forced_down;
};

/* 'services' (valid during the call) on success, NULL with 'length' 0 on
 * failure. */
typedef void nova_services_fn(struct nova *nova,
                              const struct nova_result *result,
                              const struct nova_service *services,
                              size_t length, void *arg);

/* GET /os-services?binary=nova-compute[&host=HOST]. Urgent: it waits
 * ahead of other queued calls (e.g. a host's os-resetState burst), as does
 * nova_force_down(). 0 or -errno: -EAGAIN before a successful discovery,
 * -EINVAL, -ENOMEM, -ENOBUFS. */
int nova_list_services(struct nova *nova, const char *host,
                       nova_services_fn *done, void *arg);

/* Parses an os-services answer. 0 with '*services' (caller frees) and
 * '*length'; -EINVAL for malformed JSON or a service without id or host
 * (at most 100000 services). Pure. */
int nova_parse_services(const char *body, size_t size,
                        struct nova_service **services, size_t *length);

/* Sets (or, with 'forced_down' false, clears) forced_down of host's
 * nova-compute service: PUT /os-services/{service_id} at 2.53+ (then
 * 'service_id' is required), PUT /os-services/force-down with the host and
 * binary at 2.11+. -EAGAIN before discovery, -ENOTSUP when the cloud
 * cannot, -EINVAL, -ENOMEM, -ENOBUFS. */
int nova_force_down(struct nova *nova, const char *host,
                    const char *service_id, bool forced_down,
                    nova_result_fn *done, void *arg);

/* The body nova_force_down() sends for 'api' (caller frees), or NULL on
 * allocation failure or API NONE. Pure. */
char *nova_force_down_body(enum nova_force_down_api api, const char *host,
                           bool forced_down);

/* POST /servers/{id}/action {"os-resetState": {"state": STATE}} with
 * 'state' "error" or "active". -EAGAIN, -EINVAL, -ENOMEM, -ENOBUFS. */
int nova_reset_state(struct nova *nova, const char *server_id,
                     const char *state, nova_result_fn *done, void *arg);

struct nova_server {
    char id[NOVA_UUID_SIZE];
    char host[NOVA_HOST_SIZE];    /* OS-EXT-SRV-ATTR:host; "" when none */
    char status[NOVA_SHORT_SIZE]; /* "ACTIVE", "ERROR", "DELETED", ... */
};

/* Called once per page: 'servers' (valid during the call) with 'last'
 * false, then once more or with the final page with 'last' true. On a
 * failure the callback runs with result->error set and 'last' true. */
typedef void nova_servers_fn(struct nova *nova,
                             const struct nova_result *result,
                             const struct nova_server *servers,
                             size_t length, bool last, void *arg);

/* GET /servers/detail?all_tenants=1 page by page, with
 * changes-since=CHANGES_SINCE (ISO-8601; NULL: everything, deleted servers
 * excluded) and host=HOST (NULL: every host). 0 or -errno as above. */
int nova_list_servers(struct nova *nova, const char *changes_since,
                      const char *host, nova_servers_fn *done, void *arg);

/* Parses one page of GET /servers/detail: the servers (caller frees) and
 * whether servers_links has a "next" link. Servers without an id are
 * malformed; strings too long for struct nova_server are too. 0 or
 * -EINVAL, -ENOMEM. Pure. */
int nova_parse_servers(const char *body, size_t size,
                       struct nova_server **servers, size_t *length,
                       bool *more);

#endif
