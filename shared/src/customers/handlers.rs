//! The admin's customer endpoints, one function each.

use lambda_http::Request;

use super::model::{
    CustomerDetail, CustomerSummary, UpdateCustomerRequest, customer_id_in_path, search_prefix,
    summaries,
};
use crate::{
    app::App,
    auth,
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
    let Some(changed) = users::store::set_disabled(app, &id, body.disabled).await? else {
        return Err(match users::store::load_account(app, &id).await? {
            Some(a) if a.view.role == Role::Admin => ApiError::Rejected {
                code: "not_a_customer",
                message: "an admin account cannot be disabled here".into(),
                details: None,
            },
            _ => ApiError::NotFound("customer"),
        });
    };
    tracing::warn!(
        security_event = if body.disabled { "account_disabled" } else { "account_enabled" },
        user_id = %id,
        admin_id = %who.user_id,
        "customer account {}",
        if body.disabled { "disabled; its sessions ended" } else { "enabled" }
    );
    Reply::ok(&detail_of(app, &id, &changed).await?)
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
