#!/usr/bin/env bash
# `make dev`: the whole shop on this machine, offline. Installs its tools (once), starts DynamoDB Local
# and an S3 emulator (data kept in .local/), creates the tables, the admin account and a sample
# catalog, and serves every function under `cargo lambda watch` with the API routes.
# Ctrl-C stops everything it started.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
"$root/scripts/tools.sh" python node stripe moto
export PATH="$root/.cache/venv/bin:$PATH"

pids=()
# Each service runs in its own process group (setsid), its children with it (cargo lambda watch's
# functions, the drivers' requests): the whole group is asked to stop, and killed if it has not
# within 10 s, whatever state it is in, so nothing outlives `make dev`.
cleanup() {
  trap - EXIT INT TERM
  # A closed stdout (make dev | head) must not end this script before it has stopped the services.
  trap '' PIPE
  { echo; echo "==> stopping the local stack"; } 2>/dev/null || true
  for pid in "${pids[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true; done
  for _ in $(seq 1 100); do
    alive=0
    for pid in "${pids[@]}"; do kill -0 -- "-$pid" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.1
  done
  for pid in "${pids[@]}"; do kill -KILL -- "-$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
ports=(API_PORT DYNAMODB_PORT S3_PORT SITE_PORT STRIPE_PORT MOTO_PORT)
check_ports() {
  for name in "${ports[@]}"; do
    local p="${!name:-}"
    if [ -n "$p" ] && [ "$p" != 0 ] && port_busy "$p"; then
      echo "port $p is already in use: stop what uses it or set ${ports[*]}" >&2; exit 1
    fi
  done
}
# Whether a process of session $2 (a service started with setsid, its children included) listens
# on port $1: another program may take a free port before the service binds it, and the port then
# answers while the service fails.
owns_port() {
  local inodes pid
  inodes="$(awk -v port="$(printf '%04X' "$1")" '$4 == "0A" && $2 ~ (":" port "$") { printf "%s|", $10 }' \
    /proc/net/tcp /proc/net/tcp6 2>/dev/null)"
  [ -n "$inodes" ] || return 1
  for pid in $(awk -v sid="$2" '{ sub(/^.*\) /, ""); if ($4 == sid) { split(FILENAME, f, "/"); print f[3] } }' \
    /proc/[0-9]*/stat 2>/dev/null); do
    find "/proc/$pid/fd" -lname 'socket:*' -printf '%l\n' 2>/dev/null | grep -qE "^socket:\[(${inodes%|})\]$" && return 0
  done
  return 1
}
# Waits until service $2 (named $3, logging to $4) listens on port $1.
wait_service() {
  for _ in $(seq 1 600); do
    port_busy "$1" && owns_port "$1" "$2" && return 0
    if ! kill -0 "$2" 2>/dev/null; then
      if port_busy "$1"; then
        echo "$3 could not listen on port $1: another program took it meanwhile" >&2
        exit 75
      fi
      echo "$3 exited:" >&2; tail -n 20 "$4" >&2; exit 1
    fi
    sleep 0.1
  done
  echo "$3 is not listening on port $1 after 60 s" >&2; exit 1
}
# Before the build, which may take minutes: a port in use (the default ones too) is told at once.
(source "$root/scripts/local-env.sh" && check_ports)

echo "==> building the functions (first run compiles the AWS SDK: a few minutes)"
cargo build --workspace --quiet

# A port given as 0 is any free one, chosen now rather than before the build, which may take
# minutes while other programs take ports (test stacks ask so); $LOCAL_DIR/ports.env names them.
zeros=()
for name in "${ports[@]}"; do [ "${!name:-}" = 0 ] && zeros+=("$name"); done
if [ "${#zeros[@]}" -gt 0 ]; then
  read -ra chosen < <(python3 -c '
import socket, sys
held = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in held: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in held))' "${#zeros[@]}")
  for i in "${!zeros[@]}"; do export "${zeros[$i]}=${chosen[$i]}"; done
fi
# shellcheck source=scripts/local-env.sh
source "$root/scripts/local-env.sh"
check_ports

mkdir -p "$LOCAL_DIR/dynamodb" "$LOCAL_DIR/s3"
data="$(cd "$LOCAL_DIR" && pwd)"
for name in "${ports[@]}"; do echo "$name=${!name}"; done >"$data/ports.env"
# The emulators start side by side; each is waited for below.
echo "==> starting DynamoDB Local on 127.0.0.1:$DYNAMODB_PORT (data in $LOCAL_DIR/dynamodb)"
setsid "$root/scripts/dynamodb-local.sh" -sharedDb -dbPath "$data/dynamodb" -port "$DYNAMODB_PORT" \
  >"$data/dynamodb.log" 2>&1 &
dynamodb_pid=$!
pids+=($!)

echo "==> starting the S3 emulator (s3rver) on 127.0.0.1:$S3_PORT (data in $LOCAL_DIR/s3)"
# Object-created notifications go to $LOCAL_DIR/s3-events.jsonl, which `xtask streams` delivers.
setsid node "$root/scripts/s3rver/run.cjs" --directory "$data/s3" \
  --address 127.0.0.1 --port "$S3_PORT" --silent --events-log "$data/s3-events.jsonl" \
  --configure-bucket "$IMAGES_BUCKET" "$root/scripts/s3rver/images-cors.xml" \
  --configure-bucket "$SITE_BUCKET" "$root/scripts/s3rver/website.xml" \
  --site-front "$SITE_PORT" "$SITE_BUCKET" "$IMAGES_BUCKET" \
  >"$data/s3.log" 2>&1 &
s3_pid=$!
pids+=($!)

echo "==> starting Stripe (localstripe) on 127.0.0.1:$STRIPE_PORT"
setsid "$root/.cache/venv-stripe/bin/python" "$root/scripts/run_localstripe.py" "$STRIPE_PORT" \
  >"$data/stripe.log" 2>&1 &
stripe_pid=$!
pids+=($!)

echo "==> starting EventBridge and SES (moto) on 127.0.0.1:$MOTO_PORT"
setsid "$root/.cache/venv-moto/bin/moto_server" -H 127.0.0.1 -p "$MOTO_PORT" >"$data/moto.log" 2>&1 &
moto_pid=$!
pids+=($!)
wait_service "$DYNAMODB_PORT" "$dynamodb_pid" "DynamoDB Local" "$data/dynamodb.log"
wait_service "$S3_PORT" "$s3_pid" "s3rver" "$data/s3.log"
wait_service "$SITE_PORT" "$s3_pid" "the site front (s3rver)" "$data/s3.log"
wait_service "$STRIPE_PORT" "$stripe_pid" "localstripe" "$data/stripe.log"
wait_service "$MOTO_PORT" "$moto_pid" "moto" "$data/moto.log"

"$root/target/debug/xtask" setup
# The storefront goes to its bucket the way a deploy puts it there, pointed at this API.
"$root/target/debug/xtask" publish-site "$SITE_BUCKET" "http://127.0.0.1:$API_PORT"

echo "==> starting the API (cargo lambda watch) on 127.0.0.1:$API_PORT"
# WATCH_ARGS: extra flags, e.g. --ignore-changes for test stacks that must not hot-reload.
# Watch puts a recursive file watcher on the directory it runs in, one per function it starts, even
# with --ignore-changes. The repository root holds ~15,000 directories (.cache/, target/): starting
# the 47 functions there cost watch 41 s of CPU, against 0.4 s from functions/. A stack that does
# not reload runs it there; `make dev` watches the root, so that a change in shared/ reloads too.
# Such a stack also runs the binaries just built rather than a `cargo run` per function start
# (scripts/cargo-run-built.sh); cargo-lambda is called directly, as `cargo lambda` would set CARGO.
watch_dir="$root" watch=(cargo lambda)
case " ${WATCH_ARGS:-} " in
  *" --ignore-changes "*) watch_dir="$root/functions" watch=(env CARGO="$root/scripts/cargo-run-built.sh" cargo-lambda lambda) ;;
esac
# One inotify instance per function it starts: told now, not as a start that hangs.
"$root/scripts/inotify-room.sh" 1
cd "$watch_dir"
# shellcheck disable=SC2086
setsid "${watch[@]}" watch --manifest-path "$root/Cargo.toml" --invoke-address 127.0.0.1 \
  --invoke-port "$API_PORT" ${WATCH_ARGS:-} &
watch_pid=$!
pids+=($!)
cd "$root"
# Its output is this script's own.
wait_service "$API_PORT" "$watch_pid" "cargo lambda watch" /dev/null
echo "==> starting every function once, one at a time (cargo lambda watch starts each on its first request)"
"$root/target/debug/xtask" start-functions "http://127.0.0.1:$API_PORT"
# localstripe signs and sends its events to the local webhook route, as Stripe would.
curl -fsS -o /dev/null "$STRIPE_API_BASE/_config/webhooks/local" \
  --data-urlencode "url=http://127.0.0.1:$API_PORT/payments/webhook" \
  --data-urlencode "secret=$STRIPE_WEBHOOK_SECRET"
echo "==> writing the storefront's public pages (render-pages, as after a deploy)"
curl -fsS -o /dev/null "http://127.0.0.1:$API_PORT/2015-03-31/functions/render-pages/invocations" -d '{"rebuild":true}'
echo "==> running the scheduled functions every ${LOCAL_SCHEDULE_SECONDS:-10} s (expire-orders), as EventBridge does on AWS"
setsid "$root/target/debug/xtask" schedules "http://127.0.0.1:$API_PORT" &
pids+=($!)
echo "==> polling the tables' streams into publish-events, delivering the bus's rules (send-email) and the images bucket's uploads (resize-image), as AWS does"
setsid "$root/target/debug/xtask" streams "http://127.0.0.1:$API_PORT" &
pids+=($!)

cat <<MSG

  The shop is running.
    Storefront:      http://127.0.0.1:$SITE_PORT/   (the site bucket as the CDN serves it)
    API:             http://127.0.0.1:$API_PORT          (try: curl http://127.0.0.1:$API_PORT/health)
    DynamoDB Local:  http://127.0.0.1:$DYNAMODB_PORT
    S3 emulator:     http://127.0.0.1:$S3_PORT   (bucket $IMAGES_BUCKET)
    Stripe:          $STRIPE_API_BASE   (localstripe; pay with 4242 4242 4242 4242)
    Admin login:     $ADMIN_EMAIL / $ADMIN_PASSWORD, then the code of: cargo xtask totp
                     (or add the key $ADMIN_TOTP_SECRET to an authenticator app)
    Emails sent:     cargo xtask mail   (or http://127.0.0.1:$MOTO_PORT/moto-api/ ; moto is EventBridge and SES)
    Dead letters:    $LOCAL_DIR/dead-letters/

  Press Ctrl-C to stop everything.
MSG
wait
