/* bench-vm-fault: VM fault -> VNFM webhook latency through the real Vigil
 * pipeline (libvirtd -> vigil-monitor -> vigil-inspector -> vigil-notifier
 * -> VNFM), as the Doctor profiler sees it.
 *
 * It embeds the sample VNFM's endpoint (tests/consumer/vnfm.[ch]), which
 * subscribes itself to the notifier for compute.instance.* events of one
 * domain, and drives that domain through libvirt: for each round it stamps
 * T00 (CLOCK_MONOTONIC) and destroys the domain, waits on its event loop
 * for the compute.instance.down alarm, records the stages between the
 * profiler stamps the alarm carries (T01 monitor, T02 inspector in, T06
 * inspector out, T07 notifier in, T08 webhook sent, T09 received here),
 * then starts the domain again and waits for the compute.instance.up alarm
 * (timed separately). The libvirt calls run on a helper thread so that the
 * event loop is already waiting when the webhook arrives: T09 is never
 * held back by the destroy RPC.
 *
 * It prints the figures (p50/p90/p99/max per stage, in microseconds), the
 * machine and the command line, and ends with one JSON line. It asserts
 * nothing about timings; it fails only when an alarm does not come. The
 * daemons are started by scripts/bench-vm-fault.sh. */
#include <errno.h>
#include <event2/event.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "doctor_event.h"
#include "vlog.h"
#include "vnfm.h"
#include "vtime.h"

#define BENCH_DEFAULT_COUNT 1000
#define BENCH_DEFAULT_WARMUP 10
#define BENCH_DEFAULT_TIMEOUT_MS 10000
#define BENCH_MAX_COUNT 1000000

/* The measured intervals, in pipeline order. */
enum bench_stage {
    BENCH_LIBVIRT_MONITOR,     /* T00 -> T01 */
    BENCH_MONITOR_INSPECTOR,   /* T01 -> T02 */
    BENCH_INSPECTOR,           /* T02 -> T06 */
    BENCH_INSPECTOR_NOTIFIER,  /* T06 -> T07 */
    BENCH_NOTIFIER,            /* T07 -> T08 */
    BENCH_NOTIFIER_CONSUMER,   /* T08 -> T09 */
    BENCH_DETECTED_CONSUMER,   /* T01 -> T09 */
    BENCH_TOTAL,               /* T00 -> T09 */
    BENCH_DESTROY_RPC,         /* T00 -> virDomainDestroy returned */
    BENCH_RECOVERY_TOTAL,      /* T00' -> T09 of the up alarm */
    BENCH_STAGE_COUNT
};

static const struct {
    const char *key;           /* JSON key */
    const char *label;         /* table label */
    enum doctor_stamp from, to;
} bench_stages[BENCH_STAGE_COUNT] = {
    [BENCH_LIBVIRT_MONITOR] = { "T00_T01", "T00->T01 libvirt -> monitor",
                                DOCTOR_T00, DOCTOR_T01 },
    [BENCH_MONITOR_INSPECTOR] = { "T01_T02", "T01->T02 monitor -> inspector",
                                  DOCTOR_T01, DOCTOR_T02 },
    [BENCH_INSPECTOR] = { "T02_T06", "T02->T06 inspector",
                          DOCTOR_T02, DOCTOR_T06 },
    [BENCH_INSPECTOR_NOTIFIER] = { "T06_T07",
                                   "T06->T07 inspector -> notifier",
                                   DOCTOR_T06, DOCTOR_T07 },
    [BENCH_NOTIFIER] = { "T07_T08", "T07->T08 notifier",
                         DOCTOR_T07, DOCTOR_T08 },
    [BENCH_NOTIFIER_CONSUMER] = { "T08_T09", "T08->T09 notifier -> VNFM",
                                  DOCTOR_T08, DOCTOR_T09 },
    [BENCH_DETECTED_CONSUMER] = { "T01_T09", "T01->T09 detected -> VNFM",
                                  DOCTOR_T01, DOCTOR_T09 },
    [BENCH_TOTAL] = { "T00_T09", "T00->T09 fault -> VNFM (total)",
                      DOCTOR_T00, DOCTOR_T09 },
    [BENCH_DESTROY_RPC] = { "destroy_rpc", "virDomainDestroy call",
                            DOCTOR_STAMP_COUNT, DOCTOR_STAMP_COUNT },
    [BENCH_RECOVERY_TOTAL] = { "up_T00_T09", "recovery: start -> up alarm",
                               DOCTOR_T00, DOCTOR_T09 },
};

struct bench_samples {
    int64_t *values;           /* nanoseconds */
    size_t length;
};

enum bench_action {
    BENCH_ACTION_NONE,
    BENCH_ACTION_DESTROY,
    BENCH_ACTION_CREATE,
    BENCH_ACTION_QUIT,
};

/* The helper thread that makes the libvirt calls. */
struct bench_injector {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    virDomainPtr domain;
    enum bench_action action;  /* requested, BENCH_ACTION_NONE when done */
    int64_t started_ns;        /* T00 of the last action */
    int64_t returned_ns;       /* when the libvirt call returned */
    int result;                /* 0 or -1 (libvirt error) */
    char error[256];
};

struct bench_wait {
    const char *event_type;    /* awaited, NULL when not waiting */
    char instance_uuid[VIR_UUID_STRING_BUFLEN];
    int64_t not_before_ns;     /* ignore alarms detected before this */
    bool received;
    bool timed_out;
    struct vnfm_alarm alarm;
    uint64_t unexpected;       /* alarms that matched no wait */
    struct event_base *base;
};

struct bench_config {
    const char *uri;
    const char *notifier_url;
    const char *domain_name;
    const char *address;
    long count;
    long warmup;
    long timeout_ms;
};

static void
bench_usage(FILE *out)
{
    fprintf(out,
            "Usage: bench-vm-fault --uri LIBVIRT_URI --notifier URL "
            "[options]\n"
            "Measures VM fault -> VNFM webhook latency through the running "
            "Vigil daemons.\n\n"
            "  --uri URI          libvirt URI of the monitored libvirtd\n"
            "  --notifier URL     base URL of vigil-notifier's alarm API\n"
            "  --domain NAME      domain to destroy and start (default "
            "test)\n"
            "  --count N          measured faults (default %d)\n"
            "  --warmup N         faults before measuring (default %d)\n"
            "  --timeout-ms MS    wait for one alarm at most (default %d)\n"
            "  --listen ADDR      address of the embedded VNFM endpoint "
            "(default 127.0.0.1, any free port)\n"
            "  -h, --help         this text\n",
            BENCH_DEFAULT_COUNT, BENCH_DEFAULT_WARMUP,
            BENCH_DEFAULT_TIMEOUT_MS);
}

static int
bench_parse_long(const char *text, long min, long max, long *value)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(text, &end, 10);
    if (errno || end == text || *end != '\0' || v < min || v > max) {
        return -EINVAL;
    }
    *value = v;
    return 0;
}

/* 0 to run, 1 after --help, -EINVAL after printing an error. */
static int
bench_parse_args(int argc, char **argv, struct bench_config *cfg)
{
    static const struct option options[] = {
        { "uri", required_argument, NULL, 'u' },
        { "notifier", required_argument, NULL, 'n' },
        { "domain", required_argument, NULL, 'd' },
        { "count", required_argument, NULL, 'c' },
        { "warmup", required_argument, NULL, 'w' },
        { "timeout-ms", required_argument, NULL, 't' },
        { "listen", required_argument, NULL, 'l' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int c;

    cfg->domain_name = "test";
    cfg->address = "127.0.0.1";
    cfg->count = BENCH_DEFAULT_COUNT;
    cfg->warmup = BENCH_DEFAULT_WARMUP;
    cfg->timeout_ms = BENCH_DEFAULT_TIMEOUT_MS;
    while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        int bad = 0;

        switch (c) {
        case 'u':
            cfg->uri = optarg;
            break;
        case 'n':
            cfg->notifier_url = optarg;
            break;
        case 'd':
            cfg->domain_name = optarg;
            break;
        case 'c':
            bad = bench_parse_long(optarg, 1, BENCH_MAX_COUNT, &cfg->count);
            break;
        case 'w':
            bad = bench_parse_long(optarg, 0, BENCH_MAX_COUNT, &cfg->warmup);
            break;
        case 't':
            bad = bench_parse_long(optarg, 1, 600000, &cfg->timeout_ms);
            break;
        case 'l':
            cfg->address = optarg;
            break;
        case 'h':
            bench_usage(stdout);
            return 1;
        default:
            bench_usage(stderr);
            return -EINVAL;
        }
        if (bad) {
            fprintf(stderr, "bench-vm-fault: bad number '%s' (try "
                    "--help)\n", optarg);
            return -EINVAL;
        }
    }
    if (optind != argc || !cfg->uri || !cfg->notifier_url) {
        fprintf(stderr, "bench-vm-fault: --uri and --notifier are required "
                "(try --help)\n");
        return -EINVAL;
    }
    return 0;
}

/* ---- the libvirt helper thread ----------------------------------------- */

static void *
bench_injector_main(void *arg)
{
    struct bench_injector *inj = arg;

    pthread_mutex_lock(&inj->lock);
    for (;;) {
        enum bench_action action;
        int result;

        while (inj->action == BENCH_ACTION_NONE) {
            pthread_cond_wait(&inj->cond, &inj->lock);
        }
        action = inj->action;
        if (action == BENCH_ACTION_QUIT) {
            break;
        }
        pthread_mutex_unlock(&inj->lock);
        inj->started_ns = vtime_mono_ns();
        result = action == BENCH_ACTION_DESTROY ? virDomainDestroy(inj->domain)
                                                : virDomainCreate(inj->domain);
        inj->returned_ns = vtime_mono_ns();
        pthread_mutex_lock(&inj->lock);
        inj->result = result;
        if (result < 0) {
            snprintf(inj->error, sizeof inj->error, "%s",
                     virGetLastErrorMessage());
        }
        inj->action = BENCH_ACTION_NONE;
        pthread_cond_broadcast(&inj->cond);
    }
    pthread_mutex_unlock(&inj->lock);
    return NULL;
}

/* Asks the helper thread for 'action' and returns at once. */
static void
bench_injector_request(struct bench_injector *inj, enum bench_action action)
{
    pthread_mutex_lock(&inj->lock);
    inj->action = action;
    pthread_cond_broadcast(&inj->cond);
    pthread_mutex_unlock(&inj->lock);
}

/* Waits until the helper thread finished the last action; its result. */
static int
bench_injector_wait(struct bench_injector *inj)
{
    int result;

    pthread_mutex_lock(&inj->lock);
    while (inj->action != BENCH_ACTION_NONE) {
        pthread_cond_wait(&inj->cond, &inj->lock);
    }
    result = inj->result;
    pthread_mutex_unlock(&inj->lock);
    return result;
}

/* ---- waiting for alarms ------------------------------------------------ */

static void
bench_on_alarm(const struct vnfm_alarm *alarm, const json_t *body, void *arg)
{
    struct bench_wait *w = arg;

    (void) body;
    if (!w->event_type || w->received ||
        strcmp(alarm->event_type, w->event_type) ||
        strcmp(alarm->instance_uuid, w->instance_uuid) ||
        (alarm->stamps[DOCTOR_T01] &&
         alarm->stamps[DOCTOR_T01] < w->not_before_ns)) {
        w->unexpected++;
        return;
    }
    w->alarm = *alarm;
    w->received = true;
    event_base_loopbreak(w->base);
}

static void
bench_on_timeout(evutil_socket_t fd, short what, void *arg)
{
    struct bench_wait *w = arg;

    (void) fd;
    (void) what;
    w->timed_out = true;
    event_base_loopbreak(w->base);
}

/* Runs the loop until the awaited alarm arrived or 'timeout_ms' passed.
 * 0 or -ETIMEDOUT. */
static int
bench_wait_alarm(struct bench_wait *w, long timeout_ms)
{
    struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
    struct event *timer = evtimer_new(w->base, bench_on_timeout, w);
    int ret = -ENOMEM;

    if (!timer || evtimer_add(timer, &tv)) {
        goto out;
    }
    while (!w->received && !w->timed_out) {
        if (event_base_loop(w->base, EVLOOP_ONCE) < 0) {
            ret = -EIO;
            goto out;
        }
    }
    ret = w->received ? 0 : -ETIMEDOUT;
out:
    if (timer) {
        event_free(timer);
    }
    w->event_type = NULL;
    return ret;
}

static void
bench_arm(struct bench_wait *w, const char *event_type, int64_t now_ns)
{
    w->event_type = event_type;
    w->not_before_ns = now_ns;
    w->received = false;
    w->timed_out = false;
}

/* ---- subscription ------------------------------------------------------ */

struct bench_subscription {
    struct event_base *base;
    bool done;
    int status;
    char reason[512];
};

static void
bench_on_subscribed(int status, const char *alarm_id, const char *reason,
                    void *arg)
{
    struct bench_subscription *s = arg;

    (void) alarm_id;
    s->done = true;
    s->status = status;
    snprintf(s->reason, sizeof s->reason, "%s", reason ? reason : "");
    event_base_loopbreak(s->base);
}

static int
bench_subscribe(struct vnfm *vnfm, struct event_base *base)
{
    struct bench_subscription s = { base, false, 0, "" };
    int ret = vnfm_subscribe(vnfm, bench_on_subscribed, &s);

    if (ret) {
        fprintf(stderr, "bench-vm-fault: cannot subscribe: %s\n",
                strerror(-ret));
        return ret;
    }
    while (!s.done) {
        event_base_loop(base, EVLOOP_ONCE);
    }
    if (s.status) {
        fprintf(stderr, "bench-vm-fault: cannot subscribe: %s\n", s.reason);
    }
    return s.status;
}

/* Deletes the benchmark's alarm from the notifier (bounded wait). */
static void
bench_unsubscribe(struct vnfm *vnfm, struct event_base *base)
{
    struct bench_subscription s = { base, false, 0, "" };

    if (!vnfm || !vnfm_alarm_id(vnfm) ||
        vnfm_unsubscribe(vnfm, 2000, bench_on_subscribed, &s)) {
        return;
    }
    while (!s.done) {
        event_base_loop(base, EVLOOP_ONCE);
    }
    if (s.status) {
        fprintf(stderr, "bench-vm-fault: could not delete the alarm: %s\n",
                s.reason);
    }
}

/* ---- figures ------------------------------------------------------------ */

static int
bench_compare(const void *a, const void *b)
{
    int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;

    return (x > y) - (x < y);
}

/* Nearest-rank percentile of sorted 'values'. */
static int64_t
bench_percentile(const int64_t *values, size_t length, double p)
{
    size_t rank = (size_t) (p / 100.0 * (double) length + 0.999999);

    if (rank < 1) {
        rank = 1;
    }
    return values[rank > length ? length - 1 : rank - 1];
}

static void
bench_add(struct bench_samples *s, int64_t value)
{
    s->values[s->length++] = value;
}

/* Records the stages of one down alarm (T00 set by the caller). */
static void
bench_record(struct bench_samples *samples, const int64_t *stamps)
{
    for (int i = 0; i < BENCH_STAGE_COUNT; i++) {
        enum doctor_stamp from = bench_stages[i].from, to = bench_stages[i].to;

        if (i == BENCH_RECOVERY_TOTAL || from == DOCTOR_STAMP_COUNT) {
            continue;
        }
        if (stamps[from] && stamps[to]) {
            bench_add(&samples[i], stamps[to] - stamps[from]);
        }
    }
}

/* Nanoseconds as microseconds rounded to 0.1. */
static double
bench_us(int64_t ns)
{
    return (double) ((ns + 50) / 100) / 10.0;
}

static void
bench_read_cpu_model(char *out, size_t size)
{
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[512];

    snprintf(out, size, "unknown");
    if (!f) {
        return;
    }
    while (fgets(line, sizeof line, f)) {
        char *colon = strchr(line, ':');

        if (!strncmp(line, "model name", 10) && colon) {
            colon++;
            colon += strspn(colon, " \t");
            colon[strcspn(colon, "\n")] = '\0';
            snprintf(out, size, "%s", colon);
            break;
        }
    }
    fclose(f);
}

static void
bench_report(const struct bench_config *cfg, struct bench_samples *samples,
             int argc, char **argv, uint64_t unexpected)
{
    char cpu[256], command[2048] = "";
    struct utsname uts;
    json_t *json, *stages;
    size_t used = 0;
    char *text;

    bench_read_cpu_model(cpu, sizeof cpu);
    if (uname(&uts)) {
        memset(&uts, 0, sizeof uts);
    }
    for (int i = 0; i < argc && used < sizeof command; i++) {
        int n = snprintf(command + used, sizeof command - used, "%s%s",
                         i ? " " : "", argv[i]);

        used += n > 0 ? (size_t) n : 0;
    }
    printf("\nbench-vm-fault: %ld VM faults (after %ld warm-up) through "
           "libvirtd -> vigil-monitor -> vigil-inspector -> vigil-notifier "
           "-> VNFM webhook\n", cfg->count, cfg->warmup);
    printf("machine: %ld CPUs, %s, %s %s\n", sysconf(_SC_NPROCESSORS_ONLN),
           cpu, uts.sysname, uts.release);
    printf("command: %s\n", command);
    printf("how: each round stamps T00 (CLOCK_MONOTONIC) and calls "
           "virDomainDestroy on domain '%s' (from a helper thread), waits "
           "on the event loop for the compute.instance.down webhook "
           "(stamped T09 on arrival) and takes the stage times from the "
           "profiler stamps the daemons put in the alarm (one clock for "
           "every process); then virDomainCreate and the "
           "compute.instance.up webhook, timed separately. Percentiles are "
           "nearest-rank over the measured rounds.\n\n", cfg->domain_name);
    printf("%-36s %6s %10s %10s %10s %10s\n", "stage", "n", "p50 us",
           "p90 us", "p99 us", "max us");
    json = json_object();
    stages = json_object();
    for (int i = 0; i < BENCH_STAGE_COUNT; i++) {
        struct bench_samples *s = &samples[i];
        int64_t p50 = 0, p90 = 0, p99 = 0, max = 0;

        if (s->length) {
            qsort(s->values, s->length, sizeof *s->values, bench_compare);
            p50 = bench_percentile(s->values, s->length, 50);
            p90 = bench_percentile(s->values, s->length, 90);
            p99 = bench_percentile(s->values, s->length, 99);
            max = s->values[s->length - 1];
        }
        printf("%-36s %6zu %10.1f %10.1f %10.1f %10.1f\n",
               bench_stages[i].label, s->length, bench_us(p50),
               bench_us(p90), bench_us(p99), bench_us(max));
        json_object_set_new(stages, bench_stages[i].key,
                            json_pack("{s:I, s:f, s:f, s:f, s:f}",
                                      "n", (json_int_t) s->length,
                                      "p50_us", bench_us(p50),
                                      "p90_us", bench_us(p90),
                                      "p99_us", bench_us(p99),
                                      "max_us", bench_us(max)));
    }
    printf("\nunexpected alarms (duplicates or stray): %" PRIu64 "\n\n",
           unexpected);
    json_object_set_new(json, "bench", json_string("vm-fault"));
    json_object_set_new(json, "count", json_integer(cfg->count));
    json_object_set_new(json, "warmup", json_integer(cfg->warmup));
    json_object_set_new(json, "unexpected_alarms",
                        json_integer((json_int_t) unexpected));
    json_object_set_new(json, "nproc",
                        json_integer(sysconf(_SC_NPROCESSORS_ONLN)));
    json_object_set_new(json, "cpu", json_string(cpu));
    json_object_set_new(json, "kernel", json_string(uts.release));
    json_object_set_new(json, "stages", stages);
    text = json_dumps(json, JSON_COMPACT | JSON_REAL_PRECISION(12));
    if (text) {
        printf("%s\n", text);
    }
    free(text);
    json_decref(json);
}

/* ---- main ---------------------------------------------------------------- */

/* One round: inject 'action', wait for 'event_type'; fills 'stamps' (with
 * T00) and the RPC time. */
static int
bench_round(struct bench_injector *inj, struct bench_wait *w,
            enum bench_action action, const char *event_type,
            long timeout_ms, int64_t *stamps, int64_t *rpc_ns)
{
    int64_t armed = vtime_mono_ns();
    int ret;

    bench_arm(w, event_type, armed);
    bench_injector_request(inj, action);
    ret = bench_wait_alarm(w, timeout_ms);
    if (bench_injector_wait(inj) < 0) {
        fprintf(stderr, "bench-vm-fault: %s failed: %s\n",
                action == BENCH_ACTION_DESTROY ? "virDomainDestroy"
                                               : "virDomainCreate",
                inj->error);
        return -EIO;
    }
    if (ret) {
        fprintf(stderr, "bench-vm-fault: no %s alarm within %ld ms\n",
                event_type, timeout_ms);
        return ret;
    }
    memcpy(stamps, w->alarm.stamps, sizeof w->alarm.stamps);
    stamps[DOCTOR_T00] = inj->started_ns;
    *rpc_ns = inj->returned_ns - inj->started_ns;
    return 0;
}

int
main(int argc, char **argv)
{
    struct bench_samples samples[BENCH_STAGE_COUNT];
    struct bench_injector inj;
    struct vnfm_options opts;
    struct bench_config cfg;
    struct bench_wait wait;
    struct event_base *base = NULL;
    struct vnfm *vnfm = NULL;
    virConnectPtr conn = NULL;
    bool thread_started = false;
    char query[128];
    int ret, exit_code = EXIT_FAILURE, state, reason;

    memset(samples, 0, sizeof samples);
    memset(&inj, 0, sizeof inj);
    memset(&wait, 0, sizeof wait);
    ret = bench_parse_args(argc, argv, &cfg);
    if (ret) {
        return ret > 0 ? EXIT_SUCCESS : EXIT_FAILURE;
    }
    vlog_init("bench-vm-fault", VLOG_LEVEL_WARN);
    /* Progress goes to stderr; keep stdout in order with it. */
    setvbuf(stdout, NULL, _IOLBF, 0);
    for (int i = 0; i < BENCH_STAGE_COUNT; i++) {
        samples[i].values = calloc((size_t) cfg.count, sizeof(int64_t));
        if (!samples[i].values) {
            fprintf(stderr, "bench-vm-fault: out of memory\n");
            goto out;
        }
    }
    if (virInitialize() < 0) {
        fprintf(stderr, "bench-vm-fault: cannot initialise libvirt\n");
        goto out;
    }
    conn = virConnectOpen(cfg.uri);
    if (!conn) {
        fprintf(stderr, "bench-vm-fault: cannot connect to %s: %s\n",
                cfg.uri, virGetLastErrorMessage());
        goto out;
    }
    inj.domain = virDomainLookupByName(conn, cfg.domain_name);
    if (!inj.domain ||
        virDomainGetUUIDString(inj.domain, wait.instance_uuid) < 0) {
        fprintf(stderr, "bench-vm-fault: no domain '%s': %s\n",
                cfg.domain_name, virGetLastErrorMessage());
        goto out;
    }

    base = event_base_new();
    if (!base) {
        goto out;
    }
    wait.base = base;
    snprintf(query, sizeof query, "instance_uuid=%s", wait.instance_uuid);
    memset(&opts, 0, sizeof opts);
    opts.address = cfg.address;
    opts.notifier_url = cfg.notifier_url;
    opts.alarm_name = "bench-vm-fault";
    opts.query = query;
    opts.max_alarms = 16;
    vnfm = vnfm_new(base, &opts, &ret);
    if (!vnfm) {
        fprintf(stderr, "bench-vm-fault: cannot start the VNFM endpoint: "
                "%s\n", strerror(-ret));
        goto out;
    }
    vnfm_set_alarm_callback(vnfm, bench_on_alarm, &wait);
    if (bench_subscribe(vnfm, base)) {
        goto out;
    }
    printf("bench-vm-fault: VNFM endpoint %s subscribed as alarm %s; "
           "domain %s (%s)\n", vnfm_callback_url(vnfm), vnfm_alarm_id(vnfm),
           cfg.domain_name, wait.instance_uuid);

    if (pthread_mutex_init(&inj.lock, NULL) ||
        pthread_cond_init(&inj.cond, NULL) ||
        pthread_create(&inj.thread, NULL, bench_injector_main, &inj)) {
        fprintf(stderr, "bench-vm-fault: cannot start the helper thread\n");
        goto out;
    }
    thread_started = true;

    if (virDomainGetState(inj.domain, &state, &reason, 0) < 0) {
        fprintf(stderr, "bench-vm-fault: cannot read the domain state: %s\n",
                virGetLastErrorMessage());
        goto out;
    }
    if (state != VIR_DOMAIN_RUNNING) {
        int64_t stamps[DOCTOR_STAMP_COUNT], rpc;

        if (bench_round(&inj, &wait, BENCH_ACTION_CREATE,
                        "compute.instance.up", cfg.timeout_ms, stamps, &rpc)) {
            goto out;
        }
    }

    for (long i = 0; i < cfg.warmup + cfg.count; i++) {
        int64_t stamps[DOCTOR_STAMP_COUNT], up[DOCTOR_STAMP_COUNT], rpc, rpc2;
        bool measured = i >= cfg.warmup;

        if (bench_round(&inj, &wait, BENCH_ACTION_DESTROY,
                        "compute.instance.down", cfg.timeout_ms, stamps,
                        &rpc) ||
            bench_round(&inj, &wait, BENCH_ACTION_CREATE,
                        "compute.instance.up", cfg.timeout_ms, up, &rpc2)) {
            fprintf(stderr, "bench-vm-fault: round %ld of %ld failed\n",
                    i + 1, cfg.warmup + cfg.count);
            goto out;
        }
        if (measured) {
            bench_record(samples, stamps);
            bench_add(&samples[BENCH_DESTROY_RPC], rpc);
            bench_add(&samples[BENCH_RECOVERY_TOTAL],
                      up[DOCTOR_T09] - up[DOCTOR_T00]);
        }
        if ((i + 1) % 100 == 0) {
            fprintf(stderr, "bench-vm-fault: %ld/%ld rounds\n", i + 1,
                    cfg.warmup + cfg.count);
        }
    }
    bench_report(&cfg, samples, argc, argv, wait.unexpected);
    exit_code = EXIT_SUCCESS;
out:
    if (thread_started) {
        bench_injector_wait(&inj);
        bench_injector_request(&inj, BENCH_ACTION_QUIT);
        pthread_join(inj.thread, NULL);
        pthread_cond_destroy(&inj.cond);
        pthread_mutex_destroy(&inj.lock);
    }
    bench_unsubscribe(vnfm, base);
    vnfm_free(vnfm);
    if (base) {
        event_base_free(base);
    }
    if (inj.domain) {
        virDomainFree(inj.domain);
    }
    if (conn) {
        virConnectClose(conn);
    }
    for (int i = 0; i < BENCH_STAGE_COUNT; i++) {
        free(samples[i].values);
    }
    return exit_code;
}
