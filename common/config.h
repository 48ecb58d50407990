/* config: OpenStack-style INI configuration with command-line overrides.
 *
 * A file holds "[section]" headers and "key = value" lines; '#' and ';'
 * start comment lines. Each daemon declares the options it knows in a
 * table of struct config_option; config_validate() rejects unknown keys and
 * values of the wrong type, and every error names the file, the line and
 * the key, e.g. "/etc/vigil/monitor.conf:12: [libvirt] keepalive_interval:
 * expected an integer in [1, 3600], got 'soon'". Flags given as
 * "--section.key=value" override the file (origin "command line").
 *
 * Not thread-safe; read the configuration before starting threads. */
#ifndef VIGIL_CONFIG_H
#define VIGIL_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONFIG_MAX_FILE_SIZE (1024 * 1024)
#define CONFIG_MAX_LINE_LENGTH 4096
#define CONFIG_MAX_ENTRIES 1024
#define CONFIG_MAX_NAME_LENGTH 64

enum config_type {
    CONFIG_STRING,
    CONFIG_INT,       /* 64-bit, bounded by min/max */
    CONFIG_BOOL,      /* true/false, yes/no, on/off, 1/0 */
    CONFIG_TYPE_COUNT
};

struct config_option {
    const char *section;
    const char *key;
    enum config_type type;
    const char *default_value;  /* NULL: no default (optional, unset) */
    int64_t min, max;           /* CONFIG_INT only */
    const char *help;
};

/* The message of a failed load, parse or lookup. */
struct config_error {
    char text[512];
};

struct config;

struct config *config_new(void);
void config_free(struct config *cfg);

/* Parses INI 'text' of 'size' bytes; 'origin' names it in errors. Entries
 * add to (and replace same-named entries in) 'cfg'. 0 or -EINVAL with 'err'
 * filled; on error 'cfg' keeps the entries parsed before the bad line. */
int config_parse(struct config *cfg, const char *text, size_t size,
                 const char *origin, struct config_error *err);

/* Reads and parses the file at 'path' (at most CONFIG_MAX_FILE_SIZE bytes).
 * 0, or a negative errno with 'err' filled. */
int config_load_file(struct config *cfg, const char *path,
                     struct config_error *err);

/* Sets one value, as from the command line ('origin' names it in errors). */
int config_set(struct config *cfg, const char *section, const char *key,
               const char *value, const char *origin, struct config_error *err);

/* Checks every entry in 'cfg' against 'options' (terminated by an entry with
 * a NULL key): unknown section or key, values of the wrong type or range. */
int config_validate(const struct config *cfg,
                    const struct config_option *options,
                    struct config_error *err);

/* Lookups. The value comes from 'cfg', else from the option's default in
 * 'options'. They fail (-ENOENT) only for an undeclared option or an unset
 * option without default, and (-EINVAL) for a malformed value. */
const char *config_get_string(const struct config *cfg,
                              const struct config_option *options,
                              const char *section, const char *key);
int config_get_int(const struct config *cfg,
                   const struct config_option *options,
                   const char *section, const char *key, int64_t *value);
int config_get_bool(const struct config *cfg,
                    const struct config_option *options,
                    const char *section, const char *key, bool *value);

/* Writes a description of every option (for --help) to 'out' (a FILE *). */
void config_print_help(const struct config_option *options, void *out);

#endif
