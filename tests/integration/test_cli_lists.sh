#!/usr/bin/env bash
# test_cli_lists.sh - the morning lists past one page: 1,203 open tickets for one
# contractor come back as one to-repair list, every ticket exactly once and oldest first,
# although the daemon reads and sends them 500 at a time by keyset; 640 of them reported
# repaired in one evening file (the pipelined runner) make a to-verify list of exactly
# those 640. Run by ctest like the other cloop tests (lib.sh).
# shellcheck disable=SC2016,SC2034
set -u

# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"
setup_scratch clilists
start_server_with_db

setup_project 翡翠公园 2027-06-30
as admin building add --project "$p" 1栋 --floors 30 --format csv
for u in 1-1-101 1-1-102 1-1-201; do as admin unit add --building 1 "$u"; done
as admin contractor add 东方雨虹 --trades waterproofing --format csv
cw=$(csv_col id)
as admin trade assign --project "$p" --trade waterproofing --contractor "$cw"
add_user clerk1 clerk --projects "$p"
add_user ver1 verifier --projects "$p"
check "the organisation is set up" test "$rc" = 0

n=1203
{
    echo "project,unit,round,inspected_on,inspector,location,category,description,severity"
    for i in $(seq 1 "$n"); do
        u=$(sed -n "$((i % 3 + 1))p" <<<$'1-1-101\n1-1-102\n1-1-201')
        echo "$p,$u,mock1,2026-11-21,王工,卫生间,waterproofing,渗水 第$i处,minor"
    done
} >"$work/day.csv"
as clerk1 inspect import "$work/day.csv"
check "inspect import of $n items exits 0" test "$rc" = 0

as clerk1 ticket todo --contractor "$cw" --format csv
check "the to-repair list of $n tickets exits 0" test "$rc" = 0
todo=$out
rows=$(printf '%s\n' "$todo" | sed '1d' | grep -c .)
check "... has $n rows (3 pages of 500 at most)" test "$rows" = "$n"
numcol=$(head -n 1 <<<"$todo" | tr ',' '\n' | grep -nx number | cut -d: -f1)
nums=$(printf '%s\n' "$todo" | sed '1d' | cut -d, -f"$numcol")
check "... every ticket exactly once" test "$(sort -n <<<"$nums" | uniq | grep -c .)" = "$n"
check "... oldest first: numbers 1..$n in order" test "$nums" = "$(seq 1 "$n")"

seq 1 640 >"$work/evening.txt"
as clerk1 ticket repaired --project "$p" --from-file "$work/evening.txt" --note 已修复
check "640 tickets reported repaired from one file, exit 0" test "$rc" = 0
as ver1 ticket toverify --project "$p" --format csv
check "the to-verify list exits 0" test "$rc" = 0
vnums=$(printf '%s\n' "$out" | sed '1d' | cut -d, -f"$numcol")
check "... holds exactly tickets 1..640, in order" test "$vnums" = "$(seq 1 640)"
as clerk1 ticket todo --contractor "$cw" --format csv
check "... and the to-repair list the other $((n - 640))" \
    test "$(printf '%s\n' "$out" | sed '1d' | cut -d, -f"$numcol")" = "$(seq 641 "$n")"
report_and_exit
