#!/usr/bin/env bash
# test_daemon_sqlcheck.sh - closeloopd refuses to start when its SQL and the schema
# disagree, with one line naming the statement and the column, and starts once they
# agree again. The mismatch is made as a careless migration would: a view column renamed.
set -u
. "$(dirname "$0")/lib.sh"
setup_scratch daemon_sqlcheck

[ -x "$PGBIN/initdb" ] || bail "PostgreSQL binaries in $PGBIN (set CL_PG_BINDIR)"
certs=$work/certs
gen_certs "$certs" || bail "generate certificates"
start_postgres
"$DAEMON" --migrate >"$work/migrate.out" 2>&1 || bail "closeloopd --migrate"
psql -q -h "$d" -U postgres -d closeloop \
    -c 'ALTER VIEW ticket_rows RENAME COLUMN last_note TO note' >/dev/null ||
    bail "rename a column of the view ticket_rows"

port=$(free_port)
env CLOSELOOP_PORT="$port" CLOSELOOP_LISTEN=127.0.0.1 CLOSELOOP_TLS_CERT="$certs/server.crt" \
    CLOSELOOP_TLS_KEY="$certs/server.key" timeout 30 "$DAEMON" >"$work/out" 2>"$work/err"
rc=$?
out=$(cat "$work/out")
err=$(grep '^closeloopd:' "$work/err")
if [ "$rc" -eq 1 ]; then ok "closeloopd exits 1 when a statement disagrees with the schema"; else
    not_ok "closeloopd exits 1 when a statement disagrees with the schema (exit $rc)"; fi
n=$(printf '%s\n' "$err" | grep -c 'statement [a-z_]* ([a-z_]*\.sql:[0-9]*): column [0-9]* is "note" in the database, "last_note" in C')
if [ "$n" -eq 1 ]; then ok "one line names the statement and the column"; else
    not_ok "one line names the statement and the column (found $n)"; fi
if ! grep -q 'event=listening' "$work/err"; then ok "it never listened"; else not_ok "it never listened"; fi

psql -q -h "$d" -U postgres -d closeloop \
    -c 'ALTER VIEW ticket_rows RENAME COLUMN note TO last_note' >/dev/null || bail "rename it back"
if start_daemon 127.0.0.1 "$port" "$work/daemon.log"; then
    ok "closeloopd starts once SQL and schema agree again"
    check "it stops cleanly on SIGTERM" stop_daemon "$dpid"
else
    not_ok "closeloopd starts once SQL and schema agree again"
fi
report_and_exit
