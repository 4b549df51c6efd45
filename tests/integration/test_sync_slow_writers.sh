#!/usr/bin/env bash
# test_sync_slow_writers.sh - issue 10's "Slow writers": while three writers commit short
# transactions and one long transaction stays open for seconds (it began before them and
# commits after them, so its changes have an older xid than rows already pulled), one
# desktop pulls again and again and another follows (`cloop sync --follow`). At the end
# both mirrors equal the server entity by entity, so no row was skipped, and the long
# transaction's rows are there.
# shellcheck disable=SC2016,SC2034
set -u

# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=SCRIPTDIR/sync_lib.sh
. "$(dirname "$0")/sync_lib.sh"
setup_scratch syncslow
sync_setup 20000
M=$work/desk.sqlite
F=$work/follower.sqlite

as hq1 sync --mirror "$M"
check "the first sync exits 0" test "$rc" = 0
as hq1 sync --mirror "$F"
check "the follower's first sync exits 0" test "$rc" = 0
sync_bg "$F" --follow --interval 1
fpid=$spid

# writer K ROUNDS: short transactions, each updating some tickets and adding a new item
# and ticket, with a pause inside the transaction.
writer() {
    local k=$1 i
    for i in $(seq 1 "$2"); do
        pg_write "UPDATE tickets SET last_note = 'writer $k round $i'
   WHERE number % 50 = $(((k * 7 + i) % 50)) AND number < 1010000;
INSERT INTO inspection_items (id, record_id, project_id, unit_id, round_id, location, category,
                              description, severity, inspected_on)
SELECT md5('w$k.$i')::uuid, r.id, r.project_id, r.unit_id, r.round_id, '厨房', 'waterproofing',
       'writer $k round $i', 'minor', current_date
  FROM (SELECT * FROM inspection_records WHERE project_id = $p ORDER BY id LIMIT 1) r;
INSERT INTO tickets (id, project_id, number, state, contractor_id, category, severity, found_on)
VALUES (md5('w$k.$i')::uuid, $p, $((3000000 + k * 1000 + i)), 'open', $cw, 'waterproofing',
        'minor', current_date);
SELECT pg_sleep(random() * 0.4);" >/dev/null || return 1
    done
}

# The long transaction: begins first, writes, holds on for 12 s while the others commit.
pg_write "UPDATE tickets SET last_note = 'the long one' WHERE number BETWEEN 1015000 AND 1015999;
INSERT INTO inspection_items (id, record_id, project_id, unit_id, round_id, location, category,
                              description, severity, inspected_on)
SELECT md5('long' || g)::uuid, r.id, r.project_id, r.unit_id, r.round_id, '阳台', 'waterproofing',
       'the long one ' || g, 'minor', current_date
  FROM generate_series(1, 200) g,
       (SELECT * FROM inspection_records WHERE project_id = $p ORDER BY id LIMIT 1) r;
INSERT INTO tickets (id, project_id, number, state, contractor_id, category, severity, found_on)
SELECT md5('long' || g)::uuid, $p, 4000000 + g, 'open', $cw, 'waterproofing', 'minor', current_date
  FROM generate_series(1, 200) g;
SELECT pg_sleep(12);" >/dev/null &
longpid=$!
sleep 0.5
writer 1 12 & w1=$!
writer 2 12 & w2=$!
writer 3 12 & w3=$!

# The desktop pulls while they write; count the pulls made while the long one was open
# after another writer had committed (from the first commit of a writer on).
for _ in $(seq 1 100); do
    [ "$(pg -c "select count(*) from tickets where number between 3000000 and 3999999")" -gt 0 ] &&
        break
    sleep 0.1
done
pulls=0 early=0 fails=0
while kill -0 "$longpid" 2>/dev/null || kill -0 "$w1" 2>/dev/null; do
    committed=$(pg -c "select count(*) from tickets where number between 3000000 and 3999999")
    as hq1 sync --mirror "$M"
    [ "$rc" = 0 ] || fails=$((fails + 1))
    pulls=$((pulls + 1))
    if kill -0 "$longpid" 2>/dev/null && [ "$committed" -gt 0 ]; then early=$((early + 1)); fi
    sleep 0.2
done
wait "$longpid"
lrc=$?
wait "$w1"; r1=$?
wait "$w2"; r2=$?
wait "$w3"; r3=$?
check "the long transaction and the three writers committed" \
    eval '[ "$lrc" = 0 ] && [ "$r1$r2$r3" = 000 ]'
check "the desktop pulled $pulls times without a failure, $early of them while the long transaction was open and later ones had committed" \
    eval '[ "$fails" = 0 ] && [ "$early" -ge 1 ]'
as hq1 sync --mirror "$M"
check "a last sync exits 0" test "$rc" = 0
check "the long transaction's 200 tickets and 1000 changed notes are in the mirror" \
    eval '[ "$(mq "$M" "SELECT count(*) FROM tickets WHERE number > 4000000")" = 200 ] &&
          [ "$(mq "$M" "SELECT count(*) FROM tickets WHERE last_note = '"'"'the long one'"'"'")" = 1000 ]'
check "the writers' 36 new tickets are in the mirror" \
    test "$(mq "$M" "SELECT count(*) FROM tickets WHERE number BETWEEN 3000000 AND 3999999")" = 36
diff_out=$(mirror_diff "$M")
drc=$?
check "the mirror equals the server, entity by entity: no row skipped" \
    eval '[ "$drc" = 0 ] || { echo "$diff_out"; false; }'

# The follower catches up by itself (at most 30 s), and stops cleanly on SIGTERM.
fdone=0
for _ in $(seq 1 150); do
    if mirror_diff "$F" >/dev/null; then fdone=1; break; fi
    sleep 0.2
done
kill -0 "$fpid" 2>/dev/null
alive=$?
kill -TERM "$fpid" 2>/dev/null
wait "$fpid"
frc=$?
check "the following desktop's mirror equals the server without another command" test "$fdone" = 1
check "cloop sync --follow was still running, and exits 0 on SIGTERM" \
    eval '[ "$alive" = 0 ] && [ "$frc" = 0 ] || { cat "$work/sync.err"; false; }'
report_and_exit
