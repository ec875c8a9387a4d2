terraform {
  required_version = ">= 1.6.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.80"
    }
  }

  # Remote state: keep it in S3 with native locking, e.g.
  #   terraform init -backend-config="bucket=my-tf-state" -backend-config="key=shop/terraform.tfstate" \
  #                  -backend-config="region=us-east-1" -backend-config="use_lockfile=true"
  # Without -backend-config the state stays local (fine for a trial deploy).
  backend "s3" {}
}

provider "aws" {
  region = var.region

  default_tags {
    tags = {
      project = var.name
    }
  }
}

# CloudFront-scoped WAF resources (and their log group) live in us-east-1 whatever var.region is.
provider "aws" {
  alias  = "us_east_1"
  region = "us-east-1"

  default_tags {
    tags = {
      project = var.name
    }
  }
}
