/* linkwatch: NIC link state from rtnetlink (see linkwatch.h). */
#include "linkwatch.h"

#include <errno.h>
#include <event2/event.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "doctor_event.h"
#include "metrics.h"
#include "vlog.h"
#include "vtime.h"

#define LINKWATCH_MODULE "link"
#define LINKWATCH_BUF_SIZE 65536
#define LINKWATCH_RCVBUF_SIZE (1024 * 1024)
/* Datagrams read per wake-up at most. */
#define LINKWATCH_MAX_READ 64
/* Delay before asking again for a dump the kernel refused. */
#define LINKWATCH_RETRY_MS 100

struct linkwatch_entry {
    char name[IFNAMSIZ];
    struct linkwatch_link link;
    bool alarmed;                    /* down reported, up not yet */
    bool seen;                       /* heard of during the current dump */
    struct metrics_gauge *m_up;
};

struct linkwatch {
    struct event_base *base;
    char hostname[DOCTOR_HOSTNAME_SIZE];
    hostevent_fn *emit;
    void *arg;
    int fd;
    struct event *read_event;
    struct event *retry_event;
    struct linkwatch_entry *entries;
    size_t entries_length;
    uint32_t dump_seq;               /* sequence of the current dump */
    bool dumping;
    bool redump;                     /* dump again when this one ends */
    bool dumped;                     /* a dump completed */
    uint8_t *buf;                    /* LINKWATCH_BUF_SIZE bytes */
    struct linkwatch_stats stats;
    struct metrics_counter *m_downs, *m_ups, *m_overflows;
    struct vlog_rate_limit error_rl;
};

static const char *const linkwatch_operstate_names[] = {
    [IF_OPER_UNKNOWN] = "UNKNOWN",
    [IF_OPER_NOTPRESENT] = "NOTPRESENT",
    [IF_OPER_DOWN] = "DOWN",
    [IF_OPER_LOWERLAYERDOWN] = "LOWERLAYERDOWN",
    [IF_OPER_TESTING] = "TESTING",
    [IF_OPER_DORMANT] = "DORMANT",
    [IF_OPER_UP] = "UP",
};

const char *
linkwatch_operstate_name(unsigned int operstate)
{
    return operstate < sizeof linkwatch_operstate_names /
                       sizeof linkwatch_operstate_names[0]
           ? linkwatch_operstate_names[operstate] : NULL;
}

bool
linkwatch_name_valid(const char *name)
{
    size_t length;

    if (!name) {
        return false;
    }
    length = strlen(name);
    if (length == 0 || length >= IFNAMSIZ) {
        return false;
    }
    for (size_t i = 0; i < length; i++) {
        unsigned char c = (unsigned char) name[i];

        if (c <= ' ' || c >= 0x7f || c == '/' || c == '"' || c == '\\') {
            return false;
        }
    }
    return true;
}

static struct linkwatch_entry *
linkwatch_find(const struct linkwatch *lw, const char *name)
{
    for (size_t i = 0; i < lw->entries_length; i++) {
        if (!strcmp(lw->entries[i].name, name)) {
            return &lw->entries[i];
        }
    }
    return NULL;
}

/* ---- events ------------------------------------------------------------- */

static void
linkwatch_emit(struct linkwatch *lw, const struct linkwatch_entry *e,
               const char *netlink_event, bool initial, int64_t now_ns)
{
    const struct linkwatch_link *l = &e->link;
    const char *operstate = linkwatch_operstate_name(l->operstate);
    struct doctor_event ev;
    int ret;

    memset(&ev, 0, sizeof ev);
    ret = hostevent_init(&ev, l->up ? "compute.host.nic.up"
                                    : "compute.host.nic.down",
                         lw->hostname, l->up, now_ns, vtime_real_ns());
    if (ret ||
        (ret = hostevent_set_string(&ev, "interface", e->name)) ||
        (ret = hostevent_set_string(&ev, "operstate",
                                    operstate ? operstate : "UNKNOWN")) ||
        (ret = hostevent_set_bool(&ev, "carrier", l->carrier)) ||
        (ret = hostevent_set_bool(&ev, "admin_up", l->admin_up)) ||
        (ret = hostevent_set_string(&ev, "netlink_event", netlink_event)) ||
        (l->present && (ret = hostevent_set_int(&ev, "ifindex",
                                                l->ifindex))) ||
        (initial && (ret = hostevent_set_bool(&ev, "initial", true)))) {
        goto out;
    }
    lw->emit(&ev, lw->arg);
out:
    if (ret) {
        vlog_write_rl(&lw->error_rl, VLOG_LEVEL_ERR, LINKWATCH_MODULE,
                      "cannot build the event of interface %s: %s", e->name,
                      strerror(-ret));
    }
    doctor_event_clear(&ev);
}

/* Records the new state of 'e' and reports a change. */
static void
linkwatch_update(struct linkwatch *lw, struct linkwatch_entry *e,
                 const struct linkwatch_link *now, const char *netlink_event)
{
    bool was_known = e->link.known, was_up = e->link.up;
    const char *operstate = linkwatch_operstate_name(now->operstate);
    int64_t now_ns = vtime_mono_ns();

    e->link = *now;
    e->link.known = true;
    metrics_gauge_set(e->m_up, now->up ? 1 : 0);
    if (!operstate) {
        operstate = "UNKNOWN";
    }
    if (now->up && (!was_known || !was_up)) {
        VLOG_INFO(LINKWATCH_MODULE, "interface %s up (operstate %s)",
                  e->name, operstate);
        if (e->alarmed) {
            e->alarmed = false;
            lw->stats.ups++;
            metrics_counter_add(lw->m_ups, 1);
            linkwatch_emit(lw, e, netlink_event, false, now_ns);
        }
    } else if (!now->up && (!was_known || was_up)) {
        VLOG_WARN(LINKWATCH_MODULE, "interface %s DOWN%s: %s, operstate %s, "
                  "carrier %s (%s)", e->name, was_known ? "" : " at start",
                  !now->present ? "not present"
                  : now->admin_up ? "admin up" : "admin down", operstate,
                  now->carrier ? "on" : "off", netlink_event);
        e->alarmed = true;
        lw->stats.downs++;
        metrics_counter_add(lw->m_downs, 1);
        linkwatch_emit(lw, e, netlink_event, !was_known, now_ns);
    }
}

static void
linkwatch_gone(struct linkwatch *lw, struct linkwatch_entry *e,
               const char *netlink_event)
{
    struct linkwatch_link now;

    memset(&now, 0, sizeof now);
    now.operstate = IF_OPER_NOTPRESENT;
    linkwatch_update(lw, e, &now, netlink_event);
}

/* ---- netlink ------------------------------------------------------------ */

static int
linkwatch_request_dump(struct linkwatch *lw)
{
    struct {
        struct nlmsghdr nh;
        struct ifinfomsg ifi;
    } req;
    struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };

    if (lw->dumping) {
        lw->redump = true;
        return 0;
    }
    memset(&req, 0, sizeof req);
    req.nh.nlmsg_len = NLMSG_LENGTH(sizeof req.ifi);
    req.nh.nlmsg_type = RTM_GETLINK;
    req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    req.nh.nlmsg_seq = ++lw->dump_seq;
    req.ifi.ifi_family = AF_UNSPEC;
    if (sendto(lw->fd, &req, req.nh.nlmsg_len, 0,
               (struct sockaddr *) &kernel, sizeof kernel) < 0) {
        return -errno;
    }
    lw->dumping = true;
    lw->redump = false;
    for (size_t i = 0; i < lw->entries_length; i++) {
        lw->entries[i].seen = false;
    }
    return 0;
}

static void
linkwatch_schedule_dump(struct linkwatch *lw)
{
    struct timeval delay = { 0, LINKWATCH_RETRY_MS * 1000 };
    int ret = linkwatch_request_dump(lw);

    if (ret) {
        vlog_write_rl(&lw->error_rl, VLOG_LEVEL_ERR, LINKWATCH_MODULE,
                      "cannot ask the kernel for the link list: %s; "
                      "retrying", strerror(-ret));
        evtimer_add(lw->retry_event, &delay);
    }
}

static void
linkwatch_on_retry(evutil_socket_t fd, short what, void *arg)
{
    (void) fd;
    (void) what;
    linkwatch_schedule_dump(arg);
}

/* A dump ended: whatever it did not mention is gone. */
static void
linkwatch_dump_done(struct linkwatch *lw, bool interrupted)
{
    lw->dumping = false;
    if (interrupted) {
        /* The list changed while it was read: read it again. */
        linkwatch_schedule_dump(lw);
        return;
    }
    for (size_t i = 0; i < lw->entries_length; i++) {
        struct linkwatch_entry *e = &lw->entries[i];

        if (!e->seen && (!e->link.known || e->link.present)) {
            linkwatch_gone(lw, e, "DUMP");
        }
    }
    lw->stats.dumps++;
    lw->dumped = true;
    if (lw->redump) {
        linkwatch_schedule_dump(lw);
    }
}

static void
linkwatch_handle_link(struct linkwatch *lw, const struct nlmsghdr *nh)
{
    const struct ifinfomsg *ifi = NLMSG_DATA(nh);
    const char *name = NULL, *event;
    struct linkwatch_link now;
    struct linkwatch_entry *e;
    const struct rtattr *rta;
    int rta_len;
    bool has_carrier = false;

    if (nh->nlmsg_len < NLMSG_LENGTH(sizeof *ifi) ||
        ifi->ifi_family != AF_UNSPEC) {
        return;   /* bridge-port (AF_BRIDGE) messages say nothing new */
    }
    lw->stats.messages++;
    memset(&now, 0, sizeof now);
    now.operstate = IF_OPER_UNKNOWN;
    rta_len = (int) (nh->nlmsg_len - NLMSG_LENGTH(sizeof *ifi));
    for (rta = IFLA_RTA(ifi); RTA_OK(rta, rta_len);
         rta = RTA_NEXT(rta, rta_len)) {
        size_t payload = RTA_PAYLOAD(rta);

        switch (rta->rta_type) {
        case IFLA_IFNAME:
            if (payload > 0 && payload <= IFNAMSIZ &&
                memchr(RTA_DATA(rta), '\0', payload)) {
                name = RTA_DATA(rta);
            }
            break;
        case IFLA_OPERSTATE:
            if (payload >= 1) {
                now.operstate = *(const uint8_t *) RTA_DATA(rta);
            }
            break;
        case IFLA_CARRIER:
            if (payload >= 1) {
                now.carrier = *(const uint8_t *) RTA_DATA(rta) != 0;
                has_carrier = true;
            }
            break;
        default:
            break;
        }
    }
    if (!name) {
        return;
    }
    event = nh->nlmsg_type == RTM_DELLINK ? "DELLINK"
            : (nh->nlmsg_flags & NLM_F_MULTI) ? "DUMP" : "NEWLINK";
    /* A watched interface renamed away is gone under its name. */
    for (size_t i = 0; i < lw->entries_length; i++) {
        struct linkwatch_entry *other = &lw->entries[i];

        if (other->link.present && other->link.ifindex == ifi->ifi_index &&
            strcmp(other->name, name)) {
            if (lw->dumping) {
                other->seen = true;
            }
            linkwatch_gone(lw, other, event);
        }
    }
    e = linkwatch_find(lw, name);
    if (!e) {
        return;
    }
    if (lw->dumping) {
        e->seen = true;
    }
    if (nh->nlmsg_type == RTM_DELLINK) {
        linkwatch_gone(lw, e, event);
        return;
    }
    now.present = true;
    now.ifindex = ifi->ifi_index;
    now.admin_up = ifi->ifi_flags & IFF_UP;
    if (!has_carrier) {
        now.carrier = ifi->ifi_flags & IFF_LOWER_UP;
    }
    now.up = (ifi->ifi_flags & IFF_UP) && (ifi->ifi_flags & IFF_RUNNING);
    linkwatch_update(lw, e, &now, event);
}

static void
linkwatch_handle(struct linkwatch *lw, size_t size)
{
    const struct nlmsghdr *nh;
    unsigned int length = (unsigned int) size;

    for (nh = (const struct nlmsghdr *) lw->buf; NLMSG_OK(nh, length);
         nh = NLMSG_NEXT(nh, length)) {
        bool ours = lw->dumping && nh->nlmsg_seq == lw->dump_seq;

        switch (nh->nlmsg_type) {
        case NLMSG_DONE:
            if (ours) {
                linkwatch_dump_done(lw, nh->nlmsg_flags & NLM_F_DUMP_INTR);
            }
            break;
        case NLMSG_ERROR:
            if (ours) {
                const struct nlmsgerr *err = NLMSG_DATA(nh);

                lw->dumping = false;
                if (nh->nlmsg_len >= NLMSG_LENGTH(sizeof *err)) {
                    vlog_write_rl(&lw->error_rl, VLOG_LEVEL_ERR,
                                  LINKWATCH_MODULE, "the link list failed: "
                                  "%s; retrying", strerror(-err->error));
                }
                linkwatch_schedule_dump(lw);
            }
            break;
        case RTM_NEWLINK:
        case RTM_DELLINK:
            if (ours && (nh->nlmsg_flags & NLM_F_DUMP_INTR)) {
                lw->redump = true;
            }
            linkwatch_handle_link(lw, nh);
            break;
        default:
            break;
        }
    }
}

static void
linkwatch_on_readable(evutil_socket_t fd, short what, void *arg)
{
    struct linkwatch *lw = arg;

    (void) what;
    for (int i = 0; i < LINKWATCH_MAX_READ; i++) {
        struct sockaddr_nl from;
        struct iovec iov = { lw->buf, LINKWATCH_BUF_SIZE };
        struct msghdr msg = { .msg_name = &from,
                              .msg_namelen = sizeof from,
                              .msg_iov = &iov, .msg_iovlen = 1 };
        ssize_t n = recvmsg(fd, &msg, MSG_DONTWAIT);

        if (n < 0) {
            if (errno == ENOBUFS) {
                /* The kernel dropped messages: read the list again. */
                lw->stats.overflows++;
                metrics_counter_add(lw->m_overflows, 1);
                vlog_write_rl(&lw->error_rl, VLOG_LEVEL_WARN,
                              LINKWATCH_MODULE, "netlink overflow: link "
                              "events lost, reading the link list again");
                linkwatch_schedule_dump(lw);
                continue;
            }
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
                vlog_write_rl(&lw->error_rl, VLOG_LEVEL_ERR,
                              LINKWATCH_MODULE, "cannot read link events: "
                              "%s", strerror(errno));
            }
            return;
        }
        /* Only the kernel speaks here; a truncated datagram is unusable. */
        if (from.nl_pid != 0 || (msg.msg_flags & MSG_TRUNC)) {
            continue;
        }
        linkwatch_handle(lw, (size_t) n);
    }
}

/* ---- lifecycle ---------------------------------------------------------- */

static int
linkwatch_open(struct linkwatch *lw)
{
    struct sockaddr_nl local = { .nl_family = AF_NETLINK,
                                 .nl_groups = RTMGRP_LINK };
    int size = LINKWATCH_RCVBUF_SIZE;

    lw->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC,
                    NETLINK_ROUTE);
    if (lw->fd < 0) {
        return -errno;
    }
    if (setsockopt(lw->fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size)) {
        setsockopt(lw->fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    }
    if (bind(lw->fd, (struct sockaddr *) &local, sizeof local)) {
        return -errno;
    }
    return 0;
}

static void
linkwatch_register_metrics(struct linkwatch *lw, struct metrics_registry *reg)
{
    char labels[IFNAMSIZ + 16];

    for (size_t i = 0; i < lw->entries_length; i++) {
        snprintf(labels, sizeof labels, "interface=\"%s\"",
                 lw->entries[i].name);
        lw->entries[i].m_up = metrics_gauge_new(reg, "vigil_monitor_nic_up",
            "1 while a watched interface is up, else 0", labels);
    }
    lw->m_downs = metrics_counter_new(reg, "vigil_monitor_nic_events_total",
        "compute.host.nic.down and .up events raised", "type=\"down\"");
    lw->m_ups = metrics_counter_new(reg, "vigil_monitor_nic_events_total",
        "compute.host.nic.down and .up events raised", "type=\"up\"");
    lw->m_overflows = metrics_counter_new(reg,
        "vigil_monitor_netlink_overflows_total",
        "Times the kernel dropped link events (the list is read again)",
        NULL);
}

struct linkwatch *
linkwatch_new(struct event_base *base, const struct linkwatch_options *o,
              hostevent_fn *emit, void *arg, int *error)
{
    struct linkwatch *lw = NULL;
    int ret = -EINVAL;

    if (!base || !emit || !o || !o->hostname || !o->hostname[0] ||
        strlen(o->hostname) >= DOCTOR_HOSTNAME_SIZE || !o->interfaces ||
        o->interfaces_length == 0 ||
        o->interfaces_length > LINKWATCH_MAX_INTERFACES) {
        goto out;
    }
    for (size_t i = 0; i < o->interfaces_length; i++) {
        if (!linkwatch_name_valid(o->interfaces[i])) {
            goto out;
        }
        for (size_t j = 0; j < i; j++) {
            if (!strcmp(o->interfaces[i], o->interfaces[j])) {
                goto out;
            }
        }
    }
    ret = -ENOMEM;
    lw = calloc(1, sizeof *lw);
    if (!lw) {
        goto out;
    }
    lw->fd = -1;
    lw->base = base;
    lw->emit = emit;
    lw->arg = arg;
    lw->error_rl = (struct vlog_rate_limit) VLOG_RATE_LIMIT_INIT(1, 5);
    snprintf(lw->hostname, sizeof lw->hostname, "%s", o->hostname);
    lw->entries = calloc(o->interfaces_length, sizeof *lw->entries);
    lw->buf = malloc(LINKWATCH_BUF_SIZE);
    if (!lw->entries || !lw->buf) {
        goto out;
    }
    for (size_t i = 0; i < o->interfaces_length; i++) {
        snprintf(lw->entries[i].name, sizeof lw->entries[i].name, "%s",
                 o->interfaces[i]);
    }
    lw->entries_length = o->interfaces_length;
    if (o->metrics) {
        linkwatch_register_metrics(lw, o->metrics);
    }
    ret = linkwatch_open(lw);
    if (ret) {
        goto out;
    }
    lw->read_event = event_new(base, lw->fd, EV_READ | EV_PERSIST,
                               linkwatch_on_readable, lw);
    lw->retry_event = evtimer_new(base, linkwatch_on_retry, lw);
    if (!lw->read_event || !lw->retry_event ||
        event_add(lw->read_event, NULL)) {
        ret = -ENOMEM;
        goto out;
    }
    ret = linkwatch_request_dump(lw);
out:
    if (ret) {
        linkwatch_free(lw);
        lw = NULL;
        if (error) {
            *error = ret;
        }
    }
    return lw;
}

void
linkwatch_free(struct linkwatch *lw)
{
    if (!lw) {
        return;
    }
    if (lw->read_event) {
        event_free(lw->read_event);
    }
    if (lw->retry_event) {
        event_free(lw->retry_event);
    }
    if (lw->fd >= 0) {
        close(lw->fd);
    }
    free(lw->entries);
    free(lw->buf);
    free(lw);
}

int
linkwatch_get_link(const struct linkwatch *lw, const char *name,
                   struct linkwatch_link *link)
{
    const struct linkwatch_entry *e = linkwatch_find(lw, name);

    if (!e) {
        return -ENOENT;
    }
    *link = e->link;
    return 0;
}

void
linkwatch_get_stats(const struct linkwatch *lw, struct linkwatch_stats *stats)
{
    *stats = lw->stats;
}
