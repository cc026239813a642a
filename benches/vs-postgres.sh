#!/usr/bin/env bash
# The open durability benchmark: the same durable-append workload against Tally's log and
# against PostgreSQL from the distribution's packages, on loopback, side by side for 1, 16 and
# 256 producers (see benches/src/bin/vs_postgres.rs for the workload and both table shapes).
#
#   benches/vs-postgres.sh [--seconds 10] [--producers 1,16,256]
#
# Installs PostgreSQL with apt-get if no server binaries are found (Debian/Ubuntu; needs root or
# sudo), starts a throw-away cluster in a temporary directory on the same filesystem as Tally's
# store (below $TALLY_BENCH_DIR, default: the current directory) listening on 127.0.0.1 only,
# with fsync = on, synchronous_commit = on and wal_sync_method = fdatasync, and removes it at exit.
set -euo pipefail

cd "$(dirname "$0")/.."
base="${TALLY_BENCH_DIR:-$PWD}"

pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }
if [ -z "$(pg_bin)" ]; then
    echo "installing postgresql from the distribution's packages" >&2
    sudo_cmd=""
    [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
    $sudo_cmd apt-get update -q
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -q postgresql
fi
bin="$(pg_bin)"

# initdb and postgres refuse to run as root: run them as the packages' `postgres` user then.
as_pg() {
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

work="$(mktemp -d "$base/vs-postgres.XXXXXX")"
[ "$(id -u)" -eq 0 ] && chown postgres: "$work"
cleanup() {
    as_pg "$bin/pg_ctl" -D "$work/pg" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

# A free port on loopback.
port=""
for candidate in $(shuf -i 20000-60000 -n 50); do
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$candidate") 2>/dev/null; then port=$candidate; break; fi
done
[ -n "$port" ] || { echo "no free port found" >&2; exit 2; }

as_pg "$bin/initdb" -D "$work/pg" -U postgres --auth=trust >/dev/null
cat >>"$work/pg/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$work'
max_connections = 300
shared_buffers = 256MB
fsync = on
synchronous_commit = on
wal_sync_method = fdatasync
full_page_writes = on
EOF
as_pg "$bin/pg_ctl" -D "$work/pg" -l "$work/pg.log" -w start >/dev/null
echo "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port, data in $work/pg" >&2

cargo run --release --locked -q -p tally-benches --bin vs_postgres -- \
    --pg "host=127.0.0.1 port=$port user=postgres dbname=postgres" --dir "$work" "$@"
