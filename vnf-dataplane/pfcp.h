/* pfcp: the PFCP message codec of vigil-upf (3GPP TS 29.244, Sx/N4).
 *
 * Pure C with no DPDK and no allocation, so that it can be unit-tested and
 * fuzzed on its own. pfcp_decode() turns one datagram into a struct
 * pfcp_msg: a header plus, in a union, one typed body per message type;
 * pfcp_encode() does the reverse. The node logic (association and session
 * state machines) and the data plane work on these structs only.
 *
 * Representation:
 *   - Integers are in host order (SEIDs, TEIDs, IDs, volumes, bit rates);
 *     IP addresses are struct in_addr / in6_addr, in network order.
 *   - Flag octets are kept as on the wire and tested with the PFCP_*
 *     masks below (bit 1 of an octet is 0x01), so that nothing is lost
 *     between decode and encode.
 *   - An IE that is optional or conditional in some context has a 'has_'
 *     flag; an IE that may repeat is an array with an '_length' count.
 *     IEs mandatory everywhere a struct is used (rule IDs, the Cause of a
 *     response, the Node ID of a node message) have neither.
 *   - Timestamps (Recovery Time Stamp, Start/End Time, ...) are NTP
 *     seconds (since 1900): add PFCP_NTP_UNIX_OFFSET to a Unix time.
 *
 * Decoding is strict and bounded (TS 29.244 clause 7.6):
 *   - Header: version 1, S flag as the message type requires, message
 *     length equal to the datagram (bundled messages are not accepted; use
 *     pfcp_decode_header() to split them).
 *   - Each known IE: its length is checked against what its type and
 *     flags require; a known IE that is malformed is an error (cause
 *     "Mandatory IE incorrect"), even where it is optional: silently
 *     dropping, say, an Outer Header Creation would install a wrong rule.
 *     An IE whose length overruns its message or grouped IE is "Invalid
 *     length". Octets beyond those an IE defines are ignored (later
 *     releases append fields).
 *   - Unknown IEs, vendor IEs and known IEs unexpected where they appear
 *     are skipped without being parsed (TS: silently discarded). Grouped
 *     IEs are only descended into where the message expects them, so the
 *     nesting depth is that of the schema (PFCP_MAX_DEPTH), whatever the
 *     input.
 *   - A single IE that repeats: the first occurrence is used, later ones
 *     are ignored (TS 29.244 7.6, as GTPv2).
 *   - A mandatory IE missing: cause "Mandatory IE missing" with the type
 *     of the missing IE, the innermost one (e.g. PDR ID missing from a
 *     Create PDR gives Offending IE = PDR ID).
 *   - More rules or array entries than the PFCP_MAX_* below, or a string
 *     longer than its PFCP_*_SIZE: cause "No resources available".
 *
 * Thread-safety: every function is reentrant; there is no global state. */
#ifndef VIGIL_PFCP_H
#define VIGIL_PFCP_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PFCP_PORT 8805
#define PFCP_VERSION 1
#define PFCP_NODE_HEADER_SIZE 8       /* S = 0 */
#define PFCP_SESSION_HEADER_SIZE 16   /* S = 1 */
#define PFCP_MAX_MSG_SIZE (4 + 65535) /* the length field counts 16 bits */
#define PFCP_NTP_UNIX_OFFSET 2208988800u  /* 1900-01-01 .. 1970-01-01, s */

/* Capacities of the decoded structs (per message, or per rule). */
#define PFCP_MAX_PDRS 16        /* Create/Update/Remove/Created PDR */
#define PFCP_MAX_FARS 16        /* Create/Update/Remove FAR */
#define PFCP_MAX_QERS 16        /* Create/Update/Remove QER */
#define PFCP_MAX_URRS 16        /* Create/Update/Remove/Query URR */
#define PFCP_MAX_USAGE_REPORTS 16
#define PFCP_MAX_RULE_IDS 8     /* URR IDs, QER IDs in one PDR */
#define PFCP_MAX_SDF_FILTERS 4  /* per PDI */
#define PFCP_MAX_REMOTE_FTEIDS 4  /* per Error Indication Report */
#define PFCP_MAX_REMOTE_PEERS 4   /* per User Plane Path Failure Report */
#define PFCP_MAX_UP_IP_RESOURCES 4
#define PFCP_NAME_SIZE 128      /* Network Instance, Node ID FQDN octets */
#define PFCP_FLOW_DESCRIPTION_SIZE 160
#define PFCP_MAX_DEPTH 3        /* message > grouped IE > grouped IE: a
                                 * property of the schema (e.g. Create PDR
                                 * > PDI), not a runtime check */
#define PFCP_ERROR_TEXT_SIZE 96

/* Message types (TS 29.244 table 7.3-1). */
enum pfcp_msg_type {
    PFCP_MSG_HEARTBEAT_REQUEST = 1,
    PFCP_MSG_HEARTBEAT_RESPONSE = 2,
    PFCP_MSG_PFD_MANAGEMENT_REQUEST = 3,        /* not decoded */
    PFCP_MSG_PFD_MANAGEMENT_RESPONSE = 4,       /* not decoded */
    PFCP_MSG_ASSOCIATION_SETUP_REQUEST = 5,
    PFCP_MSG_ASSOCIATION_SETUP_RESPONSE = 6,
    PFCP_MSG_ASSOCIATION_UPDATE_REQUEST = 7,
    PFCP_MSG_ASSOCIATION_UPDATE_RESPONSE = 8,
    PFCP_MSG_ASSOCIATION_RELEASE_REQUEST = 9,
    PFCP_MSG_ASSOCIATION_RELEASE_RESPONSE = 10,
    PFCP_MSG_VERSION_NOT_SUPPORTED_RESPONSE = 11,  /* header only */
    PFCP_MSG_NODE_REPORT_REQUEST = 12,
    PFCP_MSG_NODE_REPORT_RESPONSE = 13,
    PFCP_MSG_SESSION_SET_DELETION_REQUEST = 14,    /* not decoded */
    PFCP_MSG_SESSION_SET_DELETION_RESPONSE = 15,   /* not decoded */
    PFCP_MSG_SESSION_ESTABLISHMENT_REQUEST = 50,
    PFCP_MSG_SESSION_ESTABLISHMENT_RESPONSE = 51,
    PFCP_MSG_SESSION_MODIFICATION_REQUEST = 52,
    PFCP_MSG_SESSION_MODIFICATION_RESPONSE = 53,
    PFCP_MSG_SESSION_DELETION_REQUEST = 54,        /* header only */
    PFCP_MSG_SESSION_DELETION_RESPONSE = 55,
    PFCP_MSG_SESSION_REPORT_REQUEST = 56,
    PFCP_MSG_SESSION_REPORT_RESPONSE = 57,
    PFCP_MSG_TYPE_COUNT = 256     /* sentinel: types are one octet */
};

/* Cause values (TS 29.244 table 8.2.1-1). */
enum pfcp_cause {
    PFCP_CAUSE_RESERVED = 0,
    PFCP_CAUSE_REQUEST_ACCEPTED = 1,
    PFCP_CAUSE_MORE_USAGE_REPORT_TO_SEND = 2,
    PFCP_CAUSE_REQUEST_PARTIALLY_ACCEPTED = 3,
    PFCP_CAUSE_REQUEST_REJECTED = 64,
    PFCP_CAUSE_SESSION_CONTEXT_NOT_FOUND = 65,
    PFCP_CAUSE_MANDATORY_IE_MISSING = 66,
    PFCP_CAUSE_CONDITIONAL_IE_MISSING = 67,
    PFCP_CAUSE_INVALID_LENGTH = 68,
    PFCP_CAUSE_MANDATORY_IE_INCORRECT = 69,
    PFCP_CAUSE_INVALID_FORWARDING_POLICY = 70,
    PFCP_CAUSE_INVALID_FTEID_ALLOCATION_OPTION = 71,
    PFCP_CAUSE_NO_ESTABLISHED_ASSOCIATION = 72,
    PFCP_CAUSE_RULE_CREATION_MODIFICATION_FAILURE = 73,
    PFCP_CAUSE_ENTITY_IN_CONGESTION = 74,
    PFCP_CAUSE_NO_RESOURCES_AVAILABLE = 75,
    PFCP_CAUSE_SERVICE_NOT_SUPPORTED = 76,
    PFCP_CAUSE_SYSTEM_FAILURE = 77,
    PFCP_CAUSE_REDIRECTION_REQUESTED = 78,
    PFCP_CAUSE_ALL_DYNAMIC_ADDRESSES_OCCUPIED = 79,
    PFCP_CAUSE_UNKNOWN_PREDEFINED_RULE = 80,
    PFCP_CAUSE_UNKNOWN_APPLICATION_ID = 81,
    PFCP_CAUSE_COUNT = 256        /* sentinel: causes are one octet */
};

/* IE types (TS 29.244 table 8.1.2-1) that the codec knows. */
enum pfcp_ie_type {
    PFCP_IE_CREATE_PDR = 1,
    PFCP_IE_PDI = 2,
    PFCP_IE_CREATE_FAR = 3,
    PFCP_IE_FORWARDING_PARAMETERS = 4,
    PFCP_IE_CREATE_URR = 6,
    PFCP_IE_CREATE_QER = 7,
    PFCP_IE_CREATED_PDR = 8,
    PFCP_IE_UPDATE_PDR = 9,
    PFCP_IE_UPDATE_FAR = 10,
    PFCP_IE_UPDATE_FORWARDING_PARAMETERS = 11,
    PFCP_IE_UPDATE_URR = 13,
    PFCP_IE_UPDATE_QER = 14,
    PFCP_IE_REMOVE_PDR = 15,
    PFCP_IE_REMOVE_FAR = 16,
    PFCP_IE_REMOVE_URR = 17,
    PFCP_IE_REMOVE_QER = 18,
    PFCP_IE_CAUSE = 19,
    PFCP_IE_SOURCE_INTERFACE = 20,
    PFCP_IE_FTEID = 21,
    PFCP_IE_NETWORK_INSTANCE = 22,
    PFCP_IE_SDF_FILTER = 23,
    PFCP_IE_GATE_STATUS = 25,
    PFCP_IE_MBR = 26,
    PFCP_IE_GBR = 27,
    PFCP_IE_QER_CORRELATION_ID = 28,
    PFCP_IE_PRECEDENCE = 29,
    PFCP_IE_TRANSPORT_LEVEL_MARKING = 30,
    PFCP_IE_VOLUME_THRESHOLD = 31,
    PFCP_IE_TIME_THRESHOLD = 32,
    PFCP_IE_REPORTING_TRIGGERS = 37,
    PFCP_IE_REPORT_TYPE = 39,
    PFCP_IE_OFFENDING_IE = 40,
    PFCP_IE_DESTINATION_INTERFACE = 42,
    PFCP_IE_UP_FUNCTION_FEATURES = 43,
    PFCP_IE_APPLY_ACTION = 44,
    PFCP_IE_PFCPSMREQ_FLAGS = 49,
    PFCP_IE_PFCPSRRSP_FLAGS = 50,
    PFCP_IE_PDR_ID = 56,
    PFCP_IE_FSEID = 57,
    PFCP_IE_NODE_ID = 60,
    PFCP_IE_MEASUREMENT_METHOD = 62,
    PFCP_IE_USAGE_REPORT_TRIGGER = 63,
    PFCP_IE_MEASUREMENT_PERIOD = 64,
    PFCP_IE_VOLUME_MEASUREMENT = 66,
    PFCP_IE_DURATION_MEASUREMENT = 67,
    PFCP_IE_TIME_OF_FIRST_PACKET = 69,
    PFCP_IE_TIME_OF_LAST_PACKET = 70,
    PFCP_IE_QUOTA_HOLDING_TIME = 71,
    PFCP_IE_VOLUME_QUOTA = 73,
    PFCP_IE_TIME_QUOTA = 74,
    PFCP_IE_START_TIME = 75,
    PFCP_IE_END_TIME = 76,
    PFCP_IE_QUERY_URR = 77,
    PFCP_IE_USAGE_REPORT_SMR = 78,   /* in Session Modification Response */
    PFCP_IE_USAGE_REPORT_SDR = 79,   /* in Session Deletion Response */
    PFCP_IE_USAGE_REPORT_SRR = 80,   /* in Session Report Request */
    PFCP_IE_URR_ID = 81,
    PFCP_IE_DOWNLINK_DATA_REPORT = 83,
    PFCP_IE_OUTER_HEADER_CREATION = 84,
    PFCP_IE_CP_FUNCTION_FEATURES = 89,
    PFCP_IE_USAGE_INFORMATION = 90,
    PFCP_IE_UE_IP_ADDRESS = 93,
    PFCP_IE_OUTER_HEADER_REMOVAL = 95,
    PFCP_IE_RECOVERY_TIME_STAMP = 96,
    PFCP_IE_ERROR_INDICATION_REPORT = 99,
    PFCP_IE_MEASUREMENT_INFORMATION = 100,
    PFCP_IE_NODE_REPORT_TYPE = 101,
    PFCP_IE_USER_PLANE_PATH_FAILURE_REPORT = 102,
    PFCP_IE_REMOTE_GTPU_PEER = 103,
    PFCP_IE_UR_SEQN = 104,
    PFCP_IE_FAR_ID = 108,
    PFCP_IE_QER_ID = 109,
    PFCP_IE_ASSOCIATION_RELEASE_REQUEST = 111,
    PFCP_IE_GRACEFUL_RELEASE_PERIOD = 112,
    PFCP_IE_PDN_TYPE = 113,
    PFCP_IE_FAILED_RULE_ID = 114,
    PFCP_IE_UP_IP_RESOURCE_INFORMATION = 116,
    PFCP_IE_QFI = 124,
    PFCP_IE_RQI = 123,
    PFCP_IE_INTERFACE_TYPE = 160,    /* 3GPP Interface Type */
    PFCP_IE_TYPE_COUNT = 32768       /* sentinel: 32768.. are vendor IEs */
};

/* Source Interface / Destination Interface values (TS 29.244 8.2.2). */
enum pfcp_interface {
    PFCP_INTERFACE_ACCESS = 0,
    PFCP_INTERFACE_CORE = 1,
    PFCP_INTERFACE_SGI_LAN = 2,      /* SGi-LAN / N6-LAN */
    PFCP_INTERFACE_CP_FUNCTION = 3,
    PFCP_INTERFACE_LI_FUNCTION = 4,  /* destination only */
    PFCP_INTERFACE_COUNT = 16        /* sentinel: a 4-bit field */
};

/* Node ID types (8.2.38). */
enum pfcp_node_id_type {
    PFCP_NODE_ID_IPV4 = 0,
    PFCP_NODE_ID_IPV6 = 1,
    PFCP_NODE_ID_FQDN = 2,
    PFCP_NODE_ID_TYPE_COUNT
};

/* Outer Header Removal descriptions (8.2.64). */
enum pfcp_outer_header_removal_type {
    PFCP_OHR_GTPU_UDP_IPV4 = 0,
    PFCP_OHR_GTPU_UDP_IPV6 = 1,
    PFCP_OHR_UDP_IPV4 = 2,
    PFCP_OHR_UDP_IPV6 = 3,
    PFCP_OHR_IPV4 = 4,
    PFCP_OHR_IPV6 = 5,
    PFCP_OHR_GTPU_UDP_IP = 6,
    PFCP_OHR_VLAN_STAG = 7,
    PFCP_OHR_STAG_CTAG = 8,
    PFCP_OHR_TYPE_COUNT
};

/* Failed Rule ID types (8.2.80). */
enum pfcp_rule_type {
    PFCP_RULE_PDR = 0,
    PFCP_RULE_FAR = 1,
    PFCP_RULE_QER = 2,
    PFCP_RULE_URR = 3,
    PFCP_RULE_BAR = 4,
    PFCP_RULE_TYPE_COUNT
};

/* Gate Status values (8.2.7). */
enum pfcp_gate {
    PFCP_GATE_OPEN = 0,
    PFCP_GATE_CLOSED = 1,
    PFCP_GATE_COUNT = 4              /* sentinel: a 2-bit field */
};

/* F-TEID flags (8.2.3). */
#define PFCP_FTEID_V4 0x01
#define PFCP_FTEID_V6 0x02
#define PFCP_FTEID_CH 0x04     /* the UP function chooses TEID and address */
#define PFCP_FTEID_CHID 0x08   /* Choose ID present (only with CH) */

/* F-SEID flags (8.2.37). */
#define PFCP_FSEID_V6 0x01
#define PFCP_FSEID_V4 0x02

/* UE IP Address flags (8.2.62). */
#define PFCP_UE_IP_V6 0x01
#define PFCP_UE_IP_V4 0x02
#define PFCP_UE_IP_SD 0x04     /* 1: destination address (downlink PDI) */
#define PFCP_UE_IP_IPV6D 0x08  /* IPv6 prefix delegation bits present */
#define PFCP_UE_IP_CHV4 0x10   /* the UP function allocates the IPv4 */
#define PFCP_UE_IP_CHV6 0x20
#define PFCP_UE_IP_IP6PL 0x40  /* IPv6 prefix length present */

/* SDF Filter flags (8.2.5). */
#define PFCP_SDF_FD 0x01       /* Flow Description */
#define PFCP_SDF_TTC 0x02      /* ToS Traffic Class */
#define PFCP_SDF_SPI 0x04      /* Security Parameter Index */
#define PFCP_SDF_FL 0x08       /* Flow Label */
#define PFCP_SDF_BID 0x10      /* SDF Filter ID */

/* Outer Header Creation description (8.2.56): octet 5 is the high byte. */
#define PFCP_OHC_GTPU_UDP_IPV4 0x0100
#define PFCP_OHC_GTPU_UDP_IPV6 0x0200
#define PFCP_OHC_UDP_IPV4 0x0400
#define PFCP_OHC_UDP_IPV6 0x0800
#define PFCP_OHC_IPV4 0x1000
#define PFCP_OHC_IPV6 0x2000
#define PFCP_OHC_CTAG 0x4000
#define PFCP_OHC_STAG 0x8000
#define PFCP_OHC_N19 0x0001
#define PFCP_OHC_N6 0x0002

/* Apply Action (8.2.26): octet 5 is the low byte, octet 6 the high. */
#define PFCP_ACTION_DROP 0x0001
#define PFCP_ACTION_FORW 0x0002
#define PFCP_ACTION_BUFF 0x0004
#define PFCP_ACTION_NOCP 0x0008
#define PFCP_ACTION_DUPL 0x0010
#define PFCP_ACTION_IPMA 0x0020
#define PFCP_ACTION_IPMD 0x0040
#define PFCP_ACTION_DFRT 0x0080
#define PFCP_ACTION_EDRT 0x0100
#define PFCP_ACTION_BDPN 0x0200
#define PFCP_ACTION_DDPN 0x0400

/* Volume Threshold / Quota / Measurement flags (8.2.13, 8.2.44). The
 * packet counts (NOP) exist in Volume Measurement only. */
#define PFCP_VOLUME_TOVOL 0x01
#define PFCP_VOLUME_ULVOL 0x02
#define PFCP_VOLUME_DLVOL 0x04
#define PFCP_VOLUME_TONOP 0x08
#define PFCP_VOLUME_ULNOP 0x10
#define PFCP_VOLUME_DLNOP 0x20

/* Measurement Method (8.2.40). */
#define PFCP_MEASURE_DURAT 0x01
#define PFCP_MEASURE_VOLUM 0x02
#define PFCP_MEASURE_EVENT 0x04

/* Reporting Triggers (8.2.19): octet 5 is bits 0-7, octet 6 bits 8-15,
 * octet 7 bits 16-23. */
#define PFCP_TRIGGER_PERIO 0x000001  /* periodic reporting */
#define PFCP_TRIGGER_VOLTH 0x000002  /* volume threshold */
#define PFCP_TRIGGER_TIMTH 0x000004  /* time threshold */
#define PFCP_TRIGGER_QUHTI 0x000008  /* quota holding time */
#define PFCP_TRIGGER_START 0x000010  /* start of traffic */
#define PFCP_TRIGGER_STOPT 0x000020  /* stop of traffic */
#define PFCP_TRIGGER_DROTH 0x000040  /* dropped DL traffic threshold */
#define PFCP_TRIGGER_LIUSA 0x000080  /* linked usage reporting */
#define PFCP_TRIGGER_VOLQU 0x000100  /* volume quota */
#define PFCP_TRIGGER_TIMQU 0x000200  /* time quota */
#define PFCP_TRIGGER_ENVCL 0x000400  /* envelope closure */

/* Usage Report Trigger (8.2.41), same octet numbering; octet 6 differs
 * from the Reporting Triggers. */
#define PFCP_USAGE_TRIGGER_PERIO 0x000001
#define PFCP_USAGE_TRIGGER_VOLTH 0x000002
#define PFCP_USAGE_TRIGGER_TIMTH 0x000004
#define PFCP_USAGE_TRIGGER_QUHTI 0x000008
#define PFCP_USAGE_TRIGGER_START 0x000010
#define PFCP_USAGE_TRIGGER_STOPT 0x000020
#define PFCP_USAGE_TRIGGER_DROTH 0x000040
#define PFCP_USAGE_TRIGGER_IMMER 0x000080  /* immediate report */
#define PFCP_USAGE_TRIGGER_VOLQU 0x000100
#define PFCP_USAGE_TRIGGER_TIMQU 0x000200
#define PFCP_USAGE_TRIGGER_LIUSA 0x000400
#define PFCP_USAGE_TRIGGER_TERMR 0x000800  /* termination report */
#define PFCP_USAGE_TRIGGER_MONIT 0x001000  /* monitoring time */
#define PFCP_USAGE_TRIGGER_ENVCL 0x002000

/* Measurement Information (8.2.68). */
#define PFCP_MEASUREMENT_INFO_MBQE 0x01
#define PFCP_MEASUREMENT_INFO_INAM 0x02
#define PFCP_MEASUREMENT_INFO_RADI 0x04
#define PFCP_MEASUREMENT_INFO_ISTM 0x08

/* Usage Information (8.2.59). */
#define PFCP_USAGE_INFO_BEF 0x01
#define PFCP_USAGE_INFO_AFT 0x02
#define PFCP_USAGE_INFO_UAE 0x04
#define PFCP_USAGE_INFO_UBE 0x08

/* Report Type (8.2.21). */
#define PFCP_REPORT_DLDR 0x01   /* downlink data report */
#define PFCP_REPORT_USAR 0x02   /* usage report */
#define PFCP_REPORT_ERIR 0x04   /* error indication report */
#define PFCP_REPORT_UPIR 0x08   /* user plane inactivity report */

/* Node Report Type (8.2.69). */
#define PFCP_NODE_REPORT_UPFR 0x01  /* user plane path failure report */

/* PFCPSMReq-Flags (8.2.31) and PFCPSRRsp-Flags (8.2.32). */
#define PFCP_SMREQ_DROBU 0x01   /* drop buffered packets */
#define PFCP_SMREQ_SNDEM 0x02   /* send end marker packets */
#define PFCP_SMREQ_QAURR 0x04   /* query all URRs */
#define PFCP_SRRSP_DROBU 0x01

/* PFCP Association Release Request IE (8.2.76). */
#define PFCP_RELEASE_SARR 0x01
#define PFCP_RELEASE_URSS 0x02

/* Remote GTP-U Peer flags (8.2.70); DI/NI contents are skipped. */
#define PFCP_REMOTE_PEER_V6 0x01
#define PFCP_REMOTE_PEER_V4 0x02

/* User Plane IP Resource Information flags (8.2.82); TEIDRI (bits 3-5)
 * is kept apart in 'teidri'. */
#define PFCP_UP_IP_V4 0x01
#define PFCP_UP_IP_V6 0x02
#define PFCP_UP_IP_ASSONI 0x20  /* network instance present */
#define PFCP_UP_IP_ASSOSI 0x40  /* source interface present */

/* UP Function Features (8.2.25): octet 5 is bits 0-7, octet 6 bits 8-15,
 * and so on (up to 8 octets are kept). */
#define PFCP_UP_FEATURE_BUCP (UINT64_C(1) << 0)
#define PFCP_UP_FEATURE_DDND (UINT64_C(1) << 1)
#define PFCP_UP_FEATURE_DLBD (UINT64_C(1) << 2)
#define PFCP_UP_FEATURE_TRST (UINT64_C(1) << 3)
#define PFCP_UP_FEATURE_FTUP (UINT64_C(1) << 4)  /* F-TEID allocation by UP */
#define PFCP_UP_FEATURE_PFDM (UINT64_C(1) << 5)
#define PFCP_UP_FEATURE_HEEU (UINT64_C(1) << 6)
#define PFCP_UP_FEATURE_TREU (UINT64_C(1) << 7)
#define PFCP_UP_FEATURE_EMPU (UINT64_C(1) << 8)  /* end marker */
#define PFCP_UP_FEATURE_PDIU (UINT64_C(1) << 9)
#define PFCP_UP_FEATURE_UDBC (UINT64_C(1) << 10)
#define PFCP_UP_FEATURE_QUOAC (UINT64_C(1) << 11)
#define PFCP_UP_FEATURE_TRACE (UINT64_C(1) << 12)
#define PFCP_UP_FEATURE_FRRT (UINT64_C(1) << 13)
#define PFCP_UP_FEATURE_PFDE (UINT64_C(1) << 14)

/* CP Function Features (8.2.58). */
#define PFCP_CP_FEATURE_LOAD (UINT64_C(1) << 0)
#define PFCP_CP_FEATURE_OVRL (UINT64_C(1) << 1)

/* PFCP header (7.2.2). */
struct pfcp_header {
    uint8_t version;        /* decode: always 1; encode: ignored */
    bool has_seid;          /* S flag; encode derives it from 'type' */
    bool has_priority;      /* MP flag */
    bool follow_on;         /* FO flag (bundling); encode writes 0 */
    uint8_t type;           /* enum pfcp_msg_type */
    uint16_t length;        /* length field; encode computes it */
    uint64_t seid;          /* when has_seid */
    uint32_t sequence;      /* 24 bits */
    uint8_t priority;       /* 4 bits, when has_priority */
};

/* A name as octets on the wire: Network Instance (an APN/DNN in DNS label
 * format, or plain text) or the FQDN of a Node ID (DNS labels, no final
 * zero). See pfcp_name_from_string() / pfcp_name_to_string(). */
struct pfcp_name {
    uint8_t size;
    uint8_t octets[PFCP_NAME_SIZE];
};

struct pfcp_node_id {
    uint8_t type;             /* enum pfcp_node_id_type */
    struct in_addr ipv4;      /* PFCP_NODE_ID_IPV4 */
    struct in6_addr ipv6;     /* PFCP_NODE_ID_IPV6 */
    struct pfcp_name fqdn;    /* PFCP_NODE_ID_FQDN, size >= 1 */
};

struct pfcp_fseid {
    uint8_t flags;            /* PFCP_FSEID_*, at least one of V4/V6 */
    uint64_t seid;
    struct in_addr ipv4;
    struct in6_addr ipv6;
};

struct pfcp_fteid {
    uint8_t flags;            /* PFCP_FTEID_*; V4 and/or V6 always */
    uint32_t teid;            /* without CH */
    struct in_addr ipv4;      /* V4 without CH */
    struct in6_addr ipv6;     /* V6 without CH */
    uint8_t choose_id;        /* CHID */
};

struct pfcp_ue_ip {
    uint8_t flags;            /* PFCP_UE_IP_* */
    struct in_addr ipv4;
    struct in6_addr ipv6;
    uint8_t ipv6_prefix_delegation_bits;  /* IPV6D */
    uint8_t ipv6_prefix_length;           /* IP6PL */
};

struct pfcp_sdf_filter {
    uint8_t flags;            /* PFCP_SDF_* */
    uint16_t flow_description_size;
    char flow_description[PFCP_FLOW_DESCRIPTION_SIZE + 1];  /* FD; NUL
                                                             * appended */
    uint16_t tos_traffic_class;   /* TTC: ToS/traffic class, then mask */
    uint32_t spi;                 /* SPI */
    uint32_t flow_label;          /* FL: 24 bits */
    uint32_t filter_id;           /* BID */
};

struct pfcp_outer_header_creation {
    uint16_t description;     /* PFCP_OHC_* */
    uint32_t teid;            /* GTP-U/UDP/IPv4 or IPv6 */
    struct in_addr ipv4;      /* ...IPv4 */
    struct in6_addr ipv6;     /* ...IPv6 */
    uint16_t port;            /* UDP/IPv4 or UDP/IPv6 */
    uint32_t ctag;            /* CTAG: the 3 octets of the C-TAG field
                               * (flags, then PCP/DEI/VID), low 24 bits */
    uint32_t stag;            /* STAG: same for the S-TAG */
};

struct pfcp_outer_header_removal {
    uint8_t description;      /* enum pfcp_outer_header_removal_type */
    bool has_extension_header_deletion;
    uint8_t extension_header_deletion;  /* bit 1: PDU session container */
};

struct pfcp_volume {
    uint8_t flags;            /* PFCP_VOLUME_* */
    uint64_t total;           /* octets */
    uint64_t uplink;
    uint64_t downlink;
    uint64_t total_packets;   /* Volume Measurement only */
    uint64_t uplink_packets;
    uint64_t downlink_packets;
};

struct pfcp_bitrate {
    uint64_t uplink;          /* kbit/s, 40 bits */
    uint64_t downlink;
};

struct pfcp_gate_status {
    uint8_t uplink;           /* enum pfcp_gate */
    uint8_t downlink;
};

struct pfcp_failed_rule_id {
    uint8_t type;             /* enum pfcp_rule_type */
    uint32_t id;              /* PDR ID (16 bits), FAR/QER/URR ID, BAR ID
                               * (8 bits) */
};

struct pfcp_remote_peer {
    uint8_t flags;            /* PFCP_REMOTE_PEER_* */
    struct in_addr ipv4;
    struct in6_addr ipv6;
};

struct pfcp_up_ip_resource {
    uint8_t flags;            /* PFCP_UP_IP_* */
    uint8_t teidri;           /* TEID range indication, 3 bits */
    uint8_t teid_range;       /* when teidri != 0 */
    struct in_addr ipv4;
    struct in6_addr ipv6;
    struct pfcp_name network_instance;   /* ASSONI */
    uint8_t source_interface;            /* ASSOSI */
};

/* PDI (Packet Detection Information). */
struct pfcp_pdi {
    uint8_t source_interface;            /* mandatory; enum pfcp_interface */
    bool has_local_fteid;
    struct pfcp_fteid local_fteid;
    bool has_network_instance;
    struct pfcp_name network_instance;
    bool has_ue_ip;
    struct pfcp_ue_ip ue_ip;
    uint8_t sdf_filters_length;
    struct pfcp_sdf_filter sdf_filters[PFCP_MAX_SDF_FILTERS];
    bool has_qfi;
    uint8_t qfi;                         /* 6 bits */
    bool has_source_interface_type;
    uint8_t source_interface_type;       /* 3GPP Interface Type, 6 bits */
};

/* Create PDR (precedence and PDI mandatory) or Update PDR (PDR ID only). */
struct pfcp_pdr {
    uint16_t pdr_id;
    bool has_precedence;
    uint32_t precedence;
    bool has_pdi;
    struct pfcp_pdi pdi;
    bool has_outer_header_removal;
    struct pfcp_outer_header_removal outer_header_removal;
    bool has_far_id;
    uint32_t far_id;
    uint8_t urr_ids_length;
    uint32_t urr_ids[PFCP_MAX_RULE_IDS];
    uint8_t qer_ids_length;
    uint32_t qer_ids[PFCP_MAX_RULE_IDS];
};

/* Forwarding Parameters (in Create FAR: destination interface mandatory)
 * or Update Forwarding Parameters (in Update FAR: all optional, plus the
 * PFCPSMReq-Flags, e.g. SNDEM on a handover). */
struct pfcp_forwarding {
    bool has_destination_interface;
    uint8_t destination_interface;       /* enum pfcp_interface */
    bool has_network_instance;
    struct pfcp_name network_instance;
    bool has_outer_header_creation;
    struct pfcp_outer_header_creation outer_header_creation;
    bool has_transport_level_marking;
    uint16_t transport_level_marking;    /* ToS/traffic class, mask */
    bool has_destination_interface_type;
    uint8_t destination_interface_type;  /* 3GPP Interface Type */
    bool has_smreq_flags;                /* Update Forwarding Parameters */
    uint8_t smreq_flags;                 /* PFCP_SMREQ_* */
};

/* Create FAR (apply action mandatory) or Update FAR. */
struct pfcp_far {
    uint32_t far_id;
    bool has_apply_action;
    uint16_t apply_action;               /* PFCP_ACTION_* */
    bool has_forwarding;                 /* (Update) Forwarding Parameters */
    struct pfcp_forwarding forwarding;
};

/* Create QER (gate status mandatory) or Update QER. */
struct pfcp_qer {
    uint32_t qer_id;
    bool has_qer_correlation_id;
    uint32_t qer_correlation_id;
    bool has_gate_status;
    struct pfcp_gate_status gate_status;
    bool has_mbr;
    struct pfcp_bitrate mbr;
    bool has_gbr;
    struct pfcp_bitrate gbr;
    bool has_qfi;
    uint8_t qfi;
    bool has_rqi;
    uint8_t rqi;                         /* bit 1 */
};

/* Create URR (measurement method and reporting triggers mandatory) or
 * Update URR. */
struct pfcp_urr {
    uint32_t urr_id;
    bool has_measurement_method;
    uint8_t measurement_method;          /* PFCP_MEASURE_* */
    bool has_reporting_triggers;
    uint32_t reporting_triggers;         /* PFCP_TRIGGER_* */
    bool has_measurement_period;
    uint32_t measurement_period;         /* s */
    bool has_volume_threshold;
    struct pfcp_volume volume_threshold;
    bool has_volume_quota;
    struct pfcp_volume volume_quota;
    bool has_time_threshold;
    uint32_t time_threshold;             /* s */
    bool has_time_quota;
    uint32_t time_quota;                 /* s */
    bool has_quota_holding_time;
    uint32_t quota_holding_time;         /* s */
    bool has_measurement_information;
    uint8_t measurement_information;     /* PFCP_MEASUREMENT_INFO_* */
};

/* Created PDR (in Session Establishment/Modification Response). */
struct pfcp_created_pdr {
    uint16_t pdr_id;
    bool has_local_fteid;
    struct pfcp_fteid local_fteid;       /* the F-TEID the UP chose */
    bool has_ue_ip;
    struct pfcp_ue_ip ue_ip;
};

/* Usage Report (IE 78, 79 or 80 after the message it is in). */
struct pfcp_usage_report {
    uint32_t urr_id;
    uint32_t ur_seqn;
    uint32_t trigger;                    /* PFCP_USAGE_TRIGGER_* */
    bool has_start_time;
    uint32_t start_time;                 /* NTP s */
    bool has_end_time;
    uint32_t end_time;
    bool has_volume_measurement;
    struct pfcp_volume volume_measurement;
    bool has_duration_measurement;
    uint32_t duration_measurement;       /* s */
    bool has_time_of_first_packet;
    uint32_t time_of_first_packet;
    bool has_time_of_last_packet;
    uint32_t time_of_last_packet;
    bool has_usage_information;
    uint8_t usage_information;           /* PFCP_USAGE_INFO_* */
};

/* Message bodies. Every response carries the Cause and, on a rejection
 * for a faulty IE, the Offending IE. */
struct pfcp_heartbeat {                  /* request and response */
    uint32_t recovery_time_stamp;
};

struct pfcp_association_setup_request {
    struct pfcp_node_id node_id;
    uint32_t recovery_time_stamp;
    bool has_up_features;
    uint64_t up_features;                /* PFCP_UP_FEATURE_* */
    bool has_cp_features;
    uint64_t cp_features;                /* PFCP_CP_FEATURE_* */
    uint8_t up_ip_resources_length;
    struct pfcp_up_ip_resource up_ip_resources[PFCP_MAX_UP_IP_RESOURCES];
};

struct pfcp_association_setup_response {
    struct pfcp_node_id node_id;
    uint8_t cause;
    bool has_offending_ie;
    uint16_t offending_ie;
    uint32_t recovery_time_stamp;
    bool has_up_features;
    uint64_t up_features;
    bool has_cp_features;
    uint64_t cp_features;
    uint8_t up_ip_resources_length;
    struct pfcp_up_ip_resource up_ip_resources[PFCP_MAX_UP_IP_RESOURCES];
};

struct pfcp_association_update_request {
    struct pfcp_node_id node_id;
    bool has_up_features;
    uint64_t up_features;
    bool has_cp_features;
    uint64_t cp_features;
    bool has_release_request;
    uint8_t release_request;             /* PFCP_RELEASE_* */
    bool has_graceful_release_period;
    uint8_t graceful_release_period;     /* Timer IE octet (8.2.35) */
    uint8_t up_ip_resources_length;
    struct pfcp_up_ip_resource up_ip_resources[PFCP_MAX_UP_IP_RESOURCES];
};

struct pfcp_association_update_response {
    struct pfcp_node_id node_id;
    uint8_t cause;
    bool has_offending_ie;
    uint16_t offending_ie;
    bool has_up_features;
    uint64_t up_features;
    bool has_cp_features;
    uint64_t cp_features;
};

struct pfcp_association_release_request {
    struct pfcp_node_id node_id;
};

struct pfcp_association_release_response {
    struct pfcp_node_id node_id;
    uint8_t cause;
    bool has_offending_ie;
    uint16_t offending_ie;
};

struct pfcp_node_report_request {
    struct pfcp_node_id node_id;
    uint8_t node_report_type;            /* PFCP_NODE_REPORT_* */
    bool has_path_failure_report;        /* User Plane Path Failure Report */
    uint8_t remote_peers_length;         /* >= 1 when has_path_failure... */
    struct pfcp_remote_peer remote_peers[PFCP_MAX_REMOTE_PEERS];
};

struct pfcp_node_report_response {
    struct pfcp_node_id node_id;
    uint8_t cause;
    bool has_offending_ie;
    uint16_t offending_ie;
};

struct pfcp_establishment_request {
    struct pfcp_node_id node_id;
    struct pfcp_fseid cp_fseid;
    uint8_t create_pdrs_length;          /* >= 1 */
    struct pfcp_pdr create_pdrs[PFCP_MAX_PDRS];
    uint8_t create_fars_length;          /* >= 1 */
    struct pfcp_far create_fars[PFCP_MAX_FARS];
    uint8_t create_urrs_length;
    struct pfcp_urr create_urrs[PFCP_MAX_URRS];
    uint8_t create_qers_length;
    struct pfcp_qer create_qers[PFCP_MAX_QERS];
    bool has_pdn_type;
    uint8_t pdn_type;                    /* 1 IPv4, 2 IPv6, 3 IPv4v6, ... */
};

struct pfcp_establishment_response {
    struct pfcp_node_id node_id;
    uint8_t cause;
    bool has_offending_ie;
    uint16_t offending_ie;
    bool has_up_fseid;
    struct pfcp_fseid up_fseid;
    uint8_t created_pdrs_length;
    struct pfcp_created_pdr created_pdrs[PFCP_MAX_PDRS];
    bool has_failed_rule_id;
    struct pfcp_failed_rule_id failed_rule_id;
};

struct pfcp_modification_request {
    bool has_cp_fseid;
    struct pfcp_fseid cp_fseid;
    uint8_t remove_pdrs_length;
    uint16_t remove_pdrs[PFCP_MAX_PDRS];     /* PDR IDs */
    uint8_t remove_fars_length;
    uint32_t remove_fars[PFCP_MAX_FARS];     /* FAR IDs */
    uint8_t remove_urrs_length;
    uint32_t remove_urrs[PFCP_MAX_URRS];
    uint8_t remove_qers_length;
    uint32_t remove_qers[PFCP_MAX_QERS];
    uint8_t create_pdrs_length;
    struct pfcp_pdr create_pdrs[PFCP_MAX_PDRS];
    uint8_t create_fars_length;
    struct pfcp_far create_fars[PFCP_MAX_FARS];
    uint8_t create_urrs_length;
    struct pfcp_urr create_urrs[PFCP_MAX_URRS];
    uint8_t create_qers_length;
    struct pfcp_qer create_qers[PFCP_MAX_QERS];
    uint8_t update_pdrs_length;
    struct pfcp_pdr update_pdrs[PFCP_MAX_PDRS];
    uint8_t update_fars_length;
    struct pfcp_far update_fars[PFCP_MAX_FARS];
    uint8_t update_urrs_length;
    struct pfcp_urr update_urrs[PFCP_MAX_URRS];
    uint8_t update_qers_length;
    struct pfcp_qer update_qers[PFCP_MAX_QERS];
    bool has_smreq_flags;
    uint8_t smreq_flags;                     /* PFCP_SMREQ_* */
    uint8_t query_urrs_length;
    uint32_t query_urrs[PFCP_MAX_URRS];      /* URR IDs */
};

struct pfcp_modification_response {
    uint8_t cause;
    bool has_offending_ie;
    uint16_t offending_ie;
    uint8_t created_pdrs_length;
    struct pfcp_created_pdr created_pdrs[PFCP_MAX_PDRS];
    uint8_t usage_reports_length;
    struct pfcp_usage_report usage_reports[PFCP_MAX_USAGE_REPORTS];
    bool has_failed_rule_id;
    struct pfcp_failed_rule_id failed_rule_id;
};

struct pfcp_deletion_response {
    uint8_t cause;
    bool has_offending_ie;
    uint16_t offending_ie;
    uint8_t usage_reports_length;
    struct pfcp_usage_report usage_reports[PFCP_MAX_USAGE_REPORTS];
};

struct pfcp_report_request {
    uint8_t report_type;                     /* PFCP_REPORT_* */
    bool has_downlink_data_report;
    uint8_t downlink_pdrs_length;            /* >= 1 when has_downlink... */
    uint16_t downlink_pdrs[PFCP_MAX_PDRS];   /* PDR IDs */
    uint8_t usage_reports_length;
    struct pfcp_usage_report usage_reports[PFCP_MAX_USAGE_REPORTS];
    bool has_error_indication_report;
    uint8_t remote_fteids_length;            /* >= 1 when has_error... */
    struct pfcp_fteid remote_fteids[PFCP_MAX_REMOTE_FTEIDS];
};

struct pfcp_report_response {
    uint8_t cause;
    bool has_offending_ie;
    uint16_t offending_ie;
    bool has_srrsp_flags;
    uint8_t srrsp_flags;                     /* PFCP_SRRSP_* */
};

/* One PFCP message: the header and the body its type selects. Heartbeat,
 * Version Not Supported Response and Session Deletion Request bodies are
 * empty or trivial. About 47 KiB: allocate it (or keep one per thread),
 * do not put it on a small stack. */
struct pfcp_msg {
    struct pfcp_header header;
    union {
        struct pfcp_heartbeat heartbeat_request;
        struct pfcp_heartbeat heartbeat_response;
        struct pfcp_association_setup_request association_setup_request;
        struct pfcp_association_setup_response association_setup_response;
        struct pfcp_association_update_request association_update_request;
        struct pfcp_association_update_response association_update_response;
        struct pfcp_association_release_request association_release_request;
        struct pfcp_association_release_response
            association_release_response;
        struct pfcp_node_report_request node_report_request;
        struct pfcp_node_report_response node_report_response;
        struct pfcp_establishment_request establishment_request;
        struct pfcp_establishment_response establishment_response;
        struct pfcp_modification_request modification_request;
        struct pfcp_modification_response modification_response;
        struct pfcp_deletion_response deletion_response;
        struct pfcp_report_request report_request;
        struct pfcp_report_response report_response;
    };
};

/* Why pfcp_decode() failed, for the reply and the logs/metrics. */
struct pfcp_decode_error {
    bool has_header;          /* the header was read: a reply (for a
                               * request) may use 'header' (type, SEID,
                               * sequence); false: silently discard */
    struct pfcp_header header;
    uint8_t cause;            /* enum pfcp_cause to answer with */
    uint16_t offending_ie;    /* IE type for the Offending IE, 0 if none */
    char text[PFCP_ERROR_TEXT_SIZE];  /* short, printable ASCII */
};

/* Reads the header at the start of 'buf' (of 'size' bytes) into '*header'
 * without looking at the IEs: for a retransmission check before the full
 * decode, or to split bundled messages (each is header->length + 4
 * bytes). Checks only what the header needs: size >= the header size the
 * S flag gives, version 1, length field >= the rest of the header (the
 * message may be shorter or longer than 'size').
 * Returns 0, -EBADMSG (too short or inconsistent) or -EPROTONOSUPPORT
 * (version != 1; '*header' is still written, for the Version Not
 * Supported Response). '*header' is written on 0 and -EPROTONOSUPPORT. */
int pfcp_decode_header(const uint8_t *buf, size_t size,
                       struct pfcp_header *header);

/* Decodes the one PFCP message that fills 'buf' ('size' bytes) into
 * '*msg'. 'err' may be NULL; when not NULL it is written on failure
 * (and zeroed on success).
 * Returns 0 on success. On failure '*msg' is zeroed (never left half
 * decoded) and:
 *   -EBADMSG         malformed. With has_header false, discard: the
 *                    header is truncated or inconsistent (cause 68), or
 *                    the S flag does not fit a known message type (cause
 *                    64). With has_header true, answer a request with
 *                    err->cause: 68 invalid length (message length against
 *                    the datagram, offending_ie 0; or an IE overrunning
 *                    its message or grouped IE, offending_ie = its type),
 *                    69 mandatory IE incorrect or 66 mandatory IE missing
 *                    (offending_ie = the IE type).
 *   -EPROTONOSUPPORT version != 1: answer Version Not Supported (header
 *                    in err->header; cause 0).
 *   -EOPNOTSUPP      a message type the codec does not decode (TS:
 *                    silently discard); has_header true, cause 76.
 *   -E2BIG           more rules/entries or longer strings than the
 *                    PFCP_MAX_* / *_SIZE capacities: cause 75 no resources
 *                    available, offending_ie set, has_header true.
 * Never reads outside 'buf'; no allocation. */
int pfcp_decode(const uint8_t *buf, size_t size, struct pfcp_msg *msg,
                struct pfcp_decode_error *err);

/* Encodes '*msg' into 'buf' (of 'size' bytes) and stores the number of
 * bytes written in '*msg_size'. The header's version, S flag (from the
 * type), FO and length are derived; IEs are written in the order of the
 * structs above. Values are checked as far as the wire needs it (a
 * mandatory 'has_' IE unset, an array over its capacity or a mandatory
 * array empty, a Node ID type or name size out of range, a 40-bit bit
 * rate overflowing).
 * Returns 0, -ENOSPC (buffer too small; '*msg_size' unchanged, 'buf'
 * contents unspecified), -EINVAL (invalid 'msg', unknown type) or
 * -EMSGSIZE (the message or an IE exceeds the 16-bit length fields). */
int pfcp_encode(const struct pfcp_msg *msg, uint8_t *buf, size_t size,
                size_t *msg_size);

/* Zeroes '*msg' and sets its header: type, SEID (used for session message
 * types only) and sequence number (24 bits). */
void pfcp_msg_init(struct pfcp_msg *msg, uint8_t type, uint64_t seid,
                   uint32_t sequence);

/* True for the request types (odd numbers in both ranges, see table 7.3-1)
 * the codec knows; false for responses and unknown types. */
bool pfcp_msg_type_is_request(uint8_t type);

/* True for session message types (50-99), which carry a SEID (S = 1). */
bool pfcp_msg_type_is_session(uint8_t type);

/* Names for logs and metric labels: static strings, never NULL
 * ("unknown" for values the codec does not name). Names are snake_case
 * for message types ("session_establishment_request") and the TS wording
 * for causes ("Mandatory IE missing") and IE types ("Create PDR"). */
const char *pfcp_msg_type_name(uint8_t type);
const char *pfcp_cause_name(uint8_t cause);
const char *pfcp_ie_type_name(uint16_t type);

/* Encodes a dotted name ("internet", "upf.example.org") into DNS label
 * format in '*name' (each label at most 63 octets, no empty label, no
 * final zero). Returns 0 or -EINVAL (bad label) or -E2BIG (does not fit
 * PFCP_NAME_SIZE); '*name' written on success only. */
int pfcp_name_from_string(struct pfcp_name *name, const char *text);

/* Writes '*name' as text into 'buf' ('size' bytes, NUL-terminated): DNS
 * labels are joined with dots; a name that is not valid label format is
 * copied as is (Network Instance may be plain text), with octets outside
 * printable ASCII as '?'. Returns 0 or -ENOSPC (truncated; 'buf' then
 * holds the truncated text). */
int pfcp_name_to_string(const struct pfcp_name *name, char *buf,
                        size_t size);

/* True when 'a' and 'b' identify the same node: same type and same
 * address or FQDN octets (FQDNs compare case-insensitively). */
bool pfcp_node_id_equal(const struct pfcp_node_id *a,
                        const struct pfcp_node_id *b);

/* Writes the Node ID as text ("192.0.2.1", "2001:db8::1",
 * "smf.example.org") into 'buf'. Returns 0, -ENOSPC (truncated) or
 * -EINVAL (unknown type). */
int pfcp_node_id_to_string(const struct pfcp_node_id *node_id, char *buf,
                           size_t size);

#endif /* VIGIL_PFCP_H */
