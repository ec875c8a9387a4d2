//! The cart and order endpoints, one function each.

use lambda_http::{
    Request,
    http::{HeaderName, StatusCode},
};

use super::{
    checkout::{self, Outcome},
    model::{
        CartView, Checkout, CheckoutRequest, Line, Move, Mover, Order, OrderStatus, OrderView,
        PutCartRequest, Sort, StatusRequest, idempotency_key, order_id_in_path, parse_lines,
        plan_transition, price_cart, product_ids, unknown_products, visible_to,
    },
    store,
};
use crate::{
    app::App,
    audit::{Action, Entry},
    auth::{self, Principal},
    catalog::store::load_products,
    error::ApiResult,
    platform::http::{
        IDEMPOTENCY_KEY, Reply, header_str, json_body, page_request, path_param, query_param,
        record_order,
    },
    types::{OrderId, Timestamp, UserId},
};

/// What to check out and where to: the body's `items` (the cart when absent), its
/// `shipping_address` and `shipping_method`.
fn checkout_body(req: &Request) -> ApiResult<Checkout> {
    let body: CheckoutRequest = if req.body().as_ref().iter().all(u8::is_ascii_whitespace) {
        CheckoutRequest::default()
    } else {
        json_body(req)?
    };
    Checkout::try_from(body)
}

/// `POST /orders`
pub async fn create_order(app: &'static App, req: Request) -> ApiResult<Reply> {
    let key = idempotency_key(header_str(&req, IDEMPOTENCY_KEY));
    let body = checkout_body(&req);
    // One round trip reads the caller's account and what the checkout needs first. An earlier
    // request with this key is not looked for up front: the transaction's conditional put of the
    // idempotency record finds it, so a first attempt (nearly every request) pays no read for it.
    let (who, fetched) = auth::authenticate_batch(app, &req, |user| match &body {
        Ok(body) => checkout::prefetch(app, body, user),
        Err(_) => Default::default(),
    })
    .await?;
    let (key, body) = (key?, body?);
    match checkout::checkout(app, &who, &key, &body, fetched).await? {
        Outcome::Placed(order) => {
            record_order(order.id.as_str());
            Reply::created(&OrderView::from(order))
        }
        Outcome::Replayed(order) => {
            record_order(order.id.as_str());
            Ok(Reply::json(StatusCode::CREATED, &OrderView::from(order))?
                .with_header(HeaderName::from_static("idempotent-replayed"), "true"))
        }
    }
}

/// `POST /checkout/quote` (signed in): what `POST /orders` with this body would charge, priced
/// by the same function from the same reads, with every shipping option for the address.
pub async fn checkout_quote(app: &'static App, req: Request) -> ApiResult<Reply> {
    let body = checkout_body(&req);
    let (who, fetched) = auth::authenticate_batch(app, &req, |user| match &body {
        Ok(body) => checkout::prefetch(app, body, user),
        Err(_) => Default::default(),
    })
    .await?;
    let body = body?;
    let mut read =
        checkout::prefetched(app, &who, &body, fetched)?.ok_or_else(checkout::empty_cart)?;
    Reply::ok(&checkout::price(app, &body, &mut read).await?)
}

/// `GET /orders?limit&cursor[&status][&sort]`: the caller's orders, newest first (`sort=oldest`
/// turns it round). Admins may pass `status` to list every customer's orders in that status
/// (customers get 403 for it).
pub async fn list_orders(app: &'static App, req: Request) -> ApiResult<Reply> {
    let page = page_request(&req)?;
    let status = query_param(&req, "status")
        .filter(|s| !s.is_empty())
        .map(|s| OrderStatus::parse("status", &s))
        .transpose()?;
    let sort = Sort::parse(query_param(&req, "sort").as_deref())?;
    let orders = match status {
        // Every customer's orders: admins only, so the role is known before anything is read.
        Some(st) => {
            auth::authenticate(app, &req).await?.require_admin()?;
            store::list_by_status(app, st, sort, &page).await?
        }
        // The caller's own orders: read while the token is checked.
        None => {
            auth::authenticate_with(app, &req, |id| async move {
                store::list_own(app, &id, sort, &page).await
            })
            .await?
            .1
        }
    };
    Reply::ok(&orders)
}

/// The order id from the path (recorded on the request's log line).
fn order_id(req: &Request) -> ApiResult<OrderId> {
    let id = order_id_in_path(&path_param(req, "id")?)?;
    record_order(id.as_str());
    Ok(id)
}

fn visible(who: &Principal, order: Option<Order>) -> ApiResult<Order> {
    visible_to(order, &who.user_id, who.acts_as_admin()?)
}

/// `GET /orders/{id}`: the order is read while the token is checked.
pub async fn get_order(app: &'static App, req: Request) -> ApiResult<Reply> {
    let id = order_id(&req)?;
    let (who, order) = auth::authenticate_with(app, &req, |_| store::load_order(app, &id)).await?;
    Reply::ok(&OrderView::from(visible(&who, order)?))
}

/// `PUT /orders/{id}/status`: admins move orders along the state machine; an owner may cancel
/// their own PENDING order. A move the state machine forbids is a 409.
pub async fn update_order_status(app: &'static App, req: Request) -> ApiResult<Reply> {
    let who = auth::authenticate(app, &req).await?;
    let to = Move::try_from(json_body::<StatusRequest>(&req)?)?;
    let order = visible(&who, store::load_order(app, &order_id(&req)?).await?)?;
    let by = if who.acts_as_admin()? {
        Mover::Admin
    } else {
        Mover::Owner
    };
    let by_admin = matches!(by, Mover::Admin);
    let plan = plan_transition(&order, to, by, Timestamp::now())?;
    let audit = match by_admin {
        true => Some(Entry::new(
            &who.user_id,
            Action::OrderStatusChanged,
            &order.id,
            Some(&OrderView::from(order.clone())),
            Some(&OrderView::from(plan.order.clone())),
        )?),
        false => None,
    };
    // A card payment goes back before the order says so; if Stripe cannot refund now, the order
    // stays PAID (503) and the admin tries again (the refund's idempotency key makes that safe).
    if let Some(intent) = &plan.refund {
        app.stripe.refund(intent).await?;
        tracing::info!(order_id = %order.id, payment_intent = %intent, "paid order refunded");
    }
    Reply::ok(&OrderView::from(
        store::apply(app, &plan, audit.as_ref()).await?,
    ))
}

/// The cart's lines priced from the catalog now.
async fn cart_view(app: &App, lines: &[Line]) -> ApiResult<CartView> {
    let catalog = load_products(app, &product_ids(lines)).await?;
    Ok(price_cart(lines, &catalog, &app.settings.catalog.currency))
}

/// `GET /cart`
pub async fn get_cart(app: &'static App, req: Request) -> ApiResult<Reply> {
    // The account lookup runs beside both reads (cart, then its products), so it adds no round trip.
    let read = |user: UserId| async move {
        let cart = store::load_cart(app, &user).await?;
        cart_view(app, &cart.items).await
    };
    let (_, cart) = auth::authenticate_with(app, &req, read).await?;
    Reply::ok(&cart)
}

/// `PUT /cart`: replaces the cart. Products that do not exist are refused (422), so a cart only
/// ever holds real products (they may be deleted later, which `GET /cart` reports).
pub async fn put_cart(app: &'static App, req: Request) -> ApiResult<Reply> {
    let who = auth::authenticate(app, &req).await?;
    let body: PutCartRequest = json_body(&req)?;
    let lines = parse_lines(body.items, true)?;
    let cart = cart_view(app, &lines).await?;
    if !cart.unavailable.is_empty() {
        return Err(unknown_products(&cart.unavailable));
    }
    store::save_cart(app, &who.user_id, lines).await?;
    Reply::ok(&cart)
}
