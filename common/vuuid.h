/* vuuid: random (version 4) UUIDs and UUID syntax checks. */
#ifndef VIGIL_VUUID_H
#define VIGIL_VUUID_H

#include <stdbool.h>

#define VUUID_STRING_SIZE 37

/* Writes a random v4 UUID, lower-case with dashes, to 'out'. Thread-safe.
 * 0, or a negative errno when the kernel gives no random bytes. */
int vuuid_generate(char out[VUUID_STRING_SIZE]);

/* True when 'text' is a UUID in 8-4-4-4-12 hex form (either case). */
bool vuuid_is_valid(const char *text);

#endif
