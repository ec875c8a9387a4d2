//! Passwords: argon2id at OWASP's cost, hashed on the blocking pool in one working memory kept for
//! the life of the process.

use std::sync::{Mutex, OnceLock};

use argon2::{
    Algorithm, Argon2, Block, Params, PasswordHash, PasswordHasher, PasswordVerifier, Version,
    password_hash::{
        self, Decimal, Ident, Output, ParamsString, Salt, SaltString, rand_core::OsRng,
    },
};

use crate::{
    error::{ApiError, ApiResult},
    types::char_len,
};

/// A plaintext password, checked for length before it is ever hashed (bounds argon2's cost).
/// Deliberately not `Debug`/`Serialize`, so it cannot be logged or echoed by accident.
pub struct Password(String);

/// Sorted, one per line, lower case (see `shared/data/common-passwords.LICENSE.txt`).
const COMMON: &str = include_str!("../../data/common-passwords.txt");

fn is_common(folded: &str) -> bool {
    static LIST: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
    LIST.get_or_init(|| COMMON.lines().collect())
        .binary_search(&folded)
        .is_ok()
}

impl Password {
    pub const MIN_CHARS: usize = 8;
    pub const MAX_CHARS: usize = 128;

    pub fn parse(field: &str, raw: String) -> Result<Self, ApiError> {
        let n = char_len(&raw);
        if !(Self::MIN_CHARS..=Self::MAX_CHARS).contains(&n) {
            return Err(ApiError::invalid_field(
                field,
                format!(
                    "must be {} to {} characters long",
                    Self::MIN_CHARS,
                    Self::MAX_CHARS
                ),
            ));
        }
        Ok(Password(raw))
    }

    /// A password being set (registration, change, reset): [`Password::parse`], and not one an
    /// attacker tries first: not in the list of common passwords (every entry of 8 or more
    /// characters among the 30,000 most common, from zxcvbn; `shared/data/`), not one character
    /// repeated (eight spaces), and not the account's own email or name.
    pub fn parse_new(field: &str, raw: String, personal: &[&str]) -> Result<Self, ApiError> {
        let p = Self::parse(field, raw)?;
        let folded = p.0.trim().to_lowercase();
        let mut chars = folded.chars();
        let repeated = chars.next().is_none_or(|first| chars.all(|c| c == first));
        let personal = personal
            .iter()
            .any(|v| !v.is_empty() && v.trim().to_lowercase() == folded);
        if repeated || personal || is_common(&folded) {
            return Err(ApiError::invalid_field(
                field,
                "is too easy to guess (a common password, or your name or email): choose another",
            ));
        }
        Ok(p)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// OWASP's argon2id recommendation: m = 19 MiB, t = 2, p = 1.
pub const ARGON2_MEMORY_KIB: u32 = 19 * 1024;
pub const ARGON2_ITERATIONS: u32 = 2;
pub const ARGON2_PARALLELISM: u32 = 1;

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_length_bounds_are_inclusive_and_count_characters() {
        assert!(Password::parse("password", "1234567".into()).is_err());
        assert!(Password::parse("password", "12345678".into()).is_ok());
        assert!(Password::parse("password", "é".repeat(128)).is_ok());
        assert!(Password::parse("password", "x".repeat(129)).is_err());
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
    fn common_repeated_and_personal_passwords_are_refused_when_set() {
        let new = |p: &str| {
            Password::parse_new("password", p.into(), &["ada@example.com", "Ada Lovelace"])
        };
        for weak in [
            "12345678",
            "password",
            "Password",
            "iloveyou",
            "qwertyuiop",
            "        ",
            "aaaaaaaaaa",
            "ada@example.com",
            "ada lovelace",
        ] {
            assert!(new(weak).is_err(), "{weak:?} accepted");
        }
        for fine in [
            "correct horse battery",
            "cobol-forever-1959",
            "analytical-engine",
        ] {
            assert!(new(fine).is_ok(), "{fine:?} refused");
        }
        // Signing in with an old weak password still works: only setting one is checked.
        assert!(Password::parse("password", "12345678".into()).is_ok());
    }

    #[test]
    fn the_common_list_is_sorted_lower_case_and_long_enough() {
        let lines: Vec<&str> = COMMON.lines().collect();
        assert!(lines.len() >= 10_000);
        assert!(
            lines.windows(2).all(|w| w[0] < w[1]),
            "sorted, no repeats (binary search)"
        );
        assert!(
            lines
                .iter()
                .all(|l| l.chars().count() >= Password::MIN_CHARS && *l == l.to_lowercase())
        );
    }
}
