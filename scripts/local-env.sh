# Environment of the local stack, sourced by scripts/dev.sh. Variable names are those of
# shop::config::env; values are for a laptop only (the JWT secret below is public: never deploy it).
export API_PORT="${API_PORT:-9000}"
export DYNAMODB_PORT="${DYNAMODB_PORT:-8000}"
export USERS_TABLE="${USERS_TABLE:-shop-users}"
export PRODUCTS_TABLE="${PRODUCTS_TABLE:-shop-products}"
export ORDERS_TABLE="${ORDERS_TABLE:-shop-orders}"
export JWT_SECRET="${JWT_SECRET:-local-development-secret-not-for-production-use}"
export DYNAMODB_ENDPOINT="${DYNAMODB_ENDPOINT:-http://127.0.0.1:${DYNAMODB_PORT}}"
export AWS_REGION="${AWS_REGION:-us-east-1}"
export CORS_ALLOW_ORIGIN="${CORS_ALLOW_ORIGIN:-*}"
export ADMIN_EMAIL="${ADMIN_EMAIL:-admin@shop.local}"
export ADMIN_PASSWORD="${ADMIN_PASSWORD:-admin-password}"
