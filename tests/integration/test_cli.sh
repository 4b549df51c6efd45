#!/usr/bin/env bash
# test_cli.sh - the cloop command end to end against a real closeloopd over TLS.
#
# Run by ctest with CL_BIN_DIR (this build's bin/), CL_SOURCE_DIR and CL_TEST_TMP. It makes
# fresh certificates, starts closeloopd on a free port on 127.0.0.1 (and a second one on
# 127.0.0.2, an address the server certificate does not name), then checks cloop's output,
# exit codes, certificate verification and settings precedence. Prints "ok - ..." or
# "not ok - ..." per check and "N passed, M failed" at the end; exits non-zero on any
# failure. The daemons are always killed on exit; a clean SIGTERM exit is itself a check.
# The checks are single-quoted strings run by eval: expansion there is deferred on purpose.
# shellcheck disable=SC2016
set -u

# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"
setup_scratch cli
diag_lines= # show all of what cloop said on a failure

# Runs cloop, leaving stdout in $out, stderr in $err and the exit status in $rc.
run() {
    out=$("$CLOOP" "$@" 2>"$work/stderr")
    rc=$?
    err=$(cat "$work/stderr")
    # A sanitizer report (leak, overflow, UB) fails the run whatever the exit status says.
    if grep -q 'Sanitizer' <<<"$err"; then
        not_ok "cloop $* runs clean under the sanitizers"
    fi
}

certs=$work/certs
other=$work/other-certs
if ! gen_certs "$certs" || ! gen_certs "$other"; then
    echo "not ok - generate certificates with deploy/gen-certs.sh"
    echo "0 passed, 1 failed"
    exit 1
fi

port=$(free_port)
if ! start_daemon 127.0.0.1 "$port" "$work/daemon.log"; then
    echo "not ok - closeloopd starts and logs event=listening"
    echo "0 passed, 1 failed"
    exit 1
fi
main_pid=$dpid
ok "closeloopd starts and logs event=listening (port $port)"
S=(--server "127.0.0.1:$port" --ca "$certs/ca.crt")

# --- ping -------------------------------------------------------------------------------
run ping "${S[@]}"
check "cloop ping succeeds (global options after the command)" \
    test "$rc" = 0
check "cloop ping prints 'pong from HOST:PORT: time=... ms tls=TLSv1.3'" \
    grep -Eq "^pong from 127\.0\.0\.1:$port: time=[0-9]+\.[0-9]{3} ms tls=TLSv1\.3$" <<<"$out"

run "${S[@]}" ping -n 200 -c 4 --format json
json_count() { # prints count and errors from cloop's JSON summary
    python3 -c 'import json, sys; r = json.load(sys.stdin); assert len(r) == 1; print(r[0]["count"], r[0]["errors"])' <<<"$out" 2>/dev/null
}
check "cloop ping -n 200 -c 4 --format json exits 0" test "$rc" = 0
check "its JSON says count 200, errors 0" test "$(json_count)" = "200 0"

run "${S[@]}" ping -n 500 -c 2 --depth 8 --size 1000 --format csv
check "cloop ping --depth 8 --size 1000 --format csv: 500 requests, no errors" \
    awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i } NR == 2 { ok = $col["count"] == 500 && $col["errors"] == 0 } END { exit !(ok && NR == 2) }' <<<"$out"

run "${S[@]}" ping -n 3
check "cloop ping -n 3 prints a table summary" grep -Eq '^requests +3$' <<<"$out"

run "${S[@]}" ping --size 12582900 # fits the default 12 MiB frame, not the echo's slack
check "an oversized ping fails with exit 1 and the server's reason" \
    eval '[ "$rc" = 1 ] && grep -q "larger than" <<<"$err"'

# --- info -------------------------------------------------------------------------------
run "${S[@]}" info --format csv
check "cloop info --format csv exits 0" test "$rc" = 0
check "cloop info --format csv has the row tls_version,TLSv1.3" \
    grep -qx 'tls_version,TLSv1\.3' <<<"${out//$'\r'/}"
check "cloop info without a client certificate reports an empty subject" \
    grep -qx 'client_cert_subject,' <<<"$out"

run "${S[@]}" --cert "$certs/client.crt" --key "$certs/client.key" info --format json
check "cloop info --cert/--key reports the client certificate subject" \
    eval '[ "$rc" = 0 ] && grep -q "CN=desktop-1" <<<"$out"'

run "${S[@]}" info
check "cloop info (table) shows the server version" grep -Eq '^version +[0-9]' <<<"$out"

# --- verification -----------------------------------------------------------------------
run --server "127.0.0.1:$port" --ca "$other/ca.crt" ping
check "a wrong CA: the server cannot be reached safely, exit 4" test "$rc" = 4
check "... and the error mentions verification" grep -qi 'verif' <<<"$err"

run --server "localhost:$port" --ca "$certs/ca.crt" ping
check "--server localhost works (name in the certificate)" test "$rc" = 0

port2=$(free_port)
if start_daemon 127.0.0.2 "$port2" "$work/daemon2.log"; then
    second_pid=$dpid
    run --server "127.0.0.2:$port2" --ca "$certs/ca.crt" ping
    check "--server 127.0.0.2 (an address not in the certificate) fails with exit 4" \
        test "$rc" = 4
    check "... and the error mentions verification" grep -qi 'verif' <<<"$err"
    stop_daemon "$second_pid"
    check "the second closeloopd exits 0 on SIGTERM" test "$?" = 0
else
    echo "ok - # SKIP cannot listen on 127.0.0.2 for the host name mismatch check"
fi

closed=$(free_port)
run --server "127.0.0.1:$closed" --ca "$certs/ca.crt" ping
check "a closed port fails with exit 4 and 'Connection refused'" \
    eval '[ "$rc" = 4 ] && grep -q "cannot connect to 127.0.0.1:$closed: Connection refused" <<<"$err"'
run --server "127.0.0.1:$closed" --ca "$certs/ca.crt" info
check "... for info too (exit 4)" \
    eval '[ "$rc" = 4 ] && grep -q "cannot connect to 127.0.0.1:$closed" <<<"$err"'
CLOSELOOP_PASSWORD=x run --server "127.0.0.1:$closed" --ca "$certs/ca.crt" login someone
check "... and for login (exit 4), which stores nothing" \
    eval '[ "$rc" = 4 ] && grep -q "cannot connect to 127.0.0.1:$closed" <<<"$err" &&
          [ ! -e "$HOME/.config/closeloop/session" ]'
run --server "127.0.0.1:$port" --ca "$work/no-such-ca.crt" ping
check "an unreadable CA file is a configuration error (exit 2)" \
    eval '[ "$rc" = 2 ] && grep -q "no-such-ca.crt" <<<"$err"'

CLOSELOOP_PASSWORD=x run "${S[@]}" login admin
check "login on a daemon without a database: the server cannot answer (exit 4)" \
    eval '[ "$rc" = 4 ] && grep -qx "cloop: this server has no database configured" <<<"$err"'

# --- refusals: no session ---------------------------------------------------------------
run "${S[@]}" whoami
check "whoami without a session is refused (exit 3) and says to log in" \
    eval '[ "$rc" = 3 ] && grep -qx "cloop: not logged in: run cloop login USER" <<<"$err"'
run "${S[@]}" ticket todo --format csv
check "... so is a list (exit 3), which prints nothing" \
    eval '[ "$rc" = 3 ] && grep -qx "cloop: not logged in: run cloop login USER" <<<"$err" &&
          [ -z "$out" ]'
mkdir -p "$HOME/.config/closeloop"
printf '127.0.0.1:%s stale-token\n' "$closed" >"$HOME/.config/closeloop/session"
run --server "127.0.0.1:$closed" --ca "$certs/ca.crt" logout
check "logout with the server down deletes the token, and exits 4 saying so" \
    eval '[ "$rc" = 4 ] && grep -q "the token was deleted here" <<<"$err" &&
          [ "$(grep -c stale-token "$HOME/.config/closeloop/session")" = 0 ]'
rm -f "$HOME/.config/closeloop/session"

# --- usage ------------------------------------------------------------------------------
run --help
check "cloop --help exits 0 and shows usage" eval '[ "$rc" = 0 ] && grep -q "^usage: cloop" <<<"$out"'
check "... and documents the exit statuses 0 to 4" \
    eval 'n=0; for c in 0 1 2 3 4; do grep -Eq "^  $c  [a-z]" <<<"$out" && n=$((n + 1)); done
          [ "$n" = 5 ] && grep -Eq "^  3  refused" <<<"$out" && grep -Eq "^  4  the server could not be reached" <<<"$out"'
run ping --help
check "cloop ping --help exits 0" eval '[ "$rc" = 0 ] && grep -q "^usage: cloop ping" <<<"$out"'
run info -h
check "cloop info -h exits 0" test "$rc" = 0
run help ping
check "cloop help ping exits 0" eval '[ "$rc" = 0 ] && grep -q "^usage: cloop ping" <<<"$out"'
run --version
check "cloop --version exits 0" eval '[ "$rc" = 0 ] && grep -q "^cloop [0-9]" <<<"$out"'
run frobnicate
check "an unknown command exits 2" eval '[ "$rc" = 2 ] && grep -q "unknown command" <<<"$err"'
run
check "no command exits 2" test "$rc" = 2
run "${S[@]}" ping --bogus
check "an unknown ping option exits 2" test "$rc" = 2
run "${S[@]}" ping -n zero
check "a bad -n exits 2" test "$rc" = 2
run "${S[@]}" --format xml info
check "an unknown --format exits 2" test "$rc" = 2
run --server "127.0.0.1:$port" ping
check "no CA anywhere exits 2 and points at --ca and quickstart" \
    eval '[ "$rc" = 2 ] && grep -q -- "--ca" <<<"$err" && grep -q "quickstart" <<<"$err"'

# --- accepted values and limits come from the registry (common/domain.h) ---------------
# Every help text is printed with its {placeholders} filled in: none may be left over.
helps=0
left=""
for cmd in $("$CLOOP" --help | sed -n 's/^  \([a-z]*\)  .*/\1/p'); do
    run "$cmd" --help
    helps=$((helps + 1))
    { [ "$rc" = 0 ] && ! grep -q '[{}]' <<<"$out"; } || left="$left $cmd"
    for verb in $(sed -n "s/^  cloop $cmd \([a-z]*\).*/\1/p" <<<"$out"); do
        run "$cmd" "$verb" --help
        helps=$((helps + 1))
        { [ "$rc" = 0 ] && ! grep -q '[{}]' <<<"$out"; } || left="$left $cmd/$verb"
    done
done
check "all 126 command and verb helps exit 0 with every placeholder filled in" \
    eval '[ "$helps" = 126 ] && [ -z "$left" ]'
run user add --help
check "user add --help lists the 10 roles, one a line, in the registry's order" \
    eval '[ "$(grep -E "^  [a-z_]+ +[A-Za-z]" <<<"$out" | awk "{print \$1}" | paste -sd,)" = \
           "hq_admin,hq_analyst,cr,clerk,contractor,verifier,property,dept,hotline,warranty" ]'
run round add --help
check "round add --help groups the 9 round kinds by meaning" \
    eval 'grep -qx "  mock1, mock2, mock3   internal mock inspections before move-in" <<<"$out" &&
          grep -qx "  check3m, check11m, check23m, check35m  checks after handover" <<<"$out" &&
          grep -qx "  warranty              owners'"'"' warranty reports (cloop warranty add makes it)" <<<"$out"'
run inspect handover --help
check "inspect handover's synopsis lists outcomes, signoffs and the satisfaction range" \
    eval 'grep -qF -- "--outcome accepted|accepted_with_items|not_taken_over [" <<<"$out" &&
          grep -qF -- "[--signoff signed|refused]" <<<"$out" &&
          grep -qF -- "[--satisfaction 0-100]" <<<"$out"'
run company add X --kind castle
check "an unknown --kind: exit 2, listing hq, city, project" \
    eval '[ "$rc" = 2 ] && [ "$err" = "cloop: company add: unknown --kind '"'castle'"': use hq, city, project" ]'
run user add bob --role king
check "an unknown --role: exit 2, listing the 10 roles" \
    eval '[ "$rc" = 2 ] && grep -qxF "cloop: user add: unknown --role '"'king'"': use hq_admin, hq_analyst, cr, clerk, contractor, verifier, property, dept, hotline, warranty" <<<"$err"'
run user add "$(printf 'a%.0s' $(seq 65))" --role cr
check "a 65-character username: exit 2 (1 to 64)" \
    eval '[ "$rc" = 2 ] && grep -qF "use 1 to 64 letters" <<<"$err"'
run round add --project 1
check "a missing --kind: exit 2, listing the 9 round kinds" \
    eval '[ "$rc" = 2 ] && grep -qxF "cloop: round add: --kind is required: use mock1, mock2, mock3, handover, check3m, check11m, check23m, check35m, warranty" <<<"$err"'
run deadline set --project 1 --severity severe --days 3
check "an unknown --severity: exit 2, listing minor, major, critical" \
    eval '[ "$rc" = 2 ] && grep -qxF "cloop: deadline set: unknown --severity '"'severe'"': use minor, major, critical" <<<"$err"'
run deadline set --project 1 --severity minor --days 3651
check "--days 3651: exit 2 (at most 3650)" eval '[ "$rc" = 2 ] && grep -qF "from 0 to 3650" <<<"$err"'
hand=(inspect handover --project 1 --unit 3-2-1701 --date 2027-06-30)
run "${hand[@]}" --outcome accepted --keys 51
check "--keys 51: exit 2 (the server keeps at most 50)" \
    eval '[ "$rc" = 2 ] && grep -qF "from 0 to 50" <<<"$err"'
run "${hand[@]}" --outcome accepted --satisfaction 101
check "--satisfaction 101: exit 2" eval '[ "$rc" = 2 ] && grep -qF "from 0 to 100" <<<"$err"'
run "${hand[@]}" --outcome not_taken_over
check "not_taken_over without --reason: exit 2, naming the outcome" \
    eval '[ "$rc" = 2 ] && grep -qF -- "--outcome not_taken_over needs --reason" <<<"$err"'
run "${hand[@]}" --outcome accepted --signoff refused
check "--signoff refused without --refusal: exit 2, naming the signoff" \
    eval '[ "$rc" = 2 ] && grep -qF -- "--signoff refused needs --refusal" <<<"$err"'
run inspect import x.csv --chunk 2001
check "inspect import --chunk 2001: exit 2 (an ItemBatch holds at most 2000)" \
    eval '[ "$rc" = 2 ] && grep -qF "give 1 to 2000 items" <<<"$err"'
run unit import --project 1 x.csv --chunk 5001
check "unit import --chunk 5001: exit 2 (an import chunk holds at most 5000 rows)" \
    eval '[ "$rc" = 2 ] && grep -qF "give 1 to 5000 rows" <<<"$err"'
printf '%s\n' $(seq 5001) >"$work/units.txt"
run inspect schedule --project 1 --date 2027-06-30 --file "$work/units.txt"
check "a schedule of 5001 units: exit 2 before sending (the server takes 5000)" \
    eval '[ "$rc" = 2 ] && grep -qxF "cloop: inspect schedule: more than 5000 units" <<<"$err"'
run ticket repaired 1:1 --note "$(printf '符%.0s' $(seq 2001))"
check "a note of 2001 characters: exit 2, counted in characters" \
    eval '[ "$rc" = 2 ] && grep -qxF "cloop: ticket repaired: --note is longer than 2000 characters" <<<"$err"'
run contractor add 某公司 --trades Waterproofing
check "a trade code with a capital letter: exit 2 (the registry's trade code rule)" \
    eval '[ "$rc" = 2 ] && grep -qF "'"'Waterproofing'"' is not a trade code" <<<"$err"'

# --- settings precedence ----------------------------------------------------------------
conf=$work/conf/config
mkdir -p "$work/conf"
cp "$certs/ca.crt" "$work/conf/ca.crt"
cat >"$conf" <<EOF
; cloop settings for the test
[client]
server = 127.0.0.1:$port
ca = ca.crt
EOF
export CLOSELOOP_CONFIG=$conf
run ping
check "a config file with server and (relative) ca makes plain 'cloop ping' work" test "$rc" = 0

CLOSELOOP_SERVER=127.0.0.1:$closed run ping
check "CLOSELOOP_SERVER overrides the config file" \
    eval '[ "$rc" = 4 ] && grep -q "127.0.0.1:$closed" <<<"$err"'

CLOSELOOP_SERVER=127.0.0.1:$closed run --server "127.0.0.1:$port" ping
check "--server overrides CLOSELOOP_SERVER" test "$rc" = 0

CLOSELOOP_FORMAT=csv run info
check "CLOSELOOP_FORMAT=csv gives CSV" grep -qx 'key,value' <<<"$out"

CLOSELOOP_FORMAT=csv run info --format json
check "--format overrides CLOSELOOP_FORMAT" grep -q '^\[' <<<"$out"

mkdir -p "$HOME/.config/closeloop"
printf 'server = 127.0.0.1:%s\nca = %s\n' "$port" "$certs/ca.crt" >"$HOME/.config/closeloop/config"
env -u CLOSELOOP_CONFIG "$CLOOP" ping >/dev/null 2>&1
# shellcheck disable=SC2088 # a description, not a path
check "~/.config/closeloop/config is read when CLOSELOOP_CONFIG is unset" test "$?" = 0

printf '[client]\nserver = 127.0.0.1:%s\nthis line is not ini\n' "$port" >"$conf"
run ping
check "a malformed config file exits 2 naming the file and line" \
    eval '[ "$rc" = 2 ] && grep -q "$conf:3" <<<"$err"'

printf '[client]\ncolour = blue\n' >"$conf"
run ping
check "an unknown config key exits 2 naming it" \
    eval '[ "$rc" = 2 ] && grep -q "$conf:2: unknown setting .colour." <<<"$err"'

rm -f "$conf"
run "${S[@]}" ping
check "a missing config file is fine" test "$rc" = 0
unset CLOSELOOP_CONFIG

# --- shutdown ---------------------------------------------------------------------------
stop_daemon "$main_pid"
check "closeloopd exits 0 on SIGTERM" test "$?" = 0

report_and_exit
