/* complaint_rules.c - a complaint's class from its facts (complaint_rules.h). Pure; any
 * thread. */
#include "complaint_rules.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define DAY_S 86400

/* Appends one rule's sentence to reason, "；" between rules; cuts at len. */
static void reason_add(char *reason, size_t len, const char *text) {
    size_t used = strlen(reason);
    if (used >= len - 1) return;
    snprintf(reason + used, len - used, "%s%s", used ? "；" : "", text);
}

cl_complaint_class_t cl_complaint_classify(const cl_complaint_facts_t *f, char *reason,
                                           size_t len) {
    char major[256] = "", hot[256] = "", important[256] = "", s[96];
    if (f->legal) reason_add(major, sizeof major, "已进入诉讼");
    if (f->media) reason_add(major, sizeof major, "已被媒体曝光");
    if (f->complainants >= CL_COMPLAINT_MAJOR_COMPLAINANTS) {
        snprintf(s, sizeof s, "集体投诉%" PRId64 "人（10人及以上）", f->complainants);
        reason_add(major, sizeof major, s);
    }
    if (f->fault_open_s > (int64_t)CL_COMPLAINT_MAJOR_DAYS * DAY_S) {
        snprintf(s, sizeof s, "因我方原因超过%d天未解决", CL_COMPLAINT_MAJOR_DAYS);
        reason_add(major, sizeof major, s);
    }
    if (f->legal_risk) reason_add(hot, sizeof hot, "可能引发诉讼");
    if (f->media_risk) reason_add(hot, sizeof hot, "可能引发媒体曝光");
    if (f->same_issue >= CL_COMPLAINT_HOT_SAME_ISSUE) {
        snprintf(s, sizeof s, "%d天内同一问题%" PRId64 "位不同投诉人", CL_COMPLAINT_SAME_ISSUE_DAYS,
                 f->same_issue);
        reason_add(hot, sizeof hot, s);
    }
    if (f->complainants >= CL_COMPLAINT_HOT_COMPLAINANTS &&
        f->complainants < CL_COMPLAINT_MAJOR_COMPLAINANTS) {
        snprintf(s, sizeof s, "集体投诉%" PRId64 "人（3人及以上）", f->complainants);
        reason_add(hot, sizeof hot, s);
    }
    if (f->fault_open_s > (int64_t)CL_COMPLAINT_HOT_DAYS * DAY_S) {
        snprintf(s, sizeof s, "因我方原因超过%d天未解决", CL_COMPLAINT_HOT_DAYS);
        reason_add(hot, sizeof hot, s);
    }
    if (f->reopened) reason_add(important, sizeof important, "关闭后再次投诉");
    if (f->outside_support) reason_add(important, sizeof important, "需要外部支持");

    cl_complaint_class_t c = major[0]       ? CL_CCLASS_MAJOR
                             : hot[0]       ? CL_CCLASS_HOT
                             : important[0] ? CL_CCLASS_IMPORTANT
                                            : CL_CCLASS_ORDINARY;
    const char *why = c == CL_CCLASS_MAJOR ? major : c == CL_CCLASS_HOT ? hot : important;
    if (len > 0) snprintf(reason, len, "%s", c == CL_CCLASS_ORDINARY ? "" : why);
    return c;
}

/* ---- clocks ---------------------------------------------------------------------------- */

void cl_cclock_tick(cl_cclock_t *k, const cl_bizcal_t *cal, int64_t now) {
    if (!k->running) return;
    k->used += cl_bizcal_between(cal, k->running, now);
    k->running = now;
}

void cl_cclock_pause(cl_cclock_t *k) {
    k->running = 0;
}

void cl_cclock_resume(cl_cclock_t *k, int64_t now) {
    if (!k->stopped && !k->running) k->running = now;
}

void cl_cclock_stop(cl_cclock_t *k, int64_t now) {
    if (k->stopped) return;
    k->running = 0;
    k->stopped = now;
}

/* The instant share_s of the budget is used up, planned from now; keeps old once passed. */
static int64_t plan_at(const cl_bizcal_t *cal, int64_t now, int64_t share_s, int64_t used,
                       int64_t old) {
    if (share_s > used) {
        int64_t t = cl_bizcal_add(cal, now, share_s - used);
        return t < 0 ? 0 : t;
    }
    return old ? old : now;
}

void cl_cclock_plan(cl_cclock_t *k, const cl_bizcal_t *cal, int64_t now) {
    if (!k->running) {
        k->due = k->warn = 0;
        return;
    }
    k->due = plan_at(cal, now, k->budget, k->used, k->due);
    k->warn = plan_at(cal, now, k->budget * CL_CCLOCK_WARN_PERCENT / 100, k->used, k->warn);
}

/* "2小时15分" for s seconds (rounded down to the minute). */
static void hours_text(char *buf, size_t len, int64_t s) {
    if (s < 0) s = 0;
    snprintf(buf, len, "%" PRId64 "小时%02" PRId64 "分", s / 3600, s % 3600 / 60);
}

void cl_cclock_describe(char *buf, size_t len, const char *name, const cl_cclock_t *k,
                        const cl_bizcal_t *cal) {
    char s[160], used[32], left[32];
    hours_text(used, sizeof used, k->used);
    hours_text(left, sizeof left, k->budget - k->used);
    if (k->stopped) {
        snprintf(s, sizeof s, "%s：已完成", name);
    } else if (k->running && k->due) {
        int64_t local = k->due + cal->utc_offset_s;
        int32_t day = (int32_t)(local >= 0 ? local / 86400 : (local - 86399) / 86400);
        int64_t in_day = local - (int64_t)day * 86400;
        int y, m, d;
        cl_bizcal_date_of(day, &y, &m, &d);
        snprintf(s, sizeof s, "%s：已用%s，到期%04d-%02d-%02d %02d:%02d", name, used, y, m, d,
                 (int)(in_day / 3600), (int)(in_day % 3600 / 60));
    } else {
        snprintf(s, sizeof s, "%s：暂停，已用%s，剩余%s", name, used, left);
    }
    reason_add(buf, len, s);
}
