//! The shopping cart: one item per user holding `(product_id, quantity)` lines. Names and prices are
//! never stored in the cart; they are read from the catalog whenever the cart is shown.

use std::collections::HashMap;

use lambda_http::Request;
use serde::{Deserialize, Serialize};
use serde_dynamo::to_item;

use crate::{
    app::App,
    auth,
    db::{self, keys},
    error::{ApiError, ApiResult},
    http::{Reply, json_body},
    products::{ProductView, load_products},
    types::{Cents, ProductId, Quantity, UserId, now_rfc3339},
};

/// Most distinct products in one cart or order (keeps a checkout inside one DynamoDB transaction).
pub const MAX_LINES: usize = 25;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LineRequest {
    pub product_id: String,
    pub quantity: i64,
}

/// A validated line: a product and 1..=99 units.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Line {
    pub product_id: ProductId,
    pub quantity: Quantity,
}

/// Parses request lines: ids must be product ids, each product at most once, at most
/// [`MAX_LINES`] lines. With `zero_removes`, quantity 0 drops the line (PUT /cart).
pub fn parse_lines(raw: Vec<LineRequest>, zero_removes: bool) -> ApiResult<Vec<Line>> {
    let mut lines: Vec<Line> = Vec::new();
    for (i, l) in raw.into_iter().enumerate() {
        let product_id = ProductId::parse(&format!("items[{i}].product_id"), &l.product_id)?;
        if lines.iter().any(|x| x.product_id == product_id) {
            return Err(ApiError::invalid_field(
                format!("items[{i}].product_id"),
                "appears more than once; send one line per product",
            ));
        }
        if zero_removes && l.quantity == 0 {
            continue;
        }
        let quantity = Quantity::parse(&format!("items[{i}].quantity"), l.quantity)?;
        lines.push(Line {
            product_id,
            quantity,
        });
    }
    if lines.len() > MAX_LINES {
        return Err(ApiError::invalid_field(
            "items",
            format!("must have at most {MAX_LINES} different products"),
        ));
    }
    Ok(lines)
}

/// The cart as stored. `version` lets a checkout delete exactly the cart it read.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CartRecord {
    pub items: Vec<Line>,
    pub updated_at: String,
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct CartLine {
    pub product_id: ProductId,
    pub name: String,
    pub unit_price_cents: Cents,
    pub quantity: Quantity,
    pub line_total_cents: Cents,
    /// Units in stock now; the line can be checked out when this is at least `quantity`.
    pub stock: i64,
}

/// `{items, total_cents, currency, unavailable}`; `unavailable` lists products that are in the cart
/// but no longer in the catalog (they are not part of the total and are dropped at checkout).
#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct CartView {
    pub items: Vec<CartLine>,
    pub total_cents: Cents,
    pub currency: String,
    pub unavailable: Vec<ProductId>,
}

pub fn price_cart(
    lines: &[Line],
    catalog: &HashMap<ProductId, ProductView>,
    currency: &str,
) -> CartView {
    let mut items = Vec::new();
    let mut unavailable = Vec::new();
    for line in lines {
        match catalog.get(&line.product_id) {
            Some(p) => items.push(CartLine {
                product_id: line.product_id.clone(),
                name: p.name.clone(),
                unit_price_cents: p.price_cents,
                quantity: line.quantity,
                line_total_cents: p.price_cents.times(line.quantity),
                stock: p.stock,
            }),
            None => unavailable.push(line.product_id.clone()),
        }
    }
    CartView {
        total_cents: Cents::sum(items.iter().map(|l| l.line_total_cents)),
        items,
        currency: currency.to_string(),
        unavailable,
    }
}

async fn view(app: &App, lines: &[Line]) -> ApiResult<CartView> {
    let ids: Vec<ProductId> = lines.iter().map(|l| l.product_id.clone()).collect();
    let catalog = if ids.is_empty() {
        HashMap::new()
    } else {
        load_products(app, &ids).await?
    };
    Ok(price_cart(lines, &catalog, &app.config.currency))
}

/// `GET /cart`
pub async fn get_cart(app: &'static App, req: Request) -> ApiResult<Reply> {
    // The account lookup runs beside both reads (cart, then its products), so it adds no round trip.
    let read = |user: UserId| async move {
        let cart: Option<CartRecord> = db::get(
            &app.dynamo,
            &app.config.tables.orders,
            keys::cart(user.as_str()),
            true,
        )
        .await?;
        view(app, &cart.unwrap_or_default().items).await
    };
    let (_, cart) = auth::authenticate_with(app, &req, read).await?;
    Reply::ok(&cart)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PutCartRequest {
    pub items: Vec<LineRequest>,
}

/// `PUT /cart`: replaces the cart. Products that do not exist are refused (422), so a cart only
/// ever holds real products (they may be deleted later, which `GET /cart` reports).
pub async fn put_cart(app: &'static App, req: Request) -> ApiResult<Reply> {
    let who = auth::authenticate(app, &req).await?;
    let body: PutCartRequest = json_body(&req)?;
    let lines = parse_lines(body.items, true)?;
    let cart = view(app, &lines).await?;
    if !cart.unavailable.is_empty() {
        return Err(unknown_products(&cart.unavailable));
    }
    let table = &app.config.tables.orders;
    if lines.is_empty() {
        app.dynamo
            .delete_item()
            .table_name(table)
            .set_key(Some(keys::cart(who.user_id.as_str())))
            .send()
            .await?;
    } else {
        let mut item: crate::db::Item = to_item(CartRecord {
            items: lines,
            updated_at: now_rfc3339(),
        })?;
        item.extend(keys::cart(who.user_id.as_str()));
        app.dynamo
            .put_item()
            .table_name(table)
            .set_item(Some(item))
            .send()
            .await?;
    }
    Reply::ok(&cart)
}

pub fn unknown_products(ids: &[ProductId]) -> ApiError {
    ApiError::Unprocessable {
        code: "unknown_products",
        message: format!(
            "these products are not in the catalog: {}",
            ids.iter()
                .map(ProductId::as_str)
                .collect::<Vec<_>>()
                .join(", ")
        ),
        details: Some(serde_json::json!({ "product_ids": ids })),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(id: &ProductId, q: i64) -> LineRequest {
        LineRequest {
            product_id: id.to_string(),
            quantity: q,
        }
    }

    #[test]
    fn lines_are_validated_and_zero_removes_only_in_the_cart() {
        let (a, b) = (ProductId::new(), ProductId::new());
        let lines = parse_lines(vec![line(&a, 2), line(&b, 0)], true).unwrap();
        assert_eq!(lines.len(), 1);
        let e = parse_lines(vec![line(&a, 0)], false).unwrap_err();
        assert!(e.to_string().starts_with("items[0].quantity"), "{e}");
        let e = parse_lines(vec![line(&a, 1), line(&a, 2)], true).unwrap_err();
        assert!(e.to_string().starts_with("items[1].product_id"), "{e}");
        assert!(parse_lines(vec![line(&a, 100)], true).is_err());
        assert!(parse_lines(vec![line(&a, -1)], true).is_err());
        let many: Vec<_> = (0..26).map(|_| line(&ProductId::new(), 1)).collect();
        assert!(
            parse_lines(many, true)
                .unwrap_err()
                .to_string()
                .contains("25")
        );
        let e = parse_lines(
            vec![LineRequest {
                product_id: "x".into(),
                quantity: 1,
            }],
            true,
        )
        .unwrap_err();
        assert!(e.to_string().starts_with("items[0].product_id"));
    }
}
