#!/bin/sh
# Run once while building the database image (as the postgres user): make the cluster the way
# devstack/localdb.py makes the local one (UTF8, C.UTF-8, superuser postgres with password
# postgres, the same server settings), then apply the Supabase bootstrap to the `postgres`
# database, which is the database a hosted project gives you.
set -eu
here=/opt/directorybolt/db
pwfile=$(mktemp)
echo postgres > "$pwfile"
# Password auth over TCP (as a hosted project); peer over the socket, for this script only.
initdb -D "$PGDATA" -U postgres --pwfile="$pwfile" --auth-local=peer --auth-host=scram-sha-256 \
  --encoding=UTF8 --locale=C.UTF-8 >/dev/null
rm -f "$pwfile"

# As devstack/localdb.py's SERVER_SETTINGS, minus `port` (PGPORT decides it at run time).
# Durability is worthless for a throwaway test server; these make it start and run fast.
cat >> "$PGDATA/postgresql.conf" <<CONF

# deploy/images/db/init-cluster.sh
listen_addresses = '127.0.0.1'
wal_level = logical
max_connections = 300
fsync = off
synchronous_commit = off
full_page_writes = off
shared_buffers = 256MB
max_wal_senders = 10
max_replication_slots = 10
log_min_messages = warning
timezone = 'UTC'
unix_socket_directories = '/tmp'
CONF
# Any client address, always with a password: with published ports (bridge networking)
# clients do not come from loopback; which addresses are listened on is listen_addresses' job.
echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"

pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start >/dev/null
psql -h /tmp -d postgres -v ON_ERROR_STOP=1 -q -f "$here/supabase_bootstrap.sql"
psql -h /tmp -d postgres -v ON_ERROR_STOP=1 -q -f "$here/realtime_notify.sql"
pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
