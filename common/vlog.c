/* vlog: levelled, module-tagged logging (see vlog.h). */
#include "vlog.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "vtime.h"

static const char *vlog_program = "vigil";
static _Atomic int vlog_level = VLOG_LEVEL_INFO;

static const char *const vlog_names[VLOG_LEVEL_COUNT] = {
    [VLOG_LEVEL_ERR] = "ERROR",
    [VLOG_LEVEL_WARN] = "WARN",
    [VLOG_LEVEL_INFO] = "INFO",
    [VLOG_LEVEL_DEBUG] = "DEBUG",
};

void
vlog_init(const char *program, enum vlog_level level)
{
    vlog_program = program;
    vlog_level = level;
}

void
vlog_set_level(enum vlog_level level)
{
    vlog_level = level;
}

enum vlog_level
vlog_get_level(void)
{
    return (enum vlog_level) vlog_level;
}

int
vlog_level_from_string(const char *name, enum vlog_level *level)
{
    static const struct {
        const char *name;
        enum vlog_level level;
    } table[] = {
        { "error", VLOG_LEVEL_ERR }, { "err", VLOG_LEVEL_ERR },
        { "warning", VLOG_LEVEL_WARN }, { "warn", VLOG_LEVEL_WARN },
        { "info", VLOG_LEVEL_INFO }, { "debug", VLOG_LEVEL_DEBUG },
    };

    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        if (!strcasecmp(name, table[i].name)) {
            *level = table[i].level;
            return 0;
        }
    }
    return -EINVAL;
}

const char *
vlog_level_to_string(enum vlog_level level)
{
    return level < VLOG_LEVEL_COUNT ? vlog_names[level] : "?";
}

static void
vlog_vwrite(enum vlog_level level, const char *module, uint64_t suppressed,
            const char *fmt, va_list args)
{
    char line[2048], stamp[VTIME_ISO_SIZE];
    int n, m;

    n = snprintf(line, sizeof line, "%s %s[%ld] %s %s: ",
                 vtime_format_iso(vtime_real_ns(), stamp, sizeof stamp),
                 vlog_program, (long) getpid(), vlog_level_to_string(level),
                 module);
    if (n < 0 || (size_t) n >= sizeof line) {
        return;
    }
    m = vsnprintf(line + n, sizeof line - n, fmt, args);
    if (m < 0) {
        return;
    }
    n = (size_t) (n + m) >= sizeof line - 48 ? (int) sizeof line - 48 : n + m;
    if (suppressed) {
        n += snprintf(line + n, sizeof line - n,
                      " (%llu similar lines suppressed)",
                      (unsigned long long) suppressed);
        /* snprintf() returns what it would have written: keep the '\n'
         * inside the buffer however long the count. */
        if (n > (int) sizeof line - 1) {
            n = (int) sizeof line - 1;
        }
    }
    line[n++] = '\n';
    /* One write per line keeps lines whole across threads. */
    if (write(STDERR_FILENO, line, n) < 0) {
        /* Nothing sensible to do when stderr is gone. */
    }
}

void
vlog_write(enum vlog_level level, const char *module, const char *fmt, ...)
{
    va_list args;

    if ((int) level > vlog_level) {
        return;
    }
    va_start(args, fmt);
    vlog_vwrite(level, module, 0, fmt, args);
    va_end(args);
}

bool
vlog_rate_allow(struct vlog_rate_limit *rl, int64_t now_ns)
{
    if (rl->last_ns) {
        rl->tokens += (double) (now_ns - rl->last_ns) * rl->per_second / 1e9;
        if (rl->tokens > rl->burst) {
            rl->tokens = rl->burst;
        }
    }
    rl->last_ns = now_ns;
    /* The epsilon absorbs rounding: ten refills of 0.1 sum to 0.99999... */
    if (rl->tokens >= 1.0 - 1e-9) {
        rl->tokens -= 1.0;
        return true;
    }
    rl->suppressed++;
    return false;
}

void
vlog_write_rl(struct vlog_rate_limit *rl, enum vlog_level level,
              const char *module, const char *fmt, ...)
{
    va_list args;
    uint64_t suppressed;

    if ((int) level > vlog_level || !vlog_rate_allow(rl, vtime_mono_ns())) {
        return;
    }
    suppressed = rl->suppressed;
    rl->suppressed = 0;
    va_start(args, fmt);
    vlog_vwrite(level, module, suppressed, fmt, args);
    va_end(args);
}
