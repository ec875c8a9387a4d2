//! The orders export for accounting: RFC 4180 CSV (CRLF line ends, quoted where needed), amounts
//! in currency units with two decimals, and every cell a spreadsheet would run as a formula
//! neutralised. Pure: the handler reads the orders and the customers' emails.

use crate::{orders::model::Order, types::Cents, users::model::Email};

pub const COLUMNS: [&str; 22] = [
    "order_id",
    "placed_at",
    "updated_at",
    "status",
    "payment_status",
    "customer_email",
    "ship_name",
    "ship_line1",
    "ship_line2",
    "ship_city",
    "ship_region",
    "ship_postal_code",
    "ship_country",
    "shipping_method",
    "currency",
    "subtotal",
    "discount",
    "promo_code",
    "shipping",
    "tax",
    "total",
    "items",
];

pub const CONTENT_TYPE: &str = "text/csv; charset=utf-8";

/// The header line.
pub fn header() -> String {
    line(COLUMNS.iter().map(|c| c.to_string()))
}

/// One order's line; `email` is `None` when the customer's account is gone.
pub fn row(o: &Order, email: Option<&Email>) -> String {
    let a = &o.shipping_address;
    let items: Vec<String> = o
        .items
        .iter()
        .map(|l| format!("{} x {}", l.quantity.get(), l.name))
        .collect();
    line([
        o.id.to_string(),
        o.created_at.to_string(),
        o.updated_at.to_string(),
        o.status.as_str().to_string(),
        o.payment_status.as_str().to_string(),
        email.map(ToString::to_string).unwrap_or_default(),
        a.name.clone(),
        a.line1.clone(),
        a.line2.clone().unwrap_or_default(),
        a.city.clone(),
        a.region.clone().unwrap_or_default(),
        a.postal_code.clone(),
        a.country.to_string(),
        o.shipping_method.name.clone(),
        o.currency.as_str().to_string(),
        amount(o.subtotal_cents),
        amount(o.discount_cents),
        o.promo_code
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default(),
        amount(o.shipping_cents),
        amount(o.tax_cents),
        amount(o.total_cents),
        items.join("; "),
    ])
}

fn line(cells: impl IntoIterator<Item = String>) -> String {
    let mut out = cells
        .into_iter()
        .map(|c| cell(&c))
        .collect::<Vec<_>>()
        .join(",");
    out.push_str("\r\n");
    out
}

/// A cell as RFC 4180 writes it. Text that a spreadsheet would evaluate (starting with `=`, `+`,
/// `-`, `@`, a tab or a carriage return) gets a leading `'`, so it shows as the text it is.
fn cell(raw: &str) -> String {
    let guarded = if raw.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{raw}")
    } else {
        raw.to_string()
    };
    if guarded.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", guarded.replace('"', "\"\""))
    } else {
        guarded
    }
}

fn amount(c: Cents) -> String {
    c.decimal()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_quoted_only_where_needed_and_formulas_are_text() {
        assert_eq!(cell("plain"), "plain");
        assert_eq!(cell("a,b"), "\"a,b\"");
        assert_eq!(cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(cell("two\nlines"), "\"two\nlines\"");
        assert_eq!(cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        for risky in ["+1", "-1", "@SUM(A1)", "\tx", "\rx"] {
            assert!(
                cell(risky).trim_start_matches('"').starts_with('\''),
                "{risky}"
            );
        }
        assert_eq!(amount(Cents::ZERO), "0.00");
        assert_eq!(amount(Cents::amount("t", 123_456).unwrap()), "1234.56");
        assert_eq!(amount(Cents::amount("t", 5).unwrap()), "0.05");
    }

    #[test]
    fn a_row_has_every_column_and_ends_with_crlf() {
        let sample: serde_json::Value =
            serde_json::from_str(include_str!("../../../events/send-email.json")).unwrap();
        let data = &sample["detail"]["data"];
        let mut o: Order = serde_json::from_value(serde_json::json!({
            "id": data["order_id"], "user_id": data["user_id"], "status": "PAID",
            "payment_status": "paid", "items": data["items"],
            "shipping_address": data["shipping_address"], "shipping_method": data["shipping_method"],
            "subtotal_cents": 2980, "shipping_cents": 590, "tax_lines": [], "tax_cents": 216,
            "prices_include_tax": false, "total_cents": 3786, "currency": "USD",
            "created_at": "2026-12-01T10:00:00.000Z", "updated_at": "2026-12-01T10:05:00.000Z"
        }))
        .unwrap();
        o.shipping_address.name = "=cmd|' /C calc'!A0".into();
        let r = row(&o, None);
        assert!(r.ends_with("\r\n"));
        assert!(r.contains(",'=cmd|' /C calc'!A0,"), "{r}");
        assert!(
            r.contains(",29.80,0.00,,5.90,2.16,37.86,2 x Stoneware Mug\r\n"),
            "{r}"
        );
        assert_eq!(header().matches(',').count(), COLUMNS.len() - 1);
    }
}
