//! The two-factor endpoints: enrol an authenticator app, confirm it, turn it off, and the code
//! step of a sign-in. The rules (codes once, recovery codes once, sign-in steps once) are in
//! `auth::totp` and `auth::mfa`; wrong codes are throttled and counted like wrong passwords.

use lambda_http::Request;

use super::{
    handlers::{AccountWide, failed_password, signed_in, throttle},
    model::{
        MfaConfirmRequest, MfaEnrolRequest, MfaEnrolment, MfaLoginRequest, MfaRemoveRequest,
        RecoveryCodes, second_factor,
    },
    store::{self, Account, Scope},
};
use crate::{
    app::App,
    auth::{
        self,
        account::{AccountView, account_disabled},
        mfa::{self, Redeemed},
    },
    error::{ApiError, ApiResult},
    platform::http::{Reply, client_address, json_body, record_user},
    types::now_epoch_secs,
};

/// An mfa_token that is not this shop's, has expired, or whose sign-in step is already completed.
pub const INVALID_MFA_TOKEN: &str =
    "this sign-in step has expired or was already used: sign in with your password again";

/// Checks `current_password` of a signed-in account (throttled and counted like a sign-in).
async fn password_again(
    app: &App,
    req: &Request,
    account: &Account,
    password: String,
) -> ApiResult<()> {
    let addr = client_address(req, app.config.origin_secret.as_deref());
    let email = &account.view.email;
    throttle(app, email, &addr, AccountWide::Exempt).await?;
    if !auth::verify_password(password, Some(account.password_hash.clone())).await? {
        failed_password(app, email, Some(&account.view.id), &addr, None).await?;
        return Err(ApiError::NotAllowed("current_password is incorrect"));
    }
    Ok(())
}

/// `POST /users/mfa/totp` `{current_password}`: a new secret for an authenticator app, as text,
/// an `otpauth://` URI and a QR code (SVG). Nothing changes until a code from it is confirmed.
pub async fn enrol_totp(app: &'static App, req: Request) -> ApiResult<Reply> {
    let body: MfaEnrolRequest = json_body(&req)?;
    let (who, item) = auth::authenticate_account(app, &req).await?;
    let account = Account::from_item(item)?;
    password_again(app, &req, &account, body.current_password).await?;
    let secret = mfa::begin(app, &who.user_id).await?;
    let otpauth_uri = secret.uri(account.view.email.as_str());
    Reply::ok(&MfaEnrolment {
        secret: secret.base32(),
        qr_svg: auth::totp::qr_svg(&otpauth_uri),
        otpauth_uri,
    })
}

/// `POST /users/mfa/totp/confirm` `{code}`: a current code of the new secret turns two-factor
/// sign-in on; answers the 10 recovery codes, once.
pub async fn confirm_totp(app: &'static App, req: Request) -> ApiResult<Reply> {
    let body: MfaConfirmRequest = json_body(&req)?;
    let code = second_factor(&body.code)?;
    let (who, item) = auth::authenticate_account(app, &req).await?;
    let codes = mfa::confirm(app, &who.user_id, &item, &code, now_epoch_secs()).await?;
    tracing::info!(security_event = "mfa_enabled", user_id = %who.user_id, "two-factor sign-in turned on");
    Reply::ok(&RecoveryCodes {
        recovery_codes: codes.iter().map(|c| c.display()).collect(),
    })
}

/// `DELETE /users/mfa/totp` `{current_password, code}`: turns two-factor sign-in off (204).
pub async fn remove_totp(app: &'static App, req: Request) -> ApiResult<Reply> {
    let body: MfaRemoveRequest = json_body(&req)?;
    let code = second_factor(&body.code)?;
    let (who, item) = auth::authenticate_account(app, &req).await?;
    let account = Account::from_item(item)?;
    if !account.view.mfa_enabled {
        return Err(ApiError::conflict(
            "mfa_not_enabled",
            "two-factor sign-in is not on for this account",
        ));
    }
    password_again(app, &req, &account, body.current_password).await?;
    let now = now_epoch_secs();
    if mfa::redeem(app, &who.user_id, &account.item, &code, None, now)
        .await?
        .is_none()
    {
        tracing::warn!(security_event = "mfa_code_refused", user_id = %who.user_id, "wrong code to turn two-factor sign-in off");
        return Err(mfa::invalid_code());
    }
    mfa::disable(app, &who.user_id).await?;
    tracing::warn!(security_event = "mfa_disabled", user_id = %who.user_id, "two-factor sign-in turned off");
    Reply::no_content()
}

/// `POST /users/login/mfa` `{mfa_token, code}`: completes a sign-in whose password was right with
/// a current code (or a recovery code): the usual token pair. The step closes on success; a wrong
/// code is throttled and counted like a wrong password and leaves the step open until it expires.
pub async fn login_mfa(app: &'static App, req: Request) -> ApiResult<Reply> {
    let body: MfaLoginRequest = json_body(&req)?;
    let code = second_factor(&body.code)?;
    let now = now_epoch_secs();
    let addr = client_address(&req, app.config.origin_secret.as_deref());
    let refused = || ApiError::Unauthenticated(INVALID_MFA_TOKEN);
    let challenge = app.jwt.mfa().parse_challenge(&body.mfa_token, now);
    let account = match &challenge {
        Some(c) => store::load_account(app, &c.user).await?,
        None => None,
    };
    let (Some(challenge), Some(account)) = (challenge, account) else {
        tracing::warn!(security_event = "mfa_token_refused", client = %addr, "invalid mfa_token");
        return Err(refused());
    };
    if !mfa::is_open(&account.item, &challenge, now) {
        tracing::warn!(security_event = "mfa_token_refused", user_id = %challenge.user, client = %addr, "sign-in step already used or expired");
        return Err(refused());
    }
    let (email, user) = (&account.view.email, &account.view.id);
    let checked = throttle(app, email, &addr, AccountWide::Exempt).await?;
    match mfa::redeem(app, user, &account.item, &code, Some(&challenge), now).await? {
        None => {
            tracing::warn!(security_event = "mfa_code_refused", user_id = %user, client = %addr, "wrong second factor at sign-in");
            failed_password(app, email, Some(user), &addr, None).await?;
            return Err(ApiError::Unauthenticated(mfa::INVALID_CODE));
        }
        Some(Redeemed::Recovery { left }) => {
            tracing::warn!(security_event = "mfa_recovery_code_used", user_id = %user, left, "signed in with a recovery code");
        }
        Some(Redeemed::Totp) => {}
    }
    if checked.pair.count > 0 {
        store::clear_failures(app, Scope::AccountAtAddress(email, &addr)).await?;
    }
    record_user(user.as_str());
    if AccountView(&account.item).disabled() {
        tracing::warn!(security_event = "disabled_account_sign_in", user_id = %user, client = %addr, "sign-in refused: the account is disabled");
        return Err(account_disabled());
    }
    let blocked = AccountView(&account.item).password_change_required();
    let tokens = auth::session::open(app, user, account.view.role, &account.item, false).await?;
    signed_in(app, &addr, tokens, account.view, blocked)
}
