#!/usr/bin/env bash
# demo-data.sh - loads the quickstart's demo organisation through the real client, as an
# HQ administrator would: group HQ and two city companies, project 万科城 (Vanke City) with
# buildings of TA/TB/TC layouts and their units and owners (CSV import), contractors for
# civil works, waterproofing, doors and windows and electrical with their trades assigned
# on the project, the group's demo cases (deploy/demo-cases.csv), and one user per role
# named after it.
#
# usage: deploy/demo-data.sh            (run by deploy/quickstart.sh)
# env:   CLOOP      the cloop binary (default build/bin/cloop)
#        CLOSELOOP_DEMO_PASSWORD   password of admin and of every demo user (required)
#        CLOSELOOP_SERVER, CLOSELOOP_CA   where the daemon is (as for cloop)
# Safe to run again: records that exist already (by name) are reused, not duplicated.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
cloop=${CLOOP:-$repo/build/bin/cloop}
pw=${CLOSELOOP_DEMO_PASSWORD:?set CLOSELOOP_DEMO_PASSWORD}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

say() { echo "demo-data: $*"; }

# id_in LIST-SUBCOMMAND... -- NAME: the id of the row whose name column equals NAME.
id_in() {
    local args=() name
    while [ "$1" != "--" ]; do args+=("$1"); shift; done
    name=$2
    "$cloop" "${args[@]}" --format csv | python3 -c '
import csv, sys
name = sys.argv[1]
rows = list(csv.reader(sys.stdin))
if not rows: sys.exit(0)
head = rows[0]
key = "name" if "name" in head else ("username" if "username" in head else None)
for r in rows[1:]:
    if key and r[head.index(key)] == name:
        print(r[head.index("id")]); break
' "$name"
}

# ensure NAME LIST-ARGS -- ADD-ARGS: prints the id, creating the record if needed.
ensure() {
    local name=$1 list=() add=() id
    shift
    while [ "$1" != "--" ]; do list+=("$1"); shift; done
    shift
    add=("$@")
    id=$(id_in "${list[@]}" -- "$name")
    if [ -z "$id" ]; then
        "$cloop" "${add[@]}" --format csv >/dev/null
        id=$(id_in "${list[@]}" -- "$name")
    fi
    [ -n "$id" ] || { echo "demo-data: could not create $name" >&2; exit 1; }
    echo "$id"
}

CLOSELOOP_PASSWORD=$pw "$cloop" login admin >/dev/null
say "logged in as admin"

hq=$(ensure 集团总部 company list -- company add 集团总部 --kind hq)
c1=$(ensure 深圳城市公司 company list -- company add 深圳城市公司 --kind city --parent "$hq")
c2=$(ensure 上海城市公司 company list -- company add 上海城市公司 --kind city --parent "$hq")
p1=$(ensure 万科城 project list -- project add --company "$c1" 万科城 --city 深圳 --move-in 2027-06-30)
p2=$(ensure 翡翠公园 project list -- project add --company "$c2" 翡翠公园 --city 上海 --move-in 2027-09-30)
say "companies $hq $c1 $c2, projects 万科城=$p1 翡翠公园=$p2"

civil=$(ensure 中建三局 contractor list -- contractor add 中建三局 --trades civil,plumbing)
water=$(ensure 东方雨虹防水 contractor list -- contractor add 东方雨虹防水 --trades waterproofing)
doors=$(ensure 坚朗门窗 contractor list -- contractor add 坚朗门窗 --trades doors_windows)
elec=$(ensure 正泰电气安装 contractor list -- contractor add 正泰电气安装 --trades electrical,low_voltage)
for pair in civil:$civil plumbing:$civil waterproofing:$water doors_windows:$doors \
    electrical:$elec low_voltage:$elec; do
    "$cloop" trade assign --project "$p1" --trade "${pair%%:*}" --contractor "${pair##*:}" \
        --format csv >/dev/null
done
say "contractors and trades assigned on 万科城"

# Units: 4 buildings, 2 entrances, 18 floors, 2 units a floor; layouts TA/TB/TC.
csv=$work/wankecheng-units.csv
surnames=(张 王 李 赵 陈 刘 杨 黄 周 吴)
given=(伟 芳 娜 敏 静 磊 洋 勇 艳 杰)
{
    echo "building,unit,floor,layout,owner_name,owner_phone"
    n=0
    for b in 1 2 3 5; do
        for e in 1 2; do
            for f in $(seq 2 18); do
                for r in 1 2; do
                    case $b in 1 | 2) layout=TA ;; 3) layout=TB ;; *) layout=TC ;; esac
                    owner="${surnames[$((n % 10))]}${given[$(((n / 10) % 10))]}"
                    printf '%s栋,%s-%s-%d%02d,%d,%s,%s,139%08d\n' "$b" "$b" "$e" "$f" "$r" "$f" \
                        "$layout" "$owner" "$((20260000 + n))"
                    n=$((n + 1))
                done
            done
        done
    done
} >"$csv"
"$cloop" unit import --project "$p1" "$csv" >/dev/null
say "imported $(($(wc -l <"$csv") - 1)) units of 万科城"

# The group's case knowledge base (缺陷案例知识库): HQ's cases from the seeds (SJ01, the
# skylight of 万科城's TA layout; the mailbox without a rain canopy) and common new-home
# defects. Loaded before the rounds, so that 万科城's first mock inspection can take the
# matching cases as its check points. Importing again leaves them unchanged.
"$cloop" kb import "$repo/deploy/demo-cases.csv" >/dev/null
say "imported the demo cases of the knowledge base"

# Repair deadlines (days) by severity, and the inspection rounds planned back from the
# move-in date of 2027-06-30 as the group's handover rules ask.
for pair in critical:1 major:3 minor:7; do
    "$cloop" deadline set --project "$p1" --severity "${pair%%:*}" --days "${pair##*:}" \
        --format csv >/dev/null
done
round() { # KIND START END DEPARTMENT
    if ! "$cloop" round list --project "$p1" --format csv | grep -q ",$1,"; then
        "$cloop" round add --project "$p1" --kind "$1" --start "$2" --end "$3" \
            --department "$4" --format csv >/dev/null 2>&1
    fi
}
round mock1 2027-01-05 2027-01-20 项目部
round mock2 2027-04-25 2027-05-20 客户关系部
round mock3 2027-05-25 2027-05-31 物业公司
round handover 2027-06-30 2027-07-15 客户关系部
say "deadline presets and inspection rounds of 万科城"

export CLOSELOOP_NEW_PASSWORD=$pw
user() { # USERNAME ROLE ARGS...
    local u=$1
    shift
    if [ -z "$(id_in user list -- "$u")" ]; then
        "$cloop" user add "$u" --role "$@" --format csv >/dev/null
    fi
}
user analyst hq_analyst --name "集团数据分析"
user cr cr --company "$c1" --name "深圳客关"
user cr2 cr --company "$c2" --name "上海客关"
user clerk clerk --projects "$p1" --name "万科城录入员"
user verifier verifier --projects "$p1" --name "万科城验收组"
user property property --projects "$p1" --name "万科城物业"
user contractor contractor --contractor "$water" --name "东方雨虹维修"
say "users: admin analyst cr cr2 clerk verifier property contractor"
"$cloop" logout >/dev/null || true
