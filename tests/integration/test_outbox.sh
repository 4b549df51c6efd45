#!/usr/bin/env bash
# test_outbox.sh - the offline outbox end to end, with the real daemon and PostgreSQL.
# "Server down": a clerk imports a day's file, records a handover form and an item, and a
# contractor marks a repair while closeloopd is stopped; each exits 0 and says
# 已存入离线待发队列; the daemon comes back, `cloop outbox push` sends them, and the
# database holds exactly those entries, once, also after a second push. A server refusal
# is never queued; a transition on a ticket the mirror lacks is refused clearly.
# Conflicts: a repair queued offline while the ticket is reassigned away (listed with the
# server's side, dropped: the mirror is restored) and while the ticket changed but stays
# the contractor's (re-applied over the server's version: one repair). "Killed push"
# (kill -9 of cloop mid-push) and "Killed daemon" (kill -9 of closeloopd mid-push,
# restart): zero lost, zero doubled, counted in PostgreSQL.
#
# The mirrors are pulled by `cloop sync --mirror FILE`. The kills hit item batches (whose
# item ids are their keys) and transitions (the server's idempotency keys). "Two
# desktops": two customer-relations desktops of one company edit offline, one ticket on
# both; the conflict is listed on the losing side only, and after it is resolved both
# mirrors equal the server (`cloop sync --verify`, and the tickets compared row by row).
# shellcheck disable=SC2016,SC2034,SC2317
set -u

# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"
setup_scratch outbox
start_server_with_db

setup_project 万科城 2027-06-30
as admin building add --project "$p" 3栋 --floors 30 --format csv
b=$(csv_col id)
for u in 3-2-1701 3-2-1702 3-2-1801 3-2-1802; do as admin unit add --building "$b" "$u"; done
as admin contractor add 东方雨虹 --trades waterproofing,civil --format csv
cw=$(csv_col id)
as admin contractor add 中建三局 --trades doors_windows --format csv
cd_=$(csv_col id)
as admin trade assign --project "$p" --trade waterproofing --contractor "$cw"
as admin trade assign --project "$p" --trade civil --contractor "$cw"
add_user clerk1 clerk --projects "$p"
add_user dyh contractor --contractor "$cw"
as admin round add --project "$p" --kind handover --start 2027-06-25 --end 2027-07-05

# Two tickets online, for the contractor to work on.
for n in 1 2; do
    as clerk1 inspect record --project "$p" --unit 3-2-170$n --round handover --date 2027-06-30 \
        --location 卫生间 --category waterproofing --severity major --format csv "渗水 $n"
    [ "$rc" = 0 ] || bail "inspect record online $n"
done

pgq() { psql "$CLOSELOOP_DB_CONNINFO" -At -c "$1"; }

# fill_mirror USER FILE: USER's mirror, pulled by `cloop sync` (which pushes the outbox
# first: nothing is pending where it is called).
fill_mirror() {
    as "$1" sync --mirror "$2"
    [ "$rc" = 0 ] || { echo "# cloop sync as $1: $err" >&2; return 1; }
}
mc=$work/clerk1.sqlite
md=$work/dyh.sqlite
fill_mirror clerk1 "$mc" || bail "fill clerk1's mirror"
fill_mirror dyh "$md" || bail "fill dyh's mirror"
t1=$(pgq "SELECT t.number FROM tickets t JOIN inspection_items i ON i.id = t.id JOIN units u ON u.id = i.unit_id WHERE u.number = '3-2-1701'")
t2=$(pgq "SELECT t.number FROM tickets t JOIN inspection_items i ON i.id = t.id JOIN units u ON u.id = i.unit_id WHERE u.number = '3-2-1702'")
check "two tickets online (#$t1, #$t2) and both mirrors filled" \
    eval '[ -n "$t1" ] && [ -n "$t2" ] && [ "$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(\"select count(*) from tickets\").fetchone()[0])" "$md")" = 2 ]'

# A refusal by the server is never queued: a bad unit, online.
as clerk1 inspect handover --project "$p" --unit 9-9-9999 --date 2027-06-30 --outcome accepted --mirror "$mc"
check "a form the server refuses (no such unit) exits 1 and is not queued" \
    eval '[ "$rc" = 1 ] && ! grep -q 已存入 <<<"$err"'
as clerk1 outbox list --mirror "$mc" --format csv
check "the clerk's outbox is empty after the refusal" eval '[ "$rc" = 0 ] && [ "$(data_rows)" = 0 ]'

# --- Server down -----------------------------------------------------------------------
stop_daemon "$dpid"
cat >"$work/day.csv" <<EOF
project,unit,round,inspected_on,inspector,location,category,description,severity
$p,3-2-1801,handover,2027-06-30,王工,厨房,civil,墙面空鼓,minor
$p,3-2-1801,handover,2027-06-30,王工,卫生间,防水,地漏周边渗水,major
$p,3-2-1802,handover,2027-06-30,王工,阳台,doors_windows,窗框密封不严,minor
EOF
as clerk1 inspect import "$work/day.csv" --chunk 2 --mirror "$mc" --format csv
check "server down: inspect import exits 0 and says the 3 items went to the outbox (2 entries)" \
    eval '[ "$rc" = 0 ] && grep -q "已存入离线待发队列 outbox #1-#2：3 条" <<<"$err" && [ "$(csv_col rows_read)" = 3 ]'
CLOSELOOP_MIRROR=$mc as clerk1 inspect handover --project "$p" --unit 3-2-1801 --date 2027-06-30 \
    --outcome not_taken_over --reason 卫生间渗水未修复 --keys 0
check "server down: inspect handover exits 0, queued (mirror from \$CLOSELOOP_MIRROR)" \
    eval '[ "$rc" = 0 ] && grep -q "已存入离线待发队列 outbox #3" <<<"$err"'
as clerk1 inspect record --project "$p" --unit 3-2-1802 --round handover --date 2027-06-30 \
    --location 主卧 --category civil --severity minor --mirror "$mc" 墙角开裂
check "server down: inspect record exits 0, queued as outbox #4" \
    eval '[ "$rc" = 0 ] && grep -q "已存入离线待发队列 outbox #4" <<<"$err"'
as dyh ticket repaired --project "$p" "$t1" --note 已重做防水 --mirror "$md"
check "server down: ticket repaired exits 0, queued as the contractor's outbox #1" \
    eval '[ "$rc" = 0 ] && grep -q "已存入离线待发队列 outbox #1" <<<"$err" && grep -q "1 queued offline" <<<"$out"'
as dyh ticket repaired --project "$p" 999 --note x --mirror "$md"
check "a transition on a ticket the mirror does not have fails clearly (exit 1), nothing queued" \
    eval '[ "$rc" = 1 ] && grep -q "not in the mirror" <<<"$err"'
as clerk1 outbox list --mirror "$mc" --format csv
check "the clerk's outbox lists 4 pending entries: items, items, handover, items" \
    eval '[ "$rc" = 0 ] && [ "$(data_rows)" = 4 ] &&
          [ "$(python3 -c "import csv,sys; print(\",\".join(r[\"kind\"]+\"/\"+r[\"state\"] for r in csv.DictReader(sys.stdin)))" <<<"$out")" = "items/pending,items/pending,handover/pending,items/pending" ]'
mstate=$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(\"select state from tickets where number = $t1\").fetchone()[0])" "$md")
check "the contractor's mirror shows #$t1 repaired at once (optimistic)" test "$mstate" = repaired
as clerk1 outbox push --mirror "$mc"
check "outbox push while the server is down exits 4 and keeps the entries pending" \
    eval '[ "$rc" = 4 ]'

items_before=$(pgq "SELECT count(*) FROM inspection_items")
start_daemon 127.0.0.1 "$port" "$work/daemon2.log" || bail "closeloopd restarts"
as clerk1 outbox push --mirror "$mc"
check "the server is back: the clerk's push sends 4, all acknowledged" \
    eval '[ "$rc" = 0 ] && grep -q "acked 4, conflicts 0, failed 0, pending 0" <<<"$out"'
as dyh outbox push --mirror "$md"
check "the contractor's push sends its repair, acknowledged" \
    eval '[ "$rc" = 0 ] && grep -q "acked 1, conflicts 0, failed 0, pending 0" <<<"$out"'
counts() {
    pgq "SELECT (SELECT count(*) FROM inspection_items i JOIN units u ON u.id = i.unit_id
                  WHERE u.number IN ('3-2-1801', '3-2-1802')) || '/' ||
                (SELECT count(*) FROM tickets t JOIN inspection_items i ON i.id = t.id
                  JOIN units u ON u.id = i.unit_id WHERE u.number IN ('3-2-1801', '3-2-1802')) || '/' ||
                (SELECT count(*) FROM inspection_records r JOIN units u ON u.id = r.unit_id
                  WHERE u.number = '3-2-1801' AND r.outcome = 'not_taken_over') || '/' ||
                (SELECT count(*) FROM ticket_events e JOIN tickets t ON t.id = e.ticket_id
                  WHERE t.number = $t1 AND e.action = 'repaired') || '/' ||
                (SELECT state FROM tickets WHERE number = $t1)"
}
c1=$(counts)
check "the database holds exactly those entries once: 4 items, 4 tickets, 1 form, 1 repair ($c1)" \
    test "$c1" = "4/4/1/1/repaired"
check "and nothing else: the items table grew by 4" \
    test "$(pgq "SELECT count(*) FROM inspection_items")" = $((items_before + 4))
as clerk1 outbox push --mirror "$mc"
as dyh outbox push --mirror "$md"
check "a second push sends nothing and changes nothing ($(counts))" \
    eval '[ "$rc" = 0 ] && grep -q "sent 0" <<<"$out" && [ "$(counts)" = "$c1" ]'
as clerk1 outbox list --mirror "$mc" --state acked --format csv
check "the clerk's 4 entries are acked" eval '[ "$rc" = 0 ] && [ "$(data_rows)" = 4 ]'

# --- conflicts --------------------------------------------------------------------------
mq() { python3 -c "import sqlite3,sys; r = sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchone(); print(r[0] if r else '')" "$@"; }
# 1. The issue's example: a repair queued offline while the ticket is reassigned away.
before=$(mq "$md" "select state||'/'||version||'/'||coalesce(last_note,'') from tickets where number = $t2")
as dyh ticket repaired --project "$p" "$t2" --note 已修 --offline --mirror "$md"
check "--offline queues even with the server up (outbox #2)" \
    eval '[ "$rc" = 0 ] && grep -q "outbox #2" <<<"$err"'
as admin ticket reassign --project "$p" "$t2" --contractor "$cd_" --note 改派
[ "$rc" = 0 ] || bail "reassign #$t2 online"
as dyh outbox push --mirror "$md"
check "the push meets the reassignment: 1 conflict, exit 1" \
    eval '[ "$rc" = 1 ] && grep -q "conflicts 1, failed 0" <<<"$out"'
as dyh outbox conflicts --mirror "$md" --format json
check "outbox conflicts lists it: the ticket is no longer visible to the contractor" \
    eval '[ "$rc" = 0 ] && python3 -c "
import json, sys
v = json.load(sys.stdin)
assert len(v) == 1 and v[0][\"state\"] == \"conflict\" and v[0][\"id\"] == 2, v
assert json.loads(v[0][\"server_side\"])[\"visible\"] is False, v
" <<<"$out"'
check "the conflict did not touch the server: #$t2 open with 中建三局, no repair event" \
    test "$(pgq "SELECT state || '/' || contractor_id || '/' || (SELECT count(*) FROM ticket_events e WHERE e.ticket_id = t.id AND e.action = 'repaired') FROM tickets t WHERE number = $t2")" = "open/$cd_/0"
as dyh outbox resolve 2 --drop --mirror "$md"
check "resolve --drop without --note is a usage error (exit 2)" test "$rc" = 2
as dyh outbox resolve 2 --drop --note 已改派他人 --mirror "$md"
after=$(mq "$md" "select state||'/'||version||'/'||coalesce(last_note,'') from tickets where number = $t2")
check "dropping it undoes the mirror's change (back to $before)" \
    eval '[ "$rc" = 0 ] && [ "$after" = "$before" ]'
as dyh outbox list --mirror "$md" --state dropped --format csv
check "the entry stays, dropped, with its note" \
    eval '[ "$rc" = 0 ] && [ "$(data_rows)" = 1 ] && [ "$(csv_col note)" = 已改派他人 ]'
as dyh outbox resolve 2 --reapply --mirror "$md"
check "a dropped entry cannot be re-applied (exit 1)" test "$rc" = 1

# 2. A version conflict: the ticket changed meanwhile but stays the contractor's; the
# contractor re-applies over the server's version and the repair goes through once.
fill_mirror dyh "$md" || bail "refill dyh's mirror"
t3=$(pgq "SELECT t.number FROM tickets t JOIN inspection_items i ON i.id = t.id WHERE i.description = '墙面空鼓'")
v3=$(mq "$md" "select version from tickets where number = $t3")
as dyh ticket repaired --project "$p" "$t3" --note 已修补 --offline --mirror "$md"
check "a repair of #$t3 (version $v3 in the mirror) queued offline as outbox #3" \
    eval '[ "$rc" = 0 ] && grep -q "outbox #3" <<<"$err"'
as admin ticket reassign --project "$p" "$t3" --contractor "$cw" --note 同一单位重新指派
[ "$rc" = 0 ] || bail "reassign #$t3 to the same contractor"
as dyh outbox push --mirror "$md"
check "the push meets the newer version: conflict, exit 1" \
    eval '[ "$rc" = 1 ] && grep -q "conflicts 1, failed 0" <<<"$out"'
as dyh outbox conflicts --mirror "$md" --format json
check "outbox conflicts shows the server's side: open, version $((v3 + 1)), the same contractor" \
    eval '[ "$rc" = 0 ] && python3 -c "
import json, sys
v = json.load(sys.stdin)
assert len(v) == 1 and v[0][\"id\"] == 3, v
s = json.loads(v[0][\"server_side\"])
assert s[\"state\"] == \"open\" and s[\"version\"] == $((v3 + 1)) and s[\"contractor_id\"] == $cw, s
" <<<"$out"'
as dyh outbox resolve 3 --reapply --mirror "$md"
check "resolve --reapply exits 0 and the entry is pending again" \
    eval '[ "$rc" = 0 ] && grep -q "re-applied, pending" <<<"$out"'
as dyh outbox push --mirror "$md"
check "the re-applied repair is acknowledged" \
    eval '[ "$rc" = 0 ] && grep -q "acked 1, conflicts 0" <<<"$out"'
check "the server has #$t3 repaired, with exactly one repair event" \
    test "$(pgq "SELECT state || '/' || (SELECT count(*) FROM ticket_events e WHERE e.ticket_id = t.id AND e.action = 'repaired') FROM tickets t WHERE number = $t3")" = "repaired/1"
check "the mirror has the server's state and version of #$t3" \
    test "$(mq "$md" "select state||'/'||version from tickets where number = $t3")" = "$(pgq "SELECT state || '/' || version FROM tickets WHERE number = $t3")"

# --- Killed push -------------------------------------------------------------------------
# kill -9 of cloop while it pushes: the entry being sent is left "sending" (maybe applied,
# maybe not); the next push sends it again and the item ids make that safe. Zero lost,
# zero doubled, counted in PostgreSQL.
n_kill=250 # enough to be killed midway (at 20 or so), few enough for CI
python3 - "$work/big.csv" "$p" "$n_kill" <<'PYEOF'
import sys
path, p, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
with open(path, "w", encoding="utf-8") as f:
    f.write("project,unit,round,inspected_on,inspector,location,category,description,severity\n")
    for i in range(n):
        f.write(f"{p},3-2-1802,handover,2027-06-30,李工,客厅,civil,墙面裂缝 第{i}处,minor\n")
PYEOF
kill_items() { pgq "SELECT count(*) FROM inspection_items WHERE description LIKE '墙面裂缝 第%'"; }
as clerk1 inspect import "$work/big.csv" --chunk 1 --offline --mirror "$mc" --format csv
check "$n_kill items queued offline as $n_kill entries (--chunk 1)" \
    eval '[ "$rc" = 0 ] && grep -q "$n_kill 条检查记录" <<<"$err"'
first_kill=$(mq "$mc" "select min(id) from outbox where state = 'pending'")
XDG_CONFIG_HOME=$work/cfg/clerk1 "$CLOOP" "${S[@]}" outbox push --mirror "$mc" >/dev/null 2>&1 &
pusher=$!
for _ in $(seq 1 600); do
    [ "$(kill_items)" -ge 20 ] && break
    sleep 0.02
done
kill -9 "$pusher" 2>/dev/null
wait "$pusher" 2>/dev/null
mid=$(kill_items)
states=$(mq "$mc" "select group_concat(state || ':' || n) from (select state, count(*) n from outbox where id >= $first_kill group by state order by state)")
check "cloop was killed midway through the push ($mid of $n_kill items on the server; $states)" \
    eval '[ "$mid" -ge 20 ] && [ "$mid" -lt "$n_kill" ]'
as clerk1 outbox push --mirror "$mc"
check "pushing again acknowledges the rest" \
    eval '[ "$rc" = 0 ] && grep -q "failed 0, pending 0" <<<"$out"'
check "killed push: the server holds each of the $n_kill items exactly once" \
    test "$(pgq "SELECT count(*) || '/' || count(DISTINCT description) || '/' || (SELECT count(*) FROM tickets t JOIN inspection_items i ON i.id = t.id WHERE i.description LIKE '墙面裂缝 第%') FROM inspection_items WHERE description LIKE '墙面裂缝 第%'")" = "$n_kill/$n_kill/$n_kill"
check "every entry of the killed push is acked" \
    test "$(mq "$mc" "select count(*) from outbox where id >= $first_kill and state = 'acked'")" = "$n_kill"

# --- Killed daemon -----------------------------------------------------------------------
# kill -9 of closeloopd while cloop pushes: cloop stops with the entry pending (exit 4);
# the daemon restarts, the next push sends the rest. Zero lost, zero doubled.
sed 's/墙面裂缝 第/地面空鼓 第/' "$work/big.csv" >"$work/big2.csv"
kill2_items() { pgq "SELECT count(*) FROM inspection_items WHERE description LIKE '地面空鼓 第%'"; }
as clerk1 inspect import "$work/big2.csv" --chunk 1 --offline --mirror "$mc" --format csv
[ "$rc" = 0 ] || bail "queue the second file"
first_kill=$(mq "$mc" "select min(id) from outbox where state = 'pending'")
XDG_CONFIG_HOME=$work/cfg/clerk1 "$CLOOP" "${S[@]}" outbox push --mirror "$mc" >"$work/push.out" 2>"$work/push.err" &
pusher=$!
for _ in $(seq 1 600); do
    [ "$(kill2_items)" -ge 20 ] && break
    sleep 0.02
done
kill -9 "$dpid"
wait "$dpid" 2>/dev/null
wait "$pusher"
prc=$?
mid=$(kill2_items)
check "the daemon was killed midway ($mid of $n_kill items); the push stopped with exit 4" \
    eval '[ "$prc" = 4 ] && [ "$mid" -ge 20 ] && [ "$mid" -lt "$n_kill" ] && grep -q "pending [1-9]" "$work/push.out"'
stopped_at=$(mq "$mc" "select min(id) from outbox where id >= $first_kill and state = 'pending'")
check "the entry it stopped at waits with backoff (next_attempt_ms set, its error kept)" \
    test "$(mq "$mc" "select (next_attempt_ms > 0) || '/' || (error_code <> 0) from outbox where id = $stopped_at")" = "1/1"
start_daemon 127.0.0.1 "$port" "$work/daemon3.log" || bail "closeloopd restarts after kill -9"
as clerk1 outbox push --mirror "$mc"
check "after the restart the push acknowledges the rest" \
    eval '[ "$rc" = 0 ] && grep -q "failed 0, pending 0" <<<"$out"'
check "killed daemon: the server holds each of the $n_kill items exactly once" \
    test "$(pgq "SELECT count(*) || '/' || count(DISTINCT description) FROM inspection_items WHERE description LIKE '地面空鼓 第%'")" = "$n_kill/$n_kill"
check "every entry of the second push is acked" \
    test "$(mq "$mc" "select count(*) from outbox where id >= $first_kill and state = 'acked'")" = "$n_kill"

# --- Killed push and killed daemon during transitions (the server's idempotency keys) --
# The contractor repairs the tickets of the two files offline; cloop is killed
# during the first push, the daemon during the second. The transition being sent may have
# been applied: pushed again with the same key, the server answers it as applied. Each
# ticket is repaired exactly once, and no entry becomes a conflict.
fill_mirror dyh "$md" || bail "refill dyh's mirror with the new tickets"
pgq "SELECT '$p:' || t.number FROM tickets t JOIN inspection_items i ON i.id = t.id
      WHERE i.description LIKE '墙面裂缝 第%' ORDER BY t.number" >"$work/refs1.txt"
pgq "SELECT '$p:' || t.number FROM tickets t JOIN inspection_items i ON i.id = t.id
      WHERE i.description LIKE '地面空鼓 第%' ORDER BY t.number" >"$work/refs2.txt"
repairs() { # the repaired events and the tickets repaired, of the tickets of file $1
    pgq "SELECT count(*) || '/' || count(DISTINCT e.ticket_id) FROM ticket_events e
           JOIN inspection_items i ON i.id = e.ticket_id
          WHERE e.action = 'repaired' AND i.description LIKE '$1 第%'"
}
repair_events() { repairs "$1" | cut -d/ -f1; }
as dyh ticket repaired --from-file "$work/refs1.txt" --note 已修补 --offline --mirror "$md"
check "$n_kill repairs queued offline" \
    eval '[ "$rc" = 0 ] && grep -q "$n_kill queued offline" <<<"$out"'
first_t=$(mq "$md" "select min(id) from outbox where state = 'pending'")
XDG_CONFIG_HOME=$work/cfg/dyh "$CLOOP" "${S[@]}" outbox push --mirror "$md" >/dev/null 2>&1 &
pusher=$!
for _ in $(seq 1 600); do
    [ "$(repair_events 墙面裂缝)" -ge 20 ] && break
    sleep 0.02
done
kill -9 "$pusher" 2>/dev/null
wait "$pusher" 2>/dev/null
mid=$(repair_events 墙面裂缝)
states=$(mq "$md" "select group_concat(state || ':' || n) from (select state, count(*) n from outbox where id >= $first_t group by state order by state)")
check "cloop was killed midway through pushing repairs ($mid of $n_kill; $states)" \
    eval '[ "$mid" -ge 20 ] && [ "$mid" -lt "$n_kill" ]'
as dyh outbox push --mirror "$md"
check "pushing again acknowledges the rest, no conflict" \
    eval '[ "$rc" = 0 ] && grep -q "conflicts 0, failed 0, pending 0" <<<"$out"'
check "killed push: each of the $n_kill tickets repaired exactly once" \
    test "$(repairs 墙面裂缝)" = "$n_kill/$n_kill"
check "every repair entry is acked" \
    test "$(mq "$md" "select count(*) from outbox where id >= $first_t and state = 'acked'")" = "$n_kill"

as dyh ticket repaired --from-file "$work/refs2.txt" --note 已修补 --offline --mirror "$md"
[ "$rc" = 0 ] || bail "queue the second repairs"
first_t=$(mq "$md" "select min(id) from outbox where state = 'pending'")
XDG_CONFIG_HOME=$work/cfg/dyh "$CLOOP" "${S[@]}" outbox push --mirror "$md" >"$work/push.out" 2>&1 &
pusher=$!
for _ in $(seq 1 600); do
    [ "$(repair_events 地面空鼓)" -ge 20 ] && break
    sleep 0.02
done
kill -9 "$dpid"
wait "$dpid" 2>/dev/null
wait "$pusher"
prc=$?
mid=$(repair_events 地面空鼓)
check "the daemon was killed midway through the repairs ($mid of $n_kill); the push stopped, exit 4" \
    eval '[ "$prc" = 4 ] && [ "$mid" -ge 20 ] && [ "$mid" -lt "$n_kill" ]'
start_daemon 127.0.0.1 "$port" "$work/daemon4.log" || bail "closeloopd restarts after kill -9"
as dyh outbox push --mirror "$md"
check "after the restart the push acknowledges the rest, no conflict" \
    eval '[ "$rc" = 0 ] && grep -q "conflicts 0, failed 0, pending 0" <<<"$out"'
check "killed daemon: each of the $n_kill tickets repaired exactly once" \
    test "$(repairs 地面空鼓)" = "$n_kill/$n_kill"
pg_tickets=$(pgq "SELECT string_agg(t.number || ':' || t.state || ':' || t.version, ',' ORDER BY t.number)
                   FROM tickets t JOIN inspection_items i ON i.id = t.id
                  WHERE i.description LIKE '墙面裂缝 第%' OR i.description LIKE '地面空鼓 第%'")
m_tickets=$(mq "$md" "select group_concat(x, ',') from (select number || ':' || state || ':' || version as x from tickets where id in (select key from outbox_touch t join outbox o on o.id = t.entry_id where o.id >= $((first_t - n_kill))) order by number)")
check "the contractor's mirror has each of the $((2 * n_kill)) tickets as the server has it (state, version)" \
    eval '[ -n "$pg_tickets" ] && [ "$pg_tickets" = "$m_tickets" ]'

# --- Two desktops --------------------------------------------------------------------------
# cr1 and cr2, customer relations of the city company, each with a mirror. With the
# server down, cr1 passes the verification of a repaired ticket and reassigns another;
# cr2 fails the same verification and decides a third not to fix. The server returns;
# cr1 syncs first (its push wins), then cr2: its verification is the conflict.
add_user cr1 cr --company "$city"
add_user cr2 cr --company "$city"
ma=$work/cr1.sqlite
mb=$work/cr2.sqlite
tx=$(pgq "SELECT number FROM tickets WHERE state = 'repaired' ORDER BY number LIMIT 1")
ty=$(pgq "SELECT number FROM tickets WHERE state = 'open' ORDER BY number LIMIT 1")
tz=$(pgq "SELECT number FROM tickets WHERE state = 'open' ORDER BY number LIMIT 1 OFFSET 1")
fill_mirror cr1 "$ma" || bail "cr1's first sync"
CLOSELOOP_MIRROR=$mb as cr2 sync # the file named by the environment, as for cloop outbox
[ "$rc" = 0 ] || bail "cr2's first sync"
check "two desktops synced: both mirrors hold the company's tickets (#$tx repaired, #$ty, #$tz open)" \
    eval '[ -n "$tz" ] && [ "$(mq "$ma" "select count(*) from tickets")" = "$(pgq "SELECT count(*) FROM tickets")" ] &&
          [ "$(mq "$mb" "select count(*) from tickets")" = "$(pgq "SELECT count(*) FROM tickets")" ]'
stop_daemon "$dpid"
as cr1 ticket verify --project "$p" "$tx" --pass --mirror "$ma"
r1=$rc e1=$err
as cr1 ticket reassign --project "$p" "$ty" --contractor "$cd_" --note 原单位无法维修 --mirror "$ma"
r2=$rc
as cr2 ticket verify --project "$p" "$tx" --fail --note 仍渗水 --mirror "$mb"
r3=$rc
as cr2 ticket nofix --project "$p" "$tz" --note 符合设计规范 --mirror "$mb"
r4=$rc
check "server down: both desktops' edits exit 0 and are queued (2 entries each)" \
    eval '[ "$r1$r2$r3$r4" = 0000 ] && grep -q 已存入离线待发队列 <<<"$e1" &&
          [ "$(mq "$ma" "select count(*) from outbox where state = '\''pending'\''")" = 2 ] &&
          [ "$(mq "$mb" "select count(*) from outbox where state = '\''pending'\''")" = 2 ]'
check "each mirror shows its own side of #$tx (cr1: closed, cr2: open again, rework 1)" \
    eval '[ "$(mq "$ma" "select state from tickets where number = $tx")" = closed ] &&
          [ "$(mq "$mb" "select state || rework_count from tickets where number = $tx")" = open1 ]'
start_daemon 127.0.0.1 "$port" "$work/daemon5.log" || bail "closeloopd restarts"
as cr1 sync --mirror "$ma"
check "cr1 syncs first: its 2 entries are acknowledged" \
    eval '[ "$rc" = 0 ] && grep -q "acked 2, conflicts 0, failed 0, pending 0" <<<"$err"'
as cr2 sync --mirror "$mb"
check "cr2 syncs: 1 acknowledged, 1 conflict, said on stderr" \
    eval '[ "$rc" = 0 ] && grep -q "acked 1, conflicts 1" <<<"$err"'
as cr2 outbox conflicts --mirror "$mb" --format json
check "the conflict is listed on the losing side: #$tx failed verification vs the server's closed" \
    eval '[ "$rc" = 0 ] && python3 -c "
import json, sys
v = json.load(sys.stdin)
assert len(v) == 1 and v[0][\"kind\"] == \"transition\" and \"verify\" in v[0][\"summary\"], v
s = json.loads(v[0][\"server_side\"])
assert s[\"state\"] == \"closed\", s
" <<<"$out"'
as cr1 outbox conflicts --mirror "$ma" --format csv
check "and not on the winning side" eval '[ "$rc" = 0 ] && [ "$(data_rows)" = 0 ]'
check "until resolved, cr2's mirror keeps its side of #$tx and holds the server's row back" \
    eval '[ "$(mq "$mb" "select state from tickets where number = $tx")" = open ] &&
          [ "$(mq "$mb" "select count(*) from sync_held h join tickets t on t.id = h.key where h.entity = '\''tickets'\'' and t.number = $tx")" = 1 ]'
check "the server has cr1's verification and cr2's decision, nothing of the conflict" \
    test "$(pgq "SELECT string_agg(number || state, ',' ORDER BY number) FROM tickets WHERE number IN ($tx, $ty, $tz)")" = \
        "$(python3 -c "import sys; print(','.join(f'{n}{s}' for n, s in sorted([($tx, 'closed'), ($ty, 'open'), ($tz, 'nofix')])))")"
cid=$(mq "$mb" "select id from outbox where state = 'conflict'")
as cr2 outbox resolve "$cid" --drop --note 已由cr1验收通过 --mirror "$mb"
check "cr2 drops its verification with a note" eval '[ "$rc" = 0 ]'
check "dropping applied the held row: cr2's mirror has #$tx closed as the server" \
    test "$(mq "$mb" "select state || '/' || version from tickets where number = $tx")" = \
        "$(pgq "SELECT state || '/' || version FROM tickets WHERE number = $tx")"
as cr1 sync --mirror "$ma" --verify
va=$rc
as cr2 sync --mirror "$mb" --verify
vb=$rc
msnap() { # a mirror's tickets as number:state:version:contractor
    mq "$1" "select group_concat(x, ',') from (select number || ':' || state || ':' || version || ':' || coalesce(contractor_id, '') as x from tickets order by number)"
}
psnap() { # the server's, alike
    pgq "SELECT string_agg(number || ':' || state || ':' || version || ':' || coalesce(contractor_id::text, ''), ',' ORDER BY number) FROM tickets"
}
server=$(psnap)
check "after resolution both mirrors equal the server: sync --verify exits 0 on both, and every ticket (state, version, contractor) is the server's" \
    eval '[ "$va$vb" = 00 ] && [ "$(msnap "$ma")" = "$server" ] && [ "$(msnap "$mb")" = "$server" ]'
check "no outbox entry is left unacknowledged on either desktop" \
    eval '[ "$(mq "$ma" "select count(*) from outbox where state not in ('\''acked'\'', '\''dropped'\'')")" = 0 ] &&
          [ "$(mq "$mb" "select count(*) from outbox where state not in ('\''acked'\'', '\''dropped'\'')")" = 0 ]'

report_and_exit
