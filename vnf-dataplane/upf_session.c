/* upf_session: PFCP sessions and their rules (see upf_session.h).
 *
 * A change (establishment or modification) works on 'next', a copy of the
 * session's rule set: the request is applied to it, then check_rules()
 * validates it and plans the table keys, build() makes the snapshots and
 * publish() swaps them into the tables. Only then is the session's set
 * replaced; on any failure 'next' is thrown away (with whatever counters,
 * meters and snapshots were made for it) and the tables are as before. */
#include "upf_session.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_random.h>

#include "upf_dp.h"
#include "upf_table.h"
#include "vtime.h"

enum pdr_table {
    TABLE_NONE,
    TABLE_UPLINK,
    TABLE_DOWNLINK,
};

struct upf_pdr {
    uint16_t id;
    uint32_t precedence;
    uint8_t source_interface;
    bool has_teid;
    bool choose;                /* CH: the UPF allocates the TEID */
    bool has_choose_id;
    uint8_t choose_id;
    uint32_t teid;
    bool has_ue;
    uint32_t ue_ipv4;
    bool has_far;
    uint32_t far_id;
    uint8_t urrs_length;
    uint32_t urr_ids[PFCP_MAX_RULE_IDS];
    uint8_t qers_length;
    uint32_t qer_ids[PFCP_MAX_RULE_IDS];
    /* state */
    bool allocated;             /* TEID allocated in the current change */
    enum pdr_table table;       /* where its key is installed */
    uint32_t key;
    struct upf_pdr_counter_slot base;  /* counts of replaced snapshots */
    uint64_t seen_packets;      /* already added to its URRs */
    uint64_t seen_bytes;
    struct upf_pdr_rt *rt;      /* the installed snapshot, or NULL */
};

struct upf_far {
    uint32_t id;
    uint16_t action;            /* PFCP_ACTION_* */
    bool has_destination;
    uint8_t destination;
    bool has_ohc;
    uint16_t ohc;               /* PFCP_OHC_* */
    uint32_t ohc_teid;
    uint32_t ohc_ipv4;
    bool has_tos;
    uint8_t tos;
    bool send_end_marker;       /* transient: SNDEM in this change */
};

struct upf_qer {
    uint32_t id;
    uint8_t gate_ul;
    uint8_t gate_dl;
    uint64_t mbr_ul;            /* kbit/s, 0: none */
    uint64_t mbr_dl;
    bool has_qfi;
    uint8_t qfi;
    struct upf_meter *meter_ul;
    struct upf_meter *meter_dl;
};

struct upf_urr {
    uint32_t id;
    uint8_t method;             /* PFCP_MEASURE_* */
    uint32_t triggers;          /* PFCP_TRIGGER_* */
    bool has_threshold;
    struct pfcp_volume threshold;
    uint32_t period_s;
    uint32_t seqn;              /* UR-SEQN of the next report */
    uint64_t ul_bytes, dl_bytes, ul_packets, dl_packets;
    int64_t start_ns;           /* of the measurement */
    uint32_t start_ntp;
    int64_t next_period_ns;
};

struct upf_rules {
    uint8_t pdrs_length;
    uint8_t fars_length;
    uint8_t qers_length;
    uint8_t urrs_length;
    struct upf_pdr *pdrs;
    struct upf_far *fars;
    struct upf_qer *qers;
    struct upf_urr *urrs;
};

struct upf_session {
    uint64_t seid;
    uint64_t cp_seid;
    const void *owner;
    struct upf_rules rules;
    struct rte_mbuf **buffer;   /* downlink packets held for BUFF */
    uint32_t buffered;
    bool report_pending;        /* a DLDR not yet answered */
    bool watched;
    struct upf_session *prev, *next;
    struct upf_session *watch_prev, *watch_next;
};

struct upf_sessions {
    struct upf_sessions_conf conf;
    struct rte_hash *by_seid;
    struct rte_hash *by_peer;   /* (TEID, IPv4) of a FAR -> session */
    struct upf_session *head, *tail;
    struct upf_session *watch;
    uint32_t count;
    uint64_t next_seid;
    uint32_t next_teid;
    struct upf_sessions_stats stats;
};

/* What went wrong in a change, for the response. */
struct change_error {
    uint8_t cause;
    bool has_failed_rule;
    struct pfcp_failed_rule_id failed_rule;
    uint16_t offending_ie;
};

static uint32_t
ntp_now(void)
{
    return (uint32_t) (vtime_real_ns() / 1000000000 + PFCP_NTP_UNIX_OFFSET);
}

static void
fail_rule(struct change_error *e, uint8_t type, uint32_t id)
{
    e->cause = PFCP_CAUSE_RULE_CREATION_MODIFICATION_FAILURE;
    e->has_failed_rule = true;
    e->failed_rule.type = type;
    e->failed_rule.id = id;
}

static void
fail_cause(struct change_error *e, uint8_t cause, uint16_t ie)
{
    e->cause = cause;
    e->offending_ie = ie;
}

/* Writes 'e' into the Cause, Offending IE and Failed Rule ID of a
 * response that rejects a change. */
static void
reject(const struct change_error *e, uint8_t *cause, bool *has_offending_ie,
       uint16_t *offending_ie, bool *has_failed_rule_id,
       struct pfcp_failed_rule_id *failed_rule_id)
{
    *cause = e->cause;
    if (e->offending_ie) {
        *has_offending_ie = true;
        *offending_ie = e->offending_ie;
    }
    if (e->has_failed_rule) {
        *has_failed_rule_id = true;
        *failed_rule_id = e->failed_rule;
    }
}

/* ---- store ------------------------------------------------------------ */

static struct rte_hash *
map_new(const char *name, uint32_t entries, int *error)
{
    struct rte_hash_parameters params = {
        .name = name,
        .entries = entries < 8 ? 8 : entries,
        .key_len = sizeof(uint64_t),
        .hash_func = rte_hash_crc,
        .socket_id = (int) rte_socket_id(),
        .extra_flag = RTE_HASH_EXTRA_FLAGS_EXT_TABLE,
    };
    struct rte_hash *h = rte_hash_create(&params);

    if (!h) {
        *error = rte_errno ? -rte_errno : -ENOMEM;
    }
    return h;
}

struct upf_sessions *
upf_sessions_new(const struct upf_sessions_conf *conf, int *error)
{
    struct upf_sessions *ss = calloc(1, sizeof *ss);
    int ret = -ENOMEM;

    if (!ss) {
        goto out;
    }
    ss->conf = *conf;
    ss->by_seid = map_new("upf_by_seid", conf->max_sessions, &ret);
    if (ss->by_seid) {
        ss->by_peer = map_new("upf_by_peer", conf->max_sessions * 2, &ret);
    }
    if (!ss->by_peer) {
        goto out;
    }
    /* SEIDs and TEIDs start at random points, so that those of an earlier
     * run are unlikely to be reused soon after a restart. */
    ss->next_seid = ((rte_rand() & 0x7fffffffu) << 32) | 1;
    ss->next_teid = (uint32_t) rte_rand() | 1;
    return ss;

out:
    upf_sessions_free(ss);
    *error = ret;
    return NULL;
}

static void session_destroy(struct upf_sessions *ss, struct upf_session *s);

void
upf_sessions_free(struct upf_sessions *ss)
{
    if (!ss) {
        return;
    }
    while (ss->head) {
        session_destroy(ss, ss->head);
    }
    rte_hash_free(ss->by_seid);
    rte_hash_free(ss->by_peer);
    free(ss);
}

struct upf_session *
upf_sessions_find(const struct upf_sessions *ss, uint64_t seid)
{
    void *data;

    if (rte_hash_lookup_data(ss->by_seid, &seid, &data) < 0) {
        return NULL;
    }
    return data;
}

uint64_t
upf_session_seid(const struct upf_session *session)
{
    return session->seid;
}

uint64_t
upf_session_cp_seid(const struct upf_session *session)
{
    return session->cp_seid;
}

const void *
upf_session_owner(const struct upf_session *session)
{
    return session->owner;
}

void
upf_sessions_get_stats(const struct upf_sessions *ss,
                       struct upf_sessions_stats *stats)
{
    *stats = ss->stats;
    stats->sessions = ss->count;
}

/* ---- rule sets ---------------------------------------------------------- */

static void
rules_free(struct upf_rules *r)
{
    free(r->pdrs);
    free(r->fars);
    free(r->qers);
    free(r->urrs);
    memset(r, 0, sizeof *r);
}

/* A copy of the 'length' entries of 'size' bytes at 'from' in a new zeroed
 * array of 'capacity' entries, or NULL. */
static void *
array_clone(const void *from, uint8_t length, size_t capacity, size_t size)
{
    void *to = calloc(capacity, size);

    if (to && length) {
        memcpy(to, from, length * size);
    }
    return to;
}

/* Copies 'from' into 'to' with room for PFCP_MAX_* rules of each kind. */
static int
rules_clone(const struct upf_rules *from, struct upf_rules *to)
{
    memset(to, 0, sizeof *to);
    to->pdrs = array_clone(from->pdrs, from->pdrs_length, PFCP_MAX_PDRS,
                           sizeof *to->pdrs);
    to->fars = array_clone(from->fars, from->fars_length, PFCP_MAX_FARS,
                           sizeof *to->fars);
    to->qers = array_clone(from->qers, from->qers_length, PFCP_MAX_QERS,
                           sizeof *to->qers);
    to->urrs = array_clone(from->urrs, from->urrs_length, PFCP_MAX_URRS,
                           sizeof *to->urrs);
    if (!to->pdrs || !to->fars || !to->qers || !to->urrs) {
        rules_free(to);
        return -ENOMEM;
    }
    to->pdrs_length = from->pdrs_length;
    to->fars_length = from->fars_length;
    to->qers_length = from->qers_length;
    to->urrs_length = from->urrs_length;
    for (uint8_t i = 0; i < to->pdrs_length; i++) {
        to->pdrs[i].rt = NULL;
        to->pdrs[i].allocated = false;
    }
    for (uint8_t i = 0; i < to->fars_length; i++) {
        to->fars[i].send_end_marker = false;
    }
    return 0;
}

/* find_pdr(), find_far(), find_qer(), find_urr(): the rule of that kind
 * with 'id' in 'r', or NULL. */
#define DEFINE_FIND(kind, id_type) \
    static struct upf_##kind * \
    find_##kind(struct upf_rules *r, id_type id) \
    { \
        for (uint8_t i = 0; i < r->kind##s_length; i++) { \
            if (r->kind##s[i].id == id) { \
                return &r->kind##s[i]; \
            } \
        } \
        return NULL; \
    }

DEFINE_FIND(pdr, uint16_t)
DEFINE_FIND(far, uint32_t)
DEFINE_FIND(qer, uint32_t)
DEFINE_FIND(urr, uint32_t)
#undef DEFINE_FIND

/* ---- applying requests to a rule set ------------------------------------ */

/* The new, zeroed, last rule of 'size' bytes in 'rules', an array of
 * '*length' rules with room for one more. */
static void *
append_rule(void *rules, uint8_t *length, size_t size)
{
    uint8_t *rule = (uint8_t *) rules + (size_t) (*length)++ * size;

    memset(rule, 0, size);
    return rule;
}

static int
set_pdi(struct upf_pdr *p, const struct pfcp_pdi *pdi,
        const struct upf_sessions *ss, struct change_error *e)
{
    p->source_interface = pdi->source_interface;
    p->has_teid = pdi->has_local_fteid;
    p->choose = false;
    p->has_choose_id = false;
    if (pdi->has_local_fteid) {
        const struct pfcp_fteid *f = &pdi->local_fteid;

        if (!(f->flags & PFCP_FTEID_V4)) {
            /* The N3 side is IPv4 only. */
            fail_rule(e, PFCP_RULE_PDR, p->id);
            return -EINVAL;
        }
        if (f->flags & PFCP_FTEID_CH) {
            p->choose = true;
            p->has_choose_id = (f->flags & PFCP_FTEID_CHID) != 0;
            p->choose_id = f->choose_id;
        } else if (!f->teid || ntohl(f->ipv4.s_addr) != ss->conf.n3_ipv4) {
            fail_rule(e, PFCP_RULE_PDR, p->id);
            return -EINVAL;
        } else {
            p->teid = f->teid;
        }
    }
    p->has_ue = false;
    if (pdi->has_ue_ip) {
        if (!(pdi->ue_ip.flags & PFCP_UE_IP_V4)
            || (pdi->ue_ip.flags & PFCP_UE_IP_CHV4)) {
            /* IPv4 addresses given by the CP function only. */
            fail_rule(e, PFCP_RULE_PDR, p->id);
            return -EINVAL;
        }
        p->has_ue = true;
        p->ue_ipv4 = ntohl(pdi->ue_ip.ipv4.s_addr);
    }
    return 0;
}

static void
set_ids(uint8_t *length, uint32_t *ids, uint8_t from_length,
        const uint32_t *from)
{
    *length = from_length;
    if (from_length) {
        memcpy(ids, from, from_length * sizeof *ids);
    }
}

static int
create_pdr(struct upf_sessions *ss, struct upf_rules *r,
           const struct pfcp_pdr *in, struct change_error *e)
{
    struct upf_pdr *p;

    if (find_pdr(r, in->pdr_id) || r->pdrs_length == PFCP_MAX_PDRS
        || !in->has_pdi) {
        fail_rule(e, PFCP_RULE_PDR, in->pdr_id);
        return -EINVAL;
    }
    p = append_rule(r->pdrs, &r->pdrs_length, sizeof *p);
    p->id = in->pdr_id;
    p->precedence = in->precedence;
    p->has_far = in->has_far_id;
    p->far_id = in->far_id;
    set_ids(&p->urrs_length, p->urr_ids, in->urr_ids_length, in->urr_ids);
    set_ids(&p->qers_length, p->qer_ids, in->qer_ids_length, in->qer_ids);
    return set_pdi(p, &in->pdi, ss, e);
}

static int
update_pdr(struct upf_sessions *ss, struct upf_rules *r,
           const struct pfcp_pdr *in, struct change_error *e)
{
    struct upf_pdr *p = find_pdr(r, in->pdr_id);

    if (!p) {
        fail_rule(e, PFCP_RULE_PDR, in->pdr_id);
        return -ENOENT;
    }
    if (in->has_precedence) {
        p->precedence = in->precedence;
    }
    if (in->has_far_id) {
        p->has_far = true;
        p->far_id = in->far_id;
    }
    if (in->urr_ids_length) {
        set_ids(&p->urrs_length, p->urr_ids, in->urr_ids_length,
                in->urr_ids);
    }
    if (in->qer_ids_length) {
        set_ids(&p->qers_length, p->qer_ids, in->qer_ids_length,
                in->qer_ids);
    }
    if (in->has_pdi) {
        uint32_t teid = p->teid;
        bool had_teid = p->has_teid;
        int ret = set_pdi(p, &in->pdi, ss, e);

        /* An F-TEID with CH on an existing PDR keeps the TEID it has. */
        if (!ret && p->choose && had_teid) {
            p->choose = false;
            p->teid = teid;
        }
        return ret;
    }
    return 0;
}

static int
set_forwarding(struct upf_far *f, const struct pfcp_forwarding *fw,
               struct change_error *e)
{
    if (fw->has_destination_interface) {
        f->has_destination = true;
        f->destination = fw->destination_interface;
    }
    if (fw->has_outer_header_creation) {
        const struct pfcp_outer_header_creation *o =
            &fw->outer_header_creation;

        if (!(o->description & PFCP_OHC_GTPU_UDP_IPV4)) {
            /* Only GTP-U/UDP/IPv4 outer headers are built. */
            fail_rule(e, PFCP_RULE_FAR, f->id);
            return -EINVAL;
        }
        /* SNDEM: an end marker goes down the tunnel being left. */
        if (f->has_ohc && (f->ohc_teid != o->teid
                           || f->ohc_ipv4 != ntohl(o->ipv4.s_addr))
            && fw->has_smreq_flags && (fw->smreq_flags & PFCP_SMREQ_SNDEM)) {
            f->send_end_marker = true;
        }
        f->has_ohc = true;
        f->ohc = o->description;
        f->ohc_teid = o->teid;
        f->ohc_ipv4 = ntohl(o->ipv4.s_addr);
    }
    if (fw->has_transport_level_marking) {
        f->has_tos = true;
        f->tos = (uint8_t) (fw->transport_level_marking >> 8);
    }
    return 0;
}

static int
create_far(struct upf_rules *r, const struct pfcp_far *in,
           struct change_error *e)
{
    struct upf_far *f;

    if (find_far(r, in->far_id) || r->fars_length == PFCP_MAX_FARS) {
        fail_rule(e, PFCP_RULE_FAR, in->far_id);
        return -EINVAL;
    }
    f = append_rule(r->fars, &r->fars_length, sizeof *f);
    f->id = in->far_id;
    f->action = in->apply_action;
    if (in->has_forwarding) {
        return set_forwarding(f, &in->forwarding, e);
    }
    return 0;
}

static int
update_far(struct upf_rules *r, const struct pfcp_far *in,
           struct change_error *e)
{
    struct upf_far *f = find_far(r, in->far_id);

    if (!f) {
        fail_rule(e, PFCP_RULE_FAR, in->far_id);
        return -ENOENT;
    }
    if (in->has_apply_action) {
        f->action = in->apply_action;
    }
    if (in->has_forwarding) {
        return set_forwarding(f, &in->forwarding, e);
    }
    return 0;
}

static int
set_qer(struct upf_qer *q, const struct pfcp_qer *in)
{
    if (in->has_gate_status) {
        q->gate_ul = in->gate_status.uplink;
        q->gate_dl = in->gate_status.downlink;
    }
    if (in->has_mbr) {
        q->mbr_ul = in->mbr.uplink;
        q->mbr_dl = in->mbr.downlink;
        /* New meters are made when the snapshots are built. */
        q->meter_ul = NULL;
        q->meter_dl = NULL;
    }
    if (in->has_qfi) {
        q->has_qfi = true;
        q->qfi = in->qfi;
    }
    return 0;
}

static int
create_qer(struct upf_rules *r, const struct pfcp_qer *in,
           struct change_error *e)
{
    struct upf_qer *q;

    if (find_qer(r, in->qer_id) || r->qers_length == PFCP_MAX_QERS) {
        fail_rule(e, PFCP_RULE_QER, in->qer_id);
        return -EINVAL;
    }
    q = append_rule(r->qers, &r->qers_length, sizeof *q);
    q->id = in->qer_id;
    return set_qer(q, in);
}

static int
update_qer(struct upf_rules *r, const struct pfcp_qer *in,
           struct change_error *e)
{
    struct upf_qer *q = find_qer(r, in->qer_id);

    if (!q) {
        fail_rule(e, PFCP_RULE_QER, in->qer_id);
        return -ENOENT;
    }
    return set_qer(q, in);
}

static void
set_urr(struct upf_urr *u, const struct pfcp_urr *in, int64_t now_ns)
{
    if (in->has_measurement_method) {
        u->method = in->measurement_method;
    }
    if (in->has_reporting_triggers) {
        u->triggers = in->reporting_triggers;
    }
    if (in->has_volume_threshold) {
        u->has_threshold = true;
        u->threshold = in->volume_threshold;
    }
    if (in->has_measurement_period) {
        u->period_s = in->measurement_period;
        u->next_period_ns = now_ns + (int64_t) u->period_s * 1000000000;
    }
}

static int
create_urr(struct upf_rules *r, const struct pfcp_urr *in, int64_t now_ns,
           struct change_error *e)
{
    struct upf_urr *u;

    if (find_urr(r, in->urr_id) || r->urrs_length == PFCP_MAX_URRS) {
        fail_rule(e, PFCP_RULE_URR, in->urr_id);
        return -EINVAL;
    }
    u = append_rule(r->urrs, &r->urrs_length, sizeof *u);
    u->id = in->urr_id;
    u->start_ns = now_ns;
    u->start_ntp = ntp_now();
    set_urr(u, in, now_ns);
    return 0;
}

static int
update_urr(struct upf_rules *r, const struct pfcp_urr *in, int64_t now_ns,
           struct change_error *e)
{
    struct upf_urr *u = find_urr(r, in->urr_id);

    if (!u) {
        fail_rule(e, PFCP_RULE_URR, in->urr_id);
        return -ENOENT;
    }
    set_urr(u, in, now_ns);
    return 0;
}

/* Removes 'rule', an element of 'size' bytes of the array 'rules' of
 * '*length' elements. */
static void
remove_at(void *rules, uint8_t *length, const void *rule, size_t size)
{
    uint8_t *a = rules;
    size_t i = (size_t) ((const uint8_t *) rule - a) / size;

    memmove(a + i * size, a + (i + 1) * size, (*length - i - 1) * size);
    (*length)--;
}

static int
remove_rule(struct upf_rules *r, uint8_t type, uint32_t id,
            struct change_error *e)
{
    uint8_t *length;
    void *rules;
    void *rule;
    size_t size;

    switch (type) {
    case PFCP_RULE_PDR:
        rule = id <= UINT16_MAX ? find_pdr(r, (uint16_t) id) : NULL;
        rules = r->pdrs;
        length = &r->pdrs_length;
        size = sizeof *r->pdrs;
        break;
    case PFCP_RULE_FAR:
        rule = find_far(r, id);
        rules = r->fars;
        length = &r->fars_length;
        size = sizeof *r->fars;
        break;
    case PFCP_RULE_QER:
        rule = find_qer(r, id);
        rules = r->qers;
        length = &r->qers_length;
        size = sizeof *r->qers;
        break;
    default:
        rule = find_urr(r, id);
        rules = r->urrs;
        length = &r->urrs_length;
        size = sizeof *r->urrs;
        break;
    }
    if (!rule) {
        fail_rule(e, type, id);
        return -ENOENT;
    }
    remove_at(rules, length, rule, size);
    return 0;
}

/* ---- validation and snapshots ------------------------------------------- */

static bool
source_is_core(uint8_t interface)
{
    return interface == PFCP_INTERFACE_CORE
           || interface == PFCP_INTERFACE_SGI_LAN;
}

/* TEIDs for PDRs with CH: equal CHOOSE IDs share one. */
static int
allocate_teids(struct upf_sessions *ss, struct upf_rules *r,
               struct change_error *e)
{
    struct upf_table *uplink = upf_dp_uplink(ss->conf.dp);

    for (uint8_t i = 0; i < r->pdrs_length; i++) {
        struct upf_pdr *p = &r->pdrs[i];
        void *unused;
        bool taken;

        if (!p->choose) {
            continue;
        }
        p->choose = false;
        if (p->has_choose_id) {
            uint8_t j;

            for (j = 0; j < i; j++) {
                if (r->pdrs[j].allocated && r->pdrs[j].has_choose_id
                    && r->pdrs[j].choose_id == p->choose_id) {
                    break;
                }
            }
            if (j < i) {
                p->teid = r->pdrs[j].teid;
                p->allocated = true;
                continue;
            }
        }
        /* The table is the authority on which TEIDs are in use; skip 0
         * and those taken within this change too. */
        for (unsigned int tries = 0;; tries++) {
            if (tries == 1000) {
                fail_cause(e, PFCP_CAUSE_NO_RESOURCES_AVAILABLE, 0);
                return -ENOSPC;
            }
            p->teid = ss->next_teid++;
            taken = !p->teid || !upf_table_lookup(uplink, p->teid, &unused);
            for (uint8_t j = 0; !taken && j < r->pdrs_length; j++) {
                taken = j != i && r->pdrs[j].has_teid && !r->pdrs[j].choose
                        && r->pdrs[j].teid == p->teid;
            }
            if (!taken) {
                break;
            }
        }
        p->allocated = true;
    }
    return 0;
}

/* Checks the references and interfaces of every PDR and plans its table
 * key; of PDRs with equal keys the lowest precedence wins. */
static int
check_rules(struct upf_sessions *ss, struct upf_session *s,
            struct upf_rules *r, struct change_error *e)
{
    for (uint8_t i = 0; i < r->pdrs_length; i++) {
        struct upf_pdr *p = &r->pdrs[i];
        struct upf_far *f = p->has_far ? find_far(r, p->far_id) : NULL;

        p->table = TABLE_NONE;
        if ((p->has_far && !f)) {
            fail_rule(e, PFCP_RULE_PDR, p->id);
            return -EINVAL;
        }
        for (uint8_t j = 0; j < p->urrs_length; j++) {
            if (!find_urr(r, p->urr_ids[j])) {
                fail_rule(e, PFCP_RULE_PDR, p->id);
                return -EINVAL;
            }
        }
        for (uint8_t j = 0; j < p->qers_length; j++) {
            if (!find_qer(r, p->qer_ids[j])) {
                fail_rule(e, PFCP_RULE_PDR, p->id);
                return -EINVAL;
            }
        }
        if (p->source_interface == PFCP_INTERFACE_ACCESS) {
            if (!p->has_teid) {
                fail_rule(e, PFCP_RULE_PDR, p->id);
                return -EINVAL;
            }
            p->table = TABLE_UPLINK;
            p->key = p->teid;
        } else if (source_is_core(p->source_interface)) {
            if (!p->has_ue) {
                fail_rule(e, PFCP_RULE_PDR, p->id);
                return -EINVAL;
            }
            p->table = TABLE_DOWNLINK;
            p->key = p->ue_ipv4;
        }
        if (f && (f->action & PFCP_ACTION_FORW)) {
            bool ok = p->table == TABLE_UPLINK
                      ? f->has_destination
                        && source_is_core(f->destination)
                      : p->table == TABLE_DOWNLINK
                        ? f->has_destination
                          && f->destination == PFCP_INTERFACE_ACCESS
                          && f->has_ohc
                        : true;

            if (!ok || (f->action & (PFCP_ACTION_DROP | PFCP_ACTION_BUFF))) {
                fail_rule(e, PFCP_RULE_FAR, f->id);
                return -EINVAL;
            }
        }
    }
    for (uint8_t i = 0; i < r->pdrs_length; i++) {
        struct upf_pdr *p = &r->pdrs[i];
        struct upf_table *t;
        void *value;

        if (p->table == TABLE_NONE) {
            continue;
        }
        for (uint8_t j = 0; j < r->pdrs_length; j++) {
            struct upf_pdr *q = &r->pdrs[j];

            if (j != i && q->table == p->table && q->key == p->key
                && (q->precedence < p->precedence
                    || (q->precedence == p->precedence && j < i))) {
                p->table = TABLE_NONE;     /* shadowed by q */
                break;
            }
        }
        if (p->table == TABLE_NONE) {
            continue;
        }
        t = p->table == TABLE_UPLINK ? upf_dp_uplink(ss->conf.dp)
                                     : upf_dp_downlink(ss->conf.dp);
        if (!upf_table_lookup(t, p->key, &value)
            && ((struct upf_pdr_rt *) value)->seid != s->seid) {
            /* Another session owns this TEID or UE address. */
            fail_rule(e, PFCP_RULE_PDR, p->id);
            return -EEXIST;
        }
    }
    return 0;
}

/* Makes meters for new QERs and a snapshot for every PDR to install. */
static int
build(struct upf_sessions *ss, struct upf_session *s, struct upf_rules *r,
      struct change_error *e)
{
    struct upf_dp *dp = ss->conf.dp;
    int ret = 0;

    for (uint8_t i = 0; i < r->qers_length; i++) {
        struct upf_qer *q = &r->qers[i];

        if (q->mbr_ul && !q->meter_ul) {
            q->meter_ul = upf_dp_meter_new(dp, q->mbr_ul,
                                           ss->conf.meter_burst_ms, &ret);
        }
        if (!ret && q->mbr_dl && !q->meter_dl) {
            q->meter_dl = upf_dp_meter_new(dp, q->mbr_dl,
                                           ss->conf.meter_burst_ms, &ret);
        }
        if (ret) {
            fail_rule(e, PFCP_RULE_QER, q->id);
            return ret;
        }
    }
    for (uint8_t i = 0; i < r->pdrs_length; i++) {
        struct upf_pdr *p = &r->pdrs[i];
        struct upf_far *f = p->has_far ? find_far(r, p->far_id) : NULL;
        bool uplink = p->table == TABLE_UPLINK;
        struct upf_pdr_rt *rt;

        if (p->table == TABLE_NONE) {
            continue;
        }
        rt = p->rt = upf_dp_rt_new(dp);
        if (!rt) {
            fail_cause(e, PFCP_CAUSE_NO_RESOURCES_AVAILABLE, 0);
            return -ENOMEM;
        }
        rt->pdr_id = p->id;
        rt->seid = s->seid;
        if (uplink && p->has_ue) {
            rt->flags |= UPF_RT_UE_CHECK;
            rt->ue_ipv4 = p->ue_ipv4;
        }
        if (f && (f->action & PFCP_ACTION_FORW)) {
            rt->flags |= UPF_RT_FORWARD;
            if (uplink) {
                rt->flags |= UPF_RT_DECAP;
                rt->out_side = UPF_SIDE_CORE;
            } else {
                rt->flags |= UPF_RT_ENCAP;
                rt->out_side = UPF_SIDE_ACCESS;
                rt->peer_ipv4 = f->ohc_ipv4;
            }
        } else if (f && !uplink && (f->action & PFCP_ACTION_BUFF)) {
            rt->flags |= UPF_RT_BUFFER;
        }
        {
            struct upf_pkt_tunnel tunnel = {
                .src_ipv4 = ss->conf.n3_ipv4,
                .dst_ipv4 = f ? f->ohc_ipv4 : 0,
                .teid = f ? f->ohc_teid : 0,
                .tos = f && f->has_tos ? f->tos : 0,
            };

            for (uint8_t j = 0; j < p->qers_length; j++) {
                struct upf_qer *q = find_qer(r, p->qer_ids[j]);
                struct upf_meter *m = uplink ? q->meter_ul : q->meter_dl;

                if ((uplink ? q->gate_ul : q->gate_dl) != PFCP_GATE_OPEN) {
                    rt->flags |= UPF_RT_GATE_CLOSED;
                }
                if (m) {
                    if (rt->meters_length == UPF_MAX_PDR_METERS) {
                        fail_rule(e, PFCP_RULE_PDR, p->id);
                        return -E2BIG;
                    }
                    rt->meters[rt->meters_length++] = m;
                }
                if (q->has_qfi && !tunnel.has_qfi) {
                    tunnel.has_qfi = true;
                    tunnel.qfi = q->qfi;
                }
            }
            if (rt->flags & UPF_RT_ENCAP) {
                upf_pkt_encap_init(&rt->encap, &tunnel, UPF_PKT_GTPU_GPDU);
            }
        }
    }
    return 0;
}

static struct upf_table *
table_of(struct upf_sessions *ss, enum pdr_table table)
{
    return table == TABLE_UPLINK ? upf_dp_uplink(ss->conf.dp)
                                 : upf_dp_downlink(ss->conf.dp);
}

static struct upf_pdr *
installed_with_key(struct upf_rules *r, enum pdr_table table, uint32_t key)
{
    for (uint8_t i = 0; i < r->pdrs_length; i++) {
        if (r->pdrs[i].rt && r->pdrs[i].table == table
            && r->pdrs[i].key == key) {
            return &r->pdrs[i];
        }
    }
    return NULL;
}

/* Puts the snapshots of 'next' in the tables and removes the keys of 'old'
 * that 'next' does not have; on failure puts 'old' back. */
static int
publish(struct upf_sessions *ss, struct upf_rules *old,
        struct upf_rules *next, struct change_error *e)
{
    uint8_t done;
    int ret = 0;

    for (done = 0; done < next->pdrs_length; done++) {
        struct upf_pdr *p = &next->pdrs[done];

        if (p->rt) {
            ret = upf_table_set(table_of(ss, p->table), p->key, p->rt);
            if (ret) {
                break;
            }
        }
    }
    if (ret) {
        for (uint8_t i = 0; i < done; i++) {
            struct upf_pdr *p = &next->pdrs[i];
            struct upf_pdr *was;

            if (!p->rt) {
                continue;
            }
            was = installed_with_key(old, p->table, p->key);
            if (was) {
                upf_table_set(table_of(ss, p->table), p->key, was->rt);
            } else {
                upf_table_del(table_of(ss, p->table), p->key);
            }
        }
        fail_cause(e, PFCP_CAUSE_NO_RESOURCES_AVAILABLE, 0);
        return ret;
    }
    for (uint8_t i = 0; i < old->pdrs_length; i++) {
        struct upf_pdr *p = &old->pdrs[i];

        if (p->rt && !installed_with_key(next, p->table, p->key)) {
            upf_table_del(table_of(ss, p->table), p->key);
        }
    }
    return 0;
}

static bool
has_meter(const struct upf_rules *r, const struct upf_meter *m)
{
    for (uint8_t i = 0; i < r->qers_length; i++) {
        if (r->qers[i].meter_ul == m || r->qers[i].meter_dl == m) {
            return true;
        }
    }
    return false;
}

/* Frees the snapshots of 'r' and the meters that 'keep' (may be NULL)
 * does not share. */
static void
release(struct upf_dp *dp, struct upf_rules *r, const struct upf_rules *keep)
{
    for (uint8_t i = 0; i < r->pdrs_length; i++) {
        upf_dp_rt_free(dp, r->pdrs[i].rt);
        r->pdrs[i].rt = NULL;
    }
    for (uint8_t i = 0; i < r->qers_length; i++) {
        struct upf_qer *q = &r->qers[i];

        if (q->meter_ul && (!keep || !has_meter(keep, q->meter_ul))) {
            upf_dp_meter_free(q->meter_ul);
        }
        if (q->meter_dl && (!keep || !has_meter(keep, q->meter_dl))) {
            upf_dp_meter_free(q->meter_dl);
        }
        q->meter_ul = q->meter_dl = NULL;
    }
}

/* ---- usage -------------------------------------------------------------- */

/* The counts of 'p' since it was created: those of the snapshots it had
 * and of the one it has. */
static void
pdr_total(const struct upf_sessions *ss, const struct upf_pdr *p,
          struct upf_pdr_counter_slot *sum)
{
    *sum = p->base;
    if (p->rt) {
        upf_dp_rt_counters(ss->conf.dp, p->rt, sum);
    }
}

/* Adds what each PDR forwarded since the last call to its URRs. */
static void
account(struct upf_sessions *ss, struct upf_rules *r)
{
    for (uint8_t i = 0; i < r->pdrs_length; i++) {
        struct upf_pdr *p = &r->pdrs[i];
        struct upf_pdr_counter_slot sum;
        uint64_t packets, bytes;

        pdr_total(ss, p, &sum);
        packets = sum.packets - p->seen_packets;
        bytes = sum.bytes - p->seen_bytes;
        p->seen_packets = sum.packets;
        p->seen_bytes = sum.bytes;
        if (!packets) {
            continue;
        }
        for (uint8_t j = 0; j < p->urrs_length; j++) {
            struct upf_urr *u = find_urr(r, p->urr_ids[j]);

            if (!u) {
                continue;
            }
            if (p->source_interface == PFCP_INTERFACE_ACCESS) {
                u->ul_bytes += bytes;
                u->ul_packets += packets;
            } else {
                u->dl_bytes += bytes;
                u->dl_packets += packets;
            }
        }
    }
}

/* Fills 'out' from 'u' and starts a new measurement. */
static void
make_report(struct upf_urr *u, uint32_t trigger, int64_t now_ns,
            struct pfcp_usage_report *out)
{
    uint32_t now = ntp_now();

    memset(out, 0, sizeof *out);
    out->urr_id = u->id;
    out->ur_seqn = u->seqn++;
    out->trigger = trigger;
    out->has_start_time = true;
    out->start_time = u->start_ntp;
    out->has_end_time = true;
    out->end_time = now;
    if (!u->method || (u->method & PFCP_MEASURE_VOLUM)) {
        struct pfcp_volume *v = &out->volume_measurement;

        out->has_volume_measurement = true;
        v->flags = PFCP_VOLUME_TOVOL | PFCP_VOLUME_ULVOL | PFCP_VOLUME_DLVOL
                   | PFCP_VOLUME_TONOP | PFCP_VOLUME_ULNOP
                   | PFCP_VOLUME_DLNOP;
        v->uplink = u->ul_bytes;
        v->downlink = u->dl_bytes;
        v->total = u->ul_bytes + u->dl_bytes;
        v->uplink_packets = u->ul_packets;
        v->downlink_packets = u->dl_packets;
        v->total_packets = u->ul_packets + u->dl_packets;
    }
    if (u->method & PFCP_MEASURE_DURAT) {
        out->has_duration_measurement = true;
        out->duration_measurement =
            (uint32_t) ((now_ns - u->start_ns) / 1000000000);
    }
    u->ul_bytes = u->dl_bytes = u->ul_packets = u->dl_packets = 0;
    u->start_ns = now_ns;
    u->start_ntp = now;
}

static bool
threshold_reached(const struct upf_urr *u)
{
    const struct pfcp_volume *t = &u->threshold;

    if (!u->has_threshold || !(u->triggers & PFCP_TRIGGER_VOLTH)) {
        return false;
    }
    return ((t->flags & PFCP_VOLUME_TOVOL)
            && u->ul_bytes + u->dl_bytes >= t->total)
           || ((t->flags & PFCP_VOLUME_ULVOL) && u->ul_bytes >= t->uplink)
           || ((t->flags & PFCP_VOLUME_DLVOL) && u->dl_bytes >= t->downlink);
}

static bool
wants_watch(const struct upf_rules *r)
{
    for (uint8_t i = 0; i < r->urrs_length; i++) {
        const struct upf_urr *u = &r->urrs[i];

        if ((u->has_threshold && (u->triggers & PFCP_TRIGGER_VOLTH))
            || (u->period_s && (u->triggers & PFCP_TRIGGER_PERIO))) {
            return true;
        }
    }
    return false;
}

static void
watch_remove(struct upf_sessions *ss, struct upf_session *s)
{
    if (!s->watched) {
        return;
    }
    if (s->watch_prev) {
        s->watch_prev->watch_next = s->watch_next;
    } else {
        ss->watch = s->watch_next;
    }
    if (s->watch_next) {
        s->watch_next->watch_prev = s->watch_prev;
    }
    s->watch_prev = s->watch_next = NULL;
    s->watched = false;
}

/* Sessions with URRs that report by themselves are measured on each
 * tick; the others only when asked. */
static void
watch_update(struct upf_sessions *ss, struct upf_session *s)
{
    if (!wants_watch(&s->rules)) {
        watch_remove(ss, s);
    } else if (!s->watched) {
        s->watch_prev = NULL;
        s->watch_next = ss->watch;
        if (ss->watch) {
            ss->watch->watch_prev = s;
        }
        ss->watch = s;
        s->watched = true;
    }
}

void
upf_sessions_tick(struct upf_sessions *ss, int64_t now_ns,
                  upf_session_report_fn *report, void *arg)
{
    struct pfcp_report_request *req = NULL;

    for (struct upf_session *s = ss->watch, *next; s; s = next) {
        struct upf_rules *r = &s->rules;

        next = s->watch_next;
        account(ss, r);
        for (uint8_t i = 0; i < r->urrs_length; i++) {
            struct upf_urr *u = &r->urrs[i];
            uint32_t trigger = 0;

            if (threshold_reached(u)) {
                trigger = PFCP_USAGE_TRIGGER_VOLTH;
            } else if (u->period_s && (u->triggers & PFCP_TRIGGER_PERIO)
                       && now_ns >= u->next_period_ns) {
                trigger = PFCP_USAGE_TRIGGER_PERIO;
                u->next_period_ns = now_ns
                                    + (int64_t) u->period_s * 1000000000;
            }
            if (!trigger) {
                continue;
            }
            if (!req) {
                req = calloc(1, sizeof *req);
                if (!req) {
                    return;
                }
            }
            if (req->usage_reports_length < PFCP_MAX_USAGE_REPORTS) {
                make_report(u, trigger, now_ns,
                            &req->usage_reports[req->usage_reports_length++]);
            }
        }
        if (req && req->usage_reports_length) {
            req->report_type = PFCP_REPORT_USAR;
            ss->stats.reports++;
            report(arg, s, req);
            memset(req, 0, sizeof *req);
        }
    }
    free(req);
}

/* ---- peers (FAR outer headers) ------------------------------------------ */

static uint64_t
peer_key(uint32_t teid, uint32_t ipv4)
{
    return (uint64_t) teid << 32 | ipv4;
}

static void
peers_update(struct upf_sessions *ss, struct upf_session *s,
             const struct upf_rules *old, const struct upf_rules *next)
{
    for (uint8_t i = 0; old && i < old->fars_length; i++) {
        const struct upf_far *f = &old->fars[i];
        uint64_t key = peer_key(f->ohc_teid, f->ohc_ipv4);
        void *data;

        if (f->has_ohc && rte_hash_lookup_data(ss->by_peer, &key, &data) >= 0
            && data == s) {
            rte_hash_del_key(ss->by_peer, &key);
        }
    }
    for (uint8_t i = 0; next && i < next->fars_length; i++) {
        const struct upf_far *f = &next->fars[i];
        uint64_t key = peer_key(f->ohc_teid, f->ohc_ipv4);

        if (f->has_ohc) {
            rte_hash_add_key_data(ss->by_peer, &key, s);
        }
    }
}

int
upf_sessions_error_indication(struct upf_sessions *ss, uint32_t teid,
                              uint32_t peer_ipv4,
                              upf_session_report_fn *report, void *arg)
{
    uint64_t key = peer_key(teid, peer_ipv4);
    struct pfcp_report_request *req;
    void *data;

    if (rte_hash_lookup_data(ss->by_peer, &key, &data) < 0) {
        return -ENOENT;
    }
    req = calloc(1, sizeof *req);
    if (!req) {
        return -ENOMEM;
    }
    req->report_type = PFCP_REPORT_ERIR;
    req->has_error_indication_report = true;
    req->remote_fteids_length = 1;
    req->remote_fteids[0].flags = PFCP_FTEID_V4;
    req->remote_fteids[0].teid = teid;
    req->remote_fteids[0].ipv4.s_addr = htonl(peer_ipv4);
    ss->stats.reports++;
    report(arg, data, req);
    free(req);
    return 0;
}

/* ---- buffering and end markers ------------------------------------------ */

/* Encapsulates a held downlink frame with its PDR's snapshot and sends it
 * (main lcore: the same steps as the workers' downlink path). */
static void
send_held(struct upf_sessions *ss, struct rte_mbuf *m,
          const struct upf_pdr_rt *rt)
{
    struct upf_dp *dp = ss->conf.dp;
    const struct upf_iface *access = upf_dp_iface(dp, UPF_SIDE_ACCESS);
    const uint8_t *frame = rte_pktmbuf_mtod(m, const uint8_t *);
    static const uint8_t unknown[UPF_PKT_MAC_SIZE];
    struct upf_pkt_meta meta;
    uint8_t *out;

    if (upf_pkt_parse(frame, m->data_len, UPF_PKT_IP_CKSUM_GOOD, &meta)
        != UPF_PKT_OK || meta.kind != UPF_PKT_KIND_IPV4
        || rte_pktmbuf_headroom(m) < rt->encap.size) {
        rte_pktmbuf_free(m);
        return;
    }
    m->data_len = (uint16_t) (UPF_PKT_ETH_SIZE + meta.l3_size);
    m->pkt_len = m->data_len;
    out = (uint8_t *) rte_pktmbuf_prepend(m, rt->encap.size);
    upf_pkt_write_eth(out, unknown, access->mac, UPF_PKT_ETHER_IPV4);
    upf_pkt_encap_write(out + UPF_PKT_ETH_SIZE, &rt->encap, meta.l3_size,
                        (uint16_t) rte_rand());
    upf_dp_send(dp, UPF_SIDE_ACCESS,
                upf_dp_next_hop(dp, UPF_SIDE_ACCESS, rt->peer_ipv4), m);
}

static void
buffer_flush(struct upf_sessions *ss, struct upf_session *s, bool drop)
{
    uint32_t kept = 0;

    for (uint32_t i = 0; i < s->buffered; i++) {
        struct rte_mbuf *m = s->buffer[i];
        struct upf_pdr *p = drop ? NULL
                                 : find_pdr(&s->rules,
                                            upf_mbuf_priv(m)->pdr_id);
        const struct upf_pdr_rt *rt = p ? p->rt : NULL;

        if (rt && (rt->flags & UPF_RT_BUFFER)) {
            s->buffer[kept++] = m;
        } else if (rt && (rt->flags & UPF_RT_FORWARD)
                   && (rt->flags & UPF_RT_ENCAP)) {
            send_held(ss, m, rt);
        } else {
            ss->stats.buffer_dropped++;
            rte_pktmbuf_free(m);
        }
    }
    s->buffered = kept;
    if (!kept) {
        s->report_pending = false;
    }
}

void
upf_sessions_buffer(struct upf_sessions *ss, struct rte_mbuf *m,
                    upf_session_report_fn *report, void *arg)
{
    struct upf_mbuf_priv *priv = upf_mbuf_priv(m);
    struct upf_session *s = upf_sessions_find(ss, priv->seid);
    struct pfcp_report_request *req;

    if (!s || !ss->conf.buffer_packets) {
        ss->stats.buffer_dropped++;
        rte_pktmbuf_free(m);
        return;
    }
    if (!s->buffer) {
        s->buffer = calloc(ss->conf.buffer_packets, sizeof *s->buffer);
    }
    if (!s->buffer || s->buffered >= ss->conf.buffer_packets) {
        ss->stats.buffer_dropped++;
        rte_pktmbuf_free(m);
        return;
    }
    s->buffer[s->buffered++] = m;
    ss->stats.buffered++;
    if (s->report_pending) {
        return;
    }
    req = calloc(1, sizeof *req);
    if (!req) {
        return;
    }
    req->report_type = PFCP_REPORT_DLDR;
    req->has_downlink_data_report = true;
    req->downlink_pdrs_length = 1;
    req->downlink_pdrs[0] = priv->pdr_id;
    s->report_pending = true;
    ss->stats.reports++;
    report(arg, s, req);
    free(req);
}

void
upf_sessions_report_answered(struct upf_sessions *ss,
                             struct upf_session *session)
{
    (void) ss;
    if (!session->buffered) {
        session->report_pending = false;
    }
}

static void
send_end_markers(struct upf_sessions *ss, const struct upf_rules *old,
                 const struct upf_rules *next)
{
    struct upf_dp *dp = ss->conf.dp;
    const struct upf_iface *access = upf_dp_iface(dp, UPF_SIDE_ACCESS);
    static const uint8_t unknown[UPF_PKT_MAC_SIZE];

    for (uint8_t i = 0; i < next->fars_length; i++) {
        const struct upf_far *f = &next->fars[i];
        const struct upf_far *was = NULL;
        struct upf_pkt_tunnel t = { .src_ipv4 = ss->conf.n3_ipv4 };
        struct upf_pkt_encap encap;
        struct rte_mbuf *m;
        uint8_t *frame;

        if (!f->send_end_marker) {
            continue;
        }
        for (uint8_t j = 0; j < old->fars_length; j++) {
            if (old->fars[j].id == f->id) {
                was = &old->fars[j];
            }
        }
        if (!was || !was->has_ohc) {
            continue;
        }
        t.dst_ipv4 = was->ohc_ipv4;
        t.teid = was->ohc_teid;
        upf_pkt_encap_init(&encap, &t, UPF_PKT_GTPU_END_MARKER);
        m = rte_pktmbuf_alloc(upf_dp_pool(dp));
        if (!m) {
            continue;
        }
        frame = (uint8_t *) rte_pktmbuf_append(
            m, (uint16_t) (UPF_PKT_ETH_SIZE + encap.size));
        if (!frame) {
            rte_pktmbuf_free(m);
            continue;
        }
        upf_pkt_write_eth(frame, unknown, access->mac, UPF_PKT_ETHER_IPV4);
        upf_pkt_encap_write(frame + UPF_PKT_ETH_SIZE, &encap, 0,
                            (uint16_t) rte_rand());
        ss->stats.end_markers++;
        upf_dp_send(dp, UPF_SIDE_ACCESS,
                    upf_dp_next_hop(dp, UPF_SIDE_ACCESS, t.dst_ipv4), m);
    }
}

/* ---- changes ------------------------------------------------------------ */

/* Validates 'next', builds and publishes it, and makes it the session's
 * rule set. 'next' is consumed either way. */
static int
commit(struct upf_sessions *ss, struct upf_session *s,
       struct upf_rules *next, struct change_error *e)
{
    struct upf_rules *old = &s->rules;
    int ret;

    ret = allocate_teids(ss, next, e);
    if (!ret) {
        ret = check_rules(ss, s, next, e);
    }
    if (!ret) {
        ret = build(ss, s, next, e);
    }
    if (!ret) {
        ret = publish(ss, old, next, e);
    }
    if (ret) {
        release(ss->conf.dp, next, old);
        rules_free(next);
        return ret;
    }
    /* Workers may hold the old snapshots until they pass a quiescent
     * state; after that the old counters are final too. A new session
     * replaced nothing. */
    if (old->pdrs_length) {
        upf_dp_synchronize(ss->conf.dp);
    }
    account(ss, old);
    for (uint8_t i = 0; i < next->urrs_length; i++) {
        struct upf_urr *was = find_urr(old, next->urrs[i].id);
        struct upf_urr *u = &next->urrs[i];

        if (was) {
            u->ul_bytes = was->ul_bytes;
            u->dl_bytes = was->dl_bytes;
            u->ul_packets = was->ul_packets;
            u->dl_packets = was->dl_packets;
            u->seqn = was->seqn;
            u->start_ns = was->start_ns;
            u->start_ntp = was->start_ntp;
        }
    }
    /* A PDR that stays keeps its counts: its old snapshot's final ones
     * join its totals, the new snapshot counts from zero. */
    for (uint8_t i = 0; i < next->pdrs_length; i++) {
        struct upf_pdr *was = find_pdr(old, next->pdrs[i].id);

        if (was) {
            pdr_total(ss, was, &next->pdrs[i].base);
            next->pdrs[i].seen_packets = was->seen_packets;
            next->pdrs[i].seen_bytes = was->seen_bytes;
        }
    }
    peers_update(ss, s, old, next);
    send_end_markers(ss, old, next);
    return 0;
}

/* Frees what 'old' had that the session's new set does not share. */
static void
retire_rules(struct upf_sessions *ss, struct upf_session *s,
             struct upf_rules *old)
{
    release(ss->conf.dp, old, &s->rules);
    rules_free(old);
}

static void
fill_created(const struct upf_sessions *ss, const struct upf_rules *r,
             uint8_t *length, struct pfcp_created_pdr *created)
{
    *length = 0;
    for (uint8_t i = 0; i < r->pdrs_length; i++) {
        const struct upf_pdr *p = &r->pdrs[i];
        struct pfcp_created_pdr *c;

        if (!p->allocated) {
            continue;
        }
        c = &created[(*length)++];
        memset(c, 0, sizeof *c);
        c->pdr_id = p->id;
        c->has_local_fteid = true;
        c->local_fteid.flags = PFCP_FTEID_V4;
        c->local_fteid.teid = p->teid;
        c->local_fteid.ipv4.s_addr = htonl(ss->conf.n3_ipv4);
    }
}

static void
list_append(struct upf_sessions *ss, struct upf_session *s)
{
    s->prev = ss->tail;
    s->next = NULL;
    if (ss->tail) {
        ss->tail->next = s;
    } else {
        ss->head = s;
    }
    ss->tail = s;
}

static void
list_unlink(struct upf_sessions *ss, struct upf_session *s)
{
    if (s->prev) {
        s->prev->next = s->next;
    } else {
        ss->head = s->next;
    }
    if (s->next) {
        s->next->prev = s->prev;
    } else {
        ss->tail = s->prev;
    }
}

int
upf_sessions_establish(struct upf_sessions *ss, const void *owner,
                       const struct pfcp_establishment_request *req,
                       struct pfcp_establishment_response *resp,
                       struct upf_session **session)
{
    struct change_error e = { .cause = PFCP_CAUSE_REQUEST_ACCEPTED };
    struct upf_rules empty = { 0 }, next;
    int64_t now_ns = vtime_mono_ns();
    struct upf_session *s = NULL;
    int ret = -ENOMEM;

    if (ss->count >= ss->conf.max_sessions) {
        fail_cause(&e, PFCP_CAUSE_NO_RESOURCES_AVAILABLE, 0);
        ret = -ENOSPC;
        goto out;
    }
    s = calloc(1, sizeof *s);
    if (!s || rules_clone(&empty, &next)) {
        fail_cause(&e, PFCP_CAUSE_NO_RESOURCES_AVAILABLE, 0);
        goto out;
    }
    do {
        s->seid = ss->next_seid++;
    } while (!s->seid || upf_sessions_find(ss, s->seid));
    s->cp_seid = req->cp_fseid.seid;
    s->owner = owner;
    ret = 0;
    for (uint8_t i = 0; !ret && i < req->create_fars_length; i++) {
        ret = create_far(&next, &req->create_fars[i], &e);
    }
    for (uint8_t i = 0; !ret && i < req->create_qers_length; i++) {
        ret = create_qer(&next, &req->create_qers[i], &e);
    }
    for (uint8_t i = 0; !ret && i < req->create_urrs_length; i++) {
        ret = create_urr(&next, &req->create_urrs[i], now_ns, &e);
    }
    for (uint8_t i = 0; !ret && i < req->create_pdrs_length; i++) {
        ret = create_pdr(ss, &next, &req->create_pdrs[i], &e);
    }
    if (ret) {
        rules_free(&next);
        goto out;
    }
    ret = commit(ss, s, &next, &e);
    if (ret) {
        goto out;
    }
    s->rules = next;
    if (rte_hash_add_key_data(ss->by_seid, &s->seid, s) < 0) {
        /* Cannot happen below max_sessions; undo the publication. */
        struct upf_rules none = { 0 };
        struct upf_rules installed = s->rules;

        s->rules = none;
        publish(ss, &installed, &none, &e);
        upf_dp_synchronize(ss->conf.dp);
        peers_update(ss, s, &installed, NULL);
        release(ss->conf.dp, &installed, NULL);
        rules_free(&installed);
        fail_cause(&e, PFCP_CAUSE_NO_RESOURCES_AVAILABLE, 0);
        ret = -ENOSPC;
        goto out;
    }
    list_append(ss, s);
    ss->count++;
    watch_update(ss, s);
    ss->stats.established++;
    resp->cause = PFCP_CAUSE_REQUEST_ACCEPTED;
    resp->has_up_fseid = true;
    resp->up_fseid.flags = PFCP_FSEID_V4;
    resp->up_fseid.seid = s->seid;
    fill_created(ss, &s->rules, &resp->created_pdrs_length,
                 resp->created_pdrs);
    *session = s;
    return 0;

out:
    free(s);
    ss->stats.rejected++;
    reject(&e, &resp->cause, &resp->has_offending_ie, &resp->offending_ie,
           &resp->has_failed_rule_id, &resp->failed_rule_id);
    return ret ? ret : -EINVAL;
}

/* Usage reports for the URRs in 'ids' (all with 'all') into 'reports'. */
static void
report_urrs(struct upf_rules *r, const uint32_t *ids, uint8_t ids_length,
            bool all, uint32_t trigger, int64_t now_ns, uint8_t *length,
            struct pfcp_usage_report *reports)
{
    for (uint8_t i = 0; i < r->urrs_length; i++) {
        struct upf_urr *u = &r->urrs[i];
        bool wanted = all;

        for (uint8_t j = 0; !wanted && j < ids_length; j++) {
            wanted = ids[j] == u->id;
        }
        if (wanted && *length < PFCP_MAX_USAGE_REPORTS) {
            make_report(u, trigger, now_ns, &reports[(*length)++]);
        }
    }
}

int
upf_sessions_modify(struct upf_sessions *ss, struct upf_session *s,
                    const struct pfcp_modification_request *req,
                    struct pfcp_modification_response *resp)
{
    struct change_error e = { .cause = PFCP_CAUSE_REQUEST_ACCEPTED };
    int64_t now_ns = vtime_mono_ns();
    struct upf_rules next, old;
    int ret;

    if (rules_clone(&s->rules, &next)) {
        fail_cause(&e, PFCP_CAUSE_NO_RESOURCES_AVAILABLE, 0);
        ret = -ENOMEM;
        goto out;
    }
    ret = 0;
    for (uint8_t i = 0; !ret && i < req->remove_pdrs_length; i++) {
        ret = remove_rule(&next, PFCP_RULE_PDR, req->remove_pdrs[i], &e);
    }
    for (uint8_t i = 0; !ret && i < req->remove_fars_length; i++) {
        ret = remove_rule(&next, PFCP_RULE_FAR, req->remove_fars[i], &e);
    }
    for (uint8_t i = 0; !ret && i < req->remove_qers_length; i++) {
        ret = remove_rule(&next, PFCP_RULE_QER, req->remove_qers[i], &e);
    }
    for (uint8_t i = 0; !ret && i < req->remove_urrs_length; i++) {
        ret = remove_rule(&next, PFCP_RULE_URR, req->remove_urrs[i], &e);
    }
    for (uint8_t i = 0; !ret && i < req->create_fars_length; i++) {
        ret = create_far(&next, &req->create_fars[i], &e);
    }
    for (uint8_t i = 0; !ret && i < req->update_fars_length; i++) {
        ret = update_far(&next, &req->update_fars[i], &e);
    }
    for (uint8_t i = 0; !ret && i < req->create_qers_length; i++) {
        ret = create_qer(&next, &req->create_qers[i], &e);
    }
    for (uint8_t i = 0; !ret && i < req->update_qers_length; i++) {
        ret = update_qer(&next, &req->update_qers[i], &e);
    }
    for (uint8_t i = 0; !ret && i < req->create_urrs_length; i++) {
        ret = create_urr(&next, &req->create_urrs[i], now_ns, &e);
    }
    for (uint8_t i = 0; !ret && i < req->update_urrs_length; i++) {
        ret = update_urr(&next, &req->update_urrs[i], now_ns, &e);
    }
    for (uint8_t i = 0; !ret && i < req->create_pdrs_length; i++) {
        ret = create_pdr(ss, &next, &req->create_pdrs[i], &e);
    }
    for (uint8_t i = 0; !ret && i < req->update_pdrs_length; i++) {
        ret = update_pdr(ss, &next, &req->update_pdrs[i], &e);
    }
    if (!ret && req->has_smreq_flags
        && (req->smreq_flags & PFCP_SMREQ_SNDEM)) {
        for (uint8_t i = 0; i < req->update_fars_length; i++) {
            struct upf_far *f = find_far(&next, req->update_fars[i].far_id);
            struct upf_far *was = find_far(&s->rules,
                                           req->update_fars[i].far_id);

            if (f && was && was->has_ohc
                && (f->ohc_teid != was->ohc_teid
                    || f->ohc_ipv4 != was->ohc_ipv4)) {
                f->send_end_marker = true;
            }
        }
    }
    if (ret) {
        /* Nothing was built for 'next' yet: only new meters exist. */
        release(ss->conf.dp, &next, &s->rules);
        rules_free(&next);
        goto out;
    }
    ret = commit(ss, s, &next, &e);
    if (ret) {
        goto out;
    }
    old = s->rules;
    s->rules = next;
    /* Usage of removed URRs is final; queried ones report now. */
    for (uint8_t i = 0; i < old.urrs_length; i++) {
        if (!find_urr(&s->rules, old.urrs[i].id)
            && resp->usage_reports_length < PFCP_MAX_USAGE_REPORTS) {
            make_report(&old.urrs[i], PFCP_USAGE_TRIGGER_TERMR, now_ns,
                        &resp->usage_reports[resp->usage_reports_length++]);
        }
    }
    report_urrs(&s->rules, req->query_urrs, req->query_urrs_length,
                req->has_smreq_flags
                && (req->smreq_flags & PFCP_SMREQ_QAURR),
                PFCP_USAGE_TRIGGER_IMMER, now_ns, &resp->usage_reports_length,
                resp->usage_reports);
    retire_rules(ss, s, &old);
    watch_update(ss, s);
    buffer_flush(ss, s, req->has_smreq_flags
                        && (req->smreq_flags & PFCP_SMREQ_DROBU));
    ss->stats.modified++;
    resp->cause = PFCP_CAUSE_REQUEST_ACCEPTED;
    fill_created(ss, &s->rules, &resp->created_pdrs_length,
                 resp->created_pdrs);
    return 0;

out:
    ss->stats.rejected++;
    reject(&e, &resp->cause, &resp->has_offending_ie, &resp->offending_ie,
           &resp->has_failed_rule_id, &resp->failed_rule_id);
    return ret ? ret : -EINVAL;
}

/* Takes the session's keys out of the tables; after the grace period its
 * snapshots are freed and its counters final. */
static void
unpublish(struct upf_sessions *ss, struct upf_session *s)
{
    struct upf_rules none = { 0 };
    struct change_error e;
    bool installed = false;

    for (uint8_t i = 0; i < s->rules.pdrs_length; i++) {
        installed |= s->rules.pdrs[i].rt != NULL;
    }
    if (!installed) {
        return;
    }
    publish(ss, &s->rules, &none, &e);
    upf_dp_synchronize(ss->conf.dp);
    for (uint8_t i = 0; i < s->rules.pdrs_length; i++) {
        struct upf_pdr *p = &s->rules.pdrs[i];

        pdr_total(ss, p, &p->base);
        upf_dp_rt_free(ss->conf.dp, p->rt);
        p->rt = NULL;
    }
}

/* Takes the session out of the tables and frees it. */
static void
session_destroy(struct upf_sessions *ss, struct upf_session *s)
{
    unpublish(ss, s);
    peers_update(ss, s, &s->rules, NULL);
    rte_hash_del_key(ss->by_seid, &s->seid);
    list_unlink(ss, s);
    watch_remove(ss, s);
    ss->count--;
    for (uint32_t i = 0; i < s->buffered; i++) {
        rte_pktmbuf_free(s->buffer[i]);
    }
    free(s->buffer);
    release(ss->conf.dp, &s->rules, NULL);
    rules_free(&s->rules);
    free(s);
}

void
upf_sessions_delete(struct upf_sessions *ss, struct upf_session *s,
                    struct pfcp_deletion_response *resp)
{
    int64_t now_ns = vtime_mono_ns();

    if (resp) {
        /* Final usage: out of the tables first, so that it is exact. */
        unpublish(ss, s);
        account(ss, &s->rules);
        report_urrs(&s->rules, NULL, 0, true, PFCP_USAGE_TRIGGER_TERMR,
                    now_ns, &resp->usage_reports_length,
                    resp->usage_reports);
        resp->cause = PFCP_CAUSE_REQUEST_ACCEPTED;
    }
    ss->stats.deleted++;
    session_destroy(ss, s);
}

void
upf_sessions_delete_owner(struct upf_sessions *ss, const void *owner)
{
    for (struct upf_session *s = ss->head, *next; s; s = next) {
        next = s->next;
        if (s->owner == owner) {
            ss->stats.deleted++;
            session_destroy(ss, s);
        }
    }
}

/* ---- JSON --------------------------------------------------------------- */

static void
ipv4_text(uint32_t ipv4, char *buf, size_t size)
{
    snprintf(buf, size, "%u.%u.%u.%u", ipv4 >> 24, (ipv4 >> 16) & 0xff,
             (ipv4 >> 8) & 0xff, ipv4 & 0xff);
}

json_t *
upf_session_to_json(const struct upf_sessions *ss,
                    const struct upf_session *s)
{
    json_t *pdrs = json_array(), *fars = json_array();
    json_t *qers = json_array(), *urrs = json_array();
    char ip[16];

    if (!pdrs || !fars || !qers || !urrs) {
        goto fail;
    }
    for (uint8_t i = 0; i < s->rules.pdrs_length; i++) {
        const struct upf_pdr *p = &s->rules.pdrs[i];
        struct upf_pdr_counter_slot sum;
        json_t *o;

        pdr_total(ss, p, &sum);
        o = json_pack("{s:i, s:I, s:i, s:b, s:I, s:I, s:I, s:I}",
                      "id", p->id, "precedence", (json_int_t) p->precedence,
                      "source_interface", p->source_interface,
                      "installed", p->rt != NULL,
                      "packets", (json_int_t) sum.packets,
                      "bytes", (json_int_t) sum.bytes,
                      "dropped_packets", (json_int_t) sum.dropped_packets,
                      "dropped_bytes", (json_int_t) sum.dropped_bytes);
        if (!o || json_array_append_new(pdrs, o)) {
            goto fail;
        }
        if (p->has_teid) {
            json_object_set_new(o, "teid", json_integer(p->teid));
        }
        if (p->has_ue) {
            ipv4_text(p->ue_ipv4, ip, sizeof ip);
            json_object_set_new(o, "ue_ipv4", json_string(ip));
        }
        if (p->has_far) {
            json_object_set_new(o, "far_id", json_integer(p->far_id));
        }
    }
    for (uint8_t i = 0; i < s->rules.fars_length; i++) {
        const struct upf_far *f = &s->rules.fars[i];
        json_t *o = json_pack("{s:I, s:i}", "id", (json_int_t) f->id,
                              "apply_action", f->action);

        if (!o || json_array_append_new(fars, o)) {
            goto fail;
        }
        if (f->has_destination) {
            json_object_set_new(o, "destination_interface",
                                json_integer(f->destination));
        }
        if (f->has_ohc) {
            ipv4_text(f->ohc_ipv4, ip, sizeof ip);
            json_object_set_new(o, "outer_header",
                                json_pack("{s:I, s:s}", "teid",
                                          (json_int_t) f->ohc_teid,
                                          "ipv4", ip));
        }
    }
    for (uint8_t i = 0; i < s->rules.qers_length; i++) {
        const struct upf_qer *q = &s->rules.qers[i];
        json_t *o = json_pack("{s:I, s:i, s:i, s:I, s:I}",
                              "id", (json_int_t) q->id,
                              "gate_uplink", q->gate_ul,
                              "gate_downlink", q->gate_dl,
                              "mbr_uplink_kbps", (json_int_t) q->mbr_ul,
                              "mbr_downlink_kbps", (json_int_t) q->mbr_dl);

        if (!o || json_array_append_new(qers, o)) {
            goto fail;
        }
        if (q->has_qfi) {
            json_object_set_new(o, "qfi", json_integer(q->qfi));
        }
    }
    for (uint8_t i = 0; i < s->rules.urrs_length; i++) {
        const struct upf_urr *u = &s->rules.urrs[i];
        json_t *o = json_pack("{s:I, s:I, s:I, s:I, s:I}",
                              "id", (json_int_t) u->id,
                              "uplink_bytes", (json_int_t) u->ul_bytes,
                              "downlink_bytes", (json_int_t) u->dl_bytes,
                              "uplink_packets", (json_int_t) u->ul_packets,
                              "downlink_packets",
                              (json_int_t) u->dl_packets);

        if (!o || json_array_append_new(urrs, o)) {
            goto fail;
        }
    }
    return json_pack("{s:I, s:I, s:o, s:o, s:o, s:o, s:i}",
                     "seid", (json_int_t) s->seid,
                     "cp_seid", (json_int_t) s->cp_seid,
                     "pdrs", pdrs, "fars", fars, "qers", qers, "urrs", urrs,
                     "buffered", (int) s->buffered);

fail:
    json_decref(pdrs);
    json_decref(fars);
    json_decref(qers);
    json_decref(urrs);
    return NULL;
}

json_t *
upf_sessions_to_json(const struct upf_sessions *ss, size_t limit)
{
    json_t *list = json_array();
    size_t n = 0;

    for (const struct upf_session *s = ss->head; list && s && n < limit;
         s = s->next, n++) {
        json_t *o = json_pack("{s:I, s:I, s:i}", "seid", (json_int_t) s->seid,
                              "cp_seid", (json_int_t) s->cp_seid,
                              "pdrs", s->rules.pdrs_length);

        if (!o || json_array_append_new(list, o)) {
            json_decref(list);
            return NULL;
        }
    }
    return list;
}
