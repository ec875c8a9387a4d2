//! Users: registration, login with lockout, profile, logout.

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, TransactWriteItem};
use lambda_http::{Request, http::header};
use serde::{Deserialize, Serialize};
use serde_dynamo::{from_item, to_attribute_value, to_item};

use crate::{
    app::App,
    auth,
    db::{self, TTL_ATTR, keys, n, s},
    error::{ApiError, ApiResult},
    http::{Reply, json_body},
    types::{Address, Email, Name, Password, Role, UserId, now_epoch_secs, now_rfc3339},
};

/// Failed logins per account before it is locked out.
pub const MAX_FAILED_LOGINS: u32 = 5;
/// How long the failure window and the lockout last.
pub const LOCKOUT_SECS: u64 = 15 * 60;
const BAD_CREDENTIALS: &str = "email or password is incorrect";

/// A user as stored. The password hash never leaves this module except through `UserView`'s absence of it.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct UserRecord {
    pk: String,
    sk: String,
    id: UserId,
    email: Email,
    name: Name,
    role: Role,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    address: Option<Address>,
    password_hash: String,
    created_at: String,
    updated_at: String,
    /// Tokens revoked by logout, `jti -> exp` (see `auth::revoke`); created empty with the account.
    #[serde(default)]
    revoked_tokens: std::collections::BTreeMap<String, u64>,
}

/// The public shape of a user: `{id, email, name, role, address?, created_at, updated_at}`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct UserView {
    pub id: UserId,
    pub email: Email,
    pub name: Name,
    pub role: Role,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<Address>,
    pub created_at: String,
    pub updated_at: String,
}

impl From<UserRecord> for UserView {
    fn from(r: UserRecord) -> Self {
        UserView {
            id: r.id,
            email: r.email,
            name: r.name,
            role: r.role,
            address: r.address,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
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

impl TryFrom<RegisterRequest> for NewUser {
    type Error = ApiError;
    fn try_from(r: RegisterRequest) -> ApiResult<Self> {
        Ok(NewUser {
            email: Email::parse(&r.email)?,
            name: Name::parse(&r.name)?,
            password: Password::parse("password", r.password)?,
        })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
}

#[derive(Serialize, Deserialize)]
pub struct LoginResponse {
    pub token: String,
    pub token_type: String,
    pub expires_in: u64,
    pub user: UserView,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateMeRequest {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "crate::http::double_option")]
    pub address: Option<Option<Address>>,
    #[serde(default)]
    pub password: Option<String>,
    #[serde(default)]
    pub current_password: Option<String>,
}

pub struct ProfileUpdate {
    name: Option<Name>,
    address: Option<Option<Address>>,
    /// New password plus the current one that authorises the change.
    password: Option<(Password, String)>,
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
            (Some(new), Some(current)) => Some((Password::parse("password", new)?, current)),
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

async fn load_user(app: &App, id: &UserId) -> ApiResult<Option<UserRecord>> {
    db::get(
        &app.dynamo,
        &app.config.tables.users,
        keys::user(id.as_str()),
        false,
    )
    .await
}

/// Creates a user and its email guard in one transaction; a taken email is a 409.
pub async fn create_user(app: &App, new: NewUser, role: Role) -> ApiResult<UserView> {
    let now = now_rfc3339();
    let id = UserId::new();
    let record = UserRecord {
        pk: keys::user_pk(id.as_str()),
        sk: keys::USER_SK.into(),
        id: id.clone(),
        email: new.email,
        name: new.name,
        role,
        address: None,
        password_hash: auth::hash_password(new.password).await?,
        created_at: now.clone(),
        updated_at: now,
        revoked_tokens: Default::default(),
    };
    let mut guard = keys::email(record.email.as_str());
    guard.insert("user_id".into(), s(id.as_str()));
    let users = &app.config.tables.users;
    let put_user = db::put_new(users, to_item(&record)?)?;
    let put_guard = db::put_new(users, guard)?;
    let result = app
        .dynamo
        .transact_write_items()
        .transact_items(TransactWriteItem::builder().put(put_user).build())
        .transact_items(TransactWriteItem::builder().put(put_guard).build())
        .send()
        .await;
    match result {
        Ok(_) => Ok(record.into()),
        Err(e) => match db::cancellation_reasons(&e) {
            Some(reasons)
                if reasons
                    .get(1)
                    .is_some_and(db::Cancellation::condition_failed) =>
            {
                Err(ApiError::conflict(
                    "email_taken",
                    "an account with this email already exists",
                ))
            }
            _ => Err(e.into()),
        },
    }
}

/// `POST /users/register`
pub async fn register(app: &'static App, req: Request) -> ApiResult<Reply> {
    let new = NewUser::try_from(json_body::<RegisterRequest>(&req)?)?;
    let user = create_user(app, new, Role::Customer).await?;
    Reply::created(&user)
}

/// The failed-login counter of an account (its TTL attribute is `expires_at`).
#[derive(Deserialize)]
struct LoginAttempts {
    failures: u64,
    expires_at: u64,
}

/// A 429 when the account is locked out.
async fn check_lockout(app: &App, email: &Email) -> ApiResult<()> {
    let key = keys::login_attempts(email.as_str());
    let found: Option<LoginAttempts> =
        db::get(&app.dynamo, &app.config.tables.users, key, true).await?;
    let Some(LoginAttempts {
        failures,
        expires_at: expires,
    }) = found
    else {
        return Ok(());
    };
    let now = now_epoch_secs();
    if failures >= u64::from(MAX_FAILED_LOGINS) && expires > now {
        return Err(ApiError::TooManyRequests {
            retry_after_secs: expires - now,
        });
    }
    Ok(())
}

/// Counts a failed login. The window starts at the first failure; reaching the limit restarts it,
/// so a locked account stays locked for the full cool-down.
async fn record_failure(app: &App, email: &Email) -> ApiResult<()> {
    let now = now_epoch_secs();
    let table = &app.config.tables.users;
    let updated = app
        .dynamo
        .update_item()
        .table_name(table)
        .set_key(Some(keys::login_attempts(email.as_str())))
        .update_expression("ADD failures :one SET expires_at = if_not_exists(expires_at, :exp)")
        // An expired counter that TTL has not swept yet must not count.
        .condition_expression("attribute_not_exists(pk) OR expires_at > :now")
        .expression_attribute_values(":one", n(1))
        .expression_attribute_values(":exp", n(now + LOCKOUT_SECS))
        .expression_attribute_values(":now", n(now))
        .return_values(ReturnValue::AllNew)
        .send()
        .await;
    let failures = match updated {
        Ok(out) => out
            .attributes
            .and_then(|a| {
                a.get("failures")
                    .and_then(|v| v.as_n().ok())
                    .and_then(|v| v.parse::<u32>().ok())
            })
            .unwrap_or(1),
        Err(e) if db::is_condition_failure(&e) => {
            let mut item = keys::login_attempts(email.as_str());
            item.insert("failures".into(), n(1));
            item.insert(TTL_ATTR.into(), n(now + LOCKOUT_SECS));
            app.dynamo
                .put_item()
                .table_name(table)
                .set_item(Some(item))
                .send()
                .await?;
            1
        }
        Err(e) => return Err(e.into()),
    };
    if failures == MAX_FAILED_LOGINS {
        app.dynamo
            .update_item()
            .table_name(table)
            .set_key(Some(keys::login_attempts(email.as_str())))
            .update_expression("SET expires_at = :exp")
            .expression_attribute_values(":exp", n(now + LOCKOUT_SECS))
            .send()
            .await?;
    }
    tracing::info!(failures, "failed login");
    crate::metrics::emit(&[(crate::metrics::Metric::FailedLogins, 1)]);
    Ok(())
}

/// `POST /users/login`
pub async fn login(app: &'static App, req: Request) -> ApiResult<Reply> {
    let body: LoginRequest = json_body(&req)?;
    // Over-long input is refused before hashing; a malformed email simply cannot match.
    if body.password.chars().count() > Password::MAX_CHARS {
        return Err(ApiError::invalid_field(
            "password",
            "must be at most 128 characters long",
        ));
    }
    let email = Email::parse(&body.email)?;
    check_lockout(app, &email).await?;

    let guard = app
        .dynamo
        .get_item()
        .table_name(&app.config.tables.users)
        .set_key(Some(keys::email(email.as_str())))
        .send()
        .await?
        .item;
    let user_id = guard
        .as_ref()
        .and_then(|g| g.get("user_id"))
        .and_then(|v| v.as_s().ok())
        .map(|id| UserId::from_trusted(id.as_str()));
    let user = match &user_id {
        Some(id) => load_user(app, id).await?,
        None => None,
    };
    let ok = auth::verify_password(
        body.password,
        user.as_ref().map(|u| u.password_hash.clone()),
    )
    .await?;
    let Some(user) = user.filter(|_| ok) else {
        record_failure(app, &email).await?;
        return Err(ApiError::Unauthorized(BAD_CREDENTIALS));
    };
    app.dynamo
        .delete_item()
        .table_name(&app.config.tables.users)
        .set_key(Some(keys::login_attempts(email.as_str())))
        .send()
        .await?;
    crate::http::record_user(user.id.as_str());
    let token = app.jwt.issue(&user.id, user.role)?;
    Reply::ok(&LoginResponse {
        token,
        token_type: "Bearer".into(),
        expires_in: app.jwt.ttl_secs,
        user: user.into(),
    })
    .map(|r| r.with_header(header::CACHE_CONTROL, "no-store"))
}

/// `GET /users/me`
pub async fn get_me(app: &'static App, req: Request) -> ApiResult<Reply> {
    let (_, item) = auth::authenticate_account(app, &req).await?;
    Reply::ok(&UserView::from(from_item::<_, UserRecord>(item)?))
}

/// `PUT /users/me`
pub async fn update_me(app: &'static App, req: Request) -> ApiResult<Reply> {
    let update = ProfileUpdate::try_from(json_body::<UpdateMeRequest>(&req)?)?;
    let (_, item) = auth::authenticate_account(app, &req).await?;
    let user: UserRecord = from_item(item)?;

    let mut sets = vec!["updated_at = :now"];
    let mut removes = Vec::new();
    let mut values = vec![(":now", s(now_rfc3339()))];
    if let Some(name) = &update.name {
        sets.push("#name = :name");
        values.push((":name", s(name.as_str())));
    }
    match &update.address {
        Some(Some(a)) => {
            sets.push("address = :address");
            values.push((":address", to_attribute_value::<_, AttributeValue>(a)?));
        }
        Some(None) => removes.push("address"),
        None => {}
    }
    if let Some((new, current)) = update.password {
        if !auth::verify_password(current, Some(user.password_hash.clone())).await? {
            // Guessing the current password with a stolen token counts like a failed login.
            record_failure(app, &user.email).await?;
            return Err(ApiError::Forbidden("current_password is incorrect"));
        }
        sets.push("password_hash = :hash");
        values.push((":hash", s(auth::hash_password(new).await?)));
    }
    let mut expr = format!("SET {}", sets.join(", "));
    if !removes.is_empty() {
        expr.push_str(&format!(" REMOVE {}", removes.join(", ")));
    }
    let mut q = app
        .dynamo
        .update_item()
        .table_name(&app.config.tables.users)
        .set_key(Some(keys::user(user.id.as_str())))
        .update_expression(expr)
        .condition_expression("attribute_exists(pk)")
        .return_values(ReturnValue::AllNew);
    if update.name.is_some() {
        q = q.expression_attribute_names("#name", "name");
    }
    for (k, v) in values {
        q = q.expression_attribute_values(k, v);
    }
    let out = q.send().await.map_err(|e| {
        if db::is_condition_failure(&e) {
            ApiError::Unauthorized("the account for this token no longer exists")
        } else {
            e.into()
        }
    })?;
    let record: UserRecord = from_item(out.attributes.unwrap_or_default())?;
    Reply::ok(&UserView::from(record))
}

/// `POST /users/logout`: revokes the presented token until it would have expired anyway.
pub async fn logout(app: &'static App, req: Request) -> ApiResult<Reply> {
    let (who, mut item) = auth::authenticate_account(app, &req).await?;
    let revoked = match item.remove(auth::REVOKED_TOKENS) {
        Some(AttributeValue::M(m)) => m,
        _ => Default::default(),
    };
    auth::revoke(app, &who, &revoked).await?;
    Reply::no_content()
}

/// Used by the dev seeding tool: ensures an admin account exists with the given password.
pub async fn ensure_admin(app: &App, email: &str, password: &str, name: &str) -> ApiResult<bool> {
    let new = NewUser {
        email: Email::parse(email)?,
        password: Password::parse("password", password.to_string())?,
        name: Name::parse(name)?,
    };
    match create_user(app, new, Role::Admin).await {
        Ok(_) => Ok(true),
        Err(ApiError::Conflict { .. }) => Ok(false),
        Err(e) => Err(e),
    }
}

/// The storage item of a user is never shaped like the public view.
#[cfg(test)]
mod tests {
    use super::*;

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
            created_at: "t".into(),
            updated_at: "t".into(),
        };
        let j = serde_json::to_value(&v).unwrap();
        assert!(j.get("password_hash").is_none());
        assert!(j.get("address").is_none());
    }
}
