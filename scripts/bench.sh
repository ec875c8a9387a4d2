#!/usr/bin/env bash
# `make bench`: release builds of every function, their Lambda zips, then the benchmark, which writes
# docs/benchmark.{md,json} and docs/benchmark-latency.svg and exits non-zero when a budget is missed.
# Not part of `make test`: release builds of the AWS SDK take a while on a small machine, and the
# CPU shares need root (a cgroup per function).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
"$root/scripts/tools.sh" python node stripe moto
export PATH="$root/.cache/venv/bin:$PATH"

echo "==> release build of the functions, the floor and the benchmark (native, for timing)"
# `bench-tls`: these binaries also trust the run's throwaway CA (the TLS terminator in front of
# DynamoDB Local). The zips below are built without it, as deployed.
cargo build --release --workspace --bins --features shop/bench-tls --quiet

# Lambda runs arm64; the zips are built for it when the target is installed, else for x86_64.
# rustup fetches the target's standard library when it can reach its server; offline it stays x86_64.
timeout 300 rustup target add aarch64-unknown-linux-gnu >/dev/null 2>&1 || true
if rustup target list --installed 2>/dev/null | grep -q '^aarch64-unknown-linux-gnu$'; then
  export BENCH_ZIP_TARGET="arm64 (aarch64-unknown-linux-gnu)"
  zip_flags=(--arm64)
else
  export BENCH_ZIP_TARGET="x86_64 (aarch64 target not installed)"
  zip_flags=(--x86-64)
fi
echo "==> Lambda zips: cargo lambda build --release ${zip_flags[*]} --output-format zip"
cargo lambda build --release "${zip_flags[@]}" --output-format zip --package functions --quiet

echo "==> benchmark"
"$root/target/release/xtask" bench
