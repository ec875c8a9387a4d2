# One entry per Lambda, mirroring Cargo.toml ([workspace.metadata.lambda.watch.router] and
# [workspace.metadata.shop.functions]); tests/iac fails when the two disagree.
# `dynamodb` grants exactly these actions; a table named "<table>:index" means its indexes.
locals {
  functions = {
    # measured: p50 0.6 ms on a full core, CPU 0.33 ms/request, peak RSS 6 MB -> 512 MB (docs/benchmark.md)
    "health" = {
      route  = "GET /health"
      memory = 512
      dynamodb = [
        { table = "users", actions = ["GetItem"] },
      ]
      s3 = []
    }
    # measured: p50 43.3 ms on a full core, CPU 40.50 ms/request, peak RSS 25 MB -> 1769 MB (docs/benchmark.md)
    "register" = {
      route  = "POST /users/register"
      memory = 1769
      dynamodb = [
        { table = "users", actions = ["PutItem"] },
      ]
      s3 = []
    }
    # measured: p50 42.6 ms on a full core, CPU 38.98 ms/request, peak RSS 25 MB -> 1769 MB (docs/benchmark.md)
    "login" = {
      route  = "POST /users/login"
      memory = 1769
      dynamodb = [
        { table = "users", actions = ["GetItem", "PutItem", "UpdateItem", "DeleteItem"] },
      ]
      s3 = []
    }
    # measured: p50 1.5 ms on a full core, CPU 0.50 ms/request, peak RSS 6 MB -> 1024 MB (docs/benchmark.md)
    "logout" = {
      route  = "POST /users/logout"
      memory = 1024
      dynamodb = [
        { table = "users", actions = ["GetItem", "UpdateItem"] },
      ]
      s3 = []
    }
    # measured: p50 0.7 ms on a full core, CPU 0.37 ms/request, peak RSS 6 MB -> 1024 MB (docs/benchmark.md)
    "get-me" = {
      route  = "GET /users/me"
      memory = 1024
      dynamodb = [
        { table = "users", actions = ["GetItem"] },
      ]
      s3 = []
    }
    # measured: p50 1.5 ms on a full core, CPU 0.53 ms/request, peak RSS 6 MB -> 1024 MB (docs/benchmark.md)
    "update-me" = {
      route  = "PUT /users/me"
      memory = 1024
      dynamodb = [
        { table = "users", actions = ["GetItem", "PutItem", "UpdateItem"] },
      ]
      s3 = []
    }
    # measured: p50 1.8 ms on a full core, CPU 0.84 ms/request, peak RSS 6 MB -> 1024 MB (docs/benchmark.md)
    "list-products" = {
      route  = "GET /products"
      memory = 1024
      dynamodb = [
        { table = "products:index", actions = ["Query"] },
      ]
      s3 = []
    }
    # measured: p50 0.7 ms on a full core, CPU 0.36 ms/request, peak RSS 6 MB -> 512 MB (docs/benchmark.md)
    "get-product" = {
      route  = "GET /products/{id}"
      memory = 512
      dynamodb = [
        { table = "products", actions = ["GetItem"] },
      ]
      s3 = []
    }
    # measured: p50 3.6 ms on a full core, CPU 0.67 ms/request, peak RSS 6 MB -> 1024 MB (docs/benchmark.md)
    "create-product" = {
      route  = "POST /products"
      memory = 1024
      dynamodb = [
        { table = "users", actions = ["GetItem"] },
        { table = "products", actions = ["PutItem"] },
      ]
      s3 = []
    }
    # measured: p50 4.1 ms on a full core, CPU 1.04 ms/request, peak RSS 6 MB -> 1024 MB (docs/benchmark.md)
    "update-product" = {
      route  = "PUT /products/{id}"
      memory = 1024
      dynamodb = [
        { table = "users", actions = ["GetItem"] },
        { table = "products", actions = ["GetItem", "PutItem", "UpdateItem", "DeleteItem"] },
      ]
      s3 = []
    }
    # measured: p50 4.0 ms on a full core, CPU 0.85 ms/request, peak RSS 6 MB -> 1024 MB (docs/benchmark.md)
    "delete-product" = {
      route  = "DELETE /products/{id}"
      memory = 1024
      dynamodb = [
        { table = "users", actions = ["GetItem"] },
        { table = "products", actions = ["GetItem", "DeleteItem"] },
      ]
      s3 = []
    }
    # measured: p50 2.0 ms on a full core, CPU 0.67 ms/request, peak RSS 6 MB -> 1024 MB (docs/benchmark.md)
    "product-image" = {
      route  = "POST /products/{id}/image"
      memory = 1024
      dynamodb = [
        { table = "users", actions = ["GetItem"] },
        { table = "products", actions = ["UpdateItem"] },
      ]
      s3 = ["PutObject"]
    }
    # measured: p50 1.6 ms on a full core, CPU 0.51 ms/request, peak RSS 6 MB -> 1024 MB (docs/benchmark.md)
    "get-inventory" = {
      route  = "GET /inventory"
      memory = 1024
      dynamodb = [
        { table = "products", actions = ["BatchGetItem"] },
      ]
      s3 = []
    }
    # measured: p50 2.3 ms on a full core, CPU 1.00 ms/request, peak RSS 6 MB -> 1024 MB (docs/benchmark.md)
    "get-cart" = {
      route  = "GET /cart"
      memory = 1024
      dynamodb = [
        { table = "users", actions = ["GetItem"] },
        { table = "orders", actions = ["GetItem"] },
        { table = "products", actions = ["BatchGetItem"] },
      ]
      s3 = []
    }
    # measured: p50 3.1 ms on a full core, CPU 0.90 ms/request, peak RSS 6 MB -> 1024 MB (docs/benchmark.md)
    "put-cart" = {
      route  = "PUT /cart"
      memory = 1024
      dynamodb = [
        { table = "users", actions = ["GetItem"] },
        { table = "orders", actions = ["PutItem", "DeleteItem"] },
        { table = "products", actions = ["BatchGetItem"] },
      ]
      s3 = []
    }
    # measured: p50 6.2 ms on a full core, CPU 1.16 ms/request, peak RSS 6 MB -> 1024 MB (docs/benchmark.md)
    "create-order" = {
      route  = "POST /orders"
      memory = 1024
      dynamodb = [
        { table = "users", actions = ["BatchGetItem"] },
        { table = "orders", actions = ["BatchGetItem", "GetItem", "PutItem", "DeleteItem"] },
        { table = "products", actions = ["BatchGetItem", "UpdateItem"] },
      ]
      s3 = []
    }
    # measured: p50 2.4 ms on a full core, CPU 1.12 ms/request, peak RSS 6 MB -> 1024 MB (docs/benchmark.md)
    "list-orders" = {
      route  = "GET /orders"
      memory = 1024
      dynamodb = [
        { table = "users", actions = ["GetItem"] },
        { table = "orders:index", actions = ["Query"] },
      ]
      s3 = []
    }
    # measured: p50 1.0 ms on a full core, CPU 0.52 ms/request, peak RSS 6 MB -> 1024 MB (docs/benchmark.md)
    "get-order" = {
      route  = "GET /orders/{id}"
      memory = 1024
      dynamodb = [
        { table = "users", actions = ["GetItem"] },
        { table = "orders", actions = ["GetItem"] },
      ]
      s3 = []
    }
    # measured: p50 3.4 ms on a full core, CPU 0.79 ms/request, peak RSS 6 MB -> 1024 MB (docs/benchmark.md)
    "update-order-status" = {
      route  = "PUT /orders/{id}/status"
      memory = 1024
      dynamodb = [
        { table = "users", actions = ["GetItem"] },
        { table = "orders", actions = ["GetItem", "UpdateItem"] },
        { table = "products", actions = ["UpdateItem"] },
      ]
      s3 = []
    }
  }
}
