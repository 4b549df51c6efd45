#!/usr/bin/env python3
"""sqlgen.py - the typed contract between closeloopd's C code and its SQL.

Reads the named statements of every business area's .sql files and writes, at build time
(never committed):
  cl_sql.h  one handle per statement (CL_SQL(name)), its parameter count (CL_NPARAMS(name),
            computed from the highest $n), and one enum constant per result column
            (CL_COL(name, column)), generated from the statement's SELECT / RETURNING list;
  cl_sql.c  the statement table the pool prepares and checks on every connection
            (cl_db_stmt_t, server/engine/db.h).

A statement is written so that it can be pasted into psql as it is:

    -- What it does, its parameters.
    -- @binary $19 $21          (optional: parameters sent as binary, e.g. bytea[])
    -- @binary-result           (optional: every result column comes back binary)
    PREPARE ticket_show AS
    SELECT tr.*, i.inspector FROM ticket_rows tr ...;

It ends at the first line ending with ';'. Every column of the top-level SELECT (after any
WITH) or of a top-level RETURNING must have a name the generator can read: `AS name`, a
plain `alias.column` or `column`, or `alias.*` where alias names a view created in
server/migrations (its columns are read from its CREATE VIEW the same way), or where a
directive `-- @star alias view` says that alias's rows are the view's (a CTE built from
it). Anything else is a build error naming the file, the statement and the column's
position; the daemon then compares these names with PostgreSQL's description of each
prepared statement.

Functions. An area may also define SQL functions its statements call, so that one
statement can use another area's logic (the item statement raises tickets through the
ticket area's cl_ticket_raise):

    CREATE OR REPLACE FUNCTION cl_ticket_raise(p_items uuid[], ...)
    RETURNS SETOF ticket_rows LANGUAGE sql VOLATILE AS $$
    ...
    $$;

A definition ends at the first line ending with '$$;'. They go to cl_sql_functions, which
the daemon runs at every start after the migrations (server/engine/migrate.c), under the
migration lock and in one transaction, before it prepares any statement. CREATE OR
REPLACE cannot change a function's arguments or result type: such a change needs a
numbered migration that drops the old function first.

The tokenizer below only tracks quotes, comments and parenthesis depth; it is not an SQL
parser and does not need to be one: PostgreSQL checks the real thing at start-up.
"""
import os
import re
import sys

NAME_RE = re.compile(r"^PREPARE\s+([a-z_][a-z0-9_]*)\s+AS\b\s*(.*)$", re.I)
FUNC_RE = re.compile(r"^CREATE\s+OR\s+REPLACE\s+FUNCTION\s+([a-z_][a-z0-9_]*)\s*\(", re.I)
IDENT = r"[A-Za-z_][A-Za-z0-9_]*"


class GenError(Exception):
    pass


def tokens(sql):
    """Yields (kind, text, depth) with kind in word/punct/string/param; comments dropped."""
    i, n, depth = 0, len(sql), 0
    while i < n:
        c = sql[i]
        if c.isspace():
            i += 1
        elif sql.startswith("--", i):
            j = sql.find("\n", i)
            i = n if j < 0 else j + 1
        elif sql.startswith("/*", i):
            j = sql.find("*/", i + 2)
            i = n if j < 0 else j + 2
        elif c == "'":
            j = i + 1
            while j < n:
                if sql[j] == "'" and j + 1 < n and sql[j + 1] == "'":
                    j += 2
                    continue
                if sql[j] == "'":
                    break
                j += 1
            yield ("string", sql[i:j + 1], depth)
            i = j + 1
        elif c == '"':
            j = sql.find('"', i + 1)
            j = n - 1 if j < 0 else j
            yield ("word", sql[i + 1:j], depth)
            i = j + 1
        elif c == "$" and i + 1 < n and sql[i + 1].isdigit():
            j = i + 1
            while j < n and sql[j].isdigit():
                j += 1
            yield ("param", sql[i + 1:j], depth)
            i = j
        elif c.isalnum() or c == "_":
            j = i
            while j < n and (sql[j].isalnum() or sql[j] in "_."):
                j += 1
            if sql.startswith(".*", j - 1) and sql[j - 1] == ".":
                pass
            word = sql[i:j]
            if j < n and sql[j] == "*" and word.endswith("."):
                word += "*"
                j += 1
            yield ("word", word, depth)
            i = j
        elif c == "(":
            yield ("punct", c, depth)
            depth += 1
            i += 1
        elif c == ")":
            depth -= 1
            yield ("punct", c, depth)
            i += 1
        else:
            yield ("punct", c, depth)
            i += 1


def select_list(toks):
    """The top-level output list (SELECT or RETURNING) as lists of tokens, or None."""
    start = None
    for k, (kind, text, depth) in enumerate(toks):
        if depth != 0 or kind != "word":
            continue
        up = text.upper()
        if up == "SELECT" and start is None:
            start = k + 1
            if start < len(toks) and toks[start][1].upper() == "DISTINCT":
                start += 1
                if start < len(toks) and toks[start][1].upper() == "ON":
                    start += 1
                    while start < len(toks) and not (toks[start][1] == ")" and toks[start][2] == 0):
                        start += 1
                    start += 1
        if up == "RETURNING":
            start = k + 1
    if start is None:
        return None
    items, cur = [], []
    for kind, text, depth in toks[start:]:
        up = text.upper() if kind == "word" else ""
        if depth == 0 and up in ("FROM", "WHERE", "UNION", "ORDER", "LIMIT", "GROUP", "INTO"):
            break
        if depth == 0 and text == ";":
            break
        if depth == 0 and text == ",":
            items.append(cur)
            cur = []
            continue
        cur.append((kind, text))
    if cur:
        items.append(cur)
    return items


def column_names(items, views, stmt_text, where, stars=None):
    names = []
    for pos, item in enumerate(items, 1):
        if len(item) >= 2 and item[-2][0] == "word" and item[-2][1].upper() == "AS":
            names.append(item[-1][1].lower())
        elif len(item) == 1 and item[0][0] == "word" and item[0][1].endswith(".*"):
            alias = item[0][1][:-2]
            view = (stars or {}).get(alias)
            if view is not None and view not in views:
                raise GenError("%s: @star %s %s: no such view in the migrations" %
                               (where, alias, view))
            for v in views if view is None else ():
                if alias == v or re.search(r"\b%s\s+(AS\s+)?%s\b" % (v, alias), stmt_text, re.I):
                    view = v
                    break
            if view is None:
                raise GenError("%s: column %d: %s.* is not a view of the migrations" %
                               (where, pos, alias))
            names.extend(views[view])
        elif len(item) == 1 and item[0][0] == "word" and re.fullmatch(
                r"(%s\.)?%s" % (IDENT, IDENT), item[0][1]):
            names.append(item[0][1].split(".")[-1].lower())
        else:
            raise GenError("%s: column %d has no name the generator can read; write AS name" %
                           (where, pos))
    seen = set()
    for n in names:
        if n in seen:
            raise GenError("%s: two columns are named %s" % (where, n))
        seen.add(n)
    return names


def read_views(migration_dir):
    views = {}
    if not migration_dir:
        return views
    for f in sorted(os.listdir(migration_dir)):
        if not f.endswith(".sql"):
            continue
        text = open(os.path.join(migration_dir, f), encoding="utf-8").read()
        for m in re.finditer(r"CREATE\s+(?:OR\s+REPLACE\s+)?VIEW\s+(%s)\s+AS\b" % IDENT, text, re.I):
            body = text[m.end():]
            end = body.find(";\n")
            body = body if end < 0 else body[:end + 1]
            items = select_list(list(tokens(body)))
            views[m.group(1)] = column_names(items, views, body, "%s: view %s" % (f, m.group(1)))
    return views


def read_statements(path, views, funcs):
    stmts = []
    lines = open(path, encoding="utf-8").read().split("\n")
    i = 0
    rel = path
    while i < len(lines):
        f = FUNC_RE.match(lines[i])
        if f:
            where = "%s:%d" % (os.path.basename(path), i + 1)
            body = []
            while True:
                if i >= len(lines):
                    raise GenError("%s: function %s: no line ending with '$$;' ends it" %
                                   (where, f.group(1)))
                body.append(lines[i])
                i += 1
                if body[-1].rstrip().endswith("$$;"):
                    break
            funcs.append(dict(name=f.group(1), where=where, sql="\n".join(body)))
            continue
        m = NAME_RE.match(lines[i])
        if not m:
            i += 1
            continue
        name, line_no = m.group(1), i + 1
        where = "%s:%d: statement %s" % (rel, line_no, name)
        # directives: the comment block right above
        binary, binary_result, columns_of, stars = [], False, None, {}
        k = i - 1
        while k >= 0 and lines[k].startswith("--"):
            d = lines[k][2:].strip()
            if d.startswith("@star"):
                w = d.split()
                if len(w) != 3:
                    raise GenError("%s: write @star ALIAS VIEW" % where)
                stars[w[1]] = w[2]
            elif d.startswith("@binary-result"):
                binary_result = True
            elif d.startswith("@columns-of"):
                columns_of = d.split()[1]
            elif d.startswith("@binary"):
                binary += [int(x) for x in re.findall(r"\$(\d+)", d)]
            k -= 1
        body = [m.group(2)] if m.group(2) else []
        i += 1
        while True:
            if i >= len(lines):
                raise GenError("%s: no ';' ends it" % where)
            body.append(lines[i])
            i += 1
            if body[-1].rstrip().endswith(";"):
                break
        sql = "\n".join(body).rstrip()
        sql = sql[:-1].rstrip()  # the ';'
        toks = list(tokens(sql))
        params = sorted({int(t) for kind, t, _ in toks if kind == "param"})
        nparams = params[-1] if params else 0
        if params and params != list(range(1, nparams + 1)):
            missing = sorted(set(range(1, nparams + 1)) - set(params))
            raise GenError("%s: parameters %s are never used" % (where, missing))
        for b in binary:
            if b < 1 or b > nparams:
                raise GenError("%s: @binary $%d is not a parameter" % (where, b))
        items = select_list(toks)
        cols = column_names(items, views, sql, where, stars) if items is not None else []
        stmts.append(dict(name=name, sql=sql, where="%s:%d" % (os.path.basename(path), line_no),
                          nparams=nparams, cols=cols, binary=sorted(set(binary)),
                          binary_result=binary_result, columns_of=columns_of))
    if not stmts and not funcs:
        raise GenError("%s: no PREPARE statement and no function" % path)
    return stmts


def c_string(s):
    out = []
    for line in s.split("\n"):
        line = line.replace("\\", "\\\\").replace('"', '\\"')
        out.append('"%s\\n"' % line)
    return "\n    ".join(out)


def main(argv):
    if len(argv) < 4:
        print("usage: sqlgen.py OUT_DIR MIGRATION_DIR FILE.sql...", file=sys.stderr)
        return 2
    out_dir, mig_dir, files = argv[1], argv[2], argv[3:]
    try:
        views = read_views(mig_dir)
        stmts, seen, funcs = [], {}, []
        for f in files:
            for s in read_statements(f, views, funcs):
                if s["name"] in seen:
                    raise GenError("%s: statement %s is also in %s" %
                                   (s["where"], s["name"], seen[s["name"]]))
                seen[s["name"]] = s["where"]
                stmts.append(s)
    except GenError as e:
        print("sqlgen: %s" % e, file=sys.stderr)
        return 1
    try:
        shapes = dict(views)
        for s in stmts:
            shapes[s["name"]] = s["cols"]
        for s in stmts:
            of = s["columns_of"]
            if of is None:
                continue
            if of not in shapes:
                raise GenError("%s: @columns-of %s: no such statement or view" % (s["where"], of))
            if s["cols"][:len(shapes[of])] != shapes[of]:
                raise GenError("%s: @columns-of %s: its columns begin %s, not %s" %
                               (s["where"], of, s["cols"][:len(shapes[of])], shapes[of]))
    except GenError as e:
        print("sqlgen: %s" % e, file=sys.stderr)
        return 1
    h = ["/* cl_sql.h - generated by server/engine/sqlgen.py from the areas' .sql files and",
         " * the migrations' views. Do not edit; never committed. */",
         "#ifndef CL_SQL_H", "#define CL_SQL_H", "",
         "#include \"db.h\"", "",
         "/* A statement's handle, its parameter count and its result columns by name. */",
         "#define CL_SQL(stmt)      CL_SQL_##stmt",
         "#define CL_NPARAMS(stmt)  CL_NPARAMS_##stmt",
         "#define CL_NCOLS(stmt)    CL_NCOLS_##stmt",
         "#define CL_COL(stmt, col) CL_COL_##stmt##__##col", "",
         "typedef enum cl_sql_id {"]
    for s in stmts:
        h.append("    CL_SQL_%s, /* %s */" % (s["name"], s["where"]))
    h += ["    CL_SQL__COUNT", "} cl_sql_id_t;", ""]
    for s in stmts:
        h.append("#define CL_NPARAMS_%s %d" % (s["name"], s["nparams"]))
        h.append("#define CL_NCOLS_%s %d" % (s["name"], len(s["cols"])))
        if s["cols"]:
            h.append("enum {")
            for k, c in enumerate(s["cols"]):
                h.append("    CL_COL_%s__%s = %d," % (s["name"], c, k))
            h.append("};")
    for v, cols in sorted(views.items()):
        h.append("/* view %s */" % v)
        h.append("#define CL_NCOLS_%s %d" % (v, len(cols)))
        h.append("enum {")
        for k, c in enumerate(cols):
            h.append("    CL_COL_%s__%s = %d," % (v, c, k))
        h.append("};")
    h += ["", "/* Every statement, indexed by its handle. */",
          "extern const cl_db_stmt_t cl_sql_stmts[CL_SQL__COUNT];", "",
          "/* The areas' functions, in file order, defined at every start after the migrations. */",
          "#define CL_SQL_NFUNCTIONS %d" % len(funcs),
          "extern const cl_db_function_t cl_sql_functions[CL_SQL_NFUNCTIONS + 1];", "",
          "#endif", ""]
    c = ["/* cl_sql.c - generated by server/engine/sqlgen.py. Do not edit. */",
         "#include \"cl_sql.h\"", "",
         "#pragma GCC diagnostic ignored \"-Woverlength-strings\"", ""]
    for s in stmts:
        if s["cols"]:
            c.append("static const char *const cols_%s[] = {%s};" %
                     (s["name"], ", ".join('"%s"' % x for x in s["cols"])))
    c += ["", "const cl_db_stmt_t cl_sql_stmts[CL_SQL__COUNT] = {"]
    for s in stmts:
        mask = 0
        for b in s["binary"]:
            mask |= 1 << (b - 1)
        c.append("    [CL_SQL_%s] = {" % s["name"])
        c.append("        .name = \"%s\"," % s["name"])
        c.append("        .where = \"%s\"," % s["where"])
        c.append("        .nparams = %d," % s["nparams"])
        c.append("        .ncols = %d," % len(s["cols"]))
        c.append("        .cols = %s," % ("cols_" + s["name"] if s["cols"] else "0"))
        c.append("        .binary_params = 0x%xu," % mask)
        c.append("        .binary_result = %d," % (1 if s["binary_result"] else 0))
        c.append("        .sql = %s," % c_string(s["sql"]))
        c.append("    },")
    c += ["};", "", "const cl_db_function_t cl_sql_functions[CL_SQL_NFUNCTIONS + 1] = {"]
    for fn in funcs:
        c.append("    {")
        c.append("        .name = \"%s\"," % fn["name"])
        c.append("        .where = \"%s\"," % fn["where"])
        c.append("        .sql = %s," % c_string(fn["sql"]))
        c.append("    },")
    c += ["    {0},", "};", ""]
    os.makedirs(out_dir, exist_ok=True)
    for name, text in (("cl_sql.h", "\n".join(h)), ("cl_sql.c", "\n".join(c))):
        path = os.path.join(out_dir, name)
        old = open(path, encoding="utf-8").read() if os.path.exists(path) else None
        if old != text:
            open(path, "w", encoding="utf-8").write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
