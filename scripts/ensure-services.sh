#!/usr/bin/env bash
# Makes sure PostgreSQL and RabbitMQ are running on this machine: starts them
# where they are installed, installs them from Debian's packages where they are
# missing. Used by `make run`, `make test` and `make bench`; safe to run twice.
set -euo pipefail

log() { printf 'ensure-services: %s\n' "$*" >&2; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

apt_install() {
    log "installing $* from Debian's packages"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# Waits for a readiness probe (not a fixed time): up to 60 tries, 0.5 s apart.
wait_for() {
    local what=$1; shift
    for _ in $(seq 1 120); do
        if "$@" >/dev/null 2>&1; then return 0; fi
        sleep 0.5
    done
    log "$what did not become ready"; return 1
}

postgres_ready() { pg_isready -q -h 127.0.0.1 -p 5432; }

ensure_postgres() {
    if command -v pg_isready >/dev/null && postgres_ready; then return; fi
    if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
        apt_install postgresql postgresql-client
    fi
    local version
    version=$(ls /etc/postgresql | sort -V | tail -n 1)
    log "starting PostgreSQL $version"
    as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    wait_for PostgreSQL postgres_ready
    # The mesh connects as postgres without a password over TCP (as the
    # machine this project is developed on is set up); make it so if not.
    if ! psql -h 127.0.0.1 -U postgres -Atc 'select 1' >/dev/null 2>&1; then
        log "allowing trust auth for local TCP connections"
        local hba
        hba=$(as_root su postgres -c "psql -Atc 'show hba_file'")
        as_root sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust' "$hba"
        as_root su postgres -c "psql -qc 'select pg_reload_conf()'"
    fi
}

# The server settings the mesh relies on (issue 15 point 3). Every table of
# the mesh starts empty — in each test's database, each bench run, a fresh
# `make run` — and fills by thousands of rows a second. A prepared statement
# (sqlx prepares every query) keeps the generic plan PostgreSQL picked after
# its fifth run, when the table was nearly empty (a sequential scan is the
# cheapest plan of a ten-page table), until an ANALYZE of the table
# invalidates it; with autovacuum off that never happens. Measured with
# `BENCH_ONLY=registry` at a million people: the gateway's message_status
# and message_log read 8,900 rows per scan, 1,500 µs of PostgreSQL's CPU per
# look-up. So autovacuum is on (PostgreSQL's default, which a server's
# conf.d may have turned off) and looks at each database every 5 s rather
# than every minute, so a table's first statistics come within seconds of
# its first rows. ALTER SYSTEM writes postgresql.auto.conf, which wins over
# postgresql.conf and conf.d; both settings apply on a reload, so a running
# server is not restarted and its clients are not disturbed. A setting
# already as wanted is left alone.
POSTGRES_SETTINGS=(
    "autovacuum=on"
    "autovacuum_naptime=5s"
)

ensure_postgres_settings() {
    local changed=0 entry name value current
    if ! psql -h 127.0.0.1 -U postgres -Atc 'select 1' >/dev/null 2>&1; then
        log "PostgreSQL: cannot connect as postgres; settings left as they are"
        return
    fi
    for entry in "${POSTGRES_SETTINGS[@]}"; do
        name=${entry%%=*}
        value=${entry#*=}
        current=$(psql -h 127.0.0.1 -U postgres -Atc "select current_setting('$name')")
        if [ "$current" != "$value" ]; then
            log "PostgreSQL: $name = $value (was $current)"
            psql -h 127.0.0.1 -U postgres -qc "ALTER SYSTEM SET $name = '$value'"
            changed=1
        fi
    done
    if [ "$changed" -eq 1 ]; then
        psql -h 127.0.0.1 -U postgres -qAtc 'select pg_reload_conf()' >/dev/null
    fi
}

rabbit_ready() { rabbitmqctl -q status; }

ensure_rabbitmq() {
    if command -v rabbitmqctl >/dev/null && rabbit_ready; then return; fi
    if ! command -v rabbitmq-server >/dev/null; then
        apt_install rabbitmq-server
    fi
    log "starting RabbitMQ"
    as_root rabbitmq-server -detached || true
    as_root rabbitmqctl -q await_startup --timeout 120 || wait_for RabbitMQ rabbit_ready
}

# The scenario test of `egovctl trace` renders its page in a headless
# browser: Debian's chromium, installed where missing (`make test` asks for
# it with the argument `chromium`).
ensure_chromium() {
    if command -v chromium >/dev/null; then return; fi
    apt_install chromium
}

ensure_postgres
ensure_postgres_settings
ensure_rabbitmq
log "PostgreSQL and RabbitMQ are up"
for extra in "$@"; do
    case "$extra" in
        chromium) ensure_chromium ;;
        *) log "unknown argument $extra"; exit 2 ;;
    esac
done
