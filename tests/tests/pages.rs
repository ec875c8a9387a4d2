//! The storefront's public pages: an admin's change reaches the product's prerendered page, its
//! category, the home page and the sitemap through the catalog's events (read from the products
//! table's stream, as the publisher reads them, and handed to render-pages as the bus rule does),
//! and a deleted product's page sends visitors on and leaves the sitemap.

use std::collections::HashSet;

use serde_json::{Value, json};
use shop::events::{EventType, stream::events_of};
use shop_tests::{TestApp, events::stream_records, request, s3};

/// Hands every product event not handed on yet to render-pages, as the bus rule would (and each
/// one twice when `twice`); how many were delivered.
async fn deliver(t: &TestApp, seen: &mut HashSet<String>, twice: bool) -> usize {
    let table = &t.app.config.tables.products;
    let mut delivered = 0;
    for record in stream_records(&t.env["DYNAMODB_ENDPOINT"], table).await {
        for event in events_of(&record, 5).unwrap() {
            let page_event = matches!(
                event.metadata.kind,
                EventType::ProductCreated | EventType::ProductUpdated | EventType::ProductDeleted
            );
            if !page_event || !seen.insert(event.metadata.id.clone()) {
                continue;
            }
            let envelope = json!({
                "source": event.metadata.kind.source(),
                "detail-type": event.metadata.kind.as_str(),
                "detail": event,
            });
            for _ in 0..if twice { 2 } else { 1 } {
                shop::storefront::handlers::render_pages(t.app, envelope.clone())
                    .await
                    .unwrap();
            }
            delivered += 1;
        }
    }
    delivered
}

async fn object(key: &str) -> (u16, String) {
    let r = reqwest::get(format!("{}/{}/{key}", s3::endpoint(), s3::SITE_BUCKET))
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// The page's JSON-LD, parsed.
fn ld_json(html: &str) -> Value {
    let open = "<script type=\"application/ld+json\">";
    let start = html.find(open).expect("the page has JSON-LD") + open.len();
    let end = html[start..].find("</script>").unwrap() + start;
    serde_json::from_str(&html[start..end]).expect("its JSON-LD parses")
}

#[tokio::test]
async fn an_admins_changes_reach_the_public_pages_and_the_sitemap() {
    let t = TestApp::with_env(|e| {
        e.insert("SITE_URL".into(), "https://shop.test".into());
        e.insert("STORE_NAME".into(), "Bean & Leaf".into());
    })
    .await;
    // Before the site is published there is nothing to write into: the event is done, not failed.
    let early = json!({"rebuild": true});
    let r = shop::storefront::handlers::render_pages(t.app, early)
        .await
        .unwrap();
    assert_eq!(r["written"], 0);
    assert_eq!(object("sitemap.xml").await.0, 404);
    s3::publish_shell(t.app).await;
    let (admin, _) = t.admin_and_customer().await;
    let mut seen = HashSet::new();

    let created = t
        .api()
        .create_product(
            &admin,
            json!({"name": "Pages Assam", "price_cents": 1250, "category": "pages-tea", "stock": 4,
                   "description": "Malty <b>and</b> bright."}),
        )
        .await;
    let id = created.body["id"].as_str().unwrap().to_string();
    assert_eq!(deliver(&t, &mut seen, true).await, 1, "ProductCreated");

    let (status, page) = object("pages/products/pages-assam.html").await;
    assert_eq!(status, 200);
    // Without any script: the name, price, availability and description are in the HTML.
    assert!(page.contains("<h1>Pages Assam</h1>"), "{page}");
    assert!(page.contains("<p class=\"price\">$12.50</p>"));
    assert!(page.contains(">In stock<"));
    assert!(page.contains("Malty &lt;b&gt;and&lt;/b&gt; bright."));
    assert!(
        page.contains("<link rel=\"canonical\" href=\"https://shop.test/products/pages-assam\">")
    );
    assert!(
        page.contains("<meta property=\"og:title\" content=\"Pages Assam — Bean &amp; Leaf\">")
    );
    let ld = ld_json(&page);
    assert_eq!(
        (ld["@context"].as_str(), ld["@type"].as_str()),
        (Some("https://schema.org"), Some("Product"))
    );
    assert_eq!(ld["name"], "Pages Assam");
    assert_eq!(ld["offers"]["price"], "12.50");
    assert_eq!(ld["offers"]["priceCurrency"], "USD");
    assert_eq!(ld["offers"]["availability"], "https://schema.org/InStock");
    let (_, category) = object("pages/category/pages-tea.html").await;
    assert!(category.contains("href=\"/products/pages-assam\""));
    let (_, home) = object("pages/index.html").await;
    assert!(home.contains("href=\"/products/pages-assam\"") && home.contains("data-page=\"home\""));
    let (_, sitemap) = object("sitemap.xml").await;
    assert!(sitemap.contains("<loc>https://shop.test/products/pages-assam</loc>"));
    let (_, robots) = object("robots.txt").await;
    assert!(robots.contains("Sitemap: https://shop.test/sitemap.xml"));

    // A price change and the last units sold: the page, its JSON-LD and the sitemap follow.
    let r = t
        .api()
        .send(
            request("PUT", &format!("/products/{id}"))
                .bearer(&admin)
                .json(json!({"price_cents": 1500, "stock": 0})),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(deliver(&t, &mut seen, false).await, 1, "ProductUpdated");
    let (_, page) = object("pages/products/pages-assam.html").await;
    assert!(page.contains("<p class=\"price\">$15.00</p>") && page.contains(">Sold out<"));
    let ld = ld_json(&page);
    assert_eq!(ld["offers"]["price"], "15.00");
    assert_eq!(
        ld["offers"]["availability"],
        "https://schema.org/OutOfStock"
    );
    let (_, again) = object("sitemap.xml").await;
    assert_ne!(sitemap, again, "the product's lastmod moved");

    // A stock change that leaves it sold out moves no page: no event.
    let r = t
        .api()
        .send(
            request("PUT", &format!("/products/{id}"))
                .bearer(&admin)
                .json(json!({"description": "Malty and bright."})),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        deliver(&t, &mut seen, false).await,
        1,
        "the description is on the page"
    );

    // Deleted: the page sends visitors home (the category is empty now) and is never indexed; the
    // sitemap and the listings forget it.
    let r = t
        .api()
        .send(request("DELETE", &format!("/products/{id}")).bearer(&admin))
        .await;
    assert!(r.status.is_success(), "{:?}", r.body);
    assert_eq!(deliver(&t, &mut seen, true).await, 1, "ProductDeleted");
    let (status, page) = object("pages/products/pages-assam.html").await;
    assert_eq!(status, 200);
    assert!(page.contains("<meta name=\"robots\" content=\"noindex\">"));
    assert!(page.contains("content=\"0; url=https://shop.test/\""));
    assert!(!page.contains("ld+json") && !page.contains("$15.00"));
    let (_, sitemap) = object("sitemap.xml").await;
    assert!(!sitemap.contains("pages-assam"));
    let (_, home) = object("pages/index.html").await;
    assert!(!home.contains("pages-assam"));
}
