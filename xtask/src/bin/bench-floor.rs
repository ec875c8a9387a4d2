//! The benchmark's floor: a Lambda that does nothing but poll the Runtime API and answer every
//! event with an empty 200, built like the functions (same runtime crate, same profile). Its init
//! is what exec, the async runtime and the first poll cost on this machine; a function's init
//! over it is what our start-up adds.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    lambda_http::run(lambda_http::service_fn(|_req| async {
        Ok::<_, std::convert::Infallible>(lambda_http::Response::new(lambda_http::Body::Empty))
    }))
    .await
}
