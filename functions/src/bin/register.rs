//! `POST /users/register`
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    shop::run(shop::users::register).await
}
