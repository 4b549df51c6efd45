#!/usr/bin/env bash
# test_calendar.sh - the business calendar people manage (docs/CALENDAR.md), through cloop
# and a real daemon:
#  - the shipped 2025 and 2026 State Council schedules on known dates, counted per year;
#  - `calendar deadline` on the issue's case (4 h from 17:30 on 2025-09-30 ends 2025-10-09
#    13:30), on 2026's National Day, and a 16 h clock over the make-up Saturday 2026-10-10;
#  - `calendar import`: bad lines (the CLI's and the daemon's checks) change nothing,
#    proven by a successful list before and after; BOM, header and Chinese kinds; a second
#    import of the same file changes nothing; a company's own days override the national
#    ones for its clocks only;
#  - `calendar hours` read and set;
#  - refusals by exit code 3 (a clerk importing, a cr importing national days, a clerk
#    setting hours) and exit 1 for a company out of the cr's scope;
#  - the December warning with a simulated date (CLOSELOOP_CALENDAR_TODAY): a log line,
#    cloop's warning on stderr, exactly one `calendar` notice with two daemons, none once
#    next year is imported or before December.
#
# Run by ctest with CL_BIN_DIR, CL_SOURCE_DIR and CL_TEST_TMP, like the other cli tests.
# shellcheck disable=SC2016,SC2034,SC2317 # helpers called through check ... eval
set -u

# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"
setup_scratch calendar
# Before December: no warning yet (the machine's own date may be in December).
export CLOSELOOP_CALENDAR_TODAY=2026-11-30
start_server_with_db

# row DAY: the CSV row of that day in $out ("" when it is not listed).
row() { grep "^$1," <<<"$out"; }
# wait_log FILE PATTERN: true once PATTERN is in FILE (up to 10 s).
wait_log() { for _ in $(seq 1 100); do grep -q "$2" "$1" && return 0; sleep 0.1; done; return 1; }

setup_project 万科城
as admin company add 广州城市公司 --kind city --parent "$hq" --format csv
city2=$(csv_col id)
add_user clerk1 clerk --projects "$p"
add_user cr1 cr --company "$city"
add_user cr2 cr --company "$city2"
check "two city companies, a clerk and two cr are set up" test -n "$city2"

# --- the shipped schedules ---------------------------------------------------------------
as clerk1 calendar list --year 2025 --format csv
check "list --year 2025: exit 0, header 日期,星期,类型,名称,来源, 33 days (28 off, 5 make-up)" \
    eval '[ "$rc" = 0 ] && [ "$(head -1 <<<"$out")" = "日期,星期,类型,名称,来源" ] &&
          [ "$(data_rows)" = 33 ] && [ "$(grep -c ",放假," <<<"$out")" = 28 ] &&
          [ "$(grep -c ",上班," <<<"$out")" = 5 ]'
check "2025-10-01 is a national day off (星期三, 国庆节、中秋节)" \
    test "$(row 2025-10-01)" = "2025-10-01,星期三,放假,国庆节、中秋节,全国"
check "2025-10-11 is a make-up working Saturday" \
    test "$(row 2025-10-11)" = "2025-10-11,星期六,上班,国庆节调休上班,全国"
as clerk1 calendar list --year 2026 --format csv
check "list --year 2026: 39 days (33 off, 6 make-up), nothing of 2025" \
    eval '[ "$rc" = 0 ] && [ "$(data_rows)" = 39 ] && [ "$(grep -c ",放假," <<<"$out")" = 33 ] &&
          [ "$(grep -c ",上班," <<<"$out")" = 6 ] && ! grep -q "^2025-" <<<"$out"'
check "2026-02-14 and 2026-10-10 are make-up working Saturdays" \
    eval '[ "$(row 2026-02-14)" = "2026-02-14,星期六,上班,春节调休上班,全国" ] &&
          [ "$(row 2026-10-10)" = "2026-10-10,星期六,上班,国庆节调休上班,全国" ]'
check "2026-10-07 is off and 2026-10-08 (a Thursday) is not listed: an ordinary workday" \
    eval '[ "$(row 2026-10-07)" = "2026-10-07,星期三,放假,国庆节,全国" ] && [ -z "$(row 2026-10-08)" ]'
check "before December no calendar warning on stderr" test -z "$err"
as clerk1 calendar list --year 2025 --format json
check "list --format json: 33 records with day 2025-10-01 off" \
    python3 -c 'import json,sys; d=json.loads(sys.argv[1]); r=d if isinstance(d,list) else d[next(iter(d))]
assert len(r)==33, len(r); assert any(x["日期"]=="2025-10-01" and x["类型"]=="放假" for x in r)' "$out"

# --- deadlines over the holidays ------------------------------------------------------------
as clerk1 calendar deadline --start '2025-09-30 17:30' --hours 4 --format csv
check "4 h from 17:30 on 2025-09-30 ends 2025-10-09 13:30 (after 8 days off)" \
    eval '[ "$rc" = 0 ] && [ "$(csv_col 到期)" = "2025-10-09 13:30" ] && [ "$(data_rows)" = 1 ]'
as clerk1 calendar deadline --start '2026-09-30 17:30' --hours 4 --format csv
check "4 h from 17:30 on 2026-09-30 ends 2026-10-08 13:30 (the ordinary Thursday)" \
    eval '[ "$rc" = 0 ] && [ "$(csv_col 到期)" = "2026-10-08 13:30" ]'
as clerk1 calendar deadline --start '2026-10-09 09:00' --hours 16 --format csv
check "16 h from 09:00 on Friday 2026-10-09 ends 18:00 on the make-up Saturday 2026-10-10" \
    eval '[ "$rc" = 0 ] && [ "$(csv_col 到期)" = "2026-10-10 18:00" ]'
as clerk1 calendar deadline --start '2026-10-16 09:00' --hours 16 --format csv
check "16 h from 09:00 on Friday 2026-10-16 ends on Monday 2026-10-19 18:00 (no make-up day)" \
    eval '[ "$rc" = 0 ] && [ "$(csv_col 到期)" = "2026-10-19 18:00" ]'
as clerk1 calendar deadline --start '2026-10-09 9:00' --hours 4
check "a malformed --start exits 2" test "$rc" = 2

# --- import: errors change nothing --------------------------------------------------------
as admin calendar list --format csv
before=$(data_rows)
check "list of every year before the bad imports: exit 0, 72 days" \
    eval '[ "$rc" = 0 ] && [ "$before" = 72 ]'
printf 'date,kind,name\n2027-01-01,休,元旦\n2027-01-02,maybe,元旦\n2027-01-03,off,元旦\n' >"$work/bad_kind.csv"
as admin calendar import "$work/bad_kind.csv"
check "a bad kind on line 3: exit 1, one line naming line 3 and the kind" \
    eval '[ "$rc" = 1 ] && [ "$(grep -c "bad_kind.csv:" <<<"$err")" = 1 ] &&
          grep -q "bad_kind.csv:3: .maybe. is not a kind" <<<"$err"'
printf '2027-02-30,off,春节\n' >"$work/bad_date.csv"
as admin calendar import "$work/bad_date.csv"
check "a date that does not exist: exit 1, line 1 named" \
    eval '[ "$rc" = 1 ] && grep -q "bad_date.csv:1: .2027-02-30. is not a date" <<<"$err"'
long=$(printf '节%.0s' $(seq 1 41))
printf '2027-01-01,off,元旦\n2027-01-02,off,%s\n' "$long" >"$work/bad_name.csv"
as admin calendar import "$work/bad_name.csv"
check "a 41-character name (the daemon's check): exit 1, line 2 named, nothing changed said" \
    eval '[ "$rc" = 1 ] && grep -q "bad_name.csv:2: name" <<<"$err" &&
          grep -q "nothing was changed" <<<"$err"'
as admin calendar list --format csv
check "after the bad imports the list still succeeds with the same 72 days" \
    eval '[ "$rc" = 0 ] && [ "$(data_rows)" = "$before" ]'
check "and the database holds no 2027 day" test "$(sql "SELECT count(*) FROM calendar_days WHERE day >= '2027-01-01'")" = 0

# --- refusals ----------------------------------------------------------------------------
printf '2026-10-08,off,公司庆典\n' >"$work/company.csv"
as clerk1 calendar import "$work/company.csv" --company "$city"
check "a clerk importing is refused: exit 3" test "$rc" = 3
as cr1 calendar import "$work/company.csv"
check "a cr importing national days is refused: exit 3" test "$rc" = 3
as cr1 calendar import "$work/company.csv" --company 广州城市公司
check "a cr importing another company's days: exit 1, no such company" \
    eval '[ "$rc" = 1 ] && grep -q "no such company" <<<"$err"'
as clerk1 calendar hours --set 08:00-12:00
check "a clerk setting hours is refused: exit 3" test "$rc" = 3
as cr1 calendar hours --set 08:00-12:00
check "a cr setting the national hours is refused: exit 3" test "$rc" = 3
check "nothing was written by the refused requests" \
    test "$(sql "SELECT count(*) FROM calendar_days WHERE company_id IS NOT NULL") $(sql "SELECT count(*) FROM calendar_hours")" = "0 2"

# --- a company's own days and hours -----------------------------------------------------
as cr1 calendar import "$work/company.csv" --company 深圳城市公司 --format csv
check "cr1 imports a company day off by company name: 1 inserted" \
    eval '[ "$rc" = 0 ] && [ "$(csv_col inserted)" = 1 ] && [ "$(csv_col company_id)" = "$city" ]'
as cr1 calendar list --company "$city" --year 2026 --format csv
check "the company's 2026 list: 40 days, 2026-10-08 its own day off" \
    eval '[ "$rc" = 0 ] && [ "$(data_rows)" = 40 ] &&
          [ "$(row 2026-10-08)" = "2026-10-08,星期四,放假,公司庆典,本公司" ]'
as cr1 calendar deadline --company "$city" --start '2026-09-30 17:30' --hours 4 --format csv
check "the company's 4 h clock from 2026-09-30 17:30 ends 2026-10-09 13:30 (its own day off)" \
    eval '[ "$rc" = 0 ] && [ "$(csv_col 到期)" = "2026-10-09 13:30" ]'
as cr2 calendar deadline --company "$city2" --start '2026-09-30 17:30' --hours 4 --format csv
check "the other company keeps the national calendar: 2026-10-08 13:30" \
    eval '[ "$rc" = 0 ] && [ "$(csv_col 到期)" = "2026-10-08 13:30" ]'
as clerk1 calendar hours --format csv
check "the national hours: 09:00-12:00 and 13:00-18:00" \
    eval '[ "$rc" = 0 ] && [ "$(sed 1d <<<"$out" | paste -sd";")" = "09:00,12:00,全国;13:00,18:00,全国" ]'
as cr1 calendar hours --company "$city" --set 08:30-12:00,13:30-17:30 --format csv
check "cr1 sets the company's hours: 08:30-12:00 and 13:30-17:30, its own" \
    eval '[ "$rc" = 0 ] && [ "$(sed 1d <<<"$out" | paste -sd";")" = "08:30,12:00,本公司;13:30,17:30,本公司" ]'
as cr1 calendar deadline --company "$city" --start '2026-10-12 17:00' --hours 1 --format csv
check "over the company's hours 1 h from 17:00 ends 08:30 + 30 min the next day" \
    eval '[ "$rc" = 0 ] && [ "$(csv_col 到期)" = "2026-10-13 09:00" ]'
as cr1 calendar hours --company "$city" --set 12:00-09:00
check "a span that ends before it starts: exit 2" test "$rc" = 2
as cr1 calendar hours --company "$city" --set 09:00-12:00,11:00-18:00
check "overlapping spans: exit 1 from the daemon" \
    eval '[ "$rc" = 1 ] && grep -q "span 2" <<<"$err"'
as clerk1 calendar hours --company "$city" --national
check "a clerk may not drop the company's hours (exit 3)" test "$rc" = 3
as cr1 calendar hours --company "$city" --format csv
check "…which are still its own" \
    eval '[ "$rc" = 0 ] && [ "$(sed 1d <<<"$out" | paste -sd";")" = "08:30,12:00,本公司;13:30,17:30,本公司" ]'
as cr1 calendar hours --company "$city" --national --format csv
check "cr1 takes the company back to the national hours" \
    eval '[ "$rc" = 0 ] && [ "$(sed 1d <<<"$out" | paste -sd";")" = "09:00,12:00,全国;13:00,18:00,全国" ] &&
          [ "$(sql "SELECT count(*) FROM calendar_hours WHERE company_id IS NOT NULL")" = 0 ]'
as cr1 calendar deadline --company "$city" --start '2026-10-12 17:00' --hours 1 --format csv
check "and its deadlines follow them: 1 h from 17:00 ends 18:00" \
    eval '[ "$rc" = 0 ] && [ "$(csv_col 到期)" = "2026-10-12 18:00" ]'
as admin calendar hours --national
check "--national needs a --company (usage, exit 2)" test "$rc" = 2

# --- the December warning -----------------------------------------------------------------
check "no calendar warning was logged before December" \
    eval '! grep -q "calendar_year_missing" "$work/daemon.log"'
stop_daemon "$dpid"
export CLOSELOOP_CALENDAR_TODAY=2026-12-05
start_daemon 127.0.0.1 "$port" "$work/daemon2.log" || bail "closeloopd restarts on 2026-12-05"
check "on 2026-12-05 the daemon logs that 2027 is missing, once" \
    eval 'wait_log "$work/daemon2.log" calendar_year_missing &&
          [ "$(grep -c "calendar_year_missing.*year=2027" "$work/daemon2.log")" = 1 ]'
port2=$(free_port)
start_daemon 127.0.0.1 "$port2" "$work/daemon3.log" || bail "a second closeloopd starts"
check "a second daemon logs it too, the notice already sent" \
    eval 'wait_log "$work/daemon3.log" calendar_year_missing &&
          grep -q "calendar_year_missing.*year=2027.*notice=already_sent" "$work/daemon3.log"'
check "exactly one calendar notice, for everyone at HQ, naming 2027" \
    eval '[ "$(sql "SELECT count(*) FROM notices WHERE kind = '"'"'calendar'"'"'")" = 1 ] &&
          [ "$(sql "SELECT count(*) FROM notices WHERE kind = '"'"'calendar'"'"' AND project_id IS NULL
                     AND user_id IS NULL AND subject = '"'"'calendar:2027'"'"' AND body LIKE '"'"'2027年%'"'"'")" = 1 ]'
as clerk1 calendar list --year 2027 --format csv
check "calendar list: exit 0, no 2027 days, and the warning in Chinese on stderr" \
    eval '[ "$rc" = 0 ] && [ "$(data_rows)" = 0 ] &&
          [ "$(grep -c "^警告: 2027年的全国节假日安排尚未导入" <<<"$err")" = 1 ]'

# A 2027 file as an admin writes it: BOM, a header, Chinese kinds, CRLF line ends.
printf '\xef\xbb\xbf日期,类型,名称\r\n2027-01-01,休,元旦\r\n2027-01-02,放假,元旦\r\n2027-01-03,off,元旦\r\n2027-01-04,上班,元旦调休上班\r\n2027-01-05,班,"测试"\r\n' >"$work/2027.csv"
as admin calendar import "$work/2027.csv" --format csv
check "admin imports 2027 national: 5 inserted, 0 changed, 0 unchanged" \
    eval '[ "$rc" = 0 ] && [ "$(csv_col inserted),$(csv_col changed),$(csv_col unchanged)" = "5,0,0" ]'
as admin calendar import "$work/2027.csv" --format csv
check "importing the same file again changes nothing: 0, 0, 5 unchanged" \
    eval '[ "$rc" = 0 ] && [ "$(csv_col inserted),$(csv_col changed),$(csv_col unchanged)" = "0,0,5" ]'
as clerk1 calendar list --year 2027 --format csv
check "2027 lists 5 days (3 off, 2 make-up), the quoted name unquoted, and no warning now" \
    eval '[ "$rc" = 0 ] && [ "$(data_rows)" = 5 ] && [ "$(grep -c ",放假," <<<"$out")" = 3 ] &&
          [ "$(row 2027-01-05)" = "2027-01-05,星期二,上班,测试,全国" ] && [ -z "$err" ]'
check "still exactly one calendar notice" \
    test "$(sql "SELECT count(*) FROM notices WHERE kind = 'calendar'")" = 1
check "no daemon log holds a sanitizer report" \
    eval '! grep -q "Sanitizer\|runtime error:" "$work/daemon.log" "$work/daemon2.log" "$work/daemon3.log"'
report_and_exit
