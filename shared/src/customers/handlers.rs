//! The admin's customer endpoints, one function each.

use lambda_http::Request;

use super::model::{
    AuditView, CustomerDetail, CustomerSummary, UpdateCustomerRequest, customer_id_in_path,
    search_prefix, summaries,
};
use crate::{
    app::App,
    audit::{self, Action, Entry},
    auth::{self, account::AccountView},
    error::{ApiError, ApiResult},
    orders::{self, model::Sort},
    platform::{
        db::PageRequest,
        http::{Reply, json_body, page_request, path_param, query_param},
    },
    types::{Role, UserId, now_epoch_secs},
    users,
};

/// How many of a customer's latest orders the detail shows (the rest are a search away).
const LATEST_ORDERS: i32 = 10;

/// `GET /admin/customers?q&limit&cursor` (admins): accounts whose email starts with `q`, in email
/// order, from an index of the email guards (never a Scan).
pub async fn list_customers(app: &'static App, req: Request) -> ApiResult<Reply> {
    let page = page_request(&req)?;
    let prefix = search_prefix(query_param(&req, "q").as_deref())?;
    auth::authenticate(app, &req).await?.require_admin()?;
    Reply::ok(&summaries(
        users::store::search_accounts(app, &prefix, &page).await?,
    )?)
}

/// `GET /admin/customers/{id}` (admins): the account, its open sessions and its latest orders.
pub async fn get_customer(app: &'static App, req: Request) -> ApiResult<Reply> {
    let id = customer_id_in_path(&path_param(&req, "id")?)?;
    auth::authenticate(app, &req).await?.require_admin()?;
    Reply::ok(&detail(app, &id).await?)
}

/// `PUT /admin/customers/{id}` `{disabled}` (admins): disabling ends the customer's sessions in
/// the same write, and sign-in then answers 403 `account_disabled` (to the right password only);
/// enabling lets them sign in again. Admin accounts are not disabled here.
pub async fn update_customer(app: &'static App, req: Request) -> ApiResult<Reply> {
    let id = customer_id_in_path(&path_param(&req, "id")?)?;
    let body: UpdateCustomerRequest = json_body(&req)?;
    let who = auth::authenticate(app, &req).await?;
    who.require_admin()?;
    let account = users::store::load_account(app, &id)
        .await?
        .ok_or(ApiError::NotFound("customer"))?;
    if account.view.role == Role::Admin {
        return Err(ApiError::Rejected {
            code: "not_a_customer",
            message: "an admin account cannot be disabled here".into(),
            details: None,
        });
    }
    let audit = Entry::new(
        &who.user_id,
        match body.disabled {
            true => Action::CustomerDisabled,
            false => Action::CustomerEnabled,
        },
        &id,
        Some(&Disabled {
            disabled: AccountView(&account.item).disabled(),
        }),
        Some(&Disabled {
            disabled: body.disabled,
        }),
    )?;
    if !users::store::set_disabled(app, &id, body.disabled, &audit).await? {
        // Deleted, or made an admin, since it was read.
        return Err(ApiError::NotFound("customer"));
    }
    tracing::warn!(
        security_event = if body.disabled { "account_disabled" } else { "account_enabled" },
        user_id = %id,
        admin_id = %who.user_id,
        "customer account {}",
        if body.disabled { "disabled; its sessions ended" } else { "enabled" }
    );
    Reply::ok(&detail(app, &id).await?)
}

/// What disabling or enabling changes on an account.
#[derive(serde::Serialize)]
struct Disabled {
    disabled: bool,
}

/// `GET /admin/audit?limit&cursor` (admins): the audit trail, newest first, each entry with its
/// actor's email (of the account as it is now; the id stays when the account is gone).
pub async fn list_audit(app: &'static App, req: Request) -> ApiResult<Reply> {
    let page = page_request(&req)?;
    auth::authenticate(app, &req).await?.require_admin()?;
    let entries = audit::store::page(app, &page).await?;
    let mut actors: Vec<UserId> = entries.items.iter().map(|e| e.actor.clone()).collect();
    actors.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    actors.dedup();
    let emails = users::store::emails_of(app, &actors).await?;
    Reply::ok(&entries.map(|entry| AuditView {
        actor_email: emails.get(&entry.actor).cloned(),
        entry,
    }))
}

async fn detail(app: &App, id: &UserId) -> ApiResult<CustomerDetail> {
    let account = users::store::load_account(app, id)
        .await?
        .ok_or(ApiError::NotFound("customer"))?;
    detail_of(app, id, &account.item).await
}

async fn detail_of(app: &App, id: &UserId, item: &crate::db::Item) -> ApiResult<CustomerDetail> {
    let (summary, view) = CustomerSummary::from_item(item)?;
    let latest = PageRequest {
        limit: LATEST_ORDERS,
        cursor: None,
    };
    let orders = orders::store::list_own(app, id, Sort::NewestFirst, &latest).await?;
    Ok(CustomerDetail {
        summary,
        address: view.address,
        sessions: auth::session::live_count(item, now_epoch_secs()),
        orders,
    })
}
