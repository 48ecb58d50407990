/* procwatch: death and return of watched processes from pidfds, the proc
 * connector and inotify (see procwatch.h). */
#include "procwatch.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/netlink.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "doctor_event.h"
#include "metrics.h"
#include "vlog.h"
#include "vtime.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

#define PROCWATCH_MODULE "process"
#define PROCWATCH_COMM_SIZE 16           /* TASK_COMM_LEN */
#define PROCWATCH_CMDLINE_SIZE 4096      /* enough for argv[0] and [1] */
#define PROCWATCH_CN_BUF_SIZE 8192
#define PROCWATCH_INOTIFY_BUF_SIZE 4096
/* Datagrams or reads per wake-up at most. */
#define PROCWATCH_MAX_READ 256

struct procwatch_item;

struct procwatch_instance {
    struct procwatch_item *item;
    pid_t pid;                           /* 0: free slot */
    int pidfd;
    struct event *event;
    bool have_status;
    int status;                          /* wait(2) status */
};

struct procwatch_item {
    struct procwatch *pw;
    struct procwatch_spec spec;
    const char *pidfile_base;            /* in spec.pidfile */
    struct procwatch_instance instances[PROCWATCH_MAX_INSTANCES];
    size_t running;
    bool alarmed;                        /* down reported, up not yet */
    int wd;                              /* inotify watch, -1: none */
    struct metrics_gauge *m_running;
};

struct procwatch {
    struct event_base *base;
    char hostname[DOCTOR_HOSTNAME_SIZE];
    hostevent_fn *emit;
    void *arg;
    struct procwatch_item *items;
    size_t items_length;
    int cn_fd, inotify_fd;
    struct event *cn_event, *inotify_event;
    uint8_t *buf;                        /* PROCWATCH_CN_BUF_SIZE bytes */
    struct procwatch_stats stats;
    struct metrics_counter *m_downs, *m_ups;
    struct vlog_rate_limit error_rl;
};

/* ---- parsing and matching ----------------------------------------------- */

static bool
procwatch_name_valid(const char *name, size_t length)
{
    if (length == 0 || length >= PROCWATCH_NAME_SIZE) {
        return false;
    }
    for (size_t i = 0; i < length; i++) {
        char c = name[i];

        if (!isalnum((unsigned char) c) && c != '.' && c != '-' &&
            c != '_') {
            return false;
        }
    }
    return true;
}

int
procwatch_parse(const char *text, struct procwatch_spec *specs,
                size_t capacity, size_t *length, char *err, size_t err_size)
{
    struct procwatch_spec *out = NULL;
    size_t count = 0, text_length;
    const char *p;
    int ret = -EINVAL;

    if (!text) {
        snprintf(err, err_size, "no text");
        goto out;
    }
    text_length = strlen(text);
    if (text_length > PROCWATCH_SPEC_MAX_LENGTH) {
        snprintf(err, err_size, "longer than %d bytes",
                 PROCWATCH_SPEC_MAX_LENGTH);
        goto out;
    }
    out = calloc(capacity ? capacity : 1, sizeof *out);
    if (!out) {
        ret = -ENOMEM;
        snprintf(err, err_size, "out of memory");
        goto out;
    }
    for (p = text; *p;) {
        const char *end = strchr(p, ',');
        const char *colon, *item_end;
        size_t name_length, path_length;

        if (!end) {
            end = p + strlen(p);
        }
        item_end = end;
        while (p < item_end && isspace((unsigned char) *p)) {
            p++;
        }
        while (item_end > p && isspace((unsigned char) item_end[-1])) {
            item_end--;
        }
        if (p == item_end) {
            if (*end == ',' || count) {
                snprintf(err, err_size, "empty item");
                goto out;
            }
            break;                       /* blanks only */
        }
        if (count == capacity) {
            snprintf(err, err_size, "more than %zu processes", capacity);
            goto out;
        }
        colon = memchr(p, ':', (size_t) (item_end - p));
        name_length = (size_t) ((colon ? colon : item_end) - p);
        if (!procwatch_name_valid(p, name_length)) {
            snprintf(err, err_size, "'%.*s': a process name is 1 to %d "
                     "letters, digits, '.', '-' or '_'",
                     (int) (item_end - p), p, PROCWATCH_NAME_SIZE - 1);
            goto out;
        }
        memcpy(out[count].name, p, name_length);
        if (colon) {
            path_length = (size_t) (item_end - colon - 1);
            if (path_length == 0 || colon[1] != '/' ||
                path_length >= PROCWATCH_PATH_SIZE ||
                memchr(colon + 1, ' ', path_length)) {
                snprintf(err, err_size, "'%.*s': the pidfile must be an "
                         "absolute path of at most %d bytes",
                         (int) (item_end - p), p, PROCWATCH_PATH_SIZE - 1);
                goto out;
            }
            memcpy(out[count].pidfile, colon + 1, path_length);
        }
        for (size_t i = 0; i < count; i++) {
            if (!strcmp(out[i].name, out[count].name)) {
                snprintf(err, err_size, "'%s' given twice", out[i].name);
                goto out;
            }
        }
        count++;
        p = *end ? end + 1 : end;
        if (*end == ',' && !*p) {
            snprintf(err, err_size, "empty item");
            goto out;
        }
    }
    if (count) {
        memcpy(specs, out, count * sizeof *out);
    }
    *length = count;
    ret = 0;
out:
    free(out);
    return ret;
}

static const char *
procwatch_basename(const char *path)
{
    const char *slash = strrchr(path, '/');

    return slash ? slash + 1 : path;
}

bool
procwatch_match(const char *name, const char *comm, const char *cmdline,
                size_t size)
{
    const char *arg, *end = cmdline ? cmdline + size : NULL;
    const char *base;
    size_t length;

    if (comm && strlen(name) < PROCWATCH_COMM_SIZE && !strcmp(comm, name)) {
        return true;
    }
    if (!cmdline || size == 0 || !memchr(cmdline, '\0', size)) {
        return false;
    }
    base = procwatch_basename(cmdline);
    if (!strcmp(base, name)) {
        return true;
    }
    if (strncmp(base, "python", 6)) {
        return false;
    }
    /* An interpreter: the script is the first argument that is not an
     * option. */
    for (arg = cmdline + strlen(cmdline) + 1; arg < end; arg += length + 1) {
        if (!memchr(arg, '\0', (size_t) (end - arg))) {
            return false;
        }
        length = strlen(arg);
        if (arg[0] != '-') {
            return !strcmp(procwatch_basename(arg), name);
        }
    }
    return false;
}

/* ---- /proc -------------------------------------------------------------- */

/* Reads at most 'size' bytes of 'path'; the byte count or -errno. */
static ssize_t
procwatch_read_file(const char *path, char *buf, size_t size)
{
    ssize_t n, total = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0) {
        return -errno;
    }
    while ((size_t) total < size) {
        n = read(fd, buf + total, size - (size_t) total);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            total = -errno;
            break;
        }
        if (n == 0) {
            break;
        }
        total += n;
    }
    close(fd);
    return total;
}

/* The comm and command line of 'pid'. 0, or -ESRCH for a process that
 * exited (a zombie: its parent has not reaped it yet), or -errno. */
static int
procwatch_read_process(pid_t pid, char comm[PROCWATCH_COMM_SIZE],
                       char *cmdline, size_t *cmdline_size)
{
    char path[64], stat[512];
    const char *paren;
    ssize_t n;

    /* "pid (comm) S ...": the state follows the last ')'. */
    snprintf(path, sizeof path, "/proc/%d/stat", (int) pid);
    n = procwatch_read_file(path, stat, sizeof stat - 1);
    if (n < 0) {
        return (int) n;
    }
    stat[n] = '\0';
    paren = strrchr(stat, ')');
    if (!paren || paren[1] != ' ' || paren[2] == 'Z' || paren[2] == 'X' ||
        paren[2] == 'x') {
        return -ESRCH;
    }
    snprintf(path, sizeof path, "/proc/%d/comm", (int) pid);
    n = procwatch_read_file(path, comm, PROCWATCH_COMM_SIZE - 1);
    if (n < 0) {
        return (int) n;
    }
    comm[n] = '\0';
    if (n > 0 && comm[n - 1] == '\n') {
        comm[n - 1] = '\0';
    }
    snprintf(path, sizeof path, "/proc/%d/cmdline", (int) pid);
    n = procwatch_read_file(path, cmdline, PROCWATCH_CMDLINE_SIZE);
    if (n < 0) {
        return (int) n;
    }
    *cmdline_size = (size_t) n;
    return 0;
}

static bool
procwatch_pid_is(pid_t pid, const char *name)
{
    char comm[PROCWATCH_COMM_SIZE], cmdline[PROCWATCH_CMDLINE_SIZE];
    size_t size = 0;

    return procwatch_read_process(pid, comm, cmdline, &size) == 0 &&
           procwatch_match(name, comm, cmdline, size);
}

/* The pid in 'path', or 0. */
static pid_t
procwatch_read_pidfile(const char *path)
{
    char buf[32], *end;
    ssize_t n = procwatch_read_file(path, buf, sizeof buf - 1);
    long value;

    if (n <= 0) {
        return 0;
    }
    buf[n] = '\0';
    errno = 0;
    value = strtol(buf, &end, 10);
    while (isspace((unsigned char) *end)) {
        end++;
    }
    if (errno || end == buf || *end || value <= 0 || value > INT32_MAX) {
        return 0;
    }
    return (pid_t) value;
}

/* ---- events ------------------------------------------------------------- */

static void
procwatch_emit(struct procwatch *pw, const struct procwatch_item *item,
               bool up, pid_t pid, bool have_status, int status)
{
    struct doctor_event ev;
    char signal_name[32];
    int ret;

    memset(&ev, 0, sizeof ev);
    ret = hostevent_init(&ev, up ? "compute.host.process.up"
                                 : "compute.host.process.down",
                         pw->hostname, up, vtime_mono_ns(), vtime_real_ns());
    if (ret ||
        (ret = hostevent_set_string(&ev, "process", item->spec.name)) ||
        (ret = hostevent_set_int(&ev, "pid", pid)) ||
        (item->spec.pidfile[0] &&
         (ret = hostevent_set_string(&ev, "pidfile", item->spec.pidfile)))) {
        goto out;
    }
    if (!up && have_status) {
        if (WIFEXITED(status)) {
            ret = hostevent_set_int(&ev, "exit_code", WEXITSTATUS(status));
        } else if (WIFSIGNALED(status)) {
            const char *abbrev = sigabbrev_np(WTERMSIG(status));

            if (abbrev) {
                snprintf(signal_name, sizeof signal_name, "SIG%s", abbrev);
            } else {
                snprintf(signal_name, sizeof signal_name, "%d",
                         WTERMSIG(status));
            }
            if (!(ret = hostevent_set_string(&ev, "signal", signal_name))) {
                ret = hostevent_set_bool(&ev, "core_dumped",
                                         WCOREDUMP(status));
            }
        }
        if (ret) {
            goto out;
        }
    }
    pw->emit(&ev, pw->arg);
out:
    if (ret) {
        vlog_write_rl(&pw->error_rl, VLOG_LEVEL_ERR, PROCWATCH_MODULE,
                      "cannot build the event of process %s: %s",
                      item->spec.name, strerror(-ret));
    }
    doctor_event_clear(&ev);
}

static void
procwatch_describe(bool have_status, int status, char *buf, size_t size)
{
    if (!have_status) {
        snprintf(buf, size, "exit status unknown");
    } else if (WIFEXITED(status)) {
        snprintf(buf, size, "exited with %d", WEXITSTATUS(status));
    } else if (WIFSIGNALED(status)) {
        const char *abbrev = sigabbrev_np(WTERMSIG(status));

        snprintf(buf, size, "killed by SIG%s%s", abbrev ? abbrev : "?",
                 WCOREDUMP(status) ? ", core dumped" : "");
    } else {
        snprintf(buf, size, "status 0x%x", (unsigned) status);
    }
}

/* ---- instances ---------------------------------------------------------- */

static void procwatch_on_exit(evutil_socket_t fd, short what, void *arg);

static struct procwatch_instance *
procwatch_instance_of(struct procwatch *pw, pid_t pid)
{
    for (size_t i = 0; i < pw->items_length; i++) {
        struct procwatch_item *item = &pw->items[i];

        for (size_t j = 0; j < PROCWATCH_MAX_INSTANCES; j++) {
            if (item->instances[j].pid == pid) {
                return &item->instances[j];
            }
        }
    }
    return NULL;
}

static bool
procwatch_tracks(const struct procwatch_item *item, pid_t pid)
{
    for (size_t j = 0; j < PROCWATCH_MAX_INSTANCES; j++) {
        if (item->instances[j].pid == pid) {
            return true;
        }
    }
    return false;
}

static void
procwatch_untrack(struct procwatch_instance *in)
{
    if (in->event) {
        event_free(in->event);
    }
    if (in->pidfd >= 0) {
        close(in->pidfd);
    }
    in->event = NULL;
    in->pidfd = -1;
    in->pid = 0;
    in->have_status = false;
    in->item->running--;
    metrics_gauge_set(in->item->m_running, (int64_t) in->item->running);
}

/* Starts watching 'pid' for 'item'. 1 when it is new, 0 when it was
 * already watched or is not (or no longer) 'item', -errno on failure. */
static int
procwatch_track(struct procwatch_item *item, pid_t pid, const char *how)
{
    struct procwatch *pw = item->pw;
    struct procwatch_instance *in = NULL;
    bool first = item->running == 0;
    int fd;

    if (pid <= 0 || pid == getpid() || procwatch_tracks(item, pid)) {
        return 0;
    }
    for (size_t j = 0; j < PROCWATCH_MAX_INSTANCES; j++) {
        if (item->instances[j].pid == 0) {
            in = &item->instances[j];
            break;
        }
    }
    if (!in) {
        vlog_write_rl(&pw->error_rl, VLOG_LEVEL_WARN, PROCWATCH_MODULE,
                      "more than %d processes named %s: pid %d not watched",
                      PROCWATCH_MAX_INSTANCES, item->spec.name, (int) pid);
        return 0;
    }
    fd = (int) syscall(SYS_pidfd_open, pid, 0);
    if (fd < 0) {
        return errno == ESRCH ? 0 : -errno;
    }
    /* The pidfd pins the process: if 'pid' is still the process we
     * matched now, the pidfd is that process and not a later one. */
    if (!procwatch_pid_is(pid, item->spec.name)) {
        close(fd);
        return 0;
    }
    in->item = item;
    in->pid = pid;
    in->pidfd = fd;
    in->have_status = false;
    in->event = event_new(pw->base, fd, EV_READ, procwatch_on_exit, in);
    if (!in->event || event_add(in->event, NULL)) {
        item->running++;
        procwatch_untrack(in);
        return -ENOMEM;
    }
    item->running++;
    metrics_gauge_set(item->m_running, (int64_t) item->running);
    if (!first) {
        VLOG_INFO(PROCWATCH_MODULE, "process %s: pid %d found (%s), %zu "
                  "running", item->spec.name, (int) pid, how, item->running);
    } else if (item->alarmed) {
        item->alarmed = false;
        pw->stats.ups++;
        metrics_counter_add(pw->m_ups, 1);
        VLOG_INFO(PROCWATCH_MODULE, "process %s up again: pid %d (%s)",
                  item->spec.name, (int) pid, how);
        procwatch_emit(pw, item, true, pid, false, 0);
    } else {
        VLOG_INFO(PROCWATCH_MODULE, "process %s running: pid %d (%s)",
                  item->spec.name, (int) pid, how);
    }
    return 1;
}

static void
procwatch_track_logged(struct procwatch_item *item, pid_t pid,
                       const char *how)
{
    int ret = procwatch_track(item, pid, how);

    if (ret < 0) {
        vlog_write_rl(&item->pw->error_rl, VLOG_LEVEL_ERR, PROCWATCH_MODULE,
                      "cannot watch process %s pid %d: %s", item->spec.name,
                      (int) pid, strerror(-ret));
    }
}

/* Looks for the processes of 'only' (NULL: every item) in /proc, or in
 * their pidfiles. */
static void
procwatch_scan(struct procwatch *pw, struct procwatch_item *only)
{
    char comm[PROCWATCH_COMM_SIZE], *cmdline = (char *) pw->buf;
    bool by_name = false;
    struct dirent *de;
    DIR *dir;

    for (size_t i = 0; i < pw->items_length; i++) {
        struct procwatch_item *item = &pw->items[i];

        if (only && item != only) {
            continue;
        }
        if (item->spec.pidfile[0]) {
            procwatch_track_logged(item,
                                   procwatch_read_pidfile(item->spec.pidfile),
                                   "pidfile");
        } else {
            by_name = true;
        }
    }
    if (!by_name) {
        return;
    }
    pw->stats.scans++;
    dir = opendir("/proc");
    if (!dir) {
        vlog_write_rl(&pw->error_rl, VLOG_LEVEL_ERR, PROCWATCH_MODULE,
                      "cannot read /proc: %s", strerror(errno));
        return;
    }
    while ((de = readdir(dir))) {
        char *end;
        long pid = strtol(de->d_name, &end, 10);
        size_t size = 0;

        if (*end || pid <= 0 || pid > INT32_MAX ||
            procwatch_read_process((pid_t) pid, comm, cmdline, &size)) {
            continue;
        }
        for (size_t i = 0; i < pw->items_length; i++) {
            struct procwatch_item *item = &pw->items[i];

            if ((!only || item == only) && !item->spec.pidfile[0] &&
                procwatch_match(item->spec.name, comm, cmdline, size)) {
                procwatch_track_logged(item, (pid_t) pid, "/proc");
            }
        }
    }
    closedir(dir);
}

/* ---- the proc connector ------------------------------------------------- */

static void
procwatch_on_proc_event(struct procwatch *pw, const struct proc_event *pe)
{
    struct procwatch_instance *in;
    pid_t pid;

    switch (pe->what) {
    case PROC_EVENT_NONE:
        /* The answer to our LISTEN. */
        if (pe->event_data.ack.err) {
            pw->stats.connector = false;
            VLOG_WARN(PROCWATCH_MODULE, "the proc connector refused to "
                      "listen (%s): processes watched by name are found "
                      "again only at the monitor's restart",
                      strerror((int) pe->event_data.ack.err));
        }
        break;
    case PROC_EVENT_EXEC:
    case PROC_EVENT_COMM:
        pid = pe->what == PROC_EVENT_EXEC ? pe->event_data.exec.process_tgid
                                          : pe->event_data.comm.process_tgid;
        pw->stats.execs++;
        for (size_t i = 0; i < pw->items_length; i++) {
            struct procwatch_item *item = &pw->items[i];

            if (!item->spec.pidfile[0] && !procwatch_tracks(item, pid) &&
                procwatch_pid_is(pid, item->spec.name)) {
                procwatch_track_logged(item, pid, pe->what == PROC_EVENT_EXEC
                                                  ? "exec" : "comm");
            }
        }
        break;
    case PROC_EVENT_EXIT:
        if (pe->event_data.exit.process_pid !=
            pe->event_data.exit.process_tgid) {
            break;                       /* a thread */
        }
        in = procwatch_instance_of(pw, pe->event_data.exit.process_pid);
        if (in) {
            in->have_status = true;
            in->status = (int) pe->event_data.exit.exit_code;
        }
        break;
    default:
        break;
    }
}

static void
procwatch_drain_connector(struct procwatch *pw)
{
    for (int i = 0; pw->cn_fd >= 0 && i < PROCWATCH_MAX_READ; i++) {
        struct sockaddr_nl from;
        socklen_t from_size = sizeof from;
        const struct nlmsghdr *nh;
        struct proc_event pe;
        ssize_t n = recvfrom(pw->cn_fd, pw->buf, PROCWATCH_CN_BUF_SIZE,
                             MSG_DONTWAIT, (struct sockaddr *) &from,
                             &from_size);
        unsigned int length;

        if (n < 0) {
            if (errno == ENOBUFS) {
                /* Events were lost: look for the watched processes. */
                vlog_write_rl(&pw->error_rl, VLOG_LEVEL_WARN,
                              PROCWATCH_MODULE, "proc connector overflow: "
                              "reading /proc again");
                procwatch_scan(pw, NULL);
                continue;
            }
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
                vlog_write_rl(&pw->error_rl, VLOG_LEVEL_ERR,
                              PROCWATCH_MODULE, "cannot read the proc "
                              "connector: %s", strerror(errno));
            }
            return;
        }
        if (from.nl_pid != 0) {
            continue;                    /* only the kernel speaks here */
        }
        length = (unsigned int) n;
        for (nh = (const struct nlmsghdr *) pw->buf; NLMSG_OK(nh, length);
             nh = NLMSG_NEXT(nh, length)) {
            const struct cn_msg *cn = NLMSG_DATA(nh);

            if (nh->nlmsg_type != NLMSG_DONE ||
                nh->nlmsg_len < NLMSG_LENGTH(sizeof *cn) ||
                cn->id.idx != CN_IDX_PROC || cn->id.val != CN_VAL_PROC ||
                cn->len < sizeof(struct proc_event) ||
                nh->nlmsg_len < NLMSG_LENGTH(sizeof *cn + cn->len)) {
                continue;
            }
            /* cn->data is not aligned for struct proc_event. */
            memcpy(&pe, cn->data, sizeof pe);
            procwatch_on_proc_event(pw, &pe);
        }
    }
}

static void
procwatch_on_connector(evutil_socket_t fd, short what, void *arg)
{
    (void) fd;
    (void) what;
    procwatch_drain_connector(arg);
}

static int
procwatch_open_connector(struct procwatch *pw)
{
    struct sockaddr_nl local = { .nl_family = AF_NETLINK,
                                 .nl_groups = CN_IDX_PROC };
    struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
    union {
        uint8_t bytes[NLMSG_SPACE(sizeof(struct cn_msg) +
                                  sizeof(enum proc_cn_mcast_op))];
        struct nlmsghdr nh;
    } msg;
    struct cn_msg *cn;
    enum proc_cn_mcast_op op = PROC_CN_MCAST_LISTEN;
    int fd, ret = 0;

    fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
                NETLINK_CONNECTOR);
    if (fd < 0) {
        return -errno;
    }
    memset(&msg, 0, sizeof msg);
    msg.nh.nlmsg_len = NLMSG_LENGTH(sizeof *cn + sizeof op);
    msg.nh.nlmsg_type = NLMSG_DONE;
    cn = NLMSG_DATA(&msg.nh);
    cn->id.idx = CN_IDX_PROC;
    cn->id.val = CN_VAL_PROC;
    cn->len = sizeof op;
    memcpy(cn->data, &op, sizeof op);
    if (bind(fd, (struct sockaddr *) &local, sizeof local) ||
        sendto(fd, &msg, msg.nh.nlmsg_len, 0, (struct sockaddr *) &kernel,
               sizeof kernel) < 0) {
        ret = -errno;
        close(fd);
        goto out;
    }
    pw->cn_fd = fd;
out:
    return ret;
}

/* ---- pidfiles ----------------------------------------------------------- */

static void
procwatch_on_inotify(evutil_socket_t fd, short what, void *arg)
{
    struct procwatch *pw = arg;
    char buf[PROCWATCH_INOTIFY_BUF_SIZE]
        __attribute__((aligned(__alignof__(struct inotify_event))));

    (void) what;
    for (int round = 0; round < PROCWATCH_MAX_READ; round++) {
        ssize_t n = read(fd, buf, sizeof buf);
        const char *p;

        if (n <= 0) {
            return;
        }
        for (p = buf; p + sizeof(struct inotify_event) <= buf + n;) {
            const struct inotify_event *ie = (const void *) p;

            p += sizeof *ie + ie->len;
            if (ie->mask & IN_Q_OVERFLOW) {
                procwatch_scan(pw, NULL);
                continue;
            }
            if (!ie->len || p > buf + n) {
                continue;
            }
            for (size_t i = 0; i < pw->items_length; i++) {
                struct procwatch_item *item = &pw->items[i];

                if (item->wd == ie->wd &&
                    !strcmp(item->pidfile_base, ie->name)) {
                    procwatch_track_logged(
                        item, procwatch_read_pidfile(item->spec.pidfile),
                        "pidfile");
                }
            }
        }
    }
}

static void
procwatch_watch_pidfiles(struct procwatch *pw)
{
    for (size_t i = 0; i < pw->items_length; i++) {
        struct procwatch_item *item = &pw->items[i];
        char dir[PROCWATCH_PATH_SIZE];
        size_t length;

        if (!item->spec.pidfile[0]) {
            continue;
        }
        item->pidfile_base = procwatch_basename(item->spec.pidfile);
        length = (size_t) (item->pidfile_base - item->spec.pidfile);
        snprintf(dir, sizeof dir, "%.*s", (int) (length > 1 ? length - 1 : 1),
                 item->spec.pidfile);
        item->wd = inotify_add_watch(pw->inotify_fd, dir,
                                     IN_CLOSE_WRITE | IN_MOVED_TO);
        if (item->wd < 0) {
            VLOG_WARN(PROCWATCH_MODULE, "cannot watch %s for %s's pidfile "
                      "(%s): a restart of %s is found only when the monitor "
                      "restarts", dir, item->spec.name, strerror(errno),
                      item->spec.name);
        }
    }
}

/* ---- a watched process exited ------------------------------------------- */

static void
procwatch_on_exit(evutil_socket_t fd, short what, void *arg)
{
    struct procwatch_instance *in = arg;
    struct procwatch_item *item = in->item;
    struct procwatch *pw = item->pw;
    bool have_status;
    siginfo_t info;
    char why[64];
    int status;
    pid_t pid;

    (void) fd;
    (void) what;
    /* The connector's EXIT event, sent before the pidfd woke us, may be
     * waiting: it carries the exit status. */
    procwatch_drain_connector(pw);
    if (!in->have_status) {
        memset(&info, 0, sizeof info);
        if (waitid((idtype_t) P_PIDFD, (id_t) in->pidfd, &info,
                   WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid) {
            in->have_status = true;
            in->status = info.si_code == CLD_EXITED
                         ? (info.si_status & 0xff) << 8
                         : info.si_status |
                           (info.si_code == CLD_DUMPED ? 0x80 : 0);
        }
    }
    pid = in->pid;
    have_status = in->have_status;
    status = in->status;
    procwatch_untrack(in);
    pw->stats.exits++;
    procwatch_describe(have_status, status, why, sizeof why);
    if (item->running == 0) {
        /* A quick restart, or a daemon that forked and exited? */
        procwatch_scan(pw, item);
    }
    if (item->running) {
        VLOG_INFO(PROCWATCH_MODULE, "process %s pid %d %s; %zu still "
                  "running", item->spec.name, (int) pid, why, item->running);
        return;
    }
    VLOG_WARN(PROCWATCH_MODULE, "process %s DOWN: pid %d %s",
              item->spec.name, (int) pid, why);
    item->alarmed = true;
    pw->stats.downs++;
    metrics_counter_add(pw->m_downs, 1);
    procwatch_emit(pw, item, false, pid, have_status, status);
}

/* ---- lifecycle ---------------------------------------------------------- */

static void
procwatch_register_metrics(struct procwatch *pw, struct metrics_registry *reg)
{
    char labels[PROCWATCH_NAME_SIZE + 16];

    for (size_t i = 0; i < pw->items_length; i++) {
        snprintf(labels, sizeof labels, "process=\"%s\"",
                 pw->items[i].spec.name);
        pw->items[i].m_running = metrics_gauge_new(reg,
            "vigil_monitor_process_running",
            "Running instances of each watched process", labels);
    }
    pw->m_downs = metrics_counter_new(reg,
        "vigil_monitor_process_events_total",
        "compute.host.process.down and .up events raised", "type=\"down\"");
    pw->m_ups = metrics_counter_new(reg,
        "vigil_monitor_process_events_total",
        "compute.host.process.down and .up events raised", "type=\"up\"");
}

static int
procwatch_setup(struct procwatch *pw, struct metrics_registry *reg)
{
    bool by_name = false, by_pidfile = false;
    int ret;

    for (size_t i = 0; i < pw->items_length; i++) {
        if (pw->items[i].spec.pidfile[0]) {
            by_pidfile = true;
        } else {
            by_name = true;
        }
    }
    /* pidfd_open(2) must work: there is no fallback. */
    ret = (int) syscall(SYS_pidfd_open, getpid(), 0);
    if (ret < 0) {
        return -errno;
    }
    close(ret);
    if (reg) {
        procwatch_register_metrics(pw, reg);
    }
    /* The connector first, then the scan: a process started in between is
     * seen by one or the other. */
    if (by_name) {
        ret = procwatch_open_connector(pw);
        if (ret) {
            VLOG_WARN(PROCWATCH_MODULE, "no proc connector (%s): processes "
                      "watched by name are found again after a restart only "
                      "when the monitor restarts", strerror(-ret));
        } else {
            pw->stats.connector = true;
            pw->cn_event = event_new(pw->base, pw->cn_fd,
                                     EV_READ | EV_PERSIST,
                                     procwatch_on_connector, pw);
            if (!pw->cn_event || event_add(pw->cn_event, NULL)) {
                return -ENOMEM;
            }
        }
    }
    if (by_pidfile) {
        pw->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        if (pw->inotify_fd < 0) {
            return -errno;
        }
        procwatch_watch_pidfiles(pw);
        pw->inotify_event = event_new(pw->base, pw->inotify_fd,
                                      EV_READ | EV_PERSIST,
                                      procwatch_on_inotify, pw);
        if (!pw->inotify_event || event_add(pw->inotify_event, NULL)) {
            return -ENOMEM;
        }
    }
    procwatch_scan(pw, NULL);
    for (size_t i = 0; i < pw->items_length; i++) {
        if (!pw->items[i].running) {
            VLOG_WARN(PROCWATCH_MODULE, "process %s is not running%s%s: "
                      "watching for it", pw->items[i].spec.name,
                      pw->items[i].spec.pidfile[0] ? " (pidfile " : "",
                      pw->items[i].spec.pidfile[0]
                      ? pw->items[i].spec.pidfile : "");
        }
    }
    return 0;
}

struct procwatch *
procwatch_new(struct event_base *base, const struct procwatch_options *o,
              hostevent_fn *emit, void *arg, int *error)
{
    struct procwatch *pw = NULL;
    int ret = -EINVAL;

    if (!base || !emit || !o || !o->hostname || !o->hostname[0] ||
        strlen(o->hostname) >= DOCTOR_HOSTNAME_SIZE || !o->specs ||
        o->specs_length == 0 || o->specs_length > PROCWATCH_MAX_PROCESSES) {
        goto out;
    }
    for (size_t i = 0; i < o->specs_length; i++) {
        const struct procwatch_spec *s = &o->specs[i];

        if (!procwatch_name_valid(s->name, strnlen(s->name, sizeof s->name))
            || (s->pidfile[0] && s->pidfile[0] != '/')) {
            goto out;
        }
    }
    ret = -ENOMEM;
    pw = calloc(1, sizeof *pw);
    if (!pw) {
        goto out;
    }
    pw->base = base;
    pw->emit = emit;
    pw->arg = arg;
    pw->cn_fd = pw->inotify_fd = -1;
    pw->error_rl = (struct vlog_rate_limit) VLOG_RATE_LIMIT_INIT(1, 5);
    snprintf(pw->hostname, sizeof pw->hostname, "%s", o->hostname);
    pw->buf = malloc(PROCWATCH_CN_BUF_SIZE > PROCWATCH_CMDLINE_SIZE
                     ? PROCWATCH_CN_BUF_SIZE : PROCWATCH_CMDLINE_SIZE);
    pw->items = calloc(o->specs_length, sizeof *pw->items);
    if (!pw->buf || !pw->items) {
        goto out;
    }
    for (size_t i = 0; i < o->specs_length; i++) {
        struct procwatch_item *item = &pw->items[i];

        item->pw = pw;
        item->spec = o->specs[i];
        item->spec.name[sizeof item->spec.name - 1] = '\0';
        item->spec.pidfile[sizeof item->spec.pidfile - 1] = '\0';
        item->pidfile_base = item->spec.pidfile;
        item->wd = -1;
        for (size_t j = 0; j < PROCWATCH_MAX_INSTANCES; j++) {
            item->instances[j].item = item;
            item->instances[j].pidfd = -1;
        }
    }
    pw->items_length = o->specs_length;
    ret = procwatch_setup(pw, o->metrics);
out:
    if (ret) {
        procwatch_free(pw);
        pw = NULL;
        if (error) {
            *error = ret;
        }
    }
    return pw;
}

void
procwatch_free(struct procwatch *pw)
{
    if (!pw) {
        return;
    }
    for (size_t i = 0; pw->items && i < pw->items_length; i++) {
        for (size_t j = 0; j < PROCWATCH_MAX_INSTANCES; j++) {
            if (pw->items[i].instances[j].pid) {
                procwatch_untrack(&pw->items[i].instances[j]);
            }
        }
    }
    if (pw->cn_event) {
        event_free(pw->cn_event);
    }
    if (pw->inotify_event) {
        event_free(pw->inotify_event);
    }
    if (pw->cn_fd >= 0) {
        close(pw->cn_fd);
    }
    if (pw->inotify_fd >= 0) {
        close(pw->inotify_fd);
    }
    free(pw->items);
    free(pw->buf);
    free(pw);
}

int
procwatch_running(const struct procwatch *pw, const char *name,
                  size_t *count, pid_t *pid)
{
    for (size_t i = 0; i < pw->items_length; i++) {
        const struct procwatch_item *item = &pw->items[i];

        if (strcmp(item->spec.name, name)) {
            continue;
        }
        *count = item->running;
        if (pid) {
            *pid = 0;
            for (size_t j = 0; j < PROCWATCH_MAX_INSTANCES; j++) {
                if (item->instances[j].pid) {
                    *pid = item->instances[j].pid;
                    break;
                }
            }
        }
        return 0;
    }
    return -ENOENT;
}

void
procwatch_get_stats(const struct procwatch *pw, struct procwatch_stats *stats)
{
    *stats = pw->stats;
}
