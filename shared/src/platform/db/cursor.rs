//! Opaque, tamper-proof list cursors, and the page a listing returns.
//!
//! A cursor is DynamoDB's `LastEvaluatedKey` (string attributes only) as JSON, base64url-encoded and
//! signed with an HMAC, so a client can neither forge a starting key nor make DynamoDB reject one.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD as B64};
use hmac::{Hmac, Mac};
use serde::Serialize;
use sha2::Sha256;

use crate::error::{ApiError, ApiResult};

pub const DEFAULT_LIMIT: i32 = 20;
pub const MAX_LIMIT: i32 = 100;

/// What a client asked of a listing: `?limit=` (already checked) and `?cursor=` (still opaque).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    pub limit: i32,
    pub cursor: Option<String>,
}

pub type Key = super::Item;

/// Reserved payload entry holding the cursor's scope (never a DynamoDB attribute name here).
const SCOPE: &str = "~scope";

pub struct CursorKey(Hmac<Sha256>);

#[derive(Debug, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// `null` on the last page.
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// The same page with each item turned into another shape.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            next_cursor: self.next_cursor,
        }
    }
}

impl CursorKey {
    pub fn new(secret: &[u8]) -> Self {
        // A key of its own, derived from the secret, so a cursor signature is never a token signature.
        let derived = Hmac::<Sha256>::new_from_slice(secret)
            .expect("HMAC takes keys of any length")
            .chain_update(b"shop/cursor/v1")
            .finalize()
            .into_bytes();
        CursorKey(Hmac::new_from_slice(&derived).expect("HMAC takes keys of any length"))
    }

    /// `scope` names the query the cursor belongs to (index and partition); a cursor is only
    /// accepted back for the same scope.
    pub fn encode(&self, scope: &str, key: Option<&Key>) -> Option<String> {
        let key = key.filter(|k| !k.is_empty())?;
        let mut plain: HashMap<&str, &str> = key
            .iter()
            .filter_map(|(k, v)| v.as_s().ok().map(|s| (k.as_str(), s.as_str())))
            .collect();
        plain.insert(SCOPE, scope);
        let payload = serde_json::to_vec(&plain).ok()?;
        let tag = self
            .0
            .clone()
            .chain_update(&payload)
            .finalize()
            .into_bytes();
        Some(format!("{}.{}", B64.encode(&payload), B64.encode(tag)))
    }

    pub fn decode(&self, scope: &str, cursor: &str) -> ApiResult<Key> {
        let bad = || ApiError::invalid_field("cursor", "is not a cursor this API issued");
        let (payload, tag) = cursor.split_once('.').ok_or_else(bad)?;
        let payload = B64.decode(payload).map_err(|_| bad())?;
        let tag = B64.decode(tag).map_err(|_| bad())?;
        // verify_slice compares in constant time.
        self.0
            .clone()
            .chain_update(&payload)
            .verify_slice(&tag)
            .map_err(|_| bad())?;
        let mut plain: HashMap<String, String> =
            serde_json::from_slice(&payload).map_err(|_| bad())?;
        if plain.remove(SCOPE).as_deref() != Some(scope) {
            return Err(ApiError::invalid_field(
                "cursor",
                "belongs to a different listing (filters changed?)",
            ));
        }
        Ok(plain
            .into_iter()
            .map(|(k, v)| (k, AttributeValue::S(v)))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> Key {
        HashMap::from([
            ("pk".to_string(), AttributeValue::S("PRODUCT#1".into())),
            ("gsi1sk".to_string(), AttributeValue::S("widget#1".into())),
        ])
    }

    #[test]
    fn cursor_round_trips() {
        let k = CursorKey::new(&[7; 32]);
        let c = k.encode("by_name", Some(&key())).unwrap();
        assert_eq!(k.decode("by_name", &c).unwrap(), key());
        assert_eq!(k.encode("by_name", None), None);
        assert_eq!(k.decode("CAT#tea", &c).unwrap_err().status().as_u16(), 400);
    }

    #[test]
    fn tampered_garbled_or_foreign_cursors_are_400() {
        let k = CursorKey::new(&[7; 32]);
        let c = k.encode("s", Some(&key())).unwrap();
        let (payload, tag) = c.split_once('.').unwrap();
        let mut forged: HashMap<String, String> =
            serde_json::from_slice(&B64.decode(payload).unwrap()).unwrap();
        forged.insert("pk".into(), "USER#someone".into());
        let forged = format!("{}.{tag}", B64.encode(serde_json::to_vec(&forged).unwrap()));
        let other = CursorKey::new(&[8; 32]).encode("s", Some(&key())).unwrap();
        for bad in [forged.as_str(), "garbage", "a.b", "", other.as_str()] {
            let e = k.decode("s", bad).unwrap_err();
            assert_eq!(e.status().as_u16(), 400, "{bad}");
        }
    }
}
