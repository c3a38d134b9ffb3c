#!/usr/bin/env bash
# Make sure the programs the test suite runs are installed, from Debian's packages:
#   postgresql     a PostgreSQL *server* (pg_ctl, initdb, postgres): the tests start their own
#                  throwaway server (tests/conftest.py::postgres_server)
#   tesseract-ocr  OCR: the card tests read each card back as a person would (tests/bot/cards)
#
# Locally the tests skip with an install hint when one is missing; under CI (env CI set) they
# fail instead, so .ci/run calls this first. Idempotent: runs apt-get (one update, one install)
# only for the programs not found. It starts nothing.
#
# Usage: `bash .ci/test-packages.sh` or `source .ci/test-packages.sh` (then
# `ci_test_packages_ensure` is defined and has run; sourcing changes no shell options and never
# exits the caller's shell).

# One line per package: the Debian package and the function that prints its program's path.
CI_TEST_PACKAGES=(
    "postgresql ci_find_pg_ctl"
    "tesseract-ocr ci_find_tesseract"
)

# Where the fixture looks: pg_config --bindir, /usr/lib/postgresql/*/bin (Debian keeps the
# server's programs off PATH), then PATH.
ci_find_pg_ctl() {
    local bindir candidate
    if bindir="$(pg_config --bindir 2>/dev/null)" && [[ -x "$bindir/pg_ctl" ]]; then
        echo "$bindir/pg_ctl"
        return 0
    fi
    candidate="$(ls -1d /usr/lib/postgresql/*/bin/pg_ctl 2>/dev/null | sort -V | tail -n 1)"
    if [[ -n "$candidate" && -x "$candidate" ]]; then
        echo "$candidate"
        return 0
    fi
    command -v pg_ctl
}

ci_find_tesseract() {
    command -v tesseract
}

ci_test_packages_ensure() {
    local entry package finder found sudo=""
    local missing=()
    for entry in "${CI_TEST_PACKAGES[@]}"; do
        read -r package finder <<<"$entry"
        if found="$($finder)"; then
            echo "test-packages.sh: $package found: $found"
        else
            missing+=("$package")
        fi
    done
    if [[ ${#missing[@]} -eq 0 ]]; then
        return 0
    fi
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "test-packages.sh: no apt-get: install ${missing[*]} by hand" >&2
        return 1
    fi
    if [[ "$(id -u)" != 0 ]]; then
        if ! command -v sudo >/dev/null 2>&1; then
            echo "test-packages.sh: run as root: apt-get update && apt-get install -y ${missing[*]}" >&2
            return 1
        fi
        sudo="sudo"
    fi
    echo "test-packages.sh: installing Debian's ${missing[*]}"
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get update &&
        $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}" || return 1
    for entry in "${CI_TEST_PACKAGES[@]}"; do
        read -r package finder <<<"$entry"
        if ! found="$($finder)"; then
            echo "test-packages.sh: $package installed but its program is still not found" >&2
            return 1
        fi
        echo "test-packages.sh: $package ready: $found"
    done
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
    ci_test_packages_ensure
    exit $?
else
    ci_test_packages_ensure
fi
