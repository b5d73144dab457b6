#!/usr/bin/env bash
# The whole test suite, as README.md gives it (`make test`). On a fresh
# Debian machine it installs what the tests need: clickhouse-server 18.16
# and a modern ClickHouse 26.7 (the ClickHouse conformance, fault and app
# tests run against both real servers), zookeeper (the replicated-cluster
# test), gcc (builds the 26.7 launcher), chromium (the inspector's
# end-to-end tests) and the frontend's npm packages. Go modules come through
# the module proxy.
set -euo pipefail
cd "$(dirname "$0")/.."
step() { printf '\n==> %s\n' "$*"; }

step "system packages"
need=()
command -v clickhouse-server >/dev/null 2>&1 || need+=(clickhouse-server clickhouse-client)
[ -f /usr/share/java/zookeeper.jar ] || need+=(zookeeper)
command -v gcc >/dev/null 2>&1 || need+=(gcc libc6-dev)
[ -x /usr/bin/chromium ] || need+=(chromium)
command -v node >/dev/null 2>&1 || need+=(nodejs npm)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  else
    echo "missing ${need[*]}: install them (as root: apt-get install ${need[*]})" >&2
    [ -n "${CI:-}" ] && exit 1
  fi
fi
command -v clickhouse-server && clickhouse-server --version 2>/dev/null | head -1 || true

step "ClickHouse 26.7 (chDB's library from npm, run as a native server by schema/clickhouse/chtest/launcher)"
./scripts/install-clickhouse-modern.sh || { [ -n "${CI:-}" ] && exit 1; echo "26.7 not installed: its tests will skip" >&2; }

step "frontend: npm ci, build, and check the committed dist/ is what the sources build"
(cd frontend && npm ci --no-audit --no-fund --loglevel=error && npm run --silent build >/dev/null)
if ! git diff --quiet -- frontend/dist || [ -n "$(git ls-files --others --exclude-standard -- frontend/dist)" ]; then
  echo "frontend/dist differs from a fresh build of frontend/: run 'make frontend' and commit dist/" >&2
  git status --short -- frontend/dist >&2
  exit 1
fi
(cd frontend && npx --no-install vitest run --reporter=dot)

step "official webhook libraries: ingest/signature compares its verdicts with them (npm ci)"
(cd ingest/signature/testdata/official && npm ci --no-audit --no-fund --loglevel=error)

step "go vet and gofmt"
go vet ./...
unformatted=$(gofmt -l $(git ls-files '*.go'))
if [ -n "$unformatted" ]; then echo "gofmt would change: $unformatted" >&2; exit 1; fi

step "go test -race: every package but the two that run against real ClickHouse servers"
ch_pkgs="./schema/clickhouse/... ./cmd/hookscope"
go test -race -count=1 -timeout 30m $(go list ./... | grep -v -e '/schema/clickhouse' -e '/cmd/hookscope$')

step "go test -race: ClickHouse 18.16 and 26.7 (one subtest per server), the 18.16 cluster, and the app over both"
# -v so that the output names each server a suite passed on; the filter keeps
# the package lines, the per-server subtests and the cluster tests. A failure
# prints the whole log of the run (every test's output), since the filter
# would hide it.
gotest_log=$(mktemp)
set +e
go test -race -count=1 -timeout 30m -v $ch_pkgs >"$gotest_log" 2>&1
rc=$?
set -e
grep -E '^(ok|FAIL|panic:)|^    --- (PASS|FAIL|SKIP): [A-Za-z0-9_]+/(18\.16|26\.7) |^--- (PASS|FAIL|SKIP): Test[A-Za-z0-9_]*Cluster' "$gotest_log" || true
if [ "$rc" != 0 ]; then
  echo "go test failed (exit $rc); its whole output:" >&2
  grep -v -E '^(=== (RUN|PAUSE|CONT|NAME)|\s*--- PASS)' "$gotest_log" >&2
  exit "$rc"
fi
rm -f "$gotest_log"

step "the million-row export (issue 17.5), without -race: every format, the heap measured and bounded"
go test -count=1 -timeout 20m -run 'TestExportMillionRows$' -v ./cmd/hookscope | grep -E '^(ok|FAIL|panic:)|filled|rows,|--- FAIL|export_test'

step "inspector end-to-end tests (playwright-core + /usr/bin/chromium against a real hookscope)"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/hookscope" ./cmd/hookscope
(cd frontend && HOOKSCOPE_BIN="$tmp/hookscope" npm run --silent e2e)
