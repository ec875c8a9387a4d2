//! The payment endpoints and the expiry job, one function each.

use lambda_http::Request;
use serde_json::json;

use super::{
    model::{
        AttemptStatus, ORDERS_EXPIRED, PAYMENT_CLAIM_SECS, PAYMENTS_RECEIVED, PAYMENTS_REFUNDED,
        PayPlan, Payer, PaymentEvent, PaymentMethodId, PaymentView, REFUNDS_FAILED, Settlement,
        WEBHOOK_SIGNATURE_FAILURES, WebhookEvent, money_moving, order_of, payment_key,
        plan_payment, settle, verify_signature, view_status,
    },
    store,
};
use crate::{
    app::App,
    auth,
    error::{ApiError, ApiResult},
    orders::{
        model::{Mover, Order, OrderStatus, order_id_in_path, plan_transition, visible_to},
        store::{self as orders, Attempt},
    },
    platform::{
        db::PageRequest,
        http::{Reply, header_str, json_body, path_param, record_order},
        metrics,
        stripe::{PaymentIntent, StripeError},
    },
    types::{Timestamp, now_epoch_secs},
};

/// `POST /orders/{id}/payment`: the owner pays a PENDING order with what Stripe.js made of the
/// card. The answer never makes the order PAID; the signed webhook does. One attempt per order is
/// in flight at a time (a conditional claim on the order), and an attempt creates at most one
/// PaymentIntent whatever Stripe does with its idempotency key.
pub async fn pay_order(app: &'static App, req: Request) -> ApiResult<Reply> {
    let id = order_id_in_path(&path_param(&req, "id")?)?;
    record_order(id.as_str());
    let (who, order) = auth::authenticate_with(app, &req, |_| orders::load_order(app, &id)).await?;
    let order = visible_to(order, &who.user_id, who.acts_as_admin()?)?;
    let payer = Payer {
        user: &who.user_id,
        email_verified: who.email_verified,
    };
    let plan = plan_payment(&order, payer, json_body(&req)?, Timestamp::now())?;
    let now = now_epoch_secs();
    if !orders::claim_payment(app, &order, now, now + PAYMENT_CLAIM_SECS).await? {
        return Err(ApiError::conflict(
            "payment_in_progress",
            "another payment attempt for this order is in progress; wait for its answer",
        ));
    }
    let (intent, created) = match plan {
        PayPlan::Create { attempt, method } => {
            (create_intent(app, &order, &method, attempt).await, true)
        }
        PayPlan::Resume { intent } => (app.stripe.payment_intent(&intent).await, false),
    };
    let intent = match intent {
        Ok(intent) => intent,
        Err(StripeError::Declined(e)) => {
            let attempt = Attempt {
                intent: None,
                error: Some(&e.shopper_message()),
                spent: true,
                created: false,
            };
            orders::record_payment_attempt(app, &order, attempt).await?;
            return Err(StripeError::Declined(e).into());
        }
        // Unreachable, slow, or the card is unusable: the order is as it was.
        Err(e) => {
            orders::release_payment(app, &order).await?;
            return Err(e.into());
        }
    };
    let Some(status) = view_status(intent.status) else {
        let e = intent.last_payment_error.clone().unwrap_or_default();
        let attempt = Attempt {
            intent: Some(&intent.id),
            error: Some(&e.shopper_message()),
            spent: true,
            created,
        };
        orders::record_payment_attempt(app, &order, attempt).await?;
        return Err(StripeError::Declined(e).into());
    };
    // An attempt waiting for 3-D Secure is spent: paying again starts a new one (should both
    // complete, the webhook refunds the second).
    let attempt = Attempt {
        intent: Some(&intent.id),
        error: None,
        spent: status == AttemptStatus::RequiresAction,
        created,
    };
    orders::record_payment_attempt(app, &order, attempt).await?;
    tracing::info!(order_id = %order.id, payment_intent = %intent.id, status = ?status, created, "payment attempted");
    Reply::ok(&PaymentView {
        payment_intent_id: intent.id,
        status,
        client_secret: intent.client_secret,
    })
}

/// Attempt `attempt`'s PaymentIntent for the order's total, created and confirmed.
async fn create_intent(
    app: &App,
    order: &Order,
    method: &PaymentMethodId,
    attempt: u32,
) -> Result<PaymentIntent, StripeError> {
    let n = attempt.to_string();
    let metadata = [
        ("order_id", order.id.as_str()),
        ("user_id", order.user_id.as_str()),
        ("attempt", n.as_str()),
    ];
    app.stripe
        .create_payment_intent(
            order.total_cents.get(),
            order.currency.as_str(),
            method.as_str(),
            &metadata,
            &payment_key(&order.id, attempt),
        )
        .await
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
            let paid = plan_transition(
                &order,
                OrderStatus::Paid,
                Mover::Payment(&intent.id),
                Timestamp::now(),
            )?;
            match orders::apply(app, &paid, None).await {
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
        Settlement::Foreign => {
            tracing::warn!(
                security_event = "payment_intent_foreign",
                order_id = %order.id,
                payment_intent = %intent.id,
                "a payment names an order that did not create it; it settles nothing"
            );
            Ok(())
        }
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
/// refunded, once: the refund's idempotency key is the intent's. A refund Stripe refuses (it does
/// not know the intent, or the charge cannot be refunded) will not succeed on a retry: it is
/// logged and counted for the alarm, and the event acknowledged. Stripe being unreachable is a
/// 503, so Stripe delivers the event again.
async fn refund_late(app: &App, order: &Order, intent: &PaymentIntent) -> ApiResult<()> {
    match app.stripe.refund(&intent.id).await {
        Ok(()) => {}
        Err(e @ StripeError::Refused { .. }) => {
            metrics::emit(&[(REFUNDS_FAILED, 1)]);
            tracing::error!(
                order_id = %order.id,
                payment_intent = %intent.id,
                error = %e,
                "a payment the shop cannot keep could not be refunded; refund it by hand"
            );
            return Ok(());
        }
        Err(e) => return Err(e.into()),
    }
    metrics::emit(&[(PAYMENTS_REFUNDED, 1)]);
    tracing::info!(order_id = %order.id, payment_intent = %intent.id, status = order.status.as_str(), "late payment refunded");
    if order.status == OrderStatus::Cancelled {
        orders::record_refund(app, order, &intent.id).await?;
    }
    Ok(())
}

/// A payment failed after the shop answered (3-D Secure or a processing card failed): the order
/// stays PENDING, shows why, and the attempt is spent. Only the order's open attempt counts: a
/// late failure of an older one changes nothing.
async fn on_failure(app: &App, intent: &PaymentIntent) -> ApiResult<()> {
    let Some(order) = intent_order(app, intent).await? else {
        return Ok(());
    };
    let open = order.status == OrderStatus::Pending
        && order.payment_open
        && order.payment_intent_id.as_deref() == Some(intent.id.as_str());
    if !open {
        return Ok(());
    }
    let reason = intent.last_payment_error.clone().unwrap_or_default();
    let attempt = Attempt {
        intent: Some(&intent.id),
        error: Some(&reason.shopper_message()),
        spent: true,
        created: false,
    };
    orders::record_payment_attempt(app, &order, attempt).await?;
    Ok(())
}

/// The order an intent's metadata names; `None` (logged) for an intent the shop did not make.
async fn intent_order(app: &App, intent: &PaymentIntent) -> ApiResult<Option<Order>> {
    let order = match order_of(intent) {
        Some(id) => orders::load_order(app, &id).await?,
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
    let now = Timestamp::now();
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
            // Every PENDING order has a deadline; one without could only hold stock for ever.
            .take_while(|o| o.expires_at.is_none_or(|d| d <= now))
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

/// Expires one order: its PaymentIntent is cancelled first (so no payment can land after), unless
/// it already succeeded or is processing, in which case the webhook settles the order instead.
async fn expire(app: &App, order: &Order) -> ApiResult<bool> {
    if let Some(intent) = &order.payment_intent_id {
        match app.stripe.cancel_payment_intent(intent).await {
            Ok(_) => {}
            // Stripe does not know it (another account or mode, or a test Stripe restarted):
            // nothing can be paid through it, so nothing is left to cancel.
            Err(StripeError::Refused { status: 404, .. }) => {}
            Err(StripeError::Refused { .. }) => match app.stripe.payment_intent(intent).await {
                Ok(current) if money_moving(current.status) => return Ok(false),
                Ok(_) | Err(StripeError::Refused { status: 404, .. }) => {}
                Err(e) => return Err(e.into()),
            },
            Err(e) => return Err(e.into()),
        }
    }
    let lapse = plan_transition(
        order,
        OrderStatus::Cancelled,
        Mover::Expiry,
        Timestamp::now(),
    )?;
    match orders::apply(app, &lapse, None).await {
        Ok(_) => {
            tracing::info!(order_id = %order.id, "unpaid order expired; stock restored");
            Ok(true)
        }
        // Paid, cancelled or expired by someone else meanwhile.
        Err(ApiError::Conflict { .. }) => Ok(false),
        Err(e) => Err(e),
    }
}
