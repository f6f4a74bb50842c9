#!/usr/bin/env bash
# A throw-away PostgreSQL cluster for the tests and benchmarks:
#   scripts/pg-cluster.sh start   -> prints the URL to export as CONDUCTOR_TEST_PG
#   scripts/pg-cluster.sh stop
#   scripts/pg-cluster.sh install  -> Debian's postgresql, faketime, prometheus (for promtool) and chromium
#                                     (for the dashboard's browser test), when missing (needs root, as on CI)
# initdb and pg_ctl run as a non-root user, as PostgreSQL requires.
set -euo pipefail
# Below Linux's ephemeral range (32768-60999): 54329 once collided with a TIME-WAIT socket.
PORT=${CONDUCTOR_PG_PORT:-25432}
DIR=${CONDUCTOR_PG_DIR:-/tmp/conductor-pg-$PORT}
RUN_AS=${CONDUCTOR_PG_USER:-postgres}

bindir() {
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  [ -n "$d" ] && echo "$d"
}

as_user() {
  if [ "$(id -u)" = 0 ]; then runuser -u "$RUN_AS" -- "$@"; else "$@"; fi
}

install_pg() {
  [ -n "$(bindir)" ] && command -v psql >/dev/null && command -v faketime >/dev/null && command -v promtool >/dev/null &&
    command -v chromium >/dev/null && return 0
  if [ "$(id -u)" != 0 ]; then
    echo "PostgreSQL, faketime, promtool or chromium is not installed; as root: apt-get install postgresql faketime prometheus chromium" >&2
    exit 1
  fi
  echo "installing postgresql, faketime, prometheus (promtool) and chromium from Debian's packages..." >&2
  apt-get update -qq >&2
  # The prometheus package is only for promtool, which the metrics tests run; its server is not used.
  # chromium is the browser the dashboard's test drives (playwright-core, no browser download).
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql faketime prometheus chromium >&2
}

case "${1:-}" in
  install)
    install_pg
    ;;
  start)
    install_pg
    BIN=$(bindir)
    if [ "$(id -u)" = 0 ] && ! id "$RUN_AS" >/dev/null 2>&1; then useradd --system --no-create-home "$RUN_AS"; fi
    if [ -f "$DIR/postmaster.pid" ] && as_user "$BIN/pg_ctl" -D "$DIR" status >/dev/null 2>&1; then
      echo "postgres://postgres@127.0.0.1:$PORT/postgres"
      exit 0
    fi
    rm -rf "$DIR"
    mkdir -p "$DIR"
    [ "$(id -u)" = 0 ] && chown "$RUN_AS" "$DIR"
    as_user "$BIN/initdb" -D "$DIR" -U postgres --auth=trust --no-sync -E UTF8 >/dev/null
    OPTS="-p $PORT -k $DIR -c listen_addresses=127.0.0.1 -c max_connections=300"
    # Tests never need durability across a crash of the cluster; benchmarks keep PostgreSQL's defaults
    # (CONDUCTOR_PG_DURABLE=1) so that it is compared with a file store that fsyncs.
    [ "${CONDUCTOR_PG_DURABLE:-0}" = 1 ] || OPTS="$OPTS -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    as_user "$BIN/pg_ctl" -D "$DIR" -l "$DIR/server.log" -w -o "$OPTS" start >/dev/null
    echo "postgres://postgres@127.0.0.1:$PORT/postgres"
    ;;
  stop)
    BIN=$(bindir) || exit 0
    [ -d "$DIR" ] && as_user "$BIN/pg_ctl" -D "$DIR" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$DIR"
    ;;
  *)
    echo "usage: $0 install|start|stop" >&2
    exit 2
    ;;
esac
