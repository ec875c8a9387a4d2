# Environment of the local stack, sourced by scripts/dev.sh. Variable names are those of
# shop::config::env; values are for a laptop only (the JWT secret below is public: never deploy it).
export API_PORT="${API_PORT:-9000}"
export DYNAMODB_PORT="${DYNAMODB_PORT:-8000}"
export S3_PORT="${S3_PORT:-4569}"
# The storefront: the site bucket behind the CDN's path function (scripts/s3rver/run.cjs).
export SITE_PORT="${SITE_PORT:-4570}"
export USERS_TABLE="${USERS_TABLE:-shop-users}"
export PRODUCTS_TABLE="${PRODUCTS_TABLE:-shop-products}"
export ORDERS_TABLE="${ORDERS_TABLE:-shop-orders}"
export JWT_SECRET="${JWT_SECRET:-local-development-secret-not-for-production-use}"
export DYNAMODB_ENDPOINT="${DYNAMODB_ENDPOINT:-http://127.0.0.1:${DYNAMODB_PORT}}"
export S3_ENDPOINT="${S3_ENDPOINT:-http://127.0.0.1:${S3_PORT}}"
export IMAGES_BUCKET="${IMAGES_BUCKET:-shop-images}"
# Pictures are served from the storefront's origin (products/<id>/<file>), as the CDN serves them.
export IMAGES_BASE_URL="${IMAGES_BASE_URL:-http://127.0.0.1:${SITE_PORT}}"
export SITE_BUCKET="${SITE_BUCKET:-shop-site}"
# Where DynamoDB Local and s3rver keep their data between runs.
export LOCAL_DIR="${LOCAL_DIR:-.local}"
export AWS_REGION="${AWS_REGION:-us-east-1}"
# The storefront's own origin: cargo lambda watch adds Allow-Credentials, which a browser refuses
# beside `*`.
export CORS_ALLOW_ORIGIN="${CORS_ALLOW_ORIGIN:-http://127.0.0.1:${SITE_PORT}}"
export ADMIN_EMAIL="${ADMIN_EMAIL:-admin@shop.local}"
export ADMIN_PASSWORD="${ADMIN_PASSWORD:-admin-password}"
# The admin's authenticator secret (base32; admins need two-factor sign-in): add it to an app, or
# print the current code with `cargo xtask totp`. Public, like the rest of this file.
export ADMIN_TOTP_SECRET="${ADMIN_TOTP_SECRET:-JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP}"
# Stripe is localstripe locally: these keys are fake and only it accepts them.
export STRIPE_PORT="${STRIPE_PORT:-8420}"
export STRIPE_API_BASE="${STRIPE_API_BASE:-http://127.0.0.1:${STRIPE_PORT}}"
export STRIPE_SECRET_KEY="${STRIPE_SECRET_KEY:-sk_test_localstripe}"
export STRIPE_PUBLISHABLE_KEY="${STRIPE_PUBLISHABLE_KEY:-pk_test_localstripe}"
export STRIPE_WEBHOOK_SECRET="${STRIPE_WEBHOOK_SECRET:-whsec_localstripe_dev_secret}"
# localstripe serves a fake Stripe.js; the storefront's config.json points at it.
export STRIPE_JS_URL="${STRIPE_JS_URL:-${STRIPE_API_BASE}/js.stripe.com/v3/}"
# EventBridge and SES are moto locally: the bus the outbox publishes to and the shop's sender.
export MOTO_PORT="${MOTO_PORT:-5005}"
export EVENTS_ENDPOINT="${EVENTS_ENDPOINT:-http://127.0.0.1:${MOTO_PORT}}"
export SES_ENDPOINT="${SES_ENDPOINT:-http://127.0.0.1:${MOTO_PORT}}"
export EVENT_BUS_NAME="${EVENT_BUS_NAME:-shop-events}"
export EMAIL_FROM="${EMAIL_FROM:-shop@shop.local}"
export ALERT_EMAIL="${ALERT_EMAIL:-${ADMIN_EMAIL}}"
export SITE_URL="${SITE_URL:-http://127.0.0.1:${SITE_PORT}}"
# The seller the storefront's receipts name (sample values; `|` separates address lines).
export SHOP_LEGAL_NAME="${SHOP_LEGAL_NAME:-Bean & Leaf Trading LLC}"
export SHOP_ADDRESS="${SHOP_ADDRESS:-500 Roastery Lane|Portland, OR 97201|United States}"
export SHOP_TAX_ID="${SHOP_TAX_ID:-EIN 12-3456789}"
