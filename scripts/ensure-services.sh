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
ensure_rabbitmq
log "PostgreSQL and RabbitMQ are up"
for extra in "$@"; do
    case "$extra" in
        chromium) ensure_chromium ;;
        *) log "unknown argument $extra"; exit 2 ;;
    esac
done
