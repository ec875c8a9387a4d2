//! SES v2 `SendEmail`: one message with a plain-text and an HTML part.

use aws_sdk_sesv2::{
    Client,
    error::DisplayErrorContext,
    types::{Body, Content, Destination, EmailContent, Message},
};

use crate::error::{ApiError, ApiResult};

fn content(s: &str) -> ApiResult<Content> {
    Content::builder()
        .data(s)
        .charset("UTF-8")
        .build()
        .map_err(ApiError::internal)
}

/// Sends one email from `from` to `to`; SES's message id.
pub async fn send(
    client: &Client,
    from: &str,
    to: &str,
    subject: &str,
    text: &str,
    html: &str,
) -> ApiResult<String> {
    let message = Message::builder()
        .subject(content(subject)?)
        .body(
            Body::builder()
                .text(content(text)?)
                .html(content(html)?)
                .build(),
        )
        .build();
    let out = client
        .send_email()
        .from_email_address(from)
        .destination(Destination::builder().to_addresses(to).build())
        .content(EmailContent::builder().simple(message).build())
        .send()
        .await
        .map_err(|e| ApiError::Unavailable {
            dependency: "SES",
            source: Some(DisplayErrorContext(e).to_string().into()),
        })?;
    Ok(out.message_id().unwrap_or_default().to_string())
}

/// Registers `from` as a sender identity (the dev tools and tests do, against the local SES; on
/// AWS the stack does and SES verifies it). Succeeds when it exists.
pub async fn create_sender(client: &Client, from: &str) -> Result<(), String> {
    use aws_sdk_sesv2::error::ProvideErrorMetadata;
    match client
        .create_email_identity()
        .email_identity(from)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if e.code() == Some("AlreadyExistsException") => Ok(()),
        Err(e) => Err(format!("create sender {from}: {}", DisplayErrorContext(e))),
    }
}
