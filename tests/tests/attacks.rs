//! Attacks on authentication and authorisation, through the handlers against DynamoDB Local.
//! Every forged, stale or borrowed credential must be refused with the contract's status.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD as B64};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use shop::users;
use shop_tests::{TEST_SECRET, TestApp, request};

/// Claims for `like`'s user and session (a real, live one), with this role and timing.
fn claims(t: &TestApp, like: &str, role: &str, exp_in: i64, nbf_in: i64) -> Value {
    let now = shop::types::now_epoch_secs() as i64;
    json!({
        "sub": claim_of(like, "sub"), "sid": claim_of(like, "sid"), "role": role,
        "iss": t.app.config.jwt_issuer, "aud": t.app.config.jwt_audience,
        "iat": now, "nbf": now + nbf_in, "exp": now + exp_in, "jti": ulid(),
    })
}

fn ulid() -> String {
    shop::types::ProductId::new().to_string()
}

/// Signs like an attacker would: by hand, with any HMAC algorithm ("HS256" or "HS512").
fn sign(alg: &str, key: &[u8], claims: &Value) -> String {
    let unsigned = format!(
        "{}.{}",
        B64.encode(format!(r#"{{"alg":"{alg}","typ":"JWT"}}"#)),
        B64.encode(claims.to_string())
    );
    let tag = match alg {
        "HS256" => Hmac::<sha2::Sha256>::new_from_slice(key)
            .unwrap()
            .chain_update(&unsigned)
            .finalize()
            .into_bytes()
            .to_vec(),
        "HS512" => Hmac::<sha2::Sha512>::new_from_slice(key)
            .unwrap()
            .chain_update(&unsigned)
            .finalize()
            .into_bytes()
            .to_vec(),
        other => panic!("no HMAC algorithm {other}"),
    };
    format!("{unsigned}.{}", B64.encode(tag))
}

fn unsigned(header: &str, claims: &Value, sig: &str) -> String {
    format!(
        "{}.{}.{sig}",
        B64.encode(header),
        B64.encode(claims.to_string())
    )
}

fn claim_of(token: &str, claim: &str) -> String {
    let payload: Value =
        serde_json::from_slice(&B64.decode(token.split('.').nth(1).unwrap()).unwrap()).unwrap();
    payload[claim].as_str().unwrap().to_string()
}

#[tokio::test]
async fn forged_and_stale_tokens_are_401() {
    let t = TestApp::new().await;
    let (admin, customer) = t.admin_and_customer().await;
    let good = claims(&t, &admin, "admin", 600, 0);
    let hs256 = "HS256";
    let genuine = sign(hs256, TEST_SECRET.as_bytes(), &good);
    assert_eq!(
        t.api().me(&genuine).await.status(),
        200,
        "the control token works"
    );

    let mut attacks: Vec<(&str, String)> = vec![
        (
            "alg none",
            unsigned(r#"{"alg":"none","typ":"JWT"}"#, &good, ""),
        ),
        (
            "HS256 with another key",
            sign(hs256, b"another-secret-of-at-least-32-bytes!!", &good),
        ),
        (
            "HS512 with the right key",
            sign("HS512", TEST_SECRET.as_bytes(), &good),
        ),
        (
            "RS256 header over an HMAC signature",
            unsigned(
                r#"{"alg":"RS256","typ":"JWT"}"#,
                &good,
                genuine.rsplit('.').next().unwrap(),
            ),
        ),
        (
            "expired",
            sign(
                hs256,
                TEST_SECRET.as_bytes(),
                &claims(&t, &admin, "admin", -60, -600),
            ),
        ),
        (
            "not yet valid",
            sign(
                hs256,
                TEST_SECRET.as_bytes(),
                &claims(&t, &admin, "admin", 600, 300),
            ),
        ),
        ("empty", String::new()),
        ("garbage", "not.a.jwt".into()),
    ];
    let mut wrong_aud = good.clone();
    wrong_aud["aud"] = "another-api".into();
    attacks.push((
        "wrong audience",
        sign(hs256, TEST_SECRET.as_bytes(), &wrong_aud),
    ));
    let mut wrong_iss = good.clone();
    wrong_iss["iss"] = "evil".into();
    attacks.push((
        "wrong issuer",
        sign(hs256, TEST_SECRET.as_bytes(), &wrong_iss),
    ));
    // A customer's token with the payload edited to claim admin.
    let parts: Vec<&str> = customer.split('.').collect();
    let mut payload: Value = serde_json::from_slice(&B64.decode(parts[1]).unwrap()).unwrap();
    payload["role"] = "admin".into();
    attacks.push((
        "tampered payload",
        format!(
            "{}.{}.{}",
            parts[0],
            B64.encode(payload.to_string()),
            parts[2]
        ),
    ));

    for (what, token) in &attacks {
        let r = t.api().me(token).await;
        assert_eq!(
            (r.status(), r.error_code()),
            (401, "unauthorized"),
            "{what}"
        );
        let r = t
            .api()
            .send(
                request("POST", "/products")
                    .bearer(token)
                    .json(json!({"name": "X", "price_cents": 1, "category": "x", "stock": 1})),
            )
            .await;
        assert_eq!(r.status(), 401, "{what} on an admin route");
    }
    // The 401 message is the same whatever was wrong: nothing to learn from it.
    let mut messages = std::collections::HashSet::new();
    for (_, token) in &attacks {
        messages.insert(t.api().me(token).await.body["error"]["message"].to_string());
    }
    assert_eq!(messages.len(), 1, "{messages:?}");
}

#[tokio::test]
async fn revoked_deleted_and_demoted_accounts_lose_access_at_once() {
    let t = TestApp::new().await;
    let (admin, customer) = t.admin_and_customer().await;

    // Revoked after logout: refused on every route, not only /users/me.
    let other = t
        .api()
        .token("shopper@test.local", shop_tests::CUSTOMER_PASSWORD)
        .await;
    assert_eq!(
        t.api()
            .send(request("POST", "/users/logout").bearer(&other))
            .await
            .status(),
        204
    );
    assert_eq!(
        t.api()
            .send(request("GET", "/cart").bearer(&other))
            .await
            .status(),
        401
    );
    assert_eq!(
        t.api()
            .send(request("GET", "/cart").bearer(&customer))
            .await
            .status(),
        200
    );
    // Endpoints that read the account in the same batch as their own data refuse it too, before
    // looking at what was asked for (an unknown order is a 401 here, not a 404).
    let unknown = ulid();
    let r = t
        .api()
        .send(request("GET", &format!("/orders/{unknown}")).bearer(&other))
        .await;
    assert_eq!(r.status(), 401, "{:?}", r.body);
    let r = t
        .api()
        .send(
            request("POST", "/orders")
                .bearer(&other)
                .header("idempotency-key", "revoked-checkout")
                .json(shop_tests::shipped(
                    json!({"items": [{"product_id": unknown, "quantity": 1}]}),
                )),
        )
        .await;
    assert_eq!(r.status(), 401, "{:?}", r.body);

    // Deleted account: its still-unexpired token is refused.
    t.app
        .dynamo
        .delete_item()
        .table_name(&t.app.config.tables.users)
        .set_key(Some(shop::auth::account_key(&claim_of(&customer, "sub"))))
        .send()
        .await
        .unwrap();
    assert_eq!(
        t.api()
            .send(request("GET", "/cart").bearer(&customer))
            .await
            .status(),
        401
    );
    assert_eq!(
        t.api()
            .send(request("GET", "/orders").bearer(&customer))
            .await
            .status(),
        401
    );

    // Demoted admin: the role in the token no longer counts.
    t.app
        .dynamo
        .update_item()
        .table_name(&t.app.config.tables.users)
        .set_key(Some(shop::auth::account_key(&claim_of(&admin, "sub"))))
        .update_expression("SET #r = :c")
        .expression_attribute_names("#r", "role")
        .expression_attribute_values(":c", shop::db::s("customer"))
        .send()
        .await
        .unwrap();
    let r = t
        .api()
        .send(
            request("POST", "/products")
                .bearer(&admin)
                .json(json!({"name": "X", "price_cents": 1, "category": "x", "stock": 1})),
        )
        .await;
    assert_eq!(r.status(), 403);
}

#[tokio::test]
async fn customers_are_refused_every_admin_action() {
    let t = TestApp::new().await;
    let (admin, customer) = t.admin_and_customer().await;
    let p = t
        .api()
        .send(
            request("POST", "/products")
                .bearer(&admin)
                .json(json!({"name": "Guarded", "price_cents": 100, "category": "x", "stock": 5})),
        )
        .await;
    let pid = p.body["id"].as_str().unwrap().to_string();
    let order = t
        .api()
        .send(
            request("POST", "/orders")
                .bearer(&customer)
                .header("idempotency-key", "k")
                .json(shop_tests::shipped(
                    json!({"items": [{"product_id": pid, "quantity": 1}]}),
                )),
        )
        .await;
    let oid = order.body["id"].as_str().unwrap().to_string();

    let cases = vec![
        (
            "create product",
            t.api()
                .send(
                    request("POST", "/products")
                        .bearer(&customer)
                        .json(json!({"name": "X", "price_cents": 1, "category": "x", "stock": 1})),
                )
                .await,
        ),
        (
            "update product",
            t.api()
                .send(
                    request("PUT", &format!("/products/{pid}"))
                        .bearer(&customer)
                        .json(json!({"price_cents": 1})),
                )
                .await,
        ),
        (
            "delete product",
            t.api()
                .send(request("DELETE", &format!("/products/{pid}")).bearer(&customer))
                .await,
        ),
        (
            "image upload",
            t.api()
                .send(
                    request("POST", &format!("/products/{pid}/image"))
                        .bearer(&customer)
                        .json(json!({"content_type": "image/png"})),
                )
                .await,
        ),
        (
            "list all orders",
            t.api()
                .send(
                    request("GET", "/orders")
                        .bearer(&customer)
                        .query("status", "PENDING"),
                )
                .await,
        ),
        (
            "mark own order paid",
            t.api()
                .send(
                    request("PUT", &format!("/orders/{oid}/status"))
                        .bearer(&customer)
                        .json(json!({"status": "PAID"})),
                )
                .await,
        ),
    ];
    for (what, r) in cases {
        assert_eq!((r.status(), r.error_code()), (403, "forbidden"), "{what}");
    }
    let p = t
        .api()
        .send(request("GET", &format!("/products/{pid}")))
        .await;
    assert_eq!(
        (p.body["price_cents"].as_i64(), p.body["stock"].as_i64()),
        (Some(100), Some(4)),
        "nothing changed"
    );
}

#[tokio::test]
async fn one_customer_cannot_see_or_cancel_anothers_order() {
    let t = TestApp::new().await;
    let (admin, alice) = t.admin_and_customer().await;
    let r =
        t.api()
            .send(request("POST", "/users/register").json(
                json!({"email": "bob@test.local", "password": "bob-password", "name": "Bob"}),
            ))
            .await;
    assert_eq!(r.status(), 201);
    let bob = t.api().token("bob@test.local", "bob-password").await;
    let p = t
        .api()
        .send(
            request("POST", "/products")
                .bearer(&admin)
                .json(json!({"name": "Mine", "price_cents": 100, "category": "x", "stock": 5})),
        )
        .await;
    let pid = p.body["id"].as_str().unwrap();
    let order = t
        .api()
        .send(
            request("POST", "/orders")
                .bearer(&alice)
                .header("idempotency-key", "k")
                .json(shop_tests::shipped(
                    json!({"items": [{"product_id": pid, "quantity": 2}]}),
                )),
        )
        .await;
    let oid = order.body["id"].as_str().unwrap();

    let read = t
        .api()
        .send(request("GET", &format!("/orders/{oid}")).bearer(&bob))
        .await;
    let ghost = t
        .api()
        .send(request("GET", &format!("/orders/{}", ulid())).bearer(&bob))
        .await;
    assert_eq!(read.status(), 404);
    assert_eq!(
        read.body, ghost.body,
        "indistinguishable from an order that does not exist"
    );
    let cancel = t
        .api()
        .send(
            request("PUT", &format!("/orders/{oid}/status"))
                .bearer(&bob)
                .json(json!({"status": "CANCELLED"})),
        )
        .await;
    assert_eq!(cancel.status(), 404);
    let list = t.api().send(request("GET", "/orders").bearer(&bob)).await;
    assert_eq!(list.body["items"], json!([]));
    // Same idempotency key as Alice: a new order of Bob's, never a replay of hers.
    let mine = t
        .api()
        .send(
            request("POST", "/orders")
                .bearer(&bob)
                .header("idempotency-key", "k")
                .json(shop_tests::shipped(
                    json!({"items": [{"product_id": pid, "quantity": 2}]}),
                )),
        )
        .await;
    assert_eq!(mine.status(), 201);
    assert_ne!(mine.body["id"], order.body["id"]);
    let still = t
        .api()
        .send(request("GET", &format!("/orders/{oid}")).bearer(&alice))
        .await;
    assert_eq!(still.body["status"], "PENDING");
}

#[tokio::test]
async fn oversized_passwords_are_refused_before_any_credential_check() {
    let t = TestApp::new().await;
    let r = t
        .api()
        .send(
            request("POST", "/users/register")
                .json(json!({"email": "a@b.co", "password": "p".repeat(129), "name": "A"})),
        )
        .await;
    assert_eq!(
        (r.status(), r.body["error"]["field"].as_str()),
        (400, Some("password"))
    );
    let r = t
        .api()
        .send(
            request("POST", "/users/register")
                .json(json!({"email": "a@b.co", "password": "right-password", "name": "A"})),
        )
        .await;
    assert_eq!(r.status(), 201);
    // More oversized attempts than the free failures: each is a 400 before the password is
    // looked at, so none counts as a failed login and the owner can still sign in.
    for _ in 0..users::PER_ACCOUNT_AND_ADDRESS.free + 2 {
        let r = t
            .api()
            .send(
                request("POST", "/users/login")
                    .json(json!({"email": "a@b.co", "password": "p".repeat(60_000)})),
            )
            .await;
        assert_eq!(
            (r.status(), r.body["error"]["field"].as_str()),
            (400, Some("password"))
        );
    }
    assert_eq!(
        t.api()
            .send(
                request("POST", "/users/login")
                    .json(json!({"email": "a@b.co", "password": "right-password"}))
            )
            .await
            .status(),
        200
    );
}
