/* log.h - one line per event on stderr: timestamp, level, event, then key=value fields.
 *
 *   2026-11-22T09:40:00.123Z level=info event=conn_open conn=7 peer=127.0.0.1:50312
 *
 * Callers pass the fields as a printf format of space-separated key=value pairs; values
 * that may hold spaces or quotes go through cl_log_quote first. The level is global and
 * set once at start-up; logging is safe from one thread at a time per line (stdio). */
#ifndef CL_LOG_H
#define CL_LOG_H

#include <stddef.h>

#include "cl_err.h"

typedef enum cl_log_level {
    CL_LOG_DEBUG = 0,
    CL_LOG_INFO = 1,
    CL_LOG_WARN = 2,
    CL_LOG_ERROR = 3,
} cl_log_level_t;

void cl_log_set_level(cl_log_level_t level);
cl_log_level_t cl_log_get_level(void);

/* Parses "debug", "info", "warn" or "error". Returns CL_OK or CL_EINVAL. */
CL_MUSTCHECK int cl_log_level_parse(const char *s, cl_log_level_t *out);

void cl_log(cl_log_level_t level, const char *event, const char *fmt, ...) CL_PRINTF(3, 4);

/* Writes s into buf as a double-quoted value with \" \\ and control bytes escaped,
 * truncated to fit; returns buf. */
const char *cl_log_quote(const char *s, char *buf, size_t len);

#define cl_log_debug(ev, ...) cl_log(CL_LOG_DEBUG, ev, __VA_ARGS__)
#define cl_log_info(ev, ...)  cl_log(CL_LOG_INFO, ev, __VA_ARGS__)
#define cl_log_warn(ev, ...)  cl_log(CL_LOG_WARN, ev, __VA_ARGS__)
#define cl_log_error(ev, ...) cl_log(CL_LOG_ERROR, ev, __VA_ARGS__)

#endif
