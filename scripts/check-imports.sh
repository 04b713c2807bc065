#!/usr/bin/env bash
# Import rules (layering), checked on every package of the module, test files included. The layers,
# from the bottom: kit/ (request plumbing and shared rules: typed API error, request context,
# localization, clock, field rules, API time, retry) → infra/ (how we talk to PostgreSQL, Redis,
# SMTP, object storage; secrets, metrics, rate limits) → services/ (capabilities, named after the
# spec's tags) → server/ (Echo wiring) → app/ (composition) → cmd/. A package imports only from
# its own layer or the layers below (tests included; gen, testkit and bench stand aside: gen is
# generated, testkit and bench may use everything).
#   1. Only infra/..., services/..., gen/... and testkit may import the sqlc package (gen/db) or pgx
#      (github.com/jackc/pgx/v5 and its subpackages). HTTP wiring, cmd/ and the rest go through services.
#   2. Nothing under kit/, infra/ or services/ imports Echo: only server/ knows the HTTP framework.
#   3. kit/ imports neither infra/, services/, server/ nor app/; infra/ imports neither services/,
#      server/ nor app/; services/ imports neither server/ nor app/.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

MOD="github.com/flowxi/backend"
GO="${GO:-go}"

# ImportPath, then the imports of the package, of its in-package tests and of its external (_test) tests.
list="$("$GO" list -f '{{.ImportPath}} {{join .Imports " "}} {{join .TestImports " "}} {{join .XTestImports " "}}' ./...)"

allowed_db_importer() {
	case "$1" in
	"$MOD"/infra/* | "$MOD"/services/* | "$MOD"/gen | "$MOD"/gen/* | "$MOD"/testkit) return 0 ;;
	*) return 1 ;;
	esac
}

# layer PKG: the rank of a package of ours in the layering (empty: outside it).
layer() {
	case "$1" in
	"$MOD"/kit/*) echo 1 ;;
	"$MOD"/infra/*) echo 2 ;;
	"$MOD"/services/*) echo 3 ;;
	"$MOD"/server | "$MOD"/server/*) echo 4 ;;
	"$MOD"/app | "$MOD"/app/*) echo 5 ;;
	*) echo "" ;;
	esac
}

violations=0
while read -r pkg imports; do
	[ -n "$pkg" ] || continue
	from="$(layer "${pkg%_test}")"
	for imp in $imports; do
		case "$imp" in
		"$MOD"/gen/db | "$MOD"/gen/db/* | github.com/jackc/pgx/v5 | github.com/jackc/pgx/v5/*)
			if ! allowed_db_importer "$pkg"; then
				echo "import rule: $pkg imports $imp (only infra/..., services/..., gen/... and testkit may use the database layer)" >&2
				violations=$((violations + 1))
			fi
			;;
		github.com/labstack/echo/v4 | github.com/labstack/echo/v4/*)
			case "$pkg" in
			"$MOD"/kit/* | "$MOD"/infra/* | "$MOD"/services/*)
				echo "import rule: $pkg imports $imp (only server/ may depend on Echo)" >&2
				violations=$((violations + 1))
				;;
			esac
			;;
		"$MOD"/*)
			to="$(layer "$imp")"
			if [ -n "$from" ] && [ -n "$to" ] && [ "$to" -gt "$from" ]; then
				echo "import rule: $pkg imports $imp (a layer above its own: kit → infra → services → server → app)" >&2
				violations=$((violations + 1))
			fi
			;;
		esac
	done
done <<<"$list"

if [ "$violations" -gt 0 ]; then
	echo "check-imports: $violations violation(s)" >&2
	exit 1
fi
echo "check-imports: ok ($(grep -c . <<<"$list") packages)"
