//! `PUT /users/me`
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    shop::run(shop::users::update_me).await
}
