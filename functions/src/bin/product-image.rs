//! `POST /products/{id}/image`
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    shop::run(shop::catalog::product_image).await
}
