//! Password reset: the request answers the same for any address, the link's token opens its own
//! record once and in time, and using it sets the password and ends every session.

use serde_json::{Value, json};
use shop::{
    types::UserId,
    users::links::{Purpose, link_key, link_token},
};
use shop_tests::{CUSTOMER_PASSWORD, TEST_SECRET, TestApp, events, request};

async fn ask(t: &TestApp, email: &str) -> (u16, Value) {
    let r = t
        .api()
        .send(request("POST", "/users/password-reset").json(json!({ "email": email })))
        .await;
    (r.status(), r.body)
}

async fn confirm(t: &TestApp, token: &str, password: &str) -> shop_tests::TestResponse {
    t.api()
        .send(
            request("POST", "/users/password-reset/confirm")
                .json(json!({"token": token, "password": password})),
        )
        .await
}

/// The reset records written so far (from the users table's stream), newest last.
async fn resets(t: &TestApp) -> Vec<Value> {
    events::inserted(&t.env["DYNAMODB_ENDPOINT"], &t.env["USERS_TABLE"], "RESET#")
        .await
        .into_iter()
        .map(|r| r["dynamodb"]["NewImage"].clone())
        .collect()
}

/// The token the email for the newest reset record carries (as send-email makes it).
async fn emailed_token(t: &TestApp) -> String {
    let r = resets(t).await.pop().expect("a reset record");
    link_token(
        &link_key(TEST_SECRET.as_bytes(), Purpose::Reset),
        r["id"]["S"].as_str().unwrap(),
        &UserId::from_trusted(r["user_id"]["S"].as_str().unwrap()),
    )
}

#[tokio::test]
async fn any_address_gets_the_same_answer_and_only_an_account_gets_a_link() {
    let t = TestApp::new().await;
    t.api().customer("known@reset.test").await;
    let known = ask(&t, "Known@Reset.test").await;
    let unknown = ask(&t, "nobody@reset.test").await;
    assert_eq!(known.0, 202);
    assert_eq!(known, unknown, "same status, same body");
    let records = resets(&t).await;
    assert_eq!(
        records.len(),
        2,
        "both requests write a record: they cost the same"
    );
    assert!(records[0]["user_id"]["S"].is_string());
    assert!(records[1].get("user_id").is_none());
    assert_eq!(ask(&t, "not an email").await.0, 400);
}

#[tokio::test]
async fn the_link_sets_the_password_once_and_ends_every_session() {
    let t = TestApp::new().await;
    let email = "owner@reset.test";
    let old_token = t.api().customer(email).await;
    ask(&t, email).await;
    let token = emailed_token(&t).await;

    // A common password is refused, and the link still works afterwards.
    let weak = confirm(&t, &token, "password123").await;
    assert_eq!(weak.status(), 400, "{:?}", weak.body);
    assert_ne!(weak.error_code(), "invalid_reset_token");

    let r = confirm(&t, &token, "a-brand-new-passphrase").await;
    assert_eq!(r.status(), 204, "{:?}", r.body);
    assert_eq!(
        t.api().me(&old_token).await.status(),
        401,
        "the old session ended"
    );
    assert_eq!(t.api().login(email, CUSTOMER_PASSWORD).await.status(), 401);
    let signed_in = t.api().login(email, "a-brand-new-passphrase").await;
    assert_eq!(signed_in.status(), 200);
    // The link came to the address, so the address is proven: card payments open up.
    let me = t.api().me(signed_in.body["token"].as_str().unwrap()).await;
    assert_eq!(me.body["email_verified"], true, "{:?}", me.body);

    let again = confirm(&t, &token, "yet-another-passphrase").await;
    assert_eq!(again.status(), 400);
    assert_eq!(again.error_code(), "invalid_reset_token");
}

#[tokio::test]
async fn forged_malformed_and_foreign_tokens_get_one_answer() {
    let t = TestApp::new().await;
    t.api().customer("a@reset.test").await;
    t.api().customer("b@reset.test").await;
    ask(&t, "a@reset.test").await;
    let real = emailed_token(&t).await;
    let (id, _) = real.split_once('.').unwrap();
    let forged = link_token(
        b"some other key",
        id,
        &UserId::from_trusted("01JBUSER000000000000000000"),
    );
    let wrong_secret = link_token(
        &link_key(b"not-the-deployed-secret-at-all!!", Purpose::Reset),
        id,
        &UserId::from_trusted("x"),
    );
    for token in [
        forged.as_str(),
        wrong_secret.as_str(),
        "garbage",
        "",
        "01JD0000000000000000000000.AAAA",
    ] {
        let r = confirm(&t, token, "a-brand-new-passphrase").await;
        assert_eq!(r.status(), 400, "{token}: {:?}", r.body);
        assert_eq!(r.error_code(), "invalid_reset_token");
        assert_eq!(
            r.body["error"]["message"],
            shop::users::links::INVALID_RESET
        );
    }
    // Still the real link works.
    assert_eq!(
        confirm(&t, &real, "a-brand-new-passphrase").await.status(),
        204
    );
}

#[tokio::test]
async fn an_address_that_keeps_failing_is_held_back() {
    let t = TestApp::new().await;
    let mut statuses = Vec::new();
    for _ in 0..24 {
        statuses.push(
            confirm(
                &t,
                "01JD0000000000000000000000.AAAA",
                "a-brand-new-passphrase",
            )
            .await
            .status(),
        );
    }
    assert!(statuses[..20].iter().all(|s| *s == 400), "{statuses:?}");
    assert!(statuses.contains(&429), "{statuses:?}");
    let r = t
        .api()
        .send(request("POST", "/users/password-reset").json(json!({"email": "x@reset.test"})))
        .await;
    assert_eq!(r.status(), 429);
    assert!(r.header("retry-after").is_some());
}
