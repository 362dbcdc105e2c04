#!/usr/bin/env bash
# The local stack: a real Apache Kafka broker (KRaft, jars from Maven Central)
# and a private PostgreSQL cluster, both on loopback, with their data under
# .stack/ in the repository.
#
#   stack/stack.sh up     [kafka|postgres ...]   start (a no-op for what runs)
#   stack/stack.sh down   [kafka|postgres ...]   stop what this script started
#   stack/stack.sh status [kafka|postgres ...]   exit 0 only if all named run
#   stack/stack.sh env                           print the URLs clients use
#   stack/stack.sh fetch                         download the broker's jars
#
# Settings (environment): STACK_DIR, KAFKA_VERSION, KAFKA_PORT,
# KAFKA_CONTROLLER_PORT, KAFKA_HEAP_OPTS, PG_PORT, and DATABASE_URL: when it
# is set, PostgreSQL is that server and the stack starts none of its own.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STACK_DIR=${STACK_DIR:-$ROOT/.stack}
KAFKA_VERSION=${KAFKA_VERSION:-4.1.2}
KAFKA_PORT=${KAFKA_PORT:-9092}
KAFKA_CONTROLLER_PORT=${KAFKA_CONTROLLER_PORT:-9093}
KAFKA_HEAP_OPTS=${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m}
KAFKA_START_TIMEOUT=${KAFKA_START_TIMEOUT:-90}
PG_PORT=${PG_PORT:-55432}
PG_USER=txwatch
PG_DB=txwatch

KAFKA_HOME=$STACK_DIR/kafka
KAFKA_LIB=$KAFKA_HOME/lib-$KAFKA_VERSION
KAFKA_DATA=$KAFKA_HOME/data
KAFKA_PID=$KAFKA_HOME/kafka.pid
PG_HOME=$STACK_DIR/postgres
PG_DATA=$PG_HOME/data
PG_LOG=$PG_HOME/postgres.log

say() { printf 'stack: %s\n' "$*"; }
die() { printf 'stack: error: %s\n' "$*" >&2; exit 1; }

# --- Kafka ------------------------------------------------------------------

kafka_running_pid() {
  # Prints the broker's pid if the pid file names a live broker of ours; a
  # stale file (dead process, or a reused pid) is removed.
  [[ -f $KAFKA_PID ]] || return 1
  local pid
  pid=$(<"$KAFKA_PID")
  if [[ -n $pid && -r /proc/$pid/cmdline ]] &&
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q "kafka.Kafka $KAFKA_HOME/"; then
    echo "$pid"
    return 0
  fi
  rm -f "$KAFKA_PID"
  return 1
}

kafka_fetch_jars() {
  [[ -f $KAFKA_LIB/.complete ]] && return 0
  command -v java >/dev/null || die "java is missing: install OpenJDK 17 (apt-get install openjdk-17-jre-headless)"
  command -v mvn >/dev/null || die "mvn is missing: install Maven (apt-get install maven)"
  say "resolving Apache Kafka $KAFKA_VERSION jars from Maven Central (first run only)"
  rm -rf "$KAFKA_LIB"
  # Maven 3.8 colours its quiet output even in batch mode: strip that.
  mvn -q -B -f "$ROOT/stack/kafka/pom.xml" dependency:copy-dependencies \
    -Dkafka.version="$KAFKA_VERSION" -DincludeScope=runtime \
    -DoutputDirectory="$KAFKA_LIB" 2>&1 | sed 's/\x1b\[[0-9;]*m//g' ||
    die "Maven could not resolve org.apache.kafka:kafka_2.13:$KAFKA_VERSION"
  touch "$KAFKA_LIB/.complete"
}

kafka_java() {
  # shellcheck disable=SC2086  # KAFKA_HEAP_OPTS holds several flags
  # -XX:-UsePerfData: no hsperfdata files in the system's temporary folder.
  exec java $KAFKA_HEAP_OPTS -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:-UsePerfData \
    -Djava.awt.headless=true \
    -Dkafka.logs.dir="$KAFKA_HOME/logs" \
    -Dlog4j2.configurationFile="$ROOT/stack/kafka/log4j2.yaml" \
    -cp "$KAFKA_LIB/*" "$@"
}

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

kafka_up() {
  local pid
  if pid=$(kafka_running_pid); then
    say "kafka already running (pid $pid) on 127.0.0.1:$KAFKA_PORT"
    return 0
  fi
  kafka_fetch_jars
  for port in "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT"; do
    port_busy "$port" && die "port $port is taken by another process: set KAFKA_PORT / KAFKA_CONTROLLER_PORT"
  done
  mkdir -p "$KAFKA_DATA" "$KAFKA_HOME/logs"
  sed -e "s|@KAFKA_PORT@|$KAFKA_PORT|g" -e "s|@CONTROLLER_PORT@|$KAFKA_CONTROLLER_PORT|g" \
    -e "s|@DATA_DIR@|$KAFKA_DATA|g" "$ROOT/stack/kafka/server.properties.in" \
    >"$KAFKA_HOME/server.properties"
  if [[ ! -f $KAFKA_DATA/meta.properties ]]; then
    [[ -f $KAFKA_HOME/cluster.id ]] ||
      (kafka_java kafka.tools.StorageTool random-uuid) >"$KAFKA_HOME/cluster.id"
    (kafka_java kafka.tools.StorageTool format -t "$(<"$KAFKA_HOME/cluster.id")" \
      -c "$KAFKA_HOME/server.properties") >"$KAFKA_HOME/logs/format.log" 2>&1 ||
      die "formatting the broker's storage failed: see $KAFKA_HOME/logs/format.log"
  fi
  local started=$SECONDS log=$KAFKA_HOME/logs/server.log
  : >"$KAFKA_HOME/logs/stdout.log"
  [[ -f $log ]] && mv "$log" "$log.previous"
  # Its own session, so a Ctrl-C in the terminal that ran `make demo` stops
  # the worker but leaves the stack to `make stack-down`.
  setsid bash "$0" __exec-kafka >>"$KAFKA_HOME/logs/stdout.log" 2>&1 </dev/null &
  pid=$!
  echo "$pid" >"$KAFKA_PID"
  say "starting kafka $KAFKA_VERSION (pid $pid) on 127.0.0.1:$KAFKA_PORT"
  until grep -qs 'Kafka Server started' "$log"; do
    kill -0 "$pid" 2>/dev/null ||
      die "kafka exited during start-up: see $KAFKA_HOME/logs/server.log and stdout.log"
    ((SECONDS - started < KAFKA_START_TIMEOUT)) ||
      die "kafka did not start within ${KAFKA_START_TIMEOUT}s: see $log"
    sleep 0.2
  done
  say "kafka ready in $((SECONDS - started))s"
}

kafka_down() {
  local pid
  if ! pid=$(kafka_running_pid); then
    say "kafka not running"
    return 0
  fi
  say "stopping kafka (pid $pid)"
  kill -TERM "$pid"
  for _ in $(seq 300); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    say "kafka did not stop in 30s: killing it"
    kill -KILL "$pid"
  fi
  rm -f "$KAFKA_PID"
}

kafka_status() {
  local pid
  if pid=$(kafka_running_pid); then
    say "kafka running (pid $pid) on 127.0.0.1:$KAFKA_PORT"
  else
    say "kafka stopped"
    return 1
  fi
}

# --- PostgreSQL -------------------------------------------------------------

pg_external() { [[ -n ${DATABASE_URL:-} ]]; }

pg_bindir() {
  local dir
  if command -v pg_config >/dev/null && dir=$(pg_config --bindir 2>/dev/null) &&
    [[ -x $dir/initdb ]]; then
    echo "$dir"
    return 0
  fi
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [[ -n $dir && -x $dir/initdb ]] && echo "$dir"
}

as_pg_owner() {
  # PostgreSQL refuses to run as root; as root, the server runs as the
  # Debian package's `postgres` account and owns only its data folder.
  if ((EUID == 0)); then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

pg_ctl_() { as_pg_owner "$(pg_bindir)/pg_ctl" -D "$PG_DATA" "$@"; }

pg_running() { [[ -f $PG_DATA/PG_VERSION ]] && pg_ctl_ status >/dev/null 2>&1; }

pg_up() {
  if pg_external; then
    say "postgres: using DATABASE_URL, starting none"
    return 0
  fi
  [[ -n $(pg_bindir) ]] || "$ROOT/stack/install-deps.sh" postgresql
  [[ -n $(pg_bindir) ]] || die "PostgreSQL server binaries not found: apt-get install postgresql"
  if pg_running; then
    say "postgres already running on 127.0.0.1:$PG_PORT"
    return 0
  fi
  port_busy "$PG_PORT" && die "port $PG_PORT is taken by another process: set PG_PORT"
  mkdir -p "$PG_HOME"
  if ((EUID == 0)); then
    chown postgres: "$PG_HOME"
    as_pg_owner test -w "$PG_HOME" ||
      die "the postgres account cannot reach $PG_HOME: every parent folder needs o+x"
  fi
  if [[ ! -f $PG_DATA/PG_VERSION ]]; then
    say "creating a private PostgreSQL cluster in $PG_DATA"
    as_pg_owner "$(pg_bindir)/initdb" -D "$PG_DATA" -U "$PG_USER" --auth=trust \
      --encoding=UTF8 --locale=C.UTF-8 >"$PG_HOME/initdb.log" 2>&1 ||
      die "initdb failed: see $PG_HOME/initdb.log"
    # Loopback only, no Unix socket (its default folder belongs to the system
    # cluster), and modest memory for a shared 2-core machine.
    cat >>"$PG_DATA/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = ''
shared_buffers = 64MB
max_connections = 50
fsync = on
EOF
  fi
  sed -i "s/^port = .*/port = $PG_PORT/" "$PG_DATA/postgresql.conf"
  pg_ctl_ -l "$PG_LOG" -w -t 60 start >/dev/null ||
    die "postgres did not start: see $PG_LOG"
  if ! as_pg_owner "$(pg_bindir)/psql" -h 127.0.0.1 -p "$PG_PORT" -U "$PG_USER" -d postgres \
    -tAc "SELECT 1 FROM pg_database WHERE datname = '$PG_DB'" | grep -q 1; then
    as_pg_owner "$(pg_bindir)/createdb" -h 127.0.0.1 -p "$PG_PORT" -U "$PG_USER" "$PG_DB"
  fi
  say "postgres ready on 127.0.0.1:$PG_PORT"
}

pg_down() {
  if pg_external; then
    say "postgres: external (DATABASE_URL), nothing to stop"
    return 0
  fi
  if pg_running; then
    say "stopping postgres"
    pg_ctl_ -m fast -w stop >/dev/null
  else
    say "postgres not running"
  fi
}

pg_status() {
  if pg_external; then
    say "postgres: external (DATABASE_URL)"
  elif pg_running; then
    say "postgres running on 127.0.0.1:$PG_PORT"
  else
    say "postgres stopped"
    return 1
  fi
}

# --- dispatch ---------------------------------------------------------------

print_env() {
  echo "BROKER_URL=kafka://127.0.0.1:$KAFKA_PORT"
  if pg_external; then
    echo "DATABASE_URL=$DATABASE_URL"
  else
    echo "DATABASE_URL=postgresql://$PG_USER@127.0.0.1:$PG_PORT/$PG_DB"
  fi
}

main() {
  local action=${1:-status}
  shift || true
  local parts=("$@")
  ((${#parts[@]})) || parts=(kafka postgres)
  local rc=0
  case $action in
  up | down | status)
    for part in "${parts[@]}"; do
      case $part in
      kafka | postgres) "${part/postgres/pg}_$action" || rc=1 ;;
      *) die "unknown part '$part' (kafka, postgres)" ;;
      esac
    done
    ;;
  env) print_env ;;
  fetch) kafka_fetch_jars ;;
  __exec-kafka) kafka_java kafka.Kafka "$KAFKA_HOME/server.properties" ;;
  *) die "usage: stack.sh up|down|status [kafka|postgres ...] | env | fetch" ;;
  esac
  return $rc
}

main "$@"
