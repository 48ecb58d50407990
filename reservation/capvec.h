/* capvec: capacity vectors, the unit of everything vigil-reservation books.
 *
 * A vector holds one 64-bit count per OPNFV Promise resource key, indexed
 * by enum capvec_key in Promise's order: compute (cores, ram in MB,
 * instances), network (networks, ports, routers, subnets, addresses) and
 * storage (gigabytes, snapshots, volumes). On the wire a vector is a JSON
 * object of those names, absent keys meaning 0, e.g. {"cores": 8,
 * "ram": 16384}. Every count is bounded by CAPVEC_MAX so that the sums the
 * interval index keeps (at most CAPVEC_MAX_OBJECTS vectors per zone) can
 * never overflow 64 bits. Pure functions, thread-safe. */
#ifndef VIGIL_RESERVATION_CAPVEC_H
#define VIGIL_RESERVATION_CAPVEC_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum capvec_key {
    CAPVEC_CORES,
    CAPVEC_RAM,
    CAPVEC_INSTANCES,
    CAPVEC_NETWORKS,
    CAPVEC_PORTS,
    CAPVEC_ROUTERS,
    CAPVEC_SUBNETS,
    CAPVEC_ADDRESSES,
    CAPVEC_GIGABYTES,
    CAPVEC_SNAPSHOTS,
    CAPVEC_VOLUMES,
    CAPVEC_KEY_COUNT
};

/* Largest magnitude of one count: 2^40 - 1 (about 1.1e12). */
#define CAPVEC_MAX ((INT64_C(1) << 40) - 1)
/* Most vectors that may be summed in one index (2^22): CAPVEC_MAX times
 * this, plus one request, stays below 2^63. */
#define CAPVEC_MAX_OBJECTS (INT64_C(1) << 22)

struct capvec {
    int64_t v[CAPVEC_KEY_COUNT];
};

/* The JSON and database name of 'key' ("cores", "ram", ...). */
const char *capvec_key_name(enum capvec_key key);

/* The key called 'name'. 0, or -ENOENT for an unknown name. */
int capvec_key_from_name(const char *name, enum capvec_key *key);

/* True when every count is 0. */
bool capvec_is_zero(const struct capvec *vec);

/* True when some count is above 0. */
bool capvec_any_positive(const struct capvec *vec);

/* True when every count of 'a' is <= the same count of 'b'. */
bool capvec_le(const struct capvec *a, const struct capvec *b);

/* out = a + b, out = a - b, out = -a ('out' may alias an input). The
 * caller keeps the results within the bounds above. */
void capvec_add(struct capvec *out, const struct capvec *a,
                const struct capvec *b);
void capvec_sub(struct capvec *out, const struct capvec *a,
                const struct capvec *b);
void capvec_neg(struct capvec *out, const struct capvec *a);

/* Parses a JSON object of key names to integers into 'out'. Counts must
 * lie in [0, CAPVEC_MAX], or in [-CAPVEC_MAX, CAPVEC_MAX] with
 * 'allow_negative'. On failure returns -EINVAL with a message in 'err'
 * naming the member as 'field'.'key' (e.g. "capacity.cores: expected an
 * integer in [0, 1099511627775]"); 'out' is written only on success. */
int capvec_from_json(const json_t *obj, const char *field,
                     bool allow_negative, struct capvec *out, char *err,
                     size_t err_size);

/* A JSON object of the counts: every key with 'all', else only the
 * non-zero ones (a missing key means 0, as in requests). New reference,
 * NULL on allocation failure. */
json_t *capvec_to_json(const struct capvec *vec, bool all);

#endif
