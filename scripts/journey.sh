#!/usr/bin/env bash
# End-to-end journey (clients/typescript/test/journey.test.ts), run by `make test` after the Go tests,
# then the client's package test and the same journey in headless Chromium (test/browser.test.ts).
#
#   scripts/journey.sh      # needs DATABASE_URL and REDIS_URL (make test exports them via services.sh)
#
# Builds ./cmd/flowxi, creates a fresh database for the run on the DATABASE_URL server, and runs the
# TypeScript journey with Node's test runner. The journey starts its own SMTP server and the flowxi
# binary (on free ports, with its own data directory and Redis key prefix) and stops both at the end;
# this script drops the database and the Redis keys afterwards. Exits non-zero when the journey fails.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
CLIENT="$ROOT/clients/typescript"

log() { printf 'journey.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

: "${DATABASE_URL:?journey.sh: DATABASE_URL is not set (run it through make test)}"
: "${REDIS_URL:?journey.sh: REDIS_URL is not set (run it through make test)}"
command -v node >/dev/null || die "node is required"
command -v psql >/dev/null || die "psql is required to create the journey's database (apt-get install postgresql-client)"
GO="${GO:-go}"

run_id="$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
db="flowxi_journey_$run_id"
work="$(mktemp -d "${TMPDIR:-/tmp}/flowxi-journey.XXXXXX")"
export JOURNEY_REDIS_PREFIX="flowxi-journey-$run_id:"

# DATABASE_URL with its database name replaced (query parameters kept).
if [[ "$DATABASE_URL" =~ ^(postgres(ql)?://[^/?]+)(/[^?]*)?(\?.*)?$ ]]; then
	JOURNEY_DATABASE_URL="${BASH_REMATCH[1]}/$db${BASH_REMATCH[4]}"
else
	die "DATABASE_URL is not a postgres:// URL"
fi
export JOURNEY_DATABASE_URL

cleanup() {
	local rc=$?
	psql "$DATABASE_URL" -v ON_ERROR_STOP=1 -qXc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 ||
		log "warning: could not drop database $db"
	if command -v redis-cli >/dev/null; then
		redis-cli -u "$REDIS_URL" --scan --pattern "${JOURNEY_REDIS_PREFIX}*" 2>/dev/null |
			xargs -r -n 100 redis-cli -u "$REDIS_URL" DEL >/dev/null 2>&1 || true
	fi
	if [ "$rc" -ne 0 ] && [ -s "$work/server.log" ]; then
		log "journey failed; last lines of the server log:"
		tail -n 40 "$work/server.log" >&2
	fi
	rm -rf "$work"
	exit "$rc"
}
trap cleanup EXIT

log "building ./cmd/flowxi"
"$GO" build -o "$work/flowxi" ./cmd/flowxi

psql "$DATABASE_URL" -v ON_ERROR_STOP=1 -qXc "CREATE DATABASE $db" >/dev/null
log "database $db created"

if [ ! -f "$CLIENT/node_modules/.flowxi-installed" ] || [ "$CLIENT/package-lock.json" -nt "$CLIENT/node_modules/.flowxi-installed" ]; then
	npm ci --prefix "$CLIENT" --no-audit --no-fund
	touch "$CLIENT/node_modules/.flowxi-installed"
fi
rm -rf "$CLIENT/build"
# dist/: the package as an app installs it (packed by test/package.test.ts, loaded by the browser
# journey); build/: the client and its tests compiled for Node's test runner.
npm run --silent build --prefix "$CLIENT"
npm run --silent build:test --prefix "$CLIENT"
# The statement step reads the PDF statement's text with pdftotext (poppler-utils, apt-get as root).
"$ROOT/scripts/services.sh" pdftotext

mkdir -p "$work/data"
export FLOWXI_BIN="$work/flowxi" JOURNEY_DATA_DIR="$work/data" JOURNEY_SERVER_LOG="$work/server.log" FLOWXI_ROOT="$ROOT"

# An internal API key for the journey's deposits, created by the binary (which migrates the
# database first) with the same data directory, hence the same keys, as the server will use.
if key="$(DATABASE_URL="$JOURNEY_DATABASE_URL" FLOWXI_DATA_DIR="$work/data" REDIS_URL="$REDIS_URL" \
	"$work/flowxi" internal-key create --name journey --scopes ledger:deposit,compliance:read,compliance:write,events:read 2>"$work/key.err")"; then
	export JOURNEY_INTERNAL_KEY="$key"
elif grep -q 'unknown command' "$work/key.err"; then
	log "this binary has no internal keys yet (no ledger): money steps cannot run"
else
	cat "$work/key.err" >&2
	die "flowxi internal-key create failed"
fi
cd "$CLIENT"
# The client's own tests (history paging, balance at; a fake fetch, no server) run first.
node --test --test-reporter=spec build/test/history.test.js build/test/paging.test.js build/test/package.test.js
node --test --test-reporter=spec build/test/journey.test.js build/test/webhooks.test.js
# The same journey in headless Chromium on another origin, then /docs as a person sees it
# (test/browser.test.ts). Debian's chromium is installed when missing (apt-get, as root); only when
# that cannot be done is the browser journey skipped, with the reason.
if chromium="$("$ROOT/scripts/services.sh" chromium 2>"$work/chromium.err")"; then
	CHROMIUM_BIN="$chromium" node --test --test-reporter=spec build/test/browser.test.js
else
	log "SKIPPED the browser journey and the /docs check: Chromium is missing and could not be installed ($(tail -n 1 "$work/chromium.err"))"
fi
