#!/usr/bin/env bash
# run.sh - every test of closeloop, as CI runs it (.ci/run execs this).
#   1. deploy/install-deps.sh
#   2. build-test/: Debug, ASan+UBSan, libFuzzer harnesses (clang; gcc without fuzzing if
#      clang is missing), then all of ctest: unit, integration, fuzz (30 s each)
#   3. build/: the plain release build the quickstart makes, and the daemon integration test
#      again with closeloopd under valgrind (the harness prefixes $CL_DAEMON_WRAPPER)
# Ends with one line "summary: N passed, N failed"; exits non-zero if anything failed.
# --quick skips the fuzz tests and the valgrind pass.
set -euo pipefail

usage() {
    echo "usage: tests/run.sh [--quick]"
    echo "  --quick  skip the fuzz tests and the valgrind pass"
}

quick=0
for a in "$@"; do
    case $a in
        --quick) quick=1 ;;
        -h | --help)
            usage
            exit 0
            ;;
        *)
            usage >&2
            echo "run.sh: unknown argument '$a'" >&2
            exit 2
            ;;
    esac
done

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$repo"
jobs=$(nproc)
start=$SECONDS

passed=0 # tests that passed, over all ctest runs
failed=0 # tests that failed, plus steps (builds, ctest itself) that failed
phases=() # one line per step, for the summary

step() { printf '\n=== %s\n' "$*"; }

# ctest_run LABEL LOG ARGS...: runs ctest, shows and keeps its output, adds up its counts.
ctest_run() {
    local label=$1 log=$2 rc=0 line total nfail
    shift 2
    ctest "$@" --output-on-failure --no-tests=error 2>&1 | tee "$log" || rc=$?
    line=$(grep -E '[0-9]+ tests? failed out of [0-9]+' "$log" | tail -n 1 || true)
    if [ -n "$line" ]; then
        nfail=$(sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\1/' <<<"$line")
        total=$(sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\2/' <<<"$line")
        passed=$((passed + total - nfail))
        failed=$((failed + nfail))
        if [ "$rc" -ne 0 ] && [ "$nfail" -eq 0 ]; then failed=$((failed + 1)); fi
        phases+=("$label: $((total - nfail)) passed, $nfail failed$([ "$rc" -eq 0 ] || echo " (ctest exit $rc)")")
    else
        failed=$((failed + 1))
        phases+=("$label: ctest ran no test or did not finish (exit $rc; log $log)")
    fi
}

# build DIR LABEL CMAKE-ARGS...: configures and builds everything in DIR; 1 on failure.
build() {
    local dir=$1 label=$2
    shift 2
    if cmake -S . -B "$dir" "$@" && cmake --build "$dir" -j"$jobs"; then
        return 0
    fi
    failed=$((failed + 1))
    phases+=("$label: BUILD FAILED")
    return 1
}

step "dependencies"
deploy/install-deps.sh

step "format (clang-format --dry-run against .clang-format)"
if command -v clang-format >/dev/null 2>&1; then
    if git ls-files -z '*.c' '*.h' | xargs -0 clang-format --dry-run --Werror; then
        phases+=("format: clean")
    else
        failed=$((failed + 1))
        phases+=("format: FAILED (run: git ls-files '*.c' '*.h' | xargs clang-format -i)")
    fi
else
    phases+=("format: skipped (clang-format not installed)")
fi

# --- 1. sanitizers and fuzzing ----------------------------------------------------------
if command -v clang >/dev/null 2>&1; then
    cc=clang fuzz=ON
else
    cc=gcc fuzz=OFF
    echo "run.sh: note: clang not found; building the test tree with gcc and without the fuzz harnesses"
fi
# CMake cannot switch compilers in an existing tree.
if [ -f build-test/CMakeCache.txt ]; then
    cached=$(sed -n 's/^CMAKE_C_COMPILER:[A-Z]*=//p' build-test/CMakeCache.txt)
    case $cc:$cached in
        clang:*clang* | gcc:*gcc* | gcc:*/cc) ;;
        *)
            echo "run.sh: build-test/ was configured with '$cached'; starting it afresh with $cc"
            rm -rf build-test
            ;;
    esac
fi

step "build-test: Debug, ASan+UBSan, fuzz=$fuzz ($cc)"
if CC=$cc build build-test "sanitizer build" -DCMAKE_BUILD_TYPE=Debug -DCL_SANITIZE=ON -DCL_FUZZ=$fuzz; then
    if [ "$quick" = 1 ]; then
        step "ctest (sanitizers; --quick: no fuzz tests)"
        ctest_run "ctest sanitizers" build-test/ctest-run.log --test-dir build-test -j2 -E '^fuzz_'
    else
        step "ctest (sanitizers, fuzz)"
        ctest_run "ctest sanitizers+fuzz" build-test/ctest-run.log --test-dir build-test -j2
    fi
fi

# --- 2. valgrind on the release build ---------------------------------------------------
if [ "$quick" = 1 ]; then
    phases+=("valgrind: skipped (--quick)")
else
    step "build: RelWithDebInfo (as deploy/quickstart.sh builds it)"
    if build build "release build" -DCMAKE_BUILD_TYPE=RelWithDebInfo; then
        step "ctest integration_daemon and integration_identity with closeloopd under valgrind"
        CL_DAEMON_WRAPPER="valgrind --leak-check=full --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect --error-exitcode=99 -q" \
            ctest_run "ctest valgrind" build/ctest-valgrind.log --test-dir build -R '^integration_(daemon|identity)$'
    fi
fi

echo
echo "=== tests/run.sh finished in $((SECONDS - start)) s"
for p in "${phases[@]}"; do echo "  $p"; done
echo "summary: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
