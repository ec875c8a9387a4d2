//! Sessions: one per sign-in, kept on the account item (`sessions`: id -> current refresh-token
//! hash, a few previous ones, expiry). An access token names its session, and the one account read
//! every request makes checks the session still exists, so ending a session (logout, logout-all, a
//! password change, a reused refresh token) takes effect on the very next request.
//!
//! A refresh token is `<user id>.<session id>.<secret>`: 256 random bits, stored only as a SHA-256
//! hash, rotated on every use, valid for 30 days from its last use. Presenting an already-rotated
//! one ends the whole session (reuse detection: one of the two holders is not its owner).

use argon2::password_hash::rand_core::{OsRng, RngCore};
use aws_sdk_dynamodb::types::AttributeValue;
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD as B64};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::principal::{Accounts, ROLE, account_key};
use crate::{
    error::{ApiError, ApiResult},
    platform::db::{self, Item, UpdateExpr, n, s},
    types::{Role, UserId, now_epoch_secs, parse_ulid},
};

/// The account attribute holding the sessions.
pub const SESSIONS: &str = "sessions";
/// A refresh token unused this long is dead (each use slides it).
pub const REFRESH_TTL_SECS: u64 = 30 * 24 * 60 * 60;
/// Sessions per account; signing in beyond this ends the one that expires first.
pub const MAX_SESSIONS: usize = 10;
/// Rotated-away hashes remembered per session, to recognise a reused refresh token.
const KEEP_PREVIOUS: usize = 5;
const HASH: &str = "h";
const PREVIOUS: &str = "p";
const EXPIRES: &str = "e";

pub(super) const INVALID_REFRESH: &str = "invalid, expired or already used refresh token";

/// What a sign-in or a refresh answers.
#[derive(Debug, Serialize, serde::Deserialize)]
pub struct TokenPair {
    pub token: String,
    pub token_type: String,
    pub expires_in: u64,
    pub refresh_token: String,
}

fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    B64.encode(bytes)
}

fn hash(secret: &str) -> String {
    B64.encode(Sha256::digest(secret.as_bytes()))
}

/// `<user>.<session>.<secret>` split and checked; `None` for anything else.
fn parse_refresh(raw: &str) -> Option<(UserId, String, String)> {
    let mut parts = raw.trim().split('.');
    let (user, sid, secret) = (parts.next()?, parts.next()?, parts.next()?);
    let ulid = |v: &str| v.len() == 26 && parse_ulid(v).is_some();
    let secret_ok = secret.len() == 43
        && secret
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    (parts.next().is_none() && ulid(user) && ulid(sid) && secret_ok).then(|| {
        (
            UserId::from_trusted(user),
            sid.to_string(),
            secret.to_string(),
        )
    })
}

fn entry(current: &str, previous: Vec<AttributeValue>, expires: u64) -> AttributeValue {
    AttributeValue::M(
        [
            (HASH.to_string(), s(current)),
            (PREVIOUS.to_string(), AttributeValue::L(previous)),
            (EXPIRES.to_string(), n(expires)),
        ]
        .into(),
    )
}

fn sessions_of(item: &Item) -> Option<&std::collections::HashMap<String, AttributeValue>> {
    item.get(SESSIONS).and_then(|v| v.as_m().ok())
}

fn expires_of(session: &AttributeValue) -> u64 {
    session
        .as_m()
        .ok()
        .and_then(|m| m.get(EXPIRES))
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Whether `sid` is a live session of the account `item` (read on every request).
pub fn is_live(item: &Item, sid: &str, now: u64) -> bool {
    sessions_of(item)
        .and_then(|m| m.get(sid))
        .is_some_and(|session| expires_of(session) > now)
}

fn pair(
    app: &impl Accounts,
    user: &UserId,
    role: Role,
    sid: &str,
    secret: &str,
) -> ApiResult<TokenPair> {
    Ok(TokenPair {
        token: app.jwt().issue(user, role, sid)?,
        token_type: "Bearer".into(),
        expires_in: app.jwt().ttl_secs,
        refresh_token: format!("{user}.{sid}.{secret}"),
    })
}

/// Opens a session for a user who just proved who they are; `account` is their item as read,
/// so that the session expiring first is ended when they already hold [`MAX_SESSIONS`].
pub async fn open(
    app: &impl Accounts,
    user: &UserId,
    role: Role,
    account: &Item,
) -> ApiResult<TokenPair> {
    let now = now_epoch_secs();
    let sid = ulid::Ulid::new().to_string();
    let secret = new_secret();
    let fresh = entry(&hash(&secret), Vec::new(), now + REFRESH_TTL_SECS);
    let mut u = UpdateExpr::new();
    match sessions_of(account) {
        Some(existing) => {
            u.set_path(&[SESSIONS, &sid], fresh);
            // Dead sessions go; beyond the limit, so does the one expiring first.
            let mut live: Vec<(&String, u64)> =
                existing.iter().map(|(k, v)| (k, expires_of(v))).collect();
            live.sort_by_key(|(_, e)| *e);
            let excess = (live.len() + 1).saturating_sub(MAX_SESSIONS);
            for (i, (id, expires)) in live.iter().enumerate() {
                if i < excess || *expires <= now {
                    u.remove_path(&[SESSIONS, id]);
                }
            }
        }
        // An account from before sessions existed.
        None => {
            u.set(SESSIONS, AttributeValue::M([(sid.clone(), fresh)].into()));
        }
    }
    u.condition(db::exists());
    u.update_item(app.dynamo(), app.users_table(), account_key(user.as_str()))
        .send()
        .await?;
    pair(app, user, role, &sid, &secret)
}

/// `POST /users/refresh`: a new pair for a current refresh token, which is rotated away. A token
/// that was already rotated ends the whole session; anything unknown is the same 401.
pub async fn refresh(app: &impl Accounts, raw: &str) -> ApiResult<TokenPair> {
    let invalid = || ApiError::Unauthenticated(INVALID_REFRESH);
    let (user, sid, secret) = parse_refresh(raw).ok_or_else(invalid)?;
    let key = || account_key(user.as_str());
    let item = db::get_item(app.dynamo(), app.users_table(), key(), true)
        .await?
        .ok_or_else(invalid)?;
    let now = now_epoch_secs();
    let session = sessions_of(&item)
        .and_then(|m| m.get(&sid))
        .and_then(|v| v.as_m().ok())
        .filter(|_| is_live(&item, &sid, now))
        .ok_or_else(invalid)?;
    let presented = hash(&secret);
    let current = session
        .get(HASH)
        .and_then(|v| v.as_s().ok())
        .ok_or_else(invalid)?;
    let previous: Vec<AttributeValue> = session
        .get(PREVIOUS)
        .and_then(|v| v.as_l().ok())
        .cloned()
        .unwrap_or_default();
    if presented != *current {
        if previous
            .iter()
            .any(|p| p.as_s().is_ok_and(|p| *p == presented))
        {
            end(app, &user, &sid).await?;
            tracing::warn!(security_event = "refresh_token_reuse", user_id = %user, session = %sid, "a rotated refresh token was presented; the session is ended");
        }
        return Err(invalid());
    }
    let role: Role = db::str_attr(&item, ROLE)
        .and_then(|r| serde_json::from_value(serde_json::Value::String(r.into())).ok())
        .ok_or_else(invalid)?;
    let next = new_secret();
    let mut kept = vec![s(current.clone())];
    kept.extend(previous.into_iter().take(KEEP_PREVIOUS - 1));
    let mut u = UpdateExpr::new();
    u.set_path(
        &[SESSIONS, &sid],
        entry(&hash(&next), kept, now + REFRESH_TTL_SECS),
    );
    // Only from the hash we read: of two concurrent uses of one token, the second is a reuse.
    let (path, was) = (
        format!("{}.{}.{}", u.name(SESSIONS), u.name(&sid), u.name(HASH)),
        u.value(s(current.clone())),
    );
    u.condition(format!("{path} = {was}"));
    let rotated = db::applied(
        u.update_item(app.dynamo(), app.users_table(), key())
            .send()
            .await,
    )?;
    if !rotated {
        end(app, &user, &sid).await?;
        tracing::warn!(security_event = "refresh_token_reuse", user_id = %user, session = %sid, "one refresh token used twice at once; the session is ended");
        return Err(invalid());
    }
    pair(app, &user, role, &sid, &next)
}

/// Ends one session (its access tokens fail on their next request).
pub async fn end(app: &impl Accounts, user: &UserId, sid: &str) -> ApiResult<()> {
    let mut u = UpdateExpr::new();
    u.remove_path(&[SESSIONS, sid]);
    let map = u.name(SESSIONS);
    u.condition(format!("attribute_exists({map})"));
    db::applied(
        u.update_item(app.dynamo(), app.users_table(), account_key(user.as_str()))
            .send()
            .await,
    )?;
    Ok(())
}

/// Ends every session of the account but `keep` (none: sign out everywhere).
pub async fn end_all(
    app: &impl Accounts,
    user: &UserId,
    account: &Item,
    keep: Option<&str>,
) -> ApiResult<()> {
    let kept: std::collections::HashMap<String, AttributeValue> = keep
        .and_then(|sid| Some((sid.to_string(), sessions_of(account)?.get(sid)?.clone())))
        .into_iter()
        .collect();
    let mut u = UpdateExpr::new();
    u.set(SESSIONS, AttributeValue::M(kept))
        .condition(db::exists());
    u.update_item(app.dynamo(), app.users_table(), account_key(user.as_str()))
        .send()
        .await?;
    tracing::info!(security_event = if keep.is_some() { "other_sessions_ended" } else { "logout_all" }, user_id = %user, "sessions ended");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_tokens_carry_256_random_bits_and_parse_strictly() {
        let a = new_secret();
        assert_eq!(B64.decode(&a).unwrap().len(), 32);
        assert_ne!(a, new_secret());
        let user = "01JD0000000000000000000000";
        let sid = "01JD0000000000000000000001";
        let good = format!("{user}.{sid}.{a}");
        let (u, s, secret) = parse_refresh(&good).unwrap();
        assert_eq!(
            (u.as_str(), s.as_str(), secret.as_str()),
            (user, sid, a.as_str())
        );
        for bad in [
            String::new(),
            format!("{user}.{sid}"),
            format!("{user}.{sid}.{a}.x"),
            format!("{user}.{sid}.short"),
            format!("x.{sid}.{a}"),
            format!("{user}.{sid}.{}", "a/".repeat(22)),
        ] {
            assert!(parse_refresh(&bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn only_a_hash_is_stored() {
        let secret = new_secret();
        assert_ne!(hash(&secret), secret);
        assert_eq!(hash(&secret), hash(&secret));
    }

    #[test]
    fn a_session_is_live_until_it_expires() {
        let mut item = Item::new();
        item.insert(
            SESSIONS.into(),
            AttributeValue::M([("S1".to_string(), entry("h", vec![], 100))].into()),
        );
        assert!(is_live(&item, "S1", 99));
        assert!(!is_live(&item, "S1", 100));
        assert!(!is_live(&item, "S2", 50));
        assert!(!is_live(&Item::new(), "S1", 50));
    }
}
