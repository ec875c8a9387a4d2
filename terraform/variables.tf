variable "name" {
  description = "Prefix of every resource name."
  type        = string
  default     = "shop"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,20}$", var.name))
    error_message = "name must be 2-21 characters of a-z, 0-9 and hyphens, starting with a letter."
  }
}

variable "region" {
  description = "AWS region of the stack."
  type        = string
  default     = "us-east-1"
}

variable "jwt_secret" {
  description = "HS256 signing key for access tokens (at least 32 bytes). Pass it with TF_VAR_jwt_secret; never commit it."
  type        = string
  sensitive   = true

  validation {
    condition     = length(var.jwt_secret) >= 32
    error_message = "jwt_secret must be at least 32 bytes."
  }
}

variable "currency" {
  description = "ISO 4217 currency of every price."
  type        = string
  default     = "USD"

  validation {
    condition     = can(regex("^[A-Z]{3}$", var.currency))
    error_message = "currency must be a three-letter ISO 4217 code such as USD."
  }
}

variable "log_retention_days" {
  description = "How long function and API logs are kept."
  type        = number
  default     = 30

  validation {
    condition     = contains([7, 14, 30, 60, 90, 180, 365], var.log_retention_days)
    error_message = "log_retention_days must be one of 7, 14, 30, 60, 90, 180, 365."
  }
}

variable "artifacts_dir" {
  description = "Where `cargo lambda build --release --arm64 --output-format zip` wrote <function>/bootstrap.zip."
  type        = string
  default     = "../target/lambda"
}

variable "alarm_email" {
  description = "Optional address that receives alarm notifications."
  type        = string
  default     = ""
}

variable "canary_weight" {
  description = "Share of traffic (0-0.5) sent to the newest version while the previous one stays live; 0 = all-at-once."
  type        = number
  default     = 0

  validation {
    condition     = var.canary_weight >= 0 && var.canary_weight <= 0.5
    error_message = "canary_weight must be between 0 and 0.5."
  }
}

variable "stripe_secret_key" {
  description = "Stripe secret API key (sk_live_... / sk_test_...); without it payments answer 503."
  type        = string
  sensitive   = true
  default     = ""
}

variable "stripe_webhook_secret" {
  description = "Signing secret (whsec_...) of the webhook endpoint registered at <api_url>/payments/webhook."
  type        = string
  sensitive   = true
  default     = ""
}

variable "stripe_api_base" {
  description = "Stripe's API (change only for a test double)."
  type        = string
  default     = "https://api.stripe.com"
}

variable "order_payment_window_seconds" {
  description = "How long an unpaid order holds its stock before the expiry job cancels it."
  type        = number
  default     = 1800
}

variable "email_from" {
  description = "Sender of the shop's emails; created as an SES identity, which SES verifies by mail before it can send."
  type        = string
  default     = "shop@example.com"
}

variable "alert_email" {
  description = "Optional address that receives the low- and out-of-stock alerts."
  type        = string
  default     = ""
}

variable "store_name" {
  description = "The shop's name in its emails."
  type        = string
  default     = "Serverless Shop"
}

variable "low_stock_threshold" {
  description = "Stock level below which a product is reported low (ProductLowStock)."
  type        = number
  default     = 5
}

variable "shop_utc_offset" {
  description = "The shop's offset from UTC (UTC, +01:00, -05:00), where its sales days begin."
  type        = string
  default     = "UTC"
  validation {
    condition     = can(regex("^(UTC|[+-](0[0-9]|1[0-4]):[0-5][0-9])$", var.shop_utc_offset))
    error_message = "shop_utc_offset must be UTC or an offset such as +01:00."
  }
}

variable "origin_secret" {
  description = "A random secret (at least 32 bytes) CloudFront sends the API in X-Origin-Verify; the functions refuse (403) every request without it, so the execute-api URL serves nothing."
  type        = string
  sensitive   = true

  validation {
    condition     = length(var.origin_secret) >= 32
    error_message = "origin_secret must be at least 32 bytes."
  }
}
