//! Users: registration, login with lockout, profile, logout.
//! `model` (pure) <- `store` (DynamoDB) <- `handlers` (one function per endpoint).

pub mod handlers;
pub mod links;
pub mod model;
pub mod store;

pub use handlers::{
    confirm_password_reset, get_me, login, logout, logout_all, password_reset, refresh, register,
    resend_verification, update_me, verify_email,
};
pub use model::{
    ACCOUNT_ALERT_FAILURES, ACCOUNT_WIDE, ACCOUNT_WIDE_GUESSES_PER_HOUR, NewUser,
    PER_ACCOUNT_AND_ADDRESS, PER_ADDRESS, RegisterRequest, Throttle, UserView,
};

use crate::{
    app::App,
    auth::password::Password,
    error::{ApiError, ApiResult},
    types::Role,
};
use model::{Email, Name};

/// Used by the dev seeding tool: ensures an admin account exists with the given password.
pub async fn ensure_admin(app: &App, email: &str, password: &str, name: &str) -> ApiResult<bool> {
    let new = NewUser {
        email: Email::parse(email)?,
        password: Password::parse("password", password.to_string())?,
        name: Name::parse(name)?,
    };
    match store::register(app, new, Role::Admin).await {
        Ok(_) => Ok(true),
        Err(ApiError::Conflict { .. }) => Ok(false),
        Err(e) => Err(e),
    }
}
