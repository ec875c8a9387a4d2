//! `GET /health`: is DynamoDB reachable? No auth, cheap (one GetItem of a key that never exists).

use lambda_http::{Request, http::StatusCode};
use serde_json::json;

use crate::{
    app::App,
    error::ApiResult,
    platform::{db, http::Reply},
};

pub async fn health(app: &'static App, _req: Request) -> ApiResult<Reply> {
    let probe = app
        .dynamo
        .get_item()
        .table_name(&app.config.tables.users)
        .set_key(Some(db::key("HEALTH".into(), "HEALTH")))
        .send()
        .await;
    match probe {
        Ok(_) => Reply::ok(&json!({ "status": "ok", "checks": { "dynamodb": "ok" } })),
        Err(e) => {
            tracing::error!(error = %aws_sdk_dynamodb::error::DisplayErrorContext(e), "health check failed");
            Reply::json(
                StatusCode::SERVICE_UNAVAILABLE,
                &json!({
                    "status": "unavailable",
                    "checks": { "dynamodb": "unavailable" },
                    "error": { "code": "service_unavailable", "message": "dynamodb is unavailable" }
                }),
            )
        }
    }
}
