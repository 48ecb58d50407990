/* daemon: argument parsing, configuration and signals (see daemon.h). */
#include "daemon.h"

#include <ctype.h>
#include <errno.h>
#include <malloc.h>
#include <event2/event.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vlog.h"

static void
daemon_usage(const struct daemon_desc *desc, FILE *out)
{
    fprintf(out,
            "Usage: %s [--config FILE] [--log-level LEVEL] "
            "[--SECTION.KEY=VALUE ...]\n"
            "%s\n\n"
            "Options:\n"
            "  -h, --help             show this help and exit\n"
            "  -V, --version          show the version and exit\n"
            "  -c, --config FILE      read settings from an INI file\n"
            "  --log-level LEVEL      error, warning, info or debug\n"
            "  --SECTION.KEY=VALUE    set one option (overrides the file)\n"
            "\nSettings (file section and key, or flag):\n",
            desc->name, desc->summary);
    config_print_help(desc->options, out);
}

/* Applies "--section.key=value" or "--section.key value". Returns how many
 * arguments it used, or -EINVAL. */
static int
daemon_apply_override(struct config *overrides, int argc, char **argv, int i,
                      struct config_error *err)
{
    char name[2 * CONFIG_MAX_NAME_LENGTH + 2];
    const char *arg = argv[i] + 2, *value, *dot, *eq = strchr(arg, '=');
    size_t n = eq ? (size_t) (eq - arg) : strlen(arg);
    int used = 1;

    if (n >= sizeof name) {
        snprintf(err->text, sizeof err->text, "%s: option name too long",
                 argv[i]);
        return -EINVAL;
    }
    memcpy(name, arg, n);
    name[n] = '\0';
    dot = strchr(name, '.');
    if (!dot) {
        snprintf(err->text, sizeof err->text,
                 "unknown option '%s' (try --help)", argv[i]);
        return -EINVAL;
    }
    if (eq) {
        value = eq + 1;
    } else if (i + 1 < argc) {
        value = argv[i + 1];
        used = 2;
    } else {
        snprintf(err->text, sizeof err->text, "%s: missing value", argv[i]);
        return -EINVAL;
    }
    name[dot - name] = '\0';
    if (config_set(overrides, name, name + (dot - name) + 1, value,
                   "command line", err)) {
        return -EINVAL;
    }
    return used;
}

/* Copies the overrides gathered from the command line into 'cfg'. */
static int
daemon_merge(struct config *cfg, int argc, char **argv,
             struct config_error *err)
{
    for (int i = 1; i < argc; i++) {
        if (!strncmp(argv[i], "--", 2) && strchr(argv[i], '.')) {
            int used = daemon_apply_override(cfg, argc, argv, i, err);

            if (used < 0) {
                return used;
            }
            i += used - 1;
        } else if (!strcmp(argv[i], "-c") || !strcmp(argv[i], "--config") ||
                   !strcmp(argv[i], "--log-level")) {
            i++;
        }
    }
    return 0;
}

/* No glibc fastbins. The daemons free many small blocks (JSON values,
 * curl's per-request strings) between allocations of a few KiB (request
 * and webhook bodies); with fastbins, each such allocation first
 * consolidates every freed small block (malloc_consolidate), which was a
 * fifth of the notifier's time in a burst of 1,000 webhooks. tcache still
 * serves small blocks. Measured in docs/benchmarks.md (mass failure). */
static void
daemon_tune_malloc(void)
{
#ifdef M_MXFAST
    mallopt(M_MXFAST, 0);
#endif
}

int
daemon_parse_args(const struct daemon_desc *desc, int argc, char **argv,
                  struct config **cfgp)
{
    struct config *cfg = config_new();
    struct config_error err = { "" };
    const char *config_path = NULL, *log_level = NULL;
    enum vlog_level level;
    int ret = -EINVAL;

    daemon_tune_malloc();
    if (!cfg) {
        snprintf(err.text, sizeof err.text, "out of memory");
        goto out;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];

        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            daemon_usage(desc, stdout);
            ret = 1;
            goto out;
        } else if (!strcmp(a, "-V") || !strcmp(a, "--version")) {
            printf("%s %s\n", desc->name, VIGIL_VERSION);
            ret = 1;
            goto out;
        } else if (!strcmp(a, "-c") || !strcmp(a, "--config") ||
                   !strcmp(a, "--log-level")) {
            if (i + 1 >= argc) {
                snprintf(err.text, sizeof err.text, "%s: missing value", a);
                goto out;
            }
            if (a[2] == 'l') {
                log_level = argv[++i];
            } else {
                config_path = argv[++i];
            }
        } else if (strncmp(a, "--", 2) || !strchr(a, '.')) {
            snprintf(err.text, sizeof err.text,
                     "unknown argument '%s' (try --help)", a);
            goto out;
        } else if (!strchr(a, '=')) {
            i++;
        }
    }
    if (config_path && config_load_file(cfg, config_path, &err)) {
        goto out;
    }
    if (daemon_merge(cfg, argc, argv, &err) ||
        config_validate(cfg, desc->options, &err)) {
        goto out;
    }
    if (!log_level) {
        log_level = config_get_string(cfg, desc->options, "DEFAULT",
                                      "log_level");
    }
    if (log_level && vlog_level_from_string(log_level, &level)) {
        snprintf(err.text, sizeof err.text,
                 "[DEFAULT] log_level: unknown level '%s' (error, warning, "
                 "info or debug)", log_level);
        goto out;
    }
    vlog_init(desc->name, log_level ? level : VLOG_LEVEL_INFO);
    *cfgp = cfg;
    cfg = NULL;
    ret = 0;
out:
    if (ret < 0) {
        fprintf(stderr, "%s: %s\n", desc->name, err.text);
    }
    config_free(cfg);
    return ret;
}

struct daemon_signals {
    struct event *term;
    struct event *intr;
    daemon_stop_fn *stop;
    void *arg;
};

static void
daemon_on_signal(evutil_socket_t signo, short what, void *arg)
{
    struct daemon_signals *s = arg;

    (void) what;
    s->stop(s->arg, (int) signo);
}

struct daemon_signals *
daemon_signals_new(struct event_base *base, daemon_stop_fn *stop, void *arg)
{
    struct daemon_signals *s = calloc(1, sizeof *s);

    if (!s) {
        return NULL;
    }
    signal(SIGPIPE, SIG_IGN);
    s->stop = stop;
    s->arg = arg;
    s->term = evsignal_new(base, SIGTERM, daemon_on_signal, s);
    s->intr = evsignal_new(base, SIGINT, daemon_on_signal, s);
    if (!s->term || !s->intr || evsignal_add(s->term, NULL) ||
        evsignal_add(s->intr, NULL)) {
        daemon_signals_free(s);
        return NULL;
    }
    return s;
}

void
daemon_signals_free(struct daemon_signals *s)
{
    if (!s) {
        return;
    }
    if (s->term) {
        event_free(s->term);
    }
    if (s->intr) {
        event_free(s->intr);
    }
    free(s);
}

int
daemon_split_hostport(const char *text, char *host, size_t host_size,
                      unsigned short *port)
{
    const char *colon, *start = text, *end;
    char *stop;
    long p;

    if (text[0] == '[') {
        start = text + 1;
        end = strchr(start, ']');
        if (!end || end[1] != ':') {
            return -EINVAL;
        }
        colon = end + 1;
    } else {
        colon = strchr(text, ':');
        /* An IPv6 address needs its brackets: "::1:80" is ambiguous. */
        if (!colon || strchr(colon + 1, ':')) {
            return -EINVAL;
        }
        end = colon;
    }
    if ((size_t) (end - start) >= host_size || end == start) {
        return -EINVAL;
    }
    /* Digits only: strtol() alone would take " 80", "+80" and "-0". */
    if (!isdigit((unsigned char) colon[1])) {
        return -EINVAL;
    }
    p = strtol(colon + 1, &stop, 10);
    if (*stop != '\0' || p > 65535) {
        return -EINVAL;
    }
    memcpy(host, start, end - start);
    host[end - start] = '\0';
    *port = (unsigned short) p;
    return 0;
}

int64_t
daemon_config_int(const struct config *cfg, const struct config_option *options,
                  const char *section, const char *key)
{
    int64_t value;

    if (config_get_int(cfg, options, section, key, &value)) {
        fprintf(stderr, "BUG: option [%s] %s is not a declared integer\n",
                section, key);
        abort();
    }
    return value;
}

bool
daemon_config_bool(const struct config *cfg, const struct config_option *options,
                   const char *section, const char *key)
{
    bool value;

    if (config_get_bool(cfg, options, section, key, &value)) {
        fprintf(stderr, "BUG: option [%s] %s is not a declared boolean\n",
                section, key);
        abort();
    }
    return value;
}
