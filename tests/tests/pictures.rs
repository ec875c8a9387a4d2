//! Product pictures: what resize-image makes of an upload, and what it refuses, delivered as the
//! bucket's `Object Created` event (twice, late, out of order, for a product that is gone).

use serde_json::{Value, json};
use shop_tests::{TestApp, request, s3};

async fn new_product(t: &TestApp, admin: &str, name: &str) -> String {
    let r = t
        .api()
        .create_product(
            admin,
            json!({"name": name, "price_cents": 900, "category": "tea", "stock": 4}),
        )
        .await;
    r.body["id"].as_str().unwrap().to_string()
}

async fn product(t: &TestApp, id: &str) -> Value {
    t.api()
        .send(request("GET", &format!("/products/{id}")))
        .await
        .body
}

async fn status_of(url: &str) -> u16 {
    reqwest::get(url).await.unwrap().status().as_u16()
}

fn object_url(key: &str) -> String {
    format!("{}/{}/{key}", s3::endpoint(), s3::IMAGES_BUCKET)
}

/// The upload's id: the file name of its key.
fn upload_of(key: &str) -> &str {
    key.rsplit('/').next().unwrap().split('.').next().unwrap()
}

#[tokio::test]
async fn what_is_not_an_allowed_picture_is_refused_deleted_and_never_served() {
    let t = TestApp::new().await;
    let (admin, _) = t.admin_and_customer().await;
    let id = new_product(&t, &admin, "Refused Tea").await;
    // Markup sent as a PNG, a GIF under PNG's name, a JPEG's type over PNG bytes, and a PNG whose
    // header claims 8000 x 8000 pixels (64 MP).
    let mut huge = s3::sample_png(1, 1);
    huge[16..24].copy_from_slice(&[0, 0, 0x1f, 0x40, 0, 0, 0x1f, 0x40]);
    let uploads = [
        (
            "image/png",
            b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>".to_vec(),
        ),
        ("image/png", b"GIF89a\x01\x00\x01\x00\x00\x00\x00;".to_vec()),
        ("image/jpeg", s3::sample_png(8, 8)),
        ("image/png", huge),
    ];
    for (content_type, bytes) in uploads {
        let key = t.upload_picture(&admin, &id, content_type, bytes).await;
        assert_eq!(status_of(&object_url(&key)).await, 200, "uploaded");
        assert_eq!(t.deliver_upload(&key).await["made"], "refused", "{key}");
        assert_eq!(
            status_of(&object_url(&key)).await,
            404,
            "the refused upload is deleted"
        );
        let folder = format!("products/{id}/{}", upload_of(&key));
        for name in [
            "original.png",
            "original.jpg",
            "320.webp",
            "1.webp",
            "8.webp",
        ] {
            assert_eq!(
                status_of(&object_url(&format!("{folder}/{name}"))).await,
                404
            );
        }
        let p = product(&t, &id).await;
        assert!(
            p.get("picture").is_none() && p.get("image_url").is_none(),
            "{p}"
        );
    }
    // None of them is in the audit trail: nothing changed.
    let trail = t.every_page(&admin, "/admin/audit", 50).await;
    assert!(!trail.iter().any(|e| e["action"] == "product_image_set"));
}

#[tokio::test]
async fn an_upload_delivered_twice_makes_one_picture_and_one_audit_entry() {
    let t = TestApp::new().await;
    let (admin, _) = t.admin_and_customer().await;
    let id = new_product(&t, &admin, "Twice Tea").await;
    let key = t
        .upload_picture(&admin, &id, "image/png", s3::sample_png(800, 600))
        .await;
    assert_eq!(t.deliver_upload(&key).await["made"], "picture");
    let first = product(&t, &id).await;
    assert_eq!(t.deliver_upload(&key).await["made"], "nothing");
    let second = product(&t, &id).await;
    assert_eq!(first["picture"], second["picture"]);
    assert_eq!(first["updated_at"], second["updated_at"]);
    let widths: Vec<&Value> = first["picture"]["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| &s["width"])
        .collect();
    assert_eq!(
        widths,
        [&json!(320), &json!(640), &json!(800)],
        "never wider than the upload"
    );
    let trail = t.every_page(&admin, "/admin/audit", 50).await;
    let set: Vec<&Value> = trail
        .iter()
        .filter(|e| e["action"] == "product_image_set" && e["target"] == id.as_str())
        .collect();
    assert_eq!(set.len(), 1, "{set:?}");
}

#[tokio::test]
async fn the_latest_upload_wins_whatever_order_the_events_arrive_in() {
    let t = TestApp::new().await;
    let (admin, _) = t.admin_and_customer().await;
    let id = new_product(&t, &admin, "Order Tea").await;
    let older = t
        .upload_picture(&admin, &id, "image/png", s3::sample_png(400, 300))
        .await;
    let newer = t
        .upload_picture(&admin, &id, "image/png", s3::sample_png(300, 400))
        .await;
    assert_eq!(t.deliver_upload(&newer).await["made"], "picture");
    assert_eq!(t.deliver_upload(&older).await["made"], "nothing");
    let p = product(&t, &id).await;
    assert_eq!(p["picture"]["upload"], upload_of(&newer));
    assert_eq!(
        (
            p["picture"]["width"].as_u64(),
            p["picture"]["height"].as_u64()
        ),
        (Some(300), Some(400))
    );
    assert_eq!(
        status_of(&object_url(&older)).await,
        404,
        "the stale upload is deleted too"
    );

    // A product deleted before its upload is resized gets nothing, and the upload goes.
    let doomed = new_product(&t, &admin, "Doomed Tea").await;
    let key = t
        .upload_picture(&admin, &doomed, "image/png", s3::sample_png(40, 30))
        .await;
    let r = t
        .api()
        .send(request("DELETE", &format!("/products/{doomed}")).bearer(&admin))
        .await;
    assert_eq!(r.status(), 204);
    assert_eq!(t.deliver_upload(&key).await["made"], "nothing");
    assert_eq!(status_of(&object_url(&key)).await, 404);

    // An image URL set by hand replaces the picture.
    let r = t
        .api()
        .send(
            request("PUT", &format!("/products/{id}"))
                .bearer(&admin)
                .json(json!({"image_url": "https://cdn.example.com/x.png"})),
        )
        .await;
    assert_eq!(r.status(), 200, "{:?}", r.body);
    assert!(r.body.get("picture").is_none());
    assert_eq!(r.body["image_url"], "https://cdn.example.com/x.png");
}
