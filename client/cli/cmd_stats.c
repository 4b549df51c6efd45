/* cmd_stats.c - `cloop stats`: HQ statistics (the measures of docs/STATS.md over a
 * filter, grouped by up to two dimensions), `cloop stats scorecard`: the contractors'
 * monthly scorecards, `cloop stats kpi` and `cloop stats repair`: the complaint KPIs and
 * the repair-service scorecard per city company and month.
 *
 * Filters name companies, projects and contractors by name or id (a name is looked up in
 * the lists the user may read), the category by trade code or Chinese name (the server
 * resolves it), the round by kind or label. The answer (stats_client.h) is printed as one
 * table: an aligned table with Chinese headers for people (one group: a list of each
 * measure's Chinese name, its docs/STATS.md name and its figure),
 * absent figures as "—"; CSV and JSON keyed by the measures' names, absent figures empty
 * (CSV) or null (JSON). A truncated answer, or one read from a replica that lags, is said
 * on stderr. Single-threaded; every message and table is freed before the command returns. */
#include <ctype.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_util.h"
#include "cloop.h"
#include "session_store.h"
#include "stats_client.h"

#define ABSENT "—" /* an absent figure in the table */

typedef Closeloop__StatsRow pb_row_t;

/* ---- dimensions ----------------------------------------------------------------------- */

/* A grouping dimension as people and scripts name it. The English word is the proto enum
 * value's name after "STATS_DIM_", lowercased (dim_word), so it is never spelt here. */
static const struct dim_info {
    Closeloop__StatsDim dim;
    const char *zh;      /* the table header */
    const char *id_key;  /* CSV/JSON column of the key's id or code; NULL: none */
    const char *name_sx; /* suffix of the CSV/JSON column of its name ("" : the dim word) */
} dims[] = {
    {CLOSELOOP__STATS_DIM__STATS_DIM_COMPANY, "公司", "id", ""},
    {CLOSELOOP__STATS_DIM__STATS_DIM_PROJECT, "项目", "id", ""},
    {CLOSELOOP__STATS_DIM__STATS_DIM_CONTRACTOR, "施工单位", "id", ""},
    {CLOSELOOP__STATS_DIM__STATS_DIM_CATEGORY, "专业", "code", ""},
    {CLOSELOOP__STATS_DIM__STATS_DIM_LAYOUT, "户型", NULL, ""},
    {CLOSELOOP__STATS_DIM__STATS_DIM_ROUND, "轮次", "code", ""},
    {CLOSELOOP__STATS_DIM__STATS_DIM_MONTH, "月份", NULL, ""},
    {CLOSELOOP__STATS_DIM__STATS_DIM_WEEK, "周", NULL, "_start"},
};
#define NDIMS (sizeof dims / sizeof dims[0])

/* "company" ... "week" for a dimension, into out. */
static const char *dim_word(Closeloop__StatsDim d, char out[24]) {
    const ProtobufCEnumValue *v =
        protobuf_c_enum_descriptor_get_value(&closeloop__stats_dim__descriptor, (int)d);
    static const char prefix[] = "STATS_DIM_";
    out[0] = '\0';
    if (!v || strncmp(v->name, prefix, sizeof prefix - 1) != 0) return out;
    size_t i = 0;
    for (const char *s = v->name + sizeof prefix - 1; *s && i < 23; s++)
        out[i++] = (char)tolower((unsigned char)*s);
    out[i] = '\0';
    return out;
}

static const struct dim_info *dim_find(Closeloop__StatsDim d) {
    for (size_t i = 0; i < NDIMS; i++)
        if (dims[i].dim == d) return &dims[i];
    return NULL;
}

/* A --by item: the English word or the Chinese header. 0, or -1 when unknown. */
static int dim_parse(const char *s, size_t len, Closeloop__StatsDim *out) {
    for (size_t i = 0; i < NDIMS; i++) {
        char w[24];
        dim_word(dims[i].dim, w);
        if ((strlen(w) == len && strncmp(w, s, len) == 0) ||
            (strlen(dims[i].zh) == len && strncmp(dims[i].zh, s, len) == 0)) {
            *out = dims[i].dim;
            return 0;
        }
    }
    return -1;
}

static void dims_accepted(char *buf, size_t n) {
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < NDIMS && used < n; i++) {
        char w[24];
        int k = snprintf(buf + used, n - used, "%s%s", i ? ", " : "", dim_word(dims[i].dim, w));
        if (k < 0) break;
        used += (size_t)k;
    }
}

/* ---- measures ------------------------------------------------------------------------- */

typedef enum mkind {
    M_COUNT,   /* a uint64_t field */
    M_RATE,    /* a Figure, a fraction shown as a percentage */
    M_DEC2,    /* a Figure with two decimals */
    M_DEC1,    /* a Figure with one decimal */
    M_DAYS,    /* a Figure holding whole days */
    M_TL,      /* a TimelinessCounts field, by its Timeliness wire value */
    M_REASONS, /* the not-taken reasons */
} mkind_t;

/* Every measure of a StatsRow in the order shown: its name (docs/STATS.md, the CSV/JSON
 * key), its Chinese header and where it is. Timeliness names and labels come from the
 * registry. */
static const struct measure {
    const char *key;
    const char *zh;
    mkind_t kind;
    size_t off; /* offset in Closeloop__StatsRow; the wire value for M_TL */
} measures[] = {
#define CNT(k, zh)                                                                                 \
    { #k, zh, M_COUNT, offsetof(pb_row_t, k) }
#define FIG(k, zh, kind)                                                                           \
    { #k, zh, kind, offsetof(pb_row_t, k) }
    CNT(units_inspected, "查验户数"),
    CNT(units_total, "总户数"),
    CNT(items_found, "发现问题数"),
    FIG(items_per_unit, "户均问题数", M_DEC2),
    CNT(tickets_opened, "新开工单"),
    CNT(tickets_closed, "验收关闭"),
    CNT(tickets_nofix, "不予维修"),
    CNT(open_now, "当前未关闭"),
    CNT(overdue_now, "当前超期"),
    CNT(closed_of_opened, "已关闭(本期开单)"),
    CNT(nofix_of_opened, "不予维修(本期开单)"),
    FIG(closure_rate, "关闭率", M_RATE),
    CNT(verifications, "复验次数"),
    CNT(reworks, "返工次数"),
    FIG(rework_rate, "返工率", M_RATE),
    FIG(close_p50_days, "关闭天数P50", M_DAYS),
    FIG(close_p90_days, "关闭天数P90", M_DAYS),
    {NULL, NULL, M_TL, CLOSELOOP__TIMELINESS__TIMELINESS_NO_DEADLINE},
    {NULL, NULL, M_TL, CLOSELOOP__TIMELINESS__TIMELINESS_OVERDUE_OPEN},
    {NULL, NULL, M_TL, CLOSELOOP__TIMELINESS__TIMELINESS_IN_TIME_OPEN},
    {NULL, NULL, M_TL, CLOSELOOP__TIMELINESS__TIMELINESS_CLOSED_LATE},
    {NULL, NULL, M_TL, CLOSELOOP__TIMELINESS__TIMELINESS_CLOSED_IN_TIME},
    CNT(units_accepted, "接房户数"),
    CNT(units_accepted_with_items, "带问题接房"),
    CNT(units_not_taken, "未接房户数"),
    {"not_taken_reasons", "未接房原因", M_REASONS, 0},
    CNT(defects_raised, "缺陷立项"),
    CNT(cases_raised, "新增案例"),
    CNT(checks_done, "检查点核查"),
    CNT(checks_found, "检查点复现"),
    CNT(repaired_reports, "维修上报"),
    FIG(response_hours_mean, "平均响应小时", M_DEC1),
#undef CNT
#undef FIG
};
#define NMEASURES (sizeof measures / sizeof measures[0])

static uint32_t tl_count(const Closeloop__TimelinessCounts *t, size_t wire) {
    if (!t) return 0;
    switch (wire) {
    case CLOSELOOP__TIMELINESS__TIMELINESS_NO_DEADLINE: return t->no_deadline;
    case CLOSELOOP__TIMELINESS__TIMELINESS_OVERDUE_OPEN: return t->overdue_open;
    case CLOSELOOP__TIMELINESS__TIMELINESS_IN_TIME_OPEN: return t->in_time_open;
    case CLOSELOOP__TIMELINESS__TIMELINESS_CLOSED_LATE: return t->closed_late;
    case CLOSELOOP__TIMELINESS__TIMELINESS_CLOSED_IN_TIME: return t->closed_in_time;
    default: return 0;
    }
}

/* The CSV/JSON key of measure m into buf. */
static const char *measure_key(const struct measure *m, char *buf, size_t n) {
    if (m->kind == M_TL)
        snprintf(buf, n, "tl_%s", cli_enum_name(CL_DOM_TIMELINESS, (int)m->off));
    else
        snprintf(buf, n, "%s", m->key);
    return buf;
}

static const char *measure_zh(const struct measure *m) {
    return m->kind == M_TL ? cli_enum_label(CL_DOM_TIMELINESS, (int)m->off) : m->zh;
}

/* A figure for people (table, HTML): percentages, fixed decimals, "—" when absent. */
static void figure_text(const Closeloop__Figure *f, mkind_t kind, bool people, char *out,
                        size_t n) {
    if (!f) {
        snprintf(out, n, "%s", people ? ABSENT : "");
    } else if (!people) {
        snprintf(out, n, "%.6g", f->value);
    } else if (kind == M_RATE) {
        snprintf(out, n, "%.1f%%", f->value * 100.0);
    } else if (kind == M_DEC2) {
        snprintf(out, n, "%.2f", f->value);
    } else if (kind == M_DEC1) {
        snprintf(out, n, "%.1f", f->value);
    } else {
        snprintf(out, n, "%.0f", f->value);
    }
}

/* The reasons as "reason N；reason N" (people) or "reason:N;reason:N" (scripts); malloc'd. */
static char *reasons_text(const pb_row_t *r, bool people) {
    size_t len = 1;
    for (size_t i = 0; i < r->n_not_taken_reasons; i++)
        len += strlen(cli_str(r->not_taken_reasons[i]->reason)) + 32;
    char *s = malloc(len), *p = s;
    if (!s) return NULL;
    *p = '\0';
    for (size_t i = 0; i < r->n_not_taken_reasons; i++) {
        const Closeloop__ReasonCount *rc = r->not_taken_reasons[i];
        p += snprintf(p, len - (size_t)(p - s), people ? "%s%s %" PRIu32 : "%s%s:%" PRIu32,
                      i ? (people ? "；" : ";") : "", cli_str(rc->reason), rc->count);
    }
    return s;
}

/* The cell of measure m of row r into buf (or *owned, for the reasons). */
static const char *measure_cell(const struct measure *m, const pb_row_t *r, bool people, char *buf,
                                size_t n, char **owned) {
    switch (m->kind) {
    case M_COUNT:
        snprintf(buf, n, "%" PRIu64, *(const uint64_t *)((const char *)r + m->off));
        return buf;
    case M_TL: snprintf(buf, n, "%" PRIu32, tl_count(r->timeliness, m->off)); return buf;
    case M_REASONS: return (*owned = reasons_text(r, people)) ? *owned : "";
    default:
        figure_text(*(Closeloop__Figure *const *)((const char *)r + m->off), m->kind, people, buf,
                    n);
        return buf;
    }
}

/* ---- printing ------------------------------------------------------------------------- */

/* The key columns of grouping dimension d: people see one (its name, or the round's
 * label); scripts get the id or code too. */
typedef struct keycol {
    const struct dim_info *di;
    int with_id; /* a second column: id or code */
} keycol_t;

static const char *key_name(const Closeloop__StatsKey *k) {
    if (!k) return "";
    if (k->dim == CLOSELOOP__STATS_DIM__STATS_DIM_ROUND) {
        int w = cl_domain_parse(CL_DOM_ROUND_KIND, cli_str(k->code));
        if (w > 0) return cli_enum_label(CL_DOM_ROUND_KIND, w);
    }
    if (k->dim == CLOSELOOP__STATS_DIM__STATS_DIM_MONTH ||
        k->dim == CLOSELOOP__STATS_DIM__STATS_DIM_WEEK)
        return cli_str(k->code);
    return k->name && *k->name ? k->name : cli_str(k->code);
}

static const Closeloop__StatsKey *row_key(const pb_row_t *r, Closeloop__StatsDim d) {
    for (size_t i = 0; i < r->n_keys; i++)
        if (r->keys[i]->dim == d) return r->keys[i];
    return NULL;
}

/* One group as a 指标/名称/数值 list (people, no grouping): the measure's Chinese name, its
 * name in docs/STATS.md, its figure. */
static int print_one(const cli_settings_t *s, const pb_row_t *r) {
    static const char *const hdr[] = {"指标", "名称 (docs/STATS.md)", "数值"};
    cli_table_t *t = cli_new_table(3, hdr, 1u << 2);
    if (!t) return CLI_EXIT_FAIL;
    int rc = CLI_EXIT_OK;
    for (size_t i = 0; i < NMEASURES && rc == CLI_EXIT_OK; i++) {
        char buf[64], key[48], *owned = NULL;
        const char *row[3] = {measure_zh(&measures[i]), measure_key(&measures[i], key, sizeof key),
                              measure_cell(&measures[i], r, true, buf, sizeof buf, &owned)};
        if (cli_table_add(t, row) != CL_OK) rc = CLI_EXIT_FAIL;
        free(owned);
    }
    if (rc == CLI_EXIT_OK)
        rc = cli_print_table(s, t);
    else
        cli_errorf("out of memory");
    cli_table_free(t);
    return rc;
}

static int print_stats(const cli_settings_t *s, const Closeloop__StatsRequest *req,
                       const cli_stats_t *st) {
    bool people = s->format == CLI_FMT_TABLE || s->format == CLI_FMT_HTML;
    if (people && req->n_group_by == 0 && st->n == 1) return print_one(s, st->rows[0]);
    /* Columns: the keys, then every measure. */
    enum { MAXCOLS = 2 * 2 + NMEASURES };
    char names[MAXCOLS][48];
    const char *hdr[MAXCOLS];
    size_t nc = 0, first_measure;
    keycol_t kc[2] = {{NULL, 0}, {NULL, 0}};
    for (size_t i = 0; i < req->n_group_by; i++) {
        kc[i].di = dim_find(req->group_by[i]);
        char w[24];
        dim_word(req->group_by[i], w);
        if (people) {
            hdr[nc++] = kc[i].di->zh;
            continue;
        }
        if (kc[i].di->id_key) {
            kc[i].with_id = 1;
            snprintf(names[nc], sizeof names[nc], "%s_%s", w, kc[i].di->id_key);
            hdr[nc] = names[nc];
            nc++;
        }
        snprintf(names[nc], sizeof names[nc], "%s", w);
        hdr[nc] = names[nc];
        nc++;
        if (kc[i].di->name_sx[0]) { /* the week: its code, then its Monday */
            snprintf(names[nc], sizeof names[nc], "%s%s", w, kc[i].di->name_sx);
            hdr[nc] = names[nc];
            nc++;
        }
    }
    first_measure = nc;
    for (size_t i = 0; i < NMEASURES; i++) {
        if (people) {
            hdr[nc++] = measure_zh(&measures[i]);
        } else {
            hdr[nc] = measure_key(&measures[i], names[nc], sizeof names[nc]);
            nc++;
        }
    }
    cli_table_t *t = cli_table_new(nc, hdr);
    if (!t) {
        cli_errorf("out of memory");
        return CLI_EXIT_FAIL;
    }
    for (size_t i = first_measure; i < nc; i++)
        if (measures[i - first_measure].kind != M_REASONS) cli_table_set_numeric(t, i);
    if (!people)
        for (size_t i = 0; i < first_measure; i++)
            if (strcmp(hdr[i] + strlen(hdr[i]) - 3, "_id") == 0) cli_table_set_numeric(t, i);
    int rc = CLI_EXIT_OK;
    char cells[MAXCOLS][64];
    for (size_t r = 0; r < st->n && rc == CLI_EXIT_OK; r++) {
        const pb_row_t *row = st->rows[r];
        const char *cell[MAXCOLS];
        char *owned = NULL;
        size_t c = 0;
        for (size_t i = 0; i < req->n_group_by; i++) {
            const Closeloop__StatsKey *k = row_key(row, req->group_by[i]);
            if (people) {
                cell[c++] = key_name(k);
                continue;
            }
            if (kc[i].with_id) {
                if (kc[i].di->dim == CLOSELOOP__STATS_DIM__STATS_DIM_CATEGORY ||
                    kc[i].di->dim == CLOSELOOP__STATS_DIM__STATS_DIM_ROUND)
                    cell[c] = k ? cli_str(k->code) : "";
                else
                    cell[c] =
                        k ? (snprintf(cells[c], sizeof cells[c], "%" PRId64, k->id), cells[c]) : "";
                c++;
            }
            if (kc[i].di->name_sx[0]) { /* week: code, then the Monday */
                cell[c++] = k ? cli_str(k->code) : "";
                cell[c++] = k ? cli_str(k->name) : "";
            } else {
                cell[c++] = key_name(k);
            }
        }
        for (size_t i = 0; i < NMEASURES; i++, c++)
            cell[c] = measure_cell(&measures[i], row, people, cells[c], sizeof cells[c], &owned);
        if (cli_table_add(t, cell) != CL_OK) {
            cli_errorf("out of memory");
            rc = CLI_EXIT_FAIL;
        }
        free(owned);
    }
    if (rc == CLI_EXIT_OK) rc = cli_print_table(s, t);
    cli_table_free(t);
    return rc;
}

/* Says on stderr what the figures cannot show themselves. */
static void print_notes(const cli_stats_t *st) {
    if (st->truncated)
        fprintf(stderr,
                "cloop: 分组过多，只列出前 %zu 组 (truncated: narrow the filter or the "
                "grouping)\n",
                st->n);
    if (st->data_age_ms > 0)
        fprintf(stderr,
                "cloop: 数据延迟约 %.1f 秒 (the answering replica is %" PRIu64
                " ms behind the primary)\n",
                (double)st->data_age_ms / 1000.0, st->data_age_ms);
}

/* ---- names to ids ---------------------------------------------------------------------- */

typedef struct lookup {
    const char *name;
    int64_t id;
    int matches;
} lookup_t;

/* A page of companies, projects or contractors: items with meta (the id) and name. */
static int lookup_page(void *arg, const ProtobufCMessage *page) {
    lookup_t *l = arg;
    const ProtobufCFieldDescriptor *items =
        protobuf_c_message_descriptor_get_field_by_name(page->descriptor, "items");
    if (!items || items->type != PROTOBUF_C_TYPE_MESSAGE) return CL_EBADMSG;
    size_t n = *(const size_t *)((const char *)page + items->quantifier_offset);
    ProtobufCMessage *const *v =
        *(ProtobufCMessage *const *const *)((const char *)page + items->offset);
    for (size_t i = 0; i < n; i++) {
        const ProtobufCMessageDescriptor *d = v[i]->descriptor;
        const ProtobufCFieldDescriptor *fn =
            protobuf_c_message_descriptor_get_field_by_name(d, "name");
        const ProtobufCFieldDescriptor *fm =
            protobuf_c_message_descriptor_get_field_by_name(d, "meta");
        if (!fn || !fm) return CL_EBADMSG;
        const char *name = *(const char *const *)((const char *)v[i] + fn->offset);
        const Closeloop__Meta *meta = *(Closeloop__Meta *const *)((const char *)v[i] + fm->offset);
        if (name && strcmp(name, l->name) == 0) {
            l->id = meta ? meta->id : 0;
            l->matches++;
        }
    }
    return CL_OK;
}

/* --opt NAME|ID: an id as it is, a name looked up in the list request `list` answers. 0
 * with *out set, else the exit code after saying why. */
static int resolve(cli_session_t *ss, const char *opt, const char *v, uint16_t list,
                   const ProtobufCMessage *req, uint16_t page, int64_t *out) {
    *out = 0;
    if (!v) return CLI_EXIT_OK;
    uint64_t id;
    if (cli_parse_u64(v, 1, INT64_MAX, &id) == CL_OK) {
        *out = (int64_t)id;
        return CLI_EXIT_OK;
    }
    lookup_t l = {v, 0, 0};
    int rc = cli_session_stream(ss, list, req, page, lookup_page, &l);
    if (rc == CL_EFORBIDDEN) {
        /* The statistics may be open to a role that cannot list these (a clerk and the
         * companies): the id still works. */
        cli_errorf("stats: %s '%s': your role may not list them to find the name; give its id", opt,
                   v);
        return cli_exit_for(rc);
    }
    if (rc != CL_OK) return cli_session_fail(ss, rc);
    if (l.matches == 1 && l.id > 0) {
        *out = l.id;
        return CLI_EXIT_OK;
    }
    if (l.matches == 0)
        cli_errorf("stats: unknown %s '%s' (not an id or a name you can see)", opt, v);
    else
        cli_errorf("stats: %s '%s' matches %d records; give its id", opt, v, l.matches);
    return CLI_EXIT_FAIL;
}

/* ---- the commands ---------------------------------------------------------------------- */

/* "YYYY-MM" -> its first and last day. 0, or -1 when it is not a month. */
static int month_days(const char *m, char first[16], char last[16]) {
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (!m || strlen(m) != 7 || m[4] != '-') return -1;
    snprintf(first, 16, "%s-01", m);
    if (!cli_date_ok(first)) return -1;
    int y = atoi(m), mo = atoi(m + 5);
    int d = mdays[mo - 1] + (mo == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0));
    snprintf(last, 16, "%s-%02d", m, d);
    return 0;
}

/* The round kind of --round: its stored name, its label (第一轮模拟验收), or what site
 * staff say for the mock rounds (一次模拟, 二次模拟, 三次模拟). 0 with *out the name,
 * -1 after a usage error. */
static int round_parse(const char *v, const char **out) {
    static const struct {
        const char *said;
        Closeloop__RoundKind kind;
    } spoken[] = {
        {"一次模拟", CLOSELOOP__ROUND_KIND__ROUND_MOCK1},
        {"二次模拟", CLOSELOOP__ROUND_KIND__ROUND_MOCK2},
        {"三次模拟", CLOSELOOP__ROUND_KIND__ROUND_MOCK3},
    };
    int w = cl_domain_parse_label_n(CL_DOM_ROUND_KIND, v, strlen(v));
    for (size_t i = 0; w <= 0 && i < sizeof spoken / sizeof spoken[0]; i++)
        if (strcmp(v, spoken[i].said) == 0) w = (int)spoken[i].kind;
    if (w > 0) {
        *out = cli_enum_name(CL_DOM_ROUND_KIND, w);
        return 0;
    }
    int ignored;
    (void)cli_opt_enum("stats", "--round", v, CL_DOM_ROUND_KIND, &ignored); /* says why */
    return -1;
}

/* A scorecard's values, and the columns shown of them: for people (Chinese headers, the
 * rank as "2/7") and for machines (CSV and JSON: English names, ids, rank and peers). */
enum {
    SC_ID,
    SC_NAME,
    SC_TRADE,
    SC_TRADE_NAME,
    SC_TRADE_SHOWN,
    SC_ASSIGNED,
    SC_REPAIRED,
    SC_RESPONSE,
    SC_VERIFICATIONS,
    SC_REWORKS,
    SC_REWORK_RATE,
    SC_LATE,
    SC_OVERDUE,
    SC_RANK,
    SC_PEERS,
    SC_RANK_OF,
    SC_NVALUES
};
typedef struct {
    const char *head;
    int value;    /* SC_* */
    bool numeric; /* right-aligned */
} sc_col_t;
static const sc_col_t sc_people[] = {
    {"施工单位", SC_NAME, false},        {"专业", SC_TRADE_SHOWN, false},
    {"派单数", SC_ASSIGNED, true},       {"维修上报", SC_REPAIRED, true},
    {"平均响应小时", SC_RESPONSE, true}, {"复验次数", SC_VERIFICATIONS, true},
    {"返工次数", SC_REWORKS, true},      {"返工率", SC_REWORK_RATE, true},
    {"逾期维修", SC_LATE, true},         {"当前超期", SC_OVERDUE, true},
    {"排名", SC_RANK_OF, false}};
static const sc_col_t sc_machine[] = {{"contractor_id", SC_ID, true},
                                      {"contractor", SC_NAME, false},
                                      {"trade", SC_TRADE, false},
                                      {"trade_name", SC_TRADE_NAME, false},
                                      {"tickets_assigned", SC_ASSIGNED, true},
                                      {"repaired_reports", SC_REPAIRED, true},
                                      {"response_hours_mean", SC_RESPONSE, true},
                                      {"verifications", SC_VERIFICATIONS, true},
                                      {"reworks", SC_REWORKS, true},
                                      {"rework_rate", SC_REWORK_RATE, true},
                                      {"late_repairs", SC_LATE, true},
                                      {"overdue_open_now", SC_OVERDUE, true},
                                      {"rank", SC_RANK, true},
                                      {"peers", SC_PEERS, true}};
enum {
    SC_PEOPLE_NCOLS = sizeof sc_people / sizeof sc_people[0],
    SC_MACHINE_NCOLS = sizeof sc_machine / sizeof sc_machine[0]
};

static int stats_scorecard(const cli_settings_t *s, int argc, char **argv) {
    const char *month = NULL, *company = NULL, *trade = NULL, *pos[1];
    const cli_optdef_t defs[] = {
        {"--month", &month}, {"--company", &company}, {"--trade", &trade}, {NULL, NULL}};
    int npos;
    char first[16], last[16];
    if (cli_parse_args("stats scorecard", argc, argv, defs, pos, 0, &npos) < 0 ||
        cli_need("stats scorecard", "--month", month) < 0)
        return CLI_EXIT_USAGE;
    if (month_days(month, first, last) < 0) {
        cli_errorf("stats scorecard: invalid --month '%s': use YYYY-MM", month);
        return CLI_EXIT_USAGE;
    }
    if ((company && cli_utf8_arg_ok("stats scorecard", company) < 0) ||
        (trade && cli_utf8_arg_ok("stats scorecard", trade) < 0))
        return CLI_EXIT_USAGE;
    cli_session_t ss;
    int rc = cli_session_open(s, &ss);
    if (rc != CLI_EXIT_OK) return rc;
    Closeloop__ScorecardRequest req = CLOSELOOP__SCORECARD_REQUEST__INIT;
    Closeloop__CompanyListRequest creq = CLOSELOOP__COMPANY_LIST_REQUEST__INIT;
    req.month = (char *)month;
    req.trade = (char *)(trade ? trade : "");
    rc = resolve(&ss, "--company", company, CL_MSG_COMPANY_LIST_REQ, &creq.base,
                 CL_MSG_COMPANY_PAGE, &req.company_id);
    Closeloop__Scorecard *sc = NULL;
    if (rc == CLI_EXIT_OK) {
        int crc = cli_scorecard_fetch(ss.c, &req, &sc);
        if (crc != CL_OK) rc = cli_session_fail(&ss, crc);
    }
    if (rc == CLI_EXIT_OK) {
        bool people = s->format == CLI_FMT_TABLE || s->format == CLI_FMT_HTML;
        const sc_col_t *cols = people ? sc_people : sc_machine;
        size_t ncols = people ? SC_PEOPLE_NCOLS : SC_MACHINE_NCOLS;
        const char *head[SC_MACHINE_NCOLS];
        unsigned right = 0;
        for (size_t j = 0; j < ncols; j++) {
            head[j] = cols[j].head;
            if (cols[j].numeric) right |= 1u << j;
        }
        cli_table_t *t = cli_new_table(ncols, head, right);
        for (size_t i = 0; t && i < sc->n_rows && rc == CLI_EXIT_OK; i++) {
            const Closeloop__ScorecardRow *r = sc->rows[i];
            char b[SC_NVALUES][32];
            const char *v[SC_NVALUES], *cell[SC_MACHINE_NCOLS];
            for (size_t j = 0; j < SC_NVALUES; j++)
                v[j] = b[j];
            snprintf(b[SC_ID], 32, "%" PRId64, r->contractor_id);
            v[SC_NAME] = cli_str(r->contractor_name);
            v[SC_TRADE] = cli_str(r->trade);
            v[SC_TRADE_NAME] = cli_str(r->trade_name);
            v[SC_TRADE_SHOWN] = r->trade_name && *r->trade_name ? r->trade_name : v[SC_TRADE];
            snprintf(b[SC_ASSIGNED], 32, "%" PRIu64, r->tickets_assigned);
            snprintf(b[SC_REPAIRED], 32, "%" PRIu64, r->repaired_reports);
            figure_text(r->response_hours_mean, M_DEC1, people, b[SC_RESPONSE], 32);
            snprintf(b[SC_VERIFICATIONS], 32, "%" PRIu64, r->verifications);
            snprintf(b[SC_REWORKS], 32, "%" PRIu64, r->reworks);
            figure_text(r->rework_rate, M_RATE, people, b[SC_REWORK_RATE], 32);
            snprintf(b[SC_LATE], 32, "%" PRIu64, r->late_repairs);
            snprintf(b[SC_OVERDUE], 32, "%" PRIu64, r->overdue_open_now);
            snprintf(b[SC_RANK], 32, "%" PRIu32, r->rank);
            snprintf(b[SC_PEERS], 32, "%" PRIu32, r->peers);
            snprintf(b[SC_RANK_OF], 32, "%" PRIu32 "/%" PRIu32, r->rank, r->peers);
            for (size_t j = 0; j < ncols; j++)
                cell[j] = v[cols[j].value];
            if (cli_table_add(t, cell) != CL_OK) {
                cli_errorf("out of memory");
                rc = CLI_EXIT_FAIL;
            }
        }
        if (!t)
            rc = CLI_EXIT_FAIL;
        else if (rc == CLI_EXIT_OK)
            rc = cli_print_table(s, t);
        cli_table_free(t);
    }
    cl_msg_free(sc ? &sc->base : NULL);
    cli_session_close(&ss);
    return rc;
}

/* ---- KPIs per company and month ------------------------------------------------------- */

/* How a KPI figure is shown to people, by its name (docs/STATS.md). The names of the
 * complaint classes (major, hot, important) are the registry's stored names and take its
 * labels; a name the table does not know is shown under itself. */
typedef enum { K_COUNT, K_RATE, K_HOURS, K_AMOUNT } kkind_t;
static const struct kpi_label {
    const char *name;
    const char *zh;
    kkind_t kind;
} kpi_labels[] = {
    {"taken_in", "受理投诉", K_COUNT},
    {"closed", "关闭投诉", K_COUNT},
    {"open_now", "本月受理未关闭", K_COUNT},
    {"revisits", "回访次数", K_COUNT},
    {"revisits_satisfied", "满意回访", K_COUNT},
    {"satisfaction_rate", "满意率", K_RATE},
    {"reply_clocks", "应首次答复", K_COUNT},
    {"replies_in_time", "按时答复", K_COUNT},
    {"timeliness_rate", "及时率", K_RATE},
    {"closed_of_taken", "本月受理已关闭", K_COUNT},
    {"closure_rate", "封闭率", K_RATE},
    {"closed_revisited", "本月关闭已回访", K_COUNT},
    {"revisit_rate", "回访率", K_RATE},
    {"reports", "报修数", K_COUNT},
    {"responded", "已响应", K_COUNT},
    {"response_hours_mean", "平均响应工作小时", K_HOURS},
    {"in_budget", "时限内响应", K_COUNT},
    {"budget_decided", "应响应", K_COUNT},
    {"in_budget_rate", "时限内响应率", K_RATE},
    {"climbs_developer", "升级地产客服", K_COUNT},
    {"climbs_hotline", "升级400热线", K_COUNT},
    {"late_repairs", "逾期维修", K_COUNT},
    {"verifications", "复验次数", K_COUNT},
    {"verify_fails", "返工次数", K_COUNT},
    {"repeat_rework", "多次返修工单", K_COUNT},
    {"first_verifications", "首次复验", K_COUNT},
    {"first_passes", "一次通过", K_COUNT},
    {"first_pass_rate", "一次通过率", K_RATE},
    {"deductions_approved", "扣款笔数", K_COUNT},
    {"deducted_amount", "扣款金额", K_AMOUNT},
    {"third_party_jobs", "第三方维修", K_COUNT},
};

static const struct kpi_label *kpi_label(const char *name) {
    for (size_t i = 0; i < sizeof kpi_labels / sizeof kpi_labels[0]; i++)
        if (strcmp(kpi_labels[i].name, name) == 0) return &kpi_labels[i];
    return NULL;
}

static const char *kpi_zh(const char *name) {
    int cls = cl_domain_parse(CL_DOM_COMPLAINT_CLASS, name);
    if (cls > 0) return cli_enum_label(CL_DOM_COMPLAINT_CLASS, cls);
    const struct kpi_label *l = kpi_label(name);
    return l ? l->zh : name;
}

/* A figure's value: for people by its kind, "—" when absent; for machines the number as it
 * is (whole numbers without decimals), empty when absent. */
static void kpi_value_text(const Closeloop__Figure *f, const char *name, bool people, char *out,
                           size_t n) {
    const struct kpi_label *l = kpi_label(name);
    kkind_t kind = l ? l->kind : K_COUNT;
    if (!f)
        snprintf(out, n, "%s", people ? ABSENT : "");
    else if (people && kind == K_RATE)
        snprintf(out, n, "%.1f%%", f->value * 100.0);
    else if (people && kind == K_HOURS)
        snprintf(out, n, "%.1f", f->value);
    else if (people && kind == K_AMOUNT)
        snprintf(out, n, "%.2f", f->value);
    else if (f->value == (double)(int64_t)f->value)
        snprintf(out, n, "%" PRId64, (int64_t)f->value);
    else
        snprintf(out, n, "%.6g", f->value);
}

#define KPI_MAX_COLS 32 /* the table's numeric-column mask is an unsigned */

/* The columns of a report: company (and section for the scorecard), then every figure name
 * in the server's order, each with a target followed by its target and verdict. */
typedef struct {
    const char *name; /* the figure's name */
    int part;         /* 0 value, 1 target, 2 verdict */
} kpi_col_t;

/* The table of a KPI report; for HTML a titled A4 landscape page of month (YYYY-MM). */
static int print_kpi(const cli_settings_t *s, const Closeloop__KpiReport *rep, bool sections,
                     const char *month) {
    bool people = s->format == CLI_FMT_TABLE || s->format == CLI_FMT_HTML;
    kpi_col_t cols[KPI_MAX_COLS];
    size_t nfix = people ? 1 + (sections ? 1 : 0) : 2 + (sections ? 1 : 0), nc = nfix;
    /* The figures of every row, or with none the report's columns. */
    for (size_t i = 0; i < (rep->n_rows ? rep->n_rows : 1); i++) {
        size_t nf = rep->n_rows ? rep->rows[i]->n_figures : rep->n_columns;
        Closeloop__KpiFigure *const *figs = rep->n_rows ? rep->rows[i]->figures : rep->columns;
        for (size_t j = 0; j < nf; j++) {
            const Closeloop__KpiFigure *f = figs[j];
            bool seen = false;
            for (size_t k = nfix; k < nc && !seen; k++)
                seen = strcmp(cols[k].name, f->name) == 0;
            if (seen) continue;
            for (int part = 0; part < (f->target ? 3 : 1); part++) {
                if (nc == KPI_MAX_COLS) {
                    cli_errorf("stats: the report has more columns than cloop shows");
                    return CLI_EXIT_FAIL;
                }
                cols[nc++] = (kpi_col_t){f->name, part};
            }
        }
    }
    char heads[KPI_MAX_COLS][96];
    const char *head[KPI_MAX_COLS];
    unsigned right = 0;
    size_t c = 0;
    if (!people) {
        right |= 1u; /* the id: a number in JSON */
        snprintf(heads[c++], 96, "company_id");
    }
    snprintf(heads[c++], 96, "%s", people ? "公司" : "company");
    if (sections) snprintf(heads[c++], 96, "%s", people ? "类别" : "section");
    for (; c < nc; c++) {
        static const char *const zh_part[] = {"", "目标", "达标"};
        static const char *const en_part[] = {"", "_target", "_met"};
        if (people)
            snprintf(heads[c], 96, "%s%s", kpi_zh(cols[c].name), zh_part[cols[c].part]);
        else
            snprintf(heads[c], 96, "%s%s", cols[c].name, en_part[cols[c].part]);
        if (cols[c].part != 2) right |= 1u << c;
    }
    for (size_t k = 0; k < nc; k++)
        head[k] = heads[k];
    cli_table_t *t = cli_new_table(nc, head, right);
    int rc = t ? CLI_EXIT_OK : CLI_EXIT_FAIL;
    for (size_t i = 0; t && i < rep->n_rows && rc == CLI_EXIT_OK; i++) {
        const Closeloop__KpiRow *r = rep->rows[i];
        char cells[KPI_MAX_COLS][48];
        const char *cell[KPI_MAX_COLS];
        size_t k = 0;
        if (!people) snprintf(cells[k++], 48, "%" PRId64, r->company_id);
        snprintf(cells[k++], 48, "%s", cli_str(r->company_name));
        if (sections) {
            int w = cl_domain_parse(CL_DOM_ROUND_KIND, cli_str(r->section));
            snprintf(cells[k++], 48, "%s",
                     people && w > 0 ? cli_enum_label(CL_DOM_ROUND_KIND, w) : cli_str(r->section));
        }
        for (; k < nc; k++) {
            const Closeloop__KpiFigure *f = NULL;
            for (size_t j = 0; j < r->n_figures && !f; j++)
                if (strcmp(r->figures[j]->name, cols[k].name) == 0) f = r->figures[j];
            if (!f) {
                snprintf(cells[k], 48, "%s", people ? ABSENT : "");
            } else if (cols[k].part == 0) {
                kpi_value_text(f->value, f->name, people, cells[k], 48);
            } else if (cols[k].part == 1) {
                if (!f->target)
                    snprintf(cells[k], 48, "%s", people ? ABSENT : "");
                else if (people)
                    snprintf(cells[k], 48, "%s%.0f%%", f->strict ? ">" : "≥",
                             f->target->value * 100.0);
                else
                    snprintf(cells[k], 48, "%s%.6g", f->strict ? ">" : ">=", f->target->value);
            } else {
                /* A verdict only for a rate that has a value and a target. */
                snprintf(cells[k], 48, "%s",
                         !f->value || !f->target ? (people ? ABSENT : "")
                         : f->met                ? (people ? "达标" : "yes")
                                                 : (people ? "未达标" : "no"));
            }
        }
        for (size_t j = 0; j < nc; j++)
            cell[j] = cells[j];
        if (cli_table_add(t, cell) != CL_OK) {
            cli_errorf("out of memory");
            rc = CLI_EXIT_FAIL;
        }
    }
    if (t && rc == CLI_EXIT_OK && s->format == CLI_FMT_HTML) {
        char title[160];
        snprintf(title, sizeof title, "%s %d年%d月",
                 sections ? "维修服务月度考核 Repair-service scorecard"
                          : "投诉处理指标 Complaint KPIs",
                 atoi(month), atoi(month + 5));
        const cli_html_page_t page = {
            .title = title,
            .subtitle = sections ? "各城市公司：保修报修与房屋交付维修的响应、拖延、返修与质量"
                                   "（定义见 docs/STATS.md）"
                                 : "集团目标：处理满意率>80%，及时率≥90%，封闭率100%，回访率100%"
                                   "（定义见 docs/STATS.md）",
            .landscape = 1,
        };
        rc = cli_table_print_html(t, &page, stdout) == CL_OK ? CLI_EXIT_OK : cli_write_failed();
    } else if (t && rc == CLI_EXIT_OK) {
        rc = cli_print_table(s, t);
    }
    cli_table_free(t);
    return rc;
}

/* `cloop stats kpi` (the complaint KPIs) and `cloop stats repair` (the repair-service
 * scorecard): --month YYYY-MM [--company NAME|ID]. */
static int stats_kpi(const cli_settings_t *s, int argc, char **argv, bool repair) {
    const char *what = repair ? "stats repair" : "stats kpi";
    const char *month = NULL, *company = NULL, *pos[1];
    const cli_optdef_t defs[] = {{"--month", &month}, {"--company", &company}, {NULL, NULL}};
    int npos;
    char first[16], last[16];
    if (cli_parse_args(what, argc, argv, defs, pos, 0, &npos) < 0 ||
        cli_need(what, "--month", month) < 0)
        return CLI_EXIT_USAGE;
    if (month_days(month, first, last) < 0) {
        cli_errorf("%s: invalid --month '%s': use YYYY-MM", what, month);
        return CLI_EXIT_USAGE;
    }
    if (company && cli_utf8_arg_ok(what, company) < 0) return CLI_EXIT_USAGE;
    cli_session_t ss;
    int rc = cli_session_open(s, &ss);
    if (rc != CLI_EXIT_OK) return rc;
    Closeloop__KpiRequest req = CLOSELOOP__KPI_REQUEST__INIT;
    Closeloop__CompanyListRequest creq = CLOSELOOP__COMPANY_LIST_REQUEST__INIT;
    req.month = (char *)month;
    rc = resolve(&ss, "--company", company, CL_MSG_COMPANY_LIST_REQ, &creq.base,
                 CL_MSG_COMPANY_PAGE, &req.company_id);
    Closeloop__KpiReport *rep = NULL;
    if (rc == CLI_EXIT_OK) {
        int crc =
            cli_kpi_fetch(ss.c, repair ? CL_MSG_REPAIR_SCORECARD_REQ : CL_MSG_KPI_REQ, &req, &rep);
        if (crc != CL_OK) rc = cli_session_fail(&ss, crc);
    }
    if (rc == CLI_EXIT_OK) rc = print_kpi(s, rep, repair, month);
    cl_msg_free(rep ? &rep->base : NULL);
    cli_session_close(&ss);
    return rc;
}

int cmd_stats(const cli_settings_t *s, int argc, char **argv) {
    if (argc > 0 && strcmp(argv[0], "scorecard") == 0)
        return stats_scorecard(s, argc - 1, argv + 1);
    if (argc > 0 && strcmp(argv[0], "kpi") == 0) return stats_kpi(s, argc - 1, argv + 1, false);
    if (argc > 0 && strcmp(argv[0], "repair") == 0) return stats_kpi(s, argc - 1, argv + 1, true);
    const char *company = NULL, *project = NULL, *contractor = NULL, *category = NULL,
               *layout = NULL, *round = NULL, *from = NULL, *to = NULL, *month = NULL, *by = NULL,
               *pos[1];
    const cli_optdef_t defs[] = {{"--company", &company},
                                 {"--project", &project},
                                 {"--contractor", &contractor},
                                 {"--category", &category},
                                 {"--layout", &layout},
                                 {"--round", &round},
                                 {"--from", &from},
                                 {"--to", &to},
                                 {"--month", &month},
                                 {"--by", &by},
                                 {NULL, NULL}};
    int npos;
    if (cli_parse_args("stats", argc, argv, defs, pos, 0, &npos) < 0) return CLI_EXIT_USAGE;
    const char *texts[] = {company, project, contractor, category, layout, round, by};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
        if (texts[i] && cli_utf8_arg_ok("stats", texts[i]) < 0) return CLI_EXIT_USAGE;
    char first[16], last[16];
    if (month) {
        if (from || to) {
            cli_errorf("stats: give --month or --from/--to, not both");
            return CLI_EXIT_USAGE;
        }
        if (month_days(month, first, last) < 0) {
            cli_errorf("stats: invalid --month '%s': use YYYY-MM", month);
            return CLI_EXIT_USAGE;
        }
        from = first;
        to = last;
    }
    if ((from && !cli_date_ok(from)) || (to && !cli_date_ok(to))) {
        cli_errorf("stats: invalid --%s '%s': use YYYY-MM-DD",
                   from && !cli_date_ok(from) ? "from" : "to",
                   from && !cli_date_ok(from) ? from : to);
        return CLI_EXIT_USAGE;
    }
    if (from && to && strcmp(from, to) > 0) {
        cli_errorf("stats: --from %s is after --to %s", from, to);
        return CLI_EXIT_USAGE;
    }
    Closeloop__StatsDim group[2];
    size_t ng = 0;
    if (by) {
        const char *p = by;
        while (*p) {
            size_t len = strcspn(p, ",");
            Closeloop__StatsDim d;
            char acc[160];
            if (ng == 2 || dim_parse(p, len, &d) < 0 || (ng == 1 && group[0] == d)) {
                dims_accepted(acc, sizeof acc);
                cli_errorf("stats: invalid --by '%s': one or two different of %s", by, acc);
                return CLI_EXIT_USAGE;
            }
            group[ng++] = d;
            p += len;
            if (*p == ',') p++;
        }
    }
    const char *round_kind = "";
    if (round && round_parse(round, &round_kind) < 0) return CLI_EXIT_USAGE;

    cli_session_t ss;
    int rc = cli_session_open(s, &ss);
    if (rc != CLI_EXIT_OK) return rc;
    Closeloop__StatsRequest req = CLOSELOOP__STATS_REQUEST__INIT;
    Closeloop__StatsFilter f = CLOSELOOP__STATS_FILTER__INIT;
    Closeloop__CompanyListRequest creq = CLOSELOOP__COMPANY_LIST_REQUEST__INIT;
    Closeloop__ProjectListRequest preq = CLOSELOOP__PROJECT_LIST_REQUEST__INIT;
    Closeloop__ContractorListRequest kreq = CLOSELOOP__CONTRACTOR_LIST_REQUEST__INIT;
    req.filter = &f;
    req.group_by = group;
    req.n_group_by = ng;
    f.category = (char *)(category ? category : "");
    f.layout = (char *)(layout ? layout : "");
    f.round = (char *)round_kind;
    f.from = (char *)(from ? from : "");
    f.to = (char *)(to ? to : "");
    rc = resolve(&ss, "--company", company, CL_MSG_COMPANY_LIST_REQ, &creq.base,
                 CL_MSG_COMPANY_PAGE, &f.company_id);
    if (rc == CLI_EXIT_OK)
        rc = resolve(&ss, "--project", project, CL_MSG_PROJECT_LIST_REQ, &preq.base,
                     CL_MSG_PROJECT_PAGE, &f.project_id);
    if (rc == CLI_EXIT_OK)
        rc = resolve(&ss, "--contractor", contractor, CL_MSG_CONTRACTOR_LIST_REQ, &kreq.base,
                     CL_MSG_CONTRACTOR_PAGE, &f.contractor_id);
    cli_stats_t st = {0};
    if (rc == CLI_EXIT_OK) {
        int crc = cli_stats_fetch(ss.c, &req, &st);
        if (crc != CL_OK) rc = cli_session_fail(&ss, crc);
    }
    if (rc == CLI_EXIT_OK) {
        rc = print_stats(s, &req, &st);
        print_notes(&st);
    }
    cli_stats_free(&st);
    cli_session_close(&ss);
    return rc;
}

void cmd_stats_help(FILE *out) {
    cli_help_print(
        out, "usage: cloop stats [--company NAME|ID] [--project NAME|ID] [--contractor NAME|ID]\n"
             "                   [--category TRADE] [--layout LAYOUT] [--round KIND]\n"
             "                   [--from YYYY-MM-DD] [--to YYYY-MM-DD | --month YYYY-MM]\n"
             "                   [--by DIM[,DIM]] [--format table|csv|json|html]\n"
             "  cloop stats scorecard --month YYYY-MM [--company NAME|ID] [--trade TRADE]\n"
             "  cloop stats kpi --month YYYY-MM [--company NAME|ID]\n"
             "  cloop stats repair --month YYYY-MM [--company NAME|ID]\n"
             "\n"
             "HQ statistics: every measure of docs/STATS.md (units inspected, items per unit,\n"
             "tickets opened, closed, open and overdue, closure and rework rates, days to close\n"
             "p50/p90, the five-way timeliness split, handover acceptance and the reasons units\n"
             "were not taken over, defects and cases raised, check points checked on site,\n"
             "repair reports and response time) over the projects you may see, for a period\n"
             "(both days inclusive; either open), narrowed by the filters and grouped by one or\n"
             "two of: company, project, contractor, category, layout, round, month, week (or\n"
             "their Chinese names 公司, 项目, 施工单位, 专业, 户型, 轮次, 月份, 周).\n"
             "Companies, projects and contractors are given by id or exact name; the category by\n"
             "trade code or Chinese name (civil or 土建); the round by kind or label\n"
             "({round_kind|}, 第一轮模拟验收, 一次模拟).\n"
             "The table has Chinese headers and shows an absent figure (a rate of nothing) as —;\n"
             "one ungrouped answer is a 指标/数值 list. CSV and JSON are keyed by the measures'\n"
             "names (units_inspected ...); an absent figure is empty in CSV and null in JSON.\n"
             "At most 10000 groups are listed (said on stderr when more exist), and a figure\n"
             "read from an analytics replica that lags says so on stderr.\n"
             "\n"
             "scorecard: each contractor's month across the projects you see, per trade it\n"
             "covers: tickets assigned, repair reports and the mean response hours,\n"
             "verifications and reworks and the rework rate, repairs reported after the\n"
             "deadline, its tickets open past the deadline now, and its rank among the\n"
             "contractors of the same trade (1 = best).\n"
             "\n"
             "kpi: the complaint KPIs of a month (China time) per city company: complaints\n"
             "taken in, closed, still open, by class; satisfaction (revisits scoring 4-5, target\n"
             ">80%), timeliness of first replies (target ≥90%), closure of the month's\n"
             "complaints and revisits of the month's closures (targets 100%), each with its\n"
             "target and 达标/未达标.\n"
             "repair: the repair-service scorecard of a month per city company, a row for\n"
             "warranty reports and one for move-in (handover) repairs: reports, response in\n"
             "business hours and within the property budget, climbs, late repairs,\n"
             "verifications and reworks, tickets reworked twice, first-time passes, approved\n"
             "deductions and third-party jobs. docs/STATS.md defines every figure.\n"
             "\n"
             "Roles: HQ and the 400 hotline (all), city company customer relations and the\n"
             "warranty office (its company), clerk, verifier and property (their projects);\n"
             "contractors and departments are refused (exit 3).\n"
             "\n"
             "examples: cloop stats --month 2026-11 --by company\n"
             "          cloop stats --company 华东城市公司 --category 土建 --by project,month\n"
             "          cloop stats scorecard --month 2026-11 --trade civil --format csv\n"
             "          cloop stats kpi --month 2026-11 --format csv\n");
}
