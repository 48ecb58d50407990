/* vlog: levelled, module-tagged logging for the Vigil daemons.
 *
 * Lines go to stderr as "2026-11-22T01:53:07.123456Z vigil-monitor[123]
 * INFO libvirt: connected to test:///default". Library modules in common/
 * do not log; daemons log once, with their module tag. Anything that outside
 * input can trigger goes through a struct vlog_rate_limit so that a flood of
 * bad packets or requests cannot flood the log.
 *
 * Thread-safe: each line is written with one write(2). */
#ifndef VIGIL_VLOG_H
#define VIGIL_VLOG_H

#include <stdbool.h>
#include <stdint.h>

enum vlog_level {
    VLOG_LEVEL_ERR,
    VLOG_LEVEL_WARN,
    VLOG_LEVEL_INFO,
    VLOG_LEVEL_DEBUG,
    VLOG_LEVEL_COUNT
};

/* Sets the program name shown on each line and the lowest level written. */
void vlog_init(const char *program, enum vlog_level level);
void vlog_set_level(enum vlog_level level);
enum vlog_level vlog_get_level(void);

/* Parses "error", "warning"/"warn", "info", "debug". 0 or -EINVAL. */
int vlog_level_from_string(const char *name, enum vlog_level *level);
const char *vlog_level_to_string(enum vlog_level level);

void vlog_write(enum vlog_level level, const char *module, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define VLOG_ERR(MODULE, ...) vlog_write(VLOG_LEVEL_ERR, MODULE, __VA_ARGS__)
#define VLOG_WARN(MODULE, ...) vlog_write(VLOG_LEVEL_WARN, MODULE, __VA_ARGS__)
#define VLOG_INFO(MODULE, ...) vlog_write(VLOG_LEVEL_INFO, MODULE, __VA_ARGS__)
#define VLOG_DBG(MODULE, ...)                                   \
    do {                                                        \
        if (vlog_get_level() >= VLOG_LEVEL_DEBUG) {             \
            vlog_write(VLOG_LEVEL_DEBUG, MODULE, __VA_ARGS__);  \
        }                                                       \
    } while (0)

/* A token bucket: at most 'burst' lines, refilled at 'per_second'. Lines
 * over the limit are counted and the count is reported with the next line
 * that passes. Not thread-safe: one per thread or call site. */
struct vlog_rate_limit {
    unsigned int per_second;
    unsigned int burst;
    double tokens;
    int64_t last_ns;
    uint64_t suppressed;
};

#define VLOG_RATE_LIMIT_INIT(PER_SECOND, BURST) \
    { (PER_SECOND), (BURST), (BURST), 0, 0 }

/* Writes the line if 'rl' allows it; otherwise counts it as suppressed. */
void vlog_write_rl(struct vlog_rate_limit *rl, enum vlog_level level,
                   const char *module, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* True when a line may be written now (consumes a token). Exposed for tests. */
bool vlog_rate_allow(struct vlog_rate_limit *rl, int64_t now_ns);

#endif
