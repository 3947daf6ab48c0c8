#!/usr/bin/env bash
# Usage: scripts/with-postgres.sh CMD [ARG…]
#
# Runs CMD with a private, disposable PostgreSQL 15 server: initdb into a temporary directory,
# the server on 127.0.0.1 and a free port, CUSTODIAN_TEST_PG_URL pointing at its `postgres`
# database (tests/support/postgres_server.h creates one fresh database per test there). The
# server is stopped and the directory deleted however CMD ends; the exit status is CMD's.
#
# PostgreSQL refuses to run as root: under root (CI) the directory is given to the `postgres`
# system user (created by the Debian postgresql package, see scripts/deps.sh) and the server
# runs as that user.
set -euo pipefail

if (($# == 0)); then
  echo "usage: $0 CMD [ARG…]" >&2
  exit 2
fi
if [[ -n ${CUSTODIAN_TEST_PG_URL:-} ]]; then
  exec "$@"  # already inside one
fi

bindir=/usr/lib/postgresql/15/bin
if [[ ! -x $bindir/initdb ]]; then
  bindir=$(pg_config --bindir 2>/dev/null || true)
fi
if [[ ! -x $bindir/initdb ]]; then
  echo "with-postgres: no initdb (PostgreSQL 15 server not installed? run make deps)" >&2
  exit 1
fi

dir=$(mktemp -d /tmp/custodian-pg-XXXXXX)
as_pg=()
if [[ $(id -u) -eq 0 ]]; then
  if ! id postgres >/dev/null 2>&1; then
    echo "with-postgres: running as root and there is no postgres user (run make deps)" >&2
    rm -rf "$dir"
    exit 1
  fi
  chown postgres: "$dir"
  as_pg=(runuser -u postgres --)
fi

cleanup() {
  # Immediate: the cluster is about to be deleted, and a clean shutdown's checkpoint would
  # flush every test database to disk first (tens of seconds after a full test run).
  if [[ -f $dir/data/postmaster.pid ]]; then
    "${as_pg[@]}" "$bindir/pg_ctl" stop -D "$dir/data" -m immediate -w -t 30 >/dev/null 2>&1 || true
  fi
  rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --no-sync: the cluster is thrown away afterwards; the server itself runs with fsync=on so
# durability tests see real commits.
if ! (cd "$dir" && "${as_pg[@]}" "$bindir/initdb" -D "$dir/data" --auth=trust -U postgres \
  -E UTF8 --locale=C --no-sync) >"$dir/initdb.log" 2>&1; then
  echo "with-postgres: initdb failed:" >&2
  cat "$dir/initdb.log" >&2
  exit 1
fi

# A port that looks free can be taken before the server binds it: try a few.
started=
for _ in 1 2 3 4 5; do
  port=$((20000 + RANDOM % 40000))
  # Many test processes (ctest -j) each open a pool of connections.
  if (cd "$dir" && "${as_pg[@]}" "$bindir/pg_ctl" start -D "$dir/data" -w -t 60 \
    -l "$dir/postgres.log" -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=on \
    -c max_connections=500") >/dev/null 2>&1; then
    started=1
    break
  fi
done
if [[ -z $started ]]; then
  echo "with-postgres: the server did not start:" >&2
  tail -n 20 "$dir/postgres.log" >&2 || true
  exit 1
fi

export CUSTODIAN_TEST_PG_URL="postgresql://postgres@127.0.0.1:$port/postgres"
echo "with-postgres: PostgreSQL $("$bindir/postgres" --version | awk '{print $3}') at $CUSTODIAN_TEST_PG_URL"
set +e
"$@"
status=$?
set -e
exit "$status"
