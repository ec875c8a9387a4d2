#!/usr/bin/env bash
# `make test`: every check and test. Installs its own tools under .cache/ first (idempotent).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
# The tools install while the code compiles (nothing below needs them before the tests run).
mkdir -p "$root/.cache"
"$root/scripts/tools.sh" python node stripe moto iac fuzz browser >"$root/.cache/tools.log" 2>&1 &
tools=$!
trap 'kill "$tools" 2>/dev/null || true' EXIT
export PATH="$root/.cache/venv/bin:$PATH"

echo "==> format and lints"
cargo fmt --all --check
if [ -n "${LINT_WHILE_BUILDING:-}" ]; then
  # A clean clone (CI sets this): the workspace's own crates compile through clippy-driver, the
  # driver `cargo clippy` runs, so the lints come with the build and the test build below instead
  # of a check of every dependency first (~2 min on two cores). Every cargo of the run inherits
  # it, so nothing compiles twice. Without it, clippy checks as usual: a developer's builds then
  # stay the ones `make dev` makes.
  RUSTC_WORKSPACE_WRAPPER="$(rustup which clippy-driver 2>/dev/null || command -v clippy-driver)"
  export RUSTC_WORKSPACE_WRAPPER CLIPPY_ARGS="-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__"
else
  cargo clippy --workspace --all-targets --quiet -- -D warnings
fi

echo "==> build (the e2e tests serve these binaries through cargo lambda watch)"
cargo build --workspace --quiet

echo "==> tools (installed meanwhile, or already)"
if ! wait "$tools"; then cat "$root/.cache/tools.log"; echo "installing the tools failed" >&2; exit 1; fi
cat "$root/.cache/tools.log"

echo "==> test binaries"
# Test threads get the 8 MiB a function's main thread has on Lambda (the default is 2 MiB).
export RUST_MIN_STACK="${RUST_MIN_STACK:-8388608}"
# Not `functions`: its binaries are the generated three-line mains (`xtask gen --check` holds them
# to that), with no tests; a test harness of each would be 53 more links of the AWS SDK, run for nothing.
cargo test --workspace --exclude functions --no-run --quiet --message-format=json-render-diagnostics \
  >target/test-binaries.json

# One DynamoDB Local for every suite (each test makes tables of its own): one JVM warming up
# instead of one per test process.
port="$("$root/.cache/venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
"$root/scripts/dynamodb-local.sh" -sharedDb -inMemory -port "$port" >/dev/null 2>&1 &
db_pid=$!
trap 'kill "$db_pid" "$tools" 2>/dev/null || true' EXIT
export TEST_DYNAMODB_ENDPOINT="http://127.0.0.1:$port"
for _ in $(seq 1 300); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done

# Side by side, slowest first: every Rust test binary (unit, integration, end-to-end; each starts
# what else it needs), then
#   iac:      route/table/env consistency, sam validate --lint (cfn-lint), terraform fmt, checkov
#   contract: every event the publisher produces against docs/events/asyncapi.json
#   fuzz:     schemathesis against the OpenAPI document, through cargo lambda watch
#   browser:  the storefront in Debian chromium (playwright-core), against make dev on free ports
# Three dev stacks (fuzz, browser, dev-stack test) and the end-to-end tests' watches run side by
# side, each watch holding an inotify instance per function it started.
"$root/scripts/inotify-room.sh" 4

echo "==> every suite, ${TEST_JOBS:-3} at a time"
py="$root/.cache/venv/bin/python"
"$py" "$root/scripts/run_tests.py" --jobs "${TEST_JOBS:-3}" \
  --suite "iac=$py -m pytest -q -p no:cacheprovider tests/iac" \
  --suite "contract=$py -m pytest -q -p no:cacheprovider tests/contract" \
  --suite "fuzz=$py -m pytest -q -s -p no:cacheprovider tests/fuzz" \
  --suite "browser=node --test --test-reporter=spec tests/browser/" \
  --alone orders \
  <target/test-binaries.json
