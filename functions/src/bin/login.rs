//! `POST /users/login`
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    shop::run(shop::users::login).await
}
