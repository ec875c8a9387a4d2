output "api_url" {
  description = "Base URL of the API, on the storefront's origin (what the storefront calls)."
  value       = "${local.site_origin}/api"
}

output "direct_api_url" {
  description = "The HTTP API itself, the distribution's origin; it refuses (403) requests without the origin secret."
  value       = aws_apigatewayv2_stage.default.invoke_url
}

output "site_url" {
  description = "The storefront (CloudFront)."
  value       = local.site_origin
}

output "site_bucket" {
  description = "Upload the storefront here (see README, Deploy)."
  value       = aws_s3_bucket.site.bucket
}

output "distribution_id" {
  description = "Invalidate after uploading a new storefront."
  value       = aws_cloudfront_distribution.cdn.id
}
