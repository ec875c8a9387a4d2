//! Email verification: registration mails a link (through the outbox), opening it marks the
//! account verified, and card payments wait for it.

use serde_json::json;
use shop::users::links::{Purpose, link_key, link_token};
use shop_tests::{TEST_SECRET, TestApp, request, stripe};

async fn verify(t: &TestApp, token: &str) -> shop_tests::TestResponse {
    t.api()
        .send(request("POST", "/users/verify-email").json(json!({ "token": token })))
        .await
}

#[tokio::test]
async fn an_unverified_shopper_may_order_but_pays_only_once_the_link_is_opened() {
    let t = TestApp::with_env(stripe::configure).await;
    let token = t.api().customer("new@verify.test").await;
    assert_eq!(t.api().me(&token).await.body["email_verified"], false);
    let tea = t.product("Tea", 900, 5).await;
    let order = t
        .api()
        .checkout(
            &token,
            "v1",
            json!({"items": [{"product_id": tea, "quantity": 1}]}),
        )
        .await;
    assert_eq!(
        order.status(),
        201,
        "ordering needs no verification: {:?}",
        order.body
    );
    let order = order.body["id"].as_str().unwrap().to_string();
    let card = stripe::card(stripe::CARD_OK).await;
    let refused = t.api().pay(&token, &order, &card).await;
    assert_eq!(refused.status(), 403, "{:?}", refused.body);
    assert!(
        refused.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("confirm your email")
    );

    let link = t.verification_token(&token).await;
    assert_eq!(verify(&t, &link).await.status(), 204);
    // The same token, on its very next request, may pay.
    assert_eq!(t.api().me(&token).await.body["email_verified"], true);
    let paid = t.api().pay(&token, &order, &card).await;
    assert_eq!(paid.status(), 200, "{:?}", paid.body);

    let again = verify(&t, &link).await;
    assert_eq!(again.status(), 400);
    assert_eq!(again.error_code(), "invalid_verification_token");
}

#[tokio::test]
async fn a_reset_link_does_not_verify_and_forged_links_get_one_answer() {
    let t = TestApp::new().await;
    let token = t.api().customer("careful@verify.test").await;
    let real = t.verification_token(&token).await;
    let (id, _) = real.split_once('.').unwrap();
    let user =
        shop::types::UserId::from_trusted(t.api().me(&token).await.body["id"].as_str().unwrap());
    let as_reset = link_token(&link_key(TEST_SECRET.as_bytes(), Purpose::Reset), id, &user);
    for bad in [
        as_reset.as_str(),
        "nonsense",
        "01JD0000000000000000000000.AAAA",
    ] {
        let r = verify(&t, bad).await;
        assert_eq!(r.status(), 400, "{bad}");
        assert_eq!(r.error_code(), "invalid_verification_token");
    }
    assert_eq!(t.api().me(&token).await.body["email_verified"], false);
    assert_eq!(verify(&t, &real).await.status(), 204);
}

#[tokio::test]
async fn a_new_link_can_be_asked_for_until_the_address_is_verified() {
    let t = TestApp::new().await;
    let token = t.api().customer("again@verify.test").await;
    let first = t.verification_token(&token).await;
    let resend = || async {
        t.api()
            .send(request("POST", "/users/verify-email/resend").bearer(&token))
            .await
    };
    assert_eq!(resend().await.status(), 202);
    let second = t.verification_token(&token).await;
    assert_ne!(first, second, "a new record, a new link");
    assert_eq!(verify(&t, &second).await.status(), 204);
    let r = resend().await;
    assert_eq!(r.status(), 409);
    assert_eq!(r.error_code(), "already_verified");
    // Seeded admins are created verified.
    let (admin, _) = t.admin_and_customer().await;
    assert_eq!(t.api().me(&admin).await.body["email_verified"], true);
}
