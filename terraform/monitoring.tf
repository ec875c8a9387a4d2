# ------------------------------------------------------------------ alarms and dashboard

resource "aws_sns_topic" "alarms" {
  name              = "${var.name}-alarms"
  kms_master_key_id = "alias/aws/sns"
}

resource "aws_sns_topic_subscription" "email" {
  count     = var.alarm_email == "" ? 0 : 1
  topic_arn = aws_sns_topic.alarms.arn
  protocol  = "email"
  endpoint  = var.alarm_email
}

locals {
  alarms = {
    api-5xx = {
      description = "The API answered 5xx (a bug or an outage)."
      namespace   = "AWS/ApiGateway", metric = "5xx", statistic = "Sum", period = 60, threshold = 5
      dimensions  = { ApiId = aws_apigatewayv2_api.http.id }
    }
    function-errors = {
      description = "Lambda invocations failed (crash, timeout, out of memory)."
      namespace   = "AWS/Lambda", metric = "Errors", statistic = "Sum", period = 60, threshold = 1
      dimensions  = {}
    }
    function-throttles = {
      description = "Lambda invocations were throttled (account concurrency exhausted)."
      namespace   = "AWS/Lambda", metric = "Throttles", statistic = "Sum", period = 60, threshold = 1
      dimensions  = {}
    }
    orders-throttles = {
      description = "DynamoDB throttled requests to the orders table (checkout hot spot)."
      namespace   = "AWS/DynamoDB", metric = "ThrottledRequests", statistic = "Sum", period = 60, threshold = 1
      dimensions  = { TableName = aws_dynamodb_table.orders.name }
    }
    refunds-failed = {
      description = "A late or duplicate payment could not be refunded automatically; refund it in Stripe's dashboard."
      namespace   = "Shop", metric = "RefundsFailed", statistic = "Sum", period = 300, threshold = 1
      dimensions  = {}
    }
    webhook-signatures = {
      description = "Payment webhooks with a missing, wrong or stale Stripe signature (forgery, replay or a wrong secret)."
      namespace   = "Shop", metric = "WebhookSignatureFailures", statistic = "Sum", period = 300, threshold = 5
      dimensions  = {}
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "alarms" {
  for_each            = local.alarms
  alarm_name          = "${var.name}-${each.key}"
  alarm_description   = each.value.description
  namespace           = each.value.namespace
  metric_name         = each.value.metric
  statistic           = each.value.statistic
  period              = each.value.period
  evaluation_periods  = 3
  datapoints_to_alarm = 2
  threshold           = each.value.threshold
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  dimensions          = each.value.dimensions
  alarm_actions       = [aws_sns_topic.alarms.arn]
}

resource "aws_cloudwatch_metric_alarm" "api_latency" {
  alarm_name          = "${var.name}-api-latency-p99"
  alarm_description   = "p99 latency of the API above 1 s."
  namespace           = "AWS/ApiGateway"
  metric_name         = "Latency"
  extended_statistic  = "p99"
  period              = 300
  evaluation_periods  = 2
  threshold           = 1000
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  dimensions          = { ApiId = aws_apigatewayv2_api.http.id }
  alarm_actions       = [aws_sns_topic.alarms.arn]
}

resource "aws_cloudwatch_dashboard" "shop" {
  dashboard_name = var.name
  dashboard_body = jsonencode({
    widgets = [
      {
        type = "metric", x = 0, y = 0, width = 12, height = 6
        properties = {
          title   = "API requests and errors"
          region  = var.region
          metrics = [for m in ["Count", "4xx", "5xx"] : ["AWS/ApiGateway", m, "ApiId", aws_apigatewayv2_api.http.id]]
          stat    = "Sum"
        }
      },
      {
        type = "metric", x = 12, y = 0, width = 12, height = 6
        properties = {
          title   = "API latency"
          region  = var.region
          metrics = [for s in ["p50", "p99"] : ["AWS/ApiGateway", "Latency", "ApiId", aws_apigatewayv2_api.http.id, { stat = s }]]
        }
      },
      {
        type = "metric", x = 0, y = 6, width = 12, height = 6
        properties = {
          title   = "Function duration p99"
          region  = var.region
          metrics = [for k, f in aws_lambda_function.fn : ["AWS/Lambda", "Duration", "FunctionName", f.function_name, { stat = "p99" }]]
        }
      },
      {
        type = "metric", x = 12, y = 6, width = 12, height = 6
        properties = {
          title   = "Business: orders and revenue"
          region  = var.region
          metrics = [["Shop", "OrdersPlaced"], ["Shop", "RevenueCents"], ["Shop", "OutOfStock"], ["Shop", "FailedLogins"]]
          stat    = "Sum"
        }
      },
    ]
  })
}
