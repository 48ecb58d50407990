/* vuuid: random UUIDs (see vuuid.h). */
#include "vuuid.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

int
vuuid_generate(char out[VUUID_STRING_SIZE])
{
    uint8_t b[16];

    if (getrandom(b, sizeof b, 0) != (ssize_t) sizeof b) {
        return -errno;
    }
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    snprintf(out, VUUID_STRING_SIZE,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
             "%02x%02x%02x%02x%02x%02x",
             b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9],
             b[10], b[11], b[12], b[13], b[14], b[15]);
    return 0;
}

bool
vuuid_is_valid(const char *text)
{
    if (!text || strlen(text) != 36) {
        return false;
    }
    for (int i = 0; i < 36; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;

        if (dash ? text[i] != '-' : !isxdigit((unsigned char) text[i])) {
            return false;
        }
    }
    return true;
}
