#!/usr/bin/env bash
# The `cargo` (its CARGO) of a `cargo lambda watch` that does not reload (the test stacks, whose
# functions were built just before): watch's `cargo run --bin NAME` for each function it starts
# runs target/debug/NAME at once. A real `cargo run` first checks the whole build, ~0.25 s of CPU
# and a turn at cargo's locks for each of the 55 functions, while other stacks do the same.
# Anything else (`cargo metadata`, other flags, a binary not built) goes to cargo itself.
set -euo pipefail
if [ "${1:-}" = run ]; then
  bin="" manifest="" args=() plain=1
  rest=("${@:2}")
  while [ ${#rest[@]} -gt 0 ]; do
    case "${rest[0]}" in
      --color) rest=("${rest[@]:2}") ;;
      --bin) bin="${rest[1]:-}"; rest=("${rest[@]:2}") ;;
      --manifest-path) manifest="${rest[1]:-}"; rest=("${rest[@]:2}") ;;
      --) args=("${rest[@]:1}"); rest=() ;;
      *) plain=0; rest=() ;;
    esac
  done
  if [ "$plain" = 1 ] && [ -n "$bin" ] && [ -n "$manifest" ]; then
    exe="${CARGO_TARGET_DIR:-$(cd "$(dirname "$manifest")" && pwd)/target}/debug/$bin"
    [ -x "$exe" ] && exec "$exe" "${args[@]}"
  fi
fi
exec cargo "$@"
