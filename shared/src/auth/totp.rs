//! Two-factor sign-in with an authenticator app (TOTP, RFC 6238: HMAC-SHA1, 6 digits, 30 s steps),
//! pure: the shared secret, its codes, how it is sealed at rest, the recovery codes and the
//! short-lived token that carries a sign-in from the password to the code. `auth::mfa` stores them.
//!
//! The secret is kept sealed (AES-256-GCM under a key derived from the signing secret, bound to
//! the account), so a copy of the table alone yields no codes; recovery codes are kept only as
//! MACs under another derived key.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD as B64};
use data_encoding::BASE32_NOPAD;
use hmac::{Hmac, Mac};
use ring::{
    aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey},
    rand::{SecureRandom, SystemRandom},
};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::types::{UserId, parse_ulid};

/// Seconds per code.
pub const STEP_SECS: u64 = 30;
/// Steps of clock drift accepted either way.
pub const DRIFT_STEPS: u64 = 1;
/// Recovery codes handed out at enrolment, each good once.
pub const RECOVERY_CODES: usize = 10;
/// How long the password step of a sign-in stays open for its code.
pub const CHALLENGE_TTL_SECS: u64 = 5 * 60;
/// What the authenticator app shows as the account's issuer.
pub const ISSUER: &str = "Shop";

/// A key for one purpose (`label`), derived from the signing secret: no new secret is deployed,
/// and a MAC made for one purpose never passes for another's, nor for a token's signature.
pub(super) fn derive_key(secret: &[u8], label: &[u8]) -> Vec<u8> {
    let mut m = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    m.update(label);
    m.finalize().into_bytes().to_vec()
}

/// Keys derived from the signing secret, one per purpose.
pub struct MfaKeys {
    seal: LessSafeKey,
    recovery: Vec<u8>,
    challenge: Vec<u8>,
}

fn random<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    SystemRandom::new()
        .fill(&mut bytes)
        .expect("the system's random number generator works");
    bytes
}

impl MfaKeys {
    pub fn new(signing_secret: &[u8]) -> Self {
        let seal = derive_key(signing_secret, b"shop/totp-seal/v1");
        MfaKeys {
            seal: LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &seal).expect("a 32-byte key")),
            recovery: derive_key(signing_secret, b"shop/recovery-code/v1"),
            challenge: derive_key(signing_secret, b"shop/mfa-challenge/v1"),
        }
    }

    /// `secret` sealed for `user` (a fresh nonce each time): `base64url(nonce || ciphertext+tag)`.
    pub fn seal(&self, user: &UserId, secret: &TotpSecret) -> String {
        let nonce = random::<NONCE_LEN>();
        let mut data = secret.0.to_vec();
        self.seal
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(user.as_str().as_bytes()),
                &mut data,
            )
            .expect("sealing a 20-byte secret cannot fail");
        B64.encode([nonce.as_slice(), &data].concat())
    }

    /// The secret sealed for `user`; `None` if it was sealed for another account or altered.
    pub fn open(&self, user: &UserId, sealed: &str) -> Option<TotpSecret> {
        let raw = B64.decode(sealed).ok()?;
        let (nonce, data) = raw.split_at_checked(NONCE_LEN)?;
        let mut data = data.to_vec();
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let plain = self
            .seal
            .open_in_place(nonce, Aad::from(user.as_str().as_bytes()), &mut data)
            .ok()?;
        Some(TotpSecret(plain.try_into().ok()?))
    }

    /// What is stored of a recovery code: its MAC, bound to the account.
    pub fn recovery_hash(&self, user: &UserId, code: &RecoveryCode) -> String {
        let mut m = Hmac::<Sha256>::new_from_slice(&self.recovery).expect("any key length");
        m.update(format!("{user}.{}", code.0).as_bytes());
        B64.encode(m.finalize().into_bytes())
    }

    fn challenge_mac(&self, user: &str, id: &str, expires: u64) -> Hmac<Sha256> {
        let mut m = Hmac::<Sha256>::new_from_slice(&self.challenge).expect("any key length");
        m.update(format!("{user}.{id}.{expires}").as_bytes());
        m
    }

    /// The token a sign-in's password step answers: `<user>.<challenge id>.<expires>.<mac>`.
    pub fn challenge_token(&self, c: &Challenge) -> String {
        let mac = self
            .challenge_mac(c.user.as_str(), &c.id, c.expires)
            .finalize()
            .into_bytes();
        format!("{}.{}.{}.{}", c.user, c.id, c.expires, B64.encode(mac))
    }

    /// The challenge `raw` names, if this shop made it and it has not expired at `now`. Whether it
    /// is still open (unused) is for the account item to say.
    pub fn parse_challenge(&self, raw: &str, now: u64) -> Option<Challenge> {
        let mut parts = raw.trim().split('.');
        let (user, id, expires, mac) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() || parse_ulid(user).is_none() || parse_ulid(id).is_none() {
            return None;
        }
        let expires: u64 = expires.parse().ok()?;
        self.challenge_mac(user, id, expires)
            .verify_slice(&B64.decode(mac).ok()?)
            .ok()?;
        (now < expires).then(|| Challenge {
            user: UserId::from_trusted(user),
            id: id.to_string(),
            expires,
        })
    }
}

/// The secret an authenticator app shares with the shop (160 bits, as RFC 4226 recommends).
#[derive(Clone, PartialEq, Eq)]
pub struct TotpSecret([u8; 20]);

impl std::fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpSecret(..)")
    }
}

/// The step (30-second window) `now` falls in.
pub fn step_at(now: u64) -> u64 {
    now / STEP_SECS
}

impl TotpSecret {
    pub fn generate() -> Self {
        TotpSecret(random())
    }

    /// From its base32 form (as typed into an app or kept in `scripts/local-env.sh`): case,
    /// spaces and padding are forgiven.
    pub fn from_base32(text: &str) -> Option<Self> {
        let clean: String = text
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '=')
            .map(|c| c.to_ascii_uppercase())
            .collect();
        Some(TotpSecret(
            BASE32_NOPAD
                .decode(clean.as_bytes())
                .ok()?
                .try_into()
                .ok()?,
        ))
    }

    pub fn base32(&self) -> String {
        BASE32_NOPAD.encode(&self.0)
    }

    /// The 6-digit code of `step` (RFC 4226's dynamic truncation).
    pub fn code_at(&self, step: u64) -> String {
        let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, &self.0);
        let mac = ring::hmac::sign(&key, &step.to_be_bytes());
        let h = mac.as_ref();
        let offset = usize::from(h[19] & 0x0f);
        let bin = u32::from_be_bytes([
            h[offset] & 0x7f,
            h[offset + 1],
            h[offset + 2],
            h[offset + 3],
        ]);
        format!("{:06}", bin % 1_000_000)
    }

    /// The step whose code `code` is, within [`DRIFT_STEPS`] of `now` and later than `used` (the
    /// step of the last code accepted: a code is good once). Compared in constant time.
    pub fn accepts(&self, code: &TotpCode, now: u64, used: Option<u64>) -> Option<u64> {
        let now = step_at(now);
        (now.saturating_sub(DRIFT_STEPS)..=now + DRIFT_STEPS)
            .filter(|step| used.is_none_or(|u| *step > u))
            .find(|step| bool::from(self.code_at(*step).as_bytes().ct_eq(code.0.as_bytes())))
    }

    /// The `otpauth://` URI an authenticator app reads (from the QR code) for `account`.
    pub fn uri(&self, account: &str) -> String {
        let enc = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        format!(
            "otpauth://totp/{}:{}?secret={}&issuer={}&algorithm=SHA1&digits=6&period={STEP_SECS}",
            enc(ISSUER),
            enc(account).replace('+', "%20"),
            self.base32(),
            enc(ISSUER),
        )
    }
}

/// A 6-digit code as typed (spaces forgiven).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TotpCode(String);

/// A recovery code as typed: `xxxxx-xxxxx` from a 32-letter alphabet (50 bits), case, dashes and
/// spaces forgiven.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecoveryCode(String);

const RECOVERY_ALPHABET: &[u8; 32] = b"abcdefghjkmnpqrstuvwxyz234567890";

impl RecoveryCode {
    pub fn generate() -> Self {
        let bytes = random::<10>();
        RecoveryCode(
            bytes
                .iter()
                .map(|b| char::from(RECOVERY_ALPHABET[usize::from(b % 32)]))
                .collect(),
        )
    }

    /// As shown to the owner, once.
    pub fn display(&self) -> String {
        format!("{}-{}", &self.0[..5], &self.0[5..])
    }
}

/// What was typed at the code step: a current code from the app, or a recovery code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecondFactor {
    Totp(TotpCode),
    Recovery(RecoveryCode),
}

impl SecondFactor {
    /// Six digits are a TOTP code, ten letters a recovery code; anything else is nothing.
    pub fn parse(raw: &str) -> Option<Self> {
        let clean: String = raw
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .map(|c| c.to_ascii_lowercase())
            .collect();
        if clean.len() == 6 && clean.bytes().all(|b| b.is_ascii_digit()) {
            Some(SecondFactor::Totp(TotpCode(clean)))
        } else if clean.len() == 10 && clean.bytes().all(|b| RECOVERY_ALPHABET.contains(&b)) {
            Some(SecondFactor::Recovery(RecoveryCode(clean)))
        } else {
            None
        }
    }
}

/// The open password step of a sign-in: which account, which challenge, until when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    pub user: UserId,
    pub id: String,
    pub expires: u64,
}

impl Challenge {
    pub fn new(user: &UserId, now: u64) -> Self {
        Challenge {
            user: user.clone(),
            id: ulid::Ulid::new().to_string(),
            expires: now + CHALLENGE_TTL_SECS,
        }
    }
}

/// `text` as a QR code, drawn as an SVG of dark squares on white (4 modules of quiet zone).
pub fn qr_svg(text: &str) -> String {
    use qrcodegen::{QrCode, QrCodeEcc};
    let qr = QrCode::encode_text(text, QrCodeEcc::Medium).expect("an otpauth URI fits a QR code");
    let (size, border) = (qr.size(), 4);
    let mut path = String::new();
    for y in 0..size {
        for x in 0..size {
            if qr.get_module(x, y) {
                path.push_str(&format!("M{},{}h1v1h-1z", x + border, y + border));
            }
        }
    }
    let dim = size + 2 * border;
    format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {dim} {dim}" width="{px}" height="{px}" shape-rendering="crispEdges" role="img" aria-label="QR code for your authenticator app"><rect width="100%" height="100%" fill="#fff"/><path d="{path}" fill="#000"/></svg>"##,
        px = dim * 6
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B's SHA-1 vectors (its 8-digit codes, of which ours are the last 6).
    #[test]
    fn codes_match_rfc_6238() {
        let secret = TotpSecret(*b"12345678901234567890");
        for (time, code) in [
            (59, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ] {
            assert_eq!(secret.code_at(step_at(time)), code[2..], "at {time}");
        }
    }

    #[test]
    fn a_code_is_good_within_one_step_of_drift_and_only_once() {
        let secret = TotpSecret::generate();
        let now = 1_800_000_015;
        let code = |step: u64| TotpCode(secret.code_at(step));
        let at = step_at(now);
        assert_eq!(secret.accepts(&code(at), now, None), Some(at));
        assert_eq!(secret.accepts(&code(at - 1), now, None), Some(at - 1));
        assert_eq!(secret.accepts(&code(at + 1), now, None), Some(at + 1));
        assert_eq!(secret.accepts(&code(at - 2), now, None), None, "too old");
        assert_eq!(secret.accepts(&code(at + 2), now, None), None, "too new");
        assert_eq!(secret.accepts(&code(at), now, Some(at)), None, "replayed");
        assert_eq!(
            secret.accepts(&code(at - 1), now, Some(at)),
            None,
            "older than the last"
        );
        assert_eq!(secret.accepts(&code(at + 1), now, Some(at)), Some(at + 1));
    }

    #[test]
    fn the_secret_reads_back_from_base32_and_its_uri() {
        let secret = TotpSecret::generate();
        let text = secret.base32();
        assert_eq!(text.len(), 32);
        let spaced = text
            .to_lowercase()
            .as_bytes()
            .chunks(4)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect::<Vec<_>>()
            .join(" ");
        assert_eq!(TotpSecret::from_base32(&spaced), Some(secret.clone()));
        assert_eq!(TotpSecret::from_base32("not base32!"), None);
        assert_eq!(TotpSecret::from_base32("MFRGG"), None, "too short");
        let uri = secret.uri("ada+shop@example.com");
        assert!(
            uri.starts_with("otpauth://totp/Shop:ada%2Bshop%40example.com?secret="),
            "{uri}"
        );
        assert!(uri.contains(&format!(
            "secret={text}&issuer=Shop&algorithm=SHA1&digits=6&period=30"
        )));
        let svg = qr_svg(&uri);
        assert!(
            svg.starts_with("<svg") && svg.contains("<path d=\"M"),
            "{svg}"
        );
    }

    #[test]
    fn a_sealed_secret_opens_for_its_account_only() {
        let keys = MfaKeys::new(&[7; 32]);
        let (ada, bob) = (
            UserId::from_trusted("01JD000000000000000000000A"),
            UserId::from_trusted("01JD000000000000000000000B"),
        );
        let secret = TotpSecret::generate();
        let sealed = keys.seal(&ada, &secret);
        assert!(!sealed.contains(&secret.base32()));
        assert_ne!(sealed, keys.seal(&ada, &secret), "a fresh nonce each time");
        assert_eq!(keys.open(&ada, &sealed), Some(secret.clone()));
        assert_eq!(keys.open(&bob, &sealed), None, "moved to another account");
        assert_eq!(
            MfaKeys::new(&[8; 32]).open(&ada, &sealed),
            None,
            "another shop"
        );
        let mut tampered = B64.decode(&sealed).unwrap();
        tampered[15] ^= 1;
        assert_eq!(keys.open(&ada, &B64.encode(tampered)), None);
        assert_eq!(keys.open(&ada, "short"), None);
    }

    #[test]
    fn recovery_codes_are_random_typed_loosely_and_stored_as_account_bound_macs() {
        let keys = MfaKeys::new(&[7; 32]);
        let code = RecoveryCode::generate();
        assert_ne!(code, RecoveryCode::generate());
        let shown = code.display();
        assert_eq!(shown.len(), 11);
        let typed = format!(" {} ", shown.to_uppercase());
        assert_eq!(
            SecondFactor::parse(&typed),
            Some(SecondFactor::Recovery(code.clone()))
        );
        assert_eq!(
            SecondFactor::parse("123 456"),
            Some(SecondFactor::Totp(TotpCode("123456".into())))
        );
        for junk in ["", "12345", "1234567", "abcde", "abcdefghi!", "iiiiiiiiii"] {
            assert_eq!(SecondFactor::parse(junk), None, "{junk}");
        }
        let ada = UserId::from_trusted("01JD000000000000000000000A");
        let bob = UserId::from_trusted("01JD000000000000000000000B");
        let hash = keys.recovery_hash(&ada, &code);
        assert!(!hash.contains(&code.0));
        assert_ne!(hash, keys.recovery_hash(&bob, &code));
    }

    #[test]
    fn a_challenge_token_is_the_shops_for_one_account_until_it_expires() {
        let keys = MfaKeys::new(&[7; 32]);
        let ada = UserId::from_trusted("01JD000000000000000000000A");
        let now = 1_800_000_000;
        let c = Challenge::new(&ada, now);
        let token = keys.challenge_token(&c);
        assert_eq!(keys.parse_challenge(&token, now + 10), Some(c.clone()));
        assert_eq!(keys.parse_challenge(&token, c.expires), None, "expired");
        assert_eq!(MfaKeys::new(&[8; 32]).parse_challenge(&token, now), None);
        let moved = token.replace(ada.as_str(), "01JD000000000000000000000B");
        assert_eq!(keys.parse_challenge(&moved, now), None, "another account");
        let later = token.replace(
            &format!(".{}.", c.expires),
            &format!(".{}.", c.expires + 600),
        );
        assert_eq!(
            keys.parse_challenge(&later, now),
            None,
            "its expiry is MACed"
        );
        for junk in ["", "a.b.c.d", &format!("{token}.x")] {
            assert_eq!(keys.parse_challenge(junk, now), None, "{junk}");
        }
    }
}
