#!/usr/bin/env bash
# test_kb_review.sh - two faults found reviewing issue 9, each played through cloop against
# a throwaway PostgreSQL and the real closeloopd:
#
#   1. a kb import the database refuses is answered with an error, and the daemon lives
#      on: import_done (server/kb/kb.c) read the request after a failed batch had freed
#      it. The refusal is injected: a trigger the test adds refuses case LONG01 (the
#      natural one the review found, a 2,100-digit word longer than a tsvector lexeme
#      may be, is accepted since 015 leaves such words out of the search vector); and
#      that case with its 2,100 digits is then imported once the trigger is gone;
#   2. a check point recorded as passed while an item records it found at the same moment
#      stays found: lesson_checkpoint_pass locks the check point and reads its status as
#      it is now, so the pass waiting behind the found is refused (exit 1), not written
#      over it (a lesson found again must never turn into "looked at, not found");
#   3. recurring-defect proposals of a round where inspectors wrote 2,000 different
#      descriptions of one trade in one layout (free text: the usual case) answer, and
#      still join the four wordings of the skylight leak into one proposal of 8 units:
#      cl_defect_clusters compared every pair of wordings (2,000: 2 million comparisons,
#      longer than the daemon's statement timeout of 5 s); it now compares only the pairs
#      that share one of their rarest lexemes and can reach the similarity threshold.
#
# Run by ctest with CL_BIN_DIR, CL_SOURCE_DIR and CL_TEST_TMP; lib.sh does the setup.
# shellcheck disable=SC2016,SC2034
set -u

# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"
setup_scratch kbreview

start_server_with_db
setup_project 观澜府
P=$p
db() { psql -X -q -At -h "$d" -U postgres -d closeloop "$@"; }

# --- 1. a kb import the database refuses --------------------------------------------------
python3 - "$work/long.csv" <<'PY'
import sys
with open(sys.argv[1], "w", encoding="utf-8") as f:
    f.write("code,title,kind,specialty,description\n")
    f.write("LONG01,长编号,product,engineering," + "1" * 2100 + "\n")
PY
db -v ON_ERROR_STOP=1 -c "CREATE FUNCTION test_refuse_case() RETURNS trigger LANGUAGE plpgsql AS \$\$
    BEGIN RAISE EXCEPTION 'test: the database refuses case %', NEW.code; END \$\$;
  CREATE TRIGGER test_refuse BEFORE INSERT ON kb_cases FOR EACH ROW
    WHEN (NEW.code = 'LONG01') EXECUTE FUNCTION test_refuse_case();" >/dev/null
check "a trigger refusing case LONG01 is in place" test "$?" = 0
as admin kb import "$work/long.csv" --format csv
check "kb import of a case the database refuses answers an error (exit 1 or 4, got $rc)" \
    eval '[ "$rc" = 1 ] || [ "$rc" = 4 ]'
check "... and says why (the database's sentence)" \
    eval 'grep -q "the database refuses case LONG01" <<<"$err"'
as admin whoami
check "closeloopd still answers after it (whoami exits 0)" test "$rc" = 0
check "closeloopd is still running" kill -0 "$dpid"
as admin kb show LONG01
check "nothing was imported: kb show LONG01 is not found (exit 1)" test "$rc" = 1
db -c "DROP TRIGGER test_refuse ON kb_cases" >/dev/null
as admin kb import "$work/long.csv" --format csv
check "without the trigger, the case with a 2,100-digit word is imported (015)" \
    eval '[ "$rc" = 0 ] && [ "$(csv_col inserted)" = 1 ]'

# --- 2. pass and found of one check point at the same moment ------------------------------
printf 'building,unit,floor,layout\n1栋,1-0101,1,TA\n' >"$work/units.csv"
as admin unit import --project "$P" "$work/units.csv" --format csv
check "one TA unit" eval '[ "$rc" = 0 ] && [ "$(csv_col inserted)" = 1 ]'
printf 'code,title,kind,specialty,category,layouts\nKBR01,天窗渗水,product,engineering,waterproofing,TA\n' \
    >"$work/case.csv"
as admin kb import "$work/case.csv" --format csv
check "case KBR01 imported" eval '[ "$rc" = 0 ] && [ "$(csv_col inserted)" = 1 ]'
as admin round add --project "$P" --kind mock1 --format csv
check "round mock1 planned" test "$rc" = 0
as admin kb checklist --project "$P" --format csv
check "KBR01 is a pending check point of mock1" \
    eval '[ "$rc" = 0 ] && [ "$(csv_col status case_code KBR01)" = pending ]'

# Someone records it found (as insp_item_record does) and commits 3 s later; the pass
# comes in meanwhile and has to wait for the check point's row.
admin_id=$(db -c "select id from users where username = 'admin'")
db -c "set closeloop.actor = '{\"user_id\": $admin_id, \"username\": \"admin\"}'" \
    -c "begin" \
    -c "update round_checkpoints set status = 'found', recorded_by = $admin_id,
               recorded_at = now() where project_id = $P" \
    -c "select pg_sleep(3)" -c "commit" >"$work/found.out" 2>&1 &
found_pid=$!
sleep 1
as admin kb checklist --project "$P" --pass KBR01 --note 看过了
pass_rc=$rc pass_err=$err
wait "$found_pid"
check "the concurrent found committed" eval '[ "$?" = 0 ] && ! grep -q ERROR "$work/found.out"'
rc=$pass_rc err=$pass_err
check "the pass that waited behind the found is refused as a conflict (exit 1, got $rc)" \
    test "$rc" = 1
check "... saying it stays found" eval 'grep -q "stays found" <<<"$err"'
as admin kb checklist --project "$P" --format csv
check "the check point is still found, not passed" \
    eval '[ "$rc" = 0 ] && [ "$(csv_col status case_code KBR01)" = found ]'

# --- 3. proposals over thousands of distinct wordings -------------------------------------
python3 - "$work" "$P" <<'PY'
import random, sys
w, p = sys.argv[1], sys.argv[2]
random.seed(9)
pool = "".join(sorted(set("墙面空鼓开裂地面起砂门窗变形厨房吊顶脱落阳台栏杆松动外墙瓷砖电箱插座"
                          "无电油漆污染踢脚线缝隙不均匀管道堵塞玻璃划伤五金件锈蚀门框歪斜抹灰层")))
units = ["3-%02d%02d" % (i // 4 + 1, i % 4 + 1) for i in range(40)]
with open(f"{w}/units3.csv", "w", encoding="utf-8") as f:
    f.write("building,unit,floor,layout\n")
    for i, u in enumerate(units):
        f.write(f"3栋,{u},{i // 4 + 1},TC\n")
words = ["天窗渗水", "屋面天窗渗水", "天窗渗水，需处理", "天窗四周渗水"]
seen = set()
with open(f"{w}/items3.csv", "w", encoding="utf-8") as f:
    f.write("project,unit,round,inspected_on,inspector,location,category,description,severity\n")
    for i in range(8):
        f.write(f"{p},{units[i]},mock1,2026-11-20,王工,屋面,waterproofing,{words[i % 4]},major\n")
    n = 0
    while n < 2000:
        d = "".join(random.choice(pool) for _ in range(random.randint(6, 12)))
        if d in seen:
            continue
        seen.add(d)
        f.write(f"{p},{units[n % 40]},mock1,2026-11-21,李工,客厅,civil,{d},minor\n")
        n += 1
PY
as admin unit import --project "$P" "$work/units3.csv" --format csv
check "40 TC units" eval '[ "$rc" = 0 ] && [ "$(csv_col inserted)" = 40 ]'
as admin inspect import "$work/items3.csv" --format csv
check "2,008 items imported (2,000 distinct civil wordings)" \
    eval '[ "$rc" = 0 ] && [ "$(csv_col inserted)" = 2008 ]'
as admin defect proposals --project "$P" --format csv
check "defect proposals answers over 2,000 distinct wordings (exit 0, got $rc)" test "$rc" = 0
check "... with the skylight leak of TC as one proposal: 8 units, 8 items" \
    eval '[ "$(csv_col units category waterproofing)" = 8 ] &&
          [ "$(csv_col items category waterproofing)" = 8 ]'
seed=$(csv_col seed category waterproofing)
as admin defect from-items --project "$P" --title 天窗渗水 --source mock_inspection \
    --kind product --specialty design --proposal "$seed" --format csv
check "defect from-items --proposal recomputes the cluster and links its 8 items" \
    eval '[ "$rc" = 0 ] && [ "$(csv_col items)" = 8 ] && [ "$(csv_col impact_units)" = 8 ]'

report_and_exit
