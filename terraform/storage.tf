# ------------------------------------------------------------------ buckets and CDN

resource "aws_s3_bucket" "images" {
  #checkov:skip=CKV_AWS_18:Access logs would need a third bucket; CloudFront standard logs cover reads.
  #checkov:skip=CKV_AWS_144:Cross-region replication is a per-deployment choice, not part of the reference stack.
  #checkov:skip=CKV_AWS_145:SSE-S3 (AES256) at rest; a CMK would cost money while idle.
  #checkov:skip=CKV2_AWS_62:No consumer needs object-created events.
  bucket_prefix = "${var.name}-images-"
}

resource "aws_s3_bucket" "site" {
  #checkov:skip=CKV_AWS_18:Access logs would need a third bucket; CloudFront standard logs cover reads.
  #checkov:skip=CKV_AWS_144:Cross-region replication is a per-deployment choice, not part of the reference stack.
  #checkov:skip=CKV_AWS_145:SSE-S3 (AES256) at rest; a CMK would cost money while idle.
  #checkov:skip=CKV2_AWS_62:No consumer needs object-created events.
  bucket_prefix = "${var.name}-site-"
}

resource "aws_s3_bucket_versioning" "buckets" {
  for_each = { images = aws_s3_bucket.images.id, site = aws_s3_bucket.site.id }
  bucket   = each.value
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "buckets" {
  for_each = { images = aws_s3_bucket.images.id, site = aws_s3_bucket.site.id }
  bucket   = each.value
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_public_access_block" "buckets" {
  for_each                = { images = aws_s3_bucket.images.id, site = aws_s3_bucket.site.id }
  bucket                  = each.value
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "buckets" {
  for_each = { images = aws_s3_bucket.images.id, site = aws_s3_bucket.site.id }
  bucket   = each.value
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "buckets" {
  for_each = { images = aws_s3_bucket.images.id, site = aws_s3_bucket.site.id }
  bucket   = each.value
  rule {
    id     = "expire-old-versions"
    status = "Enabled"
    filter {}
    noncurrent_version_expiration {
      noncurrent_days = 30
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }
  # An upload is deleted once resized; one left over (its event lost for an hour of retries) goes.
  dynamic "rule" {
    for_each = each.key == "images" ? ["uploads/"] : []
    content {
      id     = "expire-stale-uploads"
      status = "Enabled"
      filter {
        prefix = rule.value
      }
      expiration {
        days = 2
      }
      noncurrent_version_expiration {
        noncurrent_days = 1
      }
      abort_incomplete_multipart_upload {
        days_after_initiation = 1
      }
    }
  }
}

# Admins upload product images with presigned POSTs (key, type and size fixed by the policy).
resource "aws_s3_bucket_cors_configuration" "images" {
  bucket = aws_s3_bucket.images.id
  cors_rule {
    allowed_methods = ["POST"]
    allowed_origins = ["*"]
    allowed_headers = ["content-type"]
    max_age_seconds = 600
  }
}

resource "aws_cloudfront_origin_access_control" "s3" {
  name                              = "${var.name}-oac"
  origin_access_control_origin_type = "s3"
  signing_behavior                  = "always"
  signing_protocol                  = "sigv4"
}

data "aws_cloudfront_cache_policy" "optimized" {
  name = "Managed-CachingOptimized"
}

# Forwards the viewer's headers (and CloudFront-Viewer-Address) to the API, never Host.
data "aws_cloudfront_origin_request_policy" "all_viewer" {
  name = "Managed-AllViewerAndCloudFrontHeaders-2022-06"
}

# The storefront as `cargo xtask publish-site` uploads it: the pages and config.json say `no-cache`
# (revalidated on every load; a minimum TTL of 0 lets that through), the content-hashed scripts and
# stylesheets `immutable` for a year.
resource "aws_cloudfront_cache_policy" "site" {
  name        = "${var.name}-site"
  comment     = "The storefront, cached as long as each object's Cache-Control says."
  min_ttl     = 0
  default_ttl = 300
  max_ttl     = 31536000

  parameters_in_cache_key_and_forwarded_to_origin {
    enable_accept_encoding_brotli = true
    enable_accept_encoding_gzip   = true
    query_strings_config {
      query_string_behavior = "none"
    }
    headers_config {
      header_behavior = "none"
    }
    cookies_config {
      cookie_behavior = "none"
    }
  }
}

# The API under /api/* of the storefront's origin: same origin, so no CORS preflight. The cache
# key is the path, the query string and Authorization: a response only the functions mark
# `public` is ever stored (personal ones say `private, no-store`), and a request that carries a
# token never shares an entry with one that does not. TTLs come from the functions.
resource "aws_cloudfront_cache_policy" "api" {
  name        = "${var.name}-api"
  comment     = "API responses, cached only as long as their Cache-Control allows."
  min_ttl     = 0
  default_ttl = 0
  max_ttl     = 300

  parameters_in_cache_key_and_forwarded_to_origin {
    enable_accept_encoding_brotli = true
    enable_accept_encoding_gzip   = true
    query_strings_config {
      query_string_behavior = "all"
    }
    headers_config {
      header_behavior = "whitelist"
      headers {
        items = ["Authorization"]
      }
    }
    cookies_config {
      cookie_behavior = "none"
    }
  }
}

# /api/products -> /products: the API's routes are the function manifest's, without the prefix.
resource "aws_cloudfront_function" "api_path" {
  name    = "${var.name}-api-path"
  runtime = "cloudfront-js-2.0"
  comment = "Strips the /api prefix before the request reaches the HTTP API."
  publish = true
  code    = <<-EOT
    function handler(event) {
      var request = event.request;
      request.uri = request.uri.replace(/^\/api(?=\/|$)/, '') || '/';
      return request;
    }
  EOT
}

# The storefront's paths -> the site bucket's objects (pages/ from render-pages, else the shell).
# The code is scripts/cdn/site-paths.js; tests/iac checks this copy.
resource "aws_cloudfront_function" "site_paths" {
  name    = "${var.name}-site-paths"
  runtime = "cloudfront-js-2.0"
  comment = "Maps the storefront's paths to its pages in the site bucket."
  publish = true
  code    = <<-EOT
    function handler(event) {
      var request = event.request;
      var uri = request.uri;
      var m = uri.match(/^\/(products|category)\/([a-z0-9-]{1,100})\/?$/);
      if (uri === '/' || uri === '/index.html') {
        request.uri = '/pages/index.html';
      } else if (m) {
        request.uri = '/pages/' + m[1] + '/' + m[2] + '.html';
      } else if (uri.lastIndexOf('.') < uri.lastIndexOf('/')) {
        request.uri = '/index.html';
      }
      return request;
    }
  EOT
}

# Storefront security headers; the CSP is static-site/csp.json (tests/iac checks it).
resource "aws_cloudfront_response_headers_policy" "site" {
  name    = "${var.name}-site-headers"
  comment = "Storefront security headers; the CSP is static-site/csp.json."

  security_headers_config {
    content_security_policy {
      content_security_policy = "default-src 'self'; script-src 'self' https://js.stripe.com; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self' https://*.s3.${var.region}.amazonaws.com https://api.stripe.com; frame-src https://js.stripe.com; frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'"
      override                = true
    }
    content_type_options {
      override = true
    }
    frame_options {
      frame_option = "DENY"
      override     = true
    }
    referrer_policy {
      referrer_policy = "strict-origin-when-cross-origin"
      override        = true
    }
    strict_transport_security {
      access_control_max_age_sec = 63072000
      include_subdomains         = true
      preload                    = true
      override                   = true
    }
    xss_protection {
      protection = true
      mode_block = true
      override   = true
    }
  }
}

resource "aws_cloudfront_distribution" "cdn" {
  #checkov:skip=CKV_AWS_86:Access logging is optional cost for a reference shop; enable it per deployment.
  #checkov:skip=CKV_AWS_174:The default CloudFront certificate; use a custom domain and ACM certificate for TLSv1.2_2021.
  #checkov:skip=CKV_AWS_310:Origin failover needs a replica bucket in a second region; not part of the reference stack.
  #checkov:skip=CKV_AWS_374:The shop sells worldwide; no geo restriction.
  #checkov:skip=CKV2_AWS_42:The default CloudFront certificate until a custom domain is configured.
  #checkov:skip=CKV2_AWS_47:The Log4j rules (known bad inputs) are on; the anonymous-IP list would turn away shoppers on VPNs.
  enabled             = true
  http_version        = "http2and3"
  default_root_object = "index.html"
  price_class         = "PriceClass_100"
  web_acl_id          = aws_wafv2_web_acl.edge.arn

  origin {
    origin_id                = "site"
    domain_name              = aws_s3_bucket.site.bucket_regional_domain_name
    origin_access_control_id = aws_cloudfront_origin_access_control.s3.id
  }
  origin {
    origin_id                = "images"
    domain_name              = aws_s3_bucket.images.bucket_regional_domain_name
    origin_access_control_id = aws_cloudfront_origin_access_control.s3.id
  }
  origin {
    origin_id   = "api"
    domain_name = replace(aws_apigatewayv2_api.http.api_endpoint, "https://", "")
    # Only requests carrying this may name their client by CloudFront-Viewer-Address.
    custom_header {
      name  = "X-Origin-Verify"
      value = var.origin_secret
    }
    custom_origin_config {
      http_port              = 80
      https_port             = 443
      origin_protocol_policy = "https-only"
      origin_ssl_protocols   = ["TLSv1.2"]
    }
  }

  default_cache_behavior {
    target_origin_id           = "site"
    viewer_protocol_policy     = "redirect-to-https"
    allowed_methods            = ["GET", "HEAD"]
    cached_methods             = ["GET", "HEAD"]
    compress                   = true
    cache_policy_id            = aws_cloudfront_cache_policy.site.id
    response_headers_policy_id = aws_cloudfront_response_headers_policy.site.id
    function_association {
      event_type   = "viewer-request"
      function_arn = aws_cloudfront_function.site_paths.arn
    }
  }
  # Pictures are products/<id>/<file>; a product's page is /products/<slug> (the site).
  ordered_cache_behavior {
    path_pattern               = "products/*/*"
    target_origin_id           = "images"
    viewer_protocol_policy     = "redirect-to-https"
    allowed_methods            = ["GET", "HEAD"]
    cached_methods             = ["GET", "HEAD"]
    compress                   = true
    cache_policy_id            = data.aws_cloudfront_cache_policy.optimized.id
    response_headers_policy_id = aws_cloudfront_response_headers_policy.site.id
  }
  ordered_cache_behavior {
    path_pattern               = "api/*"
    target_origin_id           = "api"
    viewer_protocol_policy     = "https-only"
    allowed_methods            = ["GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"]
    cached_methods             = ["GET", "HEAD"]
    compress                   = true
    cache_policy_id            = aws_cloudfront_cache_policy.api.id
    origin_request_policy_id   = data.aws_cloudfront_origin_request_policy.all_viewer.id
    response_headers_policy_id = aws_cloudfront_response_headers_policy.site.id
    function_association {
      event_type   = "viewer-request"
      function_arn = aws_cloudfront_function.api_path.arn
    }
  }

  restrictions {
    geo_restriction {
      restriction_type = "none"
    }
  }
  viewer_certificate {
    cloudfront_default_certificate = true
  }
}

resource "aws_s3_bucket_policy" "site" {
  bucket = aws_s3_bucket.site.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "cloudfront.amazonaws.com" }
      Action    = "s3:GetObject"
      Resource  = "${aws_s3_bucket.site.arn}/*"
      Condition = { StringEquals = { "AWS:SourceArn" = aws_cloudfront_distribution.cdn.arn } }
      }, {
      # So a page that does not exist (a mistyped /products/<slug>) is a 404, not S3's 403.
      Effect    = "Allow"
      Principal = { Service = "cloudfront.amazonaws.com" }
      Action    = "s3:ListBucket"
      Resource  = aws_s3_bucket.site.arn
      Condition = { StringEquals = { "AWS:SourceArn" = aws_cloudfront_distribution.cdn.arn } }
    }]
  })
}

resource "aws_s3_bucket_policy" "images" {
  bucket = aws_s3_bucket.images.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "cloudfront.amazonaws.com" }
      Action    = "s3:GetObject"
      Resource  = "${aws_s3_bucket.images.arn}/products/*"
      Condition = { StringEquals = { "AWS:SourceArn" = aws_cloudfront_distribution.cdn.arn } }
    }]
  })
}
