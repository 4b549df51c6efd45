/* cli_domain.h - cloop's side of the domain registry (common/domain.h): the stored name
 * of a wire value for output, enum options given by stored name, and help texts whose
 * lists of accepted values are filled in from the registry. With these the CLI spells
 * no stored name of its own: what it prints, parses and lists is the registry's, in the
 * registry's order. Single-threaded use; no state; every string returned is static. */
#ifndef CLI_DOMAIN_H
#define CLI_DOMAIN_H

#include <stdio.h>

#include "domain.h"

/* A limit (CL_LIM_*, a plain number) as a string literal, for help texts. */
#define CLI_STR(x)  CLI_STR_(x)
#define CLI_STR_(x) #x

/* The stored name of wire value w of d; "" for 0 (not set) and for unknown values. */
const char *cli_enum_name(cl_domain_t d, int w);

/* The Chinese label of wire value w of d, for what people read (tables, paper); the
 * stored name when the registry has no label; "" for 0 and unknown values. */
const char *cli_enum_label(cl_domain_t d, int w);

/* For people (table, HTML) the Chinese label, for scripts (CSV, JSON) the stored name;
 * "" for an unknown value. */
const char *cli_enum_text(int for_people, cl_domain_t d, int w);

/* A user's role as shown: its stored name, "none" when unset or unknown to cloop. */
const char *cli_role_shown(int role);

/* An enum option given by stored name (v NULL: missing, which is an error): 0 with *out
 * the wire value, or -1 after a usage error listing the accepted names,
 * "<what>: unknown <opt> 'x': use a, b, c" or "<what>: <opt> is required: use a, b, c". */
int cli_opt_enum(const char *what, const char *opt, const char *v, cl_domain_t d, int *out);

/* Prints a help text (a verb's synopsis or its help) to out with its placeholders filled
 * in from the registry. A placeholder names a domain the way cl_domain_what() does, with
 * '_' for blanks ("round_kind", "severity", "handover_outcome"):
 *   {severity}       minor, major, critical           (cl_domain_accepted)
 *   {severity|}      minor|major|critical             (for synopses)
 *   {round_kind:22}  one line per value: two blanks, the name padded to 22 columns (at
 *                    least two blanks after it), then what the value means: cloop's
 *                    English note where it has one, else the Chinese label. Values in
 *                    a row with the same note share its line: "mock1, mock2, mock3".
 * Any other brace is printed as it is (test_cli.sh checks that no help shows one). */
void cli_help_print(FILE *out, const char *text);

#endif
