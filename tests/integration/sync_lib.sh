# shellcheck shell=bash
# sync_lib.sh - what the desktop sync tests share (after lib.sh): a company with many
# tickets loaded fast in SQL, psql on the test's database, a look into a mirror file, and
# the comparison of a mirror with the server, entity by entity.
#
# Sourced after lib.sh. Functions:
#   sync_setup N      the stack (start_server_with_db), project $p with a building, 3
#                     units, a contractor $cw with waterproofing, 30 items imported through
#                     cloop (with their tickets and events), then N more items and their
#                     tickets in SQL (triggers off: the snapshot reads tables, so the feed
#                     need not carry them); the user hq1 (hq_admin, sees everything).
#   pg SQL...         psql -At on the test's database (arguments as psql's).
#   pg_write SQL      runs SQL in one transaction as the admin (closeloop.actor set), so
#                     the triggers record the change in change_log as the daemon's would.
#   mq MIRROR SQL     the first column of the first row of SQL on the mirror file (read
#                     only, never blocking a writer; "" when none or on error).
#   sync_bg MIRROR [ARGS]  starts `cloop sync --mirror MIRROR ARGS` as hq1 in the
#                     background; its pid in $spid, output in $work/sync.out/.err.
#   mirror_diff MIRROR     compares every entity's (key, version) rows, and the tickets'
#                     notes, of the mirror with the database; prints one line per entity
#                     that differs; succeeds only when none does.

pg() { psql -h "$d" -U postgres -d closeloop -v ON_ERROR_STOP=1 -qAt "$@"; }

pg_write() {
    pg <<EOF
BEGIN;
SET LOCAL closeloop.actor = '{"user_id": 1, "username": "admin", "peer": "test"}';
$1
COMMIT;
EOF
}

mq() {
    python3 - "$1" "$2" <<'PY' 2>/dev/null
import sqlite3, sys
try:
    db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True, timeout=0.2)
    r = db.execute(sys.argv[2]).fetchone()
    print("" if r is None or r[0] is None else r[0])
except Exception:
    print("")
PY
}

sync_bg() {
    local m=$1
    shift
    XDG_CONFIG_HOME=$work/cfg/hq1 "$CLOOP" "${S[@]}" sync --mirror "$m" "$@" \
        >"$work/sync.out" 2>"$work/sync.err" &
    spid=$!
}

sync_setup() {
    local n=$1
    start_server_with_db
    setup_project 翡翠公园 2027-06-30
    as admin building add --project "$p" 1栋 --floors 30 --format csv
    for u in 1-1-101 1-1-102 1-1-201; do as admin unit add --building 1 "$u"; done
    as admin contractor add 东方雨虹 --trades waterproofing --format csv
    cw=$(csv_col id)
    as admin trade assign --project "$p" --trade waterproofing --contractor "$cw"
    add_user clerk1 clerk --projects "$p"
    add_user hq1 hq_admin
    {
        echo "project,unit,round,inspected_on,inspector,location,category,description,severity"
        for i in $(seq 1 30); do
            echo "$p,1-1-10$((i % 2 + 1)),mock1,2026-11-21,王工,卫生间,waterproofing,渗水 第$i处,minor"
        done
    } >"$work/day.csv"
    as clerk1 inspect import "$work/day.csv"
    [ "$rc" = 0 ] || bail "inspect import of 30 items"
    pg -v n="$n" -v p="$p" -v cw="$cw" <<'EOF' || bail "load $n tickets in SQL"
SET session_replication_role = replica;
CREATE TEMP TABLE rec AS SELECT id, unit_id, round_id FROM inspection_records
 WHERE project_id = :p ORDER BY id LIMIT 1;
INSERT INTO inspection_items (id, record_id, project_id, unit_id, round_id, location, category,
                              description, severity, inspected_on, created_at)
SELECT md5('sync' || g)::uuid, r.id, :p, r.unit_id, r.round_id, '卫生间', 'waterproofing',
       '渗水 ' || g, 'minor', current_date - g % 60, now() - (g || ' seconds')::interval
  FROM generate_series(1, :n) g, rec r;
INSERT INTO tickets (id, project_id, number, state, contractor_id, category, severity, deadline,
                     raised_at, closed_at, found_on)
SELECT md5('sync' || g)::uuid, :p, 1000000 + g,
       CASE WHEN g % 20 = 0 THEN 'open' ELSE 'closed' END, :cw, 'waterproofing', 'minor',
       current_date + 7, now() - (g || ' seconds')::interval,
       CASE WHEN g % 20 = 0 THEN NULL ELSE now() END, current_date - g % 60
  FROM generate_series(1, :n) g;
ANALYZE;
EOF
    ok "loaded $n tickets and their items"
}

mirror_diff() {
    local m=$1
    local q="SELECT 'companies', id::text, version FROM companies
UNION ALL SELECT 'projects', id::text, version FROM projects
UNION ALL SELECT 'buildings', id::text, version FROM buildings
UNION ALL SELECT 'units', id::text, version FROM units
UNION ALL SELECT 'owners', id::text, version FROM owners
UNION ALL SELECT 'contractors', id::text, version FROM contractors
UNION ALL SELECT 'trades', code, 0 FROM trades
UNION ALL SELECT 'project_trades', project_id || '/' || trade, version FROM project_trades
UNION ALL SELECT 'trade_aliases', project_id || '/' || alias, version FROM trade_aliases
UNION ALL SELECT 'inspection_rounds', id::text, version FROM inspection_rounds
UNION ALL SELECT 'inspection_records', id::text, version FROM inspection_records
UNION ALL SELECT 'inspection_items', id::text, version FROM inspection_items
UNION ALL SELECT 'item_photos', item_id || '/' || encode(sha256, 'hex'), 0 FROM item_photos
UNION ALL SELECT 'tickets', id::text, version FROM tickets
UNION ALL SELECT 'ticket_events', id::text, 0 FROM ticket_events
UNION ALL SELECT 'defects', id::text, version FROM defects
UNION ALL SELECT 'kb_cases', id::text, version FROM kb_cases
UNION ALL SELECT 'ticket_notes', id::text || ':' || state, length(last_note) * 1000003
                 + ascii(coalesce(nullif(right(last_note, 1), ''), ' ')) FROM tickets"
    pg -F $'\t' -c "$q" >"$work/server.tsv" || return 1
    python3 - "$m" "$work/server.tsv" <<'PY'
import collections, sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
server = collections.defaultdict(set)
for line in open(sys.argv[2], encoding="utf-8"):
    e, k, v = line.rstrip("\n").split("\t")
    server[e].add((k, int(v)))
keys = {"project_trades": "project_id || '/' || trade", "trade_aliases": "project_id || '/' || alias",
        "item_photos": "item_id || '/' || sha256", "trades": "code"}
unversioned = {"trades", "item_photos", "ticket_events"}
bad = 0
for e in ["companies", "projects", "buildings", "units", "owners", "contractors", "trades",
          "project_trades", "trade_aliases", "inspection_rounds", "inspection_records",
          "inspection_items", "item_photos", "tickets", "ticket_events", "defects", "kb_cases",
          "ticket_notes"]:
    if e == "ticket_notes":
        sql = ("SELECT id || ':' || state, length(last_note) * 1000003"
               " + unicode(coalesce(nullif(substr(last_note, -1), ''), ' ')) FROM tickets")
    else:
        sql = "SELECT CAST(%s AS TEXT), %s FROM %s" % (keys.get(e, "id"),
                                                       "0" if e in unversioned else "version", e)
    mine = set((str(k), int(v)) for k, v in db.execute(sql))
    if mine != server[e]:
        bad += 1
        print("%s: server %d rows, mirror %d; missing %d, extra %d; e.g. %s" % (
            e, len(server[e]), len(mine), len(server[e] - mine), len(mine - server[e]),
            sorted(server[e] ^ mine)[:3]))
sys.exit(1 if bad else 0)
PY
}
