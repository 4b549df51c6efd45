/* cli_util.h - helpers shared by cloop's subcommand files: splitting a verb's arguments
 * into options and positionals, common value checks (ids, dates, UTF-8, UUIDs),
 * verb tables with their --help, printing a result table and fresh idempotency keys.
 * Moved here from cmd_org.c so cmd_inspect.c (and others) use the same behaviour and the
 * same messages. Also one request or one list on the stored session printed as a table
 * (from cmd_inspect.c, shared with cmd_deadline.c). Trade codes are checked by the
 * registry's rule (cl_trade_code_valid), enum options by cli_domain.h.
 * Single-threaded; nothing here keeps state between calls. */
#ifndef CLI_UTIL_H
#define CLI_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cli.h"
#include "cli_domain.h"
#include "msg.h"

/* One option of a verb: "--name" and where its value goes. */
typedef struct cli_optdef {
    const char *name;
    const char **val;
} cli_optdef_t;

/* Splits argv into the verb's options and at most maxpos positional arguments ("--" ends
 * the options). Prints a usage error naming `what` and returns -1 on anything
 * unexpected, else 0. */
int cli_parse_args(const char *what, int argc, char **argv, const cli_optdef_t *defs,
                   const char **pos, int maxpos, int *npos);

/* 0 when v is a non-empty value; else prints "<what>: <opt> is required" and returns -1. */
int cli_need(const char *what, const char *opt, const char *v);

/* A required id option: cli_need, then cli_parse_id into *out. 0, or -1 after a usage
 * error. */
int cli_need_id(const char *what, const char *opt, const char *v, int64_t *out);

/* Removes the value-less flag `name` ("--items") from argv wherever it is before "--", in
 * place, *argc updated; returns whether it was there. */
int cli_take_flag(int *argc, char **argv, const char *name);

/* An optional id option: *out = 0 when v is NULL. 0, or -1 after a usage error. */
int cli_opt_id(const char *opt, const char *v, int64_t *out);

/* Whether s is YYYY-MM-DD naming a real day (years 1900-2999). */
int cli_date_ok(const char *s);

/* 0 when v is valid UTF-8 without NUL; else prints a usage error and returns -1. */
int cli_utf8_arg_ok(const char *what, const char *v);

/* Whether s is a UUID in the 8-4-4-4-12 hex form (any version, either case). */
int cli_uuid_ok(const char *s);

/* A fresh UUIDv4 idempotency key into key: 0, or -1 after printing why not. */
int cli_new_key(char key[37]);

/* What a list-file line callback returns: the line was taken, it was bad (the callback
 * said why; reading goes on, so one run reports every bad line), or stop reading. */
enum { CLI_LINE_OK = 0, CLI_LINE_BAD = 1, CLI_LINE_STOP = 2 };
typedef int (*cli_line_fn)(void *ctx, const char *path, unsigned lineno, char *line);

/* Reads a list file (path "-": stdin) a line at a time: drops a UTF-8 BOM, the line end
 * and leading blanks, skips blank lines and lines starting with '#', and says
 * "path:N: ..." for a line with a NUL byte or invalid UTF-8. Hands every other line to
 * fn (NUL-terminated, writable). 0 when every line was taken; -1 when the file could not
 * be opened, a line was bad or fn stopped. */
int cli_each_list_line(const char *path, cli_line_fn fn, void *ctx);

/* Prints t in the chosen format on stdout: CLI_EXIT_OK, or CLI_EXIT_FAIL after saying
 * the output could not be written. */
int cli_print_table(const cli_settings_t *s, const cli_table_t *t);

/* Says "cannot write the output" and returns CLI_EXIT_FAIL. */
int cli_write_failed(void);

/* A table with ncols columns named cols, column i numeric when bit i of numeric is set.
 * NULL, after saying "out of memory", when it cannot be made. */
cli_table_t *cli_new_table(size_t ncols, const char *const *cols, unsigned numeric);

/* An optional whole-number option from 0 to max (*out = 0 when v is NULL): 0, or -1
 * after a usage error. */
int cli_opt_uint(const char *what, const char *opt, const char *v, uint64_t max, uint32_t *out);

/* Sends req on the stored session and hands the reply, of reply_type, to show, which
 * prints it and returns the exit code. Returns show's code or the session's failure. */
int cli_call_show(const cli_settings_t *s, uint16_t type, const ProtobufCMessage *req,
                  uint16_t reply_type,
                  int (*show)(const cli_settings_t *s, const ProtobufCMessage *reply));

/* One row being built: cells point at message strings or at the row's own buffers. */
#define CLI_ROW_MAX 16
typedef struct cli_row {
    const char *cell[CLI_ROW_MAX];
    char num[CLI_ROW_MAX][24];
    char *owned; /* at most one malloc'd cell (a list), freed by cli_row_add */
} cli_row_t;

/* s, or "" for NULL. */
const char *cli_str(const char *s);

/* "2025-10-09 13:30" in China Standard Time for Unix milliseconds ms, "" for 0. */
void cli_cn_time(int64_t ms, char *buf, size_t len);

/* v in decimal, kept in r's buffer of column col. */
const char *cli_row_num(cli_row_t *r, int col, int64_t v);

/* Like cli_row_num, but "" for 0 (no such reference, or not given). */
const char *cli_row_ref(cli_row_t *r, int col, int64_t v);

/* Appends r's cells to t and frees r->owned: CL_OK or CL_ENOMEM. */
int cli_row_add(cli_table_t *t, cli_row_t *r);

/* The record id of m; 0 without meta. */
int64_t cli_meta_id(const Closeloop__Meta *m);

/* Appends one record (a message) to t as a row: CL_OK or CL_ENOMEM. */
typedef int (*cli_row_fn)(cli_table_t *t, const ProtobufCMessage *record);

/* Appends every record of a page (a message with a repeated message field `items`) to t
 * through row: CL_OK, CL_ENOMEM, or CL_EBADMSG when page has no such field. */
int cli_page_rows(cli_table_t *t, const ProtobufCMessage *page, cli_row_fn row);

/* Prints one record as table t (columns already set) and frees t (NULL: exit 1, the
 * failure already said). Returns the exit code. */
int cli_record_print(const cli_settings_t *s, cli_table_t *t, cli_row_fn row,
                     const ProtobufCMessage *record);

/* Streams a list request on the stored session, adds the items of every page to t
 * through row, and prints t; frees t (NULL: exit 1, the failure already said). Returns
 * the exit code. */
int cli_list_print(const cli_settings_t *s, cli_table_t *t, uint16_t type,
                   const ProtobufCMessage *req, uint16_t page_type, cli_row_fn row);

/* Parses the arguments of a verb whose only one is the required --project ID. 0, or -1
 * after a usage error. */
int cli_args_project(const char *what, int argc, char **argv, int64_t *project_id);

/* A probable duplicate flagged at entry, as one line for people:
 * "可能重复: 维修单 #13 与 #12 相似 (相似度 0.67)". */
void cli_duplicate_text(const Closeloop__DuplicateFlag *d, char *out, size_t n);
/* Reads a photo file for an upload: at most CL_LIM_PHOTO_BYTES, JPEG or PNG by its first
 * bytes (ph->mime set from them). 0, ph->data.data malloc'd (the caller frees it); or -1
 * after saying why not. */
int cli_read_photo(const char *path, Closeloop__Photo *ph);

/* Trimmed, case-folded comparison of a CSV header cell (len bytes) with a column name. */
int cli_header_is(const char *cell, size_t len, const char *name);

#endif
