//! One error type for every endpoint, mapped once to the JSON error contract:
//! `{"error": {"code": "...", "message": "...", "details"?: {...}}}`.

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use lambda_http::http::StatusCode;
use serde_json::{Value, json};

pub type ApiResult<T> = Result<T, ApiError>;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("missing required setting {0}")]
    Missing(&'static str),
    #[error("invalid setting {var}: {reason}")]
    Invalid { var: &'static str, reason: String },
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the request cannot be understood; `field` names the offending field when there is one.
    #[error("{message}")]
    BadRequest {
        code: &'static str,
        message: String,
        field: Option<String>,
    },
    #[error("{0}")]
    Unauthorized(&'static str),
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{message}")]
    Conflict {
        code: &'static str,
        message: String,
        details: Option<Value>,
    },
    /// 422: well-formed but impossible to act on (an empty cart, products that do not exist).
    #[error("{message}")]
    Unprocessable {
        code: &'static str,
        message: String,
        details: Option<Value>,
    },
    #[error("request body is larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("too many attempts; retry in {retry_after_secs} seconds")]
    TooManyRequests { retry_after_secs: u64 },
    /// 503: a dependency (DynamoDB, S3) is down, throttled or too slow. The source is logged, not returned.
    #[error("{dependency} is unavailable")]
    Unavailable {
        dependency: &'static str,
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
    /// 500: a bug or an unexpected answer from a dependency. Never for anything the client sent.
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl ApiError {
    pub fn invalid_field(field: impl Into<String>, message: impl std::fmt::Display) -> Self {
        let field = field.into();
        ApiError::BadRequest {
            code: "invalid_field",
            message: format!("{field}: {message}"),
            field: Some(field),
        }
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::BadRequest {
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

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict { .. } => StatusCode::CONFLICT,
            ApiError::Unprocessable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            ApiError::BadRequest { code, .. }
            | ApiError::Conflict { code, .. }
            | ApiError::Unprocessable { code, .. } => code,
            ApiError::Unauthorized(_) => "unauthorized",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::NotFound(_) => "not_found",
            ApiError::PayloadTooLarge { .. } => "payload_too_large",
            ApiError::TooManyRequests { .. } => "too_many_requests",
            ApiError::Unavailable { .. } => "service_unavailable",
            ApiError::Internal(_) => "internal_error",
        }
    }

    /// The JSON body a client sees. Sources (SDK errors, stack details) are never part of it.
    pub fn body(&self) -> Value {
        let mut error = json!({ "code": self.code(), "message": self.to_string() });
        match self {
            ApiError::BadRequest { field: Some(f), .. } => error["field"] = json!(f),
            ApiError::Conflict {
                details: Some(d), ..
            }
            | ApiError::Unprocessable {
                details: Some(d), ..
            } => error["details"] = d.clone(),
            ApiError::TooManyRequests { retry_after_secs } => {
                error["retry_after"] = json!(retry_after_secs)
            }
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

/// Transport failures, timeouts and throttling are a dependency outage (503); anything else from the
/// SDK is unexpected (500). Conditional-check failures are handled by the callers before this.
impl<E, R> From<SdkError<E, R>> for ApiError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    fn from(err: SdkError<E, R>) -> Self {
        let outage = match &err {
            SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => true,
            SdkError::ServiceError(e) => matches!(
                e.err().code(),
                Some(
                    "ProvisionedThroughputExceededException"
                        | "ThrottlingException"
                        | "RequestLimitExceeded"
                        | "InternalServerError"
                        | "ServiceUnavailable"
                        | "SlowDown"
                )
            ),
            SdkError::ResponseError(_) => true,
            _ => false,
        };
        let source = aws_sdk_dynamodb::error::DisplayErrorContext(err).to_string();
        if outage {
            ApiError::Unavailable {
                dependency: "storage",
                source: Some(source.into()),
            }
        } else {
            ApiError::Internal(source.into())
        }
    }
}

impl From<serde_dynamo::Error> for ApiError {
    fn from(e: serde_dynamo::Error) -> Self {
        ApiError::internal(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_errors_do_not_leak_their_source() {
        let e = ApiError::internal("table shop-users has no attribute password_hash");
        let body = e.body().to_string();
        assert_eq!(e.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!body.contains("password_hash"), "{body}");
        assert!(e.chain().contains("password_hash"));
    }

    #[test]
    fn field_errors_name_the_field() {
        let e = ApiError::invalid_field("email", "must be a valid email address");
        assert_eq!(e.status(), StatusCode::BAD_REQUEST);
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
        let e = ApiError::TooManyRequests {
            retry_after_secs: 42,
        };
        assert_eq!(e.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(e.body()["error"]["retry_after"], 42);
    }
}
