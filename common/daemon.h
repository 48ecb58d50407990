/* daemon: the skeleton every Vigil daemon shares.
 *
 * main() reads: daemon_parse_args() (--help, --version, --config FILE,
 * --log-level LEVEL, --SECTION.KEY=VALUE overrides) -> init in order ->
 * event_base_dispatch() -> tear down in reverse. daemon_signals_new() turns
 * SIGTERM and SIGINT into a callback on the event loop (the handler itself
 * only wakes the loop) and ignores SIGPIPE. daemon_parse_args() also turns
 * off glibc's fastbins (mallopt M_MXFAST 0; see daemon.c). */
#ifndef VIGIL_DAEMON_H
#define VIGIL_DAEMON_H

#include "config.h"

struct event_base;

struct daemon_desc {
    const char *name;            /* "vigil-monitor" */
    const char *summary;         /* one line for --help */
    const struct config_option *options;  /* NULL-key terminated */
};

/* The options every daemon has; put DAEMON_COMMON_OPTIONS first in its
 * table. [DEFAULT] log_level. */
#define DAEMON_COMMON_OPTIONS                                           \
    { "DEFAULT", "log_level", CONFIG_STRING, "info", 0, 0,              \
      "Lowest level logged: error, warning, info or debug." }

/* Parses the command line, loads the configuration file (if --config is
 * given), applies overrides, validates everything against desc->options and
 * sets the log level. Returns 0 with '*cfg' set (caller frees) when the
 * daemon should run; 1 when it printed --help or --version and should exit
 * successfully; -EINVAL after printing the error to stderr. */
int daemon_parse_args(const struct daemon_desc *desc, int argc, char **argv,
                      struct config **cfg);

struct daemon_signals;
typedef void daemon_stop_fn(void *arg, int signo);

/* Calls 'stop(arg, signo)' on the loop of 'base' when SIGTERM or SIGINT
 * arrives. NULL on failure. */
struct daemon_signals *daemon_signals_new(struct event_base *base,
                                          daemon_stop_fn *stop, void *arg);
void daemon_signals_free(struct daemon_signals *signals);

/* The value of a declared CONFIG_INT / CONFIG_BOOL option that has a
 * default, after daemon_parse_args() validated the configuration: such a
 * lookup cannot fail, so these return the value directly (and abort() on
 * a programming error: an undeclared option or one without a default). */
int64_t daemon_config_int(const struct config *cfg,
                          const struct config_option *options,
                          const char *section, const char *key);
bool daemon_config_bool(const struct config *cfg,
                        const struct config_option *options,
                        const char *section, const char *key);

/* Splits "host:port" (IPv6 as "[::1]:port"). 0 or -EINVAL. 'host' gets at
 * most 'host_size' - 1 bytes. */
int daemon_split_hostport(const char *text, char *host, size_t host_size,
                          unsigned short *port);

#endif
