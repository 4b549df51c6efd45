#!/usr/bin/env bash
# test_cli_ticket.sh - cloop's ticket and report commands end to end, on what the
# handover-day test does not look at: the A4 HTML lists (escaping, print CSS, the blank
# columns), the evening update from a file (notes, comments, quoting, a bad file sends
# nothing), two clerks racing through the same file (each ticket: one success, one
# conflict), ticket show's history, the daily report's CSV sections and JSON, and the
# readiness check's exit status (5 when not ready, 0 when ready), and the refusals of a
# role that may not act (exit 3, apart from conflicts and not-found, exit 1).
#
# Run by ctest with CL_BIN_DIR, CL_SOURCE_DIR and CL_TEST_TMP, like test_cli_org.sh: a
# throwaway PostgreSQL cluster, the real closeloopd over TLS, cloop as each role. Prints
# "ok - ..." or "not ok - ..." per check and "N passed, M failed"; exits non-zero on any
# failure. The daemon and the cluster are always stopped and removed on exit.
# The checks are single-quoted strings run by eval: expansion there is deferred on purpose,
# and variables used only there look unused to shellcheck.
# shellcheck disable=SC2016,SC2034
set -u

# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"
setup_scratch cliticket

# --- PostgreSQL, certificates, closeloopd --------------------------------------------
start_server_with_db

# --- a project, two contractors, users, items ----------------------------------------
setup_project 万科城 2027-06-30
as admin building add --project "$p" 3栋 --floors 30 --format csv
as admin building add --project "$p" 5栋 --floors 30 --format csv
for u in 3-2-1701 3-2-1702 3-2-1801; do as admin unit add --building 1 "$u"; done
as admin unit add --building 2 5-1-302
as admin contractor add 东方雨虹 --trades waterproofing,civil --format csv
cw=$(csv_col id)
as admin contractor add 中建三局 --trades doors_windows --format csv
cd_=$(csv_col id)
as admin trade assign --project "$p" --trade waterproofing --contractor "$cw"
as admin trade assign --project "$p" --trade doors_windows --contractor "$cd_"
export CLOSELOOP_NEW_PASSWORD=$pw
as admin user add dyh --role contractor --contractor "$cw"
as admin user add clerk1 --role clerk --projects "$p"
as admin user add clerk2 --role clerk --projects "$p"
as admin user add ver1 --role verifier --projects "$p"
unset CLOSELOOP_NEW_PASSWORD
for u in dyh clerk1 clerk2 ver1; do login "$u"; done
check "the organisation and four users are set up" test "$rc" = 0

nasty='地漏周边渗水 <b>"严重"</b> & '"'"'需重做'"'"
as clerk1 inspect record --project "$p" --unit 3-2-1701 --round mock1 --date 2026-11-20 \
    --inspector 王工 --location 卫生间 --category waterproofing --severity major "$nasty"
check "inspect record makes ticket #1 (waterproofing, 东方雨虹)" test "$rc" = 0
{
    echo "project,unit,round,inspected_on,inspector,location,category,description,severity"
    for i in $(seq 1 40); do
        u=$(sed -n "$((i % 3 + 1))p" <<<$'3-2-1701\n3-2-1702\n3-2-1801')
        echo "$p,$u,mock1,2026-11-21,王工,厨房,waterproofing,问题$i 渗水,minor"
    done
    echo "$p,5-1-302,mock1,2026-11-21,王工,客厅,doors_windows,窗框缝隙,minor"
} >"$work/day.csv"
as clerk1 inspect import "$work/day.csv"
check "inspect import of 41 items exits 0" test "$rc" = 0

# --- the morning list as an A4 HTML page -----------------------------------------------
as dyh ticket todo --format html
html=$out
check "todo --format html (a contractor's own list) exits 0" test "$rc" = 0
check "... is an HTML5 page in UTF-8" \
    eval 'head -n 1 <<<"$html" | grep -qx "<!DOCTYPE html>" && grep -q "<meta charset=\"utf-8\">" <<<"$html"'
check "... titled 待维修清单 To-repair list, naming the contractor" \
    eval 'grep -q "<h1>待维修清单 To-repair list</h1>" <<<"$html" && grep -q "东方雨虹" <<<"$html"'
check "... with A4 print CSS: @page size, repeated header, rows kept whole, CJK fonts" \
    eval 'grep -q "@page { size: A4" <<<"$html" && grep -q "thead { display: table-header-group; }" <<<"$html" &&
          grep -q "break-inside: avoid" <<<"$html" && grep -q "Noto Sans CJK SC" <<<"$html"'
check "... with blank result and signature columns" \
    eval 'grep -q "结果 Result" <<<"$html" && grep -q "签字 Signature" <<<"$html"'
check "... with the description HTML-escaped" \
    grep -qF '地漏周边渗水 &lt;b&gt;&quot;严重&quot;&lt;/b&gt; &amp; &#39;需重做&#39;' <<<"$html"
check "... and no raw markup from the data" eval '! grep -qF "<b>\"严重\"" <<<"$html"'
check "... 41 waterproofing tickets as rows" \
    test "$(grep -c '^<tr><td class="num">' <<<"$html")" = 41

as clerk1 ticket todo --contractor "$cw" --project "$p" --format csv
todo_csv=$out
check "todo --format csv for a clerk: 41 rows with id and rework columns" \
    eval '[ "$rc" = 0 ] && [ "$(data_rows)" = 41 ] && head -n 1 <<<"$out" | grep -q "^number,id,.*,rework,"'
check "... oldest first (ticket #1 is the first row)" test "$(csv_col number)" = 1
as clerk1 ticket todo --contractor "$cw" --format json
check "todo --format json is a JSON array of 41 objects" \
    eval 'python3 -c "import json,sys; r=json.load(sys.stdin); assert len(r)==41, len(r)" <<<"$out"'

# --- the evening update from a file ----------------------------------------------------
nums=$(printf '%s\n' "$todo_csv" | sed '1d' | cut -d, -f1)
{
    printf '\xef\xbb\xbf# evening update\n\n'
    sed -n 1p <<<"$nums" | sed 's/$/,已重做防水，闭水试验48h/'
    sed -n 2p <<<"$nums" | sed 's/$/ , "更换密封条, 打胶 ""两遍"""/'
    sed -n 3p <<<"$nums" | sed "s/^/$p:/"
} >"$work/evening.csv"
printf '%s\nabc\n' "$(sed -n 4p <<<"$nums")" >"$work/bad.csv"
as clerk1 ticket repaired --project "$p" --from-file "$work/bad.csv" --note x
check "a file with a bad REF: exit 2, FILE:LINE: named, nothing sent" \
    eval '[ "$rc" = 2 ] && grep -q "bad.csv:2:" <<<"$err"'
as clerk1 ticket show "$(sed -n 4p <<<"$nums")" --project "$p" --format csv
check "... ticket on the good line is still open" grep -qx "state,open" <<<"$out"
as clerk1 ticket repaired --project "$p" --from-file "$work/evening.csv"
check "a line without a note and no --note: exit 2" \
    eval '[ "$rc" = 2 ] && grep -q "evening.csv:5: .*needs a note" <<<"$err"'
as clerk1 ticket repaired --project "$p" --from-file "$work/evening.csv" --note 已修复
check "repaired --from-file: 3 tickets, exit 0, one line each and a summary" \
    eval '[ "$rc" = 0 ] && [ "$(grep -c ": repaired (line" <<<"$out")" = 3 ] &&
          grep -q "^3 tickets: 3 done, 0 conflicts, 0 failed$" <<<"$out"'
as clerk1 ticket show "$(sed -n 2p <<<"$nums")" --project "$p" --format csv
check "... the quoted note was kept whole" grep -q '^last_note,"更换密封条, 打胶 ""两遍"""$' <<<"$out"
as clerk1 ticket show "$(sed -n 3p <<<"$nums")" --project "$p" --format csv
check "... --note is the default for a line without one" grep -qx "last_note,已修复" <<<"$out"
as clerk1 ticket repaired --project "$p" --from-file "$work/evening.csv" --note 已修复
check "typing the same file in again: exit 1, every ticket 'already repaired'" \
    eval '[ "$rc" = 1 ] && [ "$(grep -c "conflict — it is already repaired" <<<"$err")" = 3 ]'

# --- two clerks racing through the same list -------------------------------------------
sed -n '5,40p' <<<"$nums" >"$work/race.txt"
mkdir -p "$work/cfg/clerk1" "$work/cfg/clerk2"
XDG_CONFIG_HOME=$work/cfg/clerk1 "$CLOOP" "${S[@]}" ticket repaired --project "$p" \
    --from-file "$work/race.txt" --note 修好了 --format csv >"$work/r1.csv" 2>"$work/r1.err" &
r1=$!
XDG_CONFIG_HOME=$work/cfg/clerk2 "$CLOOP" "${S[@]}" ticket repaired --project "$p" \
    --from-file "$work/race.txt" --note 修好了 --format csv >"$work/r2.csv" 2>"$work/r2.err" &
r2=$!
wait $r1
s1=$?
wait $r2
s2=$?
oks=$(cat "$work/r1.csv" "$work/r2.csv" | grep -c ',ok,')
conflicts=$(cat "$work/r1.csv" "$work/r2.csv" | grep -c ',conflict,')
check "two clerks racing through 36 tickets: 36 successes and 36 conflicts in all" \
    eval '[ "$oks" = 36 ] && [ "$conflicts" = 36 ]'
check "... each ticket succeeded exactly once" \
    test "$(cat "$work/r1.csv" "$work/r2.csv" | grep ',ok,' | cut -d, -f2 | sort -u | wc -l)" = 36
check "... and a clerk who met a conflict exits 1" \
    eval '{ [ "$s1" = 1 ] || [ "$s2" = 1 ]; } && ! grep -q Sanitizer "$work/r1.err" "$work/r2.err"'

# --- verification, history -------------------------------------------------------------
first=$(sed -n 1p <<<"$nums")
second=$(sed -n 2p <<<"$nums")
as dyh ticket verify --project "$p" "$first" "$second" --pass
check "a contractor verifying two tickets: both refused, exit 3, one line each and a summary" \
    eval '[ "$rc" = 3 ] && [ "$(grep -c ": a contractor user may not verify repairs$" <<<"$err")" = 2 ] &&
          grep -qx "2 tickets: 0 done, 0 conflicts, 2 failed" <<<"$out"'
as clerk1 ticket show "$second" --project "$p" --format csv
check "... and the ticket is still repaired" \
    eval '[ "$rc" = 0 ] && grep -qx "state,repaired" <<<"$out"'
as dyh ticket show 999999 --project "$p"
check "ticket show of a ticket that does not exist: no such ticket, exit 1" \
    eval '[ "$rc" = 1 ] && grep -qx "cloop: no such ticket" <<<"$err" && [ -z "$out" ]'
as ver1 ticket verify --project "$p" "$first" --fail
check "verify --fail without a note is a usage error" test "$rc" = 2
as ver1 ticket verify --project "$p" "$first" --fail --note 仍渗水
check "verify --fail: back to the same contractor with rework 1" \
    eval '[ "$rc" = 0 ] && grep -q "failed verification, back to 东方雨虹 (rework 1)" <<<"$out"'
as ver1 ticket toverify --project "$p" --format csv
check "toverify lists the 38 tickets still reported repaired" test "$(data_rows)" = 38
as clerk1 ticket show "$p:$first" --format json
check "ticket show PROJECT:NUMBER --format json: create, repaired, verify_fail, oldest first" \
    eval 'python3 -c "
import json,sys
h=json.load(sys.stdin)
acts=[e[\"action\"] for e in h[\"events\"]]
assert acts==[\"create\",\"repaired\",\"verify_fail\"], acts
assert h[\"ticket\"][\"rework\"]==1 and h[\"ticket\"][\"state\"]==\"open\"
" <<<"$out"'

# --- reports ---------------------------------------------------------------------------
as admin report daily --project "$p" --date 2026-11-21 --format csv
check "report daily --format csv: sections with a header line each" \
    eval '[ "$rc" = 0 ] && grep -qx "# units" <<<"$out" && grep -qx "# open_by_contractor" <<<"$out" &&
          grep -qx "# timeliness" <<<"$out" && grep -qx "no_deadline,overdue_open,in_time_open,closed_late,closed_in_time" <<<"$out"'
as admin report daily --project "$p" --date 2026-11-21 --format json
check "report daily --format json is one object mirroring DailyReport" \
    json_has '"units_inspected" in d and "timeliness" in d'
as admin report daily --project "$p" --date 2026-11-21 --format html
check "report daily --format html is an A4 page" \
    eval '[ "$rc" = 0 ] && grep -q "交房日报表 Daily handover report" <<<"$out" && grep -q "@page { size: A4;" <<<"$out"'
# An item found on a later visit must not move the unit's acceptance form to that day.
as clerk1 inspect handover --project "$p" --unit 3-2-1701 --date 2026-11-10 --inspector 甲 \
    --outcome accepted_with_items
as clerk1 inspect record --project "$p" --unit 3-2-1701 --round handover --date 2026-11-12 \
    --inspector 乙 --location 厨房 --category waterproofing --severity minor "橱柜下渗水"
as admin report daily --project "$p" --date 2026-11-10 --format json
check "a later item keeps the handover form on its own day (inspected and accepted there)" \
    json_has 'd["units_inspected"] == 1 and d["units_accepted"] == 1'
as admin report daily --project "$p" --date 2026-11-12 --format json
check "... and the later day counts the item and its unit, not an acceptance" \
    json_has 'd["items_raised"] == 1 and d["units_accepted"] == 0 and d["items_per_unit"] == 1'
as admin report readiness --project "$p" --building 3栋
check "report readiness with open items: NOT ready, exit 5" \
    eval '[ "$rc" = 5 ] && grep -q "^NOT ready: 41 blockers" <<<"$out"'
as admin report readiness --project "$p" --building 5栋
check "... a building with one open item is not ready either (exit 5, 1 blocker)" \
    eval '[ "$rc" = 5 ] && grep -q "^NOT ready: 1 blocker" <<<"$out"'
as dyh report readiness --project "$p" --building 5栋
check "... a contractor may not ask (refused, exit 3), which is not 'NOT ready'" \
    eval '[ "$rc" = 3 ] && grep -qx "cloop: your role may not do this" <<<"$err" && [ -z "$out" ]'
five=$(printf '%s\n' "$(XDG_CONFIG_HOME=$work/cfg/clerk1 "$CLOOP" "${S[@]}" ticket todo \
    --contractor "$cd_" --format csv)" | sed -n 2p | cut -d, -f1)
# Notes are limited in characters (CL_LIM_NOTE_CHARS, 2000), not bytes: 2000 CJK
# characters are 6000 bytes and go through; one more is refused before sending.
long=$(printf '符%.0s' $(seq 2000))
as admin ticket nofix --project "$p" "$five" --note "${long}合"
check "a note of 2001 characters: exit 2, nothing sent" \
    eval '[ "$rc" = 2 ] && grep -qF -- "--note is longer than 2000 characters" <<<"$err"'
as admin ticket show "$five" --project "$p" --format csv
check "... the ticket is still open" grep -qx "state,open" <<<"$out"
as admin ticket nofix --project "$p" "$five" --note "$long"
check "a note of 2000 characters (6000 bytes) is accepted" test "$rc" = 0
as admin ticket show "$five" --project "$p" --format csv
check "... and kept whole" grep -qx "last_note,$long" <<<"$out"
as admin report readiness --project "$p" --building 5栋
check "... and ready (exit 0) once its item is decided not to fix" \
    eval '[ "$rc" = 0 ] && grep -q "^ready for key handover" <<<"$out"'

# --- shutdown ------------------------------------------------------------------------
stop_daemon "$dpid"
check "closeloopd exits 0 on SIGTERM" test "$?" = 0

report_and_exit
