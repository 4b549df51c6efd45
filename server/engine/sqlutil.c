/* sqlutil.c - see sqlutil.h. */
#include "sqlutil.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cl_mem.h"
#include "domain.h"

const char *cl_sql_text(const PGresult *res, int row, int col) {
    return PQgetvalue(res, row, col); /* "" for NULL */
}

bool cl_sql_isnull(const PGresult *res, int row, int col) {
    return PQgetisnull(res, row, col) != 0;
}

int64_t cl_sql_i64(const PGresult *res, int row, int col) {
    return strtoll(PQgetvalue(res, row, col), NULL, 10);
}

/* Record columns start with id, version, created ms, updated ms (SQL: META). */
void cl_sql_meta(Closeloop__Meta *m, const PGresult *res, int row) {
    closeloop__meta__init(m);
    m->id = cl_sql_i64(res, row, 0);
    m->version = cl_sql_i64(res, row, 1);
    m->created_at_ms = (uint64_t)cl_sql_i64(res, row, 2);
    m->updated_at_ms = (uint64_t)cl_sql_i64(res, row, 3);
}

void cl_sqlbuf_put(cl_sqlbuf_t *b, const char *s, size_t n) {
    if (b->failed) return;
    char *p = cl_grow(b->p, &b->cap, b->len + n + 1, 1, 256);
    if (!p) {
        b->failed = true;
        return;
    }
    b->p = p;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void cl_sqlbuf_array_open(cl_sqlbuf_t *b) {
    cl_sqlbuf_put(b, "{", 1);
}

/* Appends one text element of a PostgreSQL array literal. Elements are always
 * double-quoted with " and \ backslash-escaped, so commas, braces, blanks, the word NULL
 * and any UTF-8 text come through unchanged; a NULL s is the SQL NULL element. */
void cl_sqlbuf_array_text(cl_sqlbuf_t *b, const char *s) {
    if (b->items++) cl_sqlbuf_put(b, ",", 1);
    if (!s) {
        cl_sqlbuf_put(b, "NULL", 4);
        return;
    }
    cl_sqlbuf_put(b, "\"", 1);
    for (const char *run = s;;) {
        size_t n = strcspn(run, "\"\\");
        cl_sqlbuf_put(b, run, n);
        if (!run[n]) break;
        cl_sqlbuf_put(b, "\\", 1);
        cl_sqlbuf_put(b, run + n, 1);
        run += n + 1;
    }
    cl_sqlbuf_put(b, "\"", 1);
}

void cl_sqlbuf_array_int(cl_sqlbuf_t *b, int64_t v) {
    char num[24];
    int n = snprintf(num, sizeof num, "%s%lld", b->items++ ? "," : "", (long long)v);
    cl_sqlbuf_put(b, num, (size_t)n);
}

/* Closes the literal; returns it, or NULL when memory ran out (then freed). */
char *cl_sqlbuf_array_close(cl_sqlbuf_t *b) {
    cl_sqlbuf_put(b, "}", 1);
    if (b->failed) {
        free(b->p);
        b->p = NULL;
    }
    return b->p;
}

/* An id as a text parameter; 0 means "none" and becomes SQL NULL. */
const char *cl_sql_id_param(char buf[24], int64_t id) {
    if (id == 0) return NULL;
    snprintf(buf, 24, "%lld", (long long)id);
    return buf;
}

const char *cl_sql_int_param(char buf[24], int64_t v) {
    snprintf(buf, 24, "%lld", (long long)v);
    return buf;
}

const char *cl_sql_bool_param(bool v) {
    return v ? "t" : "f";
}

/* s cut to fit buf (at most n - 4 bytes) on a character boundary, "..." marking a cut,
 * so that user text quoted in a sentence keeps the sentence short and valid UTF-8. */
const char *cl_utf8_clip(char *buf, size_t n, const char *s) {
    size_t len = strlen(s);
    if (len < n) return s;
    size_t cut = n - 4;
    while (cut > 0 && ((unsigned char)s[cut] & 0xC0) == 0x80)
        cut--;
    memcpy(buf, s, cut);
    memcpy(buf + cut, "...", 4);
    return buf;
}

/* Why a text field is unacceptable, or NULL: required and too long. */
const char *cl_text_problem(const char *v, bool required, size_t max) {
    if (required && !*v) return "is required";
    if (cl_utf8_chars(v) > max) return "is too long";
    return NULL;
}

/* The text fields that may hold several lines (a newline, LF only): what a person writes
 * as prose. Every other field is one line. */
static const char *const cl_multiline_fields[] = {"description", "note", "body"};

bool cl_text_multiline(const char *field) {
    for (size_t i = 0; i < sizeof cl_multiline_fields / sizeof cl_multiline_fields[0]; i++)
        if (strcmp(field, cl_multiline_fields[i]) == 0) return true;
    return false;
}

/* The first C0 control character of v that field may not hold (a newline only where
 * cl_text_multiline), its 1-based character position in *at; 0 when there is none. */
static unsigned char text_control(const char *field, const char *v, size_t *at) {
    bool lines = cl_text_multiline(field);
    size_t chars = 0;
    for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
        if ((*p & 0xC0) != 0x80) chars++;
        if (*p < 0x20 && !(lines && *p == '\n')) {
            *at = chars;
            return *p;
        }
    }
    return 0;
}

bool cl_text_why(char *out, size_t n, const char *field, const char *v, bool required, size_t max) {
    size_t at = 0;
    unsigned char cc = text_control(field, v, &at);
    if (cc) {
        snprintf(out, n, "%s holds a control character (U+%04X%s) at character %zu: %s", field, cc,
                 cc == '\t'   ? ", a tab"
                 : cc == '\r' ? ", a carriage return"
                 : cc == '\n' ? ", a newline"
                              : "",
                 at,
                 cl_text_multiline(field) ? "only a newline may be written there"
                                          : "it must be one line of text");
        return true;
    }
    const char *why = cl_text_problem(v, required, max);
    if (!why) return false;
    if (*v)
        snprintf(out, n, "%s %s (at most %zu characters)", field, why, max);
    else
        snprintf(out, n, "%s %s", field, why);
    return true;
}

/* Checks a text field; fails the request and returns false when it is unacceptable. */
bool cl_req_need_text(cl_req_t *req, const char *field, const char *v, bool required, size_t max) {
    char why[256];
    if (!cl_text_why(why, sizeof why, field, v, required, max)) return true;
    cl_req_fail(req, CL_EINVAL, "%s", why);
    return false;
}

bool cl_req_need_date(cl_req_t *req, const char *field, const char *v) {
    if (cl_date_valid(v)) return true;
    cl_req_fail(req, CL_EINVAL, "%s must be a date written YYYY-MM-DD", field);
    return false;
}

bool cl_req_need_id(cl_req_t *req, const char *field, int64_t id) {
    if (id > 0) return true;
    cl_req_fail(req, CL_EINVAL, "%s is required", field);
    return false;
}

/* YYYY-MM-DD naming a real day. */
bool cl_date_valid(const char *s) {
    if (strlen(s) != 10 || s[4] != '-' || s[7] != '-') return false;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && !isdigit((unsigned char)s[i])) return false;
    int y = atoi(s), m = atoi(s + 5), d = atoi(s + 8);
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (y < 1900 || y > 2999 || m < 1 || m > 12 || d < 1) return false;
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return d <= days[m - 1] + (m == 2 && leap);
}

bool cl_req_need_trade(cl_req_t *req, const char *code) {
    if (cl_trade_code_valid(code)) return true;
    cl_req_fail(req, CL_EINVAL,
                "trade \"%s\" is not a trade code (lowercase letters, digits and _, e.g. "
                "plumbing)",
                code);
    return false;
}

/* --------------------------------------------------------- added for inspections */

/* Days from 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, int m, int d) {
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

int64_t cl_date_days(const char *s) {
    return days_from_civil(atoi(s), atoi(s + 5), atoi(s + 8));
}

int64_t cl_date_add_months(const char *s, int months) {
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y = atoi(s), m = atoi(s + 5), d = atoi(s + 8);
    int total = y * 12 + (m - 1) + months;
    y = total / 12;
    m = total % 12 + 1;
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    int last = mdays[m - 1] + (m == 2 && leap);
    return days_from_civil(y, m, d > last ? last : d);
}

bool cl_uuid_valid(const char *s) {
    if (strlen(s) != 36) return false;
    for (int i = 0; i < 36; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !isxdigit((unsigned char)s[i])) return false;
    }
    return true;
}

const char *cl_domain_must_be(char *buf, size_t n, const char *field, cl_domain_t d) {
    char accepted[160];
    (void)cl_domain_accepted(d, false, accepted, sizeof accepted);
    snprintf(buf, n, "%s must be one of %s", field, accepted);
    return buf;
}

/* --------------------------------------------------------- repeated keys */

typedef struct key_ref {
    const void *elem;
    size_t pos;
    cl_key_order_fn order;
} key_ref_t;

/* By key, then by position, so the earliest of equal keys comes first. */
static int key_ref_cmp(const void *a, const void *b) {
    const key_ref_t *x = a, *y = b;
    int d = x->order(x->elem, y->elem);
    return d ? d : (x->pos < y->pos ? -1 : x->pos > y->pos);
}

int cl_each_repeat(const void *const *elems, size_t n, cl_key_order_fn order, cl_repeat_fn repeat,
                   void *ctx) {
    key_ref_t *refs = malloc((n ? n : 1) * sizeof *refs);
    if (!refs) return CL_ENOMEM;
    for (size_t i = 0; i < n; i++)
        refs[i] = (key_ref_t){elems[i], i, order};
    qsort(refs, n, sizeof *refs, key_ref_cmp);
    for (size_t i = 1, run = 0; i < n; i++) {
        if (order(refs[run].elem, refs[i].elem) != 0)
            run = i;
        else
            repeat(ctx, refs[i].pos, refs[run].pos);
    }
    free(refs);
    return CL_OK;
}

/* --------------------------------------------------------- binary parameters */

#define BYTEA_OID 17u /* pg_type.oid of bytea */

static char *put_be32(char *p, uint32_t v) {
    p[0] = (char)(v >> 24);
    p[1] = (char)(v >> 16);
    p[2] = (char)(v >> 8);
    p[3] = (char)v;
    return p + 4;
}

char *cl_sqlbin_bytea_array(const uint8_t *const *elems, const size_t *lens, size_t n, int *len) {
    /* header: ndim, flags, element type; then (length, lower bound) of the dimension */
    size_t total = 12 + (n ? 8 : 0);
    bool nulls = false;
    if (n > INT32_MAX) return NULL;
    for (size_t i = 0; i < n; i++) {
        size_t bytes = elems[i] ? lens[i] : 0;
        if (bytes > INT32_MAX || total > (size_t)INT32_MAX - 4 - bytes) return NULL;
        total += 4 + bytes;
        nulls |= !elems[i];
    }
    char *buf = malloc(total), *p = buf;
    if (!buf) return NULL;
    p = put_be32(p, n ? 1 : 0);
    p = put_be32(p, nulls ? 1 : 0);
    p = put_be32(p, BYTEA_OID);
    if (n) {
        p = put_be32(p, (uint32_t)n);
        p = put_be32(p, 1);
    }
    for (size_t i = 0; i < n; i++) {
        if (!elems[i]) {
            p = put_be32(p, UINT32_MAX); /* -1: NULL */
            continue;
        }
        p = put_be32(p, (uint32_t)lens[i]);
        if (lens[i]) memcpy(p, elems[i], lens[i]);
        p += lens[i];
    }
    *len = (int)total;
    return buf;
}

/* The photo's format from its first bytes, matching the declared mime (one of the
 * registry's photo types); NULL when fine. */
const char *cl_photo_problem(const Closeloop__Photo *ph) {
    static const struct {
        uint8_t magic[4];
        size_t len;
        const char *problem;
    } formats[] = {
        [1] = {{0xFF, 0xD8, 0xFF}, 3, "is not a JPEG image"},      /* image/jpeg */
        [2] = {{0x89, 0x50, 0x4E, 0x47}, 4, "is not a PNG image"}, /* image/png */
    };
    if (ph->data.len == 0) return "is empty";
    if (ph->data.len > CL_LIM_PHOTO_BYTES) return "is larger than 2 MiB";
    int f = cl_domain_parse(CL_DOM_PHOTO_MIME, ph->mime);
    if (f <= 0 || f >= (int)(sizeof formats / sizeof formats[0])) {
        static char accepted[64];
        char list[48];
        (void)cl_domain_accepted(CL_DOM_PHOTO_MIME, false, list, sizeof list);
        snprintf(accepted, sizeof accepted, "must be one of %s", list);
        return accepted;
    }
    return ph->data.len >= formats[f].len &&
                   memcmp(ph->data.data, formats[f].magic, formats[f].len) == 0
               ? NULL
               : formats[f].problem;
}
