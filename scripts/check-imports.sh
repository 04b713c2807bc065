#!/usr/bin/env bash
# Import rules (layering), checked on every package of the module, test files included:
#   1. Only services/..., gen/... and testkit may import the sqlc package (gen/db) or pgx
#      (github.com/jackc/pgx/v5 and its subpackages). HTTP wiring, cmd/ and the rest go through services.
#   2. Nothing under services/ imports Echo (github.com/labstack/echo/v4...): services know no HTTP framework.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

MOD="github.com/flowxi/backend"
GO="${GO:-go}"

# ImportPath, then the imports of the package, of its in-package tests and of its external (_test) tests.
list="$("$GO" list -f '{{.ImportPath}} {{join .Imports " "}} {{join .TestImports " "}} {{join .XTestImports " "}}' ./...)"

allowed_db_importer() {
	case "$1" in
	"$MOD"/services/* | "$MOD"/gen | "$MOD"/gen/* | "$MOD"/testkit) return 0 ;;
	*) return 1 ;;
	esac
}

violations=0
while read -r pkg imports; do
	[ -n "$pkg" ] || continue
	for imp in $imports; do
		case "$imp" in
		"$MOD"/gen/db | "$MOD"/gen/db/* | github.com/jackc/pgx/v5 | github.com/jackc/pgx/v5/*)
			if ! allowed_db_importer "$pkg"; then
				echo "import rule: $pkg imports $imp (only services/..., gen/... and testkit may use the database layer)" >&2
				violations=$((violations + 1))
			fi
			;;
		github.com/labstack/echo/v4 | github.com/labstack/echo/v4/*)
			case "$pkg" in
			"$MOD"/services | "$MOD"/services/*)
				echo "import rule: $pkg imports $imp (services/ must not depend on Echo)" >&2
				violations=$((violations + 1))
				;;
			esac
			;;
		esac
	done
done <<<"$list"

if [ "$violations" -gt 0 ]; then
	echo "check-imports: $violations violation(s)" >&2
	exit 1
fi
echo "check-imports: ok ($(grep -c . <<<"$list") packages)"
