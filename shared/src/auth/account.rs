//! The account item as authentication sees it: its key, the attributes every request reads, and one
//! typed view of them. The principal (who is calling) and the sessions (sign-in, refresh) both use
//! it; the users store builds its items with the same key.

use aws_sdk_dynamodb::{Client, types::AttributeValue};

use super::token::JwtKeys;
use crate::{
    error::ApiError,
    platform::db::{self, Item},
    types::Role,
};

/// What authentication needs of the application: the token keys and the accounts table.
/// `App` provides it; auth never depends on the application that uses it.
pub trait Accounts {
    fn jwt(&self) -> &JwtKeys;
    fn dynamo(&self) -> &Client;
    fn users_table(&self) -> &str;
}

/// An account item's partition key prefix (the outbox's stream filter matches it).
pub const ACCOUNT_PREFIX: &str = "USER#";
pub fn account_pk(id: &str) -> String {
    format!("{ACCOUNT_PREFIX}{id}")
}
pub const ACCOUNT_SK: &str = "PROFILE";
pub fn account_key(id: &str) -> Item {
    db::key(account_pk(id), ACCOUNT_SK)
}
/// The account's current role attribute.
pub const ROLE: &str = "role";
/// Whether the account's owner has shown the email is theirs (a link opened).
pub const EMAIL_VERIFIED: &str = "email_verified";
/// Set when the account signed in with a password today's rules refuse (a common one, say): until
/// it sets a new password, that is all it may do. Removed by every path that sets a password.
pub const PASSWORD_CHANGE_REQUIRED: &str = "password_change_required";

/// Two-factor sign-in is on: the account holds a confirmed authenticator secret ([`TOTP_SECRET`]).
pub const MFA_ENABLED: &str = "mfa_enabled";
/// The authenticator secret, sealed (`auth::totp::MfaKeys::seal`); set with [`MFA_ENABLED`].
pub const TOTP_SECRET: &str = "totp_secret";
/// A secret handed out for enrolment and not yet confirmed with a code.
pub const TOTP_PENDING: &str = "totp_pending";
/// The step of the last code accepted: no code of it or before is accepted again.
pub const TOTP_LAST_STEP: &str = "totp_last_step";
/// The unused recovery codes' MACs (a string set).
pub const RECOVERY_CODES: &str = "recovery_codes";
/// Sign-ins past their password and waiting for their code: challenge id -> expiry.
pub const MFA_CHALLENGES: &str = "mfa_challenges";

/// An admin has disabled the account: it cannot sign in, and its sessions were ended when it was.
pub const DISABLED: &str = "disabled";

/// What the owner of a disabled account gets from a sign-in with the right password (a wrong one
/// gets the usual answer, so nobody else learns the account is disabled).
pub fn account_disabled() -> ApiError {
    ApiError::Blocked {
        code: "account_disabled",
        message: "this account has been disabled; contact the shop",
    }
}

/// What an account flagged [`PASSWORD_CHANGE_REQUIRED`] gets from everything else.
pub fn password_change_required() -> ApiError {
    ApiError::Blocked {
        code: PASSWORD_CHANGE_REQUIRED,
        message: "your password is too easy to guess: set a new one (PUT /users/me with current_password and password) before anything else",
    }
}

/// Tokens revoked by logout, kept on the account item as `jti -> exp`, so checking a token is part
/// of the one read that also proves the account exists and gives its current role.
pub const REVOKED_TOKENS: &str = "revoked_tokens";

/// The attributes of an account item that authentication reads, typed.
#[derive(Debug, Clone, Copy)]
pub struct AccountView<'a>(pub &'a Item);

impl AccountView<'_> {
    /// The current role; `None` for an item without a known one (never granted anything).
    pub fn role(&self) -> Option<Role> {
        let role = db::str_attr(self.0, ROLE)?;
        serde_json::from_value(serde_json::Value::String(role.to_string())).ok()
    }

    pub fn email_verified(&self) -> bool {
        matches!(self.0.get(EMAIL_VERIFIED), Some(AttributeValue::Bool(true)))
    }

    pub fn password_change_required(&self) -> bool {
        matches!(
            self.0.get(PASSWORD_CHANGE_REQUIRED),
            Some(AttributeValue::Bool(true))
        )
    }

    pub fn mfa_enabled(&self) -> bool {
        matches!(self.0.get(MFA_ENABLED), Some(AttributeValue::Bool(true)))
    }

    pub fn disabled(&self) -> bool {
        matches!(self.0.get(DISABLED), Some(AttributeValue::Bool(true)))
    }

    /// Whether the access token `jti` was revoked by a logout.
    pub fn revoked(&self, jti: &str) -> bool {
        self.0
            .get(REVOKED_TOKENS)
            .and_then(|v| v.as_m().ok())
            .is_some_and(|m| m.contains_key(jti))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_view_reads_role_verification_and_revocations() {
        let mut item = account_key("01JD0000000000000000000000");
        let view = AccountView(&item);
        assert_eq!(
            (view.role(), view.email_verified(), view.revoked("j1")),
            (None, false, false)
        );
        item.insert(ROLE.into(), db::s("admin"));
        item.insert(EMAIL_VERIFIED.into(), AttributeValue::Bool(true));
        item.insert(
            REVOKED_TOKENS.into(),
            AttributeValue::M([("j1".to_string(), db::n(1u64))].into()),
        );
        let view = AccountView(&item);
        assert_eq!(
            (
                view.role(),
                view.email_verified(),
                view.revoked("j1"),
                view.revoked("j2")
            ),
            (Some(Role::Admin), true, true, false)
        );
        item.insert(ROLE.into(), db::s("root"));
        assert_eq!(
            AccountView(&item).role(),
            None,
            "an unknown role grants nothing"
        );
    }
}
