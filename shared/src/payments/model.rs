//! Payments without I/O: the webhook signature check (Stripe's scheme), the events the shop acts
//! on, the payment request, and the idempotency keys that make a retried call charge or refund at
//! most once.

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::{
    error::{ApiError, ApiResult},
    orders::model::{Order, OrderStatus, PaymentStatus},
    platform::{
        metrics::Metric,
        stripe::{IntentStatus, PaymentIntent},
    },
    types::{OrderId, Timestamp, UserId},
};

/// A signature older (or further in the future) than this is refused: a captured webhook cannot be
/// replayed later. Stripe's own libraries use the same tolerance.
pub const SIGNATURE_TOLERANCE_SECS: u64 = 300;
/// Processed webhook event ids are remembered this long (Stripe retries for up to three days).
pub const EVENT_MEMORY_SECS: u64 = 7 * 24 * 60 * 60;

pub const WEBHOOK_SIGNATURE_FAILURES: Metric = Metric("WebhookSignatureFailures");
pub const PAYMENTS_RECEIVED: Metric = Metric("PaymentsReceived");
pub const PAYMENTS_REFUNDED: Metric = Metric("PaymentsRefunded");
/// A payment the shop could not keep and Stripe would not refund: an operator refunds it.
pub const REFUNDS_FAILED: Metric = Metric("RefundsFailed");
pub const ORDERS_EXPIRED: Metric = Metric("OrdersExpired");

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("no Stripe-Signature header")]
    Missing,
    #[error("the Stripe-Signature header is malformed")]
    Malformed,
    #[error("the signature's timestamp is outside the {SIGNATURE_TOLERANCE_SECS} s tolerance")]
    Stale,
    #[error("no v1 signature matches the payload")]
    Mismatch,
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Checks `Stripe-Signature: t=<unix seconds>,v1=<hex>[,v1=...]`: HMAC-SHA256 of `"{t}.{body}"`
/// under the endpoint secret must equal one of the `v1` values (several during a secret roll),
/// compared in constant time, and `t` must be within the tolerance of `now`.
pub fn verify_signature(
    header: Option<&str>,
    body: &[u8],
    secret: &[u8],
    now: u64,
) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        let (k, v) = part
            .trim()
            .split_once('=')
            .ok_or(SignatureError::Malformed)?;
        match k {
            "t" => timestamp = Some(v.parse::<u64>().map_err(|_| SignatureError::Malformed)?),
            "v1" => signatures.push(unhex(v).ok_or(SignatureError::Malformed)?),
            _ => {} // v0 (test-mode legacy) and future schemes are ignored, as Stripe advises
        }
    }
    let t = timestamp.ok_or(SignatureError::Malformed)?;
    if signatures.is_empty() {
        return Err(SignatureError::Malformed);
    }
    if now.abs_diff(t) > SIGNATURE_TOLERANCE_SECS {
        return Err(SignatureError::Stale);
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    // verify_slice compares in constant time.
    if signatures
        .iter()
        .any(|sig| mac.clone().verify_slice(sig).is_ok())
    {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// The `Stripe-Signature` header Stripe sends with `body` at time `t` under `secret`: what
/// [`verify_signature`] checks, for the tests and the benchmark that play Stripe.
pub fn signature_header(secret: &[u8], t: u64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("t={t},v1={hex}")
}

/// The longest event id accepted (Stripe's are `evt_` and about 30 characters).
pub const MAX_EVENT_ID_LEN: usize = 255;

/// A Stripe event, as much of it as the shop reads.
#[derive(Debug, Deserialize)]
pub struct WebhookEvent {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub data: EventData,
}

#[derive(Debug, Deserialize)]
pub struct EventData {
    pub object: serde_json::Value,
}

/// What an event asks of the shop.
#[derive(Debug)]
pub enum PaymentEvent {
    Succeeded(PaymentIntent),
    Failed(PaymentIntent),
    /// Any other type: acknowledged and ignored.
    Other,
}

impl WebhookEvent {
    pub fn parse(body: &[u8]) -> ApiResult<Self> {
        let event: WebhookEvent = serde_json::from_slice(body).map_err(|_| {
            ApiError::bad_request("invalid_event", "the body is not a Stripe event")
        })?;
        let id_ok = event.id.len() <= MAX_EVENT_ID_LEN
            && event.id.starts_with("evt_")
            && event
                .id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if !id_ok {
            return Err(ApiError::bad_request(
                "invalid_event",
                format!(
                    "the event id must be evt_ and at most {MAX_EVENT_ID_LEN} letters, digits or _"
                ),
            ));
        }
        Ok(event)
    }

    pub fn payment_event(&self) -> ApiResult<PaymentEvent> {
        let intent = || {
            serde_json::from_value::<PaymentIntent>(self.data.object.clone()).map_err(|_| {
                ApiError::bad_request("invalid_event", "the event's object is not a PaymentIntent")
            })
        };
        Ok(match self.kind.as_str() {
            "payment_intent.succeeded" => PaymentEvent::Succeeded(intent()?),
            "payment_intent.payment_failed" => PaymentEvent::Failed(intent()?),
            _ => PaymentEvent::Other,
        })
    }
}

/// The order a PaymentIntent was created for (the shop sets this metadata on every intent).
pub fn order_of(intent: &PaymentIntent) -> Option<OrderId> {
    intent
        .metadata
        .get("order_id")
        .and_then(|id| OrderId::parse(id))
}

/// What a succeeded payment does to its order.
#[derive(Debug, PartialEq, Eq)]
pub enum Settlement {
    /// Not an intent this order created (its metadata names an order that did not make it):
    /// it settles nothing here, and is not refunded either (it may have paid its own order).
    Foreign,
    /// PENDING, and the intent is for exactly this order's total: PENDING -> PAID.
    Pay,
    /// This intent already settled the order (paid it, or was refunded): nothing to do.
    AlreadySettled,
    /// The order cannot take the money (cancelled or expired, or paid by another intent):
    /// the payment goes back.
    Refund,
    /// The amount or currency is not the order's: never mark it paid; an operator looks.
    Mismatch,
}

pub fn settle(order: &Order, intent: &PaymentIntent) -> Settlement {
    let made_here =
        order.payment_intents.contains(&intent.id) && order_of(intent).as_ref() == Some(&order.id);
    if !made_here {
        return Settlement::Foreign;
    }
    let same_money = intent.amount == order.total_cents.get()
        && intent
            .currency
            .eq_ignore_ascii_case(order.currency.as_str());
    if !same_money {
        return Settlement::Mismatch;
    }
    let ours = order.payment_intent_id.as_deref() == Some(intent.id.as_str());
    match order.status {
        OrderStatus::Pending => Settlement::Pay,
        // This intent paid the order, or was refunded already.
        _ if ours && order.payment_status != PaymentStatus::Unpaid => Settlement::AlreadySettled,
        _ => Settlement::Refund,
    }
}

/// Most payment attempts one order takes (each can create one PaymentIntent, which the order
/// records).
pub const MAX_PAYMENT_ATTEMPTS: u32 = 20;
/// How long one payment request holds the order's claim (epoch seconds): longer than a handler
/// may run, so a crashed request frees the order soon after.
pub const PAYMENT_CLAIM_SECS: u64 = 30;

/// What paying an order does now.
#[derive(Debug, PartialEq, Eq)]
pub enum PayPlan {
    /// A new attempt: one PaymentIntent for `method` under this attempt's idempotency key.
    Create {
        attempt: u32,
        method: PaymentMethodId,
    },
    /// The open attempt's intent exists and has not failed: answer it again, create nothing.
    Resume { intent: String },
}

/// Who asks to pay: the caller's account and whether its owner proved the email address.
#[derive(Debug, Clone, Copy)]
pub struct Payer<'a> {
    pub user: &'a UserId,
    pub email_verified: bool,
}

/// The payability rule: whether `payer` may pay `order` with what they sent at `now`,
/// and how.
pub fn plan_payment(
    order: &Order,
    payer: Payer<'_>,
    body: PayRequest,
    now: Timestamp,
) -> ApiResult<PayPlan> {
    if order.user_id != *payer.user {
        return Err(ApiError::NotAllowed(
            "only the customer who placed an order pays for it",
        ));
    }
    // Throwaway accounts cannot test stolen cards: paying needs an address its owner proved.
    if !payer.email_verified {
        return Err(ApiError::NotAllowed(
            "confirm your email address (the link we emailed you) to pay by card",
        ));
    }
    let method = PaymentMethodId::try_from(body)?;
    if order.status != OrderStatus::Pending {
        return Err(ApiError::conflict(
            "order_not_payable",
            format!(
                "the order is {}; only a PENDING order can be paid",
                order.status.as_str()
            ),
        ));
    }
    // Past its deadline (the expiry job may not have run yet).
    if order.expires_at.is_some_and(|d| d <= now) {
        return Err(ApiError::conflict(
            "payment_window_closed",
            "the time to pay for this order has passed; its items were released",
        ));
    }
    if let Some(intent) = order
        .payment_intent_id
        .as_ref()
        .filter(|_| order.payment_open)
    {
        return Ok(PayPlan::Resume {
            intent: intent.clone(),
        });
    }
    if order.payment_attempts >= MAX_PAYMENT_ATTEMPTS {
        return Err(ApiError::conflict(
            "too_many_payment_attempts",
            format!("this order was tried {MAX_PAYMENT_ATTEMPTS} times; place a new order"),
        ));
    }
    Ok(PayPlan::Create {
        attempt: order.payment_attempts,
        method,
    })
}

/// The Stripe idempotency key of an order's payment attempt: a retried request reuses it, so it
/// can never create a second charge; a new attempt (after a decline) gets the next one.
pub fn payment_key(order_id: &OrderId, attempt: u32) -> String {
    format!("order-{order_id}-payment-{attempt}")
}

/// `POST /orders/{id}/payment` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PayRequest {
    pub payment_method: String,
}

/// What Stripe.js produced from the card field: a PaymentMethod (`pm_`), or a card (`card_`) from
/// a token, as localstripe's Stripe.js makes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentMethodId(String);

impl PaymentMethodId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<PayRequest> for PaymentMethodId {
    type Error = ApiError;
    fn try_from(r: PayRequest) -> ApiResult<Self> {
        let id = r.payment_method.trim();
        let ok = (id.starts_with("pm_") || id.starts_with("card_"))
            && id.len() <= 255
            && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if ok {
            Ok(PaymentMethodId(id.to_string()))
        } else {
            Err(ApiError::invalid_field(
                "payment_method",
                "must be a Stripe payment method id (pm_...) from Stripe.js",
            ))
        }
    }
}

/// How a payment attempt stands for the shopper, once it did not fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AttemptStatus {
    Succeeded,
    Processing,
    /// 3-D Secure: finish it with Stripe.js.
    RequiresAction,
}

/// `200` of `POST /orders/{id}/payment`. The order is not PAID yet: the signed webhook does that.
#[derive(Debug, Serialize)]
pub struct PaymentView {
    pub payment_intent_id: String,
    pub status: AttemptStatus,
    pub client_secret: Option<String>,
}

/// The shopper-facing status of an intent that did not fail; `None` when it failed.
pub fn view_status(intent: IntentStatus) -> Option<AttemptStatus> {
    match intent {
        IntentStatus::Succeeded => Some(AttemptStatus::Succeeded),
        IntentStatus::Processing | IntentStatus::RequiresCapture => Some(AttemptStatus::Processing),
        IntentStatus::RequiresAction | IntentStatus::RequiresConfirmation => {
            Some(AttemptStatus::RequiresAction)
        }
        IntentStatus::RequiresPaymentMethod | IntentStatus::Canceled | IntentStatus::Other => None,
    }
}

/// Whether an intent has taken the money or is taking it: such an intent cannot be cancelled,
/// and its order is settled by the webhook instead.
pub fn money_moving(intent: IntentStatus) -> bool {
    matches!(intent, IntentStatus::Succeeded | IntentStatus::Processing)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORDER: &str = "01JD0000000000000000000001";
    use crate::types::{Cents, UserId};

    const SECRET: &[u8] = b"whsec_test_secret";
    const BODY: &[u8] = br#"{"id":"evt_1","type":"payment_intent.succeeded"}"#;
    const NOW: u64 = 1_800_000_000;

    /// The hex signature alone (a header may carry several).
    fn sign(secret: &[u8], t: u64, body: &[u8]) -> String {
        let h = signature_header(secret, t, body);
        h.split_once(",v1=").unwrap().1.to_string()
    }

    fn header(t: u64, sigs: &[String]) -> String {
        let mut h = format!("t={t}");
        for s in sigs {
            h.push_str(&format!(",v1={s}"));
        }
        h
    }

    #[test]
    fn a_valid_signature_is_accepted() {
        let h = header(NOW, &[sign(SECRET, NOW, BODY)]);
        assert_eq!(verify_signature(Some(&h), BODY, SECRET, NOW), Ok(()));

        // A little clock skew either way is tolerated.
        assert_eq!(verify_signature(Some(&h), BODY, SECRET, NOW + 299), Ok(()));
        assert_eq!(verify_signature(Some(&h), BODY, SECRET, NOW - 299), Ok(()));
    }

    #[test]
    fn a_signature_under_another_secret_is_refused() {
        let h = header(NOW, &[sign(b"whsec_other", NOW, BODY)]);
        assert_eq!(
            verify_signature(Some(&h), BODY, SECRET, NOW),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn stale_and_future_timestamps_are_refused() {
        let old = NOW - SIGNATURE_TOLERANCE_SECS - 1;
        let h = header(old, &[sign(SECRET, old, BODY)]);
        assert_eq!(
            verify_signature(Some(&h), BODY, SECRET, NOW),
            Err(SignatureError::Stale)
        );
        let future = NOW + SIGNATURE_TOLERANCE_SECS + 1;
        let h = header(future, &[sign(SECRET, future, BODY)]);
        assert_eq!(
            verify_signature(Some(&h), BODY, SECRET, NOW),
            Err(SignatureError::Stale)
        );
    }

    #[test]
    fn a_tampered_body_or_timestamp_is_refused() {
        let h = header(NOW, &[sign(SECRET, NOW, BODY)]);
        let tampered = br#"{"id":"evt_1","type":"payment_intent.succeeded" }"#;
        assert_eq!(
            verify_signature(Some(&h), tampered, SECRET, NOW),
            Err(SignatureError::Mismatch)
        );
        let moved = header(NOW + 1, &[sign(SECRET, NOW, BODY)]);
        assert_eq!(
            verify_signature(Some(&moved), BODY, SECRET, NOW),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn any_of_several_v1_values_may_match() {
        let h = header(
            NOW,
            &[sign(b"whsec_old", NOW, BODY), sign(SECRET, NOW, BODY)],
        );
        assert_eq!(verify_signature(Some(&h), BODY, SECRET, NOW), Ok(()));
        let with_v0 = format!("{},v0=deadbeef", header(NOW, &[sign(SECRET, NOW, BODY)]));
        assert_eq!(verify_signature(Some(&with_v0), BODY, SECRET, NOW), Ok(()));
    }

    #[test]
    fn missing_or_garbled_headers_are_refused() {
        let good = sign(SECRET, NOW, BODY);
        assert_eq!(
            verify_signature(None, BODY, SECRET, NOW),
            Err(SignatureError::Missing)
        );
        for bad in [
            String::new(),
            "garbage".into(),
            format!("v1={good}"),           // no timestamp
            format!("t={NOW}"),             // no signature
            format!("t=soon,v1={good}"),    // timestamp not a number
            format!("t={NOW},v1=zz{good}"), // not hex
            format!("t={NOW},v1={good}0"),  // odd length
        ] {
            assert_eq!(
                verify_signature(Some(&bad), BODY, SECRET, NOW),
                Err(SignatureError::Malformed),
                "{bad:?}"
            );
        }
    }

    fn order(status: OrderStatus, intent: Option<&str>) -> Order {
        Order {
            id: OrderId::from_trusted(ORDER),
            user_id: UserId::from_trusted("01USER"),
            status,
            payment_status: if status == OrderStatus::Paid {
                crate::orders::model::PaymentStatus::Paid
            } else {
                Default::default()
            },
            payment_intent_id: intent.map(str::to_string),
            payment_intents: vec!["pi_1".into(), "pi_2".into()],
            items: vec![],
            total_cents: Cents::price("p", 2980).unwrap(),
            created_at: Timestamp::now(),
            updated_at: Timestamp::now(),
            ..Order::example()
        }
    }

    fn intent(id: &str, amount: i64, currency: &str) -> PaymentIntent {
        serde_json::from_value(serde_json::json!({
            "id": id, "status": "succeeded", "amount": amount, "currency": currency,
            "metadata": {"order_id": ORDER}
        }))
        .unwrap()
    }

    #[test]
    fn a_payment_settles_only_a_pending_order_of_the_same_total() {
        let pending = order(OrderStatus::Pending, Some("pi_1"));
        assert_eq!(
            settle(&pending, &intent("pi_1", 2980, "usd")),
            Settlement::Pay
        );
        assert_eq!(
            settle(&pending, &intent("pi_1", 2979, "usd")),
            Settlement::Mismatch
        );
        assert_eq!(
            settle(&pending, &intent("pi_1", 2980, "eur")),
            Settlement::Mismatch
        );
        let paid = order(OrderStatus::Paid, Some("pi_1"));
        assert_eq!(
            settle(&paid, &intent("pi_1", 2980, "usd")),
            Settlement::AlreadySettled
        );
        // Paid twice (two cards, or a late 3-D Secure): the second payment goes back.
        assert_eq!(
            settle(&paid, &intent("pi_2", 2980, "usd")),
            Settlement::Refund
        );
        let expired = order(OrderStatus::Cancelled, Some("pi_1"));
        assert_eq!(
            settle(&expired, &intent("pi_1", 2980, "usd")),
            Settlement::Refund
        );
    }

    #[test]
    fn an_intent_settles_only_the_order_that_created_it() {
        let pending = order(OrderStatus::Pending, Some("pi_1"));
        // Made for another order (pi_9 is not one of this order's), metadata naming this one.
        assert_eq!(
            settle(&pending, &intent("pi_9", 2980, "usd")),
            Settlement::Foreign
        );
        // One of this order's intents, but its metadata names another order.
        let mut other = intent("pi_1", 2980, "usd");
        other
            .metadata
            .insert("order_id".into(), "01JD0000000000000000000002".into());
        assert_eq!(settle(&pending, &other), Settlement::Foreign);
        // Never refunded as "late" either, whatever the order's state.
        let paid = order(OrderStatus::Paid, Some("pi_1"));
        assert_eq!(
            settle(&paid, &intent("pi_9", 2980, "usd")),
            Settlement::Foreign
        );
    }

    fn card() -> PayRequest {
        PayRequest {
            payment_method: "pm_card_visa".into(),
        }
    }

    /// The order's owner, verified, paying by card.
    fn plan_payment(o: &Order, now: Timestamp) -> ApiResult<PayPlan> {
        let payer = Payer {
            user: &o.user_id,
            email_verified: true,
        };
        super::plan_payment(o, payer, card(), now)
    }

    fn create(attempt: u32) -> PayPlan {
        PayPlan::Create {
            attempt,
            method: PaymentMethodId::try_from(card()).unwrap(),
        }
    }

    #[test]
    fn only_the_orders_verified_owner_pays_and_with_a_payment_method() {
        let now = Timestamp::parse("2026-12-04T10:00:00.000Z").unwrap();
        let o = order(OrderStatus::Pending, None);
        let stranger = UserId::from_trusted("01STRANGER");
        let as_payer = |user, email_verified, body| {
            super::plan_payment(
                &o,
                Payer {
                    user,
                    email_verified,
                },
                body,
                now,
            )
            .unwrap_err()
            .to_string()
        };
        assert!(as_payer(&stranger, true, card()).contains("only the customer"));
        assert!(as_payer(&o.user_id, false, card()).contains("confirm your email"));
        let junk = PayRequest {
            payment_method: "card_doesnot exist".into(),
        };
        assert!(as_payer(&o.user_id, true, junk).starts_with("payment_method"));
        // Who may pay is decided before what is wrong with the body.
        let junk = PayRequest {
            payment_method: String::new(),
        };
        assert!(as_payer(&o.user_id, false, junk).contains("confirm your email"));
    }

    #[test]
    fn one_attempt_at_a_time_resumed_never_duplicated() {
        let now = Timestamp::parse("2026-12-04T10:00:00.000Z").unwrap();
        let mut o = order(OrderStatus::Pending, None);
        assert_eq!(plan_payment(&o, now).unwrap(), create(0));
        // An open attempt (its intent succeeded or is processing) is answered again.
        o.payment_intent_id = Some("pi_1".into());
        o.payment_open = true;
        assert_eq!(
            plan_payment(&o, now).unwrap(),
            PayPlan::Resume {
                intent: "pi_1".into()
            }
        );
        // A spent one (declined, or waiting for 3-D Secure) makes room for the next.
        o.payment_open = false;
        o.payment_attempts = 3;
        assert_eq!(plan_payment(&o, now).unwrap(), create(3));
        o.payment_attempts = MAX_PAYMENT_ATTEMPTS;
        assert_eq!(
            plan_payment(&o, now).unwrap_err().code(),
            "too_many_payment_attempts"
        );
        o.payment_attempts = 0;
        o.expires_at = Timestamp::parse("2026-12-04T09:59:59.999Z");
        assert_eq!(
            plan_payment(&o, now).unwrap_err().code(),
            "payment_window_closed"
        );
        let paid = order(OrderStatus::Paid, Some("pi_1"));
        assert_eq!(
            plan_payment(&paid, now).unwrap_err().code(),
            "order_not_payable"
        );
    }

    #[test]
    fn intent_statuses_map_to_what_the_shopper_sees_and_unknown_ones_fail_safe() {
        let status = |raw: &str| -> IntentStatus {
            serde_json::from_value(serde_json::Value::String(raw.into())).unwrap()
        };
        assert_eq!(
            view_status(status("succeeded")),
            Some(AttemptStatus::Succeeded)
        );
        assert_eq!(
            view_status(status("requires_capture")),
            Some(AttemptStatus::Processing)
        );
        assert_eq!(
            view_status(status("requires_action")),
            Some(AttemptStatus::RequiresAction)
        );
        assert_eq!(view_status(status("requires_payment_method")), None);
        assert_eq!(status("a_status_stripe_adds_later"), IntentStatus::Other);
        assert_eq!(view_status(IntentStatus::Other), None);
        assert!(money_moving(status("processing")) && !money_moving(status("canceled")));
        assert_eq!(
            serde_json::to_value(AttemptStatus::RequiresAction).unwrap(),
            "requires_action"
        );
    }

    #[test]
    fn event_ids_are_bounded() {
        let event = |id: &str| {
            serde_json::json!({"id": id, "type": "x", "data": {"object": {}}}).to_string()
        };
        assert!(WebhookEvent::parse(event("evt_1AbC").as_bytes()).is_ok());
        for bad in [
            "x".repeat(5000),
            format!("evt_{}", "a".repeat(MAX_EVENT_ID_LEN)),
            "evt_1#2".into(),
            String::new(),
        ] {
            let e = WebhookEvent::parse(event(&bad).as_bytes()).unwrap_err();
            assert_eq!(e.code(), "invalid_event", "{bad:?}");
        }
    }

    #[test]
    fn payment_methods_from_stripe_js_parse_and_others_do_not() {
        let parse = |s: &str| {
            PaymentMethodId::try_from(PayRequest {
                payment_method: s.into(),
            })
        };
        assert_eq!(parse("pm_1Abc").unwrap().as_str(), "pm_1Abc");
        assert!(parse("card_123").is_ok());
        for bad in [
            "",
            "tok_x",
            "pm_1/../../v1/refunds",
            "pm_a b",
            &"pm_x".repeat(100),
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn idempotency_keys_change_per_attempt_and_never_per_retry() {
        let (o, p) = (OrderId::from_trusted("01O"), OrderId::from_trusted("01P"));
        assert_eq!(payment_key(&o, 0), payment_key(&o, 0));
        assert_ne!(payment_key(&o, 0), payment_key(&o, 1));
        assert_ne!(payment_key(&o, 0), payment_key(&p, 0));
    }
}
