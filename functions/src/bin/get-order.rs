//! `GET /orders/{id}`
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    shop::run(shop::orders::get_order).await
}
