/* log.c - the key=value event logger declared in log.h. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static cl_log_level_t log_level = CL_LOG_INFO;
static const char *const level_names[] = {"debug", "info", "warn", "error"};

void cl_log_set_level(cl_log_level_t level) {
    log_level = level;
}

cl_log_level_t cl_log_get_level(void) {
    return log_level;
}

int cl_log_level_parse(const char *s, cl_log_level_t *out) {
    for (int i = 0; i < 4; i++) {
        if (strcasecmp(s, level_names[i]) == 0) {
            *out = (cl_log_level_t)i;
            return CL_OK;
        }
    }
    if (strcasecmp(s, "warning") == 0) {
        *out = CL_LOG_WARN;
        return CL_OK;
    }
    return CL_EINVAL;
}

void cl_log(cl_log_level_t level, const char *event, const char *fmt, ...) {
    if (level < log_level) return;
    struct timespec ts;
    struct tm tm;
    char stamp[40];
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);

    char line[2048];
    int n = snprintf(line, sizeof line, "%s.%03ldZ level=%s event=%s", stamp, ts.tv_nsec / 1000000,
                     level_names[level], event);
    if (n < 0) return;
    if (fmt && *fmt && (size_t)n < sizeof line - 1) {
        line[n++] = ' ';
        va_list ap;
        va_start(ap, fmt);
        int m = vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
        va_end(ap);
        if (m > 0) n += m;
    }
    if ((size_t)n >= sizeof line) n = (int)sizeof line - 1;
    line[n] = '\n';
    fwrite(line, 1, (size_t)n + 1, stderr);
}

const char *cl_log_quote(const char *s, char *buf, size_t len) {
    size_t o = 0;
    if (len < 3) {
        if (len) buf[0] = 0;
        return buf;
    }
    buf[o++] = '"';
    for (; s && *s && o + 5 < len; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            buf[o++] = '\\';
            buf[o++] = (char)c;
        } else if (c < 0x20 || c == 0x7f) {
            o += (size_t)snprintf(buf + o, len - o, "\\x%02x", c);
        } else {
            buf[o++] = (char)c;
        }
    }
    buf[o++] = '"';
    buf[o] = 0;
    return buf;
}
