//! Authentication: passwords (argon2id), access tokens (HS256) and the principal every protected
//! endpoint establishes. Used by the domains; knows none of them.

pub mod account;
pub mod device;
pub mod mfa;
pub mod password;
pub mod principal;
pub mod session;
pub mod token;
pub mod totp;

pub use account::{Accounts, REVOKED_TOKENS, account_key};
pub use password::{hash_password, verify_password};
pub use principal::{
    Principal, authenticate, authenticate_account, authenticate_batch,
    authenticate_even_if_blocked, authenticate_with, revoke, unblocked,
};
pub use session::TokenPair;
pub use token::{Claims, JwtKeys};
