#!/usr/bin/env bash
# test_cli_org.sh - cloop's session and organisation commands end to end: a throwaway
# PostgreSQL cluster, the real closeloopd over TLS, and cloop as each role.
#
# Run by ctest with CL_BIN_DIR (this build's bin/), CL_SOURCE_DIR and CL_TEST_TMP. It
# makes certificates, initdb's a private cluster (as the postgres user when run as root:
# PostgreSQL refuses root), starts closeloopd on a free port, bootstraps the first HQ
# administrator with `closeloopd --bootstrap-admin`, then drives cloop: login, whoami,
# companies, projects, buildings, contractors, users of every role, trade assignment,
# scope checks per role, CSV unit import (twice, and with a bad row) and logout. Each
# user keeps its session under its own XDG_CONFIG_HOME; HOME is a scratch directory, so
# the person's own settings are never used. Prints "ok - ..." or "not ok - ..." per
# check and "N passed, M failed"; exits non-zero on any failure. The daemon and the
# cluster are always stopped and removed on exit.
# The checks are single-quoted strings run by eval: expansion there is deferred on purpose,
# and variables used only there look unused to shellcheck.
# shellcheck disable=SC2016,SC2034
set -u

# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"
setup_scratch cliorg

# --- PostgreSQL, certificates, closeloopd --------------------------------------------
start_server_with_db

# --- sessions ------------------------------------------------------------------------
as admin whoami
check "whoami before login is refused (exit 3) and says to log in" \
    eval '[ "$rc" = 3 ] && grep -qx "cloop: not logged in: run cloop login USER" <<<"$err"'

CLOSELOOP_PASSWORD=wrong-password as admin login admin
check "login with a wrong password is refused (exit 3): wrong username or password" \
    eval '[ "$rc" = 3 ] && grep -qx "cloop: wrong username or password" <<<"$err" &&
          [ ! -e "$work/cfg/admin/closeloop/session" ]'

login admin
check "login admin succeeds" test "$rc" = 0
check "... and prints 'logged in as admin (hq_admin, ...), session valid until ...'" \
    grep -Eq '^logged in as admin \(hq_admin, .*\), session valid until [0-9]{4}-' <<<"$out"
sess=$work/cfg/admin/closeloop/session
check "the token is stored in \$XDG_CONFIG_HOME/closeloop/session, mode 0600" \
    eval '[ "$(stat -c %a "$sess" 2>/dev/null)" = 600 ] && grep -q "^127.0.0.1:$port " "$sess"'
check "... in a directory of mode 0700" test "$(stat -c %a "$work/cfg/admin/closeloop")" = 700

as admin whoami --format csv
check "whoami --format csv shows username admin and role hq_admin" \
    eval '[ "$rc" = 0 ] && grep -qx "username,admin" <<<"$out" && grep -qx "role,hq_admin" <<<"$out"'
as admin whoami --format json
check "whoami --format json is valid JSON naming admin" \
    eval '[ "$rc" = 0 ] && python3 -c "
import json,sys
r={x[\"key\"]: x[\"value\"] for x in json.load(sys.stdin)}
assert r[\"username\"]==\"admin\", r" <<<"$out"'
as admin whoami
check "whoami (table) shows the role" eval '[ "$rc" = 0 ] && grep -Eq "^role +hq_admin$" <<<"$out"'

# --- organisation --------------------------------------------------------------------
as admin company add 集团总部 --kind hq --format csv
hq=$(csv_col id)
check "company add --kind hq prints the new company, id first" \
    eval '[ "$rc" = 0 ] && [ -n "$hq" ] && head -n 1 <<<"$out" | grep -q "^id,"'
as admin company add 深圳城市公司 --kind city --parent "$hq" --format csv
c1=$(csv_col id)
as admin company add 上海城市公司 --parent "$hq" --format csv
c2=$(csv_col id)
check "two city companies are created" eval '[ -n "$c1" ] && [ -n "$c2" ] && [ "$c1" != "$c2" ]'
as admin company add 深圳城市公司 --kind city --parent "$hq"
check "a second company with the same name fails with exit 1 and the server's sentence" \
    eval '[ "$rc" = 1 ] && grep -q "^cloop: " <<<"$err" && [ -z "$out" ]'
as admin company list --format json
check "company list --format json lists the three companies, each name once" \
    eval '[ "$rc" = 0 ] && python3 -c "
import json,sys
r=sorted(x[\"name\"] for x in json.load(sys.stdin))
assert r==sorted([\"集团总部\",\"深圳城市公司\",\"上海城市公司\"]), r" <<<"$out"'

as admin project add --company "$c1" 万科城 --city 深圳 --move-in 2027-06-30 --format csv
p1=$(csv_col id)
check "project add 万科城 under the first city company" \
    eval '[ "$rc" = 0 ] && [ -n "$p1" ] && [ "$(csv_col move_in)" = 2027-06-30 ]'
as admin project add --company "$c2" 翡翠公园 --city 上海 --format csv
p2=$(csv_col id)
check "project add 翡翠公园 under the second" eval '[ "$rc" = 0 ] && [ -n "$p2" ]'
as admin project add --company "$c1" X --move-in 2027-02-30
check "an impossible --move-in date is a usage error (exit 2) naming the option" \
    eval '[ "$rc" = 2 ] && grep -q -- "--move-in" <<<"$err"'

as admin building add --project "$p1" 1栋 --floors 33 --format csv
b1=$(csv_col id)
as admin building add --project "$p1" 2栋 --floors 18 --format csv
check "building add creates buildings of 万科城" eval '[ "$rc" = 0 ] && [ -n "$b1" ]'
as admin building list --project "$p1" --format csv
check "building list shows the two buildings" \
    eval '[ "$rc" = 0 ] && [ "$(data_rows)" = 2 ] && [ -n "$(csv_col id name 2栋)" ]'

as admin unit add --building "$b1" 1-1-0101 --floor 1 --layout TA --owner 张三 --phone 13800000000 \
    --format csv
check "unit add prints the unit with its owner" \
    eval '[ "$rc" = 0 ] && [ "$(csv_col owner_name)" = 张三 ]'

as admin contractor add 东方雨虹防水 --trades waterproofing --format csv
water=$(csv_col id)
as admin contractor add 中建三局 --trades civil,plumbing --format csv
civil=$(csv_col id)
check "contractor add creates two contractors" \
    eval '[ -n "$water" ] && [ -n "$civil" ] && [ "$(csv_col trades)" = "civil,plumbing" ]'
as admin contractor list --format csv
check "contractor list shows both" \
    eval '[ "$rc" = 0 ] && [ "$(data_rows)" = 2 ] && [ "$(csv_col id name 中建三局)" = "$civil" ]'

mkuser() { # USERNAME ROLE-ARGS...
    local u=$1
    shift
    CLOSELOOP_NEW_PASSWORD=$pw as admin user add "$u" --role "$@" --format csv
    check "user add $u --role $1" eval '[ "$rc" = 0 ] && [ "$(csv_col username)" = "$u" ]'
}
mkuser cr cr --company "$c1" --name 深圳客关
mkuser cr2 cr --company "$c2" --name 上海客关
mkuser clerk clerk --projects "$p1" --name 万科城录入员
mkuser contractor contractor --contractor "$water" --name 东方雨虹维修
mkuser analyst hq_analyst --name 集团数据分析
mkuser verifier verifier --projects "$p1"
mkuser property property --projects "$p1"
as admin user list --format csv
check "user list shows admin and the seven users" \
    eval '[ "$rc" = 0 ] && [ "$(data_rows)" = 8 ] && [ "$(csv_col role username analyst)" = hq_analyst ]'
CLOSELOOP_NEW_PASSWORD=$pw as admin user add bad --role boss
check "user add with an unknown role is a usage error (exit 2) naming it" \
    eval '[ "$rc" = 2 ] && grep -q "boss" <<<"$err"'

as admin trade assign --project "$p1" --trade waterproofing --contractor "$water" --format csv
check "trade assign waterproofing to 东方雨虹防水" \
    eval '[ "$rc" = 0 ] && [ "$(csv_col contractor_id)" = "$water" ]'
as admin trade list --project "$p1" --format csv
check "trade list shows the assignment" \
    eval '[ "$(csv_col contractor_id trade waterproofing)" = "$water" ]'

# --- scope per role ------------------------------------------------------------------
as admin project list
check "project list as admin shows 万科城 (table, CJK)" \
    eval '[ "$rc" = 0 ] && grep -q "万科城" <<<"$out"'

login cr2
check "login cr2" test "$rc" = 0
as cr2 project list --format csv
check "project list as cr2 shows only 翡翠公园 (one row), not 万科城" \
    eval '[ "$rc" = 0 ] && [ "$(data_rows)" = 1 ] && [ "$(csv_col id name 翡翠公园)" = "$p2" ] &&
          ! grep -q 万科城 <<<"$out"'
# Out of scope looks exactly like missing: the server answers not found (exit 1), not 3.
as cr2 building add --project 999999 9栋
nf_rc=$rc nf_err=$err
as cr2 building add --project "$p1" 9栋
check "building add as cr2 in 万科城 (outside its company): exit 1, no such project" \
    eval '[ "$rc" = 1 ] && grep -qx "cloop: no such project" <<<"$err" && [ -z "$out" ]'
check "... the very answer a project that does not exist gets" \
    eval '[ "$nf_rc" = 1 ] && [ "$err" = "$nf_err" ]'
as admin building list --project "$p1" --format csv
check "... and 万科城 still has its two buildings (list exit 0, no 9栋)" \
    eval '[ "$rc" = 0 ] && [ "$(data_rows)" = 2 ] && [ "$(grep -c 9栋 <<<"$out")" = 0 ]'
login cr
as cr project list --format csv
check "project list as cr shows 万科城 (one row)" \
    eval '[ "$rc" = 0 ] && [ "$(data_rows)" = 1 ] && [ "$(csv_col id name 万科城)" = "$p1" ]'

login analyst
as analyst project list --format csv
check "project list as analyst shows both projects" \
    eval '[ "$rc" = 0 ] && [ "$(data_rows)" = 2 ] && [ "$(csv_col id name 翡翠公园)" = "$p2" ]'
as analyst project add --company "$c1" 分析师的项目
check "project add as analyst is refused (exit 3): your role may not do this" \
    eval '[ "$rc" = 3 ] && grep -qx "cloop: your role may not do this" <<<"$err" && [ -z "$out" ]'
as admin project list --format csv
check "... and created nothing: the list (exit 0, both projects) has no such project" \
    eval '[ "$rc" = 0 ] && [ "$(data_rows)" = 2 ] && [ "$(csv_col id name 万科城)" = "$p1" ] &&
          [ "$(csv_col id name 翡翠公园)" = "$p2" ] && [ "$(grep -c 分析师的项目 <<<"$out")" = 0 ]'

login contractor
as contractor project list --format csv
check "project list as contractor shows only the assigned project" \
    eval '[ "$rc" = 0 ] && [ "$(data_rows)" = 1 ] && [ "$(csv_col id name 万科城)" = "$p1" ]'
as contractor unit list --project "$p1"
check "unit list as contractor is refused (exit 3): your role may not do this" \
    eval '[ "$rc" = 3 ] && grep -qx "cloop: your role may not do this" <<<"$err" && [ -z "$out" ]'

# --- CSV import ----------------------------------------------------------------------
csv=$work/units.csv
python3 - "$csv" <<'EOF'
import sys
with open(sys.argv[1], "w", encoding="utf-8") as f:
    f.write("\ufeffunit,building,floor,layout,owner_name,owner_phone\n")  # BOM, any order
    for i in range(2000):
        b, r = divmod(i, 200)
        fl = r // 4 + 1
        f.write(f'{b + 3}-1-{fl:02d}{r % 4 + 1:02d},{b + 3}栋,{fl},T{"ABC"[i % 3]},业主{i},139{i:08d}\n')
EOF
login clerk
as clerk unit import --project "$p1" "$csv" --format csv
check "unit import of 2,000 rows as clerk exits 0" test "$rc" = 0
check "... and reports 2000 inserted, 10 buildings created, 0 rejected chunks" \
    eval '[ "$(csv_col inserted)" = 2000 ] && [ "$(csv_col buildings_created)" = 10 ] &&
          [ "$(csv_col rejected_chunks)" = 0 ] && [ "$(csv_col chunks)" = 4 ]'
as clerk unit import --project "$p1" "$csv" --chunk 300 --format csv
check "importing the same file again reports all 2000 unchanged" \
    eval '[ "$rc" = 0 ] && [ "$(csv_col unchanged)" = 2000 ] && [ "$(csv_col inserted)" = 0 ] &&
          [ "$(csv_col updated)" = 0 ]'
as admin unit list --project "$p1" --format csv
check "unit list --format csv then has exactly 2,000 imported units (+1 added by hand)" \
    eval '[ "$rc" = 0 ] && [ "$(data_rows)" = 2001 ] &&
          [ "$(printf "%s\n" "$out" | sed 1d | cut -d, -f1 | sort -u | wc -l)" = 2001 ]'
as clerk unit list --project "$p1" --building "$b1" --format csv
check "unit list --building shows only that building's unit" \
    eval '[ "$rc" = 0 ] && [ "$(data_rows)" = 1 ] && grep -q "1-1-0101" <<<"$out"'

bad=$work/bad-units.csv
{
    echo "building,unit,floor"
    for i in $(seq 2 40); do
        if [ "$i" = 17 ]; then echo "9栋,9-1-$i,abc"; else echo "9栋,9-1-$i,$i"; fi
    done
} >"$bad"
as clerk unit import --project "$p1" "$bad" --chunk 10
check "a CSV with floor 'abc' on line 17 exits 1" test "$rc" = 1
check "... and reports FILE:17: with the floor error" grep -q "^$bad:17: floor 'abc'" <<<"$err"
check "... and says which chunk was rejected" grep -q "lines 12-21 .*rejected" <<<"$err"
as admin unit list --project "$p1" --format csv
check "... and the other chunks were imported (29 more units), not 9-1-17" \
    eval '[ "$rc" = 0 ] && [ "$(data_rows)" = 2030 ] && [ "$(grep -Ec ",9-1-[0-9]{1,2}," <<<"$out")" = 29 ] &&
          [ "$(grep -c ",9-1-17," <<<"$out")" = 0 ]'

printf 'building,unit,floor\n8栋,8-1-1,1\n8栋,8-1-2,1\n8栋,8-1-3,1\n8栋,8-1-2,2\n' >"$work/rep.csv"
as clerk unit import --project "$p1" "$work/rep.csv"
check "a unit written twice (lines 3 and 5) is refused on line 5, naming line 3" \
    eval '[ "$rc" = 1 ] && [ "$(grep -c "8-1-2 of building 8栋 is already on line 3" <<<"$err")" = 1 ]'
as admin unit list --project "$p1" --format csv
check "... and nothing of that chunk was imported" \
    eval '[ "$rc" = 0 ] && [ "$(data_rows)" = 2030 ] && [ "$(grep -Ec ",8-1-[123]," <<<"$out")" = 0 ]'

printf 'building,unit,floor,colour\n1,1,1,red\n' >"$work/cols.csv"
as clerk unit import --project "$p1" "$work/cols.csv"
check "an unknown column is an error naming it" \
    eval '[ "$rc" = 1 ] && grep -q "unknown column .colour." <<<"$err"'

# --- help and usage ------------------------------------------------------------------
as admin company add --help
check "company add --help exits 0" eval '[ "$rc" = 0 ] && grep -q "^usage: cloop company add" <<<"$out"'
as admin unit import --help
check "unit import --help describes the columns" \
    eval '[ "$rc" = 0 ] && grep -q owner_id_number <<<"$out"'
as admin project add 万科城
check "project add without --company exits 2 naming it" \
    eval '[ "$rc" = 2 ] && grep -q -- "--company is required" <<<"$err"'

# --- stale sessions and logout -------------------------------------------------------
mkdir -p "$work/cfg/stale/closeloop"
printf '127.0.0.1:%s not-a-real-token\n' "$port" >"$work/cfg/stale/closeloop/session"
as stale whoami
check "a stale token is refused (exit 3), 'expired', and the token is deleted" \
    eval '[ "$rc" = 3 ] && grep -q "^cloop: your session on 127.0.0.1:$port has expired" <<<"$err" &&
          [ -f "$work/cfg/stale/closeloop/session" ] &&
          [ "$(grep -c not-a-real-token "$work/cfg/stale/closeloop/session")" = 0 ]'
as stale whoami
check "... so the next command is told it is not logged in (exit 3)" \
    eval '[ "$rc" = 3 ] && grep -qx "cloop: not logged in: run cloop login USER" <<<"$err"'

as admin logout
check "logout exits 0" eval '[ "$rc" = 0 ] && grep -qx "logged out of 127.0.0.1:$port" <<<"$out"'
check "... and removes the token" \
    eval '[ -f "$sess" ] && [ "$(grep -c "^127.0.0.1:$port " "$sess")" = 0 ]'
as admin whoami
check "whoami after logout is refused (exit 3) and says to log in" \
    eval '[ "$rc" = 3 ] && grep -qx "cloop: not logged in: run cloop login USER" <<<"$err"'

# --- shutdown ------------------------------------------------------------------------
stop_daemon "$dpid"
check "closeloopd exits 0 on SIGTERM" test "$?" = 0

report_and_exit
