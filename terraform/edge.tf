# ------------------------------------------------------------------ WAF (CloudFront scope: us-east-1)
# Rate limits per client address: tight on the routes marked `edge = "sign-in"` in Cargo.toml's
# function manifest (tests/iac checks the paths), a general ceiling on everything; AWS's common
# and known-bad-inputs rule sets. The API's own stage throttle stays as the backstop.

locals {
  sign_in_paths = ["/api/users/register", "/api/users/login", "/api/users/login/mfa", "/api/users/password-reset", "/api/users/password-reset/confirm", "/api/users/verify-email"]
}

resource "aws_wafv2_web_acl" "edge" {
  provider = aws.us_east_1
  name     = "${var.name}-edge"
  scope    = "CLOUDFRONT"

  default_action {
    allow {}
  }

  rule {
    name     = "sign-in-rate"
    priority = 0
    action {
      block {}
    }
    statement {
      rate_based_statement {
        limit                 = 30
        evaluation_window_sec = 300
        aggregate_key_type    = "IP"
        scope_down_statement {
          or_statement {
            dynamic "statement" {
              for_each = local.sign_in_paths
              content {
                byte_match_statement {
                  search_string         = statement.value
                  positional_constraint = "EXACTLY"
                  field_to_match {
                    uri_path {}
                  }
                  text_transformation {
                    priority = 0
                    type     = "LOWERCASE"
                  }
                }
              }
            }
          }
        }
      }
    }
    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "sign-in-rate"
      sampled_requests_enabled   = true
    }
  }

  rule {
    name     = "general-rate"
    priority = 1
    action {
      block {}
    }
    statement {
      rate_based_statement {
        limit                 = 3000
        evaluation_window_sec = 300
        aggregate_key_type    = "IP"
      }
    }
    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "general-rate"
      sampled_requests_enabled   = true
    }
  }

  rule {
    name     = "aws-common"
    priority = 2
    override_action {
      none {}
    }
    statement {
      managed_rule_group_statement {
        vendor_name = "AWS"
        name        = "AWSManagedRulesCommonRuleSet"
        # Its 8 KB body limit would refuse a large Stripe webhook; the functions cap bodies at 64 KiB.
        rule_action_override {
          name = "SizeRestrictions_BODY"
          action_to_use {
            count {}
          }
        }
      }
    }
    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "aws-common"
      sampled_requests_enabled   = true
    }
  }

  rule {
    name     = "aws-known-bad-inputs"
    priority = 3
    override_action {
      none {}
    }
    statement {
      managed_rule_group_statement {
        vendor_name = "AWS"
        name        = "AWSManagedRulesKnownBadInputsRuleSet"
      }
    }
    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "aws-known-bad-inputs"
      sampled_requests_enabled   = true
    }
  }

  visibility_config {
    cloudwatch_metrics_enabled = true
    metric_name                = "${var.name}-edge"
    sampled_requests_enabled   = true
  }
}

resource "aws_cloudwatch_log_group" "waf" {
  #checkov:skip=CKV_AWS_158:Encrypted at rest by CloudWatch Logs; a CMK would cost money while idle.
  #checkov:skip=CKV_AWS_338:30 days by default is enough for WAF logs; set log_retention_days.
  provider          = aws.us_east_1
  name              = "aws-waf-logs-${var.name}"
  retention_in_days = var.log_retention_days
}

resource "aws_wafv2_web_acl_logging_configuration" "edge" {
  provider                = aws.us_east_1
  resource_arn            = aws_wafv2_web_acl.edge.arn
  log_destination_configs = [aws_cloudwatch_log_group.waf.arn]

  # Bearer tokens never reach the logs.
  redacted_fields {
    single_header {
      name = "authorization"
    }
  }
}
