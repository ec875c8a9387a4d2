//! Single-use links emailed to an account's owner (password reset, email verification), without
//! storage: the token a link carries and how it is checked. Pure: no HTTP, no AWS.
//!
//! A request stores a record `{id, user_id, expires_at}` and nothing secret. The link's token is
//! `<id>.<mac>`, the MAC an HMAC-SHA256 over the id and the account under a key derived from the
//! signing secret for that purpose, computed by the email function when it writes the link and by
//! the endpoint when it checks one. So the token is stored nowhere (not even hashed): whoever reads
//! the table, its stream or the bus cannot make a link, and the email alone carries one.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD as B64};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::types::{UserId, parse_ulid};

/// What a link is for. Each purpose has its own key, so a token of one never opens the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Choose a new password: 30 minutes.
    Reset,
    /// Prove the address is the owner's: 7 days.
    Verify,
}

impl Purpose {
    pub fn ttl_secs(self) -> u64 {
        match self {
            Purpose::Reset => 30 * 60,
            Purpose::Verify => 7 * 24 * 60 * 60,
        }
    }

    fn label(self) -> &'static [u8] {
        match self {
            Purpose::Reset => b"shop/password-reset/v1",
            Purpose::Verify => b"shop/verify-email/v1",
        }
    }
}

/// The one answer to a used, expired, forged or malformed reset link.
pub const INVALID_RESET: &str = "this password reset link is invalid or has expired";
/// The one answer to a used, expired, forged or malformed verification link.
pub const INVALID_VERIFICATION: &str = "this verification link is invalid or has expired";
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifyRequest {
    pub token: String,
}

/// A stored link request. `user_id` is absent for a reset asked for an address no account has:
/// the request is written all the same, so both answers cost the same.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinkRecord {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<UserId>,
    /// Epoch seconds (also the table's TTL).
    pub expires_at: u64,
    /// When it was used; a record is used once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub used_at: Option<u64>,
}

impl LinkRecord {
    /// A new request for `user` (or for no account), valid for `purpose`'s time from `now`.
    pub fn new(purpose: Purpose, user: Option<UserId>, now: u64) -> LinkRecord {
        LinkRecord {
            id: ulid::Ulid::new().to_string(),
            user_id: user,
            expires_at: now + purpose.ttl_secs(),
            used_at: None,
        }
    }
}

/// The key `purpose`'s MACs use: derived from the signing secret, so no new secret is deployed,
/// and a MAC can never pass for an access token's signature (another key, another message).
pub fn link_key(secret: &[u8], purpose: Purpose) -> Vec<u8> {
    let mut m = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    m.update(purpose.label());
    m.finalize().into_bytes().to_vec()
}

fn mac(key: &[u8], id: &str, user: &UserId) -> Hmac<Sha256> {
    let mut m = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    m.update(id.as_bytes());
    m.update(b"/");
    m.update(user.as_str().as_bytes());
    m
}

/// The token of the link for request `id` of `user`.
pub fn link_token(key: &[u8], id: &str, user: &UserId) -> String {
    format!(
        "{id}.{}",
        B64.encode(mac(key, id, user).finalize().into_bytes())
    )
}

/// A token as a client sent it: its request id, if it has the shape of one.
pub struct LinkToken {
    pub id: String,
    mac: Vec<u8>,
}

impl LinkToken {
    /// `None` for anything that is not `<ulid>.<base64url mac>` (nothing is looked up then).
    pub fn parse(raw: &str) -> Option<LinkToken> {
        let (id, mac) = raw.trim().split_once('.')?;
        let id = parse_ulid(id)?.to_string();
        let mac = B64.decode(mac).ok().filter(|m| m.len() == 32)?;
        Some(LinkToken { id, mac })
    }

    /// The account the token was made for, when it was made for `record` (constant time) and the
    /// record is still good at `now`.
    pub fn opens<'r>(&self, key: &[u8], record: &'r LinkRecord, now: u64) -> Option<&'r UserId> {
        let user = record.user_id.as_ref()?;
        (record.id == self.id
            && record.used_at.is_none()
            && record.expires_at > now
            && mac(key, &self.id, user).verify_slice(&self.mac).is_ok())
        .then_some(user)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"secret-secret-secret-secret-secret";

    fn record(user: Option<&str>) -> LinkRecord {
        LinkRecord {
            id: "01JBRESET00000000000000000".into(),
            user_id: user.map(UserId::from_trusted),
            expires_at: 1_000,
            used_at: None,
        }
    }

    #[test]
    fn a_link_opens_its_own_record_once_and_in_time() {
        let key = link_key(SECRET, Purpose::Reset);
        let r = record(Some("01JBUSER000000000000000000"));
        let token = link_token(&key, &r.id, r.user_id.as_ref().unwrap());
        let t = LinkToken::parse(&token).unwrap();
        assert_eq!(t.opens(&key, &r, 999), r.user_id.as_ref());
        assert!(t.opens(&key, &r, 1_000).is_none(), "expired");
        let used = LinkRecord {
            used_at: Some(5),
            ..r.clone()
        };
        assert!(t.opens(&key, &used, 10).is_none(), "used");
        let other = record(Some("01JBOTHER00000000000000000"));
        assert!(
            t.opens(&key, &other, 10).is_none(),
            "made for another account"
        );
        assert!(
            t.opens(
                &link_key(b"another-secret-another-secret-xx", Purpose::Reset),
                &r,
                10
            )
            .is_none()
        );
        assert!(
            t.opens(&key, &record(None), 10).is_none(),
            "no account: nothing opens it"
        );
    }

    #[test]
    fn a_reset_link_never_verifies_and_a_verification_link_never_resets() {
        let r = record(Some("01JBUSER000000000000000000"));
        let user = r.user_id.clone().unwrap();
        let reset =
            LinkToken::parse(&link_token(&link_key(SECRET, Purpose::Reset), &r.id, &user)).unwrap();
        assert!(
            reset
                .opens(&link_key(SECRET, Purpose::Verify), &r, 10)
                .is_none()
        );
        let verify = LinkToken::parse(&link_token(
            &link_key(SECRET, Purpose::Verify),
            &r.id,
            &user,
        ))
        .unwrap();
        assert!(
            verify
                .opens(&link_key(SECRET, Purpose::Reset), &r, 10)
                .is_none()
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
            assert!(LinkToken::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn the_keys_are_not_the_signing_secret_nor_each_other() {
        let (reset, verify) = (
            link_key(SECRET, Purpose::Reset),
            link_key(SECRET, Purpose::Verify),
        );
        assert_ne!(reset, SECRET.to_vec());
        assert_ne!(reset, verify);
        assert_eq!(reset.len(), 32);
        assert_eq!(Purpose::Reset.ttl_secs(), 1800);
    }
}
