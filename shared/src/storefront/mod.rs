//! The published storefront: the public pages (home, categories, products), `sitemap.xml` and
//! `robots.txt` in the site bucket, rewritten from the catalog's events so a page is current within
//! seconds of an admin's change. `pages` renders, `plan` decides what a change rewrites (both
//! pure), `store` writes the bucket, `handlers` is the consumer.

pub mod handlers;
pub mod pages;
pub mod plan;
pub mod store;

pub use handlers::render_pages;
