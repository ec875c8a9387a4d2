//! Two-factor sign-in kept on the account item: enrolment (a pending secret, then confirmed with a
//! code), codes accepted once (the step of the last one is stored and only a later one passes, by
//! a condition), recovery codes used once (removed from their set by a condition), and the open
//! password steps of sign-ins waiting for their code. `auth::totp` holds the pure parts.

use aws_sdk_dynamodb::types::AttributeValue;

use super::{
    account::{
        AccountView, Accounts, MFA_CHALLENGES, MFA_ENABLED, PASSWORD_CHANGE_REQUIRED,
        RECOVERY_CODES, TOTP_LAST_STEP, TOTP_PENDING, TOTP_SECRET, account_key,
    },
    totp::{Challenge, RECOVERY_CODES as HANDED_OUT, RecoveryCode, SecondFactor, TotpSecret},
};
use crate::{
    error::{ApiError, ApiResult},
    platform::db::{self, Item, UpdateExpr, n, s},
    types::UserId,
};

/// Open sign-in steps kept per account; beyond it the oldest is dropped.
const MAX_CHALLENGES: usize = 10;

/// What an admin without two-factor sign-in gets from every admin route.
pub fn enrollment_required() -> ApiError {
    ApiError::Blocked {
        code: "mfa_enrollment_required",
        message: "admin accounts need two-factor sign-in: enrol an authenticator app (POST /users/mfa/totp, then /users/mfa/totp/confirm) first",
    }
}

/// A code that is not the current one, was used already, or a recovery code not (or no longer) held.
pub const INVALID_CODE: &str = "the code is wrong, expired or already used";

pub fn invalid_code() -> ApiError {
    ApiError::bad_request("invalid_code", INVALID_CODE)
}

fn already_enabled() -> ApiError {
    ApiError::conflict(
        "mfa_already_enabled",
        "two-factor sign-in is already on for this account",
    )
}

/// Conditions `u` on the account existing without two-factor sign-in on (the flag is stored
/// `false` at registration, and removed when it is turned off).
fn not_enabled(u: &mut UpdateExpr) {
    let (flag, off) = (u.name(MFA_ENABLED), u.value(AttributeValue::Bool(false)));
    u.condition(db::exists())
        .condition(format!("attribute_not_exists({flag}) OR {flag} = {off}"));
}

async fn write(app: &impl Accounts, user: &UserId, u: &UpdateExpr) -> ApiResult<bool> {
    db::applied(
        u.update_item(app.dynamo(), app.users_table(), account_key(user.as_str()))
            .send()
            .await,
    )
}

/// Starts enrolment: a new secret, kept pending (sealed) until a code from it is confirmed.
pub async fn begin(app: &impl Accounts, user: &UserId) -> ApiResult<TotpSecret> {
    let secret = TotpSecret::generate();
    let mut u = UpdateExpr::new();
    u.set(TOTP_PENDING, s(app.jwt().mfa().seal(user, &secret)));
    not_enabled(&mut u);
    if !write(app, user, &u).await? {
        return Err(already_enabled());
    }
    Ok(secret)
}

/// Confirms enrolment with a current code of the pending secret: two-factor sign-in is on, and
/// the recovery codes (answered once, stored as MACs) are returned.
pub async fn confirm(
    app: &impl Accounts,
    user: &UserId,
    account: &Item,
    code: &SecondFactor,
    now: u64,
) -> ApiResult<Vec<RecoveryCode>> {
    if AccountView(account).mfa_enabled() {
        return Err(already_enabled());
    }
    let keys = app.jwt().mfa();
    let pending = db::str_attr(account, TOTP_PENDING).ok_or_else(|| {
        ApiError::conflict(
            "mfa_not_started",
            "start enrolment first (POST /users/mfa/totp)",
        )
    })?;
    let secret = keys.open(user, pending).ok_or_else(invalid_code)?;
    let step = match code {
        SecondFactor::Totp(code) => secret.accepts(code, now, None),
        SecondFactor::Recovery(_) => None,
    }
    .ok_or_else(invalid_code)?;
    let codes: Vec<RecoveryCode> = (0..HANDED_OUT).map(|_| RecoveryCode::generate()).collect();
    let hashes = codes.iter().map(|c| keys.recovery_hash(user, c)).collect();
    let mut u = UpdateExpr::new();
    u.set(TOTP_SECRET, s(pending))
        .set(MFA_ENABLED, AttributeValue::Bool(true))
        .set(TOTP_LAST_STEP, n(step))
        .set(RECOVERY_CODES, AttributeValue::Ss(hashes))
        .remove(TOTP_PENDING);
    let (p, was) = (u.name(TOTP_PENDING), u.value(s(pending)));
    u.condition(format!("{p} = {was}"));
    if !write(app, user, &u).await? {
        return Err(ApiError::conflict(
            "mfa_enrolment_changed",
            "enrolment was started again meanwhile: use the newest secret",
        ));
    }
    Ok(codes)
}

/// How a second factor was accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Redeemed {
    Totp,
    /// A recovery code, now used up; `left` remain.
    Recovery {
        left: usize,
    },
}

/// Accepts `factor` for the account `account` (as read) once: a TOTP code later than the last
/// accepted, or a recovery code still held. With `challenge`, the sign-in step it names is closed
/// in the same write (so a challenge completes once). `None`: refused.
pub async fn redeem(
    app: &impl Accounts,
    user: &UserId,
    account: &Item,
    factor: &SecondFactor,
    challenge: Option<&Challenge>,
    now: u64,
) -> ApiResult<Option<Redeemed>> {
    let view = AccountView(account);
    let Some(sealed) = db::str_attr(account, TOTP_SECRET).filter(|_| view.mfa_enabled()) else {
        return Ok(None);
    };
    let mut u = UpdateExpr::new();
    let redeemed = match factor {
        SecondFactor::Totp(code) => {
            let secret = app.jwt().mfa().open(user, sealed);
            let last = db::num::<u64>(account, TOTP_LAST_STEP);
            let Some(step) = secret.and_then(|s| s.accepts(code, now, last)) else {
                return Ok(None);
            };
            u.set(TOTP_LAST_STEP, n(step));
            let (p, v) = (u.name(TOTP_LAST_STEP), u.value(n(step)));
            u.condition(format!("attribute_not_exists({p}) OR {p} < {v}"));
            Redeemed::Totp
        }
        SecondFactor::Recovery(code) => {
            let hash = app.jwt().mfa().recovery_hash(user, code);
            let held = match account.get(RECOVERY_CODES) {
                Some(AttributeValue::Ss(set)) => set.as_slice(),
                _ => &[],
            };
            if !held.contains(&hash) {
                return Ok(None);
            }
            u.delete(RECOVERY_CODES, AttributeValue::Ss(vec![hash.clone()]));
            let (p, v) = (u.name(RECOVERY_CODES), u.value(s(hash)));
            u.condition(format!("contains({p}, {v})"));
            Redeemed::Recovery {
                left: held.len() - 1,
            }
        }
    };
    // The secret the code was checked against is still the account's.
    let (p, v) = (u.name(TOTP_SECRET), u.value(s(sealed)));
    u.condition(format!("{p} = {v}"));
    if let Some(c) = challenge {
        u.remove_path(&[MFA_CHALLENGES, &c.id]);
        let (m, id) = (u.name(MFA_CHALLENGES), u.name(&c.id));
        u.condition(format!("attribute_exists({m}.{id})"));
    }
    Ok(write(app, user, &u).await?.then_some(redeemed))
}

/// Turns two-factor sign-in off: the secret, the recovery codes and open sign-in steps go.
pub async fn disable(app: &impl Accounts, user: &UserId) -> ApiResult<()> {
    let mut u = UpdateExpr::new();
    for attr in [
        MFA_ENABLED,
        TOTP_SECRET,
        TOTP_PENDING,
        TOTP_LAST_STEP,
        RECOVERY_CODES,
        MFA_CHALLENGES,
    ] {
        u.remove(attr);
    }
    u.condition(db::exists());
    write(app, user, &u).await?;
    Ok(())
}

/// Whether the sign-in step `c` is still open on the account (not completed, not expired).
pub fn is_open(account: &Item, c: &Challenge, now: u64) -> bool {
    challenges_of(account)
        .and_then(|m| m.get(&c.id))
        .and_then(|v| v.as_n().ok()?.parse::<u64>().ok())
        .is_some_and(|expires| expires > now)
}

fn challenges_of(item: &Item) -> Option<&std::collections::HashMap<String, AttributeValue>> {
    item.get(MFA_CHALLENGES).and_then(|v| v.as_m().ok())
}

/// Opens the code step of a sign-in whose password was right; `account` is the item as read (its
/// expired steps, and beyond [`MAX_CHALLENGES`] the oldest, are dropped). With `weak_password`
/// the account is held to set a new password, as `session::open` would.
pub async fn open_challenge(
    app: &impl Accounts,
    user: &UserId,
    account: &Item,
    weak_password: bool,
    now: u64,
) -> ApiResult<String> {
    let c = Challenge::new(user, now);
    let mut u = UpdateExpr::new();
    match challenges_of(account) {
        Some(open) => {
            u.set_path(&[MFA_CHALLENGES, &c.id], n(c.expires));
            let mut ids: Vec<&String> = open.keys().collect();
            ids.sort();
            let excess = (ids.len() + 1).saturating_sub(MAX_CHALLENGES);
            for (i, id) in ids.into_iter().enumerate() {
                let expired = open[id].as_n().ok().and_then(|v| v.parse::<u64>().ok()) <= Some(now);
                if i < excess || expired {
                    u.remove_path(&[MFA_CHALLENGES, id]);
                }
            }
        }
        None => {
            u.set(
                MFA_CHALLENGES,
                AttributeValue::M([(c.id.clone(), n(c.expires))].into()),
            );
        }
    }
    if weak_password {
        u.set(PASSWORD_CHANGE_REQUIRED, AttributeValue::Bool(true));
    }
    u.condition(db::exists());
    write(app, user, &u).await?;
    Ok(app.jwt().mfa().challenge_token(&c))
}

/// Turns two-factor sign-in on with a known secret, unless it is on already (the dev seed's and
/// the tests' admins); no recovery codes. Whether it was turned on now.
pub async fn enrol_with(
    app: &impl Accounts,
    user: &UserId,
    secret: &TotpSecret,
) -> ApiResult<bool> {
    let mut u = UpdateExpr::new();
    u.set(TOTP_SECRET, s(app.jwt().mfa().seal(user, secret)))
        .set(MFA_ENABLED, AttributeValue::Bool(true));
    not_enabled(&mut u);
    write(app, user, &u).await
}
