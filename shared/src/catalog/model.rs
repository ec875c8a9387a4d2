//! The catalog without storage: the product a client sees, the request bodies and what they parse
//! into, listing and inventory parameters, and which images may be uploaded. Pure: no HTTP, no AWS.

use serde::{Deserialize, Serialize};

use super::{
    pictures::Picture,
    search::{SearchQuery, check_indexable},
};
use crate::{
    error::{ApiError, ApiResult},
    types::{
        Cents, Currency, Grams, ProductId, TaxClass, Timestamp, bounded_text, parse_url,
        string_newtype,
    },
};

string_newtype!(
    /// URL-safe product handle: `a-z`, `0-9` and single inner hyphens, at most 100 characters.
    Slug
);
string_newtype!(
    /// Category handle, same alphabet as a slug, at most 50 characters (stored lower case).
    Category
);

fn is_handle(s: &str, max: usize) -> bool {
    !s.is_empty()
        && s.len() <= max
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
        && !s.contains("--")
}

impl Slug {
    pub const MAX_LEN: usize = 100;

    pub fn parse(raw: &str) -> Result<Self, ApiError> {
        let s = raw.trim().to_ascii_lowercase();
        if is_handle(&s, Self::MAX_LEN) {
            Ok(Slug(s))
        } else {
            Err(ApiError::invalid_field(
                "slug",
                "must be 1 to 100 characters of a-z, 0-9 and single hyphens",
            ))
        }
    }

    /// Derives a slug from a product name: ASCII letters and digits kept, everything else a hyphen.
    /// `None` when nothing usable is left (e.g. a name in a non-Latin script).
    pub fn from_name(name: &str) -> Option<Self> {
        let mut out = String::new();
        for c in name.chars().flat_map(char::to_lowercase) {
            if c.is_ascii_alphanumeric() {
                out.push(c);
            } else if !out.is_empty() && !out.ends_with('-') {
                out.push('-');
            }
        }
        let mut s = out.trim_end_matches('-').to_string();
        if s.len() > Self::MAX_LEN {
            s.truncate(Self::MAX_LEN);
            s = s.trim_end_matches('-').to_string();
        }
        is_handle(&s, Self::MAX_LEN).then_some(Slug(s))
    }
}

impl Category {
    pub fn parse(raw: &str) -> Result<Self, ApiError> {
        let s = raw.trim().to_ascii_lowercase();
        if is_handle(&s, 50) {
            Ok(Category(s))
        } else {
            Err(ApiError::invalid_field(
                "category",
                "must be 1 to 50 characters of a-z, 0-9 and single hyphens",
            ))
        }
    }
}

/// Units in stock: 0..=1,000,000.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Stock(i64);

impl Stock {
    pub const MAX: i64 = 1_000_000;

    pub fn parse(raw: i64) -> Result<Self, ApiError> {
        if (0..=Self::MAX).contains(&raw) {
            Ok(Stock(raw))
        } else {
            Err(ApiError::invalid_field(
                "stock",
                format!("must be a whole number from 0 to {}", Self::MAX),
            ))
        }
    }

    pub fn get(self) -> i64 {
        self.0
    }
}

pub const MAX_INVENTORY_IDS: usize = 100;
/// Longest search prefix `q`.
pub const MAX_QUERY_CHARS: usize = 100;
/// `{id, name, slug, description, price_cents, currency, category, stock, weight_grams, tax_class, image_url?, picture?, created_at, updated_at}`
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ProductView {
    pub id: ProductId,
    pub name: String,
    pub slug: Slug,
    pub description: String,
    pub price_cents: Cents,
    pub currency: Currency,
    pub category: Category,
    pub stock: i64,
    /// Shipping weight; products stored before weights existed weigh nothing.
    #[serde(default)]
    pub weight_grams: Grams,
    #[serde(default)]
    pub tax_class: TaxClass,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_url: Option<String>,
    /// The uploaded picture in every width; `image_url` is then its default width.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub picture: Option<Picture>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[cfg(test)]
impl ProductView {
    /// The product the unit tests start from: `name` (its slug made from it), tea, $5.00, one in
    /// stock, no description or picture.
    pub fn example(name: &str) -> ProductView {
        let at = Timestamp::parse("2026-12-01T00:00:00Z").expect("a valid time");
        ProductView {
            id: ProductId::from_trusted("01JBPRODUCT000000000000000"),
            name: name.into(),
            slug: Slug::from_name(name).expect("a name with letters"),
            description: String::new(),
            price_cents: Cents::price("example", 500).expect("a valid price"),
            currency: Currency::parse("USD").expect("a valid currency"),
            category: Category::parse("tea").expect("a valid category"),
            stock: 1,
            weight_grams: Grams::default(),
            tax_class: TaxClass::default(),
            image_url: None,
            picture: None,
            created_at: at,
            updated_at: at,
        }
    }
}

/// `GET /admin/low-stock`: the products at or under the threshold, fewest first, as many as asked;
/// `more` when others are at or under it too.
#[derive(Debug, Serialize)]
pub struct LowStock {
    pub threshold: i64,
    pub items: Vec<ProductView>,
    pub more: bool,
}

fn product_name(raw: &str) -> ApiResult<String> {
    bounded_text("name", raw, 1, 200)
}

fn description(raw: &str) -> ApiResult<String> {
    bounded_text("description", raw, 0, 5000)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateProductRequest {
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub price_cents: i64,
    pub category: String,
    pub stock: i64,
    #[serde(default)]
    pub weight_grams: i64,
    #[serde(default)]
    pub tax_class: TaxClass,
    #[serde(default)]
    pub slug: Option<String>,
    #[serde(default)]
    pub image_url: Option<String>,
}

pub struct NewProduct {
    pub name: String,
    pub description: String,
    pub price: Cents,
    pub category: Category,
    pub stock: Stock,
    pub weight: Grams,
    pub tax_class: TaxClass,
    pub slug: Slug,
    pub image_url: Option<String>,
}

impl NewProduct {
    /// The product this creates now, priced in the shop's `currency`.
    pub fn product(self, currency: Currency) -> ProductView {
        let now = Timestamp::now();
        ProductView {
            id: ProductId::new(),
            name: self.name,
            slug: self.slug,
            description: self.description,
            price_cents: self.price,
            currency,
            category: self.category,
            stock: self.stock.get(),
            weight_grams: self.weight,
            tax_class: self.tax_class,
            image_url: self.image_url,
            picture: None,
            created_at: now,
            updated_at: now,
        }
    }
}

impl TryFrom<CreateProductRequest> for NewProduct {
    type Error = ApiError;
    fn try_from(r: CreateProductRequest) -> ApiResult<Self> {
        let name = product_name(&r.name)?;
        let slug = match r.slug.as_deref() {
            Some(raw) => Slug::parse(raw)?,
            None => Slug::from_name(&name).ok_or_else(|| {
                ApiError::invalid_field("slug", "cannot be derived from this name; send one")
            })?,
        };
        let category = Category::parse(&r.category)?;
        check_indexable(&name, category.as_str())?;
        Ok(NewProduct {
            description: description(&r.description)?,
            price: Cents::price("price_cents", r.price_cents)?,
            category,
            stock: Stock::parse(r.stock)?,
            weight: Grams::parse("weight_grams", r.weight_grams)?,
            tax_class: r.tax_class,
            image_url: r
                .image_url
                .as_deref()
                .map(|u| parse_url("image_url", u))
                .transpose()?,
            name,
            slug,
        })
    }
}

/// Partial update: absent fields stay as they are; `image_url: null` removes the image.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateProductRequest {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub price_cents: Option<i64>,
    #[serde(default)]
    pub category: Option<String>,
    #[serde(default)]
    pub stock: Option<i64>,
    #[serde(default)]
    pub weight_grams: Option<i64>,
    #[serde(default)]
    pub tax_class: Option<TaxClass>,
    #[serde(default)]
    pub slug: Option<String>,
    #[serde(default, deserialize_with = "crate::types::double_option")]
    pub image_url: Option<Option<String>>,
}

#[derive(Default)]
pub struct ProductPatch {
    pub name: Option<String>,
    pub description: Option<String>,
    pub price: Option<Cents>,
    pub category: Option<Category>,
    pub stock: Option<Stock>,
    pub weight: Option<Grams>,
    pub tax_class: Option<TaxClass>,
    pub slug: Option<Slug>,
    /// `Some(None)` removes the image.
    pub image_url: Option<Option<String>>,
}

impl ProductPatch {
    /// `current` as this patch leaves it.
    pub fn applied_to(&self, current: &ProductView) -> ProductView {
        let mut p = current.clone();
        if let Some(v) = &self.name {
            p.name = v.clone();
        }
        if let Some(v) = &self.description {
            p.description = v.clone();
        }
        if let Some(v) = self.price {
            p.price_cents = v;
        }
        if let Some(v) = &self.category {
            p.category = v.clone();
        }
        if let Some(v) = self.stock {
            p.stock = v.get();
        }
        if let Some(v) = self.weight {
            p.weight_grams = v;
        }
        if let Some(v) = self.tax_class {
            p.tax_class = v;
        }
        if let Some(v) = &self.slug {
            p.slug = v.clone();
        }
        if let Some(v) = &self.image_url {
            // An image URL set by hand replaces the uploaded picture.
            p.image_url = v.clone();
            p.picture = None;
        }
        p.updated_at = Timestamp::now();
        p
    }
}

impl TryFrom<UpdateProductRequest> for ProductPatch {
    type Error = ApiError;
    fn try_from(r: UpdateProductRequest) -> ApiResult<Self> {
        let patch = ProductPatch {
            name: r.name.as_deref().map(product_name).transpose()?,
            description: r.description.as_deref().map(description).transpose()?,
            price: r
                .price_cents
                .map(|p| Cents::price("price_cents", p))
                .transpose()?,
            category: r.category.as_deref().map(Category::parse).transpose()?,
            stock: r.stock.map(Stock::parse).transpose()?,
            weight: r
                .weight_grams
                .map(|g| Grams::parse("weight_grams", g))
                .transpose()?,
            tax_class: r.tax_class,
            slug: r.slug.as_deref().map(Slug::parse).transpose()?,
            image_url: r
                .image_url
                .map(|u| u.as_deref().map(|u| parse_url("image_url", u)).transpose())
                .transpose()?,
        };
        let empty = patch.name.is_none()
            && patch.description.is_none()
            && patch.price.is_none()
            && patch.category.is_none()
            && patch.stock.is_none()
            && patch.weight.is_none()
            && patch.tax_class.is_none()
            && patch.slug.is_none()
            && patch.image_url.is_none();
        if empty {
            return Err(ApiError::bad_request("invalid_field", "nothing to update"));
        }
        Ok(patch)
    }
}

pub fn slug_taken() -> ApiError {
    ApiError::conflict("slug_taken", "another product already uses this slug")
}

/// A product id from a path: a malformed one cannot name a product, so it is a 404 like an unknown one.
pub fn product_id_in_path(raw: &str) -> ApiResult<ProductId> {
    ProductId::parse("id", raw).map_err(|_| ApiError::NotFound("product"))
}

/// What `GET /products` lists: one category or the whole catalog, optionally by name prefix.
#[derive(Debug, PartialEq)]
pub struct ProductQuery {
    pub category: Option<Category>,
    /// Word search; `None` lists everything (in name order).
    pub search: Option<SearchQuery>,
}

impl ProductQuery {
    pub fn parse(category: Option<&str>, q: Option<&str>) -> ApiResult<Self> {
        let category = category
            .filter(|c| !c.trim().is_empty())
            .map(Category::parse)
            .transpose()?;
        let q = q.unwrap_or_default();
        if q.chars().count() > MAX_QUERY_CHARS {
            return Err(ApiError::invalid_field(
                "q",
                format!("must be at most {MAX_QUERY_CHARS} characters"),
            ));
        }
        Ok(ProductQuery {
            category,
            search: SearchQuery::parse(q)?,
        })
    }
}

/// `?ids=a,b,c`: 1 to 100 product ids, duplicates folded, in the order given.
pub fn inventory_ids(raw: &str) -> ApiResult<Vec<ProductId>> {
    let mut ids: Vec<ProductId> = Vec::new();
    for part in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let id = ProductId::parse("ids", part)?;
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    if ids.is_empty() || ids.len() > MAX_INVENTORY_IDS {
        return Err(ApiError::invalid_field(
            "ids",
            format!("must list 1 to {MAX_INVENTORY_IDS} product ids, separated by commas"),
        ));
    }
    Ok(ids)
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct StockLevel {
    pub product_id: ProductId,
    pub stock: i64,
    pub available: bool,
}

impl StockLevel {
    /// Unknown products report stock 0, unavailable.
    pub fn of(product_id: ProductId, stock: Option<i64>) -> Self {
        let stock = stock.unwrap_or(0);
        StockLevel {
            product_id,
            stock,
            available: stock > 0,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImageRequest {
    pub content_type: String,
}

/// A presigned POST: the browser posts `upload_fields` and then the file (as the form field
/// `file`) to `upload_url`. The policy fixes the key and `content_type` and caps the size at
/// `max_bytes`, so S3 refuses anything else.
#[derive(Debug, Serialize, Deserialize)]
pub struct ImageUpload {
    pub upload_url: String,
    pub upload_fields: std::collections::BTreeMap<String, String>,
    /// The upload's id: the product's `picture.upload` is this (or later) once it is resized.
    pub upload: ulid::Ulid,
    pub expires_in: u64,
    pub content_type: String,
    pub max_bytes: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slug_is_derived_from_the_name() {
        assert_eq!(
            Slug::from_name("  Fancy Mug — 350 ml! ").unwrap().as_str(),
            "fancy-mug-350-ml"
        );
        assert_eq!(Slug::from_name("Éclair"), Some(Slug("clair".into())));
        assert_eq!(Slug::from_name("咖啡"), None);
        assert!(Slug::from_name(&"ab ".repeat(80)).unwrap().as_str().len() <= 100);
    }

    #[test]
    fn slug_and_category_alphabet_is_enforced() {
        assert!(Slug::parse("good-slug-1").is_ok());
        assert_eq!(Slug::parse("Good-Slug").unwrap().as_str(), "good-slug");
        for bad in ["", "-a", "a-", "a--b", "a b", "a_b", "ü"] {
            assert!(Slug::parse(bad).is_err(), "{bad:?}");
            assert!(Category::parse(bad).is_err(), "{bad:?}");
        }
        assert!(Category::parse(&"a".repeat(51)).is_err());
    }

    #[test]
    fn stock_has_bounds() {
        assert!(Stock::parse(-1).is_err());
        assert!(Stock::parse(0).is_ok());
        assert!(Stock::parse(Stock::MAX + 1).is_err());
    }

    #[test]
    fn create_request_derives_slug_and_checks_bounds() {
        let req: CreateProductRequest = serde_json::from_str(
            r#"{"name":"Moka Pot 6 Cup","price_cents":3490,"category":"Equipment","stock":5}"#,
        )
        .unwrap();
        let p = NewProduct::try_from(req).unwrap();
        assert_eq!(p.slug.as_str(), "moka-pot-6-cup");
        assert_eq!(p.category.as_str(), "equipment");
        assert_eq!(p.description, "");
        for (field, body) in [
            (
                "price_cents",
                r#"{"name":"A","price_cents":0,"category":"c","stock":1}"#,
            ),
            (
                "stock",
                r#"{"name":"A","price_cents":1,"category":"c","stock":-1}"#,
            ),
            (
                "category",
                r#"{"name":"A","price_cents":1,"category":"a b","stock":1}"#,
            ),
            (
                "image_url",
                r#"{"name":"A","price_cents":1,"category":"c","stock":1,"image_url":"javascript:x"}"#,
            ),
            (
                "slug",
                r#"{"name":"咖啡","price_cents":1,"category":"c","stock":1}"#,
            ),
        ] {
            let req: CreateProductRequest = serde_json::from_str(body).unwrap();
            let e = NewProduct::try_from(req).err().unwrap();
            assert!(e.to_string().starts_with(field), "{field}: {e}");
        }
    }

    #[test]
    fn prices_must_be_integers() {
        assert!(
            serde_json::from_str::<CreateProductRequest>(
                r#"{"name":"A","price_cents":9.99,"category":"c","stock":1}"#
            )
            .is_err()
        );
    }

    #[test]
    fn list_parameters_are_normalised_and_bounded() {
        let q = ProductQuery::parse(Some("Tea"), Some("  Earl ")).unwrap();
        assert_eq!(q.category.unwrap().as_str(), "tea");
        assert_eq!(q.search.unwrap().words(), ["earl"]);
        let all = ProductQuery::parse(Some(" "), Some("  ")).unwrap();
        assert_eq!((all.category, all.search), (None, None));
        assert!(ProductQuery::parse(None, Some(&"x".repeat(101))).is_err());
        assert!(ProductQuery::parse(Some("a b"), None).is_err());
    }

    #[test]
    fn inventory_ids_are_deduplicated_and_bounded() {
        let (a, b) = (ProductId::new(), ProductId::new());
        let ids = inventory_ids(&format!("{a}, {b},{a},")).unwrap();
        assert_eq!(ids, vec![a.clone(), b]);
        assert!(inventory_ids("").is_err());
        assert!(inventory_ids("nope").is_err());
        let many: Vec<String> = (0..101).map(|_| ProductId::new().to_string()).collect();
        assert!(inventory_ids(&many.join(",")).is_err());
        assert!(!StockLevel::of(a, None).available);
    }
}
