//! Which objects of the site bucket one catalog change rewrites, and with what: the product's page
//! (or, when it is gone or renamed, a page that sends visitors on), the categories it was and is
//! in, the home page, the sitemap and robots.txt. Pure: the catalog is read before, the objects
//! written after.

use std::collections::BTreeMap;

use super::pages::{
    self, HOME_PRODUCTS, PageKey, ROBOTS_KEY, SITEMAP_KEY, Shell, Site, listing_page, moved_page,
    product_page,
};
use crate::{
    catalog::model::{Category, ProductView, Slug},
    events::model::ProductData,
};

/// What happened: one product changed (created, updated or deleted: the catalog as read now says
/// which), or everything is to be written again (a deploy changed the shell).
#[derive(Debug, Clone)]
pub enum Change {
    Product(ProductData),
    Rebuild,
}

/// One object to write.
#[derive(Debug, Clone, PartialEq)]
pub struct Output {
    pub key: String,
    pub body: String,
    pub content_type: &'static str,
}

const HTML: &str = "text/html; charset=utf-8";

/// The objects `change` rewrites, from the whole catalog as it is now (`catalog`, in name order).
pub fn plan(change: &Change, shell: &Shell, site: &Site, catalog: &[ProductView]) -> Vec<Output> {
    let mut by_category: BTreeMap<&Category, Vec<&ProductView>> = BTreeMap::new();
    for p in catalog {
        by_category.entry(&p.category).or_default().push(p);
    }
    let categories: Vec<Category> = by_category.keys().map(|c| (*c).clone()).collect();
    let mut pages: BTreeMap<PageKey, String> = BTreeMap::new();
    let listing = |pages: &mut BTreeMap<PageKey, String>, c: &Category| {
        let key = PageKey::Category(c.clone());
        let body = match by_category.get(c) {
            Some(items) => {
                let items: Vec<ProductView> = items.iter().map(|p| (*p).clone()).collect();
                listing_page(shell, site, Some(c), &categories, &items, false)
            }
            // The last product left the category: its page sends visitors home.
            None => moved_page(shell, site, &PageKey::Home, &pages::pretty(c)),
        };
        pages.insert(key, body);
    };
    match change {
        Change::Rebuild => {
            for p in catalog {
                pages.insert(
                    PageKey::Product(p.slug.clone()),
                    product_page(shell, site, p),
                );
            }
            for c in &categories {
                listing(&mut pages, c);
            }
        }
        Change::Product(data) => {
            let now = catalog.iter().find(|p| p.id == data.product_id);
            let mut old_slugs: Vec<&Slug> = vec![&data.slug];
            old_slugs.extend(data.previous_slug.as_ref());
            let mut touched: Vec<&Category> = vec![&data.category];
            touched.extend(data.previous_category.as_ref());
            match now {
                Some(p) => {
                    for slug in old_slugs.into_iter().filter(|s| **s != p.slug) {
                        let to = PageKey::Product(p.slug.clone());
                        pages.insert(
                            PageKey::Product(slug.clone()),
                            moved_page(shell, site, &to, &p.name),
                        );
                    }
                    pages.insert(
                        PageKey::Product(p.slug.clone()),
                        product_page(shell, site, p),
                    );
                    touched.push(&p.category);
                }
                None => {
                    let to = if by_category.contains_key(&data.category) {
                        PageKey::Category(data.category.clone())
                    } else {
                        PageKey::Home
                    };
                    for slug in old_slugs {
                        pages.insert(
                            PageKey::Product(slug.clone()),
                            moved_page(shell, site, &to, &data.name),
                        );
                    }
                }
            }
            for c in touched {
                listing(&mut pages, c);
            }
        }
    }
    let first: Vec<ProductView> = catalog.iter().take(HOME_PRODUCTS).cloned().collect();
    let home = listing_page(
        shell,
        site,
        None,
        &categories,
        &first,
        catalog.len() > HOME_PRODUCTS,
    );
    pages.insert(PageKey::Home, home);
    let mut out: Vec<Output> = pages
        .into_iter()
        .map(|(key, body)| Output {
            key: key.object(),
            body,
            content_type: HTML,
        })
        .collect();
    out.push(Output {
        key: SITEMAP_KEY.into(),
        body: pages::sitemap(site, &categories, catalog),
        content_type: "application/xml",
    });
    out.push(Output {
        key: ROBOTS_KEY.into(),
        body: pages::robots(site),
        content_type: "text/plain; charset=utf-8",
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::ProductId;

    const SHELL: &str =
        "<html><head><title>S</title></head><body><main id=\"app\">x</main></body></html>";
    const SITE: Site = Site {
        name: "Shop",
        url: "https://shop.example",
    };

    fn product(id: &str, name: &str, category: &str) -> ProductView {
        ProductView {
            id: ProductId::from_trusted(id),
            category: Category::parse(category).unwrap(),
            ..ProductView::example(name)
        }
    }

    fn keys(out: &[Output]) -> Vec<&str> {
        out.iter().map(|o| o.key.as_str()).collect()
    }

    fn body<'a>(out: &'a [Output], key: &str) -> &'a str {
        &out.iter().find(|o| o.key == key).unwrap().body
    }

    #[test]
    fn a_change_rewrites_its_product_its_category_the_home_page_and_the_sitemap() {
        let shell = Shell::parse(SHELL).unwrap();
        let (a, b) = (
            product("a", "Assam", "tea"),
            product("b", "Bolivia", "coffee"),
        );
        let out = plan(
            &Change::Product(ProductData::of(&a)),
            &shell,
            &SITE,
            &[a.clone(), b],
        );
        assert_eq!(
            keys(&out),
            [
                "pages/index.html",
                "pages/category/tea.html",
                "pages/products/assam.html",
                "sitemap.xml",
                "robots.txt"
            ]
        );
        assert!(body(&out, "sitemap.xml").contains("/products/bolivia"));
    }

    #[test]
    fn a_renamed_product_leaves_a_page_that_sends_on_and_both_categories_are_rewritten() {
        let shell = Shell::parse(SHELL).unwrap();
        let now = product("a", "Assam Gold", "black-tea");
        let mut d = ProductData::of(&now);
        d.previous_slug = Some(Slug::parse("assam").unwrap());
        d.previous_category = Some(Category::parse("tea").unwrap());
        let out = plan(&Change::Product(d), &shell, &SITE, &[now]);
        let moved = body(&out, "pages/products/assam.html");
        assert!(
            moved.contains("url=https://shop.example/products/assam-gold"),
            "{moved}"
        );
        assert!(body(&out, "pages/products/assam-gold.html").contains("<h1>Assam Gold</h1>"));
        // The emptied category sends visitors home.
        assert!(body(&out, "pages/category/tea.html").contains("url=https://shop.example/\""));
        assert!(body(&out, "pages/category/black-tea.html").contains("/products/assam-gold"));
    }

    #[test]
    fn a_deleted_product_sends_visitors_to_its_category_and_leaves_the_sitemap() {
        let shell = Shell::parse(SHELL).unwrap();
        let (gone, other) = (product("a", "Assam", "tea"), product("c", "Ceylon", "tea"));
        let out = plan(
            &Change::Product(ProductData::of(&gone)),
            &shell,
            &SITE,
            &[other],
        );
        let page = body(&out, "pages/products/assam.html");
        assert!(page.contains("noindex") && page.contains("url=https://shop.example/category/tea"));
        assert!(!body(&out, "sitemap.xml").contains("/products/assam"));
        assert!(!body(&out, "pages/category/tea.html").contains("Assam"));
    }

    #[test]
    fn a_rebuild_writes_every_page() {
        let shell = Shell::parse(SHELL).unwrap();
        let all = [
            product("a", "Assam", "tea"),
            product("b", "Bolivia", "coffee"),
        ];
        let out = plan(&Change::Rebuild, &shell, &SITE, &all);
        assert_eq!(out.len(), 1 + 2 + 2 + 2);
    }
}
