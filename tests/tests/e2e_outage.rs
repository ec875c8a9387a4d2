//! The event pipeline through a DynamoDB Local outage (its own instance, data on disk, so it can
//! stop and come back): a change committed before the outage is published and mailed once it
//! is back, and nothing lands in a dead-letter queue.

use std::time::Duration;

use serde_json::json;
use shop_tests::{
    TestApp, Watch, dynamodb, env_for, events,
    events::{Triggers, wait_for_mail},
    free_port, s3, wait_for_port,
};

#[tokio::test]
async fn a_change_made_before_dynamodb_goes_down_is_mailed_once_it_is_back() {
    let data = std::env::temp_dir().join(format!("shop-outage-{}", ulid::Ulid::new()));
    std::fs::create_dir_all(&data).unwrap();
    let port = free_port();
    let mut db = dynamodb::spawn(port, Some(&data));
    let endpoint = format!("http://127.0.0.1:{port}");
    let mut env = env_for(
        &format!("t{}", ulid::Ulid::new().to_string().to_lowercase()),
        &endpoint,
    );
    events::configure(&mut env);
    // The stack has its buckets; the site is not published, so render-pages writes nothing.
    env.insert("S3_ENDPOINT".into(), s3::endpoint());
    env.insert("IMAGES_BUCKET".into(), s3::IMAGES_BUCKET.into());
    env.insert("SITE_BUCKET".into(), s3::SITE_BUCKET.into());
    let t = TestApp::from_env(env).await;
    events::provision(t.app).await;
    let watch = Watch::start(&t.env);
    let shopper = "outage@e2e.local";
    let token = watch.api().customer(shopper).await;
    let tea = t.product("Sencha", 800, 10).await;

    // The change commits while nothing polls the stream; then DynamoDB Local goes down.
    let r = watch
        .api()
        .checkout(
            &token,
            "outage",
            json!({"items": [{"product_id": tea, "quantity": 1}]}),
        )
        .await;
    assert_eq!(r.status(), 201, "{:?}", r.body);
    // Stopped as a host stops it (SIGTERM): DynamoDB Local writes its stream records out on the
    // way down, which a SIGKILL would lose (DynamoDB keeps them 24 hours whatever happens).
    // SAFETY: signalling our own child.
    unsafe {
        libc::kill(db.id() as i32, libc::SIGTERM);
    }
    db.wait().unwrap();
    let triggers = Triggers::start(&t.env, &watch.base_url);
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(
        wait_for_mail(shopper, "received", Duration::ZERO)
            .await
            .is_empty()
    );

    // Back, with its data: the poller reads on, and the email goes out exactly once.
    let mut db = dynamodb::spawn(port, Some(&data));
    assert!(wait_for_port(port, Duration::from_secs(30)));
    let mail = wait_for_mail(shopper, "received", Duration::from_secs(90)).await;
    assert_eq!(mail.len(), 1, "{mail:?}");
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        wait_for_mail(shopper, "received", Duration::ZERO)
            .await
            .len(),
        1
    );
    assert!(triggers.dead("outbox.jsonl").is_empty());
    assert!(triggers.dead("events.jsonl").is_empty());
    drop(triggers);
    let _ = db.kill();
    let _ = db.wait();
    let _ = std::fs::remove_dir_all(&data);
}
