#!/usr/bin/env bash
# bigtop-k8s look-alike of the official postgres image's docker-entrypoint.sh (15/bookworm), with
# its behaviour for what our pod uses: on an empty $PGDATA, initdb as $POSTGRES_USER with
# $POSTGRES_PASSWORD, password (scram-sha-256) access from any host, $POSTGRES_DB created by a
# temporary socket-only server, /docker-entrypoint-initdb.d/*.sh and *.sql run; a $PGDATA that
# holds a database is left as it is. Running as root (upstream drops to `postgres` with gosu) is
# not reproduced: our pod runs as uid 999.
set -Eeo pipefail
if [ "${1:0:1}" = '-' ]; then set -- postgres "$@"; fi
if [ "$1" != postgres ]; then exec "$@"; fi
if [ "$(id -u)" = 0 ]; then echo "this look-alike runs only as a non-root user" >&2; exit 1; fi

: "${POSTGRES_USER:=postgres}" "${POSTGRES_DB:=$POSTGRES_USER}" "${PGDATA:?}"
export POSTGRES_USER POSTGRES_DB PGDATA
mkdir -p "$PGDATA" && chmod 00700 "$PGDATA" || :
mkdir -p /var/run/postgresql && chmod 03775 /var/run/postgresql || :

if [ -s "$PGDATA/PG_VERSION" ]; then
  echo
  echo 'PostgreSQL Database directory appears to contain a database; Skipping initialization'
  echo
  exec "$@"
fi
if [ -z "$POSTGRES_PASSWORD" ] && [ "${POSTGRES_HOST_AUTH_METHOD:-}" != trust ]; then
  echo 'Error: Database is uninitialized and superuser password is not specified.' >&2
  echo '       You must specify POSTGRES_PASSWORD to a non-empty value for the superuser.' >&2
  exit 1
fi
initdb --username="$POSTGRES_USER" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") $POSTGRES_INITDB_ARGS
printf '\nhost all all all %s\n' "${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}" >> "$PGDATA/pg_hba.conf"
PGUSER=$POSTGRES_USER PGPASSWORD=$POSTGRES_PASSWORD \
  pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -p ${PGPORT:-5432}" -w start
psql=(psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --no-password --no-psqlrc)
if [ "$POSTGRES_DB" != postgres ] &&
   [ -z "$("${psql[@]}" --dbname postgres -tAc "SELECT 1 FROM pg_database WHERE datname = :'db'" -v db="$POSTGRES_DB")" ]; then
  "${psql[@]}" --dbname postgres --set db="$POSTGRES_DB" <<<'CREATE DATABASE :"db" ;'
fi
for f in /docker-entrypoint-initdb.d/*; do
  case $f in
    *.sh) echo "running $f"; . "$f" ;;
    *.sql) echo "running $f"; "${psql[@]}" --dbname "$POSTGRES_DB" -f "$f" ;;
    *) ;;
  esac
done
pg_ctl -D "$PGDATA" -m fast -w stop
echo
echo 'PostgreSQL init process complete; ready for start up.'
echo
exec "$@"
