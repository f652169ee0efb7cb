#!/usr/bin/env bash
# Runs a command with TEST_POSTGRES_URL pointing at a PostgreSQL database.
# Uses TEST_POSTGRES_URL when already set; otherwise starts a throwaway
# server from Debian's packages (installing them if missing) in a temporary
# directory on a free loopback port, and removes it afterwards. When no
# server can be had it says so and runs the command without PostgreSQL.
set -euo pipefail

if [ -n "${TEST_POSTGRES_URL:-}" ]; then exec "$@"; fi

pg_bin() {
  local dir
  for dir in /usr/lib/postgresql/*/bin; do
    [ -x "$dir/initdb" ] && { echo "$dir"; return 0; }
  done
  return 1
}

BIN="$(pg_bin || true)"
if [ -z "$BIN" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "==> installing PostgreSQL from Debian's packages for the tests" >&2
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; } || true
  BIN="$(pg_bin || true)"
fi
if [ -z "$BIN" ]; then
  echo "postgres: not available on this machine; PostgreSQL tests are skipped" >&2
  exec "$@"
fi

DIR="$(mktemp -d /tmp/console-pg.XXXXXX)"
PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
# PostgreSQL refuses to run as root; run it as the packaged postgres user.
RUN=()
if [ "$(id -u)" = 0 ]; then
  chown postgres "$DIR"
  RUN=(runuser -u postgres --)
fi

cleanup() {
  "${RUN[@]}" "$BIN/pg_ctl" -D "$DIR/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$DIR"
}
trap cleanup EXIT

"${RUN[@]}" "$BIN/initdb" -D "$DIR/data" -U console --auth=trust -E UTF8 >/dev/null
"${RUN[@]}" "$BIN/pg_ctl" -D "$DIR/data" -w -t 60 -l "$DIR/log" \
  -o "-c listen_addresses=127.0.0.1 -c port=$PORT -c unix_socket_directories=$DIR -c fsync=off" start >/dev/null
"${RUN[@]}" "$BIN/createdb" -h 127.0.0.1 -p "$PORT" -U console console_test
export TEST_POSTGRES_URL="postgres://console@127.0.0.1:$PORT/console_test"
echo "postgres: throwaway server at 127.0.0.1:$PORT for the tests" >&2
"$@"
