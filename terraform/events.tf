# Events and email. The tables' streams feed publish-events through event source mappings (their
# settings and filters are local.outbox, generated from Cargo.toml), which puts typed events on the
# bus; the rules on it (local.rules, generated too) invoke the consumers.

locals {
  stream_functions = { for k, v in local.functions : k => v if length(v.streams) > 0 }
  # One mapping per (function, table).
  stream_mappings = merge([
    for fn, v in local.stream_functions : { for t in v.streams : "${fn}/${t}" => { function = fn, table = t } }
  ]...)
  # Functions invoked by objects created under a prefix of the images bucket (the admins' uploads).
  upload_functions = { for k, v in local.functions : k => v if v.uploads != null }
}

resource "aws_cloudwatch_event_bus" "shop" {
  name = "${var.name}-events"
}

# Where a stream record goes once its mapping's retries are spent: a pointer to the record (shard
# and sequence numbers), replayable from the stream for 24 hours.
resource "aws_sqs_queue" "outbox_dlq" {
  name                      = "${var.name}-outbox-dlq"
  message_retention_seconds = 1209600
  sqs_managed_sse_enabled   = true
}

# Events a consumer failed on (after Lambda's two retries) or EventBridge could not deliver.
resource "aws_sqs_queue" "events_dlq" {
  name                      = "${var.name}-events-dlq"
  message_retention_seconds = 1209600
  sqs_managed_sse_enabled   = true
}

resource "aws_sqs_queue_policy" "events_dlq" {
  queue_url = aws_sqs_queue.events_dlq.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "events.amazonaws.com" }
      Action    = "sqs:SendMessage"
      Resource  = aws_sqs_queue.events_dlq.arn
      Condition = { ArnEquals = { "aws:SourceArn" = concat([for r in aws_cloudwatch_event_rule.bus : r.arn], [for r in aws_cloudwatch_event_rule.uploads : r.arn]) } }
    }]
  })
}

resource "aws_sesv2_email_identity" "sender" {
  email_identity = var.email_from
}

resource "aws_lambda_event_source_mapping" "outbox" {
  for_each                           = local.stream_mappings
  function_name                      = aws_lambda_alias.live[each.value.function].arn
  event_source_arn                   = local.tables[each.value.table].stream_arn
  starting_position                  = "TRIM_HORIZON"
  batch_size                         = local.outbox.batch_size
  maximum_batching_window_in_seconds = 1
  bisect_batch_on_function_error     = true
  maximum_retry_attempts             = local.outbox.retries
  function_response_types            = ["ReportBatchItemFailures"]

  filter_criteria {
    filter {
      pattern = local.outbox.filters[each.value.table]
    }
  }

  destination_config {
    on_failure {
      destination_arn = aws_sqs_queue.outbox_dlq.arn
    }
  }
}

resource "aws_cloudwatch_event_rule" "bus" {
  for_each       = local.rules
  name           = "${var.name}-${each.key}"
  event_bus_name = aws_cloudwatch_event_bus.shop.name
  event_pattern  = each.value.pattern
}

resource "aws_cloudwatch_event_target" "bus" {
  for_each       = local.rules
  rule           = aws_cloudwatch_event_rule.bus[each.key].name
  event_bus_name = aws_cloudwatch_event_bus.shop.name
  arn            = aws_lambda_alias.live[each.value.target].arn

  retry_policy {
    maximum_retry_attempts       = 8
    maximum_event_age_in_seconds = 3600
  }

  dead_letter_config {
    arn = aws_sqs_queue.events_dlq.arn
  }
}

resource "aws_lambda_permission" "bus" {
  for_each      = local.rules
  statement_id  = "AllowRule-${each.key}"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.fn[each.value.target].function_name
  qualifier     = aws_lambda_alias.live[each.value.target].name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.bus[each.key].arn
}

# S3 reports every object created in the images bucket to the account's default bus; a rule there
# hands the uploads to their function (which resizes them into the product's picture).
resource "aws_s3_bucket_notification" "images" {
  bucket      = aws_s3_bucket.images.id
  eventbridge = true
}

resource "aws_cloudwatch_event_rule" "uploads" {
  for_each = local.upload_functions
  name     = "${var.name}-${each.key}-uploads"
  event_pattern = jsonencode({
    source        = ["aws.s3"]
    "detail-type" = ["Object Created"]
    detail = {
      bucket = { name = [aws_s3_bucket.images.id] }
      object = { key = [{ prefix = each.value.uploads }] }
    }
  })
}

resource "aws_cloudwatch_event_target" "uploads" {
  for_each = local.upload_functions
  rule     = aws_cloudwatch_event_rule.uploads[each.key].name
  arn      = aws_lambda_alias.live[each.key].arn

  retry_policy {
    maximum_retry_attempts       = 8
    maximum_event_age_in_seconds = 3600
  }

  dead_letter_config {
    arn = aws_sqs_queue.events_dlq.arn
  }
}

resource "aws_lambda_permission" "uploads" {
  for_each      = local.upload_functions
  statement_id  = "AllowUploads"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.fn[each.key].function_name
  qualifier     = aws_lambda_alias.live[each.key].name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.uploads[each.key].arn
}

# Rule targets are invoked asynchronously: two retries, then the events DLQ.
resource "aws_lambda_function_event_invoke_config" "bus" {
  for_each                     = toset(concat([for r in local.rules : r.target], keys(local.upload_functions)))
  function_name                = aws_lambda_function.fn[each.key].function_name
  qualifier                    = aws_lambda_alias.live[each.key].name
  maximum_retry_attempts       = 2
  maximum_event_age_in_seconds = 3600

  destination_config {
    on_failure {
      destination = aws_sqs_queue.events_dlq.arn
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "dead_letters" {
  for_each = {
    outbox = { queue = aws_sqs_queue.outbox_dlq.name, what = "A stream record could not be published (see the outbox DLQ; replay it from the stream)." }
    events = { queue = aws_sqs_queue.events_dlq.name, what = "An event was not handled by its consumer (an email not sent; see the events DLQ)." }
  }
  alarm_name          = "${var.name}-${each.key}-dead-letters"
  alarm_description   = each.value.what
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = each.value.queue }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
}

resource "aws_cloudwatch_metric_alarm" "iterator_age" {
  for_each            = local.stream_functions
  alarm_name          = "${var.name}-${each.key}-iterator-age"
  alarm_description   = "${each.key} is more than a minute behind the tables' streams."
  namespace           = "AWS/Lambda"
  metric_name         = "IteratorAge"
  dimensions          = { FunctionName = aws_lambda_function.fn[each.key].function_name }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 5
  threshold           = 60000
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
}
