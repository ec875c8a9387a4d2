#!/usr/bin/env bash
# `make test`: every check and test. Installs its own tools under .cache/ first (idempotent).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
"$root/scripts/tools.sh" python node stripe moto iac fuzz browser
export PATH="$root/.cache/venv/bin:$PATH"

echo "==> format and lints"
cargo fmt --all --check
cargo clippy --workspace --all-targets --quiet -- -D warnings

echo "==> build (the e2e tests serve these binaries through cargo lambda watch)"
cargo build --workspace --quiet

echo "==> unit, integration and end-to-end tests (DynamoDB Local started by the harness)"
# Test threads get the 8 MiB a function's main thread has on Lambda (the default is 2 MiB).
export RUST_MIN_STACK="${RUST_MIN_STACK:-8388608}"
cargo test --workspace --quiet

echo "==> infrastructure: route/table/env consistency, cfn-lint, sam validate, terraform fmt, checkov"
"$root/.cache/venv/bin/python" -m pytest -q -p no:cacheprovider tests/iac

echo "==> event catalogue: every event the publisher produces against docs/events/asyncapi.json"
"$root/.cache/venv/bin/python" -m pytest -q -p no:cacheprovider tests/contract

echo "==> API fuzzing: schemathesis against the OpenAPI document, through cargo lambda watch"
"$root/.cache/venv/bin/python" -m pytest -q -s -p no:cacheprovider tests/fuzz

echo "==> storefront in a real browser (Debian chromium + playwright-core, against make dev on free ports)"
node --test --test-reporter=spec tests/browser/
