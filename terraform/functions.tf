# One entry per Lambda, mirroring Cargo.toml ([workspace.metadata.lambda.watch.router] and
# [workspace.metadata.shop.functions]); tests/iac fails when the two disagree.
# `dynamodb` grants exactly these actions; a table named "<table>:index" means its indexes.
locals {
  functions = {
    "health" = {
      route  = "GET /health"
      memory = 128
      dynamodb = [
        { table = "users", actions = ["GetItem"] },
      ]
      s3 = []
    }
    "register" = {
      route  = "POST /users/register"
      memory = 1024
      dynamodb = [
        { table = "users", actions = ["PutItem"] },
      ]
      s3 = []
    }
    "login" = {
      route  = "POST /users/login"
      memory = 1024
      dynamodb = [
        { table = "users", actions = ["GetItem", "PutItem", "UpdateItem", "DeleteItem"] },
      ]
      s3 = []
    }
    "logout" = {
      route  = "POST /users/logout"
      memory = 128
      dynamodb = [
        { table = "users", actions = ["GetItem", "UpdateItem"] },
      ]
      s3 = []
    }
    "get-me" = {
      route  = "GET /users/me"
      memory = 128
      dynamodb = [
        { table = "users", actions = ["GetItem"] },
      ]
      s3 = []
    }
    "update-me" = {
      route  = "PUT /users/me"
      memory = 1024
      dynamodb = [
        { table = "users", actions = ["GetItem", "PutItem", "UpdateItem"] },
      ]
      s3 = []
    }
    "list-products" = {
      route  = "GET /products"
      memory = 128
      dynamodb = [
        { table = "products:index", actions = ["Query"] },
      ]
      s3 = []
    }
    "get-product" = {
      route  = "GET /products/{id}"
      memory = 128
      dynamodb = [
        { table = "products", actions = ["GetItem"] },
      ]
      s3 = []
    }
    "create-product" = {
      route  = "POST /products"
      memory = 128
      dynamodb = [
        { table = "users", actions = ["GetItem"] },
        { table = "products", actions = ["PutItem"] },
      ]
      s3 = []
    }
    "update-product" = {
      route  = "PUT /products/{id}"
      memory = 128
      dynamodb = [
        { table = "users", actions = ["GetItem"] },
        { table = "products", actions = ["GetItem", "PutItem", "UpdateItem", "DeleteItem"] },
      ]
      s3 = []
    }
    "delete-product" = {
      route  = "DELETE /products/{id}"
      memory = 128
      dynamodb = [
        { table = "users", actions = ["GetItem"] },
        { table = "products", actions = ["GetItem", "DeleteItem"] },
      ]
      s3 = []
    }
    "product-image" = {
      route  = "POST /products/{id}/image"
      memory = 128
      dynamodb = [
        { table = "users", actions = ["GetItem"] },
        { table = "products", actions = ["UpdateItem"] },
      ]
      s3 = ["PutObject"]
    }
    "get-inventory" = {
      route  = "GET /inventory"
      memory = 128
      dynamodb = [
        { table = "products", actions = ["BatchGetItem"] },
      ]
      s3 = []
    }
    "get-cart" = {
      route  = "GET /cart"
      memory = 128
      dynamodb = [
        { table = "users", actions = ["GetItem"] },
        { table = "orders", actions = ["GetItem"] },
        { table = "products", actions = ["BatchGetItem"] },
      ]
      s3 = []
    }
    "put-cart" = {
      route  = "PUT /cart"
      memory = 128
      dynamodb = [
        { table = "users", actions = ["GetItem"] },
        { table = "orders", actions = ["PutItem", "DeleteItem"] },
        { table = "products", actions = ["BatchGetItem"] },
      ]
      s3 = []
    }
    "create-order" = {
      route  = "POST /orders"
      memory = 128
      dynamodb = [
        { table = "users", actions = ["GetItem"] },
        { table = "orders", actions = ["GetItem", "PutItem", "DeleteItem"] },
        { table = "products", actions = ["BatchGetItem", "UpdateItem"] },
      ]
      s3 = []
    }
    "list-orders" = {
      route  = "GET /orders"
      memory = 128
      dynamodb = [
        { table = "users", actions = ["GetItem"] },
        { table = "orders:index", actions = ["Query"] },
      ]
      s3 = []
    }
    "get-order" = {
      route  = "GET /orders/{id}"
      memory = 128
      dynamodb = [
        { table = "users", actions = ["GetItem"] },
        { table = "orders", actions = ["GetItem"] },
      ]
      s3 = []
    }
    "update-order-status" = {
      route  = "PUT /orders/{id}/status"
      memory = 128
      dynamodb = [
        { table = "users", actions = ["GetItem"] },
        { table = "orders", actions = ["GetItem", "UpdateItem"] },
        { table = "products", actions = ["UpdateItem"] },
      ]
      s3 = []
    }
  }
}
