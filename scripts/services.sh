#!/usr/bin/env bash
# Local PostgreSQL and Redis for development, tests and CI.
#
#   eval "$(scripts/services.sh env)"   # ensure both are up; prints export lines for DATABASE_URL / REDIS_URL
#   scripts/services.sh stop            # stop the project-local PostgreSQL and Redis started by `env`
#   scripts/services.sh status          # say what is running (exit 0 when both local services are up)
#   scripts/services.sh tools           # ensure test tools (oathtool, haproxy, pgbouncer, pdftotext, chromium, the MinIO test S3 server) are installed
#   scripts/services.sh pdftotext       # ensure pdftotext (poppler-utils) is installed: the statement tests read PDFs with it
#   scripts/services.sh chromium        # ensure Debian's chromium is installed (the browser journey and the /docs check); prints its path
#   scripts/services.sh minio-bin       # build MinIO if needed and print the path of its binary
#
# Rules for `env`:
#   - DATABASE_URL / REDIS_URL already set in the environment are used as they are (nothing is started).
#   - Otherwise a project-local cluster is started under .data/pg (superuser `app`, trust auth, 127.0.0.1 only,
#     first free port from 54329) and a project-local redis-server under .data/redis (first free port from 16379).
#     A running instance is reused. When the `postgres` OS user cannot reach .data/ (running as root in a
#     private home directory), the cluster lives in /tmp/flowxi-pg-<hash of the repo path> instead.
#   - Missing PostgreSQL / Redis binaries are installed with apt-get (root only).
#   - Only `export` lines go to stdout; every diagnostic goes to stderr.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DATA="$ROOT/.data"
PG_DB="flowxi"
PG_USER="app"
PG_PORT_FIRST=54329
REDIS_PORT_FIRST=16379
PORT_TRIES=50

# Keep the caller's stdout on fd 3 for the export lines; everything else goes to stderr.
exec 3>&1 1>&2

log() { printf 'services.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

is_root() { [ "$(id -u)" -eq 0 ]; }

# --- helpers ---------------------------------------------------------------------------------------------

apt_install() { # apt_install [--update-first] PKG...
	local update_first=0
	if [ "${1:-}" = "--update-first" ]; then update_first=1; shift; fi
	is_root || die "need to install $* but not running as root; install it (apt-get install $*) or, for the database and cache, set DATABASE_URL/REDIS_URL"
	command -v apt-get >/dev/null || die "need $* but apt-get is not available; install them by hand"
	local apt=(apt-get -o DPkg::Lock::Timeout=300 -o Dpkg::Use-Pty=0 -q)
	export DEBIAN_FRONTEND=noninteractive
	log "installing with apt-get: $*"
	if [ "$update_first" -eq 1 ]; then
		"${apt[@]}" update </dev/null >&2
		"${apt[@]}" install -y --no-install-recommends "$@" </dev/null >&2
	elif ! "${apt[@]}" install -y --no-install-recommends "$@" </dev/null >&2; then
		log "apt-get install failed; running apt-get update and retrying"
		"${apt[@]}" update </dev/null >&2
		"${apt[@]}" install -y --no-install-recommends "$@" </dev/null >&2
	fi
}

# port_in_use PORT: something accepts TCP connections on 127.0.0.1:PORT.
port_in_use() { (exec 4<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# pid_alive PID
pid_alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }

# shell_quote STR: STR in single quotes, safe to eval.
shell_quote() { local q="'\\''"; printf "'%s'" "${1//\'/$q}"; }

hash_root() { printf '%s' "$ROOT" | sha256sum | cut -c1-12; }

# Serialise concurrent `env`/`stop` calls on one checkout (e.g. two `make` targets started at once).
take_lock() {
	mkdir -p "$DATA"
	if command -v flock >/dev/null; then
		exec 9>"$DATA/.services.lock"
		flock -w 300 9 || die "timed out waiting for $DATA/.services.lock"
	fi
}

# Daemons must not inherit fd 3 (the caller's stdout, often a $(...) pipe) or fd 9 (the lock), or the
# caller would wait forever for EOF and the lock would never be released.
daemon() { "$@" </dev/null 3>&- 9>&-; }

# --- PostgreSQL ------------------------------------------------------------------------------------------

PGBIN=""
PGROOT=""

pg_find_bin() { # sets PGBIN; prefers the major version an existing cluster was made with
	local want="" d
	for d in "$DATA/pg/data" "/tmp/flowxi-pg-$(hash_root)/data"; do
		if [ -f "$d/PG_VERSION" ]; then want="$(cat "$d/PG_VERSION")"; break; fi
	done
	if [ -n "${PG_BIN:-}" ] && [ -x "$PG_BIN/initdb" ]; then PGBIN="$PG_BIN"; return 0; fi
	if [ -n "$want" ] && [ -x "/usr/lib/postgresql/$want/bin/initdb" ]; then
		PGBIN="/usr/lib/postgresql/$want/bin"; return 0
	fi
	PGBIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | while read -r b; do if [ -x "$b/initdb" ]; then echo "$b"; fi; done | tail -n1 || true)"
	if [ -z "$PGBIN" ] && command -v initdb >/dev/null && command -v pg_ctl >/dev/null; then
		PGBIN="$(dirname "$(command -v initdb)")"
	fi
	[ -n "$PGBIN" ]
}

pg_ensure_installed() {
	if pg_find_bin && { ! is_root || id -u postgres >/dev/null 2>&1; }; then
		if [ -x "$PGBIN/psql" ] || command -v psql >/dev/null; then return 0; fi
	fi
	log "PostgreSQL server binaries (or the postgres OS user) not found"
	apt_install --update-first postgresql postgresql-contrib
	pg_find_bin || die "PostgreSQL installed but no initdb found under /usr/lib/postgresql/*/bin"
	if is_root; then id -u postgres >/dev/null 2>&1 || die "the postgres OS user is still missing after install"; fi
}

# Run a PostgreSQL server tool as the cluster owner: `postgres` when we are root, ourselves otherwise.
pg_as_owner() {
	if is_root; then
		(cd / && runuser -u postgres -- "$@")
	else
		"$@"
	fi
}

pg_choose_root() { # sets PGROOT
	local fallback
	fallback="/tmp/flowxi-pg-$(hash_root)"
	PGROOT="$DATA/pg"
	mkdir -p "$DATA"
	if is_root && ! runuser -u postgres -- test -x "$DATA" 2>/dev/null; then
		log "the postgres user cannot traverse $DATA; using $fallback"
		PGROOT="$fallback"
	fi
	# Unix socket paths are limited to 107 bytes; "/sock/.s.PGSQL.NNNNN.lock" adds 25.
	if [ "$PGROOT" = "$DATA/pg" ] && [ "${#PGROOT}" -gt 80 ]; then
		log "$PGROOT is too long for a Unix socket path; using $fallback"
		PGROOT="$fallback"
	fi
	if [ "$PGROOT" = "$fallback" ] && [ -e "$PGROOT" ] && is_root; then
		# Refuse a directory in /tmp that someone else planted.
		[ "$(stat -c %U "$PGROOT")" = "postgres" ] || die "$PGROOT exists and is not owned by postgres; remove it"
	fi
}

pg_existing_root() { # for stop/status: the first location that holds a cluster
	local d
	for d in "$DATA/pg" "/tmp/flowxi-pg-$(hash_root)"; do
		if [ -f "$d/data/PG_VERSION" ]; then PGROOT="$d"; return 0; fi
	done
	return 1
}

# pg_running: the cluster in $PGROOT is up; prints its port.
pg_running() {
	local pidfile="$PGROOT/data/postmaster.pid" pid port
	[ -f "$pidfile" ] || return 1
	pid="$(sed -n 1p "$pidfile" 2>/dev/null || true)"
	port="$(sed -n 4p "$pidfile" 2>/dev/null || true)"
	pid_alive "$pid" || return 1
	[ -n "$port" ] || return 1
	if [ -x "$PGBIN/pg_isready" ]; then
		"$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$port" -t 5 || return 1
	else
		port_in_use "$port" || return 1
	fi
	echo "$port"
}

# pg_shared_buffers: a quarter of the machine's memory, between 128MB and 4GB. PostgreSQL's 128MB
# default is too small for the ledger's indexes once it holds about 10^7 entries: the growth
# benchmark's transfers fell to 0.73 × and its history pages' p99 rose 3 × between 10^5 and
# 10^7 entries, and were flat (1.09 ×, 0.6–0.7 ×) with 3GB (docs/perf/growth.md).
pg_shared_buffers() {
	local kb
	kb="$(awk '/^MemTotal:/ {print $2}' /proc/meminfo 2>/dev/null || true)"
	[[ "$kb" =~ ^[0-9]+$ ]] || { echo "128MB"; return; }
	local mb=$((kb / 4 / 1024))
	[ "$mb" -lt 128 ] && mb=128
	[ "$mb" -gt 4096 ] && mb=4096
	echo "${mb}MB"
}

pg_write_conf() { # pg_write_conf PORT
	local port="$1" sock="$PGROOT/sock"
	cat >"$PGROOT/data/flowxi.conf" <<EOF
# Written by scripts/services.sh on every start; local development and tests only.
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$sock'
max_connections = 200
shared_buffers = $(pg_shared_buffers)
# Durability is not needed for a throwaway cluster ...
fsync = off
full_page_writes = off
# ... but commits still wait for the WAL write, so benchmarks stay honest.
synchronous_commit = on
timezone = 'UTC'
log_timezone = 'UTC'
log_min_duration_statement = -1
EOF
	if is_root; then chown postgres:postgres "$PGROOT/data/flowxi.conf"; fi
}

pg_init() {
	local locale="C"
	if locale -a 2>/dev/null | grep -qiE '^c\.utf-?8$'; then locale="C.UTF-8"; fi
	log "initialising a PostgreSQL cluster in $PGROOT/data ($("$PGBIN/postgres" --version 2>/dev/null || echo "$PGBIN"))"
	if [ -f "$PGROOT/data/PG_VERSION" ]; then
		local old
		old="$PGROOT/data.old-$(cat "$PGROOT/data/PG_VERSION")-$(date +%s)"
		log "existing cluster was made by another major version; moving it to $old"
		mv "$PGROOT/data" "$old"
	fi
	rm -rf "$PGROOT/data"
	mkdir -p "$PGROOT/data"
	chmod 700 "$PGROOT/data"
	if is_root; then chown -R postgres:postgres "$PGROOT"; fi
	pg_as_owner "$PGBIN/initdb" -D "$PGROOT/data" -U "$PG_USER" --auth=trust -E UTF8 --locale="$locale" --no-sync >"$PGROOT/initdb.log" 2>&1 ||
		{ cat "$PGROOT/initdb.log" >&2; die "initdb failed"; }
	echo "include_if_exists = 'flowxi.conf'" >>"$PGROOT/data/postgresql.conf"
}

pg_start() { # prints the port
	local port tries=0 pgversion_bin
	mkdir -p "$PGROOT/sock"
	chmod 755 "$PGROOT"
	if is_root; then chown postgres:postgres "$PGROOT" "$PGROOT/sock"; fi
	pgversion_bin="$("$PGBIN/postgres" --version | sed -E 's/.* ([0-9]+)(\.[0-9]+)*.*/\1/')"
	if [ ! -f "$PGROOT/data/PG_VERSION" ] || [ "$(cat "$PGROOT/data/PG_VERSION")" != "$pgversion_bin" ]; then
		pg_init
	fi
	port="$(cat "$PGROOT/port" 2>/dev/null || echo "$PG_PORT_FIRST")"
	[[ "$port" =~ ^[0-9]+$ ]] || port="$PG_PORT_FIRST"
	while :; do
		tries=$((tries + 1))
		[ "$tries" -le "$PORT_TRIES" ] || die "no free port for PostgreSQL from $PG_PORT_FIRST"
		if port_in_use "$port"; then port=$((port + 1)); continue; fi
		pg_write_conf "$port"
		log "starting PostgreSQL on 127.0.0.1:$port (log: $PGROOT/server.log)"
		if daemon pg_as_owner "$PGBIN/pg_ctl" -D "$PGROOT/data" -l "$PGROOT/server.log" -w -t 60 start >&2; then
			echo "$port" >"$PGROOT/port"
			echo "$port"
			return 0
		fi
		if port_in_use "$port"; then
			log "port $port was taken meanwhile; trying the next one"
			port=$((port + 1))
			continue
		fi
		tail -n 30 "$PGROOT/server.log" >&2 || true
		die "PostgreSQL failed to start"
	done
}

pg_psql() { # pg_psql PORT DB SQL
	local psql="$PGBIN/psql"
	[ -x "$psql" ] || psql="psql"
	PGCONNECT_TIMEOUT=10 "$psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$1" -U "$PG_USER" -d "$2" -tA -c "$3" </dev/null
}

pg_env() { # prints the DATABASE_URL
	pg_ensure_installed
	pg_choose_root
	local port
	if port="$(pg_running)"; then
		log "PostgreSQL already running on 127.0.0.1:$port ($PGROOT)"
	else
		port="$(pg_start)"
	fi
	if [ "$(pg_psql "$port" postgres "select 1 from pg_database where datname = '$PG_DB'")" != "1" ]; then
		log "creating database $PG_DB"
		pg_psql "$port" postgres "create database $PG_DB" >&2
	fi
	echo "postgres://$PG_USER@127.0.0.1:$port/$PG_DB?sslmode=disable"
}

pg_stop() {
	local d found=0 pidfile
	for d in "$DATA/pg" "/tmp/flowxi-pg-$(hash_root)"; do
		[ -f "$d/data/PG_VERSION" ] || continue
		found=1
		pidfile="$d/data/postmaster.pid"
		if [ -f "$pidfile" ] && pid_alive "$(sed -n 1p "$pidfile")"; then
			pg_find_bin || die "no PostgreSQL binaries to stop the cluster in $d with"
			log "stopping PostgreSQL ($d)"
			daemon pg_as_owner "$PGBIN/pg_ctl" -D "$d/data" -m fast -w -t 60 stop >&2
		else
			log "local PostgreSQL is not running ($d)"
		fi
	done
	[ "$found" -eq 1 ] || log "no local PostgreSQL cluster"
}

# --- Redis -----------------------------------------------------------------------------------------------

REDIS_DIR="$DATA/redis"

redis_ensure_installed() {
	if command -v redis-server >/dev/null && command -v redis-cli >/dev/null; then return 0; fi
	log "redis-server not found"
	apt_install --update-first redis-server
	command -v redis-server >/dev/null || die "redis-server still missing after install"
}

redis_ping() { [ "$(timeout 5 redis-cli -h 127.0.0.1 -p "$1" ping 2>/dev/null </dev/null || true)" = "PONG" ]; }

redis_running() { # prints the port
	local pid port
	pid="$(cat "$REDIS_DIR/redis.pid" 2>/dev/null || true)"
	port="$(cat "$REDIS_DIR/port" 2>/dev/null || true)"
	pid_alive "$pid" || return 1
	[ -n "$port" ] || return 1
	redis_ping "$port" || return 1
	echo "$port"
}

redis_start() { # prints the port
	local port tries=0 i
	mkdir -p "$REDIS_DIR"
	port="$(cat "$REDIS_DIR/port" 2>/dev/null || echo "$REDIS_PORT_FIRST")"
	[[ "$port" =~ ^[0-9]+$ ]] || port="$REDIS_PORT_FIRST"
	while :; do
		tries=$((tries + 1))
		[ "$tries" -le "$PORT_TRIES" ] || die "no free port for Redis from $REDIS_PORT_FIRST"
		if port_in_use "$port"; then port=$((port + 1)); continue; fi
		rm -f "$REDIS_DIR/redis.pid"
		log "starting redis-server on 127.0.0.1:$port (log: $REDIS_DIR/redis.log)"
		daemon redis-server --bind 127.0.0.1 --port "$port" --protected-mode yes \
			--save '' --appendonly no --dir "$REDIS_DIR" \
			--daemonize yes --pidfile "$REDIS_DIR/redis.pid" --logfile "$REDIS_DIR/redis.log" \
			>>"$REDIS_DIR/start.log" 2>&1 || true
		for i in $(seq 1 100); do
			if redis_ping "$port"; then
				# Wait for the pid file too, so `stop` can find the process.
				for i in $(seq 1 50); do [ -s "$REDIS_DIR/redis.pid" ] && break; sleep 0.1; done
				echo "$port" >"$REDIS_DIR/port"
				echo "$port"
				return 0
			fi
			pid_alive "$(cat "$REDIS_DIR/redis.pid" 2>/dev/null || true)" || [ "$i" -lt 20 ] || break
			sleep 0.1
		done
		if port_in_use "$port"; then
			log "port $port was taken meanwhile; trying the next one"
			port=$((port + 1))
			continue
		fi
		tail -n 20 "$REDIS_DIR/redis.log" "$REDIS_DIR/start.log" >&2 2>/dev/null || true
		die "redis-server failed to start"
	done
}

redis_env() { # prints the REDIS_URL
	redis_ensure_installed
	local port
	if port="$(redis_running)"; then
		log "Redis already running on 127.0.0.1:$port"
	else
		port="$(redis_start)"
	fi
	echo "redis://127.0.0.1:$port/0"
}

redis_stop() {
	local pid i
	pid="$(cat "$REDIS_DIR/redis.pid" 2>/dev/null || true)"
	if ! pid_alive "$pid"; then log "local Redis is not running"; rm -f "$REDIS_DIR/redis.pid"; return 0; fi
	# Make sure the pid is really our redis-server before signalling it.
	if [ -r "/proc/$pid/cmdline" ] && ! tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q 'redis-server'; then
		log "pid $pid in $REDIS_DIR/redis.pid is not a redis-server; not stopping it"
		return 0
	fi
	log "stopping Redis (pid $pid)"
	kill -TERM "$pid" 2>/dev/null || true
	for i in $(seq 1 100); do pid_alive "$pid" || break; sleep 0.1; done
	if pid_alive "$pid"; then log "Redis did not stop in 10 s; sending KILL"; kill -KILL "$pid" 2>/dev/null || true; fi
	rm -f "$REDIS_DIR/redis.pid"
}

# --- commands --------------------------------------------------------------------------------------------

cmd_env() {
	local db_url="${DATABASE_URL:-}" redis_url="${REDIS_URL:-}"
	if [ -n "$db_url" ] && [ -n "$redis_url" ]; then
		log "using DATABASE_URL and REDIS_URL from the environment"
	else
		take_lock
		if [ -n "$db_url" ]; then log "using DATABASE_URL from the environment"; else db_url="$(pg_env)"; fi
		if [ -n "$redis_url" ]; then log "using REDIS_URL from the environment"; else redis_url="$(redis_env)"; fi
	fi
	printf 'export DATABASE_URL=%s\n' "$(shell_quote "$db_url")" >&3
	printf 'export REDIS_URL=%s\n' "$(shell_quote "$redis_url")" >&3
}

cmd_stop() {
	take_lock
	pg_stop
	redis_stop
}

cmd_status() {
	local ok=0 port
	if pg_find_bin && pg_existing_root && port="$(pg_running)"; then
		log "PostgreSQL: running on 127.0.0.1:$port ($PGROOT)"
	else
		log "PostgreSQL: not running"; ok=1
	fi
	if port="$(redis_running)"; then
		log "Redis: running on 127.0.0.1:$port ($REDIS_DIR)"
	else
		log "Redis: not running"; ok=1
	fi
	return "$ok"
}

cmd_tools() {
	# oathtool: independent TOTP codes; haproxy and pgbouncer: the balancer and the pooler the
	# scale-out tests (e2e/scaleout) put in front of the instances and the database.
	local missing=() tool
	for tool in oathtool haproxy pgbouncer; do
		command -v "$tool" >/dev/null || [ -x "/usr/sbin/$tool" ] || missing+=("$tool")
	done
	if [ "${#missing[@]}" -gt 0 ]; then
		apt_install "${missing[@]}"
		for tool in "${missing[@]}"; do
			command -v "$tool" >/dev/null || [ -x "/usr/sbin/$tool" ] || die "$tool still missing after install"
		done
	fi
	# The packages' services are not wanted: the tests start their own instances.
	cmd_pdftotext
	# Chromium for the browser journey: a failure to install it is reported, not fatal here
	# (scripts/journey.sh then skips the browser journey and says why).
	(cmd_chromium) 3>/dev/null || log "chromium could not be installed: the browser journey will be skipped"
	minio_ensure
}

# pdftotext extracts the text of the PDF statements in the ledger tests and the journey (Debian's
# poppler-utils, installed like PostgreSQL: apt-get, as root).
cmd_pdftotext() {
	command -v pdftotext >/dev/null && return 0
	apt_install poppler-utils
	command -v pdftotext >/dev/null || die "pdftotext still missing after installing poppler-utils"
}

# chromium runs the browser journey and the /docs check (clients/typescript/test/browser), driven by
# playwright-core with this system browser: Debian's package, installed like PostgreSQL (apt-get, as
# root); nothing downloads a browser build. Prints the executable's path on fd 3 (stdout); a no-op
# when it is already installed.
CHROMIUM_BIN=/usr/bin/chromium
cmd_chromium() {
	if [ ! -x "$CHROMIUM_BIN" ]; then
		apt_install chromium
		[ -x "$CHROMIUM_BIN" ] || die "chromium still missing after installing it"
	fi
	echo "$CHROMIUM_BIN" >&3
}

# --- MinIO (the real S3-compatible server the storage tests start) ----------------------------------------
# Built from source with `go install` at a pinned commit (MinIO tags are not semver, so the module proxy
# serves it as a pseudo-version). The binary is cached per version outside the checkout, so worktrees and
# CI runs on one machine build it once; the Go build cache makes a rebuild a link step.
MINIO_VERSION="v0.0.0-20260212201848-7aac2a2c5b7c"
MINIO_DIR="${FLOWXI_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/flowxi/tools}/minio-$MINIO_VERSION"

minio_ensure() {
	if [ -x "$MINIO_DIR/minio" ]; then return 0; fi
	command -v go >/dev/null || die "go is needed to build MinIO"
	mkdir -p "$MINIO_DIR"
	log "building MinIO $MINIO_VERSION with go install (first time only; several minutes on 2 cores)"
	local tmp
	tmp="$(mktemp -d "$MINIO_DIR/build.XXXXXX")"
	GOBIN="$tmp" GOFLAGS=-buildvcs=false go install "github.com/minio/minio@$MINIO_VERSION" >&2 ||
		{ rm -rf "$tmp"; die "go install github.com/minio/minio@$MINIO_VERSION failed"; }
	mv "$tmp/minio" "$MINIO_DIR/minio"
	rm -rf "$tmp"
}

cmd_minio_bin() {
	minio_ensure
	echo "$MINIO_DIR/minio" >&3
}

usage() {
	sed -n '2,9p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
}

case "${1:-}" in
env) cmd_env ;;
stop) cmd_stop ;;
status) cmd_status ;;
tools) cmd_tools ;;
pdftotext) cmd_pdftotext ;;
chromium) cmd_chromium ;;
minio-bin) cmd_minio_bin ;;
-h | --help | help) usage ;;
*) usage; exit 2 ;;
esac
