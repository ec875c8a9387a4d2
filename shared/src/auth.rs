//! Passwords (argon2id) and access tokens (HS256 JWTs, algorithm pinned), and the authentication
//! step every protected endpoint runs: verify the token, then check it was not revoked.

use std::sync::{Mutex, OnceLock};

use argon2::{
    Algorithm, Argon2, Block, Params, PasswordHash, PasswordHasher, PasswordVerifier, Version,
    password_hash::{
        self, Decimal, Ident, Output, ParamsString, Salt, SaltString, rand_core::OsRng,
    },
};
use aws_sdk_dynamodb::types::AttributeValue;
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

fn params() -> Params {
    Params::new(
        ARGON2_MEMORY_KIB,
        ARGON2_ITERATIONS,
        ARGON2_PARALLELISM,
        None,
    )
    .expect("argon2 parameters are constants within range")
}

/// Argon2 that hashes in one working memory kept for the life of the process. Allocating 19 MiB
/// per hash costs page faults on every login, and glibc keeps such blocks per thread arena, which
/// grew a warm register function past 200 MB.
struct Argon2Pooled;

impl PasswordHasher for Argon2Pooled {
    type Params = Params;

    // The same steps as `Argon2::hash_password`, with the memory passed in.
    fn hash_password_customized<'a>(
        &self,
        password: &[u8],
        alg_id: Option<Ident<'a>>,
        version: Option<Decimal>,
        params: Params,
        salt: impl Into<Salt<'a>>,
    ) -> password_hash::Result<PasswordHash<'a>> {
        let algorithm = alg_id
            .map(Algorithm::try_from)
            .transpose()?
            .unwrap_or_default();
        let version = version
            .map(Version::try_from)
            .transpose()?
            .unwrap_or_default();
        let argon2 = Argon2::new(algorithm, version, params.clone());
        let salt = salt.into();
        let mut salt_buf = [0u8; 64];
        let salt_bytes = salt.decode_b64(&mut salt_buf)?;
        let len = params.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN);
        let hash = Output::init_with(len, |out| {
            with_memory(params.block_count(), |blocks| {
                argon2.hash_password_into_with_memory(password, salt_bytes, out, blocks)
            })
            .map_err(Into::into)
        })?;
        Ok(PasswordHash {
            algorithm: algorithm.ident(),
            version: Some(version.into()),
            params: ParamsString::try_from(&params)?,
            salt: Some(salt),
            hash: Some(hash),
        })
    }
}

fn hash_argon2id<'a>(
    password: &[u8],
    salt: &'a SaltString,
) -> password_hash::Result<PasswordHash<'a>> {
    Argon2Pooled.hash_password_customized(
        password,
        Some(Algorithm::Argon2id.ident()),
        Some(Version::V0x13.into()),
        params(),
        salt,
    )
}

/// Runs `f` with `count` argon2 blocks from the process-wide pool. Argon2 writes every block before
/// reading it, so reused memory needs no clearing. A second concurrent hash (tests run many) gets
/// memory of its own.
fn with_memory<R>(count: usize, f: impl FnOnce(&mut [Block]) -> R) -> R {
    static POOL: Mutex<Vec<Block>> = Mutex::new(Vec::new());
    match POOL.try_lock() {
        Ok(mut blocks) => {
            if blocks.len() < count {
                blocks.resize(count, Block::default());
            }
            f(&mut blocks[..count])
        }
        Err(_) => f(&mut vec![Block::default(); count]),
    }
}

/// Hashes on the blocking pool: argon2 is deliberately CPU- and memory-heavy.
pub async fn hash_password(password: Password) -> ApiResult<String> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        hash_argon2id(password.expose().as_bytes(), &salt)
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
        Argon2Pooled
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
        hash_argon2id(b"dummy password for timing", &salt)
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

/// Tokens revoked by logout are kept on their user's item as `jti -> exp`, so checking a token is
/// part of the one read that also proves the account exists and gives its current role.
pub const REVOKED_TOKENS: &str = "revoked_tokens";

// Authentication reads the whole user item, not a projection of the role and this token's entry:
// it costs the same read capacity (the item is far below 4 KB), and DynamoDB Local spends more on
// parsing a projection than on returning the item, which the benchmark measured (~0.1 ms a read).

/// Verifies the bearer token, then in ONE strongly consistent GetItem of the user checks that the
/// account still exists and the token was not revoked (logout). The role comes from the user item,
/// so a demoted admin or a deleted account loses access on the very next request.
pub async fn authenticate(app: &App, req: &Request) -> ApiResult<Principal> {
    let claims = verified_claims(app, req)?;
    let item = read_user(app, &claims).await?;
    principal(claims, item.as_ref())
}

/// Like `authenticate`, returning the caller's whole user item from that same read: endpoints
/// about the caller's own account need no second lookup.
pub async fn authenticate_account(app: &App, req: &Request) -> ApiResult<(Principal, db::Item)> {
    let claims = verified_claims(app, req)?;
    let item = read_user(app, &claims).await?;
    let who = principal(claims, item.as_ref())?;
    Ok((who, item.unwrap_or_default()))
}

/// Authenticates while `read` runs. The token's signature and claims are checked first (locally, no
/// I/O); then the account lookup and the endpoint's own read go to DynamoDB at the same time, so
/// authentication adds no round trip to the request. `read` is given the token's user id; what it
/// read is only used once the caller is known to be authentic.
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
    let (item, data) = tokio::join!(read_user(app, &claims), read(user));
    Ok((principal(claims, item?.as_ref())?, data?))
}

/// Authenticates in the same BatchGetItem as the endpoint's own point reads: `reads` (given the
/// token's user id) adds them, the account lookup is added here, and all of it is one request.
/// What `reads` asked for is returned only once the caller is known to be authentic.
pub async fn authenticate_batch<F>(
    app: &App,
    req: &Request,
    reads: F,
) -> ApiResult<(Principal, db::Fetched)>
where
    F: FnOnce(&UserId) -> db::BatchGet,
{
    let claims = verified_claims(app, req)?;
    let user = UserId::from_trusted(claims.sub.clone());
    let table = &app.config.tables.users;
    let key = keys::user(&claims.sub);
    let mut fetched = reads(&user)
        .get(table, key.clone(), true)
        .send(&app.dynamo)
        .await?;
    let item = fetched.take(table, &key);
    Ok((principal(claims, item.as_ref())?, fetched))
}

fn verified_claims(app: &App, req: &Request) -> ApiResult<Claims> {
    let token = bearer_token(req).ok_or(ApiError::Unauthorized(INVALID_TOKEN))?;
    app.jwt.verify(token)
}

/// The token's user item, strongly consistent (a logout or demotion must count at once).
async fn read_user(app: &App, claims: &Claims) -> ApiResult<Option<db::Item>> {
    Ok(app
        .dynamo
        .get_item()
        .table_name(&app.config.tables.users)
        .set_key(Some(keys::user(&claims.sub)))
        .consistent_read(true)
        .send()
        .await?
        .item)
}

fn principal(claims: Claims, user: Option<&db::Item>) -> ApiResult<Principal> {
    let user = user.ok_or(ApiError::Unauthorized(INVALID_TOKEN))?;
    let revoked = user
        .get(REVOKED_TOKENS)
        .and_then(|v| v.as_m().ok())
        .is_some_and(|m| m.contains_key(&claims.jti));
    if revoked {
        return Err(ApiError::Unauthorized(INVALID_TOKEN));
    }
    let role: Role = user
        .get("role")
        .and_then(|v| v.as_s().ok())
        .and_then(|r| serde_json::from_value(serde_json::Value::String(r.clone())).ok())
        .ok_or(ApiError::Unauthorized(INVALID_TOKEN))?;
    record_user(&claims.sub);
    Ok(Principal {
        user_id: UserId::from_trusted(claims.sub),
        role,
        jti: claims.jti,
        exp: claims.exp,
    })
}

/// Most expired entries one logout clears, keeping the update expression small.
const PRUNE_PER_LOGOUT: usize = 50;

/// Revokes the caller's token until it would have expired anyway, and drops entries of `revoked`
/// (the user's current list) that have expired since.
pub async fn revoke(app: &App, who: &Principal, revoked: &db::Item) -> ApiResult<()> {
    let now = now_epoch_secs();
    let expired: Vec<&String> = revoked
        .iter()
        .filter(|(_, exp)| {
            exp.as_n()
                .ok()
                .and_then(|n| n.parse::<u64>().ok())
                .is_none_or(|exp| exp < now)
        })
        .map(|(jti, _)| jti)
        .take(PRUNE_PER_LOGOUT)
        .collect();
    let users = &app.config.tables.users;
    for _ in 0..3 {
        // Usual case: the map exists (every account is created with one); add to it in place.
        let mut add = app
            .dynamo
            .update_item()
            .table_name(users)
            .set_key(Some(keys::user(who.user_id.as_str())))
            .condition_expression(format!("attribute_exists({REVOKED_TOKENS})"))
            .expression_attribute_names("#jti", &who.jti)
            .expression_attribute_values(":exp", db::n(who.exp));
        let mut expr = format!("SET {REVOKED_TOKENS}.#jti = :exp");
        for (i, jti) in expired.iter().enumerate() {
            expr.push_str(if i == 0 { " REMOVE " } else { ", " });
            expr.push_str(&format!("{REVOKED_TOKENS}.#x{i}"));
            add = add.expression_attribute_names(format!("#x{i}"), *jti);
        }
        match add.update_expression(expr).send().await {
            Ok(_) => return Ok(()),
            Err(e) if !db::is_condition_failure(&e) => return Err(e.into()),
            Err(_) => {}
        }
        // An account stored without the map: create it, unless someone else just did.
        let create = app
            .dynamo
            .update_item()
            .table_name(users)
            .set_key(Some(keys::user(who.user_id.as_str())))
            .update_expression(format!("SET {REVOKED_TOKENS} = :m"))
            .condition_expression(format!(
                "attribute_exists(pk) AND attribute_not_exists({REVOKED_TOKENS})"
            ))
            .expression_attribute_values(
                ":m",
                AttributeValue::M([(who.jti.clone(), db::n(who.exp))].into()),
            )
            .send()
            .await;
        match create {
            Ok(_) => return Ok(()),
            Err(e) if !db::is_condition_failure(&e) => return Err(e.into()),
            Err(_) => {}
        }
    }
    // Neither the map nor the account exists: the account was deleted meanwhile.
    Err(ApiError::Unauthorized(INVALID_TOKEN))
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

    #[tokio::test]
    async fn pooled_hashes_match_the_argon2_crate_both_ways() {
        let standard = Argon2::new(Algorithm::Argon2id, Version::V0x13, params());
        let salt = SaltString::generate(&mut OsRng);
        let theirs = standard
            .hash_password(b"correct horse", &salt)
            .unwrap()
            .to_string();
        assert!(
            verify_password("correct horse".into(), Some(theirs))
                .await
                .unwrap(),
            "hashes stored by the plain argon2 crate still verify"
        );
        let ours = hash_password(Password::parse("password", "correct horse".into()).unwrap())
            .await
            .unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(standard.verify_password(b"correct horse", &parsed).is_ok());
        assert!(standard.verify_password(b"wrong horse", &parsed).is_err());
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
