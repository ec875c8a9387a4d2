//! Passwords (argon2id) and access tokens (HS256 JWTs, algorithm pinned), and the authentication
//! step every protected endpoint runs: verify the token, then check it was not revoked.

use std::sync::OnceLock;

use argon2::{
    Algorithm, Argon2, Params, PasswordHash, PasswordHasher, PasswordVerifier, Version,
    password_hash::{SaltString, rand_core::OsRng},
};
use aws_sdk_dynamodb::types::KeysAndAttributes;
use jsonwebtoken::{DecodingKey, EncodingKey, Header, Validation, decode, encode};
use lambda_http::Request;
use serde::{Deserialize, Serialize};

use crate::{
    app::App,
    config::Config,
    db::{self, keys},
    error::{ApiError, ApiResult},
    http::{header_str, record_user},
    types::{Password, Role, UserId, now_epoch_secs},
};

/// OWASP's argon2id recommendation: m = 19 MiB, t = 2, p = 1.
pub const ARGON2_MEMORY_KIB: u32 = 19 * 1024;
pub const ARGON2_ITERATIONS: u32 = 2;
pub const ARGON2_PARALLELISM: u32 = 1;

const INVALID_TOKEN: &str = "missing, invalid or expired access token";

fn argon2() -> Argon2<'static> {
    let params = Params::new(
        ARGON2_MEMORY_KIB,
        ARGON2_ITERATIONS,
        ARGON2_PARALLELISM,
        None,
    )
    .expect("argon2 parameters are constants within range");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes on the blocking pool: argon2 is deliberately CPU- and memory-heavy.
pub async fn hash_password(password: Password) -> ApiResult<String> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        argon2()
            .hash_password(password.expose().as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| ApiError::internal(e.to_string()))
    })
    .await
    .map_err(ApiError::internal)?
}

/// Verifies against a stored PHC string. `None` compares against a dummy hash so that an unknown
/// email costs the same time as a wrong password.
pub async fn verify_password(password: String, stored: Option<String>) -> ApiResult<bool> {
    tokio::task::spawn_blocking(move || {
        let stored = stored.unwrap_or_else(|| dummy_hash().to_string());
        let Ok(parsed) = PasswordHash::new(&stored) else {
            return false;
        };
        argon2()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
    .await
    .map_err(ApiError::internal)
}

fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let salt = SaltString::generate(&mut OsRng);
        argon2()
            .hash_password(b"dummy password for timing", &salt)
            .map(|h| h.to_string())
            .unwrap_or_default()
    })
}

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
}

pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    issuer: String,
    audience: String,
    pub ttl_secs: u64,
}

impl JwtKeys {
    pub fn new(config: &Config) -> Self {
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
        }
    }

    pub fn issue(&self, user: &UserId, role: Role) -> ApiResult<String> {
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
        };
        encode(
            &Header::new(jsonwebtoken::Algorithm::HS256),
            &claims,
            &self.encoding,
        )
        .map_err(ApiError::internal)
    }

    pub fn verify(&self, token: &str) -> ApiResult<Claims> {
        decode::<Claims>(token, &self.decoding, &self.validation)
            .map(|d| d.claims)
            .map_err(|_| ApiError::Unauthorized(INVALID_TOKEN))
    }
}

/// The caller of a protected endpoint, established from a valid, unrevoked token.
#[derive(Debug, Clone)]
pub struct Principal {
    pub user_id: UserId,
    pub role: Role,
    pub jti: String,
    pub exp: u64,
}

impl Principal {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    pub fn require_admin(&self) -> ApiResult<()> {
        if self.is_admin() {
            Ok(())
        } else {
            Err(ApiError::Forbidden("this action needs an admin account"))
        }
    }
}

pub fn bearer_token(req: &Request) -> Option<&str> {
    let value = header_str(req, "authorization")?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// Verifies the bearer token, then in ONE strongly consistent BatchGetItem checks that the token was
/// not revoked (logout) and that its user still exists. The role comes from the user item, so a
/// demoted admin or a deleted account loses access on the very next request.
pub async fn authenticate(app: &App, req: &Request) -> ApiResult<Principal> {
    check_account(app, verified_claims(app, req)?).await
}

/// Authenticates while `read` runs. The token's signature and claims are checked first (locally, no
/// I/O); then the revocation/account lookup and the endpoint's own read go to DynamoDB at the same
/// time, so authentication adds no round trip to the request. `read` is given the token's user id;
/// what it read is only used once the caller is known to be authentic.
pub async fn authenticate_with<T, F, Fut>(
    app: &App,
    req: &Request,
    read: F,
) -> ApiResult<(Principal, T)>
where
    F: FnOnce(UserId) -> Fut,
    Fut: std::future::Future<Output = ApiResult<T>>,
{
    let claims = verified_claims(app, req)?;
    let user = UserId::from_trusted(claims.sub.clone());
    let (who, data) = tokio::join!(check_account(app, claims), read(user));
    Ok((who?, data?))
}

fn verified_claims(app: &App, req: &Request) -> ApiResult<Claims> {
    let token = bearer_token(req).ok_or(ApiError::Unauthorized(INVALID_TOKEN))?;
    app.jwt.verify(token)
}

async fn check_account(app: &App, claims: Claims) -> ApiResult<Principal> {
    let table = &app.config.tables.users;
    let keys_and_attrs = KeysAndAttributes::builder()
        .keys(keys::revoked(&claims.jti))
        .keys(keys::user(&claims.sub))
        .consistent_read(true)
        .projection_expression("pk, #role")
        .expression_attribute_names("#role", "role")
        .build()
        .map_err(ApiError::internal)?;
    let out = app
        .dynamo
        .batch_get_item()
        .request_items(table, keys_and_attrs)
        .send()
        .await?;
    if out.unprocessed_keys.as_ref().is_some_and(|u| !u.is_empty()) {
        return Err(ApiError::Unavailable {
            dependency: "storage",
            source: Some("authentication lookup was throttled".into()),
        });
    }
    let items = out
        .responses
        .and_then(|mut r| r.remove(table))
        .unwrap_or_default();
    let user_pk = keys::user_pk(&claims.sub);
    let mut role = None;
    for item in &items {
        match item.get(db::PK).and_then(|v| v.as_s().ok()) {
            Some(pk) if *pk == user_pk => {
                role = item.get("role").and_then(|v| v.as_s().ok()).cloned();
            }
            // Anything else in the answer is the revocation item.
            _ => return Err(ApiError::Unauthorized(INVALID_TOKEN)),
        }
    }
    let role: Role = role
        .and_then(|r| serde_json::from_value(serde_json::Value::String(r)).ok())
        .ok_or(ApiError::Unauthorized(INVALID_TOKEN))?;
    record_user(&claims.sub);
    Ok(Principal {
        user_id: UserId::from_trusted(claims.sub),
        role,
        jti: claims.jti,
        exp: claims.exp,
    })
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
            "sub": "01USER", "role": "admin", "iss": k.issuer, "aud": k.audience,
            "iat": now, "nbf": now + nbf_offset, "exp": now + exp_offset, "jti": "j1"
        })
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
            .issue(&UserId::from_trusted("01ABC"), Role::Customer)
            .unwrap();
        let c = k.verify(&t).unwrap();
        assert_eq!(c.sub, "01ABC");
        assert_eq!(c.role, Role::Customer);
        assert_eq!(c.exp - c.iat, 3600);
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
        let t = encode(
            &Header::new(jsonwebtoken::Algorithm::HS512),
            &claims,
            &EncodingKey::from_secret(&[b's'; 32]),
        )
        .unwrap();
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
            .issue(&UserId::from_trusted("01ABC"), Role::Customer)
            .unwrap();
        let parts: Vec<&str> = t.split('.').collect();
        let mut c: serde_json::Value =
            serde_json::from_slice(&B64.decode(parts[1]).unwrap()).unwrap();
        c["role"] = "admin".into();
        let forged = format!("{}.{}.{}", parts[0], B64.encode(c.to_string()), parts[2]);
        assert!(k.verify(&forged).is_err());
    }

    #[tokio::test]
    async fn password_hash_is_argon2id_with_owasp_cost_and_verifies() {
        let h = hash_password(Password::parse("password", "correct horse".into()).unwrap())
            .await
            .unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(
            verify_password("correct horse".into(), Some(h.clone()))
                .await
                .unwrap()
        );
        assert!(
            !verify_password("wrong horse".into(), Some(h))
                .await
                .unwrap()
        );
        assert!(!verify_password("anything".into(), None).await.unwrap());
    }

    #[test]
    fn bearer_scheme_is_parsed_case_insensitively() {
        let req = lambda_http::http::Request::builder()
            .header("authorization", "bearer abc.def.ghi")
            .body(lambda_http::Body::Empty)
            .unwrap();
        assert_eq!(bearer_token(&req), Some("abc.def.ghi"));
        let req = lambda_http::http::Request::builder()
            .header("authorization", "Basic abc")
            .body(lambda_http::Body::Empty)
            .unwrap();
        assert_eq!(bearer_token(&req), None);
    }
}
