/* pdf.c - the A4 page layer of cloop's PDF output; see pdf.h.
 *
 * One layout routine walks the blocks and draws them; pdf_write runs it twice: first on a
 * PDF surface that discards its bytes, to learn the page count that the footers print,
 * then on the real one (the same surface type, so pango measures the same). All text is
 * laid out by pango in the CJK font; positions are in PDF points, y growing downwards. */
#include "pdf.h"

#include <cairo-pdf.h>
#include <cairo.h>
#include <errno.h>
#include <fontconfig/fontconfig.h>
#include <math.h>
#include <pango/pangocairo.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

/* cairo 1.16 leaks a buffer of its font subsetter when a PDF surface with embedded CJK
 * text is finished (768 bytes per surface, not ours to free); under LeakSanitizer the
 * finish runs with leak detection paused so the sanitizer build stays clean. */
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CL_LSAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define CL_LSAN 1
#endif
#ifdef CL_LSAN
#include <sanitizer/lsan_interface.h>
#define LSAN_PAUSE()  __lsan_disable()
#define LSAN_RESUME() __lsan_enable()
#else
#define LSAN_PAUSE()  ((void)0)
#define LSAN_RESUME() ((void)0)
#endif

#define FONT          "Noto Sans CJK SC"
#define A4_W          595.276
#define A4_H          841.89
#define MARGIN_X      42.0
#define MARGIN_TOP    44.0
#define MARGIN_BOTTOM 52.0
#define TABLE_PT      8.5
#define TABLE_PAD_X   3.5
#define TABLE_PAD_Y   2.5

enum bkind { B_HEADING, B_PARA, B_FIGURES, B_TABLE, B_CHART, B_BREAK };

typedef struct block {
    enum bkind kind;
    int level;  /* heading level; paragraph: 1 when small */
    char *text; /* heading, paragraph, table caption */
    cli_table_t *t;
    size_t n;                         /* figures */
    char **labels, **values, **notes; /* notes may be NULL */
    pdf_chart_t c; /* chart: its strings and values point into the owned copies below */
    char *c_title, *c_x, *c_y, **c_cat, *c_names[PDF_MAX_SERIES];
    double *c_v[PDF_MAX_SERIES];
} block_t;

struct pdf_doc {
    char *title, *subtitle;
    int landscape;
    char generated[64];
    block_t *b;
    size_t n, cap;
};

/* ---- building the document ------------------------------------------------------------ */

pdf_doc_t *pdf_new(const char *title, const char *subtitle, int landscape) {
    pdf_doc_t *d = calloc(1, sizeof *d);
    if (!d) return NULL;
    d->title = strdup(title ? title : "");
    d->subtitle = subtitle ? strdup(subtitle) : NULL;
    d->landscape = landscape;
    if (!d->title || (subtitle && !d->subtitle)) {
        pdf_free(d);
        return NULL;
    }
    time_t now = time(NULL);
    struct tm tm;
    if (!localtime_r(&now, &tm) ||
        !strftime(d->generated, sizeof d->generated, "%Y-%m-%d %H:%M", &tm))
        d->generated[0] = '\0';
    return d;
}

static void strv_free(char **v, size_t n) {
    if (!v) return;
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

void pdf_free(pdf_doc_t *d) {
    if (!d) return;
    for (size_t i = 0; i < d->n; i++) {
        block_t *b = &d->b[i];
        free(b->text);
        cli_table_free(b->t);
        strv_free(b->labels, b->n);
        strv_free(b->values, b->n);
        strv_free(b->notes, b->n);
        free(b->c_title);
        free(b->c_x);
        free(b->c_y);
        strv_free(b->c_cat, b->c.ncat);
        for (size_t k = 0; k < PDF_MAX_SERIES; k++) {
            free(b->c_names[k]);
            free(b->c_v[k]);
        }
    }
    free(d->b);
    free(d->title);
    free(d->subtitle);
    free(d);
}

/* A new zeroed block at the end, or NULL on out of memory. */
static block_t *add_block(pdf_doc_t *d, enum bkind k) {
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 16;
        block_t *nb = realloc(d->b, cap * sizeof *nb);
        if (!nb) return NULL;
        d->b = nb;
        d->cap = cap;
    }
    block_t *b = &d->b[d->n++];
    memset(b, 0, sizeof *b);
    b->kind = k;
    return b;
}

static char *dup_or_null(const char *s, int *oom) {
    if (!s) return NULL;
    char *c = strdup(s);
    if (!c) *oom = 1;
    return c;
}

int pdf_heading(pdf_doc_t *d, int level, const char *text) {
    block_t *b = add_block(d, B_HEADING);
    if (!b) return CL_ENOMEM;
    b->level = level;
    return (b->text = strdup(text ? text : "")) ? CL_OK : CL_ENOMEM;
}

int pdf_para(pdf_doc_t *d, const char *text, int small) {
    block_t *b = add_block(d, B_PARA);
    if (!b) return CL_ENOMEM;
    b->level = small;
    return (b->text = strdup(text ? text : "")) ? CL_OK : CL_ENOMEM;
}

int pdf_page_break(pdf_doc_t *d) {
    return add_block(d, B_BREAK) ? CL_OK : CL_ENOMEM;
}

static char **strv_dup(size_t n, const char *const *v, int *oom) {
    char **c = calloc(n ? n : 1, sizeof *c);
    if (!c) {
        *oom = 1;
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        if (!(c[i] = strdup(v[i] ? v[i] : ""))) *oom = 1;
    return c;
}

int pdf_figures(pdf_doc_t *d, size_t n, const char *const *labels, const char *const *values,
                const char *const *notes) {
    block_t *b = add_block(d, B_FIGURES);
    if (!b) return CL_ENOMEM;
    int oom = 0;
    b->n = n;
    b->labels = strv_dup(n, labels, &oom);
    b->values = strv_dup(n, values, &oom);
    if (notes) b->notes = strv_dup(n, notes, &oom);
    return oom ? CL_ENOMEM : CL_OK;
}

int pdf_table(pdf_doc_t *d, const cli_table_t *t, const char *caption) {
    size_t nc = cli_table_ncols(t), nr = cli_table_nrows(t);
    const char **row = calloc(nc ? nc : 1, sizeof *row);
    if (!row) return CL_ENOMEM;
    for (size_t c = 0; c < nc; c++)
        row[c] = cli_table_header(t, c);
    cli_table_t *copy = cli_table_new(nc, row);
    int rc = copy ? CL_OK : CL_ENOMEM;
    for (size_t r = 0; r < nr && rc == CL_OK; r++) {
        for (size_t c = 0; c < nc; c++)
            row[c] = cli_table_cell(t, r, c);
        rc = cli_table_add(copy, row);
    }
    free(row);
    if (rc == CL_OK) {
        for (size_t c = 0; c < nc; c++) {
            if (cli_table_is_numeric(t, c)) cli_table_set_numeric(copy, c);
            if (cli_table_is_blank(t, c)) cli_table_set_blank(copy, c);
        }
        if (cli_table_header_hidden(t)) cli_table_hide_header(copy);
    }
    block_t *b = rc == CL_OK ? add_block(d, B_TABLE) : NULL;
    if (!b) {
        cli_table_free(copy);
        return CL_ENOMEM;
    }
    b->t = copy;
    int oom = 0;
    b->text = dup_or_null(caption, &oom);
    return oom ? CL_ENOMEM : CL_OK;
}

int pdf_chart(pdf_doc_t *d, const pdf_chart_t *c) {
    if (!c->ncat || !c->nseries || c->nseries > PDF_MAX_SERIES) return CL_EINVAL;
    block_t *b = add_block(d, B_CHART);
    if (!b) return CL_ENOMEM;
    int oom = 0;
    b->c = *c;
    b->c_title = dup_or_null(c->title, &oom);
    b->c_x = dup_or_null(c->x_title, &oom);
    b->c_y = dup_or_null(c->y_title, &oom);
    b->c_cat = strv_dup(c->ncat, c->cat, &oom);
    b->c.title = b->c_title;
    b->c.x_title = b->c_x;
    b->c.y_title = b->c_y;
    b->c.cat = (const char *const *)b->c_cat;
    for (size_t k = 0; k < c->nseries; k++) {
        b->c_names[k] = dup_or_null(c->series[k].name ? c->series[k].name : "", &oom);
        b->c_v[k] = malloc(c->ncat * sizeof(double));
        if (!b->c_v[k]) {
            oom = 1;
            continue;
        }
        memcpy(b->c_v[k], c->series[k].v, c->ncat * sizeof(double));
        b->c.series[k].name = b->c_names[k];
        b->c.series[k].v = b->c_v[k];
    }
    return oom ? CL_ENOMEM : CL_OK;
}

/* ---- text ----------------------------------------------------------------------------- */

typedef struct lay {
    const pdf_doc_t *d;
    cairo_t *cr;
    double pw, ph;        /* page size */
    double x0, x1;        /* content left and right */
    double y, ytop, ybot; /* current position; content top (after the header) and bottom */
    int page, total;      /* pages begun; the count from the first pass (0 during it) */
} lay_t;

/* The pango context of a pass (its own font map, freed with it) hangs on the cairo
 * context as user data. */
static const cairo_user_data_key_t pango_key;

/* A pango layout of text in the CJK font at size pt; width > 0 wraps at that width. */
static PangoLayout *text_layout(cairo_t *cr, const char *text, double pt, int bold, double width,
                                PangoAlignment align) {
    PangoContext *pc = cairo_get_user_data(cr, &pango_key);
    pango_cairo_update_context(cr, pc); /* the current transformation (rotated labels) */
    PangoLayout *pl = pango_layout_new(pc);
    PangoFontDescription *fd = pango_font_description_new();
    pango_font_description_set_family(fd, FONT);
    pango_font_description_set_absolute_size(fd, pt * PANGO_SCALE);
    pango_font_description_set_weight(fd, bold ? PANGO_WEIGHT_BOLD : PANGO_WEIGHT_NORMAL);
    pango_layout_set_font_description(pl, fd);
    pango_font_description_free(fd);
    if (width > 0) {
        pango_layout_set_width(pl, (int)(width * PANGO_SCALE));
        pango_layout_set_wrap(pl, PANGO_WRAP_WORD_CHAR);
    }
    pango_layout_set_alignment(pl, align);
    pango_layout_set_text(pl, text, -1);
    return pl;
}

static void layout_size(PangoLayout *pl, double *w, double *h) {
    int iw, ih;
    pango_layout_get_size(pl, &iw, &ih);
    if (w) *w = (double)iw / PANGO_SCALE;
    if (h) *h = (double)ih / PANGO_SCALE;
}

/* Draws text with its top left at (x, y) in grey level g (0 black); returns its height. */
static double text_at(cairo_t *cr, double x, double y, const char *text, double pt, int bold,
                      double width, PangoAlignment align, double g) {
    PangoLayout *pl = text_layout(cr, text, pt, bold, width, align);
    double h;
    layout_size(pl, NULL, &h);
    cairo_save(cr);
    cairo_set_source_rgb(cr, g, g, g);
    cairo_move_to(cr, x, y);
    pango_cairo_show_layout(cr, pl);
    cairo_restore(cr);
    g_object_unref(pl);
    return h;
}

static double text_width(cairo_t *cr, const char *text, double pt, int bold) {
    PangoLayout *pl = text_layout(cr, text, pt, bold, -1, PANGO_ALIGN_LEFT);
    double w;
    layout_size(pl, &w, NULL);
    g_object_unref(pl);
    return w;
}

static double text_height(cairo_t *cr, const char *text, double pt, int bold, double width) {
    PangoLayout *pl = text_layout(cr, text, pt, bold, width, PANGO_ALIGN_LEFT);
    double h;
    layout_size(pl, NULL, &h);
    g_object_unref(pl);
    return h;
}

/* Text centred on x (align centre) or ending at x (align right), top at y. */
static void text_anchor(cairo_t *cr, double x, double y, const char *text, double pt, int bold,
                        PangoAlignment align, double g) {
    double w = text_width(cr, text, pt, bold);
    double left = align == PANGO_ALIGN_CENTER ? x - w / 2 : align == PANGO_ALIGN_RIGHT ? x - w : x;
    text_at(cr, left, y, text, pt, bold, -1, PANGO_ALIGN_LEFT, g);
}

static void hline(cairo_t *cr, double x0, double x1, double y, double lw, double g) {
    cairo_save(cr);
    cairo_set_source_rgb(cr, g, g, g);
    cairo_set_line_width(cr, lw);
    cairo_move_to(cr, x0, y);
    cairo_line_to(cr, x1, y);
    cairo_stroke(cr);
    cairo_restore(cr);
}

/* ---- pages ---------------------------------------------------------------------------- */

static void page_footer(lay_t *l) {
    char f[96];
    if (l->total)
        snprintf(f, sizeof f, "第 %d 页 / 共 %d 页", l->page, l->total);
    else
        snprintf(f, sizeof f, "第 %d 页 / 共 ? 页", l->page);
    double y = l->ph - MARGIN_BOTTOM + 18;
    hline(l->cr, l->x0, l->x1, y - 4, 0.5, 0.4);
    text_anchor(l->cr, (l->x0 + l->x1) / 2, y, f, 8.5, 0, PANGO_ALIGN_CENTER, 0);
    text_at(l->cr, l->x0, y, l->d->title, 7.5, 0, (l->x1 - l->x0) / 3, PANGO_ALIGN_LEFT, 0.3);
    char g[96];
    snprintf(g, sizeof g, "生成 %s", l->d->generated);
    text_anchor(l->cr, l->x1, y, g, 7.5, 0, PANGO_ALIGN_RIGHT, 0.3);
}

static void new_page(lay_t *l) {
    if (l->page > 0) {
        page_footer(l);
        cairo_show_page(l->cr);
    }
    l->page++;
    l->y = MARGIN_TOP;
    double w = l->x1 - l->x0;
    if (l->page == 1) {
        l->y += text_at(l->cr, l->x0, l->y, l->d->title, 18, 1, w, PANGO_ALIGN_LEFT, 0) + 2;
        if (l->d->subtitle)
            l->y +=
                text_at(l->cr, l->x0, l->y, l->d->subtitle, 10, 0, w, PANGO_ALIGN_LEFT, 0.15) + 1;
        char g[96];
        snprintf(g, sizeof g, "生成时间 %s", l->d->generated);
        l->y += text_at(l->cr, l->x0, l->y, g, 8, 0, w, PANGO_ALIGN_LEFT, 0.35) + 4;
        hline(l->cr, l->x0, l->x1, l->y, 1.2, 0);
        l->y += 10;
    } else {
        /* the running title, so a loose page still says what it belongs to */
        l->y -= 14;
        text_at(l->cr, l->x0, l->y, l->d->title, 8, 0, w * 0.7, PANGO_ALIGN_LEFT, 0.35);
        l->y += 13;
        hline(l->cr, l->x0, l->x1, l->y, 0.5, 0.4);
        l->y += 8;
    }
    l->ytop = l->y;
}

/* Makes room for h points: a new page when they do not fit here (and would on a new one). */
static void need(lay_t *l, double h) {
    if (l->y + h > l->ybot && l->y > l->ytop + 0.5) new_page(l);
}

/* ---- tables --------------------------------------------------------------------------- */

typedef struct tgeom {
    size_t nc;
    double *w; /* column widths */
    double pt; /* the table's font size */
    double head_h;
} tgeom_t;

static double cell_h(cairo_t *cr, const char *s, double pt, double w, int bold) {
    return text_height(cr, *s ? s : " ", pt, bold, w - 2 * TABLE_PAD_X) + 2 * TABLE_PAD_Y;
}

static double row_h(lay_t *l, const cli_table_t *t, const tgeom_t *g, size_t r) {
    double h = 0;
    for (size_t c = 0; c < g->nc; c++) {
        double ch = cell_h(l->cr, cli_table_cell(t, r, c), g->pt, g->w[c], 0);
        if (ch > h) h = ch;
    }
    for (size_t c = 0; c < g->nc; c++)
        if (cli_table_is_blank(t, c) && h < 26) h = 26; /* room to write by hand */
    return h;
}

/* The width of s on one line (*nat) and of its widest space-separated word (*word): a
 * column narrower than the word breaks it ("2026-1" / "2-09"). */
static void cell_widths(cairo_t *cr, const char *s, double pt, int bold, double *nat,
                        double *word) {
    *nat = text_width(cr, s, pt, bold);
    if (!strpbrk(s, " \n")) {
        *word = *nat;
        return;
    }
    *word = 0;
    char buf[256];
    while (*s) {
        size_t n = strcspn(s, " \n");
        if (n > 0) {
            size_t k = n < sizeof buf - 1 ? n : sizeof buf - 1;
            memcpy(buf, s, k);
            buf[k] = '\0';
            double w = text_width(cr, buf, pt, bold);
            if (w > *word) *word = w;
        }
        s += n;
        while (*s == ' ' || *s == '\n')
            s++;
    }
}

/* Natural and least widths of every column at font size pt; their sums. */
static void column_widths(lay_t *l, const cli_table_t *t, double pt, double *nat, double *least,
                          double *sum_nat, double *sum_least) {
    size_t nc = cli_table_ncols(t), nr = cli_table_nrows(t);
    int hidden = cli_table_header_hidden(t);
    *sum_nat = *sum_least = 0;
    for (size_t c = 0; c < nc; c++) {
        double n = 0, w = 0, cn, cw;
        if (!hidden) cell_widths(l->cr, cli_table_header(t, c), pt, 1, &n, &w);
        for (size_t r = 0; r < nr; r++) {
            cell_widths(l->cr, cli_table_cell(t, r, c), pt, 0, &cn, &cw);
            if (cn > n) n = cn;
            if (cw > w) w = cw;
        }
        n += 2 * TABLE_PAD_X + 1;
        w += 2 * TABLE_PAD_X + 1;
        if (cli_table_is_blank(t, c)) {
            if (n < 80) n = 80;
            if (w < 48) w = 48;
        }
        nat[c] = n;
        least[c] = w;
        *sum_nat += n;
        *sum_least += w;
    }
}

/* Column widths: natural widths when they fit (a key/value table stays compact, a list
 * spreads over the page, blank columns taking the slack); otherwise every column gets
 * its widest word and the rest of the width goes to the columns that wrap, in
 * proportion to what they lack. When even the words do not fit, a smaller font. */
static int table_geom(lay_t *l, const cli_table_t *t, tgeom_t *g) {
    size_t nc = cli_table_ncols(t);
    g->nc = nc;
    g->w = calloc(nc ? nc : 1, sizeof *g->w);
    double *nat = calloc(nc ? nc : 1, sizeof *nat), *least = calloc(nc ? nc : 1, sizeof *least);
    if (!g->w || !nat || !least) {
        free(nat);
        free(least);
        return CL_ENOMEM;
    }
    double avail = l->x1 - l->x0, sum = 0, sum_least = 0;
    static const double sizes[] = {TABLE_PT, 7.5, 6.5};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        g->pt = sizes[k];
        column_widths(l, t, g->pt, nat, least, &sum, &sum_least);
        if (sum <= avail || sum_least <= avail) break;
    }
    if (sum <= avail) {
        double slack = avail - sum;
        size_t nblank = 0;
        for (size_t c = 0; c < nc; c++)
            nblank += cli_table_is_blank(t, c) != 0;
        for (size_t c = 0; c < nc; c++) {
            g->w[c] = nat[c];
            if (nblank)
                g->w[c] += cli_table_is_blank(t, c) ? slack / (double)nblank : 0;
            else if (nc > 2)
                g->w[c] += slack * nat[c] / sum;
        }
        if (nc == 2 && !nblank) { /* key/value: compact but not tiny */
            if (g->w[0] < avail * 0.38) g->w[0] = avail * 0.38;
            if (g->w[1] < avail * 0.16) g->w[1] = avail * 0.16;
        }
    } else if (sum_least <= avail) {
        double lack = sum - sum_least, rest = avail - sum_least;
        for (size_t c = 0; c < nc; c++)
            g->w[c] = least[c] + (lack > 0 ? rest * (nat[c] - least[c]) / lack : 0);
    } else { /* words break: widths in proportion to the words */
        for (size_t c = 0; c < nc; c++)
            g->w[c] = avail * least[c] / sum_least;
    }
    free(nat);
    free(least);
    g->head_h = 0;
    if (!cli_table_header_hidden(t))
        for (size_t c = 0; c < nc; c++) {
            double h = cell_h(l->cr, cli_table_header(t, c), g->pt, g->w[c], 1);
            if (h > g->head_h) g->head_h = h;
        }
    return CL_OK;
}

/* One row of cells at l->y (header: bold on grey). */
static void draw_row(lay_t *l, const cli_table_t *t, const tgeom_t *g, long r, double h) {
    cairo_t *cr = l->cr;
    double x = l->x0;
    if (r < 0 || r % 2 == 1) {
        cairo_save(cr);
        double grey = r < 0 ? 0.82 : 0.95;
        cairo_set_source_rgb(cr, grey, grey, grey);
        double tw = 0;
        for (size_t c = 0; c < g->nc; c++)
            tw += g->w[c];
        cairo_rectangle(cr, l->x0, l->y, tw, h);
        cairo_fill(cr);
        cairo_restore(cr);
    }
    for (size_t c = 0; c < g->nc; c++) {
        const char *s = r < 0 ? cli_table_header(t, c) : cli_table_cell(t, (size_t)r, c);
        PangoAlignment a =
            r >= 0 && cli_table_is_numeric(t, c) ? PANGO_ALIGN_RIGHT : PANGO_ALIGN_LEFT;
        text_at(cr, x + TABLE_PAD_X, l->y + TABLE_PAD_Y, s, g->pt, r < 0, g->w[c] - 2 * TABLE_PAD_X,
                a, 0);
        cairo_save(cr);
        cairo_set_line_width(cr, 0.5);
        cairo_set_source_rgb(cr, 0.25, 0.25, 0.25);
        cairo_rectangle(cr, x, l->y, g->w[c], h);
        cairo_stroke(cr);
        cairo_restore(cr);
        x += g->w[c];
    }
    l->y += h;
}

static double caption_h(lay_t *l, const char *caption) {
    return caption ? text_height(l->cr, caption, 10.5, 1, l->x1 - l->x0) + 4 : 0;
}

static int layout_table(lay_t *l, const block_t *b) {
    const cli_table_t *t = b->t;
    tgeom_t g = {0, NULL, 0, 0};
    if (table_geom(l, t, &g) != CL_OK) return CL_ENOMEM;
    size_t nr = cli_table_nrows(t);
    double first = nr ? row_h(l, t, &g, 0) : 18;
    /* the caption, the header and the first row stay together */
    need(l, caption_h(l, b->text) + g.head_h + first + 2);
    if (b->text)
        l->y +=
            text_at(l->cr, l->x0, l->y, b->text, 10.5, 1, l->x1 - l->x0, PANGO_ALIGN_LEFT, 0) + 4;
    if (g.head_h > 0) draw_row(l, t, &g, -1, g.head_h);
    if (!nr) {
        text_at(l->cr, l->x0 + TABLE_PAD_X, l->y + TABLE_PAD_Y, "（无 none）", TABLE_PT, 0, -1,
                PANGO_ALIGN_LEFT, 0.3);
        l->y += first;
    }
    for (size_t r = 0; r < nr; r++) {
        double h = r == 0 ? first : row_h(l, t, &g, r);
        if (l->y + h > l->ybot) {
            new_page(l);
            char cont[512];
            snprintf(cont, sizeof cont, "%s（续 continued）", b->text ? b->text : "");
            l->y +=
                text_at(l->cr, l->x0, l->y, cont, 8.5, 0, l->x1 - l->x0, PANGO_ALIGN_LEFT, 0.3) + 3;
            if (g.head_h > 0) draw_row(l, t, &g, -1, g.head_h);
        }
        draw_row(l, t, &g, (long)r, h);
    }
    l->y += 12;
    free(g.w);
    return CL_OK;
}

/* ---- headline figures ----------------------------------------------------------------- */

static void layout_figures(lay_t *l, const block_t *b) {
    const double gap = 10, bh = b->notes ? 68 : 58;
    size_t per = 3;
    double bw = (l->x1 - l->x0 - gap * (double)(per - 1)) / (double)per;
    for (size_t i = 0; i < b->n; i += per) {
        need(l, bh + gap);
        for (size_t k = 0; k < per && i + k < b->n; k++) {
            double x = l->x0 + (double)k * (bw + gap);
            cairo_save(l->cr);
            cairo_set_source_rgb(l->cr, 0.94, 0.94, 0.94);
            cairo_rectangle(l->cr, x, l->y, bw, bh);
            cairo_fill_preserve(l->cr);
            cairo_set_source_rgb(l->cr, 0, 0, 0);
            cairo_set_line_width(l->cr, 0.8);
            cairo_stroke(l->cr);
            cairo_restore(l->cr);
            text_anchor(l->cr, x + bw / 2, l->y + 8, b->values[i + k], 20, 1, PANGO_ALIGN_CENTER,
                        0);
            text_at(l->cr, x + 4, l->y + 38, b->labels[i + k], 8.5, 0, bw - 8, PANGO_ALIGN_CENTER,
                    0.2);
            if (b->notes && b->notes[i + k][0])
                text_at(l->cr, x + 4, l->y + 52, b->notes[i + k], 7.5, 0, bw - 8,
                        PANGO_ALIGN_CENTER, 0.35);
        }
        l->y += bh + gap;
    }
    l->y += 4;
}

/* ---- charts --------------------------------------------------------------------------- */

/* Fills the current path in series k's black-and-white style: dark grey, diagonal
 * hatching on white, light grey, cross-hatching on white; then outlines it. */
static void bw_fill(cairo_t *cr, size_t k, double x, double y, double w, double h) {
    cairo_save(cr);
    cairo_rectangle(cr, x, y, w, h);
    if (k % 4 == 0 || k % 4 == 2) {
        double g = k % 4 == 0 ? 0.3 : 0.72;
        cairo_set_source_rgb(cr, g, g, g);
        cairo_fill_preserve(cr);
    } else {
        cairo_set_source_rgb(cr, 1, 1, 1);
        cairo_fill_preserve(cr);
        cairo_save(cr);
        cairo_clip_preserve(cr);
        cairo_new_path(cr);
        cairo_set_source_rgb(cr, 0, 0, 0);
        cairo_set_line_width(cr, 0.6);
        for (double d = -h; d < w + h; d += 3.2) {
            cairo_move_to(cr, x + d, y + h);
            cairo_line_to(cr, x + d + h, y);
            if (k % 4 == 3) {
                cairo_move_to(cr, x + d, y);
                cairo_line_to(cr, x + d + h, y + h);
            }
        }
        cairo_stroke(cr);
        cairo_restore(cr);
        cairo_rectangle(cr, x, y, w, h);
    }
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_set_line_width(cr, 0.6);
    cairo_stroke(cr);
    cairo_restore(cr);
}

/* Line style k: solid, dashed, dash-dot, long dash. */
static void bw_line(cairo_t *cr, size_t k) {
    static const double dash1[] = {5, 3}, dash2[] = {6, 2, 1.5, 2}, dash3[] = {9, 3};
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_set_line_width(cr, k == 0 ? 1.8 : 1.4);
    switch (k % 4) {
    case 0: cairo_set_dash(cr, NULL, 0, 0); break;
    case 1: cairo_set_dash(cr, dash1, 2, 0); break;
    case 2: cairo_set_dash(cr, dash2, 4, 0); break;
    default: cairo_set_dash(cr, dash3, 2, 0); break;
    }
}

/* Marker k at (x, y): filled circle, open square, filled triangle, open diamond. */
static void bw_marker(cairo_t *cr, size_t k, double x, double y) {
    const double r = 3.2;
    cairo_save(cr);
    cairo_set_dash(cr, NULL, 0, 0);
    cairo_set_line_width(cr, 1.1);
    cairo_new_path(cr);
    switch (k % 4) {
    case 0: cairo_arc(cr, x, y, r, 0, 2 * M_PI); break;
    case 1: cairo_rectangle(cr, x - r, y - r, 2 * r, 2 * r); break;
    case 2:
        cairo_move_to(cr, x, y - r - 0.6);
        cairo_line_to(cr, x + r + 0.4, y + r - 0.4);
        cairo_line_to(cr, x - r - 0.4, y + r - 0.4);
        cairo_close_path(cr);
        break;
    default:
        cairo_move_to(cr, x, y - r - 0.8);
        cairo_line_to(cr, x + r + 0.8, y);
        cairo_line_to(cr, x, y + r + 0.8);
        cairo_line_to(cr, x - r - 0.8, y);
        cairo_close_path(cr);
        break;
    }
    int open = k % 2 == 1;
    cairo_set_source_rgb(cr, open ? 1 : 0, open ? 1 : 0, open ? 1 : 0);
    cairo_fill_preserve(cr);
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_stroke(cr);
    cairo_restore(cr);
}

/* A round step for about five ticks up to max. */
static double nice_step(double max) {
    if (max <= 0) return 1;
    double raw = max / 5, mag = pow(10, floor(log10(raw))), f = raw / mag;
    double s = f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10;
    return s * mag;
}

static void fmt_value(char *buf, size_t len, double v, int percent, double step) {
    if (percent)
        snprintf(buf, len, step * 100 < 1 ? "%.1f%%" : "%.0f%%", v * 100);
    else if (step < 1)
        snprintf(buf, len, "%.1f", v);
    else
        snprintf(buf, len, "%.0f", v);
}

/* The legend: swatches and names in a row, right-aligned at the chart's top. */
static void legend(lay_t *l, const pdf_chart_t *c, double y) {
    double x = l->x1;
    for (size_t k = c->nseries; k-- > 0;) {
        double tw = text_width(l->cr, c->series[k].name, 8, 0);
        x -= tw;
        text_at(l->cr, x, y, c->series[k].name, 8, 0, -1, PANGO_ALIGN_LEFT, 0);
        x -= 24;
        if (c->kind == PDF_CHART_LINE) {
            cairo_save(l->cr);
            bw_line(l->cr, k);
            cairo_move_to(l->cr, x, y + 6);
            cairo_line_to(l->cr, x + 20, y + 6);
            cairo_stroke(l->cr);
            cairo_restore(l->cr);
            bw_marker(l->cr, k, x + 10, y + 6);
        } else {
            bw_fill(l->cr, k, x + 4, y + 1.5, 14, 9);
        }
        x -= 12;
    }
}

static void layout_hbar(lay_t *l, const pdf_chart_t *c) {
    cairo_t *cr = l->cr;
    double label_w = 0;
    for (size_t i = 0; i < c->ncat; i++) {
        double w = text_width(cr, c->cat[i], 8.5, 0);
        if (w > label_w) label_w = w;
    }
    double maxlw = (l->x1 - l->x0) * 0.35;
    if (label_w > maxlw) label_w = maxlw;
    double px0 = l->x0 + label_w + 8, px1 = l->x1 - 44, rowh = 17;
    need(l, 20 + rowh * (c->ncat < 4 ? (double)c->ncat : 4) + 20);
    if (c->title) l->y += text_at(cr, l->x0, l->y, c->title, 10.5, 1, -1, PANGO_ALIGN_LEFT, 0) + 4;
    /* the scale */
    for (int q = 0; q <= 4; q++) {
        char b[16];
        snprintf(b, sizeof b, "%d%%", q * 25);
        text_anchor(cr, px0 + (px1 - px0) * q / 4.0, l->y, b, 7, 0, PANGO_ALIGN_CENTER, 0.3);
    }
    l->y += 11;
    double grid_top = l->y;
    for (size_t i = 0; i < c->ncat; i++) {
        if (l->y + rowh > l->ybot) {
            new_page(l);
            char cont[512];
            snprintf(cont, sizeof cont, "%s（续 continued）", c->title ? c->title : "");
            l->y += text_at(cr, l->x0, l->y, cont, 8.5, 0, -1, PANGO_ALIGN_LEFT, 0.3) + 3;
            grid_top = l->y;
        }
        double v = c->series[0].v[i];
        text_at(cr, l->x0, l->y + 2.5, c->cat[i], 8.5, 0, label_w, PANGO_ALIGN_RIGHT, 0);
        cairo_save(cr);
        cairo_set_source_rgb(cr, 0, 0, 0);
        cairo_set_line_width(cr, 0.5);
        cairo_rectangle(cr, px0, l->y + 3, px1 - px0, rowh - 6);
        cairo_stroke(cr);
        cairo_restore(cr);
        char b[32];
        if (isnan(v)) {
            snprintf(b, sizeof b, "—");
        } else {
            double f = v < 0 ? 0 : v > 1 ? 1 : v;
            if (f > 0) bw_fill(cr, 0, px0, l->y + 3, (px1 - px0) * f, rowh - 6);
            snprintf(b, sizeof b, "%.1f%%", v * 100);
        }
        text_at(cr, px1 + 4, l->y + 2.5, b, 8.5, 0, -1, PANGO_ALIGN_LEFT, 0);
        l->y += rowh;
        /* the quarter lines, dotted, over the rows of this page */
        if (i + 1 == c->ncat || l->y + rowh > l->ybot) {
            static const double dots[] = {1, 2};
            cairo_save(cr);
            cairo_set_dash(cr, dots, 2, 0);
            cairo_set_line_width(cr, 0.4);
            cairo_set_source_rgb(cr, 0.4, 0.4, 0.4);
            for (int q = 1; q < 4; q++) {
                cairo_move_to(cr, px0 + (px1 - px0) * q / 4.0, grid_top);
                cairo_line_to(cr, px0 + (px1 - px0) * q / 4.0, l->y);
            }
            cairo_stroke(cr);
            cairo_restore(cr);
        }
    }
    l->y += 12;
}

static void layout_chart(lay_t *l, const pdf_chart_t *c) {
    if (c->kind == PDF_CHART_HBAR) {
        layout_hbar(l, c);
        return;
    }
    cairo_t *cr = l->cr;
    double ph = c->height > 0 ? c->height : 160;
    /* the y scale */
    double max = 0;
    for (size_t k = 0; k < c->nseries; k++)
        for (size_t i = 0; i < c->ncat; i++)
            if (!isnan(c->series[k].v[i]) && c->series[k].v[i] > max) max = c->series[k].v[i];
    if (c->percent && max <= 0) max = 1;
    /* headroom above the highest bar or point for its value label */
    double step = nice_step(max > 0 ? max * 1.08 : 1);
    double top = ceil(max * 1.08 / step - 1e-9) * step;
    if (top <= 0) top = step;
    if (c->percent && top > 1 && max <= 1) top = 1;
    double tick_w = 0;
    char b[48];
    for (double v = 0; v <= top + step / 2; v += step) {
        fmt_value(b, sizeof b, v, c->percent, step);
        double w = text_width(cr, b, 7.5, 0);
        if (w > tick_w) tick_w = w;
    }
    double px0 = l->x0 + tick_w + (c->y_title ? 18 : 6), px1 = l->x1 - 4;
    double slot = (px1 - px0) / (double)c->ncat;
    double lab_w = 0;
    for (size_t i = 0; i < c->ncat; i++) {
        double w = text_width(cr, c->cat[i], 7.5, 0);
        if (w > lab_w) lab_w = w;
    }
    int rotate = lab_w > slot - 2;
    double lab_h = rotate ? lab_w * 0.72 + 8 : 12;
    double title_h = 18, legend_h = 14;
    need(l, title_h + legend_h + ph + lab_h + (c->x_title ? 14 : 0) + 10);
    if (c->title) text_at(cr, l->x0, l->y, c->title, 10.5, 1, -1, PANGO_ALIGN_LEFT, 0);
    l->y += title_h;
    legend(l, c, l->y);
    l->y += legend_h + 4;
    double py0 = l->y, py1 = l->y + ph;
    /* grid and ticks */
    for (double v = 0; v <= top + step / 2; v += step) {
        double y = py1 - (py1 - py0) * v / top;
        cairo_save(cr);
        static const double dots[] = {1, 2};
        if (v > 0) cairo_set_dash(cr, dots, 2, 0);
        cairo_set_line_width(cr, v > 0 ? 0.4 : 0.9);
        cairo_set_source_rgb(cr, v > 0 ? 0.55 : 0, v > 0 ? 0.55 : 0, v > 0 ? 0.55 : 0);
        cairo_move_to(cr, px0, y);
        cairo_line_to(cr, px1, y);
        cairo_stroke(cr);
        cairo_restore(cr);
        fmt_value(b, sizeof b, v, c->percent, step);
        text_anchor(cr, px0 - 3, y - 5, b, 7.5, 0, PANGO_ALIGN_RIGHT, 0);
    }
    hline(cr, px0, px0, py0, 0, 0);
    cairo_save(cr);
    cairo_set_line_width(cr, 0.9);
    cairo_move_to(cr, px0, py0 - 2);
    cairo_line_to(cr, px0, py1);
    cairo_stroke(cr);
    cairo_restore(cr);
    if (c->y_title) {
        cairo_save(cr);
        double tw = text_width(cr, c->y_title, 8, 0);
        cairo_move_to(cr, l->x0, (py0 + py1) / 2 + tw / 2);
        cairo_rotate(cr, -M_PI / 2);
        PangoLayout *pl = text_layout(cr, c->y_title, 8, 0, -1, PANGO_ALIGN_LEFT);
        pango_cairo_update_layout(cr, pl);
        cairo_set_source_rgb(cr, 0, 0, 0);
        pango_cairo_show_layout(cr, pl);
        g_object_unref(pl);
        cairo_restore(cr);
    }
    /* data */
    if (c->kind == PDF_CHART_BAR) {
        double group = slot * 0.76, bw = group / (double)c->nseries;
        if (bw > 36) { /* few categories: bars of a readable width, not slabs */
            bw = 36;
            group = bw * (double)c->nseries;
        }
        for (size_t i = 0; i < c->ncat; i++)
            for (size_t k = 0; k < c->nseries; k++) {
                double v = c->series[k].v[i];
                if (isnan(v)) continue;
                double x = px0 + slot * (double)i + (slot - group) / 2 + bw * (double)k;
                double h = (py1 - py0) * v / top;
                if (h > 0) bw_fill(cr, k, x, py1 - h, bw, h);
                if (bw >= 9 && v > 0) { /* zeros unlabelled: the axis says it */
                    fmt_value(b, sizeof b, v, c->percent, 1);
                    double fs = bw >= 14 ? 7 : 6;
                    text_anchor(cr, x + bw / 2, py1 - h - fs - 3, b, fs, 0, PANGO_ALIGN_CENTER, 0);
                }
            }
    } else {
        for (size_t k = 0; k < c->nseries; k++) {
            cairo_save(cr);
            bw_line(cr, k);
            int pen = 0;
            for (size_t i = 0; i < c->ncat; i++) {
                double v = c->series[k].v[i];
                if (isnan(v)) {
                    pen = 0;
                    continue;
                }
                double x = px0 + slot * ((double)i + 0.5), y = py1 - (py1 - py0) * v / top;
                if (pen)
                    cairo_line_to(cr, x, y);
                else
                    cairo_move_to(cr, x, y);
                pen = 1;
            }
            cairo_stroke(cr);
            cairo_restore(cr);
            for (size_t i = 0; i < c->ncat; i++) {
                double v = c->series[k].v[i];
                if (!isnan(v))
                    bw_marker(cr, k, px0 + slot * ((double)i + 0.5), py1 - (py1 - py0) * v / top);
            }
        }
    }
    /* category labels */
    for (size_t i = 0; i < c->ncat; i++) {
        double x = px0 + slot * ((double)i + 0.5);
        if (!rotate) {
            text_anchor(cr, x, py1 + 2, c->cat[i], 7.5, 0, PANGO_ALIGN_CENTER, 0);
        } else {
            cairo_save(cr);
            double w = text_width(cr, c->cat[i], 7.5, 0);
            cairo_translate(cr, x + 3, py1 + 3);
            cairo_rotate(cr, -M_PI / 4);
            cairo_move_to(cr, -w, 0);
            PangoLayout *pl = text_layout(cr, c->cat[i], 7.5, 0, -1, PANGO_ALIGN_LEFT);
            pango_cairo_update_layout(cr, pl);
            cairo_set_source_rgb(cr, 0, 0, 0);
            pango_cairo_show_layout(cr, pl);
            g_object_unref(pl);
            cairo_restore(cr);
        }
    }
    l->y = py1 + lab_h;
    if (c->x_title) {
        text_anchor(cr, (px0 + px1) / 2, l->y, c->x_title, 8, 0, PANGO_ALIGN_CENTER, 0.2);
        l->y += 14;
    }
    l->y += 10;
}

/* ---- the two passes ------------------------------------------------------------------- */

static int layout_all(const pdf_doc_t *d, cairo_t *cr, int total, int *pages) {
    lay_t l;
    memset(&l, 0, sizeof l);
    l.d = d;
    l.cr = cr;
    l.pw = d->landscape ? A4_H : A4_W;
    l.ph = d->landscape ? A4_W : A4_H;
    l.x0 = MARGIN_X;
    l.x1 = l.pw - MARGIN_X;
    l.ybot = l.ph - MARGIN_BOTTOM;
    l.total = total;
    new_page(&l);
    for (size_t i = 0; i < d->n; i++) {
        const block_t *b = &d->b[i];
        double w = l.x1 - l.x0;
        switch (b->kind) {
        case B_HEADING: {
            double pt = b->level <= 1 ? 13 : 10.5;
            double h = text_height(cr, b->text, pt, 1, w);
            need(&l, h + 60); /* never alone at the foot of a page */
            if (l.y > l.ytop + 1) l.y += b->level <= 1 ? 6 : 2;
            l.y += text_at(cr, l.x0, l.y, b->text, pt, 1, w, PANGO_ALIGN_LEFT, 0);
            if (b->level <= 1) {
                hline(cr, l.x0, l.x1, l.y + 1, 0.6, 0.3);
                l.y += 5;
            }
            l.y += 4;
            break;
        }
        case B_PARA: {
            double pt = b->level ? 8 : 9.5;
            double h = text_height(cr, b->text, pt, 0, w);
            need(&l, h);
            l.y +=
                text_at(cr, l.x0, l.y, b->text, pt, 0, w, PANGO_ALIGN_LEFT, b->level ? 0.3 : 0) + 5;
            break;
        }
        case B_FIGURES: layout_figures(&l, b); break;
        case B_TABLE:
            if (layout_table(&l, b) != CL_OK) return CL_ENOMEM;
            break;
        case B_CHART: layout_chart(&l, &b->c); break;
        case B_BREAK:
            if (l.y > l.ytop + 0.5) new_page(&l);
            break;
        }
    }
    page_footer(&l);
    cairo_show_page(cr);
    *pages = l.page;
    return CL_OK;
}

static cairo_status_t write_discard(void *closure, const unsigned char *data, unsigned int len) {
    (void)closure;
    (void)data;
    (void)len;
    return CAIRO_STATUS_SUCCESS;
}

/* The real pass's sink: cairo does not always carry a failed write into the surface's
 * status (a full disk at finish), so the failure is kept here too. */
typedef struct sink {
    FILE *f;
    int failed;
} sink_t;

static cairo_status_t write_file(void *closure, const unsigned char *data, unsigned int len) {
    sink_t *k = closure;
    if (k->failed || fwrite(data, 1, len, k->f) != len) {
        k->failed = 1;
        return CAIRO_STATUS_WRITE_ERROR;
    }
    return CAIRO_STATUS_SUCCESS;
}

/* One pass: lays d out on a PDF surface writing through fn; total is the page count the
 * footers print. */
static int pass(const pdf_doc_t *d, cairo_write_func_t fn, void *closure, int total, int *pages) {
    double pw = d->landscape ? A4_H : A4_W, ph = d->landscape ? A4_W : A4_H;
    cairo_surface_t *s = cairo_pdf_surface_create_for_stream(fn, closure, pw, ph);
    cairo_pdf_surface_set_metadata(s, CAIRO_PDF_METADATA_TITLE, d->title);
    cairo_pdf_surface_set_metadata(s, CAIRO_PDF_METADATA_CREATOR, "closeloop cloop");
    cairo_t *cr = cairo_create(s);
    PangoFontMap *fm = pango_cairo_font_map_new();
    PangoContext *pc = fm ? pango_font_map_create_context(fm) : NULL;
    int rc = CL_ENOMEM;
    if (pc && cairo_set_user_data(cr, &pango_key, pc, NULL) == CAIRO_STATUS_SUCCESS)
        rc = layout_all(d, cr, total, pages);
    if (cairo_status(cr) != CAIRO_STATUS_SUCCESS) rc = CL_EIO;
    cairo_destroy(cr);
    if (pc) g_object_unref(pc);
    if (fm) g_object_unref(fm);
    LSAN_PAUSE();
    cairo_surface_finish(s);
    LSAN_RESUME();
    if (cairo_surface_status(s) != CAIRO_STATUS_SUCCESS && rc == CL_OK) rc = CL_EIO;
    cairo_surface_destroy(s);
    return rc;
}

int pdf_write(pdf_doc_t *d, FILE *out, int *pages) {
    int counted = 0, drawn = 0;
    int rc = pass(d, write_discard, NULL, 0, &counted);
    sink_t k = {out, 0};
    if (rc == CL_OK) rc = pass(d, write_file, &k, counted, &drawn);
    if (rc == CL_OK && (k.failed || fflush(out) != 0 || ferror(out))) rc = CL_EIO;
    if (pages) *pages = drawn;
    /* cairo's and fontconfig's caches, left to the process's exit otherwise (a leak to
     * the sanitizers); both are set up again should another document follow */
    cairo_debug_reset_static_data();
    FcFini();
    return rc;
}

FILE *pdf_open_output(const char *what, const char *path) {
    if (!path || strcmp(path, "-") == 0) {
        if (isatty(STDOUT_FILENO)) {
            cli_errorf("%s: a PDF is not for the terminal: give -o FILE or redirect the output",
                       what);
            return NULL;
        }
        return stdout;
    }
    FILE *f = fopen(path, "wb");
    if (!f) cli_errorf("%s: cannot create '%s': %s", what, path, strerror(errno));
    return f;
}
