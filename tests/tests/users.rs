//! Users handlers against DynamoDB Local, through the same dispatch the Lambda runtime uses.

use serde_json::{Value, json};
use shop_tests::{Api, TestApp, request};

#[tokio::test]
async fn register_returns_the_user_without_secrets() {
    let t = TestApp::new().await;
    let r = t
        .api()
        .register("Ada@Example.com", "shopper-passphrase-42", "Ada")
        .await;
    assert_eq!(r.status(), 201);
    assert_eq!(r.body["email"], "ada@example.com");
    assert_eq!(r.body["role"], "customer");
    assert_eq!(r.body["name"], "Ada");
    assert!(r.body["id"].as_str().is_some_and(|id| id.len() == 26));
    assert!(r.body["created_at"].as_str().unwrap().ends_with('Z'));
    let text = r.body.to_string();
    assert!(
        !text.contains("password") && !text.contains("argon2"),
        "{text}"
    );
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("http://shop.test")
    );
    assert_eq!(r.header("content-type"), Some("application/json"));
}

#[tokio::test]
async fn duplicate_email_is_409_case_insensitively() {
    let t = TestApp::new().await;
    assert_eq!(
        t.api()
            .register("dup@example.com", "shopper-passphrase-42", "Ada")
            .await
            .status(),
        201
    );
    let r = t
        .api()
        .register("DUP@Example.COM", "otherpassword", "Ada")
        .await;
    assert_eq!(r.status(), 409);
    assert_eq!(r.error_code(), "email_taken");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_registrations_of_one_email_create_one_account() {
    let t = TestApp::new().await;
    let mut set = tokio::task::JoinSet::new();
    for i in 0..8 {
        let api = t.api().clone();
        set.spawn(async move {
            let password = format!("password{i:03}");
            api.register("race@example.com", &password, "Ada")
                .await
                .status()
        });
    }
    let statuses: Vec<u16> = set.join_all().await;
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 409).count(),
        7,
        "{statuses:?}"
    );
}

#[tokio::test]
async fn bad_input_gets_a_400_naming_the_problem() {
    let t = TestApp::new().await;
    let cases: Vec<(&str, Value, &str)> = vec![
        ("bad json", Value::Null, "invalid_json"),
        (
            "missing field",
            json!({"email": "a@b.co", "name": "A"}),
            "password",
        ),
        (
            "bad email",
            json!({"email": "nope", "password": "shopper-passphrase-42", "name": "A"}),
            "email",
        ),
        (
            "short password",
            json!({"email": "a@b.co", "password": "short", "name": "A"}),
            "password",
        ),
        (
            "long password",
            json!({"email": "a@b.co", "password": "x".repeat(129), "name": "A"}),
            "password",
        ),
        (
            "common password",
            json!({"email": "a@b.co", "password": "12345678", "name": "A"}),
            "password",
        ),
        (
            "eight spaces",
            json!({"email": "a@b.co", "password": "        ", "name": "A"}),
            "password",
        ),
        (
            "password is the email",
            json!({"email": "grace@b.co", "password": "grace@b.co", "name": "Grace"}),
            "password",
        ),
        (
            "zero-width character in the email",
            json!({"email": "a\u{200B}@b.co", "password": "shopper-passphrase-42", "name": "A"}),
            "email",
        ),
        (
            "blank name",
            json!({"email": "a@b.co", "password": "shopper-passphrase-42", "name": "  "}),
            "name",
        ),
        (
            "unknown field",
            json!({"email": "a@b.co", "password": "shopper-passphrase-42", "name": "A", "role": "admin"}),
            "role",
        ),
        (
            "wrong type",
            json!({"email": 5, "password": "shopper-passphrase-42", "name": "A"}),
            "email",
        ),
    ];
    for (what, body, expect) in cases {
        let req = if body.is_null() {
            request("POST", "/users/register").raw("{\"email\": ")
        } else {
            request("POST", "/users/register").json(body)
        };
        let r = t.api().send(req).await;
        assert_eq!(r.status(), 400, "{what}: {:?}", r.body);
        let code = r.error_code().to_string();
        let msg = r.body["error"]["message"].as_str().unwrap();
        assert!(msg.contains(expect) || code == expect, "{what}: {msg}");
    }
    let r = t.api().send(request("POST", "/users/register")).await;
    assert_eq!((r.status(), r.error_code()), (400, "invalid_json"));
}

#[tokio::test]
async fn oversized_body_is_413() {
    let t = TestApp::new().await;
    let big =
        json!({"email": "a@b.co", "password": "shopper-passphrase-42", "name": "x".repeat(70_000)});
    let r = t
        .api()
        .send(request("POST", "/users/register").json(big))
        .await;
    assert_eq!((r.status(), r.error_code()), (413, "payload_too_large"));
}

#[tokio::test]
async fn login_gives_a_bearer_token_and_same_401_for_unknown_email_or_wrong_password() {
    let t = TestApp::new().await;
    t.api()
        .register("bob@example.com", "shopper-passphrase-42", "Ada")
        .await;
    let ok = t
        .api()
        .login("BOB@example.com", "shopper-passphrase-42")
        .await;
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.body["token_type"], "Bearer");
    assert_eq!(ok.body["expires_in"], 900, "a short access token");
    assert!(
        ok.body["refresh_token"]
            .as_str()
            .is_some_and(|r| r.split('.').count() == 5),
        "user, session, generation, secret, MAC"
    );
    assert_eq!(ok.body["user"]["email"], "bob@example.com");
    assert_eq!(ok.body["token"].as_str().unwrap().split('.').count(), 3);

    let wrong = t.api().login("bob@example.com", "password124").await;
    let unknown = t
        .api()
        .login("nobody@example.com", "shopper-passphrase-42")
        .await;
    assert_eq!(wrong.status(), 401);
    assert_eq!(unknown.status(), 401);
    assert_eq!(wrong.body, unknown.body);
}

/// `POST /users/login` from client address `addr` (as CloudFront reports it).
async fn login_from(
    t: &TestApp,
    addr: &str,
    email: &str,
    password: &str,
) -> shop_tests::TestResponse {
    t.api()
        .send(
            request("POST", "/users/login")
                .header("cloudfront-viewer-address", &format!("{addr}:51234"))
                .json(json!({"email": email, "password": password})),
        )
        .await
}

#[tokio::test]
async fn an_attacker_is_held_back_while_the_owner_at_another_address_signs_in() {
    let t = TestApp::new().await;
    t.api()
        .register("eve@example.com", "shopper-passphrase-42", "Eve")
        .await;
    let attacker = "198.51.100.7";
    // The attacker guesses as fast as the shop lets him, waiting out each Retry-After, until five
    // guesses have been checked: three free, then 1 s and 2 s apart. Timing-proof: a slow machine
    // only sees fewer 429s on the way, never a different outcome.
    let mut statuses = Vec::new();
    while statuses.iter().filter(|&&s| s == 401).count() < 5 {
        assert!(statuses.len() < 20, "{statuses:?}");
        let r = login_from(&t, attacker, "eve@example.com", "guess-guess").await;
        statuses.push(r.status());
        if r.status() == 429 {
            let retry: u64 = r.header("retry-after").unwrap().parse().unwrap();
            tokio::time::sleep(std::time::Duration::from_secs(retry)).await;
        }
    }
    assert_eq!(&statuses[..3], &[401, 401, 401], "{statuses:?}");
    assert!(
        statuses.iter().all(|s| [401, 429].contains(s)),
        "{statuses:?}"
    );
    // After the fifth failure the next attempt waits 4 s: even the right password is refused.
    let r = login_from(&t, attacker, "eve@example.com", "shopper-passphrase-42").await;
    assert_eq!((r.status(), r.error_code()), (429, "too_many_requests"));
    let retry: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=5).contains(&retry), "{retry}");
    // The owner, elsewhere, is not slowed at all (today's code locked her out here).
    let r = login_from(
        &t,
        "203.0.113.9",
        "eve@example.com",
        "shopper-passphrase-42",
    )
    .await;
    assert_eq!(r.status(), 200, "{:?}", r.body);
}

#[tokio::test]
async fn the_owners_own_failures_slow_her_down_and_a_success_clears_them() {
    let t = TestApp::new().await;
    t.api()
        .register("kim@example.com", "shopper-passphrase-42", "Kim")
        .await;
    let home = "203.0.113.20";
    for _ in 0..3 {
        assert_eq!(
            login_from(&t, home, "kim@example.com", "typo-typo")
                .await
                .status(),
            401
        );
    }
    let r = login_from(&t, home, "kim@example.com", "shopper-passphrase-42").await;
    assert_eq!(r.status(), 429, "the fourth attempt waits a second");
    // As a client does: wait what Retry-After says (whole seconds: 1 or 2 for a 1 s delay).
    let retry: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=2).contains(&retry), "{retry}");
    tokio::time::sleep(std::time::Duration::from_secs(retry)).await;
    assert_eq!(
        login_from(&t, home, "kim@example.com", "shopper-passphrase-42")
            .await
            .status(),
        200
    );
    // The success cleared this address's count: three typos are free again.
    for _ in 0..3 {
        assert_eq!(
            login_from(&t, home, "kim@example.com", "typo-typo")
                .await
                .status(),
            401
        );
    }
}

#[tokio::test]
async fn one_address_spraying_many_accounts_is_held_back() {
    let t = TestApp::new().await;
    t.api()
        .register("target@example.com", "shopper-passphrase-42", "T")
        .await;
    let sprayer = "198.51.100.99";
    // Unknown accounts count for the address too (the same 401 as a wrong password).
    for i in 0..shop::users::PER_ADDRESS.free {
        assert_eq!(
            login_from(&t, sprayer, &format!("u{i}@example.com"), "Summer2026!")
                .await
                .status(),
            401
        );
    }
    // A fresh account from the same address now waits; from elsewhere it does not.
    assert_eq!(
        login_from(&t, sprayer, "target@example.com", "shopper-passphrase-42")
            .await
            .status(),
        429
    );
    assert_eq!(
        login_from(
            &t,
            "203.0.113.5",
            "target@example.com",
            "shopper-passphrase-42"
        )
        .await
        .status(),
        200
    );
}

#[tokio::test]
async fn concurrent_failures_are_all_counted() {
    let t = TestApp::new().await;
    t.api()
        .register("con@example.com", "shopper-passphrase-42", "C")
        .await;
    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..10 {
        let api = t.api().clone();
        calls.spawn(async move {
            api.send(
                request("POST", "/users/login")
                    .header("cloudfront-viewer-address", "198.51.100.50:4000")
                    .json(json!({"email": "con@example.com", "password": "wrong-wrong"})),
            )
            .await
            .status()
        });
    }
    let statuses = calls.join_all().await;
    let counted = statuses.iter().filter(|s| **s == 401).count() as u64;
    let email = shop::users::model::Email::parse("con@example.com").unwrap();
    let stored = shop::users::store::failures(
        t.app,
        shop::users::store::Scope::AccountAtAddress(&email, "198.51.100.50"),
    )
    .await
    .unwrap();
    assert_eq!(stored.count, counted, "{statuses:?}");
    assert!(counted >= 3);
}

#[tokio::test]
async fn guessing_the_current_password_with_a_token_is_throttled() {
    let t = TestApp::new().await;
    let token = t.api().customer("tok@example.com").await;
    let change = |current: &str| {
        request("PUT", "/users/me")
            .bearer(&token)
            .header("cloudfront-viewer-address", "198.51.100.60:1")
            .json(json!({"password": "a-brand-new-secret", "current_password": current}))
    };
    let mut statuses = Vec::new();
    for _ in 0..6 {
        statuses.push(t.api().send(change("guess-guess")).await.status());
    }
    assert_eq!(&statuses[..3], &[403, 403, 403], "{statuses:?}");
    assert!(statuses[3..].contains(&429), "{statuses:?}");
}

#[tokio::test]
async fn a_successful_login_resets_the_failure_count() {
    let t = TestApp::new().await;
    t.api()
        .register("kim@example.com", "shopper-passphrase-42", "Ada")
        .await;
    for _ in 0..shop::users::PER_ACCOUNT_AND_ADDRESS.free - 1 {
        t.api().login("kim@example.com", "nope-nope").await;
    }
    assert_eq!(
        t.api()
            .login("kim@example.com", "shopper-passphrase-42")
            .await
            .status(),
        200
    );
    for _ in 0..shop::users::PER_ACCOUNT_AND_ADDRESS.free - 1 {
        t.api().login("kim@example.com", "nope-nope").await;
    }
    assert_eq!(
        t.api()
            .login("kim@example.com", "shopper-passphrase-42")
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn me_needs_a_valid_token() {
    let t = TestApp::new().await;
    let token = t.api().customer("me@example.com").await;
    let r = t
        .api()
        .send(request("GET", "/users/me").bearer(&token))
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.body["email"], "me@example.com");
    for bad in ["", "garbage", "a.b.c", &format!("{token}x")] {
        let r = t.api().send(request("GET", "/users/me").bearer(bad)).await;
        assert_eq!((r.status(), r.error_code()), (401, "unauthorized"), "{bad}");
    }
    let r = t.api().send(request("GET", "/users/me")).await;
    assert_eq!(r.status(), 401);
}

#[tokio::test]
async fn token_from_another_deployment_is_rejected() {
    let t = TestApp::new().await;
    let other = TestApp::with_env(|e| {
        e.insert(
            "JWT_SECRET".into(),
            "another-secret-of-at-least-32-bytes-xx".into(),
        );
    })
    .await;
    let token = other.api().customer("x@example.com").await;
    let r = t
        .api()
        .send(request("GET", "/users/me").bearer(&token))
        .await;
    assert_eq!(r.status(), 401);
}

#[tokio::test]
async fn update_me_changes_name_address_and_password() {
    let t = TestApp::new().await;
    let token = t.api().customer("up@example.com").await;
    let address = json!({"line1": "1 Main St", "city": "Springfield", "postal_code": "12345", "country": "us"});
    let r = t
        .api()
        .send(
            request("PUT", "/users/me")
                .bearer(&token)
                .json(json!({"name": "Ada L.", "address": address})),
        )
        .await;
    assert_eq!(r.status(), 200, "{:?}", r.body);
    assert_eq!(r.body["name"], "Ada L.");
    assert_eq!(r.body["address"]["country"], "US");
    assert_ne!(r.body["updated_at"], r.body["created_at"]);

    let r = t
        .api()
        .send(
            request("PUT", "/users/me")
                .bearer(&token)
                .json(json!({"address": null})),
        )
        .await;
    assert_eq!(r.status(), 200);
    assert!(r.body.get("address").is_none());

    let r = t
        .api()
        .send(
            request("PUT", "/users/me")
                .bearer(&token)
                .json(json!({"password": "brand-new-pass"})),
        )
        .await;
    assert_eq!(r.status(), 400);
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("current_password")
    );

    let r = t
        .api()
        .send(
            request("PUT", "/users/me")
                .bearer(&token)
                .json(json!({"password": "brand-new-pass", "current_password": "wrong-pass"})),
        )
        .await;
    assert_eq!(r.status(), 403);

    // The rule registration applies: never the account's own email (nor its local part).
    for own in ["up@example.com", "UP"] {
        let r = t
            .api()
            .send(
                request("PUT", "/users/me")
                    .bearer(&token)
                    .json(json!({"password": own, "current_password": "shopper-passphrase-42"})),
            )
            .await;
        let field = r.body["error"]["field"].as_str();
        assert_eq!((r.status(), field), (400, Some("password")), "{own}");
    }

    let r = t
        .api()
        .send(request("PUT", "/users/me").bearer(&token).json(
            json!({"password": "brand-new-pass", "current_password": "shopper-passphrase-42"}),
        ))
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        t.api()
            .login("up@example.com", "shopper-passphrase-42")
            .await
            .status(),
        401
    );
    assert_eq!(
        t.api()
            .login("up@example.com", "brand-new-pass")
            .await
            .status(),
        200
    );

    let r = t
        .api()
        .send(request("PUT", "/users/me").bearer(&token).json(json!({})))
        .await;
    assert_eq!(r.status(), 400);
    let r = t
        .api()
        .send(
            request("PUT", "/users/me")
                .bearer(&token)
                .json(json!({"address": {"line1": "x"}})),
        )
        .await;
    assert_eq!(r.status(), 400);
}

#[tokio::test]
async fn logout_revokes_only_the_presented_token() {
    let t = TestApp::new().await;
    let first = t.api().customer("out@example.com").await;
    let second = t
        .api()
        .login("out@example.com", "shopper-passphrase-42")
        .await
        .body["token"]
        .as_str()
        .unwrap()
        .to_string();
    let r = t
        .api()
        .send(request("POST", "/users/logout").bearer(&first))
        .await;
    assert_eq!(r.status(), 204);
    assert_eq!(r.body, Value::Null);
    let r = t
        .api()
        .send(request("GET", "/users/me").bearer(&first))
        .await;
    assert_eq!(r.status(), 401);
    let r = t
        .api()
        .send(request("POST", "/users/logout").bearer(&first))
        .await;
    assert_eq!(r.status(), 401);
    let r = t
        .api()
        .send(request("GET", "/users/me").bearer(&second))
        .await;
    assert_eq!(r.status(), 200);
}

fn claim(token: &str, name: &str) -> String {
    use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD as B64};
    let payload = B64.decode(token.split('.').nth(1).unwrap()).unwrap();
    serde_json::from_slice::<Value>(&payload).unwrap()[name]
        .as_str()
        .unwrap()
        .to_string()
}

async fn revoked_tokens(t: &TestApp, user_id: &str) -> Vec<String> {
    let item = t
        .app
        .dynamo
        .get_item()
        .table_name(&t.app.config.tables.users)
        .set_key(Some(shop::auth::account_key(user_id)))
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    let mut jtis: Vec<String> = item
        .get(shop::auth::REVOKED_TOKENS)
        .map(|m| m.as_m().unwrap().keys().cloned().collect())
        .unwrap_or_default();
    jtis.sort();
    jtis
}

/// Revocations live on the user item: concurrent logouts of one account all count, an account
/// stored without the list still logs out, and entries past their token's expiry are dropped.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_logouts_all_revoke_and_expired_entries_are_pruned() {
    let t = TestApp::new().await;
    let first = t.api().customer("many@example.com").await;
    let user_id = claim(&first, "sub");
    let mut tokens = vec![first];
    for _ in 0..5 {
        tokens.push(
            t.api()
                .login("many@example.com", "shopper-passphrase-42")
                .await
                .body["token"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    // As if the account predates the list.
    t.app
        .dynamo
        .update_item()
        .table_name(&t.app.config.tables.users)
        .set_key(Some(shop::auth::account_key(&user_id)))
        .update_expression("REMOVE revoked_tokens")
        .send()
        .await
        .unwrap();

    let (kept, out) = tokens.split_last().unwrap();
    let mut set = tokio::task::JoinSet::new();
    for tok in out {
        let (api, req) = (
            t.api().clone(),
            request("POST", "/users/logout").bearer(tok),
        );
        set.spawn(async move { api.send(req).await.status() });
    }
    assert_eq!(set.join_all().await, vec![204; 5]);
    for tok in out {
        let r = t.api().send(request("GET", "/users/me").bearer(tok)).await;
        assert_eq!(r.status(), 401);
    }
    let mut expected: Vec<String> = out.iter().map(|tok| claim(tok, "jti")).collect();
    expected.sort();
    assert_eq!(revoked_tokens(&t, &user_id).await, expected);

    // Entries whose tokens have expired meanwhile go at the next logout.
    t.app
        .dynamo
        .update_item()
        .table_name(&t.app.config.tables.users)
        .set_key(Some(shop::auth::account_key(&user_id)))
        .update_expression("SET revoked_tokens.#old = :past")
        .expression_attribute_names("#old", "01OLDEXPIREDTOKEN")
        .expression_attribute_values(":past", shop::db::n(1))
        .send()
        .await
        .unwrap();
    let r = t.api().send(request("GET", "/users/me").bearer(kept)).await;
    assert_eq!(r.status(), 200);
    let r = t
        .api()
        .send(request("POST", "/users/logout").bearer(kept))
        .await;
    assert_eq!(r.status(), 204);
    expected.push(claim(kept, "jti"));
    expected.sort();
    assert_eq!(revoked_tokens(&t, &user_id).await, expected);
}

#[tokio::test]
async fn health_reports_dynamodb() {
    let t = TestApp::new().await;
    let r = t.api().send(request("GET", "/health")).await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.body,
        json!({"status": "ok", "checks": {"dynamodb": "ok"}})
    );

    // A function whose DynamoDB endpoint is dead (nothing listens on that port).
    let mut env = t.env.clone();
    env.insert(
        "DYNAMODB_ENDPOINT".into(),
        format!("http://127.0.0.1:{}", shop_tests::free_port()),
    );
    let app = shop::App::load(|k| env.get(k).cloned()).unwrap();
    let dead = Api::dispatch(app);
    let r = dead.send(request("GET", "/health")).await;
    assert_eq!(r.status(), 503);
    assert_eq!(r.body["checks"]["dynamodb"], "unavailable");
    let r = dead.me(&t.api().customer("h@example.com").await).await;
    assert_eq!((r.status(), r.error_code()), (503, "service_unavailable"));
}

/// What `cargo lambda watch` cannot carry (it answers 500 itself) but API Gateway delivers: a body
/// that is not UTF-8 arrives base64-encoded as `Body::Binary`, and header values may hold any byte.
#[tokio::test]
async fn bytes_that_are_not_text_are_a_clean_4xx() {
    let t = TestApp::new().await;
    let req = lambda_http::http::Request::builder()
        .method("POST")
        .uri("https://api.test/users/login")
        .header("content-type", "application/json")
        .body(lambda_http::Body::Binary(vec![0xff, 0xfe, 0x07, b'{']))
        .unwrap();
    let r = t.api().send_request(req).await;
    assert_eq!((r.status(), r.error_code()), (400, "invalid_json"));

    let bad_header = lambda_http::http::HeaderValue::from_bytes(b"Bearer caf\xe9").unwrap();
    let mut req = request("GET", "/users/me").build();
    req.headers_mut().insert("authorization", bad_header);
    let r = t.api().send_request(req).await;
    assert_eq!(r.status(), 401);
}

#[test]
fn every_jwt_secret_written_in_the_repository_is_refused_outside_local_mode() {
    let env =
        std::fs::read_to_string(shop_tests::repo_root().join("scripts/local-env.sh")).unwrap();
    let dev = env
        .split("JWT_SECRET:-")
        .nth(1)
        .and_then(|s| s.split('}').next())
        .expect("local-env.sh sets a default JWT secret");
    for secret in [dev, shop_tests::TEST_SECRET] {
        assert!(
            shop::config::PUBLIC_JWT_SECRETS.contains(&secret),
            "{secret} is public but not refused"
        );
    }
}

#[tokio::test]
async fn emails_that_look_alike_are_one_account() {
    let t = TestApp::new().await;
    let reg = |email: &str| {
        request("POST", "/users/register")
            .json(json!({"email": email, "password": "shopper-passphrase-42", "name": "José"}))
    };
    assert_eq!(
        t.api().send(reg("jos\u{e9}@example.com")).await.status(),
        201
    );
    // The same address with a decomposed accent, or in fullwidth letters: taken.
    let r = t.api().send(reg("jose\u{301}@example.com")).await;
    assert_eq!(r.status(), 409, "{:?}", r.body);
    let r = t.api().send(reg("\u{FF2A}os\u{e9}@example.com")).await;
    assert_eq!(r.status(), 409, "{:?}", r.body);
    // And either form signs in to it.
    let r = t
        .api()
        .login("jose\u{301}@EXAMPLE.com", "shopper-passphrase-42")
        .await;
    assert_eq!(r.status(), 200, "{:?}", r.body);
}

/// Signs in and returns (access token, refresh token).
async fn session(t: &TestApp, email: &str) -> (String, String) {
    let r = t.api().login(email, "shopper-passphrase-42").await;
    assert_eq!(r.status(), 200, "{:?}", r.body);
    (
        r.body["token"].as_str().unwrap().to_string(),
        r.body["refresh_token"].as_str().unwrap().to_string(),
    )
}

async fn refresh(t: &TestApp, token: &str) -> shop_tests::TestResponse {
    t.api()
        .send(request("POST", "/users/refresh").json(json!({ "refresh_token": token })))
        .await
}

#[tokio::test]
async fn a_refresh_token_rotates_and_its_reuse_ends_the_session() {
    let t = TestApp::new().await;
    t.api()
        .register("ria@example.com", "shopper-passphrase-42", "Ria")
        .await;
    let (access, first) = session(&t, "ria@example.com").await;
    let r = refresh(&t, &first).await;
    assert_eq!(r.status(), 200, "{:?}", r.body);
    let second = r.body["refresh_token"].as_str().unwrap().to_string();
    let renewed = r.body["token"].as_str().unwrap().to_string();
    assert_ne!(second, first, "rotated");
    assert_eq!(t.api().me(&renewed).await.status(), 200);
    assert_eq!(
        t.api().me(&access).await.status(),
        200,
        "the earlier access token of the session still works"
    );
    // The rotated-away token comes back: someone else holds it. The whole session ends.
    let r = refresh(&t, &first).await;
    assert_eq!(r.status(), 401);
    assert_eq!(
        refresh(&t, &second).await.status(),
        401,
        "the family is revoked"
    );
    assert_eq!(
        t.api().me(&renewed).await.status(),
        401,
        "on the very next request"
    );
    // A forged or garbled refresh token is the same 401.
    for bad in ["", "x.y.z", &format!("{}x", &second[..second.len() - 1])] {
        assert_eq!(refresh(&t, bad).await.status(), 401, "{bad:?}");
    }
}

#[tokio::test]
async fn a_token_rotated_away_any_number_of_times_ago_still_ends_the_session() {
    let t = TestApp::new().await;
    t.api()
        .register("sev@example.com", "shopper-passphrase-42", "Sev")
        .await;
    let (_, first) = session(&t, "sev@example.com").await;
    let mut current = first.clone();
    for _ in 0..7 {
        let r = refresh(&t, &current).await;
        assert_eq!(r.status(), 200, "{:?}", r.body);
        current = r.body["refresh_token"].as_str().unwrap().to_string();
    }
    let access = {
        let r = refresh(&t, &current).await;
        current = r.body["refresh_token"].as_str().unwrap().to_string();
        r.body["token"].as_str().unwrap().to_string()
    };
    // Someone with the session's id but not the key cannot end it with a made-up old token.
    let parts: Vec<&str> = current.split('.').collect();
    let forged = format!("{}.{}.0.{}.{}", parts[0], parts[1], parts[3], parts[4]);
    assert_eq!(refresh(&t, &forged).await.status(), 401);
    assert_eq!(
        t.api().me(&access).await.status(),
        200,
        "a forgery ends nothing"
    );
    // The very first token, eight rotations ago: reuse, and the session ends.
    assert_eq!(refresh(&t, &first).await.status(), 401);
    assert_eq!(t.api().me(&access).await.status(), 401);
    assert_eq!(refresh(&t, &current).await.status(), 401);
}

#[tokio::test]
async fn one_refresh_token_used_twice_at_once_refreshes_once() {
    let t = TestApp::new().await;
    t.api()
        .register("duo@example.com", "shopper-passphrase-42", "Duo")
        .await;
    let (_, token) = session(&t, "duo@example.com").await;
    let (a, b) = tokio::join!(refresh(&t, &token), refresh(&t, &token));
    let mut statuses = [a.status(), b.status()];
    statuses.sort();
    assert_eq!(statuses, [200, 401]);
}

#[tokio::test]
async fn logout_ends_the_session_and_logout_all_ends_every_session() {
    let t = TestApp::new().await;
    t.api()
        .register("lou@example.com", "shopper-passphrase-42", "Lou")
        .await;
    let (laptop, laptop_refresh) = session(&t, "lou@example.com").await;
    let (phone, phone_refresh) = session(&t, "lou@example.com").await;
    let r = t
        .api()
        .send(request("POST", "/users/logout").bearer(&laptop))
        .await;
    assert_eq!(r.status(), 204);
    assert_eq!(
        refresh(&t, &laptop_refresh).await.status(),
        401,
        "logout ends the refresh family too"
    );
    assert_eq!(
        t.api().me(&phone).await.status(),
        200,
        "other sessions go on"
    );
    let (tablet, _) = session(&t, "lou@example.com").await;
    let r = t
        .api()
        .send(request("POST", "/users/logout-all").bearer(&tablet))
        .await;
    assert_eq!(r.status(), 204);
    assert_eq!(t.api().me(&phone).await.status(), 401);
    assert_eq!(t.api().me(&tablet).await.status(), 401);
    assert_eq!(refresh(&t, &phone_refresh).await.status(), 401);
}

#[tokio::test]
async fn a_password_change_ends_every_other_session() {
    let t = TestApp::new().await;
    t.api()
        .register("pat@example.com", "shopper-passphrase-42", "Pat")
        .await;
    let (here, _) = session(&t, "pat@example.com").await;
    let (elsewhere, elsewhere_refresh) = session(&t, "pat@example.com").await;
    let r = t
        .api()
        .send(request("PUT", "/users/me").bearer(&here).json(
            json!({"password": "a-brand-new-secret", "current_password": "shopper-passphrase-42"}),
        ))
        .await;
    assert_eq!(r.status(), 200, "{:?}", r.body);
    assert_eq!(t.api().me(&here).await.status(), 200, "this session stays");
    assert_eq!(t.api().me(&elsewhere).await.status(), 401);
    assert_eq!(refresh(&t, &elsewhere_refresh).await.status(), 401);
}

/// An account whose password was set under older rules: `password` is stored as its hash as it
/// stands, whatever today's rules say of it.
async fn account_with_old_password(t: &TestApp, email: &str, password: &str) -> String {
    let r = t
        .api()
        .register(email, "shopper-passphrase-42", "Ada")
        .await;
    let id = r.body["id"].as_str().unwrap().to_string();
    let old = shop::auth::password::Password::parse("password", password.into()).unwrap();
    let hash = shop::auth::hash_password(old).await.unwrap();
    t.app
        .dynamo
        .update_item()
        .table_name(&t.app.config.tables.users)
        .set_key(Some(shop::auth::account_key(&id)))
        .update_expression("SET password_hash = :h")
        .expression_attribute_values(":h", shop::db::s(hash))
        .send()
        .await
        .unwrap();
    id
}

#[tokio::test]
async fn a_sign_in_with_a_password_todays_rules_refuse_may_only_set_a_new_one() {
    let t = TestApp::new().await;
    account_with_old_password(&t, "old@example.com", "password1").await;
    let r = t.api().login("old@example.com", "password1").await;
    assert_eq!(r.status(), 200, "{}", r.body);
    assert_eq!(r.body["password_change_required"], true);
    let token = r.body["token"].as_str().unwrap().to_string();
    let refresh = r.body["refresh_token"].as_str().unwrap().to_string();

    // Everything else is refused, with a fresh token from the refresh as well.
    let renewed = t
        .api()
        .send(request("POST", "/users/refresh").json(json!({"refresh_token": refresh})))
        .await;
    let renewed = renewed.body["token"].as_str().unwrap().to_string();
    for (what, req) in [
        ("profile", request("GET", "/users/me").bearer(&token)),
        ("orders", request("GET", "/orders").bearer(&token)),
        ("cart", request("GET", "/cart").bearer(&renewed)),
        (
            "a name alone",
            request("PUT", "/users/me")
                .bearer(&token)
                .json(json!({"name": "Ada Lovelace"})),
        ),
    ] {
        let r = t.api().send(req).await;
        assert_eq!(
            (r.status(), r.error_code()),
            (403, "password_change_required"),
            "{what}: {}",
            r.body
        );
    }
    // The new password is held to today's rules too.
    let weak_again = request("PUT", "/users/me")
        .bearer(&token)
        .json(json!({"password": "password2", "current_password": "password1"}));
    assert_eq!(t.api().send(weak_again).await.status(), 400);
    let change = request("PUT", "/users/me")
        .bearer(&token)
        .json(json!({"password": "a-far-better-secret", "current_password": "password1"}));
    assert_eq!(t.api().send(change).await.status(), 200);
    assert_eq!(t.api().me(&token).await.status(), 200);
    let again = t
        .api()
        .login("old@example.com", "a-far-better-secret")
        .await;
    assert_eq!(again.status(), 200);
    assert!(again.body.get("password_change_required").is_none());
}

#[tokio::test]
async fn an_account_held_to_a_new_password_may_still_sign_out() {
    let t = TestApp::new().await;
    account_with_old_password(&t, "out@example.com", "zzzzzzzz").await;
    let r = t.api().login("out@example.com", "zzzzzzzz").await;
    assert_eq!(r.body["password_change_required"], true, "{}", r.body);
    let token = r.body["token"].as_str().unwrap();
    let out = request("POST", "/users/logout").bearer(token);
    assert_eq!(t.api().send(out).await.status(), 204);
    assert_eq!(t.api().me(token).await.status(), 401);
}
