#!/usr/bin/env bash
# test_pdf_reports.sh - issue 11, reports people print, as PDF: the daily report
# (交房日报表), the morning lists (待维修清单, 待验收清单) and the monthly quality report,
# written by cloop with cairo and pango. Each PDF is read back: pdfinfo for the page count
# and A4, pdftotext for the Chinese text and the figures (counted, not just present), the
# page footers "第 N 页 / 共 M 页" and the header row repeated on every page of a long list.
# Also where a PDF may go (-o FILE or a pipe; never a terminal) and which verbs take it.
#
# Run by ctest like the other cloop tests (lib.sh): a throwaway PostgreSQL cluster, the
# real closeloopd over TLS, cloop as each role. CL_PDF_DIR set: the PDFs are copied there
# (to render and look at them).
# shellcheck disable=SC2016,SC2034
set -u

# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"
setup_scratch pdfreports
start_server_with_db

for tool in pdfinfo pdftotext; do
    command -v "$tool" >/dev/null || bail "$tool (poppler-utils) is installed"
done

today=$(date +%F)
d3=$(date -d '-3 days' +%F)
month=${today:0:7}
# the 36 items are found 3 days ago, or on the 1st when that was last month
[ "${d3:0:7}" = "$month" ] || d3=$month-01
m1=$(date -d "$month-01 -1 month" +%F) # the 1st of last month
m2=$(date -d "$month-01 -2 months" +%F)
setup_project 翡翠公园 2027-06-30
p1=$p
as admin building add --project "$p1" 1栋 --floors 30 --format csv
b1=$(csv_col id)
for f in 1 2 3 4 5; do
    for u in 01 02 03 04; do as admin unit add --building "$b1" "1-$f-${f}${u}"; done
done
as admin contractor add 东方雨虹 --trades waterproofing --format csv
cw=$(csv_col id)
as admin contractor add 中建三局 --trades civil --format csv
cc=$(csv_col id)
as admin trade assign --project "$p1" --trade waterproofing --contractor "$cw"
as admin trade assign --project "$p1" --trade civil --contractor "$cc"
as admin deadline set --project "$p1" --severity major --days 7
add_user dyh contractor --contractor "$cw"
add_user clerk1 clerk --projects "$p1"
check "a project of 20 units, two contractors, a clerk" test "$rc" = 0


# pdf_pages FILE: its page count (pdfinfo); pdf_text FILE: its text, laid out (pdftotext).
pdf_pages() { pdfinfo "$1" 2>/dev/null | awk '/^Pages:/ { print $2 }'; }
pdf_text() { pdftotext -layout "$1" - 2>/dev/null; }
# count PATTERN TEXT: lines of TEXT matching the extended regex PATTERN.
count() { grep -Ec -- "$1" <<<"$2"; }

# --- data: 36 waterproofing items (a long to-repair list), 3 civil ones ---------------------
ids=()
n=0
for f in 1 2 3 4 5; do
    for u in 01 02 03 04; do
        for k in 1 2; do
            [ "$n" -ge 36 ] && break
            record "1-$f-${f}${u}" "$d3" waterproofing major "渗水第${n}处"
            [ "$rc" = 0 ] || bail "record item $n"
            ids+=("$id")
            n=$((n + 1))
        done
    done
done
for u in 1-1-101 1-1-102 1-1-103; do
    record "$u" "$today" civil minor 墙面空鼓
    [ "$rc" = 0 ] || bail "record civil item"
    civ=$id
done
check "39 items recorded (36 waterproofing found $d3, 3 civil today)" test "$n" = 36
# three repaired (the to-verify list), one of them verified and closed today
for i in 0 1 2; do as dyh ticket repaired "${ids[$i]}" --note 已修; done
as clerk1 ticket verify "${ids[0]}" --pass
check "three reported repaired, one verified (closed today)" test "$rc" = 0
as clerk1 inspect handover --project "$p1" --unit 1-5-504 --date "$today" --outcome not_taken_over \
    --reason 渗水未修
as clerk1 inspect handover --project "$p1" --unit 1-5-503 --date "$today" --outcome accepted
check "two handover outcomes today: one accepted, one not taken over" test "$rc" = 0

# --- which verbs, and where the PDF goes ----------------------------------------------------------
as admin ticket show "${ids[0]}" --format pdf
check "--format pdf on a verb without a PDF form: usage error, exit 2, naming the verbs" \
    eval '[ "$rc" = 2 ] && grep -q "format pdf is for: report daily" <<<"$err"'
as admin report daily --project "$p1" --date "$today" --format html -o "$work/x.pdf"
check "-o is an option of --format pdf only: exit 2 with html" \
    eval '[ "$rc" = 2 ] && [ ! -e "$work/x.pdf" ]'
XDG_CONFIG_HOME=$work/cfg/admin "$CLOOP" "${S[@]}" report daily --project "$p1" --date "$today" \
    --format pdf >"$work/piped.pdf" 2>"$work/stderr"
rc=$?
check "report daily --format pdf into a file on stdout: exit 0, nothing but a PDF" \
    eval '[ "$rc" = 0 ] && [ "$(head -c 5 "$work/piped.pdf")" = "%PDF-" ] &&
          [ "$(tail -c 6 "$work/piped.pdf" | tr -d "\n")" = "%%EOF" ] &&
          [ "$(pdf_pages "$work/piped.pdf")" -ge 1 ] && pdf_text "$work/piped.pdf" | grep -q 交房日报表'
XDG_CONFIG_HOME=$work/cfg/admin "$CLOOP" "${S[@]}" report daily --project "$p1" --date "$today" \
    --format pdf 2>"$work/stderr" | cat >"$work/piped2.pdf"
check "... and into a pipe" eval '[ "$(pdf_pages "$work/piped2.pdf")" -ge 1 ]'
# a terminal on stdout (script(1) gives cloop a pseudo-terminal): refused, nothing written
tty_out=$(XDG_CONFIG_HOME=$work/cfg/admin script -qec "$(printf '%q ' "$CLOOP" "${S[@]}" report daily \
    --project "$p1" --format pdf)" /dev/null 2>&1)
rc=$?
out=$tty_out
check "report daily --format pdf with a terminal on stdout: exit 2, no PDF bytes, says -o FILE" \
    eval '[ "$rc" = 2 ] && grep -q "a PDF is not for the terminal: give -o FILE" <<<"$tty_out" &&
          ! grep -q "%PDF" <<<"$tty_out"'
as admin report daily --project "$p1" --date "$today" --format pdf -o "$work/nodir/daily.pdf"
check "-o into a directory that does not exist: exit 1, saying so" \
    eval '[ "$rc" = 1 ] && grep -q "cannot create" <<<"$err"'

# --- the daily report -------------------------------------------------------------------------
as admin report daily --project "$p1" --date "$today" --format json
daily_json=$out
# dj EXPR: a figure of the daily report's JSON (the same request as the PDF's).
dj() { python3 -c 'import json, sys; d = json.load(sys.stdin); print(eval(sys.argv[1]))' "$1" <<<"$daily_json"; }
as admin report daily --project "$p1" --date "$today" --format pdf -o "$work/daily.pdf"
txt=$(pdf_text "$work/daily.pdf")
out=$txt
check "report daily --format pdf -o FILE: exit 0, A4 landscape pages" \
    eval '[ "$rc" = 0 ] && [ "$(pdf_pages "$work/daily.pdf")" -ge 1 ] &&
          pdfinfo "$work/daily.pdf" | grep -Eq "^Page size: +841\.8[0-9]* x 595\.2[0-9]* pts \(A4\)"'
check "... titled 交房日报表, the project 翡翠公园 and the date" \
    eval 'grep -q "交房日报表" <<<"$txt" && grep -q "翡翠公园 ($p1)" <<<"$txt" && grep -q "$today" <<<"$txt"'
check "... units: 验房 inspected, 已接房 1, 未接房 1 as the report's JSON says" \
    eval '[ "$(count "^ *验房 inspected +$(dj "d[\"units_inspected\"]")$" "$txt")" = 1 ] &&
          [ "$(count "^ *未接房 not_taken_over +1$" "$txt")" = 1 ] &&
          [ "$(count "^ *已接房 accepted +1$" "$txt")" = 1 ]'
check "... the reason 渗水未修 counted 1" eval '[ "$(count "^ *渗水未修 +1$" "$txt")" = 1 ]'
check "... items: 新增问题 raised 3 today; tickets: 关闭 closed 1" \
    eval '[ "$(count "^ *新增问题 raised +3$" "$txt")" = 1 ] && [ "$(count "^ *关闭 closed +1$" "$txt")" = 1 ]'
open_w=$(dj '[c["open"] for c in d["open_by_contractor"] if c["contractor"] == "东方雨虹"][0]')
check "... open tickets by contractor: 东方雨虹 $open_w open (as JSON), 中建三局 3" \
    eval '[ "$open_w" -ge 30 ] && [ "$(count "东方雨虹 +$open_w +0 +0$" "$txt")" = 1 ] &&
          [ "$(count "中建三局 +3 +0 +0$" "$txt")" = 1 ]'
pages=$(pdf_pages "$work/daily.pdf")
check "... and the footers 第 N 页 / 共 $pages 页" \
    eval '[ "$(grep -Eo "第 [0-9]+ 页 / ?共 $pages 页" <<<"$txt" | sort -u | wc -l)" = "$pages" ]'

# --- the morning lists -------------------------------------------------------------------------
as dyh ticket todo --project "$p1" --format pdf -o "$work/todo.pdf"
txt=$(pdf_text "$work/todo.pdf")
out=$txt
pages=$(pdf_pages "$work/todo.pdf")
check "ticket todo --format pdf: exit 0, the 33 open tickets over several landscape pages" \
    eval '[ "$rc" = 0 ] && [ "${pages:-0}" -ge 2 ] &&
          pdfinfo "$work/todo.pdf" | grep -Eq "^Page size: +841\.8[0-9]* x 595\.2[0-9]* pts"'
check "... titled 待维修清单, every open ticket once (渗水第N处 × 33; the 3 repaired not)" \
    eval 'grep -q "待维修清单" <<<"$txt" && [ "$(grep -Eo "渗水第[0-9]+处" <<<"$txt" | sort -u | wc -l)" = 33 ] &&
          [ "$(grep -Eo "渗水第[0-9]+处" <<<"$txt" | wc -l)" = 33 ] &&
          [ "$(grep -Eco "渗水第[012]处" <<<"$txt")" = 0 ]'
check "... the header row on every page ($pages pages: 问题描述 $pages times)" \
    eval '[ "$(grep -o "问题描述" <<<"$txt" | wc -l)" = "$pages" ]'
check "... footers 第 N 页 / 共 $pages 页 on each page, N = 1..$pages" \
    eval '[ "$(grep -Eo "第 [0-9]+ 页 / ?共 $pages 页" <<<"$txt" | sort -u | wc -l)" = "$pages" ]'
check "... the result and signature columns to write in, and the footer note" \
    eval 'grep -q "结果" <<<"$txt" && grep -q "签字" <<<"$txt" && grep -q "当晚录入" <<<"$txt"'
as clerk1 ticket toverify --project "$p1" --format pdf -o "$work/toverify.pdf"
txt=$(pdf_text "$work/toverify.pdf")
out=$txt
check "ticket toverify --format pdf: one page, 待验收清单, the 2 repaired tickets" \
    eval '[ "$rc" = 0 ] && [ "$(pdf_pages "$work/toverify.pdf")" = 1 ] && grep -q "待验收清单" <<<"$txt" &&
          [ "$(grep -Eo "渗水第[0-9]+处" <<<"$txt" | sort -u | tr "\n" " ")" = "渗水第1处 渗水第2处 " ]'

# --- the monthly report -------------------------------------------------------------------------
# Last month 4 civil items, the month before 2; a second city company with one item; this
# month one rework of 东方雨虹 (ids[1] fails its verification: 1 pass, 1 fail = 50%).
for i in 1 2 3 4; do record "1-2-20$i" "$m1" civil minor "上月空鼓$i"; done
for i in 1 2; do record "1-3-30$i" "$m2" civil minor "前月空鼓$i"; done
check "6 civil items found in the two months before" test "$rc" = 0
as clerk1 ticket verify "${ids[1]}" --fail --note 仍渗水
check "a verification fails this month (a rework of 东方雨虹)" test "$rc" = 0
as admin company add 广州城市公司 --kind city --parent "$hq" --format csv
gz=$(csv_col id)
as admin project add --company "$gz" 云栖里 --city 广州 --format csv
p2=$(csv_col id)
as admin building add --project "$p2" A座 --floors 10 --format csv
b2=$(csv_col id)
for u in A-101 A-102; do as admin unit add --building "$b2" "$u"; done
as admin trade assign --project "$p2" --trade waterproofing --contractor "$cw"
id=$(python3 -c 'import uuid; print(uuid.uuid4())')
as admin inspect record --project "$p2" --unit A-101 --round mock1 --date "$today" \
    --inspector 李工 --location 阳台 --category waterproofing --severity major --item-id "$id" \
    --format csv -- 阳台渗水
check "a second city company 广州城市公司: 云栖里, 2 units, one item this month" test "$rc" = 0

as admin stats --month "$month" --format json
stats_json=$out
# sj EXPR: a figure of 'cloop stats --month' (the group, this month).
sj() { python3 -c 'import json, sys; d = json.load(sys.stdin); d = d[0] if isinstance(d, list) else d; print(eval(sys.argv[1]))' "$1" <<<"$stats_json"; }
as admin report monthly --month "$month" --format pdf -o "$work/monthly.pdf"
txt=$(pdf_text "$work/monthly.pdf")
out=$txt
mpages=$(pdf_pages "$work/monthly.pdf")
check "report monthly --format pdf: exit 0, A4 portrait, 3 or more pages" \
    eval '[ "$rc" = 0 ] && [ "${mpages:-0}" -ge 3 ] &&
          pdfinfo "$work/monthly.pdf" | grep -Eq "^Page size: +595\.2[0-9]* x 841\.8[0-9]* pts \(A4\)"'
check "... 月度质量报告 of the group (全部城市公司), every section" \
    eval 'grep -q "月度质量报告 ${month:0:4}年$((10#${month:5:2}))月" <<<"$txt" && grep -q "集团：全部城市公司" <<<"$txt" &&
          grep -q "本月概况" <<<"$txt" && grep -q "近十二个月趋势" <<<"$txt" &&
          grep -q "本月表现最差" <<<"$txt" && grep -q "问题最多的专业" <<<"$txt" && grep -q "各项目交付进度" <<<"$txt"'
check "... tickets opened this month: 40 by hand (36 + 3 + 1), as cloop stats says" \
    eval '[ "$(sj "d[\"tickets_opened\"]")" = 40 ] && [ "$(count "维修：本月新开 40 单，其中已关闭 1、" "$txt")" = 1 ]'
closed=$(sj 'd["tickets_closed"]')
insp=$(sj 'd["units_inspected"]')
check "... this month's trend row: $month, $insp inspected, 40 items, 40 opened, $closed closed" \
    eval '[ "$(count "^ *$month +$insp +40 +40 +$closed +" "$txt")" = 1 ]'
check "... last month's row: 4 items, 4 opened; the month before: 2 and 2" \
    eval '[ "$(count "^ *${m1:0:7} +[0-9]+ +4 +4 +0 +" "$txt")" = 1 ] &&
          [ "$(count "^ *${m2:0:7} +[0-9]+ +2 +2 +0 +" "$txt")" = 1 ]'
check "... 12 month rows in the trend table (months without data show 0)" \
    eval '[ "$(grep -Ec "^ *[0-9]{4}-[0-9]{2} +[0-9]+ +[0-9]+ +[0-9]+ +[0-9]+ +" <<<"$txt")" = 12 ]'
check "... worst contractors: 东方雨虹 (防水) first, rework rate 50.0%" \
    eval 'grep -E "^ *(东方雨虹|中建三局) " <<<"$txt" | head -n 1 | grep -Eq "^ *东方雨虹 +防水 .* 50\.0% "'
check "... top categories: 防水 37 items (36 + 1), first" \
    eval '[ "$(count "^ *防水 +37 +" "$txt")" = 1 ]'
check "... handover progress: 翡翠公园 20 units, 1 accepted, 1 not taken, 5.0%; 云栖里 0.0%" \
    eval '[ "$(count "^ *翡翠公园 +20 +1 +0 +1 +5\.0%$" "$txt")" = 1 ] &&
          [ "$(count "^ *云栖里 +2 +0 +0 +0 +0\.0%$" "$txt")" = 1 ]'
check "... footers 第 N 页 / 共 $mpages 页" \
    eval '[ "$(grep -Eo "第 [0-9]+ 页 / ?共 $mpages 页" <<<"$txt" | sort -u | wc -l)" = "$mpages" ]'

as admin report monthly --company 深圳城市公司 --month "$month" --format pdf -o "$work/monthly_sz.pdf"
txt=$(pdf_text "$work/monthly_sz.pdf")
out=$txt
check "report monthly --company 深圳城市公司: exit 0, that company only (39 opened, no 云栖里)" \
    eval '[ "$rc" = 0 ] && grep -q "城市公司：深圳城市公司" <<<"$txt" &&
          [ "$(count "维修：本月新开 39 单" "$txt")" = 1 ] && ! grep -q "云栖里" <<<"$txt" &&
          [ "$(count "^ *翡翠公园 +20 +1 +0 +1 +5\.0%$" "$txt")" = 1 ]'
as clerk1 report monthly --month "$month" --format pdf -o "$work/monthly_clerk.pdf"
txt=$(pdf_text "$work/monthly_clerk.pdf")
out=$txt
check "a clerk's monthly report is of the clerk's 1 project: 39 opened, no 云栖里" \
    eval '[ "$rc" = 0 ] && grep -q "本人可见的 1 个项目" <<<"$txt" &&
          [ "$(count "维修：本月新开 39 单" "$txt")" = 1 ] && ! grep -q "云栖里" <<<"$txt"'
as clerk1 report monthly --company "$city" --month "$month" --format pdf -o "$work/monthly_clerk2.pdf"
check "... --company by id works for a clerk, who may not list companies" \
    eval '[ "$rc" = 0 ] && pdf_text "$work/monthly_clerk2.pdf" | grep -q "城市公司：编号 $city"'
as clerk1 report monthly --company 深圳城市公司 --month "$month" --format pdf -o "$work/m.pdf"
check "... --company by name: exit 2, asking for the id" \
    eval '[ "$rc" = 2 ] && grep -q "give --company as its id" <<<"$err" && [ ! -e "$work/m.pdf" ]'
as admin report monthly --month "$month" -o "$work/m.pdf"
check "report monthly without --format pdf: usage error, exit 2" test "$rc" = 2
as admin report monthly --month 2026-13 --format pdf -o "$work/m.pdf"
check "report monthly --month 2026-13: usage error, exit 2" test "$rc" = 2
as admin report monthly --company 不存在公司 --month "$month" --format pdf -o "$work/m.pdf"
check "report monthly --company unknown: exit 1, no file" \
    eval '[ "$rc" = 1 ] && [ ! -e "$work/m.pdf" ] && grep -q "unknown --company" <<<"$err"'
as dyh report monthly --month "$month" --format pdf -o "$work/m.pdf"
check "a contractor's user may not read the statistics: refused, exit 3, no file" \
    eval '[ "$rc" = 3 ] && [ ! -e "$work/m.pdf" ]'

if [ -n "${CL_PDF_DIR:-}" ]; then cp "$work"/*.pdf "$CL_PDF_DIR"/; fi
report_and_exit
