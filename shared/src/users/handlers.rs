//! The users endpoints, one function each: parse the request into the model, authenticate, call
//! the store, reply.

use lambda_http::Request;

use crate::auth::account::{AccountView, account_disabled};

use super::{
    links::{
        INVALID_RESET, INVALID_VERIFICATION, LinkRecord, LinkToken, Purpose, RESET_REQUESTED,
        ResetConfirmRequest, ResetRequest, VerifyRequest, link_key,
    },
    model::{
        ACCOUNT_ALERT_FAILURES, ACCOUNT_WIDE, BAD_CREDENTIALS, Credentials, Email, LoginRequest,
        LoginResponse, MfaRequired, Name, NewUser, PER_ACCOUNT_AND_ADDRESS, PER_ADDRESS,
        ProfileUpdate, RefreshRequest, RegisterRequest, UpdateMeRequest, UserView, new_password,
    },
    store::{self, Account, Scope},
};
use crate::{
    app::App,
    auth,
    error::{ApiError, ApiResult},
    platform::{
        db,
        http::{Reply, client_address, json_body, record_user},
        metrics,
    },
    types::{Role, UserId, now_epoch_secs},
};

/// Failed password checks (login, and `current_password` of `PUT /users/me`).
pub const FAILED_LOGINS: metrics::Metric = metrics::Metric("FailedLogins");
/// Password checks refused for now because of earlier failures.
pub const THROTTLED_LOGINS: metrics::Metric = metrics::Metric("ThrottledLogins");

/// `POST /users/register`
pub async fn register(app: &'static App, req: Request) -> ApiResult<Reply> {
    let new = NewUser::try_from(json_body::<RegisterRequest>(&req)?)?;
    let user = store::register(app, new, Role::Customer).await?;
    Reply::created(&user)
}

/// What the throttle found before a password check: this account's failures at this address (a
/// success then clears them, if there are any), and the place the attempt claimed on the account's
/// counter across addresses, if it had to claim one.
pub(super) struct Checked {
    pub(super) pair: store::Failures,
    claimed: Option<u64>,
}

/// Whether a password check must claim a place on its account's counter across addresses.
#[derive(Clone, Copy)]
pub(super) enum AccountWide<'a> {
    /// A browser the account signed in from before (a device token), or a signed-in caller.
    Exempt,
    /// Anyone else; `owner` (when the email has an account) is told when the count runs high.
    Claim { owner: Option<&'a UserId> },
}

/// Before a password is checked: a 429 (with `Retry-After`) while this account from this
/// address, or this address across accounts, is still waiting out its last failure. With
/// `account_wide` (a sign-in without a device token of the account) the attempt must also claim a
/// place on the account's counter across every address ([`ACCOUNT_WIDE`]), which a botnet runs
/// out of while the owner's browsers, holding device tokens, are never slowed.
pub(super) async fn throttle(
    app: &App,
    email: &Email,
    addr: &str,
    account_wide: AccountWide<'_>,
) -> ApiResult<Checked> {
    let now = now_epoch_secs();
    let account = async {
        match account_wide {
            AccountWide::Claim { .. } => {
                store::failures(app, Scope::Account(email)).await.map(Some)
            }
            AccountWide::Exempt => Ok(None),
        }
    };
    // Boxed: SDK futures are large, and three side by side would grow every caller's state.
    let (pair, address, account) = tokio::try_join!(
        Box::pin(store::failures(app, Scope::AccountAtAddress(email, addr))),
        Box::pin(store::failures(app, Scope::Address(addr))),
        Box::pin(account),
    )?;
    let checked = PER_ACCOUNT_AND_ADDRESS
        .check(pair.count, pair.last, now)
        .and_then(|()| PER_ADDRESS.check(address.count, address.last, now));
    let claimed = match (checked, account) {
        (Err(e), _) => Err(e),
        (Ok(()), None) => Ok(None),
        (Ok(()), Some(read)) => {
            let held = read.held_back;
            let claimed = match ACCOUNT_WIDE.claim(read.count, read.last, now) {
                Err(e) => Err(e),
                Ok(claim) => {
                    match store::claim_attempt(app, Scope::Account(email), read, claim).await? {
                        Some(count) => Ok(Some(count + held)),
                        // Other attempts took the place a moment ago: the next one opens shortly.
                        None => Err(ApiError::Throttled {
                            retry_after_secs: 1,
                        }),
                    }
                }
            };
            // Held back, it still counts towards the owner's alert (a botnet is mostly held back).
            if claimed.is_err() {
                let attempts = store::count_held_back(app, Scope::Account(email)).await?;
                if let AccountWide::Claim { owner } = account_wide {
                    alert_if_due(app, owner, attempts).await?;
                }
            }
            claimed
        }
    };
    if claimed.is_err() {
        tracing::warn!(
            security_event = "password_attempt_throttled",
            client = addr,
            account_wide = matches!(account_wide, AccountWide::Claim { .. }),
            "password check held back"
        );
        metrics::emit(&[(THROTTLED_LOGINS, 1)]);
    }
    claimed.map(|claimed| Checked { pair, claimed })
}

/// A wrong password: counted for this account at this address, this address, and the account
/// (whose owner hears of an attack far above anyone's typos; the account is never locked).
/// `claimed`: the account's count already holds this attempt (its claimed place).
pub(super) async fn failed_password(
    app: &App,
    email: &Email,
    owner: Option<&UserId>,
    addr: &str,
    claimed: Option<u64>,
) -> ApiResult<()> {
    let account = async {
        match claimed {
            Some(count) => Ok(count),
            None => store::count_failure(app, Scope::Account(email)).await,
        }
    };
    let (pair, _, account) = tokio::try_join!(
        Box::pin(store::count_failure(
            app,
            Scope::AccountAtAddress(email, addr)
        )),
        Box::pin(store::count_failure(app, Scope::Address(addr))),
        Box::pin(account),
    )?;
    tracing::info!(
        security_event = "password_check_failed",
        failures = pair,
        client = addr,
        "failed password check"
    );
    alert_if_due(app, owner, account).await?;
    metrics::emit(&[(FAILED_LOGINS, 1)]);
    Ok(())
}

/// Tells the owner of an account that has seen `attempts` wrong or held-back sign-ins in the
/// window, once past [`ACCOUNT_ALERT_FAILURES`]. Every later attempt in the window also tries;
/// one alert wins.
async fn alert_if_due(app: &App, owner: Option<&UserId>, attempts: u64) -> ApiResult<()> {
    if attempts >= ACCOUNT_ALERT_FAILURES
        && let Some(user) = owner
        && store::raise_alert(app, user, attempts).await?
    {
        tracing::warn!(
            security_event = "account_under_attack",
            failures = attempts,
            user_id = %user,
            "many failed password checks on one account; its owner is emailed"
        );
    }
    Ok(())
}

/// `POST /users/login`
pub async fn login(app: &'static App, req: Request) -> ApiResult<Reply> {
    let creds = Credentials::try_from(json_body::<LoginRequest>(&req)?)?;
    let addr = client_address(&req, app.config.origin_secret.as_deref());
    let account = store::find_by_email(app, &creds.email).await?;
    let known_device = match (&account, &creds.device_token) {
        (Some(a), Some(token)) => {
            auth::device::is_known(&app.jwt.device_key, token, &a.view.id, now_epoch_secs())
        }
        _ => false,
    };
    let owner = account.as_ref().map(|a| a.view.id.clone());
    let account_wide = match known_device {
        true => AccountWide::Exempt,
        false => AccountWide::Claim {
            owner: owner.as_ref(),
        },
    };
    let checked = throttle(app, &creds.email, &addr, account_wide).await?;
    // Judged before the password is checked, for unknown emails too, so it takes the same time.
    let weak = {
        let names: Vec<&Name> = account.iter().map(|a| &a.view.name).collect();
        new_password(creds.password.clone(), &creds.email, &names).is_err()
    };
    // An unknown email is checked against a dummy hash: it costs what a wrong password costs.
    let ok = auth::verify_password(
        creds.password,
        account.as_ref().map(|a| a.password_hash.clone()),
    )
    .await?;
    let Some(Account {
        view: user, item, ..
    }) = account.filter(|_| ok)
    else {
        failed_password(app, &creds.email, owner.as_ref(), &addr, checked.claimed).await?;
        return Err(ApiError::Unauthenticated(BAD_CREDENTIALS));
    };
    if AccountView(&item).disabled() {
        tracing::warn!(security_event = "disabled_account_sign_in", user_id = %user.id, client = %addr, "sign-in refused: the account is disabled");
        return Err(account_disabled());
    }
    // Most sign-ins follow no failure: then there is nothing to clear.
    if checked.pair.count > 0 {
        store::clear_failures(app, Scope::AccountAtAddress(&creds.email, &addr)).await?;
    }
    if checked.claimed.is_some() {
        store::release_attempt(app, Scope::Account(&creds.email)).await?;
    }
    record_user(user.id.as_str());
    if weak {
        tracing::warn!(
            security_event = "weak_password_sign_in",
            "signed in with a password today's rules refuse; a new one is required"
        );
    }
    if user.mfa_enabled {
        let now = now_epoch_secs();
        let mfa_token = auth::mfa::open_challenge(app, &user.id, &item, weak, now).await?;
        tracing::info!(security_event = "password_accepted_code_required", client = %addr, "password right; waiting for the second factor");
        return Reply::ok(&MfaRequired::new(mfa_token));
    }
    let tokens = auth::session::open(app, &user.id, user.role, &item, weak).await?;
    signed_in(app, &addr, tokens, user, weak)
}

/// The answer of a completed sign-in: the token pair, and a fresh device token for the browser.
pub(super) fn signed_in(
    app: &App,
    addr: &str,
    tokens: auth::TokenPair,
    user: UserView,
    password_change_required: bool,
) -> ApiResult<Reply> {
    tracing::info!(security_event = "signed_in", client = %addr, "signed in");
    // Like every personal answer, never stored by a cache (`Caching::Private`, the default).
    let device_token = auth::device::issue(&app.jwt.device_key, &user.id, now_epoch_secs());
    Reply::ok(&LoginResponse {
        tokens,
        device_token,
        user,
        password_change_required,
    })
}

/// `POST /users/refresh` `{refresh_token}`: a new access token and a new refresh token; the
/// presented one is rotated away (presenting it again ends the session).
pub async fn refresh(app: &'static App, req: Request) -> ApiResult<Reply> {
    let body: RefreshRequest = json_body(&req)?;
    Reply::ok(&auth::session::refresh(app, &body.refresh_token).await?)
}

/// `POST /users/logout-all`: ends every session of the account, this one included.
pub async fn logout_all(app: &'static App, req: Request) -> ApiResult<Reply> {
    let (who, item) = auth::authenticate_even_if_blocked(app, &req).await?;
    auth::session::end_all(app, &who.user_id, &item, None).await?;
    Reply::no_content()
}

/// `GET /users/me`
pub async fn get_me(app: &'static App, req: Request) -> ApiResult<Reply> {
    let (_, item) = auth::authenticate_account(app, &req).await?;
    Reply::ok(&crate::db::decode::<UserView>(item)?)
}

/// `PUT /users/me`
pub async fn update_me(app: &'static App, req: Request) -> ApiResult<Reply> {
    let mut update = ProfileUpdate::try_from(json_body::<UpdateMeRequest>(&req)?)?;
    let (who, item) = auth::authenticate_even_if_blocked(app, &req).await?;
    // Held to a new password, the account may change its profile only along with it.
    if update.password.is_none() {
        auth::unblocked(&item)?;
    }
    let account = Account::from_item(item)?;
    let new_hash = match update.password.take() {
        None => None,
        Some(change) => {
            let names: Vec<&Name> = [Some(&account.view.name), update.name.as_ref()]
                .into_iter()
                .flatten()
                .collect();
            let new = new_password(change.new, &account.view.email, &names)?;
            // Guessing the current password with a stolen token is throttled like a login.
            let addr = client_address(&req, app.config.origin_secret.as_deref());
            throttle(app, &account.view.email, &addr, AccountWide::Exempt).await?;
            if !auth::verify_password(change.current, Some(account.password_hash)).await? {
                let (email, id) = (&account.view.email, Some(&account.view.id));
                failed_password(app, email, id, &addr, None).await?;
                return Err(ApiError::NotAllowed("current_password is incorrect"));
            }
            Some(auth::hash_password(new).await?)
        }
    };
    let changed_password = new_hash.is_some();
    let user = store::update_profile(app, &account.view.id, &update, new_hash).await?;
    if changed_password {
        // Whoever else was signed in (perhaps with the old password) is signed out; this session stays.
        auth::session::end_all(app, &who.user_id, &account.item, Some(&who.sid)).await?;
        tracing::info!(security_event = "password_changed", user_id = %who.user_id, "password changed");
    }
    Reply::ok(&user)
}

/// `POST /users/logout`: revokes the presented token until it would have expired anyway.
pub async fn logout(app: &'static App, req: Request) -> ApiResult<Reply> {
    let (who, mut item) = auth::authenticate_even_if_blocked(app, &req).await?;
    let revoked = match item.remove(auth::REVOKED_TOKENS) {
        Some(aws_sdk_dynamodb::types::AttributeValue::M(m)) => m,
        _ => Default::default(),
    };
    auth::revoke(app, &who, &revoked).await?;
    auth::session::end(app, &who.user_id, &who.sid).await?;
    Reply::no_content()
}

/// Holds back an address that has failed (or asked) too often lately, like a password guesser.
async fn address_throttle(app: &App, addr: &str) -> ApiResult<()> {
    let f = store::failures(app, Scope::Address(addr)).await?;
    PER_ADDRESS
        .check(f.count, f.last, now_epoch_secs())
        .inspect_err(|_| {
            tracing::warn!(
                security_event = "link_attempt_throttled",
                client = addr,
                "held back"
            );
            metrics::emit(&[(THROTTLED_LOGINS, 1)]);
        })
}

/// The link request `raw` opens for `purpose`, with its account. A malformed, forged, foreign,
/// used or expired token is `None`, counted against the address like a wrong password.
async fn open_link(
    app: &App,
    purpose: Purpose,
    raw: &str,
    addr: &str,
) -> ApiResult<Option<(LinkRecord, UserId)>> {
    let opened = match LinkToken::parse(raw) {
        None => None,
        Some(token) => store::load_link(app, purpose, &token.id)
            .await?
            .and_then(|r| {
                let key = link_key(&app.config.jwt_secret, purpose);
                let user = token.opens(&key, &r, now_epoch_secs())?.clone();
                Some((r, user))
            }),
    };
    if opened.is_none() {
        store::count_failure(app, Scope::Address(addr)).await?;
        tracing::warn!(security_event = "link_refused", purpose = ?purpose, client = %addr, "invalid emailed-link token");
    }
    Ok(opened)
}

/// `POST /users/password-reset` `{email}`: 202 with the same answer whether or not an account has
/// the address. Both cases read the email guard and write one reset record (without an account
/// when there is none), so they also take the same time; only a record with an account becomes
/// an event, and so an email with a link (30 minutes, single use).
pub async fn password_reset(app: &'static App, req: Request) -> ApiResult<Reply> {
    let body: ResetRequest = json_body(&req)?;
    let email = Email::parse(&body.email)?;
    let addr = client_address(&req, app.config.origin_secret.as_deref());
    address_throttle(app, &addr).await?;
    // Every request counts against the address: a flood of reset emails is held back too.
    store::count_failure(app, Scope::Address(&addr)).await?;
    let account = store::account_id_by_email(app, &email).await?;
    let record = LinkRecord::new(Purpose::Reset, account, now_epoch_secs());
    store::put_link(app, Purpose::Reset, &record).await?;
    if let Some(user) = &record.user_id {
        tracing::info!(security_event = "password_reset_requested", user_id = %user, client = %addr, "password reset requested");
    }
    Reply::json(
        lambda_http::http::StatusCode::ACCEPTED,
        &serde_json::json!({ "message": RESET_REQUESTED }),
    )
}

/// `POST /users/password-reset/confirm` `{token, password}`: sets the password and ends every
/// session (204). A used, expired, forged or malformed token is one 400.
pub async fn confirm_password_reset(app: &'static App, req: Request) -> ApiResult<Reply> {
    let body: ResetConfirmRequest = json_body(&req)?;
    let addr = client_address(&req, app.config.origin_secret.as_deref());
    address_throttle(app, &addr).await?;
    let refused = || ApiError::bad_request("invalid_reset_token", INVALID_RESET);
    let (record, user) = open_link(app, Purpose::Reset, &body.token, &addr)
        .await?
        .ok_or_else(refused)?;
    let view = store::load_user(app, &user, db::Consistency::Strong)
        .await?
        .ok_or_else(refused)?;
    let password = new_password(body.password, &view.email, &[&view.name])?;
    let hash = auth::hash_password(password).await?;
    if !store::complete_reset(app, &record.id, &user, &hash).await? {
        return Err(refused());
    }
    record_user(user.as_str());
    tracing::info!(security_event = "password_reset", user_id = %user, client = %addr, "password reset; every session ended");
    Reply::no_content()
}

/// `POST /users/verify-email` `{token}`: the link mailed at registration (or resent) marks the
/// account's email verified (204). A used, expired, forged or malformed token is one 400.
pub async fn verify_email(app: &'static App, req: Request) -> ApiResult<Reply> {
    let body: VerifyRequest = json_body(&req)?;
    let addr = client_address(&req, app.config.origin_secret.as_deref());
    address_throttle(app, &addr).await?;
    let refused = || ApiError::bad_request("invalid_verification_token", INVALID_VERIFICATION);
    let (record, user) = open_link(app, Purpose::Verify, &body.token, &addr)
        .await?
        .ok_or_else(refused)?;
    if !store::complete_verification(app, &record.id, &user).await? {
        return Err(refused());
    }
    record_user(user.as_str());
    tracing::info!(security_event = "email_verified", user_id = %user, "email verified");
    Reply::no_content()
}

/// `POST /users/verify-email/resend`: mails a new verification link to the signed-in account
/// (202); an account already verified is a 409. Counted against the address, like a reset.
pub async fn resend_verification(app: &'static App, req: Request) -> ApiResult<Reply> {
    let (who, item) = auth::authenticate_account(app, &req).await?;
    let view: UserView = crate::db::decode(item)?;
    if view.email_verified {
        return Err(ApiError::conflict(
            "already_verified",
            "this account's email is already verified",
        ));
    }
    let addr = client_address(&req, app.config.origin_secret.as_deref());
    address_throttle(app, &addr).await?;
    store::count_failure(app, Scope::Address(&addr)).await?;
    let record = LinkRecord::new(Purpose::Verify, Some(who.user_id), now_epoch_secs());
    store::put_link(app, Purpose::Verify, &record).await?;
    Reply::json(
        lambda_http::http::StatusCode::ACCEPTED,
        &serde_json::json!({ "message": "We have sent you a new link to confirm your email address." }),
    )
}
