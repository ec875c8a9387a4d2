//! Users: registration, login with lockout, profile, logout.
//! `model` (pure) <- `store` (DynamoDB) <- `handlers` (one function per endpoint).

pub mod handlers;
pub mod links;
pub mod model;
pub mod store;
pub mod two_factor;

pub use handlers::{
    confirm_password_reset, get_me, login, logout, logout_all, password_reset, refresh, register,
    resend_verification, update_me, verify_email,
};
pub use model::{
    ACCOUNT_ALERT_FAILURES, ACCOUNT_WIDE, ACCOUNT_WIDE_GUESSES_PER_HOUR, NewUser,
    PER_ACCOUNT_AND_ADDRESS, PER_ADDRESS, RegisterRequest, Throttle, UserView,
};
pub use two_factor::{confirm_totp, enrol_totp, login_mfa, remove_totp};

use crate::{
    app::App,
    auth::{password::Password, totp::TotpSecret},
    error::{ApiError, ApiResult},
    types::Role,
};
use model::{Email, Name};

/// Used by the dev seeding tool (and the tests): ensures an admin account exists with the given
/// password and two-factor sign-in on with `totp` (as an admin needs it), unless already on.
pub async fn ensure_admin(
    app: &App,
    email: &str,
    password: &str,
    name: &str,
    totp: &TotpSecret,
) -> ApiResult<bool> {
    let new = NewUser {
        email: Email::parse(email)?,
        password: Password::parse("password", password.to_string())?,
        name: Name::parse(name)?,
    };
    let email = new.email.clone();
    let created = match store::register(app, new, Role::Admin).await {
        Ok(_) => true,
        Err(ApiError::Conflict { .. }) => false,
        Err(e) => return Err(e),
    };
    if let Some(id) = store::account_id_by_email(app, &email).await? {
        crate::auth::mfa::enrol_with(app, &id, totp).await?;
    }
    Ok(created)
}
