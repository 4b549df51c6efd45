/* output.c - table, CSV, JSON and HTML rendering for cloop; see output.h.
 *
 * Display width is computed here rather than with wcwidth(3), which depends on the
 * process locale and reports -1 for everything non-ASCII under the C locale that scripts
 * and services often run with. The width table covers the East Asian Wide and Fullwidth
 * ranges, Hangul, emoji, and the common zero-width marks. The HTML page is self-contained (inline
 * CSS, no scripts, no external resources) and is laid out for A4 with @page rules: the table's
 * header row repeats on every printed page and a row is never split across two. */
#include "output.h"
#include "cl_mem.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct cli_table {
    size_t ncols;           /* columns per row */
    char **header;          /* ncols names */
    unsigned char *numeric; /* per column: 1 when numeric */
    unsigned char *blank;   /* per column: 1 when left blank for handwriting (HTML) */
    int hide_header;        /* table format only */
    size_t nrows;           /* rows added */
    size_t cap;             /* rows allocated in cells */
    char **cells;           /* nrows * ncols strings, row-major */
};

int cli_format_parse(const char *s, cli_format_t *out) {
    if (!s) return CL_EINVAL;
    if (strcmp(s, "table") == 0)
        *out = CLI_FMT_TABLE;
    else if (strcmp(s, "csv") == 0)
        *out = CLI_FMT_CSV;
    else if (strcmp(s, "json") == 0)
        *out = CLI_FMT_JSON;
    else if (strcmp(s, "html") == 0)
        *out = CLI_FMT_HTML;
    else
        return CL_EINVAL;
    return CL_OK;
}

cli_table_t *cli_table_new(size_t ncols, const char *const *header) {
    cli_table_t *t = calloc(1, sizeof *t);
    if (!t) return NULL;
    t->ncols = ncols;
    t->header = calloc(ncols ? ncols : 1, sizeof *t->header);
    t->numeric = calloc(ncols ? ncols : 1, 1);
    t->blank = calloc(ncols ? ncols : 1, 1);
    if (!t->header || !t->numeric || !t->blank) goto fail;
    for (size_t i = 0; i < ncols; i++)
        if (!(t->header[i] = strdup(header[i] ? header[i] : ""))) goto fail;
    return t;
fail:
    cli_table_free(t);
    return NULL;
}

void cli_table_free(cli_table_t *t) {
    if (!t) return;
    if (t->header)
        for (size_t i = 0; i < t->ncols; i++)
            free(t->header[i]);
    for (size_t i = 0; i < t->nrows * t->ncols; i++)
        free(t->cells[i]);
    free(t->header);
    free(t->numeric);
    free(t->blank);
    free(t->cells);
    free(t);
}

void cli_table_set_numeric(cli_table_t *t, size_t col) {
    if (col < t->ncols) t->numeric[col] = 1;
}

void cli_table_set_blank(cli_table_t *t, size_t col) {
    if (col < t->ncols) t->blank[col] = 1;
}

void cli_table_hide_header(cli_table_t *t) {
    t->hide_header = 1;
}

int cli_table_add(cli_table_t *t, const char *const *cells) {
    /* cap counts rows; the array holds cap * ncols cells */
    size_t row_bytes = (t->ncols ? t->ncols : 1) * sizeof *t->cells;
    char **p = cl_grow(t->cells, &t->cap, t->nrows + 1, row_bytes, 16);
    if (!p) return CL_ENOMEM;
    t->cells = p;
    char **row = t->cells + t->nrows * t->ncols;
    for (size_t i = 0; i < t->ncols; i++) {
        row[i] = strdup(cells[i] ? cells[i] : "");
        if (!row[i]) {
            while (i > 0)
                free(row[--i]);
            return CL_ENOMEM;
        }
    }
    t->nrows++;
    return CL_OK;
}

/* Read access for other renderers (the PDF page layer, pdf.h). */
size_t cli_table_ncols(const cli_table_t *t) {
    return t->ncols;
}

size_t cli_table_nrows(const cli_table_t *t) {
    return t->nrows;
}

const char *cli_table_header(const cli_table_t *t, size_t col) {
    return col < t->ncols ? t->header[col] : "";
}

const char *cli_table_cell(const cli_table_t *t, size_t row, size_t col) {
    return row < t->nrows && col < t->ncols ? t->cells[row * t->ncols + col] : "";
}

int cli_table_is_numeric(const cli_table_t *t, size_t col) {
    return col < t->ncols && t->numeric[col];
}

int cli_table_is_blank(const cli_table_t *t, size_t col) {
    return col < t->ncols && t->blank[col];
}

int cli_table_header_hidden(const cli_table_t *t) {
    return t->hide_header;
}

/* ---- UTF-8 and display width ----------------------------------------------------- */

/* Decodes one UTF-8 character at s; returns its length (0 at NUL) and sets *cp, or
 * returns 1 with *cp = -1 for a byte that does not start a valid sequence. */
static size_t utf8_next(const unsigned char *s, long *cp) {
    unsigned c = s[0];
    size_t n;
    unsigned long v, min;
    if (c == 0) return 0;
    if (c < 0x80) {
        *cp = (long)c;
        return 1;
    }
    if ((c & 0xE0) == 0xC0)
        n = 2, v = c & 0x1F, min = 0x80;
    else if ((c & 0xF0) == 0xE0)
        n = 3, v = c & 0x0F, min = 0x800;
    else if ((c & 0xF8) == 0xF0)
        n = 4, v = c & 0x07, min = 0x10000;
    else
        goto bad;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) goto bad;
        v = (v << 6) | (s[i] & 0x3F);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) goto bad;
    *cp = (long)v;
    return n;
bad:
    *cp = -1;
    return 1;
}

struct range {
    uint32_t lo, hi;
};

static const struct range zero_width[] = {
    {0x0300, 0x036F}, {0x0483, 0x0489}, {0x0591, 0x05BD}, {0x0610, 0x061A}, {0x064B, 0x065F},
    {0x0E31, 0x0E31}, {0x0E34, 0x0E3A}, {0x0E47, 0x0E4E}, {0x1AB0, 0x1AFF}, {0x1DC0, 0x1DFF},
    {0x200B, 0x200F}, {0x202A, 0x202E}, {0x2060, 0x2064}, {0x20D0, 0x20FF}, {0x302A, 0x302D},
    {0x3099, 0x309A}, {0xFE00, 0xFE0F}, {0xFE20, 0xFE2F}, {0xFEFF, 0xFEFF}, {0xE0100, 0xE01EF},
};

static const struct range wide[] = {
    {0x1100, 0x115F},   {0x231A, 0x231B},   {0x2329, 0x232A},   {0x23E9, 0x23EC},
    {0x23F0, 0x23F0},   {0x23F3, 0x23F3},   {0x25FD, 0x25FE},   {0x2614, 0x2615},
    {0x2648, 0x2653},   {0x267F, 0x267F},   {0x2693, 0x2693},   {0x26A1, 0x26A1},
    {0x26AA, 0x26AB},   {0x26BD, 0x26BE},   {0x26C4, 0x26C5},   {0x26CE, 0x26CE},
    {0x26D4, 0x26D4},   {0x26EA, 0x26EA},   {0x26F2, 0x26F3},   {0x26F5, 0x26F5},
    {0x26FA, 0x26FA},   {0x26FD, 0x26FD},   {0x2705, 0x2705},   {0x270A, 0x270B},
    {0x2728, 0x2728},   {0x274C, 0x274C},   {0x274E, 0x274E},   {0x2753, 0x2755},
    {0x2757, 0x2757},   {0x2795, 0x2797},   {0x27B0, 0x27B0},   {0x27BF, 0x27BF},
    {0x2B1B, 0x2B1C},   {0x2B50, 0x2B50},   {0x2B55, 0x2B55},   {0x2E80, 0x303E},
    {0x3041, 0x33FF},   {0x3400, 0x4DBF},   {0x4E00, 0x9FFF},   {0xA000, 0xA4CF},
    {0xA960, 0xA97F},   {0xAC00, 0xD7A3},   {0xF900, 0xFAFF},   {0xFE10, 0xFE19},
    {0xFE30, 0xFE6F},   {0xFF00, 0xFF60},   {0xFFE0, 0xFFE6},   {0x16FE0, 0x16FE4},
    {0x17000, 0x18CFF}, {0x1B000, 0x1B2FF}, {0x1F004, 0x1F004}, {0x1F0CF, 0x1F0CF},
    {0x1F18E, 0x1F18E}, {0x1F191, 0x1F19A}, {0x1F200, 0x1F202}, {0x1F210, 0x1F23B},
    {0x1F240, 0x1F248}, {0x1F250, 0x1F251}, {0x1F260, 0x1F265}, {0x1F300, 0x1F320},
    {0x1F32D, 0x1F335}, {0x1F337, 0x1F37C}, {0x1F37E, 0x1F393}, {0x1F3A0, 0x1F3CA},
    {0x1F3CF, 0x1F3D3}, {0x1F3E0, 0x1F3F0}, {0x1F3F4, 0x1F3F4}, {0x1F3F8, 0x1F43E},
    {0x1F440, 0x1F440}, {0x1F442, 0x1F4FC}, {0x1F4FF, 0x1F53D}, {0x1F54B, 0x1F54E},
    {0x1F550, 0x1F567}, {0x1F57A, 0x1F57A}, {0x1F595, 0x1F596}, {0x1F5A4, 0x1F5A4},
    {0x1F5FB, 0x1F64F}, {0x1F680, 0x1F6C5}, {0x1F6CC, 0x1F6CC}, {0x1F6D0, 0x1F6D2},
    {0x1F6D5, 0x1F6D7}, {0x1F6EB, 0x1F6EC}, {0x1F6F4, 0x1F6FC}, {0x1F7E0, 0x1F7EB},
    {0x1F90C, 0x1F93A}, {0x1F93C, 0x1F945}, {0x1F947, 0x1F9FF}, {0x1FA70, 0x1FAFF},
    {0x20000, 0x2FFFD}, {0x30000, 0x3FFFD},
};

static int in_ranges(const struct range *r, size_t n, uint32_t cp) {
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (cp < r[mid].lo)
            hi = mid;
        else if (cp > r[mid].hi)
            lo = mid + 1;
        else
            return 1;
    }
    return 0;
}

static size_t cp_width(long cp) {
    if (cp < 0) return 1; /* a stray byte, shown as one replacement cell */
    if (cp < 0x20 || (cp >= 0x7F && cp < 0xA0)) return 1; /* printed as '?' */
    uint32_t u = (uint32_t)cp;
    if (in_ranges(zero_width, sizeof zero_width / sizeof zero_width[0], u)) return 0;
    if (in_ranges(wide, sizeof wide / sizeof wide[0], u)) return 2;
    return 1;
}

size_t cli_display_width(const char *s) {
    const unsigned char *p = (const unsigned char *)s;
    size_t w = 0, n;
    long cp;
    while ((n = utf8_next(p, &cp)) > 0) {
        w += cp_width(cp);
        p += n;
    }
    return w;
}

/* ---- table ----------------------------------------------------------------------- */

/* Writes a cell for a terminal: control characters (a newline would break the layout)
 * and invalid bytes become '?'. */
static void put_cell_text(const char *s, FILE *out) {
    const unsigned char *p = (const unsigned char *)s;
    size_t n;
    long cp;
    while ((n = utf8_next(p, &cp)) > 0) {
        if (cp < 0 || cp < 0x20 || (cp >= 0x7F && cp < 0xA0))
            fputc('?', out);
        else
            fwrite(p, 1, n, out);
        p += n;
    }
}

static void pad(size_t n, FILE *out) {
    while (n--)
        fputc(' ', out);
}

static void print_table(const cli_table_t *t, FILE *out) {
    size_t *w = calloc(t->ncols ? t->ncols : 1, sizeof *w);
    if (!w) return;
    for (size_t c = 0; c < t->ncols; c++) {
        if (!t->hide_header) w[c] = cli_display_width(t->header[c]);
        for (size_t r = 0; r < t->nrows; r++) {
            size_t cw = cli_display_width(t->cells[r * t->ncols + c]);
            if (cw > w[c]) w[c] = cw;
        }
    }
    for (size_t r = t->hide_header ? 1 : 0; r <= t->nrows; r++) {
        char *const *row = r == 0 ? t->header : t->cells + (r - 1) * t->ncols;
        for (size_t c = 0; c < t->ncols; c++) {
            size_t cw = cli_display_width(row[c]);
            int last = c + 1 == t->ncols;
            if (c > 0) fputs("  ", out);
            if (t->numeric[c] && r > 0) pad(w[c] - cw, out);
            put_cell_text(row[c], out);
            if (!(t->numeric[c] && r > 0) && !last) pad(w[c] - cw, out);
        }
        fputc('\n', out);
    }
    free(w);
}

/* ---- CSV ------------------------------------------------------------------------- */

static int is_json_number(const char *s);

/* Whether a spreadsheet would read cell s as a formula (OWASP, CSV injection): it starts
 * with = + - @, a tab or a carriage return, and is not simply a number ("-3" stays). */
static int csv_formula_like(const char *s) {
    return s[0] && strchr("=+-@\t\r", s[0]) && !is_json_number(s);
}

/* One CSV field: RFC 4180 quoting, and a cell a spreadsheet would run as a formula
 * prefixed with a single quote, so that it shows as the text it is. */
static void put_csv_field(const char *s, FILE *out) {
    int formula = csv_formula_like(s);
    if (!strpbrk(s, ",\"\r\n")) {
        if (formula) fputc('\'', out);
        fputs(s, out);
        return;
    }
    fputc('"', out);
    if (formula) fputc('\'', out);
    for (; *s; s++) {
        if (*s == '"') fputc('"', out);
        fputc(*s, out);
    }
    fputc('"', out);
}

static void put_csv_row(char *const *row, size_t n, FILE *out) {
    for (size_t c = 0; c < n; c++) {
        if (c > 0) fputc(',', out);
        put_csv_field(row[c], out);
    }
    fputc('\n', out);
}

/* ---- JSON ------------------------------------------------------------------------ */

void cli_json_string(const char *s, FILE *out) {
    const unsigned char *p = (const unsigned char *)s;
    size_t n;
    long cp;
    fputc('"', out);
    while ((n = utf8_next(p, &cp)) > 0) {
        if (cp < 0)
            fputs("\\ufffd", out); /* keep the output valid JSON */
        else if (cp == '"')
            fputs("\\\"", out);
        else if (cp == '\\')
            fputs("\\\\", out);
        else if (cp == '\n')
            fputs("\\n", out);
        else if (cp == '\r')
            fputs("\\r", out);
        else if (cp == '\t')
            fputs("\\t", out);
        else if (cp < 0x20 || cp == 0x7F)
            fprintf(out, "\\u%04x", (unsigned)cp);
        else if (cp == 0x2028 || cp == 0x2029) /* breaks JavaScript string literals */
            fprintf(out, "\\u%04x", (unsigned)cp);
        else
            fwrite(p, 1, n, out);
        p += n;
    }
    fputc('"', out);
}

/* Whether s is a number by JSON's grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static int is_json_number(const char *s) {
    if (*s == '-') s++;
    if (*s == '0')
        s++;
    else if (*s >= '1' && *s <= '9')
        while (*s >= '0' && *s <= '9')
            s++;
    else
        return 0;
    if (*s == '.') {
        s++;
        if (!(*s >= '0' && *s <= '9')) return 0;
        while (*s >= '0' && *s <= '9')
            s++;
    }
    if (*s == 'e' || *s == 'E') {
        s++;
        if (*s == '+' || *s == '-') s++;
        if (!(*s >= '0' && *s <= '9')) return 0;
        while (*s >= '0' && *s <= '9')
            s++;
    }
    return *s == '\0';
}

static void put_json_row(const cli_table_t *t, char *const *row, FILE *out) {
    fputc('{', out);
    for (size_t c = 0; c < t->ncols; c++) {
        const char *v = row[c] ? row[c] : "";
        if (c > 0) fputs(", ", out);
        cli_json_string(t->header[c], out);
        fputs(": ", out);
        if (t->numeric[c] && !*v)
            fputs("null", out);
        else if (t->numeric[c] && is_json_number(v))
            fputs(v, out);
        else
            cli_json_string(v, out);
    }
    fputc('}', out);
}

void cli_table_print_json_row(const cli_table_t *t, size_t row, FILE *out) {
    if (row < t->nrows) put_json_row(t, t->cells + row * t->ncols, out);
}

static void print_json(const cli_table_t *t, FILE *out) {
    fputc('[', out);
    for (size_t r = 0; r < t->nrows; r++) {
        fputs(r ? ",\n  " : "\n  ", out);
        put_json_row(t, t->cells + r * t->ncols, out);
    }
    fputs(t->nrows ? "\n]\n" : "]\n", out);
}

/* ---- HTML ------------------------------------------------------------------------ */

void cli_html_escape(const char *s, FILE *out) {
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    size_t n;
    long cp;
    while ((n = utf8_next(p, &cp)) > 0) {
        switch (cp) {
        case '&': fputs("&amp;", out); break;
        case '<': fputs("&lt;", out); break;
        case '>': fputs("&gt;", out); break;
        case '"': fputs("&quot;", out); break;
        case '\'': fputs("&#39;", out); break;
        default:
            if (cp < 0 || (cp < 0x20 && cp != '\n' && cp != '\t') || cp == 0x7F)
                fputs("\xEF\xBF\xBD", out); /* U+FFFD */
            else
                fwrite(p, 1, n, out);
        }
        p += n;
    }
}

/* The style sheet: A4 with 12 mm margins, CJK fonts, ruled table whose header repeats on
 * every printed page, rows kept whole, room to write in the blank columns. */
static const char html_css[] =
    "html { -webkit-print-color-adjust: exact; print-color-adjust: exact; }\n"
    "body { font-family: \"Noto Sans CJK SC\", \"Source Han Sans SC\", \"Microsoft YaHei\",\n"
    "  \"PingFang SC\", sans-serif; font-size: 9pt; color: #000; margin: 0; }\n"
    "header { border-bottom: 1.5pt solid #000; margin-bottom: 3mm; padding-bottom: 1.5mm; }\n"
    "h1 { font-size: 15pt; margin: 0 0 1mm 0; }\n"
    "h2 { font-size: 11pt; margin: 4mm 0 1.5mm 0; break-after: avoid; }\n"
    ".sub { font-size: 10pt; margin: 0.5mm 0; }\n"
    ".gen { font-size: 8pt; color: #333; }\n"
    "table { border-collapse: collapse; width: 100%; margin-bottom: 2mm; }\n"
    "thead { display: table-header-group; }\n"
    "tr { break-inside: avoid; page-break-inside: avoid; }\n"
    "th, td { border: 0.6pt solid #000; padding: 1mm 1.2mm; vertical-align: top;\n"
    "  text-align: left; overflow-wrap: break-word; }\n"
    "th { background: #e8e8e8; font-weight: bold; }\n"
    "td.num { text-align: right; white-space: nowrap; }\n"
    "td.nw { white-space: nowrap; }\n"
    "td.blank, th.blank { width: 24mm; min-width: 24mm; }\n"
    "table.work tbody tr { height: 9mm; }\n"
    "table.kv { width: auto; min-width: 40%; }\n"
    "table.kv td:first-child { font-weight: bold; white-space: nowrap; width: 30%; }\n"
    ".verdict { font-size: 12pt; font-weight: bold; margin: 2mm 0; }\n"
    ".empty { font-style: italic; }\n"
    "footer { font-size: 7.5pt; color: #333; margin-top: 3mm; border-top: 0.6pt solid #000;\n"
    "  padding-top: 1mm; }\n"
    "@media screen { body { margin: 12mm; } }\n";

void cli_html_begin(const cli_html_page_t *p, FILE *out) {
    const char *title = p && p->title ? p->title : "closeloop";
    char when[64] = "";
    time_t now = time(NULL);
    struct tm tm;
    if (localtime_r(&now, &tm)) strftime(when, sizeof when, "%Y-%m-%d %H:%M %Z", &tm);
    fputs("<!DOCTYPE html>\n<html lang=\"zh-CN\">\n<head>\n<meta charset=\"utf-8\">\n<title>", out);
    cli_html_escape(title, out);
    fprintf(
        out,
        "</title>\n<style>\n"
        "@page { size: A4%s; margin: 12mm;\n"
        "  @bottom-right { content: counter(page) \" / \" counter(pages); font-size: 7.5pt; } }\n"
        "%s</style>\n</head>\n<body>\n<header>\n<h1>",
        p && p->landscape ? " landscape" : "", html_css);
    cli_html_escape(title, out);
    fputs("</h1>\n", out);
    if (p && p->subtitle && *p->subtitle) {
        fputs("<div class=\"sub\">", out);
        cli_html_escape(p->subtitle, out);
        fputs("</div>\n", out);
    }
    fputs("<div class=\"gen\">生成时间 Generated: ", out);
    cli_html_escape(when, out);
    fputs("</div>\n</header>\n", out);
}

static void put_html_row(const cli_table_t *t, char *const *row, FILE *out) {
    fputs("<tr>", out);
    for (size_t c = 0; c < t->ncols; c++) {
        const char *v = row[c] ? row[c] : "";
        /* short words (unit numbers, dates, codes) never break inside */
        const char *cls = t->blank[c]                                     ? " class=\"blank\""
                          : t->numeric[c]                                 ? " class=\"num\""
                          : !strchr(v, ' ') && cli_display_width(v) <= 16 ? " class=\"nw\""
                                                                          : "";
        fprintf(out, "<td%s>", cls);
        cli_html_escape(v, out);
        fputs("</td>", out);
    }
    fputs("</tr>\n", out);
}

/* <table>, the header (repeated on every printed page), and <tbody>. The page's footer
 * is printed once, after the last table (cli_html_end). */
static void html_table_open(const cli_table_t *t, const char *caption, FILE *out) {
    if (caption && *caption) {
        fputs("<h2>", out);
        cli_html_escape(caption, out);
        fputs("</h2>\n", out);
    }
    int work = 0; /* a work list with columns to write in: rows get room for handwriting */
    for (size_t c = 0; c < t->ncols; c++)
        work |= t->blank[c];
    fprintf(out, "<table%s>\n", t->hide_header ? " class=\"kv\"" : work ? " class=\"work\"" : "");
    if (!t->hide_header) {
        fputs("<thead><tr>", out);
        for (size_t c = 0; c < t->ncols; c++) {
            fputs(t->blank[c] ? "<th class=\"blank\">" : "<th>", out);
            cli_html_escape(t->header[c], out);
            fputs("</th>", out);
        }
        fputs("</tr></thead>\n", out);
    }
    fputs("<tbody>\n", out);
}

static void html_table_close(size_t rows, size_t ncols, FILE *out) {
    if (rows == 0)
        fprintf(out, "<tr><td class=\"empty\" colspan=\"%zu\">无 None</td></tr>\n",
                ncols ? ncols : 1);
    fputs("</tbody>\n</table>\n", out);
}

void cli_html_table(const cli_table_t *t, const char *caption, const cli_html_page_t *p,
                    FILE *out) {
    (void)p; /* the page's footer is cli_html_end's, printed once */
    html_table_open(t, caption, out);
    for (size_t r = 0; r < t->nrows; r++)
        put_html_row(t, t->cells + r * t->ncols, out);
    html_table_close(t->nrows, t->ncols, out);
}

void cli_html_para(const char *text, const char *cls, FILE *out) {
    if (cls)
        fprintf(out, "<p class=\"%s\">", cls);
    else
        fputs("<p>", out);
    cli_html_escape(text, out);
    fputs("</p>\n", out);
}

int cli_html_end(const cli_html_page_t *p, FILE *out) {
    fputs("<footer>", out);
    if (p && p->footer && *p->footer) {
        cli_html_escape(p->footer, out);
        fputs(" · ", out);
    }
    fputs("closeloop</footer>\n</body>\n</html>\n", out);
    if (fflush(out) != 0 || ferror(out)) return CL_EIO;
    return CL_OK;
}

int cli_table_print_html(const cli_table_t *t, const cli_html_page_t *p, FILE *out) {
    cli_html_begin(p, out);
    cli_html_table(t, NULL, p, out);
    return cli_html_end(p, out);
}

int cli_table_print(const cli_table_t *t, cli_format_t f, FILE *out) {
    switch (f) {
    case CLI_FMT_TABLE: print_table(t, out); break;
    case CLI_FMT_CSV:
        put_csv_row(t->header, t->ncols, out);
        for (size_t r = 0; r < t->nrows; r++)
            put_csv_row(t->cells + r * t->ncols, t->ncols, out);
        break;
    case CLI_FMT_JSON: print_json(t, out); break;
    case CLI_FMT_HTML: return cli_table_print_html(t, NULL, out);
    }
    if (fflush(out) != 0 || ferror(out)) return CL_EIO;
    return CL_OK;
}

/* ---- streams --------------------------------------------------------------------- */

void cli_stream_init(cli_stream_t *st, cli_table_t *t, cli_format_t f, FILE *out,
                     const cli_html_page_t *page) {
    memset(st, 0, sizeof *st);
    st->t = t;
    st->f = f;
    st->out = out;
    st->page = page;
}

void cli_stream_begin(cli_stream_t *st) {
    if (st->begun) return;
    st->begun = 1;
    switch (st->f) {
    case CLI_FMT_TABLE: break;
    case CLI_FMT_CSV: put_csv_row(st->t->header, st->t->ncols, st->out); break;
    case CLI_FMT_JSON: fputc('[', st->out); break;
    case CLI_FMT_HTML:
        cli_html_begin(st->page, st->out);
        html_table_open(st->t, NULL, st->out);
        break;
    }
}

int cli_stream_row(cli_stream_t *st, const char *const *cells) {
    cli_stream_begin(st);
    if (st->f == CLI_FMT_TABLE) {
        int rc = cli_table_add(st->t, cells);
        if (rc == CL_OK) st->rows++;
        return rc;
    }
    /* the row functions take char *const *; the cells are only read */
    char *const *row = (char *const *)(uintptr_t)cells;
    for (size_t c = 0; c < st->t->ncols; c++)
        if (!cells[c]) return CL_EINVAL;
    switch (st->f) {
    case CLI_FMT_TABLE: break;
    case CLI_FMT_CSV: put_csv_row(row, st->t->ncols, st->out); break;
    case CLI_FMT_JSON:
        fputs(st->rows ? ",\n  " : "\n  ", st->out);
        put_json_row(st->t, row, st->out);
        break;
    case CLI_FMT_HTML: put_html_row(st->t, row, st->out); break;
    }
    st->rows++;
    return ferror(st->out) ? CL_EIO : CL_OK;
}

int cli_stream_end(cli_stream_t *st) {
    cli_stream_begin(st);
    switch (st->f) {
    case CLI_FMT_TABLE: print_table(st->t, st->out); break;
    case CLI_FMT_CSV: break;
    case CLI_FMT_JSON: fputs(st->rows ? "\n]\n" : "]\n", st->out); break;
    case CLI_FMT_HTML:
        html_table_close(st->rows, st->t->ncols, st->out);
        return cli_html_end(st->page, st->out);
    }
    if (fflush(st->out) != 0 || ferror(st->out)) return CL_EIO;
    return CL_OK;
}
