//! Access tokens: HS256 JWTs with the algorithm pinned, issued and verified with keys built once.

use jsonwebtoken::{DecodingKey, EncodingKey, Header, Validation, decode, encode};
use serde::{Deserialize, Serialize};

use crate::{
    error::{ApiError, ApiResult},
    platform::config::Config,
    types::{Role, UserId, now_epoch_secs},
};

pub(super) const INVALID_TOKEN: &str = "missing, invalid or expired access token";
/// The longest bearer token looked at; ours are about 300 bytes.
pub const MAX_TOKEN_BYTES: usize = 2048;
/// The longest token id accepted (ours are ULIDs).
pub const MAX_JTI_BYTES: usize = 64;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub role: Role,
    pub iss: String,
    pub aud: String,
    pub iat: u64,
    pub nbf: u64,
    pub exp: u64,
    pub jti: String,
    /// The session (sign-in) this token belongs to; it must still be live on the account.
    pub sid: String,
}

/// jsonwebtoken's crypto backend, limited to the one algorithm this API accepts, so no RSA or EC
/// code ends up in the functions. Any other algorithm is refused before a key is used.
mod hs256 {
    use hmac::{Hmac, Mac};
    use jsonwebtoken::{
        Algorithm,
        crypto::{CryptoProvider, JwkUtils, JwtSigner, JwtVerifier},
        errors::{ErrorKind, Result},
    };
    use sha2::Sha256;

    pub struct Hs256(Hmac<Sha256>);

    impl Hs256 {
        fn new(alg: &Algorithm, secret: Result<&[u8]>) -> Result<Box<Self>> {
            if *alg != Algorithm::HS256 {
                return Err(ErrorKind::InvalidAlgorithm.into());
            }
            let mac = Hmac::new_from_slice(secret?).map_err(|_| ErrorKind::InvalidKeyFormat)?;
            Ok(Box::new(Hs256(mac)))
        }
    }

    impl signature::Signer<Vec<u8>> for Hs256 {
        fn try_sign(&self, msg: &[u8]) -> std::result::Result<Vec<u8>, signature::Error> {
            Ok(self
                .0
                .clone()
                .chain_update(msg)
                .finalize()
                .into_bytes()
                .to_vec())
        }
    }

    impl signature::Verifier<Vec<u8>> for Hs256 {
        fn verify(&self, msg: &[u8], sig: &Vec<u8>) -> std::result::Result<(), signature::Error> {
            // verify_slice compares in constant time.
            let mac = self.0.clone().chain_update(msg);
            mac.verify_slice(sig).map_err(|_| signature::Error::new())
        }
    }

    impl JwtSigner for Hs256 {
        fn algorithm(&self) -> Algorithm {
            Algorithm::HS256
        }
    }

    impl JwtVerifier for Hs256 {
        fn algorithm(&self) -> Algorithm {
            Algorithm::HS256
        }
    }

    static PROVIDER: CryptoProvider = CryptoProvider {
        signer_factory: |alg, key| Ok(Hs256::new(alg, key.try_get_hmac_secret())?),
        verifier_factory: |alg, key| Ok(Hs256::new(alg, key.try_get_hmac_secret())?),
        // Tokens are never built from or published as JWKs.
        jwk_utils: JwkUtils::new_unimplemented(),
    };

    /// Idempotent: a process (a test binary) may build many `JwtKeys`.
    pub fn install() {
        let _ = PROVIDER.install_default();
    }
}

pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    issuer: String,
    audience: String,
    pub ttl_secs: u64,
    /// The key refresh tokens are MACed with: derived from the signing secret for that purpose
    /// alone, so no new secret is deployed and a MAC never passes for a token's signature.
    pub refresh_key: Vec<u8>,
    /// The key device tokens are MACed with (see `auth::device`).
    pub device_key: Vec<u8>,
    /// The keys of two-factor sign-in (see `auth::totp`), derived on first use: only the sign-in
    /// and two-factor functions need them, and the others' cold start should not pay for them.
    mfa: std::sync::OnceLock<super::totp::MfaKeys>,
    signing_secret: Vec<u8>,
}

impl JwtKeys {
    pub fn new(config: &Config) -> Self {
        hs256::install();
        // Only HS256 is accepted: `alg: none` and RS/HS confusion fail before the signature check.
        let mut validation = Validation::new(jsonwebtoken::Algorithm::HS256);
        validation.set_issuer(&[&config.jwt_issuer]);
        validation.set_audience(&[&config.jwt_audience]);
        validation.set_required_spec_claims(&["exp", "nbf", "iat", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = 5;
        JwtKeys {
            encoding: EncodingKey::from_secret(&config.jwt_secret),
            decoding: DecodingKey::from_secret(&config.jwt_secret),
            validation,
            issuer: config.jwt_issuer.clone(),
            audience: config.jwt_audience.clone(),
            ttl_secs: config.token_ttl.as_secs(),
            refresh_key: super::totp::derive_key(&config.jwt_secret, b"shop/refresh-token/v2"),
            device_key: super::device::device_key(&config.jwt_secret),
            mfa: std::sync::OnceLock::new(),
            signing_secret: config.jwt_secret.clone(),
        }
    }

    pub fn mfa(&self) -> &super::totp::MfaKeys {
        self.mfa
            .get_or_init(|| super::totp::MfaKeys::new(&self.signing_secret))
    }

    pub fn issue(&self, user: &UserId, role: Role, sid: &str) -> ApiResult<String> {
        let now = now_epoch_secs();
        let claims = Claims {
            sub: user.to_string(),
            role,
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            iat: now,
            nbf: now,
            exp: now + self.ttl_secs,
            jti: ulid::Ulid::new().to_string(),
            sid: sid.to_string(),
        };
        encode(
            &Header::new(jsonwebtoken::Algorithm::HS256),
            &claims,
            &self.encoding,
        )
        .map_err(ApiError::internal)
    }

    pub fn verify(&self, token: &str) -> ApiResult<Claims> {
        // Bounded before any work: a token is a few hundred bytes, and its claims become keys.
        if token.len() > MAX_TOKEN_BYTES {
            return Err(ApiError::Unauthenticated(INVALID_TOKEN));
        }
        let claims = decode::<Claims>(token, &self.decoding, &self.validation)
            .map(|d| d.claims)
            .map_err(|_| ApiError::Unauthenticated(INVALID_TOKEN))?;
        // Even a correctly signed token only ever names a user id (a ULID) and a short jti.
        let sub_ok = claims.sub.len() == 26 && crate::types::parse_ulid(&claims.sub).is_some();
        let sid_ok = claims.sid.len() == 26 && crate::types::parse_ulid(&claims.sid).is_some();
        if !sub_ok || !sid_ok || claims.jti.len() > MAX_JTI_BYTES {
            return Err(ApiError::Unauthenticated(INVALID_TOKEN));
        }
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD as B64};
    use std::collections::HashMap;

    fn config(secret: &str) -> Config {
        let m: HashMap<&str, String> = HashMap::from([
            ("USERS_TABLE", "u".into()),
            ("PRODUCTS_TABLE", "p".into()),
            ("ORDERS_TABLE", "o".into()),
            ("JWT_SECRET", secret.into()),
            ("ORIGIN_SECRET", "o".repeat(32)),
        ]);
        Config::from_lookup(|k| m.get(k).cloned()).unwrap()
    }

    fn keys() -> JwtKeys {
        JwtKeys::new(&config(&"s".repeat(32)))
    }

    fn forge(header: &str, claims: &serde_json::Value, sig: &str) -> String {
        format!(
            "{}.{}.{sig}",
            B64.encode(header),
            B64.encode(claims.to_string())
        )
    }

    fn claims_json(k: &JwtKeys, exp_offset: i64, nbf_offset: i64) -> serde_json::Value {
        let now = now_epoch_secs() as i64;
        serde_json::json!({
            "sub": "01JD0000000000000000000000", "role": "admin", "iss": k.issuer, "aud": k.audience,
            "iat": now, "nbf": now + nbf_offset, "exp": now + exp_offset, "jti": "j1",
            "sid": "01JD0000000000000000000009"
        })
    }

    /// The provider signs nothing but HS256, so an HS512 token is made by hand.
    fn forge_hs512(claims: &serde_json::Value) -> String {
        use hmac::{Hmac, Mac};
        let unsigned = format!(
            "{}.{}",
            B64.encode(r#"{"alg":"HS512","typ":"JWT"}"#),
            B64.encode(claims.to_string())
        );
        let mac = Hmac::<sha2::Sha512>::new_from_slice(&[b's'; 32])
            .unwrap()
            .chain_update(unsigned.as_bytes())
            .finalize()
            .into_bytes();
        format!("{unsigned}.{}", B64.encode(mac))
    }

    #[test]
    fn other_algorithms_cannot_be_signed_either() {
        keys();
        let err = encode(
            &Header::new(jsonwebtoken::Algorithm::HS512),
            &serde_json::json!({}),
            &EncodingKey::from_secret(&[b's'; 32]),
        );
        assert!(err.is_err(), "only HS256 is linked in");
    }

    fn sign_hs256(secret: &[u8], claims: &serde_json::Value) -> String {
        encode(
            &Header::new(jsonwebtoken::Algorithm::HS256),
            claims,
            &EncodingKey::from_secret(secret),
        )
        .unwrap()
    }

    #[test]
    fn issued_token_round_trips() {
        let k = keys();
        let t = k
            .issue(
                &UserId::from_trusted("01JD0000000000000000000001"),
                Role::Customer,
                "01JD0000000000000000000009",
            )
            .unwrap();
        let c = k.verify(&t).unwrap();
        assert_eq!(c.sub, "01JD0000000000000000000001");
        assert_eq!(c.role, Role::Customer);
        assert_eq!(c.exp - c.iat, 900);
        assert_eq!(c.sid, "01JD0000000000000000000009");
        assert!(!c.jti.is_empty());
    }

    #[test]
    fn alg_none_is_rejected() {
        let k = keys();
        let t = forge(
            r#"{"alg":"none","typ":"JWT"}"#,
            &claims_json(&k, 600, 0),
            "",
        );
        assert!(k.verify(&t).is_err());
    }

    #[test]
    fn other_key_and_other_algorithms_are_rejected() {
        let k = keys();
        let claims = claims_json(&k, 600, 0);
        assert!(k.verify(&sign_hs256(&[b'x'; 32], &claims)).is_err());
        let t = forge_hs512(&claims);
        assert!(
            k.verify(&t).is_err(),
            "HS512 accepted although HS256 is pinned"
        );
        // RS256 header over an HMAC signature made with the shared secret (key confusion).
        let good = sign_hs256(&[b's'; 32], &claims);
        let sig = good.rsplit('.').next().unwrap();
        assert!(
            k.verify(&forge(r#"{"alg":"RS256","typ":"JWT"}"#, &claims, sig))
                .is_err()
        );
    }

    #[test]
    fn expired_and_not_yet_valid_tokens_are_rejected() {
        let k = keys();
        assert!(
            k.verify(&sign_hs256(&[b's'; 32], &claims_json(&k, -60, -120)))
                .is_err()
        );
        assert!(
            k.verify(&sign_hs256(&[b's'; 32], &claims_json(&k, 600, 300)))
                .is_err()
        );
        assert!(
            k.verify(&sign_hs256(&[b's'; 32], &claims_json(&k, 600, 0)))
                .is_ok()
        );
    }

    #[test]
    fn wrong_audience_or_issuer_is_rejected() {
        let k = keys();
        let mut c = claims_json(&k, 600, 0);
        c["aud"] = "someone-else".into();
        assert!(k.verify(&sign_hs256(&[b's'; 32], &c)).is_err());
        let mut c = claims_json(&k, 600, 0);
        c["iss"] = "evil".into();
        assert!(k.verify(&sign_hs256(&[b's'; 32], &c)).is_err());
    }

    #[test]
    fn tampered_payload_is_rejected() {
        let k = keys();
        let t = k
            .issue(
                &UserId::from_trusted("01JD0000000000000000000001"),
                Role::Customer,
                "01JD0000000000000000000009",
            )
            .unwrap();
        let parts: Vec<&str> = t.split('.').collect();
        let mut c: serde_json::Value =
            serde_json::from_slice(&B64.decode(parts[1]).unwrap()).unwrap();
        c["role"] = "admin".into();
        let forged = format!("{}.{}.{}", parts[0], B64.encode(c.to_string()), parts[2]);
        assert!(k.verify(&forged).is_err());
    }

    #[test]
    fn a_signed_token_with_an_oversized_or_odd_subject_is_refused() {
        let k = keys();
        for sub in [
            "x".repeat(5000),
            "01USER".into(),
            " 01JD0000000000000000000000".into(),
        ] {
            let mut c = claims_json(&k, 60, 0);
            c["sub"] = sub.clone().into();
            let t = sign_hs256(&[b's'; 32], &c);
            assert!(
                k.verify(&t).is_err(),
                "sub {:?} accepted",
                &sub[..sub.len().min(30)]
            );
        }
        let mut c = claims_json(&k, 60, 0);
        c["jti"] = "j".repeat(65).into();
        assert!(k.verify(&sign_hs256(&[b's'; 32], &c)).is_err());
        assert!(k.verify(&"a".repeat(MAX_TOKEN_BYTES + 1)).is_err());
    }
}
