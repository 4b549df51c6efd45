#!/usr/bin/env bash
# test_stats_replica.sh - the analytics pool on a PostgreSQL streaming replica (issue 11):
# the numbers match the primary's and writes never go there.
#
# Run by ctest with CL_BIN_DIR, CL_SOURCE_DIR and CL_TEST_TMP, like the other shell tests:
# a throwaway primary (as the postgres user, in a directory it owns), the real closeloopd
# over TLS, cloop as each role. Then a replica of it made by `pg_basebackup -R`, started on
# its own socket directory and port, and closeloopd restarted with db.analytics_conninfo
# (CLOSELOOP_DB_ANALYTICS_CONNINFO) pointing at it. Checks, in order:
#   - without analytics_conninfo the daily report comes from the main pool and equals
#     the figures psql computes on the primary (and the hand counts);
#   - with it, the replica's pg_stat_activity shows the pool's connections by their
#     application_name (closeloopd-analytics) and the primary shows none of them;
#   - the report answers from the replica: with the replica's replay paused, writes made
#     through cloop all succeed, the primary's figures move and the report's do not; once
#     replay resumes and catches up, the report equals the primary's figures again;
#   - no read-only error in the daemon's log or the replica's: no write went there;
#   - the replica stopped: the report is refused with a sentence naming the analytics
#     database (exit 4), writes continue; the replica back: the report answers again.
# Prints "ok - ..." / "not ok - ..." per check and "N passed, M failed"; the daemons and
# both clusters are always stopped and removed on exit.
# The checks are single-quoted strings run by eval: expansion there is deferred on purpose,
# and variables used only there look unused to shellcheck.
# shellcheck disable=SC2016,SC2034
set -u

# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"
setup_scratch replica

r=""     # the replica's directory (data, socket, log)
rport="" # its port
stop_replica() { # shellcheck disable=SC2317 # run by the EXIT trap
    if [ -n "$r" ] && [ -d "$r" ]; then
        as_pg "$PGBIN/pg_ctl" -D "$r/data" -m immediate stop >/dev/null 2>&1
        rm -rf "$r"
    fi
}
trap 'stop_replica; cleanup' EXIT

# The pools' size, so that the replica's connection count is known.
export CLOSELOOP_DB_POOL_SIZE=3

# --- the primary, certificates, closeloopd without an analytics pool ---------------------
start_server_with_db
ppsql() { psql -X -qAt -h "$d" -U postgres -d closeloop "$@"; }
rpsql() { psql -X -qAt -h "$r" -p "$rport" -U postgres -d closeloop "$@"; }

D=$(ppsql -c 'SELECT current_date') # the day the report counts, in the database's days
[ -n "$D" ] || bail "the primary answers psql"

setup_project 万科城 "$D"
as admin building add --project "$p" 1栋 --floors 10 --format csv
units=(1-1-0101 1-1-0102 1-1-0201 1-1-0202 1-1-0301 1-1-0302)
for u in "${units[@]}"; do as admin unit add --building 1 "$u"; done
as admin contractor add 东方雨虹 --trades waterproofing --format csv
cw=$(csv_col id)
as admin trade assign --project "$p" --trade waterproofing --contractor "$cw"
export CLOSELOOP_NEW_PASSWORD=$pw
as admin user add dyh --role contractor --contractor "$cw"
as admin user add clerk1 --role clerk --projects "$p"
as admin user add ver1 --role verifier --projects "$p"
unset CLOSELOOP_NEW_PASSWORD
for u in dyh clerk1 ver1; do login "$u"; done
check "the organisation and three users are set up" eval '[ "$rc" = 0 ] && [ -n "$cw" ]'

# import_items N FIRST: N waterproofing items found today, on the units in turn.
import_items() {
    local i
    {
        echo "project,unit,round,inspected_on,inspector,location,category,description,severity"
        for i in $(seq "$2" $(($2 + $1 - 1))); do
            echo "$p,${units[$((i % ${#units[@]}))]},mock1,$D,王工,卫生间,waterproofing,问题$i 渗水,minor"
        done
    } >"$work/items$2.csv"
    as clerk1 inspect import "$work/items$2.csv"
}
import_items 9 1
check "inspect import of 9 items exits 0 (tickets 1..9)" test "$rc" = 0
as clerk1 inspect handover --project "$p" --unit 1-1-0101 --date "$D" --inspector 甲 --outcome accepted
h1=$rc
as clerk1 inspect handover --project "$p" --unit 1-1-0102 --date "$D" --inspector 甲 \
    --outcome accepted_with_items
h2=$rc
as clerk1 inspect handover --project "$p" --unit 1-1-0201 --date "$D" --inspector 甲 \
    --outcome not_taken_over --reason 卫生间渗水
check "three handover forms (accepted, with items, not taken over) exit 0" \
    eval '[ "$h1" = 0 ] && [ "$h2" = 0 ] && [ "$rc" = 0 ]'
as dyh ticket repaired --project "$p" 1 2 3 --note 已重做防水
check "the contractor reports tickets 1, 2, 3 repaired" test "$rc" = 0
as ver1 ticket verify --project "$p" 1 --pass
v1=$rc
as ver1 ticket verify --project "$p" 2 --fail --note 仍渗水
check "verification: 1 passes, 2 fails" eval '[ "$v1" = 0 ] && [ "$rc" = 0 ]'

# --- the daily report's figures, from cloop and from psql on the primary -----------------
# daily_cloop: the report's figures in $out as one line "units_inspected=.. ...".
daily_cloop() {
    as admin report daily --project "$p" --date "$D" --format json
    [ "$rc" = 0 ] || {
        echo "report-failed rc=$rc"
        return
    }
    python3 -c 'import json, sys
d = json.load(sys.stdin)
opn = sum(int(c["open"]) for c in d["open_by_contractor"])
print("units_inspected=%d units_accepted=%d units_not_taken_over=%d items_raised=%d "
      "tickets_closed=%d reworks=%d open=%d" % (d["units_inspected"], d["units_accepted"],
      d["units_not_taken_over"], d["items_raised"], d["tickets_closed"], d["reworks"], opn))' \
        <<<"$out" 2>&1
}
# daily_psql: the same figures counted on the primary's base tables.
daily_psql() {
    ppsql -v p="$p" -v d="$D" <<'SQL'
SELECT format('units_inspected=%s units_accepted=%s units_not_taken_over=%s items_raised=%s '
              'tickets_closed=%s reworks=%s open=%s',
  (SELECT count(*) FROM inspection_records rec JOIN inspection_rounds r ON r.id = rec.round_id
    WHERE rec.project_id = :p AND r.kind = 'handover' AND rec.inspected_on = :'d'),
  (SELECT count(*) FROM inspection_records rec JOIN inspection_rounds r ON r.id = rec.round_id
    WHERE rec.project_id = :p AND r.kind = 'handover' AND rec.inspected_on = :'d'
      AND rec.outcome IN ('accepted', 'accepted_with_items')),
  (SELECT count(*) FROM inspection_records rec JOIN inspection_rounds r ON r.id = rec.round_id
    WHERE rec.project_id = :p AND r.kind = 'handover' AND rec.inspected_on = :'d'
      AND rec.outcome = 'not_taken_over'),
  (SELECT count(*) FROM inspection_items WHERE project_id = :p AND inspected_on = :'d'),
  (SELECT count(*) FROM ticket_events WHERE project_id = :p AND to_state IN ('closed', 'nofix')
      AND at >= :'d'::date AND at < :'d'::date + 1),
  (SELECT count(*) FROM ticket_events WHERE project_id = :p AND action = 'verify_fail'
      AND at >= :'d'::date AND at < :'d'::date + 1),
  (SELECT count(*) FROM tickets WHERE project_id = :p AND state = 'open'));
SQL
}
# same DESC GOT WANT: a check that two figure lines are equal, showing both when not.
same() {
    if [ "$2" = "$3" ]; then
        ok "$1"
    else
        out="got:  $2"$'\n'"want: $3" err="" not_ok "$1"
    fi
}

# --- cloop stats and stats scorecard, from cloop and from psql on the primary -------------
# stats.py, one run per step (python starts slowly on a loaded machine):
#   norm TAG DIMS...: cloop's JSON answers $work/TAG.raw.N (grouping N) and TAG.raw.card,
#     or, with TAG.pg (one line of JSON per grouping, then the scorecard's), cl_stats' and
#     cl_scorecard's rows, as TAG.N.json and TAG.card.json: [{key, reasons, measure...}];
#   same A B: one line per grouping and one for the scorecard: empty when the normalized
#     answers agree (floats to 1e-5 relative: cloop prints 6 significant digits), else why;
#   get TAG MEASURE...: the measures of TAG's one ungrouped row.
cat >"$work/stats.py" <<'PY'
import json, os, sys
MEASURES = """units_inspected units_total items_found items_per_unit tickets_opened
tickets_closed tickets_nofix open_now overdue_now closed_of_opened nofix_of_opened closure_rate
verifications reworks rework_rate close_p50_days close_p90_days tl_no_deadline tl_overdue_open
tl_in_time_open tl_closed_late tl_closed_in_time units_accepted units_accepted_with_items
units_not_taken defects_raised cases_raised checks_done checks_found repaired_reports
response_hours_mean""".split()
CARD = """tickets_assigned repaired_reports response_hours_mean verifications reworks
rework_rate late_repairs overdue_open_now rank peers""".split()
KEY = {"company": ("id", "company_id"), "project": ("id", "project_id"),
       "contractor": ("id", "contractor_id"), "category": ("code", "category_code"),
       "round": ("code", "round_code"), "month": ("code", "month")}
work, cmd = os.path.dirname(sys.argv[0]), sys.argv[1]
path = lambda *p: os.path.join(work, ".".join(p))

def norm(pg, dims, rows):
    out = []
    for r in rows:
        if pg:
            key = [r["k%d_%s" % (i + 1, KEY[d][0])] for i, d in enumerate(dims)]
            reasons = ";".join("%s:%d" % rc for rc in
                               zip(r["not_taken_reasons"] or [], r["not_taken_counts"] or []))
        else:
            key = [r[KEY[d][1]] for d in dims]
            reasons = r["not_taken_reasons"] or ""
        out.append(dict(key=[str(k) for k in key], reasons=reasons, **{m: r[m] for m in MEASURES}))
    return out

def norm_card(rows):
    return [dict(key=[str(r["contractor_id"]), r["trade"]], **{m: r[m] for m in CARD})
            for r in rows]

def eq(x, y):
    if isinstance(x, (int, float)) and isinstance(y, (int, float)):
        return abs(x - y) <= 1e-5 * max(abs(x), abs(y), 1e-9)
    return x == y

def diff(a, b):
    if len(a) != len(b):
        return "%d rows against %d" % (len(a), len(b))
    for ra, rb in zip(a, b):
        for k in ra:
            if not eq(ra[k], rb.get(k)):
                return "row %s: %s is %r against %r" % (ra["key"], k, ra[k], rb.get(k))
    return ""

if cmd == "norm":
    tag, groupings = sys.argv[2], sys.argv[3:]
    pg = os.path.exists(path(tag, "pg"))
    raw = (open(path(tag, "pg")).read().splitlines() if pg else
           [open(path(tag, "raw", str(i))).read() for i in range(len(groupings))]
           + [open(path(tag, "raw", "card")).read()])
    for i, g in enumerate(groupings):
        json.dump(norm(pg, [d for d in g.split(",") if d], json.loads(raw[i])),
                  open(path(tag, str(i), "json"), "w"), ensure_ascii=False)
    json.dump(norm_card(json.loads(raw[-1])), open(path(tag, "card", "json"), "w"),
              ensure_ascii=False)
elif cmd == "same":
    a, b, n = sys.argv[2], sys.argv[3], int(sys.argv[4])
    for i in [str(i) for i in range(n)] + ["card"]:
        print(diff(*(json.load(open(path(t, i, "json"))) for t in (a, b))))
elif cmd == "get":
    rows = json.load(open(path(sys.argv[2], "0", "json")))
    print(" ".join(str(rows[0][m]) if len(rows) == 1 else "rows=%d" % len(rows)
                   for m in sys.argv[3:]))
PY
# The groupings compared: none, one dimension, two.
groupings=("" contractor round category "round,month")
month=${D:0:7}
# stats_cloop TAG: every grouping and the month's scorecard through cloop (as admin, JSON),
# normalized into $work/TAG.N.json and TAG.card.json; 0 when every answer was exit 0.
stats_cloop() {
    local i g bad=0
    for i in "${!groupings[@]}"; do
        g=${groupings[$i]}
        as admin stats ${g:+--by "$g"} --format json
        [ "$rc" = 0 ] || bad=1
        printf '%s\n' "$out" >"$work/$1.raw.$i"
    done
    as admin stats scorecard --month "$month" --format json
    [ "$rc" = 0 ] || bad=1
    printf '%s\n' "$out" >"$work/$1.raw.card"
    python3 "$work/stats.py" norm "$1" "${groupings[@]}" 2>/dev/null || bad=1
    return "$bad"
}
# stats_psql TAG: the same from cl_stats and cl_scorecard on the primary (HQ's scope), in
# one psql run.
stats_psql() {
    local g g1 g2 q=()
    for g in "${groupings[@]}"; do
        IFS=, read -r g1 g2 <<<"$g"
        q+=(-c "SELECT coalesce(jsonb_agg(to_jsonb(s) ORDER BY s.ordinality), '[]')
                  FROM cl_stats('hq_admin', 0, 0, '{}', 0, 0, 0, '', '', '', NULL, NULL,
                                '${g1:-}', '${g2:-}') WITH ORDINALITY AS s")
    done
    q+=(-c "SELECT coalesce(jsonb_agg(to_jsonb(s) ORDER BY s.ordinality), '[]')
              FROM cl_scorecard('hq_admin', 0, 0, '{}', 0, '', '$D') WITH ORDINALITY AS s")
    ppsql "${q[@]}" >"$work/$1.pg" && python3 "$work/stats.py" norm "$1" "${groupings[@]}"
}
# stats_same DESC A B: one check per grouping and one for the scorecard that the
# normalized answers A and B agree.
stats_same() {
    local i=0 res
    while IFS= read -r res; do
        if [ "$i" -lt "${#groupings[@]}" ]; then
            out=$res err="" check "$1: stats${groupings[$i]:+ --by ${groupings[$i]}}" test -z "$res"
        else
            out=$res err="" check "$1: stats scorecard --month $month" test -z "$res"
        fi
        i=$((i + 1))
    done < <(python3 "$work/stats.py" same "$2" "$3" "${#groupings[@]}" 2>&1)
    [ "$i" = $((${#groupings[@]} + 1)) ] || not_ok "$1: every answer compared"
}
stat() { python3 "$work/stats.py" get "$@"; } # TAG MEASURE...: of the ungrouped row

# What the test did so far, counted by hand: 3 forms, 9 items, ticket 1 closed, 2 failed
# (open again), 4..9 open.
hand1="units_inspected=3 units_accepted=2 units_not_taken_over=1 items_raised=9 tickets_closed=1 reworks=1 open=7"

f_main=$(daily_cloop)
same "main pool: the daily report's figures are the hand counts" "$f_main" "$hand1"
same "... and equal psql's on the primary" "$(daily_psql)" "$f_main"
check "... and no analytics pool was started" \
    eval '! grep -q "pool=analytics" "$work/daemon.log" && grep -q "event=db_connected pool=main" "$work/daemon.log"'
stats_cloop main1
check "main pool: cloop stats (5 groupings) and stats scorecard answer, exit 0" test $? = 0
check "... ungrouped, the hand counts: 9 opened, 1 closed, 2 verifications, 1 rework, 3 repair reports" \
    test "$(stat main1 tickets_opened tickets_closed verifications reworks repaired_reports)" = "9 1 2 1 3"
check "... the scorecard has 东方雨虹's month: 1 contractor row" \
    test "$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$work/main1.card.json")" = 1
stats_psql prim1
stats_same "main pool equals cl_stats on the primary" main1 prim1
as admin stats --format csv
check "... and says nothing of a lag (the main pool is the primary)" \
    eval '[ "$rc" = 0 ] && ! grep -q "behind the primary" <<<"$err"'

# --- the replica -----------------------------------------------------------------------
r=$(mktemp -d /tmp/cltest-pgr.XXXXXX)
if [ "$(id -u)" = 0 ]; then chown postgres "$r"; fi
as_pg "$PGBIN/pg_basebackup" -h "$d" -U postgres -D "$r/data" -R -X stream -c fast \
    >"$work/basebackup.log" 2>&1 || { cat "$work/basebackup.log" >&2; bail "pg_basebackup -R of the primary"; }
rport=$(free_port)
as_pg "$PGBIN/pg_ctl" -D "$r/data" \
    -o "-c listen_addresses='' -c unix_socket_directories=$r -c port=$rport -c fsync=off" \
    -l "$r/log" -w start >/dev/null || { tail -n 20 "$r/log" >&2; bail "start the replica"; }
check "the replica runs on port $rport, in recovery (a standby)" \
    test "$(rpsql -c 'SELECT pg_is_in_recovery()')" = t
check "... and streams from the primary" \
    test "$(ppsql -c "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'")" = 1

# caught_up: the replica has replayed everything the primary wrote so far.
caught_up() {
    local lsn
    lsn=$(ppsql -c 'SELECT pg_current_wal_lsn()')
    for _ in $(seq 1 300); do
        [ "$(rpsql -c "SELECT pg_last_wal_replay_lsn() >= '$lsn'::pg_lsn")" = t ] && return 0
        sleep 0.1
    done
    return 1
}

# --- closeloopd with the analytics pool on the replica -----------------------------------
stop_daemon "$dpid"
check "the daemon without analytics pool stops cleanly" test $? = 0
export CLOSELOOP_DB_ANALYTICS_CONNINFO="host=$r port=$rport dbname=closeloop user=postgres"
start_daemon 127.0.0.1 "$port" "$work/daemon2.log" || bail "closeloopd starts with the analytics pool"
ok "closeloopd restarts with db.analytics_conninfo on the replica"
pool_on() { # CLUSTER-PSQL APPNAME: its client backends with that application_name
    "$1" -c "SELECT count(*) FROM pg_stat_activity
              WHERE backend_type = 'client backend' AND application_name = '$2'"
}
for _ in $(seq 1 100); do
    [ "$(pool_on rpsql closeloopd-analytics)" = 3 ] && break
    sleep 0.1
done
check "the replica's pg_stat_activity shows the 3 analytics connections (closeloopd-analytics)" \
    test "$(pool_on rpsql closeloopd-analytics)" = 3
check "... and none of the main pool's (closeloopd)" test "$(pool_on rpsql closeloopd)" = 0
check "the primary has the 3 main connections and no analytics one" \
    eval '[ "$(pool_on ppsql closeloopd)" = 3 ] && [ "$(pool_on ppsql closeloopd-analytics)" = 0 ]'

caught_up || not_ok "the replica catches up with the primary"
f_rep=$(daily_cloop)
same "analytics pool on the replica: the daily report equals the main pool's" "$f_rep" "$f_main"
stats_cloop rep1
check "analytics pool on the replica: cloop stats and stats scorecard answer, exit 0" test $? = 0
stats_same "replica equals the main pool" rep1 main1

# Replay paused: what the report says is what the replica has, not the primary.
rpsql -c 'SELECT pg_wal_replay_pause()' >/dev/null
for _ in $(seq 1 100); do
    [ "$(rpsql -c 'SELECT pg_get_wal_replay_pause_state()')" = paused ] && break
    sleep 0.1
done
check "the replica's replay is paused" test "$(rpsql -c 'SELECT pg_get_wal_replay_pause_state()')" = paused

wrc=()
import_items 4 10
wrc+=("$rc")
as clerk1 inspect handover --project "$p" --unit 1-1-0202 --date "$D" --inspector 乙 --outcome accepted
wrc+=("$rc")
as dyh ticket repaired --project "$p" 4 5 6 --note 已修复
wrc+=("$rc")
as ver1 ticket verify --project "$p" 3 4 --pass
wrc+=("$rc")
as ver1 ticket verify --project "$p" 5 --fail --note 仍渗水
wrc+=("$rc")
check "writes while the analytics pool is the replica all succeed (import, handover, repaired, verify x2: ${wrc[*]})" \
    test "${wrc[*]}" = "0 0 0 0 0"
# 4 forms, 13 items; tickets 1, 3, 4 closed, 2 and 5 failed (open again), 6 repaired,
# 2, 5, 7..13 open.
hand2="units_inspected=4 units_accepted=3 units_not_taken_over=1 items_raised=13 tickets_closed=3 reworks=2 open=9"
same "the primary has them" "$(daily_psql)" "$hand2"
same "the report, read on the paused replica, still says what the replica has" \
    "$(daily_cloop)" "$f_main"
stats_psql prim2
check "the primary's cl_stats moved: 13 tickets opened" test "$(stat prim2 tickets_opened)" = 13
stats_cloop paused
check "cloop stats on the paused replica answers, exit 0" test $? = 0
stats_same "paused replica still equals what it had" paused main1
as admin stats --format csv
age=$(sed -n 's/.*replica is \([0-9]*\) ms behind the primary.*/\1/p' <<<"$err")
check "... and says how far behind it is (data_age_ms > 0, on stderr: ${age:-none} ms)" \
    eval '[ "$rc" = 0 ] && [ -n "$age" ] && [ "$age" -gt 0 ] && grep -q "数据延迟约" <<<"$err"'

rpsql -c 'SELECT pg_wal_replay_resume()' >/dev/null
caught_up || not_ok "the replica catches up after replay resumes"
same "replay resumed and caught up: the report equals the primary's figures" \
    "$(daily_cloop)" "$hand2"
stats_cloop rep2
check "cloop stats after the replica caught up: exit 0" test $? = 0
stats_psql prim2
stats_same "caught-up replica equals cl_stats on the primary" rep2 prim2
as admin stats --format csv
check "... and no lag is reported any more" eval '[ "$rc" = 0 ] && ! grep -q "behind the primary" <<<"$err"'

# --- no write went to the replica ----------------------------------------------------------
check "the daemon's log shows the analytics pool connected" \
    grep -q "event=db_connected pool=analytics" "$work/daemon2.log"
check "... and no read-only error (SQLSTATE 25006)" \
    eval '! grep -Eiq "read-only|sqlstate=25006" "$work/daemon2.log"'
check "the replica's log is the standby's ..." \
    grep -q "ready to accept read-only connections" "$r/log"
check "... and has no statement refused as read-only" \
    eval '! grep -q "in a read-only transaction" "$r/log"'

# --- the replica stopped -------------------------------------------------------------------
as_pg "$PGBIN/pg_ctl" -D "$r/data" -m fast -w stop >/dev/null
down="cloop: the analytics database is unavailable; retry later (requests on the main database are not affected)"
check "the replica is stopped" eval '! rpsql -c "SELECT 1" >/dev/null 2>&1'
daily_cloop >/dev/null
check "report daily with the replica down: exit 4, the analytics database named as unavailable" \
    eval '[ "$rc" = 4 ] && grep -Eq "^cloop: the analytics database (is unavailable|connection was lost)" <<<"$err" &&
          [ -z "$out" ]'
daily_cloop >/dev/null
check "... again, at once (no hang): the same refusal" \
    eval '[ "$rc" = 4 ] && grep -qxF "$down" <<<"$err"'
as admin stats --by contractor --format csv
check "stats with the replica down: exit 4, the same sentence, no rows" \
    eval '[ "$rc" = 4 ] && grep -qxF "$down" <<<"$err" && [ -z "$out" ]'
as admin stats scorecard --month "$month" --format csv
check "stats scorecard with the replica down: exit 4, the same sentence" \
    eval '[ "$rc" = 4 ] && grep -qxF "$down" <<<"$err"'
check "the daemon logs the analytics connections lost, and no main one" \
    eval 'grep -q "event=db_connection_lost pool=analytics" "$work/daemon2.log" &&
          ! grep -q "event=db_connection_lost pool=main" "$work/daemon2.log"'
import_items 2 14
check "writes continue with the replica down (import of 2 items)" test "$rc" = 0
check "... and reach the primary (15 items today)" \
    test "$(ppsql -c "SELECT count(*) FROM inspection_items WHERE project_id = $p AND inspected_on = '$D'")" = 15
as clerk1 ticket todo --contractor "$cw" --project "$p" --format csv
check "reads on the main pool continue (ticket todo: the 11 open tickets)" \
    eval '[ "$rc" = 0 ] && [ "$(data_rows)" = 11 ]'

as_pg "$PGBIN/pg_ctl" -D "$r/data" \
    -o "-c listen_addresses='' -c unix_socket_directories=$r -c port=$rport -c fsync=off" \
    -l "$r/log" -w start >/dev/null || bail "restart the replica"
caught_up || not_ok "the restarted replica catches up"
hand3="units_inspected=4 units_accepted=3 units_not_taken_over=1 items_raised=15 tickets_closed=3 reworks=2 open=11"
f_back=""
for _ in $(seq 1 60); do # the pool reconnects within its 5 s backoff
    f_back=$(daily_cloop)
    case $f_back in report-failed*) sleep 0.5 ;; *) break ;; esac
done
same "the replica back: the report answers again, with the hand counts" "$f_back" "$hand3"
same "... which are psql's on the primary" "$(daily_psql)" "$hand3"
stats_cloop back
check "cloop stats with the replica back: exit 0" test $? = 0
stats_psql prim3
stats_same "replica back equals cl_stats on the primary" back prim3
check "... 15 tickets opened" test "$(stat back tickets_opened)" = 15

report_and_exit
