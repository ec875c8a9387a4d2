//! The S3 emulator (npm `s3rver`, through `scripts/s3rver/run.cjs`), started once per test process
//! with the images and site buckets.

use std::{process::Command, sync::OnceLock, time::Duration};

use crate::{free_port, process_lifetime_service, repo_root, spawn_tied, wait_for_port};

pub const IMAGES_BUCKET: &str = "shop-images";
pub const SITE_BUCKET: &str = "shop-site";

/// The emulator on a free port with data in a temporary folder; returns its endpoint URL.
pub fn endpoint() -> String {
    static ENDPOINT: OnceLock<String> = OnceLock::new();
    ENDPOINT
        .get_or_init(|| {
            let port = process_lifetime_service(|| {
                let port = free_port();
                let dir = std::env::temp_dir().join(format!("shop-s3-{}", std::process::id()));
                std::fs::create_dir_all(&dir).unwrap();
                // As the dev stack runs it: writes replace an object whole, as S3's do.
                let bin = repo_root().join("scripts/s3rver/run.cjs");
                let child = spawn_tied(
                    Command::new("node")
                        .arg(bin)
                        .arg("--directory")
                        .arg(&dir)
                        .args(["--address", "127.0.0.1", "--silent", "--port"])
                        .arg(port.to_string())
                        .args(["--configure-bucket", IMAGES_BUCKET])
                        .args(["--configure-bucket", SITE_BUCKET])
                        .stdout(std::process::Stdio::null()),
                )
                .expect("node is installed");
                assert!(
                    wait_for_port(port, Duration::from_secs(30)),
                    "s3rver did not start"
                );
                (port, child)
            });
            format!("http://127.0.0.1:{port}")
        })
        .clone()
}

/// S3's `Object Created` event for `key`, as EventBridge delivers it to a rule's target.
pub fn object_created(bucket: &str, key: &str, size: u64, time: &str) -> serde_json::Value {
    serde_json::json!({
        "version": "0",
        "id": ulid::Ulid::new().to_string(),
        "detail-type": "Object Created",
        "source": "aws.s3",
        "account": "123456789012",
        "time": time,
        "region": "us-east-1",
        "resources": [format!("arn:aws:s3:::{bucket}")],
        "detail": {
            "version": "0",
            "bucket": {"name": bucket},
            "object": {"key": key, "size": size, "sequencer": "00617F08299329D189"},
            "request-id": "N4N7GDK58NMKJ12R",
            "requester": "123456789012",
            "reason": "PutObject"
        }
    })
}

/// A `width` x `height` PNG: a gradient, so resized widths differ in their bytes.
pub fn sample_png(width: u32, height: u32) -> Vec<u8> {
    use image::ImageEncoder;
    let img = image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([
            (x * 255 / width.max(1)) as u8,
            (y * 255 / height.max(1)) as u8,
            90,
        ])
    });
    let mut out = Vec::new();
    image::codecs::png::PngEncoder::new(&mut out)
        .write_image(img.as_raw(), width, height, image::ExtendedColorType::Rgb8)
        .expect("a PNG encodes");
    out
}

/// A `width` x `height` JPEG with a photo's detail (shading and grain), so decoding, resizing and
/// encoding it costs what a product photo's does.
pub fn sample_photo(width: u32, height: u32) -> Vec<u8> {
    let mut seed = 0x2545_f491_u32;
    let img = image::RgbImage::from_fn(width, height, |x, y| {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        let grain = seed % 48;
        let shade = |v: u32, span: u32| (v * 160 / span.max(1) + grain) as u8;
        image::Rgb([
            shade(x, width),
            shade(y, height),
            shade(x + y, width + height),
        ])
    });
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85)
        .encode_image(&img)
        .expect("a JPEG encodes");
    out
}

/// The storefront's shell (`static-site/index.html`) in `app`'s site bucket, as publish-site
/// leaves it: what render-pages makes every page from.
pub async fn publish_shell(app: &shop::App) {
    let shell = std::fs::read(repo_root().join("static-site/index.html")).unwrap();
    let html = shop::platform::objects::Stored {
        content_type: "text/html",
        cache_control: shop::platform::objects::REVALIDATE,
    };
    let credentials = app.credentials().await.unwrap();
    app.site
        .put(&credentials, "index.html", shell, html)
        .await
        .unwrap();
}
