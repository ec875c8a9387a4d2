//! Two-factor sign-in (TOTP) against DynamoDB Local, through the dispatch the Lambda runtime uses:
//! enrolment, the code step of a sign-in, codes and recovery codes accepted once, sign-in steps
//! completed once and for their own account, wrong codes throttled, admins held to enrol.

use serde_json::{Value, json};
use shop::auth::totp::{TotpSecret, step_at};
use shop_tests::{ADMIN_PASSWORD, Api, CUSTOMER_PASSWORD, TestApp, request, unused_code};

const ADDRESS: &str = "198.51.100.77:1";

/// Enrols the account of `token` with the API's own steps; its secret and recovery codes.
async fn enrol(api: &Api, token: &str) -> (TotpSecret, Vec<String>) {
    let r = api
        .send(
            request("POST", "/users/mfa/totp")
                .bearer(token)
                .json(json!({"current_password": CUSTOMER_PASSWORD})),
        )
        .await;
    assert_eq!(r.status(), 200, "{:?}", r.body);
    let secret = TotpSecret::from_base32(r.body["secret"].as_str().unwrap()).unwrap();
    let uri = r.body["otpauth_uri"].as_str().unwrap();
    assert!(
        uri.starts_with("otpauth://totp/") && uri.contains(&secret.base32()),
        "{uri}"
    );
    assert!(r.body["qr_svg"].as_str().unwrap().starts_with("<svg"));
    let r = api
        .send(
            request("POST", "/users/mfa/totp/confirm")
                .bearer(token)
                .json(json!({"code": unused_code(&secret).await})),
        )
        .await;
    assert_eq!(r.status(), 200, "{:?}", r.body);
    let codes: Vec<String> = r.body["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect();
    (secret, codes)
}

/// The password step of a sign-in from [`ADDRESS`]; its mfa_token.
async fn password_step(api: &Api, email: &str) -> String {
    let r = api
        .send(
            request("POST", "/users/login")
                .header("cloudfront-viewer-address", ADDRESS)
                .json(json!({"email": email, "password": CUSTOMER_PASSWORD})),
        )
        .await;
    assert_eq!(r.status(), 200, "{:?}", r.body);
    assert_eq!(r.body["mfa_required"], true);
    assert!(r.body.get("token").is_none() && r.body.get("refresh_token").is_none());
    r.body["mfa_token"].as_str().unwrap().to_string()
}

async fn code_step(api: &Api, mfa_token: &str, code: &str) -> (u16, Value) {
    let r = api
        .send(
            request("POST", "/users/login/mfa")
                .header("cloudfront-viewer-address", ADDRESS)
                .json(json!({"mfa_token": mfa_token, "code": code})),
        )
        .await;
    (r.status(), r.body)
}

#[tokio::test]
async fn an_enrolled_account_signs_in_with_a_code_each_good_once() {
    let t = TestApp::new().await;
    let api = t.api();
    let token = api.customer("two@example.com").await;
    // Enrolment asks for the password again.
    let r = api
        .send(
            request("POST", "/users/mfa/totp")
                .bearer(&token)
                .json(json!({"current_password": "not-my-password"})),
        )
        .await;
    assert_eq!(r.status(), 403);
    // A wrong code does not turn it on.
    let r = api
        .send(
            request("POST", "/users/mfa/totp")
                .bearer(&token)
                .json(json!({"current_password": CUSTOMER_PASSWORD})),
        )
        .await;
    let pending = TotpSecret::from_base32(r.body["secret"].as_str().unwrap()).unwrap();
    let wrong = pending.code_at(step_at(shop::types::now_epoch_secs()) + 5);
    let r = api
        .send(
            request("POST", "/users/mfa/totp/confirm")
                .bearer(&token)
                .json(json!({"code": wrong})),
        )
        .await;
    assert_eq!((r.status(), r.error_code()), (400, "invalid_code"));
    assert_eq!(api.me(&token).await.body["mfa_enabled"], false);

    let (secret, recovery) = enrol(api, &token).await;
    assert_eq!(recovery.len(), 10);
    assert_eq!(api.me(&token).await.body["mfa_enabled"], true);

    // The password alone gives no tokens; the code completes the sign-in.
    let step = password_step(api, "two@example.com").await;
    let code = unused_code(&secret).await;
    let (status, body) = code_step(api, &step, &code).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["token"].is_string() && body["refresh_token"].is_string());
    assert!(body["device_token"].is_string());
    assert_eq!(api.me(body["token"].as_str().unwrap()).await.status(), 200);

    // The same sign-in step twice: refused, and the good code it carried is not used up by it.
    let fresh = unused_code(&secret).await;
    let (status, _) = code_step(api, &step, &fresh).await;
    assert_eq!(status, 401, "an mfa_token used twice");
    // The same code in a new sign-in step, inside its window: refused (no replay).
    let again = password_step(api, "two@example.com").await;
    assert_eq!(
        code_step(api, &again, &code).await.0,
        401,
        "a replayed code"
    );
    // A code that sign-in step has not seen yet still completes it (the one the spent step refused).
    let (status, body) = code_step(api, &again, &fresh).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn a_recovery_code_signs_in_once_and_a_step_only_for_its_own_account() {
    let t = TestApp::new().await;
    let api = t.api();
    let ada = api.customer("ada2fa@example.com").await;
    let bob = api.customer("bob2fa@example.com").await;
    let (_, ada_codes) = enrol(api, &ada).await;
    let (bob_secret, _) = enrol(api, &bob).await;

    let step = password_step(api, "ada2fa@example.com").await;
    // Typed loosely: upper case, spaces.
    let typed = format!(" {} ", ada_codes[0].to_uppercase());
    let (status, body) = code_step(api, &step, &typed).await;
    assert_eq!(status, 200, "{body}");
    let step = password_step(api, "ada2fa@example.com").await;
    assert_eq!(
        code_step(api, &step, &ada_codes[0]).await.0,
        401,
        "a reused recovery code"
    );
    // Bob's code does not complete Ada's step, nor does Ada's step become Bob's by its user part.
    let bob_code = unused_code(&bob_secret).await;
    assert_eq!(code_step(api, &step, &bob_code).await.0, 401);
    let bob_id = api.me(&bob).await.body["id"].as_str().unwrap().to_string();
    let ada_id = step.split('.').next().unwrap();
    let moved = step.replacen(ada_id, &bob_id, 1);
    // The same code, which no refusal used up.
    let (status, body) = code_step(api, &moved, &bob_code).await;
    assert_eq!(status, 401, "an mfa_token for another account: {body}");
    // Ada's step is still open for Ada's own next recovery code.
    let (status, body) = code_step(api, &step, &ada_codes[1]).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn wrong_codes_are_throttled_like_wrong_passwords() {
    let t = TestApp::new().await;
    let api = t.api();
    let token = api.customer("guess2fa@example.com").await;
    let (secret, _) = enrol(api, &token).await;
    let step = password_step(api, "guess2fa@example.com").await;
    let now = step_at(shop::types::now_epoch_secs());
    let mut statuses = Vec::new();
    for i in 0..6 {
        // Codes of far-off steps: wrong now, right some other time.
        statuses.push(code_step(api, &step, &secret.code_at(now + 10 + i)).await.0);
    }
    assert_eq!(&statuses[..3], &[401, 401, 401], "{statuses:?}");
    assert!(statuses[3..].contains(&429), "{statuses:?}");
}

#[tokio::test]
async fn an_admin_without_two_factor_may_only_enrol_and_turning_it_off_needs_a_code() {
    let t = TestApp::new().await;
    let api = t.api();
    // An admin created without two-factor sign-in (as before it existed).
    let new = shop::users::NewUser::try_from(shop::users::RegisterRequest {
        email: "old-admin@example.com".into(),
        password: CUSTOMER_PASSWORD.into(),
        name: "Old Admin".into(),
    })
    .unwrap();
    shop::users::store::register(t.app, new, shop::types::Role::Admin)
        .await
        .unwrap();
    let token = api.token("old-admin@example.com", CUSTOMER_PASSWORD).await;
    let product = json!({"name": "Mug", "price_cents": 900, "category": "gear", "stock": 1});
    let r = api.create_product(&token, product.clone()).await;
    assert_eq!(
        (r.status(), r.error_code()),
        (403, "mfa_enrollment_required")
    );
    let r = api
        .send(
            request("PUT", "/orders/01JD0000000000000000000000/status")
                .bearer(&token)
                .json(json!({"status": "PAID"})),
        )
        .await;
    assert_eq!(
        (r.status(), r.error_code()),
        (403, "mfa_enrollment_required")
    );
    // It may still see its own account, and enrol; then admin routes answer.
    assert_eq!(api.me(&token).await.status(), 200);
    let (secret, _) = enrol(api, &token).await;
    assert_eq!(api.create_product(&token, product).await.status(), 201);

    // Off needs the password and a current code.
    let off = |password: &str, code: &str| {
        request("DELETE", "/users/mfa/totp")
            .bearer(&token)
            .json(json!({"current_password": password, "code": code}))
    };
    let wrong = secret.code_at(step_at(shop::types::now_epoch_secs()) + 9);
    assert_eq!(
        api.send(off(CUSTOMER_PASSWORD, &wrong)).await.error_code(),
        "invalid_code"
    );
    // A wrong password is refused before the code is looked at, so the code stays good.
    let code = unused_code(&secret).await;
    assert_eq!(api.send(off("nope-nope-nope", &code)).await.status(), 403);
    assert_eq!(api.send(off(CUSTOMER_PASSWORD, &code)).await.status(), 204);
    assert_eq!(api.me(&token).await.body["mfa_enabled"], false);
    let r = api.login("old-admin@example.com", CUSTOMER_PASSWORD).await;
    assert!(
        r.body["token"].is_string(),
        "the password alone again: {:?}",
        r.body
    );
    let r = api
        .create_product(
            &token,
            json!({"name": "Cup", "price_cents": 900, "category": "gear", "stock": 1}),
        )
        .await;
    assert_eq!(r.error_code(), "mfa_enrollment_required");
}

#[tokio::test]
async fn the_seeded_admin_is_enrolled_and_the_seed_is_idempotent() {
    let t = TestApp::new().await;
    let secret = TotpSecret::generate();
    let seed =
        || shop::users::ensure_admin(t.app, "admin@shop.local", ADMIN_PASSWORD, "Admin", &secret);
    assert!(seed().await.unwrap());
    assert!(!seed().await.unwrap());
    let r = t.api().login("admin@shop.local", ADMIN_PASSWORD).await;
    assert_eq!(r.body["mfa_required"], true, "{:?}", r.body);
    let token = t
        .api()
        .token_with_code("admin@shop.local", ADMIN_PASSWORD, &secret)
        .await;
    let me = t.api().me(&token).await;
    assert_eq!(
        (me.body["role"].clone(), me.body["mfa_enabled"].clone()),
        (json!("admin"), json!(true))
    );
}
