/* idmap: a hash table of objects keyed by a string stored inside each
 * object (an id, a zone name), at a fixed offset given at init.
 *
 * Open addressing with linear probing and backward-shift deletion: one
 * pointer per slot and nothing allocated per object, which matters with a
 * million reservations. The table doubles at 70 % load. Not thread-safe. */
#ifndef VIGIL_RESERVATION_IDMAP_H
#define VIGIL_RESERVATION_IDMAP_H

#include <stddef.h>

struct idmap {
    void **slots;
    size_t capacity;           /* a power of two, or 0 */
    size_t length;
    size_t key_offset;         /* offsetof(object, char key[]) */
};

/* An empty map for objects whose NUL-terminated key is at 'key_offset'. */
void idmap_init(struct idmap *map, size_t key_offset);

/* Frees the table (not the objects); the map is empty afterwards. */
void idmap_clear(struct idmap *map);

/* The object with 'key', or NULL. */
void *idmap_get(const struct idmap *map, const char *key);

/* Adds 'object'. 0, -EEXIST when its key is taken, -ENOMEM. */
int idmap_put(struct idmap *map, void *object);

/* Removes and returns the object with 'key', or NULL. */
void *idmap_remove(struct idmap *map, const char *key);

/* Iteration: starting with '*cursor' = 0, returns the next object (in no
 * particular order) or NULL at the end. The map must not change during
 * an iteration. */
void *idmap_next(const struct idmap *map, size_t *cursor);

#endif
