//! Users in DynamoDB: the account item (keyed by auth, which reads it on every request), the guard
//! item that keeps emails unique, and the failed-login counter (expires by TTL).

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use serde::Serialize;
use serde_dynamo::{to_attribute_value, to_item};

use super::{
    links::{LinkRecord, Purpose},
    model::{Claim, Email, FAILURE_WINDOW_SECS, Name, ProfileUpdate, UserView},
};
use crate::{
    app::App,
    audit,
    auth::{self, REVOKED_TOKENS, account_key},
    error::{ApiError, ApiResult},
    platform::{
        config::{TableId, env},
        db::{
            self, Gsi, Item, PK, Page, PageQuery, PageRequest, TTL_ATTR, TableDef, Tx, TxError,
            UpdateExpr, n, s,
        },
    },
    types::{Role, Timestamp, UserId, now_epoch_secs},
};

/// Accounts (with their revoked tokens), email guards and login-attempt counters (expire by TTL).
pub const TABLE: TableDef = TableDef {
    id: TableId::Users,
    env: env::USERS_TABLE,
    gsis: &[BY_EMAIL],
    ttl: true,
    stream: true,
};

pub const PASSWORD_HASH: &str = "password_hash";
const FAILURES: &str = "failures";
const LAST_FAILURE: &str = "last_failure";
const HELD_BACK: &str = "held_back";
const GUARD_USER_ID: &str = "user_id";

/// Every account's email guard in email order: the admin's customer search by prefix.
pub const BY_EMAIL: Gsi = Gsi::first("by_email");
/// The `by_email` partition: one, as accounts are made far more slowly than it can take.
const EMAILS: &str = "EMAILS";

/// Guard item that makes an email unique (written in the same transaction as the user).
fn email_key(email: &Email) -> Item {
    db::key(format!("EMAIL#{email}"), "EMAIL")
}

/// The guard as written: its key, the account it names and its `by_email` place.
fn email_guard(email: &Email, user: &UserId) -> Item {
    let mut guard = email_key(email);
    guard.insert(GUARD_USER_ID.into(), s(user.as_str()));
    guard.insert(BY_EMAIL.pk.into(), s(EMAILS));
    guard.insert(BY_EMAIL.sk.into(), s(email.to_string()));
    guard
}

/// The accounts whose email starts with `prefix` (lower case, as emails are kept), in email
/// order, a page at a time: each as its whole item.
pub async fn search_accounts(app: &App, prefix: &str, page: &PageRequest) -> ApiResult<Page<Item>> {
    #[derive(serde::Deserialize)]
    struct Guard {
        user_id: UserId,
    }
    let guards: Page<Guard> = db::query_page(
        &app.dynamo,
        &app.cursors,
        PageQuery {
            table: table(app),
            index: Some(&BY_EMAIL),
            partition: EMAILS.into(),
            prefix: Some(prefix.to_string()),
            descending: false,
        },
        page,
    )
    .await?;
    let mut batch = db::BatchGet::default();
    for g in &guards.items {
        batch = batch.get(table(app), account_key(g.user_id.as_str()), false);
    }
    let mut found: std::collections::HashMap<String, Item> = if guards.items.is_empty() {
        Default::default()
    } else {
        batch
            .send(&app.dynamo)
            .await?
            .take_all(table(app))
            .into_iter()
            .filter_map(|i| Some((db::str_attr(&i, "id")?.to_string(), i)))
            .collect()
    };
    Ok(Page {
        items: guards
            .items
            .iter()
            .filter_map(|g| found.remove(g.user_id.as_str()))
            .collect(),
        next_cursor: guards.next_cursor,
    })
}

/// Disables (ending every session in the same write) or re-enables a customer's account, with
/// the admin's audit entry; `false` when there is no such customer (admin accounts are not
/// changed here).
pub async fn set_disabled(
    app: &App,
    id: &UserId,
    disabled: bool,
    audit: &audit::Entry,
) -> ApiResult<bool> {
    let mut u = UpdateExpr::new();
    u.set(auth::account::DISABLED, AttributeValue::Bool(disabled));
    if disabled {
        u.set(
            auth::session::SESSIONS,
            AttributeValue::M(Default::default()),
        );
    }
    let role = u.name(auth::account::ROLE);
    let customer = u.value(to_attribute_value(Role::Customer)?);
    u.condition(db::exists())
        .condition(format!("{role} = {customer}"));
    let tx = Tx::new()
        .update("account", u.tx_item(table(app), account_key(id.as_str()))?)
        .put("audit", audit::store::record(app, audit)?);
    match tx.send(&app.dynamo).await {
        Ok(()) => Ok(true),
        Err(TxError::Cancelled(r)) if r.failed("account") => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Places every email guard in the `by_email` index (idempotent): for accounts made before it.
/// A dev-tool backfill (it scans the guards), never on a request path.
pub async fn backfill_email_index(app: &App) -> ApiResult<usize> {
    let mut start = None;
    let mut placed = 0;
    loop {
        let page = app
            .dynamo
            .scan()
            .table_name(table(app))
            .filter_expression("begins_with(pk, :p) AND attribute_not_exists(gsi1pk)")
            .expression_attribute_values(":p", s("EMAIL#"))
            .set_exclusive_start_key(start)
            .send()
            .await?;
        for item in page.items.unwrap_or_default() {
            let (Some(pk), Some(user)) =
                (db::str_attr(&item, PK), db::str_attr(&item, GUARD_USER_ID))
            else {
                continue;
            };
            let Ok(email) = Email::parse(pk.trim_start_matches("EMAIL#")) else {
                continue;
            };
            db::put(
                &app.dynamo,
                table(app),
                email_guard(&email, &UserId::from_trusted(user)),
            )
            .await?;
            placed += 1;
        }
        match page.last_evaluated_key {
            Some(k) if !k.is_empty() => start = Some(k),
            _ => return Ok(placed),
        }
    }
}

/// A user as written: the public view plus the hash. Reads decode `UserView` straight from the item.
#[derive(Serialize)]
struct UserRecord<'a> {
    #[serde(flatten)]
    view: &'a UserView,
    password_hash: &'a str,
}

/// A stored account: what the caller may see, and the hash that only login and password changes read.
pub struct Account {
    pub view: UserView,
    pub password_hash: String,
    /// The account item as read (its sessions, open sign-in steps and two-factor state), for
    /// opening or ending sessions and checking a second factor.
    pub item: Item,
}

impl Account {
    pub fn from_item(item: Item) -> ApiResult<Self> {
        let password_hash = db::str_attr(&item, PASSWORD_HASH)
            .unwrap_or_default()
            .to_string();
        Ok(Account {
            view: crate::db::decode(item.clone())?,
            password_hash,
            item,
        })
    }
}

/// The account item of `id`, strongly consistent; `None` when the account is gone.
pub async fn load_account(app: &App, id: &UserId) -> ApiResult<Option<Account>> {
    db::get_item(&app.dynamo, table(app), account_key(id.as_str()), true)
        .await?
        .map(Account::from_item)
        .transpose()
}

fn table(app: &App) -> &str {
    &app.config.tables.users
}

/// Creates a user and its email guard in one transaction; a taken email is a 409.
pub async fn create_user(
    app: &App,
    email: Email,
    name: Name,
    password_hash: String,
    role: Role,
) -> ApiResult<UserView> {
    let now = Timestamp::now();
    let view = UserView {
        id: UserId::new(),
        email,
        name,
        role,
        address: None,
        // An operator creates admins: their address needs no proof.
        email_verified: role == Role::Admin,
        mfa_enabled: false,
        created_at: now,
        updated_at: now,
    };
    let mut item: Item = to_item(UserRecord {
        view: &view,
        password_hash: &password_hash,
    })?;
    item.extend(account_key(view.id.as_str()));
    // Created with empty revocation and session maps, so logout and sign-in add to them in place.
    item.insert(REVOKED_TOKENS.into(), AttributeValue::M(Default::default()));
    item.insert(
        auth::session::SESSIONS.into(),
        AttributeValue::M(Default::default()),
    );
    let guard = email_guard(&view.email, &view.id);
    let mut tx = Tx::new()
        .put("user", db::put_new(table(app), item)?)
        .put("email_guard", db::put_new(table(app), guard)?);
    if !view.email_verified {
        // Its stream record becomes the email with the verification link.
        let link = LinkRecord::new(Purpose::Verify, Some(view.id.clone()), now_epoch_secs());
        tx = tx.put(
            "verification",
            db::put_new(table(app), link_item(Purpose::Verify, &link)?)?,
        );
    }
    match tx.send(&app.dynamo).await {
        Ok(()) => Ok(view),
        Err(TxError::Cancelled(r)) if r.failed("email_guard") => Err(ApiError::conflict(
            "email_taken",
            "an account with this email already exists",
        )),
        Err(e) => Err(e.into()),
    }
}

/// An account's profile; `None` when the account is gone.
pub async fn load_user(
    app: &App,
    id: &UserId,
    read: db::Consistency,
) -> ApiResult<Option<UserView>> {
    db::get(
        &app.dynamo,
        &app.config.tables.users,
        account_key(id.as_str()),
        read.is_strong(),
    )
    .await
}

/// The email of each of `ids` whose account still exists (100 accounts per round trip).
pub async fn emails_of(
    app: &App,
    ids: &[UserId],
) -> ApiResult<std::collections::HashMap<UserId, Email>> {
    let mut found = std::collections::HashMap::new();
    for chunk in ids.chunks(db::BATCH_GET_MAX_KEYS) {
        let mut batch = db::BatchGet::default();
        for id in chunk {
            batch = batch.get(table(app), account_key(id.as_str()), false);
        }
        for item in batch.send(&app.dynamo).await?.take_all(table(app)) {
            let user: UserView = crate::db::decode(item)?;
            found.insert(user.id, user.email);
        }
    }
    Ok(found)
}

/// The account registered under `email`, if any (guard read, then the account).
pub async fn find_by_email(app: &App, email: &Email) -> ApiResult<Option<Account>> {
    let Some(id) = account_id_by_email(app, email).await? else {
        return Ok(None);
    };
    // Strongly consistent: a sign-in right after enrolling a second factor or changing the password
    // must see that change, not a replica from before it.
    db::get_item(&app.dynamo, table(app), account_key(id.as_str()), true)
        .await?
        .map(Account::from_item)
        .transpose()
}

/// The id of the account that holds `email`, from its guard item alone (one read, whether or not
/// an account holds it).
pub async fn account_id_by_email(app: &App, email: &Email) -> ApiResult<Option<UserId>> {
    let guard = db::get_item(&app.dynamo, table(app), email_key(email), false).await?;
    Ok(guard
        .as_ref()
        .and_then(|g| db::str_attr(g, GUARD_USER_ID))
        .map(UserId::from_trusted))
}

/// What a failure counter says: how many failures in its window, and when the last one was.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Failures {
    pub count: u64,
    pub last: u64,
    /// Attempts refused for now, counted only towards the owner's alert.
    pub held_back: u64,
    /// The counter exists and its window has not ended (else the counts are zero).
    pub live: bool,
}

/// The counters one password check consults and feeds, keyed by what they count.
#[derive(Clone, Copy)]
pub enum Scope<'a> {
    /// One account from one client address.
    AccountAtAddress(&'a Email, &'a str),
    /// One client address, whatever the account.
    Address(&'a str),
    /// One account, whatever the address (only for the owner's alert).
    Account(&'a Email),
}

fn failures_key(scope: Scope) -> Item {
    let pk = match scope {
        Scope::AccountAtAddress(email, addr) => format!("FAILURES#{email}#{addr}"),
        Scope::Address(addr) => format!("FAILURES#ADDR#{addr}"),
        Scope::Account(email) => format!("FAILURES#ACCOUNT#{email}"),
    };
    db::key(pk, "FAILURES")
}

/// The counter of `scope` now (an expired one that TTL has not swept yet counts as none).
pub async fn failures(app: &App, scope: Scope<'_>) -> ApiResult<Failures> {
    let item = db::get_item(&app.dynamo, table(app), failures_key(scope), true).await?;
    let now = now_epoch_secs();
    Ok(item
        .filter(|i| db::num::<u64>(i, TTL_ATTR).is_some_and(|t| t > now))
        .map(|i| Failures {
            count: db::num(&i, FAILURES).unwrap_or(0),
            last: db::num(&i, LAST_FAILURE).unwrap_or(0),
            held_back: db::num(&i, HELD_BACK).unwrap_or(0),
            live: true,
        })
        .unwrap_or_default())
}

/// Counts one failure in `scope` and returns the new count. One conditional ADD, so failures
/// from concurrent Lambda instances are all counted; the window (TTL) starts at the first.
pub async fn count_failure(app: &App, scope: Scope<'_>) -> ApiResult<u64> {
    let now = now_epoch_secs();
    let mut count = UpdateExpr::new();
    count
        .add(FAILURES, n(1))
        .set(LAST_FAILURE, n(now))
        .set_if_absent(TTL_ATTR, n(now + FAILURE_WINDOW_SECS));
    let (pk, ttl, now_v) = (count.name(PK), count.name(TTL_ATTR), count.value(n(now)));
    // An expired counter that TTL has not swept yet starts again from one.
    count.condition(format!("attribute_not_exists({pk}) OR {ttl} > {now_v}"));
    let updated = count
        .update_item(&app.dynamo, table(app), failures_key(scope))
        .return_values(ReturnValue::AllNew)
        .send()
        .await;
    match updated {
        Ok(out) => Ok(out
            .attributes
            .and_then(|a| db::num::<u64>(&a, FAILURES))
            .unwrap_or(1)),
        Err(e) if db::is_condition_failure(&e) => {
            let mut item = failures_key(scope);
            item.insert(FAILURES.into(), n(1));
            item.insert(LAST_FAILURE.into(), n(now));
            item.insert(TTL_ATTR.into(), n(now + FAILURE_WINDOW_SECS));
            db::put(&app.dynamo, table(app), item).await?;
            Ok(1)
        }
        Err(e) => Err(e.into()),
    }
}

/// Writes `claim` on `scope`'s counter as it was read (`read`), conditionally, so that no more
/// attempts get places than the claim allows however many arrive at once. The counter's new count,
/// or `None` when other attempts took the place first.
pub async fn claim_attempt(
    app: &App,
    scope: Scope<'_>,
    read: Failures,
    claim: Claim,
) -> ApiResult<Option<u64>> {
    let (at, fresh_window) = match claim {
        Claim::Free { at, .. } | Claim::Next { at, .. } => (at, !read.live),
    };
    if fresh_window {
        // The counter is absent, or its window ended and TTL has not swept it yet.
        let mut u = UpdateExpr::new();
        u.set(FAILURES, n(1))
            .set(LAST_FAILURE, n(at))
            .set(TTL_ATTR, n(at + FAILURE_WINDOW_SECS))
            .remove(HELD_BACK);
        let (pk, ttl, now) = (u.name(PK), u.name(TTL_ATTR), u.value(n(at)));
        u.condition(format!("attribute_not_exists({pk}) OR {ttl} <= {now}"));
        let sent = u
            .update_item(&app.dynamo, table(app), failures_key(scope))
            .send();
        if db::applied(sent.await)? {
            return Ok(Some(1));
        }
        // Another attempt opened the window a moment ago: claim within it.
    }
    let mut u = UpdateExpr::new();
    u.set(LAST_FAILURE, n(at));
    let (count, ttl, now) = (u.name(FAILURES), u.name(TTL_ATTR), u.value(n(at)));
    match claim {
        Claim::Free { limit, .. } => {
            u.add(FAILURES, n(1));
            let limit = u.value(n(limit));
            u.condition(format!("{ttl} > {now} AND {count} < {limit}"));
        }
        Claim::Next { from, .. } => {
            u.set(FAILURES, n(from + 1));
            let from = u.value(n(from));
            u.condition(format!("{ttl} > {now} AND {count} = {from}"));
        }
    }
    let sent = u
        .update_item(&app.dynamo, table(app), failures_key(scope))
        .return_values(ReturnValue::UpdatedNew)
        .send()
        .await;
    match sent {
        Ok(out) => Ok(out.attributes.and_then(|a| db::num::<u64>(&a, FAILURES))),
        Err(e) if db::is_condition_failure(&e) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Counts an attempt held back on `scope`'s counter (it moves no delay); returns the attempts of
/// the window so far, failed and held back.
pub async fn count_held_back(app: &App, scope: Scope<'_>) -> ApiResult<u64> {
    let now = now_epoch_secs();
    let mut u = UpdateExpr::new();
    u.add(HELD_BACK, n(1))
        .set_if_absent(TTL_ATTR, n(now + FAILURE_WINDOW_SECS));
    let out = u
        .update_item(&app.dynamo, table(app), failures_key(scope))
        .return_values(ReturnValue::AllNew)
        .send()
        .await?;
    let item = out.attributes.unwrap_or_default();
    Ok(
        db::num::<u64>(&item, FAILURES).unwrap_or(0)
            + db::num::<u64>(&item, HELD_BACK).unwrap_or(0),
    )
}

/// Gives back a claimed place once its attempt proved the password (it was no guess).
pub async fn release_attempt(app: &App, scope: Scope<'_>) -> ApiResult<()> {
    let mut u = UpdateExpr::new();
    u.add(FAILURES, n(-1));
    let (count, zero) = (u.name(FAILURES), u.value(n(0)));
    u.condition(format!("{count} > {zero}"));
    let sent = u
        .update_item(&app.dynamo, table(app), failures_key(scope))
        .send();
    db::applied(sent.await).map(drop)
}

/// Forgets the failures of `scope` (a successful sign-in from that address).
pub async fn clear_failures(app: &App, scope: Scope<'_>) -> ApiResult<()> {
    db::delete(&app.dynamo, table(app), failures_key(scope)).await
}

/// Applies a profile update (the new password already hashed) in one UpdateItem; the account
/// must still exist.
pub async fn update_profile(
    app: &App,
    id: &UserId,
    update: &ProfileUpdate,
    new_hash: Option<String>,
) -> ApiResult<UserView> {
    let mut u = UpdateExpr::new();
    u.set("updated_at", s(Timestamp::now().to_string()));
    if let Some(name) = &update.name {
        u.set("name", s(name.as_str()));
    }
    match &update.address {
        Some(Some(a)) => {
            u.set("address", to_attribute_value::<_, AttributeValue>(a)?);
        }
        Some(None) => {
            u.remove("address");
        }
        None => {}
    }
    if let Some(hash) = new_hash {
        u.set(PASSWORD_HASH, s(hash))
            .remove(auth::account::PASSWORD_CHANGE_REQUIRED);
    }
    u.condition(db::exists());
    let out = u
        .update_item(&app.dynamo, table(app), account_key(id.as_str()))
        .return_values(ReturnValue::AllNew)
        .send()
        .await
        .map_err(|e| {
            if db::is_condition_failure(&e) {
                ApiError::Unauthenticated("the account for this token no longer exists")
            } else {
                e.into()
            }
        })?;
    crate::db::decode(out.attributes.unwrap_or_default())
}

/// Hashes `password` and creates the account: registration and the dev seed.
pub async fn register(app: &App, new: super::model::NewUser, role: Role) -> ApiResult<UserView> {
    let hash = auth::hash_password(new.password).await?;
    create_user(app, new.email, new.name, hash, role).await
}

/// An alert to an account's owner (`ALERT#<user>#<window>` / `ALERT`): at most one per failure
/// window, as its key names the window; the outbox mails it. Expires with the window.
pub const ALERT_PREFIX: &str = "ALERT#";
pub const ALERT_SK: &str = "ALERT";

/// Records that `user`'s account passed the failure ceiling in this window; `false` when this
/// window's alert exists already (one conditional put: concurrent instances raise one).
pub async fn raise_alert(app: &App, user: &UserId, failures: u64) -> ApiResult<bool> {
    let now = now_epoch_secs();
    let window = now / FAILURE_WINDOW_SECS;
    let mut item = db::key(format!("{ALERT_PREFIX}{user}#{window}"), ALERT_SK);
    item.insert("user_id".into(), s(user.as_str()));
    item.insert("failures".into(), n(failures));
    item.insert(TTL_ATTR.into(), n((window + 1) * FAILURE_WINDOW_SECS));
    let put = app
        .dynamo
        .put_item()
        .table_name(table(app))
        .set_item(Some(item))
        .condition_expression(db::not_exists())
        .send()
        .await;
    db::applied(put)
}

/// The keys of emailed-link requests: `RESET#<id>` / `RESET` and `VERIFY#<id>` / `VERIFY` (the
/// outbox's stream filter matches the prefixes).
pub const RESET_PREFIX: &str = "RESET#";
pub const RESET_SK: &str = "RESET";
pub const VERIFY_PREFIX: &str = "VERIFY#";
pub const VERIFY_SK: &str = "VERIFY";

fn link_item_key(purpose: Purpose, id: &str) -> Item {
    match purpose {
        Purpose::Reset => db::key(format!("{RESET_PREFIX}{id}"), RESET_SK),
        Purpose::Verify => db::key(format!("{VERIFY_PREFIX}{id}"), VERIFY_SK),
    }
}

fn link_item(purpose: Purpose, record: &LinkRecord) -> ApiResult<Item> {
    let mut item: Item = to_item(record)?;
    item.extend(link_item_key(purpose, &record.id));
    Ok(item)
}

/// Stores a link request (its `expires_at` is the table's TTL: DynamoDB forgets it).
pub async fn put_link(app: &App, purpose: Purpose, record: &LinkRecord) -> ApiResult<()> {
    db::put(&app.dynamo, table(app), link_item(purpose, record)?).await
}

pub async fn load_link(app: &App, purpose: Purpose, id: &str) -> ApiResult<Option<LinkRecord>> {
    db::get(&app.dynamo, table(app), link_item_key(purpose, id), true).await
}

/// The record's single use, in a transaction with what it does to the account: of two uses of
/// one link, one wins. `false` when the record was used (or is gone) meanwhile.
async fn use_link(
    app: &App,
    purpose: Purpose,
    id: &str,
    user: &UserId,
    account: UpdateExpr,
) -> ApiResult<bool> {
    let mut used = UpdateExpr::new();
    used.set("used_at", n(now_epoch_secs()));
    let at = used.name("used_at");
    used.condition(format!("{} AND attribute_not_exists({at})", db::exists()));
    let tx = Tx::new()
        .update(
            "link",
            used.tx_item(table(app), link_item_key(purpose, id))?,
        )
        .update(
            "account",
            account.tx_item(table(app), account_key(user.as_str()))?,
        );
    match tx.send(&app.dynamo).await {
        Ok(()) => Ok(true),
        Err(TxError::Cancelled(r)) if r.failed("link") || r.failed("account") => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Uses a reset: the new password hash, and every session ended. Opening the emailed link proves
/// the address, so it is verified too.
pub async fn complete_reset(app: &App, id: &str, user: &UserId, hash: &str) -> ApiResult<bool> {
    let mut account = UpdateExpr::new();
    account
        .set(PASSWORD_HASH, s(hash))
        .remove(auth::account::PASSWORD_CHANGE_REQUIRED)
        .set(auth::account::EMAIL_VERIFIED, AttributeValue::Bool(true))
        .set("updated_at", s(Timestamp::now().to_string()))
        .remove(auth::session::SESSIONS)
        .condition(db::exists());
    use_link(app, Purpose::Reset, id, user, account).await
}

/// Uses a verification: the account's email is verified.
pub async fn complete_verification(app: &App, id: &str, user: &UserId) -> ApiResult<bool> {
    let mut account = UpdateExpr::new();
    account
        .set(auth::account::EMAIL_VERIFIED, AttributeValue::Bool(true))
        .condition(db::exists());
    use_link(app, Purpose::Verify, id, user, account).await
}
