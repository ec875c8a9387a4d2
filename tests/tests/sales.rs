//! The owner's sales figures: orders placed, paid, cancelled and refunded through the API, their
//! events (as the publisher makes them from the tables' streams) delivered to `record-sales`
//! concurrently and then all over again, and `GET /admin/stats` compared with the sum over the
//! orders themselves.

use serde_json::{Value, json};
use shop_tests::{TestApp, events::stream_records, request};

/// Every event the publisher would put on the bus from the app's order and account changes so
/// far, as EventBridge hands it to a rule's target.
async fn published(t: &TestApp) -> Vec<Value> {
    let mut out = Vec::new();
    for (table, prefix) in [("USERS_TABLE", "USER#"), ("ORDERS_TABLE", "ORDER#")] {
        for record in stream_records(&t.env["DYNAMODB_ENDPOINT"], &t.env[table]).await {
            let pk = record["dynamodb"]["Keys"]["pk"]["S"].as_str().unwrap_or("");
            if !pk.starts_with(prefix) {
                continue;
            }
            for event in shop::events::stream::events_of(&record, 5).unwrap() {
                out.push(json!({
                    "detail-type": event.metadata.kind.as_str(),
                    "source": event.metadata.kind.source(),
                    "detail": event,
                }));
            }
        }
    }
    out
}

async fn stats(t: &TestApp, token: &str, query: &[(&str, &str)]) -> shop_tests::TestResponse {
    let mut req = request("GET", "/admin/stats").bearer(token);
    for (k, v) in query {
        req = req.query(k, v);
    }
    t.api().send(req).await
}

fn total(order: &Value) -> i64 {
    order["total_cents"].as_i64().unwrap()
}

#[tokio::test]
async fn the_figures_are_the_sum_over_the_orders_and_a_redelivered_event_moves_none() {
    let t = TestApp::new().await;
    let (admin, alice) = t.admin_and_customer().await;
    let bob = t.api().customer("bob@sales.test").await;
    let tea = t.product("Tea", 500, 100).await;
    let mug = t.product("Mug", 1_200, 100).await;
    let mut orders = Vec::new();
    for (i, (token, items)) in [
        (&alice, json!([{"product_id": tea, "quantity": 2}])),
        (&alice, json!([{"product_id": mug, "quantity": 1}])),
        (
            &alice,
            json!([{"product_id": tea, "quantity": 1}, {"product_id": mug, "quantity": 1}]),
        ),
        (&bob, json!([{"product_id": mug, "quantity": 3}])),
    ]
    .into_iter()
    .enumerate()
    {
        let r = t
            .api()
            .checkout(token, &format!("sales-{i}"), json!({"items": items}))
            .await;
        assert_eq!(r.status(), 201, "{:?}", r.body);
        orders.push(r.body);
    }
    let id = |i: usize| orders[i]["id"].as_str().unwrap().to_string();
    // Three paid, the second of them then cancelled by the admin (refunded); Bob cancels his unpaid one.
    for i in 0..3 {
        let r = t.api().set_status(&admin, &id(i), "PAID").await;
        assert_eq!(r.status(), 200, "{:?}", r.body);
    }
    let r = t.api().set_status(&admin, &id(1), "CANCELLED").await;
    assert_eq!(r.body["payment_status"], "refunded", "{:?}", r.body);
    let r = t.api().set_status(&bob, &id(3), "CANCELLED").await;
    assert_eq!(r.status(), 200, "{:?}", r.body);

    let events = published(&t).await;
    // Delivered all at once (they meet on the same counters), then every one again.
    let first = futures_util::future::join_all(
        events
            .iter()
            .map(|e| shop::sales::record_sales(t.app, e.clone())),
    )
    .await;
    let counted = first
        .into_iter()
        .map(Result::unwrap)
        .filter(|r| r["recorded"] == true)
        .count();
    // Placed 4, paid 3, refunded 1, and three accounts opened (admin, Alice, Bob).
    assert_eq!(counted, 4 + 3 + 1 + 3);
    for e in &events {
        let again = shop::sales::record_sales(t.app, e.clone()).await.unwrap();
        assert_eq!(again["recorded"], false, "{e}");
    }

    // The days around today (UTC), so a run across midnight still sees every event.
    let today = time::OffsetDateTime::now_utc().date();
    let day = |d: time::Date| format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day());
    let (from, to) = (
        day(today.previous_day().unwrap()),
        day(today.next_day().unwrap()),
    );
    let r = stats(&t, &admin, &[("from", &from), ("to", &to)]).await;
    assert_eq!(r.status(), 200, "{:?}", r.body);
    let paid: i64 = (0..3).map(|i| total(&orders[i])).sum();
    let refunded = total(&orders[1]);
    assert_eq!(
        r.body["totals"],
        json!({
            "placed": 4, "paid": 3, "units": 2 + 1 + 2, "gross_cents": paid,
            "refunded_cents": refunded, "net_cents": paid - refunded, "new_customers": 3
        })
    );
    let days = r.body["days"].as_array().unwrap();
    assert_eq!(days.len(), 3);
    assert_eq!(days[0]["date"], from.as_str());
    let placed: i64 = days.iter().map(|d| d["placed"].as_i64().unwrap()).sum();
    assert_eq!(placed, 4, "the days add up to the totals");
    assert_eq!(
        r.body["top_products"],
        json!([
            {"product_id": mug, "name": "Mug", "units": 2, "revenue_cents": 2_400},
            {"product_id": tea, "name": "Tea", "units": 3, "revenue_cents": 1_500},
        ])
    );

    // A range that ended before today holds nothing of this.
    let r = stats(&t, &admin, &[("from", "2020-01-01"), ("to", "2020-01-31")]).await;
    assert_eq!(r.body["totals"]["placed"], 0);
    assert_eq!(r.body["days"].as_array().unwrap().len(), 31);
}

#[tokio::test]
async fn only_an_admin_reads_the_figures_and_a_bad_range_is_named() {
    let t = TestApp::new().await;
    let (admin, customer) = t.admin_and_customer().await;
    assert_eq!(stats(&t, &customer, &[]).await.status(), 403);
    assert_eq!(
        t.api().send(request("GET", "/admin/stats")).await.status(),
        401
    );
    let r = stats(&t, &admin, &[]).await;
    assert_eq!(r.status(), 200, "{:?}", r.body);
    assert_eq!(
        r.body["days"].as_array().unwrap().len(),
        30,
        "the last 30 days by default"
    );
    for (query, field) in [
        (vec![("from", "2026-02-30")], "from"),
        (vec![("from", "2026-12-05"), ("to", "2026-12-04")], "from"),
        (vec![("from", "2025-01-01"), ("to", "2026-12-04")], "to"),
        (vec![("to", "yesterday")], "to"),
    ] {
        let r = stats(&t, &admin, &query).await;
        assert_eq!(r.status(), 400, "{query:?}: {:?}", r.body);
        assert_eq!(r.body["error"]["field"], field, "{query:?}: {:?}", r.body);
    }
}

/// Today in UTC as `YYYY-MM-DD`, moved by `days`.
fn utc_day(days: i64) -> String {
    let d = time::OffsetDateTime::now_utc().date() + time::Duration::days(days);
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

#[tokio::test]
async fn the_export_is_csv_of_the_ranges_orders_with_emails_and_formulas_made_harmless() {
    let t = TestApp::new().await;
    let (admin, customer) = t.admin_and_customer().await;
    let tea = t.product("Tea, loose", 500, 100).await;
    let mut ids = Vec::new();
    for i in 0..3 {
        let mut body =
            shop_tests::shipped(json!({"items": [{"product_id": tea, "quantity": i + 1}]}));
        if i == 1 {
            body["shipping_address"]["name"] = json!("=HYPERLINK(\"http://evil\",\"x\")");
        }
        let r = t
            .api()
            .checkout(&customer, &format!("export-{i}"), body)
            .await;
        assert_eq!(r.status(), 201, "{:?}", r.body);
        ids.push((
            r.body["id"].as_str().unwrap().to_string(),
            r.body["total_cents"].as_i64().unwrap(),
        ));
    }
    let (from, to) = (utc_day(-1), utc_day(1));
    let r = t
        .api()
        .send(
            request("GET", "/admin/orders/export")
                .bearer(&admin)
                .query("from", &from)
                .query("to", &to),
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.header("content-type"), Some("text/csv; charset=utf-8"));
    assert_eq!(
        r.header("content-disposition"),
        Some(format!("attachment; filename=\"orders-{from}-to-{to}.csv\"").as_str())
    );
    assert_eq!(r.header("link"), None, "one page holds three orders");
    let csv = r.text.clone();
    let lines: Vec<&str> = csv.split_terminator("\r\n").collect();
    assert_eq!(lines.len(), 4, "{csv}");
    assert!(
        lines[0].starts_with("order_id,placed_at,updated_at,status,payment_status,customer_email,")
    );
    for (line, (id, total)) in lines[1..].iter().zip(&ids) {
        assert!(line.starts_with(&format!("{id},")), "oldest first: {line}");
        assert!(
            line.contains(",PENDING,unpaid,shopper@test.local,"),
            "{line}"
        );
        assert!(
            line.contains(&format!(",{}.{:02},", total / 100, total % 100)),
            "{line}"
        );
    }
    // Quoted because of the quotes and comma in it, and a text, not a formula.
    assert!(
        lines[2].contains(",\"'=HYPERLINK(\"\"http://evil\"\",\"\"x\"\")\","),
        "{}",
        lines[2]
    );
    assert!(lines[1].ends_with(",\"1 x Tea, loose\""), "{}", lines[1]);

    // A range before the orders holds only the header; customers may not export.
    let r = t
        .api()
        .send(
            request("GET", "/admin/orders/export")
                .bearer(&admin)
                .query("from", "2020-01-01")
                .query("to", "2020-01-02"),
        )
        .await;
    assert_eq!(r.text.split_terminator("\r\n").count(), 1);
    let r = t
        .api()
        .send(request("GET", "/admin/orders/export").bearer(&customer))
        .await;
    assert_eq!(r.status(), 403);

    // Two rows a page: the pages, followed one after another, hold every order once.
    let range = shop::sales::model::Range::parse(
        Some(&from),
        Some(&to),
        shop::sales::model::Day::parse("d", &to).unwrap(),
    )
    .unwrap();
    let mut cursor = None;
    let mut rows = Vec::new();
    let mut pages = 0;
    loop {
        let page = shop::sales::handlers::export_page(t.app, range, cursor.as_ref(), 2)
            .await
            .unwrap();
        pages += 1;
        rows.extend(page.csv.split_terminator("\r\n").map(str::to_string));
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert!(pages >= 2, "{pages} pages");
    let exported: Vec<&str> = rows[1..].iter().map(|l| &l[..26]).collect();
    assert_eq!(
        exported,
        ids.iter().map(|(id, _)| id.as_str()).collect::<Vec<_>>()
    );
}
