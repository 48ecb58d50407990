/* libFuzzer target for config_parse(), the INI reader of every daemon's
 * configuration file, followed by validation against a small option table
 * and the typed lookups, so that whatever the parser stores is also read
 * back. A failure must leave a message. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct config_option options[] = {
    { "DEFAULT", "log_level", CONFIG_STRING, "info", 0, 0, "" },
    { "libvirt", "uri", CONFIG_STRING, NULL, 0, 0, "" },
    { "libvirt", "keepalive_interval", CONFIG_INT, "5", 1, 3600, "" },
    { "libvirt", "reconnect", CONFIG_BOOL, "true", 0, 0, "" },
    { "a", "b", CONFIG_INT, NULL, INT64_MIN, INT64_MAX, "" },
    { "a", "c", CONFIG_BOOL, NULL, 0, 0, "" },
    { NULL, NULL, CONFIG_STRING, NULL, 0, 0, NULL },
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct config *cfg = config_new();
    struct config_error err = { "" };
    int64_t i;
    bool b;
    int ret;

    if (!cfg) {
        return 0;
    }
    ret = config_parse(cfg, (const char *) data, size, "fuzz.conf", &err);
    if (ret && (ret != -EINVAL && ret != -EFBIG && ret != -E2BIG &&
                ret != -ENOMEM)) {
        abort();
    }
    if (ret && err.text[0] == '\0') {
        abort();
    }
    err.text[0] = '\0';
    if (config_validate(cfg, options, &err) && err.text[0] == '\0') {
        abort();
    }
    for (const struct config_option *o = options; o->key; o++) {
        const char *value = config_get_string(cfg, options, o->section,
                                              o->key);

        if (value) {
            (void) strlen(value);
        }
        (void) config_get_int(cfg, options, o->section, o->key, &i);
        (void) config_get_bool(cfg, options, o->section, o->key, &b);
    }
    config_free(cfg);
    return 0;
}
