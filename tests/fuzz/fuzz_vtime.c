/* libFuzzer target for vtime_parse_iso(), which reads the "time" of every
 * Doctor event. An accepted time must be non-negative, and formatting it
 * and parsing the result must give it back to the microsecond. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vtime.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char text[128], iso[VTIME_ISO_SIZE];
    int64_t ns, again;

    /* The parser takes a C string; longer inputs are rejected by length. */
    if (size >= sizeof text) {
        size = sizeof text - 1;
    }
    memcpy(text, data, size);
    text[size] = '\0';
    if (vtime_parse_iso(text, &ns)) {
        return 0;
    }
    if (ns < 0) {
        abort();
    }
    vtime_format_iso(ns, iso, sizeof iso);
    if (vtime_parse_iso(iso, &again) || again != ns - ns % 1000) {
        abort();
    }
    return 0;
}
