//! The transactional emails: who gets one for which event, and what it says (plain text and
//! HTML, the store's name, money in the order's currency). Pure: no AWS.

use super::model::{Event, EventType, OrderData, Payload, StockData};
use crate::{
    orders::{model::CancelReason, shipment::Shipment},
    types::UserId,
    users::links::{Purpose, link_key, link_token},
};

/// Who an event's email goes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recipient {
    /// The customer the event is about (their address is read from their account).
    Customer,
    /// The operator's alert address (from the configuration).
    Operator,
}

/// Who `event` is mailed to; `None` for a type that sends no email.
pub fn recipient(event: &Event) -> Option<Recipient> {
    use EventType::*;
    match event.metadata.kind {
        OrderPlaced
        | OrderPaid
        | OrderShipped
        | OrderDelivered
        | OrderCancelled
        | OrderRefunded
        | PasswordResetRequested
        | EmailVerificationRequested
        | AccountUnderAttack => Some(Recipient::Customer),
        ProductLowStock | ProductOutOfStock => Some(Recipient::Operator),
        // The verification email (EmailVerificationRequested) is the welcome; the storefront's
        // pages follow the catalog's changes, no one is mailed about them.
        UserRegistered | ProductCreated | ProductUpdated | ProductDeleted => None,
    }
}

/// The shop as its emails name it.
#[derive(Debug, Clone)]
pub struct Shop<'a> {
    pub name: &'a str,
    /// The storefront's address, for links; no links without it.
    pub site_url: Option<&'a str>,
    /// The secret emailed links' keys derive from (`users::links::link_key`).
    pub link_secret: &'a [u8],
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// `1250, "EUR"` -> `€12.50`; a currency without a common symbol keeps its code (`12.50 CHF`).
pub fn money(cents: i64, currency: &str) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let (whole, frac) = (cents.abs() / 100, cents.abs() % 100);
    let symbol = match currency.to_ascii_uppercase().as_str() {
        "EUR" => Some("€"),
        "USD" => Some("$"),
        "GBP" => Some("£"),
        _ => None,
    };
    match symbol {
        Some(s) => format!("{sign}{s}{whole}.{frac:02}"),
        None => format!("{sign}{whole}.{frac:02} {}", currency.to_ascii_uppercase()),
    }
}

/// Text for HTML content and attribute values.
pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// A link: its label and address.
type Link = (String, String);

/// A body as paragraphs, each line of `lines` one row of a plain table in the HTML part.
struct Body {
    intro: String,
    lines: Vec<(String, String)>,
    outro: Vec<String>,
    links: Vec<Link>,
}

fn render(shop: &Shop, to: &str, subject: String, body: Body) -> Mail {
    let mut text = format!("{}\n\n", body.intro);
    for (l, r) in &body.lines {
        text.push_str(&format!("  {l}  {r}\n"));
    }
    if !body.lines.is_empty() {
        text.push('\n');
    }
    for p in &body.outro {
        text.push_str(&format!("{p}\n\n"));
    }
    for (label, url) in &body.links {
        text.push_str(&format!("{label}: {url}\n\n"));
    }
    text.push_str(&format!("-- \n{}\n", shop.name));

    let mut html = format!(
        "<!doctype html><html><body style=\"font-family:sans-serif\"><h2>{}</h2><p>{}</p>",
        escape(shop.name),
        escape(&body.intro)
    );
    if !body.lines.is_empty() {
        html.push_str("<table>");
        for (l, r) in &body.lines {
            html.push_str(&format!(
                "<tr><td>{}</td><td style=\"text-align:right\">{}</td></tr>",
                escape(l),
                escape(r)
            ));
        }
        html.push_str("</table>");
    }
    for p in &body.outro {
        html.push_str(&format!("<p>{}</p>", escape(p)));
    }
    for (label, url) in &body.links {
        html.push_str(&format!(
            "<p><a href=\"{}\">{}</a></p>",
            escape(url),
            escape(label)
        ));
    }
    html.push_str("</body></html>");
    Mail {
        to: to.to_string(),
        subject: format!("{}: {subject}", shop.name),
        text,
        html,
    }
}

/// The order's lines, subtotal, shipping, each tax line and total, as rows.
fn order_lines(order: &OrderData) -> Vec<(String, String)> {
    let currency = order.currency.as_str();
    let mut rows: Vec<(String, String)> = order
        .items
        .iter()
        .map(|l| {
            (
                format!("{} x {}", l.quantity.get(), l.name),
                money(l.unit_price_cents.times(l.quantity).get(), currency),
            )
        })
        .collect();
    rows.push((
        "Subtotal".into(),
        money(order.subtotal_cents.get(), currency),
    ));
    if let Some(code) = &order.promo_code {
        rows.push((
            format!("Discount ({code})"),
            money(-order.discount_cents.get(), currency),
        ));
    }
    rows.push((
        format!("Shipping ({})", order.shipping_method.name),
        money(order.shipping_cents.get(), currency),
    ));
    for t in &order.tax_lines {
        let included = if order.prices_include_tax {
            ", included"
        } else {
            ""
        };
        rows.push((
            format!("{} {}%{included}", t.name, percent(t.rate_bp)),
            money(t.amount_cents.get(), currency),
        ));
    }
    rows.push(("Total".into(), money(order.total_cents.get(), currency)));
    rows
}

/// Basis points as a percentage without trailing zeros: 725 -> `7.25`, 400 -> `4`.
fn percent(bp: u32) -> String {
    let s = format!("{}.{:02}", bp / 100, bp % 100);
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// Where the order goes, one line per part, as a label shows it.
fn address_lines(order: &OrderData) -> Vec<String> {
    let a = &order.shipping_address;
    let mut out = vec!["Shipping to:".to_string(), a.name.clone(), a.line1.clone()];
    out.extend(a.line2.clone());
    let region = a
        .region
        .as_deref()
        .map(|r| format!(" {r}"))
        .unwrap_or_default();
    out.push(format!("{}{region} {}", a.city, a.postal_code));
    out.push(a.country.name().to_string());
    out
}

/// The link (or, without a storefront address, the code) of an emailed-link event: its token is
/// made here, from the request id the event carries, and exists nowhere else but in the email.
fn emailed_link(
    shop: &Shop,
    purpose: Purpose,
    (id, user): (&str, &UserId),
    page: &str,
    label: &str,
) -> (Option<Link>, Vec<String>) {
    let token = link_token(&link_key(shop.link_secret, purpose), id, user);
    match shop.site_url {
        Some(site) => (
            Some((
                label.to_string(),
                format!("{}/#/{page}?token={token}", site.trim_end_matches('/')),
            )),
            vec![],
        ),
        None => (None, vec![format!("Your code: {token}")]),
    }
}

/// An order email: its subject and body from the order's data.
fn order_mail(kind: EventType, d: &OrderData, shop: &Shop) -> Option<(String, Body)> {
    use EventType::*;
    let order_ref = d.order_id.as_str();
    let link = shop.site_url.map(|site| {
        (
            "Your order".to_string(),
            format!("{}/#/orders/{order_ref}", site.trim_end_matches('/')),
        )
    });
    let body = |intro: &str, lines: Vec<(String, String)>, outro: Vec<String>| Body {
        intro: intro.to_string(),
        lines,
        outro,
        links: link.clone().into_iter().collect(),
    };
    Some(match kind {
        OrderPlaced => (
            format!("order {order_ref} received"),
            body(
                "Thank you for your order. We are holding these items for you:",
                order_lines(d),
                [
                    address_lines(d),
                    vec!["Pay for it from the order page to have it shipped.".into()],
                ]
                .concat(),
            ),
        ),
        OrderPaid => (
            format!("payment received for order {order_ref}"),
            body(
                "We have your payment. Your order is being prepared:",
                order_lines(d),
                address_lines(d),
            ),
        ),
        OrderShipped => (
            format!("order {order_ref} shipped"),
            with_tracking(
                body(
                    "Your order is on its way.",
                    order_lines(d),
                    address_lines(d),
                ),
                d.shipment.as_ref(),
            ),
        ),
        OrderDelivered => (
            format!("order {order_ref} delivered"),
            body("Your order has been delivered. Enjoy!", vec![], vec![]),
        ),
        OrderCancelled => (
            format!("order {order_ref} cancelled"),
            body(
                &format!("Your order has been cancelled. {}", why_cancelled(d.reason)),
                order_lines(d),
                vec![],
            ),
        ),
        OrderRefunded => (
            format!("refund for order {order_ref}"),
            body(
                "We have refunded your payment:",
                order_lines(d)
                    .into_iter()
                    .filter(|(l, _)| l == "Total")
                    .collect(),
                vec!["It reaches your card within a few days.".into()],
            ),
        ),
        _ => return None,
    })
}

/// The carrier, the tracking number and the first link: where the parcel is.
fn with_tracking(mut mail: Body, parcel: Option<&Shipment>) -> Body {
    if let Some(parcel) = parcel {
        mail.outro.push(format!(
            "{} tracking number: {}",
            parcel.carrier.label(),
            parcel.tracking_number
        ));
        mail.links
            .insert(0, ("Track your parcel".into(), parcel.tracking_url.clone()));
    }
    mail
}

fn why_cancelled(reason: Option<CancelReason>) -> &'static str {
    match reason {
        Some(CancelReason::Expired) => {
            "It was not paid in time, so the items went back on the shelf."
        }
        Some(CancelReason::Shopper) => "You cancelled it.",
        Some(CancelReason::Admin) | None => "It was cancelled by the shop.",
    }
}

fn stock_mail(kind: EventType, d: &StockData) -> Option<(String, Body)> {
    let product = d.name.as_str();
    let (subject, intro) = match kind {
        EventType::ProductLowStock => (
            format!("low stock: {product}"),
            format!(
                "{product} is running low: {} left (alert below {}).",
                d.stock, d.threshold
            ),
        ),
        EventType::ProductOutOfStock => (
            format!("out of stock: {product}"),
            format!("{product} is out of stock; shoppers can no longer order it."),
        ),
        _ => return None,
    };
    Some((
        subject,
        Body {
            intro,
            lines: vec![],
            outro: vec![],
            links: vec![],
        },
    ))
}

/// The email `event` sends to `to`; `None` for a type that sends none.
pub fn compose(event: &Event, to: &str, shop: &Shop) -> Option<Mail> {
    let kind = event.metadata.kind;
    let (subject, body) = match &event.data {
        Payload::Order(d) => order_mail(kind, d, shop)?,
        Payload::Stock(d) => stock_mail(kind, d)?,
        Payload::Product(_) => return None,
        Payload::Reset(d) => {
            let (link, outro) = emailed_link(
                shop,
                Purpose::Reset,
                (&d.reset_id, &d.user_id),
                "reset",
                "Choose a new password",
            );
            (
                "choose a new password".to_string(),
                Body {
                    intro: "Someone (we hope you) asked to reset the password of your account. The link works once, for 30 minutes; choosing a new password with it signs you out everywhere, on every device.".into(),
                    lines: vec![],
                    outro: [outro, vec!["If it was not you, ignore this email: your password stays as it is.".into()]].concat(),
                    links: link.into_iter().collect(),
                },
            )
        }
        Payload::Verification(d) => {
            let (link, outro) = emailed_link(
                shop,
                Purpose::Verify,
                (&d.verification_id, &d.user_id),
                "verify",
                "Confirm your email address",
            );
            (
                "welcome: confirm your email address".to_string(),
                Body {
                    intro: "Welcome! Your account is ready. Confirm that this address is yours to pay by card (the link works once, for 7 days).".into(),
                    lines: vec![],
                    outro: [outro, vec!["If you did not make an account, ignore this email.".into()]].concat(),
                    links: link.into_iter().collect(),
                },
            )
        }
        Payload::Attack(d) => (
            "unusual sign-in attempts on your account".to_string(),
            Body {
                intro: format!(
                    "In the last hour there were {} failed attempts to sign in to your account, more than anyone mistyping. We have not locked it: you can still sign in as usual, and each address trying is slowed down.",
                    d.failures
                ),
                lines: vec![],
                outro: vec!["If these were not you, your password is what stands in the way: if it is short or used elsewhere, choose a new one (\"Forgot your password?\" on the sign-in page ends every session too).".into()],
                links: shop.site_url.map(|s| ("Sign in".to_string(), format!("{}/#/login", s.trim_end_matches('/')))).into_iter().collect(),
            },
        ),
        // The verification email (EmailVerificationRequested) is the welcome.
        Payload::Account(_) => return None,
    };
    Some(render(shop, to, subject, body))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::types::Timestamp;

    const SHOP: Shop = Shop {
        name: "Tea & Co",
        site_url: Some("https://shop.example/"),
        link_secret: b"k",
    };

    /// An event of `kind` whose data is `data`, as the consumer reads it.
    fn event(kind: EventType, data: serde_json::Value) -> Event {
        Event::new(
            "r",
            kind,
            Timestamp::now(),
            Payload::parse(kind, data).unwrap(),
        )
    }

    fn order(reason: Option<&str>) -> serde_json::Value {
        let mut o =
            serde_json::to_value(OrderData::from(&crate::orders::Order::example())).unwrap();
        let fields = json!({
            "order_id": "01ORDER", "currency": "EUR", "subtotal_cents": 2750, "shipping_cents": 590,
            "tax_lines": [{"name": "VAT", "rate_bp": 1900, "amount_cents": 439}], "tax_cents": 439,
            "prices_include_tax": true, "total_cents": 3340, "reason": reason,
            "items": [
                {"product_id": "01JBP1", "name": "Earl <Grey>", "quantity": 2, "unit_price_cents": 1250},
                {"product_id": "01JBP2", "name": "Mug", "quantity": 1, "unit_price_cents": 250}
            ]
        });
        for (k, v) in fields.as_object().unwrap() {
            o[k] = v.clone();
        }
        o
    }

    fn placed() -> Event {
        event(EventType::OrderPlaced, order(None))
    }

    #[test]
    fn a_discount_is_its_own_line_under_the_subtotal() {
        let mut data = order(None);
        data["promo_code"] = json!("SAVE5");
        data["discount_cents"] = json!(500);
        let m = compose(&event(EventType::OrderPlaced, data), "a@b.test", &SHOP).unwrap();
        assert!(
            m.text
                .contains("Subtotal  €27.50\n  Discount (SAVE5)  -€5.00"),
            "{}",
            m.text
        );
        assert!(
            !compose(&placed(), "a@b.test", &SHOP)
                .unwrap()
                .text
                .contains("Discount")
        );
    }

    #[test]
    fn money_uses_the_symbol_or_the_code() {
        assert_eq!(money(1250, "EUR"), "€12.50");
        assert_eq!(money(5, "usd"), "$0.05");
        assert_eq!(money(100000, "CHF"), "1000.00 CHF");
        assert_eq!(money(-250, "GBP"), "-£2.50");
    }

    #[test]
    fn the_confirmation_lists_items_every_figure_the_address_and_link_in_both_parts() {
        let m = compose(&placed(), "a@b.test", &SHOP).unwrap();
        assert_eq!(m.subject, "Tea & Co: order 01ORDER received");
        assert!(m.text.contains("2 x Earl <Grey>  €25.00"), "{}", m.text);
        assert!(m.text.contains("Subtotal  €27.50"), "{}", m.text);
        assert!(
            m.text
                .contains("Shipping (Standard (3-5 business days))  €5.90"),
            "{}",
            m.text
        );
        assert!(m.text.contains("VAT 19%, included  €4.39"), "{}", m.text);
        assert!(m.text.contains("Total  €33.40"), "{}", m.text);
        assert!(
            m.text.contains("1 Market St") && m.text.contains("San Francisco CA 94105"),
            "{}",
            m.text
        );
        assert!(m.text.contains("https://shop.example/#/orders/01ORDER"));
        assert!(m.html.contains("Earl &lt;Grey&gt;") && !m.html.contains("<Grey>"));
        assert!(m.html.contains("Tea &amp; Co") && m.html.contains("€33.40"));
        assert_eq!(percent(725), "7.25");
        assert_eq!(percent(400), "4");
        assert_eq!(percent(650), "6.5");
        assert_eq!(recipient(&placed()), Some(Recipient::Customer));
    }

    #[test]
    fn every_type_but_the_registration_and_the_catalog_changes_has_an_email_and_a_recipient() {
        use EventType::*;
        let user = "01JBUSER000000000000000000";
        let silent = [
            UserRegistered,
            ProductCreated,
            ProductUpdated,
            ProductDeleted,
        ];
        for kind in EventType::ALL.into_iter().filter(|k| !silent.contains(k)) {
            let data = match Payload::parse(kind, order(None)) {
                Ok(_) => order(None),
                Err(_) => json!({
                    "product_id": "01JBP1", "name": "N", "stock": 1, "threshold": 5,
                    "reset_id": "01JBRESET00000000000000000", "verification_id": "01JBRESET00000000000000000",
                    "user_id": user, "expires_at": 1, "failures": 100
                }),
            };
            let ev = event(kind, data);
            assert!(recipient(&ev).is_some(), "{kind:?}");
            let m = compose(&ev, "x@y.test", &SHOP).unwrap();
            assert!(m.subject.starts_with("Tea & Co: ") && !m.text.is_empty());
        }
        let registered = event(
            EventType::UserRegistered,
            json!({"user_id": user, "email": "n@b.test", "name": "N"}),
        );
        assert_eq!(compose(&registered, "n@b.test", &SHOP), None);
        let changed = event(
            ProductUpdated,
            json!({"product_id": "01JBP1", "name": "N", "slug": "n", "category": "tea",
                   "price_cents": 100, "currency": "USD", "in_stock": true}),
        );
        assert_eq!(
            (recipient(&changed), compose(&changed, "x@y.test", &SHOP)),
            (None, None)
        );
    }

    #[test]
    fn the_shipped_email_links_the_parcel_tracking() {
        let mut data = order(None);
        data["status"] = json!("SHIPPED");
        data["shipment"] = json!({
            "carrier": "ups", "tracking_number": "1Z999AA10123456784",
            "tracking_url": "https://www.ups.com/track?tracknum=1Z999AA10123456784",
            "shipped_at": "2026-12-04T12:00:00.000Z"
        });
        let m = compose(&event(EventType::OrderShipped, data), "x@y.test", &SHOP).unwrap();
        assert!(
            m.text.contains("UPS tracking number: 1Z999AA10123456784"),
            "{}",
            m.text
        );
        assert!(
            m.html.contains(
                "<a href=\"https://www.ups.com/track?tracknum=1Z999AA10123456784\">Track your parcel</a>"
            ),
            "{}",
            m.html
        );
        assert!(
            m.html.contains("https://shop.example/#/orders/01ORDER"),
            "the order stays linked"
        );
    }

    #[test]
    fn a_cancellation_says_why() {
        let ev = |reason: &str| {
            compose(
                &event(EventType::OrderCancelled, order(Some(reason))),
                "x@y.test",
                &SHOP,
            )
            .unwrap()
            .text
        };
        assert!(ev("expired").contains("not paid in time"));
        assert!(ev("shopper").contains("You cancelled it"));
        assert!(ev("admin").contains("by the shop"));
    }
}
