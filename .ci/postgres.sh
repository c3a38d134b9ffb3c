#!/usr/bin/env bash
# Make sure a PostgreSQL *server* (pg_ctl, initdb, postgres) is installed for the test suite.
#
# The tests start their own throwaway server (tests/conftest.py::postgres_server); under CI
# (env CI set) they fail rather than skip when PostgreSQL is missing, so .ci/run calls this
# first. Idempotent: installs Debian's `postgresql` package with apt-get only when no pg_ctl
# is found anywhere the fixture looks (pg_config --bindir, /usr/lib/postgresql/*/bin, PATH).
# It does not start a server.
#
# Usage: `bash .ci/postgres.sh` or `source .ci/postgres.sh` (then `ci_postgres_ensure` is
# defined and has run; sourcing changes no shell options and never exits the caller's shell).

ci_postgres_find_pg_ctl() {
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

ci_postgres_ensure() {
    local pg_ctl sudo=""
    if pg_ctl="$(ci_postgres_find_pg_ctl)"; then
        echo "postgres.sh: PostgreSQL found: $pg_ctl ($("$pg_ctl" --version))"
        return 0
    fi
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "postgres.sh: no pg_ctl and no apt-get: install a PostgreSQL server (>= 14) by hand" >&2
        return 1
    fi
    if [[ "$(id -u)" != 0 ]]; then
        if ! command -v sudo >/dev/null 2>&1; then
            echo "postgres.sh: no pg_ctl; run as root: apt-get update && apt-get install -y postgresql" >&2
            return 1
        fi
        sudo="sudo"
    fi
    echo "postgres.sh: no pg_ctl found; installing Debian's postgresql package"
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get update &&
        $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql || return 1
    if ! pg_ctl="$(ci_postgres_find_pg_ctl)"; then
        echo "postgres.sh: postgresql installed but still no pg_ctl found" >&2
        return 1
    fi
    echo "postgres.sh: PostgreSQL installed: $pg_ctl ($("$pg_ctl" --version))"
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
    ci_postgres_ensure
    exit $?
else
    ci_postgres_ensure
fi
