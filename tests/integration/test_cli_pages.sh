#!/usr/bin/env bash
# test_cli_pages.sh - a streamed list split into pages at the frame budget, end to end
# (server/engine/handler.c, cl_call_stream): closeloopd runs with server.max_frame = 4096
# (CLOSELOOP_SERVER_MAX_FRAME), a project gets 480 units whose owner names alone make
# about 86 KiB, and `cloop unit list` must bring every unit back exactly once (count,
# ids, numbers, owner names) with exit 0. The server refuses to send a reply larger than
# max_frame (it answers "the reply is larger than max_frame" instead), so a complete list
# of that size proves it came as at least 22 pages that each fitted in one frame.
#
# Run by ctest with CL_BIN_DIR, CL_SOURCE_DIR and CL_TEST_TMP, like test_cli_org.sh: a
# throwaway PostgreSQL cluster, the real closeloopd over TLS, cloop as the admin. Prints
# "ok - ..." or "not ok - ..." per check and "N passed, M failed"; exits non-zero on any
# failure. The daemon and the cluster are always stopped and removed on exit.
# The checks are single-quoted strings run by eval: expansion there is deferred on purpose,
# and variables used only there look unused to shellcheck.
# shellcheck disable=SC2016,SC2034
set -u

# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"
setup_scratch clipages

max_frame=4096
nunits=480
export CLOSELOOP_SERVER_MAX_FRAME=$max_frame # read by closeloopd only
start_server_with_db

as admin info --format csv
check "closeloopd runs with max_frame $max_frame" \
    eval '[ "$rc" = 0 ] && grep -qx "max_frame,$max_frame" <<<"$out"'
setup_project 万科城

# 480 units in 4 buildings; each owner name is the row number and 60 Chinese characters
# (184 bytes), so every record is told apart by its name as well as its number.
python3 - "$work" "$nunits" <<'PY'
import sys
w, n = sys.argv[1], int(sys.argv[2])
pad = "业主姓名很长的测试数据用于分页" * 4  # 60 characters
with open(f"{w}/units.csv", "w", encoding="utf-8") as f, open(f"{w}/want.txt", "w") as e:
    f.write("building,unit,floor,owner_name,owner_phone\n")
    for i in range(n):
        b, r = divmod(i, 120)
        u = f"{b + 1}-1-{r // 4 + 1:02d}{r % 4 + 1:02d}"
        name = f"{i:04d}" + pad
        f.write(f"{b + 1}栋,{u},{r // 4 + 1},{name},139{i:08d}\n")
        e.write(f"{u},{name}\n")
PY
as admin unit import --project "$p" "$work/units.csv" --chunk 10 --format csv
check "unit import of $nunits units in chunks of 10 (each request under the frame limit)" \
    eval '[ "$rc" = 0 ] && [ "$(csv_col inserted)" = "$nunits" ] && [ "$(csv_col rejected_chunks)" = 0 ]'
as admin unit import --project "$p" "$work/units.csv" --chunk 100 --format csv
check "a chunk of 100 (about 20 KiB) is larger than the server takes: sent in parts (issue 8), all unchanged" \
    eval '[ "$rc" = 0 ] && [ "$(csv_col inserted)" = 0 ] && [ "$(csv_col unchanged)" = "$nunits" ] &&
          [ "$(csv_col rejected_chunks)" = 0 ] && [ -z "$err" ]'

# --- the list --------------------------------------------------------------------------
as admin unit list --project "$p" --format csv
list=$out
check "unit list --format csv exits 0" eval '[ "$rc" = 0 ] && [ -z "$err" ]'
check "... with $nunits rows" eval '[ "$(data_rows <<<"$list")" = "$nunits" ]'
check "... each id exactly once" \
    eval '[ "$(printf "%s\n" "$list" | sed 1d | cut -d, -f1 | LC_ALL=C sort -u | wc -l)" = "$nunits" ]'
got=$(python3 -c '
import csv, sys
for r in csv.DictReader(sys.stdin): print(r["number"] + "," + r["owner_name"])' <<<"$list" |
    LC_ALL=C sort)
check "... every unit's number and owner name exactly as imported (none lost, none twice)" \
    eval '[ "$got" = "$(LC_ALL=C sort "$work/want.txt")" ]'
names_bytes=$(cut -d, -f2 "$work/want.txt" | tr -d '\n' | wc -c)
min_pages=$((names_bytes / max_frame + 1))
check "... so the list came as at least $min_pages pages of at most $max_frame bytes ($names_bytes bytes of names)" \
    eval '[ "$names_bytes" -gt $((20 * max_frame)) ] &&
          [ "$(grep -c "larger than max_frame" "$work/daemon.log")" = 0 ]'

as admin unit list --project "$p" --format json
check "unit list --format json: the same $nunits ids" \
    eval '[ "$rc" = 0 ] && [ "$(python3 -c "import json,sys; print(*sorted(str(r[\"id\"]) for r in json.load(sys.stdin)))" <<<"$out")" = \
          "$(printf "%s\n" "$list" | sed 1d | cut -d, -f1 | LC_ALL=C sort | tr "\n" " " | sed "s/ $//")" ]'
as admin building list --project "$p" --format csv
b3=$(csv_col id name 3栋)
check "building list: the import made 4 buildings" eval '[ "$rc" = 0 ] && [ "$(data_rows)" = 4 ]'
as admin unit list --project "$p" --building "$b3" --format csv
check "unit list --building (3栋): its 120 units, all of that building" \
    eval '[ -n "$b3" ] && [ "$rc" = 0 ] && [ "$(data_rows)" = 120 ] &&
          [ "$(printf "%s\n" "$out" | sed 1d | grep -c ",3栋,3-1-")" = 120 ]'

# --- shutdown ------------------------------------------------------------------------
stop_daemon "$dpid"
check "closeloopd exits 0 on SIGTERM" test "$?" = 0

report_and_exit
