/* procwatch: the death (and return) of the host's vital processes, such
 * as nova-compute and libvirtd, from kernel events on the libevent loop
 * (no polling).
 *
 * Each configured process is a name, found by scanning /proc (a process
 * matches when its comm is the name, or the base name of its argv[0] is,
 * or, for a Python interpreter, that of its argv[1]), or a name and a
 * pidfile (the pid in the file, if that process matches the name). Every
 * matching process gets a pidfd (pidfd_open(2)) in the loop, which
 * becomes readable when it exits. Its exit status comes from the proc
 * connector's EXIT event (or waitid(P_PIDFD) when the process is a child
 * of ours) when there is one.
 *
 * Finding a process again after it restarted, without polling: the proc
 * connector (NETLINK_CONNECTOR, CN_IDX_PROC; needs CAP_NET_ADMIN and the
 * initial network namespace) tells of every exec and comm change, and the
 * new process is checked against the names; pidfiles are watched with
 * inotify on their directory. And when the last watched instance of a
 * process dies, /proc (or the pidfile) is read again at once, so that a
 * supervisor's quick restart or a daemon's fork-and-exit is not taken for
 * a death. Without the connector, a process watched by name is found
 * again only when the monitor restarts (logged at start).
 *
 * Events: "compute.host.process.down" when the last instance of a process
 * that was running exits, with details process, pid, pidfile (if
 * configured) and, when known, exit_code (exited normally) or signal
 * ("SIGKILL") and core_dumped; "compute.host.process.up" when it runs
 * again, with process and pid. A process not running when the monitor
 * starts is logged, not reported (a host that is still booting is not
 * faulty).
 *
 * Logs under the module tag "process". Single-threaded: use it on the loop
 * it was made with. */
#ifndef VIGIL_PROCWATCH_H
#define VIGIL_PROCWATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "hostevent.h"

struct event_base;
struct metrics_registry;

#define PROCWATCH_MAX_PROCESSES 32     /* configured names */
#define PROCWATCH_MAX_INSTANCES 16     /* running processes per name */
#define PROCWATCH_NAME_SIZE 64
#define PROCWATCH_PATH_SIZE 256
#define PROCWATCH_SPEC_MAX_LENGTH 4096  /* [procwatch] processes text */

/* One configured process. */
struct procwatch_spec {
    char name[PROCWATCH_NAME_SIZE];      /* letters, digits, '.', '-', '_' */
    char pidfile[PROCWATCH_PATH_SIZE];   /* absolute path, "" for none */
};

struct procwatch_options {
    const char *hostname;                /* this host, in events */
    const struct procwatch_spec *specs;  /* copied */
    size_t specs_length;                 /* 1..PROCWATCH_MAX_PROCESSES */
    /* Registers vigil_monitor_process_* metrics; may be NULL. */
    struct metrics_registry *metrics;
};

struct procwatch_stats {
    bool connector;                      /* the proc connector listens */
    uint64_t scans;                      /* reads of /proc */
    uint64_t execs;                      /* exec/comm events checked */
    uint64_t exits;                      /* watched processes that died */
    uint64_t downs, ups;                 /* events emitted */
};

struct procwatch;

/* Parses "name[:/abs/pidfile], ..." (blanks around items allowed) into
 * 'specs' (room for 'capacity'). 0 with '*length' set (0 for a text of
 * blanks only), or -EINVAL with a message in 'err' (of 'err_size' bytes):
 * bad names, relative or too long paths, duplicates, too many items, text
 * longer than PROCWATCH_SPEC_MAX_LENGTH. Outputs are written only on
 * success. */
int procwatch_parse(const char *text, struct procwatch_spec *specs,
                    size_t capacity, size_t *length, char *err,
                    size_t err_size);

/* Whether a process with 'comm' and command line 'cmdline' ('size' bytes
 * of NUL-separated arguments, as in /proc/PID/cmdline) is 'name' (see
 * above). Pure. */
bool procwatch_match(const char *name, const char *comm, const char *cmdline,
                     size_t size);

/* Scans /proc, opens the pidfds, the connector (when permitted) and the
 * inotify watches on the loop of 'base'; events go to 'emit(ev, arg)' on
 * the loop. NULL on failure with '*error' (may be NULL) set: -EINVAL for
 * bad options, -ENOSYS without pidfd_open(2), or another negative errno. */
struct procwatch *procwatch_new(struct event_base *base,
                                const struct procwatch_options *options,
                                hostevent_fn *emit, void *arg, int *error);

/* Closes everything and frees 'pw'. Accepts NULL. */
void procwatch_free(struct procwatch *pw);

/* How many instances of configured process 'name' run now, and the pid of
 * the first ('*pid' may be NULL; 0 when none). 0, or -ENOENT when 'name'
 * is not configured. */
int procwatch_running(const struct procwatch *pw, const char *name,
                      size_t *count, pid_t *pid);

/* Fills 'stats'. */
void procwatch_get_stats(const struct procwatch *pw,
                         struct procwatch_stats *stats);

#endif
