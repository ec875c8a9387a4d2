//! `PUT /orders/{id}/status`
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    shop::run(shop::orders::update_order_status).await
}
