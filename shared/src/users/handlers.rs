//! The users endpoints, one function each: parse the request into the model, authenticate, call
//! the store, reply.

use lambda_http::Request;

use super::{
    model::{
        BAD_CREDENTIALS, Credentials, Email, LoginRequest, LoginResponse, NewUser, ProfileUpdate,
        RegisterRequest, UpdateMeRequest, UserView, check_lockout,
    },
    store::{self, Account},
};
use crate::{
    app::App,
    auth,
    error::{ApiError, ApiResult},
    platform::{
        http::{Reply, json_body, record_user},
        metrics,
    },
    types::{Role, now_epoch_secs},
};

/// Failed password checks (login, and `current_password` of `PUT /users/me`).
pub const FAILED_LOGINS: metrics::Metric = metrics::Metric("FailedLogins");

/// `POST /users/register`
pub async fn register(app: &'static App, req: Request) -> ApiResult<Reply> {
    let new = NewUser::try_from(json_body::<RegisterRequest>(&req)?)?;
    let user = store::register(app, new, Role::Customer).await?;
    Reply::created(&user)
}

async fn failed_password(app: &App, email: &Email) -> ApiResult<()> {
    let failures = store::record_failed_login(app, email).await?;
    tracing::info!(failures, "failed login");
    metrics::emit(&[(FAILED_LOGINS, 1)]);
    Ok(())
}

/// `POST /users/login`
pub async fn login(app: &'static App, req: Request) -> ApiResult<Reply> {
    let creds = Credentials::try_from(json_body::<LoginRequest>(&req)?)?;
    if let Some((failures, window_ends)) = store::failed_logins(app, &creds.email).await? {
        check_lockout(failures, window_ends, now_epoch_secs())?;
    }
    let account = store::find_by_email(app, &creds.email).await?;
    // An unknown email is checked against a dummy hash: it costs what a wrong password costs.
    let ok = auth::verify_password(
        creds.password,
        account.as_ref().map(|a| a.password_hash.clone()),
    )
    .await?;
    let Some(Account { view: user, .. }) = account.filter(|_| ok) else {
        failed_password(app, &creds.email).await?;
        return Err(ApiError::Unauthenticated(BAD_CREDENTIALS));
    };
    store::clear_failed_logins(app, &creds.email).await?;
    record_user(user.id.as_str());
    let token = app.jwt.issue(&user.id, user.role)?;
    // Like every personal answer, never stored by a cache (`Caching::Private`, the default).
    Reply::ok(&LoginResponse {
        token,
        token_type: "Bearer".into(),
        expires_in: app.jwt.ttl_secs,
        user,
    })
}

/// `GET /users/me`
pub async fn get_me(app: &'static App, req: Request) -> ApiResult<Reply> {
    let (_, item) = auth::authenticate_account(app, &req).await?;
    Reply::ok(&serde_dynamo::from_item::<_, UserView>(item)?)
}

/// `PUT /users/me`
pub async fn update_me(app: &'static App, req: Request) -> ApiResult<Reply> {
    let mut update = ProfileUpdate::try_from(json_body::<UpdateMeRequest>(&req)?)?;
    let (_, item) = auth::authenticate_account(app, &req).await?;
    let account = Account::from_item(item)?;
    let new_hash = match update.password.take() {
        None => None,
        Some((new, current)) => {
            if !auth::verify_password(current, Some(account.password_hash)).await? {
                // Guessing the current password with a stolen token counts like a failed login.
                failed_password(app, &account.view.email).await?;
                return Err(ApiError::NotAllowed("current_password is incorrect"));
            }
            Some(auth::hash_password(new).await?)
        }
    };
    let user = store::update_profile(app, &account.view.id, &update, new_hash).await?;
    Reply::ok(&user)
}

/// `POST /users/logout`: revokes the presented token until it would have expired anyway.
pub async fn logout(app: &'static App, req: Request) -> ApiResult<Reply> {
    let (who, mut item) = auth::authenticate_account(app, &req).await?;
    let revoked = match item.remove(auth::REVOKED_TOKENS) {
        Some(aws_sdk_dynamodb::types::AttributeValue::M(m)) => m,
        _ => Default::default(),
    };
    auth::revoke(app, &who, &revoked).await?;
    Reply::no_content()
}
