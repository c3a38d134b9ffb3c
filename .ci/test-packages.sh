#!/usr/bin/env bash
# Make sure the programs the test suite runs are installed, from Debian's packages:
#   postgresql            a PostgreSQL *server* (pg_ctl, initdb, postgres): the tests start
#                         their own throwaway server (tests/conftest.py::postgres_server)
#   tesseract-ocr         OCR: the card tests read each card back as a person would
#                         (tests/bot/cards)
#   chromium              the pages opened in a real browser (tests/web), with fonts-liberation
#   default-jre-headless  Java, for the W3C HTML checker (tests/web), when `java` is missing
#   npm                   to install that checker, when `npm` is missing
# and then the npm packages of tests/web (vnu-jar, the W3C Nu HTML Checker) with `npm ci`
# from its package-lock.json, when tests/web/node_modules is missing or older than the lock.
# (Lighthouse, for `make audit-web` only, is not installed here: the Makefile does it.)
#
# Locally the tests skip with an install hint when one is missing; under CI (env CI set) they
# fail instead, so .ci/run calls this first. Idempotent: runs apt-get (one update, one install,
# without Recommends: the tests need programs, not chromium's printer and desktop helpers)
# only for the programs not found, and npm only for a stale tests/web/node_modules. It starts
# nothing.
#
# Usage: `bash .ci/test-packages.sh` or `source .ci/test-packages.sh` (then
# `ci_test_packages_ensure` is defined and has run; sourcing changes no shell options and never
# exits the caller's shell).

# One line per program: the function that prints its path, then the Debian packages that
# bring it.
CI_TEST_PACKAGES=(
    "ci_find_pg_ctl postgresql"
    "ci_find_tesseract tesseract-ocr"
    "ci_find_chromium chromium fonts-liberation"
    "ci_find_java default-jre-headless"
    "ci_find_npm npm"
)
# The folders whose npm packages the tests use, each with its package-lock.json.
CI_NPM_FOLDERS=(tests/web)
CI_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

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

# Debian's Chromium, where tests/web/tools.py looks (CHROME_PATH, as Lighthouse reads it,
# names another Chromium or Chrome).
ci_find_chromium() {
    local path="${CHROME_PATH:-/usr/bin/chromium}"
    if [[ -x "$path" ]]; then
        echo "$path"
        return 0
    fi
    return 1
}

ci_find_java() {
    command -v java
}

ci_find_npm() {
    command -v npm
}

# `npm ci` (the exact versions of package-lock.json; no install scripts: vnu-jar's would
# download a Java of its own, and the system's serves) in each folder whose node_modules is
# missing or older than its lock file.
ci_npm_packages_ensure() {
    local folder lock installed
    for folder in "${CI_NPM_FOLDERS[@]}"; do
        lock="$CI_ROOT/$folder/package-lock.json"
        installed="$CI_ROOT/$folder/node_modules/.package-lock.json"
        if [[ -f "$installed" && ! "$lock" -nt "$installed" ]]; then
            echo "test-packages.sh: npm packages of $folder found"
            continue
        fi
        echo "test-packages.sh: npm ci in $folder"
        npm ci --ignore-scripts --no-audit --no-fund --prefix "$CI_ROOT/$folder" || return 1
    done
}

ci_test_packages_ensure() {
    ci_apt_packages_ensure && ci_npm_packages_ensure
}

ci_apt_packages_ensure() {
    local entry finder rest found sudo=""
    local packages=() missing=()
    for entry in "${CI_TEST_PACKAGES[@]}"; do
        read -r finder rest <<<"$entry"
        read -r -a packages <<<"$rest"
        if found="$($finder)"; then
            echo "test-packages.sh: ${packages[0]} found: $found"
        else
            missing+=("${packages[@]}")
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
        $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
            "${missing[@]}" || return 1
    for entry in "${CI_TEST_PACKAGES[@]}"; do
        read -r finder rest <<<"$entry"
        read -r -a packages <<<"$rest"
        if ! found="$($finder)"; then
            echo "test-packages.sh: ${packages[0]} installed but its program is still not found" >&2
            return 1
        fi
        echo "test-packages.sh: ${packages[0]} ready: $found"
    done
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
    ci_test_packages_ensure
    exit $?
else
    ci_test_packages_ensure
fi
