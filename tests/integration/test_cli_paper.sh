#!/usr/bin/env bash
# test_cli_paper.sh - issue 8, what the site and the paper run into (A4-A8, B5), through
# the real cloop: age and deadline count from the day an item was found and late entry
# shows; "oldest first" is oldest found; the daily report's manual-dispatch backlog in
# every format; conflicts, options and building names said truthfully; a unit with open
# items is not plain accepted; paper lists with a project column, Chinese trades and
# severities and one footer; CSV cells a spreadsheet would run as formulas neutralised;
# control characters refused in stored text.
#
# Run by ctest like the other cloop tests (lib.sh): a throwaway PostgreSQL cluster, the
# real closeloopd over TLS, cloop as each role.
# shellcheck disable=SC2016,SC2034
set -u

# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"
setup_scratch clipaper
start_server_with_db

today=$(date +%F)
d5=$(date -d '-5 days' +%F)
d10=$(date -d '-10 days' +%F)
d12=$(date -d "$d5 +7 days" +%F) # found + 7 days
setup_project 翡翠公园 2027-06-30
p1=$p
as admin project add --company "$city" 云栖里 --city 深圳 --format csv
p2=$(csv_col id)
as admin building add --project "$p1" 1栋 --floors 30 --format csv
b1=$(csv_col id)
as admin building add --project "$p1" 2栋 --floors 30 --format csv
as admin building add --project "$p2" A座 --floors 30 --format csv
b3=$(csv_col id)
for u in 1-1-101 1-1-102 1-1-201; do as admin unit add --building "$b1" "$u"; done
as admin unit add --building "$b3" A-101
as admin contractor add 东方雨虹 --trades waterproofing --format csv
cw=$(csv_col id)
as admin trade assign --project "$p1" --trade waterproofing --contractor "$cw"
as admin trade assign --project "$p2" --trade waterproofing --contractor "$cw"
as admin deadline set --project "$p1" --severity major --days 7
add_user dyh contractor --contractor "$cw"
add_user clerk1 clerk --projects "$p1,$p2"
check "two projects, one contractor on both, a clerk" test "$rc" = 0

# kv KEY: KEY's value in ticket show --format csv output ($out).
kv() { python3 -c 'import csv, sys
for r in csv.reader(sys.stdin):
    if len(r) == 2 and r[0] == sys.argv[1]: print(r[1]); break' "$1" <<<"$out"; }

# --- A4: age and deadline from the day found; late entry shows; oldest found first ----
record 1-1-101 "$today" waterproofing major 今天发现的渗水
today_id=$id
record 1-1-102 "$d5" waterproofing major 五天前发现的渗水
late_id=$id
check "two items recorded: found today (typed first), found 5 days ago (typed now)" \
    test "$rc" = 0
as clerk1 ticket show "$late_id" --format csv
check "ticket show: found $d5, 5 days ago" eval '[ "$rc" = 0 ] && [ "$(kv found)" = "$d5 (5 days ago)" ]'
check "... raised now, entered 5 days after it was found" \
    eval 'grep -q "(entered 5 days after it was found)$" <<<"$(kv raised)"'
check "... its deadline is 7 days after it was found ($d12), not after it was typed" \
    eval '[ "$(kv deadline)" = "$d12" ]'
as clerk1 ticket show "$late_id" --format json
check "... the Ticket message carries found_on, entry_lag_days 5 and age_days 5" \
    json_has 'd["ticket"]["found_on"] == "'"$d5"'" and d["ticket"]["entry_lag_days"] == 5 and d["ticket"]["age_days"] == 5'
as clerk1 ticket show "$today_id" --format csv
check "an item typed the day it was found says nothing of late entry" \
    eval '[ "$rc" = 0 ] && [ "$(kv found)" = "$today (0 days ago)" ] && ! grep -q entered <<<"$(kv raised)"'
as dyh ticket todo --project "$p1" --format csv
check "the to-repair list is oldest found first: the late-typed item before today's" \
    eval '[ "$rc" = 0 ] && [ "$(data_rows)" = 2 ] &&
          [ "$(python3 -c "import csv,sys; print(*[r[\"id\"] for r in csv.DictReader(sys.stdin)])" <<<"$out")" = "$late_id $today_id" ]'
as admin report daily --project "$p1" --format json
check "the daily report's oldest open tickets are oldest found first" \
    json_has '[t["id"] for t in d["oldest_open"]] == ["'"$late_id"'", "'"$today_id"'"]'

# --- A5: the manual-dispatch backlog in the daily report ----------------------------------
record 1-1-201 "$d10" fire critical 烟感未安装
fire_id=$id
as admin report daily --project "$p1" --format json
check "report daily json: dispatch_waiting 1, the oldest waiting 10 days since found" \
    json_has 'd["dispatch_waiting"] == 1 and d["dispatch_oldest_days"] == 10'
as admin report daily --project "$p1" --format csv
check "report daily csv: a '# dispatch' section: waiting 1, oldest_days 10" \
    eval '[ "$rc" = 0 ] && [ "$(awk "/^# dispatch\$/ { getline; print; getline; print; exit }" <<<"$out" | tr "\n" " ")" = "waiting,oldest_days 1,10 " ]'
as admin report daily --project "$p1"
check "report daily table: a 待派单 block with waiting 1" \
    eval '[ "$rc" = 0 ] && grep -q "^待派单 Waiting for manual dispatch" <<<"$out" &&
          grep -Eq "^waiting +1$" <<<"$out"'
as admin report daily --project "$p1" --format html
daily_html=$out
check "report daily html: a 待派单 table, its keys in Chinese for the page" \
    eval '[ "$rc" = 0 ] && grep -q "<h2>待派单 Waiting for manual dispatch (now)</h2>" <<<"$out" &&
          grep -q "^<tr><td>待派单 waiting</td><td class=\"num\">1</td></tr>$" <<<"$out"'

# --- A6: messages that tell the truth -----------------------------------------------------
as clerk1 ticket repaired "$fire_id" --note 已修
check "repaired on a ticket waiting for dispatch since raised: a conflict, exit 1" test "$rc" = 1
check "... said as waiting since it was raised, not 'changed by someone else'" \
    eval 'grep -q "it has waited for manual dispatch since it was raised" <<<"$err" &&
          ! grep -q "changed by someone else" <<<"$err"'
as clerk1 ticket todo
check "ticket todo by a clerk without --contractor: usage error, exit 2" test "$rc" = 2
check "... naming the option --contractor, not the field contractor_id" \
    eval 'grep -q -- "--contractor" <<<"$err" && ! grep -q contractor_id <<<"$err"'
as admin report readiness --project "$p1" --building 1
check "report readiness --building 1 finds 1栋 (not ready: 3 blockers, exit 5)" \
    eval '[ "$rc" = 5 ] && grep -q "^NOT ready: 3 blockers (building 1栋 of project $p1" <<<"$out"'
as admin report readiness --project "$p1" --building 9
check "... --building 9: no such building, exit 1, listing the names 1栋, 2栋" \
    eval '[ "$rc" = 1 ] && grep -qx "cloop: no such building \"9\" in this project: its buildings are 1栋, 2栋" <<<"$err"'

# --- A7: a unit with open items is not plain accepted --------------------------------------
record 1-1-102 "$today" waterproofing minor 交付时门槛石渗水 handover
as clerk1 inspect handover --project "$p1" --unit 1-1-102 --date "$today" --outcome accepted
check "inspect handover --outcome accepted with an open handover item: refused, exit 1" \
    eval '[ "$rc" = 1 ] && grep -q "has 1 open item(s) in the handover round" <<<"$err" &&
          grep -q accepted_with_items <<<"$err"'
as admin report daily --project "$p1" --format json
check "... and no outcome was recorded (no unit accepted today, with items or not)" \
    json_has 'd["units_accepted"] == 0 and d["units_accepted_with_items"] == 0'
as clerk1 inspect handover --project "$p1" --unit 1-1-102 --date "$today" \
    --outcome accepted_with_items --format csv
check "... accepted_with_items is recorded" eval '[ "$rc" = 0 ] && [ "$(csv_col outcome)" = accepted_with_items ]'
as clerk1 inspect handover --project "$p1" --unit 1-1-201 --date "$today" --outcome accepted \
    --format csv
check "a unit without open handover items is accepted" \
    eval '[ "$rc" = 0 ] && [ "$(csv_col outcome)" = accepted ]'

# --- A8: paper ------------------------------------------------------------------------------
record A-101 "$today" waterproofing critical 云栖里渗水 mock1 "$p2"
as dyh ticket todo
check "the contractor's list over both projects has a project column" \
    eval '[ "$rc" = 0 ] && head -n 1 <<<"$out" | grep -q "project" &&
          grep -q "翡翠公园" <<<"$out" && grep -q "云栖里" <<<"$out"'
check "... trades and severities in Chinese (防水, 一般, 严重) in the table" \
    eval 'grep -q "防水" <<<"$out" && grep -q "一般" <<<"$out" && grep -q "严重" <<<"$out" &&
          ! grep -q "waterproofing" <<<"$out"'
as dyh ticket todo --format html
todo_html=$out
check "the to-repair page has a 项目 Project column over both projects" \
    eval '[ "$rc" = 0 ] && grep -q "<th>项目 Project</th>" <<<"$out" && grep -q "<td[^>]*>云栖里</td>" <<<"$out"'
check "... trades and severities in Chinese on paper" \
    eval 'grep -q "<td[^>]*>防水</td>" <<<"$out" && grep -q "<td[^>]*>严重</td>" <<<"$out" &&
          ! grep -q "<td[^>]*>waterproofing</td>" <<<"$out" && ! grep -q "<td[^>]*>critical</td>" <<<"$out"'
check "... and its footer printed once" test "$(grep -o "当晚录入" <<<"$out" | wc -l)" = 1
as dyh ticket todo --project "$p1" --format html
check "a one-project page has no project column" \
    eval '[ "$rc" = 0 ] && ! grep -q "<th>项目 Project</th>" <<<"$out"'
as clerk1 ticket todo --contractor "$cw" --format csv
check "CSV keeps the codes for scripts (waterproofing, major)" \
    eval '[ "$rc" = 0 ] && [ "$(csv_col category)" = waterproofing ] && [ "$(csv_col severity)" = major ]'
check "deploy/install-deps.sh installs the CJK fonts (fonts-noto-cjk)" \
    grep -Eq "^[[:space:]]+fonts-noto-cjk$" "$CL_SOURCE_DIR/deploy/install-deps.sh"
as clerk1 ticket toverify --project "$p1" --format html
toverify_html=$out
as clerk1 ticket todispatch --project "$p1" --format html
todispatch_html=$out
as clerk1 ticket show "$late_id" --format html
show_html=$out
as admin report readiness --project "$p1" --building 1栋 --format html
ready_html=$out
for page in todo toverify todispatch show ready daily; do
    v=${page}_html
    printf '%s\n' "${!v}" >"$work/$page.html"
done
check "every printed page is written (for the screenshots)" \
    eval '[ "$(grep -l "</html>" "$work"/*.html | wc -l)" = 6 ]'
if [ -n "${CL_PAPER_DIR:-}" ]; then cp "$work"/*.html "$CL_PAPER_DIR"/; fi

# --- B5: CSV formula injection; control characters ----------------------------------------
record 1-1-101 "$today" waterproofing minor '=HYPERLINK("http://evil.example/","点我")'
record 1-1-101 "$today" waterproofing minor '+1+2'
record 1-1-101 "$today" waterproofing minor '@SUM(A1:A9)'
record 1-1-101 "$today" waterproofing minor '-1+2 渗水'
as clerk1 ticket todo --contractor "$cw" --project "$p1" --format csv
check "CSV: descriptions starting = + @ - get a leading single quote" \
    eval '[ "$rc" = 0 ] && [ "$(python3 -c "
import csv, sys
d = [r[\"description\"] for r in csv.DictReader(sys.stdin)]
print(sum(1 for x in d if x in (\"'"'"'=HYPERLINK(\\\"http://evil.example/\\\",\\\"点我\\\")\", \"'"'"'+1+2\", \"'"'"'@SUM(A1:A9)\", \"'"'"'-1+2 渗水\")))
" <<<"$out")" = 4 ]'
check "... while numbers stay numbers (age_days 0, not '0)" \
    eval '[ "$(csv_col age_days id "$today_id")" = 0 ]'
record 1-1-101 "$today" waterproofing minor $'渗水\x01严重'
check "a description with a control character (U+0001) is refused, naming the field" \
    eval '[ "$rc" != 0 ] && grep -q "description holds a control character (U+0001)" <<<"$err"'
record 1-1-101 "$today" waterproofing minor $'第一行\n第二行'
check "a description of two lines (a newline) is accepted" test "$rc" = 0
as clerk1 ticket show "$id" --format csv
check "... and kept with its newline" test "$(kv description)" = $'第一行\n第二行'
as dyh ticket repaired "$today_id" --note $'已修\t好'
check "a --note with a tab is refused by the server: exit 2, naming --note" \
    eval '[ "$rc" = 2 ] && grep -q -- "--note holds a control character (U+0009, a tab)" <<<"$err"'
as clerk1 ticket show "$today_id" --format csv
check "... and the ticket is still open" eval '[ "$(kv state)" = open ]'

report_and_exit
