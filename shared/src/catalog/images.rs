//! Product images: presigned S3 uploads, signed with the function's own credentials. Signing needs
//! no S3 client, which keeps the S3 SDK (a third of the zip) out of the function.

use std::time::Duration;

use crate::{
    app::App,
    error::{ApiError, ApiResult},
};

pub const UPLOAD_URL_TTL: Duration = Duration::from_secs(300);

/// A presigned PUT for `key`, valid for [`UPLOAD_URL_TTL`], bound to `content_type`.
pub async fn presign_upload(app: &App, key: &str, content_type: &str) -> ApiResult<String> {
    presign(
        "PUT",
        &app.image_object_url(key),
        &[("content-type", content_type)],
        app.credentials().await?,
        &app.config.region,
        std::time::SystemTime::now(),
        UPLOAD_URL_TTL,
    )
}

/// An S3 URL with SigV4 in its query string (what the S3 SDK's presigner produces): the signature
/// covers the method, the URL, `headers` and the expiry, not the payload.
fn presign(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    credentials: aws_credential_types::Credentials,
    region: &str,
    time: std::time::SystemTime,
    expires_in: std::time::Duration,
) -> ApiResult<String> {
    use aws_sigv4::{
        http_request::{
            PercentEncodingMode, SignableBody, SignableRequest, SignatureLocation, SigningSettings,
            UriPathNormalizationMode, sign,
        },
        sign::v4,
    };
    let identity = credentials.into();
    let mut settings = SigningSettings::default();
    settings.signature_location = SignatureLocation::QueryParams;
    settings.expires_in = Some(expires_in);
    // S3 signs the path exactly as sent: no second encoding, no normalisation.
    settings.percent_encoding_mode = PercentEncodingMode::Single;
    settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("s3")
        .time(time)
        .settings(settings)
        .build()
        .map_err(ApiError::internal)?
        .into();
    let signable = SignableRequest::new(
        method,
        url,
        headers.iter().copied(),
        SignableBody::UnsignedPayload,
    )
    .map_err(ApiError::internal)?;
    let (instructions, _) = sign(signable, &params)
        .map_err(ApiError::internal)?
        .into_parts();
    let mut req = lambda_http::http::Request::builder()
        .method(method)
        .uri(url)
        .body(())
        .map_err(ApiError::internal)?;
    instructions.apply_to_request_http1x(&mut req);
    Ok(req.uri().to_string())
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    /// AWS's published example ("Authenticating Requests: Using Query Parameters"), byte for byte.
    #[test]
    fn presigning_reproduces_the_aws_documented_example() {
        let url = presign(
            "GET",
            "https://examplebucket.s3.amazonaws.com/test.txt",
            &[],
            aws_credential_types::Credentials::new(
                "AKIAIOSFODNN7EXAMPLE",
                "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                None,
                None,
                "example",
            ),
            "us-east-1",
            std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_369_353_600),
            std::time::Duration::from_secs(86_400),
        )
        .unwrap();
        assert_eq!(
            url,
            "https://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256\
             &X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request\
             &X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host\
             &X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
        );
    }

    #[tokio::test]
    async fn presigned_upload_is_a_put_bound_to_type_and_expiring() {
        let m: HashMap<&str, String> = HashMap::from([
            ("USERS_TABLE", "u".into()),
            ("PRODUCTS_TABLE", "p".into()),
            ("ORDERS_TABLE", "o".into()),
            ("JWT_SECRET", "s".repeat(32)),
            ("IMAGES_BUCKET", "shop-images".into()),
            ("S3_ENDPOINT", "http://127.0.0.1:9".into()),
        ]);
        let config = crate::platform::config::Config::from_lookup(|k| m.get(k).cloned()).unwrap();
        let app = App::new(config);
        let url = presign_upload(&app, "products/X/1.png", "image/png")
            .await
            .unwrap();
        assert!(
            url.starts_with("http://127.0.0.1:9/shop-images/products/X/1.png?"),
            "{url}"
        );
        assert!(url.contains("X-Amz-Expires=300"), "{url}");
        assert!(
            url.contains("X-Amz-SignedHeaders=content-type%3Bhost"),
            "{url}"
        );
        assert!(url.contains("X-Amz-Signature="), "{url}");
        assert!(!url.contains("x-id=GetObject"), "{url}");
    }
}
