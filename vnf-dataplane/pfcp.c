/* pfcp: PFCP message codec (TS 29.244), see pfcp.h.
 *
 * One schema drives both directions. Each message body and each grouped
 * IE is a struct pfcp_group: a table of members, each naming an IE type,
 * where its value lives in the C struct (offset, 'has_' flag or array
 * count) and either a leaf codec (pfcp_ie.c: the octets of one IE) or
 * the group it contains. pfcp_decode() walks the TLVs of a group and
 * dispatches on the table; pfcp_encode() walks the table and writes the
 * TLVs in table order. Leaf codecs check every length against what the
 * IE's flags require before reading, and the writer never stores past its
 * buffer: it keeps counting so that a short buffer is reported as
 * -ENOSPC. The rest is names for logs and the Node ID / name helpers. */
#include "pfcp.h"
#include "pfcp_ie.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define NONE SIZE_MAX
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MEMBER_COUNT(T, f) (sizeof(((T *) 0)->f) / sizeof(((T *) 0)->f[0]))
#define MEMBER_STRIDE(T, f) sizeof(((T *) 0)->f[0])

/* ---- Schema ---- */

struct pfcp_group;

struct pfcp_member {
    uint16_t type;              /* IE type */
    bool mandatory;
    bool array;
    uint8_t min;                /* arrays: fewest entries when mandatory */
    uint8_t max;                /* arrays: capacity */
    size_t offset;              /* the value, or the first array entry */
    size_t has;                 /* offset of the bool 'has_', or NONE */
    size_t count;               /* arrays: offset of the uint8_t count */
    size_t stride;              /* arrays: entry size */
    const struct pfcp_ie_codec *leaf;  /* a leaf IE, or */
    const struct pfcp_group *group;    /* a grouped IE */
};

struct pfcp_group {
    const struct pfcp_member *members;
    size_t length;
};

/* decode_group() tracks the members it has seen in a uint32_t. */
#define GROUP(name, table) \
    _Static_assert(ARRAY_SIZE(table) <= 32, #table " too long"); \
    static const struct pfcp_group name = {table, ARRAY_SIZE(table)}

/* One member, single or repeated; the trailing argument is the
 * designated initializer of its leaf codec or group. */
#define MEMBER(T, ie, f, mand, hasoff, ...) \
    {.type = (ie), .mandatory = (mand), .offset = offsetof(T, f), \
     .has = (hasoff), __VA_ARGS__}
#define ARRAY_MEMBER(T, ie, f, mn, ...) \
    {.type = (ie), .array = true, .mandatory = (mn) > 0, .min = (mn), \
     .max = MEMBER_COUNT(T, f), .offset = offsetof(T, f), \
     .has = NONE, .count = offsetof(T, f##_length), \
     .stride = MEMBER_STRIDE(T, f), __VA_ARGS__}

/* Mandatory, no 'has_' flag. */
#define M(T, ie, f, lf) MEMBER(T, ie, f, true, NONE, .leaf = &(lf))
/* Mandatory here, but with a 'has_' flag (optional elsewhere). */
#define MH(T, ie, f, lf) \
    MEMBER(T, ie, f, true, offsetof(T, has_##f), .leaf = &(lf))
/* Optional or conditional. */
#define O(T, ie, f, lf) \
    MEMBER(T, ie, f, false, offsetof(T, has_##f), .leaf = &(lf))
/* Repeated leaf IE. */
#define A(T, ie, f, lf, mn) ARRAY_MEMBER(T, ie, f, mn, .leaf = &(lf))
/* Grouped IE variants of the above. */
#define GMH(T, ie, f, g) \
    MEMBER(T, ie, f, true, offsetof(T, has_##f), .group = &(g))
#define GO(T, ie, f, g) \
    MEMBER(T, ie, f, false, offsetof(T, has_##f), .group = &(g))
#define GA(T, ie, f, g, mn) ARRAY_MEMBER(T, ie, f, mn, .group = &(g))
/* A grouped IE whose members are flattened into the enclosing struct:
 * its table uses the enclosing struct's offsets. */
#define GFLAT(T, ie, hasf, g) \
    {.type = (ie), .offset = 0, .has = offsetof(T, hasf), .group = &(g)}
/* A grouped IE that only wraps one ID (Remove PDR, Query URR, ...):
 * entries are the bare IDs. */
#define ID_GROUP(name, ie, lf) \
    static const struct pfcp_member name##_members[] = { \
        {.type = (ie), .mandatory = true, .offset = 0, .has = NONE, \
         .leaf = &(lf)}}; \
    GROUP(name, name##_members)

/* Runs of members that several tables share, in their encoding order. A
 * 'KIND' argument is M, MH or O: how the table takes that member. */
#define CAUSE_MEMBERS(T) \
    M(T, PFCP_IE_CAUSE, cause, pfcp_ie_u8), \
    O(T, PFCP_IE_OFFENDING_IE, offending_ie, pfcp_ie_u16)
#define NODE_RESPONSE_MEMBERS(T) \
    M(T, PFCP_IE_NODE_ID, node_id, pfcp_ie_node_id), \
    CAUSE_MEMBERS(T)
#define FEATURES_MEMBERS(T) \
    O(T, PFCP_IE_UP_FUNCTION_FEATURES, up_features, pfcp_ie_up_features), \
    O(T, PFCP_IE_CP_FUNCTION_FEATURES, cp_features, pfcp_ie_cp_features)
#define UP_IP_MEMBER(T) \
    A(T, PFCP_IE_UP_IP_RESOURCE_INFORMATION, up_ip_resources, pfcp_ie_up_ip, \
      0)
#define SETUP_MEMBERS(T) \
    M(T, PFCP_IE_RECOVERY_TIME_STAMP, recovery_time_stamp, pfcp_ie_u32), \
    FEATURES_MEMBERS(T), \
    UP_IP_MEMBER(T)
#define CREATE_RULE_MEMBERS(T, mn) \
    GA(T, PFCP_IE_CREATE_PDR, create_pdrs, g_create_pdr, mn), \
    GA(T, PFCP_IE_CREATE_FAR, create_fars, g_create_far, mn), \
    GA(T, PFCP_IE_CREATE_URR, create_urrs, g_create_urr, 0), \
    GA(T, PFCP_IE_CREATE_QER, create_qers, g_create_qer, 0)

ID_GROUP(g_remove_pdr, PFCP_IE_PDR_ID, pfcp_ie_u16);
ID_GROUP(g_remove_far, PFCP_IE_FAR_ID, pfcp_ie_u32);
ID_GROUP(g_remove_urr, PFCP_IE_URR_ID, pfcp_ie_u32);
ID_GROUP(g_remove_qer, PFCP_IE_QER_ID, pfcp_ie_u32);

#define T struct pfcp_pdi
static const struct pfcp_member pdi_members[] = {
    M(T, PFCP_IE_SOURCE_INTERFACE, source_interface, pfcp_ie_u8_4bits),
    O(T, PFCP_IE_FTEID, local_fteid, pfcp_ie_fteid),
    O(T, PFCP_IE_NETWORK_INSTANCE, network_instance, pfcp_ie_name),
    O(T, PFCP_IE_UE_IP_ADDRESS, ue_ip, pfcp_ie_ue_ip),
    A(T, PFCP_IE_SDF_FILTER, sdf_filters, pfcp_ie_sdf, 0),
    O(T, PFCP_IE_QFI, qfi, pfcp_ie_u8_6bits),
    O(T, PFCP_IE_INTERFACE_TYPE, source_interface_type, pfcp_ie_u8_6bits),
};
#undef T
GROUP(g_pdi, pdi_members);

#define T struct pfcp_pdr
#define PDR_TAIL_MEMBERS \
    O(T, PFCP_IE_FAR_ID, far_id, pfcp_ie_u32), \
    A(T, PFCP_IE_URR_ID, urr_ids, pfcp_ie_u32, 0), \
    A(T, PFCP_IE_QER_ID, qer_ids, pfcp_ie_u32, 0)
static const struct pfcp_member create_pdr_members[] = {
    M(T, PFCP_IE_PDR_ID, pdr_id, pfcp_ie_u16),
    MH(T, PFCP_IE_PRECEDENCE, precedence, pfcp_ie_u32),
    GMH(T, PFCP_IE_PDI, pdi, g_pdi),
    O(T, PFCP_IE_OUTER_HEADER_REMOVAL, outer_header_removal, pfcp_ie_ohr),
    PDR_TAIL_MEMBERS,
};
static const struct pfcp_member update_pdr_members[] = {
    M(T, PFCP_IE_PDR_ID, pdr_id, pfcp_ie_u16),
    O(T, PFCP_IE_OUTER_HEADER_REMOVAL, outer_header_removal, pfcp_ie_ohr),
    O(T, PFCP_IE_PRECEDENCE, precedence, pfcp_ie_u32),
    GO(T, PFCP_IE_PDI, pdi, g_pdi),
    PDR_TAIL_MEMBERS,
};
#undef PDR_TAIL_MEMBERS
#undef T
GROUP(g_create_pdr, create_pdr_members);
GROUP(g_update_pdr, update_pdr_members);

#define T struct pfcp_forwarding
#define FORWARDING_MEMBERS(KIND) \
    KIND(T, PFCP_IE_DESTINATION_INTERFACE, destination_interface, \
         pfcp_ie_u8_4bits), \
    O(T, PFCP_IE_NETWORK_INSTANCE, network_instance, pfcp_ie_name), \
    O(T, PFCP_IE_OUTER_HEADER_CREATION, outer_header_creation, pfcp_ie_ohc), \
    O(T, PFCP_IE_TRANSPORT_LEVEL_MARKING, transport_level_marking, \
      pfcp_ie_u16)
#define INTERFACE_TYPE_MEMBER \
    O(T, PFCP_IE_INTERFACE_TYPE, destination_interface_type, pfcp_ie_u8_6bits)
static const struct pfcp_member forwarding_members[] = {
    FORWARDING_MEMBERS(MH),
    INTERFACE_TYPE_MEMBER,
};
static const struct pfcp_member update_forwarding_members[] = {
    FORWARDING_MEMBERS(O),
    O(T, PFCP_IE_PFCPSMREQ_FLAGS, smreq_flags, pfcp_ie_u8),
    INTERFACE_TYPE_MEMBER,
};
#undef INTERFACE_TYPE_MEMBER
#undef FORWARDING_MEMBERS
#undef T
GROUP(g_forwarding, forwarding_members);
GROUP(g_update_forwarding, update_forwarding_members);

#define T struct pfcp_far
static const struct pfcp_member create_far_members[] = {
    M(T, PFCP_IE_FAR_ID, far_id, pfcp_ie_u32),
    MH(T, PFCP_IE_APPLY_ACTION, apply_action, pfcp_ie_apply_action),
    GO(T, PFCP_IE_FORWARDING_PARAMETERS, forwarding, g_forwarding),
};
static const struct pfcp_member update_far_members[] = {
    M(T, PFCP_IE_FAR_ID, far_id, pfcp_ie_u32),
    O(T, PFCP_IE_APPLY_ACTION, apply_action, pfcp_ie_apply_action),
    GO(T, PFCP_IE_UPDATE_FORWARDING_PARAMETERS, forwarding,
       g_update_forwarding),
};
#undef T
GROUP(g_create_far, create_far_members);
GROUP(g_update_far, update_far_members);

#define T struct pfcp_qer
#define QER_MEMBERS(KIND) \
    M(T, PFCP_IE_QER_ID, qer_id, pfcp_ie_u32), \
    O(T, PFCP_IE_QER_CORRELATION_ID, qer_correlation_id, pfcp_ie_u32), \
    KIND(T, PFCP_IE_GATE_STATUS, gate_status, pfcp_ie_gate), \
    O(T, PFCP_IE_MBR, mbr, pfcp_ie_bitrate), \
    O(T, PFCP_IE_GBR, gbr, pfcp_ie_bitrate), \
    O(T, PFCP_IE_QFI, qfi, pfcp_ie_u8_6bits), \
    O(T, PFCP_IE_RQI, rqi, pfcp_ie_u8)
static const struct pfcp_member create_qer_members[] = {QER_MEMBERS(MH)};
static const struct pfcp_member update_qer_members[] = {QER_MEMBERS(O)};
#undef QER_MEMBERS
#undef T
GROUP(g_create_qer, create_qer_members);
GROUP(g_update_qer, update_qer_members);

#define T struct pfcp_urr
#define URR_MEMBERS(KIND) \
    M(T, PFCP_IE_URR_ID, urr_id, pfcp_ie_u32), \
    KIND(T, PFCP_IE_MEASUREMENT_METHOD, measurement_method, pfcp_ie_u8), \
    KIND(T, PFCP_IE_REPORTING_TRIGGERS, reporting_triggers, \
         pfcp_ie_triggers), \
    O(T, PFCP_IE_MEASUREMENT_PERIOD, measurement_period, pfcp_ie_u32), \
    O(T, PFCP_IE_VOLUME_THRESHOLD, volume_threshold, pfcp_ie_volume), \
    O(T, PFCP_IE_VOLUME_QUOTA, volume_quota, pfcp_ie_volume), \
    O(T, PFCP_IE_TIME_THRESHOLD, time_threshold, pfcp_ie_u32), \
    O(T, PFCP_IE_TIME_QUOTA, time_quota, pfcp_ie_u32), \
    O(T, PFCP_IE_QUOTA_HOLDING_TIME, quota_holding_time, pfcp_ie_u32), \
    O(T, PFCP_IE_MEASUREMENT_INFORMATION, measurement_information, pfcp_ie_u8)
static const struct pfcp_member create_urr_members[] = {URR_MEMBERS(MH)};
static const struct pfcp_member update_urr_members[] = {URR_MEMBERS(O)};
#undef URR_MEMBERS
#undef T
GROUP(g_create_urr, create_urr_members);
GROUP(g_update_urr, update_urr_members);

#define T struct pfcp_created_pdr
static const struct pfcp_member created_pdr_members[] = {
    M(T, PFCP_IE_PDR_ID, pdr_id, pfcp_ie_u16),
    O(T, PFCP_IE_FTEID, local_fteid, pfcp_ie_fteid),
    O(T, PFCP_IE_UE_IP_ADDRESS, ue_ip, pfcp_ie_ue_ip),
};
#undef T
GROUP(g_created_pdr, created_pdr_members);

#define T struct pfcp_usage_report
static const struct pfcp_member usage_report_members[] = {
    M(T, PFCP_IE_URR_ID, urr_id, pfcp_ie_u32),
    M(T, PFCP_IE_UR_SEQN, ur_seqn, pfcp_ie_u32),
    M(T, PFCP_IE_USAGE_REPORT_TRIGGER, trigger, pfcp_ie_triggers),
    O(T, PFCP_IE_START_TIME, start_time, pfcp_ie_u32),
    O(T, PFCP_IE_END_TIME, end_time, pfcp_ie_u32),
    O(T, PFCP_IE_VOLUME_MEASUREMENT, volume_measurement,
      pfcp_ie_volume_measurement),
    O(T, PFCP_IE_DURATION_MEASUREMENT, duration_measurement, pfcp_ie_u32),
    O(T, PFCP_IE_TIME_OF_FIRST_PACKET, time_of_first_packet, pfcp_ie_u32),
    O(T, PFCP_IE_TIME_OF_LAST_PACKET, time_of_last_packet, pfcp_ie_u32),
    O(T, PFCP_IE_USAGE_INFORMATION, usage_information, pfcp_ie_u8),
};
#undef T
GROUP(g_usage_report, usage_report_members);

/* Message bodies. */
#define T struct pfcp_heartbeat
static const struct pfcp_member heartbeat_members[] = {
    M(T, PFCP_IE_RECOVERY_TIME_STAMP, recovery_time_stamp, pfcp_ie_u32),
};
#undef T
GROUP(g_heartbeat, heartbeat_members);

#define T struct pfcp_association_setup_request
static const struct pfcp_member assoc_setup_request_members[] = {
    M(T, PFCP_IE_NODE_ID, node_id, pfcp_ie_node_id),
    SETUP_MEMBERS(T),
};
#undef T
GROUP(g_assoc_setup_request, assoc_setup_request_members);

#define T struct pfcp_association_setup_response
static const struct pfcp_member assoc_setup_response_members[] = {
    NODE_RESPONSE_MEMBERS(T),
    SETUP_MEMBERS(T),
};
#undef T
GROUP(g_assoc_setup_response, assoc_setup_response_members);

#define T struct pfcp_association_update_request
static const struct pfcp_member assoc_update_request_members[] = {
    M(T, PFCP_IE_NODE_ID, node_id, pfcp_ie_node_id),
    FEATURES_MEMBERS(T),
    O(T, PFCP_IE_ASSOCIATION_RELEASE_REQUEST, release_request, pfcp_ie_u8),
    O(T, PFCP_IE_GRACEFUL_RELEASE_PERIOD, graceful_release_period, pfcp_ie_u8),
    UP_IP_MEMBER(T),
};
#undef T
GROUP(g_assoc_update_request, assoc_update_request_members);

#define T struct pfcp_association_update_response
static const struct pfcp_member assoc_update_response_members[] = {
    NODE_RESPONSE_MEMBERS(T),
    FEATURES_MEMBERS(T),
};
#undef T
GROUP(g_assoc_update_response, assoc_update_response_members);

#define T struct pfcp_association_release_request
static const struct pfcp_member assoc_release_request_members[] = {
    M(T, PFCP_IE_NODE_ID, node_id, pfcp_ie_node_id),
};
#undef T
GROUP(g_assoc_release_request, assoc_release_request_members);

#define T struct pfcp_association_release_response
static const struct pfcp_member assoc_release_response_members[] = {
    NODE_RESPONSE_MEMBERS(T),
};
#undef T
GROUP(g_assoc_release_response, assoc_release_response_members);

#define T struct pfcp_node_report_request
static const struct pfcp_member path_failure_members[] = {
    A(T, PFCP_IE_REMOTE_GTPU_PEER, remote_peers, pfcp_ie_remote_peer, 1),
};
GROUP(g_path_failure, path_failure_members);
static const struct pfcp_member node_report_request_members[] = {
    M(T, PFCP_IE_NODE_ID, node_id, pfcp_ie_node_id),
    M(T, PFCP_IE_NODE_REPORT_TYPE, node_report_type, pfcp_ie_u8),
    GFLAT(T, PFCP_IE_USER_PLANE_PATH_FAILURE_REPORT, has_path_failure_report,
          g_path_failure),
};
#undef T
GROUP(g_node_report_request, node_report_request_members);

#define T struct pfcp_node_report_response
static const struct pfcp_member node_report_response_members[] = {
    NODE_RESPONSE_MEMBERS(T),
};
#undef T
GROUP(g_node_report_response, node_report_response_members);

#define T struct pfcp_establishment_request
static const struct pfcp_member establishment_request_members[] = {
    M(T, PFCP_IE_NODE_ID, node_id, pfcp_ie_node_id),
    M(T, PFCP_IE_FSEID, cp_fseid, pfcp_ie_fseid),
    CREATE_RULE_MEMBERS(T, 1),
    O(T, PFCP_IE_PDN_TYPE, pdn_type, pfcp_ie_u8_3bits),
};
#undef T
GROUP(g_establishment_request, establishment_request_members);

#define T struct pfcp_establishment_response
static const struct pfcp_member establishment_response_members[] = {
    NODE_RESPONSE_MEMBERS(T),
    O(T, PFCP_IE_FSEID, up_fseid, pfcp_ie_fseid),
    GA(T, PFCP_IE_CREATED_PDR, created_pdrs, g_created_pdr, 0),
    O(T, PFCP_IE_FAILED_RULE_ID, failed_rule_id, pfcp_ie_failed_rule),
};
#undef T
GROUP(g_establishment_response, establishment_response_members);

#define T struct pfcp_modification_request
static const struct pfcp_member modification_request_members[] = {
    O(T, PFCP_IE_FSEID, cp_fseid, pfcp_ie_fseid),
    GA(T, PFCP_IE_REMOVE_PDR, remove_pdrs, g_remove_pdr, 0),
    GA(T, PFCP_IE_REMOVE_FAR, remove_fars, g_remove_far, 0),
    GA(T, PFCP_IE_REMOVE_URR, remove_urrs, g_remove_urr, 0),
    GA(T, PFCP_IE_REMOVE_QER, remove_qers, g_remove_qer, 0),
    CREATE_RULE_MEMBERS(T, 0),
    GA(T, PFCP_IE_UPDATE_PDR, update_pdrs, g_update_pdr, 0),
    GA(T, PFCP_IE_UPDATE_FAR, update_fars, g_update_far, 0),
    GA(T, PFCP_IE_UPDATE_URR, update_urrs, g_update_urr, 0),
    GA(T, PFCP_IE_UPDATE_QER, update_qers, g_update_qer, 0),
    O(T, PFCP_IE_PFCPSMREQ_FLAGS, smreq_flags, pfcp_ie_u8),
    GA(T, PFCP_IE_QUERY_URR, query_urrs, g_remove_urr, 0),
};
#undef T
GROUP(g_modification_request, modification_request_members);

#define T struct pfcp_modification_response
static const struct pfcp_member modification_response_members[] = {
    CAUSE_MEMBERS(T),
    GA(T, PFCP_IE_CREATED_PDR, created_pdrs, g_created_pdr, 0),
    GA(T, PFCP_IE_USAGE_REPORT_SMR, usage_reports, g_usage_report, 0),
    O(T, PFCP_IE_FAILED_RULE_ID, failed_rule_id, pfcp_ie_failed_rule),
};
#undef T
GROUP(g_modification_response, modification_response_members);

#define T struct pfcp_deletion_response
static const struct pfcp_member deletion_response_members[] = {
    CAUSE_MEMBERS(T),
    GA(T, PFCP_IE_USAGE_REPORT_SDR, usage_reports, g_usage_report, 0),
};
#undef T
GROUP(g_deletion_response, deletion_response_members);

#define T struct pfcp_report_request
static const struct pfcp_member downlink_data_report_members[] = {
    A(T, PFCP_IE_PDR_ID, downlink_pdrs, pfcp_ie_u16, 1),
};
GROUP(g_downlink_data_report, downlink_data_report_members);
static const struct pfcp_member error_indication_report_members[] = {
    A(T, PFCP_IE_FTEID, remote_fteids, pfcp_ie_fteid, 1),
};
GROUP(g_error_indication_report, error_indication_report_members);
static const struct pfcp_member report_request_members[] = {
    M(T, PFCP_IE_REPORT_TYPE, report_type, pfcp_ie_u8),
    GFLAT(T, PFCP_IE_DOWNLINK_DATA_REPORT, has_downlink_data_report,
          g_downlink_data_report),
    GA(T, PFCP_IE_USAGE_REPORT_SRR, usage_reports, g_usage_report, 0),
    GFLAT(T, PFCP_IE_ERROR_INDICATION_REPORT, has_error_indication_report,
          g_error_indication_report),
};
#undef T
GROUP(g_report_request, report_request_members);

#define T struct pfcp_report_response
static const struct pfcp_member report_response_members[] = {
    CAUSE_MEMBERS(T),
    O(T, PFCP_IE_PFCPSRRSP_FLAGS, srrsp_flags, pfcp_ie_u8),
};
#undef T
GROUP(g_report_response, report_response_members);

static const struct pfcp_group g_empty = {NULL, 0};

struct pfcp_message_schema {
    const char *name;
    const struct pfcp_group *body;   /* NULL: not decoded */
    bool request;
};

static const struct pfcp_message_schema messages[PFCP_MSG_TYPE_COUNT] = {
    [PFCP_MSG_HEARTBEAT_REQUEST] = {"heartbeat_request", &g_heartbeat, true},
    [PFCP_MSG_HEARTBEAT_RESPONSE] = {"heartbeat_response", &g_heartbeat,
                                     false},
    [PFCP_MSG_PFD_MANAGEMENT_REQUEST] = {"pfd_management_request", NULL,
                                         true},
    [PFCP_MSG_PFD_MANAGEMENT_RESPONSE] = {"pfd_management_response", NULL,
                                          false},
    [PFCP_MSG_ASSOCIATION_SETUP_REQUEST] = {"association_setup_request",
                                            &g_assoc_setup_request, true},
    [PFCP_MSG_ASSOCIATION_SETUP_RESPONSE] = {"association_setup_response",
                                             &g_assoc_setup_response, false},
    [PFCP_MSG_ASSOCIATION_UPDATE_REQUEST] = {"association_update_request",
                                             &g_assoc_update_request, true},
    [PFCP_MSG_ASSOCIATION_UPDATE_RESPONSE] = {"association_update_response",
                                              &g_assoc_update_response,
                                              false},
    [PFCP_MSG_ASSOCIATION_RELEASE_REQUEST] = {"association_release_request",
                                              &g_assoc_release_request,
                                              true},
    [PFCP_MSG_ASSOCIATION_RELEASE_RESPONSE] = {
        "association_release_response", &g_assoc_release_response, false},
    [PFCP_MSG_VERSION_NOT_SUPPORTED_RESPONSE] = {
        "version_not_supported_response", &g_empty, false},
    [PFCP_MSG_NODE_REPORT_REQUEST] = {"node_report_request",
                                      &g_node_report_request, true},
    [PFCP_MSG_NODE_REPORT_RESPONSE] = {"node_report_response",
                                       &g_node_report_response, false},
    [PFCP_MSG_SESSION_SET_DELETION_REQUEST] = {
        "session_set_deletion_request", NULL, true},
    [PFCP_MSG_SESSION_SET_DELETION_RESPONSE] = {
        "session_set_deletion_response", NULL, false},
    [PFCP_MSG_SESSION_ESTABLISHMENT_REQUEST] = {
        "session_establishment_request", &g_establishment_request, true},
    [PFCP_MSG_SESSION_ESTABLISHMENT_RESPONSE] = {
        "session_establishment_response", &g_establishment_response, false},
    [PFCP_MSG_SESSION_MODIFICATION_REQUEST] = {
        "session_modification_request", &g_modification_request, true},
    [PFCP_MSG_SESSION_MODIFICATION_RESPONSE] = {
        "session_modification_response", &g_modification_response, false},
    [PFCP_MSG_SESSION_DELETION_REQUEST] = {"session_deletion_request",
                                           &g_empty, true},
    [PFCP_MSG_SESSION_DELETION_RESPONSE] = {"session_deletion_response",
                                            &g_deletion_response, false},
    [PFCP_MSG_SESSION_REPORT_REQUEST] = {"session_report_request",
                                         &g_report_request, true},
    [PFCP_MSG_SESSION_REPORT_RESPONSE] = {"session_report_response",
                                          &g_report_response, false},
};

/* ---- Names ---- */

struct pfcp_ie_name {
    uint16_t type;
    const char *name;
};

static const struct pfcp_ie_name ie_names[] = {
    {PFCP_IE_CREATE_PDR, "Create PDR"},
    {PFCP_IE_PDI, "PDI"},
    {PFCP_IE_CREATE_FAR, "Create FAR"},
    {PFCP_IE_FORWARDING_PARAMETERS, "Forwarding Parameters"},
    {PFCP_IE_CREATE_URR, "Create URR"},
    {PFCP_IE_CREATE_QER, "Create QER"},
    {PFCP_IE_CREATED_PDR, "Created PDR"},
    {PFCP_IE_UPDATE_PDR, "Update PDR"},
    {PFCP_IE_UPDATE_FAR, "Update FAR"},
    {PFCP_IE_UPDATE_FORWARDING_PARAMETERS, "Update Forwarding Parameters"},
    {PFCP_IE_UPDATE_URR, "Update URR"},
    {PFCP_IE_UPDATE_QER, "Update QER"},
    {PFCP_IE_REMOVE_PDR, "Remove PDR"},
    {PFCP_IE_REMOVE_FAR, "Remove FAR"},
    {PFCP_IE_REMOVE_URR, "Remove URR"},
    {PFCP_IE_REMOVE_QER, "Remove QER"},
    {PFCP_IE_CAUSE, "Cause"},
    {PFCP_IE_SOURCE_INTERFACE, "Source Interface"},
    {PFCP_IE_FTEID, "F-TEID"},
    {PFCP_IE_NETWORK_INSTANCE, "Network Instance"},
    {PFCP_IE_SDF_FILTER, "SDF Filter"},
    {PFCP_IE_GATE_STATUS, "Gate Status"},
    {PFCP_IE_MBR, "MBR"},
    {PFCP_IE_GBR, "GBR"},
    {PFCP_IE_QER_CORRELATION_ID, "QER Correlation ID"},
    {PFCP_IE_PRECEDENCE, "Precedence"},
    {PFCP_IE_TRANSPORT_LEVEL_MARKING, "Transport Level Marking"},
    {PFCP_IE_VOLUME_THRESHOLD, "Volume Threshold"},
    {PFCP_IE_TIME_THRESHOLD, "Time Threshold"},
    {PFCP_IE_REPORTING_TRIGGERS, "Reporting Triggers"},
    {PFCP_IE_REPORT_TYPE, "Report Type"},
    {PFCP_IE_OFFENDING_IE, "Offending IE"},
    {PFCP_IE_DESTINATION_INTERFACE, "Destination Interface"},
    {PFCP_IE_UP_FUNCTION_FEATURES, "UP Function Features"},
    {PFCP_IE_APPLY_ACTION, "Apply Action"},
    {PFCP_IE_PFCPSMREQ_FLAGS, "PFCPSMReq-Flags"},
    {PFCP_IE_PFCPSRRSP_FLAGS, "PFCPSRRsp-Flags"},
    {PFCP_IE_PDR_ID, "PDR ID"},
    {PFCP_IE_FSEID, "F-SEID"},
    {PFCP_IE_NODE_ID, "Node ID"},
    {PFCP_IE_MEASUREMENT_METHOD, "Measurement Method"},
    {PFCP_IE_USAGE_REPORT_TRIGGER, "Usage Report Trigger"},
    {PFCP_IE_MEASUREMENT_PERIOD, "Measurement Period"},
    {PFCP_IE_VOLUME_MEASUREMENT, "Volume Measurement"},
    {PFCP_IE_DURATION_MEASUREMENT, "Duration Measurement"},
    {PFCP_IE_TIME_OF_FIRST_PACKET, "Time of First Packet"},
    {PFCP_IE_TIME_OF_LAST_PACKET, "Time of Last Packet"},
    {PFCP_IE_QUOTA_HOLDING_TIME, "Quota Holding Time"},
    {PFCP_IE_VOLUME_QUOTA, "Volume Quota"},
    {PFCP_IE_TIME_QUOTA, "Time Quota"},
    {PFCP_IE_START_TIME, "Start Time"},
    {PFCP_IE_END_TIME, "End Time"},
    {PFCP_IE_QUERY_URR, "Query URR"},
    {PFCP_IE_USAGE_REPORT_SMR, "Usage Report (Session Modification "
                               "Response)"},
    {PFCP_IE_USAGE_REPORT_SDR, "Usage Report (Session Deletion Response)"},
    {PFCP_IE_USAGE_REPORT_SRR, "Usage Report (Session Report Request)"},
    {PFCP_IE_URR_ID, "URR ID"},
    {PFCP_IE_DOWNLINK_DATA_REPORT, "Downlink Data Report"},
    {PFCP_IE_OUTER_HEADER_CREATION, "Outer Header Creation"},
    {PFCP_IE_CP_FUNCTION_FEATURES, "CP Function Features"},
    {PFCP_IE_USAGE_INFORMATION, "Usage Information"},
    {PFCP_IE_UE_IP_ADDRESS, "UE IP Address"},
    {PFCP_IE_OUTER_HEADER_REMOVAL, "Outer Header Removal"},
    {PFCP_IE_RECOVERY_TIME_STAMP, "Recovery Time Stamp"},
    {PFCP_IE_ERROR_INDICATION_REPORT, "Error Indication Report"},
    {PFCP_IE_MEASUREMENT_INFORMATION, "Measurement Information"},
    {PFCP_IE_NODE_REPORT_TYPE, "Node Report Type"},
    {PFCP_IE_USER_PLANE_PATH_FAILURE_REPORT,
     "User Plane Path Failure Report"},
    {PFCP_IE_REMOTE_GTPU_PEER, "Remote GTP-U Peer"},
    {PFCP_IE_UR_SEQN, "UR-SEQN"},
    {PFCP_IE_FAR_ID, "FAR ID"},
    {PFCP_IE_QER_ID, "QER ID"},
    {PFCP_IE_ASSOCIATION_RELEASE_REQUEST, "PFCP Association Release "
                                          "Request"},
    {PFCP_IE_GRACEFUL_RELEASE_PERIOD, "Graceful Release Period"},
    {PFCP_IE_PDN_TYPE, "PDN Type"},
    {PFCP_IE_FAILED_RULE_ID, "Failed Rule ID"},
    {PFCP_IE_UP_IP_RESOURCE_INFORMATION, "User Plane IP Resource "
                                         "Information"},
    {PFCP_IE_RQI, "RQI"},
    {PFCP_IE_QFI, "QFI"},
    {PFCP_IE_INTERFACE_TYPE, "3GPP Interface Type"},
};

const char *
pfcp_ie_type_name(uint16_t type)
{
    for (size_t i = 0; i < ARRAY_SIZE(ie_names); i++) {
        if (ie_names[i].type == type) {
            return ie_names[i].name;
        }
    }
    return "unknown";
}

const char *
pfcp_msg_type_name(uint8_t type)
{
    return messages[type].name ? messages[type].name : "unknown";
}

const char *
pfcp_cause_name(uint8_t cause)
{
    static const char *const names[PFCP_CAUSE_COUNT] = {
        [PFCP_CAUSE_RESERVED] = "Reserved",
        [PFCP_CAUSE_REQUEST_ACCEPTED] = "Request accepted",
        [PFCP_CAUSE_MORE_USAGE_REPORT_TO_SEND] = "More Usage Report to send",
        [PFCP_CAUSE_REQUEST_PARTIALLY_ACCEPTED] = "Request partially "
                                                  "accepted",
        [PFCP_CAUSE_REQUEST_REJECTED] = "Request rejected",
        [PFCP_CAUSE_SESSION_CONTEXT_NOT_FOUND] = "Session context not found",
        [PFCP_CAUSE_MANDATORY_IE_MISSING] = "Mandatory IE missing",
        [PFCP_CAUSE_CONDITIONAL_IE_MISSING] = "Conditional IE missing",
        [PFCP_CAUSE_INVALID_LENGTH] = "Invalid length",
        [PFCP_CAUSE_MANDATORY_IE_INCORRECT] = "Mandatory IE incorrect",
        [PFCP_CAUSE_INVALID_FORWARDING_POLICY] = "Invalid Forwarding Policy",
        [PFCP_CAUSE_INVALID_FTEID_ALLOCATION_OPTION] = "Invalid F-TEID "
                                                       "allocation option",
        [PFCP_CAUSE_NO_ESTABLISHED_ASSOCIATION] = "No established PFCP "
                                                  "Association",
        [PFCP_CAUSE_RULE_CREATION_MODIFICATION_FAILURE] = "Rule creation/"
                                                          "modification "
                                                          "Failure",
        [PFCP_CAUSE_ENTITY_IN_CONGESTION] = "PFCP entity in congestion",
        [PFCP_CAUSE_NO_RESOURCES_AVAILABLE] = "No resources available",
        [PFCP_CAUSE_SERVICE_NOT_SUPPORTED] = "Service not supported",
        [PFCP_CAUSE_SYSTEM_FAILURE] = "System failure",
        [PFCP_CAUSE_REDIRECTION_REQUESTED] = "Redirection Requested",
        [PFCP_CAUSE_ALL_DYNAMIC_ADDRESSES_OCCUPIED] = "All dynamic addresses "
                                                      "are occupied",
        [PFCP_CAUSE_UNKNOWN_PREDEFINED_RULE] = "Unknown Pre-defined Rule",
        [PFCP_CAUSE_UNKNOWN_APPLICATION_ID] = "Unknown Application ID",
    };

    return names[cause] ? names[cause] : "unknown";
}

bool
pfcp_msg_type_is_request(uint8_t type)
{
    return messages[type].name && messages[type].request;
}

bool
pfcp_msg_type_is_session(uint8_t type)
{
    return type >= 50 && type <= 99;
}

/* ---- Decoding ---- */

struct pfcp_decoder {
    struct pfcp_decode_error *err;   /* never NULL inside */
};

static int fail(struct pfcp_decoder *d, int ret, uint8_t cause, uint16_t ie,
                const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int
fail(struct pfcp_decoder *d, int ret, uint8_t cause, uint16_t ie,
     const char *fmt, ...)
{
    va_list ap;

    d->err->cause = cause;
    d->err->offending_ie = ie;
    va_start(ap, fmt);
    vsnprintf(d->err->text, sizeof d->err->text, fmt, ap);
    va_end(ap);
    return ret;
}

static const struct pfcp_member *
find_member(const struct pfcp_group *g, uint16_t type, size_t *index)
{
    for (size_t i = 0; i < g->length; i++) {
        if (g->members[i].type == type) {
            *index = i;
            return &g->members[i];
        }
    }
    return NULL;
}

static int decode_group(struct pfcp_decoder *d, const struct pfcp_group *g,
                        const uint8_t *p, size_t n, uint8_t *base);

static int
decode_value(struct pfcp_decoder *d, const struct pfcp_member *m,
             const uint8_t *p, size_t n, uint8_t *out)
{
    const char *why = "incorrect";
    int ret;

    if (m->group) {
        return decode_group(d, m->group, p, n, out);
    }
    ret = m->leaf->decode(m->leaf, p, n, out, &why);
    if (ret == -E2BIG) {
        return fail(d, ret, PFCP_CAUSE_NO_RESOURCES_AVAILABLE, m->type,
                    "%s: %s", pfcp_ie_type_name(m->type), why);
    }
    if (ret) {
        return fail(d, ret, PFCP_CAUSE_MANDATORY_IE_INCORRECT, m->type,
                    "%s: %s", pfcp_ie_type_name(m->type), why);
    }
    return 0;
}

/* Decodes the IEs in p[0..n) into the struct at 'base' per 'g'. */
static int
decode_group(struct pfcp_decoder *d, const struct pfcp_group *g,
             const uint8_t *p, size_t n, uint8_t *base)
{
    uint32_t seen = 0;
    size_t off = 0;

    while (off < n) {
        const struct pfcp_member *m;
        uint16_t type;
        size_t length;
        size_t index;
        int ret;

        if (n - off < 4) {
            return fail(d, -EBADMSG, PFCP_CAUSE_INVALID_LENGTH,
                        n - off >= 2 ? pfcp_ie_get16(p + off) : 0,
                        "truncated IE header (%zu octets left)", n - off);
        }
        type = pfcp_ie_get16(p + off);
        length = pfcp_ie_get16(p + off + 2);
        if (length > n - off - 4) {
            return fail(d, -EBADMSG, PFCP_CAUSE_INVALID_LENGTH, type,
                        "%s (type %u): length %zu overruns by %zu octets",
                        pfcp_ie_type_name(type), type, length,
                        length - (n - off - 4));
        }
        off += 4;
        m = type & 0x8000 ? NULL : find_member(g, type, &index);
        if (!m) {
            /* Unknown, vendor-specific or unexpected here: skipped. */
            off += length;
            continue;
        }
        if (m->array) {
            uint8_t *count = base + m->count;

            if (*count >= m->max) {
                return fail(d, -E2BIG, PFCP_CAUSE_NO_RESOURCES_AVAILABLE,
                            type, "more than %u %s IEs",
                            (unsigned int) m->max, pfcp_ie_type_name(type));
            }
            ret = decode_value(d, m, p + off, length,
                               base + m->offset + *count * m->stride);
            if (ret) {
                return ret;
            }
            (*count)++;
        } else if (!(seen & (UINT32_C(1) << index))) {
            ret = decode_value(d, m, p + off, length, base + m->offset);
            if (ret) {
                return ret;
            }
            if (m->has != NONE) {
                *(bool *) (base + m->has) = true;
            }
        }
        seen |= UINT32_C(1) << index;
        off += length;
    }
    for (size_t i = 0; i < g->length; i++) {
        const struct pfcp_member *m = &g->members[i];
        bool present = m->array ? base[m->count] >= m->min
                                : (seen & (UINT32_C(1) << i)) != 0;

        if (m->mandatory && !present) {
            return fail(d, -EBADMSG, PFCP_CAUSE_MANDATORY_IE_MISSING,
                        m->type, "mandatory IE %s missing",
                        pfcp_ie_type_name(m->type));
        }
    }
    return 0;
}

int
pfcp_decode_header(const uint8_t *buf, size_t size,
                   struct pfcp_header *header)
{
    struct pfcp_header h;
    size_t header_size;

    if (size < 4) {
        return -EBADMSG;
    }
    memset(&h, 0, sizeof h);
    h.version = buf[0] >> 5;
    h.follow_on = (buf[0] & 0x04) != 0;
    h.has_priority = (buf[0] & 0x02) != 0;
    h.has_seid = (buf[0] & 0x01) != 0;
    h.type = buf[1];
    h.length = pfcp_ie_get16(buf + 2);
    header_size = h.has_seid ? PFCP_SESSION_HEADER_SIZE
                             : PFCP_NODE_HEADER_SIZE;
    if (size < header_size) {
        return -EBADMSG;
    }
    if (h.has_seid) {
        h.seid = pfcp_ie_get64(buf + 4);
    }
    h.sequence = pfcp_ie_get24(buf + header_size - 4);
    if (h.has_priority) {
        h.priority = buf[header_size - 1] >> 4;
    }
    if (h.version != PFCP_VERSION) {
        *header = h;
        return -EPROTONOSUPPORT;
    }
    if ((size_t) h.length + 4 < header_size) {
        return -EBADMSG;
    }
    *header = h;
    return 0;
}

int
pfcp_decode(const uint8_t *buf, size_t size, struct pfcp_msg *msg,
            struct pfcp_decode_error *err)
{
    struct pfcp_decode_error scratch;
    struct pfcp_decoder d = {err ? err : &scratch};
    const struct pfcp_group *body;
    struct pfcp_header h;
    size_t header_size;
    int ret;

    memset(msg, 0, sizeof *msg);
    memset(d.err, 0, sizeof *d.err);
    ret = pfcp_decode_header(buf, size, &h);
    if (ret == -EPROTONOSUPPORT) {
        d.err->has_header = true;
        d.err->header = h;
        ret = fail(&d, ret, 0, 0, "PFCP version %u not supported",
                   (unsigned int) h.version);
        goto out;
    }
    if (ret) {
        ret = fail(&d, ret, PFCP_CAUSE_INVALID_LENGTH, 0,
                   "message too short for a PFCP header (%zu octets)", size);
        goto out;
    }
    body = messages[h.type].body;
    if (!body) {
        d.err->has_header = true;
        d.err->header = h;
        ret = fail(&d, -EOPNOTSUPP, PFCP_CAUSE_SERVICE_NOT_SUPPORTED, 0,
                   "message type %u (%s) not supported",
                   (unsigned int) h.type, pfcp_msg_type_name(h.type));
        goto out;
    }
    if (h.has_seid != pfcp_msg_type_is_session(h.type)) {
        ret = fail(&d, -EBADMSG, PFCP_CAUSE_REQUEST_REJECTED, 0,
                   "S flag %d wrong for %s", h.has_seid,
                   pfcp_msg_type_name(h.type));
        goto out;
    }
    d.err->has_header = true;
    d.err->header = h;
    if ((size_t) h.length + 4 != size) {
        ret = fail(&d, -EBADMSG, PFCP_CAUSE_INVALID_LENGTH, 0,
                   "message length %u + 4 does not match %zu octets",
                   (unsigned int) h.length, size);
        goto out;
    }
    header_size = h.has_seid ? PFCP_SESSION_HEADER_SIZE
                             : PFCP_NODE_HEADER_SIZE;
    ret = decode_group(&d, body, buf + header_size, size - header_size,
                       (uint8_t *) msg + offsetof(struct pfcp_msg,
                                                  heartbeat_request));
    if (ret) {
        goto out;
    }
    msg->header = h;
    memset(d.err, 0, sizeof *d.err);
out:
    if (ret) {
        memset(msg, 0, sizeof *msg);
    }
    return ret;
}

/* ---- Encoding ---- */

static int encode_group(const struct pfcp_group *g, const uint8_t *base,
                        struct pfcp_writer *w);

static int
encode_ie(const struct pfcp_member *m, const uint8_t *value,
          struct pfcp_writer *w)
{
    size_t start = w->pos;
    size_t length;
    int ret;

    pfcp_ie_put_be(w, m->type, 2);
    pfcp_ie_put_be(w, 0, 2);
    ret = m->group ? encode_group(m->group, value, w)
                   : m->leaf->encode(m->leaf, value, w);
    if (ret) {
        return ret;
    }
    length = w->pos - start - 4;
    if (length > UINT16_MAX) {
        return -EMSGSIZE;
    }
    pfcp_ie_patch16(w, start + 2, (uint16_t) length);
    return 0;
}

static int
encode_group(const struct pfcp_group *g, const uint8_t *base,
             struct pfcp_writer *w)
{
    for (size_t i = 0; i < g->length; i++) {
        const struct pfcp_member *m = &g->members[i];
        int ret;

        if (m->array) {
            uint8_t count = base[m->count];

            if (count > m->max || count < m->min) {
                return -EINVAL;
            }
            for (size_t j = 0; j < count; j++) {
                ret = encode_ie(m, base + m->offset + j * m->stride, w);
                if (ret) {
                    return ret;
                }
            }
            continue;
        }
        if (m->has != NONE && !*(const bool *) (base + m->has)) {
            if (m->mandatory) {
                return -EINVAL;
            }
            continue;
        }
        ret = encode_ie(m, base + m->offset, w);
        if (ret) {
            return ret;
        }
    }
    return 0;
}

int
pfcp_encode(const struct pfcp_msg *msg, uint8_t *buf, size_t size,
            size_t *msg_size)
{
    const struct pfcp_header *h = &msg->header;
    const struct pfcp_group *body = messages[h->type].body;
    struct pfcp_writer w = {buf, size, 0};
    bool session = pfcp_msg_type_is_session(h->type);
    int ret;

    if (!body || h->sequence > 0xffffff || h->priority > 0x0f) {
        return -EINVAL;
    }
    pfcp_ie_put8(&w, (uint8_t) (PFCP_VERSION << 5 |
                                (h->has_priority ? 0x02 : 0) |
                                (session ? 0x01 : 0)));
    pfcp_ie_put8(&w, h->type);
    pfcp_ie_put_be(&w, 0, 2);
    if (session) {
        pfcp_ie_put_be(&w, h->seid, 8);
    }
    pfcp_ie_put_be(&w, h->sequence, 3);
    pfcp_ie_put8(&w, h->has_priority ? (uint8_t) (h->priority << 4) : 0);
    ret = encode_group(body,
                       (const uint8_t *) msg +
                           offsetof(struct pfcp_msg, heartbeat_request),
                       &w);
    if (ret) {
        return ret;
    }
    if (w.pos - 4 > UINT16_MAX) {
        return -EMSGSIZE;
    }
    if (w.pos > size) {
        return -ENOSPC;
    }
    pfcp_ie_patch16(&w, 2, (uint16_t) (w.pos - 4));
    *msg_size = w.pos;
    return 0;
}

void
pfcp_msg_init(struct pfcp_msg *msg, uint8_t type, uint64_t seid,
              uint32_t sequence)
{
    memset(msg, 0, sizeof *msg);
    msg->header.version = PFCP_VERSION;
    msg->header.type = type;
    msg->header.has_seid = pfcp_msg_type_is_session(type);
    msg->header.seid = msg->header.has_seid ? seid : 0;
    msg->header.sequence = sequence & 0xffffff;
}

/* ---- Names and Node IDs ---- */

int
pfcp_name_from_string(struct pfcp_name *name, const char *text)
{
    struct pfcp_name out;
    const char *label = text;

    memset(&out, 0, sizeof out);
    for (;;) {
        const char *dot = strchr(label, '.');
        size_t len = dot ? (size_t) (dot - label) : strlen(label);

        if (len == 0 || len > 63) {
            return -EINVAL;
        }
        if (out.size + 1 + len > sizeof out.octets) {
            return -E2BIG;
        }
        out.octets[out.size++] = (uint8_t) len;
        memcpy(out.octets + out.size, label, len);
        out.size = (uint8_t) (out.size + len);
        if (!dot) {
            break;
        }
        label = dot + 1;
    }
    *name = out;
    return 0;
}

static bool
name_is_labels(const struct pfcp_name *name)
{
    size_t off = 0;

    if (name->size == 0 || name->size > sizeof name->octets) {
        return false;
    }
    while (off < name->size) {
        size_t len = name->octets[off];

        if (len == 0 || len > 63 || len > name->size - off - 1) {
            return false;
        }
        off += 1 + len;
    }
    return true;
}

static char
printable(uint8_t c)
{
    return c >= 0x20 && c < 0x7f ? (char) c : '?';
}

/* Appends 'c' to buf[0..size) at '*out', keeping room for the NUL. */
static int
emit(char *buf, size_t size, size_t *out, char c)
{
    if (*out + 1 >= size) {
        return -ENOSPC;
    }
    buf[(*out)++] = c;
    return 0;
}

int
pfcp_name_to_string(const struct pfcp_name *name, char *buf, size_t size)
{
    size_t n = name->size <= sizeof name->octets ? name->size
                                                 : sizeof name->octets;
    size_t out = 0;
    int ret = 0;

    if (size == 0) {
        return -ENOSPC;
    }
    if (name_is_labels(name)) {
        for (size_t off = 0; off < n && !ret; off += 1 + name->octets[off]) {
            if (off > 0) {
                ret = emit(buf, size, &out, '.');
            }
            for (size_t i = 1; i <= name->octets[off] && !ret; i++) {
                ret = emit(buf, size, &out, printable(name->octets[off + i]));
            }
        }
    } else {
        for (size_t i = 0; i < n && !ret; i++) {
            ret = emit(buf, size, &out, printable(name->octets[i]));
        }
    }
    buf[out] = '\0';
    return ret;
}

static uint8_t
lower(uint8_t c)
{
    return c >= 'A' && c <= 'Z' ? (uint8_t) (c + 32) : c;
}

bool
pfcp_node_id_equal(const struct pfcp_node_id *a,
                   const struct pfcp_node_id *b)
{
    if (a->type != b->type) {
        return false;
    }
    switch (a->type) {
    case PFCP_NODE_ID_IPV4:
        return a->ipv4.s_addr == b->ipv4.s_addr;
    case PFCP_NODE_ID_IPV6:
        return !memcmp(&a->ipv6, &b->ipv6, sizeof a->ipv6);
    case PFCP_NODE_ID_FQDN:
        if (a->fqdn.size != b->fqdn.size ||
            a->fqdn.size > sizeof a->fqdn.octets) {
            return false;
        }
        for (size_t i = 0; i < a->fqdn.size; i++) {
            if (lower(a->fqdn.octets[i]) != lower(b->fqdn.octets[i])) {
                return false;
            }
        }
        return true;
    default:
        return false;
    }
}

int
pfcp_node_id_to_string(const struct pfcp_node_id *node_id, char *buf,
                       size_t size)
{
    char text[INET6_ADDRSTRLEN];
    int n;

    switch (node_id->type) {
    case PFCP_NODE_ID_IPV4:
        inet_ntop(AF_INET, &node_id->ipv4, text, sizeof text);
        break;
    case PFCP_NODE_ID_IPV6:
        inet_ntop(AF_INET6, &node_id->ipv6, text, sizeof text);
        break;
    case PFCP_NODE_ID_FQDN:
        return pfcp_name_to_string(&node_id->fqdn, buf, size);
    default:
        return -EINVAL;
    }
    if (size == 0) {
        return -ENOSPC;
    }
    n = snprintf(buf, size, "%s", text);
    return (size_t) n >= size ? -ENOSPC : 0;
}
