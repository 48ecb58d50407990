/* resv_time: epoch seconds and their wire forms (see resv_time.h).
 *
 * Conversions use Howard Hinnant's days-from-civil arithmetic instead of
 * timegm()/gmtime_r(), so that they cover years up to 9999 without the
 * 64-bit nanosecond limit of vtime (year 2262) and without locale or
 * time-zone state. */
#include "resv_time.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "vtime.h"

/* Days since 1970-01-01 of the proleptic Gregorian date y-m-d. */
static int64_t
resv_time_days_from_civil(int64_t y, int m, int d)
{
    int64_t era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void
resv_time_civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    int64_t era, doe, yoe, doy, mp;

    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d = (int) (doy - (153 * mp + 2) / 5 + 1);
    *m = (int) (mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static int
resv_time_days_in_month(int64_t year, int month)
{
    static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30,
                                31 };
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

    return month == 2 ? 28 + leap : days[month - 1];
}

/* Reads exactly 'n' digits. */
static int
resv_time_digits(const char **p, int n, int *out)
{
    int v = 0;

    for (int i = 0; i < n; i++) {
        char c = (*p)[i];

        if (c < '0' || c > '9') {
            return -EINVAL;
        }
        v = v * 10 + (c - '0');
    }
    *p += n;
    *out = v;
    return 0;
}

static int
resv_time_parse_iso(const char *p, int64_t *out)
{
    int year, mon, day, hh, mi, ss, zh = 0, zm = 0, sign = 0;
    int64_t t;

    if (resv_time_digits(&p, 4, &year) || *p++ != '-' ||
        resv_time_digits(&p, 2, &mon) || *p++ != '-' ||
        resv_time_digits(&p, 2, &day) || (*p != 'T' && *p != 't' &&
                                          *p != ' ')) {
        return -EINVAL;
    }
    p++;
    if (resv_time_digits(&p, 2, &hh) || *p++ != ':' ||
        resv_time_digits(&p, 2, &mi) || *p++ != ':' ||
        resv_time_digits(&p, 2, &ss)) {
        return -EINVAL;
    }
    if (*p == '.' || *p == ',') {
        int digits = 0;

        for (p++; *p >= '0' && *p <= '9'; p++, digits++) {
            if (*p != '0' || digits >= 9) {
                return -EINVAL;     /* sub-second precision */
            }
        }
        if (!digits) {
            return -EINVAL;
        }
    }
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        sign = *p++ == '+' ? 1 : -1;
        if (resv_time_digits(&p, 2, &zh)) {
            return -EINVAL;
        }
        if (*p == ':') {
            p++;
        }
        if (resv_time_digits(&p, 2, &zm) || zh > 23 || zm > 59) {
            return -EINVAL;
        }
    }
    if (*p || mon < 1 || mon > 12 || day < 1 ||
        day > resv_time_days_in_month(year, mon) || hh > 23 || mi > 59 ||
        ss > 59) {
        return -EINVAL;
    }
    t = resv_time_days_from_civil(year, mon, day) * 86400 + hh * 3600 +
        mi * 60 + ss - sign * (zh * 3600 + zm * 60);
    if (t < RESV_TIME_MIN || t > RESV_TIME_MAX) {
        return -EINVAL;
    }
    *out = t;
    return 0;
}

int
resv_time_parse(const char *text, int64_t *out)
{
    int64_t t = 0;
    size_t n = strspn(text, "0123456789");

    if (n && !text[n]) {
        if (n > 12) {
            return -EINVAL;
        }
        for (size_t i = 0; i < n; i++) {
            t = t * 10 + (text[i] - '0');
        }
        if (t > RESV_TIME_MAX) {
            return -EINVAL;
        }
        *out = t;
        return 0;
    }
    return resv_time_parse_iso(text, out);
}

int
resv_time_from_json(const json_t *value, int64_t *out)
{
    if (json_is_integer(value)) {
        json_int_t t = json_integer_value(value);

        if (t < RESV_TIME_MIN || t > RESV_TIME_MAX) {
            return -EINVAL;
        }
        *out = (int64_t) t;
        return 0;
    }
    if (json_is_string(value) && json_string_length(value) < 64 &&
        strlen(json_string_value(value)) == json_string_length(value)) {
        const char *text = json_string_value(value);

        /* A string of digits would be ambiguous next to ISO: numbers go
         * as JSON integers. */
        if (strspn(text, "0123456789") == strlen(text)) {
            return -EINVAL;
        }
        return resv_time_parse_iso(text, out);
    }
    return -EINVAL;
}

/* Writes 'v' (>= 0) as exactly 'n' decimal digits at 'p'. */
static char *
resv_time_put(char *p, int64_t v, int n)
{
    for (int i = n - 1; i >= 0; i--) {
        p[i] = (char) ('0' + v % 10);
        v /= 10;
    }
    return p + n;
}

char *
resv_time_format(int64_t t, char *buf, size_t size)
{
    int64_t days, secs, year;
    char text[RESV_TIME_SIZE], *p = text;
    int mon, day;

    if (t < RESV_TIME_MIN) {
        t = RESV_TIME_MIN;
    } else if (t > RESV_TIME_MAX) {
        t = RESV_TIME_MAX;
    }
    days = t / 86400;
    secs = t % 86400;
    resv_time_civil_from_days(days, &year, &mon, &day);
    /* By hand: this runs several times for every answer. */
    p = resv_time_put(p, year, 4);
    *p++ = '-';
    p = resv_time_put(p, mon, 2);
    *p++ = '-';
    p = resv_time_put(p, day, 2);
    *p++ = 'T';
    p = resv_time_put(p, secs / 3600, 2);
    *p++ = ':';
    p = resv_time_put(p, secs / 60 % 60, 2);
    *p++ = ':';
    p = resv_time_put(p, secs % 60, 2);
    *p++ = 'Z';
    *p = '\0';
    if (size) {
        size_t n = (size_t) (p - text) < size - 1 ? (size_t) (p - text)
                                                  : size - 1;

        memcpy(buf, text, n);
        buf[n] = '\0';
    }
    return buf;
}

json_t *
resv_time_to_json(int64_t t)
{
    char buf[RESV_TIME_SIZE];

    return json_string(resv_time_format(t, buf, sizeof buf));
}

int64_t
resv_time_now(void)
{
    return vtime_real_ns() / 1000000000;
}
