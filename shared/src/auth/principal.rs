//! Who is calling: verify the bearer token, then in ONE strongly consistent read of the account
//! check that it still exists, that this token was not revoked, and what the account's role is now.
//! Also revocation (logout), which writes to that same account item.

use aws_sdk_dynamodb::types::AttributeValue;
use lambda_http::Request;

use super::{
    account::{AccountView, Accounts, REVOKED_TOKENS, account_key, password_change_required},
    token::{Claims, INVALID_TOKEN},
};
use crate::{
    error::{ApiError, ApiResult},
    platform::{
        db::{self, BatchGet, Fetched, Item, UpdateExpr},
        http::{bearer_token, record_user},
    },
    types::{Role, UserId, now_epoch_secs},
};

/// The caller of a protected endpoint, established from a valid, unrevoked token.
#[derive(Debug, Clone)]
pub struct Principal {
    pub user_id: UserId,
    pub role: Role,
    pub jti: String,
    pub exp: u64,
    /// The session the token belongs to.
    pub sid: String,
    /// From the same account read: the owner has verified the email (card payments need it).
    pub email_verified: bool,
    /// From the same read: two-factor sign-in is on (admin routes need it).
    pub mfa_enabled: bool,
}

impl Principal {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    /// Whether the caller acts with an admin's powers (on other people's orders, say): an admin
    /// account with two-factor sign-in on. An admin without it is refused until it enrols.
    pub fn acts_as_admin(&self) -> ApiResult<bool> {
        match (self.is_admin(), self.mfa_enabled) {
            (true, true) => Ok(true),
            (true, false) => Err(super::mfa::enrollment_required()),
            (false, _) => Ok(false),
        }
    }

    /// An admin account with two-factor sign-in on; an admin without it may only enrol.
    pub fn require_admin(&self) -> ApiResult<()> {
        match self.acts_as_admin()? {
            true => Ok(()),
            false => Err(ApiError::NotAllowed("this action needs an admin account")),
        }
    }
}

// Authentication reads the whole user item, not a projection of the role and this token's entry:
// it costs the same read capacity (the item is far below 4 KB), and DynamoDB Local spends more on
// parsing a projection than on returning the item, which the benchmark measured (~0.1 ms a read).

/// Verifies the bearer token, then in ONE strongly consistent GetItem of the user checks that the
/// account still exists and the token was not revoked (logout). The role comes from the user item,
/// so a demoted admin or a deleted account loses access on the very next request.
pub async fn authenticate(app: &impl Accounts, req: &Request) -> ApiResult<Principal> {
    let claims = verified_claims(app, req)?;
    let item = read_user(app, &claims).await?;
    principal(claims, item.as_ref())
}

/// Like `authenticate`, returning the caller's whole user item from that same read: endpoints
/// about the caller's own account need no second lookup.
pub async fn authenticate_account(
    app: &impl Accounts,
    req: &Request,
) -> ApiResult<(Principal, Item)> {
    let (who, item) = authenticate_even_if_blocked(app, req).await?;
    unblocked(&item)?;
    Ok((who, item))
}

/// `authenticate_account` for the few things an account that must set a new password may still
/// do: set it, and sign out. The caller checks the item's flag for anything else it does.
pub async fn authenticate_even_if_blocked(
    app: &impl Accounts,
    req: &Request,
) -> ApiResult<(Principal, Item)> {
    let claims = verified_claims(app, req)?;
    let item = read_user(app, &claims).await?;
    let who = signed_in(claims, item.as_ref())?;
    Ok((who, item.unwrap_or_default()))
}

/// Authenticates while `read` runs. The token's signature and claims are checked first (locally, no
/// I/O); then the account lookup and the endpoint's own read go to DynamoDB at the same time, so
/// authentication adds no round trip to the request. `read` is given the token's user id; what it
/// read is only used once the caller is known to be authentic.
pub async fn authenticate_with<T, F, Fut>(
    app: &impl Accounts,
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
    app: &impl Accounts,
    req: &Request,
    reads: F,
) -> ApiResult<(Principal, Fetched)>
where
    F: FnOnce(&UserId) -> BatchGet,
{
    let claims = verified_claims(app, req)?;
    let user = UserId::from_trusted(claims.sub.clone());
    let table = app.users_table();
    let key = account_key(&claims.sub);
    let mut fetched = reads(&user)
        .get(table, key.clone(), true)
        .send(app.dynamo())
        .await?;
    let item = fetched.take(table, &key);
    Ok((principal(claims, item.as_ref())?, fetched))
}

fn verified_claims(app: &impl Accounts, req: &Request) -> ApiResult<Claims> {
    let token = bearer_token(req).ok_or(ApiError::Unauthenticated(INVALID_TOKEN))?;
    app.jwt().verify(token)
}

/// The token's user item, strongly consistent (a logout or demotion must count at once).
async fn read_user(app: &impl Accounts, claims: &Claims) -> ApiResult<Option<Item>> {
    db::get_item(
        app.dynamo(),
        app.users_table(),
        account_key(&claims.sub),
        true,
    )
    .await
}

/// The caller, when the account may act: it is signed in and not held to set a new password first.
fn principal(claims: Claims, user: Option<&Item>) -> ApiResult<Principal> {
    let who = signed_in(claims, user)?;
    if let Some(account) = user {
        unblocked(account)?;
    }
    Ok(who)
}

/// Refuses an account that must set a new password before anything else.
pub fn unblocked(account: &Item) -> ApiResult<()> {
    if AccountView(account).password_change_required() {
        return Err(password_change_required());
    }
    Ok(())
}

/// The caller of a valid token of a live session of an existing account.
fn signed_in(claims: Claims, user: Option<&Item>) -> ApiResult<Principal> {
    let account = AccountView(user.ok_or(ApiError::Unauthenticated(INVALID_TOKEN))?);
    // A revoked token, or one whose session was ended (logout, logout-all, password change,
    // refresh-token reuse) or has expired.
    if account.revoked(&claims.jti)
        || !super::session::is_live(account.0, &claims.sid, now_epoch_secs())
    {
        return Err(ApiError::Unauthenticated(INVALID_TOKEN));
    }
    let role = account
        .role()
        .ok_or(ApiError::Unauthenticated(INVALID_TOKEN))?;
    record_user(&claims.sub);
    Ok(Principal {
        user_id: UserId::from_trusted(claims.sub),
        role,
        jti: claims.jti,
        exp: claims.exp,
        sid: claims.sid,
        email_verified: account.email_verified(),
        mfa_enabled: account.mfa_enabled(),
    })
}

/// Most expired entries one logout clears, keeping the update expression small.
const PRUNE_PER_LOGOUT: usize = 50;

/// Revokes the caller's token until it would have expired anyway, and drops entries of `revoked`
/// (the user's current list) that have expired since.
pub async fn revoke(app: &impl Accounts, who: &Principal, revoked: &Item) -> ApiResult<()> {
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
    let key = || account_key(who.user_id.as_str());
    for _ in 0..3 {
        // Usual case: the map exists (every account is created with one); add to it in place.
        let mut add = UpdateExpr::new();
        add.set_path(&[REVOKED_TOKENS, &who.jti], db::n(who.exp));
        for jti in &expired {
            add.remove_path(&[REVOKED_TOKENS, jti]);
        }
        let map = add.name(REVOKED_TOKENS);
        add.condition(format!("attribute_exists({map})"));
        let sent = add
            .update_item(app.dynamo(), app.users_table(), key())
            .send();
        if db::applied(sent.await)? {
            return Ok(());
        }
        // An account stored without the map: create it, unless someone else just did.
        let mut create = UpdateExpr::new();
        create.set(
            REVOKED_TOKENS,
            AttributeValue::M([(who.jti.clone(), db::n(who.exp))].into()),
        );
        let map = create.name(REVOKED_TOKENS);
        create
            .condition(db::exists())
            .condition(format!("attribute_not_exists({map})"));
        let sent = create
            .update_item(app.dynamo(), app.users_table(), key())
            .send();
        if db::applied(sent.await)? {
            return Ok(());
        }
    }
    // Neither the map nor the account exists: the account was deleted meanwhile.
    Err(ApiError::Unauthenticated(INVALID_TOKEN))
}
