/* keystone_private: the pure parts of keystone.c (token answer parsing,
 * catalog lookup, renewal timing, request body), exposed for unit tests
 * only. Nothing here touches the network or a clock. */
#ifndef VIGIL_KEYSTONE_PRIVATE_H
#define VIGIL_KEYSTONE_PRIVATE_H

#include <stddef.h>
#include <stdint.h>

#include "keystone.h"

struct keystone_endpoint {
    char *type;          /* "compute" */
    char *interface;     /* "public" */
    char *region;        /* region_id, else region; "" when absent */
    char *url;           /* without a trailing '/' */
};

struct keystone_catalog {
    struct keystone_endpoint *endpoints;
    size_t length;
};

/* Parses the body of a POST /v3/auth/tokens answer: the token's lifetime
 * (expires_at - issued_at, both required) and its catalog (may be empty).
 * Endpoints lacking a type, interface or URL, or with strings over
 * KEYSTONE_MAX_STRING_LENGTH, are skipped; at most KEYSTONE_MAX_ENDPOINTS
 * are kept. 0 with '*lifetime_ns' and '*catalog' (caller frees) set;
 * -EINVAL with a reason in 'err' (may be NULL) for malformed JSON, a
 * missing "token" object, missing or unparsable times, or a lifetime that
 * is not positive; -ENOMEM. Outputs are written only on success. */
int keystone_parse_token(const char *body, size_t size, int64_t *lifetime_ns,
                         struct keystone_catalog **catalog, char *err,
                         size_t err_size);

void keystone_catalog_free(struct keystone_catalog *catalog);

/* The URL of the first endpoint of 'type' with 'interface' in 'region'
 * (NULL or "": any region), or NULL. The string belongs to 'catalog'. */
const char *keystone_catalog_find(const struct keystone_catalog *catalog,
                                  const char *type, const char *interface,
                                  const char *region);

/* How long after receiving a token of 'lifetime_ns' its renewal starts:
 * 'renew_before_ns' before it expires, but never earlier than half-way
 * through its lifetime. 0 for a lifetime <= 0. */
int64_t keystone_renew_delay_ns(int64_t lifetime_ns, int64_t renew_before_ns);

/* The JSON body of a project-scoped password authentication (caller
 * frees), or NULL on allocation failure. */
char *keystone_auth_body(const char *username, const char *password,
                         const char *user_domain_name,
                         const char *project_name,
                         const char *project_domain_name);

#endif
