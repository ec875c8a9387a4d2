//! End to end over HTTP: the real binaries under `cargo lambda watch`, routed by the workspace router.

use serde_json::{Value, json};
use shop_tests::{TestApp, Watch};

#[tokio::test]
async fn register_login_me_update_logout_over_http() {
    let t = TestApp::with_env(|e| {
        e.insert("LOG_LEVEL".into(), "info".into());
    })
    .await;
    let watch = Watch::start(&t.env);
    let api = watch.api();

    let (s, health) = api.json("GET", "/health", None, None).await;
    assert_eq!(
        (s, health["status"].as_str()),
        (200, Some("ok")),
        "{health}"
    );

    let creds = json!({"email": "e2e@example.com", "password": "shopper-passphrase-42"});
    let mut reg = creds.clone();
    reg["name"] = "End To End".into();
    let (s, user) = api
        .json("POST", "/users/register", None, Some(reg.clone()))
        .await;
    assert_eq!(s, 201, "{user}");
    let (s, _) = api.json("POST", "/users/register", None, Some(reg)).await;
    assert_eq!(s, 409);

    let (s, login) = api.json("POST", "/users/login", None, Some(creds)).await;
    assert_eq!(s, 200, "{login}");
    let token = login["token"].as_str().unwrap().to_string();

    let (s, me) = api.json("GET", "/users/me", Some(&token), None).await;
    assert_eq!((s, &me["id"]), (200, &user["id"]));

    let (s, me) = api
        .json(
            "PUT",
            "/users/me",
            Some(&token),
            Some(json!({"name": "Renamed"})),
        )
        .await;
    assert_eq!((s, me["name"].as_str()), (200, Some("Renamed")));

    let (s, _) = api.json("POST", "/users/logout", Some(&token), None).await;
    assert_eq!(s, 204);
    let (s, err) = api.json("GET", "/users/me", Some(&token), None).await;
    assert_eq!(
        (s, err["error"]["code"].as_str()),
        (401, Some("unauthorized"))
    );

    let (s, err) = api.json("GET", "/users/me", None, None).await;
    assert_eq!(s, 401, "{err}");

    // The sample events work with `cargo lambda invoke`, as the README says.
    let r = watch.invoke("register", "events/register.json");
    assert_eq!(r["statusCode"], 201, "{r}");
    let body: Value = serde_json::from_str(r["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["email"], "ada@example.com");
    let r = watch.invoke("health", "events/health.json");
    assert_eq!(r["statusCode"], 200, "{r}");
    let logs = watch.logs();
    drop(watch);

    // Logs never carry secrets: no password, no token, no signing key, no hash.
    let all = logs.join("\n");
    for secret in [
        "shopper-passphrase-42",
        token.as_str(),
        shop_tests::TEST_SECRET,
        "$argon2id$",
        "correct horse battery",
    ] {
        assert!(!all.contains(secret), "a secret reached the logs: {secret}");
    }
    // One JSON line per request with method, route, status, latency, request id and user id.
    let requests: Vec<Value> = logs
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["message"] == "request")
        .collect();
    let me = requests
        .iter()
        .find(|v| v["route"] == "GET /users/me" && v["status"] == 200)
        .unwrap_or_else(|| panic!("no request log for GET /users/me in {logs:#?}"));
    assert_eq!(me["method"], "GET");
    assert!(me["latency_ms"].as_f64().is_some());
    assert!(
        me["span"]["request_id"]
            .as_str()
            .is_some_and(|r| !r.is_empty()),
        "{me}"
    );
    assert_eq!(me["span"]["user_id"], user["id"]);
    assert!(
        requests
            .iter()
            .any(|v| v["route"] == "POST /users/login" && v["status"] == 200)
    );
}
