/* pdf_reports.c - cloop's PDF verbs: which verbs print PDF, where the PDF goes (-o FILE
 * or a non-terminal stdout), and the monthly quality report (`cloop report monthly`).
 * The daily report (cmd_report.c) and the morning lists (cmd_ticket.c) build their tables
 * as for HTML and hand them to a pdf_doc_t (pdf.h), finished here. Single-threaded; each
 * verb frees its document and messages before it returns. */
#include <string.h>

#include "cli.h"
#include "pdf.h"

int cli_pdf_supported(const char *cmd, const char *verb) {
    static const char *const ok[][2] = {
        {"report", "daily"}, {"report", "monthly"}, {"ticket", "todo"}, {"ticket", "toverify"}};
    if (!cmd || !verb) return 0;
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        if (strcmp(cmd, ok[i][0]) == 0 && strcmp(verb, ok[i][1]) == 0) return 1;
    return 0;
}

int cli_take_output(int *argc, char **argv, const char **path) {
    int j = 0;
    for (int i = 0; i < *argc; i++) {
        if (strcmp(argv[i], "--") == 0) {
            while (i < *argc)
                argv[j++] = argv[i++];
            break;
        }
        const char *v = NULL;
        int m = cli_opt_value(*argc, argv, &i, "-o", "--output", &v);
        if (m < 0) return -1;
        if (m > 0)
            *path = v;
        else
            argv[j++] = argv[i];
    }
    *argc = j;
    return 0;
}

int cli_pdf_finish(pdf_doc_t *d, const char *what, const char *path) {
    FILE *out = pdf_open_output(what, path);
    if (!out) {
        pdf_free(d);
        return path ? CLI_EXIT_FAIL : CLI_EXIT_USAGE;
    }
    int rc = pdf_write(d, out, NULL);
    pdf_free(d);
    if (out != stdout && fclose(out) != 0 && rc == CL_OK) rc = CL_EIO;
    if (rc == CL_ENOMEM) {
        cli_errorf("out of memory");
        return CLI_EXIT_FAIL;
    }
    if (rc != CL_OK) {
        cli_errorf("%s: writing the PDF failed%s%s", what, path ? " to " : "", path ? path : "");
        return CLI_EXIT_FAIL;
    }
    return CLI_EXIT_OK;
}
