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

# record UNIT DATE CATEGORY SEVERITY DESCRIPTION [ROUND]: one item; its id in $id
record() {
    id=$(python3 -c 'import uuid; print(uuid.uuid4())')
    as clerk1 inspect record --project "$p1" --unit "$1" --round "${6:-mock1}" \
        --date "$2" --inspector 王工 --location 卫生间 --category "$3" --severity "$4" \
        --item-id "$id" --format csv -- "$5"
}

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
check "report daily --format pdf into a pipe/file on stdout: exit 0, a PDF" \
    eval '[ "$rc" = 0 ] && [ "$(head -c 5 "$work/piped.pdf")" = "%PDF-" ]'
as admin report daily --project "$p1" --date "$today" --format pdf -o "$work/nodir/daily.pdf"
check "-o into a directory that does not exist: exit 1, saying so" \
    eval '[ "$rc" = 1 ] && grep -q "cannot create" <<<"$err"'

# --- the daily report -------------------------------------------------------------------------
as admin report daily --project "$p1" --date "$today" --format pdf -o "$work/daily.pdf"
txt=$(pdf_text "$work/daily.pdf")
out=$txt
check "report daily --format pdf -o FILE: exit 0, one A4 page" \
    eval '[ "$rc" = 0 ] && [ "$(pdf_pages "$work/daily.pdf")" = 1 ] &&
          pdfinfo "$work/daily.pdf" | grep -Eq "^Page size: +595.(27|28) x 841.(89|9) pts \(A4\)"'
check "... titled 交房日报表, the project 翡翠公园 and the date" \
    eval 'grep -q "交房日报表" <<<"$txt" && grep -q "翡翠公园 ($p1)" <<<"$txt" && grep -q "$today" <<<"$txt"'
check "... units: 验房 inspected 3 (today), 未接房 1, 接房 1" \
    eval '[ "$(count "^ *验房 inspected +3$" "$txt")" = 1 ] &&
          [ "$(count "^ *未接房 not_taken_over +1$" "$txt")" = 1 ] &&
          [ "$(count "^ *接房 accepted +1$" "$txt")" = 1 ]'
check "... the reason 渗水未修 counted 1" eval '[ "$(count "^ *渗水未修 +1$" "$txt")" = 1 ]'
check "... items: 新增问题 raised 3 today; tickets: 关闭 closed 1" \
    eval '[ "$(count "^ *新增问题 raised +3$" "$txt")" = 1 ] && [ "$(count "^ *关闭 closed +1$" "$txt")" = 1 ]'
check "... open tickets by contractor: 东方雨虹 35 open, 中建三局 3" \
    eval '[ "$(count "东方雨虹 +35 +0 +0$" "$txt")" = 1 ] && [ "$(count "中建三局 +3 +0 +0$" "$txt")" = 1 ]'
check "... and the footer 第 1 页 / 共 1 页" eval '[ "$(count "第 1 页 / 共 1 页" "$txt")" = 1 ]'

# --- the morning lists -------------------------------------------------------------------------
as dyh ticket todo --project "$p1" --format pdf -o "$work/todo.pdf"
txt=$(pdf_text "$work/todo.pdf")
out=$txt
pages=$(pdf_pages "$work/todo.pdf")
check "ticket todo --format pdf: exit 0, the 35 open tickets over several landscape pages" \
    eval '[ "$rc" = 0 ] && [ "${pages:-0}" -ge 2 ] &&
          pdfinfo "$work/todo.pdf" | grep -Eq "^Page size: +841.(89|9) x 595.(27|28) pts"'
check "... titled 待维修清单, every ticket once (渗水第N处 × 35, repaired ones not)" \
    eval 'grep -q "待维修清单" <<<"$txt" && [ "$(grep -Eo "渗水第[0-9]+处" <<<"$txt" | sort -u | wc -l)" = 35 ] &&
          [ "$(grep -Eo "渗水第[0-9]+处" <<<"$txt" | wc -l)" = 35 ] && ! grep -q "渗水第0处" <<<"$txt"'
check "... the header row on every page ($pages pages: 问题描述 $pages times)" \
    eval '[ "$(grep -o "问题描述" <<<"$txt" | wc -l)" = "$pages" ]'
check "... footers 第 N 页 / 共 $pages 页 on each page, N = 1..$pages" \
    eval '[ "$(grep -Eo "第 [0-9]+ 页 / 共 $pages 页" <<<"$txt" | sort -u | wc -l)" = "$pages" ]'
check "... the result and signature columns to write in, and the footer note" \
    eval 'grep -q "结果" <<<"$txt" && grep -q "签字" <<<"$txt" && grep -q "当晚录入" <<<"$txt"'
as clerk1 ticket toverify --project "$p1" --format pdf -o "$work/toverify.pdf"
txt=$(pdf_text "$work/toverify.pdf")
out=$txt
check "ticket toverify --format pdf: one page, 待验收清单, the 2 repaired tickets" \
    eval '[ "$rc" = 0 ] && [ "$(pdf_pages "$work/toverify.pdf")" = 1 ] && grep -q "待验收清单" <<<"$txt" &&
          [ "$(grep -Eo "渗水第[0-9]+处" <<<"$txt" | sort -u | tr "\n" " ")" = "渗水第1处 渗水第2处 " ]'

if [ -n "${CL_PDF_DIR:-}" ]; then cp "$work"/*.pdf "$CL_PDF_DIR"/; fi
report_and_exit
