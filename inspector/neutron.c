/* neutron: ports of a host and their data_plane_status (see neutron.h).
 * Outstanding calls are kept on a list so that neutron_free() can orphan
 * them, as nova.c does. */
#include "neutron.h"

#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keystone.h"

#define NEUTRON_PATH_SIZE 1024
#define NEUTRON_ERROR_SIZE 400

struct neutron_op {
    struct neutron *neutron;        /* NULL: orphaned */
    struct neutron_op *prev, *next;
    neutron_ports_fn *ports_done;
    neutron_result_fn *result_done;
    void *arg;
};

struct neutron {
    struct keystone *ks;
    long timeout_ms;
    struct httpc_retry retry;
    struct neutron_op *ops;
};

int
neutron_parse_ports(const char *body, size_t size,
                    char (**ids)[NEUTRON_ID_SIZE], size_t *length)
{
    json_t *root = body ? json_loadb(body, size, JSON_REJECT_DUPLICATES,
                                     NULL) : NULL;
    const json_t *ports = json_object_get(root, "ports"), *port;
    char (*out)[NEUTRON_ID_SIZE] = NULL;
    size_t i, n;
    int ret = -EINVAL;

    if (!json_is_array(ports) || json_array_size(ports) > NEUTRON_MAX_PORTS) {
        goto out;
    }
    n = json_array_size(ports);
    out = calloc(n ? n : 1, sizeof *out);
    if (!out) {
        ret = -ENOMEM;
        goto out;
    }
    json_array_foreach(ports, i, port) {
        const char *id = json_string_value(json_object_get(port, "id"));

        if (!id || !id[0] || strlen(id) >= NEUTRON_ID_SIZE) {
            goto out;
        }
        memcpy(out[i], id, strlen(id) + 1);
    }
    *ids = out;
    *length = n;
    out = NULL;
    ret = 0;
out:
    free(out);
    json_decref(root);
    return ret;
}

static bool
neutron_plain(const char *s)
{
    for (; *s; s++) {
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')
              || (*s >= '0' && *s <= '9') || *s == '-' || *s == '.'
              || *s == '_')) {
            return false;
        }
    }
    return true;
}

static void
neutron_op_unlink(struct neutron_op *op)
{
    if (!op->neutron) {
        return;
    }
    if (op->prev) {
        op->prev->next = op->next;
    } else {
        op->neutron->ops = op->next;
    }
    if (op->next) {
        op->next->prev = op->prev;
    }
}

static void
neutron_done(const struct httpc_response *r, void *arg)
{
    struct neutron_op *op = arg;
    struct neutron *neutron = op->neutron;
    char error[NEUTRON_ERROR_SIZE];
    const char *why = r->error;

    if (!neutron) {
        free(op);
        return;
    }
    neutron_op_unlink(op);
    if (!why && (r->status < 200 || r->status > 299)) {
        snprintf(error, sizeof error, "HTTP %ld: %.200s", r->status,
                 r->body ? r->body : "");
        why = error;
    }
    if (op->ports_done) {
        char (*ids)[NEUTRON_ID_SIZE] = NULL;
        size_t length = 0;

        if (!why && neutron_parse_ports(r->body, r->body_size, &ids,
                                        &length)) {
            why = "malformed port list";
        }
        op->ports_done(neutron, r->status, why, why ? NULL : ids,
                       why ? 0 : length, op->arg);
        free(ids);
    } else {
        op->result_done(neutron, r->status, why, op->arg);
    }
    free(op);
}

static int
neutron_start(struct neutron *neutron, struct neutron_op *op,
              const char *method, const char *path, const char *body)
{
    struct keystone_call call = {
        .service_type = "network",
        .method = method,
        .path = path,
        .body = body,
        .body_size = body ? strlen(body) : 0,
        .retry = &neutron->retry,
        .timeout_ms = neutron->timeout_ms,
    };
    int ret;

    op->neutron = neutron;
    op->next = neutron->ops;
    if (op->next) {
        op->next->prev = op;
    }
    neutron->ops = op;
    ret = keystone_call(neutron->ks, &call, neutron_done, op);
    if (ret) {
        neutron_op_unlink(op);
        free(op);
    }
    return ret;
}

int
neutron_list_host_ports(struct neutron *neutron, const char *host,
                        neutron_ports_fn *done, void *arg)
{
    char path[NEUTRON_PATH_SIZE];
    struct neutron_op *op;

    if (!neutron || !host || !host[0] || !done || !neutron_plain(host)
        || strlen(host) > 255) {
        return -EINVAL;
    }
    snprintf(path, sizeof path, "/v2.0/ports?binding%%3Ahost_id=%s&fields=id",
             host);
    op = calloc(1, sizeof *op);
    if (!op) {
        return -ENOMEM;
    }
    op->ports_done = done;
    op->arg = arg;
    return neutron_start(neutron, op, "GET", path, NULL);
}

int
neutron_set_data_plane_status(struct neutron *neutron, const char *port_id,
                              const char *status, neutron_result_fn *done,
                              void *arg)
{
    char path[NEUTRON_PATH_SIZE];
    struct neutron_op *op;
    char *body;
    json_t *j;
    int ret;

    if (!neutron || !port_id || !port_id[0] || !done || !status
        || (strcmp(status, "DOWN") && strcmp(status, "ACTIVE"))
        || strlen(port_id) >= NEUTRON_ID_SIZE || !neutron_plain(port_id)) {
        return -EINVAL;
    }
    snprintf(path, sizeof path, "/v2.0/ports/%s", port_id);
    j = json_pack("{s:{s:s}}", "port", "data_plane_status", status);
    body = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    op = body ? calloc(1, sizeof *op) : NULL;
    if (!op) {
        free(body);
        return -ENOMEM;
    }
    op->result_done = done;
    op->arg = arg;
    ret = neutron_start(neutron, op, "PUT", path, body);
    free(body);
    return ret;
}

struct neutron *
neutron_new(struct keystone *ks, const struct neutron_options *o)
{
    struct neutron *neutron;

    if (!ks || !o) {
        return NULL;
    }
    neutron = calloc(1, sizeof *neutron);
    if (!neutron) {
        return NULL;
    }
    neutron->ks = ks;
    neutron->timeout_ms = o->timeout_ms;
    neutron->retry = o->retry;
    if (!neutron->retry.max_attempts) {
        neutron->retry = (struct httpc_retry) {
            .max_attempts = 3, .initial_backoff_ms = 50,
            .max_backoff_ms = 1000,
        };
    }
    return neutron;
}

void
neutron_free(struct neutron *neutron)
{
    if (!neutron) {
        return;
    }
    while (neutron->ops) {
        struct neutron_op *op = neutron->ops;

        neutron->ops = op->next;
        op->neutron = NULL;
    }
    free(neutron);
}
