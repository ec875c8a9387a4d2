//! Sessions: one per sign-in, kept on the account item (`sessions`: id -> current refresh-token
//! hash, its generation, expiry). An access token names its session, and the one account read
//! every request makes checks the session still exists, so ending a session (logout, logout-all, a
//! password change, a reused refresh token) takes effect on the very next request.
//!
//! A refresh token is `<user id>.<session id>.<generation>.<secret>.<mac>`: 256 random bits,
//! stored only as a SHA-256 hash, rotated on every use (the generation counts the rotations),
//! valid for 30 days from its last use, and MACed under a key derived from the signing secret, so
//! only the shop can make one. Presenting any earlier generation ends the whole session (reuse
//! detection: one of the two holders is not its owner), however many rotations ago it was, with no
//! list of old tokens to outgrow.

use argon2::password_hash::rand_core::{OsRng, RngCore};
use aws_sdk_dynamodb::types::AttributeValue;
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD as B64};
use hmac::{Hmac, Mac};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::account::{AccountView, Accounts, PASSWORD_CHANGE_REQUIRED, account_key};
use crate::{
    error::{ApiError, ApiResult},
    platform::db::{self, Item, UpdateExpr, n, s},
    types::{Role, UserId, now_epoch_secs, parse_ulid},
};

/// The account attribute holding the sessions.
pub const SESSIONS: &str = "sessions";
/// A refresh token unused this long is dead (each use slides it).
pub const REFRESH_TTL_SECS: u64 = 30 * 24 * 60 * 60;
/// Sessions per account; signing in beyond this ends the least recently used one.
pub const MAX_SESSIONS: usize = 10;
const HASH: &str = "h";
const GENERATION: &str = "g";
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

/// A refresh token as presented: its MAC checked, its parts typed.
#[derive(Debug, PartialEq, Eq)]
struct Presented {
    user: UserId,
    sid: String,
    generation: u64,
    secret: String,
}

fn refresh_mac(key: &[u8], user: &str, sid: &str, generation: u64, secret: &str) -> Hmac<Sha256> {
    let mut m = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    m.update(format!("{user}.{sid}.{generation}.{secret}").as_bytes());
    m
}

fn format_refresh(key: &[u8], user: &UserId, sid: &str, generation: u64, secret: &str) -> String {
    let mac = refresh_mac(key, user.as_str(), sid, generation, secret).finalize();
    format!(
        "{user}.{sid}.{generation}.{secret}.{}",
        B64.encode(mac.into_bytes())
    )
}

/// `<user>.<session>.<generation>.<secret>.<mac>` split, shape-checked and MAC-checked (in
/// constant time); `None` for anything else.
fn parse_refresh(key: &[u8], raw: &str) -> Option<Presented> {
    let mut parts = raw.trim().split('.');
    let (user, sid, generation, secret, mac) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    let ulid = |v: &str| v.len() == 26 && parse_ulid(v).is_some();
    let b64 = |v: &str| {
        v.len() == 43
            && v.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    let generation: u64 = generation
        .parse()
        .ok()
        .filter(|_| generation.len() <= 19 && generation.bytes().all(|b| b.is_ascii_digit()))?;
    if parts.next().is_some() || !ulid(user) || !ulid(sid) || !b64(secret) || !b64(mac) {
        return None;
    }
    let mac = B64.decode(mac).ok()?;
    refresh_mac(key, user, sid, generation, secret)
        .verify_slice(&mac)
        .ok()?;
    Some(Presented {
        user: UserId::from_trusted(user),
        sid: sid.to_string(),
        generation,
        secret: secret.to_string(),
    })
}

fn entry(current: &str, generation: u64, expires: u64) -> AttributeValue {
    AttributeValue::M(
        [
            (HASH.to_string(), s(current)),
            (GENERATION.to_string(), n(generation)),
            (EXPIRES.to_string(), n(expires)),
        ]
        .into(),
    )
}

fn sessions_of(item: &Item) -> Option<&std::collections::HashMap<String, AttributeValue>> {
    item.get(SESSIONS).and_then(|v| v.as_m().ok())
}

fn number_of(session: &AttributeValue, attr: &str) -> u64 {
    session
        .as_m()
        .ok()
        .and_then(|m| m.get(attr))
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn expires_of(session: &AttributeValue) -> u64 {
    number_of(session, EXPIRES)
}

/// How many live sessions the account `item` has (signed-in browsers and apps).
pub fn live_count(item: &Item, now: u64) -> usize {
    sessions_of(item).map_or(0, |m| m.values().filter(|s| expires_of(s) > now).count())
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
    generation: u64,
    secret: &str,
) -> ApiResult<TokenPair> {
    Ok(TokenPair {
        token: app.jwt().issue(user, role, sid)?,
        token_type: "Bearer".into(),
        expires_in: app.jwt().ttl_secs,
        refresh_token: format_refresh(&app.jwt().refresh_key, user, sid, generation, secret),
    })
}

/// The sessions to end when one more opens at `now`: the dead ones, and beyond [`MAX_SESSIONS`]
/// the least recently used (the one expiring first; of equal expiry, the older sign-in: session
/// ids are ULIDs, which sort by creation time).
fn to_evict<'a>(existing: impl Iterator<Item = (&'a String, u64)>, now: u64) -> Vec<&'a String> {
    let mut live: Vec<(&String, u64)> = existing.collect();
    live.sort_by(|(a, ea), (b, eb)| ea.cmp(eb).then(a.cmp(b)));
    let excess = (live.len() + 1).saturating_sub(MAX_SESSIONS);
    live.iter()
        .enumerate()
        .filter(|(i, (_, expires))| *i < excess || *expires <= now)
        .map(|(_, (id, _))| *id)
        .collect()
}

/// Opens a session for a user who just proved who they are; `account` is their item as read,
/// so that the session expiring first is ended when they already hold [`MAX_SESSIONS`]. With
/// `weak_password` (the password proved is one today's rules refuse), the account is held to
/// set a new one before anything else, in the same write.
pub async fn open(
    app: &impl Accounts,
    user: &UserId,
    role: Role,
    account: &Item,
    weak_password: bool,
) -> ApiResult<TokenPair> {
    let now = now_epoch_secs();
    let sid = ulid::Ulid::new().to_string();
    let secret = new_secret();
    let fresh = entry(&hash(&secret), 0, now + REFRESH_TTL_SECS);
    let mut u = UpdateExpr::new();
    match sessions_of(account) {
        Some(existing) => {
            u.set_path(&[SESSIONS, &sid], fresh);
            for id in to_evict(existing.iter().map(|(k, v)| (k, expires_of(v))), now) {
                u.remove_path(&[SESSIONS, id]);
            }
        }
        // An account from before sessions existed.
        None => {
            u.set(SESSIONS, AttributeValue::M([(sid.clone(), fresh)].into()));
        }
    }
    if weak_password {
        u.set(PASSWORD_CHANGE_REQUIRED, AttributeValue::Bool(true));
    }
    u.condition(db::exists());
    u.update_item(app.dynamo(), app.users_table(), account_key(user.as_str()))
        .send()
        .await?;
    pair(app, user, role, &sid, 0, &secret)
}

/// `POST /users/refresh`: a new pair for a current refresh token, which is rotated away. A token
/// of an earlier generation ends the whole session; anything unknown is the same 401.
pub async fn refresh(app: &impl Accounts, raw: &str) -> ApiResult<TokenPair> {
    let invalid = || ApiError::Unauthenticated(INVALID_REFRESH);
    let p = parse_refresh(&app.jwt().refresh_key, raw).ok_or_else(invalid)?;
    let (user, sid) = (&p.user, p.sid.as_str());
    let key = || account_key(user.as_str());
    let item = db::get_item(app.dynamo(), app.users_table(), key(), true)
        .await?
        .ok_or_else(invalid)?;
    let now = now_epoch_secs();
    let session = sessions_of(&item)
        .and_then(|m| m.get(sid))
        .filter(|_| is_live(&item, sid, now))
        .ok_or_else(invalid)?;
    let generation = number_of(session, GENERATION);
    if p.generation < generation {
        end(app, user, sid).await?;
        tracing::warn!(security_event = "refresh_token_reuse", user_id = %user, session = %sid, presented = p.generation, current = generation, "a rotated refresh token was presented; the session is ended");
        return Err(invalid());
    }
    let current = session
        .as_m()
        .ok()
        .and_then(|m| m.get(HASH))
        .and_then(|v| v.as_s().ok())
        .ok_or_else(invalid)?;
    // A later generation, or another secret for this one, was never issued by this session.
    if p.generation > generation || hash(&p.secret) != *current {
        return Err(invalid());
    }
    let role = AccountView(&item).role().ok_or_else(invalid)?;
    let next = new_secret();
    let mut u = UpdateExpr::new();
    u.set_path(
        &[SESSIONS, sid],
        entry(&hash(&next), generation + 1, now + REFRESH_TTL_SECS),
    );
    // Only from the hash we read: of two concurrent uses of one token, the second is a reuse.
    let (path, was) = (
        format!("{}.{}.{}", u.name(SESSIONS), u.name(sid), u.name(HASH)),
        u.value(s(current.clone())),
    );
    u.condition(format!("{path} = {was}"));
    let rotated = db::applied(
        u.update_item(app.dynamo(), app.users_table(), key())
            .send()
            .await,
    )?;
    if !rotated {
        end(app, user, sid).await?;
        tracing::warn!(security_event = "refresh_token_reuse", user_id = %user, session = %sid, "one refresh token used twice at once; the session is ended");
        return Err(invalid());
    }
    pair(app, user, role, sid, generation + 1, &next)
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

    const KEY: &[u8] = b"refresh-key-refresh-key-refresh-";

    #[test]
    fn refresh_tokens_carry_256_random_bits_and_parse_strictly() {
        let a = new_secret();
        assert_eq!(B64.decode(&a).unwrap().len(), 32);
        assert_ne!(a, new_secret());
        let user = UserId::from_trusted("01JD0000000000000000000000");
        let sid = "01JD0000000000000000000001";
        let good = format_refresh(KEY, &user, sid, 7, &a);
        assert_eq!(
            parse_refresh(KEY, &good),
            Some(Presented {
                user: user.clone(),
                sid: sid.into(),
                generation: 7,
                secret: a.clone()
            })
        );
        let (head, mac) = good.rsplit_once('.').unwrap();
        for bad in [
            String::new(),
            format!("{user}.{sid}.7.{a}"),
            format!("{good}.x"),
            format!("{user}.{sid}.7.short.{mac}"),
            format!("x.{sid}.7.{a}.{mac}"),
            format!("{user}.{sid}.-7.{a}.{mac}"),
            format!("{user}.{sid}.+7.{a}.{mac}"),
            // Another generation, secret or session under the same MAC: forged.
            format!("{user}.{sid}.6.{a}.{mac}"),
            format!("{user}.{sid}.7.{}.{mac}", new_secret()),
            format!("{}.{mac}", head.replace(sid, "01JD0000000000000000000002")),
            // Made under another key.
            format_refresh(b"another-key-another-key-another-", &user, sid, 7, &a),
        ] {
            assert!(parse_refresh(KEY, &bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn beyond_the_cap_the_least_recently_used_session_goes_and_ties_go_oldest_first() {
        let ids: Vec<String> = (0..MAX_SESSIONS)
            .map(|i| format!("01JD00000000000000000000{i:02}"))
            .collect();
        // All expire in the same second, listed newest first: the oldest sign-in goes.
        let same: Vec<(&String, u64)> = ids.iter().rev().map(|id| (id, 500)).collect();
        assert_eq!(to_evict(same.into_iter(), 100), vec![&ids[0]]);
        // Otherwise the one expiring first (least recently refreshed), and every dead one.
        let mixed = vec![(&ids[0], 900), (&ids[1], 400), (&ids[2], 50)];
        assert_eq!(to_evict(mixed.into_iter(), 100), vec![&ids[2]]);
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
            AttributeValue::M([("S1".to_string(), entry("h", 0, 100))].into()),
        );
        assert!(is_live(&item, "S1", 99));
        assert!(!is_live(&item, "S1", 100));
        assert!(!is_live(&item, "S2", 50));
        assert!(!is_live(&Item::new(), "S1", 50));
    }
}
