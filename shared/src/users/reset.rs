//! Password reset links, without storage: the token a link carries and how it is checked. Pure:
//! no HTTP, no AWS.
//!
//! A request stores a reset record `{id, user_id, expires_at}` and nothing secret. The link's
//! token is `<id>.<mac>`, the MAC an HMAC-SHA256 over the id and the account under a key derived
//! from the signing secret, computed by the email function when it writes the link and by the
//! confirmation when it checks one. So the token is stored nowhere (not even hashed): whoever
//! reads the table, its stream or the bus cannot make a link, and the email alone carries one.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD as B64};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::types::{UserId, parse_ulid};

/// How long a link works.
pub const RESET_TTL_SECS: u64 = 30 * 60;
/// The one answer to a used, expired, forged or malformed link.
pub const INVALID_RESET: &str = "this password reset link is invalid or has expired";
/// The answer to every reset request, whether or not the account exists.
pub const RESET_REQUESTED: &str =
    "If an account exists for this address, we have sent it a link to choose a new password.";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResetRequest {
    pub email: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResetConfirmRequest {
    pub token: String,
    pub password: String,
}

/// A stored reset request. `user_id` is absent for an address no account has: the request is
/// written all the same, so both answers cost the same.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResetRecord {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<UserId>,
    /// Epoch seconds (also the table's TTL).
    pub expires_at: u64,
    /// When it was used; a record is used once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub used_at: Option<u64>,
}

/// The key reset MACs use: derived from the signing secret, so no new secret is deployed, and a
/// MAC can never pass for an access token's signature (another key, another message).
pub fn reset_key(secret: &[u8]) -> Vec<u8> {
    let mut m = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    m.update(b"shop/password-reset/v1");
    m.finalize().into_bytes().to_vec()
}

fn mac(key: &[u8], id: &str, user: &UserId) -> Hmac<Sha256> {
    let mut m = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    m.update(id.as_bytes());
    m.update(b"/");
    m.update(user.as_str().as_bytes());
    m
}

/// The token of the link for reset `id` of `user`.
pub fn reset_token(key: &[u8], id: &str, user: &UserId) -> String {
    format!(
        "{id}.{}",
        B64.encode(mac(key, id, user).finalize().into_bytes())
    )
}

/// A token as a client sent it: its reset id, if it has the shape of one.
pub struct ResetToken {
    pub id: String,
    mac: Vec<u8>,
}

impl ResetToken {
    /// `None` for anything that is not `<ulid>.<base64url mac>` (nothing is looked up then).
    pub fn parse(raw: &str) -> Option<ResetToken> {
        let (id, mac) = raw.trim().split_once('.')?;
        let id = parse_ulid(id)?.to_string();
        let mac = B64.decode(mac).ok().filter(|m| m.len() == 32)?;
        Some(ResetToken { id, mac })
    }

    /// Whether the token was made for `record` (constant time), and the record is still good at
    /// `now`.
    pub fn opens(&self, key: &[u8], record: &ResetRecord, now: u64) -> bool {
        let Some(user) = &record.user_id else {
            return false;
        };
        record.id == self.id
            && record.used_at.is_none()
            && record.expires_at > now
            && mac(key, &self.id, user).verify_slice(&self.mac).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(user: Option<&str>) -> ResetRecord {
        ResetRecord {
            id: "01JBRESET00000000000000000".into(),
            user_id: user.map(UserId::from_trusted),
            expires_at: 1_000,
            used_at: None,
        }
    }

    #[test]
    fn a_link_opens_its_own_record_once_and_in_time() {
        let key = reset_key(b"secret-secret-secret-secret-secret");
        let r = record(Some("01JBUSER000000000000000000"));
        let token = reset_token(&key, &r.id, r.user_id.as_ref().unwrap());
        let t = ResetToken::parse(&token).unwrap();
        assert!(t.opens(&key, &r, 999));
        assert!(!t.opens(&key, &r, 1_000), "expired");
        let used = ResetRecord {
            used_at: Some(5),
            ..r.clone()
        };
        assert!(!t.opens(&key, &used, 10), "used");
        let other = record(Some("01JBOTHER00000000000000000"));
        assert!(!t.opens(&key, &other, 10), "made for another account");
        assert!(!t.opens(&reset_key(b"another-secret-another-secret-xx"), &r, 10));
        assert!(
            !t.opens(&key, &record(None), 10),
            "no account: nothing opens it"
        );
    }

    #[test]
    fn malformed_tokens_are_refused_before_any_lookup() {
        for bad in [
            "",
            "abc",
            "01JBRESET00000000000000000",
            "not-a-ulid.AAAA",
            "01JBRESET00000000000000000.short",
            "01JBRESET00000000000000000.!!!",
        ] {
            assert!(ResetToken::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn the_reset_key_is_not_the_signing_secret() {
        let secret = b"secret-secret-secret-secret-secret";
        assert_ne!(reset_key(secret), secret.to_vec());
        assert_eq!(reset_key(secret).len(), 32);
    }
}
