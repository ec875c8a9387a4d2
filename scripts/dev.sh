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
# shellcheck source=scripts/local-env.sh
source "$root/scripts/local-env.sh"

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
wait_port() {
  for _ in $(seq 1 600); do port_busy "$1" && return 0; sleep 0.1; done
  echo "nothing is listening on port $1 after 60 s" >&2; return 1
}
for p in "$API_PORT" "$DYNAMODB_PORT" "$S3_PORT" "$SITE_PORT" "$STRIPE_PORT" "$MOTO_PORT"; do
  if port_busy "$p"; then echo "port $p is already in use: stop what uses it or set API_PORT / DYNAMODB_PORT / S3_PORT / SITE_PORT / STRIPE_PORT / MOTO_PORT" >&2; exit 1; fi
done

echo "==> building the functions (first run compiles the AWS SDK: a few minutes)"
cargo build --workspace --quiet

mkdir -p "$LOCAL_DIR/dynamodb" "$LOCAL_DIR/s3"
data="$(cd "$LOCAL_DIR" && pwd)"
# The emulators start side by side; each is waited for below.
echo "==> starting DynamoDB Local on 127.0.0.1:$DYNAMODB_PORT (data in $LOCAL_DIR/dynamodb)"
setsid "$root/scripts/dynamodb-local.sh" -sharedDb -dbPath "$data/dynamodb" -port "$DYNAMODB_PORT" \
  >"$data/dynamodb.log" 2>&1 &
pids+=($!)

echo "==> starting the S3 emulator (s3rver) on 127.0.0.1:$S3_PORT (data in $LOCAL_DIR/s3)"
# Object-created notifications go to $LOCAL_DIR/s3-events.jsonl, which `xtask streams` delivers.
setsid node "$root/scripts/s3rver/run.cjs" --directory "$data/s3" \
  --address 127.0.0.1 --port "$S3_PORT" --silent --events-log "$data/s3-events.jsonl" \
  --configure-bucket "$IMAGES_BUCKET" "$root/scripts/s3rver/images-cors.xml" \
  --configure-bucket "$SITE_BUCKET" "$root/scripts/s3rver/website.xml" \
  --site-front "$SITE_PORT" "$SITE_BUCKET" "$IMAGES_BUCKET" \
  >"$data/s3.log" 2>&1 &
pids+=($!)

echo "==> starting Stripe (localstripe) on 127.0.0.1:$STRIPE_PORT"
setsid "$root/.cache/venv-stripe/bin/python" "$root/scripts/run_localstripe.py" "$STRIPE_PORT" \
  >"$data/stripe.log" 2>&1 &
pids+=($!)

echo "==> starting EventBridge and SES (moto) on 127.0.0.1:$MOTO_PORT"
setsid "$root/.cache/venv-moto/bin/moto_server" -H 127.0.0.1 -p "$MOTO_PORT" >"$data/moto.log" 2>&1 &
pids+=($!)
for p in "$DYNAMODB_PORT" "$S3_PORT" "$SITE_PORT" "$STRIPE_PORT" "$MOTO_PORT"; do wait_port "$p"; done

"$root/target/debug/xtask" setup
# The storefront goes to its bucket the way a deploy puts it there, pointed at this API.
"$root/target/debug/xtask" publish-site "$SITE_BUCKET" "http://127.0.0.1:$API_PORT"

echo "==> starting the API (cargo lambda watch) on 127.0.0.1:$API_PORT"
# WATCH_ARGS: extra flags, e.g. --ignore-changes for test stacks that must not hot-reload.
# Watch puts a recursive file watcher on the directory it runs in, one per function it starts, even
# with --ignore-changes. The repository root holds ~15,000 directories (.cache/, target/): starting
# the 47 functions there cost watch 41 s of CPU, against 0.4 s from functions/. A stack that does
# not reload runs it there; `make dev` watches the root, so that a change in shared/ reloads too.
watch_dir="$root"
case " ${WATCH_ARGS:-} " in *" --ignore-changes "*) watch_dir="$root/functions" ;; esac
cd "$watch_dir"
# shellcheck disable=SC2086
setsid cargo lambda watch --manifest-path "$root/Cargo.toml" --invoke-address 127.0.0.1 \
  --invoke-port "$API_PORT" ${WATCH_ARGS:-} &
pids+=($!)
cd "$root"
wait_port "$API_PORT"
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
