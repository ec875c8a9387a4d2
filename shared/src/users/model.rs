//! Users without storage: the public view of an account, the request bodies and what they parse
//! into, and the lockout rule. Pure: no HTTP, no AWS.

use serde::{Deserialize, Serialize};

use crate::{
    auth::{password::Password, totp::SecondFactor},
    error::{ApiError, ApiResult},
    types::{Role, Timestamp, UserId, bounded_text, char_len, string_newtype},
};

string_newtype!(
    /// An email address, normalised to lower case: uniqueness is case-insensitive.
    Email
);
string_newtype!(
    /// A display name.
    Name
);

impl Email {
    pub const MAX_LEN: usize = 254;

    /// Normalised so that addresses that look the same are the same: Unicode NFKC (composed
    /// accents, fullwidth letters folded), trimmed, lower-cased. Control, invisible (zero-width,
    /// soft hyphen, BOM) and bidirectional-control characters are refused outright.
    pub fn parse(raw: &str) -> Result<Self, ApiError> {
        use unicode_normalization::UnicodeNormalization;
        if raw.chars().any(is_hidden) {
            return Err(ApiError::invalid_field(
                "email",
                "must not contain invisible, control or text-direction characters",
            ));
        }
        let s = raw.nfkc().collect::<String>().trim().to_lowercase();
        let bad = || ApiError::invalid_field("email", "must be a valid email address");
        if s.is_empty()
            || char_len(&s) > Self::MAX_LEN
            || s.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(bad());
        }
        let (local, domain) = s.split_once('@').ok_or_else(bad)?;
        // The local part: letters, digits and RFC 5322's other unquoted characters, in dot-separated
        // runs (no quoted forms, so no `<`, `>`, quotes, brackets or spaces ever reach a page or a
        // header). The domain: dot-separated labels of letters, digits and inner hyphens.
        let atext = |c: char| c.is_alphanumeric() || "!#$%&'*+/=?^_`{|}~-".contains(c);
        let label = |l: &str| {
            !l.is_empty()
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_alphanumeric() || c == '-')
        };
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && local
                .split('.')
                .all(|run| !run.is_empty() && run.chars().all(atext));
        let domain_ok = domain.contains('.') && domain.split('.').all(label);
        if !local_ok || !domain_ok {
            return Err(bad());
        }
        Ok(Email(s))
    }
}

/// Characters that change how text looks without being seen: controls, zero-width and joiners,
/// soft hyphen, word joiner and invisible operators, bidirectional embeddings, overrides and
/// isolates, the byte-order mark.
fn is_hidden(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}' | '\u{17B4}' | '\u{17B5}'
            | '\u{180B}'..='\u{180F}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}' | '\u{3164}' | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}' | '\u{FFA0}')
}

impl Name {
    pub fn parse(raw: &str) -> Result<Self, ApiError> {
        bounded_text("name", raw, 1, 100).map(Name)
    }
}

/// A postal address. Free-form lines with bounded lengths: formats vary too much by country to check more.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Address {
    pub line1: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line2: Option<String>,
    pub city: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    pub postal_code: String,
    /// ISO 3166-1 alpha-2, upper case.
    pub country: String,
}

impl Address {
    pub fn parse(raw: Address) -> Result<Self, ApiError> {
        let opt = |f: &str, v: Option<String>| -> Result<Option<String>, ApiError> {
            match v.as_deref().map(str::trim) {
                None | Some("") => Ok(None),
                Some(s) => bounded_text(f, s, 1, 100).map(Some),
            }
        };
        let country = raw.country.trim().to_ascii_uppercase();
        if country.len() != 2 || !country.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(ApiError::invalid_field(
                "address.country",
                "must be a two-letter country code such as US",
            ));
        }
        Ok(Address {
            line1: bounded_text("address.line1", &raw.line1, 1, 100)?,
            line2: opt("address.line2", raw.line2)?,
            city: bounded_text("address.city", &raw.city, 1, 100)?,
            region: opt("address.region", raw.region)?,
            postal_code: bounded_text("address.postal_code", &raw.postal_code, 1, 20)?,
            country,
        })
    }
}

/// How failed password checks slow the next attempt. Nothing is ever locked: each counter makes
/// its caller wait `2^(failures - free)` seconds after its last failure (at most `max_delay_secs`),
/// so an attacker at one address is held back while the owner elsewhere signs in at once. Times
/// are whole seconds, so the wait is at least that and at most a second more.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Throttle {
    /// Failures that cost nothing (typos).
    pub free: u64,
    pub max_delay_secs: u64,
}

/// One account from one client address.
pub const PER_ACCOUNT_AND_ADDRESS: Throttle = Throttle {
    free: 3,
    max_delay_secs: 15 * 60,
};
/// One client address across every account (password spraying).
pub const PER_ADDRESS: Throttle = Throttle {
    free: 20,
    max_delay_secs: 15 * 60,
};
/// One account across every address, for sign-ins that do not present a device token of it: a
/// guesser spread over many addresses (a botnet) gets `free` attempts, then one at a time ever
/// further apart, while the owner's own browsers, which hold device tokens, are not slowed at all.
/// Over an hour that is at most [`ACCOUNT_WIDE_GUESSES_PER_HOUR`] guesses.
pub const ACCOUNT_WIDE: Throttle = Throttle {
    free: 10,
    max_delay_secs: 5 * 60,
};
/// The bound the account-wide throttle puts on a guesser's attempts in a failure window (a test
/// plays the best schedule against it).
pub const ACCOUNT_WIDE_GUESSES_PER_HOUR: u64 = 30;

/// A counter forgets failures older than this (its TTL runs from the first).
pub const FAILURE_WINDOW_SECS: u64 = 60 * 60;
/// Failures on one account within the window, from all addresses, that tell its owner (a security
/// event and an email, once per window). Far above any person's typos; never a lock.
pub const ACCOUNT_ALERT_FAILURES: u64 = 100;

impl Throttle {
    pub fn delay_secs(&self, failures: u64) -> u64 {
        if failures < self.free {
            return 0;
        }
        (1u64 << (failures - self.free).min(20)).min(self.max_delay_secs)
    }

    /// Whether an attempt may claim a place on a counter that stands at `count` attempts not yet
    /// proven good, the last at `last`, and which place.
    pub fn claim(&self, count: u64, last: u64, now: u64) -> ApiResult<Claim> {
        self.check(count, last, now)?;
        Ok(match count < self.free {
            true => Claim::Free {
                limit: self.free,
                at: now,
            },
            false => Claim::Next {
                from: count,
                at: now,
            },
        })
    }

    /// A 429 with `Retry-After` while the delay after the last failure has not passed. Both
    /// times are whole seconds: a failure at 10.9 s is stored as 10, so "1 s later" is not 11
    /// (0.1 s on) but 12; until then the caller waits.
    pub fn check(&self, failures: u64, last_failure: u64, now: u64) -> ApiResult<()> {
        let delay = self.delay_secs(failures);
        let free_from = last_failure + delay + 1;
        if delay > 0 && now < free_from {
            return Err(ApiError::Throttled {
                retry_after_secs: free_from - now,
            });
        }
        Ok(())
    }
}
/// An attempt's place on a counter, written conditionally so that no more attempts get through
/// than the throttle allows, however many arrive at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// One of the free places: any while fewer than `limit` are taken (concurrent attempts need
    /// not queue for them).
    Free { limit: u64, at: u64 },
    /// The one place after the delay: only while the counter still stands at `from`, so of
    /// concurrent attempts exactly one gets it.
    Next { from: u64, at: u64 },
}

pub const BAD_CREDENTIALS: &str = "email or password is incorrect";

/// The public shape of a user: `{id, email, name, role, address?, email_verified, mfa_enabled, created_at, updated_at}`.
/// Decoded straight from the stored item, which also holds the hash: it is simply not a field here.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct UserView {
    pub id: UserId,
    pub email: Email,
    pub name: Name,
    pub role: Role,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<Address>,
    /// The owner opened the verification link mailed at registration (card payments need it).
    #[serde(default)]
    pub email_verified: bool,
    /// Two-factor sign-in (an authenticator app) is on.
    #[serde(default)]
    pub mfa_enabled: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    pub email: String,
    pub password: String,
    pub name: String,
}

pub struct NewUser {
    pub email: Email,
    pub password: Password,
    pub name: Name,
}

/// The one rule for a password being set, on every path that sets one (registration, a change, a
/// reset): [`Password::parse_new`], never the account's email, the email's local part, or any of
/// its `names` (the current name, and the new one when it changes in the same request).
pub fn new_password(raw: String, email: &Email, names: &[&Name]) -> ApiResult<Password> {
    let local_part = email.as_str().split('@').next().unwrap_or_default();
    let mut personal = vec![email.as_str(), local_part];
    personal.extend(names.iter().map(|n| n.as_str()));
    Password::parse_new("password", raw, &personal)
}

impl TryFrom<RegisterRequest> for NewUser {
    type Error = ApiError;
    fn try_from(r: RegisterRequest) -> ApiResult<Self> {
        let (email, name) = (Email::parse(&r.email)?, Name::parse(&r.name)?);
        let password = new_password(r.password, &email, &[&name])?;
        Ok(NewUser {
            email,
            name,
            password,
        })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
    /// The device token an earlier sign-in to this account gave this browser.
    #[serde(default)]
    pub device_token: Option<String>,
}

/// A login's credentials: the email parsed, the password only bounded (argon2's cost), since a
/// malformed password simply cannot match.
pub struct Credentials {
    pub email: Email,
    pub password: String,
    pub device_token: Option<String>,
}

impl TryFrom<LoginRequest> for Credentials {
    type Error = ApiError;
    fn try_from(r: LoginRequest) -> ApiResult<Self> {
        // Over-long input is refused before hashing.
        if r.password.chars().count() > Password::MAX_CHARS {
            return Err(ApiError::invalid_field(
                "password",
                "must be at most 128 characters long",
            ));
        }
        Ok(Credentials {
            email: Email::parse(&r.email)?,
            password: r.password,
            device_token: r.device_token,
        })
    }
}

#[derive(Serialize, Deserialize)]
pub struct LoginResponse {
    /// `token`, `token_type`, `expires_in` and `refresh_token`, beside `user`.
    #[serde(flatten)]
    pub tokens: crate::auth::TokenPair,
    pub user: UserView,
    /// For this browser to present at its next sign-ins to this account (`auth::device`).
    pub device_token: String,
    /// The password proved is one today's rules refuse: until a new one is set (`PUT /users/me`),
    /// everything else answers 403 `password_change_required`.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub password_change_required: bool,
}

/// What `POST /users/login` answers for an account with two-factor sign-in: the password was
/// right, and `mfa_token` (single use, 5 minutes, this account only) goes with the code to
/// `POST /users/login/mfa`. No tokens yet.
#[derive(Debug, Serialize)]
pub struct MfaRequired {
    mfa_required: bool,
    mfa_token: String,
}

impl MfaRequired {
    pub fn new(mfa_token: String) -> Self {
        MfaRequired {
            mfa_required: true,
            mfa_token,
        }
    }
}

/// `POST /users/login/mfa` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MfaLoginRequest {
    pub mfa_token: String,
    pub code: String,
}

/// `POST /users/mfa/totp` body: enrolment needs the password again.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MfaEnrolRequest {
    pub current_password: String,
}

/// `POST /users/mfa/totp/confirm` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MfaConfirmRequest {
    pub code: String,
}

/// `DELETE /users/mfa/totp` body: the password and a current code (or a recovery code).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MfaRemoveRequest {
    pub current_password: String,
    pub code: String,
}

/// A typed second factor: six digits, or a recovery code.
pub fn second_factor(raw: &str) -> ApiResult<SecondFactor> {
    SecondFactor::parse(raw).ok_or_else(|| {
        ApiError::invalid_field(
            "code",
            "must be the 6 digits your authenticator app shows, or one of your recovery codes",
        )
    })
}

/// What enrolment answers: the secret to type, or its URI as a QR code to scan.
#[derive(Debug, Serialize)]
pub struct MfaEnrolment {
    pub secret: String,
    pub otpauth_uri: String,
    pub qr_svg: String,
}

/// The recovery codes, shown once when enrolment is confirmed.
#[derive(Debug, Serialize)]
pub struct RecoveryCodes {
    pub recovery_codes: Vec<String>,
}

/// `POST /users/refresh` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateMeRequest {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "crate::types::double_option")]
    pub address: Option<Option<Address>>,
    #[serde(default)]
    pub password: Option<String>,
    #[serde(default)]
    pub current_password: Option<String>,
}

pub struct ProfileUpdate {
    pub name: Option<Name>,
    /// `Some(None)` removes the address.
    pub address: Option<Option<Address>>,
    /// The change of password, checked against the account by [`new_password`].
    pub password: Option<PasswordChange>,
}

/// A new password (not yet checked: the rule needs the account) and the current one that
/// authorises the change.
pub struct PasswordChange {
    pub new: String,
    pub current: String,
}

impl TryFrom<UpdateMeRequest> for ProfileUpdate {
    type Error = ApiError;
    fn try_from(r: UpdateMeRequest) -> ApiResult<Self> {
        let password = match (r.password, r.current_password) {
            (None, _) => None,
            (Some(_), None) => {
                return Err(ApiError::invalid_field(
                    "current_password",
                    "is required to change the password",
                ));
            }
            (Some(new), Some(current)) => Some(PasswordChange { new, current }),
        };
        let update = ProfileUpdate {
            name: r.name.as_deref().map(Name::parse).transpose()?,
            address: r
                .address
                .map(|a| a.map(Address::parse).transpose())
                .transpose()?,
            password,
        };
        if update.name.is_none() && update.address.is_none() && update.password.is_none() {
            return Err(ApiError::bad_request(
                "invalid_field",
                "nothing to update: send name, address or password",
            ));
        }
        Ok(update)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_guesser_who_claims_every_place_the_moment_it_opens_gets_a_few_dozen_guesses_an_hour() {
        let (mut count, mut last, mut guesses) = (0, 0, 0);
        for now in 0..FAILURE_WINDOW_SECS {
            // Unlimited addresses and concurrency: every place is taken the second it opens.
            while ACCOUNT_WIDE.claim(count, last, now).is_ok() {
                (count, last, guesses) = (count + 1, now, guesses + 1);
            }
        }
        assert!(
            (ACCOUNT_WIDE.free..=ACCOUNT_WIDE_GUESSES_PER_HOUR).contains(&guesses),
            "{guesses}"
        );
        // The 21st place in a row waits the longest delay.
        assert!(ACCOUNT_WIDE.claim(30, 1_000, 1_000 + 300).is_err());
        assert!(ACCOUNT_WIDE.claim(30, 1_000, 1_000 + 301).is_ok());
    }

    #[test]
    fn email_is_trimmed_and_lowercased() {
        assert_eq!(
            Email::parse("  Ada@Example.COM ").unwrap().as_str(),
            "ada@example.com"
        );
    }

    #[test]
    fn emails_that_look_the_same_are_the_same() {
        let plain = Email::parse("jose@example.com").unwrap();
        let nfc = Email::parse("jos\u{e9}@example.com").unwrap();
        let nfd = Email::parse("jose\u{301}@example.com").unwrap();
        assert_eq!(nfc, nfd, "composed and decomposed accents are one address");
        assert_ne!(nfc, plain);
        // Fullwidth letters fold to ASCII.
        assert_eq!(
            Email::parse("\u{FF41}da@example.com").unwrap().as_str(),
            "ada@example.com"
        );
    }

    #[test]
    fn invisible_and_direction_characters_are_refused() {
        for bad in [
            "ad\u{200B}a@example.com", // zero-width space
            "ada\u{200D}@example.com", // zero-width joiner
            "\u{FEFF}ada@example.com", // byte-order mark
            "ada@exa\u{AD}mple.com",   // soft hyphen
            "\u{202E}moc.elpmaxe@ada", // right-to-left override
            "ada\u{2066}@example.com", // left-to-right isolate
            "ada\u{7}@example.com",    // control
        ] {
            let e = Email::parse(bad).unwrap_err();
            assert!(e.to_string().contains("invisible"), "{bad:?}: {e}");
        }
    }

    #[test]
    fn malformed_emails_are_refused() {
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "a b@example.com",
            "a@b@c.com",
            "ada@.com",
            "ada@example..com",
            "<script>x@example.com",
            "\"ada\"@example.com",
            "ada.@example.com",
            ".ada@example.com",
            "a..da@example.com",
            "ada@-example.com",
            "ada@exa_mple.com",
            "ada@example.com>",
            "ada(comment)@example.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} accepted");
        }
        for good in [
            "ada.lovelace+shop@example.co.uk",
            "o'brien@example.ie",
            "zoë@exämple.de",
            "x_y-z@sub-domain.example.com",
        ] {
            assert!(Email::parse(good).is_ok(), "{good:?} refused");
        }
        assert!(Email::parse(&format!("{}@example.com", "a".repeat(65))).is_err());
    }

    #[test]
    fn name_rejects_blank_and_control_characters() {
        assert!(Name::parse("   ").is_err());
        assert!(Name::parse("Ada\u{0}").is_err());
        assert_eq!(
            Name::parse(" Ada Lovelace ").unwrap().as_str(),
            "Ada Lovelace"
        );
        assert!(Name::parse(&"x".repeat(101)).is_err());
    }

    #[test]
    fn address_country_must_be_two_letters() {
        let a = Address {
            line1: "1 Main St".into(),
            line2: Some(" ".into()),
            city: "Springfield".into(),
            region: None,
            postal_code: "12345".into(),
            country: "us".into(),
        };
        let parsed = Address::parse(a.clone()).unwrap();
        assert_eq!(parsed.country, "US");
        assert_eq!(parsed.line2, None);
        let err = Address::parse(Address {
            country: "USA".into(),
            ..a
        })
        .unwrap_err();
        assert!(err.to_string().starts_with("address.country"));
    }

    #[test]
    fn register_request_converts_into_domain_values() {
        let r = RegisterRequest {
            email: "Ada@Example.com".into(),
            password: "long enough".into(),
            name: "Ada".into(),
        };
        let u = NewUser::try_from(r).unwrap();
        assert_eq!(u.email.as_str(), "ada@example.com");
    }

    #[test]
    fn a_new_password_is_never_the_accounts_email_its_local_part_or_a_name() {
        let email = Email::parse("grace.hopper@example.com").unwrap();
        let (old, new) = (
            Name::parse("Grace Hopper Navy").unwrap(),
            Name::parse("Amazing Grace 1906").unwrap(),
        );
        for personal in [
            "grace.hopper@example.com",
            "GRACE.HOPPER",
            "grace hopper navy",
            "amazing grace 1906",
        ] {
            let e = new_password(personal.into(), &email, &[&old, &new])
                .err()
                .unwrap();
            assert!(e.to_string().starts_with("password"), "{personal}: {e}");
        }
        assert!(new_password("a long unrelated phrase".into(), &email, &[&old]).is_ok());
    }

    #[test]
    fn password_change_needs_the_current_password() {
        let r: UpdateMeRequest = serde_json::from_str(r#"{"password":"new password"}"#).unwrap();
        let e = ProfileUpdate::try_from(r).err().unwrap();
        assert!(e.to_string().contains("current_password"));
    }

    #[test]
    fn empty_update_is_refused_but_null_address_clears() {
        let r: UpdateMeRequest = serde_json::from_str("{}").unwrap();
        assert!(ProfileUpdate::try_from(r).is_err());
        let r: UpdateMeRequest = serde_json::from_str(r#"{"address":null}"#).unwrap();
        assert!(matches!(
            ProfileUpdate::try_from(r).unwrap().address,
            Some(None)
        ));
    }

    #[test]
    fn unknown_fields_are_refused() {
        assert!(
            serde_json::from_str::<RegisterRequest>(
                r#"{"email":"a@b.co","password":"12345678","name":"A","role":"admin"}"#
            )
            .is_err()
        );
    }

    #[test]
    fn user_view_never_carries_the_hash() {
        let v = UserView {
            id: UserId::from_trusted("1"),
            email: Email::parse("a@b.co").unwrap(),
            name: Name::parse("A").unwrap(),
            role: Role::Customer,
            address: None,
            email_verified: false,
            mfa_enabled: false,
            created_at: Timestamp::now(),
            updated_at: Timestamp::now(),
        };
        let j = serde_json::to_value(&v).unwrap();
        assert!(j.get("password_hash").is_none());
        assert!(j.get("address").is_none());
    }

    #[test]
    fn failures_slow_the_next_attempt_more_and_more_but_never_lock() {
        let t = PER_ACCOUNT_AND_ADDRESS;
        assert_eq!((t.delay_secs(0), t.delay_secs(2)), (0, 0), "typos are free");
        assert_eq!(
            (t.delay_secs(3), t.delay_secs(4), t.delay_secs(6)),
            (1, 2, 8)
        );
        assert_eq!(t.delay_secs(40), 15 * 60, "capped");
        assert!(t.check(2, 100, 100).is_ok(), "no wait after a typo");
        assert!(
            t.check(4, 100, 103).is_ok(),
            "the whole 2 s after the 4th failure"
        );
        match t.check(6, 100, 103) {
            Err(ApiError::Throttled { retry_after_secs }) => assert_eq!(retry_after_secs, 6),
            other => panic!("{other:?}"),
        }
        // In the same second as the failure or the next one, a 1 s wait is not over yet: the
        // failure may have come at the end of its second.
        for now in [100, 101] {
            match t.check(3, 100, now) {
                Err(ApiError::Throttled { retry_after_secs }) => {
                    assert_eq!(retry_after_secs, 102 - now)
                }
                other => panic!("{other:?}"),
            }
        }
        assert!(t.check(3, 100, 102).is_ok());
        assert!(PER_ADDRESS.delay_secs(19) == 0 && PER_ADDRESS.delay_secs(21) == 2);
    }

    #[test]
    fn over_long_login_passwords_are_refused_before_hashing() {
        let r = LoginRequest {
            email: "a@b.co".into(),
            password: "x".repeat(129),
            device_token: None,
        };
        assert!(
            Credentials::try_from(r)
                .err()
                .unwrap()
                .to_string()
                .starts_with("password")
        );
    }
}
