/* cli_domain.c - the registry for cloop's output, options and help texts (see
 * cli_domain.h). The English notes below describe values for help texts; they are keyed
 * by wire value, so the names beside them still come from the registry. */
#include "cli_domain.h"

#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_util.h"

/* What some values mean, in the words of cloop's help. */
typedef struct note {
    cl_domain_t d;
    int w;
    const char *text;
} note_t;

static const note_t notes[] = {
    {CL_DOM_ROLE, CLOSELOOP__ROLE__ROLE_HQ_ADMIN, "HQ administrator: everything"},
    {CL_DOM_ROLE, CLOSELOOP__ROLE__ROLE_HQ_ANALYST, "HQ analyst: reads everything, writes nothing"},
    {CL_DOM_ROLE, CLOSELOOP__ROLE__ROLE_CR,
     "customer relations of a city company (needs --company)"},
    {CL_DOM_ROLE, CLOSELOOP__ROLE__ROLE_CLERK, "site clerk of --projects"},
    {CL_DOM_ROLE, CLOSELOOP__ROLE__ROLE_CONTRACTOR, "staff of a contractor (needs --contractor)"},
    {CL_DOM_ROLE, CLOSELOOP__ROLE__ROLE_VERIFIER, "verifies repairs on --projects"},
    {CL_DOM_ROLE, CLOSELOOP__ROLE__ROLE_PROPERTY, "property service on --projects"},
    {CL_DOM_ROLE, CLOSELOOP__ROLE__ROLE_DEPT,
     "department staff: their department's defect steps (needs --company, --department)"},
    {CL_DOM_ROLE, CLOSELOOP__ROLE__ROLE_HOTLINE,
     "the group's 400 hotline: complaints of every project"},
    {CL_DOM_ROLE, CLOSELOOP__ROLE__ROLE_WARRANTY,
     "a city company's warranty office (needs --company)"},
    {CL_DOM_COMPANY_KIND, CLOSELOOP__COMPANY_KIND__COMPANY_HQ, "the group headquarters"},
    {CL_DOM_COMPANY_KIND, CLOSELOOP__COMPANY_KIND__COMPANY_CITY, "a city company (the default)"},
    {CL_DOM_COMPANY_KIND, CLOSELOOP__COMPANY_KIND__COMPANY_PROJECT,
     "an independent project company"},
    {CL_DOM_ROUND_KIND, CLOSELOOP__ROUND_KIND__ROUND_MOCK1,
     "internal mock inspections before move-in"},
    {CL_DOM_ROUND_KIND, CLOSELOOP__ROUND_KIND__ROUND_MOCK2,
     "internal mock inspections before move-in"},
    {CL_DOM_ROUND_KIND, CLOSELOOP__ROUND_KIND__ROUND_MOCK3,
     "internal mock inspections before move-in"},
    {CL_DOM_ROUND_KIND, CLOSELOOP__ROUND_KIND__ROUND_HANDOVER,
     "handover day with the owners (房屋交付)"},
    {CL_DOM_ROUND_KIND, CLOSELOOP__ROUND_KIND__ROUND_CHECK3M, "checks after handover"},
    {CL_DOM_ROUND_KIND, CLOSELOOP__ROUND_KIND__ROUND_CHECK11M, "checks after handover"},
    {CL_DOM_ROUND_KIND, CLOSELOOP__ROUND_KIND__ROUND_CHECK23M, "checks after handover"},
    {CL_DOM_ROUND_KIND, CLOSELOOP__ROUND_KIND__ROUND_CHECK35M, "checks after handover"},
    {CL_DOM_ROUND_KIND, CLOSELOOP__ROUND_KIND__ROUND_WARRANTY,
     "owners' warranty reports (cloop warranty add makes it)"},
};

const char *cli_enum_name(cl_domain_t d, int w) {
    const char *n = cl_domain_name(d, w);
    return n ? n : "";
}

const char *cli_enum_label(cl_domain_t d, int w) {
    const char *l = cl_domain_label(d, w);
    return l && *l ? l : cli_enum_name(d, w);
}

const char *cli_role_shown(int role) {
    const char *n = cl_domain_name(CL_DOM_ROLE, role);
    return n ? n : "none";
}

int cli_opt_enum(const char *what, const char *opt, const char *v, cl_domain_t d, int *out) {
    *out = cl_domain_parse(d, v);
    if (*out) return 0;
    char list[512];
    cl_domain_accepted(d, false, list, sizeof list);
    if (v)
        cli_errorf("%s: unknown %s '%s': use %s", what, opt, v, list);
    else
        cli_errorf("%s: %s is required: use %s", what, opt, list);
    return -1;
}

/* The note of a value, else its label. */
static const char *meaning(cl_domain_t d, int w) {
    for (size_t i = 0; i < sizeof notes / sizeof notes[0]; i++)
        if (notes[i].d == d && notes[i].w == w) return notes[i].text;
    return cl_domain_label(d, w);
}

/* The domain whose cl_domain_what() is s[0..len) with '_' for ' '; -1 when none is. */
static int domain_named(const char *s, size_t len) {
    for (int d = 0; d < (int)CL_DOM__COUNT; d++) {
        const char *w = cl_domain_what((cl_domain_t)d);
        size_t i = 0;
        while (i < len && w[i] && (w[i] == s[i] || (w[i] == ' ' && s[i] == '_')))
            i++;
        if (i == len && !w[i]) return d;
    }
    return -1;
}

/* One line per value, or per run of values with the same meaning. */
static void print_table(FILE *out, cl_domain_t d, int width) {
    size_t n;
    const cl_domain_value_t *v = cl_domain_values(d, &n);
    for (size_t i = 0; i < n;) {
        const char *m = meaning(d, v[i].wire);
        int len = fprintf(out, "  %s", v[i].name) - 2;
        size_t j = i + 1;
        for (; j < n && strcmp(meaning(d, v[j].wire), m) == 0; j++)
            len += fprintf(out, ", %s", v[j].name);
        fprintf(out, "%*s%s\n", len + 2 <= width ? width - len : 2, "", m);
        i = j;
    }
}

/* Prints the placeholder at text ("{" ... "}") and returns its length, or 0 when text
 * starts no placeholder. */
static size_t placeholder(FILE *out, const char *text) {
    const char *end = strchr(text, '}');
    if (!end) return 0;
    const char *word = text + 1;
    size_t len = strcspn(word, "|:}");
    int d = domain_named(word, len);
    if (d < 0) return 0;
    const char *rest = word + len;
    if (rest == end) {
        char list[512];
        cl_domain_accepted((cl_domain_t)d, false, list, sizeof list);
        fputs(list, out);
    } else if (*rest == '|' && rest + 1 == end) {
        size_t n;
        const cl_domain_value_t *v = cl_domain_values((cl_domain_t)d, &n);
        for (size_t i = 0; i < n; i++)
            fprintf(out, "%s%s", i ? "|" : "", v[i].name);
    } else if (*rest == ':' && rest + 1 < end &&
               strspn(rest + 1, "0123456789") == (size_t)(end - rest - 1)) {
        print_table(out, (cl_domain_t)d, atoi(rest + 1));
    } else {
        return 0;
    }
    return (size_t)(end - text) + 1;
}

void cli_help_print(FILE *out, const char *text) {
    while (*text) {
        size_t n = strcspn(text, "{");
        fwrite(text, 1, n, out);
        text += n;
        if (!*text) break;
        size_t p = placeholder(out, text);
        if (p == 0) {
            fputc('{', out);
            p = 1;
        }
        text += p;
    }
}

const char *cli_enum_text(int for_people, cl_domain_t d, int w) {
    return cli_str(for_people ? cli_enum_label(d, w) : cli_enum_name(d, w));
}
