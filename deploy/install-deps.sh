#!/usr/bin/env bash
# install-deps.sh - the Debian 12 packages closeloop needs to build, test and run: the one
# list. Idempotent: asks dpkg which are missing and runs apt-get only for those, so a second
# run prints one line and touches nothing. Needs root only when something is missing.
set -euo pipefail

packages=(
    # toolchain and build
    build-essential cmake pkg-config git ca-certificates openssl clang libclang-rt-14-dev
    clang-format python3
    # libraries
    libuv1-dev libprotobuf-c-dev protobuf-c-compiler libpq-dev libssl-dev libargon2-dev
    libinih-dev libcsv-dev libsqlite3-dev libcmocka-dev
    # PostgreSQL server and client (the quickstart's private cluster, integration tests)
    postgresql-15 postgresql-client-15
    # tests and operations: valgrind, ps/pgrep, runuser, ss
    valgrind procps util-linux iproute2
    # printing the A4 lists and reports (--format html): the CJK fonts their style sheet
    # names first (Noto Sans CJK SC); without them a fresh machine prints boxes
    fonts-noto-cjk
    # --format pdf: cairo and pango lay the pages out (in Noto Sans CJK); the PDF test
    # reads them back with pdfinfo, pdftotext and pdftoppm
    libcairo2-dev libpango1.0-dev poppler-utils
)

case ${1:-} in
    -h | --help)
        echo "usage: deploy/install-deps.sh   installs the missing ones of: ${packages[*]}"
        exit 0
        ;;
    "") ;;
    *)
        echo "install-deps: unknown argument '$1' (try --help)" >&2
        exit 2
        ;;
esac

# not_installed PACKAGE...: the ones dpkg does not list as installed, one per line.
not_installed() {
    local p status
    for p in "$@"; do
        status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
        [ "$status" = installed ] || echo "$p"
    done
}

mapfile -t missing < <(not_installed "${packages[@]}")

if [ ${#missing[@]} -eq 0 ]; then
    echo "install-deps: all ${#packages[@]} packages present"
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: missing packages: ${missing[*]}" >&2
    echo "install-deps: run this script as root (sudo $0) to install them" >&2
    exit 1
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive

# Keep package scripts from starting services (the stock PostgreSQL cluster on port 5432):
# closeloop runs its own private cluster. A policy-rc.d that exits 101 is Debian's
# documented way to say "do not start"; only ours is removed afterwards.
policy=/usr/sbin/policy-rc.d
own_policy=0
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\n# temporary, from closeloop deploy/install-deps.sh\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    own_policy=1
fi
cleanup() { if [ "$own_policy" = 1 ]; then rm -f "$policy"; fi; }
trap cleanup EXIT

apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"

mapfile -t still < <(not_installed "${missing[@]}")
if [ ${#still[@]} -ne 0 ]; then
    echo "install-deps: still missing after apt-get: ${still[*]}" >&2
    exit 1
fi
echo "install-deps: installed ${#missing[@]} packages; all ${#packages[@]} present"
