data "aws_partition" "current" {}
data "aws_caller_identity" "current" {}

locals {
  tables = {
    users    = aws_dynamodb_table.users
    products = aws_dynamodb_table.products
    orders   = aws_dynamodb_table.orders
  }
  site_origin = "https://${aws_cloudfront_distribution.cdn.domain_name}"

  # Functions behind an API route, and jobs an EventBridge schedule runs.
  http_functions      = { for k, v in local.functions : k => v if v.route != null }
  scheduled_functions = { for k, v in local.functions : k => v if v.schedule != null }

  # The variables every function reads (names from shop::config::env).
  env = {
    USERS_TABLE       = aws_dynamodb_table.users.name
    PRODUCTS_TABLE    = aws_dynamodb_table.products.name
    ORDERS_TABLE      = aws_dynamodb_table.orders.name
    IMAGES_BUCKET     = aws_s3_bucket.images.bucket
    IMAGES_BASE_URL   = local.site_origin
    JWT_SECRET        = var.jwt_secret
    CORS_ALLOW_ORIGIN = local.site_origin
    CURRENCY          = var.currency
    LOG_LEVEL         = "info"

    STRIPE_SECRET_KEY            = var.stripe_secret_key
    STRIPE_WEBHOOK_SECRET        = var.stripe_webhook_secret
    STRIPE_API_BASE              = var.stripe_api_base
    ORDER_PAYMENT_WINDOW_SECONDS = tostring(var.order_payment_window_seconds)

    EVENT_BUS_NAME      = aws_cloudwatch_event_bus.shop.name
    LOW_STOCK_THRESHOLD = tostring(var.low_stock_threshold)
    SHOP_UTC_OFFSET     = var.shop_utc_offset
    EMAIL_FROM          = var.email_from
    STORE_NAME          = var.store_name
    SITE_URL            = local.site_origin
    SITE_BUCKET         = aws_s3_bucket.site.id
    ALERT_EMAIL         = var.alert_email
    ORIGIN_SECRET       = var.origin_secret
  }
}

# ------------------------------------------------------------------ tables

resource "aws_dynamodb_table" "users" {
  #checkov:skip=CKV_AWS_119:Encrypted at rest with the AWS owned key; a CMK would cost money while idle.
  name                        = "${var.name}-users"
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "pk"
  range_key                   = "sk"
  deletion_protection_enabled = true
  # The outbox: every change, before and after, to publish-events.
  stream_enabled   = true
  stream_view_type = "NEW_AND_OLD_IMAGES"

  attribute {
    name = "pk"
    type = "S"
  }
  attribute {
    name = "sk"
    type = "S"
  }
  attribute {
    name = "gsi1pk"
    type = "S"
  }
  attribute {
    name = "gsi1sk"
    type = "S"
  }
  # The email guards in email order: the admin's customer search by prefix.
  global_secondary_index {
    name            = "by_email"
    hash_key        = "gsi1pk"
    range_key       = "gsi1sk"
    projection_type = "ALL"
  }
  ttl {
    attribute_name = "expires_at"
    enabled        = true
  }
  point_in_time_recovery {
    enabled = true
  }
  server_side_encryption {
    enabled = true
  }
}

resource "aws_dynamodb_table" "products" {
  #checkov:skip=CKV_AWS_119:Encrypted at rest with the AWS owned key; a CMK would cost money while idle.
  name                        = "${var.name}-products"
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "pk"
  range_key                   = "sk"
  deletion_protection_enabled = true
  # The outbox: every change, before and after, to publish-events.
  stream_enabled   = true
  stream_view_type = "NEW_AND_OLD_IMAGES"

  dynamic "attribute" {
    for_each = ["pk", "sk", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk"]
    content {
      name = attribute.value
      type = "S"
    }
  }
  global_secondary_index {
    name            = "by_name"
    hash_key        = "gsi1pk"
    range_key       = "gsi1sk"
    projection_type = "ALL"
  }
  global_secondary_index {
    name            = "by_category"
    hash_key        = "gsi2pk"
    range_key       = "gsi2sk"
    projection_type = "ALL"
  }
  # Sorted by the stock level itself: the admin's low-stock list is a key condition.
  attribute {
    name = "gsi3pk"
    type = "S"
  }
  attribute {
    name = "stock"
    type = "N"
  }
  global_secondary_index {
    name            = "by_stock"
    hash_key        = "gsi3pk"
    range_key       = "stock"
    projection_type = "ALL"
  }
  point_in_time_recovery {
    enabled = true
  }
  server_side_encryption {
    enabled = true
  }
}

resource "aws_dynamodb_table" "orders" {
  #checkov:skip=CKV_AWS_119:Encrypted at rest with the AWS owned key; a CMK would cost money while idle.
  name                        = "${var.name}-orders"
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "pk"
  range_key                   = "sk"
  deletion_protection_enabled = true
  # The outbox: every change, before and after, to publish-events.
  stream_enabled   = true
  stream_view_type = "NEW_AND_OLD_IMAGES"

  dynamic "attribute" {
    for_each = ["pk", "sk", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk"]
    content {
      name = attribute.value
      type = "S"
    }
  }
  global_secondary_index {
    name            = "by_user"
    hash_key        = "gsi1pk"
    range_key       = "gsi1sk"
    projection_type = "ALL"
  }
  global_secondary_index {
    name            = "by_status"
    hash_key        = "gsi2pk"
    range_key       = "gsi2sk"
    projection_type = "ALL"
  }
  # The orders placed on one UTC day, oldest first: the export reads a range day by day.
  attribute {
    name = "gsi3pk"
    type = "S"
  }
  attribute {
    name = "id"
    type = "S"
  }
  global_secondary_index {
    name            = "by_day"
    hash_key        = "gsi3pk"
    range_key       = "id"
    projection_type = "ALL"
  }
  ttl {
    attribute_name = "expires_at"
    enabled        = true
  }
  point_in_time_recovery {
    enabled = true
  }
  server_side_encryption {
    enabled = true
  }
}

# ------------------------------------------------------------------ functions

resource "aws_iam_role" "fn" {
  for_each = local.functions
  name     = "${var.name}-${each.key}"

  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "lambda.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })
}

# Least privilege: exactly the DynamoDB actions (and S3 actions) listed for the function.
resource "aws_iam_role_policy" "fn" {
  for_each = local.functions
  name     = "access"
  role     = aws_iam_role.fn[each.key].id

  policy = jsonencode({
    Version = "2012-10-17"
    Statement = concat(
      [for grant in each.value.dynamodb : {
        Effect   = "Allow"
        Action   = [for a in grant.actions : "dynamodb:${a}"]
        Resource = endswith(grant.table, ":index") ? "${local.tables[trimsuffix(grant.table, ":index")].arn}/index/*" : local.tables[grant.table].arn
      }],
      [for grant in each.value.s3 : {
        Effect   = "Allow"
        Action   = [for a in grant.actions : "s3:${a}"]
        Resource = "${aws_s3_bucket.images.arn}/${grant.prefix}*"
      }],
      length(each.value.site) == 0 ? [] : [{
        Effect   = "Allow"
        Action   = [for a in each.value.site : "s3:${a}"]
        Resource = "${aws_s3_bucket.site.arn}/*"
      }],
      [for t in each.value.streams : {
        Effect   = "Allow"
        Action   = ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"]
        Resource = local.tables[t].stream_arn
      }],
      length(each.value.streams) == 0 ? [] : [{
        Effect   = "Allow"
        Action   = ["dynamodb:ListStreams"]
        Resource = "*"
        }, {
        # The mappings' on-failure destination is sent to with the function's role.
        Effect   = "Allow"
        Action   = ["sqs:SendMessage"]
        Resource = aws_sqs_queue.outbox_dlq.arn
      }],
      length(each.value.events) == 0 ? [] : [{
        Effect   = "Allow"
        Action   = [for a in each.value.events : "events:${a}"]
        Resource = aws_cloudwatch_event_bus.shop.arn
      }],
      length(each.value.ses) == 0 ? [] : [{
        Effect    = "Allow"
        Action    = [for a in each.value.ses : "ses:${a}"]
        Resource  = "arn:${data.aws_partition.current.partition}:ses:${var.region}:${data.aws_caller_identity.current.account_id}:identity/*"
        Condition = { StringEquals = { "ses:FromAddress" = var.email_from } }
        }, {
        # Lambda's asynchronous invocations park a failed event here.
        Effect   = "Allow"
        Action   = ["sqs:SendMessage"]
        Resource = aws_sqs_queue.events_dlq.arn
      }],
      [{
        Effect   = "Allow"
        Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
        Resource = "${aws_cloudwatch_log_group.fn[each.key].arn}:*"
        }, {
        Effect   = "Allow"
        Action   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
        Resource = "*"
      }],
    )
  })
}

resource "aws_cloudwatch_log_group" "fn" {
  #checkov:skip=CKV_AWS_158:Encrypted at rest by CloudWatch Logs; a CMK would cost money while idle.
  #checkov:skip=CKV_AWS_338:30 days by default is enough for a shop's function logs; set log_retention_days.
  for_each          = local.functions
  name              = "/aws/lambda/${var.name}-${each.key}"
  retention_in_days = var.log_retention_days
}

resource "aws_lambda_function" "fn" {
  #checkov:skip=CKV_AWS_117:No VPC: DynamoDB and S3 are reached through AWS endpoints; a VPC adds NAT cost and cold-start time.
  #checkov:skip=CKV_AWS_116:API functions are invoked synchronously (a DLQ only applies to asynchronous calls); a scheduled job reruns on the next tick.
  #checkov:skip=CKV_AWS_115:Concurrency is bounded by the API stage throttle; reserving it per function starves small accounts.
  #checkov:skip=CKV_AWS_173:Environment encrypted at rest with the AWS managed key; a CMK would cost money while idle.
  #checkov:skip=CKV_AWS_272:Code signing needs a signing profile per account; artifacts come from CI over OIDC.
  for_each         = local.functions
  function_name    = "${var.name}-${each.key}"
  description      = each.value.route != null ? each.value.route : "schedule ${each.value.schedule}"
  role             = aws_iam_role.fn[each.key].arn
  filename         = "${var.artifacts_dir}/${each.key}/bootstrap.zip"
  source_code_hash = filebase64sha256("${var.artifacts_dir}/${each.key}/bootstrap.zip")
  runtime          = "provided.al2023"
  architectures    = ["arm64"]
  handler          = "bootstrap"
  memory_size      = each.value.memory
  timeout          = 10 # each handler gives up after 8 s with a 503
  publish          = true
  # -1: unreserved; the manifest's `concurrency` otherwise.
  reserved_concurrent_executions = coalesce(each.value.concurrency, -1)

  environment {
    variables = local.env
  }
  tracing_config {
    mode = "Active"
  }
  logging_config {
    log_format = "Text"
    log_group  = aws_cloudwatch_log_group.fn[each.key].name
  }
}

# The API calls the `live` alias; a canary sends `canary_weight` of traffic to the newest version.
resource "aws_lambda_alias" "live" {
  for_each         = local.functions
  name             = "live"
  function_name    = aws_lambda_function.fn[each.key].function_name
  function_version = var.canary_weight > 0 && tonumber(aws_lambda_function.fn[each.key].version) > 1 ? tostring(tonumber(aws_lambda_function.fn[each.key].version) - 1) : aws_lambda_function.fn[each.key].version

  dynamic "routing_config" {
    for_each = var.canary_weight > 0 && tonumber(aws_lambda_function.fn[each.key].version) > 1 ? [1] : []
    content {
      additional_version_weights = { (aws_lambda_function.fn[each.key].version) = var.canary_weight }
    }
  }
}

# ------------------------------------------------------------------ API

# No CORS: the storefront calls the API on its own origin, /api/* of the distribution (storage.tf).
resource "aws_apigatewayv2_api" "http" {
  name          = "${var.name}-api"
  protocol_type = "HTTP"
}

resource "aws_cloudwatch_log_group" "api" {
  #checkov:skip=CKV_AWS_158:Encrypted at rest by CloudWatch Logs; a CMK would cost money while idle.
  #checkov:skip=CKV_AWS_338:30 days by default is enough for access logs; set log_retention_days.
  name              = "/aws/apigateway/${var.name}"
  retention_in_days = var.log_retention_days
}

resource "aws_apigatewayv2_stage" "default" {
  api_id      = aws_apigatewayv2_api.http.id
  name        = "$default"
  auto_deploy = true

  default_route_settings {
    throttling_burst_limit = 200
    throttling_rate_limit  = 100
  }
  access_log_settings {
    destination_arn = aws_cloudwatch_log_group.api.arn
    format = jsonencode({
      requestId          = "$context.requestId"
      ip                 = "$context.identity.sourceIp"
      routeKey           = "$context.routeKey"
      status             = "$context.status"
      latency            = "$context.responseLatency"
      integrationLatency = "$context.integrationLatency"
    })
  }
}

resource "aws_apigatewayv2_integration" "fn" {
  for_each               = local.http_functions
  api_id                 = aws_apigatewayv2_api.http.id
  integration_type       = "AWS_PROXY"
  integration_uri        = aws_lambda_alias.live[each.key].invoke_arn
  payload_format_version = "2.0"
}

resource "aws_apigatewayv2_route" "fn" {
  #checkov:skip=CKV_AWS_309:Authorization is done in the functions (JWT with revocation); public routes are public by design.
  for_each  = local.http_functions
  api_id    = aws_apigatewayv2_api.http.id
  route_key = each.value.route
  target    = "integrations/${aws_apigatewayv2_integration.fn[each.key].id}"
}

resource "aws_lambda_permission" "api" {
  for_each      = local.http_functions
  statement_id  = "AllowHttpApi"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.fn[each.key].function_name
  qualifier     = aws_lambda_alias.live[each.key].name
  principal     = "apigateway.amazonaws.com"
  source_arn    = "${aws_apigatewayv2_api.http.execution_arn}/*/*"
}

# ------------------------------------------------------------------ schedules

resource "aws_cloudwatch_event_rule" "schedule" {
  for_each            = local.scheduled_functions
  name                = "${var.name}-${each.key}"
  description         = "Runs ${each.key} (${each.value.schedule})."
  schedule_expression = each.value.schedule
}

resource "aws_cloudwatch_event_target" "schedule" {
  for_each = local.scheduled_functions
  rule     = aws_cloudwatch_event_rule.schedule[each.key].name
  arn      = aws_lambda_alias.live[each.key].arn

  # A missed run is simply run again by the next tick.
  retry_policy {
    maximum_retry_attempts       = 0
    maximum_event_age_in_seconds = 60
  }
}

resource "aws_lambda_permission" "schedule" {
  for_each      = local.scheduled_functions
  statement_id  = "AllowSchedule"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.fn[each.key].function_name
  qualifier     = aws_lambda_alias.live[each.key].name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.schedule[each.key].arn
}
