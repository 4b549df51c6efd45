#!/usr/bin/env bash
# test_site_day.sh - a day's files as site staff write them (issue 8, part A: 1, 2, 3, 7, 9),
# driven only through cloop over TLS against a throwaway PostgreSQL and the real closeloopd.
#
# Run by ctest with CL_BIN_DIR (this build's bin/), CL_SOURCE_DIR and CL_TEST_TMP. The
# setup is lib.sh's. Then: the units come from a GBK file (Chinese Excel's "CSV"), which
# is converted in one line; the day's forms are written the way the site writes them
# (Excel's byte order mark, CRLF line ends, categories in Chinese: 防水 门窗 电气 土建
# 给排水 and 涂料, which is no trade's name until customer relations adds it as the
# project's alias), one item dated after the handover round's planned end. The checks:
# --check lists every unknown category with what the project accepts and writes nothing
# (the lists afterwards are empty); a file with a client-side error, an unknown unit and
# an unknown category reports all three in one run and writes nothing; the clerk may not
# add an alias, customer relations may, an alias that is a trade's name is refused; the
# day's file then imports in one run with one warning; a GBK copy of it is converted in
# one line and changes nothing; 60 bad lines print a screenful and the count of the rest;
# an item with a 1.9 MiB photo is saved; and against a daemon with a 256 KiB frame limit
# a 300-row chunk of long descriptions is sent in parts instead of losing the connection.
# Prints "ok - ..." / "not ok - ..." per check and "N passed, M failed".
# The checks are single-quoted strings run by eval: expansion there is deferred on purpose,
# and variables used only there look unused to shellcheck.
# shellcheck disable=SC2016,SC2034
set -u

# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"
setup_scratch siteday

start_server_with_db
d1=$dpid
D=2027-06-30   # the handover day, planned as the round's only day
LATE=2027-07-05 # an item typed in from a later visit's form

setup_project 万科城 "$D"
P=$p
ok "project 万科城 (id $P) created"

# --- units from a GBK file ------------------------------------------------------------
python3 - "$work" <<'PY'
import sys
w = sys.argv[1]
with open(f"{w}/units-gbk.csv", "w", encoding="gb18030", newline="") as f:
    f.write("building,unit,floor,owner_name\r\n")
    for i in range(12):
        f.write(f"1栋,1-1-{i // 4 + 1:02d}{i % 4 + 1:02d},{i // 4 + 1},业主{i}\r\n")
PY
check "the units file really is GBK (not valid UTF-8)" \
    eval '! iconv -f UTF-8 -t UTF-8 "$work/units-gbk.csv" >/dev/null 2>&1'
as admin unit import --project "$P" "$work/units-gbk.csv" --format csv
check "unit import of a GBK file: converted, 12 units in building 1栋" \
    eval '[ "$rc" = 0 ] && [ "$(csv_col inserted)" = 12 ] && [ "$(csv_col buildings_created)" = 1 ]'
check "... said in one line, no 'not valid UTF-8'" \
    eval '[ "$(grep -c . <<<"$err")" = 1 ] && grep -q "units-gbk.csv is GBK (GB18030)" <<<"$err" &&
          ! grep -q "not valid UTF-8" <<<"$err"'
as admin unit list --project "$P" --format csv
check "... the building's name arrived as UTF-8 (1栋)" \
    eval '[ "$rc" = 0 ] && [ "$(data_rows)" = 12 ] && [ "$(csv_col building number 1-1-0101)" = 1栋 ]'

printf 'building,unit,floor\n2栋,2-1-0101,1\n2栋,2-1-0102,1\n2栋,2-1-0103,一楼\n' >"$work/units-more.csv"
as admin unit import --project "$P" "$work/units-more.csv" --check --format csv
check "unit import --check: the bad floor on line 4 named, checked only" \
    eval '[ "$rc" = 1 ] && grep -q "units-more.csv:4: floor .一楼. is not a whole number" <<<"$err" &&
          grep -q "checked only, nothing was written" <<<"$err"'
head -n 3 "$work/units-more.csv" >"$work/units-good.csv"
as admin unit import --project "$P" "$work/units-good.csv" --check --format csv
check "unit import --check of 2 good new units: exit 0, nothing inserted" \
    eval '[ "$rc" = 0 ] && [ "$(csv_col inserted)" = 0 ] &&
          grep -q "checked only, nothing was written: no errors in 2 rows" <<<"$err"'
as admin unit list --project "$P" --format csv
check "... the project still has its 12 units, no building 2栋" \
    eval '[ "$rc" = 0 ] && [ "$(data_rows)" = 12 ] && ! grep -q "2栋" <<<"$out"'

as admin round add --project "$P" --kind handover --start "$D" --end "$D" --format csv
check "round add handover planned for $D only" eval '[ "$rc" = 0 ]'

add_user clerk clerk --projects "$P" --name 万科城录入员
add_user cr cr --company "$city" --name 深圳客关
ok "users clerk and cr are logged in"

# Every ticket of the project waits for manual dispatch (no contractors are assigned), so
# `ticket todispatch` lists everything the imports wrote.
tickets() { as admin ticket todispatch --project "$P" --format csv; }

# --- the day's forms as the site writes them ----------------------------------------------
# forms.csv: Excel's BOM, CRLF, categories in Chinese, 涂料 twice; row 14 dated $LATE.
python3 - "$work" "$P" "$D" "$LATE" <<'PY'
import sys
w, p, day, late = sys.argv[1:5]
cats = ["防水", "门窗", "电气", "土建", "涂料", "给排水"]
desc = {"防水": "卫生间地漏周边渗水", "门窗": "推拉窗关闭不严", "电气": "插座无电",
        "土建": "墙面空鼓", "涂料": "客厅墙面涂料起皮", "给排水": "厨房下水管漏水"}
rooms = ["卫生间", "客厅", "主卧", "厨房"]
with open(f"{w}/forms.csv", "w", encoding="utf-8", newline="") as f:
    f.write("\ufeffproject,unit,round,inspected_on,inspector,location,category,description,severity\r\n")
    for i in range(12):
        c = cats[i % 6]
        unit = f"1-1-{i // 4 + 1:02d}{i % 4 + 1:02d}"
        sev = "minor" if i % 2 == 0 else "轻微"  # code or Chinese label, as staff write it
        f.write(f"{p},{unit},handover,{day},王工,{rooms[i % 4]},{c},{desc[c]},{sev}\r\n")
    f.write(f"{p},1-1-0101,handover,{day},王工,阳台,waterproofing,阳台防水层开裂,major\r\n")
    f.write(f"{p},1-1-0102,handover,{late},李工,客厅,涂料,踢脚线处涂料污染,minor\r\n")
PY
nforms=14

as clerk inspect import "$work/forms.csv" --check --format csv
check "--check before 涂料 is an alias: exit 1, the three 涂料 lines named (6, 12, 15)" \
    eval '[ "$rc" = 1 ] && grep -q "^$work/forms.csv:6: category .涂料. is not a trade of project $P" <<<"$err" &&
          grep -q "^$work/forms.csv:12: category .涂料." <<<"$err" &&
          grep -q "^$work/forms.csv:15: category .涂料." <<<"$err" &&
          [ "$(grep -c "is not a trade" <<<"$err")" = 3 ]'
check "... the refusal lists the accepted codes and names (waterproofing (防水), decoration (装修))" \
    eval 'grep "^$work/forms.csv:6: " <<<"$err" | grep -q "waterproofing (防水)" &&
          grep "^$work/forms.csv:6: " <<<"$err" | grep -q "decoration (装修)"'
check "... and says that it checked only" grep -q "checked only, nothing was written" <<<"$err"
tickets
check "... nothing was written: the project has no tickets" \
    eval '[ "$rc" = 0 ] && head -n 1 <<<"$out" | grep -q "^number,id," && [ "$(data_rows)" = 0 ]'

# One run, every error: a client-side one (severity), a server-side one (unit) and an
# unknown category, in one chunk.
bad=$work/bad.csv
{
    printf '\xef\xbb\xbfproject,unit,round,inspected_on,inspector,location,category,description,severity\r\n'
    printf '%s,1-1-0101,handover,%s,王工,客厅,土建,墙面空鼓,minor\r\n' "$P" "$D"
    printf '%s,1-1-0101,handover,%s,王工,客厅,土建,墙面裂缝,severe\r\n' "$P" "$D"
    printf '%s,9-9-9999,handover,%s,王工,客厅,土建,不存在的房号,minor\r\n' "$P" "$D"
    printf '%s,1-1-0102,handover,%s,王工,客厅,油漆,不认识的类别,minor\r\n' "$P" "$D"
} >"$bad"
as clerk inspect import "$bad" --format csv
check "a file with a client-side error, an unknown unit and an unknown category: all three in one run" \
    eval '[ "$rc" = 1 ] && grep -q "^$bad:3: unknown severity .severe." <<<"$err" &&
          grep -q "^$bad:4: no such unit 9-9-9999" <<<"$err" &&
          grep -q "^$bad:5: category .油漆. is not a trade" <<<"$err" &&
          [ "$(grep -c "^$bad:" <<<"$err")" = 3 ]'
check "... its chunk was rejected whole: nothing inserted" \
    eval '[ "$(csv_col inserted)" = 0 ] && [ "$(csv_col rejected_chunks)" = 1 ] &&
          [ "$(csv_col rejected_rows)" = 4 ]'
tickets
check "... and the project still has no tickets" eval '[ "$rc" = 0 ] && [ "$(data_rows)" = 0 ]'
# The daemon's own checks (a description over 2000 characters) and the database's (an
# unknown unit) in one chunk: both in one reply.
both=$work/both.csv
{
    echo "project,unit,round,inspected_on,inspector,location,category,description,severity"
    echo "$P,1-1-0101,handover,$D,王工,客厅,土建,$(printf '长%.0s' $(seq 1 2001)),minor"
    echo "$P,9-9-9998,handover,$D,王工,客厅,土建,不存在的房号,minor"
    echo "$P,1-1-0102,handover,$D,王工,客厅,土建,墙面空鼓,minor"
} >"$both"
as clerk inspect import "$both" --format csv
check "the daemon's own check (line 2) and the database's (line 3) come back in one run" \
    eval '[ "$rc" = 1 ] && grep -q "^$both:2: description" <<<"$err" &&
          grep -q "^$both:3: no such unit 9-9-9998" <<<"$err" && [ "$(grep -c "^$both:" <<<"$err")" = 2 ] &&
          [ "$(csv_col inserted)" = 0 ]'

# --- aliases ---------------------------------------------------------------------------
as clerk trade alias --project "$P" 涂料 decoration
check "a clerk may not add a trade alias (exit 3)" test "$rc" = 3
as cr trade alias --project "$P" 涂料 装修 --format csv
check "customer relations adds 涂料 -> decoration (装修), the trade given by its Chinese name" \
    eval '[ "$rc" = 0 ] && [ "$(csv_col trade alias 涂料)" = decoration ] &&
          [ "$(csv_col trade_name alias 涂料)" = 装修 ]'
as cr trade alias --project "$P" 防水 civil
check "an alias that is a trade's Chinese name is refused (exit 1)" \
    eval '[ "$rc" = 1 ] && grep -q "already names the trade waterproofing" <<<"$err"'
as cr trade alias --project "$P" 腻子 不是专业
check "an alias for an unknown trade is refused, listing the trades (exit 1)" \
    eval '[ "$rc" = 1 ] && grep -q "no such trade 不是专业" <<<"$err" && grep -q "plumbing (给排水)" <<<"$err"'
out=$("$CLOOP" trade alias --help 2>&1)
check "cloop trade alias --help explains the verb with an example" \
    eval 'grep -q "^usage: cloop trade alias --project ID ALIAS TRADE" <<<"$out" &&
          grep -q "example: cloop trade alias --project 1 涂料 decoration" <<<"$out"'
as clerk trade aliases --project "$P" --format csv
check "trade aliases lists the one alias" \
    eval '[ "$rc" = 0 ] && [ "$(data_rows)" = 1 ] && [ "$(csv_col trade alias 涂料)" = decoration ]'

as clerk inspect import "$work/forms.csv" --check --format csv
check "--check with the alias: exit 0, no errors, nothing written" \
    eval '[ "$rc" = 0 ] && grep -q "checked only, nothing was written: no errors in $nforms rows" <<<"$err" &&
          [ "$(csv_col inserted)" = 0 ]'
tickets
check "... the project still has no tickets" eval '[ "$rc" = 0 ] && [ "$(data_rows)" = 0 ]'

# --- the day's import, in one run -------------------------------------------------------
as clerk inspect import "$work/forms.csv" --format csv
check "the day's file (BOM, CRLF, Chinese categories) imports in one run: $nforms inserted" \
    eval '[ "$rc" = 0 ] && [ "$(csv_col inserted)" = $nforms ] && [ "$(csv_col manual_dispatch)" = $nforms ] &&
          [ "$(csv_col rejected_chunks)" = 0 ]'
check "... one warning, for line 15 dated after the round's planned end" \
    eval '[ "$(grep -c "warning:" <<<"$err")" = 1 ] &&
          grep -q "^$work/forms.csv:15: warning: inspected_on $LATE is outside the planned dates of round handover" <<<"$err"'
tickets
check "... $nforms tickets, stored by trade code: 3 decoration (涂料), 3 waterproofing (防水 and the code)" \
    eval '[ "$rc" = 0 ] && [ "$(data_rows)" = $nforms ] &&
          [ "$(python3 -c "import csv,sys; r=list(csv.DictReader(sys.stdin)); print(sum(x[\"category\"]==\"decoration\" for x in r), sum(x[\"category\"]==\"waterproofing\" for x in r), sum(x[\"category\"] in (\"防水\",\"涂料\") for x in r))" <<<"$out")" = "3 3 0" ]'

# --- the GBK copy of the same file ---------------------------------------------------------
tail -c +4 "$work/forms.csv" | iconv -f UTF-8 -t GB18030 >"$work/forms-gbk.csv"
check "the GBK copy is not UTF-8" eval '! iconv -f UTF-8 -t UTF-8 "$work/forms-gbk.csv" >/dev/null 2>&1'
as clerk inspect import "$work/forms-gbk.csv" --format csv
check "the GBK copy imports in one run: converted, all $nforms unchanged" \
    eval '[ "$rc" = 0 ] && [ "$(csv_col inserted)" = 0 ] && [ "$(csv_col unchanged)" = $nforms ]'
check "... the conversion said in ONE line (and the warning), no 'not valid UTF-8'" \
    eval '[ "$(grep -c "is GBK (GB18030), not UTF-8: converted" <<<"$err")" = 1 ] &&
          [ "$(grep -vc "warning:" <<<"$err")" = 1 ] && ! grep -q "not valid UTF-8" <<<"$err"'
printf 'project,unit\n%s,1-1-0101\xff\xfe\n' "$P" >"$work/broken.csv"
as clerk inspect import "$work/broken.csv"
check "a file neither UTF-8 nor GBK is refused in one line that says how to save it" \
    eval '[ "$rc" = 1 ] && [ "$(grep -c . <<<"$err")" = 1 ] &&
          grep -q "neither UTF-8 nor GBK (GB18030); nothing was recorded: save it as \"CSV UTF-8" <<<"$err"'

# --- a screenful per kind of error -----------------------------------------------------------
{
    echo "project,unit,round,inspected_on,inspector,location,category,description,severity"
    for i in $(seq 1 60); do echo "$P,9-9-$i,handover,$D,王工,客厅,土建,不存在,minor"; done
} >"$work/many.csv"
as clerk inspect import "$work/many.csv" --format csv
check "60 lines with an unknown unit: 20 of them printed, then '... and 40 more'" \
    eval '[ "$rc" = 1 ] && [ "$(grep -c "^$work/many.csv:[0-9]*: no such unit" <<<"$err")" = 20 ] &&
          grep -q "^cloop: $work/many.csv: ... and 40 more lines with the same error as line 2$" <<<"$err"'

# --- a photo of 1.9 MiB --------------------------------------------------------------------
python3 -c 'import os, sys; sys.stdout.buffer.write(b"\xff\xd8\xff\xe0" + os.urandom(1900 * 1024))' \
    >"$work/big.jpg"
as clerk inspect record --project "$P" --unit 1-1-0103 --round handover --date "$D" \
    --location 卫生间 --category waterproofing --severity major --photo "$work/big.jpg" \
    卫生间墙角渗水 --format csv
check "an item with a 1.9 MiB photo is saved" \
    eval '[ "$rc" = 0 ] && [ "$(csv_col recorded)" = inserted ]'
as clerk inspect record --project "$P" --unit 1-1-0103 --round handover --date "$LATE" \
    --location 客厅 --category 电气 --severity minor 开关面板松动 --format csv
check "inspect record takes a Chinese category (电气) and warns about the date outside the plan" \
    eval '[ "$rc" = 0 ] && [ "$(csv_col recorded)" = inserted ] &&
          [ "$(grep -c "^warning: inspected_on $LATE is outside the planned dates" <<<"$err")" = 1 ]'
tickets
check "... its ticket is stored as electrical" \
    eval '[ "$rc" = 0 ] && [ "$(csv_col category description 开关面板松动)" = electrical ]'
as admin info --format csv
check "the daemon's default frame limit fits five 2 MiB photos" \
    eval '[ "$rc" = 0 ] && [ "$(csv_col value key max_frame)" -ge $((10 * 1024 * 1024 + 65536)) ]'

# --- a chunk larger than the server's frame limit -------------------------------------------------
port2=$(free_port)
CLOSELOOP_SERVER_MAX_FRAME=262144 start_daemon 127.0.0.1 "$port2" "$work/daemon2.log" ||
    bail "a second closeloopd with max_frame 256 KiB starts"
d2=$dpid
S=(--server "127.0.0.1:$port2" --ca "$certs/ca.crt")
login clerk
[ "$rc" = 0 ] || bail "login clerk on the second daemon"
python3 - "$work" "$P" "$D" <<'PY'
import sys
w, p, day = sys.argv[1:4]
with open(f"{w}/long.csv", "w", encoding="utf-8") as f:
    f.write("project,unit,round,inspected_on,inspector,location,category,description,severity\n")
    for i in range(300):
        f.write(f"{p},1-1-{i % 12 // 4 + 1:02d}{i % 4 + 1:02d},handover,{day},王工,客厅,土建,"
                f"第{i}条：" + "墙面空鼓开裂需铲除重做" * 30 + ",minor\n")
PY
check "the 300-row chunk is larger than 256 KiB" test "$(wc -c <"$work/long.csv")" -gt 262144
as clerk inspect import "$work/long.csv" --chunk 300 --format csv
check "a chunk larger than the server's max_frame is sent in parts: 300 inserted, exit 0" \
    eval '[ "$rc" = 0 ] && [ "$(csv_col inserted)" = 300 ] && [ "$(csv_col rejected_chunks)" = 0 ] &&
          [ "$(csv_col chunks)" = 1 ]'
as clerk inspect record --project "$P" --unit 1-1-0104 --round handover --date "$D" \
    --location 卫生间 --category waterproofing --severity major --photo "$work/big.jpg" 卫生间墙角渗水
check "a photo larger than this server's frame limit is refused before sending (exit 1)" \
    eval '[ "$rc" = 1 ] && grep -q "more than the server accepts in one request (262144 bytes)" <<<"$err" &&
          ! grep -q "frame" "$work/daemon2.log"'

S=(--server "127.0.0.1:$port" --ca "$certs/ca.crt")
as admin trade alias --project "$P" 涂料 civil --format csv
check "adding an alias again points it at the new trade (an update, tracked like any other)" \
    eval '[ "$rc" = 0 ] && [ "$(csv_col trade alias 涂料)" = civil ]'
as admin trade aliases --project "$P" --format csv
check "... the list shows the one alias, now civil (土建)" \
    eval '[ "$rc" = 0 ] && [ "$(data_rows)" = 1 ] && [ "$(csv_col trade_name alias 涂料)" = 土建 ]'
as clerk inspect record --project "$P" --unit 1-1-0101 --round handover --date "$D" \
    --location 客厅 --category 油漆 --severity minor 墙面污染
check "inspect record with an unknown category: exit 1, the list names the codes, names and aliases" \
    eval '[ "$rc" = 1 ] && grep -q "category .油漆. is not a trade of project $P" <<<"$err" &&
          grep -q "low_voltage (弱电)" <<<"$err" && grep -q "aliases of the project: 涂料 -> civil" <<<"$err"'

for dp in "$d2" "$d1"; do
    stop_daemon "$dp"
    st=$?
    check "closeloopd $dp exits 0 on SIGTERM" test "$st" = 0
done
check "... and neither daemon log has a sanitizer report" \
    eval '! grep -q Sanitizer "$work/daemon.log" "$work/daemon2.log"'

report_and_exit
