/* config: INI files and command-line overrides (see config.h). */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct config_entry {
    char *section;
    char *key;
    char *value;
    char *origin;   /* file name or "command line" */
    int line;       /* 0 when not from a file */
};

struct config {
    struct config_entry *entries;
    size_t length;
    size_t allocated;
};

static void __attribute__((format(printf, 2, 3)))
config_error_set(struct config_error *err, const char *fmt, ...)
{
    va_list args;

    if (!err) {
        return;
    }
    va_start(args, fmt);
    vsnprintf(err->text, sizeof err->text, fmt, args);
    va_end(args);
}

struct config *
config_new(void)
{
    return calloc(1, sizeof(struct config));
}

static void
config_entry_clear(struct config_entry *e)
{
    free(e->section);
    free(e->key);
    free(e->value);
    free(e->origin);
}

void
config_free(struct config *cfg)
{
    if (!cfg) {
        return;
    }
    for (size_t i = 0; i < cfg->length; i++) {
        config_entry_clear(&cfg->entries[i]);
    }
    free(cfg->entries);
    free(cfg);
}

static struct config_entry *
config_find(const struct config *cfg, const char *section, const char *key)
{
    for (size_t i = 0; i < cfg->length; i++) {
        struct config_entry *e = &cfg->entries[i];

        if (!strcmp(e->section, section) && !strcmp(e->key, key)) {
            return e;
        }
    }
    return NULL;
}

static bool
config_valid_name(const char *name)
{
    size_t n = strlen(name);

    if (n == 0 || n > CONFIG_MAX_NAME_LENGTH) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (!isalnum((unsigned char) name[i]) && name[i] != '_' &&
            name[i] != '-' && name[i] != '.') {
            return false;
        }
    }
    return true;
}

static int
config_put(struct config *cfg, const char *section, const char *key,
           const char *value, const char *origin, int line,
           struct config_error *err)
{
    struct config_entry *e = config_find(cfg, section, key);
    struct config_entry fresh;
    char where[300];

    /* "file:line", or just the origin when not from a file. */
    if (line) {
        snprintf(where, sizeof where, "%s:%d", origin, line);
    } else {
        snprintf(where, sizeof where, "%s", origin);
    }
    if (!config_valid_name(section) || !config_valid_name(key)) {
        config_error_set(err, "%s: [%s] %s: invalid section or key name",
                         where, section, key);
        return -EINVAL;
    }
    memset(&fresh, 0, sizeof fresh);
    fresh.section = strdup(section);
    fresh.key = strdup(key);
    fresh.value = strdup(value);
    fresh.origin = strdup(origin);
    fresh.line = line;
    if (!fresh.section || !fresh.key || !fresh.value || !fresh.origin) {
        config_entry_clear(&fresh);
        return -ENOMEM;
    }
    if (e) {
        config_entry_clear(e);
        *e = fresh;
        return 0;
    }
    if (cfg->length >= CONFIG_MAX_ENTRIES) {
        config_entry_clear(&fresh);
        config_error_set(err, "%s: more than %d settings", where,
                         CONFIG_MAX_ENTRIES);
        return -E2BIG;
    }
    if (cfg->length == cfg->allocated) {
        size_t n = cfg->allocated ? cfg->allocated * 2 : 16;
        struct config_entry *grown = realloc(cfg->entries, n * sizeof *grown);

        if (!grown) {
            config_entry_clear(&fresh);
            return -ENOMEM;
        }
        cfg->entries = grown;
        cfg->allocated = n;
    }
    cfg->entries[cfg->length++] = fresh;
    return 0;
}

/* Strips leading and trailing white space in place; returns the start. */
static char *
config_strip(char *s)
{
    char *end;

    while (isspace((unsigned char) *s)) {
        s++;
    }
    end = s + strlen(s);
    while (end > s && isspace((unsigned char) end[-1])) {
        *--end = '\0';
    }
    return s;
}

static int
config_parse_line(struct config *cfg, char *line, char *section,
                  const char *origin, int lineno, struct config_error *err)
{
    char *s = config_strip(line), *eq, *key, *value;

    if (*s == '\0' || *s == '#' || *s == ';') {
        return 0;
    }
    if (*s == '[') {
        char *close = strchr(s, ']');
        char *name;

        if (!close || *config_strip(close + 1) != '\0') {
            config_error_set(err, "%s:%d: malformed section header", origin,
                             lineno);
            return -EINVAL;
        }
        *close = '\0';
        name = config_strip(s + 1);
        if (!config_valid_name(name)) {
            config_error_set(err, "%s:%d: invalid section name '%s'", origin,
                             lineno, name);
            return -EINVAL;
        }
        strcpy(section, name);
        return 0;
    }
    eq = strchr(s, '=');
    if (!eq) {
        config_error_set(err, "%s:%d: expected 'key = value' or '[section]'",
                         origin, lineno);
        return -EINVAL;
    }
    *eq = '\0';
    key = config_strip(s);
    value = config_strip(eq + 1);
    if (section[0] == '\0') {
        config_error_set(err, "%s:%d: %s: setting outside of any [section]",
                         origin, lineno, key);
        return -EINVAL;
    }
    return config_put(cfg, section, key, value, origin, lineno, err);
}

int
config_parse(struct config *cfg, const char *text, size_t size,
             const char *origin, struct config_error *err)
{
    char section[CONFIG_MAX_NAME_LENGTH + 1] = "";
    char line[CONFIG_MAX_LINE_LENGTH + 1];
    size_t pos = 0;
    int lineno = 0;

    if (size > CONFIG_MAX_FILE_SIZE) {
        config_error_set(err, "%s: larger than %d bytes", origin,
                         CONFIG_MAX_FILE_SIZE);
        return -EFBIG;
    }
    while (pos < size) {
        const char *nl = memchr(text + pos, '\n', size - pos);
        size_t n = nl ? (size_t) (nl - (text + pos)) : size - pos;
        int ret;

        lineno++;
        if (n > CONFIG_MAX_LINE_LENGTH) {
            config_error_set(err, "%s:%d: line longer than %d bytes", origin,
                             lineno, CONFIG_MAX_LINE_LENGTH);
            return -EINVAL;
        }
        if (memchr(text + pos, '\0', n)) {
            config_error_set(err, "%s:%d: NUL byte in line", origin, lineno);
            return -EINVAL;
        }
        memcpy(line, text + pos, n);
        line[n] = '\0';
        ret = config_parse_line(cfg, line, section, origin, lineno, err);
        if (ret) {
            return ret;
        }
        pos += n + 1;
    }
    return 0;
}

int
config_load_file(struct config *cfg, const char *path, struct config_error *err)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t n;
    int ret = -EINVAL;

    if (!f) {
        ret = -errno;
        config_error_set(err, "%s: cannot open: %s", path, strerror(errno));
        goto out;
    }
    buf = malloc(CONFIG_MAX_FILE_SIZE + 1);
    if (!buf) {
        ret = -ENOMEM;
        goto out;
    }
    n = fread(buf, 1, CONFIG_MAX_FILE_SIZE + 1, f);
    if (ferror(f)) {
        ret = -EIO;
        config_error_set(err, "%s: read error", path);
        goto out;
    }
    ret = config_parse(cfg, buf, n, path, err);
out:
    free(buf);
    if (f) {
        fclose(f);
    }
    return ret;
}

int
config_set(struct config *cfg, const char *section, const char *key,
           const char *value, const char *origin, struct config_error *err)
{
    return config_put(cfg, section, key, value, origin, 0, err);
}

static const struct config_option *
config_option_find(const struct config_option *options, const char *section,
                   const char *key)
{
    for (const struct config_option *o = options; o->key; o++) {
        if (!strcmp(o->section, section) && !strcmp(o->key, key)) {
            return o;
        }
    }
    return NULL;
}

static int
config_parse_int(const char *text, int64_t min, int64_t max, int64_t *value)
{
    char *end;
    long long v;

    errno = 0;
    v = strtoll(text, &end, 10);
    if (errno || end == text || *end != '\0' || v < min || v > max) {
        return -EINVAL;
    }
    *value = v;
    return 0;
}

static int
config_parse_bool(const char *text, bool *value)
{
    static const char *const yes[] = { "true", "yes", "on", "1" };
    static const char *const no[] = { "false", "no", "off", "0" };

    for (size_t i = 0; i < 4; i++) {
        if (!strcasecmp(text, yes[i])) {
            *value = true;
            return 0;
        }
        if (!strcasecmp(text, no[i])) {
            *value = false;
            return 0;
        }
    }
    return -EINVAL;
}

/* Checks 'value' against 'o', writing a message naming 'where'. */
static int
config_check_value(const struct config_option *o, const char *value,
                   const char *where, struct config_error *err)
{
    int64_t i;
    bool b;

    switch (o->type) {
    case CONFIG_INT:
        if (config_parse_int(value, o->min, o->max, &i)) {
            config_error_set(err, "%s: [%s] %s: expected an integer in "
                             "[%" PRId64 ", %" PRId64 "], got '%s'", where,
                             o->section, o->key, o->min, o->max, value);
            return -EINVAL;
        }
        return 0;
    case CONFIG_BOOL:
        if (config_parse_bool(value, &b)) {
            config_error_set(err, "%s: [%s] %s: expected true or false, "
                             "got '%s'", where, o->section, o->key, value);
            return -EINVAL;
        }
        return 0;
    case CONFIG_STRING:
    case CONFIG_TYPE_COUNT:
        break;
    }
    return 0;
}

static void
config_entry_where(const struct config_entry *e, char *buf, size_t size)
{
    if (e->line) {
        snprintf(buf, size, "%s:%d", e->origin, e->line);
    } else {
        snprintf(buf, size, "%s", e->origin);
    }
}

int
config_validate(const struct config *cfg, const struct config_option *options,
                struct config_error *err)
{
    for (size_t i = 0; i < cfg->length; i++) {
        const struct config_entry *e = &cfg->entries[i];
        const struct config_option *o;
        char where[300];

        config_entry_where(e, where, sizeof where);
        o = config_option_find(options, e->section, e->key);
        if (!o) {
            config_error_set(err, "%s: [%s] %s: unknown option", where,
                             e->section, e->key);
            return -EINVAL;
        }
        if (config_check_value(o, e->value, where, err)) {
            return -EINVAL;
        }
    }
    return 0;
}

/* The raw text of an option: set value, else default, else NULL. */
static const char *
config_raw(const struct config *cfg, const struct config_option *options,
           const char *section, const char *key,
           const struct config_option **option)
{
    const struct config_option *o = config_option_find(options, section, key);
    const struct config_entry *e;

    *option = o;
    if (!o) {
        return NULL;
    }
    e = cfg ? config_find(cfg, section, key) : NULL;
    return e ? e->value : o->default_value;
}

const char *
config_get_string(const struct config *cfg, const struct config_option *options,
                  const char *section, const char *key)
{
    const struct config_option *o;

    return config_raw(cfg, options, section, key, &o);
}

int
config_get_int(const struct config *cfg, const struct config_option *options,
               const char *section, const char *key, int64_t *value)
{
    const struct config_option *o;
    const char *text = config_raw(cfg, options, section, key, &o);

    if (!text) {
        return -ENOENT;
    }
    return config_parse_int(text, o->min, o->max, value);
}

int
config_get_bool(const struct config *cfg, const struct config_option *options,
                const char *section, const char *key, bool *value)
{
    const struct config_option *o;
    const char *text = config_raw(cfg, options, section, key, &o);

    if (!text) {
        return -ENOENT;
    }
    return config_parse_bool(text, value);
}

void
config_print_help(const struct config_option *options, void *out)
{
    static const char *const type_names[] = { "string", "int", "bool" };
    const char *section = "";

    for (const struct config_option *o = options; o->key; o++) {
        if (strcmp(section, o->section)) {
            section = o->section;
            fprintf(out, "\n  [%s]\n", section);
        }
        fprintf(out, "    --%s.%s=<%s>", o->section, o->key,
                type_names[o->type]);
        if (o->default_value) {
            fprintf(out, " (default: %s)", o->default_value);
        }
        fprintf(out, "\n        %s\n", o->help);
    }
}
