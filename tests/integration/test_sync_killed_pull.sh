#!/usr/bin/env bash
# test_sync_killed_pull.sh - issue 10's "Killed pull": kill -9 of `cloop sync` during a
# first sync of 100,000 tickets (twice: in the items' snapshot and in the tickets'), with
# changes committed between the kills, then once more while it pulls the change feed; each
# time the next `cloop sync` resumes, and the mirror ends equal to the server: every
# entity's rows and versions (and the tickets' notes) as in PostgreSQL, the server's
# checksums equal to the mirror's (--verify re-syncs nothing), and --status's row counts.
# SYNC_TICKETS overrides the 100,000 for a quick run by hand.
# shellcheck disable=SC2016,SC2034
set -u

# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=SCRIPTDIR/sync_lib.sh
. "$(dirname "$0")/sync_lib.sh"
setup_scratch syncpull
n=${SYNC_TICKETS:-100000}
sync_setup "$n"
M=$work/desk.sqlite

# kill_when COND_SQL: waits (60 s at most) until COND_SQL is 1 on the mirror while the
# background sync runs, then kill -9s it. Succeeds only if the sync was still running then.
kill_when() {
    local i
    for i in $(seq 1 3000); do
        kill -0 "$spid" 2>/dev/null || return 1
        [ "$(mq "$M" "$1")" = 1 ] && break
        sleep 0.02
    done
    kill -KILL "$spid" 2>/dev/null || return 1
    wait "$spid" 2>/dev/null
    [ $? = 137 ]
}

# 1. Killed inside the items' snapshot.
sync_bg "$M"
check "kill -9 of cloop sync while it copies the items' snapshot" kill_when \
    "SELECT (SELECT value FROM sync_meta WHERE key = 'snapshot_entity') = 'inspection_items'
       AND (SELECT count(*) FROM inspection_items) > 100"
got=$(mq "$M" "SELECT count(*) FROM inspection_items")
check "... it had committed part of the items ($got of $((n + 30))) and no ticket" \
    eval '[ "$got" -gt 0 ] && [ "$got" -lt $((n + 30)) ] && [ "$(mq "$M" "SELECT count(*) FROM tickets")" = 0 ]'

# Changes while the desktop is away: rows already copied and rows not yet copied change,
# new rows appear.
pg_write "UPDATE tickets SET last_note = 'changed after kill 1' WHERE number % 1000 = 7;
UPDATE inspection_items SET description = description || ' (补)' WHERE description LIKE '渗水 1_';"

# 2. Killed inside the tickets' snapshot.
sync_bg "$M"
check "kill -9 of cloop sync while it copies the tickets' snapshot" kill_when \
    "SELECT (SELECT value FROM sync_meta WHERE key = 'snapshot_entity') = 'tickets'
       AND (SELECT count(*) FROM tickets) > 100"
got=$(mq "$M" "SELECT count(*) FROM tickets")
check "... it had committed part of the tickets ($got of $((n + 30)))" \
    eval '[ "$got" -gt 0 ] && [ "$got" -lt $((n + 30)) ]'
pg_write "UPDATE tickets SET last_note = 'changed after kill 2' WHERE number % 1000 = 9;
INSERT INTO inspection_items (id, record_id, project_id, unit_id, round_id, location, category,
                              description, severity, inspected_on)
SELECT md5('late' || g)::uuid, r.id, r.project_id, r.unit_id, r.round_id, '厨房', 'waterproofing',
       '后来的 ' || g, 'minor', current_date
  FROM generate_series(1, 50) g,
       (SELECT * FROM inspection_records WHERE project_id = $p ORDER BY id LIMIT 1) r;
INSERT INTO tickets (id, project_id, number, state, contractor_id, category, severity, found_on)
SELECT md5('late' || g)::uuid, $p, 2000000 + g, 'open', $cw, 'waterproofing', 'minor', current_date
  FROM generate_series(1, 50) g;"

# 3. The sync resumes and finishes.
as hq1 sync --mirror "$M"
check "cloop sync after two kills exits 0 with a summary line" \
    eval '[ "$rc" = 0 ] && grep -q "^已同步" <<<"$out"'
diff_out=$(mirror_diff "$M")
drc=$?
check "the mirror equals the server, entity by entity (rows, versions, notes)" \
    eval '[ "$drc" = 0 ] || { echo "$diff_out"; false; }'

# 4. Killed while pulling the feed: 30,000 changes in one transaction, pulled in pages.
killed_in_feed=0
for attempt in 1 2 3; do
    pg_write "UPDATE tickets SET last_note = 'feed $attempt' WHERE number % 3 = 0;"
    before=$(mq "$M" "SELECT value FROM sync_meta WHERE key = 'feed_seq'")
    sync_bg "$M"
    if kill_when "SELECT (SELECT value FROM sync_meta WHERE key = 'feed_seq') <> '$before'"; then
        killed_in_feed=1
        break
    fi
    wait "$spid" 2>/dev/null
done
check "kill -9 of cloop sync while it pulls the change feed" test "$killed_in_feed" = 1
as hq1 sync --mirror "$M"
check "cloop sync after the kill in the feed exits 0" test "$rc" = 0
diff_out=$(mirror_diff "$M")
drc=$?
check "the mirror equals the server again, entity by entity" \
    eval '[ "$drc" = 0 ] || { echo "$diff_out"; false; }'

# 5. By checksum: the server's per (project, entity) equal the mirror's.
as hq1 sync --mirror "$M" --verify
check "sync --verify exits 0 and re-syncs nothing: every checksum is equal" \
    eval '[ "$rc" = 0 ] && grep -q "校验：0 组不一致" <<<"$out"'

# 6. By row counts, as --status shows them.
as hq1 sync --status --mirror "$M" --format csv
tk=$(pg -c "select count(*) from tickets")
it=$(pg -c "select count(*) from inspection_items")
check "sync --status counts $tk tickets and $it items, as the server holds" \
    eval '[ "$rc" = 0 ] && grep -qx "rows.tickets,$tk" <<<"$out" && grep -qx "rows.inspection_items,$it" <<<"$out"'
check "... and says when it caught up and where its cursor is" \
    eval 'grep -q "^synced,.*分钟前" <<<"$out" && grep -q "^cursor,feed [0-9]*/[0-9]*" <<<"$out"'

# 7. Drift is found and repaired: rows lost, changed or added behind the mirror's back.
python3 - "$M" "$p" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("DELETE FROM tickets WHERE id IN (SELECT id FROM tickets LIMIT 5)")
db.execute("UPDATE inspection_items SET version = version + 7 WHERE id IN (SELECT id FROM inspection_items LIMIT 3)")
db.execute("INSERT INTO buildings VALUES (999999, ?, 'ghost', 1, 1)", (int(sys.argv[2]),))
db.commit()
PY
as hq1 sync --mirror "$M" --verify
check "sync --verify finds the drifted pairs and re-syncs exactly those (3)" \
    eval '[ "$rc" = 0 ] && grep -q "校验：3 组不一致已重新同步" <<<"$out"'
diff_out=$(mirror_diff "$M")
drc=$?
check "... after which the mirror equals the server" \
    eval '[ "$drc" = 0 ] || { echo "$diff_out"; false; }'
report_and_exit
