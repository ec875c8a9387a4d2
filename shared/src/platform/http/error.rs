//! The one mapping from what went wrong to an HTTP status and response.

use lambda_http::http::{StatusCode, header};

use super::Reply;
use crate::error::ApiError;

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Invalid { .. } => StatusCode::BAD_REQUEST,
            ApiError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            ApiError::NotAllowed(_) | ApiError::Blocked { .. } => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict { .. } => StatusCode::CONFLICT,
            ApiError::Rejected { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::PaymentDeclined { .. } => StatusCode::PAYMENT_REQUIRED,
            ApiError::Stale(_) => StatusCode::PRECONDITION_FAILED,
            ApiError::PreconditionRequired(_) => StatusCode::PRECONDITION_REQUIRED,
            ApiError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Throttled { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

pub(super) fn reply(err: &ApiError) -> Reply {
    let mut reply = Reply {
        status: err.status(),
        body: Some(err.body().to_string()),
        headers: Vec::new(),
        caching: super::Caching::Private,
    };
    if let ApiError::Throttled { retry_after_secs } = err {
        reply = reply.with_header(header::RETRY_AFTER, retry_after_secs.to_string());
    }
    reply
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_of_error_gets_its_status() {
        assert_eq!(
            ApiError::invalid_field("email", "bad").status(),
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            ApiError::internal("x").status(),
            StatusCode::INTERNAL_SERVER_ERROR
        );
        assert_eq!(
            ApiError::conflict("slug_taken", "taken").status(),
            StatusCode::CONFLICT
        );
        assert_eq!(ApiError::NotFound("order").status(), StatusCode::NOT_FOUND);
    }

    #[test]
    fn throttling_sends_retry_after() {
        let r = reply(&ApiError::Throttled {
            retry_after_secs: 42,
        });
        assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
        assert!(
            r.headers
                .iter()
                .any(|(k, v)| *k == header::RETRY_AFTER && v == "42")
        );
    }
}
