//! The payment endpoints and the expiry job, one function each.

use lambda_http::Request;
use serde_json::json;

use super::{
    model::{
        ORDERS_EXPIRED, PAYMENTS_RECEIVED, PAYMENTS_REFUNDED, PayRequest, PaymentEvent,
        PaymentMethodId, PaymentView, Settlement, WEBHOOK_SIGNATURE_FAILURES, WebhookEvent,
        order_of, payment_key, settle, verify_signature, view_status,
    },
    store,
};
use crate::{
    app::App,
    auth,
    error::{ApiError, ApiResult},
    orders::{
        handlers::{order_id, visible},
        model::{CancelReason, Order, OrderStatus},
        store as orders,
    },
    platform::{
        db::PageRequest,
        http::{Reply, header_str, json_body},
        metrics,
        stripe::{PaymentIntent, StripeError},
    },
    types::{now_epoch_secs, now_rfc3339},
};

/// `POST /orders/{id}/payment`: the owner pays a PENDING order with what Stripe.js made of the
/// card. The answer never makes the order PAID; the signed webhook does.
pub async fn pay_order(app: &'static App, req: Request) -> ApiResult<Reply> {
    let id = order_id(&req)?;
    let (who, order) = auth::authenticate_with(app, &req, |_| orders::load_order(app, &id)).await?;
    let order = visible(&who, order)?;
    if order.user_id != who.user_id {
        return Err(ApiError::NotAllowed(
            "only the customer who placed an order pays for it",
        ));
    }
    // Throwaway accounts cannot test stolen cards: paying needs an address its owner proved.
    if !who.email_verified {
        return Err(ApiError::NotAllowed(
            "confirm your email address (the link we emailed you) to pay by card",
        ));
    }
    let method = PaymentMethodId::try_from(json_body::<PayRequest>(&req)?)?;
    if order.status != OrderStatus::Pending {
        return Err(ApiError::conflict(
            "order_not_payable",
            format!(
                "the order is {}; only a PENDING order can be paid",
                order.status.as_str()
            ),
        ));
    }
    if lapsed(&order) {
        return Err(ApiError::conflict(
            "payment_window_closed",
            "the time to pay for this order has passed; its items were released",
        ));
    }
    let attempt = order.payment_attempts.to_string();
    let metadata = [
        ("order_id", order.id.as_str()),
        ("user_id", order.user_id.as_str()),
        ("attempt", attempt.as_str()),
    ];
    let created = app
        .stripe
        .create_payment_intent(
            order.total_cents.get(),
            &order.currency,
            method.as_str(),
            &metadata,
            &payment_key(&order.id, order.payment_attempts),
        )
        .await;
    let intent = match created {
        Ok(intent) => intent,
        Err(StripeError::Declined(e)) => {
            orders::record_payment_attempt(app, &order, None, Some(&e.shopper_message()), true)
                .await?;
            return Err(StripeError::Declined(e).into());
        }
        // Unreachable or slow: a 503, and the order is untouched.
        Err(e) => return Err(e.into()),
    };
    let Some(status) = view_status(&intent.status) else {
        let e = intent.last_payment_error.clone().unwrap_or_default();
        orders::record_payment_attempt(
            app,
            &order,
            Some(&intent.id),
            Some(&e.shopper_message()),
            true,
        )
        .await?;
        return Err(StripeError::Declined(e).into());
    };
    // An attempt waiting for 3-D Secure is spent: paying again starts a new one (should both
    // complete, the webhook refunds the second).
    let spent = status == "requires_action";
    orders::record_payment_attempt(app, &order, Some(&intent.id), None, spent).await?;
    tracing::info!(order_id = %order.id, payment_intent = %intent.id, status, "payment attempted");
    Reply::ok(&PaymentView {
        payment_intent_id: intent.id,
        status,
        client_secret: intent.client_secret,
    })
}

/// Past its deadline (the expiry job may not have run yet).
fn lapsed(order: &Order) -> bool {
    order
        .expires_at
        .as_deref()
        .is_some_and(|deadline| deadline <= now_rfc3339().as_str())
}

/// `POST /payments/webhook`: Stripe's signed events. Anything unsigned, stale or forged is a 400
/// and changes nothing; a redelivered event changes nothing either.
pub async fn payment_webhook(app: &'static App, req: Request) -> ApiResult<Reply> {
    let secret = app
        .config
        .stripe
        .webhook_secret
        .as_deref()
        .ok_or(StripeError::NotConfigured)?;
    let body = req.body().as_ref();
    let signature = header_str(&req, "stripe-signature");
    if let Err(e) = verify_signature(signature, body, secret, now_epoch_secs()) {
        metrics::emit(&[(WEBHOOK_SIGNATURE_FAILURES, 1)]);
        tracing::warn!(security_event = "webhook_signature_refused", reason = %e, "refused a webhook");
        return Err(ApiError::bad_request("invalid_signature", e.to_string()));
    }
    let event = WebhookEvent::parse(body)?;
    if store::processed(app, &event.id).await? {
        return Reply::ok(&json!({ "received": true, "duplicate": true }));
    }
    match event.payment_event()? {
        PaymentEvent::Succeeded(intent) => on_payment(app, &intent).await?,
        PaymentEvent::Failed(intent) => on_failure(app, &intent).await?,
        PaymentEvent::Other => {}
    }
    store::remember(app, &event.id).await?;
    Reply::ok(&json!({ "received": true }))
}

/// A payment arrived: it pays its PENDING order, or it goes back.
async fn on_payment(app: &App, intent: &PaymentIntent) -> ApiResult<()> {
    let Some(order) = intent_order(app, intent).await? else {
        return Ok(());
    };
    match settle(&order, intent) {
        Settlement::Pay => {
            match orders::move_order(app, &order, OrderStatus::Paid, Some(&intent.id), None).await {
                Ok(_) => {
                    metrics::emit(&[(PAYMENTS_RECEIVED, 1)]);
                    Ok(())
                }
                // Moved meanwhile (expired, cancelled): decide again on what it is now.
                Err(ApiError::Conflict { .. }) => {
                    let now = orders::load_order(app, &order.id).await?;
                    match now {
                        Some(o) if settle(&o, intent) == Settlement::Refund => {
                            refund_late(app, &o, intent).await
                        }
                        _ => Ok(()),
                    }
                }
                Err(e) => Err(e),
            }
        }
        Settlement::AlreadySettled => Ok(()),
        Settlement::Refund => refund_late(app, &order, intent).await,
        Settlement::Mismatch => {
            tracing::error!(
                security_event = "payment_mismatch",
                order_id = %order.id,
                payment_intent = %intent.id,
                amount = intent.amount,
                currency = %intent.currency,
                "a payment does not match its order's total; not marked paid"
            );
            Ok(())
        }
    }
}

/// A payment for an order that can no longer take it (expired, cancelled, or paid already) is
/// refunded, once: the refund's idempotency key is the intent's.
async fn refund_late(app: &App, order: &Order, intent: &PaymentIntent) -> ApiResult<()> {
    app.stripe.refund(&intent.id).await?;
    metrics::emit(&[(PAYMENTS_REFUNDED, 1)]);
    tracing::info!(order_id = %order.id, payment_intent = %intent.id, status = order.status.as_str(), "late payment refunded");
    if order.status == OrderStatus::Cancelled {
        orders::record_refund(app, order, &intent.id).await?;
    }
    Ok(())
}

/// A payment failed (declined, or 3-D Secure failed): the order stays PENDING and shows why.
async fn on_failure(app: &App, intent: &PaymentIntent) -> ApiResult<()> {
    let Some(order) = intent_order(app, intent).await? else {
        return Ok(());
    };
    if order.status != OrderStatus::Pending {
        return Ok(());
    }
    let reason = intent.last_payment_error.clone().unwrap_or_default();
    orders::record_payment_attempt(
        app,
        &order,
        Some(&intent.id),
        Some(&reason.shopper_message()),
        false,
    )
    .await?;
    Ok(())
}

/// The order an intent's metadata names; `None` (logged) for an intent the shop did not make.
async fn intent_order(app: &App, intent: &PaymentIntent) -> ApiResult<Option<Order>> {
    let order = match order_of(intent) {
        Some(id) => orders::load_order(app, id).await?,
        None => None,
    };
    if order.is_none() {
        tracing::warn!(payment_intent = %intent.id, "an event for a payment of no known order");
    }
    Ok(order)
}

/// How many PENDING orders the expiry job reads per page.
const EXPIRY_PAGE: i32 = 25;

/// The scheduled expiry job: cancels PENDING orders whose deadline passed, oldest first, stopping
/// at the first that is not due (never a Scan). Each cancel is the shopper's cancel: a conditional
/// transaction that restores the stock, so two runs at once, or a run racing a payment, leave
/// every order in exactly one state with its stock restored exactly once.
pub async fn expire_orders(app: &'static App) -> ApiResult<serde_json::Value> {
    let now = now_rfc3339();
    let (mut expired, mut kept) = (0u32, 0u32);
    let mut page = PageRequest {
        limit: EXPIRY_PAGE,
        cursor: None,
    };
    loop {
        let batch = orders::oldest_pending(app, &page).await?;
        let due: Vec<&Order> = batch
            .items
            .iter()
            .take_while(|o| deadline(app, o).as_str() <= now.as_str())
            .collect();
        let reached_undue = due.len() < batch.items.len();
        for order in due {
            match expire(app, order).await {
                Ok(true) => expired += 1,
                Ok(false) => kept += 1,
                // One order's failure (Stripe down) must not hold back the others.
                Err(e) => {
                    kept += 1;
                    tracing::warn!(order_id = %order.id, error = %e.chain(), "order not expired this run");
                }
            }
        }
        // Orders kept this run (a payment in flight) do not hold back the ones behind them.
        match batch.next_cursor {
            Some(next) if !reached_undue => page.cursor = Some(next),
            _ => break,
        }
    }
    if expired > 0 {
        metrics::emit(&[(ORDERS_EXPIRED, i64::from(expired))]);
    }
    tracing::info!(expired, kept, "expiry run");
    Ok(json!({ "expired": expired, "kept": kept }))
}

/// An order's deadline; orders placed before deadlines existed get one from their creation time.
fn deadline(app: &App, order: &Order) -> String {
    order.expires_at.clone().unwrap_or_else(|| {
        humantime::parse_rfc3339(&order.created_at)
            .map(|t| humantime::format_rfc3339_millis(t + app.config.payment_window).to_string())
            .unwrap_or_default()
    })
}

/// Expires one order: its PaymentIntent is cancelled first (so no payment can land after), unless
/// it already succeeded or is processing, in which case the webhook settles the order instead.
async fn expire(app: &App, order: &Order) -> ApiResult<bool> {
    if let Some(intent) = &order.payment_intent_id {
        match app.stripe.cancel_payment_intent(intent).await {
            Ok(_) => {}
            Err(StripeError::Refused { .. }) => {
                let current = app.stripe.payment_intent(intent).await?;
                if matches!(current.status.as_str(), "succeeded" | "processing") {
                    return Ok(false);
                }
            }
            Err(e) => return Err(e.into()),
        }
    }
    match orders::transition(
        app,
        order,
        OrderStatus::Cancelled,
        Some(CancelReason::Expired),
    )
    .await
    {
        Ok(_) => {
            tracing::info!(order_id = %order.id, "unpaid order expired; stock restored");
            Ok(true)
        }
        // Paid, cancelled or expired by someone else meanwhile.
        Err(ApiError::Conflict { .. }) => Ok(false),
        Err(e) => Err(e),
    }
}
