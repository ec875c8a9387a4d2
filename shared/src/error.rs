//! The one error type of the shop. Each variant says what went wrong (an invalid field, a conflict,
//! a missing entity, a dependency outage); `platform::http` alone decides which status it gets, and
//! `body` is the JSON error contract: `{"error": {"code": "...", "message": "...", "details"?: {...}}}`.
//! No HTTP or AWS types here, so domain models use it without either.

use serde_json::{Value, json};

pub type ApiResult<T> = Result<T, ApiError>;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The input cannot be understood or is out of bounds; `field` names the offending field.
    #[error("{message}")]
    Invalid {
        code: &'static str,
        message: String,
        field: Option<String>,
    },
    /// No valid credentials: missing, malformed, expired, revoked or forged.
    #[error("{0}")]
    Unauthenticated(&'static str),
    /// Authenticated, but this caller may not do this.
    #[error("{0}")]
    NotAllowed(&'static str),
    /// The account may not go on: it must do `code` first (set a new password) and may do nothing
    /// else until then, or it is disabled.
    #[error("{message}")]
    Blocked {
        code: &'static str,
        message: &'static str,
    },
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{message}")]
    Conflict {
        code: &'static str,
        message: String,
        details: Option<Value>,
    },
    /// Well-formed but impossible to act on (an empty cart, products that do not exist).
    #[error("{message}")]
    Rejected {
        code: &'static str,
        message: String,
        details: Option<Value>,
    },
    /// The payment was refused by the card's issuer (or its authentication failed); the message is
    /// the processor's, meant for the shopper.
    #[error("{message}")]
    PaymentDeclined { code: String, message: String },
    /// The caller edits a version of a document that is no longer the current one (`If-Match`).
    #[error("{0} changed since you read it: reload it and apply your change again")]
    Stale(&'static str),
    /// A write of a shared document without the `If-Match` of the version it edits.
    #[error("send If-Match with the ETag of the {0} you read, so no one's change is overwritten")]
    PreconditionRequired(&'static str),
    #[error("request body is larger than {limit} bytes")]
    TooLarge { limit: usize },
    /// Too many attempts for now; the caller may retry after the given time.
    #[error("too many attempts; retry in {retry_after_secs} seconds")]
    Throttled { retry_after_secs: u64 },
    /// A dependency (DynamoDB, S3) is down, throttled or too slow. The source is logged, not returned.
    #[error("{dependency} is unavailable")]
    Unavailable {
        dependency: &'static str,
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
    /// A bug or an unexpected answer from a dependency. Never for anything the client sent.
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl ApiError {
    pub fn invalid_field(field: impl Into<String>, message: impl std::fmt::Display) -> Self {
        let field = field.into();
        ApiError::Invalid {
            code: "invalid_field",
            message: format!("{field}: {message}"),
            field: Some(field),
        }
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::Invalid {
            code,
            message: message.into(),
            field: None,
        }
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::Conflict {
            code,
            message: message.into(),
            details: None,
        }
    }

    pub fn internal(e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        ApiError::Internal(e.into())
    }

    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Invalid { code, .. }
            | ApiError::Conflict { code, .. }
            | ApiError::Rejected { code, .. }
            | ApiError::Blocked { code, .. } => code,
            ApiError::Unauthenticated(_) => "unauthorized",
            ApiError::NotAllowed(_) => "forbidden",
            ApiError::NotFound(_) => "not_found",
            ApiError::PaymentDeclined { .. } => "card_declined",
            ApiError::Stale(_) => "precondition_failed",
            ApiError::PreconditionRequired(_) => "precondition_required",
            ApiError::TooLarge { .. } => "payload_too_large",
            ApiError::Throttled { .. } => "too_many_requests",
            ApiError::Unavailable { .. } => "service_unavailable",
            ApiError::Internal(_) => "internal_error",
        }
    }

    /// The JSON body a client sees. Sources (SDK errors, stack details) are never part of it.
    pub fn body(&self) -> Value {
        let mut error = json!({ "code": self.code(), "message": self.to_string() });
        match self {
            ApiError::Invalid { field: Some(f), .. } => error["field"] = json!(f),
            ApiError::Conflict {
                details: Some(d), ..
            }
            | ApiError::Rejected {
                details: Some(d), ..
            } => error["details"] = d.clone(),
            ApiError::Throttled { retry_after_secs } => {
                error["retry_after"] = json!(retry_after_secs)
            }
            // The issuer's reason (`insufficient_funds`, `card_declined`...) beside the stable code.
            ApiError::PaymentDeclined { code, .. } => error["decline_code"] = json!(code),
            _ => {}
        }
        json!({ "error": error })
    }

    /// The whole cause chain on one line, for the single log entry an error gets.
    pub fn chain(&self) -> String {
        let mut out = self.to_string();
        let mut src = std::error::Error::source(self);
        while let Some(s) = src {
            out.push_str(": ");
            out.push_str(&s.to_string());
            src = s.source();
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_errors_do_not_leak_their_source() {
        let e = ApiError::internal("table shop-users has no attribute password_hash");
        let body = e.body().to_string();
        assert_eq!(e.code(), "internal_error");
        assert!(!body.contains("password_hash"), "{body}");
        assert!(e.chain().contains("password_hash"));
    }

    #[test]
    fn field_errors_name_the_field() {
        let e = ApiError::invalid_field("email", "must be a valid email address");
        let b = e.body();
        assert_eq!(b["error"]["code"], "invalid_field");
        assert_eq!(b["error"]["field"], "email");
        assert!(
            b["error"]["message"]
                .as_str()
                .unwrap()
                .starts_with("email:")
        );
    }

    #[test]
    fn throttle_body_carries_retry_after() {
        let e = ApiError::Throttled {
            retry_after_secs: 42,
        };
        assert_eq!(e.body()["error"]["retry_after"], 42);
    }
}
