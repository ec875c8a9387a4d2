//! Device tokens (OWASP's "device cookies"): a successful sign-in gives the browser a token bound
//! to the account, and a sign-in presenting one is exempt from the account-wide slowdown that a
//! guesser spread over many addresses runs into. Stateless: `<user id>.<issued at>.<mac>`, MACed
//! under a key derived from the signing secret, valid for [`DEVICE_TTL_SECS`] from issue.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD as B64};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::types::UserId;

/// How long a device stays known without signing in again (each sign-in issues a fresh token).
pub const DEVICE_TTL_SECS: u64 = 365 * 24 * 60 * 60;

/// The key device tokens are MACed with, derived from the signing secret for that purpose alone.
pub fn device_key(secret: &[u8]) -> Vec<u8> {
    let mut m = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    m.update(b"shop/device-token/v1");
    m.finalize().into_bytes().to_vec()
}

fn mac(key: &[u8], user: &str, issued: u64) -> Hmac<Sha256> {
    let mut m = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    m.update(format!("{user}.{issued}").as_bytes());
    m
}

/// A token for `user`'s device, issued at `now`.
pub fn issue(key: &[u8], user: &UserId, now: u64) -> String {
    let tag = mac(key, user.as_str(), now).finalize().into_bytes();
    format!("{user}.{now}.{}", B64.encode(tag))
}

/// Whether `raw` is a token this shop issued for `user`'s device and not yet expired at `now`
/// (the MAC compared in constant time).
pub fn is_known(key: &[u8], raw: &str, user: &UserId, now: u64) -> bool {
    let mut parts = raw.split('.');
    let (Some(owner), Some(issued), Some(tag), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let Ok(issued) = issued.parse::<u64>() else {
        return false;
    };
    let Ok(tag) = B64.decode(tag) else {
        return false;
    };
    owner == user.as_str()
        && issued <= now
        && now - issued < DEVICE_TTL_SECS
        && mac(key, owner, issued).verify_slice(&tag).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_device_token_is_known_for_its_account_only_and_until_it_expires() {
        let (key, now) = (device_key(b"k".repeat(32).as_slice()), 1_800_000_000);
        let (ada, bob) = (
            UserId::from_trusted("01JD000000000000000000000A"),
            UserId::from_trusted("01JD000000000000000000000B"),
        );
        let token = issue(&key, &ada, now);
        assert!(is_known(&key, &token, &ada, now + 60));
        assert!(!is_known(&key, &token, &bob, now), "bound to its account");
        assert!(!is_known(&key, &token, &ada, now + DEVICE_TTL_SECS));
        assert!(
            !is_known(&key, &token, &ada, now - 1),
            "not from the future"
        );
        let other_key = device_key(b"q".repeat(32).as_slice());
        assert!(!is_known(&other_key, &token, &ada, now), "only this shop's");
        let forged = token.replace(&format!(".{now}."), &format!(".{}.", now + 1));
        assert!(!is_known(&key, &forged, &ada, now + 2), "the time is MACed");
        for junk in ["", "a.b", "a.b.c.d", &format!("{ada}.x.y")] {
            assert!(!is_known(&key, junk, &ada, now), "{junk}");
        }
    }
}
