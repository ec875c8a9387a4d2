//! A thin client for the few Stripe API calls the shop makes (PaymentIntents and refunds), over
//! the hyper + rustls stack the AWS SDK's client already links: a Stripe crate would add its own
//! HTTP stack and hundreds of generated types to the zip for four form-encoded POSTs.
//!
//! The connection is built on first use, so functions that never call Stripe pay nothing at init.
//! Stripe's certificates chain to public roots, so this client (unlike the SDK's, which trusts only
//! Amazon's) reads the system's root store, once, when the first payment call is made.

use std::{collections::HashMap, sync::OnceLock, time::Duration};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request, header};
use hyper_util::{
    client::legacy::{Client, connect::HttpConnector},
    rt::TokioExecutor,
};
use serde::Deserialize;

use super::config::StripeConfig;
use crate::error::ApiError;

type Https = Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>;

/// A Stripe call answers within this or counts as unavailable (the handler's own limit is 8 s).
const CALL_TIMEOUT: Duration = Duration::from_secs(5);
/// Pinned so a change of the account's default API version cannot change these answers.
const API_VERSION: &str = "2024-06-20";

pub struct Stripe {
    base: String,
    key: Option<String>,
    client: OnceLock<Result<Https, String>>,
}

/// The fields of a PaymentIntent the shop reads.
#[derive(Debug, Clone, Deserialize)]
pub struct PaymentIntent {
    pub id: String,
    pub status: IntentStatus,
    pub amount: i64,
    pub currency: String,
    #[serde(default)]
    pub client_secret: Option<String>,
    #[serde(default)]
    pub metadata: HashMap<String, String>,
    #[serde(default)]
    pub last_payment_error: Option<StripeApiError>,
}

/// A PaymentIntent's `status`, as Stripe documents it; a status Stripe adds later is `Other`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IntentStatus {
    RequiresPaymentMethod,
    RequiresConfirmation,
    RequiresAction,
    Processing,
    RequiresCapture,
    Canceled,
    Succeeded,
    #[serde(other)]
    Other,
}

/// Stripe's `error` object.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct StripeApiError {
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub decline_code: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
    /// The request parameter the error is about (`payment_method` for an unknown card).
    #[serde(default)]
    pub param: Option<String>,
    /// `card_error`, `invalid_request_error`, `idempotency_error`, ...
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
}

impl StripeApiError {
    /// The most specific reason Stripe gave (`insufficient_funds` over `card_declined`).
    pub fn reason(&self) -> String {
        self.decline_code
            .clone()
            .or_else(|| self.code.clone())
            .unwrap_or_else(|| "card_declined".into())
    }

    pub fn shopper_message(&self) -> String {
        self.message
            .clone()
            .unwrap_or_else(|| "Your card was declined.".into())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StripeError {
    /// 402: the issuer declined the card.
    #[error("card declined: {}", .0.reason())]
    Declined(StripeApiError),
    /// Any other 4xx: the request does not fit the object's state (or is a bug of ours).
    #[error("Stripe refused the request ({status}): {}", .error.code.as_deref().unwrap_or("no code"))]
    Refused { status: u16, error: StripeApiError },
    /// Unreachable, too slow, rate-limited or failing (429, 5xx).
    #[error("Stripe is unavailable: {0}")]
    Unavailable(String),
    #[error(
        "payments are not configured (no {})",
        super::config::env::STRIPE_SECRET_KEY
    )]
    NotConfigured,
}

impl StripeError {
    /// Stripe's error code, for callers that treat one refusal as success.
    pub fn code(&self) -> Option<&str> {
        match self {
            StripeError::Refused { error, .. } | StripeError::Declined(error) => {
                error.code.as_deref()
            }
            _ => None,
        }
    }
}

impl StripeError {
    /// A refusal about the card the shopper gave (unknown, someone else's, unusable): Stripe
    /// names `payment_method`, calls it a card error, or (localstripe) answers 404 for it. The
    /// shop sends no other parameter a shopper chose.
    fn about_payment_method(status: u16, error: &StripeApiError) -> bool {
        status == 404
            || error.param.as_deref() == Some("payment_method")
            || error.kind.as_deref() == Some("card_error")
            || error.code.as_deref() == Some("resource_missing")
    }

    /// Two requests with one idempotency key at once, or one key reused with other parameters.
    fn is_conflict(status: u16, error: &StripeApiError) -> bool {
        status == 409
            || error.kind.as_deref() == Some("idempotency_error")
            || error.code.as_deref() == Some("idempotency_key_in_use")
    }
}

/// What a shopper sees of a Stripe failure: a declined or unusable card is theirs to fix (4xx), a
/// second attempt racing the first is a 409, and everything else (Stripe down, or refusing a
/// request of ours) is a 503: never a 500 a shopper could cause at will.
impl From<StripeError> for ApiError {
    fn from(e: StripeError) -> Self {
        match e {
            StripeError::Declined(error) => ApiError::PaymentDeclined {
                code: error.reason(),
                message: error.shopper_message(),
            },
            StripeError::Refused { status, ref error }
                if StripeError::about_payment_method(status, error) =>
            {
                ApiError::invalid_field(
                    "payment_method",
                    "is not a card Stripe can charge; enter the card again",
                )
            }
            StripeError::Refused { status, ref error }
                if StripeError::is_conflict(status, error) =>
            {
                ApiError::conflict(
                    "payment_in_progress",
                    "another payment attempt for this order is in progress; wait for it",
                )
            }
            StripeError::Refused { .. }
            | StripeError::Unavailable(_)
            | StripeError::NotConfigured => ApiError::Unavailable {
                dependency: "the payment service",
                source: Some(Box::new(e)),
            },
        }
    }
}

impl Stripe {
    pub fn new(config: &StripeConfig) -> Self {
        Stripe {
            base: config.api_base.clone(),
            key: config.secret_key.clone(),
            client: OnceLock::new(),
        }
    }

    fn client(&self) -> Result<&Https, StripeError> {
        self.client
            .get_or_init(|| {
                let https = hyper_rustls::HttpsConnectorBuilder::new()
                    .with_native_roots()
                    .map_err(|e| format!("no root certificates: {e}"))?
                    // Plain HTTP only ever reaches localstripe: STRIPE_API_BASE defaults to https.
                    .https_or_http()
                    .enable_http1()
                    .build();
                Ok(Client::builder(TokioExecutor::new()).build(https))
            })
            .as_ref()
            .map_err(|e| StripeError::Unavailable(e.clone()))
    }

    async fn post<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        form: &[(&str, &str)],
        idempotency_key: Option<&str>,
    ) -> Result<T, StripeError> {
        self.call(Method::POST, path, form, idempotency_key).await
    }

    /// Sends `form` to `path` (a POST body; GETs carry none here); `idempotency_key` makes a
    /// retried call return the first answer.
    async fn call<T: serde::de::DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        form: &[(&str, &str)],
        idempotency_key: Option<&str>,
    ) -> Result<T, StripeError> {
        let key = self.key.as_deref().ok_or(StripeError::NotConfigured)?;
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let mut req = Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base))
            .header(header::AUTHORIZATION, format!("Bearer {key}"))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header("Stripe-Version", API_VERSION);
        if let Some(k) = idempotency_key {
            req = req.header("Idempotency-Key", k);
        }
        let req = req
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| StripeError::Unavailable(format!("bad request URL: {e}")))?;
        let client = self.client()?;
        let call = async {
            let res = client
                .request(req)
                .await
                .map_err(|e| StripeError::Unavailable(e.to_string()))?;
            let status = res.status().as_u16();
            let bytes = res
                .into_body()
                .collect()
                .await
                .map_err(|e| StripeError::Unavailable(e.to_string()))?
                .to_bytes();
            Ok::<_, StripeError>((status, bytes))
        };
        let (status, bytes) = tokio::time::timeout(CALL_TIMEOUT, call)
            .await
            .map_err(|_| {
                StripeError::Unavailable(format!("no answer within {CALL_TIMEOUT:?}"))
            })??;
        if (200..300).contains(&status) {
            return serde_json::from_slice(&bytes)
                .map_err(|e| StripeError::Unavailable(format!("unreadable answer: {e}")));
        }
        #[derive(Deserialize, Default)]
        struct Envelope {
            #[serde(default)]
            error: StripeApiError,
        }
        let error = serde_json::from_slice::<Envelope>(&bytes)
            .unwrap_or_default()
            .error;
        Err(match status {
            402 => StripeError::Declined(error),
            429 | 500.. => StripeError::Unavailable(format!("HTTP {status}")),
            _ => StripeError::Refused { status, error },
        })
    }

    /// Creates and confirms a card PaymentIntent in one call (cards only, so no redirect-based
    /// method can need a `return_url`). A decline is [`StripeError::Declined`].
    pub async fn create_payment_intent(
        &self,
        amount_cents: i64,
        currency: &str,
        payment_method: &str,
        metadata: &[(&str, &str)],
        idempotency_key: &str,
    ) -> Result<PaymentIntent, StripeError> {
        let amount = amount_cents.to_string();
        let currency = currency.to_ascii_lowercase();
        let meta: Vec<(String, &str)> = metadata
            .iter()
            .map(|(k, v)| (format!("metadata[{k}]"), *v))
            .collect();
        let mut form: Vec<(&str, &str)> = vec![
            ("amount", &amount),
            ("currency", &currency),
            ("payment_method", payment_method),
            ("payment_method_types[]", "card"),
            ("confirm", "true"),
        ];
        form.extend(meta.iter().map(|(k, v)| (k.as_str(), *v)));
        self.post("/v1/payment_intents", &form, Some(idempotency_key))
            .await
    }

    /// Refunds the whole PaymentIntent, at most once: the idempotency key is the intent's, and
    /// refunding one already refunded counts as done.
    pub async fn refund(&self, intent: &str) -> Result<(), StripeError> {
        match self
            .post::<serde_json::Value>(
                "/v1/refunds",
                &[("payment_intent", intent)],
                Some(&format!("refund-{intent}")),
            )
            .await
        {
            Err(e) if e.code() == Some("charge_already_refunded") => Ok(()),
            other => other.map(|_| ()),
        }
    }

    pub async fn payment_intent(&self, intent: &str) -> Result<PaymentIntent, StripeError> {
        self.call(
            Method::GET,
            &format!("/v1/payment_intents/{intent}"),
            &[],
            None,
        )
        .await
    }

    /// Cancels a PaymentIntent that has not been paid. One that succeeded meanwhile is a
    /// [`StripeError::Refused`] with code `payment_intent_unexpected_state`.
    pub async fn cancel_payment_intent(&self, intent: &str) -> Result<PaymentIntent, StripeError> {
        self.post(&format!("/v1/payment_intents/{intent}/cancel"), &[], None)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(status: u16, error: serde_json::Value) -> ApiError {
        let error: StripeApiError = serde_json::from_value(error).unwrap();
        StripeError::Refused { status, error }.into()
    }

    #[test]
    fn no_stripe_refusal_becomes_a_500() {
        // Stripe's answer to a pm_ that does not exist or belongs to another account.
        let e = refused(
            400,
            serde_json::json!({"type": "invalid_request_error", "code": "resource_missing", "param": "payment_method"}),
        );
        assert_eq!(
            (e.code(), e.body()["error"]["field"].as_str()),
            ("invalid_field", Some("payment_method"))
        );
        // localstripe's answer to the same.
        let e = refused(404, serde_json::json!({"message": "Not Found"}));
        assert_eq!(e.body()["error"]["field"], "payment_method");
        for conflict in [
            refused(409, serde_json::json!({"type": "idempotency_error"})),
            refused(
                400,
                serde_json::json!({"type": "idempotency_error", "message": "Keys for idempotent requests can only be used with the same parameters"}),
            ),
        ] {
            assert_eq!(conflict.code(), "payment_in_progress");
        }
        // A refusal of a request of ours (a bug, or an account setting): a 503, logged.
        let e = refused(
            400,
            serde_json::json!({"type": "invalid_request_error", "param": "currency"}),
        );
        assert_eq!(e.code(), "service_unavailable");
        let e: ApiError = StripeError::Declined(StripeApiError::default()).into();
        assert_eq!(e.code(), "card_declined");
    }
}
