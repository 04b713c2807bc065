# Flowxi backend: developer and CI entry points (see README.md).
#
# Targets that need PostgreSQL/Redis call `scripts/services.sh env` in the same recipe line: it uses
# DATABASE_URL / REDIS_URL when they are set, and otherwise starts (or reuses) a project-local PostgreSQL
# and Redis under .data/, installing them with apt-get when they are missing.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

# A bare CI environment may not have Go on PATH.
ifeq ($(shell command -v go 2>/dev/null),)
export PATH := /usr/local/go/bin:$(PATH)
endif

GO ?= go
PKG ?= ./...
# JOURNEY=0 skips the end-to-end journey in `make test`.
JOURNEY ?= 1
TESTFLAGS ?=
# The suites `make test` runs a second time against a Redis Cluster (FLOWXI_TEST_REDIS=cluster):
# everything that keeps secrets' state in Redis.
CLUSTER_PKG ?= ./services/identity/... ./services/twofactor/... ./services/registration/... ./infra/ratelimit/... ./infra/cache/...
BENCH ?= .
BENCHTIME ?= 1x

SERVICES := scripts/services.sh
# Exports DATABASE_URL and REDIS_URL into the recipe's shell. The `|| exit` matters: a bare
# `eval "$$(scripts/services.sh env)"` would succeed even when services.sh fails.
SERVICES_ENV = svc_env="$$($(SERVICES) env)" || exit $$?; eval "$$svc_env"

# OpenAPI linter, pinned in tools/package.json + tools/package-lock.json (installed with `npm ci`).
REDOCLY := tools/node_modules/.bin/redocly
REDOCLY_STAMP := tools/node_modules/.flowxi-installed
# Generated TypeScript client (clients/typescript): its npm tools are pinned in its package-lock.json.
TS_CLIENT := clients/typescript
TS_STAMP := $(TS_CLIENT)/node_modules/.flowxi-installed
# Everything `make generate` writes; check-generate fails when any of it changes.
GENERATED := gen/ $(TS_CLIENT)/src/schema.d.ts $(TS_CLIENT)/src/operations.ts docs/index.html
export REDOCLY_TELEMETRY := off
export REDOCLY_SUPPRESS_UPDATE_NOTICE := true

.PHONY: help run build test test-cluster journey generate check-generate lint vet fmt-check check-imports openapi-lint ts-typecheck \
	bench fuzz services-env services-status services-stop

help: ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

run: ## start the server on local defaults (local PostgreSQL/Redis unless DATABASE_URL/REDIS_URL are set)
	$(SERVICES_ENV); exec $(GO) run ./cmd/flowxi serve

build: ## build the ./flowxi binary
	$(GO) build -o flowxi ./cmd/flowxi

test: $(TS_STAMP) ## whole suite: go test -race, then the TypeScript end-to-end journey (PKG=, TESTFLAGS= narrow it and skip the journey)
	$(SERVICES_ENV); $(SERVICES) tools; minio_bin="$$($(SERVICES) minio-bin)" || exit $$?; \
	FLOWXI_TEST_DATABASE_URL="$$DATABASE_URL" FLOWXI_TEST_REDIS_URL="$$REDIS_URL" FLOWXI_MINIO_BIN="$$minio_bin" \
		$(GO) test -race -count=1 -timeout 20m $(TESTFLAGS) $(PKG); \
	if [ "$(PKG)" = "./..." ] && [ -z "$(TESTFLAGS)" ]; then \
		FLOWXI_TEST_DATABASE_URL="$$DATABASE_URL" FLOWXI_TEST_REDIS=cluster \
			$(GO) test -race -count=1 -timeout 10m $(CLUSTER_PKG); fi; \
	if [ "$(PKG)" = "./..." ] && [ -z "$(TESTFLAGS)" ] && [ "$(JOURNEY)" != "0" ]; then GO="$(GO)" scripts/journey.sh; fi

test-cluster: ## the identity, 2FA, registration and rate-limit suites again, on a Redis Cluster they start (3 primaries, a replica each)
	$(SERVICES_ENV); FLOWXI_TEST_DATABASE_URL="$$DATABASE_URL" FLOWXI_TEST_REDIS=cluster \
		$(GO) test -race -count=1 -timeout 10m $(TESTFLAGS) $(CLUSTER_PKG)

journey: $(TS_STAMP) ## only the end-to-end journey (clients/typescript/test/journey.test.ts) on a fresh database
	$(SERVICES_ENV); GO="$(GO)" scripts/journey.sh

generate: $(TS_STAMP) $(REDOCLY_STAMP) ## regenerate gen/ (oapi-codegen, sqlc), the TypeScript client types and docs/index.html
	$(GO) generate ./gen/...
	npm run --silent gen --prefix $(TS_CLIENT)
	$(REDOCLY) build-docs openapi.yaml --inlineBundle --template docs/template.hbs -o docs/index.html
	@# Redoc's attribution logo is an <img> from its CDN: a third-party request on every visit (and a
	@# console error offline). The page stays self-contained with an empty inline SVG in its place.
	sed -i -E 's|https://cdn\.redoc\.ly/redoc/logo-mini(-full)?\.svg|data:image/svg+xml,%3Csvg%20xmlns=%22http://www.w3.org/2000/svg%22/%3E|g' docs/index.html
	@! grep -q 'cdn\.redoc\.ly' docs/index.html || { echo "docs/index.html still loads from cdn.redoc.ly" >&2; exit 1; }

check-generate: ## fail when `make generate` changes anything it generates (gen/, the TypeScript client types)
	$(MAKE) generate
	@if ! git diff --quiet --exit-code -- $(GENERATED) || [ -n "$$(git status --porcelain -- $(GENERATED))" ]; then \
		echo "check-generate: generated files are not up to date with openapi.yaml / migrations / queries:" >&2; \
		git status --porcelain -- $(GENERATED) >&2; \
		git --no-pager diff --stat -- $(GENERATED) >&2; \
		git --no-pager diff -- $(GENERATED) | head -n 200 >&2; \
		echo "check-generate: run 'make generate' and commit the result" >&2; \
		exit 1; \
	fi
	@echo "check-generate: generated files are up to date"

lint: vet fmt-check check-imports openapi-lint ts-typecheck ## go vet, gofmt, import rules, OpenAPI lint, TypeScript client type check

vet:
	$(GO) vet ./...

# Tracked and new (not ignored) .go files outside gen/.
fmt-check:
	@files=(); \
	while IFS= read -r -d '' f; do if [ -f "$$f" ]; then files+=("$$f"); fi; done \
		< <(git ls-files -z --cached --others --exclude-standard -- '*.go' ':(exclude)gen/'); \
	bad=""; \
	if [ "$${#files[@]}" -gt 0 ]; then bad="$$(gofmt -l "$${files[@]}")"; fi; \
	if [ -n "$$bad" ]; then \
		echo "gofmt: these files are not formatted (run gofmt -w):" >&2; echo "$$bad" >&2; exit 1; \
	fi; \
	echo "gofmt: ok ($${#files[@]} files)"

check-imports:
	GO="$(GO)" scripts/check-imports.sh

$(REDOCLY_STAMP): tools/package.json tools/package-lock.json
	npm ci --prefix tools --no-audit --no-fund
	@touch $@

# Lints the contract, then proves the Flowxi rules are live: a fixture that breaks each of them
# must be reported for each (a misconfigured plugin or rule would otherwise pass silently).
LINT_FIXTURE := tools/redocly/testdata/violations.yaml
openapi-lint: $(REDOCLY_STAMP)
	$(REDOCLY) lint --config redocly.yaml openapi.yaml
	@if out="$$($(REDOCLY) lint --config redocly.yaml --format stylish $(LINT_FIXTURE) 2>&1)"; then \
		echo "openapi-lint: $(LINT_FIXTURE) passed: the Flowxi rules of redocly.yaml are not active" >&2; exit 1; \
	fi; \
	for want in 'error    operation-operationId' 'error    operation-summary' 'THING_OK: "2xx" is not an HTTP status' \
		'THING_MISSING has no row' 'lists GHOST, which is not in the enum'; do \
		grep -qF -- "$$want" <<<"$$out" || { echo "openapi-lint: $(LINT_FIXTURE): no report for '$$want':" >&2; echo "$$out" >&2; exit 1; }; \
	done; \
	if [ "$$(grep -cF 'rule/media-type-example' <<<"$$out")" -ne 2 ]; then \
		echo "openapi-lint: $(LINT_FIXTURE): expected 2 media-type-example reports:" >&2; echo "$$out" >&2; exit 1; \
	fi; \
	echo "openapi-lint: the Flowxi rules report their fixture as expected"

$(TS_STAMP): $(TS_CLIENT)/package.json $(TS_CLIENT)/package-lock.json
	npm ci --prefix $(TS_CLIENT) --no-audit --no-fund
	@touch $@

# tsc --noEmit over the client and the journey: a contract change that breaks callers fails here.
ts-typecheck: $(TS_STAMP)
	npm run --silent typecheck --prefix $(TS_CLIENT)

bench: ## benchmarks under bench/ (BENCH=, BENCHTIME= to tune)
	@if [ -z "$$(find bench -name '*_test.go' -print -quit 2>/dev/null)" ]; then \
		echo "bench: no benchmarks yet (bench/ has no _test.go files); nothing to run"; exit 0; \
	fi; \
	$(SERVICES_ENV); \
	FLOWXI_TEST_DATABASE_URL="$$DATABASE_URL" FLOWXI_TEST_REDIS_URL="$$REDIS_URL" \
		$(GO) test -run '^$$' -bench '$(BENCH)' -benchtime $(BENCHTIME) ./bench/...

FUZZTIME ?= 20s
# Each target runs for a bounded time (not in CI's main path; its seed corpus runs in `make test`).
FUZZ_TARGETS := FuzzResolve:./kit/i18n FuzzParse:./services/identity/tokens FuzzValidationMapper:./server FuzzTextRule:./server FuzzRequestHash:./services/ledger FuzzOrientation:./services/profile

fuzz: ## run every fuzz target for FUZZTIME each (default 20s)
	@for t in $(FUZZ_TARGETS); do \
		name=$${t%%:*}; pkg=$${t#*:}; echo "== $$name ($$pkg)"; \
		$(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	done

services-env: ## print export lines for DATABASE_URL / REDIS_URL, to eval (make -s services-env)
	@$(SERVICES) env

services-status: ## show whether the local PostgreSQL / Redis are running
	@$(SERVICES) status

services-stop: ## stop the local PostgreSQL and Redis under .data/
	$(SERVICES) stop
