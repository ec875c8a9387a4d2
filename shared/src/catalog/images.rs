//! Product images: uploads by presigned S3 POST, signed with the function's own credentials. The
//! policy fixes the object key and its content type and caps the size, so S3 itself refuses an
//! oversized or retyped upload. Signing needs no S3 client, which keeps the S3 SDK (a third of the
//! zip) out of the function.

use std::{
    collections::BTreeMap,
    time::{Duration, SystemTime},
};

use base64::{Engine, engine::general_purpose::STANDARD as B64};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::{app::App, error::ApiResult};

pub const UPLOAD_URL_TTL: Duration = Duration::from_secs(300);
/// Largest image an admin may upload: 5 MiB.
pub const MAX_IMAGE_BYTES: u64 = 5 * 1024 * 1024;
const ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// A browser form upload: POST `url` as `multipart/form-data` with `fields` first, then the file
/// as the field `file`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PostUpload {
    pub url: String,
    pub fields: BTreeMap<String, String>,
}

/// What a POST policy is signed for: the object, who signs and until when.
#[derive(Debug)]
struct PolicyScope<'a> {
    bucket: &'a str,
    key: &'a str,
    content_type: &'a str,
    max_bytes: u64,
    access_key: &'a str,
    session_token: Option<&'a str>,
    region: &'a str,
    time: SystemTime,
    expires_in: Duration,
}

/// `20130524T000000Z` and `20130524` for `time`.
fn amz_dates(time: SystemTime) -> (String, String) {
    let stamp: String = humantime::format_rfc3339_seconds(time)
        .to_string()
        .chars()
        .filter(|c| !matches!(c, '-' | ':'))
        .collect();
    let date = stamp[..8].to_string();
    (stamp, date)
}

impl PolicyScope<'_> {
    fn credential(&self) -> String {
        let (_, date) = amz_dates(self.time);
        format!("{}/{date}/{}/s3/aws4_request", self.access_key, self.region)
    }

    /// The policy document S3 checks the POST against: this bucket, exactly this key and content
    /// type, 1 byte to `max_bytes`, and the signing fields themselves.
    fn policy(&self) -> serde_json::Value {
        let (stamp, _) = amz_dates(self.time);
        let expiration = humantime::format_rfc3339_millis(self.time + self.expires_in).to_string();
        let mut conditions = vec![
            json!({ "bucket": self.bucket }),
            json!(["eq", "$key", self.key]),
            json!(["eq", "$Content-Type", self.content_type]),
            json!(["content-length-range", 1, self.max_bytes]),
            json!({ "x-amz-algorithm": ALGORITHM }),
            json!({ "x-amz-credential": self.credential() }),
            json!({ "x-amz-date": stamp }),
        ];
        if let Some(token) = self.session_token {
            conditions.push(json!({ "x-amz-security-token": token }));
        }
        json!({ "expiration": expiration, "conditions": conditions })
    }

    /// The form fields: the base64 policy and its SigV4 signature (HMAC-SHA256 of the policy with
    /// the date/region/service signing key), plus what the policy requires the form to carry.
    fn fields(&self, secret: &str) -> BTreeMap<String, String> {
        let policy = B64.encode(self.policy().to_string());
        let key = aws_sigv4::sign::v4::generate_signing_key(secret, self.time, self.region, "s3");
        let signature = aws_sigv4::sign::v4::calculate_signature(key, policy.as_bytes());
        let (stamp, _) = amz_dates(self.time);
        let mut fields = BTreeMap::from([
            ("key".to_string(), self.key.to_string()),
            ("Content-Type".to_string(), self.content_type.to_string()),
            ("x-amz-algorithm".to_string(), ALGORITHM.to_string()),
            ("x-amz-credential".to_string(), self.credential()),
            ("x-amz-date".to_string(), stamp),
            ("policy".to_string(), policy),
            ("x-amz-signature".to_string(), signature),
        ]);
        if let Some(token) = self.session_token {
            fields.insert("x-amz-security-token".into(), token.to_string());
        }
        fields
    }
}

/// A presigned POST for `key`, valid for [`UPLOAD_URL_TTL`], for one `content_type` file of at most
/// [`MAX_IMAGE_BYTES`].
pub async fn presign_upload(app: &App, key: &str, content_type: &str) -> ApiResult<PostUpload> {
    let credentials = app.credentials().await?;
    let scope = PolicyScope {
        bucket: &app.config.images_bucket,
        key,
        content_type,
        max_bytes: MAX_IMAGE_BYTES,
        access_key: credentials.access_key_id(),
        session_token: credentials.session_token(),
        region: &app.config.region,
        time: SystemTime::now(),
        expires_in: UPLOAD_URL_TTL,
    };
    Ok(PostUpload {
        url: app.image_bucket_url(),
        fields: scope.fields(credentials.secret_access_key()),
    })
}

#[cfg(test)]
mod tests {
    use hmac::{Hmac, Mac};
    use sha2::Sha256;

    use super::*;

    fn scope(token: Option<&'static str>) -> PolicyScope<'static> {
        PolicyScope {
            bucket: "shop-images",
            key: "products/01H/01J.png",
            content_type: "image/png",
            max_bytes: MAX_IMAGE_BYTES,
            access_key: "AKIAIOSFODNN7EXAMPLE",
            session_token: token,
            region: "us-east-1",
            time: std::time::UNIX_EPOCH + Duration::from_secs(1_369_353_600),
            expires_in: UPLOAD_URL_TTL,
        }
    }

    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

    #[test]
    fn the_policy_fixes_key_and_type_caps_the_size_and_expires() {
        let p = scope(None).policy();
        assert_eq!(p["expiration"], "2013-05-24T00:05:00.000Z");
        let c = p["conditions"].as_array().unwrap();
        assert!(c.contains(&json!({"bucket": "shop-images"})));
        assert!(c.contains(&json!(["eq", "$key", "products/01H/01J.png"])));
        assert!(c.contains(&json!(["eq", "$Content-Type", "image/png"])));
        assert!(c.contains(&json!(["content-length-range", 1, 5_242_880])));
        assert!(c.contains(
            &json!({"x-amz-credential": "AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request"})
        ));
        assert!(c.contains(&json!({"x-amz-date": "20130524T000000Z"})));
        assert!(c.contains(&json!({"x-amz-algorithm": "AWS4-HMAC-SHA256"})));
        // Temporary credentials (a Lambda's role) must sign their token too.
        let with_token = scope(Some("session-token")).policy();
        assert!(
            with_token["conditions"]
                .as_array()
                .unwrap()
                .contains(&json!({"x-amz-security-token": "session-token"}))
        );
    }

    #[test]
    fn the_signature_is_sigv4_over_the_base64_policy() {
        let s = scope(Some("session-token"));
        let fields = s.fields(SECRET);
        let policy = &fields["policy"];
        let decoded: serde_json::Value =
            serde_json::from_slice(&B64.decode(policy).unwrap()).unwrap();
        assert_eq!(decoded, s.policy());
        // The SigV4 key chain, computed here by hand.
        let hmac = |key: &[u8], data: &str| {
            let mut m = Hmac::<Sha256>::new_from_slice(key).unwrap();
            m.update(data.as_bytes());
            m.finalize().into_bytes().to_vec()
        };
        let k = hmac(format!("AWS4{SECRET}").as_bytes(), "20130524");
        let k = hmac(&k, "us-east-1");
        let k = hmac(&k, "s3");
        let k = hmac(&k, "aws4_request");
        let expected: String = hmac(&k, policy)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(fields["x-amz-signature"], expected);
        assert_eq!(fields["key"], "products/01H/01J.png");
        assert_eq!(fields["Content-Type"], "image/png");
        assert_eq!(fields["x-amz-security-token"], "session-token");
        // Another secret, another signature.
        assert_ne!(s.fields("another-secret")["x-amz-signature"], expected);
    }

    #[tokio::test]
    async fn uploads_go_to_the_bucket_itself() {
        let m: std::collections::HashMap<&str, String> = std::collections::HashMap::from([
            ("USERS_TABLE", "u".into()),
            ("PRODUCTS_TABLE", "p".into()),
            ("ORDERS_TABLE", "o".into()),
            ("JWT_SECRET", "s".repeat(32)),
            ("IMAGES_BUCKET", "shop-images".into()),
            ("S3_ENDPOINT", "http://127.0.0.1:9".into()),
        ]);
        let app = App::load(|k| m.get(k).cloned()).unwrap();
        let up = presign_upload(app, "products/X/1.png", "image/png")
            .await
            .unwrap();
        assert_eq!(up.url, "http://127.0.0.1:9/shop-images");
        assert_eq!(up.fields["key"], "products/X/1.png");
        assert!(up.fields.contains_key("x-amz-signature"));
    }
}
