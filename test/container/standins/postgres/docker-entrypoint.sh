#!/usr/bin/env bash
# Entrypoint of the postgres stand-in, written for the container test from the official image's
# documented contract (https://hub.docker.com/_/postgres, "Environment Variables" and "Initialization
# scripts"):
# - on an empty data directory: initdb with POSTGRES_USER as superuser and POSTGRES_PASSWORD as its
#   password (POSTGRES_INITDB_ARGS added), create POSTGRES_DB (default: the user's name), then run
#   /docker-entrypoint-initdb.d/* once in name order (*.sql and *.sql.gz through psql with ON_ERROR_STOP
#   into POSTGRES_DB, *.sh executed or sourced) on a server that accepts no TCP connections yet;
# - <NAME>_FILE reads any of these from a file (Docker secrets);
# - then the server listens on every address, with password authentication (scram-sha-256, or
#   POSTGRES_HOST_AUTH_METHOD) for every remote host; a data directory that exists is used as it is.
set -Eeuo pipefail

fail() {
  echo "docker-entrypoint: $*" >&2
  exit 1
}

# file_env NAME [DEFAULT]: NAME from the environment, or from the file named by NAME_FILE.
file_env() {
  local name=$1 default=${2:-} file_name="$1_FILE"
  if [ -n "${!name:-}" ] && [ -n "${!file_name:-}" ]; then fail "both $name and $file_name are set"; fi
  local value=$default
  if [ -n "${!name:-}" ]; then
    value=${!name}
  elif [ -n "${!file_name:-}" ]; then
    value=$(<"${!file_name}")
  fi
  export "$name=$value"
  unset "$file_name"
}

if [ "${1:0:1}" = '-' ]; then set -- postgres "$@"; fi

if [ "$1" = postgres ] && [ "$(id -u)" = 0 ]; then
  mkdir -p "$PGDATA"
  chmod 0700 "$PGDATA"
  find "$PGDATA" /var/run/postgresql \! -user postgres -exec chown postgres:postgres '{}' +
  exec setpriv --reuid=postgres --regid=postgres --init-groups "$BASH_SOURCE" "$@"
fi

if [ "$1" = postgres ] && [ ! -s "$PGDATA/PG_VERSION" ]; then
  file_env POSTGRES_PASSWORD
  file_env POSTGRES_USER postgres
  file_env POSTGRES_DB "$POSTGRES_USER"
  auth=${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}
  if [ -z "$POSTGRES_PASSWORD" ] && [ "$auth" != trust ]; then
    fail "the database is uninitialized and POSTGRES_PASSWORD is not set (or set POSTGRES_HOST_AUTH_METHOD=trust)"
  fi

  # shellcheck disable=SC2086 # POSTGRES_INITDB_ARGS is a list of arguments
  initdb --username="$POSTGRES_USER" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") ${POSTGRES_INITDB_ARGS:-}
  echo "listen_addresses = '*'" >>"$PGDATA/postgresql.conf"
  printf '\nhost all all all %s\n' "$auth" >>"$PGDATA/pg_hba.conf"

  # The init scripts run on a server reachable through its socket only: nobody connects half-way.
  pg_ctl -D "$PGDATA" -w -o "-c listen_addresses='' -p ${PGPORT:-5432}" start
  export PGPASSWORD=$POSTGRES_PASSWORD
  psql=(psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --no-password --no-psqlrc)
  if [ "$POSTGRES_DB" != postgres ]; then
    "${psql[@]}" --dbname postgres --set db="$POSTGRES_DB" <<<'CREATE DATABASE :"db";'
  fi
  for file in /docker-entrypoint-initdb.d/*; do
    [ -e "$file" ] || continue
    case "$file" in
      *.sh)
        echo "docker-entrypoint: running $file"
        # shellcheck disable=SC1090
        if [ -x "$file" ]; then "$file"; else . "$file"; fi
        ;;
      *.sql)
        echo "docker-entrypoint: running $file"
        "${psql[@]}" --dbname "$POSTGRES_DB" -f "$file"
        ;;
      *.sql.gz)
        echo "docker-entrypoint: running $file"
        gunzip -c "$file" | "${psql[@]}" --dbname "$POSTGRES_DB"
        ;;
      *) echo "docker-entrypoint: ignoring $file" ;;
    esac
  done
  pg_ctl -D "$PGDATA" -w -m fast stop
  unset PGPASSWORD
  echo 'docker-entrypoint: initialisation complete; ready for start up'
fi

exec "$@"
