/* neutron: the inspector's client of the Neutron network API, through
 * Keystone (catalog type "network"): the ports bound to a host, and their
 * data_plane_status (the ML2 "data_plane_status" extension), which the
 * inspector sets to DOWN on the ports of a failed host so that Neutron's
 * users see that the data plane behind them is gone.
 *
 * Not thread-safe: use it from the loop of its keystone. */
#ifndef VIGIL_INSPECTOR_NEUTRON_H
#define VIGIL_INSPECTOR_NEUTRON_H

#include <stddef.h>
#include <stdint.h>

#include "httpc.h"

struct keystone;
struct neutron;

#define NEUTRON_ID_SIZE 64
#define NEUTRON_MAX_PORTS 100000

struct neutron_options {
    long timeout_ms;              /* per attempt; 0: httpc's default */
    struct httpc_retry retry;     /* max_attempts 0: 3 attempts */
};

/* NULL on allocation failure or a NULL argument. 'ks' must outlive it. */
struct neutron *neutron_new(struct keystone *ks,
                            const struct neutron_options *options);

/* Frees 'neutron'; calls still outstanding end without their callbacks.
 * Not from a callback of this client. Accepts NULL. */
void neutron_free(struct neutron *neutron);

/* 'error' NULL on success; 'ids' (valid during the call) are the ports. */
typedef void neutron_ports_fn(struct neutron *neutron, long status,
                              const char *error, char (*ids)[NEUTRON_ID_SIZE],
                              size_t length, void *arg);

/* GET /v2.0/ports?binding:host_id=HOST&fields=id. 0 or -EINVAL, -ENOMEM,
 * -ENOBUFS. */
int neutron_list_host_ports(struct neutron *neutron, const char *host,
                            neutron_ports_fn *done, void *arg);

/* Parses a port list answer into ids (caller frees). 0 or -EINVAL (not a
 * {"ports": [...]} with string ids, or more than NEUTRON_MAX_PORTS),
 * -ENOMEM. Pure. */
int neutron_parse_ports(const char *body, size_t size,
                        char (**ids)[NEUTRON_ID_SIZE], size_t *length);

typedef void neutron_result_fn(struct neutron *neutron, long status,
                               const char *error, void *arg);

/* PUT /v2.0/ports/{id} {"port": {"data_plane_status": STATUS}} with
 * 'status' "DOWN" or "ACTIVE". 0 or -EINVAL, -ENOMEM, -ENOBUFS. */
int neutron_set_data_plane_status(struct neutron *neutron,
                                  const char *port_id, const char *status,
                                  neutron_result_fn *done, void *arg);

#endif
