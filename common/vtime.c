/* vtime: clocks and ISO-8601 time stamps (see vtime.h). */
#include "vtime.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static int64_t
clock_ns(clockid_t id)
{
    struct timespec ts;

    clock_gettime(id, &ts);
    return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t
vtime_mono_ns(void)
{
    return clock_ns(CLOCK_MONOTONIC);
}

int64_t
vtime_real_ns(void)
{
    return clock_ns(CLOCK_REALTIME);
}

char *
vtime_format_iso(int64_t real_ns, char *buf, size_t size)
{
    int64_t rem = real_ns % 1000000000;
    time_t secs = (time_t) (real_ns / 1000000000 - (rem < 0));
    long usec = (long) ((rem < 0 ? rem + 1000000000 : rem) / 1000);
    struct tm tm;

    gmtime_r(&secs, &tm);
    snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ",
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
             tm.tm_hour, tm.tm_min, tm.tm_sec, usec);
    return buf;
}

/* Reads exactly 'n' digits at '*p' into '*out', advancing '*p'. */
static int
read_digits(const char **p, int n, int *out)
{
    int v = 0;

    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char) (*p)[i])) {
            return -EINVAL;
        }
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return 0;
}

static int
days_in_month(int year, int month)
{
    static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

    return month == 2 ? 28 + leap : days[month - 1];
}

static int
parse_zone(const char *p, int *offset_s)
{
    int sign, hh, mm;

    if (*p == '\0') {
        *offset_s = 0;
        return 0;
    }
    if ((*p == 'Z' || *p == 'z') && p[1] == '\0') {
        *offset_s = 0;
        return 0;
    }
    if (*p != '+' && *p != '-') {
        return -EINVAL;
    }
    sign = *p == '-' ? -1 : 1;
    p++;
    if (read_digits(&p, 2, &hh)) {
        return -EINVAL;
    }
    if (*p == ':') {
        p++;
    }
    if (read_digits(&p, 2, &mm) || *p != '\0' || hh > 23 || mm > 59) {
        return -EINVAL;
    }
    *offset_s = sign * (hh * 3600 + mm * 60);
    return 0;
}

int
vtime_parse_iso(const char *text, int64_t *real_ns)
{
    const char *p = text;
    int year, mon, day, hh, mi, ss, offset_s;
    int64_t frac_ns = 0, secs;
    struct tm tm;

    if (!text || strlen(text) > 64) {
        return -EINVAL;
    }
    if (read_digits(&p, 4, &year) || *p++ != '-' ||
        read_digits(&p, 2, &mon) || *p++ != '-' ||
        read_digits(&p, 2, &day) || (*p != 'T' && *p != 't' && *p != ' ')) {
        return -EINVAL;
    }
    p++;
    if (read_digits(&p, 2, &hh) || *p++ != ':' ||
        read_digits(&p, 2, &mi) || *p++ != ':' ||
        read_digits(&p, 2, &ss)) {
        return -EINVAL;
    }
    if (year < 1970 || mon < 1 || mon > 12 || day < 1 ||
        day > days_in_month(year, mon) || hh > 23 || mi > 59 || ss > 60) {
        return -EINVAL;
    }
    if (*p == '.' || *p == ',') {
        int64_t scale = 100000000;
        int ndigits = 0;

        p++;
        while (isdigit((unsigned char) *p)) {
            if (++ndigits > 9) {
                return -EINVAL;
            }
            frac_ns += (*p - '0') * scale;
            scale /= 10;
            p++;
        }
        if (ndigits == 0) {
            return -EINVAL;
        }
    }
    if (parse_zone(p, &offset_s)) {
        return -EINVAL;
    }
    memset(&tm, 0, sizeof tm);
    tm.tm_year = year - 1900;
    tm.tm_mon = mon - 1;
    tm.tm_mday = day;
    tm.tm_hour = hh;
    tm.tm_min = mi;
    tm.tm_sec = ss;
    secs = (int64_t) timegm(&tm) - offset_s;
    /* Before the epoch (through an offset) or past 2262: not representable
     * as non-negative int64 nanoseconds. */
    if (secs < 0 || secs > (INT64_MAX - frac_ns) / 1000000000) {
        return -EINVAL;
    }
    *real_ns = secs * 1000000000 + frac_ns;
    return 0;
}
